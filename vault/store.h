// The vault's store (DESIGN.md §8): one narrow interface over the database,
// so that the embedded SQLCipher backend (sqlcipher_store.h) can later be
// joined by a PostgreSQL one for deployments past one machine.
//
// Shape
// - All reads and writes happen inside Store::RunInTransaction, through the
//   StoreTransaction it hands to the callback. Everything the callback does
//   commits together or not at all: a state change and the transparency-log
//   entry that records it (DESIGN.md §9) are one commit.
// - Domain types are plain structs of fixed-size byte arrays, byte strings
//   and integers. No SQL crosses this interface. Signed statements are kept
//   as the exact serialised tvault.v1.SignedStatement bytes the server
//   received: the store never re-serialises them.
// - Times are Unix seconds chosen by the caller (the clock lives outside the
//   store, so tests can move it).
// - The store never sees a session token: only its SHA-256
//   (SessionTokenHash), so a seized database cannot be used to log in.
//
// Status codes used by every backend
// - AlreadyExists: a row with the same key (or the same unique value, such
//   as an account's sign_pk) is already stored; the statement had no effect
//   and the transaction may go on.
// - NotFound: no such row (or a challenge already used, or a session that
//   expired).
// - FailedPrecondition: a row refers to something that does not exist (a
//   descriptor or grant for an unknown case), or an expired challenge.
// - InvalidArgument: a value outside what the schema allows.
// - DataLoss: a stored row does not have the shape the schema promises.
// - Unavailable: the database stayed locked past the busy timeout.
// - Internal: anything else the database reports; the transaction is
//   rolled back whatever the callback returns.
// Messages are plain and carry no stored values (no keys, tokens or
// statement bytes).
#ifndef TVAULT_VAULT_STORE_H_
#define TVAULT_VAULT_STORE_H_

#include <array>
#include <cstdint>
#include <string>
#include <vector>

#include "absl/functional/function_ref.h"
#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "absl/types/span.h"
#include "crypto/statement.h"

