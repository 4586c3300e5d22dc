// Invites: the invite string round trip and its size, the owner-signed
// invite statement, and every way a string or statement is refused.
#include "crypto/invite.h"

#include <sodium.h>

#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/strings/ascii.h"
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
using trust_testing::ResignRaw;
using trust_testing::Str;
using trust_testing::WithUnknownField;
using tvault::v1::Invite;
using tvault::v1::InviteStatement;
using tvault::v1::SignedStatement;

std::string B64Url(const std::string& bin) {
  constexpr int kVariant = sodium_base64_VARIANT_URLSAFE_NO_PADDING;
  std::string out(sodium_base64_ENCODED_LEN(bin.size(), kVariant), '\0');
  sodium_bin2base64(out.data(), out.size(),
                    reinterpret_cast<const unsigned char*>(bin.data()),
                    bin.size(), kVariant);
  out.resize(out.size() - 1);
  return out;
}

std::string UnB64Url(const std::string& text) {
  std::string out(text.size(), '\0');
  size_t len = 0;
  EXPECT_EQ(
      sodium_base642bin(reinterpret_cast<unsigned char*>(out.data()),
                        out.size(), text.data(), text.size(), nullptr, &len,
                        nullptr, sodium_base64_VARIANT_URLSAFE_NO_PADDING),
      0);
  out.resize(len);
  return out;
}

absl::Span<const uint8_t> Bytes(const std::string& s) { return AsBytes(s); }

InviteOptions Opts(int64_t now, std::optional<int64_t> expires = std::nullopt,
                   uint32_t uses = kDefaultInviteUses) {
  InviteOptions o;
  o.now = now;
  o.expires = expires;
  o.uses = uses;
  return o;
}

class InviteTest : public ::testing::Test {
 protected:
  InviteTest() {
    for (const Account* a : {alice_.get(), mallory_.get()}) dir_.Add(*a);
    EpochMembership m;
    m.owners = {alice_->cert.fingerprint};
    absl::StatusOr<VerifiedDescriptor> g =
        CreateGenesisDescriptor(NewCaseId(), epoch_id_.recipient(), m,
                                kEpochEnd, alice_->cert, alice_->sign);
    EXPECT_TRUE(g.ok()) << g.status();
    absl::StatusOr<CaseChain> chain = CaseChain::Create(g->hash);
    EXPECT_TRUE(chain.ok());
    chain_ = std::make_unique<CaseChain>(*std::move(chain));
    EXPECT_TRUE(chain_->Accept(g->statement, dir_.Lookup()).ok());
    absl::StatusOr<SignedStatement> bundle =
        IssueServerBundle(trust_testing::BundleBody(2), root_);
    EXPECT_TRUE(bundle.ok()) << bundle.status();
    bundle_ = *bundle;
  }

  absl::StatusOr<CreatedInvite> Create(InviteOptions options = Opts(kNow)) {
    return CreateInvite(*chain_, bundle_, root_.public_key(), alice_->cert,
                        alice_->sign, options);
  }

  std::string Text(const CreatedInvite& c) {
    return std::string(AsString(c.text.span()));
  }

  // The Invite message inside a valid string, for hand-made variants.
  Invite Decode(const CreatedInvite& c) {
    Invite inv;
    EXPECT_TRUE(
        inv.ParseFromString(UnB64Url(Text(c).substr(kInvitePrefix.size()))));
    return inv;
  }

  std::string Encode(const Invite& inv) {
    std::string bin;
    EXPECT_TRUE(inv.SerializeToString(&bin));
    return std::string(kInvitePrefix) + B64Url(bin);
  }

  static constexpr int64_t kEpochEnd = kNow + 30 * kDay;
  const SigningKey root_ = SigningKey::Generate();
  std::unique_ptr<Account> alice_ = MakeAccount(root_, "alice");
  std::unique_ptr<Account> mallory_ = MakeAccount(root_, "mallory");
  const X25519Identity epoch_id_ = X25519Identity::Generate();
  CertDirectory dir_;
  std::unique_ptr<CaseChain> chain_;
  SignedStatement bundle_;
};

