// End to end: a real tvaultd (init, serve on 127.0.0.1:0, TLS 1.3 with the
// pinned key, SQLCipher on disk) driven through the generated stubs.
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <atomic>
#include <chrono>
#include <filesystem>
#include <memory>
#include <string>
#include <thread>
#include <vector>

#include "absl/strings/escaping.h"
#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "client/log_monitor.h"
#include "client/vault_auth.h"
#include "client/vault_channel.h"
#include "crypto/case_descriptor.h"
#include "crypto/certificate.h"
#include "crypto/checkpoint.h"
#include "crypto/grant.h"
#include "crypto/merkle.h"
#include "crypto/signed_note.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "tests/crypto/trust_fixture.h"
#include "tests/vault/e2e_fixture.h"
#include "tests/vault/vault_process.h"
#include "vault/data_dir.h"
#include "vault/sqlcipher_store.h"

namespace tvault::vault {
namespace {

using crypto::trust_testing::Account;
using crypto::trust_testing::Str;
using ::testing::HasSubstr;
using testing::kDay;
using testing::LiveAccount;
using testing::Member;
using testing::Now;
using testing::ReadTestFile;
using testing::ServeTest;
using testing::VaultProcess;
using tvault::v1::Vault;

TEST_F(ServeTest, ServesItsPinnedIdentityOverTls) {
  tvault::v1::ServerInfo info;
  grpc::ClientContext context;
  grpc::Status s = stub_->GetServerInfo(&context, {}, &info);
  ASSERT_TRUE(s.ok()) << s.error_message();
  EXPECT_EQ(info.tls_key_sha256(), Str(vault_->pin()));
  EXPECT_EQ(info.log_origin(), "vault.example.org/log");
  EXPECT_TRUE(
      absl::StartsWith(info.log_verifier_key(), "vault.example.org/log+"));
  EXPECT_EQ(info.limits().max_record_bytes(), uint64_t{4} << 30);
}

TEST_F(ServeTest, SignsInARegisteredAccount) {
  std::unique_ptr<Account> alice = LiveAccount(root_, "alice");
  const std::string token = Join(*alice);
  ASSERT_EQ(token.size(), 32u);
  tvault::v1::ListCasesResponse cases;
  grpc::ClientContext context;
  client::AuthorizeCall(context, token);
  grpc::Status s = stub_->ListCases(&context, {}, &cases);
  EXPECT_TRUE(s.ok()) << s.error_message();
  EXPECT_EQ(cases.cases_size(), 0);
}

TEST_F(ServeTest, RefusesAServerWithAnotherKeyThanThePin) {
  crypto::TlsKeyPin wrong = vault_->pin();
  wrong[0] ^= 1;
  std::unique_ptr<Vault::Stub> stub =
      Vault::NewStub(client::ConnectToVault(vault_->address(), wrong));
  tvault::v1::ServerInfo info;
  grpc::ClientContext context;
  context.set_deadline(std::chrono::system_clock::now() +
                       std::chrono::seconds(10));
  grpc::Status s = stub->GetServerInfo(&context, {}, &info);
  EXPECT_EQ(s.error_code(), grpc::StatusCode::UNAVAILABLE) << s.error_message();
}

// The handshake itself, with OpenSSL's client: TLS 1.3 completes, TLS 1.2
// does not (crypto/tls_pin.h explains how tvaultd rules it out).
TEST_F(ServeTest, SpeaksTls13Only) {
  if (system("command -v openssl > /dev/null 2>&1") != 0) {
    GTEST_SKIP() << "the openssl command is not installed";
  }
  const auto handshake = [&](const char* version, std::string* output) {
    return testing::RunProgram(
        {"/bin/sh", "-c",
         absl::StrCat("openssl s_client -connect ", vault_->address(), " ",
                      version, " -servername tvaultd < /dev/null")},
        output);
  };
  // The exit status is not used: s_client also fails when the server
  // closes the connection after a good handshake (no HTTP/2 from it).
  std::string out13;
  handshake("-tls1_3", &out13);
  EXPECT_THAT(out13, HasSubstr("New, TLSv1.3")) << out13;
  std::string out12;
  handshake("-tls1_2", &out12);
  EXPECT_THAT(out12, ::testing::Not(HasSubstr("New, TLSv1.2"))) << out12;
  EXPECT_THAT(out12, HasSubstr("no peer certificate available")) << out12;
}

TEST_F(ServeTest, RefusesAReplayedChallenge) {
  std::unique_ptr<Account> alice = LiveAccount(root_, "alice");
  ASSERT_TRUE(Register(*alice).ok());
  tvault::v1::SignInRequest request;
  *request.mutable_challenge() = Challenge(alice->sign);
  tvault::v1::Session session;
  {
    grpc::ClientContext context;
    ASSERT_TRUE(stub_->SignIn(&context, request, &session).ok());
  }
  grpc::ClientContext context;
  grpc::Status replay = stub_->SignIn(&context, request, &session);
  EXPECT_EQ(replay.error_code(), grpc::StatusCode::UNAUTHENTICATED);
  EXPECT_THAT(replay.error_message(), HasSubstr("already used"));
}

TEST_F(ServeTest, RefusesAnUnauthenticatedOrGarbledSession) {
  tvault::v1::ListCasesResponse cases;
  {
    grpc::ClientContext context;
    grpc::Status s = stub_->ListCases(&context, {}, &cases);
    EXPECT_EQ(s.error_code(), grpc::StatusCode::UNAUTHENTICATED);
    EXPECT_THAT(s.error_message(), HasSubstr("sign in"));
  }
  {
    grpc::ClientContext context;
    context.AddMetadata("authorization", "Bearer 00zz");
    grpc::Status s = stub_->ListCases(&context, {}, &cases);
    EXPECT_EQ(s.error_code(), grpc::StatusCode::UNAUTHENTICATED);
  }
  {
    grpc::ClientContext context;
    client::AuthorizeCall(context, std::string(32, '\x07'));
    grpc::Status s = stub_->ListCases(&context, {}, &cases);
    EXPECT_EQ(s.error_code(), grpc::StatusCode::UNAUTHENTICATED);
    EXPECT_THAT(s.error_message(), HasSubstr("unknown or has expired"));
  }
}

class ShortChallengeTest : public ServeTest {
 protected:
  void SetUp() override { StartVault("challenge_ttl_seconds = 1\n"); }
};

TEST_F(ShortChallengeTest, RefusesAnExpiredChallenge) {
  std::unique_ptr<Account> alice = LiveAccount(root_, "alice");
  ASSERT_TRUE(Register(*alice).ok());
  tvault::v1::SignInRequest request;
  *request.mutable_challenge() = Challenge(alice->sign);
  std::this_thread::sleep_for(std::chrono::milliseconds(2200));
  tvault::v1::Session session;
  grpc::ClientContext context;
  grpc::Status s = stub_->SignIn(&context, request, &session);
  EXPECT_EQ(s.error_code(), grpc::StatusCode::UNAUTHENTICATED);
  EXPECT_THAT(s.error_message(), HasSubstr("expired"));
}

class ServeRateLimitTest : public ServeTest {
 protected:
  void SetUp() override { StartVault("max_requests_per_minute = 10\n"); }

