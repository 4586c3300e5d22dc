#include "client/invites.h"

#include <map>

#include "absl/strings/str_cat.h"

namespace tvault::client {

absl::StatusOr<crypto::CreatedInvite> CreateCaseInvite(
    Member& member, const CaseView& view, uint32_t uses,
    std::optional<int64_t> expires, int64_t now) {
  crypto::InviteOptions options;
  options.now = now;
  options.expires = expires;
  options.uses = uses;
  absl::StatusOr<crypto::CreatedInvite> invite = crypto::CreateInvite(
      view.chain, member.enrolment.bundle_statement, member.enrolment.org_pk,
      member.enrolment.certificate, member.keys.sign, options);
  if (!invite.ok()) return invite.status();
  tvault::v1::CreateInviteRequest request;
  *request.mutable_invite() = invite->statement;
  tvault::v1::CreateInviteResponse response;
  if (grpc::Status s = member.session->stub().CreateInvite(
          member.session->Context().get(), request, &response);
      !s.ok()) {
    return Explain(s, "registering the invite");
  }
  absl::StatusOr<tvault::v1::LogEntry> entry =
      member.session->CheckReceipt(response.receipt());
  if (!entry.ok()) return entry.status();
  if (!entry->has_invite_created() || entry->invite_created().invite_pk() !=
                                          crypto::AsString(invite->invite_pk)) {
    return absl::DataLossError("the vault's receipt is not for this invite");
  }
  return invite;
}

absl::Status RevokeCaseInvite(Member& member, absl::string_view case_id,
                              absl::string_view invite_pk) {
  tvault::v1::RevokeInviteRequest request;
  request.set_case_id(std::string(case_id));
  request.set_invite_pk(std::string(invite_pk));
  tvault::v1::RevokeInviteResponse response;
  if (grpc::Status s = member.session->stub().RevokeInvite(
          member.session->Context().get(), request, &response);
      !s.ok()) {
    return Explain(s, "revoking the invite");
  }
  if (!response.has_receipt()) return absl::OkStatus();  // revoked before
  absl::StatusOr<tvault::v1::LogEntry> entry =
      member.session->CheckReceipt(response.receipt());
  if (!entry.ok()) return entry.status();
  if (!entry->has_invite_revoked() ||
      entry->invite_revoked().invite_pk() != invite_pk) {
    return absl::DataLossError(
        "the vault's receipt is not for this invite's revocation");
  }
  return absl::OkStatus();
}

absl::StatusOr<std::vector<OpenInvite>> OpenInvites(Member& member,
                                                    absl::string_view case_id,
                                                    int64_t now) {
  absl::StatusOr<std::vector<VaultSession::IndexedEntry>> entries =
      member.session->ScanLog([&](const tvault::v1::LogEntry& e) {
        return (e.has_invite_created() &&
                e.invite_created().case_id() == case_id) ||
               (e.has_invite_revoked() &&
                e.invite_revoked().case_id() == case_id);
      });
  if (!entries.ok()) return entries.status();
  std::map<std::string, OpenInvite> open;
  for (const auto& [index, e] : *entries) {
    if (e.has_invite_created()) {
      open[e.invite_created().invite_pk()] =
          OpenInvite{e.invite_created().invite_pk(), e.invite_created().epoch(),
                     e.invite_created().expires(), e.invite_created().uses()};
    } else {
      open.erase(e.invite_revoked().invite_pk());
    }
  }
  std::vector<OpenInvite> out;
  for (auto& [pk, inv] : open) {
    if (inv.expires > now) out.push_back(std::move(inv));
  }
  return out;
}

}  // namespace tvault::client
