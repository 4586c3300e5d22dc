// What the crash and soak drivers (tvault_crash, tvault_soak) share beyond
// reliability_support.h: latency samples and their percentiles, random
// record bodies, and what a process holds (open files) and a directory
// takes on disk.
//
// Thread safety: Latencies may be fed from several threads; the free
// functions keep no state.
#ifndef TVAULT_TESTS_RELIABILITY_WORKLOAD_SUPPORT_H_
#define TVAULT_TESTS_RELIABILITY_WORKLOAD_SUPPORT_H_

#include <sys/types.h>

#include <chrono>
#include <cstdint>
#include <map>
#include <random>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "client/log_monitor.h"
#include "crypto/merkle.h"
#include "crypto/mutex.h"
#include "proto/vault.grpc.pb.h"
#include "tests/reliability/reliability_support.h"

namespace tvault::reliability {

// Durations of calls by kind ("upload < 1 MiB", "list", …).
class Latencies {
 public:
  void Add(const std::string& kind, std::chrono::steady_clock::duration d);
  // One line per kind: count, p50, p99 and max in milliseconds, as notes
  // of `report` (and the p50/p99 as figures in microseconds).
  void ReportTo(Report& report);

 private:
  Mutex mu_;
  std::map<std::string, std::vector<double>> ms_ ABSL_GUARDED_BY(mu_);
};

// The value at quantile `q` (0..1, nearest rank) of `values`, which it
// sorts; 0 if empty.
double Quantile(std::vector<double>& values, double q);

// `size` random bytes from `rng` (fast, not secret).
std::string RandomBody(std::mt19937_64& rng, size_t size);

// Open file descriptors of process `pid` (entries of /proc/PID/fd), and
// how many of them are sockets; -1 if unreadable.
struct OpenFiles {
  int64_t total = -1;
  int64_t sockets = -1;
};
OpenFiles CountOpenFiles(pid_t pid);

// Bytes that the regular files under `path` take on disk (st_blocks).
int64_t DiskUsageBytes(const std::string& path);

// The vault's whole log as a client that keeps it (tvault_crash): each
// Update fetches only the entries added since the last, checks the vault's
// latest checkpoint against every checkpoint this client saw (its own log
// monitor: an RFC 9162 consistency proof, no rollback, no fork) and that
// all the entries, those kept and those fetched, make the checkpoint's
// root. Receipts are checked against the same memory. For long campaigns,
// where reading the whole log at every restart would cost more than the
// rest. Not thread-safe.
class KeptLog {
 public:
  // The log's verifier key from the vault's server information.
  static absl::StatusOr<KeptLog> Create(tvault::v1::Vault::Stub& stub);

  // As VaultScene::CheckReceipt, with this client's memory.
  absl::StatusOr<tvault::v1::LogEntry> CheckReceipt(
      tvault::v1::Vault::Stub& stub, const std::string& token,
      const tvault::v1::Receipt& receipt);
  // Brings log() up to the vault's latest checkpoint (see above). On an
  // error log() is left as it was.
  absl::Status Update(tvault::v1::Vault::Stub& stub, const std::string& token);
  const VerifiedLog& log() const { return log_; }

 private:
  explicit KeptLog(client::LogMonitor monitor) : monitor_(std::move(monitor)) {}

  client::LogMonitor monitor_;
  VerifiedLog log_;
  std::vector<crypto::Hash> leaves_;
};

// Checks the database file of the stopped server of `scene`
// (CheckDatabaseFile: integrity_check and the structural checks) between
// runs; every problem is a violation naming `when`. Returns whether all
// held. (StopAndCheckDatabase, reliability_support.h, for the end.)
bool CheckStoppedDatabase(VaultScene& scene, Report& report,
                          const std::string& when);

// Copies the vault's directory (database, key, log, checkpoint copy) to
// /tmp/PROGRAM-evidence-SEED for a post-mortem and returns that path, or
// an empty string if it cannot.
std::string KeepEvidence(VaultScene& scene, const std::string& program,
                         uint64_t seed);

}  // namespace tvault::reliability

#endif  // TVAULT_TESTS_RELIABILITY_WORKLOAD_SUPPORT_H_
