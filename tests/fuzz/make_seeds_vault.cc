// Seeds of fuzz_vault_dispatch (make_seeds.h): one or a few calls each, in
// the format of vault_calls.h, against the template vault of
// vault_fixture.h.
#include <string>
#include <vector>

#include "crypto/case_descriptor.h"
#include "crypto/certificate.h"
#include "crypto/grant.h"
#include "crypto/statement.h"
#include "proto/vault.pb.h"
#include "tests/fuzz/fuzz_check.h"
#include "tests/fuzz/fuzz_world.h"
#include "tests/fuzz/make_seeds.h"
#include "tests/fuzz/vault_calls.h"
#include "tests/fuzz/vault_fixture.h"

namespace tvault::fuzz::seeds {
namespace {

using crypto::StatementType;

uint8_t Flags(Caller caller, int resign = 0, uint8_t extra = 0) {
  return static_cast<uint8_t>(static_cast<int>(caller) |
                              resign << kResignShift | extra);
}

std::string One(Call call, uint8_t flags, const std::string& payload = "") {
  return std::string(1, static_cast<char>(call)) +
         std::string(1, static_cast<char>(flags)) + Field(payload);
}
std::string One(Call call, uint8_t flags,
                const google::protobuf::Message& request) {
  return One(call, flags, Bytes(request));
}

std::string Varint(uint64_t v) {
  std::string out;
  while (v >= 0x80) {
    out.push_back(static_cast<char>(v | 0x80));
    v >>= 7;
  }
  out.push_back(static_cast<char>(v));
  return out;
}

// An upload stream: a start, then data messages.
std::string Stream(const tvault::v1::UploadStart& start,
                   const std::vector<std::string>& data) {
  tvault::v1::UploadRequest first;
  *first.mutable_start() = start;
  std::string out = Varint(Bytes(first).size()) + Bytes(first);
  for (const std::string& d : data) {
    tvault::v1::UploadRequest m;
    m.set_data(d);
    out += Varint(Bytes(m).size()) + Bytes(m);
  }
  return out;
}

tvault::v1::UploadStart Start(uint8_t id_tag, uint32_t epoch,
                              const std::string& whole, uint64_t offset) {
  const World& w = World::Get();
  tvault::v1::UploadStart s;
  s.set_case_id(Str(w.case_id));
  std::string id(16, static_cast<char>(id_tag));
  if (id_tag == 0) id = Str(w.record_id);
  if (id_tag == 1) id = Str(VaultFixture::Get().pending_record_id);
  s.set_record_id(id);
  s.set_epoch(epoch);
  s.set_total_size(whole.size());
  s.set_sha256(Str(crypto::ComputeSha256(crypto::AsBytes(whole))));
  s.set_offset(offset);
  return s;
}

}  // namespace

void VaultSeeds() {
  const World& w = World::Get();
  const VaultFixture& vault = VaultFixture::Get();
  const uint8_t fresh = Flags(Caller::kNone, 1, kFreshNonce);
  const uint8_t owner = Flags(Caller::kOwner);
  const uint8_t contributor = Flags(Caller::kContributor);
  const auto put = [](const char* name, const std::string& calls) {
    Put("vault_dispatch", name, calls);
  };

  put("server-info", One(Call::kGetServerInfo, 0));
  put("challenge", One(Call::kGetChallenge, 0));
  tvault::v1::SignInRequest sign_in;
  *sign_in.mutable_challenge() = AuthBy(w.owner.sign);
  put("sign-in-owner", One(Call::kSignIn, fresh, sign_in));
  put("sign-in-stale-nonce", One(Call::kSignIn, 0, sign_in));
  *sign_in.mutable_challenge() = AuthBy(w.invite_key);
  put("sign-in-invite", One(Call::kSignIn, fresh, sign_in));

  tvault::v1::RegisterRequest reg;
  *reg.mutable_certificate() = w.newcomer.cert.statement;
  *reg.mutable_challenge() = AuthBy(w.newcomer.sign);
  put("register-newcomer", One(Call::kRegister, fresh, reg));
  *reg.mutable_certificate() = w.outsider.cert.statement;
  *reg.mutable_challenge() = AuthBy(w.outsider.sign);
  put("register-again", One(Call::kRegister, fresh, reg));

  tvault::v1::RevokeRequest revoke;
  *revoke.mutable_revocation() = OutsiderRevocation();
  *sign_in.mutable_challenge() = AuthBy(w.outsider.sign);
  put("revoke-then-sign-in",
      One(Call::kRevoke, 0, revoke) + One(Call::kSignIn, fresh, sign_in));

  const crypto::X25519Identity epoch1 = Epoch1Identity();
  const crypto::VerifiedDescriptor d1 = Epoch1Descriptor();
  tvault::v1::PublishDescriptorRequest publish;
  *publish.mutable_case_descriptor() = d1.statement;
  const std::string epoch1_call = One(Call::kPublishDescriptor, owner, publish);
  put("descriptor-epoch1", epoch1_call);
  *publish.mutable_case_descriptor() =
      Must(crypto::Renew(w.genesis, kNow + 40 * kDay, w.owner.cert,
                         w.owner.sign))
          .statement;
  put("descriptor-renewal", One(Call::kPublishDescriptor, owner, publish));

  crypto::CaseChain chain = w.chain;
  FUZZ_CHECK_OK(chain.Accept(d1.statement, w.Lookup()));
  const crypto::CreatedGrant g1 = Must(crypto::CreateGrant(
      chain, 1, epoch1, w.outsider.cert, w.owner.cert, w.owner.sign));
  tvault::v1::PublishGrantsRequest grants;
  tvault::v1::GrantRecord* record = grants.add_grants();
  *record->mutable_grant() = g1.statement;
  record->set_ciphertext(Str(g1.ciphertext));
  put("epoch1-and-grant",
      epoch1_call + One(Call::kPublishGrants, owner, grants));
  *record->mutable_grant() = w.grant.statement;
  record->set_ciphertext(Str(w.grant.ciphertext));
  put("grant-again", One(Call::kPublishGrants, owner, grants));

  tvault::v1::GetCaseRequest get_case;
  get_case.set_case_id(Str(w.case_id));
  put("list-and-get-case", One(Call::kListCases, owner) +
                               One(Call::kGetCase, owner, get_case) +
                               One(Call::kGetCase, contributor, get_case));

  tvault::v1::GetLogEntriesRequest entries;
  entries.set_begin(0);
  entries.set_end(7);
  tvault::v1::GetInclusionProofRequest inclusion;
  inclusion.set_index(3);
  inclusion.set_tree_size(7);
  tvault::v1::GetConsistencyProofRequest consistency;
  consistency.set_old_size(2);
  consistency.set_new_size(7);
  put("log", One(Call::kGetCheckpoint, owner) +
                 One(Call::kGetLogEntries, owner, entries) +
                 One(Call::kGetInclusionProof, owner, inclusion) +
                 One(Call::kGetConsistencyProof, owner, consistency));

  tvault::v1::GetCertificatesRequest certs;
  certs.add_cert_fingerprints(Str(w.owner.cert.fingerprint));
  certs.add_cert_fingerprints(Str(w.contributor.cert.fingerprint));
  put("certificates", One(Call::kGetCertificates, owner, certs));

  const std::string& ct = w.record_ciphertext;
  tvault::v1::GetUploadStateRequest state;
  state.set_case_id(Str(w.case_id));
  state.set_record_id(Str(vault.pending_record_id));
  put("upload-state-pending", One(Call::kGetUploadState, contributor, state));
  state.set_record_id(Str(w.record_id));
  put("upload-state-stored", One(Call::kGetUploadState, contributor, state));

  // The data's start is a record header; kFixUpload pads it and sets the
  // size and hash.
  const std::string head = ct.substr(0, 300);
  put("upload-new",
      One(Call::kUpload, Flags(Caller::kContributor, 0, kFixUpload),
          Stream(Start(0x60, 0, head, 0), {head})));
  put("upload-invite", One(Call::kUpload, Flags(Caller::kInvite, 0, kFixUpload),
                           Stream(Start(0x61, 0, head, 0), {head})));
  const std::string epoch1_head =
      EncryptTo(epoch1.recipient(), "epoch 1").substr(0, 300);
  put("epoch1-and-upload",
      epoch1_call + One(Call::kUpload,
                        Flags(Caller::kContributor, 0, kFixUpload),
                        Stream(Start(0x62, 1, epoch1_head, 0), {epoch1_head})));
  put("upload-resume", One(Call::kUpload, contributor,
                           Stream(Start(1, 0, ct, vault.pending_held),
                                  {ct.substr(vault.pending_held, 40000),
                                   ct.substr(vault.pending_held + 40000)})));
  put("upload-again",
      One(Call::kUpload, contributor, Stream(Start(0, 0, ct, 0), {})));

  tvault::v1::ListRecordsRequest list;
  list.set_case_id(Str(w.case_id));
  tvault::v1::DownloadRequest download;
  download.set_record_id(Str(w.record_id));
  put("list-and-download", One(Call::kListRecords, owner, list) +
                               One(Call::kDownload, owner, download));
  download.set_offset(100);
  download.set_length(50);
  put("download-part", One(Call::kDownload, owner, download));

  tvault::v1::InviteStatement invite;
  invite.set_version(1);
  invite.set_case_id(Str(w.case_id));
  invite.set_epoch(0);
  invite.set_invite_pk(Str(FixedSigningKey(12).public_key()));
  invite.set_expires(kNow + 2 * kDay);
  invite.set_uses(3);
  tvault::v1::CreateInviteRequest create;
  *create.mutable_invite() =
      crypto::SignStatement(StatementType::kInvite, invite, w.owner.sign);
  put("create-invite", One(Call::kCreateInvite, owner, create));
  tvault::v1::RevokeInviteRequest revoke_invite;
  revoke_invite.set_case_id(Str(w.case_id));
  revoke_invite.set_invite_pk(Str(w.invite_key.public_key()));
  put("revoke-invite", One(Call::kRevokeInvite, owner, revoke_invite));

  tvault::v1::RequestDeletionRequest deletion;
  *deletion.mutable_request() = DeleteWorldRecord();
  put("delete-and-maintain", One(Call::kRequestDeletion, owner, deletion) +
                                 One(Call::kAdvanceClock, 0, U32(31 * kDay)) +
                                 One(Call::kMaintain, 0));
  put("clock-and-sign-in", One(Call::kAdvanceClock, 0, U32(2 * 3600)) +
                               One(Call::kListCases, owner) +
                               One(Call::kSignIn, fresh, sign_in));
}

}  // namespace tvault::fuzz::seeds
