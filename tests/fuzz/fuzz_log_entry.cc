// Fuzz target: what a client reads of the transparency log (DESIGN.md §9)
// — log entries, signed notes, checkpoints, note keys, receipts and the
// Merkle proofs — with the world's log key (fuzz_world.h).
//
// Input: a mode byte, then
//   0 entry       the rest is a serialised LogEntry (client ParseLogEntry);
//   1 note        the rest is a signed note;
//   2 text        the rest is a note text, which the harness signs;
//   3 checkpoint  the rest is a checkpoint text;
//   4 keys        the rest is a verifier or signer key string;
//   5 receipt     a flags byte, an earlier checkpoint text (2-byte length),
//                 consistency proof hashes (2-byte length), then a Receipt.
//                 flags & 1: the receipt's checkpoint field is a TEXT the
//                 harness signs with the log key; flags & 2: the client
//                 first advanced to the earlier checkpoint (signed too), and
//                 the proof hashes answer its consistency question;
//   6 merkle      a leaf count, an index, an old size, the leaves' data.
//
// Invariants:
// - an entry, a checkpoint or a key string that parses is the only
//   encoding of what it parsed to (format/serialise gives the input back);
// - a note text is signable exactly when it is valid, and the signed note
//   opens to that text, verified by the log key; a note that opens has a
//   valid text and is signed by the keys it says;
// - a receipt the monitor accepts has its entry in the signed tree
//   (inclusion proof recomputed here) and its entry parses strictly;
// - proofs made from a tree verify against its roots, and a proof with one
//   bit changed does not.
#include <cstddef>
#include <cstdint>
#include <string>
#include <vector>

#include "client/log_monitor.h"
#include "client/session.h"
#include "crypto/checkpoint.h"
#include "crypto/merkle.h"
#include "crypto/signed_note.h"
#include "crypto/statement.h"
#include "proto/records.pb.h"
#include "proto/vault.pb.h"
#include "tests/fuzz/fuzz_check.h"
#include "tests/fuzz/fuzz_world.h"

