// A client's memory of one vault's transparency log (DESIGN.md §9).
//
// The client keeps the last checkpoint it verified and, on every contact,
// checks that the vault's new checkpoint extends it (an RFC 9162
// consistency proof). A vault that was seized and rewritten, or restored
// from an old backup, cannot then show this client a history that
// contradicts what it showed before without being caught.
//
// What is checked
// - Every checkpoint: a signed note (crypto/signed_note.h) verified with the
//   log's verifier key from the root-signed server bundle, whose key name
//   and checkpoint origin are that key's name (DESIGN.md §9).
// - Against the last verified checkpoint (old) a new one (new):
//     new.size >  old.size  the vault's consistency proof must verify;
//     new.size == old.size  the roots must be equal;
//     new.size <  old.size  ROLLBACK, always an error for Advance.
//   A proof that does not verify (including one of the wrong length), or
//   unequal roots, is a FORK. A note whose signature by the log key fails
//   is reported as not signed by it (PermissionDenied), like a note by
//   another key. When sizes and roots are equal the stored note is kept
//   (cosignatures on the newer copy are not merged).
// - Receipts (CheckReceipt): the entry's inclusion proof under the
//   receipt's checkpoint, and that checkpoint's consistency with the last
//   verified one (in whichever order they were made).
//
// Evidence: on a fork or rollback nothing is overwritten. Both signed
// checkpoints (and the proof, if any) are written to a new file
// evidence-<unix time>-<n>.txt in the state directory, and the error
// (DataLoss) says so in plain words, naming the file. The state is not
// advanced.
//
// Persistence: the last verified checkpoint lives in STATE_DIR/checkpoint
// (the signed note, mode 0600), replaced atomically after each advance.
//
// Not thread-safe; one monitor per vault per process.
#ifndef TVAULT_CLIENT_LOG_MONITOR_H_
#define TVAULT_CLIENT_LOG_MONITOR_H_

#include <cstdint>
#include <functional>
#include <optional>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "crypto/checkpoint.h"
#include "crypto/merkle.h"
#include "crypto/signed_note.h"
#include "proto/records.pb.h"
#include "proto/vault.grpc.pb.h"
#include "proto/vault.pb.h"

namespace tvault::client {

inline constexpr char kCheckpointFileName[] = "checkpoint";

struct VerifiedCheckpoint {
  crypto::Checkpoint checkpoint;
  std::string note;  // the signed note as received
};

// Asks the vault for PROOF(old_size, new_size).
using ConsistencyFetcher =
    std::function<absl::StatusOr<std::vector<crypto::Hash>>(uint64_t old_size,
                                                            uint64_t new_size)>;

class LogMonitor {
 public:
  // Loads the last verified checkpoint from `state_dir`, if there is one.
  // FailedPrecondition if the directory does not exist or is not writable
  // (a wrong path must not silently start a new history); DataLoss if the
  // stored checkpoint no longer verifies under `verifier` (a state
  // directory of another vault, or tampered with).
  static absl::StatusOr<LogMonitor> Open(crypto::NoteVerifier verifier,
                                         std::string state_dir);

  // A monitor that starts empty and stores nothing (invite mode writes
  // nothing to disk): it checks receipts and, within one process,
  // consistency; evidence of a fork is only in the error message.
  static LogMonitor InMemory(crypto::NoteVerifier verifier) {
    return LogMonitor(std::move(verifier), "");
  }

  const std::optional<VerifiedCheckpoint>& latest() const { return latest_; }

  // Verifies `note` and that it extends latest() (see above), then makes it
  // latest() and stores it. Statuses: PermissionDenied (not signed by the
  // log's key), InvalidArgument (malformed), DataLoss (FORK or ROLLBACK,
  // evidence kept), the fetcher's own errors (network), Internal (cannot
  // write the state).
  absl::StatusOr<VerifiedCheckpoint> Advance(absl::string_view note,
                                             const ConsistencyFetcher& fetch);

  // Verifies a receipt and returns its entry, parsed strictly (version 1,
  // an event set). Advances to the receipt's checkpoint if it is newer than
  // latest(); if older, checks that latest() extends it (a fork found so
  // is kept as evidence before the entry is even parsed). DataLoss if the
  // entry is not in the tree the checkpoint commits to. Checkpoints larger
  // than 16 KiB are refused (InvalidArgument) so that what is stored can
  // always be read back.
  absl::StatusOr<tvault::v1::LogEntry> CheckReceipt(
      const tvault::v1::Receipt& receipt, const ConsistencyFetcher& fetch);

  // Verifies that entry bytes `entry` sit at `index` in the tree of
  // `checkpoint` with `proof`; DataLoss if not.
  static absl::Status CheckInclusion(const crypto::Checkpoint& checkpoint,
                                     uint64_t index, absl::string_view entry,
                                     const std::vector<crypto::Hash>& proof);

 private:
  LogMonitor(crypto::NoteVerifier verifier, std::string state_dir)
      : verifier_(std::move(verifier)), state_dir_(std::move(state_dir)) {}

  absl::StatusOr<VerifiedCheckpoint> Open(absl::string_view note) const;
  // Checks that `newer` extends `older` (sizes in that order); evidence
  // of a fork names them in the order this device saw them.
  absl::Status CheckExtends(const VerifiedCheckpoint& older,
                            const VerifiedCheckpoint& newer,
                            const ConsistencyFetcher& fetch,
                            bool seen_older_first);
  absl::Status Evidence(absl::string_view what, const VerifiedCheckpoint& first,
                        const VerifiedCheckpoint& second,
                        const std::vector<crypto::Hash>& proof);
  absl::Status Store(const VerifiedCheckpoint& checkpoint);

  crypto::NoteVerifier verifier_;
  std::string state_dir_;
  std::optional<VerifiedCheckpoint> latest_;
};

// A fetcher that asks `stub` (signed in with `token`) for the proof. The
// stub must outlive it.
ConsistencyFetcher VaultConsistencyFetcher(
    tvault::v1::Vault::StubInterface& stub, std::string token);

// Asks the vault for its latest checkpoint and advances `monitor` to it
// (the check every contact makes).
absl::StatusOr<VerifiedCheckpoint> CheckVaultLog(
    tvault::v1::Vault::StubInterface& stub, const std::string& token,
    LogMonitor& monitor);

}  // namespace tvault::client

#endif  // TVAULT_CLIENT_LOG_MONITOR_H_
