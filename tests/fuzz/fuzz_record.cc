// Fuzz target: records (DESIGN.md §6) as RecordReader and
// PeekRecordMetadata see them, for the world's case (fuzz_world.h).
//
// The container is inside the encryption, so the harness encrypts it
// itself to the world's epoch key; the input says what to encrypt. Input:
// mode byte, then
//   mode 0 (signed)   signer byte, knobs byte, body_len delta (signed
//                     byte), padding delta (signed byte), padding byte,
//                     the metadata JSON (2-byte length), the body (rest):
//                     a container laid out with those lengths and padding,
//                     then SIGNED over exactly those bytes by the chosen
//                     key of the world, so the reader gets past the
//                     signature to the metadata rules and the bindings;
//   mode 1 (raw)      the rest is the container plaintext as it is;
//   mode 2 (file)     the rest is the age file itself (outer framing: the
//                     record profile, the header, the payload);
//   mode 3 (tampered) a tampering operation (kind, 4-byte position,
//                     value), then as mode 0: the signed container is
//                     encrypted, the ciphertext changed, and read.
//
// Invariants:
// - a record that verifies yields exactly the body, metadata and signer
//   that were put in; its lengths and padding were the correct ones;
// - PeekRecordMetadata of a verified record gives its metadata, and of any
//   prefix either an error or that same metadata;
// - the RecordWriter, given metadata and a body the reader accepted, writes
//   a record that the reader accepts with the same metadata;
// - a changed ciphertext never verifies (the log entry's hash binds it).
#include <cstddef>
#include <cstdint>
#include <memory>
#include <string>

#include "absl/strings/escaping.h"
#include "absl/strings/match.h"
#include "crypto/io.h"
#include "crypto/padme.h"
#include "crypto/record.h"
#include "crypto/record_metadata.h"
#include "google/protobuf/util/message_differencer.h"
#include "tests/fuzz/fuzz_check.h"
#include "tests/fuzz/fuzz_random.h"
#include "tests/fuzz/fuzz_world.h"

