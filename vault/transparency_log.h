// The vault's side of the transparency log (DESIGN.md §9): appending
// entries in the transaction of the change they record, signing
// checkpoints, and the anti-rollback copy of the latest checkpoint.
//
// Checkpoints
// - Signed inside the transaction that appended (SignCheckpoint), over the
//   tree the transaction leaves behind, and stored with it. Transactions
//   run one at a time (store.h), so every checkpoint extends the one
//   before: the vault signs no two inconsistent checkpoints as long as its
//   database is not replaced under it.
// - Against a replaced database (a restored backup), the latest checkpoint
//   is also kept in a second place (`mirror_path`, on other media): after
//   each commit, MirrorCheckpoint writes it there (atomically, fsync'ed),
//   before anyone is given a receipt under it (vault_core.h).
//   CheckAgainstMirror, run before serving, refuses (FailedPrecondition,
//   saying what to do) when the database's tree is smaller than the
//   mirrored one or does not contain it. SignCheckpoint makes the same
//   check every time, against the mirror file (read once, then tracked in
//   memory): it never signs a tree that is smaller than the mirrored one or
//   whose prefix of the mirrored size has another root, even if the
//   database is replaced under a running vault, and so never moves the
//   mirror back.
//
// Thread-safe: Append and SignCheckpoint use only their transaction;
// MirrorCheckpoint serialises writers and never moves the mirror back.
// While one writer waits for the copy's fsyncs, SignCheckpoint compares
// against the copy as it was before (which the tree being signed extends),
// so the next group of changes is signed without waiting for the copy.
#ifndef TVAULT_VAULT_TRANSPARENCY_LOG_H_
#define TVAULT_VAULT_TRANSPARENCY_LOG_H_

#include <cstdint>
#include <optional>
#include <string>

#include "absl/base/thread_annotations.h"
#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "crypto/merkle.h"
#include "crypto/mutex.h"
#include "crypto/signed_note.h"
#include "proto/records.pb.h"
#include "vault/store.h"

namespace tvault::vault {

inline constexpr uint32_t kLogEntryVersion = 1;

// An entry as appended: its index and the exact bytes stored (the leaf).
struct AppendedEntry {
  uint64_t index = 0;
  std::string bytes;
};

class TransparencyLog {
 public:
  // `mirror_path` empty: no second copy (CheckAgainstMirror then only
  // reports that; tvaultd warns the operator).
  TransparencyLog(crypto::NoteSigner signer, std::string mirror_path);

  const std::string& origin() const { return signer_.name(); }
  const crypto::NoteVerifier& verifier() const { return signer_.verifier(); }
  const std::string& mirror_path() const { return mirror_path_; }

  // Sets entry.version and appends the deterministic serialisation at the
  // end of the log. Returns its index and those bytes.
  absl::StatusOr<AppendedEntry> Append(StoreTransaction& txn,
                                       tvault::v1::LogEntry entry) const;

  // Signs and stores a checkpoint of the log as `txn` leaves it, unless the
  // stored latest checkpoint already has that size (then returns it).
  // FailedPrecondition (ROLLBACK or FORK) if the tree does not contain the
  // mirrored checkpoint; DataLoss if the mirror file is not a checkpoint of
  // this log.
  absl::StatusOr<CheckpointRow> SignCheckpoint(StoreTransaction& txn);

  // Writes `row` to the mirror, after the transaction that signed it
  // committed. No-op without a mirror or if a tree at least as large was
  // mirrored (cheap then: no signature is checked). Returns once the copy
  // on disk covers `row`. Callers that arrive while a copy is being
  // written share the next write, which takes the newest checkpoint any of
  // them handed in (all committed).
  absl::Status MirrorCheckpoint(const CheckpointRow& row)
      ABSL_LOCKS_EXCLUDED(write_mu_, mu_);

  // Whether the mirror durably holds a checkpoint of at least `tree_size`
  // entries (always, without a mirror). False if the mirror file cannot
  // be read.
  bool MirrorCovers(uint64_t tree_size) ABSL_LOCKS_EXCLUDED(mu_);

  // Compares the store's log with the mirrored checkpoint (if any).
  //   OK                  no mirror configured, no mirror file yet, or the
  //                       store's tree contains the mirrored one;
  //   FailedPrecondition  the store's log is shorter than the mirror's, or
  //                       its tree at the mirror's size has another root;
  //   DataLoss            the mirror file is not a checkpoint signed by
  //                       this log's key.
  absl::Status CheckAgainstMirror(Store& store)
      ABSL_LOCKS_EXCLUDED(write_mu_, mu_);

 private:
  // Reads the mirror file into mirrored_* (none yet: size 0).
  absl::Status LoadMirror() ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  // FailedPrecondition unless the tree `txn` holds contains the mirrored
  // checkpoint.
  absl::Status CheckTreeAgainstMirror(StoreTransaction& txn)
      ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);

  crypto::NoteSigner signer_;
  const std::string mirror_path_;
  // Held while the mirror file is written: one writer at a time, in order.
  Mutex write_mu_ ABSL_ACQUIRED_BEFORE(mu_);
  // What the mirror file durably holds. Taken inside store transactions
  // (after the store's lock), never around one.
  Mutex mu_;
  bool mirror_loaded_ ABSL_GUARDED_BY(mu_) = false;
  uint64_t mirrored_size_ ABSL_GUARDED_BY(mu_) = 0;
  crypto::Hash mirrored_root_ ABSL_GUARDED_BY(mu_){};
  // The newest checkpoint handed to MirrorCheckpoint (maybe not written
  // yet).
  struct Pending {
    uint64_t tree_size = 0;
    crypto::Hash root_hash{};
    std::string note;
  };
  std::optional<Pending> newest_ ABSL_GUARDED_BY(mu_);
};

// The current time rounded down to the hour, as record entries carry it.
inline int64_t RoundDownToHour(int64_t unix_seconds) {
  return unix_seconds - (((unix_seconds % 3600) + 3600) % 3600);
}

}  // namespace tvault::vault

#endif  // TVAULT_VAULT_TRANSPARENCY_LOG_H_
