#include "client/commands.h"

#include <fcntl.h>
#include <sodium.h>
#include <unistd.h>

#include <cstdio>
#include <ctime>
#include <string>
#include <vector>

#include "absl/strings/ascii.h"
#include "absl/strings/match.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "absl/time/time.h"
#include "client/account.h"
#include "client/cases.h"
#include "client/home.h"
#include "client/invites.h"
#include "client/member.h"
#include "client/org.h"
#include "client/output_file.h"
#include "client/passphrase.h"
#include "client/qr_png.h"
#include "client/records.h"
#include "crypto/diceware.h"
#include "crypto/invite.h"

namespace tvault::client {

struct CommandState {
  std::string home_dir;
  std::string passphrase_file;
  bool yes = false;
  // org
  std::string request, role = "reviewer", cert, bundle, reason, output;
  int64_t days = kDefaultCertificateDays;
  // keys / enrol
  std::string handle, package;
  int diceware_words = static_cast<int>(crypto::kDefaultDicewareWords);
  // cases
  std::string title, case_name, card, member;
  // invites
  uint32_t uses = crypto::kDefaultInviteUses;
  std::string expires, invite_key, qr;
  // submit
  std::string input, invite, kind = "testimony", language, event_date,
                             description, relation;
  bool keep_receipt = false, use_outbox = false;
  // records
  std::string record, record_case;
  bool overwrite = false;
  std::string ciphertext;
  int64_t epoch = -1;
};

namespace {

int64_t Now() { return static_cast<int64_t>(std::time(nullptr)); }

void Print(absl::string_view text) {
  std::fwrite(text.data(), 1, text.size(), stdout);
  std::fflush(stdout);
}
void Note(absl::string_view text) {
  std::fwrite(text.data(), 1, text.size(), stderr);
}

absl::StatusOr<crypto::SecretBytes> Passphrase(const CommandState& st,
                                               absl::string_view prompt,
                                               bool confirm) {
  if (st.passphrase_file.empty()) return ReadPassphrase(prompt, confirm);
  absl::StatusOr<std::vector<uint8_t>> bytes;
  {
    const int fd = ::open(st.passphrase_file.c_str(), O_RDONLY | O_CLOEXEC);
    if (fd < 0) {
      return absl::NotFoundError(
          absl::StrCat("cannot open the passphrase file ", st.passphrase_file));
    }
    crypto::SecretBytes buf(kMaxPassphraseLength + 2);
    crypto::FdSource in(fd);
    absl::StatusOr<size_t> n = crypto::ReadFull(in, buf.span());
    ::close(fd);
    if (!n.ok()) return n.status();
    size_t len = *n;
    if (len > kMaxPassphraseLength + 1) {
      return absl::InvalidArgumentError("the passphrase file is too long");
    }
    size_t end = 0;
    while (end < len && buf.data()[end] != '\n' && buf.data()[end] != '\r') {
      ++end;
    }
    if (end == 0) {
      return absl::InvalidArgumentError("the passphrase file is empty");
    }
    return crypto::SecretBytes::CopyFrom(buf.span().subspan(0, end));
  }
}

absl::StatusOr<Home> OpenHome(const CommandState& st) {
  return Home::Open(st.home_dir);
}

absl::StatusOr<Member> Open(const CommandState& st) {
  absl::StatusOr<Home> home = OpenHome(st);
  if (!home.ok()) return home.status();
  absl::StatusOr<crypto::SecretBytes> pass =
      Passphrase(st, "Passphrase for your tvault keys: ", false);
  if (!pass.ok()) return pass.status();
  return OpenMember(*std::move(home), *pass);
}

// A member, signed in, with one of their pinned cases verified.
struct CaseSession {
  explicit CaseSession(Member m) : member(std::move(m)), certs(member) {}
  Member member;
  CertificateDirectory certs;
  std::string case_id;
  std::optional<CaseView> view;
};

absl::StatusOr<std::unique_ptr<CaseSession>> OpenCase(const CommandState& st,
                                                      bool open_grants) {
  absl::StatusOr<Member> m = Open(st);
  if (!m.ok()) return m.status();
  auto c = std::make_unique<CaseSession>(*std::move(m));
  absl::StatusOr<std::string> id = ResolveCase(c->member.home, st.case_name);
  if (!id.ok()) return id.status();
  c->case_id = *std::move(id);
  absl::StatusOr<CaseView> view =
      LoadCase(c->member, c->certs, c->case_id, open_grants);
  if (!view.ok()) return view.status();
  c->view.emplace(*std::move(view));
  return c;
}

absl::Status Confirm(const CommandState& st, absl::string_view question) {
  if (st.yes) return absl::OkStatus();
  const int tty = ::open("/dev/tty", O_RDWR | O_CLOEXEC);
  if (tty < 0) {
    return absl::FailedPreconditionError(
        "this needs a confirmation and there is no terminal; compare the "
        "fingerprints first, then run again with --yes");
  }
  const std::string q = absl::StrCat(question, " Type yes to go on: ");
  (void)!::write(tty, q.data(), q.size());
  char answer[16] = {};
  const ssize_t n = ::read(tty, answer, sizeof answer - 1);
  ::close(tty);
  if (n > 0 && absl::StripAsciiWhitespace(absl::string_view(
                   answer, static_cast<size_t>(n))) == "yes") {
    return absl::OkStatus();
  }
  return absl::CancelledError("not confirmed; nothing was changed");
}

Progress TerminalProgress() {
  if (!::isatty(STDERR_FILENO)) return Progress();
  return [](absl::string_view phase, uint64_t done, uint64_t total) {
    const int pct =
        total == 0
            ? 100
            : static_cast<int>(done * 100 / std::max<uint64_t>(total, 1));
    std::fprintf(stderr, "\r%-10.*s %3d%%  %llu of %llu MiB   ",
                 static_cast<int>(phase.size()), phase.data(), pct,
                 static_cast<unsigned long long>(done >> 20),
                 static_cast<unsigned long long>(total >> 20));
    if (done == total) std::fputc('\n', stderr);
  };
}

std::string FormatTime(int64_t t) {
  return absl::FormatTime("%Y-%m-%d %H:%M UTC", absl::FromUnixSeconds(t),
                          absl::UTCTimeZone());
}

std::string CheckpointFingerprint(const crypto::Checkpoint& c) {
  const crypto::Sha256 h = crypto::ComputeSha256(crypto::AsBytes(absl::StrCat(
      c.origin, "\n", c.tree_size, "\n", crypto::AsString(c.root_hash))));
  std::string hex = Hex(absl::MakeConstSpan(h.data(), 8));
  return absl::StrCat(hex.substr(0, 4), " ", hex.substr(4, 4), " ",
                      hex.substr(8, 4), " ", hex.substr(12, 4));
}

absl::StatusOr<int64_t> ParseDuration(absl::string_view text) {
  int64_t n = 0;
  if (text.size() < 2 ||
      !absl::SimpleAtoi(text.substr(0, text.size() - 1), &n) || n <= 0) {
    return absl::InvalidArgumentError(
        "a duration is a number and a unit: 90m, 12h or 3d");
  }
  switch (text.back()) {
    case 'm':
      return n * 60;
    case 'h':
      return n * 3600;
    case 'd':
      return n * 86400;
    default:
      return absl::InvalidArgumentError(
          "a duration is a number and a unit: 90m, 12h or 3d");
  }
}

absl::StatusOr<tvault::v1::RecordKind> ParseKind(absl::string_view text) {
  tvault::v1::RecordKind kind;
  std::string upper = absl::AsciiStrToUpper(text);
  for (char& c : upper) {
    if (c == '-') c = '_';
  }
  if (!tvault::v1::RecordKind_Parse(upper, &kind) ||
      kind == tvault::v1::KIND_UNSPECIFIED) {
    return absl::InvalidArgumentError(
        "--kind is one of: testimony, meeting-transcript, audio, video, "
        "image, document, other");
  }
  return kind;
}

// ---- org ------------------------------------------------------------------

absl::Status OrgInit(const CommandState& st) {
  absl::StatusOr<Home> home = OpenHome(st);
  if (!home.ok()) return home.status();
  Note(
      "The organisation root signs every certificate and the server "
      "bundle. Choose a long passphrase (at least 8 words) and keep this "
      "machine offline.\n");
  absl::StatusOr<crypto::SecretBytes> pass =
      Passphrase(st, "New passphrase for the organisation root: ", true);
  if (!pass.ok()) return pass.status();
  Note("Sealing the root key (Argon2id, 1 GiB; a few seconds)...\n");
  absl::StatusOr<crypto::SignPublicKey> pk = InitOrg(*home, *pass);
  if (!pk.ok()) return pk.status();
  Print(absl::StrCat(
      "Organisation root created in ", home->Path(kOrgKeystoreFile),
      "\norganisation key fingerprint: ",
      SignKeyFingerprint(crypto::AsString(*pk)),
      "\norganisation public key (for tvaultd init --org-key): ", Hex(*pk),
      "\nNext: sign the vault's bundle (tvault org sign-bundle BUNDLE) and "
      "certify members (tvault org certify REQUEST --role reviewer).\n"));
  return absl::OkStatus();
}

absl::StatusOr<crypto::SigningKey> UnlockRoot(const CommandState& st,
                                              const Home& home) {
  absl::StatusOr<crypto::SecretBytes> pass =
      Passphrase(st, "Passphrase for the organisation root: ", false);
  if (!pass.ok()) return pass.status();
  return UnlockOrg(home, *pass);
}

absl::Status OrgCertify(const CommandState& st) {
  absl::StatusOr<Home> home = OpenHome(st);
  if (!home.ok()) return home.status();
  tvault::v1::CertificateRequest request;
  if (absl::Status s = ReadCarriedMessage(st.request, kRequestPrefix,
                                          "a certificate request", request);
      !s.ok()) {
    return s;
  }
  tvault::v1::Role role;
  if (st.role == "reviewer") {
    role = tvault::v1::REVIEWER;
  } else if (st.role == "contributor") {
    role = tvault::v1::CONTRIBUTOR;
  } else {
    return absl::InvalidArgumentError("--role is reviewer or contributor");
  }
  Note(absl::StrCat(
      "Request from \"", request.handle(),
      "\"\n  signing key fingerprint: ", SignKeyFingerprint(request.sign_pk()),
      "\n  box key fingerprint:     ", BoxKeyFingerprint(request.box_pk()),
      "\nCompare these with what `tvault keys show` prints on "
      "the member's device, in person.\n"));
  if (absl::Status s = Confirm(st, "Do the fingerprints match?"); !s.ok()) {
    return s;
  }
  absl::StatusOr<crypto::SigningKey> org = UnlockRoot(st, *home);
  if (!org.ok()) return org.status();
  absl::StatusOr<tvault::v1::SignedStatement> cert =
      Certify(*org, request, role, st.days, Now());
  if (!cert.ok()) return cert.status();
  const std::string out =
      st.output.empty() ? absl::StrCat(request.handle(), ".cert") : st.output;
  if (absl::Status s = WriteCarriedFile(
          out, EncodeCarried(kCertificatePrefix, *cert), st.overwrite);
      !s.ok()) {
    return s;
  }
  absl::StatusOr<crypto::VerifiedCertificate> v =
      crypto::VerifyCertificate(*cert, org->public_key());
  Print(absl::StrCat(
      "Certificate for \"", request.handle(), "\" (", st.role, ", ", st.days,
      " days) written to ", out, "\ncertificate fingerprint: ",
      v.ok() ? crypto::FormatFingerprint(v->fingerprint) : "?",
      "\nNext: tvault org enrol ", out, " --bundle SIGNED_BUNDLE\n"));
  return absl::OkStatus();
}

absl::StatusOr<tvault::v1::SignedStatement> ReadCertificateFile(
    const std::string& path) {
  tvault::v1::SignedStatement cert;
  if (absl::Status s =
          ReadCarriedMessage(path, kCertificatePrefix, "a certificate", cert);
      !s.ok()) {
    return s;
  }
  return cert;
}

absl::Status OrgRevoke(const CommandState& st) {
  absl::StatusOr<Home> home = OpenHome(st);
  if (!home.ok()) return home.status();
  absl::StatusOr<tvault::v1::SignedStatement> cert =
      ReadCertificateFile(st.cert);
  if (!cert.ok()) return cert.status();
  absl::StatusOr<crypto::SigningKey> org = UnlockRoot(st, *home);
  if (!org.ok()) return org.status();
  absl::StatusOr<tvault::v1::SignedStatement> revocation =
      RevokeCertificate(*org, *cert, st.reason, Now());
  if (!revocation.ok()) return revocation.status();
  const std::string out =
      st.output.empty() ? absl::StrCat(st.cert, ".revocation") : st.output;
  if (absl::Status s = WriteCarriedFile(
          out, EncodeCarried(kRevocationPrefix, *revocation), st.overwrite);
      !s.ok()) {
    return s;
  }
  Print(
      absl::StrCat("Revocation written to ", out,
                   "\nNext: on a connected device, any member runs: tvault org "
                   "publish-revocation ",
                   out, "\n"));
  return absl::OkStatus();
}

absl::Status OrgPublishRevocation(const CommandState& st) {
  absl::StatusOr<Home> home = OpenHome(st);
  if (!home.ok()) return home.status();
  absl::StatusOr<Enrolment> enrolment = LoadEnrolment(*home);
  if (!enrolment.ok()) return enrolment.status();
  tvault::v1::SignedStatement revocation;
  if (absl::Status s = ReadCarriedMessage(st.cert, kRevocationPrefix,
                                          "a revocation", revocation);
      !s.ok()) {
    return s;
  }
  if (absl::Status s =
          crypto::VerifyRevocation(revocation, enrolment->org_pk).status();
      !s.ok()) {
    return absl::PermissionDeniedError(absl::StrCat(
        "this revocation is not signed by your organisation: ", s.message()));
  }
  absl::StatusOr<std::unique_ptr<VaultSession>> session =
      VaultSession::Connect(enrolment->bundle);
  if (!session.ok()) return session.status();
  tvault::v1::RevokeRequest request;
  *request.mutable_revocation() = revocation;
  tvault::v1::RevokeResponse response;
  if (grpc::Status s = (*session)->stub().Revoke((*session)->Context().get(),
                                                 request, &response);
      !s.ok()) {
    return Explain(s, "the revocation");
  }
  Print(
      "The vault logged the revocation; statements signed with that "
      "certificate after its time are refused.\n");
  return absl::OkStatus();
}

absl::Status OrgSignBundle(const CommandState& st) {
  absl::StatusOr<Home> home = OpenHome(st);
  if (!home.ok()) return home.status();
  absl::StatusOr<std::string> text = ReadCarriedFile(st.bundle);
  if (!text.ok()) return text.status();
  absl::StatusOr<crypto::SigningKey> org = UnlockRoot(st, *home);
  if (!org.ok()) return org.status();
  absl::StatusOr<tvault::v1::SignedStatement> bundle = SignBundle(*org, *text);
  if (!bundle.ok()) return bundle.status();
  tvault::v1::ServerBundle body;
  (void)body.ParseFromString(bundle->body());
  const std::string out = st.output.empty() ? "server.bundle" : st.output;
  if (absl::Status s = WriteCarriedFile(
          out, EncodeCarried(kBundlePrefix, *bundle), st.overwrite);
      !s.ok()) {
    return s;
  }
  Print(absl::StrCat("Signed server bundle written to ", out,
                     "\n  addresses: ", absl::StrJoin(body.addresses(), ", "),
                     "\n  log: ", body.log_origin(), "\n"));
  return absl::OkStatus();
}

absl::Status OrgEnrol(const CommandState& st) {
  absl::StatusOr<Home> home = OpenHome(st);
  if (!home.ok()) return home.status();
  absl::StatusOr<crypto::SignPublicKey> org_pk = LoadOrgPublicKey(*home);
  if (!org_pk.ok()) return org_pk.status();
  absl::StatusOr<tvault::v1::SignedStatement> cert =
      ReadCertificateFile(st.cert);
  if (!cert.ok()) return cert.status();
  tvault::v1::SignedStatement bundle;
  if (absl::Status s = ReadCarriedMessage(st.bundle, kBundlePrefix,
                                          "a signed server bundle", bundle);
      !s.ok()) {
    return s;
  }
  absl::StatusOr<tvault::v1::EnrolmentPackage> package =
      MakeEnrolmentPackage(*org_pk, *cert, bundle);
  if (!package.ok()) return package.status();
  absl::StatusOr<crypto::VerifiedCertificate> v =
      crypto::VerifyCertificate(*cert, *org_pk);
  const std::string out = st.output.empty()
                              ? absl::StrCat(v->body.handle(), ".enrolment")
                              : st.output;
  if (absl::Status s = WriteCarriedFile(
          out, EncodeCarried(kEnrolmentPrefix, *package), st.overwrite);
      !s.ok()) {
    return s;
  }
  Print(absl::StrCat("Enrolment package for \"", v->body.handle(),
                     "\" written to ", out,
                     "\nGive it to the member in person; they run: tvault "
                     "enrol ",
                     out, "\n"));
  return absl::OkStatus();
}

// ---- member ---------------------------------------------------------------

absl::Status KeysNew(const CommandState& st) {
  absl::StatusOr<Home> home = OpenHome(st);
  if (!home.ok()) return home.status();
  if (st.passphrase_file.empty() && std::getenv(kPassphraseEnv) == nullptr) {
    absl::StatusOr<crypto::SecretBytes> words =
        crypto::GenerateDicewarePassphrase(
            static_cast<size_t>(st.diceware_words));
    if (words.ok()) {
      Note(
          "A strong passphrase you may use (write it down and keep it "
          "apart from this device):\n    ");
      std::fwrite(words->data(), 1, words->size(), stderr);
      Note("\n");
    }
  }
  absl::StatusOr<crypto::SecretBytes> pass =
      Passphrase(st, "New passphrase for your tvault keys: ", true);
  if (!pass.ok()) return pass.status();
  Note("Sealing your keys (Argon2id, 256 MiB; a second or two)...\n");
  absl::StatusOr<tvault::v1::CertificateRequest> request =
      CreateAccount(*home, st.handle, *pass, crypto::KeystoreStrength::kMember);
  if (!request.ok()) return request.status();
  const std::string out =
      st.output.empty() ? absl::StrCat(st.handle, ".request") : st.output;
  if (absl::Status s = WriteCarriedFile(
          out, EncodeCarried(kRequestPrefix, *request), st.overwrite);
      !s.ok()) {
    return s;
  }
  Print(absl::StrCat(
      "Keys for \"", st.handle, "\" sealed in ", home->Path(kKeystoreFile),
      "\nCertificate request written to ", out,
      "\n  signing key fingerprint: ", SignKeyFingerprint(request->sign_pk()),
      "\n  box key fingerprint:     ", BoxKeyFingerprint(request->box_pk()),
      "\nNext: take the request to your administrator and compare these "
      "fingerprints in person.\n"));
  return absl::OkStatus();
}

absl::Status KeysShow(const CommandState& st) {
  absl::StatusOr<Home> home = OpenHome(st);
  if (!home.ok()) return home.status();
  absl::StatusOr<tvault::v1::CertificateRequest> request = LoadRequest(*home);
  if (!request.ok()) return request.status();
  std::string out = absl::StrCat(
      "handle: ", request->handle(),
      "\nsigning key fingerprint: ", SignKeyFingerprint(request->sign_pk()),
      "\nbox key fingerprint:     ", BoxKeyFingerprint(request->box_pk()),
      "\n");
  absl::StatusOr<Enrolment> e = LoadEnrolment(*home);
  if (e.ok()) {
    absl::StrAppend(
        &out, "certificate fingerprint: ",
        crypto::FormatFingerprint(e->certificate.fingerprint), "\nroles: ",
        absl::StrJoin(e->certificate.body.roles(), ", ",
                      [](std::string* o, int r) {
                        absl::StrAppend(
                            o, absl::AsciiStrToLower(tvault::v1::Role_Name(r)));
                      }),
        "\nvalid until: ", FormatTime(e->certificate.body.not_after()),
        "\norganisation key fingerprint: ",
        SignKeyFingerprint(crypto::AsString(e->org_pk)),
        "\nvault: ", absl::StrJoin(e->bundle.addresses(), ", "), "\n");
  } else {
    absl::StrAppend(&out, "not enrolled yet (tvault enrol PACKAGE)\n");
  }
  Print(out);
  return absl::OkStatus();
}

absl::Status EnrolCommand(const CommandState& st) {
  absl::StatusOr<Home> home = OpenHome(st);
  if (!home.ok()) return home.status();
  tvault::v1::EnrolmentPackage package;
  if (absl::Status s = ReadCarriedMessage(st.package, kEnrolmentPrefix,
                                          "an enrolment package", package);
      !s.ok()) {
    return s;
  }
  absl::StatusOr<Enrolment> e = Enrol(*home, package);
  if (!e.ok()) return e.status();
  Print(absl::StrCat("Enrolled as \"", e->certificate.body.handle(),
                     "\"\norganisation key fingerprint: ",
                     SignKeyFingerprint(crypto::AsString(e->org_pk)),
                     " (compare it with your administrator)\nvault: ",
                     absl::StrJoin(e->bundle.addresses(), ", "),
                     "\nNext: tvault register\n"));
  return absl::OkStatus();
}

absl::Status RegisterCommand(const CommandState& st) {
  absl::StatusOr<Home> home = OpenHome(st);
  if (!home.ok()) return home.status();
  absl::StatusOr<crypto::SecretBytes> pass =
      Passphrase(st, "Passphrase for your tvault keys: ", false);
  if (!pass.ok()) return pass.status();
  absl::StatusOr<Member> m = RegisterMember(*std::move(home), *pass);
  if (!m.ok()) return m.status();
  Print(absl::StrCat("Registered with the vault at ", m->session->address(),
                     " as \"", m->enrolment.certificate.body.handle(),
                     "\"; the log entry was verified.\n"));
  return absl::OkStatus();
}

// ---- cases ----------------------------------------------------------------

absl::Status CaseCreate(const CommandState& st) {
  absl::StatusOr<Member> m = Open(st);
  if (!m.ok()) return m.status();
  absl::StatusOr<std::string> id = CreateCase(*m, st.title, Now());
  if (!id.ok()) return id.status();
  absl::StatusOr<tvault::v1::CaseState> state = LoadCaseState(m->home, *id);
  if (!state.ok()) return state.status();
  Print(absl::StrCat("Case \"", st.title, "\" created: ", Hex(*id),
                     "\nIts card, for members you add:\n",
                     CaseCardText(state->card())));
  return absl::OkStatus();
}

absl::Status CaseList(const CommandState& st) {
  absl::StatusOr<Member> m = Open(st);
  if (!m.ok()) return m.status();
  tvault::v1::ListCasesResponse response;
  if (grpc::Status s = m->session->stub().ListCases(m->session->Context().get(),
                                                    {}, &response);
      !s.ok()) {
    return Explain(s, "listing cases");
  }
  std::string out;
  for (const tvault::v1::CaseSummary& c : response.cases()) {
    absl::StatusOr<tvault::v1::CaseState> state =
        LoadCaseState(m->home, c.case_id());
    std::string note;
    if (!state.ok()) {
      note = "not pinned here (ask an owner for its card)";
    } else if (state->card().genesis_hash() != c.genesis_hash()) {
      note = "WARNING: the vault's genesis differs from the pinned card";
    } else {
      note = absl::StrCat("\"", state->card().title(), "\"");
    }
    absl::StrAppend(&out, Hex(c.case_id()), "  epoch ", c.current_epoch(), "  ",
                    note, "\n");
  }
  if (out.empty()) out = "No cases yet (tvault case create --title T).\n";
  Print(out);
  return absl::OkStatus();
}

absl::Status CaseCardCommand(const CommandState& st) {
  absl::StatusOr<Home> home = OpenHome(st);
  if (!home.ok()) return home.status();
  absl::StatusOr<std::string> id = ResolveCase(*home, st.case_name);
  if (!id.ok()) return id.status();
  absl::StatusOr<tvault::v1::CaseState> state = LoadCaseState(*home, *id);
  if (!state.ok()) return state.status();
  Print(CaseCardText(state->card()));
  return absl::OkStatus();
}

absl::Status CaseJoin(const CommandState& st) {
  tvault::v1::CaseCard card;
  std::string text = st.card;
  if (!absl::StartsWith(text, kCaseCardPrefix)) {
    absl::StatusOr<std::string> file = ReadCarriedFile(st.card);
    if (!file.ok()) return file.status();
    text = *file;
  }
  if (absl::Status s =
          DecodeCarried(kCaseCardPrefix, text, "a case card", card);
      !s.ok()) {
    return s;
  }
  absl::StatusOr<Member> m = Open(st);
  if (!m.ok()) return m.status();
  CertificateDirectory certs(*m);
  absl::StatusOr<CaseView> view = JoinCase(*m, certs, card);
  if (!view.ok()) return view.status();
  for (const std::string& w : view->warnings) Note(absl::StrCat(w, "\n"));
  Print(absl::StrCat("Pinned case \"", card.title(), "\" (",
                     Hex(card.case_id()), "), epoch ",
                     *view->chain.highest_epoch(), "; you hold ",
                     view->identities.size(), " epoch key(s).\n"));
  return absl::OkStatus();
}

absl::Status CaseExportKey(const CommandState& st) {
  absl::StatusOr<std::unique_ptr<CaseSession>> c = OpenCase(st, true);
  if (!c.ok()) return c.status();
  const std::string* id = &(*c)->case_id;
  CaseView* view = &*(*c)->view;
  const uint32_t epoch = st.epoch >= 0 ? static_cast<uint32_t>(st.epoch)
                                       : *view->chain.highest_epoch();
  auto it = view->identities.find(epoch);
  if (it == view->identities.end()) {
    return absl::PermissionDeniedError(
        absl::StrCat("you hold no key for epoch ", epoch, " of this case"));
  }
  const crypto::SecretBytes secret = it->second.Encode();
  const std::string head =
      absl::StrCat("# tvault case ", Hex(*id), " epoch ", epoch,
                   "\n# public key: ", it->second.recipient().Encode(), "\n");
  crypto::SecretBytes text(head.size() + secret.size() + 1);
  std::copy(head.begin(), head.end(), text.data());
  std::copy_n(secret.data(), secret.size(), text.data() + head.size());
  text.data()[text.size() - 1] = '\n';
  absl::StatusOr<std::unique_ptr<AtomicOutputFile>> f =
      AtomicOutputFile::Create(st.output, false);
  if (!f.ok()) return f.status();
  if (absl::Status s = (*f)->Write(text.span()); !s.ok()) return s;
  if (absl::Status s = (*f)->Commit(); !s.ok()) return s;
  Note(
      "WARNING: this file opens every record of that epoch; keep it on "
      "encrypted media and delete it when done.\n");
  Print(absl::StrCat("Epoch ", epoch, " identity written to ", st.output,
                     " (use: age -d -i ", st.output, " RECORD.age)\n"));
  return absl::OkStatus();
}

std::string HandleOf(const CertificateDirectory& certs,
                     const crypto::Fingerprint& fp) {
  const crypto::VerifiedCertificate* c = certs.Find(fp);
  return c != nullptr ? c->body.handle() : crypto::FormatFingerprint(fp);
}

absl::Status CaseAddMember(const CommandState& st) {
  absl::StatusOr<tvault::v1::SignedStatement> statement =
      ReadCertificateFile(st.member);
  if (!statement.ok()) return statement.status();
  absl::StatusOr<Member> m = Open(st);
  if (!m.ok()) return m.status();
  absl::StatusOr<std::string> id = ResolveCase(m->home, st.case_name);
  if (!id.ok()) return id.status();
  absl::StatusOr<crypto::VerifiedCertificate> cert =
      crypto::VerifyCertificate(*statement, m->enrolment.org_pk);
  if (!cert.ok()) {
    return absl::PermissionDeniedError(
        absl::StrCat("this certificate is not from your organisation: ",
                     cert.status().message()));
  }
  CertificateDirectory certs(*m);
  if (absl::Status s = certs.Fetch({cert->fingerprint}); !s.ok()) {
    return absl::FailedPreconditionError(absl::StrCat(
        "\"", cert->body.handle(),
        "\" is not registered with the vault yet; they run tvault register "
        "first (",
        s.message(), ")"));
  }
  const bool reviewer =
      std::find(cert->body.roles().begin(), cert->body.roles().end(),
                tvault::v1::REVIEWER) != cert->body.roles().end();
  for (const tvault::v1::Revocation& r : certs.revocations()) {
    if (r.cert_fingerprint() == crypto::AsString(cert->fingerprint)) {
      return absl::PermissionDeniedError("this certificate is revoked");
    }
  }
  if (absl::Status s = crypto::CheckCertificateValidFor(
          *cert, reviewer ? tvault::v1::REVIEWER : tvault::v1::CONTRIBUTOR,
          Now(), {});
      !s.ok()) {
    return s;
  }
  absl::StatusOr<CaseView> view = LoadCase(*m, certs, *id, true);
  if (!view.ok()) return view.status();
  Note(absl::StrCat("Adding \"", cert->body.handle(), "\" as a ",
                    reviewer ? "reviewer (reads every record you hold keys for)"
                             : "contributor (uploads, cannot read)",
                    "\n  certificate fingerprint: ",
                    crypto::FormatFingerprint(cert->fingerprint),
                    "\nCompare it with what `tvault keys show` prints on "
                    "their device.\n"));
  if (absl::Status s = Confirm(st, "Does the fingerprint match?"); !s.ok()) {
    return s;
  }
  crypto::EpochMembership membership =
      MembershipOf(view->chain.Current()->body);
  auto& list = reviewer ? membership.members : membership.contributors;
  if (std::find(list.begin(), list.end(), cert->fingerprint) != list.end()) {
    return absl::AlreadyExistsError(
        absl::StrCat("\"", cert->body.handle(), "\" is already in this case"));
  }
  list.push_back(cert->fingerprint);
  std::vector<crypto::Fingerprint> history;
  if (reviewer) history.push_back(cert->fingerprint);
  absl::StatusOr<uint32_t> epoch =
      Rekey(*m, certs, *view, membership, history, Now());
  if (!epoch.ok()) return epoch.status();
  Print(absl::StrCat("\"", cert->body.handle(),
                     "\" added; the case is now at "
                     "epoch ",
                     *epoch,
                     ".\nGive them the case card; they run: tvault case join "
                     "CARD\n",
                     CaseCardText(view->state.card())));
  return absl::OkStatus();
}

absl::Status CaseRemoveMember(const CommandState& st) {
  absl::StatusOr<std::unique_ptr<CaseSession>> c = OpenCase(st, true);
  if (!c.ok()) return c.status();
  Member* m = &(*c)->member;
  CertificateDirectory& certs = (*c)->certs;
  const std::string* id = &(*c)->case_id;
  CaseView* view = &*(*c)->view;
  crypto::EpochMembership membership =
      MembershipOf(view->chain.Current()->body);
  std::vector<crypto::Fingerprint> everyone = membership.members;
  everyone.insert(everyone.end(), membership.contributors.begin(),
                  membership.contributors.end());
  if (absl::Status s = certs.Fetch(everyone); !s.ok()) return s;
  std::optional<crypto::Fingerprint> gone;
  for (const crypto::Fingerprint& fp : everyone) {
    if (HandleOf(certs, fp) == st.member) gone = fp;
  }
  if (!gone.has_value()) {
    return absl::NotFoundError(
        absl::StrCat("no member \"", st.member, "\" in this case"));
  }
  if (*gone == m->enrolment.certificate.fingerprint) {
    return absl::InvalidArgumentError("you cannot remove yourself");
  }
  if (absl::Status s = Confirm(
          st, absl::StrCat("Remove \"", st.member,
                           "\"? They keep whatever they already decrypted."));
      !s.ok()) {
    return s;
  }
  for (auto* list :
       {&membership.owners, &membership.members, &membership.contributors}) {
    list->erase(std::remove(list->begin(), list->end(), *gone), list->end());
  }
  absl::StatusOr<uint32_t> epoch =
      Rekey(*m, certs, *view, membership, {}, Now());
  if (!epoch.ok()) return epoch.status();
  absl::StatusOr<std::vector<OpenInvite>> invites = OpenInvites(*m, *id, Now());
  if (!invites.ok()) return invites.status();
  for (const OpenInvite& inv : *invites) {
    if (absl::Status s = RevokeCaseInvite(*m, *id, inv.invite_pk); !s.ok()) {
      return s;
    }
  }
  Print(absl::StrCat("\"", st.member, "\" removed; the case is now at epoch ",
                     *epoch, ", whose key only the remaining members hold.\n",
                     invites->size(), " open invite(s) were revoked.",
                     invites->empty()
                         ? "\n"
                         : " Make fresh ones for the families who still need "
                           "them: tvault invite create CASE\n"));
  return absl::OkStatus();
}

// ---- invites --------------------------------------------------------------

absl::Status InviteCreate(const CommandState& st) {
  std::optional<int64_t> expires;
  if (!st.expires.empty()) {
    absl::StatusOr<int64_t> d = ParseDuration(st.expires);
    if (!d.ok()) return d.status();
    expires = Now() + *d;
  }
  absl::StatusOr<std::unique_ptr<CaseSession>> c = OpenCase(st, false);
  if (!c.ok()) return c.status();
  const CaseView* view = &*(*c)->view;
  absl::StatusOr<crypto::CreatedInvite> invite =
      CreateCaseInvite((*c)->member, *view, st.uses, expires, Now());
  if (!invite.ok()) return invite.status();
  Note(absl::StrCat(
      "Invite for case \"", view->state.card().title(), "\": ", st.uses,
      " use(s). Give it only to the family member, by a safe channel; anyone "
      "holding it can submit to this case.\ninvite key: ",
      Hex(invite->invite_pk), " (to revoke: tvault invite revoke CASE KEY)\n"));
  std::fwrite(invite->text.data(), 1, invite->text.size(), stdout);
  Print("\n");
  if (!st.qr.empty()) {
    if (absl::Status s = WriteQrPng(invite->text.span(), st.qr); !s.ok()) {
      return s;
    }
    Note(absl::StrCat("QR code written to ", st.qr,
                      " (it holds the invite: show it only to the family "
                      "member, then delete it)\n"));
  }
  return absl::OkStatus();
}

absl::Status InviteRevoke(const CommandState& st) {
  absl::StatusOr<Member> m = Open(st);
  if (!m.ok()) return m.status();
  absl::StatusOr<std::string> id = ResolveCase(m->home, st.case_name);
  if (!id.ok()) return id.status();
  std::string key;
  if (absl::StartsWith(st.invite_key, crypto::kInvitePrefix)) {
    absl::StatusOr<crypto::ParsedInvite> parsed =
        crypto::ParseInvite(crypto::AsBytes(st.invite_key), Now());
    if (!parsed.ok()) return parsed.status();
    absl::StatusOr<crypto::SigningKey> k =
        crypto::InviteSigningKey(parsed->seed);
    if (!k.ok()) return k.status();
    key = std::string(crypto::AsString(k->public_key()));
  } else {
    absl::StatusOr<std::string> k =
        ParseHexId(st.invite_key, 32, "the invite key");
    if (!k.ok()) return k.status();
    key = *std::move(k);
  }
  if (absl::Status s = RevokeCaseInvite(*m, *id, key); !s.ok()) return s;
  Print("Invite revoked; it can no longer be used.\n");
  return absl::OkStatus();
}

// ---- submit ---------------------------------------------------------------

absl::StatusOr<RecordDetails> Details(const CommandState& st) {
  RecordDetails d;
  absl::StatusOr<tvault::v1::RecordKind> kind = ParseKind(st.kind);
  if (!kind.ok()) return kind.status();
  d.kind = *kind;
  d.title = st.title;
  d.description = st.description;
  d.language = st.language;
  d.event_date = st.event_date;
  d.relation = st.relation;
  if (!d.event_date.empty()) {
    absl::CivilDay day;
    if (d.event_date.size() != 10 ||
        !absl::ParseCivilTime(d.event_date, &day)) {
      return absl::InvalidArgumentError("--event-date is YYYY-MM-DD");
    }
  }
  return d;
}

void ReportSent(const VaultSession& session, const SubmitResult& r,
                absl::string_view case_label) {
  crypto::Checkpoint cp;
  std::string fp = "?";
  // The receipt's checkpoint was verified by the session.
  const size_t end = r.receipt.checkpoint().find("\n\n");
  if (end != std::string::npos) {
    absl::StatusOr<crypto::Checkpoint> parsed =
        crypto::ParseCheckpoint(r.receipt.checkpoint().substr(0, end + 1));
    if (parsed.ok()) fp = CheckpointFingerprint(*parsed);
  }
  Print(absl::StrCat(
      "Sent. The vault at ", session.address(), " stored record ",
      Hex(r.record_id), " (", r.size, " encrypted bytes) in case ", case_label,
      ".\nReceipt verified: log entry ", r.receipt.index(),
      ", checkpoint fingerprint ", fp,
      ".\nOnly the case's reviewers can read it; this device cannot.\n"));
}

absl::StatusOr<crypto::SecretBytes> InviteText(const CommandState& st) {
  if (absl::StartsWith(st.invite, crypto::kInvitePrefix)) {
    return crypto::SecretBytes::CopyFrom(crypto::AsBytes(st.invite));
  }
  absl::StatusOr<std::string> file = ReadCarriedFile(st.invite);
  if (!file.ok()) {
    return absl::InvalidArgumentError(
        "--invite is the invite string (tvault-invite-1:…) or a file that "
        "holds it");
  }
  crypto::SecretBytes out = crypto::SecretBytes::CopyFrom(
      crypto::AsBytes(absl::StripAsciiWhitespace(*file)));
  sodium_memzero(file->data(), file->size());
  return out;
}

absl::StatusOr<std::unique_ptr<VaultSession>> InviteSession(
    const crypto::ParsedInvite& invite, const crypto::SigningKey& key) {
  absl::StatusOr<std::unique_ptr<VaultSession>> session =
      VaultSession::Connect(invite.server_bundle);
  if (!session.ok()) return session.status();
  if (absl::Status s = (*session)->SignIn(key, nullptr); !s.ok()) return s;
  return session;
}

// Sends one outbox item: with the invite kept beside it, or as the member
// (opened on first need).
absl::Status SendItem(const CommandState& st, const Home& home,
                      const tvault::v1::OutboxItem& item,
                      std::optional<Member>& member) {
  absl::StatusOr<crypto::SecretBytes> text =
      LoadOutboxInvite(home, item.record_id());
  std::unique_ptr<VaultSession> invite_session;
  VaultSession* session = nullptr;
  if (text.ok()) {
    absl::StatusOr<crypto::ParsedInvite> invite =
        crypto::ParseInvite(text->span(), Now());
    if (!invite.ok()) return invite.status();
    absl::StatusOr<crypto::SigningKey> key =
        crypto::InviteSigningKey(invite->seed);
    if (!key.ok()) return key.status();
    absl::StatusOr<std::unique_ptr<VaultSession>> s =
        InviteSession(*invite, *key);
    if (!s.ok()) return s.status();
    invite_session = *std::move(s);
    session = invite_session.get();
  } else {
    if (!member.has_value()) {
      absl::StatusOr<Member> m = Open(st);
      if (!m.ok()) return m.status();
      member.emplace(*std::move(m));
    }
    session = member->session.get();
  }
  absl::StatusOr<SubmitResult> r =
      SendOutboxItem(*session, home, item, st.keep_receipt, TerminalProgress());
  if (!r.ok()) return r.status();
  ReportSent(*session, *r, Hex(item.case_id()));
  return absl::OkStatus();
}

absl::Status SubmitInviteThroughOutbox(const CommandState& st,
                                       const RecordDetails& d,
                                       const crypto::SecretBytes& text,
                                       const crypto::ParsedInvite& invite) {
  absl::StatusOr<Home> home = OpenHome(st);
  if (!home.ok()) return home.status();
  absl::StatusOr<crypto::SigningKey> key =
      crypto::InviteSigningKey(invite.seed);
  if (!key.ok()) return key.status();
  Destination to{std::string(crypto::AsString(invite.case_id)), invite.epoch,
                 invite.recipient};
  absl::StatusOr<tvault::v1::OutboxItem> item =
      SealToOutbox(*home, to, PlaintextInput{st.input}, d, *key, nullptr,
                   TerminalProgress());
  if (!item.ok()) return item.status();
  if (absl::Status s = SaveOutboxInvite(*home, item->record_id(), text);
      !s.ok()) {
    return s;
  }
  std::optional<Member> none;
  if (absl::Status s = SendItem(st, *home, *item, none); !s.ok()) {
    return absl::Status(
        s.code(),
        absl::StrCat(s.message(),
                     "\nThe encrypted record waits in the outbox "
                     "of ",
                     home->dir(), "; send it later with: tvault outbox send"));
  }
  return absl::OkStatus();
}

absl::Status SubmitInvite(const CommandState& st, const RecordDetails& d) {
  absl::StatusOr<crypto::SecretBytes> text = InviteText(st);
  if (!text.ok()) return text.status();
  absl::StatusOr<crypto::ParsedInvite> invite =
      crypto::ParseInvite(text->span(), Now());
  if (!invite.ok()) return invite.status();
  absl::StatusOr<crypto::SigningKey> key =
      crypto::InviteSigningKey(invite->seed);
  if (!key.ok()) return key.status();
  if (st.keep_receipt || st.use_outbox) {
    Note(
        "WARNING: --keep-receipt/--outbox leave a trace of this submission "
        "on this device; if it may be searched, do not use them.\n");
  }
  if (st.use_outbox) return SubmitInviteThroughOutbox(st, d, *text, *invite);
  absl::StatusOr<std::unique_ptr<VaultSession>> session =
      InviteSession(*invite, *key);
  if (!session.ok()) return session.status();
  absl::StatusOr<SubmitResult> r =
      SubmitWithInvite(**session, *invite, *key, PlaintextInput{st.input}, d,
                       TerminalProgress());
  if (!r.ok()) return r.status();
  ReportSent(**session, *r, Hex(crypto::AsString(invite->case_id)));
  if (st.keep_receipt) {
    absl::StatusOr<Home> home = OpenHome(st);
    if (!home.ok()) return home.status();
    const std::string name = absl::StrCat("receipts/", Hex(r->record_id));
    if (absl::Status s = home->WriteMessage(name, r->receipt); !s.ok()) {
      return s;
    }
    Print(absl::StrCat("Receipt kept in ", home->Path(name), "\n"));
  } else {
    Print("Nothing about this submission was written to this device.\n");
  }
  return absl::OkStatus();
}

// The vault cannot be reached: seal the record to the case's last verified
// epoch and leave it in the outbox. If the case moved on meanwhile, the
// vault refuses it when it is sent, and says so.
absl::Status SealOffline(const CommandState& st, const RecordDetails& d,
                         const Home& home, const crypto::SecretBytes& pass,
                         const absl::Status& why) {
  absl::StatusOr<Enrolment> enrolment = LoadEnrolment(home);
  if (!enrolment.ok()) return enrolment.status();
  absl::StatusOr<AccountKeys> keys = UnlockAccount(home, pass);
  if (!keys.ok()) return keys.status();
  absl::StatusOr<std::string> id = ResolveCase(home, st.case_name);
  if (!id.ok()) return id.status();
  absl::StatusOr<tvault::v1::CaseState> state = LoadCaseState(home, *id);
  if (!state.ok()) return state.status();
  absl::StatusOr<crypto::X25519Recipient> recipient =
      crypto::X25519Recipient::Parse(state->recipient());
  if (!recipient.ok()) {
    return absl::UnavailableError(absl::StrCat(
        why.message(),
        "\nThis device has not verified the case's key yet, so nothing was "
        "sealed; try again once the vault can be reached"));
  }
  Destination to{*id, state->highest_epoch(), *recipient};
  absl::StatusOr<tvault::v1::OutboxItem> item =
      SealToOutbox(home, to, PlaintextInput{st.input}, d, keys->sign,
                   &enrolment->certificate.statement, TerminalProgress());
  if (!item.ok()) return item.status();
  return absl::UnavailableError(absl::StrCat(
      why.message(), "\nThe record ", Hex(item->record_id()),
      " is sealed (encrypted to the case) and waits in the outbox; send it "
      "later with: tvault outbox send"));
}

absl::Status SubmitAccount(const CommandState& st, const RecordDetails& d) {
  absl::StatusOr<Home> home = OpenHome(st);
  if (!home.ok()) return home.status();
  absl::StatusOr<crypto::SecretBytes> pass =
      Passphrase(st, "Passphrase for your tvault keys: ", false);
  if (!pass.ok()) return pass.status();
  absl::StatusOr<Member> m = OpenMember(*home, *pass);
  if (absl::IsUnavailable(m.status()) || absl::IsDeadlineExceeded(m.status())) {
    return SealOffline(st, d, *home, *pass, m.status());
  }
  if (!m.ok()) return m.status();
  absl::StatusOr<std::string> id = ResolveCase(m->home, st.case_name);
  if (!id.ok()) return id.status();
  CertificateDirectory certs(*m);
  absl::StatusOr<CaseView> view = LoadCase(*m, certs, *id, false);
  if (!view.ok()) return view.status();
  const crypto::VerifiedDescriptor* current = view->chain.Current();
  absl::StatusOr<crypto::X25519Recipient> recipient =
      crypto::X25519Recipient::Parse(current->body.recipient());
  if (!recipient.ok()) return recipient.status();
  Destination to{*id, current->body.epoch(), *recipient};
  absl::StatusOr<tvault::v1::OutboxItem> item =
      SealToOutbox(m->home, to, PlaintextInput{st.input}, d, m->keys.sign,
                   &m->enrolment.certificate.statement, TerminalProgress());
  if (!item.ok()) return item.status();
  absl::StatusOr<SubmitResult> r = SendOutboxItem(
      *m->session, m->home, *item, st.keep_receipt, TerminalProgress());
  if (!r.ok()) {
    if (absl::IsUnavailable(r.status()) ||
        absl::IsDeadlineExceeded(r.status())) {
      return absl::UnavailableError(absl::StrCat(
          r.status().message(),
          "\nThe record waits, encrypted, in the outbox; send it later with: "
          "tvault outbox send"));
    }
    return absl::Status(
        r.status().code(),
        absl::StrCat(r.status().message(),
                     "\nThe encrypted record stays in the outbox (tvault "
                     "outbox list)."));
  }
  ReportSent(*m->session, *r,
             absl::StrCat("\"", view->state.card().title(), "\""));
  return absl::OkStatus();
}

absl::Status Submit(const CommandState& st) {
  absl::StatusOr<RecordDetails> d = Details(st);
  if (!d.ok()) return d.status();
  if (st.invite.empty() == st.case_name.empty()) {
    return absl::InvalidArgumentError(
        "give exactly one of --case CASE (with an account) or --invite "
        "INVITE");
  }
  return st.invite.empty() ? SubmitAccount(st, *d) : SubmitInvite(st, *d);
}

absl::Status OutboxList(const CommandState& st) {
  absl::StatusOr<Home> home = OpenHome(st);
  if (!home.ok()) return home.status();
  std::string out;
  for (const tvault::v1::OutboxItem& item : ListOutbox(*home)) {
    absl::StrAppend(&out, Hex(item.record_id()), "  ", item.size(),
                    " bytes  case ", Hex(item.case_id()), "  ",
                    item.file_name(), "\n");
  }
  Print(out.empty() ? "The outbox is empty.\n" : out);
  return absl::OkStatus();
}

absl::Status OutboxSend(const CommandState& st) {
  absl::StatusOr<Home> home = OpenHome(st);
  if (!home.ok()) return home.status();
  std::vector<tvault::v1::OutboxItem> items = ListOutbox(*home);
  if (items.empty()) {
    Print("The outbox is empty.\n");
    return absl::OkStatus();
  }
  std::optional<Member> member;
  absl::Status first_error;
  for (const tvault::v1::OutboxItem& item : items) {
    if (absl::Status s = SendItem(st, *home, item, member); !s.ok()) {
      Note(absl::StrCat("record ", Hex(item.record_id()),
                        " not sent: ", s.message(), "\n"));
      if (first_error.ok()) first_error = s;
    }
  }
  return first_error;
}

// ---- records --------------------------------------------------------------

absl::Status RecordsList(const CommandState& st) {
  absl::StatusOr<std::unique_ptr<CaseSession>> c = OpenCase(st, true);
  if (!c.ok()) return c.status();
  Member* m = &(*c)->member;
  CaseView* view = &*(*c)->view;
  absl::StatusOr<std::vector<RecordListing>> records =
      ListCaseRecords(*m, *view, true);
  if (!records.ok()) return records.status();
  std::string out;
  for (const RecordListing& r : *records) {
    std::string what;
    if (r.summary.deleted()) {
      what = "[deleted]";
    } else if (r.metadata.has_value()) {
      what = absl::StrCat(absl::AsciiStrToLower(
                              tvault::v1::RecordKind_Name(r.metadata->kind())),
                          "  \"", r.metadata->title(), "\"");
    } else {
      what = "(no key for this epoch)";
    }
    if (!r.summary.deleted() && r.summary.delete_after() != 0) {
      absl::StrAppend(&what, "  [deletion pending: goes ",
                      FormatTime(r.summary.delete_after()), "]");
    }
    absl::StrAppend(&out, Hex(r.summary.record_id()), "  ",
                    FormatTime(r.summary.added_at()), "  epoch ",
                    r.summary.epoch(), "  ", r.summary.size(), " B  ", what,
                    "\n");
  }
  Print(out.empty() ? "No records in this case yet.\n"
                    : absl::StrCat(out,
                                   "(titles are unverified until `tvault "
                                   "records get` checks the whole record)\n"));
  return absl::OkStatus();
}

absl::Status RecordsGet(const CommandState& st) {
  absl::StatusOr<Member> m = Open(st);
  if (!m.ok()) return m.status();
  std::string case_id;
  if (!st.record_case.empty()) {
    absl::StatusOr<std::string> id = ResolveCase(m->home, st.record_case);
    if (!id.ok()) return id.status();
    case_id = *id;
  }
  if (st.output.empty()) {
    return absl::InvalidArgumentError(
        "give -o FILE: the record appears there only once it verified (or "
        "-o - for standard output, which receives unverified bytes)");
  }
  CertificateDirectory certs(*m);
  absl::StatusOr<GotRecord> got =
      GetRecord(*m, certs, st.record, case_id, st.output, st.overwrite,
                TerminalProgress(), st.ciphertext);
  if (!got.ok()) return got.status();
  const tvault::v1::RecordMetadata& meta = got->record.metadata;
  std::string who =
      got->record.via_invite
          ? absl::StrCat("someone holding an invite of this case (invite key ",
                         meta.submitter().sign_pk(), ")")
          : absl::StrCat(
                "\"", got->signer_handle, "\", certificate ",
                crypto::FormatFingerprint(*got->record.signer_certificate));
  std::string out = absl::StrCat(
      "Record ", st.record,
      " verified: signature, case, epoch, log entry and "
      "signer all check.\n  ",
      absl::AsciiStrToLower(tvault::v1::RecordKind_Name(meta.kind())), "  \"",
      meta.title(), "\"  ", got->record.body_length, " bytes, file \"",
      meta.file_name(), "\"\n  signed by ", who, "\n");
  if (!meta.submitter().relation().empty()) {
    absl::StrAppend(&out, "  relation: ", meta.submitter().relation(), "\n");
  }
  absl::StrAppend(&out, "  created ", meta.created_at(), "; logged ",
                  FormatTime(got->entry.logged_at()), " as log entry ",
                  got->log_index, "\n");
  if (got->record.uploaded_after_epoch_superseded) {
    absl::StrAppend(&out,
                    "  NOTE: uploaded after its epoch was superseded; a "
                    "removed member may have been able to read it\n");
  }
  if (st.output != "-") absl::StrAppend(&out, "Written to ", st.output, "\n");
  (st.output == "-" ? Note : Print)(out);
  return absl::OkStatus();
}

absl::Status RecordsDelete(const CommandState& st) {
  absl::StatusOr<Member> m = Open(st);
  if (!m.ok()) return m.status();
  if (absl::Status s = Confirm(
          st, absl::StrCat("Ask the vault to delete record ", st.record,
                           "? Other reviewers see it pending and may keep a "
                           "copy until then."));
      !s.ok()) {
    return s;
  }
  CertificateDirectory certs(*m);
  absl::StatusOr<int64_t> after =
      RequestDeletion(*m, certs, st.record, st.reason, Now());
  if (!after.ok()) return after.status();
  Print(absl::StrCat("Deletion requested and logged; the ciphertext goes on ",
                     FormatTime(*after), ".\n"));
  return absl::OkStatus();
}

// ---- log ------------------------------------------------------------------

absl::Status LogShow(const CommandState& st) {
  absl::StatusOr<Member> m = Open(st);
  if (!m.ok()) return m.status();
  absl::StatusOr<VerifiedCheckpoint> cp = m->session->Checkpoint();
  if (!cp.ok()) return cp.status();
  Print(absl::StrCat(cp->note, "\nlog size ", cp->checkpoint.tree_size,
                     ", fingerprint ", CheckpointFingerprint(cp->checkpoint),
                     "\nCompare the fingerprint with colleagues at the same "
                     "log size; any difference means the vault shows "
                     "different histories.\n"));
  return absl::OkStatus();
}

absl::Status LogVerify(const CommandState& st) {
  absl::StatusOr<Member> m = Open(st);  // checks consistency on sign-in
  if (!m.ok()) return m.status();
  absl::StatusOr<VerifiedCheckpoint> cp = m->session->Checkpoint();
  if (!cp.ok()) return cp.status();
  absl::StatusOr<std::vector<VaultSession::IndexedEntry>> all =
      m->session->ScanLog([](const tvault::v1::LogEntry&) { return false; });
  if (!all.ok()) return all.status();
  Print(absl::StrCat(
      "The vault's log is consistent with everything this device saw "
      "before, and all ",
      cp->checkpoint.tree_size,
      " entries match its signed checkpoint (fingerprint ",
      CheckpointFingerprint(cp->checkpoint), ").\n"));
  return absl::OkStatus();
}

absl::Status LogEvents(const CommandState& st) {
  absl::StatusOr<std::unique_ptr<CaseSession>> c = OpenCase(st, false);
  if (!c.ok()) return c.status();
  Member* m = &(*c)->member;
  CertificateDirectory& certs = (*c)->certs;
  const std::string* id = &(*c)->case_id;
  CaseView* view = &*(*c)->view;
  std::vector<crypto::Fingerprint> people;
  for (uint32_t e = 0; e <= *view->chain.highest_epoch(); ++e) {
    if (const crypto::VerifiedDescriptor* d = view->chain.Find(e)) {
      crypto::EpochMembership ms = MembershipOf(d->body);
      for (auto* l : {&ms.owners, &ms.members, &ms.contributors}) {
        people.insert(people.end(), l->begin(), l->end());
      }
    }
  }
  (void)certs.Fetch(people);
  const std::string cid = *id;
  absl::StatusOr<std::vector<VaultSession::IndexedEntry>> entries =
      m->session->ScanLog([&](const tvault::v1::LogEntry& e) {
        if (e.has_certificate_revoked()) {
          return certs.Find(FixedBytes<16>(
                     e.certificate_revoked().cert_fingerprint())) != nullptr;
        }
        return (e.has_descriptor_published() &&
                e.descriptor_published().case_id() == cid) ||
               (e.has_grant_added() && e.grant_added().case_id() == cid) ||
               (e.has_invite_created() &&
                e.invite_created().case_id() == cid) ||
               (e.has_invite_revoked() &&
                e.invite_revoked().case_id() == cid) ||
               (e.has_record_added() && e.record_added().case_id() == cid) ||
               (e.has_deletion_requested() &&
                e.deletion_requested().case_id() == cid) ||
               (e.has_deletion_done() && e.deletion_done().case_id() == cid);
      });
  if (!entries.ok()) return entries.status();
  std::string out;
  for (const auto& [index, e] : *entries) {
    std::string what;
    if (e.has_descriptor_published()) {
      const uint32_t epoch = e.descriptor_published().epoch();
      what = absl::StrCat("epoch ", epoch, " started");
      if (const crypto::VerifiedDescriptor* d = view->chain.Find(epoch)) {
        crypto::EpochMembership ms = MembershipOf(d->body);
        std::vector<std::string> names;
        for (const auto& fp : ms.members) names.push_back(HandleOf(certs, fp));
        absl::StrAppend(&what, "; reviewers: ", absl::StrJoin(names, ", "));
        names.clear();
        for (const auto& fp : ms.contributors) {
          names.push_back(HandleOf(certs, fp));
        }
        if (!names.empty()) {
          absl::StrAppend(&what,
                          "; contributors: ", absl::StrJoin(names, ", "));
        }
      }
    } else if (e.has_grant_added()) {
      what = absl::StrCat(
          "key of epoch ", e.grant_added().epoch(), " granted to ",
          HandleOf(certs,
                   FixedBytes<16>(e.grant_added().member_cert_fingerprint())));
    } else if (e.has_invite_created()) {
      what = absl::StrCat("invite ",
                          Hex(e.invite_created().invite_pk()).substr(0, 16),
                          "… created for epoch ", e.invite_created().epoch(),
                          ", ", e.invite_created().uses(), " use(s), expires ",
                          FormatTime(e.invite_created().expires()));
    } else if (e.has_invite_revoked()) {
      what = absl::StrCat("invite ",
                          Hex(e.invite_revoked().invite_pk()).substr(0, 16),
                          "… revoked");
    } else if (e.has_record_added()) {
      what = absl::StrCat("record ", Hex(e.record_added().record_id()),
                          " added (epoch ", e.record_added().epoch(), ")");
    } else if (e.has_deletion_requested()) {
      what = absl::StrCat("deletion of record ",
                          Hex(e.deletion_requested().record_id()),
                          " requested; goes ",
                          FormatTime(e.deletion_requested().delete_after()));
    } else if (e.has_deletion_done()) {
      what = absl::StrCat("record ", Hex(e.deletion_done().record_id()),
                          " deleted");
    } else if (e.has_certificate_revoked()) {
      what = absl::StrCat(
          "certificate of ",
          HandleOf(certs,
                   FixedBytes<16>(e.certificate_revoked().cert_fingerprint())),
          " revoked");
    }
    absl::StrAppend(&out, "#", index, "  ", FormatTime(e.logged_at()), "  ",
                    what, "\n");
  }
  for (const std::string& w : view->warnings) absl::StrAppend(&out, w, "\n");
  Print(out);
  return absl::OkStatus();
}

}  // namespace

std::shared_ptr<CommandState> AddVaultCommands(CLI::App& app,
                                               absl::Status& result) {
  auto state = std::make_shared<CommandState>();
  CommandState* st = state.get();
  app.add_option("--home", st->home_dir,
                 "Your tvault directory (default: $XDG_DATA_HOME/tvault)")
      ->envname("TVAULT_HOME");
  app.add_option("--passphrase-file", st->passphrase_file,
                 "Read the passphrase from the first line of FILE (for "
                 "scripts; or set TVAULT_PASSPHRASE)");
  auto run = [&result, st](absl::Status (*fn)(const CommandState&)) {
    return [&result, st, fn] { result = fn(*st); };
  };
  auto yes = [st](CLI::App* c) {
    c->add_flag("-y,--yes", st->yes,
                "Do not ask for confirmation (you compared the fingerprints)");
  };
  auto out = [st](CLI::App* c, const char* what) {
    c->add_option("-o,--output", st->output, what);
    c->add_flag("--force", st->overwrite, "Overwrite an existing output file");
  };

  CLI::App* org = app.add_subcommand(
      "org",
      "The administrator's commands (run on the offline machine that "
      "holds the organisation root)");
  org->require_subcommand(1);
  org->add_subcommand("init", "Create the organisation root key")
      ->callback(run(OrgInit));
  CLI::App* certify = org->add_subcommand(
      "certify", "Issue a member's certificate from their request");
  certify->add_option("request", st->request, "The member's .request file")
      ->required();
  certify->add_option("--role", st->role, "reviewer or contributor")
      ->check(CLI::IsMember({"reviewer", "contributor"}));
  certify->add_option("--valid", st->days, "Days of validity (1-366)")
      ->check(CLI::Range(1, 366));
  out(certify, "Certificate file (default: HANDLE.cert)");
  yes(certify);
  certify->callback(run(OrgCertify));
  CLI::App* revoke = org->add_subcommand(
      "revoke", "Revoke a certificate (writes a revocation to publish)");
  revoke->add_option("cert", st->cert, "The .cert file")->required();
  revoke->add_option("--reason", st->reason, "Why (kept in the revocation)");
  out(revoke, "Revocation file (default: CERT.revocation)");
  revoke->callback(run(OrgRevoke));
  CLI::App* publish = org->add_subcommand(
      "publish-revocation", "Send a revocation to the vault (any member)");
  publish->add_option("revocation", st->cert, "The .revocation file")
      ->required();
  publish->callback(run(OrgPublishRevocation));
  CLI::App* sign = org->add_subcommand(
      "sign-bundle", "Sign the server bundle that `tvaultd init` printed");
  sign->add_option("bundle", st->bundle,
                   "File holding the unsigned bundle (- for standard input)")
      ->required();
  out(sign, "Signed bundle file (default: server.bundle)");
  sign->callback(run(OrgSignBundle));
  CLI::App* enrol_pkg = org->add_subcommand(
      "enrol",
      "Make a member's enrolment package (org key, certificate, "
      "signed server bundle)");
  enrol_pkg->add_option("cert", st->cert, "The member's .cert file")
      ->required();
  enrol_pkg->add_option("--bundle", st->bundle, "The signed server bundle")
      ->required();
  out(enrol_pkg, "Package file (default: HANDLE.enrolment)");
  enrol_pkg->callback(run(OrgEnrol));

  CLI::App* keys = app.add_subcommand("keys", "Your own keys");
  keys->require_subcommand(1);
  CLI::App* keys_new = keys->add_subcommand(
      "new", "Make your keys and a certificate request for the administrator");
  keys_new
      ->add_option("--handle", st->handle,
                   "Your pseudonym in the organisation (not your name)")
      ->required();
  keys_new
      ->add_option("--words", st->diceware_words,
                   "Words in the suggested passphrase (default 6)")
      ->check(CLI::Range(6, 64));
  out(keys_new, "Request file (default: HANDLE.request)");
  keys_new->callback(run(KeysNew));
  keys->add_subcommand("show", "Show your fingerprints, to compare in person")
      ->callback(run(KeysShow));

  CLI::App* enrol = app.add_subcommand(
      "enrol", "Store the enrolment package your administrator gave you");
  enrol->add_option("package", st->package, "The .enrolment file")->required();
  enrol->callback(run(EnrolCommand));
  app.add_subcommand("register", "Register your certificate with the vault")
      ->callback(run(RegisterCommand));

  CLI::App* cases = app.add_subcommand("case", "Cases you work on");
  cases->require_subcommand(1);
  CLI::App* create = cases->add_subcommand("create", "Open a new case");
  create
      ->add_option("--title", st->title,
                   "A label kept on this device only (never sent)")
      ->required();
  create->callback(run(CaseCreate));
  cases->add_subcommand("list", "Cases the vault shows you")
      ->callback(run(CaseList));
  CLI::App* add = cases->add_subcommand(
      "add-member", "Add a reviewer or contributor (starts a new epoch)");
  add->add_option("case", st->case_name, "Case id, id prefix or title")
      ->required();
  add->add_option("cert", st->member, "Their .cert file")->required();
  yes(add);
  add->callback(run(CaseAddMember));
  CLI::App* remove = cases->add_subcommand(
      "remove-member",
      "Remove someone (new epoch without them; open invites revoked)");
  remove->add_option("case", st->case_name, "Case id, id prefix or title")
      ->required();
  remove->add_option("handle", st->member, "Their handle")->required();
  yes(remove);
  remove->callback(run(CaseRemoveMember));
  CLI::App* card =
      cases->add_subcommand("card", "Print the case card a new member pins");
  card->add_option("case", st->case_name, "Case id, id prefix or title")
      ->required();
  card->callback(run(CaseCardCommand));
  CLI::App* export_key = cases->add_subcommand(
      "export-key",
      "Write an epoch's age identity to a file, for the age tool (emergency "
      "access; anyone holding the file reads that epoch's records)");
  export_key->add_option("case", st->case_name, "Case id, id prefix or title")
      ->required();
  export_key->add_option("--epoch", st->epoch,
                         "The epoch (default: the current one)");
  export_key->add_option("-o,--output", st->output, "The identity file")
      ->required();
  export_key->callback(run(CaseExportKey));
  CLI::App* join = cases->add_subcommand(
      "join", "Pin a case from the card its owner gave you");
  join->add_option("card", st->card, "The card text or a file holding it")
      ->required();
  join->callback(run(CaseJoin));

  CLI::App* invite = app.add_subcommand("invite", "Invites for families");
  invite->require_subcommand(1);
  CLI::App* inv_create = invite->add_subcommand(
      "create", "Make an invite string for one family member");
  inv_create->add_option("case", st->case_name, "Case id, id prefix or title")
      ->required();
  inv_create->add_option("--uses", st->uses, "Submissions allowed (default 1)")
      ->check(CLI::Range(1, 100));
  inv_create->add_option("--expires", st->expires,
                         "How long it stays valid: 90m, 12h, 3d (default and "
                         "maximum 7d)");
  inv_create->add_option("--qr", st->qr,
                         "Also write the invite as a QR code to FILE.png");
  inv_create->callback(run(InviteCreate));
  CLI::App* inv_revoke =
      invite->add_subcommand("revoke", "Revoke an invite at once");
  inv_revoke->add_option("case", st->case_name, "Case id, id prefix or title")
      ->required();
  inv_revoke
      ->add_option("invite", st->invite_key,
                   "The invite key (hex) or the invite string")
      ->required();
  inv_revoke->callback(run(InviteRevoke));

  CLI::App* submit = app.add_subcommand(
      "submit", "Encrypt a file on this device and send it to a case");
  submit->add_option("file", st->input, "The file (- for standard input)")
      ->required();
  submit->add_option("--case", st->case_name, "With an account: the case");
  submit
      ->add_option("--invite", st->invite,
                   "Without an account: the invite string, or a file "
                   "holding it")
      ->envname("TVAULT_INVITE");
  submit->add_option("--kind", st->kind,
                     "testimony (default), meeting-transcript, audio, video, "
                     "image, document or other");
  submit->add_option("--title", st->title, "A title (encrypted)");
  submit->add_option("--description", st->description,
                     "A description (encrypted)");
  submit->add_option("--language", st->language, "Language, e.g. en or ar");
  submit->add_option("--event-date", st->event_date,
                     "When it happened: YYYY-MM-DD");
  submit->add_option("--relation", st->relation,
                     "Your relation to the detainee, e.g. sister (encrypted)");
  submit->add_flag("--keep-receipt", st->keep_receipt,
                   "Keep the receipt on this device (a trace if the device "
                   "is searched)");
  submit->add_flag("--outbox", st->use_outbox,
                   "Keep the encrypted record for a later retry");
  submit->callback(run(Submit));

  CLI::App* outbox =
      app.add_subcommand("outbox", "Encrypted records waiting to be sent");
  outbox->require_subcommand(1);
  outbox->add_subcommand("list", "What waits")->callback(run(OutboxList));
  CLI::App* send = outbox->add_subcommand("send", "Send what waits");
  send->add_flag("--keep-receipt", st->keep_receipt, "Keep the receipts");
  send->callback(run(OutboxSend));

  CLI::App* records = app.add_subcommand("records", "A case's records");
  records->require_subcommand(1);
  CLI::App* list = records->add_subcommand(
      "list", "List a case's records (titles decrypted on this device)");
  list->add_option("case", st->case_name, "Case id, id prefix or title")
      ->required();
  list->callback(run(RecordsList));
  CLI::App* get =
      records->add_subcommand("get", "Download, verify and decrypt a record");
  get->add_option("record", st->record, "The record id")->required();
  get->add_option("--case", st->record_case, "The case (default: search)");
  out(get, "Where to write the original file (appears only once verified)");
  get->add_option("--ciphertext", st->ciphertext,
                  "Also keep the verified age file here (for the age tool)");
  get->callback(run(RecordsGet));
  CLI::App* del = records->add_subcommand(
      "delete", "Ask for a record's deletion (owners; after a delay)");
  del->add_option("record", st->record, "The record id")->required();
  del->add_option("--reason", st->reason, "Why (signed, logged)");
  yes(del);
  del->callback(run(RecordsDelete));

  CLI::App* log = app.add_subcommand("log", "The vault's transparency log");
  log->require_subcommand(1);
  log->add_subcommand("show", "The latest checkpoint and its fingerprint")
      ->callback(run(LogShow));
  log->add_subcommand("verify",
                      "Check the whole log against its checkpoint "
                      "and this device's history")
      ->callback(run(LogVerify));
  CLI::App* events = log->add_subcommand(
      "events", "Epochs, grants, invites, records, deletions of a case");
  events->add_option("case", st->case_name, "Case id, id prefix or title")
      ->required();
  events->callback(run(LogEvents));
  return state;
}

}  // namespace tvault::client
