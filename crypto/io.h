// Byte streams for the streaming encryptors and decryptors.
//
// Sources and sinks are used from one thread at a time. The fd-backed ones
// retry on EINTR and on short reads/writes; they do not own the descriptor
// unless stated.
#ifndef TVAULT_CRYPTO_IO_H_
#define TVAULT_CRYPTO_IO_H_

#include <cstdint>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "absl/types/span.h"
#include "crypto/secret_bytes.h"

namespace tvault::crypto {

class ByteSource {
 public:
  virtual ~ByteSource() = default;
  // Reads up to out.size() bytes. Returns 0 only at end of input (or when
  // out is empty).
  virtual absl::StatusOr<size_t> Read(absl::Span<uint8_t> out) = 0;
};

class ByteSink {
 public:
  virtual ~ByteSink() = default;
  virtual absl::Status Write(absl::Span<const uint8_t> data) = 0;
};

// Reads until `out` is full or the source ends; returns the bytes read.
absl::StatusOr<size_t> ReadFull(ByteSource& source, absl::Span<uint8_t> out);

class FdSource final : public ByteSource {
 public:
  explicit FdSource(int fd) : fd_(fd) {}
  absl::StatusOr<size_t> Read(absl::Span<uint8_t> out) override;

 private:
  int fd_;
};

class FdSink final : public ByteSink {
 public:
  explicit FdSink(int fd) : fd_(fd) {}
  absl::Status Write(absl::Span<const uint8_t> data) override;

 private:
  int fd_;
};

// A source with a read-ahead buffer, for parsers that read a textual
// prefix line by line (the age header, ASCII armor) and then hand the rest of
// the stream, including anything already buffered, to a binary reader.
class BufferedSource final : public ByteSource {
 public:
  explicit BufferedSource(ByteSource& inner, size_t buffer_size = 64 * 1024)
      : inner_(inner), buffer_(buffer_size) {}

  // Reads one line including its LF into `line`. OutOfRange if no LF comes
  // within `max_length` bytes or before the end of input; what was read then
  // is still in `line` (for error messages and diagnostics).
  absl::Status ReadLine(size_t max_length, std::string& line);
  // Returns up to `n` bytes without consuming them (fewer at end of input).
  absl::StatusOr<absl::Span<const uint8_t>> Peek(size_t n);
  absl::StatusOr<size_t> Read(absl::Span<uint8_t> out) override;

 private:
  absl::Status Refill();  // moves unread bytes to the front and reads more

  ByteSource& inner_;
  std::vector<uint8_t> buffer_;
  size_t begin_ = 0;
  size_t end_ = 0;
  bool eof_ = false;
};

// In-memory source over borrowed bytes (tests, small inputs).
class MemorySource final : public ByteSource {
 public:
  explicit MemorySource(absl::Span<const uint8_t> data) : data_(data) {}
  explicit MemorySource(absl::string_view data)
      : data_(reinterpret_cast<const uint8_t*>(data.data()), data.size()) {}
  absl::StatusOr<size_t> Read(absl::Span<uint8_t> out) override;

 private:
  absl::Span<const uint8_t> data_;
};

// Collects bytes into protected memory (SecretBytes), up to a fixed
// capacity: for decrypted keys and identity files. OutOfRange past it.
class SecretSink final : public ByteSink {
 public:
  explicit SecretSink(size_t capacity) : buffer_(capacity) {}
  absl::Status Write(absl::Span<const uint8_t> data) override;
  // The bytes written so far; the sink is empty afterwards.
  SecretBytes Take();

 private:
  SecretBytes buffer_;
  size_t size_ = 0;
};

// Appends everything written to a vector (tests, small outputs).
class VectorSink final : public ByteSink {
 public:
  absl::Status Write(absl::Span<const uint8_t> data) override {
    bytes_.insert(bytes_.end(), data.begin(), data.end());
    return absl::OkStatus();
  }
  std::vector<uint8_t>& bytes() { return bytes_; }

 private:
  std::vector<uint8_t> bytes_;
};

}  // namespace tvault::crypto

#endif  // TVAULT_CRYPTO_IO_H_
