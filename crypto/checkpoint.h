// The text of a transparency log checkpoint (C2SP tlog-checkpoint): the body
// of a signed note (crypto/signed_note.h) that names a log and one of its
// Merkle tree heads (crypto/merkle.h).
//
//   <origin>\n
//   <tree size, decimal, no leading zeros>\n
//   <root hash, base64 of 32 bytes>\n
//   [<extension line>\n]...
//
// Contract
// - ParseCheckpoint is strict: exactly one text gives a given Checkpoint, and
//   FormatCheckpoint(*ParseCheckpoint(t)) == t for every accepted t.
// - Neither function checks signatures. A checkpoint is only meaningful once
//   OpenNote has verified the note it came from; the caller also checks that
//   the origin is the log it expects (DESIGN.md §9: the key name is the
//   origin).
// - The origin is only required to be non-empty; the spec's advice (a
//   schema-less URL without spaces or '+') is not enforced on input because
//   clients must not assume it.
// - Extension lines are opaque and must be non-empty. The vault writes none.
//
// Both return InvalidArgument, saying which rule failed, and are
// thread-safe.
#ifndef TVAULT_CRYPTO_CHECKPOINT_H_
#define TVAULT_CRYPTO_CHECKPOINT_H_

#include <cstdint>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "crypto/merkle.h"

namespace tvault::crypto {

struct Checkpoint {
  std::string origin;
  uint64_t tree_size = 0;
  Hash root_hash{};
  std::vector<std::string> extensions;  // without their "\n"

  bool operator==(const Checkpoint&) const = default;
};

// Parses a note text (with its final "\n"). Beyond the line rules above, the
// text must pass ValidateNoteText (UTF-8, no control characters, size), the
// tree size must fit in 64 bits, and the root hash must be the canonical
// padded base64 of exactly 32 bytes.
absl::StatusOr<Checkpoint> ParseCheckpoint(absl::string_view text);

// The note text for `checkpoint`. InvalidArgument if the origin or an
// extension line is empty or contains "\n", or the text would not pass
// ValidateNoteText.
absl::StatusOr<std::string> FormatCheckpoint(const Checkpoint& checkpoint);

}  // namespace tvault::crypto

#endif  // TVAULT_CRYPTO_CHECKPOINT_H_
