#include "client/home.h"

#include <dirent.h>
#include <fcntl.h>
#include <sodium.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstdlib>
#include <cstring>

#include "absl/strings/ascii.h"
#include "absl/strings/escaping.h"
#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "client/output_file.h"
#include "crypto/base64.h"
#include "crypto/statement.h"

namespace tvault::client {
namespace {

absl::Status MakeDirectory(const std::string& path) {
  if (::mkdir(path.c_str(), 0700) == 0 || errno == EEXIST) {
    struct stat st {};
    if (::stat(path.c_str(), &st) != 0 || !S_ISDIR(st.st_mode)) {
      return absl::FailedPreconditionError(
          absl::StrCat(path, " exists but is not a directory"));
    }
    return absl::OkStatus();
  }
  return absl::FailedPreconditionError(absl::StrCat(
      "cannot create the directory ", path, ": ", std::strerror(errno)));
}

absl::Status MakeDirectories(const std::string& path) {
  for (size_t slash = path.find('/', 1); slash != std::string::npos;
       slash = path.find('/', slash + 1)) {
    const std::string prefix = path.substr(0, slash);
    if (::access(prefix.c_str(), F_OK) != 0) {
      if (absl::Status s = MakeDirectory(prefix); !s.ok()) return s;
    }
  }
  return MakeDirectory(path);
}

absl::StatusOr<std::vector<uint8_t>> ReadLimited(int fd,
                                                 const std::string& path) {
  std::vector<uint8_t> out;
  uint8_t buf[16384];
  for (;;) {
    const ssize_t n = ::read(fd, buf, sizeof buf);
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) {
      return absl::UnavailableError(
          absl::StrCat("cannot read ", path, ": ", std::strerror(errno)));
    }
    if (n == 0) break;
    if (out.size() + static_cast<size_t>(n) > kMaxStateFileSize) {
      return absl::InvalidArgumentError(
          absl::StrCat(path, " is larger than ", kMaxStateFileSize,
                       " bytes: it is not a tvault file"));
    }
    out.insert(out.end(), buf, buf + n);
  }
  return out;
}

}  // namespace

absl::StatusOr<Home> Home::Open(std::string dir) {
  if (dir.empty()) {
    const char* xdg = std::getenv("XDG_DATA_HOME");
    const char* home = std::getenv("HOME");
    if (xdg != nullptr && xdg[0] == '/') {
      dir = absl::StrCat(xdg, "/tvault");
    } else if (home != nullptr && home[0] == '/') {
      dir = absl::StrCat(home, "/.local/share/tvault");
    } else {
      return absl::FailedPreconditionError(
          "no home directory for tvault: set HOME or give --home DIR");
    }
  }
  while (dir.size() > 1 && dir.back() == '/') dir.pop_back();
  if (absl::Status s = MakeDirectories(dir); !s.ok()) return s;
  if (::access(dir.c_str(), W_OK | X_OK) != 0) {
    return absl::FailedPreconditionError(
        absl::StrCat("the tvault home ", dir, " is not writable"));
  }
  return Home(std::move(dir));
}

std::string Home::Path(absl::string_view name) const {
  return absl::StrCat(dir_, "/", name);
}

bool Home::Exists(absl::string_view name) const {
  return ::access(Path(name).c_str(), F_OK) == 0;
}

absl::StatusOr<std::vector<uint8_t>> Home::Read(
    absl::string_view name, absl::string_view missing_hint) const {
  const std::string path = Path(name);
  const int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) {
    if (errno == ENOENT) {
      return absl::NotFoundError(
          absl::StrCat("no ", name, " in ", dir_, ": ", missing_hint));
    }
    return absl::UnavailableError(
        absl::StrCat("cannot open ", path, ": ", std::strerror(errno)));
  }
  absl::StatusOr<std::vector<uint8_t>> bytes = ReadLimited(fd, path);
  ::close(fd);
  return bytes;
}

absl::Status Home::Write(absl::string_view name,
                         absl::Span<const uint8_t> bytes) const {
  const std::string path = Path(name);
  const size_t slash = path.rfind('/');
  if (absl::Status s = MakeDirectories(path.substr(0, slash)); !s.ok()) {
    return s;
  }
  absl::StatusOr<std::unique_ptr<AtomicOutputFile>> out =
      AtomicOutputFile::Create(path, /*allow_overwrite=*/true);
  if (!out.ok()) return out.status();
  if (absl::Status s = (*out)->Write(bytes); !s.ok()) return s;
  return (*out)->Commit();
}

absl::Status Home::WriteMessage(absl::string_view name,
                                const google::protobuf::Message& m) const {
  return Write(name, crypto::AsBytes(crypto::SerializeDeterministic(m)));
}