TEST_F(InviteTest, RoundTrip) {
  absl::StatusOr<CreatedInvite> c = Create();
  ASSERT_TRUE(c.ok()) << c.status();
  const std::string text = Text(*c);
  EXPECT_EQ(text.substr(0, kInvitePrefix.size()), kInvitePrefix);
  absl::StatusOr<ParsedInvite> p = ParseInvite(c->text.span(), kNow);
  ASSERT_TRUE(p.ok()) << p.status();
  EXPECT_EQ(Str(p->case_id), chain_->case_id());
  EXPECT_EQ(p->epoch, 0u);
  EXPECT_EQ(p->recipient, epoch_id_.recipient());
  EXPECT_EQ(p->genesis_hash, chain_->genesis_hash());
  EXPECT_EQ(p->expires, kNow + 7 * kDay);
  EXPECT_EQ(p->server_bundle_statement.body(), bundle_.body());
  EXPECT_EQ(p->server_bundle_statement.signature(), bundle_.signature());
  EXPECT_EQ(p->server_bundle.addresses_size(), 2);
  // The family member can check the bundle if it has the org key.
  EXPECT_TRUE(
      VerifyServerBundle(p->server_bundle_statement, root_.public_key()).ok());
  absl::StatusOr<SigningKey> key = InviteSigningKey(p->seed);
  ASSERT_TRUE(key.ok());
  EXPECT_EQ(key->public_key(), c->invite_pk);
}

TEST_F(InviteTest, StringStaysUnder2000BytesWithTwoOnionAddresses) {
  absl::StatusOr<CreatedInvite> c = Create();
  ASSERT_TRUE(c.ok());
  EXPECT_LT(c->text.size(), 2000u);
  // Even with a clearnet fallback and a long log origin.
  tvault::v1::ServerBundle body = trust_testing::BundleBody(2);
  body.add_addresses("vault.legal-aid.example.org:8443");
  absl::StatusOr<SignedStatement> bundle = IssueServerBundle(body, root_);
  ASSERT_TRUE(bundle.ok());
  absl::StatusOr<CreatedInvite> c2 =
      CreateInvite(*chain_, *bundle, root_.public_key(), alice_->cert,
                   alice_->sign, Opts(kNow));
  ASSERT_TRUE(c2.ok());
  EXPECT_LT(c2->text.size(), 2000u);
}

TEST_F(InviteTest, StringUsesOnlyPrefixAndBase64UrlCharacters) {
  absl::StatusOr<CreatedInvite> c = Create();
  ASSERT_TRUE(c.ok());
  const std::string body = Text(*c).substr(kInvitePrefix.size());
  for (char ch : body) {
    EXPECT_TRUE(absl::ascii_isalnum(static_cast<unsigned char>(ch)) ||
                ch == '-' || ch == '_')
        << ch;
  }
}

TEST_F(InviteTest, StatementRoundTripWithDefaults) {
  absl::StatusOr<CreatedInvite> c = Create();
  ASSERT_TRUE(c.ok());
  absl::StatusOr<VerifiedInviteStatement> v =
      VerifyInviteStatement(c->statement, *chain_, dir_.Lookup(), kNow);
  ASSERT_TRUE(v.ok()) << v.status();
  EXPECT_EQ(v->signer, alice_->cert.fingerprint);
  EXPECT_EQ(v->body.uses(), 1u);
  EXPECT_EQ(v->body.expires(), kNow + 7 * kDay);
  EXPECT_EQ(v->body.invite_pk(), Str(c->invite_pk));
  EXPECT_EQ(v->body.case_id(), chain_->case_id());
}

TEST_F(InviteTest, ExplicitExpiryAndUses) {
  absl::StatusOr<CreatedInvite> c = Create(Opts(kNow, kNow + kDay, 3));
  ASSERT_TRUE(c.ok()) << c.status();
  absl::StatusOr<ParsedInvite> p = ParseInvite(c->text.span(), kNow);
  ASSERT_TRUE(p.ok());
  EXPECT_EQ(p->expires, kNow + kDay);
  absl::StatusOr<VerifiedInviteStatement> v =
      VerifyInviteStatement(c->statement, *chain_, dir_.Lookup(), kNow);
  ASSERT_TRUE(v.ok());
  EXPECT_EQ(v->body.uses(), 3u);
}

