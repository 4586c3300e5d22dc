#include "vault/config.h"

#include <filesystem>
#include <fstream>
#include <set>
#include <vector>

#include "absl/strings/ascii.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"

namespace tvault::vault {
namespace {

struct IntKey {
  const char* name;
  int64_t VaultConfig::*field;
  int64_t min;
  int64_t max;
};

constexpr IntKey kIntKeys[] = {
    {"challenge_ttl_seconds", &VaultConfig::challenge_ttl_seconds, 1, 3600},
    {"session_ttl_seconds", &VaultConfig::session_ttl_seconds, 60, 86400},
    {"clock_skew_seconds", &VaultConfig::clock_skew_seconds, 0, 3600},
    {"max_grants_per_request", &VaultConfig::max_grants_per_request, 1, 4096},
    {"max_message_bytes", &VaultConfig::max_message_bytes, 65536, 16777216},
    {"max_record_bytes", &VaultConfig::max_record_bytes, 65536,
     int64_t{1} << 40},
    {"max_metadata_bytes", &VaultConfig::max_metadata_bytes, 1024, 65536},
    {"call_deadline_seconds", &VaultConfig::call_deadline_seconds, 1, 600},
    {"max_requests_per_minute", &VaultConfig::max_requests_per_minute, 10,
     100000},
    {"upload_expiry_seconds", &VaultConfig::upload_expiry_seconds, 3600,
     2592000},
    {"max_pending_uploads", &VaultConfig::max_pending_uploads, 1, 64},
    {"max_invite_uploads_per_hour", &VaultConfig::max_invite_uploads_per_hour,
     1, 1000},
    {"deletion_delay_seconds", &VaultConfig::deletion_delay_seconds, 1,
     31536000},
    {"maintenance_interval_seconds", &VaultConfig::maintenance_interval_seconds,
     1, 3600},
    {"max_pending_bytes", &VaultConfig::max_pending_bytes, 65536,
     int64_t{1} << 42},
    {"max_streams_per_identity", &VaultConfig::max_streams_per_identity, 1, 96},
};

constexpr size_t kMaxConfigSize = 64 * 1024;

}  // namespace

std::string VaultConfigKeyList() {
  std::string list = "checkpoint_copy";
  for (const IntKey& k : kIntKeys) absl::StrAppend(&list, ", ", k.name);
  return list;
}

absl::StatusOr<VaultConfig> ParseVaultConfig(absl::string_view text) {
  VaultConfig config;
  std::set<std::string> seen;
  int line_number = 0;
  for (absl::string_view raw : absl::StrSplit(text, '\n')) {
    ++line_number;
    const absl::string_view line = absl::StripAsciiWhitespace(raw);
    if (line.empty() || line.front() == '#') continue;
    const auto fail = [&](absl::string_view why) {
      return absl::InvalidArgumentError(
          absl::StrCat("configuration line ", line_number, ": ", why));
    };
    const size_t eq = line.find('=');
    if (eq == absl::string_view::npos) return fail("expected key = value");
    const std::string key(absl::StripAsciiWhitespace(line.substr(0, eq)));
    const absl::string_view value =
        absl::StripAsciiWhitespace(line.substr(eq + 1));
    if (!seen.insert(key).second) {
      return fail(absl::StrCat("\"", key, "\" is set twice"));
    }
    if (key == "checkpoint_copy") {
      if (value.empty()) return fail("checkpoint_copy needs a path");
      config.checkpoint_copy = std::string(value);
      continue;
    }
    const IntKey* found = nullptr;
    for (const IntKey& k : kIntKeys) {
      if (key == k.name) found = &k;
    }
    if (found == nullptr) {
      return fail(absl::StrCat("unknown setting \"", key,
                               "\" (see tvaultd serve --help for the list)"));
    }
    int64_t number = 0;
    if (value.empty() || !absl::ascii_isdigit(value.front()) ||
        !absl::SimpleAtoi(value, &number)) {
      return fail(absl::StrCat(key, " must be a whole number"));
    }
    if (number < found->min || number > found->max) {
      return fail(absl::StrCat(key, " must be between ", found->min, " and ",
                               found->max));
    }
    config.*(found->field) = number;
  }
  return config;
}

absl::StatusOr<VaultConfig> LoadVaultConfig(const std::string& path) {
  std::error_code ec;
  if (!std::filesystem::is_regular_file(path, ec)) {
    return absl::NotFoundError(
        absl::StrCat("cannot read the configuration file ", path,
                     ": it does not exist or is not a regular file"));
  }
  std::ifstream in(path, std::ios::binary);
  if (!in) {
    return absl::NotFoundError(
        absl::StrCat("cannot read the configuration file ", path));
  }
  std::string text(kMaxConfigSize + 1, '\0');
  in.read(text.data(), static_cast<std::streamsize>(text.size()));
  text.resize(static_cast<size_t>(in.gcount()));
  if (in.bad()) {
    return absl::NotFoundError(
        absl::StrCat("cannot read the configuration file ", path));
  }
  if (text.size() > kMaxConfigSize) {
    return absl::InvalidArgumentError(
        absl::StrCat("the configuration file ", path, " is too large"));
  }
  absl::StatusOr<VaultConfig> config = ParseVaultConfig(text);
  if (!config.ok()) {
    return absl::InvalidArgumentError(
        absl::StrCat(path, ": ", config.status().message()));
  }
  return config;
}

}  // namespace tvault::vault
