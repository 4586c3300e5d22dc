// The client's home directory (DESIGN.md §10) and the text form of the
// files people carry between devices.
//
// Layout under the home (directories 0700, files 0600):
//   keystore            the member's sealed keys (crypto/keystore.h)
//   request             the certificate request made with them
//   enrolment           the enrolment package (org key, certificate, bundle)
//   vault/              the log monitor's last checkpoint and any evidence
//   cases/<case hex>    CaseState: the pinned card, the highest epoch seen
//   outbox/<record hex>.age, .item   encrypted records waiting to be sent
//   receipts/<record hex>            receipts, only when asked for
//   org/root.keystore, org/root.pub  an administrator's organisation root
// Every file is replaced atomically (AtomicOutputFile): a crash leaves the
// old version or the new one.
//
// Not thread-safe: one process uses a home at a time.
#ifndef TVAULT_CLIENT_HOME_H_
#define TVAULT_CLIENT_HOME_H_

#include <google/protobuf/message.h>

#include <algorithm>
#include <array>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "absl/types/span.h"

namespace tvault::client {

// The largest state file read (keystores and packages are a few KiB).
inline constexpr size_t kMaxStateFileSize = size_t{1} << 20;

class Home {
 public:
  // `dir` empty means $XDG_DATA_HOME/tvault, else ~/.local/share/tvault.
  // Creates the directory (0700) if needed. FailedPrecondition if it exists
  // but is not a directory or not writable.
  static absl::StatusOr<Home> Open(std::string dir);

  const std::string& dir() const { return dir_; }
  std::string Path(absl::string_view name) const;
  bool Exists(absl::string_view name) const;

  // Reads a state file of at most kMaxStateFileSize bytes. NotFound with
  // `missing_hint` (what to do) if it does not exist.
  absl::StatusOr<std::vector<uint8_t>> Read(
      absl::string_view name, absl::string_view missing_hint) const;
  // Replaces (or creates) a file atomically, creating its directory.
  absl::Status Write(absl::string_view name,
                     absl::Span<const uint8_t> bytes) const;
  absl::Status WriteMessage(absl::string_view name,
                            const google::protobuf::Message& m) const;
  // Reads and strictly parses a message written by WriteMessage.
  absl::Status ReadMessage(absl::string_view name,
                           absl::string_view missing_hint,
                           google::protobuf::Message& m) const;
  // Removes a file; OK if it did not exist.
  absl::Status Remove(absl::string_view name) const;
  // File names in a subdirectory (empty if it does not exist), sorted.
  std::vector<std::string> List(absl::string_view subdir) const;
  // Creates a subdirectory (0700) if needed; returns its path.
  absl::StatusOr<std::string> MakeDir(absl::string_view subdir) const;

 private:
  explicit Home(std::string dir) : dir_(std::move(dir)) {}
  std::string dir_;
};

// Files carried between people are text: one line "<prefix><base64 of the
// deterministic serialisation>". Prefixes end in ':' and name the type and
// version, e.g. "tvault-request-1:".
std::string EncodeCarried(absl::string_view prefix,
                          const google::protobuf::Message& m);
// Decodes and strictly parses; surrounding whitespace is ignored.
// InvalidArgument naming `what` for a wrong prefix, bad base64 or fields.
absl::Status DecodeCarried(absl::string_view prefix, absl::string_view text,
                           absl::string_view what,
                           google::protobuf::Message& m);
// Reads a carried file (at most kMaxStateFileSize); "-" is standard input.
absl::StatusOr<std::string> ReadCarriedFile(const std::string& path);
// ReadCarriedFile, then DecodeCarried into `m`.
absl::Status ReadCarriedMessage(const std::string& path,
                                absl::string_view prefix,
                                absl::string_view what,
                                google::protobuf::Message& m);
// Writes a carried file (0600) atomically; AlreadyExists unless `overwrite`.
absl::Status WriteCarriedFile(const std::string& path, absl::string_view text,
                              bool overwrite);

// The bytes of `s` as a fixed-size array: all zeros unless exactly N
// bytes (callers check sizes where a wrong one matters; a zero key or
// fingerprint matches nothing).
template <size_t N>
std::array<uint8_t, N> FixedBytes(absl::string_view s) {
  std::array<uint8_t, N> a{};
  if (s.size() == N) std::copy(s.begin(), s.end(), a.begin());
  return a;
}

std::string Hex(absl::Span<const uint8_t> bytes);
inline std::string Hex(absl::string_view bytes) {
  return Hex(absl::Span<const uint8_t>(
      reinterpret_cast<const uint8_t*>(bytes.data()), bytes.size()));
}
// Lowercase or uppercase hex of exactly `size` bytes; InvalidArgument
// naming `what` otherwise.
absl::StatusOr<std::string> ParseHexId(absl::string_view text, size_t size,
                                       absl::string_view what);

}  // namespace tvault::client

#endif  // TVAULT_CLIENT_HOME_H_
