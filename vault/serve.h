// `tvaultd serve` (DESIGN.md §8): opens a vault made by `tvaultd init` and
// serves tvault.v1.Vault over TLS 1.3 until SIGTERM or SIGINT.
//
//   tvaultd serve --data-dir DIR --db-key-file PATH [--listen ADDR]
//                 [--config FILE] [--ready-file PATH]
//
// Start-up, in order, stopping with a one-line error on the first failure:
// the configuration (vault/config.h); the data directory's files
// (vault/data_dir.h); the database key and the database (a wrong key is
// refused by SQLCipher: "wrong key, or not a vault database"); the
// anti-rollback check against the configured checkpoint copy
// (vault/transparency_log.h); a first signed checkpoint; then the listener.
// Once listening, the address actually bound ("HOST:PORT", the port filled
// in when ADDR asks for port 0) is written to the ready file (default
// DIR/tvaultd.ready) atomically, and removed at exit.
//
// TLS: 1.3 only (crypto/tls_pin.h explains how with Debian's gRPC 1.51),
// the self-signed certificate of tls.crt, no client certificates (callers
// prove who they are by signing a challenge bound to the TLS key).
//
// Calls: each session, and calls without one together, may make
// max_requests_per_minute calls (vault/rate_limiter.h); every call is
// cancelled with DEADLINE_EXCEEDED once it runs, or a stream waits for its
// caller, longer than call_deadline_seconds (vault/call_deadlines.h).
//
// Shutdown: SIGTERM or SIGINT stops accepting calls, lets running calls
// finish for up to 1 second (then cancels them; uploads resume), closes
// the database and returns 0.
//
// Must be called from main before any other thread starts (it blocks the
// signals it waits for in every thread it creates).
#ifndef TVAULT_VAULT_SERVE_H_
#define TVAULT_VAULT_SERVE_H_

#include <string>

namespace tvault::vault {

inline constexpr char kDefaultListenAddress[] = "127.0.0.1:7443";
inline constexpr char kReadyFileName[] = "tvaultd.ready";

struct ServeArgs {
  std::string data_dir;
  std::string db_key_file;
  std::string listen = kDefaultListenAddress;
  std::string config_file;  // empty: defaults
  std::string ready_file;   // empty: DIR/tvaultd.ready
};

// Serves until a stop signal; returns the process exit code (0 after a
// clean shutdown, 1 if start-up failed). Errors go to the vault's log.
int RunServe(const ServeArgs& args);

}  // namespace tvault::vault

#endif  // TVAULT_VAULT_SERVE_H_
