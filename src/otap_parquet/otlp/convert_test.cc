// SPDX-License-Identifier: Apache-2.0
#include "otap_parquet/otlp/convert.h"

#include <arrow/api.h>
#include <gmock/gmock.h>
#include <google/protobuf/util/message_differencer.h>
#include <gtest/gtest.h>

#include "otap_parquet/generator/otlp_generator.h"
#include "otap_parquet/otlp/equivalence.h"
#include "otap_parquet/schema/otap_schema.h"
#include "otap_parquet/testing/gtest_util.h"

namespace otap_parquet::otlp {
namespace {

template <typename T>
T ValueOrDie(arrow::Result<T> result) {
  EXPECT_TRUE(result.ok()) << result.status().ToString();
  return std::move(result).ValueOrDie();
}

using google::protobuf::util::MessageDifferencer;
using testing::HasSubstr;

std::string Bytes(int n, char fill) { return std::string(static_cast<size_t>(n), fill); }

pb::common::KeyValue Attr(const std::string& key, const std::string& value) {
  pb::common::KeyValue kv;
  kv.set_key(key);
  kv.mutable_value()->set_string_value(value);
  return kv;
}

LogsRequest FullLogs() {
  LogsRequest request;
  auto* rl = request.add_resource_logs();
  rl->set_schema_url("https://opentelemetry.io/schemas/1.26.0");
  *rl->mutable_resource()->add_attributes() = Attr("service.name", "checkout");
  rl->mutable_resource()->set_dropped_attributes_count(3);
  auto* sl = rl->add_scope_logs();
  sl->set_schema_url("scope-schema");
  sl->mutable_scope()->set_name("io.opentelemetry.contrib");
  sl->mutable_scope()->set_version("1.2.3");
  sl->mutable_scope()->set_dropped_attributes_count(1);
  *sl->mutable_scope()->add_attributes() = Attr("scope.attr", "x");
  auto* log = sl->add_log_records();
  log->set_time_unix_nano(1'700'000'000'000'000'001ULL);
  log->set_observed_time_unix_nano(UINT64_MAX);  // above INT64_MAX: bit-preserved
  log->set_severity_number(pb::logs::SEVERITY_NUMBER_ERROR3);
  log->set_severity_text("ERROR");
  auto* kv = log->mutable_body()->mutable_kvlist_value()->add_values();
  kv->set_key("nested");
  kv->mutable_value()->mutable_array_value()->add_values()->set_double_value(1.5);
  *log->add_attributes() = Attr("http.route", "/cart");
  auto* bytes_attr = log->add_attributes();
  bytes_attr->set_key("blob");
  bytes_attr->mutable_value()->set_bytes_value(std::string("\0\1\2", 3));
  log->add_attributes()->set_key("no-value");
  log->set_dropped_attributes_count(7);
  log->set_flags(1);
  log->set_trace_id(Bytes(16, 'T'));
  log->set_span_id(Bytes(8, 'S'));
  log->set_event_name("checkout.failed");
  auto* plain = sl->add_log_records();  // no attributes, no body, no ids
  plain->set_severity_text("INFO");
  return request;
}

// Scenario: a logs request that sets every LogRecord, Resource and Scope field.
// Guarantees: OTLP → OTAP → OTLP returns exactly the same message, and the OTAP side
// has canonical schemas, ids only where children exist, and the attribute rows.
TEST(ConvertLogsTest, EveryFieldRoundTripsExactly) {
  const LogsRequest request = FullLogs();
  auto batches = ValueOrDie(LogsToOtap(request));
  ASSERT_EQ(batches.size(), 1u);
  const OtapBatch& batch = batches[0];
  ASSERT_OK(batch.Validate());
  EXPECT_EQ(batch.num_root_rows(), 2);
  EXPECT_EQ(batch.Get(PayloadType::kLogAttrs)->num_rows(), 3);
  EXPECT_EQ(batch.Get(PayloadType::kResourceAttrs)->num_rows(), 1);
  EXPECT_EQ(batch.Get(PayloadType::kScopeAttrs)->num_rows(), 1);
  const auto& id =
      static_cast<const arrow::UInt16Array&>(*batch.root()->GetColumnByName("id"));
  EXPECT_TRUE(id.IsValid(0));
  EXPECT_TRUE(id.IsNull(1));  // no attributes → no id, as upstream
  const auto& body =
      static_cast<const arrow::StructArray&>(*batch.root()->GetColumnByName("body"));
  EXPECT_TRUE(body.IsNull(1));
  EXPECT_EQ(static_cast<const arrow::UInt8Array&>(*body.field(0)).Value(0),
            static_cast<uint8_t>(schema::AnyValueType::kMap));

  auto back = ValueOrDie(OtapToLogs(batch));
  std::string diff;
  MessageDifferencer differencer;
  differencer.ReportDifferencesToString(&diff);
  // The value-less KeyValue comes back with an empty AnyValue; that is the same
  // telemetry (the equivalence checker agrees), so compare after normalizing.
  LogsRequest expected = request;
  expected.mutable_resource_logs(0)
      ->mutable_scope_logs(0)
      ->mutable_log_records(0)
      ->mutable_attributes(2)
      ->mutable_value();
  EXPECT_TRUE(differencer.Compare(expected, back)) << diff;
}

// Scenario: every signal, randomized edge-case telemetry, split into OTAP batches of
// several sizes (including one root per batch).
// Guarantees: every batch is valid canonical OTAP and the round trip is equivalent.
TEST(ConvertTest, RandomizedEdgeCasesRoundTrip) {
  for (Signal signal : {Signal::kLogs, Signal::kTraces, Signal::kMetrics}) {
    for (int64_t max_rows : {65535, 7, 1}) {
      generator::GeneratorOptions options;
      options.seed = 42 + static_cast<uint64_t>(max_rows);
      options.mode = generator::Mode::kEdgeCases;
      generator::OtlpGenerator gen(options);
      std::vector<OtlpRequest> inputs, outputs;
      for (int i = 0; i < 20; ++i) {
        inputs.push_back(gen.Next(signal));
        ToOtapOptions to;
        to.max_root_rows = max_rows;
        auto batches = ValueOrDie(ToOtap(inputs.back(), to));
        for (const auto& batch : batches) {
          ASSERT_LE(batch.num_root_rows(), max_rows);
          ASSERT_OK(batch.Validate());
          outputs.push_back(ValueOrDie(FromOtap(batch)));
        }
      }
      auto st = CheckEquivalent(inputs, outputs);
      ASSERT_TRUE(st.ok()) << SignalName(signal) << " max_rows=" << max_rows << ": "
                           << st.ToString();
    }
  }
}

// Scenario: a request with more roots than fit one batch.
// Guarantees: it is split; each batch repeats the resource and scope with their
// attributes, so every batch stands alone.
TEST(ConvertLogsTest, SplitsLargeRequests) {
  LogsRequest request = FullLogs();
  auto* sl = request.mutable_resource_logs(0)->mutable_scope_logs(0);
  for (int i = 0; i < 98; ++i) *sl->add_log_records() = sl->log_records(0);
  ToOtapOptions options;
  options.max_root_rows = 30;
  auto batches = ValueOrDie(LogsToOtap(request, options));
  ASSERT_EQ(batches.size(), 4u);
  int64_t total = 0;
  for (const auto& batch : batches) {
    ASSERT_OK(batch.Validate());
    total += batch.num_root_rows();
    EXPECT_EQ(batch.Get(PayloadType::kResourceAttrs)->num_rows(), 1);
    EXPECT_EQ(batch.Get(PayloadType::kScopeAttrs)->num_rows(), 1);
  }
  EXPECT_EQ(total, 100);
  options.max_root_rows = 0;
  EXPECT_FALSE(LogsToOtap(request, options).ok());
}

// Scenario: malformed OTLP: ids of the wrong length and enum values OTLP does not define.
// Guarantees: Invalid naming the exact field path; no partial output.
TEST(ConvertTest, MalformedInputNamesTheField) {
  LogsRequest logs = FullLogs();
  logs.mutable_resource_logs(0)
      ->mutable_scope_logs(0)
      ->mutable_log_records(1)
      ->set_trace_id("abc");
  auto st = LogsToOtap(logs).status();
  EXPECT_TRUE(st.IsInvalid());
  EXPECT_THAT(st.message(),
              HasSubstr("resourceLogs[0].scopeLogs[0].logRecords[1].traceId"));

  logs = FullLogs();
  logs.mutable_resource_logs(0)
      ->mutable_scope_logs(0)
      ->mutable_log_records(0)
      ->set_severity_number(static_cast<pb::logs::SeverityNumber>(99));
  EXPECT_THAT(LogsToOtap(logs).status().message(),
              HasSubstr("severityNumber: unknown enum value 99"));

  TracesRequest traces;
  auto* span = traces.add_resource_spans()->add_scope_spans()->add_spans();
  span->set_kind(static_cast<pb::trace::Span::SpanKind>(9));
  EXPECT_THAT(TracesToOtap(traces).status().message(),
              HasSubstr("resourceSpans[0].scopeSpans[0].spans[0].kind"));
  span->set_kind(pb::trace::Span::SPAN_KIND_SERVER);
  span->add_links()->set_span_id("123");
  EXPECT_THAT(TracesToOtap(traces).status().message(), HasSubstr("links[0].spanId"));

  MetricsRequest metrics;
  auto* metric = metrics.add_resource_metrics()->add_scope_metrics()->add_metrics();
  metric->mutable_sum()->set_aggregation_temporality(
      static_cast<pb::metrics::AggregationTemporality>(7));
  EXPECT_THAT(MetricsToOtap(metrics).status().message(),
              HasSubstr("aggregationTemporality"));
  metric->mutable_sum()->set_aggregation_temporality(
      pb::metrics::AGGREGATION_TEMPORALITY_DELTA);
  metric->mutable_sum()->add_data_points()->add_exemplars()->set_trace_id("x");
  EXPECT_THAT(MetricsToOtap(metrics).status().message(),
              HasSubstr("dataPoints[0].exemplars[0].traceId"));
}

// Scenario: an attribute table whose `ser` column holds bytes that are not CBOR.
// Guarantees: decoding fails with Invalid naming the table and row, no crash.
TEST(ConvertLogsTest, CborGarbageInSerIsReported) {
  LogsRequest request = FullLogs();
  auto* attr = request.mutable_resource_logs(0)
                   ->mutable_scope_logs(0)
                   ->mutable_log_records(0)
                   ->add_attributes();
  attr->set_key("map");
  attr->mutable_value()->mutable_kvlist_value()->add_values()->set_key("k");
  auto batches = ValueOrDie(LogsToOtap(request));
  auto& batch = batches[0];
  auto attrs = batch.Get(PayloadType::kLogAttrs);
  arrow::BinaryBuilder garbage;
  for (int64_t i = 0; i < attrs->num_rows(); ++i)
    ASSERT_OK(garbage.Append("\xff\x00\x13", 3));
  std::shared_ptr<arrow::Array> ser;
  ASSERT_OK(garbage.Finish(&ser));
  const int ser_index = attrs->schema()->GetFieldIndex("ser");
  batch.Set(
      PayloadType::kLogAttrs,
      ValueOrDie(attrs->SetColumn(ser_index, attrs->schema()->field(ser_index), ser)));
  auto st = OtapToLogs(batch).status();
  EXPECT_TRUE(st.IsInvalid()) << st.ToString();
  EXPECT_THAT(st.message(), HasSubstr("log_attrs row"));
}

// Scenario: a histogram point whose explicit_bounds list holds a null element over a
// non-zero value slot (Go's producer writes a zero bound as null; a null's slot is
// undefined: after our Parquet round trip it held -835.0).
// Guarantees: the null reads as 0, not as the slot's leftover value.
TEST(ConvertMetricsTest, NullExplicitBoundReadsAsZero) {
  MetricsRequest request;
  auto* metric = request.add_resource_metrics()->add_scope_metrics()->add_metrics();
  metric->set_name("h");
  auto* point = metric->mutable_histogram()->add_data_points();
  for (double bound : {-1.5, 0.0, 2.5}) point->add_explicit_bounds(bound);
  for (uint64_t count : {1, 2, 3, 4}) point->add_bucket_counts(count);
  auto batches = ValueOrDie(MetricsToOtap(request));
  ASSERT_EQ(batches.size(), 1u);
  auto points = batches[0].Get(PayloadType::kHistogramDataPoints);
  const int index = points->schema()->GetFieldIndex("explicit_bounds");
  // Values -1.5, -835.0 (under a null), 2.5.
  auto values = std::make_shared<arrow::DoubleArray>(
      3, arrow::Buffer::FromVector(std::vector<double>{-1.5, -835.0, 2.5}),
      arrow::Buffer::FromVector(std::vector<uint8_t>{0b101}), 1);
  auto offsets = arrow::Buffer::FromVector(std::vector<int32_t>{0, 3});
  auto bounds = std::make_shared<arrow::ListArray>(arrow::list(arrow::float64()), 1,
                                                   offsets, values);
  ASSERT_OK(bounds->ValidateFull());
  batches[0].Set(
      PayloadType::kHistogramDataPoints,
      ValueOrDie(points->SetColumn(index, points->schema()->field(index), bounds)));
  auto back = ValueOrDie(OtapToMetrics(batches[0]));
  const auto& out = back.resource_metrics(0).scope_metrics(0).metrics(0).histogram();
  ASSERT_EQ(out.data_points_size(), 1);
  EXPECT_THAT(out.data_points(0).explicit_bounds(), testing::ElementsAre(-1.5, 0.0, 2.5));
}

// Scenario: a batch of the wrong signal is handed to a signal-specific decoder.
// Guarantees: a clear error, not a crash.
TEST(ConvertTest, WrongSignalIsRejected) {
  OtapBatch traces(Signal::kTraces);
  EXPECT_TRUE(OtapToLogs(traces).status().IsInvalid());
  EXPECT_TRUE(OtapToMetrics(traces).status().IsInvalid());
  auto empty = ValueOrDie(OtapToTraces(traces));
  EXPECT_EQ(empty.resource_spans_size(), 0);
}

}  // namespace
}  // namespace otap_parquet::otlp
