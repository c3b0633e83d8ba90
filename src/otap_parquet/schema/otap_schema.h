// SPDX-License-Identifier: Apache-2.0
#pragma once

#include <memory>

#include <arrow/type_fwd.h>

#include "otap_parquet/schema/payload_type.h"

/// \file
/// The canonical Arrow schema of every OTAP payload type: the one in-memory form of
/// an OtapBatch throughout otap-parquet. Column names, order and value types follow
/// upstream's OTAP spec and exporter templates (shared/docs/otap-parquet-format.md
/// §7); columns are native (never dictionary encoded) and ids are plain (not
/// transport encoded). The four columns upstream's exporter drops (spans.flags,
/// span_links.flags, univariate_metrics.is_monotonic,
/// exp_histogram_data_points.zero_threshold) are part of the schema, appended last.

namespace otap_parquet::schema {

// Column names (upstream consts.rs).
inline constexpr char kId[] = "id";
inline constexpr char kParentId[] = "parent_id";
inline constexpr char kResource[] = "resource";
inline constexpr char kScope[] = "scope";
inline constexpr char kSchemaUrl[] = "schema_url";
inline constexpr char kName[] = "name";
inline constexpr char kVersion[] = "version";
inline constexpr char kDroppedAttributesCount[] = "dropped_attributes_count";
inline constexpr char kDroppedEventsCount[] = "dropped_events_count";
inline constexpr char kDroppedLinksCount[] = "dropped_links_count";
inline constexpr char kTimeUnixNano[] = "time_unix_nano";
inline constexpr char kStartTimeUnixNano[] = "start_time_unix_nano";
inline constexpr char kObservedTimeUnixNano[] = "observed_time_unix_nano";
inline constexpr char kDurationTimeUnixNano[] = "duration_time_unix_nano";
inline constexpr char kTraceId[] = "trace_id";
inline constexpr char kSpanId[] = "span_id";
inline constexpr char kParentSpanId[] = "parent_span_id";
inline constexpr char kTraceState[] = "trace_state";
inline constexpr char kSeverityNumber[] = "severity_number";
inline constexpr char kSeverityText[] = "severity_text";
inline constexpr char kBody[] = "body";
inline constexpr char kEventName[] = "event_name";
inline constexpr char kFlags[] = "flags";
inline constexpr char kKind[] = "kind";
inline constexpr char kStatus[] = "status";
inline constexpr char kStatusCode[] = "code";
inline constexpr char kStatusMessage[] = "status_message";
inline constexpr char kMetricType[] = "metric_type";
inline constexpr char kDescription[] = "description";
inline constexpr char kUnit[] = "unit";
inline constexpr char kAggregationTemporality[] = "aggregation_temporality";
inline constexpr char kIsMonotonic[] = "is_monotonic";
inline constexpr char kIntValue[] = "int_value";
inline constexpr char kDoubleValue[] = "double_value";
inline constexpr char kCount[] = "count";
inline constexpr char kSum[] = "sum";
inline constexpr char kQuantile[] = "quantile";
inline constexpr char kValue[] = "value";
inline constexpr char kBucketCounts[] = "bucket_counts";
inline constexpr char kExplicitBounds[] = "explicit_bounds";
inline constexpr char kMin[] = "min";
inline constexpr char kMax[] = "max";
inline constexpr char kScale[] = "scale";
inline constexpr char kZeroCount[] = "zero_count";
inline constexpr char kZeroThreshold[] = "zero_threshold";
inline constexpr char kPositive[] = "positive";
inline constexpr char kNegative[] = "negative";
inline constexpr char kOffset[] = "offset";
// Attribute / AnyValue columns.
inline constexpr char kKey[] = "key";
inline constexpr char kType[] = "type";
inline constexpr char kStr[] = "str";
inline constexpr char kInt[] = "int";
inline constexpr char kDouble[] = "double";
inline constexpr char kBool[] = "bool";
inline constexpr char kBytes[] = "bytes";
inline constexpr char kSer[] = "ser";

/// Root-table schema metadata key naming the id space of a Parquet partition.
inline constexpr char kPartIdMetadataKey[] = "_part_id";

/// \brief OTAP AnyValue type codes (the `type` column of attribute tables and of
/// `logs.body`): the numbering of upstream's code and Go, not spec §5.4 (quirk Q11).
enum class AnyValueType : uint8_t {
  kEmpty = 0,
  kStr = 1,
  kInt = 2,
  kDouble = 3,
  kBool = 4,
  kMap = 5,
  kSlice = 6,
  kBytes = 7,
};

/// \brief OTAP `metric_type` codes (same numbering as pmetric.MetricType).
enum class MetricType : uint8_t {
  kEmpty = 0,
  kGauge = 1,
  kSum = 2,
  kHistogram = 3,
  kExponentialHistogram = 4,
  kSummary = 5,
};

/// \brief The canonical schema of a payload type (never null; an empty schema for
/// kUnknown and kMultivariateMetrics).
const std::shared_ptr<arrow::Schema>& CanonicalSchema(PayloadType type);

/// \brief Type of the `id` column of a payload type (UInt16 for roots, UInt32 for
/// span events/links, data points and exemplars), or null if it has none.
std::shared_ptr<arrow::DataType> IdType(PayloadType type);
/// \brief Type of the `parent_id` column, or null for root tables.
std::shared_ptr<arrow::DataType> ParentIdType(PayloadType type);

// Shared field types.
const std::shared_ptr<arrow::DataType>& ResourceType();
const std::shared_ptr<arrow::DataType>& ScopeType();
const std::shared_ptr<arrow::DataType>& AnyValueStructType();
const std::shared_ptr<arrow::DataType>& TimestampType();
const std::shared_ptr<arrow::DataType>& DurationType();
const std::shared_ptr<arrow::DataType>& TraceIdType();
const std::shared_ptr<arrow::DataType>& SpanIdType();

}  // namespace otap_parquet::schema
