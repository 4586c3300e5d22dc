#include "vault/vault_core.h"

#include <openssl/evp.h>
#include <sodium.h>

#include <algorithm>
#include <chrono>
#include <map>
#include <memory>
#include <set>
#include <utility>
#include <vector>

#include "absl/strings/str_cat.h"
#include "crypto/age_header.h"
#include "crypto/case_descriptor.h"
#include "crypto/certificate.h"
#include "crypto/grant.h"
#include "crypto/invite.h"
#include "crypto/io.h"
#include "crypto/secret_bytes.h"
#include "vault/log_tree.h"
#include "vault/logging.h"

namespace tvault::vault {
namespace {

using crypto::AsBytes;
using crypto::AsString;
using tvault::v1::SignedStatement;

int64_t SaturatingAdd(int64_t a, int64_t b) {
  return a > INT64_MAX - b ? INT64_MAX : a + b;
}

std::string Str(absl::Span<const uint8_t> bytes) {
  return std::string(AsString(bytes));
}

// Certificates of registered accounts, verified once per call. Used as the
// CertificateLookup of case chains rebuilt from the store: the descriptors
// and grants stored were checked against then-current certificates when
// they were published, so here any registered certificate counts.
class RegisteredCertificates {
 public:
  RegisteredCertificates(StoreTransaction& txn,
                         absl::Span<const uint8_t> org_pk,
                         VerificationCache* cache)
      : txn_(txn), org_pk_(org_pk), cache_(cache) {}

  absl::Span<const uint8_t> org_pk() const { return org_pk_; }
  VerificationCache* cache() const { return cache_; }

  crypto::CertificateLookup Lookup() {
    return [this](const crypto::Fingerprint& fp)
               -> const crypto::VerifiedCertificate* { return Find(fp); };
  }

  const crypto::VerifiedCertificate* Find(const crypto::Fingerprint& fp) {
    auto it = found_.find(fp);
    if (it != found_.end()) return it->second.get();
    std::unique_ptr<crypto::VerifiedCertificate> found;
    absl::StatusOr<AccountRow> row = txn_.FindAccountByFingerprint(fp);
    if (row.ok()) {
      absl::StatusOr<crypto::VerifiedCertificate> cert =
          VerifyStoredCertificate(*row, org_pk_, cache_);
      if (cert.ok()) {
        found = std::make_unique<crypto::VerifiedCertificate>(std::move(*cert));
      }
    }
    return found_.emplace(fp, std::move(found)).first->second.get();
  }

 private:
  StoreTransaction& txn_;
  absl::Span<const uint8_t> org_pk_;
  VerificationCache* const cache_;
  std::map<crypto::Fingerprint, std::unique_ptr<crypto::VerifiedCertificate>>
      found_;
};

absl::StatusOr<CaseId> CaseIdFromBytes(absl::string_view bytes) {
  if (bytes.size() != crypto::kCaseIdSize) {
    return absl::InvalidArgumentError("a case id is 16 bytes");
  }
  CaseId id;
  std::copy(bytes.begin(), bytes.end(), id.begin());
  return id;
}

// The verified chain of a stored case. NotFound for an unknown case;
// DataLoss if what is stored no longer verifies.
absl::StatusOr<crypto::CaseChain> LoadChain(StoreTransaction& txn,
                                            const CaseId& case_id,
                                            RegisteredCertificates& certs) {
  absl::StatusOr<CaseRow> case_row = txn.FindCase(case_id);
  if (absl::IsNotFound(case_row.status())) {
    return absl::NotFoundError("there is no case with that id in this vault");
  }
  if (!case_row.ok()) return case_row.status();
  absl::StatusOr<crypto::CaseChain> chain =
      crypto::CaseChain::Create(case_row->genesis_hash);
  if (!chain.ok()) return chain.status();
  absl::StatusOr<std::vector<DescriptorRow>> rows =
      txn.ListDescriptors(case_id);
  if (!rows.ok()) return rows.status();
  // The chain is a pure function of the org key, the genesis and the
  // stored descriptors (the certificates it looks up are registered once
  // and never change), so one that verified before is taken from the
  // cache.
  crypto::Sha256 key{};
  if (certs.cache() != nullptr) {
    crypto_hash_sha256_state sha;
    crypto_hash_sha256_init(&sha);
    const uint8_t tag[] = {'c', 'h', 'a', 'i', 'n', 0};
    crypto_hash_sha256_update(&sha, tag, sizeof(tag));
    crypto_hash_sha256_update(&sha, certs.org_pk().data(),
                              certs.org_pk().size());
    crypto_hash_sha256_update(&sha, case_row->genesis_hash.data(),
                              case_row->genesis_hash.size());
    for (const DescriptorRow& row : *rows) {
      uint8_t size[8];
      for (int i = 0; i < 8; ++i) {
        size[i] =
            static_cast<uint8_t>(uint64_t{row.statement.size()} >> (8 * i));
      }
      crypto_hash_sha256_update(&sha, size, sizeof(size));
      crypto_hash_sha256_update(
          &sha, reinterpret_cast<const uint8_t*>(row.statement.data()),
          row.statement.size());
    }
    crypto_hash_sha256_final(&sha, key.data());
    if (std::optional<crypto::CaseChain> hit = certs.cache()->FindChain(key)) {
      return *std::move(hit);
    }
  }
  for (const DescriptorRow& row : *rows) {
    SignedStatement statement;
    if (!statement.ParseFromString(row.statement) ||
        !chain->Accept(statement, certs.Lookup()).ok()) {
      return absl::DataLossError(
          "a stored descriptor of this case no longer verifies");
    }
  }
  if (chain->empty()) {
    return absl::DataLossError("a stored case has no descriptors");
  }
  if (certs.cache() != nullptr) certs.cache()->AddChain(key, *chain);
  return chain;
}

std::vector<crypto::Fingerprint> Participants(
    const tvault::v1::CaseDescriptor& d) {
  std::vector<crypto::Fingerprint> out;
  for (const auto* list : {&d.owners(), &d.members(), &d.contributors()}) {
    for (const std::string& f : *list) {
      crypto::Fingerprint fp;
      std::copy(f.begin(), f.end(), fp.begin());  // 16 bytes: checked body
      out.push_back(fp);
    }
  }
  return out;
}

// The caller, authenticated, and the verified chain of `case_id`, with
// `action` allowed on it (vault/rights.h decides).
struct CaseAccess {
  Caller caller;
  crypto::CaseChain chain;
};

absl::StatusOr<CaseAccess> AuthorizeCase(StoreTransaction& txn,
                                         const SessionTokenHash* token,
                                         const CaseId& case_id, Action action,
                                         int64_t now,
                                         RegisteredCertificates& certs,
                                         absl::Span<const uint8_t> org_pk) {
  absl::StatusOr<Caller> caller =
      Authenticate(txn, token, org_pk, now, certs.cache());
  if (!caller.ok()) return caller.status();
  if (!caller->certificate && !(caller->invite && action == Action::kUpload)) {
    if (absl::Status s = CheckAllowed(*caller, action, nullptr, now); !s.ok()) {
      return s;
    }
  }
  absl::StatusOr<crypto::CaseChain> chain = LoadChain(txn, case_id, certs);
  if (!chain.ok()) return chain.status();
  if (absl::Status s = CheckAllowed(*caller, action, &*chain, now); !s.ok()) {
    return s;
  }
  return CaseAccess{std::move(*caller), std::move(*chain)};
}

const crypto::Fingerprint& CallerFingerprint(const Caller& caller) {
  return caller.certificate->fingerprint;
}

}  // namespace

int64_t SystemClock() {
  return std::chrono::duration_cast<std::chrono::seconds>(
             std::chrono::system_clock::now().time_since_epoch())
      .count();
}

// A receipt (DESIGN.md §9) for the log entry `entry` at `index`, in the
// tree of the signed checkpoint `checkpoint_note` of `tree_size` entries.
absl::StatusOr<tvault::v1::Receipt> MakeReceipt(
    StoreTransaction& txn, uint64_t index, std::string entry,
    const std::string& checkpoint_note, uint64_t tree_size) {
  absl::StatusOr<std::vector<crypto::Hash>> proof =
      LogTreeInclusionProof(txn, index, tree_size);
  if (!proof.ok()) return proof.status();
  tvault::v1::Receipt receipt;
  receipt.set_checkpoint(checkpoint_note);
  receipt.set_index(index);
  receipt.set_entry(std::move(entry));
  for (const crypto::Hash& h : *proof) receipt.add_inclusion(Str(h));
  return receipt;
}

// The log entries one call appends, where their receipts go, and what it
// stores beside the group's checkpoint once that is signed.
struct VaultCore::Mutation {
  struct Appended {
    AppendedEntry entry;
    tvault::v1::Receipt* receipt;
  };
  using AfterSigned =
      std::function<absl::Status(StoreTransaction&, const CheckpointRow&)>;
  TransparencyLog* log = nullptr;
  int64_t now = 0;
  std::vector<Appended> appended;
  std::vector<AfterSigned> after_signed;

  // Appends `entry` (logged now) and returns its index.
  absl::StatusOr<uint64_t> Append(StoreTransaction& txn,
                                  tvault::v1::LogEntry entry,
                                  tvault::v1::Receipt* receipt) {
    if (entry.logged_at() == 0) entry.set_logged_at(now);
    absl::StatusOr<AppendedEntry> appended_entry =
        log->Append(txn, std::move(entry));
    if (!appended_entry.ok()) return appended_entry.status();
    appended.push_back(Appended{std::move(*appended_entry), receipt});
    return appended.back().entry.index;
  }

  // Runs `fn` in the same transaction once the group's checkpoint (which
  // covers this call's entries) is signed, to store it beside them. `fn`
  // must not fail for reasons of this call alone (check those before): the
  // entries are signed by then, so its failure fails the whole group.
  void OnSigned(AfterSigned fn) { after_signed.push_back(std::move(fn)); }

  void Clear() {
    appended.clear();
    after_signed.clear();
  }
};

// One call in the group commit queue (vault_core.h). `fn`, `bytes` and
// `mutation` are used by whichever thread leads the call's group, from
// when the group is taken until `done`; the caller waits meanwhile.
struct VaultCore::GroupMember {
  GroupMember(
      absl::FunctionRef<absl::Status(StoreTransaction&, Mutation&)> call,
      size_t call_bytes)
      : fn(call), bytes(call_bytes) {}

  const absl::FunctionRef<absl::Status(StoreTransaction&, Mutation&)> fn;
  const size_t bytes;
  Mutation mutation;

