// Seeds of fuzz_statement, fuzz_invite and fuzz_log_entry (make_seeds.h).
#include <sodium.h>

#include <string>
#include <vector>

#include "crypto/case_descriptor.h"
#include "crypto/certificate.h"
#include "crypto/checkpoint.h"
#include "crypto/invite.h"
#include "crypto/merkle.h"
#include "crypto/signed_note.h"
#include "crypto/statement.h"
#include "proto/vault.pb.h"
#include "tests/fuzz/fuzz_check.h"
#include "tests/fuzz/fuzz_world.h"
#include "tests/fuzz/make_seeds.h"
#include "tests/fuzz/statement_kinds.h"

namespace tvault::fuzz::seeds {
namespace {

using crypto::AsBytes;
using crypto::StatementType;
using tvault::v1::SignedStatement;

void Statement(const std::string& name, StatementKind kind,
               const SignedStatement& st, const std::string& rest = "") {
  Put("statement", name,
      std::string(1, static_cast<char>(kind)) + Field(Bytes(st)) + rest);
  // The same body, signed by the harness.
  Put("statement", name + "-resign",
      std::string(1, static_cast<char>(kind | kSignBody)) + Field(st.body()) +
          rest);
}

}  // namespace

void StatementSeeds() {
  const World& w = World::Get();
  Statement("cert-owner", kCertificate, w.owner.cert.statement);
  Statement("cert-contributor", kCertificate, w.contributor.cert.statement);
  Statement("revocation", kRevocation, OutsiderRevocation());
  Statement("bundle", kServerBundle, w.bundle);
  tvault::v1::ServerRetired retired;
  retired.set_version(1);
  retired.set_tls_pin(Str(w.tls_pin));
  retired.set_log_verifier_key(w.log_signer.verifier().Encode());
  retired.set_retired_at(kNow);
  retired.set_reason("the server was seized");
  Statement("retired", kServerRetired,
            Must(crypto::IssueServerRetired(retired, w.root)));

  Statement("descriptor-genesis-again", kDescriptor, w.genesis.statement);
  Statement("descriptor-epoch1", kDescriptor, Epoch1Descriptor().statement);
  Statement("descriptor-renewal", kDescriptor,
            Must(crypto::Renew(w.genesis, kNow + 40 * kDay, w.owner.cert,
                               w.owner.sign))
                .statement);
  Statement("genesis", kGenesis, w.genesis.statement);
  Statement("grant", kGrant, w.grant.statement, Str(w.grant.ciphertext));
  Statement("invite-statement", kInviteStatement, w.invite.statement);
  Statement("delete", kDelete, DeleteWorldRecord());
  Statement("auth", kAuth, AuthBy(w.owner.sign));
  Put("statement", "bodies-cert",
      std::string(1, static_cast<char>(kBodiesOnly)) +
          Field(w.owner.cert.statement.body()));
  Put("statement", "bodies-descriptor",
      std::string(1, static_cast<char>(kBodiesOnly)) +
          Field(w.genesis.statement.body()));
}

void InviteSeeds() {
  const World& w = World::Get();
  const std::string text(crypto::AsString(w.invite.text.span()));
  Put("invite", "string", std::string("\0\0", 2) + text);
  Put("invite", "string-later", std::string("\0\x08", 2) + text);
  Put("invite", "string-expired", std::string("\0\x0d", 2) + text);
  Put("invite", "string-padded", std::string("\0\0", 2) + text + "=");
  Put("invite", "prefix-only",
      std::string("\0\0", 2) + std::string(crypto::kInvitePrefix));
  const crypto::ParsedInvite parsed =
      Must(crypto::ParseInvite(w.invite.text.span(), kNow));
  tvault::v1::Invite invite;
  invite.set_version(crypto::kInviteVersion);
  *invite.mutable_server_bundle() = parsed.server_bundle_statement;
  invite.set_case_id(Str(parsed.case_id));
  invite.set_epoch(parsed.epoch);
  invite.set_recipient(parsed.recipient.Encode());
  invite.set_genesis_hash(Str(parsed.genesis_hash));
  invite.set_seed(Str(parsed.seed.span()));
  invite.set_expires(parsed.expires);
  Put("invite", "message", std::string("\1\0", 2) + Bytes(invite));
  Put("invite", "create-default", std::string("\2\0\1", 3) + U32(0));
  Put("invite", "create-one-day", std::string("\2\0\3", 3) + U32(kDay));
  Put("invite", "create-too-long", std::string("\2\0\1", 3) + U32(8 * kDay));
}

void LogSeeds() {
  const World& w = World::Get();
  std::vector<tvault::v1::LogEntry> entries(9);
  for (tvault::v1::LogEntry& e : entries) {
    e.set_version(1);
    e.set_logged_at(kNow);
  }
  const std::string fp = Str(w.owner.cert.fingerprint);
  const std::string case_id = Str(w.case_id);
  const std::string hash(32, '\x33');
  entries[0].mutable_certificate_registered()->set_cert_fingerprint(fp);
  auto* revoked = entries[1].mutable_certificate_revoked();
  revoked->set_cert_fingerprint(fp);
  revoked->set_revoked_at(kNow);
  revoked->set_revocation_sha256(hash);
  auto* published = entries[2].mutable_descriptor_published();
  published->set_case_id(case_id);
  published->set_descriptor_hash(Str(w.genesis.hash));
  auto* grant = entries[3].mutable_grant_added();
  grant->set_case_id(case_id);
  grant->set_member_cert_fingerprint(fp);
  grant->set_grant_sha256(hash);
  auto* invite = entries[4].mutable_invite_created();
  invite->set_case_id(case_id);
  invite->set_invite_pk(Str(w.invite_key.public_key()));
  invite->set_expires(kNow + 3 * kDay);
  invite->set_uses(1);
  auto* invite_revoked = entries[5].mutable_invite_revoked();
  invite_revoked->set_case_id(case_id);
  invite_revoked->set_invite_pk(Str(w.invite_key.public_key()));
  auto* record = entries[6].mutable_record_added();
  record->set_record_id(Str(w.record_id));
  record->set_case_id(case_id);
  record->set_ciphertext_sha256(hash);
  record->set_ciphertext_size(w.record_ciphertext.size());
  auto* requested = entries[7].mutable_deletion_requested();
  requested->set_case_id(case_id);
  requested->set_record_id(Str(w.record_id));
  requested->set_request_sha256(hash);
  requested->set_delete_after(kNow + 30 * kDay);
  auto* done = entries[8].mutable_deletion_done();
  done->set_case_id(case_id);
  done->set_record_id(Str(w.record_id));
  done->set_request_sha256(hash);

  std::vector<crypto::Hash> leaves;
  std::string all_data;
  for (size_t i = 0; i < entries.size(); ++i) {
    const std::string bytes = Bytes(entries[i]);
    Put("log_entry", "entry-" + std::to_string(i),
        std::string(1, '\0') + bytes);
    leaves.push_back(crypto::LeafHash(AsBytes(bytes)));
    all_data += bytes;
  }
  const auto text_of = [&](size_t size) {
    return Must(crypto::FormatCheckpoint(
        {.origin = kLogOrigin,
         .tree_size = size,
         .root_hash = crypto::RootFromLeafHashes(
             absl::MakeConstSpan(leaves).subspan(0, size)),
         .extensions = {}}));
  };
  const std::string text = text_of(leaves.size());
  const std::string note = Must(crypto::SignNote(text, w.log_signer));
  const crypto::NoteSigner witness = Must(crypto::NoteSigner::FromEd25519Seed(
      "witness.fuzz.example", FixedSecret(8).span()));
  const std::string cosigned =
      note + Must(crypto::SignNote(text, witness)).substr(text.size() + 1);
  Put("log_entry", "note", "\1" + note);
  Put("log_entry", "note-cosigned", "\1" + cosigned);
  Put("log_entry", "text", "\2" + text);
  Put("log_entry", "text-extension", "\2" + text + "an extension\n");
  Put("log_entry", "checkpoint", "\3" + text);
  Put("log_entry", "checkpoint-empty-tree", "\3" + text_of(0));
  Put("log_entry", "key-verifier", "\4" + w.log_signer.verifier().Encode());
  Put("log_entry", "key-signer",
      "\4" + std::string(crypto::AsString(witness.Encode().span())));

  const auto receipt = [&](size_t index, const std::string& checkpoint) {
    tvault::v1::Receipt r;
    r.set_checkpoint(checkpoint);
    r.set_index(index);
    r.set_entry(Bytes(entries[index]));
    for (const crypto::Hash& h : Must(crypto::InclusionProof(leaves, index))) {
      r.add_inclusion(Str(h));
    }
    return Bytes(r);
  };
  const std::string none = Field("") + Field("");
  Put("log_entry", "receipt",
      "\5" + std::string(1, '\0') + none + receipt(6, note));
  Put("log_entry", "receipt-text",
      "\5" + std::string(1, '\1') + none + receipt(3, text));
  std::string proof;
  for (const crypto::Hash& h : Must(crypto::ConsistencyProof(leaves, 5))) {
    proof += Str(h);
  }
  Put("log_entry", "receipt-after-earlier",
      "\5" + std::string(1, '\3') + Field(text_of(5)) + Field(proof) +
          receipt(8, text));
  Put("log_entry", "merkle", "\6\x09\x03\x04" + all_data);
  Put("log_entry", "merkle-one-leaf", std::string("\6\0\0\0", 4) + "leaf");
}

}  // namespace tvault::fuzz::seeds
