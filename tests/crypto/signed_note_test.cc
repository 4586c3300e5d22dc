// C2SP signed-note (Ed25519) and tlog-checkpoint: known answers from the
// spec and from golang.org/x/mod/sumdb/note, round trips, and every way of
// getting a note or a checkpoint wrong that the spec names.
#include "crypto/signed_note.h"

#include <cstdint>
#include <cstdlib>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/escaping.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/string_view.h"
#include "absl/types/span.h"
#include "crypto/base64.h"
#include "crypto/checkpoint.h"
#include "crypto/merkle.h"
#include "crypto/secret_bytes.h"
#include "gtest/gtest.h"

namespace tvault::crypto {
namespace {

// golang.org/x/mod/sumdb/note, package documentation and note_test.go.
constexpr absl::string_view kPeterSignerKey =
    "PRIVATE+KEY+PeterNeumann+c74f20a3+AYEKFALVFGyNhPJEMzD1QIDr+"
    "Y7hfZx09iUvxdXHKDFz";
constexpr absl::string_view kPeterVerifierKey =
    "PeterNeumann+c74f20a3+ARpc2QcUPDhMQegwxbzhKqiBfsVkmqq/LDE4izWy10TW";
constexpr absl::string_view kEnochVerifierKey =
    "EnochRoot+af0cfe78+ATtqJ7zOtqQtYqOo0CpvDXNlMhV3HeJDpjrASKGLWdop";
constexpr absl::string_view kPeterText =
    "If you think cryptography is the answer to your problem,\n"
    "then you don't know what your problem is.\n";
constexpr absl::string_view kPeterSig =
    "\xE2\x80\x94 PeterNeumann "
    "x08go/ZJkuBS9UG/SffcvIAQxVBtiFupLLr8pAcElZInNIuGUgYN1FFYC2pZSNXgKvqfqdngot"
    "pRZb6KE6RyyBwJnAM=\n";
constexpr absl::string_view kEnochSig =
    "\xE2\x80\x94 EnochRoot "
    "rwz+eBzmZa0SO3NbfRGzPCpDckykFXSdeX+MNtCOXm2/"
    "5n2tiOHp+vAF1aGrQ5ovTG01oOTGwnW"
    "Lox33WWd1RvMc+QQ=\n";

// c2sp.org/signed-note, "Verifier keys / Example".
constexpr absl::string_view kExampleVerifierKey =
    "example.com/foo+530d903a+AekyeRrm56hApGFkyQR4ZCbV54Id2LKaANYcrnKv3U2k";
constexpr absl::string_view kExampleNote =
    "This is an example message.\n"
    "\n"
    "\xE2\x80\x94 example.com/foo "
    "Uw2QOkn8srV1yJGh2VYRlL1Tnagv1YEq6TfXppzi2ONncAlTgK7Ztg1ERYNZXsYjOBH3mFXmRK"
    "uwHjG1Yu72IneyaQM=\n";

absl::Span<const uint8_t> AsBytes(absl::string_view s) {
  return absl::MakeConstSpan(reinterpret_cast<const uint8_t*>(s.data()),
                             s.size());
}

NoteVerifier MustVerifier(absl::string_view vkey) {
  absl::StatusOr<NoteVerifier> v = NoteVerifier::Parse(vkey);
  EXPECT_TRUE(v.ok()) << vkey << ": " << v.status();
  if (!v.ok()) std::abort();
  return *v;
}

NoteSigner MustSigner(absl::string_view skey) {
  absl::StatusOr<NoteSigner> s = NoteSigner::Parse(AsBytes(skey));
  EXPECT_TRUE(s.ok()) << s.status();
  if (!s.ok()) std::abort();
  return *std::move(s);
}

NoteSigner MustGenerate(absl::string_view name) {
  absl::StatusOr<NoteSigner> s = NoteSigner::Generate(name);
  EXPECT_TRUE(s.ok()) << s.status();
  if (!s.ok()) std::abort();
  return *std::move(s);
}

absl::StatusCode OpenCode(absl::string_view note,
                          const std::vector<NoteVerifier>& verifiers) {
  return OpenNote(note, verifiers).status().code();
}

// ---------------------------------------------------------------------------
// Known answers

TEST(SignedNoteKnownAnswerTest, GoSignerProducesGoNote) {
  const NoteSigner signer = MustSigner(kPeterSignerKey);
  EXPECT_EQ(signer.name(), "PeterNeumann");
  EXPECT_EQ(signer.key_id(), 0xc74f20a3u);
  EXPECT_EQ(signer.verifier().Encode(), kPeterVerifierKey);
  absl::StatusOr<std::string> note = SignNote(kPeterText, signer);
  ASSERT_TRUE(note.ok()) << note.status();
  EXPECT_EQ(*note, absl::StrCat(kPeterText, "\n", kPeterSig));
}

TEST(SignedNoteKnownAnswerTest, SignerKeyEncodesBackExactly) {
  const SecretBytes encoded = MustSigner(kPeterSignerKey).Encode();
  EXPECT_EQ(absl::string_view(reinterpret_cast<const char*>(encoded.data()),
                              encoded.size()),
            kPeterSignerKey);
}

TEST(SignedNoteKnownAnswerTest, KeyIdIsTruncatedSha256OfNameTypeAndKey) {
  const NoteVerifier v = MustVerifier(kPeterVerifierKey);
  EXPECT_EQ(NoteEd25519KeyId("PeterNeumann", v.public_key()), 0xc74f20a3u);
  EXPECT_EQ(MustVerifier(kEnochVerifierKey).key_id(), 0xaf0cfe78u);
  EXPECT_EQ(MustVerifier(kExampleVerifierKey).key_id(), 0x530d903au);
  EXPECT_EQ(MustVerifier(kExampleVerifierKey).Encode(), kExampleVerifierKey);
}

TEST(SignedNoteKnownAnswerTest, OpensTheSpecExample) {
  absl::StatusOr<OpenedNote> opened =
      OpenNote(kExampleNote, {MustVerifier(kExampleVerifierKey)});
  ASSERT_TRUE(opened.ok()) << opened.status();
  EXPECT_EQ(opened->text, "This is an example message.\n");
  ASSERT_EQ(opened->verified.size(), 1u);
  EXPECT_EQ(opened->verified[0].key_name, "example.com/foo");
  EXPECT_EQ(opened->verified[0].key_id, 0x530d903au);
  EXPECT_EQ(opened->verified[0].signature.size(), kEd25519SignatureSize);
  EXPECT_TRUE(opened->unknown.empty());
}

TEST(SignedNoteKnownAnswerTest, OpensGoDoublySignedNote) {
  const std::string note = absl::StrCat(kPeterText, "\n", kPeterSig, kEnochSig);
  // Only Peter known: Enoch's line is kept, unverified.
  absl::StatusOr<OpenedNote> opened =
      OpenNote(note, {MustVerifier(kPeterVerifierKey)});
  ASSERT_TRUE(opened.ok()) << opened.status();
  EXPECT_EQ(opened->text, kPeterText);
  ASSERT_EQ(opened->verified.size(), 1u);
  EXPECT_EQ(opened->verified[0].key_name, "PeterNeumann");
  ASSERT_EQ(opened->unknown.size(), 1u);
  EXPECT_EQ(opened->unknown[0].key_name, "EnochRoot");
  EXPECT_EQ(opened->unknown[0].key_id, 0xaf0cfe78u);
  // Both known: both verified, in note order.
  opened = OpenNote(
      note, {MustVerifier(kEnochVerifierKey), MustVerifier(kPeterVerifierKey)});
  ASSERT_TRUE(opened.ok()) << opened.status();
  ASSERT_EQ(opened->verified.size(), 2u);
  EXPECT_EQ(opened->verified[0].key_name, "PeterNeumann");
  EXPECT_EQ(opened->verified[1].key_name, "EnochRoot");
  EXPECT_TRUE(opened->unknown.empty());
  // Neither known.
  EXPECT_EQ(OpenCode(note, {}), absl::StatusCode::kPermissionDenied);
}

// Go's TestNewVerifier / TestNewSigner: every proper substring and every
// single-byte change of a key string is rejected.
TEST(SignedNoteKeyTest, MangledVerifierKeysAreRejected) {
  const std::string vkey(kPeterVerifierKey);
  for (size_t i = 0; i <= vkey.size(); ++i) {
    for (size_t j = i + 1; j <= vkey.size(); ++j) {
      if (i == 0 && j == vkey.size()) continue;
      EXPECT_FALSE(NoteVerifier::Parse(vkey.substr(i, j - i)).ok())
          << vkey.substr(i, j - i);
    }
  }
  for (size_t i = 0; i < vkey.size(); ++i) {
    std::string bad = vkey;
    ++bad[i];
    EXPECT_FALSE(NoteVerifier::Parse(bad).ok()) << bad;
  }
  // Wrong key length and unknown algorithm, each with a matching key id.
  EXPECT_FALSE(NoteVerifier::Parse("PeterNeumann+cc469956+ARpc2QcUPDhMQegwxbzh"
                                   "KqiBfsVkmqq/LDE4izWy10TWBADKEY==")
                   .ok());
  EXPECT_FALSE(NoteVerifier::Parse("PeterNeumann+173116ae+ZRpc2QcUPDhMQegwxbzh"
                                   "KqiBfsVkmqq/LDE4izWy10TW")
                   .ok());
  // Uppercase hex is not the spec's encoding.
  EXPECT_FALSE(NoteVerifier::Parse("PeterNeumann+C74F20A3+ARpc2QcUPDhMQegwxbzh"
                                   "KqiBfsVkmqq/LDE4izWy10TW")
                   .ok());
}

TEST(SignedNoteKeyTest, MangledSignerKeysAreRejected) {
  const std::string skey(kPeterSignerKey);
  for (size_t i = 0; i <= skey.size(); ++i) {
    for (size_t j = i + 1; j <= skey.size(); ++j) {
      if (i == 0 && j == skey.size()) continue;
      EXPECT_FALSE(NoteSigner::Parse(AsBytes(skey.substr(i, j - i))).ok())
          << i << ".." << j;
    }
  }
  for (size_t i = 0; i < skey.size(); ++i) {
    std::string bad = skey;
    ++bad[i];
    EXPECT_FALSE(NoteSigner::Parse(AsBytes(bad)).ok()) << i;
  }
}

TEST(SignedNoteKeyTest, KeyNames) {
  for (absl::string_view good :
       {"a", "example.com/log42", "PeterNeumann", "caf\xC3\xA9", "a-b_c~d"}) {
    EXPECT_TRUE(IsValidNoteKeyName(good)) << good;
  }
  for (absl::string_view bad : {"", "a b", "a+b", "a\tb", "a\nb",
                                "a\x01"
                                "b",
                                "a\xC2\xA0"
                                "b",  // U+00A0 no-break space
                                "a\xE3\x80\x80"
                                "b",  // U+3000 ideographic space
                                "a\xE2\x80\xA8"
                                "b",  // U+2028 line separator
                                "a\xE2\x80\x8A"
                                "b",                   // U+200A hair space
                                "a\xFF", "a\xC0\xAF",  // invalid, overlong
                                "a\xED\xA0\x80"}) {    // surrogate
    EXPECT_FALSE(IsValidNoteKeyName(bad)) << absl::CEscape(bad);
  }
  EXPECT_EQ(NoteSigner::Generate("bad name").status().code(),
            absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(NoteSigner::FromEd25519Seed("ok", std::vector<uint8_t>(31))
                .status()
                .code(),
            absl::StatusCode::kInvalidArgument);
}

TEST(SignedNoteKeyTest, GeneratedKeysRoundTripThroughTheirEncodings) {
  const NoteSigner signer = MustGenerate("tvault.example/log");
  const SecretBytes skey = signer.Encode();
  absl::StatusOr<NoteSigner> parsed = NoteSigner::Parse(skey.span());
  ASSERT_TRUE(parsed.ok()) << parsed.status();
  EXPECT_EQ(parsed->key_id(), signer.key_id());
  EXPECT_EQ(parsed->verifier().public_key(), signer.verifier().public_key());
  const NoteVerifier v = MustVerifier(signer.verifier().Encode());
  EXPECT_EQ(v.public_key(), signer.verifier().public_key());
  // Ed25519 is deterministic: both signers write the same note.
  EXPECT_EQ(*SignNote("x\n", signer), *SignNote("x\n", *parsed));
}

// ---------------------------------------------------------------------------
// Signing and opening

class SignedNoteTest : public testing::Test {
 protected:
  SignedNoteTest()
      : signer_(MustGenerate("tvault.example/log")),
        text_(
            "tvault.example/log\n42\n"
            "47DEQpj8HBSa+/TImW+5JCeuQeRkm5NMpJWZG3hSuFU=\n"),
        note_(*SignNote(text_, signer_)) {}

  const NoteSigner signer_;
  const std::string text_;
  const std::string note_;
  std::vector<NoteVerifier> known() const { return {signer_.verifier()}; }
};

TEST_F(SignedNoteTest, RoundTrip) {
  absl::StatusOr<OpenedNote> opened = OpenNote(note_, known());
  ASSERT_TRUE(opened.ok()) << opened.status();
  EXPECT_EQ(opened->text, text_);
  ASSERT_EQ(opened->verified.size(), 1u);
  EXPECT_EQ(opened->verified[0].key_name, signer_.name());
  EXPECT_EQ(opened->verified[0].key_id, signer_.key_id());
  EXPECT_TRUE(opened->unknown.empty());
}

TEST_F(SignedNoteTest, TextWithBlankLinesRoundTrips) {
  const std::string text = "a\n\nb\n\n";
  absl::StatusOr<std::string> note = SignNote(text, signer_);
  ASSERT_TRUE(note.ok()) << note.status();
  absl::StatusOr<OpenedNote> opened = OpenNote(*note, known());
  ASSERT_TRUE(opened.ok()) << opened.status();
  EXPECT_EQ(opened->text, text);
}

TEST_F(SignedNoteTest, EditedTextIsDataLoss) {
  std::string edited = note_;
  edited.replace(edited.find("42"), 2, "43");
  EXPECT_EQ(OpenCode(edited, known()), absl::StatusCode::kDataLoss);
}

TEST_F(SignedNoteTest, CorruptedSignatureFromKnownKeyIsDataLoss) {
  // Go's "invalid signature" case: four characters inserted into the base64.
  const std::string note = absl::StrCat(
      kPeterText, "\n", kPeterSig.substr(0, 60), "ABCD", kPeterSig.substr(60));
  EXPECT_EQ(OpenCode(note, {MustVerifier(kPeterVerifierKey)}),
            absl::StatusCode::kDataLoss);
  // A signature of the wrong length for Ed25519, same key id.
  const std::string short_sig = absl::StrCat(
      text_, "\n\xE2\x80\x94 ", signer_.name(), " ",
      Base64Encode(
          std::vector<uint8_t>{static_cast<uint8_t>(signer_.key_id() >> 24),
                               static_cast<uint8_t>(signer_.key_id() >> 16),
                               static_cast<uint8_t>(signer_.key_id() >> 8),
                               static_cast<uint8_t>(signer_.key_id()), 1, 2},
          Base64Padding::kPadded),
      "\n");
  EXPECT_EQ(OpenCode(short_sig, known()), absl::StatusCode::kDataLoss);
}

TEST_F(SignedNoteTest, WrongKeyIsNotTrusted) {
  // Same name, another key: another key id, so the line is unknown.
  const NoteSigner other = MustGenerate(signer_.name());
  ASSERT_NE(other.key_id(), signer_.key_id());
  absl::StatusOr<OpenedNote> opened = OpenNote(note_, {other.verifier()});
  EXPECT_EQ(opened.status().code(), absl::StatusCode::kPermissionDenied);
}

TEST_F(SignedNoteTest, WrongKeyIdIsIgnoredAsUnknown) {
  // Rewrite the key id bytes of the signature line.
  const size_t dash = note_.rfind("\xE2\x80\x94 ");
  const size_t space = note_.find(' ', dash + 4);
  absl::StatusOr<std::vector<uint8_t>> raw = Base64Decode(
      absl::string_view(note_).substr(space + 1, note_.size() - space - 2),
      Base64Padding::kPadded);
  ASSERT_TRUE(raw.ok());
  (*raw)[3] ^= 1;
  const std::string forged =
      absl::StrCat(note_.substr(0, space + 1),
                   Base64Encode(*raw, Base64Padding::kPadded), "\n");
  EXPECT_EQ(OpenCode(forged, known()), absl::StatusCode::kPermissionDenied);
  // With a known signature beside it, it is listed as unknown, unverified.
  const NoteSigner second = MustGenerate("witness.example");
  const std::string both = absl::StrCat(
      forged,
      absl::string_view(*SignNote(text_, second)).substr(text_.size() + 1));
  absl::StatusOr<OpenedNote> opened =
      OpenNote(both, {signer_.verifier(), second.verifier()});
  ASSERT_TRUE(opened.ok()) << opened.status();
  ASSERT_EQ(opened->verified.size(), 1u);
  EXPECT_EQ(opened->verified[0].key_name, "witness.example");
  ASSERT_EQ(opened->unknown.size(), 1u);
  EXPECT_EQ(opened->unknown[0].key_id, signer_.key_id() ^ 1u);
}

TEST_F(SignedNoteTest, MissingFinalNewline) {
  EXPECT_EQ(OpenCode(note_.substr(0, note_.size() - 1), known()),
            absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(SignNote("no newline", signer_).status().code(),
            absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(SignNote("", signer_).status().code(),
            absl::StatusCode::kInvalidArgument);
}

TEST_F(SignedNoteTest, ExtraBlankLines) {
  const std::string sig_line = note_.substr(text_.size() + 1);
  // Before the signatures: the text then ends in a blank line it was not
  // signed with.
  EXPECT_EQ(OpenCode(absl::StrCat(text_, "\n\n", sig_line), known()),
            absl::StatusCode::kDataLoss);
  // After the signatures: no signature lines follow the last blank line.
  EXPECT_EQ(OpenCode(absl::StrCat(note_, "\n"), known()),
            absl::StatusCode::kInvalidArgument);
  // Between two signature lines: the first becomes part of the text.
  const NoteSigner second = MustGenerate("witness.example");
  const std::string second_line =
      SignNote(text_, second)->substr(text_.size() + 1);
  EXPECT_EQ(OpenCode(absl::StrCat(note_, "\n", second_line),
                     {signer_.verifier(), second.verifier()}),
            absl::StatusCode::kDataLoss);
  // No blank line at all.
  EXPECT_EQ(OpenCode(absl::StrCat(text_, sig_line), known()),
            absl::StatusCode::kInvalidArgument);
}

TEST_F(SignedNoteTest, DuplicatedSignatureLineCountsOnce) {
  const std::string sig_line = note_.substr(text_.size() + 1);
  absl::StatusOr<OpenedNote> opened =
      OpenNote(absl::StrCat(note_, sig_line, sig_line), known());
  ASSERT_TRUE(opened.ok()) << opened.status();
  EXPECT_EQ(opened->verified.size(), 1u);
}

TEST_F(SignedNoteTest, DuplicateFromKnownKeyIsVerifiedToo) {
  // Go skips a second line from a known key without verifying it; the spec
  // says a known key's signature MUST be verified, so it fails here.
  const std::string edited_text =
      "tvault.example/log\n43\n"
      "47DEQpj8HBSa+/TImW+5JCeuQeRkm5NMpJWZG3hSuFU=\n";
  const std::string wrong_line =
      SignNote(edited_text, signer_)->substr(edited_text.size() + 1);
  EXPECT_EQ(OpenCode(absl::StrCat(note_, wrong_line), known()),
            absl::StatusCode::kDataLoss);
}

TEST_F(SignedNoteTest, UnknownSignerIgnoredWhileKnownOneVerifies) {
  const std::string note = absl::StrCat(note_, kEnochSig);
  absl::StatusOr<OpenedNote> opened = OpenNote(note, known());
  ASSERT_TRUE(opened.ok()) << opened.status();
  ASSERT_EQ(opened->verified.size(), 1u);
  ASSERT_EQ(opened->unknown.size(), 1u);
  EXPECT_EQ(opened->unknown[0].key_name, "EnochRoot");
  // Identical unknown lines are listed once.
  opened = OpenNote(absl::StrCat(note, kEnochSig), known());
  ASSERT_TRUE(opened.ok()) << opened.status();
  EXPECT_EQ(opened->unknown.size(), 1u);
}

TEST_F(SignedNoteTest, OnlyUnknownSignersIsPermissionDenied) {
  EXPECT_EQ(OpenCode(note_, {}), absl::StatusCode::kPermissionDenied);
  EXPECT_EQ(OpenCode(note_, {MustVerifier(kPeterVerifierKey)}),
            absl::StatusCode::kPermissionDenied);
}

TEST_F(SignedNoteTest, IdenticalDuplicateVerifiersAreHarmless) {
  EXPECT_TRUE(OpenNote(note_, {signer_.verifier(), signer_.verifier()}).ok());
}

TEST_F(SignedNoteTest, MalformedSignatureLinesAreRejected) {
  const std::string sig_line = note_.substr(text_.size() + 1);
  const std::string b64 = sig_line.substr(
      sig_line.find(' ', 4) + 1, sig_line.size() - sig_line.find(' ', 4) - 2);
  const std::string name = signer_.name();
  for (const std::string& bad_line : std::vector<std::string>{
           absl::StrCat("- ", name, " ", b64, "\n"),            // hyphen
           absl::StrCat("\xE2\x80\x94", name, " ", b64, "\n"),  // no space
           absl::StrCat("\xE2\x80\x94 ", name, b64, "\n"),      // no separator
           absl::StrCat("\xE2\x80\x94  ", name, " ", b64, "\n"),  // empty name
           absl::StrCat("\xE2\x80\x94 a+b ", b64, "\n"),          // '+' in name
           absl::StrCat("\xE2\x80\x94 ", name, " ", b64, " \n"),  // trailing
           absl::StrCat("\xE2\x80\x94 ", name, " \n"),            // empty sig
           absl::StrCat("\xE2\x80\x94 ", name, " AAAAAA==\n"),    // 4 bytes
           absl::StrCat("\xE2\x80\x94 ", name, " ",
                        b64.substr(0, b64.size() - 1), "\n"),     // no padding
           absl::StrCat("\xE2\x80\x94 ", name, " ", b64, "=\n"),  // padding
           absl::StrCat("\xE2\x80\x94 ", name, " ", b64.substr(0, 10), " ",
                        b64.substr(10), "\n"),  // space inside
           "Unexpected line.\n",
       }) {
    EXPECT_EQ(OpenCode(absl::StrCat(note_, bad_line), known()),
              absl::StatusCode::kInvalidArgument)
        << absl::CEscape(bad_line);
  }
  // Non-canonical base64: unused bits set in the last character ("AM=" ->
  // "AN=" decodes to the same bytes in a lax decoder).
  std::string lax = note_;
  const size_t pad = lax.rfind('=');
  ASSERT_NE(pad, std::string::npos);
  ASSERT_EQ(lax[pad - 1], b64[b64.size() - 2]);
  const char last = lax[pad - 1];
  const std::string alphabet =
      "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
  const size_t value = alphabet.find(last);
  lax[pad - 1] = alphabet[value ^ 1];  // the lowest (unused) bit
  EXPECT_EQ(OpenCode(lax, known()), absl::StatusCode::kInvalidArgument);
}

TEST_F(SignedNoteTest, ControlCharactersAndBadUtf8AreRejected) {
  for (absl::string_view bad : {"\x01", "\t", "\r", "\xFF", "\xC0\x80"}) {
    EXPECT_EQ(OpenCode(absl::StrCat(bad, note_), known()),
              absl::StatusCode::kInvalidArgument)
        << absl::CEscape(bad);
    EXPECT_EQ(SignNote(absl::StrCat(bad, text_), signer_).status().code(),
              absl::StatusCode::kInvalidArgument)
        << absl::CEscape(bad);
  }
}

TEST_F(SignedNoteTest, SizeLimits) {
  const std::string sig_line = note_.substr(text_.size() + 1);
  std::string lines;
  for (size_t i = 0; i < kMaxNoteSignatures; ++i) lines += sig_line;
  EXPECT_TRUE(OpenNote(absl::StrCat(text_, "\n", lines), known()).ok());
  EXPECT_EQ(OpenCode(absl::StrCat(text_, "\n", lines, sig_line), known()),
            absl::StatusCode::kInvalidArgument);
  const std::string big(kMaxNoteSize, 'a');
  EXPECT_EQ(OpenCode(absl::StrCat(big, note_), known()),
            absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(
      SignNote(absl::StrCat(big.substr(10), "\n"), signer_).status().code(),
      absl::StatusCode::kInvalidArgument);
}

// ---------------------------------------------------------------------------
// Checkpoints

TEST(CheckpointTest, ParsesTheSpecExample) {
  absl::StatusOr<Checkpoint> c = ParseCheckpoint(
      "example.com/behind-the-sofa\n20852163\n"
      "CsUYapGGPo4dkMgIAUqom/Xajj7h2fB2MPA3j2jxq2I=\n");
  ASSERT_TRUE(c.ok()) << c.status();
  EXPECT_EQ(c->origin, "example.com/behind-the-sofa");
  EXPECT_EQ(c->tree_size, 20852163u);
  EXPECT_EQ(Base64Encode(c->root_hash, Base64Padding::kPadded),
            "CsUYapGGPo4dkMgIAUqom/Xajj7h2fB2MPA3j2jxq2I=");
  EXPECT_TRUE(c->extensions.empty());
}

TEST(CheckpointTest, FormatAndParseRoundTrip) {
  Checkpoint c;
  c.origin = "tvault.example/log";
  c.tree_size = 0;
  c.root_hash = EmptyTreeRootHash();
  for (uint64_t size : {uint64_t{0}, uint64_t{1}, uint64_t{10}, UINT64_MAX}) {
    c.tree_size = size;
    for (const std::vector<std::string>& ext :
         {std::vector<std::string>{}, std::vector<std::string>{"x", "y z"}}) {
      c.extensions = ext;
      absl::StatusOr<std::string> text = FormatCheckpoint(c);
      ASSERT_TRUE(text.ok()) << text.status();
      absl::StatusOr<Checkpoint> parsed = ParseCheckpoint(*text);
      ASSERT_TRUE(parsed.ok()) << parsed.status();
      EXPECT_EQ(*parsed, c);
      EXPECT_EQ(*FormatCheckpoint(*parsed), *text);
    }
  }
  c.extensions.clear();
  c.tree_size = 42;
  EXPECT_EQ(*FormatCheckpoint(c),
            "tvault.example/log\n42\n"
            "47DEQpj8HBSa+/TImW+5JCeuQeRkm5NMpJWZG3hSuFU=\n");
}

TEST(CheckpointTest, SignedCheckpointRoundTrip) {
  const NoteSigner signer = MustGenerate("tvault.example/log");
  Checkpoint c;
  c.origin = signer.name();
  c.tree_size = 7;
  c.root_hash = LeafHash(std::vector<uint8_t>{1, 2, 3});
  absl::StatusOr<std::string> note = SignNote(*FormatCheckpoint(c), signer);
  ASSERT_TRUE(note.ok());
  absl::StatusOr<OpenedNote> opened = OpenNote(*note, {signer.verifier()});
  ASSERT_TRUE(opened.ok()) << opened.status();
  absl::StatusOr<Checkpoint> parsed = ParseCheckpoint(opened->text);
  ASSERT_TRUE(parsed.ok()) << parsed.status();
  EXPECT_EQ(*parsed, c);
}

TEST(CheckpointTest, StrictParsing) {
  const std::string root = "47DEQpj8HBSa+/TImW+5JCeuQeRkm5NMpJWZG3hSuFU=";
  EXPECT_TRUE(ParseCheckpoint(absl::StrCat("o\n0\n", root, "\n")).ok());
  EXPECT_TRUE(
      ParseCheckpoint(absl::StrCat("o\n18446744073709551615\n", root, "\n"))
          .ok());
  for (const std::string& bad : std::vector<std::string>{
           absl::StrCat("o\n042\n", root, "\n"),   // leading zero
           absl::StrCat("o\n00\n", root, "\n"),    // leading zero
           absl::StrCat("o\n+42\n", root, "\n"),   // sign
           absl::StrCat("o\n-1\n", root, "\n"),    // sign
           absl::StrCat("o\n4 2\n", root, "\n"),   // space
           absl::StrCat("o\n\n", root, "\n"),      // empty size
           absl::StrCat("o\n0x10\n", root, "\n"),  // hex
           absl::StrCat("o\n18446744073709551616\n", root, "\n"),  // 2^64
           absl::StrCat("\n42\n", root, "\n"),  // missing origin
           absl::StrCat("42\n", root, "\n"),    // missing line
           "o\n42\n47DEQpj8HBSa+/TImW+5JCeuQeRkm5NMpJWZG3hSuFV=\n",  // bits
           "o\n42\n47DEQpj8HBSa+/TImW+5JCeuQeRkm5NMpJWZG3hSuFU\n",   // no pad
           "o\n42\n47DEQpj8HBSa-_TImW+5JCeuQeRkm5NMpJWZG3hSuFU=\n",  // url
           "o\n42\nAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA\n",      // 30 B
           "o\n42\nAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA=\n",  // 35 B
           absl::StrCat("o\n42\n", root, " \n"),   // trailing space
           absl::StrCat("o\n42\n", root, "\n\n"),  // empty extension
           absl::StrCat("o\n42\n", root, "\nx\n\n"),
           absl::StrCat("o\n42\n", root),          // no final newline
           absl::StrCat("o\r\n42\n", root, "\n"),  // control character
           "",
       }) {
    EXPECT_EQ(ParseCheckpoint(bad).status().code(),
              absl::StatusCode::kInvalidArgument)
        << absl::CEscape(bad);
  }
}

TEST(CheckpointTest, FormatRejectsWhatParseWouldReject) {
  Checkpoint c;
  c.origin = "";
  EXPECT_FALSE(FormatCheckpoint(c).ok());
  c.origin = "a\nb";
  EXPECT_FALSE(FormatCheckpoint(c).ok());
  c.origin = "a\tb";
  EXPECT_FALSE(FormatCheckpoint(c).ok());
  c.origin = "o";
  c.extensions = {""};
  EXPECT_FALSE(FormatCheckpoint(c).ok());
  c.extensions = {"a\nb"};
  EXPECT_FALSE(FormatCheckpoint(c).ok());
  c.extensions = {"ok"};
  EXPECT_TRUE(FormatCheckpoint(c).ok());
}

}  // namespace
}  // namespace tvault::crypto
