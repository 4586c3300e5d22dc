// The embedded Store backend (DESIGN.md §8): one SQLCipher 3.4.1 database
// file (SQLite 3.15), encrypted page by page.
//
// Key
// - 32 random bytes held in SecretBytes, given to sqlite3_key() as a raw
//   key (SQLCipher's x'<64 hex digits>' form, built in SecretBytes), never
//   in SQL text, so no passphrase KDF runs and the key never passes through
//   a std::string. SQLCipher copies the key into its own memory; the store
//   keeps no copy.
//
// What is encrypted
// - Every database page, in the main file and in the WAL (SQLCipher
//   encrypts pages as they are written to either), with a per-page HMAC.
// - NOT encrypted: the main file's first 16 bytes (a random salt), the WAL
//   file's 32-byte header and each frame's 24-byte header (page numbers,
//   commit markers, salts, checksums), and the -shm wal-index (page
//   numbers only). An observer learns the page count and the write
//   pattern, not the contents.
//
// Every connection is set up the same way, and each setting is read back:
//   PRAGMA cipher_page_size = 4096   (after sqlite3_key, before first read)
//   PRAGMA journal_mode = WAL        (persistent; must answer "wal")
//   PRAGMA synchronous = FULL        (WAL is fsync'ed at every commit)
//   PRAGMA secure_delete = ON        (freed content is overwritten)
//   PRAGMA foreign_keys = ON
//   PRAGMA temp_store = MEMORY       (no plaintext temporary files)
//   busy timeout kBusyTimeoutMs
// No SQLCipher 4 pragma is used (3.4.1 silently ignores unknown pragmas),
// and no full-text search.
//
// Create vs Open
// - Create makes a new file (mode 0600) and marks it as a vault: the header
//   carries PRAGMA application_id = kApplicationId, and a one-row `meta`
//   table holds the format name kFormatName and the schema version. It then
//   brings the schema to kSchemaVersion.
// - Open refuses any database without that marker, and never creates a
//   file. At Open, pending migrations run in order, in one transaction; a
//   database whose schema is newer than this code is refused untouched.
//
// Thread safety
// - Thread-safe. One connection, behind a mutex: transactions from several
//   threads run one after the other, each blocking the others for as long
//   as its callback runs. Callbacks therefore must not wait on the network
//   or on other threads. The busy timeout only matters when another
//   process (a backup, an operator's sqlcipher shell) holds the file.
// - Open each database file through one SqlcipherStore per process.
// - Prepared statements are kept per connection and reused (reset and
//   unbound between uses), not prepared again for every transaction.
#ifndef TVAULT_VAULT_SQLCIPHER_STORE_H_
#define TVAULT_VAULT_SQLCIPHER_STORE_H_

#include <atomic>
#include <cstddef>
#include <cstdint>
#include <memory>
#include <string>
#include <thread>

#include "absl/base/thread_annotations.h"
#include "absl/status/statusor.h"
#include "crypto/mutex.h"
#include "crypto/secret_bytes.h"
#include "vault/store.h"

struct sqlite3;

namespace tvault::vault {

class StatementCache;  // sqlite_util.h

class SqlcipherStore final : public Store {
 public:
  static constexpr size_t kKeySize = 32;
  // "TVv1" in the database header (PRAGMA application_id).
  static constexpr int32_t kApplicationId = 0x54567631;
  static constexpr char kFormatName[] = "tvault-vault";
  // The schema this code writes; Open migrates older databases up to it.
  static constexpr int64_t kSchemaVersion = 3;
  static constexpr int kCipherPageSize = 4096;
  static constexpr int kBusyTimeoutMs = 5000;

  // Creates a new vault database at `path` under `key`.
  // - InvalidArgument if the key is not kKeySize bytes.
  // - AlreadyExists if `path` (or a leftover `path`-wal or -journal) exists.
  // - Internal if the file cannot be created or set up; the partly made
  //   file is then removed.
  static absl::StatusOr<std::unique_ptr<SqlcipherStore>> Create(
      const std::string& path, const crypto::SecretBytes& key);

  // Opens an existing vault database.
  // - InvalidArgument if the key is not kKeySize bytes (an empty key is
  //   refused here: SQLCipher would otherwise open the file unencrypted).
  // - NotFound if there is no file at `path`.
  // - PermissionDenied, "cannot open the vault database: wrong key, or not
  //   a vault database", if the pages do not decrypt under `key` (a wrong
  //   key, a plain SQLite file, or not a database at all; SQLCipher cannot
  //   tell these apart).
  // - FailedPrecondition if the file decrypts but lacks the vault marker,
  //   or its schema version is newer than kSchemaVersion.
  // - Internal if a connection setting does not take effect or a
  //   migration fails (the migration is then rolled back).
  static absl::StatusOr<std::unique_ptr<SqlcipherStore>> Open(
      const std::string& path, const crypto::SecretBytes& key);

  SqlcipherStore(const SqlcipherStore&) = delete;
  SqlcipherStore& operator=(const SqlcipherStore&) = delete;
  // Closes the connection. Committed data is already durable; closing the
  // last connection also checkpoints the WAL into the main file. Must not
  // run while another thread is inside RunInTransaction.
  ~SqlcipherStore() override;

  // Store. Transactions are BEGIN IMMEDIATE (the write lock is taken at
  // the start, so a commit never fails for a lock taken in between).
  absl::Status RunInTransaction(
      absl::FunctionRef<absl::Status(StoreTransaction&)> fn) override;
  absl::Status TruncateWal() override;

  // The connection's settings as SQLite reports them now, for tests and
  // for an operator's status page.
  struct ConnectionSettings {
    std::string journal_mode;  // "wal"
    int64_t synchronous = 0;   // 2 = FULL
    bool secure_delete = false;
    bool foreign_keys = false;
    int64_t temp_store = 0;  // 2 = MEMORY
    int64_t page_size = 0;
    int64_t cipher_page_size = 0;
    std::string cipher_version;  // "3.4.1"
    int64_t schema_version = 0;
  };
  absl::StatusOr<ConnectionSettings> ReadConnectionSettings();

 private:
  explicit SqlcipherStore(sqlite3* db);

  // Returns FailedPrecondition if the calling thread is inside one of this
  // store's transactions (the mutex is not recursive).
  absl::Status CheckNotReentrant() const;

  Mutex mu_;
  sqlite3* const db_ ABSL_PT_GUARDED_BY(mu_);
  // The connection's prepared statements, reused across transactions.
  const std::unique_ptr<StatementCache> statements_ ABSL_PT_GUARDED_BY(mu_);
  // The thread running a RunInTransaction callback, if any.
  std::atomic<std::thread::id> transaction_thread_{};
};

}  // namespace tvault::vault

#endif  // TVAULT_VAULT_SQLCIPHER_STORE_H_
