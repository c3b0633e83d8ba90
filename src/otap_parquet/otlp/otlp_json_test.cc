// SPDX-License-Identifier: Apache-2.0
#include "otap_parquet/otlp/otlp_json.h"

#include <cmath>
#include <string>

#include <arrow/result.h>
#include <arrow/status.h>
#include <gmock/gmock.h>
#include <google/protobuf/util/message_differencer.h>
#include <gtest/gtest.h>

#include "otap_parquet/testing/gtest_util.h"

// Small stand-ins for arrow/testing/gtest_util.h (libarrow_testing is not shipped).

namespace otap_parquet::otlp {
namespace {

using ::testing::HasSubstr;
using ::testing::Not;

// The OTLP spec's example files (opentelemetry-proto/examples/*.json), with ids
// in upper-case hex, 64-bit integers as strings, enums as integers.
constexpr std::string_view kSpecLogs = R"json({
  "resourceLogs": [
    {
      "resource": {
        "attributes": [
          { "key": "service.name", "value": { "stringValue": "my.service" } }
        ]
      },
      "scopeLogs": [
        {
          "scope": {
            "name": "my.library",
            "version": "1.0.0",
            "attributes": [
              { "key": "my.scope.attribute",
                "value": { "stringValue": "some scope attribute" } }
            ]
          },
          "logRecords": [
            {
              "timeUnixNano": "1544712660300000000",
              "observedTimeUnixNano": "1544712660300000000",
              "severityNumber": 10,
              "severityText": "Information",
              "traceId": "5B8EFFF798038103D269B633813FC60C",
              "spanId": "EEE19B7EC3C1B174",
              "eventName": "my.event",
              "body": { "stringValue": "Example log record" },
              "attributes": [
                { "key": "string.attribute", "value": { "stringValue": "some string" } },
                { "key": "boolean.attribute", "value": { "boolValue": true } },
                { "key": "int.attribute", "value": { "intValue": "10" } },
                { "key": "double.attribute", "value": { "doubleValue": 637.704 } },
                { "key": "array.attribute",
                  "value": { "arrayValue": { "values": [
                    { "stringValue": "many" }, { "stringValue": "values" } ] } } },
                { "key": "map.attribute",
                  "value": { "kvlistValue": { "values": [
                    { "key": "some.map.key", "value": { "stringValue": "some value" } }
                  ] } } }
              ]
            }
          ]
        }
      ]
    }
  ]
})json";

constexpr std::string_view kSpecTraces = R"json({
  "resourceSpans": [
    {
      "resource": {
        "attributes": [
          { "key": "service.name", "value": { "stringValue": "my.service" } }
        ]
      },
      "scopeSpans": [
        {
          "scope": {
            "name": "my.library",
            "version": "1.0.0",
            "attributes": [
              { "key": "my.scope.attribute",
                "value": { "stringValue": "some scope attribute" } }
            ]
          },
          "spans": [
            {
              "traceId": "5B8EFFF798038103D269B633813FC60C",
              "spanId": "EEE19B7EC3C1B174",
              "parentSpanId": "EEE19B7EC3C1B173",
              "name": "I'm a server span",
              "startTimeUnixNano": "1544712660000000000",
              "endTimeUnixNano": "1544712661000000000",
              "kind": 2,
              "flags": 257,
              "attributes": [
                { "key": "my.span.attr", "value": { "stringValue": "some value" } }
              ],
              "events": [
                { "timeUnixNano": "1544712660500000000", "name": "event1" }
              ],
              "links": [
                { "traceId": "0102030405060708090a0b0c0d0e0f10",
                  "spanId": "0102030405060708", "flags": 1 }
              ],
              "status": { "code": 1 }
            }
          ]
        }
      ]
    }
  ]
})json";

