// Group commit in VaultCore (vault_core.h, issue 6), in process over a real
// SQLCipher store, without gRPC (so it runs under TSan): many calls at once
// each get a receipt that verifies under the checkpoint of their group, the
// log holds each entry exactly once, a call that fails inside a group is
// undone alone, a group that cannot commit fails every call in it and keeps
// nothing, and the anti-rollback copy is never behind a receipt.
#include <sodium.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <cstdint>
#include <filesystem>
#include <fstream>
#include <functional>
#include <iterator>
#include <map>
#include <memory>
#include <set>
#include <string>
#include <thread>
#include <utility>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "client/vault_auth.h"
#include "crypto/age.h"
#include "crypto/age_recipients.h"
#include "crypto/case_descriptor.h"
#include "crypto/certificate.h"
#include "crypto/checkpoint.h"
#include "crypto/grant.h"
#include "crypto/io.h"
#include "crypto/merkle.h"
#include "crypto/secret_bytes.h"
#include "crypto/signed_note.h"
#include "crypto/statement.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "proto/records.pb.h"
#include "proto/vault.pb.h"
#include "tests/crypto/trust_fixture.h"
#include "tests/temp_dir.h"
#include "tests/vault/list_upload_stream.h"
#include "vault/config.h"
#include "vault/log_tree.h"
#include "vault/sqlcipher_store.h"
#include "vault/store.h"
#include "vault/transparency_log.h"
#include "vault/vault_core.h"

namespace tvault::vault {
namespace {

using crypto::AsBytes;
using crypto::AsString;
using crypto::SigningKey;
using crypto::X25519Identity;
using crypto::trust_testing::Account;
using crypto::trust_testing::FlipSignatureBit;
using crypto::trust_testing::kDay;
using crypto::trust_testing::kNow;
using crypto::trust_testing::MakeAccount;
using ::testing::HasSubstr;
using tvault::testing_support::TempDir;
using tvault::v1::LogEntry;
using tvault::v1::Receipt;

constexpr char kOrigin[] = "vault.example.org/log";

std::string Str(absl::Span<const uint8_t> b) {
  return std::string(AsString(b));
}

// Waits (up to a minute) until `done()`.
bool Eventually(const std::function<bool()>& done) {
  const auto deadline =
      std::chrono::steady_clock::now() + std::chrono::minutes(1);
  while (!done()) {
    if (std::chrono::steady_clock::now() > deadline) return false;
    std::this_thread::sleep_for(std::chrono::milliseconds(1));
  }
  return true;
}

// Holds the store's only connection (a transaction that waits) until
// released, so that calls queue up behind a leader.
class StoreBlocker {
 public:
  explicit StoreBlocker(Store& store)
      : thread_([this, &store] {
          absl::Status s = store.RunInTransaction([this](StoreTransaction&) {
            holding_ = true;
            while (!release_) {
              std::this_thread::sleep_for(std::chrono::milliseconds(1));
            }
            return absl::OkStatus();
          });
          EXPECT_TRUE(s.ok()) << s;
        }) {
    EXPECT_TRUE(Eventually([this] { return holding_.load(); }));
  }
  ~StoreBlocker() { Release(); }
  void Release() {
    release_ = true;
    if (thread_.joinable()) thread_.join();
  }

 private:
  std::atomic<bool> holding_{false};
  std::atomic<bool> release_{false};
  std::thread thread_;
};

class GroupCommitTest : public ::testing::Test {
 protected:
  GroupCommitTest()
      : root_(SigningKey::Generate()),
        db_key_(crypto::SecretBytes::Random(SqlcipherStore::kKeySize)) {
    pin_.fill(0x42);
  }