namespace tvault::fuzz {
namespace {

using crypto::AsBytes;
using crypto::Hash;

const crypto::NoteVerifier& OtherVerifier() {
  static const crypto::NoteVerifier* v = [] {
    absl::StatusOr<crypto::NoteSigner> s = crypto::NoteSigner::FromEd25519Seed(
        "witness.fuzz.example", FixedSecret(8).span());
    FUZZ_CHECK_OK(s.status());
    return new crypto::NoteVerifier(s->verifier());
  }();
  return *v;
}

std::vector<crypto::NoteVerifier> Verifiers() {
  return {World::Get().log_signer.verifier(), OtherVerifier()};
}

void Entry(absl::string_view bytes) {
  absl::StatusOr<tvault::v1::LogEntry> entry = client::ParseLogEntry(bytes, 7);
  Trace("entry", entry.status());
  if (!entry.ok()) {
    FUZZ_CHECK(absl::IsDataLoss(entry.status()));
    return;
  }
  FUZZ_CHECK(entry->version() == 1);
  FUZZ_CHECK(entry->event_case() != tvault::v1::LogEntry::EVENT_NOT_SET);
  FUZZ_CHECK(crypto::SerializeDeterministic(*entry) == bytes);
}

void CheckCheckpointText(absl::string_view text) {
  absl::StatusOr<crypto::Checkpoint> c = crypto::ParseCheckpoint(text);
  Trace("checkpoint", c.status());
  if (!c.ok()) return;
  absl::StatusOr<std::string> again = crypto::FormatCheckpoint(*c);
  FUZZ_CHECK_OK(again.status());
  FUZZ_CHECK(*again == text);
}

// Signs `text` with the log key; checks signing and opening agree.
absl::StatusOr<std::string> SignText(absl::string_view text) {
  const World& w = World::Get();
  absl::StatusOr<std::string> note = crypto::SignNote(text, w.log_signer);
  if (text.size() < crypto::kMaxNoteSize / 2) {
    FUZZ_CHECK(note.ok() == crypto::ValidateNoteText(text).ok());
  }
  if (!note.ok()) return note;
  absl::StatusOr<crypto::OpenedNote> opened =
      crypto::OpenNote(*note, Verifiers());
  FUZZ_CHECK_OK(opened.status());
  FUZZ_CHECK(opened->text == text);
  FUZZ_CHECK(opened->verified.size() == 1);
  FUZZ_CHECK(opened->verified[0].key_name == w.log_signer.name());
  FUZZ_CHECK(opened->unknown.empty());
  return note;
}

void Note(absl::string_view note) {
  absl::StatusOr<crypto::OpenedNote> opened =
      crypto::OpenNote(note, Verifiers());
  Trace("note", opened.status());
  if (!opened.ok()) return;
  FUZZ_CHECK_OK(crypto::ValidateNoteText(opened->text));
  FUZZ_CHECK(absl::string_view(note).substr(0, opened->text.size()) ==
             opened->text);
  FUZZ_CHECK(!opened->verified.empty());
  for (const crypto::NoteSignature& sig : opened->verified) {
    bool known = false;
    for (const crypto::NoteVerifier& v : Verifiers()) {
      if (v.name() == sig.key_name && v.key_id() == sig.key_id) {
        known = true;
        FUZZ_CHECK(v.Verify(opened->text, sig.signature));
      }
    }
    FUZZ_CHECK(known);
  }
  (void)SignText(opened->text);
  CheckCheckpointText(opened->text);
}

void Keys(absl::string_view key) {
  (void)crypto::IsValidNoteKeyName(key);
  absl::StatusOr<crypto::NoteVerifier> v = crypto::NoteVerifier::Parse(key);
  Trace("verifier key", v.status());
  if (v.ok()) {
    FUZZ_CHECK(v->Encode() == key);
    FUZZ_CHECK(crypto::IsValidNoteKeyName(v->name()));
    FUZZ_CHECK(v->key_id() ==
               crypto::NoteEd25519KeyId(v->name(), v->public_key()));
  }
  absl::StatusOr<crypto::NoteSigner> s =
      crypto::NoteSigner::Parse(AsBytes(key));
  Trace("signer key", s.status());
  if (s.ok()) {
    const crypto::SecretBytes encoded = s->Encode();
    FUZZ_CHECK(crypto::AsString(encoded.span()) == key);
    absl::StatusOr<crypto::NoteVerifier> pub =
        crypto::NoteVerifier::Parse(s->verifier().Encode());
    FUZZ_CHECK_OK(pub.status());
    absl::StatusOr<std::string> note = crypto::SignNote("fuzz\n", *s);
    FUZZ_CHECK_OK(note.status());
    absl::StatusOr<crypto::OpenedNote> opened =
        crypto::OpenNote(*note, {&*pub, 1});
    FUZZ_CHECK_OK(opened.status());
  }
}

std::vector<Hash> Hashes(absl::string_view bytes) {
  std::vector<Hash> out(bytes.size() / 32);
  for (size_t i = 0; i < out.size(); ++i) {
    std::copy_n(bytes.data() + 32 * i, 32, out[i].begin());
  }
  return out;
}

void Receipt(ByteReader& in) {
  const World& w = World::Get();
  const uint8_t flags = in.Byte();
  const absl::string_view earlier = in.Field();
  const std::vector<Hash> proof = Hashes(in.Field());
  tvault::v1::Receipt receipt;
  const absl::string_view rest = in.Rest();
  if (!receipt.ParseFromArray(rest.data(), static_cast<int>(rest.size()))) {
    return;
  }
  if (flags & 1) {
    absl::StatusOr<std::string> note = SignText(receipt.checkpoint());
    if (!note.ok()) return;
    receipt.set_checkpoint(*note);
  }
  client::LogMonitor monitor =
      client::LogMonitor::InMemory(w.log_signer.verifier());
  const client::ConsistencyFetcher fetch = [&proof](uint64_t, uint64_t) {
    return absl::StatusOr<std::vector<Hash>>(proof);
  };
  if (flags & 2) {
    absl::StatusOr<std::string> note = SignText(earlier);
    if (!note.ok()) return;
    const absl::Status advanced = monitor.Advance(*note, fetch).status();
    Trace("advance", advanced);
    if (!advanced.ok()) return;
  }
  absl::StatusOr<tvault::v1::LogEntry> entry =
      monitor.CheckReceipt(receipt, fetch);
  Trace("receipt", entry.status());
  if (!entry.ok()) return;

  absl::StatusOr<crypto::OpenedNote> opened =
      crypto::OpenNote(receipt.checkpoint(), Verifiers());
  FUZZ_CHECK_OK(opened.status());
  absl::StatusOr<crypto::Checkpoint> checkpoint =
      crypto::ParseCheckpoint(opened->text);
  FUZZ_CHECK_OK(checkpoint.status());
  FUZZ_CHECK(checkpoint->origin == w.log_signer.name());
  std::vector<Hash> inclusion;
  for (const std::string& h : receipt.inclusion()) {
    absl::StatusOr<Hash> hash = crypto::HashFromBytes(AsBytes(h));
    FUZZ_CHECK_OK(hash.status());
    inclusion.push_back(*hash);
  }
  FUZZ_CHECK_OK(
      crypto::VerifyInclusionProof(receipt.index(), checkpoint->tree_size,
                                   crypto::LeafHash(AsBytes(receipt.entry())),
                                   inclusion, checkpoint->root_hash));
  FUZZ_CHECK(client::ParseLogEntry(receipt.entry(), receipt.index()).ok());
  FUZZ_CHECK(monitor.latest().has_value() &&
             monitor.latest()->checkpoint.tree_size >= checkpoint->tree_size);
}

void Merkle(ByteReader& in) {
  const size_t n = 1 + in.Byte() % 40;
  const uint8_t index_byte = in.Byte();
  const uint8_t old_byte = in.Byte();
  const absl::string_view data = in.Rest();
  std::vector<Hash> leaves(n);
  for (size_t i = 0; i < n; ++i) {
    const size_t begin = data.size() * i / n;
    const size_t end = data.size() * (i + 1) / n;
    leaves[i] = crypto::LeafHash(AsBytes(data.substr(begin, end - begin)));
  }
  const Hash root = crypto::RootFromLeafHashes(leaves);
  const uint64_t index = index_byte % n;
  absl::StatusOr<std::vector<Hash>> inclusion =
      crypto::InclusionProof(leaves, index);
  FUZZ_CHECK_OK(inclusion.status());
  FUZZ_CHECK(inclusion->size() == crypto::InclusionProofLength(index, n));
  FUZZ_CHECK_OK(
      crypto::VerifyInclusionProof(index, n, leaves[index], *inclusion, root));
  if (!inclusion->empty()) {
    std::vector<Hash> bad = *inclusion;
    bad[old_byte % bad.size()][index_byte % 32] ^= 1;
    FUZZ_CHECK(absl::IsDataLoss(
        crypto::VerifyInclusionProof(index, n, leaves[index], bad, root)));
  }

  const uint64_t old_size = 1 + old_byte % n;
  const Hash old_root = crypto::RootFromLeafHashes(
      absl::MakeConstSpan(leaves).subspan(0, old_size));
  absl::StatusOr<std::vector<Hash>> consistency =
      crypto::ConsistencyProof(leaves, old_size);
  FUZZ_CHECK_OK(consistency.status());
  FUZZ_CHECK(consistency->size() ==
             crypto::ConsistencyProofLength(old_size, n));
  FUZZ_CHECK_OK(crypto::VerifyConsistencyProof(old_size, n, old_root, root,
                                               *consistency));
  if (!consistency->empty()) {
    std::vector<Hash> bad = *consistency;
    bad[index_byte % bad.size()][old_byte % 32] ^= 0x80;
    FUZZ_CHECK(
        !crypto::VerifyConsistencyProof(old_size, n, old_root, root, bad).ok());
  }
  // The input's own bytes as a proof: any answer, no crash.
  const std::vector<Hash> raw = Hashes(data);
  (void)crypto::VerifyInclusionProof(index, n, leaves[index], raw, root);
  (void)crypto::VerifyConsistencyProof(old_size, n, old_root, root, raw);
}

}  // namespace
}  // namespace tvault::fuzz

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  using namespace tvault::fuzz;
  ByteReader in(data, size);
  switch (in.Byte() % 7) {
    case 0:
      Entry(in.Rest());
      break;
    case 1:
      Note(in.Rest());
      break;
    case 2: {
      const absl::string_view text = in.Rest();
      (void)SignText(text);
      CheckCheckpointText(text);
      break;
    }
    case 3:
      CheckCheckpointText(in.Rest());
      break;
    case 4:
      Keys(in.Rest());
      break;
    case 5:
      Receipt(in);
      break;
    case 6:
      Merkle(in);
      break;
  }
  return 0;
}
