// tvaultd's settings (`tvaultd serve --config FILE`), with safe defaults.
//
// File format: one "key = value" per line; blank lines and lines starting
// with "#" are ignored; white space around keys and values is trimmed.
// Unknown keys, repeated keys, malformed numbers and values outside the
// allowed ranges are refused (InvalidArgument naming the line), so a typo
// never silently leaves a default in place.
//
// Keys (defaults in brackets):
//   checkpoint_copy        path of the anti-rollback copy of the latest
//                          signed checkpoint, on media other than the data
//                          directory [none: tvaultd warns at start]
//   challenge_ttl_seconds  how long a sign-in challenge stays valid
//                          [120; 1 .. 3600]
//   session_ttl_seconds    how long a session token stays valid
//                          [3600; 60 .. 86400]
//   clock_skew_seconds     how far a client's issued_at may differ from the
//                          server clock [300; 0 .. 3600]
//   max_grants_per_request [256; 1 .. 4096]
//   max_message_bytes      largest gRPC message accepted [1114112; 65536 ..
//                          16777216] (1 MiB of upload data plus framing)
//   max_record_bytes       largest record [4294967296; 65536 .. 2^40]
//   max_metadata_bytes     largest request metadata [16384; 1024 .. 65536]
//   call_deadline_seconds  longest a unary call may take, and longest a
//                          stream may wait for the caller's next message
//                          or for the caller to take the next one
//                          (vault/call_deadlines.h) [30; 1 .. 600]
//   max_requests_per_minute  calls one session may make in a minute, and
//                          calls without a session (sign-ins,
//                          registrations, revocations) may make together
//                          (vault/rate_limiter.h) [600; 10 .. 100000]
//   upload_expiry_seconds  how long an unfinished upload is kept for a
//                          resume [604800 (7 days); 3600 .. 2592000]
//   max_pending_uploads    unfinished uploads per caller [4; 1 .. 64]
//   max_invite_uploads_per_hour  uploads one invite may start in an hour
//                          (kept in memory) [10; 1 .. 1000]
//   deletion_delay_seconds how long a record whose deletion was requested
//                          stays readable [2592000 (30 days); 1 .. 31536000]
//   maintenance_interval_seconds  how often expired sessions, challenges
//                          and uploads are removed and due deletions run
//                          [60; 1 .. 3600]
//   max_pending_bytes      bytes of unfinished uploads per caller, counting
//                          each upload's announced size [8589934592 (8 GiB);
//                          65536 .. 2^42]
//   max_streams_per_identity  uploads and downloads one account or one
//                          invite may run at once, over all its sessions
//                          (vault/stream_slots.h) [8; 1 .. 96]
#ifndef TVAULT_VAULT_CONFIG_H_
#define TVAULT_VAULT_CONFIG_H_

#include <cstdint>
#include <string>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"

namespace tvault::vault {

struct VaultConfig {
  std::string checkpoint_copy;
  int64_t challenge_ttl_seconds = 120;
  int64_t session_ttl_seconds = 3600;
  int64_t clock_skew_seconds = 300;
  int64_t max_grants_per_request = 256;
  int64_t max_message_bytes = 1114112;
  int64_t max_record_bytes = int64_t{4} << 30;
  int64_t max_metadata_bytes = 16384;
  int64_t call_deadline_seconds = 30;
  int64_t max_requests_per_minute = 600;
  int64_t upload_expiry_seconds = 7 * 86400;
  int64_t max_pending_uploads = 4;
  int64_t max_pending_bytes = int64_t{8} << 30;
  int64_t max_invite_uploads_per_hour = 10;
  int64_t deletion_delay_seconds = 30 * 86400;
  int64_t maintenance_interval_seconds = 60;
  int64_t max_streams_per_identity = 8;
};

// Every key a configuration file may set, in the order above, comma
// separated (for tvaultd serve --help).
std::string VaultConfigKeyList();

// Parses the text of a configuration file (format above).
absl::StatusOr<VaultConfig> ParseVaultConfig(absl::string_view text);

// Reads and parses `path` (at most 64 KiB). NotFound if it cannot be read.
absl::StatusOr<VaultConfig> LoadVaultConfig(const std::string& path);

}  // namespace tvault::vault

#endif  // TVAULT_VAULT_CONFIG_H_
