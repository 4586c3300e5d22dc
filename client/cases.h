// Cases from the member's side (DESIGN.md §5): the descriptor chain
// verified from the pinned genesis, each descriptor's "epoch started" log
// entry proven, the grants addressed to this member opened, and the
// owner's operations (create, add or remove a member).
//
// Membership always comes from the signed descriptors, never from the
// vault's word. A case served at a lower epoch than this device has seen is
// refused (rollback).
//
// Not thread-safe.
#ifndef TVAULT_CLIENT_CASES_H_
#define TVAULT_CLIENT_CASES_H_

#include <cstdint>
#include <map>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "client/member.h"
#include "crypto/age_recipients.h"
#include "crypto/case_descriptor.h"
#include "proto/client.pb.h"

namespace tvault::client {

inline constexpr char kCaseCardPrefix[] = "tvault-case-1:";

struct CaseView {
  tvault::v1::CaseState state;  // as stored (updated by LoadCase)
  crypto::CaseChain chain;
  // Epoch identities this member was granted, verified against the chain.
  std::map<uint32_t, crypto::X25519Identity> identities;
  // Log index of each epoch's DescriptorPublished entry (proven).
  std::map<uint32_t, uint64_t> descriptor_log_index;
  std::vector<std::string> warnings;  // equivocation evidence, for the user
};

// The case id (16 bytes) of a pinned case given as hex, or as a unique
// prefix of at least 4 hex digits, or by its exact title.
absl::StatusOr<std::string> ResolveCase(const Home& home,
                                        absl::string_view name);
absl::StatusOr<tvault::v1::CaseState> LoadCaseState(const Home& home,
                                                    absl::string_view case_id);
std::vector<tvault::v1::CaseState> PinnedCases(const Home& home);

// Fetches, verifies and stores the case. With `open_grants`, also opens
// the grants addressed to this member.
absl::StatusOr<CaseView> LoadCase(Member& member, CertificateDirectory& certs,
                                  absl::string_view case_id, bool open_grants);

// Creates a case owned by this member (who must be a reviewer): epoch 0,
// its grant to the creator, and the pinned card. Returns the case id.
absl::StatusOr<std::string> CreateCase(Member& member, absl::string_view title,
                                       int64_t now);

// Pins a case from its card (checks the case verifies from it).
absl::StatusOr<CaseView> JoinCase(Member& member, CertificateDirectory& certs,
                                  const tvault::v1::CaseCard& card);

std::string CaseCardText(const tvault::v1::CaseCard& card);

// Starts a new epoch with `membership` and grants its identity to every
// member in it; `grant_history_to` additionally gets every earlier epoch
// this member holds. Returns the new epoch.
absl::StatusOr<uint32_t> Rekey(
    Member& member, CertificateDirectory& certs, CaseView& view,
    const crypto::EpochMembership& membership,
    const std::vector<crypto::Fingerprint>& grant_history_to, int64_t now);

// Membership of a descriptor as fingerprints.
crypto::EpochMembership MembershipOf(const tvault::v1::CaseDescriptor& d);

}  // namespace tvault::client

#endif  // TVAULT_CLIENT_CASES_H_
