// tvault_abuse: protocol abuse against a real tvaultd from a separate
// process (issue 8, "Protocol abuse"), while a well-behaved client keeps
// making small calls.
//
// The abuse comes in phases, one after the other, each for an equal share
// of --duration:
//   baseline             nothing, to measure the well-behaved client alone
//   garbage              connections that send random bytes, and TLS
//                        handshakes started and left half-way (held open)
//   idle                 TCP connections and completed TLS 1.3 handshakes
//                        that then say nothing (held open)
//   oversized            messages past max_message_bytes (unary and
//                        stream) and request metadata past
//                        max_metadata_bytes
//   streams              many concurrent Upload streams on several
//                        connections and 24 sessions of one key, opened
//                        and left waiting, while another key uploads
//   slow senders         uploads that send one byte per second, each
//                        message just within the call deadline
//   auth                 replayed sign-in challenges, made-up session
//                        tokens, invite guessing (sign-ins with random
//                        keys), a session's own flood and a flood without
//                        a session
// and, last, a session older than session_ttl_seconds is used again.
//
// The well-behaved client (alice, her own connection and session) calls
// GetCheckpoint every 200 ms throughout, renews her session as a real
// client would, and every tenth time a newcomer makes a first call on a
// fresh connection. --server-nofile lowers tvaultd's open-file limit once
// it has started (as a service manager's default might), to measure what
// an exhausted limit does. Violations: any of its calls
// failing, or taking longer than --bound-ms; any abuse that is accepted
// (an oversized message, a replayed challenge, a made-up token, a guessed
// invite, an expired session); tvaultd dying; its memory above
// --max-rss-mib. Figures per phase: the client's calls, failures and
// latencies (p50, p99, max), the server's RSS and open descriptors, what
// each abuse met (status codes, connections the server closed).
#include <arpa/inet.h>
#include <netinet/in.h>
#include <openssl/ssl.h>
#include <poll.h>
#include <sodium.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include <CLI/CLI.hpp>
#include <algorithm>
#include <atomic>
#include <chrono>
#include <filesystem>
#include <iostream>
#include <map>
#include <random>
#include <string>
#include <thread>
#include <vector>

#include "absl/strings/escaping.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "client/vault_auth.h"
#include "client/vault_channel.h"
#include "tests/reliability/reliability_support.h"

namespace tvault::reliability {
namespace {

namespace fs = std::filesystem;
using crypto::trust_testing::Str;
using Clock = std::chrono::steady_clock;
using tvault::v1::Vault;
using vault::testing::kMiB;
using vault::testing::NewRecordId;

constexpr int kCallDeadlineSeconds = 3;

// The phases, in order.
constexpr const char* kPhases[] = {"baseline",  "garbage", "idle",
                                   "oversized", "streams", "slow senders",
                                   "auth"};

struct PhaseFigures {
  std::vector<double> latencies_ms;
  int64_t failures = 0;
  int64_t slow = 0;
  int64_t max_rss_kib = 0;
  int64_t max_fds = 0;
};

int64_t OpenDescriptors(pid_t pid) {
  std::error_code ec;
  int64_t n = 0;
  for (auto it = fs::directory_iterator(absl::StrCat("/proc/", pid, "/fd"), ec);
       !ec && it != fs::directory_iterator(); it.increment(ec)) {
    ++n;
  }
  return n;
}

// A TCP connection to 127.0.0.1:port, or -1.
int ConnectTcp(int port) {
  const int fd = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  addr.sin_port = htons(static_cast<uint16_t>(port));
  if (fd >= 0 &&
      ::connect(fd, reinterpret_cast<sockaddr*>(&addr), sizeof addr) == 0) {
    return fd;
  }
  if (fd >= 0) ::close(fd);
  return -1;
}

// Whether the peer has closed `fd` (or reset it); never blocks.
bool ClosedByPeer(int fd) {
  pollfd p{fd, POLLIN, 0};
  if (::poll(&p, 1, 0) <= 0) return false;
  if (p.revents & (POLLHUP | POLLERR)) return true;
  char buf[4096];
  const ssize_t n = ::recv(fd, buf, sizeof buf, MSG_DONTWAIT);
  return n == 0 || (n < 0 && errno != EAGAIN && errno != EWOULDBLOCK);
}

class AbuseCampaign {
 public:
  AbuseCampaign(const DriverOptions& options, int bound_ms, int max_rss_mib,
                int server_nofile, int streams_per_key)
      : options_(options),
        bound_ms_(bound_ms),
        max_rss_mib_(max_rss_mib),
        server_nofile_(server_nofile),
        streams_per_key_(streams_per_key),
        report_("tvault_abuse"),
        rng_(options.seed),
        // Short enough that the run sees a session expire; at least the
        // vault's minimum (60 s).
        session_ttl_seconds_(std::clamp(
            static_cast<int>(options.duration_seconds * 0.9), 60, 3600)) {}
  int Run();

