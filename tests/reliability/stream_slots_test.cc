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

TEST(StreamSlotsTest, CapsStreamsPerSessionAndInAll) {
  StreamSlots slots(/*max_streams=*/5, /*max_per_session=*/2);
  const SessionTokenHash a = Token(1), b = Token(2), c = Token(3);
  std::vector<StreamSlots::Slot> held;
  for (int i = 0; i < 2; ++i) held.push_back(*slots.Acquire(&a));
  absl::StatusOr<StreamSlots::Slot> third = slots.Acquire(&a);
  EXPECT_EQ(third.status().code(), absl::StatusCode::kResourceExhausted);
  EXPECT_NE(third.status().message().find("this session"),
            absl::string_view::npos);
  for (int i = 0; i < 2; ++i) held.push_back(*slots.Acquire(&b));
  held.push_back(*slots.Acquire(nullptr));
  EXPECT_EQ(slots.running(), 5);
  absl::StatusOr<StreamSlots::Slot> full = slots.Acquire(&c);
  EXPECT_EQ(full.status().code(), absl::StatusCode::kResourceExhausted);
  held.pop_back();
  EXPECT_TRUE(slots.Acquire(&c).ok());  // given back at once
  held.clear();
  EXPECT_EQ(slots.running(), 0);
  for (int i = 0; i < 2; ++i) held.push_back(*slots.Acquire(&a));
}

class StreamFloodTest : public testing::ServeTest {
 protected:
  void SetUp() override { StartVault("call_deadline_seconds = 5\n"); }
};

TEST_F(StreamFloodTest, IdleStreamsOfManySessionsLeaveSmallCallsServed) {
  const std::unique_ptr<testing::Account> mallory =
      testing::LiveAccount(root_, "mallory");
  const std::unique_ptr<testing::Account> alice =
      testing::LiveAccount(root_, "alice");
  ASSERT_FALSE(Join(*mallory).empty());
  const std::string alice_token = Join(*alice);
  // 16 sessions of mallory, 8 connections, 160 Upload streams that send
  // nothing: more than the 64 server threads, were they all to wait.
  std::vector<std::string> sessions;
  for (int i = 0; i < 16; ++i) {
    absl::StatusOr<std::string> t =
        testing::SignIn(*stub_, vault_->pin(), mallory->sign);
    ASSERT_TRUE(t.ok()) << t.status();
    sessions.push_back(*t);
  }
  std::atomic<int> refused{0}, other{0};
  std::vector<std::thread> flood;
  for (int c = 0; c < 8; ++c) {
    flood.emplace_back([&, c] {
      std::unique_ptr<tvault::v1::Vault::Stub> stub = vault_->Stub();
      std::vector<std::thread> streams;
      for (int s = 0; s < 20; ++s) {
        streams.emplace_back([&, c, s] {
          grpc::ClientContext context;
          client::AuthorizeCall(context, sessions[(c * 20 + s) % 16]);
          tvault::v1::UploadResponse response;
          auto writer = stub->Upload(&context, &response);
          grpc::Status st = writer->Finish();
          (st.error_code() == grpc::StatusCode::RESOURCE_EXHAUSTED ? refused
                                                                   : other)++;
        });
      }
      for (std::thread& t : streams) t.join();
    });
  }
  // While the streams wait, alice's small calls go through, quickly.
  std::this_thread::sleep_for(std::chrono::milliseconds(1000));
  std::unique_ptr<tvault::v1::Vault::Stub> mine = vault_->Stub();
  for (int i = 0; i < 10; ++i) {
    const auto start = std::chrono::steady_clock::now();
    grpc::ClientContext context;
    client::AuthorizeCall(context, alice_token);
    tvault::v1::SignedCheckpoint checkpoint;
    grpc::Status s = mine->GetCheckpoint(&context, {}, &checkpoint);
    EXPECT_TRUE(s.ok()) << s.error_message();
    EXPECT_LT(std::chrono::steady_clock::now() - start,
              std::chrono::seconds(2));
    std::this_thread::sleep_for(std::chrono::milliseconds(200));
  }
  for (std::thread& t : flood) t.join();
  // Past the caps, streams were refused at once; the others ran out their
  // wait.
  EXPECT_GE(refused.load(), 160 - kMaxConcurrentStreams);
  EXPECT_LE(other.load(), kMaxConcurrentStreams);
}

}  // namespace
}  // namespace tvault::vault
