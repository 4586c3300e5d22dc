// Uploads over TLS on loopback (issue 6), in one run:
//   1. a 1 GiB record through a real tvaultd against the same bytes
//      streamed to a raw gRPC server that only hashes them (same messages,
//      same TLS key, same process setup): MB/s and the ratio;
//   2. 10 KiB records from 16 concurrent clients: uploads/s, p50 and p99;
//   3. tvaultd's peak RSS (VmHWM) after each.
//
//   ninja -C build-bench upload_bench tvaultd
//   build-bench/bench/upload_bench [GIB=1] [SMALL_UPLOADS=2000] [CLIENTS=16]
//   build-bench/bench/upload_bench core [UPLOADS=2400] [CLIENTS=16]
//                                       [copy|nocopy]
//
// GIB=0 skips the large record (only the small-record part runs). `core`
// runs the small records through VaultCore in this process instead (no
// gRPC, TLS or client), with or without the checkpoint copy.
//
// tvaultd runs from the build tree (TVAULTD_BIN), with its data in $TMPDIR.
#include <grpcpp/grpcpp.h>
#include <openssl/evp.h>
#include <sodium.h>
#include <stdlib.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <cstdio>
#include <fstream>
#include <iterator>
#include <map>
#include <memory>
#include <sstream>
#include <string>
#include <thread>
#include <vector>

#include "absl/strings/str_cat.h"
#include "bench/raw_sink.grpc.pb.h"
#include "client/vault_auth.h"
#include "client/vault_channel.h"
#include "crypto/age.h"
#include "crypto/age_recipients.h"
#include "crypto/case_descriptor.h"
#include "crypto/certificate.h"
#include "crypto/io.h"
#include "crypto/secret_bytes.h"
#include "crypto/signed_note.h"
#include "crypto/tls_pin.h"
#include "tests/temp_dir.h"
#include "tests/vault/vault_process.h"
#include "vault/config.h"
#include "vault/sqlcipher_store.h"
#include "vault/transparency_log.h"
#include "vault/vault_core.h"

namespace tvault {
namespace {

using Clock = std::chrono::steady_clock;
constexpr size_t kMiB = 1 << 20;

double Seconds(Clock::duration d) {
  return std::chrono::duration<double>(d).count();
}

long PeakRssKiB(pid_t pid) {
  return static_cast<long>(vault::testing::ReadProcessMemory(pid).peak_kib);
}

// CPU seconds (user + system) used so far by process `pid` (0: this one).
double CpuSeconds(pid_t pid) {
  std::ifstream in(pid == 0 ? std::string("/proc/self/stat")
                            : absl::StrCat("/proc/", pid, "/stat"));
  std::string stat((std::istreambuf_iterator<char>(in)), {});
  // Fields after the command name (which may hold spaces): state is
  // field 3, utime 14 and stime 15.
  const size_t close = stat.rfind(')');
  if (close == std::string::npos) return -1;
  std::istringstream fields(stat.substr(close + 2));
  std::string field;
  double ticks = 0;
  for (int i = 3; i <= 15 && fields >> field; ++i) {
    if (i >= 14) ticks += std::atof(field.c_str());
  }
  return ticks / static_cast<double>(sysconf(_SC_CLK_TCK));
}

class RawSinkService final : public bench::RawSink::Service {
  grpc::Status Sink(grpc::ServerContext*,
                    grpc::ServerReader<v1::UploadRequest>* reader,
                    v1::UploadResponse* response) override {
    // The same SHA-256 code as tvaultd's (OpenSSL's, vault_core.cc).
    EVP_MD_CTX* sha = EVP_MD_CTX_new();
    EVP_DigestInit_ex(sha, EVP_sha256(), nullptr);
    v1::UploadRequest message;
    while (reader->Read(&message)) {
      if (message.has_data()) {
        EVP_DigestUpdate(sha, message.data().data(), message.data().size());
      }
    }
    unsigned char digest[32];
    unsigned int size = 0;
    EVP_DigestFinal_ex(sha, digest, &size);
    EVP_MD_CTX_free(sha);
    response->mutable_receipt()->set_entry(
        std::string(reinterpret_cast<char*>(digest), size));
    return grpc::Status::OK;
  }
};

// An age file of `size` bytes of plaintext to one X25519 recipient (the
// record profile's header), written to `path`.
std::string MakeAgeFile(const crypto::X25519Recipient& to, uint64_t size,
                        const std::string& path) {
  FILE* f = std::fopen(path.c_str(), "wb");
  crypto::FdSink sink(fileno(f));
  const crypto::AgeRecipient* recipients[] = {&to};
  auto enc = crypto::AgeEncryptor::Create(recipients, sink);
  std::vector<uint8_t> block(kMiB);
  randombytes_buf(block.data(), block.size());
  for (uint64_t done = 0; done < size;) {
    const size_t n = static_cast<size_t>(std::min<uint64_t>(kMiB, size - done));
    if (!(*enc)->Write({block.data(), n}).ok()) abort();
    done += n;
  }
  if (!(*enc)->Finish().ok()) abort();
  std::fclose(f);
  std::ifstream in(path, std::ios::binary);
  return std::string(std::istreambuf_iterator<char>(in), {});
}

// An upload stream of two messages: the start and the whole record.
class OneShotStream final : public vault::UploadStream {
 public:
  OneShotStream(v1::UploadRequest start, const std::string& data)
      : start_(std::move(start)), data_(data) {}
  bool Read(v1::UploadRequest& message) override {
    if (next_ == 0) {
      message = start_;
    } else if (next_ == 1) {
      message.Clear();
      message.set_data(data_);
    } else {
      return false;
    }
    ++next_;
    return true;
  }

