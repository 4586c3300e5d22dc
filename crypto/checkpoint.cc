#include "crypto/checkpoint.h"

#include <limits>

#include "absl/strings/str_cat.h"
#include "crypto/base64.h"
#include "crypto/signed_note.h"

namespace tvault::crypto {
namespace {

// ASCII decimal, no sign, no leading zeros unless the value is 0, at most
// 2^64 - 1.
bool ParseTreeSize(absl::string_view s, uint64_t& value) {
  if (s.empty() || (s.size() > 1 && s[0] == '0')) return false;
  value = 0;
  for (char c : s) {
    if (c < '0' || c > '9') return false;
    const uint64_t digit = static_cast<uint64_t>(c - '0');
    if (value > (std::numeric_limits<uint64_t>::max() - digit) / 10) {
      return false;
    }
    value = value * 10 + digit;
  }
  return true;
}

}  // namespace

absl::StatusOr<Checkpoint> ParseCheckpoint(absl::string_view text) {
  if (absl::Status s = ValidateNoteText(text); !s.ok()) return s;
  std::vector<absl::string_view> lines;
  for (absl::string_view rest = text; !rest.empty();) {
    const size_t end = rest.find('\n');  // found: text ends in '\n'
    lines.push_back(rest.substr(0, end));
    rest.remove_prefix(end + 1);
  }
  if (lines.size() < 3) {
    return absl::InvalidArgumentError(
        "checkpoint has fewer than three lines (origin, size, root hash)");
  }
  Checkpoint checkpoint;
  if (lines[0].empty()) {
    return absl::InvalidArgumentError("checkpoint origin is empty");
  }
  checkpoint.origin = std::string(lines[0]);
  if (!ParseTreeSize(lines[1], checkpoint.tree_size)) {
    return absl::InvalidArgumentError(
        "checkpoint tree size is not a decimal number without leading zeros "
        "below 2^64");
  }
  if (lines[2].size() !=
      Base64EncodedLength(kMerkleHashSize, Base64Padding::kPadded)) {
    return absl::InvalidArgumentError(
        "checkpoint root hash is not the base64 of 32 bytes");
  }
  absl::StatusOr<std::vector<uint8_t>> root =
      Base64Decode(lines[2], Base64Padding::kPadded);
  if (!root.ok()) {
    return absl::InvalidArgumentError(
        "checkpoint root hash is not canonical base64");
  }
  absl::StatusOr<Hash> hash = HashFromBytes(*root);
  if (!hash.ok()) {
    return absl::InvalidArgumentError(
        "checkpoint root hash is not the base64 of 32 bytes");
  }
  checkpoint.root_hash = *hash;
  for (size_t i = 3; i < lines.size(); ++i) {
    if (lines[i].empty()) {
      return absl::InvalidArgumentError("checkpoint extension line is empty");
    }
    checkpoint.extensions.emplace_back(lines[i]);
  }
  return checkpoint;
}

absl::StatusOr<std::string> FormatCheckpoint(const Checkpoint& checkpoint) {
  if (checkpoint.origin.empty() ||
      checkpoint.origin.find('\n') != std::string::npos) {
    return absl::InvalidArgumentError(
        "checkpoint origin must be one non-empty line");
  }
  std::string text = absl::StrCat(
      checkpoint.origin, "\n", checkpoint.tree_size, "\n",
      Base64Encode(checkpoint.root_hash, Base64Padding::kPadded), "\n");
  for (const std::string& line : checkpoint.extensions) {
    if (line.empty() || line.find('\n') != std::string::npos) {
      return absl::InvalidArgumentError(
          "checkpoint extension lines must be non-empty single lines");
    }
    absl::StrAppend(&text, line, "\n");
  }
  if (absl::Status s = ValidateNoteText(text); !s.ok()) return s;
  return text;
}

}  // namespace tvault::crypto
