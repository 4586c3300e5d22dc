// The record container (DESIGN.md §6): the plaintext of a record's age file.
//
//   "TVR1" | meta_len u32 BE | body_len u64 BE | meta (JSON) | body |
//   zero padding | signer_pk (32) | signature (64)
//
// The padded length is max(Padmé(L), 64 KiB) with L = 16 + meta_len +
// body_len + 96. The signature is Ed25519 over
//   "tvault/v1/record" || 0x00 || BLAKE2b-512(every byte from "TVR1"
//   through signer_pk).
// The whole is age-encrypted under the record profile: binary, exactly one
// X25519 stanza, to the recipient of the epoch's descriptor. FORMAT.md has
// the byte-level description.
//
// Security properties
// - The signature binds the metadata (case, record id, epoch, who signed)
//   and the body; it covers the plaintext, not the age header, so a record
//   re-encrypted for export keeps it.
// - The submitter holds no stanza: it cannot decrypt what it sent.
// - Until RecordReader::Finish returns OK, every byte read is provisional:
//   the body may be truncated, the signature may not verify, the signer may
//   not be entitled. Callers must discard provisional output on failure.
// - What is not hidden: the padded length (Padmé leaks about log log L
//   bits), and, to the vault, the epoch's recipient.
//
// PeekRecordMetadata reads the metadata alone, from a prefix of the
// ciphertext, UNVERIFIED: for display, never for decisions.
//
// Thread safety: one thread per writer or reader.
#ifndef TVAULT_CRYPTO_RECORD_H_
#define TVAULT_CRYPTO_RECORD_H_

#include <sodium.h>

#include <array>
#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "crypto/age.h"
#include "crypto/io.h"
#include "crypto/statement.h"
#include "proto/records.pb.h"

namespace tvault::crypto {

inline constexpr char kRecordMagic[4] = {'T', 'V', 'R', '1'};
inline constexpr size_t kRecordHeaderSize = 16;
inline constexpr size_t kRecordTrailerSize = 32 + 64;
// Far above any configured vault limit (default 4 GiB); keeps every length
// computation clear of overflow.
inline constexpr uint64_t kMaxRecordBodyLength = uint64_t{1} << 40;
// A record's age header (version line, its one X25519 stanza, MAC line) is
// 168 bytes; record readers refuse a longer one before reading further.
inline constexpr size_t kRecordMaxAgeHeaderSize = 256;
// Ciphertext bytes from the start of a record that always suffice for
// PeekRecordMetadata: the age header and nonce, then the two payload chunks
// that hold the container header and the largest metadata (16 + 65536
// plaintext bytes). A client downloads this prefix, not the record.
inline constexpr size_t kRecordMetadataPrefixSize =
    kRecordMaxAgeHeaderSize + kAgeNonceSize + 2 * (kAgeChunkSize + kAgeTagSize);

class RecordWriter {
 public:
  // Draws the age header of one record for `epoch_recipient` (the record
  // profile: one X25519 stanza). See AgePreparedHeader for its one rule.
  static absl::StatusOr<AgePreparedHeader> PrepareHeader(
      const X25519Recipient& epoch_recipient);

  // Starts a record of exactly `body_length` bytes for `epoch_recipient`,
  // signed by `signer` (whose public key must equal
  // meta.submitter.sign_pk). Writes the age header to `out` at once: a
  // fresh one, as PrepareHeader and then the Create below.
  // InvalidArgument for metadata that breaks the writer rules or a signer
  // mismatch. `signer` and `out` must outlive the writer.
  static absl::StatusOr<std::unique_ptr<RecordWriter>> Create(
      const X25519Recipient& epoch_recipient,
      const tvault::v1::RecordMetadata& meta, uint64_t body_length,
      const SigningKey& signer, ByteSink& out, StreamOptions stream = {});
  // As above, under a header from PrepareHeader. Ed25519 is deterministic,
  // so writers from one `prepared` given the same metadata, body and signer
  // write identical bytes: one pass can hash the record and a second send
  // it. Never give one `prepared` a different metadata or body (keystream
  // reuse). InvalidArgument also if `prepared` breaks the record profile.
  // `prepared` may be dropped once this returns.
  static absl::StatusOr<std::unique_ptr<RecordWriter>> Create(
      const AgePreparedHeader& prepared, const tvault::v1::RecordMetadata& meta,
      uint64_t body_length, const SigningKey& signer, ByteSink& out,
      StreamOptions stream = {});

  // Body bytes, in order. OutOfRange past body_length.
  absl::Status Write(absl::Span<const uint8_t> body);
  // Mandatory: checks the body was complete, writes padding, signer key and
  // signature, and the final age chunk. Without it the output is invalid.
  absl::Status Finish();

  uint64_t padded_length() const { return padded_length_; }

 private:
  RecordWriter() = default;
  absl::Status Emit(absl::Span<const uint8_t> bytes);  // hash + encrypt

