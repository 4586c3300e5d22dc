#include "vault/transparency_log.h"

#include <fcntl.h>
#include <unistd.h>

#include <cerrno>
#include <cstdio>
#include <cstring>
#include <utility>

#include "absl/strings/str_cat.h"
#include "crypto/checkpoint.h"
#include "crypto/statement.h"
#include "vault/data_dir.h"
#include "vault/log_tree.h"

namespace tvault::vault {
namespace {

// The mirror is one signed note, a few hundred bytes.
constexpr size_t kMaxMirrorSize = 16 * 1024;

std::string ErrnoText(int err) { return std::strerror(err); }

// NotFound if there is no file.
absl::StatusOr<std::string> ReadMirror(const std::string& path) {
  const int fd = open(path.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) {
    const int err = errno;
    if (err == ENOENT) return absl::NotFoundError("no checkpoint copy yet");
    return absl::InternalError(absl::StrCat("cannot read the checkpoint copy ",
                                            path, ": ", ErrnoText(err)));
  }
  std::string out(kMaxMirrorSize + 1, '\0');
  size_t size = 0;
  while (size < out.size()) {
    const ssize_t n = read(fd, out.data() + size, out.size() - size);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) break;
    size += static_cast<size_t>(n);
  }
  close(fd);
  out.resize(size);
  return out;
}

}  // namespace

TransparencyLog::TransparencyLog(crypto::NoteSigner signer,
                                 std::string mirror_path)
    : signer_(std::move(signer)), mirror_path_(std::move(mirror_path)) {}

absl::StatusOr<AppendedEntry> TransparencyLog::Append(
    StoreTransaction& txn, tvault::v1::LogEntry entry) const {
  entry.set_version(kLogEntryVersion);
  AppendedEntry out{.bytes = crypto::SerializeDeterministic(entry)};
  absl::StatusOr<uint64_t> index = AppendToLogTree(txn, out.bytes);
  if (!index.ok()) return index.status();
  out.index = *index;
  return out;
}

absl::Status TransparencyLog::LoadMirror() {
  mirror_loaded_ = true;
  mirrored_size_ = 0;
  if (mirror_path_.empty()) return absl::OkStatus();
  absl::StatusOr<std::string> note = ReadMirror(mirror_path_);
  if (absl::IsNotFound(note.status())) return absl::OkStatus();
  if (!note.ok()) {
    mirror_loaded_ = false;
    return note.status();
  }
  const crypto::NoteVerifier verifiers[] = {verifier()};
  absl::StatusOr<crypto::OpenedNote> opened =
      note->size() > kMaxMirrorSize ? absl::InvalidArgumentError("too large")
                                    : crypto::OpenNote(*note, verifiers);
  absl::StatusOr<crypto::Checkpoint> mirrored =
      opened.ok() ? crypto::ParseCheckpoint(opened->text)
                  : absl::StatusOr<crypto::Checkpoint>(opened.status());
  if (!mirrored.ok() || mirrored->origin != origin()) {
    mirror_loaded_ = false;
    return absl::DataLossError(absl::StrCat(
        "the checkpoint copy ", mirror_path_,
        " is not a checkpoint signed by this vault's log key; check the "
        "configured checkpoint_copy path"));
  }
  mirrored_size_ = mirrored->tree_size;
  mirrored_root_ = mirrored->root_hash;
  return absl::OkStatus();
}

absl::Status TransparencyLog::CheckTreeAgainstMirror(StoreTransaction& txn) {
  if (!mirror_loaded_) {
    if (absl::Status s = LoadMirror(); !s.ok()) return s;
  }
  if (mirrored_size_ == 0) return absl::OkStatus();
  absl::StatusOr<uint64_t> size = txn.LogSize();
  if (!size.ok()) return size.status();
  if (*size < mirrored_size_) {
    return absl::FailedPreconditionError(absl::StrCat(
        "ROLLBACK: the database's log has ", *size,
        " entries but this vault already published a checkpoint of ",
        mirrored_size_, " (kept in ", mirror_path_,
        "). The database was replaced by an older copy, and serving it "
        "would show clients a history that contradicts what they saw. "
        "Refusing to sign: restore the latest database, or, if the loss "
        "is accepted, tell every member before moving the copy aside"));
  }
  absl::StatusOr<crypto::Hash> root = LogTreeRoot(txn, mirrored_size_);
  if (!root.ok()) return root.status();
  if (*root != mirrored_root_) {
    return absl::FailedPreconditionError(absl::StrCat(
        "FORK: the database's log at size ", mirrored_size_,
        " differs from the checkpoint this vault published (kept in ",
        mirror_path_,
        "). Refusing to sign: the database was replaced or altered"));
  }
  return absl::OkStatus();
}

