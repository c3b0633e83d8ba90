// SPDX-License-Identifier: Apache-2.0
#include "otap_parquet/cbor/any_value_cbor.h"

#include <cbor.h>

#include <algorithm>
#include <cfloat>
#include <cmath>
#include <cstdint>
#include <limits>
#include <optional>
#include <vector>

#include <arrow/util/utf8.h>

namespace otap_parquet::cbor {

namespace {

using arrow::Status;
namespace common = pb_common;

constexpr const char* kDecodePrefix = "invalid CBOR in ser: ";

bool IsValidUtf8(std::string_view s) {
  // Arrow's validator needs a one-time table set-up; InitializeUTF8 is idempotent, the
  // static makes it run once per process.
  static const bool initialized = [] {
    arrow::util::InitializeUTF8();
    return true;
  }();
  (void)initialized;
  return arrow::util::ValidateUTF8(s);
}

/// The exact IEEE half-precision bits of `v`, if `v` is finite and a half holds it
/// without rounding (normal or subnormal). Mirrors serde_cbor's
/// `f32::from(f16::from_f32(v)) == v` test.
std::optional<uint16_t> ExactHalf(double v) {
  const uint16_t sign = std::signbit(v) ? 0x8000 : 0;
  if (v == 0) return sign;
  const double a = std::fabs(v);
  int exp = 0;
  std::frexp(a, &exp);    // a = m * 2^exp, m in [0.5, 1)
  const int e = exp - 1;  // a = 1.f * 2^e
  if (e > 15) return std::nullopt;
  // Halves are integers M * 2^k with 11 significant bits for normals (e >= -14) and
  // multiples of 2^-24 below that.
  const int k = std::max(e - 10, -24);
  const double m = std::ldexp(a, -k);  // exact: scaling by a power of two
  if (m != std::floor(m)) return std::nullopt;
  const auto mant = static_cast<uint16_t>(m);
  if (e < -14) return static_cast<uint16_t>(sign | mant);  // subnormal, mant < 1024
  return static_cast<uint16_t>(sign | ((e + 15) << 10) | (mant - 1024));
}

class Encoder {
 public:
  explicit Encoder(std::string* out) : out_(out) {}

  Status Value(const common::AnyValue& value, int depth) {
    switch (value.value_case()) {
      case common::AnyValue::kStringValue:
        return Text(value.string_value(), "string value");
      case common::AnyValue::kBoolValue:
        Put(cbor_encode_bool(value.bool_value(), buf_, sizeof(buf_)));
        return Status::OK();
      case common::AnyValue::kIntValue:
        Int(value.int_value());
        return Status::OK();
      case common::AnyValue::kDoubleValue:
        Double(value.double_value());
        return Status::OK();
      case common::AnyValue::kArrayValue:
        return Array(value.array_value(), depth + 1);
      case common::AnyValue::kKvlistValue:
        return Map(value.kvlist_value(), depth + 1);
      case common::AnyValue::kBytesValue:
        Put(cbor_encode_bytestring_start(value.bytes_value().size(), buf_, sizeof(buf_)));
        out_->append(value.bytes_value());
        return Status::OK();
      case common::AnyValue::kStringValueStrindex:
        // An index into a profiles string table: meaningless without the table, and
        // upstream's encoders predate it.
        return Status::NotImplemented(
            "cannot encode AnyValue as CBOR: string_value_strindex is not supported");
      case common::AnyValue::VALUE_NOT_SET:
        break;
    }
    Put(cbor_encode_null(buf_, sizeof(buf_)));
    return Status::OK();
  }

  /// `depth` counts this map.
  Status Map(const common::KeyValueList& kvlist, int depth) {
    ARROW_RETURN_NOT_OK(CheckDepth(depth));
    Put(cbor_encode_indef_map_start(buf_, sizeof(buf_)));
    for (const auto& kv : kvlist.values()) {
      ARROW_RETURN_NOT_OK(Text(kv.key(), "map key"));
      if (kv.has_value()) {
        ARROW_RETURN_NOT_OK(Value(kv.value(), depth));
      } else {
        Put(cbor_encode_null(buf_, sizeof(buf_)));
      }
    }
    Put(cbor_encode_break(buf_, sizeof(buf_)));
    return Status::OK();
  }

