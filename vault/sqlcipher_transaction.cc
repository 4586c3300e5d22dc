#include "vault/sqlcipher_transaction.h"

#include <initializer_list>
#include <limits>
#include <string>
#include <vector>

#include "absl/strings/str_cat.h"
#include "vault/sqlite_util.h"

namespace tvault::vault {
namespace {

absl::Status ResultCount(int64_t count, absl::string_view what) {
  if (count != 1) {
    return absl::InternalError(
        absl::StrCat("cannot ", what, ": ", count, " rows changed, not 1"));
  }
  return absl::OkStatus();
}

// --- the transaction ------------------------------------------------------

class SqlcipherTransaction final : public StoreTransaction {
 public:
  SqlcipherTransaction(sqlite3* db, StatementCache& statements)
      : db_(db), statements_(statements) {}

  // The first failure after which the transaction must not commit.
  const absl::Status& fatal() const { return fatal_; }

  absl::Status InsertAccount(const AccountRow& account) override {
    absl::StatusOr<Statement> stmt = Start(
        "INSERT INTO accounts (cert_fingerprint, sign_pk, certificate, "
        "registered_at) VALUES (?1, ?2, ?3, ?4)");
    if (!stmt.ok()) return stmt.status();
    stmt->BindBlob(1, account.cert_fingerprint);
    stmt->BindBlob(2, account.sign_pk);
    stmt->BindBlob(3, account.certificate);
    stmt->BindInt(4, account.registered_at);
    return Done(*stmt, "store the account");
  }

  absl::StatusOr<AccountRow> FindAccountByFingerprint(
      const crypto::Fingerprint& cert_fingerprint) override {
    return FindAccount("cert_fingerprint", cert_fingerprint);
  }

  absl::StatusOr<AccountRow> FindAccountBySignPk(
      const crypto::SignPublicKey& sign_pk) override {
    return FindAccount("sign_pk", sign_pk);
  }

  absl::Status InsertRevocation(const RevocationRow& revocation) override {
    absl::StatusOr<Statement> stmt = Start(
        "INSERT INTO revocations (cert_fingerprint, statement, revoked_at) "
        "VALUES (?1, ?2, ?3)");
    if (!stmt.ok()) return stmt.status();
    stmt->BindBlob(1, revocation.cert_fingerprint);
    stmt->BindBlob(2, revocation.statement);
    stmt->BindInt(3, revocation.revoked_at);
    return Done(*stmt, "store the revocation");
  }

  absl::StatusOr<RevocationRow> FindRevocation(
      const crypto::Fingerprint& cert_fingerprint) override {
    absl::StatusOr<Statement> stmt = Start(
        "SELECT cert_fingerprint, statement, revoked_at FROM revocations "
        "WHERE cert_fingerprint = ?1");
    if (!stmt.ok()) return stmt.status();
    stmt->BindBlob(1, cert_fingerprint);
    absl::StatusOr<bool> row = Next(*stmt, "read a revocation");
    if (!row.ok()) return row.status();
    if (!*row) return absl::NotFoundError("no revocation for that certificate");
    RevocationRow out;
    if (!stmt->Array(0, out.cert_fingerprint)) return Corrupt("revocations");
    out.statement = stmt->Bytes(1);
    out.revoked_at = stmt->Int(2);
    return out;
  }

  absl::Status InsertCase(const CaseRow& case_row) override {
    absl::StatusOr<Statement> stmt =
        Start("INSERT INTO cases (case_id, genesis_hash) VALUES (?1, ?2)");
    if (!stmt.ok()) return stmt.status();
    stmt->BindBlob(1, case_row.case_id);
    stmt->BindBlob(2, case_row.genesis_hash);
    return Done(*stmt, "store the case");
  }

  absl::StatusOr<CaseRow> FindCase(const CaseId& case_id) override {
    absl::StatusOr<Statement> stmt =
        Start("SELECT case_id, genesis_hash FROM cases WHERE case_id = ?1");
    if (!stmt.ok()) return stmt.status();
    stmt->BindBlob(1, case_id);
    absl::StatusOr<bool> row = Next(*stmt, "read a case");
    if (!row.ok()) return row.status();
    if (!*row) return absl::NotFoundError("no such case");
    CaseRow out;
    if (!stmt->Array(0, out.case_id) || !stmt->Array(1, out.genesis_hash)) {
      return Corrupt("cases");
    }
    return out;
  }

  absl::Status InsertDescriptor(const DescriptorRow& descriptor) override {
    absl::StatusOr<Statement> stmt = Start(
        "INSERT INTO descriptors (case_id, epoch, body_hash, statement, "
        "log_index) VALUES (?1, ?2, ?3, ?4, ?5)");
    if (!stmt.ok()) return stmt.status();
    if (!LogIndexFits(descriptor.log_index)) {
      return absl::InvalidArgumentError("log index out of range");
    }
    stmt->BindBlob(1, descriptor.case_id);
    stmt->BindInt(2, descriptor.epoch);
    stmt->BindBlob(3, descriptor.body_hash);
    stmt->BindBlob(4, descriptor.statement);
    stmt->BindInt(5, static_cast<int64_t>(descriptor.log_index));
    return Done(*stmt, "store the descriptor");
  }

  absl::StatusOr<std::vector<DescriptorRow>> ListDescriptors(
      const CaseId& case_id) override {
    absl::StatusOr<Statement> stmt = Start(
        "SELECT case_id, epoch, body_hash, statement, log_index "
        "FROM descriptors WHERE case_id = ?1 ORDER BY epoch, id");
    if (!stmt.ok()) return stmt.status();
    stmt->BindBlob(1, case_id);
    std::vector<DescriptorRow> out;
    while (true) {
      absl::StatusOr<bool> row = Next(*stmt, "read descriptors");
      if (!row.ok()) return row.status();
      if (!*row) break;
      DescriptorRow& d = out.emplace_back();
      if (!stmt->Array(0, d.case_id) || !Epoch(*stmt, 1, d.epoch) ||
          !stmt->Array(2, d.body_hash) || !LogIndex(*stmt, 4, d.log_index)) {
        return Corrupt("descriptors");
      }
      d.statement = stmt->Bytes(3);
    }
    return out;
  }

