// Interoperability of `tvault age …` with the reference age tool (v1.1.1,
// Debian's `age` and `age-keygen`), in both directions, plus the command's
// behaviour on bad input. Every test works in a fresh temporary directory.
//
// The age tool reads passphrases only from a terminal, so it is driven
// through `script -qec "age …" /dev/null` with the passphrase piped in.
#include <gtest/gtest.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cstdint>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <random>
#include <sstream>
#include <string>
#include <tuple>
#include <utility>
#include <vector>

namespace {

std::string LowerAscii(std::string s) {
  for (char& c : s) {
    if (c >= 'A' && c <= 'Z') c = static_cast<char>(c - 'A' + 'a');
  }
  return s;
}

namespace fs = std::filesystem;

constexpr size_t kChunk = 64 * 1024;
constexpr size_t kChunkCiphertext = kChunk + 16;
constexpr size_t kNonceSize = 16;
constexpr const char kPassphrase[] = "correct horse battery staple";

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
  out += "'";
  return out;
}

std::string ReadFile(const fs::path& path) {
  std::ifstream f(path, std::ios::binary);
  return std::string((std::istreambuf_iterator<char>(f)),
                     std::istreambuf_iterator<char>());
}

void WriteFile(const fs::path& path, const std::string& data) {
  std::ofstream f(path, std::ios::binary | std::ios::trunc);
  f.write(data.data(), static_cast<std::streamsize>(data.size()));
  ASSERT_TRUE(f.good()) << "cannot write " << path;
}

std::string RandomBytes(size_t n, uint64_t seed) {
  std::mt19937_64 rng(seed);
  std::string out(n, '\0');
  size_t i = 0;
  while (i < n) {
    uint64_t v = rng();
    for (int b = 0; b < 8 && i < n; ++b, ++i) {
      out[i] = static_cast<char>(v & 0xff);
      v >>= 8;
    }
  }
  return out;
}

// Returns the full path of `name` found in PATH, or empty.
std::string FindInPath(const std::string& name) {
  const char* path = std::getenv("PATH");
  if (path == nullptr) return "";
  std::stringstream ss(path);
  std::string dir;
  while (std::getline(ss, dir, ':')) {
    if (dir.empty()) dir = ".";
    const std::string candidate = dir + "/" + name;
    if (access(candidate.c_str(), X_OK) == 0) return candidate;
  }
  return "";
}

// Offset of the first payload byte (after the header and the nonce) in a
// binary age file.
size_t PayloadOffset(const std::string& file) {
  const size_t mac = file.find("\n--- ");
  if (mac == std::string::npos) return std::string::npos;
  const size_t end = file.find('\n', mac + 1);
  if (end == std::string::npos) return std::string::npos;
  return end + 1 + kNonceSize;
}

// Number of lines in `s` (counting a final unterminated one).
int CountLines(const std::string& s) {
  int n = 0;
  for (char c : s) n += c == '\n';
  if (!s.empty() && s.back() != '\n') ++n;
  return n;
}

struct Result {
  int status = -1;  // exit status, or -1 if not exited normally
  std::string err;  // captured standard error
};

enum class Tool { kAge, kTvault };

const char* ToolName(Tool t) { return t == Tool::kAge ? "Age" : "Tvault"; }

// One generated X25519 key: its identity file and recipient string.
struct Key {
  fs::path identity;
  std::string recipient;
};

class AgeInteropTest : public ::testing::Test {
 protected:
  void SetUp() override {
    unsetenv("TVAULT_PASSPHRASE");
    age_ = FindInPath("age");
    age_keygen_ = FindInPath("age-keygen");
    script_ = FindInPath("script");
    ASSERT_FALSE(age_.empty() || age_keygen_.empty())
        << "the age tool (age, age-keygen) is not in PATH; run "
           "scripts/setup.sh to install it";
    ASSERT_FALSE(script_.empty())
        << "`script` (util-linux) is not in PATH; run scripts/setup.sh";
    const char* tmpdir = std::getenv("TMPDIR");
    std::string pattern =
        std::string(tmpdir != nullptr && *tmpdir != '\0' ? tmpdir : "/tmp") +
        "/tvault-age-interop-XXXXXX";
    std::vector<char> buf(pattern.begin(), pattern.end());
    buf.push_back('\0');
    ASSERT_NE(mkdtemp(buf.data()), nullptr) << "mkdtemp " << pattern;
    root_ = buf.data();
    dir_ = root_ / "work";
    fs::create_directory(dir_);
  }

  void TearDown() override {
    if (!root_.empty()) {
      std::error_code ec;
      fs::remove_all(root_, ec);
    }
  }

  fs::path P(const std::string& name) const { return dir_ / name; }
  std::string Q(const std::string& name) const { return Quote(P(name)); }
  std::string Tvault() const { return Quote(TVAULT_BIN); }
  std::string Age() const { return Quote(age_); }