namespace tvault::vault {

using CaseId = std::array<uint8_t, 16>;          // 16 random bytes
using ChallengeNonce = std::array<uint8_t, 32>;  // 32 random bytes

// SHA-256 of a 32-byte session token. The only form in which a token
// reaches the store; build it with Of() from the token the client sent.
struct SessionTokenHash {
  static SessionTokenHash Of(absl::Span<const uint8_t> token) {
    return SessionTokenHash{crypto::ComputeSha256(token)};
  }
  crypto::Sha256 bytes{};
  bool operator==(const SessionTokenHash&) const = default;
};

// A registered account: the root-signed certificate and what is looked up
// by (its cert fingerprint, its signing key).
struct AccountRow {
  crypto::Fingerprint cert_fingerprint{};
  crypto::SignPublicKey sign_pk{};  // unique among accounts
  std::string certificate;          // serialised SignedStatement (Certificate)
  int64_t registered_at = 0;
  bool operator==(const AccountRow&) const = default;
};

// A root-signed revocation. At most one per certificate; the certificate
// need not be registered (a lost key may be revoked before first use).
struct RevocationRow {
  crypto::Fingerprint cert_fingerprint{};
  std::string statement;  // serialised SignedStatement (Revocation)
  int64_t revoked_at = 0;
  bool operator==(const RevocationRow&) const = default;
};

struct CaseRow {
  CaseId case_id{};
  crypto::Sha256 genesis_hash{};  // hash of the epoch-0 descriptor
  bool operator==(const CaseRow&) const = default;
};

// One signed descriptor. Every distinct descriptor (by body hash) of one
// (case, epoch) is kept: two that differ are evidence of equivocation.
struct DescriptorRow {
  CaseId case_id{};
  uint32_t epoch = 0;
  crypto::Sha256 body_hash{};  // SHA-256 of the statement's body bytes
  std::string statement;       // serialised SignedStatement (CaseDescriptor)
  uint64_t log_index = 0;      // its DescriptorPublished log entry
  bool operator==(const DescriptorRow&) const = default;
};

// One member's grant of one epoch's identity. One per (case, epoch, member).
struct GrantRow {
  CaseId case_id{};
  uint32_t epoch = 0;
  crypto::Fingerprint member_fingerprint{};
  std::string statement;   // serialised SignedStatement (Grant)
  std::string ciphertext;  // the identity, age-encrypted to the member
  uint64_t log_index = 0;  // its GrantAdded log entry
  bool operator==(const GrantRow&) const = default;
};

// An authentication challenge the server issued. Single-use.
struct ChallengeRow {
  ChallengeNonce nonce{};
  int64_t expires_at = 0;
  bool operator==(const ChallengeRow&) const = default;
};

enum class SessionKind { kAccount, kInvite };

struct SessionRow {
  SessionTokenHash token_hash;
  crypto::SignPublicKey sign_pk{};  // the account key or the invite key
  SessionKind kind = SessionKind::kAccount;
  int64_t expires_at = 0;
  bool operator==(const SessionRow&) const = default;
};

// One transparency-log entry. Indices are contiguous from 0.
struct LogEntryRow {
  uint64_t index = 0;
  std::string entry;           // serialised LogEntry (issue 5)
  crypto::Sha256 leaf_hash{};  // SHA-256(0x00 || entry)
  bool operator==(const LogEntryRow&) const = default;
};

// The vault's latest signed checkpoint (DESIGN.md §9): the signed-note
// text and the tree size it commits to.
struct CheckpointRow {
  uint64_t tree_size = 0;
  std::string note;  // the signed note, as served to clients
  bool operator==(const CheckpointRow&) const = default;
};

using RecordId = std::array<uint8_t, 16>;  // chosen by the submitter

// An upload in progress (DESIGN.md §8): its ciphertext arrives in chunk
// rows (at most kMaxChunkBytes each) that stay invisible until the record
// row is written by the commit.
struct UploadRow {
  RecordId record_id{};
  CaseId case_id{};
  uint32_t epoch = 0;
  uint64_t total_size = 0;
  crypto::Sha256 sha256{};
  uint64_t held_bytes = 0;  // bytes stored so far, contiguous from 0
  // SHA-256 of the uploading key, only for per-caller limits; the row
  // goes at commit, so the vault keeps no trace of who uploaded.
  crypto::Sha256 uploader{};
  int64_t expires_at = 0;
  bool operator==(const UploadRow&) const = default;
};

// A visible record. Its ciphertext is in the chunk rows of its id.
struct RecordRow {
  RecordId record_id{};
  CaseId case_id{};
  uint32_t epoch = 0;
  uint64_t size = 0;
  crypto::Sha256 sha256{};
  int64_t added_at = 0;            // rounded down to the hour
  uint64_t log_index = 0;          // its RecordAdded entry
  std::string receipt_checkpoint;  // the signed note of its first receipt
  uint64_t receipt_tree_size = 0;
  bool operator==(const RecordRow&) const = default;
};

inline constexpr size_t kMaxChunkBytes = size_t{1} << 20;

// A registered invite (DESIGN.md §7): only its public key, case, epoch,
// expiry and uses; never who it was given to.
struct InviteRow {
  crypto::SignPublicKey invite_pk{};
  CaseId case_id{};
  uint32_t epoch = 0;
  int64_t expires = 0;
  uint32_t uses_left = 0;
  bool revoked = false;
  std::string statement;  // serialised SignedStatement (InviteStatement)
  bool operator==(const InviteRow&) const = default;
};

// An owner's request to delete a record, and its execution.
struct DeletionRow {
  RecordId record_id{};
  crypto::Sha256 request_sha256{};  // of the DeleteRequest body
  std::string statement;            // serialised SignedStatement
  int64_t delete_after = 0;
  bool done = false;  // the ciphertext is gone; the row is the tombstone
  bool operator==(const DeletionRow&) const = default;
};

// The most entries one ReadLogEntries call returns.
inline constexpr uint64_t kMaxLogEntriesPerRead = 4096;

// The typed operations of one open transaction. Only valid inside the
// callback given to Store::RunInTransaction; never keep a reference to it.
// Not thread-safe: used by the thread running the callback.
class StoreTransaction {
 public:
  virtual ~StoreTransaction() = default;

