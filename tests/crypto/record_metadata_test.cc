// The strict metadata rule of DESIGN.md §6, and Padmé.
#include "crypto/record_metadata.h"

#include <string>

#include "crypto/padme.h"
#include "gtest/gtest.h"

namespace tvault::crypto {
namespace {

constexpr char kId[] = "00112233445566778899aabbccddeeff";
constexpr char kCase[] = "ffeeddccbbaa99887766554433221100";
constexpr char kPk[] =
    "0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef";

tvault::v1::RecordMetadata ValidMeta() {
  tvault::v1::RecordMetadata m;
  m.set_record_id(kId);
  m.set_case_id(kCase);
  m.set_epoch(2);
  m.set_kind(tvault::v1::TESTIMONY);
  m.set_title("Arrest on 3 March");
  m.set_language("en");
  m.mutable_submitter()->set_sign_pk(kPk);
  m.mutable_submitter()->set_relation("sister");
  (*m.mutable_extra())["district"] = "north";
  return m;
}

std::string Json(absl::string_view body) {
  return std::string("{\"record_id\":\"") + kId + "\",\"case_id\":\"" + kCase +
         "\",\"kind\":\"TESTIMONY\",\"submitter\":{\"sign_pk\":\"" + kPk +
         "\"}" + std::string(body) + "}";
}

TEST(RecordMetadataTest, PrintsOriginalFieldNamesAndParsesBack) {
  absl::StatusOr<std::string> json = PrintRecordMetadata(ValidMeta());
  ASSERT_TRUE(json.ok()) << json.status();
  EXPECT_NE(json->find("\"record_id\""), std::string::npos);
  EXPECT_NE(json->find("\"TESTIMONY\""), std::string::npos);
  EXPECT_EQ(json->find("recordId"), std::string::npos);
  absl::StatusOr<tvault::v1::RecordMetadata> back = ParseRecordMetadata(*json);
  ASSERT_TRUE(back.ok()) << back.status();
  EXPECT_EQ(back->SerializeAsString(), ValidMeta().SerializeAsString());
}

TEST(RecordMetadataTest, AcceptsMinimalHandWrittenJson) {
  EXPECT_TRUE(ParseRecordMetadata(Json("")).ok());
  EXPECT_TRUE(ParseRecordMetadata(Json(",\"epoch\":3,\"title\":\"x\"")).ok());
}

TEST(RecordMetadataTest, RejectsDuplicateTopLevelKey) {
  const auto r = ParseRecordMetadata(Json(",\"title\":\"a\",\"title\":\"b\""));
  ASSERT_FALSE(r.ok());
  EXPECT_NE(r.status().message().find("repeated key \"title\""),
            absl::string_view::npos);
}

TEST(RecordMetadataTest, RejectsDuplicateKeyInsideSubmitter) {
  std::string j = Json("");
  j.replace(j.find("\"}"), 2, "\",\"relation\":\"a\",\"relation\":\"b\"}");
  EXPECT_FALSE(ParseRecordMetadata(j).ok());
}

TEST(RecordMetadataTest, RejectsDuplicateKeyInsideExtraMap) {
  EXPECT_FALSE(
      ParseRecordMetadata(Json(",\"extra\":{\"a\":\"1\",\"a\":\"2\"}")).ok());
}

TEST(RecordMetadataTest, AcceptsAnyKeyInsideExtraMap) {
  EXPECT_TRUE(
      ParseRecordMetadata(Json(",\"extra\":{\"recordId\":\"1\",\"b\":\"2\"}"))
          .ok());
}

TEST(RecordMetadataTest, RejectsCamelCaseAliasThatProtobufWouldAccept) {
  const auto r = ParseRecordMetadata(Json(",\"eventDate\":\"2024-03-03\""));
  ASSERT_FALSE(r.ok());
  EXPECT_NE(r.status().message().find("unknown key \"eventDate\""),
            absl::string_view::npos);
}

TEST(RecordMetadataTest, RejectsCamelCaseAliasOfADuplicatedField) {
  // The attack the rule exists for: one reader takes "title", another
  // (camelCase-aware) might take the alias; here both spell one field.
  EXPECT_FALSE(
      ParseRecordMetadata(Json(",\"file_name\":\"a\",\"fileName\":\"b\""))
          .ok());
}

TEST(RecordMetadataTest, RejectsUnknownField) {
  EXPECT_FALSE(ParseRecordMetadata(Json(",\"colour\":\"red\"")).ok());
}

TEST(RecordMetadataTest, RejectsUnknownFieldInsideSubmitter) {
  std::string j = Json("");
  j.replace(j.find("\"}"), 2, "\",\"name\":\"real name\"}");
  EXPECT_FALSE(ParseRecordMetadata(j).ok());
}

TEST(RecordMetadataTest, RejectsInvalidUtf8) {
  EXPECT_FALSE(ParseRecordMetadata(Json(",\"title\":\"\xff\xfe\"")).ok());
}

TEST(RecordMetadataTest, RejectsTrailingData) {
  EXPECT_FALSE(ParseRecordMetadata(Json("") + " {}").ok());
}

TEST(RecordMetadataTest, RejectsLists) {
  EXPECT_FALSE(ParseRecordMetadata(Json(",\"title\":[\"a\"]")).ok());
  EXPECT_FALSE(ParseRecordMetadata("[]").ok());
}

TEST(RecordMetadataTest, RejectsNonObjectTopLevel) {
  EXPECT_FALSE(ParseRecordMetadata("\"x\"").ok());
  EXPECT_FALSE(ParseRecordMetadata("").ok());
}

TEST(RecordMetadataTest, RejectsUppercaseOrShortIds) {
  std::string j = Json("");
  std::string upper = j;
  upper.replace(upper.find(kId), 32, "00112233445566778899AABBCCDDEEFF");
  EXPECT_FALSE(ParseRecordMetadata(upper).ok());
  std::string shorter = j;
  shorter.replace(shorter.find(kId), 32, "0011");
  EXPECT_FALSE(ParseRecordMetadata(shorter).ok());
}

TEST(RecordMetadataTest, RejectsUnspecifiedKind) {
  tvault::v1::RecordMetadata m = ValidMeta();
  m.set_kind(tvault::v1::KIND_UNSPECIFIED);
  EXPECT_FALSE(PrintRecordMetadata(m).ok());
}

TEST(RecordMetadataTest, RejectsOversizedMetadata) {
  tvault::v1::RecordMetadata m = ValidMeta();
  m.set_description(std::string(70000, 'x'));
  EXPECT_FALSE(PrintRecordMetadata(m).ok());
}

TEST(PadmeTest, MatchesDesignExamples) {
  EXPECT_EQ(Padme(70000), 71680u);
  EXPECT_EQ(Padme(1000383), 1015808u);
}

TEST(PadmeTest, SmallValuesAndPowersOfTwoAreUnchanged) {
  EXPECT_EQ(Padme(0), 0u);
  EXPECT_EQ(Padme(1), 1u);
  EXPECT_EQ(Padme(2), 2u);
  for (int i = 1; i < 40; ++i) {
    EXPECT_EQ(Padme(uint64_t{1} << i), uint64_t{1} << i);
  }
}

TEST(PadmeTest, NeverShrinksAndLeaksLittle) {
  for (uint64_t l = 2; l < 300000; l += 997) {
    const uint64_t p = Padme(l);
    EXPECT_GE(p, l);
    // Overhead is at most 12% (PURBs paper) for these sizes.
    EXPECT_LE(static_cast<double>(p - l), 0.12 * static_cast<double>(l) + 1);
    EXPECT_EQ(Padme(p), p);  // idempotent
  }
}

TEST(PadmeTest, RecordFloorIs64KiB) {
  EXPECT_EQ(RecordPaddedLength(113), 65536u);
  EXPECT_EQ(RecordPaddedLength(65536), 65536u);
  EXPECT_EQ(RecordPaddedLength(70000), 71680u);
}

}  // namespace
}  // namespace tvault::crypto

