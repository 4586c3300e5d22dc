// tvault_canaries: no plaintext and no client key where it must never be
// (issue 8, "Canaries"), and no core file from either program.
//
// Core dumps. With this program's RLIMIT_CORE raised to its hard limit and
// its working directory a fresh one (so that the kernel's core_pattern,
// printed, would put a core there), it shows that:
// - a control program (/bin/sleep) killed with SIGSEGV does dump core here
//   (otherwise the check below could not fail, and the run says so);
// - tvaultd and tvault report "Max core file size 0 0" in /proc/PID/limits;
// - run as an unprivileged user (nobody), their /proc/PID entries belong to
//   root: the kernel's sign that PR_SET_DUMPABLE is cleared (a dumpable
//   process's entries belong to its own user);
// - tvaultd killed with SIGSEGV and with SIGABRT, and tvault killed with
//   SIGSEGV, leave no core file (here, in the data directory, or where
//   core_pattern points) and the kernel reports no dump (WCOREDUMP).
//
// Canaries, through the real programs: an organisation, a vault and a
// reviewer set up with the tvault CLI and a case; then, for --duration
// seconds (at least once), an invite and a family that submits a
// testimony holding its own canary string (and a canary title) through
// `tvault submit --invite` from a fresh --home, working directory, $HOME
// and $XDG_DATA_HOME; the reviewer reads each back (so the canary did
// travel). Then every canary (raw, hex, base64), the case's age identity,
// the reviewer's secret keys (seed and X25519 secret, raw, hex, base64,
// Bech32), every invite's seed and string and the database key must
// appear nowhere in the vault's data directory (database, WAL, every
// file, while it runs and once stopped), its checkpoint copy, its log,
// nor in anything the families' submissions left (which must be nothing).
#include <arpa/inet.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <pwd.h>
#include <signal.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <CLI/CLI.hpp>
#include <algorithm>
#include <chrono>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <iostream>
#include <string>
#include <thread>
#include <vector>

#include "absl/strings/ascii.h"
#include "absl/strings/escaping.h"
#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "absl/strings/str_split.h"
#include "absl/strings/strip.h"
#include "client/account.h"
#include "client/home.h"
#include "crypto/bech32.h"
#include "crypto/invite.h"
#include "crypto/secret_bytes.h"
#include "tests/reliability/reliability_support.h"

