#include "tests/reliability/crash_ledger.h"

#include <algorithm>
#include <functional>
#include <set>
#include <utility>

#include "absl/strings/str_cat.h"
#include "crypto/io.h"
#include "crypto/statement.h"

namespace tvault::reliability {
namespace {

using crypto::trust_testing::Str;

std::string Sha(const std::string& bytes) {
  return Str(crypto::ComputeSha256(crypto::AsBytes(bytes)));
}

}  // namespace

bool LoggedAt(const VerifiedLog& log, uint64_t index,
              const std::string& bytes) {
  return index < log.entries.size() &&
         crypto::SerializeDeterministic(log.entries[index]) == bytes;
}

TrackedRecord* CrashLedger::TakeUnfinishedUpload() {
  MutexLock lock(mu_);
  for (auto& [key, r] : records_) {
    if (!r->acked && !r->busy) {
      r->busy = true;
      return r.get();
    }
  }
  return nullptr;
}

int64_t CrashLedger::LiveRecords() {
  MutexLock lock(mu_);
  int64_t live = 0;
  for (auto& [key, r] : records_) live += r->deletion ? 0 : 1;
  return live;
}

TrackedRecord* CrashLedger::AddUpload(std::unique_ptr<TrackedRecord> record) {
  MutexLock lock(mu_);
  record->busy = true;
  TrackedRecord* out = record.get();
  records_[Str(record->id)] = std::move(record);
  return out;
}

void CrashLedger::CountAttempt(TrackedRecord& r) {
  MutexLock lock(mu_);
  ++r.attempts;
}

void CrashLedger::Acknowledge(TrackedRecord& r,
                              const tvault::v1::Receipt& receipt) {
  MutexLock lock(mu_);
  r.acked = true;
  r.entry = receipt.entry();
  r.index = receipt.index();
  std::string().swap(r.file);  // frees it (assigning "" would keep it)
}

void CrashLedger::ReleaseUpload(TrackedRecord& r) {
  MutexLock lock(mu_);
  r.busy = false;
}

TrackedRecord* CrashLedger::TakeDeletion(std::mt19937_64& rng, bool new_ones,
                                         size_t keep_alive) {
  MutexLock lock(mu_);
  std::vector<TrackedRecord*> candidates;
  for (auto& [key, r] : records_) {
    if (r->deletion && !r->deletion_acked && !r->deletion_busy) {
      r->deletion_busy = true;
      return r.get();
    }
    if (r->acked && !r->deletion) candidates.push_back(r.get());
  }
  if (!new_ones || candidates.size() <= keep_alive) return nullptr;
  TrackedRecord* pick = candidates[rng() % candidates.size()];
  pick->deletion_busy = true;
  return pick;
}

tvault::v1::SignedStatement CrashLedger::DeletionRequest(
    TrackedRecord& r,
    const std::function<tvault::v1::SignedStatement()>& make) {
  MutexLock lock(mu_);
  if (!r.deletion) {
    r.deletion = make();
    r.deletion_sha256 = Sha(r.deletion->body());
  }
  return *r.deletion;
}

void CrashLedger::AcknowledgeDeletion(TrackedRecord& r, int64_t delete_after,
                                      const tvault::v1::Receipt* receipt) {
  MutexLock lock(mu_);
  r.deletion_acked = true;
  r.delete_after = delete_after;
  if (receipt != nullptr) {
    r.deletion_entry = receipt->entry();
    r.deletion_index = receipt->index();
  }
}

void CrashLedger::ReleaseDeletion(TrackedRecord& r) {
  MutexLock lock(mu_);
  r.deletion_busy = false;
}

TrackedRecord* CrashLedger::Find(const std::string& id, uint64_t index) {
  auto it = records_.find(id);
  if (it == records_.end()) {
    report_.Violation(absl::StrCat("log entry ", index,
                                   " is about a record never sent: ", Hex(id)));
    return nullptr;
  }
  return it->second.get();
}

void CrashLedger::ScanRecordAdded(const tvault::v1::RecordAdded& a,
                                  uint64_t i) {
  TrackedRecord* r = Find(a.record_id(), i);
  if (r == nullptr) return;
  if (r->logged) {
    report_.Violation(absl::StrCat("record ", Hex(a.record_id()),
                                   " is logged twice (entries ",
                                   r->logged_index, " and ", i, ")"));
  }
  if (a.ciphertext_sha256() != r->sha256 || a.ciphertext_size() != r->size) {
    report_.Violation(absl::StrCat(
        "log entry ", i, " logs record ", Hex(a.record_id()),
        " with another size or SHA-256 than was sent: a partial record"));
  }
  if (r->acked && r->index != i) {
    report_.Violation(absl::StrCat("record ", Hex(a.record_id()),
                                   " acknowledged at index ", r->index,
                                   " is logged at ", i));
  }
  if (!r->acked) report_.Count("uploads in flight found committed");
  r->logged = true;
  r->logged_index = i;
}

void CrashLedger::ScanDeletionRequested(const tvault::v1::DeletionRequested& d,
                                        uint64_t i) {
  TrackedRecord* r = Find(d.record_id(), i);
  if (r == nullptr) return;
  if (!r->deletion || r->deletion_sha256 != d.request_sha256()) {
    report_.Violation(
        absl::StrCat("log entry ", i, " is a deletion never requested"));
  } else if (r->deletion_logged) {
    report_.Violation(absl::StrCat("the deletion of ", Hex(d.record_id()),
                                   " is logged twice"));
  } else if (!r->logged) {
    report_.Violation(absl::StrCat("the deletion of ", Hex(d.record_id()),
                                   " is logged before the record"));
  } else if (r->deletion_acked && r->delete_after != d.delete_after()) {
    report_.Violation(absl::StrCat("the deletion of ", Hex(d.record_id()),
                                   " was answered with delay ", r->delete_after,
                                   " but logged with ", d.delete_after()));
  }
  if (r->deletion && !r->deletion_acked) {
    report_.Count("deletions in flight found committed");
  }
  r->deletion_logged = true;
  r->logged_delete_after = d.delete_after();
}

void CrashLedger::ScanDeletionDone(const tvault::v1::LogEntry& e, uint64_t i) {
  const tvault::v1::DeletionDone& d = e.deletion_done();
  TrackedRecord* r = Find(d.record_id(), i);
  if (r == nullptr) return;
  if (!r->deletion_logged || r->deleted ||
      d.request_sha256() != r->deletion_sha256) {
    report_.Violation(absl::StrCat("log entry ", i, ": a deletion done of ",
                                   Hex(d.record_id()),
                                   " without its request before it, or twice"));
  } else if (e.logged_at() < r->logged_delete_after) {
    report_.Violation(absl::StrCat(
        "record ", Hex(d.record_id()), " was deleted at ", e.logged_at(),
        ", before its delay ran out at ", r->logged_delete_after));
  }
  r->deleted = true;
  report_.Count("deletions executed");
}

void CrashLedger::ScanCaseEntry(const tvault::v1::LogEntry& e, uint64_t i,
                                uint64_t setup_entries) {
  const std::string& case_id = e.has_descriptor_published()
                                   ? e.descriptor_published().case_id()
                                   : e.grant_added().case_id();
  TrackedCase* tc = nullptr;
  for (auto& c : cases_) {
    if (Str(c->id) == case_id) tc = c.get();
  }
  if (e.has_descriptor_published()) {
    if (tc == nullptr) {
      // The set-up's case.
      if (i >= setup_entries) {
        report_.Violation(absl::StrCat("log entry ", i,
                                       " publishes a descriptor never sent"));
      }
      return;
    }
    const tvault::v1::DescriptorPublished& d = e.descriptor_published();
    if (tc->logged || d.epoch() != 0 ||
        d.descriptor_hash() != Str(tc->genesis.hash)) {
      report_.Violation(absl::StrCat(
          "log entry ", i, ": a descriptor logged twice or not as sent"));
    }
    if (!tc->entry.empty() && tc->index != i) {
      report_.Violation("a descriptor is logged at another index");
    }
    tc->logged = true;
    return;
  }
  const tvault::v1::GrantAdded& a = e.grant_added();
  TrackedGrant* grant = nullptr;
  if (tc != nullptr) {
    for (TrackedGrant& g : tc->grants) {
      if (Str(g.member->cert.fingerprint) == a.member_cert_fingerprint()) {
        grant = &g;
      }
    }
  }
  if (grant == nullptr || grant->logged || !tc->logged ||
      a.grant_sha256() != Sha(grant->grant.statement.body())) {
    report_.Violation(absl::StrCat(
        "log entry ", i, " is a grant never sent, repeated or early"));
    return;
  }
  grant->logged = true;
}

void CrashLedger::ScanLog(const VerifiedLog& log, uint64_t setup_entries) {
  MutexLock lock(mu_);
  for (uint64_t i = scanned_; i < log.entries.size(); ++i) {
    const tvault::v1::LogEntry& e = log.entries[i];
    if (e.has_record_added()) {
      ScanRecordAdded(e.record_added(), i);
    } else if (e.has_deletion_requested()) {
      ScanDeletionRequested(e.deletion_requested(), i);
    } else if (e.has_deletion_done()) {
      ScanDeletionDone(e, i);
    } else if (e.has_descriptor_published() || e.has_grant_added()) {
      ScanCaseEntry(e, i, setup_entries);
    } else if (!(e.has_certificate_registered() && i < setup_entries)) {
      report_.Violation(
          absl::StrCat("log entry ", i, " is of an event never caused"));
    }
  }
  scanned_ = log.entries.size();
}

void CrashLedger::CheckListing(
    const std::vector<tvault::v1::RecordSummary>& listing,
    const VerifiedLog& log, int64_t started_at) {
  MutexLock lock(mu_);
  std::set<std::string> listed;
  for (const tvault::v1::RecordSummary& s : listing) {
    listed.insert(s.record_id());
    auto it = records_.find(s.record_id());
    auto logged = log.records.find(s.record_id());
    if (it == records_.end() || logged == log.records.end() ||
        logged->second != s.log_index()) {
      report_.Violation(absl::StrCat("listed record ", Hex(s.record_id()),
                                     " is not logged at its index"));
      continue;
    }
    const TrackedRecord& r = *it->second;
    if (s.size() != r.size || s.sha256() != r.sha256) {
      report_.Violation(absl::StrCat("record ", Hex(s.record_id()),
                                     " is listed with another size or hash"));
    }
    if (!r.deletion_logged) {
      if (s.delete_after() != 0 || s.deleted()) {
        report_.Violation(absl::StrCat("record ", Hex(s.record_id()),
                                       " is listed as deleted; never asked"));
      }
      continue;
    }
    if (s.delete_after() != r.logged_delete_after ||
        s.deletion_request_sha256() != r.deletion_sha256) {
      report_.Violation(absl::StrCat("record ", Hex(s.record_id()),
                                     " is listed with another deletion"));
    }
    if (s.deleted() && !r.deleted) {
      report_.Violation(absl::StrCat("record ", Hex(s.record_id()),
                                     " is listed deleted, not so logged"));
    }
    if (!s.deleted() && r.logged_delete_after <= started_at) {
      report_.Violation(
          absl::StrCat("record ", Hex(s.record_id()), "'s deletion was due at ",
                       r.logged_delete_after, ", before the vault started at ",
                       started_at, ", but it was not executed"));
    }
  }
  for (const auto& [id, index] : log.records) {
    if (!listed.count(id)) {
      report_.Violation(absl::StrCat("logged record ", Hex(id), " (entry ",
                                     index, ") is not listed"));
    }
  }
}

void CrashLedger::CheckAcknowledged(const VerifiedLog& log) {
  MutexLock lock(mu_);
  for (auto& [id, r] : records_) {
    if (r->acked && (!r->logged || !LoggedAt(log, r->index, r->entry))) {
      report_.Violation(absl::StrCat("acknowledged record ", Hex(id),
                                     " is not in the log at index ", r->index,
                                     " as its receipt says"));
    }
    if (r->deletion_acked && !r->deletion_logged) {
      report_.Violation(absl::StrCat("the acknowledged deletion of ", Hex(id),
                                     " is not in the log"));
    }
    if (!r->deletion_entry.empty() &&
        !LoggedAt(log, r->deletion_index, r->deletion_entry)) {
      report_.Violation(absl::StrCat(
          "the deletion of ", Hex(id), " is not in the log at index ",
          r->deletion_index, " as its receipt says"));
    }
  }
  for (auto& tc : cases_) {
    if (tc->acked && !tc->logged) {
      report_.Violation("an acknowledged descriptor is not in the log");
    }
    if (!tc->entry.empty() && !LoggedAt(log, tc->index, tc->entry)) {
      report_.Violation("a descriptor is not in the log as its receipt says");
    }
    for (const TrackedGrant& g : tc->grants) {
      if (g.acked && !g.logged) {
        report_.Violation("an acknowledged grant is not in the log");
      }
      if (!g.entry.empty() && !LoggedAt(log, g.index, g.entry)) {
        report_.Violation("a grant is not in the log as its receipt says");
      }
    }
  }
}

std::vector<TrackedRecord*> CrashLedger::RecordsToRead(bool all,
                                                       std::mt19937_64& rng) {
  MutexLock lock(mu_);
  std::vector<TrackedRecord*> out, tombstones;
  for (auto& [id, r] : records_) {
    if (!r->logged) continue;
    if (r->deleted ? !r->tombstone_checked : !r->verified || all) {
      out.push_back(r.get());
    } else if (all && r->deleted) {
      tombstones.push_back(r.get());
    }
  }
  // Tombstones pile up over a long campaign: each was checked once, and
  // the listing shows every one at each restart; a sample is read again.
  std::shuffle(tombstones.begin(), tombstones.end(), rng);
  tombstones.resize(std::min(tombstones.size(), kTombstonesPerFullRead));
  out.insert(out.end(), tombstones.begin(), tombstones.end());
  return out;
}

int64_t CrashLedger::LastDeletionDue() {
  MutexLock lock(mu_);
  int64_t last = 0;
  for (auto& [id, r] : records_) {
    if (r->deletion_logged) last = std::max(last, r->logged_delete_after);
  }
  return last;
}

void CrashLedger::CheckEnd(int64_t now) {
  MutexLock lock(mu_);
  int64_t live = 0;
  for (auto& [id, r] : records_) {
    if (r->deletion_logged && !r->deleted) {
      report_.Violation(absl::StrCat("the deletion of ", Hex(id), ", due at ",
                                     r->logged_delete_after,
                                     ", was not executed by ", now));
    }
    if (r->deletion && !r->deletion_logged) {
      report_.Violation(
          absl::StrCat("the deletion of ", Hex(id), " was never stored"));
    }
    if (!r->acked) {
      report_.Violation(
          absl::StrCat("upload ", Hex(id), " could not be completed"));
    }
    if (r->acked && !r->deletion) ++live;
  }
  report_.Set("records at the end: live", live);
  report_.Set("records at the end: all (with tombstones)",
              static_cast<int64_t>(records_.size()));
  report_.Set("log entries at the end", static_cast<int64_t>(scanned_));
}

}  // namespace tvault::reliability
