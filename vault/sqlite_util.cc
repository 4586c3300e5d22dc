#include "vault/sqlite_util.h"

#include "absl/strings/str_cat.h"

namespace tvault::vault {

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

void StatementReleaser::operator()(sqlite3_stmt* stmt) const {
  if (cache != nullptr) {
    cache->Return(stmt);
  } else {
    sqlite3_finalize(stmt);
  }
}

absl::StatusOr<Statement> StatementCache::Prepare(sqlite3* db,
                                                  absl::string_view sql) {
  auto it = idle_.find(sql);
  if (it != idle_.end() && !it->second.empty()) {
    sqlite3_stmt* stmt = it->second.back();
    it->second.pop_back();
    --idle_count_;
    return Statement(stmt, this);
  }
  sqlite3_stmt* stmt = nullptr;
  const int rc = sqlite3_prepare_v2(
      db, sql.data(), static_cast<int>(sql.size()), &stmt, nullptr);
  if (rc != SQLITE_OK) {
    sqlite3_finalize(stmt);
    return SqliteError(db, rc, "prepare a statement");
  }
  // Kept only if it can be found again by the same text.
  const char* text = sqlite3_sql(stmt);
  if (text == nullptr || absl::string_view(text) != sql) return Statement(stmt);
  return Statement(stmt, this);
}

void StatementCache::Return(sqlite3_stmt* stmt) {
  sqlite3_reset(stmt);
  sqlite3_clear_bindings(stmt);
  if (idle_count_ >= kMaxIdle) {
    sqlite3_finalize(stmt);
    return;
  }
  idle_[sqlite3_sql(stmt)].push_back(stmt);
  ++idle_count_;
}

void StatementCache::Clear() {
  for (auto& [sql, statements] : idle_) {
    for (sqlite3_stmt* stmt : statements) sqlite3_finalize(stmt);
  }
  idle_.clear();
  idle_count_ = 0;
}

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

}  // namespace tvault::vault
