#include "vault/call_deadlines.h"

#include <grpc/grpc.h>

#include <algorithm>
#include <atomic>
#include <mutex>
#include <string>

#include "absl/strings/str_cat.h"

namespace tvault::vault {
namespace {

// The CallDeadlines the global callbacks serve (nullptr: none).
std::atomic<CallDeadlines*> g_active{nullptr};

class DeadlineCallbacks final : public grpc::Server::GlobalCallbacks {
 public:
  void PreSynchronousRequest(grpc::ServerContext* context) override {
    if (CallDeadlines* deadlines = g_active.load()) {
      deadlines->Start(context, CallDeadlines::Wait::kCall);
    }
  }
  void PostSynchronousRequest(grpc::ServerContext* context) override {
    if (CallDeadlines* deadlines = g_active.load()) deadlines->Stop(context);
  }
};

void InstallCallbacksOnce() {
  static std::once_flag once;
  // gRPC 1.51 keeps the object (in a shared_ptr) for the process's life.
  std::call_once(
      once, [] { grpc::Server::SetGlobalCallbacks(new DeadlineCallbacks()); });
}

}  // namespace

CallDeadlines::CallDeadlines(std::chrono::seconds limit) : limit_(limit) {
  InstallCallbacksOnce();
  thread_ = std::thread([this] { Run(); });
  g_active.store(this);
}

CallDeadlines::~CallDeadlines() {
  g_active.store(nullptr);
  {
    MutexLock lock(mu_);
    stop_ = true;
  }
  cv_.NotifyAll();
  thread_.join();
}

void CallDeadlines::Start(grpc::ServerContext* context, Wait wait) {
  const TimePoint deadline = std::chrono::steady_clock::now() + limit_;
  MutexLock lock(mu_);
  // Every window is `limit_` long, so a new deadline is never earlier than
  // the one the thread is waiting for: no need to wake it.
  calls_[context] = Entry{deadline, wait};
}

void CallDeadlines::Stop(grpc::ServerContext* context) {
  MutexLock lock(mu_);
  calls_.erase(context);
}

void CallDeadlines::Cancel(grpc::ServerContext* context, Wait wait) {
  const int64_t seconds = limit_.count();
  std::string message;
  switch (wait) {
    case Wait::kCall:
      message = absl::StrCat(
          "the call took longer than the vault allows (", seconds,
          " seconds); whatever it changed may have been done: calls are "
          "safe to repeat");
      break;
    case Wait::kNextMessage:
      message = absl::StrCat(
          "no message arrived for ", seconds,
          " seconds, so the vault ended the call; it keeps what it stored "
          "of an upload: ask for the upload's state and resume");
      break;
    case Wait::kCallerToTake:
      message = absl::StrCat(
          "the next message was not taken for ", seconds,
          " seconds, so the vault ended the call; download the rest from "
          "where it stopped");
      break;
  }
  // Held under mu_: Stop cannot return (and the call end) meanwhile.
  grpc_call_cancel_with_status(context->c_call(), GRPC_STATUS_DEADLINE_EXCEEDED,
                               message.c_str(), nullptr);
}

void CallDeadlines::Run() {
  MutexLock lock(mu_);
  while (!stop_) {
    const TimePoint now = std::chrono::steady_clock::now();
    TimePoint next = now + limit_;
    for (auto it = calls_.begin(); it != calls_.end();) {
      if (it->second.deadline <= now) {
        Cancel(it->first, it->second.wait);
        it = calls_.erase(it);
      } else {
        next = std::min(next, it->second.deadline);
        ++it;
      }
    }
    cv_.WaitFor(mu_, next - now,
                [this]() ABSL_NO_THREAD_SAFETY_ANALYSIS { return stop_; });
  }
}

}  // namespace tvault::vault
