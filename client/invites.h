// Invites from an owner's side (DESIGN.md §7): make one for the case's
// current epoch, register its statement with the vault, revoke it, and
// find a case's open invites in the log.
//
// The invite string carries a secret seed: it is returned in SecretBytes
// and must go only to the family member.
#ifndef TVAULT_CLIENT_INVITES_H_
#define TVAULT_CLIENT_INVITES_H_

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "client/cases.h"
#include "client/member.h"
#include "crypto/invite.h"

namespace tvault::client {

absl::StatusOr<crypto::CreatedInvite> CreateCaseInvite(
    Member& member, const CaseView& view, uint32_t uses,
    std::optional<int64_t> expires, int64_t now);

absl::Status RevokeCaseInvite(Member& member, absl::string_view case_id,
                              absl::string_view invite_pk);

struct OpenInvite {
  std::string invite_pk;  // 32 bytes
  uint32_t epoch = 0;
  int64_t expires = 0;
  uint32_t uses = 0;
};
// Invites of the case that are logged, not revoked and not expired at `now`
// (uses left are the vault's to count).
absl::StatusOr<std::vector<OpenInvite>> OpenInvites(Member& member,
                                                    absl::string_view case_id,
                                                    int64_t now);

}  // namespace tvault::client

#endif  // TVAULT_CLIENT_INVITES_H_
