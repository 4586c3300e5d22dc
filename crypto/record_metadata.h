// RecordMetadata as proto3 JSON (DESIGN.md §6).
//
// Printing uses protobuf's printer with the original field names. Reading
// is stricter than protobuf's parser alone, so that no record can show one
// title to this software and another to a different JSON reader:
// - the text is valid UTF-8 JSON, a single object, nothing after it;
// - at every depth every key is an original proto field name (never the
//   lowerCamelCase alias protobuf would also accept) or a key of the
//   `extra` map, and no object repeats a key;
// - protobuf's parser then accepts it with unknown fields rejected;
// - the ids are 32 lowercase hex digits, the epoch matches nothing yet
//   (the reader compares it with what it expects).
// The rule does not depend on how any one protobuf version prints.
#ifndef TVAULT_CRYPTO_RECORD_METADATA_H_
#define TVAULT_CRYPTO_RECORD_METADATA_H_

#include <string>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "proto/records.pb.h"

namespace tvault::crypto {

inline constexpr size_t kMaxMetadataSize = 65536;

// InvalidArgument if the metadata breaks a rule a writer must follow (ids
// not lowercase hex of 16 bytes, kind unspecified, signer key not hex of 32
// bytes, printed size over 64 KiB).
absl::StatusOr<std::string> PrintRecordMetadata(
    const tvault::v1::RecordMetadata& meta);

// Parses under the strict rule above. InvalidArgument names the rule
// broken (and the key, for key errors; keys are field names, not content).
absl::StatusOr<tvault::v1::RecordMetadata> ParseRecordMetadata(
    absl::string_view json);

// Lowercase hex of exactly `bytes` bytes.
bool IsLowerHex(absl::string_view s, size_t bytes);

}  // namespace tvault::crypto

#endif  // TVAULT_CRYPTO_RECORD_METADATA_H_
