#include "vault/memory.h"

#include <malloc.h>
#include <sqlite3.h>

#include <algorithm>
#include <thread>

#include "absl/strings/str_cat.h"

namespace tvault::vault {

void ReturnLargeBuffersToTheSystem() {
  // A fixed threshold also stops glibc from raising it (and the trim
  // threshold with it) as buffers are freed.
  mallopt(M_MMAP_THRESHOLD, 256 * 1024);
  mallopt(M_TRIM_THRESHOLD, 1 << 20);
  // One arena per core (glibc's default is eight per core): every arena
  // keeps its own partly used pages and free top.
  mallopt(M_ARENA_MAX,
          static_cast<int>(std::max(2u, std::thread::hardware_concurrency())));
}

void GiveBackFreeMemory() { malloc_trim(0); }

std::string DescribeMemoryUse() {
  const struct mallinfo2 heap = mallinfo2();
  return absl::StrCat(
      "memory: heap in use ", (heap.uordblks + heap.hblkhd) / 1024,
      " KiB (mapped blocks ", heap.hblkhd / 1024, " KiB), free in the heap ",
      heap.fordblks / 1024, " KiB, SQLite ", sqlite3_memory_used() / 1024,
      " KiB (highest ", sqlite3_memory_highwater(0) / 1024, " KiB)");
}

int64_t SqliteMemoryHighest(bool reset) {
  return sqlite3_memory_highwater(reset ? 1 : 0);
}

}  // namespace tvault::vault
