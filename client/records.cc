#include "client/records.h"

#include <fcntl.h>
#include <sodium.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <chrono>
#include <cstring>
#include <map>
#include <thread>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/time/time.h"
#include "client/output_file.h"
#include "crypto/io.h"

namespace tvault::client {
namespace {

constexpr char kOutboxDir[] = "outbox";
constexpr char kReceiptsDir[] = "receipts";
constexpr uint64_t kProgressStep = uint64_t{4} << 20;
constexpr int kUploadAttempts = 3;

void Report(const Progress& progress, absl::string_view phase, uint64_t done,
            uint64_t total, uint64_t& last) {
  if (!progress) return;
  if (done == total || done >= last + kProgressStep) {
    last = done;
    progress(phase, done, total);
  }
}

// Reads a regular file from its start with pread, so a second pass needs
// no second open.
class PreadSource final : public crypto::ByteSource {
 public:
  explicit PreadSource(int fd) : fd_(fd) {}
  absl::StatusOr<size_t> Read(absl::Span<uint8_t> out) override {
    for (;;) {
      const ssize_t n =
          ::pread(fd_, out.data(), out.size(), static_cast<off_t>(offset_));
      if (n < 0 && errno == EINTR) continue;
      if (n < 0) {
        return absl::UnavailableError(
            absl::StrCat("cannot read the file: ", std::strerror(errno)));
      }
      offset_ += static_cast<uint64_t>(n);
      return static_cast<size_t>(n);
    }
  }

 private:
  int fd_;
  uint64_t offset_ = 0;
};

// The submitted file: a regular file (read in place, any size) or standard
// input (read into protected memory, bounded).
class Plaintext {
 public:
  static absl::StatusOr<Plaintext> Open(const PlaintextInput& input) {
    Plaintext p;
    if (input.path == "-") {
      p.name_ = "";
      p.memory_ = crypto::SecretBytes(kMaxStdinBytes);
      size_t used = 0;
      crypto::FdSource in(STDIN_FILENO);
      for (;;) {
        if (used == p.memory_.size()) {
          uint8_t extra;
          absl::StatusOr<size_t> n = in.Read(absl::MakeSpan(&extra, 1));
          if (!n.ok()) return n.status();
          if (*n == 0) break;
          return absl::InvalidArgumentError(absl::StrCat(
              "standard input is larger than ", kMaxStdinBytes >> 20,
              " MiB; save it to a file and submit the file instead"));
        }
        absl::StatusOr<size_t> n = in.Read(p.memory_.span().subspan(used));
        if (!n.ok()) return n.status();
        if (*n == 0) break;
        used += *n;
      }
      p.memory_.Truncate(used);
      p.size_ = used;
      return p;
    }
    p.fd_ = ::open(input.path.c_str(), O_RDONLY | O_CLOEXEC);
    if (p.fd_ < 0) {
      return absl::NotFoundError(
          absl::StrCat("cannot open ", input.path, ": ", std::strerror(errno)));
    }
    struct stat st {};
    if (::fstat(p.fd_, &st) != 0 || !S_ISREG(st.st_mode)) {
      return absl::InvalidArgumentError(
          absl::StrCat(input.path,
                       " is not a regular file; give a file, or - for "
                       "standard input"));
    }
    p.size_ = static_cast<uint64_t>(st.st_size);
    const size_t slash = input.path.rfind('/');
    p.name_ =
        slash == std::string::npos ? input.path : input.path.substr(slash + 1);
    return p;
  }
  Plaintext() = default;
  Plaintext(Plaintext&& o) noexcept
      : fd_(std::exchange(o.fd_, -1)),
        size_(o.size_),
        name_(std::move(o.name_)),
        memory_(std::move(o.memory_)) {}
  Plaintext& operator=(Plaintext&&) = delete;
  ~Plaintext() {
    if (fd_ >= 0) ::close(fd_);
  }

  uint64_t size() const { return size_; }
  const std::string& name() const { return name_; }
  std::unique_ptr<crypto::ByteSource> Source() const {
    if (fd_ >= 0) return std::make_unique<PreadSource>(fd_);
    return std::make_unique<crypto::MemorySource>(memory_.span());
  }