constexpr std::string_view kSpecMetrics = R"json({
  "resourceMetrics": [
    {
      "resource": {
        "attributes": [
          { "key": "service.name", "value": { "stringValue": "my.service" } }
        ]
      },
      "scopeMetrics": [
        {
          "scope": { "name": "my.library", "version": "1.0.0" },
          "metrics": [
            {
              "name": "my.counter",
              "unit": "1",
              "description": "I am a Counter",
              "metadata": [ { "key": "m", "value": { "intValue": "1" } } ],
              "sum": {
                "aggregationTemporality": 1,
                "isMonotonic": true,
                "dataPoints": [
                  {
                    "asDouble": 5,
                    "startTimeUnixNano": "1544712660300000000",
                    "timeUnixNano": "1544712660300000000",
                    "attributes": [
                      { "key": "my.counter.attr", "value": { "stringValue": "some value" } }
                    ],
                    "exemplars": [
                      { "timeUnixNano": "1544712660300000000", "asInt": "-7",
                        "traceId": "5B8EFFF798038103D269B633813FC60C",
                        "spanId": "EEE19B7EC3C1B174" }
                    ]
                  }
                ]
              }
            },
            {
              "name": "my.gauge",
              "unit": "1",
              "description": "I am a Gauge",
              "gauge": {
                "dataPoints": [
                  { "asDouble": 10, "timeUnixNano": "1544712660300000000" }
                ]
              }
            },
            {
              "name": "my.histogram",
              "unit": "1",
              "description": "I am a Histogram",
              "histogram": {
                "aggregationTemporality": "AGGREGATION_TEMPORALITY_DELTA",
                "dataPoints": [
                  {
                    "startTimeUnixNano": "1544712660300000000",
                    "timeUnixNano": "1544712660300000000",
                    "count": "2",
                    "sum": 2,
                    "bucketCounts": ["1", "1"],
                    "explicitBounds": [1],
                    "min": 0,
                    "max": 2
                  }
                ]
              }
            },
            {
              "name": "my.exponential.histogram",
              "unit": "1",
              "description": "I am an Exponential Histogram",
              "exponentialHistogram": {
                "aggregationTemporality": 1,
                "dataPoints": [
                  {
                    "startTimeUnixNano": "1544712660300000000",
                    "timeUnixNano": "1544712660300000000",
                    "count": "3",
                    "sum": 10,
                    "scale": 0,
                    "zeroCount": "1",
                    "positive": { "offset": 1, "bucketCounts": ["0", "2"] },
                    "min": 0,
                    "max": 5,
                    "zeroThreshold": 0
                  }
                ]
              }
            },
            {
              "name": "my.summary",
              "summary": {
                "dataPoints": [
                  {
                    "timeUnixNano": "1544712660300000000",
                    "count": "4",
                    "sum": 10,
                    "quantileValues": [ { "quantile": 0.5, "value": 2 } ]
                  }
                ]
              }
            }
          ]
        }
      ]
    }
  ]
})json";

const std::string kTraceId(
    "\x5b\x8e\xff\xf7\x98\x03\x81\x03\xd2\x69\xb6\x33\x81\x3f\xc6\x0c", 16);
const std::string kSpanId("\xee\xe1\x9b\x7e\xc3\xc1\xb1\x74", 8);

template <typename T>
arrow::Status StatusOf(const arrow::Result<T>& result) {
  return result.status();
}

bool Equal(const OtlpRequest& a, const OtlpRequest& b) {
  if (a.index() != b.index()) return false;
  return std::visit(
      [&](const auto& x) {
        using T = std::decay_t<decltype(x)>;
        return google::protobuf::util::MessageDifferencer::Equals(x, std::get<T>(b));
      },
      a);
}

// Scenario: the spec's logs example (hex ids, string ints, enum ints, nested
// AnyValues, the newer eventName field).
// Guarantees: it parses as a logs request with every field in place.
TEST(OtlpJsonTest, SpecLogsExampleParses) {
  ASSERT_OK_AND_ASSIGN(auto request, ParseOtlpJson(kSpecLogs));
  ASSERT_EQ(SignalOf(request), Signal::kLogs);
  const auto& logs = std::get<LogsRequest>(request);
  ASSERT_EQ(logs.resource_logs_size(), 1);
  const auto& rl = logs.resource_logs(0);
  EXPECT_EQ(rl.resource().attributes(0).value().string_value(), "my.service");
  const auto& sl = rl.scope_logs(0);
  EXPECT_EQ(sl.scope().name(), "my.library");
  const auto& record = sl.log_records(0);
  EXPECT_EQ(record.time_unix_nano(), 1544712660300000000ull);
  EXPECT_EQ(record.severity_number(), pb::logs::SEVERITY_NUMBER_INFO2);
  EXPECT_EQ(record.severity_text(), "Information");
  EXPECT_EQ(record.trace_id(), kTraceId);
  EXPECT_EQ(record.span_id(), kSpanId);
  EXPECT_EQ(record.event_name(), "my.event");
  EXPECT_EQ(record.body().string_value(), "Example log record");
  ASSERT_EQ(record.attributes_size(), 6);
  EXPECT_TRUE(record.attributes(1).value().bool_value());
  EXPECT_EQ(record.attributes(2).value().int_value(), 10);
  EXPECT_DOUBLE_EQ(record.attributes(3).value().double_value(), 637.704);
  EXPECT_EQ(record.attributes(4).value().array_value().values(1).string_value(),
            "values");
  EXPECT_EQ(record.attributes(5).value().kvlist_value().values(0).key(), "some.map.key");
}

