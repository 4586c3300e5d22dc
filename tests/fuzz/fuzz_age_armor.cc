// Fuzz target: ASCII armor (C2SP age §"ASCII armor") — the strict PEM
// reader, the writer, and armored age files through AgeDecryptor.
//
// Invariants:
// - what the reader decodes, the writer encodes to armor that the reader
//   decodes to the same bytes; and when the input was in the writer's own
//   form (BEGIN line first, LF endings, END line and one LF last), the
//   writer gives back exactly the input;
// - the writer's armor of arbitrary bytes (the input itself) decodes to
//   those bytes, and looks armored;
// - the decoder never yields more than 3 bytes per 4 input characters.
#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "crypto/age.h"
#include "crypto/age_armor.h"
#include "crypto/io.h"
#include "crypto/statement.h"
#include "tests/fuzz/fuzz_check.h"

namespace tvault::fuzz {
namespace {

using crypto::AsBytes;

// Reads armor to its end; nullopt-like false on any error.
bool Dearmor(absl::Span<const uint8_t> text, std::vector<uint8_t>& out) {
  crypto::MemorySource memory(text);
  crypto::BufferedSource in(memory);
  crypto::ArmorReader reader(in);
  out.clear();
  uint8_t buf[777];  // odd size: reads straddle decoded lines
  while (true) {
    absl::StatusOr<size_t> n = reader.Read(absl::MakeSpan(buf));
    if (!n.ok()) return false;
    if (*n == 0) return true;
    out.insert(out.end(), buf, buf + *n);
  }
}

std::string Armor(absl::Span<const uint8_t> bytes, size_t piece) {
  crypto::VectorSink sink;
  crypto::ArmorWriter writer(sink);
  for (size_t at = 0; at < bytes.size(); at += piece) {
    FUZZ_CHECK_OK(
        writer.Write(bytes.subspan(at, std::min(piece, bytes.size() - at))));
  }
  FUZZ_CHECK_OK(writer.Close());
  return Str(sink.bytes());
}

bool InWritersForm(absl::string_view text) {
  const std::string end = std::string(crypto::kArmorEnd) + "\n";
  return absl::string_view(text).substr(0, crypto::kArmorBegin.size()) ==
             crypto::kArmorBegin &&
         text.find('\r') == absl::string_view::npos &&
         text.size() >= end.size() &&
         text.substr(text.size() - end.size()) == end;
}

}  // namespace
}  // namespace tvault::fuzz

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  using namespace tvault::fuzz;
  using namespace tvault::crypto;
  const absl::Span<const uint8_t> input(data, size);
  const absl::string_view text(reinterpret_cast<const char*>(data), size);
  (void)LooksArmored(input);

  std::vector<uint8_t> decoded;
  if (Dearmor(input, decoded)) {
    FUZZ_CHECK(decoded.size() <= size / 4 * 3);
    const std::string again = Armor(decoded, 1 + size % 100);
    if (InWritersForm(text)) FUZZ_CHECK(again == text);
    std::vector<uint8_t> twice;
    FUZZ_CHECK(Dearmor(AsBytes(again), twice));
    FUZZ_CHECK(twice == decoded);
  }

  // The writer over the raw input, in pieces whose size the input picks.
  const std::string armored = Armor(input, 1 + (size > 0 ? data[0] : 0));
  FUZZ_CHECK(LooksArmored(AsBytes(armored)));
  std::vector<uint8_t> back;
  FUZZ_CHECK(Dearmor(AsBytes(armored), back));
  FUZZ_CHECK(back == std::vector<uint8_t>(input.begin(), input.end()));

  // An armored age file: armor, then the header inside it.
  MemorySource src(input);
  absl::StatusOr<std::unique_ptr<AgeDecryptor>> dec = AgeDecryptor::Open(
      src, {.armor = ArmorMode::kRequire, .stream = {.threads = 1}});
  if (dec.ok()) FUZZ_CHECK((*dec)->armored());
  return 0;
}
