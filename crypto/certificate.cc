#include "crypto/certificate.h"

#include <sodium.h>

#include <algorithm>
#include <array>
#include <set>
#include <string>

#include "absl/strings/ascii.h"
#include "absl/strings/match.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/string_view.h"
#include "crypto/secret_bytes.h"
#include "crypto/signed_note.h"

namespace tvault::crypto {
namespace {

using tvault::v1::Certificate;
using tvault::v1::Revocation;
using tvault::v1::Role;
using tvault::v1::ServerBundle;
using tvault::v1::ServerRetired;
using tvault::v1::SignedStatement;

// Valid UTF-8 without control characters (C0, DEL, C1).
bool IsPrintableUtf8(absl::string_view s) {
  size_t i = 0;
  while (i < s.size()) {
    const auto c = static_cast<uint8_t>(s[i]);
    uint32_t cp = 0;
    size_t n = 0;
    if (c < 0x80) {
      cp = c;
      n = 1;
    } else if ((c & 0xe0) == 0xc0) {
      cp = c & 0x1fu;
      n = 2;
    } else if ((c & 0xf0) == 0xe0) {
      cp = c & 0x0fu;
      n = 3;
    } else if ((c & 0xf8) == 0xf0) {
      cp = c & 0x07u;
      n = 4;
    } else {
      return false;
    }
    if (i + n > s.size()) return false;
    for (size_t k = 1; k < n; ++k) {
      const auto cc = static_cast<uint8_t>(s[i + k]);
      if ((cc & 0xc0) != 0x80) return false;
      cp = (cp << 6) | (cc & 0x3fu);
    }
    static constexpr uint32_t kMin[] = {0, 0, 0x80, 0x800, 0x10000};
    if (cp < kMin[n] || cp > 0x10ffff || (cp >= 0xd800 && cp <= 0xdfff)) {
      return false;
    }
    if (cp < 0x20 || (cp >= 0x7f && cp <= 0x9f)) return false;
    i += n;
  }
  return true;
}

bool IsPrintableAsciiWithoutSpace(absl::string_view s) {
  return std::all_of(s.begin(), s.end(),
                     [](char c) { return c > 0x20 && c < 0x7f; });
}

absl::Status CheckReason(absl::string_view reason) {
  if (reason.size() > kMaxReasonSize) {
    return absl::InvalidArgumentError(
        absl::StrCat("reason is ", reason.size(), " bytes; at most ",
                     kMaxReasonSize, " are allowed"));
  }
  if (!IsPrintableUtf8(reason)) {
    return absl::InvalidArgumentError(
        "reason must be printable UTF-8 without control characters");
  }
  return absl::OkStatus();
}

absl::Status CheckVerifierKey(absl::string_view vkey, absl::string_view what) {
  if (vkey.empty() || vkey.size() > kMaxLogVerifierKeySize) {
    return absl::InvalidArgumentError(
        absl::StrCat(what, " must be 1–", kMaxLogVerifierKeySize, " bytes"));
  }
  absl::StatusOr<NoteVerifier> v = NoteVerifier::Parse(vkey);
  if (!v.ok()) {
    return absl::InvalidArgumentError(absl::StrCat(
        what, " is not a signed-note verifier key: ", v.status().message()));
  }
  return absl::OkStatus();
}

absl::Status CheckAddress(absl::string_view address) {
  if (address.empty() || address.size() > kMaxServerAddressSize ||
      !IsPrintableAsciiWithoutSpace(address)) {
    return absl::InvalidArgumentError(
        absl::StrCat("server address must be 1–", kMaxServerAddressSize,
                     " bytes of printable ASCII without spaces (host:port)"));
  }
  const size_t colon = address.rfind(':');
  if (colon == absl::string_view::npos || colon == 0) {
    return absl::InvalidArgumentError(
        "server address must have the form host:port");
  }
  const absl::string_view port = address.substr(colon + 1);
  uint32_t value = 0;
  if (port.empty() || port.size() > 5 || port[0] == '0' ||
      !std::all_of(port.begin(), port.end(), absl::ascii_isdigit) ||
      !absl::SimpleAtoi(port, &value) || value > 65535) {
    return absl::InvalidArgumentError(
        "server address port must be a number from 1 to 65535");
  }
  return absl::OkStatus();
}

bool IsOnionAddress(absl::string_view address) {
  const absl::string_view host = address.substr(0, address.rfind(':'));
  return absl::EndsWithIgnoreCase(host, ".onion");
}

// Signs `body` after `check` accepted it.
template <typename Body>
absl::StatusOr<SignedStatement> CheckAndSign(
    StatementType type, const Body& body, const SigningKey& key,
    absl::Status (*check)(const Body&)) {
  if (absl::Status s = check(body); !s.ok()) return s;
  return SignStatement(type, body, key);
}

template <typename Body>
absl::StatusOr<Body> OpenAndCheck(StatementType type,
                                  const SignedStatement& statement,
                                  absl::Span<const uint8_t> org_pk,
                                  absl::Status (*check)(const Body&)) {
  Body body;
  if (absl::Status s = OpenStatement(type, statement, org_pk, body); !s.ok()) {
    return s;
  }
  if (absl::Status s = check(body); !s.ok()) return s;
  return body;
}

std::string RoleName(Role role) { return tvault::v1::Role_Name(role); }

}  // namespace

absl::Status CheckBoxPublicKey(absl::Span<const uint8_t> box_pk) {
  EnsureSodiumInitialized();
  if (box_pk.size() != crypto_scalarmult_BYTES) {
    return absl::InvalidArgumentError("box key must be 32 bytes (X25519)");
  }
  SecretBytes scalar = SecretBytes::Random(crypto_scalarmult_SCALARBYTES);
  SecretBytes shared(crypto_scalarmult_BYTES);
  if (crypto_scalarmult(shared.data(), scalar.data(), box_pk.data()) != 0) {
    return absl::InvalidArgumentError(
        "box key is a low-order X25519 point: nothing encrypted to it would "
        "be secret; generate a new key");
  }
  return absl::OkStatus();
}

absl::StatusOr<Fingerprint> FingerprintFromBytes(absl::string_view bytes,
                                                 absl::string_view what) {
  if (bytes.size() != kFingerprintSize) {
    return absl::InvalidArgumentError(
        absl::StrCat(what, " must be a ", kFingerprintSize,
                     "-byte fingerprint, got ", bytes.size(), " bytes"));
  }
  Fingerprint fp{};
  std::copy(bytes.begin(), bytes.end(), fp.begin());
  return fp;
}

absl::Status CheckCertificateBody(const Certificate& body) {
  if (body.version() != kCertificateVersion) {
    return absl::InvalidArgumentError(
        absl::StrCat("certificate version ", body.version(),
                     " is not supported (expected ", kCertificateVersion, ")"));
  }
  if (absl::Status s = CheckSignPublicKey(AsBytes(body.sign_pk())); !s.ok()) {
    return absl::InvalidArgumentError(
        absl::StrCat("certificate sign_pk: ", s.message()));
  }
  if (absl::Status s = CheckBoxPublicKey(AsBytes(body.box_pk())); !s.ok()) {
    return absl::InvalidArgumentError(
        absl::StrCat("certificate box_pk: ", s.message()));
  }
  if (body.roles().empty()) {
    return absl::InvalidArgumentError("certificate has no roles");
  }
  std::set<int> seen;
  for (int role : body.roles()) {
    if (role == tvault::v1::ROLE_UNSPECIFIED ||
        !tvault::v1::Role_IsValid(role)) {
      return absl::InvalidArgumentError(
          absl::StrCat("certificate role ", role,
                       " is not a valid role (REVIEWER or CONTRIBUTOR)"));
    }
    if (!seen.insert(role).second) {
      return absl::InvalidArgumentError(
          absl::StrCat("certificate lists role ",
                       RoleName(static_cast<Role>(role)), " twice"));
    }
  }
  if (body.handle().empty() || body.handle().size() > kMaxHandleSize ||
      !IsPrintableUtf8(body.handle())) {
    return absl::InvalidArgumentError(
        absl::StrCat("certificate handle must be 1–", kMaxHandleSize,
                     " bytes of printable UTF-8 without control characters"));
  }
  if (body.not_before() >= body.not_after()) {
    return absl::InvalidArgumentError(
        "certificate not_before must be earlier than not_after");
  }
  // not_before < not_after, so the difference is positive; compute it in
  // unsigned arithmetic to avoid overflow on extreme values.
  const uint64_t lifetime = static_cast<uint64_t>(body.not_after()) -
                            static_cast<uint64_t>(body.not_before());
  if (lifetime > static_cast<uint64_t>(kMaxCertificateLifetime)) {
    return absl::InvalidArgumentError(absl::StrCat(
        "certificate lifetime is ", lifetime / kSecondsPerDay,
        " days; at most 366 days are allowed — issue a shorter certificate "
        "and renew it"));
  }
  return absl::OkStatus();
}

absl::StatusOr<SignedStatement> IssueCertificate(const Certificate& body,
                                                 const SigningKey& org_root) {
  return CheckAndSign(StatementType::kCert, body, org_root,
                      &CheckCertificateBody);
}

absl::StatusOr<VerifiedCertificate> VerifyCertificate(
    const SignedStatement& statement, absl::Span<const uint8_t> org_pk) {
  absl::StatusOr<Certificate> body = OpenAndCheck(
      StatementType::kCert, statement, org_pk, &CheckCertificateBody);
  if (!body.ok()) {
    return absl::Status(
        body.status().code(),
        absl::StrCat("certificate refused: ", body.status().message()));
  }
  VerifiedCertificate out;
  out.body = *std::move(body);
  out.fingerprint =
      ComputeFingerprint(FingerprintType::kCert, AsBytes(statement.body()));
  out.statement = statement;
  return out;
}

absl::Status CheckCertificateValidFor(
    const VerifiedCertificate& cert, Role role, int64_t at_time,
    absl::Span<const Revocation> revocations) {
  // The fingerprint, not the handle: these messages may reach server logs.
  const std::string who =
      absl::StrCat("certificate ", FormatFingerprint(cert.fingerprint));
  if (role == tvault::v1::ROLE_UNSPECIFIED) {
    return absl::InvalidArgumentError(
        "CheckCertificateValidFor needs a role (REVIEWER or CONTRIBUTOR)");
  }
  if (at_time < cert.body.not_before()) {
    return absl::PermissionDeniedError(
        absl::StrCat(who, " is not yet valid at ", at_time, " (valid from ",
                     cert.body.not_before(), ")"));
  }
  if (at_time >= cert.body.not_after()) {
    return absl::PermissionDeniedError(
        absl::StrCat(who, " expired at ", cert.body.not_after(),
                     " (checked at ", at_time, "); ask for a renewed one"));
  }
  const absl::string_view fp(
      reinterpret_cast<const char*>(cert.fingerprint.data()),
      cert.fingerprint.size());
  for (const Revocation& r : revocations) {
    if (r.cert_fingerprint() == fp && r.revoked_at() <= at_time) {
      return absl::PermissionDeniedError(
          absl::StrCat(who, " was revoked at ", r.revoked_at(), " (checked at ",
                       at_time, "): ", r.reason()));
    }
  }
  if (std::find(cert.body.roles().begin(), cert.body.roles().end(), role) ==
      cert.body.roles().end()) {
    return absl::PermissionDeniedError(
        absl::StrCat(who, " lacks the role ", RoleName(role)));
  }
  return absl::OkStatus();
}

absl::Status CheckRevocationBody(const Revocation& body) {
  if (body.version() != 1) {
    return absl::InvalidArgumentError(absl::StrCat(
        "revocation version ", body.version(), " is not supported"));
  }
  if (absl::StatusOr<Fingerprint> fp = FingerprintFromBytes(
          body.cert_fingerprint(), "revocation cert_fingerprint");
      !fp.ok()) {
    return fp.status();
  }
  if (absl::Status s = CheckReason(body.reason()); !s.ok()) {
    return absl::InvalidArgumentError(absl::StrCat("revocation ", s.message()));
  }
  return absl::OkStatus();
}

absl::StatusOr<SignedStatement> IssueRevocation(const Revocation& body,
                                                const SigningKey& org_root) {
  return CheckAndSign(StatementType::kRevocation, body, org_root,
                      &CheckRevocationBody);
}

absl::StatusOr<Revocation> VerifyRevocation(const SignedStatement& statement,
                                            absl::Span<const uint8_t> org_pk) {
  return OpenAndCheck(StatementType::kRevocation, statement, org_pk,
                      &CheckRevocationBody);
}

absl::Status CheckServerBundleBody(const ServerBundle& body) {
  if (body.version() != 1) {
    return absl::InvalidArgumentError(absl::StrCat(
        "server bundle version ", body.version(), " is not supported"));
  }
  if (body.addresses().empty() ||
      static_cast<size_t>(body.addresses_size()) > kMaxServerAddresses) {
    return absl::InvalidArgumentError(absl::StrCat(
        "server bundle must list 1–", kMaxServerAddresses, " addresses"));
  }
  bool seen_clearnet = false;
  for (const std::string& a : body.addresses()) {
    if (absl::Status s = CheckAddress(a); !s.ok()) return s;
    if (IsOnionAddress(a)) {
      if (seen_clearnet) {
        return absl::InvalidArgumentError(
            "server bundle lists an onion address after a non-onion one; "
            "onion addresses come first");
      }
    } else {
      seen_clearnet = true;
    }
  }
  if (body.tls_pin().size() != kTlsPinSize) {
    return absl::InvalidArgumentError(
        "server bundle tls_pin must be 32 bytes (SHA-256 of the TLS key)");
  }
  if (body.log_origin().empty() ||
      body.log_origin().size() > kMaxLogOriginSize ||
      !IsPrintableUtf8(body.log_origin())) {
    return absl::InvalidArgumentError(
        absl::StrCat("server bundle log_origin must be 1–", kMaxLogOriginSize,
                     " bytes of printable UTF-8"));
  }
  if (absl::Status s = CheckVerifierKey(body.log_verifier_key(),
                                        "server bundle log_verifier_key");
      !s.ok()) {
    return s;
  }
  if (NoteVerifier::Parse(body.log_verifier_key())->name() !=
      body.log_origin()) {
    return absl::InvalidArgumentError(
        "server bundle log_verifier_key is not named after log_origin");
  }
  return absl::OkStatus();
}

absl::StatusOr<SignedStatement> IssueServerBundle(const ServerBundle& body,
                                                  const SigningKey& org_root) {
  return CheckAndSign(StatementType::kServerBundle, body, org_root,
                      &CheckServerBundleBody);
}

absl::StatusOr<ServerBundle> VerifyServerBundle(
    const SignedStatement& statement, absl::Span<const uint8_t> org_pk) {
  return OpenAndCheck(StatementType::kServerBundle, statement, org_pk,
                      &CheckServerBundleBody);
}

absl::Status CheckServerRetiredBody(const ServerRetired& body) {
  if (body.version() != 1) {
    return absl::InvalidArgumentError(absl::StrCat(
        "server-retired version ", body.version(), " is not supported"));
  }
  if (body.tls_pin().size() != kTlsPinSize) {
    return absl::InvalidArgumentError(
        "server-retired tls_pin must be 32 bytes");
  }
  if (absl::Status s = CheckVerifierKey(body.log_verifier_key(),
                                        "server-retired log_verifier_key");
      !s.ok()) {
    return s;
  }
  if (absl::Status s = CheckReason(body.reason()); !s.ok()) {
    return absl::InvalidArgumentError(
        absl::StrCat("server-retired ", s.message()));
  }
  return absl::OkStatus();
}

absl::StatusOr<SignedStatement> IssueServerRetired(const ServerRetired& body,
                                                   const SigningKey& org_root) {
  return CheckAndSign(StatementType::kServerRetired, body, org_root,
                      &CheckServerRetiredBody);
}

absl::StatusOr<ServerRetired> VerifyServerRetired(
    const SignedStatement& statement, absl::Span<const uint8_t> org_pk) {
  return OpenAndCheck(StatementType::kServerRetired, statement, org_pk,
                      &CheckServerRetiredBody);
}

}  // namespace tvault::crypto