// Scenario: the spec's traces example plus events, links with flags and status.
// Guarantees: ids of spans and links are hex-decoded; kind and flags are kept.
TEST(OtlpJsonTest, SpecTracesExampleParses) {
  ASSERT_OK_AND_ASSIGN(auto request, ParseOtlpJson(kSpecTraces));
  ASSERT_EQ(SignalOf(request), Signal::kTraces);
  const auto& span =
      std::get<TracesRequest>(request).resource_spans(0).scope_spans(0).spans(0);
  EXPECT_EQ(span.trace_id(), kTraceId);
  EXPECT_EQ(span.span_id(), kSpanId);
  EXPECT_EQ(span.parent_span_id(), std::string("\xee\xe1\x9b\x7e\xc3\xc1\xb1\x73", 8));
  EXPECT_EQ(span.kind(), pb::trace::Span::SPAN_KIND_SERVER);
  EXPECT_EQ(span.flags(), 257u);
  EXPECT_EQ(span.start_time_unix_nano(), 1544712660000000000ull);
  EXPECT_EQ(span.events(0).name(), "event1");
  EXPECT_EQ(span.links(0).trace_id(),
            std::string(
                "\x01\x02\x03\x04\x05\x06\x07\x08\x09\x0a\x0b\x0c\x0d\x0e\x0f\x10", 16));
  EXPECT_EQ(span.links(0).flags(), 1u);
  EXPECT_EQ(span.status().code(), pb::trace::Status::STATUS_CODE_OK);
}

// Scenario: the spec's metrics example: every metric type, an exemplar with hex
// ids, enums as integers and as names, metric metadata.
// Guarantees: it parses with values, enum values and exemplar ids in place.
TEST(OtlpJsonTest, SpecMetricsExampleParses) {
  ASSERT_OK_AND_ASSIGN(auto request, ParseOtlpJson(kSpecMetrics));
  ASSERT_EQ(SignalOf(request), Signal::kMetrics);
  const auto& metrics =
      std::get<MetricsRequest>(request).resource_metrics(0).scope_metrics(0);
  ASSERT_EQ(metrics.metrics_size(), 5);
  const auto& sum = metrics.metrics(0);
  EXPECT_EQ(sum.metadata(0).value().int_value(), 1);
  EXPECT_EQ(sum.sum().aggregation_temporality(),
            pb::metrics::AGGREGATION_TEMPORALITY_DELTA);
  EXPECT_TRUE(sum.sum().is_monotonic());
  EXPECT_DOUBLE_EQ(sum.sum().data_points(0).as_double(), 5);
  const auto& exemplar = sum.sum().data_points(0).exemplars(0);
  EXPECT_EQ(exemplar.as_int(), -7);
  EXPECT_EQ(exemplar.trace_id(), kTraceId);
  EXPECT_EQ(exemplar.span_id(), kSpanId);
  EXPECT_DOUBLE_EQ(metrics.metrics(1).gauge().data_points(0).as_double(), 10);
  const auto& histogram = metrics.metrics(2).histogram();
  EXPECT_EQ(histogram.aggregation_temporality(),
            pb::metrics::AGGREGATION_TEMPORALITY_DELTA);
  EXPECT_EQ(histogram.data_points(0).count(), 2u);
  EXPECT_EQ(histogram.data_points(0).bucket_counts(1), 1u);
  const auto& exp = metrics.metrics(3).exponential_histogram().data_points(0);
  EXPECT_EQ(exp.zero_count(), 1u);
  EXPECT_EQ(exp.positive().offset(), 1);
  EXPECT_EQ(exp.positive().bucket_counts(1), 2u);
  EXPECT_EQ(metrics.metrics(4).summary().data_points(0).quantile_values(0).quantile(),
            0.5);
}

