// Runs every vector of the C2SP age test kit (tests/vectors/age-testkit)
// through AgeDecryptor and checks the exact outcome class and the SHA-256 of
// every plaintext byte released, including before a payload failure.
#include <sodium.h>
#include <zlib.h>

#include <filesystem>
#include <fstream>
#include <map>
#include <sstream>
#include <string>
#include <vector>

#include "absl/strings/escaping.h"
#include "crypto/age.h"
#include "gtest/gtest.h"

namespace tvault::crypto {
namespace {

namespace fs = std::filesystem;

struct Vector {
  std::string name;
  std::multimap<std::string, std::string> fields;
  std::vector<uint8_t> file;
};

fs::path TestkitDir() {
  return fs::path(TVAULT_SOURCE_DIR) / "tests/vectors/age-testkit";
}

std::vector<uint8_t> Inflate(const std::vector<uint8_t>& in) {
  std::vector<uint8_t> out;
  z_stream zs{};
  EXPECT_EQ(inflateInit(&zs), Z_OK);
  zs.next_in = const_cast<uint8_t*>(in.data());
  zs.avail_in = static_cast<uInt>(in.size());
  std::vector<uint8_t> buf(1 << 16);
  int rc = Z_OK;
  while (rc == Z_OK) {
    zs.next_out = buf.data();
    zs.avail_out = static_cast<uInt>(buf.size());
    rc = inflate(&zs, Z_NO_FLUSH);
    out.insert(out.end(), buf.begin(),
               buf.begin() + static_cast<ptrdiff_t>(buf.size() - zs.avail_out));
  }
  EXPECT_EQ(rc, Z_STREAM_END);
  inflateEnd(&zs);
  return out;
}

Vector Load(const fs::path& path) {
  std::ifstream in(path, std::ios::binary);
  std::string all((std::istreambuf_iterator<char>(in)),
                  std::istreambuf_iterator<char>());
  Vector v;
  v.name = path.filename().string();
  size_t pos = 0;
  while (true) {
    const size_t lf = all.find('\n', pos);
    const std::string line = all.substr(pos, lf - pos);
    pos = lf + 1;
    if (line.empty()) break;
    const size_t colon = line.find(": ");
    v.fields.emplace(line.substr(0, colon), line.substr(colon + 2));
  }
  v.file.assign(all.begin() + static_cast<ptrdiff_t>(pos), all.end());
  auto c = v.fields.find("compressed");
  if (c != v.fields.end() && c->second == "zlib") v.file = Inflate(v.file);
  return v;
}

std::vector<std::string> VectorNames() {
  std::vector<std::string> names;
  if (!fs::exists(TestkitDir())) return names;
  for (const auto& e : fs::directory_iterator(TestkitDir())) {
    if (e.path().filename() != "README.md") {
      names.push_back(e.path().filename().string());
    }
  }
  std::sort(names.begin(), names.end());
  return names;
}

// Hashes what the decryptor releases.
class HashingSink final : public ByteSink {
 public:
  HashingSink() { crypto_hash_sha256_init(&st_); }
  absl::Status Write(absl::Span<const uint8_t> data) override {
    crypto_hash_sha256_update(&st_, data.data(), data.size());
    return absl::OkStatus();
  }
  std::string HexDigest() {
    uint8_t d[32];
    crypto_hash_sha256_final(&st_, d);
    return absl::BytesToHexString(
        absl::string_view(reinterpret_cast<const char*>(d), sizeof d));
  }

 private:
  crypto_hash_sha256_state st_;
};

std::string Outcome(const absl::Status& s) {
  if (s.ok()) return "success";
  return std::string(AgeErrorKindName(GetAgeErrorKind(s)));
}

class AgeTestkitTest : public ::testing::TestWithParam<std::string> {};

TEST_P(AgeTestkitTest, GivesTheExpectedOutcome) {
  const Vector v = Load(TestkitDir() / GetParam());
  std::vector<std::unique_ptr<AgeIdentity>> ids;
  for (auto [it, end] = v.fields.equal_range("identity"); it != end; ++it) {
    if (it->second.rfind("AGE-SECRET-KEY-PQ-", 0) == 0) {
      GTEST_SKIP() << "needs ML-KEM (mlkem768x25519), absent from libsodium "
                      "1.0.18";
    }
    absl::StatusOr<X25519Identity> id = X25519Identity::Parse(it->second);
    ASSERT_TRUE(id.ok()) << id.status();
    ids.push_back(std::make_unique<X25519Identity>(*std::move(id)));
  }
  for (auto [it, end] = v.fields.equal_range("passphrase"); it != end; ++it) {
    ids.push_back(std::make_unique<ScryptIdentity>(SecretBytes::CopyFrom(
        {reinterpret_cast<const uint8_t*>(it->second.data()),
         it->second.size()})));
  }
  std::vector<const AgeIdentity*> id_ptrs;
  for (const auto& id : ids) id_ptrs.push_back(id.get());

  const std::string expect = v.fields.find("expect")->second;
  const bool armored =
      v.fields.count("armored") && v.fields.find("armored")->second == "yes";
  MemorySource source(v.file);
  AgeDecryptOptions options;
  options.armor = armored ? ArmorMode::kRequire : ArmorMode::kDetect;
  HashingSink sink;
  absl::Status status;
  absl::StatusOr<std::unique_ptr<AgeDecryptor>> dec =
      AgeDecryptor::Open(source, options);
  if (!dec.ok()) {
    status = dec.status();
  } else {
    status = (*dec)->Unlock(id_ptrs);
    if (status.ok()) status = (*dec)->DecryptTo(sink);
  }
  EXPECT_EQ(Outcome(status), expect) << status;
  if (expect == "success" || expect == "payload failure") {
    EXPECT_EQ(sink.HexDigest(), v.fields.find("payload")->second);
  }
}

INSTANTIATE_TEST_SUITE_P(Testkit, AgeTestkitTest,
                         ::testing::ValuesIn(VectorNames()),
                         [](const auto& p) { return p.param; });

TEST(AgeTestkitPresence, VectorsArePresent) {
  ASSERT_TRUE(fs::exists(TestkitDir()))
      << "the age test kit is missing from " << TestkitDir();
  EXPECT_GT(VectorNames().size(), 100u);
}

}  // namespace
}  // namespace tvault::crypto
