// Bech32 (BIP-173 checksum, not bech32m) against BIP-173's test vectors, and
// the age key encodings built on it (C2SP age spec examples).
#include "crypto/bech32.h"

#include <array>
#include <cstdint>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/strings/ascii.h"
#include "absl/strings/match.h"
#include "absl/strings/string_view.h"
#include "absl/types/span.h"
#include "crypto/age_recipients.h"
#include "crypto/secret_bytes.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"

namespace tvault::crypto {
namespace {

using ::testing::HasSubstr;

absl::string_view View(const SecretBytes& s) {
  return absl::string_view(reinterpret_cast<const char*>(s.data()), s.size());
}

// ---------------------------------------------------------------------------
// BIP-173 "valid Bech32" test vectors.

constexpr const char* kBip173Valid[] = {
    "A12UEL5L",
    "a12uel5l",
    "an83characterlonghumanreadablepartthatcontainsthenumber1andtheexcludedch"
    "aractersbio1tt5tgs",
    "abcdef1qpzry9x8gf2tvdw0s3jn54khce6mua7lmqqqxw",
    "11qqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqq"
    "qqqqqqqqqqqc8247j",
    "split1checkupstagehandshakeupstreamerranterredcaperred2y9e3w",
    "?1ezyfcl",
};

class Bech32ValidTest : public testing::TestWithParam<const char*> {};

TEST_P(Bech32ValidTest, DecodesAndReencodesToLowercase) {
  const std::string s = GetParam();
  // BIP-173 strings are at most 90 characters, so the BIP's own limit must
  // not reject any valid vector.
  absl::StatusOr<Bech32Groups> g = Bech32DecodeGroups(s, Bech32Limits{90});
  ASSERT_TRUE(g.ok()) << s << ": " << g.status();
  const std::string lower = absl::AsciiStrToLower(s);
  EXPECT_EQ(g->hrp, lower.substr(0, lower.rfind('1')));
  // Data part minus the 6 checksum characters.
  EXPECT_EQ(g->values.size(), s.size() - s.rfind('1') - 1 - 6);
  for (uint8_t v : g->values) EXPECT_LT(v, 32);
  EXPECT_EQ(Bech32EncodeGroups(g->hrp, g->values), lower);
}

INSTANTIATE_TEST_SUITE_P(Bip173, Bech32ValidTest,
                         testing::ValuesIn(kBip173Valid));

TEST(Bech32Test, DecodesAlphabetInOrder) {
  // "qpzry9x8gf2tvdw0s3jn54khce6mua7l" is the charset itself: values 0…31.
  absl::StatusOr<Bech32Groups> g =
      Bech32DecodeGroups("abcdef1qpzry9x8gf2tvdw0s3jn54khce6mua7lmqqqxw");
  ASSERT_TRUE(g.ok()) << g.status();
  EXPECT_EQ(g->hrp, "abcdef");
  std::vector<uint8_t> want(32);
  for (size_t i = 0; i < want.size(); ++i) want[i] = static_cast<uint8_t>(i);
  EXPECT_EQ(g->values, want);
}

TEST(Bech32Test, DecodesUppercaseToLowercaseHrp) {
  absl::StatusOr<Bech32Groups> g = Bech32DecodeGroups("A12UEL5L");
  ASSERT_TRUE(g.ok()) << g.status();
  EXPECT_EQ(g->hrp, "a");
  EXPECT_TRUE(g->values.empty());
}

TEST(Bech32Test, EncodesEmptyDataKnownAnswer) {
  EXPECT_EQ(Bech32EncodeGroups("a", {}), "a12uel5l");
  EXPECT_EQ(Bech32EncodeGroups("?", {}), "?1ezyfcl");
}

// ---------------------------------------------------------------------------
// BIP-173 "not valid Bech32" test vectors, each with the BIP's reason. They
// are decoded with BIP-173's 90-character limit in force.

struct InvalidVector {
  std::string s;
  const char* error;  // substring of the expected error message
};

const InvalidVector kBip173Invalid[] = {
    // 0x20 + "1nwldj5": HRP character out of range.
    {std::string("\x20"
                 "1nwldj5"),
     "invalid character"},
    // 0x7F + "1axkwrx": HRP character out of range.
    {std::string("\x7f"
                 "1axkwrx"),
     "invalid character"},
    // 0x80 + "1eym55h": HRP character out of range.
    {std::string("\x80"
                 "1eym55h"),
     "invalid character"},
    // Overall max length (90) exceeded.
    {"an84characterslonghumanreadablepartthatcontainsthenumber1andtheexcluded"
     "charactersbio1569pvx",
     "too long"},
    // No separator character.
    {"pzry9x0s0muk", "no separator"},
    // Empty HRP.
    {"1pzry9x0s0muk", "empty HRP"},
    // Invalid data character ('b' is not in the alphabet).
    {"x1b4n0q5v", "data has invalid character"},
    // Too short checksum (5 data characters).
    {"li1dgmt3", "checksum too short"},
    // "de1lg7wt" + 0xFF: invalid character in checksum.
    {std::string("de1lg7wt\xff"), "invalid character"},
    // Checksum calculated with the uppercase form of the HRP.
    {"A1G7SGD8", "checksum mismatch"},
    // Empty HRP (the last '1' is the first character).
    {"10a06t8", "empty HRP"},
    // Empty HRP.
    {"1qzzfhee", "empty HRP"},
    // BIP-173's invalid segwit address list: mixed case.
    {"tb1qrp33g0q5c5txsp9arysrx4k6zdkfs4nce4xj0gdcccefvpysxf3q0sL5k7",
     "mixes upper and lower case"},
    // BIP-173's invalid segwit address list: invalid checksum.
    {"bc1qw508d6qejxtdg4y5r3zarvary0c5xw7kv8f3t5", "checksum mismatch"},
};

class Bech32InvalidTest : public testing::TestWithParam<InvalidVector> {};

TEST_P(Bech32InvalidTest, IsRejectedForTheStatedReason) {
  const InvalidVector& v = GetParam();
  absl::StatusOr<Bech32Groups> g = Bech32DecodeGroups(v.s, Bech32Limits{90});
  ASSERT_FALSE(g.ok()) << v.s;
  EXPECT_EQ(g.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_THAT(g.status().message(), HasSubstr(v.error));
}

INSTANTIATE_TEST_SUITE_P(Bip173, Bech32InvalidTest,
                         testing::ValuesIn(kBip173Invalid));

// age lifts BIP-173's 90-character limit (C2SP age: "Bech32 is as specified
// in BIP173, but without length limits on the data part"). BIP-173's
// over-length vector has an otherwise valid checksum, so it fails only when
// the caller asks for the 90-character limit.
TEST(Bech32Test, OverLengthVectorFailsOnlyWithBip173Limit) {
  const std::string s =
      "an84characterslonghumanreadablepartthatcontainsthenumber1andtheexclude"
      "dcharactersbio1569pvx";
  ASSERT_EQ(s.size(), 91u);
  absl::StatusOr<Bech32Groups> limited =
      Bech32DecodeGroups(s, Bech32Limits{90});
  EXPECT_EQ(limited.status().code(), absl::StatusCode::kInvalidArgument);

  absl::StatusOr<Bech32Groups> unlimited = Bech32DecodeGroups(s);
  ASSERT_TRUE(unlimited.ok()) << unlimited.status();
  EXPECT_EQ(unlimited->hrp,
            "an84characterslonghumanreadablepartthatcontainsthenumber1andthee"
            "xcludedcharactersbio");
  EXPECT_TRUE(unlimited->values.empty());
  EXPECT_EQ(Bech32EncodeGroups(unlimited->hrp, unlimited->values), s);
}

TEST(Bech32Test, LimitIsInclusive) {
  // The 90-character BIP-173 vector passes with limit 90 and fails with 89.
  const std::string s = kBip173Valid[4];  // "11qqq…c8247j"
  ASSERT_EQ(s.size(), 90u);
  EXPECT_TRUE(Bech32DecodeGroups(s, Bech32Limits{90}).ok());
  EXPECT_FALSE(Bech32DecodeGroups(s, Bech32Limits{89}).ok());
}

TEST(Bech32Test, RejectsMixedCase) {
  // "A12UEL5L" / "a12uel5l" are valid; mixing their cases is not.
  EXPECT_FALSE(Bech32DecodeGroups("a12UEL5L").ok());
  EXPECT_FALSE(Bech32DecodeGroups("A12uel5l").ok());
  EXPECT_FALSE(Bech32DecodeBytes("age1zvkyg2lqzraa2lnjvqej32nkuu0ues2s82hzrye86"
                                 "9xeexvn73eQunujwj",
                                 "age")
                   .ok());
}

TEST(Bech32Test, RejectsBech32mChecksum) {
  // "a1lqfn3a" is BIP-350's bech32m encoding of HRP "a" with no data; age
  // uses the original BIP-173 constant (1), so it must not verify.
  EXPECT_FALSE(Bech32DecodeGroups("a1lqfn3a").ok());
}

// ---------------------------------------------------------------------------
// Byte-level decoding (BIP-173 8-to-5 conversion rules).

TEST(Bech32Test, DecodeBytesComparesHrpCaseInsensitively) {
  absl::StatusOr<SecretBytes> b = Bech32DecodeBytes(
      "AGE-SECRET-KEY-1GFPYYSJZGFPYYSJZGFPYYSJZGFPYYSJZGFPYYSJZGFPYYSJZGFPQ4EGA"
      "EX",
      "age-secret-key-");
  ASSERT_TRUE(b.ok()) << b.status();
  const std::array<uint8_t, 32> want = [] {
    std::array<uint8_t, 32> a{};
    a.fill(0x42);
    return a;
  }();
  EXPECT_TRUE(ConstantTimeEquals(b->span(), want));
}

TEST(Bech32Test, DecodeBytesRejectsWrongHrp) {
  absl::StatusOr<SecretBytes> b = Bech32DecodeBytes(
      "age1zvkyg2lqzraa2lnjvqej32nkuu0ues2s82hzrye869xeexvn73equnujwj", "agf");
  EXPECT_EQ(b.status().code(), absl::StatusCode::kInvalidArgument);
}

TEST(Bech32Test, DecodeBytesRejectsNonZeroPadding) {
  // The spec's X25519 recipient with the lowest (padding) bit of the last
  // 5-bit group set, checksum recomputed.
  absl::StatusOr<SecretBytes> b = Bech32DecodeBytes(
      "age1zvkyg2lqzraa2lnjvqej32nkuu0ues2s82hzrye869xeexvn73epp9g8nq", "age");
  EXPECT_EQ(b.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_THAT(b.status().message(), HasSubstr("padding"));
}

TEST(Bech32Test, DecodeBytesRejectsMoreThanFourPaddingBits) {
  // 51 groups = 255 bits: 31 bytes and 7 leftover (zero) bits. BIP-173
  // allows at most 4 padding bits.
  absl::StatusOr<Bech32Groups> g = Bech32DecodeGroups(
      "age1zvkyg2lqzraa2lnjvqej32nkuu0ues2s82hzrye869xeexvn7sqfh90hq");
  ASSERT_TRUE(g.ok()) << g.status();
  ASSERT_EQ(g->values.size(), 51u);
  absl::StatusOr<SecretBytes> b = Bech32DecodeBytes(
      "age1zvkyg2lqzraa2lnjvqej32nkuu0ues2s82hzrye869xeexvn7sqfh90hq", "age");
  EXPECT_EQ(b.status().code(), absl::StatusCode::kInvalidArgument);
}

TEST(Bech32Test, EncodeStringRoundTripsBytes) {
  const std::vector<uint8_t> data = {0x00, 0x01, 0x7f, 0x80, 0xff};
  const std::string lower = Bech32EncodeString("tv", data, false);
  const std::string upper = Bech32EncodeString("tv", data, true);
  EXPECT_EQ(upper, absl::AsciiStrToUpper(lower));
  for (const std::string& s : {lower, upper}) {
    absl::StatusOr<SecretBytes> b = Bech32DecodeBytes(s, "tv");
    ASSERT_TRUE(b.ok()) << s << ": " << b.status();
    EXPECT_TRUE(ConstantTimeEquals(b->span(), data)) << s;
  }
  // The protected-memory encoder produces the same string.
  EXPECT_EQ(View(Bech32Encode("tv", data, false)), lower);
  EXPECT_EQ(View(Bech32Encode("tv", data, true)), upper);
}

// ---------------------------------------------------------------------------
// age X25519 keys (C2SP age, "The X25519 recipient type").

constexpr absl::string_view kSpecIdentity =
    "AGE-SECRET-KEY-"
    "1GFPYYSJZGFPYYSJZGFPYYSJZGFPYYSJZGFPYYSJZGFPYYSJZGFPQ4EGAEX";
// The spec's example recipient. It is the recipient of kSpecIdentity: the
// identity is 32 bytes of 0x42, and X25519(0x42…42, basepoint) is
// 132c442be010fbd57e72603328aa76e71fccc1503aae219327d14d9c9993f472 (checked
// independently with Python's cryptography package), which encodes to this.
constexpr absl::string_view kSpecRecipient =
    "age1zvkyg2lqzraa2lnjvqej32nkuu0ues2s82hzrye869xeexvn73equnujwj";

constexpr std::array<uint8_t, 32> kSpecRecipientBytes = {
    0x13, 0x2c, 0x44, 0x2b, 0xe0, 0x10, 0xfb, 0xd5, 0x7e, 0x72, 0x60,
    0x33, 0x28, 0xaa, 0x76, 0xe7, 0x1f, 0xcc, 0xc1, 0x50, 0x3a, 0xae,
    0x21, 0x93, 0x27, 0xd1, 0x4d, 0x9c, 0x99, 0x93, 0xf4, 0x72};

TEST(AgeKeyTest, SpecIdentityMapsToSpecRecipient) {
  absl::StatusOr<X25519Identity> id = X25519Identity::Parse(kSpecIdentity);
  ASSERT_TRUE(id.ok()) << id.status();
  EXPECT_EQ(id->recipient().Encode(), kSpecRecipient);
  EXPECT_EQ(id->recipient().bytes(), kSpecRecipientBytes);
  EXPECT_EQ(View(id->Encode()), kSpecIdentity);
}

TEST(AgeKeyTest, ParsesSpecRecipient) {
  absl::StatusOr<X25519Recipient> r = X25519Recipient::Parse(kSpecRecipient);
  ASSERT_TRUE(r.ok()) << r.status();
  EXPECT_EQ(r->bytes(), kSpecRecipientBytes);
  EXPECT_EQ(r->Encode(), kSpecRecipient);
}

TEST(AgeKeyTest, EncodesSpecIdentityFromSecret) {
  SecretBytes secret(32);
  for (uint8_t& b : secret.span()) b = 0x42;
  const X25519Identity id = X25519Identity::FromSecret(std::move(secret));
  EXPECT_EQ(View(id.Encode()), kSpecIdentity);
  EXPECT_EQ(id.recipient().Encode(), kSpecRecipient);
}

TEST(AgeKeyTest, RejectsMixedCaseIdentity) {
  EXPECT_FALSE(X25519Identity::Parse("AGE-SECRET-KEY-1GFPYYSJZGFPYYSJZGFPYYSJZG"
                                     "FPYYSJZGFPYYSJZGFPYYSJZGFPQ4EGAEx")
                   .ok());
}

TEST(AgeKeyTest, RejectsMixedCaseRecipient) {
  EXPECT_FALSE(X25519Recipient::Parse(
                   "age1zvkyg2lqzraa2lnjvqej32nkuu0ues2s82hzrye869xeexvn73equnu"
                   "jwJ")
                   .ok());
}

TEST(AgeKeyTest, RejectsLowercaseIdentity) {
  // Valid Bech32 with the right HRP, but age identities are uppercase.
  EXPECT_FALSE(X25519Identity::Parse("age-secret-key-1gfpyysjzgfpyysjzgfpyysjzg"
                                     "fpyysjzgfpyysjzgfpyysjzgfpq4egaex")
                   .ok());
}

TEST(AgeKeyTest, RejectsUppercaseRecipient) {
  // Valid Bech32 with the right HRP, but age recipients are lowercase.
  EXPECT_FALSE(X25519Recipient::Parse("AGE1ZVKYG2LQZRAA2LNJVQEJ32NKUU0UES2S82HZ"
                                      "RYE869XEEXVN73EQUNUJWJ")
                   .ok());
}

TEST(AgeKeyTest, IdentityParseRejectsRecipient) {
  EXPECT_FALSE(X25519Identity::Parse(kSpecRecipient).ok());
  // Uppercased, so that only the HRP ("age", not "age-secret-key-") is wrong.
  EXPECT_FALSE(X25519Identity::Parse("AGE1ZVKYG2LQZRAA2LNJVQEJ32NKUU0UES2S82HZ"
                                     "RYE869XEEXVN73EQUNUJWJ")
                   .ok());
}

TEST(AgeKeyTest, RecipientParseRejectsIdentity) {
  EXPECT_FALSE(X25519Recipient::Parse(kSpecIdentity).ok());
  // Lowercased, so that only the HRP is wrong: a secret key must never be
  // accepted as a recipient.
  EXPECT_FALSE(X25519Recipient::Parse("age-secret-key-1gfpyysjzgfpyysjzgfpyysjz"
                                      "gfpyysjzgfpyysjzgfpyysjzgfpq4egaex")
                   .ok());
}

TEST(AgeKeyTest, RejectsNonZeroPaddingBits) {
  // The spec examples with the last 5-bit group's low (padding) bit set and
  // the checksum recomputed, so only the padding rule can reject them.
  EXPECT_FALSE(X25519Recipient::Parse(
                   "age1zvkyg2lqzraa2lnjvqej32nkuu0ues2s82hzrye869xeexvn73epp9g"
                   "8nq")
                   .ok());
  EXPECT_FALSE(X25519Identity::Parse("AGE-SECRET-KEY-1GFPYYSJZGFPYYSJZGFPYYSJZG"
                                     "FPYYSJZGFPYYSJZGFPYYSJZGFPPG0UGY5")
                   .ok());
}

TEST(AgeKeyTest, RejectsWrongPayloadLength) {
  // Valid Bech32 under the right HRP with 0, 31 and 33 payload bytes.
  for (absl::string_view s : {
           "age19l388n",
           "age1zvkyg2lqzraa2lnjvqej32nkuu0ues2s82hzrye869xeexvn7s3pqez7",
           "age1zvkyg2lqzraa2lnjvqej32nkuu0ues2s82hzrye869xeexvn73eqqhruuh4",
       }) {
    ASSERT_TRUE(Bech32DecodeBytes(s, "age").ok()) << s;
    absl::StatusOr<X25519Recipient> r = X25519Recipient::Parse(s);
    EXPECT_EQ(r.status().code(), absl::StatusCode::kInvalidArgument) << s;
  }
  for (absl::string_view s : {
           "AGE-SECRET-KEY-1GFPYYSJZGFPYYSJZGFPYYSJZGFPYYSJZGFPYYSJZGFPYYSJZGGE"
           "GVYQK",
           "AGE-SECRET-KEY-1GFPYYSJZGFPYYSJZGFPYYSJZGFPYYSJZGFPYYSJZGFPYYSJZGFP"
           "YYYS582C",
       }) {
    ASSERT_TRUE(Bech32DecodeBytes(s, "age-secret-key-").ok()) << s;
    absl::StatusOr<X25519Identity> id = X25519Identity::Parse(s);
    EXPECT_EQ(id.status().code(), absl::StatusCode::kInvalidArgument) << s;
  }
}

TEST(AgeKeyTest, GeneratedIdentityRoundTrips) {
  const X25519Identity id = X25519Identity::Generate();
  const SecretBytes encoded = id.Encode();
  EXPECT_EQ(encoded.size(), kSpecIdentity.size());
  EXPECT_TRUE(absl::StartsWith(View(encoded), "AGE-SECRET-KEY-1"));

  absl::StatusOr<X25519Identity> parsed = X25519Identity::Parse(View(encoded));
  ASSERT_TRUE(parsed.ok()) << parsed.status();
  EXPECT_TRUE(ConstantTimeEquals(parsed->Encode().span(), encoded.span()));
  EXPECT_TRUE(parsed->recipient() == id.recipient());

  const std::string recipient = id.recipient().Encode();
  EXPECT_EQ(recipient.size(), kSpecRecipient.size());
  absl::StatusOr<X25519Recipient> r = X25519Recipient::Parse(recipient);
  ASSERT_TRUE(r.ok()) << r.status();
  EXPECT_TRUE(*r == id.recipient());

  // Two generated identities differ.
  const X25519Identity other = X25519Identity::Generate();
  EXPECT_FALSE(ConstantTimeEquals(other.Encode().span(), encoded.span()));
}

}  // namespace
}  // namespace tvault::crypto
