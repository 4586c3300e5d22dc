#include "vault/logging.h"

#include <grpc/support/log.h>
#include <unistd.h>

#include <cstdlib>
#include <ctime>

#include "absl/strings/ascii.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"

namespace tvault::vault {
namespace {

constexpr size_t kMaxWordSize = 32;
constexpr size_t kMaxScrubbedSize = 512;

void Write(absl::string_view severity, absl::string_view message) {
  std::time_t now = std::time(nullptr);
  std::tm tm{};
  gmtime_r(&now, &tm);
  char stamp[32];
  std::strftime(stamp, sizeof stamp, "%Y-%m-%dT%H:%M:%SZ", &tm);
  const std::string line =
      absl::StrCat(stamp, " tvaultd ", severity, ": ", message, "\n");
  absl::string_view rest = line;
  while (!rest.empty()) {
    const ssize_t n = write(STDERR_FILENO, rest.data(), rest.size());
    if (n <= 0) return;  // nowhere else to report it
    rest.remove_prefix(static_cast<size_t>(n));
  }
}

bool Suspicious(absl::string_view word) {
  if (word.size() > kMaxWordSize) return true;
  for (char c : word) {
    if (absl::ascii_isdigit(c)) return true;
    switch (c) {
      case ':':
      case '/':
      case '@':
      case '[':
      case ']':
      case '=':
      case '%':
        return true;
      default:
        break;
    }
  }
  return false;
}

void GrpcLog(gpr_log_func_args* args) {
  const std::string message = ScrubGrpcLogMessage(args->message);
  const absl::string_view severity =
      args->severity == GPR_LOG_SEVERITY_ERROR  ? "error"
      : args->severity == GPR_LOG_SEVERITY_INFO ? "info"
                                                : "debug";
  Write(severity, absl::StrCat("grpc: ", message));
}

}  // namespace

void LogInfo(absl::string_view message) { Write("info", message); }
void LogWarning(absl::string_view message) { Write("warning", message); }
void LogError(absl::string_view message) { Write("error", message); }

std::string ScrubGrpcLogMessage(absl::string_view message) {
  // Only whole words of the first 2 KiB count: a word cut by that limit is
  // dropped, not shown in part.
  constexpr size_t kMaxInput = 4 * kMaxScrubbedSize;
  std::string clean(message.substr(0, kMaxInput));
  if (message.size() > kMaxInput) {
    // The cut word becomes one redaction mark (':' is never shown).
    const size_t space = clean.find_last_of(" \t\r\n");
    clean.resize(space == std::string::npos ? 0 : space);
    clean += " :";
  }
  for (char& c : clean) {
    if (absl::ascii_iscntrl(c) || static_cast<unsigned char>(c) >= 0x80) {
      c = ' ';
    }
  }
  static constexpr absl::string_view kMark = "[…]";
  std::string out;
  bool last_redacted = false;
  for (absl::string_view word : absl::StrSplit(clean, ' ', absl::SkipEmpty())) {
    const bool redact = Suspicious(word);
    if (redact && last_redacted) continue;  // one mark for a run
    const absl::string_view shown = redact ? kMark : word;
    // Whole words and marks only: stop before the limit would cut one.
    if (out.size() + (out.empty() ? 0 : 1) + shown.size() > kMaxScrubbedSize) {
      break;
    }
    if (!out.empty()) out += ' ';
    out.append(shown.data(), shown.size());
    last_redacted = redact;
  }
  return out;
}

void InstallGrpcLogger() {
  if (std::getenv("GRPC_VERBOSITY") == nullptr) {
    gpr_set_log_verbosity(GPR_LOG_SEVERITY_ERROR);
  }
  gpr_set_log_function(GrpcLog);
}

}  // namespace tvault::vault