  // Runs `cmd` with /bin/sh in the work directory; standard error (and
  // standard output unless `cmd` redirects it) is captured.
  Result Run(const std::string& cmd) {
    const fs::path err = root_ / "stderr";
    const std::string full = "cd " + Quote(dir_) + " && { " + cmd + " ; } 2>" +
                             Quote(err) + " </dev/null";
    const int rc = std::system(full.c_str());
    Result r;
    if (rc != -1 && WIFEXITED(rc)) r.status = WEXITSTATUS(rc);
    r.err = ReadFile(err);
    return r;
  }

  // Runs `cmd` (whose standard output is not redirected) with its standard
  // output discarded.
  Result RunQuiet(const std::string& cmd) { return Run(cmd + " >/dev/null"); }

  // Runs an age command under a pseudo-terminal, typing `input`. What age
  // prints (its stderr included) is returned as `err`.
  Result RunAgeOnTerminal(const std::string& age_args,
                          const std::string& input) {
    const fs::path tty_out = root_ / "tty";
    const std::string inner = Age() + " " + age_args;
    const std::string full = "cd " + Quote(dir_) + " && printf %s " +
                             Quote(input) + " | " + Quote(script_) + " -qec " +
                             Quote(inner) + " /dev/null >" + Quote(tty_out) +
                             " 2>&1";
    const int rc = std::system(full.c_str());
    Result r;
    if (rc != -1 && WIFEXITED(rc)) r.status = WEXITSTATUS(rc);
    r.err = ReadFile(tty_out);
    return r;
  }

  Key MakeKey(Tool tool, const std::string& name) {
    Key k;
    k.identity = P(name);
    if (tool == Tool::kAge) {
      const Result r = Run(Quote(age_keygen_) + " -o " + Q(name));
      EXPECT_EQ(r.status, 0) << r.err;
    } else {
      const Result r = RunQuiet(Tvault() + " age keygen -o " + Q(name));
      EXPECT_EQ(r.status, 0) << r.err;
    }
    const Result r = Run(Quote(age_keygen_) + " -y " + Q(name) + " > " +
                         Quote(root_ / "pub"));
    EXPECT_EQ(r.status, 0) << r.err;
    k.recipient = ReadFile(root_ / "pub");
    while (!k.recipient.empty() && k.recipient.back() == '\n') {
      k.recipient.pop_back();
    }
    EXPECT_EQ(k.recipient.rfind("age1", 0), 0u) << k.recipient;
    return k;
  }

  // Encrypts file `in` to `out` with `tool`.
  Result Encrypt(Tool tool, const std::vector<std::string>& recipients,
                 const std::vector<std::string>& recipient_files, bool armor,
                 const std::string& in, const std::string& out) {
    std::string cmd =
        tool == Tool::kAge ? Age() + " -e" : Tvault() + " age encrypt";
    for (const std::string& r : recipients) cmd += " -r " + Quote(r);
    for (const std::string& f : recipient_files) cmd += " -R " + Q(f);
    if (armor) cmd += " -a";
    cmd += " -o " + Q(out) + " " + Q(in);
    return Run(cmd);
  }

  Result Decrypt(Tool tool, const std::vector<fs::path>& identities,
                 const std::string& in, const std::string& out) {
    std::string cmd =
        tool == Tool::kAge ? Age() + " -d" : Tvault() + " age decrypt";
    for (const fs::path& i : identities) cmd += " -i " + Quote(i);
    cmd += " -o " + Q(out) + " " + Q(in);
    return Run(cmd);
  }

  Result EncryptWithPassphrase(Tool tool, bool armor, const std::string& in,
                               const std::string& out) {
    const std::string a = armor ? " -a" : "";
    if (tool == Tool::kAge) {
      const std::string pw = std::string(kPassphrase) + "\n";
      return RunAgeOnTerminal("-p" + a + " -o " + Q(out) + " " + Q(in),
                              pw + pw);
    }
    return Run("TVAULT_PASSPHRASE=" + Quote(kPassphrase) + " " + Tvault() +
               " age encrypt -p" + a + " -o " + Q(out) + " " + Q(in));
  }

  Result DecryptWithPassphrase(Tool tool, const std::string& passphrase,
                               const std::string& in, const std::string& out) {
    if (tool == Tool::kAge) {
      return RunAgeOnTerminal("-d -o " + Q(out) + " " + Q(in),
                              passphrase + "\n");
    }
    return Run("TVAULT_PASSPHRASE=" + Quote(passphrase) + " " + Tvault() +
               " age decrypt -o " + Q(out) + " " + Q(in));
  }

  // Asserts that a failed tvault run printed exactly one error line that
  // contains each of `reasons`.
  static void ExpectOneLineError(const Result& r,
                                 const std::vector<std::string>& reasons) {
    EXPECT_NE(r.status, 0);
    EXPECT_EQ(CountLines(r.err), 1) << r.err;
    EXPECT_EQ(r.err.rfind("tvault: error: ", 0), 0u) << r.err;
    for (const std::string& reason : reasons) {
      EXPECT_NE(r.err.find(reason), std::string::npos)
          << "stderr should mention \"" << reason << "\": " << r.err;
    }
  }

