// Case descriptors and CaseChain: creating epochs, renewals, and every way a
// chain refuses a descriptor (forged, non-owner, skipped, mislinked, rolled
// back, not the pinned genesis) or keeps it as evidence (equivocation).
#include "crypto/case_descriptor.h"

#include <memory>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "crypto/age_recipients.h"
#include "crypto/statement.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "tests/crypto/trust_fixture.h"

namespace tvault::crypto {
namespace {

using ::testing::HasSubstr;
using trust_testing::Account;
using trust_testing::CertDirectory;
using trust_testing::FlipSignatureBit;
using trust_testing::kDay;
using trust_testing::kNow;
using trust_testing::MakeAccount;
using trust_testing::NonCanonical;
using trust_testing::ResignRaw;
using trust_testing::Str;
using trust_testing::WithUnknownField;
using tvault::v1::CaseDescriptor;
using tvault::v1::SignedStatement;

class CaseDescriptorTest : public ::testing::Test {
 protected:
  CaseDescriptorTest() {
    for (const Account* a :
         {alice_.get(), bob_.get(), carol_.get(), mallory_.get()}) {
      dir_.Add(*a);
    }
  }

  EpochMembership Members(std::vector<const Account*> owners,
                          std::vector<const Account*> members) {
    EpochMembership m;
    for (const Account* a : owners) m.owners.push_back(a->cert.fingerprint);
    for (const Account* a : members) m.members.push_back(a->cert.fingerprint);
    return m;
  }

  VerifiedDescriptor Genesis() {
    absl::StatusOr<VerifiedDescriptor> d = CreateGenesisDescriptor(
        case_id_, X25519Identity::Generate().recipient(),
        Members({alice_.get()}, {alice_.get(), bob_.get()}), kNow + 30 * kDay,
        alice_->cert, alice_->sign);
    EXPECT_TRUE(d.ok()) << d.status();
    return *d;
  }

  VerifiedDescriptor Next(const VerifiedDescriptor& prev, const Account& signer,
                          std::vector<const Account*> owners,
                          std::vector<const Account*> members) {
    absl::StatusOr<VerifiedDescriptor> d = CreateNextEpoch(
        prev, X25519Identity::Generate().recipient(), Members(owners, members),
        kNow + 30 * kDay, signer.cert, signer.sign);
    EXPECT_TRUE(d.ok()) << d.status();
    return *d;
  }

  CaseChain ChainFor(const VerifiedDescriptor& genesis) {
    absl::StatusOr<CaseChain> c = CaseChain::Create(genesis.hash);
    EXPECT_TRUE(c.ok());
    return *c;
  }

  // A descriptor body signed directly (bypassing Create*'s checks).
  SignedStatement SignBody(const CaseDescriptor& body, const Account& signer) {
    return SignStatement(StatementType::kDescriptor, body, signer.sign);
  }

