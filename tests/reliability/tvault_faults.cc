// tvault_faults: storage faults injected into a running tvaultd during
// uploads (issue 8, "Fault injection").
//
// The server runs under libfiu's POSIX preload, set up as `fiu-run -x`
// does it (LD_PRELOAD of fiu_run_preload.so and fiu_posix_preload.so,
// FIU_CTRL_FIFO), and `fiu-ctrl` switches failure points on and off in it
// at random moments while several clients upload records of random sizes:
//   posix/io/rw/pwrite          SQLite's page writes (WAL and database)
//   posix/io/rw/pwrite/reduce   the same, as short writes
//   posix/io/sync/fdatasync     SQLite's syncs (every commit, checkpoints)
//   posix/io/sync/fsync         the anti-rollback copy and directory syncs
//   posix/io/rw/write           the anti-rollback copy's writes
//   posix/io/oc/open            new files (the copy's temporary file)
// each with a random probability, for a random time.
//
// Checked, precisely:
// - every call either succeeds with a receipt that verifies (signed
//   checkpoint, inclusion, consistency with every checkpoint seen), or
//   fails with INTERNAL, UNAVAILABLE or ABORTED and a message (anything
//   else is a violation);
// - the server keeps running; if it exits, it exits with a status (not a
//   signal) and starts again cleanly;
// - once the faults are lifted, every failed upload completes (resumed
//   from what the vault holds) or turns out stored, with a receipt that
//   verifies; the vault serves new uploads again;
// - every acknowledged record is listed, downloads byte-identical and
//   reads as a record (decrypted, signature and bindings checked against
//   its log entry); the listing and the log's RecordAdded entries are the
//   same set; the log's entries make the root of its signed checkpoint;
// - at the end (server stopped with SIGTERM, exit status 0) the database
//   passes integrity_check and the structural checks of
//   CheckDatabaseFile: no half-applied change.
#include <signal.h>
#include <stdlib.h>
#include <sys/wait.h>
#include <unistd.h>

#include <CLI/CLI.hpp>
#include <atomic>
#include <chrono>
#include <filesystem>
#include <iostream>
#include <map>
#include <random>
#include <set>
#include <string>
#include <thread>
#include <vector>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "client/vault_auth.h"
#include "crypto/io.h"
#include "tests/reliability/reliability_support.h"

namespace tvault::reliability {
namespace {

using crypto::trust_testing::Str;
using Clock = std::chrono::steady_clock;
using vault::testing::kMiB;
using vault::testing::NewRecordId;
using vault::testing::RunOptions;
using vault::testing::RunProgram;

constexpr char kFiuLibDir[] = "/usr/lib/fiu";
constexpr char kFiuCtrl[] = "/usr/bin/fiu-ctrl";

struct FailurePoint {
  const char* name;
  const char* what;
};
constexpr FailurePoint kPoints[] = {
    {"posix/io/rw/pwrite", "page writes"},
    {"posix/io/rw/pwrite/reduce", "short page writes"},
    {"posix/io/sync/fdatasync", "fdatasync"},
    {"posix/io/sync/fsync", "fsync"},
    {"posix/io/rw/write", "write"},
    {"posix/io/oc/open", "open"},
};
constexpr double kProbabilities[] = {0.02, 0.1, 0.3, 1.0};

// One upload as a client made it.
struct Upload {
  RecordId id;
  std::string file;
  grpc::StatusCode failed_with = grpc::StatusCode::OK;
};

class FaultCampaign {
 public:
  FaultCampaign(const DriverOptions& options, std::string fifo_prefix)
      : options_(options),
        fifo_prefix_(std::move(fifo_prefix)),
        report_("tvault_faults"),
        rng_(options.seed) {}

  int Run();

 private:
  // fiu-ctrl COMMAND on the running server; false (and a violation) if it
  // did not take.
  bool FiuCtrl(const std::string& command);
  void Round();
  void Uploader(int index, Clock::time_point end);
  // Whether the server is still running; if it exited, checks how and
  // starts it again.
  void CheckAlive();
  // Completes every failed upload with the faults lifted.
  void Complete();
  // `all`: downloads every acknowledged record, not only the new ones.
  void VerifyEverything(bool all);
  void Record(const Upload& upload, const tvault::v1::Receipt& receipt,
              const char* how);