  void SetUp() override {
    absl::StatusOr<std::unique_ptr<SqlcipherStore>> store =
        SqlcipherStore::Create(dir_.File("vault.db"), db_key_);
    ASSERT_TRUE(store.ok()) << store.status();
    store_ = std::move(*store);
    absl::StatusOr<crypto::NoteSigner> signer =
        crypto::NoteSigner::Generate(kOrigin);
    ASSERT_TRUE(signer.ok()) << signer.status();
    log_key_ = std::make_unique<crypto::SecretBytes>(signer->Encode());
    log_ = std::make_unique<TransparencyLog>(std::move(*signer), MirrorPath());
    core_ =
        std::make_unique<VaultCore>(*store_, *log_, root_.public_key(), pin_,
                                    VaultConfig(), [] { return kNow; });

    alice_ = MakeAccount(root_, "alice");
    bob_ = MakeAccount(root_, "bob");
    carol_ = MakeAccount(root_, "carol");
    alice_token_ = Enrol(*alice_);
    bob_token_ = Enrol(*bob_);
    carol_token_ = Enrol(*carol_);
    // Alice owns the case; Alice and Bob are its members; Carol is not in
    // it.
    crypto::EpochMembership m;
    m.owners = {alice_->cert.fingerprint};
    m.members = {alice_->cert.fingerprint, bob_->cert.fingerprint};
    absl::StatusOr<crypto::VerifiedDescriptor> genesis =
        crypto::CreateGenesisDescriptor(case_id_, identity_.recipient(), m,
                                        kNow + 30 * kDay, alice_->cert,
                                        alice_->sign);
    ASSERT_TRUE(genesis.ok()) << genesis.status();
    tvault::v1::PublishDescriptorRequest publish;
    *publish.mutable_case_descriptor() = genesis->statement;
    ASSERT_TRUE(core_->PublishDescriptor(&alice_token_, publish).ok());
    absl::StatusOr<crypto::CaseChain> chain =
        crypto::CaseChain::Create(genesis->hash);
    ASSERT_TRUE(chain.ok());
    ASSERT_TRUE(chain
                    ->Accept(genesis->statement,
                             [this](const crypto::Fingerprint& f)
                                 -> const crypto::VerifiedCertificate* {
                               return f == alice_->cert.fingerprint
                                          ? &alice_->cert
                                          : nullptr;
                             })
                    .ok());
    chain_ = std::make_unique<crypto::CaseChain>(std::move(*chain));

    // One record (a 64 KiB plaintext, the smallest a record can be),
    // uploaded under many record ids.
    crypto::VectorSink sink;
    const crypto::AgeRecipient* to[] = {&identity_.recipient()};
    absl::StatusOr<std::unique_ptr<crypto::AgeEncryptor>> enc =
        crypto::AgeEncryptor::Create(to, sink);
    ASSERT_TRUE(enc.ok()) << enc.status();
    const std::vector<uint8_t> plaintext(65536, 0x5a);
    ASSERT_TRUE((*enc)->Write(plaintext).ok());
    ASSERT_TRUE((*enc)->Finish().ok());
    record_.assign(sink.bytes().begin(), sink.bytes().end());
    record_sha256_ = Str(crypto::ComputeSha256(AsBytes(record_)));
  }

  void TearDown() override {
    core_.reset();
    store_.reset();
  }

  std::string MirrorPath() const { return dir_.File("checkpoint.mirror"); }

  SessionTokenHash Enrol(const Account& a) {
    absl::StatusOr<tvault::v1::Challenge> c = core_->GetChallenge();
    EXPECT_TRUE(c.ok()) << c.status();
    tvault::v1::RegisterRequest r;
    *r.mutable_certificate() = a.cert.statement;
    *r.mutable_challenge() =
        *client::SignAuthChallenge(c->nonce(), a.sign, pin_, kNow);
    absl::StatusOr<tvault::v1::RegisterResponse> registered =
        core_->Register(r);
    EXPECT_TRUE(registered.ok()) << registered.status();
    return SignIn(a);
  }

  SessionTokenHash SignIn(const Account& a) {
    absl::StatusOr<tvault::v1::Challenge> c = core_->GetChallenge();
    EXPECT_TRUE(c.ok()) << c.status();
    tvault::v1::SignInRequest r;
    *r.mutable_challenge() =
        *client::SignAuthChallenge(c->nonce(), a.sign, pin_, kNow);
    absl::StatusOr<tvault::v1::Session> s = core_->SignIn(r);
    EXPECT_TRUE(s.ok()) << s.status();
    if (!s.ok()) return SessionTokenHash{};
    return SessionTokenHash::Of(AsBytes(s->token()));
  }

  absl::StatusOr<tvault::v1::RegisterResponse> Register(VaultCore& core,
                                                        const Account& a) {
    absl::StatusOr<tvault::v1::Challenge> c = core.GetChallenge();
    if (!c.ok()) return c.status();
    tvault::v1::RegisterRequest r;
    *r.mutable_certificate() = a.cert.statement;
    *r.mutable_challenge() =
        *client::SignAuthChallenge(c->nonce(), a.sign, pin_, kNow);
    return core.Register(r);
  }

  static RecordId NewRecordId() {
    RecordId id;
    randombytes_buf(id.data(), id.size());
    return id;
  }