absl::StatusOr<CheckpointRow> TransparencyLog::SignCheckpoint(
    StoreTransaction& txn) {
  absl::StatusOr<uint64_t> size = txn.LogSize();
  if (!size.ok()) return size.status();
  {
    MutexLock lock(mu_);
    if (absl::Status s = CheckTreeAgainstMirror(txn); !s.ok()) return s;
  }
  absl::StatusOr<CheckpointRow> latest = txn.ReadLatestCheckpoint();
  if (latest.ok() && latest->tree_size == *size) return latest;
  if (!latest.ok() && !absl::IsNotFound(latest.status())) return latest;
  if (latest.ok() && latest->tree_size > *size) {
    return absl::FailedPreconditionError(
        "refusing to sign: the log is shorter than its own latest "
        "checkpoint; the database is damaged");
  }
  absl::StatusOr<crypto::Hash> root = LogTreeRoot(txn, *size);
  if (!root.ok()) return root.status();
  crypto::Checkpoint checkpoint;
  checkpoint.origin = origin();
  checkpoint.tree_size = *size;
  checkpoint.root_hash = *root;
  absl::StatusOr<std::string> text = crypto::FormatCheckpoint(checkpoint);
  if (!text.ok()) return text.status();
  absl::StatusOr<std::string> note = crypto::SignNote(*text, signer_);
  if (!note.ok()) return note.status();
  CheckpointRow row{*size, std::move(*note)};
  if (absl::Status s = txn.WriteLatestCheckpoint(row); !s.ok()) return s;
  return row;
}

absl::Status TransparencyLog::MirrorCheckpoint(const CheckpointRow& row) {
  if (mirror_path_.empty()) return absl::OkStatus();
  {
    MutexLock lock(mu_);
    if (mirror_loaded_ && row.tree_size <= mirrored_size_) {
      return absl::OkStatus();
    }
  }
  const crypto::NoteVerifier verifiers[] = {verifier()};
  absl::StatusOr<crypto::OpenedNote> opened =
      crypto::OpenNote(row.note, verifiers);
  absl::StatusOr<crypto::Checkpoint> checkpoint =
      opened.ok() ? crypto::ParseCheckpoint(opened->text)
                  : absl::StatusOr<crypto::Checkpoint>(opened.status());
  if (!checkpoint.ok() || checkpoint->tree_size != row.tree_size) {
    return absl::InternalError("the checkpoint to mirror does not verify");
  }
  {
    MutexLock lock(mu_);
    if (!newest_ || checkpoint->tree_size > newest_->tree_size) {
      newest_ = Pending{checkpoint->tree_size, checkpoint->root_hash, row.note};
    }
  }
  MutexLock write(write_mu_);
  Pending copy;
  {
    MutexLock lock(mu_);
    if (!mirror_loaded_) {
      if (absl::Status s = LoadMirror(); !s.ok()) return s;
    }
    if (row.tree_size <= mirrored_size_) return absl::OkStatus();
    // The newest checkpoint handed in so far (at least `row`): one write
    // then covers every caller that waited for the one before.
    copy = *newest_;
  }
  // Without mu_: SignCheckpoint meanwhile checks against the smaller tree
  // mirrored before, which the tree it signs extends.
  if (absl::Status s =
          ReplaceFileDurably(mirror_path_, copy.note, "checkpoint copy");
      !s.ok()) {
    return s;
  }
  MutexLock lock(mu_);
  if (copy.tree_size > mirrored_size_) {
    mirrored_size_ = copy.tree_size;
    mirrored_root_ = copy.root_hash;
  }
  return absl::OkStatus();
}

bool TransparencyLog::MirrorCovers(uint64_t tree_size) {
  if (mirror_path_.empty()) return true;
  MutexLock lock(mu_);
  if (!mirror_loaded_ && !LoadMirror().ok()) return false;
  return tree_size <= mirrored_size_;
}

absl::Status TransparencyLog::CheckAgainstMirror(Store& store) {
  {
    MutexLock write(write_mu_);
    MutexLock lock(mu_);
    if (absl::Status s = LoadMirror(); !s.ok()) return s;
  }
  // mu_ is taken inside the transaction, as SignCheckpoint takes it (the
  // store's lock first), so that the two never wait on each other.
  return store.RunInTransaction([&](StoreTransaction& txn) {
    MutexLock lock(mu_);
    return CheckTreeAgainstMirror(txn);
  });
}

}  // namespace tvault::vault
