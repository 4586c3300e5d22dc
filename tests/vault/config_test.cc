// tvaultd's configuration file (vault/config.h): defaults, every key, the
// line syntax, and every refusal (each InvalidArgument naming the line).
#include "vault/config.h"

#include <stdlib.h>
#include <unistd.h>

#include <cstdint>
#include <filesystem>
#include <fstream>
#include <string>

#include "absl/status/status.h"
#include "absl/strings/str_cat.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "tests/temp_dir.h"

namespace tvault::vault {
namespace {

using ::testing::HasSubstr;
using ::testing::StartsWith;

using tvault::testing_support::TempDir;

void WriteFile(const std::string& path, const std::string& text) {
  std::ofstream out(path, std::ios::binary | std::ios::trunc);
  out << text;
  ASSERT_TRUE(out.good());
}

// Expects InvalidArgument whose message starts "configuration line <line>:"
// and contains `words`.
void ExpectRefused(const std::string& text, int line,
                   const std::string& words) {
  absl::StatusOr<VaultConfig> config = ParseVaultConfig(text);
  ASSERT_FALSE(config.ok()) << "accepted: " << text;
  EXPECT_EQ(config.status().code(), absl::StatusCode::kInvalidArgument)
      << config.status();
  EXPECT_THAT(std::string(config.status().message()),
              StartsWith(absl::StrCat("configuration line ", line, ": ")))
      << text;
  EXPECT_THAT(std::string(config.status().message()), HasSubstr(words)) << text;
}

void ExpectDefaults(const VaultConfig& c) {
  EXPECT_EQ(c.checkpoint_copy, "");
  EXPECT_EQ(c.challenge_ttl_seconds, 120);
  EXPECT_EQ(c.session_ttl_seconds, 3600);
  EXPECT_EQ(c.clock_skew_seconds, 300);
  EXPECT_EQ(c.max_grants_per_request, 256);
  EXPECT_EQ(c.max_message_bytes, 1114112);
  EXPECT_EQ(c.max_record_bytes, int64_t{4294967296});
  EXPECT_EQ(c.max_metadata_bytes, 16384);
  EXPECT_EQ(c.call_deadline_seconds, 30);
  EXPECT_EQ(c.max_requests_per_minute, 600);
  EXPECT_EQ(c.upload_expiry_seconds, 604800);
  EXPECT_EQ(c.max_pending_uploads, 4);
  EXPECT_EQ(c.max_pending_bytes, int64_t{8589934592});
  EXPECT_EQ(c.max_streams_per_identity, 8);
}

struct IntKeyCase {
  const char* name;
  int64_t VaultConfig::*field;
  int64_t min;
  int64_t max;
};

// The ranges of config.h's comment, written out independently of config.cc.
constexpr IntKeyCase kIntKeys[] = {
    {"challenge_ttl_seconds", &VaultConfig::challenge_ttl_seconds, 1, 3600},
    {"session_ttl_seconds", &VaultConfig::session_ttl_seconds, 60, 86400},
    {"clock_skew_seconds", &VaultConfig::clock_skew_seconds, 0, 3600},
    {"max_grants_per_request", &VaultConfig::max_grants_per_request, 1, 4096},
    {"max_message_bytes", &VaultConfig::max_message_bytes, 65536, 16777216},
    {"max_record_bytes", &VaultConfig::max_record_bytes, 65536,
     int64_t{1099511627776}},
    {"max_metadata_bytes", &VaultConfig::max_metadata_bytes, 1024, 65536},
    {"call_deadline_seconds", &VaultConfig::call_deadline_seconds, 1, 600},
    {"max_requests_per_minute", &VaultConfig::max_requests_per_minute, 10,
     100000},
    {"upload_expiry_seconds", &VaultConfig::upload_expiry_seconds, 3600,
     2592000},
    {"max_pending_uploads", &VaultConfig::max_pending_uploads, 1, 64},
    {"max_pending_bytes", &VaultConfig::max_pending_bytes, 65536,
     int64_t{4398046511104}},
    {"max_streams_per_identity", &VaultConfig::max_streams_per_identity, 1, 96},
};

TEST(ConfigTest, EmptyTextGivesTheDocumentedDefaults) {
  absl::StatusOr<VaultConfig> c = ParseVaultConfig("");
  ASSERT_TRUE(c.ok()) << c.status();
  ExpectDefaults(*c);
  // A default-constructed config is the same.
  ExpectDefaults(VaultConfig{});
}

TEST(ConfigTest, OnlyCommentsAndBlankLinesGiveDefaults) {
  absl::StatusOr<VaultConfig> c = ParseVaultConfig(
      "# tvaultd settings\n\n   \n\t\n  # indented comment = 5\n#x=y\n");
  ASSERT_TRUE(c.ok()) << c.status();
  ExpectDefaults(*c);
}

TEST(ConfigTest, ParsesCheckpointCopyPath) {
  absl::StatusOr<VaultConfig> c =
      ParseVaultConfig("checkpoint_copy = /media/usb/tvault checkpoint\n");
  ASSERT_TRUE(c.ok()) << c.status();
  // Inner spaces are kept; only the ends are trimmed.
  EXPECT_EQ(c->checkpoint_copy, "/media/usb/tvault checkpoint");
  EXPECT_EQ(c->challenge_ttl_seconds, 120);
}

TEST(ConfigTest, CheckpointCopyValueMayContainEquals) {
  // Only the first "=" separates key and value.
  absl::StatusOr<VaultConfig> c =
      ParseVaultConfig("checkpoint_copy = /mnt/a=b/checkpoint\n");
  ASSERT_TRUE(c.ok()) << c.status();
  EXPECT_EQ(c->checkpoint_copy, "/mnt/a=b/checkpoint");
}

TEST(ConfigTest, ParsesEachNumericKeyAndLeavesTheOthersAtDefault) {
  for (const IntKeyCase& k : kIntKeys) {
    SCOPED_TRACE(k.name);
    const int64_t value = k.min + 1;
    absl::StatusOr<VaultConfig> c =
        ParseVaultConfig(absl::StrCat(k.name, " = ", value, "\n"));
    ASSERT_TRUE(c.ok()) << c.status();
    EXPECT_EQ((*c).*(k.field), value);
    VaultConfig expected;
    expected.*(k.field) = value;
    for (const IntKeyCase& other : kIntKeys) {
      EXPECT_EQ((*c).*(other.field), expected.*(other.field)) << other.name;
    }
    EXPECT_EQ(c->checkpoint_copy, "");
  }
}

TEST(ConfigTest, AcceptsBothEndsOfEveryRange) {
  for (const IntKeyCase& k : kIntKeys) {
    SCOPED_TRACE(k.name);
    for (int64_t v : {k.min, k.max}) {
      absl::StatusOr<VaultConfig> c =
          ParseVaultConfig(absl::StrCat(k.name, "=", v));
      ASSERT_TRUE(c.ok()) << c.status();
      EXPECT_EQ((*c).*(k.field), v);
    }
  }
}

TEST(ConfigTest, ParsesAFullFileWithCommentsWhitespaceAndCrlf) {
  const std::string text =
      "# tvaultd.conf\r\n"
      "\r\n"
      "   checkpoint_copy   =   /srv/mirror/checkpoint   \r\n"
      "\tchallenge_ttl_seconds\t=\t60\r\n"
      "session_ttl_seconds=600\n"
      "   # a comment between\n"
      "clock_skew_seconds = 0\n"
      "max_grants_per_request = 17\n"
      "max_message_bytes = 2097152\n"
      "max_record_bytes = 1099511627776\n"
      "max_metadata_bytes = 2048\n"
      "call_deadline_seconds = 5\n"
      "max_requests_per_minute = 60\n"
      "upload_expiry_seconds = 86400\n"
      "max_pending_uploads = 2\n"
      "max_pending_bytes = 1048576";  // no final newline
  absl::StatusOr<VaultConfig> c = ParseVaultConfig(text);
  ASSERT_TRUE(c.ok()) << c.status();
  EXPECT_EQ(c->checkpoint_copy, "/srv/mirror/checkpoint");
  EXPECT_EQ(c->challenge_ttl_seconds, 60);
  EXPECT_EQ(c->session_ttl_seconds, 600);
  EXPECT_EQ(c->clock_skew_seconds, 0);
  EXPECT_EQ(c->max_grants_per_request, 17);
  EXPECT_EQ(c->max_message_bytes, 2097152);
  EXPECT_EQ(c->max_record_bytes, int64_t{1099511627776});
  EXPECT_EQ(c->max_metadata_bytes, 2048);
  EXPECT_EQ(c->call_deadline_seconds, 5);
  EXPECT_EQ(c->max_requests_per_minute, 60);
  EXPECT_EQ(c->upload_expiry_seconds, 86400);
  EXPECT_EQ(c->max_pending_uploads, 2);
  EXPECT_EQ(c->max_pending_bytes, 1048576);
}

TEST(ConfigTest, RefusesUnknownKeyNamingLineAndKey) {
  ExpectRefused("# header\n\nchallenge_ttl = 60\n", 3,
                "unknown setting \"challenge_ttl\"");
}

TEST(ConfigTest, RefusesKeysInAnotherCase) {
  ExpectRefused("Challenge_TTL_Seconds = 60\n", 1, "unknown setting");
}

TEST(ConfigTest, RefusesEmptyKey) {
  ExpectRefused("= 60\n", 1, "unknown setting \"\"");
}

TEST(ConfigTest, RefusesRepeatedKeyOnItsSecondLine) {
  ExpectRefused(
      "session_ttl_seconds = 600\n# again:\nsession_ttl_seconds = 600\n", 3,
      "\"session_ttl_seconds\" is set twice");
}

TEST(ConfigTest, RefusesRepeatedKeyEvenWithDifferentSpacing) {
  ExpectRefused("checkpoint_copy=/a\n  checkpoint_copy  =  /b\n", 2,
                "is set twice");
}

TEST(ConfigTest, RefusesLineWithoutEquals) {
  ExpectRefused("challenge_ttl_seconds = 60\nsession_ttl_seconds 600\n", 2,
                "expected key = value");
}

TEST(ConfigTest, RefusesNonNumbers) {
  for (const char* bad :
       {"abc", "60s", "6 0", "0x10", "1e3", "60.0", "", "sixty", "60#"}) {
    SCOPED_TRACE(bad);
    ExpectRefused(absl::StrCat("challenge_ttl_seconds = ", bad, "\n"), 1,
                  "challenge_ttl_seconds must be a whole number");
  }
}

TEST(ConfigTest, RefusesNegativeNumbers) {
  // Even where 0 is allowed, "-0" and "-5" are not whole numbers here.
  ExpectRefused("clock_skew_seconds = -5\n", 1,
                "clock_skew_seconds must be a whole number");
  ExpectRefused("clock_skew_seconds = -0\n", 1, "must be a whole number");
}

TEST(ConfigTest, RefusesExplicitPlusSign) {
  ExpectRefused("challenge_ttl_seconds = +5\n", 1,
                "challenge_ttl_seconds must be a whole number");
}

TEST(ConfigTest, RefusesNumbersTooLargeForInt64) {
  ExpectRefused("max_record_bytes = 99999999999999999999\n", 1,
                "max_record_bytes must be a whole number");
}

TEST(ConfigTest, RefusesInlineCommentAfterNumber) {
  // Comments are whole lines only; an inline one makes the value malformed
  // rather than being silently dropped.
  ExpectRefused("challenge_ttl_seconds = 60 # one minute\n", 1,
                "must be a whole number");
}

TEST(ConfigTest, RefusesValuesJustOutsideEveryRange) {
  for (const IntKeyCase& k : kIntKeys) {
    SCOPED_TRACE(k.name);
    const std::string range =
        absl::StrCat(k.name, " must be between ", k.min, " and ", k.max);
    if (k.min > 0) {
      ExpectRefused(absl::StrCat("\n", k.name, " = ", k.min - 1), 2, range);
    }
    ExpectRefused(absl::StrCat("\n\n", k.name, " = ", k.max + 1), 3, range);
  }
}

TEST(ConfigTest, RefusesZeroWhereTheMinimumIsPositive) {
  ExpectRefused("challenge_ttl_seconds = 0\n", 1,
                "challenge_ttl_seconds must be between 1 and 3600");
  ExpectRefused("max_grants_per_request = 0\n", 1,
                "must be between 1 and 4096");
}

TEST(ConfigTest, RefusesEmptyCheckpointCopy) {
  ExpectRefused("# mirror\ncheckpoint_copy =   \n", 2,
                "checkpoint_copy needs a path");
}

TEST(ConfigTest, ReportsTheFirstBadLineOnly) {
  ExpectRefused("bogus = 1\nchallenge_ttl_seconds = 0\n", 1,
                "unknown setting \"bogus\"");
}

TEST(ConfigTest, LoadReadsAFile) {
  TempDir dir;
  const std::string path = dir.File("tvaultd.conf");
  WriteFile(path, "challenge_ttl_seconds = 30\ncheckpoint_copy = /m/c\n");
  absl::StatusOr<VaultConfig> c = LoadVaultConfig(path);
  ASSERT_TRUE(c.ok()) << c.status();
  EXPECT_EQ(c->challenge_ttl_seconds, 30);
  EXPECT_EQ(c->checkpoint_copy, "/m/c");
  EXPECT_EQ(c->session_ttl_seconds, 3600);
}

TEST(ConfigTest, LoadOfMissingFileIsNotFound) {
  TempDir dir;
  const std::string path = dir.File("absent.conf");
  absl::StatusOr<VaultConfig> c = LoadVaultConfig(path);
  ASSERT_FALSE(c.ok());
  EXPECT_EQ(c.status().code(), absl::StatusCode::kNotFound) << c.status();
  EXPECT_THAT(std::string(c.status().message()),
              HasSubstr("cannot read the configuration file"));
}

TEST(ConfigTest, LoadNamesTheFileAndLineOfAnError) {
  TempDir dir;
  const std::string path = dir.File("bad.conf");
  WriteFile(path, "# ok\nsession_ttl_seconds = 59\n");
  absl::StatusOr<VaultConfig> c = LoadVaultConfig(path);
  ASSERT_FALSE(c.ok());
  EXPECT_EQ(c.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_THAT(std::string(c.status().message()), StartsWith(path + ": "));
  EXPECT_THAT(std::string(c.status().message()),
              HasSubstr("configuration line 2: session_ttl_seconds must be "
                        "between 60 and 86400"));
}

TEST(ConfigTest, LoadRefusesFileOverSixtyFourKiB) {
  TempDir dir;
  const std::string path = dir.File("big.conf");
  // Valid content (comments) just past the limit.
  std::string text;
  while (text.size() <= 64 * 1024) text += "# padding padding padding\n";
  WriteFile(path, text);
  absl::StatusOr<VaultConfig> c = LoadVaultConfig(path);
  ASSERT_FALSE(c.ok());
  EXPECT_EQ(c.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_THAT(std::string(c.status().message()), HasSubstr("too large"));
}

TEST(ConfigTest, LoadAcceptsFileOfExactlySixtyFourKiB) {
  TempDir dir;
  const std::string path = dir.File("edge.conf");
  std::string text = "challenge_ttl_seconds = 7\n";
  while (text.size() < 64 * 1024) text += "#";
  text.resize(64 * 1024);
  WriteFile(path, text);
  absl::StatusOr<VaultConfig> c = LoadVaultConfig(path);
  ASSERT_TRUE(c.ok()) << c.status();
  EXPECT_EQ(c->challenge_ttl_seconds, 7);
}

TEST(ConfigTest, LoadOfADirectoryIsNotFound) {
  TempDir dir;
  absl::StatusOr<VaultConfig> c = LoadVaultConfig(dir.path());
  ASSERT_FALSE(c.ok()) << "a directory was read as an empty configuration";
  EXPECT_EQ(c.status().code(), absl::StatusCode::kNotFound) << c.status();
}

}  // namespace
}  // namespace tvault::vault
