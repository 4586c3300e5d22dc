#include "client/interrupt.h"

#include <signal.h>
#include <unistd.h>

#include <cstring>

namespace tvault::client {
namespace {

// Plain storage readable from a signal handler.
char g_temp_path[4096];
volatile sig_atomic_t g_have_temp = 0;
termios g_saved_termios;
volatile sig_atomic_t g_tty_fd = -1;

void OnSignal(int sig) {
  if (g_have_temp) unlink(g_temp_path);
  if (g_tty_fd >= 0) {
    tcsetattr(g_tty_fd, TCSANOW, &g_saved_termios);
    (void)!write(g_tty_fd, "\n", 1);
  }
  _exit(128 + sig);
}

}  // namespace

void InstallInterruptCleanup() {
  static bool installed = false;
  if (installed) return;
  installed = true;
  struct sigaction sa;
  std::memset(&sa, 0, sizeof sa);
  sa.sa_handler = OnSignal;
  sigemptyset(&sa.sa_mask);
  for (int sig : {SIGINT, SIGTERM, SIGHUP, SIGQUIT}) {
    sigaction(sig, &sa, nullptr);
  }
}

void SetInterruptTempFile(const std::string& path) {
  g_have_temp = 0;
  if (path.size() >= sizeof g_temp_path) return;
  std::memcpy(g_temp_path, path.c_str(), path.size() + 1);
  g_have_temp = 1;
}

void ClearInterruptTempFile() { g_have_temp = 0; }

void SetInterruptTerminal(int fd, const termios& saved) {
  g_saved_termios = saved;
  g_tty_fd = fd;
}

void ClearInterruptTerminal() { g_tty_fd = -1; }

}  // namespace tvault::client