  absl::Status InsertGrant(const GrantRow& grant) override {
    absl::StatusOr<Statement> stmt = Start(
        "INSERT INTO grants (case_id, epoch, member_fingerprint, statement, "
        "ciphertext, log_index) VALUES (?1, ?2, ?3, ?4, ?5, ?6)");
    if (!stmt.ok()) return stmt.status();
    if (!LogIndexFits(grant.log_index)) {
      return absl::InvalidArgumentError("log index out of range");
    }
    stmt->BindInt(6, static_cast<int64_t>(grant.log_index));
    stmt->BindBlob(1, grant.case_id);
    stmt->BindInt(2, grant.epoch);
    stmt->BindBlob(3, grant.member_fingerprint);
    stmt->BindBlob(4, grant.statement);
    stmt->BindBlob(5, grant.ciphertext);
    return Done(*stmt, "store the grant");
  }

  absl::StatusOr<std::vector<GrantRow>> ListGrants(
      const CaseId& case_id,
      const crypto::Fingerprint& member_fingerprint) override {
    absl::StatusOr<Statement> stmt = Start(
        "SELECT case_id, epoch, member_fingerprint, statement, ciphertext, "
        "log_index FROM grants WHERE case_id = ?1 AND member_fingerprint = ?2 "
        "ORDER BY epoch");
    if (!stmt.ok()) return stmt.status();
    stmt->BindBlob(1, case_id);
    stmt->BindBlob(2, member_fingerprint);
    std::vector<GrantRow> out;
    while (true) {
      absl::StatusOr<bool> row = Next(*stmt, "read grants");
      if (!row.ok()) return row.status();
      if (!*row) break;
      GrantRow& g = out.emplace_back();
      if (!stmt->Array(0, g.case_id) || !Epoch(*stmt, 1, g.epoch) ||
          !stmt->Array(2, g.member_fingerprint) ||
          !LogIndex(*stmt, 5, g.log_index)) {
        return Corrupt("grants");
      }
      g.statement = stmt->Bytes(3);
      g.ciphertext = stmt->Bytes(4);
    }
    return out;
  }

  absl::Status InsertChallenge(const ChallengeRow& challenge) override {
    absl::StatusOr<Statement> stmt =
        Start("INSERT INTO challenges (nonce, expires_at) VALUES (?1, ?2)");
    if (!stmt.ok()) return stmt.status();
    stmt->BindBlob(1, challenge.nonce);
    stmt->BindInt(2, challenge.expires_at);
    return Done(*stmt, "store the challenge");
  }

  absl::Status ConsumeChallenge(const ChallengeNonce& nonce,
                                int64_t now) override {
    absl::StatusOr<Statement> find =
        Start("SELECT expires_at FROM challenges WHERE nonce = ?1");
    if (!find.ok()) return find.status();
    find->BindBlob(1, nonce);
    absl::StatusOr<bool> row = Next(*find, "read the challenge");
    if (!row.ok()) return row.status();
    if (!*row) return absl::NotFoundError("unknown or already used challenge");
    if (find->Int(0) <= now) {
      return absl::FailedPreconditionError("the challenge has expired");
    }
    absl::StatusOr<Statement> erase =
        Start("DELETE FROM challenges WHERE nonce = ?1");
    if (!erase.ok()) return erase.status();
    erase->BindBlob(1, nonce);
    absl::Status done = Done(*erase, "use the challenge");
    if (!done.ok()) return done;
    return ResultCount(sqlite3_changes(db_), "use the challenge");
  }

  absl::Status InsertSession(const SessionRow& session) override {
    absl::StatusOr<Statement> stmt = Start(
        "INSERT INTO sessions (token_hash, sign_pk, kind, expires_at) "
        "VALUES (?1, ?2, ?3, ?4)");
    if (!stmt.ok()) return stmt.status();
    stmt->BindBlob(1, session.token_hash.bytes);
    stmt->BindBlob(2, session.sign_pk);
    stmt->BindText(3, KindName(session.kind));
    stmt->BindInt(4, session.expires_at);
    return Done(*stmt, "store the session");
  }

  absl::StatusOr<SessionRow> FindSession(const SessionTokenHash& token_hash,
                                         int64_t now) override {
    absl::StatusOr<Statement> stmt = Start(
        "SELECT token_hash, sign_pk, kind, expires_at FROM sessions "
        "WHERE token_hash = ?1 AND expires_at > ?2");
    if (!stmt.ok()) return stmt.status();
    stmt->BindBlob(1, token_hash.bytes);
    stmt->BindInt(2, now);
    absl::StatusOr<bool> row = Next(*stmt, "read the session");
    if (!row.ok()) return row.status();
    if (!*row) return absl::NotFoundError("unknown or expired session");
    SessionRow out;
    const std::string kind = stmt->Text(2);
    if (!stmt->Array(0, out.token_hash.bytes) || !stmt->Array(1, out.sign_pk) ||
        (kind != KindName(SessionKind::kAccount) &&
         kind != KindName(SessionKind::kInvite))) {
      return Corrupt("sessions");
    }
    out.kind = kind == KindName(SessionKind::kAccount) ? SessionKind::kAccount
                                                       : SessionKind::kInvite;
    out.expires_at = stmt->Int(3);
    return out;
  }

  absl::Status DeleteSession(const SessionTokenHash& token_hash) override {
    absl::StatusOr<Statement> stmt =
        Start("DELETE FROM sessions WHERE token_hash = ?1");
    if (!stmt.ok()) return stmt.status();
    stmt->BindBlob(1, token_hash.bytes);
    absl::Status done = Done(*stmt, "end the session");
    if (!done.ok()) return done;
    if (sqlite3_changes(db_) == 0)
      return absl::NotFoundError("no such session");
    return absl::OkStatus();
  }

