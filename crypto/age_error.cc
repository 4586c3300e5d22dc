#include "crypto/age_error.h"

#include <optional>
#include <string>

#include "absl/strings/cord.h"
#include "absl/strings/string_view.h"

namespace tvault::crypto {
namespace {
constexpr absl::string_view kPayloadUrl = "tvault/age-error";
}  // namespace

absl::Status AgeError(AgeErrorKind kind, absl::string_view message) {
  absl::Status status;
  switch (kind) {
    case AgeErrorKind::kNoMatch:
      status = absl::PermissionDeniedError(message);
      break;
    case AgeErrorKind::kHmac:
    case AgeErrorKind::kPayload:
      status = absl::DataLossError(message);
      break;
    default:
      status = absl::InvalidArgumentError(message);
      break;
  }
  status.SetPayload(kPayloadUrl, absl::Cord(AgeErrorKindName(kind)));
  return status;
}

AgeErrorKind GetAgeErrorKind(const absl::Status& status) {
  absl::optional<absl::Cord> payload = status.GetPayload(kPayloadUrl);
  if (!payload) return AgeErrorKind::kNone;
  for (AgeErrorKind kind :
       {AgeErrorKind::kArmor, AgeErrorKind::kHeader, AgeErrorKind::kNoMatch,
        AgeErrorKind::kHmac, AgeErrorKind::kPayload}) {
    if (*payload == AgeErrorKindName(kind)) return kind;
  }
  return AgeErrorKind::kNone;
}

absl::string_view AgeErrorKindName(AgeErrorKind kind) {
  switch (kind) {
    case AgeErrorKind::kNone:
      return "none";
    case AgeErrorKind::kArmor:
      return "armor failure";
    case AgeErrorKind::kHeader:
      return "header failure";
    case AgeErrorKind::kNoMatch:
      return "no match";
    case AgeErrorKind::kHmac:
      return "HMAC failure";
    case AgeErrorKind::kPayload:
      return "payload failure";
  }
  return "none";
}

}  // namespace tvault::crypto
