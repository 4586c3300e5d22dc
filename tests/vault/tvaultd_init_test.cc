// Runs the real `tvaultd init` binary and inspects what it leaves behind.
#include <fcntl.h>
#include <spawn.h>
#include <stdlib.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <ctime>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <memory>
#include <string>
#include <vector>

#include "absl/strings/ascii.h"
#include "absl/strings/escaping.h"
#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "absl/strings/str_split.h"
#include "absl/strings/string_view.h"
#include "absl/strings/strip.h"
#include "crypto/base64.h"
#include "crypto/certificate.h"
#include "crypto/secret_bytes.h"
#include "crypto/signed_note.h"
#include "crypto/statement.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "proto/records.pb.h"
#include "vault/config.h"
#include "vault/sqlcipher_store.h"
#include "vault/tls_identity.h"

extern char** environ;

namespace tvault::vault {
namespace {

using ::testing::HasSubstr;
using ::testing::StartsWith;

constexpr char kOrigin[] = "vault.example.org/log";
constexpr char kOnion[] =
    "vww6ybal4bd7szmgncyruucpgfkqahzddi37ktceo3ah7ngmcopnpyyd.onion:443";
constexpr char kClearnet[] = "vault.example.org:8443";
// The 32 key bytes 0x00, 0x01, …, 0x1f, and their hex.
constexpr char kDbKeyHex[] =
    "000102030405060708090a0b0c0d0e0f101112131415161718191a1b1c1d1e1f";

std::string ReadRaw(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  return std::string(std::istreambuf_iterator<char>(in),
                     std::istreambuf_iterator<char>());
}

void WriteRaw(const std::string& path, absl::string_view data, mode_t mode) {
  std::ofstream out(path, std::ios::binary | std::ios::trunc);
  out << data;
  out.close();
  ASSERT_EQ(chmod(path.c_str(), mode), 0);
}

mode_t ModeOf(const std::string& path) {
  struct stat st;
  if (lstat(path.c_str(), &st) != 0) return 0;
  return st.st_mode & 07777;
}

bool Exists(const std::string& path) {
  struct stat st;
  return lstat(path.c_str(), &st) == 0;
}

crypto::SecretBytes DbKey() {
  const std::string raw = absl::HexStringToBytes(kDbKeyHex);
  return crypto::SecretBytes::CopyFrom(crypto::AsBytes(raw));
}

struct RunResult {
  int exit_code = -1;
  std::string out;
  std::string err;
};

class TvaultdInitTest : public ::testing::Test {
 protected:
  void SetUp() override {
    std::string pattern = "/tmp/tvaultd_init_test_XXXXXX";
    ASSERT_NE(::mkdtemp(pattern.data()), nullptr);
    root_ = pattern;
    data_dir_ = File("data");
    key_file_ = File("db.key");
    WriteRaw(key_file_, absl::StrCat(kDbKeyHex, "\n"), 0600);
    const crypto::SigningKey org = crypto::SigningKey::Generate();
    org_key_hex_ = absl::BytesToHexString(crypto::AsString(org.public_key()));
  }
  void TearDown() override {
    std::error_code ignored;
    std::filesystem::remove_all(root_, ignored);
  }

  std::string File(absl::string_view name) const {
    return absl::StrCat(root_, "/", name);
  }
  std::string DataFile(absl::string_view name) const {
    return absl::StrCat(data_dir_, "/", name);
  }

  // Runs tvaultd with `args`, capturing its output through files.
  RunResult Run(const std::vector<std::string>& args) {
    const std::string out_path = File("stdout.txt");
    const std::string err_path = File("stderr.txt");
    posix_spawn_file_actions_t actions;
    posix_spawn_file_actions_init(&actions);
    posix_spawn_file_actions_addopen(&actions, STDOUT_FILENO, out_path.c_str(),
                                     O_WRONLY | O_CREAT | O_TRUNC, 0600);
    posix_spawn_file_actions_addopen(&actions, STDERR_FILENO, err_path.c_str(),
                                     O_WRONLY | O_CREAT | O_TRUNC, 0600);
    std::vector<std::string> argv_storage = {TVAULTD_BIN};
    argv_storage.insert(argv_storage.end(), args.begin(), args.end());
    std::vector<char*> argv;
    for (std::string& a : argv_storage) argv.push_back(a.data());
    argv.push_back(nullptr);
    pid_t pid = 0;
    RunResult result;
    const int rc =
        posix_spawn(&pid, TVAULTD_BIN, &actions, nullptr, argv.data(), environ);
    posix_spawn_file_actions_destroy(&actions);
    EXPECT_EQ(rc, 0);
    if (rc != 0) return result;
    int status = 0;
    EXPECT_EQ(waitpid(pid, &status, 0), pid);
    result.exit_code = WIFEXITED(status) ? WEXITSTATUS(status) : -1;
    result.out = ReadRaw(out_path);
    result.err = ReadRaw(err_path);
    return result;
  }

