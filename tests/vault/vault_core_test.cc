// The vault's calls in process, without gRPC (vault/vault_core.h): sign-in,
// registration, revocation, descriptors, grants, the log calls and the
// anti-rollback copy of the checkpoint, over a real SQLCipher store in a
// temporary directory, with a clock the tests move.
#include "vault/vault_core.h"

#include <stdlib.h>

#include <cstddef>
#include <cstdint>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <memory>
#include <string>
#include <utility>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/str_cat.h"
#include "client/vault_auth.h"
#include "crypto/age.h"
#include "crypto/age_recipients.h"
#include "crypto/case_descriptor.h"
#include "crypto/certificate.h"
#include "crypto/checkpoint.h"
#include "crypto/grant.h"
#include "crypto/io.h"
#include "crypto/merkle.h"
#include "crypto/secret_bytes.h"
#include "crypto/signed_note.h"
#include "crypto/statement.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "proto/records.pb.h"
#include "proto/vault.pb.h"
#include "tests/crypto/trust_fixture.h"
#include "tests/temp_dir.h"
#include "tests/vault/list_upload_stream.h"
#include "vault/config.h"
#include "vault/memory.h"
#include "vault/rights.h"
#include "vault/sqlcipher_store.h"
#include "vault/store.h"
#include "vault/transparency_log.h"

namespace tvault::vault {
namespace {

using crypto::AsBytes;
using crypto::AsString;
using crypto::EpochMembership;
using crypto::SigningKey;
using crypto::VerifiedDescriptor;
using crypto::X25519Identity;
using crypto::trust_testing::Account;
using crypto::trust_testing::CertBody;
using crypto::trust_testing::CertDirectory;
using crypto::trust_testing::FlipSignatureBit;
using crypto::trust_testing::kDay;
using crypto::trust_testing::kNow;
using crypto::trust_testing::MakeAccount;
using crypto::trust_testing::NonCanonical;
using crypto::trust_testing::ResignRaw;
using crypto::trust_testing::WithUnknownField;
using ::testing::HasSubstr;
using tvault::v1::LogEntry;
using tvault::v1::Receipt;
using tvault::v1::SignedStatement;

constexpr char kOrigin[] = "vault.example.org/log";

std::string Str(absl::Span<const uint8_t> b) {
  return std::string(AsString(b));
}

// Expects `status` to have `code` and a message containing `words`.
#define EXPECT_STATUS(status_expr, want_code, words)                         \
  do {                                                                       \
    const absl::Status tv_status_ = (status_expr);                           \
    EXPECT_EQ(tv_status_.code(), absl::StatusCode::want_code) << tv_status_; \
    EXPECT_THAT(std::string(tv_status_.message()), HasSubstr(words));        \
  } while (0)

using tvault::testing_support::TempDir;

// A case as its owners hold it: the id, each epoch's identity and the
// descriptors signed for it (the version published last per epoch).
struct TestCase {
  crypto::CaseId id = crypto::NewCaseId();
  std::vector<X25519Identity> identities;
  std::vector<VerifiedDescriptor> epochs;
};

// The first `epochs` descriptors of `c` (without the identities), from
// which to sign an alternative next epoch.
TestCase ForkOf(const TestCase& c, size_t epochs) {
  TestCase f;
  f.id = c.id;
  f.epochs.assign(c.epochs.begin(),
                  c.epochs.begin() + static_cast<std::ptrdiff_t>(epochs));
  return f;
}

class VaultCoreTest : public ::testing::Test {
 protected:
  VaultCoreTest()
      : root_(SigningKey::Generate()),
        db_key_(crypto::SecretBytes::Random(SqlcipherStore::kKeySize)) {
    pin_.fill(0x42);
    other_pin_.fill(0x43);
  }

  void SetUp() override {
    absl::StatusOr<std::unique_ptr<SqlcipherStore>> store =
        SqlcipherStore::Create(DbPath(), db_key_);
    ASSERT_TRUE(store.ok()) << store.status();
    store_ = std::move(*store);
    absl::StatusOr<crypto::NoteSigner> signer =
        crypto::NoteSigner::Generate(kOrigin);
    ASSERT_TRUE(signer.ok()) << signer.status();
    log_key_ = std::make_unique<crypto::SecretBytes>(signer->Encode());
    log_ = std::make_unique<TransparencyLog>(std::move(*signer), MirrorPath());
    MakeCore();
  }

  void TearDown() override {
    core_.reset();
    store_.reset();
  }

  std::string DbPath() const { return dir_.path() + "/vault.db"; }
  std::string MirrorPath() const { return dir_.path() + "/checkpoint.mirror"; }

  void MakeCore() {
    core_ = std::make_unique<VaultCore>(*store_, *log_, root_.public_key(),
                                        pin_, config_, [this] { return now_; });
  }

  // A second TransparencyLog object with the same key (another process).
  std::unique_ptr<TransparencyLog> SameLogKey(const std::string& mirror) {
    absl::StatusOr<crypto::NoteSigner> signer =
        crypto::NoteSigner::Parse(log_key_->span());
    EXPECT_TRUE(signer.ok()) << signer.status();
    return std::make_unique<TransparencyLog>(std::move(*signer), mirror);
  }

  // Closes the store (the destructor checkpoints the WAL into the file).
  void CloseStore() {
    core_.reset();
    store_.reset();
  }
  void ReopenStore() {
    absl::StatusOr<std::unique_ptr<SqlcipherStore>> store =
        SqlcipherStore::Open(DbPath(), db_key_);
    ASSERT_TRUE(store.ok()) << store.status();
    store_ = std::move(*store);
    MakeCore();
  }

  // --- accounts and sessions ---

  std::unique_ptr<Account> NewAccount(const std::string& handle,
                                      std::vector<tvault::v1::Role> roles = {
                                          tvault::v1::REVIEWER}) {
    std::unique_ptr<Account> a = MakeAccount(root_, handle, roles);
    directory_.Add(*a);
    return a;
  }

  // An account whose certificate is valid [not_before, not_after).
  std::unique_ptr<Account> AccountValid(int64_t not_before, int64_t not_after,
                                        const SigningKey& issuer) {
    auto a = std::make_unique<Account>();
    absl::StatusOr<SignedStatement> st = crypto::IssueCertificate(
        CertBody(a->sign.public_key(), a->box.recipient(),
                 {tvault::v1::REVIEWER}, "timed", not_before, not_after),
        issuer);
    EXPECT_TRUE(st.ok()) << st.status();
    absl::StatusOr<crypto::VerifiedCertificate> v =
        crypto::VerifyCertificate(*st, issuer.public_key());
    EXPECT_TRUE(v.ok()) << v.status();
    a->cert = *v;
    return a;
  }

  std::string Nonce() {
    absl::StatusOr<tvault::v1::Challenge> c = core_->GetChallenge();
    EXPECT_TRUE(c.ok()) << c.status();
    if (!c.ok()) return std::string(32, '\0');
    EXPECT_EQ(c->nonce().size(), 32u);
    EXPECT_EQ(c->expires_at(), now_ + config_.challenge_ttl_seconds);
    return c->nonce();
  }

  SignedStatement Signed(const std::string& nonce, const SigningKey& key,
                         int64_t issued_at) {
    return Signed(nonce, key, issued_at, pin_);
  }
  SignedStatement Signed(const std::string& nonce, const SigningKey& key,
                         int64_t issued_at, const crypto::TlsKeyPin& pin) {
    absl::StatusOr<SignedStatement> st =
        client::SignAuthChallenge(nonce, key, pin, issued_at);
    EXPECT_TRUE(st.ok()) << st.status();
    return st.ok() ? *st : SignedStatement();
  }

  tvault::v1::SignInRequest SignInRequest(const SigningKey& key) {
    tvault::v1::SignInRequest r;
    *r.mutable_challenge() = Signed(Nonce(), key, now_);
    return r;
  }

  absl::StatusOr<tvault::v1::Session> SignIn(const SigningKey& key) {
    return core_->SignIn(SignInRequest(key));
  }

  tvault::v1::RegisterRequest RegisterRequest(const Account& a) {
    tvault::v1::RegisterRequest r;
    *r.mutable_certificate() = a.cert.statement;
    *r.mutable_challenge() = Signed(Nonce(), a.sign, now_);
    return r;
  }

  absl::StatusOr<tvault::v1::RegisterResponse> Register(const Account& a) {
    return core_->Register(RegisterRequest(a));
  }

  // Registers `a` and signs it in; returns its session's token hash.
  SessionTokenHash Enrol(const Account& a) {
    absl::StatusOr<tvault::v1::RegisterResponse> r = Register(a);
    EXPECT_TRUE(r.ok()) << r.status();
    return Login(a);
  }

  SessionTokenHash Login(const Account& a) {
    absl::StatusOr<tvault::v1::Session> s = SignIn(a.sign);
    EXPECT_TRUE(s.ok()) << s.status();
    if (!s.ok()) return SessionTokenHash{};
    EXPECT_EQ(s->token().size(), 32u);
    return SessionTokenHash::Of(AsBytes(s->token()));
  }

  SignedStatement Revocation(const crypto::Fingerprint& fp, int64_t revoked_at,
                             const std::string& reason,
                             const SigningKey& signer) {
    tvault::v1::Revocation body;
    body.set_version(1);
    body.set_cert_fingerprint(Str(fp));
    body.set_revoked_at(revoked_at);
    body.set_reason(reason);
    absl::StatusOr<SignedStatement> st = crypto::IssueRevocation(body, signer);
    EXPECT_TRUE(st.ok()) << st.status();
    return st.ok() ? *st : SignedStatement();
  }

  absl::StatusOr<tvault::v1::RevokeResponse> Revoke(
      const SignedStatement& revocation) {
    tvault::v1::RevokeRequest r;
    *r.mutable_revocation() = revocation;
    return core_->Revoke(r);
  }

  // An invite session for epoch `epoch` of `c`, stored as the invite
  // sign-in stores it; returns its token hash.
  SessionTokenHash InviteSession(const TestCase& c, uint32_t epoch) {
    const SigningKey invite_key = SigningKey::Generate();
    const std::string token(32, '\x11');
    const SessionTokenHash hash = SessionTokenHash::Of(AsBytes(token));
    const absl::Status stored =
        store_->RunInTransaction([&](StoreTransaction& txn) {
          absl::Status s =
              txn.InsertInvite(InviteRow{.invite_pk = invite_key.public_key(),
                                         .case_id = c.id,
                                         .epoch = epoch,
                                         .expires = now_ + 600,
                                         .uses_left = 1,
                                         .revoked = false,
                                         .statement = "unused here"});
          if (!s.ok()) return s;
          return txn.InsertSession(
              SessionRow{.token_hash = hash,
                         .sign_pk = invite_key.public_key(),
                         .kind = SessionKind::kInvite,
                         .expires_at = now_ + 600});
        });
    EXPECT_TRUE(stored.ok()) << stored;
    return hash;
  }

  // --- cases ---

  static EpochMembership Members(
      std::vector<const Account*> owners, std::vector<const Account*> members,
      std::vector<const Account*> contributors = {}) {
    EpochMembership m;
    for (const Account* a : owners) m.owners.push_back(a->cert.fingerprint);
    for (const Account* a : members) m.members.push_back(a->cert.fingerprint);
    for (const Account* a : contributors) {
      m.contributors.push_back(a->cert.fingerprint);
    }
    return m;
  }

  // Signs epoch 0 of `c` (not published).
  VerifiedDescriptor Genesis(TestCase& c, const Account& creator,
                             const EpochMembership& m,
                             int64_t not_after = kNow + 30 * kDay) {
    c.identities.push_back(X25519Identity::Generate());
    absl::StatusOr<VerifiedDescriptor> d = crypto::CreateGenesisDescriptor(
        c.id, c.identities.back().recipient(), m, not_after, creator.cert,
        creator.sign);
    EXPECT_TRUE(d.ok()) << d.status();
    c.epochs.push_back(*d);
    return *d;
  }

  // Signs the epoch after c.epochs.back() (not published).
  VerifiedDescriptor Next(TestCase& c, const Account& signer,
                          const EpochMembership& m,
                          int64_t not_after = kNow + 30 * kDay) {
    c.identities.push_back(X25519Identity::Generate());
    absl::StatusOr<VerifiedDescriptor> d = crypto::CreateNextEpoch(
        c.epochs.back(), c.identities.back().recipient(), m, not_after,
        signer.cert, signer.sign);
    EXPECT_TRUE(d.ok()) << d.status();
    c.epochs.push_back(*d);
    return *d;
  }

  absl::StatusOr<tvault::v1::PublishDescriptorResponse> Publish(
      const SessionTokenHash& token, const SignedStatement& statement) {
    tvault::v1::PublishDescriptorRequest r;
    *r.mutable_case_descriptor() = statement;
    return core_->PublishDescriptor(&token, r);
  }
  absl::StatusOr<tvault::v1::PublishDescriptorResponse> Publish(
      const SessionTokenHash& token, const VerifiedDescriptor& d) {
    return Publish(token, d.statement);
  }

  absl::StatusOr<tvault::v1::GetCaseResponse> GetCase(
      const SessionTokenHash& token, const TestCase& c) {
    tvault::v1::GetCaseRequest r;
    r.set_case_id(Str(c.id));
    return core_->GetCase(&token, r);
  }

  absl::StatusOr<tvault::v1::ListCasesResponse> ListCases(
      const SessionTokenHash& token) {
    return core_->ListCases(&token, tvault::v1::ListCasesRequest());
  }

  // The chain of `c` as a client verifies it.
  crypto::CaseChain ChainOf(const TestCase& c) {
    absl::StatusOr<crypto::CaseChain> chain =
        crypto::CaseChain::Create(c.epochs.front().hash);
    EXPECT_TRUE(chain.ok());
    for (const VerifiedDescriptor& d : c.epochs) {
      absl::Status s = chain->Accept(d.statement, directory_.Lookup());
      EXPECT_TRUE(s.ok()) << s;
    }
    return *std::move(chain);
  }

  tvault::v1::GrantRecord Grant(const TestCase& c, uint32_t epoch,
                                const Account& member, const Account& granter) {
    const crypto::CaseChain chain = ChainOf(c);
    absl::StatusOr<crypto::CreatedGrant> g =
        crypto::CreateGrant(chain, epoch, c.identities[epoch], member.cert,
                            granter.cert, granter.sign);
    EXPECT_TRUE(g.ok()) << g.status();
    tvault::v1::GrantRecord r;
    if (!g.ok()) return r;
    *r.mutable_grant() = g->statement;
    r.set_ciphertext(std::string(g->ciphertext.begin(), g->ciphertext.end()));
    return r;
  }

  absl::StatusOr<tvault::v1::PublishGrantsResponse> PublishGrants(
      const SessionTokenHash& token,
      std::vector<tvault::v1::GrantRecord> grants) {
    tvault::v1::PublishGrantsRequest r;
    for (tvault::v1::GrantRecord& g : grants) *r.add_grants() = std::move(g);
    return core_->PublishGrants(&token, r);
  }

  // --- the log ---

  uint64_t LogSize() {
    uint64_t size = 0;
    absl::Status s = store_->RunInTransaction([&](StoreTransaction& txn) {
      absl::StatusOr<uint64_t> n = txn.LogSize();
      if (!n.ok()) return n.status();
      size = *n;
      return absl::OkStatus();
    });
    EXPECT_TRUE(s.ok()) << s;
    return size;
  }

  absl::StatusOr<crypto::Checkpoint> OpenCheckpoint(const std::string& note) {
    const crypto::NoteVerifier verifiers[] = {log_->verifier()};
    absl::StatusOr<crypto::OpenedNote> opened =
        crypto::OpenNote(note, verifiers);
    if (!opened.ok()) return opened.status();
    if (opened->verified.size() != 1) {
      return absl::InternalError("the note has no signature of the log key");
    }
    return crypto::ParseCheckpoint(opened->text);
  }

  // Checks a receipt fully: the checkpoint is signed by the log key and
  // names the log; the inclusion proof binds the entry to its root.
  // Returns the entry, parsed strictly.
  LogEntry CheckReceipt(const Receipt& r) {
    LogEntry entry;
    absl::StatusOr<crypto::Checkpoint> cp = OpenCheckpoint(r.checkpoint());
    EXPECT_TRUE(cp.ok()) << cp.status();
    if (!cp.ok()) return entry;
    EXPECT_EQ(cp->origin, kOrigin);
    EXPECT_LT(r.index(), cp->tree_size);
    std::vector<crypto::Hash> proof;
    for (const std::string& h : r.inclusion()) {
      absl::StatusOr<crypto::Hash> hash = crypto::HashFromBytes(AsBytes(h));
      EXPECT_TRUE(hash.ok()) << hash.status();
      if (hash.ok()) proof.push_back(*hash);
    }
    const absl::Status verified = crypto::VerifyInclusionProof(
        r.index(), cp->tree_size, crypto::LeafHash(AsBytes(r.entry())), proof,
        cp->root_hash);
    EXPECT_TRUE(verified.ok()) << verified;
    const absl::Status parsed = crypto::ParseStrictly(r.entry(), entry);
    EXPECT_TRUE(parsed.ok()) << parsed;
    EXPECT_EQ(entry.version(), 1u);
    return entry;
  }

  // An A (owner) and B (member) case: epoch 0 {owners A, members A},
  // epoch 1 {owners A, members A, B}, both published by A.
  void SetUpCaseWithMember() {
    alice_ = NewAccount("alice");
    bob_ = NewAccount("bob");
    alice_token_ = Enrol(*alice_);
    bob_token_ = Enrol(*bob_);
    Genesis(case_, *alice_, Members({alice_.get()}, {alice_.get()}));
    ASSERT_TRUE(Publish(alice_token_, case_.epochs[0]).ok());
    Next(case_, *alice_, Members({alice_.get()}, {alice_.get(), bob_.get()}));
    ASSERT_TRUE(Publish(alice_token_, case_.epochs[1]).ok());
  }

