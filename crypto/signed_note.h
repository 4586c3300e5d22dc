// Signed notes (C2SP signed-note) with Ed25519 keys, signature type 0x01:
// the envelope of the vault's checkpoints (DESIGN.md §9), readable by Go's
// golang.org/x/mod/sumdb/note.
//
//   <text, ending in "\n">
//   <blank line>
//   — <key name> <base64(4-byte big-endian key id || 64-byte signature)>
//   ...
//
// Key id = SHA-256(name || 0x0A || 0x01 || 32-byte public key)[:4].
// Verifier key:  <name>+<8 lowercase hex key id>+<base64(0x01 || public key)>
// Signer key:    PRIVATE+KEY+<name>+<hex key id>+<base64(0x01 || 32-byte seed)>
//
// What OpenNote promises: the returned text was signed by every key listed
// in `verified`, each one a key the caller passed in. What it does NOT
// promise: anything about `unknown` signatures (not verified: anyone can
// write a line with any name), freshness (a note can be replayed), or that
// the text means anything — that is for the parser of the text
// (crypto/checkpoint.h).
//
// Statuses of OpenNote:
//   InvalidArgument   the note is malformed (see ValidateNoteText and the
//                     signature line grammar), too large, has more than
//                     kMaxNoteSignatures lines, or the verifier list is
//                     ambiguous (two different keys with one name and id);
//   DataLoss          a signature whose name and key id match a known key
//                     does not verify: the text or the signature was altered
//                     (the spec's "SHOULD reject the whole note");
//   PermissionDenied  well-formed, but no known key signed it.
//
// Rules where the spec leaves a choice, decided here:
// - Every signature line from a known key is verified, duplicates included,
//   and all must verify (Go skips repeated lines from one key unverified).
//   A key that signed several times is listed once in `verified`.
// - Base64 must be canonical (RFC 4648 §3.5) in signatures and keys, and key
//   ids in key strings must be lowercase hex (as the spec writes them).
// - A signature must carry at least one byte after the key id, as in Go.
// - Key names must also be free of characters below U+0020, so that
//   SignNote can never produce a note that OpenNote rejects.
//
// Private keys live only in SecretBytes (sodium_malloc, wiped on release).
// Objects are immutable after creation and safe to share between threads.
#ifndef TVAULT_CRYPTO_SIGNED_NOTE_H_
#define TVAULT_CRYPTO_SIGNED_NOTE_H_

#include <array>
#include <cstddef>
#include <cstdint>
#include <string>
#include <utility>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "absl/types/span.h"
#include "crypto/secret_bytes.h"

namespace tvault::crypto {

inline constexpr uint8_t kNoteSignatureTypeEd25519 = 0x01;
inline constexpr size_t kEd25519PublicKeySize = 32;
inline constexpr size_t kEd25519SeedSize = 32;
inline constexpr size_t kEd25519SignatureSize = 64;

// Limits on what OpenNote reads. The spec asks verifiers to accept at least
// 16 signatures of up to ~5 kB each; these are well above that and bound the
// work an attacker can cause. 100 is Go's own limit.
inline constexpr size_t kMaxNoteSize = size_t{1} << 20;
inline constexpr size_t kMaxNoteSignatures = 100;

// Non-empty, valid UTF-8, no Unicode white space (Go's unicode.IsSpace), no
// '+', no character below U+0020.
bool IsValidNoteKeyName(absl::string_view name);

// OK iff `text` can be the text of a note: non-empty, ends in "\n", valid
// UTF-8, no ASCII control characters other than "\n", at most kMaxNoteSize
// bytes. InvalidArgument otherwise, saying which rule failed.
absl::Status ValidateNoteText(absl::string_view text);

// SHA-256(name || 0x0A || 0x01 || public_key)[:4] as a big-endian integer.
uint32_t NoteEd25519KeyId(
    absl::string_view name,
    const std::array<uint8_t, kEd25519PublicKeySize>& public_key);

class NoteVerifier {
 public:
  // Parses a verifier key string. InvalidArgument if any part is malformed,
  // the signature type is not 0x01, the key is not 32 bytes, or the key id
  // is not the one computed from the name and key.
  static absl::StatusOr<NoteVerifier> Parse(absl::string_view vkey);
  // InvalidArgument if the name is not valid or the key is not 32 bytes.
  static absl::StatusOr<NoteVerifier> FromEd25519PublicKey(
      absl::string_view name, absl::Span<const uint8_t> public_key);

