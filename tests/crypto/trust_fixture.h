// Shared helpers for the certificate, descriptor, grant and invite tests: an
// organisation root, accounts with certificates, a certificate lookup, a
// server bundle, and ways to break a signed body (unknown field,
// non-canonical encoding) while keeping a valid signature.
#ifndef TVAULT_TESTS_CRYPTO_TRUST_FIXTURE_H_
#define TVAULT_TESTS_CRYPTO_TRUST_FIXTURE_H_

#include <cstdint>
#include <map>
#include <memory>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "crypto/age_recipients.h"
#include "crypto/case_descriptor.h"
#include "crypto/certificate.h"
#include "crypto/signed_note.h"
#include "crypto/statement.h"
#include "gtest/gtest.h"
#include "proto/records.pb.h"

namespace tvault::crypto::trust_testing {

inline constexpr int64_t kNow = 1'700'000'000;
inline constexpr int64_t kDay = 86400;

inline std::string Str(absl::Span<const uint8_t> b) {
  return std::string(AsString(b));
}

inline tvault::v1::Certificate CertBody(const SignPublicKey& sign_pk,
                                        const X25519Recipient& box,
                                        std::vector<tvault::v1::Role> roles,
                                        const std::string& handle,
                                        int64_t not_before = kNow - kDay,
                                        int64_t not_after = kNow + 300 * kDay) {
  tvault::v1::Certificate c;
  c.set_version(1);
  c.set_sign_pk(Str(sign_pk));
  c.set_box_pk(Str(box.bytes()));
  for (tvault::v1::Role r : roles) c.add_roles(r);
  c.set_handle(handle);
  c.set_not_before(not_before);
  c.set_not_after(not_after);
  return c;
}

struct Account {
  SigningKey sign = SigningKey::Generate();
  X25519Identity box = X25519Identity::Generate();
  VerifiedCertificate cert;
};

inline std::unique_ptr<Account> MakeAccount(
    const SigningKey& root, const std::string& handle,
    std::vector<tvault::v1::Role> roles = {tvault::v1::REVIEWER}) {
  auto a = std::make_unique<Account>();
  absl::StatusOr<tvault::v1::SignedStatement> st = IssueCertificate(
      CertBody(a->sign.public_key(), a->box.recipient(), roles, handle), root);
  EXPECT_TRUE(st.ok()) << st.status();
  absl::StatusOr<VerifiedCertificate> v =
      VerifyCertificate(*st, root.public_key());
  EXPECT_TRUE(v.ok()) << v.status();
  a->cert = *v;
  return a;
}

// A lookup over the accounts registered with it.
class CertDirectory {
 public:
  void Add(const Account& a) { certs_[a.cert.fingerprint] = a.cert; }
  void Remove(const Account& a) { certs_.erase(a.cert.fingerprint); }
  CertificateLookup Lookup() const {
    return [this](const Fingerprint& fp) -> const VerifiedCertificate* {
      auto it = certs_.find(fp);
      return it == certs_.end() ? nullptr : &it->second;
    };
  }

 private:
  std::map<Fingerprint, VerifiedCertificate> certs_;
};

inline tvault::v1::ServerBundle BundleBody(int onion_addresses = 2) {
  static const std::string kOrigin = "vault.example.org/log";
  absl::StatusOr<NoteSigner> log_key = NoteSigner::Generate(kOrigin);
  EXPECT_TRUE(log_key.ok());
  tvault::v1::ServerBundle b;
  b.set_version(1);
  for (int i = 0; i < onion_addresses; ++i) {
    // A v3 onion address: 56 base32 characters.
    b.add_addresses(std::string(55, static_cast<char>('a' + i)) +
                    "d.onion:443");
  }
  b.set_tls_pin(std::string(32, '\x42'));
  b.set_log_origin(kOrigin);
  b.set_log_verifier_key(log_key->verifier().Encode());
  b.set_issued_at(kNow);
  return b;
}

// `statement` with `body` replaced and re-signed by `key` over the raw bytes
// (no re-serialisation), as an attacker holding the key could.
inline tvault::v1::SignedStatement ResignRaw(StatementType type,
                                             const std::string& body,
                                             const SigningKey& key) {
  tvault::v1::SignedStatement out;
  out.set_body(body);
  const Signature sig = key.Sign(StatementTag(type), AsBytes(body));
  out.set_signature(Str(sig));
  return out;
}

// Valid body bytes with field 99 (varint 1) appended: parses, but carries a
// field this program does not know.
inline std::string WithUnknownField(const std::string& body) {
  return body + std::string("\x98\x06\x01", 3);
}

// Valid body bytes whose leading "version = 1" (08 01) is rewritten as an
// overlong varint (08 81 00): same message, non-canonical encoding.
inline std::string NonCanonical(const std::string& body) {
  EXPECT_EQ(body.substr(0, 2), std::string("\x08\x01", 2));
  return std::string("\x08\x81\x00", 3) + body.substr(2);
}

inline tvault::v1::SignedStatement FlipSignatureBit(
    tvault::v1::SignedStatement st) {
  std::string sig = st.signature();
  sig[5] = static_cast<char>(sig[5] ^ 0x01);
  st.set_signature(sig);
  return st;
}

}  // namespace tvault::crypto::trust_testing

#endif  // TVAULT_TESTS_CRYPTO_TRUST_FIXTURE_H_
