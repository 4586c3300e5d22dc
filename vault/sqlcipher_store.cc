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
#include "vault/sqlcipher_schema.h"
#include "vault/sqlcipher_transaction.h"
#include "vault/sqlite_util.h"

namespace tvault::vault {
namespace {

constexpr char kWrongKeyMessage[] =
    "cannot open the vault database: wrong key, or not a vault database";

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

SqlcipherStore::SqlcipherStore(sqlite3* db)
    : db_(db), statements_(std::make_unique<StatementCache>()) {}

SqlcipherStore::~SqlcipherStore() {
  MutexLock lock(mu_);
  statements_->Clear();
  sqlite3_close_v2(db_);
}

absl::Status SqlcipherStore::CheckNotReentrant() const {
  if (transaction_thread_.load() == std::this_thread::get_id()) {
    return absl::FailedPreconditionError(
        "the vault store was called from inside one of its own transactions");
  }
  return absl::OkStatus();
}

absl::Status SqlcipherStore::TruncateWal() {
  absl::Status reentrant = CheckNotReentrant();
  if (!reentrant.ok()) return reentrant;
  MutexLock lock(mu_);
  int log_frames = 0;
  int checkpointed = 0;
  const int rc = sqlite3_wal_checkpoint_v2(
      db_, nullptr, SQLITE_CHECKPOINT_TRUNCATE, &log_frames, &checkpointed);
  if (rc == SQLITE_BUSY) {
    return absl::UnavailableError(
        "the write-ahead log could not be emptied: another reader holds it");
  }
  if (rc != SQLITE_OK) return SqliteError(db_, rc, "empty the write-ahead log");
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
  { result = RunSqlcipherTransactionBody(db_, *statements_, fn); }
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
