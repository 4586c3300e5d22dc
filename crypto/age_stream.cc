#include "crypto/age_stream.h"

#include <sodium.h>

#include <algorithm>
#include <array>
#include <deque>
#include <thread>
#include <vector>

#include "absl/strings/str_cat.h"
#include "absl/strings/string_view.h"
#include "crypto/age_error.h"
#include "crypto/mutex.h"

namespace tvault::crypto {
namespace {

constexpr size_t kCiphertextChunkSize = kAgeChunkSize + kAgeTagSize;
// 16 chunks: 1 MiB of plaintext per batch, large enough to amortise the
// hand-off between threads, small enough that memory stays a few MiB.
constexpr size_t kBatchChunks = 16;
constexpr int kMaxThreads = 8;

using Nonce = std::array<uint8_t, crypto_aead_chacha20poly1305_ietf_NPUBBYTES>;

// 11-byte big-endian chunk counter, then 0x01 for the final chunk.
Nonce ChunkNonce(uint64_t counter, bool last) {
  Nonce n{};
  for (int i = 10; i >= 3; --i) {
    n[static_cast<size_t>(i)] = static_cast<uint8_t>(counter & 0xff);
    counter >>= 8;
  }
  n[11] = last ? 1 : 0;
  return n;
}

absl::Status PayloadError(absl::string_view what) {
  return AgeError(AgeErrorKind::kPayload, absl::StrCat("age payload: ", what));
}

}  // namespace

class StreamPipeline::Impl {
 public:
  Impl(Direction direction, const SecretBytes& key, ByteSink& sink, int threads)
      : direction_(direction),
        key_(SecretBytes::CopyFrom(key.span())),
        sink_(sink),
        in_chunk_(direction == Direction::kEncrypt ? kAgeChunkSize
                                                   : kCiphertextChunkSize),
        out_chunk_(direction == Direction::kEncrypt ? kCiphertextChunkSize
                                                    : kAgeChunkSize),
        threads_(threads),
        slots_(threads > 1 ? static_cast<size_t>(2 * threads + 2) : 1) {
    // Buffers are allocated without being written (new[] of a trivial type),
    // so the pages a small file never reaches are never mapped in.
    for (Batch& b : slots_) {
      b.in = Buffer(kBatchChunks * in_chunk_);
      b.out = Buffer(kBatchChunks * out_chunk_);
    }
    slots_[0].state = State::kFilling;
  }

  ~Impl() {
    {
      MutexLock lock(mu_);
      stop_ = true;
    }
    work_cv_.NotifyAll();
    for (std::thread& t : workers_) t.join();
    // The buffers held plaintext on one side or the other: wipe every byte
    // that was ever written.
    for (Batch& b : slots_) {
      b.in.Wipe();
      b.out.Wipe();
    }
  }

  absl::Status Write(absl::Span<const uint8_t> data) {
    while (!data.empty()) {
      if (!error_.ok()) return error_;
      Batch& b = Current();
      if (b.in_len == b.in.size()) {
        if (absl::Status s = Advance(); !s.ok()) return s;
        continue;
      }
      const size_t n = std::min(data.size(), b.in.size() - b.in_len);
      std::copy_n(data.data(), n, b.in.data() + b.in_len);
      b.in_len += n;
      b.in.Touched(b.in_len);
      data.remove_prefix(n);
      if (direction_ == Direction::kEncrypt) plaintext_bytes_ += n;
    }
    return error_;
  }

  absl::Status WriteFrom(ByteSource& source) {
    while (error_.ok()) {
      Batch* b = &Current();
      if (b->in_len == b->in.size()) {
        // A full batch is sent on only once more input exists, so that the
        // last chunk of the input is always known to be the last.
        uint8_t next = 0;
        absl::StatusOr<size_t> n = ReadFull(source, {&next, 1});
        if (!n.ok()) return n.status();
        if (*n == 0) return absl::OkStatus();
        if (absl::Status s = Advance(); !s.ok()) return s;
        b = &Current();
        b->in.data()[0] = next;
        b->in_len = 1;
        b->in.Touched(1);
        if (direction_ == Direction::kEncrypt) plaintext_bytes_ += 1;
      }
      absl::StatusOr<size_t> n = source.Read(b->in.subspan(b->in_len));
      if (!n.ok()) return n.status();
      if (*n == 0) return absl::OkStatus();
      b->in_len += *n;
      b->in.Touched(b->in_len);
      if (direction_ == Direction::kEncrypt) plaintext_bytes_ += *n;
    }
    return error_;
  }

  absl::Status Finish() {
    if (error_.ok()) Submit(/*final=*/true);
    while (write_seq_ <= fill_seq_ && error_.ok()) DrainOne();
    return error_;
  }

  uint64_t plaintext_bytes() const { return plaintext_bytes_; }

 private:
  enum class State { kFree, kFilling, kQueued, kRunning, kDone };

