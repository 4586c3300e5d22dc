// A bound on the streams (Upload, Download) that run at once, in all, per
// session and per identity, so that streams can never take every server
// thread, nor one seized phone or account all the streams.
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
// A stream that sends nothing is ended at the deadline and can be opened
// again at once; one that keeps sending a byte at a time keeps its place
// (gRPC 1.51 has no minimum rate); and a key may sign in many times. So
// the streams of one identity (an account's key or an invite's, over all
// its sessions) are capped too, below the total: a family's seized invite
// or one member's account can hold a few streams, never all of them
// (measured by tests/reliability/tvault_abuse: without this cap, one
// member's 24 sessions with 4 idle streams each held all 96, and 2 of 3
// uploads by another member were refused; with it, 3 of 3 succeeded).
//
// Limits: max_streams in all (kMaxConcurrentStreams), max_per_session for
// one session token (calls without a session share one such allowance),
// max_per_identity for one key (config max_streams_per_identity; calls
// whose session is unknown count only per session). Past any, Acquire
// answers ResourceExhausted, saying which and when to try again; nothing
// is counted. Thread-safe.
#ifndef TVAULT_VAULT_STREAM_SLOTS_H_
#define TVAULT_VAULT_STREAM_SLOTS_H_

#include <map>
#include <optional>

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
inline constexpr int kMaxStreamsPerIdentity = 8;

class StreamSlots {
 public:
  StreamSlots(int max_streams = kMaxConcurrentStreams,
              int max_per_session = kMaxStreamsPerSession,
              int max_per_identity = kMaxStreamsPerIdentity)
      : max_streams_(max_streams),
        max_per_session_(max_per_session),
        max_per_identity_(max_per_identity) {}

  // A running stream's place; given back when destroyed.
  class Slot {
   public:
    Slot(Slot&& other) noexcept
        : slots_(other.slots_),
          session_(other.session_),
          identity_(other.identity_) {
      other.slots_ = nullptr;
    }
    Slot(const Slot&) = delete;
    Slot& operator=(const Slot&) = delete;
    Slot& operator=(Slot&&) = delete;
    ~Slot();

   private:
    friend class StreamSlots;
    Slot(StreamSlots* slots, const crypto::Sha256& session,
         const std::optional<crypto::SignPublicKey>& identity)
        : slots_(slots), session_(session), identity_(identity) {}
    StreamSlots* slots_;
    crypto::Sha256 session_;
    std::optional<crypto::SignPublicKey> identity_;
  };

  // A slot for a stream of the session whose token hashes to `token`
  // (nullptr: no session), which belongs to the key `identity` (nullptr:
  // none known), or ResourceExhausted.
  absl::StatusOr<Slot> Acquire(const SessionTokenHash* token,
                               const crypto::SignPublicKey* identity);

  int running();

 private:
  void Release(const crypto::Sha256& session,
               const std::optional<crypto::SignPublicKey>& identity);

  const int max_streams_;
  const int max_per_session_;
  const int max_per_identity_;
  Mutex mu_;
  int running_ ABSL_GUARDED_BY(mu_) = 0;
  std::map<crypto::Sha256, int> per_session_ ABSL_GUARDED_BY(mu_);
  std::map<crypto::SignPublicKey, int> per_identity_ ABSL_GUARDED_BY(mu_);
};

}  // namespace tvault::vault

#endif  // TVAULT_VAULT_STREAM_SLOTS_H_
