#include "vault/sqlcipher_store.h"

#include <fcntl.h>
#include <sodium.h>
#include <sqlite3.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <climits>
#include <cstring>
#include <filesystem>
#include <iterator>
#include <limits>
#include <thread>
#include <tuple>
#include <utility>

#include "absl/status/status.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/string_view.h"

namespace tvault::vault {
namespace {

constexpr char kWrongKeyMessage[] =
    "cannot open the vault database: wrong key, or not a vault database";

// Schema version 1 (issue 4). Later versions append a step to kMigrations;
// a step never changes once released. Every table is plain SQL understood
// by SQLite 3.15 (no UPSERT, RETURNING or window functions) and carries
// CHECKs on the lengths the domain types promise.
constexpr char kSchemaV1[] = R"sql(
CREATE TABLE accounts (
  cert_fingerprint BLOB NOT NULL PRIMARY KEY
      CHECK (length(cert_fingerprint) = 16),
  sign_pk BLOB NOT NULL UNIQUE CHECK (length(sign_pk) = 32),
  certificate BLOB NOT NULL,
  registered_at INTEGER NOT NULL
);
CREATE TABLE revocations (
  cert_fingerprint BLOB NOT NULL PRIMARY KEY
      CHECK (length(cert_fingerprint) = 16),
  statement BLOB NOT NULL,
  revoked_at INTEGER NOT NULL
);
CREATE TABLE cases (
  case_id BLOB NOT NULL PRIMARY KEY CHECK (length(case_id) = 16),
  genesis_hash BLOB NOT NULL CHECK (length(genesis_hash) = 32)
);
CREATE TABLE descriptors (
  id INTEGER PRIMARY KEY,
  case_id BLOB NOT NULL REFERENCES cases (case_id),
  epoch INTEGER NOT NULL CHECK (epoch BETWEEN 0 AND 4294967295),
  body_hash BLOB NOT NULL CHECK (length(body_hash) = 32),
  statement BLOB NOT NULL,
  UNIQUE (case_id, epoch, body_hash)
);
CREATE TABLE grants (
  case_id BLOB NOT NULL REFERENCES cases (case_id),
  epoch INTEGER NOT NULL CHECK (epoch BETWEEN 0 AND 4294967295),
  member_fingerprint BLOB NOT NULL CHECK (length(member_fingerprint) = 16),
  statement BLOB NOT NULL,
  ciphertext BLOB NOT NULL,
  PRIMARY KEY (case_id, epoch, member_fingerprint)
);
CREATE INDEX grants_by_member ON grants (case_id, member_fingerprint, epoch);
CREATE TABLE challenges (
  nonce BLOB NOT NULL PRIMARY KEY CHECK (length(nonce) = 32),
  expires_at INTEGER NOT NULL
);
CREATE INDEX challenges_by_expiry ON challenges (expires_at);
CREATE TABLE sessions (
  token_hash BLOB NOT NULL PRIMARY KEY CHECK (length(token_hash) = 32),
  sign_pk BLOB NOT NULL CHECK (length(sign_pk) = 32),
  kind TEXT NOT NULL CHECK (kind IN ('account', 'invite')),
  expires_at INTEGER NOT NULL
);
CREATE INDEX sessions_by_expiry ON sessions (expires_at);
CREATE TABLE log_entries (
  leaf_index INTEGER PRIMARY KEY CHECK (leaf_index >= 0),
  entry BLOB NOT NULL,
  leaf_hash BLOB NOT NULL CHECK (length(leaf_hash) = 32)
);
)sql";

struct Migration {
  int64_t version;  // the schema version after this step
  const char* sql;
};
constexpr Migration kMigrations[] = {
    {1, kSchemaV1},
};
static_assert(std::size(kMigrations) > 0 &&
                  kMigrations[std::size(kMigrations) - 1].version ==
                      SqlcipherStore::kSchemaVersion,
              "the last migration must reach kSchemaVersion");

struct ConnectionCloser {
  void operator()(sqlite3* db) const { sqlite3_close_v2(db); }
};
using Connection = std::unique_ptr<sqlite3, ConnectionCloser>;

struct StatementFinalizer {
  void operator()(sqlite3_stmt* stmt) const { sqlite3_finalize(stmt); }
};

// Maps a SQLite result code to the store's status codes (store.h).
absl::Status SqliteError(sqlite3* db, int rc, absl::string_view what) {
  const std::string message =
      absl::StrCat("cannot ", what, ": ",
                   db != nullptr ? sqlite3_errmsg(db) : sqlite3_errstr(rc));
  switch (rc) {
    case SQLITE_CONSTRAINT_PRIMARYKEY:
    case SQLITE_CONSTRAINT_UNIQUE:
      return absl::AlreadyExistsError(message);
    case SQLITE_CONSTRAINT_FOREIGNKEY:
      return absl::FailedPreconditionError(message);
    default:
      break;
  }
  switch (rc & 0xff) {
    case SQLITE_CONSTRAINT:
    case SQLITE_TOOBIG:
    case SQLITE_RANGE:
      return absl::InvalidArgumentError(message);
    case SQLITE_BUSY:
    case SQLITE_LOCKED:
      return absl::UnavailableError(message);
    case SQLITE_CORRUPT:
    case SQLITE_NOTADB:
      return absl::DataLossError(message);
    default:
      return absl::InternalError(message);
  }
}

// Whether a failed operation leaves the transaction usable (store.h).
bool LeavesTransactionUsable(const absl::Status& status) {
  switch (status.code()) {
    case absl::StatusCode::kAlreadyExists:
    case absl::StatusCode::kNotFound:
    case absl::StatusCode::kFailedPrecondition:
    case absl::StatusCode::kInvalidArgument:
    case absl::StatusCode::kOutOfRange:
      return true;
    default:
      return false;
  }
}

// A prepared statement. Bind errors are kept and reported by Step.
class Statement {
 public:
  explicit Statement(sqlite3_stmt* stmt) : stmt_(stmt) {}

