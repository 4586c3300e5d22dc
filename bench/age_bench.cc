// Microbenchmarks for the age implementation.
//
// - BM_AgeEncrypt / BM_AgeDecrypt: a whole age file (header + STREAM
//   payload) through AgeEncryptor / AgeDecryptor, in memory, into a sink
//   that discards its output. Args: plaintext size, StreamOptions::threads
//   (1 = caller thread only, 0 = one worker per core).
// - BM_StreamEncrypt / BM_StreamDecrypt: the STREAM pipeline alone (no
//   header, no X25519), same arguments.
// - BM_Hkdf, BM_X25519Wrap, BM_X25519Unwrap: per-operation costs of the
//   header crypto.
// - BM_Raw*: libsodium primitives on one 64 KiB chunk and memcpy of 1 MiB,
//   a baseline for where the payload time goes (ChaCha20 vs Poly1305 vs
//   copying).
//
// Sizes are the plaintext size; SetBytesProcessed counts plaintext bytes.
#include <benchmark/benchmark.h>
#include <sodium.h>

#include <array>
#include <cstdint>
#include <cstdlib>
#include <cstring>
#include <memory>
#include <vector>

#include "crypto/age.h"
#include "crypto/age_recipients.h"
#include "crypto/age_stream.h"
#include "crypto/hkdf.h"
#include "crypto/io.h"
#include "crypto/secret_bytes.h"

namespace tvault::crypto {
namespace {

constexpr int64_t kKiB = 1024;
constexpr int64_t kMiB = 1024 * 1024;

// Discards everything, but touches the first byte of each write so that the
// compiler cannot consider the output dead.
class DiscardSink final : public ByteSink {
 public:
  absl::Status Write(absl::Span<const uint8_t> data) override {
    if (!data.empty()) benchmark::DoNotOptimize(data[0]);
    bytes_ += data.size();
    return absl::OkStatus();
  }
  uint64_t bytes() const { return bytes_; }

