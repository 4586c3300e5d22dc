// Fuzz target: an age file (binary or armored) as a hostile sender makes
// it — the header parser, the recipient stanzas, the header MAC, and then
// the payload — with the identities of the C2SP test kit (its X25519 key
// and its scrypt passphrase), so that the test kit's files are seeds that
// decrypt all the way.
//
// Invariants:
// - a parsed header re-encodes to exactly the bytes it was parsed from
//   (one canonical encoding), and the re-encoding with its MAC line
//   parses back to the same stanzas and MAC;
// - a file that decrypts gives a plaintext that, encrypted again to the
//   test kit's recipient, decrypts to the same bytes.
#include <cstddef>
#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "crypto/age.h"
#include "crypto/base64.h"
#include "crypto/io.h"
#include "crypto/statement.h"
#include "tests/fuzz/fuzz_check.h"

namespace tvault::fuzz {
namespace {

using crypto::AsBytes;

// The C2SP age test kit's identity and passphrase (public test values).
constexpr char kTestkitIdentity[] =
    "AGE-SECRET-KEY-"
    "1EGTZVFFV20835NWYV6270LXYVK2VKNX2MMDKWYKLMGR48UAWX40Q2P2LM0";
constexpr char kTestkitPassphrase[] = "password";
// The test kit's scrypt files use work factor 10; a higher one would make
// every such input cost seconds.
constexpr int kMaxWorkFactor = 10;
// Plaintext kept from one input; a larger file is still decrypted to the
// end, only not compared.
constexpr size_t kMaxPlaintext = 1 << 20;

class CappedSink final : public crypto::ByteSink {
 public:
  absl::Status Write(absl::Span<const uint8_t> data) override {
    total_ += data.size();
    if (bytes_.size() + data.size() <= kMaxPlaintext) {
      bytes_.insert(bytes_.end(), data.begin(), data.end());
    }
    return absl::OkStatus();
  }
  bool complete() const { return total_ == bytes_.size(); }
  const std::vector<uint8_t>& bytes() const { return bytes_; }

 private:
  std::vector<uint8_t> bytes_;
  size_t total_ = 0;
};

struct Keys {
  crypto::X25519Identity x25519;
  crypto::ScryptIdentity scrypt;
};

const Keys& TestkitKeys() {
  static const Keys* keys = [] {
    absl::StatusOr<crypto::X25519Identity> id =
        crypto::X25519Identity::Parse(kTestkitIdentity);
    FUZZ_CHECK_OK(id.status());
    return new Keys{*std::move(id),
                    crypto::ScryptIdentity(crypto::SecretBytes::CopyFrom(
                                               AsBytes(kTestkitPassphrase)),
                                           kMaxWorkFactor)};
  }();
  return *keys;
}

void CheckHeaderRoundTrip(const uint8_t* data, size_t size) {
  crypto::MemorySource memory({data, size});
  crypto::BufferedSource in(memory);
  absl::StatusOr<crypto::AgeHeader> header = crypto::ReadAgeHeader(in);
  if (!header.ok()) return;
  FUZZ_CHECK(!header->stanzas.empty());
  const std::vector<uint8_t> encoded =
      crypto::EncodeAgeHeaderWithoutMac(header->stanzas);
  FUZZ_CHECK(encoded == header->mac_input);
  FUZZ_CHECK(encoded.size() <= size);
  FUZZ_CHECK(std::equal(encoded.begin(), encoded.end(), data));

  std::string again(encoded.begin(), encoded.end());
  again += " ";
  again += crypto::Base64Encode(header->mac, crypto::Base64Padding::kNone);
  again += "\n";
  crypto::MemorySource memory2(again);
  crypto::BufferedSource in2(memory2);
  absl::StatusOr<crypto::AgeHeader> reparsed = crypto::ReadAgeHeader(in2);
  FUZZ_CHECK_OK(reparsed.status());
  FUZZ_CHECK(reparsed->mac == header->mac);
  FUZZ_CHECK(reparsed->mac_input == header->mac_input);
  FUZZ_CHECK(reparsed->stanzas.size() == header->stanzas.size());
  for (size_t i = 0; i < header->stanzas.size(); ++i) {
    FUZZ_CHECK(reparsed->stanzas[i].args == header->stanzas[i].args);
    FUZZ_CHECK(reparsed->stanzas[i].body == header->stanzas[i].body);
  }
}

std::vector<uint8_t> Decrypt(absl::Span<const uint8_t> file,
                             const crypto::AgeIdentity& identity) {
  crypto::MemorySource src(file);
  absl::StatusOr<std::unique_ptr<crypto::AgeDecryptor>> dec =
      crypto::AgeDecryptor::Open(src, {.stream = {.threads = 1}});
  FUZZ_CHECK_OK(dec.status());
  const crypto::AgeIdentity* ids[] = {&identity};
  FUZZ_CHECK_OK((*dec)->Unlock(ids));
  crypto::VectorSink out;
  FUZZ_CHECK_OK((*dec)->DecryptTo(out));
  return out.bytes();
}

void CheckDecrypt(const uint8_t* data, size_t size) {
  crypto::MemorySource src({data, size});
  absl::StatusOr<std::unique_ptr<crypto::AgeDecryptor>> dec =
      crypto::AgeDecryptor::Open(src, {.stream = {.threads = 1}});
  if (!dec.ok()) return;
  const Keys& keys = TestkitKeys();
  const crypto::AgeIdentity* ids[] = {&keys.x25519, &keys.scrypt};
  if (!(*dec)->Unlock(ids).ok()) return;
  CappedSink plain;
  if (!(*dec)->DecryptTo(plain).ok() || !plain.complete()) return;
  FUZZ_CHECK((*dec)->plaintext_bytes() == plain.bytes().size());

  // Encrypt the plaintext again (binary, or armored as the input was) and
  // decrypt that.
  crypto::VectorSink again;
  const crypto::AgeRecipient* to[] = {&keys.x25519.recipient()};
  absl::StatusOr<std::unique_ptr<crypto::AgeEncryptor>> enc =
      crypto::AgeEncryptor::Create(
          to, again, {.armor = (*dec)->armored(), .stream = {.threads = 1}});
  FUZZ_CHECK_OK(enc.status());
  FUZZ_CHECK_OK((*enc)->Write(plain.bytes()));
  FUZZ_CHECK_OK((*enc)->Finish());
  FUZZ_CHECK(Decrypt(again.bytes(), keys.x25519) == plain.bytes());
}

}  // namespace
}  // namespace tvault::fuzz

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  tvault::fuzz::CheckHeaderRoundTrip(data, size);
  tvault::fuzz::CheckDecrypt(data, size);
  return 0;
}
