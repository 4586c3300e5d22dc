#include "vault/tvaultd_init.h"

#include <dirent.h>
#include <fcntl.h>
#include <sodium.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <memory>
#include <utility>

#include "absl/strings/ascii.h"
#include "absl/strings/escaping.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "absl/strings/string_view.h"
#include "absl/types/span.h"
#include "crypto/base64.h"
#include "crypto/certificate.h"
#include "crypto/secret_bytes.h"
#include "crypto/signed_note.h"
#include "crypto/statement.h"
#include "google/protobuf/io/coded_stream.h"
#include "google/protobuf/io/zero_copy_stream_impl_lite.h"
#include "proto/records.pb.h"
#include "vault/data_dir.h"
#include "vault/sqlcipher_store.h"
#include "vault/tls_identity.h"

namespace tvault::vault {
namespace {

using crypto::SecretBytes;

std::string ErrnoText(int err) { return std::strerror(err); }

// The data directory while it is being made: everything created through it
// is removed again unless Commit() is called.
class DataDirBuilder {
 public:
  DataDirBuilder() = default;
  DataDirBuilder(const DataDirBuilder&) = delete;
  DataDirBuilder& operator=(const DataDirBuilder&) = delete;
  ~DataDirBuilder() {
    if (!committed_) RollBack();
  }

  // Creates `path` (mode 0700), or takes over an existing empty directory
  // (set to 0700; its old mode comes back on roll-back).
  absl::Status Prepare(const std::string& path) {
    path_ = path;
    struct stat st;
    if (lstat(path.c_str(), &st) != 0) {
      if (errno != ENOENT) {
        const int err = errno;
        return absl::InternalError(
            absl::StrCat("cannot examine ", path, ": ", ErrnoText(err)));
      }
      if (mkdir(path.c_str(), 0700) != 0) {
        const int err = errno;
        return absl::FailedPreconditionError(absl::StrCat(
            "cannot create data directory ", path, ": ", ErrnoText(err)));
      }
      created_dir_ = true;
    } else {
      if (!S_ISDIR(st.st_mode)) {
        return absl::AlreadyExistsError(
            absl::StrCat(path, " exists and is not a directory"));
      }
      absl::StatusOr<bool> empty = IsEmptyDirectory(path);
      if (!empty.ok()) return empty.status();
      if (!*empty) {
        return absl::AlreadyExistsError(
            absl::StrCat("data directory ", path,
                         " is not empty; give a new or empty directory"));
      }
      old_mode_ = st.st_mode & 07777;
      took_over_dir_ = true;
    }
    // mkdir's mode is filtered by the umask; make it exact.
    if (chmod(path.c_str(), 0700) != 0) {
      const int err = errno;
      return absl::InternalError(
          absl::StrCat("cannot set mode 0700 on ", path, ": ", ErrnoText(err)));
    }
    return absl::OkStatus();
  }

  std::string File(absl::string_view name) {
    std::string file = absl::StrCat(path_, "/", name);
    created_files_.push_back(file);
    return file;
  }

  // Writes a new file `name` with exactly `mode`, and fsyncs it.
  absl::Status WriteFile(absl::string_view name, absl::Span<const uint8_t> data,
                         mode_t mode) {
    const std::string file = File(name);
    const int fd =
        open(file.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC,
             0600);
    if (fd < 0) {
      const int err = errno;
      created_files_.pop_back();  // not ours: leave it alone
      return absl::InternalError(
          absl::StrCat("cannot create ", file, ": ", ErrnoText(err)));
    }
    size_t done = 0;
    int err = 0;
    while (done < data.size() && err == 0) {
      const ssize_t n = write(fd, data.data() + done, data.size() - done);
      if (n < 0) {
        if (errno != EINTR) err = errno;
      } else {
        done += static_cast<size_t>(n);
      }
    }
    if (err == 0 && fchmod(fd, mode) != 0) err = errno;
    if (err == 0 && fsync(fd) != 0) err = errno;
    if (close(fd) != 0 && err == 0) err = errno;
    if (err != 0) {
      return absl::InternalError(
          absl::StrCat("cannot write ", file, ": ", ErrnoText(err)));
    }
    return absl::OkStatus();
  }

  // Makes the directory's entries durable and keeps everything.
  absl::Status Commit() {
    if (absl::Status s = SyncDirectory(path_); !s.ok()) return s;
    if (created_dir_) {
      const size_t slash = path_.find_last_of('/');
      const std::string parent = slash == std::string::npos ? "."
                                 : slash == 0               ? "/"
                                              : path_.substr(0, slash);
      if (absl::Status s = SyncDirectory(parent); !s.ok()) return s;
    }
    committed_ = true;
    return absl::OkStatus();
  }

 private:
  static absl::StatusOr<bool> IsEmptyDirectory(const std::string& path) {
    DIR* dir = opendir(path.c_str());
    if (dir == nullptr) {
      const int err = errno;
      return absl::FailedPreconditionError(
          absl::StrCat("cannot read directory ", path, ": ", ErrnoText(err)));
    }
    bool empty = true;
    while (const dirent* entry = readdir(dir)) {
      const absl::string_view name = entry->d_name;
      if (name != "." && name != "..") {
        empty = false;
        break;
      }
    }
    closedir(dir);
    return empty;
  }

