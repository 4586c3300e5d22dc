#include "client/output_file.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <filesystem>
#include <vector>

#include "absl/strings/str_cat.h"
#include "client/interrupt.h"

namespace tvault::client {
namespace {

absl::Status Errno(absl::string_view what, const std::string& path) {
  return absl::UnavailableError(
      absl::StrCat(what, " ", path, ": ", std::strerror(errno)));
}

}  // namespace

absl::StatusOr<std::unique_ptr<AtomicOutputFile>> AtomicOutputFile::Create(
    const std::string& target, bool allow_overwrite) {
  namespace fs = std::filesystem;
  std::error_code ec;
  if (!allow_overwrite && fs::exists(target, ec)) {
    return absl::AlreadyExistsError(
        absl::StrCat(target, " already exists; refusing to overwrite it"));
  }
  const fs::path path(target);
  fs::path dir = path.parent_path();
  if (dir.empty()) dir = ".";
  const std::string pattern = (dir / absl::StrCat(".", path.filename().string(),
                                                  ".tvault-partial-XXXXXX"))
                                  .string();
  std::vector<char> buf(pattern.begin(), pattern.end());
  buf.push_back('\0');
  InstallInterruptCleanup();
  const int fd = mkostemp(buf.data(), O_CLOEXEC);  // mode 0600
  if (fd < 0) return Errno("cannot create a file in the directory of", target);
  std::string temp(buf.data());
  SetInterruptTempFile(temp);
  return std::unique_ptr<AtomicOutputFile>(
      new AtomicOutputFile(target, std::move(temp), fd, allow_overwrite));
}

AtomicOutputFile::AtomicOutputFile(std::string target, std::string temp, int fd,
                                   bool allow_overwrite)
    : target_(std::move(target)),
      temp_(std::move(temp)),
      fd_(fd),
      allow_overwrite_(allow_overwrite),
      sink_(fd) {}

AtomicOutputFile::~AtomicOutputFile() {
  if (fd_ >= 0) close(fd_);
  if (!committed_) {
    unlink(temp_.c_str());
    ClearInterruptTempFile();
  }
}

absl::Status AtomicOutputFile::Write(absl::Span<const uint8_t> data) {
  // No early writeback (sync_file_range) here: measured on the CI machine
  // it moved the kernel's writeback work into this process and made a
  // 512 MiB decryption slower (BENCHMARKS.md); Commit's fsync suffices.
  return sink_.Write(data);
}

absl::Status AtomicOutputFile::Commit() {
  if (fsync(fd_) != 0) return Errno("cannot flush", temp_);
  if (close(fd_) != 0) {
    fd_ = -1;
    return Errno("cannot close", temp_);
  }
  fd_ = -1;
  if (!allow_overwrite_) {
    // link() fails if the target appeared meanwhile; never clobber it.
    if (link(temp_.c_str(), target_.c_str()) != 0) {
      return Errno("cannot create", target_);
    }
    unlink(temp_.c_str());
  } else if (rename(temp_.c_str(), target_.c_str()) != 0) {
    return Errno("cannot rename the output to", target_);
  }
  committed_ = true;
  ClearInterruptTempFile();
  const std::string dir = std::filesystem::path(target_).parent_path().string();
  const int dfd = open(dir.empty() ? "." : dir.c_str(), O_RDONLY | O_DIRECTORY);
  if (dfd >= 0) {
    fsync(dfd);
    close(dfd);
  }
  return absl::OkStatus();
}

}  // namespace tvault::client
