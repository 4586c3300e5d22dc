// The independent Python reader (tools/verify_record.py) and the C++ reader
// agree, on records written by the C++ writer and on hand-made containers
// that break one container rule each. One case goes through the real `age`
// tool, as a reviewer without this software would.
#include <unistd.h>

#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <string>

#include "gtest/gtest.h"
#include "tests/crypto/record_fixture.h"

namespace tvault::crypto {
namespace {

namespace fs = std::filesystem;
using testing_support::ContainerBuilder;
using testing_support::RecordFixture;

constexpr char kPython[] = "/usr/bin/python3";

class RecordPythonTest : public RecordFixture {
 protected:
  void SetUp() override {
    ASSERT_TRUE(fs::exists(kPython)) << "run scripts/setup.sh (python3)";
    ASSERT_EQ(std::system("/usr/bin/python3 -c 'import nacl' 2>/dev/null"), 0)
        << "python3-nacl is missing; run scripts/setup.sh";
    std::string tmpl = (fs::temp_directory_path() / "tvault-pyXXXXXX").string();
    ASSERT_NE(mkdtemp(tmpl.data()), nullptr);
    dir_ = tmpl;
  }
  void TearDown() override { fs::remove_all(dir_); }

  std::string Path(const std::string& name) { return (dir_ / name).string(); }

  void WriteFile(const std::string& name, const std::string& data) {
    std::ofstream(Path(name), std::ios::binary) << data;
  }

  // Exit status of the Python reader on `plain`.
  int PythonVerdict(const std::string& plain) {
    WriteFile("plain", plain);
    const std::string cmd = std::string(kPython) + " '" + TVAULT_SOURCE_DIR +
                            "/tools/verify_record.py' '" + Path("plain") +
                            "' --out '" + Path("body") + "' >'" +
                            Path("stdout") + "' 2>'" + Path("stderr") + "'";
    const int rc = std::system(cmd.c_str());
    return WIFEXITED(rc) ? WEXITSTATUS(rc) : -1;
  }

  std::string ReadBack(const std::string& name) {
    std::ifstream in(Path(name), std::ios::binary);
    return std::string((std::istreambuf_iterator<char>(in)),
                       std::istreambuf_iterator<char>());
  }

  // C++ verdict on the same container, limited to what Python checks.
  bool CppAccepts(const std::string& plain) {
    std::string body;
    return ReadRecord(Encrypt(plain), Expect(), &body).ok();
  }

