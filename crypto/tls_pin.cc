#include "crypto/tls_pin.h"

#include <openssl/bio.h>
#include <openssl/crypto.h>
#include <openssl/err.h>
#include <openssl/pem.h>
#include <openssl/x509.h>
#include <stdlib.h>

#include <algorithm>
#include <climits>
#include <memory>

#include "absl/strings/ascii.h"
#include "crypto/statement.h"

namespace tvault::crypto {
namespace {

struct OpenSslFree {
  void operator()(X509* p) const { X509_free(p); }
  void operator()(BIO* p) const { BIO_free(p); }
};
template <typename T>
using OpenSslPtr = std::unique_ptr<T, OpenSslFree>;

}  // namespace

absl::StatusOr<TlsKeyPin> TlsKeyPinFromCertificatePem(absl::string_view pem) {
  if (pem.size() > INT_MAX) {
    return absl::InvalidArgumentError("TLS certificate PEM is too large");
  }
  OpenSslPtr<BIO> bio(
      BIO_new_mem_buf(pem.data(), static_cast<int>(pem.size())));
  if (bio == nullptr) return absl::InternalError("BIO_new_mem_buf failed");
  OpenSslPtr<X509> cert(
      PEM_read_bio_X509(bio.get(), nullptr, nullptr, nullptr));
  if (cert == nullptr) {
    ERR_clear_error();
    return absl::InvalidArgumentError(
        "not a PEM X.509 certificate (expected -----BEGIN CERTIFICATE-----)");
  }
  // PEM_read_bio_X509 stops after the END line; only white space may follow.
  char* rest = nullptr;
  const long rest_size = BIO_get_mem_data(bio.get(), &rest);
  if (rest_size > 0 &&
      !absl::StripAsciiWhitespace(
           absl::string_view(rest, static_cast<size_t>(rest_size)))
           .empty()) {
    return absl::InvalidArgumentError(
        "TLS certificate PEM has data after the certificate");
  }
  EVP_PKEY* public_key = X509_get0_pubkey(cert.get());
  if (public_key == nullptr) {
    ERR_clear_error();
    return absl::InvalidArgumentError(
        "TLS certificate carries no usable public key");
  }
  unsigned char* der = nullptr;
  const int der_size = i2d_PUBKEY(public_key, &der);
  if (der_size <= 0 || der == nullptr) {
    ERR_clear_error();
    return absl::InternalError("i2d_PUBKEY failed");
  }
  const Sha256 digest = ComputeSha256({der, static_cast<size_t>(der_size)});
  OPENSSL_free(der);
  TlsKeyPin pin;
  std::copy(digest.begin(), digest.end(), pin.begin());
  return pin;
}

bool TlsKeyPinsEqual(const TlsKeyPin& a, const TlsKeyPin& b) {
  return CRYPTO_memcmp(a.data(), b.data(), a.size()) == 0;
}

void RestrictGrpcToTls13() {
  setenv(kGrpcCipherSuitesVariable, kTls12UnusableCipherSuite, 1);
}

}  // namespace tvault::crypto