  // Asserts that `name` does not exist and that no temporary output file was
  // left in the work directory.
  void ExpectNoOutput(const std::string& name) const {
    EXPECT_FALSE(fs::exists(P(name))) << name << " should not exist";
    for (const fs::directory_entry& e : fs::directory_iterator(dir_)) {
      const std::string f = e.path().filename().string();
      EXPECT_FALSE(f.rfind(".", 0) == 0 &&
                   f.find(".tvault-partial-") != std::string::npos)
          << "temporary file left behind: " << f;
    }
  }

  std::string age_;
  std::string age_keygen_;
  std::string script_;
  fs::path root_;
  fs::path dir_;  // commands run here; holds only the test's own files
};

// ---------------------------------------------------------------------------
// Plaintext sizes, armored and binary, in both directions.

using SizeParam = std::tuple<Tool, size_t, bool>;  // encrypter, size, armor

class AgeInteropSizeTest : public AgeInteropTest,
                           public ::testing::WithParamInterface<SizeParam> {};

TEST_P(AgeInteropSizeTest, RoundTripsByteExact) {
  const auto [encrypter, size, armor] = GetParam();
  const Tool decrypter = encrypter == Tool::kAge ? Tool::kTvault : Tool::kAge;
  const std::string plain = RandomBytes(size, 0x5eed0000 + size);
  WriteFile(P("plain"), plain);
  const Key key = MakeKey(decrypter, "key.txt");

  Result r = Encrypt(encrypter, {key.recipient}, {}, armor, "plain", "ct");
  ASSERT_EQ(r.status, 0) << r.err;
  const std::string ct = ReadFile(P("ct"));
  if (armor) {
    EXPECT_EQ(ct.rfind("-----BEGIN AGE ENCRYPTED FILE-----\n", 0), 0u);
  } else {
    EXPECT_EQ(ct.rfind("age-encryption.org/v1\n", 0), 0u);
    // One chunk per 64 KiB (and one, empty, for an empty plaintext).
    const size_t chunks = size == 0 ? 1 : (size + kChunk - 1) / kChunk;
    EXPECT_EQ(ct.size(), PayloadOffset(ct) + size + 16 * chunks);
  }

  r = Decrypt(decrypter, {key.identity}, "ct", "out");
  ASSERT_EQ(r.status, 0) << r.err;
  const std::string out = ReadFile(P("out"));
  ASSERT_EQ(out.size(), plain.size());
  EXPECT_TRUE(out == plain) << "decrypted bytes differ";
}

std::string SizeName(const ::testing::TestParamInfo<SizeParam>& info) {
  const auto [encrypter, size, armor] = info.param;
  return std::string(encrypter == Tool::kAge ? "AgeEncryptsTvaultDecrypts"
                                             : "TvaultEncryptsAgeDecrypts") +
         (armor ? "Armored" : "Binary") + std::to_string(size) + "Bytes";
}

INSTANTIATE_TEST_SUITE_P(
    , AgeInteropSizeTest,
    ::testing::Combine(::testing::Values(Tool::kAge, Tool::kTvault),
                       ::testing::Values(size_t{0}, size_t{1}, size_t{65535},
                                         size_t{65536}, size_t{65537},
                                         size_t{5 * 1024 * 1024 + 7}),
                       ::testing::Bool()),
    SizeName);

// ---------------------------------------------------------------------------
// Standard input and output instead of files.

using PipeParam = std::tuple<Tool, size_t>;  // encrypter, size

class AgeInteropPipeTest : public AgeInteropTest,
                           public ::testing::WithParamInterface<PipeParam> {};

TEST_P(AgeInteropPipeTest, StreamsThroughStdinAndStdout) {
  const auto [encrypter, size] = GetParam();
  const Tool decrypter = encrypter == Tool::kAge ? Tool::kTvault : Tool::kAge;
  const std::string plain = RandomBytes(size, 0x919e0000 + size);
  WriteFile(P("plain"), plain);
  const Key key = MakeKey(decrypter, "key.txt");

  const std::string enc =
      encrypter == Tool::kAge ? Age() + " -e" : Tvault() + " age encrypt";
  const std::string dec =
      decrypter == Tool::kAge ? Age() + " -d" : Tvault() + " age decrypt";
  Result r =
      Run("cat " + Q("plain") + " | " + enc + " -r " + Quote(key.recipient) +
          " | " + dec + " -i " + Quote(key.identity) + " > " + Q("out"));
  ASSERT_EQ(r.status, 0) << r.err;
  EXPECT_EQ(r.err, "");
  const std::string out = ReadFile(P("out"));
  ASSERT_EQ(out.size(), plain.size());
  EXPECT_TRUE(out == plain) << "decrypted bytes differ";
}

