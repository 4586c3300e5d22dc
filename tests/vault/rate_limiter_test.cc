// The request-rate limit (vault/rate_limiter.h) with a clock the tests
// move: budgets, refill, the shared budget of callers without a session,
// made-up tokens, idle buckets and the cap on their number.
#include "vault/rate_limiter.h"

#include <atomic>
#include <string>
#include <thread>
#include <vector>

#include "absl/status/status.h"
#include "absl/strings/str_cat.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "vault/store.h"

namespace tvault::vault {
namespace {

using ::testing::HasSubstr;

SessionTokenHash Token(int n) {
  const std::string token = absl::StrCat("token ", n);
  return SessionTokenHash::Of(crypto::AsBytes(token));
}

class VaultRateLimiterTest : public ::testing::Test {
 protected:
  int64_t now_ = 1000;
  std::function<int64_t()> clock_ = [this] { return now_; };
};

TEST_F(VaultRateLimiterTest, ASessionBurstsToItsBudgetThenIsToldWhenToRetry) {
  RateLimiter limiter(10, clock_);
  const SessionTokenHash alice = Token(1);
  // The first call is charged to the shared budget, then ten to hers.
  for (int i = 0; i < 11; ++i) {
    ASSERT_TRUE(limiter.Admit(&alice).ok()) << i;
  }
  absl::Status refused = limiter.Admit(&alice);
  EXPECT_EQ(refused.code(), absl::StatusCode::kResourceExhausted);
  EXPECT_THAT(std::string(refused.message()),
              HasSubstr("this session made more calls than the vault accepts "
                        "(10 a minute); try again in 6 seconds"));
  // Ten a minute is one every 6 seconds.
  now_ += 5;
  EXPECT_THAT(std::string(limiter.Admit(&alice).message()),
              HasSubstr("try again in 1 second"));
  now_ += 1;
  EXPECT_TRUE(limiter.Admit(&alice).ok());
  EXPECT_FALSE(limiter.Admit(&alice).ok());
  // A quiet minute refills the whole budget, and no more (her full
  // bucket went as idle, so her next call is charged to the shared
  // budget again, as the first one was).
  now_ += 600;
  for (int i = 0; i < 11; ++i) EXPECT_TRUE(limiter.Admit(&alice).ok()) << i;
  EXPECT_FALSE(limiter.Admit(&alice).ok());
}

TEST_F(VaultRateLimiterTest, SessionsHaveTheirOwnBudgets) {
  RateLimiter limiter(10, clock_);
  const SessionTokenHash alice = Token(1), bob = Token(2);
  for (int i = 0; i < 11; ++i) ASSERT_TRUE(limiter.Admit(&alice).ok());
  ASSERT_FALSE(limiter.Admit(&alice).ok());
  for (int i = 0; i < 11; ++i) EXPECT_TRUE(limiter.Admit(&bob).ok()) << i;
  EXPECT_FALSE(limiter.Admit(&bob).ok());
}

TEST_F(VaultRateLimiterTest, CallsWithoutASessionShareOneBudget) {
  RateLimiter limiter(10, clock_);
  const SessionTokenHash alice = Token(1);
  ASSERT_TRUE(limiter.Admit(&alice).ok());  // 1 of the shared 10
  for (int i = 0; i < 9; ++i) EXPECT_TRUE(limiter.Admit(nullptr).ok()) << i;
  absl::Status refused = limiter.Admit(nullptr);
  EXPECT_EQ(refused.code(), absl::StatusCode::kResourceExhausted);
  EXPECT_THAT(std::string(refused.message()),
              HasSubstr("without a session, or with a new one"));
  EXPECT_THAT(std::string(refused.message()), HasSubstr("try again in 6"));
  // A session already seen goes on with its own budget...
  EXPECT_TRUE(limiter.Admit(&alice).ok());
  // ...but new (or made-up) tokens are charged to the shared one, and get
  // no bucket while it is empty.
  const SessionTokenHash carol = Token(3);
  EXPECT_EQ(limiter.Admit(&carol).code(), absl::StatusCode::kResourceExhausted);
  EXPECT_EQ(limiter.session_buckets(), 1u);
  now_ += 6;
  EXPECT_TRUE(limiter.Admit(nullptr).ok());
  EXPECT_FALSE(limiter.Admit(nullptr).ok());
}

TEST_F(VaultRateLimiterTest, MadeUpTokensBuyNothing) {
  RateLimiter limiter(10, clock_);
  int admitted = 0;
  for (int i = 0; i < 1000; ++i) {
    const SessionTokenHash t = Token(100 + i);
    if (limiter.Admit(&t).ok()) ++admitted;
  }
  EXPECT_EQ(admitted, 10);
  EXPECT_EQ(limiter.session_buckets(), 10u);
}

TEST_F(VaultRateLimiterTest, IdleBucketsAreDropped) {
  RateLimiter limiter(10, clock_);
  for (int i = 0; i < 5; ++i) {
    const SessionTokenHash t = Token(i);
    ASSERT_TRUE(limiter.Admit(&t).ok());
    ASSERT_TRUE(limiter.Admit(&t).ok());  // from its own bucket
  }
  EXPECT_EQ(limiter.session_buckets(), 5u);
  // One session stays busy (it spends its whole budget); the others
  // refill completely and go.
  now_ += 30;
  const SessionTokenHash busy = Token(0);
  for (int i = 0; i < 10; ++i) ASSERT_TRUE(limiter.Admit(&busy).ok());
  ASSERT_FALSE(limiter.Admit(&busy).ok());
  now_ += 30;  // half refilled: 5 calls
  for (int i = 0; i < 5; ++i) ASSERT_TRUE(limiter.Admit(&busy).ok()) << i;
  EXPECT_FALSE(limiter.Admit(&busy).ok());
  EXPECT_EQ(limiter.session_buckets(), 1u);
}

TEST_F(VaultRateLimiterTest,
       ASessionInUseUnderItsBudgetKeepsItThroughAFloodWithoutSession) {
  // Buckets kept for the session lifetime, as tvaultd configures them.
  RateLimiter limiter(10, clock_, /*keep_seconds=*/3600);
  const SessionTokenHash alice = Token(1);
  ASSERT_TRUE(limiter.Admit(&alice).ok());  // her first call: shared budget
  // Callers without a session empty the shared budget and keep it empty,
  // while alice makes a call now and then, far below her budget (so her
  // bucket is always full again when the buckets are looked at).
  for (int minute = 0; minute < 5; ++minute) {
    while (limiter.Admit(nullptr).ok()) {
    }
    now_ += 30;
    while (limiter.Admit(nullptr).ok()) {
    }
    EXPECT_TRUE(limiter.Admit(&alice).ok()) << "minute " << minute;
    now_ += 31;
  }
  // Unused for the session lifetime, the bucket goes.
  now_ += 3600;
  const SessionTokenHash other = Token(2);
  ASSERT_TRUE(limiter.Admit(&other).ok());
  now_ += 60;
  ASSERT_TRUE(limiter.Admit(&other).ok());
  EXPECT_EQ(limiter.session_buckets(), 1u);
}

TEST_F(VaultRateLimiterTest, TheNumberOfBucketsIsCapped) {
  RateLimiter limiter(100000, clock_);
  const size_t cap = RateLimiter::kMaxSessionBuckets;
  for (size_t i = 0; i <= cap; ++i) {
    const SessionTokenHash t = Token(static_cast<int>(i));
    ASSERT_TRUE(limiter.Admit(&t).ok()) << i;
  }
  EXPECT_EQ(limiter.session_buckets(), cap);
  // The session past the cap is still served, from the shared budget.
  const SessionTokenHash last = Token(static_cast<int>(cap));
  EXPECT_TRUE(limiter.Admit(&last).ok());
  EXPECT_EQ(limiter.session_buckets(), cap);
  // Once idle buckets go, new sessions get theirs again.
  now_ += 60;
  const SessionTokenHash next = Token(-1);
  EXPECT_TRUE(limiter.Admit(&next).ok());
  EXPECT_EQ(limiter.session_buckets(), 1u);
}

TEST_F(VaultRateLimiterTest, CountsExactlyUnderConcurrentCalls) {
  RateLimiter limiter(1000, clock_);
  const SessionTokenHash alice = Token(1);
  ASSERT_TRUE(limiter.Admit(&alice).ok());
  std::atomic<int> admitted{0};
  std::vector<std::thread> threads;
  for (int t = 0; t < 8; ++t) {
    threads.emplace_back([&] {
      for (int i = 0; i < 500; ++i) {
        if (limiter.Admit(&alice).ok()) ++admitted;
      }
    });
  }
  for (std::thread& t : threads) t.join();
  EXPECT_EQ(admitted.load(), 1000);
}

}  // namespace
}  // namespace tvault::vault
