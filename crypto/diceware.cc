#include "crypto/diceware.h"

#include <sodium.h>

#include <algorithm>
#include <cstdint>
#include <cstring>

#include "absl/status/status.h"
#include "absl/strings/str_cat.h"

namespace tvault::crypto {
namespace {

size_t LongestWord(absl::Span<const absl::string_view> words) {
  size_t longest = 0;
  for (absl::string_view w : words) longest = std::max(longest, w.size());
  return longest;
}

}  // namespace

absl::StatusOr<SecretBytes> GenerateDicewarePassphrase(size_t word_count) {
  if (word_count < kMinDicewareWords || word_count > kMaxDicewareWords) {
    return absl::InvalidArgumentError(absl::StrCat(
        "a diceware passphrase needs between ", kMinDicewareWords, " and ",
        kMaxDicewareWords, " words (asked for ", word_count, ")"));
  }
  EnsureSodiumInitialized();
  const absl::Span<const absl::string_view> words = EffLargeWordlist();
  static const size_t kLongest = LongestWord(words);

  // Written straight into protected memory, sized for the longest possible
  // result and then truncated, so no partial passphrase lives elsewhere.
  SecretBytes out(word_count * (kLongest + 1));
  size_t used = 0;
  for (size_t i = 0; i < word_count; ++i) {
    const absl::string_view word =
        words[randombytes_uniform(static_cast<uint32_t>(words.size()))];
    if (i > 0) out.data()[used++] = ' ';
    std::memcpy(out.data() + used, word.data(), word.size());
    used += word.size();
  }
  out.Truncate(used);
  return out;
}

}  // namespace tvault::crypto
