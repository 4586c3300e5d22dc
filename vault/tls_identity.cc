#include "vault/tls_identity.h"

#include <openssl/asn1.h>
#include <openssl/bio.h>
#include <openssl/bn.h>
#include <openssl/buffer.h>
#include <openssl/crypto.h>
#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/objects.h>
#include <openssl/pem.h>
#include <openssl/x509.h>
#include <openssl/x509v3.h>

#include <climits>
#include <ctime>
#include <memory>

#include "absl/strings/ascii.h"
#include "absl/strings/str_cat.h"
#include "crypto/statement.h"

namespace tvault::vault {
namespace {

struct OpenSslFree {
  void operator()(EVP_PKEY* p) const { EVP_PKEY_free(p); }
  void operator()(X509* p) const { X509_free(p); }
  void operator()(X509_EXTENSION* p) const { X509_EXTENSION_free(p); }
  void operator()(BIO* p) const { BIO_free(p); }
  void operator()(BIGNUM* p) const { BN_free(p); }
};
template <typename T>
using OpenSslPtr = std::unique_ptr<T, OpenSslFree>;

// Internal error naming the failed OpenSSL call and OpenSSL's reason (which
// never contains key material); empties this thread's error queue.
absl::Status OpenSslError(absl::string_view what) {
  const unsigned long code = ERR_peek_last_error();
  std::string reason = "no reason given";
  if (code != 0) {
    char buf[256];
    ERR_error_string_n(code, buf, sizeof(buf));
    reason = buf;
  }
  ERR_clear_error();
  return absl::InternalError(absl::StrCat(what, " failed: ", reason));
}

absl::Status AddExtension(X509* cert, X509V3_CTX* ctx, int nid,
                          const char* value) {
  OpenSslPtr<X509_EXTENSION> ext(X509V3_EXT_conf_nid(nullptr, ctx, nid, value));
  if (ext == nullptr || X509_add_ext(cert, ext.get(), -1) != 1) {
    return OpenSslError(
        absl::StrCat("adding the ", OBJ_nid2sn(nid), " certificate extension"));
  }
  return absl::OkStatus();
}

absl::StatusOr<OpenSslPtr<X509>> MakeCertificate(EVP_PKEY* key,
                                                 int64_t now_unix) {
  OpenSslPtr<X509> cert(X509_new());
  if (cert == nullptr) return OpenSslError("X509_new");
  if (X509_set_version(cert.get(), X509_VERSION_3) != 1) {
    return OpenSslError("X509_set_version");
  }

  // A random positive serial of 127 bits (RFC 5280: at most 20 octets).
  OpenSslPtr<BIGNUM> serial(BN_new());
  if (serial == nullptr ||
      BN_rand(serial.get(), 127, BN_RAND_TOP_ANY, BN_RAND_BOTTOM_ANY) != 1 ||
      BN_to_ASN1_INTEGER(serial.get(), X509_get_serialNumber(cert.get())) ==
          nullptr) {
    return OpenSslError("making the certificate serial number");
  }

  const time_t now = static_cast<time_t>(now_unix);
  if (ASN1_TIME_set(X509_getm_notBefore(cert.get()), now) == nullptr ||
      ASN1_TIME_adj(X509_getm_notAfter(cert.get()), now,
                    kTlsCertificateValidityDays, 0) == nullptr) {
    return OpenSslError("setting the certificate validity");
  }

  X509_NAME* name = X509_get_subject_name(cert.get());
  if (X509_NAME_add_entry_by_txt(
          name, "CN", MBSTRING_ASC,
          reinterpret_cast<const unsigned char*>(kTlsServerName), -1, -1,
          0) != 1 ||
      X509_set_issuer_name(cert.get(), name) != 1) {
    return OpenSslError("setting the certificate name");
  }
  if (X509_set_pubkey(cert.get(), key) != 1) {
    return OpenSslError("X509_set_pubkey");
  }

  X509V3_CTX ctx;
  X509V3_set_ctx_nodb(&ctx);
  X509V3_set_ctx(&ctx, cert.get(), cert.get(), nullptr, nullptr, 0);
  const std::string san = absl::StrCat("DNS:", kTlsServerName);
  for (const auto& [nid, value] :
       {std::pair<int, const char*>{NID_basic_constraints, "critical,CA:FALSE"},
        {NID_key_usage, "critical,digitalSignature"},
        {NID_ext_key_usage, "serverAuth"},
        {NID_subject_key_identifier, "hash"},
        {NID_subject_alt_name, san.c_str()}}) {
    if (absl::Status s = AddExtension(cert.get(), &ctx, nid, value); !s.ok()) {
      return s;
    }
  }

  // Ed25519 signs the message itself: no separate digest.
  if (X509_sign(cert.get(), key, nullptr) <= 0) {
    return OpenSslError("X509_sign");
  }
  return cert;
}

absl::StatusOr<std::string> CertificateToPem(X509* cert) {
  OpenSslPtr<BIO> bio(BIO_new(BIO_s_mem()));
  if (bio == nullptr || PEM_write_bio_X509(bio.get(), cert) != 1) {
    return OpenSslError("PEM_write_bio_X509");
  }
  BUF_MEM* mem = nullptr;
  BIO_get_mem_ptr(bio.get(), &mem);
  if (mem == nullptr) return OpenSslError("BIO_get_mem_ptr");
  return std::string(mem->data, mem->length);
}

// The PKCS#8 PEM of `key`, through a secure-memory BIO whose buffer is
// cleansed before it is freed.
absl::StatusOr<crypto::SecretBytes> PrivateKeyToPem(EVP_PKEY* key) {
  OpenSslPtr<BIO> bio(BIO_new(BIO_s_secmem()));
  if (bio == nullptr) return OpenSslError("BIO_new");
  BUF_MEM* mem = nullptr;
  absl::Status status;
  if (PEM_write_bio_PrivateKey(bio.get(), key, nullptr, nullptr, 0, nullptr,
                               nullptr) != 1) {
    status = OpenSslError("PEM_write_bio_PrivateKey");
  } else {
    BIO_get_mem_ptr(bio.get(), &mem);
    if (mem == nullptr || mem->length == 0) {
      status = OpenSslError("BIO_get_mem_ptr");
    }
  }
  crypto::SecretBytes pem;
  if (status.ok()) {
    pem = crypto::SecretBytes::CopyFrom(
        {reinterpret_cast<const uint8_t*>(mem->data), mem->length});
  }
  if (mem != nullptr && mem->data != nullptr) {
    OPENSSL_cleanse(mem->data, mem->max);
  }
  if (!status.ok()) return status;
  return pem;
}

}  // namespace

absl::StatusOr<TlsIdentity> GenerateTlsIdentity(int64_t now_unix) {
  OpenSslPtr<EVP_PKEY> key(EVP_PKEY_Q_keygen(nullptr, nullptr, "ED25519"));
  if (key == nullptr) return OpenSslError("generating the Ed25519 TLS key");

  absl::StatusOr<OpenSslPtr<X509>> cert = MakeCertificate(key.get(), now_unix);
  if (!cert.ok()) return cert.status();

  TlsIdentity identity;
  absl::StatusOr<std::string> cert_pem = CertificateToPem(cert->get());
  if (!cert_pem.ok()) return cert_pem.status();
  identity.certificate_pem = *std::move(cert_pem);

  absl::StatusOr<crypto::SecretBytes> key_pem = PrivateKeyToPem(key.get());
  if (!key_pem.ok()) return key_pem.status();
  identity.private_key_pem = *std::move(key_pem);

  absl::StatusOr<TlsKeyPin> pin =
      TlsKeyPinFromCertificatePem(identity.certificate_pem);
  if (!pin.ok()) return pin.status();
  identity.key_pin = *pin;
  return identity;
}

}  // namespace tvault::vault