  void BindBlob(int index, absl::Span<const uint8_t> bytes) {
    int rc;
    if (bytes.empty()) {
      // A null pointer would bind NULL, not an empty blob.
      rc = sqlite3_bind_zeroblob(stmt_.get(), index, 0);
    } else if (bytes.size() > static_cast<size_t>(INT_MAX)) {
      rc = SQLITE_TOOBIG;
    } else {
      // SQLITE_STATIC: the caller's bytes outlive the statement's use.
      rc = sqlite3_bind_blob(stmt_.get(), index, bytes.data(),
                             static_cast<int>(bytes.size()), SQLITE_STATIC);
    }
    Keep(rc);
  }
  void BindBlob(int index, absl::string_view bytes) {
    BindBlob(index, crypto::AsBytes(bytes));
  }
  void BindText(int index, absl::string_view text) {
    Keep(sqlite3_bind_text(stmt_.get(), index, text.data(),
                           static_cast<int>(text.size()), SQLITE_STATIC));
  }
  void BindInt(int index, int64_t value) {
    Keep(sqlite3_bind_int64(stmt_.get(), index, value));
  }

  // SQLITE_ROW, SQLITE_DONE or an error code.
  int Step() {
    if (bind_rc_ != SQLITE_OK) return bind_rc_;
    return sqlite3_step(stmt_.get());
  }

  int64_t Int(int column) const {
    return sqlite3_column_int64(stmt_.get(), column);
  }
  bool IsNull(int column) const {
    return sqlite3_column_type(stmt_.get(), column) == SQLITE_NULL;
  }
  std::string Bytes(int column) const {
    const void* data = sqlite3_column_blob(stmt_.get(), column);
    const int size = sqlite3_column_bytes(stmt_.get(), column);
    if (data == nullptr || size <= 0) return std::string();
    return std::string(static_cast<const char*>(data),
                       static_cast<size_t>(size));
  }
  std::string Text(int column) const {
    const unsigned char* data = sqlite3_column_text(stmt_.get(), column);
    const int size = sqlite3_column_bytes(stmt_.get(), column);
    if (data == nullptr || size <= 0) return std::string();
    return std::string(reinterpret_cast<const char*>(data),
                       static_cast<size_t>(size));
  }
  // False if the column does not hold exactly N bytes.
  template <size_t N>
  bool Array(int column, std::array<uint8_t, N>& out) const {
    const void* data = sqlite3_column_blob(stmt_.get(), column);
    const int size = sqlite3_column_bytes(stmt_.get(), column);
    if (data == nullptr || size < 0 || static_cast<size_t>(size) != N) {
      return false;
    }
    std::memcpy(out.data(), data, N);
    return true;
  }

