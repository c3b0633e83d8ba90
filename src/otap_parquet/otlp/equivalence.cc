// SPDX-License-Identifier: Apache-2.0
#include "otap_parquet/otlp/equivalence.h"

#include <algorithm>
#include <array>
#include <cstdint>
#include <sstream>
#include <string_view>
#include <utility>

#include <google/protobuf/io/coded_stream.h>
#include <google/protobuf/io/zero_copy_stream_impl_lite.h>
#include <google/protobuf/repeated_ptr_field.h>
#include <google/protobuf/text_format.h>

namespace otap_parquet::otlp {

namespace {

using google::protobuf::RepeatedPtrField;

// ---------------------------------------------------------------------------
// Deterministic serialization and raw wire helpers.

std::string SerializeDeterministic(const google::protobuf::MessageLite& message) {
  std::string out;
  {
    google::protobuf::io::StringOutputStream stream(&out);
    google::protobuf::io::CodedOutputStream coded(&stream);
    coded.SetSerializationDeterministic(true);
    message.SerializeToCodedStream(&coded);
  }
  return out;
}

void AppendVarint(std::string* out, uint64_t value) {
  while (value >= 0x80) {
    out->push_back(static_cast<char>((value & 0x7f) | 0x80));
    value >>= 7;
  }
  out->push_back(static_cast<char>(value));
}

// Appends a length-delimited field (wire type 2). Items are assembled from
// canonical pieces this way so a resource or scope is serialized once, not once
// per item; the result parses as the wrapper message.
void AppendLenField(std::string* out, int field_number, std::string_view bytes) {
  AppendVarint(out, (static_cast<uint64_t>(field_number) << 3) | 2);
  AppendVarint(out, bytes.size());
  out->append(bytes);
}

std::string LenField(int field_number, std::string_view bytes) {
  std::string out;
  AppendLenField(&out, field_number, bytes);
  return out;
}

// ---------------------------------------------------------------------------
// Canonicalization (in place, on copies).

void CanonAnyValue(pb::common::AnyValue* value);

void CanonKeyValues(RepeatedPtrField<pb::common::KeyValue>* kvs) {
  for (auto& kv : *kvs) {
    // A KeyValue without value equals one with an empty AnyValue.
    CanonAnyValue(kv.mutable_value());
  }
  if (kvs->size() < 2) return;
  std::stable_sort(kvs->pointer_begin(), kvs->pointer_end(),
                   [](const pb::common::KeyValue* a, const pb::common::KeyValue* b) {
                     if (a->key() != b->key()) return a->key() < b->key();
                     // Duplicate keys (invalid OTLP, but possible): order by value.
                     return SerializeDeterministic(a->value()) <
                            SerializeDeterministic(b->value());
                   });
}

void CanonAnyValue(pb::common::AnyValue* value) {
  switch (value->value_case()) {
    case pb::common::AnyValue::kKvlistValue:
      CanonKeyValues(value->mutable_kvlist_value()->mutable_values());
      break;
    case pb::common::AnyValue::kArrayValue:
      // Array elements keep their order.
      for (auto& element : *value->mutable_array_value()->mutable_values()) {
        CanonAnyValue(&element);
      }
      break;
    default:
      break;
  }
}

// Sorts already-canonical elements by their serialized bytes: a multiset.
template <typename T>
void SortAsMultiset(RepeatedPtrField<T>* elements) {
  if (elements->size() < 2) return;
  std::vector<std::pair<std::string, T*>> keyed;
  keyed.reserve(elements->size());
  for (auto it = elements->pointer_begin(); it != elements->pointer_end(); ++it) {
    keyed.emplace_back(SerializeDeterministic(**it), *it);
  }
  std::stable_sort(keyed.begin(), keyed.end(),
                   [](const auto& a, const auto& b) { return a.first < b.first; });
  auto it = elements->pointer_begin();
  for (auto& entry : keyed) *it++ = entry.second;
}

void CanonResource(pb::resource::Resource* resource) {
  // entity_refs are ignored: OTAP does not carry them.
  resource->clear_entity_refs();
  CanonKeyValues(resource->mutable_attributes());
}

void CanonScope(pb::common::InstrumentationScope* scope) {
  CanonKeyValues(scope->mutable_attributes());
}

void CanonLogRecord(pb::logs::LogRecord* record) {
  // An absent body equals an empty AnyValue body (OTAP writes Empty as null).
  CanonAnyValue(record->mutable_body());
  CanonKeyValues(record->mutable_attributes());
}

void CanonSpan(pb::trace::Span* span) {
  CanonKeyValues(span->mutable_attributes());
  for (auto& event : *span->mutable_events()) {
    CanonKeyValues(event.mutable_attributes());
  }
  SortAsMultiset(span->mutable_events());
  for (auto& link : *span->mutable_links()) {
    CanonKeyValues(link.mutable_attributes());
  }
  SortAsMultiset(span->mutable_links());
  // An absent status equals UNSET with an empty message.
  span->mutable_status();
}

void CanonExemplars(RepeatedPtrField<pb::metrics::Exemplar>* exemplars) {
  for (auto& exemplar : *exemplars) {
    CanonKeyValues(exemplar.mutable_filtered_attributes());
  }
  SortAsMultiset(exemplars);
}

void CanonDataPoint(pb::metrics::NumberDataPoint* dp) {
  CanonKeyValues(dp->mutable_attributes());
  CanonExemplars(dp->mutable_exemplars());
}

void CanonDataPoint(pb::metrics::HistogramDataPoint* dp) {
  CanonKeyValues(dp->mutable_attributes());
  CanonExemplars(dp->mutable_exemplars());
}

void CanonDataPoint(pb::metrics::ExponentialHistogramDataPoint* dp) {
  CanonKeyValues(dp->mutable_attributes());
  CanonExemplars(dp->mutable_exemplars());
  // Absent buckets equal empty buckets.
  dp->mutable_positive();
  dp->mutable_negative();
}

void CanonDataPoint(pb::metrics::SummaryDataPoint* dp) {
  // quantile_values keep their order.
  CanonKeyValues(dp->mutable_attributes());
}

// ---------------------------------------------------------------------------
// Flattening.

// Field numbers shared by the three signals' wrappers (ResourceX / ScopeX).
static_assert(pb::logs::ResourceLogs::kResourceFieldNumber == 1);
static_assert(pb::logs::ResourceLogs::kScopeLogsFieldNumber == 2);
static_assert(pb::logs::ResourceLogs::kSchemaUrlFieldNumber == 3);
static_assert(pb::logs::ScopeLogs::kScopeFieldNumber == 1);
static_assert(pb::logs::ScopeLogs::kLogRecordsFieldNumber == 2);
static_assert(pb::logs::ScopeLogs::kSchemaUrlFieldNumber == 3);
static_assert(pb::trace::ResourceSpans::kScopeSpansFieldNumber == 2);
static_assert(pb::trace::ResourceSpans::kSchemaUrlFieldNumber == 3);
static_assert(pb::trace::ScopeSpans::kSpansFieldNumber == 2);
static_assert(pb::trace::ScopeSpans::kSchemaUrlFieldNumber == 3);
static_assert(pb::metrics::ResourceMetrics::kScopeMetricsFieldNumber == 2);
static_assert(pb::metrics::ResourceMetrics::kSchemaUrlFieldNumber == 3);
static_assert(pb::metrics::ScopeMetrics::kMetricsFieldNumber == 2);
static_assert(pb::metrics::ScopeMetrics::kSchemaUrlFieldNumber == 3);
constexpr int kWrapperResourceField = 1;
constexpr int kWrapperScopeField = 1;
constexpr int kWrapperItemsField = 2;
constexpr int kWrapperSchemaUrlField = 3;

std::string ResourceBytes(const pb::resource::Resource& resource) {
  pb::resource::Resource copy = resource;
  CanonResource(&copy);
  return SerializeDeterministic(copy);
}

std::string ScopeBytes(const pb::common::InstrumentationScope& scope) {
  pb::common::InstrumentationScope copy = scope;
  CanonScope(&copy);
  return SerializeDeterministic(copy);
}

// Builds items for one resource: resource bytes, then for each non-empty scope
// the scope prefix and one item per element.
class ItemSink {
 public:
  explicit ItemSink(std::vector<std::string>* out) : out_(out) {}

