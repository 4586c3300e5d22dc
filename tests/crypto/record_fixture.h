// Shared fixture for record tests: an organisation, an epoch key, an invite
// key, a contributor and a reviewer with certificates, and a builder for
// hand-made containers (each breaking one rule, then properly signed).
#ifndef TVAULT_TESTS_CRYPTO_RECORD_FIXTURE_H_
#define TVAULT_TESTS_CRYPTO_RECORD_FIXTURE_H_

#include <sodium.h>

#include <string>

#include "absl/strings/escaping.h"
#include "crypto/certificate.h"
#include "crypto/padme.h"
#include "crypto/record.h"
#include "crypto/record_metadata.h"
#include "gtest/gtest.h"

namespace tvault::crypto::testing_support {

inline std::string HexOf(absl::Span<const uint8_t> b) {
  return absl::BytesToHexString(AsString(b));
}

// Assembles a container byte by byte; knobs break one rule at a time.
struct ContainerBuilder {
  ContainerBuilder(std::string meta_json, std::string body_bytes)
      : meta(std::move(meta_json)), body(std::move(body_bytes)) {}

  uint64_t Padding() const {
    const uint64_t l = 16 + meta.size() + body.size() + 96;
    return RecordPaddedLength(l) - l;
  }

  std::string Sign(const SigningKey& key) const {
    std::string out = magic;
    auto put = [&out](uint64_t v, int n) {
      for (int i = n - 1; i >= 0; --i) {
        out.push_back(static_cast<char>((v >> (8 * i)) & 0xff));
      }
    };
    put(meta.size(), 4);
    put(static_cast<uint64_t>(static_cast<int64_t>(body.size()) +
                              body_len_delta),
        8);
    out += meta;
    out += body;
    out.append(
        static_cast<size_t>(static_cast<int64_t>(Padding()) + padding_delta),
        static_cast<char>(padding_byte));
    out += std::string(AsString(key.public_key()));
    uint8_t digest[64];
    crypto_generichash(digest, sizeof digest,
                       reinterpret_cast<const uint8_t*>(out.data()), out.size(),
                       nullptr, 0);
    const Signature sig = key.Sign(tag, digest);
    out += std::string(AsString(sig));
    return out;
  }

  std::string magic = "TVR1";
  std::string meta;
  std::string body;
  uint8_t padding_byte = 0;
  int64_t padding_delta = 0;
  int64_t body_len_delta = 0;
  std::string tag = "tvault/v1/record";
};

class RecordFixture : public ::testing::Test {
 protected:
  static constexpr int64_t kNow = 1790000000;  // 2026-09

  RecordFixture()
      : org_(SigningKey::Generate()),
        epoch_(X25519Identity::Generate()),
        invite_key_(SigningKey::Generate()),
        contributor_key_(SigningKey::Generate()),
        reviewer_key_(SigningKey::Generate()),
        contributor_cert_(Certify(contributor_key_, tvault::v1::CONTRIBUTOR)),
        reviewer_cert_(Certify(reviewer_key_, tvault::v1::REVIEWER)) {
    randombytes_buf(case_id_.data(), case_id_.size());
    randombytes_buf(record_id_.data(), record_id_.size());
  }

  VerifiedCertificate Certify(const SigningKey& key, tvault::v1::Role role) {
    tvault::v1::Certificate c;
    c.set_version(1);
    c.set_sign_pk(std::string(AsString(key.public_key())));
    const X25519Identity box = X25519Identity::Generate();
    c.set_box_pk(std::string(AsString(box.recipient().bytes())));
    c.add_roles(role);
    c.set_handle(role == tvault::v1::CONTRIBUTOR ? "lawyer-7" : "reviewer-2");
    c.set_not_before(kNow - 86400);
    c.set_not_after(kNow + 30 * 86400);
    const tvault::v1::SignedStatement st =
        SignStatement(StatementType::kCert, c, org_);
    absl::StatusOr<VerifiedCertificate> v =
        VerifyCertificate(st, org_.public_key());
    EXPECT_TRUE(v.ok()) << v.status();
    return *v;
  }

  static std::string Body(size_t n) {
    std::string s(n, '\0');
    for (size_t i = 0; i < n; ++i) s[i] = static_cast<char>(i * 31 + 7);
    return s;
  }

  tvault::v1::RecordMetadata BaseMeta(const SigningKey& key) const {
    tvault::v1::RecordMetadata m;
    m.set_record_id(HexOf(record_id_));
    m.set_case_id(HexOf(case_id_));
    m.set_epoch(2);
    m.set_kind(tvault::v1::TESTIMONY);
    m.set_title("What happened on 3 March");
    m.set_language("en");
    m.set_created_at("2026-09-21T10:00:00Z");
    m.mutable_submitter()->set_sign_pk(HexOf(key.public_key()));
    return m;
  }
  tvault::v1::RecordMetadata InviteMeta() const {
    tvault::v1::RecordMetadata m = BaseMeta(invite_key_);
    m.mutable_submitter()->set_relation("mother");
    return m;
  }
  tvault::v1::RecordMetadata AccountMeta() const {
    tvault::v1::RecordMetadata m = BaseMeta(contributor_key_);
    m.set_kind(tvault::v1::MEETING_TRANSCRIPT);
    *m.mutable_submitter()->mutable_certificate() = contributor_cert_.statement;
    return m;
  }
  tvault::v1::RecordMetadata ReviewerMeta() const {
    tvault::v1::RecordMetadata m = BaseMeta(reviewer_key_);
    *m.mutable_submitter()->mutable_certificate() = reviewer_cert_.statement;
    return m;
  }

