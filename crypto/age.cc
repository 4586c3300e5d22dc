#include "crypto/age.h"

#include <sodium.h>

#include <optional>

#include "absl/strings/str_cat.h"
#include "crypto/base64.h"
#include "crypto/hkdf.h"

namespace tvault::crypto {
namespace {

SecretBytes PayloadKey(const SecretBytes& file_key,
                       absl::Span<const uint8_t> nonce) {
  SecretBytes key(crypto_aead_chacha20poly1305_ietf_KEYBYTES);
  (void)HkdfSha256(file_key.span(), nonce, "payload", key.span());
  return key;
}

}  // namespace

absl::StatusOr<AgePreparedHeader> AgePreparedHeader::Create(
    absl::Span<const AgeRecipient* const> recipients) {
  if (recipients.empty()) {
    return absl::InvalidArgumentError("no recipients to encrypt to");
  }
  for (const AgeRecipient* r : recipients) {
    if (r->RequiresSoleStanza() && recipients.size() > 1) {
      return absl::InvalidArgumentError(
          "a passphrase cannot be combined with other recipients");
    }
  }
  AgePreparedHeader prepared;
  SecretBytes file_key = SecretBytes::Random(kAgeFileKeySize);
  for (const AgeRecipient* r : recipients) {
    absl::StatusOr<AgeStanza> s = r->Wrap(file_key);
    if (!s.ok()) return s.status();
    prepared.stanzas_.push_back(*std::move(s));
  }
  std::vector<uint8_t>& header = prepared.bytes_;
  header = EncodeAgeHeaderWithoutMac(prepared.stanzas_);
  const std::array<uint8_t, kAgeMacSize> mac =
      ComputeAgeHeaderMac(file_key, header);
  const std::string mac_line =
      absl::StrCat(" ", Base64Encode(mac, Base64Padding::kNone), "\n");
  header.insert(header.end(), mac_line.begin(), mac_line.end());
  std::array<uint8_t, kAgeNonceSize> nonce{};
  randombytes_buf(nonce.data(), nonce.size());
  header.insert(header.end(), nonce.begin(), nonce.end());
  prepared.payload_key_ = PayloadKey(file_key, nonce);
  return prepared;
}

absl::StatusOr<std::unique_ptr<AgeEncryptor>> AgeEncryptor::Create(
    absl::Span<const AgeRecipient* const> recipients, ByteSink& out,
    AgeEncryptOptions options) {
  absl::StatusOr<AgePreparedHeader> prepared =
      AgePreparedHeader::Create(recipients);
  if (!prepared.ok()) return prepared.status();
  return Create(*prepared, out, options);
}

absl::StatusOr<std::unique_ptr<AgeEncryptor>> AgeEncryptor::Create(
    const AgePreparedHeader& prepared, ByteSink& out,
    AgeEncryptOptions options) {
  if (prepared.payload_key_.empty()) {
    return absl::FailedPreconditionError(
        "the prepared age header was moved from");
  }
  auto enc = std::unique_ptr<AgeEncryptor>(new AgeEncryptor());
  ByteSink* sink = &out;
  if (options.armor) {
    enc->armor_ = std::make_unique<ArmorWriter>(out);
    sink = enc->armor_.get();
  }
  if (absl::Status s = sink->Write(prepared.bytes_); !s.ok()) return s;
  enc->pipeline_ =
      StreamPipeline::Create(StreamPipeline::Direction::kEncrypt,
                             prepared.payload_key_, *sink, options.stream);
  return enc;
}

absl::Status AgeEncryptor::Write(absl::Span<const uint8_t> plaintext) {
  return pipeline_->Write(plaintext);
}

absl::Status AgeEncryptor::WriteFrom(ByteSource& plaintext) {
  return pipeline_->WriteFrom(plaintext);
}

absl::Status AgeEncryptor::Finish() {
  if (absl::Status s = pipeline_->Finish(); !s.ok()) return s;
  if (armor_) return armor_->Close();
  return absl::OkStatus();
}

absl::StatusOr<std::unique_ptr<AgeDecryptor>> AgeDecryptor::Open(
    ByteSource& in, AgeDecryptOptions options) {
  auto dec = std::unique_ptr<AgeDecryptor>(new AgeDecryptor());
  dec->options_ = options;
  dec->raw_ = std::make_unique<BufferedSource>(in);
  bool armored = options.armor == ArmorMode::kRequire;
  if (options.armor == ArmorMode::kDetect) {
    absl::StatusOr<absl::Span<const uint8_t>> prefix =
        dec->raw_->Peek(kArmorMaxWhitespace + kArmorBegin.size());
    if (!prefix.ok()) return prefix.status();
    armored = LooksArmored(*prefix);
  }
  dec->body_ = dec->raw_.get();
  if (armored) {
    dec->armor_ = std::make_unique<ArmorReader>(*dec->raw_);
    dec->text_ = std::make_unique<BufferedSource>(*dec->armor_);
    dec->body_ = dec->text_.get();
  }
  absl::StatusOr<AgeHeader> header =
      ReadAgeHeader(*dec->body_, options.max_header_size);
  if (!header.ok()) return header.status();
  dec->header_ = *std::move(header);
  for (const AgeStanza& s : dec->header_.stanzas) {
    if (s.args[0] == "scrypt" && dec->header_.stanzas.size() != 1) {
      return AgeError(AgeErrorKind::kHeader,
                      "malformed age header: a scrypt (passphrase) stanza "
                      "must be the only stanza");
    }
  }
  absl::StatusOr<size_t> n = ReadFull(*dec->body_, absl::MakeSpan(dec->nonce_));
  if (!n.ok()) return n.status();
  if (*n != kAgeNonceSize) {
    return AgeError(AgeErrorKind::kHeader,
                    "the file ends before the payload nonce: it is truncated");
  }
  return dec;
}

bool AgeDecryptor::passphrase_encrypted() const {
  return header_.stanzas.size() == 1 && header_.stanzas[0].args[0] == "scrypt";
}

absl::Status AgeDecryptor::Unlock(
    absl::Span<const AgeIdentity* const> identities) {
  std::optional<SecretBytes> file_key;
  for (const AgeIdentity* id : identities) {
    absl::StatusOr<SecretBytes> key = id->Unwrap(header_.stanzas);
    if (key.ok()) {
      file_key = *std::move(key);
      break;
    }
    if (GetAgeErrorKind(key.status()) != AgeErrorKind::kNoMatch) {
      return key.status();
    }
    if (identities.size() == 1) return key.status();  // keeps its message
  }
  if (!file_key) {
    return AgeError(AgeErrorKind::kNoMatch,
                    "no identity matched any of the file's recipients");
  }
  if (absl::Status s = VerifyAgeHeaderMac(header_, *file_key); !s.ok()) {
    return s;
  }
  payload_key_ = PayloadKey(*file_key, nonce_);
  return absl::OkStatus();
}

absl::Status AgeDecryptor::DecryptTo(ByteSink& out) {
  if (payload_key_.empty()) {
    return absl::FailedPreconditionError("DecryptTo called before Unlock");
  }
  std::unique_ptr<StreamPipeline> pipeline = StreamPipeline::Create(
      StreamPipeline::Direction::kDecrypt, payload_key_, out, options_.stream);
  absl::Status s = pipeline->WriteFrom(*body_);
  if (s.ok()) s = pipeline->Finish();
  plaintext_bytes_ = pipeline->plaintext_bytes();
  return s;
}

}  // namespace tvault::crypto
