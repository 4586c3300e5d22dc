#include "vault/rate_limiter.h"

#include <algorithm>
#include <chrono>
#include <utility>

#include "absl/strings/str_cat.h"

namespace tvault::vault {
namespace {

constexpr int64_t kUnitsPerCall = 60;
constexpr int64_t kSweepSeconds = 60;

absl::Status TryAgain(absl::string_view why, int64_t seconds) {
  return absl::ResourceExhaustedError(absl::StrCat(
      why, "; try again in ", seconds, seconds == 1 ? " second" : " seconds"));
}

}  // namespace

int64_t MonotonicSeconds() {
  return std::chrono::duration_cast<std::chrono::seconds>(
             std::chrono::steady_clock::now().time_since_epoch())
      .count();
}

RateLimiter::RateLimiter(int64_t per_minute, std::function<int64_t()> clock,
                         int64_t keep_seconds)
    : per_minute_(std::max<int64_t>(per_minute, 1)),
      capacity_(per_minute_ * kUnitsPerCall),
      keep_seconds_(std::max<int64_t>(keep_seconds, 0)),
      clock_(std::move(clock)) {
  const int64_t now = clock_();
  MutexLock lock(mu_);
  shared_ = Bucket{capacity_, now};
  last_sweep_ = now;
}

void RateLimiter::Refill(Bucket& bucket, int64_t now) const {
  if (now <= bucket.updated) return;
  // A whole minute refills any bucket (and keeps the product small).
  const int64_t elapsed = std::min(now - bucket.updated, int64_t{60});
  bucket.units = std::min(capacity_, bucket.units + elapsed * per_minute_);
  bucket.updated = now;
}

int64_t RateLimiter::Take(Bucket& bucket, int64_t now) const {
  Refill(bucket, now);
  if (bucket.units >= kUnitsPerCall) {
    bucket.units -= kUnitsPerCall;
    return 0;
  }
  return (kUnitsPerCall - bucket.units + per_minute_ - 1) / per_minute_;
}

void RateLimiter::Sweep(int64_t now) {
  last_sweep_ = now;
  for (auto it = sessions_.begin(); it != sessions_.end();) {
    Refill(it->second, now);
    if (it->second.units >= capacity_ &&
        now - it->second.last_call >= keep_seconds_) {
      it = sessions_.erase(it);
    } else {
      ++it;
    }
  }
}

absl::Status RateLimiter::Admit(const SessionTokenHash* token) {
  const int64_t now = clock_();
  MutexLock lock(mu_);
  if (now - last_sweep_ >= kSweepSeconds) Sweep(now);
  if (token != nullptr) {
    auto it = sessions_.find(token->bytes);
    if (it != sessions_.end()) {
      it->second.last_call = now;
      if (const int64_t wait = Take(it->second, now); wait > 0) {
        return TryAgain(absl::StrCat("this session made more calls than the "
                                     "vault accepts (",
                                     per_minute_, " a minute)"),
                        wait);
      }
      return absl::OkStatus();
    }
  }
  if (const int64_t wait = Take(shared_, now); wait > 0) {
    return TryAgain(
        absl::StrCat("the vault is receiving more calls from callers without "
                     "a session, or with a new one, than it accepts (",
                     per_minute_, " a minute, shared by all of them)"),
        wait);
  }
  if (token != nullptr) {
    // At the cap, look for idle buckets at most once a second.
    if (sessions_.size() >= kMaxSessionBuckets && now != last_sweep_) {
      Sweep(now);
    }
    if (sessions_.size() < kMaxSessionBuckets) {
      sessions_.emplace(token->bytes, Bucket{capacity_, now, now});
    }
  }
  return absl::OkStatus();
}

size_t RateLimiter::session_buckets() {
  MutexLock lock(mu_);
  return sessions_.size();
}

}  // namespace tvault::vault
