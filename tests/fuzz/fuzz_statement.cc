// Fuzz target: signed statements (DESIGN.md §4, §5, §7) and every verifier
// over them, against the world's organisation and case (fuzz_world.h).
//
// Input: a selector byte, a statement field (2-byte length), the rest.
//   selector & 0x0f   which verifier (kinds below);
//   selector & 0x80   the field is a BODY, which the harness signs with the
//                     kind's natural signer (the root for certificates,
//                     revocations and server statements; the case owner
//                     otherwise), or with world key (selector >> 4 & 7) - 1
//                     when that is not 0, so that mutated bodies get past
//                     the signature to the parser and the rules; else the
//                     field is a serialised SignedStatement as received.
//   the rest          for grants, the grant's age ciphertext (in signing
//                     mode the body's ciphertext hash is set to its hash).
//
// Invariants:
// - whatever verifies has a canonical body (the deterministic
//   serialisation of what it parses to) that passes its Check*Body rule;
// - a certificate's fingerprint is that of its body; re-issuing a verified
//   root statement gives back the same bytes (Ed25519 is deterministic);
// - a descriptor the chain accepted is found in it, and accepting the same
//   bytes again changes nothing and succeeds;
// - a grant that verifies and opens gives the identity of its epoch's
//   recipient;
// - whatever ParseStrictly accepts re-serialises to the same bytes.
#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>

#include "crypto/case_descriptor.h"
#include "crypto/certificate.h"
#include "crypto/grant.h"
#include "crypto/invite.h"
#include "crypto/statement.h"
#include "google/protobuf/util/message_differencer.h"
#include "proto/records.pb.h"
#include "tests/fuzz/fuzz_check.h"
#include "tests/fuzz/fuzz_random.h"
#include "tests/fuzz/fuzz_world.h"
#include "tests/fuzz/statement_kinds.h"