  absl::StatusOr<int64_t> DeleteExpired(int64_t now) override {
    return DeleteAsOf({"DELETE FROM challenges WHERE expires_at <= ?1",
                       "DELETE FROM sessions WHERE expires_at <= ?1"},
                      now, "remove expired challenges and sessions");
  }

  absl::StatusOr<uint64_t> LogSize() override {
    // The last index plus one: leaf_index is the rowid, so this is one
    // b-tree descent, and AppendLogEntry keeps indices contiguous.
    absl::StatusOr<Statement> stmt =
        Start("SELECT max(leaf_index) FROM log_entries");
    if (!stmt.ok()) return stmt.status();
    absl::StatusOr<bool> row = Next(*stmt, "read the log size");
    if (!row.ok()) return row.status();
    if (!*row || stmt->IsNull(0)) return uint64_t{0};
    const int64_t last = stmt->Int(0);
    if (last < 0) return Corrupt("log_entries");
    return static_cast<uint64_t>(last) + 1;
  }

  absl::StatusOr<uint64_t> AppendLogEntry(
      absl::string_view entry, const crypto::Sha256& leaf_hash) override {
    absl::StatusOr<uint64_t> size = LogSize();
    if (!size.ok()) return size.status();
    if (*size >= static_cast<uint64_t>(std::numeric_limits<int64_t>::max())) {
      return absl::OutOfRangeError("the log is full");
    }
    absl::StatusOr<Statement> stmt = Start(
        "INSERT INTO log_entries (leaf_index, entry, leaf_hash) "
        "VALUES (?1, ?2, ?3)");
    if (!stmt.ok()) return stmt.status();
    stmt->BindInt(1, static_cast<int64_t>(*size));
    stmt->BindBlob(2, entry);
    stmt->BindBlob(3, leaf_hash);
    absl::Status done = Done(*stmt, "append the log entry");
    if (!done.ok()) return done;
    return *size;
  }

  absl::StatusOr<std::vector<LogEntryRow>> ReadLogEntries(
      uint64_t begin, uint64_t end) override {
    if (end < begin) {
      return absl::InvalidArgumentError("log range ends before it begins");
    }
    if (end - begin > kMaxLogEntriesPerRead) {
      return absl::InvalidArgumentError(
          absl::StrCat("at most ", kMaxLogEntriesPerRead,
                       " log entries can be read at once"));
    }
    absl::StatusOr<uint64_t> size = LogSize();
    if (!size.ok()) return size.status();
    if (end > *size) {
      return absl::OutOfRangeError(absl::StrCat("log range ends at ", end,
                                                ", past the log size ", *size));
    }
    absl::StatusOr<Statement> stmt = Start(
        "SELECT leaf_index, entry, leaf_hash FROM log_entries "
        "WHERE leaf_index >= ?1 AND leaf_index < ?2 ORDER BY leaf_index");
    if (!stmt.ok()) return stmt.status();
    stmt->BindInt(1, static_cast<int64_t>(begin));
    stmt->BindInt(2, static_cast<int64_t>(end));
    std::vector<LogEntryRow> out;
    out.reserve(end - begin);
    while (true) {
      absl::StatusOr<bool> row = Next(*stmt, "read log entries");
      if (!row.ok()) return row.status();
      if (!*row) break;
      LogEntryRow& e = out.emplace_back();
      const int64_t index = stmt->Int(0);
      if (index < 0 || static_cast<uint64_t>(index) != begin + out.size() - 1 ||
          !stmt->Array(2, e.leaf_hash)) {
        return Corrupt("log_entries");
      }
      e.index = static_cast<uint64_t>(index);
      e.entry = stmt->Bytes(1);
    }
    if (out.size() != end - begin) return Corrupt("log_entries");
    return out;
  }

  absl::Status InsertLogNode(uint32_t level, uint64_t index,
                             const crypto::Sha256& hash) override {
    if (index > static_cast<uint64_t>(std::numeric_limits<int64_t>::max())) {
      return absl::InvalidArgumentError("log node index out of range");
    }
    absl::StatusOr<Statement> stmt = Start(
        "INSERT INTO log_nodes (level, node_index, hash) VALUES (?1, ?2, ?3)");
    if (!stmt.ok()) return stmt.status();
    stmt->BindInt(1, level);
    stmt->BindInt(2, static_cast<int64_t>(index));
    stmt->BindBlob(3, hash);
    return Done(*stmt, "store a log tree node");
  }

  absl::StatusOr<crypto::Sha256> ReadLogNode(uint32_t level,
                                             uint64_t index) override {
    if (index > static_cast<uint64_t>(std::numeric_limits<int64_t>::max())) {
      return absl::NotFoundError("no such log tree node");
    }
    absl::StatusOr<Statement> stmt = Start(
        "SELECT hash FROM log_nodes WHERE level = ?1 AND node_index = ?2");
    if (!stmt.ok()) return stmt.status();
    stmt->BindInt(1, level);
    stmt->BindInt(2, static_cast<int64_t>(index));
    absl::StatusOr<bool> row = Next(*stmt, "read a log tree node");
    if (!row.ok()) return row.status();
    if (!*row) return absl::NotFoundError("no such log tree node");
    crypto::Sha256 out;
    if (!stmt->Array(0, out)) return Corrupt("log_nodes");
    return out;
  }

  absl::Status InsertUpload(const UploadRow& u) override {
    if (!LogIndexFits(u.total_size) || !LogIndexFits(u.held_bytes)) {
      return absl::InvalidArgumentError("upload size out of range");
    }
    absl::StatusOr<Statement> stmt = Start(
        "INSERT INTO uploads (record_id, case_id, epoch, total_size, sha256, "
        "held_bytes, uploader, expires_at) "
        "VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8)");
    if (!stmt.ok()) return stmt.status();
    stmt->BindBlob(1, u.record_id);
    stmt->BindBlob(2, u.case_id);
    stmt->BindInt(3, u.epoch);
    stmt->BindInt(4, static_cast<int64_t>(u.total_size));
    stmt->BindBlob(5, u.sha256);
    stmt->BindInt(6, static_cast<int64_t>(u.held_bytes));
    stmt->BindBlob(7, u.uploader);
    stmt->BindInt(8, u.expires_at);
    return Done(*stmt, "store the upload");
  }

