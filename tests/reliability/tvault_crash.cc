// tvault_crash: crash consistency (issue 8). A real tvaultd is killed with
// SIGKILL at random moments (a seeded random delay after the traffic
// starts) while several clients upload records (some of several storage
// batches), the case's owner asks for deletions (executed by the vault
// after a 2-second delay) and creates cases with grants; it is then
// started again, and everything the client knows is checked against what
// the vault shows.
//
// The client keeps a ledger (crash_ledger.h): every record, deletion,
// descriptor and grant it sent, and which of them were acknowledged
// (answered OK, with a receipt that verified: signed checkpoint,
// inclusion, consistency with every checkpoint seen before) and which were
// in flight when the server died. Checked after every restart:
// - while the server is stopped, the database passes PRAGMA
//   integrity_check and the structural checks of CheckDatabaseFile (log
//   numbered, stored checkpoint of the whole log, every record's chunks
//   exactly its bytes, pending uploads' held bytes their chunks, …);
// - the vault's checkpoint extends the last one the client saw (an RFC
//   9162 consistency proof; no rollback, no fork), and the log's entries
//   make its root;
// - every acknowledged entry is in the log at its receipt's index, byte
//   for byte;
// - nothing unacknowledged is visible unless it is complete: every log
//   entry is one the client sent (RecordAdded with its size and SHA-256,
//   DeletionRequested with its request hash, DescriptorPublished,
//   GrantAdded), each once; a DeletionDone follows its request and is not
//   logged before the delay ran out;
// - the listing and the log's RecordAdded entries are the same set, with
//   the same sizes, hashes and indices and the deletion state the log
//   says; a deletion whose delay ran out before the vault started has
//   been executed (start-up maintenance);
// - every new acknowledged record (and every 25th restart, all of them)
//   downloads byte-identical and reads as a record of the case (decrypted,
//   signature and bindings); a record found committed though its upload
//   was in flight too; a deleted one answers NOT_FOUND "deleted";
// - every new acknowledged descriptor and grant is served to its member
//   byte for byte (all every 25th restart);
// - in-flight uploads resume from what the vault holds (never more than
//   the file) and complete, or turn out stored with their first receipt;
//   in-flight deletions and grants sent again succeed.
// At the end every due deletion has been executed, the server stops
// cleanly on SIGTERM and the database passes the checks once more.
//
// Any call that fails before the kill is a violation; calls cut by the
// kill are counted by status. Exit status 1 on any violation.

#include <unistd.h>

#include <CLI/CLI.hpp>
#include <algorithm>
#include <atomic>
#include <chrono>
#include <iostream>
#include <memory>
#include <optional>
#include <random>
#include <set>
#include <string>
#include <thread>
#include <utility>
#include <vector>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "client/vault_auth.h"
#include "crypto/case_descriptor.h"
#include "crypto/grant.h"
#include "crypto/io.h"
#include "tests/reliability/crash_ledger.h"
#include "tests/reliability/reliability_support.h"
#include "tests/reliability/workload_support.h"
#include "vault/memory.h"

namespace tvault::reliability {
namespace {

using crypto::trust_testing::Account;
using crypto::trust_testing::Str;
using vault::testing::kMiB;
using Clock = std::chrono::steady_clock;

constexpr int kGrantMembers = 3;
// Records neither deleted nor being deleted, at most (uploads wait), and
// at least (the deleter waits): the database stays small, so that the
// checks between kills stay cheap.
constexpr int64_t kMaxLiveRecords = 16;
constexpr size_t kMinLiveRecords = 4;
// Cases whose grants a full verification reads again (every case's
// entries are checked in the log every time).
constexpr size_t kCasesPerFullCheck = 20;
// Calls in a row that may fail while finishing, without a kill, before a
// worker gives up (each failure is a violation already).
constexpr int kMaxFailuresWhileDraining = 3;
constexpr char kConfig[] =
    "deletion_delay_seconds = 2\n"
    "maintenance_interval_seconds = 1\n"
    "max_pending_uploads = 64\n"
    "max_requests_per_minute = 100000\n"
    "max_streams_per_identity = 96\n"  // clients share accounts
    "session_ttl_seconds = 86400\n";

struct CrashOptions {
  int kills = 200;
  uint64_t seed = 0;
  int full_every = 25;
  int uploaders = 3;
  int max_window_ms = 1200;
};

std::string Sha(const std::string& bytes) {
  return Str(crypto::ComputeSha256(crypto::AsBytes(bytes)));
}

class Campaign {
 public:
  explicit Campaign(const CrashOptions& options)
      : options_(options),
        report_("tvault_crash"),
        ledger_(report_),
        rng_(options.seed) {}
  int Run();

