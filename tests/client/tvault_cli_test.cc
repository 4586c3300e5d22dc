// End-to-end tests of the `tvault` command line against a real `tvaultd` on
// loopback, driven the way scripts/demo.sh drives them: an organisation
// root, a vault whose bundle the root signed, a reviewer, a lawyer
// (contributor) and a second reviewer, each enrolled and registered.
//
// Argon2id makes every organisation-root operation cost seconds (1 GiB, 4
// passes) and every member command about half a second (256 MiB, 3
// passes), so one organisation, vault and set of members (the Suite
// environment) serve every test; each test opens its own case, so tests
// stay independent. Tests that stop the vault start it again on the same
// port; the rollback test uses a vault of its own.
//
// Every check looks at the exit status and at the key words of the
// message: errors must say what went wrong.
#include <arpa/inet.h>
#include <netinet/in.h>
#include <signal.h>
#include <sqlite3.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <cstdint>
#include <filesystem>
#include <iostream>
#include <memory>
#include <random>
#include <string>
#include <thread>
#include <utility>
#include <vector>

#include "absl/strings/escaping.h"
#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "absl/strings/str_split.h"
#include "absl/strings/string_view.h"
#include "absl/strings/strip.h"
#include "client/account.h"
#include "client/home.h"
#include "client/org.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "proto/client.pb.h"
#include "tests/vault/vault_process.h"

namespace tvault::client {
namespace {

namespace fs = std::filesystem;
using ::testing::HasSubstr;
using ::testing::Not;
using vault::testing::kTestDbKeyHex;
using vault::testing::ReadTestFile;
using vault::testing::RunOptions;
using vault::testing::RunProgram;
using vault::testing::StartProgram;
using vault::testing::WaitProgram;
using vault::testing::WriteTestFile;

constexpr char kPassphrase[] = "cli test passphrase, for this run only\n";

// One finished command.
struct Outcome {
  int status = -1;
  std::string output;  // standard output and standard error
  // Exited with status 0.
  bool ok() const { return WIFEXITED(status) && WEXITSTATUS(status) == 0; }
  // Exited with a non-zero status (a refusal, not a crash).
  bool failed() const { return WIFEXITED(status) && WEXITSTATUS(status) != 0; }
};

Outcome Program(std::vector<std::string> argv, const RunOptions& options = {}) {
  Outcome r;
  r.status = RunProgram(argv, &r.output, options);
  return r;
}

Outcome Tvault(std::vector<std::string> args, const RunOptions& options = {}) {
  args.insert(args.begin(), TVAULT_BIN);
  return Program(std::move(args), options);
}

// The word after `marker` (up to white space), or "".
std::string After(absl::string_view text, absl::string_view marker) {
  const size_t at = text.find(marker);
  if (at == absl::string_view::npos) return "";
  absl::string_view rest = text.substr(at + marker.size());
  const size_t end = rest.find_first_of(" \t\r\n()\"");
  return std::string(rest.substr(0, end));
}

// The first line starting with `prefix`, or "".
std::string LineStartingWith(absl::string_view text, absl::string_view prefix) {
  for (absl::string_view line : absl::StrSplit(text, '\n')) {
    line = absl::StripSuffix(line, "\r");
    if (absl::StartsWith(line, prefix)) return std::string(line);
  }
  return "";
}

std::string LastLine(absl::string_view text) {
  std::vector<absl::string_view> lines =
      absl::StrSplit(text, '\n', absl::SkipWhitespace());
  return lines.empty() ? ""
                       : std::string(absl::StripAsciiWhitespace(lines.back()));
}

bool EmptyOrAbsent(const std::string& dir) {
  std::error_code ec;
  return !fs::exists(dir, ec) || fs::is_empty(dir, ec);
}

std::vector<std::string> Entries(const std::string& dir) {
  std::vector<std::string> out;
  std::error_code ec;
  for (const auto& e : fs::directory_iterator(dir, ec)) {
    out.push_back(e.path().filename().string());
  }
  return out;
}

// Wraps `s` in single quotes for /bin/sh.
std::string Quote(const std::string& s) {
  std::string out = "'";
  for (char c : s) {
    if (c == '\'') {
      out += "'\\''";
    } else {
      out += c;
    }
  }
  return out + "'";
}

std::string RandomBytes(size_t n, uint64_t seed) {
  std::mt19937_64 rng(seed);
  std::string out(n, '\0');
  for (size_t i = 0; i < n; i += 8) {
    const uint64_t v = rng();
    for (size_t j = 0; j < 8 && i + j < n; ++j) {
      out[i + j] = static_cast<char>(v >> (8 * j));
    }
  }
  return out;
}

// A loopback port nobody listens on right now.
int FreeLoopbackPort() {
  const int fd = ::socket(AF_INET, SOCK_STREAM, 0);
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  addr.sin_port = 0;
  socklen_t len = sizeof addr;
  int port = 0;
  if (fd >= 0 &&
      ::bind(fd, reinterpret_cast<sockaddr*>(&addr), sizeof addr) == 0 &&
      ::getsockname(fd, reinterpret_cast<sockaddr*>(&addr), &len) == 0) {
    port = ntohs(addr.sin_port);
  }
  if (fd >= 0) ::close(fd);
  return port;
}

// A tvaultd made by `tvaultd init` for a loopback address, served by
// `tvaultd serve` on that same address (so the signed bundle names it).
class CliVault {
 public:
  explicit CliVault(std::string dir)
      : dir_(std::move(dir)), port_(FreeLoopbackPort()) {}
  ~CliVault() {
    if (pid_ > 0) {
      ::kill(pid_, SIGKILL);
      WaitProgram(pid_);
    }
  }

  // Runs tvaultd init; returns the unsigned bundle (its last line).
  ::testing::AssertionResult Init(const std::string& org_key_hex,
                                  std::string* unsigned_bundle) {
    if (port_ == 0) return ::testing::AssertionFailure() << "no free port";
    WriteTestFile(db_key_file(), kTestDbKeyHex, 0600);
    Outcome r =
        Program({TVAULTD_BIN, "init", "--data-dir", data_dir(), "--org-key",
                 org_key_hex, "--db-key-file", db_key_file(), "--origin",
                 "cli-test.tvault.example/log", "--address", address()});
    if (!r.ok()) return ::testing::AssertionFailure() << r.output;
    *unsigned_bundle = LastLine(r.output);
    return ::testing::AssertionSuccess();
  }