 private:
  int fd_ = -1;
  uint64_t size_ = 0;
  std::string name_;
  crypto::SecretBytes memory_;
};

std::string MediaTypeFor(absl::string_view name) {
  const std::pair<const char*, const char*> kTypes[] = {
      {".txt", "text/plain; charset=utf-8"},
      {".md", "text/markdown"},
      {".pdf", "application/pdf"},
      {".jpg", "image/jpeg"},
      {".jpeg", "image/jpeg"},
      {".png", "image/png"},
      {".mp3", "audio/mpeg"},
      {".m4a", "audio/mp4"},
      {".ogg", "audio/ogg"},
      {".opus", "audio/ogg"},
      {".mp4", "video/mp4"},
      {".webm", "video/webm"},
      {".doc", "application/msword"},
      {".docx",
       "application/vnd.openxmlformats-officedocument.wordprocessingml."
       "document"},
  };
  for (const auto& [ext, type] : kTypes) {
    if (absl::EndsWithIgnoreCase(name, ext)) return type;
  }
  return "application/octet-stream";
}

std::string NowRfc3339() {
  return absl::FormatTime("%Y-%m-%dT%H:%M:%SZ", absl::Now(),
                          absl::UTCTimeZone());
}

tvault::v1::RecordMetadata BuildMetadata(
    const Destination& to, const std::string& record_id, const RecordDetails& d,
    const Plaintext& plaintext, const crypto::SigningKey& signer,
    const tvault::v1::SignedStatement* certificate) {
  tvault::v1::RecordMetadata meta;
  meta.set_record_id(Hex(record_id));
  meta.set_case_id(Hex(to.case_id));
  meta.set_epoch(to.epoch);
  meta.set_kind(d.kind);
  meta.set_title(d.title);
  meta.set_description(d.description);
  meta.set_language(d.language);
  meta.set_event_date(d.event_date);
  meta.set_created_at(NowRfc3339());
  meta.set_media_type(MediaTypeFor(plaintext.name()));
  meta.set_file_name(plaintext.name());
  meta.mutable_submitter()->set_sign_pk(Hex(signer.public_key()));
  if (certificate != nullptr) {
    *meta.mutable_submitter()->mutable_certificate() = *certificate;
  }
  meta.mutable_submitter()->set_relation(d.relation);
  return meta;
}

// SHA-256 and length of what passes through.
class HashingSink final : public crypto::ByteSink {
 public:
  explicit HashingSink(crypto::ByteSink* inner) : inner_(inner) {
    crypto_hash_sha256_init(&state_);
  }
  absl::Status Write(absl::Span<const uint8_t> data) override {
    crypto_hash_sha256_update(&state_, data.data(), data.size());
    size_ += data.size();
    return inner_ != nullptr ? inner_->Write(data) : absl::OkStatus();
  }
  crypto::Sha256 Final() {
    crypto::Sha256 out{};
    crypto_hash_sha256_final(&state_, out.data());
    return out;
  }
  uint64_t size() const { return size_; }

 private:
  crypto::ByteSink* inner_;
  crypto_hash_sha256_state state_;
  uint64_t size_ = 0;
};

// Writes the record for `plaintext` into `out`.
absl::Status WriteRecord(const crypto::AgePreparedHeader& header,
                         const tvault::v1::RecordMetadata& meta,
                         const Plaintext& plaintext,
                         const crypto::SigningKey& signer,
                         crypto::ByteSink& out, const Progress& progress,
                         absl::string_view phase) {
  absl::StatusOr<std::unique_ptr<crypto::RecordWriter>> writer =
      crypto::RecordWriter::Create(header, meta, plaintext.size(), signer, out);
  if (!writer.ok()) return writer.status();
  std::unique_ptr<crypto::ByteSource> source = plaintext.Source();
  std::vector<uint8_t> buf(size_t{1} << 20);
  uint64_t done = 0, last = 0;
  while (done < plaintext.size()) {
    const size_t want = static_cast<size_t>(
        std::min<uint64_t>(buf.size(), plaintext.size() - done));
    absl::StatusOr<size_t> n =
        crypto::ReadFull(*source, absl::MakeSpan(buf.data(), want));
    if (!n.ok()) return n.status();
    if (*n != want) {
      return absl::FailedPreconditionError(
          "the file became shorter while it was being read; submit it again "
          "once nothing is writing to it");
    }
    if (absl::Status s = (*writer)->Write(absl::MakeSpan(buf.data(), *n));
        !s.ok()) {
      return s;
    }
    done += *n;
    Report(progress, phase, done, plaintext.size(), last);
  }
  sodium_memzero(buf.data(), buf.size());
  Report(progress, phase, done, plaintext.size(), last);
  return (*writer)->Finish();
}

// Sends an age file to the vault in messages of at most 1 MiB, skipping
// what the vault already holds.
class UploadSink final : public crypto::ByteSink {
 public:
  UploadSink(grpc::ClientWriter<tvault::v1::UploadRequest>& writer,
             uint64_t skip, uint64_t total, const Progress& progress)
      : writer_(writer), skip_(skip), total_(total), progress_(progress) {
    buffer_.reserve(kUploadMessageBytes);
  }
  absl::Status Write(absl::Span<const uint8_t> data) override {
    const size_t skipped =
        static_cast<size_t>(std::min<uint64_t>(skip_, data.size()));
    skip_ -= skipped;
    sent_ += skipped;
    data.remove_prefix(skipped);
    while (!data.empty()) {
      const size_t n =
          std::min(data.size(), kUploadMessageBytes - buffer_.size());
      buffer_.append(reinterpret_cast<const char*>(data.data()), n);
      data.remove_prefix(n);
      if (buffer_.size() == kUploadMessageBytes) {
        if (absl::Status s = Flush(); !s.ok()) return s;
      }
    }
    return absl::OkStatus();
  }
  absl::Status Flush() {
    if (buffer_.empty()) return absl::OkStatus();
    tvault::v1::UploadRequest message;
    message.set_data(std::move(buffer_));
    buffer_.clear();
    buffer_.reserve(kUploadMessageBytes);
    if (!writer_.Write(message)) {
      return absl::UnavailableError("the upload stream broke");
    }
    sent_ += message.data().size();
    Report(progress_, "sending", sent_, total_, last_);
    return absl::OkStatus();
  }