  // Accounts. AlreadyExists if the fingerprint or the sign_pk is taken.
  virtual absl::Status InsertAccount(const AccountRow& account) = 0;
  virtual absl::StatusOr<AccountRow> FindAccountByFingerprint(
      const crypto::Fingerprint& cert_fingerprint) = 0;
  virtual absl::StatusOr<AccountRow> FindAccountBySignPk(
      const crypto::SignPublicKey& sign_pk) = 0;

  // Revocations. AlreadyExists if the certificate is already revoked.
  virtual absl::Status InsertRevocation(const RevocationRow& revocation) = 0;
  virtual absl::StatusOr<RevocationRow> FindRevocation(
      const crypto::Fingerprint& cert_fingerprint) = 0;

  // Cases. AlreadyExists if the case id is taken.
  virtual absl::Status InsertCase(const CaseRow& case_row) = 0;
  virtual absl::StatusOr<CaseRow> FindCase(const CaseId& case_id) = 0;

  // Descriptors. FailedPrecondition if the case is unknown; AlreadyExists
  // only for the very same (case, epoch, body hash). A different body for
  // a stored (case, epoch) is stored beside it.
  virtual absl::Status InsertDescriptor(const DescriptorRow& descriptor) = 0;
  // Every descriptor of the case, by epoch, then in the order stored.
  // Empty (not NotFound) for a case without descriptors.
  virtual absl::StatusOr<std::vector<DescriptorRow>> ListDescriptors(
      const CaseId& case_id) = 0;

  // Grants. FailedPrecondition if the case is unknown; AlreadyExists if the
  // member already has a grant for that epoch.
  virtual absl::Status InsertGrant(const GrantRow& grant) = 0;
  // The member's grants in the case, by epoch. Empty if none.
  virtual absl::StatusOr<std::vector<GrantRow>> ListGrants(
      const CaseId& case_id, const crypto::Fingerprint& member_fingerprint) = 0;

  // Who takes part in a case now: the owners, members and contributors of
  // its current descriptor. SetCaseParticipants replaces the case's list
  // (FailedPrecondition if the case is unknown); ListCasesOf returns the
  // cases in whose list `fingerprint` is, by case id. Empty if none.
  virtual absl::Status SetCaseParticipants(
      const CaseId& case_id,
      absl::Span<const crypto::Fingerprint> participants) = 0;
  virtual absl::StatusOr<std::vector<CaseId>> ListCasesOf(
      const crypto::Fingerprint& fingerprint) = 0;

