// std::mutex with Clang thread-safety annotations.
//
// Debian's abseil is built without TSan instrumentation, so absl::Mutex
// would hide races from ThreadSanitizer; std::mutex is visible to it. This
// wrapper adds the capability annotations that std::mutex lacks, so that
// ABSL_GUARDED_BY members are checked at compile time under clang.
#ifndef TVAULT_CRYPTO_MUTEX_H_
#define TVAULT_CRYPTO_MUTEX_H_

#include <condition_variable>
#include <mutex>

#include "absl/base/thread_annotations.h"

namespace tvault {

class ABSL_LOCKABLE Mutex {
 public:
  void lock() ABSL_EXCLUSIVE_LOCK_FUNCTION() { mu_.lock(); }
  void unlock() ABSL_UNLOCK_FUNCTION() { mu_.unlock(); }

 private:
  std::mutex mu_;
};

class ABSL_SCOPED_LOCKABLE MutexLock {
 public:
  explicit MutexLock(Mutex& mu) ABSL_EXCLUSIVE_LOCK_FUNCTION(mu) : mu_(mu) {
    mu_.lock();
  }
  ~MutexLock() ABSL_UNLOCK_FUNCTION() { mu_.unlock(); }
  MutexLock(const MutexLock&) = delete;
  MutexLock& operator=(const MutexLock&) = delete;

 private:
  Mutex& mu_;
};

// Waits on a Mutex the caller already holds (through a MutexLock).
class CondVar {
 public:
  template <typename Predicate>
  void Wait(Mutex& mu, Predicate done) ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu) {
    cv_.wait(mu, done);
  }
  // Waits until `done()` or `timeout` passed; returns done().
  template <typename Duration, typename Predicate>
  bool WaitFor(Mutex& mu, Duration timeout, Predicate done)
      ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu) {
    return cv_.wait_for(mu, timeout, done);
  }
  void NotifyAll() { cv_.notify_all(); }
  void NotifyOne() { cv_.notify_one(); }

 private:
  std::condition_variable_any cv_;
};

}  // namespace tvault

#endif  // TVAULT_CRYPTO_MUTEX_H_