// Scenario: snake_case keys, 64-bit integers as numbers, enum names, lower-case
// ids, unknown fields at several levels.
// Guarantees: all are accepted as the OTLP spec requires; unknown fields vanish.
TEST(OtlpJsonTest, AcceptsSnakeCaseNumbersEnumNamesAndUnknownFields) {
  constexpr std::string_view json = R"json({"resource_logs":[{"scope_logs":[
    {"log_records":[{"time_unix_nano":1544712660300000000,"severity_number":
    "SEVERITY_NUMBER_WARN","trace_id":"5b8efff798038103d269b633813fc60c","span_id":"",
    "future_field":{"x":[1,2]},"body":{"int_value":-9223372036854775808}}],
    "unknown":1}]}],"extra":"ignored"})json";
  ASSERT_OK_AND_ASSIGN(auto request, ParseOtlpJson(json));
  const auto& record =
      std::get<LogsRequest>(request).resource_logs(0).scope_logs(0).log_records(0);
  EXPECT_EQ(record.time_unix_nano(), 1544712660300000000ull);
  EXPECT_EQ(record.severity_number(), pb::logs::SEVERITY_NUMBER_WARN);
  EXPECT_EQ(record.trace_id(), kTraceId);
  EXPECT_EQ(record.span_id(), "");
  EXPECT_EQ(record.body().int_value(), std::numeric_limits<int64_t>::min());
}

// Scenario: AnyValue bytesValue in base64 next to hex trace ids.
// Guarantees: only the id fields are hex; other bytes stay base64.
TEST(OtlpJsonTest, BytesValueStaysBase64) {
  constexpr std::string_view json = R"json({"resourceLogs":[{"scopeLogs":[{"logRecords":[
    {"body":{"bytesValue":"aGVsbG8="},"traceId":"00000000000000000000000000000001"}]}]}]})json";
  ASSERT_OK_AND_ASSIGN(auto request, ParseOtlpJson(json));
  const auto& record =
      std::get<LogsRequest>(request).resource_logs(0).scope_logs(0).log_records(0);
  EXPECT_EQ(record.body().bytes_value(), "hello");
  EXPECT_EQ(record.trace_id(), std::string(15, '\0') + "\x01");

  ASSERT_OK_AND_ASSIGN(auto json_out, ToOtlpJson(request));
  EXPECT_THAT(json_out, HasSubstr(R"("bytesValue":"aGVsbG8=")"));
  EXPECT_THAT(json_out, HasSubstr(R"("traceId":"00000000000000000000000000000001")"));
}

// Scenario: a double written as -0 (Go's encoding/json), as -0.0, and "-0" inside a
// string; read, written back and read again.
// Guarantees: both numbers keep the negative sign, in the request read and in the
// JSON written (which once wrote 0: the sign of every -0.0 was lost in `convert`
// and `generate` output); the string is untouched.
TEST(OtlpJsonTest, NegativeZeroKeepsItsSign) {
  constexpr std::string_view json = R"json({"resourceLogs":[{"scopeLogs":[{"logRecords":[
    {"body":{"doubleValue":-0},"attributes":[{"key":"a","value":{"doubleValue":-0.0}},
     {"key":"b","value":{"stringValue":"x\"-0,"}}]}]}]}]})json";
  ASSERT_OK_AND_ASSIGN(auto request, ParseOtlpJson(json));
  const auto& record =
      std::get<LogsRequest>(request).resource_logs(0).scope_logs(0).log_records(0);
  EXPECT_TRUE(std::signbit(record.body().double_value()));
  EXPECT_EQ(record.body().double_value(), 0.0);
  EXPECT_TRUE(std::signbit(record.attributes(0).value().double_value()));
  EXPECT_EQ(record.attributes(1).value().string_value(), "x\"-0,");
  ASSERT_OK_AND_ASSIGN(auto written, ToOtlpJson(request));
  EXPECT_THAT(written, HasSubstr(R"("body":{"doubleValue":-0.0})"));
  EXPECT_THAT(written, HasSubstr(R"("stringValue":"x\"-0,")"));
  ASSERT_OK_AND_ASSIGN(auto again, ParseOtlpJson(written));
  const auto& record_again =
      std::get<LogsRequest>(again).resource_logs(0).scope_logs(0).log_records(0);
  EXPECT_TRUE(std::signbit(record_again.body().double_value()));
  EXPECT_TRUE(std::signbit(record_again.attributes(0).value().double_value()));
}

