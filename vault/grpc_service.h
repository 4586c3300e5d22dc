// The gRPC edge of the vault: tvault.v1.Vault served by VaultCore.
//
// - ToGrpcStatus is the one place where absl::Status becomes grpc::Status.
//   Codes map one to one (absl and gRPC share their numbering). Messages
//   pass through unchanged except for Internal, Unknown and DataLoss, whose
//   details (SQLite's words, file names) are logged for the operator and
//   replaced by a plain sentence for the caller.
// - The session token arrives as metadata "authorization: Bearer <64
//   lowercase hex digits>". It is decoded into SecretBytes, hashed, and
//   wiped; only the hash reaches VaultCore. A malformed header is
//   UNAUTHENTICATED.
// - Every call but GetServerInfo is counted by the rate limiter
//   (vault/rate_limiter.h) before it reaches VaultCore: by its token's
//   hash, or in the shared budget of calls without a session.
// - Upload and Download first take a slot of StreamSlots
//   (vault/stream_slots.h): at most kMaxStreamsPerSession per session,
//   max_streams_per_identity per account or invite key (looked up from the
//   session) and kMaxConcurrentStreams in all run at once, so streams never
//   hold every server thread, nor one key all the streams; past any,
//   RESOURCE_EXHAUSTED.
// - With a CallDeadlines (vault/call_deadlines.h), the streams restart
//   its clock whenever they wait for the caller; unary calls are timed by
//   its global callbacks alone.
//
// Thread-safe: gRPC calls the handlers from its thread pool.
#ifndef TVAULT_VAULT_GRPC_SERVICE_H_
#define TVAULT_VAULT_GRPC_SERVICE_H_

#include <grpcpp/grpcpp.h>

#include "absl/status/status.h"
#include "proto/vault.grpc.pb.h"
#include "vault/call_deadlines.h"
#include "vault/rate_limiter.h"
#include "vault/stream_slots.h"
#include "vault/vault_core.h"

namespace tvault::vault {

inline constexpr char kAuthorizationMetadata[] = "authorization";

grpc::Status ToGrpcStatus(const absl::Status& status);

class VaultGrpcService final : public tvault::v1::Vault::Service {
 public:
  // `core` and `deadlines` (nullptr: streams are not timed) must outlive
  // the service. The request-rate limit is core.config()'s.
  explicit VaultGrpcService(VaultCore& core, CallDeadlines* deadlines = nullptr)
      : core_(core),
        deadlines_(deadlines),
        limiter_(core.config().max_requests_per_minute, MonotonicSeconds,
                 core.config().session_ttl_seconds),
        streams_(kMaxConcurrentStreams, kMaxStreamsPerSession,
                 static_cast<int>(core.config().max_streams_per_identity)) {}

  grpc::Status GetServerInfo(grpc::ServerContext* context,
                             const tvault::v1::GetServerInfoRequest* request,
                             tvault::v1::ServerInfo* response) override;
  grpc::Status GetChallenge(grpc::ServerContext* context,
                            const tvault::v1::GetChallengeRequest* request,
                            tvault::v1::Challenge* response) override;
  grpc::Status SignIn(grpc::ServerContext* context,
                      const tvault::v1::SignInRequest* request,
                      tvault::v1::Session* response) override;
  grpc::Status Register(grpc::ServerContext* context,
                        const tvault::v1::RegisterRequest* request,
                        tvault::v1::RegisterResponse* response) override;
  grpc::Status Revoke(grpc::ServerContext* context,
                      const tvault::v1::RevokeRequest* request,
                      tvault::v1::RevokeResponse* response) override;
  grpc::Status PublishDescriptor(
      grpc::ServerContext* context,
      const tvault::v1::PublishDescriptorRequest* request,
      tvault::v1::PublishDescriptorResponse* response) override;
  grpc::Status ListCases(grpc::ServerContext* context,
                         const tvault::v1::ListCasesRequest* request,
                         tvault::v1::ListCasesResponse* response) override;
  grpc::Status GetCase(grpc::ServerContext* context,
                       const tvault::v1::GetCaseRequest* request,
                       tvault::v1::GetCaseResponse* response) override;
  grpc::Status PublishGrants(
      grpc::ServerContext* context,
      const tvault::v1::PublishGrantsRequest* request,
      tvault::v1::PublishGrantsResponse* response) override;
  grpc::Status GetCheckpoint(grpc::ServerContext* context,
                             const tvault::v1::GetCheckpointRequest* request,
                             tvault::v1::SignedCheckpoint* response) override;
  grpc::Status GetLogEntries(
      grpc::ServerContext* context,
      const tvault::v1::GetLogEntriesRequest* request,
      tvault::v1::GetLogEntriesResponse* response) override;
  grpc::Status GetInclusionProof(
      grpc::ServerContext* context,
      const tvault::v1::GetInclusionProofRequest* request,
      tvault::v1::Proof* response) override;
  grpc::Status GetUploadState(grpc::ServerContext* context,
                              const tvault::v1::GetUploadStateRequest* request,
                              tvault::v1::UploadState* response) override;
  grpc::Status Upload(grpc::ServerContext* context,
                      grpc::ServerReader<tvault::v1::UploadRequest>* reader,
                      tvault::v1::UploadResponse* response) override;
  grpc::Status ListRecords(grpc::ServerContext* context,
                           const tvault::v1::ListRecordsRequest* request,
                           tvault::v1::ListRecordsResponse* response) override;
  grpc::Status Download(
      grpc::ServerContext* context, const tvault::v1::DownloadRequest* request,
      grpc::ServerWriter<tvault::v1::DownloadChunk>* writer) override;
  grpc::Status CreateInvite(
      grpc::ServerContext* context,
      const tvault::v1::CreateInviteRequest* request,
      tvault::v1::CreateInviteResponse* response) override;
  grpc::Status RevokeInvite(
      grpc::ServerContext* context,
      const tvault::v1::RevokeInviteRequest* request,
      tvault::v1::RevokeInviteResponse* response) override;
  grpc::Status RequestDeletion(
      grpc::ServerContext* context,
      const tvault::v1::RequestDeletionRequest* request,
      tvault::v1::RequestDeletionResponse* response) override;
  grpc::Status GetConsistencyProof(
      grpc::ServerContext* context,
      const tvault::v1::GetConsistencyProofRequest* request,
      tvault::v1::Proof* response) override;
  grpc::Status GetCertificates(
      grpc::ServerContext* context,
      const tvault::v1::GetCertificatesRequest* request,
      tvault::v1::GetCertificatesResponse* response) override;

 private:
  // Runs a call that needs no session, once the limiter admits it.
  template <typename Response, typename Fn>
  grpc::Status WithoutSession(Response* response, Fn fn);
  // Runs a call with the caller's token hash (nullptr if it carried none),
  // once the limiter admits it.
  template <typename Response, typename Fn>
  grpc::Status WithToken(const grpc::ServerContext* context, Response* response,
                         Fn fn);
  // A stream's slot for the session whose token hashes to `token`.
  absl::StatusOr<StreamSlots::Slot> AcquireSlot(const SessionTokenHash* token);
  // The clock of a stream's deadline, if there is one.
  void StartClock(grpc::ServerContext* context, CallDeadlines::Wait wait);
  void StopClock(grpc::ServerContext* context);

  VaultCore& core_;
  CallDeadlines* const deadlines_;
  RateLimiter limiter_;
  StreamSlots streams_;
};

}  // namespace tvault::vault

#endif  // TVAULT_VAULT_GRPC_SERVICE_H_
