// tvault: the Testimony Vault command line.
#include <CLI/CLI.hpp>
#include <cstdio>
#include <string>

#include "absl/status/status.h"
#include "client/age_command.h"
#include "client/commands.h"
#include "crypto/core_dumps.h"
#include "crypto/tls_pin.h"

int main(int argc, char** argv) {
  // Before any key or plaintext is in memory (crypto/core_dumps.h).
  if (absl::Status s = tvault::crypto::DisableCoreDumps(); !s.ok()) {
    std::fprintf(stderr, "tvault: error: %s\n",
                 std::string(s.message()).c_str());
    return 1;
  }
  tvault::crypto::RestrictGrpcToTls13();  // before any gRPC use
  CLI::App app{
      "tvault: submit and review testimony records, encrypted on this "
      "device.\nRun `tvault COMMAND --help` for what each command does."};
  app.require_subcommand(1);
  app.set_version_flag("--version", "tvault 0.1.0");
  absl::Status result;
  tvault::client::AgeCommandArgs age_args;
  tvault::client::AddAgeCommands(app, age_args, result);
  std::shared_ptr<tvault::client::CommandState> state =
      tvault::client::AddVaultCommands(app, result);
  CLI11_PARSE(app, argc, argv);
  if (!result.ok()) {
    const std::string message(result.message());
    std::fprintf(stderr, "tvault: error: %s\n", message.c_str());
    return 1;
  }
  return 0;
}
