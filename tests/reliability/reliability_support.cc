#include "tests/reliability/reliability_support.h"

#include <sqlite3.h>
#include <stdlib.h>
#include <sys/stat.h>
#include <sys/wait.h>

#include <cstdio>
#include <filesystem>
#include <fstream>
#include <iostream>
#include <utility>

#include "absl/strings/escaping.h"
#include "absl/strings/str_cat.h"
#include "client/vault_auth.h"
#include "crypto/io.h"
#include "crypto/merkle.h"
#include "crypto/record.h"
#include "crypto/signed_note.h"

namespace tvault::reliability {
namespace {

using crypto::trust_testing::Str;
using vault::testing::kTestDbKeyHex;

template <size_t N>
std::array<uint8_t, N> Fixed(const std::string& s) {
  std::array<uint8_t, N> out{};
  if (s.size() == N) std::copy(s.begin(), s.end(), out.begin());
  return out;
}

}  // namespace

void AddDriverOptions(CLI::App& app, DriverOptions& options,
                      double default_duration) {
  options.duration_seconds = default_duration;
  app.add_option("--duration", options.duration_seconds,
                 "How long to run, in seconds (the CI short form uses the "
                 "default; scripts/campaign.sh passes a longer one)")
      ->capture_default_str();
  app.add_option("--seed", options.seed,
                 "Seed of the random choices (0: from the clock; the seed "
                 "used is printed, to repeat a run)");
}

void ChooseSeed(DriverOptions& options) {
  if (options.seed == 0) {
    options.seed = static_cast<uint64_t>(
        std::chrono::system_clock::now().time_since_epoch().count());
  }
}

Report::Report(std::string program) : program_(std::move(program)) {}

void Report::Count(const std::string& figure, int64_t n) {
  MutexLock lock(mu_);
  figures_[figure] += n;
}

void Report::Set(const std::string& figure, int64_t value) {
  MutexLock lock(mu_);
  figures_[figure] = value;
}

void Report::Note(const std::string& line) {
  MutexLock lock(mu_);
  notes_.push_back(line);
}

void Report::Violation(const std::string& message) {
  MutexLock lock(mu_);
  ++violations_;
  std::cout << program_ << ": VIOLATION: " << message << std::endl;
}

int64_t Report::violations() {
  MutexLock lock(mu_);
  return violations_;
}

int Report::Finish(std::chrono::steady_clock::duration wall) {
  MutexLock lock(mu_);
  std::cout << "\n== " << program_ << " figures\n";
  std::printf("  %-58s %.1f\n", "wall time, seconds",
              std::chrono::duration<double>(wall).count());
  for (const auto& [name, value] : figures_) {
    std::printf("  %-58s %lld\n", name.c_str(), static_cast<long long>(value));
  }
  for (const std::string& note : notes_) std::cout << "  " << note << "\n";
  std::cout << program_ << ": " << violations_
            << " violation(s): " << (violations_ == 0 ? "PASS" : "FAIL")
            << std::endl;
  return violations_ == 0 ? 0 : 1;
}

std::string CodeName(absl::StatusCode code) {
  return absl::StatusCodeToString(code);
}

std::string CodeName(grpc::StatusCode code) {
  return CodeName(static_cast<absl::StatusCode>(code));
}

void StopAndCheckDatabase(VaultScene& scene, Report& report) {
  const ProcessMemory memory = ReadProcessMemory(scene.process().pid());
  report.Set("server RSS at end, KiB", memory.rss_kib);
  report.Set("server peak RSS, KiB", memory.peak_kib);
  const int status = scene.process().Stop();
  if (!WIFEXITED(status) || WEXITSTATUS(status) != 0) {
    report.Violation(absl::StrCat(
        "tvaultd did not stop cleanly on SIGTERM (wait status ", status, ")"));
  }
  absl::StatusOr<std::vector<std::string>> problems =
      CheckDatabaseFile(scene.db_file());
  if (!problems.ok()) {
    report.Violation(absl::StrCat("cannot check the database: ",
                                  problems.status().message()));
    return;
  }
  for (const std::string& p : *problems) {
    report.Violation(absl::StrCat("database: ", p));
  }
  report.Note(absl::StrCat("database checks (integrity_check and structure): ",
                           problems->empty() ? "ok" : "FAILED"));
}

int RunInFreshDirectory(const std::string& prefix,
                        const std::function<int(const std::string& dir)>& run) {
  std::string dir = absl::StrCat("/tmp/", prefix, "-XXXXXX");
  if (::mkdtemp(dir.data()) == nullptr) return 2;
  ::chmod(dir.c_str(), 0755);
  const int status = run(dir);
  std::error_code ec;
  std::filesystem::remove_all(dir, ec);
  return status;
}

std::string Hex(const std::string& bytes) {
  return absl::BytesToHexString(bytes);
}

absl::StatusOr<std::unique_ptr<VaultScene>> VaultScene::Create(
    const std::string& config_text) {
  std::unique_ptr<VaultScene> scene(new VaultScene());
  scene->process_ = VaultProcess::Init(scene->root_.public_key(), config_text);
  if (scene->process_->data_dir().empty() || scene->process_->root().empty()) {
    return absl::InternalError("tvaultd init failed");
  }
  if (absl::Status s = scene->process_->Start(); !s.ok()) return s;
  scene->stub_ = scene->process_->Stub();
  absl::StatusOr<std::unique_ptr<RecordsCase>> made =
      RecordsCase::Create(*scene->stub_, scene->root_, scene->process_->pin());
  if (!made.ok()) return made.status();
  scene->case_ = *std::move(made);
  tvault::v1::ServerInfo info;
  grpc::ClientContext context;
  grpc::Status s = scene->stub_->GetServerInfo(&context, {}, &info);
  if (!s.ok()) return client::FromGrpcStatus(s);
  absl::StatusOr<crypto::NoteVerifier> verifier =
      crypto::NoteVerifier::Parse(info.log_verifier_key());
  if (!verifier.ok()) return verifier.status();
  scene->monitor_.emplace(client::LogMonitor::InMemory(*std::move(verifier)));
  return scene;
}

absl::Status VaultScene::Start(bool sign_in) {
  if (absl::Status s = process_->Start(); !s.ok()) return s;
  stub_ = process_->Stub();
  return sign_in ? case_->SignInAgain(*stub_, process_->pin())
                 : absl::OkStatus();
}

std::string VaultScene::db_file() const {
  return process_->data_dir() + "/vault.db";
}

absl::StatusOr<tvault::v1::LogEntry> VaultScene::CheckReceipt(
    const tvault::v1::Receipt& receipt) {
  return monitor_->CheckReceipt(
      receipt, client::VaultConsistencyFetcher(*stub_, case_->alice_token()));
}

absl::StatusOr<VerifiedLog> VaultScene::ReadVerifiedLog() {
  absl::StatusOr<client::VerifiedCheckpoint> latest =
      client::CheckVaultLog(*stub_, case_->alice_token(), *monitor_);
  if (!latest.ok()) return latest.status();
  VerifiedLog log;
  log.checkpoint = latest->checkpoint;
  std::vector<crypto::Hash> leaves;
  const uint64_t size = log.checkpoint.tree_size;
  for (uint64_t begin = 0; begin < size; begin += 1024) {
    absl::StatusOr<std::vector<std::string>> got =
        vault::testing::GetLogEntries(*stub_, case_->alice_token(), begin,
                                      std::min(size, begin + 1024));
    if (!got.ok()) return got.status();
    if (got->size() != std::min<uint64_t>(1024, size - begin)) {
      return absl::DataLossError(absl::StrCat("the vault sent ", got->size(),
                                              " log entries from ", begin));
    }
    for (const std::string& bytes : *got) {
      leaves.push_back(crypto::LeafHash(crypto::AsBytes(bytes)));
      tvault::v1::LogEntry entry;
      if (!entry.ParseFromString(bytes)) {
        return absl::DataLossError(
            absl::StrCat("log entry ", log.entries.size(), " does not parse"));
      }
      if (entry.has_record_added()) {
        log.records[entry.record_added().record_id()] = log.entries.size();
      }
      log.entries.push_back(std::move(entry));
    }
  }
  if (crypto::RootFromLeafHashes(leaves) != log.checkpoint.root_hash) {
    return absl::DataLossError(
        "the log entries the vault sent do not make the root of its signed "
        "checkpoint");
  }
  return log;
}

absl::Status VaultScene::VerifyRecord(const RecordId& id,
                                      const std::string& file,
                                      const tvault::v1::LogEntry& entry) const {
  const tvault::v1::RecordAdded& added = entry.record_added();
  const crypto::Sha256 sha = crypto::ComputeSha256(crypto::AsBytes(file));
  if (added.record_id() != Str(id) || added.ciphertext_size() != file.size() ||
      added.ciphertext_sha256() != Str(sha)) {
    return absl::DataLossError(
        "the record's bytes are not those its log entry names");
  }
  crypto::MemorySource source{absl::string_view(file)};
  absl::StatusOr<std::unique_ptr<crypto::RecordReader>> reader =
      crypto::RecordReader::Open(source, case_->epoch_key());
  if (!reader.ok()) return reader.status();
  crypto::VectorSink body;
  if (absl::Status s = (*reader)->Read(body); !s.ok()) return s;
  crypto::RecordExpectations expect;
  expect.case_id = case_->case_id();
  expect.record_id = id;
  expect.descriptor = case_->genesis().body;
  expect.ciphertext_sha256 = Fixed<32>(added.ciphertext_sha256());
  expect.log_time = entry.logged_at();
  expect.log_time_precision = 3600;
  expect.org_pk = root_.public_key();
  absl::StatusOr<crypto::VerifiedRecord> verified = (*reader)->Finish(expect);
  return verified.status();
}

absl::StatusOr<std::vector<std::string>> CheckDatabaseFile(
    const std::string& path) {
  sqlite3* raw = nullptr;
  if (sqlite3_open_v2(path.c_str(), &raw, SQLITE_OPEN_READONLY, nullptr) !=
      SQLITE_OK) {
    const std::string error = raw ? sqlite3_errmsg(raw) : "out of memory";
    sqlite3_close_v2(raw);
    return absl::UnavailableError(
        absl::StrCat("cannot open ", path, ": ", error));
  }
  std::unique_ptr<sqlite3, int (*)(sqlite3*)> db(raw, sqlite3_close_v2);
  const std::string key = absl::StrCat("x'", kTestDbKeyHex, "'");
  if (sqlite3_key(db.get(), key.data(), static_cast<int>(key.size())) !=
          SQLITE_OK ||
      sqlite3_exec(db.get(), "PRAGMA cipher_page_size = 4096", nullptr, nullptr,
                   nullptr) != SQLITE_OK) {
    return absl::UnavailableError("cannot key the database");
  }
  std::vector<std::string> problems;
  // Runs `sql`; every row's first column, as text, goes to `rows`.
  const auto query = [&](const char* sql,
                         std::vector<std::string>* rows) -> absl::Status {
    sqlite3_stmt* stmt = nullptr;
    if (sqlite3_prepare_v2(db.get(), sql, -1, &stmt, nullptr) != SQLITE_OK) {
      return absl::DataLossError(
          absl::StrCat(sql, ": ", sqlite3_errmsg(db.get())));
    }
    int rc;
    while ((rc = sqlite3_step(stmt)) == SQLITE_ROW) {
      const unsigned char* text = sqlite3_column_text(stmt, 0);
      if (rows)
        rows->push_back(text ? reinterpret_cast<const char*>(text) : "");
    }
    sqlite3_finalize(stmt);
    if (rc != SQLITE_DONE) {
      return absl::DataLossError(
          absl::StrCat(sql, ": ", sqlite3_errmsg(db.get())));
    }
    return absl::OkStatus();
  };
  std::vector<std::string> rows;
  if (absl::Status s = query("PRAGMA integrity_check", &rows); !s.ok()) {
    return s;
  }
  if (rows != std::vector<std::string>{"ok"}) {
    problems.push_back(
        absl::StrCat("integrity_check: ", rows.empty() ? "" : rows[0]));
  }
  // Each check: SQL that returns one row per problem.
  const std::pair<const char*, const char*> checks[] = {
      {"PRAGMA foreign_key_check", "a row breaks a foreign key"},
      {"SELECT 'entries ' || n || ', max index ' || m FROM (SELECT "
       "count(*) AS n, ifnull(max(leaf_index), -1) AS m FROM log_entries) "
       "WHERE n != m + 1",
       "log entries are not numbered 0..n-1"},
      {"SELECT 'checkpoint of ' || c.tree_size || ', entries ' || "
       "(SELECT count(*) FROM log_entries) FROM latest_checkpoint c "
       "WHERE c.tree_size != (SELECT count(*) FROM log_entries)",
       "the stored checkpoint is not of the whole log"},
      {"SELECT hex(r.record_id) FROM records r LEFT JOIN log_entries e "
       "ON e.leaf_index = r.log_index WHERE e.leaf_index IS NULL",
       "a record's log entry is missing"},
      {"SELECT hex(r.record_id) FROM records r WHERE r.size != "
       "(SELECT ifnull(sum(length(c.data)), 0) FROM chunks c "
       "WHERE c.record_id = r.record_id) AND r.record_id NOT IN "
       "(SELECT record_id FROM deletions WHERE done = 1 OR delete_after <= "
       "CAST(strftime('%s', 'now') AS INTEGER))",
       "a record's chunk rows do not hold exactly its bytes (and its "
       "deletion is not due: maintenance removes a due record's data a "
       "transaction at a time before it marks it done)"},
      {"SELECT hex(u.record_id) FROM uploads u JOIN records r "
       "ON r.record_id = u.record_id",
       "an unfinished upload remains under a stored record's id"},
      {"SELECT hex(u.record_id) FROM uploads u WHERE u.held_bytes != "
       "(SELECT ifnull(sum(length(c.data)), 0) FROM chunks c "
       "WHERE c.record_id = u.record_id)",
       "an unfinished upload's held bytes are not its chunk rows"},
  };
  for (const auto& [sql, what] : checks) {
    rows.clear();
    if (absl::Status s = query(sql, &rows); !s.ok()) return s;
    for (const std::string& row : rows) {
      problems.push_back(absl::StrCat(what, ": ", row));
    }
  }
  // Each record's log entry names it, its size and its SHA-256.
  sqlite3_stmt* stmt = nullptr;
  if (sqlite3_prepare_v2(db.get(),
                         "SELECT r.record_id, r.size, r.sha256, e.entry FROM "
                         "records r JOIN log_entries e ON e.leaf_index = "
                         "r.log_index",
                         -1, &stmt, nullptr) != SQLITE_OK) {
    return absl::DataLossError(sqlite3_errmsg(db.get()));
  }
  const auto blob = [&](int column) {
    return std::string(
        static_cast<const char*>(sqlite3_column_blob(stmt, column)),
        static_cast<size_t>(sqlite3_column_bytes(stmt, column)));
  };
  while (sqlite3_step(stmt) == SQLITE_ROW) {
    tvault::v1::LogEntry entry;
    const std::string id = blob(0);
    if (!entry.ParseFromString(blob(3)) || !entry.has_record_added() ||
        entry.record_added().record_id() != id ||
        entry.record_added().ciphertext_size() !=
            static_cast<uint64_t>(sqlite3_column_int64(stmt, 1)) ||
        entry.record_added().ciphertext_sha256() != blob(2)) {
      problems.push_back(
          absl::StrCat("record ", Hex(id), " is not what its log entry says"));
    }
  }
  sqlite3_finalize(stmt);
  return problems;
}

}  // namespace tvault::reliability
