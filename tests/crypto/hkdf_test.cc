// Known-answer and negative tests for HkdfSha256 (RFC 5869).
#include "crypto/hkdf.h"

#include <array>
#include <cstdint>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/strings/string_view.h"
#include "absl/types/span.h"
#include "gtest/gtest.h"

namespace tvault::crypto {
namespace {

std::vector<uint8_t> FromHex(absl::string_view hex) {
  auto nibble = [](char c) -> uint8_t {
    if (c >= '0' && c <= '9') return static_cast<uint8_t>(c - '0');
    if (c >= 'a' && c <= 'f') return static_cast<uint8_t>(c - 'a' + 10);
    if (c >= 'A' && c <= 'F') return static_cast<uint8_t>(c - 'A' + 10);
    ADD_FAILURE() << "bad hex digit " << c;
    return 0;
  };
  EXPECT_EQ(hex.size() % 2, 0u);
  std::vector<uint8_t> out;
  for (size_t i = 0; i + 1 < hex.size(); i += 2) {
    out.push_back(
        static_cast<uint8_t>((nibble(hex[i]) << 4) | nibble(hex[i + 1])));
  }
  return out;
}

std::string ToString(const std::vector<uint8_t>& bytes) {
  return std::string(bytes.begin(), bytes.end());
}

struct HkdfVector {
  const char* name;
  const char* ikm;
  const char* salt;
  const char* info;
  size_t length;
  const char* okm;
};

// RFC 5869 Appendix A, the SHA-256 test cases (A.1–A.3).
constexpr HkdfVector kRfc5869Vectors[] = {
    {"A1_Basic", "0b0b0b0b0b0b0b0b0b0b0b0b0b0b0b0b0b0b0b0b0b0b",
     "000102030405060708090a0b0c", "f0f1f2f3f4f5f6f7f8f9", 42,
     "3cb25f25faacd57a90434f64d0362f2a2d2d0a90cf1a5a4c5db02d56ecc4c5bf"
     "34007208d5b887185865"},
    {"A2_LongInputsAndOutput",
     "000102030405060708090a0b0c0d0e0f101112131415161718191a1b1c1d1e1f"
     "202122232425262728292a2b2c2d2e2f303132333435363738393a3b3c3d3e3f"
     "404142434445464748494a4b4c4d4e4f",
     "606162636465666768696a6b6c6d6e6f707172737475767778797a7b7c7d7e7f"
     "808182838485868788898a8b8c8d8e8f909192939495969798999a9b9c9d9e9f"
     "a0a1a2a3a4a5a6a7a8a9aaabacadaeaf",
     "b0b1b2b3b4b5b6b7b8b9babbbcbdbebfc0c1c2c3c4c5c6c7c8c9cacbcccdcecf"
     "d0d1d2d3d4d5d6d7d8d9dadbdcdddedfe0e1e2e3e4e5e6e7e8e9eaebecedeeef"
     "f0f1f2f3f4f5f6f7f8f9fafbfcfdfeff",
     82,
     "b11e398dc80327a1c8e7f78c596a49344f012eda2d4efad8a050cc4c19afa97c"
     "59045a99cac7827271cb41c65e590e09da3275600c2f09b8367793a9aca3db71"
     "cc30c58179ec3e87c14c01d5c1f3434f1d87"},
    {"A3_EmptySaltAndInfo", "0b0b0b0b0b0b0b0b0b0b0b0b0b0b0b0b0b0b0b0b0b0b", "",
     "", 42,
     "8da4e775a563c18f715f802a063c5a31b8a11f5c5ee1879ec3454e5f3c738d2d"
     "9d201395faa4b61a96c8"},
};

class HkdfRfc5869Test : public testing::TestWithParam<HkdfVector> {};

TEST_P(HkdfRfc5869Test, MatchesOkm) {
  const HkdfVector& v = GetParam();
  const std::vector<uint8_t> ikm = FromHex(v.ikm);
  const std::vector<uint8_t> salt = FromHex(v.salt);
  const std::string info = ToString(FromHex(v.info));
  const std::vector<uint8_t> want = FromHex(v.okm);
  ASSERT_EQ(want.size(), v.length);

  std::vector<uint8_t> okm(v.length, 0xee);
  ASSERT_TRUE(HkdfSha256(ikm, salt, info, absl::MakeSpan(okm)).ok());
  EXPECT_EQ(okm, want);
}

TEST_P(HkdfRfc5869Test, ShorterOutputIsPrefixOfOkm) {
  // HKDF-Expand output of length L is a prefix of every longer output; this
  // also checks that a partial last block is copied correctly.
  const HkdfVector& v = GetParam();
  const std::vector<uint8_t> ikm = FromHex(v.ikm);
  const std::vector<uint8_t> salt = FromHex(v.salt);
  const std::string info = ToString(FromHex(v.info));
  const std::vector<uint8_t> want = FromHex(v.okm);
  for (size_t len : {size_t{1}, size_t{31}, size_t{32}, size_t{33}}) {
    std::vector<uint8_t> okm(len);
    ASSERT_TRUE(HkdfSha256(ikm, salt, info, absl::MakeSpan(okm)).ok());
    EXPECT_EQ(okm, std::vector<uint8_t>(want.begin(),
                                        want.begin() + static_cast<long>(len)))
        << "L=" << len;
  }
}

INSTANTIATE_TEST_SUITE_P(
    Rfc5869, HkdfRfc5869Test, testing::ValuesIn(kRfc5869Vectors),
    [](const testing::TestParamInfo<HkdfVector>& param_info) {
      return std::string(param_info.param.name);
    });

TEST(HkdfTest, EmptySaltEqualsThirtyTwoZeroBytes) {
  const std::vector<uint8_t> ikm =
      FromHex("0b0b0b0b0b0b0b0b0b0b0b0b0b0b0b0b0b0b0b0b0b0b");
  const std::array<uint8_t, 32> zero_salt{};
  const std::string info = "age-encryption.org/v1/X25519";

  std::vector<uint8_t> with_empty(42);
  std::vector<uint8_t> with_zeros(42);
  ASSERT_TRUE(HkdfSha256(ikm, {}, info, absl::MakeSpan(with_empty)).ok());
  ASSERT_TRUE(
      HkdfSha256(ikm, zero_salt, info, absl::MakeSpan(with_zeros)).ok());
  EXPECT_EQ(with_empty, with_zeros);

  // And with RFC 5869 A.3's empty info the result is that vector's OKM, now
  // reached through an explicit 32-byte zero salt.
  std::vector<uint8_t> okm(42);
  ASSERT_TRUE(HkdfSha256(ikm, zero_salt, "", absl::MakeSpan(okm)).ok());
  EXPECT_EQ(okm, FromHex("8da4e775a563c18f715f802a063c5a31b8a11f5c5ee1879ec345"
                         "4e5f3c738d2d9d201395faa4b61a96c8"));

  // The salt is actually used: a different salt gives a different output.
  const std::array<uint8_t, 1> other_salt{{0x01}};
  std::vector<uint8_t> with_other(42);
  ASSERT_TRUE(HkdfSha256(ikm, other_salt, "", absl::MakeSpan(with_other)).ok());
  EXPECT_NE(with_other, okm);
}

TEST(HkdfTest, RejectsZeroLengthOutput) {
  const std::array<uint8_t, 4> ikm{{1, 2, 3, 4}};
  std::vector<uint8_t> out;
  const absl::Status s = HkdfSha256(ikm, {}, "info", absl::MakeSpan(out));
  EXPECT_EQ(s.code(), absl::StatusCode::kInvalidArgument) << s;
}

TEST(HkdfTest, RejectsOutputLongerThan255Blocks) {
  const std::array<uint8_t, 4> ikm{{1, 2, 3, 4}};
  std::vector<uint8_t> out(255 * 32 + 1, 0xee);
  const absl::Status s = HkdfSha256(ikm, {}, "info", absl::MakeSpan(out));
  EXPECT_EQ(s.code(), absl::StatusCode::kInvalidArgument) << s;
  // Nothing is written on rejection.
  EXPECT_EQ(out, std::vector<uint8_t>(255 * 32 + 1, 0xee));
}

TEST(HkdfTest, AcceptsMaximumOutputLength) {
  // L = 255·32 needs block counters 1…255; the counter must not wrap.
  const std::vector<uint8_t> ikm =
      FromHex("0b0b0b0b0b0b0b0b0b0b0b0b0b0b0b0b0b0b0b0b0b0b");
  const std::vector<uint8_t> salt = FromHex("000102030405060708090a0b0c");
  const std::string info = ToString(FromHex("f0f1f2f3f4f5f6f7f8f9"));
  std::vector<uint8_t> out(255 * 32);
  ASSERT_TRUE(HkdfSha256(ikm, salt, info, absl::MakeSpan(out)).ok());
  EXPECT_EQ(std::vector<uint8_t>(out.begin(), out.begin() + 42),
            FromHex("3cb25f25faacd57a90434f64d0362f2a2d2d0a90cf1a5a4c5db02d56ec"
                    "c4c5bf34007208d5b887185865"));
  // The last block is T(255) (computed independently with Python's
  // cryptography package, HKDF(SHA256, length=8160) on RFC 5869 A.1 inputs).
  EXPECT_EQ(std::vector<uint8_t>(out.end() - 32, out.end()),
            FromHex("76a3f78bcffe95fecf91923c22ad6ee64d48a6d1b981d7e523d5c0f221"
                    "54ee88"));
}

}  // namespace
}  // namespace tvault::crypto
