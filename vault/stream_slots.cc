#include "vault/stream_slots.h"

#include "absl/strings/str_cat.h"

namespace tvault::vault {

StreamSlots::Slot::~Slot() {
  if (slots_ != nullptr) slots_->Release(session_);
}

absl::StatusOr<StreamSlots::Slot> StreamSlots::Acquire(
    const SessionTokenHash* token) {
  const crypto::Sha256 session =
      token != nullptr ? token->bytes : crypto::Sha256{};
  MutexLock lock(mu_);
  int& mine = per_session_[session];
  if (mine >= max_per_session_) {
    return absl::ResourceExhaustedError(absl::StrCat(
        "this session already has ", mine,
        " uploads and downloads running, the most the vault allows at once; "
        "try again when one has finished"));
  }
  if (running_ >= max_streams_) {
    if (mine == 0) per_session_.erase(session);
    return absl::ResourceExhaustedError(
        "the vault is running as many uploads and downloads as it allows at "
        "once; try again in a few seconds");
  }
  ++mine;
  ++running_;
  return Slot(this, session);
}

void StreamSlots::Release(const crypto::Sha256& session) {
  MutexLock lock(mu_);
  --running_;
  auto it = per_session_.find(session);
  if (it != per_session_.end() && --it->second <= 0) per_session_.erase(it);
}

int StreamSlots::running() {
  MutexLock lock(mu_);
  return running_;
}

}  // namespace tvault::vault
