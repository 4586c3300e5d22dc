// What must be undone if the user presses Ctrl-C (or the process gets
// SIGTERM/SIGHUP) in the middle of a command: a half-written output file is
// removed and a terminal left without echo is restored. The handler only
// makes async-signal-safe calls, then exits with 128 + signal.
//
// Single-threaded use from the command's main thread.
#ifndef TVAULT_CLIENT_INTERRUPT_H_
#define TVAULT_CLIENT_INTERRUPT_H_

#include <termios.h>

#include <string>

namespace tvault::client {

// Installs the handlers once; later calls are no-ops.
void InstallInterruptCleanup();

// Registers/clears the temporary file to unlink on interruption.
void SetInterruptTempFile(const std::string& path);
void ClearInterruptTempFile();

// Registers/clears terminal settings to restore on interruption.
void SetInterruptTerminal(int fd, const termios& saved);
void ClearInterruptTerminal();

}  // namespace tvault::client

#endif  // TVAULT_CLIENT_INTERRUPT_H_
