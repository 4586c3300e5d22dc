// Certificates, revocations, server bundles and server retirement: round
// trips, every rule, and CheckCertificateValidFor's decisions.
#include "crypto/certificate.h"

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
using trust_testing::CertBody;
using trust_testing::FlipSignatureBit;
using trust_testing::kDay;
using trust_testing::kNow;
using trust_testing::NonCanonical;
using trust_testing::ResignRaw;
using trust_testing::Str;
using trust_testing::WithUnknownField;
using tvault::v1::Certificate;
using tvault::v1::Revocation;
using tvault::v1::SignedStatement;

class CertificateTest : public ::testing::Test {
 protected:
  Certificate Body(std::vector<tvault::v1::Role> roles = {tvault::v1::REVIEWER},
                   int64_t not_before = kNow - kDay,
                   int64_t not_after = kNow + 300 * kDay) {
    return CertBody(member_sign_.public_key(), member_box_.recipient(), roles,
                    "sparrow", not_before, not_after);
  }
  VerifiedCertificate Verified(const Certificate& body) {
    absl::StatusOr<SignedStatement> st = IssueCertificate(body, root_);
    EXPECT_TRUE(st.ok()) << st.status();
    absl::StatusOr<VerifiedCertificate> v =
        VerifyCertificate(*st, root_.public_key());
    EXPECT_TRUE(v.ok()) << v.status();
    return *v;
  }
  Revocation RevocationOf(const VerifiedCertificate& cert, int64_t at) {
    Revocation r;
    r.set_version(1);
    r.set_cert_fingerprint(Str(cert.fingerprint));
    r.set_revoked_at(at);
    r.set_reason("device seized");
    return r;
  }

  SigningKey root_ = SigningKey::Generate();
  SigningKey member_sign_ = SigningKey::Generate();
  X25519Identity member_box_ = X25519Identity::Generate();
};

TEST_F(CertificateTest, IssueAndVerifyRoundTrip) {
  const Certificate body =
      Body({tvault::v1::REVIEWER, tvault::v1::CONTRIBUTOR});
  absl::StatusOr<SignedStatement> st = IssueCertificate(body, root_);
  ASSERT_TRUE(st.ok()) << st.status();
  absl::StatusOr<VerifiedCertificate> v =
      VerifyCertificate(*st, root_.public_key());
  ASSERT_TRUE(v.ok()) << v.status();
  EXPECT_EQ(v->body.SerializeAsString(), body.SerializeAsString());
  EXPECT_EQ(v->fingerprint,
            ComputeFingerprint(FingerprintType::kCert, AsBytes(st->body())));
  EXPECT_EQ(v->statement.body(), st->body());
  EXPECT_EQ(v->statement.signature(), st->signature());
}

TEST_F(CertificateTest, VerifyRefusesForgedSignature) {
  absl::StatusOr<SignedStatement> st = IssueCertificate(Body(), root_);
  ASSERT_TRUE(st.ok());
  const absl::Status s =
      VerifyCertificate(FlipSignatureBit(*st), root_.public_key()).status();
  EXPECT_EQ(s.code(), absl::StatusCode::kPermissionDenied);
  EXPECT_THAT(s.message(), HasSubstr("does not verify"));
}

TEST_F(CertificateTest, VerifyRefusesCertificateSignedByAnotherKey) {
  const SigningKey impostor = SigningKey::Generate();
  absl::StatusOr<SignedStatement> st = IssueCertificate(Body(), impostor);
  ASSERT_TRUE(st.ok());
  EXPECT_EQ(VerifyCertificate(*st, root_.public_key()).status().code(),
            absl::StatusCode::kPermissionDenied);
}

TEST_F(CertificateTest, VerifyRefusesAlteredBody) {
  absl::StatusOr<SignedStatement> st = IssueCertificate(Body(), root_);
  ASSERT_TRUE(st.ok());
  Certificate longer = Body();
  longer.set_not_after(longer.not_after() + kDay);
  SignedStatement altered = *st;
  altered.set_body(longer.SerializeAsString());
  EXPECT_EQ(VerifyCertificate(altered, root_.public_key()).status().code(),
            absl::StatusCode::kPermissionDenied);
}