namespace tvault::fuzz {
namespace {

using crypto::AsBytes;
using crypto::StatementType;
using tvault::v1::SignedStatement;

using Kind = StatementKind;

StatementType TypeOf(Kind kind) {
  switch (kind) {
    case kCertificate:
      return StatementType::kCert;
    case kRevocation:
      return StatementType::kRevocation;
    case kServerBundle:
      return StatementType::kServerBundle;
    case kServerRetired:
      return StatementType::kServerRetired;
    case kDescriptor:
    case kGenesis:
      return StatementType::kDescriptor;
    case kGrant:
      return StatementType::kGrant;
    case kInviteStatement:
      return StatementType::kInvite;
    case kDelete:
      return StatementType::kDelete;
    default:
      return StatementType::kAuth;
  }
}

const crypto::SigningKey& NaturalSigner(Kind kind) {
  const World& w = World::Get();
  switch (kind) {
    case kCertificate:
    case kRevocation:
    case kServerBundle:
    case kServerRetired:
      return w.root;
    default:
      return w.owner.sign;
  }
}

// The body must be canonical and pass its rule once a verifier accepted it.
void CheckCanonical(const google::protobuf::Message& body,
                    const SignedStatement& st) {
  FUZZ_CHECK(crypto::SerializeDeterministic(body) == st.body());
}

// Re-issuing a verified root statement gives the same bytes.
void CheckReissue(absl::StatusOr<SignedStatement> again,
                  const SignedStatement& st) {
  FUZZ_CHECK_OK(again.status());
  FUZZ_CHECK(again->body() == st.body());
  FUZZ_CHECK(again->signature() == st.signature());
}

void Certificate(const SignedStatement& st) {
  const World& w = World::Get();
  absl::StatusOr<crypto::VerifiedCertificate> v =
      crypto::VerifyCertificate(st, w.root.public_key());
  Trace("certificate", v.status());
  if (!v.ok()) return;
  CheckCanonical(v->body, st);
  FUZZ_CHECK_OK(crypto::CheckCertificateBody(v->body));
  FUZZ_CHECK(v->fingerprint ==
             crypto::ComputeFingerprint(crypto::FingerprintType::kCert,
                                        AsBytes(st.body())));
  CheckReissue(crypto::IssueCertificate(v->body, w.root), st);
  for (tvault::v1::Role role :
       {tvault::v1::REVIEWER, tvault::v1::CONTRIBUTOR}) {
    (void)crypto::CheckCertificateValidFor(*v, role, kNow, {});
  }
}

void Revocation(const SignedStatement& st) {
  const World& w = World::Get();
  absl::StatusOr<tvault::v1::Revocation> v =
      crypto::VerifyRevocation(st, w.root.public_key());
  Trace("revocation", v.status());
  if (!v.ok()) return;
  CheckCanonical(*v, st);
  FUZZ_CHECK_OK(crypto::CheckRevocationBody(*v));
  CheckReissue(crypto::IssueRevocation(*v, w.root), st);
  // The world's certificates judged against it.
  for (const WorldAccount* a : {&w.owner, &w.contributor}) {
    (void)crypto::CheckCertificateValidFor(a->cert, tvault::v1::REVIEWER, kNow,
                                           {&*v, 1});
  }
}

void ServerBundle(const SignedStatement& st) {
  const World& w = World::Get();
  absl::StatusOr<tvault::v1::ServerBundle> v =
      crypto::VerifyServerBundle(st, w.root.public_key());
  Trace("server bundle", v.status());
  if (!v.ok()) return;
  CheckCanonical(*v, st);
  FUZZ_CHECK_OK(crypto::CheckServerBundleBody(*v));
  CheckReissue(crypto::IssueServerBundle(*v, w.root), st);
}

void ServerRetired(const SignedStatement& st) {
  const World& w = World::Get();
  absl::StatusOr<tvault::v1::ServerRetired> v =
      crypto::VerifyServerRetired(st, w.root.public_key());
  Trace("server retired", v.status());
  if (!v.ok()) return;
  CheckCanonical(*v, st);
  FUZZ_CHECK_OK(crypto::CheckServerRetiredBody(*v));
  CheckReissue(crypto::IssueServerRetired(*v, w.root), st);
}

void AcceptInto(crypto::CaseChain& chain, const SignedStatement& st) {
  const World& w = World::Get();
  const absl::Status s = chain.Accept(st, w.Lookup());
  Trace("descriptor", s);
  if (absl::IsAlreadyExists(s)) FUZZ_CHECK(!chain.equivocations().empty());
  if (!s.ok()) return;
  tvault::v1::CaseDescriptor body;
  FUZZ_CHECK_OK(crypto::ParseStrictly(st.body(), body));
  CheckCanonical(body, st);
  FUZZ_CHECK_OK(crypto::CheckDescriptorBody(body));
  FUZZ_CHECK(chain.Find(body.epoch()) != nullptr);
  FUZZ_CHECK(chain.highest_epoch().has_value() &&
             *chain.highest_epoch() >= body.epoch());
  FUZZ_CHECK(chain.case_id() == body.case_id());
  const size_t equivocations = chain.equivocations().size();
  FUZZ_CHECK_OK(chain.Accept(st, w.Lookup()));
  FUZZ_CHECK(chain.equivocations().size() == equivocations);
}

void Descriptor(const SignedStatement& st) {
  crypto::CaseChain chain = World::Get().chain;
  AcceptInto(chain, st);
}

void Genesis(const SignedStatement& st) {
  absl::StatusOr<crypto::CaseChain> chain =
      crypto::CaseChain::Create(crypto::ComputeSha256(AsBytes(st.body())));
  FUZZ_CHECK_OK(chain.status());
  AcceptInto(*chain, st);
}

void Grant(const SignedStatement& st, absl::string_view ciphertext) {
  const World& w = World::Get();
  absl::StatusOr<crypto::VerifiedGrant> v =
      crypto::VerifyGrant(st, w.chain, w.Lookup());
  Trace("grant", v.status());
  if (!v.ok()) return;
  CheckCanonical(v->body, st);
  FUZZ_CHECK_OK(crypto::CheckGrantBody(v->body));
  const crypto::VerifiedDescriptor* d = w.chain.Find(v->body.epoch());
  FUZZ_CHECK(d != nullptr && d->body.recipient() == v->body.recipient());
  for (const WorldAccount* a : {&w.owner, &w.contributor, &w.outsider}) {
    absl::StatusOr<crypto::X25519Identity> id =
        crypto::OpenGrant(*v, AsBytes(ciphertext), a->box);
    Trace("open grant", id.status());
    if (id.ok()) FUZZ_CHECK(id->recipient().Encode() == v->body.recipient());
  }
}

void InviteStatement(const SignedStatement& st) {
  const World& w = World::Get();
  absl::StatusOr<crypto::VerifiedInviteStatement> v =
      crypto::VerifyInviteStatement(st, w.chain, w.Lookup(), kNow);
  Trace("invite statement", v.status());
  if (!v.ok()) return;
  CheckCanonical(v->body, st);
  FUZZ_CHECK_OK(crypto::CheckInviteStatementBody(v->body));
  FUZZ_CHECK(v->signer == w.owner.cert.fingerprint);
  FUZZ_CHECK(v->body.expires() > kNow);
}

template <typename Body>
void Opened(StatementType type, const SignedStatement& st) {
  Body body;
  const absl::Status s = crypto::OpenStatement(
      type, st, World::Get().owner.sign.public_key(), body);
  Trace("statement", s);
  if (!s.ok()) return;
  CheckCanonical(body, st);
}

template <typename Body>
void ParsedAlone(absl::string_view bytes) {
  Body body;
  if (!crypto::ParseStrictly(bytes, body).ok()) return;
  FUZZ_CHECK(crypto::SerializeDeterministic(body) == bytes);
  Body again;
  FUZZ_CHECK_OK(crypto::ParseStrictly(bytes, again));
  FUZZ_CHECK(google::protobuf::util::MessageDifferencer::Equals(body, again));
}

void BodiesOnly(absl::string_view bytes) {
  ParsedAlone<tvault::v1::Certificate>(bytes);
  ParsedAlone<tvault::v1::Revocation>(bytes);
  ParsedAlone<tvault::v1::ServerBundle>(bytes);
  ParsedAlone<tvault::v1::ServerRetired>(bytes);
  ParsedAlone<tvault::v1::CaseDescriptor>(bytes);
  ParsedAlone<tvault::v1::Grant>(bytes);
  ParsedAlone<tvault::v1::InviteStatement>(bytes);
  ParsedAlone<tvault::v1::DeleteRequest>(bytes);
  ParsedAlone<tvault::v1::AuthChallenge>(bytes);
  ParsedAlone<tvault::v1::SignedStatement>(bytes);
}

}  // namespace
}  // namespace tvault::fuzz

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  using namespace tvault::fuzz;
  const World& w = World::Get();
  ResetDeterministicRandom(size);
  ByteReader in(data, size);
  const uint8_t selector = in.Byte();
  const Kind kind = static_cast<Kind>((selector & 0x0f) % kStatementKindCount);
  const absl::string_view field = in.Field();
  const absl::string_view rest = in.Rest();
  if (kind == kBodiesOnly) {
    BodiesOnly(field);
    return 0;
  }

  tvault::v1::SignedStatement st;
  if (selector & kSignBody) {
    std::string body(field);
    if (kind == kGrant) {
      // Bind the body to the ciphertext that comes with it.
      tvault::v1::Grant grant;
      if (grant.ParseFromString(body)) {
        grant.set_ciphertext_sha256(
            Str(tvault::crypto::ComputeSha256(tvault::crypto::AsBytes(rest))));
        body = tvault::crypto::SerializeDeterministic(grant);
      }
    }
    const int key = (selector >> 4) & 7;
    const tvault::crypto::SigningKey& signer =
        key == 0 ? NaturalSigner(kind)
                 : w.Key(static_cast<WorldKey>((key - 1) % kWorldKeyCount));
    st.set_body(body);
    st.set_signature(Str(signer.Sign(tvault::crypto::StatementTag(TypeOf(kind)),
                                     tvault::crypto::AsBytes(body))));
  } else if (!st.ParseFromArray(field.data(), static_cast<int>(field.size()))) {
    return 0;
  }

  switch (kind) {
    case kCertificate:
      Certificate(st);
      break;
    case kRevocation:
      Revocation(st);
      break;
    case kServerBundle:
      ServerBundle(st);
      break;
    case kServerRetired:
      ServerRetired(st);
      break;
    case kDescriptor:
      Descriptor(st);
      break;
    case kGenesis:
      Genesis(st);
      break;
    case kGrant:
      Grant(st, rest);
      break;
    case kInviteStatement:
      InviteStatement(st);
      break;
    case kDelete:
      Opened<tvault::v1::DeleteRequest>(tvault::crypto::StatementType::kDelete,
                                        st);
      break;
    default:
      Opened<tvault::v1::AuthChallenge>(tvault::crypto::StatementType::kAuth,
                                        st);
      break;
  }
  return 0;
}
