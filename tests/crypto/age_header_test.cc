// Header-level tests that the test kit does not cover: alternative
// encodings of the same bytes, size limits, and the encoder/parser pair.
#include "crypto/age_header.h"

#include <string>

#include "crypto/age.h"
#include "gtest/gtest.h"

namespace tvault::crypto {
namespace {

std::string EncryptToString(const X25519Identity& id, absl::string_view text) {
  VectorSink sink;
  const AgeRecipient* r[] = {&id.recipient()};
  auto enc = AgeEncryptor::Create(r, sink);
  EXPECT_TRUE(enc.ok());
  EXPECT_TRUE(
      (*enc)
          ->Write({reinterpret_cast<const uint8_t*>(text.data()), text.size()})
          .ok());
  EXPECT_TRUE((*enc)->Finish().ok());
  return std::string(sink.bytes().begin(), sink.bytes().end());
}

absl::Status Decrypt(const X25519Identity& id, absl::string_view file) {
  MemorySource src(file);
  auto dec = AgeDecryptor::Open(src);
  if (!dec.ok()) return dec.status();
  const AgeIdentity* ids[] = {&id};
  if (absl::Status s = (*dec)->Unlock(ids); !s.ok()) return s;
  VectorSink out;
  return (*dec)->DecryptTo(out);
}

// libsodium 1.0.18 decodes bytes >= 0x80 as '/'; a MAC line with such a
// byte must not be a second valid encoding of the same file.
TEST(AgeHeaderTest, RejectsHighByteStandingInForSlashInMac) {
  const X25519Identity id = X25519Identity::Generate();
  for (int attempt = 0; attempt < 64; ++attempt) {
    std::string file = EncryptToString(id, "testimony");
    const size_t mac_at = file.find("\n--- ") + 5;
    const size_t slash = file.find('/', mac_at);
    if (slash == std::string::npos || slash >= mac_at + 43) continue;
    ASSERT_TRUE(Decrypt(id, file).ok());
    file[slash] = '\x80';
    const absl::Status s = Decrypt(id, file);
    EXPECT_EQ(GetAgeErrorKind(s), AgeErrorKind::kHeader) << s;
    return;
  }
  FAIL() << "no MAC containing '/' in 64 attempts";
}

TEST(AgeHeaderTest, RejectsHeaderLargerThanLimit) {
  std::string file = "age-encryption.org/v1\n-> X25519 ";
  file.append(2 * kAgeMaxHeaderSize, 'A');
  MemorySource src(file);
  const absl::Status s = AgeDecryptor::Open(src).status();
  EXPECT_EQ(GetAgeErrorKind(s), AgeErrorKind::kHeader);
  EXPECT_NE(s.message().find("too large"), absl::string_view::npos) << s;
}

TEST(AgeHeaderTest, RejectsEmptyInputWithPlainMessage) {
  MemorySource src(absl::string_view(""));
  const absl::Status s = AgeDecryptor::Open(src).status();
  EXPECT_EQ(GetAgeErrorKind(s), AgeErrorKind::kHeader);
  EXPECT_NE(s.message().find("empty"), absl::string_view::npos) << s;
}

TEST(AgeHeaderTest, EncoderOutputParsesBackToTheSameStanzas) {
  std::vector<AgeStanza> stanzas(3);
  stanzas[0].args = {"X25519", "abc"};
  stanzas[0].body.assign(32, 7);
  stanzas[1].args = {"example.com/grease", "!#$%", "~"};
  stanzas[1].body.assign(48, 1);  // exactly one full 64-column line
  stanzas[2].args = {"empty-body"};
  std::vector<uint8_t> bytes = EncodeAgeHeaderWithoutMac(stanzas);
  const std::string mac_line = " " + std::string(43, 'A') + "\n";
  bytes.insert(bytes.end(), mac_line.begin(), mac_line.end());
  MemorySource src(bytes);
  BufferedSource in(src);
  absl::StatusOr<AgeHeader> header = ReadAgeHeader(in);
  ASSERT_TRUE(header.ok()) << header.status();
  ASSERT_EQ(header->stanzas.size(), 3u);
  for (size_t i = 0; i < 3; ++i) {
    EXPECT_EQ(header->stanzas[i].args, stanzas[i].args);
    EXPECT_EQ(header->stanzas[i].body, stanzas[i].body);
  }
  // The MAC covers everything up to and including "---".
  EXPECT_EQ(header->mac_input.size(), bytes.size() - mac_line.size());
}

TEST(AgeHeaderTest, RejectsScryptStanzaBesideAnother) {
  const X25519Identity id = X25519Identity::Generate();
  VectorSink sink;
  ScryptRecipient pass(SecretBytes::CopyFrom({}), 1);
  const AgeRecipient* r[] = {&id.recipient(), &pass};
  EXPECT_FALSE(AgeEncryptor::Create(r, sink).ok());
}

}  // namespace
}  // namespace tvault::crypto
