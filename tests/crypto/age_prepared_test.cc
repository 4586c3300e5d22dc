// AgePreparedHeader: encryptors started from one prepared header write the
// same bytes for the same plaintext (the client's hash-then-send passes),
// separately prepared headers never do, and the output is an ordinary age
// file for this decryptor and for the age tool.
#include <unistd.h>

#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <string>
#include <vector>

#include "crypto/age.h"
#include "crypto/statement.h"
#include "gtest/gtest.h"

namespace tvault::crypto {
namespace {

namespace fs = std::filesystem;

std::string Plaintext(size_t n) {
  std::string s(n, '\0');
  for (size_t i = 0; i < n; ++i) s[i] = static_cast<char>(i * 131 + i / 977);
  return s;
}

// Encrypts `plain` from `prepared`, in pieces of `piece` bytes.
std::string EncryptWith(const AgePreparedHeader& prepared,
                        const std::string& plain, size_t piece,
                        AgeEncryptOptions options = {}) {
  VectorSink sink;
  absl::StatusOr<std::unique_ptr<AgeEncryptor>> enc =
      AgeEncryptor::Create(prepared, sink, options);
  EXPECT_TRUE(enc.ok()) << enc.status();
  if (!enc.ok()) return "";
  for (size_t at = 0; at < plain.size(); at += piece) {
    EXPECT_TRUE((*enc)->Write(AsBytes(plain).subspan(at, piece)).ok());
  }
  EXPECT_TRUE((*enc)->Finish().ok());
  return std::string(sink.bytes().begin(), sink.bytes().end());
}

class AgePreparedHeaderTest : public ::testing::Test {
 protected:
  AgePreparedHeader Prepare() {
    const AgeRecipient* r[] = {&identity_.recipient()};
    absl::StatusOr<AgePreparedHeader> p = AgePreparedHeader::Create(r);
    EXPECT_TRUE(p.ok()) << p.status();
    return *std::move(p);
  }

  std::string Decrypt(const std::string& ct) {
    MemorySource src(ct);
    absl::StatusOr<std::unique_ptr<AgeDecryptor>> dec = AgeDecryptor::Open(src);
    EXPECT_TRUE(dec.ok()) << dec.status();
    if (!dec.ok()) return "";
    const AgeIdentity* ids[] = {&identity_};
    EXPECT_TRUE((*dec)->Unlock(ids).ok());
    VectorSink out;
    EXPECT_TRUE((*dec)->DecryptTo(out).ok());
    return std::string(out.bytes().begin(), out.bytes().end());
  }