  // Starts `tvaultd serve` and waits (up to 30 s) for DATA/tvaultd.ready.
  ::testing::AssertionResult Start() {
    const std::string ready = data_dir() + "/tvaultd.ready";
    // A killed vault leaves its ready file behind.
    std::error_code ec;
    fs::remove(ready, ec);
    log_files_.push_back(absl::StrCat(dir_, "/tvaultd-", ++starts_, ".log"));
    pid_ = StartProgram({TVAULTD_BIN, "serve", "--data-dir", data_dir(),
                         "--db-key-file", db_key_file(), "--listen", address()},
                        log_files_.back());
    if (pid_ <= 0) return ::testing::AssertionFailure() << "cannot spawn";
    const auto deadline =
        std::chrono::steady_clock::now() + std::chrono::seconds(30);
    while (std::chrono::steady_clock::now() < deadline) {
      int status = 0;
      if (::waitpid(pid_, &status, WNOHANG) == pid_) {
        pid_ = -1;
        return ::testing::AssertionFailure()
               << "tvaultd exited during start-up: " << log_text();
      }
      if (fs::exists(ready)) return ::testing::AssertionSuccess();
      std::this_thread::sleep_for(std::chrono::milliseconds(20));
    }
    return ::testing::AssertionFailure() << "tvaultd not ready in 30 s";
  }

  // SIGTERM; true if it exited with status 0.
  bool Stop() {
    if (pid_ <= 0) return false;
    ::kill(pid_, SIGTERM);
    const int status = WaitProgram(pid_);
    pid_ = -1;
    return WIFEXITED(status) && WEXITSTATUS(status) == 0;
  }

  // SIGKILL: the vault dies mid-call, as in a crash or a power cut.
  void Kill() {
    if (pid_ <= 0) return;
    ::kill(pid_, SIGKILL);
    WaitProgram(pid_);
    pid_ = -1;
  }

  bool running() const { return pid_ > 0; }
  std::string data_dir() const { return dir_ + "/data"; }
  std::string db_file() const { return data_dir() + "/vault.db"; }
  std::string db_key_file() const { return dir_ + "/db.key"; }
  std::string address() const { return absl::StrCat("127.0.0.1:", port_); }
  std::string log_text() const {
    std::string out;
    for (const std::string& f : log_files_) out += ReadTestFile(f);
    return out;
  }

 private:
  std::string dir_;
  int port_;
  pid_t pid_ = -1;
  int starts_ = 0;
  std::vector<std::string> log_files_;
};

// The vault's SQLCipher database, opened directly (the vault stopped, or
// for reading only while it runs: WAL mode allows one more reader).
class RawVaultDb {
 public:
  explicit RawVaultDb(const std::string& path) {
    ok_ = sqlite3_open_v2(path.c_str(), &db_, SQLITE_OPEN_READWRITE, nullptr) ==
          SQLITE_OK;
    const std::string key = absl::StrCat("x'", kTestDbKeyHex, "'");
    ok_ = ok_ &&
          sqlite3_key(db_, key.data(), static_cast<int>(key.size())) ==
              SQLITE_OK &&
          sqlite3_exec(db_, "PRAGMA cipher_page_size = 4096", nullptr, nullptr,
                       nullptr) == SQLITE_OK &&
          sqlite3_busy_timeout(db_, 5000) == SQLITE_OK;
  }
  ~RawVaultDb() { sqlite3_close_v2(db_); }
  RawVaultDb(const RawVaultDb&) = delete;
  RawVaultDb& operator=(const RawVaultDb&) = delete;

  bool ok() const { return ok_; }
  sqlite3* get() const { return db_; }
  std::string error() const { return sqlite3_errmsg(db_); }

 private:
  sqlite3* db_ = nullptr;
  bool ok_ = false;
};

// (held_bytes, total_size) of the upload of `record_id` (16 bytes), or
// (-1, -1) if the vault has no such upload (not started, or committed).
std::pair<int64_t, int64_t> UploadProgress(const std::string& db_file,
                                           const std::string& record_id) {
  RawVaultDb db(db_file);
  std::pair<int64_t, int64_t> out{-1, -1};
  if (!db.ok()) return out;
  sqlite3_stmt* stmt = nullptr;
  if (sqlite3_prepare_v2(
          db.get(),
          "SELECT held_bytes, total_size FROM uploads WHERE record_id = ?1", -1,
          &stmt, nullptr) != SQLITE_OK) {
    return out;
  }
  sqlite3_bind_blob(stmt, 1, record_id.data(),
                    static_cast<int>(record_id.size()), SQLITE_TRANSIENT);
  if (sqlite3_step(stmt) == SQLITE_ROW) {
    out = {sqlite3_column_int64(stmt, 0), sqlite3_column_int64(stmt, 1)};
  }
  sqlite3_finalize(stmt);
  return out;
}

// The one organisation, vault and set of members of the whole suite.
class Suite : public ::testing::Environment {
 public:
  void SetUp() override;
  void TearDown() override {
    vault.reset();
    std::error_code ec;
    if (!root.empty()) fs::remove_all(root, ec);
  }

  std::string Home(const std::string& handle) const {
    return root + "/homes/" + handle;
  }
  std::string Pristine(const std::string& handle) const {
    return root + "/pristine/" + handle;
  }
  std::string Cert(const std::string& handle) const {
    return root + "/people/" + handle + ".cert";
  }
  std::string People(const std::string& name) const {
    return root + "/people/" + name;
  }

  // tvault --home HOME --passphrase-file PASS ARGS...
  Outcome As(const std::string& home, std::vector<std::string> args,
             const RunOptions& options = {}) const {
    args.insert(args.begin(), {"--home", home, "--passphrase-file", pass});
    return Tvault(std::move(args), options);
  }
  Outcome Admin(std::vector<std::string> args) const {
    return As(admin, std::move(args));
  }

  // Enrols the keys in `home` (certified as `cert`) with the vault whose
  // signed bundle is `bundle`, and registers them.
  ::testing::AssertionResult EnrolAndRegister(const std::string& home,
                                              const std::string& cert,
                                              const std::string& signed_bundle,
                                              const std::string& package) {
    Outcome r =
        Admin({"org", "enrol", cert, "--bundle", signed_bundle, "-o", package});
    if (!r.ok())
      return ::testing::AssertionFailure() << "org enrol: " << r.output;
    r = As(home, {"enrol", package});
    if (!r.ok()) return ::testing::AssertionFailure() << "enrol: " << r.output;
    r = As(home, {"register"});
    if (!r.ok())
      return ::testing::AssertionFailure() << "register: " << r.output;
    return ::testing::AssertionSuccess();
  }

