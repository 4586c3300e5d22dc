// What the client of the crash campaign (tvault_crash.cc) knows: every
// record, deletion, descriptor and grant it sent, which of them the vault
// acknowledged (answered OK, with the receipt it carried) and which were
// in flight when the server was killed; and the checks, after a restart,
// of the vault's log and listing against that knowledge.
//
// Checks (each failure is a violation in the Report):
// - ScanLog: every log entry since the last scan is one the client sent
//   (RecordAdded with its size and SHA-256, DeletionRequested with its
//   request hash after its record, DeletionDone after its request and not
//   before its delay ran out, DescriptorPublished, GrantAdded after its
//   descriptor), each once; acknowledged ones at their receipts' index.
// - CheckListing: the listing and the log's RecordAdded entries are the
//   same set with the same sizes, hashes and indices, and the deletion
//   state the log shows; a deletion due before the vault started has been
//   executed (start-up maintenance runs every due deletion).
// - CheckAcknowledged: every acknowledged entry is in the log at its
//   receipt's index, byte for byte.
// - CheckEnd: every upload completed and every deletion stored and
//   executed.
//
// Thread safety: the records are shared by the uploader and deleter
// threads, and every method that touches them locks. A record handed out
// by TakeUpload (TakeDeletion) is the taker's to upload (delete) until
// ReleaseUpload (ReleaseDeletion). The checks run while no worker runs.
// The cases belong to the one granter thread during traffic and to the
// main thread between kills: no lock.
#ifndef TVAULT_TESTS_RELIABILITY_CRASH_LEDGER_H_
#define TVAULT_TESTS_RELIABILITY_CRASH_LEDGER_H_

#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <random>
#include <string>
#include <vector>

#include "crypto/case_descriptor.h"
#include "crypto/grant.h"
#include "crypto/mutex.h"
#include "proto/vault.pb.h"
#include "tests/reliability/reliability_support.h"

namespace tvault::reliability {

inline constexpr size_t kTombstonesPerFullRead = 64;

// One record as the client knows it.
struct TrackedRecord {
  RecordId id{};
  std::string file;  // kept until acknowledged (to resume)
  std::string sha256;
  uint64_t size = 0;
  int attempts = 0;
  bool busy = false;    // an uploader has it
  bool acked = false;   // answered with a receipt that verified
  std::string entry;    // the receipt's entry
  uint64_t index = 0;   // and its index
  bool logged = false;  // its RecordAdded seen in the log
  uint64_t logged_index = 0;
  bool verified = false;  // downloaded intact and read in full
  // Its deletion (the owner's request, sent at least once).
  std::optional<tvault::v1::SignedStatement> deletion;
  std::string deletion_sha256;
  bool deletion_busy = false;
  bool deletion_acked = false;
  int64_t delete_after = 0;    // from the answer
  std::string deletion_entry;  // the receipt's entry, if one came
  uint64_t deletion_index = 0;
  bool deletion_logged = false;
  int64_t logged_delete_after = 0;
  bool deleted = false;  // its DeletionDone seen in the log
  bool tombstone_checked = false;
};

struct TrackedGrant {
  crypto::CreatedGrant grant;
  const crypto::trust_testing::Account* member = nullptr;
  const std::string* member_token = nullptr;
  bool acked = false;
  std::string entry;  // the receipt's entry, if one came
  uint64_t index = 0;
  bool logged = false;
  bool verified = false;
};

// A case the campaign created: its genesis descriptor and one grant of
// epoch 0 to each grant member.
struct TrackedCase {
  crypto::CaseId id{};
  crypto::VerifiedDescriptor genesis;
  bool acked = false;
  std::string entry;  // the receipt's entry, if one came
  uint64_t index = 0;
  bool logged = false;
  bool verified = false;
  std::vector<TrackedGrant> grants;
};

class CrashLedger {
 public:
  explicit CrashLedger(Report& report) : report_(report) {}

  // --- uploads ---
  // An unacknowledged record no one is uploading (to resume), or nullptr.
  TrackedRecord* TakeUnfinishedUpload();
  // Records neither deleted nor asked to be.
  int64_t LiveRecords();
  // A new record, taken by the caller.
  TrackedRecord* AddUpload(std::unique_ptr<TrackedRecord> record);
  void CountAttempt(TrackedRecord& r);
  // The upload answered with `receipt` (already checked): the file goes.
  void Acknowledge(TrackedRecord& r, const tvault::v1::Receipt& receipt);
  void ReleaseUpload(TrackedRecord& r);

  // --- deletions ---
  // A deletion to send again, else (if `new_ones` and more than
  // `keep_alive` records are live) a random acknowledged record; nullptr
  // if none. Taken by the caller.
  TrackedRecord* TakeDeletion(std::mt19937_64& rng, bool new_ones,
                              size_t keep_alive);
  // The record's deletion request, made by `make` the first time.
  tvault::v1::SignedStatement DeletionRequest(
      TrackedRecord& r,
      const std::function<tvault::v1::SignedStatement()>& make);
  // The deletion answered OK with `delete_after`, and the receipt if one
  // came (null when the vault had stored it before).
  void AcknowledgeDeletion(TrackedRecord& r, int64_t delete_after,
                           const tvault::v1::Receipt* receipt);
  void ReleaseDeletion(TrackedRecord& r);

  std::vector<std::unique_ptr<TrackedCase>>& cases() { return cases_; }

  // --- checks after a restart (see the top) ---
  // Entries before `setup_entries` are the set-up's registrations.
  void ScanLog(const VerifiedLog& log, uint64_t setup_entries);
  // `listing` was read before `log` (maintenance may execute a deletion
  // in between, which the log then shows and the listing may not);
  // `started_at`: when the server was started (Unix seconds).
  void CheckListing(const std::vector<tvault::v1::RecordSummary>& listing,
                    const VerifiedLog& log, int64_t started_at);
  void CheckAcknowledged(const VerifiedLog& log);
  // Logged records to read: those not read since they were logged (or
  // deleted); with `all`, every live one too and a sample (`rng`) of
  // kTombstonesPerFullRead tombstones.
  std::vector<TrackedRecord*> RecordsToRead(bool all, std::mt19937_64& rng);
  // The latest delete_after of the deletions logged so far.
  int64_t LastDeletionDue();
  // At the end, at Unix time `now`; also sets the final figures.
  void CheckEnd(int64_t now);
  uint64_t log_size() const { return scanned_; }

 private:
  TrackedRecord* Find(const std::string& id, uint64_t index)
      ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  void ScanRecordAdded(const tvault::v1::RecordAdded& a, uint64_t i)
      ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  void ScanDeletionRequested(const tvault::v1::DeletionRequested& d, uint64_t i)
      ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  void ScanDeletionDone(const tvault::v1::LogEntry& e, uint64_t i)
      ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  void ScanCaseEntry(const tvault::v1::LogEntry& e, uint64_t i,
                     uint64_t setup_entries);

  Report& report_;
  Mutex mu_;
  std::map<std::string, std::unique_ptr<TrackedRecord>> records_
      ABSL_GUARDED_BY(mu_);
  std::vector<std::unique_ptr<TrackedCase>> cases_;
  uint64_t scanned_ = 0;  // log entries scanned so far
};

// Whether the log holds `bytes` (an entry a receipt carried) at `index`.
bool LoggedAt(const VerifiedLog& log, uint64_t index, const std::string& bytes);

}  // namespace tvault::reliability

#endif  // TVAULT_TESTS_RELIABILITY_CRASH_LEDGER_H_
