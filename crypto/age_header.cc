#include "crypto/age_header.h"

#include <sodium.h>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "absl/strings/string_view.h"
#include "crypto/age_error.h"
#include "crypto/base64.h"
#include "crypto/hkdf.h"

namespace tvault::crypto {
namespace {

constexpr absl::string_view kVersionLine = "age-encryption.org/v1\n";
constexpr absl::string_view kVersionPrefix = "age-encryption.org/";
constexpr size_t kColumns = 64;

absl::Status HeaderError(absl::string_view what) {
  return AgeError(AgeErrorKind::kHeader,
                  absl::StrCat("malformed age header: ", what));
}

bool IsBase64Char(char c) {
  return (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') ||
         (c >= '0' && c <= '9') || c == '+' || c == '/';
}

bool IsVchar(char c) {
  const auto u = static_cast<unsigned char>(c);
  return u >= 0x21 && u <= 0x7e;
}

void Append(std::vector<uint8_t>& out, absl::string_view s) {
  out.insert(out.end(), s.begin(), s.end());
}

}  // namespace

absl::StatusOr<AgeHeader> ReadAgeHeader(BufferedSource& in, size_t max_size) {
  AgeHeader header;
  std::string line;
  auto read_line = [&]() -> absl::Status {
    const size_t used = header.mac_input.size();
    if (used >= max_size) return HeaderError("header too large");
    absl::Status s = in.ReadLine(max_size - used, line);
    if (absl::IsOutOfRange(s)) {
      return HeaderError(line.size() >= max_size - used
                             ? "header too large"
                             : "unexpected end of file in header");
    }
    return s;
  };

  if (absl::Status s = read_line(); !s.ok()) {
    if (GetAgeErrorKind(s) == AgeErrorKind::kHeader && line.empty()) {
      return HeaderError("the input is empty, not an age file");
    }
    return s;
  }
  if (line != kVersionLine) {
    if (absl::string_view(line).substr(0, kVersionPrefix.size()) ==
        kVersionPrefix) {
      return AgeError(AgeErrorKind::kHeader,
                      "unsupported age format version (only v1 is known)");
    }
    return HeaderError("not an age file (no version line)");
  }
  Append(header.mac_input, line);

  while (true) {
    if (absl::Status s = read_line(); !s.ok()) return s;
    absl::string_view l(line);
    if (l.substr(0, 3) == "---") {
      // end = "--- " 43base64char LF
      Append(header.mac_input, "---");
      if (header.stanzas.empty()) return HeaderError("no recipient stanzas");
      if (l.size() != 4 + 43 + 1 || l[3] != ' ') {
        return HeaderError("MAC line has the wrong length");
      }
      absl::StatusOr<size_t> n = Base64DecodeTo(
          l.substr(4, 43), Base64Padding::kNone, absl::MakeSpan(header.mac));
      if (!n.ok() || *n != kAgeMacSize) {
        return HeaderError("MAC is not canonical base64");
      }
      return header;
    }
    if (l.substr(0, 3) != "-> ") {
      return HeaderError("expected a stanza (\"-> \") or the MAC line");
    }
    Append(header.mac_input, l);
    AgeStanza stanza;
    // arg-line = "-> " argument *(SP argument) LF; argument = 1*VCHAR
    for (absl::string_view arg :
         absl::StrSplit(l.substr(3, l.size() - 4), ' ')) {
      if (arg.empty()) return HeaderError("empty stanza argument");
      for (char c : arg) {
        if (!IsVchar(c)) return HeaderError("invalid character in stanza");
      }
      stanza.args.emplace_back(arg);
    }
    // Body: *full-line final-line, each of base64 characters.
    std::string body_b64;
    while (true) {
      if (absl::Status s = read_line(); !s.ok()) return s;
      absl::string_view b(line);
      b.remove_suffix(1);  // LF
      if (b.size() > kColumns) return HeaderError("stanza body line too long");
      for (char c : b) {
        if (!IsBase64Char(c)) {
          return HeaderError("invalid character in stanza body");
        }
      }
      Append(header.mac_input, line);
      body_b64.append(b.data(), b.size());
      if (b.size() < kColumns) break;
    }
    absl::StatusOr<std::vector<uint8_t>> body =
        Base64Decode(body_b64, Base64Padding::kNone);
    if (!body.ok()) return HeaderError("stanza body is not canonical base64");
    stanza.body = *std::move(body);
    header.stanzas.push_back(std::move(stanza));
  }
}

std::vector<uint8_t> EncodeAgeHeaderWithoutMac(
    absl::Span<const AgeStanza> stanzas) {
  // Constructed rather than appended to: GCC 12 at -O3 misreports an
  // insert into an empty vector as an overflow.
  std::vector<uint8_t> out(kVersionLine.begin(), kVersionLine.end());
  for (const AgeStanza& s : stanzas) {
    Append(out, "->");
    for (const std::string& a : s.args) {
      Append(out, " ");
      Append(out, a);
    }
    Append(out, "\n");
    const std::string b64 = Base64Encode(s.body, Base64Padding::kNone);
    absl::string_view rest(b64);
    // Full lines of 64, then a final line shorter than 64 (maybe empty).
    while (rest.size() >= kColumns) {
      Append(out, rest.substr(0, kColumns));
      Append(out, "\n");
      rest.remove_prefix(kColumns);
    }
    Append(out, rest);
    Append(out, "\n");
  }
  Append(out, "---");
  return out;
}

std::array<uint8_t, kAgeMacSize> ComputeAgeHeaderMac(
    const SecretBytes& file_key, absl::Span<const uint8_t> mac_input) {
  SecretBytes hmac_key(crypto_auth_hmacsha256_KEYBYTES);
  // Output length is fixed and valid, so HKDF cannot fail here.
  (void)HkdfSha256(file_key.span(), {}, "header", hmac_key.span());
  std::array<uint8_t, kAgeMacSize> mac{};
  crypto_auth_hmacsha256_state st;
  crypto_auth_hmacsha256_init(&st, hmac_key.data(), hmac_key.size());
  crypto_auth_hmacsha256_update(&st, mac_input.data(), mac_input.size());
  crypto_auth_hmacsha256_final(&st, mac.data());
  sodium_memzero(&st, sizeof st);
  return mac;
}

absl::Status VerifyAgeHeaderMac(const AgeHeader& header,
                                const SecretBytes& file_key) {
  const std::array<uint8_t, kAgeMacSize> mac =
      ComputeAgeHeaderMac(file_key, header.mac_input);
  if (!ConstantTimeEquals(mac, header.mac)) {
    return AgeError(AgeErrorKind::kHmac,
                    "age header MAC does not match: the header was modified "
                    "or the file is corrupt");
  }
  return absl::OkStatus();
}

}  // namespace tvault::crypto
