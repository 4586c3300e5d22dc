// age v1 file encryption (C2SP age), built on libsodium.
//
// AgeEncryptor: Create → Write/WriteFrom … → Finish (mandatory: without it
// the output has no final chunk and every reader rejects it).
// AgePreparedHeader: the keys and header of one file, drawn once, for a
// caller that must encrypt the same plaintext twice to identical bytes.
// AgeDecryptor: Open (reads the header, no keys needed) → Unlock (finds the
// file key, checks the header MAC) → DecryptTo (streams verified plaintext).
//
// What is protected: confidentiality and integrity of the plaintext against
// anyone without an identity; the header cannot be altered without the file
// key. What is not: who made the file (any holder of a recipient can), the
// plaintext length (visible to ±16 bytes per 64 KiB), and, with several
// recipients, each recipient can re-encrypt a different file to the others.
//
// Memory stays bounded whatever the file size. Not thread-safe: one thread
// uses an encryptor or decryptor at a time (they run their own workers).
#ifndef TVAULT_CRYPTO_AGE_H_
#define TVAULT_CRYPTO_AGE_H_

#include <memory>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/types/span.h"
#include "crypto/age_armor.h"
#include "crypto/age_error.h"
#include "crypto/age_header.h"
#include "crypto/age_recipients.h"
#include "crypto/age_stream.h"
#include "crypto/io.h"

namespace tvault::crypto {

struct AgeEncryptOptions {
  bool armor = false;
  StreamOptions stream;
};

// The header, nonce and payload key of one age file, drawn once. Every
// encryptor started from it writes byte-identical output for identical
// plaintext (and options), so a caller can encrypt a file once to hash it
// and again to send it, storing neither ciphertext nor plaintext.
//
// Never encrypt two different plaintexts with one: they would share a
// keystream, and whoever holds both ciphertexts learns the XOR of the
// plaintexts. Drop it as soon as the last pass has started.
//
// Move-only. The payload key is in SecretBytes; the file key is not kept
// (it is only needed to wrap and to MAC the header, both done by Create).
class AgePreparedHeader {
 public:
  // Draws a fresh file key and nonce and wraps the key for `recipients`.
  // InvalidArgument if there are no recipients, or a passphrase recipient is
  // mixed with others.
  static absl::StatusOr<AgePreparedHeader> Create(
      absl::Span<const AgeRecipient* const> recipients);

  AgePreparedHeader(AgePreparedHeader&&) = default;
  AgePreparedHeader& operator=(AgePreparedHeader&&) = default;
  AgePreparedHeader(const AgePreparedHeader&) = delete;
  AgePreparedHeader& operator=(const AgePreparedHeader&) = delete;

  // The recipient stanzas, as every reader of the file sees them.
  const std::vector<AgeStanza>& stanzas() const { return stanzas_; }

 private:
  friend class AgeEncryptor;
  AgePreparedHeader() = default;

  std::vector<AgeStanza> stanzas_;
  std::vector<uint8_t> bytes_;  // header, MAC line and payload nonce
  SecretBytes payload_key_;     // empty once moved from
};

class AgeEncryptor {
 public:
  // Draws a fresh file key, writes the header for `recipients` to `out`:
  // AgePreparedHeader::Create, then Create from it. InvalidArgument if
  // there are no recipients, or a passphrase recipient is mixed with
  // others. `out` must outlive the encryptor.
  static absl::StatusOr<std::unique_ptr<AgeEncryptor>> Create(
      absl::Span<const AgeRecipient* const> recipients, ByteSink& out,
      AgeEncryptOptions options = {});
  // Writes `prepared`'s header to `out` and encrypts under its key (see
  // AgePreparedHeader for the one rule). The encryptor copies what it
  // needs: `prepared` may be dropped once this returns. FailedPrecondition
  // for a moved-from `prepared`. `out` must outlive the encryptor.
  static absl::StatusOr<std::unique_ptr<AgeEncryptor>> Create(
      const AgePreparedHeader& prepared, ByteSink& out,
      AgeEncryptOptions options = {});

  absl::Status Write(absl::Span<const uint8_t> plaintext);
  absl::Status WriteFrom(ByteSource& plaintext);
  // Writes the final chunk (and the armor's END line).
  absl::Status Finish();
  uint64_t plaintext_bytes() const { return pipeline_->plaintext_bytes(); }

 private:
  AgeEncryptor() = default;
  std::unique_ptr<ArmorWriter> armor_;
  std::unique_ptr<StreamPipeline> pipeline_;
};

enum class ArmorMode {
  kDetect,   // as the age tool: armor if the input starts with its BEGIN line
  kRequire,  // the input must be armored
  kForbid,   // binary only (the record profile)
};

struct AgeDecryptOptions {
  ArmorMode armor = ArmorMode::kDetect;
  size_t max_header_size = kAgeMaxHeaderSize;
  StreamOptions stream;
};

class AgeDecryptor {
 public:
  // Reads and parses the header and the payload nonce from `in`, which must
  // outlive the decryptor. Errors: kArmor, kHeader (including a scrypt
  // stanza that is not alone, and a missing or short nonce).
  static absl::StatusOr<std::unique_ptr<AgeDecryptor>> Open(
      ByteSource& in, AgeDecryptOptions options = {});

  const AgeHeader& header() const { return header_; }
  bool armored() const { return armor_ != nullptr; }
  // True if the file is encrypted to a passphrase (its one stanza is scrypt).
  bool passphrase_encrypted() const;

  // Tries each identity in order. kNoMatch if none unwraps the file key,
  // kHeader if a stanza is malformed, kHmac if the header was altered.
  absl::Status Unlock(absl::Span<const AgeIdentity* const> identities);

  // Decrypts the payload into `out`, releasing each chunk only after it
  // verified. On error, what was written is a verified prefix of the
  // plaintext, and the whole must be treated as invalid. Requires Unlock.
  absl::Status DecryptTo(ByteSink& out);
  uint64_t plaintext_bytes() const { return plaintext_bytes_; }

 private:
  AgeDecryptor() = default;

  AgeDecryptOptions options_;
  std::unique_ptr<BufferedSource> raw_;
  std::unique_ptr<ArmorReader> armor_;
  std::unique_ptr<BufferedSource> text_;  // over armor_ when armored
  BufferedSource* body_ = nullptr;        // raw_ or text_
  AgeHeader header_;
  std::array<uint8_t, kAgeNonceSize> nonce_{};
  SecretBytes payload_key_;
  uint64_t plaintext_bytes_ = 0;
};

}  // namespace tvault::crypto

#endif  // TVAULT_CRYPTO_AGE_H_
