// SPDX-License-Identifier: Apache-2.0
// LogsWireToOtap (straight from the wire bytes) against parse + LogsToOtap.

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
  return testing::ExpectWirePathMatches<LogsRequest>(bytes, LogsToOtap, LogsWireToOtap,
                                                     options, Signal::kLogs, what);
}

std::vector<std::string> GeneratedRequests(generator::Mode mode, int count) {
  return testing::GeneratedRequestBytes(Signal::kLogs, mode, count, /*seed=*/7);
}

TEST(LogsWireToOtap, GeneratedRequestsMatchTheMessagePath) {
  for (auto mode : {generator::Mode::kRealistic, generator::Mode::kEdgeCases}) {
    int i = 0;
    for (const auto& bytes : GeneratedRequests(mode, 30)) {
      const std::string what = "request " + std::to_string(i++);
      EXPECT_TRUE(ExpectSame(bytes, {}, what));
      // Split over several batches: resources and scopes repeat in each.
      ToOtapOptions small;
      small.max_root_rows = 3;
      EXPECT_TRUE(ExpectSame(bytes, small, what + " (max_root_rows 3)"));
    }
  }
}

pb::common::KeyValue Attr(const std::string& key, const std::string& value) {
  pb::common::KeyValue kv;
  kv.set_key(key);
  kv.mutable_value()->set_string_value(value);
  return kv;
}

