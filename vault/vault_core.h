// The vault's calls (proto/vault.proto), independent of gRPC: each takes
// the request message and the caller's session token hash, decides with
// vault/rights.h, changes the store in one transaction together with the
// log entries that record the change (vault/transparency_log.h), and
// returns the response or an absl::Status that vault/grpc_service.h maps
// to a gRPC status in one place.
//
// Statuses follow proto/vault.proto: InvalidArgument (malformed request),
// Unauthenticated, PermissionDenied (vault/rights.h), NotFound,
// AlreadyExists, FailedPrecondition (conflicts with the vault's state),
// ResourceExhausted (limits), OutOfRange (log ranges), and Internal /
// Unavailable / DataLoss from the store. Messages are plain sentences for a
// person and never carry keys, tokens, statement bytes or addresses.
//
// Idempotence: storing what is already stored (the same certificate,
// revocation, descriptor or grant, byte for byte) succeeds without a new
// log entry, so a client may retry any call after a lost answer.
//
// Thread-safe: calls may run concurrently; the store serialises their
// transactions.
//
// Group commit (issue 6). Every call that writes joins a queue; the first
// waiter leads: it takes what is queued (itself first, then in order, up
// to kMaxGroupMembers calls or kMaxGroupBytes of upload data) and runs
// them in ONE store transaction, each call's part inside a savepoint
// (StoreTransaction::RunNested). Then, if any part appended log entries,
// it signs ONE checkpoint over the tree the group leaves, fills every
// receipt with that checkpoint and an inclusion proof under it, commits
// (one fsync), hands the lead to the next waiter, writes the anti-rollback
// copy of the checkpoint (transparency_log.h) and only then answers the
// group's callers. So:
// - nothing is acknowledged before its transaction is durable and the
//   copy covers the checkpoint its receipt carries;
// - one checkpoint is signed per group, over a tree extending the one
//   signed before (groups commit one after the other);
// - a call that fails (its rights, its input, a conflict) has its part
//   undone alone and gets its own error; the others go on;
// - if the group cannot commit, or its checkpoint cannot be signed or
//   copied, every call in it fails with that error and may be retried
//   (an upload keeps the data committed before: it resumes);
// - nothing waits on a timer: an idle vault commits a lone call at once,
//   and the group size follows the load (calls arriving during a commit
//   form the next group).
#ifndef TVAULT_VAULT_VAULT_CORE_H_
#define TVAULT_VAULT_VAULT_CORE_H_

#include <cstdint>
#include <deque>
#include <functional>
#include <map>
#include <optional>
#include <set>
#include <string>
#include <vector>

#include "absl/functional/function_ref.h"
#include "absl/status/statusor.h"
#include "absl/types/span.h"
#include "crypto/merkle.h"
#include "crypto/mutex.h"
#include "crypto/statement.h"
#include "proto/vault.pb.h"
#include "vault/config.h"
#include "vault/rights.h"
#include "vault/store.h"
#include "vault/tls_identity.h"
#include "vault/transparency_log.h"

namespace tvault::vault {

inline constexpr char kVaultVersion[] = "tvaultd 0.1.0";
inline constexpr uint64_t kMaxLogEntriesPerCall = 1024;
inline constexpr int kMaxCertificatesPerCall = 100;
// The most calls, and the most upload data, one group commit takes (the
// first call of a group is always taken, whatever its size).
inline constexpr size_t kMaxGroupMembers = 64;
inline constexpr size_t kMaxGroupBytes = size_t{8} << 20;
// The most due deletions one maintenance commit marks done: each commit
// waits its turn among the uploads, so the batches must be large for
// deletions to keep up with a vault busy uploading
// (tests/reliability/tvault_soak).
inline constexpr size_t kMaxDeletionsPerCommit = 256;
// The most ciphertext one transaction removes (at least one chunk row).
// Removing data rewrites its pages (secure_delete) and, inside a group
// commit's savepoint, SQLite kept a copy of each in memory: deleting a
// 256 MiB record took 267 MiB of heap, so a 4 GiB one would have taken
// 4 GiB, in every pass until the vault was killed. Records and uploads are
// removed a transaction of their own at a time, outside any savepoint.
inline constexpr uint64_t kMaxRemovedBytesPerTransaction = uint64_t{16} << 20;

// What group commit has done since the core was made (tests, benchmarks,
// an operator's status line).
struct GroupCommitStats {
  uint64_t groups = 0;   // groups taken by a leader
  uint64_t members = 0;  // calls in those groups
  uint64_t largest = 0;  // members of the largest group
  uint64_t waiting = 0;  // calls queued now, not yet taken
};

// The messages of one Upload call, in order: the gRPC stream, or a test's
// list. Read returns false at the end of the stream (or when the caller
// went away).
class UploadStream {
 public:
  virtual ~UploadStream() = default;
  virtual bool Read(tvault::v1::UploadRequest& message) = 0;
};

// Where Download writes; Write returns false when the caller went away.
class DownloadSink {
 public:
  virtual ~DownloadSink() = default;
  virtual bool Write(const tvault::v1::DownloadChunk& chunk) = 0;
};

// Unix seconds now. Tests substitute a clock they can move.
using Clock = std::function<int64_t()>;
int64_t SystemClock();

class VaultCore {
 public:
  // `store` and `log` must outlive the core.
  VaultCore(Store& store, TransparencyLog& log,
            const crypto::SignPublicKey& org_pk, const TlsKeyPin& tls_pin,
            VaultConfig config, Clock clock);