 private:
  uint64_t bytes_ = 0;
};

std::vector<uint8_t> RandomBytes(size_t n) {
  EnsureSodiumInitialized();
  std::vector<uint8_t> v(n);
  randombytes_buf(v.data(), v.size());
  return v;
}

struct Keys {
  X25519Identity identity = X25519Identity::Generate();
};

Keys& TestKeys() {
  static Keys* keys = [] {
    EnsureSodiumInitialized();
    return new Keys();
  }();
  return *keys;
}

std::vector<uint8_t> EncryptToVector(absl::Span<const uint8_t> plaintext) {
  const AgeRecipient* recipients[] = {&TestKeys().identity.recipient()};
  VectorSink sink;
  auto enc = AgeEncryptor::Create(recipients, sink);
  if (!enc.ok()) std::abort();
  if (!(*enc)->Write(plaintext).ok() || !(*enc)->Finish().ok()) std::abort();
  return std::move(sink.bytes());
}

void SetLabel(benchmark::State& state) {
  state.SetLabel(state.range(1) == 0 ? "threads=all" : "threads=1");
}

// ---------------------------------------------------------------------------
// Whole files.

void BM_AgeEncrypt(benchmark::State& state) {
  const std::vector<uint8_t> plaintext =
      RandomBytes(static_cast<size_t>(state.range(0)));
  const AgeRecipient* recipients[] = {&TestKeys().identity.recipient()};
  AgeEncryptOptions options;
  options.stream.threads = static_cast<int>(state.range(1));
  for (auto _ : state) {
    DiscardSink sink;
    auto enc = AgeEncryptor::Create(recipients, sink, options);
    if (!enc.ok()) {
      state.SkipWithError("Create failed");
      break;
    }
    // As the CLI does: the pipeline reads straight into its batch buffers.
    MemorySource source(plaintext);
    if (!(*enc)->WriteFrom(source).ok() || !(*enc)->Finish().ok()) {
      state.SkipWithError("encrypt failed");
      break;
    }
    benchmark::DoNotOptimize(sink.bytes());
  }
  state.SetBytesProcessed(state.iterations() * state.range(0));
  SetLabel(state);
}

void BM_AgeDecrypt(benchmark::State& state) {
  const std::vector<uint8_t> plaintext =
      RandomBytes(static_cast<size_t>(state.range(0)));
  const std::vector<uint8_t> file = EncryptToVector(plaintext);
  const AgeIdentity* identities[] = {&TestKeys().identity};
  AgeDecryptOptions options;
  options.stream.threads = static_cast<int>(state.range(1));
  for (auto _ : state) {
    MemorySource source(file);
    auto dec = AgeDecryptor::Open(source, options);
    if (!dec.ok() || !(*dec)->Unlock(identities).ok()) {
      state.SkipWithError("open/unlock failed");
      break;
    }
    DiscardSink sink;
    if (!(*dec)->DecryptTo(sink).ok() || sink.bytes() != plaintext.size()) {
      state.SkipWithError("decrypt failed");
      break;
    }
  }
  state.SetBytesProcessed(state.iterations() * state.range(0));
  SetLabel(state);
}

// ---------------------------------------------------------------------------
// The STREAM pipeline alone.

void BM_StreamEncrypt(benchmark::State& state) {
  const std::vector<uint8_t> plaintext =
      RandomBytes(static_cast<size_t>(state.range(0)));
  const SecretBytes key = SecretBytes::Random(32);
  const StreamOptions options{static_cast<int>(state.range(1))};
  for (auto _ : state) {
    DiscardSink sink;
    auto p = StreamPipeline::Create(StreamPipeline::Direction::kEncrypt, key,
                                    sink, options);
    MemorySource source(plaintext);
    if (!p->WriteFrom(source).ok() || !p->Finish().ok()) {
      state.SkipWithError("encrypt failed");
      break;
    }
  }
  state.SetBytesProcessed(state.iterations() * state.range(0));
  SetLabel(state);
}

void BM_StreamDecrypt(benchmark::State& state) {
  const std::vector<uint8_t> plaintext =
      RandomBytes(static_cast<size_t>(state.range(0)));
  const SecretBytes key = SecretBytes::Random(32);
  VectorSink ciphertext;
  {
    auto p = StreamPipeline::Create(StreamPipeline::Direction::kEncrypt, key,
                                    ciphertext, StreamOptions{1});
    if (!p->Write(plaintext).ok() || !p->Finish().ok()) std::abort();
  }
  const StreamOptions options{static_cast<int>(state.range(1))};
  for (auto _ : state) {
    DiscardSink sink;
    auto p = StreamPipeline::Create(StreamPipeline::Direction::kDecrypt, key,
                                    sink, options);
    MemorySource source(ciphertext.bytes());
    if (!p->WriteFrom(source).ok() || !p->Finish().ok()) {
      state.SkipWithError("decrypt failed");
      break;
    }
  }
  state.SetBytesProcessed(state.iterations() * state.range(0));
  SetLabel(state);
}

void PayloadArgs(benchmark::internal::Benchmark* b) {
  for (int64_t size : {64 * kKiB, 1 * kMiB, 64 * kMiB}) {
    for (int64_t threads : {1, 0}) b->Args({size, threads});
  }
  b->ArgNames({"bytes", "threads"});
  // The work happens on worker threads: time is wall time, and "CPU" is
  // the whole process's CPU time, so CPU / Time is the cores kept busy.
  b->UseRealTime();
  b->MeasureProcessCPUTime();
  b->Unit(benchmark::kMicrosecond);
}

BENCHMARK(BM_AgeEncrypt)->Apply(PayloadArgs);
BENCHMARK(BM_AgeDecrypt)->Apply(PayloadArgs);
BENCHMARK(BM_StreamEncrypt)->Apply(PayloadArgs);
BENCHMARK(BM_StreamDecrypt)->Apply(PayloadArgs);

// ---------------------------------------------------------------------------
// Header crypto, per operation.

void BM_Hkdf(benchmark::State& state) {
  const SecretBytes ikm = SecretBytes::Random(16);
  const std::vector<uint8_t> salt = RandomBytes(16);
  std::array<uint8_t, 32> out{};
  for (auto _ : state) {
    absl::Status s =
        HkdfSha256(ikm.span(), salt, "payload", absl::MakeSpan(out));
    benchmark::DoNotOptimize(s);
    benchmark::DoNotOptimize(out);
  }
}
BENCHMARK(BM_Hkdf);

void BM_X25519Wrap(benchmark::State& state) {
  const X25519Recipient& recipient = TestKeys().identity.recipient();
  const SecretBytes file_key = SecretBytes::Random(16);
  for (auto _ : state) {
    absl::StatusOr<AgeStanza> stanza = recipient.Wrap(file_key);
    if (!stanza.ok()) {
      state.SkipWithError("wrap failed");
      break;
    }
    benchmark::DoNotOptimize(stanza);
  }
}
BENCHMARK(BM_X25519Wrap)->Unit(benchmark::kMicrosecond);

void BM_X25519Unwrap(benchmark::State& state) {
  const X25519Identity& identity = TestKeys().identity;
  const SecretBytes file_key = SecretBytes::Random(16);
  absl::StatusOr<AgeStanza> stanza = identity.recipient().Wrap(file_key);
  if (!stanza.ok()) std::abort();
  const std::vector<AgeStanza> stanzas = {*stanza};
  for (auto _ : state) {
    absl::StatusOr<SecretBytes> key = identity.Unwrap(stanzas);
    if (!key.ok()) {
      state.SkipWithError("unwrap failed");
      break;
    }
    benchmark::DoNotOptimize(key);
  }
}
BENCHMARK(BM_X25519Unwrap)->Unit(benchmark::kMicrosecond);

// ---------------------------------------------------------------------------
// Baselines: libsodium primitives on one 64 KiB chunk, and memcpy.

void BM_RawChaCha20Poly1305Chunk(benchmark::State& state) {
  const std::vector<uint8_t> in = RandomBytes(kAgeChunkSize);
  std::vector<uint8_t> out(kAgeChunkSize + kAgeTagSize);
  const SecretBytes key = SecretBytes::Random(32);
  std::array<uint8_t, 12> nonce{};
  for (auto _ : state) {
    crypto_aead_chacha20poly1305_ietf_encrypt_detached(
        out.data(), out.data() + kAgeChunkSize, nullptr, in.data(),
        kAgeChunkSize, nullptr, 0, nullptr, nonce.data(), key.data());
    benchmark::DoNotOptimize(out.data());
  }
  state.SetBytesProcessed(state.iterations() * int64_t{kAgeChunkSize});
}
// Threads(2): the same loop on every core at once, i.e. the best any
// parallel pipeline could do on this machine.
BENCHMARK(BM_RawChaCha20Poly1305Chunk)->Threads(1)->Threads(2)->UseRealTime();

void BM_RawChaCha20Chunk(benchmark::State& state) {
  const std::vector<uint8_t> in = RandomBytes(kAgeChunkSize);
  std::vector<uint8_t> out(kAgeChunkSize);
  const SecretBytes key = SecretBytes::Random(32);
  std::array<uint8_t, 12> nonce{};
  for (auto _ : state) {
    crypto_stream_chacha20_ietf_xor_ic(out.data(), in.data(), kAgeChunkSize,
                                       nonce.data(), 1, key.data());
    benchmark::DoNotOptimize(out.data());
  }
  state.SetBytesProcessed(state.iterations() * int64_t{kAgeChunkSize});
}
BENCHMARK(BM_RawChaCha20Chunk);

void BM_RawPoly1305Chunk(benchmark::State& state) {
  const std::vector<uint8_t> in = RandomBytes(kAgeChunkSize);
  const SecretBytes key = SecretBytes::Random(crypto_onetimeauth_KEYBYTES);
  std::array<uint8_t, crypto_onetimeauth_BYTES> tag{};
  for (auto _ : state) {
    crypto_onetimeauth_poly1305(tag.data(), in.data(), kAgeChunkSize,
                                key.data());
    benchmark::DoNotOptimize(tag);
  }
  state.SetBytesProcessed(state.iterations() * int64_t{kAgeChunkSize});
}
BENCHMARK(BM_RawPoly1305Chunk);

void BM_RawMemcpy1MiB(benchmark::State& state) {
  const std::vector<uint8_t> in = RandomBytes(kMiB);
  std::vector<uint8_t> out(kMiB);
  for (auto _ : state) {
    std::memcpy(out.data(), in.data(), in.size());
    benchmark::DoNotOptimize(out.data());
    benchmark::ClobberMemory();
  }
  state.SetBytesProcessed(state.iterations() * kMiB);
}
BENCHMARK(BM_RawMemcpy1MiB);

}  // namespace
}  // namespace tvault::crypto

BENCHMARK_MAIN();