LogsRequest OneLog() {
  LogsRequest request;
  auto* rl = request.add_resource_logs();
  *rl->mutable_resource()->add_attributes() = Attr("service.name", "checkout");
  auto* sl = rl->add_scope_logs();
  sl->mutable_scope()->set_name("scope");
  auto* log = sl->add_log_records();
  log->set_time_unix_nano(1);
  log->set_severity_text("INFO");
  log->mutable_body()->set_string_value("hello");
  *log->add_attributes() = Attr("k", "v");
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
std::string LogsOf(const std::string& log_record_bytes) {
  return Len(1, Len(2, Len(2, log_record_bytes)));
}

TEST(LogsWireToOtap, WireQuirksMatchTheMessagePath) {
  const std::string one = OneLog().SerializeAsString();
  // schema_url and resource after the scopes (concatenation merges messages).
  LogsRequest late;
  auto* rl = late.add_resource_logs();
  rl->set_schema_url("late-schema");
  *rl->mutable_resource()->add_attributes() = Attr("late", "1");
  const std::string scopes_first =
      Len(1, Len(2, OneLog().resource_logs(0).scope_logs(0).SerializeAsString()) +
                 rl->SerializeAsString());
  EXPECT_TRUE(ExpectSame(scopes_first, {}, "resource after scopes"));

  // Unknown fields of every wire type, a group, a known field of the wrong type.
  const std::string unknown = Varint(99 << 3 | 0) + Varint(5) +  //
                              Varint(98 << 3 | 1) + std::string(8, 'x') +
                              Varint(97 << 3 | 5) + std::string(4, 'y') + Len(96, "zz") +
                              Varint(95 << 3 | 3) + Varint(1 << 3 | 0) + Varint(7) +
                              Varint(95 << 3 | 4);
  const std::string wrong_type = Varint(3 << 3 | 0) + Varint(1);  // severity_text
  EXPECT_TRUE(ExpectSame(unknown + one + unknown, {}, "unknown top-level fields"));
  const std::string nested_groups = Varint(95 << 3 | 3) + Varint(94 << 3 | 3) +
                                    Len(93, "g") + Varint(94 << 3 | 4) +
                                    Varint(95 << 3 | 4);
  EXPECT_TRUE(ExpectSame(LogsOf(nested_groups + Len(3, "WARN")), {}, "nested groups"));
  EXPECT_TRUE(ExpectSame(LogsOf(unknown + wrong_type + Len(3, "WARN")), {},
                         "unknown log record fields"));

  // Repeated singular fields: scalars, last wins; messages merge.
  pb::common::AnyValue kv1, kv2, str, num;
  *kv1.mutable_kvlist_value()->add_values() = Attr("a", "1");
  *kv2.mutable_kvlist_value()->add_values() = Attr("b", "2");
  str.set_string_value("s");
  num.set_int_value(-3);
  for (const auto& [name, bodies] : std::vector<std::pair<std::string, std::string>>{
           {"kvlist+kvlist",
            Len(5, kv1.SerializeAsString()) + Len(5, kv2.SerializeAsString())},
           {"string+int",
            Len(5, str.SerializeAsString()) + Len(5, num.SerializeAsString())},
           {"kvlist+string",
            Len(5, kv1.SerializeAsString()) + Len(5, str.SerializeAsString())},
           {"kvlist then string in one value",
            Len(5, kv1.SerializeAsString() + str.SerializeAsString())},
           {"three", Len(5, str.SerializeAsString()) + Len(5, kv1.SerializeAsString()) +
                         Len(5, kv2.SerializeAsString())},
       }) {
    EXPECT_TRUE(
        ExpectSame(LogsOf(bodies + Len(3, "x") + Len(3, "y")), {}, "bodies " + name));
  }
  // Repeated KeyValue.value merges too.
  EXPECT_TRUE(ExpectSame(LogsOf(Len(6, Len(1, "k") + Len(2, kv1.SerializeAsString()) +
                                           Len(2, kv2.SerializeAsString()))),
                         {}, "attribute value twice"));
  EXPECT_TRUE(ExpectSame(LogsOf(Len(6, Len(1, "k") + Len(2, str.SerializeAsString()) +
                                           Len(2, num.SerializeAsString()))),
                         {}, "attribute value string then int"));
  // Every scalar kind, and an empty AnyValue, as attributes.
  pb::common::AnyValue b, d, bytes, empty;
  b.set_bool_value(true);
  d.set_double_value(-0.0);
  bytes.set_bytes_value(std::string("\xff\x00", 2));
  for (const auto* value : {&b, &d, &bytes, &empty, &num, &str}) {
    EXPECT_TRUE(
        ExpectSame(LogsOf(Len(6, Len(1, "k") + Len(2, value->SerializeAsString())) +
                          Len(5, value->SerializeAsString())),
                   {}, "scalar " + value->ShortDebugString()));
  }
}

TEST(LogsWireToOtap, InvalidRequestsFailLikeTheMessagePath) {
  auto with = [](auto edit) {
    LogsRequest request = OneLog();
    edit(request.mutable_resource_logs(0)->mutable_scope_logs(0)->mutable_log_records(0));
    return request.SerializeAsString();
  };
  using Log = pb::logs::LogRecord;
  EXPECT_FALSE(
      ExpectSame(with([](Log* l) { l->set_trace_id("12345"); }), {}, "trace id"));
  EXPECT_FALSE(
      ExpectSame(with([](Log* l) { l->set_span_id("123456789"); }), {}, "span id"));
  EXPECT_FALSE(ExpectSame(with([](Log* l) {
                            l->set_severity_number(
                                static_cast<pb::logs::SeverityNumber>(25));
                          }),
                          {}, "severity number"));
  EXPECT_FALSE(
      ExpectSame(with([](Log* l) { l->mutable_body()->set_string_value_strindex(3); }),
                 {}, "strindex"));
  // Invalid UTF-8 in each kind of string field.
  EXPECT_FALSE(ExpectSame(LogsOf(Len(3, "\xc3\x28")), {}, "severity_text UTF-8"));
  EXPECT_FALSE(ExpectSame(LogsOf(Len(12, "\xed\xa0\x80")), {}, "event_name UTF-8"));
  EXPECT_FALSE(ExpectSame(LogsOf(Len(6, Len(1, "\xff"))), {}, "key UTF-8"));
  EXPECT_FALSE(ExpectSame(LogsOf(Len(5, Len(1, "\x80"))), {}, "string_value UTF-8"));
  EXPECT_FALSE(ExpectSame(Len(1, Len(3, "\xc0\xaf")), {}, "schema_url UTF-8"));
  // ...also where only a merge of repeated messages reads it.
  EXPECT_FALSE(ExpectSame(LogsOf(Len(5, Len(1, "a")) + Len(5, Len(1, "\xff"))), {},
                          "second body UTF-8"));
  // Field number 0, a stray end-group, bad wire types, truncated lengths.
  EXPECT_FALSE(ExpectSame(LogsOf(Varint(0 << 3 | 0) + Varint(1)), {}, "field 0"));
  EXPECT_FALSE(ExpectSame(LogsOf(Varint(9 << 3 | 4)), {}, "end group"));
  EXPECT_FALSE(ExpectSame(LogsOf(Varint(9 << 3 | 6)), {}, "wire type 6"));
  // Skipped groups: the end must match the start, come before the message's end,
  // and what is inside is read like any field.
  EXPECT_FALSE(ExpectSame(LogsOf(Varint(95 << 3 | 3) + Varint(94 << 3 | 4)), {},
                          "group ended by another field's end"));
  EXPECT_FALSE(ExpectSame(LogsOf(Varint(95 << 3 | 3) + Varint(1 << 3 | 0) + Varint(7)),
                          {}, "group not closed"));
  EXPECT_FALSE(ExpectSame(
      LogsOf(Varint(95 << 3 | 3) + Varint(0) + Varint(1) + Varint(95 << 3 | 4)), {},
      "field 0 inside a group"));
  // A length of 2^32 + 3 (protobuf's parser refuses lengths of 2 GiB and more; a
  // 32-bit read would take it as 3).
  EXPECT_FALSE(ExpectSame(LogsOf(Varint(96 << 3 | 2) + "\x83\x80\x80\x80\x10" + "abc"),
                          {}, "unknown field with a 2^32 + 3 length"));
  EXPECT_FALSE(ExpectSame(Len(1, Len(2, Varint(2 << 3 | 2) + Varint(50) + "ab")), {},
                          "length past the end"));
}

TEST(LogsWireToOtap, Utf8ChecksAroundTheAsciiFastPath) {
  // Strings are scanned a word (8 bytes) at a time, the tail by overlapping
  // words: put the non-ASCII bytes in either part, valid and not, and a lone bad
  // byte at every position of strings of every length up to 24.
  const std::string ascii16 = "abcdefghijklmnop";
  for (const std::string& valid :
       {std::string("\xc3\xa9"), ascii16 + "\xc3\xa9",
        "\xe6\x97\xa5\xe6\x9c\xac" + ascii16, "ab\xf0\x9f\x98\x80" + ascii16 + "\xc2\xa0",
        std::string(ascii16)}) {
    EXPECT_TRUE(ExpectSame(LogsOf(Len(6, Len(1, valid) + Len(2, Len(1, valid)))), {},
                           "valid " + valid));
  }
  for (const std::string& invalid :
       {ascii16 + "\xff", "\x80" + ascii16, ascii16.substr(0, 8) + "\xc3\x28",
        std::string("abc\xed\xa0\x80") + "defghijk", ascii16 + "\xf0\x9f\x98"}) {
    EXPECT_FALSE(ExpectSame(LogsOf(Len(6, Len(1, invalid))), {}, "invalid key"));
    EXPECT_FALSE(ExpectSame(LogsOf(Len(6, Len(1, "k") + Len(2, Len(1, invalid)))), {},
                            "invalid str"));
  }
  for (size_t size = 0; size <= 24; ++size) {
    const std::string ascii(size, 'a');
    EXPECT_TRUE(ExpectSame(LogsOf(Len(6, Len(1, ascii))), {}, "ascii key"));
    for (size_t at = 0; at < size; ++at) {
      std::string bad = ascii;
      bad[at] = '\xff';
      EXPECT_FALSE(
          ExpectSame(LogsOf(Len(6, Len(1, bad))), {},
                     "0xff at " + std::to_string(at) + " of " + std::to_string(size)));
    }
  }
}

TEST(LogsWireToOtap, TablesSizedFromThePreviousRequestOfTheThread) {
  // Builders start at the size of the thread's previous table of the same type:
  // a large request after a small one, and the other way round, convert alike.
  auto request = [](int logs, int attributes, size_t value_size) {
    LogsRequest r;
    auto* sl = r.add_resource_logs()->add_scope_logs();
    for (int i = 0; i < logs; ++i) {
      auto* log = sl->add_log_records();
      log->set_time_unix_nano(static_cast<uint64_t>(i));
      for (int a = 0; a < attributes; ++a) {
        *log->add_attributes() =
            Attr("key." + std::to_string(a), std::string(value_size, 'a' + a % 26));
      }
    }
    return r.SerializeAsString();
  };
  int i = 0;
  for (const auto& bytes : {request(2000, 20, 40), request(1, 1, 1), request(3000, 30, 3),
                            request(10, 0, 0), request(500, 5, 2000)}) {
    EXPECT_TRUE(ExpectSame(bytes, {}, "request " + std::to_string(i++)));
  }
}

TEST(LogsWireToOtap, LogColumnsSizedFromThePreviousBatchOfTheThread) {
  // The log columns (ids, bodies, severity texts, event names, trace and span ids)
  // start at the size of the thread's previous logs batch, and the ids grow in
  // steps: sizes up and down, ids present or not, convert alike, and a bad id
  // in between leaves the next request unaffected.
  auto request = [](int logs, size_t text_size, int bad_trace_id_at) {
    LogsRequest r;
    auto* sl = r.add_resource_logs()->add_scope_logs();
    for (int i = 0; i < logs; ++i) {
      auto* log = sl->add_log_records();
      log->set_time_unix_nano(static_cast<uint64_t>(i));
      log->set_severity_text(std::string(text_size, 'S'));
      log->set_event_name(std::string(text_size / 2, 'e'));
      if (i % 3 != 0) log->mutable_body()->set_string_value(std::string(text_size, 'b'));
      if (i % 4 != 1) log->set_trace_id(std::string(i == bad_trace_id_at ? 15 : 16, 't'));
      if (i % 5 != 2) log->set_span_id(std::string(8, static_cast<char>('a' + i % 26)));
    }
    return r.SerializeAsString();
  };
  int i = 0;
  for (const auto& bytes :
       {request(3000, 30, -1), request(2, 1, -1), request(5000, 3, -1),
        request(1500, 100, 1400), request(40, 0, -1), request(2500, 7, -1)}) {
    const std::string what = "request " + std::to_string(i++);
    EXPECT_EQ(ExpectSame(bytes, {}, what), i != 4) << what;
    ToOtapOptions small;
    small.max_root_rows = 1000;
    EXPECT_EQ(ExpectSame(bytes, small, what + " (max_root_rows 1000)"), i != 4) << what;
  }
}

TEST(LogsWireToOtap, NestingAtProtobufsRecursionLimit) {
  // A body sits 4 messages deep, each array level adds 2: the limit (100) falls
  // inside these ranges, so both outcomes are checked.
  int passed = 0, failed = 0;
  for (int depth = 44; depth <= 50; ++depth) {
    pb::common::AnyValue value;
    pb::common::AnyValue* inner = &value;
    for (int i = 0; i < depth; ++i) {
      inner = inner->mutable_array_value()->add_values();
    }
    inner->set_int_value(depth);
    const std::string bytes = value.SerializeAsString();
    const bool ok =
        ExpectSame(LogsOf(Len(5, bytes)), {}, "body depth " + std::to_string(depth));
    (ok ? passed : failed)++;
    ExpectSame(LogsOf(Len(6, Len(1, "k") + Len(2, bytes))), {},
               "attribute depth " + std::to_string(depth));
  }
  for (int depth = 94; depth <= 100; ++depth) {
    // A group in an unknown field nests too.
    std::string group;
    for (int i = 0; i < depth; ++i) group += Varint(90 << 3 | 3);
    for (int i = 0; i < depth; ++i) group += Varint(90 << 3 | 4);
    const bool ok = ExpectSame(LogsOf(group), {}, "group depth " + std::to_string(depth));
    (ok ? passed : failed)++;
  }
  EXPECT_GT(passed, 0);
  EXPECT_GT(failed, 0);
}

TEST(LogsWireToOtap, TruncatedAndCorruptedBytesNeverCrash) {
  const int agreed = testing::CheckPrefixesAndCorruptions(
      GeneratedRequests(generator::Mode::kEdgeCases, 3),
      [](const std::string& bytes, const std::string& what) {
        return ExpectSame(bytes, {}, what);
      });
  EXPECT_GT(agreed, 0);
}

}  // namespace
}  // namespace otap_parquet::otlp