  const SigningKey root_ = SigningKey::Generate();
  std::unique_ptr<Account> alice_ = MakeAccount(root_, "alice");
  std::unique_ptr<Account> bob_ = MakeAccount(root_, "bob");
  std::unique_ptr<Account> carol_ = MakeAccount(root_, "carol");
  std::unique_ptr<Account> mallory_ = MakeAccount(root_, "mallory");
  CertDirectory dir_;
  const CaseId case_id_ = NewCaseId();
};

TEST_F(CaseDescriptorTest, GenesisRoundTrip) {
  const VerifiedDescriptor g = Genesis();
  EXPECT_EQ(g.body.epoch(), 0u);
  EXPECT_EQ(g.body.case_id(), Str(case_id_));
  EXPECT_EQ(g.body.prev_descriptor_hash(), std::string(32, '\0'));
  EXPECT_EQ(g.hash, ComputeSha256(AsBytes(g.statement.body())));
  EXPECT_EQ(g.signer, alice_->cert.fingerprint);

  CaseChain chain = ChainFor(g);
  EXPECT_TRUE(chain.empty());
  EXPECT_EQ(chain.Current(), nullptr);
  ASSERT_TRUE(chain.Accept(g.statement, dir_.Lookup()).ok());
  ASSERT_NE(chain.Current(), nullptr);
  EXPECT_EQ(chain.Current()->hash, g.hash);
  EXPECT_EQ(chain.Current()->signer, alice_->cert.fingerprint);
  EXPECT_EQ(chain.highest_epoch(), 0u);
  EXPECT_EQ(chain.case_id(), Str(case_id_));
  EXPECT_TRUE(chain.IsOwnerFrom(0, alice_->cert.fingerprint));
  EXPECT_TRUE(chain.IsMemberFrom(0, bob_->cert.fingerprint));
  EXPECT_FALSE(chain.IsMemberFrom(0, carol_->cert.fingerprint));
}

TEST_F(CaseDescriptorTest, GenesisRefusesCreatorWhoIsNotAnOwner) {
  const absl::Status s =
      CreateGenesisDescriptor(case_id_, X25519Identity::Generate().recipient(),
                              Members({bob_.get()}, {}), kNow + 30 * kDay,
                              alice_->cert, alice_->sign)
          .status();
  EXPECT_EQ(s.code(), absl::StatusCode::kPermissionDenied);
  EXPECT_THAT(s.message(), HasSubstr("not an owner"));
}

TEST_F(CaseDescriptorTest, GenesisRefusesKeyNotMatchingCertificate) {
  EXPECT_EQ(
      CreateGenesisDescriptor(case_id_, X25519Identity::Generate().recipient(),
                              Members({alice_.get()}, {}), kNow + 30 * kDay,
                              alice_->cert, bob_->sign)
          .status()
          .code(),
      absl::StatusCode::kPermissionDenied);
}

TEST_F(CaseDescriptorTest, ChainRefusesGenesisThatIsNotPinned) {
  const VerifiedDescriptor g = Genesis();
  const VerifiedDescriptor other = Genesis();  // same case, another recipient
  CaseChain chain = ChainFor(g);
  const absl::Status s = chain.Accept(other.statement, dir_.Lookup());
  EXPECT_EQ(s.code(), absl::StatusCode::kPermissionDenied);
  EXPECT_THAT(s.message(), HasSubstr("pinned genesis"));
  EXPECT_TRUE(chain.empty());
}

TEST_F(CaseDescriptorTest, ChainRefusesPinnedGenesisSignedByNonOwner) {
  // Genesis bytes listing alice as owner, but signed by mallory.
  const VerifiedDescriptor g = Genesis();
  const SignedStatement forged = SignBody(g.body, *mallory_);
  CaseChain chain = ChainFor(g);  // the hash covers the body only
  EXPECT_EQ(chain.Accept(forged, dir_.Lookup()).code(),
            absl::StatusCode::kPermissionDenied);
}

TEST_F(CaseDescriptorTest, ChainRefusesForgedDescriptor) {
  const VerifiedDescriptor g = Genesis();
  CaseChain chain = ChainFor(g);
  ASSERT_TRUE(chain.Accept(g.statement, dir_.Lookup()).ok());
  const VerifiedDescriptor e1 = Next(g, *alice_, {alice_.get()}, {bob_.get()});
  const absl::Status s =
      chain.Accept(FlipSignatureBit(e1.statement), dir_.Lookup());
  EXPECT_EQ(s.code(), absl::StatusCode::kPermissionDenied);
  EXPECT_EQ(chain.highest_epoch(), 0u);
}

TEST_F(CaseDescriptorTest, ChainRefusesEpochBeforeGenesis) {
  const VerifiedDescriptor g = Genesis();
  const VerifiedDescriptor e1 = Next(g, *alice_, {alice_.get()}, {});
  CaseChain chain = ChainFor(g);
  EXPECT_EQ(chain.Accept(e1.statement, dir_.Lookup()).code(),
            absl::StatusCode::kFailedPrecondition);
}

TEST_F(CaseDescriptorTest, NextEpochAccepted) {
  const VerifiedDescriptor g = Genesis();
  const VerifiedDescriptor e1 =
      Next(g, *alice_, {alice_.get(), carol_.get()}, {bob_.get()});
  EXPECT_EQ(e1.body.epoch(), 1u);
  EXPECT_EQ(e1.body.prev_descriptor_hash(), Str(g.hash));
  const VerifiedDescriptor e2 = Next(e1, *carol_, {carol_.get()}, {});
  CaseChain chain = ChainFor(g);
  ASSERT_TRUE(chain.Accept(g.statement, dir_.Lookup()).ok());
  ASSERT_TRUE(chain.Accept(e1.statement, dir_.Lookup()).ok());
  ASSERT_TRUE(chain.Accept(e2.statement, dir_.Lookup()).ok());
  EXPECT_EQ(chain.highest_epoch(), 2u);
  EXPECT_EQ(chain.Current()->hash, e2.hash);
  EXPECT_EQ(chain.Current()->signer, carol_->cert.fingerprint);
  EXPECT_EQ(chain.Find(1)->hash, e1.hash);
  EXPECT_EQ(chain.Find(3), nullptr);
  EXPECT_TRUE(chain.IsOwnerFrom(1, carol_->cert.fingerprint));
  EXPECT_FALSE(chain.IsOwnerFrom(2, alice_->cert.fingerprint));
  EXPECT_TRUE(chain.equivocations().empty());
}

TEST_F(CaseDescriptorTest, CreateNextEpochRefusesNonOwner) {
  const VerifiedDescriptor g = Genesis();
  EXPECT_EQ(CreateNextEpoch(g, X25519Identity::Generate().recipient(),
                            Members({mallory_.get()}, {}), kNow + kDay,
                            mallory_->cert, mallory_->sign)
                .status()
                .code(),
            absl::StatusCode::kPermissionDenied);
}

TEST_F(CaseDescriptorTest, ChainRefusesDescriptorSignedByNonOwner) {
  const VerifiedDescriptor g = Genesis();
  CaseChain chain = ChainFor(g);
  ASSERT_TRUE(chain.Accept(g.statement, dir_.Lookup()).ok());
  // Mallory has a valid certificate but is not an owner of epoch 0; bob is
  // a member, not an owner.
  for (const Account* signer : {mallory_.get(), bob_.get()}) {
    CaseDescriptor body = Next(g, *alice_, {signer}, {}).body;
    const absl::Status s = chain.Accept(SignBody(body, *signer), dir_.Lookup());
    EXPECT_EQ(s.code(), absl::StatusCode::kPermissionDenied);
    EXPECT_THAT(s.message(), HasSubstr("not signed by any owner of epoch 0"));
  }
  EXPECT_EQ(chain.highest_epoch(), 0u);
}

TEST_F(CaseDescriptorTest, ChainRefusesOwnerWhoseCertificateTheLookupRejects) {
  const VerifiedDescriptor g = Genesis();
  CaseChain chain = ChainFor(g);
  ASSERT_TRUE(chain.Accept(g.statement, dir_.Lookup()).ok());
  const VerifiedDescriptor e1 = Next(g, *alice_, {alice_.get()}, {});
  dir_.Remove(*alice_);  // e.g. revoked before the descriptor's log time
  EXPECT_EQ(chain.Accept(e1.statement, dir_.Lookup()).code(),
            absl::StatusCode::kPermissionDenied);
}

TEST_F(CaseDescriptorTest, ChainRefusesSkippedEpoch) {
  const VerifiedDescriptor g = Genesis();
  const VerifiedDescriptor e1 = Next(g, *alice_, {alice_.get()}, {});
  const VerifiedDescriptor e2 = Next(e1, *alice_, {alice_.get()}, {});
  CaseChain chain = ChainFor(g);
  ASSERT_TRUE(chain.Accept(g.statement, dir_.Lookup()).ok());
  const absl::Status s = chain.Accept(e2.statement, dir_.Lookup());
  EXPECT_EQ(s.code(), absl::StatusCode::kFailedPrecondition);
  EXPECT_THAT(s.message(), HasSubstr("skips epoch 1"));
}

TEST_F(CaseDescriptorTest, ChainRefusesWrongPrevDescriptorHash) {
  const VerifiedDescriptor g = Genesis();
  CaseChain chain = ChainFor(g);
  ASSERT_TRUE(chain.Accept(g.statement, dir_.Lookup()).ok());
  CaseDescriptor body = Next(g, *alice_, {alice_.get()}, {}).body;
  body.set_prev_descriptor_hash(std::string(32, '\x07'));
  const absl::Status s = chain.Accept(SignBody(body, *alice_), dir_.Lookup());
  EXPECT_EQ(s.code(), absl::StatusCode::kFailedPrecondition);
  EXPECT_THAT(s.message(), HasSubstr("prev_descriptor_hash"));
}

TEST_F(CaseDescriptorTest, ChainRefusesEpochLowerThanHighestSeen) {
  const VerifiedDescriptor g = Genesis();
  const VerifiedDescriptor e1 = Next(g, *alice_, {alice_.get()}, {});
  const VerifiedDescriptor e2 = Next(e1, *alice_, {alice_.get()}, {});
  CaseChain chain = ChainFor(g);
  for (const VerifiedDescriptor* d : {&g, &e1, &e2}) {
    ASSERT_TRUE(chain.Accept(d->statement, dir_.Lookup()).ok());
  }
  // A validly signed renewal of epoch 1, shown after epoch 2.
  absl::StatusOr<VerifiedDescriptor> late =
      Renew(e1, e1.body.not_after() + kDay, alice_->cert, alice_->sign);
  ASSERT_TRUE(late.ok());
  const absl::Status s = chain.Accept(late->statement, dir_.Lookup());
  EXPECT_EQ(s.code(), absl::StatusCode::kFailedPrecondition);
  EXPECT_THAT(s.message(), HasSubstr("lower than the highest seen"));
  EXPECT_EQ(chain.Find(1)->hash, e1.hash);
}

TEST_F(CaseDescriptorTest, ChainAcceptsIdenticalCopyAsNoOp) {
  const VerifiedDescriptor g = Genesis();
  const VerifiedDescriptor e1 = Next(g, *alice_, {alice_.get()}, {});
  CaseChain chain = ChainFor(g);
  ASSERT_TRUE(chain.Accept(g.statement, dir_.Lookup()).ok());
  ASSERT_TRUE(chain.Accept(e1.statement, dir_.Lookup()).ok());
  EXPECT_TRUE(chain.Accept(g.statement, dir_.Lookup()).ok());
  EXPECT_TRUE(chain.Accept(e1.statement, dir_.Lookup()).ok());
  EXPECT_TRUE(chain.equivocations().empty());
  EXPECT_EQ(chain.highest_epoch(), 1u);
}

TEST_F(CaseDescriptorTest, ChainKeepsTwoVersionsOfOneEpochAsEquivocation) {
  const VerifiedDescriptor g = Genesis();
  const VerifiedDescriptor e1a = Next(g, *alice_, {alice_.get()}, {bob_.get()});
  const VerifiedDescriptor e1b =
      Next(g, *alice_, {alice_.get()}, {mallory_.get()});
  CaseChain chain = ChainFor(g);
  ASSERT_TRUE(chain.Accept(g.statement, dir_.Lookup()).ok());
  ASSERT_TRUE(chain.Accept(e1a.statement, dir_.Lookup()).ok());
  const absl::Status s = chain.Accept(e1b.statement, dir_.Lookup());
  EXPECT_EQ(s.code(), absl::StatusCode::kAlreadyExists);
  EXPECT_THAT(s.message(), HasSubstr("EQUIVOCATION"));
  ASSERT_EQ(chain.equivocations().size(), 1u);
  EXPECT_EQ(chain.equivocations()[0].first.hash, e1a.hash);
  EXPECT_EQ(chain.equivocations()[0].second.hash, e1b.hash);
  EXPECT_EQ(chain.equivocations()[0].second.statement.signature(),
            e1b.statement.signature());
  // The chain keeps the first version and refuses to build on the second.
  EXPECT_EQ(chain.Current()->hash, e1a.hash);
  const VerifiedDescriptor e2 = Next(e1b, *alice_, {alice_.get()}, {});
  EXPECT_EQ(chain.Accept(e2.statement, dir_.Lookup()).code(),
            absl::StatusCode::kFailedPrecondition);
}

TEST_F(CaseDescriptorTest, ChainKeepsTwoVersionsOfGenesisAsEquivocation) {
  const VerifiedDescriptor g = Genesis();
  CaseDescriptor other = g.body;
  other.add_members(Str(mallory_->cert.fingerprint));
  CaseChain chain = ChainFor(g);
  ASSERT_TRUE(chain.Accept(g.statement, dir_.Lookup()).ok());
  EXPECT_EQ(chain.Accept(SignBody(other, *alice_), dir_.Lookup()).code(),
            absl::StatusCode::kAlreadyExists);
  EXPECT_EQ(chain.equivocations().size(), 1u);
}

TEST_F(CaseDescriptorTest, ConflictingVersionByNonOwnerIsNotEvidence) {
  const VerifiedDescriptor g = Genesis();
  const VerifiedDescriptor e1 = Next(g, *alice_, {alice_.get()}, {});
  CaseChain chain = ChainFor(g);
  ASSERT_TRUE(chain.Accept(g.statement, dir_.Lookup()).ok());
  ASSERT_TRUE(chain.Accept(e1.statement, dir_.Lookup()).ok());
  CaseDescriptor other = e1.body;
  other.add_members(Str(mallory_->cert.fingerprint));
  EXPECT_EQ(chain.Accept(SignBody(other, *mallory_), dir_.Lookup()).code(),
            absl::StatusCode::kPermissionDenied);
  EXPECT_TRUE(chain.equivocations().empty());
}

TEST_F(CaseDescriptorTest, RenewalAcceptedAndLaterNotAfterWins) {
  const VerifiedDescriptor g = Genesis();
  const VerifiedDescriptor e1 =
      Next(g, *alice_, {alice_.get(), carol_.get()}, {});
  // carol, an owner of epoch 1 (not of epoch 0), renews it.
  absl::StatusOr<VerifiedDescriptor> renewed =
      Renew(e1, e1.body.not_after() + 30 * kDay, carol_->cert, carol_->sign);
  ASSERT_TRUE(renewed.ok()) << renewed.status();
  EXPECT_TRUE(DiffersOnlyInNotAfter(renewed->body, e1.body));
  EXPECT_NE(renewed->hash, e1.hash);

  CaseChain chain = ChainFor(g);
  ASSERT_TRUE(chain.Accept(g.statement, dir_.Lookup()).ok());
  ASSERT_TRUE(chain.Accept(e1.statement, dir_.Lookup()).ok());
  ASSERT_TRUE(chain.Accept(renewed->statement, dir_.Lookup()).ok());
  EXPECT_EQ(chain.Current()->hash, renewed->hash);
  EXPECT_EQ(chain.Current()->body.not_after(), e1.body.not_after() + 30 * kDay);
  EXPECT_TRUE(chain.equivocations().empty());

  // The next epoch may link to either version.
  const VerifiedDescriptor e2 = Next(*renewed, *alice_, {alice_.get()}, {});
  ASSERT_TRUE(chain.Accept(e2.statement, dir_.Lookup()).ok());
  EXPECT_EQ(chain.highest_epoch(), 2u);
}

TEST_F(CaseDescriptorTest, EarlierRenewalDoesNotWin) {
  const VerifiedDescriptor g = Genesis();
  absl::StatusOr<VerifiedDescriptor> r1 =
      Renew(g, g.body.not_after() + 30 * kDay, alice_->cert, alice_->sign);
  absl::StatusOr<VerifiedDescriptor> r2 =
      Renew(g, g.body.not_after() + 10 * kDay, alice_->cert, alice_->sign);
  ASSERT_TRUE(r1.ok() && r2.ok());
  CaseChain chain = ChainFor(g);
  ASSERT_TRUE(chain.Accept(g.statement, dir_.Lookup()).ok());
  ASSERT_TRUE(chain.Accept(r1->statement, dir_.Lookup()).ok());
  ASSERT_TRUE(chain.Accept(r2->statement, dir_.Lookup()).ok());
  EXPECT_EQ(chain.Current()->hash, r1->hash);
}

TEST_F(CaseDescriptorTest, RenewalByNonOwnerRefused) {
  const VerifiedDescriptor g = Genesis();
  EXPECT_EQ(Renew(g, g.body.not_after() + kDay, mallory_->cert, mallory_->sign)
                .status()
                .code(),
            absl::StatusCode::kPermissionDenied);
  CaseDescriptor body = g.body;
  body.set_not_after(g.body.not_after() + kDay);
  CaseChain chain = ChainFor(g);
  ASSERT_TRUE(chain.Accept(g.statement, dir_.Lookup()).ok());
  EXPECT_EQ(chain.Accept(SignBody(body, *mallory_), dir_.Lookup()).code(),
            absl::StatusCode::kPermissionDenied);
}

TEST_F(CaseDescriptorTest, RenewRefusesNotAfterThatIsNotLater) {
  const VerifiedDescriptor g = Genesis();
  EXPECT_EQ(
      Renew(g, g.body.not_after(), alice_->cert, alice_->sign).status().code(),
      absl::StatusCode::kInvalidArgument);
}

TEST_F(CaseDescriptorTest, ChainRefusesUnknownFieldInSignedBody) {
  const VerifiedDescriptor g = Genesis();
  const VerifiedDescriptor e1 = Next(g, *alice_, {alice_.get()}, {});
  CaseChain chain = ChainFor(g);
  ASSERT_TRUE(chain.Accept(g.statement, dir_.Lookup()).ok());
  const absl::Status s = chain.Accept(
      ResignRaw(StatementType::kDescriptor,
                WithUnknownField(e1.statement.body()), alice_->sign),
      dir_.Lookup());
  EXPECT_EQ(s.code(), absl::StatusCode::kInvalidArgument);
  EXPECT_THAT(s.message(), HasSubstr("unknown fields"));
}

TEST_F(CaseDescriptorTest, ChainRefusesNonCanonicalBody) {
  const VerifiedDescriptor g = Genesis();
  const VerifiedDescriptor e1 = Next(g, *alice_, {alice_.get()}, {});
  CaseChain chain = ChainFor(g);
  ASSERT_TRUE(chain.Accept(g.statement, dir_.Lookup()).ok());
  const absl::Status s =
      chain.Accept(ResignRaw(StatementType::kDescriptor,
                             NonCanonical(e1.statement.body()), alice_->sign),
                   dir_.Lookup());
  EXPECT_EQ(s.code(), absl::StatusCode::kInvalidArgument);
  EXPECT_THAT(s.message(), HasSubstr("canonical"));
}

TEST_F(CaseDescriptorTest, ChainRefusesDescriptorOfAnotherCase) {
  const VerifiedDescriptor g = Genesis();
  CaseChain chain = ChainFor(g);
  ASSERT_TRUE(chain.Accept(g.statement, dir_.Lookup()).ok());
  CaseDescriptor body = Next(g, *alice_, {alice_.get()}, {}).body;
  body.set_case_id(Str(NewCaseId()));
  EXPECT_EQ(chain.Accept(SignBody(body, *alice_), dir_.Lookup()).code(),
            absl::StatusCode::kFailedPrecondition);
}

TEST_F(CaseDescriptorTest, ChainRefusesDescriptorSignedUnderAnotherTag) {
  const VerifiedDescriptor g = Genesis();
  CaseChain chain = ChainFor(g);
  ASSERT_TRUE(chain.Accept(g.statement, dir_.Lookup()).ok());
  const VerifiedDescriptor e1 = Next(g, *alice_, {alice_.get()}, {});
  EXPECT_EQ(chain
                .Accept(ResignRaw(StatementType::kGrant, e1.statement.body(),
                                  alice_->sign),
                        dir_.Lookup())
                .code(),
            absl::StatusCode::kPermissionDenied);
}

TEST_F(CaseDescriptorTest, CreateChainRefusesShortGenesisHash) {
  EXPECT_FALSE(CaseChain::Create(std::vector<uint8_t>(31)).ok());
}

TEST_F(CaseDescriptorTest, DescriptorRulesEnforced) {
  const CaseDescriptor good = Genesis().body;
  ASSERT_TRUE(CheckDescriptorBody(good).ok());
  auto refused = [&](auto mutate, const char* what) {
    CaseDescriptor b = good;
    mutate(b);
    const absl::Status s = CheckDescriptorBody(b);
    EXPECT_EQ(s.code(), absl::StatusCode::kInvalidArgument) << what;
    EXPECT_THAT(s.message(), HasSubstr(what));
  };
  refused([](CaseDescriptor& b) { b.set_version(2); }, "version");
  refused([](CaseDescriptor& b) { b.set_case_id("short"); }, "case_id");
  refused(
      [](CaseDescriptor& b) {
        b.set_prev_descriptor_hash(std::string(32, 'x'));
      },
      "all-zero");
  refused([](CaseDescriptor& b) { b.set_prev_descriptor_hash(""); },
          "prev_descriptor_hash");
  refused([](CaseDescriptor& b) { b.set_recipient("age1nonsense"); },
          "recipient");
  refused(
      [](CaseDescriptor& b) {
        b.set_recipient(X25519Recipient::FromBytes({}).Encode());
      },
      "low-order");
  refused([](CaseDescriptor& b) { b.clear_owners(); }, "no owners");
  refused([](CaseDescriptor& b) { b.add_members(b.members(0)); }, "twice");
  refused([](CaseDescriptor& b) { b.add_contributors("short"); }, "16 bytes");
  refused([](CaseDescriptor& b) { b.set_not_after(0); }, "not_after");
  refused(
      [](CaseDescriptor& b) {
        b.set_epoch(1);  // with a zero prev hash
      },
      "hash of the previous epoch");
}

}  // namespace
}  // namespace tvault::crypto
