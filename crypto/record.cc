#include "crypto/record.h"

#include <sodium.h>

#include <algorithm>

#include "absl/strings/escaping.h"
#include "absl/strings/str_cat.h"
#include "crypto/certificate.h"
#include "crypto/padme.h"
#include "crypto/record_metadata.h"

namespace tvault::crypto {
namespace {

constexpr size_t kHashSize = crypto_generichash_BYTES_MAX;  // 64: BLAKE2b-512

std::string Hex(absl::Span<const uint8_t> b) {
  return absl::BytesToHexString(AsString(b));
}

void PutBigEndian(uint64_t v, size_t n, uint8_t* out) {
  for (size_t i = 0; i < n; ++i) {
    out[n - 1 - i] = static_cast<uint8_t>(v & 0xff);
    v >>= 8;
  }
}

uint64_t GetBigEndian(const uint8_t* in, size_t n) {
  uint64_t v = 0;
  for (size_t i = 0; i < n; ++i) v = (v << 8) | in[i];
  return v;
}

absl::Status Malformed(absl::string_view what) {
  return absl::DataLossError(absl::StrCat("record container: ", what));
}

// Passes on at most `limit` bytes of `inner`, then reports the end.
class PrefixSource final : public ByteSource {
 public:
  PrefixSource(ByteSource& inner, size_t limit) : inner_(inner), left_(limit) {}
  absl::StatusOr<size_t> Read(absl::Span<uint8_t> out) override {
    if (left_ == 0) return 0;
    absl::StatusOr<size_t> n = inner_.Read(out.subspan(0, left_));
    if (n.ok()) left_ -= *n;
    return n;
  }

 private:
  ByteSource& inner_;
  size_t left_;
};

// The record profile on the age header's stanzas.
absl::Status CheckRecordStanzas(absl::Span<const AgeStanza> stanzas) {
  if (stanzas.size() != 1 || stanzas[0].args[0] != "X25519") {
    return absl::InvalidArgumentError(
        "not a record: a record has exactly one X25519 recipient stanza");
  }
  return absl::OkStatus();
}

// Reads a record's age header under the record profile (binary, at most
// kRecordMaxAgeHeaderSize bytes, one X25519 stanza) and unlocks it.
absl::StatusOr<std::unique_ptr<AgeDecryptor>> OpenRecordAge(
    ByteSource& ciphertext, const X25519Identity& epoch_identity,
    StreamOptions stream) {
  absl::StatusOr<std::unique_ptr<AgeDecryptor>> age = AgeDecryptor::Open(
      ciphertext, AgeDecryptOptions{.armor = ArmorMode::kForbid,
                                    .max_header_size = kRecordMaxAgeHeaderSize,
                                    .stream = stream});
  if (!age.ok()) return age.status();
  if (absl::Status s = CheckRecordStanzas((*age)->header().stanzas); !s.ok()) {
    return s;
  }
  const AgeIdentity* ids[] = {&epoch_identity};
  if (absl::Status s = (*age)->Unlock(ids); !s.ok()) return s;
  return age;
}

absl::StatusOr<tvault::v1::RecordMetadata> ParseContainerMetadata(
    const std::string& json) {
  absl::StatusOr<tvault::v1::RecordMetadata> meta = ParseRecordMetadata(json);
  if (!meta.ok()) return absl::DataLossError(meta.status().message());
  return meta;
}

// Passes ciphertext through while hashing it (for the log's binding).
class HashingSource final : public ByteSource {
 public:
  explicit HashingSource(ByteSource& inner) : inner_(inner) {
    crypto_hash_sha256_init(&st_);
  }
  absl::StatusOr<size_t> Read(absl::Span<uint8_t> out) override {
    absl::StatusOr<size_t> n = inner_.Read(out);
    if (n.ok()) crypto_hash_sha256_update(&st_, out.data(), *n);
    return n;
  }
  Sha256 Digest() {
    Sha256 d{};
    crypto_hash_sha256_final(&st_, d.data());
    return d;
  }

