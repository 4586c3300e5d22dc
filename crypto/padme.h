// Padmé padding (Nikitin et al., "Reducing Metadata Leakage from Encrypted
// Files and Communication with PURBs", PETS 2019), as DESIGN.md §6 uses it:
// the padded length leaks O(log log L) bits of the true length.
#ifndef TVAULT_CRYPTO_PADME_H_
#define TVAULT_CRYPTO_PADME_H_

#include <cstdint>

namespace tvault::crypto {

// For L >= 2: E = floor(log2 L), S = floor(log2 E) + 1, and L rounded up to
// a multiple of 2^(E-S). Padme(0) = 0, Padme(1) = 1.
uint64_t Padme(uint64_t length);

// The record container's length: max(Padme(L), 64 KiB).
inline constexpr uint64_t kRecordMinimumLength = 65536;
inline uint64_t RecordPaddedLength(uint64_t length) {
  const uint64_t p = Padme(length);
  return p < kRecordMinimumLength ? kRecordMinimumLength : p;
}

}  // namespace tvault::crypto

#endif  // TVAULT_CRYPTO_PADME_H_
