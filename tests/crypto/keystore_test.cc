// Keystore: round trips, the exact file layout, and every way a file can be
// wrong (passphrase, floor, bounds, header, payload, length). All but two
// tests run Argon2id at 8 KiB / 1 pass through KeystoreStrength::ForTesting;
// RoundTripAtMemberStrength and RejectsParametersBelowFloor seal one real
// member-strength file each (~1 s of Argon2id at 256 MiB).
#include "crypto/keystore.h"

#include <cstdint>
#include <cstring>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "absl/types/span.h"
#include "crypto/secret_bytes.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"

namespace tvault::crypto {
namespace {

using ::testing::AllOf;
using ::testing::HasSubstr;
using ::testing::Not;

constexpr uint64_t kKiB = 1024;
constexpr uint64_t kMiB = 1024 * 1024;
constexpr uint64_t kGiB = 1024 * kMiB;
// libsodium's minimum Argon2id cost: sub-millisecond.
constexpr KeystoreStrength kFast = KeystoreStrength::ForTesting(1, 8 * kKiB);
constexpr size_t kOpsOffset = 6;
constexpr size_t kMemOffset = 14;
constexpr size_t kSaltOffset = 22;
constexpr size_t kNonceOffset = 38;

SecretBytes Secret(absl::string_view s) {
  return SecretBytes::CopyFrom(absl::Span<const uint8_t>(
      reinterpret_cast<const uint8_t*>(s.data()), s.size()));
}

bool Equal(const SecretBytes& a, const SecretBytes& b) {
  return ConstantTimeEquals(a.span(), b.span());
}

void PutU64(std::vector<uint8_t>& file, size_t offset, uint64_t v) {
  for (int i = 7; i >= 0; --i) {
    file[offset + static_cast<size_t>(i)] = static_cast<uint8_t>(v & 0xff);
    v >>= 8;
  }
}

uint64_t GetU64(const std::vector<uint8_t>& file, size_t offset) {
  uint64_t v = 0;
  for (size_t i = 0; i < 8; ++i) v = (v << 8) | file[offset + i];
  return v;
}

std::vector<uint8_t> Seal(const SecretBytes& payload,
                          const SecretBytes& passphrase,
                          KeystoreStrength strength = kFast) {
  absl::StatusOr<std::vector<uint8_t>> file =
      SealKeystore(payload, passphrase, strength);
  EXPECT_TRUE(file.ok()) << file.status();
  return file.ok() ? *std::move(file) : std::vector<uint8_t>();
}

class KeystoreTest : public ::testing::Test {
 protected:
  const SecretBytes payload_ = SecretBytes::Random(96);
  const SecretBytes passphrase_ =
      Secret("correct horse battery staple mushy tripod");
};

TEST_F(KeystoreTest, RoundTrip) {
  const std::vector<uint8_t> file = Seal(payload_, passphrase_);
  absl::StatusOr<SecretBytes> opened = OpenKeystore(file, passphrase_, kFast);
  ASSERT_TRUE(opened.ok()) << opened.status();
  EXPECT_TRUE(Equal(*opened, payload_));
}

TEST_F(KeystoreTest, RoundTripOfOneBytePayload) {
  const SecretBytes one = Secret("k");
  const std::vector<uint8_t> file = Seal(one, passphrase_);
  EXPECT_EQ(file.size(), kKeystoreHeaderSize + 1 + kKeystoreTagSize);
  absl::StatusOr<SecretBytes> opened = OpenKeystore(file, passphrase_, kFast);
  ASSERT_TRUE(opened.ok()) << opened.status();
  EXPECT_TRUE(Equal(*opened, one));
}

TEST_F(KeystoreTest, RoundTripAtMemberStrength) {
  const std::vector<uint8_t> file =
      Seal(payload_, passphrase_, KeystoreStrength::kMember);
  ASSERT_FALSE(file.empty());
  EXPECT_EQ(GetU64(file, kOpsOffset), 3u);
  EXPECT_EQ(GetU64(file, kMemOffset), 256 * kMiB);
  absl::StatusOr<SecretBytes> opened =
      OpenKeystore(file, passphrase_, KeystoreStrength::kMember);
  ASSERT_TRUE(opened.ok()) << opened.status();
  EXPECT_TRUE(Equal(*opened, payload_));
}

TEST_F(KeystoreTest, FileLayoutIsAsDocumented) {
  const std::vector<uint8_t> file =
      Seal(payload_, passphrase_, KeystoreStrength::ForTesting(2, 16 * kKiB));
  ASSERT_EQ(file.size(), 62 + payload_.size() + 16);
  EXPECT_EQ(kKeystoreHeaderSize, 62u);
  const std::vector<uint8_t> magic = {0x54, 0x56, 0x4B, 0x53, 0x31, 0x0A};
  EXPECT_EQ(std::vector<uint8_t>(file.begin(), file.begin() + 6), magic);
  const std::vector<uint8_t> params = {0, 0, 0, 0, 0, 0, 0,    2,
                                       0, 0, 0, 0, 0, 0, 0x40, 0};
  EXPECT_EQ(std::vector<uint8_t>(file.begin() + 6, file.begin() + 22), params);
  // The ciphertext is not the payload in the clear.
  EXPECT_NE(std::memcmp(file.data() + 62, payload_.data(), payload_.size()), 0);
}

TEST_F(KeystoreTest, FreshSaltAndNonceEveryWrite) {
  const std::vector<uint8_t> a = Seal(payload_, passphrase_);
  const std::vector<uint8_t> b = Seal(payload_, passphrase_);
  ASSERT_EQ(a.size(), b.size());
  EXPECT_NE(std::memcmp(a.data() + kSaltOffset, b.data() + kSaltOffset, 16), 0);
  EXPECT_NE(std::memcmp(a.data() + kNonceOffset, b.data() + kNonceOffset, 24),
            0);
  EXPECT_NE(std::memcmp(a.data() + 62, b.data() + 62, a.size() - 62), 0);
}

TEST_F(KeystoreTest, RejectsWrongPassphrase) {
  const std::vector<uint8_t> file = Seal(payload_, passphrase_);
  for (absl::string_view wrong :
       {"correct horse battery staple mushy tripoD",
        "correct horse battery staple mushy tripod ", "", "x"}) {
    absl::StatusOr<SecretBytes> opened =
        OpenKeystore(file, Secret(wrong), kFast);
    ASSERT_FALSE(opened.ok()) << "passphrase '" << wrong << "'";
    EXPECT_EQ(opened.status().code(), absl::StatusCode::kPermissionDenied);
    EXPECT_EQ(opened.status().message(),
              "wrong passphrase, or the keystore file is damaged");
  }
}

TEST_F(KeystoreTest, RejectsParametersBelowFloor) {
  const auto kWeaker = HasSubstr(
      "this keystore uses weaker protection than required (Argon2id ");
  const auto kTampered = HasSubstr("; it may have been tampered with");

  // A test-strength file is far below the member floor.
  const std::vector<uint8_t> weak = Seal(payload_, passphrase_);
  absl::StatusOr<SecretBytes> opened =
      OpenKeystore(weak, passphrase_, KeystoreStrength::kMember);
  EXPECT_EQ(opened.status().code(), absl::StatusCode::kFailedPrecondition);
  EXPECT_THAT(opened.status().message(), AllOf(kWeaker, kTampered));
  EXPECT_THAT(opened.status().message(),
              HasSubstr("(Argon2id 1 passes, 8 KiB; at least Argon2id 3 "
                        "passes, 256 MiB required)"));

  // Either parameter alone below the floor is enough.
  const std::vector<uint8_t> few_passes =
      Seal(payload_, passphrase_, KeystoreStrength::ForTesting(1, 16 * kKiB));
  EXPECT_EQ(OpenKeystore(few_passes, passphrase_,
                         KeystoreStrength::ForTesting(2, 8 * kKiB))
                .status()
                .code(),
            absl::StatusCode::kFailedPrecondition);
  const std::vector<uint8_t> little_memory =
      Seal(payload_, passphrase_, KeystoreStrength::ForTesting(2, 8 * kKiB));
  EXPECT_EQ(OpenKeystore(little_memory, passphrase_,
                         KeystoreStrength::ForTesting(1, 16 * kKiB))
                .status()
                .code(),
            absl::StatusCode::kFailedPrecondition);

  // A genuine member keystore does not meet the org-root floor. The check
  // comes before Argon2id, so only the seal costs time here.
  const std::vector<uint8_t> member =
      Seal(payload_, passphrase_, KeystoreStrength::kMember);
  opened = OpenKeystore(member, passphrase_, KeystoreStrength::kOrgRoot);
  EXPECT_EQ(opened.status().code(), absl::StatusCode::kFailedPrecondition);
  EXPECT_THAT(opened.status().message(), AllOf(kWeaker, kTampered));
  EXPECT_THAT(opened.status().message(),
              HasSubstr("(Argon2id 3 passes, 256 MiB; at least Argon2id 4 "
                        "passes, 1024 MiB required)"));
}

TEST_F(KeystoreTest, AcceptsParametersAboveFloor) {
  const std::vector<uint8_t> file =
      Seal(payload_, passphrase_, KeystoreStrength::ForTesting(2, 16 * kKiB));
  absl::StatusOr<SecretBytes> opened = OpenKeystore(file, passphrase_, kFast);
  ASSERT_TRUE(opened.ok()) << opened.status();
  EXPECT_TRUE(Equal(*opened, payload_));
}

TEST_F(KeystoreTest, LoweredParametersFailAuthentication) {
  // An attacker who rewrites the cost to meet a lower floor still cannot get
  // the file opened: the header is associated data.
  std::vector<uint8_t> file =
      Seal(payload_, passphrase_, KeystoreStrength::ForTesting(2, 16 * kKiB));
  PutU64(file, kOpsOffset, 1);
  PutU64(file, kMemOffset, 8 * kKiB);
  EXPECT_EQ(OpenKeystore(file, passphrase_, kFast).status().code(),
            absl::StatusCode::kPermissionDenied);
}

TEST_F(KeystoreTest, RejectsAbsurdParametersWithoutRunningArgon2id) {
  // Each of these would take hours or exhaust memory if Argon2id ran; the
  // test finishing at all, with InvalidArgument rather than
  // ResourceExhausted, shows that it did not.
  const std::vector<uint8_t> good = Seal(payload_, passphrase_);
  struct Case {
    uint64_t ops;
    uint64_t mem;
  };
  for (const Case c : {Case{17, 8 * kKiB}, Case{uint64_t{1} << 40, 8 * kKiB},
                       Case{UINT64_MAX, 8 * kKiB}, Case{1, 4 * kGiB + kKiB},
                       Case{1, uint64_t{1} << 62}, Case{1, UINT64_MAX - 1023},
                       Case{UINT64_MAX, UINT64_MAX - 1023}}) {
    std::vector<uint8_t> file = good;
    PutU64(file, kOpsOffset, c.ops);
    PutU64(file, kMemOffset, c.mem);
    absl::StatusOr<SecretBytes> opened = OpenKeystore(file, passphrase_, kFast);
    EXPECT_EQ(opened.status().code(), absl::StatusCode::kInvalidArgument)
        << c.ops << " passes, " << c.mem << " bytes: " << opened.status();
    EXPECT_THAT(opened.status().message(), HasSubstr("refusing to run it"));
  }
  // Sealing refuses them too, before deriving anything.
  EXPECT_EQ(SealKeystore(payload_, passphrase_,
                         KeystoreStrength::ForTesting(17, 8 * kKiB))
                .status()
                .code(),
            absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(SealKeystore(payload_, passphrase_,
                         KeystoreStrength::ForTesting(1, 4 * kGiB + kKiB))
                .status()
                .code(),
            absl::StatusCode::kInvalidArgument);
  // The bound itself is allowed: 16 passes over 8 KiB is cheap.
  const std::vector<uint8_t> at_bound =
      Seal(payload_, passphrase_, KeystoreStrength::ForTesting(16, 8 * kKiB));
  EXPECT_TRUE(OpenKeystore(at_bound, passphrase_, kFast).ok());
}

TEST_F(KeystoreTest, RejectsMalformedParameters) {
  const std::vector<uint8_t> good = Seal(payload_, passphrase_);
  struct Case {
    uint64_t ops;
    uint64_t mem;
  };
  for (const Case c : {Case{0, 8 * kKiB}, Case{1, 0}, Case{1, 8 * kKiB - 1024},
                       Case{1, 8 * kKiB + 1}, Case{1, 8 * kKiB + 512}}) {
    std::vector<uint8_t> file = good;
    PutU64(file, kOpsOffset, c.ops);
    PutU64(file, kMemOffset, c.mem);
    // Even a floor of nothing does not let them through.
    EXPECT_EQ(
        OpenKeystore(file, passphrase_, KeystoreStrength::ForTesting(0, 0))
            .status()
            .code(),
        absl::StatusCode::kInvalidArgument)
        << c.ops << " passes, " << c.mem << " bytes";
    EXPECT_EQ(SealKeystore(payload_, passphrase_,
                           KeystoreStrength::ForTesting(c.ops, c.mem))
                  .status()
                  .code(),
              absl::StatusCode::kInvalidArgument);
  }
}

TEST_F(KeystoreTest, RejectsEveryHeaderByteFlipped) {
  const std::vector<uint8_t> good = Seal(payload_, passphrase_);
  // The lowest bit only: higher bits of the memlimit could turn a flip into
  // a legitimate multi-GiB Argon2id run. Flips of bytes 0..21 break the
  // magic or the parameters (caught before or by the AEAD); flips of the
  // salt and nonce can only be caught by the AEAD.
  for (size_t i = 0; i < kKeystoreHeaderSize; ++i) {
    std::vector<uint8_t> file = good;
    file[i] ^= 0x01;
    absl::StatusOr<SecretBytes> opened = OpenKeystore(file, passphrase_, kFast);
    ASSERT_FALSE(opened.ok()) << "byte " << i;
    if (i < kKeystoreMagicSize) {
      EXPECT_EQ(opened.status().code(), absl::StatusCode::kInvalidArgument)
          << "byte " << i;
    } else if (i >= kSaltOffset) {
      EXPECT_EQ(opened.status().code(), absl::StatusCode::kPermissionDenied)
          << "byte " << i;
    } else {
      EXPECT_THAT(opened.status().code(),
                  ::testing::AnyOf(absl::StatusCode::kInvalidArgument,
                                   absl::StatusCode::kFailedPrecondition,
                                   absl::StatusCode::kPermissionDenied))
          << "byte " << i << ": " << opened.status();
    }
  }
}

TEST_F(KeystoreTest, RejectsPayloadBitFlips) {
  const std::vector<uint8_t> good = Seal(payload_, passphrase_);
  for (size_t i = kKeystoreHeaderSize; i < good.size(); ++i) {
    std::vector<uint8_t> file = good;
    file[i] ^= static_cast<uint8_t>(1u << (i % 8));
    absl::StatusOr<SecretBytes> opened = OpenKeystore(file, passphrase_, kFast);
    EXPECT_EQ(opened.status().code(), absl::StatusCode::kPermissionDenied)
        << "byte " << i;
  }
}

TEST_F(KeystoreTest, RejectsTruncatedFile) {
  const std::vector<uint8_t> good = Seal(payload_, passphrase_);
  for (size_t len = 0; len < good.size(); ++len) {
    absl::StatusOr<SecretBytes> opened =
        OpenKeystore(absl::MakeConstSpan(good.data(), len), passphrase_, kFast);
    ASSERT_FALSE(opened.ok()) << "length " << len;
    // Too short to hold header, one payload byte and tag: malformed. Longer
    // prefixes are well formed and fail the tag.
    const absl::StatusCode want =
        len < kKeystoreHeaderSize + 1 + kKeystoreTagSize
            ? absl::StatusCode::kInvalidArgument
            : absl::StatusCode::kPermissionDenied;
    EXPECT_EQ(opened.status().code(), want) << "length " << len;
  }
  absl::StatusOr<SecretBytes> opened =
      OpenKeystore(absl::MakeConstSpan(good.data(), 40), passphrase_, kFast);
  EXPECT_THAT(opened.status().message(), HasSubstr("truncated"));
}

TEST_F(KeystoreTest, RejectsTrailingData) {
  std::vector<uint8_t> file = Seal(payload_, passphrase_);
  file.push_back(0);
  EXPECT_EQ(OpenKeystore(file, passphrase_, kFast).status().code(),
            absl::StatusCode::kPermissionDenied);
}

TEST_F(KeystoreTest, RejectsOtherFilesAndVersions) {
  std::vector<uint8_t> file = Seal(payload_, passphrase_);
  std::vector<uint8_t> other = file;
  std::memcpy(other.data(), "age-en", 6);
  absl::StatusOr<SecretBytes> opened = OpenKeystore(other, passphrase_, kFast);
  EXPECT_EQ(opened.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_THAT(opened.status().message(),
              HasSubstr("not a Testimony Vault keystore"));

  std::vector<uint8_t> newer = file;
  newer[4] = '2';
  opened = OpenKeystore(newer, passphrase_, kFast);
  EXPECT_EQ(opened.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_THAT(opened.status().message(),
              HasSubstr("unsupported keystore version"));
}

TEST_F(KeystoreTest, RejectsOversizedFileWithoutRunningArgon2id) {
  // Parameters that would be slow if run, so a pass shows the size check
  // came first.
  std::vector<uint8_t> file = Seal(payload_, passphrase_);
  PutU64(file, kOpsOffset, 16);
  PutU64(file, kMemOffset, 4 * kGiB);
  file.resize(kKeystoreHeaderSize + kMaxKeystorePayload + 1 + kKeystoreTagSize);
  absl::StatusOr<SecretBytes> opened = OpenKeystore(file, passphrase_, kFast);
  EXPECT_EQ(opened.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_THAT(opened.status().message(), HasSubstr("too large"));

  const SecretBytes huge(kMaxKeystorePayload + 1);
  EXPECT_EQ(SealKeystore(huge, passphrase_, kFast).status().code(),
            absl::StatusCode::kInvalidArgument);
}

TEST_F(KeystoreTest, SealRefusesEmptyPayloadOrPassphrase) {
  EXPECT_EQ(SealKeystore(SecretBytes(), passphrase_, kFast).status().code(),
            absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(SealKeystore(payload_, SecretBytes(), kFast).status().code(),
            absl::StatusCode::kInvalidArgument);
}

TEST_F(KeystoreTest, StatusMessagesCarryNoSecrets) {
  const SecretBytes payload = Secret("payload-marker-4c1d");
  const SecretBytes passphrase = Secret("passphrase-marker-9e2a");
  std::vector<uint8_t> file = Seal(payload, passphrase);
  std::vector<absl::Status> errors;
  errors.push_back(
      OpenKeystore(file, Secret("passphrase-marker-9e2b"), kFast).status());
  errors.push_back(
      OpenKeystore(file, passphrase, KeystoreStrength::kOrgRoot).status());
  file.pop_back();
  errors.push_back(OpenKeystore(file, passphrase, kFast).status());
  for (const absl::Status& s : errors) {
    ASSERT_FALSE(s.ok());
    EXPECT_THAT(s.message(),
                AllOf(Not(HasSubstr("marker")), Not(HasSubstr("passphrase-"))));
  }
}

TEST(KeystoreStrengthTest, LevelsAreThoseOfTheDesign) {
  // Constants only: running org-root Argon2id would take seconds and 1 GiB.
  EXPECT_EQ(KeystoreStrength::kMember.opslimit(), 3u);
  EXPECT_EQ(KeystoreStrength::kMember.memlimit_bytes(), 256 * kMiB);
  EXPECT_EQ(KeystoreStrength::kOrgRoot.opslimit(), 4u);
  EXPECT_EQ(KeystoreStrength::kOrgRoot.memlimit_bytes(), 1 * kGiB);
  EXPECT_EQ(kMaxKeystoreOpslimit, 16u);
  EXPECT_EQ(kMaxKeystoreMemlimit, 4 * kGiB);
  static_assert(KeystoreStrength::kOrgRoot.opslimit() <= kMaxKeystoreOpslimit);
  static_assert(KeystoreStrength::kOrgRoot.memlimit_bytes() <=
                kMaxKeystoreMemlimit);
}

}  // namespace
}  // namespace tvault::crypto
