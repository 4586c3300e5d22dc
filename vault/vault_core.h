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
#ifndef TVAULT_VAULT_VAULT_CORE_H_
#define TVAULT_VAULT_VAULT_CORE_H_

#include <cstdint>
#include <deque>
#include <functional>
#include <map>
#include <set>
#include <string>
#include <vector>

#include "absl/functional/function_ref.h"
#include "absl/status/statusor.h"
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

  // Housekeeping: removes expired challenges and sessions; makes sure the
  // latest checkpoint is signed and mirrored; removes the ciphertext of
  // records whose deletion is due (logging each), then empties the
  // write-ahead log. Returns rows removed.
  absl::StatusOr<int64_t> Maintain();

  const VaultConfig& config() const { return config_; }

 private:
  // Runs `fn` in one transaction. If it appended log entries (through
  // Mutation::Append), signs one checkpoint over them in the same
  // transaction (or uses the one `fn` had Mutation::Sign make), fills the
  // receipts they asked for, and mirrors the checkpoint after the commit.
  struct Mutation;
  absl::Status Mutate(
      absl::FunctionRef<absl::Status(StoreTransaction&, Mutation&)> fn);

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
  // Rebuilds a stored record's first receipt.
  absl::StatusOr<tvault::v1::Receipt> StoredReceipt(StoreTransaction& txn,
                                                    const RecordRow& record);
  // Makes a complete pending upload visible; returns the receipt.
  absl::StatusOr<tvault::v1::Receipt> CommitRecord(
      const SessionTokenHash* token, const UploadRow& upload);

  Store& store_;
  TransparencyLog& log_;
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
