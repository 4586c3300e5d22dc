// HKDF-SHA-256 (RFC 5869) on libsodium's HMAC-SHA-256.
//
// libsodium 1.0.18 has no HKDF API; this is Extract then Expand exactly as
// RFC 5869 §2.2–2.3. An empty salt is replaced by 32 zero bytes (RFC 5869
// §2.2, and 1.0.18's HMAC init must not get a null key pointer).
#ifndef TVAULT_CRYPTO_HKDF_H_
#define TVAULT_CRYPTO_HKDF_H_

#include <cstdint>

#include "absl/status/status.h"
#include "absl/strings/string_view.h"
#include "absl/types/span.h"

namespace tvault::crypto {

// Fills `out` (1 … 255·32 bytes) with HKDF-SHA-256(ikm, salt, info).
// Returns InvalidArgument only for an out-of-range output length. The
// intermediate PRK and blocks are wiped before returning.
absl::Status HkdfSha256(absl::Span<const uint8_t> ikm,
                        absl::Span<const uint8_t> salt, absl::string_view info,
                        absl::Span<uint8_t> out);

}  // namespace tvault::crypto

#endif  // TVAULT_CRYPTO_HKDF_H_