 private:
  void Keep(int rc) {
    if (bind_rc_ == SQLITE_OK) bind_rc_ = rc;
  }

  std::unique_ptr<sqlite3_stmt, StatementFinalizer> stmt_;
  int bind_rc_ = SQLITE_OK;
};

absl::StatusOr<Statement> Prepare(sqlite3* db, absl::string_view sql) {
  sqlite3_stmt* stmt = nullptr;
  const int rc = sqlite3_prepare_v2(
      db, sql.data(), static_cast<int>(sql.size()), &stmt, nullptr);
  if (rc != SQLITE_OK) {
    sqlite3_finalize(stmt);
    return SqliteError(db, rc, "prepare a statement");
  }
  return Statement(stmt);
}

// Runs SQL that returns no rows the caller needs (several statements
// allowed).
absl::Status Exec(sqlite3* db, const char* sql, absl::string_view what) {
  const int rc = sqlite3_exec(db, sql, nullptr, nullptr, nullptr);
  if (rc != SQLITE_OK) return SqliteError(db, rc, what);
  return absl::OkStatus();
}

// The first column of the first row, as text. NotFound if no row.
absl::StatusOr<std::string> QueryText(sqlite3* db, absl::string_view sql) {
  absl::StatusOr<Statement> stmt = Prepare(db, sql);
  if (!stmt.ok()) return stmt.status();
  const int rc = stmt->Step();
  if (rc == SQLITE_DONE) {
    return absl::NotFoundError(absl::StrCat("no answer to ", sql));
  }
  if (rc != SQLITE_ROW) return SqliteError(db, rc, sql);
  return stmt->Text(0);
}

absl::StatusOr<int64_t> QueryInt(sqlite3* db, absl::string_view sql) {
  absl::StatusOr<Statement> stmt = Prepare(db, sql);
  if (!stmt.ok()) return stmt.status();
  const int rc = stmt->Step();
  if (rc == SQLITE_DONE) {
    return absl::NotFoundError(absl::StrCat("no answer to ", sql));
  }
  if (rc != SQLITE_ROW) return SqliteError(db, rc, sql);
  return stmt->Int(0);
}

// Sets a pragma and checks the value SQLite reports back.
absl::Status SetPragma(sqlite3* db, absl::string_view name,
                       absl::string_view value, absl::string_view expected) {
  absl::Status set =
      Exec(db, absl::StrCat("PRAGMA ", name, " = ", value).c_str(),
           absl::StrCat("set PRAGMA ", name));
  if (!set.ok()) return set;
  absl::StatusOr<std::string> got =
      QueryText(db, absl::StrCat("PRAGMA ", name));
  if (!got.ok()) {
    return absl::InternalError(absl::StrCat("cannot read back PRAGMA ", name,
                                            ": ", got.status().message()));
  }
  if (*got != expected) {
    return absl::InternalError(absl::StrCat("PRAGMA ", name, " = ", value,
                                            " did not take effect (", *got,
                                            " instead of ", expected, ")"));
  }
  return absl::OkStatus();
}

absl::Status InvalidKeySize(size_t size) {
  return absl::InvalidArgumentError(absl::StrCat("the vault key must be ",
                                                 SqlcipherStore::kKeySize,
                                                 " bytes, not ", size));
}

bool PathExists(const std::string& path) {
  struct stat st;
  return ::lstat(path.c_str(), &st) == 0 || errno != ENOENT;
}

// Opens `path` (which must exist), applies the key and the page size, and
// reads the schema so that a wrong key shows up now.
absl::StatusOr<Connection> OpenKeyed(const std::string& path,
                                     const crypto::SecretBytes& key) {
  sqlite3* raw = nullptr;
  const int rc =
      sqlite3_open_v2(path.c_str(), &raw, SQLITE_OPEN_READWRITE, nullptr);
  Connection db(raw);
  if (rc != SQLITE_OK) {
    return absl::InternalError(absl::StrCat(
        "cannot open the vault database at ", path, ": ",
        db != nullptr ? sqlite3_errmsg(db.get()) : sqlite3_errstr(rc)));
  }
  sqlite3_extended_result_codes(db.get(), 1);

  // SQLCipher's raw-key form: the 67 bytes x'<64 lowercase hex digits>'.
  // Built in protected memory; SQLCipher copies it and we wipe ours.
  constexpr size_t kHexSize = 2 * SqlcipherStore::kKeySize;
  crypto::SecretBytes literal(kHexSize + 3);
  literal.data()[0] = 'x';
  literal.data()[1] = '\'';
  // Writes the hex digits and a NUL (kHexSize + 1 bytes) from offset 2; the
  // NUL is then replaced by the closing quote.
  sodium_bin2hex(reinterpret_cast<char*>(literal.data() + 2), kHexSize + 1,
                 key.data(), key.size());
  literal.data()[kHexSize + 2] = '\'';
  const int key_rc =
      sqlite3_key(db.get(), literal.data(), static_cast<int>(literal.size()));
  if (key_rc != SQLITE_OK) {
    return SqliteError(db.get(), key_rc, "set the vault database key");
  }

  // Must precede the first read, which decrypts page 1.
  absl::Status page_size =
      SetPragma(db.get(), "cipher_page_size",
                absl::StrCat(SqlcipherStore::kCipherPageSize),
                absl::StrCat(SqlcipherStore::kCipherPageSize));
  if (!page_size.ok()) return page_size;

  absl::StatusOr<int64_t> tables =
      QueryInt(db.get(), "SELECT count(*) FROM sqlite_master");
  if (!tables.ok()) {
    // SQLCipher reports a page that fails its HMAC as SQLITE_NOTADB: a
    // wrong key, a plain SQLite file and random bytes all look alike.
    // (SqliteError maps both NOTADB and CORRUPT to DataLoss.)
    if (tables.status().code() == absl::StatusCode::kDataLoss) {
      return absl::PermissionDeniedError(kWrongKeyMessage);
    }
    return tables.status();
  }
  return db;
}

// The settings every connection gets (sqlcipher_store.h).
absl::Status ConfigureConnection(sqlite3* db) {
  absl::StatusOr<std::string> mode = QueryText(db, "PRAGMA journal_mode = WAL");
  if (!mode.ok()) return mode.status();
  if (*mode != "wal") {
    return absl::InternalError(absl::StrCat(
        "PRAGMA journal_mode = WAL did not take effect (", *mode, ")"));
  }
  for (const auto& [name, value, expected] :
       {std::tuple<const char*, const char*, const char*>{"synchronous", "FULL",
                                                          "2"},
        {"secure_delete", "ON", "1"},
        {"foreign_keys", "ON", "1"},
        {"temp_store", "MEMORY", "2"}}) {
    absl::Status status = SetPragma(db, name, value, expected);
    if (!status.ok()) return status;
  }
  const int rc = sqlite3_busy_timeout(db, SqlcipherStore::kBusyTimeoutMs);
  if (rc != SQLITE_OK) return SqliteError(db, rc, "set the busy timeout");
  return absl::OkStatus();
}

// Checks the vault marker and returns the schema version.
absl::StatusOr<int64_t> CheckMarker(sqlite3* db, const std::string& path) {
  const absl::Status not_vault = absl::FailedPreconditionError(absl::StrCat(
      "the database at ", path,
      " is not a Testimony Vault database (it has no vault marker); refusing "
      "to open it"));
  absl::StatusOr<int64_t> application_id =
      QueryInt(db, "PRAGMA application_id");
  if (!application_id.ok()) return application_id.status();
  if (*application_id != SqlcipherStore::kApplicationId) return not_vault;

  absl::StatusOr<int64_t> has_meta = QueryInt(
      db,
      "SELECT count(*) FROM sqlite_master WHERE type = 'table' AND name = "
      "'meta'");
  if (!has_meta.ok()) return has_meta.status();
  if (*has_meta != 1) return not_vault;

  absl::StatusOr<Statement> stmt =
      Prepare(db, "SELECT format, schema_version FROM meta WHERE id = 1");
  if (!stmt.ok()) return not_vault;
  const int rc = stmt->Step();
  if (rc == SQLITE_DONE) return not_vault;
  if (rc != SQLITE_ROW) return SqliteError(db, rc, "read the vault marker");
  if (stmt->Text(0) != SqlcipherStore::kFormatName) return not_vault;
  const int64_t version = stmt->Int(1);
  if (version > SqlcipherStore::kSchemaVersion) {
    return absl::FailedPreconditionError(
        absl::StrCat("the vault database has schema version ", version,
                     ", newer than this program understands (",
                     SqlcipherStore::kSchemaVersion, "); use a newer tvaultd"));
  }
  if (version < 0) {
    return absl::DataLossError(
        "the vault database's schema version is negative");
  }
  return version;
}

// Brings the schema to kSchemaVersion in one transaction.
absl::Status Migrate(sqlite3* db) {
  absl::Status begin = Exec(db, "BEGIN IMMEDIATE", "start the migration");
  if (!begin.ok()) return begin;
  absl::Status status = [&]() -> absl::Status {
    absl::StatusOr<int64_t> version =
        QueryInt(db, "SELECT schema_version FROM meta WHERE id = 1");
    if (!version.ok()) return version.status();
    if (*version > SqlcipherStore::kSchemaVersion) {
      return absl::FailedPreconditionError(
          "the vault database's schema is newer than this program");
    }
    for (const Migration& step : kMigrations) {
      if (step.version <= *version) continue;
      const std::string what = absl::StrCat(
          "migrate the vault database to schema version ", step.version);
      absl::Status applied = Exec(db, step.sql, what);
      if (!applied.ok()) return applied;
      applied =
          Exec(db,
               absl::StrCat("UPDATE meta SET schema_version = ", step.version,
                            " WHERE id = 1")
                   .c_str(),
               what);
      if (!applied.ok()) return applied;
    }
    return Exec(db, "COMMIT", "commit the migration");
  }();
  if (!status.ok() && !sqlite3_get_autocommit(db)) {
    sqlite3_exec(db, "ROLLBACK", nullptr, nullptr, nullptr);
  }
  return status;
}

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
  explicit SqlcipherTransaction(sqlite3* db) : db_(db) {}

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
        "INSERT INTO descriptors (case_id, epoch, body_hash, statement) "
        "VALUES (?1, ?2, ?3, ?4)");
    if (!stmt.ok()) return stmt.status();
    stmt->BindBlob(1, descriptor.case_id);
    stmt->BindInt(2, descriptor.epoch);
    stmt->BindBlob(3, descriptor.body_hash);
    stmt->BindBlob(4, descriptor.statement);
    return Done(*stmt, "store the descriptor");
  }

  absl::StatusOr<std::vector<DescriptorRow>> ListDescriptors(
      const CaseId& case_id) override {
    absl::StatusOr<Statement> stmt = Start(
        "SELECT case_id, epoch, body_hash, statement FROM descriptors "
        "WHERE case_id = ?1 ORDER BY epoch, id");
    if (!stmt.ok()) return stmt.status();
    stmt->BindBlob(1, case_id);
    std::vector<DescriptorRow> out;
    while (true) {
      absl::StatusOr<bool> row = Next(*stmt, "read descriptors");
      if (!row.ok()) return row.status();
      if (!*row) break;
      DescriptorRow& d = out.emplace_back();
      if (!stmt->Array(0, d.case_id) || !Epoch(*stmt, 1, d.epoch) ||
          !stmt->Array(2, d.body_hash)) {
        return Corrupt("descriptors");
      }
      d.statement = stmt->Bytes(3);
    }
    return out;
  }

  absl::Status InsertGrant(const GrantRow& grant) override {
    absl::StatusOr<Statement> stmt = Start(
        "INSERT INTO grants (case_id, epoch, member_fingerprint, statement, "
        "ciphertext) VALUES (?1, ?2, ?3, ?4, ?5)");
    if (!stmt.ok()) return stmt.status();
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
        "SELECT case_id, epoch, member_fingerprint, statement, ciphertext "
        "FROM grants WHERE case_id = ?1 AND member_fingerprint = ?2 "
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
          !stmt->Array(2, g.member_fingerprint)) {
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
    int64_t removed = 0;
    for (const char* sql : {"DELETE FROM challenges WHERE expires_at <= ?1",
                            "DELETE FROM sessions WHERE expires_at <= ?1"}) {
      absl::StatusOr<Statement> stmt = Start(sql);
      if (!stmt.ok()) return stmt.status();
      stmt->BindInt(1, now);
      absl::Status done = Done(*stmt, "remove expired challenges and sessions");
      if (!done.ok()) return done;
      removed += sqlite3_changes(db_);
    }
    return removed;
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

 private:
  static absl::string_view KindName(SessionKind kind) {
    return kind == SessionKind::kAccount ? "account" : "invite";
  }

  static bool Epoch(const Statement& stmt, int column, uint32_t& out) {
    const int64_t value = stmt.Int(column);
    if (value < 0 || value > std::numeric_limits<uint32_t>::max()) {
      return false;
    }
    out = static_cast<uint32_t>(value);
    return true;
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
    absl::StatusOr<Statement> stmt = Prepare(db_, sql);
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
  absl::Status fatal_;
};

// Makes the new file's directory entry durable: SQLite syncs the directory
// of the journals it creates, not of a main file someone else created.
absl::Status SyncParentDirectory(const std::string& path) {
  const std::filesystem::path parent =
      std::filesystem::path(path).parent_path();
  const char* dir = parent.empty() ? "." : parent.c_str();
  const int fd = ::open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  if (fd < 0 || ::fsync(fd) != 0) {
    const int saved = errno;
    if (fd >= 0) ::close(fd);
    return absl::InternalError(
        absl::StrCat("cannot sync the directory ", dir, ": ", strerror(saved)));
  }
  ::close(fd);
  return absl::OkStatus();
}

// Removes a partly created database and its companions.
void RemoveDatabaseFiles(const std::string& path) {
  for (const char* suffix : {"", "-wal", "-shm", "-journal"}) {
    ::unlink(absl::StrCat(path, suffix).c_str());
  }
}

}  // namespace

