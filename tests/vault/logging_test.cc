// The scrubber for gRPC's own log lines (vault/logging.h): no address,
// port, path, token, key=value pair or long word may reach tvaultd's log;
// gRPC's plain wording stays; control characters go; the size is bounded.
#include "vault/logging.h"

#include <cstddef>
#include <string>
#include <vector>

#include "absl/strings/ascii.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"

namespace tvault::vault {
namespace {

using ::testing::HasSubstr;
using ::testing::Not;

constexpr char kMark[] = "[…]";

std::string Scrub(absl::string_view s) { return ScrubGrpcLogMessage(s); }

bool HasDigit(absl::string_view s) {
  for (char c : s) {
    if (absl::ascii_isdigit(c)) return true;
  }
  return false;
}

// Whether `s` is well-formed UTF-8 (no truncated sequence).
bool IsValidUtf8(absl::string_view s) {
  size_t i = 0;
  while (i < s.size()) {
    const auto c = static_cast<unsigned char>(s[i]);
    size_t n = 0;
    if (c < 0x80) {
      n = 0;
    } else if ((c & 0xE0) == 0xC0) {
      n = 1;
    } else if ((c & 0xF0) == 0xE0) {
      n = 2;
    } else if ((c & 0xF8) == 0xF0) {
      n = 3;
    } else {
      return false;
    }
    if (i + n >= s.size() && n > 0) return false;
    for (size_t k = 1; k <= n; ++k) {
      if ((static_cast<unsigned char>(s[i + k]) & 0xC0) != 0x80) return false;
    }
    i += n + 1;
  }
  return true;
}

// Every word of the output is either the redaction mark or a word of the
// input that passes the rules (no digit, none of :/@[]=%, at most 32 bytes).
void ExpectOnlySafeWords(absl::string_view out) {
  for (absl::string_view w : absl::StrSplit(out, ' ')) {
    if (w == kMark) continue;
    EXPECT_FALSE(w.empty()) << "double space in: " << out;
    EXPECT_FALSE(HasDigit(w)) << w;
    EXPECT_LE(w.size(), 32u) << w;
    for (char c : std::string(":/@[]=%")) {
      EXPECT_EQ(w.find(c), absl::string_view::npos) << w;
    }
  }
}

TEST(ScrubGrpcLogMessageTest, KeepsPlainWording) {
  EXPECT_EQ(Scrub("Connection reset by peer"), "Connection reset by peer");
  EXPECT_EQ(Scrub("handshake failed"), "handshake failed");
}

TEST(ScrubGrpcLogMessageTest, EmptyInputGivesEmptyOutput) {
  EXPECT_EQ(Scrub(""), "");
  EXPECT_EQ(Scrub("   "), "");
}

TEST(ScrubGrpcLogMessageTest, RemovesIpv4PeerAddressAndPort) {
  const std::string out =
      Scrub("Handshake failed with peer ipv4:127.0.0.1:43210 after reset");
  EXPECT_EQ(out, "Handshake failed with peer [\xE2\x80\xA6] after reset");
  EXPECT_THAT(out, Not(HasSubstr("127")));
  EXPECT_THAT(out, Not(HasSubstr("43210")));
  EXPECT_THAT(out, Not(HasSubstr("ipv4")));
}

TEST(ScrubGrpcLogMessageTest, RemovesBareIpv4Address) {
  const std::string out = Scrub("from 10.20.30.40 closed");
  EXPECT_EQ(out, "from [\xE2\x80\xA6] closed");
  EXPECT_FALSE(HasDigit(out));
}

TEST(ScrubGrpcLogMessageTest, RemovesBracketedIpv6AddressAndPort) {
  const std::string out = Scrub("peer [::1]:443 went away");
  EXPECT_EQ(out, std::string("peer ") + kMark + " went away");
  EXPECT_THAT(out, Not(HasSubstr("::1")));
  EXPECT_THAT(out, Not(HasSubstr("443")));
}

TEST(ScrubGrpcLogMessageTest, RemovesDigitFreeIpv6Address) {
  // "[fe::ab]" has no digit: the brackets and colons alone must redact it.
  const std::string out = Scrub("peer [fe::ab] went away");
  EXPECT_EQ(out, std::string("peer ") + kMark + " went away");
  EXPECT_THAT(out, Not(HasSubstr("fe::ab")));
  EXPECT_EQ(Scrub("peer fe::ab gone"), std::string("peer ") + kMark + " gone");
}

TEST(ScrubGrpcLogMessageTest, RemovesPercentEncodedIpv6Uri) {
  const std::string out = Scrub("connect to ipv6:%5B::1%5D:50051 failed");
  EXPECT_EQ(out, std::string("connect to ") + kMark + " failed");
  EXPECT_THAT(out, Not(HasSubstr("50051")));
  EXPECT_THAT(out, Not(HasSubstr("%5B")));
}

TEST(ScrubGrpcLogMessageTest, RemovesHexTokens) {
  const std::string token = "3f2a9c01deadbeef00112233445566778899aabbccddeeff";
  const std::string out = Scrub("bad token " + token + " refused");
  EXPECT_EQ(out, std::string("bad token ") + kMark + " refused");
  EXPECT_THAT(out, Not(HasSubstr("deadbeef")));
  // A short hex word with one digit goes too.
  EXPECT_EQ(Scrub("key cafe1 x"), std::string("key ") + kMark + " x");
}

TEST(ScrubGrpcLogMessageTest, RemovesBase64Strings) {
  // Standard base64 with padding and with / (path-like) characters.
  const std::string b64 = "q83vASNFZ4mrze8BI0VniQ==";
  EXPECT_EQ(Scrub("secret " + b64 + " leaked"),
            std::string("secret ") + kMark + " leaked");
  // Digit-free base64 longer than 32 bytes goes for its length.
  const std::string long_b64 =
      "zYxWvUtSrQpOnMlKjIhGfEdCbAzYxWvUtSrQpOnMlKjIhGfE";
  ASSERT_FALSE(HasDigit(long_b64));
  EXPECT_EQ(Scrub("value " + long_b64 + " end"),
            std::string("value ") + kMark + " end");
  // base64 containing '/' and '+' but short and digit-free: '/' redacts it.
  EXPECT_EQ(Scrub("v ab/cd+ef end"), std::string("v ") + kMark + " end");
}

TEST(ScrubGrpcLogMessageTest, RemovesPaths) {
  const std::string out = Scrub("cannot open /var/lib/x for reading");
  EXPECT_EQ(out, std::string("cannot open ") + kMark + " for reading");
  EXPECT_THAT(out, Not(HasSubstr("/var")));
  EXPECT_THAT(out, Not(HasSubstr("lib")));
  EXPECT_EQ(Scrub("unix:/run/tvault.sock down"), std::string(kMark) + " down");
}

TEST(ScrubGrpcLogMessageTest, RemovesKeyValuePairs) {
  const std::string out = Scrub("call failed peer=alice authority=vault end");
  EXPECT_EQ(out, std::string("call failed ") + kMark + " end");
  EXPECT_THAT(out, Not(HasSubstr("alice")));
  EXPECT_THAT(out, Not(HasSubstr("authority")));
}

TEST(ScrubGrpcLogMessageTest, RemovesEmailLikeAndUriWords) {
  EXPECT_EQ(Scrub("user alice@example.org rejected"),
            std::string("user ") + kMark + " rejected");
  EXPECT_EQ(Scrub("target dns:vault.example.org ok"),
            std::string("target ") + kMark + " ok");
}

TEST(ScrubGrpcLogMessageTest, RemovesWordsLongerThanThirtyTwoBytes) {
  const std::string w32(32, 'a');
  const std::string w33(33, 'b');
  EXPECT_EQ(Scrub("x " + w32 + " y"), "x " + w32 + " y");
  EXPECT_EQ(Scrub("x " + w33 + " y"), std::string("x ") + kMark + " y");
}

TEST(ScrubGrpcLogMessageTest, CollapsesRunsOfRedactionsIntoOneMark) {
  const std::string out = Scrub(
      "peer ipv4:10.0.0.1:1 ipv4:10.0.0.2:2 /a/b k=v 12345 then [::1]:9 "
      "x=1 end");
  EXPECT_EQ(out, std::string("peer ") + kMark + " then " + kMark + " end");
  EXPECT_EQ(Scrub("1 2 3 4 5"), kMark);
}

TEST(ScrubGrpcLogMessageTest, RemovesControlCharactersAndNewlines) {
  const std::string out = Scrub(
      "first line\nsecond\rline\tand\x01"
      "bell\x07 done\x7f");
  EXPECT_EQ(out, "first line second line and bell done");
  for (char c : out) {
    EXPECT_FALSE(absl::ascii_iscntrl(c)) << static_cast<int>(c);
  }
  // A forged log line cannot be injected.
  const std::string injected =
      Scrub("oops\n2024-01-01T00:00:00Z tvaultd info: all is well");
  EXPECT_EQ(injected.find('\n'), std::string::npos);
  EXPECT_EQ(injected, std::string("oops ") + kMark + " tvaultd " + kMark +
                          " all is well");
}

TEST(ScrubGrpcLogMessageTest, NewlineSeparatedSecretsStillGo) {
  // A newline must separate words, not glue them to safe text.
  const std::string out = Scrub("token\n0123456789abcdef\nend");
  EXPECT_EQ(out, std::string("token ") + kMark + " end");
}

TEST(ScrubGrpcLogMessageTest, NonAsciiBytesBecomeSeparators) {
  // Bytes >= 0x80 are replaced, so only ASCII from the input survives.
  const std::string out = Scrub("caf\xC3\xA9 au lait");
  EXPECT_EQ(out, "caf au lait");
}

TEST(ScrubGrpcLogMessageTest, OutputOfHugeInputIsAtMost512Bytes) {
  std::string huge;
  for (int i = 0; i < 100000; ++i) huge += "word ";
  const std::string out = Scrub(huge);
  EXPECT_LE(out.size(), 512u);
  EXPECT_GE(out.size(), 500u);  // still says something

  std::string mixed;
  for (int i = 0; i < 20000; ++i) {
    mixed += absl::StrCat("peer ipv4:10.0.0.", i % 250, ":", 40000 + i, " ");
  }
  const std::string out2 = Scrub(mixed);
  EXPECT_LE(out2.size(), 512u);
  EXPECT_FALSE(HasDigit(out2));
  // The last word may be cut by the bound (see TruncationNeverSplitsTheMark).
  ExpectOnlySafeWords(out2.substr(0, out2.rfind(' ')));

  // One enormous word.
  const std::string out3 = Scrub(std::string(1 << 20, 'z'));
  EXPECT_EQ(out3, kMark);
}

TEST(ScrubGrpcLogMessageTest, ManyShortWordsAreCutAtTheBound) {
  std::string many;
  for (int i = 0; i < 400; ++i) many += "ab ";
  const std::string out = Scrub(many);
  EXPECT_LE(out.size(), 512u);
  ExpectOnlySafeWords(out.substr(0, out.rfind(' ')));
}

TEST(ScrubGrpcLogMessageTest, EveryOutputWordIsSafeForAMixedMessage) {
  const std::string out = Scrub(
      "Subchannel 0x55d0c0a1b2c3 state CONNECTING -> TRANSIENT_FAILURE: "
      "Failed to connect to remote host: Connection refused (peer "
      "ipv6:[2001:db8::1]:443, fd=17, authority=vault.example.org:443, "
      "cert=/etc/tvault/tls.pem, token=Bearer abcdefABCDEF0123)");
  ExpectOnlySafeWords(out);
  EXPECT_FALSE(HasDigit(out));
  EXPECT_THAT(out, HasSubstr("Connection refused"));
  EXPECT_THAT(out, Not(HasSubstr("vault.example.org")));
  EXPECT_THAT(out, Not(HasSubstr("tls.pem")));
  EXPECT_THAT(out, Not(HasSubstr("abcdefABCDEF")));
  EXPECT_THAT(out, Not(HasSubstr("2001")));
}

TEST(VaultLogTest, EachLevelWritesOneTimestampedLineToStderr) {
  ::testing::internal::CaptureStderr();
  LogInfo("the vault is serving");
  LogWarning("no checkpoint copy is configured");
  LogError("the database is locked");
  const std::string out = ::testing::internal::GetCapturedStderr();
  const std::vector<std::string> lines =
      absl::StrSplit(out, '\n', absl::SkipEmpty());
  ASSERT_EQ(lines.size(), 3u) << out;
  const std::string stamp =
      "[0-9]{4}-[0-9]{2}-[0-9]{2}T[0-9]{2}:[0-9]{2}:[0-9]{2}Z";
  EXPECT_THAT(lines[0], ::testing::MatchesRegex(
                            stamp + " tvaultd info: the vault is serving"));
  EXPECT_THAT(
      lines[1],
      ::testing::MatchesRegex(
          stamp + " tvaultd warning: no checkpoint copy is configured"));
  EXPECT_THAT(lines[2], ::testing::MatchesRegex(
                            stamp + " tvaultd error: the database is locked"));
  EXPECT_EQ(out.back(), '\n');
}

TEST(ScrubGrpcLogMessageTest, TruncationNeverSplitsTheMark) {
  // 127 words "abc" and "x" fill 509 bytes; the mark for "12345" then
  // takes bytes 510..514, across the 512-byte bound.
  std::string in;
  for (int i = 0; i < 127; ++i) in += "abc ";
  in += "x 12345 tail";
  const std::string out = Scrub(in);
  EXPECT_LE(out.size(), 512u);
  EXPECT_TRUE(IsValidUtf8(out)) << "output ends in a cut UTF-8 sequence";
}

TEST(ScrubGrpcLogMessageTest, NoPartOfALongWordCutAtTheInputLimitSurvives) {
  // One huge word (redacted to the mark), then a 60-byte digit-free token
  // starting at byte 2020: only its first 28 bytes fit under the cut.
  const std::string filler(2019, 'f');
  const std::string token =
      "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyzABCDEFGH";
  ASSERT_EQ(token.size(), 60u);
  const std::string out = Scrub(filler + " " + token + " end");
  EXPECT_THAT(out, Not(HasSubstr("ABCDEFGHIJKLMNOPQRSTUVWXYZ")));
  EXPECT_EQ(out, kMark);
}

}  // namespace
}  // namespace tvault::vault