 private:
  // One traffic window ended by SIGKILL (or, with draining_, the traffic
  // that finishes what is in flight).
  void Traffic(bool kill);
  void Uploader(int n, uint64_t seed);
  void Deleter(uint64_t seed);
  void Granter();
  TrackedRecord* NewRecord(std::mt19937_64& rng, const Account& signer);
  bool Upload(TrackedRecord& r, const std::string& token);
  bool Delete(TrackedRecord& r);
  absl::Status NewCase();
  bool PublishCase(TrackedCase& c);

  // A call failed: counted if the kill cut it, a violation before that.
  // Returns false.
  bool Failed(const std::string& what, const grpc::Status& s);
  // Checks a receipt as a client does; empty on failure (a violation).
  std::optional<tvault::v1::LogEntry> Receipt(const std::string& what,
                                              const tvault::v1::Receipt& r);

  // Signs every account in again when `sign_in` (sessions last a day).
  bool StartServer(bool sign_in);
  void CheckDatabase(const char* when);
  // After a restart, against the running server (crash_ledger.h, and the
  // reads below); `full` reads every record again.
  void Verify(bool full);
  void CheckDeferredReceipts() ABSL_EXCLUSIVE_LOCKS_REQUIRED(monitor_mu_);
  void ReadRecords(const VerifiedLog& log, bool full);
  void ReadCases(bool full);
  void Final();

  const CrashOptions options_;
  Report report_;
  CrashLedger ledger_;
  Latencies latencies_;
  std::mt19937_64 rng_;
  std::unique_ptr<VaultScene> scene_;
  // The grant members: reviewers of every case the granter creates.
  std::vector<std::unique_ptr<Account>> members_;
  std::vector<std::string> member_tokens_;

