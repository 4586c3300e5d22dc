// Tamper suite for age files: round trips across chunk and batch boundaries,
// random and exhaustive bit flips, and structural attacks on the STREAM
// payload, the header and the ASCII armor. Every rejection is checked for
// its exact AgeErrorKind and for the release rule: on a payload failure in
// chunk k, exactly the plaintext of chunks 0..k-1 reaches the sink, and it
// is byte for byte the original.
#include <sodium.h>

#include <algorithm>
#include <array>
#include <cstdint>
#include <cstdio>
#include <initializer_list>
#include <memory>
#include <random>
#include <string>
#include <tuple>
#include <utility>
#include <vector>

#include "absl/strings/str_cat.h"
#include "absl/strings/string_view.h"
#include "absl/types/span.h"
#include "crypto/age.h"
#include "crypto/base64.h"
#include "crypto/hkdf.h"
#include "gtest/gtest.h"

namespace tvault::crypto {
namespace {

using Bytes = std::vector<uint8_t>;

constexpr size_t kChunk = kAgeChunkSize;                     // 65536
constexpr size_t kCtChunk = kAgeChunkSize + kAgeTagSize;     // 65552
constexpr size_t kBatch = 16 * kAgeChunkSize;                // one batch
constexpr size_t kSeveralChunks = 3 * kAgeChunkSize + 100;   // 4 chunks
constexpr size_t kAcrossBatches = 17 * kAgeChunkSize + 100;  // 18 chunks

// Thread settings every structural case runs under: no threads, the default
// (one per core), and more workers than this machine has cores.
constexpr std::array<int, 3> kThreadSettings = {1, 0, 4};

Bytes Plaintext(size_t size, uint64_t seed) {
  Bytes p(size);
  std::mt19937_64 rng(seed);
  for (size_t i = 0; i < size; i += 8) {
    uint64_t v = rng();
    for (size_t j = 0; j < 8 && i + j < size; ++j) {
      p[i + j] = static_cast<uint8_t>(v >> (8 * j));
    }
  }
  return p;
}

Bytes Concat(std::initializer_list<absl::Span<const uint8_t>> parts) {
  Bytes out;
  for (absl::Span<const uint8_t> p : parts)
    out.insert(out.end(), p.begin(), p.end());
  return out;
}

Bytes FromString(absl::string_view s) { return Bytes(s.begin(), s.end()); }

std::string ToString(absl::Span<const uint8_t> b) {
  return std::string(b.begin(), b.end());
}

// A set of X25519 identities and their recipients.
class Keys {
 public:
  explicit Keys(size_t n) {
    for (size_t i = 0; i < n; ++i) ids_.push_back(X25519Identity::Generate());
    for (const X25519Identity& id : ids_) {
      recipients_.push_back(&id.recipient());
      identities_.push_back(&id);
    }
  }
  Keys(const Keys&) = delete;  // the spans point into ids_
  Keys& operator=(const Keys&) = delete;

  const X25519Recipient& recipient(size_t i) const {
    return ids_[i].recipient();
  }
  absl::Span<const AgeRecipient* const> recipients() const {
    return recipients_;
  }
  absl::Span<const AgeIdentity* const> identities() const {
    return identities_;
  }
  absl::Span<const AgeIdentity* const> identity(size_t i) const {
    return absl::MakeConstSpan(identities_).subspan(i, 1);
  }