  void BeginResource(const pb::resource::Resource& resource,
                     const std::string& schema_url) {
    resource_field_ = LenField(kWrapperResourceField, ResourceBytes(resource));
    resource_schema_url_field_.clear();
    if (!schema_url.empty()) {
      AppendLenField(&resource_schema_url_field_, kWrapperSchemaUrlField, schema_url);
    }
  }

  void BeginScope(const pb::common::InstrumentationScope& scope,
                  const std::string& schema_url) {
    scope_field_ = LenField(kWrapperScopeField, ScopeBytes(scope));
    scope_schema_url_field_.clear();
    if (!schema_url.empty()) {
      AppendLenField(&scope_schema_url_field_, kWrapperSchemaUrlField, schema_url);
    }
  }

  // `item_field` is the complete encoding of the ScopeX items field (one item).
  void Add(std::string_view item_field) {
    std::string scope_x = scope_field_;
    scope_x.append(item_field);
    scope_x.append(scope_schema_url_field_);
    std::string key = resource_field_;
    AppendLenField(&key, kWrapperItemsField, scope_x);
    key.append(resource_schema_url_field_);
    out_->push_back(std::move(key));
  }

 private:
  std::vector<std::string>* out_;
  std::string resource_field_;
  std::string resource_schema_url_field_;
  std::string scope_field_;
  std::string scope_schema_url_field_;
};

void FlattenLogs(const LogsRequest& request, std::vector<std::string>* out) {
  ItemSink sink(out);
  for (const auto& rl : request.resource_logs()) {
    bool resource_started = false;
    for (const auto& sl : rl.scope_logs()) {
      if (sl.log_records_size() == 0) continue;  // carries no telemetry
      if (!resource_started) {
        sink.BeginResource(rl.resource(), rl.schema_url());
        resource_started = true;
      }
      sink.BeginScope(sl.scope(), sl.schema_url());
      for (const auto& record : sl.log_records()) {
        pb::logs::LogRecord copy = record;
        CanonLogRecord(&copy);
        sink.Add(LenField(kWrapperItemsField, SerializeDeterministic(copy)));
      }
    }
  }
}

void FlattenTraces(const TracesRequest& request, std::vector<std::string>* out) {
  ItemSink sink(out);
  for (const auto& rs : request.resource_spans()) {
    bool resource_started = false;
    for (const auto& ss : rs.scope_spans()) {
      if (ss.spans_size() == 0) continue;
      if (!resource_started) {
        sink.BeginResource(rs.resource(), rs.schema_url());
        resource_started = true;
      }
      sink.BeginScope(ss.scope(), ss.schema_url());
      for (const auto& span : ss.spans()) {
        pb::trace::Span copy = span;
        CanonSpan(&copy);
        sink.Add(LenField(kWrapperItemsField, SerializeDeterministic(copy)));
      }
    }
  }
}

// Appends one item per data point: the canonical header (the Metric with its
// data points removed) followed by a second occurrence of the data field that
// holds the single point. Parsing merges the two occurrences into one Metric.
template <typename Points>
void AddPoints(ItemSink* sink, const std::string& header, int data_field,
               const Points& points) {
  constexpr int kDataPointsField = 1;  // Gauge/Sum/Histogram/ExpHist/Summary
  for (const auto& point : points) {
    auto copy = point;
    CanonDataPoint(&copy);
    std::string metric = header;
    AppendLenField(&metric, data_field,
                   LenField(kDataPointsField, SerializeDeterministic(copy)));
    sink->Add(LenField(kWrapperItemsField, metric));
  }
}

void FlattenMetric(const pb::metrics::Metric& metric, ItemSink* sink) {
  static_assert(pb::metrics::Gauge::kDataPointsFieldNumber == 1);
  static_assert(pb::metrics::Sum::kDataPointsFieldNumber == 1);
  static_assert(pb::metrics::Histogram::kDataPointsFieldNumber == 1);
  static_assert(pb::metrics::ExponentialHistogram::kDataPointsFieldNumber == 1);
  static_assert(pb::metrics::Summary::kDataPointsFieldNumber == 1);
  using M = pb::metrics::Metric;

  // Copy the header without the data points (they may be many).
  M header;
  header.set_name(metric.name());
  header.set_description(metric.description());
  header.set_unit(metric.unit());
  *header.mutable_metadata() = metric.metadata();
  CanonKeyValues(header.mutable_metadata());
  int points = 0;
  switch (metric.data_case()) {
    case M::kGauge:
      header.mutable_gauge();
      points = metric.gauge().data_points_size();
      break;
    case M::kSum:
      header.mutable_sum()->set_aggregation_temporality(
          metric.sum().aggregation_temporality());
      header.mutable_sum()->set_is_monotonic(metric.sum().is_monotonic());
      points = metric.sum().data_points_size();
      break;
    case M::kHistogram:
      header.mutable_histogram()->set_aggregation_temporality(
          metric.histogram().aggregation_temporality());
      points = metric.histogram().data_points_size();
      break;
    case M::kExponentialHistogram:
      header.mutable_exponential_histogram()->set_aggregation_temporality(
          metric.exponential_histogram().aggregation_temporality());
      points = metric.exponential_histogram().data_points_size();
      break;
    case M::kSummary:
      header.mutable_summary();
      points = metric.summary().data_points_size();
      break;
    case M::DATA_NOT_SET:
      break;
  }
  std::string header_bytes = SerializeDeterministic(header);
  if (points == 0) {
    // A metric without data points is still one item (its header).
    sink->Add(LenField(kWrapperItemsField, header_bytes));
    return;
  }
  switch (metric.data_case()) {
    case M::kGauge:
      AddPoints(sink, header_bytes, M::kGaugeFieldNumber, metric.gauge().data_points());
      break;
    case M::kSum:
      AddPoints(sink, header_bytes, M::kSumFieldNumber, metric.sum().data_points());
      break;
    case M::kHistogram:
      AddPoints(sink, header_bytes, M::kHistogramFieldNumber,
                metric.histogram().data_points());
      break;
    case M::kExponentialHistogram:
      AddPoints(sink, header_bytes, M::kExponentialHistogramFieldNumber,
                metric.exponential_histogram().data_points());
      break;
    case M::kSummary:
      AddPoints(sink, header_bytes, M::kSummaryFieldNumber,
                metric.summary().data_points());
      break;
    case M::DATA_NOT_SET:
      break;
  }
}

void FlattenMetrics(const MetricsRequest& request, std::vector<std::string>* out) {
  ItemSink sink(out);
  for (const auto& rm : request.resource_metrics()) {
    bool resource_started = false;
    for (const auto& sm : rm.scope_metrics()) {
      if (sm.metrics_size() == 0) continue;
      if (!resource_started) {
        sink.BeginResource(rm.resource(), rm.schema_url());
        resource_started = true;
      }
      sink.BeginScope(sm.scope(), sm.schema_url());
      for (const auto& metric : sm.metrics()) FlattenMetric(metric, &sink);
    }
  }
}

// ---------------------------------------------------------------------------
// Reporting.

class HexBytesPrinter : public google::protobuf::TextFormat::FastFieldValuePrinter {
 public:
  void PrintBytes(
      const std::string& value,
      google::protobuf::TextFormat::BaseTextGenerator* generator) const override {
    static constexpr char kDigits[] = "0123456789abcdef";
    std::string hex = "\"";
    for (unsigned char c : value) {
      hex.push_back(kDigits[c >> 4]);
      hex.push_back(kDigits[c & 0xf]);
    }
    hex.push_back('"');
    generator->PrintString(hex);
  }
};

const google::protobuf::TextFormat::Printer& ItemPrinter() {
  static const google::protobuf::TextFormat::Printer* printer = [] {
    auto* p = new google::protobuf::TextFormat::Printer();
    p->SetSingleLineMode(true);
    p->SetUseUtf8StringEscaping(true);
    const google::protobuf::Descriptor* with_ids[] = {
        pb::logs::LogRecord::descriptor(), pb::trace::Span::descriptor(),
        pb::trace::Span::Link::descriptor(), pb::metrics::Exemplar::descriptor()};
    for (const auto* descriptor : with_ids) {
      for (const char* name : {"trace_id", "span_id", "parent_span_id"}) {
        if (const auto* field = descriptor->FindFieldByName(name)) {
          // The printer takes ownership.
          p->RegisterFieldValuePrinter(field, new HexBytesPrinter());
        }
      }
    }
    return p;
  }();
  return *printer;
}

std::string PrintItem(const google::protobuf::Message& message) {
  constexpr size_t kMaxChars = 4000;
  std::string text;
  ItemPrinter().PrintToString(message, &text);
  while (!text.empty() && text.back() == ' ') text.pop_back();
  if (text.size() > kMaxChars) {
    size_t more = text.size() - kMaxChars;
    text.resize(kMaxChars);
    text += "... (" + std::to_string(more) + " more chars)";
  }
  return text;
}

std::vector<std::string> Flatten(std::span<const OtlpRequest> requests, Signal signal) {
  std::vector<std::string> items;
  for (const auto& request : requests) {
    if (SignalOf(request) != signal) continue;
    switch (signal) {
      case Signal::kLogs:
        FlattenLogs(std::get<LogsRequest>(request), &items);
        break;
      case Signal::kTraces:
        FlattenTraces(std::get<TracesRequest>(request), &items);
        break;
      case Signal::kMetrics:
        FlattenMetrics(std::get<MetricsRequest>(request), &items);
        break;
    }
  }
  std::sort(items.begin(), items.end());
  return items;
}

}  // namespace

std::vector<std::string> CanonicalItems(std::span<const OtlpRequest> requests,
                                        Signal signal) {
  return Flatten(requests, signal);
}

std::string DescribeCanonicalItem(Signal signal, const std::string& item) {
  auto describe = [&](auto message) {
    if (!message.ParseFromString(item)) return std::string("<unparseable item>");
    return PrintItem(message);
  };
  switch (signal) {
    case Signal::kLogs:
      return describe(pb::logs::ResourceLogs());
    case Signal::kTraces:
      return describe(pb::trace::ResourceSpans());
    case Signal::kMetrics:
      return describe(pb::metrics::ResourceMetrics());
  }
  return "<unknown signal>";
}

arrow::Status CheckEquivalent(std::span<const OtlpRequest> expected,
                              std::span<const OtlpRequest> actual,
                              const EquivalenceOptions& options) {
  std::ostringstream report;
  bool equivalent = true;
  for (Signal signal : {Signal::kLogs, Signal::kTraces, Signal::kMetrics}) {
    std::vector<std::string> want = Flatten(expected, signal);
    std::vector<std::string> got = Flatten(actual, signal);
    // Multiset difference of two sorted vectors.
    std::vector<const std::string*> only_expected;
    std::vector<const std::string*> only_actual;
    size_t i = 0;
    size_t j = 0;
    while (i < want.size() || j < got.size()) {
      if (j == got.size() || (i < want.size() && want[i] < got[j])) {
        only_expected.push_back(&want[i++]);
      } else if (i == want.size() || got[j] < want[i]) {
        only_actual.push_back(&got[j++]);
      } else {
        ++i;
        ++j;
      }
    }
    if (want.empty() && got.empty()) continue;
    report << "\n  " << SignalName(signal) << ": expected " << want.size()
           << " items, actual " << got.size() << " items";
    if (only_expected.empty() && only_actual.empty()) {
      report << " (equivalent)";
      continue;
    }
    equivalent = false;
    report << " (" << only_expected.size() << " only in expected, " << only_actual.size()
           << " only in actual)";
    auto print = [&](const char* label, const std::vector<const std::string*>& items) {
      size_t shown = std::min(
          items.size(), static_cast<size_t>(std::max(options.max_reported_items, 0)));
      for (size_t k = 0; k < shown; ++k) {
        report << "\n    " << label << ": " << DescribeCanonicalItem(signal, *items[k]);
      }
      if (items.size() > shown) {
        report << "\n    ... and " << (items.size() - shown) << " more " << label;
      }
    };
    print("only in expected", only_expected);
    print("only in actual", only_actual);
  }
  if (equivalent) return arrow::Status::OK();
  return arrow::Status::Invalid("OTLP telemetry is not equivalent (", expected.size(),
                                " expected requests, ", actual.size(),
                                " actual requests):", report.str());
}

arrow::Status CheckEquivalent(const OtlpRequest& expected, const OtlpRequest& actual,
                              const EquivalenceOptions& options) {
  return CheckEquivalent(std::span<const OtlpRequest>(&expected, 1),
                         std::span<const OtlpRequest>(&actual, 1), options);
}

void DropUpstreamParquetLosses(std::span<OtlpRequest> requests) {
  for (auto& request : requests) {
    if (auto* traces = std::get_if<TracesRequest>(&request)) {
      for (auto& rs : *traces->mutable_resource_spans()) {
        for (auto& ss : *rs.mutable_scope_spans()) {
          for (auto& span : *ss.mutable_spans()) {
            span.clear_flags();
            if (span.end_time_unix_nano() == 0)
              span.set_end_time_unix_nano(span.start_time_unix_nano());
            for (auto& link : *span.mutable_links()) link.clear_flags();
          }
        }
      }
    } else if (auto* metrics = std::get_if<MetricsRequest>(&request)) {
      for (auto& rm : *metrics->mutable_resource_metrics()) {
        for (auto& sm : *rm.mutable_scope_metrics()) {
          for (auto& metric : *sm.mutable_metrics()) {
            if (metric.has_sum()) metric.mutable_sum()->clear_is_monotonic();
            if (metric.has_exponential_histogram()) {
              for (auto& point :
                   *metric.mutable_exponential_histogram()->mutable_data_points())
                point.clear_zero_threshold();
            }
          }
        }
      }
    }
  }
}

}  // namespace otap_parquet::otlp