  absl::StatusOr<UploadRow> FindUpload(const RecordId& record_id) override {
    absl::StatusOr<Statement> stmt = Start(
        "SELECT record_id, case_id, epoch, total_size, sha256, held_bytes, "
        "uploader, expires_at FROM uploads WHERE record_id = ?1");
    if (!stmt.ok()) return stmt.status();
    stmt->BindBlob(1, record_id);
    absl::StatusOr<bool> row = Next(*stmt, "read an upload");
    if (!row.ok()) return row.status();
    if (!*row) return absl::NotFoundError("no such upload");
    UploadRow u;
    if (!stmt->Array(0, u.record_id) || !stmt->Array(1, u.case_id) ||
        !Epoch(*stmt, 2, u.epoch) || !LogIndex(*stmt, 3, u.total_size) ||
        !stmt->Array(4, u.sha256) || !LogIndex(*stmt, 5, u.held_bytes) ||
        !stmt->Array(6, u.uploader)) {
      return Corrupt("uploads");
    }
    u.expires_at = stmt->Int(7);
    return u;
  }

  absl::Status AppendUploadChunk(const RecordId& record_id, uint64_t offset,
                                 absl::string_view data) override {
    if (data.empty() || data.size() > kMaxChunkBytes) {
      return absl::InvalidArgumentError("a chunk holds 1 byte to 1 MiB");
    }
    absl::StatusOr<UploadRow> upload = FindUpload(record_id);
    if (!upload.ok()) return upload.status();
    if (upload->held_bytes != offset) {
      return absl::FailedPreconditionError(
          "the upload's data is being written by another stream");
    }
    if (data.size() > upload->total_size - upload->held_bytes) {
      return absl::InvalidArgumentError(
          "the data goes past the upload's announced size");
    }
    absl::StatusOr<Statement> insert = Start(
        "INSERT INTO chunks (record_id, byte_offset, data) VALUES (?1, ?2, "
        "?3)");
    if (!insert.ok()) return insert.status();
    insert->BindBlob(1, record_id);
    insert->BindInt(2, static_cast<int64_t>(upload->held_bytes));
    insert->BindBlob(3, data);
    if (absl::Status s = Done(*insert, "store upload data"); !s.ok()) {
      return s;
    }
    absl::StatusOr<Statement> update = Start(
        "UPDATE uploads SET held_bytes = held_bytes + ?2 WHERE record_id = "
        "?1");
    if (!update.ok()) return update.status();
    update->BindBlob(1, record_id);
    update->BindInt(2, static_cast<int64_t>(data.size()));
    return Done(*update, "store upload data");
  }

  absl::Status DeleteUpload(const RecordId& record_id) override {
    absl::StatusOr<UploadRow> upload = FindUpload(record_id);
    if (!upload.ok()) return upload.status();
    for (const char* sql : {"DELETE FROM chunks WHERE record_id = ?1",
                            "DELETE FROM uploads WHERE record_id = ?1"}) {
      absl::StatusOr<Statement> stmt = Start(sql);
      if (!stmt.ok()) return stmt.status();
      stmt->BindBlob(1, record_id);
      if (absl::Status s = Done(*stmt, "discard the upload"); !s.ok()) {
        return s;
      }
    }
    return absl::OkStatus();
  }

  absl::StatusOr<PendingTotals> PendingFor(
      const crypto::Sha256& uploader) override {
    absl::StatusOr<Statement> stmt = Start(
        "SELECT count(*), total(held_bytes) FROM uploads WHERE uploader = ?1");
    if (!stmt.ok()) return stmt.status();
    stmt->BindBlob(1, uploader);
    absl::StatusOr<bool> row = Next(*stmt, "count pending uploads");
    if (!row.ok()) return row.status();
    PendingTotals out;
    if (*row) {
      out.uploads = stmt->Int(0);
      const int64_t bytes = stmt->Int(1);
      out.bytes = bytes < 0 ? 0 : static_cast<uint64_t>(bytes);
    }
    return out;
  }

  absl::Status CommitUpload(const RecordRow& r) override {
    absl::StatusOr<UploadRow> upload = FindUpload(r.record_id);
    if (!upload.ok()) return upload.status();
    if (upload->held_bytes != upload->total_size) {
      return absl::FailedPreconditionError("the upload is not complete");
    }
    if (!LogIndexFits(r.size) || !LogIndexFits(r.log_index) ||
        !LogIndexFits(r.receipt_tree_size)) {
      return absl::InvalidArgumentError("record size out of range");
    }
    absl::StatusOr<Statement> insert = Start(
        "INSERT INTO records (record_id, case_id, epoch, size, sha256, "
        "added_at, log_index, receipt_checkpoint, receipt_tree_size) "
        "VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9)");
    if (!insert.ok()) return insert.status();
    insert->BindBlob(1, r.record_id);
    insert->BindBlob(2, r.case_id);
    insert->BindInt(3, r.epoch);
    insert->BindInt(4, static_cast<int64_t>(r.size));
    insert->BindBlob(5, r.sha256);
    insert->BindInt(6, r.added_at);
    insert->BindInt(7, static_cast<int64_t>(r.log_index));
    insert->BindBlob(8, r.receipt_checkpoint);
    insert->BindInt(9, static_cast<int64_t>(r.receipt_tree_size));
    if (absl::Status s = Done(*insert, "store the record"); !s.ok()) return s;
    absl::StatusOr<Statement> remove =
        Start("DELETE FROM uploads WHERE record_id = ?1");
    if (!remove.ok()) return remove.status();
    remove->BindBlob(1, r.record_id);
    return Done(*remove, "finish the upload");
  }

