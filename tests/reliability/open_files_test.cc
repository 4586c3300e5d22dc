// tvaultd raises its open-file limit (vault/serve.cc): gRPC 1.51 stops
// accepting connections for good after one EMFILE, which
// tests/reliability/tvault_abuse reached with 350 idle connections against
// a limit of 256.
#include <sys/resource.h>

#include <fstream>
#include <string>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "gtest/gtest.h"
#include "tests/vault/e2e_fixture.h"

namespace tvault::vault {
namespace {

// The soft limit /proc/PID/limits shows for "Max open files", or -1.
long long OpenFilesSoftLimit(pid_t pid) {
  std::ifstream in(absl::StrCat("/proc/", pid, "/limits"));
  std::string line;
  while (std::getline(in, line)) {
    if (!absl::StartsWith(line, "Max open files")) continue;
    std::vector<std::string> words =
        absl::StrSplit(line.substr(14), ' ', absl::SkipEmpty());
    return words.empty() ? -1 : std::atoll(words[0].c_str());
  }
  return -1;
}

TEST(TvaultdOpenFilesTest, RaisesItsOpenFileLimitToTheHardLimit) {
  rlimit saved{};
  ASSERT_EQ(getrlimit(RLIMIT_NOFILE, &saved), 0);
  if (saved.rlim_max < 1024) GTEST_SKIP() << "hard limit too low here";
  // tvaultd inherits a soft limit of 256, as a service manager might set.
  rlimit low = saved;
  low.rlim_cur = 256;
  ASSERT_EQ(setrlimit(RLIMIT_NOFILE, &low), 0);
  const crypto::SigningKey root = crypto::SigningKey::Generate();
  std::unique_ptr<testing::VaultProcess> vault =
      testing::VaultProcess::Init(root.public_key(), "");
  absl::Status started = vault->Start();
  setrlimit(RLIMIT_NOFILE, &saved);
  ASSERT_TRUE(started.ok()) << started;
  EXPECT_EQ(OpenFilesSoftLimit(vault->pid()),
            static_cast<long long>(saved.rlim_max));
}

}  // namespace
}  // namespace tvault::vault