  static absl::Status SyncDirectory(const std::string& path) {
    const int fd = open(path.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    int err = fd < 0 ? errno : 0;
    if (fd >= 0) {
      if (fsync(fd) != 0) err = errno;
      close(fd);
    }
    if (err != 0) {
      return absl::InternalError(
          absl::StrCat("cannot sync directory ", path, ": ", ErrnoText(err)));
    }
    return absl::OkStatus();
  }

  void RollBack() {
    for (const std::string& file : created_files_) unlink(file.c_str());
    if (created_dir_) {
      rmdir(path_.c_str());
    } else if (took_over_dir_) {
      chmod(path_.c_str(), old_mode_);
    }
  }

  std::string path_;
  bool created_dir_ = false;
  bool took_over_dir_ = false;
  mode_t old_mode_ = 0;
  std::vector<std::string> created_files_;
  bool committed_ = false;
};

std::string FormatReport(const TvaultdInitArgs& args, const TlsKeyPin& pin,
                         const std::string& verifier_key,
                         const std::string& bundle_base64) {
  crypto::Fingerprint short_pin;
  std::copy(pin.begin(), pin.begin() + short_pin.size(), short_pin.begin());
  std::string addresses;
  for (const std::string& a : args.addresses) {
    absl::StrAppend(&addresses, "  ", a, "\n");
  }
  return absl::StrCat(
      "Created the vault data directory ", args.data_dir,
      " (the database key stays in ", args.db_key_file, ").\n",
      "TLS key pin (SHA-256 of the public key): ",
      absl::BytesToHexString(crypto::AsString(pin)), "\n",
      "TLS key fingerprint: ", crypto::FormatFingerprint(short_pin), "\n",
      "Log origin: ", args.origin, "\n", "Log verifier key: ", verifier_key,
      "\n", "Addresses, in this order:\n", addresses,
      "Next: send the unsigned server bundle below to the administrator, "
      "who checks the lines above with you out of band and signs it with "
      "the organisation root: tvault org sign-bundle BUNDLE\n",
      "Unsigned server bundle:\n", bundle_base64, "\n");
}

}  // namespace

absl::StatusOr<std::string> RunTvaultdInit(const TvaultdInitArgs& args,
                                           int64_t now_unix) {
  crypto::EnsureSodiumInitialized();
  if (args.data_dir.empty()) {
    return absl::InvalidArgumentError("--data-dir must not be empty");
  }

  // Everything is checked and made in memory before DIR is touched.
  absl::StatusOr<crypto::SignPublicKey> org_key =
      ParseOrgKeyHex(args.org_key_hex);
  if (!org_key.ok()) return org_key.status();
  absl::StatusOr<SecretBytes> db_key = ReadDbKeyFile(args.db_key_file);
  if (!db_key.ok()) return db_key.status();

  absl::StatusOr<crypto::NoteSigner> log_signer =
      crypto::NoteSigner::Generate(args.origin);
  if (!log_signer.ok()) {
    return absl::InvalidArgumentError(absl::StrCat(
        "--origin must be a log origin: non-empty, without spaces, '+' or "
        "control characters (for example vault.example.org/log); got \"",
        absl::CHexEscape(args.origin), "\""));
  }
  const std::string verifier_key = log_signer->verifier().Encode();

  absl::StatusOr<TlsIdentity> tls = GenerateTlsIdentity(now_unix);
  if (!tls.ok()) return tls.status();

  tvault::v1::ServerBundle bundle;
  bundle.set_version(1);
  for (const std::string& a : args.addresses) bundle.add_addresses(a);
  bundle.set_tls_pin(tls->key_pin.data(), tls->key_pin.size());
  bundle.set_log_origin(args.origin);
  bundle.set_log_verifier_key(verifier_key);
  bundle.set_issued_at(now_unix);
  if (absl::Status s = crypto::CheckServerBundleBody(bundle); !s.ok()) {
    return absl::InvalidArgumentError(
        absl::StrCat("cannot make the server bundle: ", s.message(),
                     " (check --address and --origin)"));
  }
  const std::string bundle_base64 = crypto::Base64Encode(
      crypto::AsBytes(crypto::SerializeDeterministic(bundle)),
      crypto::Base64Padding::kPadded);

  DataDirBuilder dir;
  if (absl::Status s = dir.Prepare(args.data_dir); !s.ok()) return s;
  {
    absl::StatusOr<std::unique_ptr<SqlcipherStore>> store =
        SqlcipherStore::Create(dir.File(kVaultDbFileName), *db_key);
    // A failed Create removes its own file; these names are for roll-back
    // of later steps (the WAL files normally vanish when the store closes).
    dir.File(absl::StrCat(kVaultDbFileName, "-wal"));
    dir.File(absl::StrCat(kVaultDbFileName, "-shm"));
    dir.File(absl::StrCat(kVaultDbFileName, "-journal"));
    if (!store.ok()) {
      return absl::Status(store.status().code(),
                          absl::StrCat("cannot create the vault database: ",
                                       store.status().message()));
    }
  }

  SecretBytes signer_key = log_signer->Encode();
  SecretBytes signer_line(signer_key.size() + 1);
  std::memcpy(signer_line.data(), signer_key.data(), signer_key.size());
  signer_line.data()[signer_key.size()] = '\n';
  if (absl::Status s =
          dir.WriteFile(kLogSigningKeyFileName, signer_line.span(), 0600);
      !s.ok()) {
    return s;
  }
  if (absl::Status s =
          dir.WriteFile(kTlsKeyFileName, tls->private_key_pem.span(), 0600);
      !s.ok()) {
    return s;
  }
  if (absl::Status s = dir.WriteFile(
          kTlsCertificateFileName, crypto::AsBytes(tls->certificate_pem), 0644);
      !s.ok()) {
    return s;
  }
  const std::string org_key_line = absl::StrCat(args.org_key_hex, "\n");
  if (absl::Status s =
          dir.WriteFile(kOrgKeyFileName, crypto::AsBytes(org_key_line), 0600);
      !s.ok()) {
    return s;
  }
  if (absl::Status s = dir.Commit(); !s.ok()) return s;
  return FormatReport(args, tls->key_pin, verifier_key, bundle_base64);
}

}  // namespace tvault::vault
