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

// RecordAdded times are rounded down to the hour: an invite registered
// later within that hour was live at some moment of it.
TEST_F(RecordFixture, AcceptsInviteRegisteredWithinTheLogHour) {
  RecordExpectations e = Expect();
  e.log_time_precision = 3600;
  e.invites[0].registered_at = e.log_time + 3599;
  std::string out;
  EXPECT_TRUE(
      ReadRecord(WriteRecord(invite_key_, InviteMeta(), "x"), e, &out).ok());
}

TEST_F(RecordFixture, RejectsInviteRegisteredAfterTheLogHour) {
  RecordExpectations e = Expect();
  e.log_time_precision = 3600;
  e.invites[0].registered_at = e.log_time + 3600;
  ExpectFails(WriteRecord(invite_key_, InviteMeta(), "x"), e,
              absl::StatusCode::kPermissionDenied, "not live");
}

TEST_F(RecordFixture, RejectsInviteExpiredBeforeTheLogHourEvenWithAWindow) {
  RecordExpectations e = Expect();
  e.log_time_precision = 3600;
  e.invites[0].expires = e.log_time;
  ExpectFails(WriteRecord(invite_key_, InviteMeta(), "x"), e,
              absl::StatusCode::kPermissionDenied, "not live");
}

TEST_F(RecordFixture, AcceptsCertificateIssuedWithinTheLogHour) {
  RecordExpectations e = Expect();
  e.log_time = contributor_cert_.body.not_before() - 1800;
  e.log_time_precision = 3600;
  std::string out;
  EXPECT_TRUE(
      ReadRecord(WriteRecord(contributor_key_, AccountMeta(), "x"), e, &out)
          .ok());
}

