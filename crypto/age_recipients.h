// age recipients (who a file is encrypted to) and identities (what can
// decrypt it): X25519 keys and scrypt passphrases, per C2SP age.
//
// Security properties
// - X25519: the file key is wrapped to the recipient's public key with an
//   ephemeral key per stanza. Nothing authenticates the sender: anyone who
//   knows a recipient can encrypt to it.
// - scrypt: a file with a scrypt stanza has no other stanza, so that a file
//   decrypted with a passphrase was made by someone who knew it.
// - Identities hold their secret in SecretBytes and are move-only.
//
// Unwrap contract: an identity returns the file key; AgeErrorKind::kNoMatch
// if no stanza is addressed to it (others are ignored, as the spec says);
// AgeErrorKind::kHeader for a stanza of its own type that is malformed, or
// an all-zero X25519 shared secret — these abort the whole decryption.
#ifndef TVAULT_CRYPTO_AGE_RECIPIENTS_H_
#define TVAULT_CRYPTO_AGE_RECIPIENTS_H_

#include <array>
#include <cstdint>
#include <string>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "absl/types/span.h"
#include "crypto/age_header.h"
#include "crypto/secret_bytes.h"

namespace tvault::crypto {

class AgeRecipient {
 public:
  virtual ~AgeRecipient() = default;
  virtual absl::StatusOr<AgeStanza> Wrap(const SecretBytes& file_key) const = 0;
  // True for recipient types whose stanza must be alone in a header.
  virtual bool RequiresSoleStanza() const { return false; }
};

class AgeIdentity {
 public:
  virtual ~AgeIdentity() = default;
  virtual absl::StatusOr<SecretBytes> Unwrap(
      absl::Span<const AgeStanza> stanzas) const = 0;
};

inline constexpr size_t kX25519KeySize = 32;

class X25519Recipient final : public AgeRecipient {
 public:
  // Parses "age1…" (lowercase Bech32, HRP "age", 32-byte payload).
  static absl::StatusOr<X25519Recipient> Parse(absl::string_view encoded);
  static X25519Recipient FromBytes(
      const std::array<uint8_t, kX25519KeySize>& public_key) {
    return X25519Recipient(public_key);
  }

  std::string Encode() const;  // "age1…"
  const std::array<uint8_t, kX25519KeySize>& bytes() const { return pk_; }
  absl::StatusOr<AgeStanza> Wrap(const SecretBytes& file_key) const override;

  friend bool operator==(const X25519Recipient& a, const X25519Recipient& b) {
    return a.pk_ == b.pk_;
  }

 private:
  explicit X25519Recipient(const std::array<uint8_t, kX25519KeySize>& pk)
      : pk_(pk) {}
  std::array<uint8_t, kX25519KeySize> pk_;
};

class X25519Identity final : public AgeIdentity {
 public:
  static X25519Identity Generate();
  // Parses "AGE-SECRET-KEY-1…" (uppercase Bech32, 32-byte payload).
  static absl::StatusOr<X25519Identity> Parse(absl::string_view encoded);
  static X25519Identity FromSecret(SecretBytes secret);  // 32 bytes

  // The Bech32 encoding, in protected memory.
  SecretBytes Encode() const;
  const X25519Recipient& recipient() const { return recipient_; }
  absl::StatusOr<SecretBytes> Unwrap(
      absl::Span<const AgeStanza> stanzas) const override;

 private:
  X25519Identity(SecretBytes secret, X25519Recipient recipient)
      : secret_(std::move(secret)), recipient_(recipient) {}
  SecretBytes secret_;
  X25519Recipient recipient_;
};

// Work factors are log2(N) for scrypt with r = 8, p = 1. 18 is the age
// tool's default (256 MiB, about a second); 22 is its default ceiling when
// decrypting (4 GiB), which bounds what a hostile file can make us spend.
inline constexpr int kScryptDefaultWorkFactor = 18;
inline constexpr int kScryptMaxWorkFactor = 22;

class ScryptRecipient final : public AgeRecipient {
 public:
  explicit ScryptRecipient(SecretBytes passphrase,
                           int work_factor = kScryptDefaultWorkFactor)
      : passphrase_(std::move(passphrase)), work_factor_(work_factor) {}
  absl::StatusOr<AgeStanza> Wrap(const SecretBytes& file_key) const override;
  bool RequiresSoleStanza() const override { return true; }

 private:
  SecretBytes passphrase_;
  int work_factor_;
};

class ScryptIdentity final : public AgeIdentity {
 public:
  explicit ScryptIdentity(SecretBytes passphrase,
                          int max_work_factor = kScryptMaxWorkFactor)
      : passphrase_(std::move(passphrase)), max_work_factor_(max_work_factor) {}
  absl::StatusOr<SecretBytes> Unwrap(
      absl::Span<const AgeStanza> stanzas) const override;

 private:
  SecretBytes passphrase_;
  int max_work_factor_;
};

// Parses an identity file as the age tool reads one: one
// "AGE-SECRET-KEY-1…" per line, blank lines and lines starting with '#'
// ignored, LF or CRLF. InvalidArgument names the offending line number
// (never its content) when a line is neither.
absl::StatusOr<std::vector<X25519Identity>> ParseIdentityFile(
    absl::Span<const uint8_t> contents);

// Parses a recipients file (age -R): one "age1…" per line, blank and '#'
// lines ignored. InvalidArgument names the line number.
absl::StatusOr<std::vector<X25519Recipient>> ParseRecipientsFile(
    absl::string_view contents);

}  // namespace tvault::crypto

#endif  // TVAULT_CRYPTO_AGE_RECIPIENTS_H_
