// The age v1 header (C2SP age §"Header"): version line, recipient stanzas,
// MAC line. Parsing follows the ABNF exactly: canonical unpadded base64,
// bodies wrapped at 64 columns and ended by a shorter line, arguments of
// VCHARs separated by single spaces, LF line endings only.
//
// The MAC is checked over the exact bytes received, never a re-encoding.
#ifndef TVAULT_CRYPTO_AGE_HEADER_H_
#define TVAULT_CRYPTO_AGE_HEADER_H_

#include <array>
#include <cstdint>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/types/span.h"
#include "crypto/io.h"
#include "crypto/secret_bytes.h"

namespace tvault::crypto {

inline constexpr size_t kAgeFileKeySize = 16;
inline constexpr size_t kAgeMacSize = 32;
// Headers larger than this are refused, so that a hostile file cannot make a
// reader buffer without bound. Real headers are a few hundred bytes per
// recipient; this leaves room for thousands of them.
inline constexpr size_t kAgeMaxHeaderSize = 1 << 20;

struct AgeStanza {
  std::vector<std::string> args;  // args[0] is the stanza type; never empty
  std::vector<uint8_t> body;
};

struct AgeHeader {
  std::vector<AgeStanza> stanzas;
  std::array<uint8_t, kAgeMacSize> mac{};
  // The header bytes the MAC covers: everything up to and including "---".
  std::vector<uint8_t> mac_input;
};

// Reads and parses a header from `in`, leaving `in` at the first payload
// byte. Errors have AgeErrorKind::kHeader and say what is malformed.
absl::StatusOr<AgeHeader> ReadAgeHeader(BufferedSource& in,
                                        size_t max_size = kAgeMaxHeaderSize);

// Serialises the stanzas (without the MAC line) exactly as ReadAgeHeader
// expects them, ending with "---".
std::vector<uint8_t> EncodeAgeHeaderWithoutMac(
    absl::Span<const AgeStanza> stanzas);

// HMAC-SHA-256 of `mac_input` under HKDF(file_key, "", "header").
std::array<uint8_t, kAgeMacSize> ComputeAgeHeaderMac(
    const SecretBytes& file_key, absl::Span<const uint8_t> mac_input);

// Constant-time check of header.mac against the file key. Errors have
// AgeErrorKind::kHmac.
absl::Status VerifyAgeHeaderMac(const AgeHeader& header,
                                const SecretBytes& file_key);

}  // namespace tvault::crypto

#endif  // TVAULT_CRYPTO_AGE_HEADER_H_
