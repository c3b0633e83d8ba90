// SPDX-License-Identifier: Apache-2.0
#pragma once

#include <cstdint>
#include <optional>
#include <span>
#include <string_view>

namespace otap_parquet {

/// \brief The three OpenTelemetry signals that OTAP carries.
enum class Signal : uint8_t { kLogs = 0, kTraces = 1, kMetrics = 2 };

/// \brief Lower-case signal name: "logs", "traces", "metrics".
std::string_view SignalName(Signal signal);
std::optional<Signal> SignalFromName(std::string_view name);

/// \brief OTAP `ArrowPayloadType` (opentelemetry.proto.experimental.arrow.v1);
/// values are the proto enum numbers.
enum class PayloadType : int32_t {
  kUnknown = 0,
  kResourceAttrs = 1,
  kScopeAttrs = 2,
  kUnivariateMetrics = 10,
  kNumberDataPoints = 11,
  kSummaryDataPoints = 12,
  kHistogramDataPoints = 13,
  kExpHistogramDataPoints = 14,
  kNumberDpAttrs = 15,
  kSummaryDpAttrs = 16,
  kHistogramDpAttrs = 17,
  kExpHistogramDpAttrs = 18,
  kNumberDpExemplars = 19,
  kHistogramDpExemplars = 20,
  kExpHistogramDpExemplars = 21,
  kNumberDpExemplarAttrs = 22,
  kHistogramDpExemplarAttrs = 23,
  kExpHistogramDpExemplarAttrs = 24,
  kMultivariateMetrics = 25,
  kMetricAttrs = 26,
  kLogs = 30,
  kLogAttrs = 31,
  kSpans = 40,
  kSpanAttrs = 41,
  kSpanEvents = 42,
  kSpanLinks = 43,
  kSpanEventAttrs = 44,
  kSpanLinkAttrs = 45,
};

/// One past the largest PayloadType value: size of arrays indexed by payload type.
constexpr int kPayloadTypeSlots = 46;

/// \brief Table (directory) name: the proto enum name in lower case, as upstream's
/// parquet exporter names its directories ("logs", "log_attrs", ...).
std::string_view TableName(PayloadType type);
std::optional<PayloadType> PayloadTypeFromTableName(std::string_view name);

/// \brief The root payload type of a signal (LOGS, SPANS, UNIVARIATE_METRICS).
PayloadType RootPayloadType(Signal signal);
bool IsRoot(PayloadType type);

/// \brief Every payload type a signal uses, root first, each parent before its
/// children (resource and scope attributes included).
std::span<const PayloadType> PayloadTypesOf(Signal signal);

/// \brief Whether `type` is an attribute table (key/type/str/int/... columns).
bool IsAttributes(PayloadType type);
/// \brief Attribute tables whose `parent_id` is UInt16 (the others use UInt32).
bool IsAttributes16(PayloadType type);

/// \brief The table whose `id` a child's `parent_id` refers to. For resource and
/// scope attributes it is the root table (its `resource.id` / `scope.id` struct
/// field), for a root it is nullopt.
std::optional<PayloadType> ParentOf(PayloadType type, Signal signal);

}  // namespace otap_parquet
