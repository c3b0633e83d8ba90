// SPDX-License-Identifier: Apache-2.0
#include "otap_parquet/generator/otlp_generator.h"

#include <chrono>
#include <cmath>
#include <iostream>
#include <limits>
#include <set>
#include <string>
#include <variant>
#include <vector>

#include <gtest/gtest.h>

#include "otap_parquet/testing/gtest_util.h"

#include <google/protobuf/io/coded_stream.h>
#include <google/protobuf/io/zero_copy_stream_impl_lite.h>

#include "otap_parquet/otlp/equivalence.h"

// libarrow_testing is not shipped: a small local version of its macro.

namespace otap_parquet::generator {
namespace {

namespace pb = otlp::pb;
using otlp::CheckEquivalent;
using otlp::OtlpRequest;

constexpr Signal kSignals[] = {Signal::kLogs, Signal::kTraces, Signal::kMetrics};
constexpr Mode kModes[] = {Mode::kRealistic, Mode::kEdgeCases};

std::string Bytes(const OtlpRequest& request) {
  std::string out;
  {
    google::protobuf::io::StringOutputStream stream(&out);
    google::protobuf::io::CodedOutputStream coded(&stream);
    coded.SetSerializationDeterministic(true);
    std::visit([&](const auto& r) { r.SerializeToCodedStream(&coded); }, request);
  }
  return out;
}

uint64_t Fnv1a(const std::string& bytes) {
  uint64_t h = 0xcbf29ce484222325ULL;
  for (unsigned char c : bytes) {
    h ^= c;
    h *= 0x100000001b3ULL;
  }
  return h;
}

// Records which edge-case features occur in generated requests.
class Coverage {
 public:
  void Mark(const std::string& feature) { seen_.insert(feature); }
  bool Has(const std::string& feature) const { return seen_.count(feature) > 0; }

  void Value(const pb::common::AnyValue& v, int depth) {
    using V = pb::common::AnyValue;
    switch (v.value_case()) {
      case V::VALUE_NOT_SET:
        Mark("value.empty");
        break;
      case V::kStringValue:
        if (v.string_value().empty()) Mark("value.string.empty");
        for (unsigned char c : v.string_value()) {
          if (c >= 0x80) Mark("value.string.non_ascii");
        }
        break;
      case V::kIntValue:
        if (v.int_value() == std::numeric_limits<int64_t>::min()) Mark("value.int.min");
        if (v.int_value() == std::numeric_limits<int64_t>::max()) Mark("value.int.max");
        break;
      case V::kDoubleValue: {
        double d = v.double_value();
        if (std::isnan(d)) Mark("value.double.nan");
        if (std::isinf(d)) Mark(d > 0 ? "value.double.+inf" : "value.double.-inf");
        if (d == 0 && std::signbit(d)) Mark("value.double.-0");
        if (std::fpclassify(d) == FP_SUBNORMAL) Mark("value.double.denormal");
        break;
      }
      case V::kBoolValue:
        Mark(v.bool_value() ? "value.bool.true" : "value.bool.false");
        break;
      case V::kBytesValue:
        Mark(v.bytes_value().empty() ? "value.bytes.empty" : "value.bytes.nonempty");
        break;
      case V::kArrayValue:
        Mark(v.array_value().values().empty() ? "value.array.empty"
                                              : "value.array.nonempty");
        if (depth >= 3) Mark("value.container.depth3");
        for (const auto& e : v.array_value().values()) Value(e, depth + 1);
        break;
      case V::kKvlistValue:
        Mark(v.kvlist_value().values().empty() ? "value.kvlist.empty"
                                               : "value.kvlist.nonempty");
        if (depth >= 3) Mark("value.container.depth3");
        Attrs(v.kvlist_value().values(), "kvlist", depth + 1);
        break;
      default:  // string_value_strindex: profiles only, never generated
        ADD_FAILURE() << "unexpected AnyValue case " << v.value_case();
        break;
    }
  }