 private:
  std::vector<X25519Identity> ids_;
  std::vector<const AgeRecipient*> recipients_;
  std::vector<const AgeIdentity*> identities_;
};

enum class Feed { kOneWrite, kWriteFrom, kPieces };

Bytes Encrypt(absl::Span<const uint8_t> plaintext,
              absl::Span<const AgeRecipient* const> recipients, bool armor,
              int threads, Feed feed = Feed::kOneWrite, size_t piece = 0) {
  VectorSink out;
  AgeEncryptOptions options;
  options.armor = armor;
  options.stream.threads = threads;
  absl::StatusOr<std::unique_ptr<AgeEncryptor>> enc =
      AgeEncryptor::Create(recipients, out, options);
  EXPECT_TRUE(enc.ok()) << enc.status();
  if (!enc.ok()) return {};
  switch (feed) {
    case Feed::kOneWrite:
      EXPECT_TRUE((*enc)->Write(plaintext).ok());
      break;
    case Feed::kWriteFrom: {
      MemorySource src(plaintext);
      EXPECT_TRUE((*enc)->WriteFrom(src).ok());
      break;
    }
    case Feed::kPieces:
      for (size_t pos = 0; pos < plaintext.size(); pos += piece) {
        EXPECT_TRUE((*enc)->Write(plaintext.subspan(pos, piece)).ok());
      }
      break;
  }
  EXPECT_TRUE((*enc)->Finish().ok());
  EXPECT_EQ((*enc)->plaintext_bytes(), plaintext.size());
  return std::move(out.bytes());
}

struct Outcome {
  enum class Stage { kOpen, kUnlock, kDecrypt, kDone } stage = Stage::kOpen;
  absl::Status status;
  Bytes released;  // everything the decryptor wrote to its sink
  AgeErrorKind kind() const { return GetAgeErrorKind(status); }
};

Outcome Decrypt(absl::Span<const uint8_t> file,
                absl::Span<const AgeIdentity* const> identities, int threads,
                ArmorMode armor = ArmorMode::kDetect) {
  Outcome o;
  MemorySource src(file);
  AgeDecryptOptions options;
  options.armor = armor;
  options.stream.threads = threads;
  absl::StatusOr<std::unique_ptr<AgeDecryptor>> dec =
      AgeDecryptor::Open(src, options);
  if (!dec.ok()) {
    o.status = dec.status();
    return o;
  }
  o.stage = Outcome::Stage::kUnlock;
  o.status = (*dec)->Unlock(identities);
  if (!o.status.ok()) return o;
  o.stage = Outcome::Stage::kDecrypt;
  VectorSink sink;
  o.status = (*dec)->DecryptTo(sink);
  o.released = std::move(sink.bytes());
  EXPECT_EQ((*dec)->plaintext_bytes(), o.released.size());
  if (o.status.ok()) o.stage = Outcome::Stage::kDone;
  return o;
}

bool IsPrefixOf(absl::Span<const uint8_t> prefix,
                absl::Span<const uint8_t> whole) {
  return prefix.size() <= whole.size() &&
         std::equal(prefix.begin(), prefix.end(), whole.begin());
}

// Checks a payload failure: kPayload, and exactly `released` bytes of the
// original plaintext were written to the sink.
void ExpectPayloadFailure(const Outcome& o, absl::Span<const uint8_t> plaintext,
                          size_t released) {
  EXPECT_EQ(o.stage, Outcome::Stage::kDecrypt) << o.status;
  EXPECT_EQ(o.kind(), AgeErrorKind::kPayload) << o.status;
  EXPECT_EQ(o.released.size(), released);
  EXPECT_TRUE(IsPrefixOf(o.released, plaintext))
      << "released bytes are not the original plaintext";
}

void ExpectSuccess(const Outcome& o, absl::Span<const uint8_t> plaintext) {
  EXPECT_TRUE(o.status.ok()) << o.status;
  EXPECT_EQ(o.stage, Outcome::Stage::kDone);
  EXPECT_EQ(o.released.size(), plaintext.size());
  EXPECT_TRUE(o.released == Bytes(plaintext.begin(), plaintext.end()));
}

// Where the parts of a binary age file are.
struct Layout {
  size_t header_end = 0;  // one past the MAC line's LF
  size_t nonce_end = 0;   // first payload byte
  size_t size = 0;
  size_t chunks() const { return (size - nonce_end + kCtChunk - 1) / kCtChunk; }
  size_t chunk_begin(size_t i) const { return nonce_end + i * kCtChunk; }
  size_t chunk_end(size_t i) const {
    return std::min(size, chunk_begin(i) + kCtChunk);
  }
  size_t chunk_of(size_t byte) const { return (byte - nonce_end) / kCtChunk; }
};

Layout LayoutOf(absl::Span<const uint8_t> file) {
  const std::string s =
      ToString(file.subspan(0, std::min<size_t>(file.size(), 1 << 16)));
  const size_t mac = s.find("\n--- ");
  EXPECT_NE(mac, std::string::npos);
  const size_t lf = s.find('\n', mac + 1);
  EXPECT_NE(lf, std::string::npos);
  Layout l;
  l.header_end = lf + 1;
  l.nonce_end = l.header_end + kAgeNonceSize;
  l.size = file.size();
  return l;
}

absl::Span<const uint8_t> ChunkOf(absl::Span<const uint8_t> file,
                                  const Layout& l, size_t i) {
  return file.subspan(l.chunk_begin(i), l.chunk_end(i) - l.chunk_begin(i));
}

// Rebuilds a binary file from its header+nonce and a list of payload chunks.
Bytes Assemble(absl::Span<const uint8_t> file, const Layout& l,
               const std::vector<absl::Span<const uint8_t>>& chunks) {
  Bytes out(file.begin(), file.begin() + static_cast<ptrdiff_t>(l.nonce_end));
  for (absl::Span<const uint8_t> c : chunks)
    out.insert(out.end(), c.begin(), c.end());
  return out;
}

// Payload size the format prescribes: one chunk per started 64 KiB, and a
// single empty chunk only for an empty plaintext — never an empty final
// chunk after a full one.
size_t ExpectedPayloadSize(size_t plaintext) {
  const size_t chunks = std::max<size_t>(1, (plaintext + kChunk - 1) / kChunk);
  return plaintext + chunks * kAgeTagSize;
}

// The MAC line of a binary file (43 base64 characters).
std::string MacOf(absl::Span<const uint8_t> file) {
  const Layout l = LayoutOf(file);
  return ToString(file.subspan(l.header_end - 44, 43));
}

// Encrypts until the header MAC contains a '/', so that the exhaustive
// header flips always include a '/' whose bit 7 they set (libsodium 1.0.18
// decodes every byte >= 0x80 as '/'; see RejectsAHighByteForASlashInTheMac).
// About half of all MACs have one, so this takes a few tries.
Bytes EncryptWithSlashInMac(absl::Span<const uint8_t> plaintext,
                            absl::Span<const AgeRecipient* const> recipients) {
  for (int attempt = 0; attempt < 100; ++attempt) {
    Bytes f = Encrypt(plaintext, recipients, false, 0);
    if (MacOf(f).find('/') != std::string::npos) return f;
  }
  ADD_FAILURE() << "no MAC with a '/' in 100 files";
  return Encrypt(plaintext, recipients, false, 0);
}

// A fixture with one recipient and a four-chunk binary file.
class AgeTamperTest : public ::testing::Test {
 protected:
  AgeTamperTest()
      : keys_(1),
        plaintext_(Plaintext(kSeveralChunks, 1)),
        file_(EncryptWithSlashInMac(plaintext_, keys_.recipients())),
        layout_(LayoutOf(file_)) {}

  Outcome Open(absl::Span<const uint8_t> file, int threads = 0) const {
    return Decrypt(file, keys_.identities(), threads);
  }

