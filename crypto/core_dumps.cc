#include "crypto/core_dumps.h"

#include <sys/prctl.h>
#include <sys/resource.h>

#include <cerrno>
#include <cstring>

#include "absl/strings/str_cat.h"

namespace tvault::crypto {

absl::Status DisableCoreDumps() {
  const rlimit none{0, 0};
  if (setrlimit(RLIMIT_CORE, &none) != 0) {
    return absl::InternalError(
        absl::StrCat("cannot disable core dumps (setrlimit RLIMIT_CORE): ",
                     strerror(errno)));
  }
  if (prctl(PR_SET_DUMPABLE, 0, 0, 0, 0) != 0) {
    return absl::InternalError(
        absl::StrCat("cannot disable core dumps (prctl PR_SET_DUMPABLE): ",
                     strerror(errno)));
  }
  return absl::OkStatus();
}

}  // namespace tvault::crypto