namespace tvault::crypto {
namespace {

// Values must have their schema's JSON type, so that readers that do not
// share protobuf's leniencies agree (tools/verify_record.py).
TEST(RecordMetadataTest, RejectsNumberWrittenAsString) {
  EXPECT_FALSE(ParseRecordMetadata(Json(",\"epoch\":\"3\"")).ok());
}

TEST(RecordMetadataTest, RejectsEnumWrittenAsNumber) {
  std::string j = Json("");
  j.replace(j.find("\"TESTIMONY\""), 11, "1");
  EXPECT_FALSE(ParseRecordMetadata(j).ok());
}

TEST(RecordMetadataTest, RejectsEnumNumberWrittenAsString) {
  for (const char* v : {"\"1\"", "\"6\"", "\"testimony\"", "\"\""}) {
    std::string j = Json("");
    j.replace(j.find("\"TESTIMONY\""), 11, v);
    EXPECT_FALSE(ParseRecordMetadata(j).ok()) << v;
  }
}

TEST(RecordMetadataTest, RejectsNullFractionAndBooleanValues) {
  EXPECT_FALSE(ParseRecordMetadata(Json(",\"title\":null")).ok());
  EXPECT_FALSE(ParseRecordMetadata(Json(",\"epoch\":3.0")).ok());
  EXPECT_FALSE(ParseRecordMetadata(Json(",\"epoch\":1e2")).ok());
  EXPECT_FALSE(ParseRecordMetadata(Json(",\"title\":true")).ok());
}

TEST(RecordMetadataTest, RejectsNonStringValueInExtraMap) {
  EXPECT_FALSE(ParseRecordMetadata(Json(",\"extra\":{\"a\":1}")).ok());
}

TEST(RecordMetadataTest, RejectsEpochOutOfRange) {
  EXPECT_FALSE(ParseRecordMetadata(Json(",\"epoch\":4294967296")).ok());
  EXPECT_FALSE(ParseRecordMetadata(Json(",\"epoch\":-1")).ok());
}

}  // namespace
}  // namespace tvault::crypto