  // Uploads. InsertUpload: AlreadyExists if one is pending for the id.
  virtual absl::Status InsertUpload(const UploadRow& upload) = 0;
  // NotFound if none is pending for the id.
  virtual absl::StatusOr<UploadRow> FindUpload(const RecordId& record_id) = 0;
  // Stores `data` (1..kMaxChunkBytes bytes) at `offset`, which must be the
  // upload's held_bytes (FailedPrecondition otherwise: another writer got
  // there first), and advances held_bytes. NotFound without a pending
  // upload; InvalidArgument past total_size or for a bad chunk size.
  virtual absl::Status AppendUploadChunk(const RecordId& record_id,
                                         uint64_t offset,
                                         absl::string_view data) = 0;
  // Removes a pending upload and its chunks. NotFound if none.
  virtual absl::Status DeleteUpload(const RecordId& record_id) = 0;
  // Pending uploads and their held bytes for one uploader.
  struct PendingTotals {
    int64_t uploads = 0;
    uint64_t bytes = 0;
  };
  virtual absl::StatusOr<PendingTotals> PendingFor(
      const crypto::Sha256& uploader) = 0;
  // Makes a complete pending upload visible as `record` (same id): writes
  // the record row and removes the pending row. FailedPrecondition unless
  // held_bytes == total_size.
  virtual absl::Status CommitUpload(const RecordRow& record) = 0;
  // Removes pending uploads with expires_at <= now that hold no data;
  // returns how many. One that still holds data stays: its data goes
  // first, a bounded transaction at a time (RemoveLastChunks).
  virtual absl::StatusOr<int64_t> DeleteExpiredUploads(int64_t now) = 0;
  // The ids of pending uploads with expires_at <= now, in id order, after
  // `*after` (from the first if null), at most `limit`.
  virtual absl::StatusOr<std::vector<RecordId>> ExpiredUploads(
      int64_t now, const RecordId* after, size_t limit) = 0;
  // Removes chunk rows stored under the ids, the last ones of each id
  // first and the ids in turn, as many as fit in `max_bytes` in all (at
  // least one row). A pending upload under an id holds as many bytes
  // fewer. Returns the bytes removed, 0 once none are left. For removing
  // large data a bounded transaction at a time (VaultCore::RemoveChunks):
  // SQLite keeps what a savepoint changes in memory. Only the data of a
  // pending upload or of a record whose deletion is due by `now` goes: an
  // id listed as an upload that has become a record since (its last
  // message committed meanwhile) keeps its data, even once its deletion
  // is asked for, until that deletion is due.
  virtual absl::StatusOr<uint64_t> RemoveLastChunks(
      absl::Span<const RecordId> record_ids, int64_t now,
      uint64_t max_bytes) = 0;

  // Records. NotFound if unknown.
  virtual absl::StatusOr<RecordRow> FindRecord(const RecordId& record_id) = 0;
  // Up to `limit` records of the case with record_id > `after`, by id.
  virtual absl::StatusOr<std::vector<RecordRow>> ListRecords(
      const CaseId& case_id, const RecordId& after, size_t limit) = 0;
  // Up to `max_bytes` of ciphertext (pending or visible) from `offset`:
  // fewer at the end of what is stored, empty at or past it.
  virtual absl::StatusOr<std::string> ReadChunks(const RecordId& record_id,
                                                 uint64_t offset,
                                                 size_t max_bytes) = 0;

  // Invites. InsertInvite: AlreadyExists if the key is registered.
  virtual absl::Status InsertInvite(const InviteRow& invite) = 0;
  virtual absl::StatusOr<InviteRow> FindInvite(
      const crypto::SignPublicKey& invite_pk) = 0;
  // Sets revoked. NotFound if unknown.
  virtual absl::Status RevokeInvite(const crypto::SignPublicKey& invite_pk) = 0;
  // Takes one use. NotFound if unknown; ResourceExhausted if none is left.
  virtual absl::Status UseInvite(const crypto::SignPublicKey& invite_pk) = 0;

  // Deletions. InsertDeletion: AlreadyExists if the record has one;
  // FailedPrecondition if the record is unknown.
  virtual absl::Status InsertDeletion(const DeletionRow& deletion) = 0;
  virtual absl::StatusOr<DeletionRow> FindDeletion(
      const RecordId& record_id) = 0;
  // Deletions not done with delete_after <= now, at most `limit`.
  virtual absl::StatusOr<std::vector<DeletionRow>> DueDeletions(
      int64_t now, size_t limit) = 0;
  // Removes what remains of the record's ciphertext (normally nothing:
  // VaultCore removes it first, a bounded transaction at a time) and marks
  // the deletion done.
  virtual absl::Status ExecuteDeletion(const RecordId& record_id) = 0;

  // Challenges. InsertChallenge: AlreadyExists on a repeated nonce.
  virtual absl::Status InsertChallenge(const ChallengeRow& challenge) = 0;
  // Deletes the challenge, so that it can answer one sign-in only; call it
  // in the transaction that issues the session. NotFound if the nonce is
  // unknown or already used; FailedPrecondition if it expired (expires_at
  // <= now). Rolling the transaction back restores the challenge.
  virtual absl::Status ConsumeChallenge(const ChallengeNonce& nonce,
                                        int64_t now) = 0;