namespace tvault::reliability {
namespace {

namespace fs = std::filesystem;
using Clock = std::chrono::steady_clock;
using vault::testing::kTestDbKeyHex;
using vault::testing::ReadTestFile;
using vault::testing::RunOptions;
using vault::testing::RunProgram;
using vault::testing::WriteTestFile;

constexpr char kCanary[] = "CANARY-7f3a-the-family-lives-at-12-Rue-des-Lilas";
constexpr char kTitleCanary[] = "CANARY-TITLE-arrest-of-my-brother";
constexpr char kPassphrase[] = "canary run passphrase, this run only\n";
constexpr uid_t kNobody = 65534;

// Every regular file under `dir` (recursively), if it exists.
std::vector<std::string> FilesUnder(const std::string& dir) {
  std::vector<std::string> out;
  std::error_code ec;
  if (!fs::exists(dir, ec)) return out;
  for (const auto& e : fs::recursive_directory_iterator(dir, ec)) {
    if (e.is_regular_file()) out.push_back(e.path().string());
  }
  return out;
}

// The files whose name looks like a core dump under `dir`.
std::vector<std::string> CoreFilesUnder(const std::string& dir) {
  std::vector<std::string> out;
  for (const std::string& f : FilesUnder(dir)) {
    const std::string name = fs::path(f).filename().string();
    if (name == "core" || absl::StartsWith(name, "core.") ||
        absl::StartsWith(name, "core-")) {
      out.push_back(f);
    }
  }
  return out;
}

// The forms a secret could take in a file.
std::vector<std::string> Encodings(const std::string& bytes) {
  std::vector<std::string> out{
      bytes, absl::BytesToHexString(bytes),
      absl::AsciiStrToUpper(absl::BytesToHexString(bytes)),
      absl::Base64Escape(bytes), absl::WebSafeBase64Escape(bytes)};
  // Base64 of the bytes at another alignment: the middle part is stable.
  for (int shift = 1; shift < 3; ++shift) {
    std::string b64 = absl::Base64Escape(std::string(shift, '\0') + bytes);
    if (b64.size() > 8) out.push_back(b64.substr(4, b64.size() - 8));
  }
  return out;
}

struct Secret {
  std::string name;
  std::vector<std::string> forms;
};

// The names of the secrets that appear in `content`, in any form.
std::vector<std::string> Found(const std::vector<Secret>& secrets,
                               const std::string& content) {
  std::vector<std::string> out;
  for (const Secret& s : secrets) {
    for (const std::string& form : s.forms) {
      if (!form.empty() && absl::StrContains(content, form)) {
        out.push_back(s.name);
        break;
      }
    }
  }
  return out;
}

// Spawns `argv` as user `uid` (if not 0), in `cwd`, with RLIMIT_CORE as
// this process has it, standard input from a pipe kept open (returned in
// *stdin_fd) and output to `log`.
pid_t SpawnAs(const std::vector<std::string>& argv, uid_t uid,
              const std::string& cwd, const std::string& log, int* stdin_fd) {
  int fds[2];
  if (::pipe(fds) != 0) return -1;
  const pid_t pid = ::fork();
  if (pid == 0) {
    ::dup2(fds[0], STDIN_FILENO);
    ::close(fds[1]);
    const int out = ::open(log.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0666);
    ::dup2(out, STDOUT_FILENO);
    ::dup2(out, STDERR_FILENO);
    if (::chdir(cwd.c_str()) != 0) ::_exit(126);
    if (uid != 0 && (::setgid(uid) != 0 || ::setuid(uid) != 0)) ::_exit(126);
    std::vector<char*> args;
    for (const std::string& a : argv)
      args.push_back(const_cast<char*>(a.c_str()));
    args.push_back(nullptr);
    ::execv(args[0], args.data());
    ::_exit(127);
  }
  ::close(fds[0]);
  if (stdin_fd != nullptr) {
    *stdin_fd = fds[1];
  } else {
    ::close(fds[1]);
  }
  return pid;
}

std::string LimitsCoreLine(pid_t pid) {
  for (absl::string_view line : absl::StrSplit(
           ReadTestFile(absl::StrCat("/proc/", pid, "/limits")), '\n')) {
    if (absl::StartsWith(line, "Max core file size")) {
      return std::string(absl::StripAsciiWhitespace(line));
    }
  }
  return "";
}

class CanaryRun {
 public:
  CanaryRun(std::string dir, const DriverOptions& options)
      : dir_(std::move(dir)), options_(options), report_("tvault_canaries") {}
  int Run();

 private:
  void CheckCoreDumps();
  // Kills `pid` with `signal` and checks that no core appeared.
  void KillAndLookForCores(pid_t pid, int signal, const std::string& who,
                           const std::vector<std::string>& dirs);
  void CheckCanaries();
  void Search(const std::vector<Secret>& secrets, const std::string& where,
              const std::vector<std::string>& files);
  // tvault --home HOME --passphrase-file PASS ARGS...; output, or a
  // violation (and "").
  std::string Tvault(const std::string& home, std::vector<std::string> args,
                     const RunOptions& options = {},
                     bool with_passphrase = true);