  tvault::v1::ServerInfo GetServerInfo() const;
  absl::StatusOr<tvault::v1::Challenge> GetChallenge();
  absl::StatusOr<tvault::v1::Session> SignIn(
      const tvault::v1::SignInRequest& request);
  absl::StatusOr<tvault::v1::RegisterResponse> Register(
      const tvault::v1::RegisterRequest& request);
  absl::StatusOr<tvault::v1::RevokeResponse> Revoke(
      const tvault::v1::RevokeRequest& request);

  // `token` is the hash of the session token the call carried, or nullptr.
  absl::StatusOr<tvault::v1::PublishDescriptorResponse> PublishDescriptor(
      const SessionTokenHash* token,
      const tvault::v1::PublishDescriptorRequest& request);
  absl::StatusOr<tvault::v1::ListCasesResponse> ListCases(
      const SessionTokenHash* token, const tvault::v1::ListCasesRequest&);
  absl::StatusOr<tvault::v1::GetCaseResponse> GetCase(
      const SessionTokenHash* token, const tvault::v1::GetCaseRequest& request);
  absl::StatusOr<tvault::v1::PublishGrantsResponse> PublishGrants(
      const SessionTokenHash* token,
      const tvault::v1::PublishGrantsRequest& request);

  absl::StatusOr<tvault::v1::SignedCheckpoint> GetCheckpoint(
      const SessionTokenHash* token);
  absl::StatusOr<tvault::v1::GetLogEntriesResponse> GetLogEntries(
      const SessionTokenHash* token,
      const tvault::v1::GetLogEntriesRequest& request);
  absl::StatusOr<tvault::v1::Proof> GetInclusionProof(
      const SessionTokenHash* token,
      const tvault::v1::GetInclusionProofRequest& request);
  absl::StatusOr<tvault::v1::Proof> GetConsistencyProof(
      const SessionTokenHash* token,
      const tvault::v1::GetConsistencyProofRequest& request);

  // Each stored certificate is verified under the org key again before it
  // is served (DataLoss if it no longer verifies), and so is each stored
  // revocation.
  absl::StatusOr<tvault::v1::GetCertificatesResponse> GetCertificates(
      const SessionTokenHash* token,
      const tvault::v1::GetCertificatesRequest& request);

  // The key (account or invite) whose session `token` is, for the stream
  // caps (vault/stream_slots.h); nullopt without a token or for an unknown
  // or expired session (the call itself then answers UNAUTHENTICATED).
  // Errors only if the store fails.
  absl::StatusOr<std::optional<crypto::SignPublicKey>> SessionKey(
      const SessionTokenHash* token);

  absl::StatusOr<tvault::v1::UploadState> GetUploadState(
      const SessionTokenHash* token,
      const tvault::v1::GetUploadStateRequest& request);
  absl::StatusOr<tvault::v1::UploadResponse> Upload(
      const SessionTokenHash* token, UploadStream& stream);
  absl::StatusOr<tvault::v1::ListRecordsResponse> ListRecords(
      const SessionTokenHash* token,
      const tvault::v1::ListRecordsRequest& request);
  absl::Status Download(const SessionTokenHash* token,
                        const tvault::v1::DownloadRequest& request,
                        DownloadSink& sink);

  absl::StatusOr<tvault::v1::CreateInviteResponse> CreateInvite(
      const SessionTokenHash* token,
      const tvault::v1::CreateInviteRequest& request);
  absl::StatusOr<tvault::v1::RevokeInviteResponse> RevokeInvite(
      const SessionTokenHash* token,
      const tvault::v1::RevokeInviteRequest& request);
  absl::StatusOr<tvault::v1::RequestDeletionResponse> RequestDeletion(
      const SessionTokenHash* token,
      const tvault::v1::RequestDeletionRequest& request);

  // Housekeeping: removes expired challenges, sessions and unfinished
  // uploads; makes sure the latest checkpoint is signed and mirrored;
  // removes the ciphertext of records whose deletion was due when it began
  // (logging each; many per commit), then empties the write-ahead log.
  // Ciphertext goes at most kMaxRemovedBytesPerTransaction per
  // transaction, outside any savepoint. Returns how many challenges,
  // sessions, uploads and records it removed.
  absl::StatusOr<int64_t> Maintain();

  const VaultConfig& config() const { return config_; }