TEST_F(CertificateTest, VerifyRefusesRevocationSignatureAsCertificate) {
  // The same bytes signed under another statement tag never verify as a
  // certificate.
  const std::string body = Body().SerializeAsString();
  const SignedStatement st = ResignRaw(StatementType::kRevocation, body, root_);
  EXPECT_EQ(VerifyCertificate(st, root_.public_key()).status().code(),
            absl::StatusCode::kPermissionDenied);
}

TEST_F(CertificateTest, VerifyRefusesUnknownFieldInSignedBody) {
  absl::StatusOr<SignedStatement> st = IssueCertificate(Body(), root_);
  ASSERT_TRUE(st.ok());
  const SignedStatement resigned =
      ResignRaw(StatementType::kCert, WithUnknownField(st->body()), root_);
  const absl::Status s =
      VerifyCertificate(resigned, root_.public_key()).status();
  EXPECT_EQ(s.code(), absl::StatusCode::kInvalidArgument);
  EXPECT_THAT(s.message(), HasSubstr("unknown fields"));
}

TEST_F(CertificateTest, VerifyRefusesNonCanonicalBody) {
  absl::StatusOr<SignedStatement> st = IssueCertificate(Body(), root_);
  ASSERT_TRUE(st.ok());
  const SignedStatement resigned =
      ResignRaw(StatementType::kCert, NonCanonical(st->body()), root_);
  const absl::Status s =
      VerifyCertificate(resigned, root_.public_key()).status();
  EXPECT_EQ(s.code(), absl::StatusCode::kInvalidArgument);
  EXPECT_THAT(s.message(), HasSubstr("canonical"));
}

TEST_F(CertificateTest, LifetimeOfExactly366DaysIsAccepted) {
  EXPECT_TRUE(IssueCertificate(
                  Body({tvault::v1::REVIEWER}, kNow, kNow + 366 * kDay), root_)
                  .ok());
}

TEST_F(CertificateTest, IssueRefusesLifetimeOverAYear) {
  const absl::Status s =
      IssueCertificate(
          Body({tvault::v1::REVIEWER}, kNow, kNow + 366 * kDay + 1), root_)
          .status();
  EXPECT_EQ(s.code(), absl::StatusCode::kInvalidArgument);
  EXPECT_THAT(s.message(), HasSubstr("366 days"));
}

TEST_F(CertificateTest, VerifyRefusesLifetimeOverAYearEvenIfRootSigned) {
  const SignedStatement st = SignStatement(
      StatementType::kCert,
      Body({tvault::v1::REVIEWER}, kNow, kNow + 400 * kDay), root_);
  EXPECT_EQ(VerifyCertificate(st, root_.public_key()).status().code(),
            absl::StatusCode::kInvalidArgument);
}

TEST_F(CertificateTest, IssueRefusesExtremeTimesWithoutOverflow) {
  EXPECT_FALSE(IssueCertificate(
                   Body({tvault::v1::REVIEWER}, INT64_MIN, INT64_MAX), root_)
                   .ok());
}

TEST_F(CertificateTest, IssueRefusesNotBeforeNotEarlierThanNotAfter) {
  EXPECT_FALSE(
      IssueCertificate(Body({tvault::v1::REVIEWER}, kNow, kNow), root_).ok());
}

TEST_F(CertificateTest, IssueRefusesWrongVersion) {
  Certificate b = Body();
  b.set_version(2);
  EXPECT_THAT(IssueCertificate(b, root_).status().message(),
              HasSubstr("version"));
}

TEST_F(CertificateTest, IssueRefusesSmallOrderSignKey) {
  Certificate b = Body();
  std::string identity_point(32, '\0');
  identity_point[0] = 1;  // the neutral element: order 1
  b.set_sign_pk(identity_point);
  EXPECT_THAT(IssueCertificate(b, root_).status().message(),
              HasSubstr("sign_pk"));
}

TEST_F(CertificateTest, IssueRefusesShortSignKey) {
  Certificate b = Body();
  b.set_sign_pk(std::string(31, 'a'));
  EXPECT_FALSE(IssueCertificate(b, root_).ok());
}