  RecordExpectations Expect() const {
    RecordExpectations e;
    e.case_id = case_id_;
    e.record_id = record_id_;
    e.descriptor.set_version(1);
    e.descriptor.set_case_id(std::string(AsString(case_id_)));
    e.descriptor.set_epoch(2);
    e.descriptor.set_recipient(epoch_.recipient().Encode());
    e.descriptor.add_owners(std::string(AsString(reviewer_cert_.fingerprint)));
    e.descriptor.add_members(std::string(AsString(reviewer_cert_.fingerprint)));
    e.descriptor.add_contributors(
        std::string(AsString(contributor_cert_.fingerprint)));
    e.log_time = kNow;
    e.org_pk = org_.public_key();
    e.invites.push_back({.key = invite_key_.public_key(),
                         .epoch = 2,
                         .registered_at = kNow - 3600,
                         .expires = kNow + 3600,
                         .revoked_at = std::nullopt});
    e.current_epoch_at_log_time = 2;
    return e;
  }

  std::string WriteRecord(const SigningKey& key,
                          const tvault::v1::RecordMetadata& meta,
                          const std::string& body) {
    VectorSink sink;
    auto w =
        RecordWriter::Create(epoch_.recipient(), meta, body.size(), key, sink);
    EXPECT_TRUE(w.ok()) << w.status();
    if (!w.ok()) return "";
    // Write in uneven pieces to exercise the streaming path.
    for (size_t at = 0; at < body.size();) {
      const size_t n = std::min<size_t>(body.size() - at, 1 + at % 40000);
      EXPECT_TRUE((*w)->Write(AsBytes(body).subspan(at, n)).ok());
      at += n;
    }
    EXPECT_TRUE((*w)->Finish().ok());
    return std::string(sink.bytes().begin(), sink.bytes().end());
  }

  std::string Encrypt(const std::string& plain) {
    VectorSink sink;
    const AgeRecipient* r[] = {&epoch_.recipient()};
    auto enc = AgeEncryptor::Create(r, sink);
    EXPECT_TRUE(enc.ok());
    EXPECT_TRUE((*enc)->Write(AsBytes(plain)).ok());
    EXPECT_TRUE((*enc)->Finish().ok());
    return std::string(sink.bytes().begin(), sink.bytes().end());
  }

  std::string Decrypt(const std::string& ct) {
    MemorySource src(ct);
    auto dec = AgeDecryptor::Open(src);
    EXPECT_TRUE(dec.ok());
    const AgeIdentity* ids[] = {&epoch_};
    EXPECT_TRUE((*dec)->Unlock(ids).ok());
    VectorSink out;
    EXPECT_TRUE((*dec)->DecryptTo(out).ok());
    return std::string(out.bytes().begin(), out.bytes().end());
  }

  // Reads with `e`; the ciphertext hash expected is this ciphertext's unless
  // the test set another (as the log entry would give it).
  absl::StatusOr<VerifiedRecord> ReadRecord(const std::string& ct,
                                            RecordExpectations e,
                                            std::string* body) {
    if (e.ciphertext_sha256 == Sha256{}) {
      e.ciphertext_sha256 = ComputeSha256(AsBytes(ct));
    }
    MemorySource src(ct);
    absl::StatusOr<std::unique_ptr<RecordReader>> reader =
        RecordReader::Open(src, epoch_);
    if (!reader.ok()) return reader.status();
    VectorSink out;
    absl::Status s = (*reader)->Read(out);
    body->assign(out.bytes().begin(), out.bytes().end());
    absl::StatusOr<VerifiedRecord> r = (*reader)->Finish(e);
    if (!s.ok()) {
      EXPECT_FALSE(r.ok());
    }
    return r;
  }

  void ExpectFails(const std::string& ct, const RecordExpectations& e,
                   absl::StatusCode code, absl::string_view message_part) {
    std::string body;
    absl::StatusOr<VerifiedRecord> r = ReadRecord(ct, e, &body);
    ASSERT_FALSE(r.ok());
    EXPECT_EQ(r.status().code(), code) << r.status();
    EXPECT_NE(r.status().message().find(message_part), absl::string_view::npos)
        << r.status();
  }

  SigningKey org_;
  X25519Identity epoch_;
  SigningKey invite_key_;
  SigningKey contributor_key_;
  SigningKey reviewer_key_;
  VerifiedCertificate contributor_cert_;
  VerifiedCertificate reviewer_cert_;
  std::array<uint8_t, 16> case_id_{};
  std::array<uint8_t, 16> record_id_{};
};

}  // namespace tvault::crypto::testing_support

#endif  // TVAULT_TESTS_CRYPTO_RECORD_FIXTURE_H_
