// SPDX-License-Identifier: Apache-2.0
#include "otap_parquet/schema/payload_type.h"

#include <array>
#include <string>

namespace otap_parquet {

namespace {

using PT = PayloadType;

constexpr std::array<PT, 4> kLogsTypes = {PT::kLogs, PT::kLogAttrs, PT::kResourceAttrs,
                                          PT::kScopeAttrs};
constexpr std::array<PT, 8> kTracesTypes = {
    PT::kSpans,          PT::kSpanAttrs,     PT::kSpanEvents,    PT::kSpanLinks,
    PT::kSpanEventAttrs, PT::kSpanLinkAttrs, PT::kResourceAttrs, PT::kScopeAttrs};
constexpr std::array<PT, 19> kMetricsTypes = {PT::kUnivariateMetrics,
                                              PT::kMetricAttrs,
                                              PT::kNumberDataPoints,
                                              PT::kSummaryDataPoints,
                                              PT::kHistogramDataPoints,
                                              PT::kExpHistogramDataPoints,
                                              PT::kNumberDpAttrs,
                                              PT::kSummaryDpAttrs,
                                              PT::kHistogramDpAttrs,
                                              PT::kExpHistogramDpAttrs,
                                              PT::kNumberDpExemplars,
                                              PT::kHistogramDpExemplars,
                                              PT::kExpHistogramDpExemplars,
                                              PT::kNumberDpExemplarAttrs,
                                              PT::kHistogramDpExemplarAttrs,
                                              PT::kExpHistogramDpExemplarAttrs,
                                              PT::kResourceAttrs,
                                              PT::kScopeAttrs,
                                              PT::kMultivariateMetrics};

struct NameEntry {
  PT type;
  std::string_view name;
};

constexpr std::array<NameEntry, 28> kNames = {{
    {PT::kResourceAttrs, "resource_attrs"},
    {PT::kScopeAttrs, "scope_attrs"},
    {PT::kUnivariateMetrics, "univariate_metrics"},
    {PT::kNumberDataPoints, "number_data_points"},
    {PT::kSummaryDataPoints, "summary_data_points"},
    {PT::kHistogramDataPoints, "histogram_data_points"},
    {PT::kExpHistogramDataPoints, "exp_histogram_data_points"},
    {PT::kNumberDpAttrs, "number_dp_attrs"},
    {PT::kSummaryDpAttrs, "summary_dp_attrs"},
    {PT::kHistogramDpAttrs, "histogram_dp_attrs"},
    {PT::kExpHistogramDpAttrs, "exp_histogram_dp_attrs"},
    {PT::kNumberDpExemplars, "number_dp_exemplars"},
    {PT::kHistogramDpExemplars, "histogram_dp_exemplars"},
    {PT::kExpHistogramDpExemplars, "exp_histogram_dp_exemplars"},
    {PT::kNumberDpExemplarAttrs, "number_dp_exemplar_attrs"},
    {PT::kHistogramDpExemplarAttrs, "histogram_dp_exemplar_attrs"},
    {PT::kExpHistogramDpExemplarAttrs, "exp_histogram_dp_exemplar_attrs"},
    {PT::kMultivariateMetrics, "multivariate_metrics"},
    {PT::kMetricAttrs, "metric_attrs"},
    {PT::kLogs, "logs"},
    {PT::kLogAttrs, "log_attrs"},
    {PT::kSpans, "spans"},
    {PT::kSpanAttrs, "span_attrs"},
    {PT::kSpanEvents, "span_events"},
    {PT::kSpanLinks, "span_links"},
    {PT::kSpanEventAttrs, "span_event_attrs"},
    {PT::kSpanLinkAttrs, "span_link_attrs"},
    {PT::kUnknown, "unknown"},
}};

}  // namespace

std::string_view SignalName(Signal signal) {
  switch (signal) {
    case Signal::kLogs:
      return "logs";
    case Signal::kTraces:
      return "traces";
    case Signal::kMetrics:
      return "metrics";
  }
  return "unknown";
}

std::optional<Signal> SignalFromName(std::string_view name) {
  if (name == "logs") return Signal::kLogs;
  if (name == "traces" || name == "spans") return Signal::kTraces;
  if (name == "metrics") return Signal::kMetrics;
  return std::nullopt;
}

std::string_view TableName(PayloadType type) {
  for (const auto& entry : kNames) {
    if (entry.type == type) return entry.name;
  }
  return "unknown";
}

std::optional<PayloadType> PayloadTypeFromTableName(std::string_view name) {
  for (const auto& entry : kNames) {
    if (entry.name == name && entry.type != PT::kUnknown) return entry.type;
  }
  return std::nullopt;
}

PayloadType RootPayloadType(Signal signal) {
  switch (signal) {
    case Signal::kLogs:
      return PT::kLogs;
    case Signal::kTraces:
      return PT::kSpans;
    case Signal::kMetrics:
      return PT::kUnivariateMetrics;
  }
  return PT::kUnknown;
}

bool IsRoot(PayloadType type) {
  return type == PT::kLogs || type == PT::kSpans || type == PT::kUnivariateMetrics ||
         type == PT::kMultivariateMetrics;
}

std::span<const PayloadType> PayloadTypesOf(Signal signal) {
  switch (signal) {
    case Signal::kLogs:
      return kLogsTypes;
    case Signal::kTraces:
      return kTracesTypes;
    case Signal::kMetrics:
      return kMetricsTypes;
  }
  return {};
}

bool IsAttributes16(PayloadType type) {
  return type == PT::kResourceAttrs || type == PT::kScopeAttrs || type == PT::kLogAttrs ||
         type == PT::kSpanAttrs || type == PT::kMetricAttrs;
}

bool IsAttributes(PayloadType type) {
  switch (type) {
    case PT::kSpanEventAttrs:
    case PT::kSpanLinkAttrs:
    case PT::kNumberDpAttrs:
    case PT::kSummaryDpAttrs:
    case PT::kHistogramDpAttrs:
    case PT::kExpHistogramDpAttrs:
    case PT::kNumberDpExemplarAttrs:
    case PT::kHistogramDpExemplarAttrs:
    case PT::kExpHistogramDpExemplarAttrs:
      return true;
    default:
      return IsAttributes16(type);
  }
}

std::optional<PayloadType> ParentOf(PayloadType type, Signal signal) {
  switch (type) {
    case PT::kResourceAttrs:
    case PT::kScopeAttrs:
      return RootPayloadType(signal);
    case PT::kLogAttrs:
      return PT::kLogs;
    case PT::kSpanAttrs:
    case PT::kSpanEvents:
    case PT::kSpanLinks:
      return PT::kSpans;
    case PT::kSpanEventAttrs:
      return PT::kSpanEvents;
    case PT::kSpanLinkAttrs:
      return PT::kSpanLinks;
    case PT::kMetricAttrs:
    case PT::kNumberDataPoints:
    case PT::kSummaryDataPoints:
    case PT::kHistogramDataPoints:
    case PT::kExpHistogramDataPoints:
      return PT::kUnivariateMetrics;
    case PT::kNumberDpAttrs:
    case PT::kNumberDpExemplars:
      return PT::kNumberDataPoints;
    case PT::kSummaryDpAttrs:
      return PT::kSummaryDataPoints;
    case PT::kHistogramDpAttrs:
    case PT::kHistogramDpExemplars:
      return PT::kHistogramDataPoints;
    case PT::kExpHistogramDpAttrs:
    case PT::kExpHistogramDpExemplars:
      return PT::kExpHistogramDataPoints;
    case PT::kNumberDpExemplarAttrs:
      return PT::kNumberDpExemplars;
    case PT::kHistogramDpExemplarAttrs:
      return PT::kHistogramDpExemplars;
    case PT::kExpHistogramDpExemplarAttrs:
      return PT::kExpHistogramDpExemplars;
    default:
      return std::nullopt;
  }
}

}  // namespace otap_parquet