 private:
  grpc::ClientWriter<tvault::v1::UploadRequest>& writer_;
  uint64_t skip_;
  uint64_t total_;
  const Progress& progress_;
  std::string buffer_;
  uint64_t sent_ = 0;
  uint64_t last_ = 0;
};

bool Retryable(absl::StatusCode code) {
  return code == absl::StatusCode::kUnavailable ||
         code == absl::StatusCode::kDeadlineExceeded ||
         code == absl::StatusCode::kAborted;
}

// Streams the record `produce` writes, resuming at what the vault holds,
// retrying a broken connection a few times. Returns the verified receipt.
absl::StatusOr<SubmitResult> Upload(
    VaultSession& session, const tvault::v1::UploadStart& start,
    const std::function<absl::Status(crypto::ByteSink&, uint64_t offset)>&
        produce,
    const Progress& progress) {
  absl::Status last_error;
  tvault::v1::Receipt receipt;
  bool done = false;
  for (int attempt = 0; attempt < kUploadAttempts && !done; ++attempt) {
    if (attempt > 0) {
      std::this_thread::sleep_for(std::chrono::seconds(2 * attempt));
    }
    tvault::v1::GetUploadStateRequest state_request;
    state_request.set_case_id(start.case_id());
    state_request.set_record_id(start.record_id());
    tvault::v1::UploadState state;
    if (grpc::Status s = session.stub().GetUploadState(session.Context().get(),
                                                       state_request, &state);
        !s.ok()) {
      last_error = Explain(s, "asking how much of the upload it holds");
      if (Retryable(last_error.code())) continue;
      return last_error;
    }
    if (state.has_receipt()) {
      receipt = state.receipt();
      done = true;
      break;
    }
    const uint64_t offset = std::min(state.held_bytes(), start.total_size());
    if (offset > 0 && progress)
      progress("resuming", offset, start.total_size());
    std::unique_ptr<grpc::ClientContext> context =
        session.Context(absl::InfiniteDuration());
    tvault::v1::UploadResponse response;
    std::unique_ptr<grpc::ClientWriter<tvault::v1::UploadRequest>> writer =
        session.stub().Upload(context.get(), &response);
    tvault::v1::UploadRequest first;
    *first.mutable_start() = start;
    first.mutable_start()->set_offset(offset);
    absl::Status produced;
    if (writer->Write(first)) {
      UploadSink sink(*writer, 0, start.total_size(), progress);
      produced = produce(sink, offset);
      if (produced.ok()) produced = sink.Flush();
    }
    writer->WritesDone();
    grpc::Status finished = writer->Finish();
    if (finished.ok()) {
      receipt = response.receipt();
      done = true;
      break;
    }
    last_error = Explain(finished, "storing the record");
    if (!produced.ok() && !absl::IsUnavailable(produced)) return produced;
    if (!Retryable(last_error.code())) return last_error;
  }
  if (!done) return last_error;
  absl::StatusOr<tvault::v1::LogEntry> entry = session.CheckReceipt(receipt);
  if (!entry.ok()) return entry.status();
  const tvault::v1::RecordAdded& added = entry->record_added();
  if (!entry->has_record_added() || added.record_id() != start.record_id() ||
      added.case_id() != start.case_id() || added.epoch() != start.epoch() ||
      added.ciphertext_sha256() != start.sha256() ||
      added.ciphertext_size() != start.total_size()) {
    return absl::DataLossError(
        "the vault's receipt does not match the record sent: do not rely on "
        "this upload; tell your organisation");
  }
  SubmitResult result;
  result.record_id = start.record_id();
  result.size = start.total_size();
  result.receipt = std::move(receipt);
  result.entry = *std::move(entry);
  return result;
}

std::string OutboxName(absl::string_view record_id, absl::string_view ext) {
  return absl::StrCat(kOutboxDir, "/", Hex(record_id), ext);
}

}  // namespace

absl::StatusOr<tvault::v1::OutboxItem> SealToOutbox(
    const Home& home, const Destination& to, const PlaintextInput& input,
    const RecordDetails& details, const crypto::SigningKey& signer,
    const tvault::v1::SignedStatement* certificate, const Progress& progress) {
  absl::StatusOr<Plaintext> plaintext = Plaintext::Open(input);
  if (!plaintext.ok()) return plaintext.status();
  std::string record_id(16, '\0');
  randombytes_buf(record_id.data(), record_id.size());
  const tvault::v1::RecordMetadata meta =
      BuildMetadata(to, record_id, details, *plaintext, signer, certificate);
  absl::StatusOr<crypto::AgePreparedHeader> header =
      crypto::RecordWriter::PrepareHeader(to.recipient);
  if (!header.ok()) return header.status();
  if (absl::Status s = home.MakeDir(kOutboxDir).status(); !s.ok()) return s;
  absl::StatusOr<std::unique_ptr<AtomicOutputFile>> file =
      AtomicOutputFile::Create(home.Path(OutboxName(record_id, ".age")),
                               /*allow_overwrite=*/false);
  if (!file.ok()) return file.status();
  HashingSink hashing(file->get());
  if (absl::Status s = WriteRecord(*header, meta, *plaintext, signer, hashing,
                                   progress, "encrypting");
      !s.ok()) {
    return s;
  }
  if (absl::Status s = (*file)->Commit(); !s.ok()) return s;
  tvault::v1::OutboxItem item;
  item.set_version(1);
  item.set_case_id(to.case_id);
  item.set_record_id(record_id);
  item.set_epoch(to.epoch);
  item.set_size(hashing.size());
  const crypto::Sha256 sha = hashing.Final();
  item.set_sha256(std::string(crypto::AsString(sha)));
  item.set_file_name(plaintext->name());
  if (absl::Status s = home.WriteMessage(OutboxName(record_id, ".item"), item);
      !s.ok()) {
    (void)home.Remove(OutboxName(record_id, ".age"));
    return s;
  }
  return item;
}

std::vector<tvault::v1::OutboxItem> ListOutbox(const Home& home) {
  std::vector<tvault::v1::OutboxItem> items;
  for (const std::string& name : home.List(kOutboxDir)) {
    if (!absl::EndsWith(name, ".item")) continue;
    tvault::v1::OutboxItem item;
    if (home.ReadMessage(absl::StrCat(kOutboxDir, "/", name), "", item).ok() &&
        home.Exists(OutboxName(item.record_id(), ".age"))) {
      items.push_back(std::move(item));
    }
  }
  return items;
}

absl::StatusOr<SubmitResult> SendOutboxItem(VaultSession& session,
                                            const Home& home,
                                            const tvault::v1::OutboxItem& item,
                                            bool keep_receipt,
                                            const Progress& progress) {
  const std::string path = home.Path(OutboxName(item.record_id(), ".age"));
  tvault::v1::UploadStart start;
  start.set_case_id(item.case_id());
  start.set_record_id(item.record_id());
  start.set_epoch(item.epoch());
  start.set_total_size(item.size());
  start.set_sha256(item.sha256());
  absl::StatusOr<SubmitResult> result = Upload(
      session, start,
      [&](crypto::ByteSink& sink, uint64_t offset) -> absl::Status {
        const int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
        if (fd < 0) {
          return absl::NotFoundError(absl::StrCat(
              "the outbox file ", path, " is gone: ", std::strerror(errno)));
        }
        absl::Status status;
        if (::lseek(fd, static_cast<off_t>(offset), SEEK_SET) < 0) {
          status = absl::InternalError("cannot seek in the outbox file");
        }
        std::vector<uint8_t> buf(kUploadMessageBytes);
        crypto::FdSource in(fd);
        while (status.ok()) {
          absl::StatusOr<size_t> n = crypto::ReadFull(in, absl::MakeSpan(buf));
          if (!n.ok()) status = n.status();
          if (!status.ok() || *n == 0) break;
          status = sink.Write(absl::MakeSpan(buf.data(), *n));
        }
        ::close(fd);
        return status;
      },
      progress);
  if (!result.ok()) return result.status();
  if (keep_receipt) {
    if (absl::Status s = home.WriteMessage(
            absl::StrCat(kReceiptsDir, "/", Hex(item.record_id())),
            result->receipt);
        !s.ok()) {
      return s;
    }
  }
  (void)home.Remove(OutboxName(item.record_id(), ".age"));
  (void)home.Remove(OutboxName(item.record_id(), ".item"));
  (void)home.Remove(OutboxName(item.record_id(), ".invite"));
  return result;
}

absl::Status SaveOutboxInvite(const Home& home, absl::string_view record_id,
                              const crypto::SecretBytes& invite_text) {
  return home.Write(OutboxName(record_id, ".invite"), invite_text.span());
}

absl::StatusOr<crypto::SecretBytes> LoadOutboxInvite(
    const Home& home, absl::string_view record_id) {
  absl::StatusOr<std::vector<uint8_t>> bytes =
      home.Read(OutboxName(record_id, ".invite"), "an account submission");
  if (!bytes.ok()) return bytes.status();
  crypto::SecretBytes text = crypto::SecretBytes::CopyFrom(*bytes);
  sodium_memzero(bytes->data(), bytes->size());
  return text;
}

absl::StatusOr<SubmitResult> SubmitWithInvite(
    VaultSession& session, const crypto::ParsedInvite& invite,
    const crypto::SigningKey& invite_key, const PlaintextInput& input,
    const RecordDetails& details, const Progress& progress) {
  absl::StatusOr<Plaintext> plaintext = Plaintext::Open(input);
  if (!plaintext.ok()) return plaintext.status();
  Destination to;
  to.case_id = std::string(crypto::AsString(invite.case_id));
  to.epoch = invite.epoch;
  to.recipient = invite.recipient;
  std::string record_id(16, '\0');
  randombytes_buf(record_id.data(), record_id.size());
  const tvault::v1::RecordMetadata meta =
      BuildMetadata(to, record_id, details, *plaintext, invite_key, nullptr);
  absl::StatusOr<crypto::AgePreparedHeader> header =
      crypto::RecordWriter::PrepareHeader(to.recipient);
  if (!header.ok()) return header.status();
  HashingSink measure(nullptr);
  if (absl::Status s = WriteRecord(*header, meta, *plaintext, invite_key,
                                   measure, progress, "encrypting");
      !s.ok()) {
    return s;
  }
  tvault::v1::UploadStart start;
  start.set_case_id(to.case_id);
  start.set_record_id(record_id);
  start.set_epoch(to.epoch);
  start.set_total_size(measure.size());
  const crypto::Sha256 sha = measure.Final();
  start.set_sha256(std::string(crypto::AsString(sha)));
  absl::StatusOr<SubmitResult> result = Upload(
      session, start,
      [&](crypto::ByteSink& sink, uint64_t offset) -> absl::Status {
        // Re-encrypts from the start (byte-identical: one prepared header)
        // and drops what the vault already holds.
        class Skip final : public crypto::ByteSink {
         public:
          Skip(crypto::ByteSink& inner, uint64_t n) : inner_(inner), n_(n) {}
          absl::Status Write(absl::Span<const uint8_t> d) override {
            const size_t k =
                static_cast<size_t>(std::min<uint64_t>(n_, d.size()));
            n_ -= k;
            d.remove_prefix(k);
            return d.empty() ? absl::OkStatus() : inner_.Write(d);
          }

         private:
          crypto::ByteSink& inner_;
          uint64_t n_;
        } skip(sink, offset);
        return WriteRecord(*header, meta, *plaintext, invite_key, skip,
                           Progress(), "");
      },
      progress);
  if (absl::IsInvalidArgument(result.status()) &&
      absl::StrContains(result.status().message(), "SHA-256")) {
    return absl::FailedPreconditionError(
        "the file changed while it was being sent, so the vault refused it; "
        "submit it again once nothing is writing to it");
  }
  return result;
}

absl::StatusOr<std::pair<std::string, tvault::v1::RecordSummary>> FindRecord(
    Member& member, absl::string_view record_id, absl::string_view case_id) {
  std::vector<std::string> cases;
  if (!case_id.empty()) {
    cases.emplace_back(case_id);
  } else {
    for (const tvault::v1::CaseState& s : PinnedCases(member.home)) {
      cases.push_back(s.card().case_id());
    }
  }
  for (const std::string& c : cases) {
    tvault::v1::ListRecordsRequest request;
    request.set_case_id(c);
    request.set_page_size(1000);
    for (;;) {
      tvault::v1::ListRecordsResponse response;
      grpc::Status s = member.session->stub().ListRecords(
          member.session->Context().get(), request, &response);
      if (s.error_code() == grpc::StatusCode::PERMISSION_DENIED) break;
      if (!s.ok()) return Explain(s, "listing records");
      for (const tvault::v1::RecordSummary& r : response.records()) {
        if (r.record_id() == record_id) return std::make_pair(c, r);
      }
      if (response.next_page_token().empty()) break;
      request.set_page_token(response.next_page_token());
    }
  }
  return absl::NotFoundError(absl::StrCat(
      "no record ", Hex(record_id),
      " in the cases you can read on this device (see tvault records list "
      "CASE)"));
}

absl::StatusOr<std::vector<RecordListing>> ListCaseRecords(Member& member,
                                                           CaseView& view,
                                                           bool with_titles) {
  std::vector<RecordListing> out;
  tvault::v1::ListRecordsRequest request;
  request.set_case_id(view.state.card().case_id());
  request.set_page_size(1000);
  for (;;) {
    tvault::v1::ListRecordsResponse response;
    if (grpc::Status s = member.session->stub().ListRecords(
            member.session->Context().get(), request, &response);
        !s.ok()) {
      return Explain(s, "listing records");
    }
    for (const tvault::v1::RecordSummary& r : response.records()) {
      RecordListing listing{r, std::nullopt};
      auto id = view.identities.find(r.epoch());
      if (with_titles && !r.deleted() && id != view.identities.end()) {
        tvault::v1::DownloadRequest d;
        d.set_record_id(r.record_id());
        d.set_length(
            std::min<uint64_t>(r.size(), crypto::kRecordMetadataPrefixSize));
        std::unique_ptr<grpc::ClientContext> context =
            member.session->Context();
        auto reader = member.session->stub().Download(context.get(), d);
        std::string prefix;
        tvault::v1::DownloadChunk chunk;
        while (reader->Read(&chunk)) prefix += chunk.data();
        if (reader->Finish().ok()) {
          crypto::MemorySource source(prefix);
          absl::StatusOr<tvault::v1::RecordMetadata> meta =
              crypto::PeekRecordMetadata(source, id->second);
          if (meta.ok()) listing.metadata = *std::move(meta);
        }
      }
      out.push_back(std::move(listing));
    }
    if (response.next_page_token().empty()) break;
    request.set_page_token(response.next_page_token());
  }
  return out;
}

namespace {

// The download stream as a byte source.
class DownloadSource final : public crypto::ByteSource {
 public:
  DownloadSource(grpc::ClientReader<tvault::v1::DownloadChunk>& reader,
                 uint64_t total, const Progress& progress)
      : reader_(reader), total_(total), progress_(progress) {}
  absl::StatusOr<size_t> Read(absl::Span<uint8_t> out) override {
    while (pos_ == chunk_.data().size()) {
      if (!reader_.Read(&chunk_)) return 0;
      pos_ = 0;
      received_ += chunk_.data().size();
      Report(progress_, "receiving", received_, total_, last_);
    }
    const size_t n = std::min(out.size(), chunk_.data().size() - pos_);
    std::memcpy(out.data(), chunk_.data().data() + pos_, n);
    pos_ += n;
    return n;
  }

