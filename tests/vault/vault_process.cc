#include "tests/vault/vault_process.h"

#include <fcntl.h>
#include <signal.h>
#include <spawn.h>
#include <stdlib.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <thread>
#include <vector>

#include "absl/strings/escaping.h"
#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/string_view.h"
#include "absl/strings/strip.h"
#include "client/vault_channel.h"
#include "gtest/gtest.h"

extern char** environ;

namespace tvault::vault::testing {
namespace {

pid_t Spawn(const std::vector<std::string>& argv, const std::string& out_path,
            bool append, const RunOptions& options = {}) {
  posix_spawn_file_actions_t actions;
  posix_spawn_file_actions_init(&actions);
  const int flags = O_WRONLY | O_CREAT | (append ? O_APPEND : O_TRUNC);
  posix_spawn_file_actions_addopen(&actions, STDOUT_FILENO, out_path.c_str(),
                                   flags, 0600);
  posix_spawn_file_actions_adddup2(&actions, STDOUT_FILENO, STDERR_FILENO);
  if (!options.working_dir.empty()) {
    posix_spawn_file_actions_addchdir_np(&actions, options.working_dir.c_str());
  }
  std::vector<char*> args;
  for (const std::string& a : argv)
    args.push_back(const_cast<char*>(a.c_str()));
  args.push_back(nullptr);
  // The inherited environment, minus the names `extra_env` sets.
  std::vector<char*> env;
  for (char** e = environ; *e != nullptr; ++e) {
    const absl::string_view entry(*e);
    const absl::string_view name = entry.substr(0, entry.find('='));
    bool replaced = false;
    for (const std::string& extra : options.extra_env) {
      if (absl::string_view(extra).substr(0, extra.find('=')) == name) {
        replaced = true;
      }
    }
    if (!replaced) env.push_back(*e);
  }
  for (const std::string& extra : options.extra_env) {
    env.push_back(const_cast<char*>(extra.c_str()));
  }
  env.push_back(nullptr);
  pid_t pid = -1;
  const int rc =
      posix_spawn(&pid, args[0], &actions, nullptr, args.data(), env.data());
  posix_spawn_file_actions_destroy(&actions);
  return rc == 0 ? pid : -1;
}

}  // namespace

void WriteTestFile(const std::string& path, const std::string& data,
                   unsigned mode) {
  std::ofstream out(path, std::ios::binary | std::ios::trunc);
  out << data;
  out.close();
  chmod(path.c_str(), static_cast<mode_t>(mode));
}

std::string ReadTestFile(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  return std::string(std::istreambuf_iterator<char>(in),
                     std::istreambuf_iterator<char>());
}

int RunProgram(const std::vector<std::string>& argv, std::string* output,
               const RunOptions& options) {
  char tmpl[] = "/tmp/tvault-run-XXXXXX";
  const int fd = mkstemp(tmpl);
  close(fd);
  const pid_t pid = Spawn(argv, tmpl, false, options);
  int status = -1;
  if (pid > 0) waitpid(pid, &status, 0);
  if (output != nullptr) *output = ReadTestFile(tmpl);
  unlink(tmpl);
  return status;
}

pid_t StartProgram(const std::vector<std::string>& argv,
                   const std::string& output_path, const RunOptions& options) {
  const pid_t pid = Spawn(argv, output_path, false, options);
  EXPECT_GT(pid, 0) << "cannot spawn " << argv[0];
  return pid;
}

int WaitProgram(pid_t pid) {
  int status = -1;
  if (pid > 0) waitpid(pid, &status, 0);
  return status;
}

std::unique_ptr<VaultProcess> VaultProcess::Init(
    const crypto::SignPublicKey& org_pk, const std::string& config_text) {
  std::unique_ptr<VaultProcess> vault(new VaultProcess());
  char tmpl[] = "/tmp/tvaultd-e2e-XXXXXX";
  if (mkdtemp(tmpl) == nullptr) {
    ADD_FAILURE() << "mkdtemp failed";
    return vault;
  }
  vault->root_ = tmpl;
  WriteTestFile(vault->db_key_file(), kTestDbKeyHex, 0600);
  WriteTestFile(vault->config_file(),
                absl::StrCat("checkpoint_copy = ", vault->checkpoint_copy(),
                             "\n", config_text),
                0600);
  std::string output;
  const int status = RunProgram(
      {TVAULTD_BIN, "init", "--data-dir", vault->data_dir(), "--org-key",
       absl::BytesToHexString(crypto::AsString(org_pk)), "--db-key-file",
       vault->db_key_file(), "--origin", "vault.example.org/log", "--address",
       "vault.example.org:8443"},
      &output);
  EXPECT_TRUE(WIFEXITED(status) && WEXITSTATUS(status) == 0) << output;
  absl::StatusOr<crypto::TlsKeyPin> pin = crypto::TlsKeyPinFromCertificatePem(
      ReadTestFile(vault->data_dir() + "/tls.crt"));
  EXPECT_TRUE(pin.ok()) << pin.status();
  if (pin.ok()) vault->pin_ = *pin;
  return vault;
}

VaultProcess::~VaultProcess() {
  if (pid_ > 0) Kill();
  if (!root_.empty()) {
    std::error_code ec;
    std::filesystem::remove_all(root_, ec);
  }
}

absl::Status VaultProcess::Start() {
  const std::string ready = root_ + "/ready";
  unlink(ready.c_str());
  pid_ = Spawn({TVAULTD_BIN, "serve", "--data-dir", data_dir(), "--db-key-file",
                db_key_file(), "--listen", "127.0.0.1:0", "--config",
                config_file(), "--ready-file", ready},
               root_ + "/tvaultd.log", true);
  if (pid_ <= 0) return absl::InternalError("cannot spawn tvaultd");
  const auto deadline =
      std::chrono::steady_clock::now() + std::chrono::seconds(30);
  while (std::chrono::steady_clock::now() < deadline) {
    int status = 0;
    if (waitpid(pid_, &status, WNOHANG) == pid_) {
      pid_ = -1;
      return absl::FailedPreconditionError(
          absl::StrCat("tvaultd exited during start-up: ", log_text()));
    }
    const std::string text = ReadTestFile(ready);
    if (!text.empty() && text.back() == '\n') {
      address_ = std::string(absl::StripSuffix(text, "\n"));
      return absl::OkStatus();
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
  }
  Kill();
  return absl::DeadlineExceededError("tvaultd did not become ready in 30 s");
}

int VaultProcess::Stop() {
  if (pid_ <= 0) return -1;
  kill(pid_, SIGTERM);
  int status = -1;
  waitpid(pid_, &status, 0);
  pid_ = -1;
  return status;
}

void VaultProcess::Kill() {
  if (pid_ <= 0) return;
  kill(pid_, SIGKILL);
  int status = 0;
  waitpid(pid_, &status, 0);
  pid_ = -1;
}

std::string VaultProcess::log_text() const {
  return ReadTestFile(root_ + "/tvaultd.log");
}

absl::StatusOr<std::string> VaultProcess::AskMemoryLine() const {
  constexpr char kLine[] = "memory: heap in use ";
  const size_t before = log_text().rfind(kLine);
  if (kill(pid_, SIGUSR1) != 0) {
    return absl::FailedPreconditionError("tvaultd is not running");
  }
  const auto give_up =
      std::chrono::steady_clock::now() + std::chrono::seconds(10);
  while (std::chrono::steady_clock::now() < give_up) {
    const std::string log = log_text();
    const size_t at = log.rfind(kLine);
    if (at != std::string::npos &&
        (before == std::string::npos || at > before)) {
      return log.substr(at, log.find('\n', at) - at);
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
  }
  return absl::DeadlineExceededError(
      "tvaultd logged no memory line within 10 s of SIGUSR1");
}

std::unique_ptr<tvault::v1::Vault::Stub> VaultProcess::Stub() const {
  return tvault::v1::Vault::NewStub(client::ConnectToVault(address_, pin_));
}

ProcessMemory ReadProcessMemory(pid_t pid) {
  ProcessMemory out;
  const std::pair<absl::string_view, int64_t*> fields[] = {
      {"VmRSS:", &out.rss_kib},      {"VmHWM:", &out.peak_kib},
      {"RssAnon:", &out.anon_kib},   {"RssFile:", &out.file_kib},
      {"RssShmem:", &out.shmem_kib}, {"Threads:", &out.threads}};
  std::ifstream in(absl::StrCat("/proc/", pid, "/status"));
  std::string line;
  while (std::getline(in, line)) {
    for (const auto& [name, value] : fields) {
      if (absl::StartsWith(line, name)) {
        *value = std::atoll(line.c_str() + name.size());
      }
    }
  }
  return out;
}

}  // namespace tvault::vault::testing
