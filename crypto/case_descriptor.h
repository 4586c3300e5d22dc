// Case descriptors and the chain of epochs (DESIGN.md §5).
//
// A case has epochs 0, 1, 2, …; each has a signed descriptor naming the
// epoch's age recipient, its owners, members and contributors (by
// certificate fingerprint). Conventions (fixed for the whole project):
// - A descriptor's hash is ComputeSha256(statement.body()), over the exact
//   signed body bytes. The genesis hash is the hash of epoch 0's body as
//   first created; clients pin it (case card, invite).
// - Epoch 0 is signed by its creator, who is among its owners, and has
//   prev_descriptor_hash = 32 zero bytes. Epoch N+1 is signed by an owner of
//   epoch N and carries the hash of (a version of) epoch N.
// - A renewal is a second descriptor for the same (case, epoch) that differs
//   only in not_after; it is signed by an owner of that epoch (the owners
//   of the epoch being renewed, who are the same in every version). Among
//   versions the latest not_after wins; epoch N+1 may link to any version
//   of epoch N. Any other difference is equivocation, recognised only if
//   the second version is signed as a first version must be (by an owner of
//   epoch N-1, or for epoch 0 by an owner of the pinned genesis).
//
// Descriptor rules (checked when creating and when verifying): version 1;
// case_id 16 bytes; prev_descriptor_hash 32 bytes, all zero iff epoch 0;
// recipient a canonical "age1…" X25519 recipient that is not of low order;
// owners non-empty; owners, members and contributors each at most 1000
// fingerprints of 16 bytes without duplicates; not_after > 0.
//
// What CaseChain promises: every descriptor it holds is linked by hashes to
// the pinned genesis and was signed by the key of a certificate that the
// caller's lookup returned for an owner fingerprint of the previous epoch.
// What it does NOT promise: that those certificates were valid (time,
// revocation) when the descriptor was published — the lookup decides which
// certificates count, so give it only certificates that passed
// CheckCertificateValidFor at the time of the descriptor's log entry; nor
// that the chain is the newest one (a server can withhold later epochs:
// compare checkpoints).
#ifndef TVAULT_CRYPTO_CASE_DESCRIPTOR_H_
#define TVAULT_CRYPTO_CASE_DESCRIPTOR_H_

#include <array>
#include <cstdint>
#include <functional>
#include <map>
#include <optional>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/types/span.h"
#include "crypto/age_recipients.h"
#include "crypto/certificate.h"
#include "crypto/statement.h"
#include "proto/records.pb.h"

namespace tvault::crypto {

inline constexpr uint32_t kDescriptorVersion = 1;
inline constexpr size_t kCaseIdSize = 16;
inline constexpr size_t kMaxDescriptorListSize = 1000;
inline constexpr int64_t kDefaultEpochRenewal = 30 * kSecondsPerDay;

using CaseId = std::array<uint8_t, kCaseIdSize>;

// 16 random bytes.
CaseId NewCaseId();

// A descriptor whose signature was checked against an owner's certificate.
struct VerifiedDescriptor {
  tvault::v1::CaseDescriptor body;
  Sha256 hash;         // ComputeSha256(statement.body())
  Fingerprint signer;  // certificate fingerprint of the owner who signed
  tvault::v1::SignedStatement statement;
};

// Who is in an epoch, by certificate fingerprint.
struct EpochMembership {
  std::vector<Fingerprint> owners;
  std::vector<Fingerprint> members;
  std::vector<Fingerprint> contributors;
};

// Returns the certificate with this fingerprint, or nullptr if the caller
// does not know it or does not accept it (expired, revoked, …).
using CertificateLookup =
    std::function<const VerifiedCertificate*(const Fingerprint&)>;

// InvalidArgument, naming the rule, unless `body` obeys the rules above.
absl::Status CheckDescriptorBody(const tvault::v1::CaseDescriptor& body);

// Epoch 0 of a new case, signed by `creator` (whose certificate must be
// among membership.owners and whose sign_pk must be creator_key's).
// InvalidArgument for a rule violation, PermissionDenied if the creator is
// not an owner or the key does not match the certificate.
absl::StatusOr<VerifiedDescriptor> CreateGenesisDescriptor(
    const CaseId& case_id, const X25519Recipient& recipient,
    const EpochMembership& membership, int64_t not_after,
    const VerifiedCertificate& creator, const SigningKey& creator_key);

// Epoch previous.epoch + 1 of the same case, with prev_descriptor_hash =
// previous.hash, signed by `signer`, who must be an owner of `previous`.
// Statuses as CreateGenesisDescriptor; OutOfRange if the epoch would
// overflow.
absl::StatusOr<VerifiedDescriptor> CreateNextEpoch(
    const VerifiedDescriptor& previous, const X25519Recipient& recipient,
    const EpochMembership& membership, int64_t not_after,
    const VerifiedCertificate& signer, const SigningKey& signer_key);

// A renewal of `current`: the same body with only not_after changed (it
// must be later: InvalidArgument otherwise), signed by `signer`, who must be
// an owner of `current` (PermissionDenied otherwise).
absl::StatusOr<VerifiedDescriptor> Renew(const VerifiedDescriptor& current,
                                         int64_t new_not_after,
                                         const VerifiedCertificate& signer,
                                         const SigningKey& signer_key);

// Two validly signed descriptors for one (case, epoch) that differ in more
// than not_after. Evidence: show both to the case's owners and reviewers.
struct Equivocation {
  VerifiedDescriptor first;   // the version the chain kept
  VerifiedDescriptor second;  // the conflicting one, refused
};

// The verified epochs of one case, from a pinned genesis hash. Not
// thread-safe; copyable.
class CaseChain {
 public:
  // InvalidArgument unless `genesis_hash` is 32 bytes.
  static absl::StatusOr<CaseChain> Create(
      absl::Span<const uint8_t> genesis_hash);

