// The TLS key pin (DESIGN.md §4, §8) and the TLS version rule, shared by
// tvaultd and its clients.
//
// The pin is SHA-256 of the DER SubjectPublicKeyInfo of the vault's TLS
// key (the bytes OpenSSL's i2d_PUBKEY writes). It travels in the
// root-signed ServerBundle and in every AuthChallenge; clients accept a
// server whose certificate carries the pinned key whatever else the
// certificate says, and no other.
//
// TLS 1.3 only. Debian's gRPC 1.51 has no setting for the lowest TLS
// version. Its TLS 1.2 cipher list, though, comes from the
// GRPC_SSL_CIPHER_SUITES environment variable, read once when gRPC starts;
// RestrictGrpcToTls13 sets it to a single RSA-only TLS 1.2 suite. The
// vault's key is Ed25519, so no TLS 1.2 handshake can complete, while TLS
// 1.3 suites (configured separately in OpenSSL) are unaffected. Call it
// before the first gRPC call of the process; tvaultd's tests check with
// `openssl s_client -tls1_2` that the handshake fails.
#ifndef TVAULT_CRYPTO_TLS_PIN_H_
#define TVAULT_CRYPTO_TLS_PIN_H_

#include <array>
#include <cstddef>
#include <cstdint>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"

namespace tvault::crypto {

inline constexpr size_t kTlsKeyPinSize = 32;
using TlsKeyPin = std::array<uint8_t, kTlsKeyPinSize>;

inline constexpr char kGrpcCipherSuitesVariable[] = "GRPC_SSL_CIPHER_SUITES";
inline constexpr char kTls12UnusableCipherSuite[] =
    "ECDHE-RSA-AES256-GCM-SHA384";

// SHA-256 of the DER SubjectPublicKeyInfo of the public key in `pem`, which
// must hold exactly one PEM certificate (white space around it allowed).
// InvalidArgument if it does not parse, carries no usable public key, or
// has anything but white space after the certificate. Works for any key
// type; the vault only makes Ed25519 ones. Thread-safe.
absl::StatusOr<TlsKeyPin> TlsKeyPinFromCertificatePem(absl::string_view pem);

// Constant-time comparison (pins are public, but the habit costs nothing).
bool TlsKeyPinsEqual(const TlsKeyPin& a, const TlsKeyPin& b);

// Sets GRPC_SSL_CIPHER_SUITES as described above. Not thread-safe (it
// changes the environment): call it first thing in main.
void RestrictGrpcToTls13();

}  // namespace tvault::crypto

#endif  // TVAULT_CRYPTO_TLS_PIN_H_