absl::StatusOr<std::unique_ptr<SqlcipherStore>> SqlcipherStore::Create(
    const std::string& path, const crypto::SecretBytes& key) {
  if (key.size() != kKeySize) return InvalidKeySize(key.size());
  crypto::EnsureSodiumInitialized();
  for (const char* suffix : {"-wal", "-journal"}) {
    // A leftover journal would be replayed into the new database.
    if (PathExists(absl::StrCat(path, suffix))) {
      return absl::AlreadyExistsError(
          absl::StrCat("a journal file ", path, suffix,
                       " already exists; refusing to create a vault there"));
    }
  }
  // O_EXCL: the file is ours, created now, readable by its owner only.
  const int fd = ::open(path.c_str(), O_CREAT | O_EXCL | O_WRONLY | O_CLOEXEC,
                        S_IRUSR | S_IWUSR);
  if (fd < 0) {
    if (errno == EEXIST) {
      return absl::AlreadyExistsError(absl::StrCat(
          "a file already exists at ", path, "; refusing to create a vault"));
    }
    return absl::InternalError(absl::StrCat(
        "cannot create the vault database at ", path, ": ", strerror(errno)));
  }
  ::close(fd);

  absl::StatusOr<std::unique_ptr<SqlcipherStore>> store =
      [&]() -> absl::StatusOr<std::unique_ptr<SqlcipherStore>> {
    absl::StatusOr<Connection> db = OpenKeyed(path, key);
    if (!db.ok()) return db.status();
    absl::Status status = ConfigureConnection(db->get());
    if (!status.ok()) return status;
    status = Exec(db->get(),
                  absl::StrCat("BEGIN IMMEDIATE;"
                               "PRAGMA application_id = ",
                               kApplicationId,
                               ";"
                               "CREATE TABLE meta ("
                               "  id INTEGER PRIMARY KEY CHECK (id = 1),"
                               "  format TEXT NOT NULL,"
                               "  schema_version INTEGER NOT NULL);"
                               "INSERT INTO meta (id, format, schema_version) "
                               "VALUES (1, '",
                               kFormatName,
                               "', 0);"
                               "COMMIT;")
                      .c_str(),
                  "mark the new vault database");
    if (!status.ok()) return status;
    status = Migrate(db->get());
    if (!status.ok()) return status;
    status = SyncParentDirectory(path);
    if (!status.ok()) return status;
    return std::unique_ptr<SqlcipherStore>(new SqlcipherStore(db->release()));
  }();
  if (!store.ok()) {
    RemoveDatabaseFiles(path);
    if (store.status().code() == absl::StatusCode::kInternal) {
      return store.status();
    }
    return absl::InternalError(
        absl::StrCat("cannot create the vault database at ", path, ": ",
                     store.status().message()));
  }
  return store;
}