  std::string root;
  std::string pass;
  std::string admin;
  std::string org_key_hex;
  std::string unsigned_bundle_file;
  std::string bundle;  // the signed bundle of `vault`
  std::unique_ptr<CliVault> vault;
  bool ready = false;
};

Suite* suite = nullptr;

void Suite::SetUp() {
  char tmpl[] = "/tmp/tvault-cli-XXXXXX";
  ASSERT_NE(::mkdtemp(tmpl), nullptr);
  root = tmpl;
  for (const char* d : {"homes", "pristine", "people", "vault"}) {
    fs::create_directories(root + "/" + d);
  }
  pass = People("passphrase");
  WriteTestFile(pass, kPassphrase, 0600);
  admin = Home("admin");

  Outcome r = Admin({"org", "init"});
  ASSERT_TRUE(r.ok()) << r.output;
  org_key_hex =
      After(r.output, "organisation public key (for tvaultd init --org-key): ");
  ASSERT_EQ(org_key_hex.size(), 64u) << r.output;

  vault = std::make_unique<CliVault>(root + "/vault");
  std::string unsigned_bundle;
  ASSERT_TRUE(vault->Init(org_key_hex, &unsigned_bundle));
  unsigned_bundle_file = People("bundle.unsigned");
  WriteTestFile(unsigned_bundle_file, unsigned_bundle + "\n", 0600);
  bundle = People("server.bundle");
  r = Admin({"org", "sign-bundle", unsigned_bundle_file, "-o", bundle});
  ASSERT_TRUE(r.ok()) << r.output;
  ASSERT_THAT(r.output, HasSubstr(vault->address()));
  ASSERT_TRUE(vault->Start());

  for (const auto& [handle, role] :
       std::vector<std::pair<std::string, std::string>>{
           {"reviewer", "reviewer"},
           {"lawyer", "contributor"},
           {"reviewer2", "reviewer"}}) {
    const std::string request = People(handle + ".request");
    r = As(Home(handle), {"keys", "new", "--handle", handle, "-o", request});
    ASSERT_TRUE(r.ok()) << r.output;
    // Keys made, nothing enrolled: for tests that enrol elsewhere.
    fs::copy(Home(handle), Pristine(handle), fs::copy_options::recursive);
    r = Admin({"org", "certify", request, "--role", role, "-o", Cert(handle),
               "--yes"});
    ASSERT_TRUE(r.ok()) << r.output;
    ASSERT_TRUE(EnrolAndRegister(Home(handle), Cert(handle), bundle,
                                 People(handle + ".enrolment")));
  }
  ready = true;
}

// A fresh directory per test, and the suite's people.
class TvaultCliTest : public ::testing::Test {
 protected:
  void SetUp() override {
    ASSERT_NE(suite, nullptr);
    ASSERT_TRUE(suite->ready) << "the suite's organisation was not set up";
    if (!suite->vault->running()) {
      ASSERT_TRUE(suite->vault->Start());
    }
    char tmpl[] = "/tmp/tvault-cli-test-XXXXXX";
    ASSERT_NE(::mkdtemp(tmpl), nullptr);
    dir_ = tmpl;
  }
  void TearDown() override {
    // A test that stopped the vault and failed leaves it to the next.
    if (suite != nullptr && suite->vault && !suite->vault->running()) {
      EXPECT_TRUE(suite->vault->Start());
    }
    std::error_code ec;
    fs::remove_all(dir_, ec);
  }

  std::string File(const std::string& name) const { return dir_ + "/" + name; }
  std::string Reviewer() const { return suite->Home("reviewer"); }
  std::string Lawyer() const { return suite->Home("lawyer"); }
  std::string Reviewer2() const { return suite->Home("reviewer2"); }
  Outcome As(const std::string& home, std::vector<std::string> args,
             const RunOptions& options = {}) const {
    return suite->As(home, std::move(args), options);
  }

  struct TestCase {
    std::string id;    // hex
    std::string card;  // file
  };
  // A case owned by the reviewer; with `with_lawyer`, the lawyer is added
  // (epoch 1) and has pinned it.
  TestCase OpenCase(const std::string& title, bool with_lawyer = true) {
    TestCase c;
    Outcome r = As(Reviewer(), {"case", "create", "--title", title});
    EXPECT_TRUE(r.ok()) << r.output;
    c.id = After(r.output, absl::StrCat("Case \"", title, "\" created: "));
    EXPECT_EQ(c.id.size(), 32u) << r.output;
    c.card = File("case.card");
    WriteTestFile(c.card, LineStartingWith(r.output, "tvault-case-1:") + "\n",
                  0600);
    if (!with_lawyer) return c;
    r = As(Reviewer(),
           {"case", "add-member", c.id, suite->Cert("lawyer"), "--yes"});
    EXPECT_TRUE(r.ok()) << r.output;
    EXPECT_THAT(r.output, HasSubstr("now at epoch 1"));
    r = As(Lawyer(), {"case", "join", c.card});
    EXPECT_TRUE(r.ok()) << r.output;
    return c;
  }

  // The lawyer submits `data` (as file `name`) to the case; returns the
  // record id (hex).
  std::string LawyerSubmits(const TestCase& c, const std::string& name,
                            const std::string& data) {
    WriteTestFile(File(name), data, 0600);
    Outcome r = As(Lawyer(), {"submit", File(name), "--case", c.id, "--kind",
                              "meeting-transcript", "--title", name});
    EXPECT_TRUE(r.ok()) << r.output;
    EXPECT_THAT(r.output, HasSubstr("Receipt verified"));
    const std::string id = After(r.output, "stored record ");
    EXPECT_EQ(id.size(), 32u) << r.output;
    return id;
  }

  // An invite string for the case, written to a file; `key` gets the
  // invite key (hex).
  std::string MakeInvite(const TestCase& c, const std::string& uses,
                         std::string* key = nullptr) {
    Outcome r = As(Reviewer(), {"invite", "create", c.id, "--expires", "2d",
                                "--uses", uses});
    EXPECT_TRUE(r.ok()) << r.output;
    const std::string text = LineStartingWith(r.output, "tvault-invite-1:");
    EXPECT_FALSE(text.empty()) << r.output;
    if (key != nullptr) *key = After(r.output, "invite key: ");
    const std::string path = File("invite.txt");
    WriteTestFile(path, text + "\n", 0600);
    return path;
  }

