// tvaultd's log: one line per event on standard error, with a UTC time
// stamp and a severity. What may appear in a line is restricted by
// DESIGN.md §8: no IP addresses, no tokens, no keys, no plaintext, no
// names, no ids of uploaders. Callers pass fixed sentences and counts.
//
// gRPC's own log lines are routed here too (InstallGrpcLogger); since
// they can carry peer addresses, key material in hex, or paths, each one is
// reduced by ScrubGrpcLogMessage before it is written.
//
// Thread-safe: each line is written with one write(2).
#ifndef TVAULT_VAULT_LOGGING_H_
#define TVAULT_VAULT_LOGGING_H_

#include <string>

#include "absl/strings/string_view.h"

namespace tvault::vault {

void LogInfo(absl::string_view message);
void LogWarning(absl::string_view message);
void LogError(absl::string_view message);

// `message` with every word that could identify a peer or carry a secret
// replaced by "[…]": any word containing a digit, or one of : / @ [ ] = %
// (addresses, ports, URIs, paths, hex and base64 runs, key=value pairs),
// and any word longer than 32 bytes. Control characters become spaces; the
// result is at most 512 bytes. What remains is gRPC's wording, which is
// enough to tell an operator what kind of failure happened.
std::string ScrubGrpcLogMessage(absl::string_view message);

// Sends gRPC's log lines (severity ERROR only, unless GRPC_VERBOSITY asks
// for more) through ScrubGrpcLogMessage to this log. Call before any other
// gRPC use.
void InstallGrpcLogger();

}  // namespace tvault::vault

#endif  // TVAULT_VAULT_LOGGING_H_