absl::Status Home::ReadMessage(absl::string_view name,
                               absl::string_view missing_hint,
                               google::protobuf::Message& m) const {
  absl::StatusOr<std::vector<uint8_t>> bytes = Read(name, missing_hint);
  if (!bytes.ok()) return bytes.status();
  if (absl::Status s = crypto::ParseStrictly(crypto::AsString(*bytes), m);
      !s.ok()) {
    return absl::DataLossError(
        absl::StrCat(Path(name), " is damaged (", s.message(),
                     "); restore it from a backup or set this home up again"));
  }
  return absl::OkStatus();
}

absl::Status Home::Remove(absl::string_view name) const {
  if (::unlink(Path(name).c_str()) != 0 && errno != ENOENT) {
    return absl::UnavailableError(
        absl::StrCat("cannot remove ", Path(name), ": ", std::strerror(errno)));
  }
  return absl::OkStatus();
}

std::vector<std::string> Home::List(absl::string_view subdir) const {
  std::vector<std::string> names;
  DIR* d = ::opendir(Path(subdir).c_str());
  if (d == nullptr) return names;
  while (const dirent* e = ::readdir(d)) {
    if (e->d_name[0] != '.') names.emplace_back(e->d_name);
  }
  ::closedir(d);
  std::sort(names.begin(), names.end());
  return names;
}

absl::StatusOr<std::string> Home::MakeDir(absl::string_view subdir) const {
  std::string path = Path(subdir);
  if (absl::Status s = MakeDirectories(path); !s.ok()) return s;
  return path;
}

std::string EncodeCarried(absl::string_view prefix,
                          const google::protobuf::Message& m) {
  return absl::StrCat(
      prefix,
      crypto::Base64Encode(crypto::AsBytes(crypto::SerializeDeterministic(m)),
                           crypto::Base64Padding::kPadded),
      "\n");
}

absl::Status DecodeCarried(absl::string_view prefix, absl::string_view text,
                           absl::string_view what,
                           google::protobuf::Message& m) {
  text = absl::StripAsciiWhitespace(text);
  if (!absl::StartsWith(text, prefix)) {
    return absl::InvalidArgumentError(absl::StrCat(
        "this is not ", what, " (it should start with \"", prefix, "\")"));
  }
  text.remove_prefix(prefix.size());
  absl::StatusOr<std::vector<uint8_t>> bin =
      crypto::Base64Decode(text, crypto::Base64Padding::kPadded);
  if (!bin.ok()) {
    return absl::InvalidArgumentError(
        absl::StrCat(what, " is damaged (not base64); ask for a fresh copy"));
  }
  if (absl::Status s = crypto::ParseStrictly(crypto::AsString(*bin), m);
      !s.ok()) {
    return absl::InvalidArgumentError(absl::StrCat(
        what, " is damaged (", s.message(), "); ask for a fresh copy"));
  }
  return absl::OkStatus();
}

absl::StatusOr<std::string> ReadCarriedFile(const std::string& path) {
  const int fd =
      path == "-" ? ::dup(STDIN_FILENO) : ::open(path.c_str(), O_RDONLY);
  if (fd < 0) {
    return absl::NotFoundError(
        absl::StrCat("cannot open ", path, ": ", std::strerror(errno)));
  }
  absl::StatusOr<std::vector<uint8_t>> bytes = ReadLimited(fd, path);
  ::close(fd);
  if (!bytes.ok()) return bytes.status();
  return std::string(bytes->begin(), bytes->end());
}

absl::Status ReadCarriedMessage(const std::string& path,
                                absl::string_view prefix,
                                absl::string_view what,
                                google::protobuf::Message& m) {
  absl::StatusOr<std::string> text = ReadCarriedFile(path);
  if (!text.ok()) return text.status();
  return DecodeCarried(prefix, *text, what, m);
}

absl::Status WriteCarriedFile(const std::string& path, absl::string_view text,
                              bool overwrite) {
  absl::StatusOr<std::unique_ptr<AtomicOutputFile>> out =
      AtomicOutputFile::Create(path, overwrite);
  if (!out.ok()) return out.status();
  if (absl::Status s = (*out)->Write(crypto::AsBytes(text)); !s.ok()) return s;
  return (*out)->Commit();
}

std::string Hex(absl::Span<const uint8_t> bytes) {
  return absl::BytesToHexString(crypto::AsString(bytes));
}

absl::StatusOr<std::string> ParseHexId(absl::string_view text, size_t size,
                                       absl::string_view what) {
  text = absl::StripAsciiWhitespace(text);
  std::string out(size, '\0');
  size_t len = 0;
  if (text.size() != 2 * size ||
      sodium_hex2bin(reinterpret_cast<unsigned char*>(out.data()), size,
                     text.data(), text.size(), nullptr, &len, nullptr) != 0 ||
      len != size) {
    return absl::InvalidArgumentError(
        absl::StrCat(what, " must be ", 2 * size,
                     " hexadecimal digits, as tvault prints it"));
  }
  return out;
}

}  // namespace tvault::client
