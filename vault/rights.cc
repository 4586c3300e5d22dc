#include "vault/rights.h"

#include <sodium.h>

#include <algorithm>
#include <string>
#include <vector>

#include "absl/strings/str_cat.h"
#include "crypto/statement.h"
#include "proto/records.pb.h"

namespace tvault::vault {
namespace {

bool Lists(const google::protobuf::RepeatedPtrField<std::string>& list,
           const crypto::Fingerprint& fp) {
  const absl::string_view want = crypto::AsString(fp);
  return std::any_of(list.begin(), list.end(),
                     [&](const std::string& f) { return f == want; });
}

}  // namespace

std::optional<crypto::VerifiedCertificate> VerificationCache::FindCertificate(
    const crypto::Sha256& key) {
  MutexLock lock(mu_);
  auto it = certificates_.find(key);
  if (it == certificates_.end()) return std::nullopt;
  return it->second;
}

void VerificationCache::AddCertificate(
    const crypto::Sha256& key, const crypto::VerifiedCertificate& certificate) {
  MutexLock lock(mu_);
  if (certificates_.size() >= kMaxCertificates) certificates_.clear();
  certificates_.insert_or_assign(key, certificate);
}

std::optional<crypto::CaseChain> VerificationCache::FindChain(
    const crypto::Sha256& key) {
  MutexLock lock(mu_);
  auto it = chains_.find(key);
  if (it == chains_.end()) return std::nullopt;
  return it->second;
}

void VerificationCache::AddChain(const crypto::Sha256& key,
                                 const crypto::CaseChain& chain) {
  MutexLock lock(mu_);
  if (chains_.size() >= kMaxChains) chains_.clear();
  chains_.insert_or_assign(key, chain);
}

absl::StatusOr<crypto::VerifiedCertificate> VerifyStoredCertificate(
    const AccountRow& account, absl::Span<const uint8_t> org_pk,
    VerificationCache* cache) {
  crypto::Sha256 key{};
  if (cache != nullptr) {
    crypto_hash_sha256_state sha;
    crypto_hash_sha256_init(&sha);
    const uint8_t tag[] = {'c', 'e', 'r', 't', 0};
    crypto_hash_sha256_update(&sha, tag, sizeof(tag));
    crypto_hash_sha256_update(&sha, org_pk.data(), org_pk.size());
    crypto_hash_sha256_update(
        &sha, reinterpret_cast<const uint8_t*>(account.certificate.data()),
        account.certificate.size());
    crypto_hash_sha256_final(&sha, key.data());
    if (std::optional<crypto::VerifiedCertificate> hit =
            cache->FindCertificate(key)) {
      return *std::move(hit);
    }
  }
  tvault::v1::SignedStatement statement;
  if (!statement.ParseFromString(account.certificate)) {
    return absl::DataLossError("a stored certificate does not parse");
  }
  absl::StatusOr<crypto::VerifiedCertificate> cert =
      crypto::VerifyCertificate(statement, org_pk);
  if (!cert.ok()) {
    return absl::DataLossError("a stored certificate no longer verifies");
  }
  if (cache != nullptr) cache->AddCertificate(key, *cert);
  return cert;
}

absl::Status CheckCertificateCurrent(StoreTransaction& txn,
                                     const crypto::VerifiedCertificate& cert,
                                     absl::Span<const uint8_t> org_pk,
                                     int64_t now) {
  std::vector<tvault::v1::Revocation> revocations;
  absl::StatusOr<RevocationRow> row = txn.FindRevocation(cert.fingerprint);
  if (row.ok()) {
    tvault::v1::SignedStatement statement;
    if (!statement.ParseFromString(row->statement)) {
      return absl::DataLossError("a stored revocation does not parse");
    }
    absl::StatusOr<tvault::v1::Revocation> revocation =
        crypto::VerifyRevocation(statement, org_pk);
    if (!revocation.ok()) {
      return absl::DataLossError("a stored revocation no longer verifies");
    }
    revocations.push_back(*revocation);
  } else if (!absl::IsNotFound(row.status())) {
    return row.status();
  }
  // Every certificate has at least one role; validity in time and
  // revocation do not depend on which.
  return crypto::CheckCertificateValidFor(
      cert,
      cert.body.roles(0) == tvault::v1::REVIEWER ? tvault::v1::REVIEWER
                                                 : tvault::v1::CONTRIBUTOR,
      now, revocations);
}

absl::StatusOr<Caller> Authenticate(StoreTransaction& txn,
                                    const SessionTokenHash* token_hash,
                                    absl::Span<const uint8_t> org_pk,
                                    int64_t now, VerificationCache* cache) {
  if (token_hash == nullptr) {
    return absl::UnauthenticatedError(
        "this call needs a session: sign in first");
  }
  absl::StatusOr<SessionRow> session = txn.FindSession(*token_hash, now);
  if (absl::IsNotFound(session.status())) {
    return absl::UnauthenticatedError(
        "the session is unknown or has expired: sign in again");
  }
  if (!session.ok()) return session.status();
  Caller caller;
  caller.kind = session->kind;
  caller.sign_pk = session->sign_pk;
  if (session->kind == SessionKind::kInvite) {
    absl::StatusOr<InviteRow> invite = txn.FindInvite(session->sign_pk);
    if (!invite.ok()) {
      return absl::IsNotFound(invite.status())
                 ? absl::DataLossError("a session refers to an unknown invite")
                 : invite.status();
    }
    if (absl::Status s = CheckInviteLive(*invite, now, false); !s.ok()) {
      return s;
    }
    caller.invite = std::move(*invite);
    return caller;
  }

  absl::StatusOr<AccountRow> account =
      txn.FindAccountBySignPk(session->sign_pk);
  if (absl::IsNotFound(account.status())) {
    return absl::DataLossError("a session refers to an unknown account");
  }
  if (!account.ok()) return account.status();
  absl::StatusOr<crypto::VerifiedCertificate> cert =
      VerifyStoredCertificate(*account, org_pk, cache);
  if (!cert.ok()) return cert.status();
  if (absl::Status s = CheckCertificateCurrent(txn, *cert, org_pk, now);
      !s.ok()) {
    return absl::PermissionDeniedError(
        absl::StrCat("your certificate cannot be used: ", s.message()));
  }
  caller.certificate = std::move(*cert);
  return caller;
}

absl::Status CheckInviteLive(const InviteRow& invite, int64_t now,
                             bool require_use) {
  if (invite.revoked) {
    return absl::PermissionDeniedError(
        "this invite was revoked by the case's owners; ask them for a new "
        "one");
  }
  if (invite.expires <= now) {
    return absl::PermissionDeniedError(
        "this invite has expired; ask the case's owners for a new one");
  }
  if (require_use && invite.uses_left == 0) {
    return absl::PermissionDeniedError(
        "this invite has been used as many times as it allows; ask the "
        "case's owners for a new one");
  }
  return absl::OkStatus();
}

absl::Status CheckAllowed(const Caller& caller, Action action,
                          const crypto::CaseChain* chain, int64_t now,
                          uint32_t epoch) {
  if (caller.invite && action == Action::kUpload) {
    const crypto::VerifiedDescriptor* current =
        chain == nullptr ? nullptr : chain->Current();
    if (current == nullptr) return absl::InternalError("no case chain");
    if (crypto::AsString(caller.invite->case_id) != current->body.case_id()) {
      return absl::PermissionDeniedError("this invite is for another case");
    }
    if (caller.invite->epoch != current->body.epoch()) {
      return absl::PermissionDeniedError(
          "this invite belongs to an earlier membership of the case and no "
          "longer works; ask the case's owners for a new one");
    }
    return absl::OkStatus();
  }
  if (caller.kind != SessionKind::kAccount || !caller.certificate) {
    return absl::PermissionDeniedError(
        "an invite can only be used to submit records; this call needs an "
        "account");
  }
  const crypto::VerifiedCertificate& cert = *caller.certificate;
  if (action == Action::kListCases || action == Action::kReadLog ||
      action == Action::kReadCertificates) {
    return absl::OkStatus();
  }

  const crypto::VerifiedDescriptor* current =
      chain == nullptr ? nullptr : chain->Current();
  if (current == nullptr) {
    return absl::InternalError("no case chain to decide on");
  }
  const tvault::v1::CaseDescriptor& d = current->body;
  switch (action) {
    case Action::kListCases:
    case Action::kReadLog:
    case Action::kReadCertificates:
      return absl::OkStatus();
    case Action::kReadCase:
      // Anyone listed in any epoch: a removed reviewer still needs the
      // descriptors to verify the records of the epochs they held.
      for (uint32_t e = 0; e <= d.epoch(); ++e) {
        const crypto::VerifiedDescriptor* v = chain->Find(e);
        if (v != nullptr && (Lists(v->body.owners(), cert.fingerprint) ||
                             Lists(v->body.members(), cert.fingerprint) ||
                             Lists(v->body.contributors(), cert.fingerprint))) {
          return absl::OkStatus();
        }
      }
      return absl::PermissionDeniedError(
          absl::StrCat("you are not listed in any epoch of this case; ask "
                       "one of its owners to add you"));
    case Action::kUpload: {
      const bool reviewer =
          (Lists(d.owners(), cert.fingerprint) ||
           Lists(d.members(), cert.fingerprint)) &&
          crypto::CheckCertificateValidFor(cert, tvault::v1::REVIEWER, now, {})
              .ok();
      const bool contributor =
          Lists(d.contributors(), cert.fingerprint) &&
          (crypto::CheckCertificateValidFor(cert, tvault::v1::CONTRIBUTOR, now,
                                            {})
               .ok() ||
           crypto::CheckCertificateValidFor(cert, tvault::v1::REVIEWER, now, {})
               .ok());
      if (reviewer || contributor) return absl::OkStatus();
      return absl::PermissionDeniedError(absl::StrCat(
          "you may not submit records to this case: you are not listed in "
          "its current epoch (",
          d.epoch(), ") with a role that allows it"));
    }
    case Action::kReadRecords:
      if (chain->IsMemberFrom(epoch, cert.fingerprint) &&
          crypto::CheckCertificateValidFor(cert, tvault::v1::REVIEWER, now, {})
              .ok()) {
        return absl::OkStatus();
      }
      return absl::PermissionDeniedError(absl::StrCat(
          "only reviewers who are members of epoch ", epoch,
          " (or of a later epoch) may read its records, and you are not one"));
    case Action::kPublishDescriptor:
    case Action::kPublishGrants:
    case Action::kManageInvites:
    case Action::kRequestDeletion: {
      if (!Lists(d.owners(), cert.fingerprint)) {
        return absl::PermissionDeniedError(absl::StrCat(
            "only an owner of the case's current epoch (", d.epoch(), ") may ",
            action == Action::kPublishGrants     ? "publish grants"
            : action == Action::kManageInvites   ? "manage invites"
            : action == Action::kRequestDeletion ? "ask for deletions"
                                                 : "publish descriptors",
            ", and you are not one"));
      }
      // The caller's certificate is current (Authenticate); owners hold
      // case keys, which only reviewers do.
      if (absl::Status s = crypto::CheckCertificateValidFor(
              cert, tvault::v1::REVIEWER, now, {});
          !s.ok()) {
        return absl::PermissionDeniedError(absl::StrCat(
            "owning a case needs the reviewer role: ", s.message()));
      }
      return absl::OkStatus();
    }
  }
  return absl::InternalError("unknown action");
}

}  // namespace tvault::vault