  void Attrs(const google::protobuf::RepeatedPtrField<pb::common::KeyValue>& attrs,
             const std::string& where, int depth = 0) {
    if (!attrs.empty()) Mark(where + ".attributes");
    for (const auto& kv : attrs) {
      if (kv.key().empty()) Mark("key.empty");
      if (!kv.has_value()) {
        Mark("kv.without_value");
      } else {
        Value(kv.value(), depth);
      }
    }
  }

  void Id(const std::string& id, size_t size, const std::string& where) {
    EXPECT_TRUE(id.empty() || id.size() == size) << where << " size " << id.size();
    Mark(where + (id.empty() ? ".empty" : ".present"));
  }

  template <typename ResourceX>
  void ResourceOf(const ResourceX& rx, int items) {
    if (items == 0) Mark("container.empty_resource");
    if (!rx.has_resource()) Mark("resource.absent");
    Attrs(rx.resource().attributes(), "resource");
    if (rx.resource().dropped_attributes_count() > 0) Mark("resource.dropped");
    if (!rx.schema_url().empty()) Mark("resource.schema_url");
  }

  template <typename ScopeX>
  void ScopeOf(const ScopeX& sx, int items) {
    if (items == 0) Mark("container.empty_scope");
    if (!sx.has_scope()) Mark("scope.absent");
    if (!sx.scope().name().empty()) Mark("scope.name");
    if (!sx.scope().version().empty()) Mark("scope.version");
    Attrs(sx.scope().attributes(), "scope");
    if (sx.scope().dropped_attributes_count() > 0) Mark("scope.dropped");
    if (!sx.schema_url().empty()) Mark("scope.schema_url");
  }

  void Log(const pb::logs::LogRecord& log) {
    Mark(log.time_unix_nano() == 0 ? "log.time.zero" : "log.time.nonzero");
    if (log.observed_time_unix_nano() != 0) Mark("log.observed_time");
    Mark("log.severity." + std::to_string(log.severity_number()));
    if (!log.severity_text().empty()) Mark("log.severity_text");
    if (!log.has_body()) {
      Mark("log.body.absent");
    } else {
      Mark("log.body.case" + std::to_string(log.body().value_case()));
      Value(log.body(), 0);
    }
    Attrs(log.attributes(), "log");
    if (log.dropped_attributes_count() > 0) Mark("log.dropped");
    if (log.flags() != 0) Mark("log.flags");
    Id(log.trace_id(), 16, "log.trace_id");
    Id(log.span_id(), 8, "log.span_id");
    if (!log.event_name().empty()) Mark("log.event_name");
  }

  void Span(const pb::trace::Span& span) {
    Id(span.trace_id(), 16, "span.trace_id");
    Id(span.span_id(), 8, "span.span_id");
    Id(span.parent_span_id(), 8, "span.parent");
    if (!span.trace_state().empty()) Mark("span.trace_state");
    if (span.flags() != 0) Mark("span.flags");
    if (span.name().empty()) Mark("span.name.empty");
    Mark("span.kind." + std::to_string(span.kind()));
    if (span.start_time_unix_nano() == 0) Mark("span.start.zero");
    if (span.end_time_unix_nano() < span.start_time_unix_nano()) Mark("span.end<start");
    Attrs(span.attributes(), "span");
    if (span.dropped_attributes_count() > 0) Mark("span.dropped_attributes");
    if (span.dropped_events_count() > 0) Mark("span.dropped_events");
    if (span.dropped_links_count() > 0) Mark("span.dropped_links");
    for (const auto& e : span.events()) {
      Mark("span.event");
      if (e.time_unix_nano() != 0) Mark("span.event.time");
      if (!e.name().empty()) Mark("span.event.name");
      Attrs(e.attributes(), "span.event");
      if (e.dropped_attributes_count() > 0) Mark("span.event.dropped");
    }
    for (const auto& l : span.links()) {
      Mark("span.link");
      Id(l.trace_id(), 16, "span.link.trace_id");
      Id(l.span_id(), 8, "span.link.span_id");
      if (!l.trace_state().empty()) Mark("span.link.trace_state");
      if (l.flags() != 0) Mark("span.link.flags");
      Attrs(l.attributes(), "span.link");
      if (l.dropped_attributes_count() > 0) Mark("span.link.dropped");
    }
    if (!span.has_status()) {
      Mark("span.status.absent");
    } else {
      Mark("span.status.code" + std::to_string(span.status().code()));
      if (!span.status().message().empty()) {
        Mark("span.status.code" + std::to_string(span.status().code()) + ".message");
      }
    }
  }