  /// `depth` counts this array.
  Status Array(const common::ArrayValue& array, int depth) {
    ARROW_RETURN_NOT_OK(CheckDepth(depth));
    Put(cbor_encode_indef_array_start(buf_, sizeof(buf_)));
    for (const auto& value : array.values()) {
      ARROW_RETURN_NOT_OK(Value(value, depth));
    }
    Put(cbor_encode_break(buf_, sizeof(buf_)));
    return Status::OK();
  }

 private:
  static Status CheckDepth(int depth) {
    if (depth > kMaxNestingDepth) {
      return Status::Invalid(
          "cannot encode AnyValue as CBOR: maps/arrays nest deeper than ",
          kMaxNestingDepth);
    }
    return Status::OK();
  }

  Status Text(const std::string& s, const char* what) {
    if (!IsValidUtf8(s)) {
      return Status::Invalid("cannot encode AnyValue as CBOR: ", what,
                             " is not valid UTF-8");
    }
    Put(cbor_encode_string_start(s.size(), buf_, sizeof(buf_)));
    out_->append(s);
    return Status::OK();
  }

  void Int(int64_t v) {
    if (v >= 0) {
      Put(cbor_encode_uint(static_cast<uint64_t>(v), buf_, sizeof(buf_)));
    } else {
      // Major type 1 carries -1 - v; -(v + 1) cannot overflow, even for INT64_MIN.
      Put(cbor_encode_negint(static_cast<uint64_t>(-(v + 1)), buf_, sizeof(buf_)));
    }
  }

  // serde_cbor's serialize_f64/serialize_f32: non-finite values and values that fit
  // go down to f32, and an f32 that a half holds exactly goes down to f16.
  void Double(double v) {
    if (std::isnan(v)) return Half(0x7e00);
    if (std::isinf(v)) return Half(v > 0 ? 0x7c00 : 0xfc00);
    if (auto half = ExactHalf(v)) return Half(*half);
    // The range check keeps the double → float conversion defined.
    if (std::fabs(v) <= FLT_MAX && static_cast<double>(static_cast<float>(v)) == v) {
      Put(cbor_encode_single(static_cast<float>(v), buf_, sizeof(buf_)));
    } else {
      Put(cbor_encode_double(v, buf_, sizeof(buf_)));
    }
  }

  // libcbor 0.8's cbor_encode_half rounds subnormals wrongly, so halves are written here.
  void Half(uint16_t bits) {
    buf_[0] = 0xf9;
    buf_[1] = static_cast<unsigned char>(bits >> 8);
    buf_[2] = static_cast<unsigned char>(bits & 0xff);
    Put(3);
  }

  // Every head fits in buf_ (1 + 8 bytes), so libcbor never returns 0 here.
  void Put(size_t n) { out_->append(reinterpret_cast<const char*>(buf_), n); }

  std::string* out_;
  unsigned char buf_[9];
};

template <typename Fn>
Status EncodeRestoringOnError(std::string* out, Fn&& fn) {
  const size_t size_on_entry = out->size();
  Encoder encoder(out);
  Status st = fn(encoder);
  if (!st.ok()) out->resize(size_on_entry);
  return st;
}

/// Builds an AnyValue from libcbor's streaming decoder, one item head per call, with an
/// explicit stack (no recursion) bounded by kMaxNestingDepth.
class Decoder {
 public:
  Status Run(std::string_view cbor, common::AnyValue* out) {
    root_ = out;
    const auto* data = reinterpret_cast<const unsigned char*>(cbor.data());
    const size_t size = cbor.size();
    size_t pos = 0;
    while (!done_) {
      if (pos >= size) {
        if (size == 0) return Error("truncated at byte 0 (empty input)");
        return Error("truncated at byte ", size, " (", stack_.size(),
                     " unclosed map(s), array(s) or string(s))");
      }
      item_pos_ = pos;
      const cbor_decoder_result r =
          cbor_stream_decode(data + pos, size - pos, &Callbacks(), this);
      switch (r.status) {
        case CBOR_DECODER_FINISHED:
          break;
        case CBOR_DECODER_NEDATA:
          return Error("truncated at byte ", size, " (item at byte ", pos,
                       " is incomplete)");
        case CBOR_DECODER_ERROR:
        default:
          return Error("malformed or unsupported item at byte ", pos, " (initial byte 0x",
                       HexByte(data[pos]), ")");
      }
      if (!error_.ok()) return error_;
      pos += r.read;
    }
    if (pos != size) {
      return Error(size - pos, " trailing byte(s) after the item, at byte ", pos);
    }
    return Status::OK();
  }

