// How tvaultd's memory is handed back to the system, and what it reports
// of itself (glibc's malloc and SQLite's allocator). Counts only: nothing
// here reads or logs the contents of memory.
//
// Thread-safe: each function may be called from any thread.
#ifndef TVAULT_VAULT_MEMORY_H_
#define TVAULT_VAULT_MEMORY_H_

#include <cstdint>
#include <string>

namespace tvault::vault {

// Makes glibc serve every allocation of 256 KiB or more (message buffers,
// record chunks) from a mapping of its own, unmapped when freed; trim an
// arena's free top above 1 MiB at once; and keep one arena per core
// instead of eight per core. Without it glibc raises its threshold as large
// buffers are freed, after which they come from the threads' arenas and stay
// there, and each of 16 arenas keeps its own partly used pages: in a
// 30-minute soak the heap in use stayed at 3.5–3.8 MiB while the free
// memory in the arenas grew from 224 to 311 MiB and the resident part of
// it by 8 MiB (tests/reliability/tvault_soak; RELIABILITY.md has the
// figures with each setting). Call once, before other threads start.
void ReturnLargeBuffersToTheSystem();

// Gives every whole free page of every arena back to the system
// (malloc_trim). malloc_trim does not shrink the free top of the threads'
// arenas; ReturnLargeBuffersToTheSystem keeps those small.
void GiveBackFreeMemory();

// One line for the log: glibc's heap in use over all arenas (and the part
// in blocks mapped on their own), the free memory inside the heap, and
// SQLite's allocations now and at their highest, in KiB. The format is
// read by tests/reliability/tvault_soak.
std::string DescribeMemoryUse();

// The most memory SQLite's allocations held at once, in bytes, since the
// process started or the last reset; with `reset`, the mark starts again
// from what they hold now (after reading it).
int64_t SqliteMemoryHighest(bool reset);

}  // namespace tvault::vault

#endif  // TVAULT_VAULT_MEMORY_H_
