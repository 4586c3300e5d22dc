#include "client/org.h"

#include <algorithm>
#include <cstring>

#include "absl/strings/ascii.h"
#include "absl/strings/str_cat.h"
#include "crypto/base64.h"
#include "crypto/certificate.h"

namespace tvault::client {
namespace {

constexpr char kOrgPayloadMagic[4] = {'T', 'V', 'O', '1'};

}  // namespace

absl::StatusOr<crypto::SignPublicKey> InitOrg(
    const Home& home, const crypto::SecretBytes& passphrase,
    crypto::KeystoreStrength strength) {
  if (home.Exists(kOrgKeystoreFile)) {
    return absl::AlreadyExistsError(
        absl::StrCat("an organisation root already exists in ",
                     home.Path(kOrgKeystoreFile), "; it is never overwritten"));
  }
  crypto::SigningKey root = crypto::SigningKey::Generate();
  const crypto::SecretBytes seed = root.Seed();
  crypto::SecretBytes payload(sizeof kOrgPayloadMagic + seed.size());
  std::copy_n(kOrgPayloadMagic, sizeof kOrgPayloadMagic, payload.data());
  std::copy_n(seed.data(), seed.size(), payload.data() + 4);
  absl::StatusOr<std::vector<uint8_t>> sealed =
      crypto::SealKeystore(payload, passphrase, strength);
  if (!sealed.ok()) return sealed.status();
  if (absl::Status s = home.Write(kOrgKeystoreFile, *sealed); !s.ok()) return s;
  if (absl::Status s = home.Write(kOrgPublicFile, root.public_key()); !s.ok()) {
    return s;
  }
  return root.public_key();
}

absl::StatusOr<crypto::SignPublicKey> LoadOrgPublicKey(const Home& home) {
  absl::StatusOr<std::vector<uint8_t>> pk = home.Read(
      kOrgPublicFile, "create the organisation first: tvault org init");
  if (!pk.ok()) return pk.status();
  if (pk->size() != 32) {
    return absl::DataLossError(
        absl::StrCat(home.Path(kOrgPublicFile), " is damaged"));
  }
  crypto::SignPublicKey out{};
  std::copy(pk->begin(), pk->end(), out.begin());
  return out;
}

absl::StatusOr<crypto::SigningKey> UnlockOrg(
    const Home& home, const crypto::SecretBytes& passphrase,
    crypto::KeystoreStrength minimum) {
  absl::StatusOr<std::vector<uint8_t>> file = home.Read(
      kOrgKeystoreFile, "create the organisation first: tvault org init");
  if (!file.ok()) return file.status();
  absl::StatusOr<crypto::SecretBytes> payload =
      crypto::OpenKeystore(*file, passphrase, minimum);
  if (!payload.ok()) return payload.status();
  if (payload->size() != 36 ||
      std::memcmp(payload->data(), kOrgPayloadMagic, 4) != 0) {
    return absl::DataLossError(
        "the keystore opened but does not hold an organisation root");
  }
  absl::StatusOr<crypto::SigningKey> key = crypto::SigningKey::FromSeed(
      crypto::SecretBytes::CopyFrom(payload->span().subspan(4)));
  if (!key.ok()) return key.status();
  absl::StatusOr<crypto::SignPublicKey> pk = LoadOrgPublicKey(home);
  if (pk.ok() && *pk != key->public_key()) {
    return absl::DataLossError(
        "org/root.pub does not match the organisation keystore");
  }
  return key;
}

absl::StatusOr<tvault::v1::SignedStatement> Certify(
    const crypto::SigningKey& org,
    const tvault::v1::CertificateRequest& request, tvault::v1::Role role,
    int64_t days, int64_t now) {
  if (request.version() != 1) {
    return absl::InvalidArgumentError("the request is not version 1");
  }
  if (days < 1 || days > 366) {
    return absl::InvalidArgumentError(
        "a certificate is valid for 1 to 366 days");
  }
  tvault::v1::Certificate body;
  body.set_version(crypto::kCertificateVersion);
  body.set_sign_pk(request.sign_pk());
  body.set_box_pk(request.box_pk());
  body.add_roles(role);
  body.set_handle(request.handle());
  body.set_not_before(now);
  body.set_not_after(now + days * crypto::kSecondsPerDay);
  return crypto::IssueCertificate(body, org);
}

absl::StatusOr<tvault::v1::SignedStatement> RevokeCertificate(
    const crypto::SigningKey& org,
    const tvault::v1::SignedStatement& certificate, absl::string_view reason,
    int64_t now) {
  absl::StatusOr<crypto::VerifiedCertificate> cert =
      crypto::VerifyCertificate(certificate, org.public_key());
  if (!cert.ok()) {
    return absl::PermissionDeniedError(
        absl::StrCat("this certificate was not issued by this organisation: ",
                     cert.status().message()));
  }
  tvault::v1::Revocation body;
  body.set_version(1);
  body.set_cert_fingerprint(std::string(crypto::AsString(cert->fingerprint)));
  body.set_revoked_at(now);
  body.set_reason(std::string(reason));
  return crypto::IssueRevocation(body, org);
}

absl::StatusOr<tvault::v1::SignedStatement> SignBundle(
    const crypto::SigningKey& org, absl::string_view unsigned_bundle_base64) {
  absl::StatusOr<std::vector<uint8_t>> bin =
      crypto::Base64Decode(absl::StripAsciiWhitespace(unsigned_bundle_base64),
                           crypto::Base64Padding::kPadded);
  if (!bin.ok()) {
    return absl::InvalidArgumentError(
        "the bundle is not the base64 text `tvaultd init` printed");
  }
  tvault::v1::ServerBundle body;
  if (absl::Status s = crypto::ParseStrictly(crypto::AsString(*bin), body);
      !s.ok()) {
    return absl::InvalidArgumentError(
        absl::StrCat("the bundle is damaged: ", s.message()));
  }
  return crypto::IssueServerBundle(body, org);
}

absl::StatusOr<tvault::v1::EnrolmentPackage> MakeEnrolmentPackage(
    const crypto::SignPublicKey& org_pk,
    const tvault::v1::SignedStatement& certificate,
    const tvault::v1::SignedStatement& bundle) {
  if (absl::Status s = crypto::VerifyCertificate(certificate, org_pk).status();
      !s.ok()) {
    return absl::PermissionDeniedError(absl::StrCat(
        "the certificate is not this organisation's: ", s.message()));
  }
  if (absl::Status s = crypto::VerifyServerBundle(bundle, org_pk).status();
      !s.ok()) {
    return absl::PermissionDeniedError(absl::StrCat(
        "the server bundle is not signed by this organisation: ", s.message()));
  }
  tvault::v1::EnrolmentPackage package;
  package.set_version(1);
  package.set_org_pk(std::string(crypto::AsString(org_pk)));
  *package.mutable_certificate() = certificate;
  *package.mutable_server_bundle() = bundle;
  return package;
}

}  // namespace tvault::client