  // A submission running in the background, caught while the vault holds
  // part of it (held.first > 0) unless it ended first (exited).
  struct BackgroundSubmit {
    pid_t pid = -1;
    std::string record_id;  // 16 bytes; empty until sealed in the outbox
    std::pair<int64_t, int64_t> held{-1, -1};  // UploadProgress
    bool exited = false;
    std::string log;
  };
  // Starts the lawyer's `tvault submit FILE --case CASE` and returns once
  // the vault's database shows some bytes of its upload (polled every 5
  // ms), or once it ended (at most 120 s).
  BackgroundSubmit StartSubmit(const TestCase& c, const std::string& file) {
    BackgroundSubmit b;
    b.log = File("submit.log");
    b.pid = StartProgram(
        {TVAULT_BIN, "--home", Lawyer(), "--passphrase-file", suite->pass,
         "submit", file, "--case", c.id, "--kind", "video", "--title", "Big"},
        b.log);
    if (b.pid <= 0) return b;
    // The record id shows once the sealed record is in the outbox.
    const std::string outbox = Lawyer() + "/outbox";
    const auto deadline =
        std::chrono::steady_clock::now() + std::chrono::seconds(120);
    while (std::chrono::steady_clock::now() < deadline) {
      int status = 0;
      if (::waitpid(b.pid, &status, WNOHANG) == b.pid) {
        b.exited = true;
        break;
      }
      if (b.record_id.empty()) {
        for (const std::string& name : Entries(outbox)) {
          if (absl::EndsWith(name, ".age") && name.size() == 36) {
            b.record_id = absl::HexStringToBytes(name.substr(0, 32));
          }
        }
      }
      if (!b.record_id.empty()) {
        b.held = UploadProgress(suite->vault->db_file(), b.record_id);
        if (b.held.first > 0) break;
      }
      std::this_thread::sleep_for(std::chrono::milliseconds(5));
    }
    return b;
  }

  // `tvault outbox send` as the lawyer, under a terminal (script(1)) so
  // that the progress shows (and says "resuming").
  Outcome LawyerSendsOutboxOnTerminal() {
    const std::string command = absl::StrJoin(
        {Quote(TVAULT_BIN), std::string("--home"), Quote(Lawyer()),
         std::string("--passphrase-file"), Quote(suite->pass),
         std::string("outbox"), std::string("send")},
        " ");
    return Program({"/usr/bin/script", "-q", "-e", "-c", command, "/dev/null"});
  }