std::string PipeName(const ::testing::TestParamInfo<PipeParam>& info) {
  const auto [encrypter, size] = info.param;
  return std::string(encrypter == Tool::kAge ? "AgeToTvault" : "TvaultToAge") +
         std::to_string(size) + "Bytes";
}

INSTANTIATE_TEST_SUITE_P(
    , AgeInteropPipeTest,
    ::testing::Combine(::testing::Values(Tool::kAge, Tool::kTvault),
                       ::testing::Values(size_t{0}, size_t{65536},
                                         size_t{1024 * 1024 + 3})),
    PipeName);

// ---------------------------------------------------------------------------
// 1 to 5 recipients, keys from both keygens; each identity decrypts, and so
// does a file holding several keys, and several -i flags.

using RecipientsParam = std::tuple<Tool, int>;  // encrypter, recipients

class AgeInteropRecipientsTest
    : public AgeInteropTest,
      public ::testing::WithParamInterface<RecipientsParam> {};

TEST_P(AgeInteropRecipientsTest, EveryRecipientCanDecrypt) {
  const auto [encrypter, n] = GetParam();
  const Tool decrypter = encrypter == Tool::kAge ? Tool::kTvault : Tool::kAge;
  const std::string plain = RandomBytes(70000, 0xabc0 + n);
  WriteFile(P("plain"), plain);

  std::vector<Key> keys;
  std::vector<std::string> recipients;
  for (int i = 0; i < n; ++i) {
    keys.push_back(MakeKey(i % 2 == 0 ? Tool::kAge : Tool::kTvault,
                           "key" + std::to_string(i) + ".txt"));
    recipients.push_back(keys.back().recipient);
  }
  // An unrelated key, listed first in the combined identity file.
  const Key other = MakeKey(Tool::kTvault, "other.txt");

  Result r = Encrypt(encrypter, recipients, {}, /*armor=*/false, "plain", "ct");
  ASSERT_EQ(r.status, 0) << r.err;
  const std::string ct = ReadFile(P("ct"));
  size_t stanzas = 0;
  for (size_t pos = 0;
       (pos = ct.find("\n-> X25519 ", pos)) != std::string::npos; ++pos) {
    ++stanzas;
  }
  EXPECT_EQ(stanzas, static_cast<size_t>(n));

  for (int i = 0; i < n; ++i) {
    SCOPED_TRACE("identity " + std::to_string(i));
    const std::string out = "out" + std::to_string(i);
    r = Decrypt(decrypter, {keys[i].identity}, "ct", out);
    ASSERT_EQ(r.status, 0) << r.err;
    EXPECT_TRUE(ReadFile(P(out)) == plain) << "decrypted bytes differ";
  }

  // One identity file with several keys (comments and blank lines kept),
  // the matching ones after a key that does not match.
  std::string combined = ReadFile(other.identity) + "\n";
  for (const Key& k : keys) combined += ReadFile(k.identity) + "\n";
  WriteFile(P("all-keys.txt"), combined);
  r = Decrypt(decrypter, {P("all-keys.txt")}, "ct", "out-all");
  ASSERT_EQ(r.status, 0) << r.err;
  EXPECT_TRUE(ReadFile(P("out-all")) == plain) << "decrypted bytes differ";

  // Several -i flags, the non-matching one first.
  r = Decrypt(decrypter, {other.identity, keys.back().identity}, "ct",
              "out-multi");
  ASSERT_EQ(r.status, 0) << r.err;
  EXPECT_TRUE(ReadFile(P("out-multi")) == plain) << "decrypted bytes differ";
}

std::string RecipientsName(
    const ::testing::TestParamInfo<RecipientsParam>& info) {
  const auto [encrypter, n] = info.param;
  return std::string(encrypter == Tool::kAge ? "AgeEncryptsTo"
                                             : "TvaultEncryptsTo") +
         std::to_string(n) + "Recipients";
}

INSTANTIATE_TEST_SUITE_P(, AgeInteropRecipientsTest,
                         ::testing::Combine(::testing::Values(Tool::kAge,
                                                              Tool::kTvault),
                                            ::testing::Range(1, 6)),
                         RecipientsName);

// ---------------------------------------------------------------------------
// -R recipients files with comments and blank lines, combined with -r.

using ArmorParam = std::tuple<Tool, bool>;  // encrypter, armor

std::string ArmorName(const ::testing::TestParamInfo<ArmorParam>& info) {
  const auto [encrypter, armor] = info.param;
  return std::string(encrypter == Tool::kAge ? "AgeEncrypts"
                                             : "TvaultEncrypts") +
         (armor ? "Armored" : "Binary");
}

class AgeInteropRecipientsFileTest
    : public AgeInteropTest,
      public ::testing::WithParamInterface<ArmorParam> {};

