// SPDX-License-Identifier: Apache-2.0
// TracesWireToOtap (straight from the wire bytes) against parse + TracesToOtap.

#include <random>
#include <string>

#include <arrow/api.h>
#include <gtest/gtest.h>

#include "otap_parquet/generator/otlp_generator.h"
#include "otap_parquet/generator/test_batches.h"
#include "otap_parquet/otlp/convert.h"
#include "otap_parquet/otlp/protobuf_log_internal.h"
#include "otap_parquet/otlp/wire_diff_test_util.h"

namespace otap_parquet::otlp {
namespace {

/// Converts `bytes` both ways; expects the same batches, or both to fail. Returns
/// whether they succeeded.
bool ExpectSame(const std::string& bytes, const ToOtapOptions& options,
                const std::string& what) {
  return testing::ExpectWirePathMatches<TracesRequest>(
      bytes, TracesToOtap, TracesWireToOtap, options, Signal::kTraces, what);
}

std::vector<std::string> GeneratedRequests(generator::Mode mode, int count) {
  return testing::GeneratedRequestBytes(Signal::kTraces, mode, count, /*seed=*/11);
}

TEST(TracesWireToOtap, GeneratedRequestsMatchTheMessagePath) {
  int with_events = 0, with_links = 0;
  for (auto mode : {generator::Mode::kRealistic, generator::Mode::kEdgeCases}) {
    int i = 0;
    for (const auto& bytes : GeneratedRequests(mode, 30)) {
      const std::string what = "request " + std::to_string(i++);
      EXPECT_TRUE(ExpectSame(bytes, {}, what));
      // Split over several batches: resources and scopes repeat in each.
      ToOtapOptions small;
      small.max_root_rows = 3;
      EXPECT_TRUE(ExpectSame(bytes, small, what + " (max_root_rows 3)"));
      auto batches = TracesWireToOtap(bytes).ValueOrDie();
      for (const auto& batch : batches) {
        with_events += batch.Get(PayloadType::kSpanEvents) != nullptr;
        with_links += batch.Get(PayloadType::kSpanLinks) != nullptr;
      }
    }
  }
  EXPECT_GT(with_events, 0);
  EXPECT_GT(with_links, 0);
}

pb::common::KeyValue Attr(const std::string& key, const std::string& value) {
  pb::common::KeyValue kv;
  kv.set_key(key);
  kv.mutable_value()->set_string_value(value);
  return kv;
}

TracesRequest OneSpan() {
  TracesRequest request;
  auto* rs = request.add_resource_spans();
  *rs->mutable_resource()->add_attributes() = Attr("service.name", "checkout");
  auto* ss = rs->add_scope_spans();
  ss->mutable_scope()->set_name("scope");
  auto* span = ss->add_spans();
  span->set_trace_id(std::string(16, 't'));
  span->set_span_id(std::string(8, 's'));
  span->set_name("GET /");
  span->set_start_time_unix_nano(5);
  span->set_end_time_unix_nano(3);  // before the start: wraps
  *span->add_attributes() = Attr("k", "v");
  auto* event = span->add_events();
  event->set_name("e");
  *event->add_attributes() = Attr("ek", "ev");
  auto* link = span->add_links();
  link->set_trace_id(std::string(16, 'l'));
  link->set_span_id(std::string(8, 'm'));
  *link->add_attributes() = Attr("lk", "lv");
  return request;
}

// Serialized field helpers, for encodings generated code never writes.
std::string Varint(uint64_t v) {
  std::string out;
  while (v >= 0x80) {
    out.push_back(static_cast<char>((v & 0x7f) | 0x80));
    v >>= 7;
  }
  out.push_back(static_cast<char>(v));
  return out;
}
std::string Len(int field, const std::string& bytes) {
  return Varint(static_cast<uint64_t>(field) << 3 | 2) + Varint(bytes.size()) + bytes;
}
std::string TracesOf(const std::string& span_bytes) {
  return Len(1, Len(2, Len(2, span_bytes)));
}

TEST(TracesWireToOtap, WireQuirksMatchTheMessagePath) {
  const std::string one = OneSpan().SerializeAsString();
  EXPECT_TRUE(ExpectSame(one, {}, "one span"));
  // schema_url and resource after the scopes (concatenation merges messages).
  TracesRequest late;
  auto* rs = late.add_resource_spans();
  rs->set_schema_url("late-schema");
  *rs->mutable_resource()->add_attributes() = Attr("late", "1");
  const std::string scopes_first =
      Len(1, Len(2, OneSpan().resource_spans(0).scope_spans(0).SerializeAsString()) +
                 rs->SerializeAsString());
  EXPECT_TRUE(ExpectSame(scopes_first, {}, "resource after scopes"));

  // Unknown fields of every wire type, a group, a known field of the wrong type.
  const std::string unknown = Varint(99 << 3 | 0) + Varint(5) +  //
                              Varint(98 << 3 | 1) + std::string(8, 'x') +
                              Varint(97 << 3 | 5) + std::string(4, 'y') + Len(96, "zz") +
                              Varint(95 << 3 | 3) + Varint(1 << 3 | 0) + Varint(7) +
                              Varint(95 << 3 | 4);
  const std::string wrong_type = Varint(5 << 3 | 0) + Varint(1);  // name
  EXPECT_TRUE(ExpectSame(unknown + one + unknown, {}, "unknown top-level fields"));
  const std::string span =
      OneSpan().resource_spans(0).scope_spans(0).spans(0).SerializeAsString();
  EXPECT_TRUE(ExpectSame(TracesOf(unknown + span + wrong_type + Len(5, "n")), {},
                         "unknown span fields"));
  EXPECT_TRUE(ExpectSame(
      TracesOf(span + Len(11, unknown + Len(2, "x")) + Len(13, unknown + Len(3, "ts"))),
      {}, "unknown event and link fields"));

  // Repeated singular fields: scalars and bytes, last wins; messages merge.
  pb::trace::Status code, message;
  code.set_code(pb::trace::Status::STATUS_CODE_ERROR);
  message.set_message("boom");
  EXPECT_TRUE(ExpectSame(TracesOf(span + Len(15, code.SerializeAsString()) +
                                  Len(15, message.SerializeAsString())),
                         {}, "status twice merges"));
  EXPECT_TRUE(ExpectSame(TracesOf(span + Len(15, "")), {}, "empty status is set"));
  EXPECT_TRUE(ExpectSame(TracesOf(Len(1, "short") + span + Len(5, "a") + Len(5, "b")), {},
                         "ids and names repeat"));
  // Events and links interleaved with attributes: ids follow wire order.
  pb::trace::Span::Event event;
  event.set_name("late event");
  *event.add_attributes() = Attr("a", "1");
  pb::trace::Span::Link link;
  link.set_trace_state("x=1");
  *link.add_attributes() = Attr("b", "2");
  EXPECT_TRUE(ExpectSame(
      TracesOf(Len(11, event.SerializeAsString()) + span +
               Len(13, link.SerializeAsString()) + Len(11, event.SerializeAsString())) +
          Len(1, Len(2, Len(2, span + Len(13, link.SerializeAsString())))),
      {}, "events and links in wire order"));
  // Repeated KeyValue.value merges; every scalar kind as a span attribute.
  pb::common::AnyValue kv1, kv2, b, d, bytes, empty, num;
  *kv1.mutable_kvlist_value()->add_values() = Attr("a", "1");
  *kv2.mutable_kvlist_value()->add_values() = Attr("b", "2");
  b.set_bool_value(true);
  d.set_double_value(-0.0);
  bytes.set_bytes_value(std::string("\xff\x00", 2));
  num.set_int_value(-3);
  EXPECT_TRUE(ExpectSame(TracesOf(Len(9, Len(1, "k") + Len(2, kv1.SerializeAsString()) +
                                             Len(2, kv2.SerializeAsString()))),
                         {}, "attribute value twice"));
  for (const auto* value : {&b, &d, &bytes, &empty, &num, &kv1}) {
    const std::string kv = Len(1, "k") + Len(2, value->SerializeAsString());
    EXPECT_TRUE(
        ExpectSame(TracesOf(Len(9, kv) + Len(11, Len(3, kv)) + Len(13, Len(4, kv))), {},
                   "value " + value->ShortDebugString()));
  }
}

TEST(TracesWireToOtap, InvalidRequestsFailLikeTheMessagePath) {
  auto with = [](auto edit) {
    TracesRequest request = OneSpan();
    edit(request.mutable_resource_spans(0)->mutable_scope_spans(0)->mutable_spans(0));
    return request.SerializeAsString();
  };
  using Span = pb::trace::Span;
  EXPECT_FALSE(
      ExpectSame(with([](Span* s) { s->set_trace_id("12345"); }), {}, "trace id"));
  EXPECT_FALSE(ExpectSame(with([](Span* s) { s->set_span_id("123"); }), {}, "span id"));
  EXPECT_FALSE(ExpectSame(with([](Span* s) { s->set_parent_span_id("123"); }), {},
                          "parent span id"));
  EXPECT_FALSE(ExpectSame(with([](Span* s) { s->mutable_links(0)->set_trace_id("x"); }),
                          {}, "link trace id"));
  EXPECT_FALSE(ExpectSame(with([](Span* s) { s->mutable_links(0)->set_span_id("y"); }),
                          {}, "link span id"));
  EXPECT_FALSE(ExpectSame(
      with([](Span* s) { s->set_kind(static_cast<pb::trace::Span::SpanKind>(6)); }), {},
      "kind"));
  EXPECT_FALSE(ExpectSame(with([](Span* s) {
                            s->mutable_status()->set_code(
                                static_cast<pb::trace::Status::StatusCode>(-1));
                          }),
                          {}, "status code"));
  EXPECT_FALSE(ExpectSame(with([](Span* s) {
                            s->mutable_events(0)
                                ->mutable_attributes(0)
                                ->mutable_value()
                                ->set_string_value_strindex(2);
                          }),
                          {}, "strindex in an event attribute"));
  const std::string span =
      OneSpan().resource_spans(0).scope_spans(0).spans(0).SerializeAsString();
  // Invalid UTF-8 in each kind of string field.
  EXPECT_FALSE(ExpectSame(TracesOf(span + Len(5, "\xc3\x28")), {}, "name UTF-8"));
  EXPECT_FALSE(ExpectSame(TracesOf(span + Len(3, "\xed\xa0\x80")), {}, "state UTF-8"));
  EXPECT_FALSE(ExpectSame(TracesOf(span + Len(11, Len(2, "\xff"))), {}, "event UTF-8"));
  EXPECT_FALSE(ExpectSame(TracesOf(span + Len(13, Len(3, "\xff"))), {}, "link UTF-8"));
  EXPECT_FALSE(ExpectSame(TracesOf(span + Len(15, Len(2, "\xff"))), {}, "status UTF-8"));
  EXPECT_FALSE(ExpectSame(TracesOf(span + Len(9, Len(1, "\xff"))), {}, "key UTF-8"));
  // ...also where only a merge of repeated messages reads it.
  EXPECT_FALSE(ExpectSame(TracesOf(span + Len(15, "") + Len(15, Len(2, "\xff"))), {},
                          "second status UTF-8"));
  EXPECT_FALSE(ExpectSame(
      TracesOf(Len(9, Len(1, "k") + Len(2, Len(1, "a")) + Len(2, Len(1, "\xff")))), {},
      "second attribute value UTF-8"));
  EXPECT_FALSE(ExpectSame(Len(1, Len(2, Len(3, "\xc0\xaf"))), {}, "scope schema_url"));
  // Field number 0, a stray end-group, bad wire types, truncated lengths.
  EXPECT_FALSE(ExpectSame(TracesOf(span + Varint(0) + Varint(1)), {}, "field 0"));
  EXPECT_FALSE(ExpectSame(TracesOf(span + Varint(9 << 3 | 4)), {}, "end group"));
  EXPECT_FALSE(ExpectSame(TracesOf(span + Len(11, Varint(9 << 3 | 6))), {},
                          "wire type 6 in an event"));
  EXPECT_FALSE(ExpectSame(Len(1, Len(2, Varint(2 << 3 | 2) + Varint(50) + "ab")), {},
                          "length past the end"));
}

TEST(TracesWireToOtap, NestingAtProtobufsRecursionLimit) {
  // A link attribute's value sits 6 messages deep, each array level adds 2: the
  // limit (100) falls inside these ranges, so both outcomes are checked.
  int passed = 0, failed = 0;
  for (int depth = 43; depth <= 49; ++depth) {
    pb::common::AnyValue value;
    pb::common::AnyValue* inner = &value;
    for (int i = 0; i < depth; ++i) inner = inner->mutable_array_value()->add_values();
    inner->set_int_value(depth);
    const std::string kv = Len(1, "k") + Len(2, value.SerializeAsString());
    const bool ok = ExpectSame(TracesOf(Len(13, Len(4, kv))), {},
                               "link depth " + std::to_string(depth));
    (ok ? passed : failed)++;
    ExpectSame(TracesOf(Len(9, kv)), {}, "span attribute depth " + std::to_string(depth));
  }
  for (int depth = 94; depth <= 100; ++depth) {
    std::string group;  // a group in an unknown field nests too
    for (int i = 0; i < depth; ++i) group += Varint(90 << 3 | 3);
    for (int i = 0; i < depth; ++i) group += Varint(90 << 3 | 4);
    const bool ok =
        ExpectSame(TracesOf(Len(11, group)), {}, "group depth " + std::to_string(depth));
    (ok ? passed : failed)++;
  }
  EXPECT_GT(passed, 0);
  EXPECT_GT(failed, 0);
}

TEST(TracesWireToOtap, TruncatedAndCorruptedBytesNeverCrash) {
  const int agreed = testing::CheckPrefixesAndCorruptions(
      GeneratedRequests(generator::Mode::kEdgeCases, 3),
      [](const std::string& bytes, const std::string& what) {
        return ExpectSame(bytes, {}, what);
      });
  EXPECT_GT(agreed, 0);
}

}  // namespace
}  // namespace otap_parquet::otlp
