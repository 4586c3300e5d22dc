// Output that appears whole or not at all.
//
// AtomicOutputFile writes to a new temporary file beside the target (same
// directory, so the final rename is atomic), and Commit() fsyncs it and
// renames it over the target. Destroying it without Commit(), or an
// interruption by signal, removes the temporary file: a failed command
// leaves nothing behind. Files are created with mode 0600.
//
// Not thread-safe; one writer.
#ifndef TVAULT_CLIENT_OUTPUT_FILE_H_
#define TVAULT_CLIENT_OUTPUT_FILE_H_

#include <memory>
#include <string>

#include "absl/status/statusor.h"
#include "crypto/io.h"

namespace tvault::client {

class AtomicOutputFile final : public crypto::ByteSink {
 public:
  // Creates the temporary file. With `allow_overwrite` false, fails with
  // AlreadyExists if `target` exists (checked now and again at Commit).
  static absl::StatusOr<std::unique_ptr<AtomicOutputFile>> Create(
      const std::string& target, bool allow_overwrite);
  ~AtomicOutputFile() override;

  absl::Status Write(absl::Span<const uint8_t> data) override;
  absl::Status Commit();

 private:
  AtomicOutputFile(std::string target, std::string temp, int fd,
                   bool allow_overwrite);
  std::string target_;
  std::string temp_;
  int fd_;
  bool allow_overwrite_;
  bool committed_ = false;
  crypto::FdSink sink_;
};

// Standard output that counts what it wrote, so that a failure can tell the
// user how much of it to discard.
class CountingSink final : public crypto::ByteSink {
 public:
  explicit CountingSink(crypto::ByteSink& inner) : inner_(inner) {}
  absl::Status Write(absl::Span<const uint8_t> data) override {
    absl::Status s = inner_.Write(data);
    if (s.ok()) count_ += data.size();
    return s;
  }
  uint64_t count() const { return count_; }

 private:
  crypto::ByteSink& inner_;
  uint64_t count_ = 0;
};

}  // namespace tvault::client

#endif  // TVAULT_CLIENT_OUTPUT_FILE_H_
