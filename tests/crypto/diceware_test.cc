// Diceware: the embedded list is exactly the shipped EFF file, passphrases
// have the promised shape, and draws look uniform. The statistical checks
// use thresholds many standard deviations out (false alarm about 1e-8 per run).
#include "crypto/diceware.h"

#include <sodium.h>

#include <algorithm>
#include <array>
#include <cmath>
#include <cstdint>
#include <fstream>
#include <iterator>
#include <set>
#include <sstream>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/strings/str_split.h"
#include "absl/strings/string_view.h"
#include "crypto/secret_bytes.h"
#include "gtest/gtest.h"

namespace tvault::crypto {
namespace {

// SHA-256 of https://www.eff.org/files/2016/07/18/eff_large_wordlist.txt,
// identical to Debian's diceware 0.10 wordlist_en_eff.txt.
constexpr absl::string_view kEffFileSha256 =
    "addd35536511597a02fa0a9ff1e5284677b8883b83e986e43f15a3db996b903e";

absl::string_view View(const SecretBytes& s) {
  return absl::string_view(reinterpret_cast<const char*>(s.data()), s.size());
}

// Index of `word` in the (sorted) list, or -1.
int IndexOf(absl::string_view word) {
  const absl::Span<const absl::string_view> list = EffLargeWordlist();
  auto it = std::lower_bound(list.begin(), list.end(), word);
  if (it == list.end() || *it != word) return -1;
  return static_cast<int>(it - list.begin());
}

std::vector<absl::string_view> Words(const SecretBytes& passphrase) {
  return absl::StrSplit(View(passphrase), ' ');
}

TEST(DicewareTest, ListIsTheEffLargeWordlist) {
  const absl::Span<const absl::string_view> list = EffLargeWordlist();
  ASSERT_EQ(list.size(), 7776u);
  ASSERT_EQ(list.size(), kDicewareListSize);
  EXPECT_EQ(list.front(), "abacus");
  EXPECT_EQ(list.back(), "zoom");
  for (size_t i = 0; i < list.size(); ++i) {
    ASSERT_FALSE(list[i].empty()) << i;
    for (char c : list[i]) {
      ASSERT_TRUE((c >= 'a' && c <= 'z') || c == '-') << list[i];
    }
    // Strictly increasing: sorted and no duplicates, so none was lost.
    if (i > 0) {
      ASSERT_LT(list[i - 1], list[i]) << i;
    }
  }
  EXPECT_EQ(std::count_if(list.begin(), list.end(),
                          [](absl::string_view w) {
                            return w.find('-') != absl::string_view::npos;
                          }),
            4);
}

TEST(DicewareTest, EmbeddedListEqualsShippedFile) {
  const std::string path =
      std::string(TVAULT_SOURCE_DIR) + "/crypto/data/eff_large_wordlist.txt";
  std::ifstream in(path, std::ios::binary);
  ASSERT_TRUE(in) << path;
  const std::string file((std::istreambuf_iterator<char>(in)),
                         std::istreambuf_iterator<char>());

  std::array<uint8_t, crypto_hash_sha256_BYTES> digest;
  crypto_hash_sha256(digest.data(),
                     reinterpret_cast<const uint8_t*>(file.data()),
                     file.size());
  std::array<char, 2 * crypto_hash_sha256_BYTES + 1> hex;
  sodium_bin2hex(hex.data(), hex.size(), digest.data(), digest.size());
  EXPECT_EQ(absl::string_view(hex.data()), kEffFileSha256)
      << path << " is not the EFF file as published";

  // Each line: five dice digits, a tab, the word; the dice number read in
  // base 6 is the word's index in the embedded array.
  const absl::Span<const absl::string_view> list = EffLargeWordlist();
  std::istringstream lines(file);
  std::string line;
  size_t n = 0;
  while (std::getline(lines, line)) {
    ASSERT_EQ(line.size() > 6 ? line[5] : '\0', '\t') << line;
    size_t index = 0;
    for (size_t k = 0; k < 5; ++k) {
      ASSERT_TRUE(line[k] >= '1' && line[k] <= '6') << line;
      index = index * 6 + static_cast<size_t>(line[k] - '1');
    }
    ASSERT_EQ(index, n) << line;
    ASSERT_EQ(absl::string_view(line).substr(6), list[index]) << line;
    ++n;
  }
  EXPECT_EQ(n, kDicewareListSize);
}

TEST(DicewareTest, DefaultIsSixListWordsJoinedBySingleSpaces) {
  absl::StatusOr<SecretBytes> passphrase = GenerateDicewarePassphrase();
  ASSERT_TRUE(passphrase.ok()) << passphrase.status();
  const absl::string_view text = View(*passphrase);
  EXPECT_NE(text.front(), ' ');
  EXPECT_NE(text.back(), ' ');
  EXPECT_EQ(text.find("  "), absl::string_view::npos);
  EXPECT_EQ(std::count(text.begin(), text.end(), ' '), 5);
  const std::vector<absl::string_view> words = Words(*passphrase);
  ASSERT_EQ(words.size(), 6u);
  for (absl::string_view w : words) EXPECT_GE(IndexOf(w), 0) << w;
}

TEST(DicewareTest, HonoursWordCount) {
  for (size_t n :
       {size_t{6}, size_t{7}, size_t{8}, size_t{12}, kMaxDicewareWords}) {
    absl::StatusOr<SecretBytes> passphrase = GenerateDicewarePassphrase(n);
    ASSERT_TRUE(passphrase.ok()) << n << ": " << passphrase.status();
    const std::vector<absl::string_view> words = Words(*passphrase);
    ASSERT_EQ(words.size(), n);
    for (absl::string_view w : words) EXPECT_GE(IndexOf(w), 0) << w;
  }
}

TEST(DicewareTest, RejectsTooFewOrTooManyWords) {
  EXPECT_EQ(kMinDicewareWords, 6u);
  EXPECT_EQ(kDefaultDicewareWords, 6u);
  for (size_t n : {size_t{0}, size_t{1}, size_t{5}, kMaxDicewareWords + 1}) {
    EXPECT_EQ(GenerateDicewarePassphrase(n).status().code(),
              absl::StatusCode::kInvalidArgument)
        << n;
  }
}

TEST(DicewareTest, EntropyIsLog2OfListSizePerWord) {
  EXPECT_NEAR(kDicewareBitsPerWord, std::log2(7776.0), 1e-12);
  EXPECT_NEAR(DicewareEntropyBits(6), 77.549, 1e-3);
  EXPECT_GT(DicewareEntropyBits(kMinDicewareWords), 77.5);
}

TEST(DicewareTest, PassphrasesDiffer) {
  std::set<std::string>
      seen;  // test data only; real ones never leave SecretBytes
  for (int i = 0; i < 200; ++i) {
    absl::StatusOr<SecretBytes> p = GenerateDicewarePassphrase();
    ASSERT_TRUE(p.ok());
    EXPECT_TRUE(seen.insert(std::string(View(*p))).second);
  }
}

// Chi-square statistic of `counts` against a uniform expectation.
double ChiSquare(const std::vector<int>& counts, double expected) {
  double chi2 = 0;
  for (int c : counts) chi2 += (c - expected) * (c - expected) / expected;
  return chi2;
}

TEST(DicewareTest, DrawsLookUniform) {
  constexpr int kPassphrases = 3400;  // 20,400 words
  constexpr size_t kWordsEach = 6;
  constexpr int kDraws = kPassphrases * static_cast<int>(kWordsEach);
  // 36 buckets of 216 words (the first two dice), overall and per position
  // 6 buckets (the first die).
  std::vector<int> buckets(36, 0);
  std::vector<std::vector<int>> by_position(kWordsEach, std::vector<int>(6, 0));
  int lowest = 7776;
  int highest = -1;
  for (int p = 0; p < kPassphrases; ++p) {
    absl::StatusOr<SecretBytes> passphrase = GenerateDicewarePassphrase();
    ASSERT_TRUE(passphrase.ok());
    const std::vector<absl::string_view> words = Words(*passphrase);
    ASSERT_EQ(words.size(), kWordsEach);
    for (size_t k = 0; k < kWordsEach; ++k) {
      const int index = IndexOf(words[k]);
      ASSERT_GE(index, 0) << words[k];
      ++buckets[static_cast<size_t>(index / 216)];
      ++by_position[k][static_cast<size_t>(index / 1296)];
      lowest = std::min(lowest, index);
      highest = std::max(highest, index);
    }
  }
  // 35 degrees of freedom: mean 35, sd 8.4; P(chi2 > 110) ≈ 1.1e-9.
  EXPECT_LT(ChiSquare(buckets, kDraws / 36.0), 110.0);
  // 5 degrees of freedom: P(chi2 > 50) ≈ 1.4e-9.
  for (size_t k = 0; k < kWordsEach; ++k) {
    EXPECT_LT(ChiSquare(by_position[k], kPassphrases / 6.0), 50.0)
        << "position " << k;
  }
  // Both ends of the list are reached: missing the first or last 100
  // words in 20,400 draws has probability e^-262.
  EXPECT_LT(lowest, 100);
  EXPECT_GE(highest, 7676);
}

}  // namespace
}  // namespace tvault::crypto
