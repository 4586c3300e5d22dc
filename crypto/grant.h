// Grants (DESIGN.md §5): an owner gives one member one epoch's identity.
//
// A grant is two things that travel together:
// - the ciphertext: a binary age file, with exactly one X25519 stanza, to the
//   member certificate's box_pk, whose plaintext is the epoch identity as an
//   age identity file line: "AGE-SECRET-KEY-1…\n" (so `age -d` with the
//   member's box identity gives a file that `age -d -i` accepts);
// - the signed Grant body {case_id, epoch, recipient, member cert
//   fingerprint, granter cert fingerprint, SHA-256(ciphertext)}, signed by
//   the granter's account key.
//
// Rules: the granter is an owner of the granted epoch or of a later epoch
// held in the chain (a newcomer owner may pass on earlier keys it was
// given); the member is listed in members[] of the granted epoch or a later
// one (a newcomer can be given earlier epochs' keys); the recipient equals
// that epoch's descriptor's recipient, and the identity inside opens to it.
//
// What VerifyGrant promises: an owner (per the chain and the caller's
// certificate lookup) signed this grant for a listed member, naming the
// epoch's real recipient and the hash of one ciphertext. What it does NOT
// promise: that the ciphertext holds the right key — only OpenGrant, which
// decrypts it, can check that; or that the granter's certificate was valid
// at the grant's log time (the lookup decides, as in case_descriptor.h).
// A removed owner can still sign grants for epochs it owned; they reach only
// members listed from that epoch on, and it knew those keys anyway.
#ifndef TVAULT_CRYPTO_GRANT_H_
#define TVAULT_CRYPTO_GRANT_H_

#include <cstdint>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/types/span.h"
#include "crypto/age_recipients.h"
#include "crypto/case_descriptor.h"
#include "crypto/certificate.h"
#include "crypto/statement.h"
#include "proto/records.pb.h"

namespace tvault::crypto {

inline constexpr uint32_t kGrantVersion = 1;
// The age file of one identity is a few hundred bytes; anything much larger
// is not a grant.
inline constexpr size_t kMaxGrantCiphertextSize = 4096;

struct CreatedGrant {
  tvault::v1::SignedStatement statement;
  std::vector<uint8_t> ciphertext;  // the age file; public, store it as is
};

struct VerifiedGrant {
  tvault::v1::Grant body;  // recipient == the chain's descriptor recipient
  Fingerprint member;
  Fingerprint granter;
  tvault::v1::SignedStatement statement;
};

// InvalidArgument, naming the rule, unless version 1, case_id 16 bytes,
// recipient a canonical age1… recipient, both fingerprints 16 bytes and
// ciphertext_sha256 32 bytes.
absl::Status CheckGrantBody(const tvault::v1::Grant& body);

// Encrypts `epoch_identity` to `member`'s box key and signs the grant with
// `granter_key`. Statuses:
//   NotFound           the chain does not hold `epoch`;
//   InvalidArgument    epoch_identity is not the epoch's (its recipient is
//                      not the descriptor's), or the member certificate
//                      lacks the REVIEWER role;
//   PermissionDenied   the granter is not an owner of `epoch` or later, its
//                      key is not its certificate's, or the member is not
//                      listed in members[] of `epoch` or later.
// Certificate validity at the current time is the caller's to check.
absl::StatusOr<CreatedGrant> CreateGrant(const CaseChain& chain, uint32_t epoch,
                                         const X25519Identity& epoch_identity,
                                         const VerifiedCertificate& member,
                                         const VerifiedCertificate& granter,
                                         const SigningKey& granter_key);

// Verifies a grant statement against the chain: the signature under the
// key of the granter's certificate (from `lookup`), the body rules, the
// case, the epoch, the recipient, the granter as owner and the member as
// listed. InvalidArgument (malformed), NotFound (epoch not held, granter
// certificate unknown), PermissionDenied (forged, not an owner, not a
// member), FailedPrecondition (other case, recipient differs).
absl::StatusOr<VerifiedGrant> VerifyGrant(
    const tvault::v1::SignedStatement& statement, const CaseChain& chain,
    const CertificateLookup& lookup);

// Opens a verified grant with the member's box identity: checks
// SHA-256(ciphertext) against the signed hash before decrypting
// (DataLoss if it differs), decrypts (binary age, one X25519 stanza), parses
// the identity strictly (exactly one "AGE-SECRET-KEY-1…\n" line) and
// requires its recipient to equal grant.body.recipient (DataLoss
// otherwise: the granter encrypted the wrong key). Decryption errors keep
// their age error kind (kNoMatch for the wrong member identity).
absl::StatusOr<X25519Identity> OpenGrant(const VerifiedGrant& grant,
                                         absl::Span<const uint8_t> ciphertext,
                                         const X25519Identity& member_identity);

}  // namespace tvault::crypto

#endif  // TVAULT_CRYPTO_GRANT_H_
