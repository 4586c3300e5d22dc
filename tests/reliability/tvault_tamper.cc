// tvault_tamper: random bit flips in a stopped vault's database and WAL
// (issue 8, "Storage tamper").
//
// A baseline vault holds records uploaded by a client that verified every
// receipt and remembers the latest checkpoint; it is stopped with SIGKILL,
// so that its last commits are still in the WAL (vault.db-wal) while the
// earlier ones were checkpointed into vault.db. Each trial restores the
// baseline files, flips random bits in the database or the WAL (anywhere,
// or in a WAL frame header), sometimes also loses the anti-rollback copy
// of the checkpoint, starts tvaultd again and reads everything through the
// real API as the client does: the log (signed checkpoint, consistent with
// the one the client remembers, entries making its root), the listing,
// every record downloaded and read (decrypted, signature and bindings
// checked against its log entry).
//
// Outcome classes: refused at start (with the message's gist), reads that
// fail with a status, reads that return data that verifies, and the
// client's detection of a rollback or fork. Violations:
// - tvaultd dies of a signal (at start or while serving);
// - a download succeeds with bytes other than those acknowledged;
// - the vault serves a log smaller than the client's checkpoint without
//   the client noticing, or a log that verifies but lacks an acknowledged
//   record, or a listing without it while the download does not fail;
// - tvaultd starts on a database that lost commits the anti-rollback copy
//   covers.
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <CLI/CLI.hpp>
#include <chrono>
#include <filesystem>
#include <fstream>
#include <iostream>
#include <map>
#include <random>
#include <set>
#include <string>
#include <vector>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "crypto/io.h"
#include "tests/reliability/reliability_support.h"

namespace tvault::reliability {
namespace {

namespace fs = std::filesystem;
using crypto::trust_testing::Str;
using Clock = std::chrono::steady_clock;
using vault::testing::kMiB;
using vault::testing::NewRecordId;
using vault::testing::ReadTestFile;
using vault::testing::WriteTestFile;

constexpr size_t kWalHeader = 32;
constexpr size_t kFrameHeader = 24;
constexpr size_t kPageSize = 4096;

class TamperCampaign {
 public:
  explicit TamperCampaign(const DriverOptions& options)
      : options_(options), report_("tvault_tamper"), rng_(options.seed) {}
  int Run();

 private:
  absl::Status MakeBaseline();
  void Trial();
  // What the log at start said, as a class.
  std::string StartRefusal(const std::string& log) const;
  // Reads everything; returns the trial's class.
  std::string ReadEverything();
  std::string Path(const std::string& name) const {
    return scene_->process().data_dir() + "/" + name;
  }