  const std::string& name() const { return name_; }
  uint32_t key_id() const { return key_id_; }
  const std::array<uint8_t, kEd25519PublicKeySize>& public_key() const {
    return public_key_;
  }
  // The verifier key string; Parse(Encode()) gives back an equal verifier.
  std::string Encode() const;

  // Whether `signature` (without the key id) is this key's Ed25519
  // signature of `text`. False for a signature of the wrong length.
  bool Verify(absl::string_view text,
              absl::Span<const uint8_t> signature) const;

 private:
  NoteVerifier() = default;

  std::string name_;
  uint32_t key_id_ = 0;
  std::array<uint8_t, kEd25519PublicKeySize> public_key_{};
};

class NoteSigner {
 public:
  // A new random key. InvalidArgument if the name is not valid.
  static absl::StatusOr<NoteSigner> Generate(absl::string_view name);
  // From a 32-byte RFC 8032 seed (the caller wipes its copy).
  static absl::StatusOr<NoteSigner> FromEd25519Seed(
      absl::string_view name, absl::Span<const uint8_t> seed);
  // Parses a signer key string; pass the bytes of a SecretBytes.
  // InvalidArgument if malformed or if the key id does not match the key.
  // Messages never contain key material.
  static absl::StatusOr<NoteSigner> Parse(absl::Span<const uint8_t> skey);

  NoteSigner(NoteSigner&&) noexcept = default;
  NoteSigner& operator=(NoteSigner&&) noexcept = default;
  NoteSigner(const NoteSigner&) = delete;
  NoteSigner& operator=(const NoteSigner&) = delete;

  // The signer key string, in protected memory.
  SecretBytes Encode() const;

  const NoteVerifier& verifier() const { return verifier_; }
  const std::string& name() const { return verifier_.name(); }
  uint32_t key_id() const { return verifier_.key_id(); }

 private:
  friend absl::StatusOr<std::string> SignNote(absl::string_view text,
                                              const NoteSigner& signer);

  NoteSigner(NoteVerifier verifier, SecretBytes secret_key)
      : verifier_(std::move(verifier)), secret_key_(std::move(secret_key)) {}

  std::array<uint8_t, kEd25519SignatureSize> Sign(absl::string_view text) const;

  NoteVerifier verifier_;
  SecretBytes secret_key_;  // libsodium's 64-byte form: seed || public key
};

// One signature line of a note.
struct NoteSignature {
  std::string key_name;
  uint32_t key_id = 0;
  std::vector<uint8_t> signature;  // the bytes after the key id

  bool operator==(const NoteSignature&) const = default;
};

struct OpenedNote {
  std::string text;  // includes its final "\n", not the blank line
  // Known keys whose signatures verified, once each, in note order.
  std::vector<NoteSignature> verified;
  // Lines from keys not in the verifier list, NOT verified; identical lines
  // once each, in note order. Kept so that cosignatures can be passed on.
  std::vector<NoteSignature> unknown;
};

// The signed note for `text` with one signature by `signer`.
// InvalidArgument if ValidateNoteText(text) fails or the note would exceed
// kMaxNoteSize.
absl::StatusOr<std::string> SignNote(absl::string_view text,
                                     const NoteSigner& signer);

// Parses `note` and verifies the signatures of the keys in `verifiers`.
// Statuses as in the header comment.
absl::StatusOr<OpenedNote> OpenNote(absl::string_view note,
                                    absl::Span<const NoteVerifier> verifiers);

}  // namespace tvault::crypto

#endif  // TVAULT_CRYPTO_SIGNED_NOTE_H_
