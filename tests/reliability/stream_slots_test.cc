// Streams never take every server thread (vault/stream_slots.h); found by
// tests/reliability/tvault_abuse, where one session's idle Upload streams
// made gRPC refuse every other caller with "Server Threadpool Exhausted".
#include "vault/stream_slots.h"

#include <chrono>
#include <memory>
#include <thread>
#include <vector>

#include "client/vault_auth.h"
#include "gtest/gtest.h"
#include "tests/vault/e2e_fixture.h"
#include "tests/vault/records_fixture.h"

namespace tvault::vault {
namespace {

SessionTokenHash Token(uint8_t n) {
  SessionTokenHash h;
  h.bytes[0] = n;
  return h;
}

crypto::SignPublicKey Key(uint8_t n) {
  crypto::SignPublicKey k{};
  k[0] = n;
  return k;
}

TEST(StreamSlotsTest, CapsStreamsPerSessionAndInAll) {
  StreamSlots slots(/*max_streams=*/5, /*max_per_session=*/2,
                    /*max_per_identity=*/5);
  const SessionTokenHash a = Token(1), b = Token(2), c = Token(3);
  std::vector<StreamSlots::Slot> held;
  for (int i = 0; i < 2; ++i) held.push_back(*slots.Acquire(&a, nullptr));
  absl::StatusOr<StreamSlots::Slot> third = slots.Acquire(&a, nullptr);
  EXPECT_EQ(third.status().code(), absl::StatusCode::kResourceExhausted);
  EXPECT_NE(third.status().message().find("this session"),
            absl::string_view::npos);
  for (int i = 0; i < 2; ++i) held.push_back(*slots.Acquire(&b, nullptr));
  held.push_back(*slots.Acquire(nullptr, nullptr));
  EXPECT_EQ(slots.running(), 5);
  absl::StatusOr<StreamSlots::Slot> full = slots.Acquire(&c, nullptr);
  EXPECT_EQ(full.status().code(), absl::StatusCode::kResourceExhausted);
  EXPECT_NE(full.status().message().find("the vault is running"),
            absl::string_view::npos);
  held.pop_back();
  EXPECT_TRUE(slots.Acquire(&c, nullptr).ok());  // given back at once
  held.clear();
  EXPECT_EQ(slots.running(), 0);
  for (int i = 0; i < 2; ++i) held.push_back(*slots.Acquire(&a, nullptr));
}

TEST(StreamSlotsTest, CapsTheStreamsOfOneKeyOverAllItsSessions) {
  StreamSlots slots(/*max_streams=*/20, /*max_per_session=*/2,
                    /*max_per_identity=*/3);
  const crypto::SignPublicKey mallory = Key(1), alice = Key(2);
  const SessionTokenHash m1 = Token(1), m2 = Token(2), m3 = Token(3),
                         a1 = Token(4);
  std::vector<StreamSlots::Slot> mine, theirs;
  for (int i = 0; i < 2; ++i) mine.push_back(*slots.Acquire(&m1, &mallory));
  mine.push_back(*slots.Acquire(&m2, &mallory));
  // A third session of the same key: refused, naming the key's cap; no
  // session's count moved.
  absl::StatusOr<StreamSlots::Slot> fourth = slots.Acquire(&m3, &mallory);
  EXPECT_EQ(fourth.status().code(), absl::StatusCode::kResourceExhausted);
  EXPECT_NE(fourth.status().message().find("your key already has 3"),
            absl::string_view::npos)
      << fourth.status();
  EXPECT_EQ(slots.running(), 3);
  // Another key is served, and its session's allowance is whole.
  for (int i = 0; i < 2; ++i) theirs.push_back(*slots.Acquire(&a1, &alice));
  // A call whose session is unknown counts by its token alone.
  EXPECT_TRUE(slots.Acquire(&m3, nullptr).ok());
  // Given back: mallory may start one again, in any session.
  mine.pop_back();
  EXPECT_TRUE(slots.Acquire(&m3, &mallory).ok());
  mine.clear();
  theirs.clear();
  EXPECT_EQ(slots.running(), 0);
  for (int i = 0; i < 2; ++i) mine.push_back(*slots.Acquire(&m3, &mallory));
}

class StreamsPerKeyTest : public testing::ServeTest {
 protected:
  void SetUp() override { StartVault("call_deadline_seconds = 3\n"); }
};

TEST_F(StreamsPerKeyTest, OneKeysSessionsTogetherHoldAtMostItsCap) {
  const std::unique_ptr<testing::Account> mallory =
      testing::LiveAccount(root_, "mallory");
  const std::unique_ptr<testing::Account> alice =
      testing::LiveAccount(root_, "alice");
  ASSERT_FALSE(Join(*mallory).empty());
  const std::string alice_token = Join(*alice);
  // 6 sessions of one key, 4 idle Upload streams each: each session is
  // within its own cap, but the key's is 8 (kMaxStreamsPerIdentity).
  std::vector<std::string> sessions;
  for (int i = 0; i < 6; ++i) {
    absl::StatusOr<std::string> t =
        testing::SignIn(*stub_, vault_->pin(), mallory->sign);
    ASSERT_TRUE(t.ok()) << t.status();
    sessions.push_back(*t);
  }
  std::atomic<int> past_key_cap{0}, waited{0}, other{0};
  std::vector<std::thread> streams;
  for (int n = 0; n < 24; ++n) {
    streams.emplace_back([&, n] {
      std::unique_ptr<tvault::v1::Vault::Stub> stub = vault_->Stub();
      grpc::ClientContext context;
      client::AuthorizeCall(context, sessions[n % 6]);
      tvault::v1::UploadResponse response;
      auto writer = stub->Upload(&context, &response);
      grpc::Status st = writer->Finish();
      if (st.error_code() == grpc::StatusCode::RESOURCE_EXHAUSTED &&
          st.error_message().find("your key already has 8") !=
              std::string::npos) {
        ++past_key_cap;
      } else if (st.error_code() == grpc::StatusCode::DEADLINE_EXCEEDED) {
        ++waited;
      } else {
        ++other;
        ADD_FAILURE() << st.error_code() << ": " << st.error_message();
      }
    });
  }
  // While mallory's 8 wait, alice (another key) starts an upload: it is
  // not refused for want of a stream (it ends for want of a start).
  std::this_thread::sleep_for(std::chrono::milliseconds(1000));
  {
    grpc::ClientContext context;
    client::AuthorizeCall(context, alice_token);
    tvault::v1::UploadResponse response;
    std::unique_ptr<tvault::v1::Vault::Stub> stub = vault_->Stub();
    auto writer = stub->Upload(&context, &response);
    writer->WritesDone();
    grpc::Status st = writer->Finish();
    EXPECT_EQ(st.error_code(), grpc::StatusCode::INVALID_ARGUMENT)
        << st.error_message();
  }
  for (std::thread& t : streams) t.join();
  EXPECT_EQ(waited.load(), 8);
  EXPECT_EQ(past_key_cap.load(), 16);
  EXPECT_EQ(other.load(), 0);
}

}  // namespace
}  // namespace tvault::vault
