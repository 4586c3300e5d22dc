#include "crypto/age_recipients.h"

#include <sodium.h>

#include <charconv>

#include "absl/functional/function_ref.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/string_view.h"
#include "crypto/age_error.h"
#include "crypto/base64.h"
#include "crypto/bech32.h"
#include "crypto/hkdf.h"

namespace tvault::crypto {
namespace {

constexpr absl::string_view kX25519Label = "age-encryption.org/v1/X25519";
constexpr absl::string_view kScryptLabel = "age-encryption.org/v1/scrypt";
constexpr size_t kWrappedKeySize =
    kAgeFileKeySize + crypto_aead_chacha20poly1305_ietf_ABYTES;
constexpr size_t kScryptSaltSize = 16;

// body = ChaCha20-Poly1305(wrap_key, nonce = 0^12, file_key)
std::vector<uint8_t> WrapFileKey(const SecretBytes& wrap_key,
                                 const SecretBytes& file_key) {
  std::vector<uint8_t> body(kWrappedKeySize);
  static constexpr std::array<uint8_t, 12> kZeroNonce{};
  unsigned long long len = 0;
  crypto_aead_chacha20poly1305_ietf_encrypt(
      body.data(), &len, file_key.data(), file_key.size(), nullptr, 0, nullptr,
      kZeroNonce.data(), wrap_key.data());
  return body;
}

// Returns the file key, or nullopt if the body does not authenticate.
std::optional<SecretBytes> UnwrapFileKey(const SecretBytes& wrap_key,
                                         absl::Span<const uint8_t> body) {
  static constexpr std::array<uint8_t, 12> kZeroNonce{};
  SecretBytes file_key(kAgeFileKeySize);
  unsigned long long len = 0;
  if (crypto_aead_chacha20poly1305_ietf_decrypt(
          file_key.data(), &len, nullptr, body.data(), body.size(), nullptr, 0,
          kZeroNonce.data(), wrap_key.data()) != 0) {
    return std::nullopt;
  }
  return file_key;
}

absl::Status StanzaError(absl::string_view type, absl::string_view what) {
  return AgeError(
      AgeErrorKind::kHeader,
      absl::StrCat("malformed age header: ", type, " stanza ", what));
}

absl::Status NoMatch() {
  return AgeError(AgeErrorKind::kNoMatch,
                  "no identity matched any of the file's recipients");
}

// Decodes an argument that must be canonical base64 of exactly `size` bytes.
bool DecodeExact(absl::string_view arg, absl::Span<uint8_t> out) {
  absl::StatusOr<size_t> n = Base64DecodeTo(arg, Base64Padding::kNone, out);
  return n.ok() && *n == out.size() &&
         arg.size() == Base64EncodedLength(out.size(), Base64Padding::kNone);
}

SecretBytes X25519WrapKey(absl::Span<const uint8_t> shared,
                          absl::Span<const uint8_t> share,
                          absl::Span<const uint8_t> recipient) {
  std::array<uint8_t, 2 * kX25519KeySize> salt{};
  std::copy(share.begin(), share.end(), salt.begin());
  std::copy(recipient.begin(), recipient.end(), salt.begin() + kX25519KeySize);
  SecretBytes wrap_key(crypto_aead_chacha20poly1305_ietf_KEYBYTES);
  (void)HkdfSha256(shared, salt, kX25519Label, wrap_key.span());
  return wrap_key;
}

absl::StatusOr<SecretBytes> ScryptWrapKey(const SecretBytes& passphrase,
                                          absl::Span<const uint8_t> salt,
                                          int work_factor) {
  std::vector<uint8_t> full_salt(kScryptLabel.begin(), kScryptLabel.end());
  full_salt.insert(full_salt.end(), salt.begin(), salt.end());
  SecretBytes wrap_key(crypto_aead_chacha20poly1305_ietf_KEYBYTES);
  if (crypto_pwhash_scryptsalsa208sha256_ll(
          passphrase.data(), passphrase.size(), full_salt.data(),
          full_salt.size(), uint64_t{1} << work_factor, 8, 1, wrap_key.data(),
          wrap_key.size()) != 0) {
    return absl::ResourceExhaustedError(
        "scrypt failed: not enough memory for the work factor");
  }
  return wrap_key;
}

}  // namespace

absl::StatusOr<X25519Recipient> X25519Recipient::Parse(
    absl::string_view encoded) {
  for (char c : encoded) {
    if (c >= 'A' && c <= 'Z') {
      return absl::InvalidArgumentError("recipient must be lowercase (age1…)");
    }
  }
  absl::StatusOr<SecretBytes> bytes = Bech32DecodeBytes(encoded, "age");
  if (!bytes.ok()) {
    return absl::InvalidArgumentError(
        absl::StrCat("not a valid age recipient (expected age1…): ",
                     bytes.status().message()));
  }
  if (bytes->size() != kX25519KeySize) {
    return absl::InvalidArgumentError("age recipient has the wrong length");
  }
  std::array<uint8_t, kX25519KeySize> pk{};
  std::copy_n(bytes->data(), pk.size(), pk.begin());
  return X25519Recipient(pk);
}

std::string X25519Recipient::Encode() const {
  return Bech32EncodeString("age", pk_, /*uppercase=*/false);
}

absl::StatusOr<AgeStanza> X25519Recipient::Wrap(
    const SecretBytes& file_key) const {
  SecretBytes ephemeral = SecretBytes::Random(crypto_scalarmult_SCALARBYTES);
  std::array<uint8_t, kX25519KeySize> share{};
  crypto_scalarmult_base(share.data(), ephemeral.data());
  SecretBytes shared(crypto_scalarmult_BYTES);
  if (crypto_scalarmult(shared.data(), ephemeral.data(), pk_.data()) != 0) {
    // The recipient is a low-order point: every file key wrapped to it would
    // be readable by anyone.
    return absl::InvalidArgumentError(
        "age recipient is a low-order point and cannot be encrypted to");
  }
  AgeStanza stanza;
  stanza.args = {"X25519", Base64Encode(share, Base64Padding::kNone)};
  stanza.body = WrapFileKey(X25519WrapKey(shared.span(), share, pk_), file_key);
  return stanza;
}

X25519Identity X25519Identity::Generate() {
  return FromSecret(SecretBytes::Random(crypto_scalarmult_SCALARBYTES));
}

X25519Identity X25519Identity::FromSecret(SecretBytes secret) {
  std::array<uint8_t, kX25519KeySize> pk{};
  crypto_scalarmult_base(pk.data(), secret.data());
  return X25519Identity(std::move(secret), X25519Recipient::FromBytes(pk));
}

absl::StatusOr<X25519Identity> X25519Identity::Parse(
    absl::string_view encoded) {
  for (char c : encoded) {
    if (c >= 'a' && c <= 'z') {
      return absl::InvalidArgumentError(
          "identity must be uppercase (AGE-SECRET-KEY-1…)");
    }
  }
  absl::StatusOr<SecretBytes> bytes =
      Bech32DecodeBytes(encoded, "AGE-SECRET-KEY-");
  if (!bytes.ok()) {
    return absl::InvalidArgumentError(
        absl::StrCat("not a valid age identity: ", bytes.status().message()));
  }
  if (bytes->size() != crypto_scalarmult_SCALARBYTES) {
    return absl::InvalidArgumentError("age identity has the wrong length");
  }
  return FromSecret(*std::move(bytes));
}

SecretBytes X25519Identity::Encode() const {
  return Bech32Encode("age-secret-key-", secret_.span(), /*uppercase=*/true);
}

absl::StatusOr<SecretBytes> X25519Identity::Unwrap(
    absl::Span<const AgeStanza> stanzas) const {
  // Check every X25519 stanza's syntax first, so that the result does not
  // depend on stanza order.
  for (const AgeStanza& s : stanzas) {
    if (s.args[0] != "X25519") continue;
    if (s.args.size() != 2)
      return StanzaError("X25519", "must have one argument");
    std::array<uint8_t, kX25519KeySize> share{};
    if (!DecodeExact(s.args[1], absl::MakeSpan(share))) {
      return StanzaError("X25519", "share is not 32 bytes of canonical base64");
    }
    if (s.body.size() != kWrappedKeySize) {
      return StanzaError("X25519", "body is not 32 bytes");
    }
  }
  for (const AgeStanza& s : stanzas) {
    if (s.args[0] != "X25519") continue;
    std::array<uint8_t, kX25519KeySize> share{};
    (void)DecodeExact(s.args[1], absl::MakeSpan(share));
    SecretBytes shared(crypto_scalarmult_BYTES);
    if (crypto_scalarmult(shared.data(), secret_.data(), share.data()) != 0) {
      return AgeError(AgeErrorKind::kHeader,
                      "malformed age header: X25519 share is a low-order "
                      "point (all-zero shared secret)");
    }
    SecretBytes wrap_key =
        X25519WrapKey(shared.span(), share, recipient_.bytes());
    if (std::optional<SecretBytes> key = UnwrapFileKey(wrap_key, s.body)) {
      return *std::move(key);
    }
  }
  return NoMatch();
}

absl::StatusOr<AgeStanza> ScryptRecipient::Wrap(
    const SecretBytes& file_key) const {
  if (work_factor_ < 1 || work_factor_ > kScryptMaxWorkFactor) {
    return absl::InvalidArgumentError("scrypt work factor out of range");
  }
  std::array<uint8_t, kScryptSaltSize> salt{};
  randombytes_buf(salt.data(), salt.size());
  absl::StatusOr<SecretBytes> wrap_key =
      ScryptWrapKey(passphrase_, salt, work_factor_);
  if (!wrap_key.ok()) return wrap_key.status();
  AgeStanza stanza;
  stanza.args = {"scrypt", Base64Encode(salt, Base64Padding::kNone),
                 std::to_string(work_factor_)};
  stanza.body = WrapFileKey(*wrap_key, file_key);
  return stanza;
}

absl::StatusOr<SecretBytes> ScryptIdentity::Unwrap(
    absl::Span<const AgeStanza> stanzas) const {
  for (const AgeStanza& s : stanzas) {
    if (s.args[0] != "scrypt") continue;
    if (stanzas.size() != 1) {
      return StanzaError("scrypt", "must be the only stanza in the file");
    }
    if (s.args.size() != 3)
      return StanzaError("scrypt", "must have two arguments");
    std::array<uint8_t, kScryptSaltSize> salt{};
    if (!DecodeExact(s.args[1], absl::MakeSpan(salt))) {
      return StanzaError("scrypt", "salt is not 16 bytes of canonical base64");
    }
    // %x31-39 *DIGIT, no sign, no leading zero.
    const std::string& wf = s.args[2];
    int work_factor = 0;
    const bool digits_only =
        !wf.empty() && wf[0] >= '1' && wf[0] <= '9' &&
        wf.find_first_not_of("0123456789") == std::string::npos;
    auto [end, ec] =
        std::from_chars(wf.data(), wf.data() + wf.size(), work_factor);
    if (!digits_only || ec != std::errc() || end != wf.data() + wf.size()) {
      return StanzaError("scrypt", "work factor is not a decimal number");
    }
    if (work_factor > max_work_factor_) {
      return AgeError(
          AgeErrorKind::kHeader,
          absl::StrCat("scrypt work factor ", work_factor,
                       " is above the limit of ", max_work_factor_,
                       " (the file would take too long or too much memory "
                       "to open)"));
    }
    if (s.body.size() != kWrappedKeySize) {
      return StanzaError("scrypt", "body is not 32 bytes");
    }
    absl::StatusOr<SecretBytes> wrap_key =
        ScryptWrapKey(passphrase_, salt, work_factor);
    if (!wrap_key.ok()) return wrap_key.status();
    if (std::optional<SecretBytes> key = UnwrapFileKey(*wrap_key, s.body)) {
      return *std::move(key);
    }
    return AgeError(AgeErrorKind::kNoMatch,
                    "wrong passphrase (or the file was modified)");
  }
  return NoMatch();
}

namespace {

// Calls `fn(line_no, line)` for each line of a key file that is neither
// blank nor a '#' comment (LF or CRLF endings), stopping at its first error.
absl::Status ForEachKeyLine(
    absl::string_view text,
    absl::FunctionRef<absl::Status(int, absl::string_view)> fn) {
  for (int line_no = 1; !text.empty(); ++line_no) {
    const size_t lf = text.find('\n');
    absl::string_view line = text.substr(0, lf);
    text.remove_prefix(lf == absl::string_view::npos ? text.size() : lf + 1);
    if (!line.empty() && line.back() == '\r') line.remove_suffix(1);
    if (line.empty() || line[0] == '#') continue;
    if (absl::Status s = fn(line_no, line); !s.ok()) return s;
  }
  return absl::OkStatus();
}

}  // namespace

absl::StatusOr<std::vector<X25519Identity>> ParseIdentityFile(
    absl::Span<const uint8_t> contents) {
  std::vector<X25519Identity> out;
  absl::Status s = ForEachKeyLine(
      absl::string_view(reinterpret_cast<const char*>(contents.data()),
                        contents.size()),
      [&](int line_no, absl::string_view line) {
        absl::StatusOr<X25519Identity> id = X25519Identity::Parse(line);
        if (!id.ok()) {
          // The line itself may be a mistyped secret: never echo it.
          return absl::InvalidArgumentError(
              absl::StrCat("identity file line ", line_no,
                           " is not an AGE-SECRET-KEY-1… identity"));
        }
        out.push_back(*std::move(id));
        return absl::OkStatus();
      });
  if (!s.ok()) return s;
  if (out.empty()) {
    return absl::InvalidArgumentError("identity file contains no identities");
  }
  return out;
}

absl::StatusOr<std::vector<X25519Recipient>> ParseRecipientsFile(
    absl::string_view contents) {
  std::vector<X25519Recipient> out;
  absl::Status s =
      ForEachKeyLine(contents, [&](int line_no, absl::string_view line) {
        absl::StatusOr<X25519Recipient> r = X25519Recipient::Parse(line);
        if (!r.ok()) {
          return absl::InvalidArgumentError(absl::StrCat(
              "recipients file line ", line_no, ": ", r.status().message()));
        }
        out.push_back(*r);
        return absl::OkStatus();
      });
  if (!s.ok()) return s;
  if (out.empty()) {
    return absl::InvalidArgumentError("recipients file contains no recipients");
  }
  return out;
}

}  // namespace tvault::crypto
