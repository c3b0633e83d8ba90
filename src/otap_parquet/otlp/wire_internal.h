// SPDX-License-Identifier: Apache-2.0
#pragma once

/// \file
/// Reading OTLP protobuf wire bytes without building messages, on protobuf's own
/// CodedInputStream / WireFormatLite. Internal to otlp/.
///
/// Matches what parsing into generated messages accepts: unknown fields (and
/// known fields of another wire type) are skipped, field number 0, truncation and
/// bad varints fail, `string` fields must be valid UTF-8, and messages nest at most
/// protobuf's default recursion limit deep (each nested stream gets the remaining
/// budget).

#include <cstdint>
#include <cstring>
#include <string_view>

#include <google/protobuf/io/coded_stream.h>
#include <google/protobuf/stubs/common.h>
#include <google/protobuf/wire_format_lite.h>

namespace otap_parquet::otlp::internal::wire {

using WireFormatLite = google::protobuf::internal::WireFormatLite;

constexpr uint32_t Tag(int field, WireFormatLite::WireType type) {
  return static_cast<uint32_t>(field) << 3 | type;
}
constexpr uint32_t LenTag(int field) {
  return Tag(field, WireFormatLite::WIRETYPE_LENGTH_DELIMITED);
}
constexpr uint32_t VarintTag(int field) {
  return Tag(field, WireFormatLite::WIRETYPE_VARINT);
}
constexpr uint32_t Fixed64Tag(int field) {
  return Tag(field, WireFormatLite::WIRETYPE_FIXED64);
}
constexpr uint32_t Fixed32Tag(int field) {
  return Tag(field, WireFormatLite::WIRETYPE_FIXED32);
}

/// Whether `text` is all ASCII (then valid UTF-8). Inline, a word at a time:
/// attribute keys and values are short and mostly ASCII, and the out-of-line
/// UTF-8 check cost more per call than this scan.
inline bool IsAscii(std::string_view text) {
  const char* p = text.data();
  const size_t n = text.size();
  uint64_t bits = 0;
  size_t i = 0;
  for (; i + 8 <= n; i += 8) {
    uint64_t word;
    std::memcpy(&word, p + i, sizeof(word));
    bits |= word;
  }
  for (; i < n; ++i) bits |= static_cast<uint8_t>(p[i]);
  return (bits & 0x8080808080808080ULL) == 0;
}

/// The fields of one message held contiguously in memory.
class Reader {
 public:
  /// `budget`: how many more levels of messages may nest inside this one.
  Reader(std::string_view bytes, int budget)
      : in_(reinterpret_cast<const uint8_t*>(bytes.data()),
            static_cast<int>(bytes.size())),
        budget_(budget) {
    in_.SetRecursionLimit(budget);
  }

  /// The next field's tag; 0 at the end of the message or on malformed input
  /// (then ok() is false).
  uint32_t Next() {
    // At the end of the bytes, stop without ReadTag's out-of-line slow path
    // (every nested message ends there).
    if (in_.ExpectAtEnd()) return 0;
    const uint32_t tag = in_.ReadTag();
    if (tag == 0) {
      ok_ = ok_ && in_.ConsumedEntireMessage();
    } else if (WireFormatLite::GetTagFieldNumber(tag) == 0) {
      ok_ = false;
      return 0;
    }
    return tag;
  }
  bool ok() const { return ok_; }
  /// Budget of a message nested in this one.
  int child_budget() const { return budget_ - 1; }

  /// A length-delimited value (bytes or an embedded message), as a view into the input.
  bool Bytes(std::string_view* out) {
    uint32_t size = 0;
    const void* data = nullptr;
    int available = 0;
    if (!in_.ReadVarint32(&size)) return Fail();
    in_.GetDirectBufferPointerInline(&data, &available);
    if (available < 0 || size > static_cast<uint32_t>(available)) return Fail();
    *out = std::string_view(static_cast<const char*>(data), size);
    return in_.Skip(static_cast<int>(size)) || Fail();
  }
  /// A `string` field: bytes that must be valid UTF-8.
  bool String(std::string_view* out) {
    return (Bytes(out) &&
            (IsAscii(*out) || google::protobuf::internal::IsStructurallyValidUTF8(
                                  out->data(), static_cast<int>(out->size())))) ||
           Fail();
  }
  /// An embedded message: its bytes, when it may nest here.
  bool Message(std::string_view* out) { return (budget_ > 0 && Bytes(out)) || Fail(); }
  bool Varint(uint64_t* out) { return in_.ReadVarint64(out) || Fail(); }
  bool Fixed64(uint64_t* out) { return in_.ReadLittleEndian64(out) || Fail(); }
  bool Fixed32(uint32_t* out) { return in_.ReadLittleEndian32(out) || Fail(); }
  bool Double(double* out) {
    uint64_t bits = 0;
    if (!Fixed64(&bits)) return false;
    std::memcpy(out, &bits, sizeof(bits));
    return true;
  }
  /// Merges the embedded message in `bytes` (read from this one) into `message`.
  template <typename M>
  bool Merge(std::string_view bytes, M* message);
  /// Skips a field this reader does not use.
  bool Skip(uint32_t tag) { return WireFormatLite::SkipField(&in_, tag) || Fail(); }

 private:
  bool Fail() {
    ok_ = false;
    return false;
  }

  google::protobuf::io::CodedInputStream in_;
  int budget_;
  bool ok_ = true;
};

/// Merges the message in `bytes` into `message` like a parse of the enclosing
/// message would (`budget` levels may nest inside it).
template <typename Message>
bool MergeMessage(std::string_view bytes, int budget, Message* message) {
  google::protobuf::io::CodedInputStream in(
      reinterpret_cast<const uint8_t*>(bytes.data()), static_cast<int>(bytes.size()));
  in.SetRecursionLimit(budget);
  return message->MergeFromCodedStream(&in) && in.ConsumedEntireMessage();
}

template <typename M>
bool Reader::Merge(std::string_view bytes, M* message) {
  return MergeMessage(bytes, child_budget(), message) || Fail();
}

/// Protobuf's default recursion limit (io::CodedInputStream).
constexpr int kRecursionLimit = 100;

}  // namespace otap_parquet::otlp::internal::wire
