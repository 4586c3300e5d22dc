// Fuzz target: every request the vault accepts, through VaultCore (the
// calls without gRPC) over a real SQLCipher store in a populated state
// (vault_fixture.h), fresh for every input. The input is a sequence of
// calls (vault_calls.h): which call, who makes it, and the request
// message; for Upload, the stream of messages.
//
// Invariants:
// - bad input gets a precise status: never Internal, Unknown or DataLoss
//   (the store is healthy; those would mean a request broke the vault);
// - every receipt handed out verifies: its checkpoint is signed by the log
//   key, names the log, and its inclusion proof puts its entry (which
//   parses strictly) in that tree;
// - every checkpoint the vault shows in one input (receipts and
//   GetCheckpoint) extends the ones before: the vault's own consistency
//   proofs verify between each pair of consecutive sizes;
// - log entries served parse strictly; proofs served verify against the
//   tree they name when it is one the input has seen signed;
// - a download of the stored record gives exactly the bytes asked for, and
//   of a record the input uploaded, exactly the bytes it sent;
//   certificates served verify under the root with the fingerprints asked;
//   a listing is sorted and within its page size.
#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <map>
#include <memory>
#include <set>
#include <string>
#include <vector>

#include "client/session.h"
#include "crypto/certificate.h"
#include "crypto/checkpoint.h"
#include "crypto/merkle.h"
#include "crypto/signed_note.h"
#include "crypto/statement.h"
#include "google/protobuf/io/coded_stream.h"
#include "proto/vault.pb.h"
#include "tests/fuzz/fuzz_check.h"
#include "tests/fuzz/fuzz_random.h"
#include "tests/fuzz/fuzz_world.h"
#include "tests/fuzz/vault_calls.h"
#include "tests/fuzz/vault_fixture.h"

namespace tvault::fuzz {
namespace {

using crypto::AsBytes;
using crypto::Hash;
using crypto::StatementType;
using tvault::v1::SignedStatement;

constexpr size_t kMaxUploadMessages = 16;
constexpr uint64_t kMinRecordSize = 65536;  // as vault_core.cc

int current_call = 0;

void CheckStatus(const absl::Status& s) {
  Trace("call " + std::to_string(current_call), s);
  FUZZ_CHECK(s.code() != absl::StatusCode::kInternal);
  FUZZ_CHECK(s.code() != absl::StatusCode::kUnknown);
  FUZZ_CHECK(s.code() != absl::StatusCode::kDataLoss);
}

template <typename T>
bool Parse(absl::string_view bytes, T& message) {
  return message.ParseFromArray(bytes.data(), static_cast<int>(bytes.size()));
}

class Dispatcher {
 public:
  explicit Dispatcher(VaultFixture::Instance& vault)
      : vault_(vault), core_(vault.core()) {}

  void Run(ByteReader& in) {
    for (int i = 0; i < kMaxCalls && !in.empty(); ++i) {
      const Call call = static_cast<Call>(in.Byte() % kCallCount);
      const uint8_t flags = in.Byte();
      const absl::string_view request = in.Field();
      current_call = static_cast<int>(call);
      One(call, flags, request);
    }
    CheckCheckpointsConsistent();
  }

 private:
  const vault::SessionTokenHash* Token(uint8_t flags) const {
    return VaultFixture::Get().Token(
        static_cast<Caller>((flags & 7) % kCallerCount));
  }

  // Re-signs `st` as (flags >> kResignShift) & 7 says, after putting a
  // fresh nonce into an auth challenge if asked.
  void Resign(SignedStatement& st, StatementType type, uint8_t flags) {
    const World& w = World::Get();
    const int mode = (flags >> kResignShift) & 7;
    if (mode == 0) return;
    std::string body = st.body();
    const crypto::SigningKey* key = &w.owner.sign;
    if (type == StatementType::kCert || type == StatementType::kRevocation) {
      key = &w.root;
    }
    if (type == StatementType::kAuth) {
      tvault::v1::AuthChallenge c;
      if (c.ParseFromString(body)) {
        if (flags & kFreshNonce) {
          absl::StatusOr<tvault::v1::Challenge> fresh = core_.GetChallenge();
          CheckStatus(fresh.status());
          if (fresh.ok()) c.set_nonce(fresh->nonce());
          body = crypto::SerializeDeterministic(c);
        }
        for (int k = 0; k < kWorldKeyCount; ++k) {
          const crypto::SigningKey& candidate = w.Key(static_cast<WorldKey>(k));
          if (crypto::AsString(candidate.public_key()) == c.caller_sign_pk()) {
            key = &candidate;
          }
        }
      }
    }
    if (mode >= 2)
      key = &w.Key(static_cast<WorldKey>((mode - 2) % kWorldKeyCount));
    st.set_signature(Str(key->Sign(crypto::StatementTag(type), AsBytes(body))));
    st.set_body(std::move(body));
  }