TEST_P(AgeInteropRecipientsFileTest, RecipientsFromFilesCanDecrypt) {
  const auto [encrypter, armor] = GetParam();
  const Tool decrypter = encrypter == Tool::kAge ? Tool::kTvault : Tool::kAge;
  const std::string plain = RandomBytes(100000, 0xf11e);
  WriteFile(P("plain"), plain);
  std::vector<Key> keys;
  for (int i = 0; i < 4; ++i) {
    keys.push_back(MakeKey(i % 2 == 0 ? Tool::kAge : Tool::kTvault,
                           "key" + std::to_string(i) + ".txt"));
  }
  WriteFile(P("team.txt"), "# the review team\n\n" + keys[0].recipient +
                               "\n# second member, added later\n\n\n" +
                               keys[1].recipient + "\n\n# end\n");
  WriteFile(P("backup.txt"), "\n" + keys[2].recipient + "\n");

  Result r = Encrypt(encrypter, {keys[3].recipient}, {"team.txt", "backup.txt"},
                     armor, "plain", "ct");
  ASSERT_EQ(r.status, 0) << r.err;
  for (int i = 0; i < 4; ++i) {
    SCOPED_TRACE("identity " + std::to_string(i));
    const std::string out = "out" + std::to_string(i);
    r = Decrypt(decrypter, {keys[i].identity}, "ct", out);
    ASSERT_EQ(r.status, 0) << r.err;
    EXPECT_TRUE(ReadFile(P(out)) == plain) << "decrypted bytes differ";
  }
}

INSTANTIATE_TEST_SUITE_P(, AgeInteropRecipientsFileTest,
                         ::testing::Combine(::testing::Values(Tool::kAge,
                                                              Tool::kTvault),
                                            ::testing::Bool()),
                         ArmorName);

// ---------------------------------------------------------------------------
// Passphrase-encrypted files (scrypt: about a second per operation).

using PassphraseParam = std::tuple<Tool, size_t, bool>;

class AgeInteropPassphraseTest
    : public AgeInteropTest,
      public ::testing::WithParamInterface<PassphraseParam> {};

TEST_P(AgeInteropPassphraseTest, PassphraseFileDecrypts) {
  const auto [encrypter, size, armor] = GetParam();
  const Tool decrypter = encrypter == Tool::kAge ? Tool::kTvault : Tool::kAge;
  const std::string plain = RandomBytes(size, 0x9a55 + size);
  WriteFile(P("plain"), plain);

  Result r = EncryptWithPassphrase(encrypter, armor, "plain", "ct");
  ASSERT_EQ(r.status, 0) << r.err;
  const std::string ct = ReadFile(P("ct"));
  if (!armor) {
    EXPECT_NE(ct.find("\n-> scrypt "), std::string::npos);
  }

  r = DecryptWithPassphrase(decrypter, kPassphrase, "ct", "out");
  ASSERT_EQ(r.status, 0) << r.err;
  const std::string out = ReadFile(P("out"));
  ASSERT_EQ(out.size(), plain.size());
  EXPECT_TRUE(out == plain) << "decrypted bytes differ";
}

std::string PassphraseName(
    const ::testing::TestParamInfo<PassphraseParam>& info) {
  const auto [encrypter, size, armor] = info.param;
  return std::string(encrypter == Tool::kAge ? "AgeEncryptsTvaultDecrypts"
                                             : "TvaultEncryptsAgeDecrypts") +
         (armor ? "Armored" : "Binary") + std::to_string(size) + "Bytes";
}

INSTANTIATE_TEST_SUITE_P(
    , AgeInteropPassphraseTest,
    ::testing::Values(PassphraseParam{Tool::kAge, 0, false},
                      PassphraseParam{Tool::kAge, 65536, false},
                      PassphraseParam{Tool::kAge, 65537, true},
                      PassphraseParam{Tool::kTvault, 0, false},
                      PassphraseParam{Tool::kTvault, 65536, true},
                      PassphraseParam{Tool::kTvault, 65537, false}),
    PassphraseName);

TEST_F(AgeInteropTest, TvaultRejectsWrongPassphraseForAgeFile) {
  WriteFile(P("plain"), "secret testimony\n");
  Result r = EncryptWithPassphrase(Tool::kAge, false, "plain", "ct");
  ASSERT_EQ(r.status, 0) << r.err;
  r = DecryptWithPassphrase(Tool::kTvault, "not the passphrase", "ct", "out");
  ExpectOneLineError(r, {});
  EXPECT_NE(r.err.find("passphrase"), std::string::npos) << r.err;
  ExpectNoOutput("out");
}

// ---------------------------------------------------------------------------
// An identity file encrypted by `age -p`, used by `tvault age decrypt -i`.

class AgeInteropEncryptedIdentityTest
    : public AgeInteropTest,
      public ::testing::WithParamInterface<bool> {};