  std::string dir_;
};

// 2. A revoked invite is refused at once, with a message saying so, and
// nothing reaches the case.
TEST_F(TvaultCliTest, RevokedInviteFailsClearly) {
  const TestCase c = OpenCase("Revoked invite", /*with_lawyer=*/false);
  ASSERT_FALSE(HasFailure()) << "could not open the case";
  std::string key;
  const std::string invite = MakeInvite(c, "1", &key);
  ASSERT_EQ(key.size(), 64u);

  Outcome r = As(Reviewer(), {"invite", "revoke", c.id, key});
  ASSERT_TRUE(r.ok()) << r.output;
  EXPECT_THAT(r.output, HasSubstr("Invite revoked"));

  WriteTestFile(File("testimony.txt"), "what I saw\n", 0600);
  r = Tvault({"--home", File("family"), "submit", File("testimony.txt"),
              "--invite", invite, "--title", "After the revocation"});
  EXPECT_TRUE(r.failed()) << r.output;
  EXPECT_THAT(r.output, HasSubstr("tvault: error:"));
  EXPECT_THAT(r.output,
              ::testing::AnyOf(HasSubstr("revoked"), HasSubstr("not valid")));
  EXPECT_THAT(r.output, Not(HasSubstr("Sent.")));
  EXPECT_TRUE(EmptyOrAbsent(File("family")));

  r = As(Reviewer(), {"records", "list", c.id});
  ASSERT_TRUE(r.ok()) << r.output;
  EXPECT_THAT(r.output, HasSubstr("No records in this case yet."));
}

// Issue 5: `log events` lists a case's history from the verified log;
// `log show` prints the checkpoint and its fingerprint; `log verify` checks
// every entry against it.
TEST_F(TvaultCliTest, LogCommandsShowTheCaseHistory) {
  const TestCase c = OpenCase("Log history");
  ASSERT_FALSE(HasFailure()) << "could not open the case";
  std::string key;
  MakeInvite(c, "1", &key);
  Outcome r = As(Reviewer(), {"invite", "revoke", c.id, key});
  ASSERT_TRUE(r.ok()) << r.output;
  const std::string id = LawyerSubmits(c, "gone.txt", "to be deleted\n");
  r = As(Reviewer(),
         {"records", "delete", id, "--reason", "duplicate", "--yes"});
  ASSERT_TRUE(r.ok()) << r.output;
  EXPECT_THAT(r.output, HasSubstr("Deletion requested and logged"));

  r = As(Reviewer(), {"log", "events", c.id});
  ASSERT_TRUE(r.ok()) << r.output;
  EXPECT_THAT(r.output, HasSubstr("epoch 0 started; reviewers: reviewer"));
  EXPECT_THAT(r.output, HasSubstr("contributors: lawyer"));
  EXPECT_THAT(r.output, HasSubstr("key of epoch 1 granted to reviewer"));
  EXPECT_THAT(r.output, HasSubstr(key.substr(0, 16) + "… created"));
  EXPECT_THAT(r.output, HasSubstr(key.substr(0, 16) + "… revoked"));
  EXPECT_THAT(r.output, HasSubstr("record " + id + " added"));
  EXPECT_THAT(r.output, HasSubstr("deletion of record " + id + " requested"));

  r = As(Reviewer(), {"log", "show"});
  ASSERT_TRUE(r.ok()) << r.output;
  EXPECT_THAT(r.output, HasSubstr("fingerprint"));
  EXPECT_THAT(r.output, HasSubstr("\n\n\u2014 "));  // a signed note
  r = As(Reviewer(), {"log", "verify"});
  ASSERT_TRUE(r.ok()) << r.output;
  EXPECT_THAT(r.output, HasSubstr("consistent with everything this device"));

  // Not an owner: a contributor cannot ask for a deletion.
  r = As(Lawyer(), {"records", "delete", id, "--yes"});
  EXPECT_TRUE(r.failed()) << r.output;
}

// 3. A removed reviewer keeps what they were granted but gets no key for
// the epoch that starts without them.
TEST_F(TvaultCliTest, RemovedReviewerCannotReadNewEpoch) {
  const TestCase c = OpenCase("Removed reviewer");
  ASSERT_FALSE(HasFailure()) << "could not open the case";
  const std::string old_id = LawyerSubmits(c, "before.txt", "before\n");

  Outcome r = As(Reviewer(), {"case", "add-member", c.id,
                              suite->Cert("reviewer2"), "--yes"});
  ASSERT_TRUE(r.ok()) << r.output;
  EXPECT_THAT(r.output, HasSubstr("now at epoch 2"));
  r = As(Reviewer2(), {"case", "join", c.card});
  ASSERT_TRUE(r.ok()) << r.output;

  r = As(Reviewer(), {"case", "remove-member", c.id, "reviewer2", "--yes"});
  ASSERT_TRUE(r.ok()) << r.output;
  EXPECT_THAT(r.output, HasSubstr("\"reviewer2\" removed"));
  EXPECT_THAT(r.output, HasSubstr("now at epoch 3"));

  const std::string new_id = LawyerSubmits(c, "after.txt", "after\n");

  // The owner, still a member, reads the new record.
  r = As(Reviewer(),
         {"records", "get", new_id, "--case", c.id, "-o", File("after.owner")});
  ASSERT_TRUE(r.ok()) << r.output;
  EXPECT_EQ(ReadTestFile(File("after.owner")), "after\n");

  // The removed reviewer does not: the vault lists them no record of epoch
  // 3 (and they hold no key for it).
  r = As(Reviewer2(),
         {"records", "get", new_id, "--case", c.id, "-o", File("after.out")});
  EXPECT_TRUE(r.failed()) << r.output;
  EXPECT_THAT(r.output, ::testing::AnyOf(HasSubstr("no key for epoch 3"),
                                         HasSubstr("cases you can read")));
  EXPECT_FALSE(fs::exists(File("after.out")));

  r = As(Reviewer2(),
         {"records", "get", old_id, "--case", c.id, "-o", File("before.out")});
  ASSERT_TRUE(r.ok()) << r.output;
  EXPECT_THAT(r.output, HasSubstr("verified"));
  EXPECT_EQ(ReadTestFile(File("before.out")), "before\n");
}

// 4. A contributor uploads but cannot list or read the case's records.
TEST_F(TvaultCliTest, ContributorCannotRead) {
  const TestCase c = OpenCase("Contributor");
  ASSERT_FALSE(HasFailure()) << "could not open the case";
  const std::string id = LawyerSubmits(c, "visit.txt", "visit notes\n");

  Outcome r = As(Lawyer(), {"records", "list", c.id});
  EXPECT_TRUE(r.failed()) << r.output;
  EXPECT_THAT(r.output, HasSubstr("tvault: error:"));
  EXPECT_THAT(r.output, HasSubstr("refused"));
  EXPECT_THAT(r.output, HasSubstr("only reviewers"));

  r = As(Lawyer(),
         {"records", "get", id, "--case", c.id, "-o", File("visit.out")});
  EXPECT_TRUE(r.failed()) << r.output;
  EXPECT_THAT(r.output, HasSubstr("tvault: error:"));
  EXPECT_THAT(r.output, ::testing::AnyOf(
                            HasSubstr("permission"), HasSubstr("not allowed"),
                            HasSubstr("reviewer"), HasSubstr("can read")));
  EXPECT_FALSE(fs::exists(File("visit.out")));
}

// 5. With the vault down, an account submission waits in the outbox and
// goes once the vault is back.
TEST_F(TvaultCliTest, OutboxSendsOnceVaultIsBack) {
  const TestCase c = OpenCase("Outbox");
  ASSERT_FALSE(HasFailure()) << "could not open the case";
  const std::string data = RandomBytes(200 * 1024, 5);
  WriteTestFile(File("scan.pdf"), data, 0600);

  ASSERT_TRUE(suite->vault->Stop());
  Outcome r = As(Lawyer(), {"submit", File("scan.pdf"), "--case", c.id,
                            "--kind", "document", "--title", "Scan"});
  EXPECT_TRUE(r.failed()) << r.output;
  Outcome list = As(Lawyer(), {"outbox", "list"});
  if (!absl::StrContains(r.output, "outbox")) {
    ASSERT_TRUE(suite->vault->Start());
    FAIL() << "an unsent record must wait in the outbox: " << r.output;
  }
  ASSERT_TRUE(list.ok()) << list.output;
  EXPECT_THAT(list.output, HasSubstr("scan.pdf"));
  EXPECT_THAT(list.output, HasSubstr(c.id));
  const std::string id = list.output.substr(0, 32);

  ASSERT_TRUE(suite->vault->Start());
  r = As(Lawyer(), {"outbox", "send"});
  ASSERT_TRUE(r.ok()) << r.output;
  EXPECT_THAT(r.output, HasSubstr("Sent."));
  EXPECT_THAT(r.output, HasSubstr(id));
  r = As(Lawyer(), {"outbox", "list"});
  EXPECT_THAT(r.output, HasSubstr("The outbox is empty."));

  r = As(Reviewer(),
         {"records", "get", id, "--case", c.id, "-o", File("scan.out")});
  ASSERT_TRUE(r.ok()) << r.output;
  EXPECT_TRUE(ReadTestFile(File("scan.out")) == data);
}

// 6. A client killed in the middle of an upload leaves the record in the
// outbox; `outbox send` resumes where the vault stopped, and the reviewer
// gets the original bytes.
TEST_F(TvaultCliTest, InterruptedUploadResumes) {
  const TestCase c = OpenCase("Interrupted upload");
  ASSERT_FALSE(HasFailure()) << "could not open the case";
  const std::string data = RandomBytes(size_t{50} << 20, 6);
  WriteTestFile(File("video.bin"), data, 0600);

  BackgroundSubmit b = StartSubmit(c, File("video.bin"));
  ASSERT_GT(b.pid, 0);
  if (!b.exited) {
    ::kill(b.pid, SIGKILL);
    const int status = WaitProgram(b.pid);
    EXPECT_TRUE(WIFSIGNALED(status)) << ReadTestFile(b.log);
  }
  ASSERT_FALSE(b.record_id.empty()) << ReadTestFile(b.log);
  const std::string id_hex = absl::BytesToHexString(b.record_id);
  // What the vault holds after the kill (the last message may have landed).
  const std::pair<int64_t, int64_t> held =
      UploadProgress(suite->vault->db_file(), b.record_id);
  const bool exited = b.exited;
  const bool interrupted =
      !exited && held.first > 0 && held.first < held.second;

  Outcome r = As(Lawyer(), {"outbox", "list"});
  ASSERT_TRUE(r.ok()) << r.output;
  if (!exited) {
    EXPECT_THAT(r.output, HasSubstr(id_hex));
  }

  r = LawyerSendsOutboxOnTerminal();
  ASSERT_TRUE(r.ok()) << r.output;
  EXPECT_THAT(r.output, HasSubstr("Sent."));
  EXPECT_THAT(r.output, HasSubstr(id_hex));
  if (interrupted) {
    EXPECT_THAT(r.output, HasSubstr("resuming"))
        << "the vault held " << held.first << " of " << held.second << " bytes";
    std::cerr << "note: client killed with " << held.first << " of "
              << held.second << " bytes held; the send resumed\n";
  } else {
    std::cerr << "note: the upload was not caught mid-way (held " << held.first
              << " of " << held.second << "); resumption not observed\n";
  }
  r = As(Lawyer(), {"outbox", "list"});
  EXPECT_THAT(r.output, HasSubstr("The outbox is empty."));

  r = As(Reviewer(),
         {"records", "get", id_hex, "--case", c.id, "-o", File("video.out")});
  ASSERT_TRUE(r.ok()) << r.output;
  EXPECT_TRUE(ReadTestFile(File("video.out")) == data)
      << "the downloaded file differs from the original";
}

// 5b. The vault dies in the middle of an upload: the client gives up
// after its retries, keeps the record in the outbox and says so; once the
// vault is back, `outbox send` resumes it and the reviewer gets the
// original bytes.
TEST_F(TvaultCliTest, OutboxKeepsUploadWhenVaultDiesMidway) {
  const TestCase c = OpenCase("Vault dies midway");
  ASSERT_FALSE(HasFailure()) << "could not open the case";
  const std::string data = RandomBytes(size_t{32} << 20, 55);
  WriteTestFile(File("video.bin"), data, 0600);

  BackgroundSubmit b = StartSubmit(c, File("video.bin"));
  ASSERT_GT(b.pid, 0);
  ASSERT_FALSE(b.exited) << "the upload ended before the vault could die: "
                         << ReadTestFile(b.log);
  suite->vault->Kill();
  const int status = WaitProgram(b.pid);
  const std::string output = ReadTestFile(b.log);
  ASSERT_TRUE(WIFEXITED(status) && WEXITSTATUS(status) != 0) << output;
  EXPECT_THAT(output, HasSubstr("tvault: error:"));
  EXPECT_THAT(output, HasSubstr("outbox"));
  EXPECT_THAT(output, HasSubstr("tvault outbox send"));
  const std::string id_hex = absl::BytesToHexString(b.record_id);

  Outcome r = As(Lawyer(), {"outbox", "list"});
  ASSERT_TRUE(r.ok()) << r.output;
  EXPECT_THAT(r.output, HasSubstr(id_hex));
  EXPECT_THAT(r.output, HasSubstr(c.id));

  ASSERT_TRUE(suite->vault->Start());
  const std::pair<int64_t, int64_t> held =
      UploadProgress(suite->vault->db_file(), b.record_id);
  r = LawyerSendsOutboxOnTerminal();
  ASSERT_TRUE(r.ok()) << r.output;
  EXPECT_THAT(r.output, HasSubstr("Sent."));
  EXPECT_THAT(r.output, HasSubstr(id_hex));
  if (held.first > 0) {
    EXPECT_THAT(r.output, HasSubstr("resuming"));
  }
  r = As(Lawyer(), {"outbox", "list"});
  EXPECT_THAT(r.output, HasSubstr("The outbox is empty."));

  r = As(Reviewer(),
         {"records", "get", id_hex, "--case", c.id, "-o", File("video.out")});
  ASSERT_TRUE(r.ok()) << r.output;
  EXPECT_TRUE(ReadTestFile(File("video.out")) == data)
      << "the downloaded file differs from the original";
}

// 7. A record whose stored ciphertext changed on the server is refused,
// and nothing is written.
TEST_F(TvaultCliTest, RecordChangedOnServerIsRefused) {
  const TestCase c = OpenCase("Changed record");
  ASSERT_FALSE(HasFailure()) << "could not open the case";
  const std::string id = LawyerSubmits(c, "notes.txt", "original notes\n");

  ASSERT_TRUE(suite->vault->Stop());
  {
    RawVaultDb db(suite->vault->db_file());
    ASSERT_TRUE(db.ok()) << db.error();
    const std::string record_id = absl::HexStringToBytes(id);
    sqlite3_stmt* stmt = nullptr;
    ASSERT_EQ(sqlite3_prepare_v2(db.get(),
                                 "SELECT id, data FROM chunks WHERE record_id "
                                 "= ?1 ORDER BY byte_offset LIMIT 1",
                                 -1, &stmt, nullptr),
              SQLITE_OK)
        << db.error();
    sqlite3_bind_blob(stmt, 1, record_id.data(),
                      static_cast<int>(record_id.size()), SQLITE_TRANSIENT);
    ASSERT_EQ(sqlite3_step(stmt), SQLITE_ROW) << db.error();
    const int64_t row = sqlite3_column_int64(stmt, 0);
    std::string data(static_cast<const char*>(sqlite3_column_blob(stmt, 1)),
                     static_cast<size_t>(sqlite3_column_bytes(stmt, 1)));
    sqlite3_finalize(stmt);
    // Past the age header, inside the first STREAM chunk.
    ASSERT_GT(data.size(), 4096u);
    data[data.size() / 2] ^= 0x01;
    ASSERT_EQ(sqlite3_prepare_v2(db.get(),
                                 "UPDATE chunks SET data = ?1 WHERE id = ?2",
                                 -1, &stmt, nullptr),
              SQLITE_OK)
        << db.error();
    sqlite3_bind_blob(stmt, 1, data.data(), static_cast<int>(data.size()),
                      SQLITE_TRANSIENT);
    sqlite3_bind_int64(stmt, 2, row);
    EXPECT_EQ(sqlite3_step(stmt), SQLITE_DONE) << db.error();
    sqlite3_finalize(stmt);
    EXPECT_EQ(sqlite3_changes(db.get()), 1);
  }
  ASSERT_TRUE(suite->vault->Start());

  fs::create_directories(File("out"));
  Outcome r = As(Reviewer(), {"records", "get", id, "--case", c.id, "-o",
                              File("out/notes.txt"), "--ciphertext",
                              File("out/notes.age")});
  EXPECT_TRUE(r.failed()) << r.output;
  EXPECT_THAT(r.output, HasSubstr("does not verify"));
  EXPECT_THAT(r.output, HasSubstr("nothing was written"));
  EXPECT_FALSE(fs::exists(File("out/notes.txt")));
  EXPECT_FALSE(fs::exists(File("out/notes.age")));
  EXPECT_THAT(Entries(File("out")), ::testing::IsEmpty());
}

// 8. A vault restored from an old copy is caught: first by the log
// monitor (the log shrank), then, with this device's checkpoint gone, by
// the case's epoch.
TEST_F(TvaultCliTest, RollbackRefused) {
  // A vault of its own (a rollback would break the suite's), with the
  // suite's reviewers' keys enrolled there.
  CliVault vault(File("vault"));
  fs::create_directories(File("vault"));
  std::string unsigned_bundle;
  ASSERT_TRUE(vault.Init(suite->org_key_hex, &unsigned_bundle));
  WriteTestFile(File("bundle.unsigned"), unsigned_bundle + "\n", 0600);
  Outcome r = suite->Admin({"org", "sign-bundle", File("bundle.unsigned"), "-o",
                            File("server.bundle")});
  ASSERT_TRUE(r.ok()) << r.output;
  ASSERT_TRUE(vault.Start());
  const std::string owner = File("reviewer");
  const std::string other = File("reviewer2");
  fs::copy(suite->Pristine("reviewer"), owner, fs::copy_options::recursive);
  fs::copy(suite->Pristine("reviewer2"), other, fs::copy_options::recursive);
  ASSERT_TRUE(suite->EnrolAndRegister(owner, suite->Cert("reviewer"),
                                      File("server.bundle"),
                                      File("reviewer.enrolment")));
  ASSERT_TRUE(suite->EnrolAndRegister(other, suite->Cert("reviewer2"),
                                      File("server.bundle"),
                                      File("reviewer2.enrolment")));

  r = As(owner, {"case", "create", "--title", "Rollback"});
  ASSERT_TRUE(r.ok()) << r.output;
  const std::string id = After(r.output, "Case \"Rollback\" created: ");
  ASSERT_EQ(id.size(), 32u) << r.output;

  ASSERT_TRUE(vault.Stop());
  fs::copy(vault.data_dir(), File("data.old"), fs::copy_options::recursive);
  ASSERT_TRUE(vault.Start());

  r = As(owner, {"case", "add-member", id, suite->Cert("reviewer2"), "--yes"});
  ASSERT_TRUE(r.ok()) << r.output;
  EXPECT_THAT(r.output, HasSubstr("now at epoch 1"));
  r = As(owner, {"records", "list", id});
  ASSERT_TRUE(r.ok()) << r.output;

  ASSERT_TRUE(vault.Stop());
  fs::remove_all(vault.data_dir());
  fs::copy(File("data.old"), vault.data_dir(), fs::copy_options::recursive);
  ASSERT_TRUE(vault.Start()) << vault.log_text();

  r = As(owner, {"records", "list", id});
  EXPECT_TRUE(r.failed()) << r.output;
  EXPECT_THAT(r.output, HasSubstr("ROLLBACK"));
  EXPECT_THAT(r.output, HasSubstr("fewer than"));
  bool evidence = false;
  for (const std::string& name : Entries(owner + "/vault")) {
    evidence = evidence || absl::StartsWith(name, "evidence-");
  }
  EXPECT_TRUE(evidence) << "no evidence file kept";

  // Without the checkpoint, the case's pinned epoch still catches it.
  ASSERT_TRUE(fs::remove(owner + "/vault/checkpoint"));
  r = As(owner, {"records", "list", id});
  EXPECT_TRUE(r.failed()) << r.output;
  EXPECT_THAT(r.output,
              HasSubstr("ROLLBACK: the vault shows this case at epoch 0"));
  EXPECT_THAT(r.output, HasSubstr("has seen epoch 1"));
  EXPECT_TRUE(vault.Stop());
}

// 9. An enrolment package whose server bundle another organisation signed
// is refused, both when the administrator makes it and when the member
// enrols with it.
TEST_F(TvaultCliTest, UnsignedBundleRefused) {
  const std::string other_org = File("other-org");
  Outcome r = suite->As(other_org, {"org", "init"});
  ASSERT_TRUE(r.ok()) << r.output;
  r = suite->As(other_org, {"org", "sign-bundle", suite->unsigned_bundle_file,
                            "-o", File("other.bundle")});
  ASSERT_TRUE(r.ok()) << r.output;

  r = suite->Admin({"org", "enrol", suite->Cert("reviewer"), "--bundle",
                    File("other.bundle"), "-o", File("admin.enrolment")});
  EXPECT_TRUE(r.failed()) << r.output;
  EXPECT_THAT(r.output, HasSubstr("not signed by this organisation"));
  EXPECT_FALSE(fs::exists(File("admin.enrolment")));

  // The same package, put together by hand.
  tvault::v1::EnrolmentPackage package;
  package.set_version(1);
  package.set_org_pk(absl::HexStringToBytes(suite->org_key_hex));
  absl::StatusOr<std::string> text = ReadCarriedFile(suite->Cert("reviewer"));
  ASSERT_TRUE(text.ok()) << text.status();
  ASSERT_TRUE(DecodeCarried(kCertificatePrefix, *text, "a certificate",
                            *package.mutable_certificate())
                  .ok());
  text = ReadCarriedFile(File("other.bundle"));
  ASSERT_TRUE(text.ok()) << text.status();
  ASSERT_TRUE(DecodeCarried(kBundlePrefix, *text, "a bundle",
                            *package.mutable_server_bundle())
                  .ok());
  WriteTestFile(File("forged.enrolment"),
                EncodeCarried(kEnrolmentPrefix, package) + "\n", 0600);

  const std::string home = File("reviewer");
  fs::copy(suite->Pristine("reviewer"), home, fs::copy_options::recursive);
  r = Tvault({"--home", home, "enrol", File("forged.enrolment")});
  EXPECT_TRUE(r.failed()) << r.output;
  EXPECT_THAT(r.output, HasSubstr("not signed by the organisation"));
  EXPECT_FALSE(fs::exists(home + "/" + kEnrolmentFile));

  // The organisation's own bundle enrols the same keys.
  r = suite->Admin({"org", "enrol", suite->Cert("reviewer"), "--bundle",
                    suite->bundle, "-o", File("good.enrolment")});
  ASSERT_TRUE(r.ok()) << r.output;
  r = Tvault({"--home", home, "enrol", File("good.enrolment")});
  EXPECT_TRUE(r.ok()) << r.output;
  EXPECT_THAT(r.output, HasSubstr("Enrolled as \"reviewer\""));
}

// 10. A family member's submission through an invite leaves nothing on the
// device; a receipt only when asked, with a warning.
TEST_F(TvaultCliTest, FamilyHomeStaysEmpty) {
  const TestCase c = OpenCase("Family", /*with_lawyer=*/false);
  ASSERT_FALSE(HasFailure()) << "could not open the case";
  const std::string invite = MakeInvite(c, "3");
  WriteTestFile(File("testimony.txt"), "my brother was taken at night\n", 0600);
  // The phone's working directory, $HOME and $XDG_DATA_HOME, all empty.
  for (const char* d : {"cwd", "phone-home", "xdg"}) {
    fs::create_directories(File(d));
  }
  RunOptions in_cwd;
  in_cwd.working_dir = File("cwd");
  in_cwd.extra_env = {"HOME=" + File("phone-home"),
                      "XDG_DATA_HOME=" + File("xdg")};
  auto nothing_left = [&](const std::string& home) {
    EXPECT_TRUE(EmptyOrAbsent(home)) << home;
    for (const char* d : {"cwd", "phone-home", "xdg"}) {
      EXPECT_THAT(Entries(File(d)), ::testing::IsEmpty()) << d;
    }
  };

  Outcome r = Tvault(
      {"--home", File("family"), "submit", File("testimony.txt"), "--invite",
       invite, "--title", "What happened", "--relation", "sister"},
      in_cwd);
  ASSERT_TRUE(r.ok()) << r.output;
  EXPECT_THAT(r.output, HasSubstr("Sent."));
  EXPECT_THAT(r.output, HasSubstr("Nothing about this submission was written"));
  EXPECT_THAT(r.output, Not(HasSubstr("WARNING")));
  nothing_left(File("family"));

  // Without --home either (the default home is under $XDG_DATA_HOME).
  r = Tvault({"submit", File("testimony.txt"), "--invite", invite, "--title",
              "Without a home"},
             in_cwd);
  ASSERT_TRUE(r.ok()) << r.output;
  EXPECT_THAT(r.output, HasSubstr("Nothing about this submission was written"));
  nothing_left(File("xdg/tvault"));

  r = Tvault(
      {"--home", File("family2"), "submit", File("testimony.txt"), "--invite",
       invite, "--title", "Again, with a receipt", "--keep-receipt"},
      in_cwd);
  ASSERT_TRUE(r.ok()) << r.output;
  EXPECT_THAT(r.output, HasSubstr("WARNING"));
  EXPECT_THAT(r.output, HasSubstr("trace"));
  const std::string id = After(r.output, "stored record ");
  ASSERT_EQ(id.size(), 32u) << r.output;
  // The receipt, where the client says it kept it (relative paths are
  // from the working directory), holds the record id; it is the only file
  // the submission left.
  std::string receipt = After(r.output, "Receipt kept in ");
  ASSERT_FALSE(receipt.empty()) << r.output;
  if (receipt[0] != '/') receipt = File("cwd/" + receipt);
  EXPECT_THAT(receipt, HasSubstr(id));
  EXPECT_GT(ReadTestFile(receipt).size(), 0u) << receipt;
  std::vector<std::string> left;
  for (const std::string& d :
       {File("cwd"), File("family2"), File("phone-home"), File("xdg")}) {
    std::error_code ec;
    for (const auto& e : fs::recursive_directory_iterator(d, ec)) {
      if (e.is_regular_file()) left.push_back(e.path().string());
    }
  }
  EXPECT_THAT(left, ::testing::ElementsAre(receipt));

  r = As(Reviewer(), {"records", "list", c.id});
  ASSERT_TRUE(r.ok()) << r.output;
  EXPECT_THAT(r.output, HasSubstr("\"What happened\""));
  EXPECT_THAT(r.output, HasSubstr(id));
}

// 11. Every command group explains itself; an unknown command is refused.
TEST_F(TvaultCliTest, Help) {
  const std::vector<std::vector<std::string>> groups = {
      {},
      {"org"},
      {"org", "init"},
      {"org", "certify"},
      {"org", "revoke"},
      {"org", "publish-revocation"},
      {"org", "sign-bundle"},
      {"org", "enrol"},
      {"keys"},
      {"keys", "new"},
      {"keys", "show"},
      {"enrol"},
      {"register"},
      {"case"},
      {"case", "create"},
      {"case", "list"},
      {"case", "add-member"},
      {"case", "remove-member"},
      {"case", "card"},
      {"case", "export-key"},
      {"case", "join"},
      {"invite"},
      {"invite", "create"},
      {"invite", "revoke"},
      {"submit"},
      {"outbox"},
      {"outbox", "list"},
      {"outbox", "send"},
      {"records"},
      {"records", "list"},
      {"records", "get"},
      {"records", "delete"},
      {"log"},
      {"log", "show"},
      {"log", "verify"},
      {"log", "events"},
      {"age"},
  };
  for (std::vector<std::string> args : groups) {
    const std::string name = absl::StrJoin(args, " ");
    args.push_back("--help");
    Outcome r = Tvault(args);
    EXPECT_TRUE(r.ok()) << name << ": " << r.output;
    EXPECT_THAT(r.output, HasSubstr("Usage")) << name;
  }
  // CLI11 reports an unknown first word as a missing command.
  Outcome r = Tvault({"frobnicate"});
  EXPECT_TRUE(r.failed()) << r.output;
  EXPECT_THAT(r.output, ::testing::AnyOf(HasSubstr("frobnicate"),
                                         HasSubstr("subcommand is required")));
  EXPECT_THAT(r.output, HasSubstr("--help"));
  r = Tvault({"records", "frobnicate"});
  EXPECT_TRUE(r.failed()) << r.output;
  EXPECT_THAT(r.output, ::testing::AnyOf(HasSubstr("frobnicate"),
                                         HasSubstr("subcommand is required")));
  r = Tvault({"records", "get", "00", "--frobnicate"});
  EXPECT_TRUE(r.failed()) << r.output;
  EXPECT_THAT(r.output, HasSubstr("frobnicate"));
  r = Tvault({});
  EXPECT_TRUE(r.failed()) << r.output;
}

::testing::Environment* const kSuite =
    ::testing::AddGlobalTestEnvironment(suite = new Suite);

}  // namespace
}  // namespace tvault::client