  // The log as this client verified it; not thread-safe.
  Mutex monitor_mu_;
  std::optional<KeptLog> kept_log_ ABSL_GUARDED_BY(monitor_mu_);
  // Receipts whose check the kill cut (it fetches a consistency proof).
  std::vector<std::pair<std::string, tvault::v1::Receipt>> deferred_receipts_
      ABSL_GUARDED_BY(monitor_mu_);
  std::atomic<bool> killed_{false};
  std::atomic<bool> draining_{false};
  uint64_t setup_entries_ = 0;  // entries before the campaign's traffic
  int64_t started_wall_ = 0;    // when the server was last started
};

bool Campaign::Failed(const std::string& what, const grpc::Status& s) {
  if (killed_.load()) {
    report_.Count(
        absl::StrCat("calls cut by the kill: ", CodeName(s.error_code())));
    return false;
  }
  report_.Violation(absl::StrCat(
      what, " failed", draining_.load() ? " while finishing" : " before a kill",
      ": ", CodeName(s.error_code()), ": ", s.error_message()));
  return false;
}

std::optional<tvault::v1::LogEntry> Campaign::Receipt(
    const std::string& what, const tvault::v1::Receipt& receipt) {
  MutexLock lock(monitor_mu_);
  absl::StatusOr<tvault::v1::LogEntry> entry = kept_log_->CheckReceipt(
      scene_->stub(), scene_->records_case().alice_token(), receipt);
  if (entry.ok()) return *std::move(entry);
  // The check asks the vault for a consistency proof; if the kill cut
  // that call, the receipt is checked again once the vault is back.
  const absl::StatusCode code = entry.status().code();
  if (killed_.load() && code != absl::StatusCode::kDataLoss &&
      code != absl::StatusCode::kPermissionDenied &&
      code != absl::StatusCode::kInvalidArgument) {
    tvault::v1::LogEntry parsed;
    if (parsed.ParseFromString(receipt.entry())) {
      deferred_receipts_.emplace_back(what, receipt);
      return parsed;
    }
  }
  report_.Violation(absl::StrCat(
      "the receipt of ", what, " does not verify: ", entry.status().message()));
  return std::nullopt;
}

TrackedRecord* Campaign::NewRecord(std::mt19937_64& rng,
                                   const Account& signer) {
  // New records only while the deleter keeps up.
  while (ledger_.LiveRecords() >= kMaxLiveRecords) {
    if (killed_.load()) return nullptr;
    std::this_thread::sleep_for(std::chrono::milliseconds(5));
  }
  // Mostly small records (one message, one commit), some of several
  // messages, some of more than one 4 MiB storage batch (a kill may then
  // leave part of the upload committed, to resume).
  const int kind = static_cast<int>(rng() % 20);
  const size_t size = kind < 13   ? 1000 + rng() % 60000
                      : kind < 18 ? kMiB + rng() % (2 * kMiB)
                                  : 4 * kMiB + rng() % (5 * kMiB);
  auto r = std::make_unique<TrackedRecord>();
  r->id = vault::testing::NewRecordId();
  absl::StatusOr<std::string> file =
      scene_->records_case().MakeRecord(signer, r->id, RandomBody(rng, size));
  if (!file.ok()) {
    report_.Violation(
        absl::StrCat("cannot make a record: ", file.status().message()));
    return nullptr;
  }
  r->file = *std::move(file);
  r->sha256 = Sha(r->file);
  r->size = r->file.size();
  report_.Count("records made");
  return ledger_.AddUpload(std::move(r));
}

bool Campaign::Upload(TrackedRecord& r, const std::string& token) {
  const RecordsCase& c = scene_->records_case();
  uint64_t offset = 0;
  if (r.attempts > 0) {
    tvault::v1::GetUploadStateRequest request;
    request.set_case_id(Str(c.case_id()));
    request.set_record_id(Str(r.id));
    tvault::v1::UploadState state;
    grpc::ClientContext context;
    client::AuthorizeCall(context, token);
    grpc::Status s = scene_->stub().GetUploadState(&context, request, &state);
    if (!s.ok()) return Failed("GetUploadState", s);
    if (state.has_receipt()) {
      report_.Count("uploads in flight found stored (first receipt)");
      std::optional<tvault::v1::LogEntry> entry =
          Receipt("a record found stored", state.receipt());
      if (!entry) return true;
      const tvault::v1::RecordAdded& added = entry->record_added();
      if (added.record_id() != Str(r.id) ||
          added.ciphertext_sha256() != r.sha256 ||
          added.ciphertext_size() != r.size) {
        report_.Violation(absl::StrCat("the stored receipt of record ",
                                       Hex(Str(r.id)),
                                       " is not of the record sent"));
        return true;
      }
      ledger_.Acknowledge(r, state.receipt());
      return true;
    }
    if (state.held_bytes() > r.size) {
      report_.Violation(absl::StrCat("the vault holds ", state.held_bytes(),
                                     " bytes of a ", r.size, "-byte upload"));
      return true;
    }
    offset = state.held_bytes();
    if (offset > 0) report_.Count("uploads resumed from held bytes > 0");
  }
  ledger_.CountAttempt(r);
  tvault::v1::UploadResponse response;
  const Clock::time_point t0 = Clock::now();
  grpc::Status s = vault::testing::SendUpload(
      scene_->stub(), token,
      vault::testing::UploadStartFor(c.case_id(), r.id, r.file, offset), r.file,
      r.file.size(), &response);
  if (!s.ok()) return Failed("an upload", s);
  latencies_.Add(r.size < kMiB ? "upload < 1 MiB" : "upload >= 1 MiB",
                 Clock::now() - t0);
  std::optional<tvault::v1::LogEntry> entry =
      Receipt(absl::StrCat("record ", Hex(Str(r.id))), response.receipt());
  if (!entry) return true;
  const tvault::v1::RecordAdded& added = entry->record_added();
  if (added.record_id() != Str(r.id) || added.ciphertext_sha256() != r.sha256 ||
      added.ciphertext_size() != r.size ||
      added.case_id() != Str(c.case_id())) {
    report_.Violation(absl::StrCat("the receipt of record ", Hex(Str(r.id)),
                                   " is not of the record sent"));
    return true;
  }
  report_.Count("records acknowledged");
  ledger_.Acknowledge(r, response.receipt());
  return true;
}

void Campaign::Uploader(int n, uint64_t seed) {
  std::mt19937_64 rng(seed);
  const RecordsCase& c = scene_->records_case();
  const Account& signer = n % 2 == 0 ? c.dave() : c.bob();
  const std::string& token = n % 2 == 0 ? c.dave_token() : c.bob_token();
  int failures = 0;
  while (!killed_.load() && failures < kMaxFailuresWhileDraining) {
    TrackedRecord* r = ledger_.TakeUnfinishedUpload();
    if (r == nullptr && !draining_.load()) r = NewRecord(rng, signer);
    if (r == nullptr) return;
    failures = Upload(*r, token) ? 0 : failures + 1;
    ledger_.ReleaseUpload(*r);
  }
}

bool Campaign::Delete(TrackedRecord& r) {
  const RecordsCase& c = scene_->records_case();
  const tvault::v1::SignedStatement request = ledger_.DeletionRequest(r, [&] {
    return vault::testing::DeletionRequest(c.alice().sign, c.case_id(), r.id,
                                           "crash campaign");
  });
  tvault::v1::RequestDeletionResponse response;
  const Clock::time_point t0 = Clock::now();
  grpc::Status s = vault::testing::RequestDeletion(
      scene_->stub(), c.alice_token(), request, &response);
  if (!s.ok()) return Failed("a deletion request", s);
  latencies_.Add("deletion request", Clock::now() - t0);
  if (!response.has_receipt()) {
    // Sent again after a crash: the vault had stored it; no new entry.
    report_.Count("deletions acknowledged as already stored");
    ledger_.AcknowledgeDeletion(r, response.delete_after(), nullptr);
    return true;
  }
  std::optional<tvault::v1::LogEntry> entry = Receipt(
      absl::StrCat("the deletion of ", Hex(Str(r.id))), response.receipt());
  if (!entry) return true;
  const tvault::v1::DeletionRequested& d = entry->deletion_requested();
  if (d.record_id() != Str(r.id) || d.request_sha256() != r.deletion_sha256 ||
      d.delete_after() != response.delete_after()) {
    report_.Violation(absl::StrCat("the receipt of the deletion of ",
                                   Hex(Str(r.id)), " is of another entry"));
    return true;
  }
  report_.Count("deletions acknowledged with a receipt");
  ledger_.AcknowledgeDeletion(r, response.delete_after(), &response.receipt());
  return true;
}

void Campaign::Deleter(uint64_t seed) {
  std::mt19937_64 rng(seed);
  int failures = 0;
  while (!killed_.load() && failures < kMaxFailuresWhileDraining) {
    TrackedRecord* r =
        ledger_.TakeDeletion(rng, !draining_.load(), kMinLiveRecords);
    if (r == nullptr) {
      if (draining_.load()) return;
      std::this_thread::sleep_for(std::chrono::milliseconds(10));
      continue;
    }
    failures = Delete(*r) ? 0 : failures + 1;
    ledger_.ReleaseDeletion(*r);
    std::this_thread::sleep_for(std::chrono::milliseconds(rng() % 10));
  }
}

absl::Status Campaign::NewCase() {
  const RecordsCase& c = scene_->records_case();
  auto tc = std::make_unique<TrackedCase>();
  tc->id = crypto::NewCaseId();
  const crypto::X25519Identity key = crypto::X25519Identity::Generate();
  crypto::EpochMembership m{
      {c.alice().cert.fingerprint}, {c.alice().cert.fingerprint}, {}};
  for (const auto& member : members_) {
    m.members.push_back(member->cert.fingerprint);
  }
  absl::StatusOr<crypto::VerifiedDescriptor> genesis =
      crypto::CreateGenesisDescriptor(tc->id, key.recipient(), m,
                                      vault::testing::Now() + 30 * 86400,
                                      c.alice().cert, c.alice().sign);
  if (!genesis.ok()) return genesis.status();
  tc->genesis = *std::move(genesis);
  absl::StatusOr<crypto::CaseChain> chain =
      crypto::CaseChain::Create(tc->genesis.hash);
  if (!chain.ok()) return chain.status();
  crypto::trust_testing::CertDirectory directory;
  directory.Add(c.alice());
  if (absl::Status s = chain->Accept(tc->genesis.statement, directory.Lookup());
      !s.ok()) {
    return s;
  }
  for (size_t i = 0; i < members_.size(); ++i) {
    absl::StatusOr<crypto::CreatedGrant> grant = crypto::CreateGrant(
        *chain, 0, key, members_[i]->cert, c.alice().cert, c.alice().sign);
    if (!grant.ok()) return grant.status();
    TrackedGrant g;
    g.grant = *std::move(grant);
    g.member = members_[i].get();
    g.member_token = &member_tokens_[i];
    tc->grants.push_back(std::move(g));
  }
  ledger_.cases().push_back(std::move(tc));
  report_.Count("cases made");
  return absl::OkStatus();
}

bool Campaign::PublishCase(TrackedCase& tc) {
  const RecordsCase& c = scene_->records_case();
  if (!tc.acked) {
    tvault::v1::PublishDescriptorResponse response;
    const Clock::time_point t0 = Clock::now();
    grpc::Status s = vault::testing::PublishDescriptor(
        scene_->stub(), c.alice_token(), tc.genesis.statement, &response);
    if (!s.ok()) return Failed("publishing a descriptor", s);
    latencies_.Add("publish descriptor", Clock::now() - t0);
    if (response.has_receipt()) {
      std::optional<tvault::v1::LogEntry> entry =
          Receipt("a descriptor", response.receipt());
      if (!entry) return true;
      const tvault::v1::DescriptorPublished& d = entry->descriptor_published();
      if (d.case_id() != Str(tc.id) || d.epoch() != 0 ||
          d.descriptor_hash() != Str(tc.genesis.hash)) {
        report_.Violation("a descriptor's receipt is of another entry");
        return true;
      }
      tc.entry = response.receipt().entry();
      tc.index = response.receipt().index();
      report_.Count("descriptors acknowledged with a receipt");
    } else {
      report_.Count("descriptors acknowledged as already stored");
    }
    tc.acked = true;
  }
  for (TrackedGrant& g : tc.grants) {
    if (g.acked || killed_.load()) continue;
    tvault::v1::PublishGrantsResponse response;
    const Clock::time_point t0 = Clock::now();
    grpc::Status s = vault::testing::PublishGrant(
        scene_->stub(), c.alice_token(), g.grant, &response);
    if (!s.ok()) return Failed("publishing a grant", s);
    latencies_.Add("publish grant", Clock::now() - t0);
    if (response.receipts_size() != 1) {
      report_.Violation("one grant sent, another number of receipts");
      return true;
    }
    // An empty receipt: the grant was stored before (sent again after a
    // crash); no new entry.
    if (response.receipts(0).checkpoint().empty()) {
      report_.Count("grants acknowledged as already stored");
      g.acked = true;
      continue;
    }
    std::optional<tvault::v1::LogEntry> entry =
        Receipt("a grant", response.receipts(0));
    if (!entry) return true;
    const tvault::v1::GrantAdded& a = entry->grant_added();
    if (a.case_id() != Str(tc.id) || a.epoch() != 0 ||
        a.member_cert_fingerprint() != Str(g.member->cert.fingerprint) ||
        a.grant_sha256() != Sha(g.grant.statement.body())) {
      report_.Violation("a grant's receipt is of another entry");
      return true;
    }
    g.entry = response.receipts(0).entry();
    g.index = response.receipts(0).index();
    g.acked = true;
    report_.Count("grants acknowledged with a receipt");
  }
  return true;
}

void Campaign::Granter() {
  int failures = 0;
  while (!killed_.load() && failures < kMaxFailuresWhileDraining) {
    TrackedCase* open = nullptr;
    for (auto& tc : ledger_.cases()) {
      bool done = tc->acked;
      for (const TrackedGrant& g : tc->grants) done = done && g.acked;
      if (!done) open = tc.get();
    }
    if (open == nullptr) {
      if (draining_.load()) return;
      if (absl::Status s = NewCase(); !s.ok()) {
        report_.Violation(absl::StrCat("cannot make a case: ", s.message()));
        return;
      }
      open = ledger_.cases().back().get();
    }
    failures = PublishCase(*open) ? 0 : failures + 1;
  }
}

void Campaign::Traffic(bool kill) {
  killed_ = false;
  std::vector<std::thread> threads;
  for (int i = 0; i < options_.uploaders; ++i) {
    threads.emplace_back([this, i, seed = rng_()] { Uploader(i, seed); });
  }
  threads.emplace_back([this, seed = rng_()] { Deleter(seed); });
  threads.emplace_back([this] { Granter(); });
  if (kill) {
    // Mostly short windows (a kill lands amid uploads and group commits),
    // one in eight long enough for maintenance to run due deletions.
    const uint64_t long_ms =
        static_cast<uint64_t>(std::max(1, options_.max_window_ms - 500));
    const uint64_t window_ms =
        rng_() % 8 == 0 ? 500 + rng_() % long_ms : 20 + rng_() % 330;
    std::this_thread::sleep_for(std::chrono::milliseconds(window_ms));
    killed_ = true;
    scene_->process().Kill();
    report_.Count("kills (SIGKILL)");
  }
  for (std::thread& t : threads) t.join();
}

bool Campaign::StartServer(bool sign_in) {
  started_wall_ = vault::testing::Now();
  const Clock::time_point t0 = Clock::now();
  // The sessions live in the database: they survive the kill.
  absl::Status s = scene_->Start(sign_in);
  for (size_t i = 0; i < members_.size() && s.ok() && sign_in; ++i) {
    absl::StatusOr<std::string> token = vault::testing::SignIn(
        scene_->stub(), scene_->process().pin(), members_[i]->sign);
    s = token.status();
    if (token.ok()) member_tokens_[i] = *std::move(token);
  }
  if (!s.ok()) {
    report_.Violation(
        absl::StrCat("tvaultd does not start after a kill: ", s.message()));
    return false;
  }
  latencies_.Add("restart (spawn to ready)", Clock::now() - t0);
  report_.Count("restarts");
  return true;
}

void Campaign::CheckDatabase(const char* when) {
  const Clock::time_point t0 = Clock::now();
  const bool ok = CheckStoppedDatabase(*scene_, report_, when);
  latencies_.Add("database check (server stopped)", Clock::now() - t0);
  if (ok) report_.Count("database checks passed (integrity_check, structure)");
}

void Campaign::CheckDeferredReceipts() {
  for (const auto& [what, receipt] : deferred_receipts_) {
    absl::StatusOr<tvault::v1::LogEntry> entry = kept_log_->CheckReceipt(
        scene_->stub(), scene_->records_case().alice_token(), receipt);
    if (!entry.ok()) {
      report_.Violation(absl::StrCat(
          "the receipt of ", what,
          " does not verify after the restart: ", entry.status().message()));
    }
    report_.Count("receipts checked after the restart (the kill cut it)");
  }
  deferred_receipts_.clear();
}

void Campaign::ReadRecords(const VerifiedLog& log, bool full) {
  const RecordsCase& c = scene_->records_case();
  for (TrackedRecord* r : ledger_.RecordsToRead(full, rng_)) {
    const Clock::time_point t0 = Clock::now();
    absl::StatusOr<std::string> got =
        vault::testing::DownloadRecord(scene_->stub(), c.alice_token(), r->id);
    const bool gone = absl::IsNotFound(got.status()) &&
                      absl::StrContains(got.status().message(), "deleted");
    if (r->deleted) {
      if (!gone) {
        report_.Violation(
            absl::StrCat("deleted record ", Hex(Str(r->id)),
                         " does not answer NOT_FOUND \"deleted\": ",
                         got.ok() ? "it downloads" : got.status().ToString()));
      }
      r->tombstone_checked = true;
      report_.Count("tombstones checked (download refused)");
      continue;
    }
    if (!got.ok()) {
      // Executed since the log was read.
      if (gone && r->deletion_logged &&
          r->logged_delete_after <= vault::testing::Now()) {
        continue;
      }
      report_.Violation(absl::StrCat(
          "record ", Hex(Str(r->id)),
          " does not download: ", got.status().ToString(),
          " (deletion: ", r->deletion ? "requested" : "none",
          r->deletion_acked ? ", acknowledged" : "",
          r->deletion_logged
              ? absl::StrCat(", logged, due at ", r->logged_delete_after)
              : "",
          "; now ", vault::testing::Now(), ")"));
      continue;
    }
    latencies_.Add("download (verification)", Clock::now() - t0);
    if (Sha(*got) != r->sha256) {
      report_.Violation(absl::StrCat("record ", Hex(Str(r->id)),
                                     " downloads with other bytes than sent"));
      continue;
    }
    if (absl::Status s =
            scene_->VerifyRecord(r->id, *got, log.entries[r->logged_index]);
        !s.ok()) {
      report_.Violation(
          absl::StrCat("record ", Hex(Str(r->id)),
                       " does not read as a record: ", s.message()));
      continue;
    }
    r->verified = true;
    report_.Count("record verifications (download, SHA-256, full read)");
  }
}

void Campaign::ReadCases(bool full) {
  const RecordsCase& c = scene_->records_case();
  std::vector<std::unique_ptr<TrackedCase>>& cases = ledger_.cases();
  // A full check reads a sample of the cases again.
  std::set<size_t> sample;
  while (full && sample.size() < std::min(kCasesPerFullCheck, cases.size())) {
    sample.insert(rng_() % cases.size());
  }
  for (size_t i = 0; i < cases.size(); ++i) {
    TrackedCase& tc = *cases[i];
    const bool again = sample.count(i) > 0;
    if (tc.acked && (!tc.verified || again)) {
      absl::StatusOr<tvault::v1::GetCaseResponse> got =
          vault::testing::GetCase(scene_->stub(), c.alice_token(), tc.id);
      if (!got.ok() || got->descriptors_size() != 1 ||
          got->descriptors(0).SerializeAsString() !=
              tc.genesis.statement.SerializeAsString()) {
        report_.Violation(absl::StrCat(
            "an acknowledged case is not served as published: ",
            got.ok() ? "other descriptors" : got.status().ToString()));
      }
      tc.verified = true;
    }
    for (TrackedGrant& g : tc.grants) {
      if (!g.acked || (g.verified && !again)) continue;
      absl::StatusOr<tvault::v1::GetCaseResponse> got =
          vault::testing::GetCase(scene_->stub(), *g.member_token, tc.id);
      bool found = false;
      if (got.ok()) {
        for (const tvault::v1::GrantRecord& held : got->grants()) {
          found = found || (held.grant().SerializeAsString() ==
                                g.grant.statement.SerializeAsString() &&
                            held.ciphertext() == Str(g.grant.ciphertext));
        }
      }
      if (!found) {
        report_.Violation(absl::StrCat(
            "an acknowledged grant is not served to its member: ",
            got.ok() ? "absent or altered" : got.status().ToString()));
      }
      g.verified = true;
      report_.Count("grant verifications (served to the member)");
    }
  }
}

void Campaign::Verify(bool full) {
  const Clock::time_point t0 = Clock::now();
  const RecordsCase& c = scene_->records_case();
  // The listing first: see CrashLedger::CheckListing.
  absl::StatusOr<std::vector<tvault::v1::RecordSummary>> listing =
      vault::testing::ListAllRecords(scene_->stub(), c.alice_token(),
                                     c.case_id());
  if (!listing.ok()) {
    report_.Violation(absl::StrCat("cannot list the records after a restart: ",
                                   listing.status().ToString()));
    return;
  }
  MutexLock lock(monitor_mu_);
  if (absl::Status s = kept_log_->Update(scene_->stub(), c.alice_token());
      !s.ok()) {
    report_.Violation(absl::StrCat("the log does not verify after a restart: ",
                                   s.ToString()));
    return;
  }
  const VerifiedLog* log = &kept_log_->log();
  CheckDeferredReceipts();
  ledger_.ScanLog(*log, setup_entries_);
  ledger_.CheckListing(*listing, *log, started_wall_);
  ledger_.CheckAcknowledged(*log);
  ReadRecords(*log, full);
  ReadCases(full);
  report_.Count(full ? "verifications of everything" : "verifications of news");
  latencies_.Add(full ? "verification, everything" : "verification, news",
                 Clock::now() - t0);
}

void Campaign::Final() {
  // Finish what was in flight, with no kill.
  draining_ = true;
  Traffic(false);
  Verify(true);
  // Let every requested deletion come due and be executed.
  const int64_t last_due = ledger_.LastDeletionDue();
  while (vault::testing::Now() <= last_due + 3) {
    std::this_thread::sleep_for(std::chrono::milliseconds(200));
  }
  Verify(true);
  ledger_.CheckEnd(vault::testing::Now());
  report_.Set("data directory at end, KiB",
              DiskUsageBytes(scene_->process().data_dir()) / 1024);
  StopAndCheckDatabase(*scene_, report_);
}

int Campaign::Run() {
  const Clock::time_point start = Clock::now();
  std::cout << "tvault_crash: seed " << options_.seed << ", " << options_.kills
            << " kills" << std::endl;
  absl::StatusOr<std::unique_ptr<VaultScene>> scene =
      VaultScene::Create(kConfig);
  if (!scene.ok()) {
    report_.Violation(
        absl::StrCat("cannot set up the vault: ", scene.status().message()));
    return report_.Finish(Clock::now() - start);
  }
  scene_ = *std::move(scene);
  for (int i = 0; i < kGrantMembers; ++i) {
    absl::StatusOr<std::unique_ptr<Account>> member =
        vault::testing::NewLiveAccount(scene_->root(),
                                       absl::StrCat("member", i));
    absl::StatusOr<std::string> token =
        member.ok() ? vault::testing::JoinVault(
                          scene_->stub(), scene_->process().pin(), **member)
                    : absl::StatusOr<std::string>(member.status());
    if (!token.ok()) {
      report_.Violation(
          absl::StrCat("cannot register a member: ", token.status().message()));
      return report_.Finish(Clock::now() - start);
    }
    members_.push_back(*std::move(member));
    member_tokens_.push_back(*std::move(token));
  }
  {
    MutexLock lock(monitor_mu_);
    absl::StatusOr<KeptLog> kept = KeptLog::Create(scene_->stub());
    absl::Status s =
        kept.ok()
            ? kept->Update(scene_->stub(), scene_->records_case().alice_token())
            : kept.status();
    if (!s.ok()) {
      report_.Violation(
          absl::StrCat("the log does not verify at the start: ", s.message()));
      return report_.Finish(Clock::now() - start);
    }
    kept_log_ = *std::move(kept);
    setup_entries_ = kept_log_->log().entries.size();
    ledger_.ScanLog(kept_log_->log(), setup_entries_);
  }
  bool running = true;
  for (int kill = 1; kill <= options_.kills && report_.violations() < 20;
       ++kill) {
    const Clock::time_point t0 = Clock::now();
    Traffic(true);
    CheckDatabase("after a kill");
    running = StartServer(/*sign_in=*/kill % 500 == 0);
    if (!running) break;
    Verify(kill % options_.full_every == 0);
    latencies_.Add("cycle (traffic, kill, checks, restart)", Clock::now() - t0);
    if (kill % 50 == 0) {
      std::cout << "tvault_crash: " << kill << " kills, "
                << report_.violations() << " violations" << std::endl;
    }
  }
  if (running && report_.violations() < 20) Final();
  report_.Set("this driver's peak RSS (VmHWM), KiB",
              ReadProcessMemory(getpid()).peak_kib);
  latencies_.ReportTo(report_);
  if (report_.violations() > 0) {
    report_.Note(
        absl::StrCat("the vault's directory is kept in ",
                     KeepEvidence(*scene_, "tvault_crash", options_.seed)));
  }
  return report_.Finish(Clock::now() - start);
}

}  // namespace
}  // namespace tvault::reliability