  TempDir dir_;
  SigningKey root_;
  crypto::SecretBytes db_key_;
  crypto::TlsKeyPin pin_{};
  crypto::TlsKeyPin other_pin_{};
  VaultConfig config_;
  int64_t now_ = kNow;
  std::unique_ptr<crypto::SecretBytes> log_key_;
  std::unique_ptr<SqlcipherStore> store_;
  std::unique_ptr<TransparencyLog> log_;
  std::unique_ptr<VaultCore> core_;
  CertDirectory directory_;

  // SetUpCaseWithMember.
  std::unique_ptr<Account> alice_;
  std::unique_ptr<Account> bob_;
  SessionTokenHash alice_token_;
  SessionTokenHash bob_token_;
  TestCase case_;
};

// ===================================================================
// Server info and challenges
// ===================================================================

TEST_F(VaultCoreTest, ServerInfoNamesPinLogAndLimits) {
  const tvault::v1::ServerInfo info = core_->GetServerInfo();
  EXPECT_EQ(info.version(), kVaultVersion);
  EXPECT_EQ(info.tls_key_sha256(), Str(pin_));
  EXPECT_EQ(info.log_origin(), kOrigin);
  EXPECT_EQ(info.log_verifier_key(), log_->verifier().Encode());
  EXPECT_EQ(info.limits().max_message_bytes(), 1114112u);
  EXPECT_EQ(info.limits().max_record_bytes(), uint64_t{4} << 30);
  EXPECT_EQ(info.limits().max_metadata_bytes(), 16384u);
  EXPECT_EQ(info.limits().challenge_ttl_seconds(), 120u);
  EXPECT_EQ(info.limits().session_ttl_seconds(), 3600u);
  EXPECT_EQ(info.limits().max_requests_per_minute(), 600u);
  EXPECT_EQ(info.limits().call_deadline_seconds(), 30u);
}

TEST_F(VaultCoreTest, ChallengesAreFreshAndExpireAfterTheirTtl) {
  absl::StatusOr<tvault::v1::Challenge> a = core_->GetChallenge();
  absl::StatusOr<tvault::v1::Challenge> b = core_->GetChallenge();
  ASSERT_TRUE(a.ok() && b.ok());
  EXPECT_EQ(a->nonce().size(), 32u);
  EXPECT_NE(a->nonce(), b->nonce());
  EXPECT_EQ(a->expires_at(), kNow + 120);
  // Challenges are not log entries.
  EXPECT_EQ(LogSize(), 0u);
}

// ===================================================================
// SignIn
// ===================================================================

TEST_F(VaultCoreTest, SignInIssuesSessionForRegisteredAccount) {
  std::unique_ptr<Account> a = NewAccount("alice");
  ASSERT_TRUE(Register(*a).ok());
  absl::StatusOr<tvault::v1::Session> s = SignIn(a->sign);
  ASSERT_TRUE(s.ok()) << s.status();
  EXPECT_EQ(s->token().size(), 32u);
  EXPECT_EQ(s->expires_at(), kNow + 3600);
  EXPECT_FALSE(s->invite());
  const SessionTokenHash token = SessionTokenHash::Of(AsBytes(s->token()));
  absl::StatusOr<tvault::v1::ListCasesResponse> cases = ListCases(token);
  ASSERT_TRUE(cases.ok()) << cases.status();
  EXPECT_EQ(cases->cases_size(), 0);
  // Signing in is not a log entry.
  EXPECT_EQ(LogSize(), 1u);
}

TEST_F(VaultCoreTest, EachSignInGivesADifferentToken) {
  std::unique_ptr<Account> a = NewAccount("alice");
  ASSERT_TRUE(Register(*a).ok());
  absl::StatusOr<tvault::v1::Session> s1 = SignIn(a->sign);
  absl::StatusOr<tvault::v1::Session> s2 = SignIn(a->sign);
  ASSERT_TRUE(s1.ok() && s2.ok());
  EXPECT_NE(s1->token(), s2->token());
}

TEST_F(VaultCoreTest, RefusesReplayedChallenge) {
  std::unique_ptr<Account> a = NewAccount("alice");
  ASSERT_TRUE(Register(*a).ok());
  const tvault::v1::SignInRequest request = SignInRequest(a->sign);
  ASSERT_TRUE(core_->SignIn(request).ok());
  EXPECT_STATUS(core_->SignIn(request).status(), kUnauthenticated,
                "already used");
}

TEST_F(VaultCoreTest, RefusesChallengeTheVaultNeverIssued) {
  std::unique_ptr<Account> a = NewAccount("alice");
  ASSERT_TRUE(Register(*a).ok());
  tvault::v1::SignInRequest request;
  *request.mutable_challenge() = Signed(std::string(32, '\x07'), a->sign, now_);
  EXPECT_STATUS(core_->SignIn(request).status(), kUnauthenticated,
                "unknown or was already used");
}

TEST_F(VaultCoreTest, RefusesExpiredChallenge) {
  std::unique_ptr<Account> a = NewAccount("alice");
  ASSERT_TRUE(Register(*a).ok());
  const std::string nonce = Nonce();
  now_ += config_.challenge_ttl_seconds;  // expires_at <= now
  tvault::v1::SignInRequest request;
  *request.mutable_challenge() = Signed(nonce, a->sign, now_);
  EXPECT_STATUS(core_->SignIn(request).status(), kUnauthenticated, "expired");
}

TEST_F(VaultCoreTest, AcceptsChallengeOneSecondBeforeItExpires) {
  std::unique_ptr<Account> a = NewAccount("alice");
  ASSERT_TRUE(Register(*a).ok());
  const std::string nonce = Nonce();
  now_ += config_.challenge_ttl_seconds - 1;
  tvault::v1::SignInRequest request;
  *request.mutable_challenge() = Signed(nonce, a->sign, now_);
  EXPECT_TRUE(core_->SignIn(request).ok());
}

TEST_F(VaultCoreTest, RefusesChallengeSignedForAnotherTlsPin) {
  std::unique_ptr<Account> a = NewAccount("alice");
  ASSERT_TRUE(Register(*a).ok());
  const std::string nonce = Nonce();
  tvault::v1::SignInRequest request;
  *request.mutable_challenge() = Signed(nonce, a->sign, now_, other_pin_);
  EXPECT_STATUS(core_->SignIn(request).status(), kUnauthenticated,
                "different server");
  // Refused before the nonce was spent: the right pin still works.
  *request.mutable_challenge() = Signed(nonce, a->sign, now_);
  EXPECT_TRUE(core_->SignIn(request).ok());
}

TEST_F(VaultCoreTest, RefusesIssuedAtOutsideClockSkew) {
  std::unique_ptr<Account> a = NewAccount("alice");
  ASSERT_TRUE(Register(*a).ok());
  for (int64_t issued : {now_ - config_.clock_skew_seconds - 1,
                         now_ + config_.clock_skew_seconds + 1, int64_t{0}}) {
    SCOPED_TRACE(issued);
    tvault::v1::SignInRequest request;
    *request.mutable_challenge() = Signed(Nonce(), a->sign, issued);
    EXPECT_STATUS(core_->SignIn(request).status(), kUnauthenticated,
                  "more than 300 seconds away from the vault's clock");
  }
}

TEST_F(VaultCoreTest, AcceptsIssuedAtAtTheEdgesOfClockSkew) {
  std::unique_ptr<Account> a = NewAccount("alice");
  ASSERT_TRUE(Register(*a).ok());
  for (int64_t issued :
       {now_ - config_.clock_skew_seconds, now_ + config_.clock_skew_seconds}) {
    tvault::v1::SignInRequest request;
    *request.mutable_challenge() = Signed(Nonce(), a->sign, issued);
    EXPECT_TRUE(core_->SignIn(request).ok()) << issued;
  }
}

TEST_F(VaultCoreTest, RefusesBadSignature) {
  std::unique_ptr<Account> a = NewAccount("alice");
  ASSERT_TRUE(Register(*a).ok());
  const std::string nonce = Nonce();
  tvault::v1::SignInRequest request;
  *request.mutable_challenge() = FlipSignatureBit(Signed(nonce, a->sign, now_));
  EXPECT_STATUS(core_->SignIn(request).status(), kUnauthenticated,
                "signature does not verify");
}

TEST_F(VaultCoreTest, RefusesChallengeSignedByAnotherKeyThanItNames) {
  std::unique_ptr<Account> a = NewAccount("alice");
  std::unique_ptr<Account> m = NewAccount("mallory");
  ASSERT_TRUE(Register(*a).ok());
  // Mallory signs a challenge that names Alice's key.
  tvault::v1::AuthChallenge body;
  body.set_version(1);
  body.set_tls_key_sha256(Str(pin_));
  body.set_nonce(Nonce());
  body.set_caller_sign_pk(Str(a->sign.public_key()));
  body.set_issued_at(now_);
  tvault::v1::SignInRequest request;
  *request.mutable_challenge() =
      crypto::SignStatement(crypto::StatementType::kAuth, body, m->sign);
  EXPECT_STATUS(core_->SignIn(request).status(), kUnauthenticated,
                "signature does not verify");
}

TEST_F(VaultCoreTest, RefusesChallengeSignedUnderAnotherStatementTag) {
  std::unique_ptr<Account> a = NewAccount("alice");
  ASSERT_TRUE(Register(*a).ok());
  const SignedStatement good = Signed(Nonce(), a->sign, now_);
  // The same body signed as a descriptor: the tag differs.
  tvault::v1::SignInRequest request;
  *request.mutable_challenge() =
      ResignRaw(crypto::StatementType::kDescriptor, good.body(), a->sign);
  EXPECT_STATUS(core_->SignIn(request).status(), kUnauthenticated,
                "signature does not verify");
}

TEST_F(VaultCoreTest, RefusesUnknownKey) {
  std::unique_ptr<Account> stranger = NewAccount("stranger");
  EXPECT_STATUS(SignIn(stranger->sign).status(), kUnauthenticated,
                "not registered");
}

TEST_F(VaultCoreTest, RefusesChallengeWithUnknownField) {
  std::unique_ptr<Account> a = NewAccount("alice");
  ASSERT_TRUE(Register(*a).ok());
  const SignedStatement good = Signed(Nonce(), a->sign, now_);
  tvault::v1::SignInRequest request;
  *request.mutable_challenge() = ResignRaw(
      crypto::StatementType::kAuth, WithUnknownField(good.body()), a->sign);
  EXPECT_STATUS(core_->SignIn(request).status(), kInvalidArgument,
                "the signed challenge is malformed");
}

TEST_F(VaultCoreTest, RefusesNonCanonicalChallenge) {
  std::unique_ptr<Account> a = NewAccount("alice");
  ASSERT_TRUE(Register(*a).ok());
  const SignedStatement good = Signed(Nonce(), a->sign, now_);
  tvault::v1::SignInRequest request;
  *request.mutable_challenge() = ResignRaw(crypto::StatementType::kAuth,
                                           NonCanonical(good.body()), a->sign);
  EXPECT_STATUS(core_->SignIn(request).status(), kInvalidArgument, "malformed");
}

TEST_F(VaultCoreTest, RefusesChallengeWithWrongVersionOrSizes) {
  std::unique_ptr<Account> a = NewAccount("alice");
  ASSERT_TRUE(Register(*a).ok());
  const auto base = [&] {
    tvault::v1::AuthChallenge body;
    body.set_version(1);
    body.set_tls_key_sha256(Str(pin_));
    body.set_nonce(Nonce());
    body.set_caller_sign_pk(Str(a->sign.public_key()));
    body.set_issued_at(now_);
    return body;
  };
  std::vector<tvault::v1::AuthChallenge> bad;
  bad.push_back(base());
  bad.back().set_version(2);
  bad.push_back(base());
  bad.back().set_nonce(std::string(31, '\x01'));
  bad.push_back(base());
  bad.back().set_tls_key_sha256(std::string(31, '\x42'));
  bad.push_back(base());
  bad.back().set_caller_sign_pk(std::string(32, '\0'));  // small order
  for (const tvault::v1::AuthChallenge& body : bad) {
    tvault::v1::SignInRequest request;
    *request.mutable_challenge() =
        crypto::SignStatement(crypto::StatementType::kAuth, body, a->sign);
    EXPECT_STATUS(core_->SignIn(request).status(), kInvalidArgument,
                  "must have version 1, a 32-byte nonce");
  }
  // An empty request.
  EXPECT_EQ(core_->SignIn(tvault::v1::SignInRequest()).status().code(),
            absl::StatusCode::kInvalidArgument);
}

TEST_F(VaultCoreTest, FailedSignInStillConsumesTheNonce) {
  std::unique_ptr<Account> stranger = NewAccount("stranger");
  std::unique_ptr<Account> a = NewAccount("alice");
  ASSERT_TRUE(Register(*a).ok());
  const std::string nonce = Nonce();
  tvault::v1::SignInRequest request;
  *request.mutable_challenge() = Signed(nonce, stranger->sign, now_);
  EXPECT_STATUS(core_->SignIn(request).status(), kUnauthenticated,
                "not registered");
  // The very same statement again: the nonce is gone.
  EXPECT_STATUS(core_->SignIn(request).status(), kUnauthenticated,
                "already used");
  // And a registered key cannot use it either.
  *request.mutable_challenge() = Signed(nonce, a->sign, now_);
  EXPECT_STATUS(core_->SignIn(request).status(), kUnauthenticated,
                "already used");
}

TEST_F(VaultCoreTest, RevokedSignInStillConsumesTheNonce) {
  std::unique_ptr<Account> a = NewAccount("alice");
  ASSERT_TRUE(Register(*a).ok());
  ASSERT_TRUE(
      Revoke(Revocation(a->cert.fingerprint, now_, "lost", root_)).ok());
  const tvault::v1::SignInRequest request = SignInRequest(a->sign);
  EXPECT_STATUS(core_->SignIn(request).status(), kPermissionDenied, "revoked");
  EXPECT_STATUS(core_->SignIn(request).status(), kUnauthenticated,
                "already used");
}

TEST_F(VaultCoreTest, RefusesRevokedCertificate) {
  std::unique_ptr<Account> a = NewAccount("alice");
  ASSERT_TRUE(Register(*a).ok());
  ASSERT_TRUE(
      Revoke(Revocation(a->cert.fingerprint, now_ - 10, "device seized", root_))
          .ok());
  const absl::Status s = SignIn(a->sign).status();
  EXPECT_STATUS(s, kPermissionDenied, "your certificate cannot be used");
  EXPECT_THAT(std::string(s.message()), HasSubstr("revoked at"));
}

TEST_F(VaultCoreTest, RefusesSignInOnceCertificateExpired) {
  std::unique_ptr<Account> a = AccountValid(kNow - kDay, kNow + 1000, root_);
  ASSERT_TRUE(Register(*a).ok());
  now_ = kNow + 1000;
  EXPECT_STATUS(SignIn(a->sign).status(), kPermissionDenied, "expired at");
}

TEST_F(VaultCoreTest, SessionExpiresAfterSessionTtl) {
  std::unique_ptr<Account> a = NewAccount("alice");
  const SessionTokenHash token = Enrol(*a);
  now_ += config_.session_ttl_seconds - 1;
  EXPECT_TRUE(ListCases(token).ok());
  now_ += 1;  // expires_at <= now
  EXPECT_STATUS(ListCases(token).status(), kUnauthenticated,
                "unknown or has expired");
  EXPECT_STATUS(core_->GetCheckpoint(&token).status(), kUnauthenticated,
                "expired");
}

TEST_F(VaultCoreTest, SessionEndsWhenCertificateExpires) {
  std::unique_ptr<Account> a = AccountValid(kNow - kDay, kNow + 100, root_);
  const SessionTokenHash token = Enrol(*a);
  EXPECT_TRUE(ListCases(token).ok());
  now_ = kNow + 100;  // the session still has an hour
  EXPECT_STATUS(ListCases(token).status(), kPermissionDenied, "expired at");
}

TEST_F(VaultCoreTest, CallsWithoutTokenAreUnauthenticated) {
  SetUpCaseWithMember();
  const std::string needs = "this call needs a session: sign in first";
  EXPECT_STATUS(core_->ListCases(nullptr, {}).status(), kUnauthenticated,
                needs);
  tvault::v1::GetCaseRequest get;
  get.set_case_id(Str(case_.id));
  EXPECT_STATUS(core_->GetCase(nullptr, get).status(), kUnauthenticated, needs);
  tvault::v1::PublishDescriptorRequest pub;
  *pub.mutable_case_descriptor() = case_.epochs[1].statement;
  EXPECT_STATUS(core_->PublishDescriptor(nullptr, pub).status(),
                kUnauthenticated, needs);
  tvault::v1::PublishGrantsRequest grants;
  *grants.add_grants() = Grant(case_, 1, *bob_, *alice_);
  EXPECT_STATUS(core_->PublishGrants(nullptr, grants).status(),
                kUnauthenticated, needs);
}

TEST_F(VaultCoreTest, UnknownTokenIsUnauthenticated) {
  std::unique_ptr<Account> a = NewAccount("alice");
  ASSERT_TRUE(Register(*a).ok());
  const std::string random(32, '\x5a');
  const SessionTokenHash token = SessionTokenHash::Of(AsBytes(random));
  EXPECT_STATUS(ListCases(token).status(), kUnauthenticated,
                "unknown or has expired");
}

TEST_F(VaultCoreTest, TokenHashIsNotATokenEquivalent) {
  // The store keeps SHA-256(token): presenting the stored hash as if it
  // were the token (a seized database) must not log in.
  std::unique_ptr<Account> a = NewAccount("alice");
  ASSERT_TRUE(Register(*a).ok());
  absl::StatusOr<tvault::v1::Session> s = SignIn(a->sign);
  ASSERT_TRUE(s.ok());
  const SessionTokenHash stored = SessionTokenHash::Of(AsBytes(s->token()));
  const SessionTokenHash hash_of_hash = SessionTokenHash::Of(stored.bytes);
  EXPECT_STATUS(ListCases(hash_of_hash).status(), kUnauthenticated,
                "unknown or has expired");
}

// ===================================================================
// Register
// ===================================================================

TEST_F(VaultCoreTest, RegisterLogsCertificateWithVerifiableReceipt) {
  std::unique_ptr<Account> a = NewAccount("alice");
  absl::StatusOr<tvault::v1::RegisterResponse> r = Register(*a);
  ASSERT_TRUE(r.ok()) << r.status();
  EXPECT_EQ(r->cert_fingerprint(), Str(a->cert.fingerprint));
  ASSERT_TRUE(r->has_receipt());
  EXPECT_EQ(r->receipt().index(), 0u);
  const LogEntry entry = CheckReceipt(r->receipt());
  ASSERT_TRUE(entry.has_certificate_registered());
  EXPECT_EQ(entry.certificate_registered().cert_fingerprint(),
            Str(a->cert.fingerprint));
  EXPECT_EQ(entry.logged_at(), kNow);
  absl::StatusOr<crypto::Checkpoint> cp =
      OpenCheckpoint(r->receipt().checkpoint());
  ASSERT_TRUE(cp.ok());
  EXPECT_EQ(cp->tree_size, 1u);
  EXPECT_EQ(LogSize(), 1u);
}

TEST_F(VaultCoreTest, RegisteringSameCertificateAgainIsIdempotent) {
  std::unique_ptr<Account> a = NewAccount("alice");
  ASSERT_TRUE(Register(*a).ok());
  absl::StatusOr<tvault::v1::RegisterResponse> again = Register(*a);
  ASSERT_TRUE(again.ok()) << again.status();
  EXPECT_EQ(again->cert_fingerprint(), Str(a->cert.fingerprint));
  EXPECT_FALSE(again->has_receipt());
  EXPECT_EQ(LogSize(), 1u);
}

TEST_F(VaultCoreTest, RefusesReplayedRegisterRequest) {
  std::unique_ptr<Account> a = NewAccount("alice");
  const tvault::v1::RegisterRequest request = RegisterRequest(*a);
  ASSERT_TRUE(core_->Register(request).ok());
  EXPECT_STATUS(core_->Register(request).status(), kUnauthenticated,
                "already used");
  EXPECT_EQ(LogSize(), 1u);
}

TEST_F(VaultCoreTest, RefusesSecondCertificateForARegisteredKey) {
  std::unique_ptr<Account> a = NewAccount("alice");
  ASSERT_TRUE(Register(*a).ok());
  // The same signing key certified again under another handle.
  absl::StatusOr<SignedStatement> st = crypto::IssueCertificate(
      CertBody(a->sign.public_key(), a->box.recipient(), {tvault::v1::REVIEWER},
               "alice-2"),
      root_);
  ASSERT_TRUE(st.ok());
  tvault::v1::RegisterRequest request;
  *request.mutable_certificate() = *st;
  *request.mutable_challenge() = Signed(Nonce(), a->sign, now_);
  EXPECT_STATUS(core_->Register(request).status(), kAlreadyExists,
                "already registered with another certificate");
  EXPECT_EQ(LogSize(), 1u);
}

TEST_F(VaultCoreTest, RefusesForgedCertificate) {
  std::unique_ptr<Account> a = NewAccount("alice");
  tvault::v1::RegisterRequest request = RegisterRequest(*a);
  *request.mutable_certificate() = FlipSignatureBit(a->cert.statement);
  EXPECT_STATUS(core_->Register(request).status(), kPermissionDenied,
                "not signed by this vault's organisation root");
  EXPECT_EQ(LogSize(), 0u);
}

TEST_F(VaultCoreTest, RefusesCertificateFromAnotherOrganisation) {
  const SigningKey other_root = SigningKey::Generate();
  std::unique_ptr<Account> a = MakeAccount(other_root, "outsider");
  EXPECT_STATUS(Register(*a).status(), kPermissionDenied,
                "not signed by this vault's organisation root");
  EXPECT_EQ(LogSize(), 0u);
}

TEST_F(VaultCoreTest, RefusesExpiredCertificate) {
  std::unique_ptr<Account> a = AccountValid(kNow - 10 * kDay, kNow, root_);
  const absl::Status s = Register(*a).status();
  EXPECT_STATUS(s, kPermissionDenied, "this certificate cannot be registered");
  EXPECT_THAT(std::string(s.message()), HasSubstr("expired at"));
  EXPECT_EQ(LogSize(), 0u);
}

TEST_F(VaultCoreTest, RefusesNotYetValidCertificate) {
  std::unique_ptr<Account> a = AccountValid(kNow + 1, kNow + 100 * kDay, root_);
  const absl::Status s = Register(*a).status();
  EXPECT_STATUS(s, kPermissionDenied, "this certificate cannot be registered");
  EXPECT_THAT(std::string(s.message()), HasSubstr("not yet valid"));
  EXPECT_EQ(LogSize(), 0u);
}

TEST_F(VaultCoreTest, RefusesCertificateRevokedBeforeRegistration) {
  std::unique_ptr<Account> a = NewAccount("alice");
  // A lost key can be revoked before its first use.
  absl::StatusOr<tvault::v1::RevokeResponse> rev =
      Revoke(Revocation(a->cert.fingerprint, now_, "lost in transit", root_));
  ASSERT_TRUE(rev.ok()) << rev.status();
  const absl::Status s = Register(*a).status();
  EXPECT_STATUS(s, kPermissionDenied, "this certificate cannot be registered");
  EXPECT_THAT(std::string(s.message()), HasSubstr("revoked at"));
  EXPECT_EQ(LogSize(), 1u);  // only the revocation
}

TEST_F(VaultCoreTest, RefusesRegistrationChallengeSignedByAnotherKey) {
  std::unique_ptr<Account> a = NewAccount("alice");
  std::unique_ptr<Account> m = NewAccount("mallory");
  tvault::v1::RegisterRequest request;
  *request.mutable_certificate() = a->cert.statement;
  *request.mutable_challenge() = Signed(Nonce(), m->sign, now_);
  EXPECT_STATUS(core_->Register(request).status(), kUnauthenticated,
                "another key than the certificate's");
  EXPECT_EQ(LogSize(), 0u);
}

TEST_F(VaultCoreTest, RefusesRegistrationChallengeForAnotherPin) {
  std::unique_ptr<Account> a = NewAccount("alice");
  tvault::v1::RegisterRequest request;
  *request.mutable_certificate() = a->cert.statement;
  *request.mutable_challenge() = Signed(Nonce(), a->sign, now_, other_pin_);
  EXPECT_STATUS(core_->Register(request).status(), kUnauthenticated,
                "different server");
}

TEST_F(VaultCoreTest, RefusesRegistrationWithStaleIssuedAt) {
  std::unique_ptr<Account> a = NewAccount("alice");
  tvault::v1::RegisterRequest request;
  *request.mutable_certificate() = a->cert.statement;
  *request.mutable_challenge() = Signed(Nonce(), a->sign, now_ - 3600);
  EXPECT_STATUS(core_->Register(request).status(), kUnauthenticated,
                "away from the vault's clock");
}

TEST_F(VaultCoreTest, RefusesUnknownFieldInCertificateBody) {
  std::unique_ptr<Account> a = NewAccount("alice");
  tvault::v1::RegisterRequest request = RegisterRequest(*a);
  *request.mutable_certificate() =
      ResignRaw(crypto::StatementType::kCert,
                WithUnknownField(a->cert.statement.body()), root_);
  EXPECT_STATUS(core_->Register(request).status(), kInvalidArgument,
                "the certificate is malformed");
  EXPECT_EQ(LogSize(), 0u);
}

TEST_F(VaultCoreTest, RefusesNonCanonicalCertificateBody) {
  std::unique_ptr<Account> a = NewAccount("alice");
  tvault::v1::RegisterRequest request = RegisterRequest(*a);
  *request.mutable_certificate() =
      ResignRaw(crypto::StatementType::kCert,
                NonCanonical(a->cert.statement.body()), root_);
  EXPECT_STATUS(core_->Register(request).status(), kInvalidArgument,
                "the certificate is malformed");
}

TEST_F(VaultCoreTest, FailedRegistrationStillConsumesTheNonce) {
  std::unique_ptr<Account> a = AccountValid(kNow - 10 * kDay, kNow, root_);
  const tvault::v1::RegisterRequest request = RegisterRequest(*a);
  EXPECT_EQ(core_->Register(request).status().code(),
            absl::StatusCode::kPermissionDenied);
  EXPECT_STATUS(core_->Register(request).status(), kUnauthenticated,
                "already used");
}

// ===================================================================
// Revoke
// ===================================================================

TEST_F(VaultCoreTest, RevokeLogsRevocationWithReceipt) {
  std::unique_ptr<Account> a = NewAccount("alice");
  ASSERT_TRUE(Register(*a).ok());
  const SignedStatement rev =
      Revocation(a->cert.fingerprint, now_ + 5, "left the organisation", root_);
  now_ += 1;
  absl::StatusOr<tvault::v1::RevokeResponse> r = Revoke(rev);
  ASSERT_TRUE(r.ok()) << r.status();
  ASSERT_TRUE(r->has_receipt());
  EXPECT_EQ(r->receipt().index(), 1u);
  const LogEntry entry = CheckReceipt(r->receipt());
  ASSERT_TRUE(entry.has_certificate_revoked());
  EXPECT_EQ(entry.certificate_revoked().cert_fingerprint(),
            Str(a->cert.fingerprint));
  EXPECT_EQ(entry.certificate_revoked().revoked_at(), kNow + 5);
  EXPECT_EQ(entry.certificate_revoked().revocation_sha256(),
            Str(crypto::ComputeSha256(AsBytes(rev.body()))));
  EXPECT_EQ(entry.logged_at(), kNow + 1);
  EXPECT_EQ(LogSize(), 2u);
}

TEST_F(VaultCoreTest, SameRevocationAgainIsIdempotent) {
  std::unique_ptr<Account> a = NewAccount("alice");
  const SignedStatement rev =
      Revocation(a->cert.fingerprint, now_, "lost", root_);
  ASSERT_TRUE(Revoke(rev).ok());
  absl::StatusOr<tvault::v1::RevokeResponse> again = Revoke(rev);
  ASSERT_TRUE(again.ok()) << again.status();
  EXPECT_FALSE(again->has_receipt());
  EXPECT_EQ(LogSize(), 1u);
}

TEST_F(VaultCoreTest, AnotherRevocationOfSameCertificateIsAlreadyExists) {
  std::unique_ptr<Account> a = NewAccount("alice");
  ASSERT_TRUE(
      Revoke(Revocation(a->cert.fingerprint, now_, "lost", root_)).ok());
  // A later, different revocation (say, to move revoked_at back).
  EXPECT_STATUS(
      Revoke(Revocation(a->cert.fingerprint, now_ - kDay, "earlier", root_))
          .status(),
      kAlreadyExists, "already revoked by another revocation");
  EXPECT_EQ(LogSize(), 1u);
}

TEST_F(VaultCoreTest, RefusesRevocationNotSignedByTheRoot) {
  std::unique_ptr<Account> a = NewAccount("alice");
  ASSERT_TRUE(Register(*a).ok());
  // Signed with the account's own key, and with a flipped root signature.
  EXPECT_STATUS(
      Revoke(Revocation(a->cert.fingerprint, now_, "self", a->sign)).status(),
      kPermissionDenied, "not signed by this vault's organisation root");
  EXPECT_STATUS(
      Revoke(
          FlipSignatureBit(Revocation(a->cert.fingerprint, now_, "x", root_)))
          .status(),
      kPermissionDenied, "not signed by this vault's organisation root");
  EXPECT_EQ(LogSize(), 1u);
  EXPECT_TRUE(SignIn(a->sign).ok());
}

TEST_F(VaultCoreTest, RefusesMalformedRevocation) {
  std::unique_ptr<Account> a = NewAccount("alice");
  const SignedStatement good =
      Revocation(a->cert.fingerprint, now_, "lost", root_);
  EXPECT_STATUS(Revoke(ResignRaw(crypto::StatementType::kRevocation,
                                 WithUnknownField(good.body()), root_))
                    .status(),
                kInvalidArgument, "the revocation is malformed");
  // A certificate signed by the root is not a revocation (tags differ).
  EXPECT_EQ(Revoke(a->cert.statement).status().code(),
            absl::StatusCode::kPermissionDenied);
  EXPECT_EQ(LogSize(), 0u);
}

TEST_F(VaultCoreTest, FutureRevocationTakesEffectAtItsRevokedAt) {
  std::unique_ptr<Account> a = NewAccount("alice");
  const SessionTokenHash token = Enrol(*a);
  ASSERT_TRUE(
      Revoke(Revocation(a->cert.fingerprint, now_ + 100, "planned", root_))
          .ok());
  now_ += 99;
  EXPECT_TRUE(ListCases(token).ok());
  EXPECT_TRUE(core_->GetCheckpoint(&token).ok());
  absl::StatusOr<tvault::v1::Session> before = SignIn(a->sign);
  EXPECT_TRUE(before.ok()) << before.status();
  now_ += 1;  // revoked_at <= now
  EXPECT_STATUS(ListCases(token).status(), kPermissionDenied, "revoked at");
  EXPECT_STATUS(SignIn(a->sign).status(), kPermissionDenied, "revoked at");
}

TEST_F(VaultCoreTest, RevocationEndsExistingSessionsForEveryCall) {
  SetUpCaseWithMember();
  ASSERT_TRUE(
      Revoke(Revocation(bob_->cert.fingerprint, now_, "coerced", root_)).ok());
  const std::string why = "your certificate cannot be used";
  EXPECT_STATUS(ListCases(bob_token_).status(), kPermissionDenied, why);
  EXPECT_STATUS(GetCase(bob_token_, case_).status(), kPermissionDenied, why);
  EXPECT_STATUS(core_->GetCheckpoint(&bob_token_).status(), kPermissionDenied,
                why);
  tvault::v1::GetLogEntriesRequest range;
  range.set_end(1);
  EXPECT_STATUS(core_->GetLogEntries(&bob_token_, range).status(),
                kPermissionDenied, why);
  tvault::v1::GetInclusionProofRequest inc;
  inc.set_tree_size(1);
  EXPECT_STATUS(core_->GetInclusionProof(&bob_token_, inc).status(),
                kPermissionDenied, why);
  // Alice is unaffected.
  EXPECT_TRUE(GetCase(alice_token_, case_).ok());
}

TEST_F(VaultCoreTest, RevokedOwnerCannotPublish) {
  SetUpCaseWithMember();
  const VerifiedDescriptor e2 =
      Next(case_, *alice_, Members({alice_.get()}, {alice_.get()}));
  ASSERT_TRUE(
      Revoke(Revocation(alice_->cert.fingerprint, now_, "seized", root_)).ok());
  const uint64_t size = LogSize();
  EXPECT_STATUS(Publish(alice_token_, e2).status(), kPermissionDenied,
                "revoked at");
  EXPECT_EQ(LogSize(), size);
}

// ===================================================================
// Cases and descriptors
// ===================================================================

TEST_F(VaultCoreTest, OwnerCreatesCaseAndSeesIt) {
  std::unique_ptr<Account> a = NewAccount("alice");
  const SessionTokenHash token = Enrol(*a);
  TestCase c;
  const VerifiedDescriptor g = Genesis(c, *a, Members({a.get()}, {a.get()}));
  absl::StatusOr<tvault::v1::PublishDescriptorResponse> r = Publish(token, g);
  ASSERT_TRUE(r.ok()) << r.status();
  EXPECT_EQ(r->descriptor_hash(), Str(g.hash));
  ASSERT_TRUE(r->has_receipt());
  const LogEntry entry = CheckReceipt(r->receipt());
  ASSERT_TRUE(entry.has_descriptor_published());
  EXPECT_EQ(entry.descriptor_published().case_id(), Str(c.id));
  EXPECT_EQ(entry.descriptor_published().epoch(), 0u);
  EXPECT_EQ(entry.descriptor_published().descriptor_hash(), Str(g.hash));

  absl::StatusOr<tvault::v1::ListCasesResponse> list = ListCases(token);
  ASSERT_TRUE(list.ok()) << list.status();
  ASSERT_EQ(list->cases_size(), 1);
  EXPECT_EQ(list->cases(0).case_id(), Str(c.id));
  EXPECT_EQ(list->cases(0).current_epoch(), 0u);
  EXPECT_EQ(list->cases(0).genesis_hash(), Str(g.hash));

  absl::StatusOr<tvault::v1::GetCaseResponse> got = GetCase(token, c);
  ASSERT_TRUE(got.ok()) << got.status();
  ASSERT_EQ(got->descriptors_size(), 1);
  EXPECT_EQ(got->descriptors(0).body(), g.statement.body());
  EXPECT_EQ(got->descriptors(0).signature(), g.statement.signature());
  ASSERT_EQ(got->descriptor_log_indices_size(), 1);
  EXPECT_EQ(got->descriptor_log_indices(0), r->receipt().index());
  EXPECT_EQ(got->grants_size(), 0);
}

TEST_F(VaultCoreTest, NextEpochAddsMemberAndOwnerPublishesEpochTwo) {
  SetUpCaseWithMember();
  // Bob now sees the case, at epoch 1, with both descriptors.
  absl::StatusOr<tvault::v1::ListCasesResponse> list = ListCases(bob_token_);
  ASSERT_TRUE(list.ok()) << list.status();
  ASSERT_EQ(list->cases_size(), 1);
  EXPECT_EQ(list->cases(0).current_epoch(), 1u);
  EXPECT_EQ(list->cases(0).genesis_hash(), Str(case_.epochs[0].hash));
  absl::StatusOr<tvault::v1::GetCaseResponse> got = GetCase(bob_token_, case_);
  ASSERT_TRUE(got.ok()) << got.status();
  ASSERT_EQ(got->descriptors_size(), 2);
  EXPECT_EQ(got->descriptors(1).body(), case_.epochs[1].statement.body());

  const VerifiedDescriptor e2 =
      Next(case_, *alice_, Members({alice_.get()}, {alice_.get(), bob_.get()}));
  absl::StatusOr<tvault::v1::PublishDescriptorResponse> r =
      Publish(alice_token_, e2);
  ASSERT_TRUE(r.ok()) << r.status();
  const LogEntry entry = CheckReceipt(r->receipt());
  EXPECT_EQ(entry.descriptor_published().epoch(), 2u);
  list = ListCases(alice_token_);
  ASSERT_TRUE(list.ok());
  EXPECT_EQ(list->cases(0).current_epoch(), 2u);
  // The chain the vault returns verifies from the pinned genesis.
  got = GetCase(bob_token_, case_);
  ASSERT_TRUE(got.ok());
  absl::StatusOr<crypto::CaseChain> chain =
      crypto::CaseChain::Create(case_.epochs[0].hash);
  ASSERT_TRUE(chain.ok());
  for (const SignedStatement& d : got->descriptors()) {
    EXPECT_TRUE(chain->Accept(d, directory_.Lookup()).ok());
  }
  EXPECT_EQ(chain->highest_epoch(), 2u);
}

TEST_F(VaultCoreTest, RenewalWithLaterNotAfterIsStored) {
  SetUpCaseWithMember();
  absl::StatusOr<VerifiedDescriptor> renewed = crypto::Renew(
      case_.epochs[1], kNow + 60 * kDay, alice_->cert, alice_->sign);
  ASSERT_TRUE(renewed.ok()) << renewed.status();
  absl::StatusOr<tvault::v1::PublishDescriptorResponse> r =
      Publish(alice_token_, *renewed);
  ASSERT_TRUE(r.ok()) << r.status();
  ASSERT_TRUE(r->has_receipt());
  EXPECT_EQ(CheckReceipt(r->receipt()).descriptor_published().epoch(), 1u);
  absl::StatusOr<tvault::v1::GetCaseResponse> got = GetCase(bob_token_, case_);
  ASSERT_TRUE(got.ok());
  ASSERT_EQ(got->descriptors_size(), 3);  // epoch 0, epoch 1 twice
  EXPECT_EQ(got->descriptors(2).body(), renewed->statement.body());
  absl::StatusOr<tvault::v1::ListCasesResponse> list = ListCases(bob_token_);
  ASSERT_TRUE(list.ok());
  EXPECT_EQ(list->cases(0).current_epoch(), 1u);
}

TEST_F(VaultCoreTest, RenewalWithEarlierNotAfterIsFailedPrecondition) {
  SetUpCaseWithMember();
  absl::StatusOr<VerifiedDescriptor> far = crypto::Renew(
      case_.epochs[1], kNow + 90 * kDay, alice_->cert, alice_->sign);
  absl::StatusOr<VerifiedDescriptor> near = crypto::Renew(
      case_.epochs[1], kNow + 60 * kDay, alice_->cert, alice_->sign);
  ASSERT_TRUE(far.ok() && near.ok());
  ASSERT_TRUE(Publish(alice_token_, *far).ok());
  const uint64_t size = LogSize();
  EXPECT_STATUS(Publish(alice_token_, *near).status(), kFailedPrecondition,
                "a renewal must carry a later not_after");
  // The original (earliest) version again is idempotent, not a renewal.
  EXPECT_TRUE(Publish(alice_token_, case_.epochs[1]).ok());
  EXPECT_EQ(LogSize(), size);
}

TEST_F(VaultCoreTest, RepublishingSameBytesIsIdempotent) {
  SetUpCaseWithMember();
  const uint64_t size = LogSize();
  for (int epoch : {0, 1}) {
    absl::StatusOr<tvault::v1::PublishDescriptorResponse> r =
        Publish(alice_token_, case_.epochs[static_cast<size_t>(epoch)]);
    ASSERT_TRUE(r.ok()) << r.status();
    EXPECT_FALSE(r->has_receipt());
    EXPECT_EQ(r->descriptor_hash(),
              Str(case_.epochs[static_cast<size_t>(epoch)].hash));
  }
  EXPECT_EQ(LogSize(), size);
  absl::StatusOr<tvault::v1::GetCaseResponse> got =
      GetCase(alice_token_, case_);
  ASSERT_TRUE(got.ok());
  EXPECT_EQ(got->descriptors_size(), 2);
}

TEST_F(VaultCoreTest, DifferentDescriptorForPublishedEpochIsAlreadyExists) {
  SetUpCaseWithMember();
  // Another epoch 1 (another key and membership) after epoch 1 exists.
  TestCase fork = ForkOf(case_, 1);
  const VerifiedDescriptor other =
      Next(fork, *alice_, Members({alice_.get()}, {alice_.get()}));
  const uint64_t size = LogSize();
  EXPECT_STATUS(Publish(alice_token_, other).status(), kAlreadyExists,
                "a different descriptor for epoch 1 is already published");
  EXPECT_EQ(LogSize(), size);
  // Another genesis for the same case id too.
  TestCase other_genesis;
  other_genesis.id = case_.id;
  const VerifiedDescriptor g2 =
      Genesis(other_genesis, *alice_, Members({alice_.get()}, {alice_.get()}));
  EXPECT_EQ(Publish(alice_token_, g2).status().code(),
            absl::StatusCode::kFailedPrecondition);
  EXPECT_EQ(LogSize(), size);
}

TEST_F(VaultCoreTest, EpochLowerThanCurrentIsFailedPrecondition) {
  SetUpCaseWithMember();
  TestCase fork = ForkOf(case_, 1);  // fork from epoch 0
  ASSERT_TRUE(
      Publish(alice_token_,
              Next(case_, *alice_, Members({alice_.get()}, {alice_.get()})))
          .ok());  // epoch 2
  const VerifiedDescriptor stale_e1 =
      Next(fork, *alice_, Members({alice_.get()}, {alice_.get()}));
  EXPECT_STATUS(Publish(alice_token_, stale_e1).status(), kFailedPrecondition,
                "epoch 1 is older than the case's current epoch 2");
}

TEST_F(VaultCoreTest, SkippingAnEpochIsFailedPrecondition) {
  SetUpCaseWithMember();
  Next(case_, *alice_, Members({alice_.get()}, {alice_.get()}));  // epoch 2
  const VerifiedDescriptor e3 =
      Next(case_, *alice_, Members({alice_.get()}, {alice_.get()}));
  const uint64_t size = LogSize();
  EXPECT_STATUS(Publish(alice_token_, e3).status(), kFailedPrecondition,
                "skips epoch 2");
  EXPECT_EQ(LogSize(), size);
}

TEST_F(VaultCoreTest, LaterEpochOfUnknownCaseIsNotFound) {
  std::unique_ptr<Account> a = NewAccount("alice");
  const SessionTokenHash token = Enrol(*a);
  TestCase c;
  Genesis(c, *a, Members({a.get()}, {a.get()}));  // never published
  const VerifiedDescriptor e1 = Next(c, *a, Members({a.get()}, {a.get()}));
  EXPECT_STATUS(Publish(token, e1).status(), kNotFound,
                "publish its epoch-0 descriptor first");
  EXPECT_STATUS(GetCase(token, c).status(), kNotFound, "no case with that id");
}

TEST_F(VaultCoreTest, RefusesCaseIdOfWrongSize) {
  std::unique_ptr<Account> a = NewAccount("alice");
  const SessionTokenHash token = Enrol(*a);
  tvault::v1::GetCaseRequest r;
  r.set_case_id(std::string(15, '\x01'));
  EXPECT_STATUS(core_->GetCase(&token, r).status(), kInvalidArgument,
                "a case id is 16 bytes");
}

TEST_F(VaultCoreTest, DescriptorSignedByOwnerButSentByMemberIsDenied) {
  SetUpCaseWithMember();
  const VerifiedDescriptor e2 =
      Next(case_, *alice_, Members({alice_.get()}, {alice_.get(), bob_.get()}));
  const uint64_t size = LogSize();
  EXPECT_STATUS(Publish(bob_token_, e2).status(), kPermissionDenied,
                "only an owner of the case's current epoch (1)");
  EXPECT_EQ(LogSize(), size);
}

TEST_F(VaultCoreTest, DescriptorSignedByAnotherOwnerIsDenied) {
  SetUpCaseWithMember();
  std::unique_ptr<Account> carol = NewAccount("carol");
  const SessionTokenHash carol_token = Enrol(*carol);
  const VerifiedDescriptor e2 =
      Next(case_, *alice_,
           Members({alice_.get(), carol.get()}, {alice_.get(), carol.get()}));
  ASSERT_TRUE(Publish(alice_token_, e2).ok());
  // Carol, an owner of epoch 2, publishes an epoch 3 that Alice signed.
  const VerifiedDescriptor e3 =
      Next(case_, *alice_,
           Members({alice_.get(), carol.get()}, {alice_.get(), carol.get()}));
  EXPECT_STATUS(Publish(carol_token, e3).status(), kPermissionDenied,
                "signed by another owner");
  // Alice herself may.
  EXPECT_TRUE(Publish(alice_token_, e3).ok());
}

TEST_F(VaultCoreTest, MemberSigningNextEpochIsDenied) {
  SetUpCaseWithMember();
  // Bob signs an epoch 2 itself (forged through the raw statement API,
  // since CreateNextEpoch refuses non-owners).
  tvault::v1::CaseDescriptor body = case_.epochs[1].body;
  body.set_epoch(2);
  body.set_prev_descriptor_hash(Str(case_.epochs[1].hash));
  body.clear_owners();
  body.add_owners(Str(bob_->cert.fingerprint));
  const SignedStatement by_bob = crypto::SignStatement(
      crypto::StatementType::kDescriptor, body, bob_->sign);
  const uint64_t size = LogSize();
  EXPECT_STATUS(Publish(bob_token_, by_bob).status(), kPermissionDenied,
                "only an owner");
  // Not even through the owner's session: the signature is not an owner's.
  EXPECT_STATUS(Publish(alice_token_, by_bob).status(), kPermissionDenied,
                "not signed by any owner");
  EXPECT_EQ(LogSize(), size);
}

TEST_F(VaultCoreTest, ForgedGenesisIsDenied) {
  std::unique_ptr<Account> a = NewAccount("alice");
  const SessionTokenHash token = Enrol(*a);
  TestCase c;
  const VerifiedDescriptor g = Genesis(c, *a, Members({a.get()}, {a.get()}));
  EXPECT_STATUS(Publish(token, FlipSignatureBit(g.statement)).status(),
                kPermissionDenied, "must be signed by one of its owners");
  EXPECT_EQ(LogSize(), 1u);
  EXPECT_STATUS(GetCase(token, c).status(), kNotFound, "no case with that id");
}

TEST_F(VaultCoreTest, GenesisOfAnUnregisteredCreatorIsDenied) {
  std::unique_ptr<Account> a = NewAccount("alice");
  const SessionTokenHash token = Enrol(*a);
  std::unique_ptr<Account> ghost = NewAccount("ghost");  // not registered
  TestCase c;
  const VerifiedDescriptor g =
      Genesis(c, *ghost, Members({ghost.get(), a.get()}, {a.get()}));
  EXPECT_STATUS(Publish(token, g).status(), kPermissionDenied,
                "registered certificate");
}

TEST_F(VaultCoreTest, GenesisSentByNonOwnerIsDenied) {
  std::unique_ptr<Account> a = NewAccount("alice");
  std::unique_ptr<Account> c_acct = NewAccount("carol");
  Enrol(*a);
  const SessionTokenHash carol = Enrol(*c_acct);
  TestCase c;
  const VerifiedDescriptor g = Genesis(c, *a, Members({a.get()}, {a.get()}));
  EXPECT_STATUS(Publish(carol, g).status(), kPermissionDenied, "only an owner");
  EXPECT_EQ(LogSize(), 2u);
}

TEST_F(VaultCoreTest, RefusesMalformedOrInvalidDescriptor) {
  std::unique_ptr<Account> a = NewAccount("alice");
  const SessionTokenHash token = Enrol(*a);
  TestCase c;
  const VerifiedDescriptor g = Genesis(c, *a, Members({a.get()}, {a.get()}));
  EXPECT_STATUS(
      Publish(token, ResignRaw(crypto::StatementType::kDescriptor,
                               WithUnknownField(g.statement.body()), a->sign))
          .status(),
      kInvalidArgument, "the descriptor is malformed");
  tvault::v1::CaseDescriptor no_owners = g.body;
  no_owners.clear_owners();
  EXPECT_STATUS(
      Publish(token, crypto::SignStatement(crypto::StatementType::kDescriptor,
                                           no_owners, a->sign))
          .status(),
      kInvalidArgument, "the descriptor is invalid");
  tvault::v1::CaseDescriptor short_id = g.body;
  short_id.set_case_id(std::string(8, '\x01'));
  EXPECT_EQ(
      Publish(token, crypto::SignStatement(crypto::StatementType::kDescriptor,
                                           short_id, a->sign))
          .status()
          .code(),
      absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(Publish(token, SignedStatement()).status().code(),
            absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(LogSize(), 1u);
}

TEST_F(VaultCoreTest, NonListedAccountCannotReadCase) {
  SetUpCaseWithMember();
  std::unique_ptr<Account> carol = NewAccount("carol");
  const SessionTokenHash carol_token = Enrol(*carol);
  EXPECT_STATUS(GetCase(carol_token, case_).status(), kPermissionDenied,
                "you are not listed in any epoch of this case");
  absl::StatusOr<tvault::v1::ListCasesResponse> list = ListCases(carol_token);
  ASSERT_TRUE(list.ok()) << list.status();
  EXPECT_EQ(list->cases_size(), 0);
}

TEST_F(VaultCoreTest, NonListedAccountCannotPublishGrantsOrDescriptors) {
  SetUpCaseWithMember();
  std::unique_ptr<Account> carol = NewAccount("carol");
  const SessionTokenHash carol_token = Enrol(*carol);
  const VerifiedDescriptor e2 =
      Next(case_, *alice_, Members({alice_.get()}, {alice_.get(), bob_.get()}));
  EXPECT_STATUS(Publish(carol_token, e2).status(), kPermissionDenied,
                "only an owner");
  EXPECT_STATUS(
      PublishGrants(carol_token, {Grant(case_, 1, *bob_, *alice_)}).status(),
      kPermissionDenied, "may publish grants");
}

TEST_F(VaultCoreTest, ContributorListedAsOwnerCannotPublish) {
  std::unique_ptr<Account> d = NewAccount("dana", {tvault::v1::CONTRIBUTOR});
  const SessionTokenHash token = Enrol(*d);
  TestCase c;
  const VerifiedDescriptor g = Genesis(c, *d, Members({d.get()}, {}));
  EXPECT_STATUS(Publish(token, g).status(), kPermissionDenied,
                "owning a case needs the reviewer role");
  EXPECT_EQ(LogSize(), 1u);
}

TEST_F(VaultCoreTest, ContributorCoOwnerCannotPublishNextEpoch) {
  SetUpCaseWithMember();
  std::unique_ptr<Account> d = NewAccount("dana", {tvault::v1::CONTRIBUTOR});
  const SessionTokenHash dana = Enrol(*d);
  ASSERT_TRUE(Publish(alice_token_, Next(case_, *alice_,
                                         Members({alice_.get(), d.get()},
                                                 {alice_.get()}, {d.get()})))
                  .ok());
  // Dana can read the case (listed) but not act as its owner.
  EXPECT_TRUE(GetCase(dana, case_).ok());
  const VerifiedDescriptor e3 =
      Next(case_, *d, Members({alice_.get(), d.get()}, {alice_.get()}));
  EXPECT_STATUS(Publish(dana, e3).status(), kPermissionDenied, "reviewer role");
}

TEST_F(VaultCoreTest, ContributorSeesCaseWithoutGrants) {
  SetUpCaseWithMember();
  std::unique_ptr<Account> d = NewAccount("dana", {tvault::v1::CONTRIBUTOR});
  const SessionTokenHash dana = Enrol(*d);
  ASSERT_TRUE(Publish(alice_token_,
                      Next(case_, *alice_,
                           Members({alice_.get()}, {alice_.get(), bob_.get()},
                                   {d.get()})))
                  .ok());
  absl::StatusOr<tvault::v1::ListCasesResponse> list = ListCases(dana);
  ASSERT_TRUE(list.ok());
  ASSERT_EQ(list->cases_size(), 1);
  absl::StatusOr<tvault::v1::GetCaseResponse> got = GetCase(dana, case_);
  ASSERT_TRUE(got.ok()) << got.status();
  EXPECT_EQ(got->descriptors_size(), 3);
  EXPECT_EQ(got->grants_size(), 0);
}

TEST_F(VaultCoreTest, NotAfterInThePastIsFailedPrecondition) {
  std::unique_ptr<Account> a = NewAccount("alice");
  const SessionTokenHash token = Enrol(*a);
  for (int64_t not_after : {now_ - 1, now_}) {
    TestCase c;
    const VerifiedDescriptor g =
        Genesis(c, *a, Members({a.get()}, {a.get()}), not_after);
    EXPECT_STATUS(Publish(token, g).status(), kFailedPrecondition,
                  "not_after is already past");
    EXPECT_STATUS(GetCase(token, c).status(), kNotFound, "no case");
  }
  EXPECT_EQ(LogSize(), 1u);
}

TEST_F(VaultCoreTest, NextEpochWithPastNotAfterIsFailedPrecondition) {
  SetUpCaseWithMember();
  now_ += 31 * kDay;  // epoch 1 has lapsed; the accounts are still valid
  alice_token_ = Login(*alice_);
  const VerifiedDescriptor stale =
      Next(case_, *alice_, Members({alice_.get()}, {alice_.get()}), now_ - 1);
  EXPECT_STATUS(Publish(alice_token_, stale).status(), kFailedPrecondition,
                "not_after is already past");
}

TEST_F(VaultCoreTest, RemovedMemberLosesAccess) {
  SetUpCaseWithMember();
  Next(case_, *alice_, Members({alice_.get()}, {alice_.get(), bob_.get()}));
  ASSERT_TRUE(Publish(alice_token_, case_.epochs[2]).ok());
  EXPECT_TRUE(GetCase(bob_token_, case_).ok());
  // Epoch 3 drops Bob.
  ASSERT_TRUE(
      Publish(alice_token_,
              Next(case_, *alice_, Members({alice_.get()}, {alice_.get()})))
          .ok());
  // Bob still reads the descriptors (he must verify the records of the
  // epochs he held) but is out of the case's listing and of epoch 3.
  EXPECT_TRUE(GetCase(bob_token_, case_).ok());
  absl::StatusOr<tvault::v1::ListCasesResponse> list = ListCases(bob_token_);
  ASSERT_TRUE(list.ok());
  EXPECT_EQ(list->cases_size(), 0);
  // Alice keeps it.
  list = ListCases(alice_token_);
  ASSERT_TRUE(list.ok());
  ASSERT_EQ(list->cases_size(), 1);
  EXPECT_EQ(list->cases(0).current_epoch(), 3u);
}

TEST_F(VaultCoreTest, RemovedMemberCannotGetGrantsOfLaterEpochs) {
  SetUpCaseWithMember();
  ASSERT_TRUE(
      Publish(alice_token_,
              Next(case_, *alice_, Members({alice_.get()}, {alice_.get()})))
          .ok());  // epoch 2 without Bob
  // CreateGrant refuses; a hand-made grant for epoch 2 is refused too.
  tvault::v1::GrantRecord g = Grant(case_, 1, *bob_, *alice_);
  tvault::v1::Grant body;
  ASSERT_TRUE(crypto::ParseStrictly(g.grant().body(), body).ok());
  body.set_epoch(2);
  body.set_recipient(case_.identities[2].recipient().Encode());
  *g.mutable_grant() =
      crypto::SignStatement(crypto::StatementType::kGrant, body, alice_->sign);
  EXPECT_STATUS(PublishGrants(alice_token_, {g}).status(), kPermissionDenied,
                "grant 1:");
}

TEST_F(VaultCoreTest, CasesAreListedOnlyToTheirParticipants) {
  std::unique_ptr<Account> a = NewAccount("alice");
  std::unique_ptr<Account> b = NewAccount("bob");
  const SessionTokenHash ta = Enrol(*a);
  const SessionTokenHash tb = Enrol(*b);
  TestCase ca;
  TestCase cb;
  ASSERT_TRUE(Publish(ta, Genesis(ca, *a, Members({a.get()}, {a.get()}))).ok());
  ASSERT_TRUE(Publish(tb, Genesis(cb, *b, Members({b.get()}, {b.get()}))).ok());
  absl::StatusOr<tvault::v1::ListCasesResponse> la = ListCases(ta);
  absl::StatusOr<tvault::v1::ListCasesResponse> lb = ListCases(tb);
  ASSERT_TRUE(la.ok() && lb.ok());
  ASSERT_EQ(la->cases_size(), 1);
  ASSERT_EQ(lb->cases_size(), 1);
  EXPECT_EQ(la->cases(0).case_id(), Str(ca.id));
  EXPECT_EQ(lb->cases(0).case_id(), Str(cb.id));
  EXPECT_EQ(GetCase(ta, cb).status().code(),
            absl::StatusCode::kPermissionDenied);
}

TEST_F(VaultCoreTest, RepublishingIsRefusedToNonOwners) {
  SetUpCaseWithMember();
  std::unique_ptr<Account> carol = NewAccount("carol");
  const SessionTokenHash carol_token = Enrol(*carol);
  // Carol, listed nowhere, learns that the vault holds this case.
  EXPECT_STATUS(Publish(carol_token, case_.epochs[0]).status(),
                kPermissionDenied, "only an owner");
  // A corrupted signature over a stored body is not "what is stored".
  EXPECT_EQ(Publish(alice_token_, FlipSignatureBit(case_.epochs[1].statement))
                .status()
                .code(),
            absl::StatusCode::kPermissionDenied);
}

// ===================================================================
// Rights (vault/rights.h)
// ===================================================================

TEST_F(VaultCoreTest, InviteSessionCanOnlySubmit) {
  SetUpCaseWithMember();
  const SessionTokenHash hash = InviteSession(case_, 1);
  const std::string why = "an invite can only be used to submit records";
  EXPECT_STATUS(ListCases(hash).status(), kPermissionDenied, why);
  EXPECT_STATUS(GetCase(hash, case_).status(), kPermissionDenied, why);
  EXPECT_STATUS(Publish(hash, Next(case_, *alice_,
                                   Members({alice_.get()}, {alice_.get()})))
                    .status(),
                kPermissionDenied, why);
  EXPECT_STATUS(PublishGrants(hash, {Grant(case_, 1, *bob_, *alice_)}).status(),
                kPermissionDenied, why);
  // Log entries are for accounts only.
  EXPECT_STATUS(core_->GetCheckpoint(&hash).status(), kPermissionDenied, why);
  tvault::v1::GetLogEntriesRequest range;
  range.set_end(1);
  EXPECT_STATUS(core_->GetLogEntries(&hash, range).status(), kPermissionDenied,
                why);
  tvault::v1::GetConsistencyProofRequest con;
  con.set_old_size(1);
  con.set_new_size(2);
  EXPECT_STATUS(core_->GetConsistencyProof(&hash, con).status(),
                kPermissionDenied, why);
}

// ===================================================================
// GetCertificates
// ===================================================================

tvault::v1::GetCertificatesRequest CertificatesOf(
    std::vector<const Account*> accounts) {
  tvault::v1::GetCertificatesRequest r;
  for (const Account* a : accounts) {
    r.add_cert_fingerprints(Str(a->cert.fingerprint));
  }
  return r;
}

TEST_F(VaultCoreTest, GetCertificatesServesRegisteredCertificatesInOrder) {
  SetUpCaseWithMember();
  std::unique_ptr<Account> carol = NewAccount("carol");
  ASSERT_TRUE(Register(*carol).ok());
  absl::StatusOr<tvault::v1::GetCertificatesResponse> got =
      core_->GetCertificates(
          &alice_token_,
          CertificatesOf({bob_.get(), carol.get(), alice_.get()}));
  ASSERT_TRUE(got.ok()) << got.status();
  ASSERT_EQ(got->certificates_size(), 3);
  // Byte for byte as registered, and each verifies to what was asked for.
  const Account* want[] = {bob_.get(), carol.get(), alice_.get()};
  for (int i = 0; i < 3; ++i) {
    const Account& a = *want[i];
    EXPECT_EQ(got->certificates(i).SerializeAsString(),
              a.cert.statement.SerializeAsString());
    absl::StatusOr<crypto::VerifiedCertificate> v =
        crypto::VerifyCertificate(got->certificates(i), root_.public_key());
    ASSERT_TRUE(v.ok()) << v.status();
    EXPECT_EQ(v->fingerprint, a.cert.fingerprint);
    EXPECT_EQ(v->body.box_pk(), a.cert.body.box_pk());
  }
  EXPECT_EQ(got->revocations_size(), 0);
  // Reading certificates is not a state change.
  const uint64_t size = LogSize();
  EXPECT_TRUE(
      core_->GetCertificates(&bob_token_, CertificatesOf({alice_.get()})).ok());
  EXPECT_EQ(LogSize(), size);
}

TEST_F(VaultCoreTest, GetCertificatesAddsTheRevocationsItHolds) {
  SetUpCaseWithMember();
  std::unique_ptr<Account> carol = NewAccount("carol");
  ASSERT_TRUE(Register(*carol).ok());
  // Carol is revoked now, Bob from a later time: both revocations are
  // served, in request order, whatever their revoked_at.
  const SignedStatement carol_rev =
      Revocation(carol->cert.fingerprint, now_, "left", root_);
  const SignedStatement bob_rev =
      Revocation(bob_->cert.fingerprint, now_ + kDay, "leaving", root_);
  ASSERT_TRUE(Revoke(carol_rev).ok());
  ASSERT_TRUE(Revoke(bob_rev).ok());
  absl::StatusOr<tvault::v1::GetCertificatesResponse> got =
      core_->GetCertificates(
          &alice_token_,
          CertificatesOf({bob_.get(), alice_.get(), carol.get()}));
  ASSERT_TRUE(got.ok()) << got.status();
  ASSERT_EQ(got->certificates_size(), 3);
  EXPECT_EQ(got->certificates(2).SerializeAsString(),
            carol->cert.statement.SerializeAsString());
  ASSERT_EQ(got->revocations_size(), 2);
  EXPECT_EQ(got->revocations(0).SerializeAsString(),
            bob_rev.SerializeAsString());
  EXPECT_EQ(got->revocations(1).SerializeAsString(),
            carol_rev.SerializeAsString());
}

TEST_F(VaultCoreTest, GetCertificatesOfAnUnregisteredCertificateIsNotFound) {
  SetUpCaseWithMember();
  // Revoked before it was ever registered: still not registered.
  std::unique_ptr<Account> dave = NewAccount("dave");
  ASSERT_TRUE(
      Revoke(Revocation(dave->cert.fingerprint, now_, "lost", root_)).ok());
  EXPECT_STATUS(core_
                    ->GetCertificates(&alice_token_,
                                      CertificatesOf({bob_.get(), dave.get()}))
                    .status(),
                kNotFound,
                absl::StrCat("no certificate with fingerprint ",
                             crypto::FormatFingerprint(dave->cert.fingerprint),
                             " is registered"));
}

TEST_F(VaultCoreTest, GetCertificatesIsForAccountsOnly) {
  SetUpCaseWithMember();
  const tvault::v1::GetCertificatesRequest r = CertificatesOf({bob_.get()});
  EXPECT_STATUS(core_->GetCertificates(nullptr, r).status(), kUnauthenticated,
                "sign in");
  const SessionTokenHash invite = InviteSession(case_, 1);
  EXPECT_STATUS(core_->GetCertificates(&invite, r).status(), kPermissionDenied,
                "an invite can only be used to submit records");
  // An account in no case may read them (to check a fingerprint).
  std::unique_ptr<Account> erin = NewAccount("erin");
  const SessionTokenHash erin_token = Enrol(*erin);
  EXPECT_TRUE(core_->GetCertificates(&erin_token, r).ok());
}

TEST_F(VaultCoreTest, GetCertificatesRefusesMalformedRequests) {
  SetUpCaseWithMember();
  tvault::v1::GetCertificatesRequest r;
  EXPECT_STATUS(core_->GetCertificates(&alice_token_, r).status(),
                kInvalidArgument, "at least one");
  for (int i = 0; i < kMaxCertificatesPerCall; ++i) {
    std::string fp(16, '\0');
    fp[0] = static_cast<char>(i);
    r.add_cert_fingerprints(fp);
  }
  // 100 distinct ones pass the checks (and are not registered).
  EXPECT_EQ(core_->GetCertificates(&alice_token_, r).status().code(),
            absl::StatusCode::kNotFound);
  r.add_cert_fingerprints(std::string(16, '\x7f'));
  EXPECT_STATUS(core_->GetCertificates(&alice_token_, r).status(),
                kInvalidArgument, "at most 100 certificates");

  tvault::v1::GetCertificatesRequest twice =
      CertificatesOf({alice_.get(), bob_.get(), alice_.get()});
  EXPECT_STATUS(core_->GetCertificates(&alice_token_, twice).status(),
                kInvalidArgument, "fingerprint 3 is asked for twice");

  for (size_t size : {size_t{0}, size_t{15}, size_t{17}, size_t{32}}) {
    tvault::v1::GetCertificatesRequest bad = CertificatesOf({alice_.get()});
    bad.add_cert_fingerprints(std::string(size, 'f'));
    EXPECT_STATUS(core_->GetCertificates(&alice_token_, bad).status(),
                  kInvalidArgument,
                  absl::StrCat("fingerprint 2 is ", size, " bytes"));
  }
}

TEST_F(VaultCoreTest, SessionOfAnUnknownAccountIsDataLoss) {
  const SigningKey key = SigningKey::Generate();
  const std::string token(32, '\x22');
  const SessionTokenHash hash = SessionTokenHash::Of(AsBytes(token));
  ASSERT_TRUE(store_
                  ->RunInTransaction([&](StoreTransaction& txn) {
                    return txn.InsertSession(
                        SessionRow{.token_hash = hash,
                                   .sign_pk = key.public_key(),
                                   .kind = SessionKind::kAccount,
                                   .expires_at = now_ + 600});
                  })
                  .ok());
  EXPECT_STATUS(ListCases(hash).status(), kDataLoss,
                "a session refers to an unknown account");
}

TEST_F(VaultCoreTest, CheckAllowedDecidesByCurrentEpochAndRole) {
  SetUpCaseWithMember();
  std::unique_ptr<Account> dana = NewAccount("dana", {tvault::v1::CONTRIBUTOR});
  std::unique_ptr<Account> carol = NewAccount("carol");
  Next(case_, *alice_,
       Members({alice_.get(), dana.get()}, {alice_.get(), bob_.get()},
               {dana.get()}));
  const crypto::CaseChain chain = ChainOf(case_);  // epochs 0..2
  const auto caller = [](const Account& a) {
    Caller c;
    c.kind = SessionKind::kAccount;
    c.sign_pk = a.sign.public_key();
    c.certificate = a.cert;
    return c;
  };
  // Everyone with an account may list cases and read the log.
  for (const Account* a : {alice_.get(), bob_.get(), carol.get(), dana.get()}) {
    EXPECT_TRUE(
        CheckAllowed(caller(*a), Action::kListCases, nullptr, now_).ok());
    EXPECT_TRUE(CheckAllowed(caller(*a), Action::kReadLog, nullptr, now_).ok());
  }
  // Reading: owners, members and contributors of any epoch.
  for (const Account* a : {alice_.get(), bob_.get(), dana.get()}) {
    EXPECT_TRUE(CheckAllowed(caller(*a), Action::kReadCase, &chain, now_).ok())
        << a->cert.body.handle();
  }
  EXPECT_STATUS(CheckAllowed(caller(*carol), Action::kReadCase, &chain, now_),
                kPermissionDenied, "not listed in any epoch");
  // Publishing: reviewer owners only.
  for (Action act : {Action::kPublishDescriptor, Action::kPublishGrants}) {
    EXPECT_TRUE(CheckAllowed(caller(*alice_), act, &chain, now_).ok());
    EXPECT_STATUS(CheckAllowed(caller(*bob_), act, &chain, now_),
                  kPermissionDenied, "only an owner");
    EXPECT_STATUS(CheckAllowed(caller(*dana), act, &chain, now_),
                  kPermissionDenied, "owning a case needs the reviewer role");
  }
  // A case action without a chain is a programming error, not a yes.
  EXPECT_STATUS(CheckAllowed(caller(*alice_), Action::kReadCase, nullptr, now_),
                kInternal, "no case chain");
  // An account caller without its certificate is refused.
  Caller bare = caller(*alice_);
  bare.certificate.reset();
  EXPECT_EQ(CheckAllowed(bare, Action::kListCases, nullptr, now_).code(),
            absl::StatusCode::kPermissionDenied);
}

TEST_F(VaultCoreTest, CertificateIsCurrentUntilItsRevokedAt) {
  std::unique_ptr<Account> a = NewAccount("alice");
  ASSERT_TRUE(
      Revoke(Revocation(a->cert.fingerprint, now_ + 50, "planned", root_))
          .ok());
  ASSERT_TRUE(
      store_
          ->RunInTransaction([&](StoreTransaction& txn) {
            const absl::Span<const uint8_t> org = root_.public_key();
            EXPECT_TRUE(
                CheckCertificateCurrent(txn, a->cert, org, now_ + 49).ok());
            EXPECT_STATUS(CheckCertificateCurrent(txn, a->cert, org, now_ + 50),
                          kPermissionDenied, "revoked at");
            EXPECT_STATUS(CheckCertificateCurrent(txn, a->cert, org,
                                                  a->cert.body.not_after()),
                          kPermissionDenied, "expired at");
            EXPECT_STATUS(CheckCertificateCurrent(
                              txn, a->cert, org, a->cert.body.not_before() - 1),
                          kPermissionDenied, "not yet valid");
            EXPECT_STATUS(Authenticate(txn, nullptr, org, now_).status(),
                          kUnauthenticated, "sign in first");
            return absl::OkStatus();
          })
          .ok());
}

// ===================================================================
// Grants
// ===================================================================

TEST_F(VaultCoreTest, OwnerGrantsEpochIdentitiesToMember) {
  SetUpCaseWithMember();
  const uint64_t size = LogSize();
  // Bob was added in epoch 1; he also gets epoch 0 (a newcomer).
  absl::StatusOr<tvault::v1::PublishGrantsResponse> r = PublishGrants(
      alice_token_,
      {Grant(case_, 0, *bob_, *alice_), Grant(case_, 1, *bob_, *alice_)});
  ASSERT_TRUE(r.ok()) << r.status();
  ASSERT_EQ(r->receipts_size(), 2);
  EXPECT_EQ(LogSize(), size + 2);
  for (uint32_t epoch = 0; epoch < 2; ++epoch) {
    const Receipt& receipt = r->receipts(static_cast<int>(epoch));
    EXPECT_EQ(receipt.index(), size + epoch);
    const LogEntry entry = CheckReceipt(receipt);
    ASSERT_TRUE(entry.has_grant_added());
    EXPECT_EQ(entry.grant_added().case_id(), Str(case_.id));
    EXPECT_EQ(entry.grant_added().epoch(), epoch);
    EXPECT_EQ(entry.grant_added().member_cert_fingerprint(),
              Str(bob_->cert.fingerprint));
  }

  // Bob reads them back and opens them with his box identity.
  absl::StatusOr<tvault::v1::GetCaseResponse> got = GetCase(bob_token_, case_);
  ASSERT_TRUE(got.ok()) << got.status();
  ASSERT_EQ(got->grants_size(), 2);
  const crypto::CaseChain chain = ChainOf(case_);
  for (int i = 0; i < 2; ++i) {
    const tvault::v1::GrantRecord& g = got->grants(i);
    EXPECT_EQ(g.log_index(), r->receipts(i).index());
    absl::StatusOr<crypto::VerifiedGrant> v =
        crypto::VerifyGrant(g.grant(), chain, directory_.Lookup());
    ASSERT_TRUE(v.ok()) << v.status();
    EXPECT_EQ(v->body.epoch(), static_cast<uint32_t>(i));
    EXPECT_EQ(CheckReceipt(r->receipts(i)).grant_added().grant_sha256(),
              Str(crypto::ComputeSha256(AsBytes(g.grant().body()))));
    absl::StatusOr<X25519Identity> id =
        crypto::OpenGrant(*v, AsBytes(g.ciphertext()), bob_->box);
    ASSERT_TRUE(id.ok()) << id.status();
    EXPECT_EQ(id->recipient(),
              case_.identities[static_cast<size_t>(i)].recipient());
  }
  // Alice, who received no grant, sees none; grants are per member.
  absl::StatusOr<tvault::v1::GetCaseResponse> alice_view =
      GetCase(alice_token_, case_);
  ASSERT_TRUE(alice_view.ok());
  EXPECT_EQ(alice_view->grants_size(), 0);
}

TEST_F(VaultCoreTest, AlteredGrantCiphertextIsInvalidArgument) {
  SetUpCaseWithMember();
  tvault::v1::GrantRecord g = Grant(case_, 1, *bob_, *alice_);
  std::string ct = g.ciphertext();
  ct[ct.size() / 2] = static_cast<char>(ct[ct.size() / 2] ^ 0x01);
  g.set_ciphertext(ct);
  const uint64_t size = LogSize();
  EXPECT_STATUS(PublishGrants(alice_token_, {g}).status(), kInvalidArgument,
                "grant 1's ciphertext does not match the hash");
  EXPECT_EQ(LogSize(), size);
}

TEST_F(VaultCoreTest, OversizedGrantCiphertextIsInvalidArgument) {
  SetUpCaseWithMember();
  tvault::v1::GrantRecord g = Grant(case_, 1, *bob_, *alice_);
  const std::string big(crypto::kMaxGrantCiphertextSize + 1, 'x');
  tvault::v1::Grant body;
  ASSERT_TRUE(crypto::ParseStrictly(g.grant().body(), body).ok());
  body.set_ciphertext_sha256(Str(crypto::ComputeSha256(AsBytes(big))));
  *g.mutable_grant() =
      crypto::SignStatement(crypto::StatementType::kGrant, body, alice_->sign);
  g.set_ciphertext(big);
  EXPECT_STATUS(PublishGrants(alice_token_, {g}).status(), kInvalidArgument,
                "larger than 4096 bytes");
}

TEST_F(VaultCoreTest, MalformedGrantBodyIsInvalidArgument) {
  SetUpCaseWithMember();
  tvault::v1::GrantRecord good = Grant(case_, 1, *bob_, *alice_);
  tvault::v1::GrantRecord bad = good;
  *bad.mutable_grant() =
      ResignRaw(crypto::StatementType::kGrant,
                WithUnknownField(good.grant().body()), alice_->sign);
  EXPECT_STATUS(PublishGrants(alice_token_, {good, bad}).status(),
                kInvalidArgument, "grant 2 is malformed");
}

TEST_F(VaultCoreTest, GrantSignedByNonOwnerIsDenied) {
  SetUpCaseWithMember();
  // Bob (a member, not an owner) makes a grant of epoch 1 to Alice.
  tvault::v1::GrantRecord g = Grant(case_, 1, *bob_, *alice_);
  tvault::v1::Grant body;
  ASSERT_TRUE(crypto::ParseStrictly(g.grant().body(), body).ok());
  body.set_member_cert_fingerprint(Str(alice_->cert.fingerprint));
  body.set_granter_cert_fingerprint(Str(bob_->cert.fingerprint));
  *g.mutable_grant() =
      crypto::SignStatement(crypto::StatementType::kGrant, body, bob_->sign);
  const uint64_t size = LogSize();
  // Sent by Bob: he is not an owner.
  EXPECT_STATUS(PublishGrants(bob_token_, {g}).status(), kPermissionDenied,
                "only an owner of the case's current epoch (1) may publish "
                "grants");
  // Sent by Alice: the grant's signer is not an owner.
  EXPECT_STATUS(PublishGrants(alice_token_, {g}).status(), kPermissionDenied,
                "grant 1:");
  EXPECT_EQ(LogSize(), size);
}

TEST_F(VaultCoreTest, GrantSignedByAnotherOwnerIsDenied) {
  SetUpCaseWithMember();
  std::unique_ptr<Account> carol = NewAccount("carol");
  const SessionTokenHash carol_token = Enrol(*carol);
  ASSERT_TRUE(Publish(alice_token_,
                      Next(case_, *alice_,
                           Members({alice_.get(), carol.get()},
                                   {alice_.get(), bob_.get(), carol.get()})))
                  .ok());
  const tvault::v1::GrantRecord by_alice = Grant(case_, 2, *bob_, *alice_);
  EXPECT_STATUS(PublishGrants(carol_token, {by_alice}).status(),
                kPermissionDenied, "signed by another owner");
  EXPECT_TRUE(PublishGrants(alice_token_, {by_alice}).ok());
}

TEST_F(VaultCoreTest, GrantToMemberNotListedIsDenied) {
  SetUpCaseWithMember();
  std::unique_ptr<Account> carol = NewAccount("carol");
  Enrol(*carol);
  // Alice signs a grant of epoch 1 to Carol, who is listed nowhere.
  tvault::v1::GrantRecord g = Grant(case_, 1, *bob_, *alice_);
  tvault::v1::Grant body;
  ASSERT_TRUE(crypto::ParseStrictly(g.grant().body(), body).ok());
  body.set_member_cert_fingerprint(Str(carol->cert.fingerprint));
  *g.mutable_grant() =
      crypto::SignStatement(crypto::StatementType::kGrant, body, alice_->sign);
  const uint64_t size = LogSize();
  EXPECT_STATUS(PublishGrants(alice_token_, {g}).status(), kPermissionDenied,
                "grant 1:");
  EXPECT_EQ(LogSize(), size);
}

TEST_F(VaultCoreTest, GrantNamingAnotherRecipientIsRefused) {
  SetUpCaseWithMember();
  tvault::v1::GrantRecord g = Grant(case_, 1, *bob_, *alice_);
  tvault::v1::Grant body;
  ASSERT_TRUE(crypto::ParseStrictly(g.grant().body(), body).ok());
  body.set_recipient(case_.identities[0].recipient().Encode());  // epoch 0's
  *g.mutable_grant() =
      crypto::SignStatement(crypto::StatementType::kGrant, body, alice_->sign);
  EXPECT_STATUS(PublishGrants(alice_token_, {g}).status(), kFailedPrecondition,
                "grant 1:");
}

TEST_F(VaultCoreTest, SameGrantTwiceIsIdempotent) {
  SetUpCaseWithMember();
  const tvault::v1::GrantRecord g = Grant(case_, 1, *bob_, *alice_);
  ASSERT_TRUE(PublishGrants(alice_token_, {g}).ok());
  const uint64_t size = LogSize();
  absl::StatusOr<tvault::v1::PublishGrantsResponse> again =
      PublishGrants(alice_token_, {g});
  ASSERT_TRUE(again.ok()) << again.status();
  ASSERT_EQ(again->receipts_size(), 1);
  EXPECT_TRUE(again->receipts(0).checkpoint().empty());
  EXPECT_TRUE(again->receipts(0).entry().empty());
  EXPECT_EQ(LogSize(), size);
  absl::StatusOr<tvault::v1::GetCaseResponse> got = GetCase(bob_token_, case_);
  ASSERT_TRUE(got.ok());
  EXPECT_EQ(got->grants_size(), 1);
}

TEST_F(VaultCoreTest, DifferentGrantForSameMemberAndEpochIsAlreadyExists) {
  SetUpCaseWithMember();
  ASSERT_TRUE(
      PublishGrants(alice_token_, {Grant(case_, 1, *bob_, *alice_)}).ok());
  const uint64_t size = LogSize();
  // A fresh encryption of the same identity: another ciphertext.
  EXPECT_STATUS(
      PublishGrants(alice_token_, {Grant(case_, 1, *bob_, *alice_)}).status(),
      kAlreadyExists, "already holds a grant for epoch 1");
  EXPECT_EQ(LogSize(), size);
}

TEST_F(VaultCoreTest, GrantBatchIsAllOrNothing) {
  SetUpCaseWithMember();
  std::unique_ptr<Account> carol = NewAccount("carol");
  Enrol(*carol);
  tvault::v1::GrantRecord bad = Grant(case_, 1, *bob_, *alice_);
  tvault::v1::Grant body;
  ASSERT_TRUE(crypto::ParseStrictly(bad.grant().body(), body).ok());
  body.set_member_cert_fingerprint(Str(carol->cert.fingerprint));
  *bad.mutable_grant() =
      crypto::SignStatement(crypto::StatementType::kGrant, body, alice_->sign);
  const uint64_t size = LogSize();
  EXPECT_STATUS(
      PublishGrants(alice_token_, {Grant(case_, 0, *bob_, *alice_), bad})
          .status(),
      kPermissionDenied, "grant 2:");
  EXPECT_EQ(LogSize(), size);
  absl::StatusOr<tvault::v1::GetCaseResponse> got = GetCase(bob_token_, case_);
  ASSERT_TRUE(got.ok());
  EXPECT_EQ(got->grants_size(), 0);
}

TEST_F(VaultCoreTest, TooManyGrantsIsResourceExhausted) {
  SetUpCaseWithMember();
  const tvault::v1::GrantRecord g = Grant(case_, 1, *bob_, *alice_);
  tvault::v1::PublishGrantsRequest r;
  for (int64_t i = 0; i <= config_.max_grants_per_request; ++i) {
    *r.add_grants() = g;
  }
  EXPECT_STATUS(core_->PublishGrants(&alice_token_, r).status(),
                kResourceExhausted, "at most 256 grants");
  // Limits come before authentication.
  EXPECT_EQ(core_->PublishGrants(nullptr, r).status().code(),
            absl::StatusCode::kResourceExhausted);
}

TEST_F(VaultCoreTest, EmptyGrantRequestIsInvalidArgument) {
  SetUpCaseWithMember();
  EXPECT_STATUS(PublishGrants(alice_token_, {}).status(), kInvalidArgument,
                "the request holds no grants");
}

TEST_F(VaultCoreTest, GrantForUnknownCaseIsNotFound) {
  SetUpCaseWithMember();
  TestCase ghost;
  Genesis(ghost, *alice_, Members({alice_.get()}, {alice_.get(), bob_.get()}));
  EXPECT_STATUS(
      PublishGrants(alice_token_, {Grant(ghost, 0, *bob_, *alice_)}).status(),
      kNotFound, "no case with that id");
}

// ===================================================================
// Log calls
// ===================================================================

class VaultCoreLogTest : public VaultCoreTest {
 protected:
  // Seven state changes: two registrations, two descriptors, two grants,
  // one revocation (of an unregistered certificate).
  void SetUp() override {
    VaultCoreTest::SetUp();
    SetUpCaseWithMember();
    ASSERT_TRUE(PublishGrants(alice_token_, {Grant(case_, 0, *bob_, *alice_),
                                             Grant(case_, 1, *bob_, *alice_)})
                    .ok());
    std::unique_ptr<Account> lost = NewAccount("lost");
    ASSERT_TRUE(
        Revoke(Revocation(lost->cert.fingerprint, now_, "lost", root_)).ok());
  }

  std::vector<std::string> Entries() {
    tvault::v1::GetLogEntriesRequest r;
    r.set_begin(0);
    r.set_end(kChanges);
    absl::StatusOr<tvault::v1::GetLogEntriesResponse> got =
        core_->GetLogEntries(&alice_token_, r);
    EXPECT_TRUE(got.ok()) << got.status();
    if (!got.ok()) return {};
    return {got->entries().begin(), got->entries().end()};
  }

  std::vector<crypto::Hash> Leaves() {
    std::vector<crypto::Hash> leaves;
    for (const std::string& e : Entries()) {
      leaves.push_back(crypto::LeafHash(AsBytes(e)));
    }
    return leaves;
  }

  static std::vector<crypto::Hash> Hashes(const tvault::v1::Proof& p) {
    std::vector<crypto::Hash> out;
    for (const std::string& h : p.hashes()) {
      absl::StatusOr<crypto::Hash> hash = crypto::HashFromBytes(AsBytes(h));
      EXPECT_TRUE(hash.ok());
      if (hash.ok()) out.push_back(*hash);
    }
    return out;
  }

  static constexpr uint64_t kChanges = 7;
};

TEST_F(VaultCoreLogTest, CheckpointVerifiesAndCountsStateChanges) {
  absl::StatusOr<tvault::v1::SignedCheckpoint> got =
      core_->GetCheckpoint(&bob_token_);
  ASSERT_TRUE(got.ok()) << got.status();
  absl::StatusOr<crypto::Checkpoint> cp = OpenCheckpoint(got->checkpoint());
  ASSERT_TRUE(cp.ok()) << cp.status();
  EXPECT_EQ(cp->origin, kOrigin);
  EXPECT_EQ(cp->tree_size, kChanges);
  EXPECT_EQ(cp->root_hash, crypto::RootFromLeafHashes(Leaves()));
  // Reads are not state changes.
  EXPECT_EQ(LogSize(), kChanges);
  // A note signed by another key is not this log's.
  absl::StatusOr<crypto::NoteSigner> other =
      crypto::NoteSigner::Generate(kOrigin);
  ASSERT_TRUE(other.ok());
  const crypto::NoteVerifier verifiers[] = {other->verifier()};
  EXPECT_FALSE(crypto::OpenNote(got->checkpoint(), verifiers).ok());
}

TEST_F(VaultCoreLogTest, EntriesRecordEachChangeInOrder) {
  const std::vector<std::string> entries = Entries();
  ASSERT_EQ(entries.size(), kChanges);
  std::vector<LogEntry::EventCase> kinds;
  for (const std::string& e : entries) {
    LogEntry entry;
    ASSERT_TRUE(crypto::ParseStrictly(e, entry).ok());
    EXPECT_EQ(entry.version(), 1u);
    EXPECT_EQ(entry.logged_at(), kNow);
    kinds.push_back(entry.event_case());
  }
  EXPECT_EQ(kinds, (std::vector<LogEntry::EventCase>{
                       LogEntry::kCertificateRegistered,
                       LogEntry::kCertificateRegistered,
                       LogEntry::kDescriptorPublished,
                       LogEntry::kDescriptorPublished, LogEntry::kGrantAdded,
                       LogEntry::kGrantAdded, LogEntry::kCertificateRevoked}));
}

TEST_F(VaultCoreLogTest, GetLogEntriesRanges) {
  tvault::v1::GetLogEntriesRequest r;
  r.set_begin(2);
  r.set_end(5);
  absl::StatusOr<tvault::v1::GetLogEntriesResponse> got =
      core_->GetLogEntries(&alice_token_, r);
  ASSERT_TRUE(got.ok()) << got.status();
  ASSERT_EQ(got->entries_size(), 3);
  EXPECT_EQ(got->entries(0), Entries()[2]);
  // Empty range at the end.
  r.set_begin(kChanges);
  r.set_end(kChanges);
  got = core_->GetLogEntries(&alice_token_, r);
  ASSERT_TRUE(got.ok()) << got.status();
  EXPECT_EQ(got->entries_size(), 0);
}

TEST_F(VaultCoreLogTest, GetLogEntriesRefusesBackwardsRange) {
  tvault::v1::GetLogEntriesRequest r;
  r.set_begin(3);
  r.set_end(2);
  EXPECT_STATUS(core_->GetLogEntries(&alice_token_, r).status(),
                kInvalidArgument, "the range ends before it begins");
}

TEST_F(VaultCoreLogTest, GetLogEntriesRefusesMoreThan1024) {
  tvault::v1::GetLogEntriesRequest r;
  r.set_begin(0);
  r.set_end(1025);
  EXPECT_STATUS(core_->GetLogEntries(&alice_token_, r).status(),
                kInvalidArgument, "at most 1024 entries");
  r.set_begin(UINT64_MAX - 1024);
  r.set_end(UINT64_MAX);
  EXPECT_EQ(core_->GetLogEntries(&alice_token_, r).status().code(),
            absl::StatusCode::kOutOfRange);
}

TEST_F(VaultCoreLogTest, GetLogEntriesPastTheEndIsOutOfRange) {
  tvault::v1::GetLogEntriesRequest r;
  r.set_begin(0);
  r.set_end(kChanges + 1);
  EXPECT_EQ(core_->GetLogEntries(&alice_token_, r).status().code(),
            absl::StatusCode::kOutOfRange);
  r.set_begin(0);
  r.set_end(1024);  // the maximum span, past the end
  EXPECT_EQ(core_->GetLogEntries(&alice_token_, r).status().code(),
            absl::StatusCode::kOutOfRange);
}

TEST_F(VaultCoreLogTest, InclusionProofsVerifyAgainstTheCheckpoint) {
  const std::vector<crypto::Hash> leaves = Leaves();
  ASSERT_EQ(leaves.size(), kChanges);
  for (uint64_t n = 1; n <= kChanges; ++n) {
    const crypto::Hash root =
        crypto::RootFromLeafHashes(absl::MakeConstSpan(leaves).subspan(0, n));
    for (uint64_t i = 0; i < n; ++i) {
      tvault::v1::GetInclusionProofRequest r;
      r.set_index(i);
      r.set_tree_size(n);
      absl::StatusOr<tvault::v1::Proof> p =
          core_->GetInclusionProof(&bob_token_, r);
      ASSERT_TRUE(p.ok()) << p.status();
      const absl::Status v =
          crypto::VerifyInclusionProof(i, n, leaves[i], Hashes(*p), root);
      EXPECT_TRUE(v.ok()) << v << " " << i << "/" << n;
    }
  }
}

TEST_F(VaultCoreLogTest, ConsistencyProofsVerifyBetweenRoots) {
  const std::vector<crypto::Hash> leaves = Leaves();
  for (uint64_t m = 1; m <= kChanges; ++m) {
    for (uint64_t n = m; n <= kChanges; ++n) {
      tvault::v1::GetConsistencyProofRequest r;
      r.set_old_size(m);
      r.set_new_size(n);
      absl::StatusOr<tvault::v1::Proof> p =
          core_->GetConsistencyProof(&bob_token_, r);
      ASSERT_TRUE(p.ok()) << p.status();
      const absl::Status v = crypto::VerifyConsistencyProof(
          m, n,
          crypto::RootFromLeafHashes(absl::MakeConstSpan(leaves).subspan(0, m)),
          crypto::RootFromLeafHashes(absl::MakeConstSpan(leaves).subspan(0, n)),
          Hashes(*p));
      EXPECT_TRUE(v.ok()) << v << " " << m << " -> " << n;
    }
  }
}

TEST_F(VaultCoreLogTest, ReceiptCheckpointsAreConsistentWithTheLatest) {
  // A client holding an early receipt's checkpoint can be convinced that
  // the current one extends it.
  std::unique_ptr<Account> eve = NewAccount("eve");
  absl::StatusOr<tvault::v1::RegisterResponse> reg = Register(*eve);
  ASSERT_TRUE(reg.ok());
  absl::StatusOr<crypto::Checkpoint> at_reg =
      OpenCheckpoint(reg->receipt().checkpoint());
  ASSERT_TRUE(at_reg.ok());
  EXPECT_EQ(at_reg->tree_size, kChanges + 1);
  ASSERT_TRUE(
      Publish(alice_token_,
              Next(case_, *alice_, Members({alice_.get()}, {alice_.get()})))
          .ok());
  absl::StatusOr<tvault::v1::SignedCheckpoint> latest =
      core_->GetCheckpoint(&alice_token_);
  ASSERT_TRUE(latest.ok());
  absl::StatusOr<crypto::Checkpoint> now_cp =
      OpenCheckpoint(latest->checkpoint());
  ASSERT_TRUE(now_cp.ok());
  EXPECT_EQ(now_cp->tree_size, kChanges + 2);
  tvault::v1::GetConsistencyProofRequest r;
  r.set_old_size(at_reg->tree_size);
  r.set_new_size(now_cp->tree_size);
  absl::StatusOr<tvault::v1::Proof> p =
      core_->GetConsistencyProof(&alice_token_, r);
  ASSERT_TRUE(p.ok());
  EXPECT_TRUE(crypto::VerifyConsistencyProof(
                  at_reg->tree_size, now_cp->tree_size, at_reg->root_hash,
                  now_cp->root_hash, Hashes(*p))
                  .ok());
}

TEST_F(VaultCoreLogTest, ProofRequestsOutsideTheTreeAreInvalidArgument) {
  tvault::v1::GetInclusionProofRequest inc;
  inc.set_index(kChanges);
  inc.set_tree_size(kChanges);
  EXPECT_STATUS(core_->GetInclusionProof(&alice_token_, inc).status(),
                kInvalidArgument, "not below the tree size");
  inc.set_index(0);
  inc.set_tree_size(kChanges + 1);
  EXPECT_STATUS(core_->GetInclusionProof(&alice_token_, inc).status(),
                kInvalidArgument, "larger than the log");
  tvault::v1::GetConsistencyProofRequest con;
  con.set_old_size(0);
  con.set_new_size(kChanges);
  EXPECT_STATUS(core_->GetConsistencyProof(&alice_token_, con).status(),
                kInvalidArgument, "need 0 < old size <= new size");
  con.set_old_size(5);
  con.set_new_size(4);
  EXPECT_EQ(core_->GetConsistencyProof(&alice_token_, con).status().code(),
            absl::StatusCode::kInvalidArgument);
  con.set_old_size(1);
  con.set_new_size(kChanges + 1);
  EXPECT_STATUS(core_->GetConsistencyProof(&alice_token_, con).status(),
                kInvalidArgument, "larger than the log");
}

TEST_F(VaultCoreLogTest, LogCallsWithoutSessionAreUnauthenticated) {
  const std::string needs = "sign in first";
  EXPECT_STATUS(core_->GetCheckpoint(nullptr).status(), kUnauthenticated,
                needs);
  tvault::v1::GetLogEntriesRequest range;
  range.set_end(1);
  EXPECT_STATUS(core_->GetLogEntries(nullptr, range).status(), kUnauthenticated,
                needs);
  tvault::v1::GetInclusionProofRequest inc;
  inc.set_tree_size(1);
  EXPECT_STATUS(core_->GetInclusionProof(nullptr, inc).status(),
                kUnauthenticated, needs);
  tvault::v1::GetConsistencyProofRequest con;
  con.set_old_size(1);
  con.set_new_size(2);
  EXPECT_STATUS(core_->GetConsistencyProof(nullptr, con).status(),
                kUnauthenticated, needs);
  // An unknown token likewise.
  const SessionTokenHash stranger =
      SessionTokenHash::Of(AsBytes(std::string(32, '\x01')));
  EXPECT_STATUS(core_->GetCheckpoint(&stranger).status(), kUnauthenticated,
                "unknown or has expired");
  EXPECT_STATUS(core_->GetLogEntries(&stranger, range).status(),
                kUnauthenticated, "unknown or has expired");
  EXPECT_STATUS(core_->GetInclusionProof(&stranger, inc).status(),
                kUnauthenticated, "unknown or has expired");
  EXPECT_STATUS(core_->GetConsistencyProof(&stranger, con).status(),
                kUnauthenticated, "unknown or has expired");
}

TEST_F(VaultCoreLogTest, MaintainRemovesExpiredChallengesAndSessions) {
  // Two sessions (Alice, Bob) and two unused challenges are live.
  Nonce();
  Nonce();
  now_ += config_.session_ttl_seconds;
  absl::StatusOr<int64_t> removed = core_->Maintain();
  ASSERT_TRUE(removed.ok()) << removed.status();
  EXPECT_EQ(*removed, 4);
  removed = core_->Maintain();
  ASSERT_TRUE(removed.ok());
  EXPECT_EQ(*removed, 0);
  // Maintenance changes no state the log records.
  EXPECT_EQ(LogSize(), kChanges);
}

// ===================================================================
// Anti-rollback
// ===================================================================

void CopyFile(const std::string& from, const std::string& to) {
  std::filesystem::copy_file(from, to,
                             std::filesystem::copy_options::overwrite_existing);
}

std::string ReadFile(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  return std::string(std::istreambuf_iterator<char>(in),
                     std::istreambuf_iterator<char>());
}

class VaultCoreRollbackTest : public VaultCoreTest {
 protected:
  // Keeps a copy of the closed database (and its WAL, if any).
  void SaveCopy() {
    CloseStore();
    ASSERT_TRUE(std::filesystem::exists(DbPath()));
    CopyFile(DbPath(), DbPath() + ".saved");
    has_saved_wal_ = std::filesystem::exists(DbPath() + "-wal");
    if (has_saved_wal_) CopyFile(DbPath() + "-wal", DbPath() + ".saved-wal");
    ReopenStore();
  }
  // Puts the saved copy back in place of the database (closed).
  void RestoreCopy() {
    CloseStore();
    for (const char* suffix : {"-wal", "-shm"}) {
      std::filesystem::remove(DbPath() + suffix);
    }
    CopyFile(DbPath() + ".saved", DbPath());
    if (has_saved_wal_) CopyFile(DbPath() + ".saved-wal", DbPath() + "-wal");
    ReopenStore();
  }

  bool has_saved_wal_ = false;
};

TEST_F(VaultCoreRollbackTest, MirrorHoldsTheLatestCheckpoint) {
  std::unique_ptr<Account> a = NewAccount("alice");
  const SessionTokenHash token = Enrol(*a);
  ASSERT_TRUE(
      Revoke(Revocation(NewAccount("x")->cert.fingerprint, now_, "x", root_))
          .ok());
  absl::StatusOr<tvault::v1::SignedCheckpoint> latest =
      core_->GetCheckpoint(&token);
  ASSERT_TRUE(latest.ok());
  EXPECT_EQ(ReadFile(MirrorPath()), latest->checkpoint());
  EXPECT_TRUE(log_->CheckAgainstMirror(*store_).ok());
}

TEST_F(VaultCoreRollbackTest, NoMirrorFileYetPasses) {
  ASSERT_FALSE(std::filesystem::exists(MirrorPath()));
  EXPECT_TRUE(log_->CheckAgainstMirror(*store_).ok());
  std::unique_ptr<TransparencyLog> unmirrored = SameLogKey("");
  EXPECT_TRUE(unmirrored->CheckAgainstMirror(*store_).ok());
}

TEST_F(VaultCoreRollbackTest, RestoredOlderDatabaseIsRefusedAsRollback) {
  std::unique_ptr<Account> a = NewAccount("alice");
  std::unique_ptr<Account> b = NewAccount("bob");
  ASSERT_TRUE(Register(*a).ok());
  SaveCopy();  // one entry
  ASSERT_TRUE(Register(*b).ok());
  ASSERT_TRUE(
      Revoke(Revocation(NewAccount("x")->cert.fingerprint, now_, "x", root_))
          .ok());
  ASSERT_EQ(LogSize(), 3u);
  RestoreCopy();
  ASSERT_EQ(LogSize(), 1u);
  // A restarted vault (a new log object with the same key and mirror).
  std::unique_ptr<TransparencyLog> restarted = SameLogKey(MirrorPath());
  const absl::Status s = restarted->CheckAgainstMirror(*store_);
  EXPECT_STATUS(s, kFailedPrecondition, "ROLLBACK");
  EXPECT_THAT(std::string(s.message()),
              HasSubstr("the database's log has 1 entries but this vault "
                        "already published a checkpoint of 3"));
  // The mirror is left as evidence.
  absl::StatusOr<crypto::Checkpoint> mirrored =
      OpenCheckpoint(ReadFile(MirrorPath()));
  ASSERT_TRUE(mirrored.ok());
  EXPECT_EQ(mirrored->tree_size, 3u);
}

TEST_F(VaultCoreRollbackTest, RunningLogRefusesToSignOverRestoredDatabase) {
  std::unique_ptr<Account> a = NewAccount("alice");
  ASSERT_TRUE(Register(*a).ok());
  SaveCopy();
  ASSERT_TRUE(
      Revoke(Revocation(NewAccount("x")->cert.fingerprint, now_, "x", root_))
          .ok());
  ASSERT_TRUE(
      Revoke(Revocation(NewAccount("y")->cert.fingerprint, now_, "y", root_))
          .ok());  // mirrored: 3
  RestoreCopy();   // the same TransparencyLog object stays in use
  std::unique_ptr<Account> b = NewAccount("bob");
  const absl::Status s = Register(*b).status();
  EXPECT_STATUS(s, kFailedPrecondition, "Refusing to sign");
  EXPECT_THAT(std::string(s.message()),
              HasSubstr("log has 2 entries but this vault already published a "
                        "checkpoint of 3"));
  // The registration was rolled back with the refused checkpoint.
  EXPECT_EQ(LogSize(), 1u);
  EXPECT_STATUS(SignIn(b->sign).status(), kUnauthenticated, "not registered");
  absl::StatusOr<crypto::Checkpoint> mirrored =
      OpenCheckpoint(ReadFile(MirrorPath()));
  ASSERT_TRUE(mirrored.ok());
  EXPECT_EQ(mirrored->tree_size, 3u);
}

TEST_F(VaultCoreRollbackTest, RunningLogRefusesToSignAForkOfWhatItMirrored) {
  std::unique_ptr<Account> a = NewAccount("alice");
  ASSERT_TRUE(Register(*a).ok());
  SaveCopy();
  ASSERT_TRUE(
      Revoke(Revocation(NewAccount("x")->cert.fingerprint, now_, "x", root_))
          .ok());  // mirrored: size 2, with the revocation
  const std::string mirror_before = ReadFile(MirrorPath());
  RestoreCopy();
  // Another entry 1: a tree of size 2 that does not contain the mirrored one.
  std::unique_ptr<Account> b = NewAccount("bob");
  EXPECT_STATUS(Register(*b).status(), kFailedPrecondition, "FORK");
  EXPECT_EQ(LogSize(), 1u);
  EXPECT_EQ(ReadFile(MirrorPath()), mirror_before);
}

TEST_F(VaultCoreRollbackTest, ForkedDatabaseIsRefusedAsFork) {
  std::unique_ptr<Account> a = NewAccount("alice");
  ASSERT_TRUE(Register(*a).ok());
  SaveCopy();
  ASSERT_TRUE(Register(*NewAccount("bob")).ok());  // mirror: size 2
  RestoreCopy();
  // Another history of the same length, signed without the mirror.
  std::unique_ptr<TransparencyLog> blind = SameLogKey("");
  core_ = std::make_unique<VaultCore>(*store_, *blind, root_.public_key(), pin_,
                                      config_, [this] { return now_; });
  ASSERT_TRUE(Register(*NewAccount("carol")).ok());
  ASSERT_EQ(LogSize(), 2u);
  std::unique_ptr<TransparencyLog> restarted = SameLogKey(MirrorPath());
  EXPECT_STATUS(restarted->CheckAgainstMirror(*store_), kFailedPrecondition,
                "FORK");
  core_.reset();  // it refers to `blind`
}

TEST_F(VaultCoreRollbackTest, GarbageMirrorIsDataLoss) {
  std::unique_ptr<Account> a = NewAccount("alice");
  ASSERT_TRUE(Register(*a).ok());
  {
    std::ofstream out(MirrorPath(), std::ios::binary | std::ios::trunc);
    out << "this is not a signed note\n\n\x01\x02\x03";
  }
  EXPECT_STATUS(log_->CheckAgainstMirror(*store_), kDataLoss,
                "is not a checkpoint signed by this vault's log key");
}

TEST_F(VaultCoreRollbackTest, MirrorSignedByAnotherKeyIsDataLoss) {
  std::unique_ptr<Account> a = NewAccount("alice");
  ASSERT_TRUE(Register(*a).ok());
  // A well-formed checkpoint of the same origin, signed by another key.
  absl::StatusOr<crypto::NoteSigner> other =
      crypto::NoteSigner::Generate(kOrigin);
  ASSERT_TRUE(other.ok());
  crypto::Checkpoint cp;
  cp.origin = kOrigin;
  cp.tree_size = 1;
  absl::StatusOr<std::string> text = crypto::FormatCheckpoint(cp);
  ASSERT_TRUE(text.ok());
  absl::StatusOr<std::string> note = crypto::SignNote(*text, *other);
  ASSERT_TRUE(note.ok());
  {
    std::ofstream out(MirrorPath(), std::ios::binary | std::ios::trunc);
    out << *note;
  }
  EXPECT_STATUS(log_->CheckAgainstMirror(*store_), kDataLoss,
                "not a checkpoint signed by this vault's log key");
}

TEST_F(VaultCoreRollbackTest, FreshLogNeverMovesTheMirrorBack) {
  std::unique_ptr<Account> a = NewAccount("alice");
  ASSERT_TRUE(Register(*a).ok());
  SaveCopy();
  ASSERT_TRUE(Register(*NewAccount("bob")).ok());
  ASSERT_TRUE(Register(*NewAccount("carol")).ok());  // mirror: size 3
  RestoreCopy();
  std::unique_ptr<TransparencyLog> restarted = SameLogKey(MirrorPath());
  core_ = std::make_unique<VaultCore>(*store_, *restarted, root_.public_key(),
                                      pin_, config_, [this] { return now_; });
  // Maintenance (or any mutation) before the check.
  (void)core_->Maintain();
  (void)Register(*NewAccount("dave"));
  absl::StatusOr<crypto::Checkpoint> mirrored =
      OpenCheckpoint(ReadFile(MirrorPath()));
  ASSERT_TRUE(mirrored.ok());
  EXPECT_GE(mirrored->tree_size, 3u) << "the mirror moved back";
  EXPECT_EQ(SameLogKey(MirrorPath())->CheckAgainstMirror(*store_).code(),
            absl::StatusCode::kFailedPrecondition);
  core_.reset();  // it refers to `restarted`
}

}  // namespace
}  // namespace tvault::vault

namespace tvault::vault {
namespace {

TEST_F(VaultCoreTest, UnfinishedUploadsExpireWithTheirData) {
  SetUpCaseWithMember();
  RecordId id;
  id.fill(0x5a);
  std::vector<tvault::v1::UploadRequest> messages(2);
  tvault::v1::UploadStart* start = messages[0].mutable_start();
  start->set_case_id(std::string(AsString(case_.id)));
  start->set_record_id(std::string(AsString(id)));
  start->set_epoch(1);
  start->set_total_size(100000);
  start->set_sha256(std::string(32, '\0'));
  messages[1].set_data(std::string(70000, 'd'));
  ListUploadStream stream(messages);
  absl::StatusOr<tvault::v1::UploadResponse> cut =
      core_->Upload(&alice_token_, stream);
  EXPECT_EQ(cut.status().code(), absl::StatusCode::kFailedPrecondition);
  EXPECT_THAT(std::string(cut.status().message()),
              HasSubstr("resume from offset 70000"));

  const auto held = [&]() -> absl::StatusOr<uint64_t> {
    uint64_t out = 0;
    absl::Status s = store_->RunInTransaction([&](StoreTransaction& txn) {
      absl::StatusOr<UploadRow> row = txn.FindUpload(id);
      if (!row.ok()) return row.status();
      absl::StatusOr<std::string> data = txn.ReadChunks(id, 0, 1 << 20);
      if (!data.ok()) return data.status();
      out = data->size();
      return absl::OkStatus();
    });
    if (!s.ok()) return s;
    return out;
  };
  ASSERT_EQ(*held(), 70000u);
  now_ += config_.upload_expiry_seconds - 1;
  ASSERT_TRUE(core_->Maintain().ok());
  EXPECT_EQ(*held(), 70000u);
  now_ += 1;
  ASSERT_TRUE(core_->Maintain().ok());
  EXPECT_EQ(held().status().code(), absl::StatusCode::kNotFound);
  std::string left = "x";
  ASSERT_TRUE(store_
                  ->RunInTransaction([&](StoreTransaction& txn) {
                    absl::StatusOr<std::string> data =
                        txn.ReadChunks(id, 0, 1 << 20);
                    if (!data.ok()) return data.status();
                    left = *data;
                    return absl::OkStatus();
                  })
                  .ok());
  EXPECT_TRUE(left.empty());
}

// An age file of `plaintext` bytes to `identity`: the record profile's
// header, which is all the vault checks of an upload's content.
std::string AgeFileOf(const X25519Identity& identity, size_t plaintext) {
  crypto::VectorSink sink;
  const crypto::AgeRecipient* to[] = {&identity.recipient()};
  absl::StatusOr<std::unique_ptr<crypto::AgeEncryptor>> enc =
      crypto::AgeEncryptor::Create(to, sink);
  EXPECT_TRUE(enc.ok()) << enc.status();
  if (!enc.ok()) return "";
  EXPECT_TRUE((*enc)->Write(std::vector<uint8_t>(plaintext, 0x5a)).ok());
  EXPECT_TRUE((*enc)->Finish().ok());
  return std::string(AsString(sink.bytes()));
}

// Case deletions, with the delay short enough for the sessions' hour.
class VaultCoreDeletionTest : public VaultCoreTest {
 protected:
  void SetUp() override {
    VaultCoreTest::SetUp();
    config_.deletion_delay_seconds = 60;
    core_ = std::make_unique<VaultCore>(*store_, *log_, root_.public_key(),
                                        pin_, config_, [this] { return now_; });
    SetUpCaseWithMember();
  }

