// SPDX-License-Identifier: Apache-2.0
#pragma once

/// \file
/// Wire decoding shared by the logs and traces decoders (internal to otlp/):
/// attributes and AnyValues into their OTAP builders, and the
/// Resource*/Scope* containers every signal nests its records in.

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include <arrow/status.h>

#include "otap_parquet/otlp/columns.h"
#include "otap_parquet/otlp/wire_internal.h"

namespace otap_parquet::otlp::internal::wire {

/// The error every wire decoder gives for bytes it will not take (callers fall
/// back to the message path for a precise message).
arrow::Status Malformed(std::string_view signal);

/// A Resource{Logs,Spans,Metrics} or Scope{Logs,Spans,Metrics} message: field 1
/// the resource/scope, 2 the repeated records, 3 schema_url (in any order).
template <typename Header>
struct Container {
  Header header;
  bool has_header = false;
  std::string schema_url;
  std::vector<std::string_view> children;

  /// False on malformed bytes. Repeated headers merge, as in a parse.
  bool Read(std::string_view bytes, int budget) {
    Reader in(bytes, budget);
    std::string_view url = "";
    header.Clear();
    has_header = false;
    children.clear();
    while (const uint32_t tag = in.Next()) {
      std::string_view field;
      if (tag == LenTag(1)) {
        if (!in.Message(&field)) break;
        if (!MergeMessage(field, in.child_budget(), &header)) return false;
        has_header = true;
      } else if (tag == LenTag(2)) {
        if (!in.Message(&field)) break;
        children.push_back(field);
      } else if (tag == LenTag(3)) {
        if (!in.String(&url)) break;
      } else if (!in.Skip(tag)) {
        break;
      }
    }
    schema_url.assign(url);
    return in.ok();
  }
  const Header* header_or_null() const { return has_header ? &header : nullptr; }
};

/// Appends KeyValues and AnyValues from their wire bytes. Keeps the messages it
/// still builds for rare shapes (nested arrays/kvlists, repeated values) for reuse.
class ValueDecoder {
 public:
  explicit ValueDecoder(std::string_view signal) : signal_(signal) {}

  /// One KeyValue of the record `parent_id`.
  arrow::Status KeyValue(AttributesBuilder* out, uint32_t parent_id,
                         std::string_view bytes, int budget);
  /// One AnyValue.
  arrow::Status AnyValue(AnyValueBuilder* out, std::string_view bytes, int budget);

  /// A singular AnyValue field of the message `in` reads, seen `count` times so
  /// far (this occurrence included), as in a parse: repeats merge. Tracks in
  /// `first` / `merged`.
  static bool MergeRepeated(Reader* in, int count, std::string_view field,
                            std::string_view* first, pb::common::AnyValue* merged) {
    if (count == 1) {  // the usual case, inline
      *first = field;
      return true;
    }
    return MergeAgain(in, count, field, *first, merged);
  }

 private:
  /// MergeRepeated from the second occurrence on.
  static bool MergeAgain(Reader* in, int count, std::string_view field,
                         std::string_view first, pb::common::AnyValue* merged);

  std::string_view signal_;
  pb::common::AnyValue value_message_;
  pb::common::AnyValue any_value_;
};

}  // namespace otap_parquet::otlp::internal::wire
