// The vault database's schema and its migrations (SQLite 3.15 SQL: no
// UPSERT, RETURNING or window functions). Internal to vault/.
#ifndef TVAULT_VAULT_SQLCIPHER_SCHEMA_H_
#define TVAULT_VAULT_SQLCIPHER_SCHEMA_H_

#include <sqlite3.h>

#include <cstdint>
#include <string>

#include "absl/status/statusor.h"

namespace tvault::vault {

// Checks the vault marker (application_id and the meta row) and returns the
// schema version. FailedPrecondition for a database that is not a vault's
// or is newer than this program.
absl::StatusOr<int64_t> CheckMarker(sqlite3* db, const std::string& path);

// Brings the schema to SqlcipherStore::kSchemaVersion in one transaction.
absl::Status Migrate(sqlite3* db);

}  // namespace tvault::vault

#endif  // TVAULT_VAULT_SQLCIPHER_SCHEMA_H_