  // Sessions. AlreadyExists on a repeated token hash.
  virtual absl::Status InsertSession(const SessionRow& session) = 0;
  // NotFound if unknown or expired (expires_at <= now).
  virtual absl::StatusOr<SessionRow> FindSession(
      const SessionTokenHash& token_hash, int64_t now) = 0;
  // NotFound if unknown.
  virtual absl::Status DeleteSession(const SessionTokenHash& token_hash) = 0;

  // Removes challenges and sessions with expires_at <= now; returns how
  // many rows went.
  virtual absl::StatusOr<int64_t> DeleteExpired(int64_t now) = 0;

  // The transparency log's entries. LogSize is the number of entries;
  // AppendLogEntry stores `entry` at index LogSize() and returns that index.
  virtual absl::StatusOr<uint64_t> LogSize() = 0;
  virtual absl::StatusOr<uint64_t> AppendLogEntry(
      absl::string_view entry, const crypto::Sha256& leaf_hash) = 0;
  // Entries [begin, end). InvalidArgument if end < begin or the range is
  // longer than kMaxLogEntriesPerRead; OutOfRange if end > LogSize().
  virtual absl::StatusOr<std::vector<LogEntryRow>> ReadLogEntries(
      uint64_t begin, uint64_t end) = 0;

  // The Merkle tree's complete subtrees (vault/log_tree.h): the hash of the
  // subtree of 2^level leaves starting at leaf index << level. Written once
  // (AlreadyExists on a second write); ReadLogNode: NotFound if absent.
  virtual absl::Status InsertLogNode(uint32_t level, uint64_t index,
                                     const crypto::Sha256& hash) = 0;
  virtual absl::StatusOr<crypto::Sha256> ReadLogNode(uint32_t level,
                                                     uint64_t index) = 0;

  // The latest checkpoint the vault signed. NotFound before the first.
  // WriteLatestCheckpoint replaces it.
  virtual absl::StatusOr<CheckpointRow> ReadLatestCheckpoint() = 0;
  virtual absl::Status WriteLatestCheckpoint(const CheckpointRow& row) = 0;

  // Runs `fn` on this transaction as a part that can be undone alone (a
  // savepoint), so that several independent changes can share one commit
  // (the vault's group commit). If `fn` returns OK and none of its
  // operations failed in a way that forbids committing, its changes stay
  // and OK is returned. Otherwise everything `fn` did is undone, the
  // transaction goes on as it was before `fn`, and the error is returned
  // (the first operation failure that forbade committing, or else fn's
  // error). Only if even undoing fails (the database already ended the
  // transaction) does the whole transaction fail, as after any failure
  // above. May nest.
  virtual absl::Status RunNested(
      absl::FunctionRef<absl::Status(StoreTransaction&)> fn) = 0;
};

class Store {
 public:
  virtual ~Store() = default;

  // Runs `fn` in one transaction. If `fn` returns OK the transaction
  // commits, durably (it survives a crash of the process or the machine)
  // before this returns OK; if the commit fails, its error is returned and
  // nothing is stored. If `fn` returns an error, everything it did is
  // rolled back and that error is returned. An operation that failed inside
  // `fn` with AlreadyExists, NotFound, FailedPrecondition or
  // InvalidArgument changed nothing, and `fn` may go on; after any other
  // failure the transaction is rolled back even if `fn` returns OK.
  //
  // Thread-safe. `fn` must not call back into the same Store (the backend
  // returns FailedPrecondition rather than deadlock) and should be short:
  // see the backend for how transactions from several threads interleave.
  virtual absl::Status RunInTransaction(
      absl::FunctionRef<absl::Status(StoreTransaction&)> fn) = 0;

  // After deletions: moves everything committed into the main file and
  // empties the write-ahead log, so removed ciphertext does not linger
  // there (SQLite's wal_checkpoint(TRUNCATE)). Unavailable if readers
  // kept it from completing.
  virtual absl::Status TruncateWal() = 0;
};

}  // namespace tvault::vault

#endif  // TVAULT_VAULT_STORE_H_
