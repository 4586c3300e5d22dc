// A gRPC channel to a vault whose TLS key is pinned (DESIGN.md §4, §8).
//
// The vault's certificate is self-signed; no CA, name or date in it is
// trusted. The channel accepts the TLS handshake only if the server's leaf
// certificate carries the public key whose SHA-256 (of the DER
// SubjectPublicKeyInfo, crypto/tls_pin.h) equals `pin`, which the client
// took from the root-signed server bundle. TLS guarantees the server holds
// that key's private half. Anything else fails the handshake, and calls on
// the channel fail with UNAVAILABLE.
//
// TLS 1.3 only: call crypto::RestrictGrpcToTls13() first thing in main.
//
// Thread-safe (a gRPC channel is).
#ifndef TVAULT_CLIENT_VAULT_CHANNEL_H_
#define TVAULT_CLIENT_VAULT_CHANNEL_H_

#include <grpcpp/grpcpp.h>

#include <memory>
#include <string>

#include "crypto/tls_pin.h"

namespace tvault::client {

// The name the client asks the server for; the vault's certificate
// carries it (vault/tls_identity.h). It is not what is trusted.
inline constexpr char kVaultTlsName[] = "tvaultd";

// A channel to `address` ("host:port") that trusts only `pin`.
std::shared_ptr<grpc::Channel> ConnectToVault(const std::string& address,
                                              const crypto::TlsKeyPin& pin);

}  // namespace tvault::client

#endif  // TVAULT_CLIENT_VAULT_CHANNEL_H_
