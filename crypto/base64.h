// Strict base64 (RFC 4648 §4, standard alphabet) on libsodium's codecs.
//
// Decoders accept only the canonical encoding (RFC 4648 §3.5: unused bits
// zero), no whitespace, no other characters. The unpadded variant is the one
// age uses in headers; the padded one is for ASCII armor.
#ifndef TVAULT_CRYPTO_BASE64_H_
#define TVAULT_CRYPTO_BASE64_H_

#include <cstdint>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "absl/types/span.h"

namespace tvault::crypto {

enum class Base64Padding { kNone, kPadded };

// Length of the encoding of `n` bytes.
size_t Base64EncodedLength(size_t n, Base64Padding padding);

std::string Base64Encode(absl::Span<const uint8_t> in, Base64Padding padding);

// Decodes canonical base64 into `out` and returns the decoded length.
// InvalidArgument if `in` is not canonical or does not fit in `out`.
absl::StatusOr<size_t> Base64DecodeTo(absl::string_view in,
                                      Base64Padding padding,
                                      absl::Span<uint8_t> out);
absl::StatusOr<std::vector<uint8_t>> Base64Decode(absl::string_view in,
                                                  Base64Padding padding);

// Largest decoded length of `encoded_len` base64 characters.
inline size_t Base64MaxDecodedLength(size_t encoded_len) {
  return encoded_len / 4 * 3 + 3;
}

}  // namespace tvault::crypto

#endif  // TVAULT_CRYPTO_BASE64_H_