// Scenario: an object with no signal key, with and without a default signal.
// Guarantees: the default decides; without one, Invalid; two signals, Invalid.
TEST(OtlpJsonTest, SignalFromKeyOrDefault) {
  ASSERT_OK_AND_ASSIGN(auto request, ParseOtlpJson("{}", Signal::kMetrics));
  EXPECT_EQ(SignalOf(request), Signal::kMetrics);
  ASSERT_OK_AND_ASSIGN(request, ParseOtlpJson(R"({"resourceSpans":[]})", Signal::kLogs));
  EXPECT_EQ(SignalOf(request), Signal::kTraces);

  auto st = StatusOf(ParseOtlpJson("{}"));
  ASSERT_TRUE(st.IsInvalid());
  EXPECT_THAT(st.message(),
              HasSubstr("no resourceLogs, resourceSpans or resourceMetrics"));

  st = StatusOf(ParseOtlpJson(R"({"resourceLogs":[],"resource_spans":[]})"));
  ASSERT_TRUE(st.IsInvalid());
  EXPECT_THAT(st.message(), HasSubstr("more than one signal (logs and traces)"));

  st = StatusOf(ParseOtlpJson("[1]"));
  ASSERT_TRUE(st.IsInvalid());
  EXPECT_THAT(st.message(), HasSubstr("expected a JSON object"));
}

// Scenario: each spec example is encoded and parsed again.
// Guarantees: the output is one compact line with lower-case hex ids, integer
// enums, string 64-bit integers and no default values, and parses back equal.
TEST(OtlpJsonTest, RoundTripsSpecExamples) {
  for (auto text : {kSpecLogs, kSpecTraces, kSpecMetrics}) {
    ASSERT_OK_AND_ASSIGN(auto request, ParseOtlpJson(text));
    ASSERT_OK_AND_ASSIGN(auto json, ToOtlpJson(request));
    EXPECT_EQ(json.find('\n'), std::string::npos);
    EXPECT_THAT(json, Not(HasSubstr(": ")));
    EXPECT_THAT(json, Not(HasSubstr("5B8EFFF7")));
    EXPECT_THAT(json, Not(HasSubstr("droppedAttributesCount")));
    ASSERT_OK_AND_ASSIGN(auto again, ParseOtlpJson(json));
    EXPECT_TRUE(Equal(request, again)) << json;
  }
  ASSERT_OK_AND_ASSIGN(auto traces, ParseOtlpJson(kSpecTraces));
  ASSERT_OK_AND_ASSIGN(auto json, ToOtlpJson(traces));
  EXPECT_THAT(json, HasSubstr(R"("traceId":"5b8efff798038103d269b633813fc60c")"));
  EXPECT_THAT(json, HasSubstr(R"("spanId":"eee19b7ec3c1b174")"));
  EXPECT_THAT(json, HasSubstr(R"("parentSpanId":"eee19b7ec3c1b173")"));
  EXPECT_THAT(json, HasSubstr(R"("kind":2)"));
  EXPECT_THAT(json, HasSubstr(R"("startTimeUnixNano":"1544712660000000000")"));
  EXPECT_EQ(json.rfind(R"({"resourceSpans":[{"resource":)", 0), 0u) << json;

  ASSERT_OK_AND_ASSIGN(auto metrics, ParseOtlpJson(kSpecMetrics));
  ASSERT_OK_AND_ASSIGN(json, ToOtlpJson(metrics));
  EXPECT_THAT(json, HasSubstr(R"("aggregationTemporality":1)"));
  EXPECT_THAT(json, HasSubstr(R"("asInt":"-7")"));
}