  // Uploads `file` as record `id` of epoch 1 announced with `sha256`, in
  // messages of 1 MiB, the first `send` bytes of it (rounded up to a
  // message).
  absl::StatusOr<tvault::v1::UploadResponse> Send(const RecordId& id,
                                                  const std::string& file,
                                                  const crypto::Sha256& sha256,
                                                  size_t send) {
    std::vector<tvault::v1::UploadRequest> messages(1);
    tvault::v1::UploadStart* start = messages[0].mutable_start();
    start->set_case_id(Str(case_.id));
    start->set_record_id(Str(id));
    start->set_epoch(1);
    start->set_total_size(file.size());
    start->set_sha256(Str(sha256));
    for (size_t at = 0; at < std::min(send, file.size()); at += 1 << 20) {
      messages.emplace_back().set_data(file.substr(at, 1 << 20));
    }
    ListUploadStream stream(std::move(messages));
    return core_->Upload(&alice_token_, stream);
  }

  // Stores `file` as record `id` of epoch 1, in messages of 1 MiB.
  void Store(const RecordId& id, const std::string& file) {
    absl::StatusOr<tvault::v1::UploadResponse> stored =
        Send(id, file, crypto::ComputeSha256(AsBytes(file)), file.size());
    ASSERT_TRUE(stored.ok()) << stored.status();
  }

