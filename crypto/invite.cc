#include "crypto/invite.h"

#include <sodium.h>

#include <algorithm>
#include <string>

#include "absl/strings/str_cat.h"
#include "google/protobuf/io/coded_stream.h"
#include "google/protobuf/io/zero_copy_stream_impl_lite.h"
#include "google/protobuf/unknown_field_set.h"

namespace tvault::crypto {
namespace {

using tvault::v1::Invite;
using tvault::v1::InviteStatement;
using tvault::v1::SignedStatement;

constexpr int kBase64Variant = sodium_base64_VARIANT_URLSAFE_NO_PADDING;

absl::string_view FpView(const Fingerprint& fp) {
  return {reinterpret_cast<const char*>(fp.data()), fp.size()};
}

// Invite has one nested message (SignedStatement), which has none.
bool HasUnknownFields(const google::protobuf::Message& m) {
  return !m.GetReflection()->GetUnknownFields(m).empty();
}

// Wipes the seed that protobuf holds in a std::string.
void WipeSeed(Invite& invite) {
  std::string* seed = invite.mutable_seed();
  sodium_memzero(seed->data(), seed->size());
  invite.clear_seed();
}

// Deterministic serialisation into protected memory.
SecretBytes SerializeToSecret(const Invite& invite) {
  SecretBytes out(invite.ByteSizeLong());
  google::protobuf::io::ArrayOutputStream array(out.data(),
                                                static_cast<int>(out.size()));
  google::protobuf::io::CodedOutputStream coded(&array);
  coded.SetSerializationDeterministic(true);
  invite.SerializeWithCachedSizes(&coded);
  return out;
}

SecretBytes Base64UrlEncode(absl::Span<const uint8_t> bin) {
  const size_t cap = sodium_base64_ENCODED_LEN(bin.size(), kBase64Variant);
  SecretBytes out(cap);
  sodium_bin2base64(reinterpret_cast<char*>(out.data()), cap, bin.data(),
                    bin.size(), kBase64Variant);
  out.Truncate(cap - 1);  // without the NUL
  return out;
}

absl::Status CheckExpiry(int64_t expires, int64_t created,
                         int64_t epoch_not_after, absl::string_view when) {
  if (expires <= created) {
    return absl::InvalidArgumentError(
        absl::StrCat("invite expiry must be after ", when));
  }
  if (static_cast<uint64_t>(expires) - static_cast<uint64_t>(created) >
      static_cast<uint64_t>(kMaxInviteLifetime)) {
    return absl::InvalidArgumentError(
        absl::StrCat("invite expiry is more than 7 days after ", when,
                     "; invites live at most 7 days"));
  }
  if (expires > epoch_not_after) {
    return absl::InvalidArgumentError(absl::StrCat(
        "invite expiry ", expires, " is past the epoch's not_after (",
        epoch_not_after, "); renew the epoch or choose an earlier expiry"));
  }
  return absl::OkStatus();
}

absl::Status CheckUses(uint32_t uses) {
  if (uses < 1 || uses > kMaxInviteUses) {
    return absl::InvalidArgumentError(
        absl::StrCat("invite uses must be 1–", kMaxInviteUses, ", got ", uses));
  }
  return absl::OkStatus();
}

absl::Status InviteError(absl::string_view what) {
  return absl::InvalidArgumentError(
      absl::StrCat("this is not a valid invite: ", what,
                   ". Ask the person who gave it to you for a new one"));
}

}  // namespace

SecretBytes NewInviteSeed() {
  EnsureSodiumInitialized();
  return SecretBytes::Random(kInviteSeedSize);
}

absl::StatusOr<SigningKey> InviteSigningKey(const SecretBytes& seed) {
  if (seed.size() != kInviteSeedSize) {
    return absl::InvalidArgumentError("invite seed must be 32 bytes");
  }
  return SigningKey::FromSeed(seed);
}

absl::Status CheckInviteStatementBody(const InviteStatement& body) {
  if (body.version() != kInviteVersion) {
    return absl::InvalidArgumentError(absl::StrCat(
        "invite statement version ", body.version(), " is not supported"));
  }
  if (body.case_id().size() != kCaseIdSize) {
    return absl::InvalidArgumentError(
        "invite statement case_id must be 16 bytes");
  }
  if (absl::Status s = CheckSignPublicKey(AsBytes(body.invite_pk())); !s.ok()) {
    return absl::InvalidArgumentError(
        absl::StrCat("invite statement invite_pk: ", s.message()));
  }
  if (body.expires() <= 0) {
    return absl::InvalidArgumentError("invite statement has no expiry");
  }
  return CheckUses(body.uses());
}

absl::StatusOr<CreatedInvite> CreateInvite(const CaseChain& chain,
                                           const SignedStatement& server_bundle,
                                           absl::Span<const uint8_t> org_pk,
                                           const VerifiedCertificate& owner,
                                           const SigningKey& owner_key,
                                           const InviteOptions& options) {
  const VerifiedDescriptor* epoch = chain.Current();
  if (epoch == nullptr) {
    return absl::FailedPreconditionError(
        "the case chain holds no descriptor; verify the case first");
  }
  if (absl::StatusOr<tvault::v1::ServerBundle> b =
          VerifyServerBundle(server_bundle, org_pk);
      !b.ok()) {
    return absl::Status(
        b.status().code(),
        absl::StrCat("server bundle refused: ", b.status().message()));
  }
  if (AsString(owner_key.public_key()) != owner.body.sign_pk()) {
    return absl::PermissionDeniedError(
        "the signing key is not the key of the owner's certificate");
  }
  const auto& owners = epoch->body.owners();
  if (std::find(owners.begin(), owners.end(), FpView(owner.fingerprint)) ==
      owners.end()) {
    return absl::PermissionDeniedError(
        absl::StrCat("certificate ", FormatFingerprint(owner.fingerprint),
                     " is not an owner of epoch ", epoch->body.epoch(),
                     "; only owners create invites"));
  }
  const int64_t not_after = epoch->body.not_after();
  const int64_t expires = options.expires.value_or(
      std::min(options.now + kMaxInviteLifetime, not_after));
  if (absl::Status s =
          CheckExpiry(expires, options.now, not_after, "its creation");
      !s.ok()) {
    return s;
  }
  if (absl::Status s = CheckUses(options.uses); !s.ok()) return s;

  CreatedInvite out;
  SecretBytes seed = NewInviteSeed();
  absl::StatusOr<SigningKey> key = InviteSigningKey(seed);
  if (!key.ok()) return key.status();
  out.invite_pk = key->public_key();

  InviteStatement statement;
  statement.set_version(kInviteVersion);
  statement.set_case_id(epoch->body.case_id());
  statement.set_epoch(epoch->body.epoch());
  statement.set_invite_pk(std::string(AsString(out.invite_pk)));
  statement.set_expires(expires);
  statement.set_uses(options.uses);
  out.statement = SignStatement(StatementType::kInvite, statement, owner_key);

  Invite invite;
  invite.set_version(kInviteVersion);
  *invite.mutable_server_bundle() = server_bundle;
  invite.set_case_id(epoch->body.case_id());
  invite.set_epoch(epoch->body.epoch());
  invite.set_recipient(epoch->body.recipient());
  invite.set_genesis_hash(std::string(AsString(chain.genesis_hash())));
  invite.set_seed(std::string(AsString(seed.span())));
  invite.set_expires(expires);
  const SecretBytes bin = SerializeToSecret(invite);
  WipeSeed(invite);
  const SecretBytes encoded = Base64UrlEncode(bin.span());
  if (kInvitePrefix.size() + encoded.size() > kMaxInviteStringSize) {
    return absl::InvalidArgumentError(absl::StrCat(
        "the invite string would be ", kInvitePrefix.size() + encoded.size(),
        " bytes, over the ", kMaxInviteStringSize,
        "-byte limit (QR code); shorten the server bundle"));
  }
  out.text = SecretBytes(kInvitePrefix.size() + encoded.size());
  // data() and size(), never begin() and end(): clang 14 may fold begin()
  // to this file's copy of the literal and take end() from the inline
  // variable another file defined, and copy nothing.
  std::copy_n(kInvitePrefix.data(), kInvitePrefix.size(), out.text.data());
  std::copy(encoded.data(), encoded.data() + encoded.size(),
            out.text.data() + kInvitePrefix.size());
  return out;
}

absl::StatusOr<VerifiedInviteStatement> VerifyInviteStatement(
    const SignedStatement& statement, const CaseChain& chain,
    const CertificateLookup& lookup, int64_t registered_at) {
  // Parsed first only to learn which epoch's owners may have signed.
  VerifiedInviteStatement v;
  if (absl::Status s = ParseStrictly(statement.body(), v.body); !s.ok()) {
    return s;
  }
  if (absl::Status s = CheckInviteStatementBody(v.body); !s.ok()) return s;
  if (chain.empty() || v.body.case_id() != chain.case_id()) {
    return absl::FailedPreconditionError(
        "invite statement is for a different case");
  }
  const VerifiedDescriptor* epoch = chain.Find(v.body.epoch());
  if (epoch == nullptr) {
    return absl::NotFoundError(
        absl::StrCat("invite statement is for epoch ", v.body.epoch(),
                     ", which the case chain does not hold"));
  }
  bool signed_by_owner = false;
  for (const std::string& bytes : epoch->body.owners()) {
    Fingerprint fp{};
    std::copy(bytes.begin(), bytes.end(), fp.begin());
    const VerifiedCertificate* cert = lookup(fp);
    if (cert == nullptr || cert->fingerprint != fp) continue;
    if (VerifySignature(
            StatementTag(StatementType::kInvite), AsBytes(statement.body()),
            AsBytes(statement.signature()), AsBytes(cert->body.sign_pk()))
            .ok()) {
      v.signer = fp;
      signed_by_owner = true;
      break;
    }
  }
  if (!signed_by_owner) {
    return absl::PermissionDeniedError(absl::StrCat(
        "invite statement is not signed by any known owner of epoch ",
        v.body.epoch(), "; refusing it"));
  }
  if (absl::Status s = CheckExpiry(v.body.expires(), registered_at,
                                   epoch->body.not_after(), "its registration");
      !s.ok()) {
    return s;
  }
  v.statement = statement;
  return v;
}

absl::StatusOr<ParsedInvite> ParseInvite(absl::Span<const uint8_t> text,
                                         int64_t now) {
  EnsureSodiumInitialized();
  if (text.size() > kMaxInviteStringSize) {
    return InviteError("it is too long");
  }
  if (text.size() < kInvitePrefix.size() ||
      AsString(text.subspan(0, kInvitePrefix.size())) != kInvitePrefix) {
    return InviteError("it does not start with \"tvault-invite-1:\"");
  }
  const absl::Span<const uint8_t> b64 = text.subspan(kInvitePrefix.size());
  SecretBytes bin(b64.size() / 4 * 3 + 3);
  size_t bin_len = 0;
  const char* end = nullptr;
  if (sodium_base642bin(bin.data(), bin.size(),
                        reinterpret_cast<const char*>(b64.data()), b64.size(),
                        /*ignore=*/nullptr, &bin_len, &end,
                        kBase64Variant) != 0 ||
      end != reinterpret_cast<const char*>(b64.data()) + b64.size()) {
    return InviteError("it is not base64url (letters, digits, - and _)");
  }
  bin.Truncate(bin_len);
  if (!ConstantTimeEquals(Base64UrlEncode(bin.span()).span(), b64)) {
    return InviteError("its base64url is not in canonical form");
  }

  Invite invite;
  if (!invite.ParseFromArray(bin.data(), static_cast<int>(bin.size()))) {
    WipeSeed(invite);
    return InviteError("its contents do not parse");
  }
  ParsedInvite out;
  out.seed = SecretBytes::CopyFrom(AsBytes(invite.seed()));
  const bool canonical =
      ConstantTimeEquals(SerializeToSecret(invite).span(), bin.span());
  WipeSeed(invite);
  if (HasUnknownFields(invite) || HasUnknownFields(invite.server_bundle())) {
    return InviteError(
        "it has fields this program does not know (made by a newer version?)");
  }
  if (!canonical) return InviteError("its contents are not canonical");

  if (invite.version() != kInviteVersion) {
    return InviteError(
        absl::StrCat("version ", invite.version(), " is not supported"));
  }
  if (absl::Status s =
          ParseStrictly(invite.server_bundle().body(), out.server_bundle);
      !s.ok()) {
    return InviteError(absl::StrCat("server bundle: ", s.message()));
  }
  if (absl::Status s = CheckServerBundleBody(out.server_bundle); !s.ok()) {
    return InviteError(absl::StrCat("server bundle: ", s.message()));
  }
  if (invite.server_bundle().signature().size() != crypto_sign_BYTES) {
    return InviteError("the server bundle's signature is not 64 bytes");
  }
  out.server_bundle_statement = invite.server_bundle();
  if (invite.case_id().size() != kCaseIdSize) {
    return InviteError("the case id is not 16 bytes");
  }
  std::copy(invite.case_id().begin(), invite.case_id().end(),
            out.case_id.begin());
  out.epoch = invite.epoch();
  absl::StatusOr<X25519Recipient> r =
      X25519Recipient::Parse(invite.recipient());
  if (!r.ok() || r->Encode() != invite.recipient() ||
      !CheckBoxPublicKey(r->bytes()).ok()) {
    return InviteError("the case recipient is not a valid age recipient");
  }
  out.recipient = *r;
  if (invite.genesis_hash().size() != sizeof(Sha256)) {
    return InviteError("the genesis hash is not 32 bytes");
  }
  std::copy(invite.genesis_hash().begin(), invite.genesis_hash().end(),
            out.genesis_hash.begin());
  if (out.seed.size() != kInviteSeedSize) {
    return InviteError("the invite key seed is not 32 bytes");
  }
  out.expires = invite.expires();
  if (out.expires <= now) {
    return absl::FailedPreconditionError(
        absl::StrCat("this invite expired at ", out.expires, " (now ", now,
                     "); ask the person who gave it to you for a new one"));
  }
  if (static_cast<uint64_t>(out.expires) - static_cast<uint64_t>(now) >
      static_cast<uint64_t>(kMaxInviteLifetime + kInviteClockSkew)) {
    return InviteError(
        "its expiry is more than 7 days ahead, which no valid invite has "
        "(or this device's clock is wrong)");
  }
  return out;
}

}  // namespace tvault::crypto
