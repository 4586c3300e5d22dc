#include "crypto/padme.h"

#include <bit>

namespace tvault::crypto {

uint64_t Padme(uint64_t length) {
  if (length < 2) return length;
  const uint64_t e = std::bit_width(length) - 1;  // floor(log2 L)
  const uint64_t s = std::bit_width(e);           // floor(log2 E) + 1
  const uint64_t last_bits = e - s;
  const uint64_t mask = (uint64_t{1} << last_bits) - 1;
  return (length + mask) & ~mask;
}

}  // namespace tvault::crypto
