// A fresh directory under /tmp for one test, removed with everything in it.
#ifndef TVAULT_TESTS_TEMP_DIR_H_
#define TVAULT_TESTS_TEMP_DIR_H_

#include <stdlib.h>

#include <filesystem>
#include <string>
#include <system_error>

#include "gtest/gtest.h"

namespace tvault::testing_support {

class TempDir {
 public:
  TempDir() {
    std::string pattern = "/tmp/tvault_test_XXXXXX";
    char* made = ::mkdtemp(pattern.data());
    EXPECT_NE(made, nullptr);
    path_ = pattern;
  }
  ~TempDir() {
    std::error_code ignored;
    std::filesystem::remove_all(path_, ignored);
  }
  TempDir(const TempDir&) = delete;
  TempDir& operator=(const TempDir&) = delete;

  const std::string& path() const { return path_; }
  std::string File(const std::string& name) const { return path_ + "/" + name; }

 private:
  std::string path_;
};

}  // namespace tvault::testing_support

#endif  // TVAULT_TESTS_TEMP_DIR_H_