// Scenario: edge values: extreme 64-bit integers, NaN and infinities, empty
// strings, control characters and non-ASCII text.
// Guarantees: they survive a JSON round trip unchanged.
TEST(OtlpJsonTest, RoundTripsEdgeValues) {
  LogsRequest logs;
  auto* record = logs.add_resource_logs()->add_scope_logs()->add_log_records();
  record->set_time_unix_nano(std::numeric_limits<uint64_t>::max());
  record->set_flags(0xffffffffu);
  record->mutable_body()->set_string_value(
      "tab\t\"quote\" nul\x01 \xc3\xa9\xf0\x9f\x98\x80");
  auto add = [&](double v) {
    record->add_attributes()->mutable_value()->set_double_value(v);
  };
  add(std::numeric_limits<double>::quiet_NaN());
  add(std::numeric_limits<double>::infinity());
  add(-std::numeric_limits<double>::infinity());
  add(0.1);
  add(1e300);
  record->add_attributes()->mutable_value()->set_int_value(
      std::numeric_limits<int64_t>::min());
  record->set_severity_number(static_cast<pb::logs::SeverityNumber>(24));
  ASSERT_OK_AND_ASSIGN(auto json, ToOtlpJson(OtlpRequest(logs)));
  ASSERT_OK_AND_ASSIGN(auto again, ParseOtlpJson(json));
  const auto& back =
      std::get<LogsRequest>(again).resource_logs(0).scope_logs(0).log_records(0);
  EXPECT_EQ(back.time_unix_nano(), std::numeric_limits<uint64_t>::max());
  EXPECT_EQ(back.flags(), 0xffffffffu);
  EXPECT_EQ(back.body().string_value(), record->body().string_value());
  EXPECT_TRUE(std::isnan(back.attributes(0).value().double_value()));
  EXPECT_EQ(back.attributes(1).value().double_value(),
            record->attributes(1).value().double_value());
  EXPECT_EQ(back.attributes(2).value().double_value(),
            record->attributes(2).value().double_value());
  EXPECT_EQ(back.attributes(3).value().double_value(), 0.1);
  EXPECT_EQ(back.attributes(4).value().double_value(), 1e300);
  EXPECT_EQ(back.attributes(5).value().int_value(), std::numeric_limits<int64_t>::min());
  EXPECT_EQ(back.severity_number(), 24);
}

// Scenario: malformed JSON (syntax error, truncated line).
// Guarantees: Invalid "malformed JSON" with the position, never a crash.
TEST(OtlpJsonTest, MalformedJsonIsInvalid) {
  for (std::string_view text :
       {R"({"resourceLogs":[)", R"({"resourceLogs" 1})", "", "nul"}) {
    auto st = StatusOf(ParseOtlpJson(text));
    ASSERT_TRUE(st.IsInvalid()) << text;
    EXPECT_THAT(st.message(), HasSubstr("malformed JSON")) << text;
  }
  auto st = StatusOf(ParseOtlpJson(R"({"resourceLogs":[}]})"));
  EXPECT_THAT(st.message(), HasSubstr("column 18"));
}

// Scenario: trace and span ids that are not hex, or not 16/8 bytes.
// Guarantees: Invalid naming the JSON path of the id and the problem.
TEST(OtlpJsonTest, BadIdsAreInvalidWithPath) {
  auto st = StatusOf(ParseOtlpJson(
      R"({"resourceSpans":[{"scopeSpans":[{},{"spans":[{},{},{},{"traceId":"zz00"}]}]}]})"));
  ASSERT_TRUE(st.IsInvalid());
  EXPECT_THAT(st.message(),
              HasSubstr("resourceSpans[0].scopeSpans[1].spans[3].traceId: invalid hex "
                        "'zz00': invalid hex character 'z' at position 0"));

  st = StatusOf(ParseOtlpJson(
      R"({"resourceSpans":[{"scopeSpans":[{"spans":[{"links":[{"spanId":"0102"}]}]}]}]})"));
  ASSERT_TRUE(st.IsInvalid());
  EXPECT_THAT(
      st.message(),
      HasSubstr("resourceSpans[0].scopeSpans[0].spans[0].links[0].spanId: span id "
                "must be 8 bytes (16 hex digits), got 2 bytes"));

  st = StatusOf(ParseOtlpJson(
      R"({"resource_logs":[{"scope_logs":[{"log_records":[{"trace_id":"0102030405060708"}]}]}]})"));
  EXPECT_THAT(st.message(), HasSubstr("resource_logs[0].scope_logs[0].log_records[0]."
                                      "trace_id: trace id must be 16 bytes"));

  st = StatusOf(ParseOtlpJson(
      R"({"resourceSpans":[{"scopeSpans":[{"spans":[{"parentSpanId":"abc"}]}]}]})"));
  EXPECT_THAT(st.message(), HasSubstr("parentSpanId: invalid hex 'abc': odd number"));

  // Base64, as protobuf's default JSON would write it, is not hex.
  st = StatusOf(ParseOtlpJson(
      R"({"resourceSpans":[{"scopeSpans":[{"spans":[{"spanId":"7uGbfsPBsXQ="}]}]}]})"));
  EXPECT_THAT(st.message(), HasSubstr("spans[0].spanId: invalid hex"));

  st = StatusOf(ParseOtlpJson(
      R"({"resourceMetrics":[{"scopeMetrics":[{"metrics":[{"gauge":{"dataPoints":[
      {"exemplars":[{"traceId":12}]}]}}]}]}]})"));
  EXPECT_THAT(st.message(),
              HasSubstr("dataPoints[0].exemplars[0].traceId: expected a hex string"));
}