  const DriverOptions options_;
  Report report_;
  std::mt19937_64 rng_;
  std::unique_ptr<VaultScene> scene_;
  // Acknowledged records: id -> SHA-256 of the bytes.
  std::map<std::string, std::string> acknowledged_;
  uint64_t baseline_size_ = 0;
  std::map<std::string, std::string> pristine_;  // file -> bytes
};

absl::Status TamperCampaign::MakeBaseline() {
  absl::StatusOr<std::unique_ptr<VaultScene>> scene = VaultScene::Create(
      "max_requests_per_minute = 100000\nsession_ttl_seconds = 86400\n");
  if (!scene.ok()) return scene.status();
  scene_ = *std::move(scene);
  const RecordsCase& c = scene_->records_case();
  // Large records first (their pages reach vault.db through SQLite's
  // automatic checkpoint at 1000 WAL pages), then small ones that stay in
  // the WAL.
  const std::vector<size_t> sizes = {3 * kMiB, 2 * kMiB, 1500000, 100,
                                     20000,    5000,     70000,   300};
  for (size_t size : sizes) {
    std::string body(size, '\0');
    for (char& ch : body) ch = static_cast<char>(rng_());
    const vault::testing::RecordId id = NewRecordId();
    absl::StatusOr<std::string> file = c.MakeRecord(c.dave(), id, body);
    if (!file.ok()) return file.status();
    tvault::v1::UploadResponse response;
    grpc::Status s = vault::testing::UploadRecord(
        scene_->stub(), c.dave_token(), c.case_id(), id, *file, &response);
    if (!s.ok()) return absl::InternalError(s.error_message());
    absl::StatusOr<tvault::v1::LogEntry> entry =
        scene_->CheckReceipt(response.receipt());
    if (!entry.ok()) return entry.status();
    acknowledged_[Str(id)] = Str(crypto::ComputeSha256(crypto::AsBytes(*file)));
  }
  absl::StatusOr<VerifiedLog> log = scene_->ReadVerifiedLog();
  if (!log.ok()) return log.status();
  baseline_size_ = log->checkpoint.tree_size;
  scene_->process().Kill();
  for (const char* name : {"vault.db", "vault.db-wal", "vault.db-shm"}) {
    pristine_[Path(name)] = ReadTestFile(Path(name));
  }
  pristine_[scene_->process().checkpoint_copy()] =
      ReadTestFile(scene_->process().checkpoint_copy());
  report_.Set("baseline: records", static_cast<int64_t>(acknowledged_.size()));
  report_.Set("baseline: log entries", static_cast<int64_t>(baseline_size_));
  report_.Set("baseline: vault.db bytes",
              static_cast<int64_t>(pristine_[Path("vault.db")].size()));
  report_.Set("baseline: vault.db-wal bytes",
              static_cast<int64_t>(pristine_[Path("vault.db-wal")].size()));
  if (pristine_[Path("vault.db-wal")].size() <= kWalHeader) {
    return absl::FailedPreconditionError(
        "the baseline left no WAL: the WAL cases would not be tried");
  }
  return absl::OkStatus();
}

std::string TamperCampaign::StartRefusal(const std::string& log) const {
  if (absl::StrContains(log, "ROLLBACK") ||
      absl::StrContains(log, "rollback") ||
      absl::StrContains(log, "smaller than") ||
      absl::StrContains(log, "does not contain")) {
    return "anti-rollback check";
  }
  if (absl::StrContains(log, "wrong key, or not a vault database")) {
    return "database does not decrypt (wrong key or not a vault database)";
  }
  if (absl::StrContains(log, "malformed") ||
      absl::StrContains(log, "corrupt") ||
      absl::StrContains(log, "disk image")) {
    return "database reported corrupt";
  }
  return "other";
}

void TamperCampaign::Trial() {
  // Restore the baseline.
  for (const auto& [path, bytes] : pristine_) WriteTestFile(path, bytes, 0600);
  std::string db = pristine_[Path("vault.db")];
  std::string wal = pristine_[Path("vault.db-wal")];
  const int target = static_cast<int>(rng_() % 10);
  const char* where = target < 4   ? "vault.db"
                      : target < 8 ? "vault.db-wal (anywhere)"
                                   : "vault.db-wal (a frame header)";
  std::string& bytes = target < 4 ? db : wal;
  const int roll = static_cast<int>(rng_() % 10);
  const int flips = roll < 6   ? 1
                    : roll < 9 ? 2 + static_cast<int>(rng_() % 3)
                               : 32;
  const size_t frames = (wal.size() - kWalHeader) / (kFrameHeader + kPageSize);
  for (int i = 0; i < flips; ++i) {
    size_t at = rng_() % bytes.size();
    if (target >= 8 && frames > 0) {
      at = kWalHeader + (rng_() % frames) * (kFrameHeader + kPageSize) +
           rng_() % kFrameHeader;
    }
    bytes[at] = static_cast<char>(bytes[at] ^ (1 << (rng_() % 8)));
  }
  WriteTestFile(Path("vault.db"), db, 0600);
  WriteTestFile(Path("vault.db-wal"), wal, 0600);
  const bool lose_mirror = rng_() % 4 == 0;
  if (lose_mirror) fs::remove(scene_->process().checkpoint_copy());
  report_.Count(absl::StrCat("trials: flips in ", where));
  report_.Count("bits flipped", flips);
  if (lose_mirror) report_.Count("trials with the anti-rollback copy lost too");

  const size_t log_before = scene_->process().log_text().size();
  absl::Status started = scene_->Start(/*sign_in=*/false);
  const std::string log = scene_->process().log_text().substr(log_before);
  if (!started.ok()) {
    // VaultProcess reaps a server that exits during start-up; its log then
    // says why. An exit without an error line (a crash) is a violation.
    if (absl::StrContains(log, "tvaultd error: ")) {
      report_.Count(
          absl::StrCat("trial outcome: refused at start: ", StartRefusal(log)));
    } else {
      report_.Violation(absl::StrCat(
          "tvaultd did not start and logged no error: ", started.message()));
    }
    return;
  }
  report_.Count(absl::StrCat("trial outcome: started; ", ReadEverything()));
  const pid_t pid = scene_->process().pid();
  int status = 0;
  if (::waitpid(pid, &status, WNOHANG) == pid) {
    report_.Violation(
        absl::StrCat("tvaultd exited while serving a tampered "
                     "database (wait status ",
                     status, "): ", log));
    scene_->process().Kill();
    return;
  }
  const int stopped = scene_->process().Stop();
  if (WIFSIGNALED(stopped)) {
    report_.Violation(absl::StrCat("tvaultd died of signal ", WTERMSIG(stopped),
                                   " on SIGTERM"));
  }
}

std::string TamperCampaign::ReadEverything() {
  const RecordsCase& c = scene_->records_case();
  absl::StatusOr<VerifiedLog> log = scene_->ReadVerifiedLog();
  bool log_ok = false;
  if (!log.ok()) {
    if (log.status().code() == absl::StatusCode::kDataLoss &&
        (absl::StrContains(log.status().message(), "ROLLBACK") ||
         absl::StrContains(log.status().message(), "FORK") ||
         absl::StrContains(log.status().message(), "rollback") ||
         absl::StrContains(log.status().message(), "fork"))) {
      report_.Count("log: client detects a rollback or fork");
    } else {
      report_.Count(
          absl::StrCat("log: read fails: ", CodeName(log.status().code())));
    }
  } else if (log->checkpoint.tree_size < baseline_size_) {
    report_.Violation(
        "the vault serves a smaller log and the client's check "
        "did not notice");
  } else {
    log_ok = true;
    report_.Count("log: verifies, consistent with the client's checkpoint");
  }
  int failed_reads = 0;
  std::set<std::string> listed;
  absl::StatusOr<std::vector<tvault::v1::RecordSummary>> all =
      vault::testing::ListAllRecords(scene_->stub(), c.alice_token(),
                                     c.case_id());
  if (all.ok()) {
    for (const auto& r : *all) listed.insert(r.record_id());
    report_.Count("listing: returned");
  } else {
    report_.Count(
        absl::StrCat("listing: fails: ", CodeName(all.status().code())));
  }
  for (const auto& [id, sha] : acknowledged_) {
    vault::testing::RecordId rid;
    std::copy(id.begin(), id.end(), rid.begin());
    absl::StatusOr<std::string> got =
        vault::testing::DownloadRecord(scene_->stub(), c.alice_token(), rid);
    if (!got.ok()) {
      report_.Count(
          absl::StrCat("record reads: fail: ", CodeName(got.status().code())));
      ++failed_reads;
      if (got.status().code() == absl::StatusCode::kNotFound && log_ok) {
        report_.Violation(
            absl::StrCat("record ", Hex(id),
                         " is NOT_FOUND while the log that verifies "
                         "holds it"));
      }
      continue;
    }
    if (Str(crypto::ComputeSha256(crypto::AsBytes(*got))) != sha) {
      report_.Violation(
          absl::StrCat("record ", Hex(id), " was returned with other bytes"));
      continue;
    }
    if (all.ok() && !listed.count(id)) {
      report_.Violation(
          absl::StrCat("record ", Hex(id), " downloads but is not listed"));
    }
    if (log_ok) {
      auto logged = log->records.find(id);
      if (logged == log->records.end()) {
        report_.Violation(absl::StrCat("record ", Hex(id),
                                       " is missing from a log that verifies"));
        continue;
      }
      if (absl::Status s =
              scene_->VerifyRecord(rid, *got, log->entries[logged->second]);
          !s.ok()) {
        report_.Violation(absl::StrCat("record ", Hex(id),
                                       " does not verify: ", s.message()));
        continue;
      }
    }
    report_.Count(
        "record reads: intact (verified against the log when "
        "it was readable)");
  }
  if (!log.ok() && log.status().code() == absl::StatusCode::kDataLoss &&
      !log_ok) {
    return "the client detects a rollback or fork, or the log fails";
  }
  if (!log_ok) return "the log read fails with a status";
  if (failed_reads > 0) return "some reads fail with a status, the rest verify";
  return "everything reads back and verifies";
}

int TamperCampaign::Run() {
  const Clock::time_point start = Clock::now();
  std::cout << "tvault_tamper: seed " << options_.seed << ", duration "
            << options_.duration_seconds << " s" << std::endl;
  if (absl::Status s = MakeBaseline(); !s.ok()) {
    report_.Violation(absl::StrCat("cannot make the baseline: ", s.message()));
    return report_.Finish(Clock::now() - start);
  }
  const Clock::time_point end =
      start + std::chrono::milliseconds(
                  static_cast<int64_t>(options_.duration_seconds * 1000));
  while (Clock::now() < end && report_.violations() < 20) {
    Trial();
    report_.Count("trials");
  }
  // The baseline itself still starts and verifies (the restore is exact).
  for (const auto& [path, bytes] : pristine_) WriteTestFile(path, bytes, 0600);
  if (absl::Status s = scene_->Start(false); !s.ok()) {
    report_.Violation(
        absl::StrCat("the untouched baseline does not start: ", s.message()));
  } else {
    const std::string control = ReadEverything();
    report_.Note(absl::StrCat("control, the untouched baseline: ", control));
    if (control != "everything reads back and verifies") {
      report_.Violation("the untouched baseline does not read back intact");
    }
    scene_->process().Stop();
  }
  return report_.Finish(Clock::now() - start);
}

}  // namespace
}  // namespace tvault::reliability

int main(int argc, char** argv) {
  CLI::App app{
      "tvault_tamper: flip random bits in a stopped tvaultd's database and "
      "WAL, restart it and check that every read fails clearly or returns "
      "data that verifies, and that lost commits are caught"};
  tvault::reliability::DriverOptions options;
  tvault::reliability::AddDriverOptions(app, options, 45);
  CLI11_PARSE(app, argc, argv);
  tvault::reliability::ChooseSeed(options);
  tvault::reliability::TamperCampaign campaign(options);
  return campaign.Run();
}