  std::vector<std::string> InitArgs() const {
    return {"init",       "--data-dir",    data_dir_, "--org-key",
            org_key_hex_, "--db-key-file", key_file_, "--origin",
            kOrigin,      "--address",     kOnion,    "--address",
            kClearnet};
  }

  // A failure: non-zero exit, nothing on stdout, exactly one line on stderr
  // "tvaultd: error: …" containing `needle`, and no data directory.
  void ExpectCleanFailure(const RunResult& r, absl::string_view needle) {
    EXPECT_NE(r.exit_code, 0);
    EXPECT_EQ(r.out, "");
    EXPECT_THAT(r.err, StartsWith("tvaultd: error: "));
    EXPECT_THAT(r.err, HasSubstr(needle));
    EXPECT_TRUE(absl::EndsWith(r.err, "\n"));
    EXPECT_EQ(std::count(r.err.begin(), r.err.end(), '\n'), 1) << r.err;
    EXPECT_FALSE(Exists(data_dir_)) << "a partial data directory was left";
    // Neither the key's hex nor its bytes ever appear in a message.
    EXPECT_THAT(r.err, ::testing::Not(HasSubstr(kDbKeyHex)));
  }

  std::string root_;
  std::string data_dir_;
  std::string key_file_;
  std::string org_key_hex_;
};

TEST_F(TvaultdInitTest, CreatesTheDataDirectoryWithPrivateModes) {
  const RunResult r = Run(InitArgs());
  ASSERT_EQ(r.exit_code, 0) << r.err;
  EXPECT_EQ(r.err, "");
  EXPECT_EQ(ModeOf(data_dir_), 0700u);
  EXPECT_EQ(ModeOf(DataFile("vault.db")), 0600u);
  EXPECT_EQ(ModeOf(DataFile("log-signing.key")), 0600u);
  EXPECT_EQ(ModeOf(DataFile("tls.key")), 0600u);
  EXPECT_EQ(ModeOf(DataFile("tls.crt")), 0644u);
  EXPECT_EQ(ModeOf(DataFile("org-key.hex")), 0600u);
  EXPECT_EQ(ReadRaw(DataFile("org-key.hex")), absl::StrCat(org_key_hex_, "\n"));
  EXPECT_THAT(ReadRaw(DataFile("tls.key")),
              StartsWith("-----BEGIN PRIVATE KEY-----\n"));
  EXPECT_THAT(ReadRaw(DataFile("tls.crt")),
              StartsWith("-----BEGIN CERTIFICATE-----\n"));
  EXPECT_THAT(ReadRaw(DataFile("log-signing.key")),
              StartsWith(absl::StrCat("PRIVATE+KEY+", kOrigin, "+")));

  // Exactly these files, and the database key is in none of them.
  std::vector<std::string> names;
  const std::string raw_key = absl::HexStringToBytes(kDbKeyHex);
  for (const auto& entry : std::filesystem::directory_iterator(data_dir_)) {
    names.push_back(entry.path().filename().string());
    const std::string content = ReadRaw(entry.path().string());
    EXPECT_THAT(content, ::testing::Not(HasSubstr(kDbKeyHex)));
    EXPECT_THAT(content, ::testing::Not(HasSubstr(raw_key)));
  }
  EXPECT_THAT(names, ::testing::UnorderedElementsAre(
                         "vault.db", "log-signing.key", "tls.key", "tls.crt",
                         "org-key.hex"));
}

TEST_F(TvaultdInitTest, DatabaseIsEncryptedUnderTheKeyFromTheFile) {
  const RunResult r = Run(InitArgs());
  ASSERT_EQ(r.exit_code, 0) << r.err;
  const std::string db = ReadRaw(DataFile("vault.db"));
  ASSERT_GE(db.size(), 16u);
  EXPECT_FALSE(
      absl::StartsWith(db, absl::string_view("SQLite format 3\0", 16)));

  EXPECT_TRUE(SqlcipherStore::Open(DataFile("vault.db"), DbKey()).ok());
  crypto::SecretBytes other = crypto::SecretBytes::Random(32);
  EXPECT_EQ(SqlcipherStore::Open(DataFile("vault.db"), other).status().code(),
            absl::StatusCode::kPermissionDenied);
}

TEST_F(TvaultdInitTest, PrintsAServerBundleThatMatchesTheDataDirectory) {
  const int64_t before = static_cast<int64_t>(std::time(nullptr));
  const RunResult r = Run(InitArgs());
  const int64_t after = static_cast<int64_t>(std::time(nullptr));
  ASSERT_EQ(r.exit_code, 0) << r.err;

  // The bundle is the last line; human-readable lines come first.
  std::vector<std::string> lines =
      absl::StrSplit(absl::StripSuffix(r.out, "\n"), '\n');
  ASSERT_GE(lines.size(), 2u);
  absl::StatusOr<std::vector<uint8_t>> bytes =
      crypto::Base64Decode(lines.back(), crypto::Base64Padding::kPadded);
  ASSERT_TRUE(bytes.ok()) << bytes.status();
  tvault::v1::ServerBundle bundle;
  // Strict: no unknown fields, and the deterministic encoding.
  ASSERT_TRUE(crypto::ParseStrictly(crypto::AsString(*bytes), bundle).ok());
  EXPECT_TRUE(crypto::CheckServerBundleBody(bundle).ok());
  EXPECT_EQ(bundle.version(), 1u);
  EXPECT_THAT(bundle.addresses(), ::testing::ElementsAre(kOnion, kClearnet));
  EXPECT_EQ(bundle.log_origin(), kOrigin);
  EXPECT_GE(bundle.issued_at(), before);
  EXPECT_LE(bundle.issued_at(), after);

  absl::StatusOr<TlsKeyPin> pin =
      TlsKeyPinFromCertificatePem(ReadRaw(DataFile("tls.crt")));
  ASSERT_TRUE(pin.ok()) << pin.status();
  EXPECT_EQ(bundle.tls_pin(), crypto::AsString(*pin));

  absl::StatusOr<crypto::NoteVerifier> verifier =
      crypto::NoteVerifier::Parse(bundle.log_verifier_key());
  ASSERT_TRUE(verifier.ok()) << verifier.status();
  EXPECT_EQ(verifier->name(), kOrigin);

  // The stored signer key is the bundle's verifier key.
  const std::string signer_file = ReadRaw(DataFile("log-signing.key"));
  ASSERT_TRUE(absl::EndsWith(signer_file, "\n"));
  crypto::SecretBytes skey = crypto::SecretBytes::CopyFrom(
      crypto::AsBytes(absl::StripSuffix(signer_file, "\n")));
  absl::StatusOr<crypto::NoteSigner> signer =
      crypto::NoteSigner::Parse(skey.span());
  ASSERT_TRUE(signer.ok()) << signer.status();
  EXPECT_EQ(signer->verifier().Encode(), bundle.log_verifier_key());

  // The human-readable lines show the pin and the verifier key.
  EXPECT_THAT(r.out, HasSubstr(absl::BytesToHexString(bundle.tls_pin())));
  EXPECT_THAT(r.out, HasSubstr(bundle.log_verifier_key()));
  EXPECT_THAT(r.out, HasSubstr("tvault org sign-bundle"));
}

TEST_F(TvaultdInitTest, TakesOverAnEmptyDirectoryAndMakesIt0700) {
  ASSERT_EQ(mkdir(data_dir_.c_str(), 0755), 0);
  ASSERT_EQ(chmod(data_dir_.c_str(), 0755), 0);
  const RunResult r = Run(InitArgs());
  ASSERT_EQ(r.exit_code, 0) << r.err;
  EXPECT_EQ(ModeOf(data_dir_), 0700u);
  EXPECT_TRUE(Exists(DataFile("vault.db")));
}

TEST_F(TvaultdInitTest, RefusesANonEmptyDirectoryAndLeavesItUntouched) {
  ASSERT_EQ(mkdir(data_dir_.c_str(), 0750), 0);
  ASSERT_EQ(chmod(data_dir_.c_str(), 0750), 0);
  WriteRaw(DataFile("notes.txt"), "keep me", 0640);
  const RunResult r = Run(InitArgs());
  EXPECT_NE(r.exit_code, 0);
  EXPECT_EQ(r.out, "");
  EXPECT_EQ(r.err, absl::StrCat("tvaultd: error: data directory ", data_dir_,
                                " is not empty; give a new or empty "
                                "directory\n"));
  EXPECT_EQ(ModeOf(data_dir_), 0750u);
  EXPECT_EQ(ReadRaw(DataFile("notes.txt")), "keep me");
  EXPECT_EQ(ModeOf(DataFile("notes.txt")), 0640u);
  size_t entries = 0;
  for ([[maybe_unused]] const auto& e :
       std::filesystem::directory_iterator(data_dir_)) {
    ++entries;
  }
  EXPECT_EQ(entries, 1u);
}

TEST_F(TvaultdInitTest, RefusesAKeyFileOthersCanRead) {
  ASSERT_EQ(chmod(key_file_.c_str(), 0644), 0);
  ExpectCleanFailure(Run(InitArgs()), "accessible to group or others");
}

TEST_F(TvaultdInitTest, RefusesAKeyFileTheGroupCanRead) {
  ASSERT_EQ(chmod(key_file_.c_str(), 0640), 0);
  ExpectCleanFailure(Run(InitArgs()), "(mode 0640)");
}

TEST_F(TvaultdInitTest, RefusesAMissingKeyFile) {
  ASSERT_EQ(unlink(key_file_.c_str()), 0);
  ExpectCleanFailure(Run(InitArgs()),
                     absl::StrCat("cannot open database key file ", key_file_,
                                  ": No such file or directory"));
}

TEST_F(TvaultdInitTest, RefusesAKeyOfTheWrongLength) {
  // 32 raw bytes are not the documented format (64 hex digits).
  WriteRaw(key_file_, absl::HexStringToBytes(kDbKeyHex), 0600);
  ExpectCleanFailure(Run(InitArgs()), "must hold exactly 64 hex digits");
  WriteRaw(key_file_, absl::StrCat(kDbKeyHex, "00\n"), 0600);
  ExpectCleanFailure(Run(InitArgs()), "must hold exactly 64 hex digits");
  WriteRaw(key_file_, absl::StrCat(kDbKeyHex, "\n\n"), 0600);
  ExpectCleanFailure(Run(InitArgs()), "must hold exactly 64 hex digits");
}

TEST_F(TvaultdInitTest, RefusesAKeyThatIsNotHex) {
  std::string bad = kDbKeyHex;
  bad[10] = 'g';
  WriteRaw(key_file_, bad, 0600);
  ExpectCleanFailure(Run(InitArgs()), "must hold exactly 64 hex digits");
}

TEST_F(TvaultdInitTest, RefusesAMalformedOrgKey) {
  const std::vector<std::string> bad_keys = {
      "", "abcd", org_key_hex_.substr(0, 62), absl::StrCat(org_key_hex_, "00"),
      absl::AsciiStrToUpper(org_key_hex_),
      // 64 hex digits, but the identity point (small order).
      absl::StrCat("01", std::string(62, '0'))};
  for (const std::string& bad : bad_keys) {
    SCOPED_TRACE(bad);
    std::vector<std::string> args = InitArgs();
    args[4] = bad;
    ExpectCleanFailure(Run(args), "--org-key");
  }
}

TEST_F(TvaultdInitTest, RefusesAnOnionAddressAfterAClearnetOne) {
  std::vector<std::string> args = InitArgs();
  std::swap(args[10], args[12]);
  ExpectCleanFailure(Run(args), "onion addresses come first");
}

TEST_F(TvaultdInitTest, RefusesAnAddressWithoutPort) {
  std::vector<std::string> args = InitArgs();
  args[12] = "vault.example.org";
  ExpectCleanFailure(Run(args), "host:port");
}

TEST_F(TvaultdInitTest, RefusesAnInvalidOrigin) {
  std::vector<std::string> args = InitArgs();
  args[8] = "has space";
  ExpectCleanFailure(Run(args), "--origin");
}

TEST_F(TvaultdInitTest, UsageErrorsAreOneLine) {
  ExpectCleanFailure(Run({"init", "--data-dir", data_dir_}), "required");
  ExpectCleanFailure(Run({}), "tvaultd: error: ");
  ExpectCleanFailure(Run({"serve"}), "tvaultd: error: ");
}

TEST_F(TvaultdInitTest, HelpDescribesEveryOption) {
  const RunResult top = Run({"--help"});
  EXPECT_EQ(top.exit_code, 0);
  EXPECT_THAT(top.out, HasSubstr("init"));
  const RunResult r = Run({"init", "--help"});
  EXPECT_EQ(r.exit_code, 0);
  for (const char* option :
       {"--data-dir", "--org-key", "--db-key-file", "--origin", "--address"}) {
    EXPECT_THAT(r.out, HasSubstr(option));
  }
  EXPECT_THAT(r.out, HasSubstr("administrator"));
  EXPECT_THAT(r.out, HasSubstr("64 hex digits"));
  EXPECT_FALSE(Exists(data_dir_));
}

TEST_F(TvaultdInitTest, ServeHelpNamesEveryConfigurationKeyAndSignal) {
  const RunResult r = Run({"serve", "--help"});
  EXPECT_EQ(r.exit_code, 0);
  // CLI11 wraps long descriptions; compare without the line breaks.
  const std::string help = absl::StrJoin(
      absl::StrSplit(r.out, absl::ByAnyChar(" \n"), absl::SkipEmpty()), " ");
  for (absl::string_view key : absl::StrSplit(VaultConfigKeyList(), ", ")) {
    EXPECT_THAT(help, HasSubstr(std::string(key)));
  }
  EXPECT_THAT(help, HasSubstr("max_streams_per_identity"));
  EXPECT_THAT(help, HasSubstr("SIGUSR1 logs the memory"));
}

}  // namespace
}  // namespace tvault::vault
