#include "vault/stream_slots.h"

#include "absl/strings/str_cat.h"

namespace tvault::vault {

StreamSlots::Slot::~Slot() {
  if (slots_ != nullptr) slots_->Release(session_, identity_);
}

absl::StatusOr<StreamSlots::Slot> StreamSlots::Acquire(
    const SessionTokenHash* token, const crypto::SignPublicKey* identity) {
  const crypto::Sha256 session =
      token != nullptr ? token->bytes : crypto::Sha256{};
  MutexLock lock(mu_);
  auto in_session = per_session_.find(session);
  const int session_streams =
      in_session == per_session_.end() ? 0 : in_session->second;
  if (session_streams >= max_per_session_) {
    return absl::ResourceExhaustedError(absl::StrCat(
        "this session already has ", session_streams,
        " uploads and downloads running, the most the vault allows at once; "
        "try again when one has finished"));
  }
  if (identity != nullptr) {
    auto it = per_identity_.find(*identity);
    const int identity_streams = it == per_identity_.end() ? 0 : it->second;
    if (identity_streams >= max_per_identity_) {
      return absl::ResourceExhaustedError(absl::StrCat(
          "your key already has ", identity_streams,
          " uploads and downloads running (in all its sessions), the most "
          "the vault allows one account or invite at once; try again when "
          "one has finished"));
    }
  }
  if (running_ >= max_streams_) {
    return absl::ResourceExhaustedError(
        "the vault is running as many uploads and downloads as it allows at "
        "once; try again in a few seconds");
  }
  ++per_session_[session];
  std::optional<crypto::SignPublicKey> key;
  if (identity != nullptr) {
    key = *identity;
    ++per_identity_[*identity];
  }
  ++running_;
  return Slot(this, session, key);
}

void StreamSlots::Release(
    const crypto::Sha256& session,
    const std::optional<crypto::SignPublicKey>& identity) {
  MutexLock lock(mu_);
  --running_;
  auto it = per_session_.find(session);
  if (it != per_session_.end() && --it->second <= 0) per_session_.erase(it);
  if (identity.has_value()) {
    auto id = per_identity_.find(*identity);
    if (id != per_identity_.end() && --id->second <= 0) per_identity_.erase(id);
  }
}

int StreamSlots::running() {
  MutexLock lock(mu_);
  return running_;
}

}  // namespace tvault::vault