 private:
  ByteSource& inner_;
  crypto_hash_sha256_state st_;
};

}  // namespace

// ---------------------------------------------------------------- writer

absl::StatusOr<AgePreparedHeader> RecordWriter::PrepareHeader(
    const X25519Recipient& epoch_recipient) {
  const AgeRecipient* recipients[] = {&epoch_recipient};
  return AgePreparedHeader::Create(recipients);
}

absl::StatusOr<std::unique_ptr<RecordWriter>> RecordWriter::Create(
    const X25519Recipient& epoch_recipient,
    const tvault::v1::RecordMetadata& meta, uint64_t body_length,
    const SigningKey& signer, ByteSink& out, StreamOptions stream) {
  absl::StatusOr<AgePreparedHeader> prepared = PrepareHeader(epoch_recipient);
  if (!prepared.ok()) return prepared.status();
  return Create(*prepared, meta, body_length, signer, out, stream);
}

absl::StatusOr<std::unique_ptr<RecordWriter>> RecordWriter::Create(
    const AgePreparedHeader& prepared, const tvault::v1::RecordMetadata& meta,
    uint64_t body_length, const SigningKey& signer, ByteSink& out,
    StreamOptions stream) {
  if (absl::Status s = CheckRecordStanzas(prepared.stanzas()); !s.ok()) {
    return s;
  }
  if (absl::Status s = CheckSignPublicKey(signer.public_key()); !s.ok()) {
    return s;
  }
  if (meta.submitter().sign_pk() != Hex(signer.public_key())) {
    return absl::InvalidArgumentError(
        "metadata submitter.sign_pk is not the signing key's public key");
  }
  if (body_length > kMaxRecordBodyLength) {
    return absl::InvalidArgumentError("record body is too large");
  }
  absl::StatusOr<std::string> json = PrintRecordMetadata(meta);
  if (!json.ok()) return json.status();

  auto w = std::unique_ptr<RecordWriter>(new RecordWriter());
  absl::StatusOr<std::unique_ptr<AgeEncryptor>> age = AgeEncryptor::Create(
      prepared, out, AgeEncryptOptions{.armor = false, .stream = stream});
  if (!age.ok()) return age.status();
  w->age_ = *std::move(age);
  w->signer_ = &signer;
  w->body_length_ = body_length;
  const uint64_t unpadded =
      kRecordHeaderSize + json->size() + body_length + kRecordTrailerSize;
  w->padded_length_ = RecordPaddedLength(unpadded);
  w->padding_ = w->padded_length_ - unpadded;
  crypto_generichash_init(&w->hash_, nullptr, 0, kHashSize);

  std::array<uint8_t, kRecordHeaderSize> header{};
  std::copy(std::begin(kRecordMagic), std::end(kRecordMagic), header.begin());
  PutBigEndian(json->size(), 4, header.data() + 4);
  PutBigEndian(body_length, 8, header.data() + 8);
  if (absl::Status s = w->Emit(header); !s.ok()) return s;
  if (absl::Status s = w->Emit(AsBytes(*json)); !s.ok()) return s;
  return w;
}

absl::Status RecordWriter::Emit(absl::Span<const uint8_t> bytes) {
  crypto_generichash_update(&hash_, bytes.data(), bytes.size());
  return age_->Write(bytes);
}

absl::Status RecordWriter::Write(absl::Span<const uint8_t> body) {
  if (body.size() > body_length_ - body_written_) {
    return absl::OutOfRangeError(
        "more body bytes than the record was created for");
  }
  body_written_ += body.size();
  return Emit(body);
}

absl::Status RecordWriter::Finish() {
  if (body_written_ != body_length_) {
    return absl::FailedPreconditionError(
        absl::StrCat("record body is incomplete: ", body_written_, " of ",
                     body_length_, " bytes written"));
  }
  static constexpr std::array<uint8_t, 65536> kZeros{};
  for (uint64_t left = padding_; left > 0;) {
    const size_t n =
        static_cast<size_t>(std::min<uint64_t>(left, kZeros.size()));
    if (absl::Status s = Emit({kZeros.data(), n}); !s.ok()) return s;
    left -= n;
  }
  if (absl::Status s = Emit(signer_->public_key()); !s.ok()) return s;
  std::array<uint8_t, kHashSize> digest{};
  crypto_generichash_final(&hash_, digest.data(), digest.size());
  const Signature sig =
      signer_->Sign(StatementTag(StatementType::kRecord), digest);
  if (absl::Status s = age_->Write(sig); !s.ok()) return s;
  return age_->Finish();
}

// ---------------------------------------------------------------- reader

// Parses the decrypted container as it streams by, forwarding the body to
// `body_out`. Without a `body_out`, it stops at the end of the metadata and
// ignores what follows.
class RecordReader::Parser final : public ByteSink {
 public:
  explicit Parser(ByteSink* body_out) : body_out_(body_out) {
    crypto_generichash_init(&hash_, nullptr, 0, kHashSize);
  }

