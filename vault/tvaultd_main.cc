// tvaultd: the Testimony Vault server: `tvaultd init` (vault/tvaultd_init.h)
// and `tvaultd serve` (vault/serve.h).
#include <CLI/CLI.hpp>
#include <cstdio>
#include <ctime>
#include <string>

#include "absl/status/statusor.h"
#include "absl/strings/str_cat.h"
#include "crypto/core_dumps.h"
#include "vault/config.h"
#include "vault/serve.h"
#include "vault/tvaultd_init.h"

int main(int argc, char** argv) {
  // Before anything holds a secret: no core file may carry the TLS key,
  // the log signing key or the database key (crypto/core_dumps.h).
  if (absl::Status s = tvault::crypto::DisableCoreDumps(); !s.ok()) {
    std::fprintf(stderr, "tvaultd: error: %s\n",
                 std::string(s.message()).c_str());
    return 1;
  }
  CLI::App app{
      "tvaultd: the Testimony Vault server.\nRun `tvaultd COMMAND --help` "
      "for what each command does."};
  app.require_subcommand(1);
  app.set_version_flag("--version", "tvaultd 0.1.0");
  // Usage errors, like every other failure, are one line on stderr.
  app.failure_message([](const CLI::App*, const CLI::Error& e) {
    return std::string("tvaultd: error: ") + e.what() +
           " (see tvaultd --help)\n";
  });

  tvault::vault::TvaultdInitArgs init_args;
  absl::StatusOr<std::string> init_result;
  bool ran_init = false;
  CLI::App* init = app.add_subcommand(
      "init",
      "Create a vault's data directory (SQLCipher database, log signing key, "
      "self-signed TLS certificate) and print the unsigned server bundle for "
      "the administrator to sign with the organisation root");
  init->add_option("--data-dir", init_args.data_dir,
                   "Directory to create (mode 0700); it must not exist or be "
                   "empty. Receives vault.db, log-signing.key, tls.key, "
                   "tls.crt and org-key.hex")
      ->option_text("DIR REQUIRED")
      ->required();
  init->add_option("--org-key", init_args.org_key_hex,
                   "The organisation root's Ed25519 public key as 64 "
                   "lowercase hex digits, as given to you by the "
                   "organisation's administrator (never take it from "
                   "anyone else); stored in DIR/org-key.hex")
      ->option_text("HEX REQUIRED")
      ->required();
  init->add_option("--db-key-file", init_args.db_key_file,
                   "File holding the database key: exactly 64 hex digits "
                   "(32 bytes), optionally followed by a newline, mode 0600 "
                   "or stricter. Make one with (umask 077; openssl rand -hex "
                   "32 > FILE). Keep it apart from DIR (separate media or a "
                   "systemd credential): it is never copied there")
      ->option_text("FILE REQUIRED")
      ->required();
  init->add_option("--origin", init_args.origin,
                   "The transparency log's origin, which also names the log "
                   "signing key, e.g. vault.example.org/log; fixed for the "
                   "life of the vault")
      ->option_text("NAME REQUIRED")
      ->required();
  init->add_option("--address", init_args.addresses,
                   "Address clients connect to, HOST:PORT; repeat for "
                   "several (at most 8), in order of preference, every "
                   ".onion address before any other")
      ->option_text("HOST:PORT ... REQUIRED")
      ->required()
      ->allow_extra_args(false);
  init->callback([&] {
    ran_init = true;
    init_result = tvault::vault::RunTvaultdInit(
        init_args, static_cast<int64_t>(std::time(nullptr)));
  });

  tvault::vault::ServeArgs serve_args;
  CLI::App* serve = app.add_subcommand(
      "serve",
      "Serve a vault made by tvaultd init over TLS 1.3 until SIGTERM or "
      "SIGINT. SIGUSR1 logs the memory in use (heap, free heap, SQLite)");
  serve
      ->add_option("--data-dir", serve_args.data_dir,
                   "The vault's data directory, as made by tvaultd init")
      ->option_text("DIR REQUIRED")
      ->required();
  serve
      ->add_option("--db-key-file", serve_args.db_key_file,
                   "File holding the database key (64 hex digits, mode "
                   "0600), the one given to tvaultd init")
      ->option_text("FILE REQUIRED")
      ->required();
  serve
      ->add_option("--listen", serve_args.listen,
                   "Address to listen on, HOST:PORT; port 0 picks a free "
                   "port (see --ready-file). Keep it on loopback behind a "
                   "Tor onion service or a TCP-level front: a "
                   "TLS-terminating proxy would break the clients' pin")
      ->option_text("HOST:PORT")
      ->capture_default_str();
  serve
      ->add_option(
          "--config", serve_args.config_file,
          absl::StrCat("Configuration file of key = value lines: ",
                       tvault::vault::VaultConfigKeyList(),
                       " (each with its range and default in vault/config.h; "
                       "checkpoint_copy is the anti-rollback copy "
                       "of the latest checkpoint, on other media)"))
      ->option_text("FILE");
  serve
      ->add_option("--ready-file", serve_args.ready_file,
                   "Where to write the address actually listened on once "
                   "ready (default DIR/tvaultd.ready); removed at exit")
      ->option_text("FILE");
  bool ran_serve = false;
  serve->callback([&] { ran_serve = true; });

  CLI11_PARSE(app, argc, argv);
  if (ran_serve) return tvault::vault::RunServe(serve_args);
  if (!ran_init) return 1;
  if (!init_result.ok()) {
    const std::string message(init_result.status().message());
    std::fprintf(stderr, "tvaultd: error: %s\n", message.c_str());
    return 1;
  }
  std::fputs(init_result->c_str(), stdout);
  return std::fflush(stdout) == 0 ? 0 : 1;
}