absl::StatusOr<std::unique_ptr<SqlcipherStore>> SqlcipherStore::Open(
    const std::string& path, const crypto::SecretBytes& key) {
  if (key.size() != kKeySize) return InvalidKeySize(key.size());
  crypto::EnsureSodiumInitialized();
  struct stat st;
  if (::stat(path.c_str(), &st) != 0) {
    if (errno == ENOENT) {
      return absl::NotFoundError(
          absl::StrCat("there is no vault database at ", path));
    }
    return absl::InternalError(absl::StrCat(
        "cannot open the vault database at ", path, ": ", strerror(errno)));
  }
  absl::StatusOr<Connection> db = OpenKeyed(path, key);
  if (!db.ok()) return db.status();
  // The marker comes before anything that could write (journal_mode = WAL
  // rewrites the header), so a foreign database is left untouched.
  absl::StatusOr<int64_t> version = CheckMarker(db->get(), path);
  if (!version.ok()) return version.status();
  absl::Status status = ConfigureConnection(db->get());
  if (!status.ok()) return status;
  status = Migrate(db->get());
  if (!status.ok()) return status;
  return std::unique_ptr<SqlcipherStore>(new SqlcipherStore(db->release()));
}

SqlcipherStore::~SqlcipherStore() {
  MutexLock lock(mu_);
  sqlite3_close_v2(db_);
}