 private:
  enum class FrameKind { kArray, kMap, kBytes, kText };
  enum class ItemKind { kArray, kMap, kBytes, kText, kInt, kFloat, kBool, kNull, kUndef };

  struct Frame {
    FrameKind kind;
    bool indefinite = false;
    uint64_t remaining = 0;  ///< definite containers: elements or pairs still to come
    common::ArrayValue* array = nullptr;
    common::KeyValueList* map = nullptr;
    common::KeyValue* entry = nullptr;  ///< map: the entry being read
    bool awaiting_value = false;        ///< map: entry's key read, value next
    std::string* chunks = nullptr;      ///< chunked string: where chunks go
  };

  /// Where the next item goes: an AnyValue, or (map keys) a key string. A null key
  /// yields neither.
  struct Slot {
    common::AnyValue* value = nullptr;
    std::string* key = nullptr;
  };

  static const char* KindName(ItemKind kind) {
    switch (kind) {
      case ItemKind::kArray:
        return "array";
      case ItemKind::kMap:
        return "map";
      case ItemKind::kBytes:
        return "byte string";
      case ItemKind::kText:
        return "text string";
      case ItemKind::kInt:
        return "integer";
      case ItemKind::kFloat:
        return "float";
      case ItemKind::kBool:
        return "bool";
      case ItemKind::kNull:
        return "null";
      case ItemKind::kUndef:
        return "undefined";
    }
    return "item";
  }

  static std::string HexByte(unsigned char b) {
    static constexpr char kDigits[] = "0123456789abcdef";
    return {kDigits[b >> 4], kDigits[b & 0xf]};
  }

  template <typename... Args>
  Status Error(Args&&... args) const {
    return Status::Invalid(kDecodePrefix, std::forward<Args>(args)...);
  }

  template <typename... Args>
  void Fail(Args&&... args) {
    if (error_.ok()) error_ = Error(std::forward<Args>(args)..., " at byte ", item_pos_);
  }

  bool InChunkedString() const {
    return !stack_.empty() && (stack_.back().kind == FrameKind::kBytes ||
                               stack_.back().kind == FrameKind::kText);
  }

  /// Finds where an item of `kind` goes; false (with error_ set) if it may not go there.
  bool Place(ItemKind kind, Slot* slot) {
    if (!error_.ok()) return false;
    if (stack_.empty()) {
      slot->value = root_;
      return true;
    }
    Frame& top = stack_.back();
    switch (top.kind) {
      case FrameKind::kBytes:
      case FrameKind::kText:
        Fail("a ", KindName(kind), " inside an indefinite-length ",
             top.kind == FrameKind::kText ? "text" : "byte",
             " string (chunks must be definite strings of the same type)");
        return false;
      case FrameKind::kArray:
        slot->value = top.array->add_values();
        return true;
      case FrameKind::kMap:
        if (top.awaiting_value) {
          slot->value = top.entry->mutable_value();
          return true;
        }
        if (kind != ItemKind::kText && kind != ItemKind::kNull) {
          Fail("map key must be a text string, got a ", KindName(kind));
          return false;
        }
        top.entry = top.map->add_values();
        if (kind == ItemKind::kText) slot->key = top.entry->mutable_key();
        return true;
    }
    return false;
  }

  /// The item just placed is complete: advance the enclosing containers, closing the
  /// definite-length ones that this fills.
  void Done() {
    while (!stack_.empty()) {
      Frame& top = stack_.back();
      if (top.kind == FrameKind::kMap) {
        if (!top.awaiting_value) {
          top.awaiting_value = true;  // that was the key
          return;
        }
        top.awaiting_value = false;
        top.entry = nullptr;
      }
      if (top.indefinite || --top.remaining > 0) return;
      Pop();
    }
    done_ = true;
  }

  void Pop() {
    if (stack_.back().kind == FrameKind::kArray ||
        stack_.back().kind == FrameKind::kMap) {
      --depth_;
    }
    stack_.pop_back();
  }