int main(int argc, char** argv) {
  CLI::App app{
      "tvault_crash: kill a real tvaultd with SIGKILL at random moments during "
      "concurrent uploads, deletions and grants; after each restart check "
      "that everything acknowledged is there, byte for byte, that nothing "
      "partial is visible, that the log verifies and that the database "
      "passes integrity_check"};
  tvault::reliability::CrashOptions options;
  app.add_option("--kills", options.kills, "How many times to kill the server")
      ->capture_default_str()
      ->check(CLI::Range(1, 1000000));
  app.add_option("--seed", options.seed,
                 "Seed of the random choices (0: from the clock; printed). "
                 "Thread timing is not seeded, so a seed repeats the choices, "
                 "not every outcome");
  app.add_option("--full-every", options.full_every,
                 "Read every record again after every N-th restart (the "
                 "others read what is new)")
      ->capture_default_str()
      ->check(CLI::Range(1, 1000000));
  app.add_option("--uploaders", options.uploaders, "Concurrent uploaders")
      ->capture_default_str()
      ->check(CLI::Range(1, 32));
  app.add_option("--max-window-ms", options.max_window_ms,
                 "Longest traffic window before a kill, in milliseconds")
      ->capture_default_str()
      ->check(CLI::Range(600, 60000));
  CLI11_PARSE(app, argc, argv);
  if (options.seed == 0) {
    options.seed = static_cast<uint64_t>(
        std::chrono::system_clock::now().time_since_epoch().count());
  }
  // Records of many MiB on many threads would otherwise stay in glibc's
  // arenas, and the driver would take gigabytes on a shared machine.
  tvault::vault::ReturnLargeBuffersToTheSystem();
  tvault::reliability::Campaign campaign(options);
  return campaign.Run();
}
