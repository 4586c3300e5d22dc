// Signed statements (DESIGN.md §4): every object that carries trust travels
// as {body, signature}, the signature being pure Ed25519
// (crypto_sign_detached) over  tag || 0x00 || body  with one tag per type.
//
// Security properties
// - A signature for one statement type never verifies as another (tags).
// - Verification covers the exact bytes received; the body is then parsed
//   strictly: unknown fields refused at any depth, and the bytes must be the
//   deterministic serialisation of what they parse to, so a statement has
//   exactly one encoding and two readers cannot see different contents.
// - What a valid signature does NOT say: that the signer was entitled to
//   sign it, or that it is still current. Callers check roles, validity
//   times and revocations (certificate.h, descriptor.h).
//
// Keys: SigningKey keeps the Ed25519 secret in SecretBytes; public keys are
// 32 raw bytes, refused if not a valid point of the prime-order subgroup
// (small-order keys would make signatures meaningless).
#ifndef TVAULT_CRYPTO_STATEMENT_H_
#define TVAULT_CRYPTO_STATEMENT_H_

#include <array>
#include <cstdint>
#include <string>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "absl/types/span.h"
#include "crypto/secret_bytes.h"
#include "google/protobuf/message.h"
#include "proto/records.pb.h"

namespace tvault::crypto {

enum class StatementType {
  kCert,
  kRevocation,
  kServerBundle,
  kServerRetired,
  kDescriptor,
  kGrant,
  kInvite,
  kDelete,
  kAuth,
  kRecord,
};

// "tvault/v1/cert", "tvault/v1/revocation", …
absl::string_view StatementTag(StatementType type);

using SignPublicKey = std::array<uint8_t, 32>;
using Signature = std::array<uint8_t, 64>;

class SigningKey {
 public:
  static SigningKey Generate();
  // Deterministic key from a 32-byte seed (invites derive their key so).
  static absl::StatusOr<SigningKey> FromSeed(const SecretBytes& seed);

  const SignPublicKey& public_key() const { return pk_; }
  // Ed25519 over tag || 0x00 || message. Never Ed25519ph.
  Signature Sign(absl::string_view tag,
                 absl::Span<const uint8_t> message) const;
  // The 32-byte seed, for storing in a keystore.
  SecretBytes Seed() const;

 private:
  SigningKey(SecretBytes sk, const SignPublicKey& pk)
      : sk_(std::move(sk)), pk_(pk) {}
  SecretBytes sk_;  // libsodium's 64-byte secret key (seed || pk)
  SignPublicKey pk_;
};

// InvalidArgument unless `pk` is 32 bytes encoding a valid Ed25519 point
// that is not of small order.
absl::Status CheckSignPublicKey(absl::Span<const uint8_t> pk);

// Verifies `signature` over tag || 0x00 || message. PermissionDenied with a
// plain message on failure.
absl::Status VerifySignature(absl::string_view tag,
                             absl::Span<const uint8_t> message,
                             absl::Span<const uint8_t> signature,
                             absl::Span<const uint8_t> pk);

// The deterministic protobuf serialisation of `m` (fields in number order,
// map entries sorted): the one encoding ParseStrictly accepts and the form
// in which signed bodies and log entries are written.
std::string SerializeDeterministic(const google::protobuf::Message& m);

// Serialises `body` deterministically and signs it.
tvault::v1::SignedStatement SignStatement(StatementType type,
                                          const google::protobuf::Message& body,
                                          const SigningKey& key);

// Verifies the statement's signature under `signer_pk`, then parses its body
// strictly into `body`.
absl::Status OpenStatement(StatementType type,
                           const tvault::v1::SignedStatement& statement,
                           absl::Span<const uint8_t> signer_pk,
                           google::protobuf::Message& body);

// Parses `bytes` into `message`: InvalidArgument if it does not parse, has
// unknown fields at any depth, or is not the canonical encoding.
absl::Status ParseStrictly(absl::string_view bytes,
                           google::protobuf::Message& message);

// Typed fingerprints: SHA-256("tvault/v1/fp/<type>" || 0x00 || bytes)[:16].
enum class FingerprintType { kCert, kSignKey, kBoxKey, kDescriptor };
using Fingerprint = std::array<uint8_t, 16>;
Fingerprint ComputeFingerprint(FingerprintType type,
                               absl::Span<const uint8_t> bytes);
// Groups of 4 hex digits: "3f2a 9c01 …", for comparing out of band.
std::string FormatFingerprint(const Fingerprint& fp);

// SHA-256 of arbitrary bytes (descriptor hashes, grant ciphertext hashes).
using Sha256 = std::array<uint8_t, 32>;
Sha256 ComputeSha256(absl::Span<const uint8_t> bytes);

inline absl::Span<const uint8_t> AsBytes(absl::string_view s) {
  return {reinterpret_cast<const uint8_t*>(s.data()), s.size()};
}
inline absl::string_view AsString(absl::Span<const uint8_t> b) {
  return {reinterpret_cast<const char*>(b.data()), b.size()};
}

}  // namespace tvault::crypto

#endif  // TVAULT_CRYPTO_STATEMENT_H_
