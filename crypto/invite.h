// Invites (DESIGN.md §7): how a family member without an account submits
// to one case.
//
// An owner draws a 32-byte invite seed; the invite's Ed25519 key is
// SigningKey::FromSeed(seed). Two things come out of CreateInvite:
// - the InviteStatement {case_id, epoch, invite_pk, expires, uses}, signed
//   by the owner's account key, which the vault registers and logs;
// - the invite string for the family member's device. Exact format:
//
//     "tvault-invite-1:" || base64url(Invite)
//
//   where Invite is the tvault.v1.Invite message in deterministic
//   (canonical) protobuf serialisation and base64url is RFC 4648 §5
//   (alphabet A–Z a–z 0–9 - _) WITHOUT padding, in canonical form (unused
//   bits zero). No whitespace, no line breaks; the prefix is
//   case-sensitive. The whole string is at most 2,000 bytes (QR code).
//
// Rules: expires is after creation, at most 7 days after it and not past
// the epoch's not_after (the winning version's); uses is 1–100 (default 1);
// the signer is an owner of the invite's epoch.
//
// Secrets: the string carries the seed, so it lives only in SecretBytes.
// Protobuf keeps the seed briefly in a std::string while a message is built
// or parsed; that string is wiped before the message is released.
//
// What ParseInvite promises: the string is well formed and canonical, every
// field obeys its rule, and the invite has not expired at `now`. What it
// does NOT promise: that the server bundle inside is really the
// organisation's — the invite does not carry the org key, so the bundle's
// signature cannot be checked by the family member; the invite string
// itself is the trust anchor and must travel over a channel the owner
// trusts (in person, QR code). Nor does it promise the vault still accepts
// the invite (it may be used up or revoked).
#ifndef TVAULT_CRYPTO_INVITE_H_
#define TVAULT_CRYPTO_INVITE_H_

#include <cstdint>
#include <optional>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "absl/types/span.h"
#include "crypto/age_recipients.h"
#include "crypto/case_descriptor.h"
#include "crypto/certificate.h"
#include "crypto/secret_bytes.h"
#include "crypto/statement.h"
#include "proto/records.pb.h"

namespace tvault::crypto {

inline constexpr absl::string_view kInvitePrefix = "tvault-invite-1:";
inline constexpr uint32_t kInviteVersion = 1;
inline constexpr size_t kInviteSeedSize = 32;
inline constexpr int64_t kMaxInviteLifetime = 7 * kSecondsPerDay;
inline constexpr uint32_t kDefaultInviteUses = 1;
inline constexpr uint32_t kMaxInviteUses = 100;
inline constexpr size_t kMaxInviteStringSize = 2000;
// How far ahead of the reader's clock an invite's expiry may lie beyond the
// 7 days, for a creator whose clock runs a little fast.
inline constexpr int64_t kInviteClockSkew = 600;

// 32 random bytes.
SecretBytes NewInviteSeed();
// SigningKey::FromSeed(seed); InvalidArgument unless 32 bytes.
absl::StatusOr<SigningKey> InviteSigningKey(const SecretBytes& seed);

struct InviteOptions {
  int64_t now = 0;                 // creation time (Unix seconds)
  std::optional<int64_t> expires;  // default: min(now + 7 days, not_after)
  uint32_t uses = kDefaultInviteUses;
};

struct CreatedInvite {
  tvault::v1::SignedStatement statement;  // register with the vault
  SignPublicKey invite_pk;
  SecretBytes text;  // the invite string; give only to the family member
};

// An invite for the chain's current epoch. `server_bundle` must verify
// under `org_pk` (it is copied into the invite). Statuses:
//   FailedPrecondition  the chain holds no descriptor;
//   InvalidArgument     expiry not after now, more than 7 days ahead or past
//                       the epoch's not_after; uses outside 1–100; the
//                       bundle is malformed; the string would exceed 2,000
//                       bytes;
//   PermissionDenied    the bundle's signature fails, the owner is not an
//                       owner of the current epoch, or owner_key is not the
//                       certificate's key.
// Whether the owner's certificate is valid now is the caller's to check
// (CheckCertificateValidFor).
absl::StatusOr<CreatedInvite> CreateInvite(
    const CaseChain& chain, const tvault::v1::SignedStatement& server_bundle,
    absl::Span<const uint8_t> org_pk, const VerifiedCertificate& owner,
    const SigningKey& owner_key, const InviteOptions& options);

// InvalidArgument unless version 1, case_id 16 bytes, invite_pk passes
// CheckSignPublicKey, expires > 0 and uses 1–100.
absl::Status CheckInviteStatementBody(const tvault::v1::InviteStatement& body);

struct VerifiedInviteStatement {
  tvault::v1::InviteStatement body;
  Fingerprint signer;  // the owner who signed
  tvault::v1::SignedStatement statement;
};

// Verifies an invite statement registered at `registered_at` (the log
// entry's time): signed by an owner of its epoch (certificate from
// `lookup`), for the chain's case, expires after registered_at, at most 7
// days after it and not past the epoch's not_after. Whether the epoch is
// still current is the caller's to decide. InvalidArgument (malformed,
// expiry rules), FailedPrecondition (other case), NotFound (epoch not
// held), PermissionDenied (not an owner, forged).
absl::StatusOr<VerifiedInviteStatement> VerifyInviteStatement(
    const tvault::v1::SignedStatement& statement, const CaseChain& chain,
    const CertificateLookup& lookup, int64_t registered_at);

// What an invite string says, checked.
struct ParsedInvite {
  tvault::v1::SignedStatement server_bundle_statement;
  tvault::v1::ServerBundle server_bundle;  // parsed strictly; signature NOT
                                           // verified (see above)
  CaseId case_id{};
  uint32_t epoch = 0;
  X25519Recipient recipient = X25519Recipient::FromBytes({});
  Sha256 genesis_hash{};
  SecretBytes seed;
  int64_t expires = 0;
};

// Parses an invite string (the bytes of a SecretBytes, or as typed).
// Messages never contain the string. Statuses:
//   InvalidArgument     too long, wrong prefix, not canonical base64url, not
//                       a strictly parsed canonical Invite, a field breaking
//                       its rule, or an expiry more than 7 days (plus
//                       kInviteClockSkew) after `now`;
//   FailedPrecondition  expired at `now` (expires <= now).
absl::StatusOr<ParsedInvite> ParseInvite(absl::Span<const uint8_t> text,
                                         int64_t now);

}  // namespace tvault::crypto

#endif  // TVAULT_CRYPTO_INVITE_H_