 private:
  const v1::UploadRequest start_;
  const std::string& data_;
  int next_ = 0;
};

// `upload_bench core`: the small-record part through VaultCore directly,
// in this process (no gRPC, no TLS, no client), over the same SQLCipher
// store, with or without the checkpoint copy: what the vault's commit
// path alone allows (BENCHMARKS.md, issue 6).
int RunCore(int uploads, int client_count, bool copy) {
  testing_support::TempDir dir;
  const crypto::SecretBytes db_key = crypto::SecretBytes::Random(32);
  absl::StatusOr<std::unique_ptr<vault::SqlcipherStore>> store =
      vault::SqlcipherStore::Create(dir.File("vault.db"), db_key);
  absl::StatusOr<crypto::NoteSigner> signer =
      crypto::NoteSigner::Generate("bench.example.org/log");
  if (!store.ok() || !signer.ok()) return 1;
  vault::TransparencyLog log(std::move(*signer),
                             copy ? dir.File("checkpoint-copy") : "");
  vault::VaultConfig config;
  config.max_pending_uploads = 64;
  const crypto::SigningKey root = crypto::SigningKey::Generate();
  crypto::TlsKeyPin pin{};
  vault::VaultCore core(**store, log, root.public_key(), pin, config,
                        vault::SystemClock);

  const crypto::SigningKey key = crypto::SigningKey::Generate();
  const crypto::X25519Identity box = crypto::X25519Identity::Generate();
  v1::Certificate body;
  body.set_version(1);
  body.set_sign_pk(std::string(crypto::AsString(key.public_key())));
  body.set_box_pk(std::string(crypto::AsString(box.recipient().bytes())));
  body.add_roles(v1::REVIEWER);
  body.set_handle("bench");
  const int64_t now = std::time(nullptr);
  body.set_not_before(now - 86400);
  body.set_not_after(now + 300 * 86400);
  const v1::SignedStatement cert = *crypto::IssueCertificate(body, root);
  const crypto::VerifiedCertificate verified =
      *crypto::VerifyCertificate(cert, root.public_key());
  v1::RegisterRequest registration;
  *registration.mutable_certificate() = cert;
  *registration.mutable_challenge() =
      *client::SignAuthChallenge(core.GetChallenge()->nonce(), key, pin, now);
  if (!core.Register(registration).ok()) return 1;
  v1::SignInRequest sign_in;
  *sign_in.mutable_challenge() =
      *client::SignAuthChallenge(core.GetChallenge()->nonce(), key, pin, now);
  absl::StatusOr<v1::Session> session = core.SignIn(sign_in);
  if (!session.ok()) return 1;
  const vault::SessionTokenHash token =
      vault::SessionTokenHash::Of(crypto::AsBytes(session->token()));
  const crypto::CaseId case_id = crypto::NewCaseId();
  const crypto::X25519Identity epoch = crypto::X25519Identity::Generate();
  crypto::EpochMembership m{{verified.fingerprint}, {verified.fingerprint}, {}};
  v1::PublishDescriptorRequest publish;
  *publish.mutable_case_descriptor() =
      crypto::CreateGenesisDescriptor(case_id, epoch.recipient(), m,
                                      now + 30 * 86400, verified, key)
          ->statement;
  if (!core.PublishDescriptor(&token, publish).ok()) return 1;

  const std::string small =
      MakeAgeFile(epoch.recipient(), 65536, dir.File("small.age"));
  const std::string sha = std::string(
      crypto::AsString(crypto::ComputeSha256(crypto::AsBytes(small))));
  std::atomic<int> next{0};
  std::vector<std::vector<double>> latencies(static_cast<size_t>(client_count));
  const vault::GroupCommitStats before = core.group_commit_stats();
  const double cpu0 = CpuSeconds(0);
  const auto t0 = Clock::now();
  std::vector<std::thread> clients;
  for (int c = 0; c < client_count; ++c) {
    clients.emplace_back([&, c] {
      while (next.fetch_add(1) < uploads) {
        v1::UploadRequest start;
        std::array<uint8_t, 16> id;
        randombytes_buf(id.data(), id.size());
        start.mutable_start()->set_case_id(
            std::string(crypto::AsString(case_id)));
        start.mutable_start()->set_record_id(std::string(crypto::AsString(id)));
        start.mutable_start()->set_total_size(small.size());
        start.mutable_start()->set_sha256(sha);
        OneShotStream stream(std::move(start), small);
        const auto began = Clock::now();
        absl::StatusOr<v1::UploadResponse> r = core.Upload(&token, stream);
        if (!r.ok()) {
          std::fprintf(stderr, "upload failed: %s\n",
                       std::string(r.status().message()).c_str());
          std::abort();
        }
        latencies[static_cast<size_t>(c)].push_back(
            Seconds(Clock::now() - began) * 1000);
      }
    });
  }
  for (auto& t : clients) t.join();
  const double total = Seconds(Clock::now() - t0);
  const double cpu = CpuSeconds(0) - cpu0;
  const vault::GroupCommitStats after = core.group_commit_stats();
  std::vector<double> all;
  for (auto& l : latencies) all.insert(all.end(), l.begin(), l.end());
  std::sort(all.begin(), all.end());
  const double n = static_cast<double>(all.size());
  std::printf(
      "VaultCore in process (%zu bytes each, %d clients, checkpoint copy "
      "%s): %.0f uploads/s, p50 %.1f ms, p99 %.1f ms; CPU per upload "
      "%.2f ms; %llu calls in %llu groups (%.1f per group, at most %llu)\n",
      small.size(), client_count, copy ? "on" : "off", n / total,
      all[all.size() / 2], all[all.size() * 99 / 100], cpu * 1000 / n,
      static_cast<unsigned long long>(after.members - before.members),
      static_cast<unsigned long long>(after.groups - before.groups),
      static_cast<double>(after.members - before.members) /
          static_cast<double>(after.groups - before.groups),
      static_cast<unsigned long long>(after.largest));
  return 0;
}

}  // namespace
}  // namespace tvault

