// Small RAII helpers over the SQLite C API, shared by the SQLCipher store,
// its schema migrations and its transactions. Internal to vault/.
//
// Status mapping (store.h): SqliteError turns a SQLite result code into the
// store's status codes; LeavesTransactionUsable says which failures leave a
// transaction able to continue.
#ifndef TVAULT_VAULT_SQLITE_UTIL_H_
#define TVAULT_VAULT_SQLITE_UTIL_H_

#include <sqlite3.h>

#include <climits>
#include <cstdint>
#include <cstring>
#include <functional>
#include <map>
#include <memory>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "absl/types/span.h"
#include "crypto/statement.h"

namespace tvault::vault {

struct ConnectionCloser {
  void operator()(sqlite3* db) const { sqlite3_close_v2(db); }
};
using Connection = std::unique_ptr<sqlite3, ConnectionCloser>;

class StatementCache;

// Finalises a statement, or gives it back to the cache it came from.
struct StatementReleaser {
  StatementCache* cache = nullptr;
  void operator()(sqlite3_stmt* stmt) const;
};

// Maps a SQLite result code to the store's status codes (store.h).
absl::Status SqliteError(sqlite3* db, int rc, absl::string_view what);

// Whether a failed operation leaves the transaction usable (store.h).
bool LeavesTransactionUsable(const absl::Status& status);

// A prepared statement. Bind errors are kept and reported by Step.
class Statement {
 public:
  explicit Statement(sqlite3_stmt* stmt, StatementCache* cache = nullptr)
      : stmt_(stmt, StatementReleaser{cache}) {}

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

  std::unique_ptr<sqlite3_stmt, StatementReleaser> stmt_;
  int bind_rc_ = SQLITE_OK;
};

absl::StatusOr<Statement> Prepare(sqlite3* db, absl::string_view sql);

// Prepared statements of one connection, kept for reuse: preparing was a
// large part of a short transaction's CPU (issue 6). A Statement from
// Prepare goes back here (reset, bindings cleared) when it is destroyed;
// the same SQL used twice at once gets a second statement. At most
// kMaxIdle statements are kept. Not thread-safe: its owner uses it under
// the connection's lock, and calls Clear before closing the connection.
class StatementCache {
 public:
  static constexpr size_t kMaxIdle = 256;

  StatementCache() = default;
  StatementCache(const StatementCache&) = delete;
  StatementCache& operator=(const StatementCache&) = delete;
  ~StatementCache() { Clear(); }

  absl::StatusOr<Statement> Prepare(sqlite3* db, absl::string_view sql);
  // Finalises every idle statement.
  void Clear();

 private:
  friend struct StatementReleaser;
  void Return(sqlite3_stmt* stmt);

  std::map<std::string, std::vector<sqlite3_stmt*>, std::less<>> idle_;
  size_t idle_count_ = 0;
};

// Runs SQL that returns no rows the caller needs (several statements
// allowed).
absl::Status Exec(sqlite3* db, const char* sql, absl::string_view what);

// The first column of the first row, as text or integer. NotFound if no row.
absl::StatusOr<std::string> QueryText(sqlite3* db, absl::string_view sql);
absl::StatusOr<int64_t> QueryInt(sqlite3* db, absl::string_view sql);

// Sets a pragma and checks the value SQLite reports back.
absl::Status SetPragma(sqlite3* db, absl::string_view name,
                       absl::string_view value, absl::string_view expected);

}  // namespace tvault::vault

#endif  // TVAULT_VAULT_SQLITE_UTIL_H_