  void StartContainer(ItemKind kind, bool indefinite, uint64_t count) {
    Slot slot;
    if (!Place(kind, &slot)) return;
    if (depth_ >= kMaxNestingDepth) {
      Fail("nesting deeper than ", kMaxNestingDepth);
      return;
    }
    Frame frame;
    frame.indefinite = indefinite;
    frame.remaining = count;
    if (kind == ItemKind::kArray) {
      frame.kind = FrameKind::kArray;
      frame.array = slot.value->mutable_array_value();
    } else {
      frame.kind = FrameKind::kMap;
      frame.map = slot.value->mutable_kvlist_value();
    }
    if (!indefinite && count == 0) return Done();
    // No reserve() from `count`: it is untrusted, and every element needs a byte.
    stack_.push_back(frame);
    ++depth_;
  }

  void OnString(ItemKind kind, const unsigned char* data, size_t length) {
    const std::string_view s(reinterpret_cast<const char*>(data), length);
    if (kind == ItemKind::kText && !IsValidUtf8(s)) {
      return Fail("text string is not valid UTF-8");
    }
    if (InChunkedString()) {
      const FrameKind want =
          kind == ItemKind::kText ? FrameKind::kText : FrameKind::kBytes;
      if (stack_.back().kind != want) {
        Fail("a ", KindName(kind), " chunk inside an indefinite-length ",
             want == FrameKind::kText ? "byte" : "text", " string");
        return;
      }
      stack_.back().chunks->append(s);
      return;
    }
    Slot slot;
    if (!Place(kind, &slot)) return;
    if (slot.key != nullptr) {
      slot.key->assign(s);
    } else if (kind == ItemKind::kText) {
      slot.value->set_string_value(s.data(), s.size());
    } else {
      slot.value->set_bytes_value(s.data(), s.size());
    }
    Done();
  }

  void OnStringStart(ItemKind kind) {
    Slot slot;
    if (!Place(kind, &slot)) return;
    Frame frame;
    frame.indefinite = true;
    if (kind == ItemKind::kText) {
      frame.kind = FrameKind::kText;
      frame.chunks = slot.key != nullptr ? slot.key : slot.value->mutable_string_value();
    } else {
      frame.kind = FrameKind::kBytes;
      frame.chunks = slot.value->mutable_bytes_value();
    }
    stack_.push_back(frame);
  }

  void OnUnsigned(uint64_t v) {
    if (v > static_cast<uint64_t>(std::numeric_limits<int64_t>::max())) {
      return Fail("integer ", v, " does not fit int64");
    }
    OnInt(static_cast<int64_t>(v));
  }

  void OnNegative(uint64_t n) {  // the value is -1 - n
    if (n > static_cast<uint64_t>(std::numeric_limits<int64_t>::max())) {
      return Fail("integer -1-", n, " does not fit int64");
    }
    OnInt(-1 - static_cast<int64_t>(n));
  }

  void OnInt(int64_t v) {
    Slot slot;
    if (!Place(ItemKind::kInt, &slot)) return;
    slot.value->set_int_value(v);
    Done();
  }

  void OnDouble(double v) {
    Slot slot;
    if (!Place(ItemKind::kFloat, &slot)) return;
    slot.value->set_double_value(v);
    Done();
  }

  void OnBool(bool v) {
    Slot slot;
    if (!Place(ItemKind::kBool, &slot)) return;
    slot.value->set_bool_value(v);
    Done();
  }

  // Null and undefined leave the AnyValue empty; a null map key leaves the key empty.
  void OnNull(ItemKind kind) {
    Slot slot;
    if (!Place(kind, &slot)) return;
    Done();
  }

  void OnBreak() {
    if (stack_.empty()) return Fail("break (0xff) outside an indefinite-length item");
    const Frame& top = stack_.back();
    if (!top.indefinite) {
      return Fail("break (0xff) inside a definite-length ",
                  top.kind == FrameKind::kMap ? "map" : "array");
    }
    if (top.kind == FrameKind::kMap && top.awaiting_value) {
      return Fail("map ends after a key without its value");
    }
    Pop();
    Done();
  }