  // The bytes stored under `id` from offset 0, at most 1 MiB.
  size_t StoredBytes(const RecordId& id) {
    size_t n = 0;
    EXPECT_TRUE(store_
                    ->RunInTransaction([&](StoreTransaction& txn) {
                      absl::StatusOr<std::string> data =
                          txn.ReadChunks(id, 0, 1 << 20);
                      if (!data.ok()) return data.status();
                      n = data->size();
                      return absl::OkStatus();
                    })
                    .ok());
    return n;
  }

  // Whether an unfinished upload is pending under `id`.
  bool UploadPending(const RecordId& id) {
    absl::Status found = store_->RunInTransaction(
        [&](StoreTransaction& txn) { return txn.FindUpload(id).status(); });
    EXPECT_TRUE(found.ok() || absl::IsNotFound(found)) << found;
    return found.ok();
  }

  // An unfinished upload under `id`, written straight to the store, that
  // expires now and holds 1,000 of its 4,096 bytes.
  absl::Status PutExpiringUpload(StoreTransaction& txn, const RecordId& id) {
    UploadRow row{.record_id = id,
                  .case_id = case_.id,
                  .epoch = 1,
                  .total_size = 4096,
                  .expires_at = now_};
    if (absl::Status s = txn.InsertUpload(row); !s.ok()) return s;
    return txn.AppendUploadChunk(id, 0, std::string(1000, 'x'));
  }