  const DriverOptions options_;
  const std::string fifo_prefix_;
  Report report_;
  std::mt19937_64 rng_;
  std::unique_ptr<VaultScene> scene_;
  Mutex mu_;
  std::vector<Upload> failed_ ABSL_GUARDED_BY(mu_);
  // Acknowledged records by id: the SHA-256 of their bytes (not the bytes:
  // a long run acknowledges gigabytes).
  std::map<std::string, std::string> acknowledged_ ABSL_GUARDED_BY(mu_);
  std::set<std::string> verified_;
  std::atomic<uint64_t> seed_counter_{1};
  bool killed_ = false;  // the last round ended with a kill
};

bool FaultCampaign::FiuCtrl(const std::string& command) {
  std::string output;
  RunOptions options;
  options.extra_env = {"LD_PRELOAD="};
  const int status = RunProgram({kFiuCtrl, "-f", fifo_prefix_, "-c", command,
                                 absl::StrCat(scene_->process().pid())},
                                &output, options);
  if (!WIFEXITED(status) || WEXITSTATUS(status) != 0 ||
      absl::StrContains(output, "rror")) {
    // A server that just exited has no fifo any more; CheckAlive reports.
    if (::kill(scene_->process().pid(), 0) == 0) {
      report_.Violation(
          absl::StrCat("fiu-ctrl '", command, "' did not take: ", output));
    }
    return false;
  }
  return true;
}

void FaultCampaign::Record(const Upload& upload,
                           const tvault::v1::Receipt& receipt,
                           const char* how) {
  absl::StatusOr<tvault::v1::LogEntry> entry;
  {
    // The log monitor is not thread-safe.
    MutexLock lock(mu_);
    entry = scene_->CheckReceipt(receipt);
  }
  if (!entry.ok()) {
    report_.Violation(
        absl::StrCat("the receipt of record ", Hex(Str(upload.id)), " (", how,
                     ") does not verify: ", entry.status().message()));
    return;
  }
  if (!entry->has_record_added() ||
      entry->record_added().record_id() != Str(upload.id)) {
    report_.Violation(absl::StrCat("the receipt of record ",
                                   Hex(Str(upload.id)),
                                   " is for another entry"));
    return;
  }
  MutexLock lock(mu_);
  acknowledged_[Str(upload.id)] =
      Str(crypto::ComputeSha256(crypto::AsBytes(upload.file)));
}

void FaultCampaign::Uploader(int index, Clock::time_point end) {
  std::mt19937_64 rng(options_.seed * 1000 + seed_counter_++);
  const RecordsCase& c = scene_->records_case();
  const bool as_dave = index % 2 == 0;
  int failures = 0;
  while (Clock::now() < end && failures < 8) {
    // Mostly small records (one message), some of several messages, a few
    // of more than one 4 MiB storage batch.
    const int kind = static_cast<int>(rng() % 10);
    const size_t body_size = kind < 7   ? 1000 + rng() % 60000
                             : kind < 9 ? kMiB + rng() % kMiB
                                        : 4 * kMiB + rng() % kMiB;
    std::string body(body_size, '\0');
    for (size_t i = 0; i < body.size(); i += 8) {
      const uint64_t v = rng();
      std::memcpy(&body[i], &v, std::min<size_t>(8, body.size() - i));
    }
    Upload upload{NewRecordId(), ""};
    absl::StatusOr<std::string> file =
        c.MakeRecord(as_dave ? c.dave() : c.bob(), upload.id, body);
    if (!file.ok()) {
      report_.Violation(
          absl::StrCat("cannot make a record: ", file.status().message()));
      return;
    }
    upload.file = *std::move(file);
    tvault::v1::UploadResponse response;
    grpc::Status s = vault::testing::UploadRecord(
        scene_->stub(), as_dave ? c.dave_token() : c.bob_token(), c.case_id(),
        upload.id, upload.file, &response);
    report_.Count("uploads attempted");
    if (s.ok()) {
      report_.Count("uploads: OK with receipt");
      Record(upload, response.receipt(), "acknowledged");
      continue;
    }
    ++failures;
    report_.Count(absl::StrCat("uploads failed: ", CodeName(s.error_code())));
    switch (s.error_code()) {
      case grpc::StatusCode::INTERNAL:
      case grpc::StatusCode::UNAVAILABLE:
      case grpc::StatusCode::ABORTED:
        if (s.error_message().empty()) {
          report_.Violation(
              absl::StrCat(CodeName(s.error_code()), " without a message"));
        }
        break;
      default:
        report_.Violation(absl::StrCat("an upload failed with ",
                                       CodeName(s.error_code()), ": ",
                                       s.error_message()));
    }
    upload.failed_with = s.error_code();
    {
      MutexLock lock(mu_);
      failed_.push_back(std::move(upload));
    }
    {
      static Mutex messages_mu;
      static std::set<std::string> messages;
      MutexLock lock(messages_mu);
      if (messages.insert(CodeName(s.error_code()) + ": " + s.error_message())
              .second) {
        report_.Note(absl::StrCat("message seen: ", CodeName(s.error_code()),
                                  ": \"", s.error_message(), "\""));
      }
    }
  }
}

void FaultCampaign::CheckAlive() {
  const pid_t pid = scene_->process().pid();
  int status = 0;
  if (::waitpid(pid, &status, WNOHANG) != pid) return;
  const std::string log = scene_->process().log_text();
  const std::string tail = log.substr(log.size() > 600 ? log.size() - 600 : 0);
  if (WIFSIGNALED(status)) {
    report_.Violation(absl::StrCat("tvaultd died of signal ", WTERMSIG(status),
                                   " under faults; its log ends: ", tail));
  } else {
    report_.Count(absl::StrCat("server exits, status ", WEXITSTATUS(status)));
    std::cout << "tvaultd exited with status " << WEXITSTATUS(status)
              << "; its log ends: " << tail << std::endl;
  }
  // VaultProcess still holds the old pid; Start replaces it.
  if (absl::Status s = scene_->Start(); !s.ok()) {
    report_.Violation(
        absl::StrCat("tvaultd does not start again after "
                     "exiting under faults: ",
                     s.message()));
    return;
  }
  report_.Count("server restarts");
}

void FaultCampaign::Round() {
  const FailurePoint& point = kPoints[rng_() % std::size(kPoints)];
  const double probability = kProbabilities[rng_() % std::size(kProbabilities)];
  const auto before = std::chrono::milliseconds(100 + rng_() % 400);
  const auto hold = std::chrono::milliseconds(100 + rng_() % 900);
  constexpr int kUploaders = 3;
  const Clock::time_point end =
      Clock::now() + before + hold + std::chrono::milliseconds(300);
  std::vector<std::thread> threads;
  for (int i = 0; i < kUploaders; ++i) {
    threads.emplace_back([this, i, end] { Uploader(i, end); });
  }
  std::this_thread::sleep_for(before);
  if (FiuCtrl(absl::StrCat("enable_random name=", point.name,
                           ",probability=", probability))) {
    report_.Count(absl::StrCat("faults injected: ", point.name));
    std::this_thread::sleep_for(hold);
    FiuCtrl(absl::StrCat("disable name=", point.name));
  }
  for (std::thread& t : threads) t.join();
  report_.Count("rounds");
  CheckAlive();
  // Every third round the server is killed right after the faults (as a
  // crash or a power cut would): what a failed commit left in the WAL must
  // not come back half-applied.
  killed_ = rng_() % 3 == 0;
  if (killed_) {
    scene_->process().Kill();
    if (absl::Status s = scene_->Start(); !s.ok()) {
      report_.Violation(absl::StrCat(
          "tvaultd does not start again after a kill under faults: ",
          s.message()));
      return;
    }
    report_.Count("server killed (SIGKILL) after the faults and restarted");
  }
}

void FaultCampaign::Complete() {
  std::vector<Upload> failed;
  {
    MutexLock lock(mu_);
    failed.swap(failed_);
  }
  const RecordsCase& c = scene_->records_case();
  for (const Upload& upload : failed) {
    bool done = false;
    std::string last;
    for (int attempt = 0; attempt < 20 && !done; ++attempt) {
      if (attempt > 0)
        std::this_thread::sleep_for(std::chrono::milliseconds(100));
      tvault::v1::GetUploadStateRequest request;
      request.set_case_id(Str(c.case_id()));
      request.set_record_id(Str(upload.id));
      tvault::v1::UploadState state;
      grpc::ClientContext context;
      client::AuthorizeCall(context, c.dave_token());
      grpc::Status s = scene_->stub().GetUploadState(&context, request, &state);
      if (!s.ok()) {
        last = absl::StrCat("GetUploadState: ", CodeName(s.error_code()), ": ",
                            s.error_message());
        continue;
      }
      if (state.has_receipt()) {
        // The failed call had in fact been committed.
        report_.Count(absl::StrCat("failed uploads found stored afterwards: ",
                                   CodeName(upload.failed_with),
                                   killed_ ? ", after a kill" : ""));
        Record(upload, state.receipt(), "stored despite the error");
        done = true;
        break;
      }
      tvault::v1::UploadResponse response;
      s = vault::testing::SendUpload(
          scene_->stub(), c.dave_token(),
          vault::testing::UploadStartFor(c.case_id(), upload.id, upload.file,
                                         state.held_bytes()),
          upload.file, upload.file.size(), &response);
      if (s.ok()) {
        report_.Count(state.held_bytes() > 0
                          ? "failed uploads resumed and completed"
                          : "failed uploads sent again and completed");
        Record(upload, response.receipt(), "completed after the faults");
        done = true;
      } else {
        last = absl::StrCat(CodeName(s.error_code()), ": ", s.error_message());
      }
    }
    if (!done) {
      report_.Violation(absl::StrCat("upload ", Hex(Str(upload.id)),
                                     " cannot be completed once the faults "
                                     "are lifted: ",
                                     last));
    }
  }
}

void FaultCampaign::VerifyEverything(bool all) {
  absl::StatusOr<VerifiedLog> log = scene_->ReadVerifiedLog();
  if (!log.ok()) {
    report_.Violation(
        absl::StrCat("the log does not verify: ", log.status().message()));
    return;
  }
  const RecordsCase& c = scene_->records_case();
  absl::StatusOr<std::vector<tvault::v1::RecordSummary>> listed =
      vault::testing::ListAllRecords(scene_->stub(), c.alice_token(),
                                     c.case_id());
  if (!listed.ok()) {
    report_.Violation(
        absl::StrCat("cannot list the records: ", listed.status().message()));
    return;
  }
  std::set<std::string> in_listing;
  for (const tvault::v1::RecordSummary& r : *listed) {
    in_listing.insert(r.record_id());
    auto logged = log->records.find(r.record_id());
    if (logged == log->records.end() || logged->second != r.log_index()) {
      report_.Violation(absl::StrCat("listed record ", Hex(r.record_id()),
                                     " has no RecordAdded entry at its index"));
    }
  }
  for (const auto& [id, index] : log->records) {
    if (!in_listing.count(id)) {
      report_.Violation(absl::StrCat("logged record ", Hex(id), " (entry ",
                                     index, ") is not listed"));
    }
  }
  std::map<std::string, std::string> acknowledged;
  {
    MutexLock lock(mu_);
    acknowledged = acknowledged_;
  }
  // Every acknowledged record must still be there, intact; the full read
  // (decryption, signature, bindings) once per record.
  for (const auto& [id, sha256] : acknowledged) {
    if (!all && verified_.count(id)) continue;
    auto logged = log->records.find(id);
    if (logged == log->records.end()) {
      report_.Violation(
          absl::StrCat("acknowledged record ", Hex(id), " is not in the log"));
      continue;
    }
    RecordId rid;
    std::copy(id.begin(), id.end(), rid.begin());
    absl::StatusOr<std::string> got =
        vault::testing::DownloadRecord(scene_->stub(), c.alice_token(), rid);
    if (!got.ok() ||
        Str(crypto::ComputeSha256(crypto::AsBytes(*got))) != sha256) {
      report_.Violation(absl::StrCat(
          "acknowledged record ", Hex(id), " does not download intact: ",
          got.ok() ? "other bytes" : std::string(got.status().message())));
      continue;
    }
    report_.Count("record downloads checked (byte-identical)");
    if (verified_.count(id)) continue;  // read in full before
    if (absl::Status s =
            scene_->VerifyRecord(rid, *got, log->entries[logged->second]);
        !s.ok()) {
      report_.Violation(
          absl::StrCat("record ", Hex(id), " does not verify: ", s.message()));
      continue;
    }
    verified_.insert(id);
    report_.Count("record full reads (decrypted, signature, bindings)");
  }
}

int FaultCampaign::Run() {
  const Clock::time_point start = Clock::now();
  std::cout << "tvault_faults: seed " << options_.seed << ", duration "
            << options_.duration_seconds << " s" << std::endl;
  absl::StatusOr<std::unique_ptr<VaultScene>> scene = VaultScene::Create(
      "max_pending_uploads = 64\nmax_requests_per_minute = 100000\n"
      "max_streams_per_identity = 96\n");
  if (!scene.ok()) {
    report_.Violation(
        absl::StrCat("cannot set up the vault: ", scene.status().message()));
    return report_.Finish(Clock::now() - start);
  }
  scene_ = *std::move(scene);
  // The preload must really be in the server, or nothing is injected.
  const std::string maps = vault::testing::ReadTestFile(
      absl::StrCat("/proc/", scene_->process().pid(), "/maps"));
  if (!absl::StrContains(maps, "fiu_posix_preload.so")) {
    report_.Violation("libfiu's POSIX preload is not loaded in tvaultd");
    return report_.Finish(Clock::now() - start);
  }
  report_.Set("server RSS at start, KiB",
              ReadProcessMemory(scene_->process().pid()).rss_kib);
  const Clock::time_point end =
      start + std::chrono::milliseconds(
                  static_cast<int64_t>(options_.duration_seconds * 1000));
  int rounds = 0;
  while (Clock::now() < end && report_.violations() < 20) {
    Round();
    Complete();
    if (++rounds % 5 == 0) VerifyEverything(false);
  }
  Complete();
  VerifyEverything(true);
  // One more upload with no fault: the vault still serves.
  {
    const RecordsCase& c = scene_->records_case();
    Upload upload{NewRecordId(), ""};
    upload.file = *c.MakeRecord(c.dave(), upload.id, "after the campaign");
    tvault::v1::UploadResponse response;
    grpc::Status s = vault::testing::UploadRecord(
        scene_->stub(), c.dave_token(), c.case_id(), upload.id, upload.file,
        &response);
    if (!s.ok()) {
      report_.Violation(
          absl::StrCat("a fault-free upload after the campaign failed: ",
                       s.error_message()));
    } else {
      Record(upload, response.receipt(), "after the campaign");
    }
  }
  {
    MutexLock lock(mu_);
    report_.Set("records acknowledged and verified",
                static_cast<int64_t>(acknowledged_.size()));
  }
  StopAndCheckDatabase(*scene_, report_);
  return report_.Finish(Clock::now() - start);
}

}  // namespace
}  // namespace tvault::reliability

int main(int argc, char** argv) {
  CLI::App app{
      "tvault_faults: inject write and sync failures (libfiu) into a real "
      "tvaultd during uploads and check that nothing acknowledged is lost "
      "and nothing is half-applied"};
  tvault::reliability::DriverOptions options;
  tvault::reliability::AddDriverOptions(app, options, 60);
  CLI11_PARSE(app, argc, argv);
  tvault::reliability::ChooseSeed(options);
  return tvault::reliability::RunInFreshDirectory(
      "tvault-faults", [&](const std::string& dir) {
        // As `fiu-run -x` sets it up, for every tvaultd this program starts.
        const std::string fifo_prefix = dir + "/fiu-ctrl";
        setenv("LD_PRELOAD",
               absl::StrCat(
                   tvault::reliability::kFiuLibDir, "/fiu_run_preload.so ",
                   tvault::reliability::kFiuLibDir, "/fiu_posix_preload.so")
                   .c_str(),
               1);
        setenv("FIU_CTRL_FIFO", fifo_prefix.c_str(), 1);
        setenv("FIU_ENABLE", "", 1);
        tvault::reliability::FaultCampaign campaign(options, fifo_prefix);
        return campaign.Run();
      });
}
