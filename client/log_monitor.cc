#include "client/log_monitor.h"

#include <fcntl.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <ctime>
#include <fstream>
#include <iterator>

#include "absl/strings/escaping.h"
#include "absl/strings/str_cat.h"
#include "client/output_file.h"
#include "client/vault_auth.h"
#include "crypto/statement.h"

namespace tvault::client {
namespace {

constexpr size_t kMaxStoredNoteSize = 16 * 1024;

std::string HexOf(const crypto::Hash& h) {
  return absl::BytesToHexString(crypto::AsString(h));
}

}  // namespace

absl::StatusOr<LogMonitor> LogMonitor::Open(crypto::NoteVerifier verifier,
                                            std::string state_dir) {
  LogMonitor monitor(std::move(verifier), std::move(state_dir));
  if (access(monitor.state_dir_.c_str(), W_OK | X_OK) != 0) {
    return absl::FailedPreconditionError(
        absl::StrCat("the log state directory ", monitor.state_dir_,
                     " does not exist or is not writable"));
  }
  const std::string path =
      absl::StrCat(monitor.state_dir_, "/", kCheckpointFileName);
  if (access(path.c_str(), F_OK) != 0 && errno == ENOENT) return monitor;
  std::ifstream in(path, std::ios::binary);
  if (!in) {
    return absl::InternalError(
        absl::StrCat("cannot read ", path, ": ", std::strerror(errno)));
  }
  std::string note(kMaxStoredNoteSize + 1, '\0');
  in.read(note.data(), static_cast<std::streamsize>(note.size()));
  note.resize(static_cast<size_t>(in.gcount()));
  absl::StatusOr<VerifiedCheckpoint> stored = monitor.Open(note);
  if (!stored.ok() || note.size() > kMaxStoredNoteSize) {
    return absl::DataLossError(absl::StrCat(
        "the last checkpoint this device verified (", path,
        ") does not verify under this vault's log key: the state belongs "
        "to another vault or was altered. Keep it as evidence and ask your "
        "organisation before going on"));
  }
  monitor.latest_ = std::move(*stored);
  return monitor;
}

absl::StatusOr<VerifiedCheckpoint> LogMonitor::Open(
    absl::string_view note) const {
  if (note.size() > kMaxStoredNoteSize) {
    return absl::InvalidArgumentError(absl::StrCat(
        "the vault's checkpoint is larger than ", kMaxStoredNoteSize,
        " bytes; a checkpoint is a few hundred"));
  }
  const crypto::NoteVerifier verifiers[] = {verifier_};
  absl::StatusOr<crypto::OpenedNote> opened = crypto::OpenNote(note, verifiers);
  if (!opened.ok()) {
    if (absl::IsInvalidArgument(opened.status())) {
      return absl::InvalidArgumentError(absl::StrCat(
          "the vault's checkpoint is malformed: ", opened.status().message()));
    }
    return absl::PermissionDeniedError(
        "the vault's checkpoint is not signed by the log key of the server "
        "bundle: this is not your organisation's vault, or its log key was "
        "replaced");
  }
  absl::StatusOr<crypto::Checkpoint> checkpoint =
      crypto::ParseCheckpoint(opened->text);
  if (!checkpoint.ok()) {
    return absl::InvalidArgumentError(
        absl::StrCat("the vault's checkpoint is malformed: ",
                     checkpoint.status().message()));
  }
  if (checkpoint->origin != verifier_.name()) {
    return absl::PermissionDeniedError(
        "the vault's checkpoint names another log than its key");
  }
  if (checkpoint->tree_size == 0 &&
      checkpoint->root_hash != crypto::EmptyTreeRootHash()) {
    return absl::InvalidArgumentError(
        "the vault's checkpoint of the empty log has a root that is not the "
        "empty tree's");
  }
  return VerifiedCheckpoint{std::move(*checkpoint), std::string(note)};
}

absl::Status LogMonitor::CheckExtends(const VerifiedCheckpoint& older,
                                      const VerifiedCheckpoint& newer,
                                      const ConsistencyFetcher& fetch,
                                      bool seen_older_first) {
  const uint64_t old_size = older.checkpoint.tree_size;
  const uint64_t new_size = newer.checkpoint.tree_size;
  std::vector<crypto::Hash> proof;
  absl::Status verified;
  if (old_size == new_size) {
    verified = older.checkpoint.root_hash == newer.checkpoint.root_hash
                   ? absl::OkStatus()
                   : absl::DataLossError("equal sizes, different roots");
  } else if (old_size == 0) {
    verified = absl::OkStatus();  // every tree extends the empty one
  } else {
    absl::StatusOr<std::vector<crypto::Hash>> fetched =
        fetch(old_size, new_size);
    if (!fetched.ok()) return fetched.status();
    proof = std::move(*fetched);
    verified = crypto::VerifyConsistencyProof(
        old_size, new_size, older.checkpoint.root_hash,
        newer.checkpoint.root_hash, proof);
  }
  if (verified.ok()) return absl::OkStatus();
  return seen_older_first ? Evidence("FORK", older, newer, proof)
                          : Evidence("FORK", newer, older, proof);
}

absl::StatusOr<VerifiedCheckpoint> LogMonitor::Advance(
    absl::string_view note, const ConsistencyFetcher& fetch) {
  absl::StatusOr<VerifiedCheckpoint> next = Open(note);
  if (!next.ok()) return next.status();
  if (latest_) {
    if (next->checkpoint.tree_size < latest_->checkpoint.tree_size) {
      return Evidence("ROLLBACK", *latest_, *next, {});
    }
    if (absl::Status s = CheckExtends(*latest_, *next, fetch,
                                      /*seen_older_first=*/true);
        !s.ok()) {
      return s;
    }
    if (next->checkpoint.tree_size == latest_->checkpoint.tree_size) {
      return *latest_;
    }
  }
  if (absl::Status s = Store(*next); !s.ok()) return s;
  latest_ = *next;
  return next;
}

absl::StatusOr<tvault::v1::LogEntry> LogMonitor::CheckReceipt(
    const tvault::v1::Receipt& receipt, const ConsistencyFetcher& fetch) {
  absl::StatusOr<VerifiedCheckpoint> signed_tree = Open(receipt.checkpoint());
  if (!signed_tree.ok()) return signed_tree.status();
  std::vector<crypto::Hash> proof;
  for (const std::string& h : receipt.inclusion()) {
    absl::StatusOr<crypto::Hash> hash =
        crypto::HashFromBytes(crypto::AsBytes(h));
    if (!hash.ok()) {
      return absl::InvalidArgumentError(
          "the receipt's inclusion proof holds a hash that is not 32 bytes");
    }
    proof.push_back(*hash);
  }
  if (absl::Status s = CheckInclusion(signed_tree->checkpoint, receipt.index(),
                                      receipt.entry(), proof);
      !s.ok()) {
    return s;
  }
  if (latest_ &&
      signed_tree->checkpoint.tree_size < latest_->checkpoint.tree_size) {
    if (absl::Status s = CheckExtends(*signed_tree, *latest_, fetch,
                                      /*seen_older_first=*/false);
        !s.ok()) {
      return s;
    }
  } else if (absl::StatusOr<VerifiedCheckpoint> advanced =
                 Advance(receipt.checkpoint(), fetch);
             !advanced.ok()) {
    return advanced.status();
  }
  tvault::v1::LogEntry entry;
  if (absl::Status s = crypto::ParseStrictly(receipt.entry(), entry); !s.ok()) {
    return absl::InvalidArgumentError(
        absl::StrCat("the receipt's log entry is malformed: ", s.message()));
  }
  if (entry.version() != 1 ||
      entry.event_case() == tvault::v1::LogEntry::EVENT_NOT_SET) {
    return absl::InvalidArgumentError(
        "the receipt's log entry has an unknown version or no event");
  }
  return entry;
}

absl::Status LogMonitor::CheckInclusion(
    const crypto::Checkpoint& checkpoint, uint64_t index,
    absl::string_view entry, const std::vector<crypto::Hash>& proof) {
  absl::Status s = crypto::VerifyInclusionProof(
      index, checkpoint.tree_size, crypto::LeafHash(crypto::AsBytes(entry)),
      proof, checkpoint.root_hash);
  if (s.ok()) return s;
  return absl::DataLossError(
      absl::StrCat("the vault's proof does not show log entry ", index,
                   " in the tree it signed (", s.message(),
                   "): the entry or the log was altered"));
}

absl::Status LogMonitor::Evidence(absl::string_view what,
                                  const VerifiedCheckpoint& first,
                                  const VerifiedCheckpoint& second,
                                  const std::vector<crypto::Hash>& proof) {
  std::string text = absl::StrCat(
      "Testimony Vault: evidence of a ", what,
      " of the transparency log.\nThe vault signed both checkpoints below; "
      "they cannot both be true.\n\n--- checkpoint seen first (tree size ",
      first.checkpoint.tree_size, ")\n", first.note,
      "\n--- checkpoint seen later (tree size ", second.checkpoint.tree_size,
      ")\n", second.note, "\n");
  if (!proof.empty()) {
    absl::StrAppend(&text, "--- consistency proof the vault gave\n");
    for (const crypto::Hash& h : proof) absl::StrAppend(&text, HexOf(h), "\n");
  }
  std::string path;
  for (int n = 0; n < 1000 && !state_dir_.empty(); ++n) {
    path =
        absl::StrCat(state_dir_, "/evidence-",
                     static_cast<int64_t>(std::time(nullptr)), "-", n, ".txt");
    absl::StatusOr<std::unique_ptr<AtomicOutputFile>> out =
        AtomicOutputFile::Create(path, /*allow_overwrite=*/false);
    if (absl::IsAlreadyExists(out.status())) continue;
    if (out.ok()) {
      absl::Status written = (*out)->Write(crypto::AsBytes(text));
      if (written.ok()) written = (*out)->Commit();
      if (written.ok()) break;
    }
    path.clear();
    break;
  }
  const std::string kept =
      path.empty() ? "they could not be saved: copy this message"
                   : absl::StrCat("both signed checkpoints are kept in ", path);
  const std::string summary =
      what == "ROLLBACK"
          ? absl::StrCat(
                "the vault now shows a log of ", second.checkpoint.tree_size,
                " entries, fewer than the ", first.checkpoint.tree_size,
                " it showed this device before")
          : absl::StrCat("the vault's log of ", second.checkpoint.tree_size,
                         " entries contradicts the one of ",
                         first.checkpoint.tree_size,
                         " it showed this device before");
  return absl::DataLossError(absl::StrCat(
      what, ": ", summary,
      ". The vault's history was rewritten (a seized or restored server). "
      "Do not upload or trust anything from it; ",
      kept, ", and tell your organisation"));
}

absl::Status LogMonitor::Store(const VerifiedCheckpoint& checkpoint) {
  if (state_dir_.empty()) return absl::OkStatus();  // InMemory
  const std::string path = absl::StrCat(state_dir_, "/", kCheckpointFileName);
  absl::StatusOr<std::unique_ptr<AtomicOutputFile>> out =
      AtomicOutputFile::Create(path, /*allow_overwrite=*/true);
  absl::Status s = out.status();
  if (s.ok()) s = (*out)->Write(crypto::AsBytes(checkpoint.note));
  if (s.ok()) s = (*out)->Commit();
  if (!s.ok()) {
    return absl::InternalError(absl::StrCat(
        "cannot save the vault's checkpoint in ", path, ": ", s.message()));
  }
  return absl::OkStatus();
}

ConsistencyFetcher VaultConsistencyFetcher(
    tvault::v1::Vault::StubInterface& stub, std::string token) {
  return [&stub, token = std::move(token)](
             uint64_t old_size,
             uint64_t new_size) -> absl::StatusOr<std::vector<crypto::Hash>> {
    tvault::v1::GetConsistencyProofRequest request;
    request.set_old_size(old_size);
    request.set_new_size(new_size);
    tvault::v1::Proof proof;
    grpc::ClientContext context;
    AuthorizeCall(context, token);
    grpc::Status s = stub.GetConsistencyProof(&context, request, &proof);
    if (!s.ok()) return FromGrpcStatus(s);
    std::vector<crypto::Hash> out;
    for (const std::string& h : proof.hashes()) {
      absl::StatusOr<crypto::Hash> hash =
          crypto::HashFromBytes(crypto::AsBytes(h));
      if (!hash.ok()) {
        return absl::DataLossError(
            "the vault's consistency proof holds a hash that is not 32 bytes");
      }
      out.push_back(*hash);
    }
    return out;
  };
}

absl::StatusOr<VerifiedCheckpoint> CheckVaultLog(
    tvault::v1::Vault::StubInterface& stub, const std::string& token,
    LogMonitor& monitor) {
  tvault::v1::SignedCheckpoint checkpoint;
  grpc::ClientContext context;
  AuthorizeCall(context, token);
  grpc::Status s = stub.GetCheckpoint(&context, {}, &checkpoint);
  if (!s.ok()) return FromGrpcStatus(s);
  return monitor.Advance(checkpoint.checkpoint(),
                         VaultConsistencyFetcher(stub, token));
}

}  // namespace tvault::client
