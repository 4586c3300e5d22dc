#include "tests/reliability/workload_support.h"

#include <malloc.h>
#include <sys/stat.h>

#include <algorithm>
#include <cmath>
#include <cstring>
#include <filesystem>
#include <system_error>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"

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

void ReturnLargeBuffersToTheSystem() {
  // A fixed threshold also stops glibc from raising it as buffers are
  // freed.
  mallopt(M_MMAP_THRESHOLD, 256 * 1024);
  mallopt(M_TRIM_THRESHOLD, 1 << 20);
}

}  // namespace tvault::reliability
