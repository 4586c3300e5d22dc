// An unlocked, enrolled member signed in to the vault: what every account
// command starts from.
//
// Not thread-safe.
#ifndef TVAULT_CLIENT_MEMBER_H_
#define TVAULT_CLIENT_MEMBER_H_

#include <map>
#include <memory>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "client/account.h"
#include "client/home.h"
#include "client/session.h"
#include "crypto/certificate.h"
#include "crypto/keystore.h"

namespace tvault::client {

inline constexpr char kLogStateDir[] = "vault";

struct Member {
  Home home;
  Enrolment enrolment;
  AccountKeys keys;
  std::unique_ptr<VaultSession> session;
};

// Unlocks the keystore, loads the enrolment, connects, signs in and checks
// the log against this device's last checkpoint.
absl::StatusOr<Member> OpenMember(
    Home home, const crypto::SecretBytes& passphrase,
    crypto::KeystoreStrength minimum = crypto::KeystoreStrength::kMember);

// Registers the member's certificate with the vault (idempotent), then
// signs in and checks the receipt. Returns the member, signed in.
absl::StatusOr<Member> RegisterMember(
    Home home, const crypto::SecretBytes& passphrase,
    crypto::KeystoreStrength minimum = crypto::KeystoreStrength::kMember);

// Certificates known to the vault, verified under the org key, with the
// verified revocations among them. Fetched in batches; cached per process.
class CertificateDirectory {
 public:
  explicit CertificateDirectory(Member& member) : member_(member) {}
  // Fetches and verifies those not yet held. NotFound if the vault does not
  // know one; PermissionDenied if one is not signed by the org root.
  absl::Status Fetch(const std::vector<crypto::Fingerprint>& fingerprints);
  // nullptr unless fetched.
  const crypto::VerifiedCertificate* Find(const crypto::Fingerprint& fp) const;
  const std::vector<tvault::v1::Revocation>& revocations() const {
    return revocations_;
  }
  // The certificate, if fetched and not revoked at or before `at_time`.
  const crypto::VerifiedCertificate* FindValidAt(const crypto::Fingerprint& fp,
                                                 int64_t at_time) const;

 private:
  Member& member_;
  std::map<crypto::Fingerprint, crypto::VerifiedCertificate> certs_;
  std::vector<tvault::v1::Revocation> revocations_;
};

}  // namespace tvault::client

#endif  // TVAULT_CLIENT_MEMBER_H_
