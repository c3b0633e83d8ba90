// SPDX-License-Identifier: Apache-2.0
#include "otap_parquet/otlp/equivalence.h"

#include <cmath>
#include <cstring>
#include <limits>
#include <string>
#include <vector>

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include "otap_parquet/testing/gtest_util.h"

#include "otap_parquet/generator/otlp_generator.h"

// libarrow_testing is not shipped: small local versions of its macros.
#define ASSERT_INVALID_WITH(expr, matcher)                           \
  do {                                                               \
    ::arrow::Status _st = (expr);                                    \
    ASSERT_TRUE(_st.IsInvalid()) << #expr << ": " << _st.ToString(); \
    EXPECT_THAT(_st.message(), matcher);                             \
  } while (false)

namespace otap_parquet::otlp {
namespace {

using ::testing::AllOf;
using ::testing::HasSubstr;
using ::testing::Not;

void AddStr(google::protobuf::RepeatedPtrField<pb::common::KeyValue>* attrs,
            const std::string& key, const std::string& value) {
  auto* kv = attrs->Add();
  kv->set_key(key);
  kv->mutable_value()->set_string_value(value);
}

void AddInt(google::protobuf::RepeatedPtrField<pb::common::KeyValue>* attrs,
            const std::string& key, int64_t value) {
  auto* kv = attrs->Add();
  kv->set_key(key);
  kv->mutable_value()->set_int_value(value);
}

// Two resources x two scopes x three log records, each with a few attributes.
LogsRequest SampleLogs() {
  LogsRequest request;
  for (int r = 0; r < 2; ++r) {
    auto* rl = request.add_resource_logs();
    AddStr(rl->mutable_resource()->mutable_attributes(), "service.name",
           "svc" + std::to_string(r));
    AddStr(rl->mutable_resource()->mutable_attributes(), "host.name", "host");
    rl->set_schema_url("https://opentelemetry.io/schemas/1.26.0");
    for (int s = 0; s < 2; ++s) {
      auto* sl = rl->add_scope_logs();
      sl->mutable_scope()->set_name("scope" + std::to_string(s));
      sl->mutable_scope()->set_version("1.0");
      for (int i = 0; i < 3; ++i) {
        auto* log = sl->add_log_records();
        log->set_time_unix_nano(1000 + 10 * r + 100 * s + i);
        log->set_severity_number(pb::logs::SEVERITY_NUMBER_INFO);
        log->mutable_body()->set_string_value("message " + std::to_string(i));
        AddStr(log->mutable_attributes(), "http.route", "/api/" + std::to_string(i));
        AddInt(log->mutable_attributes(), "http.status_code", 200 + i);
        AddStr(log->mutable_attributes(), "a.first", "x");
        log->set_trace_id(std::string(16, static_cast<char>(0xab)));
        log->set_span_id(std::string(8, static_cast<char>(0x01)));
        log->set_flags(1);
      }
    }
  }
  return request;
}

TracesRequest SampleTraces() {
  TracesRequest request;
  auto* rs = request.add_resource_spans();
  AddStr(rs->mutable_resource()->mutable_attributes(), "service.name", "svc");
  auto* ss = rs->add_scope_spans();
  ss->mutable_scope()->set_name("tracer");
  for (int i = 0; i < 3; ++i) {
    auto* span = ss->add_spans();
    span->set_trace_id(std::string(16, static_cast<char>(i + 1)));
    span->set_span_id(std::string(8, static_cast<char>(i + 1)));
    span->set_name("span" + std::to_string(i));
    span->set_kind(pb::trace::Span::SPAN_KIND_SERVER);
    for (int e = 0; e < 3; ++e) {
      auto* event = span->add_events();
      event->set_name("event" + std::to_string(e));
      AddInt(event->mutable_attributes(), "n", e);
      AddInt(event->mutable_attributes(), "m", -e);
    }
    for (int l = 0; l < 2; ++l) {
      auto* link = span->add_links();
      link->set_trace_id(std::string(16, static_cast<char>(0x10 + l)));
      link->set_span_id(std::string(8, static_cast<char>(0x20 + l)));
    }
  }
  return request;
}

MetricsRequest SampleMetrics() {
  MetricsRequest request;
  auto* rm = request.add_resource_metrics();
  AddStr(rm->mutable_resource()->mutable_attributes(), "service.name", "svc");
  auto* sm = rm->add_scope_metrics();
  sm->mutable_scope()->set_name("meter");
  auto* metric = sm->add_metrics();
  metric->set_name("requests");
  metric->set_unit("{request}");
  auto* sum = metric->mutable_sum();
  sum->set_aggregation_temporality(pb::metrics::AGGREGATION_TEMPORALITY_CUMULATIVE);
  sum->set_is_monotonic(true);
  for (int p = 0; p < 4; ++p) {
    auto* dp = sum->add_data_points();
    AddInt(dp->mutable_attributes(), "code", 200 + p);
    dp->set_as_int(p * 10);
    for (int e = 0; e < 2; ++e) {
      auto* ex = dp->add_exemplars();
      ex->set_as_double(e + 0.5);
      ex->set_trace_id(std::string(16, static_cast<char>(e + 1)));
    }
  }
  auto* hist = sm->add_metrics();
  hist->set_name("latency");
  auto* h = hist->mutable_histogram();
  h->set_aggregation_temporality(pb::metrics::AGGREGATION_TEMPORALITY_DELTA);
  for (int p = 0; p < 2; ++p) {
    auto* dp = h->add_data_points();
    dp->add_explicit_bounds(1.0);
    dp->add_explicit_bounds(2.0);
    dp->add_bucket_counts(p);
    dp->add_bucket_counts(2);
    dp->add_bucket_counts(3);
    dp->set_count(5 + p);
  }
  return request;
}

// Scenario: a request compared with itself, for each signal.
// Guarantees: identical telemetry is equivalent.
TEST(EquivalenceTest, IdenticalRequestsAreEquivalent) {
  ASSERT_OK(CheckEquivalent(OtlpRequest(SampleLogs()), OtlpRequest(SampleLogs())));
  ASSERT_OK(CheckEquivalent(OtlpRequest(SampleTraces()), OtlpRequest(SampleTraces())));
  ASSERT_OK(CheckEquivalent(OtlpRequest(SampleMetrics()), OtlpRequest(SampleMetrics())));
  std::vector<OtlpRequest> none;
  ASSERT_OK(CheckEquivalent(none, none));
}

// Scenario: one request split into one request per item, and those merged back.
// Guarantees: batching does not matter, also for metric data points split across
// requests.
TEST(EquivalenceTest, RebatchedRequestsAreEquivalent) {
  for (OtlpRequest original : {OtlpRequest(SampleLogs()), OtlpRequest(SampleTraces()),
                               OtlpRequest(SampleMetrics())}) {
    std::vector<OtlpRequest> one{original};
    for (int max_items : {1, 2, 5}) {
      auto split = generator::SplitRequest(original, max_items);
      if (max_items == 1) {
        ASSERT_GT(split.size(), 1u);
      }
      ASSERT_OK(CheckEquivalent(one, split));
      ASSERT_OK(CheckEquivalent(split, one));
      auto merged = generator::MergeRequests(split);
      ASSERT_TRUE(merged.ok()) << merged.status().ToString();
      ASSERT_OK(CheckEquivalent(original, *merged));
    }
  }
}

// Scenario: resources, scopes, records, attributes, events, links, exemplars and
// data points reordered (several seeds).
// Guarantees: order does not matter.
TEST(EquivalenceTest, ShuffledRequestsAreEquivalent) {
  for (OtlpRequest original : {OtlpRequest(SampleLogs()), OtlpRequest(SampleTraces()),
                               OtlpRequest(SampleMetrics())}) {
    for (uint64_t seed = 1; seed <= 5; ++seed) {
      OtlpRequest shuffled = original;
      generator::ShuffleOrder(shuffled, seed);
      ASSERT_OK(CheckEquivalent(original, shuffled));
    }
  }
  // Mixed signals in any request order.
  std::vector<OtlpRequest> a{SampleLogs(), SampleTraces(), SampleMetrics()};
  std::vector<OtlpRequest> b{SampleMetrics(), SampleLogs(), SampleTraces()};
  ASSERT_OK(CheckEquivalent(a, b));
}

// Scenario: absent messages vs the same messages with default values, and
// containers that hold no items.
// Guarantees: they are treated as equal / ignored.
TEST(EquivalenceTest, AbsentEqualsDefaultAndEmptyContainersAreIgnored) {
  LogsRequest absent;
  auto* log = absent.add_resource_logs()->add_scope_logs()->add_log_records();
  log->set_time_unix_nano(5);
  log->add_attributes()->set_key("no.value");

  LogsRequest defaults;
  auto* rl = defaults.add_resource_logs();
  rl->mutable_resource();
  auto* sl = rl->add_scope_logs();
  sl->mutable_scope();
  auto* log2 = sl->add_log_records();
  log2->set_time_unix_nano(5);
  log2->mutable_body();
  log2->add_attributes()->set_key("no.value");
  log2->mutable_attributes(0)->mutable_value();
  // Empty containers: a resource without scopes, a scope without records.
  defaults.add_resource_logs()->mutable_resource()->set_dropped_attributes_count(3);
  defaults.add_resource_logs()->add_scope_logs()->mutable_scope()->set_name("empty");
  ASSERT_OK(CheckEquivalent(OtlpRequest(absent), OtlpRequest(defaults)));

  TracesRequest no_status;
  auto* span = no_status.add_resource_spans()->add_scope_spans()->add_spans();
  span->set_name("s");
  TracesRequest unset_status = no_status;
  unset_status.mutable_resource_spans(0)
      ->mutable_scope_spans(0)
      ->mutable_spans(0)
      ->mutable_status()
      ->set_code(pb::trace::Status::STATUS_CODE_UNSET);
  ASSERT_OK(CheckEquivalent(OtlpRequest(no_status), OtlpRequest(unset_status)));

  // Resource.entity_refs are ignored.
  LogsRequest with_refs = absent;
  with_refs.mutable_resource_logs(0)->mutable_resource()->add_entity_refs()->set_type(
      "host");
  ASSERT_OK(CheckEquivalent(OtlpRequest(absent), OtlpRequest(with_refs)));
}

// Scenario: one attribute value changed.
// Guarantees: Invalid; the report shows both versions of the record.
TEST(EquivalenceTest, ChangedAttributeValueIsReported) {
  LogsRequest changed = SampleLogs();
  changed.mutable_resource_logs(1)
      ->mutable_scope_logs(0)
      ->mutable_log_records(2)
      ->mutable_attributes(0)
      ->mutable_value()
      ->set_string_value("/api/CHANGED");
  ASSERT_INVALID_WITH(
      CheckEquivalent(OtlpRequest(SampleLogs()), OtlpRequest(changed)),
      AllOf(HasSubstr("logs: expected 12 items, actual 12 items (1 only in expected, 1 "
                      "only in actual)"),
            HasSubstr("only in expected: "), HasSubstr("string_value: \"/api/2\""),
            HasSubstr("only in actual: "), HasSubstr("string_value: \"/api/CHANGED\""),
            // Ids are printed in hex.
            HasSubstr("trace_id: \"abababababababababababababababab\""),
            HasSubstr("span_id: \"0101010101010101\"")));
}

// Scenario: one record dropped, or one record duplicated.
// Guarantees: Invalid; counts and the missing / extra record are reported (the
// comparison is a multiset, so duplicates count).
TEST(EquivalenceTest, DroppedAndDuplicatedRecordsAreReported) {
  LogsRequest dropped = SampleLogs();
  dropped.mutable_resource_logs(0)
      ->mutable_scope_logs(1)
      ->mutable_log_records()
      ->RemoveLast();
  ASSERT_INVALID_WITH(CheckEquivalent(OtlpRequest(SampleLogs()), OtlpRequest(dropped)),
                      AllOf(HasSubstr("expected 12 items, actual 11 items (1 only in "
                                      "expected, 0 only in actual)"),
                            HasSubstr("message 2"), Not(HasSubstr("only in actual:"))));

  LogsRequest duplicated = SampleLogs();
  auto* records = duplicated.mutable_resource_logs(0)->mutable_scope_logs(0);
  *records->add_log_records() = records->log_records(1);
  ASSERT_INVALID_WITH(
      CheckEquivalent(OtlpRequest(SampleLogs()), OtlpRequest(duplicated)),
      AllOf(HasSubstr("expected 12 items, actual 13 items (0 only in expected, 1 only "
                      "in actual)"),
            HasSubstr("only in actual: "), HasSubstr("message 1")));
}

// Scenario: log flags changed; metric temporality changed; span kind changed.
// Guarantees: Invalid with the changed field visible.
TEST(EquivalenceTest, ChangedScalarFieldsAreReported) {
  LogsRequest flags = SampleLogs();
  flags.mutable_resource_logs(0)
      ->mutable_scope_logs(0)
      ->mutable_log_records(0)
      ->set_flags(0);
  ASSERT_INVALID_WITH(CheckEquivalent(OtlpRequest(SampleLogs()), OtlpRequest(flags)),
                      AllOf(HasSubstr("flags: 1"), HasSubstr("1 only in expected")));

  MetricsRequest temporality = SampleMetrics();
  temporality.mutable_resource_metrics(0)
      ->mutable_scope_metrics(0)
      ->mutable_metrics(0)
      ->mutable_sum()
      ->set_aggregation_temporality(pb::metrics::AGGREGATION_TEMPORALITY_DELTA);
  // Every data point of the metric differs.
  ASSERT_INVALID_WITH(
      CheckEquivalent(OtlpRequest(SampleMetrics()), OtlpRequest(temporality)),
      AllOf(HasSubstr("metrics: expected 6 items, actual 6 items (4 only in expected, 4 "
                      "only in actual)"),
            HasSubstr("aggregation_temporality: AGGREGATION_TEMPORALITY_CUMULATIVE"),
            HasSubstr("aggregation_temporality: AGGREGATION_TEMPORALITY_DELTA")));

  TracesRequest kind = SampleTraces();
  kind.mutable_resource_spans(0)->mutable_scope_spans(0)->mutable_spans(1)->set_kind(
      pb::trace::Span::SPAN_KIND_CLIENT);
  ASSERT_INVALID_WITH(
      CheckEquivalent(OtlpRequest(SampleTraces()), OtlpRequest(kind)),
      AllOf(HasSubstr("kind: SPAN_KIND_SERVER"), HasSubstr("kind: SPAN_KIND_CLIENT")));
}

LogsRequest OneAttribute(const pb::common::AnyValue& value) {
  LogsRequest request;
  auto* kv =
      request.add_resource_logs()->add_scope_logs()->add_log_records()->add_attributes();
  kv->set_key("k");
  *kv->mutable_value() = value;
  return request;
}

// Scenario: int 1, double 1.0, string "1", bool true and an empty value.
// Guarantees: value types are never conflated.
TEST(EquivalenceTest, ValueTypesAreDistinct) {
  std::vector<pb::common::AnyValue> values(5);
  values[0].set_int_value(1);
  values[1].set_double_value(1.0);
  values[2].set_string_value("1");
  values[3].set_bool_value(true);
  for (size_t i = 0; i < values.size(); ++i) {
    for (size_t j = 0; j < values.size(); ++j) {
      auto st = CheckEquivalent(OtlpRequest(OneAttribute(values[i])),
                                OtlpRequest(OneAttribute(values[j])));
      EXPECT_EQ(st.ok(), i == j) << i << " vs " << j << ": " << st.ToString();
    }
  }
}

// Scenario: doubles NaN (same and different bits), 0.0 vs -0.0.
// Guarantees: doubles compare bitwise.
TEST(EquivalenceTest, DoublesCompareBitwise) {
  auto double_value = [](double d) {
    pb::common::AnyValue v;
    v.set_double_value(d);
    return OtlpRequest(OneAttribute(v));
  };
  const double nan = std::numeric_limits<double>::quiet_NaN();
  ASSERT_OK(CheckEquivalent(double_value(nan), double_value(nan)));
  uint64_t bits;
  std::memcpy(&bits, &nan, sizeof(bits));
  bits |= 1;  // another NaN payload
  double other_nan;
  std::memcpy(&other_nan, &bits, sizeof(bits));
  ASSERT_TRUE(std::isnan(other_nan));
  EXPECT_TRUE(CheckEquivalent(double_value(nan), double_value(other_nan)).IsInvalid());
  EXPECT_TRUE(CheckEquivalent(double_value(0.0), double_value(-0.0)).IsInvalid());
}

// Scenario: nested kvlist members reordered; array elements reordered.
// Guarantees: kvlists are maps (order ignored, recursively), arrays are
// sequences (order kept).
TEST(EquivalenceTest, KvlistOrderIgnoredArrayOrderKept) {
  pb::common::AnyValue a;
  auto* outer = a.mutable_kvlist_value();
  auto* inner_kv = outer->add_values();
  inner_kv->set_key("inner");
  auto* inner = inner_kv->mutable_value()->mutable_kvlist_value();
  AddInt(inner->mutable_values(), "x", 1);
  AddInt(inner->mutable_values(), "y", 2);
  AddStr(outer->mutable_values(), "z", "last");

  pb::common::AnyValue b = a;
  b.mutable_kvlist_value()->mutable_values()->SwapElements(0, 1);
  b.mutable_kvlist_value()
      ->mutable_values(1)
      ->mutable_value()
      ->mutable_kvlist_value()
      ->mutable_values()
      ->SwapElements(0, 1);
  ASSERT_OK(CheckEquivalent(OtlpRequest(OneAttribute(a)), OtlpRequest(OneAttribute(b))));

  pb::common::AnyValue c;
  c.mutable_array_value()->add_values()->set_int_value(1);
  c.mutable_array_value()->add_values()->set_int_value(2);
  pb::common::AnyValue d = c;
  d.mutable_array_value()->mutable_values()->SwapElements(0, 1);
  EXPECT_TRUE(CheckEquivalent(OtlpRequest(OneAttribute(c)), OtlpRequest(OneAttribute(d)))
                  .IsInvalid());
}

// Scenario: a histogram's bucket counts permuted; a span event's attribute
// changed.
// Guarantees: ordered lists keep their order; multiset members are still compared
// by content.
TEST(EquivalenceTest, OrderedListsAndMultisetContent) {
  MetricsRequest buckets = SampleMetrics();
  buckets.mutable_resource_metrics(0)
      ->mutable_scope_metrics(0)
      ->mutable_metrics(1)
      ->mutable_histogram()
      ->mutable_data_points(0)
      ->mutable_bucket_counts()
      ->SwapElements(1, 2);
  EXPECT_TRUE(
      CheckEquivalent(OtlpRequest(SampleMetrics()), OtlpRequest(buckets)).IsInvalid());

  TracesRequest event = SampleTraces();
  event.mutable_resource_spans(0)
      ->mutable_scope_spans(0)
      ->mutable_spans(0)
      ->mutable_events(2)
      ->mutable_attributes(0)
      ->mutable_value()
      ->set_int_value(99);
  ASSERT_INVALID_WITH(CheckEquivalent(OtlpRequest(SampleTraces()), OtlpRequest(event)),
                      HasSubstr("int_value: 99"));
}

// Scenario: presence of optional histogram sum; int vs double data point value;
// a metric without points vs no metric.
// Guarantees: explicit presence and oneof choice matter; empty metrics count.
TEST(EquivalenceTest, PresenceMatters) {
  MetricsRequest with_sum = SampleMetrics();
  with_sum.mutable_resource_metrics(0)
      ->mutable_scope_metrics(0)
      ->mutable_metrics(1)
      ->mutable_histogram()
      ->mutable_data_points(0)
      ->set_sum(0.0);
  EXPECT_TRUE(
      CheckEquivalent(OtlpRequest(SampleMetrics()), OtlpRequest(with_sum)).IsInvalid());

  MetricsRequest as_double = SampleMetrics();
  as_double.mutable_resource_metrics(0)
      ->mutable_scope_metrics(0)
      ->mutable_metrics(0)
      ->mutable_sum()
      ->mutable_data_points(0)
      ->set_as_double(0.0);
  EXPECT_TRUE(
      CheckEquivalent(OtlpRequest(SampleMetrics()), OtlpRequest(as_double)).IsInvalid());

  MetricsRequest empty_metric = SampleMetrics();
  empty_metric.mutable_resource_metrics(0)
      ->mutable_scope_metrics(0)
      ->add_metrics()
      ->set_name("no.data");
  ASSERT_INVALID_WITH(
      CheckEquivalent(OtlpRequest(SampleMetrics()), OtlpRequest(empty_metric)),
      AllOf(HasSubstr("expected 6 items, actual 7 items"), HasSubstr("no.data")));
}

// Scenario: logs on one side, the same logs plus traces on the other.
// Guarantees: each signal is counted separately in the report.
TEST(EquivalenceTest, ReportsCountsPerSignal) {
  std::vector<OtlpRequest> expected{SampleLogs()};
  std::vector<OtlpRequest> actual{SampleLogs(), SampleTraces()};
  ASSERT_INVALID_WITH(
      CheckEquivalent(expected, actual),
      AllOf(HasSubstr("logs: expected 12 items, actual 12 items (equivalent)"),
            HasSubstr("traces: expected 0 items, actual 3 items (0 only in expected, 3 "
                      "only in actual)")));
}

// Scenario: many differing items.
// Guarantees: the report lists at most max_reported_items per side and says how
// many more there are.
TEST(EquivalenceTest, ReportIsBounded) {
  std::vector<OtlpRequest> none;
  std::vector<OtlpRequest> logs{SampleLogs()};
  EquivalenceOptions options;
  options.max_reported_items = 2;
  ASSERT_INVALID_WITH(CheckEquivalent(none, logs, options),
                      HasSubstr("... and 10 more only in actual"));
}

}  // namespace
}  // namespace otap_parquet::otlp