TEST_P(AgeInteropEncryptedIdentityTest,
       TvaultDecryptsWithAgeEncryptedIdentity) {
  const bool armor = GetParam();
  const Key key = MakeKey(Tool::kAge, "key.txt");
  Result r = EncryptWithPassphrase(Tool::kAge, armor, "key.txt", "key.age");
  ASSERT_EQ(r.status, 0) << r.err;
  const std::string plain = RandomBytes(65537, 0x1d);
  WriteFile(P("plain"), plain);
  r = Encrypt(Tool::kAge, {key.recipient}, {}, false, "plain", "ct");
  ASSERT_EQ(r.status, 0) << r.err;

  r = Run("TVAULT_PASSPHRASE=" + Quote(kPassphrase) + " " + Tvault() +
          " age decrypt -i " + Q("key.age") + " -o " + Q("out") + " " +
          Q("ct"));
  ASSERT_EQ(r.status, 0) << r.err;
  EXPECT_TRUE(ReadFile(P("out")) == plain) << "decrypted bytes differ";
}

std::string EncryptedIdentityName(const ::testing::TestParamInfo<bool>& info) {
  return std::string(info.param ? "Armored" : "Binary");
}

INSTANTIATE_TEST_SUITE_P(, AgeInteropEncryptedIdentityTest, ::testing::Bool(),
                         EncryptedIdentityName);

TEST_F(AgeInteropTest, TvaultRejectsEncryptedIdentityWithWrongPassphrase) {
  const Key key = MakeKey(Tool::kAge, "key.txt");
  Result r = EncryptWithPassphrase(Tool::kAge, false, "key.txt", "key.age");
  ASSERT_EQ(r.status, 0) << r.err;
  WriteFile(P("plain"), "x");
  r = Encrypt(Tool::kAge, {key.recipient}, {}, false, "plain", "ct");
  ASSERT_EQ(r.status, 0) << r.err;
  r = Run("TVAULT_PASSPHRASE=wrong " + Tvault() + " age decrypt -i " +
          Q("key.age") + " -o " + Q("out") + " " + Q("ct"));
  ExpectOneLineError(r, {"passphrase"});
  ExpectNoOutput("out");
}

// ---------------------------------------------------------------------------
// Keys from either keygen are the same kind of key.

TEST_F(AgeInteropTest, TvaultKeygenPrintsRecipientThatAgeDerives) {
  const Result r = Run(Tvault() + " age keygen > " + Q("key.txt"));
  ASSERT_EQ(r.status, 0) << r.err;
  const std::string text = ReadFile(P("key.txt"));
  const std::string marker = "# public key: ";
  const size_t at = text.find(marker);
  ASSERT_NE(at, std::string::npos) << text;
  const std::string printed =
      text.substr(at + marker.size(), text.find('\n', at) - at - marker.size());
  const Key key = MakeKey(Tool::kTvault, "key2.txt");  // exercises -o too
  const Result y = Run(Quote(age_keygen_) + " -y " + Q("key.txt") + " > " +
                       Quote(root_ / "pub"));
  ASSERT_EQ(y.status, 0) << y.err;
  EXPECT_EQ(ReadFile(root_ / "pub"), printed + "\n");
  EXPECT_NE(key.recipient, printed);
  EXPECT_EQ(fs::status(key.identity).permissions() & fs::perms::all,
            fs::perms::owner_read | fs::perms::owner_write);
}

// ---------------------------------------------------------------------------
// Failures: a non-zero exit, one error line that says why, and with -o
// neither the output nor a temporary file left behind.

class AgeInteropFailureTest : public AgeInteropTest,
                              public ::testing::WithParamInterface<Tool> {
 protected:
  // Writes `size` random bytes to "plain" and encrypts them with the
  // parameter's tool to `key`, as binary "ct". Returns the plaintext.
  std::string MakeCiphertext(const Key& key, size_t size) {
    const std::string plain = RandomBytes(size, 0xbad0 + size);
    WriteFile(P("plain"), plain);
    const Result r =
        Encrypt(GetParam(), {key.recipient}, {}, false, "plain", "ct");
    EXPECT_EQ(r.status, 0) << r.err;
    return plain;
  }
};

TEST_P(AgeInteropFailureTest, TvaultRejectsWrongIdentity) {
  const Key key = MakeKey(Tool::kAge, "key.txt");
  const Key wrong = MakeKey(Tool::kTvault, "wrong.txt");
  MakeCiphertext(key, 1000);
  const Result r = Decrypt(Tool::kTvault, {wrong.identity}, "ct", "out");
  ExpectOneLineError(r, {"no identity matched"});
  ExpectNoOutput("out");
}

TEST_P(AgeInteropFailureTest, TvaultRejectsCorruptedPayloadWithoutOutput) {
  const Key key = MakeKey(Tool::kAge, "key.txt");
  MakeCiphertext(key, 100000);
  std::string ct = ReadFile(P("ct"));
  const size_t payload = PayloadOffset(ct);
  ASSERT_LT(payload + 10, ct.size());
  ct[payload + 10] = static_cast<char>(ct[payload + 10] ^ 0x01);
  WriteFile(P("ct"), ct);
  const Result r = Decrypt(Tool::kTvault, {key.identity}, "ct", "out");
  ExpectOneLineError(
      r, {"chunk 0", "failed authentication", "nothing was written to"});
  ExpectNoOutput("out");
}