TEST_F(InviteTest, DefaultExpiryStopsAtEpochEnd) {
  absl::StatusOr<CreatedInvite> c = Create(Opts(kEpochEnd - kDay));
  ASSERT_TRUE(c.ok()) << c.status();
  absl::StatusOr<ParsedInvite> p =
      ParseInvite(c->text.span(), kEpochEnd - kDay);
  ASSERT_TRUE(p.ok());
  EXPECT_EQ(p->expires, kEpochEnd);
}

TEST_F(InviteTest, CreateRefusesExpiryBeyondSevenDays) {
  const absl::Status s = Create(Opts(kNow, kNow + 7 * kDay + 1)).status();
  EXPECT_EQ(s.code(), absl::StatusCode::kInvalidArgument);
  EXPECT_THAT(s.message(), HasSubstr("7 days"));
}

TEST_F(InviteTest, CreateRefusesExpiryPastEpoch) {
  const absl::Status s = Create(Opts(kEpochEnd - kDay, kEpochEnd + 1)).status();
  EXPECT_EQ(s.code(), absl::StatusCode::kInvalidArgument);
  EXPECT_THAT(s.message(), HasSubstr("past the epoch's not_after"));
}

TEST_F(InviteTest, CreateRefusesExpiryNotAfterCreation) {
  EXPECT_FALSE(Create(Opts(kNow, kNow)).ok());
  // An epoch that already ended leaves no room for an invite.
  EXPECT_FALSE(Create(Opts(kEpochEnd)).ok());
}

TEST_F(InviteTest, CreateRefusesBadUses) {
  EXPECT_FALSE(Create(Opts(kNow, std::nullopt, 0)).ok());
  EXPECT_FALSE(Create(Opts(kNow, std::nullopt, kMaxInviteUses + 1)).ok());
  EXPECT_TRUE(Create(Opts(kNow, std::nullopt, kMaxInviteUses)).ok());
}

TEST_F(InviteTest, CreateRefusesNonOwner) {
  EXPECT_EQ(CreateInvite(*chain_, bundle_, root_.public_key(), mallory_->cert,
                         mallory_->sign, Opts(kNow))
                .status()
                .code(),
            absl::StatusCode::kPermissionDenied);
}

TEST_F(InviteTest, CreateRefusesForgedServerBundle) {
  EXPECT_EQ(CreateInvite(*chain_, FlipSignatureBit(bundle_), root_.public_key(),
                         alice_->cert, alice_->sign, Opts(kNow))
                .status()
                .code(),
            absl::StatusCode::kPermissionDenied);
}

TEST_F(InviteTest, ParseRefusesExpiredInvite) {
  absl::StatusOr<CreatedInvite> c = Create();
  ASSERT_TRUE(c.ok());
  const int64_t expires = kNow + 7 * kDay;
  EXPECT_TRUE(ParseInvite(c->text.span(), expires - 1).ok());
  const absl::Status s = ParseInvite(c->text.span(), expires).status();
  EXPECT_EQ(s.code(), absl::StatusCode::kFailedPrecondition);
  EXPECT_THAT(s.message(), HasSubstr("expired"));
}

TEST_F(InviteTest, ParseRefusesExpiryTooFarAhead) {
  absl::StatusOr<CreatedInvite> c = Create();
  ASSERT_TRUE(c.ok());
  Invite inv = Decode(*c);
  inv.set_expires(kNow + 8 * kDay);
  const absl::Status s = ParseInvite(Bytes(Encode(inv)), kNow).status();
  EXPECT_EQ(s.code(), absl::StatusCode::kInvalidArgument);
  EXPECT_THAT(s.message(), HasSubstr("more than 7 days ahead"));
  // A creator's clock a few minutes fast is tolerated.
  inv.set_expires(kNow + 7 * kDay + 60);
  EXPECT_TRUE(ParseInvite(Bytes(Encode(inv)), kNow).ok());
}

