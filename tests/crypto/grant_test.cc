// Grants: round trip, newcomers getting earlier epochs, and every refusal
// (non-owner granter, non-member, wrong identity, wrong ciphertext, forged,
// unknown fields, other case or epoch).
#include "crypto/grant.h"

#include <memory>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "crypto/age.h"
#include "crypto/age_error.h"
#include "crypto/io.h"
#include "crypto/statement.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "tests/crypto/trust_fixture.h"

namespace tvault::crypto {
namespace {

using ::testing::HasSubstr;
using ::testing::StartsWith;
using trust_testing::Account;
using trust_testing::CertDirectory;
using trust_testing::FlipSignatureBit;
using trust_testing::kDay;
using trust_testing::kNow;
using trust_testing::MakeAccount;
using trust_testing::ResignRaw;
using trust_testing::Str;
using trust_testing::WithUnknownField;
using tvault::v1::Grant;
using tvault::v1::SignedStatement;

std::vector<uint8_t> EncryptTo(const X25519Recipient& to,
                               absl::string_view plaintext) {
  const AgeRecipient* recipients[] = {&to};
  VectorSink sink;
  auto enc = AgeEncryptor::Create(recipients, sink);
  EXPECT_TRUE(enc.ok());
  EXPECT_TRUE((*enc)->Write(AsBytes(plaintext)).ok());
  EXPECT_TRUE((*enc)->Finish().ok());
  return sink.bytes();
}

std::string IdentityLine(const X25519Identity& id) {
  const SecretBytes s = id.Encode();
  return std::string(AsString(s.span())) + "\n";
}

class GrantTest : public ::testing::Test {
 protected:
  // Epoch 0: owner alice, members alice and bob. Epoch 1: owners alice and
  // carol (a newcomer owner), members alice, bob and dave (a newcomer).
  GrantTest() {
    for (const Account* a : {alice_.get(), bob_.get(), carol_.get(),
                             dave_.get(), mallory_.get(), eve_.get()}) {
      dir_.Add(*a);
    }
    absl::StatusOr<VerifiedDescriptor> g = CreateGenesisDescriptor(
        NewCaseId(), id0_.recipient(),
        Members({alice_.get()}, {alice_.get(), bob_.get()}), kNow + 30 * kDay,
        alice_->cert, alice_->sign);
    EXPECT_TRUE(g.ok()) << g.status();
    absl::StatusOr<VerifiedDescriptor> e1 = CreateNextEpoch(
        *g, id1_.recipient(),
        Members({alice_.get(), carol_.get()},
                {alice_.get(), bob_.get(), dave_.get(), eve_.get()}),
        kNow + 30 * kDay, alice_->cert, alice_->sign);
    EXPECT_TRUE(e1.ok()) << e1.status();
    absl::StatusOr<CaseChain> chain = CaseChain::Create(g->hash);
    EXPECT_TRUE(chain.ok());
    chain_ = std::make_unique<CaseChain>(*std::move(chain));
    EXPECT_TRUE(chain_->Accept(g->statement, dir_.Lookup()).ok());
    EXPECT_TRUE(chain_->Accept(e1->statement, dir_.Lookup()).ok());
  }

  EpochMembership Members(std::vector<const Account*> owners,
                          std::vector<const Account*> members) {
    EpochMembership m;
    for (const Account* a : owners) m.owners.push_back(a->cert.fingerprint);
    for (const Account* a : members) m.members.push_back(a->cert.fingerprint);
    return m;
  }

  // A grant body as CreateGrant would write it, for hand-made grants.
  Grant Body(uint32_t epoch, const Account& member, const Account& granter,
             const std::vector<uint8_t>& ciphertext) {
    Grant g;
    g.set_version(1);
    g.set_case_id(chain_->case_id());
    g.set_epoch(epoch);
    g.set_recipient(chain_->Find(epoch)->body.recipient());
    g.set_member_cert_fingerprint(Str(member.cert.fingerprint));
    g.set_granter_cert_fingerprint(Str(granter.cert.fingerprint));
    g.set_ciphertext_sha256(Str(ComputeSha256(ciphertext)));
    return g;
  }