TEST_P(AgeInteropFailureTest, TvaultRejectsCorruptedThirdChunkOnStdout) {
  const Key key = MakeKey(Tool::kAge, "key.txt");
  const std::string plain = MakeCiphertext(key, 300000);
  std::string ct = ReadFile(P("ct"));
  const size_t at = PayloadOffset(ct) + 2 * kChunkCiphertext + 100;
  ASSERT_LT(at, ct.size());
  ct[at] = static_cast<char>(ct[at] ^ 0x80);
  WriteFile(P("ct"), ct);
  const Result r = Run(Tvault() + " age decrypt -i " + Quote(key.identity) +
                       " " + Q("ct") + " > " + Q("out"));
  ExpectOneLineError(r, {"chunk 2", "131072 bytes", "discard"});
  const std::string out = ReadFile(P("out"));
  ASSERT_EQ(out.size(), 2 * kChunk);
  EXPECT_TRUE(out == plain.substr(0, 2 * kChunk));
}

TEST_P(AgeInteropFailureTest, TvaultRejectsFileTruncatedAtChunkBoundary) {
  const Key key = MakeKey(Tool::kAge, "key.txt");
  MakeCiphertext(key, 200000);
  const std::string ct = ReadFile(P("ct"));
  WriteFile(P("ct"), ct.substr(0, PayloadOffset(ct) + 2 * kChunkCiphertext));
  const Result r = Decrypt(Tool::kTvault, {key.identity}, "ct", "out");
  ExpectOneLineError(r, {"truncated", "nothing was written to"});
  ExpectNoOutput("out");
}

TEST_P(AgeInteropFailureTest, TvaultRejectsFileTruncatedAfterHeader) {
  const Key key = MakeKey(Tool::kAge, "key.txt");
  MakeCiphertext(key, 1000);
  const std::string ct = ReadFile(P("ct"));
  WriteFile(P("ct"), ct.substr(0, PayloadOffset(ct)));
  const Result r = Decrypt(Tool::kTvault, {key.identity}, "ct", "out");
  ExpectOneLineError(r, {"truncated"});
  ExpectNoOutput("out");
}

TEST_P(AgeInteropFailureTest, TvaultRejectsFileTruncatedInHeader) {
  const Key key = MakeKey(Tool::kAge, "key.txt");
  MakeCiphertext(key, 1000);
  const std::string ct = ReadFile(P("ct"));
  WriteFile(P("ct"), ct.substr(0, ct.find("\n--- ") + 3));
  const Result r = Decrypt(Tool::kTvault, {key.identity}, "ct", "out");
  ExpectOneLineError(r, {"header", "end of file"});
  ExpectNoOutput("out");
}

TEST_P(AgeInteropFailureTest, TvaultRejectsPassphraseFileWithIdentity) {
  const Key key = MakeKey(Tool::kAge, "key.txt");
  WriteFile(P("plain"), "x");
  Result r = EncryptWithPassphrase(GetParam(), false, "plain", "ct");
  ASSERT_EQ(r.status, 0) << r.err;
  r = Decrypt(Tool::kTvault, {key.identity}, "ct", "out");
  ExpectOneLineError(r, {"encrypted with a passphrase", "without -i"});
  ExpectNoOutput("out");
}

std::string FailureName(const ::testing::TestParamInfo<Tool>& info) {
  return std::string(ToolName(info.param)) + "Encrypted";
}

INSTANTIATE_TEST_SUITE_P(, AgeInteropFailureTest,
                         ::testing::Values(Tool::kAge, Tool::kTvault),
                         FailureName);

TEST_F(AgeInteropTest, TvaultRejectsKeyFileWithoutIdentity) {
  const Key key = MakeKey(Tool::kAge, "key.txt");
  WriteFile(P("plain"), "x");
  Result r = Encrypt(Tool::kAge, {key.recipient}, {}, false, "plain", "ct");
  ASSERT_EQ(r.status, 0) << r.err;
  r = Run(Tvault() + " age decrypt -o " + Q("out") + " " + Q("ct"));
  ExpectOneLineError(r, {"encrypted to a key", "-i"});
  ExpectNoOutput("out");
}

TEST_F(AgeInteropTest, TvaultEncryptRejectsPassphraseWithRecipient) {
  const Key key = MakeKey(Tool::kAge, "key.txt");
  WriteFile(P("plain"), "x");
  const Result r =
      Run("TVAULT_PASSPHRASE=pw " + Tvault() + " age encrypt -p -r " +
          Quote(key.recipient) + " -o " + Q("ct") + " " + Q("plain"));
  ExpectOneLineError(r, {"-p", "cannot be combined with -r"});
  ExpectNoOutput("ct");
}

