#include "crypto/bech32.h"

#include <sodium.h>

#include <array>
#include <cctype>

namespace tvault::crypto {
namespace {

constexpr char kCharset[] = "qpzry9x8gf2tvdw0s3jn54khce6mua7l";
constexpr size_t kChecksumLength = 6;

int8_t CharsetIndex(char c) {
  for (int8_t i = 0; i < 32; ++i) {
    if (kCharset[i] == c) return i;
  }
  return -1;
}

uint32_t Polymod(absl::string_view hrp, absl::Span<const uint8_t> values,
                 size_t checksum_values = 0) {
  static constexpr std::array<uint32_t, 5> kGen = {
      0x3b6a57b2, 0x26508e6d, 0x1ea119fa, 0x3d4233dd, 0x2a1462b3};
  uint32_t chk = 1;
  auto step = [&chk](uint8_t v) {
    const uint32_t top = chk >> 25;
    chk = ((chk & 0x1ffffff) << 5) ^ v;
    for (size_t i = 0; i < kGen.size(); ++i) {
      if ((top >> i) & 1) chk ^= kGen[i];
    }
  };
  for (char c : hrp) step(static_cast<uint8_t>(static_cast<uint8_t>(c) >> 5));
  step(0);
  for (char c : hrp) step(static_cast<uint8_t>(c & 31));
  for (uint8_t v : values) step(v);
  for (size_t i = 0; i < checksum_values; ++i) step(0);
  return chk;
}

char Lower(char c) {
  return (c >= 'A' && c <= 'Z') ? static_cast<char>(c - 'A' + 'a') : c;
}
char Upper(char c) {
  return (c >= 'a' && c <= 'z') ? static_cast<char>(c - 'a' + 'A') : c;
}

// Writes hrp || '1' || values || checksum into `out` (exact size).
void EncodeInto(absl::string_view hrp, absl::Span<const uint8_t> values,
                bool uppercase, absl::Span<char> out) {
  const uint32_t mod = Polymod(hrp, values, kChecksumLength) ^ 1;
  size_t pos = 0;
  auto put = [&](char c) { out[pos++] = uppercase ? Upper(c) : c; };
  for (char c : hrp) put(c);
  put('1');
  for (uint8_t v : values) put(kCharset[v]);
  for (size_t i = 0; i < kChecksumLength; ++i) {
    put(kCharset[(mod >> (5 * (kChecksumLength - 1 - i))) & 31]);
  }
}

// 8-bit bytes to 5-bit groups, zero-padding the last group (BIP-173).
void BytesToGroups(absl::Span<const uint8_t> data, absl::Span<uint8_t> out) {
  uint32_t acc = 0;
  int bits = 0;
  size_t pos = 0;
  for (uint8_t b : data) {
    acc = (acc << 8) | b;
    bits += 8;
    while (bits >= 5) {
      bits -= 5;
      out[pos++] = static_cast<uint8_t>((acc >> bits) & 31);
    }
  }
  if (bits > 0) out[pos++] = static_cast<uint8_t>((acc << (5 - bits)) & 31);
  sodium_memzero(&acc, sizeof acc);
}

size_t GroupCount(size_t bytes) { return (bytes * 8 + 4) / 5; }

}  // namespace

absl::StatusOr<Bech32Groups> Bech32DecodeGroups(absl::string_view s,
                                                Bech32Limits limits) {
  if (limits.max_length && s.size() > *limits.max_length) {
    return absl::InvalidArgumentError("bech32 string too long");
  }
  bool has_lower = false, has_upper = false;
  for (char c : s) {
    const auto u = static_cast<unsigned char>(c);
    if (u < 33 || u > 126) {
      return absl::InvalidArgumentError("bech32 string has invalid character");
    }
    has_lower |= (c >= 'a' && c <= 'z');
    has_upper |= (c >= 'A' && c <= 'Z');
  }
  if (has_lower && has_upper) {
    return absl::InvalidArgumentError(
        "bech32 string mixes upper and lower case");
  }
  const size_t sep = s.rfind('1');
  if (sep == absl::string_view::npos) {
    return absl::InvalidArgumentError("bech32 string has no separator");
  }
  if (sep == 0)
    return absl::InvalidArgumentError("bech32 string has empty HRP");
  if (s.size() - sep - 1 < kChecksumLength) {
    return absl::InvalidArgumentError("bech32 checksum too short");
  }
  Bech32Groups out;
  out.hrp.reserve(sep);
  for (size_t i = 0; i < sep; ++i) out.hrp.push_back(Lower(s[i]));
  out.values.reserve(s.size() - sep - 1);
  for (size_t i = sep + 1; i < s.size(); ++i) {
    const int8_t v = CharsetIndex(Lower(s[i]));
    if (v < 0) {
      // The values read so far may be bits of a secret key.
      sodium_memzero(out.values.data(), out.values.size());
      return absl::InvalidArgumentError("bech32 data has invalid character");
    }
    out.values.push_back(static_cast<uint8_t>(v));
  }
  if (Polymod(out.hrp, out.values) != 1) {
    sodium_memzero(out.values.data(), out.values.size());
    return absl::InvalidArgumentError("bech32 checksum mismatch");
  }
  out.values.resize(out.values.size() - kChecksumLength);
  return out;
}

absl::StatusOr<SecretBytes> Bech32DecodeBytes(absl::string_view s,
                                              absl::string_view expected_hrp) {
  absl::StatusOr<Bech32Groups> groups = Bech32DecodeGroups(s);
  if (!groups.ok()) return groups.status();
  auto wipe = [&] {
    sodium_memzero(groups->values.data(), groups->values.size());
  };
  std::string want;
  for (char c : expected_hrp) want.push_back(Lower(c));
  if (groups->hrp != want) {
    wipe();
    return absl::InvalidArgumentError("bech32 string has unexpected type");
  }
  // 5-bit groups to bytes; leftover bits must be fewer than 5 and all zero.
  SecretBytes bytes(groups->values.size() * 5 / 8);
  uint32_t acc = 0;
  int bits = 0;
  size_t pos = 0;
  for (uint8_t v : groups->values) {
    acc = (acc << 5) | v;
    bits += 5;
    if (bits >= 8) {
      bits -= 8;
      bytes.data()[pos++] = static_cast<uint8_t>((acc >> bits) & 0xff);
    }
  }
  const bool bad_padding = bits >= 5 || ((acc << (8 - bits)) & 0xff) != 0;
  sodium_memzero(&acc, sizeof acc);
  wipe();
  if (bad_padding) {
    return absl::InvalidArgumentError("bech32 data has non-zero padding");
  }
  return bytes;
}

SecretBytes Bech32Encode(absl::string_view hrp, absl::Span<const uint8_t> data,
                         bool uppercase) {
  SecretBytes groups(GroupCount(data.size()));
  BytesToGroups(data, groups.span());
  SecretBytes out(hrp.size() + 1 + groups.size() + kChecksumLength);
  EncodeInto(hrp, groups.span(), uppercase,
             {reinterpret_cast<char*>(out.data()), out.size()});
  return out;
}

std::string Bech32EncodeString(absl::string_view hrp,
                               absl::Span<const uint8_t> data, bool uppercase) {
  std::vector<uint8_t> groups(GroupCount(data.size()));
  BytesToGroups(data, absl::MakeSpan(groups));
  std::string out(hrp.size() + 1 + groups.size() + kChecksumLength, '\0');
  EncodeInto(hrp, groups, uppercase, absl::MakeSpan(out));
  return out;
}

std::string Bech32EncodeGroups(absl::string_view hrp,
                               absl::Span<const uint8_t> values) {
  std::string out(hrp.size() + 1 + values.size() + kChecksumLength, '\0');
  EncodeInto(hrp, values, /*uppercase=*/false, absl::MakeSpan(out));
  return out;
}

}  // namespace tvault::crypto
