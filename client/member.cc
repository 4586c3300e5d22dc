#include "client/member.h"

#include <ctime>
#include <set>

#include "absl/strings/str_cat.h"
#include "client/vault_auth.h"

namespace tvault::client {
namespace {

absl::StatusOr<Member> Connect(Home home, const crypto::SecretBytes& passphrase,
                               crypto::KeystoreStrength minimum) {
  absl::StatusOr<Enrolment> enrolment = LoadEnrolment(home);
  if (!enrolment.ok()) return enrolment.status();
  absl::StatusOr<AccountKeys> keys = UnlockAccount(home, passphrase, minimum);
  if (!keys.ok()) return keys.status();
  absl::StatusOr<std::unique_ptr<VaultSession>> session =
      VaultSession::Connect(enrolment->bundle);
  if (!session.ok()) return session.status();
  return Member{std::move(home), *std::move(enrolment), *std::move(keys),
                *std::move(session)};
}

absl::Status SignInMember(Member& m) {
  absl::StatusOr<std::string> dir = m.home.MakeDir(kLogStateDir);
  if (!dir.ok()) return dir.status();
  absl::StatusOr<crypto::NoteVerifier> verifier =
      crypto::NoteVerifier::Parse(m.enrolment.bundle.log_verifier_key());
  if (!verifier.ok()) return verifier.status();
  absl::StatusOr<LogMonitor> monitor =
      LogMonitor::Open(*std::move(verifier), *dir);
  if (!monitor.ok()) return monitor.status();
  return m.session->SignIn(m.keys.sign,
                           std::make_unique<LogMonitor>(*std::move(monitor)));
}

}  // namespace

absl::StatusOr<Member> OpenMember(Home home,
                                  const crypto::SecretBytes& passphrase,
                                  crypto::KeystoreStrength minimum) {
  absl::StatusOr<Member> m = Connect(std::move(home), passphrase, minimum);
  if (!m.ok()) return m.status();
  if (absl::Status s = SignInMember(*m); !s.ok()) {
    if (absl::IsUnauthenticated(s) || absl::IsPermissionDenied(s)) {
      return absl::Status(
          s.code(), absl::StrCat(s.message(),
                                 " (if you have not registered yet: tvault "
                                 "register)"));
    }
    return s;
  }
  return m;
}

absl::StatusOr<Member> RegisterMember(Home home,
                                      const crypto::SecretBytes& passphrase,
                                      crypto::KeystoreStrength minimum) {
  absl::StatusOr<Member> m = Connect(std::move(home), passphrase, minimum);
  if (!m.ok()) return m.status();
  tvault::v1::Challenge challenge;
  if (grpc::Status s = m->session->stub().GetChallenge(
          m->session->Context().get(), {}, &challenge);
      !s.ok()) {
    return Explain(s, "registering");
  }
  absl::StatusOr<tvault::v1::SignedStatement> signed_challenge =
      SignAuthChallenge(challenge.nonce(), m->keys.sign, m->session->pin(),
                        static_cast<int64_t>(std::time(nullptr)));
  if (!signed_challenge.ok()) return signed_challenge.status();
  tvault::v1::RegisterRequest request;
  *request.mutable_certificate() = m->enrolment.certificate.statement;
  *request.mutable_challenge() = *std::move(signed_challenge);
  tvault::v1::RegisterResponse response;
  if (grpc::Status s = m->session->stub().Register(m->session->Context().get(),
                                                   request, &response);
      !s.ok()) {
    return Explain(s, "registering");
  }
  if (absl::Status s = SignInMember(*m); !s.ok()) return s;
  if (response.has_receipt()) {
    absl::StatusOr<tvault::v1::LogEntry> entry =
        m->session->CheckReceipt(response.receipt());
    if (!entry.ok()) return entry.status();
    if (!entry->has_certificate_registered() ||
        entry->certificate_registered().cert_fingerprint() !=
            crypto::AsString(m->enrolment.certificate.fingerprint)) {
      return absl::DataLossError(
          "the vault's receipt is not for this registration");
    }
  }
  return m;
}

absl::Status CertificateDirectory::Fetch(
    const std::vector<crypto::Fingerprint>& fingerprints) {
  std::set<crypto::Fingerprint> wanted;
  for (const crypto::Fingerprint& fp : fingerprints) {
    if (!certs_.contains(fp)) wanted.insert(fp);
  }
  std::vector<crypto::Fingerprint> list(wanted.begin(), wanted.end());
  for (size_t begin = 0; begin < list.size(); begin += 100) {
    tvault::v1::GetCertificatesRequest request;
    for (size_t i = begin; i < std::min(list.size(), begin + 100); ++i) {
      request.add_cert_fingerprints(std::string(crypto::AsString(list[i])));
    }
    tvault::v1::GetCertificatesResponse response;
    if (grpc::Status s = member_.session->stub().GetCertificates(
            member_.session->Context().get(), request, &response);
        !s.ok()) {
      return Explain(s, "fetching certificates");
    }
    for (const tvault::v1::SignedStatement& st : response.certificates()) {
      absl::StatusOr<crypto::VerifiedCertificate> cert =
          crypto::VerifyCertificate(st, member_.enrolment.org_pk);
      if (!cert.ok()) {
        return absl::PermissionDeniedError(absl::StrCat(
            "the vault served a certificate the organisation did not sign: ",
            cert.status().message()));
      }
      certs_.emplace(cert->fingerprint, *std::move(cert));
    }
    for (const tvault::v1::SignedStatement& st : response.revocations()) {
      absl::StatusOr<tvault::v1::Revocation> r =
          crypto::VerifyRevocation(st, member_.enrolment.org_pk);
      if (!r.ok()) {
        return absl::PermissionDeniedError(absl::StrCat(
            "the vault served a revocation the organisation did not sign: ",
            r.status().message()));
      }
      revocations_.push_back(*std::move(r));
    }
  }
  for (const crypto::Fingerprint& fp : list) {
    if (!certs_.contains(fp)) {
      return absl::NotFoundError(
          absl::StrCat("the vault did not return certificate ",
                       crypto::FormatFingerprint(fp)));
    }
  }
  return absl::OkStatus();
}

const crypto::VerifiedCertificate* CertificateDirectory::Find(
    const crypto::Fingerprint& fp) const {
  auto it = certs_.find(fp);
  return it == certs_.end() ? nullptr : &it->second;
}

const crypto::VerifiedCertificate* CertificateDirectory::FindValidAt(
    const crypto::Fingerprint& fp, int64_t at_time) const {
  const crypto::VerifiedCertificate* cert = Find(fp);
  if (cert == nullptr) return nullptr;
  for (const tvault::v1::Revocation& r : revocations_) {
    if (r.cert_fingerprint() == crypto::AsString(fp) &&
        r.revoked_at() <= at_time) {
      return nullptr;
    }
  }
  return cert;
}

}  // namespace tvault::client