  // A fixed-size byte buffer that remembers how far it was ever written.
  class Buffer {
   public:
    Buffer() = default;
    explicit Buffer(size_t size) : data_(new uint8_t[size]), size_(size) {}
    uint8_t* data() { return data_.get(); }
    size_t size() const { return size_; }
    void Touched(size_t end) { high_water_ = std::max(high_water_, end); }
    void Wipe() {
      if (high_water_ > 0) sodium_memzero(data_.get(), high_water_);
      high_water_ = 0;
    }
    absl::Span<uint8_t> subspan(size_t from) {
      return {data() + from, size_ - from};
    }

   private:
    std::unique_ptr<uint8_t[]> data_;
    size_t size_ = 0;
    size_t high_water_ = 0;
  };

  struct Batch {
    Buffer in;
    Buffer out;
    size_t in_len = 0;
    uint64_t first_chunk = 0;
    bool final = false;
    State state = State::kFree;
    size_t out_len = 0;   // output of the chunks that succeeded
    absl::Status status;  // first failure in this batch
  };

  Batch& Current() { return slots_[fill_seq_ % slots_.size()]; }

  // Sends the current (full) batch on and makes the next one current.
  absl::Status Advance() {
    Submit(/*final=*/false);
    ++fill_seq_;
    Batch& next = Current();
    while (error_.ok()) {
      {
        MutexLock lock(mu_);
        if (next.state == State::kFree) {
          next.state = State::kFilling;
          next.in_len = 0;
          return absl::OkStatus();
        }
      }
      DrainOne();
    }
    return error_;
  }

  void Submit(bool final) {
    Batch& b = Current();
    b.final = final;
    b.first_chunk = fill_seq_ * kBatchChunks;
    // Small inputs (a single final batch) and single-threaded pipelines are
    // processed right here, without starting threads.
    if (threads_ <= 1 || (final && workers_.empty())) {
      Process(b);
      MutexLock lock(mu_);
      b.state = State::kDone;
      return;
    }
    if (workers_.empty()) {
      // The caller thread processes batches too (DrainOne), so one thread
      // fewer is started than the number wanted in total.
      for (int i = 0; i < threads_ - 1; ++i) {
        workers_.emplace_back([this] { WorkerLoop(); });
      }
    }
    {
      MutexLock lock(mu_);
      b.state = State::kQueued;
      queue_.push_back(&b);
    }
    work_cv_.NotifyOne();
  }

  // Waits for the oldest unwritten batch, writes its output, frees it.
  void DrainOne() {
    Batch& b = slots_[write_seq_ % slots_.size()];
    // While the oldest batch is not done, the caller works on queued ones
    // instead of idling: with one thread per core in total, no core waits.
    while (true) {
      Batch* job = nullptr;
      {
        MutexLock lock(mu_);
        done_cv_.Wait(mu_, [&]() ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_) {
          return b.state == State::kDone || !queue_.empty();
        });
        if (b.state == State::kDone) break;
        job = TakeQueued();
      }
      RunTaken(*job);
    }
    absl::Status s = sink_.Write({b.out.data(), b.out_len});
    if (s.ok() && direction_ == Direction::kDecrypt) {
      plaintext_bytes_ += b.out_len;
    }
    if (!b.status.ok()) s = b.status;
    if (!s.ok() && error_.ok()) error_ = s;
    {
      MutexLock lock(mu_);
      b.state = State::kFree;
    }
    ++write_seq_;
  }