  absl::StatusOr<tvault::v1::UploadResponse> Upload(
      VaultCore& core, const SessionTokenHash& token, const RecordId& id,
      const std::string& sha256) {
    std::vector<tvault::v1::UploadRequest> messages(2);
    tvault::v1::UploadStart* start = messages[0].mutable_start();
    start->set_case_id(Str(case_id_));
    start->set_record_id(Str(id));
    start->set_epoch(0);
    start->set_total_size(record_.size());
    start->set_sha256(sha256);
    messages[1].set_data(record_);
    ListUploadStream stream(std::move(messages));
    return core.Upload(&token, stream);
  }
  absl::StatusOr<tvault::v1::UploadResponse> Upload(
      const SessionTokenHash& token, const RecordId& id) {
    return Upload(*core_, token, id, record_sha256_);
  }

  absl::StatusOr<tvault::v1::UploadState> UploadState(VaultCore& core,
                                                      const RecordId& id) {
    tvault::v1::GetUploadStateRequest r;
    r.set_case_id(Str(case_id_));
    r.set_record_id(Str(id));
    return core.GetUploadState(&alice_token_, r);
  }

  // Bob's grant of epoch 0, and one for Alice whose signature is broken:
  // PublishGrants appends Bob's, then fails on Alice's.
  tvault::v1::PublishGrantsRequest HalfForgedGrants() {
    tvault::v1::PublishGrantsRequest r;
    for (const Account* member : {bob_.get(), alice_.get()}) {
      absl::StatusOr<crypto::CreatedGrant> g = crypto::CreateGrant(
          *chain_, 0, identity_, member->cert, alice_->cert, alice_->sign);
      EXPECT_TRUE(g.ok()) << g.status();
      tvault::v1::GrantRecord* record = r.add_grants();
      *record->mutable_grant() = member == alice_.get()
                                     ? FlipSignatureBit(g->statement)
                                     : g->statement;
      record->set_ciphertext(
          std::string(g->ciphertext.begin(), g->ciphertext.end()));
    }
    return r;
  }

  absl::StatusOr<crypto::Checkpoint> OpenCheckpoint(const std::string& note) {
    const crypto::NoteVerifier verifiers[] = {log_->verifier()};
    absl::StatusOr<crypto::OpenedNote> opened =
        crypto::OpenNote(note, verifiers);
    if (!opened.ok()) return opened.status();
    if (opened->verified.size() != 1) {
      return absl::InternalError("the note has no signature of the log key");
    }
    return crypto::ParseCheckpoint(opened->text);
  }

  // The checkpoint in the anti-rollback copy now (tree size 0 if none).
  uint64_t MirroredSize() {
    std::ifstream in(MirrorPath(), std::ios::binary);
    if (!in) return 0;
    const std::string note((std::istreambuf_iterator<char>(in)),
                           std::istreambuf_iterator<char>());
    absl::StatusOr<crypto::Checkpoint> cp = OpenCheckpoint(note);
    EXPECT_TRUE(cp.ok()) << cp.status();
    return cp.ok() ? cp->tree_size : 0;
  }

  // Checks a receipt fully (signed checkpoint of this log, inclusion proof
  // of the entry under it); returns the entry and sets `checkpoint`.
  LogEntry CheckReceipt(const Receipt& r,
                        crypto::Checkpoint* checkpoint = nullptr) {
    LogEntry entry;
    absl::StatusOr<crypto::Checkpoint> cp = OpenCheckpoint(r.checkpoint());
    EXPECT_TRUE(cp.ok()) << cp.status();
    if (!cp.ok()) return entry;
    EXPECT_EQ(cp->origin, kOrigin);
    EXPECT_LT(r.index(), cp->tree_size);
    std::vector<crypto::Hash> proof;
    for (const std::string& h : r.inclusion()) {
      absl::StatusOr<crypto::Hash> hash = crypto::HashFromBytes(AsBytes(h));
      EXPECT_TRUE(hash.ok()) << hash.status();
      if (hash.ok()) proof.push_back(*hash);
    }
    const absl::Status verified = crypto::VerifyInclusionProof(
        r.index(), cp->tree_size, crypto::LeafHash(AsBytes(r.entry())), proof,
        cp->root_hash);
    EXPECT_TRUE(verified.ok()) << verified;
    EXPECT_TRUE(crypto::ParseStrictly(r.entry(), entry).ok());
    if (checkpoint != nullptr) *checkpoint = *cp;
    return entry;
  }

