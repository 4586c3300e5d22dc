// `tvaultd init` (DESIGN.md §8): creates a vault's data directory and
// returns the unsigned server bundle for the administrator to sign.
//
//   tvaultd init --data-dir DIR --org-key HEX --db-key-file PATH
//                --origin NAME (--address HOST:PORT)...
//
// What it creates, in DIR (mode 0700; DIR must not exist, or be an empty
// directory, and its parent must exist):
//   vault.db         the SQLCipher database (SqlcipherStore::Create), 0600
//   log-signing.key  the log's signed-note signer key
//                    (PRIVATE+KEY+<origin>+<id>+<base64>, key name = origin)
//                    followed by "\n", 0600
//   tls.key          the TLS private key, PKCS#8 PEM, 0600
//   tls.crt          the self-signed TLS certificate, PEM, 0644
//   org-key.hex      the organisation root's public key, 64 lowercase hex
//                    digits and "\n", 0600
// Every file is written with O_EXCL, fsync'ed, and the directory fsync'ed.
//
// The database key
// - Read from PATH, which must be a regular file holding exactly 64 hex
//   digits (a 32-byte key), optionally followed by one "\n" — what
//   `(umask 077; openssl rand -hex 32 > PATH)` writes. The key is never
//   copied into DIR: PATH is meant for separate media or a systemd
//   credential.
// - PATH is refused (FailedPrecondition) if group or others have any
//   permission on it. The key passes only through SecretBytes.
//
// Failure
// - Every input is checked before anything is created: the org key
//   (a valid Ed25519 public key), the key file, the origin (a valid note
//   key name and log origin) and the addresses (CheckServerBundleBody:
//   1–8 host:port, every .onion address before every other one).
// - On any failure, everything created is removed: a DIR made here is
//   removed; a DIR that existed empty is left empty, with its old mode.
// - Statuses carry one plain line, never key material.
//
// Not thread-safe with respect to the process umask and working directory;
// meant to run once, from a main.
#ifndef TVAULT_VAULT_TVAULTD_INIT_H_
#define TVAULT_VAULT_TVAULTD_INIT_H_

#include <cstdint>
#include <string>
#include <vector>

#include "absl/status/statusor.h"

namespace tvault::vault {

inline constexpr char kVaultDbFileName[] = "vault.db";
inline constexpr char kLogSigningKeyFileName[] = "log-signing.key";
inline constexpr char kTlsKeyFileName[] = "tls.key";
inline constexpr char kTlsCertificateFileName[] = "tls.crt";
inline constexpr char kOrgKeyFileName[] = "org-key.hex";

struct TvaultdInitArgs {
  std::string data_dir;
  std::string org_key_hex;  // 64 lowercase hex digits
  std::string db_key_file;
  std::string origin;
  std::vector<std::string> addresses;  // in bundle order
};

// Creates the data directory as described above and returns the report to
// print on standard output: human-readable lines (TLS key pin in hex and
// as a short fingerprint, the log verifier key, what to do next), and as
// its last line the base64 (RFC 4648, padded) of the deterministic
// serialisation of the unsigned tvault.v1.ServerBundle {version 1,
// addresses, tls_pin, log_origin, log_verifier_key, issued_at = now_unix}.
absl::StatusOr<std::string> RunTvaultdInit(const TvaultdInitArgs& args,
                                           int64_t now_unix);

}  // namespace tvault::vault

#endif  // TVAULT_VAULT_TVAULTD_INIT_H_
