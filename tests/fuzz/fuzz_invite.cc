// Fuzz target: invite strings (crypto/invite.h), as a family member's
// device reads one from a QR code or a message.
//
// Input: a mode byte, a clock byte, the rest.
//   mode even   the rest is the invite string as typed;
//   mode odd    the rest is the Invite message; the harness makes the
//               string ("tvault-invite-1:" and unpadded base64url), so that
//               mutations reach the message and its rules.
//   clock       the reader's time: the world's clock plus (signed byte) x
//               6 hours.
//
// Invariants, for a string ParseInvite accepts:
// - it is the only string for what was parsed: rebuilding the Invite from
//   the parsed fields and encoding it gives back the input exactly;
// - it has not expired and does not reach past 7 days (and the allowed
//   clock skew) from now; read again at its expiry, it has expired
//   (FailedPrecondition);
// - the seed makes an invite key; the recipient re-encodes to itself.
#include <sodium.h>

#include <cstddef>
#include <cstdint>
#include <string>

#include "crypto/invite.h"
#include "crypto/statement.h"
#include "proto/records.pb.h"
#include "tests/fuzz/fuzz_check.h"
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

}  // namespace
}  // namespace tvault::fuzz

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  using namespace tvault::fuzz;
  ByteReader in(data, size);
  const uint8_t mode = in.Byte();
  const int64_t now = kNow + static_cast<int8_t>(in.Byte()) * 6 * 3600;
  const absl::string_view rest = in.Rest();
  if (mode % 2 == 0) {
    Check(rest, now);
  } else {
    Check(std::string(tvault::crypto::kInvitePrefix) + Base64Url(rest), now);
  }
  return 0;
}