  const SigningKey root_ = SigningKey::Generate();
  std::unique_ptr<Account> alice_ = MakeAccount(root_, "alice");
  std::unique_ptr<Account> bob_ = MakeAccount(root_, "bob");
  std::unique_ptr<Account> carol_ = MakeAccount(root_, "carol");
  std::unique_ptr<Account> dave_ = MakeAccount(root_, "dave");
  std::unique_ptr<Account> mallory_ = MakeAccount(root_, "mallory");
  std::unique_ptr<Account> eve_ =
      MakeAccount(root_, "eve", {tvault::v1::CONTRIBUTOR});
  const X25519Identity id0_ = X25519Identity::Generate();
  const X25519Identity id1_ = X25519Identity::Generate();
  CertDirectory dir_;
  std::unique_ptr<CaseChain> chain_;
};

TEST_F(GrantTest, RoundTrip) {
  absl::StatusOr<CreatedGrant> created =
      CreateGrant(*chain_, 0, id0_, bob_->cert, alice_->cert, alice_->sign);
  ASSERT_TRUE(created.ok()) << created.status();
  absl::StatusOr<VerifiedGrant> v =
      VerifyGrant(created->statement, *chain_, dir_.Lookup());
  ASSERT_TRUE(v.ok()) << v.status();
  EXPECT_EQ(v->member, bob_->cert.fingerprint);
  EXPECT_EQ(v->granter, alice_->cert.fingerprint);
  EXPECT_EQ(v->body.epoch(), 0u);
  EXPECT_EQ(v->body.recipient(), id0_.recipient().Encode());
  EXPECT_EQ(v->body.ciphertext_sha256(),
            Str(ComputeSha256(created->ciphertext)));
  absl::StatusOr<X25519Identity> opened =
      OpenGrant(*v, created->ciphertext, bob_->box);
  ASSERT_TRUE(opened.ok()) << opened.status();
  EXPECT_EQ(opened->recipient(), id0_.recipient());
  EXPECT_TRUE(
      ConstantTimeEquals(opened->Encode().span(), id0_.Encode().span()));
}

TEST_F(GrantTest, CiphertextIsAnAgeFileOfOneIdentityLine) {
  absl::StatusOr<CreatedGrant> created =
      CreateGrant(*chain_, 1, id1_, bob_->cert, alice_->cert, alice_->sign);
  ASSERT_TRUE(created.ok());
  MemorySource src(created->ciphertext);
  auto dec = AgeDecryptor::Open(src);
  ASSERT_TRUE(dec.ok());
  EXPECT_EQ((*dec)->header().stanzas.size(), 1u);
  const AgeIdentity* ids[] = {&bob_->box};
  ASSERT_TRUE((*dec)->Unlock(ids).ok());
  VectorSink out;
  ASSERT_TRUE((*dec)->DecryptTo(out).ok());
  const std::string text(out.bytes().begin(), out.bytes().end());
  EXPECT_EQ(text, IdentityLine(id1_));
  EXPECT_THAT(text, StartsWith("AGE-SECRET-KEY-1"));
}

TEST_F(GrantTest, NewcomerMemberGetsEarlierEpoch) {
  // dave is listed only in epoch 1, yet may be given epoch 0's key.
  absl::StatusOr<CreatedGrant> created =
      CreateGrant(*chain_, 0, id0_, dave_->cert, alice_->cert, alice_->sign);
  ASSERT_TRUE(created.ok()) << created.status();
  absl::StatusOr<VerifiedGrant> v =
      VerifyGrant(created->statement, *chain_, dir_.Lookup());
  ASSERT_TRUE(v.ok()) << v.status();
  EXPECT_TRUE(OpenGrant(*v, created->ciphertext, dave_->box).ok());
}

TEST_F(GrantTest, NewcomerOwnerMayGrantEarlierEpoch) {
  absl::StatusOr<CreatedGrant> created =
      CreateGrant(*chain_, 0, id0_, dave_->cert, carol_->cert, carol_->sign);
  ASSERT_TRUE(created.ok()) << created.status();
  EXPECT_TRUE(VerifyGrant(created->statement, *chain_, dir_.Lookup()).ok());
}

TEST_F(GrantTest, CreateRefusesGrantByNonOwner) {
  // bob is a member, not an owner; mallory is neither.
  for (const Account* granter : {bob_.get(), mallory_.get()}) {
    const absl::Status s =
        CreateGrant(*chain_, 0, id0_, dave_->cert, granter->cert, granter->sign)
            .status();
    EXPECT_EQ(s.code(), absl::StatusCode::kPermissionDenied);
    EXPECT_THAT(s.message(), HasSubstr("only owners grant"));
  }
}

TEST_F(GrantTest, VerifyRefusesGrantByNonOwner) {
  const std::vector<uint8_t> ct =
      EncryptTo(bob_->box.recipient(), IdentityLine(id0_));
  const SignedStatement st = SignStatement(
      StatementType::kGrant, Body(0, *bob_, *mallory_, ct), mallory_->sign);
  const absl::Status s = VerifyGrant(st, *chain_, dir_.Lookup()).status();
  EXPECT_EQ(s.code(), absl::StatusCode::kPermissionDenied);
  EXPECT_THAT(s.message(), HasSubstr("not an owner"));
}

TEST_F(GrantTest, VerifyRefusesGrantSignedByOtherThanNamedGranter) {
  // Names alice as granter but is signed by mallory.
  const std::vector<uint8_t> ct =
      EncryptTo(bob_->box.recipient(), IdentityLine(id0_));
  const SignedStatement st = SignStatement(
      StatementType::kGrant, Body(0, *bob_, *alice_, ct), mallory_->sign);
  EXPECT_EQ(VerifyGrant(st, *chain_, dir_.Lookup()).status().code(),
            absl::StatusCode::kPermissionDenied);
}

TEST_F(GrantTest, VerifyRefusesForgedGrant) {
  absl::StatusOr<CreatedGrant> created =
      CreateGrant(*chain_, 0, id0_, bob_->cert, alice_->cert, alice_->sign);
  ASSERT_TRUE(created.ok());
  EXPECT_EQ(
      VerifyGrant(FlipSignatureBit(created->statement), *chain_, dir_.Lookup())
          .status()
          .code(),
      absl::StatusCode::kPermissionDenied);
}

TEST_F(GrantTest, VerifyRefusesGrantWhoseGranterIsUnknown) {
  absl::StatusOr<CreatedGrant> created =
      CreateGrant(*chain_, 0, id0_, bob_->cert, alice_->cert, alice_->sign);
  ASSERT_TRUE(created.ok());
  dir_.Remove(*alice_);
  EXPECT_EQ(
      VerifyGrant(created->statement, *chain_, dir_.Lookup()).status().code(),
      absl::StatusCode::kNotFound);
}

TEST_F(GrantTest, CreateRefusesGrantToNonMember) {
  const absl::Status s =
      CreateGrant(*chain_, 0, id0_, mallory_->cert, alice_->cert, alice_->sign)
          .status();
  EXPECT_EQ(s.code(), absl::StatusCode::kPermissionDenied);
  EXPECT_THAT(s.message(), HasSubstr("not listed in members[]"));
}

TEST_F(GrantTest, VerifyRefusesGrantToNonMember) {
  const std::vector<uint8_t> ct =
      EncryptTo(mallory_->box.recipient(), IdentityLine(id0_));
  const SignedStatement st = SignStatement(
      StatementType::kGrant, Body(0, *mallory_, *alice_, ct), alice_->sign);
  const absl::Status s = VerifyGrant(st, *chain_, dir_.Lookup()).status();
  EXPECT_EQ(s.code(), absl::StatusCode::kPermissionDenied);
  EXPECT_THAT(s.message(), HasSubstr("not listed in members[]"));
}

TEST_F(GrantTest, CreateRefusesMemberWithoutReviewerRole) {
  // eve is listed in epoch 1 but her certificate is contributor-only.
  EXPECT_EQ(
      CreateGrant(*chain_, 1, id1_, eve_->cert, alice_->cert, alice_->sign)
          .status()
          .code(),
      absl::StatusCode::kInvalidArgument);
}

TEST_F(GrantTest, CreateRefusesIdentityNotMatchingRecipient) {
  const absl::Status s =
      CreateGrant(*chain_, 0, id1_, bob_->cert, alice_->cert, alice_->sign)
          .status();
  EXPECT_EQ(s.code(), absl::StatusCode::kInvalidArgument);
  EXPECT_THAT(s.message(), HasSubstr("recipient differs"));
}

TEST_F(GrantTest, CreateRefusesUnknownEpoch) {
  EXPECT_EQ(
      CreateGrant(*chain_, 2, id1_, bob_->cert, alice_->cert, alice_->sign)
          .status()
          .code(),
      absl::StatusCode::kNotFound);
}

TEST_F(GrantTest, CreateRefusesKeyNotMatchingGranterCertificate) {
  EXPECT_EQ(
      CreateGrant(*chain_, 0, id0_, bob_->cert, alice_->cert, carol_->sign)
          .status()
          .code(),
      absl::StatusCode::kPermissionDenied);
}

TEST_F(GrantTest, OpenRefusesIdentityNotMatchingRecipient) {
  // A validly signed grant for epoch 0 whose ciphertext holds another key.
  const X25519Identity wrong = X25519Identity::Generate();
  const std::vector<uint8_t> ct =
      EncryptTo(bob_->box.recipient(), IdentityLine(wrong));
  const SignedStatement st = SignStatement(
      StatementType::kGrant, Body(0, *bob_, *alice_, ct), alice_->sign);
  absl::StatusOr<VerifiedGrant> v = VerifyGrant(st, *chain_, dir_.Lookup());
  ASSERT_TRUE(v.ok()) << v.status();
  const absl::Status s = OpenGrant(*v, ct, bob_->box).status();
  EXPECT_EQ(s.code(), absl::StatusCode::kDataLoss);
  EXPECT_THAT(s.message(), HasSubstr("does not match the epoch's recipient"));
}

TEST_F(GrantTest, OpenRefusesWrongCiphertextHash) {
  absl::StatusOr<CreatedGrant> created =
      CreateGrant(*chain_, 0, id0_, bob_->cert, alice_->cert, alice_->sign);
  ASSERT_TRUE(created.ok());
  absl::StatusOr<VerifiedGrant> v =
      VerifyGrant(created->statement, *chain_, dir_.Lookup());
  ASSERT_TRUE(v.ok());
  std::vector<uint8_t> tampered = created->ciphertext;
  tampered.back() ^= 1;
  const absl::Status s = OpenGrant(*v, tampered, bob_->box).status();
  EXPECT_EQ(s.code(), absl::StatusCode::kDataLoss);
  EXPECT_THAT(s.message(), HasSubstr("does not match the hash"));
  // Another valid grant's ciphertext does not fit either.
  absl::StatusOr<CreatedGrant> other =
      CreateGrant(*chain_, 0, id0_, bob_->cert, alice_->cert, alice_->sign);
  ASSERT_TRUE(other.ok());
  EXPECT_EQ(OpenGrant(*v, other->ciphertext, bob_->box).status().code(),
            absl::StatusCode::kDataLoss);
}

TEST_F(GrantTest, OpenRefusesPlaintextThatIsNotOneIdentityLine) {
  for (const std::string& plain :
       {IdentityLine(id0_) + "\n", std::string(AsString(id0_.Encode().span())),
        std::string("hello")}) {
    const std::vector<uint8_t> ct = EncryptTo(bob_->box.recipient(), plain);
    const SignedStatement st = SignStatement(
        StatementType::kGrant, Body(0, *bob_, *alice_, ct), alice_->sign);
    absl::StatusOr<VerifiedGrant> v = VerifyGrant(st, *chain_, dir_.Lookup());
    ASSERT_TRUE(v.ok());
    EXPECT_FALSE(OpenGrant(*v, ct, bob_->box).ok());
  }
}

TEST_F(GrantTest, OpenWithWrongMemberIdentityFails) {
  absl::StatusOr<CreatedGrant> created =
      CreateGrant(*chain_, 0, id0_, bob_->cert, alice_->cert, alice_->sign);
  ASSERT_TRUE(created.ok());
  absl::StatusOr<VerifiedGrant> v =
      VerifyGrant(created->statement, *chain_, dir_.Lookup());
  ASSERT_TRUE(v.ok());
  const absl::Status s =
      OpenGrant(*v, created->ciphertext, dave_->box).status();
  EXPECT_EQ(GetAgeErrorKind(s), AgeErrorKind::kNoMatch);
}

TEST_F(GrantTest, VerifyRefusesRecipientNotTheEpochs) {
  const std::vector<uint8_t> ct =
      EncryptTo(bob_->box.recipient(), IdentityLine(id1_));
  Grant body = Body(0, *bob_, *alice_, ct);
  body.set_recipient(id1_.recipient().Encode());  // epoch 1's, not 0's
  const SignedStatement st =
      SignStatement(StatementType::kGrant, body, alice_->sign);
  EXPECT_EQ(VerifyGrant(st, *chain_, dir_.Lookup()).status().code(),
            absl::StatusCode::kFailedPrecondition);
}

TEST_F(GrantTest, VerifyRefusesOtherCaseAndUnknownEpoch) {
  const std::vector<uint8_t> ct =
      EncryptTo(bob_->box.recipient(), IdentityLine(id0_));
  Grant body = Body(0, *bob_, *alice_, ct);
  body.set_case_id(Str(NewCaseId()));
  EXPECT_EQ(
      VerifyGrant(SignStatement(StatementType::kGrant, body, alice_->sign),
                  *chain_, dir_.Lookup())
          .status()
          .code(),
      absl::StatusCode::kFailedPrecondition);
  body = Body(0, *bob_, *alice_, ct);
  body.set_epoch(7);
  EXPECT_EQ(
      VerifyGrant(SignStatement(StatementType::kGrant, body, alice_->sign),
                  *chain_, dir_.Lookup())
          .status()
          .code(),
      absl::StatusCode::kNotFound);
}

TEST_F(GrantTest, VerifyRefusesUnknownFieldInSignedBody) {
  absl::StatusOr<CreatedGrant> created =
      CreateGrant(*chain_, 0, id0_, bob_->cert, alice_->cert, alice_->sign);
  ASSERT_TRUE(created.ok());
  const SignedStatement st =
      ResignRaw(StatementType::kGrant,
                WithUnknownField(created->statement.body()), alice_->sign);
  const absl::Status s = VerifyGrant(st, *chain_, dir_.Lookup()).status();
  EXPECT_EQ(s.code(), absl::StatusCode::kInvalidArgument);
  EXPECT_THAT(s.message(), HasSubstr("unknown fields"));
}

TEST_F(GrantTest, VerifyRefusesNonCanonicalBody) {
  absl::StatusOr<CreatedGrant> created =
      CreateGrant(*chain_, 0, id0_, bob_->cert, alice_->cert, alice_->sign);
  ASSERT_TRUE(created.ok());
  const SignedStatement st = ResignRaw(
      StatementType::kGrant,
      trust_testing::NonCanonical(created->statement.body()), alice_->sign);
  EXPECT_EQ(VerifyGrant(st, *chain_, dir_.Lookup()).status().code(),
            absl::StatusCode::kInvalidArgument);
}

TEST_F(GrantTest, GrantRulesEnforced) {
  const std::vector<uint8_t> ct =
      EncryptTo(bob_->box.recipient(), IdentityLine(id0_));
  const Grant good = Body(0, *bob_, *alice_, ct);
  ASSERT_TRUE(CheckGrantBody(good).ok());
  Grant b = good;
  b.set_version(2);
  EXPECT_FALSE(CheckGrantBody(b).ok());
  b = good;
  b.set_ciphertext_sha256("short");
  EXPECT_FALSE(CheckGrantBody(b).ok());
  b = good;
  b.set_member_cert_fingerprint("short");
  EXPECT_FALSE(CheckGrantBody(b).ok());
  b = good;
  b.set_recipient("AGE1UPPERCASE");
  EXPECT_FALSE(CheckGrantBody(b).ok());
}

}  // namespace
}  // namespace tvault::crypto
