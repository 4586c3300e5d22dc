// The files of a vault's data directory (vault/tvaultd_init.h) and the
// database key file, read back by `tvaultd serve`.
//
// Secrets (the database key, the TLS private key, the log signing key) are
// read straight into SecretBytes and never pass through std::string here.
// Files holding them are refused (FailedPrecondition) if group or others
// have any permission on them: the operator is told which chmod to run.
// Messages name the file and what is wrong, never its contents.
#ifndef TVAULT_VAULT_DATA_DIR_H_
#define TVAULT_VAULT_DATA_DIR_H_

#include <string>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "crypto/secret_bytes.h"
#include "crypto/signed_note.h"
#include "crypto/statement.h"
#include "vault/tls_identity.h"

namespace tvault::vault {

// The organisation root's public key from 64 lowercase hex digits.
// InvalidArgument unless exactly that and a valid Ed25519 key.
absl::StatusOr<crypto::SignPublicKey> ParseOrgKeyHex(absl::string_view hex);

// Reads the database key file: a regular file, mode 0600 or stricter,
// holding exactly 64 hex digits (a 32-byte key), optionally followed by one
// "\n". NotFound if it cannot be opened, FailedPrecondition for loose
// permissions, InvalidArgument for any other content.
absl::StatusOr<crypto::SecretBytes> ReadDbKeyFile(const std::string& path);

// What `tvaultd serve` needs from the data directory besides the database.
struct VaultFiles {
  crypto::SignPublicKey org_pk{};
  std::string tls_certificate_pem;
  crypto::SecretBytes tls_private_key_pem;
  TlsKeyPin tls_pin{};  // of tls_certificate_pem
  crypto::NoteSigner log_signer;
};

// Reads org-key.hex, tls.crt, tls.key and log-signing.key from `data_dir`.
// NotFound for a missing file, FailedPrecondition for a secret file that
// group or others can access, InvalidArgument for malformed content.
absl::StatusOr<VaultFiles> LoadVaultFiles(const std::string& data_dir);

// Replaces `path` with `data` (mode 0600): a temporary file beside it,
// fsync'ed, renamed over it, and the directory fsync'ed, so a reader sees
// the old content or the new, never part of it. Internal, naming `what`
// and the path, on failure (the temporary file is then removed).
absl::Status ReplaceFileDurably(const std::string& path, absl::string_view data,
                                absl::string_view what);

}  // namespace tvault::vault

#endif  // TVAULT_VAULT_DATA_DIR_H_
