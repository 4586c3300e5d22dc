// A bound on the streams (Upload, Download) that run at once, in all and
// per session, so that streams can never take every server thread.
//
// Why: gRPC 1.51's synchronous server runs each call on one of a bounded
// set of threads (serve.cc: kMaxServerThreads) and holds that thread for
// as long as the handler runs; a stream's handler runs while it waits for
// its caller (up to call_deadline_seconds per wait, and indefinitely for a
// caller that keeps sending one byte at a time). Past the last thread,
// gRPC refuses every new call, small ones included, with
// RESOURCE_EXHAUSTED "Server Threadpool Exhausted" (measured by
// tests/reliability/tvault_abuse: one session opening idle Upload streams
// starved every other caller). Refusing a stream at its start takes its
// thread for microseconds only, so with streams capped below the thread
// count, unary calls (sign-ins, listings, checkpoints) always find a
// thread.
//
// Limits: kMaxConcurrentStreams in all, kMaxStreamsPerSession for one
// session token (calls without a session share one such allowance). Past
// either, Acquire answers ResourceExhausted, saying which and to try
// again in a few seconds; nothing is counted. Thread-safe.
#ifndef TVAULT_VAULT_STREAM_SLOTS_H_
#define TVAULT_VAULT_STREAM_SLOTS_H_

#include <map>

#include "absl/base/thread_annotations.h"
#include "absl/status/statusor.h"
#include "crypto/mutex.h"
#include "crypto/statement.h"
#include "vault/store.h"

namespace tvault::vault {

// 64 clients, each with a stream at a time, are served without a refusal
// (tests/reliability/tvault_soak); each upload stream may hold up to 5 MiB
// of data in memory (a storage batch and a message), so about 480 MiB at
// most.
inline constexpr int kMaxConcurrentStreams = 96;
inline constexpr int kMaxStreamsPerSession = 4;

class StreamSlots {
 public:
  StreamSlots(int max_streams = kMaxConcurrentStreams,
              int max_per_session = kMaxStreamsPerSession)
      : max_streams_(max_streams), max_per_session_(max_per_session) {}

  // A running stream's place; given back when destroyed.
  class Slot {
   public:
    Slot(Slot&& other) noexcept
        : slots_(other.slots_), session_(other.session_) {
      other.slots_ = nullptr;
    }
    Slot(const Slot&) = delete;
    Slot& operator=(const Slot&) = delete;
    Slot& operator=(Slot&&) = delete;
    ~Slot();

   private:
    friend class StreamSlots;
    Slot(StreamSlots* slots, const crypto::Sha256& session)
        : slots_(slots), session_(session) {}
    StreamSlots* slots_;
    crypto::Sha256 session_;
  };

  // A slot for a stream of the session whose token hashes to `token`
  // (nullptr: no session), or ResourceExhausted.
  absl::StatusOr<Slot> Acquire(const SessionTokenHash* token);

  int running();

 private:
  void Release(const crypto::Sha256& session);

  const int max_streams_;
  const int max_per_session_;
  Mutex mu_;
  int running_ ABSL_GUARDED_BY(mu_) = 0;
  std::map<crypto::Sha256, int> per_session_ ABSL_GUARDED_BY(mu_);
};

}  // namespace tvault::vault

#endif  // TVAULT_VAULT_STREAM_SLOTS_H_