  // Never held together with group_mu_.
  Mutex mu;
  CondVar cv;
  bool lead ABSL_GUARDED_BY(mu) = false;  // handed the lead: take a group
  bool done ABSL_GUARDED_BY(mu) = false;  // answered: `status` is final
  absl::Status status ABSL_GUARDED_BY(mu);
};

VaultCore::VaultCore(Store& store, TransparencyLog& log,
                     const crypto::SignPublicKey& org_pk,
                     const TlsKeyPin& tls_pin, VaultConfig config, Clock clock)
    : store_(store),
      log_(log),
      org_pk_(org_pk),
      tls_pin_(tls_pin),
      config_(std::move(config)),
      clock_(std::move(clock)) {}

GroupCommitStats VaultCore::group_commit_stats() const {
  MutexLock lock(group_mu_);
  GroupCommitStats out = group_stats_;
  out.waiting = group_queue_.size();
  return out;
}

namespace {

// The core whose group the calling thread is running (as its leader), if
// any: a call made from inside another call's part would wait for itself.
thread_local const VaultCore* running_group = nullptr;

// A copy of `status` that shares no storage with it.
absl::Status Unshared(const absl::Status& status) {
  if (status.ok()) return absl::OkStatus();
  return absl::Status(status.code(), status.message());
}

}  // namespace

absl::Status VaultCore::Mutate(
    absl::FunctionRef<absl::Status(StoreTransaction&, Mutation&)> fn,
    size_t bytes) {
  if (running_group == this) {
    return absl::FailedPreconditionError(
        "a vault call was made from inside another call's transaction");
  }
  GroupMember me(fn, bytes);
  me.mutation.log = &log_;
  me.mutation.now = clock_();
  bool lead = false;
  {
    MutexLock lock(group_mu_);
    if (!group_leading_) {
      group_leading_ = true;
      lead = true;
    } else {
      group_queue_.push_back(&me);
    }
  }
  if (!lead) {
    MutexLock lock(me.mu);
    me.cv.Wait(me.mu, [&]() ABSL_EXCLUSIVE_LOCKS_REQUIRED(me.mu) {
      return me.done || me.lead;
    });
    if (me.done) return me.status;
  }
  LeadGroup(me);
  MutexLock lock(me.mu);
  return me.status;
}

void VaultCore::LeadGroup(GroupMember& leader) {
  std::vector<GroupMember*> group{&leader};
  {
    MutexLock lock(group_mu_);
    size_t bytes = leader.bytes;
    while (!group_queue_.empty() && group.size() < kMaxGroupMembers &&
           group_queue_.front()->bytes <=
               kMaxGroupBytes - std::min(bytes, kMaxGroupBytes)) {
      bytes += group_queue_.front()->bytes;
      group.push_back(group_queue_.front());
      group_queue_.pop_front();
    }
    ++group_stats_.groups;
    group_stats_.members += group.size();
    group_stats_.largest =
        std::max<uint64_t>(group_stats_.largest, group.size());
  }

  std::vector<absl::Status> results(group.size());
  std::optional<CheckpointRow> signed_row;
  const absl::Status group_status = CommitGroup(group, results, signed_row);

  // Hand the lead on now: the next group's transaction runs while this
  // group's checkpoint is copied.
  GroupMember* next = nullptr;
  {
    MutexLock lock(group_mu_);
    if (group_queue_.empty()) {
      group_leading_ = false;
    } else {
      next = group_queue_.front();
      group_queue_.pop_front();
    }
  }
  if (next != nullptr) {
    // Notified under its lock, so it cannot return (and go) before.
    MutexLock lock(next->mu);
    next->lead = true;
    next->cv.NotifyOne();
  }

  // No receipt goes out before the copy covers its checkpoint.
  absl::Status copied;
  if (group_status.ok() && signed_row) {
    copied = log_.MirrorCheckpoint(*signed_row);
    if (!copied.ok()) {
      LogError(absl::StrCat(
          "changes were committed, but the anti-rollback copy of their "
          "checkpoint could not be written: ",
          copied.message()));
      copied = absl::UnavailableError(
          "the change was stored, but the vault could not write the copy of "
          "its checkpoint; ask again for its receipt");
    }
  }
  for (size_t i = 0; i < group.size(); ++i) {
    GroupMember* m = group[i];
    // Each caller gets a status of its own (moved, or a fresh copy): an
    // error shared between threads would be freed by whichever drops it
    // last, which TSan cannot follow into Debian's uninstrumented abseil.
    absl::Status status =
        !group_status.ok() ? Unshared(group_status) : std::move(results[i]);
    if (status.ok() && !m->mutation.appended.empty()) {
      status = Unshared(copied);
    }
    MutexLock lock(m->mu);
    m->status = std::move(status);
    m->done = true;
    m->cv.NotifyOne();
  }
}

absl::Status VaultCore::CommitGroup(const std::vector<GroupMember*>& group,
                                    std::vector<absl::Status>& results,
                                    std::optional<CheckpointRow>& signed_row) {
  struct Running {
    explicit Running(const VaultCore* core) { running_group = core; }
    ~Running() { running_group = nullptr; }
  } running(this);
  return store_.RunInTransaction([&](StoreTransaction& txn) -> absl::Status {
    signed_row.reset();
    bool appended = false;
    for (size_t i = 0; i < group.size(); ++i) {
      Mutation& m = group[i]->mutation;
      m.Clear();
      results[i] = txn.RunNested(
          [&](StoreTransaction& nested) { return group[i]->fn(nested, m); });
      if (!results[i].ok()) {
        m.Clear();  // undone with its savepoint
      } else if (!m.appended.empty()) {
        appended = true;
      }
    }
    if (!appended) return absl::OkStatus();
    absl::StatusOr<CheckpointRow> row = log_.SignCheckpoint(txn);
    if (!row.ok()) return row.status();
    for (size_t i = 0; i < group.size(); ++i) {
      if (!results[i].ok()) continue;
      Mutation& m = group[i]->mutation;
      for (const Mutation::AfterSigned& fn : m.after_signed) {
        if (absl::Status s = fn(txn, *row); !s.ok()) return s;
      }
      for (Mutation::Appended& a : m.appended) {
        if (a.receipt == nullptr) continue;
        absl::StatusOr<tvault::v1::Receipt> receipt = MakeReceipt(
            txn, a.entry.index, a.entry.bytes, row->note, row->tree_size);
        if (!receipt.ok()) return receipt.status();
        *a.receipt = std::move(*receipt);
      }
    }
    signed_row = std::move(*row);
    return absl::OkStatus();
  });
}

absl::Status VaultCore::EnsureCopied(const CheckpointRow& checkpoint) {
  if (log_.MirrorCovers(checkpoint.tree_size)) return absl::OkStatus();
  // An earlier copy failed. As Maintain does: check the tree against the
  // copy, take (or sign) its latest checkpoint, and copy that.
  std::optional<CheckpointRow> latest;
  absl::Status s = store_.RunInTransaction([&](StoreTransaction& txn) {
    absl::StatusOr<CheckpointRow> row = log_.SignCheckpoint(txn);
    if (!row.ok()) return row.status();
    latest = std::move(*row);
    return absl::OkStatus();
  });
  if (s.ok()) s = log_.MirrorCheckpoint(*latest);
  if (s.ok() && !log_.MirrorCovers(checkpoint.tree_size)) {
    s = absl::InternalError("the copy is still behind");
  }
  if (!s.ok()) {
    LogError(absl::StrCat(
        "the anti-rollback copy of the checkpoint could not be written: ",
        s.message()));
    return absl::UnavailableError(
        "the vault could not write the copy of its checkpoint; try again "
        "later");
  }
  return absl::OkStatus();
}

tvault::v1::ServerInfo VaultCore::GetServerInfo() const {
  tvault::v1::ServerInfo info;
  info.set_version(kVaultVersion);
  info.set_tls_key_sha256(Str(tls_pin_));
  info.set_log_origin(log_.origin());
  info.set_log_verifier_key(log_.verifier().Encode());
  tvault::v1::Limits* limits = info.mutable_limits();
  limits->set_max_message_bytes(
      static_cast<uint64_t>(config_.max_message_bytes));
  limits->set_max_record_bytes(static_cast<uint64_t>(config_.max_record_bytes));
  limits->set_max_metadata_bytes(
      static_cast<uint32_t>(config_.max_metadata_bytes));
  limits->set_challenge_ttl_seconds(
      static_cast<uint32_t>(config_.challenge_ttl_seconds));
  limits->set_session_ttl_seconds(
      static_cast<uint32_t>(config_.session_ttl_seconds));
  limits->set_max_requests_per_minute(
      static_cast<uint32_t>(config_.max_requests_per_minute));
  limits->set_call_deadline_seconds(
      static_cast<uint32_t>(config_.call_deadline_seconds));
  return info;
}

absl::StatusOr<tvault::v1::Challenge> VaultCore::GetChallenge() {
  ChallengeRow row;
  randombytes_buf(row.nonce.data(), row.nonce.size());
  row.expires_at = SaturatingAdd(clock_(), config_.challenge_ttl_seconds);
  absl::Status s = Mutate([&](StoreTransaction& txn, Mutation&) {
    return txn.InsertChallenge(row);
  });
  if (!s.ok()) return s;
  tvault::v1::Challenge out;
  out.set_nonce(Str(row.nonce));
  out.set_expires_at(row.expires_at);
  return out;
}

namespace {

// Checks a signed AuthChallenge up to (not including) the nonce, which
// the caller consumes in its transaction. `expected_pk`, if set, is the
// key that must have signed.
absl::StatusOr<tvault::v1::AuthChallenge> OpenAuthChallenge(
    const SignedStatement& statement, const TlsKeyPin& pin, int64_t now,
    int64_t skew, const crypto::SignPublicKey* expected_pk) {
  tvault::v1::AuthChallenge body;
  if (absl::Status s = crypto::ParseStrictly(statement.body(), body); !s.ok()) {
    return absl::InvalidArgumentError(
        absl::StrCat("the signed challenge is malformed: ", s.message()));
  }
  if (body.version() != 1 || body.nonce().size() != 32 ||
      body.tls_key_sha256().size() != pin.size() ||
      !crypto::CheckSignPublicKey(AsBytes(body.caller_sign_pk())).ok()) {
    return absl::InvalidArgumentError(
        "the signed challenge must have version 1, a 32-byte nonce, a "
        "32-byte TLS key hash and a valid Ed25519 key");
  }
  if (expected_pk != nullptr &&
      body.caller_sign_pk() != AsString(*expected_pk)) {
    return absl::UnauthenticatedError(
        "the challenge is signed for another key than the certificate's");
  }
  if (sodium_memcmp(body.tls_key_sha256().data(), pin.data(), pin.size()) !=
      0) {
    return absl::UnauthenticatedError(
        "the challenge was signed for a different server (its TLS key "
        "differs): check that you are connected to your organisation's "
        "vault");
  }
  if (absl::Status s =
          crypto::OpenStatement(crypto::StatementType::kAuth, statement,
                                AsBytes(body.caller_sign_pk()), body);
      !s.ok()) {
    return absl::UnauthenticatedError(
        "the challenge signature does not verify");
  }
  if (body.issued_at() < now - skew || body.issued_at() > now + skew) {
    return absl::UnauthenticatedError(absl::StrCat(
        "the challenge was signed at a time more than ", skew,
        " seconds away from the vault's clock: check the device's clock"));
  }
  return body;
}

absl::Status ConsumeNonce(StoreTransaction& txn, absl::string_view nonce,
                          int64_t now) {
  ChallengeNonce n;
  std::copy(nonce.begin(), nonce.end(), n.begin());
  absl::Status s = txn.ConsumeChallenge(n, now);
  if (absl::IsNotFound(s)) {
    return absl::UnauthenticatedError(
        "the challenge is unknown or was already used: ask for a new one");
  }
  if (absl::IsFailedPrecondition(s)) {
    return absl::UnauthenticatedError(
        "the challenge has expired: ask for a new one");
  }
  return s;
}

}  // namespace

absl::StatusOr<tvault::v1::Session> VaultCore::SignIn(
    const tvault::v1::SignInRequest& request) {
  const int64_t now = clock_();
  absl::StatusOr<tvault::v1::AuthChallenge> challenge = OpenAuthChallenge(
      request.challenge(), tls_pin_, now, config_.clock_skew_seconds, nullptr);
  if (!challenge.ok()) return challenge.status();
  crypto::SignPublicKey pk;
  std::copy(challenge->caller_sign_pk().begin(),
            challenge->caller_sign_pk().end(), pk.begin());

  crypto::SecretBytes token = crypto::SecretBytes::Random(32);
  SessionRow session{
      .token_hash = SessionTokenHash::Of(token.span()),
      .sign_pk = pk,
      .kind = SessionKind::kAccount,
      .expires_at = SaturatingAdd(now, config_.session_ttl_seconds)};
  // The nonce is spent even when sign-in then fails: the outcome is
  // decided after consumption and reported after the commit.
  absl::Status outcome;
  absl::Status status = Mutate([&](StoreTransaction& txn, Mutation&) {
    outcome = ConsumeNonce(txn, challenge->nonce(), now);
    if (!outcome.ok()) return absl::OkStatus();
    absl::StatusOr<AccountRow> account = txn.FindAccountBySignPk(pk);
    if (absl::IsNotFound(account.status())) {
      absl::StatusOr<InviteRow> invite = txn.FindInvite(pk);
      if (absl::IsNotFound(invite.status())) {
        outcome = absl::UnauthenticatedError(
            "this key is not registered with the vault: register your "
            "certificate first, or check that you use the right keystore or "
            "invite");
        return absl::OkStatus();
      }
      if (!invite.ok()) return invite.status();
      if (absl::Status s = CheckInviteLive(*invite, now, false); !s.ok()) {
        outcome = s;
        return absl::OkStatus();
      }
      session.kind = SessionKind::kInvite;
      session.expires_at = std::min(session.expires_at, invite->expires);
      return txn.InsertSession(session);
    }
    if (!account.ok()) return account.status();
    absl::StatusOr<crypto::VerifiedCertificate> cert =
        VerifyStoredCertificate(*account, org_pk_, &verified_);
    if (!cert.ok()) return cert.status();
    if (absl::Status s = CheckCertificateCurrent(txn, *cert, org_pk_, now);
        !s.ok()) {
      outcome = absl::PermissionDeniedError(
          absl::StrCat("your certificate cannot be used: ", s.message()));
      return absl::OkStatus();
    }
    return txn.InsertSession(session);
  });
  if (!status.ok()) return status;
  if (!outcome.ok()) return outcome;
  tvault::v1::Session out;
  out.set_token(Str(token.span()));
  out.set_expires_at(session.expires_at);
  out.set_invite(session.kind == SessionKind::kInvite);
  return out;
}

absl::StatusOr<tvault::v1::RegisterResponse> VaultCore::Register(
    const tvault::v1::RegisterRequest& request) {
  const int64_t now = clock_();
  absl::StatusOr<crypto::VerifiedCertificate> cert =
      crypto::VerifyCertificate(request.certificate(), org_pk_);
  if (absl::IsPermissionDenied(cert.status())) {
    return absl::PermissionDeniedError(
        "the certificate is not signed by this vault's organisation root: it "
        "was altered, forged, or issued by another organisation");
  }
  if (!cert.ok()) {
    return absl::InvalidArgumentError(absl::StrCat(
        "the certificate is malformed: ", cert.status().message()));
  }
  crypto::SignPublicKey pk;
  std::copy(cert->body.sign_pk().begin(), cert->body.sign_pk().end(),
            pk.begin());
  absl::StatusOr<tvault::v1::AuthChallenge> challenge = OpenAuthChallenge(
      request.challenge(), tls_pin_, now, config_.clock_skew_seconds, &pk);
  if (!challenge.ok()) return challenge.status();

  tvault::v1::RegisterResponse out;
  out.set_cert_fingerprint(Str(cert->fingerprint));
  absl::Status outcome;
  absl::Status status = Mutate([&](StoreTransaction& txn, Mutation& m) {
    outcome = ConsumeNonce(txn, challenge->nonce(), now);
    if (!outcome.ok()) return absl::OkStatus();
    if (absl::Status s = CheckCertificateCurrent(txn, *cert, org_pk_, now);
        !s.ok()) {
      outcome = absl::PermissionDeniedError(
          absl::StrCat("this certificate cannot be registered: ", s.message()));
      return absl::OkStatus();
    }
    absl::Status inserted = txn.InsertAccount(
        AccountRow{.cert_fingerprint = cert->fingerprint,
                   .sign_pk = pk,
                   .certificate = request.certificate().SerializeAsString(),
                   .registered_at = now});
    if (absl::IsAlreadyExists(inserted)) {
      absl::StatusOr<AccountRow> same =
          txn.FindAccountByFingerprint(cert->fingerprint);
      if (same.ok()) return absl::OkStatus();  // registered before
      outcome = absl::AlreadyExistsError(
          "this signing key is already registered with another certificate; "
          "make a new key pair (tvault keys new) and have it certified");
      return absl::OkStatus();
    }
    if (!inserted.ok()) return inserted;
    tvault::v1::LogEntry entry;
    entry.mutable_certificate_registered()->set_cert_fingerprint(
        Str(cert->fingerprint));
    return m.Append(txn, std::move(entry), out.mutable_receipt()).status();
  });
  if (!status.ok()) return status;
  if (!outcome.ok()) return outcome;
  LogInfo("an account registered");
  return out;
}

absl::StatusOr<tvault::v1::RevokeResponse> VaultCore::Revoke(
    const tvault::v1::RevokeRequest& request) {
  absl::StatusOr<tvault::v1::Revocation> revocation =
      crypto::VerifyRevocation(request.revocation(), org_pk_);
  if (absl::IsPermissionDenied(revocation.status())) {
    return absl::PermissionDeniedError(
        "the revocation is not signed by this vault's organisation root");
  }
  if (!revocation.ok()) {
    return absl::InvalidArgumentError(absl::StrCat(
        "the revocation is malformed: ", revocation.status().message()));
  }
  crypto::Fingerprint fp;
  std::copy(revocation->cert_fingerprint().begin(),
            revocation->cert_fingerprint().end(), fp.begin());
  const std::string stored = request.revocation().SerializeAsString();
  tvault::v1::RevokeResponse out;
  absl::Status status = Mutate([&](StoreTransaction& txn, Mutation& m) {
    absl::Status inserted = txn.InsertRevocation(
        RevocationRow{.cert_fingerprint = fp,
                      .statement = stored,
                      .revoked_at = revocation->revoked_at()});
    if (absl::IsAlreadyExists(inserted)) {
      absl::StatusOr<RevocationRow> held = txn.FindRevocation(fp);
      if (!held.ok()) return held.status();
      if (held->statement == stored) return absl::OkStatus();
      return absl::AlreadyExistsError(
          "that certificate is already revoked by another revocation");
    }
    if (!inserted.ok()) return inserted;
    tvault::v1::LogEntry entry;
    tvault::v1::CertificateRevoked* e = entry.mutable_certificate_revoked();
    e->set_cert_fingerprint(Str(fp));
    e->set_revoked_at(revocation->revoked_at());
    e->set_revocation_sha256(
        Str(crypto::ComputeSha256(AsBytes(request.revocation().body()))));
    return m.Append(txn, std::move(entry), out.mutable_receipt()).status();
  });
  if (!status.ok()) return status;
  LogInfo("a certificate was revoked");
  return out;
}

absl::StatusOr<tvault::v1::PublishDescriptorResponse>
VaultCore::PublishDescriptor(
    const SessionTokenHash* token,
    const tvault::v1::PublishDescriptorRequest& request) {
  const SignedStatement& statement = request.case_descriptor();
  tvault::v1::CaseDescriptor body;
  if (absl::Status s = crypto::ParseStrictly(statement.body(), body); !s.ok()) {
    return absl::InvalidArgumentError(
        absl::StrCat("the descriptor is malformed: ", s.message()));
  }
  if (absl::Status s = crypto::CheckDescriptorBody(body); !s.ok()) {
    return absl::InvalidArgumentError(
        absl::StrCat("the descriptor is invalid: ", s.message()));
  }
  absl::StatusOr<CaseId> case_id = CaseIdFromBytes(body.case_id());
  if (!case_id.ok()) return case_id.status();
  const crypto::Sha256 hash = crypto::ComputeSha256(AsBytes(statement.body()));

  tvault::v1::PublishDescriptorResponse out;
  out.set_descriptor_hash(Str(hash));
  absl::Status status = Mutate([&](StoreTransaction& txn,
                                   Mutation& m) -> absl::Status {
    absl::StatusOr<Caller> caller =
        Authenticate(txn, token, org_pk_, m.now, &verified_);
    if (!caller.ok()) return caller.status();
    if (!caller->certificate) {
      return CheckAllowed(*caller, Action::kPublishDescriptor, nullptr, m.now);
    }
    RegisteredCertificates certs(txn, org_pk_, &verified_);
    absl::StatusOr<crypto::CaseChain> chain = LoadChain(txn, *case_id, certs);
    const bool new_case = absl::IsNotFound(chain.status());
    if (new_case) {
      if (body.epoch() != 0) {
        return absl::NotFoundError(
            "there is no case with that id: publish its epoch-0 descriptor "
            "first");
      }
      chain = crypto::CaseChain::Create(hash);
      if (!chain.ok()) return chain.status();
    } else if (!chain.ok()) {
      return chain.status();
    } else {
      if (absl::Status s =
              CheckAllowed(*caller, Action::kPublishDescriptor, &*chain, m.now);
          !s.ok()) {
        return s;
      }
      // Already stored, byte for byte (body and signature): nothing to do.
      absl::StatusOr<std::vector<DescriptorRow>> rows =
          txn.ListDescriptors(*case_id);
      if (!rows.ok()) return rows.status();
      const std::string stored = statement.SerializeAsString();
      for (const DescriptorRow& row : *rows) {
        if (row.statement == stored) return absl::OkStatus();
      }
    }
    const uint32_t highest_before =
        new_case ? 0 : chain->highest_epoch().value_or(0);
    const crypto::VerifiedDescriptor* current_before =
        new_case ? nullptr : chain->Current();
    const int64_t not_after_before =
        current_before == nullptr ? 0 : current_before->body.not_after();
    if (!new_case && body.epoch() < highest_before) {
      return absl::FailedPreconditionError(absl::StrCat(
          "epoch ", body.epoch(), " is older than the case's current epoch ",
          highest_before, ": publish epoch ", highest_before + 1, " instead"));
    }
    if (absl::Status s = chain->Accept(statement, certs.Lookup()); !s.ok()) {
      if (absl::IsAlreadyExists(s)) {
        return absl::AlreadyExistsError(absl::StrCat(
            "a different descriptor for epoch ", body.epoch(),
            " is already published; only its not_after may change (a "
            "renewal). Publish the next epoch instead"));
      }
      if (new_case && absl::IsPermissionDenied(s)) {
        return absl::PermissionDeniedError(
            "the epoch-0 descriptor must be signed by one of its owners with "
            "a registered certificate");
      }
      return s;
    }
    if (!new_case && body.epoch() == highest_before &&
        body.not_after() <= not_after_before) {
      return absl::FailedPreconditionError(absl::StrCat(
          "epoch ", body.epoch(),
          " is already published; a renewal must carry a later not_after "
          "than the current one"));
    }
    const crypto::VerifiedDescriptor* accepted = chain->Find(body.epoch());
    if (new_case) {
      if (absl::Status s =
              CheckAllowed(*caller, Action::kPublishDescriptor, &*chain, m.now);
          !s.ok()) {
        return s;
      }
    }
    if (accepted == nullptr || accepted->hash != hash) {
      return absl::InternalError("the accepted descriptor is not current");
    }
    if (accepted->signer != CallerFingerprint(*caller)) {
      return absl::PermissionDeniedError(
          "the descriptor is signed by another owner: publish descriptors "
          "signed with your own account key");
    }
    if (body.not_after() <= m.now) {
      return absl::FailedPreconditionError(
          "the descriptor's not_after is already past: choose a later one");
    }
    if (new_case) {
      if (absl::Status s = txn.InsertCase(
              CaseRow{.case_id = *case_id, .genesis_hash = hash});
          !s.ok()) {
        return s;
      }
    }
    tvault::v1::LogEntry entry;
    tvault::v1::DescriptorPublished* e = entry.mutable_descriptor_published();
    e->set_case_id(body.case_id());
    e->set_epoch(body.epoch());
    e->set_descriptor_hash(Str(hash));
    absl::StatusOr<uint64_t> index =
        m.Append(txn, std::move(entry), out.mutable_receipt());
    if (!index.ok()) return index.status();
    if (absl::Status s = txn.InsertDescriptor(
            DescriptorRow{.case_id = *case_id,
                          .epoch = body.epoch(),
                          .body_hash = hash,
                          .statement = statement.SerializeAsString(),
                          .log_index = *index});
        !s.ok()) {
      return s;
    }
    if (new_case || body.epoch() > highest_before) {
      return txn.SetCaseParticipants(*case_id, Participants(body));
    }
    return absl::OkStatus();
  });
  if (!status.ok()) return status;
  return out;
}

absl::Status VaultCore::ReadAs(
    const SessionTokenHash* token, Action action,
    absl::FunctionRef<absl::Status(StoreTransaction&, const Caller&)> fn) {
  const int64_t now = clock_();
  return store_.RunInTransaction([&](StoreTransaction& txn) {
    absl::StatusOr<Caller> caller =
        Authenticate(txn, token, org_pk_, now, &verified_);
    if (!caller.ok()) return caller.status();
    if (absl::Status s = CheckAllowed(*caller, action, nullptr, now); !s.ok()) {
      return s;
    }
    return fn(txn, *caller);
  });
}

absl::StatusOr<tvault::v1::ListCasesResponse> VaultCore::ListCases(
    const SessionTokenHash* token, const tvault::v1::ListCasesRequest&) {
  tvault::v1::ListCasesResponse out;
  absl::Status status = ReadAs(
      token, Action::kListCases,
      [&](StoreTransaction& txn, const Caller& caller) -> absl::Status {
        absl::StatusOr<std::vector<CaseId>> ids =
            txn.ListCasesOf(CallerFingerprint(caller));
        if (!ids.ok()) return ids.status();
        for (const CaseId& id : *ids) {
          absl::StatusOr<CaseRow> row = txn.FindCase(id);
          if (!row.ok()) return row.status();
          absl::StatusOr<std::vector<DescriptorRow>> descriptors =
              txn.ListDescriptors(id);
          if (!descriptors.ok()) return descriptors.status();
          if (descriptors->empty()) {
            return absl::DataLossError("a stored case has no descriptors");
          }
          tvault::v1::CaseSummary* summary = out.add_cases();
          summary->set_case_id(Str(id));
          summary->set_current_epoch(descriptors->back().epoch);
          summary->set_genesis_hash(Str(row->genesis_hash));
        }
        return absl::OkStatus();
      });
  if (!status.ok()) return status;
  return out;
}

absl::StatusOr<tvault::v1::GetCaseResponse> VaultCore::GetCase(
    const SessionTokenHash* token, const tvault::v1::GetCaseRequest& request) {
  const int64_t now = clock_();
  absl::StatusOr<CaseId> case_id = CaseIdFromBytes(request.case_id());
  if (!case_id.ok()) return case_id.status();
  tvault::v1::GetCaseResponse out;
  absl::Status status =
      store_.RunInTransaction([&](StoreTransaction& txn) -> absl::Status {
        RegisteredCertificates certs(txn, org_pk_, &verified_);
        absl::StatusOr<CaseAccess> access = AuthorizeCase(
            txn, token, *case_id, Action::kReadCase, now, certs, org_pk_);
        if (!access.ok()) return access.status();
        const Caller* caller = &access->caller;
        absl::StatusOr<std::vector<DescriptorRow>> rows =
            txn.ListDescriptors(*case_id);
        if (!rows.ok()) return rows.status();
        for (const DescriptorRow& row : *rows) {
          if (!out.add_descriptors()->ParseFromString(row.statement)) {
            return absl::DataLossError("a stored descriptor does not parse");
          }
          out.add_descriptor_log_indices(row.log_index);
        }
        absl::StatusOr<std::vector<GrantRow>> grants =
            txn.ListGrants(*case_id, CallerFingerprint(*caller));
        if (!grants.ok()) return grants.status();
        for (const GrantRow& g : *grants) {
          tvault::v1::GrantRecord* record = out.add_grants();
          if (!record->mutable_grant()->ParseFromString(g.statement)) {
            return absl::DataLossError("a stored grant does not parse");
          }
          record->set_ciphertext(g.ciphertext);
          record->set_log_index(g.log_index);
        }
        return absl::OkStatus();
      });
  if (!status.ok()) return status;
  return out;
}

absl::StatusOr<tvault::v1::PublishGrantsResponse> VaultCore::PublishGrants(
    const SessionTokenHash* token,
    const tvault::v1::PublishGrantsRequest& request) {
  if (request.grants().empty()) {
    return absl::InvalidArgumentError("the request holds no grants");
  }
  if (request.grants_size() > config_.max_grants_per_request) {
    return absl::ResourceExhaustedError(
        absl::StrCat("at most ", config_.max_grants_per_request,
                     " grants can be published at once: split the request"));
  }
  std::vector<tvault::v1::Grant> bodies(
      static_cast<size_t>(request.grants_size()));
  for (int i = 0; i < request.grants_size(); ++i) {
    const tvault::v1::GrantRecord& g = request.grants(i);
    if (absl::Status s = crypto::ParseStrictly(g.grant().body(),
                                               bodies[static_cast<size_t>(i)]);
        !s.ok()) {
      return absl::InvalidArgumentError(
          absl::StrCat("grant ", i + 1, " is malformed: ", s.message()));
    }
    if (g.ciphertext().size() > crypto::kMaxGrantCiphertextSize) {
      return absl::InvalidArgumentError(absl::StrCat(
          "grant ", i + 1, "'s ciphertext is larger than ",
          crypto::kMaxGrantCiphertextSize, " bytes: it cannot be one key"));
    }
    if (AsString(crypto::ComputeSha256(AsBytes(g.ciphertext()))) !=
        bodies[static_cast<size_t>(i)].ciphertext_sha256()) {
      return absl::InvalidArgumentError(absl::StrCat(
          "grant ", i + 1,
          "'s ciphertext does not match the hash its signature covers"));
    }
  }
  tvault::v1::PublishGrantsResponse out;
  absl::Status status = Mutate([&](StoreTransaction& txn,
                                   Mutation& m) -> absl::Status {
    out.clear_receipts();
    absl::StatusOr<Caller> caller =
        Authenticate(txn, token, org_pk_, m.now, &verified_);
    if (!caller.ok()) return caller.status();
    if (!caller->certificate) {
      return CheckAllowed(*caller, Action::kPublishGrants, nullptr, m.now);
    }
    RegisteredCertificates certs(txn, org_pk_, &verified_);
    std::map<CaseId, crypto::CaseChain> chains;
    for (int i = 0; i < request.grants_size(); ++i) {
      const tvault::v1::GrantRecord& g = request.grants(i);
      const tvault::v1::Grant& body = bodies[static_cast<size_t>(i)];
      tvault::v1::Receipt* receipt = out.add_receipts();
      absl::StatusOr<CaseId> case_id = CaseIdFromBytes(body.case_id());
      if (!case_id.ok()) return case_id.status();
      auto it = chains.find(*case_id);
      if (it == chains.end()) {
        absl::StatusOr<crypto::CaseChain> chain =
            LoadChain(txn, *case_id, certs);
        if (!chain.ok()) return chain.status();
        if (absl::Status s =
                CheckAllowed(*caller, Action::kPublishGrants, &*chain, m.now);
            !s.ok()) {
          return s;
        }
        it = chains.emplace(*case_id, std::move(*chain)).first;
      }
      absl::StatusOr<crypto::VerifiedGrant> verified =
          crypto::VerifyGrant(g.grant(), it->second, certs.Lookup());
      if (!verified.ok()) {
        return absl::Status(
            verified.status().code(),
            absl::StrCat("grant ", i + 1, ": ", verified.status().message()));
      }
      if (verified->granter != CallerFingerprint(*caller)) {
        return absl::PermissionDeniedError(
            absl::StrCat("grant ", i + 1,
                         " is signed by another owner; publish only "
                         "grants you signed"));
      }
      const std::string stored = g.grant().SerializeAsString();
      absl::StatusOr<std::vector<GrantRow>> held =
          txn.ListGrants(*case_id, verified->member);
      if (!held.ok()) return held.status();
      const auto same_epoch = std::find_if(
          held->begin(), held->end(),
          [&](const GrantRow& row) { return row.epoch == body.epoch(); });
      if (same_epoch != held->end()) {
        if (same_epoch->statement == stored &&
            same_epoch->ciphertext == g.ciphertext()) {
          receipt->Clear();  // stored before: nothing to do
          continue;
        }
        return absl::AlreadyExistsError(absl::StrCat(
            "grant ", i + 1, ": that member already holds a grant for epoch ",
            body.epoch()));
      }
      tvault::v1::LogEntry entry;
      tvault::v1::GrantAdded* e = entry.mutable_grant_added();
      e->set_case_id(body.case_id());
      e->set_epoch(body.epoch());
      e->set_member_cert_fingerprint(Str(verified->member));
      e->set_grant_sha256(
          Str(crypto::ComputeSha256(AsBytes(g.grant().body()))));
      absl::StatusOr<uint64_t> index = m.Append(txn, std::move(entry), receipt);
      if (!index.ok()) return index.status();
      if (absl::Status s =
              txn.InsertGrant(GrantRow{.case_id = *case_id,
                                       .epoch = body.epoch(),
                                       .member_fingerprint = verified->member,
                                       .statement = stored,
                                       .ciphertext = g.ciphertext(),
                                       .log_index = *index});
          !s.ok()) {
        return s;
      }
    }
    return absl::OkStatus();
  });
  if (!status.ok()) return status;
  return out;
}

absl::StatusOr<tvault::v1::SignedCheckpoint> VaultCore::GetCheckpoint(
    const SessionTokenHash* token) {
  CheckpointRow latest;
  absl::Status status = ReadAs(
      token, Action::kReadLog, [&](StoreTransaction& txn, const Caller&) {
        absl::StatusOr<CheckpointRow> row = txn.ReadLatestCheckpoint();
        if (!row.ok()) return row.status();
        latest = std::move(*row);
        return absl::OkStatus();
      });
  if (!status.ok()) return status;
  if (absl::Status s = EnsureCopied(latest); !s.ok()) return s;
  tvault::v1::SignedCheckpoint out;
  out.set_checkpoint(std::move(latest.note));
  return out;
}

absl::StatusOr<tvault::v1::GetLogEntriesResponse> VaultCore::GetLogEntries(
    const SessionTokenHash* token,
    const tvault::v1::GetLogEntriesRequest& request) {
  if (request.end() < request.begin()) {
    return absl::InvalidArgumentError("the range ends before it begins");
  }
  if (request.end() - request.begin() > kMaxLogEntriesPerCall) {
    return absl::InvalidArgumentError(absl::StrCat(
        "at most ", kMaxLogEntriesPerCall, " entries can be read at once"));
  }
  tvault::v1::GetLogEntriesResponse out;
  absl::Status status = ReadAs(
      token, Action::kReadLog, [&](StoreTransaction& txn, const Caller&) {
        absl::StatusOr<std::vector<LogEntryRow>> rows =
            txn.ReadLogEntries(request.begin(), request.end());
        if (!rows.ok()) return rows.status();
        for (const LogEntryRow& row : *rows) out.add_entries(row.entry);
        return absl::OkStatus();
      });
  if (!status.ok()) return status;
  return out;
}

absl::StatusOr<tvault::v1::Proof> VaultCore::GetInclusionProof(
    const SessionTokenHash* token,
    const tvault::v1::GetInclusionProofRequest& request) {
  return ReadProof(token, [&](StoreTransaction& txn) {
    return LogTreeInclusionProof(txn, request.index(), request.tree_size());
  });
}

absl::StatusOr<tvault::v1::Proof> VaultCore::GetConsistencyProof(
    const SessionTokenHash* token,
    const tvault::v1::GetConsistencyProofRequest& request) {
  return ReadProof(token, [&](StoreTransaction& txn) {
    return LogTreeConsistencyProof(txn, request.old_size(), request.new_size());
  });
}

absl::StatusOr<tvault::v1::Proof> VaultCore::ReadProof(
    const SessionTokenHash* token,
    absl::FunctionRef<
        absl::StatusOr<std::vector<crypto::Hash>>(StoreTransaction&)>
        make) {
  tvault::v1::Proof out;
  absl::Status status = ReadAs(
      token, Action::kReadLog, [&](StoreTransaction& txn, const Caller&) {
        absl::StatusOr<std::vector<crypto::Hash>> proof = make(txn);
        if (!proof.ok()) return proof.status();
        for (const crypto::Hash& h : *proof) out.add_hashes(Str(h));
        return absl::OkStatus();
      });
  if (!status.ok()) return status;
  return out;
}

absl::StatusOr<tvault::v1::GetCertificatesResponse> VaultCore::GetCertificates(
    const SessionTokenHash* token,
    const tvault::v1::GetCertificatesRequest& request) {
  if (request.cert_fingerprints().empty()) {
    return absl::InvalidArgumentError(
        "name at least one certificate fingerprint");
  }
  if (request.cert_fingerprints_size() > kMaxCertificatesPerCall) {
    return absl::InvalidArgumentError(
        absl::StrCat("at most ", kMaxCertificatesPerCall,
                     " certificates can be asked for at once: split the "
                     "request"));
  }
  std::vector<crypto::Fingerprint> wanted;
  std::set<crypto::Fingerprint> seen;
  for (int i = 0; i < request.cert_fingerprints_size(); ++i) {
    const std::string& bytes = request.cert_fingerprints(i);
    if (bytes.size() != crypto::Fingerprint().size()) {
      return absl::InvalidArgumentError(
          absl::StrCat("certificate fingerprint ", i + 1, " is ", bytes.size(),
                       " bytes; a fingerprint is 16"));
    }
    crypto::Fingerprint fp;
    std::copy(bytes.begin(), bytes.end(), fp.begin());
    if (!seen.insert(fp).second) {
      return absl::InvalidArgumentError(
          absl::StrCat("certificate fingerprint ", i + 1,
                       " is asked for twice; name each certificate once"));
    }
    wanted.push_back(fp);
  }
  tvault::v1::GetCertificatesResponse out;
  absl::Status status = ReadAs(
      token, Action::kReadCertificates,
      [&](StoreTransaction& txn, const Caller&) -> absl::Status {
        for (const crypto::Fingerprint& fp : wanted) {
          absl::StatusOr<AccountRow> account = txn.FindAccountByFingerprint(fp);
          if (absl::IsNotFound(account.status())) {
            return absl::NotFoundError(absl::StrCat(
                "no certificate with fingerprint ",
                crypto::FormatFingerprint(fp),
                " is registered with this vault; its holder must register "
                "first"));
          }
          if (!account.ok()) return account.status();
          absl::StatusOr<crypto::VerifiedCertificate> cert =
              VerifyStoredCertificate(*account, org_pk_, &verified_);
          if (!cert.ok()) return cert.status();
          if (cert->fingerprint != fp) {
            return absl::DataLossError(
                "a stored certificate is filed under another fingerprint");
          }
          *out.add_certificates() = cert->statement;
          // The store keeps each revocation's signed statement (not only
          // its log entry), so it is served as the root signed it.
          absl::StatusOr<RevocationRow> revocation = txn.FindRevocation(fp);
          if (absl::IsNotFound(revocation.status())) continue;
          if (!revocation.ok()) return revocation.status();
          SignedStatement statement;
          if (!statement.ParseFromString(revocation->statement)) {
            return absl::DataLossError("a stored revocation does not parse");
          }
          absl::StatusOr<tvault::v1::Revocation> body =
              crypto::VerifyRevocation(statement, org_pk_);
          if (!body.ok() || body->cert_fingerprint() != AsString(fp)) {
            return absl::DataLossError(
                "a stored revocation no longer verifies");
          }
          *out.add_revocations() = std::move(statement);
        }
        return absl::OkStatus();
      });
  if (!status.ok()) return status;
  return out;
}

namespace {

// The smallest age file a record can be: the container pads its plaintext
// to at least 64 KiB (DESIGN.md §6).
constexpr uint64_t kMinRecordSize = 65536;
// The record profile's header sits in the first bytes; real ones are ~200.
constexpr size_t kMaxRecordHeaderSize = 4096;
constexpr uint32_t kDefaultPageSize = 100;
// Upload data committed per transaction (memory per running upload).
constexpr size_t kUploadBatchBytes = 4 * kMaxChunkBytes;
constexpr uint32_t kMaxPageSize = 1000;

absl::StatusOr<RecordId> RecordIdFromBytes(absl::string_view bytes) {
  if (bytes.size() != 16) {
    return absl::InvalidArgumentError("a record id is 16 bytes");
  }
  RecordId id;
  std::copy(bytes.begin(), bytes.end(), id.begin());
  return id;
}

// The record profile's header (DESIGN.md §6): a binary age v1 header with
// exactly one X25519 stanza, and room for a payload after it.
absl::Status CheckRecordHeader(absl::string_view start, uint64_t total_size) {
  crypto::MemorySource memory(start);
  crypto::BufferedSource in(memory);
  absl::StatusOr<crypto::AgeHeader> header =
      crypto::ReadAgeHeader(in, kMaxRecordHeaderSize);
  if (!header.ok()) {
    return absl::InvalidArgumentError(absl::StrCat(
        "the upload is not a record: its start is not a binary age header (",
        header.status().message(), ")"));
  }
  if (header->stanzas.size() != 1 || header->stanzas[0].args.size() != 2 ||
      header->stanzas[0].args[0] != "X25519" ||
      header->stanzas[0].body.size() != 32) {
    return absl::InvalidArgumentError(
        "the upload is not a record: a record has exactly one X25519 "
        "recipient stanza (the case's epoch key)");
  }
  // Header, the 16-byte nonce and at least one sealed chunk.
  const uint64_t header_size = header->mac_input.size() + 1 + 43 + 1;
  if (total_size < header_size + 16 + 17) {
    return absl::InvalidArgumentError(
        "the upload is not a record: no payload follows its header");
  }
  return absl::OkStatus();
}

crypto::Sha256 UploaderOf(const Caller& caller) {
  return crypto::ComputeSha256(caller.sign_pk);
}

// SHA-256 over an upload's stream, with OpenSSL: it uses the CPU's SHA
// extensions where there are some (1.3 GB/s on the benchmark machine),
// where libsodium's portable code was a large part of the vault's CPU per
// upload (BENCHMARKS.md, issue 6).
class StreamSha256 {
 public:
  StreamSha256() : ctx_(EVP_MD_CTX_new()) {
    ok_ =
        ctx_ != nullptr && EVP_DigestInit_ex(ctx_, EVP_sha256(), nullptr) == 1;
  }
  ~StreamSha256() { EVP_MD_CTX_free(ctx_); }
  StreamSha256(const StreamSha256&) = delete;
  StreamSha256& operator=(const StreamSha256&) = delete;