TEST_F(AgeInteropTest, TvaultEncryptRejectsNoRecipients) {
  WriteFile(P("plain"), "x");
  const Result r =
      Run(Tvault() + " age encrypt -o " + Q("ct") + " " + Q("plain"));
  ExpectOneLineError(r, {"no recipients"});
  ExpectNoOutput("ct");
}

TEST_F(AgeInteropTest, TvaultEncryptRejectsInvalidRecipient) {
  const Key key = MakeKey(Tool::kAge, "key.txt");
  WriteFile(P("plain"), "x");
  // A valid recipient with its last character changed fails the checksum.
  std::string bad = key.recipient;
  bad.back() = bad.back() == 'q' ? 'p' : 'q';
  const std::vector<std::pair<std::string, std::string>> cases = {
      {"age1notarecipient", "not a valid age recipient"},
      {bad, "not a valid age recipient"},
  };
  for (const auto& [recipient, reason] : cases) {
    SCOPED_TRACE(recipient);
    const Result r =
        Run(Tvault() + " age encrypt -r " + Quote(key.recipient) + " -r " +
            Quote(recipient) + " -o " + Q("ct") + " " + Q("plain"));
    ExpectOneLineError(r, {"-r argument 2", reason});
    ExpectNoOutput("ct");
  }
}

// A secret key given as -r by mistake is refused, and never echoed back to
// the terminal or a log.
TEST_F(AgeInteropTest,
       TvaultEncryptRefusesSecretKeyAsRecipientWithoutEchoingIt) {
  const Key key = MakeKey(Tool::kAge, "key.txt");
  WriteFile(P("plain"), "x");
  const std::string secret = ReadFile(P("key.txt"));
  const size_t at = secret.find("AGE-SECRET-KEY-1");
  ASSERT_NE(at, std::string::npos);
  const std::string sk = secret.substr(at, secret.find('\n', at) - at);
  for (const std::string& given : {sk, LowerAscii(sk)}) {
    const Result r = Run(Tvault() + " age encrypt -r " + Quote(given) + " -o " +
                         Q("ct") + " " + Q("plain"));
    ExpectOneLineError(r, {"-r argument 1", "SECRET key"});
    EXPECT_EQ(r.err.find(given.substr(16)), std::string::npos)
        << "the secret key was echoed";
    ExpectNoOutput("ct");
  }
}

TEST_F(AgeInteropTest, TvaultEncryptRejectsInvalidRecipientsFile) {
  const Key key = MakeKey(Tool::kAge, "key.txt");
  WriteFile(P("plain"), "x");
  WriteFile(P("recipients.txt"),
            "# ok\n" + key.recipient + "\nage1notarecipient\n");
  const Result r = Run(Tvault() + " age encrypt -R " + Q("recipients.txt") +
                       " -o " + Q("ct") + " " + Q("plain"));
  ExpectOneLineError(r, {"recipients.txt"});
  ExpectNoOutput("ct");
}

// A decryption killed with SIGKILL mid-stream (no handler can run) leaves
// no output and no partial file: the output is an unnamed file until the
// whole input verified. The input is a FIFO held open, so the kill always
// lands while tvault waits for more ciphertext.
TEST_F(AgeInteropTest, TvaultDecryptKilledMidStreamLeavesNothing) {
  const Key key = MakeKey(Tool::kTvault, "key.txt");
  WriteFile(P("plain"), std::string(3 << 20, 'p'));
  ASSERT_EQ(Run(Tvault() + " age encrypt -r " + Quote(key.recipient) + " -o " +
                Q("ct") + " " + Q("plain"))
                .status,
            0);
  ASSERT_EQ(Run("mkfifo " + Q("fifo")).status, 0);
  const std::string cmd =
      "(head -c 1000000 " + Q("ct") + "; exec sleep 30) > " + Q("fifo") +
      " & writer=$!; " + Tvault() + " age decrypt -i " + Q("key.txt") + " -o " +
      Q("out") + " " + Q("fifo") + " & t=$!; sleep 1; kill -9 $t; " +
      "wait $t; kill $writer; wait $writer; exit 0";
  ASSERT_EQ(Run(cmd).status, 0);
  for (const fs::directory_entry& e : fs::directory_iterator(dir_)) {
    const std::string name = e.path().filename().string();
    EXPECT_TRUE(name == "key.txt" || name == "plain" || name == "ct" ||
                name == "fifo")
        << "left behind: " << name;
  }
}

TEST_F(AgeInteropTest, TvaultKeygenRefusesToOverwrite) {
  WriteFile(P("key.txt"), "precious\n");
  const Result r = Run(Tvault() + " age keygen -o " + Q("key.txt"));
  ExpectOneLineError(r, {"already exists", "refusing to overwrite"});
  EXPECT_EQ(ReadFile(P("key.txt")), "precious\n");
  for (const fs::directory_entry& e : fs::directory_iterator(dir_)) {
    EXPECT_EQ(e.path().filename(), "key.txt") << "unexpected file";
  }
}

}  // namespace
