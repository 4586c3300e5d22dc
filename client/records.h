// Records from the client's side (DESIGN.md §6–§8): sealing a file into a
// record on this device, sending it (resuming a broken upload), checking
// the receipt, listing a case's records, and getting one back with every
// binding checked.
//
// Where plaintext goes: only into RecordWriter (encrypted at once) and, on
// `get`, into the output file, which appears only after the record
// verified. Standard input is read into protected memory (at most
// kMaxStdinBytes) because a record's header states the body length first.
//
// Not thread-safe.
#ifndef TVAULT_CLIENT_RECORDS_H_
#define TVAULT_CLIENT_RECORDS_H_

#include <cstdint>
#include <functional>
#include <optional>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "client/cases.h"
#include "client/member.h"
#include "client/session.h"
#include "crypto/invite.h"
#include "crypto/record.h"
#include "proto/client.pb.h"
#include "proto/vault.pb.h"

namespace tvault::client {

inline constexpr uint64_t kMaxStdinBytes = uint64_t{64} << 20;
inline constexpr size_t kUploadMessageBytes = size_t{1} << 20;

// (what is happening, bytes done, bytes total); called from the calling
// thread at most every few MiB and once at the end of each phase.
using Progress =
    std::function<void(absl::string_view phase, uint64_t done, uint64_t total)>;

// What the submitter says about a record (all optional but the kind).
struct RecordDetails {
  tvault::v1::RecordKind kind = tvault::v1::TESTIMONY;
  std::string title;
  std::string description;
  std::string language;
  std::string event_date;  // YYYY-MM-DD
  std::string relation;
};

// The file to submit: a path, or "-" for standard input.
struct PlaintextInput {
  std::string path;
};

// Where a record goes, from verified sources only: an account's verified
// case chain, or what an invite says.
struct Destination {
  std::string case_id;  // 16 bytes
  uint32_t epoch = 0;
  crypto::X25519Recipient recipient = crypto::X25519Recipient::FromBytes({});
};

struct SubmitResult {
  std::string record_id;  // 16 bytes
  uint64_t size = 0;      // bytes of the age file
  tvault::v1::Receipt receipt;
  tvault::v1::LogEntry entry;  // verified: in the receipt's signed tree
};

// Account mode: seals the input into the outbox (encrypted; the submitter
// cannot read it back) and returns the outbox item. Send it with
// SendOutboxItem; it stays in the outbox until its receipt verified.
absl::StatusOr<tvault::v1::OutboxItem> SealToOutbox(
    const Home& home, const Destination& to, const PlaintextInput& input,
    const RecordDetails& details, const crypto::SigningKey& signer,
    const tvault::v1::SignedStatement* certificate, const Progress& progress);
std::vector<tvault::v1::OutboxItem> ListOutbox(const Home& home);
// An invite submission kept in the outbox (opt-in, with a warning) keeps
// its invite string beside it, to sign in with when it is sent; it is
// removed with the item. LoadOutboxInvite: NotFound for account items.
absl::Status SaveOutboxInvite(const Home& home, absl::string_view record_id,
                              const crypto::SecretBytes& invite_text);
absl::StatusOr<crypto::SecretBytes> LoadOutboxInvite(
    const Home& home, absl::string_view record_id);
// Sends one outbox item (resuming what the vault holds), checks the
// receipt, and removes it from the outbox. With `keep_receipt`, the
// receipt is kept under receipts/.
absl::StatusOr<SubmitResult> SendOutboxItem(VaultSession& session,
                                            const Home& home,
                                            const tvault::v1::OutboxItem& item,
                                            bool keep_receipt,
                                            const Progress& progress);

// Invite mode: nothing is written to disk. The record is encrypted twice
// with one prepared header (the first pass only measures and hashes), so
// memory stays bounded without a temporary file.
absl::StatusOr<SubmitResult> SubmitWithInvite(
    VaultSession& session, const crypto::ParsedInvite& invite,
    const crypto::SigningKey& invite_key, const PlaintextInput& input,
    const RecordDetails& details, const Progress& progress);

// A record as the vault lists it, with its title if this member holds the
// epoch key (UNVERIFIED until `get`: for display only).
struct RecordListing {
  tvault::v1::RecordSummary summary;
  std::optional<tvault::v1::RecordMetadata> metadata;
};
absl::StatusOr<std::vector<RecordListing>> ListCaseRecords(Member& member,
                                                           CaseView& view,
                                                           bool with_titles);

struct GotRecord {
  crypto::VerifiedRecord record;
  tvault::v1::RecordSummary summary;
  tvault::v1::LogEntry entry;
  uint64_t log_index = 0;
  std::string signer_handle;  // empty for invite signers
};
// Finds a record by id (hex) in the pinned cases (or `case_id`), downloads
// it, verifies every binding of DESIGN.md §6 against the log, and only
// then writes the original file to `output` ("-" for standard output,
// which receives provisional bytes: prefer a file). With
// `ciphertext_output`, the verified age file is kept there too (for the age
// tool or an export), also only once it verified.
absl::StatusOr<GotRecord> GetRecord(Member& member, CertificateDirectory& certs,
                                    absl::string_view record_id_hex,
                                    absl::string_view case_id,
                                    const std::string& output, bool overwrite,
                                    const Progress& progress,
                                    const std::string& ciphertext_output = "");

// Finds a record's case among the pinned cases. NotFound otherwise.
absl::StatusOr<std::pair<std::string, tvault::v1::RecordSummary>> FindRecord(
    Member& member, absl::string_view record_id, absl::string_view case_id);

// Sends an owner-signed deletion request; returns when the ciphertext goes.
absl::StatusOr<int64_t> RequestDeletion(Member& member,
                                        CertificateDirectory& certs,
                                        absl::string_view record_id_hex,
                                        absl::string_view reason, int64_t now);

}  // namespace tvault::client

#endif  // TVAULT_CLIENT_RECORDS_H_