TEST_F(RecordFixture, RejectsCertificateIssuedAfterTheLogHour) {
  RecordExpectations e = Expect();
  e.log_time = contributor_cert_.body.not_before() - 3600;
  e.log_time_precision = 3600;
  ExpectFails(WriteRecord(contributor_key_, AccountMeta(), "x"), e,
              absl::StatusCode::kPermissionDenied, "entitled");
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

// ------------------------------------------------- prepared header (uploads)

class RecordPreparedHeaderTest : public RecordFixture {
 protected:
  AgePreparedHeader Prepare() {
    absl::StatusOr<AgePreparedHeader> p =
        RecordWriter::PrepareHeader(epoch_.recipient());
    EXPECT_TRUE(p.ok()) << p.status();
    return *std::move(p);
  }

  std::string WriteWith(const AgePreparedHeader& prepared,
                        const std::string& body) {
    VectorSink sink;
    auto w = RecordWriter::Create(prepared, AccountMeta(), body.size(),
                                  contributor_key_, sink);
    EXPECT_TRUE(w.ok()) << w.status();
    if (!w.ok()) return "";
    EXPECT_TRUE((*w)->Write(AsBytes(body)).ok());
    EXPECT_TRUE((*w)->Finish().ok());
    return std::string(sink.bytes().begin(), sink.bytes().end());
  }
};

TEST_F(RecordPreparedHeaderTest, WritersFromOneHeaderWriteIdenticalRecords) {
  const AgePreparedHeader prepared = Prepare();
  const std::string body = Body(200000);
  const std::string first = WriteWith(prepared, body);
  EXPECT_EQ(first, WriteWith(prepared, body));
  std::string out;
  absl::StatusOr<VerifiedRecord> r = ReadRecord(first, Expect(), &out);
  ASSERT_TRUE(r.ok()) << r.status();
  EXPECT_EQ(out, body);
  EXPECT_EQ(r->metadata.title(), "What happened on 3 March");
}

TEST_F(RecordPreparedHeaderTest, SeparatelyPreparedHeadersGiveOtherBytes) {
  const std::string a = WriteWith(Prepare(), "same body");
  const std::string b = WriteWith(Prepare(), "same body");
  EXPECT_NE(a, b);
  // Only the encryption differs: the signed container is the same.
  EXPECT_EQ(Decrypt(a), Decrypt(b));
  std::string out;
  EXPECT_TRUE(ReadRecord(a, Expect(), &out).ok());
  EXPECT_TRUE(ReadRecord(b, Expect(), &out).ok());
}

TEST_F(RecordPreparedHeaderTest, WriterRefusesHeaderOutsideTheRecordProfile) {
  const X25519Identity other = X25519Identity::Generate();
  const AgeRecipient* r[] = {&epoch_.recipient(), &other.recipient()};
  absl::StatusOr<AgePreparedHeader> two = AgePreparedHeader::Create(r);
  ASSERT_TRUE(two.ok()) << two.status();
  VectorSink sink;
  EXPECT_EQ(RecordWriter::Create(*two, InviteMeta(), 1, invite_key_, sink)
                .status()
                .code(),
            absl::StatusCode::kInvalidArgument);
  EXPECT_TRUE(sink.bytes().empty());
}

// ------------------------------------------------------- metadata peeking

// Counts the bytes a source gives.
class CountingSource final : public ByteSource {
 public:
  explicit CountingSource(ByteSource& inner) : inner_(inner) {}
  absl::StatusOr<size_t> Read(absl::Span<uint8_t> out) override {
    absl::StatusOr<size_t> n = inner_.Read(out);
    if (n.ok()) count_ += *n;
    return n;
  }
  size_t count() const { return count_; }

 private:
  ByteSource& inner_;
  size_t count_ = 0;
};

class RecordPeekTest : public RecordFixture {
 protected:
  static constexpr size_t kLargeBody = 300 * 1024;

  absl::StatusOr<tvault::v1::RecordMetadata> Peek(
      absl::string_view ct, const X25519Identity& identity) {
    MemorySource src(ct);
    return PeekRecordMetadata(src, identity);
  }
  absl::StatusOr<tvault::v1::RecordMetadata> Peek(absl::string_view ct) {
    return Peek(ct, epoch_);
  }
  static std::string Printed(const tvault::v1::RecordMetadata& m) {
    return *PrintRecordMetadata(m);
  }
  // Where the payload starts: after the MAC line and the nonce.
  static size_t PayloadOffset(const std::string& ct) {
    return ct.find('\n', ct.find("\n--- ") + 1) + 1 + kAgeNonceSize;
  }
};

TEST_F(RecordPeekTest, ReadsMetadataFromFullRecord) {
  const std::string ct = WriteRecord(invite_key_, InviteMeta(), "x");
  absl::StatusOr<tvault::v1::RecordMetadata> m = Peek(ct);
  ASSERT_TRUE(m.ok()) << m.status();
  EXPECT_EQ(Printed(*m), Printed(InviteMeta()));
}

TEST_F(RecordPeekTest, ReadsTitleFromPrefixOfLargeRecord) {
  const std::string ct =
      WriteRecord(contributor_key_, AccountMeta(), Body(kLargeBody));
  ASSERT_GT(ct.size(), kRecordMetadataPrefixSize);
  absl::StatusOr<tvault::v1::RecordMetadata> m =
      Peek(absl::string_view(ct).substr(0, kRecordMetadataPrefixSize));
  ASSERT_TRUE(m.ok()) << m.status();
  EXPECT_EQ(m->title(), "What happened on 3 March");
  EXPECT_EQ(Printed(*m), Printed(AccountMeta()));
}

TEST_F(RecordPeekTest, ReadsNoMoreThanThePrefixSizeOfAWholeRecord) {
  const std::string ct =
      WriteRecord(invite_key_, InviteMeta(), Body(kLargeBody));
  MemorySource mem(ct);
  CountingSource counting(mem);
  EXPECT_TRUE(PeekRecordMetadata(counting, epoch_).ok());
  EXPECT_LE(counting.count(), kRecordMetadataPrefixSize);
}

TEST_F(RecordPeekTest, ReadsLargestMetadataFromPrefixEndingWithItsChunk) {
  tvault::v1::RecordMetadata meta = InviteMeta();
  meta.set_description("d");
  const size_t base = Printed(meta).size();
  meta.set_description(std::string(kMaxMetadataSize - base + 1, 'd'));
  ASSERT_EQ(Printed(meta).size(), kMaxMetadataSize);
  const std::string ct = WriteRecord(invite_key_, meta, Body(kLargeBody));
  const size_t payload = PayloadOffset(ct);
  EXPECT_LE(payload, kRecordMaxAgeHeaderSize + kAgeNonceSize);
  // The metadata ends in the second chunk; a prefix ending with that chunk
  // suffices, and so does the advertised prefix size.
  const size_t two_chunks = payload + 2 * (kAgeChunkSize + kAgeTagSize);
  for (size_t prefix : {two_chunks, kRecordMetadataPrefixSize}) {
    SCOPED_TRACE(prefix);
    absl::StatusOr<tvault::v1::RecordMetadata> m =
        Peek(absl::string_view(ct).substr(0, prefix));
    ASSERT_TRUE(m.ok()) << m.status();
    EXPECT_EQ(m->description(), meta.description());
  }
  // One byte less, and the second chunk cannot be verified.
  const absl::Status s =
      Peek(absl::string_view(ct).substr(0, two_chunks - 1)).status();
  EXPECT_EQ(GetAgeErrorKind(s), AgeErrorKind::kPayload) << s;
}

TEST_F(RecordPeekTest, FailsOnPrefixShorterThanTheMetadata) {
  const std::string ct =
      WriteRecord(invite_key_, InviteMeta(), Body(kLargeBody));
  // Inside the first chunk, which holds all of this record's metadata.
  const absl::Status s = Peek(absl::string_view(ct).substr(0, 1000)).status();
  EXPECT_EQ(GetAgeErrorKind(s), AgeErrorKind::kPayload) << s;
  EXPECT_NE(s.message().find("before the metadata is complete"),
            absl::string_view::npos)
      << s;
  // Inside the age header.
  EXPECT_EQ(
      GetAgeErrorKind(Peek(absl::string_view(ct).substr(0, 100)).status()),
      AgeErrorKind::kHeader);
}

TEST_F(RecordPeekTest, FailsWithAnotherEpochIdentity) {
  const std::string ct = WriteRecord(invite_key_, InviteMeta(), "x");
  const absl::Status s = Peek(ct, X25519Identity::Generate()).status();
  EXPECT_EQ(GetAgeErrorKind(s), AgeErrorKind::kNoMatch) << s;
}

TEST_F(RecordPeekTest, FailsOnTamperedFirstChunk) {
  std::string ct = WriteRecord(invite_key_, InviteMeta(), Body(kLargeBody));
  ct[PayloadOffset(ct) + 20] ^= 1;
  const absl::Status s = Peek(ct).status();
  EXPECT_EQ(GetAgeErrorKind(s), AgeErrorKind::kPayload) << s;
}

// The prefix ends inside a chunk, so the stream fails too; the container's
// own error is the one reported.
TEST_F(RecordPeekTest, FailsOnBadMagicInAPrefix) {
  ContainerBuilder b(Printed(InviteMeta()), Body(kLargeBody));
  b.magic = "TVR2";
  const std::string ct = Encrypt(b.Sign(invite_key_));
  const absl::Status s =
      Peek(absl::string_view(ct).substr(0, kRecordMetadataPrefixSize)).status();
  EXPECT_EQ(s.code(), absl::StatusCode::kDataLoss) << s;
  EXPECT_NE(s.message().find("magic"), absl::string_view::npos) << s;
}

TEST_F(RecordPeekTest, FailsOnZeroMetadataLength) {
  const std::string ct = Encrypt(ContainerBuilder("", "x").Sign(invite_key_));
  const absl::Status s = Peek(ct).status();
  EXPECT_EQ(s.code(), absl::StatusCode::kDataLoss) << s;
  EXPECT_NE(s.message().find("metadata length"), absl::string_view::npos) << s;
}

TEST_F(RecordPeekTest, FailsOnRecordEndingInsideItsMetadata) {
  std::string plain =
      ContainerBuilder(Printed(InviteMeta()), "x").Sign(invite_key_);
  plain.resize(kRecordHeaderSize + 10);
  const absl::Status s = Peek(Encrypt(plain)).status();
  EXPECT_EQ(s.code(), absl::StatusCode::kDataLoss) << s;
  EXPECT_NE(s.message().find("inside its metadata"), absl::string_view::npos)
      << s;
}

TEST_F(RecordPeekTest, RejectsDuplicateMetadataKeyAsTheReaderDoes) {
  std::string meta = Printed(InviteMeta());
  meta.insert(meta.size() - 1, ",\"title\":\"another title\"");
  const std::string ct = Encrypt(ContainerBuilder(meta, "x").Sign(invite_key_));
  const absl::Status s = Peek(ct).status();
  EXPECT_EQ(s.code(), absl::StatusCode::kDataLoss) << s;
  EXPECT_NE(s.message().find("repeated key"), absl::string_view::npos) << s;
}

TEST_F(RecordPeekTest, RejectsFileWithTwoStanzas) {
  VectorSink sink;
  const X25519Identity other = X25519Identity::Generate();
  const AgeRecipient* r[] = {&epoch_.recipient(), &other.recipient()};
  auto enc = AgeEncryptor::Create(r, sink);
  ASSERT_TRUE(enc.ok());
  ASSERT_TRUE(
      (*enc)
          ->Write(AsBytes(
              ContainerBuilder(Printed(InviteMeta()), "x").Sign(invite_key_)))
          .ok());
  ASSERT_TRUE((*enc)->Finish().ok());
  const std::string ct(sink.bytes().begin(), sink.bytes().end());
  EXPECT_EQ(Peek(ct).status().code(), absl::StatusCode::kInvalidArgument);
}

}  // namespace
}  // namespace tvault::crypto