  void OnTag(uint64_t tag) { Fail("tag ", tag, " is not supported"); }

  static Decoder* Self(void* ctx) { return static_cast<Decoder*>(ctx); }

  static const cbor_callbacks& Callbacks() {
    static const cbor_callbacks callbacks = [] {
      cbor_callbacks c{};
      c.uint8 = [](void* ctx, uint8_t v) { Self(ctx)->OnUnsigned(v); };
      c.uint16 = [](void* ctx, uint16_t v) { Self(ctx)->OnUnsigned(v); };
      c.uint32 = [](void* ctx, uint32_t v) { Self(ctx)->OnUnsigned(v); };
      c.uint64 = [](void* ctx, uint64_t v) { Self(ctx)->OnUnsigned(v); };
      c.negint8 = [](void* ctx, uint8_t v) { Self(ctx)->OnNegative(v); };
      c.negint16 = [](void* ctx, uint16_t v) { Self(ctx)->OnNegative(v); };
      c.negint32 = [](void* ctx, uint32_t v) { Self(ctx)->OnNegative(v); };
      c.negint64 = [](void* ctx, uint64_t v) { Self(ctx)->OnNegative(v); };
      // libcbor names: byte_string_start/string_start open indefinite strings;
      // byte_string/string deliver definite strings (or chunks).
      c.byte_string_start = [](void* ctx) { Self(ctx)->OnStringStart(ItemKind::kBytes); };
      c.byte_string = [](void* ctx, cbor_data data, size_t length) {
        Self(ctx)->OnString(ItemKind::kBytes, data, length);
      };
      c.string_start = [](void* ctx) { Self(ctx)->OnStringStart(ItemKind::kText); };
      c.string = [](void* ctx, cbor_data data, size_t length) {
        Self(ctx)->OnString(ItemKind::kText, data, length);
      };
      c.indef_array_start = [](void* ctx) {
        Self(ctx)->StartContainer(ItemKind::kArray, true, 0);
      };
      c.array_start = [](void* ctx, size_t n) {
        Self(ctx)->StartContainer(ItemKind::kArray, false, n);
      };
      c.indef_map_start = [](void* ctx) {
        Self(ctx)->StartContainer(ItemKind::kMap, true, 0);
      };
      c.map_start = [](void* ctx, size_t n) {
        Self(ctx)->StartContainer(ItemKind::kMap, false, n);
      };
      c.tag = [](void* ctx, uint64_t tag) { Self(ctx)->OnTag(tag); };
      c.float2 = [](void* ctx, float v) { Self(ctx)->OnDouble(v); };
      c.float4 = [](void* ctx, float v) { Self(ctx)->OnDouble(v); };
      c.float8 = [](void* ctx, double v) { Self(ctx)->OnDouble(v); };
      c.undefined = [](void* ctx) { Self(ctx)->OnNull(ItemKind::kUndef); };
      c.null = [](void* ctx) { Self(ctx)->OnNull(ItemKind::kNull); };
      c.boolean = [](void* ctx, bool v) { Self(ctx)->OnBool(v); };
      c.indef_break = [](void* ctx) { Self(ctx)->OnBreak(); };
      return c;
    }();
    return callbacks;
  }

  common::AnyValue* root_ = nullptr;
  std::vector<Frame> stack_;
  int depth_ = 0;  ///< maps and arrays on stack_
  bool done_ = false;
  size_t item_pos_ = 0;
  Status error_;
};

}  // namespace

Status EncodeAnyValue(const common::AnyValue& value, std::string* out) {
  return EncodeRestoringOnError(out, [&](Encoder& e) { return e.Value(value, 0); });
}

Status EncodeKeyValueList(const common::KeyValueList& kvlist, std::string* out) {
  return EncodeRestoringOnError(out, [&](Encoder& e) { return e.Map(kvlist, 1); });
}

Status EncodeArray(const common::ArrayValue& array, std::string* out) {
  return EncodeRestoringOnError(out, [&](Encoder& e) { return e.Array(array, 1); });
}

Status DecodeAnyValue(std::string_view cbor, common::AnyValue* out) {
  out->Clear();
  Decoder decoder;
  Status st = decoder.Run(cbor, out);
  if (!st.ok()) out->Clear();
  return st;
}

}  // namespace otap_parquet::cbor
