#include "client/account.h"

#include <algorithm>
#include <cstring>

#include "absl/strings/str_cat.h"

namespace tvault::client {
namespace {

// Keystore payload: "TVA1" || Ed25519 seed (32) || "AGE-SECRET-KEY-1…".
constexpr char kPayloadMagic[4] = {'T', 'V', 'A', '1'};
constexpr size_t kSeedSize = 32;

absl::StatusOr<AccountKeys> ParsePayload(const crypto::SecretBytes& payload) {
  const size_t head = sizeof kPayloadMagic + kSeedSize;
  if (payload.size() <= head ||
      std::memcmp(payload.data(), kPayloadMagic, sizeof kPayloadMagic) != 0) {
    return absl::DataLossError(
        "the keystore opened but does not hold tvault account keys");
  }
  absl::StatusOr<crypto::SigningKey> sign = crypto::SigningKey::FromSeed(
      crypto::SecretBytes::CopyFrom(payload.span().subspan(4, kSeedSize)));
  if (!sign.ok()) return sign.status();
  absl::StatusOr<crypto::X25519Identity> box = crypto::X25519Identity::Parse(
      crypto::AsString(payload.span().subspan(head)));
  if (!box.ok()) {
    return absl::DataLossError("the keystore's box key is damaged");
  }
  return AccountKeys{*std::move(sign), *std::move(box)};
}

}  // namespace

std::string SignKeyFingerprint(absl::string_view sign_pk) {
  return crypto::FormatFingerprint(crypto::ComputeFingerprint(
      crypto::FingerprintType::kSignKey, crypto::AsBytes(sign_pk)));
}

std::string BoxKeyFingerprint(absl::string_view box_pk) {
  return crypto::FormatFingerprint(crypto::ComputeFingerprint(
      crypto::FingerprintType::kBoxKey, crypto::AsBytes(box_pk)));
}

absl::StatusOr<tvault::v1::CertificateRequest> CreateAccount(
    const Home& home, absl::string_view handle,
    const crypto::SecretBytes& passphrase, crypto::KeystoreStrength strength) {
  if (home.Exists(kKeystoreFile)) {
    return absl::AlreadyExistsError(absl::StrCat(
        "this home (", home.dir(),
        ") already has keys; they are never overwritten. Use another --home "
        "for a second account"));
  }
  if (handle.empty() || handle.size() > crypto::kMaxHandleSize) {
    return absl::InvalidArgumentError(
        absl::StrCat("the handle must be 1 to ", crypto::kMaxHandleSize,
                     " bytes: a pseudonym, not a real name"));
  }
  crypto::SigningKey sign = crypto::SigningKey::Generate();
  crypto::X25519Identity box = crypto::X25519Identity::Generate();
  const crypto::SecretBytes seed = sign.Seed();
  const crypto::SecretBytes encoded = box.Encode();
  crypto::SecretBytes payload(sizeof kPayloadMagic + seed.size() +
                              encoded.size());
  std::copy_n(kPayloadMagic, sizeof kPayloadMagic, payload.data());
  std::copy_n(seed.data(), seed.size(), payload.data() + 4);
  std::copy_n(encoded.data(), encoded.size(), payload.data() + 4 + seed.size());

  tvault::v1::CertificateRequest request;
  request.set_version(1);
  request.set_handle(std::string(handle));
  request.set_sign_pk(std::string(crypto::AsString(sign.public_key())));
  request.set_box_pk(std::string(crypto::AsString(box.recipient().bytes())));
  tvault::v1::Certificate probe;  // the administrator will check the same
  probe.set_version(crypto::kCertificateVersion);
  probe.set_sign_pk(request.sign_pk());
  probe.set_box_pk(request.box_pk());
  probe.add_roles(tvault::v1::REVIEWER);
  probe.set_handle(request.handle());
  probe.set_not_before(1);
  probe.set_not_after(2);
  if (absl::Status s = crypto::CheckCertificateBody(probe); !s.ok()) return s;

  absl::StatusOr<std::vector<uint8_t>> sealed =
      crypto::SealKeystore(payload, passphrase, strength);
  if (!sealed.ok()) return sealed.status();
  if (absl::Status s = home.Write(kKeystoreFile, *sealed); !s.ok()) return s;
  if (absl::Status s = home.WriteMessage(kRequestFile, request); !s.ok()) {
    return s;
  }
  return request;
}

absl::StatusOr<tvault::v1::CertificateRequest> LoadRequest(const Home& home) {
  tvault::v1::CertificateRequest request;
  if (absl::Status s = home.ReadMessage(
          kRequestFile, "make your keys first: tvault keys new --handle NAME",
          request);
      !s.ok()) {
    return s;
  }
  return request;
}

absl::StatusOr<AccountKeys> UnlockAccount(const Home& home,
                                          const crypto::SecretBytes& passphrase,
                                          crypto::KeystoreStrength minimum) {
  absl::StatusOr<std::vector<uint8_t>> file = home.Read(
      kKeystoreFile, "make your keys first: tvault keys new --handle NAME");
  if (!file.ok()) return file.status();
  absl::StatusOr<crypto::SecretBytes> payload =
      crypto::OpenKeystore(*file, passphrase, minimum);
  if (!payload.ok()) return payload.status();
  absl::StatusOr<AccountKeys> keys = ParsePayload(*payload);
  if (!keys.ok()) return keys.status();
  absl::StatusOr<tvault::v1::CertificateRequest> request = LoadRequest(home);
  if (request.ok() &&
      (request->sign_pk() != crypto::AsString(keys->sign.public_key()) ||
       request->box_pk() != crypto::AsString(keys->box.recipient().bytes()))) {
    return absl::DataLossError(
        "the keystore and the request file in this home belong to different "
        "keys; the home was mixed up");
  }
  return keys;
}

absl::StatusOr<Enrolment> VerifyEnrolment(
    const tvault::v1::EnrolmentPackage& package) {
  if (package.version() != 1 || package.org_pk().size() != 32) {
    return absl::InvalidArgumentError(
        "the enrolment package is not version 1 or has no organisation key");
  }
  Enrolment e;
  std::copy_n(package.org_pk().begin(), 32, e.org_pk.begin());
  absl::StatusOr<crypto::VerifiedCertificate> cert =
      crypto::VerifyCertificate(package.certificate(), e.org_pk);
  if (!cert.ok()) {
    return absl::PermissionDeniedError(absl::StrCat(
        "the certificate in the enrolment package is not valid under its "
        "organisation key: ",
        cert.status().message()));
  }
  absl::StatusOr<tvault::v1::ServerBundle> bundle =
      crypto::VerifyServerBundle(package.server_bundle(), e.org_pk);
  if (!bundle.ok()) {
    return absl::PermissionDeniedError(absl::StrCat(
        "the server bundle in the enrolment package is not signed by the "
        "organisation: ",
        bundle.status().message()));
  }
  e.certificate = *std::move(cert);
  e.bundle_statement = package.server_bundle();
  e.bundle = *std::move(bundle);
  return e;
}

absl::StatusOr<Enrolment> Enrol(const Home& home,
                                const tvault::v1::EnrolmentPackage& package) {
  absl::StatusOr<tvault::v1::CertificateRequest> request = LoadRequest(home);
  if (!request.ok()) return request.status();
  absl::StatusOr<Enrolment> e = VerifyEnrolment(package);
  if (!e.ok()) return e.status();
  if (e->certificate.body.sign_pk() != request->sign_pk() ||
      e->certificate.body.box_pk() != request->box_pk()) {
    return absl::PermissionDeniedError(
        "this enrolment package is for someone else's keys, not the keys in "
        "this home; ask the administrator for yours");
  }
  if (absl::Status s = home.WriteMessage(kEnrolmentFile, package); !s.ok()) {
    return s;
  }
  return e;
}

absl::StatusOr<Enrolment> LoadEnrolment(const Home& home) {
  tvault::v1::EnrolmentPackage package;
  if (absl::Status s = home.ReadMessage(
          kEnrolmentFile,
          "enrol first with the package from your administrator: tvault "
          "enrol PACKAGE",
          package);
      !s.ok()) {
    return s;
  }
  return VerifyEnrolment(package);
}

}  // namespace tvault::client