  Keys keys_;
  Bytes plaintext_;
  Bytes file_;
  Layout layout_;
};

// ---------------------------------------------------------------------------
// 1. Round trips.

using RoundTripParam =
    std::tuple<size_t, size_t, bool, int>;  // size, recipients, armor, threads

class AgeTamperRoundTripTest : public ::testing::TestWithParam<RoundTripParam> {
};

TEST_P(AgeTamperRoundTripTest, DecryptsToIdenticalPlaintextForEveryRecipient) {
  const auto [size, n_recipients, armor, threads] = GetParam();
  const Keys keys(n_recipients);
  const Keys stranger(1);
  const Bytes plaintext = Plaintext(size, size * 31 + n_recipients);
  const Bytes file = Encrypt(plaintext, keys.recipients(), armor, threads);
  if (!armor) {
    const Layout l = LayoutOf(file);
    EXPECT_EQ(l.size - l.nonce_end, ExpectedPayloadSize(size));
  } else {
    EXPECT_TRUE(ToString(file).starts_with(std::string(kArmorBegin) + "\n"));
    EXPECT_TRUE(ToString(file).ends_with(std::string(kArmorEnd) + "\n"));
  }
  for (size_t i = 0; i < n_recipients; ++i) {
    SCOPED_TRACE(absl::StrCat("identity ", i));
    const Outcome o = Decrypt(file, keys.identity(i), threads,
                              armor ? ArmorMode::kRequire : ArmorMode::kForbid);
    ExpectSuccess(o, plaintext);
  }
  // All identities at once, and the non-recipient first in the list.
  std::vector<const AgeIdentity*> all(stranger.identities().begin(),
                                      stranger.identities().end());
  all.insert(all.end(), keys.identities().begin(), keys.identities().end());
  ExpectSuccess(Decrypt(file, all, threads), plaintext);

  const Outcome o = Decrypt(file, stranger.identities(), threads);
  EXPECT_EQ(o.stage, Outcome::Stage::kUnlock);
  EXPECT_EQ(o.kind(), AgeErrorKind::kNoMatch) << o.status;
  EXPECT_TRUE(o.released.empty());
}

std::string RoundTripName(
    const ::testing::TestParamInfo<RoundTripParam>& info) {
  const size_t size = std::get<0>(info.param);
  const size_t n = std::get<1>(info.param);
  const bool armor = std::get<2>(info.param);
  const int threads = std::get<3>(info.param);
  return absl::StrCat("Size", size, "_Recipients", n,
                      armor ? "_Armored" : "_Binary",
                      threads == 1 ? "_OneThread" : "_Parallel");
}

INSTANTIATE_TEST_SUITE_P(
    Sizes, AgeTamperRoundTripTest,
    ::testing::Combine(::testing::Values(size_t{0}, size_t{1}, kChunk - 1,
                                         kChunk, kChunk + 1, 2 * kChunk,
                                         kBatch - 1, kBatch, kBatch + 1,
                                         size_t{5} * 1024 * 1024 + 7),
                       ::testing::Values(size_t{1}, size_t{5}),
                       ::testing::Bool(), ::testing::Values(1, 0)),
    RoundTripName);

TEST(AgeTamperWritePatternTest, RoundTripsWhateverTheWriteSizes) {
  const Keys keys(1);
  for (size_t size : {kChunk, kChunk + 1, kBatch, kBatch + 1, 2 * kBatch}) {
    const Bytes plaintext = Plaintext(size, size);
    for (size_t piece : {size_t{4096}, kChunk, kChunk + 1, kBatch}) {
      for (int threads : {1, 0}) {
        SCOPED_TRACE(absl::StrCat("size ", size, " piece ", piece, " threads ",
                                  threads));
        const Bytes a = Encrypt(plaintext, keys.recipients(), false, threads,
                                Feed::kPieces, piece);
        EXPECT_EQ(a.size() - LayoutOf(a).nonce_end, ExpectedPayloadSize(size));
        ExpectSuccess(Decrypt(a, keys.identities(), threads), plaintext);
        const Bytes b = Encrypt(plaintext, keys.recipients(), false, threads,
                                Feed::kWriteFrom);
        EXPECT_EQ(b.size() - LayoutOf(b).nonce_end, ExpectedPayloadSize(size));
        ExpectSuccess(Decrypt(b, keys.identities(), threads), plaintext);
      }
    }
  }
}

// ---------------------------------------------------------------------------
// 2. Bit flips.

// Checks one flipped file. Header flips must fail before any plaintext is
// released; nonce and payload flips fail in the payload with exactly the
// chunks before the flipped one released.
// `f` is the file, flipped here and restored before returning.
void CheckFlip(Bytes& f, const Layout& l, size_t bit,
               absl::Span<const AgeIdentity* const> ids,
               absl::Span<const uint8_t> plaintext, absl::string_view what) {
  const size_t byte = bit / 8;
  const uint8_t mask = static_cast<uint8_t>(1u << (bit % 8));
  f[byte] ^= mask;
  const Outcome o = Decrypt(f, ids, 1);
  f[byte] ^= mask;
  SCOPED_TRACE(absl::StrCat(what, ": flipped bit ", bit % 8, " of byte ", byte,
                            ": ", o.status.ToString()));
  ASSERT_FALSE(o.status.ok());
  const AgeErrorKind kind = o.kind();
  if (byte < l.header_end) {
    EXPECT_TRUE(kind == AgeErrorKind::kHeader || kind == AgeErrorKind::kHmac ||
                kind == AgeErrorKind::kNoMatch)
        << AgeErrorKindName(kind);
    EXPECT_NE(o.stage, Outcome::Stage::kDecrypt);
    EXPECT_TRUE(o.released.empty());
  } else if (byte < l.nonce_end) {
    ExpectPayloadFailure(o, plaintext, 0);
  } else {
    ExpectPayloadFailure(o, plaintext, l.chunk_of(byte) * kChunk);
  }
}

// 10,000 flips at positions drawn from a fixed seed over the whole file,
// split in shards so that ctest runs them in parallel.
constexpr uint64_t kFlipSeed = 0x7a9e5eed2024ULL;
constexpr int kFlips = 10000;
constexpr int kFlipShards = 4;

class AgeTamperRandomFlipTest : public AgeTamperTest,
                                public ::testing::WithParamInterface<int> {};

TEST_P(AgeTamperRandomFlipTest, RejectsRandomBitFlipsAnywhere) {
  const int shard = GetParam();
  std::printf(
      "random bit flips: seed %llu (0x%llx), flips %d-%d of %d over "
      "%zu bytes\n",
      static_cast<unsigned long long>(kFlipSeed),
      static_cast<unsigned long long>(kFlipSeed), shard * kFlips / kFlipShards,
      (shard + 1) * kFlips / kFlipShards - 1, kFlips, file_.size());
  RecordProperty("seed", std::to_string(kFlipSeed));
  // The same sequence in every shard; each checks its own slice of it.
  std::mt19937_64 rng(kFlipSeed);
  std::vector<size_t> bits(kFlips);
  for (size_t& b : bits) b = static_cast<size_t>(rng() % (file_.size() * 8));
  // The sequence covers every part of the file.
  size_t in_header = 0;
  std::vector<size_t> per_chunk(layout_.chunks());
  for (size_t b : bits) {
    if (b / 8 < layout_.nonce_end) {
      ++in_header;
    } else {
      ++per_chunk[layout_.chunk_of(b / 8)];
    }
  }
  EXPECT_GT(in_header, 0u);
  for (size_t n : per_chunk) EXPECT_GT(n, 0u);

  Bytes f = file_;
  for (int i = shard * kFlips / kFlipShards;
       i < (shard + 1) * kFlips / kFlipShards; ++i) {
    CheckFlip(f, layout_, bits[static_cast<size_t>(i)], keys_.identities(),
              plaintext_, absl::StrCat("seed ", kFlipSeed, " flip ", i));
    if (HasFailure()) break;
  }
}

INSTANTIATE_TEST_SUITE_P(Shards, AgeTamperRandomFlipTest,
                         ::testing::Range(0, kFlipShards));

TEST_F(AgeTamperTest, RejectsEveryBitFlipInTheHeaderAndNonce) {
  Bytes f = file_;
  for (size_t bit = 0; bit < layout_.nonce_end * 8; ++bit) {
    CheckFlip(f, layout_, bit, keys_.identities(), plaintext_, "exhaustive");
    if (HasFailure()) break;
  }
}

TEST_F(AgeTamperTest, RejectsEveryBitFlipInTheFinalChunk) {
  const size_t last = layout_.chunks() - 1;
  Bytes f = file_;
  for (size_t bit = layout_.chunk_begin(last) * 8; bit < layout_.size * 8;
       ++bit) {
    CheckFlip(f, layout_, bit, keys_.identities(), plaintext_, "exhaustive");
    if (HasFailure()) break;
  }
}

TEST(AgeTamperHeaderFlipTest, RejectsEveryBitFlipInATwoRecipientHeader) {
  const Keys keys(2);
  const Bytes plaintext = Plaintext(100, 2);
  Bytes file = EncryptWithSlashInMac(plaintext, keys.recipients());
  const Layout l = LayoutOf(file);
  for (size_t who = 0; who < 2; ++who) {
    for (size_t bit = 0; bit < l.nonce_end * 8; ++bit) {
      CheckFlip(file, l, bit, keys.identity(who), plaintext,
                absl::StrCat("exhaustive, identity ", who));
      if (::testing::Test::HasFailure()) return;
    }
  }
}

// The MAC line is not covered by the MAC, so its encoding must be
// canonical on its own: a byte outside the base64 alphabet in place of a
// '/' must be refused, not read as '/' (as libsodium 1.0.18's decoder does
// for every byte >= 0x80).
TEST_F(AgeTamperTest, RejectsAHighByteForASlashInTheMac) {
  const std::string mac = MacOf(file_);
  const size_t slash = mac.find('/');
  ASSERT_NE(slash, std::string::npos);
  for (uint8_t high : {uint8_t{0x80}, uint8_t{0xaf}, uint8_t{0xff}}) {
    Bytes f = file_;
    f[layout_.header_end - 44 + slash] = high;
    const Outcome o = Open(f);
    EXPECT_EQ(o.stage, Outcome::Stage::kOpen)
        << "byte 0x" << std::hex << int{high} << " for '/' at MAC char "
        << std::dec << slash << ": "
        << (o.status.ok() ? "accepted" : o.status.ToString());
    EXPECT_EQ(o.kind(), AgeErrorKind::kHeader) << o.status;
    EXPECT_TRUE(o.released.empty());
  }
}

// ---------------------------------------------------------------------------
// 3. Structural cases.

TEST_F(AgeTamperTest, AcceptsTheUntamperedFile) {
  ASSERT_EQ(layout_.chunks(), 4u);
  for (int threads : kThreadSettings)
    ExpectSuccess(Open(file_, threads), plaintext_);
}

TEST_F(AgeTamperTest, RejectsTruncationInsideTheHeader) {
  for (size_t len = 0; len < layout_.header_end; ++len) {
    const Outcome o = Open(absl::MakeConstSpan(file_).subspan(0, len));
    EXPECT_EQ(o.stage, Outcome::Stage::kOpen) << len;
    EXPECT_EQ(o.kind(), AgeErrorKind::kHeader) << len << ": " << o.status;
  }
}

TEST_F(AgeTamperTest, RejectsTruncationInsideTheNonce) {
  for (size_t len = layout_.header_end; len < layout_.nonce_end; ++len) {
    const Outcome o = Open(absl::MakeConstSpan(file_).subspan(0, len));
    EXPECT_EQ(o.stage, Outcome::Stage::kOpen) << len;
    EXPECT_EQ(o.kind(), AgeErrorKind::kHeader) << len << ": " << o.status;
  }
}

// Truncation at, just before and just after every chunk boundary of a file
// that spans two batches.
TEST(AgeTamperTruncationTest,
     RejectsTruncationAtEveryChunkBoundaryAndOneByteAround) {
  const Keys keys(1);
  const Bytes plaintext = Plaintext(kAcrossBatches, 3);
  const Bytes file = Encrypt(plaintext, keys.recipients(), false, 0);
  const Layout l = LayoutOf(file);
  ASSERT_EQ(l.chunks(), 18u);
  for (int threads : kThreadSettings) {
    for (size_t b = 0; b < l.chunks(); ++b) {
      const size_t at = l.chunk_begin(b);
      SCOPED_TRACE(absl::StrCat("threads ", threads, ", boundary ", b));
      // Exactly at the boundary: b whole chunks remain. The last of them is
      // genuine (it verifies as a non-final chunk), so it is released before
      // the missing final chunk is reported; with b == 0 there is no chunk.
      ExpectPayloadFailure(Decrypt(absl::MakeConstSpan(file).subspan(0, at),
                                   keys.identities(), threads),
                           plaintext, b * kChunk);
      // One byte past it: chunk b is a 1-byte stub.
      ExpectPayloadFailure(Decrypt(absl::MakeConstSpan(file).subspan(0, at + 1),
                                   keys.identities(), threads),
                           plaintext, b * kChunk);
      // One byte before it: chunk b-1 lost its last tag byte.
      if (b > 0) {
        ExpectPayloadFailure(
            Decrypt(absl::MakeConstSpan(file).subspan(0, at - 1),
                    keys.identities(), threads),
            plaintext, (b - 1) * kChunk);
      }
    }
    // One byte before the end of file: the final chunk lost a tag byte.
    ExpectPayloadFailure(
        Decrypt(absl::MakeConstSpan(file).subspan(0, l.size - 1),
                keys.identities(), threads),
        plaintext, (l.chunks() - 1) * kChunk);
  }
}

TEST_F(AgeTamperTest, RejectsDroppedFirstChunk) {
  const Bytes f =
      Assemble(file_, layout_,
               {ChunkOf(file_, layout_, 1), ChunkOf(file_, layout_, 2),
                ChunkOf(file_, layout_, 3)});
  for (int threads : kThreadSettings)
    ExpectPayloadFailure(Open(f, threads), plaintext_, 0);
}

TEST_F(AgeTamperTest, RejectsDroppedMiddleChunk) {
  const Bytes f =
      Assemble(file_, layout_,
               {ChunkOf(file_, layout_, 0), ChunkOf(file_, layout_, 2),
                ChunkOf(file_, layout_, 3)});
  for (int threads : kThreadSettings) {
    ExpectPayloadFailure(Open(f, threads), plaintext_, kChunk);
  }
}

TEST_F(AgeTamperTest, RejectsDroppedFinalChunk) {
  const Bytes f =
      Assemble(file_, layout_,
               {ChunkOf(file_, layout_, 0), ChunkOf(file_, layout_, 1),
                ChunkOf(file_, layout_, 2)});
  // Chunks 0-2 are genuine and released; the missing final chunk is the
  // failure.
  for (int threads : kThreadSettings) {
    ExpectPayloadFailure(Open(f, threads), plaintext_, 3 * kChunk);
  }
}

TEST_F(AgeTamperTest, RejectsDuplicatedChunk) {
  const Bytes f =
      Assemble(file_, layout_,
               {ChunkOf(file_, layout_, 0), ChunkOf(file_, layout_, 1),
                ChunkOf(file_, layout_, 1), ChunkOf(file_, layout_, 2),
                ChunkOf(file_, layout_, 3)});
  for (int threads : kThreadSettings) {
    ExpectPayloadFailure(Open(f, threads), plaintext_, 2 * kChunk);
  }
}

TEST_F(AgeTamperTest, RejectsDuplicatedFinalChunk) {
  const Bytes f =
      Assemble(file_, layout_,
               {ChunkOf(file_, layout_, 0), ChunkOf(file_, layout_, 1),
                ChunkOf(file_, layout_, 2), ChunkOf(file_, layout_, 3),
                ChunkOf(file_, layout_, 3)});
  for (int threads : kThreadSettings) {
    ExpectPayloadFailure(Open(f, threads), plaintext_, 3 * kChunk);
  }
}

TEST_F(AgeTamperTest, RejectsSwappedChunks) {
  const Bytes first =
      Assemble(file_, layout_,
               {ChunkOf(file_, layout_, 1), ChunkOf(file_, layout_, 0),
                ChunkOf(file_, layout_, 2), ChunkOf(file_, layout_, 3)});
  const Bytes middle =
      Assemble(file_, layout_,
               {ChunkOf(file_, layout_, 0), ChunkOf(file_, layout_, 2),
                ChunkOf(file_, layout_, 1), ChunkOf(file_, layout_, 3)});
  for (int threads : kThreadSettings) {
    ExpectPayloadFailure(Open(first, threads), plaintext_, 0);
    ExpectPayloadFailure(Open(middle, threads), plaintext_, kChunk);
  }
}

TEST_F(AgeTamperTest, RejectsAChunkFromAnotherFile) {
  // Same recipient, same plaintext, same size: only the keys differ.
  const Bytes other = Encrypt(plaintext_, keys_.recipients(), false, 0);
  const Layout lo = LayoutOf(other);
  ASSERT_EQ(lo.size, layout_.size);
  for (size_t k = 0; k < layout_.chunks(); ++k) {
    std::vector<absl::Span<const uint8_t>> chunks;
    for (size_t i = 0; i < layout_.chunks(); ++i) {
      chunks.push_back(i == k ? ChunkOf(other, lo, i)
                              : ChunkOf(file_, layout_, i));
    }
    const Bytes f = Assemble(file_, layout_, chunks);
    for (int threads : kThreadSettings) {
      SCOPED_TRACE(absl::StrCat("chunk ", k, ", threads ", threads));
      ExpectPayloadFailure(Open(f, threads), plaintext_, k * kChunk);
    }
  }
}

// An empty final chunk cannot be forged without the file key; what the
// encryptor controls is that it never emits one. A plaintext that is an
// exact multiple of 64 KiB ends in a full final chunk, not in a full chunk
// followed by an empty one.
TEST(AgeTamperEmptyFinalChunkTest, EncryptorNeverEmitsAnEmptyFinalChunk) {
  const Keys keys(1);
  for (size_t size : {kChunk, 2 * kChunk, kBatch, 2 * kBatch}) {
    const Bytes plaintext = Plaintext(size, size + 5);
    for (int threads : kThreadSettings) {
      for (Feed feed : {Feed::kOneWrite, Feed::kWriteFrom, Feed::kPieces}) {
        SCOPED_TRACE(absl::StrCat("size ", size, ", threads ", threads,
                                  ", feed ", static_cast<int>(feed)));
        const Bytes f =
            Encrypt(plaintext, keys.recipients(), false, threads, feed, kChunk);
        const Layout l = LayoutOf(f);
        EXPECT_EQ(l.size - l.nonce_end, size + (size / kChunk) * kAgeTagSize);
        EXPECT_EQ(l.chunks(), size / kChunk);
        EXPECT_EQ(ChunkOf(f, l, l.chunks() - 1).size(), kCtChunk);
        ExpectSuccess(Decrypt(f, keys.identities(), threads), plaintext);
        // Dropping that full final chunk leaves a file without a final chunk.
        if (l.chunks() > 1) {
          ExpectPayloadFailure(Decrypt(absl::MakeConstSpan(f).subspan(
                                           0, l.chunk_begin(l.chunks() - 1)),
                                       keys.identities(), threads),
                               plaintext, size - kChunk);
        }
      }
    }
  }
}

TEST_F(AgeTamperTest, RejectsOneTrailingByteAfterTheFinalChunk) {
  const Bytes f = Concat({file_, Bytes{0x00}});
  for (int threads : kThreadSettings) {
    ExpectPayloadFailure(Open(f, threads), plaintext_, 3 * kChunk);
  }
}

TEST_F(AgeTamperTest, RejectsSixteenTrailingBytesAfterTheFinalChunk) {
  const Bytes f = Concat({file_, Bytes(16, 0xa5)});
  for (int threads : kThreadSettings) {
    ExpectPayloadFailure(Open(f, threads), plaintext_, 3 * kChunk);
  }
}

TEST_F(AgeTamperTest, RejectsAFullChunkOfTrailingBytesAfterTheFinalChunk) {
  const Bytes f = Concat({file_, ChunkOf(file_, layout_, 1)});
  for (int threads : kThreadSettings) {
    ExpectPayloadFailure(Open(f, threads), plaintext_, 3 * kChunk);
  }
}

// When the final chunk is full, trailing data starts a new chunk: the final
// chunk itself is genuine and released (as the age reference does), and the
// file is still rejected.
TEST(AgeTamperTrailingTest, RejectsTrailingBytesAfterAFullFinalChunk) {
  const Keys keys(1);
  const Bytes plaintext = Plaintext(2 * kChunk, 9);
  const Bytes file = Encrypt(plaintext, keys.recipients(), false, 0);
  const Layout l = LayoutOf(file);
  for (size_t extra : {size_t{1}, size_t{16}, kCtChunk}) {
    const Bytes f = Concat({file, Bytes(extra, 0x5a)});
    for (int threads : kThreadSettings) {
      SCOPED_TRACE(absl::StrCat(extra, " trailing bytes, threads ", threads));
      ExpectPayloadFailure(Decrypt(f, keys.identities(), threads), plaintext,
                           2 * kChunk);
    }
  }
  // The final chunk repeated after itself: also trailing data.
  const Bytes f = Concat({file, ChunkOf(file, l, 1)});
  for (int threads : kThreadSettings) {
    ExpectPayloadFailure(Decrypt(f, keys.identities(), threads), plaintext,
                         2 * kChunk);
  }
}

TEST_F(AgeTamperTest, RejectsTheHeaderOfAnotherFileSplicedOntoThisPayload) {
  const Bytes other =
      Encrypt(Plaintext(kSeveralChunks, 2), keys_.recipients(), false, 0);
  const Layout lo = LayoutOf(other);
  const auto payload = absl::MakeConstSpan(file_).subspan(layout_.nonce_end);
  const auto nonce =
      absl::MakeConstSpan(file_).subspan(layout_.header_end, kAgeNonceSize);
  // The other file's header and nonce; then its header with our nonce.
  const Bytes with_nonce =
      Concat({absl::MakeConstSpan(other).subspan(0, lo.nonce_end), payload});
  const Bytes header_only = Concat(
      {absl::MakeConstSpan(other).subspan(0, lo.header_end), nonce, payload});
  for (int threads : kThreadSettings) {
    ExpectPayloadFailure(Open(with_nonce, threads), plaintext_, 0);
    ExpectPayloadFailure(Open(header_only, threads), plaintext_, 0);
  }
}

TEST_F(AgeTamperTest, RejectsThePayloadOfAnotherFileUnderThisHeader) {
  const Bytes other_plaintext = Plaintext(kSeveralChunks, 2);
  const Bytes other = Encrypt(other_plaintext, keys_.recipients(), false, 0);
  const Layout lo = LayoutOf(other);
  const Bytes f =
      Concat({absl::MakeConstSpan(file_).subspan(0, layout_.nonce_end),
              absl::MakeConstSpan(other).subspan(lo.nonce_end)});
  // Our header with the other file's nonce and payload.
  const Bytes g =
      Concat({absl::MakeConstSpan(file_).subspan(0, layout_.header_end),
              absl::MakeConstSpan(other).subspan(lo.header_end)});
  for (int threads : kThreadSettings) {
    ExpectPayloadFailure(Open(f, threads), plaintext_, 0);
    const Outcome o = Open(g, threads);
    ExpectPayloadFailure(o, other_plaintext, 0);
  }
}

// Re-encodes the header with the stanzas in the other order. The MAC covers
// the header bytes, so the swap must fail the MAC for every recipient.
TEST(AgeTamperStanzaOrderTest, RejectsAHeaderReencodedWithSwappedStanzas) {
  const Keys keys(2);
  const Bytes plaintext = Plaintext(1000, 4);
  const Bytes file = Encrypt(plaintext, keys.recipients(), false, 1);
  MemorySource src(file);
  BufferedSource in(src);
  absl::StatusOr<AgeHeader> header = ReadAgeHeader(in);
  ASSERT_TRUE(header.ok()) << header.status();
  ASSERT_EQ(header->stanzas.size(), 2u);
  const Layout l = LayoutOf(file);
  const auto rest = absl::MakeConstSpan(file).subspan(l.header_end);
  const Bytes mac_line =
      FromString(" " + Base64Encode(header->mac, Base64Padding::kNone) + "\n");
  auto reencode = [&](std::vector<AgeStanza> stanzas) {
    return Concat({EncodeAgeHeaderWithoutMac(stanzas), mac_line, rest});
  };
  // The re-encoder is faithful: the same order gives the same bytes.
  ASSERT_TRUE(reencode(header->stanzas) == file);
  std::vector<AgeStanza> swapped = {header->stanzas[1], header->stanzas[0]};
  const Bytes f = reencode(swapped);
  ASSERT_EQ(f.size(), file.size());
  ASSERT_FALSE(f == file);
  for (size_t who = 0; who < 2; ++who) {
    const Outcome o = Decrypt(f, keys.identity(who), 0);
    EXPECT_EQ(o.stage, Outcome::Stage::kUnlock);
    EXPECT_EQ(o.kind(), AgeErrorKind::kHmac) << o.status;
    EXPECT_TRUE(o.released.empty());
  }
}

// ---------------------------------------------------------------------------
// Armor.

class AgeTamperArmorTest : public ::testing::Test {
 protected:
  AgeTamperArmorTest()
      : keys_(1),
        plaintext_(Plaintext(kSeveralChunks, 6)),
        armored_(Encrypt(plaintext_, keys_.recipients(), true, 0)) {
    // The binary file it encodes, to locate the header and the chunks.
    const std::string text = ToString(armored_);
    std::string b64;
    size_t pos = kArmorBegin.size() + 1;
    while (true) {
      const size_t lf = text.find('\n', pos);
      const std::string line = text.substr(pos, lf - pos);
      if (line == kArmorEnd) break;
      b64 += line;
      pos = lf + 1;
    }
    absl::StatusOr<Bytes> bin = Base64Decode(b64, Base64Padding::kPadded);
    EXPECT_TRUE(bin.ok());
    binary_ = *std::move(bin);
    layout_ = LayoutOf(binary_);
  }

