// Output that appears whole or not at all.
//
// AtomicOutputFile writes to an unnamed file (O_TMPFILE) in the target's
// directory; Commit() fsyncs it and only then gives it the target's name
// (atomically replacing an existing file when overwriting is allowed).
// A failed command, or a process killed in any way, leaves nothing behind.
// Where the file system has no O_TMPFILE (FAT), a hidden named file is used
// instead and removed on failure and on SIGINT, SIGTERM, SIGHUP or SIGQUIT
// (not on SIGKILL). Files are created with mode 0600; an existing target
// that is a symbolic link is replaced, not written through.
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
  absl::Status NameUnnamedFile(const std::string& name);
  std::string target_;
  std::string temp_;  // empty for an unnamed (O_TMPFILE) file
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
