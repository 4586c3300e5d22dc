#include "crypto/statement.h"

#include <sodium.h>

#include <vector>

#include "absl/strings/str_cat.h"
#include "google/protobuf/descriptor.h"
#include "google/protobuf/io/coded_stream.h"
#include "google/protobuf/io/zero_copy_stream_impl_lite.h"
#include "google/protobuf/reflection.h"
#include "google/protobuf/unknown_field_set.h"

namespace tvault::crypto {
namespace {

using google::protobuf::FieldDescriptor;
using google::protobuf::Message;
using google::protobuf::Reflection;

// True if `m` or any message inside it kept unknown fields.
bool HasUnknownFields(const Message& m) {
  const Reflection* r = m.GetReflection();
  if (!r->GetUnknownFields(m).empty()) return true;
  std::vector<const FieldDescriptor*> fields;
  r->ListFields(m, &fields);
  for (const FieldDescriptor* f : fields) {
    if (f->cpp_type() != FieldDescriptor::CPPTYPE_MESSAGE) continue;
    if (f->is_repeated()) {
      for (int i = 0; i < r->FieldSize(m, f); ++i) {
        if (HasUnknownFields(r->GetRepeatedMessage(m, f, i))) return true;
      }
    } else if (HasUnknownFields(r->GetMessage(m, f))) {
      return true;
    }
  }
  return false;
}

std::vector<uint8_t> TaggedMessage(absl::string_view tag,
                                   absl::Span<const uint8_t> message) {
  std::vector<uint8_t> out(tag.begin(), tag.end());
  out.push_back(0);
  out.insert(out.end(), message.begin(), message.end());
  return out;
}

}  // namespace

absl::string_view StatementTag(StatementType type) {
  switch (type) {
    case StatementType::kCert:
      return "tvault/v1/cert";
    case StatementType::kRevocation:
      return "tvault/v1/revocation";
    case StatementType::kServerBundle:
      return "tvault/v1/server-bundle";
    case StatementType::kServerRetired:
      return "tvault/v1/server-retired";
    case StatementType::kDescriptor:
      return "tvault/v1/descriptor";
    case StatementType::kGrant:
      return "tvault/v1/grant";
    case StatementType::kInvite:
      return "tvault/v1/invite";
    case StatementType::kDelete:
      return "tvault/v1/delete";
    case StatementType::kAuth:
      return "tvault/v1/auth";
    case StatementType::kRecord:
      return "tvault/v1/record";
  }
  return "";
}

SigningKey SigningKey::Generate() {
  EnsureSodiumInitialized();
  SecretBytes sk(crypto_sign_SECRETKEYBYTES);
  SignPublicKey pk{};
  crypto_sign_keypair(pk.data(), sk.data());
  return SigningKey(std::move(sk), pk);
}

absl::StatusOr<SigningKey> SigningKey::FromSeed(const SecretBytes& seed) {
  EnsureSodiumInitialized();
  if (seed.size() != crypto_sign_SEEDBYTES) {
    return absl::InvalidArgumentError("signing key seed must be 32 bytes");
  }
  SecretBytes sk(crypto_sign_SECRETKEYBYTES);
  SignPublicKey pk{};
  crypto_sign_seed_keypair(pk.data(), sk.data(), seed.data());
  return SigningKey(std::move(sk), pk);
}

Signature SigningKey::Sign(absl::string_view tag,
                           absl::Span<const uint8_t> message) const {
  const std::vector<uint8_t> m = TaggedMessage(tag, message);
  Signature sig{};
  crypto_sign_detached(sig.data(), nullptr, m.data(), m.size(), sk_.data());
  return sig;
}

SecretBytes SigningKey::Seed() const {
  SecretBytes seed(crypto_sign_SEEDBYTES);
  crypto_sign_ed25519_sk_to_seed(seed.data(), sk_.data());
  return seed;
}

absl::Status CheckSignPublicKey(absl::Span<const uint8_t> pk) {
  EnsureSodiumInitialized();
  if (pk.size() != crypto_sign_PUBLICKEYBYTES) {
    return absl::InvalidArgumentError("signing key must be 32 bytes");
  }
  // Rejects non-canonical encodings, points off the curve, small-order
  // points and points outside the prime-order subgroup.
  if (crypto_core_ed25519_is_valid_point(pk.data()) != 1) {
    return absl::InvalidArgumentError(
        "signing key is not a valid Ed25519 public key (small order or "
        "malformed)");
  }
  return absl::OkStatus();
}

absl::Status VerifySignature(absl::string_view tag,
                             absl::Span<const uint8_t> message,
                             absl::Span<const uint8_t> signature,
                             absl::Span<const uint8_t> pk) {
  if (absl::Status s = CheckSignPublicKey(pk); !s.ok()) return s;
  if (signature.size() != crypto_sign_BYTES) {
    return absl::InvalidArgumentError("signature must be 64 bytes");
  }
  const std::vector<uint8_t> m = TaggedMessage(tag, message);
  if (crypto_sign_verify_detached(signature.data(), m.data(), m.size(),
                                  pk.data()) != 0) {
    return absl::PermissionDeniedError(
        absl::StrCat("signature on ", tag, " does not verify"));
  }
  return absl::OkStatus();
}

std::string SerializeDeterministic(const Message& m) {
  std::string out;
  google::protobuf::io::StringOutputStream stream(&out);
  google::protobuf::io::CodedOutputStream coded(&stream);
  coded.SetSerializationDeterministic(true);
  m.SerializeToCodedStream(&coded);
  coded.Trim();
  return out;
}

tvault::v1::SignedStatement SignStatement(StatementType type,
                                          const Message& body,
                                          const SigningKey& key) {
  tvault::v1::SignedStatement out;
  out.set_body(SerializeDeterministic(body));
  const Signature sig = key.Sign(StatementTag(type), AsBytes(out.body()));
  out.set_signature(sig.data(), sig.size());
  return out;
}

absl::Status OpenStatement(StatementType type,
                           const tvault::v1::SignedStatement& statement,
                           absl::Span<const uint8_t> signer_pk, Message& body) {
  if (absl::Status s =
          VerifySignature(StatementTag(type), AsBytes(statement.body()),
                          AsBytes(statement.signature()), signer_pk);
      !s.ok()) {
    return s;
  }
  return ParseStrictly(statement.body(), body);
}

absl::Status ParseStrictly(absl::string_view bytes, Message& message) {
  message.Clear();
  if (!message.ParseFromArray(bytes.data(), static_cast<int>(bytes.size()))) {
    return absl::InvalidArgumentError(
        absl::StrCat(message.GetTypeName(), " does not parse"));
  }
  if (HasUnknownFields(message)) {
    return absl::InvalidArgumentError(
        absl::StrCat(message.GetTypeName(),
                     " has unknown fields (written by a newer or "
                     "different program); refusing it"));
  }
  if (SerializeDeterministic(message) != bytes) {
    return absl::InvalidArgumentError(
        absl::StrCat(message.GetTypeName(), " is not in canonical encoding"));
  }
  return absl::OkStatus();
}

Fingerprint ComputeFingerprint(FingerprintType type,
                               absl::Span<const uint8_t> bytes) {
  absl::string_view name;
  switch (type) {
    case FingerprintType::kCert:
      name = "cert";
      break;
    case FingerprintType::kSignKey:
      name = "sign-key";
      break;
    case FingerprintType::kBoxKey:
      name = "box-key";
      break;
    case FingerprintType::kDescriptor:
      name = "descriptor";
      break;
  }
  const std::string prefix = absl::StrCat("tvault/v1/fp/", name);
  crypto_hash_sha256_state st;
  crypto_hash_sha256_init(&st);
  crypto_hash_sha256_update(&st, AsBytes(prefix).data(), prefix.size());
  const uint8_t zero = 0;
  crypto_hash_sha256_update(&st, &zero, 1);
  crypto_hash_sha256_update(&st, bytes.data(), bytes.size());
  Sha256 digest{};
  crypto_hash_sha256_final(&st, digest.data());
  Fingerprint fp{};
  std::copy_n(digest.begin(), fp.size(), fp.begin());
  return fp;
}

std::string FormatFingerprint(const Fingerprint& fp) {
  static constexpr char kHex[] = "0123456789abcdef";
  std::string out;
  for (size_t i = 0; i < fp.size(); ++i) {
    if (i > 0 && i % 2 == 0) out += ' ';
    out += kHex[fp[i] >> 4];
    out += kHex[fp[i] & 15];
  }
  return out;
}

Sha256 ComputeSha256(absl::Span<const uint8_t> bytes) {
  Sha256 out{};
  crypto_hash_sha256(out.data(), bytes.data(), bytes.size());
  return out;
}

}  // namespace tvault::crypto