  Outcome Open(absl::Span<const uint8_t> f, int threads = 0) const {
    return Decrypt(f, keys_.identities(), threads);
  }
  // Offset in armored_ of base64 character `col` of body line `line`.
  static size_t CharAt(size_t line, size_t col) {
    return kArmorBegin.size() + 1 + line * 65 + col;
  }

  Keys keys_;
  Bytes plaintext_;
  Bytes armored_;
  Bytes binary_;
  Layout layout_;
};

TEST_F(AgeTamperArmorTest, AcceptsTheUntamperedFileAndTrailingWhitespace) {
  for (int threads : kThreadSettings) {
    ExpectSuccess(Open(armored_, threads), plaintext_);
    ExpectSuccess(Open(Concat({armored_, FromString("\n \r\n\t")}), threads),
                  plaintext_);
  }
}

TEST_F(AgeTamperArmorTest, RejectsAFlippedBase64CharacterInThePayload) {
  // The first character of a line encodes the top six bits of the line's
  // first byte: pick the line whose first byte is inside chunk 2.
  const size_t line = (layout_.chunk_begin(2) + 1000) / 48;
  const size_t byte = line * 48;
  ASSERT_EQ(layout_.chunk_of(byte), 2u);
  Bytes f = armored_;
  uint8_t& c = f[CharAt(line, 0)];
  c = c == 'A' ? 'B' : 'A';
  for (int threads : kThreadSettings) {
    ExpectPayloadFailure(Open(f, threads), plaintext_, 2 * kChunk);
  }
}

TEST_F(AgeTamperArmorTest, RejectsAFlippedBase64CharacterInTheHeader) {
  // "YWdl" is "age": change it and the version line is gone.
  ASSERT_EQ(armored_[CharAt(0, 0)], 'Y');
  Bytes f = armored_;
  f[CharAt(0, 0)] = 'Z';
  const Outcome o = Open(f);
  EXPECT_EQ(o.stage, Outcome::Stage::kOpen);
  EXPECT_EQ(o.kind(), AgeErrorKind::kHeader) << o.status;
  // A character of the MAC line changed to another base64 letter (the
  // 4-character group that holds it re-encoded): the armor and the header
  // parse, the MAC does not match.
  const size_t mac_char = layout_.header_end - 10;  // not the last MAC char
  Bytes bin = binary_;
  bin[mac_char] = bin[mac_char] == 'A' ? 'B' : 'A';
  const size_t group = mac_char / 3 * 3;
  const std::string quad = Base64Encode(
      absl::MakeConstSpan(bin).subspan(group, 3), Base64Padding::kPadded);
  Bytes g = armored_;
  std::copy(quad.begin(), quad.end(),
            g.begin() +
                static_cast<ptrdiff_t>(CharAt(group / 48, group % 48 / 3 * 4)));
  ASSERT_FALSE(g == armored_);
  const Outcome p = Open(g);
  EXPECT_EQ(p.stage, Outcome::Stage::kUnlock) << p.status;
  EXPECT_EQ(p.kind(), AgeErrorKind::kHmac) << p.status;
}

TEST_F(AgeTamperArmorTest, RejectsANonBase64Character) {
  for (size_t line : {size_t{0}, size_t{100}, (layout_.size - 1) / 48}) {
    Bytes f = armored_;
    f[CharAt(line, 0)] = '*';
    for (int threads : kThreadSettings) {
      const Outcome o = Open(f, threads);
      SCOPED_TRACE(absl::StrCat("line ", line, ", threads ", threads));
      EXPECT_EQ(o.kind(), AgeErrorKind::kArmor) << o.status;
      EXPECT_TRUE(IsPrefixOf(o.released, plaintext_));
      EXPECT_LT(o.released.size(), plaintext_.size());
    }
  }
}

// Armor is canonical base64: a byte >= 0x80 in place of a '/' is not '/'.
TEST_F(AgeTamperArmorTest, RejectsAHighByteForASlash) {
  const std::string text = ToString(armored_);
  // A '/' in the header lines and one in the payload.
  const size_t first = text.find('/', CharAt(0, 0));
  const size_t later = text.find('/', CharAt(layout_.chunk_begin(1) / 48, 0));
  ASSERT_NE(first, std::string::npos);
  ASSERT_NE(later, std::string::npos);
  for (size_t at : {first, later}) {
    Bytes f = armored_;
    f[at] = 0xaf;
    const Outcome o = Open(f);
    SCOPED_TRACE(absl::StrCat(
        "0xaf for '/' at byte ", at,
        " of the armor: ", o.status.ok() ? "accepted" : o.status.ToString()));
    EXPECT_EQ(o.kind(), AgeErrorKind::kArmor);
    EXPECT_TRUE(IsPrefixOf(o.released, plaintext_));
    EXPECT_LT(o.released.size(), plaintext_.size());
  }
}

TEST_F(AgeTamperArmorTest, RejectsTrailingGarbage) {
  for (absl::string_view garbage :
       {"x", "\nx", "-----BEGIN AGE ENCRYPTED FILE-----\n"}) {
    const Bytes f = Concat({armored_, FromString(garbage)});
    for (int threads : kThreadSettings) {
      const Outcome o = Open(f, threads);
      EXPECT_EQ(o.kind(), AgeErrorKind::kArmor) << o.status;
      EXPECT_TRUE(IsPrefixOf(o.released, plaintext_));
      EXPECT_LT(o.released.size(), plaintext_.size());
    }
  }
}

TEST_F(AgeTamperArmorTest, RejectsAMissingEndLine) {
  const std::string text = ToString(armored_);
  const size_t end = text.rfind(std::string(kArmorEnd));
  ASSERT_NE(end, std::string::npos);
  // Without the END line; and with it cut short.
  for (size_t len : {end, end + 10, end - 1}) {
    const Bytes f = FromString(text.substr(0, len));
    for (int threads : kThreadSettings) {
      const Outcome o = Open(f, threads);
      SCOPED_TRACE(absl::StrCat("length ", len, ", threads ", threads));
      EXPECT_EQ(o.kind(), AgeErrorKind::kArmor) << o.status;
      EXPECT_TRUE(IsPrefixOf(o.released, plaintext_));
      EXPECT_LT(o.released.size(), plaintext_.size());
    }
  }
}

// ---------------------------------------------------------------------------
// 4. The release rule: a failure in chunk k releases exactly chunks 0..k-1.

// Counts what the decryptor writes and checks it against the plaintext as
// it arrives.
class CheckingSink final : public ByteSink {
 public:
  explicit CheckingSink(absl::Span<const uint8_t> expected)
      : expected_(expected) {}
  absl::Status Write(absl::Span<const uint8_t> data) override {
    if (count_ + data.size() > expected_.size() ||
        !std::equal(data.begin(), data.end(),
                    expected_.begin() + static_cast<ptrdiff_t>(count_))) {
      mismatch_ = true;
    }
    count_ += data.size();
    return absl::OkStatus();
  }
  size_t count() const { return count_; }
  bool mismatch() const { return mismatch_; }