namespace tvault::fuzz {
namespace {

using crypto::AsBytes;
using google::protobuf::util::MessageDifferencer;

struct ReadResult {
  absl::StatusOr<crypto::VerifiedRecord> record =
      absl::UnknownError("not read");
  std::string body;
};

ReadResult ReadRecord(absl::string_view ciphertext,
                      const crypto::RecordExpectations& expect) {
  const World& w = World::Get();
  ReadResult r;
  crypto::MemorySource src(ciphertext);
  absl::StatusOr<std::unique_ptr<crypto::RecordReader>> reader =
      crypto::RecordReader::Open(src, w.epoch0, {.threads = 1});
  if (!reader.ok()) {
    Trace("open", reader.status());
    r.record = reader.status();
    return r;
  }
  crypto::VectorSink body;
  const absl::Status read = (*reader)->Read(body);
  r.body = Str(body.bytes());
  r.record = (*reader)->Finish(expect);
  Trace("read", read);
  Trace("finish", r.record.status());
  if (!read.ok()) FUZZ_CHECK(!r.record.ok());
  return r;
}

absl::StatusOr<tvault::v1::RecordMetadata> Peek(absl::string_view prefix) {
  crypto::MemorySource src(prefix);
  return crypto::PeekRecordMetadata(src, World::Get().epoch0);
}

// Checks what holds of every verified record.
void CheckVerified(const crypto::VerifiedRecord& v, absl::string_view body,
                   absl::string_view ciphertext) {
  FUZZ_CHECK(v.body_length == body.size());
  FUZZ_CHECK(v.ciphertext_sha256 == crypto::ComputeSha256(AsBytes(ciphertext)));
  FUZZ_CHECK(v.metadata.submitter().sign_pk() ==
             absl::BytesToHexString(crypto::AsString(v.signer)));
  FUZZ_CHECK(v.via_invite != v.signer_certificate.has_value());
  absl::StatusOr<tvault::v1::RecordMetadata> peeked = Peek(ciphertext);
  FUZZ_CHECK_OK(peeked.status());
  FUZZ_CHECK(MessageDifferencer::Equals(*peeked, v.metadata));
  // Any prefix: an error, or the same metadata.
  const size_t cut = body.size() % (ciphertext.size() + 1);
  absl::StatusOr<tvault::v1::RecordMetadata> partial =
      Peek(ciphertext.substr(0, cut));
  if (partial.ok())
    FUZZ_CHECK(MessageDifferencer::Equals(*partial, v.metadata));
}

// The writer, given what the reader accepted, must agree with it.
void CheckWriterAgrees(const crypto::VerifiedRecord& v, absl::string_view body,
                       const crypto::SigningKey& signer) {
  crypto::VectorSink sink;
  absl::StatusOr<std::unique_ptr<crypto::RecordWriter>> writer =
      crypto::RecordWriter::Create(World::Get().epoch0.recipient(), v.metadata,
                                   body.size(), signer, sink, {.threads = 1});
  // The reader takes any formatting of at most 64 KiB; protobuf's printer
  // may need more for the same metadata (escapes).
  if (!writer.ok() &&
      absl::StrContains(writer.status().message(), "larger than 64 KiB")) {
    return;
  }
  FUZZ_CHECK_OK(writer.status());
  FUZZ_CHECK_OK((*writer)->Write(AsBytes(body)));
  FUZZ_CHECK_OK((*writer)->Finish());
  const std::string ct = Str(sink.bytes());
  const World& w = World::Get();
  ReadResult again = ReadRecord(ct, w.Expect(w.record_id, ct));
  FUZZ_CHECK_OK(again.record.status());
  FUZZ_CHECK(again.body == body);
  FUZZ_CHECK(MessageDifferencer::Equals(again.record->metadata, v.metadata));
}

struct Signed {
  ContainerParts parts;
  const crypto::SigningKey* signer;
};

Signed ReadSigned(ByteReader& in) {
  const World& w = World::Get();
  Signed s;
  s.signer = &w.Key(static_cast<WorldKey>(
      (in.Byte() + 2) % kWorldKeyCount));  // 0: the contributor
  const uint8_t knobs = in.Byte();
  if (knobs & 1) s.parts.magic = "TVR2";
  if (knobs & 2) s.parts.tag = "tvault/v1/auth";
  s.parts.body_len_delta = static_cast<int8_t>(in.Byte());
  s.parts.padding_delta = static_cast<int8_t>(in.Byte());
  s.parts.padding_byte = in.Byte();
  s.parts.meta = std::string(in.Field());
  s.parts.body = std::string(in.Rest());
  return s;
}

uint64_t BigEndian(absl::string_view bytes) {
  uint64_t v = 0;
  for (char c : bytes) v = v << 8 | static_cast<uint8_t>(c);
  return v;
}

// An independent reading of the layout of a container the reader accepted:
// the lengths, the body, the padding and the signer are where DESIGN.md §6
// puts them, and the metadata is what the strict parser makes of the JSON.
void CheckLayout(absl::string_view container, const crypto::VerifiedRecord& v,
                 absl::string_view body) {
  FUZZ_CHECK(container.size() >=
             crypto::kRecordHeaderSize + crypto::kRecordTrailerSize);
  FUZZ_CHECK(container.substr(0, 4) == "TVR1");
  const uint64_t meta_len = BigEndian(container.substr(4, 4));
  const uint64_t body_len = BigEndian(container.substr(8, 8));
  FUZZ_CHECK(meta_len >= 1 && meta_len <= crypto::kMaxMetadataSize);
  FUZZ_CHECK(body_len == v.body_length);
  const uint64_t l = 16 + meta_len + body_len + 96;
  FUZZ_CHECK(container.size() == crypto::RecordPaddedLength(l));
  absl::StatusOr<tvault::v1::RecordMetadata> parsed =
      crypto::ParseRecordMetadata(container.substr(16, meta_len));
  FUZZ_CHECK_OK(parsed.status());
  FUZZ_CHECK(MessageDifferencer::Equals(*parsed, v.metadata));
  FUZZ_CHECK(container.substr(16 + meta_len, body_len) == body);
  const size_t padding_end = container.size() - 96;
  for (size_t i = 16 + meta_len + body_len; i < padding_end; ++i) {
    FUZZ_CHECK(container[i] == 0);
  }
  FUZZ_CHECK(container.substr(padding_end, 32) == crypto::AsString(v.signer));
}

void SignedMode(ByteReader& in) {
  const World& w = World::Get();
  const Signed s = ReadSigned(in);
  const std::string container = SignContainer(s.parts, *s.signer);
  const std::string ct = EncryptTo(w.epoch0.recipient(), container);
  ReadResult r = ReadRecord(ct, w.Expect(w.record_id, ct));
  if (!r.record.ok()) return;
  FUZZ_CHECK(s.parts.magic == "TVR1" && s.parts.tag == "tvault/v1/record");
  FUZZ_CHECK(r.record->signer == s.signer->public_key());
  CheckLayout(container, *r.record, r.body);
  CheckVerified(*r.record, r.body, ct);
  CheckWriterAgrees(*r.record, r.body, *s.signer);
}

void RawMode(absl::string_view container) {
  const World& w = World::Get();
  const std::string ct = EncryptTo(w.epoch0.recipient(), container);
  ReadResult r = ReadRecord(ct, w.Expect(w.record_id, ct));
  if (!r.record.ok()) return;
  CheckLayout(container, *r.record, r.body);
  CheckVerified(*r.record, r.body, ct);
}

void FileMode(absl::string_view file) {
  const World& w = World::Get();
  ReadResult r = ReadRecord(file, w.Expect(w.record_id, file));
  (void)Peek(file);
  if (!r.record.ok()) return;
  CheckVerified(*r.record, r.body, file);
}

void TamperedMode(ByteReader& in) {
  const World& w = World::Get();
  const uint8_t kind = in.Byte();
  const uint32_t pos = in.U32();
  const uint8_t value = in.Byte();
  const Signed s = ReadSigned(in);
  const std::string ct =
      EncryptTo(w.epoch0.recipient(), SignContainer(s.parts, *s.signer));
  std::string changed = ct;
  const size_t at = pos % ct.size();
  switch (kind % 3) {
    case 0:
      changed[at] = static_cast<char>(changed[at] ^ (value | 1));
      break;
    case 1:
      changed.resize(at);
      break;
    case 2:
      changed.insert(at, 1, static_cast<char>(value));
      break;
  }
  const crypto::RecordExpectations expect = w.Expect(w.record_id, ct);
  ReadResult r = ReadRecord(changed, expect);
  FUZZ_CHECK(!r.record.ok());
  ReadResult original = ReadRecord(ct, expect);
  if (!original.record.ok()) return;
  absl::StatusOr<tvault::v1::RecordMetadata> peeked = Peek(changed);
  // A prefix, or a change after the metadata's chunks, still peeks; it
  // never peeks as other metadata.
  if (peeked.ok()) {
    FUZZ_CHECK(MessageDifferencer::Equals(*peeked, original.record->metadata));
  }
}

}  // namespace
}  // namespace tvault::fuzz

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  using namespace tvault::fuzz;
  // The encryption's ephemeral key and nonce: the same every run (the
  // world is made first, from its own fixed start).
  World::Get();
  ResetDeterministicRandom(size);
  ByteReader in(data, size);
  switch (in.Byte() % 4) {
    case 0:
      SignedMode(in);
      break;
    case 1:
      RawMode(in.Rest());
      break;
    case 2:
      FileMode(in.Rest());
      break;
    case 3:
      TamperedMode(in);
      break;
  }
  return 0;
}
