// Bech32 (BIP-173) as age uses it: the checksum of BIP-173 (not bech32m),
// all-lowercase or all-uppercase strings, and no 90-character limit unless
// the caller asks for it.
//
// The data part can be secret (age identities), so the 8-bit payload is
// written to caller-provided memory and the encoded string can be produced
// into a SecretBytes.
#ifndef TVAULT_CRYPTO_BECH32_H_
#define TVAULT_CRYPTO_BECH32_H_

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "absl/types/span.h"
#include "crypto/secret_bytes.h"

namespace tvault::crypto {

struct Bech32Limits {
  // BIP-173 caps strings at 90 characters; age lifts the cap.
  std::optional<size_t> max_length;
};

// A decoded string at the 5-bit level: the human-readable part in lowercase
// and the data values (each 0…31), checksum removed.
struct Bech32Groups {
  std::string hrp;
  std::vector<uint8_t> values;
};

// Decodes at the 5-bit level (for BIP-173's own test vectors).
// InvalidArgument for mixed case, characters outside 33…126, a missing
// separator, an empty HRP, a data part shorter than the checksum, a
// character outside the alphabet, a bad checksum, or a string too long.
absl::StatusOr<Bech32Groups> Bech32DecodeGroups(absl::string_view s,
                                                Bech32Limits limits = {});

// Decodes `s`, requires the HRP to equal `expected_hrp` (compared
// case-insensitively, as the string may be uppercase), converts the payload
// from 5-bit groups to bytes with BIP-173's strict padding rule, and returns
// it in protected memory.
absl::StatusOr<SecretBytes> Bech32DecodeBytes(absl::string_view s,
                                              absl::string_view expected_hrp);

// Encodes `data` (8-bit bytes) under `hrp` (given in lowercase). With
// `uppercase` the whole string is uppercased, as age does for identities.
// The result is in protected memory; Bech32EncodeString is for public data.
SecretBytes Bech32Encode(absl::string_view hrp, absl::Span<const uint8_t> data,
                         bool uppercase);
std::string Bech32EncodeString(absl::string_view hrp,
                               absl::Span<const uint8_t> data, bool uppercase);

// Encodes already-5-bit values (for tests against BIP-173).
std::string Bech32EncodeGroups(absl::string_view hrp,
                               absl::Span<const uint8_t> values);

}  // namespace tvault::crypto

#endif  // TVAULT_CRYPTO_BECH32_H_
