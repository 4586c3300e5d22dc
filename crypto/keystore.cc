#include "crypto/keystore.h"

#include <sodium.h>

#include <algorithm>
#include <cstring>
#include <string>

#include "absl/status/status.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/string_view.h"

namespace tvault::crypto {
namespace {

constexpr size_t kOpslimitOffset = kKeystoreMagicSize;
constexpr size_t kMemlimitOffset = kOpslimitOffset + 8;
constexpr size_t kSaltOffset = kMemlimitOffset + 8;
constexpr size_t kNonceOffset = kSaltOffset + kKeystoreSaltSize;
constexpr size_t kKeySize = 32;

static_assert(kNonceOffset + kKeystoreNonceSize == kKeystoreHeaderSize);
static_assert(sizeof(kKeystoreMagic) == kKeystoreMagicSize + 1);
static_assert(kKeystoreSaltSize == crypto_pwhash_argon2id_SALTBYTES);
static_assert(kKeystoreNonceSize ==
              crypto_aead_xchacha20poly1305_ietf_NPUBBYTES);
static_assert(kKeystoreTagSize == crypto_aead_xchacha20poly1305_ietf_ABYTES);
static_assert(kKeySize == crypto_aead_xchacha20poly1305_ietf_KEYBYTES);
// crypto_pwhash takes the memlimit as size_t.
static_assert(kMaxKeystoreMemlimit <= SIZE_MAX);
static_assert(KeystoreStrength::kOrgRoot.opslimit() <= kMaxKeystoreOpslimit &&
              KeystoreStrength::kOrgRoot.memlimit_bytes() <=
                  kMaxKeystoreMemlimit);

// libsodium's own lower limits for Argon2id.
constexpr uint64_t kMinOpslimit = crypto_pwhash_argon2id_OPSLIMIT_MIN;
constexpr uint64_t kMinMemlimit = crypto_pwhash_argon2id_MEMLIMIT_MIN;

void PutU64(uint64_t v, uint8_t* out) {
  for (int i = 7; i >= 0; --i) {
    out[i] = static_cast<uint8_t>(v & 0xff);
    v >>= 8;
  }
}

uint64_t GetU64(const uint8_t* in) {
  uint64_t v = 0;
  for (int i = 0; i < 8; ++i) v = (v << 8) | in[i];
  return v;
}

std::string DescribeCost(uint64_t opslimit, uint64_t memlimit) {
  // memlimit is a multiple of 1024 by the time this is called.
  if (memlimit % (uint64_t{1} << 20) == 0) {
    return absl::StrCat("Argon2id ", opslimit, " passes, ", memlimit >> 20,
                        " MiB");
  }
  return absl::StrCat("Argon2id ", opslimit, " passes, ", memlimit >> 10,
                      " KiB");
}

// Range checks shared by sealing and opening: what libsodium can run, in
// one canonical encoding, within the bounds that stop a hostile file.
absl::Status CheckCostInRange(uint64_t opslimit, uint64_t memlimit) {
  if (opslimit < kMinOpslimit || memlimit < kMinMemlimit ||
      memlimit % 1024 != 0) {
    return absl::InvalidArgumentError(
        absl::StrCat("keystore Argon2id parameters are malformed (opslimit ",
                     opslimit, ", memlimit ", memlimit,
                     " bytes; need at least 1 pass and 8 KiB, in whole KiB)"));
  }
  if (opslimit > kMaxKeystoreOpslimit || memlimit > kMaxKeystoreMemlimit) {
    return absl::InvalidArgumentError(absl::StrCat(
        "keystore asks for ", DescribeCost(opslimit, memlimit),
        ", above the limit of ", kMaxKeystoreOpslimit, " passes and ",
        kMaxKeystoreMemlimit >> 20,
        " MiB; refusing to run it (the file is damaged or hostile)"));
  }
  return absl::OkStatus();
}

absl::StatusOr<SecretBytes> DeriveKey(const SecretBytes& passphrase,
                                      const uint8_t* salt, uint64_t opslimit,
                                      uint64_t memlimit) {
  static const char kEmpty[1] = {0};
  const char* pw = passphrase.empty()
                       ? kEmpty
                       : reinterpret_cast<const char*>(passphrase.data());
  SecretBytes key(kKeySize);
  if (crypto_pwhash(key.data(), key.size(), pw, passphrase.size(), salt,
                    opslimit, static_cast<size_t>(memlimit),
                    crypto_pwhash_ALG_ARGON2ID13) != 0) {
    return absl::ResourceExhaustedError(absl::StrCat(
        "Argon2id could not run (", DescribeCost(opslimit, memlimit),
        ") for the keystore key; free some memory and try again"));
  }
  return key;
}

}  // namespace

absl::StatusOr<std::vector<uint8_t>> SealKeystore(const SecretBytes& payload,
                                                  const SecretBytes& passphrase,
                                                  KeystoreStrength strength) {
  if (payload.empty()) {
    return absl::InvalidArgumentError("the keystore payload is empty");
  }
  if (payload.size() > kMaxKeystorePayload) {
    return absl::InvalidArgumentError(
        absl::StrCat("the keystore payload is ", payload.size(),
                     " bytes; at most ", kMaxKeystorePayload, " are allowed"));
  }
  if (passphrase.empty()) {
    return absl::InvalidArgumentError("the keystore passphrase is empty");
  }
  if (passphrase.size() > crypto_pwhash_PASSWD_MAX) {
    return absl::InvalidArgumentError("the keystore passphrase is too long");
  }
  const uint64_t opslimit = strength.opslimit();
  const uint64_t memlimit = strength.memlimit_bytes();
  if (absl::Status s = CheckCostInRange(opslimit, memlimit); !s.ok()) return s;
  EnsureSodiumInitialized();

  std::vector<uint8_t> file(kKeystoreHeaderSize + payload.size() +
                            kKeystoreTagSize);
  std::memcpy(file.data(), kKeystoreMagic, kKeystoreMagicSize);
  PutU64(opslimit, file.data() + kOpslimitOffset);
  PutU64(memlimit, file.data() + kMemlimitOffset);
  randombytes_buf(file.data() + kSaltOffset, kKeystoreSaltSize);
  randombytes_buf(file.data() + kNonceOffset, kKeystoreNonceSize);

  absl::StatusOr<SecretBytes> key =
      DeriveKey(passphrase, file.data() + kSaltOffset, opslimit, memlimit);
  if (!key.ok()) return key.status();

  unsigned long long written = 0;  // NOLINT(runtime/int): libsodium's type
  crypto_aead_xchacha20poly1305_ietf_encrypt(
      file.data() + kKeystoreHeaderSize, &written, payload.data(),
      payload.size(), file.data(), kKeystoreHeaderSize, nullptr,
      file.data() + kNonceOffset, key->data());
  if (written != payload.size() + kKeystoreTagSize) {
    return absl::InternalError("keystore encryption wrote an unexpected size");
  }
  return file;
}

absl::StatusOr<SecretBytes> OpenKeystore(absl::Span<const uint8_t> file,
                                         const SecretBytes& passphrase,
                                         KeystoreStrength minimum) {
  if (file.empty()) {
    return absl::InvalidArgumentError("the keystore file is empty");
  }
  // Judge the magic on the bytes present, so that a cut-off keystore is
  // reported as truncated rather than as some other kind of file.
  const size_t present = std::min(file.size(), kKeystoreMagicSize);
  constexpr size_t kFamilySize = 4;  // "TVKS"
  if (std::memcmp(file.data(), kKeystoreMagic,
                  std::min(present, kFamilySize)) != 0) {
    return absl::InvalidArgumentError(
        "not a Testimony Vault keystore (the file does not start with "
        "\"TVKS\")");
  }
  if (std::memcmp(file.data(), kKeystoreMagic, present) != 0) {
    return absl::InvalidArgumentError(
        "unsupported keystore version (this client reads \"TVKS1\" "
        "keystores); a newer client may be needed");
  }
  if (file.size() < kKeystoreHeaderSize + kKeystoreTagSize + 1) {
    return absl::InvalidArgumentError(absl::StrCat(
        "the keystore file is truncated (", file.size(), " bytes; at least ",
        kKeystoreHeaderSize + kKeystoreTagSize + 1, " needed)"));
  }
  if (passphrase.size() > crypto_pwhash_PASSWD_MAX) {
    return absl::InvalidArgumentError("the keystore passphrase is too long");
  }
  const size_t payload_size =
      file.size() - kKeystoreHeaderSize - kKeystoreTagSize;
  if (payload_size > kMaxKeystorePayload) {
    return absl::InvalidArgumentError(absl::StrCat(
        "the keystore file is too large (", file.size(), " bytes)"));
  }

  const uint64_t opslimit = GetU64(file.data() + kOpslimitOffset);
  const uint64_t memlimit = GetU64(file.data() + kMemlimitOffset);
  if (absl::Status s = CheckCostInRange(opslimit, memlimit); !s.ok()) return s;
  if (opslimit < minimum.opslimit() || memlimit < minimum.memlimit_bytes()) {
    return absl::FailedPreconditionError(
        absl::StrCat("this keystore uses weaker protection than required (",
                     DescribeCost(opslimit, memlimit), "; at least ",
                     DescribeCost(minimum.opslimit(), minimum.memlimit_bytes()),
                     " required); it may have been tampered with"));
  }

  EnsureSodiumInitialized();
  absl::StatusOr<SecretBytes> key =
      DeriveKey(passphrase, file.data() + kSaltOffset, opslimit, memlimit);
  if (!key.ok()) return key.status();

  SecretBytes payload(payload_size);
  unsigned long long opened = 0;  // NOLINT(runtime/int): libsodium's type
  if (crypto_aead_xchacha20poly1305_ietf_decrypt(
          payload.data(), &opened, nullptr, file.data() + kKeystoreHeaderSize,
          payload_size + kKeystoreTagSize, file.data(), kKeystoreHeaderSize,
          file.data() + kNonceOffset, key->data()) != 0 ||
      opened != payload_size) {
    return absl::PermissionDeniedError(
        "wrong passphrase, or the keystore file is damaged");
  }
  return payload;
}

}  // namespace tvault::crypto