  absl::Status Write(absl::Span<const uint8_t> data) override {
    while (!data.empty() && error_.ok()) {
      if (body_out_ == nullptr && has_metadata()) break;
      absl::StatusOr<size_t> n = Consume(data);
      if (!n.ok()) {
        error_ = n.status();
      } else {
        data.remove_prefix(*n);
      }
    }
    return error_;
  }

  // The first container error (DecryptTo may report a later chunk's
  // failure in its place).
  const absl::Status& error() const { return error_; }
  bool has_metadata() const { return state_ > State::kMeta; }

  // The container ended: it must have ended exactly after the signature.
  absl::Status End() const {
    if (state_ != State::kDone) {
      return Malformed("the record is shorter than its stated length");
    }
    return absl::OkStatus();
  }

  const std::string& meta_json() const { return meta_; }
  uint64_t body_length() const { return body_length_; }
  const std::array<uint8_t, kHashSize>& digest() const { return digest_; }
  absl::Span<const uint8_t> signer_pk() const {
    return absl::MakeConstSpan(trailer_).subspan(0, 32);
  }
  absl::Span<const uint8_t> signature() const {
    return absl::MakeConstSpan(trailer_).subspan(32, 64);
  }

 private:
  enum class State { kHeader, kMeta, kBody, kPadding, kTrailer, kDone };

  absl::StatusOr<size_t> Consume(absl::Span<const uint8_t> data) {
    switch (state_) {
      case State::kHeader: {
        const size_t n = Take(data, header_, header_len_);
        if (header_len_ == header_.size()) {
          if (absl::Status s = ParseHeader(); !s.ok()) return s;
        }
        return n;
      }
      case State::kMeta: {
        const size_t n = static_cast<size_t>(
            std::min<uint64_t>(data.size(), meta_len_ - meta_.size()));
        Hash(data.subspan(0, n));
        meta_.append(reinterpret_cast<const char*>(data.data()), n);
        if (meta_.size() == meta_len_) Next();
        return n;
      }
      case State::kBody: {
        const size_t n =
            static_cast<size_t>(std::min<uint64_t>(data.size(), left_));
        Hash(data.subspan(0, n));
        if (absl::Status s = body_out_->Write(data.subspan(0, n)); !s.ok()) {
          return s;
        }
        left_ -= n;
        if (left_ == 0) Next();
        return n;
      }
      case State::kPadding: {
        const size_t n =
            static_cast<size_t>(std::min<uint64_t>(data.size(), left_));
        uint8_t any = 0;
        for (size_t i = 0; i < n; ++i) any |= data[i];
        if (any != 0) return Malformed("the padding is not all zero");
        Hash(data.subspan(0, n));
        left_ -= n;
        if (left_ == 0) Next();
        return n;
      }
      case State::kTrailer: {
        const size_t before = trailer_len_;
        const size_t n = Take(data, trailer_, trailer_len_);
        // The signer key is signed; the signature is not.
        if (before < 32)
          Hash(data.subspan(0, std::min<size_t>(n, 32 - before)));
        if (trailer_len_ == trailer_.size()) {
          crypto_generichash_final(&hash_, digest_.data(), digest_.size());
          state_ = State::kDone;
        }
        return n;
      }
      case State::kDone:
        return Malformed(
            "data follows the signature (the record is longer "
            "than its stated length)");
    }
    return Malformed("internal state");
  }

  template <size_t N>
  size_t Take(absl::Span<const uint8_t> data, std::array<uint8_t, N>& buf,
              size_t& len) {
    const size_t n = std::min(data.size(), N - len);
    std::copy_n(data.data(), n, buf.data() + len);
    len += n;
    return n;
  }

  absl::Status ParseHeader() {
    Hash(header_);
    if (!std::equal(std::begin(kRecordMagic), std::end(kRecordMagic),
                    header_.begin())) {
      return Malformed("not a Testimony Vault record (bad magic)");
    }
    meta_len_ = GetBigEndian(header_.data() + 4, 4);
    body_length_ = GetBigEndian(header_.data() + 8, 8);
    if (meta_len_ < 1 || meta_len_ > kMaxMetadataSize) {
      return Malformed("metadata length out of range");
    }
    if (body_length_ > kMaxRecordBodyLength) {
      return Malformed("body length out of range");
    }
    const uint64_t unpadded =
        kRecordHeaderSize + meta_len_ + body_length_ + kRecordTrailerSize;
    padding_ = RecordPaddedLength(unpadded) - unpadded;
    Next();
    return absl::OkStatus();
  }

