// Keystore (DESIGN.md §4): one file holding the client's secret keys under a
// passphrase. Argon2id (libsodium crypto_pwhash, ALG_ARGON2ID13, one lane)
// derives a 32-byte key from the passphrase and a random salt;
// XChaCha20-Poly1305 (crypto_aead_xchacha20poly1305_ietf) encrypts the
// payload under a random nonce, with the whole header as associated data.
//
// File format, version 1 (all integers unsigned big-endian):
//
//   offset  size  field
//        0     6  magic "TVKS1\n" = 54 56 4B 53 31 0A
//        6     8  Argon2id opslimit (passes)
//       14     8  Argon2id memlimit in bytes, a multiple of 1024
//       22    16  salt, random for every write
//       38    24  XChaCha20 nonce, random for every write
//       62     n  ciphertext of the payload, 1 <= n <= kMaxKeystorePayload
//     62+n    16  Poly1305 tag
//
// Bytes 0..61 are the AEAD associated data, so a changed parameter, salt or
// magic fails authentication like a changed ciphertext. Nothing follows the
// tag: the file size gives n.
//
// What is protected
// - Confidentiality and integrity of the payload and of the header, for as
//   long as the passphrase resists guessing at the file's Argon2id cost.
// - A file whose parameters were lowered below the caller's floor is refused
//   BEFORE any key derivation (FailedPrecondition), as is a file asking for
//   more than kMaxKeystoreOpslimit passes or kMaxKeystoreMemlimit bytes
//   (InvalidArgument), so a hostile file can neither be opened cheaply nor
//   make the client exhaust memory or time.
// What is NOT protected
// - Replacement by an older keystore sealed under the same passphrase
//   (rollback): both are authentic. Callers that care keep a version inside
//   the payload.
// - The payload size, and the Argon2id cost, are visible to anyone holding
//   the file.
// - Wrong passphrase and damaged ciphertext are indistinguishable by design
//   (both fail the tag); the message says so.
//
// Secrets (payload, passphrase, derived key) stay in SecretBytes and never
// appear in Status messages. All functions are thread-safe (no shared
// state), and block for the Argon2id time: about 0.5-1 s at member
// strength, a few seconds at org-root strength, depending on the machine.
// Do not call them on a gRPC thread.
#ifndef TVAULT_CRYPTO_KEYSTORE_H_
#define TVAULT_CRYPTO_KEYSTORE_H_

#include <cstddef>
#include <cstdint>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/types/span.h"
#include "crypto/secret_bytes.h"

namespace tvault::crypto {

inline constexpr char kKeystoreMagic[] = "TVKS1\n";  // 6 bytes, no NUL
inline constexpr size_t kKeystoreMagicSize = 6;
inline constexpr size_t kKeystoreSaltSize = 16;
inline constexpr size_t kKeystoreNonceSize = 24;
inline constexpr size_t kKeystoreHeaderSize = 62;
inline constexpr size_t kKeystoreTagSize = 16;
// The payload holds keys: a megabyte is far more than any client needs,
// and bounds what a hostile file can make us place in locked memory.
inline constexpr size_t kMaxKeystorePayload = size_t{1} << 20;
// Upper bounds on the Argon2id cost a file may ask for (a bound, not a
// recommendation): four times the org-root memory, four times its passes.
inline constexpr uint64_t kMaxKeystoreOpslimit = 16;
inline constexpr uint64_t kMaxKeystoreMemlimit = uint64_t{4} << 30;  // 4 GiB

// Argon2id cost: used both to seal (the cost written into the file) and to
// open (the floor a file must meet). Production code can only name the two
// levels of DESIGN.md §4; ForTesting exists so that tests run in
// milliseconds and must not appear outside tests/.
class KeystoreStrength {
 public:
  // Every member's keystore: 3 passes, 256 MiB.
  static const KeystoreStrength kMember;
  // The organisation root's offline keystore: 4 passes, 1 GiB.
  static const KeystoreStrength kOrgRoot;

  // TESTS ONLY. Any values; SealKeystore still refuses values outside
  // libsodium's range (opslimit >= 1, memlimit >= 8 KiB) or above the
  // kMaxKeystore* bounds, and memlimits that are not a multiple of 1024.
  static constexpr KeystoreStrength ForTesting(uint64_t opslimit,
                                               uint64_t memlimit_bytes) {
    return KeystoreStrength(opslimit, memlimit_bytes);
  }

  constexpr uint64_t opslimit() const { return opslimit_; }
  constexpr uint64_t memlimit_bytes() const { return memlimit_bytes_; }

 private:
  constexpr KeystoreStrength(uint64_t opslimit, uint64_t memlimit_bytes)
      : opslimit_(opslimit), memlimit_bytes_(memlimit_bytes) {}

  uint64_t opslimit_;
  uint64_t memlimit_bytes_;
};

inline constexpr KeystoreStrength KeystoreStrength::kMember{
    3, uint64_t{256} << 20};
inline constexpr KeystoreStrength KeystoreStrength::kOrgRoot{4,
                                                             uint64_t{1} << 30};

// Encrypts `payload` under `passphrase` at `strength`, with a fresh salt and
// nonce, and returns the whole file (header || ciphertext || tag).
// InvalidArgument if the payload is empty or larger than
// kMaxKeystorePayload, if the passphrase is empty, or if `strength` is out
// of range (see ForTesting). ResourceExhausted if Argon2id cannot get its
// memory. Neither argument is modified.
absl::StatusOr<std::vector<uint8_t>> SealKeystore(const SecretBytes& payload,
                                                  const SecretBytes& passphrase,
                                                  KeystoreStrength strength);

// Checks and decrypts a keystore file. Errors, in the order checked:
// - InvalidArgument: not a keystore (magic), an unsupported version, a file
//   too short or too long, or parameters out of range (zero passes, memlimit
//   below 8 KiB or not a multiple of 1024, or above the kMaxKeystore*
//   bounds). No key derivation runs.
// - FailedPrecondition "this keystore uses weaker protection than required
//   (…); it may have been tampered with": opslimit or memlimit below
//   `minimum`'s. No key derivation runs.
// - ResourceExhausted: Argon2id could not get its memory.
// - PermissionDenied "wrong passphrase, or the keystore file is damaged":
//   the tag does not verify.
// On success returns the payload exactly as sealed.
absl::StatusOr<SecretBytes> OpenKeystore(absl::Span<const uint8_t> file,
                                         const SecretBytes& passphrase,
                                         KeystoreStrength minimum);

}  // namespace tvault::crypto

#endif  // TVAULT_CRYPTO_KEYSTORE_H_
