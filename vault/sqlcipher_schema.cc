#include "vault/sqlcipher_schema.h"

#include <iterator>

#include "absl/strings/str_cat.h"
#include "vault/sqlcipher_store.h"
#include "vault/sqlite_util.h"

namespace tvault::vault {
namespace {

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

// Schema version 2 (issues 4 and 5): who takes part in which case (for
// listing a caller's cases without reading every descriptor), the Merkle
// tree's complete subtrees, the latest signed checkpoint, and the log
// index of each descriptor and grant (for clients' inclusion checks).
constexpr char kSchemaV2[] = R"sql(
ALTER TABLE descriptors ADD COLUMN log_index INTEGER NOT NULL DEFAULT 0
    CHECK (log_index >= 0);
ALTER TABLE grants ADD COLUMN log_index INTEGER NOT NULL DEFAULT 0
    CHECK (log_index >= 0);
CREATE TABLE case_participants (
  fingerprint BLOB NOT NULL CHECK (length(fingerprint) = 16),
  case_id BLOB NOT NULL REFERENCES cases (case_id),
  PRIMARY KEY (fingerprint, case_id)
) WITHOUT ROWID;
CREATE INDEX case_participants_by_case ON case_participants (case_id);
CREATE TABLE log_nodes (
  level INTEGER NOT NULL CHECK (level BETWEEN 0 AND 63),
  node_index INTEGER NOT NULL CHECK (node_index >= 0),
  hash BLOB NOT NULL CHECK (length(hash) = 32),
  PRIMARY KEY (level, node_index)
) WITHOUT ROWID;
CREATE TABLE latest_checkpoint (
  id INTEGER PRIMARY KEY CHECK (id = 1),
  tree_size INTEGER NOT NULL CHECK (tree_size >= 0),
  note BLOB NOT NULL
);
)sql";

// Schema version 3 (issue 6): uploads, their chunk rows, records,
// invites and deletions.
constexpr char kSchemaV3[] = R"sql(
CREATE TABLE uploads (
  record_id BLOB NOT NULL PRIMARY KEY CHECK (length(record_id) = 16),
  case_id BLOB NOT NULL REFERENCES cases (case_id),
  epoch INTEGER NOT NULL CHECK (epoch BETWEEN 0 AND 4294967295),
  total_size INTEGER NOT NULL CHECK (total_size > 0),
  sha256 BLOB NOT NULL CHECK (length(sha256) = 32),
  held_bytes INTEGER NOT NULL CHECK (held_bytes BETWEEN 0 AND total_size),
  uploader BLOB NOT NULL CHECK (length(uploader) = 32),
  expires_at INTEGER NOT NULL
);
CREATE INDEX uploads_by_uploader ON uploads (uploader);
CREATE INDEX uploads_by_expiry ON uploads (expires_at);
CREATE TABLE chunks (
  id INTEGER PRIMARY KEY,
  record_id BLOB NOT NULL CHECK (length(record_id) = 16),
  byte_offset INTEGER NOT NULL CHECK (byte_offset >= 0),
  data BLOB NOT NULL CHECK (length(data) BETWEEN 1 AND 1048576),
  UNIQUE (record_id, byte_offset)
);
CREATE TABLE records (
  record_id BLOB NOT NULL PRIMARY KEY CHECK (length(record_id) = 16),
  case_id BLOB NOT NULL REFERENCES cases (case_id),
  epoch INTEGER NOT NULL CHECK (epoch BETWEEN 0 AND 4294967295),
  size INTEGER NOT NULL CHECK (size > 0),
  sha256 BLOB NOT NULL CHECK (length(sha256) = 32),
  added_at INTEGER NOT NULL,
  log_index INTEGER NOT NULL CHECK (log_index >= 0),
  receipt_checkpoint BLOB NOT NULL,
  receipt_tree_size INTEGER NOT NULL CHECK (receipt_tree_size > log_index)
);
CREATE INDEX records_by_case ON records (case_id, record_id);
CREATE TABLE invites (
  invite_pk BLOB NOT NULL PRIMARY KEY CHECK (length(invite_pk) = 32),
  case_id BLOB NOT NULL REFERENCES cases (case_id),
  epoch INTEGER NOT NULL CHECK (epoch BETWEEN 0 AND 4294967295),
  expires INTEGER NOT NULL,
  uses_left INTEGER NOT NULL CHECK (uses_left >= 0),
  revoked INTEGER NOT NULL CHECK (revoked IN (0, 1)),
  statement BLOB NOT NULL
);
CREATE TABLE deletions (
  record_id BLOB NOT NULL PRIMARY KEY REFERENCES records (record_id),
  request_sha256 BLOB NOT NULL CHECK (length(request_sha256) = 32),
  statement BLOB NOT NULL,
  delete_after INTEGER NOT NULL,
  done INTEGER NOT NULL CHECK (done IN (0, 1))
);
CREATE INDEX deletions_due ON deletions (done, delete_after);
)sql";

struct Migration {
  int64_t version;  // the schema version after this step
  const char* sql;
};
constexpr Migration kMigrations[] = {
    {1, kSchemaV1},
    {2, kSchemaV2},
    {3, kSchemaV3},
};
static_assert(std::size(kMigrations) > 0 &&
                  kMigrations[std::size(kMigrations) - 1].version ==
                      SqlcipherStore::kSchemaVersion,
              "the last migration must reach kSchemaVersion");

}  // namespace

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

}  // namespace tvault::vault
