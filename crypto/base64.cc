#include "crypto/base64.h"

#include <sodium.h>

#include "crypto/secret_bytes.h"

namespace tvault::crypto {
namespace {

int Variant(Base64Padding padding) {
  return padding == Base64Padding::kNone
             ? sodium_base64_VARIANT_ORIGINAL_NO_PADDING
             : sodium_base64_VARIANT_ORIGINAL;
}

}  // namespace

size_t Base64EncodedLength(size_t n, Base64Padding padding) {
  // sodium_base64_ENCODED_LEN includes a trailing NUL.
  return sodium_base64_ENCODED_LEN(n, Variant(padding)) - 1;
}

std::string Base64Encode(absl::Span<const uint8_t> in, Base64Padding padding) {
  EnsureSodiumInitialized();
  std::string out(Base64EncodedLength(in.size(), padding) + 1, '\0');
  sodium_bin2base64(out.data(), out.size(), in.data(), in.size(),
                    Variant(padding));
  out.pop_back();
  return out;
}

absl::StatusOr<size_t> Base64DecodeTo(absl::string_view in,
                                      Base64Padding padding,
                                      absl::Span<uint8_t> out) {
  EnsureSodiumInitialized();
  // libsodium 1.0.18 reads characters as plain (signed) char, so bytes 0x80
  // and above reach its classifier as negative values and decode as '/'.
  // Check the alphabet here so that every input has one decoding only.
  for (char c : in) {
    const bool ok = (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') ||
                    (c >= '0' && c <= '9') || c == '+' || c == '/' ||
                    (c == '=' && padding == Base64Padding::kPadded);
    if (!ok) return absl::InvalidArgumentError("invalid base64 character");
  }
  size_t decoded = 0;
  // A null b64_end makes libsodium fail on any character outside the
  // alphabet instead of stopping there; it also rejects non-zero unused bits.
  if (sodium_base642bin(out.data(), out.size(), in.data(), in.size(),
                        /*ignore=*/nullptr, &decoded, /*b64_end=*/nullptr,
                        Variant(padding)) != 0) {
    return absl::InvalidArgumentError("invalid or non-canonical base64");
  }
  return decoded;
}

absl::StatusOr<std::vector<uint8_t>> Base64Decode(absl::string_view in,
                                                  Base64Padding padding) {
  std::vector<uint8_t> out(Base64MaxDecodedLength(in.size()));
  absl::StatusOr<size_t> n = Base64DecodeTo(in, padding, absl::MakeSpan(out));
  if (!n.ok()) return n.status();
  out.resize(*n);
  return out;
}

}  // namespace tvault::crypto