  absl::StatusOr<int64_t> DeleteExpiredUploads(int64_t now) override {
    return DeleteAsOf(
        {"DELETE FROM uploads WHERE expires_at <= ?1 AND held_bytes = 0"}, now,
        "remove expired uploads");
  }

  absl::StatusOr<std::vector<RecordId>> ExpiredUploads(int64_t now,
                                                       const RecordId* after,
                                                       size_t limit) override {
    absl::StatusOr<Statement> stmt = Start(
        "SELECT record_id FROM uploads WHERE expires_at <= ?1 AND "
        "record_id > ?3 ORDER BY record_id LIMIT ?2");
    if (!stmt.ok()) return stmt.status();
    stmt->BindInt(1, now);
    stmt->BindInt(2, static_cast<int64_t>(limit));
    // Every id is greater than the empty blob.
    stmt->BindBlob(3, after != nullptr ? absl::Span<const uint8_t>(*after)
                                       : absl::Span<const uint8_t>());
    std::vector<RecordId> out;
    while (true) {
      absl::StatusOr<bool> row = Next(*stmt, "list expired uploads");
      if (!row.ok()) return row.status();
      if (!*row) return out;
      RecordId id{};
      if (!stmt->Array(0, id)) return Corrupt("uploads");
      out.push_back(id);
    }
  }

  absl::StatusOr<uint64_t> RemoveLastChunks(
      absl::Span<const RecordId> record_ids, int64_t now,
      uint64_t max_bytes) override {
    uint64_t bytes = 0;
    bool full = false;
    for (const RecordId& record_id : record_ids) {
      {
        absl::StatusOr<Statement> removable = Start(
            "SELECT EXISTS (SELECT 1 FROM uploads WHERE record_id = ?1) OR "
            "EXISTS (SELECT 1 FROM deletions WHERE record_id = ?1 AND "
            "(done = 1 OR delete_after <= ?2))");
        if (!removable.ok()) return removable.status();
        removable->BindBlob(1, record_id);
        removable->BindInt(2, now);
        absl::StatusOr<bool> row = Next(*removable, "find data to remove");
        if (!row.ok()) return row.status();
        if (!*row) return Corrupt("uploads");
        if (removable->Int(0) == 0) continue;
      }
      std::vector<int64_t> rows;
      uint64_t mine = 0;
      {
        absl::StatusOr<Statement> last = Start(
            "SELECT id, length(data) FROM chunks WHERE record_id = ?1 "
            "ORDER BY byte_offset DESC");
        if (!last.ok()) return last.status();
        last->BindBlob(1, record_id);
        while (true) {
          absl::StatusOr<bool> row = Next(*last, "find data to remove");
          if (!row.ok()) return row.status();
          if (!*row) break;
          const int64_t size = last->Int(1);
          if (size <= 0) return Corrupt("chunks");
          if (bytes + mine > 0 &&
              bytes + mine + static_cast<uint64_t>(size) > max_bytes) {
            full = true;
            break;
          }
          rows.push_back(last->Int(0));
          mine += static_cast<uint64_t>(size);
        }
      }
      for (const int64_t row : rows) {
        absl::StatusOr<Statement> remove =
            Start("DELETE FROM chunks WHERE id = ?1");
        if (!remove.ok()) return remove.status();
        remove->BindInt(1, row);
        if (absl::Status s = Done(*remove, "remove data"); !s.ok()) return s;
      }
      if (mine > 0) {
        absl::StatusOr<Statement> held = Start(
            "UPDATE uploads SET held_bytes = held_bytes - ?2 WHERE "
            "record_id = ?1");
        if (!held.ok()) return held.status();
        held->BindBlob(1, record_id);
        held->BindInt(2, static_cast<int64_t>(mine));
        if (absl::Status s = Done(*held, "lower the upload's held bytes");
            !s.ok()) {
          return s;
        }
      }
      bytes += mine;
      if (full) break;
    }
    return bytes;
  }

  absl::StatusOr<RecordRow> FindRecord(const RecordId& record_id) override {
    absl::StatusOr<std::vector<RecordRow>> rows =
        SelectRecords("WHERE record_id = ?1",
                      [&](Statement& stmt) { stmt.BindBlob(1, record_id); });
    if (!rows.ok()) return rows.status();
    if (rows->empty()) return absl::NotFoundError("no such record");
    return rows->front();
  }

  absl::StatusOr<std::vector<RecordRow>> ListRecords(const CaseId& case_id,
                                                     const RecordId& after,
                                                     size_t limit) override {
    return SelectRecords(
        "WHERE case_id = ?1 AND record_id > ?2 ORDER BY record_id LIMIT ?3",
        [&](Statement& stmt) {
          stmt.BindBlob(1, case_id);
          stmt.BindBlob(2, after);
          stmt.BindInt(3, static_cast<int64_t>(limit));
        });
  }

  absl::StatusOr<std::string> ReadChunks(const RecordId& record_id,
                                         uint64_t offset,
                                         size_t max_bytes) override {
    if (!LogIndexFits(offset)) return std::string();
    // The chunk holding `offset`, then those after it.
    absl::StatusOr<Statement> stmt = Start(
        "SELECT byte_offset, data FROM chunks WHERE record_id = ?1 AND "
        "byte_offset >= (SELECT coalesce(max(byte_offset), 0) FROM chunks "
        "WHERE record_id = ?1 AND byte_offset <= ?2) ORDER BY byte_offset");
    if (!stmt.ok()) return stmt.status();
    stmt->BindBlob(1, record_id);
    stmt->BindInt(2, static_cast<int64_t>(offset));
    std::string out;
    while (out.size() < max_bytes) {
      absl::StatusOr<bool> row = Next(*stmt, "read record data");
      if (!row.ok()) return row.status();
      if (!*row) break;
      const int64_t start = stmt->Int(0);
      const std::string data = stmt->Bytes(1);
      const uint64_t begin = static_cast<uint64_t>(start);
      const uint64_t expected = offset + out.size();
      if (start < 0 || begin > expected) return Corrupt("chunks");
      if (begin + data.size() <= expected) continue;
      const size_t skip = static_cast<size_t>(expected - begin);
      out.append(data, skip,
                 std::min(data.size() - skip, max_bytes - out.size()));
    }
    return out;
  }

