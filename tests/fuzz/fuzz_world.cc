#include "tests/fuzz/fuzz_world.h"

#include <sodium.h>

#include <cstdio>
#include <cstdlib>
#include <utility>

#include "absl/strings/escaping.h"
#include "crypto/age.h"
#include "crypto/io.h"
#include "crypto/padme.h"
#include "tests/fuzz/fuzz_check.h"
#include "tests/fuzz/fuzz_random.h"

namespace tvault::fuzz {
namespace {

using crypto::AsBytes;
using crypto::AsString;

std::string Hex(absl::Span<const uint8_t> b) {
  return absl::BytesToHexString(AsString(b));
}

WorldAccount MakeAccount(const crypto::SigningKey& root, uint8_t tag,
                         tvault::v1::Role role, const char* handle) {
  crypto::SigningKey sign = FixedSigningKey(tag);
  crypto::X25519Identity box =
      crypto::X25519Identity::FromSecret(FixedSecret(tag | 0x80));
  tvault::v1::Certificate body;
  body.set_version(1);
  body.set_sign_pk(Str(sign.public_key()));
  body.set_box_pk(Str(box.recipient().bytes()));
  body.add_roles(role);
  body.set_handle(handle);
  body.set_not_before(kNow - kDay);
  body.set_not_after(kNow + 300 * kDay);
  const tvault::v1::SignedStatement st =
      Must(crypto::IssueCertificate(body, root), "certificate");
  crypto::VerifiedCertificate cert =
      Must(crypto::VerifyCertificate(st, root.public_key()), "verify cert");
  return WorldAccount{std::move(sign), std::move(box), std::move(cert)};
}

crypto::CaseId FixedCaseId() {
  crypto::CaseId id;
  for (size_t i = 0; i < id.size(); ++i) id[i] = static_cast<uint8_t>(0xc0 + i);
  return id;
}

crypto::VerifiedDescriptor MakeGenesis(const crypto::CaseId& case_id,
                                       const crypto::X25519Identity& epoch0,
                                       const WorldAccount& owner,
                                       const WorldAccount& contributor) {
  crypto::EpochMembership m;
  m.owners = {owner.cert.fingerprint};
  m.members = {owner.cert.fingerprint};
  m.contributors = {contributor.cert.fingerprint};
  return Must(
      crypto::CreateGenesisDescriptor(case_id, epoch0.recipient(), m,
                                      kNow + 30 * kDay, owner.cert, owner.sign),
      "genesis");
}

tvault::v1::SignedStatement MakeBundle(const crypto::SigningKey& root,
                                       const crypto::NoteSigner& log,
                                       const crypto::TlsKeyPin& pin) {
  tvault::v1::ServerBundle b;
  b.set_version(1);
  b.add_addresses(std::string(55, 'f') + "d.onion:443");
  b.add_addresses("vault.fuzz.example:443");
  b.set_tls_pin(Str(pin));
  b.set_log_origin(kLogOrigin);
  b.set_log_verifier_key(log.verifier().Encode());
  b.set_issued_at(kNow - kDay);
  return Must(crypto::IssueServerBundle(b, root), "bundle");
}

crypto::TlsKeyPin FixedPin() {
  crypto::TlsKeyPin pin;
  pin.fill(0x42);
  return pin;
}

// Starts the deterministic random source before any member draws from it.
bool StartRandom() {
  ResetDeterministicRandom(0x7715);
  return true;
}

}  // namespace

crypto::SecretBytes FixedSecret(uint8_t tag) {
  crypto::SecretBytes s(32);
  for (size_t i = 0; i < s.size(); ++i) {
    s.data()[i] = static_cast<uint8_t>(tag + 7 * i);
  }
  return s;
}

crypto::SigningKey FixedSigningKey(uint8_t tag) {
  return Must(crypto::SigningKey::FromSeed(FixedSecret(tag)), "signing key");
}

const World& World::Get() {
  static const bool random_started = StartRandom();
  (void)random_started;
  static const World* world = new World();
  return *world;
}

World::World()
    : root(FixedSigningKey(1)),
      owner(MakeAccount(root, 2, tvault::v1::REVIEWER, "owner-1")),
      contributor(MakeAccount(root, 3, tvault::v1::CONTRIBUTOR, "lawyer-2")),
      outsider(MakeAccount(root, 4, tvault::v1::REVIEWER, "reviewer-3")),
      newcomer(MakeAccount(root, 11, tvault::v1::REVIEWER, "reviewer-4")),
      epoch0(crypto::X25519Identity::FromSecret(FixedSecret(5))),
      case_id(FixedCaseId()),
      genesis(MakeGenesis(case_id, epoch0, owner, contributor)),
      chain(Must(crypto::CaseChain::Create(genesis.hash), "chain")),
      tls_pin(FixedPin()),
      log_signer(Must(crypto::NoteSigner::FromEd25519Seed(
                          kLogOrigin, FixedSecret(6).span()),
                      "log key")),
      bundle(MakeBundle(root, log_signer, tls_pin)),
      invite_key(FixedSigningKey(7)) {
  if (absl::Status s = chain.Accept(genesis.statement, Lookup()); !s.ok()) {
    std::fprintf(stderr, "fuzz world: genesis: %s\n", s.ToString().c_str());
    std::abort();
  }
  grant = Must(
      crypto::CreateGrant(chain, 0, epoch0, owner.cert, owner.cert, owner.sign),
      "grant");
  invite = Must(crypto::CreateInvite(
                    chain, bundle, root.public_key(), owner.cert, owner.sign,
                    {.now = kNow, .expires = kNow + 3 * kDay, .uses = 1}),
                "invite");
  const crypto::ParsedInvite parsed =
      Must(crypto::ParseInvite(invite.text.span(), kNow), "parse invite");
  invite_key = Must(crypto::InviteSigningKey(parsed.seed), "invite key");

  for (size_t i = 0; i < record_id.size(); ++i) {
    record_id[i] = static_cast<uint8_t>(0x30 + i);
  }
  record_meta = Meta(record_id, &contributor);
  record_meta.set_title("Meeting of 3 March");
  record_body = "The client says the interrogation lasted nine hours.\n";
  crypto::VectorSink sink;
  std::unique_ptr<crypto::RecordWriter> w =
      Must(crypto::RecordWriter::Create(epoch0.recipient(), record_meta,
                                        record_body.size(), contributor.sign,
                                        sink, {.threads = 1}),
           "record writer");
  if (!w->Write(AsBytes(record_body)).ok() || !w->Finish().ok()) {
    std::fprintf(stderr, "fuzz world: record write failed\n");
    std::abort();
  }
  record_ciphertext = Str(sink.bytes());
}

const crypto::SigningKey& World::Key(WorldKey key) const {
  switch (key) {
    case WorldKey::kRoot:
      return root;
    case WorldKey::kOwner:
      return owner.sign;
    case WorldKey::kContributor:
      return contributor.sign;
    case WorldKey::kOutsider:
      return outsider.sign;
    case WorldKey::kInvite:
      return invite_key;
    case WorldKey::kNewcomer:
      return newcomer.sign;
  }
  return root;
}

crypto::CertificateLookup World::Lookup() const {
  return [this](const crypto::Fingerprint& fp)
             -> const crypto::VerifiedCertificate* {
    for (const WorldAccount* a : {&owner, &contributor, &outsider, &newcomer}) {
      if (a->cert.fingerprint == fp) return &a->cert;
    }
    return nullptr;
  };
}

tvault::v1::RecordMetadata World::Meta(const std::array<uint8_t, 16>& id,
                                       const WorldAccount* account) const {
  tvault::v1::RecordMetadata m;
  m.set_record_id(Hex(id));
  m.set_case_id(Hex(case_id));
  m.set_epoch(0);
  m.set_kind(account == nullptr ? tvault::v1::TESTIMONY
                                : tvault::v1::MEETING_TRANSCRIPT);
  m.set_title("What happened on 3 March");
  m.set_language("en");
  m.set_created_at("2026-09-21T10:00:00Z");
  if (account == nullptr) {
    m.mutable_submitter()->set_sign_pk(Hex(invite_key.public_key()));
    m.mutable_submitter()->set_relation("mother");
  } else {
    m.mutable_submitter()->set_sign_pk(Hex(account->sign.public_key()));
    *m.mutable_submitter()->mutable_certificate() = account->cert.statement;
  }
  return m;
}

crypto::RecordExpectations World::Expect(const std::array<uint8_t, 16>& id,
                                         absl::string_view ciphertext) const {
  crypto::RecordExpectations e;
  e.case_id = case_id;
  e.record_id = id;
  e.descriptor = genesis.body;
  e.ciphertext_sha256 = crypto::ComputeSha256(AsBytes(ciphertext));
  e.log_time = kNow;
  e.log_time_precision = 3600;
  e.org_pk = root.public_key();
  e.invites.push_back({.key = invite_key.public_key(),
                       .epoch = 0,
                       .registered_at = kNow - 3600,
                       .expires = kNow + 3 * kDay,
                       .revoked_at = std::nullopt});
  e.current_epoch_at_log_time = 0;
  return e;
}

std::string SignContainer(const ContainerParts& parts,
                          const crypto::SigningKey& signer) {
  std::string out = parts.magic;
  const auto put = [&out](uint64_t v, int n) {
    for (int i = n - 1; i >= 0; --i) {
      out.push_back(static_cast<char>((v >> (8 * i)) & 0xff));
    }
  };
  const uint64_t l = 16 + parts.meta.size() + parts.body.size() + 96;
  const int64_t padding =
      static_cast<int64_t>(crypto::RecordPaddedLength(l) - l) +
      parts.padding_delta;
  put(parts.meta.size(), 4);
  put(static_cast<uint64_t>(static_cast<int64_t>(parts.body.size()) +
                            parts.body_len_delta),
      8);
  out += parts.meta;
  out += parts.body;
  if (padding > 0) {
    out.append(static_cast<size_t>(padding),
               static_cast<char>(parts.padding_byte));
  }
  out += Str(signer.public_key());
  uint8_t digest[64];
  crypto_generichash(digest, sizeof digest,
                     reinterpret_cast<const uint8_t*>(out.data()), out.size(),
                     nullptr, 0);
  out += Str(signer.Sign(parts.tag, digest));
  return out;
}

std::string EncryptTo(const crypto::X25519Recipient& recipient,
                      absl::string_view plaintext) {
  crypto::VectorSink sink;
  const crypto::AgeRecipient* r[] = {&recipient};
  std::unique_ptr<crypto::AgeEncryptor> enc =
      Must(crypto::AgeEncryptor::Create(r, sink, {.stream = {.threads = 1}}),
           "encryptor");
  if (!enc->Write(AsBytes(plaintext)).ok() || !enc->Finish().ok()) {
    std::fprintf(stderr, "fuzz world: encryption failed\n");
    std::abort();
  }
  return Str(sink.bytes());
}

}  // namespace tvault::fuzz
