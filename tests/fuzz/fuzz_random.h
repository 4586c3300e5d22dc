// A deterministic stand-in for libsodium's random source, for fuzzing: the
// same input then takes the same path every time (a crash reproduces), and
// the seed generator and the harnesses draw the same keys, nonces and
// tokens. NEVER link this into anything but tests: every "random" byte is
// predictable.
#ifndef TVAULT_TESTS_FUZZ_FUZZ_RANDOM_H_
#define TVAULT_TESTS_FUZZ_FUZZ_RANDOM_H_

#include <cstdint>

namespace tvault::fuzz {

// Installs the deterministic source (once per process; before or after
// sodium_init) and restarts its sequence from `seed`. Call at the start of
// every input whose path depends on random bytes.
void ResetDeterministicRandom(uint64_t seed = 0);

}  // namespace tvault::fuzz

#endif  // TVAULT_TESTS_FUZZ_FUZZ_RANDOM_H_
