#include "client/passphrase.h"

#include <fcntl.h>
#include <signal.h>
#include <sodium.h>
#include <termios.h>
#include <unistd.h>

#include <cstdlib>
#include <cstring>

#include "client/interrupt.h"

namespace tvault::client {
namespace {

using crypto::SecretBytes;

absl::StatusOr<SecretBytes> FromEnvironment() {
  char* value = std::getenv(kPassphraseEnv);
  if (value == nullptr) return absl::NotFoundError("no variable");
  const size_t len = std::strlen(value);
  SecretBytes out =
      SecretBytes::CopyFrom({reinterpret_cast<const uint8_t*>(value), len});
  sodium_memzero(value, len);
  unsetenv(kPassphraseEnv);
  return out;
}

// One line from the terminal, echo off, without passing through any
// std::string or stdio buffer.
absl::StatusOr<SecretBytes> FromTerminal(int tty, absl::string_view prompt) {
  (void)!write(tty, prompt.data(), prompt.size());
  termios saved;
  const bool is_tty = tcgetattr(tty, &saved) == 0;
  if (is_tty) {
    termios quiet = saved;
    quiet.c_lflag &= ~static_cast<tcflag_t>(ECHO);
    quiet.c_lflag |= ECHONL;
    SetInterruptTerminal(tty, saved);
    tcsetattr(tty, TCSAFLUSH, &quiet);
  }
  // Ctrl-Z while echo is off would leave the shell without echo; the
  // prompt is short, so suspension is simply not offered during it.
  struct sigaction ignore_stop = {}, previous_stop = {};
  ignore_stop.sa_handler = SIG_IGN;
  sigaction(SIGTSTP, &ignore_stop, &previous_stop);
  SecretBytes buf(kMaxPassphraseLength + 1);
  size_t len = 0;
  bool ended = false;
  while (len < buf.size()) {
    char c;
    const ssize_t n = read(tty, &c, 1);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) break;
    if (c == '\n') {
      ended = true;
      break;
    }
    buf.data()[len++] = static_cast<uint8_t>(c);
  }
  if (is_tty) {
    tcsetattr(tty, TCSAFLUSH, &saved);
    ClearInterruptTerminal();
  }
  sigaction(SIGTSTP, &previous_stop, nullptr);
  if (len > 0 && buf.data()[len - 1] == '\r') --len;
  if (len > kMaxPassphraseLength) {
    return absl::InvalidArgumentError("passphrase longer than 1024 bytes");
  }
  if (!ended && len == 0) {
    return absl::CancelledError("no passphrase entered");
  }
  buf.Truncate(len);
  return buf;
}

}  // namespace

absl::StatusOr<SecretBytes> ReadPassphrase(absl::string_view prompt,
                                           bool confirm) {
  absl::StatusOr<SecretBytes> env = FromEnvironment();
  if (env.ok()) {
    if (env->empty()) {
      return absl::InvalidArgumentError(
          "TVAULT_PASSPHRASE is set but empty; set it to the passphrase");
    }
    return env;
  }
  InstallInterruptCleanup();
  const int tty = open("/dev/tty", O_RDWR | O_CLOEXEC);
  if (tty < 0) {
    return absl::FailedPreconditionError(
        "a passphrase is needed but there is no terminal to ask on; set "
        "TVAULT_PASSPHRASE or run the command in a terminal");
  }
  absl::StatusOr<SecretBytes> first = FromTerminal(tty, prompt);
  if (first.ok() && first->empty()) {
    first = absl::InvalidArgumentError("the passphrase must not be empty");
  }
  if (first.ok() && confirm) {
    absl::StatusOr<SecretBytes> second =
        FromTerminal(tty, "Confirm passphrase: ");
    if (!second.ok()) {
      first = second.status();
    } else if (!crypto::ConstantTimeEquals(first->span(), second->span())) {
      first = absl::InvalidArgumentError(
          "the two passphrases differ; nothing was written, try again");
    }
  }
  close(tty);
  return first;
}

}  // namespace tvault::client