  std::unique_ptr<AgeEncryptor> age_;
  const SigningKey* signer_ = nullptr;
  crypto_generichash_state hash_;  // BLAKE2b-512 over the signed bytes
  uint64_t body_length_ = 0;
  uint64_t body_written_ = 0;
  uint64_t padding_ = 0;
  uint64_t padded_length_ = 0;
};

// What the reader must find; the caller takes these from the request, the
// verified case descriptor and the log (DESIGN.md §6, "Reading").
struct RecordExpectations {
  std::array<uint8_t, 16> case_id{};
  std::array<uint8_t, 16> record_id{};
  // The verified descriptor of the record's epoch: gives the epoch, its
  // recipient (the record profile), and who may sign (contributors need
  // the contributor role, members and owners the reviewer role).
  tvault::v1::CaseDescriptor descriptor;
  // The log entry's SHA-256 of the ciphertext (required: a record is only
  // verified against the entry that logged it), and the entry's time.
  Sha256 ciphertext_sha256{};
  int64_t log_time = 0;
  // RecordAdded entries carry the server time rounded down to the hour
  // (DESIGN.md §9): the record was logged at some moment of
  // [log_time, log_time + log_time_precision). Time checks accept it if
  // some moment of that window passes them (the earliest moment at or
  // after not_before / registered_at), so a record logged in the hour its
  // signer's certificate or invite began is not refused, while one logged
  // wholly after an expiry or revocation still is. 1 means exact.
  int64_t log_time_precision = 1;
  // The organisation root key and the (verified) revocations known.
  SignPublicKey org_pk{};
  std::vector<tvault::v1::Revocation> revocations;
  // The invites registered for this case in the log. An invite signer is
  // accepted only if the record was logged while its invite was live:
  // registered_at <= t < min(expires, revoked_at) for some t of the
  // log-time window, same epoch.
  struct LoggedInvite {
    SignPublicKey key{};
    uint32_t epoch = 0;
    int64_t registered_at = 0;
    int64_t expires = 0;
    std::optional<int64_t> revoked_at;
  };
  std::vector<LoggedInvite> invites;
  // The highest epoch of the case when the record was logged: a record
  // logged after its epoch was superseded is flagged.
  uint32_t current_epoch_at_log_time = 0;
};

struct VerifiedRecord {
  tvault::v1::RecordMetadata metadata;
  uint64_t body_length = 0;
  SignPublicKey signer{};
  // Set for account signers; unset for invite signers.
  std::optional<Fingerprint> signer_certificate;
  bool via_invite = false;
  // A removed member may have been able to read it (DESIGN.md §6).
  bool uploaded_after_epoch_superseded = false;
  Sha256 ciphertext_sha256{};
};

class RecordReader {
 public:
  // Reads the age header and checks the record profile (binary, exactly one
  // stanza, X25519), unwraps it with the epoch identity. Errors: the age
  // error kinds, or InvalidArgument for a profile violation.
  static absl::StatusOr<std::unique_ptr<RecordReader>> Open(
      ByteSource& ciphertext, const X25519Identity& epoch_identity,
      StreamOptions stream = {});
  ~RecordReader();

  // Decrypts and parses the whole record, streaming the body to `body_out`
  // as it verifies chunk by chunk. The body is PROVISIONAL until Finish.
  // DataLoss for a container that is malformed, truncated or padded wrongly.
  absl::Status Read(ByteSink& body_out);

  // Checks every binding of DESIGN.md §6 that needs no network. Returns the
  // verified record, or: DataLoss (signature), FailedPrecondition (not the
  // case, record, epoch or ciphertext expected), PermissionDenied (signer
  // not entitled: certificate forged, expired, revoked, without the role,
  // not listed; or an unknown invite key).
  absl::StatusOr<VerifiedRecord> Finish(const RecordExpectations& expect);

  class Parser;

 private:
  RecordReader() = default;
  std::unique_ptr<ByteSource> hashing_;
  std::unique_ptr<AgeDecryptor> age_;
  std::unique_ptr<Parser> parser_;
  std::string recipient_;
  absl::Status read_status_ = absl::FailedPreconditionError("Read not called");
  Sha256 ciphertext_sha256_{};  // computed once, when Read has consumed all
};

// Decrypts just enough of a record's age file, from its start, to parse its
// metadata: at most kRecordMetadataPrefixSize bytes are read, and a prefix
// ending anywhere after the metadata's last chunk will do. Applies the
// record profile and the strict metadata parsing of RecordReader, and uses
// only chunks whose tag verified.
//
// UNVERIFIED: the signature is at the end of the record and is not checked,
// nor are the case, record id, epoch or signer. Anyone who holds the
// epoch's recipient can make a file that peeks as any metadata. For display
// only (listing titles), never for decisions.
//
// Errors: those of RecordReader::Open; AgeErrorKind::kPayload if the
// ciphertext ends, or fails to verify, before the metadata is complete;
// DataLoss for a container whose magic or lengths are wrong, a record that
// ends inside its metadata, or metadata that does not parse.
absl::StatusOr<tvault::v1::RecordMetadata> PeekRecordMetadata(
    ByteSource& ciphertext_prefix, const X25519Identity& epoch_identity);

}  // namespace tvault::crypto

#endif  // TVAULT_CRYPTO_RECORD_H_