 private:
  absl::Span<const uint8_t> expected_;
  size_t count_ = 0;
  bool mismatch_ = false;
};

TEST(AgeTamperReleaseTest, ReleasesExactlyTheChunksBeforeACorruptChunk) {
  const Keys keys(1);
  const Bytes plaintext = Plaintext(kAcrossBatches, 8);
  const Bytes file = Encrypt(plaintext, keys.recipients(), false, 0);
  const Layout l = LayoutOf(file);
  for (int threads : kThreadSettings) {
    for (size_t k = 0; k < l.chunks(); ++k) {
      // Corrupt a ciphertext byte, and separately a tag byte, of chunk k.
      for (size_t at : {l.chunk_begin(k) + 7, l.chunk_end(k) - 1}) {
        SCOPED_TRACE(
            absl::StrCat("threads ", threads, ", chunk ", k, ", byte ", at));
        Bytes f = file;
        f[at] ^= 0x80;
        MemorySource src(f);
        AgeDecryptOptions options;
        options.stream.threads = threads;
        absl::StatusOr<std::unique_ptr<AgeDecryptor>> dec =
            AgeDecryptor::Open(src, options);
        ASSERT_TRUE(dec.ok()) << dec.status();
        ASSERT_TRUE((*dec)->Unlock(keys.identities()).ok());
        CheckingSink sink(plaintext);
        const absl::Status s = (*dec)->DecryptTo(sink);
        EXPECT_EQ(GetAgeErrorKind(s), AgeErrorKind::kPayload) << s;
        EXPECT_EQ(sink.count(), k * kChunk);
        EXPECT_EQ((*dec)->plaintext_bytes(), k * kChunk);
        EXPECT_FALSE(sink.mismatch());
      }
    }
  }
}

// ---------------------------------------------------------------------------
// Files built by hand from the public building blocks (header encoder, MAC,
// HKDF, libsodium's AEAD), to reach payloads the encryptor never writes.

struct ForgedChunk {
  Bytes plaintext;
  bool last;
};

Bytes Forge(const X25519Recipient& recipient,
            const std::vector<ForgedChunk>& chunks) {
  EnsureSodiumInitialized();
  const SecretBytes file_key = SecretBytes::Random(kAgeFileKeySize);
  absl::StatusOr<AgeStanza> stanza = recipient.Wrap(file_key);
  EXPECT_TRUE(stanza.ok());
  Bytes out = EncodeAgeHeaderWithoutMac({*stanza});
  const std::array<uint8_t, kAgeMacSize> mac =
      ComputeAgeHeaderMac(file_key, out);
  const Bytes mac_line =
      FromString(" " + Base64Encode(mac, Base64Padding::kNone) + "\n");
  out.insert(out.end(), mac_line.begin(), mac_line.end());
  std::array<uint8_t, kAgeNonceSize> nonce{};
  randombytes_buf(nonce.data(), nonce.size());
  out.insert(out.end(), nonce.begin(), nonce.end());
  SecretBytes key(crypto_aead_chacha20poly1305_ietf_KEYBYTES);
  EXPECT_TRUE(HkdfSha256(file_key.span(), nonce, "payload", key.span()).ok());
  for (size_t i = 0; i < chunks.size(); ++i) {
    std::array<uint8_t, crypto_aead_chacha20poly1305_ietf_NPUBBYTES> n{};
    uint64_t counter = i;
    for (size_t j = 11; j-- > 3;) {
      n[j] = static_cast<uint8_t>(counter & 0xff);
      counter >>= 8;
    }
    n[11] = chunks[i].last ? 1 : 0;
    const Bytes& p = chunks[i].plaintext;
    Bytes c(p.size() + kAgeTagSize);
    unsigned long long clen = 0;
    crypto_aead_chacha20poly1305_ietf_encrypt(c.data(), &clen, p.data(),
                                              p.size(), nullptr, 0, nullptr,
                                              n.data(), key.data());
    out.insert(out.end(), c.begin(), c.end());
  }
  return out;
}

TEST(AgeTamperForgedTest, AcceptsAWellFormedHandBuiltFile) {
  const Keys keys(1);
  const Bytes a = Plaintext(kChunk, 10), b = Plaintext(100, 11);
  for (int threads : kThreadSettings) {
    ExpectSuccess(Decrypt(Forge(keys.recipient(0), {{a, false}, {b, true}}),
                          keys.identities(), threads),
                  Concat({a, b}));
    ExpectSuccess(Decrypt(Forge(keys.recipient(0), {{{}, true}}),
                          keys.identities(), threads),
                  Bytes{});
  }
}

TEST(AgeTamperForgedTest, RejectsAnEmptyFinalChunkAfterAFullOne) {
  const Keys keys(1);
  const Bytes a = Plaintext(kChunk, 12);
  const Bytes f = Forge(keys.recipient(0), {{a, false}, {{}, true}});
  for (int threads : kThreadSettings) {
    // Chunk 0 is genuine and released; the empty final chunk is refused.
    ExpectPayloadFailure(Decrypt(f, keys.identities(), threads), a, kChunk);
  }
}

TEST(AgeTamperForgedTest, RejectsAChunkAfterAFinalChunk) {
  const Keys keys(1);
  const Bytes a = Plaintext(kChunk, 13), b = Plaintext(100, 14);
  const Bytes all = Concat({a, b});
  for (int threads : kThreadSettings) {
    ExpectPayloadFailure(
        Decrypt(Forge(keys.recipient(0), {{a, true}, {b, true}}),
                keys.identities(), threads),
        all, kChunk);
    ExpectPayloadFailure(
        Decrypt(Forge(keys.recipient(0), {{a, true}, {b, false}}),
                keys.identities(), threads),
        all, kChunk);
  }
}

TEST(AgeTamperForgedTest, RejectsAPayloadWithoutAFinalChunk) {
  const Keys keys(1);
  const Bytes a = Plaintext(kChunk, 15), b = Plaintext(100, 16);
  for (int threads : kThreadSettings) {
    // A short chunk not marked final is never released.
    ExpectPayloadFailure(
        Decrypt(Forge(keys.recipient(0), {{a, false}, {b, false}}),
                keys.identities(), threads),
        Concat({a, b}), kChunk);
    ExpectPayloadFailure(Decrypt(Forge(keys.recipient(0), {{a, false}}),
                                 keys.identities(), threads),
                         a, kChunk);
    ExpectPayloadFailure(Decrypt(Forge(keys.recipient(0), {{{}, false}}),
                                 keys.identities(), threads),
                         Bytes{}, 0);
  }
}

}  // namespace
}  // namespace tvault::crypto
