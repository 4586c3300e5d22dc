// Diceware passphrases from the EFF large wordlist (DESIGN.md §4: the client
// offers to generate the keystore passphrase; at least 6 words for reviewers).
//
// Contract
// - Each word is drawn independently and uniformly from the 7,776 words of
//   the EFF large wordlist with libsodium's randombytes_uniform (no modulo
//   bias), so repeats are possible and are part of the entropy count.
// - Words are lowercase ASCII letters, four of them with one hyphen
//   ("drop-down", "felt-tip", "t-shirt", "yo-yo"); they are joined by single
//   spaces (0x20), with no leading or trailing space and no terminator.
// - Entropy: log2(7776) ≈ 12.925 bits per word; 6 words ≈ 77.5 bits,
//   8 words ≈ 103.4 bits. This holds only if the passphrase is used as
//   generated: a user who rerolls until they like one loses some of it.
// - The passphrase is returned in SecretBytes only; it never passes through
//   std::string, logs or Status messages. The word list itself is public.
// - Thread-safe: no state besides libsodium's thread-safe generator.
//
// The list is embedded in the library (crypto/eff_large_wordlist.cc,
// generated from crypto/data/eff_large_wordlist.txt), so no data file is
// needed at run time. Source and license: crypto/data/README.md.
#ifndef TVAULT_CRYPTO_DICEWARE_H_
#define TVAULT_CRYPTO_DICEWARE_H_

#include <cstddef>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "absl/types/span.h"
#include "crypto/secret_bytes.h"

namespace tvault::crypto {

// Number of words in the EFF large wordlist (6^5, five dice).
inline constexpr size_t kDicewareListSize = 7776;
// log2(7776): the entropy each word adds.
inline constexpr double kDicewareBitsPerWord = 12.92481250360578;
// Fewest words GenerateDicewarePassphrase accepts: the reviewer minimum of
// DESIGN.md §4 (≈ 77.5 bits), applied to every caller since no role needs a
// weaker passphrase.
inline constexpr size_t kMinDicewareWords = 6;
inline constexpr size_t kDefaultDicewareWords = 6;
// Upper bound on a request, so a typo cannot ask for megabytes of secret
// memory. 64 words ≈ 827 bits, far past any use.
inline constexpr size_t kMaxDicewareWords = 64;

// `word_count` words joined by single spaces, in protected memory.
// InvalidArgument if word_count is outside
// [kMinDicewareWords, kMaxDicewareWords].
absl::StatusOr<SecretBytes> GenerateDicewarePassphrase(
    size_t word_count = kDefaultDicewareWords);

// Entropy in bits of a passphrase of `word_count` generated words.
constexpr double DicewareEntropyBits(size_t word_count) {
  return static_cast<double>(word_count) * kDicewareBitsPerWord;
}

// The embedded EFF large wordlist: kDicewareListSize words in the file's
// order (sorted, distinct). Index i is the word for dice rolls d1..d5 with
// i = sum((d_k - 1) * 6^(5-k)). Valid for the life of the process.
absl::Span<const absl::string_view> EffLargeWordlist();

}  // namespace tvault::crypto

#endif  // TVAULT_CRYPTO_DICEWARE_H_
