// SecretBytes and ConstantTimeEquals.
#include "crypto/secret_bytes.h"

#include <array>
#include <cstdint>
#include <utility>
#include <vector>

#include "absl/types/span.h"
#include "gtest/gtest.h"

namespace tvault::crypto {
namespace {

bool AllEqual(absl::Span<const uint8_t> s, uint8_t v) {
  for (uint8_t b : s) {
    if (b != v) return false;
  }
  return true;
}

TEST(SecretBytesTest, DefaultIsEmpty) {
  const SecretBytes s;
  EXPECT_TRUE(s.empty());
  EXPECT_EQ(s.size(), 0u);
  EXPECT_EQ(s.data(), nullptr);
}

TEST(SecretBytesTest, SizedConstructorZeroInitialises) {
  for (size_t n : {size_t{1}, size_t{32}, size_t{4097}}) {
    const SecretBytes s(n);
    ASSERT_EQ(s.size(), n);
    ASSERT_NE(s.data(), nullptr);
    EXPECT_FALSE(s.empty());
    EXPECT_TRUE(AllEqual(s.span(), 0)) << n;
  }
  const SecretBytes zero(0);
  EXPECT_TRUE(zero.empty());
  EXPECT_EQ(zero.data(), nullptr);
}

TEST(SecretBytesTest, RandomGivesDifferentValues) {
  const SecretBytes a = SecretBytes::Random(32);
  const SecretBytes b = SecretBytes::Random(32);
  ASSERT_EQ(a.size(), 32u);
  ASSERT_EQ(b.size(), 32u);
  EXPECT_FALSE(ConstantTimeEquals(a.span(), b.span()));
  // 32 zero bytes from a CSPRNG: probability 2^-256.
  EXPECT_FALSE(AllEqual(a.span(), 0));
  EXPECT_FALSE(AllEqual(b.span(), 0));
  EXPECT_TRUE(SecretBytes::Random(0).empty());
}

TEST(SecretBytesTest, CopyFromCopiesBytes) {
  const std::array<uint8_t, 5> src{{1, 2, 3, 4, 5}};
  const SecretBytes s = SecretBytes::CopyFrom(src);
  ASSERT_EQ(s.size(), src.size());
  EXPECT_NE(s.data(), src.data());
  EXPECT_EQ(std::vector<uint8_t>(s.data(), s.data() + s.size()),
            std::vector<uint8_t>(src.begin(), src.end()));
  EXPECT_TRUE(SecretBytes::CopyFrom({}).empty());
}

TEST(SecretBytesTest, MoveConstructionLeavesSourceEmpty) {
  SecretBytes a = SecretBytes::CopyFrom(std::array<uint8_t, 3>{{7, 8, 9}});
  const uint8_t* const p = a.data();
  SecretBytes b(std::move(a));
  EXPECT_EQ(a.size(), 0u);       // NOLINT(bugprone-use-after-move)
  EXPECT_TRUE(a.empty());        // NOLINT(bugprone-use-after-move)
  EXPECT_EQ(a.data(), nullptr);  // NOLINT(bugprone-use-after-move)
  ASSERT_EQ(b.size(), 3u);
  EXPECT_EQ(b.data(), p);
  EXPECT_EQ(b.data()[0], 7);
  EXPECT_EQ(b.data()[2], 9);
}

TEST(SecretBytesTest, MoveAssignmentLeavesSourceEmpty) {
  SecretBytes a = SecretBytes::CopyFrom(std::array<uint8_t, 2>{{1, 2}});
  SecretBytes b = SecretBytes::CopyFrom(std::array<uint8_t, 4>{{3, 4, 5, 6}});
  const uint8_t* const p = a.data();
  b = std::move(a);
  EXPECT_TRUE(a.empty());        // NOLINT(bugprone-use-after-move)
  EXPECT_EQ(a.data(), nullptr);  // NOLINT(bugprone-use-after-move)
  ASSERT_EQ(b.size(), 2u);
  EXPECT_EQ(b.data(), p);
  EXPECT_EQ(b.data()[0], 1);
  EXPECT_EQ(b.data()[1], 2);

  // Self-move-assignment keeps the contents.
  SecretBytes& alias = b;
  b = std::move(alias);
  ASSERT_EQ(b.size(), 2u);
  EXPECT_EQ(b.data()[1], 2);
}

TEST(SecretBytesTest, TruncateWipesAndShrinks) {
  SecretBytes s(16);
  for (uint8_t& b : s.span()) b = 0xaa;
  uint8_t* const p = s.data();
  s.Truncate(6);
  ASSERT_EQ(s.size(), 6u);
  EXPECT_EQ(s.data(), p);
  EXPECT_TRUE(AllEqual(s.span(), 0xaa));
  // The allocation is still 16 bytes; the 10 bytes past the new size were
  // wiped immediately.
  EXPECT_TRUE(AllEqual(absl::Span<const uint8_t>(p + 6, 10), 0));

  // Truncating to the current size or larger changes nothing.
  s.Truncate(6);
  EXPECT_EQ(s.size(), 6u);
  s.Truncate(100);
  EXPECT_EQ(s.size(), 6u);
  EXPECT_TRUE(AllEqual(s.span(), 0xaa));

  // Truncating to zero wipes everything.
  s.Truncate(0);
  EXPECT_EQ(s.size(), 0u);
  EXPECT_TRUE(s.empty());
  EXPECT_TRUE(AllEqual(absl::Span<const uint8_t>(p, 16), 0));
}

TEST(ConstantTimeEqualsTest, EqualContentsAreEqual) {
  const std::array<uint8_t, 4> a{{1, 2, 3, 4}};
  const std::array<uint8_t, 4> b{{1, 2, 3, 4}};
  EXPECT_TRUE(ConstantTimeEquals(a, b));
  const SecretBytes s = SecretBytes::CopyFrom(a);
  EXPECT_TRUE(ConstantTimeEquals(s.span(), a));
}

TEST(ConstantTimeEqualsTest, DifferentContentsAreNotEqual) {
  const std::array<uint8_t, 4> a{{1, 2, 3, 4}};
  // A difference in the first, a middle, and the last byte.
  EXPECT_FALSE(ConstantTimeEquals(a, std::array<uint8_t, 4>{{0, 2, 3, 4}}));
  EXPECT_FALSE(ConstantTimeEquals(a, std::array<uint8_t, 4>{{1, 2, 7, 4}}));
  EXPECT_FALSE(ConstantTimeEquals(a, std::array<uint8_t, 4>{{1, 2, 3, 5}}));
  // A single bit.
  EXPECT_FALSE(ConstantTimeEquals(a, std::array<uint8_t, 4>{{1, 2, 3, 0x84}}));
}

TEST(ConstantTimeEqualsTest, DifferentLengthsAreNotEqual) {
  const std::array<uint8_t, 4> a{{1, 2, 3, 4}};
  const std::array<uint8_t, 3> prefix{{1, 2, 3}};
  EXPECT_FALSE(ConstantTimeEquals(a, prefix));
  EXPECT_FALSE(ConstantTimeEquals(prefix, a));
  EXPECT_FALSE(ConstantTimeEquals(a, {}));
  EXPECT_FALSE(ConstantTimeEquals({}, a));
}

TEST(ConstantTimeEqualsTest, EmptyEqualsEmpty) {
  EXPECT_TRUE(ConstantTimeEquals({}, {}));
  const SecretBytes e1;
  const SecretBytes e2(0);
  EXPECT_TRUE(ConstantTimeEquals(e1.span(), e2.span()));
}

}  // namespace
}  // namespace tvault::crypto
