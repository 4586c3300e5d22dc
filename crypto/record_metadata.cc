#include "crypto/record_metadata.h"

#include <nlohmann/json.hpp>
#include <set>
#include <vector>

#include "absl/strings/str_cat.h"
#include "google/protobuf/descriptor.h"
#include "google/protobuf/util/json_util.h"

namespace tvault::crypto {
namespace {

using google::protobuf::Descriptor;
using google::protobuf::FieldDescriptor;
using tvault::v1::RecordMetadata;

// Walks the JSON events with the message descriptors in hand and stops at
// the first key that is not an original field name, or that repeats.
class StrictKeyChecker final : public nlohmann::json_sax<nlohmann::json> {
 public:
  explicit StrictKeyChecker(const Descriptor* root) : root_(root) {}

  // Every value must have the JSON type its field has in the schema, so that
  // a reader that does not know protobuf's leniencies (numbers as strings,
  // enums as numbers, null as default) reads the same record.
  bool null() override { return Fail("a null value"); }
  bool boolean(bool) override { return Typed(Kind::kBool); }
  bool number_integer(number_integer_t) override {
    return Typed(Kind::kInteger);
  }
  bool number_unsigned(number_unsigned_t) override {
    return Typed(Kind::kInteger);
  }
  bool number_float(number_float_t, const string_t&) override {
    return Fail("a fractional or exponent number");
  }
  bool string(string_t& value) override {
    // An enum is written by its name only: protobuf would also take the
    // number as a string ("1"), which other readers would not.
    if (!stack_.empty() && !stack_.back().is_map &&
        stack_.back().pending != nullptr &&
        stack_.back().pending->cpp_type() == FieldDescriptor::CPPTYPE_ENUM &&
        stack_.back().pending->enum_type()->FindValueByName(value) == nullptr) {
      return Fail("an enum value that is not one of its names for",
                  stack_.back().pending->name());
    }
    return Typed(Kind::kString);
  }
  bool binary(binary_t&) override { return Fail("binary values"); }

  bool start_object(std::size_t) override {
    Frame f;
    if (stack_.empty()) {
      f.message = root_;
    } else {
      const FieldDescriptor* field = stack_.back().pending;
      if (field == nullptr ||
          field->cpp_type() != FieldDescriptor::CPPTYPE_MESSAGE) {
        // An object where a scalar belongs: protobuf's parser refuses it
        // too, but say so here with the key's name.
        return Fail("an object where a value belongs");
      }
      if (field->is_map()) {
        f.is_map = true;
      } else {
        f.message = field->message_type();
      }
    }
    stack_.push_back(std::move(f));
    return true;
  }

  bool key(string_t& k) override {
    Frame& f = stack_.back();
    if (!f.seen.insert(k).second) return Fail("a repeated key", k);
    if (f.is_map) {
      f.pending = nullptr;
      return true;
    }
    const FieldDescriptor* field = f.message->FindFieldByName(k);
    if (field == nullptr) return Fail("an unknown key", k);
    f.pending = field;
    return true;
  }

  bool end_object() override {
    stack_.pop_back();
    return Value();
  }

  // RecordMetadata has no repeated fields, so a list is never valid.
  bool start_array(std::size_t) override { return Fail("a list"); }
  bool end_array() override { return Value(); }

  bool parse_error(std::size_t, const std::string&,
                   const nlohmann::detail::exception&) override {
    return Fail("text that is not valid UTF-8 JSON");
  }

  const std::string& error() const { return error_; }

 private:
  struct Frame {
    const Descriptor* message = nullptr;
    bool is_map = false;
    std::set<std::string> seen;
    const FieldDescriptor* pending = nullptr;
  };

  enum class Kind { kBool, kInteger, kString };

