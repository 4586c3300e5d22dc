// The vault's TLS identity (DESIGN.md §8): an Ed25519 key pair and a
// self-signed X.509 v3 certificate for it, made by `tvaultd init`.
//
// Trust model
// - Clients never trust the certificate through a CA, its names or its
//   dates: they pin the server's public key. The pin is
//   SHA-256(DER SubjectPublicKeyInfo), the same bytes OpenSSL's i2d_PUBKEY
//   writes, and travels in the root-signed ServerBundle (tls_pin) and in
//   every AuthChallenge (tls_key_sha256). A certificate that carries the
//   pinned key is accepted whatever else it says; any other is refused.
// - The certificate says: subject and issuer CN "tvaultd", SAN DNS
//   "tvaultd" (the name clients ask for), a random 127-bit serial number,
//   not before = `now`, not after = `now` + kTlsCertificateValidityDays,
//   basicConstraints CA:FALSE, keyUsage digitalSignature, extendedKeyUsage
//   serverAuth, a subjectKeyIdentifier. The long validity is deliberate:
//   replacing the key means a new root-signed bundle for every member.
//
// Secrets
// - The private key leaves this module only as a PKCS#8 PEM in SecretBytes.
//   It is written through an OpenSSL secure-memory BIO, copied into
//   SecretBytes, and the BIO's buffer is cleansed (OPENSSL_cleanse) before
//   it is freed. OpenSSL's own copies (the EVP_PKEY, its encoder's scratch
//   buffers) are freed by OpenSSL, which clears key objects on release;
//   that is as far as this module can promise.
//
// Functions are thread-safe (OpenSSL 3 is) and do no file I/O.
#ifndef TVAULT_VAULT_TLS_IDENTITY_H_
#define TVAULT_VAULT_TLS_IDENTITY_H_

#include <array>
#include <cstddef>
#include <cstdint>
#include <string>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "crypto/secret_bytes.h"
#include "crypto/tls_pin.h"

namespace tvault::vault {

// The certificate's CN and its one DNS subjectAltName.
inline constexpr char kTlsServerName[] = "tvaultd";
// Ten years, leap days included.
inline constexpr int kTlsCertificateValidityDays = 3653;
// The pin and how it is computed live in crypto/tls_pin.h, shared with
// clients.
using crypto::kTlsKeyPinSize;
using crypto::TlsKeyPin;
using crypto::TlsKeyPinFromCertificatePem;

struct TlsIdentity {
  std::string certificate_pem;          // public: "-----BEGIN CERTIFICATE-----"
  crypto::SecretBytes private_key_pem;  // "-----BEGIN PRIVATE KEY-----"
  TlsKeyPin key_pin{};  // TlsKeyPinFromCertificatePem(certificate_pem)
};

// A new random Ed25519 key and its self-signed certificate, valid from
// `now_unix` (seconds since the epoch, UTC). Internal if OpenSSL fails (the
// message names the OpenSSL call, never key material).
absl::StatusOr<TlsIdentity> GenerateTlsIdentity(int64_t now_unix);

}  // namespace tvault::vault

#endif  // TVAULT_VAULT_TLS_IDENTITY_H_