absl::Status SqlcipherStore::CheckNotReentrant() const {
  if (transaction_thread_.load() == std::this_thread::get_id()) {
    return absl::FailedPreconditionError(
        "the vault store was called from inside one of its own transactions");
  }
  return absl::OkStatus();
}

absl::Status SqlcipherStore::RunInTransaction(
    absl::FunctionRef<absl::Status(StoreTransaction&)> fn) {
  absl::Status reentrant = CheckNotReentrant();
  if (!reentrant.ok()) return reentrant;
  MutexLock lock(mu_);
  absl::Status result = Exec(db_, "BEGIN IMMEDIATE", "start a transaction");
  if (!result.ok()) return result;

  transaction_thread_.store(std::this_thread::get_id());
  {
    SqlcipherTransaction transaction(db_);
    result = fn(transaction);
    if (result.ok()) result = transaction.fatal();
  }
  transaction_thread_.store(std::thread::id());

  if (result.ok()) {
    if (sqlite3_get_autocommit(db_)) {
      result = absl::InternalError(
          "the database ended the transaction after an error");
    } else {
      result = Exec(db_, "COMMIT", "commit the transaction");
    }
  }
  if (!result.ok() && !sqlite3_get_autocommit(db_)) {
    // If even ROLLBACK fails there is nothing better to report than
    // `result`; the next BEGIN then fails too, so nothing commits by
    // accident.
    sqlite3_exec(db_, "ROLLBACK", nullptr, nullptr, nullptr);
  }
  return result;
}