  bool Typed(Kind kind) {
    if (stack_.empty()) return Fail("a value outside an object");
    const Frame& f = stack_.back();
    bool ok = false;
    if (f.is_map) {
      ok = kind == Kind::kString;  // map<string, string>
    } else if (f.pending != nullptr) {
      switch (f.pending->cpp_type()) {
        case FieldDescriptor::CPPTYPE_BOOL:
          ok = kind == Kind::kBool;
          break;
        case FieldDescriptor::CPPTYPE_INT32:
        case FieldDescriptor::CPPTYPE_UINT32:
        case FieldDescriptor::CPPTYPE_INT64:
        case FieldDescriptor::CPPTYPE_UINT64:
          ok = kind == Kind::kInteger;
          break;
        case FieldDescriptor::CPPTYPE_STRING:
        case FieldDescriptor::CPPTYPE_ENUM:  // by name only
          ok = kind == Kind::kString;
          break;
        default:
          ok = false;
      }
    }
    if (!ok) {
      return Fail("a value of the wrong JSON type for",
                  f.pending != nullptr ? f.pending->name() : "extra");
    }
    return Value();
  }

  // A value completed: its key is consumed.
  bool Value() {
    if (!stack_.empty()) stack_.back().pending = nullptr;
    return true;
  }

  bool Fail(absl::string_view what, absl::string_view key = "") {
    error_ = key.empty() ? absl::StrCat("record metadata contains ", what)
                         : absl::StrCat("record metadata contains ", what,
                                        " \"", key.substr(0, 64), "\"");
    return false;
  }

  const Descriptor* root_;
  std::vector<Frame> stack_;
  std::string error_;
};

absl::Status CheckWriterRules(const RecordMetadata& meta) {
  if (!IsLowerHex(meta.record_id(), 16)) {
    return absl::InvalidArgumentError(
        "record_id must be 32 lowercase hex digits");
  }
  if (!IsLowerHex(meta.case_id(), 16)) {
    return absl::InvalidArgumentError(
        "case_id must be 32 lowercase hex digits");
  }
  if (!IsLowerHex(meta.submitter().sign_pk(), 32)) {
    return absl::InvalidArgumentError(
        "submitter.sign_pk must be 64 lowercase hex digits");
  }
  if (!meta.supersedes().empty() && !IsLowerHex(meta.supersedes(), 16)) {
    return absl::InvalidArgumentError(
        "supersedes must be a record id (32 lowercase hex digits)");
  }
  if (meta.kind() == tvault::v1::KIND_UNSPECIFIED) {
    return absl::InvalidArgumentError("record kind must be set");
  }
  return absl::OkStatus();
}

}  // namespace

bool IsLowerHex(absl::string_view s, size_t bytes) {
  if (s.size() != 2 * bytes) return false;
  for (char c : s) {
    if (!((c >= '0' && c <= '9') || (c >= 'a' && c <= 'f'))) return false;
  }
  return true;
}

absl::StatusOr<std::string> PrintRecordMetadata(const RecordMetadata& meta) {
  if (absl::Status s = CheckWriterRules(meta); !s.ok()) return s;
  google::protobuf::util::JsonPrintOptions options;
  options.preserve_proto_field_names = true;
  std::string json;
  if (!google::protobuf::util::MessageToJsonString(meta, &json, options).ok()) {
    return absl::InvalidArgumentError("record metadata cannot be printed");
  }
  if (json.size() > kMaxMetadataSize) {
    return absl::InvalidArgumentError(
        "record metadata is larger than 64 KiB; shorten the description");
  }
  return json;
}

absl::StatusOr<RecordMetadata> ParseRecordMetadata(absl::string_view json) {
  if (json.empty() || json.size() > kMaxMetadataSize) {
    return absl::InvalidArgumentError("record metadata size out of range");
  }
  StrictKeyChecker checker(RecordMetadata::descriptor());
  if (!nlohmann::json::sax_parse(json.begin(), json.end(), &checker,
                                 nlohmann::json::input_format_t::json,
                                 /*strict=*/true)) {
    return absl::InvalidArgumentError(checker.error().empty()
                                          ? "record metadata is not valid JSON"
                                          : checker.error());
  }
  RecordMetadata meta;
  google::protobuf::util::JsonParseOptions options;
  options.ignore_unknown_fields = false;
  const std::string text(json);
  if (!google::protobuf::util::JsonStringToMessage(text, &meta, options).ok()) {
    return absl::InvalidArgumentError(
        "record metadata does not match the RecordMetadata schema");
  }
  if (absl::Status s = CheckWriterRules(meta); !s.ok()) return s;
  return meta;
}

}  // namespace tvault::crypto