  void Exemplars(const google::protobuf::RepeatedPtrField<pb::metrics::Exemplar>& exs) {
    for (const auto& ex : exs) {
      Mark("exemplar");
      Attrs(ex.filtered_attributes(), "exemplar");
      if (ex.time_unix_nano() != 0) Mark("exemplar.time");
      Mark("exemplar.value" + std::to_string(ex.value_case()));
      Id(ex.trace_id(), 16, "exemplar.trace_id");
      Id(ex.span_id(), 8, "exemplar.span_id");
    }
  }

  template <typename Dp>
  void DpCommon(const Dp& dp) {
    Attrs(dp.attributes(), "dp");
    if (dp.start_time_unix_nano() != 0) Mark("dp.start_time");
    if (dp.time_unix_nano() != 0) Mark("dp.time");
    if (dp.flags() != 0) Mark("dp.flags");
  }

  void Buckets(const pb::metrics::ExponentialHistogramDataPoint& dp, bool has,
               const pb::metrics::ExponentialHistogramDataPoint::Buckets& b,
               const std::string& which) {
    if (!has) {
      Mark("exphist." + which + ".absent");
      return;
    }
    if (b.bucket_counts().empty()) Mark("exphist." + which + ".empty");
    if (b.offset() < 0) Mark("exphist." + which + ".negative_offset");
    (void)dp;
  }

  void Metric(const pb::metrics::Metric& m) {
    if (!m.description().empty()) Mark("metric.description");
    if (!m.unit().empty()) Mark("metric.unit");
    Attrs(m.metadata(), "metric.metadata");
    int points = 0;
    switch (m.data_case()) {
      case pb::metrics::Metric::DATA_NOT_SET:
        Mark("metric.empty");
        break;
      case pb::metrics::Metric::kGauge:
        Mark("metric.gauge");
        for (const auto& dp : m.gauge().data_points()) Number(dp);
        points = m.gauge().data_points_size();
        break;
      case pb::metrics::Metric::kSum:
        Mark("metric.sum.temporality" +
             std::to_string(m.sum().aggregation_temporality()));
        Mark(m.sum().is_monotonic() ? "metric.sum.monotonic" : "metric.sum.nonmonotonic");
        for (const auto& dp : m.sum().data_points()) Number(dp);
        points = m.sum().data_points_size();
        break;
      case pb::metrics::Metric::kHistogram:
        Mark("metric.histogram.temporality" +
             std::to_string(m.histogram().aggregation_temporality()));
        for (const auto& dp : m.histogram().data_points()) {
          DpCommon(dp);
          Mark(dp.has_sum() ? "histogram.sum" : "histogram.no_sum");
          Mark(dp.has_min() ? "histogram.min" : "histogram.no_min");
          Mark(dp.has_max() ? "histogram.max" : "histogram.no_max");
          if (!dp.explicit_bounds().empty()) Mark("histogram.bounds");
          if (dp.bucket_counts().empty()) Mark("histogram.no_buckets");
          if (dp.count() != 0) Mark("histogram.count");
          Exemplars(dp.exemplars());
        }
        points = m.histogram().data_points_size();
        break;
      case pb::metrics::Metric::kExponentialHistogram:
        Mark("metric.exphist.temporality" +
             std::to_string(m.exponential_histogram().aggregation_temporality()));
        for (const auto& dp : m.exponential_histogram().data_points()) {
          DpCommon(dp);
          if (dp.scale() < 0) Mark("exphist.scale.negative");
          if (dp.scale() > 0) Mark("exphist.scale.positive");
          if (dp.zero_count() > 0) Mark("exphist.zero_count");
          if (dp.zero_threshold() != 0) Mark("exphist.zero_threshold");
          Mark(dp.has_sum() ? "exphist.sum" : "exphist.no_sum");
          Mark(dp.has_min() ? "exphist.min" : "exphist.no_min");
          Mark(dp.has_max() ? "exphist.max" : "exphist.no_max");
          Buckets(dp, dp.has_positive(), dp.positive(), "positive");
          Buckets(dp, dp.has_negative(), dp.negative(), "negative");
          Exemplars(dp.exemplars());
        }
        points = m.exponential_histogram().data_points_size();
        break;
      case pb::metrics::Metric::kSummary:
        Mark("metric.summary");
        for (const auto& dp : m.summary().data_points()) {
          DpCommon(dp);
          if (!dp.quantile_values().empty()) Mark("summary.quantiles");
          if (dp.count() != 0) Mark("summary.count");
          if (dp.sum() != 0) Mark("summary.sum");
        }
        points = m.summary().data_points_size();
        break;
    }
    if (m.data_case() != pb::metrics::Metric::DATA_NOT_SET && points == 0) {
      Mark("metric.typed_without_points");
    }
  }