  std::vector<LogEntryRow> ReadLog() {
    std::vector<LogEntryRow> out;
    absl::Status s = store_->RunInTransaction([&](StoreTransaction& txn) {
      absl::StatusOr<uint64_t> size = txn.LogSize();
      if (!size.ok()) return size.status();
      for (uint64_t at = 0; at < *size; at += kMaxLogEntriesPerRead) {
        absl::StatusOr<std::vector<LogEntryRow>> rows =
            txn.ReadLogEntries(at, std::min(*size, at + kMaxLogEntriesPerRead));
        if (!rows.ok()) return rows.status();
        out.insert(out.end(), rows->begin(), rows->end());
      }
      return absl::OkStatus();
    });
    EXPECT_TRUE(s.ok()) << s;
    return out;
  }

  // The root of the first `size` entries of the log as stored now.
  crypto::Hash RootAt(uint64_t size) {
    crypto::Hash root{};
    absl::Status s = store_->RunInTransaction([&](StoreTransaction& txn) {
      absl::StatusOr<crypto::Hash> r = LogTreeRoot(txn, size);
      if (!r.ok()) return r.status();
      root = *r;
      return absl::OkStatus();
    });
    EXPECT_TRUE(s.ok()) << s;
    return root;
  }

  bool HasAccount(const Account& a) {
    bool found = false;
    EXPECT_TRUE(store_
                    ->RunInTransaction([&](StoreTransaction& txn) {
                      found =
                          txn.FindAccountByFingerprint(a.cert.fingerprint).ok();
                      return absl::OkStatus();
                    })
                    .ok());
    return found;
  }

  // A TransparencyLog with the same key (another start of the vault).
  std::unique_ptr<TransparencyLog> SameLogKey() {
    absl::StatusOr<crypto::NoteSigner> signer =
        crypto::NoteSigner::Parse(log_key_->span());
    EXPECT_TRUE(signer.ok()) << signer.status();
    return std::make_unique<TransparencyLog>(std::move(*signer), MirrorPath());
  }

  // Makes the copy claim a larger tree than the database holds (as after a
  // restored backup): the vault then refuses to sign.
  void PlantLargerMirror() {
    absl::StatusOr<crypto::NoteSigner> signer =
        crypto::NoteSigner::Parse(log_key_->span());
    ASSERT_TRUE(signer.ok());
    crypto::Checkpoint cp;
    cp.origin = kOrigin;
    cp.tree_size = 1000;
    cp.root_hash.fill(0x07);
    absl::StatusOr<std::string> text = crypto::FormatCheckpoint(cp);
    ASSERT_TRUE(text.ok());
    absl::StatusOr<std::string> note = crypto::SignNote(*text, *signer);
    ASSERT_TRUE(note.ok());
    std::ofstream out(MirrorPath(), std::ios::binary | std::ios::trunc);
    out << *note;
  }

