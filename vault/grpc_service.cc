#include "vault/grpc_service.h"

#include <sodium.h>

#include <functional>
#include <optional>
#include <utility>

#include "absl/strings/str_cat.h"
#include "crypto/secret_bytes.h"
#include "vault/logging.h"

namespace tvault::vault {
namespace {

constexpr char kBearerPrefix[] = "Bearer ";
constexpr size_t kTokenSize = 32;

// The token's hash, nullopt if the call carried no authorization, or
// Unauthenticated if it carried a malformed one.
absl::StatusOr<std::optional<SessionTokenHash>> TokenHashOf(
    const grpc::ServerContext& context) {
  const auto& metadata = context.client_metadata();
  const auto range = metadata.equal_range(kAuthorizationMetadata);
  if (range.first == range.second) return std::nullopt;
  const absl::Status malformed = absl::UnauthenticatedError(
      "the authorization metadata must be \"Bearer \" and the session token "
      "in 64 lowercase hex digits; sign in again");
  if (std::next(range.first) != range.second) return malformed;
  const grpc::string_ref value = range.first->second;
  const size_t prefix = sizeof(kBearerPrefix) - 1;
  if (value.size() != prefix + 2 * kTokenSize ||
      absl::string_view(value.data(), prefix) != kBearerPrefix) {
    return malformed;
  }
  for (size_t i = prefix; i < value.size(); ++i) {
    const char c = value.data()[i];
    if (!((c >= '0' && c <= '9') || (c >= 'a' && c <= 'f'))) return malformed;
  }
  crypto::SecretBytes token(kTokenSize);
  size_t size = 0;
  if (sodium_hex2bin(token.data(), token.size(), value.data() + prefix,
                     2 * kTokenSize, nullptr, &size, nullptr) != 0 ||
      size != kTokenSize) {
    return malformed;
  }
  return SessionTokenHash::Of(token.span());
}

template <typename Response>
grpc::Status Reply(absl::StatusOr<Response> result, Response* response) {
  if (!result.ok()) return ToGrpcStatus(result.status());
  *response = std::move(*result);
  return grpc::Status::OK;
}

}  // namespace

template <typename Response, typename Fn>
grpc::Status VaultGrpcService::WithoutSession(Response* response, Fn fn) {
  if (absl::Status s = limiter_.Admit(nullptr); !s.ok()) {
    return ToGrpcStatus(s);
  }
  return Reply(fn(), response);
}

template <typename Response, typename Fn>
grpc::Status VaultGrpcService::WithToken(const grpc::ServerContext* context,
                                         Response* response, Fn fn) {
  absl::StatusOr<std::optional<SessionTokenHash>> token = TokenHashOf(*context);
  if (!token.ok()) return ToGrpcStatus(token.status());
  const SessionTokenHash* hash = token->has_value() ? &**token : nullptr;
  if (absl::Status s = limiter_.Admit(hash); !s.ok()) return ToGrpcStatus(s);
  return Reply(fn(hash), response);
}

void VaultGrpcService::StartClock(grpc::ServerContext* context,
                                  CallDeadlines::Wait wait) {
  if (deadlines_ != nullptr) deadlines_->Start(context, wait);
}

void VaultGrpcService::StopClock(grpc::ServerContext* context) {
  if (deadlines_ != nullptr) deadlines_->Stop(context);
}

absl::StatusOr<StreamSlots::Slot> VaultGrpcService::AcquireSlot(
    const SessionTokenHash* token) {
  absl::StatusOr<std::optional<crypto::SignPublicKey>> key =
      core_.SessionKey(token);
  if (!key.ok()) return key.status();
  return streams_.Acquire(token, key->has_value() ? &**key : nullptr);
}

grpc::Status ToGrpcStatus(const absl::Status& status) {
  if (status.ok()) return grpc::Status::OK;
  const auto code = static_cast<grpc::StatusCode>(status.code());
  switch (status.code()) {
    case absl::StatusCode::kInternal:
    case absl::StatusCode::kUnknown:
    case absl::StatusCode::kDataLoss:
      LogError(
          absl::StrCat("a call failed inside the vault: ", status.message()));
      return grpc::Status(
          code,
          "the vault could not complete the request because of an internal "
          "error; nothing was changed. Try again later, and tell the vault's "
          "operator if it persists");
    case absl::StatusCode::kUnavailable:
      return grpc::Status(code,
                          "the vault is busy; try again in a few seconds");
    default:
      return grpc::Status(code, std::string(status.message()));
  }
}

grpc::Status VaultGrpcService::GetServerInfo(
    grpc::ServerContext*, const tvault::v1::GetServerInfoRequest*,
    tvault::v1::ServerInfo* response) {
  *response = core_.GetServerInfo();
  return grpc::Status::OK;
}

grpc::Status VaultGrpcService::GetChallenge(
    grpc::ServerContext*, const tvault::v1::GetChallengeRequest*,
    tvault::v1::Challenge* response) {
  return WithoutSession(response, [&] { return core_.GetChallenge(); });
}

grpc::Status VaultGrpcService::SignIn(grpc::ServerContext*,
                                      const tvault::v1::SignInRequest* request,
                                      tvault::v1::Session* response) {
  return WithoutSession(response, [&] { return core_.SignIn(*request); });
}

grpc::Status VaultGrpcService::Register(
    grpc::ServerContext*, const tvault::v1::RegisterRequest* request,
    tvault::v1::RegisterResponse* response) {
  return WithoutSession(response, [&] { return core_.Register(*request); });
}

grpc::Status VaultGrpcService::Revoke(grpc::ServerContext*,
                                      const tvault::v1::RevokeRequest* request,
                                      tvault::v1::RevokeResponse* response) {
  return WithoutSession(response, [&] { return core_.Revoke(*request); });
}

grpc::Status VaultGrpcService::PublishDescriptor(
    grpc::ServerContext* context,
    const tvault::v1::PublishDescriptorRequest* request,
    tvault::v1::PublishDescriptorResponse* response) {
  return WithToken(context, response, [&](const SessionTokenHash* token) {
    return core_.PublishDescriptor(token, *request);
  });
}

grpc::Status VaultGrpcService::ListCases(
    grpc::ServerContext* context, const tvault::v1::ListCasesRequest* request,
    tvault::v1::ListCasesResponse* response) {
  return WithToken(context, response, [&](const SessionTokenHash* token) {
    return core_.ListCases(token, *request);
  });
}

grpc::Status VaultGrpcService::GetCase(
    grpc::ServerContext* context, const tvault::v1::GetCaseRequest* request,
    tvault::v1::GetCaseResponse* response) {
  return WithToken(context, response, [&](const SessionTokenHash* token) {
    return core_.GetCase(token, *request);
  });
}

grpc::Status VaultGrpcService::PublishGrants(
    grpc::ServerContext* context,
    const tvault::v1::PublishGrantsRequest* request,
    tvault::v1::PublishGrantsResponse* response) {
  return WithToken(context, response, [&](const SessionTokenHash* token) {
    return core_.PublishGrants(token, *request);
  });
}

grpc::Status VaultGrpcService::GetCheckpoint(
    grpc::ServerContext* context, const tvault::v1::GetCheckpointRequest*,
    tvault::v1::SignedCheckpoint* response) {
  return WithToken(context, response, [&](const SessionTokenHash* token) {
    return core_.GetCheckpoint(token);
  });
}

grpc::Status VaultGrpcService::GetLogEntries(
    grpc::ServerContext* context,
    const tvault::v1::GetLogEntriesRequest* request,
    tvault::v1::GetLogEntriesResponse* response) {
  return WithToken(context, response, [&](const SessionTokenHash* token) {
    return core_.GetLogEntries(token, *request);
  });
}

grpc::Status VaultGrpcService::GetInclusionProof(
    grpc::ServerContext* context,
    const tvault::v1::GetInclusionProofRequest* request,
    tvault::v1::Proof* response) {
  return WithToken(context, response, [&](const SessionTokenHash* token) {
    return core_.GetInclusionProof(token, *request);
  });
}

grpc::Status VaultGrpcService::GetConsistencyProof(
    grpc::ServerContext* context,
    const tvault::v1::GetConsistencyProofRequest* request,
    tvault::v1::Proof* response) {
  return WithToken(context, response, [&](const SessionTokenHash* token) {
    return core_.GetConsistencyProof(token, *request);
  });
}

grpc::Status VaultGrpcService::GetCertificates(
    grpc::ServerContext* context,
    const tvault::v1::GetCertificatesRequest* request,
    tvault::v1::GetCertificatesResponse* response) {
  return WithToken(context, response, [&](const SessionTokenHash* token) {
    return core_.GetCertificates(token, *request);
  });
}

grpc::Status VaultGrpcService::GetUploadState(
    grpc::ServerContext* context,
    const tvault::v1::GetUploadStateRequest* request,
    tvault::v1::UploadState* response) {
  return WithToken(context, response, [&](const SessionTokenHash* token) {
    return core_.GetUploadState(token, *request);
  });
}

namespace {

// The streams time each wait for the caller (vault/call_deadlines.h), and
// only the wait: the vault's own work between messages is not timed.
class GrpcUploadStream final : public UploadStream {
 public:
  GrpcUploadStream(grpc::ServerReader<tvault::v1::UploadRequest>* reader,
                   std::function<void(bool)> waiting)
      : reader_(reader), waiting_(std::move(waiting)) {}
  bool Read(tvault::v1::UploadRequest& message) override {
    waiting_(true);
    const bool read = reader_->Read(&message);
    waiting_(false);
    return read;
  }

