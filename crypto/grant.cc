#include "crypto/grant.h"

#include <algorithm>
#include <memory>
#include <string>

#include "absl/strings/str_cat.h"
#include "absl/strings/string_view.h"
#include "crypto/age.h"
#include "crypto/io.h"
#include "crypto/secret_bytes.h"

namespace tvault::crypto {
namespace {

using tvault::v1::Grant;
using tvault::v1::SignedStatement;

// "AGE-SECRET-KEY-1" + 52 data + 6 checksum characters, and the newline.
constexpr size_t kIdentityLineSize = 75;

absl::string_view FpView(const Fingerprint& fp) {
  return {reinterpret_cast<const char*>(fp.data()), fp.size()};
}

}  // namespace

absl::Status CheckGrantBody(const Grant& body) {
  if (body.version() != kGrantVersion) {
    return absl::InvalidArgumentError(
        absl::StrCat("grant version ", body.version(),
                     " is not supported (expected ", kGrantVersion, ")"));
  }
  if (body.case_id().size() != kCaseIdSize) {
    return absl::InvalidArgumentError("grant case_id must be 16 bytes");
  }
  absl::StatusOr<X25519Recipient> r = X25519Recipient::Parse(body.recipient());
  if (!r.ok() || r->Encode() != body.recipient()) {
    return absl::InvalidArgumentError(
        "grant recipient is not a canonical age recipient (age1…)");
  }
  if (absl::StatusOr<Fingerprint> fp = FingerprintFromBytes(
          body.member_cert_fingerprint(), "grant member_cert_fingerprint");
      !fp.ok()) {
    return fp.status();
  }
  if (absl::StatusOr<Fingerprint> fp = FingerprintFromBytes(
          body.granter_cert_fingerprint(), "grant granter_cert_fingerprint");
      !fp.ok()) {
    return fp.status();
  }
  if (body.ciphertext_sha256().size() != sizeof(Sha256)) {
    return absl::InvalidArgumentError(
        "grant ciphertext_sha256 must be 32 bytes");
  }
  return absl::OkStatus();
}

absl::StatusOr<CreatedGrant> CreateGrant(const CaseChain& chain, uint32_t epoch,
                                         const X25519Identity& epoch_identity,
                                         const VerifiedCertificate& member,
                                         const VerifiedCertificate& granter,
                                         const SigningKey& granter_key) {
  const VerifiedDescriptor* descriptor = chain.Find(epoch);
  if (descriptor == nullptr) {
    return absl::NotFoundError(
        absl::StrCat("the case chain does not hold epoch ", epoch,
                     "; fetch and verify its descriptor first"));
  }
  const std::string recipient = epoch_identity.recipient().Encode();
  if (recipient != descriptor->body.recipient()) {
    return absl::InvalidArgumentError(
        absl::StrCat("the identity given is not epoch ", epoch,
                     "'s: its recipient differs from the descriptor's"));
  }
  if (AsString(granter_key.public_key()) != granter.body.sign_pk()) {
    return absl::PermissionDeniedError(
        "the signing key is not the key of the granter's certificate");
  }
  if (!chain.IsOwnerFrom(epoch, granter.fingerprint)) {
    return absl::PermissionDeniedError(
        absl::StrCat("certificate ", FormatFingerprint(granter.fingerprint),
                     " is not an owner of epoch ", epoch,
                     " or a later one; only owners grant"));
  }
  if (!chain.IsMemberFrom(epoch, member.fingerprint)) {
    return absl::PermissionDeniedError(
        absl::StrCat("certificate ", FormatFingerprint(member.fingerprint),
                     " is not listed in members[] of epoch ", epoch,
                     " or a later one; add them in a new epoch first"));
  }
  if (std::find(member.body.roles().begin(), member.body.roles().end(),
                tvault::v1::REVIEWER) == member.body.roles().end()) {
    return absl::InvalidArgumentError(
        "the member's certificate lacks the REVIEWER role; contributors "
        "cannot hold case keys");
  }

  std::array<uint8_t, kX25519KeySize> box_pk{};
  std::copy(member.body.box_pk().begin(), member.body.box_pk().end(),
            box_pk.begin());
  const X25519Recipient to = X25519Recipient::FromBytes(box_pk);
  const AgeRecipient* recipients[] = {&to};
  VectorSink sink;
  absl::StatusOr<std::unique_ptr<AgeEncryptor>> enc =
      AgeEncryptor::Create(recipients, sink);
  if (!enc.ok()) return enc.status();
  SecretBytes line = epoch_identity.Encode();
  if (absl::Status s = (*enc)->Write(line.span()); !s.ok()) return s;
  static constexpr uint8_t kNewline[] = {'\n'};
  if (absl::Status s = (*enc)->Write(kNewline); !s.ok()) return s;
  if (absl::Status s = (*enc)->Finish(); !s.ok()) return s;

  CreatedGrant out;
  out.ciphertext = std::move(sink.bytes());
  const Sha256 hash = ComputeSha256(out.ciphertext);
  Grant body;
  body.set_version(kGrantVersion);
  body.set_case_id(descriptor->body.case_id());
  body.set_epoch(epoch);
  body.set_recipient(recipient);
  body.set_member_cert_fingerprint(std::string(FpView(member.fingerprint)));
  body.set_granter_cert_fingerprint(std::string(FpView(granter.fingerprint)));
  body.set_ciphertext_sha256(std::string(AsString(hash)));
  out.statement = SignStatement(StatementType::kGrant, body, granter_key);
  return out;
}

absl::StatusOr<VerifiedGrant> VerifyGrant(const SignedStatement& statement,
                                          const CaseChain& chain,
                                          const CertificateLookup& lookup) {
  // Parsed first only to learn who claims to have signed; trusted only
  // after the signature verifies over the exact bytes.
  VerifiedGrant g;
  if (absl::Status s = ParseStrictly(statement.body(), g.body); !s.ok()) {
    return s;
  }
  if (absl::Status s = CheckGrantBody(g.body); !s.ok()) return s;
  std::copy(g.body.member_cert_fingerprint().begin(),
            g.body.member_cert_fingerprint().end(), g.member.begin());
  std::copy(g.body.granter_cert_fingerprint().begin(),
            g.body.granter_cert_fingerprint().end(), g.granter.begin());
  const VerifiedCertificate* granter = lookup(g.granter);
  if (granter == nullptr || granter->fingerprint != g.granter) {
    return absl::NotFoundError(
        absl::StrCat("the granter's certificate ", FormatFingerprint(g.granter),
                     " is not known or not accepted; cannot verify the grant"));
  }
  if (absl::Status s = VerifySignature(
          StatementTag(StatementType::kGrant), AsBytes(statement.body()),
          AsBytes(statement.signature()), AsBytes(granter->body.sign_pk()));
      !s.ok()) {
    return absl::PermissionDeniedError(absl::StrCat(
        "grant refused: ", s.message(), " under the named granter's key"));
  }
  if (chain.empty() || g.body.case_id() != chain.case_id()) {
    return absl::FailedPreconditionError("grant is for a different case");
  }
  const VerifiedDescriptor* descriptor = chain.Find(g.body.epoch());
  if (descriptor == nullptr) {
    return absl::NotFoundError(absl::StrCat(
        "grant is for epoch ", g.body.epoch(),
        ", which the case chain does not hold; fetch its descriptor first"));
  }
  if (g.body.recipient() != descriptor->body.recipient()) {
    return absl::FailedPreconditionError(
        absl::StrCat("grant names a recipient that is not epoch ",
                     g.body.epoch(), "'s; refusing it"));
  }
  if (!chain.IsOwnerFrom(g.body.epoch(), g.granter)) {
    return absl::PermissionDeniedError(
        absl::StrCat("grant signed by ", FormatFingerprint(g.granter),
                     ", who is not an owner of epoch ", g.body.epoch(),
                     " or a later one; only owners grant"));
  }
  if (!chain.IsMemberFrom(g.body.epoch(), g.member)) {
    return absl::PermissionDeniedError(
        absl::StrCat("grant is for ", FormatFingerprint(g.member),
                     ", who is not listed in members[] of epoch ",
                     g.body.epoch(), " or a later one"));
  }
  g.statement = statement;
  return g;
}

absl::StatusOr<X25519Identity> OpenGrant(
    const VerifiedGrant& grant, absl::Span<const uint8_t> ciphertext,
    const X25519Identity& member_identity) {
  if (ciphertext.size() > kMaxGrantCiphertextSize) {
    return absl::InvalidArgumentError("grant ciphertext is too large");
  }
  if (AsString(ComputeSha256(ciphertext)) != grant.body.ciphertext_sha256()) {
    return absl::DataLossError(
        "grant ciphertext does not match the hash the granter signed; it was "
        "altered or belongs to another grant");
  }
  MemorySource source(ciphertext);
  absl::StatusOr<std::unique_ptr<AgeDecryptor>> dec = AgeDecryptor::Open(
      source, AgeDecryptOptions{.armor = ArmorMode::kForbid,
                                .max_header_size = kAgeMaxHeaderSize,
                                .stream = {}});
  if (!dec.ok()) return dec.status();
  const std::vector<AgeStanza>& stanzas = (*dec)->header().stanzas;
  if (stanzas.size() != 1 || stanzas[0].args.empty() ||
      stanzas[0].args[0] != "X25519") {
    return absl::InvalidArgumentError(
        "grant ciphertext must have exactly one X25519 stanza");
  }
  const AgeIdentity* ids[] = {&member_identity};
  if (absl::Status s = (*dec)->Unlock(ids); !s.ok()) return s;
  SecretSink sink(kIdentityLineSize);
  if (absl::Status s = (*dec)->DecryptTo(sink); !s.ok()) {
    if (absl::IsOutOfRange(s)) {
      return absl::DataLossError(
          "grant plaintext is too long to be one age identity");
    }
    return s;
  }
  SecretBytes plain = sink.Take();
  if (plain.size() != kIdentityLineSize ||
      plain.data()[kIdentityLineSize - 1] != '\n') {
    return absl::DataLossError("grant plaintext is not one age identity line");
  }
  absl::StatusOr<X25519Identity> identity = X25519Identity::Parse(
      AsString(plain.span().subspan(0, kIdentityLineSize - 1)));
  if (!identity.ok()) {
    return absl::DataLossError(
        absl::StrCat("grant plaintext is not an age identity: ",
                     identity.status().message()));
  }
  if (identity->recipient().Encode() != grant.body.recipient()) {
    return absl::DataLossError(
        "the identity inside the grant does not match the epoch's "
        "recipient: the granter encrypted the wrong key; ask an owner for a "
        "new grant");
  }
  return identity;
}

}  // namespace tvault::crypto
