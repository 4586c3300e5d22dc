#include "vault/data_dir.h"

#include <fcntl.h>
#include <sodium.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>

#include "absl/strings/ascii.h"
#include "absl/strings/escaping.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "vault/sqlcipher_store.h"
#include "vault/tvaultd_init.h"

namespace tvault::vault {
namespace {

using crypto::SecretBytes;

constexpr size_t kDbKeyHexSize = 2 * SqlcipherStore::kKeySize;
// Far above any file the vault writes (a PEM key is ~120 bytes).
constexpr size_t kMaxDataFileSize = 64 * 1024;

std::string ErrnoText(int err) { return std::strerror(err); }

struct FdCloser {
  int fd;
  ~FdCloser() { close(fd); }
};

// Reads at most `limit` bytes of a regular file into SecretBytes; `out`
// gets the bytes, and `size` how many. A file of `limit` bytes or more is
// reported as such through size == limit. With `secret`, refuses a file
// that group or others may access.
absl::Status ReadLimited(const std::string& path, absl::string_view what,
                         bool secret, SecretBytes& out, size_t& size) {
  const int fd = open(path.c_str(), O_RDONLY | O_CLOEXEC | O_NOFOLLOW);
  if (fd < 0) {
    const int err = errno;
    return absl::NotFoundError(
        absl::StrCat("cannot open ", what, " ", path, ": ", ErrnoText(err)));
  }
  FdCloser closer{fd};
  struct stat st;
  if (fstat(fd, &st) != 0) {
    const int err = errno;
    return absl::InternalError(
        absl::StrCat("cannot stat ", what, " ", path, ": ", ErrnoText(err)));
  }
  if (!S_ISREG(st.st_mode)) {
    return absl::InvalidArgumentError(
        absl::StrCat(what, " ", path, " is not a regular file"));
  }
  if (secret && (st.st_mode & (S_IRWXG | S_IRWXO)) != 0) {
    return absl::FailedPreconditionError(absl::StrFormat(
        "%s %s is accessible to group or others (mode %04o); run chmod 600 "
        "%s and consider a new key",
        what, path, st.st_mode & 07777, path));
  }
  size = 0;
  while (size < out.size()) {
    const ssize_t got = read(fd, out.data() + size, out.size() - size);
    if (got < 0) {
      if (errno == EINTR) continue;
      const int err = errno;
      return absl::InternalError(
          absl::StrCat("cannot read ", what, " ", path, ": ", ErrnoText(err)));
    }
    if (got == 0) break;
    size += static_cast<size_t>(got);
  }
  return absl::OkStatus();
}

// A whole small file, with an optional single final "\n" removed.
absl::StatusOr<SecretBytes> ReadDataFile(const std::string& path,
                                         absl::string_view what, bool secret) {
  SecretBytes buffer(kMaxDataFileSize);
  size_t size = 0;
  if (absl::Status s = ReadLimited(path, what, secret, buffer, size); !s.ok()) {
    return s;
  }
  if (size == buffer.size()) {
    return absl::InvalidArgumentError(
        absl::StrCat(what, " ", path, " is too large to be one"));
  }
  if (size > 0 && buffer.data()[size - 1] == '\n') --size;
  SecretBytes out(size);
  if (size > 0) std::memcpy(out.data(), buffer.data(), size);
  return out;
}

absl::Status WriteAll(int fd, absl::string_view data) {
  while (!data.empty()) {
    const ssize_t n = write(fd, data.data(), data.size());
    if (n < 0) {
      if (errno == EINTR) continue;
      return absl::InternalError(ErrnoText(errno));
    }
    data.remove_prefix(static_cast<size_t>(n));
  }
  return absl::OkStatus();
}

}  // namespace

absl::Status ReplaceFileDurably(const std::string& path, absl::string_view data,
                                absl::string_view what) {
  const std::string tmp = path + ".tmp";
  const int fd =
      open(tmp.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
  if (fd < 0) {
    return absl::InternalError(absl::StrCat("cannot write the ", what, " ", tmp,
                                            ": ", ErrnoText(errno)));
  }
  absl::Status s = WriteAll(fd, data);
  if (s.ok() && fsync(fd) != 0) s = absl::InternalError(ErrnoText(errno));
  if (close(fd) != 0 && s.ok()) s = absl::InternalError(ErrnoText(errno));
  if (s.ok() && rename(tmp.c_str(), path.c_str()) != 0) {
    s = absl::InternalError(ErrnoText(errno));
  }
  if (!s.ok()) {
    unlink(tmp.c_str());
    return absl::InternalError(
        absl::StrCat("cannot write the ", what, " ", path, ": ", s.message()));
  }
  const size_t slash = path.rfind('/');
  const std::string dir =
      slash == std::string::npos ? "." : path.substr(0, slash + 1);
  const int dfd = open(dir.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  if (dfd < 0 || fsync(dfd) != 0) {
    const int err = errno;
    if (dfd >= 0) close(dfd);
    return absl::InternalError(absl::StrCat("cannot sync the directory of the ",
                                            what, " ", path, ": ",
                                            ErrnoText(err)));
  }
  close(dfd);
  return absl::OkStatus();
}

absl::StatusOr<crypto::SignPublicKey> ParseOrgKeyHex(absl::string_view hex) {
  const absl::Status bad = absl::InvalidArgumentError(
      "--org-key must be the organisation root's public key as 64 lowercase "
      "hex digits, as given by the administrator");
  if (hex.size() != 64) return bad;
  for (char c : hex) {
    if (!absl::ascii_isdigit(c) && !(c >= 'a' && c <= 'f')) return bad;
  }
  const std::string bytes = absl::HexStringToBytes(hex);
  crypto::SignPublicKey key;
  std::memcpy(key.data(), bytes.data(), key.size());
  if (!crypto::CheckSignPublicKey(key).ok()) {
    return absl::InvalidArgumentError(
        "--org-key is not a valid Ed25519 public key; check it with the "
        "administrator");
  }
  return key;
}

absl::StatusOr<SecretBytes> ReadDbKeyFile(const std::string& path) {
  const absl::Status bad_format = absl::InvalidArgumentError(absl::StrCat(
      "database key file ", path,
      " must hold exactly 64 hex digits (a 32-byte key), optionally followed "
      "by a newline; make one with (umask 077; openssl rand -hex 32 > FILE)"));
  // One byte more than the longest valid file, to detect a longer one.
  SecretBytes text(kDbKeyHexSize + 2);
  size_t n = 0;
  if (absl::Status s = ReadLimited(path, "database key file", true, text, n);
      !s.ok()) {
    return s;
  }
  if (n != kDbKeyHexSize &&
      !(n == kDbKeyHexSize + 1 && text.data()[kDbKeyHexSize] == '\n')) {
    return bad_format;
  }
  SecretBytes key(SqlcipherStore::kKeySize);
  size_t key_size = 0;
  const char* hex_end = nullptr;
  if (sodium_hex2bin(key.data(), key.size(),
                     reinterpret_cast<const char*>(text.data()), kDbKeyHexSize,
                     nullptr, &key_size, &hex_end) != 0 ||
      key_size != key.size() ||
      hex_end != reinterpret_cast<const char*>(text.data()) + kDbKeyHexSize) {
    return bad_format;
  }
  return key;
}

absl::StatusOr<VaultFiles> LoadVaultFiles(const std::string& data_dir) {
  const auto path = [&](const char* name) {
    return absl::StrCat(data_dir, "/", name);
  };
  absl::StatusOr<SecretBytes> org_hex =
      ReadDataFile(path(kOrgKeyFileName), "organisation key file", false);
  if (!org_hex.ok()) return org_hex.status();
  absl::StatusOr<crypto::SignPublicKey> org_pk =
      ParseOrgKeyHex(crypto::AsString(org_hex->span()));
  if (!org_pk.ok()) {
    return absl::InvalidArgumentError(
        absl::StrCat(path(kOrgKeyFileName),
                     " does not hold an organisation key (64 lowercase hex "
                     "digits); was the data directory made by tvaultd init?"));
  }
  absl::StatusOr<SecretBytes> cert =
      ReadDataFile(path(kTlsCertificateFileName), "TLS certificate", false);
  if (!cert.ok()) return cert.status();
  std::string cert_pem(crypto::AsString(cert->span()));
  absl::StatusOr<TlsKeyPin> pin = TlsKeyPinFromCertificatePem(cert_pem);
  if (!pin.ok()) {
    return absl::InvalidArgumentError(absl::StrCat(
        path(kTlsCertificateFileName), ": ", pin.status().message()));
  }
  absl::StatusOr<SecretBytes> tls_key =
      ReadDataFile(path(kTlsKeyFileName), "TLS private key", true);
  if (!tls_key.ok()) return tls_key.status();
  absl::StatusOr<SecretBytes> log_key =
      ReadDataFile(path(kLogSigningKeyFileName), "log signing key", true);
  if (!log_key.ok()) return log_key.status();
  absl::StatusOr<crypto::NoteSigner> signer =
      crypto::NoteSigner::Parse(log_key->span());
  if (!signer.ok()) {
    return absl::InvalidArgumentError(absl::StrCat(
        path(kLogSigningKeyFileName),
        " is not a signed-note signer key: ", signer.status().message()));
  }
  return VaultFiles{*org_pk, std::move(cert_pem), std::move(*tls_key), *pin,
                    std::move(*signer)};
}

}  // namespace tvault::vault