  GroupCommitStats group_commit_stats() const ABSL_LOCKS_EXCLUDED(group_mu_);

 private:
  // Runs `fn` as one call of a group commit (above): in a savepoint of the
  // group's transaction, run by the group's leader (which may be another
  // thread; `fn` must not touch thread-local state, nor make another vault
  // call: that returns FailedPrecondition). If `fn` appended log
  // entries (Mutation::Append), the group's checkpoint covers them and the
  // receipts they asked for are filled. Returns once the group committed
  // and its checkpoint was copied; fn's own error if `fn` failed; the
  // group's error if the group failed. `bytes`: upload data `fn` writes
  // (for kMaxGroupBytes).
  struct Mutation;
  absl::Status Mutate(
      absl::FunctionRef<absl::Status(StoreTransaction&, Mutation&)> fn,
      size_t bytes = 0) ABSL_LOCKS_EXCLUDED(group_mu_);

  // One call waiting in, or taken into, a group.
  struct GroupMember;
  // Leads: takes a group (`leader` first), commits it, hands the lead on,
  // copies the checkpoint and answers the group.
  void LeadGroup(GroupMember& leader) ABSL_LOCKS_EXCLUDED(group_mu_);
  // Runs the group's calls in one transaction, each call's own status in
  // `results`; returns the group's status, and sets `signed_row` to the
  // checkpoint signed over the group if it appended entries.
  absl::Status CommitGroup(const std::vector<GroupMember*>& group,
                           std::vector<absl::Status>& results,
                           std::optional<CheckpointRow>& signed_row);

  // Runs `fn` in a transaction after authenticating the caller and
  // checking `action` (one that needs no case chain).
  absl::Status ReadAs(
      const SessionTokenHash* token, Action action,
      absl::FunctionRef<absl::Status(StoreTransaction&, const Caller&)> fn);

  // Authenticates, checks kReadLog and returns `make`'s hashes.
  absl::StatusOr<tvault::v1::Proof> ReadProof(
      const SessionTokenHash* token,
      absl::FunctionRef<
          absl::StatusOr<std::vector<crypto::Hash>>(StoreTransaction&)>
          make);

  // Checks the start of an upload and creates (or finds, to resume) its
  // pending row. Sets `receipt` instead if the record is already stored.
  absl::StatusOr<UploadRow> BeginUpload(const SessionTokenHash* token,
                                        const tvault::v1::UploadStart& start,
                                        tvault::v1::Receipt* receipt);
  // Removes every chunk row stored under the ids, at most
  // kMaxRemovedBytesPerTransaction per transaction, the last ones first (a
  // pending upload under an id stays consistent, holding fewer bytes).
  // Only a pending upload's data, or a record's whose deletion is due by
  // `now` (StoreTransaction::RemoveLastChunks).
  absl::Status RemoveChunks(absl::Span<const RecordId> record_ids, int64_t now);
  // Makes sure the anti-rollback copy covers `checkpoint` before it is
  // served again (a no-op unless an earlier copy failed). Unavailable if
  // it cannot be written.
  absl::Status EnsureCopied(const CheckpointRow& checkpoint);
  // Rebuilds a stored record's first receipt.
  absl::StatusOr<tvault::v1::Receipt> StoredReceipt(StoreTransaction& txn,
                                                    const RecordRow& record);
  // Stores `last_data` (`last_bytes` in all) from offset `held`, which
  // completes the pending upload, and makes it visible; returns the
  // receipt. On failure the last data is not kept (the upload resumes from
  // `held`).
  absl::StatusOr<tvault::v1::Receipt> CommitRecord(
      const SessionTokenHash* token, const UploadRow& upload, uint64_t held,
      const std::vector<std::string>& last_data, size_t last_bytes);

  Store& store_;
  TransparencyLog& log_;
  // Certificates and case chains that verified (rights.h).
  VerificationCache verified_;
  // The group commit queue: calls waiting for a leader to take them.
  mutable Mutex group_mu_;
  std::deque<GroupMember*> group_queue_ ABSL_GUARDED_BY(group_mu_);
  bool group_leading_ ABSL_GUARDED_BY(group_mu_) = false;  // a leader runs
  GroupCommitStats group_stats_ ABSL_GUARDED_BY(group_mu_);
  // Record ids with an Upload stream running, so that two streams never
  // write one upload at once.
  Mutex uploads_mu_;
  std::set<RecordId> active_uploads_ ABSL_GUARDED_BY(uploads_mu_);
  // When each invite started its uploads in the last hour (memory only:
  // the vault keeps no record of when an invite was used).
  std::map<crypto::SignPublicKey, std::deque<int64_t>> invite_starts_
      ABSL_GUARDED_BY(uploads_mu_);
  const crypto::SignPublicKey org_pk_;
  const TlsKeyPin tls_pin_;
  const VaultConfig config_;
  const Clock clock_;
};

}  // namespace tvault::vault

#endif  // TVAULT_VAULT_VAULT_CORE_H_
