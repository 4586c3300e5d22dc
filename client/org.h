// The administrator's side (DESIGN.md §4): the organisation root, kept
// offline in its own keystore (Argon2id at 1 GiB, 4 passes), signs account
// certificates, revocations and the server bundle, and makes enrolment
// packages. Nothing here touches the network.
//
// Not thread-safe.
#ifndef TVAULT_CLIENT_ORG_H_
#define TVAULT_CLIENT_ORG_H_

#include <cstdint>
#include <string>

#include "absl/status/statusor.h"
#include "client/home.h"
#include "crypto/keystore.h"
#include "crypto/statement.h"
#include "proto/client.pb.h"
#include "proto/records.pb.h"

namespace tvault::client {

inline constexpr char kOrgKeystoreFile[] = "org/root.keystore";
inline constexpr char kOrgPublicFile[] = "org/root.pub";
inline constexpr char kRevocationPrefix[] = "tvault-revocation-1:";
inline constexpr char kBundlePrefix[] = "tvault-bundle-1:";
inline constexpr int64_t kDefaultCertificateDays = 365;

// Makes the root key and seals it. AlreadyExists if the home has one.
absl::StatusOr<crypto::SignPublicKey> InitOrg(
    const Home& home, const crypto::SecretBytes& passphrase,
    crypto::KeystoreStrength strength = crypto::KeystoreStrength::kOrgRoot);
absl::StatusOr<crypto::SignPublicKey> LoadOrgPublicKey(const Home& home);
absl::StatusOr<crypto::SigningKey> UnlockOrg(
    const Home& home, const crypto::SecretBytes& passphrase,
    crypto::KeystoreStrength minimum = crypto::KeystoreStrength::kOrgRoot);

// A certificate for `request` with `role`, valid from `now` for `days`
// (1–366). InvalidArgument for a bad request or term.
absl::StatusOr<tvault::v1::SignedStatement> Certify(
    const crypto::SigningKey& org,
    const tvault::v1::CertificateRequest& request, tvault::v1::Role role,
    int64_t days, int64_t now);

// A revocation of `certificate` (which must verify under the org key).
absl::StatusOr<tvault::v1::SignedStatement> RevokeCertificate(
    const crypto::SigningKey& org,
    const tvault::v1::SignedStatement& certificate, absl::string_view reason,
    int64_t now);

// Signs the unsigned bundle `tvaultd init` printed (base64 of a
// ServerBundle), after parsing it strictly and checking its rules.
absl::StatusOr<tvault::v1::SignedStatement> SignBundle(
    const crypto::SigningKey& org, absl::string_view unsigned_bundle_base64);

// Checks both statements under `org_pk` and packs them.
absl::StatusOr<tvault::v1::EnrolmentPackage> MakeEnrolmentPackage(
    const crypto::SignPublicKey& org_pk,
    const tvault::v1::SignedStatement& certificate,
    const tvault::v1::SignedStatement& bundle);

}  // namespace tvault::client

#endif  // TVAULT_CLIENT_ORG_H_