  fs::path dir_;
};

TEST_F(RecordPythonTest, BothAcceptRecordsWrittenByTheCppWriter) {
  for (size_t size : {size_t{0}, size_t{5}, size_t{70000}}) {
    SCOPED_TRACE(size);
    const std::string body = Body(size);
    for (bool account : {false, true}) {
      const std::string ct =
          account ? WriteRecord(contributor_key_, AccountMeta(), body)
                  : WriteRecord(invite_key_, InviteMeta(), body);
      const std::string plain = Decrypt(ct);
      EXPECT_EQ(PythonVerdict(plain), 0) << ReadBack("stderr");
      EXPECT_EQ(ReadBack("body"), body);
      std::string out;
      EXPECT_TRUE(ReadRecord(ct, Expect(), &out).ok());
    }
  }
}

TEST_F(RecordPythonTest, BothRejectEachBrokenContainer) {
  const std::string meta = *PrintRecordMetadata(InviteMeta());
  struct Case {
    const char* name;
    std::function<std::string()> make;
  };
  auto built = [&](auto tweak) {
    return [&, tweak] {
      ContainerBuilder b(meta, "body bytes");
      tweak(b);
      return b.Sign(invite_key_);
    };
  };
  std::vector<Case> cases = {
      {"non-zero padding",
       built([](ContainerBuilder& b) { b.padding_byte = 7; })},
      {"one byte short",
       built([](ContainerBuilder& b) { b.padding_delta = -1; })},
      {"one byte long",
       built([](ContainerBuilder& b) { b.padding_delta = 1; })},
      {"bad magic", built([](ContainerBuilder& b) { b.magic = "TVR0"; })},
      {"wrong tag",
       built([](ContainerBuilder& b) { b.tag = "tvault/v1/auth"; })},
      // The last body byte then lands in the padding. (One more would be
      // a different, valid record: the header is signed.)
      {"body length one short",
       built([](ContainerBuilder& b) { b.body_len_delta = -1; })},
      {"duplicate key", built([](ContainerBuilder& b) {
         b.meta.insert(b.meta.size() - 1, ",\"title\":\"other\"");
       })},
      {"camelCase key", built([](ContainerBuilder& b) {
         b.meta.insert(b.meta.size() - 1, ",\"fileName\":\"x\"");
       })},
      {"number as string", built([](ContainerBuilder& b) {
         b.meta.insert(b.meta.size() - 1, ",\"epoch\":\"2\"");
       })},
      {"invalid UTF-8", built([](ContainerBuilder& b) {
         b.meta.insert(b.meta.size() - 1, ",\"description\":\"\xc3\x28\"");
       })},
      {"lone surrogate escape", built([](ContainerBuilder& b) {
         b.meta.insert(b.meta.size() - 1, ",\"description\":\"x\\ud800y\"");
       })},
      {"supersedes not a record id", built([](ContainerBuilder& b) {
         b.meta.insert(b.meta.size() - 1, ",\"supersedes\":\"abc\"");
       })},
      {"enum number as string", built([](ContainerBuilder& b) {
         b.meta.replace(b.meta.find("\"TESTIMONY\""), 11, "\"1\"");
       })},
      {"trailing JSON", built([](ContainerBuilder& b) { b.meta += " {}"; })},
      {"flipped signature",
       [&] {
         std::string p = ContainerBuilder(meta, "body bytes").Sign(invite_key_);
         p.back() ^= 0x40;
         return p;
       }},
      {"flipped body",
       [&] {
         std::string p = ContainerBuilder(meta, "body bytes").Sign(invite_key_);
         p[16 + meta.size()] ^= 1;
         return p;
       }},
      {"signer differs from metadata",
       [&] {
         return ContainerBuilder(meta, "body bytes").Sign(contributor_key_);
       }},
  };
  for (const Case& c : cases) {
    SCOPED_TRACE(c.name);
    const std::string plain = c.make();
    EXPECT_EQ(PythonVerdict(plain), 1) << "Python accepted it";
    EXPECT_FALSE(CppAccepts(plain)) << "C++ accepted it";
    EXPECT_NE(ReadBack("stderr").find("INVALID"), std::string::npos);
  }
  // And the unbroken one passes both, so the cases above are meaningful.
  const std::string good =
      ContainerBuilder(meta, "body bytes").Sign(invite_key_);
  EXPECT_EQ(PythonVerdict(good), 0) << ReadBack("stderr");
  EXPECT_TRUE(CppAccepts(good));
}

TEST_F(RecordPythonTest, AgeToolAndPythonReaderRecoverTheFile) {
  if (std::system("command -v age >/dev/null") != 0) {
    FAIL() << "the age tool is missing; run scripts/setup.sh";
  }
  const std::string body = Body(100000);
  WriteFile("record.age", WriteRecord(contributor_key_, AccountMeta(), body));
  const SecretBytes key = epoch_.Encode();
  WriteFile("key.txt", std::string(AsString(key.span())) + "\n");
  const std::string cmd =
      "age -d -i '" + Path("key.txt") + "' '" + Path("record.age") + "' | " +
      kPython + " '" + TVAULT_SOURCE_DIR + "/tools/verify_record.py' --out '" +
      Path("body") + "' >'" + Path("stdout") + "'";
  ASSERT_EQ(std::system(cmd.c_str()), 0);
  EXPECT_EQ(ReadBack("body"), body);
  EXPECT_NE(ReadBack("stdout").find(
                "\"signed_by\": \"account (certificate NOT checked"),
            std::string::npos);
}

}  // namespace
}  // namespace tvault::crypto
