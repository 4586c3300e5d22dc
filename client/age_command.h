// `tvault age …`: general age file encryption for interop and emergency
// access, with the age tool's flags and meanings.
//
//   tvault age keygen [-o FILE]
//   tvault age encrypt (-r RECIPIENT)... [-R FILE]... [-p] [-a] [-o OUT] [IN]
//   tvault age decrypt (-i IDENTITY_FILE)... [-o OUT] [IN]
//
// With -o, output goes to a temporary file beside OUT that is renamed only
// after everything verified; on failure nothing is left. To standard output,
// decrypted bytes stream as each chunk verifies, and a failure says that
// what was written must be discarded.
#ifndef TVAULT_CLIENT_AGE_COMMAND_H_
#define TVAULT_CLIENT_AGE_COMMAND_H_

#include <string>
#include <vector>

#include "absl/status/status.h"

namespace CLI {
class App;
}

namespace tvault::client {

struct AgeKeygenArgs {
  std::string output;  // empty: standard output
};

struct AgeEncryptArgs {
  std::vector<std::string> recipients;
  std::vector<std::string> recipient_files;
  bool passphrase = false;
  bool armor = false;
  std::string output;
  std::string input;  // empty or "-": standard input
};

struct AgeDecryptArgs {
  std::vector<std::string> identity_files;
  std::string output;
  std::string input;
};

absl::Status RunAgeKeygen(const AgeKeygenArgs& args);
absl::Status RunAgeEncrypt(const AgeEncryptArgs& args);
absl::Status RunAgeDecrypt(const AgeDecryptArgs& args);

struct AgeCommandArgs {
  AgeKeygenArgs keygen;
  AgeEncryptArgs encrypt;
  AgeDecryptArgs decrypt;
};

// Adds the `age` command group to `app`, parsing into `args` (which must
// outlive `app`). The chosen command's result is stored in `result`.
void AddAgeCommands(CLI::App& app, AgeCommandArgs& args, absl::Status& result);

}  // namespace tvault::client

#endif  // TVAULT_CLIENT_AGE_COMMAND_H_
