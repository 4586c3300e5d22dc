#include "client/output_file.h"

#include <fcntl.h>
#include <sodium.h>
#include <stdio.h>
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
  InstallInterruptCleanup();
  // Preferably an unnamed file (O_TMPFILE): if the process dies in any way,
  // even by SIGKILL, nothing of the partial output remains on disk. It gets
  // its name only in Commit.
  const int unnamed =
      open(dir.c_str(), O_TMPFILE | O_WRONLY | O_CLOEXEC, S_IRUSR | S_IWUSR);
  if (unnamed >= 0) {
    return std::unique_ptr<AtomicOutputFile>(
        new AtomicOutputFile(target, "", unnamed, allow_overwrite));
  }
  // File systems without O_TMPFILE (FAT on a USB stick): a hidden named
  // file, removed on failure and on SIGINT/SIGTERM/SIGHUP/SIGQUIT.
  const std::string pattern = (dir / absl::StrCat(".", path.filename().string(),
                                                  ".tvault-partial-XXXXXX"))
                                  .string();
  std::vector<char> buf(pattern.begin(), pattern.end());
  buf.push_back('\0');
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
  if (!committed_ && !temp_.empty()) {
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

absl::Status AtomicOutputFile::NameUnnamedFile(const std::string& name) {
  const std::string proc = absl::StrCat("/proc/self/fd/", fd_);
  if (linkat(AT_FDCWD, proc.c_str(), AT_FDCWD, name.c_str(),
             AT_SYMLINK_FOLLOW) == 0) {
    return absl::OkStatus();
  }
  if (errno == EEXIST) return Errno("cannot create", name);
  // Without /proc, AT_EMPTY_PATH (needs CAP_DAC_READ_SEARCH).
  if (linkat(fd_, "", AT_FDCWD, name.c_str(), AT_EMPTY_PATH) == 0) {
    return absl::OkStatus();
  }
  return Errno("cannot give the output its name", name);
}

absl::Status AtomicOutputFile::Commit() {
  if (fsync(fd_) != 0) return Errno("cannot flush the output for", target_);
  if (temp_.empty()) {
    // Unnamed file: link it in under the target's name, or (overwriting)
    // under a fresh hidden name that is then renamed over the target.
    if (!allow_overwrite_) {
      if (absl::Status s = NameUnnamedFile(target_); !s.ok()) return s;
    } else {
      const std::filesystem::path path(target_);
      for (int attempt = 0;; ++attempt) {
        char suffix[17];
        std::snprintf(suffix, sizeof suffix, "%016llx",
                      static_cast<unsigned long long>(randombytes_random())
                              << 32 |
                          randombytes_random());
        const std::string name =
            (path.parent_path() /
             absl::StrCat(".", path.filename().string(), ".tvault-", suffix))
                .string();
        absl::Status s = NameUnnamedFile(name);
        if (s.ok()) {
          if (rename(name.c_str(), target_.c_str()) != 0) {
            absl::Status r = Errno("cannot rename the output to", target_);
            unlink(name.c_str());
            return r;
          }
          break;
        }
        if (errno != EEXIST || attempt > 8) return s;
      }
    }
  } else if (!allow_overwrite_) {
    // RENAME_NOREPLACE fails if the target appeared meanwhile; it also
    // works where hard links do not (FAT).
    if (renameat2(AT_FDCWD, temp_.c_str(), AT_FDCWD, target_.c_str(),
                  RENAME_NOREPLACE) != 0) {
      return Errno("cannot create", target_);
    }
  } else if (rename(temp_.c_str(), target_.c_str()) != 0) {
    return Errno("cannot rename the output to", target_);
  }
  committed_ = true;
  ClearInterruptTempFile();
  const int fd = fd_;
  fd_ = -1;
  if (close(fd) != 0) return Errno("cannot close", target_);
  const std::string dir = std::filesystem::path(target_).parent_path().string();
  const int dfd = open(dir.empty() ? "." : dir.c_str(), O_RDONLY | O_DIRECTORY);
  if (dfd >= 0) {
    fsync(dfd);
    close(dfd);
  }
  return absl::OkStatus();
}

}  // namespace tvault::client
