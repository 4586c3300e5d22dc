// The tvault commands for administrators, members, families and reviewers
// (DESIGN.md §4–§7, §9, §10), wired to CLI11. Each command is a thin layer
// over the tvault_client library: it reads what the person gave, calls the
// library, and says plainly what happened and what to do next.
#ifndef TVAULT_CLIENT_COMMANDS_H_
#define TVAULT_CLIENT_COMMANDS_H_

#include <CLI/CLI.hpp>
#include <memory>

#include "absl/status/status.h"

namespace tvault::client {

struct CommandState;

// Adds every command group but `age` to `app`. The returned state holds
// what CLI11 parses into and must outlive `app`; the chosen command's
// result goes to `result`.
std::shared_ptr<CommandState> AddVaultCommands(CLI::App& app,
                                               absl::Status& result);

}  // namespace tvault::client

#endif  // TVAULT_CLIENT_COMMANDS_H_