 private:
  grpc::ServerReader<tvault::v1::UploadRequest>* reader_;
  std::function<void(bool)> waiting_;
};

class GrpcDownloadSink final : public DownloadSink {
 public:
  GrpcDownloadSink(grpc::ServerWriter<tvault::v1::DownloadChunk>* writer,
                   std::function<void(bool)> waiting)
      : writer_(writer), waiting_(std::move(waiting)) {}
  bool Write(const tvault::v1::DownloadChunk& chunk) override {
    waiting_(true);
    const bool written = writer_->Write(chunk);
    waiting_(false);
    return written;
  }

 private:
  grpc::ServerWriter<tvault::v1::DownloadChunk>* writer_;
  std::function<void(bool)> waiting_;
};

}  // namespace

grpc::Status VaultGrpcService::Upload(
    grpc::ServerContext* context,
    grpc::ServerReader<tvault::v1::UploadRequest>* reader,
    tvault::v1::UploadResponse* response) {
  GrpcUploadStream stream(reader, [&](bool waiting) {
    if (waiting) {
      StartClock(context, CallDeadlines::Wait::kNextMessage);
    } else {
      StopClock(context);
    }
  });
  grpc::Status status =
      WithToken(context, response, [&](const SessionTokenHash* token) {
        absl::StatusOr<StreamSlots::Slot> slot = AcquireSlot(token);
        if (!slot.ok())
          return absl::StatusOr<tvault::v1::UploadResponse>(slot.status());
        return core_.Upload(token, stream);
      });
  StartClock(context, CallDeadlines::Wait::kCall);  // to send the answer
  return status;
}

grpc::Status VaultGrpcService::ListRecords(
    grpc::ServerContext* context, const tvault::v1::ListRecordsRequest* request,
    tvault::v1::ListRecordsResponse* response) {
  return WithToken(context, response, [&](const SessionTokenHash* token) {
    return core_.ListRecords(token, *request);
  });
}

grpc::Status VaultGrpcService::Download(
    grpc::ServerContext* context, const tvault::v1::DownloadRequest* request,
    grpc::ServerWriter<tvault::v1::DownloadChunk>* writer) {
  absl::StatusOr<std::optional<SessionTokenHash>> token = TokenHashOf(*context);
  if (!token.ok()) return ToGrpcStatus(token.status());
  const SessionTokenHash* hash = token->has_value() ? &**token : nullptr;
  if (absl::Status s = limiter_.Admit(hash); !s.ok()) return ToGrpcStatus(s);
  absl::StatusOr<StreamSlots::Slot> slot = AcquireSlot(hash);
  if (!slot.ok()) return ToGrpcStatus(slot.status());
  GrpcDownloadSink sink(writer, [&](bool waiting) {
    if (waiting) {
      StartClock(context, CallDeadlines::Wait::kCallerToTake);
    } else {
      StopClock(context);
    }
  });
  grpc::Status status = ToGrpcStatus(core_.Download(hash, *request, sink));
  StartClock(context, CallDeadlines::Wait::kCall);  // to send the status
  return status;
}

grpc::Status VaultGrpcService::CreateInvite(
    grpc::ServerContext* context,
    const tvault::v1::CreateInviteRequest* request,
    tvault::v1::CreateInviteResponse* response) {
  return WithToken(context, response, [&](const SessionTokenHash* token) {
    return core_.CreateInvite(token, *request);
  });
}

grpc::Status VaultGrpcService::RevokeInvite(
    grpc::ServerContext* context,
    const tvault::v1::RevokeInviteRequest* request,
    tvault::v1::RevokeInviteResponse* response) {
  return WithToken(context, response, [&](const SessionTokenHash* token) {
    return core_.RevokeInvite(token, *request);
  });
}

grpc::Status VaultGrpcService::RequestDeletion(
    grpc::ServerContext* context,
    const tvault::v1::RequestDeletionRequest* request,
    tvault::v1::RequestDeletionResponse* response) {
  return WithToken(context, response, [&](const SessionTokenHash* token) {
    return core_.RequestDeletion(token, *request);
  });
}

}  // namespace tvault::vault