  absl::Status InsertInvite(const InviteRow& i) override {
    absl::StatusOr<Statement> stmt = Start(
        "INSERT INTO invites (invite_pk, case_id, epoch, expires, uses_left, "
        "revoked, statement) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7)");
    if (!stmt.ok()) return stmt.status();
    stmt->BindBlob(1, i.invite_pk);
    stmt->BindBlob(2, i.case_id);
    stmt->BindInt(3, i.epoch);
    stmt->BindInt(4, i.expires);
    stmt->BindInt(5, i.uses_left);
    stmt->BindInt(6, i.revoked ? 1 : 0);
    stmt->BindBlob(7, i.statement);
    return Done(*stmt, "store the invite");
  }

  absl::StatusOr<InviteRow> FindInvite(
      const crypto::SignPublicKey& invite_pk) override {
    absl::StatusOr<Statement> stmt = Start(
        "SELECT invite_pk, case_id, epoch, expires, uses_left, revoked, "
        "statement FROM invites WHERE invite_pk = ?1");
    if (!stmt.ok()) return stmt.status();
    stmt->BindBlob(1, invite_pk);
    absl::StatusOr<bool> row = Next(*stmt, "read an invite");
    if (!row.ok()) return row.status();
    if (!*row) return absl::NotFoundError("no such invite");
    InviteRow i;
    uint32_t uses = 0;
    if (!stmt->Array(0, i.invite_pk) || !stmt->Array(1, i.case_id) ||
        !Epoch(*stmt, 2, i.epoch) || !Epoch(*stmt, 4, uses)) {
      return Corrupt("invites");
    }
    i.expires = stmt->Int(3);
    i.uses_left = uses;
    i.revoked = stmt->Int(5) != 0;
    i.statement = stmt->Bytes(6);
    return i;
  }

  absl::Status RevokeInvite(const crypto::SignPublicKey& invite_pk) override {
    return ChangeOneRow("UPDATE invites SET revoked = 1 WHERE invite_pk = ?1",
                        invite_pk, "revoke the invite",
                        absl::NotFoundError("no such invite"));
  }

  absl::Status UseInvite(const crypto::SignPublicKey& invite_pk) override {
    absl::StatusOr<InviteRow> invite = FindInvite(invite_pk);
    if (!invite.ok()) return invite.status();
    if (invite->uses_left == 0) {
      return absl::ResourceExhaustedError("the invite is used up");
    }
    return ChangeOneRow(
        "UPDATE invites SET uses_left = uses_left - 1 WHERE invite_pk = ?1",
        invite_pk, "use the invite", absl::NotFoundError("no such invite"));
  }

  absl::Status InsertDeletion(const DeletionRow& d) override {
    absl::StatusOr<RecordRow> record = FindRecord(d.record_id);
    if (absl::IsNotFound(record.status())) {
      return absl::FailedPreconditionError("no such record");
    }
    if (!record.ok()) return record.status();
    absl::StatusOr<Statement> stmt = Start(
        "INSERT INTO deletions (record_id, request_sha256, statement, "
        "delete_after, done) VALUES (?1, ?2, ?3, ?4, ?5)");
    if (!stmt.ok()) return stmt.status();
    stmt->BindBlob(1, d.record_id);
    stmt->BindBlob(2, d.request_sha256);
    stmt->BindBlob(3, d.statement);
    stmt->BindInt(4, d.delete_after);
    stmt->BindInt(5, d.done ? 1 : 0);
    return Done(*stmt, "store the deletion request");
  }

  absl::StatusOr<DeletionRow> FindDeletion(const RecordId& record_id) override {
    absl::StatusOr<std::vector<DeletionRow>> rows =
        SelectDeletions("WHERE record_id = ?1",
                        [&](Statement& stmt) { stmt.BindBlob(1, record_id); });
    if (!rows.ok()) return rows.status();
    if (rows->empty()) return absl::NotFoundError("no deletion requested");
    return rows->front();
  }

  absl::StatusOr<std::vector<DeletionRow>> DueDeletions(int64_t now,
                                                        size_t limit) override {
    return SelectDeletions(
        "WHERE done = 0 AND delete_after <= ?1 ORDER BY delete_after LIMIT ?2",
        [&](Statement& stmt) {
          stmt.BindInt(1, now);
          stmt.BindInt(2, static_cast<int64_t>(limit));
        });
  }

  absl::Status ExecuteDeletion(const RecordId& record_id) override {
    absl::StatusOr<Statement> chunks =
        Start("DELETE FROM chunks WHERE record_id = ?1");
    if (!chunks.ok()) return chunks.status();
    chunks->BindBlob(1, record_id);
    if (absl::Status s = Done(*chunks, "remove the record's data"); !s.ok()) {
      return s;
    }
    return ChangeOneRow(
        "UPDATE deletions SET done = 1 WHERE record_id = ?1 AND done = 0",
        record_id, "mark the deletion done",
        absl::NotFoundError("no pending deletion for that record"));
  }

  absl::StatusOr<CheckpointRow> ReadLatestCheckpoint() override {
    absl::StatusOr<Statement> stmt =
        Start("SELECT tree_size, note FROM latest_checkpoint WHERE id = 1");
    if (!stmt.ok()) return stmt.status();
    absl::StatusOr<bool> row = Next(*stmt, "read the latest checkpoint");
    if (!row.ok()) return row.status();
    if (!*row) return absl::NotFoundError("no checkpoint signed yet");
    const int64_t size = stmt->Int(0);
    if (size < 0) return Corrupt("latest_checkpoint");
    return CheckpointRow{static_cast<uint64_t>(size), stmt->Bytes(1)};
  }