TEST_F(CertificateTest, IssueRefusesLowOrderBoxKey) {
  Certificate b = Body();
  b.set_box_pk(std::string(32, '\0'));
  EXPECT_THAT(IssueCertificate(b, root_).status().message(),
              HasSubstr("low-order"));
  // A point of order 8 on Curve25519.
  const uint8_t kOrder8[32] = {0xe0, 0xeb, 0x7a, 0x7c, 0x3b, 0x41, 0xb8, 0xae,
                               0x16, 0x56, 0xe3, 0xfa, 0xf1, 0x9f, 0xc4, 0x6a,
                               0xda, 0x09, 0x8d, 0xeb, 0x9c, 0x32, 0xb1, 0xfd,
                               0x86, 0x62, 0x05, 0x16, 0x5f, 0x49, 0xb8, 0x00};
  b.set_box_pk(std::string(reinterpret_cast<const char*>(kOrder8), 32));
  EXPECT_THAT(IssueCertificate(b, root_).status().message(),
              HasSubstr("low-order"));
}

TEST_F(CertificateTest, IssueRefusesShortBoxKey) {
  Certificate b = Body();
  b.set_box_pk(std::string(16, 'a'));
  EXPECT_FALSE(IssueCertificate(b, root_).ok());
}

TEST_F(CertificateTest, IssueRefusesNoRoles) {
  EXPECT_THAT(IssueCertificate(Body({}), root_).status().message(),
              HasSubstr("no roles"));
}

TEST_F(CertificateTest, IssueRefusesDuplicateRole) {
  EXPECT_THAT(IssueCertificate(
                  Body({tvault::v1::REVIEWER, tvault::v1::REVIEWER}), root_)
                  .status()
                  .message(),
              HasSubstr("twice"));
}

TEST_F(CertificateTest, IssueRefusesUnspecifiedRole) {
  EXPECT_FALSE(
      IssueCertificate(Body({tvault::v1::ROLE_UNSPECIFIED}), root_).ok());
}

TEST_F(CertificateTest, IssueRefusesBadHandles) {
  for (const std::string& handle :
       {std::string(), std::string(65, 'a'), std::string("tab\there"),
        std::string("bad\xff utf8"), std::string("nul\0x", 5)}) {
    Certificate b = Body();
    b.set_handle(handle);
    EXPECT_THAT(IssueCertificate(b, root_).status().message(),
                HasSubstr("handle"));
  }
  Certificate b = Body();
  b.set_handle(std::string(64, 'a'));
  EXPECT_TRUE(IssueCertificate(b, root_).ok());
  b.set_handle("Mirë, Ñandú 🌿");
  EXPECT_TRUE(IssueCertificate(b, root_).ok());
}

TEST_F(CertificateTest, ValidForRoleWithinLifetime) {
  const VerifiedCertificate c = Verified(Body());
  EXPECT_TRUE(CheckCertificateValidFor(c, tvault::v1::REVIEWER, kNow, {}).ok());
  // Bounds: not_before inclusive.
  EXPECT_TRUE(
      CheckCertificateValidFor(c, tvault::v1::REVIEWER, c.body.not_before(), {})
          .ok());
}

TEST_F(CertificateTest, NotYetValidCertificateRefused) {
  const VerifiedCertificate c = Verified(Body());
  const absl::Status s = CheckCertificateValidFor(c, tvault::v1::REVIEWER,
                                                  c.body.not_before() - 1, {});
  EXPECT_EQ(s.code(), absl::StatusCode::kPermissionDenied);
  EXPECT_THAT(s.message(), HasSubstr("not yet valid"));
}

TEST_F(CertificateTest, ExpiredCertificateRefused) {
  const VerifiedCertificate c = Verified(Body());
  // not_after is exclusive.
  const absl::Status s =
      CheckCertificateValidFor(c, tvault::v1::REVIEWER, c.body.not_after(), {});
  EXPECT_EQ(s.code(), absl::StatusCode::kPermissionDenied);
  EXPECT_THAT(s.message(), HasSubstr("expired"));
}

TEST_F(CertificateTest, RevokedBeforeUseRefused) {
  const VerifiedCertificate c = Verified(Body());
  const Revocation r = RevocationOf(c, kNow - 10);
  const absl::Status s =
      CheckCertificateValidFor(c, tvault::v1::REVIEWER, kNow, {&r, 1});
  EXPECT_EQ(s.code(), absl::StatusCode::kPermissionDenied);
  EXPECT_THAT(s.message(), HasSubstr("revoked at"));
  EXPECT_THAT(s.message(), HasSubstr("device seized"));
}