// Scenario: enum values given as names that the enum does not define.
// Guarantees: Invalid naming the field path, the name and the enum type.
TEST(OtlpJsonTest, UnknownEnumNameIsInvalid) {
  auto st = StatusOf(ParseOtlpJson(
      R"({"resourceSpans":[{"scopeSpans":[{"spans":[{"kind":"SPAN_KIND_BOGUS"}]}]}]})"));
  ASSERT_TRUE(st.IsInvalid());
  EXPECT_THAT(
      st.message(),
      HasSubstr("resourceSpans[0].scopeSpans[0].spans[0].kind: unknown enum value "
                "name 'SPAN_KIND_BOGUS' for opentelemetry.proto.trace.v1.Span."
                "SpanKind"));
  // Integers are left to protobuf and the converters.
  ASSERT_OK_AND_ASSIGN(
      auto request,
      ParseOtlpJson(R"({"resourceSpans":[{"scopeSpans":[{"spans":[{"kind":"3"}]}]}]})"));
  EXPECT_EQ(
      std::get<TracesRequest>(request).resource_spans(0).scope_spans(0).spans(0).kind(),
      pb::trace::Span::SPAN_KIND_CLIENT);
}

// Scenario: integers that do not fit their field, or are not integers.
// Guarantees: Invalid naming the field path and the type.
TEST(OtlpJsonTest, IntegerOutOfRangeIsInvalid) {
  auto st = StatusOf(ParseOtlpJson(
      R"({"resourceLogs":[{"scopeLogs":[{"logRecords":[{"droppedAttributesCount":5000000000}]}]}]})"));
  ASSERT_TRUE(st.IsInvalid());
  EXPECT_THAT(
      st.message(),
      HasSubstr("resourceLogs[0].scopeLogs[0].logRecords[0].droppedAttributesCount: "
                "integer 5000000000 out of range for uint32"));

  st = StatusOf(ParseOtlpJson(
      R"({"resourceLogs":[{"scopeLogs":[{"logRecords":[{"timeUnixNano":"-1"}]}]}]})"));
  EXPECT_THAT(st.message(),
              HasSubstr("timeUnixNano: integer -1 out of range for uint64"));

  st = StatusOf(ParseOtlpJson(
      R"({"resourceLogs":[{"scopeLogs":[{"logRecords":[{"body":{"intValue":"9223372036854775808"}}]}]}]})"));
  EXPECT_THAT(
      st.message(),
      HasSubstr("body.intValue: integer 9223372036854775808 out of range for int64"));

  st = StatusOf(ParseOtlpJson(
      R"({"resourceLogs":[{"scopeLogs":[{"logRecords":[{"timeUnixNano":"18446744073709551616"}]}]}]})"));
  EXPECT_THAT(st.message(), HasSubstr("out of range for uint64"));

  st = StatusOf(ParseOtlpJson(
      R"({"resourceLogs":[{"scopeLogs":[{"logRecords":[{"severityNumber":1.5}]}]}]})"));
  EXPECT_THAT(st.message(), HasSubstr("severityNumber: expected an integer, got 1.5"));

  st = StatusOf(ParseOtlpJson(
      R"({"resourceLogs":[{"scopeLogs":[{"logRecords":[{"flags":true}]}]}]})"));
  EXPECT_THAT(st.message(), HasSubstr("logRecords[0].flags: expected an integer"));

  // Integral floats are integers.
  ASSERT_OK_AND_ASSIGN(
      auto request,
      ParseOtlpJson(
          R"({"resourceLogs":[{"scopeLogs":[{"logRecords":[{"timeUnixNano":1e18}]}]}]})"));
  EXPECT_EQ(std::get<LogsRequest>(request)
                .resource_logs(0)
                .scope_logs(0)
                .log_records(0)
                .time_unix_nano(),
            1000000000000000000ull);
}