  absl::Status WriteLatestCheckpoint(const CheckpointRow& row) override {
    if (row.tree_size >
        static_cast<uint64_t>(std::numeric_limits<int64_t>::max())) {
      return absl::InvalidArgumentError("checkpoint tree size out of range");
    }
    absl::StatusOr<Statement> stmt = Start(
        "INSERT OR REPLACE INTO latest_checkpoint (id, tree_size, note) "
        "VALUES (1, ?1, ?2)");
    if (!stmt.ok()) return stmt.status();
    stmt->BindInt(1, static_cast<int64_t>(row.tree_size));
    stmt->BindBlob(2, row.note);
    return Done(*stmt, "store the latest checkpoint");
  }

  absl::Status SetCaseParticipants(
      const CaseId& case_id,
      absl::Span<const crypto::Fingerprint> participants) override {
    absl::StatusOr<CaseRow> found = FindCase(case_id);
    if (absl::IsNotFound(found.status())) {
      return absl::FailedPreconditionError("no such case");
    }
    if (!found.ok()) return found.status();
    absl::StatusOr<Statement> clear =
        Start("DELETE FROM case_participants WHERE case_id = ?1");
    if (!clear.ok()) return clear.status();
    clear->BindBlob(1, case_id);
    if (absl::Status s = Done(*clear, "update a case's participants");
        !s.ok()) {
      return s;
    }
    for (const crypto::Fingerprint& fp : participants) {
      // The same fingerprint may be owner and member at once.
      absl::StatusOr<Statement> stmt = Start(
          "INSERT OR IGNORE INTO case_participants (fingerprint, case_id) "
          "VALUES (?1, ?2)");
      if (!stmt.ok()) return stmt.status();
      stmt->BindBlob(1, fp);
      stmt->BindBlob(2, case_id);
      if (absl::Status s = Done(*stmt, "update a case's participants");
          !s.ok()) {
        return s;
      }
    }
    return absl::OkStatus();
  }

  absl::StatusOr<std::vector<CaseId>> ListCasesOf(
      const crypto::Fingerprint& fingerprint) override {
    absl::StatusOr<Statement> stmt = Start(
        "SELECT case_id FROM case_participants WHERE fingerprint = ?1 "
        "ORDER BY case_id");
    if (!stmt.ok()) return stmt.status();
    stmt->BindBlob(1, fingerprint);
    std::vector<CaseId> out;
    while (true) {
      absl::StatusOr<bool> row = Next(*stmt, "list a member's cases");
      if (!row.ok()) return row.status();
      if (!*row) break;
      if (!stmt->Array(0, out.emplace_back())) {
        return Corrupt("case_participants");
      }
    }
    return out;
  }

 private:
  static absl::string_view KindName(SessionKind kind) {
    return kind == SessionKind::kAccount ? "account" : "invite";
  }

  static bool LogIndexFits(uint64_t index) {
    return index <= static_cast<uint64_t>(std::numeric_limits<int64_t>::max());
  }

  static bool LogIndex(const Statement& stmt, int column, uint64_t& out) {
    const int64_t value = stmt.Int(column);
    if (value < 0) return false;
    out = static_cast<uint64_t>(value);
    return true;
  }

  static bool Epoch(const Statement& stmt, int column, uint32_t& out) {
    const int64_t value = stmt.Int(column);
    if (value < 0 || value > std::numeric_limits<uint32_t>::max()) {
      return false;
    }
    out = static_cast<uint32_t>(value);
    return true;
  }

  // Runs each DELETE of `sqls` with ?1 = `now`; the rows they removed.
  absl::StatusOr<int64_t> DeleteAsOf(std::initializer_list<const char*> sqls,
                                     int64_t now, absl::string_view what) {
    int64_t removed = 0;
    for (const char* sql : sqls) {
      absl::StatusOr<Statement> stmt = Start(sql);
      if (!stmt.ok()) return stmt.status();
      stmt->BindInt(1, now);
      if (absl::Status s = Done(*stmt, what); !s.ok()) return s;
      removed += sqlite3_changes(db_);
    }
    return removed;
  }

  // Runs `sql` with ?1 = `key`; `none` if it changed no row.
  absl::Status ChangeOneRow(absl::string_view sql,
                            absl::Span<const uint8_t> key,
                            absl::string_view what, absl::Status none) {
    absl::StatusOr<Statement> stmt = Start(sql);
    if (!stmt.ok()) return stmt.status();
    stmt->BindBlob(1, key);
    if (absl::Status s = Done(*stmt, what); !s.ok()) return s;
    return sqlite3_changes(db_) == 1 ? absl::OkStatus() : none;
  }

  template <typename Bind>
  absl::StatusOr<std::vector<DeletionRow>> SelectDeletions(
      absl::string_view where, Bind bind) {
    absl::StatusOr<Statement> stmt = Start(absl::StrCat(
        "SELECT record_id, request_sha256, statement, delete_after, done "
        "FROM deletions ",
        where));
    if (!stmt.ok()) return stmt.status();
    bind(*stmt);
    std::vector<DeletionRow> out;
    while (true) {
      absl::StatusOr<bool> row = Next(*stmt, "read deletions");
      if (!row.ok()) return row.status();
      if (!*row) break;
      DeletionRow& d = out.emplace_back();
      if (!stmt->Array(0, d.record_id) || !stmt->Array(1, d.request_sha256)) {
        return Corrupt("deletions");
      }
      d.statement = stmt->Bytes(2);
      d.delete_after = stmt->Int(3);
      d.done = stmt->Int(4) != 0;
    }
    return out;
  }