int main(int argc, char** argv) {
  using namespace tvault;
  if (sodium_init() < 0) return 1;
  setvbuf(stdout, nullptr, _IOLBF, 0);
  if (argc > 1 && std::string(argv[1]) == "core") {
    const int uploads = argc > 2 ? std::atoi(argv[2]) : 2400;
    const int clients = argc > 3 ? std::atoi(argv[3]) : 16;
    const bool copy = argc <= 4 || std::string(argv[4]) != "nocopy";
    if (argc > 5 || uploads <= 0 || clients <= 0) {
      std::fprintf(stderr,
                   "usage: upload_bench core [UPLOADS=2400] [CLIENTS=16] "
                   "[copy|nocopy]\n");
      return 2;
    }
    return RunCore(uploads, clients, copy);
  }
  crypto::RestrictGrpcToTls13();
  const uint64_t gib = argc > 1 ? std::strtoull(argv[1], nullptr, 10) : 1;
  const int small_uploads = argc > 2 ? std::atoi(argv[2]) : 2000;
  const int client_count = argc > 3 ? std::atoi(argv[3]) : 16;
  if (argc > 4 || small_uploads <= 0 || client_count <= 0) {
    std::fprintf(stderr,
                 "usage: upload_bench [GIB=1] [SMALL_UPLOADS=2000] "
                 "[CLIENTS=16]\n(GIB=0: small records only)\n");
    return 2;
  }

  const crypto::SigningKey root = crypto::SigningKey::Generate();
  std::unique_ptr<vault::testing::VaultProcess> vault =
      // 16 clients share one account here, so allow them 16 unfinished
      // uploads at once (the default, 4, is per person), thousands of
      // calls a minute (the default, 600, is per person too) and as many
      // streams (the default, 8, is per person).
      vault::testing::VaultProcess::Init(root.public_key(),
                                         "max_pending_uploads = 64\n"
                                         "max_requests_per_minute = 100000\n"
                                         "max_streams_per_identity = 96\n");
  if (!vault->Start().ok()) {
    std::fprintf(stderr, "tvaultd did not start\n");
    return 1;
  }
  std::unique_ptr<v1::Vault::Stub> stub = vault->Stub();

  // An account that owns a case.
  crypto::SigningKey key = crypto::SigningKey::Generate();
  crypto::X25519Identity box = crypto::X25519Identity::Generate();
  v1::Certificate body;
  body.set_version(1);
  body.set_sign_pk(std::string(crypto::AsString(key.public_key())));
  body.set_box_pk(std::string(crypto::AsString(box.recipient().bytes())));
  body.add_roles(v1::REVIEWER);
  body.set_handle("bench");
  const int64_t now = std::time(nullptr);
  body.set_not_before(now - 86400);
  body.set_not_after(now + 300 * 86400);
  v1::SignedStatement cert = *crypto::IssueCertificate(body, root);
  crypto::VerifiedCertificate verified =
      *crypto::VerifyCertificate(cert, root.public_key());
  {
    v1::Challenge challenge;
    grpc::ClientContext context;
    stub->GetChallenge(&context, {}, &challenge);
    v1::RegisterRequest request;
    *request.mutable_certificate() = cert;
    *request.mutable_challenge() =
        *client::SignAuthChallenge(challenge.nonce(), key, vault->pin(), now);
    v1::RegisterResponse response;
    grpc::ClientContext c2;
    if (!stub->Register(&c2, request, &response).ok()) return 1;
  }
  const std::string token =
      client::SignInToVault(*stub, key, vault->pin())->token();
  const crypto::CaseId case_id = crypto::NewCaseId();
  const crypto::X25519Identity epoch = crypto::X25519Identity::Generate();
  {
    crypto::EpochMembership m{
        {verified.fingerprint}, {verified.fingerprint}, {}};
    auto d = crypto::CreateGenesisDescriptor(case_id, epoch.recipient(), m,
                                             now + 30 * 86400, verified, key);
    v1::PublishDescriptorRequest request;
    *request.mutable_case_descriptor() = d->statement;
    v1::PublishDescriptorResponse response;
    grpc::ClientContext context;
    client::AuthorizeCall(context, token);
    if (!stub->PublishDescriptor(&context, request, &response).ok()) return 1;
  }

  // The client's SHA-256 of each file is computed once, outside the timed
  // region (the raw peer's client computes none).
  std::map<const std::string*, std::string> digests;
  const auto digest_of = [&](const std::string& file) {
    auto it = digests.find(&file);
    if (it == digests.end()) {
      it = digests
               .emplace(&file,
                        std::string(crypto::AsString(
                            crypto::ComputeSha256(crypto::AsBytes(file)))))
               .first;
    }
    return it->second;
  };
  const auto upload = [&](v1::Vault::Stub& s, const std::string& session,
                          const std::string& file, const std::string& sha) {
    std::array<uint8_t, 16> id;
    randombytes_buf(id.data(), id.size());
    grpc::ClientContext context;
    client::AuthorizeCall(context, session);
    v1::UploadResponse response;
    auto writer = s.Upload(&context, &response);
    v1::UploadRequest first;
    v1::UploadStart* start = first.mutable_start();
    start->set_case_id(std::string(crypto::AsString(case_id)));
    start->set_record_id(std::string(crypto::AsString(id)));
    start->set_total_size(file.size());
    start->set_sha256(sha);
    writer->Write(first);
    for (size_t at = 0; at < file.size(); at += kMiB) {
      v1::UploadRequest data;
      data.set_data(file.substr(at, kMiB));
      writer->Write(data);
    }
    writer->WritesDone();
    return writer->Finish();
  };

  // 1. One large record, tvaultd and raw gRPC alternately, twice each.
  if (gib > 0) {
    const std::string big_path = vault->root() + "/big.age";
    const std::string big = MakeAgeFile(epoch.recipient(), gib << 30, big_path);
    unlink(big_path.c_str());

    RawSinkService raw;
    grpc::ServerBuilder builder;
    grpc::SslServerCredentialsOptions tls(
        GRPC_SSL_DONT_REQUEST_CLIENT_CERTIFICATE);
    tls.pem_key_cert_pairs.push_back(
        {vault::testing::ReadTestFile(vault->data_dir() + "/tls.key"),
         vault::testing::ReadTestFile(vault->data_dir() + "/tls.crt")});
    int raw_port = 0;
    builder.AddListeningPort("127.0.0.1:0", grpc::SslServerCredentials(tls),
                             &raw_port);
    builder.RegisterService(&raw);
    builder.SetMaxReceiveMessageSize(2 * kMiB);
    std::unique_ptr<grpc::Server> raw_server = builder.BuildAndStart();
    auto raw_stub = bench::RawSink::NewStub(client::ConnectToVault(
        absl::StrCat("127.0.0.1:", raw_port), vault->pin()));

    const std::string big_sha = digest_of(big);
    double vault_best = 0, raw_best = 0;
    for (int round = 0; round < 2; ++round) {
      auto t0 = Clock::now();
      grpc::Status s = upload(*stub, token, big, big_sha);
      const double tv = Seconds(Clock::now() - t0);
      if (!s.ok()) {
        std::fprintf(stderr, "upload failed: %s\n", s.error_message().c_str());
        return 1;
      }
      t0 = Clock::now();
      {
        grpc::ClientContext context;
        v1::UploadResponse response;
        auto writer = raw_stub->Sink(&context, &response);
        for (size_t at = 0; at < big.size(); at += kMiB) {
          v1::UploadRequest data;
          data.set_data(big.substr(at, kMiB));
          writer->Write(data);
        }
        writer->WritesDone();
        writer->Finish();
      }
      const double tr = Seconds(Clock::now() - t0);
      const double mb = static_cast<double>(big.size()) / 1e6;
      std::printf("round %d: tvaultd %.1f MB/s, raw gRPC+SHA-256 %.1f MB/s\n",
                  round + 1, mb / tv, mb / tr);
      vault_best = std::max(vault_best, mb / tv);
      raw_best = std::max(raw_best, mb / tr);
    }
    std::printf(
        "large upload (%llu GiB): tvaultd %.1f MB/s, raw %.1f MB/s, "
        "ratio %.2f; tvaultd peak RSS %ld KiB\n",
        static_cast<unsigned long long>(gib), vault_best, raw_best,
        vault_best / raw_best, PeakRssKiB(vault->pid()));
    raw_server->Shutdown();
  }

  // 2. Small records from CLIENTS (16) clients.
  const std::string small =
      MakeAgeFile(epoch.recipient(), 65536, vault->root() + "/small.age");
  const std::string small_sha = digest_of(small);
  std::atomic<int> next{0};
  std::vector<std::vector<double>> latencies(static_cast<size_t>(client_count));
  // Each client its own connection and session (the vault runs at most 4
  // streams of one session at once), made before the clock starts.
  std::vector<std::unique_ptr<v1::Vault::Stub>> stubs;
  std::vector<std::string> sessions;
  for (int c = 0; c < client_count; ++c) {
    stubs.push_back(vault->Stub());
    absl::StatusOr<v1::Session> session =
        client::SignInToVault(*stubs.back(), key, vault->pin());
    if (!session.ok()) return 1;
    sessions.push_back(session->token());
  }
  const double vault_cpu0 = CpuSeconds(vault->pid());
  const double bench_cpu0 = CpuSeconds(0);
  const auto t0 = Clock::now();
  std::vector<std::thread> clients;
  for (int c = 0; c < client_count; ++c) {
    clients.emplace_back([&, c] {
      v1::Vault::Stub& s = *stubs[static_cast<size_t>(c)];
      const std::string& session = sessions[static_cast<size_t>(c)];
      while (next.fetch_add(1) < small_uploads) {
        const auto start = Clock::now();
        grpc::Status status = upload(s, session, small, small_sha);
        if (!status.ok()) {
          std::fprintf(stderr, "small upload failed: %s\n",
                       status.error_message().c_str());
          std::abort();
        }
        latencies[static_cast<size_t>(c)].push_back(
            Seconds(Clock::now() - start) * 1000);
      }
    });
  }
  for (auto& t : clients) t.join();
  const double total = Seconds(Clock::now() - t0);
  const double vault_cpu = CpuSeconds(vault->pid()) - vault_cpu0;
  const double bench_cpu = CpuSeconds(0) - bench_cpu0;
  std::vector<double> all;
  for (auto& l : latencies) all.insert(all.end(), l.begin(), l.end());
  std::sort(all.begin(), all.end());
  std::printf(
      "small records (%zu bytes each, %d clients): %.0f uploads/s, "
      "p50 %.1f ms, p99 %.1f ms; tvaultd peak RSS %ld KiB\n"
      "CPU per upload: tvaultd %.2f ms, clients (this process) %.2f ms\n",
      small.size(), client_count, static_cast<double>(all.size()) / total,
      all[all.size() / 2], all[all.size() * 99 / 100], PeakRssKiB(vault->pid()),
      vault_cpu * 1000 / static_cast<double>(all.size()),
      bench_cpu * 1000 / static_cast<double>(all.size()));
  vault->Stop();
  // tvaultd logs what group commit did when it stops.
  const std::string log = vault->log_text();
  const size_t at = log.rfind("group commit:");
  if (at != std::string::npos) {
    std::printf("tvaultd %s\n",
                log.substr(at, log.find('\n', at) - at).c_str());
  }
  return 0;
}