  // Opens a checkpoint note of the log; remembers its root by size.
  crypto::Checkpoint SeeCheckpoint(const std::string& note) {
    const World& w = World::Get();
    absl::StatusOr<crypto::OpenedNote> opened =
        crypto::OpenNote(note, {&w.log_signer.verifier(), 1});
    FUZZ_CHECK_OK(opened.status());
    absl::StatusOr<crypto::Checkpoint> c =
        crypto::ParseCheckpoint(opened->text);
    FUZZ_CHECK_OK(c.status());
    FUZZ_CHECK(c->origin == kLogOrigin);
    auto [it, added] = roots_.emplace(c->tree_size, c->root_hash);
    if (!added) FUZZ_CHECK(it->second == c->root_hash);
    return *c;
  }

  void CheckReceipt(const tvault::v1::Receipt& r) {
    const crypto::Checkpoint c = SeeCheckpoint(r.checkpoint());
    std::vector<Hash> proof;
    for (const std::string& h : r.inclusion()) {
      absl::StatusOr<Hash> hash = crypto::HashFromBytes(AsBytes(h));
      FUZZ_CHECK_OK(hash.status());
      proof.push_back(*hash);
    }
    FUZZ_CHECK_OK(crypto::VerifyInclusionProof(
        r.index(), c.tree_size, crypto::LeafHash(AsBytes(r.entry())), proof,
        c.root_hash));
    FUZZ_CHECK_OK(client::ParseLogEntry(r.entry(), r.index()).status());
  }

  template <typename Response>
  void CheckOptionalReceipt(const Response& response) {
    if (response.has_receipt()) CheckReceipt(response.receipt());
  }

  void CheckCheckpointsConsistent() {
    const vault::SessionTokenHash* owner =
        VaultFixture::Get().Token(Caller::kOwner);
    const std::pair<const uint64_t, Hash>* previous = nullptr;
    for (const auto& entry : roots_) {
      if (previous != nullptr && previous->first > 0) {
        tvault::v1::GetConsistencyProofRequest r;
        r.set_old_size(previous->first);
        r.set_new_size(entry.first);
        absl::StatusOr<tvault::v1::Proof> p =
            core_.GetConsistencyProof(owner, r);
        // The owner's session may have expired if the clock moved.
        if (p.ok()) {
          std::vector<Hash> proof;
          for (const std::string& h : p->hashes()) {
            proof.push_back(*crypto::HashFromBytes(AsBytes(h)));
          }
          FUZZ_CHECK_OK(crypto::VerifyConsistencyProof(
              previous->first, entry.first, previous->second, entry.second,
              proof));
        }
      }
      previous = &entry;
    }
  }

  void Upload(uint8_t flags, absl::string_view bytes);
  void One(Call call, uint8_t flags, absl::string_view bytes);