  void Update(absl::string_view data) {
    ok_ = ok_ && EVP_DigestUpdate(ctx_, data.data(), data.size()) == 1;
  }
  absl::StatusOr<crypto::Sha256> Final() {
    crypto::Sha256 out{};
    unsigned int size = 0;
    if (!ok_ || EVP_DigestFinal_ex(ctx_, out.data(), &size) != 1 ||
        size != out.size()) {
      return absl::InternalError("cannot compute the upload's SHA-256");
    }
    return out;
  }

 private:
  EVP_MD_CTX* const ctx_;
  bool ok_ = false;
};

// Stores `batch` as the upload's data from offset `at`.
absl::Status AppendChunks(StoreTransaction& txn, const RecordId& record_id,
                          uint64_t at, const std::vector<std::string>& batch) {
  for (const std::string& data : batch) {
    if (absl::Status s = txn.AppendUploadChunk(record_id, at, data); !s.ok()) {
      return s;
    }
    at += data.size();
  }
  return absl::OkStatus();
}

}  // namespace

absl::StatusOr<tvault::v1::Receipt> VaultCore::StoredReceipt(
    StoreTransaction& txn, const RecordRow& record) {
  absl::StatusOr<std::vector<LogEntryRow>> entry =
      txn.ReadLogEntries(record.log_index, record.log_index + 1);
  if (!entry.ok()) return entry.status();
  return MakeReceipt(txn, record.log_index, std::move(entry->front().entry),
                     record.receipt_checkpoint, record.receipt_tree_size);
}

absl::StatusOr<UploadRow> VaultCore::BeginUpload(
    const SessionTokenHash* token, const tvault::v1::UploadStart& start,
    tvault::v1::Receipt* receipt) {
  absl::StatusOr<CaseId> case_id = CaseIdFromBytes(start.case_id());
  if (!case_id.ok()) return case_id.status();
  absl::StatusOr<RecordId> record_id = RecordIdFromBytes(start.record_id());
  if (!record_id.ok()) return record_id.status();
  if (start.sha256().size() != 32) {
    return absl::InvalidArgumentError("the upload's SHA-256 is not 32 bytes");
  }
  if (start.total_size() < kMinRecordSize) {
    return absl::InvalidArgumentError(
        absl::StrCat("a record is at least ", kMinRecordSize,
                     " bytes; this upload is too small to be one"));
  }
  if (start.total_size() > static_cast<uint64_t>(config_.max_record_bytes)) {
    return absl::ResourceExhaustedError(
        absl::StrCat("the record is larger than this vault accepts (",
                     config_.max_record_bytes, " bytes)"));
  }
  const int64_t now = clock_();
  UploadRow row;
  std::optional<CheckpointRow> receipt_checkpoint;
  absl::Status status = Mutate([&](StoreTransaction& txn,
                                   Mutation&) -> absl::Status {
    RegisteredCertificates certs(txn, org_pk_, &verified_);
    absl::StatusOr<CaseAccess> access = AuthorizeCase(
        txn, token, *case_id, Action::kUpload, now, certs, org_pk_);
    if (!access.ok()) return access.status();
    const Caller* caller = &access->caller;
    crypto::CaseChain* chain = &access->chain;
    if (caller->invite && start.epoch() != caller->invite->epoch) {
      return absl::FailedPreconditionError(
          "an invite's records are encrypted to the invite's epoch; this "
          "upload names another");
    }
    if (chain->Find(start.epoch()) == nullptr) {
      return absl::FailedPreconditionError(
          absl::StrCat("the case has no epoch ", start.epoch(),
                       "; encrypt to the current epoch's recipient"));
    }
    absl::StatusOr<RecordRow> stored = txn.FindRecord(*record_id);
    if (stored.ok()) {
      if (stored->case_id != *case_id || stored->size != start.total_size() ||
          AsString(stored->sha256) != start.sha256()) {
        return absl::AlreadyExistsError(
            "another record with this id is already stored; choose a new "
            "record id");
      }
      absl::StatusOr<tvault::v1::Receipt> first = StoredReceipt(txn, *stored);
      if (!first.ok()) return first.status();
      *receipt = std::move(*first);
      receipt_checkpoint =
          CheckpointRow{stored->receipt_tree_size, stored->receipt_checkpoint};
      return absl::OkStatus();
    }
    if (!absl::IsNotFound(stored.status())) return stored.status();
    absl::StatusOr<UploadRow> pending = txn.FindUpload(*record_id);
    if (pending.ok()) {
      if (pending->case_id != *case_id || pending->epoch != start.epoch() ||
          pending->total_size != start.total_size() ||
          AsString(pending->sha256) != start.sha256()) {
        return absl::FailedPreconditionError(
            "an upload with this record id but another case, epoch, size or "
            "SHA-256 is in progress; choose a new record id");
      }
      if (start.offset() != pending->held_bytes) {
        return absl::OutOfRangeError(
            absl::StrCat("the vault holds ", pending->held_bytes,
                         " bytes of this upload; resume from there"));
      }
      row = *pending;
      return absl::OkStatus();
    }
    if (!absl::IsNotFound(pending.status())) return pending.status();
    if (start.offset() != 0) {
      return absl::OutOfRangeError(
          "the vault holds nothing of this upload; start from offset 0");
    }
    if (caller->invite) {
      if (absl::Status s = CheckInviteLive(*caller->invite, now, true);
          !s.ok()) {
        return s;
      }
      MutexLock lock(uploads_mu_);
      std::deque<int64_t>& starts = invite_starts_[caller->invite->invite_pk];
      while (!starts.empty() && starts.front() <= now - 3600) {
        starts.pop_front();
      }
      if (static_cast<int64_t>(starts.size()) >=
          config_.max_invite_uploads_per_hour) {
        return absl::ResourceExhaustedError(
            "this invite has started too many uploads in the last hour; try "
            "again later");
      }
      starts.push_back(now);
    }
    absl::StatusOr<StoreTransaction::PendingTotals> totals =
        txn.PendingFor(UploaderOf(*caller));
    if (!totals.ok()) return totals.status();
    if (totals->uploads >= config_.max_pending_uploads) {
      return absl::ResourceExhaustedError(
          absl::StrCat("you already have ", totals->uploads,
                       " unfinished uploads; finish or abandon one first"));
    }
    if (totals->bytes + start.total_size() >
        static_cast<uint64_t>(config_.max_pending_bytes)) {
      return absl::ResourceExhaustedError(
          "your unfinished uploads would exceed what the vault holds per "
          "person; finish one first");
    }
    row = UploadRow{
        .record_id = *record_id,
        .case_id = *case_id,
        .epoch = start.epoch(),
        .total_size = start.total_size(),
        .held_bytes = 0,
        .uploader = UploaderOf(*caller),
        .expires_at = SaturatingAdd(now, config_.upload_expiry_seconds)};
    std::copy(start.sha256().begin(), start.sha256().end(), row.sha256.begin());
    return txn.InsertUpload(row);
  });
  if (!status.ok()) return status;
  if (receipt_checkpoint) {
    if (absl::Status s = EnsureCopied(*receipt_checkpoint); !s.ok()) return s;
  }
  return row;
}

absl::StatusOr<tvault::v1::Receipt> VaultCore::CommitRecord(
    const SessionTokenHash* token, const UploadRow& upload, uint64_t held,
    const std::vector<std::string>& last_data, size_t last_bytes) {
  tvault::v1::Receipt receipt;
  absl::Status status = Mutate(
      [&](StoreTransaction& txn, Mutation& m) -> absl::Status {
        // Rights again: a certificate revoked during a long upload stops
        // here.
        RegisteredCertificates certs(txn, org_pk_, &verified_);
        absl::StatusOr<CaseAccess> access = AuthorizeCase(
            txn, token, upload.case_id, Action::kUpload, m.now, certs, org_pk_);
        if (!access.ok()) return access.status();
        const Caller* caller = &access->caller;
        // The last data, and the check that the upload is now complete, so
        // that storing the record after the signature cannot fail for this
        // call alone.
        if (absl::Status s =
                AppendChunks(txn, upload.record_id, held, last_data);
            !s.ok()) {
          return s;
        }
        absl::StatusOr<UploadRow> pending = txn.FindUpload(upload.record_id);
        if (!pending.ok()) return pending.status();
        if (pending->total_size != upload.total_size ||
            pending->held_bytes != pending->total_size) {
          return absl::FailedPreconditionError(
              "the upload changed under this stream; ask for its state");
        }
        // An invite's use counts only now, when the record commits.
        if (caller->invite) {
          if (absl::Status s = txn.UseInvite(caller->invite->invite_pk);
              !s.ok()) {
            return absl::IsResourceExhausted(s)
                       ? absl::PermissionDeniedError(
                             "this invite has been used as many times as it "
                             "allows; ask the case's owners for a new one")
                       : s;
          }
        }
        tvault::v1::LogEntry entry;
        entry.set_logged_at(RoundDownToHour(m.now));
        tvault::v1::RecordAdded* e = entry.mutable_record_added();
        e->set_record_id(Str(upload.record_id));
        e->set_case_id(Str(upload.case_id));
        e->set_epoch(upload.epoch);
        e->set_ciphertext_sha256(Str(upload.sha256));
        e->set_ciphertext_size(upload.total_size);
        absl::StatusOr<uint64_t> index =
            m.Append(txn, std::move(entry), &receipt);
        if (!index.ok()) return index.status();
        // The record keeps the checkpoint of its first receipt: the
        // group's, known once every call of the group has appended.
        const RecordRow record{.record_id = upload.record_id,
                               .case_id = upload.case_id,
                               .epoch = upload.epoch,
                               .size = upload.total_size,
                               .sha256 = upload.sha256,
                               .added_at = RoundDownToHour(m.now),
                               .log_index = *index,
                               .receipt_checkpoint = {},
                               .receipt_tree_size = 0};
        m.OnSigned([record](StoreTransaction& signed_txn,
                            const CheckpointRow& checkpoint) {
          RecordRow row = record;
          row.receipt_checkpoint = checkpoint.note;
          row.receipt_tree_size = checkpoint.tree_size;
          return signed_txn.CommitUpload(row);
        });
        return absl::OkStatus();
      },
      last_bytes);
  if (!status.ok()) return status;
  return receipt;
}

absl::StatusOr<tvault::v1::UploadResponse> VaultCore::Upload(
    const SessionTokenHash* token, UploadStream& stream) {
  tvault::v1::UploadRequest message;
  if (!stream.Read(message) || !message.has_start()) {
    return absl::InvalidArgumentError(
        "an upload must begin with an UploadStart message");
  }
  tvault::v1::UploadResponse out;
  tvault::v1::Receipt stored;
  absl::StatusOr<UploadRow> upload =
      BeginUpload(token, message.start(), &stored);
  if (!upload.ok()) return upload.status();
  if (!stored.checkpoint().empty()) {  // stored before: its first receipt
    *out.mutable_receipt() = std::move(stored);
    return out;
  }

  {
    MutexLock lock(uploads_mu_);
    if (!active_uploads_.insert(upload->record_id).second) {
      return absl::AbortedError(
          "this record is being uploaded over another connection right now; "
          "wait for it, then ask for the upload's state");
    }
  }
  struct Release {
    VaultCore* core;
    RecordId id;
    ~Release() {
      MutexLock lock(core->uploads_mu_);
      core->active_uploads_.erase(id);
    }
  } release{this, upload->record_id};

  // SHA-256 over everything, including what an earlier stream left; the
  // first bytes are kept for the header check.
  StreamSha256 sha;
  std::string head;
  const auto keep_head = [&head](absl::string_view data) {
    if (head.size() < kMaxRecordHeaderSize) {
      const absl::string_view part =
          data.substr(0, kMaxRecordHeaderSize - head.size());
      head.append(part.data(), part.size());
    }
  };
  for (uint64_t done = 0; done < upload->held_bytes;) {
    std::string data;
    absl::Status s = store_.RunInTransaction([&](StoreTransaction& txn) {
      absl::StatusOr<std::string> read =
          txn.ReadChunks(upload->record_id, done, kMaxChunkBytes);
      if (!read.ok()) return read.status();
      data = std::move(*read);
      return absl::OkStatus();
    });
    if (!s.ok()) return s;
    if (data.empty())
      return absl::DataLossError("stored upload data is missing");
    sha.Update(data);
    keep_head(data);
    done += data.size();
  }

  // Data is stored in batches of up to kUploadBatchBytes per group-commit
  // call (bounded memory per upload); the last batch goes in with the
  // record itself (CommitRecord), so a small upload costs one call after
  // its start. What a client is told it may resume from is only ever what
  // was committed.
  uint64_t held = upload->held_bytes;
  std::vector<std::string> batch;
  size_t batch_bytes = 0;
  const auto flush = [&]() -> absl::Status {
    if (batch.empty()) return absl::OkStatus();
    absl::Status s = Mutate(
        [&](StoreTransaction& txn, Mutation&) {
          return AppendChunks(txn, upload->record_id, held, batch);
        },
        batch_bytes);
    if (!s.ok()) return s;
    held += batch_bytes;
    batch.clear();
    batch_bytes = 0;
    return absl::OkStatus();
  };
  while (held + batch_bytes < upload->total_size) {
    message.Clear();
    if (!stream.Read(message)) {
      if (absl::Status s = flush(); !s.ok()) return s;
      return absl::FailedPreconditionError(absl::StrCat(
          "the upload stopped after ", held, " of ", upload->total_size,
          " bytes; the vault keeps them: resume from offset ", held));
    }
    if (!message.has_data() || message.data().empty() ||
        message.data().size() > kMaxChunkBytes) {
      if (absl::Status s = flush(); !s.ok()) return s;
      return absl::InvalidArgumentError(
          "after UploadStart, an upload carries only data messages of 1 byte "
          "to 1 MiB");
    }
    std::string* data = message.mutable_data();
    if (data->size() > upload->total_size - held - batch_bytes) {
      if (absl::Status s = flush(); !s.ok()) return s;
      return absl::InvalidArgumentError(
          absl::StrCat("more data than the announced ", upload->total_size,
                       " bytes; nothing beyond it was stored"));
    }
    sha.Update(*data);
    keep_head(*data);
    batch_bytes += data->size();
    batch.push_back(std::move(*data));
    if (batch_bytes >= kUploadBatchBytes &&
        held + batch_bytes < upload->total_size) {
      if (absl::Status s = flush(); !s.ok()) return s;
    }
  }
  message.Clear();
  if (stream.Read(message)) {
    if (absl::Status s = flush(); !s.ok()) return s;
    return absl::InvalidArgumentError(absl::StrCat(
        "more data than the announced ", upload->total_size,
        " bytes; the vault holds the announced size: finish without the "
        "extra data"));
  }

  absl::StatusOr<crypto::Sha256> got = sha.Final();
  if (!got.ok()) return got.status();
  absl::Status checked = *got == upload->sha256
                             ? absl::OkStatus()
                             : absl::InvalidArgumentError(
                                   "the data does not match the announced "
                                   "SHA-256");
  if (checked.ok()) checked = CheckRecordHeader(head, upload->total_size);
  if (!checked.ok()) {
    // Nothing of a bad upload stays: the client sends it again from 0.
    // Its data goes first, a bounded transaction at a time (it may be
    // max_record_bytes long).
    if (absl::Status s = RemoveChunks({upload->record_id}, clock_()); !s.ok()) {
      return s;
    }
    absl::Status discarded = Mutate([&](StoreTransaction& txn, Mutation&) {
      return txn.DeleteUpload(upload->record_id);
    });
    if (!discarded.ok()) return discarded;
    return absl::InvalidArgumentError(absl::StrCat(
        checked.message(), "; the upload was discarded: send it again"));
  }
  absl::StatusOr<tvault::v1::Receipt> receipt =
      CommitRecord(token, *upload, held, batch, batch_bytes);
  if (!receipt.ok()) return receipt.status();
  *out.mutable_receipt() = std::move(*receipt);
  LogInfo("a record was stored");
  return out;
}

absl::StatusOr<std::optional<crypto::SignPublicKey>> VaultCore::SessionKey(
    const SessionTokenHash* token) {
  std::optional<crypto::SignPublicKey> key;
  if (token == nullptr) return key;
  const int64_t now = clock_();
  absl::Status status =
      store_.RunInTransaction([&](StoreTransaction& txn) -> absl::Status {
        absl::StatusOr<SessionRow> session = txn.FindSession(*token, now);
        if (absl::IsNotFound(session.status())) return absl::OkStatus();
        if (!session.ok()) return session.status();
        key = session->sign_pk;
        return absl::OkStatus();
      });
  if (!status.ok()) return status;
  return key;
}

absl::StatusOr<tvault::v1::UploadState> VaultCore::GetUploadState(
    const SessionTokenHash* token,
    const tvault::v1::GetUploadStateRequest& request) {
  absl::StatusOr<CaseId> case_id = CaseIdFromBytes(request.case_id());
  if (!case_id.ok()) return case_id.status();
  absl::StatusOr<RecordId> record_id = RecordIdFromBytes(request.record_id());
  if (!record_id.ok()) return record_id.status();
  const int64_t now = clock_();
  tvault::v1::UploadState out;
  std::optional<CheckpointRow> receipt_checkpoint;
  absl::Status status =
      store_.RunInTransaction([&](StoreTransaction& txn) -> absl::Status {
        RegisteredCertificates certs(txn, org_pk_, &verified_);
        absl::StatusOr<CaseAccess> access = AuthorizeCase(
            txn, token, *case_id, Action::kUpload, now, certs, org_pk_);
        if (!access.ok()) return access.status();
        absl::StatusOr<RecordRow> stored = txn.FindRecord(*record_id);
        if (stored.ok() && stored->case_id == *case_id) {
          absl::StatusOr<tvault::v1::Receipt> receipt =
              StoredReceipt(txn, *stored);
          if (!receipt.ok()) return receipt.status();
          receipt_checkpoint = CheckpointRow{stored->receipt_tree_size,
                                             stored->receipt_checkpoint};
          out.set_held_bytes(stored->size);
          *out.mutable_receipt() = std::move(*receipt);
          return absl::OkStatus();
        }
        absl::StatusOr<UploadRow> pending = txn.FindUpload(*record_id);
        if (pending.ok() && pending->case_id == *case_id) {
          out.set_held_bytes(pending->held_bytes);
        }
        return absl::OkStatus();
      });
  if (!status.ok()) return status;
  if (receipt_checkpoint) {
    if (absl::Status s = EnsureCopied(*receipt_checkpoint); !s.ok()) return s;
  }
  return out;
}

absl::StatusOr<tvault::v1::ListRecordsResponse> VaultCore::ListRecords(
    const SessionTokenHash* token,
    const tvault::v1::ListRecordsRequest& request) {
  absl::StatusOr<CaseId> case_id = CaseIdFromBytes(request.case_id());
  if (!case_id.ok()) return case_id.status();
  if (request.page_size() > kMaxPageSize) {
    return absl::InvalidArgumentError(
        absl::StrCat("a page holds at most ", kMaxPageSize, " records"));
  }
  const size_t page_size =
      request.page_size() == 0 ? kDefaultPageSize : request.page_size();
  RecordId after{};
  if (!request.page_token().empty()) {
    absl::StatusOr<RecordId> token_id = RecordIdFromBytes(request.page_token());
    if (!token_id.ok()) {
      return absl::InvalidArgumentError("the page token is malformed");
    }
    after = *token_id;
  }
  const int64_t now = clock_();
  tvault::v1::ListRecordsResponse out;
  absl::Status status = store_.RunInTransaction([&](StoreTransaction& txn)
                                                    -> absl::Status {
    absl::StatusOr<Caller> caller =
        Authenticate(txn, token, org_pk_, now, &verified_);
    if (!caller.ok()) return caller.status();
    if (!caller->certificate) {
      return CheckAllowed(*caller, Action::kReadRecords, nullptr, now);
    }
    RegisteredCertificates certs(txn, org_pk_, &verified_);
    absl::StatusOr<crypto::CaseChain> chain = LoadChain(txn, *case_id, certs);
    if (!chain.ok()) return chain.status();
    // Whoever may read no epoch at all is refused outright.
    if (absl::Status s = CheckAllowed(*caller, Action::kReadRecords, &*chain,
                                      now, *chain->highest_epoch());
        !s.ok() && !chain->IsMemberFrom(0, CallerFingerprint(*caller))) {
      return s;
    }
    absl::StatusOr<std::vector<RecordRow>> rows =
        txn.ListRecords(*case_id, after, page_size);
    if (!rows.ok()) return rows.status();
    for (const RecordRow& r : *rows) {
      if (!CheckAllowed(*caller, Action::kReadRecords, &*chain, now, r.epoch)
               .ok()) {
        continue;
      }
      tvault::v1::RecordSummary* summary = out.add_records();
      summary->set_record_id(Str(r.record_id));
      summary->set_epoch(r.epoch);
      summary->set_size(r.size);
      summary->set_sha256(Str(r.sha256));
      summary->set_added_at(r.added_at);
      summary->set_log_index(r.log_index);
      absl::StatusOr<DeletionRow> deletion = txn.FindDeletion(r.record_id);
      if (deletion.ok()) {
        summary->set_delete_after(deletion->delete_after);
        summary->set_deleted(deletion->done);
        summary->set_deletion_request_sha256(Str(deletion->request_sha256));
      } else if (!absl::IsNotFound(deletion.status())) {
        return deletion.status();
      }
    }
    if (rows->size() == page_size) {
      out.set_next_page_token(Str(rows->back().record_id));
    }
    return absl::OkStatus();
  });
  if (!status.ok()) return status;
  return out;
}

namespace {

// Runs `fn` in a transaction of its own and returns what it returned.
template <typename T>
absl::StatusOr<T> InTransaction(
    Store& store, absl::FunctionRef<absl::StatusOr<T>(StoreTransaction&)> fn) {
  std::optional<T> out;
  absl::Status s = store.RunInTransaction([&](StoreTransaction& txn) {
    absl::StatusOr<T> got = fn(txn);
    if (!got.ok()) return got.status();
    out = std::move(*got);
    return absl::OkStatus();
  });
  if (!s.ok()) return s;
  return std::move(*out);
}

// Whether a record's ciphertext is gone or may be going: maintenance
// removes it once the deletion is due, a transaction at a time, before it
// marks the deletion done.
bool DataGone(const DeletionRow& deletion, int64_t now) {
  return deletion.done || deletion.delete_after <= now;
}

absl::Status RecordDeletedError() {
  return absl::NotFoundError(
      "this record was deleted at its owners' request; its tombstone and "
      "log entries remain");
}

}  // namespace

absl::Status VaultCore::Download(const SessionTokenHash* token,
                                 const tvault::v1::DownloadRequest& request,
                                 DownloadSink& sink) {
  absl::StatusOr<RecordId> record_id = RecordIdFromBytes(request.record_id());
  if (!record_id.ok()) return record_id.status();
  const int64_t now = clock_();
  RecordRow record;
  absl::Status status =
      store_.RunInTransaction([&](StoreTransaction& txn) -> absl::Status {
        absl::StatusOr<Caller> caller =
            Authenticate(txn, token, org_pk_, now, &verified_);
        if (!caller.ok()) return caller.status();
        if (!caller->certificate) {
          return CheckAllowed(*caller, Action::kReadRecords, nullptr, now);
        }
        absl::StatusOr<RecordRow> found = txn.FindRecord(*record_id);
        if (absl::IsNotFound(found.status())) {
          return absl::NotFoundError("there is no record with that id");
        }
        if (!found.ok()) return found.status();
        RegisteredCertificates certs(txn, org_pk_, &verified_);
        absl::StatusOr<crypto::CaseChain> chain =
            LoadChain(txn, found->case_id, certs);
        if (!chain.ok()) return chain.status();
        if (absl::Status s = CheckAllowed(*caller, Action::kReadRecords,
                                          &*chain, now, found->epoch);
            !s.ok()) {
          return s;
        }
        absl::StatusOr<DeletionRow> deletion = txn.FindDeletion(*record_id);
        if (deletion.ok() && DataGone(*deletion, now)) {
          return RecordDeletedError();
        }
        if (!deletion.ok() && !absl::IsNotFound(deletion.status())) {
          return deletion.status();
        }
        record = std::move(*found);
        return absl::OkStatus();
      });
  if (!status.ok()) return status;
  if (request.offset() > record.size) {
    return absl::OutOfRangeError(absl::StrCat(
        "the offset is past the end of the record (", record.size, " bytes)"));
  }
  const uint64_t available = record.size - request.offset();
  const uint64_t length =
      request.length() == 0 ? available : std::min(request.length(), available);
  for (uint64_t sent = 0; sent < length;) {
    const size_t want =
        static_cast<size_t>(std::min<uint64_t>(length - sent, kMaxChunkBytes));
    tvault::v1::DownloadChunk chunk;
    absl::Status read = store_.RunInTransaction([&](StoreTransaction& txn) {
      absl::StatusOr<std::string> data =
          txn.ReadChunks(record.record_id, request.offset() + sent, want);
      if (!data.ok()) return data.status();
      if (data->size() != want) {
        // A deletion may have come due since the download began, and
        // maintenance removed the data: that is no damage, and the caller
        // is told so.
        absl::StatusOr<DeletionRow> deletion =
            txn.FindDeletion(record.record_id);
        if (deletion.ok() && DataGone(*deletion, clock_())) {
          return RecordDeletedError();
        }
        return absl::DataLossError("a stored record's data is missing");
      }
      chunk.set_data(std::move(*data));
      return absl::OkStatus();
    });
    if (!read.ok()) return read;
    if (!sink.Write(chunk)) {
      return absl::CancelledError("the download was cancelled");
    }
    sent += want;
  }
  return absl::OkStatus();
}

absl::StatusOr<tvault::v1::CreateInviteResponse> VaultCore::CreateInvite(
    const SessionTokenHash* token,
    const tvault::v1::CreateInviteRequest& request) {
  tvault::v1::InviteStatement body;
  if (absl::Status s = crypto::ParseStrictly(request.invite().body(), body);
      !s.ok()) {
    return absl::InvalidArgumentError(
        absl::StrCat("the invite statement is malformed: ", s.message()));
  }
  absl::StatusOr<CaseId> case_id = CaseIdFromBytes(body.case_id());
  if (!case_id.ok()) return case_id.status();
  tvault::v1::CreateInviteResponse out;
  absl::Status status =
      Mutate([&](StoreTransaction& txn, Mutation& m) -> absl::Status {
        RegisteredCertificates certs(txn, org_pk_, &verified_);
        absl::StatusOr<CaseAccess> access =
            AuthorizeCase(txn, token, *case_id, Action::kManageInvites, m.now,
                          certs, org_pk_);
        if (!access.ok()) return access.status();
        const Caller* caller = &access->caller;
        crypto::CaseChain* chain = &access->chain;
        absl::StatusOr<crypto::VerifiedInviteStatement> verified =
            crypto::VerifyInviteStatement(request.invite(), *chain,
                                          certs.Lookup(), m.now);
        if (!verified.ok()) return verified.status();
        if (verified->signer != CallerFingerprint(*caller)) {
          return absl::PermissionDeniedError(
              "the invite is signed by another owner; register invites you "
              "signed");
        }
        if (body.epoch() != *chain->highest_epoch()) {
          return absl::FailedPreconditionError(
              absl::StrCat("invites are for the case's current epoch (",
                           *chain->highest_epoch(), "); make a new one"));
        }
        InviteRow row{.case_id = *case_id,
                      .epoch = body.epoch(),
                      .expires = body.expires(),
                      .uses_left = body.uses(),
                      .revoked = false,
                      .statement = request.invite().SerializeAsString()};
        std::copy(body.invite_pk().begin(), body.invite_pk().end(),
                  row.invite_pk.begin());
        absl::Status inserted = txn.InsertInvite(row);
        if (absl::IsAlreadyExists(inserted)) {
          absl::StatusOr<InviteRow> held = txn.FindInvite(row.invite_pk);
          if (!held.ok()) return held.status();
          if (held->statement == row.statement) return absl::OkStatus();
          return absl::AlreadyExistsError(
              "another invite with this key is registered; draw a new invite");
        }
        if (!inserted.ok()) return inserted;
        tvault::v1::LogEntry entry;
        tvault::v1::InviteCreated* e = entry.mutable_invite_created();
        e->set_case_id(body.case_id());
        e->set_epoch(body.epoch());
        e->set_invite_pk(body.invite_pk());
        e->set_expires(body.expires());
        e->set_uses(body.uses());
        return m.Append(txn, std::move(entry), out.mutable_receipt()).status();
      });
  if (!status.ok()) return status;
  return out;
}

absl::StatusOr<tvault::v1::RevokeInviteResponse> VaultCore::RevokeInvite(
    const SessionTokenHash* token,
    const tvault::v1::RevokeInviteRequest& request) {
  absl::StatusOr<CaseId> case_id = CaseIdFromBytes(request.case_id());
  if (!case_id.ok()) return case_id.status();
  if (request.invite_pk().size() != 32) {
    return absl::InvalidArgumentError("an invite key is 32 bytes");
  }
  crypto::SignPublicKey invite_pk;
  std::copy(request.invite_pk().begin(), request.invite_pk().end(),
            invite_pk.begin());
  tvault::v1::RevokeInviteResponse out;
  absl::Status status =
      Mutate([&](StoreTransaction& txn, Mutation& m) -> absl::Status {
        RegisteredCertificates certs(txn, org_pk_, &verified_);
        absl::StatusOr<CaseAccess> access =
            AuthorizeCase(txn, token, *case_id, Action::kManageInvites, m.now,
                          certs, org_pk_);
        if (!access.ok()) return access.status();
        absl::StatusOr<InviteRow> invite = txn.FindInvite(invite_pk);
        if (absl::IsNotFound(invite.status()) ||
            (invite.ok() && invite->case_id != *case_id)) {
          return absl::NotFoundError("this case has no invite with that key");
        }
        if (!invite.ok()) return invite.status();
        if (invite->revoked) return absl::OkStatus();
        if (absl::Status s = txn.RevokeInvite(invite_pk); !s.ok()) return s;
        tvault::v1::LogEntry entry;
        tvault::v1::InviteRevoked* e = entry.mutable_invite_revoked();
        e->set_case_id(request.case_id());
        e->set_invite_pk(request.invite_pk());
        return m.Append(txn, std::move(entry), out.mutable_receipt()).status();
      });
  if (!status.ok()) return status;
  return out;
}

absl::StatusOr<tvault::v1::RequestDeletionResponse> VaultCore::RequestDeletion(
    const SessionTokenHash* token,
    const tvault::v1::RequestDeletionRequest& request) {
  tvault::v1::DeleteRequest body;
  if (absl::Status s = crypto::ParseStrictly(request.request().body(), body);
      !s.ok()) {
    return absl::InvalidArgumentError(
        absl::StrCat("the deletion request is malformed: ", s.message()));
  }
  if (body.version() != 1 || body.reason().size() > crypto::kMaxReasonSize) {
    return absl::InvalidArgumentError(
        "the deletion request must have version 1 and a reason of at most "
        "256 bytes");
  }
  absl::StatusOr<CaseId> case_id = CaseIdFromBytes(body.case_id());
  if (!case_id.ok()) return case_id.status();
  absl::StatusOr<RecordId> record_id = RecordIdFromBytes(body.record_id());
  if (!record_id.ok()) return record_id.status();
  const crypto::Sha256 request_hash =
      crypto::ComputeSha256(AsBytes(request.request().body()));
  tvault::v1::RequestDeletionResponse out;
  absl::Status status =
      Mutate([&](StoreTransaction& txn, Mutation& m) -> absl::Status {
        RegisteredCertificates certs(txn, org_pk_, &verified_);
        absl::StatusOr<CaseAccess> access =
            AuthorizeCase(txn, token, *case_id, Action::kRequestDeletion, m.now,
                          certs, org_pk_);
        if (!access.ok()) return access.status();
        const Caller* caller = &access->caller;
        tvault::v1::DeleteRequest opened;
        if (!crypto::OpenStatement(
                 crypto::StatementType::kDelete, request.request(),
                 AsBytes(caller->certificate->body.sign_pk()), opened)
                 .ok()) {
          return absl::PermissionDeniedError(
              "the deletion request is not signed by your account key");
        }
        absl::StatusOr<RecordRow> record = txn.FindRecord(*record_id);
        if (absl::IsNotFound(record.status()) ||
            (record.ok() && record->case_id != *case_id)) {
          return absl::NotFoundError("this case has no record with that id");
        }
        if (!record.ok()) return record.status();
        absl::StatusOr<DeletionRow> held = txn.FindDeletion(*record_id);
        if (held.ok()) {
          if (held->request_sha256 != request_hash) {
            return absl::AlreadyExistsError(
                "the deletion of this record was already requested");
          }
          out.set_delete_after(held->delete_after);
          return absl::OkStatus();
        }
        if (!absl::IsNotFound(held.status())) return held.status();
        const int64_t delete_after =
            SaturatingAdd(m.now, config_.deletion_delay_seconds);
        if (absl::Status s = txn.InsertDeletion(
                DeletionRow{.record_id = *record_id,
                            .request_sha256 = request_hash,
                            .statement = request.request().SerializeAsString(),
                            .delete_after = delete_after,
                            .done = false});
            !s.ok()) {
          return s;
        }
        out.set_delete_after(delete_after);
        tvault::v1::LogEntry entry;
        tvault::v1::DeletionRequested* e = entry.mutable_deletion_requested();
        e->set_case_id(body.case_id());
        e->set_record_id(body.record_id());
        e->set_request_sha256(Str(request_hash));
        e->set_delete_after(delete_after);
        return m.Append(txn, std::move(entry), out.mutable_receipt()).status();
      });
  if (!status.ok()) return status;
  LogInfo("a record's deletion was requested");
  return out;
}

absl::Status VaultCore::RemoveChunks(absl::Span<const RecordId> record_ids,
                                     int64_t now) {
  while (true) {
    absl::StatusOr<uint64_t> removed =
        InTransaction<uint64_t>(store_, [&](StoreTransaction& txn) {
          return txn.RemoveLastChunks(record_ids, now,
                                      kMaxRemovedBytesPerTransaction);
        });
    if (!removed.ok()) return removed.status();
    if (*removed == 0) return absl::OkStatus();
  }
}

absl::StatusOr<int64_t> VaultCore::Maintain() {
  const int64_t now = clock_();
  int64_t removed = 0;
  // Expired uploads' data first, a bounded transaction at a time: an
  // abandoned upload may be max_record_bytes long, and many may expire
  // together. Their rows go in the commit below; one that holds data again
  // by then (a resume raced this) waits for the next pass.
  for (std::optional<RecordId> after;;) {
    absl::StatusOr<std::vector<RecordId>> expired =
        InTransaction<std::vector<RecordId>>(
            store_, [&](StoreTransaction& txn) {
              return txn.ExpiredUploads(now, after ? &*after : nullptr,
                                        kMaxDeletionsPerCommit);
            });
    if (!expired.ok()) return expired.status();
    if (expired->empty()) break;
    if (absl::Status s = RemoveChunks(*expired, now); !s.ok()) return s;
    after = expired->back();
  }
  std::optional<CheckpointRow> row;
  absl::Status status = store_.RunInTransaction([&](StoreTransaction& txn) {
    absl::StatusOr<int64_t> n = txn.DeleteExpired(now);
    if (!n.ok()) return n.status();
    absl::StatusOr<int64_t> uploads = txn.DeleteExpiredUploads(now);
    if (!uploads.ok()) return uploads.status();
    removed = *n + *uploads;
    absl::StatusOr<CheckpointRow> signed_row = log_.SignCheckpoint(txn);
    if (!signed_row.ok()) return signed_row.status();
    row = std::move(*signed_row);
    return absl::OkStatus();
  });
  if (!status.ok()) return status;
  if (absl::Status s = log_.MirrorCheckpoint(*row); !s.ok()) return s;

  // Deletions due by now, many per commit, each logged: first their data,
  // a bounded transaction at a time (downloads refuse a record from the
  // moment its deletion is due), then up to kMaxDeletionsPerCommit
  // tombstones and their log entries in one commit. One per commit, or a
  // few, each waiting its turn in the group commit queue, fell ever
  // further behind a busy vault. Those that come due meanwhile wait for
  // the next pass, so a pass ends.
  int64_t deleted = 0;
  while (true) {
    absl::StatusOr<std::vector<DeletionRow>> due =
        InTransaction<std::vector<DeletionRow>>(
            store_, [&](StoreTransaction& txn) {
              return txn.DueDeletions(now, kMaxDeletionsPerCommit);
            });
    if (!due.ok()) return due.status();
    if (due->empty()) break;
    std::vector<RecordId> ids;
    for (const DeletionRow& deletion : *due) ids.push_back(deletion.record_id);
    if (absl::Status r = RemoveChunks(ids, now); !r.ok()) return r;
    absl::Status s = Mutate([&](StoreTransaction& txn, Mutation& m) {
      for (const DeletionRow& deletion : *due) {
        absl::StatusOr<RecordRow> record = txn.FindRecord(deletion.record_id);
        if (!record.ok()) return record.status();
        if (absl::Status e = txn.ExecuteDeletion(deletion.record_id); !e.ok()) {
          return e;
        }
        tvault::v1::LogEntry entry;
        tvault::v1::DeletionDone* d = entry.mutable_deletion_done();
        d->set_case_id(Str(record->case_id));
        d->set_record_id(Str(deletion.record_id));
        d->set_request_sha256(Str(deletion.request_sha256));
        absl::StatusOr<uint64_t> index =
            m.Append(txn, std::move(entry), nullptr);
        if (!index.ok()) return index.status();
      }
      return absl::OkStatus();
    });
    if (!s.ok()) return s;
    deleted += static_cast<int64_t>(due->size());
  }
  if (deleted > 0) {
    LogInfo(absl::StrCat(deleted, " record(s) deleted as requested"));
    if (absl::Status s = store_.TruncateWal(); !s.ok()) {
      LogWarning(absl::StrCat("after deleting: ", s.message()));
    }
  }
  return removed + deleted;
}

}  // namespace tvault::vault
