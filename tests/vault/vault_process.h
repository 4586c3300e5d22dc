// A real tvaultd for end-to-end tests: `tvaultd init` into a temporary
// directory, then `tvaultd serve --listen 127.0.0.1:0` as a child process,
// reached over TLS with the pinned key through the generated stubs.
//
// Each VaultProcess has its own directory, database key file and port, so
// tests run in parallel. The server's standard error goes to a file
// (log_text()) so tests can check what it logs. Requires TVAULTD_BIN.
#ifndef TVAULT_TESTS_VAULT_VAULT_PROCESS_H_
#define TVAULT_TESTS_VAULT_VAULT_PROCESS_H_

#include <sys/types.h>

#include <memory>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "crypto/statement.h"
#include "crypto/tls_pin.h"
#include "proto/vault.grpc.pb.h"

namespace tvault::vault::testing {

class VaultProcess {
 public:
  // Runs tvaultd init for `org_pk` in a fresh temporary directory (removed
  // by the destructor) and writes `config_text` to its configuration
  // file. Fails the current test on error (check with HasFatalFailure).
  static std::unique_ptr<VaultProcess> Init(const crypto::SignPublicKey& org_pk,
                                            const std::string& config_text);
  ~VaultProcess();

  // Starts `tvaultd serve` and waits (up to 30 s) for its ready file.
  absl::Status Start();
  // SIGTERM, then waits; returns the exit status as waitpid reports it.
  int Stop();
  // SIGKILL, then waits.
  void Kill();
  bool running() const { return pid_ > 0; }
  pid_t pid() const { return pid_; }

  const std::string& root() const { return root_; }
  std::string data_dir() const { return root_ + "/data"; }
  std::string db_key_file() const { return root_ + "/db.key"; }
  std::string config_file() const { return root_ + "/tvaultd.conf"; }
  std::string checkpoint_copy() const { return root_ + "/checkpoint-copy"; }
  const std::string& address() const { return address_; }
  const crypto::TlsKeyPin& pin() const { return pin_; }
  // Everything the server wrote to standard error so far.
  std::string log_text() const;
  // Sends SIGUSR1 and returns the memory line tvaultd logs in answer
  // (vault/memory.h: "memory: heap in use ..."), without its time stamp;
  // DeadlineExceeded if none comes within 10 s.
  absl::StatusOr<std::string> AskMemoryLine() const;

  // A fresh channel and stub to the running server, pinned to pin().
  std::unique_ptr<tvault::v1::Vault::Stub> Stub() const;

 private:
  VaultProcess() = default;
  std::string root_;
  std::string address_;
  crypto::TlsKeyPin pin_{};
  pid_t pid_ = -1;
};

// The 64 hex digits of a fixed database key (tests only).
inline constexpr char kTestDbKeyHex[] =
    "000102030405060708090a0b0c0d0e0f101112131415161718191a1b1c1d1e1f";

// Writes `data` to `path` with `mode`.
void WriteTestFile(const std::string& path, const std::string& data,
                   unsigned mode);
std::string ReadTestFile(const std::string& path);

// How to run a program: in another working directory, with extra
// environment variables ("NAME=value", replacing any inherited NAME).
struct RunOptions {
  std::string working_dir;  // empty: the test's
  std::vector<std::string> extra_env;
};

// Runs `argv` (argv[0] a path) to completion; returns the wait status and
// fills `output` with standard output and standard error.
int RunProgram(const std::vector<std::string>& argv, std::string* output,
               const RunOptions& options = {});

// Starts `argv` without waiting; standard output and standard error go to
// `output_path` (truncated). Returns the pid, or -1 (and a test failure).
pid_t StartProgram(const std::vector<std::string>& argv,
                   const std::string& output_path,
                   const RunOptions& options = {});
// Waits for a program StartProgram started; returns the wait status.
int WaitProgram(pid_t pid);

// A process's memory and threads as /proc/PID/status gives them, in KiB;
// -1 where unread. Resident memory is the heap and other anonymous
// mappings, mapped files (the binary, its libraries) and shared memory.
struct ProcessMemory {
  int64_t rss_kib = -1;    // VmRSS
  int64_t peak_kib = -1;   // VmHWM
  int64_t anon_kib = -1;   // RssAnon
  int64_t file_kib = -1;   // RssFile
  int64_t shmem_kib = -1;  // RssShmem
  int64_t threads = -1;    // Threads
};
ProcessMemory ReadProcessMemory(pid_t pid);

}  // namespace tvault::vault::testing

#endif  // TVAULT_TESTS_VAULT_VAULT_PROCESS_H_
