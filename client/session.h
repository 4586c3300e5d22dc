// One conversation with a vault, as the trust anchors allow it (DESIGN.md
// §4, §8, §9): a TLS channel pinned to the root-signed server bundle, a
// session token, and the log checks made on every contact.
//
// What is checked
// - The channel trusts only the bundle's TLS key pin (vault_channel.h).
// - The vault's advertised log key must be the bundle's; every checkpoint is
//   verified with the bundle's key, never one the vault offers.
// - Accounts: at sign-in the vault's latest checkpoint must extend the last
//   one this device verified (LogMonitor); entries read from the log are
//   verified against that checkpoint (inclusion proofs, or the whole tree's
//   root for scans). Invite sessions cannot read the log: receipts are
//   checked against their own signed checkpoints only.
//
// Not thread-safe: one session per command.
#ifndef TVAULT_CLIENT_SESSION_H_
#define TVAULT_CLIENT_SESSION_H_

#include <grpcpp/grpcpp.h>

#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <utility>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/time/time.h"
#include "client/log_monitor.h"
#include "crypto/signed_note.h"
#include "crypto/statement.h"
#include "crypto/tls_pin.h"
#include "proto/records.pb.h"
#include "proto/vault.grpc.pb.h"

namespace tvault::client {

// Deadline for one unary call.
inline constexpr absl::Duration kCallDeadline = absl::Seconds(60);

class VaultSession {
 public:
  // Connects to the first of the bundle's addresses that answers
  // GetServerInfo (onion addresses come first in a bundle) and checks that
  // the vault names the bundle's log key. UNAVAILABLE (with what to do) if
  // none answers; PermissionDenied if the vault names another log key.
  static absl::StatusOr<std::unique_ptr<VaultSession>> Connect(
      const tvault::v1::ServerBundle& bundle);

  // Signs in with `key` (an account or invite key). With `monitor` (an
  // account), also checks the log: the latest checkpoint must extend the
  // monitor's (DataLoss on a fork or rollback, with evidence kept).
  absl::Status SignIn(const crypto::SigningKey& key,
                      std::unique_ptr<LogMonitor> monitor);

  tvault::v1::Vault::Stub& stub() { return *stub_; }
  const crypto::TlsKeyPin& pin() const { return pin_; }
  const std::string& address() const { return address_; }
  const tvault::v1::Limits& limits() const { return info_.limits(); }
  // A context carrying the session token (if signed in) and a deadline
  // (none when `deadline` is infinite: long streams).
  std::unique_ptr<grpc::ClientContext> Context(
      absl::Duration deadline = kCallDeadline) const;

  // Verifies a receipt (see LogMonitor::CheckReceipt) and returns its entry.
  absl::StatusOr<tvault::v1::LogEntry> CheckReceipt(
      const tvault::v1::Receipt& receipt);

  // Accounts only (FailedPrecondition otherwise). The checkpoint verified
  // at sign-in.
  absl::StatusOr<VerifiedCheckpoint> Checkpoint() const;
  // Checks the log again now (LogMonitor::Advance) and returns the result.
  absl::StatusOr<VerifiedCheckpoint> RefreshLog();
  // The entry at `index`, proven by an inclusion proof under Checkpoint().
  // `raw`, if given, receives the entry's bytes.
  absl::StatusOr<tvault::v1::LogEntry> ProvenEntry(uint64_t index,
                                                   std::string* raw = nullptr);
  // Reads every entry of the tree of Checkpoint(), checks that they hash to
  // its root, and returns those `keep` selects (after the check: nothing
  // unverified is returned). DataLoss if the vault served other entries.
  using IndexedEntry = std::pair<uint64_t, tvault::v1::LogEntry>;
  absl::StatusOr<std::vector<IndexedEntry>> ScanLog(
      const std::function<bool(const tvault::v1::LogEntry&)>& keep);

 private:
  VaultSession() = default;
  std::shared_ptr<grpc::Channel> channel_;
  std::unique_ptr<tvault::v1::Vault::Stub> stub_;
  crypto::TlsKeyPin pin_{};
  std::string address_;
  tvault::v1::ServerInfo info_;
  std::unique_ptr<crypto::NoteVerifier> verifier_;
  std::string token_;
  std::unique_ptr<LogMonitor> monitor_;   // accounts: persisted in the home
  std::unique_ptr<LogMonitor> receipts_;  // invites: in memory
};

// Plain words for a failed call: what went wrong and what to do. Keeps the
// code; rewrites UNAVAILABLE and DEADLINE_EXCEEDED, which users meet most.
absl::Status Explain(const grpc::Status& status, absl::string_view doing);

// Parses a log entry strictly (version 1). DataLoss naming `index` if not.
absl::StatusOr<tvault::v1::LogEntry> ParseLogEntry(absl::string_view bytes,
                                                   uint64_t index);

}  // namespace tvault::client

#endif  // TVAULT_CLIENT_SESSION_H_