 private:
  void WellBehavedClient();
  void Sampler();
  void Garbage(Clock::time_point end);
  void Idle(Clock::time_point end);
  void Oversized(Clock::time_point end);
  void Streams(Clock::time_point end);
  void SlowSenders(Clock::time_point end);
  void Auth(Clock::time_point end);
  void ExpiredSession();
  // Counts `s` under "abuse: WHAT: CODE"; a violation if it is OK and
  // `must_fail`.
  void Outcome(const std::string& what, const grpc::Status& s,
               bool must_fail = true);
  std::unique_ptr<Vault::Stub> NewStub() {
    return Vault::NewStub(client::ConnectToVault(scene_->process().address(),
                                                 scene_->process().pin()));
  }
  int port() const {
    const std::string& a = scene_->process().address();
    int p = 0;
    (void)absl::SimpleAtoi(a.substr(a.rfind(':') + 1), &p);
    return p;
  }

  const DriverOptions options_;
  const int bound_ms_;
  const int max_rss_mib_;
  const int server_nofile_;    // 0: as inherited
  const int streams_per_key_;  // 0: the vault's default
  Report report_;
  std::mt19937_64 rng_;
  const int session_ttl_seconds_;
  std::unique_ptr<VaultScene> scene_;
  std::atomic<int> phase_{0};
  std::atomic<bool> done_{false};
  Mutex mu_;
  std::vector<PhaseFigures> figures_ ABSL_GUARDED_BY(mu_) =
      std::vector<PhaseFigures>(std::size(kPhases));
  // Connections the abuse leaves open, watched until the end of the run:
  // when the server closed each (or never).
  struct Held {
    int fd = -1;
    std::string kind;
    Clock::time_point opened;
    double closed_after_s = -1;  // -1: still open
  };
  std::vector<Held> held_ ABSL_GUARDED_BY(mu_);
  void Hold(int fd, const std::string& kind) {
    MutexLock lock(mu_);
    held_.push_back({fd, kind, Clock::now(), -1});
  }
  void ReportHeld();
  std::string old_session_;  // erin's first session, to expire
  Clock::time_point old_session_made_;
};

void AbuseCampaign::Outcome(const std::string& what, const grpc::Status& s,
                            bool must_fail) {
  report_.Count(absl::StrCat("abuse: ", what, ": ", CodeName(s.error_code())));
  if (must_fail && s.ok()) {
    report_.Violation(absl::StrCat("abuse accepted: ", what));
  }
}

void AbuseCampaign::WellBehavedClient() {
  // Her own connection, made before any abuse.
  std::unique_ptr<Vault::Stub> stub = NewStub();
  const RecordsCase& c = scene_->records_case();
  std::string token = c.alice_token();
  std::string next_token;  // signed in, not yet used
  Clock::time_point signed_in = Clock::now();
  int iteration = 0;
  const auto checkpoint_call = [&](const std::string& t) {
    grpc::ClientContext context;
    context.set_deadline(std::chrono::system_clock::now() +
                         std::chrono::seconds(30));
    client::AuthorizeCall(context, t);
    tvault::v1::SignedCheckpoint checkpoint;
    return stub->GetCheckpoint(&context, {}, &checkpoint);
  };
  const auto is_pool_exhausted = [](const grpc::Status& s) {
    return s.error_code() == grpc::StatusCode::RESOURCE_EXHAUSTED &&
           s.error_message() == "Server Threadpool Exhausted";
  };
  while (!done_) {
    const Clock::time_point start = Clock::now();
    const int phase = phase_;
    // As a real client would: a new session well before the old one ends
    // (sessions last session_ttl_seconds_ here), taken into use once its
    // first call is admitted. Sign-ins and a new session's first call
    // share the budget of calls without a session (vault/rate_limiter.h),
    // which the auth phase floods; the old session goes on meanwhile.
    if (next_token.empty() &&
        start - signed_in > std::chrono::seconds(session_ttl_seconds_ / 3)) {
      absl::StatusOr<std::string> renewed = vault::testing::SignIn(
          *stub, scene_->process().pin(), c.alice().sign);
      if (renewed.ok()) {
        next_token = *renewed;
        signed_in = Clock::now();
      } else {
        report_.Count(absl::StrCat("client: sign-in refused (",
                                   CodeName(renewed.status().code()),
                                   ") during '", kPhases[phase], "'"));
      }
    }
    if (!next_token.empty()) {
      grpc::Status first = checkpoint_call(next_token);
      if (first.ok()) {
        token = next_token;
        next_token.clear();
        report_.Count("client: sessions renewed and taken into use");
      } else {
        report_.Count(absl::StrCat(
            "client: a new session's first call "
            "refused (",
            CodeName(first.error_code()), ") during '", kPhases[phase], "'"));
      }
    }
    // gRPC 1.51's synchronous server refuses a call at once when all its
    // threads are busy ("Server Threadpool Exhausted") instead of queueing
    // it; the client tries again, within the bound.
    grpc::Status s = checkpoint_call(token);
    for (int retry = 0; retry < 3 && is_pool_exhausted(s); ++retry) {
      report_.Count(
          absl::StrCat("client: attempts refused, Server "
                       "Threadpool Exhausted, during '",
                       kPhases[phase], "'"));
      std::this_thread::sleep_for(std::chrono::milliseconds(100));
      s = checkpoint_call(token);
    }
    // Every tenth time, a newcomer: a fresh connection's first call.
    grpc::Status fresh = grpc::Status::OK;
    if (++iteration % 10 == 0) {
      for (int attempt = 0; attempt < 4; ++attempt) {
        std::unique_ptr<Vault::Stub> newcomer = NewStub();
        grpc::ClientContext info_context;
        info_context.set_deadline(std::chrono::system_clock::now() +
                                  std::chrono::seconds(30));
        tvault::v1::ServerInfo info;
        fresh = newcomer->GetServerInfo(&info_context, {}, &info);
        report_.Count(absl::StrCat("client: calls on a fresh connection: ",
                                   CodeName(fresh.error_code())));
        if (!is_pool_exhausted(fresh)) break;
        std::this_thread::sleep_for(std::chrono::milliseconds(100));
      }
    }
    const double ms =
        std::chrono::duration<double, std::milli>(Clock::now() - start).count();
    {
      MutexLock lock(mu_);
      PhaseFigures& f = figures_[phase];
      f.latencies_ms.push_back(ms);
      if (!s.ok() || !fresh.ok()) ++f.failures;
      if (ms > bound_ms_) ++f.slow;
    }
    if (!s.ok() || !fresh.ok()) {
      const grpc::Status& bad = s.ok() ? fresh : s;
      report_.Violation(absl::StrCat("the well-behaved client's call",
                                     s.ok() ? " on a fresh connection" : "",
                                     " failed during '", kPhases[phase],
                                     "': ", CodeName(bad.error_code()), ": ",
                                     bad.error_message()));
    } else if (ms > bound_ms_) {
      report_.Violation(absl::StrFormat(
          "the well-behaved client waited %.0f ms (bound %d) during '%s'", ms,
          bound_ms_, kPhases[phase]));
    }
    std::this_thread::sleep_until(start + std::chrono::milliseconds(200));
  }
}

void AbuseCampaign::Sampler() {
  const pid_t pid = scene_->process().pid();
  while (!done_) {
    const ProcessMemory m = ReadProcessMemory(pid);
    const int64_t fds = OpenDescriptors(pid);
    {
      MutexLock lock(mu_);
      for (Held& h : held_) {
        if (h.closed_after_s < 0 && ClosedByPeer(h.fd)) {
          h.closed_after_s =
              std::chrono::duration<double>(Clock::now() - h.opened).count();
        }
      }
      PhaseFigures& f = figures_[phase_];
      f.max_rss_kib = std::max(f.max_rss_kib, m.rss_kib);
      f.max_fds = std::max(f.max_fds, fds);
    }
    if (m.rss_kib > int64_t{max_rss_mib_} * 1024) {
      report_.Violation(absl::StrCat("tvaultd's RSS reached ", m.rss_kib / 1024,
                                     " MiB (bound ", max_rss_mib_, ")"));
      return;
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(250));
  }
}

void AbuseCampaign::Garbage(Clock::time_point end) {
  int64_t sent = 0, closed_at_once = 0, half = 0;
  std::mt19937_64 rng(rng_());
  while (Clock::now() < end) {
    // Random bytes, then see whether the server hangs up within a second.
    const int fd = ConnectTcp(port());
    if (fd < 0) {
      report_.Count("abuse: garbage: connect refused");
      std::this_thread::sleep_for(std::chrono::milliseconds(50));
      continue;
    }
    std::string junk(1 + rng() % 4096, '\0');
    for (char& ch : junk) ch = static_cast<char>(rng());
    (void)::send(fd, junk.data(), junk.size(), MSG_NOSIGNAL);
    ++sent;
    bool closed = false;
    for (int i = 0; i < 20 && !closed; ++i) {
      std::this_thread::sleep_for(std::chrono::milliseconds(50));
      closed = ClosedByPeer(fd);
    }
    if (closed) ++closed_at_once;
    ::close(fd);
    // A TLS record header that announces a ClientHello, and only part of
    // it, left open (watched until the end of the run).
    if (half < 200) {
      const int h = ConnectTcp(port());
      if (h >= 0) {
        std::string hello = {0x16, 0x03, 0x01,       0x02, 0x00, 0x01,
                             0x00, 0x01, char(0xfc), 0x03, 0x03};
        hello.append(40, '\x5a');
        (void)::send(h, hello.data(), hello.size(), MSG_NOSIGNAL);
        Hold(h, "half TLS handshakes");
        ++half;
      }
    }
  }
  report_.Count("abuse: garbage: connections sent random bytes", sent);
  report_.Count("abuse: garbage: of those, closed by the server within 1 s",
                closed_at_once);
}

void AbuseCampaign::Idle(Clock::time_point end) {
  for (int i = 0; i < 300; ++i) {
    const int fd = ConnectTcp(port());
    if (fd >= 0) Hold(fd, "idle TCP connections");
  }
  // Completed TLS 1.3 handshakes (ALPN h2), then silence.
  SSL_CTX* ctx = SSL_CTX_new(TLS_client_method());
  SSL_CTX_set_min_proto_version(ctx, TLS1_3_VERSION);
  SSL_CTX_set_verify(ctx, SSL_VERIFY_NONE, nullptr);
  static const unsigned char kAlpn[] = {2, 'h', '2'};
  SSL_CTX_set_alpn_protos(ctx, kAlpn, sizeof kAlpn);
  for (int i = 0; i < 50; ++i) {
    const int fd = ConnectTcp(port());
    if (fd < 0) continue;
    // A server that no longer accepts leaves the handshake unanswered.
    const timeval wait{5, 0};
    ::setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &wait, sizeof wait);
    SSL* ssl = SSL_new(ctx);
    SSL_set_fd(ssl, fd);
    if (SSL_connect(ssl) == 1) {
      Hold(fd, "idle TLS 1.3 connections (handshake done)");
    } else {
      report_.Count("abuse: idle TLS handshakes that failed");
      ::close(fd);
    }
    SSL_free(ssl);  // the descriptor stays open, silent
  }
  SSL_CTX_free(ctx);
  std::this_thread::sleep_until(end);
}

void AbuseCampaign::ReportHeld() {
  MutexLock lock(mu_);
  std::map<std::string, std::vector<double>> by_kind;
  for (const Held& h : held_) {
    by_kind[h.kind].push_back(h.closed_after_s);
    ::close(h.fd);
  }
  for (auto& [kind, closed] : by_kind) {
    std::sort(closed.begin(), closed.end());
    const auto first_closed = std::find_if(closed.begin(), closed.end(),
                                           [](double d) { return d >= 0; });
    const int64_t n_closed = closed.end() - first_closed;
    report_.Note(absl::StrFormat(
        "held %s: %d, closed by the server %d (after %.1f to %.1f s), still "
        "open at the end %d",
        kind, closed.size(), n_closed, n_closed ? *first_closed : 0.0,
        n_closed ? closed.back() : 0.0,
        static_cast<int64_t>(closed.size()) - n_closed));
  }
  held_.clear();
}

void AbuseCampaign::Oversized(Clock::time_point end) {
  const RecordsCase& c = scene_->records_case();
  std::unique_ptr<Vault::Stub> stub = NewStub();
  while (Clock::now() < end) {
    {
      // A unary request of 1.5 MiB (the limit is 1,114,112 bytes).
      tvault::v1::GetCertificatesRequest request;
      for (int i = 0; i < 3000; ++i)
        request.add_cert_fingerprints(std::string(512, 'f'));
      tvault::v1::GetCertificatesResponse response;
      grpc::ClientContext context;
      client::AuthorizeCall(context, c.erin_token());
      Outcome("unary message of 1.5 MiB",
              stub->GetCertificates(&context, request, &response));
    }
    {
      // An upload data message of 2 MiB.
      grpc::ClientContext context;
      client::AuthorizeCall(context, c.dave_token());
      tvault::v1::UploadResponse response;
      auto writer = stub->Upload(&context, &response);
      tvault::v1::UploadRequest first;
      const vault::testing::RecordId id = NewRecordId();
      std::string file(3 * kMiB, 'x');
      *first.mutable_start() =
          vault::testing::UploadStartFor(c.case_id(), id, file);
      writer->Write(first);
      tvault::v1::UploadRequest data;
      data.set_data(file.substr(0, 2 * kMiB));
      writer->Write(data);
      writer->WritesDone();
      Outcome("upload message of 2 MiB", writer->Finish());
    }
    {
      // 40 KiB of request metadata (the limit is 16 KiB).
      grpc::ClientContext context;
      client::AuthorizeCall(context, c.erin_token());
      context.AddMetadata("x-padding", std::string(40 * 1024, 'p'));
      tvault::v1::SignedCheckpoint checkpoint;
      Outcome("40 KiB of metadata",
              stub->GetCheckpoint(&context, {}, &checkpoint));
    }
  }
}

void AbuseCampaign::Streams(Clock::time_point end) {
  // Erin signs in 24 times; 8 connections, 40 Upload streams each (the
  // server allows 32 at once on one connection), spread over her
  // sessions, opened with nothing sent: each waits until the vault's call
  // deadline ends it, and is opened again. Without the cap per key, 24
  // sessions x 4 streams would hold all 96 of the vault's streams;
  // meanwhile alice (another key) uploads a record every 2 seconds, which
  // must be served.
  constexpr int kConnections = 8, kStreamsEach = 40, kSessions = 24;
  const RecordsCase& c = scene_->records_case();
  std::vector<std::string> tokens = {c.erin_token()};
  while (static_cast<int>(tokens.size()) < kSessions) {
    absl::StatusOr<std::string> token = vault::testing::SignIn(
        scene_->stub(), scene_->process().pin(), c.erin().sign);
    if (!token.ok()) {
      report_.Violation(
          absl::StrCat("erin cannot sign in: ", token.status().message()));
      return;
    }
    tokens.push_back(*token);
  }
  std::vector<std::thread> threads;
  for (int n = 0; n < kConnections; ++n) {
    threads.emplace_back([&, n] {
      std::unique_ptr<Vault::Stub> stub = NewStub();
      std::vector<std::thread> streams;
      for (int k = 0; k < kStreamsEach; ++k) {
        streams.emplace_back([&, n, k] {
          const std::string& token = tokens[(n * kStreamsEach + k) % kSessions];
          while (Clock::now() < end) {
            grpc::ClientContext context;
            context.set_deadline(std::chrono::system_clock::now() +
                                 std::chrono::seconds(20));
            client::AuthorizeCall(context, token);
            tvault::v1::UploadResponse response;
            auto writer = stub->Upload(&context, &response);
            grpc::Status st = writer->Finish();
            Outcome(st.error_message().find("your key") != std::string::npos
                        ? "idle Upload stream (nothing sent), past the key's "
                          "cap"
                        : "idle Upload stream (nothing sent)",
                    st);
          }
        });
      }
      for (std::thread& t : streams) t.join();
    });
  }
  threads.emplace_back([&] {
    std::unique_ptr<Vault::Stub> stub = NewStub();
    std::this_thread::sleep_for(std::chrono::seconds(1));
    while (Clock::now() + std::chrono::seconds(2) < end) {
      const vault::testing::RecordId id = NewRecordId();
      absl::StatusOr<std::string> file =
          c.MakeRecord(c.alice(), id, "an upload beside the idle streams");
      grpc::Status st =
          file.ok() ? vault::testing::UploadRecord(*stub, c.alice_token(),
                                                   c.case_id(), id, *file)
                    : grpc::Status(grpc::StatusCode::INTERNAL, "no record");
      report_.Count(absl::StrCat("client: uploads beside the idle streams: ",
                                 CodeName(st.error_code())));
      if (!st.ok()) {
        report_.Violation(absl::StrCat(
            "the well-behaved client's upload failed during 'streams': ",
            CodeName(st.error_code()), ": ", st.error_message()));
      }
      std::this_thread::sleep_for(std::chrono::seconds(2));
    }
  });
  for (std::thread& t : threads) t.join();
}

void AbuseCampaign::SlowSenders(Clock::time_point end) {
  // Bob (a member of the case, entitled to upload; dave's unfinished
  // uploads from the oversized phase already fill his allowance) in a
  // second session, 16 uploads at once, each sending one byte a second;
  // the vault allows him max_pending_uploads (4) unfinished uploads, and a
  // session 4 streams at once.
  const RecordsCase& c = scene_->records_case();
  absl::StatusOr<std::string> token = vault::testing::SignIn(
      scene_->stub(), scene_->process().pin(), c.bob().sign);
  if (!token.ok()) {
    report_.Violation(
        absl::StrCat("bob cannot sign in: ", token.status().message()));
    return;
  }
  std::vector<std::thread> threads;
  for (int i = 0; i < 16; ++i) {
    threads.emplace_back([&] {
      std::unique_ptr<Vault::Stub> stub = NewStub();
      while (Clock::now() < end) {
        grpc::ClientContext context;
        client::AuthorizeCall(context, *token);
        tvault::v1::UploadResponse response;
        auto writer = stub->Upload(&context, &response);
        tvault::v1::UploadRequest first;
        std::string file(100000, 's');
        *first.mutable_start() =
            vault::testing::UploadStartFor(c.case_id(), NewRecordId(), file);
        bool open = writer->Write(first);
        int64_t bytes = 0;
        while (open && Clock::now() < end) {
          std::this_thread::sleep_for(std::chrono::seconds(1));
          tvault::v1::UploadRequest data;
          data.set_data("s");
          open = writer->Write(data);
          if (open) ++bytes;
        }
        report_.Count("abuse: slow sender: bytes trickled", bytes);
        // Still sending at the phase's end: give up; otherwise the vault
        // ended the stream, and Finish says how.
        if (open) context.TryCancel();
        grpc::Status s = writer->Finish();
        Outcome("slow upload (1 byte/s)", s, /*must_fail=*/false);
      }
    });
  }
  for (std::thread& t : threads) t.join();
}

void AbuseCampaign::Auth(Clock::time_point end) {
  const RecordsCase& c = scene_->records_case();
  std::unique_ptr<Vault::Stub> stub = NewStub();
  const crypto::TlsKeyPin& pin = scene_->process().pin();
  std::mt19937_64 rng(rng_());
  while (Clock::now() < end) {
    {
      // A sign-in challenge used twice.
      absl::StatusOr<tvault::v1::SignedStatement> challenge =
          vault::testing::SignVaultChallenge(*stub, c.erin().sign, pin);
      if (challenge.ok()) {
        for (int use = 0; use < 2; ++use) {
          tvault::v1::SignInRequest request;
          *request.mutable_challenge() = *challenge;
          tvault::v1::Session session;
          grpc::ClientContext context;
          grpc::Status s = stub->SignIn(&context, request, &session);
          if (use == 0) {
            Outcome("first use of a challenge", s, /*must_fail=*/false);
          } else {
            Outcome("replayed challenge", s);
          }
        }
      } else {
        report_.Count(absl::StrCat("abuse: GetChallenge: ",
                                   CodeName(challenge.status().code())));
      }
    }
    {
      // A made-up session token.
      std::string token(32, '\0');
      randombytes_buf(token.data(), token.size());
      grpc::ClientContext context;
      client::AuthorizeCall(context, absl::BytesToHexString(token));
      tvault::v1::SignedCheckpoint checkpoint;
      Outcome("made-up session token",
              stub->GetCheckpoint(&context, {}, &checkpoint));
    }
    {
      // Invite guessing: a sign-in with a random key, as if it were an
      // invite's.
      const crypto::SigningKey guess = crypto::SigningKey::Generate();
      absl::StatusOr<tvault::v1::Session> session =
          client::SignInToVault(*stub, guess, pin);
      grpc::Status s =
          session.ok()
              ? grpc::Status::OK
              : grpc::Status(
                    static_cast<grpc::StatusCode>(session.status().code()), "");
      Outcome("invite guess (sign-in with a random key)", s);
    }
    {
      // Erin's own flood (an account in no case).
      for (int i = 0; i < 20; ++i) {
        grpc::ClientContext context;
        client::AuthorizeCall(context, c.erin_token());
        tvault::v1::SignedCheckpoint checkpoint;
        Outcome("one session's flood",
                stub->GetCheckpoint(&context, {}, &checkpoint),
                /*must_fail=*/false);
      }
    }
  }
}

void AbuseCampaign::ExpiredSession() {
  const auto age = Clock::now() - old_session_made_;
  if (age < std::chrono::seconds(session_ttl_seconds_ + 2)) {
    std::this_thread::sleep_until(
        old_session_made_ + std::chrono::seconds(session_ttl_seconds_ + 2));
  }
  std::unique_ptr<Vault::Stub> stub = NewStub();
  // An unknown (or long idle) token is first charged to the budget without
  // a session, which the auth phase may just have emptied: ask again.
  grpc::Status s;
  for (int attempt = 0; attempt < 40; ++attempt) {
    grpc::ClientContext context;
    client::AuthorizeCall(context, old_session_);
    tvault::v1::SignedCheckpoint checkpoint;
    s = stub->GetCheckpoint(&context, {}, &checkpoint);
    if (s.error_code() != grpc::StatusCode::RESOURCE_EXHAUSTED) break;
    std::this_thread::sleep_for(std::chrono::milliseconds(500));
  }
  Outcome("session used after session_ttl_seconds", s);
  if (s.error_code() != grpc::StatusCode::UNAUTHENTICATED) {
    report_.Violation(absl::StrCat("an expired session got ",
                                   CodeName(s.error_code()),
                                   ", not UNAUTHENTICATED"));
  }
}

int AbuseCampaign::Run() {
  const Clock::time_point start = Clock::now();
  std::cout << "tvault_abuse: seed " << options_.seed << ", duration "
            << options_.duration_seconds << " s" << std::endl;
  absl::StatusOr<std::unique_ptr<VaultScene>> scene =
      VaultScene::Create(absl::StrCat(
          "call_deadline_seconds = ", kCallDeadlineSeconds,
          "\nsession_ttl_seconds = ", session_ttl_seconds_, "\n",
          streams_per_key_ > 0 ? absl::StrCat("max_streams_per_identity = ",
                                              streams_per_key_, "\n")
                               : ""));
  if (!scene.ok()) {
    report_.Violation(
        absl::StrCat("cannot set up the vault: ", scene.status().message()));
    return report_.Finish(Clock::now() - start);
  }
  scene_ = *std::move(scene);
  absl::StatusOr<std::string> old =
      vault::testing::SignIn(scene_->stub(), scene_->process().pin(),
                             scene_->records_case().erin().sign);
  if (!old.ok()) {
    report_.Violation("erin cannot sign in");
    return report_.Finish(Clock::now() - start);
  }
  old_session_ = *old;
  old_session_made_ = Clock::now();
  const pid_t pid = scene_->process().pid();
  if (server_nofile_ > 0) {
    // As a service manager might set it (systemd's default soft limit is
    // 1024).
    const rlimit files{static_cast<rlim_t>(server_nofile_),
                       static_cast<rlim_t>(server_nofile_)};
    if (::prlimit(pid, RLIMIT_NOFILE, &files, nullptr) != 0) {
      report_.Violation("cannot set tvaultd's RLIMIT_NOFILE");
    }
  }
  rlimit files{};
  ::prlimit(pid, RLIMIT_NOFILE, nullptr, &files);
  report_.Set("server RLIMIT_NOFILE (soft)",
              static_cast<int64_t>(files.rlim_cur));
  report_.Set("server RSS at start, KiB", ReadProcessMemory(pid).rss_kib);
  report_.Set("server descriptors at start", OpenDescriptors(pid));

  std::thread client([this] { WellBehavedClient(); });
  std::thread sampler([this] { Sampler(); });
  const auto share = std::chrono::milliseconds(static_cast<int64_t>(
      options_.duration_seconds * 1000 / std::size(kPhases)));
  for (size_t p = 0; p < std::size(kPhases); ++p) {
    phase_ = static_cast<int>(p);
    const Clock::time_point end = Clock::now() + share;
    std::cout << "phase " << kPhases[p] << std::endl;
    switch (p) {
      case 0:
        std::this_thread::sleep_until(end);
        break;
      case 1:
        Garbage(end);
        break;
      case 2:
        Idle(end);
        break;
      case 3:
        Oversized(end);
        break;
      case 4:
        Streams(end);
        break;
      case 5:
        SlowSenders(end);
        break;
      case 6:
        Auth(end);
        break;
    }
    int status = 0;
    if (::waitpid(pid, &status, WNOHANG) == pid) {
      report_.Violation(absl::StrCat("tvaultd exited during '", kPhases[p],
                                     "' (wait status ", status, ")"));
      done_ = true;
      break;
    }
  }
  done_ = true;
  client.join();
  sampler.join();
  ReportHeld();
  if (::kill(pid, 0) == 0) ExpiredSession();
  {
    MutexLock lock(mu_);
    for (size_t p = 0; p < std::size(kPhases); ++p) {
      PhaseFigures& f = figures_[p];
      std::sort(f.latencies_ms.begin(), f.latencies_ms.end());
      const auto at = [&](double q) {
        return f.latencies_ms.empty()
                   ? 0.0
                   : f.latencies_ms[std::min(
                         f.latencies_ms.size() - 1,
                         static_cast<size_t>(
                             q * static_cast<double>(f.latencies_ms.size())))];
      };
      report_.Note(absl::StrFormat(
          "phase %-13s client calls %4d, failed %d, over bound %d; latency "
          "ms p50 %.1f p99 %.1f max %.1f; server RSS max %d MiB, fds max %d",
          kPhases[p], f.latencies_ms.size(), f.failures, f.slow, at(0.5),
          at(0.99), f.latencies_ms.empty() ? 0.0 : f.latencies_ms.back(),
          f.max_rss_kib / 1024, f.max_fds));
    }
  }
  if (::kill(pid, 0) == 0) {
    report_.Set("server descriptors at end", OpenDescriptors(pid));
    StopAndCheckDatabase(*scene_, report_);
  }
  return report_.Finish(Clock::now() - start);
}

}  // namespace
}  // namespace tvault::reliability

