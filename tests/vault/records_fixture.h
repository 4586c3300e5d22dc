// The calls a client of a real tvaultd makes about records, for the
// end-to-end tests (tests/vault/tvaultd_records_test.cc) and the
// reliability drivers (tests/reliability/): accounts that join the vault,
// a case with an owner, a second reviewer, a contributor and an outsider,
// real records (the container inside age, DESIGN.md §6), uploads in
// messages of at most 1 MiB, ranged downloads, listings, held bytes,
// grants, descriptors and deletion requests.
//
// Contract
// - Nothing here fails a test: every call returns a grpc::Status or an
//   absl::StatusOr carrying the vault's status (same code and message) or
//   the local failure, and leaves the checking to the caller, so the same
//   code serves gtest fixtures and standalone programs.
// - Free functions take the Vault::Stub& to call and the session token;
//   they keep no state. A gRPC stub may be shared by several threads, so
//   these functions may be called from several threads at once (one
//   crypto::RecordWriter per call; libsodium must be initialised first,
//   which tvault_crypto does before main).
// - RecordsCase is built once (Create) and then read-only, except
//   SignInAgain, which replaces the tokens: call it only while no other
//   thread uses the case. Its accessors and const members may be read
//   from several threads.
// - Record ids are random (16 bytes); the case's records are of epoch 0,
//   encrypted to the case's epoch key, whose identity the case holds.
#ifndef TVAULT_TESTS_VAULT_RECORDS_FIXTURE_H_
#define TVAULT_TESTS_VAULT_RECORDS_FIXTURE_H_

#include <grpcpp/grpcpp.h>

#include <array>
#include <chrono>
#include <cstddef>
#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "crypto/age_recipients.h"
#include "crypto/case_descriptor.h"
#include "crypto/certificate.h"
#include "crypto/grant.h"
#include "crypto/statement.h"
#include "crypto/tls_pin.h"
#include "proto/records.pb.h"
#include "proto/vault.grpc.pb.h"
#include "tests/crypto/trust_fixture.h"