  absl::Status RunNested(
      absl::FunctionRef<absl::Status(StoreTransaction&)> fn) override {
    if (!fatal_.ok()) return fatal_;
    if (absl::Status s = Control("SAVEPOINT nested", "start a savepoint");
        !s.ok()) {
      return s;
    }
    absl::Status result = fn(*this);
    if (!fatal_.ok()) result = fatal_;
    if (result.ok()) return Control("RELEASE nested", "release a savepoint");
    // Undo fn's part. ROLLBACK TO keeps the savepoint open; RELEASE then
    // leaves the transaction exactly as it was before fn. Statements fn
    // prepared are finalised by now (each operation owns its statement).
    if (!sqlite3_get_autocommit(db_) &&
        sqlite3_exec(db_, "ROLLBACK TO nested", nullptr, nullptr, nullptr) ==
            SQLITE_OK &&
        sqlite3_exec(db_, "RELEASE nested", nullptr, nullptr, nullptr) ==
            SQLITE_OK) {
      fatal_ = absl::OkStatus();  // what made the transaction unfit is undone
      return result;
    }
    return Fatal(result);
  }

  template <typename Bind>
  absl::StatusOr<std::vector<RecordRow>> SelectRecords(absl::string_view where,
                                                       Bind bind) {
    absl::StatusOr<Statement> stmt = Start(absl::StrCat(
        "SELECT record_id, case_id, epoch, size, sha256, added_at, "
        "log_index, receipt_checkpoint, receipt_tree_size FROM records ",
        where));
    if (!stmt.ok()) return stmt.status();
    bind(*stmt);
    std::vector<RecordRow> out;
    while (true) {
      absl::StatusOr<bool> row = Next(*stmt, "read records");
      if (!row.ok()) return row.status();
      if (!*row) break;
      RecordRow& r = out.emplace_back();
      if (!stmt->Array(0, r.record_id) || !stmt->Array(1, r.case_id) ||
          !Epoch(*stmt, 2, r.epoch) || !LogIndex(*stmt, 3, r.size) ||
          !stmt->Array(4, r.sha256) || !LogIndex(*stmt, 6, r.log_index) ||
          !LogIndex(*stmt, 8, r.receipt_tree_size)) {
        return Corrupt("records");
      }
      r.added_at = stmt->Int(5);
      r.receipt_checkpoint = stmt->Bytes(7);
    }
    return out;
  }

  absl::StatusOr<AccountRow> FindAccount(absl::string_view column,
                                         absl::Span<const uint8_t> key) {
    absl::StatusOr<Statement> stmt = Start(absl::StrCat(
        "SELECT cert_fingerprint, sign_pk, certificate, registered_at "
        "FROM accounts WHERE ",
        column, " = ?1"));
    if (!stmt.ok()) return stmt.status();
    stmt->BindBlob(1, key);
    absl::StatusOr<bool> row = Next(*stmt, "read an account");
    if (!row.ok()) return row.status();
    if (!*row) return absl::NotFoundError("no such account");
    AccountRow out;
    if (!stmt->Array(0, out.cert_fingerprint) || !stmt->Array(1, out.sign_pk)) {
      return Corrupt("accounts");
    }
    out.certificate = stmt->Bytes(2);
    out.registered_at = stmt->Int(3);
    return out;
  }

  // Prepares a statement, refusing if SQLite already ended the transaction
  // (after an I/O error, say): what follows would otherwise run outside it,
  // each statement committing on its own.
  absl::StatusOr<Statement> Start(absl::string_view sql) {
    if (!fatal_.ok()) return fatal_;
    if (sqlite3_get_autocommit(db_)) {
      return Fatal(absl::InternalError(
          "the database ended the transaction after an earlier error"));
    }
    absl::StatusOr<Statement> stmt = statements_.Prepare(db_, sql);
    if (!stmt.ok()) return Fatal(stmt.status());
    return stmt;
  }

  // Steps a statement that returns no rows.
  absl::Status Done(Statement& stmt, absl::string_view what) {
    const int rc = stmt.Step();
    if (rc == SQLITE_DONE) return absl::OkStatus();
    if (rc == SQLITE_ROW) {
      return Fatal(absl::InternalError(
          absl::StrCat("cannot ", what, ": unexpected row")));
    }
    return Fail(rc, what);
  }

  // True for a row, false at the end.
  absl::StatusOr<bool> Next(Statement& stmt, absl::string_view what) {
    const int rc = stmt.Step();
    if (rc == SQLITE_ROW) return true;
    if (rc == SQLITE_DONE) return false;
    return Fail(rc, what);
  }

  // Runs a transaction-control statement (savepoints); any failure is
  // fatal.
  absl::Status Control(const char* sql, absl::string_view what) {
    if (sqlite3_get_autocommit(db_)) {
      return Fatal(absl::InternalError(
          "the database ended the transaction after an earlier error"));
    }
    absl::StatusOr<Statement> stmt = statements_.Prepare(db_, sql);
    if (!stmt.ok()) return Fatal(stmt.status());
    const int rc = stmt->Step();
    if (rc != SQLITE_DONE) return Fatal(SqliteError(db_, rc, what));
    return absl::OkStatus();
  }

  absl::Status Fail(int rc, absl::string_view what) {
    absl::Status status = SqliteError(db_, rc, what);
    if (!LeavesTransactionUsable(status)) return Fatal(status);
    return status;
  }

  absl::Status Corrupt(absl::string_view table) {
    return Fatal(absl::DataLossError(
        absl::StrCat("a row of table ", table,
                     " does not have the shape the schema promises")));
  }

  absl::Status Fatal(absl::Status status) {
    if (fatal_.ok()) fatal_ = status;
    return status;
  }

  sqlite3* const db_;
  StatementCache& statements_;
  absl::Status fatal_;
};

}  // namespace

absl::Status RunSqlcipherTransactionBody(
    sqlite3* db, StatementCache& statements,
    absl::FunctionRef<absl::Status(StoreTransaction&)> fn) {
  SqlcipherTransaction transaction(db, statements);
  absl::Status result = fn(transaction);
  if (result.ok()) result = transaction.fatal();
  return result;
}

}  // namespace tvault::vault
