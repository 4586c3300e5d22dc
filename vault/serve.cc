#include "vault/serve.h"

#include <fcntl.h>
#include <grpcpp/grpcpp.h>
#include <grpcpp/resource_quota.h>
#include <grpcpp/security/server_credentials.h>
#include <signal.h>
#include <sodium.h>
#include <sys/resource.h>
#include <unistd.h>

#include <cerrno>
#include <chrono>
#include <cstring>
#include <memory>
#include <thread>
#include <utility>

#include "absl/status/statusor.h"
#include "absl/strings/str_cat.h"
#include "crypto/mutex.h"
#include "crypto/tls_pin.h"
#include "vault/call_deadlines.h"
#include "vault/config.h"
#include "vault/data_dir.h"
#include "vault/grpc_service.h"
#include "vault/logging.h"
#include "vault/memory.h"
#include "vault/sqlcipher_store.h"
#include "vault/stream_slots.h"
#include "vault/transparency_log.h"
#include "vault/tvaultd_init.h"
#include "vault/vault_core.h"

namespace tvault::vault {
namespace {

// gRPC 1.51's sync server waits out the whole grace even when no call is
// running (measured: ~5 s of a 10 s grace), so keep it short.
constexpr auto kShutdownGrace = std::chrono::seconds(1);
// Enough for the streams (vault/stream_slots.h) and as many unary calls
// beside them: 64 clients each with a stream and a unary call in flight
// were refused "Server Threadpool Exhausted" at 64 threads (found by
// tests/reliability/tvault_soak). Idle threads cost address space only.
constexpr int kMaxServerThreads = 160;
constexpr int kHandshakeTimeoutMs = 20 * 1000;
// Streams never hold every thread (vault/stream_slots.h): unary calls and
// the quick refusal of streams past the cap keep some.
static_assert(kMaxServerThreads >= kMaxConcurrentStreams + 64);

// "HOST:PORT" with the port replaced by `port`.
std::string BoundAddress(const std::string& listen, int port) {
  const size_t colon = listen.rfind(':');
  return absl::StrCat(listen.substr(0, colon), ":", port);
}

// Runs VaultCore::Maintain every kMaintenanceInterval until stopped.
class Maintenance {
 public:
  explicit Maintenance(VaultCore& core)
      : interval_(
            std::chrono::seconds(core.config().maintenance_interval_seconds)),
        thread_([this, &core] { Run(core); }) {}
  ~Maintenance() {
    {
      MutexLock lock(mu_);
      stop_ = true;
    }
    cv_.NotifyAll();
    thread_.join();
  }

 private:
  void Run(VaultCore& core) {
    MutexLock lock(mu_);
    while (true) {
      if (cv_.WaitFor(mu_, interval_, [this]() ABSL_NO_THREAD_SAFETY_ANALYSIS {
            return stop_;
          })) {
        break;
      }
      absl::StatusOr<int64_t> done = core.Maintain();
      if (!done.ok()) {
        LogError(absl::StrCat("maintenance failed: ", done.status().message()));
      }
      // glibc keeps what the threads free in their arenas: under 64 clients
      // uploading 1 MiB messages the RSS grew for as long as the load
      // lasted (+14% in 15 minutes), ~200 MiB of it free memory, while the
      // memory in use stayed flat (tests/reliability/tvault_soak). Give it
      // back after each pass.
      GiveBackFreeMemory();
    }
  }

