#include "crypto/signed_note.h"

#include <sodium.h>

#include <algorithm>
#include <cstring>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "crypto/base64.h"

namespace tvault::crypto {
namespace {

constexpr absl::string_view kSignaturePrefix = "\xE2\x80\x94 ";  // "— "
constexpr absl::string_view kSignerKeyPrefix = "PRIVATE+KEY+";
constexpr size_t kKeyIdSize = 4;
constexpr size_t kEncodedKeySize = 1 + kEd25519PublicKeySize;  // type || key

// Decodes the UTF-8 sequence at s[i] with Go's rules (no overlong forms, no
// surrogates, nothing above U+10FFFF). Returns the code point and sets `len`,
// or returns -1 for an invalid sequence.
int32_t DecodeRune(absl::string_view s, size_t i, size_t& len) {
  const auto byte = [&](size_t k) { return static_cast<uint8_t>(s[i + k]); };
  const auto continuation = [&](size_t k) {
    return i + k < s.size() && (byte(k) & 0xC0) == 0x80;
  };
  const uint8_t b0 = byte(0);
  if (b0 < 0x80) {
    len = 1;
    return b0;
  }
  if (b0 < 0xC2) return -1;  // continuation byte, or overlong 2-byte form
  if (b0 < 0xE0) {
    if (!continuation(1)) return -1;
    len = 2;
    return static_cast<int32_t>((b0 & 0x1Fu) << 6 | (byte(1) & 0x3Fu));
  }
  if (b0 < 0xF0) {
    if (!continuation(1) || !continuation(2)) return -1;
    if (b0 == 0xE0 && byte(1) < 0xA0) return -1;   // overlong
    if (b0 == 0xED && byte(1) >= 0xA0) return -1;  // surrogate
    len = 3;
    return static_cast<int32_t>((b0 & 0x0Fu) << 12 | (byte(1) & 0x3Fu) << 6 |
                                (byte(2) & 0x3Fu));
  }
  if (b0 < 0xF5) {
    if (!continuation(1) || !continuation(2) || !continuation(3)) return -1;
    if (b0 == 0xF0 && byte(1) < 0x90) return -1;   // overlong
    if (b0 == 0xF4 && byte(1) >= 0x90) return -1;  // above U+10FFFF
    len = 4;
    return static_cast<int32_t>((b0 & 0x07u) << 18 | (byte(1) & 0x3Fu) << 12 |
                                (byte(2) & 0x3Fu) << 6 | (byte(3) & 0x3Fu));
  }
  return -1;
}

// Go's unicode.IsSpace: the Unicode White_Space property.
bool IsUnicodeSpace(int32_t c) {
  switch (c) {
    case '\t':
    case '\n':
    case '\v':
    case '\f':
    case '\r':
    case ' ':
    case 0x85:
    case 0xA0:
    case 0x1680:
    case 0x2028:
    case 0x2029:
    case 0x202F:
    case 0x205F:
    case 0x3000:
      return true;
    default:
      return c >= 0x2000 && c <= 0x200A;
  }
}

// Valid UTF-8 and no character below U+0020 other than "\n".
absl::Status CheckNoteCharacters(absl::string_view s, absl::string_view what) {
  for (size_t i = 0, len = 0; i < s.size(); i += len) {
    const int32_t c = DecodeRune(s, i, len);
    if (c < 0)
      return absl::InvalidArgumentError(absl::StrCat(what, " is not UTF-8"));
    if (c < 0x20 && c != '\n') {
      return absl::InvalidArgumentError(
          absl::StrCat(what, " contains a control character"));
    }
  }
  return absl::OkStatus();
}

std::string HexKeyId(uint32_t id) {
  static constexpr char kDigits[] = "0123456789abcdef";
  std::string out(8, '0');
  for (int i = 7; i >= 0; --i) {
    out[static_cast<size_t>(i)] = kDigits[id & 0xF];
    id >>= 4;
  }
  return out;
}

// Exactly 8 lowercase hex digits, as the spec's "hex encoding" is written.
bool ParseHexKeyId(absl::string_view hex, uint32_t& id) {
  if (hex.size() != 2 * kKeyIdSize) return false;
  id = 0;
  for (char c : hex) {
    uint32_t digit;
    if (c >= '0' && c <= '9') {
      digit = static_cast<uint32_t>(c - '0');
    } else if (c >= 'a' && c <= 'f') {
      digit = static_cast<uint32_t>(c - 'a' + 10);
    } else {
      return false;
    }
    id = id << 4 | digit;
  }
  return true;
}

uint32_t ReadBigEndian32(const uint8_t* p) {
  return uint32_t{p[0]} << 24 | uint32_t{p[1]} << 16 | uint32_t{p[2]} << 8 |
         uint32_t{p[3]};
}

// Splits "<name>+<hex id>+<rest>"; the rest (base64) may itself hold '+'.
bool SplitKeyString(absl::string_view s, absl::string_view& name,
                    absl::string_view& hex, absl::string_view& rest) {
  const size_t first = s.find('+');
  if (first == absl::string_view::npos) return false;
  const size_t second = s.find('+', first + 1);
  if (second == absl::string_view::npos) return false;
  name = s.substr(0, first);
  hex = s.substr(first + 1, second - first - 1);
  rest = s.substr(second + 1);
  return true;
}

const unsigned char* Bytes(absl::string_view s) {
  return reinterpret_cast<const unsigned char*>(s.data());
}

}  // namespace

bool IsValidNoteKeyName(absl::string_view name) {
  if (name.empty()) return false;
  for (size_t i = 0, len = 0; i < name.size(); i += len) {
    const int32_t c = DecodeRune(name, i, len);
    if (c < 0x20 || c == '+' || IsUnicodeSpace(c)) return false;  // -1 too
  }
  return true;
}

absl::Status ValidateNoteText(absl::string_view text) {
  if (text.empty()) return absl::InvalidArgumentError("note text is empty");
  if (text.size() > kMaxNoteSize) {
    return absl::InvalidArgumentError(
        absl::StrCat("note text is larger than ", kMaxNoteSize, " bytes"));
  }
  if (text.back() != '\n') {
    return absl::InvalidArgumentError("note text does not end in a newline");
  }
  return CheckNoteCharacters(text, "note text");
}

uint32_t NoteEd25519KeyId(
    absl::string_view name,
    const std::array<uint8_t, kEd25519PublicKeySize>& public_key) {
  EnsureSodiumInitialized();
  const uint8_t separator[2] = {'\n', kNoteSignatureTypeEd25519};
  crypto_hash_sha256_state state;
  crypto_hash_sha256_init(&state);
  crypto_hash_sha256_update(&state, Bytes(name), name.size());
  crypto_hash_sha256_update(&state, separator, sizeof(separator));
  crypto_hash_sha256_update(&state, public_key.data(), public_key.size());
  uint8_t digest[crypto_hash_sha256_BYTES];
  crypto_hash_sha256_final(&state, digest);
  return ReadBigEndian32(digest);
}

// ---------------------------------------------------------------------------
// NoteVerifier

absl::StatusOr<NoteVerifier> NoteVerifier::FromEd25519PublicKey(
    absl::string_view name, absl::Span<const uint8_t> public_key) {
  if (!IsValidNoteKeyName(name)) {
    return absl::InvalidArgumentError("invalid note key name");
  }
  if (public_key.size() != kEd25519PublicKeySize) {
    return absl::InvalidArgumentError(
        absl::StrCat("an Ed25519 public key is ", kEd25519PublicKeySize,
                     " bytes, not ", public_key.size()));
  }
  NoteVerifier v;
  v.name_ = std::string(name);
  std::copy(public_key.begin(), public_key.end(), v.public_key_.begin());
  v.key_id_ = NoteEd25519KeyId(name, v.public_key_);
  return v;
}

absl::StatusOr<NoteVerifier> NoteVerifier::Parse(absl::string_view vkey) {
  absl::string_view name, hex, key64;
  if (!SplitKeyString(vkey, name, hex, key64)) {
    return absl::InvalidArgumentError(
        "verifier key is not <name>+<key id>+<key>");
  }
  uint32_t key_id = 0;
  if (!ParseHexKeyId(hex, key_id)) {
    return absl::InvalidArgumentError(
        "verifier key id is not 8 lowercase hex digits");
  }
  absl::StatusOr<std::vector<uint8_t>> key =
      Base64Decode(key64, Base64Padding::kPadded);
  if (!key.ok()) {
    return absl::InvalidArgumentError(
        "verifier key material is not canonical base64");
  }
  if (key->empty() || (*key)[0] != kNoteSignatureTypeEd25519) {
    return absl::InvalidArgumentError(
        "verifier key is not an Ed25519 (type 0x01) key");
  }
  if (key->size() != kEncodedKeySize) {
    return absl::InvalidArgumentError(
        "verifier key: an Ed25519 public key is 32 bytes");
  }
  absl::StatusOr<NoteVerifier> v =
      FromEd25519PublicKey(name, absl::MakeConstSpan(*key).subspan(1));
  if (!v.ok()) return v.status();
  if (v->key_id() != key_id) {
    return absl::InvalidArgumentError(absl::StrCat(
        "verifier key id ", hex, " does not match its name and key (",
        HexKeyId(v->key_id()), ")"));
  }
  return v;
}

std::string NoteVerifier::Encode() const {
  uint8_t key[kEncodedKeySize];
  key[0] = kNoteSignatureTypeEd25519;
  std::copy(public_key_.begin(), public_key_.end(), key + 1);
  return absl::StrCat(name_, "+", HexKeyId(key_id_), "+",
                      Base64Encode(key, Base64Padding::kPadded));
}

bool NoteVerifier::Verify(absl::string_view text,
                          absl::Span<const uint8_t> signature) const {
  EnsureSodiumInitialized();
  return signature.size() == kEd25519SignatureSize &&
         crypto_sign_verify_detached(signature.data(), Bytes(text), text.size(),
                                     public_key_.data()) == 0;
}

// ---------------------------------------------------------------------------
// NoteSigner

absl::StatusOr<NoteSigner> NoteSigner::Generate(absl::string_view name) {
  SecretBytes seed = SecretBytes::Random(kEd25519SeedSize);
  return FromEd25519Seed(name, seed.span());
}

absl::StatusOr<NoteSigner> NoteSigner::FromEd25519Seed(
    absl::string_view name, absl::Span<const uint8_t> seed) {
  if (seed.size() != kEd25519SeedSize) {
    return absl::InvalidArgumentError(
        absl::StrCat("an Ed25519 seed is ", kEd25519SeedSize, " bytes"));
  }
  EnsureSodiumInitialized();
  std::array<uint8_t, kEd25519PublicKeySize> public_key;
  SecretBytes secret_key(crypto_sign_SECRETKEYBYTES);
  crypto_sign_seed_keypair(public_key.data(), secret_key.data(), seed.data());
  absl::StatusOr<NoteVerifier> verifier =
      NoteVerifier::FromEd25519PublicKey(name, public_key);
  if (!verifier.ok()) return verifier.status();
  return NoteSigner(*std::move(verifier), std::move(secret_key));
}

absl::StatusOr<NoteSigner> NoteSigner::Parse(absl::Span<const uint8_t> skey) {
  absl::string_view s(reinterpret_cast<const char*>(skey.data()), skey.size());
  if (!absl::StartsWith(s, kSignerKeyPrefix)) {
    return absl::InvalidArgumentError(
        "signer key does not start with PRIVATE+KEY+");
  }
  s.remove_prefix(kSignerKeyPrefix.size());
  absl::string_view name, hex, key64;
  if (!SplitKeyString(s, name, hex, key64)) {
    return absl::InvalidArgumentError(
        "signer key is not PRIVATE+KEY+<name>+<key id>+<key>");
  }
  uint32_t key_id = 0;
  if (!ParseHexKeyId(hex, key_id)) {
    return absl::InvalidArgumentError(
        "signer key id is not 8 lowercase hex digits");
  }
  if (key64.size() !=
      Base64EncodedLength(kEncodedKeySize, Base64Padding::kPadded)) {
    return absl::InvalidArgumentError(
        "signer key material is not a type byte and a 32-byte seed");
  }
  SecretBytes key(Base64MaxDecodedLength(key64.size()));
  absl::StatusOr<size_t> decoded =
      Base64DecodeTo(key64, Base64Padding::kPadded, key.span());
  if (!decoded.ok()) {
    return absl::InvalidArgumentError(
        "signer key material is not canonical base64");
  }
  if (*decoded != kEncodedKeySize) {
    return absl::InvalidArgumentError(
        "signer key material is not a type byte and a 32-byte seed");
  }
  if (key.data()[0] != kNoteSignatureTypeEd25519) {
    return absl::InvalidArgumentError(
        "signer key is not an Ed25519 (type 0x01) key");
  }
  absl::StatusOr<NoteSigner> signer =
      FromEd25519Seed(name, key.span().subspan(1, kEd25519SeedSize));
  if (!signer.ok()) return signer.status();
  if (signer->key_id() != key_id) {
    return absl::InvalidArgumentError(
        "signer key id does not match its name and key");
  }
  return signer;
}

SecretBytes NoteSigner::Encode() const {
  const std::string prefix =
      absl::StrCat(kSignerKeyPrefix, name(), "+", HexKeyId(key_id()), "+");
  SecretBytes key(kEncodedKeySize);
  key.data()[0] = kNoteSignatureTypeEd25519;
  crypto_sign_ed25519_sk_to_seed(key.data() + 1, secret_key_.data());
  const size_t encoded_size =
      Base64EncodedLength(kEncodedKeySize, Base64Padding::kPadded);
  // sodium_bin2base64 writes a terminating NUL, removed by Truncate.
  SecretBytes out(prefix.size() + encoded_size + 1);
  std::memcpy(out.data(), prefix.data(), prefix.size());
  sodium_bin2base64(reinterpret_cast<char*>(out.data() + prefix.size()),
                    encoded_size + 1, key.data(), key.size(),
                    sodium_base64_VARIANT_ORIGINAL);
  out.Truncate(prefix.size() + encoded_size);
  return out;
}

std::array<uint8_t, kEd25519SignatureSize> NoteSigner::Sign(
    absl::string_view text) const {
  std::array<uint8_t, kEd25519SignatureSize> signature;
  crypto_sign_detached(signature.data(), nullptr, Bytes(text), text.size(),
                       secret_key_.data());
  return signature;
}

// ---------------------------------------------------------------------------
// Notes

absl::StatusOr<std::string> SignNote(absl::string_view text,
                                     const NoteSigner& signer) {
  if (absl::Status s = ValidateNoteText(text); !s.ok()) return s;
  const std::array<uint8_t, kEd25519SignatureSize> signature =
      signer.Sign(text);
  uint8_t line[kKeyIdSize + kEd25519SignatureSize];
  const uint32_t id = signer.key_id();
  for (size_t i = 0; i < kKeyIdSize; ++i) {
    line[i] = static_cast<uint8_t>(id >> (24 - 8 * i));
  }
  std::copy(signature.begin(), signature.end(), line + kKeyIdSize);
  std::string note =
      absl::StrCat(text, "\n", kSignaturePrefix, signer.name(), " ",
                   Base64Encode(line, Base64Padding::kPadded), "\n");
  if (note.size() > kMaxNoteSize) {
    return absl::InvalidArgumentError(absl::StrCat(
        "signed note would be larger than ", kMaxNoteSize, " bytes"));
  }
  return note;
}

absl::StatusOr<OpenedNote> OpenNote(absl::string_view note,
                                    absl::Span<const NoteVerifier> verifiers) {
  if (note.size() > kMaxNoteSize) {
    return absl::InvalidArgumentError(
        absl::StrCat("note is larger than ", kMaxNoteSize, " bytes"));
  }
  if (absl::Status s = CheckNoteCharacters(note, "note"); !s.ok()) return s;
  for (size_t i = 0; i < verifiers.size(); ++i) {
    for (size_t j = i + 1; j < verifiers.size(); ++j) {
      if (verifiers[i].name() == verifiers[j].name() &&
          verifiers[i].key_id() == verifiers[j].key_id() &&
          verifiers[i].public_key() != verifiers[j].public_key()) {
        return absl::InvalidArgumentError(absl::StrCat(
            "ambiguous verifier list: two keys named ", verifiers[i].name(),
            "+", HexKeyId(verifiers[i].key_id())));
      }
    }
  }

  // The text ends at the last blank line; the signature lines follow it.
  const size_t split = note.rfind("\n\n");
  if (split == absl::string_view::npos) {
    return absl::InvalidArgumentError(
        "note has no blank line before its signatures");
  }
  const absl::string_view text = note.substr(0, split + 1);
  absl::string_view lines = note.substr(split + 2);
  if (lines.empty()) {
    return absl::InvalidArgumentError("note has no signature lines");
  }
  if (lines.back() != '\n') {
    return absl::InvalidArgumentError("note does not end in a newline");
  }

  std::vector<NoteSignature> signatures;
  while (!lines.empty()) {
    const size_t end = lines.find('\n');  // found: lines ends in '\n'
    absl::string_view line = lines.substr(0, end);
    lines.remove_prefix(end + 1);
    if (signatures.size() == kMaxNoteSignatures) {
      return absl::InvalidArgumentError(absl::StrCat(
          "note has more than ", kMaxNoteSignatures, " signatures"));
    }
    if (!absl::StartsWith(line, kSignaturePrefix)) {
      return absl::InvalidArgumentError(
          "signature line does not start with an em dash and a space");
    }
    line.remove_prefix(kSignaturePrefix.size());
    const size_t space = line.find(' ');
    if (space == absl::string_view::npos) {
      return absl::InvalidArgumentError(
          "signature line has no space after the key name");
    }
    const absl::string_view name = line.substr(0, space);
    if (!IsValidNoteKeyName(name)) {
      return absl::InvalidArgumentError(
          "signature line has an invalid key name");
    }
    absl::StatusOr<std::vector<uint8_t>> decoded =
        Base64Decode(line.substr(space + 1), Base64Padding::kPadded);
    if (!decoded.ok()) {
      return absl::InvalidArgumentError("signature is not canonical base64");
    }
    if (decoded->size() <= kKeyIdSize) {
      return absl::InvalidArgumentError(
          "signature is too short to hold a key id and a signature");
    }
    NoteSignature sig;
    sig.key_name = std::string(name);
    sig.key_id = ReadBigEndian32(decoded->data());
    sig.signature.assign(decoded->begin() + kKeyIdSize, decoded->end());
    signatures.push_back(std::move(sig));
  }

  OpenedNote opened;
  opened.text = std::string(text);
  for (NoteSignature& sig : signatures) {
    const auto known = std::find_if(
        verifiers.begin(), verifiers.end(), [&](const NoteVerifier& v) {
          return v.name() == sig.key_name && v.key_id() == sig.key_id;
        });
    if (known == verifiers.end()) {
      // Unknown keys are ignored, even when they share the name or the id
      // (but not both) of a known key.
      if (std::find(opened.unknown.begin(), opened.unknown.end(), sig) ==
          opened.unknown.end()) {
        opened.unknown.push_back(std::move(sig));
      }
      continue;
    }
    if (!known->Verify(text, sig.signature)) {
      return absl::DataLossError(
          absl::StrCat("signature by known key ", sig.key_name, "+",
                       HexKeyId(sig.key_id), " does not verify"));
    }
    const bool already = std::any_of(
        opened.verified.begin(), opened.verified.end(),
        [&](const NoteSignature& v) {
          return v.key_name == sig.key_name && v.key_id == sig.key_id;
        });
    if (!already) opened.verified.push_back(std::move(sig));
  }
  if (opened.verified.empty()) {
    return absl::PermissionDeniedError("note is not signed by any known key");
  }
  return opened;
}

}  // namespace tvault::crypto