  TempDir dir_;
  SigningKey root_;
  crypto::SecretBytes db_key_;
  crypto::TlsKeyPin pin_{};
  std::unique_ptr<crypto::SecretBytes> log_key_;
  std::unique_ptr<SqlcipherStore> store_;
  std::unique_ptr<TransparencyLog> log_;
  std::unique_ptr<VaultCore> core_;
  std::unique_ptr<Account> alice_;
  std::unique_ptr<Account> bob_;
  std::unique_ptr<Account> carol_;
  SessionTokenHash alice_token_;
  SessionTokenHash bob_token_;
  SessionTokenHash carol_token_;
  crypto::CaseId case_id_ = crypto::NewCaseId();
  X25519Identity identity_ = X25519Identity::Generate();
  std::unique_ptr<crypto::CaseChain> chain_;
  std::string record_;
  std::string record_sha256_;
};

TEST_F(GroupCommitTest, ConcurrentCallsGetVerifiableReceiptsAndOneEntryEach) {
  constexpr int kUploaders = 8;
  constexpr int kUploadsEach = 6;
  const uint64_t size_before = ReadLog().size();
  const GroupCommitStats stats_before = core_->group_commit_stats();

  struct Result {
    RecordId id;
    absl::StatusOr<tvault::v1::UploadResponse> response;
    uint64_t mirrored_after = 0;  // the copy's tree size once answered
  };
  std::vector<std::vector<Result>> results(kUploaders);
  std::atomic<int> refused{0};
  std::atomic<int> forged{0};
  std::atomic<bool> stop{false};
  std::vector<std::thread> threads;
  for (int t = 0; t < kUploaders; ++t) {
    threads.emplace_back([&, t] {
      const SessionTokenHash& token = t % 2 == 0 ? alice_token_ : bob_token_;
      for (int i = 0; i < kUploadsEach; ++i) {
        Result r{.id = NewRecordId(), .response = absl::UnknownError("")};
        r.response = Upload(token, r.id);
        r.mirrored_after = MirroredSize();
        results[static_cast<size_t>(t)].push_back(std::move(r));
      }
    });
  }
  // Meanwhile, calls that fail inside their groups: uploads by someone
  // without the right, and grants that append an entry and then fail.
  threads.emplace_back([&] {
    while (!stop) {
      absl::StatusOr<tvault::v1::UploadResponse> r =
          Upload(carol_token_, NewRecordId());
      EXPECT_EQ(r.status().code(), absl::StatusCode::kPermissionDenied)
          << r.status();
      ++refused;
    }
  });
  threads.emplace_back([&] {
    const tvault::v1::PublishGrantsRequest grants = HalfForgedGrants();
    while (!stop) {
      absl::StatusOr<tvault::v1::PublishGrantsResponse> r =
          core_->PublishGrants(&alice_token_, grants);
      EXPECT_FALSE(r.ok());
      ++forged;
    }
  });
  for (int t = 0; t < kUploaders; ++t) threads[static_cast<size_t>(t)].join();
  stop = true;
  for (size_t t = kUploaders; t < threads.size(); ++t) threads[t].join();
  EXPECT_GT(refused.load(), 0);
  EXPECT_GT(forged.load(), 0);

  // Every upload succeeded with a receipt that verifies, for its record,
  // and the copy covered the receipt's checkpoint when it was answered.
  std::map<std::string, uint64_t> index_of;  // record id -> log index
  std::map<uint64_t, crypto::Hash> signed_roots;
  for (const std::vector<Result>& thread_results : results) {
    for (const Result& r : thread_results) {
      ASSERT_TRUE(r.response.ok()) << r.response.status();
      crypto::Checkpoint cp;
      const LogEntry entry = CheckReceipt(r.response->receipt(), &cp);
      ASSERT_TRUE(entry.has_record_added());
      EXPECT_EQ(entry.record_added().record_id(), Str(r.id));
      EXPECT_GE(r.mirrored_after, cp.tree_size);
      EXPECT_TRUE(
          index_of.emplace(Str(r.id), r.response->receipt().index()).second);
      auto [it, fresh] = signed_roots.emplace(cp.tree_size, cp.root_hash);
      EXPECT_EQ(it->second, cp.root_hash) << "two checkpoints of one size";
    }
  }
  ASSERT_EQ(index_of.size(), size_t{kUploaders * kUploadsEach});

  // The log holds each upload exactly once, at its receipt's index, and
  // nothing of the calls that failed.
  const std::vector<LogEntryRow> log = ReadLog();
  EXPECT_EQ(log.size(), size_before + kUploaders * kUploadsEach);
  std::set<std::string> seen;
  for (size_t i = size_before; i < log.size(); ++i) {
    LogEntry entry;
    ASSERT_TRUE(crypto::ParseStrictly(log[i].entry, entry).ok());
    ASSERT_TRUE(entry.has_record_added()) << "entry " << i;
    const std::string& id = entry.record_added().record_id();
    EXPECT_TRUE(seen.insert(id).second) << "logged twice";
    ASSERT_EQ(index_of.count(id), 1u);
    EXPECT_EQ(index_of[id], i);
  }

  // Every checkpoint signed is a prefix of the one log (never two
  // inconsistent ones), and the copy holds the latest.
  for (const auto& [size, root] : signed_roots) {
    EXPECT_EQ(RootAt(size), root) << "checkpoint of size " << size;
  }
  EXPECT_EQ(MirroredSize(), log.size());

  const GroupCommitStats stats = core_->group_commit_stats();
  EXPECT_GE(stats.members - stats_before.members,
            uint64_t{kUploaders * kUploadsEach});
  EXPECT_LE(stats.groups - stats_before.groups,
            stats.members - stats_before.members);
  EXPECT_LE(stats.largest, kMaxGroupMembers);
  EXPECT_EQ(stats.waiting, 0u);
}

TEST_F(GroupCommitTest, FailedCallIsUndoneAloneAndTheOthersShareOneCheckpoint) {
  const uint64_t size_before = ReadLog().size();
  std::unique_ptr<Account> dave = MakeAccount(root_, "dave");
  std::unique_ptr<Account> erin = MakeAccount(root_, "erin");
  // Challenges first: fetched before the queue is held up.
  const std::string dave_nonce = core_->GetChallenge()->nonce();
  const std::string erin_nonce = core_->GetChallenge()->nonce();
  const auto register_request = [&](const Account& a,
                                    const std::string& nonce) {
    tvault::v1::RegisterRequest r;
    *r.mutable_certificate() = a.cert.statement;
    *r.mutable_challenge() =
        *client::SignAuthChallenge(nonce, a.sign, pin_, kNow);
    return r;
  };

  const GroupCommitStats before = core_->group_commit_stats();
  StoreBlocker blocker(*store_);
  // A leads a group of its own and waits for the store.
  absl::StatusOr<tvault::v1::Challenge> a;
  std::thread ta([&] { a = core_->GetChallenge(); });
  ASSERT_TRUE(Eventually(
      [&] { return core_->group_commit_stats().groups == before.groups + 1; }));
  // B, C and D queue up, in that order: they will be the next group.
  absl::StatusOr<tvault::v1::PublishGrantsResponse> b;
  absl::StatusOr<tvault::v1::RegisterResponse> c;
  absl::StatusOr<tvault::v1::RegisterResponse> d;
  const tvault::v1::PublishGrantsRequest grants = HalfForgedGrants();
  std::thread tb([&] { b = core_->PublishGrants(&alice_token_, grants); });
  ASSERT_TRUE(
      Eventually([&] { return core_->group_commit_stats().waiting == 1; }));
  std::thread tc(
      [&] { c = core_->Register(register_request(*dave, dave_nonce)); });
  ASSERT_TRUE(
      Eventually([&] { return core_->group_commit_stats().waiting == 2; }));
  std::thread td(
      [&] { d = core_->Register(register_request(*erin, erin_nonce)); });
  ASSERT_TRUE(
      Eventually([&] { return core_->group_commit_stats().waiting == 3; }));
  blocker.Release();
  for (std::thread* t : {&ta, &tb, &tc, &td}) t->join();

  const GroupCommitStats after = core_->group_commit_stats();
  EXPECT_EQ(after.groups - before.groups, 2u);
  EXPECT_EQ(after.members - before.members, 4u);
  EXPECT_GE(after.largest, 3u);

  EXPECT_TRUE(a.ok()) << a.status();
  // B appended Bob's grant, then failed on the forged one: all of it is
  // undone, and only B is told.
  EXPECT_EQ(b.status().code(), absl::StatusCode::kPermissionDenied)
      << b.status();
  ASSERT_TRUE(c.ok()) << c.status();
  ASSERT_TRUE(d.ok()) << d.status();
  // C and D took the next indices (B's undone entry took none), under one
  // checkpoint signed for the group.
  EXPECT_EQ(c->receipt().index(), size_before);
  EXPECT_EQ(d->receipt().index(), size_before + 1);
  EXPECT_EQ(c->receipt().checkpoint(), d->receipt().checkpoint());
  crypto::Checkpoint cp;
  EXPECT_TRUE(CheckReceipt(c->receipt(), &cp).has_certificate_registered());
  EXPECT_EQ(cp.tree_size, size_before + 2);
  EXPECT_TRUE(CheckReceipt(d->receipt()).has_certificate_registered());
  EXPECT_EQ(MirroredSize(), size_before + 2);

  const std::vector<LogEntryRow> log = ReadLog();
  ASSERT_EQ(log.size(), size_before + 2);
  for (const LogEntryRow& row : log) {
    LogEntry entry;
    ASSERT_TRUE(crypto::ParseStrictly(row.entry, entry).ok());
    EXPECT_FALSE(entry.has_grant_added());
  }
  // Bob's grant is not stored either.
  tvault::v1::GetCaseRequest get;
  get.set_case_id(Str(case_id_));
  absl::StatusOr<tvault::v1::GetCaseResponse> bob_view =
      core_->GetCase(&bob_token_, get);
  ASSERT_TRUE(bob_view.ok()) << bob_view.status();
  EXPECT_EQ(bob_view->grants_size(), 0);
}

TEST_F(GroupCommitTest, GroupThatCannotCommitFailsEveryCallAndKeepsNothing) {
  const uint64_t size_before = ReadLog().size();
  // The copy now claims more than the database holds: the next group that
  // appends cannot sign its checkpoint.
  PlantLargerMirror();
  std::unique_ptr<TransparencyLog> log = SameLogKey();
  VaultCore core(*store_, *log, root_.public_key(), pin_, VaultConfig(),
                 [] { return kNow; });
  std::unique_ptr<Account> dave = MakeAccount(root_, "dave");
  const std::string nonce = core.GetChallenge()->nonce();
  tvault::v1::RegisterRequest request;
  *request.mutable_certificate() = dave->cert.statement;
  *request.mutable_challenge() =
      *client::SignAuthChallenge(nonce, dave->sign, pin_, kNow);

  const GroupCommitStats before = core.group_commit_stats();
  StoreBlocker blocker(*store_);
  absl::StatusOr<tvault::v1::Challenge> a;
  std::thread ta([&] { a = core.GetChallenge(); });
  ASSERT_TRUE(Eventually(
      [&] { return core.group_commit_stats().groups == before.groups + 1; }));
  // B appends (and so needs the signature); C would store a challenge.
  absl::StatusOr<tvault::v1::RegisterResponse> b;
  absl::StatusOr<tvault::v1::Challenge> c;
  std::thread tb([&] { b = core.Register(request); });
  ASSERT_TRUE(
      Eventually([&] { return core.group_commit_stats().waiting == 1; }));
  std::thread tc([&] { c = core.GetChallenge(); });
  ASSERT_TRUE(
      Eventually([&] { return core.group_commit_stats().waiting == 2; }));
  blocker.Release();
  for (std::thread* t : {&ta, &tb, &tc}) t->join();

  EXPECT_TRUE(a.ok()) << a.status();
  EXPECT_EQ(b.status().code(), absl::StatusCode::kFailedPrecondition);
  EXPECT_THAT(std::string(b.status().message()), HasSubstr("ROLLBACK"));
  // C's own part was fine, but it was in the group that failed.
  EXPECT_EQ(c.status(), b.status());
  EXPECT_EQ(ReadLog().size(), size_before);
  EXPECT_FALSE(HasAccount(*dave));
  // B's nonce was given back with the rollback: B may simply retry (and
  // fails the same way while the copy is ahead).
  EXPECT_EQ(core.Register(request).status().code(),
            absl::StatusCode::kFailedPrecondition);
}

TEST_F(GroupCommitTest, UploadWhoseGroupFailsResumesAndCommitsLater) {
  PlantLargerMirror();
  std::unique_ptr<TransparencyLog> log = SameLogKey();
  auto core =
      std::make_unique<VaultCore>(*store_, *log, root_.public_key(), pin_,
                                  VaultConfig(), [] { return kNow; });
  const RecordId id = NewRecordId();
  absl::StatusOr<tvault::v1::UploadResponse> failed =
      Upload(*core, alice_token_, id, record_sha256_);
  EXPECT_EQ(failed.status().code(), absl::StatusCode::kFailedPrecondition)
      << failed.status();
  // The upload is pending, with nothing of the last data kept: the client
  // resumes from what the vault reports.
  absl::StatusOr<tvault::v1::UploadState> state = UploadState(*core, id);
  ASSERT_TRUE(state.ok()) << state.status();
  EXPECT_EQ(state->held_bytes(), 0u);
  EXPECT_FALSE(state->has_receipt());

  // The operator resolves the conflict (here: the planted copy goes).
  core.reset();
  log.reset();
  std::filesystem::remove(MirrorPath());
  log = SameLogKey();
  core = std::make_unique<VaultCore>(*store_, *log, root_.public_key(), pin_,
                                     VaultConfig(), [] { return kNow; });
  absl::StatusOr<tvault::v1::UploadResponse> retried =
      Upload(*core, alice_token_, id, record_sha256_);
  ASSERT_TRUE(retried.ok()) << retried.status();
  crypto::Checkpoint cp;
  const LogEntry entry = CheckReceipt(retried->receipt(), &cp);
  EXPECT_EQ(entry.record_added().record_id(), Str(id));
  EXPECT_GE(MirroredSize(), cp.tree_size);
  // Asking again gives the same first receipt.
  state = UploadState(*core, id);
  ASSERT_TRUE(state.ok()) << state.status();
  EXPECT_EQ(state->held_bytes(), record_.size());
  EXPECT_EQ(state->receipt().checkpoint(), retried->receipt().checkpoint());
}

TEST_F(GroupCommitTest, BadUploadFailsAloneBeforeItsGroup) {
  // A wrong SHA-256 is found before the upload joins a group: it is
  // discarded, and an upload running beside it is not disturbed.
  const RecordId bad = NewRecordId();
  const RecordId good = NewRecordId();
  absl::StatusOr<tvault::v1::UploadResponse> bad_result;
  absl::StatusOr<tvault::v1::UploadResponse> good_result;
  std::thread tb([&] {
    bad_result = Upload(*core_, alice_token_, bad, std::string(32, '\x01'));
  });
  std::thread tg([&] { good_result = Upload(bob_token_, good); });
  tb.join();
  tg.join();
  EXPECT_EQ(bad_result.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_THAT(std::string(bad_result.status().message()),
              HasSubstr("does not match the announced SHA-256"));
  ASSERT_TRUE(good_result.ok()) << good_result.status();
  EXPECT_EQ(CheckReceipt(good_result->receipt()).record_added().record_id(),
            Str(good));
  absl::StatusOr<tvault::v1::UploadState> state = UploadState(*core_, bad);
  ASSERT_TRUE(state.ok());
  EXPECT_EQ(state->held_bytes(), 0u);
}

TEST_F(GroupCommitTest, IdleVaultCommitsALoneCallAtOnce) {
  // No timer: one call on an idle vault is a group of one, answered as
  // soon as it committed.
  const GroupCommitStats before = core_->group_commit_stats();
  const auto start = std::chrono::steady_clock::now();
  absl::StatusOr<tvault::v1::UploadResponse> r =
      Upload(alice_token_, NewRecordId());
  const auto took = std::chrono::steady_clock::now() - start;
  ASSERT_TRUE(r.ok()) << r.status();
  const GroupCommitStats after = core_->group_commit_stats();
  // Two calls (the start, the commit), each a group of its own.
  EXPECT_EQ(after.groups - before.groups, 2u);
  EXPECT_EQ(after.members - before.members, 2u);
  EXPECT_LT(took, std::chrono::seconds(5));
}

TEST_F(GroupCommitTest, StoreUndoesANestedPartAlone) {
  // StoreTransaction::RunNested, which every call of a group runs in.
  const auto challenge = [](uint8_t fill) {
    ChallengeRow row;
    row.nonce.fill(fill);
    row.expires_at = kNow + 60;
    return row;
  };
  const absl::Status committed =
      store_->RunInTransaction([&](StoreTransaction& txn) -> absl::Status {
        if (absl::Status s = txn.InsertChallenge(challenge(1)); !s.ok()) {
          return s;
        }
        // A part that stores something, then fails: undone, the error
        // returned, the transaction goes on.
        absl::Status failed = txn.RunNested([&](StoreTransaction& nested) {
          if (absl::Status s = nested.InsertChallenge(challenge(2)); !s.ok()) {
            return s;
          }
          return absl::PermissionDeniedError("refused");
        });
        EXPECT_EQ(failed.code(), absl::StatusCode::kPermissionDenied);
        // A part whose own store operation failed (and that ignores it).
        failed = txn.RunNested([&](StoreTransaction& nested) {
          EXPECT_TRUE(nested.InsertChallenge(challenge(3)).ok());
          return nested.InsertChallenge(challenge(1));  // AlreadyExists
        });
        EXPECT_EQ(failed.code(), absl::StatusCode::kAlreadyExists);
        // Parts that succeed stay, nested ones too; a failed inner part
        // leaves its outer part alone.
        absl::Status kept = txn.RunNested([&](StoreTransaction& nested) {
          if (absl::Status s = nested.InsertChallenge(challenge(4)); !s.ok()) {
            return s;
          }
          EXPECT_FALSE(nested
                           .RunNested([&](StoreTransaction& inner) {
                             EXPECT_TRUE(
                                 inner.InsertChallenge(challenge(5)).ok());
                             return absl::InternalError("inner");
                           })
                           .ok());
          return nested.RunNested([&](StoreTransaction& inner) {
            return inner.InsertChallenge(challenge(6));
          });
        });
        EXPECT_TRUE(kept.ok()) << kept;
        return absl::OkStatus();
      });
  ASSERT_TRUE(committed.ok()) << committed;
  std::map<int, bool> stored;
  for (uint8_t fill = 1; fill <= 6; ++fill) {
    ASSERT_TRUE(
        store_
            ->RunInTransaction([&](StoreTransaction& txn) {
              stored[fill] =
                  txn.ConsumeChallenge(challenge(fill).nonce, kNow).ok();
              return absl::OkStatus();
            })
            .ok());
  }
  EXPECT_EQ(stored, (std::map<int, bool>{{1, true},
                                         {2, false},
                                         {3, false},
                                         {4, true},
                                         {5, false},
                                         {6, true}}));
}

}  // namespace
}  // namespace tvault::vault
