// How an age operation failed, as a machine-readable kind attached to the
// absl::Status (payload "tvault/age-error"), so that callers and tests can
// tell a malformed header from a wrong key from a corrupted payload without
// parsing messages. The categories are those of the C2SP age test kit.
#ifndef TVAULT_CRYPTO_AGE_ERROR_H_
#define TVAULT_CRYPTO_AGE_ERROR_H_

#include "absl/status/status.h"
#include "absl/strings/string_view.h"

namespace tvault::crypto {

enum class AgeErrorKind {
  kNone,     // OK, or an error that is not about the file (I/O, usage)
  kArmor,    // the ASCII armor is malformed
  kHeader,   // the header does not parse, or a stanza is malformed
  kNoMatch,  // the header parses, but no identity unwraps the file key
  kHmac,     // a file key was found but the header MAC does not match
  kPayload,  // the STREAM payload is truncated, corrupted or has extra data
};

// Builds an error of the given kind. Messages say what is wrong with the
// file and never contain key material.
absl::Status AgeError(AgeErrorKind kind, absl::string_view message);
AgeErrorKind GetAgeErrorKind(const absl::Status& status);
absl::string_view AgeErrorKindName(AgeErrorKind kind);

}  // namespace tvault::crypto

#endif  // TVAULT_CRYPTO_AGE_ERROR_H_