  void WorkerLoop() {
    while (true) {
      Batch* b = nullptr;
      {
        MutexLock lock(mu_);
        work_cv_.Wait(mu_, [&]() ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_) {
          return stop_ || !queue_.empty();
        });
        if (queue_.empty()) return;  // stopping
        b = TakeQueued();
      }
      RunTaken(*b);
    }
  }

  // Takes the oldest queued batch for the calling thread to process.
  Batch* TakeQueued() ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_) {
    Batch* b = queue_.front();
    queue_.pop_front();
    b->state = State::kRunning;
    return b;
  }

  // Processes a batch taken with TakeQueued and hands it to the writer.
  void RunTaken(Batch& b) {
    Process(b);
    {
      MutexLock lock(mu_);
      b.state = State::kDone;
    }
    done_cv_.NotifyAll();
  }

  // Encrypts or decrypts every chunk of `b` into b.out. Touches only `b`
  // and the read-only key, so batches run in parallel without locks.
  void Process(Batch& b) {
    b.out_len = 0;
    b.status = absl::OkStatus();
    // Decryption may write (then zero) a chunk that fails, so count the
    // whole output span this batch can reach as touched.
    b.out.Touched(
        std::min(b.out.size(), (b.in_len / in_chunk_ + 1) * out_chunk_));
    size_t chunks = b.in_len / in_chunk_;
    if (b.final && (b.in_len % in_chunk_ != 0 || chunks == 0)) ++chunks;
    if (direction_ == Direction::kDecrypt && b.final && b.in_len == 0) {
      b.status = b.first_chunk == 0
                     ? PayloadError("the file is truncated: no payload chunks")
                     : PayloadError("the file is truncated");
      return;
    }
    for (size_t i = 0; i < chunks; ++i) {
      const size_t offset = i * in_chunk_;
      const size_t len = std::min(in_chunk_, b.in_len - offset);
      const bool last = b.final && i + 1 == chunks;
      const uint64_t counter = b.first_chunk + i;
      const uint8_t* in = b.in.data() + offset;
      uint8_t* out = b.out.data() + i * out_chunk_;
      if (direction_ == Direction::kEncrypt) {
        const Nonce nonce = ChunkNonce(counter, last);
        crypto_aead_chacha20poly1305_ietf_encrypt_detached(
            out, out + len, nullptr, in, len, nullptr, 0, nullptr, nonce.data(),
            key_.data());
        b.out_len += len + kAgeTagSize;
        continue;
      }
      bool released = false;
      absl::Status s = OpenChunk(in, len, counter, last, out, released);
      if (released) b.out_len += len - kAgeTagSize;
      if (!s.ok()) {
        b.status = std::move(s);
        return;
      }
    }
  }

  // Decrypts one chunk into `out`; `released` says whether `out` holds
  // authenticated plaintext. A full-size chunk that authenticates only with
  // the other value of the last-chunk flag is released and then reported
  // (data after the final chunk, or a missing final chunk), as the age
  // reference implementation and its test kit do: its bytes are genuine and
  // in place, and the error still stops the stream.
  absl::Status OpenChunk(const uint8_t* in, size_t len, uint64_t counter,
                         bool last, uint8_t* out, bool& released) const {
    released = false;
    if (len < kAgeTagSize) {
      return PayloadError(
          absl::StrCat("the file is truncated inside chunk ", counter));
    }
    const size_t plain_len = len - kAgeTagSize;
    auto open = [&](bool last_flag, uint8_t* dst) {
      const Nonce nonce = ChunkNonce(counter, last_flag);
      return crypto_aead_chacha20poly1305_ietf_decrypt_detached(
                 dst, nullptr, in, plain_len, in + plain_len, nullptr, 0,
                 nonce.data(), key_.data()) == 0;
    };
    if (open(last, out)) {
      released = true;
      if (last && plain_len == 0 && counter > 0) {
        released = false;
        return PayloadError(
            "the final chunk is empty, which the age format forbids");
      }
      return absl::OkStatus();
    }
    // Verify only (null output) with the other flag, to say what is wrong.
    if (!open(!last, nullptr)) {
      return PayloadError(absl::StrCat(
          "chunk ", counter,
          " failed authentication: the file is corrupt or was modified"));
    }
    if (len == kCiphertextChunkSize) released = open(!last, out);
    if (last) {
      return PayloadError(
          "the file is truncated: it ends before its final chunk");
    }
    return PayloadError(
        absl::StrCat("data follows the final chunk (chunk ", counter, ")"));
  }

  const Direction direction_;
  const SecretBytes key_;
  ByteSink& sink_;
  const size_t in_chunk_;
  const size_t out_chunk_;
  const int threads_;
  std::vector<Batch> slots_;  // batch states are guarded by mu_
  uint64_t fill_seq_ = 0;     // caller thread only
  uint64_t write_seq_ = 0;    // caller thread only
  uint64_t plaintext_bytes_ = 0;
  absl::Status error_;  // caller thread only
  std::vector<std::thread> workers_;

  Mutex mu_;
  CondVar work_cv_;
  CondVar done_cv_;
  std::deque<Batch*> queue_ ABSL_GUARDED_BY(mu_);
  bool stop_ ABSL_GUARDED_BY(mu_) = false;
};

std::unique_ptr<StreamPipeline> StreamPipeline::Create(
    Direction direction, const SecretBytes& payload_key, ByteSink& sink,
    StreamOptions options) {
  int threads = options.threads;
  if (threads <= 0) {
    threads = std::clamp(static_cast<int>(std::thread::hardware_concurrency()),
                         1, kMaxThreads);
  }
  threads = std::min(threads, kMaxThreads);
  return std::unique_ptr<StreamPipeline>(new StreamPipeline(
      std::make_unique<Impl>(direction, payload_key, sink, threads)));
}

StreamPipeline::StreamPipeline(std::unique_ptr<Impl> impl)
    : impl_(std::move(impl)) {}
StreamPipeline::~StreamPipeline() = default;

absl::Status StreamPipeline::Write(absl::Span<const uint8_t> data) {
  return impl_->Write(data);
}
absl::Status StreamPipeline::WriteFrom(ByteSource& source) {
  return impl_->WriteFrom(source);
}
absl::Status StreamPipeline::Finish() { return impl_->Finish(); }
uint64_t StreamPipeline::plaintext_bytes() const {
  return impl_->plaintext_bytes();
}

}  // namespace tvault::crypto