  void Number(const pb::metrics::NumberDataPoint& dp) {
    DpCommon(dp);
    Mark("number.value" + std::to_string(dp.value_case()));
    Exemplars(dp.exemplars());
  }

  void Request(const OtlpRequest& request) {
    if (auto* logs = std::get_if<otlp::LogsRequest>(&request)) {
      for (const auto& rl : logs->resource_logs()) {
        for (const auto& sl : rl.scope_logs()) {
          ScopeOf(sl, sl.log_records_size());
          for (const auto& log : sl.log_records()) Log(log);
        }
        ResourceOf(rl, rl.scope_logs_size());
      }
    } else if (auto* traces = std::get_if<otlp::TracesRequest>(&request)) {
      for (const auto& rs : traces->resource_spans()) {
        for (const auto& ss : rs.scope_spans()) {
          ScopeOf(ss, ss.spans_size());
          for (const auto& span : ss.spans()) Span(span);
        }
        ResourceOf(rs, rs.scope_spans_size());
      }
    } else {
      for (const auto& rm : std::get<otlp::MetricsRequest>(request).resource_metrics()) {
        for (const auto& sm : rm.scope_metrics()) {
          ScopeOf(sm, sm.metrics_size());
          for (const auto& m : sm.metrics()) Metric(m);
        }
        ResourceOf(rm, rm.scope_metrics_size());
      }
    }
  }