  const std::chrono::seconds interval_;
  Mutex mu_;
  CondVar cv_;
  bool stop_ ABSL_GUARDED_BY(mu_) = false;
  std::thread thread_;
};

// Raises the soft open-file limit to the hard one. gRPC 1.51's listener
// stops accepting connections for good after one accept4() fails with
// EMFILE (measured by tests/reliability/tvault_abuse: with a limit of 256,
// 350 idle connections made tvaultd refuse every new client until it was
// restarted), so the limit must be out of an attacker's reach: connections
// arriving through a local Tor daemon come from at most ~28,000 ephemeral
// ports, and systemd's default hard limit is 524,288 (its soft one, 1,024,
// is not enough).
constexpr rlim_t kWantedOpenFiles = 65536;

void RaiseOpenFileLimit() {
  rlimit files{};
  if (getrlimit(RLIMIT_NOFILE, &files) != 0) return;
  if (files.rlim_cur < files.rlim_max) {
    files.rlim_cur = files.rlim_max;
    setrlimit(RLIMIT_NOFILE, &files);
    getrlimit(RLIMIT_NOFILE, &files);
  }
  if (files.rlim_cur < kWantedOpenFiles) {
    LogWarning(absl::StrCat(
        "the open-file limit is ", files.rlim_cur, ", below ", kWantedOpenFiles,
        ": enough idle connections would make gRPC stop accepting new ones "
        "until tvaultd restarts. Raise it (systemd: LimitNOFILE=",
        kWantedOpenFiles, " or more)"));
  }
}

int Fail(const absl::Status& status) {
  LogError(status.message());
  return 1;
}

}  // namespace

int RunServe(const ServeArgs& args) {
  // Blocked in every thread (those made later inherit the mask) and taken
  // by sigwait below: SIGTERM and SIGINT stop, SIGUSR1 logs the memory.
  sigset_t signals;
  sigemptyset(&signals);
  sigaddset(&signals, SIGTERM);
  sigaddset(&signals, SIGINT);
  sigaddset(&signals, SIGUSR1);
  pthread_sigmask(SIG_BLOCK, &signals, nullptr);
  ReturnLargeBuffersToTheSystem();
  crypto::RestrictGrpcToTls13();
  InstallGrpcLogger();
  RaiseOpenFileLimit();

  absl::StatusOr<VaultConfig> config = args.config_file.empty()
                                           ? VaultConfig{}
                                           : LoadVaultConfig(args.config_file);
  if (!config.ok()) return Fail(config.status());
  absl::StatusOr<VaultFiles> files = LoadVaultFiles(args.data_dir);
  if (!files.ok()) return Fail(files.status());
  std::unique_ptr<SqlcipherStore> store;
  {
    absl::StatusOr<crypto::SecretBytes> key = ReadDbKeyFile(args.db_key_file);
    if (!key.ok()) return Fail(key.status());
    absl::StatusOr<std::unique_ptr<SqlcipherStore>> opened =
        SqlcipherStore::Open(absl::StrCat(args.data_dir, "/", kVaultDbFileName),
                             *key);
    if (!opened.ok()) return Fail(opened.status());
    store = std::move(*opened);
  }
  TransparencyLog log(std::move(files->log_signer), config->checkpoint_copy);
  if (config->checkpoint_copy.empty()) {
    LogWarning(
        "no checkpoint_copy is configured: a restored old copy of the "
        "database would go unnoticed by the vault (clients would still see "
        "it). Set checkpoint_copy in the configuration file to a path on "
        "other media");
  }
  if (absl::Status s = log.CheckAgainstMirror(*store); !s.ok()) return Fail(s);
  VaultCore core(*store, log, files->org_pk, files->tls_pin, *config,
                 SystemClock);
  if (absl::StatusOr<int64_t> m = core.Maintain(); !m.ok()) {
    return Fail(m.status());
  }
  // Before the server exists (it installs gRPC's global callbacks), and
  // destroyed after it.
  CallDeadlines deadlines(std::chrono::seconds(config->call_deadline_seconds));
  VaultGrpcService service(core, &deadlines);

  // gRPC takes the private key as std::string; it is wiped once the
  // credentials hold their own copy.
  grpc::SslServerCredentialsOptions tls(
      GRPC_SSL_DONT_REQUEST_CLIENT_CERTIFICATE);
  tls.pem_key_cert_pairs.push_back(
      {std::string(crypto::AsString(files->tls_private_key_pem.span())),
       files->tls_certificate_pem});
  std::shared_ptr<grpc::ServerCredentials> credentials =
      grpc::SslServerCredentials(tls);
  for (auto& pair : tls.pem_key_cert_pairs) {
    sodium_memzero(pair.private_key.data(), pair.private_key.size());
  }

  grpc::ServerBuilder builder;
  int port = 0;
  builder.AddListeningPort(args.listen, credentials, &port);
  builder.RegisterService(&service);
  builder.SetMaxReceiveMessageSize(static_cast<int>(config->max_message_bytes));
  builder.SetMaxSendMessageSize(static_cast<int>(config->max_message_bytes));
  builder.AddChannelArgument(GRPC_ARG_MAX_METADATA_SIZE,
                             static_cast<int>(config->max_metadata_bytes));
  // Connections: idle ones close after 5 minutes, every one after an hour
  // (with 10 minutes' grace for a call in flight; uploads resume), at most
  // 32 calls at once on one connection, and clients may not ping more
  // often than every 5 minutes without data (two strikes, then GOAWAY).
  builder.AddChannelArgument(GRPC_ARG_MAX_CONNECTION_IDLE_MS, 5 * 60 * 1000);
  builder.AddChannelArgument(GRPC_ARG_MAX_CONNECTION_AGE_MS, 60 * 60 * 1000);
  builder.AddChannelArgument(GRPC_ARG_MAX_CONNECTION_AGE_GRACE_MS,
                             10 * 60 * 1000);
  builder.AddChannelArgument(GRPC_ARG_MAX_CONCURRENT_STREAMS, 32);
  // A connection that has not finished its TLS handshake and sent its
  // HTTP/2 settings within 20 s is closed (gRPC's default is 120 s: half
  // handshakes and silent connections held descriptors that long;
  // tests/reliability/tvault_abuse). Generous for a client over Tor.
  builder.AddChannelArgument(GRPC_ARG_SERVER_HANDSHAKE_TIMEOUT_MS,
                             kHandshakeTimeoutMs);
  builder.AddChannelArgument(
      GRPC_ARG_HTTP2_MIN_RECV_PING_INTERVAL_WITHOUT_DATA_MS, 5 * 60 * 1000);
  builder.AddChannelArgument(GRPC_ARG_HTTP2_MAX_PING_STRIKES, 2);
  // The sync server's threads are bounded: a flood of calls waits instead
  // of exhausting the machine.
  grpc::ResourceQuota quota("tvaultd");
  quota.SetMaxThreads(kMaxServerThreads);
  builder.SetResourceQuota(quota);
  std::unique_ptr<grpc::Server> server = builder.BuildAndStart();
  if (server == nullptr || port == 0) {
    return Fail(absl::UnavailableError(absl::StrCat(
        "cannot listen on ", args.listen,
        ": the address is malformed, in use, or not this machine's")));
  }
  const std::string ready_file =
      args.ready_file.empty() ? absl::StrCat(args.data_dir, "/", kReadyFileName)
                              : args.ready_file;
  if (absl::Status s = ReplaceFileDurably(
          ready_file, BoundAddress(args.listen, port) + "\n", "ready file");
      !s.ok()) {
    server->Shutdown();
    return Fail(s);
  }
  LogInfo(absl::StrCat("serving; the address is in ", ready_file));

  {
    Maintenance maintenance(core);
    while (true) {
      int signal = 0;
      if (sigwait(&signals, &signal) != 0) continue;
      if (signal != SIGUSR1) break;
      LogInfo(DescribeMemoryUse());
    }
    LogInfo("stopping on a signal");
    server->Shutdown(std::chrono::system_clock::now() + kShutdownGrace);
    server->Wait();
  }
  const GroupCommitStats commits = core.group_commit_stats();
  LogInfo(absl::StrCat("group commit: ", commits.members, " calls in ",
                       commits.groups, " groups, at most ", commits.largest,
                       " in one"));
  unlink(ready_file.c_str());
  LogInfo("stopped");
  return 0;
}

}  // namespace tvault::vault
