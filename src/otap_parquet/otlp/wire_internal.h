// SPDX-License-Identifier: Apache-2.0
#pragma once

/// \file
/// Reading OTLP protobuf wire bytes without building messages, with protobuf's own
/// parse_context readers (those of generated parsers). Internal to otlp/.
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
#include <google/protobuf/parse_context.h>
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
  // Whole words, then the tail as words that overlap what was read: a byte loop
  // over the tail of short keys and values cost as much as the rest.
  if (n >= 8) {
    for (size_t i = 0; i + 8 <= n; i += 8) {
      uint64_t word;
      std::memcpy(&word, p + i, sizeof(word));
      bits |= word;
    }
    uint64_t last;
    std::memcpy(&last, p + n - 8, sizeof(last));
    bits |= last;
  } else if (n >= 4) {
    uint32_t first, last;
    std::memcpy(&first, p, sizeof(first));
    std::memcpy(&last, p + n - 4, sizeof(last));
    bits = first | last;
  } else if (n > 0) {
    bits = static_cast<uint8_t>(p[0]) | static_cast<uint8_t>(p[n / 2]) |
           static_cast<uint8_t>(p[n - 1]);
  }
  return (bits & 0x8080808080808080ULL) == 0;
}

/// The fields of one message held contiguously in memory.
///
/// Tags, varints and sizes are read with protobuf's own parse_context readers,
/// those of generated parsers (so the limits are theirs: tags and sizes of at most
/// 5 bytes, sizes below 2 GiB, varints of at most 10). They read without bounds
/// checks, so near the end of a message they read a zero-padded copy of what is
/// left. A CodedInputStream per message (its set-up, teardown and end checks) was
/// a tenth of the decode: every attribute is two messages, KeyValue and AnyValue.
class Reader {
 public:
  /// `budget`: how many more levels of messages may nest inside this one.
  Reader(std::string_view bytes, int budget)
      : p_(bytes.data()), end_(bytes.data() + bytes.size()), budget_(budget) {}

  /// The next field's tag; 0 at the end of the message or on malformed input
  /// (then ok() is false).
  uint32_t Next() {
    if (p_ == end_) return 0;
    uint32_t tag = static_cast<uint8_t>(*p_);
    if (tag < 0x80 && tag >= 8) {  // one byte, field number not 0: most tags
      ++p_;
      return tag;
    }
    if (!Parse([&tag](const char* p) {
          return google::protobuf::internal::ReadTag(p, &tag);
        })) {
      return 0;
    }
    if (WireFormatLite::GetTagFieldNumber(tag) == 0) {
      Fail();
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
    if (p_ < end_ && static_cast<uint8_t>(*p_) < 0x80) {  // one byte: most sizes
      size = static_cast<uint8_t>(*p_++);
    } else if (!Parse([&size](const char* p) {
                 size = google::protobuf::internal::ReadSize(&p);
                 return p;
               })) {
      return false;
    }
    if (size > static_cast<size_t>(end_ - p_)) return Fail();
    *out = std::string_view(p_, size);
    p_ += size;
    return true;
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
  bool Varint(uint64_t* out) {
    if (p_ < end_ && static_cast<uint8_t>(*p_) < 0x80) {
      *out = static_cast<uint8_t>(*p_++);
      return true;
    }
    return Parse(
        [out](const char* p) { return google::protobuf::internal::VarintParse(p, out); });
  }
  bool Fixed64(uint64_t* out) { return Fixed(out); }
  bool Fixed32(uint32_t* out) { return Fixed(out); }
  bool Double(double* out) { return Fixed(out); }
  /// Merges the embedded message in `bytes` (read from this one) into `message`.
  template <typename M>
  bool Merge(std::string_view bytes, M* message);
  /// Skips a field this reader does not use; a group is skipped field by field up
  /// to its matching end, counting against the nesting budget like a message.
  bool Skip(uint32_t tag);  // out of line: rare, and inlined it slowed the hot loops

 private:
  // protobuf's readers take at most 10 bytes; with fewer left they read a copy.
  static constexpr ptrdiff_t kMaxVarintBytes = 10;

  /// Runs `read` (a parse_context reader: const char* → the byte after what it
  /// read, nullptr on malformed input) at the current position.
  template <typename Read>
  bool Parse(Read read) {
    if (end_ - p_ >= kMaxVarintBytes) {
      const char* next = read(p_);
      if (next == nullptr) return Fail();
      p_ = next;
      return true;
    }
    // A zero byte ends any varint, so a varint cut by the end of the message
    // ends in the padding and is caught by the length check.
    char copy[2 * kMaxVarintBytes] = {};
    const ptrdiff_t left = end_ - p_;
    std::memcpy(copy, p_, static_cast<size_t>(left));
    const char* next = read(copy);
    if (next == nullptr || next - copy > left) return Fail();
    p_ += next - copy;
    return true;
  }
  bool SkipGroup(int field);
  /// A little-endian fixed-width value.
  template <typename T>
  bool Fixed(T* out) {
    if (end_ - p_ < static_cast<ptrdiff_t>(sizeof(T))) return Fail();
    *out = google::protobuf::internal::UnalignedLoad<T>(p_);
    p_ += sizeof(T);
    return true;
  }
  bool Fail() {
    ok_ = false;
    return false;
  }

  const char* p_;
  const char* end_;
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