  X25519Identity identity_ = X25519Identity::Generate();
};

TEST_F(AgePreparedHeaderTest, EncryptorsFromOneHeaderWriteIdenticalBytes) {
  const AgePreparedHeader prepared = Prepare();
  // Across chunk and batch boundaries, whatever the write pieces and threads.
  const std::string plain = Plaintext(17 * kAgeChunkSize + 100);
  const std::string first = EncryptWith(prepared, plain, plain.size());
  const std::string second = EncryptWith(
      prepared, plain, 1000, AgeEncryptOptions{.stream = {.threads = 1}});
  EXPECT_EQ(first, second);
  EXPECT_EQ(Decrypt(first), plain);
}

TEST_F(AgePreparedHeaderTest, ArmoredOutputIsRepeatableToo) {
  const AgePreparedHeader prepared = Prepare();
  const std::string plain = Plaintext(5000);
  const AgeEncryptOptions armor{.armor = true, .stream = {}};
  const std::string first = EncryptWith(prepared, plain, 7, armor);
  EXPECT_EQ(first, EncryptWith(prepared, plain, 4096, armor));
  EXPECT_EQ(Decrypt(first), plain);
}

TEST_F(AgePreparedHeaderTest, SeparatelyPreparedHeadersDiffer) {
  const AgePreparedHeader a = Prepare();
  const AgePreparedHeader b = Prepare();
  const std::string plain = Plaintext(100);
  const std::string ct_a = EncryptWith(a, plain, plain.size());
  const std::string ct_b = EncryptWith(b, plain, plain.size());
  ASSERT_EQ(ct_a.size(), ct_b.size());
  EXPECT_NE(ct_a, ct_b);
  // Not just the stanza: the nonce and so every payload byte differ.
  const size_t payload = ct_a.size() - (plain.size() + kAgeTagSize);
  EXPECT_NE(ct_a.substr(payload), ct_b.substr(payload));
  EXPECT_NE(ct_a.substr(payload - kAgeNonceSize, kAgeNonceSize),
            ct_b.substr(payload - kAgeNonceSize, kAgeNonceSize));
  EXPECT_EQ(Decrypt(ct_a), plain);
  EXPECT_EQ(Decrypt(ct_b), plain);
}

TEST_F(AgePreparedHeaderTest, CreateFromRecipientsStillDrawsAFreshHeader) {
  const AgeRecipient* r[] = {&identity_.recipient()};
  std::string outputs[2];
  for (std::string& out : outputs) {
    VectorSink sink;
    absl::StatusOr<std::unique_ptr<AgeEncryptor>> enc =
        AgeEncryptor::Create(r, sink);
    ASSERT_TRUE(enc.ok()) << enc.status();
    ASSERT_TRUE((*enc)->Write(AsBytes("same")).ok());
    ASSERT_TRUE((*enc)->Finish().ok());
    out.assign(sink.bytes().begin(), sink.bytes().end());
    EXPECT_EQ(Decrypt(out), "same");
  }
  EXPECT_NE(outputs[0], outputs[1]);
}

TEST_F(AgePreparedHeaderTest, CreateRefusesNoRecipientsOrMixedPassphrase) {
  EXPECT_EQ(AgePreparedHeader::Create({}).status().code(),
            absl::StatusCode::kInvalidArgument);
  const ScryptRecipient passphrase(SecretBytes::CopyFrom(AsBytes("pw")), 10);
  const AgeRecipient* mixed[] = {&identity_.recipient(), &passphrase};
  EXPECT_EQ(AgePreparedHeader::Create(mixed).status().code(),
            absl::StatusCode::kInvalidArgument);
}

TEST_F(AgePreparedHeaderTest, EncryptorRefusesMovedFromHeader) {
  AgePreparedHeader prepared = Prepare();
  const AgePreparedHeader taken = std::move(prepared);
  VectorSink sink;
  EXPECT_EQ(AgeEncryptor::Create(prepared, sink).status().code(),  // NOLINT
            absl::StatusCode::kFailedPrecondition);
  EXPECT_TRUE(sink.bytes().empty());
  EXPECT_TRUE(AgeEncryptor::Create(taken, sink).ok());
}

TEST_F(AgePreparedHeaderTest, AgeToolDecryptsOutput) {
  if (std::system("command -v age >/dev/null") != 0) {
    FAIL() << "the age tool is missing; run scripts/setup.sh";
  }
  std::string tmpl = (fs::temp_directory_path() / "tvault-ageXXXXXX").string();
  ASSERT_NE(mkdtemp(tmpl.data()), nullptr);
  const fs::path dir = tmpl;
  const std::string plain = Plaintext(3 * kAgeChunkSize + 5);
  const std::string ct = EncryptWith(Prepare(), plain, 50000);
  std::ofstream(dir / "file.age", std::ios::binary) << ct;
  const SecretBytes key = identity_.Encode();
  std::ofstream(dir / "key.txt") << std::string(AsString(key.span())) << "\n";
  const std::string cmd = "age -d -i '" + (dir / "key.txt").string() +
                          "' -o '" + (dir / "out").string() + "' '" +
                          (dir / "file.age").string() + "'";
  EXPECT_EQ(std::system(cmd.c_str()), 0);
  std::ifstream in(dir / "out", std::ios::binary);
  const std::string out((std::istreambuf_iterator<char>(in)),
                        std::istreambuf_iterator<char>());
  EXPECT_EQ(out, plain);
  fs::remove_all(dir);
}

}  // namespace
}  // namespace tvault::crypto
