// The SQLCipher implementation of StoreTransaction. Internal to vault/.
#ifndef TVAULT_VAULT_SQLCIPHER_TRANSACTION_H_
#define TVAULT_VAULT_SQLCIPHER_TRANSACTION_H_

#include <sqlite3.h>

#include "absl/functional/function_ref.h"
#include "absl/status/status.h"
#include "vault/sqlite_util.h"
#include "vault/store.h"

namespace tvault::vault {

// Runs `fn` on a StoreTransaction bound to `db`, which the caller has put
// inside BEGIN and will COMMIT or ROLLBACK, preparing its statements
// through `statements` (the connection's). Returns fn's error, or else the
// first failure after which the transaction must not commit (store.h).
absl::Status RunSqlcipherTransactionBody(
    sqlite3* db, StatementCache& statements,
    absl::FunctionRef<absl::Status(StoreTransaction&)> fn);

}  // namespace tvault::vault

#endif  // TVAULT_VAULT_SQLCIPHER_TRANSACTION_H_
