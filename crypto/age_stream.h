// The age payload: 64 KiB chunks of ChaCha20-Poly1305 under the STREAM
// construction (C2SP age §"Payload"), processed in parallel.
//
// Security properties
// - Each chunk is authenticated on its own; the nonce binds its position
//   and whether it is the last one, so chunks cannot be reordered, dropped,
//   duplicated or truncated away without detection.
// - A decrypted chunk is only released (written to the sink) after it and
//   every chunk before it verified. Until the final chunk verifies, what was
//   released is a prefix of the plaintext, not proof of the whole.
//
// Memory is bounded: at most kSlots batches of kBatchChunks chunks are in
// flight, whatever the input size (about 2 MiB per slot).
//
// Threading: a StreamPipeline is used by one caller thread; it runs its own
// worker threads and calls the sink only from the caller's thread.
#ifndef TVAULT_CRYPTO_AGE_STREAM_H_
#define TVAULT_CRYPTO_AGE_STREAM_H_

#include <cstdint>
#include <memory>

#include "absl/status/status.h"
#include "absl/types/span.h"
#include "crypto/io.h"
#include "crypto/secret_bytes.h"

namespace tvault::crypto {

inline constexpr size_t kAgeChunkSize = 64 * 1024;
inline constexpr size_t kAgeTagSize = 16;
inline constexpr size_t kAgeNonceSize = 16;

struct StreamOptions {
  // Threads doing crypto, counting the caller's own; 0 means one per core
  // (at most 8). 1 means no extra threads: everything runs on the caller's.
  int threads = 0;
};

class StreamPipeline {
 public:
  enum class Direction { kEncrypt, kDecrypt };

  // `payload_key` is the 32-byte key from HKDF(file key, nonce, "payload").
  // The pipeline copies it. Output goes to `sink`, which must outlive it.
  static std::unique_ptr<StreamPipeline> Create(Direction direction,
                                                const SecretBytes& payload_key,
                                                ByteSink& sink,
                                                StreamOptions options = {});
  ~StreamPipeline();
  StreamPipeline(const StreamPipeline&) = delete;
  StreamPipeline& operator=(const StreamPipeline&) = delete;

  // Feeds input bytes (plaintext to encrypt, or ciphertext to decrypt).
  absl::Status Write(absl::Span<const uint8_t> data);
  // Feeds everything `source` has, reading straight into the batch buffers.
  absl::Status WriteFrom(ByteSource& source);
  // Marks the end of input, processes what is left, and returns the first
  // error: for decryption an AgeErrorKind::kPayload error when the payload
  // is truncated, corrupt, reordered, or followed by extra data. Must be
  // called exactly once; output is complete only if it returns OK.
  absl::Status Finish();

  // Plaintext bytes released to the sink so far (decryption) or consumed
  // (encryption).
  uint64_t plaintext_bytes() const;

  class Impl;

 private:
  explicit StreamPipeline(std::unique_ptr<Impl> impl);
  std::unique_ptr<Impl> impl_;
};

}  // namespace tvault::crypto

#endif  // TVAULT_CRYPTO_AGE_STREAM_H_
