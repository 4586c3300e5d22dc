// What the reliability drivers of issue 8 (tvault_faults, tvault_tamper,
// tvault_abuse, tvault_canaries) share: their command-line options, the
// figures and violations they report, the memory of a process, a real
// tvaultd with a case on it (tests/vault/records_fixture.h) seen through
// a client that verifies everything it is given, and a direct look at the
// vault's database with the test key.
//
// A driver checks invariants, counts outcomes by class and prints a
// figures block; any violation is printed at once ("VIOLATION: ...") and
// makes the driver exit with status 1. Nothing here throws or aborts.
#ifndef TVAULT_TESTS_RELIABILITY_RELIABILITY_SUPPORT_H_
#define TVAULT_TESTS_RELIABILITY_RELIABILITY_SUPPORT_H_

#include <grpcpp/grpcpp.h>
#include <sys/types.h>

#include <CLI/CLI.hpp>
#include <chrono>
#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "client/log_monitor.h"
#include "crypto/checkpoint.h"
#include "crypto/mutex.h"
#include "proto/records.pb.h"
#include "proto/vault.grpc.pb.h"
#include "tests/vault/records_fixture.h"
#include "tests/vault/vault_process.h"

namespace tvault::reliability {

using vault::testing::RecordId;
using vault::testing::RecordsCase;
using vault::testing::VaultProcess;

// --duration SECONDS (the long form of a campaign gives more) and --seed.
struct DriverOptions {
  double duration_seconds = 60;
  uint64_t seed = 0;  // 0: taken from the clock, and printed
};
void AddDriverOptions(CLI::App& app, DriverOptions& options,
                      double default_duration);
// After parsing: a seed of 0 becomes one from the clock.
void ChooseSeed(DriverOptions& options);

// Figures (named counters) and violations of one run. Thread-safe.
class Report {
 public:
  explicit Report(std::string program);

  void Count(const std::string& figure, int64_t n = 1);
  void Set(const std::string& figure, int64_t value);
  void Note(const std::string& line);  // printed with the figures
  // Prints "VIOLATION: <message>" at once and counts it.
  void Violation(const std::string& message);
  int64_t violations();

  // Prints the figures, the notes and the verdict; returns the exit status
  // (0 without violations, 1 with).
  int Finish(std::chrono::steady_clock::duration wall);

 private:
  const std::string program_;
  Mutex mu_;
  std::map<std::string, int64_t> figures_ ABSL_GUARDED_BY(mu_);
  std::vector<std::string> notes_ ABSL_GUARDED_BY(mu_);
  int64_t violations_ ABSL_GUARDED_BY(mu_) = 0;
};

using vault::testing::ProcessMemory;
using vault::testing::ReadProcessMemory;

// "INTERNAL", "UNAVAILABLE", ... for a gRPC status code.
std::string CodeName(grpc::StatusCode code);
std::string CodeName(absl::StatusCode code);

// The whole log as a client sees it: the latest checkpoint, verified with
// the log's key and consistent with every checkpoint this client saw
// before, and every entry, whose tree has the checkpoint's root.
struct VerifiedLog {
  crypto::Checkpoint checkpoint;
  std::vector<tvault::v1::LogEntry> entries;
  // RecordAdded entries by record id (16 bytes): index.
  std::map<std::string, uint64_t> records;
};

// A real tvaultd with a case on it (alice owner and reviewer, bob reviewer,
// dave contributor), and a client that remembers the log's checkpoints.
class VaultScene {
 public:
  // `config_text`: extra configuration lines. The server is started.
  static absl::StatusOr<std::unique_ptr<VaultScene>> Create(
      const std::string& config_text);

  // Starts the server (again) and, with `sign_in`, signs the case's
  // accounts in again (without: the sessions stored before go on).
  absl::Status Start(bool sign_in = true);

  VaultProcess& process() { return *process_; }
  tvault::v1::Vault::Stub& stub() { return *stub_; }
  const RecordsCase& records_case() const { return *case_; }
  const crypto::SigningKey& root() const { return root_; }
  std::string db_file() const;

  // The log as described above (alice's session). DataLoss names a fork
  // or a rollback against what this client saw before.
  absl::StatusOr<VerifiedLog> ReadVerifiedLog();

  // A receipt checked as a client checks it (inclusion, signature,
  // consistency with what this client saw); returns its entry.
  absl::StatusOr<tvault::v1::LogEntry> CheckReceipt(
      const tvault::v1::Receipt& receipt);

  // `file` is the record `id` that `entry` logged: its SHA-256 and size
  // are the entry's, and it reads as a record of this case (decrypted
  // with the epoch key, signature and every binding of DESIGN.md §6).
  absl::Status VerifyRecord(const RecordId& id, const std::string& file,
                            const tvault::v1::LogEntry& entry) const;

 private:
  VaultScene() = default;

  crypto::SigningKey root_ = crypto::SigningKey::Generate();
  std::unique_ptr<VaultProcess> process_;
  std::unique_ptr<tvault::v1::Vault::Stub> stub_;
  std::unique_ptr<RecordsCase> case_;
  std::optional<client::LogMonitor> monitor_;
};

// Opens the vault's database file directly (server stopped) with the test
// key and returns what is wrong with it, one sentence each (empty: all
// holds): PRAGMA integrity_check and foreign_key_check; log entries
// numbered 0..n-1; the stored checkpoint of n entries; every record's log
// entry a RecordAdded of that record with its size and SHA-256; its chunk
// rows exactly its bytes; no unfinished upload under a stored record's id.
// An error status if the file cannot be opened or read at all.
absl::StatusOr<std::vector<std::string>> CheckDatabaseFile(
    const std::string& path);

// Records the server's RSS now and its peak ("server RSS at end, KiB",
// "server peak RSS, KiB"), stops it with SIGTERM (a violation unless it
// exits with status 0), then checks its database with CheckDatabaseFile: each
// problem is a violation, and a note says whether the checks passed.
void StopAndCheckDatabase(VaultScene& scene, Report& report);

// Runs `run` with a fresh directory /tmp/PREFIX-XXXXXX (mode 0755, so that
// an unprivileged child reaches what it is given) and removes it after;
// returns what `run` returned, or 2 if no directory could be made.
int RunInFreshDirectory(const std::string& prefix,
                        const std::function<int(const std::string& dir)>& run);

// "ID" as 32 hex digits.
std::string Hex(const std::string& bytes);

}  // namespace tvault::reliability

#endif  // TVAULT_TESTS_RELIABILITY_RELIABILITY_SUPPORT_H_
