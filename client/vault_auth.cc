#include "client/vault_auth.h"

#include <sodium.h>

#include <ctime>

#include "absl/strings/escaping.h"
#include "absl/strings/str_cat.h"

namespace tvault::client {

absl::StatusOr<tvault::v1::SignedStatement> SignAuthChallenge(
    absl::string_view nonce, const crypto::SigningKey& key,
    const crypto::TlsKeyPin& pin, int64_t issued_at) {
  if (nonce.size() != 32) {
    return absl::InvalidArgumentError("the vault's nonce is not 32 bytes");
  }
  tvault::v1::AuthChallenge body;
  body.set_version(1);
  body.set_tls_key_sha256(std::string(crypto::AsString(pin)));
  body.set_nonce(std::string(nonce));
  body.set_caller_sign_pk(std::string(crypto::AsString(key.public_key())));
  body.set_issued_at(issued_at);
  return crypto::SignStatement(crypto::StatementType::kAuth, body, key);
}

absl::StatusOr<tvault::v1::Session> SignInToVault(
    tvault::v1::Vault::StubInterface& stub, const crypto::SigningKey& key,
    const crypto::TlsKeyPin& pin) {
  tvault::v1::Challenge challenge;
  {
    grpc::ClientContext context;
    grpc::Status s = stub.GetChallenge(
        &context, tvault::v1::GetChallengeRequest(), &challenge);
    if (!s.ok()) return FromGrpcStatus(s);
  }
  absl::StatusOr<tvault::v1::SignedStatement> signed_challenge =
      SignAuthChallenge(challenge.nonce(), key, pin,
                        static_cast<int64_t>(std::time(nullptr)));
  if (!signed_challenge.ok()) return signed_challenge.status();
  tvault::v1::SignInRequest request;
  *request.mutable_challenge() = std::move(*signed_challenge);
  tvault::v1::Session session;
  grpc::ClientContext context;
  grpc::Status s = stub.SignIn(&context, request, &session);
  if (!s.ok()) return FromGrpcStatus(s);
  return session;
}

void AuthorizeCall(grpc::ClientContext& context, absl::string_view token) {
  std::string value = absl::StrCat("Bearer ", absl::BytesToHexString(token));
  context.AddMetadata("authorization", value);
  sodium_memzero(value.data(), value.size());
}

absl::Status FromGrpcStatus(const grpc::Status& status) {
  return absl::Status(static_cast<absl::StatusCode>(status.error_code()),
                      status.error_message());
}

}  // namespace tvault::client
