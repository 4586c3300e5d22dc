// The vault's request-rate limit (DESIGN.md §8: limits on the request
// rate), in memory only.
//
// Budgets
// - Each session, by the hash of its token, has a budget of
//   max_requests_per_minute calls: a bucket that holds up to that many
//   calls and refills at that many a minute, so a caller may make a burst
//   of that many and then go on at that pace.
// - Calls without a session (GetChallenge, SignIn, Register, Revoke, and
//   any call that carries no token) share one budget of the same size: the
//   vault never sees addresses, so it cannot tell such callers apart.
// - A token the limiter has not seen yet (a session's first call, or a
//   token made up) is charged to the shared budget, and only then gets a
//   budget of its own. Making up tokens therefore buys nothing, and new
//   buckets appear no faster than the shared budget allows.
// Past a budget: ResourceExhausted, saying in how many seconds one more
// call will be accepted. GetServerInfo is not counted (the gRPC edge does
// not ask): it touches no database, and counting it would only let it
// crowd out sign-ins.
//
// Memory: a bucket that has refilled completely and has not been used for
// `keep_seconds` (the session lifetime: past it the token is worthless) is
// dropped (all are looked at once a minute). Dropping a full bucket sooner
// would make a session in use that stays under its budget unknown again,
// and its next call would be charged to the shared budget: during a flood
// without a session it would be refused (found by
// tests/reliability/tvault_abuse). At most kMaxSessionBuckets exist; past
// that, a new session's calls keep being charged to the shared budget
// until buckets free up.
//
// The price of having no addresses: a flood of calls without a session
// empties the shared budget for everyone, so while it lasts nobody can
// sign in or make a new session's first call. Sessions already in use
// keep their own budgets and are not affected.
//
// Thread-safe.
#ifndef TVAULT_VAULT_RATE_LIMITER_H_
#define TVAULT_VAULT_RATE_LIMITER_H_

#include <cstddef>
#include <cstdint>
#include <functional>
#include <map>

#include "absl/base/thread_annotations.h"
#include "absl/status/status.h"
#include "crypto/mutex.h"
#include "crypto/statement.h"
#include "vault/store.h"

namespace tvault::vault {

// Seconds on a clock that never goes back (not the wall clock).
int64_t MonotonicSeconds();

class RateLimiter {
 public:
  static constexpr size_t kMaxSessionBuckets = 65536;

  // `per_minute` >= 1. `clock` gives whole seconds that never go back.
  // `keep_seconds`: how long an unused full bucket is kept (0: dropped at
  // the next look).
  explicit RateLimiter(int64_t per_minute,
                       std::function<int64_t()> clock = MonotonicSeconds,
                       int64_t keep_seconds = 0);

  // Counts one call of the session whose token hashes to `token` (nullptr:
  // a call without a session). OK, or ResourceExhausted saying when to try
  // again (the call was not counted).
  absl::Status Admit(const SessionTokenHash* token);

  // How many sessions have a bucket now (for tests).
  size_t session_buckets();

 private:
  // Kept in units of 1/60 of a call, so that a bucket refills by exactly
  // `per_minute` units a second and integer arithmetic stays exact.
  struct Bucket {
    int64_t units = 0;
    int64_t updated = 0;    // clock seconds
    int64_t last_call = 0;  // clock seconds of the last call admitted
  };

  void Refill(Bucket& bucket, int64_t now) const;
  // Takes one call from `bucket`: 0, or the seconds until it holds one.
  int64_t Take(Bucket& bucket, int64_t now) const;
  // Drops the buckets that have refilled completely.
  void Sweep(int64_t now) ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);

  const int64_t per_minute_;
  const int64_t capacity_;  // units of a full bucket
  const int64_t keep_seconds_;
  const std::function<int64_t()> clock_;
  Mutex mu_;
  Bucket shared_ ABSL_GUARDED_BY(mu_);
  std::map<crypto::Sha256, Bucket> sessions_ ABSL_GUARDED_BY(mu_);
  int64_t last_sweep_ ABSL_GUARDED_BY(mu_) = 0;
};

}  // namespace tvault::vault

#endif  // TVAULT_VAULT_RATE_LIMITER_H_