absl::StatusOr<SqlcipherStore::ConnectionSettings>
SqlcipherStore::ReadConnectionSettings() {
  absl::Status reentrant = CheckNotReentrant();
  if (!reentrant.ok()) return reentrant;
  MutexLock lock(mu_);
  ConnectionSettings out;
  absl::StatusOr<std::string> text = QueryText(db_, "PRAGMA journal_mode");
  if (!text.ok()) return text.status();
  out.journal_mode = *text;
  text = QueryText(db_, "PRAGMA cipher_version");
  if (!text.ok()) return text.status();
  out.cipher_version = *text;
  for (const auto& [sql, field] :
       {std::pair<const char*, int64_t*>{"PRAGMA synchronous",
                                         &out.synchronous},
        {"PRAGMA temp_store", &out.temp_store},
        {"PRAGMA page_size", &out.page_size},
        {"PRAGMA cipher_page_size", &out.cipher_page_size},
        {"SELECT schema_version FROM meta WHERE id = 1",
         &out.schema_version}}) {
    absl::StatusOr<int64_t> value = QueryInt(db_, sql);
    if (!value.ok()) return value.status();
    *field = *value;
  }
  absl::StatusOr<int64_t> flag = QueryInt(db_, "PRAGMA secure_delete");
  if (!flag.ok()) return flag.status();
  out.secure_delete = *flag == 1;
  flag = QueryInt(db_, "PRAGMA foreign_keys");
  if (!flag.ok()) return flag.status();
  out.foreign_keys = *flag == 1;
  return out;
}

}  // namespace tvault::vault
