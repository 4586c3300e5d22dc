#include "client/cases.h"

#include <algorithm>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "crypto/grant.h"

namespace tvault::client {
namespace {

constexpr char kCasesDir[] = "cases";
constexpr int kGrantsPerRequest = 64;

std::string CaseFile(absl::string_view case_id) {
  return absl::StrCat(kCasesDir, "/", Hex(case_id));
}

absl::Status SaveState(const Home& home, const tvault::v1::CaseState& state) {
  return home.WriteMessage(CaseFile(state.card().case_id()), state);
}

// Publishes a descriptor and checks the receipt names it.
absl::Status Publish(Member& member, const crypto::VerifiedDescriptor& d) {
  tvault::v1::PublishDescriptorRequest request;
  *request.mutable_case_descriptor() = d.statement;
  tvault::v1::PublishDescriptorResponse response;
  if (grpc::Status s = member.session->stub().PublishDescriptor(
          member.session->Context().get(), request, &response);
      !s.ok()) {
    return Explain(s, "publishing the case descriptor");
  }
  if (!response.has_receipt()) return absl::OkStatus();  // stored before
  absl::StatusOr<tvault::v1::LogEntry> entry =
      member.session->CheckReceipt(response.receipt());
  if (!entry.ok()) return entry.status();
  if (!entry->has_descriptor_published() ||
      entry->descriptor_published().descriptor_hash() !=
          crypto::AsString(d.hash)) {
    return absl::DataLossError(
        "the vault's receipt is not for the descriptor just published");
  }
  return absl::OkStatus();
}

absl::Status PublishGrants(Member& member,
                           std::vector<crypto::CreatedGrant>& grants) {
  for (size_t begin = 0; begin < grants.size(); begin += kGrantsPerRequest) {
    tvault::v1::PublishGrantsRequest request;
    const size_t end = std::min(grants.size(), begin + kGrantsPerRequest);
    for (size_t i = begin; i < end; ++i) {
      tvault::v1::GrantRecord* g = request.add_grants();
      *g->mutable_grant() = grants[i].statement;
      g->set_ciphertext(std::string(crypto::AsString(grants[i].ciphertext)));
    }
    tvault::v1::PublishGrantsResponse response;
    if (grpc::Status s = member.session->stub().PublishGrants(
            member.session->Context().get(), request, &response);
        !s.ok()) {
      return Explain(s, "publishing the key grants");
    }
    for (const tvault::v1::Receipt& r : response.receipts()) {
      absl::StatusOr<tvault::v1::LogEntry> entry =
          member.session->CheckReceipt(r);
      if (!entry.ok()) return entry.status();
      if (!entry->has_grant_added()) {
        return absl::DataLossError("the vault's receipt is not for a grant");
      }
    }
  }
  return absl::OkStatus();
}

}  // namespace

crypto::EpochMembership MembershipOf(const tvault::v1::CaseDescriptor& d) {
  crypto::EpochMembership m;
  for (const std::string& fp : d.owners())
    m.owners.push_back(FixedBytes<16>(fp));
  for (const std::string& fp : d.members()) {
    m.members.push_back(FixedBytes<16>(fp));
  }
  for (const std::string& fp : d.contributors()) {
    m.contributors.push_back(FixedBytes<16>(fp));
  }
  return m;
}

std::vector<tvault::v1::CaseState> PinnedCases(const Home& home) {
  std::vector<tvault::v1::CaseState> out;
  for (const std::string& name : home.List(kCasesDir)) {
    tvault::v1::CaseState state;
    if (home.ReadMessage(absl::StrCat(kCasesDir, "/", name), "", state).ok()) {
      out.push_back(std::move(state));
    }
  }
  return out;
}

absl::StatusOr<std::string> ResolveCase(const Home& home,
                                        absl::string_view name) {
  std::vector<std::string> matches;
  for (const tvault::v1::CaseState& s : PinnedCases(home)) {
    const std::string hex = Hex(s.card().case_id());
    if (hex == name || s.card().title() == name ||
        (name.size() >= 4 && absl::StartsWith(hex, name))) {
      matches.push_back(s.card().case_id());
    }
  }
  if (matches.size() == 1) return matches[0];
  if (matches.empty()) {
    return absl::NotFoundError(absl::StrCat(
        "no case \"", name,
        "\" on this device: see tvault case list, or pin it with tvault case "
        "join CARD"));
  }
  return absl::InvalidArgumentError(absl::StrCat(
      "\"", name, "\" matches several cases; give more of the case id"));
}

absl::StatusOr<tvault::v1::CaseState> LoadCaseState(const Home& home,
                                                    absl::string_view case_id) {
  tvault::v1::CaseState state;
  if (absl::Status s = home.ReadMessage(
          CaseFile(case_id),
          "pin the case first with the card from its owner: tvault case join "
          "CARD",
          state);
      !s.ok()) {
    return s;
  }
  return state;
}

absl::StatusOr<CaseView> LoadCase(Member& member, CertificateDirectory& certs,
                                  absl::string_view case_id, bool open_grants) {
  absl::StatusOr<tvault::v1::CaseState> state =
      LoadCaseState(member.home, case_id);
  if (!state.ok()) return state.status();
  tvault::v1::GetCaseRequest request;
  request.set_case_id(std::string(case_id));
  tvault::v1::GetCaseResponse response;
  if (grpc::Status s = member.session->stub().GetCase(
          member.session->Context().get(), request, &response);
      !s.ok()) {
    return Explain(s, "reading the case");
  }
  if (response.descriptors_size() != response.descriptor_log_indices_size()) {
    return absl::DataLossError(
        "the vault's answer gives no log entry for some descriptors");
  }
  // Every owner may have signed something: fetch their certificates.
  std::vector<crypto::Fingerprint> owners;
  for (const tvault::v1::SignedStatement& st : response.descriptors()) {
    tvault::v1::CaseDescriptor body;
    if (body.ParseFromString(st.body())) {
      for (const std::string& fp : body.owners()) {
        owners.push_back(FixedBytes<16>(fp));
      }
    }
  }
  if (absl::Status s = certs.Fetch(owners); !s.ok()) return s;

  absl::StatusOr<crypto::CaseChain> chain =
      crypto::CaseChain::Create(crypto::AsBytes(state->card().genesis_hash()));
  if (!chain.ok()) return chain.status();
  CaseView view{*state, *std::move(chain), {}, {}, {}};
  for (int i = 0; i < response.descriptors_size(); ++i) {
    const tvault::v1::SignedStatement& st = response.descriptors(i);
    const uint64_t index = response.descriptor_log_indices(i);
    absl::StatusOr<tvault::v1::LogEntry> entry =
        member.session->ProvenEntry(index);
    if (!entry.ok()) return entry.status();
    const crypto::Sha256 hash =
        crypto::ComputeSha256(crypto::AsBytes(st.body()));
    if (!entry->has_descriptor_published() ||
        entry->descriptor_published().case_id() != case_id ||
        entry->descriptor_published().descriptor_hash() !=
            crypto::AsString(hash)) {
      return absl::DataLossError(absl::StrCat(
          "the vault gives log entry ", index,
          " for a case descriptor, but that entry is about something else"));
    }
    const int64_t at = entry->logged_at();
    absl::Status accepted =
        view.chain.Accept(st, [&](const crypto::Fingerprint& fp) {
          return certs.FindValidAt(fp, at);
        });
    if (absl::IsAlreadyExists(accepted)) {
      view.warnings.push_back(absl::StrCat(
          "EQUIVOCATION in epoch ", entry->descriptor_published().epoch(),
          ": two different signed descriptors exist (log entry ", index,
          "). Tell the case's owners."));
      continue;
    }
    if (!accepted.ok()) {
      return absl::Status(
          accepted.code(),
          absl::StrCat(
              "the case's descriptor in log entry ", index,
              " does not verify from the pinned card: ", accepted.message()));
    }
    view.descriptor_log_index.emplace(entry->descriptor_published().epoch(),
                                      index);
  }
  if (view.chain.empty()) {
    return absl::DataLossError(
        "the vault serves no descriptor for this case that matches the "
        "pinned card");
  }
  const uint32_t highest = *view.chain.highest_epoch();
  if (highest < view.state.highest_epoch()) {
    return absl::DataLossError(absl::StrCat(
        "ROLLBACK: the vault shows this case at epoch ", highest,
        ", but this device has seen epoch ", view.state.highest_epoch(),
        ". Do not upload to it; tell the case's owners"));
  }
  const std::string& recipient = view.chain.Current()->body.recipient();
  if (highest != view.state.highest_epoch() ||
      recipient != view.state.recipient()) {
    view.state.set_highest_epoch(highest);
    view.state.set_recipient(recipient);
    if (absl::Status s = SaveState(member.home, view.state); !s.ok()) return s;
  }
  if (!open_grants) return view;

  for (const tvault::v1::GrantRecord& g : response.grants()) {
    absl::StatusOr<tvault::v1::LogEntry> entry =
        member.session->ProvenEntry(g.log_index());
    if (!entry.ok()) return entry.status();
    const crypto::Sha256 hash =
        crypto::ComputeSha256(crypto::AsBytes(g.grant().body()));
    if (!entry->has_grant_added() ||
        entry->grant_added().grant_sha256() != crypto::AsString(hash)) {
      return absl::DataLossError(absl::StrCat(
          "the vault gives log entry ", g.log_index(),
          " for a key grant, but that entry is about something else"));
    }
    const int64_t at = entry->logged_at();
    absl::StatusOr<crypto::VerifiedGrant> grant = crypto::VerifyGrant(
        g.grant(), view.chain, [&](const crypto::Fingerprint& fp) {
          return certs.FindValidAt(fp, at);
        });
    if (!grant.ok()) {
      return absl::Status(grant.status().code(),
                          absl::StrCat("a key grant for this case does not "
                                       "verify: ",
                                       grant.status().message()));
    }
    if (grant->member != member.enrolment.certificate.fingerprint) continue;
    absl::StatusOr<crypto::X25519Identity> identity = crypto::OpenGrant(
        *grant, crypto::AsBytes(g.ciphertext()), member.keys.box);
    if (!identity.ok()) {
      return absl::Status(
          identity.status().code(),
          absl::StrCat("cannot open the key grant for epoch ",
                       grant->body.epoch(), ": ", identity.status().message()));
    }
    view.identities.insert_or_assign(grant->body.epoch(), *std::move(identity));
  }
  return view;
}

std::string CaseCardText(const tvault::v1::CaseCard& card) {
  return EncodeCarried(kCaseCardPrefix, card);
}

absl::StatusOr<std::string> CreateCase(Member& member, absl::string_view title,
                                       int64_t now) {
  const crypto::VerifiedCertificate& me = member.enrolment.certificate;
  const crypto::CaseId case_id = crypto::NewCaseId();
  crypto::X25519Identity identity = crypto::X25519Identity::Generate();
  crypto::EpochMembership membership;
  membership.owners.push_back(me.fingerprint);
  membership.members.push_back(me.fingerprint);
  absl::StatusOr<crypto::VerifiedDescriptor> genesis =
      crypto::CreateGenesisDescriptor(case_id, identity.recipient(), membership,
                                      now + crypto::kDefaultEpochRenewal, me,
                                      member.keys.sign);
  if (!genesis.ok()) return genesis.status();
  if (absl::Status s = Publish(member, *genesis); !s.ok()) return s;

  tvault::v1::CaseState state;
  state.mutable_card()->set_version(1);
  state.mutable_card()->set_case_id(std::string(crypto::AsString(case_id)));
  state.mutable_card()->set_genesis_hash(
      std::string(crypto::AsString(genesis->hash)));
  state.mutable_card()->set_title(std::string(title));
  state.set_recipient(genesis->body.recipient());
  if (absl::Status s = SaveState(member.home, state); !s.ok()) return s;

  absl::StatusOr<crypto::CaseChain> chain =
      crypto::CaseChain::Create(genesis->hash);
  if (!chain.ok()) return chain.status();
  if (absl::Status s = chain->Accept(genesis->statement,
                                     [&](const crypto::Fingerprint& fp) {
                                       return fp == me.fingerprint ? &me
                                                                   : nullptr;
                                     });
      !s.ok()) {
    return s;
  }
  absl::StatusOr<crypto::CreatedGrant> grant =
      crypto::CreateGrant(*chain, 0, identity, me, me, member.keys.sign);
  if (!grant.ok()) return grant.status();
  std::vector<crypto::CreatedGrant> grants;
  grants.push_back(*std::move(grant));
  if (absl::Status s = PublishGrants(member, grants); !s.ok()) return s;
  return std::string(crypto::AsString(case_id));
}

absl::StatusOr<CaseView> JoinCase(Member& member, CertificateDirectory& certs,
                                  const tvault::v1::CaseCard& card) {
  if (card.version() != 1 || card.case_id().size() != crypto::kCaseIdSize ||
      card.genesis_hash().size() != 32) {
    return absl::InvalidArgumentError("the case card is damaged");
  }
  const std::string file = CaseFile(card.case_id());
  tvault::v1::CaseState state;
  if (member.home.Exists(file)) {
    absl::StatusOr<tvault::v1::CaseState> old =
        LoadCaseState(member.home, card.case_id());
    if (!old.ok()) return old.status();
    if (old->card().genesis_hash() != card.genesis_hash()) {
      return absl::FailedPreconditionError(
          "this device already pinned this case with a different genesis: "
          "one of the two cards is forged. Compare them with the case's "
          "owner in person");
    }
    state = *std::move(old);
  }
  *state.mutable_card() = card;
  if (absl::Status s = SaveState(member.home, state); !s.ok()) return s;
  absl::StatusOr<CaseView> view =
      LoadCase(member, certs, card.case_id(), /*open_grants=*/true);
  if (!view.ok()) {
    if (state.highest_epoch() == 0) (void)member.home.Remove(file);
    return view.status();
  }
  return view;
}

absl::StatusOr<uint32_t> Rekey(
    Member& member, CertificateDirectory& certs, CaseView& view,
    const crypto::EpochMembership& membership,
    const std::vector<crypto::Fingerprint>& grant_history_to, int64_t now) {
  const crypto::VerifiedCertificate& me = member.enrolment.certificate;
  const crypto::VerifiedDescriptor* current = view.chain.Current();
  if (current == nullptr) return absl::FailedPreconditionError("empty case");
  crypto::X25519Identity identity = crypto::X25519Identity::Generate();
  absl::StatusOr<crypto::VerifiedDescriptor> next = crypto::CreateNextEpoch(
      *current, identity.recipient(), membership,
      now + crypto::kDefaultEpochRenewal, me, member.keys.sign);
  if (!next.ok()) return next.status();
  if (absl::Status s = Publish(member, *next); !s.ok()) return s;
  const uint32_t epoch = next->body.epoch();
  if (absl::Status s = view.chain.Accept(
          next->statement,
          [&](const crypto::Fingerprint& fp) { return certs.Find(fp); });
      !s.ok()) {
    return s;
  }
  view.state.set_highest_epoch(epoch);
  view.state.set_recipient(next->body.recipient());
  if (absl::Status s = SaveState(member.home, view.state); !s.ok()) return s;

  if (absl::Status s = certs.Fetch(membership.members); !s.ok()) return s;
  std::vector<crypto::CreatedGrant> grants;
  auto add = [&](uint32_t e, const crypto::X25519Identity& id,
                 const crypto::Fingerprint& fp) -> absl::Status {
    const crypto::VerifiedCertificate* cert = certs.Find(fp);
    if (cert == nullptr) return absl::NotFoundError("unknown member");
    absl::StatusOr<crypto::CreatedGrant> g =
        crypto::CreateGrant(view.chain, e, id, *cert, me, member.keys.sign);
    if (!g.ok()) return g.status();
    grants.push_back(*std::move(g));
    return absl::OkStatus();
  };
  for (const crypto::Fingerprint& fp : membership.members) {
    if (absl::Status s = add(epoch, identity, fp); !s.ok()) return s;
  }
  for (const crypto::Fingerprint& fp : grant_history_to) {
    for (const auto& [e, id] : view.identities) {
      if (absl::Status s = add(e, id, fp); !s.ok()) return s;
    }
  }
  if (absl::Status s = PublishGrants(member, grants); !s.ok()) return s;
  view.identities.insert_or_assign(epoch, std::move(identity));
  return epoch;
}

}  // namespace tvault::client
