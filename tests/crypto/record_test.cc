// RecordWriter / RecordReader (DESIGN.md §6): round trips, and every way a
// record can be wrong, each rejected with a precise status. Containers that
// a correct writer cannot produce are assembled by hand (ContainerBuilder)
// and signed, so that each test breaks exactly one rule.
#include "crypto/record.h"

#include <sodium.h>

#include <string>

#include "absl/strings/escaping.h"
#include "crypto/certificate.h"
#include "crypto/padme.h"
#include "crypto/record_metadata.h"
#include "gtest/gtest.h"
#include "tests/crypto/record_fixture.h"

namespace tvault::crypto {
namespace {

using testing_support::ContainerBuilder;
using testing_support::RecordFixture;

TEST_F(RecordFixture, InviteSignedRecordRoundTrips) {
  for (size_t size : {size_t{0}, size_t{1}, size_t{65536}, size_t{200000}}) {
    SCOPED_TRACE(size);
    const std::string body = Body(size);
    const std::string ct = WriteRecord(invite_key_, InviteMeta(), body);
    std::string out;
    absl::StatusOr<VerifiedRecord> r = ReadRecord(ct, Expect(), &out);
    ASSERT_TRUE(r.ok()) << r.status();
    EXPECT_EQ(out, body);
    EXPECT_TRUE(r->via_invite);
    EXPECT_FALSE(r->signer_certificate.has_value());
    EXPECT_EQ(r->body_length, size);
    EXPECT_EQ(r->metadata.title(), "What happened on 3 March");
  }
}

TEST_F(RecordFixture, AccountSignedRecordRoundTrips) {
  const std::string ct = WriteRecord(contributor_key_, AccountMeta(), "abc");
  std::string out;
  absl::StatusOr<VerifiedRecord> r = ReadRecord(ct, Expect(), &out);
  ASSERT_TRUE(r.ok()) << r.status();
  EXPECT_EQ(out, "abc");
  ASSERT_TRUE(r->signer_certificate.has_value());
  EXPECT_EQ(*r->signer_certificate, contributor_cert_.fingerprint);
}

TEST_F(RecordFixture, PlaintextLengthIsThePaddedLength) {
  for (size_t size : {size_t{0}, size_t{70000}, size_t{1000000}}) {
    const std::string meta = *PrintRecordMetadata(InviteMeta());
    const std::string ct = WriteRecord(invite_key_, InviteMeta(), Body(size));
    const std::string plain = Decrypt(ct);
    EXPECT_EQ(plain.size(), RecordPaddedLength(16 + meta.size() + size + 96));
  }
}

TEST_F(RecordFixture, RejectsWrongCase) {
  RecordExpectations e = Expect();
  e.case_id[0] ^= 1;
  ExpectFails(WriteRecord(invite_key_, InviteMeta(), "x"), e,
              absl::StatusCode::kFailedPrecondition, "different case");
}

TEST_F(RecordFixture, RejectsWrongRecordId) {
  RecordExpectations e = Expect();
  e.record_id[15] ^= 1;
  ExpectFails(WriteRecord(invite_key_, InviteMeta(), "x"), e,
              absl::StatusCode::kFailedPrecondition, "record id");
}

TEST_F(RecordFixture, RejectsWrongEpoch) {
  RecordExpectations e = Expect();
  e.descriptor.set_epoch(e.descriptor.epoch() + 1);
  ExpectFails(WriteRecord(invite_key_, InviteMeta(), "x"), e,
              absl::StatusCode::kFailedPrecondition, "epoch");
}

TEST_F(RecordFixture, RejectsCiphertextOtherThanTheLogged) {
  RecordExpectations e = Expect();
  e.ciphertext_sha256[0] = 1;  // any hash but this ciphertext's
  ExpectFails(WriteRecord(invite_key_, InviteMeta(), "x"), e,
              absl::StatusCode::kFailedPrecondition, "transparency log");
}

TEST_F(RecordFixture, RejectsRecordNotEncryptedToTheEpochRecipient) {
  RecordExpectations e = Expect();
  e.descriptor.set_recipient(X25519Identity::Generate().recipient().Encode());
  ExpectFails(WriteRecord(invite_key_, InviteMeta(), "x"), e,
              absl::StatusCode::kFailedPrecondition, "recipient");
}

TEST_F(RecordFixture, RejectsUnknownInviteKey) {
  RecordExpectations e = Expect();
  e.invites.clear();
  ExpectFails(WriteRecord(invite_key_, InviteMeta(), "x"), e,
              absl::StatusCode::kPermissionDenied, "neither an account");
}

TEST_F(RecordFixture, RejectsInviteExpiredBeforeLogTime) {
  RecordExpectations e = Expect();
  e.invites[0].expires = e.log_time;
  ExpectFails(WriteRecord(invite_key_, InviteMeta(), "x"), e,
              absl::StatusCode::kPermissionDenied, "not live");
}

TEST_F(RecordFixture, RejectsInviteRevokedBeforeLogTime) {
  RecordExpectations e = Expect();
  e.invites[0].revoked_at = e.log_time - 1;
  ExpectFails(WriteRecord(invite_key_, InviteMeta(), "x"), e,
              absl::StatusCode::kPermissionDenied, "not live");
}

TEST_F(RecordFixture, RejectsInviteRegisteredAfterLogTime) {
  RecordExpectations e = Expect();
  e.invites[0].registered_at = e.log_time + 1;
  ExpectFails(WriteRecord(invite_key_, InviteMeta(), "x"), e,
              absl::StatusCode::kPermissionDenied, "not live");
}

TEST_F(RecordFixture, AcceptsInviteRevokedAfterLogTime) {
  RecordExpectations e = Expect();
  e.invites[0].revoked_at = e.log_time + 1;
  std::string out;
  EXPECT_TRUE(
      ReadRecord(WriteRecord(invite_key_, InviteMeta(), "x"), e, &out).ok());
}

TEST_F(RecordFixture, RejectsInviteOfAnotherEpoch) {
  RecordExpectations e = Expect();
  e.invites[0].epoch = 1;
  ExpectFails(WriteRecord(invite_key_, InviteMeta(), "x"), e,
              absl::StatusCode::kPermissionDenied, "another epoch");
}

TEST_F(RecordFixture, FinishTwiceGivesTheSameAnswer) {
  const std::string ct = WriteRecord(invite_key_, InviteMeta(), "x");
  RecordExpectations e = Expect();
  e.ciphertext_sha256 = ComputeSha256(AsBytes(ct));
  MemorySource src(ct);
  auto reader = RecordReader::Open(src, epoch_);
  ASSERT_TRUE(reader.ok());
  VectorSink out;
  ASSERT_TRUE((*reader)->Read(out).ok());
  EXPECT_TRUE((*reader)->Finish(e).ok());
  EXPECT_TRUE((*reader)->Finish(e).ok());
}

TEST_F(RecordFixture, WriterRefusesSignerOtherThanMetadataNames) {
  VectorSink sink;
  EXPECT_FALSE(RecordWriter::Create(epoch_.recipient(), InviteMeta(), 1,
                                    contributor_key_, sink)
                   .ok());
}

TEST_F(RecordFixture, RejectsSignerThatDiffersFromMetadata) {
  // Signed (validly) by the contributor key, metadata naming the invite key.
  ContainerBuilder b(*PrintRecordMetadata(InviteMeta()), "x");
  ExpectFails(Encrypt(b.Sign(contributor_key_)), Expect(),
              absl::StatusCode::kPermissionDenied, "different key");
}

TEST_F(RecordFixture, RejectsCertificateWithoutTheRole) {
  // A reviewer-only certificate listed as a contributor of the epoch.
  RecordExpectations e = Expect();
  e.descriptor.clear_contributors();
  e.descriptor.add_contributors(
      std::string(AsString(reviewer_cert_.fingerprint)));
  const std::string ct = WriteRecord(reviewer_key_, ReviewerMeta(), "x");
  ExpectFails(ct, e, absl::StatusCode::kPermissionDenied, "role");
}

TEST_F(RecordFixture, RejectsSignerNotListedInTheEpoch) {
  RecordExpectations e = Expect();
  e.descriptor.clear_contributors();
  ExpectFails(WriteRecord(contributor_key_, AccountMeta(), "x"), e,
              absl::StatusCode::kPermissionDenied, "not listed");
}

TEST_F(RecordFixture, RejectsCertificateExpiredAtLogTime) {
  RecordExpectations e = Expect();
  e.log_time = contributor_cert_.body.not_after();
  ExpectFails(WriteRecord(contributor_key_, AccountMeta(), "x"), e,
              absl::StatusCode::kPermissionDenied, "entitled");
}

TEST_F(RecordFixture, RejectsCertificateRevokedBeforeLogTime) {
  RecordExpectations e = Expect();
  tvault::v1::Revocation rev;
  rev.set_version(1);
  rev.set_cert_fingerprint(
      std::string(AsString(contributor_cert_.fingerprint)));
  rev.set_revoked_at(e.log_time - 10);
  e.revocations.push_back(rev);
  ExpectFails(WriteRecord(contributor_key_, AccountMeta(), "x"), e,
              absl::StatusCode::kPermissionDenied, "entitled");
}

TEST_F(RecordFixture, AcceptsCertificateRevokedAfterLogTime) {
  RecordExpectations e = Expect();
  tvault::v1::Revocation rev;
  rev.set_version(1);
  rev.set_cert_fingerprint(
      std::string(AsString(contributor_cert_.fingerprint)));
  rev.set_revoked_at(e.log_time + 10);
  e.revocations.push_back(rev);
  std::string out;
  EXPECT_TRUE(
      ReadRecord(WriteRecord(contributor_key_, AccountMeta(), "x"), e, &out)
          .ok());
}

TEST_F(RecordFixture, RejectsCertificateNotSignedByTheOrganisation) {
  RecordExpectations e = Expect();
  e.org_pk = SigningKey::Generate().public_key();
  ExpectFails(WriteRecord(contributor_key_, AccountMeta(), "x"), e,
              absl::StatusCode::kPermissionDenied, "certificate");
}

TEST_F(RecordFixture, FlagsRecordLoggedAfterItsEpochWasSuperseded) {
  RecordExpectations e = Expect();
  e.current_epoch_at_log_time = e.descriptor.epoch() + 1;
  std::string out;
  absl::StatusOr<VerifiedRecord> r =
      ReadRecord(WriteRecord(invite_key_, InviteMeta(), "x"), e, &out);
  ASSERT_TRUE(r.ok()) << r.status();
  EXPECT_TRUE(r->uploaded_after_epoch_superseded);
}

TEST_F(RecordFixture, RejectsNonZeroPadding) {
  ContainerBuilder b(*PrintRecordMetadata(InviteMeta()), "x");
  b.padding_byte = 1;
  ExpectFails(Encrypt(b.Sign(invite_key_)), Expect(),
              absl::StatusCode::kDataLoss, "padding");
}

// Shorter containers shift the signer key and signature into the place of
// the padding, so the reader stops at non-zero "padding".
TEST_F(RecordFixture, RejectsMissingPadding) {
  ContainerBuilder b(*PrintRecordMetadata(InviteMeta()), "x");
  b.padding_delta = -static_cast<int64_t>(b.Padding());
  ExpectFails(Encrypt(b.Sign(invite_key_)), Expect(),
              absl::StatusCode::kDataLoss, "record container");
}

TEST_F(RecordFixture, RejectsLengthOneByteShort) {
  ContainerBuilder b(*PrintRecordMetadata(InviteMeta()), "x");
  b.padding_delta = -1;
  ExpectFails(Encrypt(b.Sign(invite_key_)), Expect(),
              absl::StatusCode::kDataLoss, "record container");
}

TEST_F(RecordFixture, RejectsLengthOneByteLong) {
  ContainerBuilder b(*PrintRecordMetadata(InviteMeta()), "x");
  b.padding_delta = 1;
  ExpectFails(Encrypt(b.Sign(invite_key_)), Expect(),
              absl::StatusCode::kDataLoss, "longer");
}

TEST_F(RecordFixture, RejectsBodyLengthFieldOneOff) {
  ContainerBuilder b(*PrintRecordMetadata(InviteMeta()), "xy");
  b.body_len_delta = -1;
  ExpectFails(Encrypt(b.Sign(invite_key_)), Expect(),
              absl::StatusCode::kDataLoss, "");
}

TEST_F(RecordFixture, RejectsBadMagic) {
  ContainerBuilder b(*PrintRecordMetadata(InviteMeta()), "x");
  b.magic = "TVR2";
  ExpectFails(Encrypt(b.Sign(invite_key_)), Expect(),
              absl::StatusCode::kDataLoss, "magic");
}

TEST_F(RecordFixture, RejectsZeroOrOversizedMetadataLength) {
  ContainerBuilder empty("", "x");
  ExpectFails(Encrypt(empty.Sign(invite_key_)), Expect(),
              absl::StatusCode::kDataLoss, "metadata length");
}

TEST_F(RecordFixture, RejectsFlippedSignatureBit) {
  ContainerBuilder b(*PrintRecordMetadata(InviteMeta()), "x");
  std::string plain = b.Sign(invite_key_);
  plain[plain.size() - 1] ^= 1;
  ExpectFails(Encrypt(plain), Expect(), absl::StatusCode::kDataLoss,
              "signature");
}

TEST_F(RecordFixture, RejectsSignatureWithAnotherTag) {
  ContainerBuilder b(*PrintRecordMetadata(InviteMeta()), "x");
  b.tag = "tvault/v1/cert";
  ExpectFails(Encrypt(b.Sign(invite_key_)), Expect(),
              absl::StatusCode::kDataLoss, "signature");
}

TEST_F(RecordFixture, RejectsSmallOrderSignerKey) {
  // The identity point: with it, "signatures" prove nothing.
  ContainerBuilder b(*PrintRecordMetadata(InviteMeta()), "x");
  std::string plain = b.Sign(invite_key_);
  std::string ident(32, '\0');
  ident[0] = 1;
  plain.replace(plain.size() - 96, 32, ident);
  ExpectFails(Encrypt(plain), Expect(), absl::StatusCode::kDataLoss,
              "signature");
}

TEST_F(RecordFixture, RejectsDuplicateMetadataKeyEvenWhenSigned) {
  std::string meta = *PrintRecordMetadata(InviteMeta());
  meta.insert(meta.size() - 1, ",\"title\":\"another title\"");
  ContainerBuilder b(meta, "x");
  ExpectFails(Encrypt(b.Sign(invite_key_)), Expect(),
              absl::StatusCode::kDataLoss, "repeated key");
}

TEST_F(RecordFixture, RejectsUnknownMetadataFieldEvenWhenSigned) {
  std::string meta = *PrintRecordMetadata(InviteMeta());
  meta.insert(meta.size() - 1, ",\"recordId\":\"x\"");
  ContainerBuilder b(meta, "x");
  ExpectFails(Encrypt(b.Sign(invite_key_)), Expect(),
              absl::StatusCode::kDataLoss, "unknown key");
}

TEST_F(RecordFixture, RejectsArmoredRecord) {
  const std::string ct = WriteRecord(invite_key_, InviteMeta(), "x");
  VectorSink armored;
  ArmorWriter w(armored);
  ASSERT_TRUE(w.Write(AsBytes(ct)).ok());
  ASSERT_TRUE(w.Close().ok());
  MemorySource src(armored.bytes());
  EXPECT_FALSE(RecordReader::Open(src, epoch_).ok());
}

TEST_F(RecordFixture, RejectsRecordWithTwoStanzas) {
  VectorSink sink;
  const X25519Identity other = X25519Identity::Generate();
  const AgeRecipient* r[] = {&epoch_.recipient(), &other.recipient()};
  auto enc = AgeEncryptor::Create(r, sink);
  ASSERT_TRUE(enc.ok());
  const std::string plain =
      ContainerBuilder(*PrintRecordMetadata(InviteMeta()), "x")
          .Sign(invite_key_);
  ASSERT_TRUE((*enc)->Write(AsBytes(plain)).ok());
  ASSERT_TRUE((*enc)->Finish().ok());
  MemorySource src(sink.bytes());
  absl::Status s = RecordReader::Open(src, epoch_).status();
  EXPECT_EQ(s.code(), absl::StatusCode::kInvalidArgument) << s;
}

TEST_F(RecordFixture, RejectsTruncatedCiphertext) {
  std::string ct = WriteRecord(invite_key_, InviteMeta(), Body(100000));
  ct.resize(ct.size() - 17);
  MemorySource src(ct);
  auto reader = RecordReader::Open(src, epoch_);
  ASSERT_TRUE(reader.ok());
  VectorSink out;
  EXPECT_FALSE((*reader)->Read(out).ok());
  EXPECT_FALSE((*reader)->Finish(Expect()).ok());
}

TEST_F(RecordFixture, FinishWithoutReadFails) {
  const std::string ct = WriteRecord(invite_key_, InviteMeta(), "x");
  MemorySource src(ct);
  auto reader = RecordReader::Open(src, epoch_);
  ASSERT_TRUE(reader.ok());
  EXPECT_FALSE((*reader)->Finish(Expect()).ok());
}

TEST_F(RecordFixture, WriterRequiresExactBodyLength) {
  VectorSink sink;
  auto w = RecordWriter::Create(epoch_.recipient(), InviteMeta(), 3,
                                invite_key_, sink);
  ASSERT_TRUE(w.ok());
  EXPECT_EQ((*w)->Write(AsBytes("abcd")).code(), absl::StatusCode::kOutOfRange);
  ASSERT_TRUE((*w)->Write(AsBytes("ab")).ok());
  EXPECT_EQ((*w)->Finish().code(), absl::StatusCode::kFailedPrecondition);
}

TEST_F(RecordFixture, ReaderWithAnotherEpochIdentityFindsNoMatch) {
  const std::string ct = WriteRecord(invite_key_, InviteMeta(), "x");
  MemorySource src(ct);
  const X25519Identity other = X25519Identity::Generate();
  absl::Status s = RecordReader::Open(src, other).status();
  EXPECT_EQ(GetAgeErrorKind(s), AgeErrorKind::kNoMatch) << s;
}

}  // namespace
}  // namespace tvault::crypto
