// fuzz_make_seeds OUT_DIR: writes the seed corpus of every fuzz target
// into OUT_DIR/<target>/, made from valid objects of the fixed world
// (fuzz_world.h) and, for the age targets, the files of the C2SP age test
// kit (tests/vectors/age-testkit, public test vectors). The output is the
// same on every run (fixed keys, deterministic random source), so the
// committed corpora can be checked against it (ctest fuzz_seeds_current)
// and regenerated with:
//   build/tests/fuzz/fuzz_make_seeds tests/fuzz/corpus
#include "tests/fuzz/make_seeds.h"

#include <zlib.h>

#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <map>
#include <string>
#include <vector>

#include "crypto/age_stream.h"
#include "crypto/case_descriptor.h"
#include "crypto/certificate.h"
#include "crypto/io.h"
#include "crypto/record_metadata.h"
#include "crypto/statement.h"
#include "tests/fuzz/fuzz_check.h"
#include "tests/fuzz/fuzz_random.h"
#include "tests/fuzz/fuzz_world.h"
#include "tests/fuzz/vault_fixture.h"

namespace tvault::fuzz::seeds {
namespace {

namespace fs = std::filesystem;
using crypto::AsBytes;

std::string out_dir;

// The test kit's age files, decompressed, without their textual header;
// only those up to 100 KB (a corpus stays small).
std::map<std::string, std::string> TestkitFiles() {
  std::map<std::string, std::string> files;
  const fs::path dir =
      fs::path(TVAULT_SOURCE_DIR) / "tests/vectors/age-testkit";
  for (const fs::directory_entry& e : fs::directory_iterator(dir)) {
    const std::string name = e.path().filename().string();
    if (name == "README.md") continue;
    std::ifstream in(e.path(), std::ios::binary);
    const std::string all((std::istreambuf_iterator<char>(in)),
                          std::istreambuf_iterator<char>());
    const size_t blank = all.find("\n\n");
    FUZZ_CHECK(blank != std::string::npos);
    std::string file = all.substr(blank + 2);
    if (all.substr(0, blank).find("compressed: zlib") != std::string::npos) {
      std::string out(1 << 20, '\0');
      uLongf size = static_cast<uLongf>(out.size());
      if (uncompress(reinterpret_cast<Bytef*>(out.data()), &size,
                     reinterpret_cast<const Bytef*>(file.data()),
                     static_cast<uLong>(file.size())) != Z_OK) {
        continue;  // larger than 1 MiB: far over the limit anyway
      }
      out.resize(size);
      file = out;
    }
    if (file.size() <= 100'000) files[name] = file;
  }
  return files;
}

std::string Encrypt(absl::string_view plain) {
  crypto::VectorSink sink;
  const crypto::SecretBytes key = FixedSecret(9);  // as fuzz_age_stream
  std::unique_ptr<crypto::StreamPipeline> p = crypto::StreamPipeline::Create(
      crypto::StreamPipeline::Direction::kEncrypt, key, sink, {.threads = 1});
  FUZZ_CHECK_OK(p->Write(AsBytes(plain)));
  FUZZ_CHECK_OK(p->Finish());
  return Str(sink.bytes());
}

std::string Pattern(size_t n) {
  std::string s(n, '\0');
  for (size_t i = 0; i < n; ++i) s[i] = static_cast<char>('a' + i % 26);
  return s;
}

}  // namespace

void Put(absl::string_view target, absl::string_view name,
         absl::string_view bytes) {
  const fs::path dir = fs::path(out_dir) / std::string(target);
  fs::create_directories(dir);
  std::ofstream out(dir / std::string(name), std::ios::binary);
  out.write(bytes.data(), static_cast<std::streamsize>(bytes.size()));
  FUZZ_CHECK(out.good());
}

std::string U16(uint64_t v) {
  FUZZ_CHECK(v <= 0xffff);
  return {static_cast<char>(v >> 8), static_cast<char>(v & 0xff)};
}

std::string U32(uint64_t v) { return U16(v >> 16 & 0xffff) + U16(v & 0xffff); }

std::string Field(absl::string_view bytes) {
  return U16(bytes.size()) + std::string(bytes);
}

std::string Bytes(const google::protobuf::Message& m) {
  return crypto::SerializeDeterministic(m);
}

tvault::v1::SignedStatement OutsiderRevocation() {
  const World& w = World::Get();
  tvault::v1::Revocation rev;
  rev.set_version(1);
  rev.set_cert_fingerprint(Str(w.outsider.cert.fingerprint));
  rev.set_revoked_at(kNow);
  rev.set_reason("phone seized at a checkpoint");
  return Must(crypto::IssueRevocation(rev, w.root));
}

crypto::X25519Identity Epoch1Identity() {
  return crypto::X25519Identity::FromSecret(FixedSecret(13));
}

crypto::VerifiedDescriptor Epoch1Descriptor() {
  const World& w = World::Get();
  crypto::EpochMembership m;
  m.owners = {w.owner.cert.fingerprint};
  m.members = {w.owner.cert.fingerprint, w.outsider.cert.fingerprint};
  m.contributors = {w.contributor.cert.fingerprint};
  return Must(crypto::CreateNextEpoch(w.genesis, Epoch1Identity().recipient(),
                                      m, kNow + 30 * kDay, w.owner.cert,
                                      w.owner.sign));
}

tvault::v1::SignedStatement DeleteWorldRecord() {
  const World& w = World::Get();
  tvault::v1::DeleteRequest del;
  del.set_version(1);
  del.set_case_id(Str(w.case_id));
  del.set_record_id(Str(w.record_id));
  del.set_requested_at(kNow);
  del.set_reason("submitted twice");
  return crypto::SignStatement(crypto::StatementType::kDelete, del,
                               w.owner.sign);
}

tvault::v1::SignedStatement AuthBy(const crypto::SigningKey& key) {
  const World& w = World::Get();
  tvault::v1::AuthChallenge c;
  c.set_version(1);
  c.set_tls_key_sha256(Str(w.tls_pin));
  c.set_nonce(std::string(32, '\x11'));
  c.set_caller_sign_pk(Str(key.public_key()));
  c.set_issued_at(kNow);
  return crypto::SignStatement(crypto::StatementType::kAuth, c, key);
}

void AgeSeeds() {
  const World& w = World::Get();
  for (const auto& [name, file] : TestkitFiles()) {
    Put("age_header", "testkit-" + name, file);
    if (name.rfind("armor", 0) == 0) Put("age_armor", "testkit-" + name, file);
  }
  Put("age_header", "record", w.record_ciphertext);

  Put("age_armor", "empty", "");
  Put("age_armor", "text", "What happened on 3 March.\n");
  const std::string begin = std::string(crypto::kArmorBegin) + "\n";
  const std::string end = std::string(crypto::kArmorEnd) + "\n";
  Put("age_armor", "armor-empty-body", begin + end);
  Put("age_armor", "armor-one-line",
      begin + "VGhlIGNsaWVudCBzYXlzIHRoZSBpbnRlcnJvZ2F0aW9uIGxhc3RlZCBuaW5l\n" +
          "IGhvdXJzLg==\n" + end);

  // fuzz_age_stream: mode, then as its header comment says.
  for (size_t n : {size_t{0}, size_t{1}, size_t{100}, crypto::kAgeChunkSize,
                   crypto::kAgeChunkSize + 1}) {
    const std::string name = "raw-" + std::to_string(n);
    Put("age_stream", name,
        std::string(1, '\0') + U16(4095) + Encrypt(Pattern(n)));
  }
  Put("age_stream", "raw-two-threads",
      std::string(1, '\2') + U16(999) + Encrypt(Pattern(70000)));
  struct Structured {
    const char* name;
    uint32_t length;
    uint16_t piece;
    std::string ops;  // count, then 6 bytes each
  };
  const std::string flip = std::string(1, '\0') + U32(65536 + 16 + 5) + "\x40";
  const std::string cut = std::string(1, '\1') + U32(65536 + 16) + "\0";
  const std::string insert = std::string(1, '\2') + U32(7) + "x";
  const std::string remove = std::string(1, '\3') + U32(65530) + "\x20";
  const std::string swap = std::string(1, '\4') + U32(0) + "\0";
  const Structured structured[] = {
      {"enc-empty", 0, 100, std::string(1, '\0')},
      {"enc-one-chunk", 1000, 333, std::string(1, '\0')},
      {"enc-full-chunk", 65536, 4096, std::string(1, '\0')},
      {"enc-chunk-and-one", 65537, 65535, std::string(1, '\0')},
      {"enc-two-chunks-and-one", 2 * 65536 + 1, 65535, std::string(1, '\0')},
      {"tamper-flip", 70000, 1000, "\1" + flip},
      {"tamper-truncate-at-chunk", 131072, 8192, "\1" + cut},
      {"tamper-insert-remove", 2000, 100, "\2" + insert + remove},
      {"tamper-swap-chunks", 2 * 65536, 65535, "\1" + swap},
  };
  for (const Structured& s : structured) {
    Put("age_stream", s.name,
        std::string(1, '\1') +
            std::string(1, static_cast<char>(s.length >> 16)) +
            U16(s.length & 0xffff) + U16(s.piece - 1) + s.ops + "testimony");
  }
}

void RecordSeeds() {
  const World& w = World::Get();
  // The byte that makes fuzz_record pick `key` (it adds 2, modulo the
  // count).
  const auto signer = [](WorldKey key) {
    return std::string(
        1, static_cast<char>((static_cast<int>(key) + kWorldKeyCount - 2) %
                             kWorldKeyCount));
  };
  const auto json = [&w](const WorldAccount* a) {
    absl::StatusOr<std::string> j =
        crypto::PrintRecordMetadata(w.Meta(w.record_id, a));
    FUZZ_CHECK_OK(j.status());
    return *j;
  };
  struct Signed {
    const char* name;
    WorldKey key;
    const WorldAccount* account;
    std::string knobs;  // knobs, body_len delta, padding delta, padding
    std::string body;
  };
  const std::string regular("\0\0\0\0", 4);
  const Signed signed_seeds[] = {
      {"signed-contributor", WorldKey::kContributor, &w.contributor, regular,
       "The client says the interrogation lasted nine hours.\n"},
      {"signed-owner", WorldKey::kOwner, &w.owner, regular, "notes"},
      {"signed-invite", WorldKey::kInvite, nullptr, regular,
       "My son was taken on 3 March."},
      {"signed-empty-body", WorldKey::kInvite, nullptr, regular, ""},
      {"signed-large-body", WorldKey::kInvite, nullptr, regular,
       Pattern(70000)},
      {"signed-outsider", WorldKey::kOutsider, &w.outsider, regular, "x"},
      {"bad-magic", WorldKey::kInvite, nullptr, std::string("\1\0\0\0", 4),
       "x"},
      {"bad-tag", WorldKey::kInvite, nullptr, std::string("\2\0\0\0", 4), "x"},
      {"body-len-plus-one", WorldKey::kInvite, nullptr,
       std::string("\0\1\0\0", 4), "x"},
      {"body-len-compensated", WorldKey::kInvite, nullptr,
       std::string("\0\1\xff\0", 4), "x"},
      {"padding-short", WorldKey::kInvite, nullptr,
       std::string("\0\0\xff\0", 4), "x"},
      {"padding-nonzero", WorldKey::kInvite, nullptr,
       std::string("\0\0\0\1", 4), "x"},
  };
  for (const Signed& s : signed_seeds) {
    const std::string fields =
        signer(s.key) + s.knobs + Field(json(s.account)) + s.body;
    Put("record", s.name, std::string(1, '\0') + fields);
  }
  Put("record", "tamper-flip-header",
      std::string(1, '\3') + std::string(1, '\0') + U32(40) + "\x10" +
          signer(WorldKey::kInvite) + regular + Field(json(nullptr)) + "x");
  Put("record", "tamper-truncate",
      std::string(1, '\3') + std::string(1, '\1') + U32(65000) + "\0" +
          signer(WorldKey::kInvite) + regular + Field(json(nullptr)) + "x");
  Put("record", "tamper-insert",
      std::string(1, '\3') + std::string(1, '\2') + U32(500) + "!" +
          signer(WorldKey::kContributor) + regular +
          Field(json(&w.contributor)) + "x");

  // The world's record: its container (raw) and its age file.
  crypto::MemorySource src(w.record_ciphertext);
  auto dec = crypto::AgeDecryptor::Open(src, {.stream = {.threads = 1}});
  FUZZ_CHECK_OK(dec.status());
  const crypto::AgeIdentity* ids[] = {&w.epoch0};
  FUZZ_CHECK_OK((*dec)->Unlock(ids));
  crypto::VectorSink container;
  FUZZ_CHECK_OK((*dec)->DecryptTo(container));
  Put("record", "raw-world-record", "\1" + Str(container.bytes()));
  Put("record", "file-world-record", "\2" + w.record_ciphertext);
  Put("record", "file-not-a-record", "\2age-encryption.org/v1\n-> X25519 A\n");
}

}  // namespace tvault::fuzz::seeds

int main(int argc, char** argv) {
  using namespace tvault::fuzz;
  if (argc != 2) {
    std::fprintf(stderr, "usage: %s OUT_DIR\n", argv[0]);
    return 2;
  }
  seeds::out_dir = argv[1];
  World::Get();
  VaultFixture::Get();
  // The record's encryption draws an ephemeral key: the same every run.
  ResetDeterministicRandom(42);
  seeds::AgeSeeds();
  seeds::RecordSeeds();
  seeds::StatementSeeds();
  seeds::InviteSeeds();
  seeds::LogSeeds();
  seeds::VaultSeeds();
  std::printf("seeds written to %s\n", argv[1]);
  return 0;
}
