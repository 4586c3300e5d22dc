// Keeps a process's memory out of core files (DESIGN.md §2: a seized
// server or device must not yield keys or plaintext from a crash dump).
//
// sodium_malloc already excludes SecretBytes pages from core dumps, but a
// process also holds secrets elsewhere for a moment (gRPC's copy of the TLS
// key, SQLCipher's key schedule, decrypted record chunks, protobuf
// buffers). So both programs call DisableCoreDumps first thing in main:
// - RLIMIT_CORE is set to 0, soft and hard, so the kernel writes no core
//   file, and a child (or the process itself) cannot raise it again;
// - PR_SET_DUMPABLE is cleared, which also refuses core dumps (whatever the
//   limit, unless the administrator set fs.suid_dumpable = 2 and a core
//   pattern that pipes to a program), makes /proc/PID/{mem,environ,fd,...}
//   and ptrace unavailable to other processes of the same user, and gives
//   the process's /proc entries to root. Root keeps reading /proc/PID/status
//   and /proc/PID/limits (which everyone may read anyway).
// Internal, naming the call, if either fails; callers exit then.
#ifndef TVAULT_CRYPTO_CORE_DUMPS_H_
#define TVAULT_CRYPTO_CORE_DUMPS_H_

#include "absl/status/status.h"

namespace tvault::crypto {

absl::Status DisableCoreDumps();

}  // namespace tvault::crypto

#endif  // TVAULT_CRYPTO_CORE_DUMPS_H_