  void Next() {
    switch (state_) {
      case State::kHeader:
        state_ = State::kMeta;
        break;
      case State::kMeta:
        state_ = State::kBody;
        left_ = body_length_;
        break;
      case State::kBody:
        state_ = State::kPadding;
        left_ = padding_;
        break;
      default:
        state_ = State::kTrailer;
        break;
    }
    // Empty sections are skipped at once.
    if (state_ == State::kBody && left_ == 0)
      Next();
    else if (state_ == State::kPadding && left_ == 0)
      state_ = State::kTrailer;
  }

  void Hash(absl::Span<const uint8_t> b) {
    crypto_generichash_update(&hash_, b.data(), b.size());
  }

  ByteSink* body_out_;
  State state_ = State::kHeader;
  absl::Status error_;
  std::array<uint8_t, kRecordHeaderSize> header_{};
  size_t header_len_ = 0;
  uint64_t meta_len_ = 0;
  std::string meta_;
  uint64_t body_length_ = 0;
  uint64_t padding_ = 0;
  uint64_t left_ = 0;
  std::array<uint8_t, kRecordTrailerSize> trailer_{};
  size_t trailer_len_ = 0;
  crypto_generichash_state hash_;
  std::array<uint8_t, kHashSize> digest_{};
};

RecordReader::~RecordReader() = default;

absl::StatusOr<std::unique_ptr<RecordReader>> RecordReader::Open(
    ByteSource& ciphertext, const X25519Identity& epoch_identity,
    StreamOptions stream) {
  auto r = std::unique_ptr<RecordReader>(new RecordReader());
  r->hashing_ = std::make_unique<HashingSource>(ciphertext);
  absl::StatusOr<std::unique_ptr<AgeDecryptor>> age =
      OpenRecordAge(*r->hashing_, epoch_identity, stream);
  if (!age.ok()) return age.status();
  r->age_ = *std::move(age);
  r->recipient_ = epoch_identity.recipient().Encode();
  return r;
}

absl::Status RecordReader::Read(ByteSink& body_out) {
  parser_ = std::make_unique<Parser>(&body_out);
  read_status_ = age_->DecryptTo(*parser_);
  if (read_status_.ok()) read_status_ = parser_->End();
  if (read_status_.ok()) {
    ciphertext_sha256_ = static_cast<HashingSource&>(*hashing_).Digest();
  }
  return read_status_;
}

absl::StatusOr<VerifiedRecord> RecordReader::Finish(
    const RecordExpectations& expect) {
  if (!read_status_.ok()) return read_status_;
  VerifiedRecord out;
  out.ciphertext_sha256 = ciphertext_sha256_;
  out.body_length = parser_->body_length();

  // 1. The container is signed by the key it names.
  if (absl::Status s = VerifySignature(StatementTag(StatementType::kRecord),
                                       parser_->digest(), parser_->signature(),
                                       parser_->signer_pk());
      !s.ok()) {
    return absl::DataLossError(absl::StrCat(
        "record signature does not verify: the record was altered or is "
        "not what its signer wrote (",
        s.message(), ")"));
  }
  std::copy(parser_->signer_pk().begin(), parser_->signer_pk().end(),
            out.signer.begin());

  // 2. Its metadata parses strictly and names what was asked for.
  absl::StatusOr<tvault::v1::RecordMetadata> meta =
      ParseContainerMetadata(parser_->meta_json());
  if (!meta.ok()) return meta.status();
  out.metadata = *std::move(meta);
  const tvault::v1::RecordMetadata& m = out.metadata;
  if (m.case_id() != Hex(expect.case_id)) {
    return absl::FailedPreconditionError(
        "record belongs to a different case than expected");
  }
  if (m.record_id() != Hex(expect.record_id)) {
    return absl::FailedPreconditionError(
        "record id inside the record differs from the one requested");
  }
  if (m.epoch() != expect.descriptor.epoch()) {
    return absl::FailedPreconditionError(
        absl::StrCat("record says epoch ", m.epoch(), ", expected ",
                     expect.descriptor.epoch()));
  }
  if (recipient_ != expect.descriptor.recipient()) {
    return absl::FailedPreconditionError(
        "record is not encrypted to its epoch's recipient");
  }
  if (!ConstantTimeEquals(expect.ciphertext_sha256, out.ciphertext_sha256)) {
    return absl::FailedPreconditionError(
        "ciphertext differs from the one in the transparency log entry");
  }
  if (m.submitter().sign_pk() != Hex(out.signer)) {
    return absl::PermissionDeniedError(
        "record is signed by a different key than its metadata names");
  }

  // 3. The signer was entitled, judged at the log entry's time.
  out.uploaded_after_epoch_superseded =
      expect.current_epoch_at_log_time > m.epoch();
  if (!m.submitter().has_certificate()) {
    const RecordExpectations::LoggedInvite* invite = nullptr;
    for (const auto& candidate : expect.invites) {
      if (candidate.key == out.signer) invite = &candidate;
    }
    if (invite == nullptr) {
      return absl::PermissionDeniedError(
          "record is signed by neither an account nor an invite of this "
          "case");
    }
    int64_t end = invite->expires;
    if (invite->revoked_at) end = std::min(end, *invite->revoked_at);
    const int64_t at = std::max(expect.log_time, invite->registered_at);
    if (at - expect.log_time >=
            std::max<int64_t>(expect.log_time_precision, 1) ||
        at >= end) {
      return absl::PermissionDeniedError(
          "record was logged when its invite was not live (before it was "
          "registered, after it expired, or after it was revoked)");
    }
    if (invite->epoch != m.epoch()) {
      return absl::PermissionDeniedError(
          "record's invite was issued for another epoch of the case");
    }
    out.via_invite = true;
    return out;
  }
  absl::StatusOr<VerifiedCertificate> cert =
      VerifyCertificate(m.submitter().certificate(), expect.org_pk);
  if (!cert.ok()) {
    return absl::PermissionDeniedError(absl::StrCat(
        "signer's certificate is not valid: ", cert.status().message()));
  }
  if (!ConstantTimeEquals(AsBytes(cert->body.sign_pk()), out.signer)) {
    return absl::PermissionDeniedError(
        "signer's certificate is for a different key");
  }
  auto listed = [&](const auto& list) {
    return std::any_of(list.begin(), list.end(), [&](const std::string& fp) {
      return AsBytes(fp) == absl::MakeConstSpan(cert->fingerprint);
    });
  };
  tvault::v1::Role role;
  if (listed(expect.descriptor.contributors())) {
    role = tvault::v1::CONTRIBUTOR;
  } else if (listed(expect.descriptor.members()) ||
             listed(expect.descriptor.owners())) {
    role = tvault::v1::REVIEWER;
  } else {
    return absl::PermissionDeniedError(absl::StrCat(
        "signer is not listed in epoch ", m.epoch(), " of this case"));
  }
  // The earliest moment of the log-time window at which the certificate
  // was valid, if the window reaches it.
  int64_t at = std::max(expect.log_time, cert->body.not_before());
  if (at - expect.log_time >= std::max<int64_t>(expect.log_time_precision, 1)) {
    at = expect.log_time;  // outside the window: judged (and refused) here
  }
  if (absl::Status s =
          CheckCertificateValidFor(*cert, role, at, expect.revocations);
      !s.ok()) {
    return absl::PermissionDeniedError(
        absl::StrCat("signer was not entitled: ", s.message()));
  }
  out.signer_certificate = cert->fingerprint;
  return out;
}

// ---------------------------------------------------------------- peek

absl::StatusOr<tvault::v1::RecordMetadata> PeekRecordMetadata(
    ByteSource& ciphertext_prefix, const X25519Identity& epoch_identity) {
  PrefixSource prefix(ciphertext_prefix, kRecordMetadataPrefixSize);
  // Two chunks at most: no worker threads.
  absl::StatusOr<std::unique_ptr<AgeDecryptor>> age =
      OpenRecordAge(prefix, epoch_identity, StreamOptions{.threads = 1});
  if (!age.ok()) return age.status();
  RecordReader::Parser parser(/*body_out=*/nullptr);
  // The stream fails where the prefix ends; it released only the chunks
  // before that point, each after its tag verified.
  const absl::Status s = (*age)->DecryptTo(parser);
  if (!parser.error().ok()) return parser.error();
  if (!parser.has_metadata()) {
    if (s.ok()) return Malformed("the record ends inside its metadata");
    if (GetAgeErrorKind(s) != AgeErrorKind::kPayload) return s;
    return AgeError(
        AgeErrorKind::kPayload,
        absl::StrCat("cannot read the record's metadata: the ciphertext ends, "
                     "or fails to verify, before the metadata is complete (",
                     s.message(), ")"));
  }
  return ParseContainerMetadata(parser.meta_json());
}

}  // namespace tvault::crypto
