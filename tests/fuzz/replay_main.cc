// The driver of a fuzz target without libFuzzer: runs every file named on
// the command line, and every file of every directory named (sorted, not
// recursive), once through LLVMFuzzerTestOneInput. This is how the seed
// corpora and the regression inputs run in every ordinary and sanitizer
// test run (ctest fuzz_replay_<target>). A missing directory is not an
// error (a target may have no regression input yet); an empty run is.
#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <string>
#include <system_error>
#include <vector>

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size);
extern "C" __attribute__((weak)) int LLVMFuzzerInitialize(int* argc,
                                                          char*** argv);

namespace {

namespace fs = std::filesystem;

bool ReadFile(const fs::path& path, std::vector<uint8_t>& out) {
  std::ifstream in(path, std::ios::binary);
  if (!in) return false;
  out.assign(std::istreambuf_iterator<char>(in),
             std::istreambuf_iterator<char>());
  return !in.bad();
}

}  // namespace

int main(int argc, char** argv) {
  if (LLVMFuzzerInitialize != nullptr) LLVMFuzzerInitialize(&argc, &argv);
  std::vector<fs::path> inputs;
  for (int i = 1; i < argc; ++i) {
    const fs::path arg(argv[i]);
    std::error_code ec;
    if (fs::is_directory(arg, ec)) {
      std::vector<fs::path> files;
      for (const fs::directory_entry& e : fs::directory_iterator(arg, ec)) {
        if (e.is_regular_file()) files.push_back(e.path());
      }
      std::sort(files.begin(), files.end());
      inputs.insert(inputs.end(), files.begin(), files.end());
    } else if (fs::exists(arg, ec)) {
      inputs.push_back(arg);
    } else {
      std::printf("note: %s does not exist; skipped\n", argv[i]);
    }
  }
  if (inputs.empty()) {
    std::fprintf(stderr, "error: no inputs to replay\n");
    return 1;
  }
  std::vector<uint8_t> data;
  for (const fs::path& p : inputs) {
    if (!ReadFile(p, data)) {
      std::fprintf(stderr, "error: cannot read %s\n", p.c_str());
      return 1;
    }
    // A copy of exactly the input's size, so that ASan sees any read past
    // its end (as under libFuzzer).
    std::vector<uint8_t> exact(data);
    exact.shrink_to_fit();
    std::fprintf(stderr, "replay %s (%zu bytes)\n", p.c_str(), exact.size());
    LLVMFuzzerTestOneInput(exact.data(), exact.size());
  }
  std::printf("replayed %zu inputs\n", inputs.size());
  return 0;
}
