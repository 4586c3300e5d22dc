#include "tests/fuzz/fuzz_random.h"

#include <sodium.h>

#include <cstddef>
#include <cstring>
#include <mutex>

#include "crypto/secret_bytes.h"

namespace tvault::fuzz {
namespace {

// SplitMix64: tiny, fast, and good enough for test keys and nonces.
std::mutex mu;
uint64_t state = 0;

uint64_t Next() {
  uint64_t z = (state += 0x9e3779b97f4a7c15ULL);
  z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
  z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
  return z ^ (z >> 31);
}

const char* Name() { return "tvault-fuzz-deterministic"; }

uint32_t Random() {
  std::lock_guard<std::mutex> lock(mu);
  return static_cast<uint32_t>(Next() >> 32);
}

void Buf(void* out, size_t size) {
  std::lock_guard<std::mutex> lock(mu);
  auto* p = static_cast<unsigned char*>(out);
  while (size > 0) {
    const uint64_t v = Next();
    const size_t n = size < sizeof v ? size : sizeof v;
    std::memcpy(p, &v, n);
    p += n;
    size -= n;
  }
}

randombytes_implementation implementation = {
    .implementation_name = Name,
    .random = Random,
    .stir = nullptr,
    .uniform = nullptr,
    .buf = Buf,
    .close = nullptr,
};

}  // namespace

void ResetDeterministicRandom(uint64_t seed) {
  static const bool installed = [] {
    randombytes_set_implementation(&implementation);
    crypto::EnsureSodiumInitialized();
    return true;
  }();
  (void)installed;
  std::lock_guard<std::mutex> lock(mu);
  state = seed;
}

}  // namespace tvault::fuzz
