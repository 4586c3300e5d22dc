#include "crypto/hkdf.h"

#include <sodium.h>

#include <algorithm>
#include <array>

#include "crypto/secret_bytes.h"

namespace tvault::crypto {

absl::Status HkdfSha256(absl::Span<const uint8_t> ikm,
                        absl::Span<const uint8_t> salt, absl::string_view info,
                        absl::Span<uint8_t> out) {
  constexpr size_t kHashLen = crypto_auth_hmacsha256_BYTES;
  if (out.empty() || out.size() > 255 * kHashLen) {
    return absl::InvalidArgumentError("HKDF output length out of range");
  }
  static constexpr std::array<uint8_t, kHashLen> kZeroSalt{};
  if (salt.empty()) salt = kZeroSalt;

  // Extract: PRK = HMAC(salt, IKM).
  SecretBytes prk(kHashLen);
  crypto_auth_hmacsha256_state state;
  crypto_auth_hmacsha256_init(&state, salt.data(), salt.size());
  crypto_auth_hmacsha256_update(&state, ikm.data(), ikm.size());
  crypto_auth_hmacsha256_final(&state, prk.data());

  // Expand: T(i) = HMAC(PRK, T(i-1) || info || i).
  SecretBytes block(kHashLen);
  size_t done = 0;
  for (uint8_t counter = 1; done < out.size(); ++counter) {
    crypto_auth_hmacsha256_init(&state, prk.data(), prk.size());
    if (counter > 1) {
      crypto_auth_hmacsha256_update(&state, block.data(), block.size());
    }
    crypto_auth_hmacsha256_update(
        &state, reinterpret_cast<const uint8_t*>(info.data()), info.size());
    crypto_auth_hmacsha256_update(&state, &counter, 1);
    crypto_auth_hmacsha256_final(&state, block.data());
    const size_t n = std::min(kHashLen, out.size() - done);
    std::copy_n(block.data(), n, out.data() + done);
    done += n;
  }
  sodium_memzero(&state, sizeof state);
  return absl::OkStatus();
}

}  // namespace tvault::crypto
