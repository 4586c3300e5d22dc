#include "tests/reliability/workload_support.h"

#include <sys/stat.h>

#include <algorithm>
#include <cmath>
#include <cstring>
#include <filesystem>
#include <iterator>
#include <system_error>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "client/vault_auth.h"
#include "crypto/io.h"
#include "crypto/signed_note.h"

namespace tvault::reliability {

void Latencies::Add(const std::string& kind,
                    std::chrono::steady_clock::duration d) {
  const double ms = std::chrono::duration<double, std::milli>(d).count();
  MutexLock lock(mu_);
  ms_[kind].push_back(ms);
}

void Latencies::ReportTo(Report& report) {
  MutexLock lock(mu_);
  for (auto& [kind, values] : ms_) {
    const size_t n = values.size();
    const double p50 = Quantile(values, 0.50);
    const double p99 = Quantile(values, 0.99);
    const double max = Quantile(values, 1.0);
    report.Note(absl::StrFormat(
        "latency %-28s n=%-7d p50 %9.1f ms   p99 %9.1f ms   max %9.1f ms", kind,
        n, p50, p99, max));
    report.Set(absl::StrCat("latency p50, us: ", kind),
               static_cast<int64_t>(p50 * 1000));
    report.Set(absl::StrCat("latency p99, us: ", kind),
               static_cast<int64_t>(p99 * 1000));
  }
}

double Quantile(std::vector<double>& values, double q) {
  if (values.empty()) return 0;
  std::sort(values.begin(), values.end());
  const double rank = std::ceil(q * static_cast<double>(values.size()));
  const size_t at = static_cast<size_t>(std::max(rank, 1.0)) - 1;
  return values[std::min(at, values.size() - 1)];
}

std::string RandomBody(std::mt19937_64& rng, size_t size) {
  std::string body(size, '\0');
  for (size_t i = 0; i < size; i += 8) {
    const uint64_t v = rng();
    std::memcpy(&body[i], &v, std::min<size_t>(8, size - i));
  }
  return body;
}

OpenFiles CountOpenFiles(pid_t pid) {
  OpenFiles out;
  std::error_code ec;
  std::filesystem::directory_iterator it(absl::StrCat("/proc/", pid, "/fd"),
                                         ec);
  if (ec) return out;
  out.total = 0;
  out.sockets = 0;
  for (const auto& entry : it) {
    ++out.total;
    std::error_code link_ec;
    const std::filesystem::path target =
        std::filesystem::read_symlink(entry.path(), link_ec);
    if (!link_ec && target.string().rfind("socket:", 0) == 0) ++out.sockets;
  }
  return out;
}

int64_t DiskUsageBytes(const std::string& path) {
  int64_t total = 0;
  std::error_code ec;
  for (std::filesystem::recursive_directory_iterator it(path, ec), end;
       !ec && it != end; it.increment(ec)) {
    struct stat st;
    if (::lstat(it->path().c_str(), &st) == 0 && S_ISREG(st.st_mode)) {
      total += static_cast<int64_t>(st.st_blocks) * 512;
    }
  }
  return total;
}

absl::StatusOr<KeptLog> KeptLog::Create(tvault::v1::Vault::Stub& stub) {
  tvault::v1::ServerInfo info;
  grpc::ClientContext context;
  grpc::Status s = stub.GetServerInfo(&context, {}, &info);
  if (!s.ok()) return client::FromGrpcStatus(s);
  absl::StatusOr<crypto::NoteVerifier> verifier =
      crypto::NoteVerifier::Parse(info.log_verifier_key());
  if (!verifier.ok()) return verifier.status();
  return KeptLog(client::LogMonitor::InMemory(*std::move(verifier)));
}

absl::StatusOr<tvault::v1::LogEntry> KeptLog::CheckReceipt(
    tvault::v1::Vault::Stub& stub, const std::string& token,
    const tvault::v1::Receipt& receipt) {
  return monitor_.CheckReceipt(receipt,
                               client::VaultConsistencyFetcher(stub, token));
}

absl::Status KeptLog::Update(tvault::v1::Vault::Stub& stub,
                             const std::string& token) {
  absl::StatusOr<client::VerifiedCheckpoint> latest =
      client::CheckVaultLog(stub, token, monitor_);
  if (!latest.ok()) return latest.status();
  const uint64_t size = latest->checkpoint.tree_size;
  const size_t kept = leaves_.size();
  if (size < kept) {
    return absl::DataLossError("the vault's log is shorter than it was");
  }
  // What this call adds, undone on any error.
  const auto undo = [&](absl::Status status) {
    leaves_.resize(kept);
    log_.entries.resize(kept);
    for (auto it = log_.records.begin(); it != log_.records.end();) {
      it = it->second >= kept ? log_.records.erase(it) : std::next(it);
    }
    return status;
  };
  for (uint64_t begin = kept; begin < size; begin += 1024) {
    const uint64_t end = std::min(size, begin + 1024);
    absl::StatusOr<std::vector<std::string>> got =
        vault::testing::GetLogEntries(stub, token, begin, end);
    if (!got.ok()) return undo(got.status());
    if (got->size() != end - begin) {
      return undo(absl::DataLossError(absl::StrCat(
          "the vault sent ", got->size(), " log entries from ", begin)));
    }
    for (const std::string& bytes : *got) {
      leaves_.push_back(crypto::LeafHash(crypto::AsBytes(bytes)));
      tvault::v1::LogEntry entry;
      if (!entry.ParseFromString(bytes)) {
        return undo(absl::DataLossError(absl::StrCat(
            "log entry ", log_.entries.size(), " does not parse")));
      }
      if (entry.has_record_added()) {
        log_.records[entry.record_added().record_id()] = log_.entries.size();
      }
      log_.entries.push_back(std::move(entry));
    }
  }
  if (crypto::RootFromLeafHashes(leaves_) != latest->checkpoint.root_hash) {
    return undo(absl::DataLossError(
        "the log entries the vault sent, with those it sent before, do not "
        "make the root of its signed checkpoint"));
  }
  log_.checkpoint = latest->checkpoint;
  return absl::OkStatus();
}

bool CheckStoppedDatabase(VaultScene& scene, Report& report,
                          const std::string& when) {
  absl::StatusOr<std::vector<std::string>> problems =
      CheckDatabaseFile(scene.db_file());
  if (!problems.ok()) {
    report.Violation(absl::StrCat("cannot check the database ", when, ": ",
                                  problems.status().message()));
    return false;
  }
  for (const std::string& p : *problems) {
    report.Violation(absl::StrCat("database ", when, ": ", p));
  }
  return problems->empty();
}

std::string KeepEvidence(VaultScene& scene, const std::string& program,
                         uint64_t seed) {
  const std::string to = absl::StrCat("/tmp/", program, "-evidence-", seed);
  std::error_code ec;
  std::filesystem::remove_all(to, ec);
  std::filesystem::copy(scene.process().root(), to,
                        std::filesystem::copy_options::recursive, ec);
  return ec ? std::string() : to;
}

}  // namespace tvault::reliability
