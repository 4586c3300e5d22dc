// ASCII armor for age files (C2SP age §"ASCII armor"): strict PEM (RFC 7468
// §3, Figure 3) with the label "AGE ENCRYPTED FILE", padded canonical
// base64 in lines of exactly 64 columns but the last. Whitespace is allowed
// before and after the block, LF or CRLF line endings; nothing else.
#ifndef TVAULT_CRYPTO_AGE_ARMOR_H_
#define TVAULT_CRYPTO_AGE_ARMOR_H_

#include <cstdint>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/strings/string_view.h"
#include "crypto/io.h"

namespace tvault::crypto {

inline constexpr absl::string_view kArmorBegin =
    "-----BEGIN AGE ENCRYPTED FILE-----";
inline constexpr absl::string_view kArmorEnd =
    "-----END AGE ENCRYPTED FILE-----";
// Whitespace tolerated before and after the block, as the age tool does.
inline constexpr size_t kArmorMaxWhitespace = 1024;

// True if `prefix` (the first bytes of a file) is armor: optional
// whitespace, then the BEGIN line.
bool LooksArmored(absl::Span<const uint8_t> prefix);

// Decodes armor as it is read. Errors have AgeErrorKind::kArmor.
class ArmorReader final : public ByteSource {
 public:
  explicit ArmorReader(BufferedSource& in) : in_(in) {}
  absl::StatusOr<size_t> Read(absl::Span<uint8_t> out) override;

 private:
  absl::Status ReadBegin();
  absl::Status ReadNextLine();  // refills decoded_
  absl::Status ReadTrailer();

  BufferedSource& in_;
  enum class State { kStart, kBody, kDone } state_ = State::kStart;
  std::vector<uint8_t> decoded_;
  size_t decoded_pos_ = 0;
  std::string line_;
};

// Encodes everything written to it as armor into `out`. Close() writes the
// last line and the END line; the armor is incomplete without it.
class ArmorWriter final : public ByteSink {
 public:
  explicit ArmorWriter(ByteSink& out) : out_(out) {}
  absl::Status Write(absl::Span<const uint8_t> data) override;
  absl::Status Close();

 private:
  absl::Status EmitLines(bool flush_partial);

  ByteSink& out_;
  bool begun_ = false;
  std::vector<uint8_t> pending_;
};

}  // namespace tvault::crypto

#endif  // TVAULT_CRYPTO_AGE_ARMOR_H_
