// A member's account on this device (DESIGN.md §4): the keystore with the
// signing and box keys, the certificate request made from them, and the
// enrolment package the administrator returns.
//
// Secrets: the keys live only in the keystore (Argon2id + XChaCha20-Poly1305)
// and, once unlocked, in sodium_malloc memory (SigningKey, X25519Identity).
// Nothing here logs or prints them.
//
// Not thread-safe.
#ifndef TVAULT_CLIENT_ACCOUNT_H_
#define TVAULT_CLIENT_ACCOUNT_H_

#include <string>

#include "absl/status/statusor.h"
#include "client/home.h"
#include "crypto/age_recipients.h"
#include "crypto/certificate.h"
#include "crypto/keystore.h"
#include "crypto/secret_bytes.h"
#include "crypto/statement.h"
#include "proto/client.pb.h"
#include "proto/records.pb.h"

namespace tvault::client {

inline constexpr char kKeystoreFile[] = "keystore";
inline constexpr char kRequestFile[] = "request";
inline constexpr char kEnrolmentFile[] = "enrolment";
inline constexpr char kRequestPrefix[] = "tvault-request-1:";
inline constexpr char kCertificatePrefix[] = "tvault-cert-1:";
inline constexpr char kEnrolmentPrefix[] = "tvault-enrolment-1:";

struct AccountKeys {
  crypto::SigningKey sign;
  crypto::X25519Identity box;
};

// Makes fresh keys, seals them in the home's keystore under `passphrase` at
// `strength`, and writes the certificate request. AlreadyExists if the home
// already has a keystore (never overwritten: it may be the only copy).
absl::StatusOr<tvault::v1::CertificateRequest> CreateAccount(
    const Home& home, absl::string_view handle,
    const crypto::SecretBytes& passphrase, crypto::KeystoreStrength strength);

// The request written by CreateAccount (public; no passphrase needed).
absl::StatusOr<tvault::v1::CertificateRequest> LoadRequest(const Home& home);

// Opens the keystore (at least KeystoreStrength::kMember). PermissionDenied
// for a wrong passphrase; NotFound (saying to run `tvault keys new`) if
// there is none. `minimum` is lowered only by tests.
absl::StatusOr<AccountKeys> UnlockAccount(
    const Home& home, const crypto::SecretBytes& passphrase,
    crypto::KeystoreStrength minimum = crypto::KeystoreStrength::kMember);

// The trust anchors of an enrolled member, verified.
struct Enrolment {
  crypto::SignPublicKey org_pk{};
  crypto::VerifiedCertificate certificate;
  tvault::v1::SignedStatement bundle_statement;
  tvault::v1::ServerBundle bundle;
};

// Verifies a package (certificate and bundle under the package's org key,
// the certificate's keys equal to the request's) and stores it. Returns the
// enrolment. PermissionDenied if a signature fails or the certificate is
// for other keys.
absl::StatusOr<Enrolment> Enrol(const Home& home,
                                const tvault::v1::EnrolmentPackage& package);
// Loads and re-verifies the stored package. NotFound (saying to run
// `tvault enrol`) if there is none.
absl::StatusOr<Enrolment> LoadEnrolment(const Home& home);
// Verifies a package without storing it.
absl::StatusOr<Enrolment> VerifyEnrolment(
    const tvault::v1::EnrolmentPackage& package);

// "3f2a 9c01 …" fingerprints of a request's keys, for comparing in person.
std::string SignKeyFingerprint(absl::string_view sign_pk);
std::string BoxKeyFingerprint(absl::string_view box_pk);

}  // namespace tvault::client

#endif  // TVAULT_CLIENT_ACCOUNT_H_
