// Reading a passphrase: from the environment variable TVAULT_PASSPHRASE
// (for scripts; the variable is wiped from the process environment once
// read), otherwise from the controlling terminal with echo off.
//
// The passphrase only ever lives in SecretBytes. Errors say what to do
// (FailedPrecondition when there is no terminal and no variable).
#ifndef TVAULT_CLIENT_PASSPHRASE_H_
#define TVAULT_CLIENT_PASSPHRASE_H_

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "crypto/secret_bytes.h"

namespace tvault::client {

inline constexpr char kPassphraseEnv[] = "TVAULT_PASSPHRASE";
inline constexpr size_t kMaxPassphraseLength = 1024;

// Asks once; with `confirm`, asks twice and requires both to match.
// Empty passphrases are refused.
absl::StatusOr<crypto::SecretBytes> ReadPassphrase(absl::string_view prompt,
                                                   bool confirm);

}  // namespace tvault::client

#endif  // TVAULT_CLIENT_PASSPHRASE_H_