 private:
  grpc::ClientReader<tvault::v1::DownloadChunk>& reader_;
  uint64_t total_;
  const Progress& progress_;
  tvault::v1::DownloadChunk chunk_;
  size_t pos_ = 0;
  uint64_t received_ = 0;
  uint64_t last_ = 0;
};

// Copies what passes through into `copy` (if any).
class TeeSource final : public crypto::ByteSource {
 public:
  TeeSource(crypto::ByteSource& inner, crypto::ByteSink* copy)
      : inner_(inner), copy_(copy) {}
  absl::StatusOr<size_t> Read(absl::Span<uint8_t> out) override {
    absl::StatusOr<size_t> n = inner_.Read(out);
    if (n.ok() && *n > 0 && copy_ != nullptr) {
      if (absl::Status s = copy_->Write(out.subspan(0, *n)); !s.ok()) return s;
    }
    return n;
  }

 private:
  crypto::ByteSource& inner_;
  crypto::ByteSink* copy_;
};

}  // namespace

absl::StatusOr<GotRecord> GetRecord(Member& member, CertificateDirectory& certs,
                                    absl::string_view record_id_hex,
                                    absl::string_view case_id,
                                    const std::string& output, bool overwrite,
                                    const Progress& progress,
                                    const std::string& ciphertext_output) {
  absl::StatusOr<std::string> record_id =
      ParseHexId(record_id_hex, 16, "the record id");
  if (!record_id.ok()) return record_id.status();
  absl::StatusOr<std::pair<std::string, tvault::v1::RecordSummary>> found =
      FindRecord(member, *record_id, case_id);
  if (!found.ok()) return found.status();
  // Not a structured binding: the ScanLog lambda below captures cid, which
  // clang before 16 refuses for bindings.
  const std::string& cid = found->first;
  const tvault::v1::RecordSummary& summary = found->second;
  if (summary.deleted()) {
    return absl::NotFoundError(
        "this record was deleted at its owner's request; only its log entry "
        "remains");
  }
  absl::StatusOr<CaseView> view = LoadCase(member, certs, cid, true);
  if (!view.ok()) return view.status();
  auto identity = view->identities.find(summary.epoch());
  if (identity == view->identities.end()) {
    return absl::PermissionDeniedError(
        absl::StrCat("you hold no key for epoch ", summary.epoch(),
                     " of this case; ask a case owner to grant it"));
  }
  const crypto::VerifiedDescriptor* descriptor =
      view->chain.Find(summary.epoch());
  if (descriptor == nullptr) {
    return absl::DataLossError("the record's epoch is not in the case chain");
  }
  GotRecord got;
  got.summary = summary;
  got.log_index = summary.log_index();
  absl::StatusOr<tvault::v1::LogEntry> entry =
      member.session->ProvenEntry(summary.log_index());
  if (!entry.ok()) return entry.status();
  const tvault::v1::RecordAdded& added = entry->record_added();
  if (!entry->has_record_added() || added.record_id() != *record_id ||
      added.case_id() != cid || added.epoch() != summary.epoch() ||
      added.ciphertext_size() != summary.size()) {
    return absl::DataLossError(
        "the vault's listing of this record contradicts its own log entry");
  }
  got.entry = *entry;

  // What the log says about the case: its invites, epochs and revocations.
  absl::StatusOr<std::vector<VaultSession::IndexedEntry>> events =
      member.session->ScanLog([&](const tvault::v1::LogEntry& e) {
        return (e.has_invite_created() &&
                e.invite_created().case_id() == cid) ||
               (e.has_invite_revoked() &&
                e.invite_revoked().case_id() == cid) ||
               (e.has_descriptor_published() &&
                e.descriptor_published().case_id() == cid) ||
               e.has_certificate_revoked();
      });
  if (!events.ok()) return events.status();
  crypto::RecordExpectations expect;
  expect.case_id = FixedBytes<16>(cid);
  expect.record_id = FixedBytes<16>(*record_id);
  expect.descriptor = descriptor->body;
  expect.ciphertext_sha256 = FixedBytes<32>(added.ciphertext_sha256());
  expect.log_time = entry->logged_at();
  expect.log_time_precision = 3600;  // RecordAdded times are hour-rounded
  expect.org_pk = member.enrolment.org_pk;
  expect.revocations = certs.revocations();
  std::map<std::string, crypto::RecordExpectations::LoggedInvite> invites;
  for (const auto& [index, e] : *events) {
    if (e.has_certificate_revoked()) {
      tvault::v1::Revocation r;
      r.set_version(1);
      r.set_cert_fingerprint(e.certificate_revoked().cert_fingerprint());
      r.set_revoked_at(e.certificate_revoked().revoked_at());
      r.set_reason("revoked (from the log)");
      expect.revocations.push_back(std::move(r));
    } else if (e.has_invite_created()) {
      crypto::RecordExpectations::LoggedInvite& inv =
          invites[e.invite_created().invite_pk()];
      inv.key = FixedBytes<32>(e.invite_created().invite_pk());
      inv.epoch = e.invite_created().epoch();
      inv.registered_at = e.logged_at();
      inv.expires = e.invite_created().expires();
    } else if (e.has_invite_revoked()) {
      auto it = invites.find(e.invite_revoked().invite_pk());
      if (it != invites.end()) it->second.revoked_at = e.logged_at();
    } else if (e.has_descriptor_published() && index < summary.log_index()) {
      expect.current_epoch_at_log_time = std::max(
          expect.current_epoch_at_log_time, e.descriptor_published().epoch());
    }
  }
  for (auto& [key, inv] : invites) expect.invites.push_back(inv);

  tvault::v1::DownloadRequest d;
  d.set_record_id(*record_id);
  std::unique_ptr<grpc::ClientContext> context =
      member.session->Context(absl::InfiniteDuration());
  auto reader = member.session->stub().Download(context.get(), d);
  DownloadSource download(*reader, summary.size(), progress);
  std::unique_ptr<AtomicOutputFile> ciphertext_file;
  if (!ciphertext_output.empty()) {
    absl::StatusOr<std::unique_ptr<AtomicOutputFile>> f =
        AtomicOutputFile::Create(ciphertext_output, overwrite);
    if (!f.ok()) return f.status();
    ciphertext_file = *std::move(f);
  }
  TeeSource source(download, ciphertext_file.get());
  absl::StatusOr<std::unique_ptr<crypto::RecordReader>> record =
      crypto::RecordReader::Open(source, identity->second);
  if (!record.ok()) {
    context->TryCancel();
    (void)reader->Finish();
    return absl::DataLossError(absl::StrCat(
        "the record's header is damaged or not for this case's key: ",
        record.status().message()));
  }
  std::unique_ptr<AtomicOutputFile> file;
  crypto::FdSink stdout_sink(STDOUT_FILENO);
  crypto::ByteSink* sink = &stdout_sink;
  if (output != "-") {
    absl::StatusOr<std::unique_ptr<AtomicOutputFile>> f =
        AtomicOutputFile::Create(output, overwrite);
    if (!f.ok()) return f.status();
    file = *std::move(f);
    sink = file.get();
  }
  absl::Status read = (*record)->Read(*sink);
  grpc::Status stream = reader->Finish();
  if (!stream.ok()) return Explain(stream, "sending the record");
  if (!read.ok()) {
    return absl::DataLossError(absl::StrCat(
        "the record does not verify; nothing was written: ", read.message()));
  }
  absl::StatusOr<crypto::VerifiedRecord> verified = (*record)->Finish(expect);
  if (!verified.ok()) {
    return absl::Status(
        verified.status().code(),
        absl::StrCat("the record does not verify; nothing was written: ",
                     verified.status().message()));
  }
  if (ciphertext_file != nullptr) {
    if (absl::Status s = ciphertext_file->Commit(); !s.ok()) return s;
  }
  if (file != nullptr) {
    if (absl::Status s = file->Commit(); !s.ok()) return s;
  }
  got.record = *std::move(verified);
  if (got.record.signer_certificate.has_value()) {
    absl::StatusOr<crypto::VerifiedCertificate> cert =
        crypto::VerifyCertificate(got.record.metadata.submitter().certificate(),
                                  member.enrolment.org_pk);
    if (cert.ok()) got.signer_handle = cert->body.handle();
  }
  return got;
}

absl::StatusOr<int64_t> RequestDeletion(Member& member,
                                        CertificateDirectory& certs,
                                        absl::string_view record_id_hex,
                                        absl::string_view reason, int64_t now) {
  absl::StatusOr<std::string> record_id =
      ParseHexId(record_id_hex, 16, "the record id");
  if (!record_id.ok()) return record_id.status();
  absl::StatusOr<std::pair<std::string, tvault::v1::RecordSummary>> found =
      FindRecord(member, *record_id, "");
  if (!found.ok()) return found.status();
  absl::StatusOr<CaseView> view = LoadCase(member, certs, found->first, false);
  if (!view.ok()) return view.status();
  if (!view->chain.IsOwnerFrom(*view->chain.highest_epoch(),
                               member.enrolment.certificate.fingerprint)) {
    return absl::PermissionDeniedError(
        "only an owner of the case can ask for a record's deletion");
  }
  tvault::v1::DeleteRequest body;
  body.set_version(1);
  body.set_case_id(found->first);
  body.set_record_id(*record_id);
  body.set_requested_at(now);
  body.set_reason(std::string(reason));
  tvault::v1::RequestDeletionRequest request;
  *request.mutable_request() = crypto::SignStatement(
      crypto::StatementType::kDelete, body, member.keys.sign);
  tvault::v1::RequestDeletionResponse response;
  if (grpc::Status s = member.session->stub().RequestDeletion(
          member.session->Context().get(), request, &response);
      !s.ok()) {
    return Explain(s, "the deletion request");
  }
  absl::StatusOr<tvault::v1::LogEntry> entry =
      member.session->CheckReceipt(response.receipt());
  if (!entry.ok()) return entry.status();
  if (!entry->has_deletion_requested() ||
      entry->deletion_requested().record_id() != *record_id) {
    return absl::DataLossError(
        "the vault's receipt is not for this deletion request");
  }
  return response.delete_after();
}

}  // namespace tvault::client
