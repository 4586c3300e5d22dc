// Server-side deadlines on tvaultd's calls (DESIGN.md §8: every call has a
// deadline), for gRPC 1.51's synchronous server. The limit is
// call_deadline_seconds (vault/config.h), whatever deadline the caller set
// (a shorter one of the caller's still applies: gRPC enforces it).
//
// What is timed
// - Every call, from the moment its handler starts: for a unary call the
//   limit covers the vault's work and sending the answer (gRPC's sync
//   server sends it before the call counts as done).
// - A stream's handler restarts the clock each time it starts waiting for
//   its caller: before reading each message of an upload, before writing
//   each message of a download (a write waits while the caller does not
//   take what was sent), and once more to send the final status. So a
//   stream may last as long as it keeps moving, but never waits longer
//   than the limit for its caller.
// When the clock runs out, the call is cancelled with DEADLINE_EXCEEDED
// and a plain message: a blocked read or write returns at once, the
// handler ends (an upload keeps what it stored, for a resume), and the
// server thread is free for other calls.
//
// What is not timed, and why
// - A handler's own work between two messages of a stream (storing a
//   batch, re-reading a resumed upload's data to hash it): it is bounded
//   by the sizes the vault accepts, and re-reading a large upload may take
//   longer than the limit, which would make that upload impossible to
//   resume.
// - Work already under way is not interrupted: gRPC cannot stop a thread,
//   and a store transaction runs to its end. If the limit passes during
//   one, the caller is told DEADLINE_EXCEEDED at once while the
//   transaction commits or not; every call is safe to repeat.
// - Time before the handler starts: the TLS handshake (gRPC's own
//   handshake timeout applies), a unary request still arriving (the sync
//   server runs the handler only once it has arrived, so a slow sender
//   holds no thread), and a call waiting for a free server thread.
//
// Mechanism: the sync server's global callbacks (grpc::Server::
// GlobalCallbacks, called on the handler's thread before the handler and
// after it has sent its answer) start and stop the clock; one thread
// cancels expired calls with grpc_call_cancel_with_status, which the C core
// allows from any thread and which sends the status to the caller. The
// sync API has no per-call server deadline, and ServerContext::TryCancel
// would report CANCELLED instead.
//
// One CallDeadlines at a time per process, created before the first
// grpc::Server and destroyed after the last one is (gRPC takes global
// callbacks once per process). Thread-safe.
#ifndef TVAULT_VAULT_CALL_DEADLINES_H_
#define TVAULT_VAULT_CALL_DEADLINES_H_

#include <grpcpp/grpcpp.h>

#include <chrono>
#include <cstdint>
#include <map>
#include <thread>

#include "absl/base/thread_annotations.h"
#include "crypto/mutex.h"

namespace tvault::vault {

class CallDeadlines {
 public:
  // What a call is waiting for, for the message it is cancelled with.
  enum class Wait {
    kCall,          // its handler to finish and the answer to be sent
    kNextMessage,   // the caller's next message
    kCallerToTake,  // the caller to take the next message
  };

  // Starts the cancelling thread and installs the global callbacks (once
  // per process). `limit` >= 1 s.
  explicit CallDeadlines(std::chrono::seconds limit);
  ~CallDeadlines();
  CallDeadlines(const CallDeadlines&) = delete;
  CallDeadlines& operator=(const CallDeadlines&) = delete;

  // (Re)starts `context`'s clock: unless Stop or Start comes first, the
  // call is cancelled `limit` from now.
  void Start(grpc::ServerContext* context, Wait wait);
  // Stops it. After Stop returns, the call will not be cancelled by this.
  void Stop(grpc::ServerContext* context);

  std::chrono::seconds limit() const { return limit_; }

 private:
  using TimePoint = std::chrono::steady_clock::time_point;
  struct Entry {
    TimePoint deadline;
    Wait wait = Wait::kCall;
  };
  void Run();
  void Cancel(grpc::ServerContext* context, Wait wait)
      ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);

  const std::chrono::seconds limit_;
  Mutex mu_;
  CondVar cv_;
  bool stop_ ABSL_GUARDED_BY(mu_) = false;
  std::map<grpc::ServerContext*, Entry> calls_ ABSL_GUARDED_BY(mu_);
  std::thread thread_;
};

}  // namespace tvault::vault

#endif  // TVAULT_VAULT_CALL_DEADLINES_H_
