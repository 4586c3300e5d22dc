// Who may do what in the vault (DESIGN.md §8): the one place that decides
// every call. Service code authenticates the caller (Authenticate), loads
// what the decision depends on, and asks CheckAllowed before it changes or
// reveals anything.
//
// The rules
// - Register, Revoke, GetServerInfo, GetChallenge, SignIn: no session. An
//   account registers itself with a root-signed certificate and proof of
//   its key; a revocation carries the root's signature, which is the only
//   authority it needs.
// - Every other call needs a session of an account whose certificate is
//   valid now: inside its validity period and not revoked at or before now
//   (a revocation takes effect from its revoked_at, even for sessions
//   opened earlier). Invite sessions may only upload (a later part).
// - kListCases: any account (it sees only its own cases).
// - kReadLog: any account (log entries name no submitter, but they show
//   the vault's activity, which is not for invite holders).
// - kReadCertificates: any account (certificates carry pseudonymous
//   handles and keys, which members need to re-key their cases; the
//   organisation's roster is not for invite holders).
// - kReadCase: an account listed (owner, member or contributor) in the
//   case's current descriptor.
// - kUpload: an account listed in the current epoch as owner or member
//   (with the REVIEWER role) or as contributor (CONTRIBUTOR or REVIEWER).
//   An invite session: only to its own case, and only while its epoch is
//   the case's current one (a new epoch retires older invites).
// - kReadRecords: a REVIEWER listed as member of the records' epoch or of
//   a later epoch (they hold, or may be given, that epoch's key).
// - kPublishDescriptor, kPublishGrants, kManageInvites, kRequestDeletion: an
// account with the REVIEWER role
//   listed among the owners of the case's current epoch. (For a new case,
//   the epoch-0 descriptor being published is that epoch.) Which members a
//   grant may reach is checked with the signatures, in crypto/grant.h.
//
// Statuses: UNAUTHENTICATED for a missing, unknown or expired session;
// PERMISSION_DENIED for a known caller without the right, with a plain
// message saying which rule failed. Never key material or tokens.
#ifndef TVAULT_VAULT_RIGHTS_H_
#define TVAULT_VAULT_RIGHTS_H_

#include <cstddef>
#include <cstdint>
#include <map>
#include <optional>

#include "absl/base/thread_annotations.h"
#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/types/span.h"
#include "crypto/case_descriptor.h"
#include "crypto/certificate.h"
#include "crypto/mutex.h"
#include "vault/store.h"

namespace tvault::vault {

// An authenticated caller.
struct Caller {
  SessionKind kind = SessionKind::kAccount;
  crypto::SignPublicKey sign_pk{};
  // Set for accounts: the registered certificate, verified under the org
  // key and valid at the time of authentication.
  std::optional<crypto::VerifiedCertificate> certificate;
  // Set for invite sessions: the invite, live (not revoked, not expired,
  // uses left) at the time of authentication.
  std::optional<InviteRow> invite;
};

enum class Action {
  kListCases,
  kReadLog,
  kReadCertificates,
  kReadCase,
  kPublishDescriptor,
  kPublishGrants,
  kUpload,
  kReadRecords,  // with the records' epoch
  kManageInvites,
  kRequestDeletion,
};

// Remembers stored statements that verified, so that the signature and
// key checks of one certificate or one case's descriptor chain (several
// Ed25519 and X25519 operations each) run once per process rather than on
// every call (issue 6: they were most of an upload's CPU). Keyed by the
// SHA-256 of everything the check depends on (the org key and the exact
// stored bytes): verification is a pure function of them, so a hit gives
// what checking again would. Only successes are kept; bounded (emptied
// when full). Thread-safe.
class VerificationCache {
 public:
  static constexpr size_t kMaxCertificates = 4096;
  static constexpr size_t kMaxChains = 1024;

  std::optional<crypto::VerifiedCertificate> FindCertificate(
      const crypto::Sha256& key) ABSL_LOCKS_EXCLUDED(mu_);
  void AddCertificate(const crypto::Sha256& key,
                      const crypto::VerifiedCertificate& certificate)
      ABSL_LOCKS_EXCLUDED(mu_);
  std::optional<crypto::CaseChain> FindChain(const crypto::Sha256& key)
      ABSL_LOCKS_EXCLUDED(mu_);
  void AddChain(const crypto::Sha256& key, const crypto::CaseChain& chain)
      ABSL_LOCKS_EXCLUDED(mu_);

 private:
  Mutex mu_;
  std::map<crypto::Sha256, crypto::VerifiedCertificate> certificates_
      ABSL_GUARDED_BY(mu_);
  std::map<crypto::Sha256, crypto::CaseChain> chains_ ABSL_GUARDED_BY(mu_);
};

// The session behind `token_hash` (nullptr: the call carried none), its
// account and certificate, checked at `now`. `cache` (may be null) spares
// re-verifying the certificate's signature.
absl::StatusOr<Caller> Authenticate(StoreTransaction& txn,
                                    const SessionTokenHash* token_hash,
                                    absl::Span<const uint8_t> org_pk,
                                    int64_t now,
                                    VerificationCache* cache = nullptr);

// The certificate of a stored account, verified under the org key again
// (the store is not trusted to have kept it intact: with `cache`, bytes
// that verified before are not checked again). DataLoss if the stored
// bytes no longer parse or verify.
absl::StatusOr<crypto::VerifiedCertificate> VerifyStoredCertificate(
    const AccountRow& account, absl::Span<const uint8_t> org_pk,
    VerificationCache* cache = nullptr);

// Whether `cert` is inside its validity period and unrevoked at `now`,
// with the revocation the store holds for it (if any). PermissionDenied
// otherwise, saying why.
absl::Status CheckCertificateCurrent(StoreTransaction& txn,
                                     const crypto::VerifiedCertificate& cert,
                                     absl::Span<const uint8_t> org_pk,
                                     int64_t now);

// Whether an invite may be used at `now`: not revoked, not expired, and
// (with `require_use`) uses left. PermissionDenied saying which, and what
// to do. A used-up invite can still sign in, to fetch the receipt of what
// it submitted.
absl::Status CheckInviteLive(const InviteRow& invite, int64_t now,
                             bool require_use);

// The decision. `chain` is the case's verified chain (for the case
// actions; nullptr for kListCases).
absl::Status CheckAllowed(const Caller& caller, Action action,
                          const crypto::CaseChain* chain, int64_t now,
                          uint32_t epoch = 0);

}  // namespace tvault::vault

#endif  // TVAULT_VAULT_RIGHTS_H_