// Scenario: structurally wrong values (object for an array, etc.), bad base64.
// Guarantees: Invalid with the field path or protobuf's reason; no crash.
TEST(OtlpJsonTest, WrongShapesAreInvalid) {
  auto st = StatusOf(ParseOtlpJson(R"({"resourceLogs":{"scopeLogs":[]}})"));
  EXPECT_THAT(st.message(), HasSubstr("resourceLogs: expected a JSON array, got object"));
  st = StatusOf(ParseOtlpJson(R"({"resourceLogs":[{"resource":[]}]})"));
  EXPECT_THAT(st.message(),
              HasSubstr("resourceLogs[0].resource: expected a JSON object"));
  st = StatusOf(ParseOtlpJson(
      R"({"resourceLogs":[{"scopeLogs":[{"logRecords":[{"body":{"bytesValue":"!!"}}]}]}]})"));
  ASSERT_TRUE(st.IsInvalid());
  EXPECT_THAT(st.message(), HasSubstr("invalid OTLP/JSON logs request"));
  st = StatusOf(ParseOtlpJson(
      R"({"resourceLogs":[{"scopeLogs":[{"logRecords":[{"severityText":12}]}]}]})"));
  ASSERT_TRUE(st.IsInvalid());
}

// Scenario: JSON text holding bytes that are not UTF-8.
// Guarantees: Invalid, with the bad byte shown escaped so the message is UTF-8.
TEST(OtlpJsonTest, InvalidUtf8IsInvalid) {
  std::string text =
      R"({"resourceLogs":[{"scopeLogs":[{"logRecords":[{"severityText":"a)";
  text += "\xff\xfe";
  text += R"("}]}]}]})";
  auto st = StatusOf(ParseOtlpJson(text));
  ASSERT_TRUE(st.IsInvalid());
  EXPECT_THAT(st.message(), HasSubstr("UTF-8"));
  EXPECT_EQ(st.message().find('\xff'), std::string::npos);
}

// Scenario: a request whose string field holds invalid UTF-8 is encoded.
// Guarantees: Invalid (protobuf's printer would silently drop the bad bytes),
// nothing printed to stderr.
TEST(OtlpJsonTest, EncodingInvalidUtf8IsInvalid) {
  LogsRequest logs;
  logs.add_resource_logs()->add_scope_logs()->add_log_records()->set_severity_text(
      "bad\xff");
  ::testing::internal::CaptureStderr();
  auto st = StatusOf(ToOtlpJson(OtlpRequest(logs)));
  EXPECT_EQ(::testing::internal::GetCapturedStderr(), "");
  ASSERT_TRUE(st.IsInvalid());
  EXPECT_THAT(st.message(), HasSubstr("invalid UTF-8"));
  EXPECT_THAT(st.message(), HasSubstr("LogRecord.severity_text"));
}

// Scenario: AnyValues nested far deeper than any real payload.
// Guarantees: Invalid (nesting limit), no stack overflow.
TEST(OtlpJsonTest, DeepNestingIsInvalid) {
  std::string text = R"({"resourceLogs":[{"scopeLogs":[{"logRecords":[{"body":)";
  constexpr int kDepth = 5000;
  for (int i = 0; i < kDepth; ++i) text += R"({"arrayValue":{"values":[)";
  text += "{}";
  for (int i = 0; i < kDepth; ++i) text += "]}}";
  text += "}]}]}]}";
  auto st = StatusOf(ParseOtlpJson(text));
  ASSERT_TRUE(st.IsInvalid());
  EXPECT_THAT(st.message(), HasSubstr("nested more than 100 deep"));
}

}  // namespace
}  // namespace otap_parquet::otlp
