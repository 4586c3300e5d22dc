// The vault's transparency log at 1,000,000 entries (issue 5): append rate
// and the cost of inclusion and consistency proofs from the stored subtree
// hashes, through the real SQLCipher store.
//
//   ninja -C build-bench log_bench && build-bench/bench/log_bench
//
// The tree is built once, in transactions of kBatch entries (how a busy
// vault's commits group), into a database under $TMPDIR (removed at exit);
// BM_AppendOnePerCommit measures the vault's current one-change-per-commit
// path (one fsync'ed SQLCipher commit each). Proof benchmarks include the
// read transaction, as the RPC does.
#include <benchmark/benchmark.h>
#include <stdlib.h>
#include <unistd.h>

#include <chrono>
#include <filesystem>
#include <memory>
#include <random>
#include <string>

#include "absl/strings/str_cat.h"
#include "crypto/merkle.h"
#include "crypto/secret_bytes.h"
#include "crypto/statement.h"
#include "proto/records.pb.h"
#include "vault/log_tree.h"
#include "vault/sqlcipher_store.h"

namespace tvault::vault {
namespace {

constexpr uint64_t kEntries = 1'000'000;
constexpr uint64_t kBatch = 1000;

std::string Entry(uint64_t i) {
  tvault::v1::LogEntry entry;
  entry.set_version(1);
  entry.set_logged_at(1'700'000'000 + static_cast<int64_t>(i));
  tvault::v1::RecordAdded* r = entry.mutable_record_added();
  r->set_record_id(std::string(16, static_cast<char>(i)));
  r->set_case_id(std::string(16, 'c'));
  r->set_epoch(3);
  r->set_ciphertext_sha256(std::string(32, static_cast<char>(i >> 8)));
  r->set_ciphertext_size(i * 1000);
  return crypto::SerializeDeterministic(entry);
}

struct Log {
  std::string dir;
  std::unique_ptr<SqlcipherStore> store;
  double build_seconds = 0;
  ~Log() {
    store.reset();
    std::error_code ec;
    std::filesystem::remove_all(dir, ec);
  }
};

std::unique_ptr<Log> MakeLog() {
  auto log = std::make_unique<Log>();
  const char* tmp = getenv("TMPDIR");
  std::string tmpl =
      absl::StrCat(tmp ? tmp : "/tmp", "/tvault-logbench-XXXXXX");
  log->dir = mkdtemp(tmpl.data());
  crypto::SecretBytes key = crypto::SecretBytes::Random(32);
  log->store = *SqlcipherStore::Create(log->dir + "/vault.db", key);
  return log;
}

Log& Big() {
  static std::unique_ptr<Log> log = [] {
    std::unique_ptr<Log> l = MakeLog();
    const auto start = std::chrono::steady_clock::now();
    for (uint64_t done = 0; done < kEntries; done += kBatch) {
      absl::Status s = l->store->RunInTransaction([&](StoreTransaction& txn) {
        for (uint64_t i = done; i < done + kBatch; ++i) {
          absl::StatusOr<uint64_t> index = AppendToLogTree(txn, Entry(i));
          if (!index.ok()) return index.status();
        }
        return absl::OkStatus();
      });
      if (!s.ok()) abort();
    }
    l->build_seconds =
        std::chrono::duration<double>(std::chrono::steady_clock::now() - start)
            .count();
    return l;
  }();
  return *log;
}

void BM_Build1MEntriesInBatches(benchmark::State& state) {
  for (auto _ : state) {
    state.SetIterationTime(Big().build_seconds);
  }
  state.counters["entries_per_s"] =
      static_cast<double>(kEntries) / Big().build_seconds;
  state.counters["db_MiB"] =
      static_cast<double>(std::filesystem::file_size(Big().dir + "/vault.db")) /
      (1 << 20);
}
BENCHMARK(BM_Build1MEntriesInBatches)
    ->UseManualTime()
    ->Iterations(1)
    ->Unit(benchmark::kSecond);

void BM_AppendOnePerCommit(benchmark::State& state) {
  std::unique_ptr<Log> log = MakeLog();
  uint64_t i = 0;
  for (auto _ : state) {
    absl::Status s = log->store->RunInTransaction([&](StoreTransaction& txn) {
      return AppendToLogTree(txn, Entry(i++)).status();
    });
    if (!s.ok()) state.SkipWithError("append failed");
  }
  state.counters["entries_per_s"] = benchmark::Counter(
      static_cast<double>(state.iterations()), benchmark::Counter::kIsRate);
}
BENCHMARK(BM_AppendOnePerCommit)
    ->Iterations(500)
    ->Unit(benchmark::kMillisecond);

void BM_InclusionProofAt1M(benchmark::State& state) {
  Log& log = Big();
  std::mt19937_64 rng(1);
  size_t hashes = 0;
  for (auto _ : state) {
    const uint64_t index = rng() % kEntries;
    absl::Status s = log.store->RunInTransaction([&](StoreTransaction& txn) {
      absl::StatusOr<std::vector<crypto::Hash>> proof =
          LogTreeInclusionProof(txn, index, kEntries);
      if (!proof.ok()) return proof.status();
      hashes += proof->size();
      return absl::OkStatus();
    });
    if (!s.ok()) state.SkipWithError("proof failed");
  }
  state.counters["hashes"] =
      static_cast<double>(hashes) / static_cast<double>(state.iterations());
}
BENCHMARK(BM_InclusionProofAt1M)->Unit(benchmark::kMicrosecond);

void BM_ConsistencyProofTo1M(benchmark::State& state) {
  Log& log = Big();
  std::mt19937_64 rng(2);
  size_t hashes = 0;
  for (auto _ : state) {
    const uint64_t old_size = 1 + rng() % (kEntries - 1);
    absl::Status s = log.store->RunInTransaction([&](StoreTransaction& txn) {
      absl::StatusOr<std::vector<crypto::Hash>> proof =
          LogTreeConsistencyProof(txn, old_size, kEntries);
      if (!proof.ok()) return proof.status();
      hashes += proof->size();
      return absl::OkStatus();
    });
    if (!s.ok()) state.SkipWithError("proof failed");
  }
  state.counters["hashes"] =
      static_cast<double>(hashes) / static_cast<double>(state.iterations());
}
BENCHMARK(BM_ConsistencyProofTo1M)->Unit(benchmark::kMicrosecond);

void BM_RootAt1M(benchmark::State& state) {
  Log& log = Big();
  for (auto _ : state) {
    absl::Status s = log.store->RunInTransaction([&](StoreTransaction& txn) {
      return LogTreeRoot(txn, kEntries).status();
    });
    if (!s.ok()) state.SkipWithError("root failed");
  }
}
BENCHMARK(BM_RootAt1M)->Unit(benchmark::kMicrosecond);

}  // namespace
}  // namespace tvault::vault

BENCHMARK_MAIN();
