#include "tests/fuzz/vault_fixture.h"

#include <fcntl.h>
#include <stdlib.h>
#include <unistd.h>

#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <system_error>
#include <utility>
#include <vector>

#include "client/vault_auth.h"
#include "crypto/statement.h"
#include "tests/fuzz/fuzz_check.h"
#include "tests/fuzz/fuzz_random.h"
#include "tests/fuzz/fuzz_world.h"

namespace tvault::fuzz {
namespace {

using crypto::AsBytes;

std::string MakeScratchDir() {
  // scripts/fuzz.sh names a directory it removes afterwards (a crashed
  // process leaves its directory behind).
  const char* base = std::getenv("TVAULT_FUZZ_SCRATCH");
  if (base == nullptr) {
    base = ::access("/dev/shm", W_OK) == 0 ? "/dev/shm" : "/tmp";
  }
  std::string pattern = std::string(base) + "/tvault_fuzz_XXXXXX";
  if (::mkdtemp(pattern.data()) == nullptr) {
    std::perror("vault fixture: mkdtemp");
    std::abort();
  }
  return pattern;
}

std::string ReadAll(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  return std::string(std::istreambuf_iterator<char>(in),
                     std::istreambuf_iterator<char>());
}

void WriteAll(const std::string& path, const std::string& bytes) {
  const int fd = ::open(path.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0600);
  FUZZ_CHECK(fd >= 0);
  size_t done = 0;
  while (done < bytes.size()) {
    const ssize_t n = ::write(fd, bytes.data() + done, bytes.size() - done);
    FUZZ_CHECK(n > 0);
    done += static_cast<size_t>(n);
  }
  ::close(fd);
}

const crypto::SecretBytes& DatabaseKey() {
  static const crypto::SecretBytes* key =
      new crypto::SecretBytes(FixedSecret(10));
  return *key;
}

tvault::v1::SignedStatement Challenge(vault::VaultCore& core,
                                      const crypto::SigningKey& key) {
  const tvault::v1::Challenge c = Must(core.GetChallenge(), "challenge");
  return Must(
      client::SignAuthChallenge(c.nonce(), key, World::Get().tls_pin, kNow),
      "sign challenge");
}

void Register(vault::VaultCore& core, const WorldAccount& account) {
  tvault::v1::RegisterRequest r;
  *r.mutable_certificate() = account.cert.statement;
  *r.mutable_challenge() = Challenge(core, account.sign);
  Must(core.Register(r), "register");
}

vault::SessionTokenHash SignIn(vault::VaultCore& core,
                               const crypto::SigningKey& key) {
  tvault::v1::SignInRequest r;
  *r.mutable_challenge() = Challenge(core, key);
  const tvault::v1::Session s = Must(core.SignIn(r), "sign in");
  return vault::SessionTokenHash::Of(AsBytes(s.token()));
}

tvault::v1::UploadRequest Start(const std::array<uint8_t, 16>& record_id,
                                const std::string& ciphertext) {
  const World& w = World::Get();
  tvault::v1::UploadRequest m;
  tvault::v1::UploadStart* s = m.mutable_start();
  s->set_case_id(Str(w.case_id));
  s->set_record_id(Str(record_id));
  s->set_epoch(0);
  s->set_total_size(ciphertext.size());
  s->set_sha256(Str(crypto::ComputeSha256(AsBytes(ciphertext))));
  return m;
}

tvault::v1::UploadRequest Data(absl::string_view bytes) {
  tvault::v1::UploadRequest m;
  m.set_data(std::string(bytes));
  return m;
}

}  // namespace

VaultFixture& VaultFixture::Get() {
  static VaultFixture* fixture = new VaultFixture();
  return *fixture;
}

VaultFixture::VaultFixture() : dir_(MakeScratchDir()) {
  World::Get();
  static std::string* dir_to_remove = new std::string(dir_);
  std::atexit([] {
    std::error_code ignored;
    std::filesystem::remove_all(*dir_to_remove, ignored);
  });
  Build();
}

VaultFixture::Instance::~Instance() {
  core_.reset();
  log_.reset();
  store_.reset();
}

void VaultFixture::Build() {
  const World& w = World::Get();
  ResetDeterministicRandom(0x5eed);
  std::unique_ptr<Instance> instance = Assemble(Must(
      vault::SqlcipherStore::Create(DbPath(), DatabaseKey()), "create store"));
  vault::VaultCore& core = instance->core();

  Register(core, w.owner);
  Register(core, w.contributor);
  Register(core, w.outsider);
  tokens_[static_cast<int>(Caller::kOwner)] = SignIn(core, w.owner.sign);
  tokens_[static_cast<int>(Caller::kContributor)] =
      SignIn(core, w.contributor.sign);
  tokens_[static_cast<int>(Caller::kOutsider)] = SignIn(core, w.outsider.sign);
  const vault::SessionTokenHash* owner = Token(Caller::kOwner);

  tvault::v1::PublishDescriptorRequest d;
  *d.mutable_case_descriptor() = w.genesis.statement;
  Must(core.PublishDescriptor(owner, d), "publish descriptor");
  tvault::v1::PublishGrantsRequest g;
  tvault::v1::GrantRecord* grant = g.add_grants();
  *grant->mutable_grant() = w.grant.statement;
  grant->set_ciphertext(Str(w.grant.ciphertext));
  Must(core.PublishGrants(owner, g), "publish grant");
  tvault::v1::CreateInviteRequest i;
  *i.mutable_invite() = w.invite.statement;
  Must(core.CreateInvite(owner, i), "create invite");
  tokens_[static_cast<int>(Caller::kInvite)] = SignIn(core, w.invite_key);
  std::array<uint8_t, 32> unknown;
  unknown.fill(0x55);
  tokens_[static_cast<int>(Caller::kUnknown)] =
      vault::SessionTokenHash::Of(unknown);

  const vault::SessionTokenHash* contributor = Token(Caller::kContributor);
  ListUploadStream whole(
      {Start(w.record_id, w.record_ciphertext), Data(w.record_ciphertext)});
  Must(core.Upload(contributor, whole), "upload");

  for (size_t k = 0; k < pending_record_id.size(); ++k) {
    pending_record_id[k] = static_cast<uint8_t>(0x50 + k);
  }
  pending_held = 1000;
  ListUploadStream part(
      {Start(pending_record_id, w.record_ciphertext),
       Data(absl::string_view(w.record_ciphertext).substr(0, pending_held))});
  const absl::Status stopped = core.Upload(contributor, part).status();
  FUZZ_CHECK(absl::IsFailedPrecondition(stopped));

  instance.reset();  // closes the store: the WAL goes into the file
  db_bytes_ = ReadAll(DbPath());
  mirror_bytes_ = ReadAll(MirrorPath());
  FUZZ_CHECK(!db_bytes_.empty());
  FUZZ_CHECK(!mirror_bytes_.empty());
}

std::unique_ptr<VaultFixture::Instance> VaultFixture::Fresh() {
  for (const char* suffix : {"", "-wal", "-shm", "-journal"}) {
    ::unlink((DbPath() + suffix).c_str());
  }
  WriteAll(DbPath(), db_bytes_);
  WriteAll(MirrorPath(), mirror_bytes_);
  return Assemble(
      Must(vault::SqlcipherStore::Open(DbPath(), DatabaseKey()), "open store"));
}

std::unique_ptr<VaultFixture::Instance> VaultFixture::Assemble(
    std::unique_ptr<vault::SqlcipherStore> store) const {
  const World& w = World::Get();
  auto instance = std::unique_ptr<Instance>(new Instance());
  instance->now = kNow;
  instance->store_ = std::move(store);
  instance->log_ = std::make_unique<vault::TransparencyLog>(
      Must(crypto::NoteSigner::FromEd25519Seed(kLogOrigin,
                                               FixedSecret(6).span()),
           "log key"),
      MirrorPath());
  Instance* raw = instance.get();
  instance->core_ = std::make_unique<vault::VaultCore>(
      *instance->store_, *instance->log_, w.root.public_key(), w.tls_pin,
      vault::VaultConfig{}, [raw] { return raw->now; });
  return instance;
}

const vault::SessionTokenHash* VaultFixture::Token(Caller caller) const {
  const int i = static_cast<int>(caller);
  if (caller == Caller::kNone || i >= kCallerCount) return nullptr;
  return &tokens_[i];
}

}  // namespace tvault::fuzz
