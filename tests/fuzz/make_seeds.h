// The seed generator's parts (make_seeds.cc, make_vault_seeds.cc): where
// seeds go and how their little framings are written.
#ifndef TVAULT_TESTS_FUZZ_MAKE_SEEDS_H_
#define TVAULT_TESTS_FUZZ_MAKE_SEEDS_H_

#include <cstdint>
#include <string>

#include "absl/strings/string_view.h"
#include "crypto/age_recipients.h"
#include "crypto/case_descriptor.h"
#include "crypto/statement.h"
#include "google/protobuf/message.h"
#include "proto/records.pb.h"

namespace tvault::fuzz::seeds {

// Writes OUT_DIR/<target>/<name>; aborts on an I/O error.
void Put(absl::string_view target, absl::string_view name,
         absl::string_view bytes);

std::string U16(uint64_t v);  // 2 bytes, big-endian (v must fit)
std::string U32(uint64_t v);  // 4 bytes, big-endian
// A ByteReader field: U16 length, then the bytes.
std::string Field(absl::string_view bytes);
// The deterministic serialisation of `m`.
std::string Bytes(const google::protobuf::Message& m);

// Statements of the world that several targets' seeds use.
// The root's revocation of the outsider's certificate, at kNow.
tvault::v1::SignedStatement OutsiderRevocation();
// Epoch 1 of the case (the outsider added as a member), by the owner.
crypto::X25519Identity Epoch1Identity();
crypto::VerifiedDescriptor Epoch1Descriptor();
// The owner's request to delete the world's record.
tvault::v1::SignedStatement DeleteWorldRecord();
// An AuthChallenge for the world's TLS pin at kNow, signed by `key`, with
// a nonce the vault never issued (the harness puts in a fresh one).
tvault::v1::SignedStatement AuthBy(const crypto::SigningKey& key);

// Each target's seeds.
void AgeSeeds();
void RecordSeeds();
void StatementSeeds();
void InviteSeeds();
void LogSeeds();
void VaultSeeds();

}  // namespace tvault::fuzz::seeds

#endif  // TVAULT_TESTS_FUZZ_MAKE_SEEDS_H_
