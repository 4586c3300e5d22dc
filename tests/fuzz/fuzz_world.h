// One fixed organisation for every fuzz target and for the seed generator:
// a root key, three accounts, one case with its epoch-0 descriptor, a
// grant, the server bundle, an invite and the log's signing key, all from
// fixed seeds (and the deterministic random source of fuzz_random.h for
// what the library draws itself), so that a seed written by the generator
// means the same thing to the harness that reads it.
//
// Build it once per process (World::Get); it is immutable afterwards.
#ifndef TVAULT_TESTS_FUZZ_FUZZ_WORLD_H_
#define TVAULT_TESTS_FUZZ_FUZZ_WORLD_H_

#include <cstdint>
#include <string>
#include <vector>

#include "absl/strings/string_view.h"
#include "crypto/age_recipients.h"
#include "crypto/case_descriptor.h"
#include "crypto/certificate.h"
#include "crypto/grant.h"
#include "crypto/invite.h"
#include "crypto/record.h"
#include "crypto/signed_note.h"
#include "crypto/statement.h"
#include "crypto/tls_pin.h"
#include "proto/records.pb.h"

namespace tvault::fuzz {

// The world's clock (2026-09): certificates, descriptors and invites are
// valid at this time.
inline constexpr int64_t kNow = 1'790'000'000;
inline constexpr int64_t kDay = 86400;
inline constexpr char kLogOrigin[] = "vault.fuzz.example/log";

struct WorldAccount {
  crypto::SigningKey sign;
  crypto::X25519Identity box;
  crypto::VerifiedCertificate cert;
};

// A key of the world, by the role that signs with it.
enum class WorldKey : uint8_t {
  kRoot,
  kOwner,
  kContributor,
  kOutsider,
  kInvite,
  kNewcomer,
};
inline constexpr int kWorldKeyCount = 6;

class World {
 public:
  static const World& Get();

  // The organisation root (signs certificates, revocations, the bundle).
  crypto::SigningKey root;
  // Owner and member of the case (reviewer); a contributor of it; a
  // registered reviewer outside it; a certified reviewer the vault of
  // fuzz_vault_dispatch has not registered.
  WorldAccount owner;
  WorldAccount contributor;
  WorldAccount outsider;
  WorldAccount newcomer;
  // The case: epoch 0 only.
  crypto::X25519Identity epoch0;
  crypto::CaseId case_id{};
  crypto::VerifiedDescriptor genesis;
  crypto::CaseChain chain;
  // Epoch 0's identity granted by the owner to itself.
  crypto::CreatedGrant grant;
  crypto::TlsKeyPin tls_pin{};
  crypto::NoteSigner log_signer;
  tvault::v1::SignedStatement bundle;  // root-signed
  crypto::CreatedInvite invite;        // one use, expires kNow + 3 days
  crypto::SigningKey invite_key;
  // A record of the case by the contributor: its id, metadata, body and
  // ciphertext (to epoch0).
  std::array<uint8_t, 16> record_id{};
  tvault::v1::RecordMetadata record_meta;
  std::string record_body;
  std::string record_ciphertext;

  const crypto::SigningKey& Key(WorldKey key) const;
  crypto::CertificateLookup Lookup() const;
  // What RecordReader::Finish must find for a record of the case with
  // `record_id`, logged at kNow with `ciphertext`.
  crypto::RecordExpectations Expect(const std::array<uint8_t, 16>& id,
                                    absl::string_view ciphertext) const;
  // Metadata for a record of the case signed by `account` (or, for
  // nullptr, by the invite key).
  tvault::v1::RecordMetadata Meta(const std::array<uint8_t, 16>& id,
                                  const WorldAccount* account) const;

 private:
  World();
};

// A 32-byte secret filled with `tag` (fixed test keys).
crypto::SecretBytes FixedSecret(uint8_t tag);
crypto::SigningKey FixedSigningKey(uint8_t tag);

// Hand-made record containers (DESIGN.md §6): the layout with every length
// and the padding as given, then signed over exactly those bytes, so that a
// reader gets past the signature to the rule being tested.
struct ContainerParts {
  std::string magic = "TVR1";
  std::string meta;
  std::string body;
  int64_t body_len_delta = 0;  // added to the body_len field
  int64_t padding_delta = 0;   // added to the correct padding length
  uint8_t padding_byte = 0;
  std::string tag = "tvault/v1/record";
};
std::string SignContainer(const ContainerParts& parts,
                          const crypto::SigningKey& signer);

// The record profile's age encryption of `plaintext` to `recipient`, on one
// thread.
std::string EncryptTo(const crypto::X25519Recipient& recipient,
                      absl::string_view plaintext);

}  // namespace tvault::fuzz

#endif  // TVAULT_TESTS_FUZZ_FUZZ_WORLD_H_