namespace tvault::vault::testing {

using crypto::trust_testing::Account;
using tvault::v1::Vault;
using RecordId = std::array<uint8_t, 16>;

inline constexpr size_t kMiB = size_t{1} << 20;
inline constexpr int64_t kDay = 86400;

// The wall clock in seconds, read as the vault reads it (vault::SystemClock,
// CLOCK_REALTIME). Not std::time: glibc serves it from the kernel's coarse
// clock, which lags CLOCK_REALTIME by up to a tick, so just after a second
// begins it can still name the previous one while the vault already counts
// a deletion as due (tvault_crash found this).
inline int64_t Now() {
  return std::chrono::duration_cast<std::chrono::seconds>(
             std::chrono::system_clock::now().time_since_epoch())
      .count();
}

// A fresh random record id.
RecordId NewRecordId();

// An account whose certificate (signed by `root`) is valid from
// `not_before` to `not_after` (default: around the real clock).
absl::StatusOr<std::unique_ptr<Account>> NewLiveAccount(
    const crypto::SigningKey& root, const std::string& handle,
    std::vector<tvault::v1::Role> roles = {tvault::v1::REVIEWER},
    int64_t not_before = Now() - kDay, int64_t not_after = Now() + 300 * kDay);

// GetChallenge, then the challenge signed by `key` for the vault pinned
// as `pin`.
absl::StatusOr<tvault::v1::SignedStatement> SignVaultChallenge(
    Vault::Stub& stub, const crypto::SigningKey& key,
    const crypto::TlsKeyPin& pin);

// Registers `account`'s certificate with the vault.
grpc::Status RegisterAccount(Vault::Stub& stub, const crypto::TlsKeyPin& pin,
                             const Account& account);

// Registers `account` and signs it in; returns the session token.
absl::StatusOr<std::string> JoinVault(Vault::Stub& stub,
                                      const crypto::TlsKeyPin& pin,
                                      const Account& account);

// Signs `key` in; returns the session token.
absl::StatusOr<std::string> SignIn(Vault::Stub& stub,
                                   const crypto::TlsKeyPin& pin,
                                   const crypto::SigningKey& key);

// A record (the container inside age, to `epoch_recipient`) of `body`
// signed by an account (its certificate in the metadata) or by an invite
// key (no certificate; a relation instead), of case `case_id`, epoch 0.
absl::StatusOr<std::string> MakeAccountRecord(
    const crypto::X25519Recipient& epoch_recipient, const Account& signer,
    const crypto::CaseId& case_id, const RecordId& record_id,
    const std::string& body);
absl::StatusOr<std::string> MakeInviteRecord(
    const crypto::X25519Recipient& epoch_recipient,
    const crypto::SigningKey& invite_key, const crypto::CaseId& case_id,
    const RecordId& record_id, const std::string& body);

// The UploadStart for `file` (an age file) as record `id` of `case_id`,
// epoch 0, resuming at `offset`.
tvault::v1::UploadStart UploadStartFor(const crypto::CaseId& case_id,
                                       const RecordId& id,
                                       const std::string& file,
                                       uint64_t offset = 0);

// Sends `start`, then file[start.offset, stop) in `chunk`-byte messages,
// and returns the vault's status (stop < size: the vault answers
// FAILED_PRECONDITION, "resume from offset …"). `response` may be null.
// `context_hook`, if set, is called with the call's context before the
// first message (to set a deadline or keep it to cancel the call).
grpc::Status SendUpload(
    Vault::Stub& stub, const std::string& token,
    const tvault::v1::UploadStart& start, const std::string& file, size_t stop,
    tvault::v1::UploadResponse* response, size_t chunk = kMiB,
    const std::function<void(grpc::ClientContext&)>& context_hook = nullptr);

// The whole of `file` as record `id` of `case_id`, from offset 0.
grpc::Status UploadRecord(Vault::Stub& stub, const std::string& token,
                          const crypto::CaseId& case_id, const RecordId& id,
                          const std::string& file,
                          tvault::v1::UploadResponse* response = nullptr);

// Bytes [offset, offset + length) of record `id` (length 0: to the end).
// Internal if the vault sends a message of more than 1 MiB.
absl::StatusOr<std::string> DownloadRecord(Vault::Stub& stub,
                                           const std::string& token,
                                           const RecordId& id,
                                           uint64_t offset = 0,
                                           uint64_t length = 0);

// One page of the records of `case_id`.
absl::StatusOr<tvault::v1::ListRecordsResponse> ListRecords(
    Vault::Stub& stub, const std::string& token, const crypto::CaseId& case_id,
    uint32_t page_size = 0, const std::string& page_token = "");

// Every record of `case_id`, following the page tokens (pages of 1000).
absl::StatusOr<std::vector<tvault::v1::RecordSummary>> ListAllRecords(
    Vault::Stub& stub, const std::string& token, const crypto::CaseId& case_id);

// How many bytes of the unfinished upload `id` the vault holds.
absl::StatusOr<uint64_t> HeldBytes(Vault::Stub& stub, const std::string& token,
                                   const crypto::CaseId& case_id,
                                   const RecordId& id);

// PublishDescriptor and PublishGrants (one grant); `response` may be null.
grpc::Status PublishDescriptor(
    Vault::Stub& stub, const std::string& token,
    const tvault::v1::SignedStatement& descriptor,
    tvault::v1::PublishDescriptorResponse* response = nullptr);
grpc::Status PublishGrant(
    Vault::Stub& stub, const std::string& token,
    const crypto::CreatedGrant& grant,
    tvault::v1::PublishGrantsResponse* response = nullptr);

// GetCase as the caller of `token`.
absl::StatusOr<tvault::v1::GetCaseResponse> GetCase(Vault::Stub& stub,
                                                    const std::string& token,
                                                    const crypto::CaseId& id);

// The owner-signed deletion request of record `id` of `case_id`, and its
// RequestDeletion call.
tvault::v1::SignedStatement DeletionRequest(const crypto::SigningKey& owner,
                                            const crypto::CaseId& case_id,
                                            const RecordId& id,
                                            const std::string& reason);
grpc::Status RequestDeletion(Vault::Stub& stub, const std::string& token,
                             const tvault::v1::SignedStatement& request,
                             tvault::v1::RequestDeletionResponse* response);

// The vault's latest signed checkpoint (the note).
absl::StatusOr<std::string> GetCheckpoint(Vault::Stub& stub,
                                          const std::string& token);

// Log entries [begin, end), end - begin <= 1024.
absl::StatusOr<std::vector<std::string>> GetLogEntries(Vault::Stub& stub,
                                                       const std::string& token,
                                                       uint64_t begin,
                                                       uint64_t end);

// A case of epoch 0 on a running vault: alice (owner and reviewer), bob
// (reviewer), dave (contributor), all joined and signed in, and erin
// (reviewer, joined, in no case). The genesis descriptor is published by
// alice and accepted into chain().
class RecordsCase {
 public:
  static absl::StatusOr<std::unique_ptr<RecordsCase>> Create(
      Vault::Stub& stub, const crypto::SigningKey& root,
      const crypto::TlsKeyPin& pin);

  // Signs alice, bob and dave in again (after a restart, or when the
  // sessions expire).
  absl::Status SignInAgain(Vault::Stub& stub, const crypto::TlsKeyPin& pin);

  // A record of this case signed by `signer` / by an invite key.
  absl::StatusOr<std::string> MakeRecord(const Account& signer,
                                         const RecordId& id,
                                         const std::string& body) const;
  absl::StatusOr<std::string> MakeInviteRecord(
      const crypto::SigningKey& invite_key, const RecordId& id,
      const std::string& body) const;

  const crypto::CaseId& case_id() const { return case_id_; }
  const crypto::X25519Identity& epoch_key() const { return epoch_key_; }
  const crypto::CaseChain& chain() const { return *chain_; }
  const crypto::VerifiedDescriptor& genesis() const { return *genesis_; }

  const Account& alice() const { return *alice_; }
  const Account& bob() const { return *bob_; }
  const Account& dave() const { return *dave_; }
  const Account& erin() const { return *erin_; }
  const std::string& alice_token() const { return alice_token_; }
  const std::string& bob_token() const { return bob_token_; }
  const std::string& dave_token() const { return dave_token_; }
  const std::string& erin_token() const { return erin_token_; }

 private:
  RecordsCase() = default;

  crypto::CaseId case_id_ = crypto::NewCaseId();
  crypto::X25519Identity epoch_key_ = crypto::X25519Identity::Generate();
  std::optional<crypto::CaseChain> chain_;
  std::optional<crypto::VerifiedDescriptor> genesis_;
  std::unique_ptr<Account> alice_, bob_, dave_, erin_;
  std::string alice_token_, bob_token_, dave_token_, erin_token_;
};

}  // namespace tvault::vault::testing

#endif  // TVAULT_TESTS_VAULT_RECORDS_FIXTURE_H_
