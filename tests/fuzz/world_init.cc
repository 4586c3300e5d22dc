// LLVMFuzzerInitialize for the targets that use the fixed world: builds it
// before the first input, so that its cost is not charged to one.
#include "tests/fuzz/fuzz_world.h"

extern "C" int LLVMFuzzerInitialize(int*, char***) {
  tvault::fuzz::World::Get();
  return 0;
}