TEST_F(CertificateTest, RevokedExactlyAtUseRefused) {
  const VerifiedCertificate c = Verified(Body());
  const Revocation r = RevocationOf(c, kNow);
  EXPECT_FALSE(
      CheckCertificateValidFor(c, tvault::v1::REVIEWER, kNow, {&r, 1}).ok());
}

TEST_F(CertificateTest, StillValidForUseBeforeRevocation) {
  const VerifiedCertificate c = Verified(Body());
  const Revocation r = RevocationOf(c, kNow + 10);
  EXPECT_TRUE(
      CheckCertificateValidFor(c, tvault::v1::REVIEWER, kNow, {&r, 1}).ok());
  EXPECT_FALSE(
      CheckCertificateValidFor(c, tvault::v1::REVIEWER, kNow + 10, {&r, 1})
          .ok());
}

TEST_F(CertificateTest, RevocationOfAnotherCertificateIgnored) {
  const VerifiedCertificate c = Verified(Body());
  Revocation r = RevocationOf(c, kNow - 10);
  r.set_cert_fingerprint(std::string(16, '\x01'));
  EXPECT_TRUE(
      CheckCertificateValidFor(c, tvault::v1::REVIEWER, kNow, {&r, 1}).ok());
}

TEST_F(CertificateTest, WrongRoleRefused) {
  const VerifiedCertificate c = Verified(Body({tvault::v1::CONTRIBUTOR}));
  EXPECT_TRUE(
      CheckCertificateValidFor(c, tvault::v1::CONTRIBUTOR, kNow, {}).ok());
  const absl::Status s =
      CheckCertificateValidFor(c, tvault::v1::REVIEWER, kNow, {});
  EXPECT_EQ(s.code(), absl::StatusCode::kPermissionDenied);
  EXPECT_THAT(s.message(), HasSubstr("lacks the role REVIEWER"));
}

TEST_F(CertificateTest, UnspecifiedRoleIsACallerError) {
  const VerifiedCertificate c = Verified(Body());
  EXPECT_EQ(CheckCertificateValidFor(c, tvault::v1::ROLE_UNSPECIFIED, kNow, {})
                .code(),
            absl::StatusCode::kInvalidArgument);
}

TEST_F(CertificateTest, RevocationRoundTrip) {
  const VerifiedCertificate c = Verified(Body());
  absl::StatusOr<SignedStatement> st =
      IssueRevocation(RevocationOf(c, kNow), root_);
  ASSERT_TRUE(st.ok()) << st.status();
  absl::StatusOr<Revocation> r = VerifyRevocation(*st, root_.public_key());
  ASSERT_TRUE(r.ok()) << r.status();
  EXPECT_EQ(r->cert_fingerprint(), Str(c.fingerprint));
  EXPECT_EQ(r->revoked_at(), kNow);
  EXPECT_EQ(r->reason(), "device seized");
}

TEST_F(CertificateTest, ForgedRevocationRefused) {
  const VerifiedCertificate c = Verified(Body());
  absl::StatusOr<SignedStatement> st =
      IssueRevocation(RevocationOf(c, kNow), SigningKey::Generate());
  ASSERT_TRUE(st.ok());
  EXPECT_EQ(VerifyRevocation(*st, root_.public_key()).status().code(),
            absl::StatusCode::kPermissionDenied);
}

TEST_F(CertificateTest, RevocationRulesEnforced) {
  const VerifiedCertificate c = Verified(Body());
  Revocation r = RevocationOf(c, kNow);
  r.set_reason(std::string(257, 'x'));
  EXPECT_FALSE(IssueRevocation(r, root_).ok());
  r = RevocationOf(c, kNow);
  r.set_cert_fingerprint(std::string(15, 'x'));
  EXPECT_FALSE(IssueRevocation(r, root_).ok());
  r = RevocationOf(c, kNow);
  r.set_version(0);
  EXPECT_FALSE(IssueRevocation(r, root_).ok());
}

TEST_F(CertificateTest, RevocationWithUnknownFieldRefused) {
  const VerifiedCertificate c = Verified(Body());
  absl::StatusOr<SignedStatement> st =
      IssueRevocation(RevocationOf(c, kNow), root_);
  ASSERT_TRUE(st.ok());
  EXPECT_EQ(VerifyRevocation(ResignRaw(StatementType::kRevocation,
                                       WithUnknownField(st->body()), root_),
                             root_.public_key())
                .status()
                .code(),
            absl::StatusCode::kInvalidArgument);
}

