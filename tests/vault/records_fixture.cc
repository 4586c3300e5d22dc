#include "tests/vault/records_fixture.h"

#include <sodium.h>

#include <algorithm>
#include <utility>

#include "absl/strings/escaping.h"
#include "absl/strings/str_cat.h"
#include "client/vault_auth.h"
#include "crypto/io.h"
#include "crypto/record.h"
#include "crypto/statement.h"

namespace tvault::vault::testing {
namespace {

using crypto::trust_testing::CertBody;
using crypto::trust_testing::Str;

std::string HexOf(absl::Span<const uint8_t> b) {
  return absl::BytesToHexString(crypto::AsString(b));
}

tvault::v1::RecordMetadata BaseMetadata(const crypto::CaseId& case_id,
                                        const RecordId& record_id,
                                        const crypto::SigningKey& signer) {
  tvault::v1::RecordMetadata meta;
  meta.set_record_id(HexOf(record_id));
  meta.set_case_id(HexOf(case_id));
  meta.set_epoch(0);
  meta.set_kind(tvault::v1::TESTIMONY);
  meta.set_created_at("2026-11-23T10:00:00Z");
  meta.mutable_submitter()->set_sign_pk(HexOf(signer.public_key()));
  return meta;
}

absl::StatusOr<std::string> WriteRecord(
    const crypto::X25519Recipient& epoch_recipient,
    const tvault::v1::RecordMetadata& meta, const crypto::SigningKey& signer,
    const std::string& body) {
  crypto::VectorSink out;
  absl::StatusOr<std::unique_ptr<crypto::RecordWriter>> writer =
      crypto::RecordWriter::Create(epoch_recipient, meta, body.size(), signer,
                                   out);
  if (!writer.ok()) return writer.status();
  if (absl::Status s = (*writer)->Write(crypto::AsBytes(body)); !s.ok()) {
    return s;
  }
  if (absl::Status s = (*writer)->Finish(); !s.ok()) return s;
  return std::string(crypto::AsString(out.bytes()));
}

}  // namespace

RecordId NewRecordId() {
  RecordId id;
  randombytes_buf(id.data(), id.size());
  return id;
}

absl::StatusOr<std::unique_ptr<Account>> NewLiveAccount(
    const crypto::SigningKey& root, const std::string& handle,
    std::vector<tvault::v1::Role> roles, int64_t not_before,
    int64_t not_after) {
  auto a = std::make_unique<Account>();
  absl::StatusOr<tvault::v1::SignedStatement> st = crypto::IssueCertificate(
      CertBody(a->sign.public_key(), a->box.recipient(), std::move(roles),
               handle, not_before, not_after),
      root);
  if (!st.ok()) return st.status();
  absl::StatusOr<crypto::VerifiedCertificate> v =
      crypto::VerifyCertificate(*st, root.public_key());
  if (!v.ok()) return v.status();
  a->cert = *std::move(v);
  return a;
}

absl::StatusOr<tvault::v1::SignedStatement> SignVaultChallenge(
    Vault::Stub& stub, const crypto::SigningKey& key,
    const crypto::TlsKeyPin& pin) {
  tvault::v1::Challenge challenge;
  grpc::ClientContext context;
  grpc::Status s = stub.GetChallenge(&context, {}, &challenge);
  if (!s.ok()) return client::FromGrpcStatus(s);
  return client::SignAuthChallenge(challenge.nonce(), key, pin, Now());
}

grpc::Status RegisterAccount(Vault::Stub& stub, const crypto::TlsKeyPin& pin,
                             const Account& account) {
  absl::StatusOr<tvault::v1::SignedStatement> challenge =
      SignVaultChallenge(stub, account.sign, pin);
  if (!challenge.ok()) {
    return grpc::Status(
        static_cast<grpc::StatusCode>(challenge.status().code()),
        std::string(challenge.status().message()));
  }
  tvault::v1::RegisterRequest request;
  *request.mutable_certificate() = account.cert.statement;
  *request.mutable_challenge() = *std::move(challenge);
  tvault::v1::RegisterResponse response;
  grpc::ClientContext context;
  return stub.Register(&context, request, &response);
}

absl::StatusOr<std::string> SignIn(Vault::Stub& stub,
                                   const crypto::TlsKeyPin& pin,
                                   const crypto::SigningKey& key) {
  absl::StatusOr<tvault::v1::Session> session =
      client::SignInToVault(stub, key, pin);
  if (!session.ok()) return session.status();
  return session->token();
}

absl::StatusOr<std::string> JoinVault(Vault::Stub& stub,
                                      const crypto::TlsKeyPin& pin,
                                      const Account& account) {
  grpc::Status registered = RegisterAccount(stub, pin, account);
  if (!registered.ok()) {
    absl::Status s = client::FromGrpcStatus(registered);
    return absl::Status(
        s.code(), absl::StrCat("registering ", account.cert.body.handle(), ": ",
                               s.message()));
  }
  return SignIn(stub, pin, account.sign);
}

absl::StatusOr<std::string> MakeAccountRecord(
    const crypto::X25519Recipient& epoch_recipient, const Account& signer,
    const crypto::CaseId& case_id, const RecordId& record_id,
    const std::string& body) {
  tvault::v1::RecordMetadata meta =
      BaseMetadata(case_id, record_id, signer.sign);
  meta.set_title("What happened");
  meta.set_language("en");
  *meta.mutable_submitter()->mutable_certificate() = signer.cert.statement;
  return WriteRecord(epoch_recipient, meta, signer.sign, body);
}

absl::StatusOr<std::string> MakeInviteRecord(
    const crypto::X25519Recipient& epoch_recipient,
    const crypto::SigningKey& invite_key, const crypto::CaseId& case_id,
    const RecordId& record_id, const std::string& body) {
  tvault::v1::RecordMetadata meta =
      BaseMetadata(case_id, record_id, invite_key);
  meta.mutable_submitter()->set_relation("sister");
  return WriteRecord(epoch_recipient, meta, invite_key, body);
}

tvault::v1::UploadStart UploadStartFor(const crypto::CaseId& case_id,
                                       const RecordId& id,
                                       const std::string& file,
                                       uint64_t offset) {
  tvault::v1::UploadStart start;
  start.set_case_id(Str(case_id));
  start.set_record_id(Str(id));
  start.set_epoch(0);
  start.set_total_size(file.size());
  start.set_sha256(Str(crypto::ComputeSha256(crypto::AsBytes(file))));
  start.set_offset(offset);
  return start;
}

grpc::Status SendUpload(
    Vault::Stub& stub, const std::string& token,
    const tvault::v1::UploadStart& start, const std::string& file, size_t stop,
    tvault::v1::UploadResponse* response, size_t chunk,
    const std::function<void(grpc::ClientContext&)>& context_hook) {
  grpc::ClientContext context;
  client::AuthorizeCall(context, token);
  if (context_hook) context_hook(context);
  tvault::v1::UploadResponse ignored;
  auto writer = stub.Upload(&context, response ? response : &ignored);
  tvault::v1::UploadRequest first;
  *first.mutable_start() = start;
  if (writer->Write(first)) {
    for (size_t at = start.offset(); at < stop; at += chunk) {
      tvault::v1::UploadRequest data;
      data.set_data(file.substr(at, std::min(chunk, stop - at)));
      if (!writer->Write(data)) break;
    }
  }
  writer->WritesDone();
  return writer->Finish();
}

grpc::Status UploadRecord(Vault::Stub& stub, const std::string& token,
                          const crypto::CaseId& case_id, const RecordId& id,
                          const std::string& file,
                          tvault::v1::UploadResponse* response) {
  return SendUpload(stub, token, UploadStartFor(case_id, id, file), file,
                    file.size(), response);
}

absl::StatusOr<std::string> DownloadRecord(Vault::Stub& stub,
                                           const std::string& token,
                                           const RecordId& id, uint64_t offset,
                                           uint64_t length) {
  tvault::v1::DownloadRequest request;
  request.set_record_id(Str(id));
  request.set_offset(offset);
  request.set_length(length);
  grpc::ClientContext context;
  client::AuthorizeCall(context, token);
  auto reader = stub.Download(&context, request);
  std::string out;
  size_t largest = 0;
  tvault::v1::DownloadChunk chunk;
  while (reader->Read(&chunk)) {
    largest = std::max(largest, chunk.data().size());
    out += chunk.data();
  }
  grpc::Status s = reader->Finish();
  if (!s.ok()) return client::FromGrpcStatus(s);
  if (largest > kMiB) {
    return absl::InternalError(
        absl::StrCat("a download message of ", largest, " bytes (> 1 MiB)"));
  }
  return out;
}

absl::StatusOr<tvault::v1::ListRecordsResponse> ListRecords(
    Vault::Stub& stub, const std::string& token, const crypto::CaseId& case_id,
    uint32_t page_size, const std::string& page_token) {
  tvault::v1::ListRecordsRequest request;
  request.set_case_id(Str(case_id));
  request.set_page_size(page_size);
  request.set_page_token(page_token);
  tvault::v1::ListRecordsResponse response;
  grpc::ClientContext context;
  client::AuthorizeCall(context, token);
  grpc::Status s = stub.ListRecords(&context, request, &response);
  if (!s.ok()) return client::FromGrpcStatus(s);
  return response;
}

absl::StatusOr<std::vector<tvault::v1::RecordSummary>> ListAllRecords(
    Vault::Stub& stub, const std::string& token,
    const crypto::CaseId& case_id) {
  std::vector<tvault::v1::RecordSummary> all;
  std::string page_token;
  do {
    absl::StatusOr<tvault::v1::ListRecordsResponse> page =
        ListRecords(stub, token, case_id, 1000, page_token);
    if (!page.ok()) return page.status();
    for (const tvault::v1::RecordSummary& r : page->records()) {
      all.push_back(r);
    }
    page_token = page->next_page_token();
  } while (!page_token.empty());
  return all;
}

absl::StatusOr<uint64_t> HeldBytes(Vault::Stub& stub, const std::string& token,
                                   const crypto::CaseId& case_id,
                                   const RecordId& id) {
  tvault::v1::GetUploadStateRequest request;
  request.set_case_id(Str(case_id));
  request.set_record_id(Str(id));
  tvault::v1::UploadState state;
  grpc::ClientContext context;
  client::AuthorizeCall(context, token);
  grpc::Status s = stub.GetUploadState(&context, request, &state);
  if (!s.ok()) return client::FromGrpcStatus(s);
  return state.held_bytes();
}

grpc::Status PublishDescriptor(
    Vault::Stub& stub, const std::string& token,
    const tvault::v1::SignedStatement& descriptor,
    tvault::v1::PublishDescriptorResponse* response) {
  tvault::v1::PublishDescriptorRequest request;
  *request.mutable_case_descriptor() = descriptor;
  tvault::v1::PublishDescriptorResponse ignored;
  grpc::ClientContext context;
  client::AuthorizeCall(context, token);
  return stub.PublishDescriptor(&context, request,
                                response ? response : &ignored);
}

grpc::Status PublishGrant(Vault::Stub& stub, const std::string& token,
                          const crypto::CreatedGrant& grant,
                          tvault::v1::PublishGrantsResponse* response) {
  tvault::v1::PublishGrantsRequest request;
  tvault::v1::GrantRecord* record = request.add_grants();
  *record->mutable_grant() = grant.statement;
  record->set_ciphertext(Str(grant.ciphertext));
  tvault::v1::PublishGrantsResponse ignored;
  grpc::ClientContext context;
  client::AuthorizeCall(context, token);
  return stub.PublishGrants(&context, request, response ? response : &ignored);
}

absl::StatusOr<tvault::v1::GetCaseResponse> GetCase(Vault::Stub& stub,
                                                    const std::string& token,
                                                    const crypto::CaseId& id) {
  tvault::v1::GetCaseRequest request;
  request.set_case_id(Str(id));
  tvault::v1::GetCaseResponse response;
  grpc::ClientContext context;
  client::AuthorizeCall(context, token);
  grpc::Status s = stub.GetCase(&context, request, &response);
  if (!s.ok()) return client::FromGrpcStatus(s);
  return response;
}

tvault::v1::SignedStatement DeletionRequest(const crypto::SigningKey& owner,
                                            const crypto::CaseId& case_id,
                                            const RecordId& id,
                                            const std::string& reason) {
  tvault::v1::DeleteRequest body;
  body.set_version(1);
  body.set_case_id(Str(case_id));
  body.set_record_id(Str(id));
  body.set_requested_at(Now());
  body.set_reason(reason);
  return crypto::SignStatement(crypto::StatementType::kDelete, body, owner);
}

grpc::Status RequestDeletion(Vault::Stub& stub, const std::string& token,
                             const tvault::v1::SignedStatement& request,
                             tvault::v1::RequestDeletionResponse* response) {
  tvault::v1::RequestDeletionRequest r;
  *r.mutable_request() = request;
  grpc::ClientContext context;
  client::AuthorizeCall(context, token);
  return stub.RequestDeletion(&context, r, response);
}

absl::StatusOr<std::string> GetCheckpoint(Vault::Stub& stub,
                                          const std::string& token) {
  tvault::v1::SignedCheckpoint checkpoint;
  grpc::ClientContext context;
  client::AuthorizeCall(context, token);
  grpc::Status s = stub.GetCheckpoint(&context, {}, &checkpoint);
  if (!s.ok()) return client::FromGrpcStatus(s);
  return checkpoint.checkpoint();
}

absl::StatusOr<std::vector<std::string>> GetLogEntries(Vault::Stub& stub,
                                                       const std::string& token,
                                                       uint64_t begin,
                                                       uint64_t end) {
  tvault::v1::GetLogEntriesRequest request;
  request.set_begin(begin);
  request.set_end(end);
  tvault::v1::GetLogEntriesResponse response;
  grpc::ClientContext context;
  client::AuthorizeCall(context, token);
  grpc::Status s = stub.GetLogEntries(&context, request, &response);
  if (!s.ok()) return client::FromGrpcStatus(s);
  return std::vector<std::string>(response.entries().begin(),
                                  response.entries().end());
}

absl::StatusOr<std::unique_ptr<RecordsCase>> RecordsCase::Create(
    Vault::Stub& stub, const crypto::SigningKey& root,
    const crypto::TlsKeyPin& pin) {
  std::unique_ptr<RecordsCase> c(new RecordsCase());
  const std::pair<std::unique_ptr<Account>*, std::string*> who[] = {
      {&c->alice_, &c->alice_token_},
      {&c->bob_, &c->bob_token_},
      {&c->dave_, &c->dave_token_},
      {&c->erin_, &c->erin_token_}};
  const char* const handles[] = {"alice", "bob", "dave", "erin"};
  for (size_t i = 0; i < 4; ++i) {
    absl::StatusOr<std::unique_ptr<Account>> account = NewLiveAccount(
        root, handles[i],
        {i == 2 ? tvault::v1::CONTRIBUTOR : tvault::v1::REVIEWER});
    if (!account.ok()) return account.status();
    *who[i].first = *std::move(account);
    absl::StatusOr<std::string> token = JoinVault(stub, pin, **who[i].first);
    if (!token.ok()) return token.status();
    *who[i].second = *std::move(token);
  }
  const crypto::EpochMembership m{
      {c->alice_->cert.fingerprint},
      {c->alice_->cert.fingerprint, c->bob_->cert.fingerprint},
      {c->dave_->cert.fingerprint}};
  absl::StatusOr<crypto::VerifiedDescriptor> e0 =
      crypto::CreateGenesisDescriptor(c->case_id_, c->epoch_key_.recipient(), m,
                                      Now() + 30 * kDay, c->alice_->cert,
                                      c->alice_->sign);
  if (!e0.ok()) return e0.status();
  grpc::Status published =
      PublishDescriptor(stub, c->alice_token_, e0->statement);
  if (!published.ok()) return client::FromGrpcStatus(published);
  absl::StatusOr<crypto::CaseChain> chain = crypto::CaseChain::Create(e0->hash);
  if (!chain.ok()) return chain.status();
  crypto::trust_testing::CertDirectory directory;
  directory.Add(*c->alice_);
  if (absl::Status s = chain->Accept(e0->statement, directory.Lookup());
      !s.ok()) {
    return s;
  }
  c->chain_ = *std::move(chain);
  c->genesis_ = *std::move(e0);
  return c;
}

absl::Status RecordsCase::SignInAgain(Vault::Stub& stub,
                                      const crypto::TlsKeyPin& pin) {
  for (auto [account, token] : {std::pair{alice_.get(), &alice_token_},
                                std::pair{bob_.get(), &bob_token_},
                                std::pair{dave_.get(), &dave_token_}}) {
    absl::StatusOr<std::string> fresh = SignIn(stub, pin, account->sign);
    if (!fresh.ok()) return fresh.status();
    *token = *std::move(fresh);
  }
  return absl::OkStatus();
}

absl::StatusOr<std::string> RecordsCase::MakeRecord(
    const Account& signer, const RecordId& id, const std::string& body) const {
  return MakeAccountRecord(epoch_key_.recipient(), signer, case_id_, id, body);
}

absl::StatusOr<std::string> RecordsCase::MakeInviteRecord(
    const crypto::SigningKey& invite_key, const RecordId& id,
    const std::string& body) const {
  return testing::MakeInviteRecord(epoch_key_.recipient(), invite_key, case_id_,
                                   id, body);
}

}  // namespace tvault::vault::testing
