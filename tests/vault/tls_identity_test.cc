#include "vault/tls_identity.h"

#include <openssl/bio.h>
#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/sha.h>
#include <openssl/x509.h>
#include <openssl/x509v3.h>

#include <ctime>
#include <memory>
#include <string>
#include <type_traits>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/string_view.h"
#include "crypto/secret_bytes.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"

namespace tvault::vault {
namespace {

using ::testing::HasSubstr;

constexpr int64_t kNow = 1767225600;  // 2026-01-01T00:00:00Z

struct X509Free {
  void operator()(X509* p) const { X509_free(p); }
};
struct PkeyFree {
  void operator()(EVP_PKEY* p) const { EVP_PKEY_free(p); }
};
using X509Ptr = std::unique_ptr<X509, X509Free>;
using PkeyPtr = std::unique_ptr<EVP_PKEY, PkeyFree>;

X509Ptr ParseCertificate(absl::string_view pem) {
  BIO* bio = BIO_new_mem_buf(pem.data(), static_cast<int>(pem.size()));
  X509Ptr cert(PEM_read_bio_X509(bio, nullptr, nullptr, nullptr));
  BIO_free(bio);
  return cert;
}

PkeyPtr ParsePrivateKey(const crypto::SecretBytes& pem) {
  BIO* bio = BIO_new_mem_buf(pem.data(), static_cast<int>(pem.size()));
  PkeyPtr key(PEM_read_bio_PrivateKey(bio, nullptr, nullptr, nullptr));
  BIO_free(bio);
  return key;
}

std::string ExpectedPin(EVP_PKEY* key) {
  unsigned char* der = nullptr;
  const int n = i2d_PUBKEY(key, &der);
  EXPECT_GT(n, 0);
  unsigned char digest[SHA256_DIGEST_LENGTH];
  SHA256(der, static_cast<size_t>(n), digest);
  OPENSSL_free(der);
  return std::string(reinterpret_cast<char*>(digest), sizeof(digest));
}

std::string PinString(const TlsKeyPin& pin) {
  return std::string(reinterpret_cast<const char*>(pin.data()), pin.size());
}

TEST(TlsIdentityTest, PrivateKeyIsOnlyReturnedAsSecretBytes) {
  static_assert(std::is_same_v<decltype(TlsIdentity::private_key_pem),
                               crypto::SecretBytes>);
  absl::StatusOr<TlsIdentity> id = GenerateTlsIdentity(kNow);
  ASSERT_TRUE(id.ok()) << id.status();
  const absl::string_view key_pem(
      reinterpret_cast<const char*>(id->private_key_pem.data()),
      id->private_key_pem.size());
  EXPECT_TRUE(absl::StartsWith(key_pem, "-----BEGIN PRIVATE KEY-----\n"));
  EXPECT_TRUE(absl::EndsWith(key_pem, "-----END PRIVATE KEY-----\n"));
  // The public part never carries the private key.
  EXPECT_THAT(id->certificate_pem, ::testing::Not(HasSubstr("PRIVATE")));
}

TEST(TlsIdentityTest, CertificateParsesAndCarriesAnEd25519Key) {
  absl::StatusOr<TlsIdentity> id = GenerateTlsIdentity(kNow);
  ASSERT_TRUE(id.ok()) << id.status();
  X509Ptr cert = ParseCertificate(id->certificate_pem);
  ASSERT_NE(cert, nullptr);
  EVP_PKEY* pub = X509_get0_pubkey(cert.get());
  ASSERT_NE(pub, nullptr);
  EXPECT_EQ(EVP_PKEY_get_id(pub), EVP_PKEY_ED25519);
  EXPECT_EQ(X509_get_version(cert.get()), X509_VERSION_3);

  // The private key belongs to the certificate's public key.
  PkeyPtr priv = ParsePrivateKey(id->private_key_pem);
  ASSERT_NE(priv, nullptr);
  EXPECT_EQ(EVP_PKEY_get_id(priv.get()), EVP_PKEY_ED25519);
  EXPECT_EQ(EVP_PKEY_eq(pub, priv.get()), 1);
  EXPECT_EQ(X509_check_private_key(cert.get(), priv.get()), 1);

  // Self-signed: the signature verifies under its own key.
  EXPECT_EQ(X509_verify(cert.get(), pub), 1);
  EXPECT_EQ(X509_NAME_cmp(X509_get_subject_name(cert.get()),
                          X509_get_issuer_name(cert.get())),
            0);
}

TEST(TlsIdentityTest, CertificateNamesTvaultdAndIsAServerLeaf) {
  absl::StatusOr<TlsIdentity> id = GenerateTlsIdentity(kNow);
  ASSERT_TRUE(id.ok()) << id.status();
  X509Ptr cert = ParseCertificate(id->certificate_pem);
  ASSERT_NE(cert, nullptr);

  char cn[64] = {};
  ASSERT_GT(X509_NAME_get_text_by_NID(X509_get_subject_name(cert.get()),
                                      NID_commonName, cn, sizeof(cn)),
            0);
  EXPECT_STREQ(cn, "tvaultd");
  EXPECT_EQ(X509_check_host(cert.get(), "tvaultd", 0, 0, nullptr), 1);
  EXPECT_EQ(X509_check_host(cert.get(), "example.org", 0, 0, nullptr), 0);
  EXPECT_EQ(X509_check_ca(cert.get()), 0);
  EXPECT_EQ(X509_check_purpose(cert.get(), X509_PURPOSE_SSL_SERVER, 0), 1);
  EXPECT_NE(X509_get_extension_flags(cert.get()) & EXFLAG_SS, 0u);
}

TEST(TlsIdentityTest, CertificateIsValidFromNowForTenYears) {
  absl::StatusOr<TlsIdentity> id = GenerateTlsIdentity(kNow);
  ASSERT_TRUE(id.ok()) << id.status();
  X509Ptr cert = ParseCertificate(id->certificate_pem);
  ASSERT_NE(cert, nullptr);
  int days = 0, seconds = 0;
  ASN1_TIME* now = ASN1_TIME_set(nullptr, static_cast<time_t>(kNow));
  ASSERT_EQ(
      ASN1_TIME_diff(&days, &seconds, now, X509_get0_notBefore(cert.get())), 1);
  EXPECT_EQ(days, 0);
  EXPECT_EQ(seconds, 0);
  ASSERT_EQ(
      ASN1_TIME_diff(&days, &seconds, now, X509_get0_notAfter(cert.get())), 1);
  EXPECT_EQ(days, kTlsCertificateValidityDays);
  EXPECT_EQ(seconds, 0);
  EXPECT_GE(days, 3652);  // ten years, leap days included
  ASN1_TIME_free(now);
}

TEST(TlsIdentityTest, PinIsSha256OfTheDerSubjectPublicKeyInfo) {
  absl::StatusOr<TlsIdentity> id = GenerateTlsIdentity(kNow);
  ASSERT_TRUE(id.ok()) << id.status();
  X509Ptr cert = ParseCertificate(id->certificate_pem);
  ASSERT_NE(cert, nullptr);
  const std::string expected = ExpectedPin(X509_get0_pubkey(cert.get()));

  absl::StatusOr<TlsKeyPin> pin =
      TlsKeyPinFromCertificatePem(id->certificate_pem);
  ASSERT_TRUE(pin.ok()) << pin.status();
  EXPECT_EQ(PinString(*pin), expected);
  EXPECT_EQ(PinString(id->key_pin), expected);
  // The same pin from the private key's public half.
  PkeyPtr priv = ParsePrivateKey(id->private_key_pem);
  ASSERT_NE(priv, nullptr);
  EXPECT_EQ(ExpectedPin(priv.get()), expected);
}

TEST(TlsIdentityTest, PinAcceptsSurroundingWhiteSpace) {
  absl::StatusOr<TlsIdentity> id = GenerateTlsIdentity(kNow);
  ASSERT_TRUE(id.ok()) << id.status();
  absl::StatusOr<TlsKeyPin> pin = TlsKeyPinFromCertificatePem(
      absl::StrCat("\n", id->certificate_pem, "\n\n"));
  ASSERT_TRUE(pin.ok()) << pin.status();
  EXPECT_EQ(*pin, id->key_pin);
}

TEST(TlsIdentityTest, PinRejectsWhatIsNotOneCertificate) {
  absl::StatusOr<TlsIdentity> id = GenerateTlsIdentity(kNow);
  ASSERT_TRUE(id.ok()) << id.status();
  EXPECT_EQ(TlsKeyPinFromCertificatePem("").status().code(),
            absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(TlsKeyPinFromCertificatePem("not a certificate").status().code(),
            absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(TlsKeyPinFromCertificatePem(
                absl::StrCat(id->certificate_pem, id->certificate_pem))
                .status()
                .code(),
            absl::StatusCode::kInvalidArgument);
  std::string corrupted = id->certificate_pem;
  corrupted[corrupted.size() / 2] =
      corrupted[corrupted.size() / 2] == 'A' ? 'B' : 'A';
  // A flipped base64 character either breaks the DER or changes the
  // certificate; it must never yield the original pin.
  absl::StatusOr<TlsKeyPin> pin = TlsKeyPinFromCertificatePem(corrupted);
  if (pin.ok()) {
    EXPECT_NE(*pin, id->key_pin);
  }
  // The private key is not a certificate.
  const absl::string_view key_pem(
      reinterpret_cast<const char*>(id->private_key_pem.data()),
      id->private_key_pem.size());
  EXPECT_EQ(TlsKeyPinFromCertificatePem(key_pem).status().code(),
            absl::StatusCode::kInvalidArgument);
}

TEST(TlsIdentityTest, TwoGenerationsDiffer) {
  absl::StatusOr<TlsIdentity> a = GenerateTlsIdentity(kNow);
  absl::StatusOr<TlsIdentity> b = GenerateTlsIdentity(kNow);
  ASSERT_TRUE(a.ok()) << a.status();
  ASSERT_TRUE(b.ok()) << b.status();
  EXPECT_NE(a->key_pin, b->key_pin);
  EXPECT_NE(a->certificate_pem, b->certificate_pem);
  EXPECT_FALSE(crypto::ConstantTimeEquals(a->private_key_pem.span(),
                                          b->private_key_pem.span()));
  X509Ptr ca = ParseCertificate(a->certificate_pem);
  X509Ptr cb = ParseCertificate(b->certificate_pem);
  ASSERT_NE(ca, nullptr);
  ASSERT_NE(cb, nullptr);
  EXPECT_NE(ASN1_INTEGER_cmp(X509_get0_serialNumber(ca.get()),
                             X509_get0_serialNumber(cb.get())),
            0);
}

}  // namespace
}  // namespace tvault::vault