int main(int argc, char** argv) {
  CLI::App app{
      "tvault_abuse: abuse a real tvaultd's protocol (garbage, idle and "
      "half-open connections, oversized messages, many streams, slow "
      "senders, replayed challenges, made-up tokens, invite guessing, "
      "expired sessions) while a well-behaved client must keep being "
      "served"};
  tvault::reliability::DriverOptions options;
  tvault::reliability::AddDriverOptions(app, options, 70);
  int bound_ms = 2000;
  int max_rss_mib = 1024;
  app.add_option("--bound-ms", bound_ms,
                 "Longest the well-behaved client may wait for a call")
      ->capture_default_str();
  app.add_option("--max-rss-mib", max_rss_mib, "Largest tvaultd RSS allowed")
      ->capture_default_str();
  int server_nofile = 0;
  app.add_option("--server-nofile", server_nofile,
                 "Set tvaultd's open-file limit (RLIMIT_NOFILE) to this once "
                 "started (0: as inherited)");
  int streams_per_key = 0;
  app.add_option("--max-streams-per-identity", streams_per_key,
                 "tvaultd's max_streams_per_identity (0: its default); 96 "
                 "shows what the cap prevents")
      ->check(CLI::Range(0, 96));
  CLI11_PARSE(app, argc, argv);
  tvault::reliability::ChooseSeed(options);
  tvault::crypto::RestrictGrpcToTls13();
  tvault::reliability::AbuseCampaign campaign(options, bound_ms, max_rss_mib,
                                              server_nofile, streams_per_key);
  return campaign.Run();
}
