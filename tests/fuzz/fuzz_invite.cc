// Fuzz target: invite strings (crypto/invite.h), as a family member's
// device reads one from a QR code or a message.
//
// Input: a mode byte, a clock byte, the rest.
//   mode 0      the rest is the invite string as typed;
//   mode 1      the rest is the Invite message; the harness makes the
//               string ("tvault-invite-1:" and unpadded base64url), so that
//               mutations reach the message and its rules;
//   mode 2      a uses byte and a lifetime (4 bytes; 0 for the default):
//               the world's owner creates an invite with them (CreateInvite).
//   clock       the reader's time: the world's clock plus (signed byte) x
//               6 hours.
//
// Invariants, for a string ParseInvite accepts:
// - it is the only string for what was parsed: rebuilding the Invite from
//   the parsed fields and encoding it gives back the input exactly;
// - it has not expired and does not reach past 7 days (and the allowed
//   clock skew) from now; read again at its expiry, it has expired
//   (FailedPrecondition);
// - the seed makes an invite key; the recipient re-encodes to itself;
// - an invite CreateInvite makes parses back to what was asked (case,
//   epoch, recipient, genesis, bundle, expiry, the key of its statement),
//   and its statement verifies.
#include <sodium.h>

#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>

#include "crypto/invite.h"
#include "crypto/statement.h"
#include "proto/records.pb.h"
#include "tests/fuzz/fuzz_check.h"
#include "tests/fuzz/fuzz_random.h"
#include "tests/fuzz/fuzz_world.h"

namespace tvault::fuzz {
namespace {

using crypto::AsBytes;

std::string Base64Url(absl::string_view bin) {
  std::string out(sodium_base64_ENCODED_LEN(
                      bin.size(), sodium_base64_VARIANT_URLSAFE_NO_PADDING),
                  '\0');
  sodium_bin2base64(out.data(), out.size(),
                    reinterpret_cast<const uint8_t*>(bin.data()), bin.size(),
                    sodium_base64_VARIANT_URLSAFE_NO_PADDING);
  out.resize(out.size() - 1);  // the terminating NUL
  return out;
}

void Check(absl::string_view text, int64_t now) {
  absl::StatusOr<crypto::ParsedInvite> parsed =
      crypto::ParseInvite(AsBytes(text), now);
  Trace("invite", parsed.status());
  if (!parsed.ok()) return;

  tvault::v1::Invite invite;
  invite.set_version(crypto::kInviteVersion);
  *invite.mutable_server_bundle() = parsed->server_bundle_statement;
  invite.set_case_id(Str(parsed->case_id));
  invite.set_epoch(parsed->epoch);
  invite.set_recipient(parsed->recipient.Encode());
  invite.set_genesis_hash(Str(parsed->genesis_hash));
  invite.set_seed(Str(parsed->seed.span()));
  invite.set_expires(parsed->expires);
  const std::string again = std::string(crypto::kInvitePrefix) +
                            Base64Url(crypto::SerializeDeterministic(invite));
  FUZZ_CHECK(again == text);
  FUZZ_CHECK(text.size() <= crypto::kMaxInviteStringSize);

  FUZZ_CHECK(parsed->expires > now);
  FUZZ_CHECK(parsed->expires - now <=
             crypto::kMaxInviteLifetime + crypto::kInviteClockSkew);
  FUZZ_CHECK(crypto::InviteSigningKey(parsed->seed).ok());
  absl::StatusOr<crypto::ParsedInvite> expired =
      crypto::ParseInvite(AsBytes(text), parsed->expires);
  FUZZ_CHECK(absl::IsFailedPrecondition(expired.status()));
  FUZZ_CHECK_OK(crypto::CheckServerBundleBody(parsed->server_bundle));
}

// What an owner creates, the family member's device reads back as made.
void CreateAndRead(ByteReader& in, int64_t now) {
  const World& w = World::Get();
  const uint32_t uses = in.Byte();
  const uint32_t lifetime = in.U32();
  crypto::InviteOptions options{
      .now = now, .expires = std::nullopt, .uses = uses};
  if (lifetime != 0) options.expires = now + lifetime;
  absl::StatusOr<crypto::CreatedInvite> created =
      crypto::CreateInvite(w.chain, w.bundle, w.root.public_key(), w.owner.cert,
                           w.owner.sign, options);
  Trace("create", created.status());
  if (!created.ok()) return;
  const int64_t expires = options.expires.value_or(
      std::min(now + crypto::kMaxInviteLifetime, w.genesis.body.not_after()));
  absl::StatusOr<crypto::ParsedInvite> parsed =
      crypto::ParseInvite(created->text.span(), now);
  FUZZ_CHECK_OK(parsed.status());
  FUZZ_CHECK(parsed->expires == expires);
  FUZZ_CHECK(parsed->case_id == w.case_id);
  FUZZ_CHECK(parsed->epoch == 0);
  FUZZ_CHECK(parsed->recipient == w.epoch0.recipient());
  FUZZ_CHECK(parsed->genesis_hash == w.chain.genesis_hash());
  FUZZ_CHECK(parsed->server_bundle_statement.SerializeAsString() ==
             w.bundle.SerializeAsString());
  absl::StatusOr<crypto::SigningKey> key =
      crypto::InviteSigningKey(parsed->seed);
  FUZZ_CHECK_OK(key.status());
  FUZZ_CHECK(key->public_key() == created->invite_pk);
  absl::StatusOr<crypto::VerifiedInviteStatement> statement =
      crypto::VerifyInviteStatement(created->statement, w.chain, w.Lookup(),
                                    now);
  FUZZ_CHECK_OK(statement.status());
  FUZZ_CHECK(statement->body.uses() == uses);
  FUZZ_CHECK(statement->body.expires() == expires);
  Check(crypto::AsString(created->text.span()), now);
}

}  // namespace
}  // namespace tvault::fuzz

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  using namespace tvault::fuzz;
  ByteReader in(data, size);
  const uint8_t mode = in.Byte();
  const int64_t now = kNow + static_cast<int8_t>(in.Byte()) * 6 * 3600;
  // The invite seed CreateInvite draws: the same every run (the world is
  // made first, from its own fixed start).
  World::Get();
  ResetDeterministicRandom(size);
  switch (mode % 3) {
    case 0:
      Check(in.Rest(), now);
      break;
    case 1:
      Check(std::string(tvault::crypto::kInvitePrefix) + Base64Url(in.Rest()),
            now);
      break;
    case 2:
      CreateAndRead(in, now);
      break;
  }
  return 0;
}
