// Root-signed trust objects (DESIGN.md §4): account certificates,
// revocations, the server bundle and the server-retired statement, and the
// one function that decides whether a certificate may act in a role at a
// given time.
//
// Conventions (fixed for the whole project)
// - A certificate's fingerprint is
//   ComputeFingerprint(FingerprintType::kCert, statement.body()): it covers
//   the exact signed body bytes, so two encodings cannot share a fingerprint
//   (and strict parsing allows only one encoding anyway).
// - Times are int64 Unix seconds (UTC). "Valid at time T" means
//   not_before <= T < not_after, and no revocation of the certificate with
//   revoked_at <= T. T is the time of the log entry that carries the act,
//   never a time the signer wrote (DESIGN.md §4).
//
// Certificate rules (checked when issuing and when verifying): version 1;
// sign_pk passes CheckSignPublicKey; box_pk is a 32-byte X25519 key that is
// not of low order; roles non-empty, without duplicates or
// ROLE_UNSPECIFIED; handle 1–64 bytes of printable text (no control
// characters); not_before < not_after <= not_before + 366 days.
//
// What a VerifiedCertificate promises: the organisation root signed exactly
// these body bytes and the body obeys the rules above. What it does NOT
// promise: that the certificate is valid now, unrevoked, or carries a given
// role — ask CheckCertificateValidFor, with the revocations you hold.
// Revocations only take effect if the caller has them: a verifier that was
// never shown a revocation cannot honour it (the vault's log is where they
// are published).
//
// All functions are pure (no I/O, no clock) and thread-safe.
#ifndef TVAULT_CRYPTO_CERTIFICATE_H_
#define TVAULT_CRYPTO_CERTIFICATE_H_

#include <cstdint>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/types/span.h"
#include "crypto/statement.h"
#include "proto/records.pb.h"

namespace tvault::crypto {

inline constexpr uint32_t kCertificateVersion = 1;
inline constexpr int64_t kSecondsPerDay = 86400;
inline constexpr int64_t kMaxCertificateLifetime = 366 * kSecondsPerDay;
inline constexpr size_t kMaxHandleSize = 64;
inline constexpr size_t kMaxReasonSize = 256;
inline constexpr size_t kFingerprintSize = 16;
inline constexpr size_t kTlsPinSize = 32;
inline constexpr size_t kMaxServerAddresses = 8;
inline constexpr size_t kMaxServerAddressSize = 255;
inline constexpr size_t kMaxLogOriginSize = 255;
inline constexpr size_t kMaxLogVerifierKeySize = 512;

// A certificate that the organisation root signed and that obeys the rules.
// Produce one only with VerifyCertificate; the fields are plain so that
// callers can copy and store it, but building one by hand skips the check.
struct VerifiedCertificate {
  tvault::v1::Certificate body;
  Fingerprint fingerprint;  // ComputeFingerprint(kCert, statement.body())
  tvault::v1::SignedStatement statement;
};

// InvalidArgument unless `box_pk` is 32 bytes and usable as an X25519
// recipient: crypto_scalarmult with a random scalar succeeds (a low-order
// point would give an all-zero shared secret).
absl::Status CheckBoxPublicKey(absl::Span<const uint8_t> box_pk);

// InvalidArgument, naming the rule, unless `body` obeys the certificate
// rules above.
absl::Status CheckCertificateBody(const tvault::v1::Certificate& body);

// Signs `body` with the organisation root after checking the rules.
// InvalidArgument if a rule fails (nothing is signed).
absl::StatusOr<tvault::v1::SignedStatement> IssueCertificate(
    const tvault::v1::Certificate& body, const SigningKey& org_root);

// Verifies the root's signature over the exact body bytes (PermissionDenied
// "signature … does not verify" for a forged or altered certificate), parses
// the body strictly (InvalidArgument for unknown fields or a non-canonical
// encoding) and checks the rules (InvalidArgument).
absl::StatusOr<VerifiedCertificate> VerifyCertificate(
    const tvault::v1::SignedStatement& statement,
    absl::Span<const uint8_t> org_pk);

// The single place that decides "may `cert` act as `role` at `at_time`".
// `revocations` must already have been verified (VerifyRevocation); those for
// other certificates are ignored. Statuses, each with a plain message:
//   InvalidArgument    role is ROLE_UNSPECIFIED;
//   PermissionDenied   not yet valid (at_time < not_before), expired
//                      (at_time >= not_after), revoked at or before at_time
//                      ("revoked at <time>: <reason>"), or lacks the role.
// A revocation dated after at_time does not affect acts before it.
absl::Status CheckCertificateValidFor(
    const VerifiedCertificate& cert, tvault::v1::Role role, int64_t at_time,
    absl::Span<const tvault::v1::Revocation> revocations);

// Revocation rules: version 1; cert_fingerprint 16 bytes; reason at most 256
// bytes. Issue signs after checking; Verify checks the signature, parses
// strictly and checks the rules, with the statuses of VerifyCertificate.
absl::Status CheckRevocationBody(const tvault::v1::Revocation& body);
absl::StatusOr<tvault::v1::SignedStatement> IssueRevocation(
    const tvault::v1::Revocation& body, const SigningKey& org_root);
absl::StatusOr<tvault::v1::Revocation> VerifyRevocation(
    const tvault::v1::SignedStatement& statement,
    absl::Span<const uint8_t> org_pk);

// Server bundle rules: version 1; 1–8 addresses, each "host:port" (printable
// ASCII without spaces, at most 255 bytes, port 1–65535), every ".onion"
// address before every other address; tls_pin 32 bytes; log_origin 1–255
// printable bytes; log_verifier_key a valid signed-note verifier key whose
// name is log_origin.
absl::Status CheckServerBundleBody(const tvault::v1::ServerBundle& body);
absl::StatusOr<tvault::v1::SignedStatement> IssueServerBundle(
    const tvault::v1::ServerBundle& body, const SigningKey& org_root);
absl::StatusOr<tvault::v1::ServerBundle> VerifyServerBundle(
    const tvault::v1::SignedStatement& statement,
    absl::Span<const uint8_t> org_pk);

// Server-retired rules: version 1; tls_pin 32 bytes; log_verifier_key a valid
// signed-note verifier key; reason at most 256 bytes.
absl::Status CheckServerRetiredBody(const tvault::v1::ServerRetired& body);
absl::StatusOr<tvault::v1::SignedStatement> IssueServerRetired(
    const tvault::v1::ServerRetired& body, const SigningKey& org_root);
absl::StatusOr<tvault::v1::ServerRetired> VerifyServerRetired(
    const tvault::v1::SignedStatement& statement,
    absl::Span<const uint8_t> org_pk);

// `bytes` as a Fingerprint; InvalidArgument naming `what` unless 16 bytes.
absl::StatusOr<Fingerprint> FingerprintFromBytes(absl::string_view bytes,
                                                 absl::string_view what);

}  // namespace tvault::crypto

#endif  // TVAULT_CRYPTO_CERTIFICATE_H_
