#include "client/vault_channel.h"

#include <grpcpp/security/credentials.h>
#include <grpcpp/security/tls_certificate_verifier.h>
#include <grpcpp/security/tls_credentials_options.h>

#include <string>

namespace tvault::client {
namespace {

class PinVerifier final
    : public grpc::experimental::ExternalCertificateVerifier {
 public:
  explicit PinVerifier(const crypto::TlsKeyPin& pin) : pin_(pin) {}

  bool Verify(grpc::experimental::TlsCustomVerificationCheckRequest* request,
              std::function<void(grpc::Status)>,
              grpc::Status* sync_status) override {
    const grpc::string_ref pem = request->peer_cert();
    absl::StatusOr<crypto::TlsKeyPin> got = crypto::TlsKeyPinFromCertificatePem(
        absl::string_view(pem.data(), pem.size()));
    if (got.ok() && crypto::TlsKeyPinsEqual(*got, pin_)) {
      *sync_status = grpc::Status::OK;
    } else {
      *sync_status = grpc::Status(
          grpc::StatusCode::UNAUTHENTICATED,
          "the server's TLS key is not the one pinned in the server bundle: "
          "this is not your organisation's vault, or someone is in the way");
    }
    return true;  // decided synchronously
  }

  void Cancel(grpc::experimental::TlsCustomVerificationCheckRequest*) override {
  }

 private:
  const crypto::TlsKeyPin pin_;
};

}  // namespace

std::shared_ptr<grpc::Channel> ConnectToVault(const std::string& address,
                                              const crypto::TlsKeyPin& pin) {
  grpc::experimental::TlsChannelCredentialsOptions options;
  // No CA chain: the pin is the whole trust decision.
  options.set_verify_server_certs(false);
  options.set_check_call_host(false);
  options.set_certificate_verifier(
      grpc::experimental::ExternalCertificateVerifier::Create<PinVerifier>(
          pin));
  grpc::ChannelArguments args;
  args.SetSslTargetNameOverride(kVaultTlsName);
  return grpc::CreateCustomChannel(
      address, grpc::experimental::TlsCredentials(options), args);
}

}  // namespace tvault::client