  VaultFixture::Instance& vault_;
  vault::VaultCore& core_;
  std::map<uint64_t, Hash> roots_;  // tree size -> root, as signed
  std::set<std::string> uploaded_;  // record ids stored by this input
};

class CollectingSink final : public vault::DownloadSink {
 public:
  bool Write(const tvault::v1::DownloadChunk& chunk) override {
    FUZZ_CHECK(!chunk.data().empty());
    bytes += chunk.data();
    return true;
  }
  std::string bytes;
};

void Dispatcher::Upload(uint8_t flags, absl::string_view bytes) {
  std::vector<tvault::v1::UploadRequest> messages;
  google::protobuf::io::CodedInputStream in(
      reinterpret_cast<const uint8_t*>(bytes.data()),
      static_cast<int>(bytes.size()));
  uint32_t length = 0;
  while (messages.size() < kMaxUploadMessages && in.ReadVarint32(&length)) {
    const auto limit = in.PushLimit(static_cast<int>(length));
    tvault::v1::UploadRequest m;
    if (!m.ParseFromCodedStream(&in) || !in.ConsumedEntireMessage()) break;
    in.PopLimit(limit);
    messages.push_back(std::move(m));
  }
  if ((flags & kFixUpload) && !messages.empty() && messages[0].has_start()) {
    std::string data;
    for (size_t i = 1; i < messages.size(); ++i) data += messages[i].data();
    if (data.size() < kMinRecordSize) {
      tvault::v1::UploadRequest fill;
      fill.set_data(std::string(kMinRecordSize - data.size(), '\0'));
      data += fill.data();
      messages.push_back(std::move(fill));
    }
    tvault::v1::UploadStart* start = messages[0].mutable_start();
    start->set_total_size(start->offset() + data.size());
    if (start->offset() == 0) {
      start->set_sha256(Str(crypto::ComputeSha256(AsBytes(data))));
    }
  }
  const tvault::v1::UploadStart start =
      messages.empty() ? tvault::v1::UploadStart() : messages[0].start();
  std::string sent;
  for (size_t i = 1; i < messages.size(); ++i) sent += messages[i].data();
  ListUploadStream stream(std::move(messages));
  absl::StatusOr<tvault::v1::UploadResponse> r =
      core_.Upload(Token(flags), stream);
  CheckStatus(r.status());
  if (!r.ok()) return;
  CheckReceipt(r->receipt());
  tvault::v1::LogEntry entry;
  FUZZ_CHECK(entry.ParseFromString(r->receipt().entry()));
  FUZZ_CHECK(entry.has_record_added());
  FUZZ_CHECK(entry.record_added().record_id() == start.record_id());
  FUZZ_CHECK(entry.record_added().ciphertext_sha256() == start.sha256());
  FUZZ_CHECK(entry.record_added().ciphertext_size() == start.total_size());

  // What the vault stored is what was sent (when this input knows all of
  // it: a new upload from 0, or the template's unfinished one resumed).
  const World& w = World::Get();
  const VaultFixture& fixture = VaultFixture::Get();
  const bool before = !uploaded_.insert(start.record_id()).second ||
                      start.record_id() == Str(w.record_id);
  std::string whole;
  if (start.offset() == 0) {
    whole = sent;
  } else if (start.record_id() == Str(fixture.pending_record_id) &&
             start.offset() == fixture.pending_held) {
    whole = w.record_ciphertext.substr(0, fixture.pending_held) + sent;
  } else {
    return;
  }
  if (before) return;
  tvault::v1::DownloadRequest d;
  d.set_record_id(start.record_id());
  CollectingSink sink;
  const absl::Status read =
      core_.Download(fixture.Token(Caller::kOwner), d, sink);
  Trace("download of the upload", read);
  if (!read.ok()) return;
  FUZZ_CHECK(sink.bytes == whole);
}

void Dispatcher::One(Call call, uint8_t flags, absl::string_view bytes) {
  const World& w = World::Get();
  const vault::SessionTokenHash* token = Token(flags);
  switch (call) {
    case Call::kGetServerInfo:
      (void)core_.GetServerInfo();
      return;
    case Call::kGetChallenge:
      CheckStatus(core_.GetChallenge().status());
      return;
    case Call::kSignIn: {
      tvault::v1::SignInRequest r;
      if (!Parse(bytes, r)) return;
      Resign(*r.mutable_challenge(), StatementType::kAuth, flags);
      absl::StatusOr<tvault::v1::Session> s = core_.SignIn(r);
      CheckStatus(s.status());
      if (s.ok()) FUZZ_CHECK(s->token().size() == 32);
      return;
    }
    case Call::kRegister: {
      tvault::v1::RegisterRequest r;
      if (!Parse(bytes, r)) return;
      Resign(*r.mutable_certificate(), StatementType::kCert, flags);
      Resign(*r.mutable_challenge(), StatementType::kAuth, flags);
      absl::StatusOr<tvault::v1::RegisterResponse> s = core_.Register(r);
      CheckStatus(s.status());
      if (!s.ok()) return;
      CheckOptionalReceipt(*s);
      absl::StatusOr<crypto::VerifiedCertificate> cert =
          crypto::VerifyCertificate(r.certificate(), w.root.public_key());
      FUZZ_CHECK_OK(cert.status());
      FUZZ_CHECK(s->cert_fingerprint() == Str(cert->fingerprint));
      return;
    }
    case Call::kRevoke: {
      tvault::v1::RevokeRequest r;
      if (!Parse(bytes, r)) return;
      Resign(*r.mutable_revocation(), StatementType::kRevocation, flags);
      absl::StatusOr<tvault::v1::RevokeResponse> s = core_.Revoke(r);
      CheckStatus(s.status());
      if (s.ok()) CheckOptionalReceipt(*s);
      return;
    }
    case Call::kPublishDescriptor: {
      tvault::v1::PublishDescriptorRequest r;
      if (!Parse(bytes, r)) return;
      Resign(*r.mutable_case_descriptor(), StatementType::kDescriptor, flags);
      absl::StatusOr<tvault::v1::PublishDescriptorResponse> s =
          core_.PublishDescriptor(token, r);
      CheckStatus(s.status());
      if (!s.ok()) return;
      CheckOptionalReceipt(*s);
      FUZZ_CHECK(s->descriptor_hash() == Str(crypto::ComputeSha256(AsBytes(
                                             r.case_descriptor().body()))));
      return;
    }
    case Call::kListCases: {
      absl::StatusOr<tvault::v1::ListCasesResponse> s =
          core_.ListCases(token, {});
      CheckStatus(s.status());
      return;
    }
    case Call::kGetCase: {
      tvault::v1::GetCaseRequest r;
      if (!Parse(bytes, r)) return;
      absl::StatusOr<tvault::v1::GetCaseResponse> s = core_.GetCase(token, r);
      CheckStatus(s.status());
      if (s.ok()) {
        FUZZ_CHECK(s->descriptor_log_indices_size() == s->descriptors_size());
      }
      return;
    }
    case Call::kPublishGrants: {
      tvault::v1::PublishGrantsRequest r;
      if (!Parse(bytes, r)) return;
      for (tvault::v1::GrantRecord& g : *r.mutable_grants()) {
        Resign(*g.mutable_grant(), StatementType::kGrant, flags);
      }
      absl::StatusOr<tvault::v1::PublishGrantsResponse> s =
          core_.PublishGrants(token, r);
      CheckStatus(s.status());
      if (!s.ok()) return;
      for (const tvault::v1::Receipt& receipt : s->receipts()) {
        if (!receipt.checkpoint().empty()) CheckReceipt(receipt);
      }
      return;
    }
    case Call::kGetCheckpoint: {
      absl::StatusOr<tvault::v1::SignedCheckpoint> s =
          core_.GetCheckpoint(token);
      CheckStatus(s.status());
      if (s.ok()) SeeCheckpoint(s->checkpoint());
      return;
    }
    case Call::kGetLogEntries: {
      tvault::v1::GetLogEntriesRequest r;
      if (!Parse(bytes, r)) return;
      absl::StatusOr<tvault::v1::GetLogEntriesResponse> s =
          core_.GetLogEntries(token, r);
      CheckStatus(s.status());
      if (!s.ok()) return;
      FUZZ_CHECK(static_cast<uint64_t>(s->entries_size()) ==
                 r.end() - r.begin());
      for (int i = 0; i < s->entries_size(); ++i) {
        FUZZ_CHECK_OK(
            client::ParseLogEntry(s->entries(i), r.begin() + i).status());
      }
      return;
    }
    case Call::kGetInclusionProof: {
      tvault::v1::GetInclusionProofRequest r;
      if (!Parse(bytes, r)) return;
      absl::StatusOr<tvault::v1::Proof> s = core_.GetInclusionProof(token, r);
      CheckStatus(s.status());
      if (!s.ok()) return;
      const auto root = roots_.find(r.tree_size());
      if (root == roots_.end()) return;
      tvault::v1::GetLogEntriesRequest e;
      e.set_begin(r.index());
      e.set_end(r.index() + 1);
      absl::StatusOr<tvault::v1::GetLogEntriesResponse> entry =
          core_.GetLogEntries(token, e);
      FUZZ_CHECK_OK(entry.status());
      FUZZ_CHECK(entry->entries_size() == 1);
      std::vector<Hash> proof;
      for (const std::string& h : s->hashes()) {
        absl::StatusOr<Hash> hash = crypto::HashFromBytes(AsBytes(h));
        FUZZ_CHECK_OK(hash.status());
        proof.push_back(*hash);
      }
      FUZZ_CHECK_OK(crypto::VerifyInclusionProof(
          r.index(), r.tree_size(),
          crypto::LeafHash(AsBytes(entry->entries(0))), proof, root->second));
      return;
    }
    case Call::kGetConsistencyProof: {
      tvault::v1::GetConsistencyProofRequest r;
      if (!Parse(bytes, r)) return;
      CheckStatus(core_.GetConsistencyProof(token, r).status());
      return;
    }
    case Call::kGetCertificates: {
      tvault::v1::GetCertificatesRequest r;
      if (!Parse(bytes, r)) return;
      absl::StatusOr<tvault::v1::GetCertificatesResponse> s =
          core_.GetCertificates(token, r);
      CheckStatus(s.status());
      if (!s.ok()) return;
      FUZZ_CHECK(s->certificates_size() == r.cert_fingerprints_size());
      for (int i = 0; i < s->certificates_size(); ++i) {
        absl::StatusOr<crypto::VerifiedCertificate> c =
            crypto::VerifyCertificate(s->certificates(i), w.root.public_key());
        FUZZ_CHECK_OK(c.status());
        FUZZ_CHECK(Str(c->fingerprint) == r.cert_fingerprints(i));
      }
      return;
    }
    case Call::kGetUploadState: {
      tvault::v1::GetUploadStateRequest r;
      if (!Parse(bytes, r)) return;
      absl::StatusOr<tvault::v1::UploadState> s =
          core_.GetUploadState(token, r);
      CheckStatus(s.status());
      if (s.ok()) CheckOptionalReceipt(*s);
      return;
    }
    case Call::kUpload:
      Upload(flags, bytes);
      return;
    case Call::kListRecords: {
      tvault::v1::ListRecordsRequest r;
      if (!Parse(bytes, r)) return;
      absl::StatusOr<tvault::v1::ListRecordsResponse> s =
          core_.ListRecords(token, r);
      CheckStatus(s.status());
      if (!s.ok()) return;
      const uint32_t page = r.page_size() == 0 ? 100 : r.page_size();
      FUZZ_CHECK(static_cast<uint32_t>(s->records_size()) <= page);
      for (int i = 1; i < s->records_size(); ++i) {
        FUZZ_CHECK(s->records(i - 1).record_id() < s->records(i).record_id());
      }
      return;
    }
    case Call::kDownload: {
      tvault::v1::DownloadRequest r;
      if (!Parse(bytes, r)) return;
      CollectingSink sink;
      const absl::Status s = core_.Download(token, r, sink);
      CheckStatus(s);
      if (!s.ok() || r.record_id() != Str(w.record_id)) return;
      const std::string& all = w.record_ciphertext;
      FUZZ_CHECK(r.offset() <= all.size());
      const uint64_t rest = all.size() - r.offset();
      const uint64_t want =
          r.length() == 0 ? rest : std::min<uint64_t>(r.length(), rest);
      FUZZ_CHECK(sink.bytes == all.substr(r.offset(), want));
      return;
    }
    case Call::kCreateInvite: {
      tvault::v1::CreateInviteRequest r;
      if (!Parse(bytes, r)) return;
      Resign(*r.mutable_invite(), StatementType::kInvite, flags);
      absl::StatusOr<tvault::v1::CreateInviteResponse> s =
          core_.CreateInvite(token, r);
      CheckStatus(s.status());
      if (s.ok()) CheckOptionalReceipt(*s);
      return;
    }
    case Call::kRevokeInvite: {
      tvault::v1::RevokeInviteRequest r;
      if (!Parse(bytes, r)) return;
      absl::StatusOr<tvault::v1::RevokeInviteResponse> s =
          core_.RevokeInvite(token, r);
      CheckStatus(s.status());
      if (s.ok()) CheckOptionalReceipt(*s);
      return;
    }
    case Call::kRequestDeletion: {
      tvault::v1::RequestDeletionRequest r;
      if (!Parse(bytes, r)) return;
      Resign(*r.mutable_request(), StatementType::kDelete, flags);
      absl::StatusOr<tvault::v1::RequestDeletionResponse> s =
          core_.RequestDeletion(token, r);
      CheckStatus(s.status());
      if (s.ok()) CheckOptionalReceipt(*s);
      return;
    }
    case Call::kMaintain:
      CheckStatus(core_.Maintain().status());
      return;
    case Call::kAdvanceClock: {
      ByteReader seconds(reinterpret_cast<const uint8_t*>(bytes.data()),
                         bytes.size());
      vault_.now += seconds.U32();
      return;
    }
  }
}

}  // namespace
}  // namespace tvault::fuzz

extern "C" int LLVMFuzzerInitialize(int*, char***) {
  tvault::fuzz::VaultFixture::Get();
  return 0;
}

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  using namespace tvault::fuzz;
  VaultFixture& fixture = VaultFixture::Get();
  ResetDeterministicRandom(1);
  std::unique_ptr<VaultFixture::Instance> vault = fixture.Fresh();
  ByteReader in(data, size);
  Dispatcher(*vault).Run(in);
  return 0;
}
