// Signing in to a vault (DESIGN.md §8): the signed AuthChallenge and the
// session token's metadata.
//
// The challenge binds the signature to the vault's TLS key (the pin the
// client connected with), so a server in the middle cannot relay it to
// another vault, and to a single-use nonce from Vault.GetChallenge.
//
// Secrets: the token is the caller's to keep in memory only; it is sent as
// "authorization: Bearer <hex>" and never logged.
#ifndef TVAULT_CLIENT_VAULT_AUTH_H_
#define TVAULT_CLIENT_VAULT_AUTH_H_

#include <grpcpp/grpcpp.h>

#include <cstdint>
#include <string>

#include "absl/status/statusor.h"
#include "absl/types/span.h"
#include "crypto/statement.h"
#include "crypto/tls_pin.h"
#include "proto/records.pb.h"
#include "proto/vault.grpc.pb.h"

namespace tvault::client {

// The tvault/v1/auth statement over {version 1, pin, nonce, key's public
// key, issued_at}. InvalidArgument unless the nonce is 32 bytes.
absl::StatusOr<tvault::v1::SignedStatement> SignAuthChallenge(
    absl::string_view nonce, const crypto::SigningKey& key,
    const crypto::TlsKeyPin& pin, int64_t issued_at);

// GetChallenge, SignAuthChallenge(now), SignIn. The vault's status on
// failure (UNAUTHENTICATED, PERMISSION_DENIED, …) as an absl::Status.
absl::StatusOr<tvault::v1::Session> SignInToVault(
    tvault::v1::Vault::StubInterface& stub, const crypto::SigningKey& key,
    const crypto::TlsKeyPin& pin);

// Adds the session token to a call's metadata.
void AuthorizeCall(grpc::ClientContext& context, absl::string_view token);

// A gRPC status as an absl::Status (same code and message).
absl::Status FromGrpcStatus(const grpc::Status& status);

}  // namespace tvault::client

#endif  // TVAULT_CLIENT_VAULT_AUTH_H_
