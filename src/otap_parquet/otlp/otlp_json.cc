// SPDX-License-Identifier: Apache-2.0
#include "otap_parquet/otlp/otlp_json.h"

#include <charconv>
#include <cmath>
#include <cstdint>
#include <cstdio>
#include <limits>
#include <optional>
#include <string>
#include <utility>

#include <arrow/status.h>
#include <google/protobuf/descriptor.h>
#include <google/protobuf/util/json_util.h>
#include <nlohmann/json.hpp>

#include "otap_parquet/otlp/protobuf_log_internal.h"
#include "otap_parquet/util/hex.h"

namespace otap_parquet::otlp {

namespace {

using arrow::Status;
using google::protobuf::Descriptor;
using google::protobuf::FieldDescriptor;
// Keeps protobuf's field order in ToOtlpJson output.
using Json = nlohmann::ordered_json;

// Protobuf's JSON parser stops at 100 nested messages; so do we, before recursing.
constexpr int kMaxDepth = 100;

// ---------------------------------------------------------------------------
// Base64 (RFC 4648, standard alphabet, padded), as protobuf's JSON uses for bytes.

constexpr char kBase64Chars[] =
    "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";

std::string Base64Encode(std::string_view in) {
  std::string out;
  out.reserve((in.size() + 2) / 3 * 4);
  size_t i = 0;
  for (; i + 3 <= in.size(); i += 3) {
    uint32_t v = (static_cast<uint8_t>(in[i]) << 16) |
                 (static_cast<uint8_t>(in[i + 1]) << 8) | static_cast<uint8_t>(in[i + 2]);
    out += kBase64Chars[(v >> 18) & 63];
    out += kBase64Chars[(v >> 12) & 63];
    out += kBase64Chars[(v >> 6) & 63];
    out += kBase64Chars[v & 63];
  }
  size_t rest = in.size() - i;
  if (rest > 0) {
    uint32_t v = static_cast<uint8_t>(in[i]) << 16;
    if (rest == 2) v |= static_cast<uint8_t>(in[i + 1]) << 8;
    out += kBase64Chars[(v >> 18) & 63];
    out += kBase64Chars[(v >> 12) & 63];
    out += rest == 2 ? kBase64Chars[(v >> 6) & 63] : '=';
    out += '=';
  }
  return out;
}

int Base64Value(char c) {
  if (c >= 'A' && c <= 'Z') return c - 'A';
  if (c >= 'a' && c <= 'z') return c - 'a' + 26;
  if (c >= '0' && c <= '9') return c - '0' + 52;
  if (c == '+' || c == '-') return 62;  // '-' and '_': URL-safe alphabet
  if (c == '/' || c == '_') return 63;
  return -1;
}

// Decodes what protobuf's JSON printer writes; padding optional.
std::optional<std::string> Base64Decode(std::string_view in) {
  while (!in.empty() && in.back() == '=') in.remove_suffix(1);
  std::string out;
  out.reserve(in.size() * 3 / 4);
  uint32_t acc = 0;
  int bits = 0;
  for (char c : in) {
    int v = Base64Value(c);
    if (v < 0) return std::nullopt;
    acc = (acc << 6) | static_cast<uint32_t>(v);
    bits += 6;
    if (bits >= 8) {
      bits -= 8;
      out += static_cast<char>((acc >> bits) & 0xff);
    }
  }
  return out;
}

// ---------------------------------------------------------------------------
// Messages

// Replaces bytes that are not valid UTF-8 by \xNN so a message stays printable.
std::string SanitizeUtf8(std::string_view s) {
  std::string out;
  out.reserve(s.size());
  size_t i = 0;
  while (i < s.size()) {
    auto c = static_cast<unsigned char>(s[i]);
    size_t len = c < 0x80         ? 1
                 : (c >> 5) == 6  ? 2
                 : (c >> 4) == 14 ? 3
                 : (c >> 3) == 30 ? 4
                                  : 0;
    bool ok = len > 0 && i + len <= s.size();
    for (size_t k = 1; ok && k < len; ++k) {
      ok = (static_cast<unsigned char>(s[i + k]) & 0xc0) == 0x80;
    }
    if (ok) {
      out.append(s.substr(i, len));
      i += len;
    } else {
      char buf[8];
      std::snprintf(buf, sizeof(buf), "\\x%02x", c);
      out += buf;
      ++i;
    }
  }
  return out;
}

// A JSON string value for an error message: escaped, at most ~40 bytes, in quotes.
std::string Quote(const std::string& s) {
  constexpr size_t kMax = 40;
  std::string shown = s;
  bool cut = shown.size() > kMax;
  if (cut) {
    shown.resize(kMax);
    // Back off to a UTF-8 character boundary.
    while (!shown.empty() && (static_cast<unsigned char>(shown.back()) & 0xc0) == 0x80) {
      shown.pop_back();
    }
    if (!shown.empty() && static_cast<unsigned char>(shown.back()) >= 0xc0) {
      shown.pop_back();
    }
  }
  std::string dumped = Json(shown).dump();  // escapes quotes and control characters
  return "'" + dumped.substr(1, dumped.size() - 2) + (cut ? "…'" : "'");
}

// nlohmann's what() starts with "[json.exception.parse_error.101] ".
std::string JsonErrorMessage(const std::exception& e) {
  std::string_view m = e.what();
  if (!m.empty() && m.front() == '[') {
    auto end = m.find("] ");
    if (end != std::string_view::npos) m.remove_prefix(end + 2);
  }
  return SanitizeUtf8(m);
}

std::string Join(const std::string& path, std::string_view key) {
  if (path.empty()) return std::string(key);
  std::string out = path;
  out += '.';
  out += key;
  return out;
}

std::string_view TypeName(const Json& v) { return v.type_name(); }

// ---------------------------------------------------------------------------
// Field lookup

const FieldDescriptor* FindField(const Descriptor* desc, std::string_view key) {
  for (int i = 0; i < desc->field_count(); ++i) {
    const FieldDescriptor* f = desc->field(i);
    if (f->name() == key || f->json_name() == key) return f;
  }
  return nullptr;
}

// Expected length in bytes of an OTLP trace/span id field, 0 if not an id field.
size_t IdLength(const FieldDescriptor* field) {
  if (field->type() != FieldDescriptor::TYPE_BYTES) return 0;
  const std::string& name = field->name();
  if (name == "trace_id") return 16;
  if (name == "span_id" || name == "parent_span_id") return 8;
  return 0;
}

// ---------------------------------------------------------------------------
// JSON → protobuf preparation: validate, rewrite ids hex → base64, drop unknown keys.

struct IntRange {
  std::string_view name;
  int64_t min;
  uint64_t max;
};

IntRange RangeOf(const FieldDescriptor* field) {
  switch (field->cpp_type()) {
    case FieldDescriptor::CPPTYPE_INT32:
    case FieldDescriptor::CPPTYPE_ENUM:
      return {"int32", std::numeric_limits<int32_t>::min(),
              static_cast<uint64_t>(std::numeric_limits<int32_t>::max())};
    case FieldDescriptor::CPPTYPE_UINT32:
      return {"uint32", 0, std::numeric_limits<uint32_t>::max()};
    case FieldDescriptor::CPPTYPE_INT64:
      return {"int64", std::numeric_limits<int64_t>::min(),
              static_cast<uint64_t>(std::numeric_limits<int64_t>::max())};
    default:
      return {"uint64", 0, std::numeric_limits<uint64_t>::max()};
  }
}

bool IsIntegerField(const FieldDescriptor* field) {
  switch (field->cpp_type()) {
    case FieldDescriptor::CPPTYPE_INT32:
    case FieldDescriptor::CPPTYPE_UINT32:
    case FieldDescriptor::CPPTYPE_INT64:
    case FieldDescriptor::CPPTYPE_UINT64:
      return true;
    default:
      return false;
  }
}

// Parses a decimal integer string as protobuf's JSON does ("-12", "7");
// nullopt if it is not one, sets `overflow` if it is one but exceeds 64 bits.
std::optional<std::pair<bool, uint64_t>> ParseDecimal(std::string_view s,
                                                      bool* overflow) {
  *overflow = false;
  bool negative = !s.empty() && s.front() == '-';
  if (negative) s.remove_prefix(1);
  if (s.empty() || s.front() < '0' || s.front() > '9') return std::nullopt;
  uint64_t v = 0;
  auto [ptr, ec] = std::from_chars(s.data(), s.data() + s.size(), v);
  if (ptr != s.data() + s.size()) return std::nullopt;
  if (ec == std::errc::result_out_of_range) *overflow = true;
  return std::make_pair(negative, v);
}

Status OutOfRange(const std::string& path, const std::string& shown,
                  std::string_view type) {
  return Status::Invalid(path, ": integer ", shown, " out of range for ", type);
}

// Checks an integer (or enum number) value against the field's range. Integral
// floats ("1e3" written as a number) become integers so protobuf accepts them.
Status CheckInteger(Json& v, const FieldDescriptor* field, const std::string& path) {
  IntRange range = RangeOf(field);
  if (v.is_number_unsigned()) {
    auto u = v.get<uint64_t>();
    if (u > range.max) return OutOfRange(path, std::to_string(u), range.name);
    return Status::OK();
  }
  if (v.is_number_integer()) {
    auto i = v.get<int64_t>();
    if (i < range.min || (i > 0 && static_cast<uint64_t>(i) > range.max)) {
      return OutOfRange(path, std::to_string(i), range.name);
    }
    return Status::OK();
  }
  if (v.is_number_float()) {
    double d = v.get<double>();
    if (!std::isfinite(d) || std::floor(d) != d) {
      return Status::Invalid(path, ": expected an integer, got ", v.dump());
    }
    // 2^63 and 2^64 are exact doubles; compare against them, not against max().
    if (d < static_cast<double>(range.min) || d >= 18446744073709551616.0 ||
        (d >= 0 && static_cast<uint64_t>(d) > range.max)) {
      return OutOfRange(path, v.dump(), range.name);
    }
    if (d < 0) {
      v = static_cast<int64_t>(d);
    } else {
      v = static_cast<uint64_t>(d);
    }
    return Status::OK();
  }
  if (v.is_string()) {
    const auto& s = v.get_ref<const std::string&>();
    bool overflow = false;
    auto parsed = ParseDecimal(s, &overflow);
    if (!parsed) return Status::OK();  // other spellings: protobuf decides
    auto [negative, magnitude] = *parsed;
    bool out = overflow;
    if (negative) {
      // -min() as uint64 is max()+1.
      out = out || magnitude > static_cast<uint64_t>(-(range.min + 1)) + 1;
    } else {
      out = out || magnitude > range.max;
    }
    if (out) return OutOfRange(path, s, range.name);
    return Status::OK();
  }
  return Status::Invalid(path, ": expected an integer, got ", TypeName(v));
}

Status PrepareMessage(Json& node, const Descriptor* desc, const std::string& path,
                      int depth);

Status PrepareValue(Json& v, const FieldDescriptor* field, const std::string& path,
                    int depth) {
  if (v.is_null()) return Status::OK();  // null means the default value
  switch (field->cpp_type()) {
    case FieldDescriptor::CPPTYPE_MESSAGE:
      if (!v.is_object()) {
        return Status::Invalid(path, ": expected a JSON object, got ", TypeName(v));
      }
      return PrepareMessage(v, field->message_type(), path, depth + 1);
    case FieldDescriptor::CPPTYPE_ENUM: {
      if (v.is_string()) {
        const auto& name = v.get_ref<const std::string&>();
        if (field->enum_type()->FindValueByName(name) != nullptr) return Status::OK();
        bool overflow = false;
        auto parsed = ParseDecimal(name, &overflow);
        if (!parsed) {
          return Status::Invalid(path, ": unknown enum value name ", Quote(name), " for ",
                                 field->enum_type()->full_name());
        }
        // A number in a string: treat it as the number.
        ARROW_RETURN_NOT_OK(CheckInteger(v, field, path));
        v = parsed->first ? -static_cast<int64_t>(parsed->second)
                          : static_cast<int64_t>(parsed->second);
        return Status::OK();
      }
      return CheckInteger(v, field, path);
    }
    case FieldDescriptor::CPPTYPE_STRING: {
      size_t id_length = IdLength(field);
      if (id_length == 0) return Status::OK();  // strings and base64 bytes: protobuf
      if (!v.is_string()) {
        return Status::Invalid(path, ": expected a hex string, got ", TypeName(v));
      }
      const auto& hex = v.get_ref<const std::string&>();
      auto decoded = util::HexDecode(hex);
      if (!decoded.ok()) {
        return Status::Invalid(path, ": invalid hex ", Quote(hex), ": ",
                               decoded.status().message());
      }
      if (!decoded->empty() && decoded->size() != id_length) {
        return Status::Invalid(path, ": ", field->name() == "trace_id" ? "trace" : "span",
                               " id must be ", id_length, " bytes (", 2 * id_length,
                               " hex digits), got ", decoded->size(), " bytes");
      }
      v = Base64Encode(*decoded);
      return Status::OK();
    }
    default:
      if (IsIntegerField(field)) return CheckInteger(v, field, path);
      return Status::OK();  // bool, float, double: protobuf checks
  }
}

Status PrepareMessage(Json& node, const Descriptor* desc, const std::string& path,
                      int depth) {
  if (depth > kMaxDepth) {
    return Status::Invalid(path, ": messages nested more than ", kMaxDepth, " deep");
  }
  std::vector<std::string> unknown;
  for (auto it = node.begin(); it != node.end(); ++it) {
    const FieldDescriptor* field = FindField(desc, it.key());
    if (field == nullptr) {
      unknown.push_back(it.key());  // the spec says: ignore unknown fields
      continue;
    }
    std::string field_path = Join(path, it.key());
    Json& v = it.value();
    if (field->is_repeated()) {
      if (v.is_null()) continue;
      if (!v.is_array()) {
        return Status::Invalid(field_path, ": expected a JSON array, got ", TypeName(v));
      }
      for (size_t i = 0; i < v.size(); ++i) {
        ARROW_RETURN_NOT_OK(
            PrepareValue(v[i], field, field_path + "[" + std::to_string(i) + "]", depth));
      }
    } else {
      ARROW_RETURN_NOT_OK(PrepareValue(v, field, field_path, depth));
    }
  }
  for (const auto& key : unknown) node.erase(key);
  return Status::OK();
}

// ---------------------------------------------------------------------------
// protobuf → JSON: rewrite ids base64 → hex.

Status IdsToHex(Json& node, const Descriptor* desc, int depth) {
  if (depth > kMaxDepth) {
    return Status::Invalid("messages nested more than ", kMaxDepth, " deep");
  }
  for (auto it = node.begin(); it != node.end(); ++it) {
    const FieldDescriptor* field = FindField(desc, it.key());
    if (field == nullptr) continue;
    Json& v = it.value();
    auto visit = [&](Json& item) -> Status {
      if (field->cpp_type() == FieldDescriptor::CPPTYPE_MESSAGE && item.is_object()) {
        return IdsToHex(item, field->message_type(), depth + 1);
      }
      if (IdLength(field) != 0 && item.is_string()) {
        auto bytes = Base64Decode(item.get_ref<const std::string&>());
        if (!bytes) {
          return Status::Invalid(field->full_name(), ": protobuf printed invalid base64");
        }
        item = util::HexEncode(*bytes);
      }
      return Status::OK();
    };
    if (v.is_array()) {
      for (auto& item : v) ARROW_RETURN_NOT_OK(visit(item));
    } else {
      ARROW_RETURN_NOT_OK(visit(v));
    }
  }
  return Status::OK();
}

// ---------------------------------------------------------------------------

std::optional<Signal> SignalOfKey(std::string_view key) {
  if (key == "resourceLogs" || key == "resource_logs") return Signal::kLogs;
  if (key == "resourceSpans" || key == "resource_spans") return Signal::kTraces;
  if (key == "resourceMetrics" || key == "resource_metrics") return Signal::kMetrics;
  return std::nullopt;
}

OtlpRequest EmptyRequest(Signal signal) {
  switch (signal) {
    case Signal::kTraces:
      return TracesRequest();
    case Signal::kMetrics:
      return MetricsRequest();
    case Signal::kLogs:
      break;
  }
  return LogsRequest();
}

google::protobuf::Message& AsMessage(OtlpRequest& request) {
  return std::visit([](auto& r) -> google::protobuf::Message& { return r; }, request);
}

const google::protobuf::Message& AsMessage(const OtlpRequest& request) {
  return std::visit([](const auto& r) -> const google::protobuf::Message& { return r; },
                    request);
}

// The JSON number -0 (outside strings) as -0.0: nlohmann reads -0 as the integer 0
// and loses the sign of a negative zero double (Go's encoding/json writes -0).
std::optional<std::string> NegativeZeroAsFloat(std::string_view text) {
  if (text.find("-0") == std::string_view::npos) return std::nullopt;
  std::string out;
  out.reserve(text.size() + 8);
  bool in_string = false;
  for (size_t i = 0; i < text.size(); ++i) {
    const char c = text[i];
    out.push_back(c);
    if (in_string) {
      if (c == '\\' && i + 1 < text.size()) {
        out.push_back(text[++i]);
      } else if (c == '"') {
        in_string = false;
      }
    } else if (c == '"') {
      in_string = true;
    } else if (c == '-' && i + 1 < text.size() && text[i + 1] == '0') {
      const char next = i + 2 < text.size() ? text[i + 2] : ' ';
      if (next != '.' && next != 'e' && next != 'E' && !(next >= '0' && next <= '9')) {
        out += "0.0";
        ++i;
      }
    }
  }
  return out;
}

arrow::Result<OtlpRequest> ParseOtlpJsonImpl(std::string_view text,
                                             std::optional<Signal> default_signal) {
  const std::optional<std::string> rewritten = NegativeZeroAsFloat(text);
  if (rewritten) text = *rewritten;
  Json root;
  try {
    root = Json::parse(text.begin(), text.end());
  } catch (const Json::parse_error& e) {
    return Status::Invalid("malformed JSON: ", JsonErrorMessage(e));
  }
  if (!root.is_object()) {
    return Status::Invalid("expected a JSON object (an OTLP export request), got ",
                           TypeName(root));
  }
  std::optional<Signal> signal;
  for (auto it = root.begin(); it != root.end(); ++it) {
    auto s = SignalOfKey(it.key());
    if (!s) continue;
    if (signal && *signal != *s) {
      return Status::Invalid("the object holds more than one signal (",
                             SignalName(*signal), " and ", SignalName(*s), ")");
    }
    signal = s;
  }
  if (!signal) signal = default_signal;
  if (!signal) {
    return Status::Invalid(
        "not an OTLP export request: no resourceLogs, resourceSpans or resourceMetrics "
        "key");
  }

  OtlpRequest request = EmptyRequest(*signal);
  google::protobuf::Message& message = AsMessage(request);
  ARROW_RETURN_NOT_OK(PrepareMessage(root, message.GetDescriptor(), "", 0));
  std::string prepared = root.dump();

  google::protobuf::util::JsonParseOptions options;
  options.ignore_unknown_fields = true;
  internal::ProtobufLogCapture capture;
  auto st = google::protobuf::util::JsonStringToMessage(prepared, &message, options);
  if (!st.ok()) {
    return Status::Invalid("invalid OTLP/JSON ", SignalName(*signal),
                           " request: ", SanitizeUtf8(st.message().as_string()));
  }
  return request;
}

// `what` names the message in errors ("logs request", "LogRecord").
arrow::Result<std::string> ToOtlpJsonImpl(const google::protobuf::Message& message,
                                          std::string_view what) {
  google::protobuf::util::JsonPrintOptions options;
  options.always_print_enums_as_ints = true;
  options.add_whitespace = false;
  options.always_print_primitive_fields = false;
  options.preserve_proto_field_names = false;
  std::string printed;
  {
    internal::ProtobufLogCapture capture;
    auto st = google::protobuf::util::MessageToJsonString(message, &printed, options);
    if (!st.ok()) {
      return Status::Invalid("cannot encode ", what,
                             " as JSON: ", SanitizeUtf8(st.message().as_string()));
    }
    // The printer serializes first; invalid UTF-8 in a string field is only logged
    // there and then dropped from the output, so a log line means data loss.
    if (!capture.empty()) {
      return Status::Invalid("cannot encode ", what,
                             " as JSON: ", SanitizeUtf8(capture.messages()));
    }
  }
  // The printer writes a negative zero double as -0, which nlohmann would read as the
  // integer 0 and write back without its sign.
  if (auto rewritten = NegativeZeroAsFloat(printed)) printed = std::move(*rewritten);
  Json root;
  try {
    root = Json::parse(printed);
  } catch (const Json::parse_error& e) {
    return Status::Invalid("cannot encode ", what, " as JSON: ", JsonErrorMessage(e));
  }
  ARROW_RETURN_NOT_OK(IdsToHex(root, message.GetDescriptor(), 0));
  return root.dump();
}

}  // namespace

arrow::Result<OtlpRequest> ParseOtlpJson(std::string_view json,
                                         std::optional<Signal> default_signal) {
  try {
    return ParseOtlpJsonImpl(json, default_signal);
  } catch (const std::exception& e) {
    return Status::Invalid("invalid OTLP/JSON: ", JsonErrorMessage(e));
  }
}

arrow::Result<std::string> ToOtlpJson(const OtlpRequest& request) {
  return MessageToOtlpJson(AsMessage(request),
                           std::string(SignalName(SignalOf(request))) + " request");
}

arrow::Result<std::string> MessageToOtlpJson(const google::protobuf::Message& message,
                                             std::string_view what) {
  try {
    return ToOtlpJsonImpl(message, what);
  } catch (const std::exception& e) {
    return Status::Invalid("cannot encode OTLP/JSON: ", JsonErrorMessage(e));
  }
}

}  // namespace otap_parquet::otlp
