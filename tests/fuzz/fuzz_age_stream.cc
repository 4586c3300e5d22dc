// Fuzz target: the age payload (STREAM over 64 KiB ChaCha20-Poly1305
// chunks) under a fixed payload key, fed in pieces of a size the input
// picks, on one or two threads.
//
// Input: mode byte, then
//   mode even — the rest is a payload to decrypt;
//   mode odd  — a plaintext length (3 bytes, big-endian, capped at two
//               chunks and a bit), a piece size (2 bytes), a count of
//               tampering operations and 6 bytes for each (kind, position
//               as 4 bytes, value), then a pattern repeated to make the
//               plaintext. The harness encrypts, tampers, decrypts.
//
// Invariants:
// - STREAM is deterministic for one key: a payload that decrypts is
//   exactly the encryption of what it decrypted to;
// - the encryption of L bytes is L + 16 bytes per chunk, the chunks being
//   ceil(L / 64 KiB), and at least one;
// - a payload decrypts to the plaintext encrypted, and ANY change to it
//   (a flipped byte, truncation, an inserted or removed byte, two chunks
//   swapped) makes decryption fail.
#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "crypto/age_stream.h"
#include "crypto/io.h"
#include "crypto/statement.h"
#include "tests/fuzz/fuzz_check.h"
#include "tests/fuzz/fuzz_world.h"

namespace tvault::fuzz {
namespace {

using crypto::kAgeChunkSize;
using crypto::kAgeTagSize;
using crypto::StreamPipeline;

constexpr size_t kMaxPlaintext = 2 * kAgeChunkSize + 100;

const crypto::SecretBytes& PayloadKey() {
  static const crypto::SecretBytes* key =
      new crypto::SecretBytes(FixedSecret(9));
  return *key;
}

// Runs the pipeline over `in` in pieces of `piece` bytes; false on error.
bool Run(StreamPipeline::Direction direction, absl::Span<const uint8_t> in,
         size_t piece, int threads, std::vector<uint8_t>& out) {
  crypto::VectorSink sink;
  std::unique_ptr<StreamPipeline> p = StreamPipeline::Create(
      direction, PayloadKey(), sink, {.threads = threads});
  bool ok = true;
  for (size_t at = 0; ok && at < in.size(); at += piece) {
    ok = p->Write(in.subspan(at, std::min(piece, in.size() - at))).ok();
  }
  // Finish must be called exactly once, whatever happened before.
  ok = p->Finish().ok() && ok;
  if (ok)
    FUZZ_CHECK(p->plaintext_bytes() ==
               (direction == StreamPipeline::Direction::kEncrypt
                    ? in.size()
                    : sink.bytes().size()));
  out = std::move(sink.bytes());
  return ok;
}

size_t SealedSize(size_t plaintext) {
  const size_t chunks =
      std::max<size_t>(1, (plaintext + kAgeChunkSize - 1) / kAgeChunkSize);
  return plaintext + chunks * kAgeTagSize;
}

void Tamper(std::vector<uint8_t>& ct, uint8_t kind, uint32_t pos,
            uint8_t value) {
  if (ct.empty()) return;
  const size_t at = pos % ct.size();
  const size_t sealed_chunk = kAgeChunkSize + kAgeTagSize;
  switch (kind % 5) {
    case 0:  // flip bits of one byte
      ct[at] ^= static_cast<uint8_t>(value | 1);
      break;
    case 1:  // truncate
      ct.resize(at);
      break;
    case 2:  // insert a byte
      ct.insert(ct.begin() + static_cast<std::ptrdiff_t>(at), value);
      break;
    case 3:  // remove 1..256 bytes
      ct.erase(ct.begin() + static_cast<std::ptrdiff_t>(at),
               ct.begin() + static_cast<std::ptrdiff_t>(
                                std::min(ct.size(), at + 1 + value)));
      break;
    case 4: {  // swap two whole sealed chunks (if there are two)
      const size_t chunks = ct.size() / sealed_chunk;
      if (chunks < 2) break;
      const size_t a = at % chunks;
      const size_t b = (a + 1 + value % (chunks - 1)) % chunks;
      std::swap_ranges(
          ct.begin() + static_cast<std::ptrdiff_t>(a * sealed_chunk),
          ct.begin() + static_cast<std::ptrdiff_t>((a + 1) * sealed_chunk),
          ct.begin() + static_cast<std::ptrdiff_t>(b * sealed_chunk));
      break;
    }
  }
}

void Raw(absl::Span<const uint8_t> payload, size_t piece, int threads) {
  std::vector<uint8_t> plain;
  if (!Run(StreamPipeline::Direction::kDecrypt, payload, piece, threads,
           plain)) {
    return;
  }
  std::vector<uint8_t> again;
  FUZZ_CHECK(Run(StreamPipeline::Direction::kEncrypt, plain, 4096, 1, again));
  FUZZ_CHECK(again == std::vector<uint8_t>(payload.begin(), payload.end()));
}

void Structured(ByteReader& in, int threads) {
  const size_t length =
      (size_t{in.Byte()} << 16 | size_t{in.U16()}) % (kMaxPlaintext + 1);
  const size_t piece = 1 + in.U16();
  struct Op {
    uint8_t kind;
    uint32_t pos;
    uint8_t value;
  };
  std::vector<Op> ops(in.Byte() % 4);
  for (Op& op : ops) op = {in.Byte(), in.U32(), in.Byte()};
  const absl::string_view pattern = in.Rest();
  std::vector<uint8_t> plain(length);
  for (size_t i = 0; i < length && !pattern.empty(); ++i) {
    plain[i] = static_cast<uint8_t>(pattern[i % pattern.size()]);
  }

  std::vector<uint8_t> ct;
  FUZZ_CHECK(
      Run(StreamPipeline::Direction::kEncrypt, plain, piece, threads, ct));
  FUZZ_CHECK(ct.size() == SealedSize(length));
  std::vector<uint8_t> back;
  FUZZ_CHECK(
      Run(StreamPipeline::Direction::kDecrypt, ct, piece, threads, back));
  FUZZ_CHECK(back == plain);

  if (ops.empty()) return;
  std::vector<uint8_t> tampered = ct;
  for (const Op& op : ops) Tamper(tampered, op.kind, op.pos, op.value);
  const bool ok =
      Run(StreamPipeline::Direction::kDecrypt, tampered, piece, threads, back);
  FUZZ_CHECK(ok == (tampered == ct));
  if (ok) FUZZ_CHECK(back == plain);
}

}  // namespace
}  // namespace tvault::fuzz

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  tvault::fuzz::ByteReader in(data, size);
  const uint8_t mode = in.Byte();
  const int threads = 1 + (mode >> 1 & 1);
  if (mode % 2 == 0) {
    const size_t piece = 1 + in.U16();
    const absl::string_view rest = in.Rest();
    tvault::fuzz::Raw(tvault::crypto::AsBytes(rest), piece, threads);
  } else {
    tvault::fuzz::Structured(in, threads);
  }
  return 0;
}