  grpc::Status ListCases(const std::string& token) {
    tvault::v1::ListCasesResponse cases;
    grpc::ClientContext context;
    client::AuthorizeCall(context, token);
    return stub_->ListCases(&context, {}, &cases);
  }

  grpc::Status GetChallenge() {
    tvault::v1::Challenge challenge;
    grpc::ClientContext context;
    return stub_->GetChallenge(&context, {}, &challenge);
  }
};

// With a budget of 10 calls a minute (refilled one every 6 seconds, which
// these calls are far quicker than).
TEST_F(ServeRateLimitTest, EachSessionHasABudgetAndCallsWithoutOneShareOne) {
  std::unique_ptr<Account> alice = LiveAccount(root_, "alice");
  std::unique_ptr<Account> bob = LiveAccount(root_, "bob");
  // Shared budget: 4 calls (two challenges, Register, SignIn).
  const std::string alice_token = Join(*alice);
  ASSERT_FALSE(alice_token.empty());

  // Alice's first call comes from the shared budget (5 of 10), the next
  // ten from her own; then she is told when to try again.
  int accepted = 0;
  grpc::Status refused;
  for (int i = 0; i < 40 && refused.ok(); ++i) {
    grpc::Status s = ListCases(alice_token);
    if (s.ok()) {
      ++accepted;
    } else {
      refused = s;
    }
  }
  EXPECT_GE(accepted, 11);
  EXPECT_LT(accepted, 40);
  EXPECT_EQ(refused.error_code(), grpc::StatusCode::RESOURCE_EXHAUSTED)
      << refused.error_message();
  EXPECT_THAT(refused.error_message(), HasSubstr("this session"));
  EXPECT_THAT(refused.error_message(), HasSubstr("try again in"));

  // Alice's budget is hers alone: Bob signs in (4 more shared calls) and
  // makes his first call (the tenth).
  const std::string bob_token = Join(*bob);
  ASSERT_FALSE(bob_token.empty());
  EXPECT_TRUE(ListCases(bob_token).ok());

  // The shared budget is spent: no more challenges...
  grpc::Status challenge = GetChallenge();
  EXPECT_EQ(challenge.error_code(), grpc::StatusCode::RESOURCE_EXHAUSTED);
  EXPECT_THAT(challenge.error_message(), HasSubstr("without a session"));
  EXPECT_THAT(challenge.error_message(), HasSubstr("try again in"));
  // ...and a made-up token buys nothing: it is charged to that budget.
  EXPECT_EQ(ListCases(std::string(32, '\x07')).error_code(),
            grpc::StatusCode::RESOURCE_EXHAUSTED);
  // A session already in use goes on, and GetServerInfo is not counted.
  EXPECT_TRUE(ListCases(bob_token).ok());
  tvault::v1::ServerInfo info;
  grpc::ClientContext context;
  ASSERT_TRUE(stub_->GetServerInfo(&context, {}, &info).ok());
  EXPECT_EQ(info.limits().max_requests_per_minute(), 10u);
  EXPECT_EQ(info.limits().call_deadline_seconds(), 30u);
}

class ServeCallDeadlineTest : public ServeTest {
 protected:
  void SetUp() override { StartVault("call_deadline_seconds = 2\n"); }
};

// A unary call that cannot finish in time (here: the database is held by
// another process, as a backup or an operator's shell could) is answered
// DEADLINE_EXCEEDED at the deadline, though the caller set none.
TEST_F(ServeCallDeadlineTest, AUnaryCallThatRunsTooLongEndsAtTheDeadline) {
  std::unique_ptr<Account> alice = LiveAccount(root_, "alice");
  const std::string token = Join(*alice);
  ASSERT_FALSE(token.empty());
  absl::StatusOr<crypto::SecretBytes> key =
      ReadDbKeyFile(vault_->db_key_file());
  ASSERT_TRUE(key.ok()) << key.status();
  absl::StatusOr<std::unique_ptr<SqlcipherStore>> other =
      SqlcipherStore::Open(vault_->data_dir() + "/vault.db", *key);
  ASSERT_TRUE(other.ok()) << other.status();
  std::atomic<bool> locked{false};
  std::thread holder([&] {
    absl::Status held = (*other)->RunInTransaction([&](StoreTransaction&) {
      locked = true;
      std::this_thread::sleep_for(std::chrono::milliseconds(4000));
      return absl::OkStatus();
    });
    EXPECT_TRUE(held.ok()) << held;
  });
  while (!locked) std::this_thread::sleep_for(std::chrono::milliseconds(10));

  tvault::v1::ListCasesResponse cases;
  grpc::ClientContext context;
  client::AuthorizeCall(context, token);
  const auto start = std::chrono::steady_clock::now();
  grpc::Status s = stub_->ListCases(&context, {}, &cases);
  const auto took = std::chrono::steady_clock::now() - start;
  holder.join();
  EXPECT_EQ(s.error_code(), grpc::StatusCode::DEADLINE_EXCEEDED)
      << s.error_message();
  EXPECT_THAT(s.error_message(),
              HasSubstr("took longer than the vault allows (2 seconds)"));
  EXPECT_GT(took, std::chrono::milliseconds(1500));
  EXPECT_LT(took, std::chrono::milliseconds(3900));
  other->reset();
  // Once the database is free again, so are calls.
  grpc::ClientContext again;
  client::AuthorizeCall(again, token);
  EXPECT_TRUE(stub_->ListCases(&again, {}, &cases).ok());
}

TEST_F(ServeTest, RegistersOnlyCurrentCertificatesOfItsOrganisation) {
  std::unique_ptr<Account> valid = LiveAccount(root_, "valid");
  EXPECT_TRUE(Register(*valid).ok());

  std::unique_ptr<Account> forged = LiveAccount(root_, "forged");
  forged->cert.statement =
      crypto::trust_testing::FlipSignatureBit(forged->cert.statement);
  grpc::Status s = Register(*forged);
  EXPECT_EQ(s.error_code(), grpc::StatusCode::PERMISSION_DENIED);
  EXPECT_THAT(s.error_message(), HasSubstr("organisation root"));

  const crypto::SigningKey other_root = crypto::SigningKey::Generate();
  std::unique_ptr<Account> stranger = LiveAccount(other_root, "stranger");
  s = Register(*stranger);
  EXPECT_EQ(s.error_code(), grpc::StatusCode::PERMISSION_DENIED);
  EXPECT_THAT(s.error_message(), HasSubstr("another organisation"));

  std::unique_ptr<Account> expired =
      LiveAccount(root_, "expired", {tvault::v1::REVIEWER}, Now() - 30 * kDay,
                  Now() - kDay);
  s = Register(*expired);
  EXPECT_EQ(s.error_code(), grpc::StatusCode::PERMISSION_DENIED);
  EXPECT_THAT(s.error_message(), HasSubstr("expired"));

  std::unique_ptr<Account> revoked = LiveAccount(root_, "revoked");
  tvault::v1::Revocation body;
  body.set_version(1);
  body.set_cert_fingerprint(Str(revoked->cert.fingerprint));
  body.set_revoked_at(Now() - 60);
  body.set_reason("device lost");
  absl::StatusOr<tvault::v1::SignedStatement> revocation =
      crypto::IssueRevocation(body, root_);
  ASSERT_TRUE(revocation.ok());
  tvault::v1::RevokeRequest revoke;
  *revoke.mutable_revocation() = *revocation;
  tvault::v1::RevokeResponse revoked_response;
  {
    grpc::ClientContext context;
    grpc::Status r = stub_->Revoke(&context, revoke, &revoked_response);
    ASSERT_TRUE(r.ok()) << r.error_message();
  }
  s = Register(*revoked);
  EXPECT_EQ(s.error_code(), grpc::StatusCode::PERMISSION_DENIED);
  EXPECT_THAT(s.error_message(), HasSubstr("revoked"));
}

TEST_F(ServeTest, RevocationStopsARegisteredAccountAtOnce) {
  std::unique_ptr<Account> alice = LiveAccount(root_, "alice");
  const std::string token = Join(*alice);
  tvault::v1::Revocation body;
  body.set_version(1);
  body.set_cert_fingerprint(Str(alice->cert.fingerprint));
  body.set_revoked_at(Now() - 1);
  body.set_reason("left the organisation");
  tvault::v1::RevokeRequest revoke;
  *revoke.mutable_revocation() = *crypto::IssueRevocation(body, root_);
  tvault::v1::RevokeResponse response;
  {
    grpc::ClientContext context;
    ASSERT_TRUE(stub_->Revoke(&context, revoke, &response).ok());
  }
  tvault::v1::ListCasesResponse cases;
  grpc::ClientContext context;
  client::AuthorizeCall(context, token);
  grpc::Status s = stub_->ListCases(&context, {}, &cases);
  EXPECT_EQ(s.error_code(), grpc::StatusCode::PERMISSION_DENIED);
  EXPECT_THAT(s.error_message(), HasSubstr("revoked"));
  absl::StatusOr<tvault::v1::Session> again =
      client::SignInToVault(*stub_, alice->sign, vault_->pin());
  EXPECT_EQ(again.status().code(), absl::StatusCode::kPermissionDenied);
}

// A reviewer's view: the chain verified from the pinned genesis, and the
// epoch identities opened from the grants addressed to them.
void ExpectReviewerHolds(Member& member, const crypto::CaseId& id,
                         const crypto::Sha256& genesis,
                         const crypto::CertificateLookup& lookup,
                         std::vector<uint32_t> epochs,
                         const std::vector<crypto::X25519Identity*>& keys) {
  absl::StatusOr<tvault::v1::GetCaseResponse> got = member.GetCase(id);
  ASSERT_TRUE(got.ok()) << got.status();
  absl::StatusOr<crypto::CaseChain> chain = crypto::CaseChain::Create(genesis);
  ASSERT_TRUE(chain.ok());
  for (const auto& d : got->descriptors()) {
    absl::Status accepted = chain->Accept(d, lookup);
    ASSERT_TRUE(accepted.ok()) << accepted;
  }
  ASSERT_EQ(got->grants_size(), static_cast<int>(epochs.size()));
  for (size_t i = 0; i < epochs.size(); ++i) {
    const auto& record = got->grants(static_cast<int>(i));
    absl::StatusOr<crypto::VerifiedGrant> grant =
        crypto::VerifyGrant(record.grant(), *chain, lookup);
    ASSERT_TRUE(grant.ok()) << grant.status();
    EXPECT_EQ(grant->body.epoch(), epochs[i]);
    absl::StatusOr<crypto::X25519Identity> identity = crypto::OpenGrant(
        *grant, crypto::AsBytes(record.ciphertext()), member.account().box);
    ASSERT_TRUE(identity.ok()) << identity.status();
    EXPECT_EQ(identity->recipient().Encode(),
              keys[epochs[i]]->recipient().Encode());
  }
}

// A case through three epochs with two reviewers, the server restarted
// between steps, and every rights rule tried by someone not entitled.
TEST_F(ServeTest, CarriesACaseThroughThreeEpochsAcrossRestarts) {
  std::unique_ptr<Account> alice = LiveAccount(root_, "alice");
  std::unique_ptr<Account> bob = LiveAccount(root_, "bob");
  std::unique_ptr<Account> carol = LiveAccount(root_, "carol");
  std::unique_ptr<Account> dave =
      LiveAccount(root_, "dave", {tvault::v1::CONTRIBUTOR});
  crypto::trust_testing::CertDirectory directory;
  for (const Account* a : {alice.get(), bob.get(), carol.get(), dave.get()}) {
    directory.Add(*a);
  }
  const crypto::CertificateLookup lookup = directory.Lookup();
  const crypto::CaseId id = crypto::NewCaseId();
  std::vector<crypto::X25519Identity> keys;
  for (int i = 0; i < 3; ++i)
    keys.push_back(crypto::X25519Identity::Generate());
  std::vector<crypto::X25519Identity*> key_ptrs;
  for (auto& k : keys) key_ptrs.push_back(&k);

  // Epoch 0: alice alone, dave contributes.
  Member a(*stub_, *alice, Join(*alice));
  crypto::EpochMembership m0{{alice->cert.fingerprint},
                             {alice->cert.fingerprint},
                             {dave->cert.fingerprint}};
  absl::StatusOr<crypto::VerifiedDescriptor> e0 =
      crypto::CreateGenesisDescriptor(id, keys[0].recipient(), m0,
                                      Now() + 30 * kDay, alice->cert,
                                      alice->sign);
  ASSERT_TRUE(e0.ok()) << e0.status();
  ASSERT_TRUE(a.Publish(e0->statement).ok());
  absl::StatusOr<crypto::CaseChain> chain = crypto::CaseChain::Create(e0->hash);
  ASSERT_TRUE(chain->Accept(e0->statement, lookup).ok());

  ASSERT_NO_FATAL_FAILURE(Restart());
  Member a1(*stub_, *alice,
            client::SignInToVault(*stub_, alice->sign, vault_->pin())->token());
  // Bob registers after the restart; he is not in the case yet.
  Member b(*stub_, *bob, Join(*bob));
  EXPECT_EQ(b.GetCase(id).status().code(), absl::StatusCode::kPermissionDenied);
  EXPECT_TRUE(b.CaseIds().empty());

  // Epoch 1 adds bob; alice grants him epochs 0 and 1.
  crypto::EpochMembership m1{{alice->cert.fingerprint},
                             {alice->cert.fingerprint, bob->cert.fingerprint},
                             {dave->cert.fingerprint}};
  absl::StatusOr<crypto::VerifiedDescriptor> e1 =
      crypto::CreateNextEpoch(*e0, keys[1].recipient(), m1, Now() + 30 * kDay,
                              alice->cert, alice->sign);
  ASSERT_TRUE(e1.ok());
  // Signed by alice but sent by bob, who owns nothing: refused.
  grpc::Status relayed = b.Publish(e1->statement);
  EXPECT_EQ(relayed.error_code(), grpc::StatusCode::PERMISSION_DENIED);
  EXPECT_THAT(relayed.error_message(), HasSubstr("owner"));
  ASSERT_TRUE(a1.Publish(e1->statement).ok());
  ASSERT_TRUE(chain->Accept(e1->statement, lookup).ok());
  for (uint32_t epoch : {0u, 1u}) {
    absl::StatusOr<crypto::CreatedGrant> g = crypto::CreateGrant(
        *chain, epoch, keys[epoch], bob->cert, alice->cert, alice->sign);
    ASSERT_TRUE(g.ok()) << g.status();
    grpc::Status granted = a1.Grant(*g);
    ASSERT_TRUE(granted.ok()) << granted.error_message();
  }
  // Bob, a member but not an owner, may neither grant nor publish.
  {
    absl::StatusOr<crypto::CreatedGrant> g = crypto::CreateGrant(
        *chain, 1, keys[1], alice->cert, alice->cert, alice->sign);
    ASSERT_TRUE(g.ok());
    EXPECT_EQ(b.Grant(*g).error_code(), grpc::StatusCode::PERMISSION_DENIED);
  }

  ASSERT_NO_FATAL_FAILURE(Restart());
  Member a2(*stub_, *alice,
            client::SignInToVault(*stub_, alice->sign, vault_->pin())->token());
  Member b2(*stub_, *bob,
            client::SignInToVault(*stub_, bob->sign, vault_->pin())->token());
  Member c(*stub_, *carol, Join(*carol));
  Member d(*stub_, *dave, Join(*dave));
  ASSERT_NO_FATAL_FAILURE(
      ExpectReviewerHolds(b2, id, e0->hash, lookup, {0, 1}, key_ptrs));
  EXPECT_EQ(b2.CaseIds(), std::vector<std::string>{Str(id)});
  EXPECT_EQ(d.CaseIds(), std::vector<std::string>{Str(id)});
  // Carol, listed nowhere, sees nothing.
  EXPECT_EQ(c.GetCase(id).status().code(), absl::StatusCode::kPermissionDenied);
  EXPECT_TRUE(c.CaseIds().empty());

  // Epoch 2 makes carol a member and bob an owner; bob signs its
  // renewal; a contributor cannot own.
  crypto::EpochMembership m2{
      {alice->cert.fingerprint, bob->cert.fingerprint},
      {alice->cert.fingerprint, bob->cert.fingerprint, carol->cert.fingerprint},
      {dave->cert.fingerprint}};
  absl::StatusOr<crypto::VerifiedDescriptor> e2 =
      crypto::CreateNextEpoch(*e1, keys[2].recipient(), m2, Now() + 30 * kDay,
                              alice->cert, alice->sign);
  ASSERT_TRUE(e2.ok());
  // Bob signing epoch 2 himself: not an owner of epoch 1.
  absl::StatusOr<crypto::VerifiedDescriptor> e2_by_bob =
      crypto::CreateNextEpoch(*e1, keys[2].recipient(), m2, Now() + 30 * kDay,
                              bob->cert, bob->sign);
  EXPECT_FALSE(e2_by_bob.ok());
  ASSERT_TRUE(a2.Publish(e2->statement).ok());
  ASSERT_TRUE(chain->Accept(e2->statement, lookup).ok());
  absl::StatusOr<crypto::VerifiedDescriptor> renewed =
      crypto::Renew(*e2, Now() + 60 * kDay, bob->cert, bob->sign);
  ASSERT_TRUE(renewed.ok()) << renewed.status();
  grpc::Status renewal = b2.Publish(renewed->statement);
  ASSERT_TRUE(renewal.ok()) << renewal.error_message();
  ASSERT_TRUE(chain->Accept(renewed->statement, lookup).ok());
  for (uint32_t epoch : {0u, 1u, 2u}) {
    absl::StatusOr<crypto::CreatedGrant> g = crypto::CreateGrant(
        *chain, epoch, keys[epoch], carol->cert, bob->cert, bob->sign);
    ASSERT_TRUE(g.ok()) << g.status();
    grpc::Status granted = b2.Grant(*g);
    ASSERT_TRUE(granted.ok()) << granted.error_message();
  }
  // A contributor never reads keys and cannot grant.
  {
    absl::StatusOr<crypto::CreatedGrant> g = crypto::CreateGrant(
        *chain, 2, keys[2], alice->cert, bob->cert, bob->sign);
    ASSERT_TRUE(g.ok());
    EXPECT_EQ(d.Grant(*g).error_code(), grpc::StatusCode::PERMISSION_DENIED);
    absl::StatusOr<tvault::v1::GetCaseResponse> seen = d.GetCase(id);
    ASSERT_TRUE(seen.ok());
    EXPECT_EQ(seen->grants_size(), 0);
  }

  ASSERT_NO_FATAL_FAILURE(Restart());
  Member c3(*stub_, *carol,
            client::SignInToVault(*stub_, carol->sign, vault_->pin())->token());
  Member b3(*stub_, *bob,
            client::SignInToVault(*stub_, bob->sign, vault_->pin())->token());
  // Nothing lost: carol reads all three epochs' keys, bob his two.
  ASSERT_NO_FATAL_FAILURE(
      ExpectReviewerHolds(c3, id, e0->hash, lookup, {0, 1, 2}, key_ptrs));
  ASSERT_NO_FATAL_FAILURE(
      ExpectReviewerHolds(b3, id, e0->hash, lookup, {0, 1}, key_ptrs));
  absl::StatusOr<tvault::v1::GetCaseResponse> all = c3.GetCase(id);
  ASSERT_TRUE(all.ok());
  EXPECT_EQ(all->descriptors_size(), 4);  // epochs 0, 1, 2 and the renewal
}

// On disk: no SQLite header, nothing readable without the key, and
// tvaultd refuses to start with a wrong one.
TEST_F(ServeTest, KeepsTheDatabaseUnreadableWithoutItsKey) {
  std::unique_ptr<Account> alice = LiveAccount(root_, "alice-canary");
  Join(*alice);
  ASSERT_EQ(vault_->Stop(), 0);
  const std::string db = ReadTestFile(vault_->data_dir() + "/vault.db");
  ASSERT_GT(db.size(), 4096u);
  EXPECT_FALSE(absl::StartsWith(db, "SQLite format 3"));
  EXPECT_FALSE(absl::StrContains(db, "alice-canary"));
  EXPECT_FALSE(absl::StrContains(db, "CREATE TABLE"));

  testing::WriteTestFile(vault_->db_key_file(), std::string(64, 'a'), 0600);
  EXPECT_FALSE(vault_->Start().ok());
  EXPECT_THAT(vault_->log_text(), HasSubstr("wrong key"));

  testing::WriteTestFile(vault_->db_key_file(), testing::kTestDbKeyHex, 0644);
  EXPECT_FALSE(vault_->Start().ok());
  EXPECT_THAT(vault_->log_text(), HasSubstr("chmod 600"));
}

// A copy of the data directory restored to an earlier state: the vault
// refuses to serve it, because its checkpoint copy (on other media) is
// ahead.
TEST_F(ServeTest, RefusesARestoredOlderDatabase) {
  std::unique_ptr<Account> alice = LiveAccount(root_, "alice");
  Join(*alice);
  ASSERT_EQ(vault_->Stop(), 0);
  const std::string backup = vault_->root() + "/backup";
  std::filesystem::copy(vault_->data_dir(), backup);
  ASSERT_TRUE(vault_->Start().ok());
  stub_ = vault_->Stub();
  std::unique_ptr<Account> bob = LiveAccount(root_, "bob");
  Join(*bob);
  ASSERT_EQ(vault_->Stop(), 0);

  std::filesystem::remove_all(vault_->data_dir());
  std::filesystem::rename(backup, vault_->data_dir());
  absl::Status started = vault_->Start();
  EXPECT_FALSE(started.ok());
  EXPECT_THAT(vault_->log_text(), HasSubstr("ROLLBACK"));
}

// What the vault logs carries no address, port, token or handle.
TEST_F(ServeTest, LogsNoAddressesTokensOrNames) {
  std::unique_ptr<Account> alice = LiveAccount(root_, "alice-in-the-log");
  const std::string token = Join(*alice);
  grpc::ClientContext context;
  client::AuthorizeCall(context, std::string(32, '\x01'));
  tvault::v1::ListCasesResponse cases;
  EXPECT_FALSE(stub_->ListCases(&context, {}, &cases).ok());
  stub_.reset();
  ASSERT_EQ(vault_->Stop(), 0);
  const std::string log = vault_->log_text();
  EXPECT_THAT(log, HasSubstr("registered"));
  EXPECT_THAT(log, ::testing::Not(HasSubstr("127.0.0.1")));
  const std::string port =
      vault_->address().substr(vault_->address().rfind(':') + 1);
  EXPECT_THAT(log, ::testing::Not(HasSubstr(port)));
  EXPECT_THAT(log, ::testing::Not(HasSubstr(absl::BytesToHexString(token))));
  EXPECT_THAT(log, ::testing::Not(HasSubstr("alice")));
}

// SIGUSR1 logs one line of memory figures (counts only) and the vault
// goes on serving; SIGTERM still stops it cleanly afterwards.
TEST_F(ServeTest, LogsItsMemoryOnSigusr1AndKeepsServing) {
  absl::StatusOr<std::string> line = vault_->AskMemoryLine();
  ASSERT_TRUE(line.ok()) << line.status();
  EXPECT_THAT(*line, HasSubstr("memory: heap in use "));
  EXPECT_THAT(*line, HasSubstr(" KiB, SQLite "));
  tvault::v1::ServerInfo info;
  grpc::ClientContext context;
  EXPECT_TRUE(stub_->GetServerInfo(&context, {}, &info).ok());
  stub_.reset();
  EXPECT_EQ(vault_->Stop(), 0);
  EXPECT_THAT(vault_->log_text(), HasSubstr("stopped"));
}

// The log as a client sees it: receipts verify, the checkpoint grows
// consistently, and a vault whose history was rewritten behind the
// anti-rollback check (the operator removed the checkpoint copy) is caught
// by a client that had seen the later checkpoint.
TEST_F(ServeTest, AClientCatchesARewrittenLog) {
  tvault::v1::ServerInfo info;
  {
    grpc::ClientContext context;
    ASSERT_TRUE(stub_->GetServerInfo(&context, {}, &info).ok());
  }
  absl::StatusOr<crypto::NoteVerifier> verifier =
      crypto::NoteVerifier::Parse(info.log_verifier_key());
  ASSERT_TRUE(verifier.ok());
  const std::string state = vault_->root() + "/client-state";
  std::filesystem::create_directory(state);
  absl::StatusOr<client::LogMonitor> monitor =
      client::LogMonitor::Open(*verifier, state);
  ASSERT_TRUE(monitor.ok());

  // alice registers; her receipt verifies and becomes the client's view.
  std::unique_ptr<Account> alice = LiveAccount(root_, "alice");
  tvault::v1::RegisterRequest request;
  *request.mutable_certificate() = alice->cert.statement;
  *request.mutable_challenge() = Challenge(alice->sign);
  tvault::v1::RegisterResponse registered;
  {
    grpc::ClientContext context;
    ASSERT_TRUE(stub_->Register(&context, request, &registered).ok());
  }
  const std::string token =
      client::SignInToVault(*stub_, alice->sign, vault_->pin())->token();
  absl::StatusOr<tvault::v1::LogEntry> entry = monitor->CheckReceipt(
      registered.receipt(), client::VaultConsistencyFetcher(*stub_, token));
  ASSERT_TRUE(entry.ok()) << entry.status();
  EXPECT_EQ(entry->certificate_registered().cert_fingerprint(),
            Str(alice->cert.fingerprint));
  ASSERT_NO_FATAL_FAILURE(Restart());
  const std::string backup = vault_->root() + "/backup";
  ASSERT_EQ(vault_->Stop(), 0);
  std::filesystem::copy(vault_->data_dir(), backup);
  ASSERT_TRUE(vault_->Start().ok());
  stub_ = vault_->Stub();

  // bob and carol register; the client checks the log and sees size 3.
  Join(*LiveAccount(root_, "bob"));
  Join(*LiveAccount(root_, "carol"));
  std::string token2 =
      client::SignInToVault(*stub_, alice->sign, vault_->pin())->token();
  absl::StatusOr<client::VerifiedCheckpoint> seen =
      client::CheckVaultLog(*stub_, token2, *monitor);
  ASSERT_TRUE(seen.ok()) << seen.status();
  EXPECT_EQ(seen->checkpoint.tree_size, 3u);

  // The server's data directory is replaced by the backup, the checkpoint
  // copy removed, and a different history grown past the client's.
  ASSERT_EQ(vault_->Stop(), 0);
  std::filesystem::remove_all(vault_->data_dir());
  std::filesystem::rename(backup, vault_->data_dir());
  std::filesystem::remove(vault_->checkpoint_copy());
  ASSERT_TRUE(vault_->Start().ok());
  stub_ = vault_->Stub();
  Join(*LiveAccount(root_, "mallory"));
  Join(*LiveAccount(root_, "trent"));
  Join(*LiveAccount(root_, "eve"));
  token2 = client::SignInToVault(*stub_, alice->sign, vault_->pin())->token();
  absl::StatusOr<client::VerifiedCheckpoint> forked =
      client::CheckVaultLog(*stub_, token2, *monitor);
  ASSERT_EQ(forked.status().code(), absl::StatusCode::kDataLoss)
      << forked.status();
  EXPECT_THAT(forked.status().message(), HasSubstr("FORK"));
  EXPECT_EQ(monitor->latest()->checkpoint.tree_size, 3u);
  bool evidence = false;
  for (const auto& f : std::filesystem::directory_iterator(state)) {
    evidence |= absl::StartsWith(f.path().filename().string(), "evidence-");
  }
  EXPECT_TRUE(evidence);
}

}  // namespace
}  // namespace tvault::vault