TEST_F(CertificateTest, ServerBundleRoundTrip) {
  const tvault::v1::ServerBundle body = trust_testing::BundleBody();
  absl::StatusOr<SignedStatement> st = IssueServerBundle(body, root_);
  ASSERT_TRUE(st.ok()) << st.status();
  absl::StatusOr<tvault::v1::ServerBundle> b =
      VerifyServerBundle(*st, root_.public_key());
  ASSERT_TRUE(b.ok()) << b.status();
  EXPECT_EQ(b->SerializeAsString(), body.SerializeAsString());
}

TEST_F(CertificateTest, ServerBundleWithClearnetAddressAfterOnionAccepted) {
  tvault::v1::ServerBundle body = trust_testing::BundleBody(1);
  body.add_addresses("vault.example.org:443");
  EXPECT_TRUE(IssueServerBundle(body, root_).ok());
}

TEST_F(CertificateTest, ServerBundleRefusesOnionAfterClearnet) {
  tvault::v1::ServerBundle body = trust_testing::BundleBody(0);
  body.add_addresses("vault.example.org:443");
  body.add_addresses(std::string(56, 'a') + ".onion:443");
  EXPECT_THAT(IssueServerBundle(body, root_).status().message(),
              HasSubstr("onion addresses come first"));
}

TEST_F(CertificateTest, ServerBundleRefusesMalformedFields) {
  for (const std::string& address :
       {std::string("no-port"), std::string("host:0"),
        std::string("host:65536"), std::string("host:08"),
        std::string("ho st:443"), std::string(":443")}) {
    tvault::v1::ServerBundle body = trust_testing::BundleBody(0);
    body.add_addresses(address);
    EXPECT_FALSE(IssueServerBundle(body, root_).ok()) << address;
  }
  tvault::v1::ServerBundle body = trust_testing::BundleBody(0);
  EXPECT_FALSE(IssueServerBundle(body, root_).ok());  // no address
  body = trust_testing::BundleBody();
  body.set_tls_pin("short");
  EXPECT_FALSE(IssueServerBundle(body, root_).ok());
  body = trust_testing::BundleBody();
  body.set_log_verifier_key("not a key");
  EXPECT_FALSE(IssueServerBundle(body, root_).ok());
  body = trust_testing::BundleBody();
  body.set_log_origin("another.example/log");
  EXPECT_THAT(IssueServerBundle(body, root_).status().message(),
              HasSubstr("log_origin"));
}

TEST_F(CertificateTest, ForgedServerBundleRefused) {
  absl::StatusOr<SignedStatement> st =
      IssueServerBundle(trust_testing::BundleBody(), root_);
  ASSERT_TRUE(st.ok());
  EXPECT_EQ(VerifyServerBundle(FlipSignatureBit(*st), root_.public_key())
                .status()
                .code(),
            absl::StatusCode::kPermissionDenied);
}

TEST_F(CertificateTest, ServerRetiredRoundTrip) {
  tvault::v1::ServerRetired body;
  body.set_version(1);
  body.set_tls_pin(std::string(32, '\x42'));
  body.set_log_verifier_key(trust_testing::BundleBody().log_verifier_key());
  body.set_retired_at(kNow);
  body.set_reason("server seized");
  absl::StatusOr<SignedStatement> st = IssueServerRetired(body, root_);
  ASSERT_TRUE(st.ok()) << st.status();
  absl::StatusOr<tvault::v1::ServerRetired> r =
      VerifyServerRetired(*st, root_.public_key());
  ASSERT_TRUE(r.ok()) << r.status();
  EXPECT_EQ(r->SerializeAsString(), body.SerializeAsString());
  // A server-retired signature is not a server-bundle signature.
  EXPECT_FALSE(VerifyServerBundle(*st, root_.public_key()).ok());
  EXPECT_EQ(VerifyServerRetired(FlipSignatureBit(*st), root_.public_key())
                .status()
                .code(),
            absl::StatusCode::kPermissionDenied);
  body.set_tls_pin("");
  EXPECT_FALSE(IssueServerRetired(body, root_).ok());
}

}  // namespace
}  // namespace tvault::crypto