TEST_F(InviteTest, ParseRefusesTamperedString) {
  absl::StatusOr<CreatedInvite> c = Create();
  ASSERT_TRUE(c.ok());
  const std::string text = Text(*c);
  const size_t p = kInvitePrefix.size();
  std::vector<std::string> bad = {
      "tvault-invite-2:" + text.substr(p),  // other version prefix
      "TVAULT-INVITE-1:" + text.substr(p),  // prefix case
      text.substr(0, text.size() - 3),      // truncated
      text + "A",                           // extra character
      text + "=",                           // padding
      text.substr(0, p + 10) + " " + text.substr(p + 10),  // whitespace
      text.substr(0, p + 10) + "+" + text.substr(p + 11),  // std alphabet
      text.substr(0, p) + "B" + text.substr(p + 1),        // first byte altered
      "",
      text.substr(0, p),
  };
  for (const std::string& t : bad) {
    EXPECT_FALSE(ParseInvite(Bytes(t), kNow).ok()) << t.substr(0, 24);
  }
}

TEST_F(InviteTest, ParseRefusesNonCanonicalBase64) {
  // Build a body whose length leaves unused bits in the last character,
  // then set those bits.
  absl::StatusOr<CreatedInvite> c = Create();
  ASSERT_TRUE(c.ok());
  Invite inv = Decode(*c);
  // Epoch 0 is omitted on the wire; 1 adds 2 bytes, 200 adds 3. One of them
  // gives a length that is not a multiple of 3.
  for (uint32_t epoch : {0u, 1u, 200u}) {
    inv.set_epoch(epoch);
    if (inv.ByteSizeLong() % 3 != 0) break;
  }
  ASSERT_NE(inv.ByteSizeLong() % 3, 0u);
  std::string text = Encode(inv);
  ASSERT_TRUE(ParseInvite(Bytes(text), kNow).ok());
  static constexpr char kAlphabet[] =
      "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";
  const char last = text.back();
  const size_t index = std::string(kAlphabet).find(last);
  text.back() = kAlphabet[index ^ 1];  // flips an unused low bit
  const absl::Status s = ParseInvite(Bytes(text), kNow).status();
  EXPECT_EQ(s.code(), absl::StatusCode::kInvalidArgument);
}

TEST_F(InviteTest, ParseRefusesUnknownField) {
  absl::StatusOr<CreatedInvite> c = Create();
  ASSERT_TRUE(c.ok());
  std::string bin;
  Decode(*c).SerializeToString(&bin);
  const std::string text =
      std::string(kInvitePrefix) + B64Url(WithUnknownField(bin));
  const absl::Status s = ParseInvite(Bytes(text), kNow).status();
  EXPECT_EQ(s.code(), absl::StatusCode::kInvalidArgument);
  EXPECT_THAT(s.message(), HasSubstr("fields this program does not know"));
}

TEST_F(InviteTest, ParseRefusesNonCanonicalProto) {
  absl::StatusOr<CreatedInvite> c = Create();
  ASSERT_TRUE(c.ok());
  std::string bin;
  Decode(*c).SerializeToString(&bin);
  const std::string text =
      std::string(kInvitePrefix) + B64Url(trust_testing::NonCanonical(bin));
  const absl::Status s = ParseInvite(Bytes(text), kNow).status();
  EXPECT_EQ(s.code(), absl::StatusCode::kInvalidArgument);
  EXPECT_THAT(s.message(), HasSubstr("not canonical"));
}

TEST_F(InviteTest, ParseRefusesTooLongString) {
  const std::string text = std::string(kInvitePrefix) + std::string(2000, 'A');
  EXPECT_THAT(ParseInvite(Bytes(text), kNow).status().message(),
              HasSubstr("too long"));
}

TEST_F(InviteTest, ParseRefusesInvalidFields) {
  absl::StatusOr<CreatedInvite> c = Create();
  ASSERT_TRUE(c.ok());
  const Invite good = Decode(*c);
  auto refused = [&](auto mutate, const char* what) {
    Invite inv = good;
    mutate(inv);
    const absl::Status s = ParseInvite(Bytes(Encode(inv)), kNow).status();
    EXPECT_EQ(s.code(), absl::StatusCode::kInvalidArgument) << what;
    EXPECT_THAT(s.message(), HasSubstr(what));
  };
  refused([](Invite& i) { i.set_version(2); }, "version");
  refused([](Invite& i) { i.set_seed(std::string(31, 'x')); }, "seed");
  refused([](Invite& i) { i.clear_seed(); }, "seed");
  refused([](Invite& i) { i.set_case_id("short"); }, "case id");
  refused([](Invite& i) { i.set_genesis_hash("short"); }, "genesis hash");
  refused([](Invite& i) { i.set_recipient("age1xyz"); }, "recipient");
  refused([](Invite& i) { i.clear_server_bundle(); }, "server bundle");
  refused([](Invite& i) { i.mutable_server_bundle()->set_signature("short"); },
          "signature");
  refused(
      [](Invite& i) {
        i.mutable_server_bundle()->set_body(
            WithUnknownField(i.server_bundle().body()));
      },
      "server bundle");
}

