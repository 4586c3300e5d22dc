#include "crypto/age_armor.h"

#include <array>

#include "absl/strings/str_cat.h"
#include "crypto/age_error.h"
#include "crypto/base64.h"

namespace tvault::crypto {
namespace {

constexpr size_t kColumns = 64;
constexpr size_t kBytesPerLine = kColumns / 4 * 3;  // 48
constexpr size_t kMaxLine = 128;

bool IsSpace(uint8_t c) {
  return c == ' ' || c == '\t' || c == '\n' || c == '\r' || c == '\v' ||
         c == '\f';
}

absl::Status ArmorError(absl::string_view what) {
  return AgeError(AgeErrorKind::kArmor,
                  absl::StrCat("malformed ASCII armor: ", what));
}

absl::string_view StripEol(const std::string& line) {
  absl::string_view l(line);
  if (!l.empty() && l.back() == '\n') l.remove_suffix(1);
  if (!l.empty() && l.back() == '\r') l.remove_suffix(1);
  return l;
}

}  // namespace

bool LooksArmored(absl::Span<const uint8_t> prefix) {
  size_t i = 0;
  while (i < prefix.size() && i < kArmorMaxWhitespace && IsSpace(prefix[i]))
    ++i;
  absl::string_view rest(reinterpret_cast<const char*>(prefix.data()) + i,
                         prefix.size() - i);
  return rest.substr(0, kArmorBegin.size()) == kArmorBegin;
}

absl::Status ArmorReader::ReadBegin() {
  for (size_t skipped = 0;; ++skipped) {
    absl::StatusOr<absl::Span<const uint8_t>> p = in_.Peek(1);
    if (!p.ok()) return p.status();
    if (p->empty()) return ArmorError("no BEGIN line");
    if (!IsSpace((*p)[0])) break;
    if (skipped == kArmorMaxWhitespace) {
      return ArmorError("too much whitespace before the BEGIN line");
    }
    uint8_t c;
    if (absl::StatusOr<size_t> n = in_.Read({&c, 1}); !n.ok())
      return n.status();
  }
  absl::Status s = in_.ReadLine(kMaxLine, line_);
  if (absl::IsOutOfRange(s) || StripEol(line_) != kArmorBegin) {
    return ArmorError("expected \"-----BEGIN AGE ENCRYPTED FILE-----\"");
  }
  return s;
}

absl::Status ArmorReader::ReadNextLine() {
  absl::Status s = in_.ReadLine(kMaxLine, line_);
  if (absl::IsOutOfRange(s)) {
    // The END line may be the last bytes of the file, without an EOL.
    if (line_ == kArmorEnd) {
      state_ = State::kDone;
      return absl::OkStatus();
    }
    return ArmorError(line_.size() >= kMaxLine ? "line too long"
                                               : "no END line");
  }
  if (!s.ok()) return s;
  absl::string_view l = StripEol(line_);
  if (l == kArmorEnd) {
    state_ = State::kDone;
    return ReadTrailer();
  }
  if (l.empty()) return ArmorError("empty line");
  if (l.size() > kColumns) return ArmorError("line longer than 64 columns");
  if (l.size() % 4 != 0)
    return ArmorError("line length is not a multiple of 4");
  decoded_.resize(Base64MaxDecodedLength(l.size()));
  absl::StatusOr<size_t> n =
      Base64DecodeTo(l, Base64Padding::kPadded, absl::MakeSpan(decoded_));
  if (!n.ok()) return ArmorError("invalid or non-canonical base64");
  decoded_.resize(*n);
  decoded_pos_ = 0;
  // A short or padded line must be the last one: the END line follows.
  if (l.size() < kColumns || l.back() == '=') {
    absl::Status e = in_.ReadLine(kMaxLine, line_);
    if (absl::IsOutOfRange(e) && line_ == kArmorEnd) {
      state_ = State::kDone;
      return absl::OkStatus();
    }
    if (!e.ok() && !absl::IsOutOfRange(e)) return e;
    if (!e.ok() || StripEol(line_) != kArmorEnd) {
      return ArmorError("a short line must be followed by the END line");
    }
    state_ = State::kDone;
    return ReadTrailer();
  }
  return absl::OkStatus();
}

absl::Status ArmorReader::ReadTrailer() {
  std::array<uint8_t, kArmorMaxWhitespace + 1> rest{};
  absl::StatusOr<size_t> n = ReadFull(in_, absl::MakeSpan(rest));
  if (!n.ok()) return n.status();
  if (*n > kArmorMaxWhitespace) {
    return ArmorError("data after the END line");
  }
  for (size_t i = 0; i < *n; ++i) {
    if (!IsSpace(rest[i])) return ArmorError("data after the END line");
  }
  return absl::OkStatus();
}

absl::StatusOr<size_t> ArmorReader::Read(absl::Span<uint8_t> out) {
  if (state_ == State::kStart) {
    if (absl::Status s = ReadBegin(); !s.ok()) return s;
    state_ = State::kBody;
  }
  while (decoded_pos_ == decoded_.size()) {
    if (state_ == State::kDone) return 0;
    decoded_.clear();
    decoded_pos_ = 0;
    if (absl::Status s = ReadNextLine(); !s.ok()) return s;
  }
  const size_t n = std::min(out.size(), decoded_.size() - decoded_pos_);
  std::copy_n(decoded_.data() + decoded_pos_, n, out.data());
  decoded_pos_ += n;
  return n;
}

absl::Status ArmorWriter::Write(absl::Span<const uint8_t> data) {
  pending_.insert(pending_.end(), data.begin(), data.end());
  if (pending_.size() >= 64 * kBytesPerLine) return EmitLines(false);
  return absl::OkStatus();
}

absl::Status ArmorWriter::EmitLines(bool flush_partial) {
  std::string text;
  if (!begun_) {
    absl::StrAppend(&text, kArmorBegin, "\n");
    begun_ = true;
  }
  size_t pos = 0;
  while (pending_.size() - pos >= kBytesPerLine ||
         (flush_partial && pos < pending_.size())) {
    const size_t n = std::min(kBytesPerLine, pending_.size() - pos);
    text += Base64Encode({pending_.data() + pos, n}, Base64Padding::kPadded);
    text += '\n';
    pos += n;
  }
  pending_.erase(pending_.begin(),
                 pending_.begin() + static_cast<ptrdiff_t>(pos));
  if (flush_partial) absl::StrAppend(&text, kArmorEnd, "\n");
  return out_.Write(
      {reinterpret_cast<const uint8_t*>(text.data()), text.size()});
}

absl::Status ArmorWriter::Close() { return EmitLines(true); }

}  // namespace tvault::crypto
