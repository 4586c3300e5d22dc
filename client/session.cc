#include "client/session.h"

#include <chrono>

#include "absl/strings/str_cat.h"
#include "client/vault_auth.h"
#include "client/vault_channel.h"
#include "crypto/merkle.h"

namespace tvault::client {
namespace {

constexpr uint64_t kEntriesPerRequest = 1024;

std::vector<crypto::Hash> ToHashes(const tvault::v1::Proof& proof,
                                   absl::Status& status) {
  std::vector<crypto::Hash> out;
  for (const std::string& h : proof.hashes()) {
    absl::StatusOr<crypto::Hash> hash =
        crypto::HashFromBytes(crypto::AsBytes(h));
    if (!hash.ok()) {
      status = absl::DataLossError(
          "the vault's proof holds a hash that is not 32 bytes");
      return {};
    }
    out.push_back(*hash);
  }
  return out;
}

}  // namespace

absl::Status Explain(const grpc::Status& status, absl::string_view doing) {
  switch (status.error_code()) {
    case grpc::StatusCode::UNAVAILABLE:
      return absl::UnavailableError(absl::StrCat(
          "cannot reach the vault while ", doing,
          ". Check the connection (and Tor, if the vault is an onion "
          "service) and try again. Detail: ",
          status.error_message()));
    case grpc::StatusCode::DEADLINE_EXCEEDED:
      return absl::DeadlineExceededError(
          absl::StrCat("the vault did not answer in time while ", doing,
                       "; try again later"));
    default:
      return absl::Status(static_cast<absl::StatusCode>(status.error_code()),
                          absl::StrCat("the vault refused ", doing, ": ",
                                       status.error_message()));
  }
}

absl::StatusOr<tvault::v1::LogEntry> ParseLogEntry(absl::string_view bytes,
                                                   uint64_t index) {
  tvault::v1::LogEntry entry;
  if (!crypto::ParseStrictly(bytes, entry).ok() || entry.version() != 1 ||
      entry.event_case() == tvault::v1::LogEntry::EVENT_NOT_SET) {
    return absl::DataLossError(absl::StrCat(
        "log entry ", index, " is malformed; the vault's log is damaged"));
  }
  return entry;
}

absl::StatusOr<std::unique_ptr<VaultSession>> VaultSession::Connect(
    const tvault::v1::ServerBundle& bundle) {
  auto session = std::unique_ptr<VaultSession>(new VaultSession());
  if (bundle.tls_pin().size() != session->pin_.size()) {
    return absl::InvalidArgumentError("the server bundle has no TLS pin");
  }
  std::copy(bundle.tls_pin().begin(), bundle.tls_pin().end(),
            session->pin_.begin());
  absl::StatusOr<crypto::NoteVerifier> verifier =
      crypto::NoteVerifier::Parse(bundle.log_verifier_key());
  if (!verifier.ok()) return verifier.status();
  session->verifier_ =
      std::make_unique<crypto::NoteVerifier>(*std::move(verifier));
  grpc::Status last;
  for (const std::string& address : bundle.addresses()) {
    std::shared_ptr<grpc::Channel> channel =
        ConnectToVault(address, session->pin_);
    auto stub = tvault::v1::Vault::NewStub(channel);
    grpc::ClientContext context;
    context.set_deadline(std::chrono::system_clock::now() +
                         std::chrono::seconds(20));
    last = stub->GetServerInfo(&context, {}, &session->info_);
    if (!last.ok()) continue;
    if (session->info_.log_verifier_key() != bundle.log_verifier_key()) {
      return absl::PermissionDeniedError(
          "the vault names a different log key than the organisation's "
          "server bundle: it may be an impostor or a seized server. Do not "
          "use it; tell your organisation");
    }
    session->channel_ = std::move(channel);
    session->stub_ = std::move(stub);
    session->address_ = address;
    return session;
  }
  return Explain(last, "connecting");
}

absl::Status VaultSession::SignIn(const crypto::SigningKey& key,
                                  std::unique_ptr<LogMonitor> monitor) {
  absl::StatusOr<tvault::v1::Session> s = SignInToVault(*stub_, key, pin_);
  if (!s.ok()) {
    if (absl::IsUnavailable(s.status())) {
      return absl::UnavailableError(absl::StrCat(
          "cannot reach the vault while signing in; try again. Detail: ",
          s.status().message()));
    }
    return absl::Status(
        s.status().code(),
        absl::StrCat("the vault refused the sign-in: ", s.status().message()));
  }
  token_ = s->token();
  if (monitor == nullptr) {
    receipts_ = std::make_unique<LogMonitor>(LogMonitor::InMemory(*verifier_));
    return absl::OkStatus();
  }
  monitor_ = std::move(monitor);
  return RefreshLog().status();
}

std::unique_ptr<grpc::ClientContext> VaultSession::Context(
    absl::Duration deadline) const {
  auto context = std::make_unique<grpc::ClientContext>();
  if (!token_.empty()) AuthorizeCall(*context, token_);
  if (deadline != absl::InfiniteDuration()) {
    context->set_deadline(absl::ToChronoTime(absl::Now() + deadline));
  }
  return context;
}

absl::StatusOr<tvault::v1::LogEntry> VaultSession::CheckReceipt(
    const tvault::v1::Receipt& receipt) {
  LogMonitor* m = monitor_ != nullptr ? monitor_.get() : receipts_.get();
  if (m == nullptr) {
    return absl::FailedPreconditionError("sign in before checking receipts");
  }
  return m->CheckReceipt(receipt, VaultConsistencyFetcher(*stub_, token_));
}

absl::StatusOr<VerifiedCheckpoint> VaultSession::Checkpoint() const {
  if (monitor_ == nullptr || !monitor_->latest().has_value()) {
    return absl::FailedPreconditionError(
        "only an account session reads the vault's log");
  }
  return *monitor_->latest();
}

absl::StatusOr<VerifiedCheckpoint> VaultSession::RefreshLog() {
  if (monitor_ == nullptr) {
    return absl::FailedPreconditionError(
        "only an account session reads the vault's log");
  }
  return CheckVaultLog(*stub_, token_, *monitor_);
}

absl::StatusOr<tvault::v1::LogEntry> VaultSession::ProvenEntry(
    uint64_t index, std::string* raw) {
  absl::StatusOr<VerifiedCheckpoint> cp = Checkpoint();
  if (!cp.ok()) return cp.status();
  const uint64_t size = cp->checkpoint.tree_size;
  if (index >= size) {
    return absl::DataLossError(
        absl::StrCat("the vault points to log entry ", index,
                     " beyond its own signed log of ", size, " entries"));
  }
  tvault::v1::GetLogEntriesRequest request;
  request.set_begin(index);
  request.set_end(index + 1);
  tvault::v1::GetLogEntriesResponse entries;
  if (grpc::Status s = stub_->GetLogEntries(Context().get(), request, &entries);
      !s.ok()) {
    return Explain(s, "reading the log");
  }
  if (entries.entries_size() != 1) {
    return absl::DataLossError("the vault did not return the log entry asked");
  }
  tvault::v1::GetInclusionProofRequest proof_request;
  proof_request.set_index(index);
  proof_request.set_tree_size(size);
  tvault::v1::Proof proof;
  if (grpc::Status s =
          stub_->GetInclusionProof(Context().get(), proof_request, &proof);
      !s.ok()) {
    return Explain(s, "reading an inclusion proof");
  }
  absl::Status bad;
  const std::vector<crypto::Hash> hashes = ToHashes(proof, bad);
  if (!bad.ok()) return bad;
  if (absl::Status s = LogMonitor::CheckInclusion(cp->checkpoint, index,
                                                  entries.entries(0), hashes);
      !s.ok()) {
    return s;
  }
  if (raw != nullptr) *raw = entries.entries(0);
  return ParseLogEntry(entries.entries(0), index);
}

absl::StatusOr<std::vector<VaultSession::IndexedEntry>> VaultSession::ScanLog(
    const std::function<bool(const tvault::v1::LogEntry&)>& keep) {
  absl::StatusOr<VerifiedCheckpoint> cp = Checkpoint();
  if (!cp.ok()) return cp.status();
  const uint64_t size = cp->checkpoint.tree_size;
  std::vector<crypto::Hash> leaves;
  leaves.reserve(size);
  std::vector<IndexedEntry> kept;
  for (uint64_t begin = 0; begin < size; begin += kEntriesPerRequest) {
    tvault::v1::GetLogEntriesRequest request;
    request.set_begin(begin);
    request.set_end(std::min(size, begin + kEntriesPerRequest));
    tvault::v1::GetLogEntriesResponse response;
    if (grpc::Status s =
            stub_->GetLogEntries(Context().get(), request, &response);
        !s.ok()) {
      return Explain(s, "reading the log");
    }
    if (static_cast<uint64_t>(response.entries_size()) !=
        request.end() - begin) {
      return absl::DataLossError(
          "the vault returned fewer log entries than its checkpoint holds");
    }
    for (int i = 0; i < response.entries_size(); ++i) {
      const std::string& bytes = response.entries(i);
      const uint64_t index = begin + static_cast<uint64_t>(i);
      leaves.push_back(crypto::LeafHash(crypto::AsBytes(bytes)));
      absl::StatusOr<tvault::v1::LogEntry> entry = ParseLogEntry(bytes, index);
      if (!entry.ok()) return entry.status();
      if (keep(*entry)) kept.emplace_back(index, *std::move(entry));
    }
  }
  if (crypto::RootFromLeafHashes(leaves) != cp->checkpoint.root_hash) {
    return absl::DataLossError(
        "the log entries the vault served do not match its signed "
        "checkpoint: the vault altered its log. Tell your organisation");
  }
  return kept;
}

}  // namespace tvault::client
