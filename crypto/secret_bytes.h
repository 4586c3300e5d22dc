// Secret bytes: key material, file keys, passphrases and identities.
//
// Contract
// - Memory comes from sodium_malloc: guard pages around it, mlock()ed where
//   the system allows, and wiped by sodium_free when released.
// - Move-only. A moved-from object is empty (size 0, data() == nullptr).
// - Never convert to std::string, never log, never put in a Status message.
// - Not thread-safe: one owner at a time, as with any value type.
//
// Equality is only offered in constant time (ConstantTimeEquals), so a
// comparison of secrets cannot leak where they first differ.
#ifndef TVAULT_CRYPTO_SECRET_BYTES_H_
#define TVAULT_CRYPTO_SECRET_BYTES_H_

#include <cstddef>
#include <cstdint>

#include "absl/types/span.h"

namespace tvault::crypto {

class SecretBytes {
 public:
  SecretBytes() = default;
  // Zero-filled secret of `size` bytes. Aborts the process if the secure
  // allocator fails (as operator new would), since a caller that cannot get
  // protected memory must not fall back to unprotected memory.
  explicit SecretBytes(size_t size);
  // `size` bytes from libsodium's CSPRNG.
  static SecretBytes Random(size_t size);
  // Copies `bytes` into protected memory. The caller remains responsible for
  // wiping the source.
  static SecretBytes CopyFrom(absl::Span<const uint8_t> bytes);

  SecretBytes(SecretBytes&& other) noexcept;
  SecretBytes& operator=(SecretBytes&& other) noexcept;
  SecretBytes(const SecretBytes&) = delete;
  SecretBytes& operator=(const SecretBytes&) = delete;
  ~SecretBytes();

  uint8_t* data() { return data_; }
  const uint8_t* data() const { return data_; }
  size_t size() const { return size_; }
  bool empty() const { return size_ == 0; }
  absl::Span<uint8_t> span() { return {data_, size_}; }
  absl::Span<const uint8_t> span() const { return {data_, size_}; }

  // Shrinks the visible size (for buffers filled to less than capacity).
  // The bytes past the new size are wiped immediately.
  void Truncate(size_t new_size);

 private:
  void Release();

  uint8_t* data_ = nullptr;
  size_t size_ = 0;
};

// Constant-time equality for secrets and MACs. Returns false when the sizes
// differ (the size itself is not secret).
bool ConstantTimeEquals(absl::Span<const uint8_t> a,
                        absl::Span<const uint8_t> b);

// Initialises libsodium once; safe to call from any thread, any number of
// times. Aborts if libsodium cannot start (no usable randomness).
void EnsureSodiumInitialized();

}  // namespace tvault::crypto

#endif  // TVAULT_CRYPTO_SECRET_BYTES_H_
