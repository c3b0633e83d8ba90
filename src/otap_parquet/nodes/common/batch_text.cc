// SPDX-License-Identifier: Apache-2.0
#include "otap_parquet/nodes/common/batch_text.h"

#include <algorithm>
#include <initializer_list>
#include <string_view>
#include <utility>
#include <variant>

#include <fmt/format.h>
#include <google/protobuf/descriptor.h>
#include <google/protobuf/message.h>

#include "otap_parquet/otlp/convert.h"
#include "otap_parquet/otlp/otlp_json.h"

namespace otap_parquet::nodes {

namespace {

using google::protobuf::FieldDescriptor;
using google::protobuf::Message;

// Clears the set fields of `message` that are (keep = false) or are not (keep =
// true) among `names`.
void FilterFields(Message* message, std::initializer_list<std::string_view> names,
                  bool keep) {
  const auto* reflection = message->GetReflection();
  std::vector<const FieldDescriptor*> set;
  reflection->ListFields(*message, &set);
  for (const FieldDescriptor* field : set) {
    const bool listed =
        std::find(names.begin(), names.end(), field->name()) != names.end();
    if (listed != keep) reflection->ClearField(message, field);
  }
}

// ItemFields::kSummary of a metric: the name, and the data points (of whichever
// type) without timestamps, exemplars or flags.
void SummarizeMetric(otlp::pb::metrics::Metric* metric) {
  FilterFields(metric,
               {"name", "gauge", "sum", "histogram", "exponential_histogram", "summary"},
               /*keep=*/true);
  const auto* reflection = metric->GetReflection();
  std::vector<const FieldDescriptor*> set;
  reflection->ListFields(*metric, &set);
  for (const FieldDescriptor* field : set) {
    if (field->cpp_type() != FieldDescriptor::CPPTYPE_MESSAGE) continue;
    Message* data = reflection->MutableMessage(metric, field);
    FilterFields(data, {"data_points"}, /*keep=*/true);
    const FieldDescriptor* points = data->GetDescriptor()->FindFieldByName("data_points");
    if (points == nullptr) continue;
    const auto* data_reflection = data->GetReflection();
    for (int i = 0; i < data_reflection->FieldSize(*data, points); ++i) {
      FilterFields(data_reflection->MutableRepeatedMessage(data, points, i),
                   {"start_time_unix_nano", "time_unix_nano", "exemplars", "flags"},
                   /*keep=*/false);
    }
  }
}

}  // namespace

const char* ItemNoun(Signal signal) {
  switch (signal) {
    case Signal::kLogs:
      return "log records";
    case Signal::kTraces:
      return "spans";
    case Signal::kMetrics:
      return "data points";
  }
  return "items";
}

std::string SummarizeBatch(const OtapBatch& batch) {
  std::string tables;
  for (PayloadType type : batch.payload_types()) {
    const auto& rb = batch.Get(type);
    tables += fmt::format("{}{}={}", tables.empty() ? "" : " ", TableName(type),
                          rb ? rb->num_rows() : 0);
  }
  return fmt::format("{} {} in {} root rows; tables: {}", batch.num_items(),
                     ItemNoun(batch.signal()), batch.num_root_rows(), tables);
}

arrow::Result<std::string> BatchToOtlpJson(const OtapBatch& batch) {
  ARROW_ASSIGN_OR_RAISE(auto request, otlp::FromOtap(batch));
  return otlp::ToOtlpJson(request);
}

arrow::Result<std::vector<std::string>> ItemsToOtlpJson(const OtapBatch& batch,
                                                        ItemFields fields) {
  ARROW_ASSIGN_OR_RAISE(auto request, otlp::FromOtap(batch));
  const bool summary = fields == ItemFields::kSummary;
  std::vector<std::string> lines;
  auto append = [&lines](const Message& item, std::string_view what) -> arrow::Status {
    ARROW_ASSIGN_OR_RAISE(auto json, otlp::MessageToOtlpJson(item, what));
    lines.push_back(std::move(json));
    return arrow::Status::OK();
  };
  // Items are copied: trimming must not change the request they came from.
  if (const auto* logs = std::get_if<otlp::LogsRequest>(&request)) {
    for (const auto& resource : logs->resource_logs()) {
      for (const auto& scope : resource.scope_logs()) {
        for (otlp::pb::logs::LogRecord record : scope.log_records()) {
          if (summary) FilterFields(&record, {"body", "attributes"}, /*keep=*/true);
          ARROW_RETURN_NOT_OK(append(record, "log record"));
        }
      }
    }
  } else if (const auto* traces = std::get_if<otlp::TracesRequest>(&request)) {
    for (const auto& resource : traces->resource_spans()) {
      for (const auto& scope : resource.scope_spans()) {
        for (otlp::pb::trace::Span span : scope.spans()) {
          if (summary) {
            FilterFields(&span, {"name", "trace_id", "span_id", "attributes"},
                         /*keep=*/true);
          }
          ARROW_RETURN_NOT_OK(append(span, "span"));
        }
      }
    }
  } else if (const auto* metrics = std::get_if<otlp::MetricsRequest>(&request)) {
    for (const auto& resource : metrics->resource_metrics()) {
      for (const auto& scope : resource.scope_metrics()) {
        for (otlp::pb::metrics::Metric metric : scope.metrics()) {
          if (summary) SummarizeMetric(&metric);
          ARROW_RETURN_NOT_OK(append(metric, "metric"));
        }
      }
    }
  }
  return lines;
}

}  // namespace otap_parquet::nodes