  const std::string dir_;
  const DriverOptions options_;
  Report report_;
  std::string core_pattern_;
};

void CanaryRun::KillAndLookForCores(pid_t pid, int signal,
                                    const std::string& who,
                                    const std::vector<std::string>& dirs) {
  ::kill(pid, signal);
  int status = 0;
  ::waitpid(pid, &status, 0);
  report_.Count(absl::StrCat("kills with ", strsignal(signal)));
  if (!WIFSIGNALED(status) || WTERMSIG(status) != signal) {
    report_.Violation(absl::StrCat(who, " did not die of ", strsignal(signal),
                                   " (wait status ", status, ")"));
  }
  if (WIFSIGNALED(status) && WCOREDUMP(status)) {
    report_.Violation(absl::StrCat(who, " killed by ", strsignal(signal),
                                   ": the kernel reports a core dump"));
  }
  std::this_thread::sleep_for(std::chrono::milliseconds(200));
  for (const std::string& d : dirs) {
    for (const std::string& core : CoreFilesUnder(d)) {
      report_.Violation(absl::StrCat(who, " killed by ", strsignal(signal),
                                     " left a core file: ", core));
    }
  }
}

void CanaryRun::CheckCoreDumps() {
  core_pattern_ = std::string(absl::StripAsciiWhitespace(
      ReadTestFile("/proc/sys/kernel/core_pattern")));
  report_.Note(absl::StrCat(
      "kernel.core_pattern here: \"", core_pattern_, "\"; fs.suid_dumpable: ",
      absl::StripAsciiWhitespace(ReadTestFile("/proc/sys/fs/suid_dumpable"))));
  // A permissive limit for every child, as an operator's shell might have.
  rlimit limit;
  ::getrlimit(RLIMIT_CORE, &limit);
  limit.rlim_cur = limit.rlim_max;
  ::setrlimit(RLIMIT_CORE, &limit);
  report_.Note(absl::StrCat("RLIMIT_CORE given to the children: ",
                            limit.rlim_cur == RLIM_INFINITY
                                ? std::string("unlimited")
                                : absl::StrCat(limit.rlim_cur)));
  const std::string cwd = dir_ + "/cwd";
  fs::create_directories(cwd);
  // Where else a core could go: an absolute core_pattern's directory.
  std::vector<std::string> dirs{cwd};
  if (absl::StartsWith(core_pattern_, "/")) {
    dirs.push_back(fs::path(core_pattern_).parent_path().string());
  }

  // The control: an ordinary program does dump core here.
  {
    const pid_t pid =
        SpawnAs({"/bin/sleep", "30"}, 0, cwd, dir_ + "/sleep.log", nullptr);
    std::this_thread::sleep_for(std::chrono::milliseconds(200));
    ::kill(pid, SIGSEGV);
    int status = 0;
    ::waitpid(pid, &status, 0);
    const std::vector<std::string> cores = CoreFilesUnder(cwd);
    const bool dumped = WIFSIGNALED(status) && WCOREDUMP(status);
    report_.Note(absl::StrCat("control (/bin/sleep, SIGSEGV): kernel reports ",
                              dumped ? "a core dump" : "no core dump", ", ",
                              cores.size(), " core file(s) in its directory"));
    if (!dumped) {
      report_.Note(
          "the control dumped no core: on this machine the check below "
          "cannot tell a disabled dump from the kernel's own refusal");
    }
    for (const std::string& f : cores) fs::remove(f);
  }

  // tvaultd as root: limits, then SIGSEGV and SIGABRT.
  for (int signal : {SIGSEGV, SIGABRT}) {
    absl::StatusOr<std::unique_ptr<VaultScene>> scene = VaultScene::Create("");
    if (!scene.ok()) {
      report_.Violation(
          absl::StrCat("cannot start tvaultd: ", scene.status().message()));
      return;
    }
    VaultProcess& vault = (*scene)->process();
    const std::string line = LimitsCoreLine(vault.pid());
    report_.Note(absl::StrCat("tvaultd /proc/PID/limits: ", line));
    if (!absl::StrContains(line, " 0 ") ||
        absl::StrContains(line, "unlimited")) {
      report_.Violation(absl::StrCat("tvaultd's core limit is not 0: ", line));
    }
    const pid_t pid = vault.pid();
    const std::vector<std::string> with_data = {cwd, vault.root()};
    // VaultProcess no longer owns it once killed here.
    KillAndLookForCores(pid, signal, "tvaultd", with_data);
    vault.Kill();  // reaped already: a no-op but for its pid
  }

  // tvaultd and tvault as nobody: /proc/PID belongs to root.
  {
    const std::string data = dir_ + "/nobody-vault";
    fs::create_directories(data);
    const std::string key_file = data + "/db.key";
    WriteTestFile(key_file, kTestDbKeyHex, 0600);
    ::chown(data.c_str(), kNobody, kNobody);
    ::chown(key_file.c_str(), kNobody, kNobody);
    ::chown(cwd.c_str(), kNobody, kNobody);
    struct Program {
      std::string who;
      std::vector<std::string> argv;
      bool dumpable = false;  // the control
    };
    const crypto::SigningKey org = crypto::SigningKey::Generate();
    std::string output;
    // tvaultd init as nobody (it writes the data directory), then serve.
    int fds = -1;
    pid_t init =
        SpawnAs({TVAULTD_BIN, "init", "--data-dir", data + "/data", "--org-key",
                 absl::BytesToHexString(crypto::AsString(org.public_key())),
                 "--db-key-file", key_file, "--origin", "canary.example/log",
                 "--address", "127.0.0.1:1"},
                kNobody, cwd, dir_ + "/nobody-init.log", nullptr);
    int status = 0;
    ::waitpid(init, &status, 0);
    if (!WIFEXITED(status) || WEXITSTATUS(status) != 0) {
      report_.Violation(absl::StrCat("tvaultd init as nobody failed: ",
                                     ReadTestFile(dir_ + "/nobody-init.log")));
      return;
    }
    const std::vector<Program> programs = {
        // The control: an ordinary program's entries belong to its user.
        {"control /bin/sleep", {"/bin/sleep", "30"}, true},
        {"tvaultd serve",
         {TVAULTD_BIN, "serve", "--data-dir", data + "/data", "--db-key-file",
          key_file, "--listen", "127.0.0.1:0"}},
        // Reads the file to encrypt from standard input, kept open.
        {"tvault age encrypt",
         {TVAULT_BIN, "age", "encrypt", "-r",
          "age1ql3z7hjy54pw3hyww5ayyfg7zqgvc7w3j2elw8zmrj2kg5sfn9aqmcac8p"}},
    };
    for (const Program& p : programs) {
      const pid_t pid =
          SpawnAs(p.argv, kNobody, cwd,
                  absl::StrCat(dir_, "/nobody-", p.who.size(), ".log"), &fds);
      // Between fork and exec the child's entries belong to root too (its
      // change of user made it undumpable until exec): first wait for the
      // exec, then for its main to clear the flag and the limit (the
      // control is given a second).
      std::error_code ec;
      const fs::path binary = fs::canonical(p.argv[0], ec);
      const std::string exe = absl::StrCat("/proc/", pid, "/exe");
      for (int i = 0; i < 200 && fs::read_symlink(exe, ec) != binary; ++i) {
        std::this_thread::sleep_for(std::chrono::milliseconds(10));
      }
      struct stat st {};
      bool root_owned = false;
      for (int i = 0; i < (p.dumpable ? 20 : 100) && !root_owned; ++i) {
        std::this_thread::sleep_for(std::chrono::milliseconds(50));
        root_owned =
            ::stat(absl::StrCat("/proc/", pid, "/status").c_str(), &st) == 0 &&
            st.st_uid == 0 && absl::StrContains(LimitsCoreLine(pid), " 0 ");
      }
      if (p.dumpable) {
        report_.Note(absl::StrCat(p.who, " as nobody: /proc/PID owned by uid ",
                                  st.st_uid));
        if (root_owned) {
          report_.Note(
              "the control's entries belong to root too: the ownership "
              "check below cannot tell dumpable from not on this machine");
        }
        ::kill(pid, SIGKILL);
        ::waitpid(pid, nullptr, 0);
        ::close(fds);
        continue;
      }
      const std::string line = LimitsCoreLine(pid);
      report_.Note(absl::StrCat(
          p.who, " as nobody: /proc/PID owned by uid ", st.st_uid, " (",
          root_owned ? "not dumpable" : "DUMPABLE", "), ", line));
      if (!root_owned) {
        report_.Violation(
            absl::StrCat(p.who, " is dumpable (PR_SET_DUMPABLE not cleared)"));
      }
      if (!absl::StrContains(line, " 0 ") ||
          absl::StrContains(line, "unlimited")) {
        report_.Violation(
            absl::StrCat(p.who, "'s core limit is not 0: ", line));
      }
      KillAndLookForCores(pid, SIGSEGV, p.who + " (as nobody)", {cwd, data});
      ::close(fds);
    }
  }
}

std::string CanaryRun::Tvault(const std::string& home,
                              std::vector<std::string> args,
                              const RunOptions& options, bool with_passphrase) {
  std::vector<std::string> argv{TVAULT_BIN, "--home", home};
  if (with_passphrase) {
    argv.push_back("--passphrase-file");
    argv.push_back(dir_ + "/passphrase");
  }
  argv.insert(argv.end(), args.begin(), args.end());
  std::string output;
  const int status = RunProgram(argv, &output, options);
  report_.Count("tvault commands run");
  if (!WIFEXITED(status) || WEXITSTATUS(status) != 0) {
    report_.Violation(
        absl::StrCat("tvault ", absl::StrJoin(args, " "), " failed: ", output));
    return "";
  }
  return output;
}

// The word after `marker` in `text` (up to white space), or "".
std::string WordAfter(absl::string_view text, absl::string_view marker) {
  const size_t at = text.find(marker);
  if (at == absl::string_view::npos) return "";
  absl::string_view rest = text.substr(at + marker.size());
  return std::string(rest.substr(0, rest.find_first_of(" \t\r\n()\"")));
}

std::string LineWith(absl::string_view text, absl::string_view prefix) {
  for (absl::string_view line : absl::StrSplit(text, '\n')) {
    if (absl::StartsWith(line, prefix)) return std::string(line);
  }
  return "";
}

void CanaryRun::Search(const std::vector<Secret>& secrets,
                       const std::string& where,
                       const std::vector<std::string>& files) {
  for (const std::string& f : files) {
    const std::string content = ReadTestFile(f);
    report_.Count("files searched");
    report_.Count("bytes searched", static_cast<int64_t>(content.size()));
    for (const std::string& name : Found(secrets, content)) {
      report_.Violation(absl::StrCat(name, " found in ", where, ": ", f));
    }
  }
}

void CanaryRun::CheckCanaries() {
  WriteTestFile(dir_ + "/passphrase", kPassphrase, 0600);
  const std::string admin = dir_ + "/admin", reviewer = dir_ + "/reviewer";
  std::string out = Tvault(admin, {"org", "init"});
  const std::string org_key =
      WordAfter(out, "organisation public key (for tvaultd init --org-key): ");
  if (org_key.size() != 64) return;
  // The vault, on a port chosen now, named in the bundle the root signs.
  const std::string vault_dir = dir_ + "/vault";
  fs::create_directories(vault_dir);
  WriteTestFile(vault_dir + "/db.key", kTestDbKeyHex, 0600);
  const std::string config = vault_dir + "/tvaultd.conf";
  WriteTestFile(
      config,
      absl::StrCat("checkpoint_copy = ", vault_dir, "/checkpoint-copy\n"),
      0600);
  // A free loopback port, for the address the bundle names.
  int port = 0;
  {
    const int fd = ::socket(AF_INET, SOCK_STREAM, 0);
    sockaddr_in addr{};
    addr.sin_family = AF_INET;
    addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    socklen_t len = sizeof addr;
    if (::bind(fd, reinterpret_cast<sockaddr*>(&addr), sizeof addr) == 0 &&
        ::getsockname(fd, reinterpret_cast<sockaddr*>(&addr), &len) == 0) {
      port = ntohs(addr.sin_port);
    }
    ::close(fd);
  }
  const std::string address = absl::StrCat("127.0.0.1:", port);
  std::string init_out;
  int status = RunProgram(
      {TVAULTD_BIN, "init", "--data-dir", vault_dir + "/data", "--org-key",
       org_key, "--db-key-file", vault_dir + "/db.key", "--origin",
       "canary.tvault.example/log", "--address", address},
      &init_out);
  if (!WIFEXITED(status) || WEXITSTATUS(status) != 0) {
    report_.Violation(absl::StrCat("tvaultd init failed: ", init_out));
    return;
  }
  std::vector<absl::string_view> lines =
      absl::StrSplit(init_out, '\n', absl::SkipWhitespace());
  WriteTestFile(dir_ + "/bundle.unsigned", std::string(lines.back()) + "\n",
                0600);
  if (Tvault(admin, {"org", "sign-bundle", dir_ + "/bundle.unsigned", "-o",
                     dir_ + "/server.bundle"})
          .empty()) {
    return;
  }
  const std::string log_file = vault_dir + "/tvaultd.log";
  const std::string ready = vault_dir + "/ready";
  const pid_t server =
      SpawnAs({TVAULTD_BIN, "serve", "--data-dir", vault_dir + "/data",
               "--db-key-file", vault_dir + "/db.key", "--listen", address,
               "--config", config, "--ready-file", ready},
              0, vault_dir, log_file, nullptr);
  for (int i = 0; i < 600 && !fs::exists(ready); ++i) {
    std::this_thread::sleep_for(std::chrono::milliseconds(50));
  }
  const auto stop_server = [&] {
    ::kill(server, SIGTERM);
    int st = 0;
    ::waitpid(server, &st, 0);
    return st;
  };
  if (!fs::exists(ready)) {
    report_.Violation(
        absl::StrCat("tvaultd did not start: ", ReadTestFile(log_file)));
    stop_server();
    return;
  }
  bool ok =
      !Tvault(reviewer, {"keys", "new", "--handle", "reviewer", "-o",
                         dir_ + "/reviewer.request"})
           .empty() &&
      !Tvault(admin, {"org", "certify", dir_ + "/reviewer.request", "--role",
                      "reviewer", "-o", dir_ + "/reviewer.cert", "--yes"})
           .empty() &&
      !Tvault(admin,
              {"org", "enrol", dir_ + "/reviewer.cert", "--bundle",
               dir_ + "/server.bundle", "-o", dir_ + "/reviewer.enrolment"})
           .empty() &&
      !Tvault(reviewer, {"enrol", dir_ + "/reviewer.enrolment"}).empty() &&
      !Tvault(reviewer, {"register"}).empty();
  out =
      ok ? Tvault(reviewer, {"case", "create", "--title", "Canary case"}) : "";
  const std::string case_id = WordAfter(out, "Case \"Canary case\" created: ");
  // The case's identity, exported to a file outside every searched place
  // (and removed once read).
  const std::string key_file = dir_ + "/case-key.txt";
  if (!case_id.empty()) {
    Tvault(reviewer, {"case", "export-key", case_id, "-o", key_file});
  }
  const std::string case_key = ReadTestFile(key_file);
  fs::remove(key_file);
  if (case_key.empty()) {
    stop_server();
    return;
  }

  // Families, one invite each, until the duration is spent (at least one).
  std::vector<Secret> secrets;
  std::vector<std::string> family_dirs;
  std::string control_testimony;
  const Clock::time_point end =
      Clock::now() + std::chrono::milliseconds(static_cast<int64_t>(
                         options_.duration_seconds * 1000));
  for (int n = 0; n == 0 || Clock::now() < end; ++n) {
    out = Tvault(reviewer, {"invite", "create", case_id, "--expires", "2d",
                            "--uses", "1"});
    const std::string invite = LineWith(out, "tvault-invite-1:");
    if (invite.empty()) break;
    const std::string family = absl::StrCat(dir_, "/family-", n);
    const std::string invite_file = absl::StrCat(dir_, "/invite-", n, ".txt");
    WriteTestFile(invite_file, invite + "\n", 0600);
    // A fresh home, working directory, $HOME and $XDG_DATA_HOME.
    for (const char* d : {"cwd", "phone-home", "xdg"}) {
      fs::create_directories(family + "-" + d);
      family_dirs.push_back(family + "-" + d);
    }
    family_dirs.push_back(family);
    const std::string canary = absl::StrCat(kCanary, "-", n);
    const std::string title = absl::StrCat(kTitleCanary, "-", n);
    const std::string testimony = absl::StrCat(dir_, "/testimony-", n, ".txt");
    WriteTestFile(testimony,
                  absl::StrCat("They came at night.\n", canary,
                               "\nThey took him to the station.\n"),
                  0600);
    if (n == 0) control_testimony = testimony;
    RunOptions phone;
    phone.working_dir = family + "-cwd";
    phone.extra_env = {"HOME=" + family + "-phone-home",
                       "XDG_DATA_HOME=" + family + "-xdg"};
    out = Tvault(family,
                 {"submit", testimony, "--invite", invite_file, "--title",
                  title, "--relation", "sister"},
                 phone, /*with_passphrase=*/false);
    fs::remove(invite_file);
    const std::string record = WordAfter(out, "stored record ");
    if (record.size() != 32) {
      report_.Violation(absl::StrCat(
          "the invite submission did not report its record: ", out));
      break;
    }
    report_.Count("invite submissions");
    // The reviewer reads it back: the canary did reach the vault.
    Tvault(reviewer, {"records", "get", record, "--case", case_id, "-o",
                      dir_ + "/read-back.txt"});
    if (!absl::StrContains(ReadTestFile(dir_ + "/read-back.txt"), canary)) {
      report_.Violation("the reviewer did not read the canary back");
    }
    fs::remove(dir_ + "/read-back.txt");
    secrets.push_back(
        {absl::StrCat("plaintext canary ", n), Encodings(canary)});
    secrets.push_back({absl::StrCat("title canary ", n), Encodings(title)});
    absl::StatusOr<crypto::ParsedInvite> parsed =
        crypto::ParseInvite(crypto::AsBytes(invite), vault::testing::Now());
    if (!parsed.ok()) {
      report_.Violation(
          absl::StrCat("cannot parse the invite: ", parsed.status().message()));
    } else {
      secrets.push_back(
          {absl::StrCat("the seed of invite ", n),
           Encodings(std::string(crypto::AsString(parsed->seed.span())))});
      secrets.push_back({absl::StrCat("invite string ", n), {invite}});
    }
  }

  // The keys.
  secrets.push_back({"the database key", {kTestDbKeyHex}});
  {
    const std::string identity = std::string(
        absl::StripAsciiWhitespace(LineWith(case_key, "AGE-SECRET-KEY-1")));
    absl::StatusOr<crypto::SecretBytes> raw =
        crypto::Bech32DecodeBytes(identity, "age-secret-key-");
    Secret s{"the case's age identity",
             {identity, absl::AsciiStrToLower(identity)}};
    if (raw.ok()) {
      for (std::string& f :
           Encodings(std::string(crypto::AsString(raw->span())))) {
        s.forms.push_back(std::move(f));
      }
    } else {
      report_.Violation(absl::StrCat("cannot decode the case identity: ",
                                     raw.status().message()));
    }
    secrets.push_back(std::move(s));
  }
  {
    absl::StatusOr<client::Home> home = client::Home::Open(reviewer);
    crypto::SecretBytes passphrase(sizeof kPassphrase - 2);  // no newline
    std::memcpy(passphrase.data(), kPassphrase, passphrase.size());
    absl::StatusOr<client::AccountKeys> keys =
        home.ok() ? client::UnlockAccount(*home, passphrase) : home.status();
    if (!keys.ok()) {
      report_.Violation(absl::StrCat("cannot open the reviewer's keystore: ",
                                     keys.status().message()));
    } else {
      const crypto::SecretBytes seed = keys->sign.Seed();
      secrets.push_back(
          {"the reviewer's signing key seed",
           Encodings(std::string(crypto::AsString(seed.span())))});
      const crypto::SecretBytes box = keys->box.Encode();
      const std::string box_text(crypto::AsString(box.span()));
      Secret s{"the reviewer's X25519 secret key",
               {box_text, absl::AsciiStrToLower(box_text)}};
      absl::StatusOr<crypto::SecretBytes> raw =
          crypto::Bech32DecodeBytes(box_text, "age-secret-key-");
      if (raw.ok()) {
        for (std::string& f :
             Encodings(std::string(crypto::AsString(raw->span())))) {
          s.forms.push_back(std::move(f));
        }
      }
      secrets.push_back(std::move(s));
    }
  }
  report_.Set("secrets searched for", static_cast<int64_t>(secrets.size()));
  // The search's own control: it finds the canary where it is.
  if (Found(secrets, ReadTestFile(control_testimony)).empty()) {
    report_.Violation("the search does not find the canary in the testimony");
  }

  // The families' side: nothing at all left.
  std::vector<std::string> left;
  for (const std::string& d : family_dirs) {
    for (std::string& file : FilesUnder(d)) left.push_back(std::move(file));
  }
  for (const std::string& file : left) {
    report_.Violation(absl::StrCat("an invite submission left a file: ", file));
  }
  Search(secrets, "the family's side", left);

  // The server's side, running (the WAL still holds recent pages) and
  // stopped.
  Search(secrets, "the vault's data directory (running)",
         FilesUnder(vault_dir + "/data"));
  const int stopped = stop_server();
  if (!WIFEXITED(stopped) || WEXITSTATUS(stopped) != 0) {
    report_.Violation(absl::StrCat("tvaultd did not stop cleanly: ", stopped));
  }
  std::vector<std::string> server_files = FilesUnder(vault_dir);
  // The database key file sits beside the data directory by the test's
  // choice (it is meant for other media); it is the one place its key is.
  server_files.erase(std::remove(server_files.begin(), server_files.end(),
                                 vault_dir + "/db.key"),
                     server_files.end());
  Search(secrets, "the vault's files and log (stopped)", server_files);
  report_.Set("server files searched after stop",
              static_cast<int64_t>(server_files.size()));
}

int CanaryRun::Run() {
  const Clock::time_point start = Clock::now();
  CheckCoreDumps();
  CheckCanaries();
  return report_.Finish(Clock::now() - start);
}

}  // namespace
}  // namespace tvault::reliability

int main(int argc, char** argv) {
  CLI::App app{
      "tvault_canaries: core dumps of tvaultd and tvault are disabled, and a "
      "plaintext canary and the client's keys never reach the server's "
      "files or logs, nor a family's device after an invite submission"};
  tvault::reliability::DriverOptions options;
  tvault::reliability::AddDriverOptions(app, options, 0);
  CLI11_PARSE(app, argc, argv);
  return tvault::reliability::RunInFreshDirectory(
      "tvault-canaries", [&](const std::string& dir) {
        tvault::reliability::CanaryRun run(dir, options);
        return run.Run();
      });
}