  // Verifies `statement` as a descriptor of this case and adds it.
  //   OK                 added (a new epoch, a renewal, or a byte-identical
  //                      copy of one already held, which changes nothing);
  //   InvalidArgument    malformed, unknown fields, non-canonical, rules;
  //   PermissionDenied   not signed by an owner of the previous epoch (for
  //                      epoch 0: not the pinned genesis or not signed by
  //                      one of its owners), or forged;
  //   FailedPrecondition wrong case, epoch skipped (the previous one is not
  //                      held), wrong prev_descriptor_hash, or an epoch
  //                      lower than the highest seen (possible rollback);
  //   AlreadyExists      EQUIVOCATION: a validly signed second version of
  //                      an epoch that differs in more than not_after. It is
  //                      kept in equivocations() and the chain keeps the
  //                      first version.
  absl::Status Accept(const tvault::v1::SignedStatement& statement,
                      const CertificateLookup& lookup);

  const Sha256& genesis_hash() const { return genesis_hash_; }
  bool empty() const { return epochs_.empty(); }
  // The case id (from the genesis); requires !empty().
  const std::string& case_id() const;
  // The highest epoch held; nullopt before the genesis was accepted.
  std::optional<uint32_t> highest_epoch() const;
  // The winning version (latest not_after) of `epoch`, or nullptr.
  const VerifiedDescriptor* Find(uint32_t epoch) const;
  // The winning version of the highest epoch, or nullptr.
  const VerifiedDescriptor* Current() const;
  // True if `fingerprint` is among the owners (members) of `epoch` or of any
  // later epoch held.
  bool IsOwnerFrom(uint32_t epoch, const Fingerprint& fingerprint) const;
  bool IsMemberFrom(uint32_t epoch, const Fingerprint& fingerprint) const;

  const std::vector<Equivocation>& equivocations() const {
    return equivocations_;
  }

 private:
  explicit CaseChain(const Sha256& genesis_hash)
      : genesis_hash_(genesis_hash) {}

  struct Epoch {
    std::vector<VerifiedDescriptor> versions;  // first accepted first
    size_t winner = 0;                         // index of latest not_after
  };

  Sha256 genesis_hash_;
  std::map<uint32_t, Epoch> epochs_;
  std::vector<Equivocation> equivocations_;
};

// Whether `a` and `b` differ in nothing but not_after.
bool DiffersOnlyInNotAfter(const tvault::v1::CaseDescriptor& a,
                           const tvault::v1::CaseDescriptor& b);

}  // namespace tvault::crypto

#endif  // TVAULT_CRYPTO_CASE_DESCRIPTOR_H_
