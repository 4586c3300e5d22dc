#include "crypto/case_descriptor.h"

#include <sodium.h>

#include <algorithm>
#include <set>
#include <string>

#include "absl/strings/str_cat.h"
#include "absl/strings/string_view.h"
#include "crypto/secret_bytes.h"

namespace tvault::crypto {
namespace {

using tvault::v1::CaseDescriptor;
using tvault::v1::SignedStatement;
using Fingerprints = google::protobuf::RepeatedPtrField<std::string>;

absl::string_view FpView(const Fingerprint& fp) {
  return {reinterpret_cast<const char*>(fp.data()), fp.size()};
}

absl::string_view HashView(const Sha256& h) {
  return {reinterpret_cast<const char*>(h.data()), h.size()};
}

bool Contains(const Fingerprints& list, const Fingerprint& fp) {
  return std::find(list.begin(), list.end(), FpView(fp)) != list.end();
}

absl::Status CheckFingerprintList(const Fingerprints& list,
                                  absl::string_view name) {
  if (static_cast<size_t>(list.size()) > kMaxDescriptorListSize) {
    return absl::InvalidArgumentError(
        absl::StrCat("descriptor ", name, " lists ", list.size(),
                     " fingerprints; at most ", kMaxDescriptorListSize));
  }
  std::set<std::string> seen;
  for (const std::string& fp : list) {
    if (fp.size() != kFingerprintSize) {
      return absl::InvalidArgumentError(
          absl::StrCat("descriptor ", name, " holds an entry of ", fp.size(),
                       " bytes; certificate fingerprints are 16 bytes"));
    }
    if (!seen.insert(fp).second) {
      return absl::InvalidArgumentError(
          absl::StrCat("descriptor ", name, " lists a fingerprint twice"));
    }
  }
  return absl::OkStatus();
}

void SetList(const std::vector<Fingerprint>& in, Fingerprints* out) {
  out->Clear();
  for (const Fingerprint& fp : in) out->Add(std::string(FpView(fp)));
}

// Checks that `key` is `cert`'s key and that `cert` is in `owners`.
absl::Status CheckSigner(const VerifiedCertificate& cert, const SigningKey& key,
                         const Fingerprints& owners, absl::string_view whose) {
  if (AsString(key.public_key()) != cert.body.sign_pk()) {
    return absl::PermissionDeniedError(
        "the signing key is not the key of the signer's certificate");
  }
  if (!Contains(owners, cert.fingerprint)) {
    return absl::PermissionDeniedError(absl::StrCat(
        "certificate ", FormatFingerprint(cert.fingerprint),
        " is not an owner of ", whose, "; only owners may sign descriptors"));
  }
  return absl::OkStatus();
}

absl::StatusOr<VerifiedDescriptor> SignDescriptor(
    const CaseDescriptor& body, const VerifiedCertificate& signer,
    const SigningKey& key) {
  if (absl::Status s = CheckDescriptorBody(body); !s.ok()) return s;
  VerifiedDescriptor out;
  out.statement = SignStatement(StatementType::kDescriptor, body, key);
  out.body = body;
  out.hash = ComputeSha256(AsBytes(out.statement.body()));
  out.signer = signer.fingerprint;
  return out;
}

// Finds which of `owners` signed `statement`: the fingerprint of the first
// owner certificate (from `lookup`) whose key verifies the signature.
absl::StatusOr<Fingerprint> FindOwnerSigner(const SignedStatement& statement,
                                            const Fingerprints& owners,
                                            const CertificateLookup& lookup,
                                            absl::string_view whose) {
  size_t known = 0;
  for (const std::string& bytes : owners) {
    Fingerprint fp{};
    std::copy(bytes.begin(), bytes.end(), fp.begin());
    const VerifiedCertificate* cert = lookup(fp);
    if (cert == nullptr || cert->fingerprint != fp) continue;
    ++known;
    if (VerifySignature(
            StatementTag(StatementType::kDescriptor), AsBytes(statement.body()),
            AsBytes(statement.signature()), AsBytes(cert->body.sign_pk()))
            .ok()) {
      return fp;
    }
  }
  return absl::PermissionDeniedError(absl::StrCat(
      "descriptor is not signed by any owner of ", whose, " (", known, " of ",
      owners.size(),
      " owner certificates known and accepted); refusing it: it is forged or "
      "signed by someone who is not an owner"));
}

}  // namespace

CaseId NewCaseId() {
  EnsureSodiumInitialized();
  CaseId id{};
  randombytes_buf(id.data(), id.size());
  return id;
}

absl::Status CheckDescriptorBody(const CaseDescriptor& body) {
  if (body.version() != kDescriptorVersion) {
    return absl::InvalidArgumentError(
        absl::StrCat("descriptor version ", body.version(),
                     " is not supported (expected ", kDescriptorVersion, ")"));
  }
  if (body.case_id().size() != kCaseIdSize) {
    return absl::InvalidArgumentError("descriptor case_id must be 16 bytes");
  }
  if (body.prev_descriptor_hash().size() != sizeof(Sha256)) {
    return absl::InvalidArgumentError(
        "descriptor prev_descriptor_hash must be 32 bytes");
  }
  const bool zero_hash = std::all_of(body.prev_descriptor_hash().begin(),
                                     body.prev_descriptor_hash().end(),
                                     [](char c) { return c == 0; });
  if (body.epoch() == 0 && !zero_hash) {
    return absl::InvalidArgumentError(
        "epoch 0 must have an all-zero prev_descriptor_hash");
  }
  if (body.epoch() != 0 && zero_hash) {
    return absl::InvalidArgumentError(absl::StrCat(
        "epoch ", body.epoch(), " must carry the hash of the previous epoch"));
  }
  absl::StatusOr<X25519Recipient> r = X25519Recipient::Parse(body.recipient());
  if (!r.ok()) {
    return absl::InvalidArgumentError(
        absl::StrCat("descriptor recipient: ", r.status().message()));
  }
  if (r->Encode() != body.recipient()) {
    return absl::InvalidArgumentError(
        "descriptor recipient is not in canonical form (lowercase age1…)");
  }
  if (absl::Status s = CheckBoxPublicKey(r->bytes()); !s.ok()) {
    return absl::InvalidArgumentError(
        absl::StrCat("descriptor recipient: ", s.message()));
  }
  if (body.owners().empty()) {
    return absl::InvalidArgumentError("descriptor has no owners");
  }
  if (absl::Status s = CheckFingerprintList(body.owners(), "owners"); !s.ok())
    return s;
  if (absl::Status s = CheckFingerprintList(body.members(), "members"); !s.ok())
    return s;
  if (absl::Status s =
          CheckFingerprintList(body.contributors(), "contributors");
      !s.ok())
    return s;
  if (body.not_after() <= 0) {
    return absl::InvalidArgumentError("descriptor not_after must be set");
  }
  return absl::OkStatus();
}

bool DiffersOnlyInNotAfter(const CaseDescriptor& a, const CaseDescriptor& b) {
  CaseDescriptor a2 = a;
  CaseDescriptor b2 = b;
  a2.clear_not_after();
  b2.clear_not_after();
  // No maps in CaseDescriptor: equal messages serialise equally.
  const std::string sa = a2.SerializeAsString();
  const std::string sb = b2.SerializeAsString();
  return sa == sb;
}

absl::StatusOr<VerifiedDescriptor> CreateGenesisDescriptor(
    const CaseId& case_id, const X25519Recipient& recipient,
    const EpochMembership& membership, int64_t not_after,
    const VerifiedCertificate& creator, const SigningKey& creator_key) {
  CaseDescriptor body;
  body.set_version(kDescriptorVersion);
  body.set_case_id(std::string(AsString(case_id)));
  body.set_epoch(0);
  body.set_prev_descriptor_hash(std::string(sizeof(Sha256), '\0'));
  body.set_recipient(recipient.Encode());
  SetList(membership.owners, body.mutable_owners());
  SetList(membership.members, body.mutable_members());
  SetList(membership.contributors, body.mutable_contributors());
  body.set_not_after(not_after);
  if (absl::Status s =
          CheckSigner(creator, creator_key, body.owners(), "the new case");
      !s.ok()) {
    return s;
  }
  return SignDescriptor(body, creator, creator_key);
}

absl::StatusOr<VerifiedDescriptor> CreateNextEpoch(
    const VerifiedDescriptor& previous, const X25519Recipient& recipient,
    const EpochMembership& membership, int64_t not_after,
    const VerifiedCertificate& signer, const SigningKey& signer_key) {
  if (previous.body.epoch() == UINT32_MAX) {
    return absl::OutOfRangeError("the case has reached the last epoch number");
  }
  if (absl::Status s =
          CheckSigner(signer, signer_key, previous.body.owners(),
                      absl::StrCat("epoch ", previous.body.epoch()));
      !s.ok()) {
    return s;
  }
  CaseDescriptor body;
  body.set_version(kDescriptorVersion);
  body.set_case_id(previous.body.case_id());
  body.set_epoch(previous.body.epoch() + 1);
  body.set_prev_descriptor_hash(std::string(HashView(previous.hash)));
  body.set_recipient(recipient.Encode());
  SetList(membership.owners, body.mutable_owners());
  SetList(membership.members, body.mutable_members());
  SetList(membership.contributors, body.mutable_contributors());
  body.set_not_after(not_after);
  return SignDescriptor(body, signer, signer_key);
}

absl::StatusOr<VerifiedDescriptor> Renew(const VerifiedDescriptor& current,
                                         int64_t new_not_after,
                                         const VerifiedCertificate& signer,
                                         const SigningKey& signer_key) {
  if (new_not_after <= current.body.not_after()) {
    return absl::InvalidArgumentError(absl::StrCat(
        "a renewal must move not_after later than ", current.body.not_after()));
  }
  if (absl::Status s =
          CheckSigner(signer, signer_key, current.body.owners(),
                      absl::StrCat("epoch ", current.body.epoch()));
      !s.ok()) {
    return s;
  }
  CaseDescriptor body = current.body;
  body.set_not_after(new_not_after);
  return SignDescriptor(body, signer, signer_key);
}

absl::StatusOr<CaseChain> CaseChain::Create(
    absl::Span<const uint8_t> genesis_hash) {
  if (genesis_hash.size() != sizeof(Sha256)) {
    return absl::InvalidArgumentError("genesis hash must be 32 bytes");
  }
  Sha256 h{};
  std::copy(genesis_hash.begin(), genesis_hash.end(), h.begin());
  return CaseChain(h);
}

const std::string& CaseChain::case_id() const {
  return epochs_.begin()->second.versions.front().body.case_id();
}

std::optional<uint32_t> CaseChain::highest_epoch() const {
  if (epochs_.empty()) return std::nullopt;
  return epochs_.rbegin()->first;
}

const VerifiedDescriptor* CaseChain::Find(uint32_t epoch) const {
  auto it = epochs_.find(epoch);
  if (it == epochs_.end()) return nullptr;
  return &it->second.versions[it->second.winner];
}

const VerifiedDescriptor* CaseChain::Current() const {
  if (epochs_.empty()) return nullptr;
  const Epoch& e = epochs_.rbegin()->second;
  return &e.versions[e.winner];
}

bool CaseChain::IsOwnerFrom(uint32_t epoch,
                            const Fingerprint& fingerprint) const {
  for (auto it = epochs_.lower_bound(epoch); it != epochs_.end(); ++it) {
    if (Contains(it->second.versions.front().body.owners(), fingerprint)) {
      return true;
    }
  }
  return false;
}

bool CaseChain::IsMemberFrom(uint32_t epoch,
                             const Fingerprint& fingerprint) const {
  for (auto it = epochs_.lower_bound(epoch); it != epochs_.end(); ++it) {
    if (Contains(it->second.versions.front().body.members(), fingerprint)) {
      return true;
    }
  }
  return false;
}

absl::Status CaseChain::Accept(const SignedStatement& statement,
                               const CertificateLookup& lookup) {
  // The body is parsed (strictly) before the signature is checked only to
  // learn which epoch's owners may have signed it; nothing in it is trusted
  // until a signature verifies over the exact bytes received.
  VerifiedDescriptor d;
  if (absl::Status s = ParseStrictly(statement.body(), d.body); !s.ok()) {
    return s;
  }
  if (absl::Status s = CheckDescriptorBody(d.body); !s.ok()) return s;
  d.hash = ComputeSha256(AsBytes(statement.body()));
  d.statement = statement;
  const uint32_t epoch = d.body.epoch();
  const std::string where = absl::StrCat("epoch ", epoch);

  if (epochs_.empty()) {
    if (epoch != 0 || d.hash != genesis_hash_) {
      if (epoch != 0) {
        return absl::FailedPreconditionError(absl::StrCat(
            "descriptor of epoch ", epoch,
            " cannot be checked before the case's genesis (epoch 0)"));
      }
      return absl::PermissionDeniedError(
          "epoch-0 descriptor is not the pinned genesis of this case (hash "
          "differs); refusing it");
    }
    absl::StatusOr<Fingerprint> signer =
        FindOwnerSigner(statement, d.body.owners(), lookup, "the genesis");
    if (!signer.ok()) return signer.status();
    d.signer = *signer;
    epochs_[0].versions.push_back(std::move(d));
    return absl::OkStatus();
  }

  if (d.body.case_id() != case_id()) {
    return absl::FailedPreconditionError(
        "descriptor belongs to a different case");
  }
  const uint32_t highest = *highest_epoch();

  // A copy of a version already held changes nothing.
  if (auto it = epochs_.find(epoch); it != epochs_.end()) {
    for (const VerifiedDescriptor& v : it->second.versions) {
      if (v.statement.body() == statement.body()) {
        if (v.statement.signature() == statement.signature()) {
          return absl::OkStatus();
        }
      }
    }
  }
  if (epoch < highest) {
    return absl::FailedPreconditionError(absl::StrCat(
        "descriptor of epoch ", epoch, " is lower than the highest seen (",
        highest, "); refusing it: the server may be rolling the case back"));
  }
  if (epoch > highest + 1 || (highest == UINT32_MAX && epoch != highest)) {
    return absl::FailedPreconditionError(
        absl::StrCat("descriptor of epoch ", epoch, " skips epoch ",
                     highest + 1, ": fetch the missing epochs first"));
  }

  if (epoch == highest) {
    Epoch& e = epochs_[epoch];
    const VerifiedDescriptor& held = e.versions[e.winner];
    if (DiffersOnlyInNotAfter(d.body, held.body)) {
      // A renewal: signed by an owner of this epoch.
      absl::StatusOr<Fingerprint> signer =
          FindOwnerSigner(statement, held.body.owners(), lookup, where);
      if (!signer.ok()) return signer.status();
      d.signer = *signer;
      const bool later = d.body.not_after() > held.body.not_after();
      e.versions.push_back(std::move(d));  // invalidates `held`
      if (later) e.winner = e.versions.size() - 1;
      return absl::OkStatus();
    }
    // Another version: evidence only if signed as a first version must be.
    const Fingerprints& signers =
        epoch == 0 ? e.versions.front().body.owners()
                   : epochs_.at(epoch - 1).versions.front().body.owners();
    absl::StatusOr<Fingerprint> signer =
        FindOwnerSigner(statement, signers, lookup,
                        epoch == 0 ? std::string("the genesis")
                                   : absl::StrCat("epoch ", epoch - 1));
    if (!signer.ok()) return signer.status();
    d.signer = *signer;
    const std::string signed_by = FormatFingerprint(d.signer);
    equivocations_.push_back(Equivocation{held, std::move(d)});
    return absl::AlreadyExistsError(absl::StrCat(
        "EQUIVOCATION: two different descriptors for epoch ", epoch,
        " of this case, both validly signed (the second by ", signed_by,
        "). Both are kept as evidence; do not add records or members to "
        "this case until its owners explain"));
  }

  // epoch == highest + 1: linked to a version of the previous epoch, signed
  // by one of its owners.
  const Epoch& prev = epochs_.at(highest);
  const bool linked =
      std::any_of(prev.versions.begin(), prev.versions.end(),
                  [&](const VerifiedDescriptor& v) {
                    return HashView(v.hash) == d.body.prev_descriptor_hash();
                  });
  if (!linked) {
    return absl::FailedPreconditionError(absl::StrCat(
        "descriptor of epoch ", epoch, " does not carry the hash of epoch ",
        highest, " (wrong prev_descriptor_hash); refusing it"));
  }
  absl::StatusOr<Fingerprint> signer =
      FindOwnerSigner(statement, prev.versions.front().body.owners(), lookup,
                      absl::StrCat("epoch ", highest));
  if (!signer.ok()) return signer.status();
  d.signer = *signer;
  epochs_[epoch].versions.push_back(std::move(d));
  return absl::OkStatus();
}

}  // namespace tvault::crypto