TEST_F(InviteTest, VerifyStatementRefusesNonOwner) {
  absl::StatusOr<CreatedInvite> c = Create();
  ASSERT_TRUE(c.ok());
  InviteStatement body;
  ASSERT_TRUE(body.ParseFromString(c->statement.body()));
  const SignedStatement st =
      SignStatement(StatementType::kInvite, body, mallory_->sign);
  EXPECT_EQ(
      VerifyInviteStatement(st, *chain_, dir_.Lookup(), kNow).status().code(),
      absl::StatusCode::kPermissionDenied);
}

TEST_F(InviteTest, VerifyStatementRefusesForged) {
  absl::StatusOr<CreatedInvite> c = Create();
  ASSERT_TRUE(c.ok());
  EXPECT_EQ(VerifyInviteStatement(FlipSignatureBit(c->statement), *chain_,
                                  dir_.Lookup(), kNow)
                .status()
                .code(),
            absl::StatusCode::kPermissionDenied);
}

TEST_F(InviteTest, VerifyStatementRefusesExpiryRules) {
  absl::StatusOr<CreatedInvite> c = Create();
  ASSERT_TRUE(c.ok());
  InviteStatement body;
  ASSERT_TRUE(body.ParseFromString(c->statement.body()));
  // Registered a day after creation: still within 7 days of registration.
  EXPECT_TRUE(
      VerifyInviteStatement(c->statement, *chain_, dir_.Lookup(), kNow + kDay)
          .ok());
  // Registered at or after its expiry.
  EXPECT_FALSE(VerifyInviteStatement(c->statement, *chain_, dir_.Lookup(),
                                     body.expires())
                   .ok());
  // More than 7 days after registration.
  body.set_expires(kNow + 8 * kDay);
  SignedStatement st =
      SignStatement(StatementType::kInvite, body, alice_->sign);
  EXPECT_THAT(VerifyInviteStatement(st, *chain_, dir_.Lookup(), kNow)
                  .status()
                  .message(),
              HasSubstr("7 days"));
  // Past the epoch.
  body.set_expires(kEpochEnd + 1);
  st = SignStatement(StatementType::kInvite, body, alice_->sign);
  EXPECT_THAT(
      VerifyInviteStatement(st, *chain_, dir_.Lookup(), kEpochEnd - kDay)
          .status()
          .message(),
      HasSubstr("past the epoch"));
}

TEST_F(InviteTest, VerifyStatementRefusesUnknownFieldAndBadUses) {
  absl::StatusOr<CreatedInvite> c = Create();
  ASSERT_TRUE(c.ok());
  EXPECT_EQ(VerifyInviteStatement(
                ResignRaw(StatementType::kInvite,
                          WithUnknownField(c->statement.body()), alice_->sign),
                *chain_, dir_.Lookup(), kNow)
                .status()
                .code(),
            absl::StatusCode::kInvalidArgument);
  InviteStatement body;
  ASSERT_TRUE(body.ParseFromString(c->statement.body()));
  body.set_uses(0);
  EXPECT_EQ(VerifyInviteStatement(
                SignStatement(StatementType::kInvite, body, alice_->sign),
                *chain_, dir_.Lookup(), kNow)
                .status()
                .code(),
            absl::StatusCode::kInvalidArgument);
}

TEST_F(InviteTest, SeedDerivesTheInviteKey) {
  const SecretBytes seed = NewInviteSeed();
  EXPECT_EQ(seed.size(), 32u);
  absl::StatusOr<SigningKey> a = InviteSigningKey(seed);
  absl::StatusOr<SigningKey> b = InviteSigningKey(seed);
  ASSERT_TRUE(a.ok() && b.ok());
  EXPECT_EQ(a->public_key(), b->public_key());
  EXPECT_FALSE(InviteSigningKey(SecretBytes(31)).ok());
}

}  // namespace
}  // namespace tvault::crypto