 private:
  std::set<std::string> seen_;
};

std::vector<std::string> ExpectedFeatures() {
  std::vector<std::string> f = {
      // AnyValue
      "value.empty", "value.string.empty", "value.string.non_ascii", "value.int.min",
      "value.int.max", "value.double.nan", "value.double.+inf", "value.double.-inf",
      "value.double.-0", "value.double.denormal", "value.bool.true", "value.bool.false",
      "value.bytes.empty", "value.bytes.nonempty", "value.array.empty",
      "value.array.nonempty", "value.kvlist.empty", "value.kvlist.nonempty",
      "value.container.depth3", "kv.without_value", "key.empty", "kvlist.attributes",
      // Resource and scope
      "resource.absent", "resource.attributes", "resource.dropped", "resource.schema_url",
      "scope.absent", "scope.name", "scope.version", "scope.attributes", "scope.dropped",
      "scope.schema_url", "container.empty_resource", "container.empty_scope",
      // Logs
      "log.time.zero", "log.time.nonzero", "log.observed_time", "log.severity_text",
      "log.body.absent", "log.attributes", "log.dropped", "log.flags",
      "log.trace_id.present", "log.trace_id.empty", "log.span_id.present",
      "log.span_id.empty", "log.event_name",
      // Spans
      "span.trace_id.present", "span.span_id.present", "span.parent.present",
      "span.parent.empty", "span.trace_state", "span.flags", "span.name.empty",
      "span.start.zero", "span.end<start", "span.attributes", "span.dropped_attributes",
      "span.dropped_events", "span.dropped_links", "span.event", "span.event.time",
      "span.event.name", "span.event.attributes", "span.event.dropped", "span.link",
      "span.link.trace_id.present", "span.link.span_id.present", "span.link.trace_state",
      "span.link.flags", "span.link.attributes", "span.link.dropped",
      "span.status.absent", "span.status.code0", "span.status.code0.message",
      "span.status.code1", "span.status.code2", "span.status.code2.message",
      // Metrics
      "metric.empty", "metric.typed_without_points", "metric.description", "metric.unit",
      "metric.metadata.attributes", "metric.gauge", "metric.sum.monotonic",
      "metric.sum.nonmonotonic", "metric.summary", "histogram.sum", "histogram.no_sum",
      "histogram.min", "histogram.no_min", "histogram.max", "histogram.no_max",
      "histogram.bounds", "histogram.no_buckets", "histogram.count",
      "exphist.scale.negative", "exphist.scale.positive", "exphist.zero_count",
      "exphist.zero_threshold", "exphist.sum", "exphist.no_sum", "exphist.min",
      "exphist.no_min", "exphist.max", "exphist.no_max", "exphist.positive.absent",
      "exphist.positive.empty", "exphist.positive.negative_offset",
      "exphist.negative.absent", "exphist.negative.empty",
      "exphist.negative.negative_offset", "summary.quantiles", "summary.count",
      "summary.sum", "dp.attributes", "dp.start_time", "dp.time", "dp.flags", "exemplar",
      "exemplar.attributes", "exemplar.time", "exemplar.trace_id.present",
      "exemplar.trace_id.empty", "exemplar.span_id.present", "exemplar.span_id.empty"};
  for (int s = 0; s <= 24; ++s) f.push_back("log.severity." + std::to_string(s));
  using V = pb::common::AnyValue;
  for (int c : {V::kStringValue, V::kBoolValue, V::kIntValue, V::kDoubleValue,
                V::kArrayValue, V::kKvlistValue, V::kBytesValue, V::VALUE_NOT_SET}) {
    f.push_back("log.body.case" + std::to_string(c));
  }
  for (int k = 0; k <= 5; ++k) f.push_back("span.kind." + std::to_string(k));
  for (int t = 0; t <= 2; ++t) {
    f.push_back("metric.sum.temporality" + std::to_string(t));
    f.push_back("metric.histogram.temporality" + std::to_string(t));
    f.push_back("metric.exphist.temporality" + std::to_string(t));
  }
  using N = pb::metrics::NumberDataPoint;
  for (int c : {N::kAsInt, N::kAsDouble, N::VALUE_NOT_SET}) {
    f.push_back("number.value" + std::to_string(c));
  }
  using E = pb::metrics::Exemplar;
  for (int c : {E::kAsInt, E::kAsDouble, E::VALUE_NOT_SET}) {
    f.push_back("exemplar.value" + std::to_string(c));
  }
  return f;
}

// Scenario: two generators with the same options, for each mode and signal; a
// third with another seed.
// Guarantees: the same seed gives the same bytes; another seed different bytes.
TEST(OtlpGeneratorTest, SameSeedSameBytes) {
  for (Mode mode : kModes) {
    GeneratorOptions options;
    options.mode = mode;
    options.seed = 42;
    OtlpGenerator a(options);
    OtlpGenerator b(options);
    options.seed = 43;
    OtlpGenerator c(options);
    for (int round = 0; round < 3; ++round) {
      for (Signal signal : kSignals) {
        std::string bytes_a = Bytes(a.Next(signal));
        EXPECT_EQ(bytes_a, Bytes(b.Next(signal)));
        EXPECT_NE(bytes_a, Bytes(c.Next(signal)));
      }
    }
  }
}

// Scenario: fingerprints of small requests from a fixed seed.
// Guarantees: output does not depend on the platform or standard library (no
// std::*_distribution). Update the constants only when changing the generator on
// purpose.
TEST(OtlpGeneratorTest, GoldenFingerprints) {
  GeneratorOptions options;
  options.seed = 7;
  options.resources_per_request = 1;
  options.scopes_per_resource = 1;
  options.items_per_scope = 3;
  OtlpGenerator realistic(options);
  options.mode = Mode::kEdgeCases;
  OtlpGenerator edge(options);
  std::vector<uint64_t> got;
  for (Signal signal : kSignals) got.push_back(Fnv1a(Bytes(realistic.Next(signal))));
  for (Signal signal : kSignals) got.push_back(Fnv1a(Bytes(edge.Next(signal))));
  const std::vector<uint64_t> kExpected = {
      2066879779230731786ULL,  11003025743912208614ULL, 7047989078404673509ULL,
      15533608978948289017ULL, 11213675770757183723ULL, 9720345682929961759ULL};
  EXPECT_EQ(got, kExpected);
}

// Scenario: 40 edge-case requests per signal (seeds 1 and 2).
// Guarantees: every listed OTLP feature occurs at least once; ids are 16 / 8 bytes
// or empty; all strings are valid UTF-8 (the proto3 parser checks them).
TEST(OtlpGeneratorTest, EdgeCasesCoverEveryFeature) {
  for (uint64_t seed : {1, 2}) {
    GeneratorOptions options;
    options.seed = seed;
    options.mode = Mode::kEdgeCases;
    OtlpGenerator generator(options);
    Coverage coverage;
    for (int i = 0; i < 40; ++i) {
      for (Signal signal : kSignals) {
        OtlpRequest request = generator.Next(signal);
        coverage.Request(request);
        std::string bytes = Bytes(request);
        OtlpRequest parsed = request;
        std::visit([&](auto& r) { ASSERT_TRUE(r.ParseFromString(bytes)); }, parsed);
      }
    }
    for (const auto& feature : ExpectedFeatures()) {
      EXPECT_TRUE(coverage.Has(feature)) << "seed " << seed << ": never saw " << feature;
    }
  }
}

// Scenario: realistic logs, spans and metrics.
// Guarantees: the telemetry looks like semantic-convention data: 10 attributes
// and 250..450 bytes per log record, service.name in the resource, ids present, all
// five metric types.
TEST(OtlpGeneratorTest, RealisticShape) {
  GeneratorOptions options;
  options.items_per_scope = 250;
  OtlpGenerator generator(options);
  auto logs = generator.NextLogs();
  size_t records = 0;
  size_t record_bytes = 0;
  size_t attributes = 0;
  for (const auto& rl : logs.resource_logs()) {
    EXPECT_EQ(rl.resource().attributes(0).key(), "service.name");
    for (const auto& sl : rl.scope_logs()) {
      EXPECT_FALSE(sl.scope().name().empty());
      for (const auto& log : sl.log_records()) {
        ++records;
        record_bytes += log.ByteSizeLong();
        attributes += log.attributes_size();
        EXPECT_TRUE(log.body().has_string_value());
        EXPECT_NE(log.severity_number(), 0);
      }
    }
  }
  ASSERT_EQ(records, 1000u);
  EXPECT_EQ(attributes / records, 10u);
  EXPECT_GT(record_bytes / records, 250u);
  EXPECT_LT(record_bytes / records, 450u);

  auto traces = generator.NextTraces();
  int events = 0;
  int links = 0;
  for (const auto& span : traces.resource_spans(0).scope_spans(0).spans()) {
    EXPECT_EQ(span.trace_id().size(), 16u);
    EXPECT_EQ(span.span_id().size(), 8u);
    EXPECT_GT(span.end_time_unix_nano(), span.start_time_unix_nano());
    events += span.events_size();
    links += span.links_size();
  }
  EXPECT_GT(events, 0);
  EXPECT_GT(links, 0);

  options.items_per_scope = 5;
  OtlpGenerator metrics_generator(options);
  auto metrics = metrics_generator.NextMetrics();
  std::set<int> types;
  for (const auto& m : metrics.resource_metrics(0).scope_metrics(0).metrics()) {
    types.insert(m.data_case());
  }
  EXPECT_EQ(types.size(), 5u);
}

// Scenario: generated requests of both modes and all signals compared with
// themselves, a shuffled copy, and a split-then-merged copy.
// Guarantees: CheckEquivalent accepts each (the generator's output is
// well-formed for the checker, and ShuffleOrder / SplitRequest / MergeRequests
// preserve telemetry).
TEST(OtlpGeneratorTest, RequestsAreEquivalentToShuffledAndRebatchedCopies) {
  for (Mode mode : kModes) {
    GeneratorOptions options;
    options.mode = mode;
    options.seed = 99;
    OtlpGenerator generator(options);
    for (int i = 0; i < 10; ++i) {
      for (Signal signal : kSignals) {
        OtlpRequest request = generator.Next(signal);
        ASSERT_OK(CheckEquivalent(request, request));
        OtlpRequest shuffled = request;
        ShuffleOrder(shuffled, 1000 + i);
        ASSERT_OK(CheckEquivalent(request, shuffled));
        auto split = SplitRequest(shuffled, 3);
        ASSERT_OK(CheckEquivalent(std::vector<OtlpRequest>{request}, split));
        if (!split.empty()) {
          auto merged = MergeRequests(split);
          ASSERT_TRUE(merged.ok()) << merged.status().ToString();
          ASSERT_OK(CheckEquivalent(request, *merged));
        }
      }
    }
  }
}

// Scenario: a shuffled edge-case request with one log record removed.
// Guarantees: the checker is not vacuous on generated data.
TEST(OtlpGeneratorTest, ModifiedGeneratedRequestIsNotEquivalent) {
  GeneratorOptions options;
  options.mode = Mode::kEdgeCases;
  OtlpGenerator generator(options);
  otlp::LogsRequest logs = generator.NextLogs();
  otlp::LogsRequest modified = logs;
  bool removed = false;
  for (auto& rl : *modified.mutable_resource_logs()) {
    for (auto& sl : *rl.mutable_scope_logs()) {
      if (!removed && sl.log_records_size() > 0) {
        sl.mutable_log_records()->RemoveLast();
        removed = true;
      }
    }
  }
  ASSERT_TRUE(removed);
  OtlpRequest shuffled(std::move(modified));
  ShuffleOrder(shuffled, 5);
  EXPECT_TRUE(CheckEquivalent(OtlpRequest(logs), shuffled).IsInvalid());
}

// Scenario: MergeRequests with no requests or mixed signals; invalid options.
// Guarantees: Invalid, not a crash.
TEST(OtlpGeneratorTest, InvalidInputs) {
  std::vector<OtlpRequest> none;
  EXPECT_TRUE(MergeRequests(none).status().IsInvalid());
  std::vector<OtlpRequest> mixed{otlp::LogsRequest(), otlp::TracesRequest()};
  EXPECT_TRUE(MergeRequests(mixed).status().IsInvalid());
  GeneratorOptions options;
  ASSERT_OK(options.Validate());
  options.items_per_scope = -1;
  EXPECT_TRUE(options.Validate().IsInvalid());
  OtlpGenerator clamped(options);  // clamps to 0 items
  EXPECT_EQ(clamped.options().items_per_scope, 0);
  EXPECT_TRUE(SplitRequest(clamped.Next(Signal::kLogs), 1).empty());
}

// Scenario: 10k-record realistic logs requests.
// Guarantees: none (prints throughput); generation should exceed 200k logs/s in
// optimized builds.
TEST(OtlpGeneratorTest, RealisticLogsThroughput) {
  GeneratorOptions options;
  options.resources_per_request = 5;
  options.scopes_per_resource = 2;
  options.items_per_scope = 1000;
  OtlpGenerator generator(options);
  std::vector<otlp::LogsRequest> requests;  // destroyed after timing
  auto start = std::chrono::steady_clock::now();
  for (int i = 0; i < 5; ++i) requests.push_back(generator.NextLogs());
  double seconds =
      std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  size_t records = 0;
  for (const auto& logs : requests) {
    for (const auto& rl : logs.resource_logs()) {
      for (const auto& sl : rl.scope_logs()) records += sl.log_records_size();
    }
  }
  EXPECT_EQ(records, 50'000u);
  std::cout << "realistic logs: " << static_cast<int64_t>(records / seconds)
            << " records/s\n";
}

}  // namespace
}  // namespace otap_parquet::generator