  // Alice (the owner) asks for the deletion of record `id`.
  void RequestDeletion(const RecordId& id) {
    tvault::v1::DeleteRequest body;
    body.set_version(1);
    body.set_case_id(Str(case_.id));
    body.set_record_id(Str(id));
    body.set_requested_at(now_);
    body.set_reason("submitted by mistake");
    tvault::v1::RequestDeletionRequest request;
    *request.mutable_request() = crypto::SignStatement(
        crypto::StatementType::kDelete, body, alice_->sign);
    absl::StatusOr<tvault::v1::RequestDeletionResponse> requested =
        core_->RequestDeletion(&alice_token_, request);
    ASSERT_TRUE(requested.ok()) << requested.status();
  }
};

// Found by tests/reliability/tvault_crash: a download that starts before a
// record's deletion comes due and reads its data after maintenance removed
// it was answered DATA_LOSS ("a stored record's data is missing"), as if
// the database were damaged. It is told the record was deleted.
TEST_F(VaultCoreDeletionTest,
       ADownloadOvertakenByTheRecordsDueDeletionSaysDeleted) {
  // 2.5 MiB: the download reads it in three parts, one transaction each.
  RecordId id;
  id.fill(0x6b);
  ASSERT_NO_FATAL_FAILURE(Store(id, AgeFileOf(case_.identities[1], 5 << 19)));
  ASSERT_NO_FATAL_FAILURE(RequestDeletion(id));
  now_ += config_.deletion_delay_seconds - 1;  // due in a second

  // The deletion comes due and maintenance runs while the first part is
  // on its way to the reader.
  class MaintainingSink final : public DownloadSink {
   public:
    MaintainingSink(VaultCore& core, int64_t& now) : core_(core), now_(now) {}
    bool Write(const tvault::v1::DownloadChunk& chunk) override {
      if (received_ == 0) {
        ++now_;
        absl::StatusOr<int64_t> done = core_.Maintain();
        EXPECT_TRUE(done.ok()) << done.status();
      }
      received_ += chunk.data().size();
      return true;
    }
    size_t received_ = 0;

   private:
    VaultCore& core_;
    int64_t& now_;
  } reader(*core_, now_);
  tvault::v1::DownloadRequest request;
  request.set_record_id(Str(id));
  const absl::Status s = core_->Download(&alice_token_, request, reader);
  EXPECT_EQ(s.code(), absl::StatusCode::kNotFound) << s;
  EXPECT_THAT(std::string(s.message()), HasSubstr("deleted"));
  EXPECT_EQ(reader.received_, size_t{1} << 20);
  // And from then on, at once.
  MaintainingSink again(*core_, now_);
  EXPECT_EQ(core_->Download(&alice_token_, request, again).code(),
            absl::StatusCode::kNotFound);
}

// Downloads refuse a record from the moment its deletion is due, before
// maintenance has removed its data (which it does a transaction at a
// time).
TEST_F(VaultCoreDeletionTest, ARecordIsRefusedOnceItsDeletionIsDue) {
  RecordId id;
  id.fill(0x6c);
  ASSERT_NO_FATAL_FAILURE(Store(id, AgeFileOf(case_.identities[1], 65536)));
  ASSERT_NO_FATAL_FAILURE(RequestDeletion(id));
  tvault::v1::DownloadRequest request;
  request.set_record_id(Str(id));
  class Collect final : public DownloadSink {
   public:
    bool Write(const tvault::v1::DownloadChunk& chunk) override {
      received += chunk.data().size();
      return true;
    }
    size_t received = 0;
  } before, due;
  now_ += config_.deletion_delay_seconds - 1;
  EXPECT_TRUE(core_->Download(&alice_token_, request, before).ok());
  EXPECT_GT(before.received, 65536u);
  ++now_;
  const absl::Status s = core_->Download(&alice_token_, request, due);
  EXPECT_EQ(s.code(), absl::StatusCode::kNotFound) << s;
  EXPECT_THAT(std::string(s.message()), HasSubstr("deleted"));
  EXPECT_EQ(due.received, 0u);
  EXPECT_GT(StoredBytes(id), 0u);  // maintenance has not run
}

// Found with the memory figures tvaultd logs (vault/memory.h): removing
// data inside a group commit's savepoint made SQLite keep a copy of every
// page it rewrote, in memory (temp_store = MEMORY): 267 MiB of heap for a
// 256 MiB record, so a 4 GiB record's deletion would have taken 4 GiB in
// every maintenance pass. Deleting, discarding and expiring large data now
// takes a bounded amount.
constexpr int64_t kRemovalMemoryBound = int64_t{40} << 20;
constexpr size_t kLargeRecord = size_t{80} << 20;

TEST_F(VaultCoreDeletionTest, DeletingALargeRecordTakesBoundedMemory) {
  RecordId id;
  id.fill(0x7c);
  ASSERT_NO_FATAL_FAILURE(
      Store(id, AgeFileOf(case_.identities[1], kLargeRecord)));
  ASSERT_NO_FATAL_FAILURE(RequestDeletion(id));
  now_ += config_.deletion_delay_seconds;
  const uint64_t log_before = LogSize();
  SqliteMemoryHighest(/*reset=*/true);
  absl::StatusOr<int64_t> done = core_->Maintain();
  ASSERT_TRUE(done.ok()) << done.status();
  EXPECT_EQ(*done, 1);
  EXPECT_LT(SqliteMemoryHighest(false), kRemovalMemoryBound);
  EXPECT_EQ(LogSize(), log_before + 1);  // its DeletionDone
  EXPECT_EQ(StoredBytes(id), 0u);
}

// Due records are removed together, 16 MiB per transaction across them:
// one transaction per record fell behind a busy vault (the soak's disk
// filled with deleted records).
TEST_F(VaultCoreDeletionTest, DeletingSeveralLargeRecordsRemovesThemAll) {
  const std::string file = AgeFileOf(case_.identities[1], size_t{12} << 20);
  std::vector<RecordId> ids(3);
  for (size_t i = 0; i < ids.size(); ++i) {
    ids[i].fill(static_cast<uint8_t>(0x90 + i));
    ASSERT_NO_FATAL_FAILURE(Store(ids[i], file));
    ASSERT_NO_FATAL_FAILURE(RequestDeletion(ids[i]));
  }
  now_ += config_.deletion_delay_seconds;
  SqliteMemoryHighest(/*reset=*/true);
  absl::StatusOr<int64_t> done = core_->Maintain();
  ASSERT_TRUE(done.ok()) << done.status();
  EXPECT_EQ(*done, 3);
  EXPECT_LT(SqliteMemoryHighest(false), kRemovalMemoryBound);
  for (const RecordId& id : ids) EXPECT_EQ(StoredBytes(id), 0u);
}

TEST_F(VaultCoreDeletionTest, DiscardingALargeBadUploadTakesBoundedMemory) {
  RecordId id;
  id.fill(0x7d);
  const std::string file = AgeFileOf(case_.identities[1], kLargeRecord);
  crypto::Sha256 wrong = crypto::ComputeSha256(AsBytes(file));
  wrong[0] ^= 1;
  SqliteMemoryHighest(/*reset=*/true);
  absl::StatusOr<tvault::v1::UploadResponse> sent =
      Send(id, file, wrong, file.size());
  EXPECT_EQ(sent.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_THAT(std::string(sent.status().message()), HasSubstr("discarded"));
  EXPECT_LT(SqliteMemoryHighest(false), kRemovalMemoryBound);
  EXPECT_EQ(StoredBytes(id), 0u);
  // Sent again, whole and right, it is stored.
  ASSERT_NO_FATAL_FAILURE(Store(id, file));
}

TEST_F(VaultCoreDeletionTest,
       ExpiringALargeUnfinishedUploadTakesBoundedMemory) {
  RecordId id;
  id.fill(0x7e);
  const std::string file = AgeFileOf(case_.identities[1], kLargeRecord);
  absl::StatusOr<tvault::v1::UploadResponse> sent =
      Send(id, file, crypto::ComputeSha256(AsBytes(file)), file.size() / 2);
  EXPECT_FALSE(sent.ok());
  ASSERT_GT(StoredBytes(id), 0u);
  now_ += config_.upload_expiry_seconds + 1;
  SqliteMemoryHighest(/*reset=*/true);
  absl::StatusOr<int64_t> done = core_->Maintain();
  ASSERT_TRUE(done.ok()) << done.status();
  EXPECT_LT(SqliteMemoryHighest(false), kRemovalMemoryBound);
  EXPECT_EQ(StoredBytes(id), 0u);
  EXPECT_FALSE(UploadPending(id));
}

// Many uploads expiring together: maintenance removed the data of the
// first kMaxDeletionsPerCommit a bounded transaction at a time, and the
// rest's, however large, in the one transaction that removed the rows.
// Now every expired upload's data goes a bounded transaction at a time,
// page after page, and the rows go once they hold nothing.
TEST_F(VaultCoreDeletionTest, MaintenanceRemovesEveryExpiredUploadPageByPage) {
  const size_t count = kMaxDeletionsPerCommit * 2 + 3;
  std::vector<RecordId> ids(count);
  ASSERT_TRUE(store_
                  ->RunInTransaction([&](StoreTransaction& txn) {
                    for (size_t i = 0; i < count; ++i) {
                      ids[i].fill(0x3c);
                      ids[i][0] = static_cast<uint8_t>(i >> 8);
                      ids[i][1] = static_cast<uint8_t>(i);
                      if (absl::Status s = PutExpiringUpload(txn, ids[i]);
                          !s.ok()) {
                        return s;
                      }
                    }
                    return absl::OkStatus();
                  })
                  .ok());
  absl::StatusOr<int64_t> done = core_->Maintain();
  ASSERT_TRUE(done.ok()) << done.status();
  EXPECT_EQ(*done, static_cast<int64_t>(count));
  for (const RecordId& id : ids) {
    EXPECT_EQ(StoredBytes(id), 0u);
    EXPECT_FALSE(UploadPending(id));
  }
}

// The commit that removes expired uploads' rows removes no data: an
// upload that still holds some (a resume raced maintenance) stays until
// its data has gone a bounded transaction at a time.
TEST_F(VaultCoreDeletionTest, ExpiredUploadRowsGoOnlyOnceTheirDataHasGone) {
  RecordId id;
  id.fill(0x3d);
  ASSERT_TRUE(store_
                  ->RunInTransaction([&](StoreTransaction& txn) {
                    return PutExpiringUpload(txn, id);
                  })
                  .ok());
  ASSERT_TRUE(store_
                  ->RunInTransaction([&](StoreTransaction& txn) {
                    absl::StatusOr<int64_t> n = txn.DeleteExpiredUploads(now_);
                    if (!n.ok()) return n.status();
                    EXPECT_EQ(*n, 0);
                    return absl::OkStatus();
                  })
                  .ok());
  EXPECT_TRUE(UploadPending(id));
  EXPECT_EQ(StoredBytes(id), 1000u);
  absl::StatusOr<int64_t> done = core_->Maintain();
  ASSERT_TRUE(done.ok()) << done.status();
  EXPECT_EQ(*done, 1);
  EXPECT_EQ(StoredBytes(id), 0u);
  EXPECT_FALSE(UploadPending(id));
}

// Found in review: maintenance lists the expired uploads, then removes
// their data in later transactions. An upload whose last message
// committed in between (a resume finishing just as the upload expired)
// would have lost the data of what was by then a stored, acknowledged
// record; and had its owner asked for its deletion meanwhile, it would
// have gone before the deletion was due. Only the data of a pending upload
// or of a record whose deletion is due is removed.
TEST_F(VaultCoreDeletionTest,
       RemovingDataLeavesAnUploadThatBecameARecordAlone) {
  RecordId id;
  id.fill(0x3e);
  const std::string file = AgeFileOf(case_.identities[1], 65536);
  ASSERT_NO_FATAL_FAILURE(Store(id, file));
  // What one removal transaction takes of the record's data.
  const auto remove = [&] {
    uint64_t removed = 0;
    EXPECT_TRUE(store_
                    ->RunInTransaction([&](StoreTransaction& txn) {
                      absl::StatusOr<uint64_t> n = txn.RemoveLastChunks(
                          absl::MakeConstSpan(&id, 1), now_,
                          kMaxRemovedBytesPerTransaction);
                      if (!n.ok()) return n.status();
                      removed = *n;
                      return absl::OkStatus();
                    })
                    .ok());
    return removed;
  };
  EXPECT_EQ(remove(), 0u);
  EXPECT_EQ(StoredBytes(id), file.size());
  // Its deletion asked for, not yet due: it stays.
  ASSERT_NO_FATAL_FAILURE(RequestDeletion(id));
  EXPECT_EQ(remove(), 0u);
  EXPECT_EQ(StoredBytes(id), file.size());
  // Due: the same call removes it.
  now_ += config_.deletion_delay_seconds;
  EXPECT_EQ(remove(), file.size());
  EXPECT_EQ(StoredBytes(id), 0u);
}

// Found by tests/reliability/tvault_soak: maintenance executed due
// deletions one per commit, each waiting for its turn in the group commit
// queue, so under load they came due faster than they went and the disk
// filled with what owners had deleted. Now many go in one commit (each
// still logged), and one maintenance pass ends once those due at its
// start are done.
TEST_F(VaultCoreDeletionTest, MaintenanceExecutesDueDeletionsManyPerCommit) {
  const std::string file = AgeFileOf(case_.identities[1], 65536);
  std::vector<RecordId> ids(100);
  for (size_t i = 0; i < ids.size(); ++i) {
    ids[i].fill(static_cast<uint8_t>(i));
    ASSERT_NO_FATAL_FAILURE(Store(ids[i], file));
    ASSERT_NO_FATAL_FAILURE(RequestDeletion(ids[i]));
  }
  now_ += config_.deletion_delay_seconds;
  const uint64_t log_before = LogSize();
  const GroupCommitStats before = core_->group_commit_stats();
  absl::StatusOr<int64_t> done = core_->Maintain();
  ASSERT_TRUE(done.ok()) << done.status();
  EXPECT_EQ(*done, 100);
  const GroupCommitStats after = core_->group_commit_stats();
  EXPECT_LE(after.groups - before.groups, 3u);
  EXPECT_EQ(LogSize(), log_before + 100);  // one DeletionDone each
  for (const RecordId& id : ids) {
    tvault::v1::DownloadRequest request;
    request.set_record_id(Str(id));
    class NoSink final : public DownloadSink {
     public:
      bool Write(const tvault::v1::DownloadChunk&) override { return true; }
    } sink;
    EXPECT_EQ(core_->Download(&alice_token_, request, sink).code(),
              absl::StatusCode::kNotFound);
  }
}

}  // namespace
}  // namespace tvault::vault
