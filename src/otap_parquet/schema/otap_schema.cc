// SPDX-License-Identifier: Apache-2.0
#include "otap_parquet/schema/otap_schema.h"

#include <array>

#include <arrow/api.h>

namespace otap_parquet::schema {

namespace {

using arrow::field;
using PT = PayloadType;

std::shared_ptr<arrow::Field> Nullable(const std::string& name,
                                       std::shared_ptr<arrow::DataType> type) {
  return field(name, std::move(type), /*nullable=*/true);
}
std::shared_ptr<arrow::Field> Required(const std::string& name,
                                       std::shared_ptr<arrow::DataType> type) {
  return field(name, std::move(type), /*nullable=*/false);
}

std::shared_ptr<arrow::DataType> MakeResourceType() {
  return arrow::struct_({Nullable(kId, arrow::uint16()),
                         Nullable(kSchemaUrl, arrow::utf8()),
                         Nullable(kDroppedAttributesCount, arrow::uint32())});
}

std::shared_ptr<arrow::DataType> MakeScopeType() {
  return arrow::struct_({Nullable(kId, arrow::uint16()), Nullable(kName, arrow::utf8()),
                         Nullable(kVersion, arrow::utf8()),
                         Nullable(kDroppedAttributesCount, arrow::uint32())});
}

std::shared_ptr<arrow::DataType> MakeAnyValueType() {
  return arrow::struct_(
      {Required(kType, arrow::uint8()), Nullable(kStr, arrow::utf8()),
       Nullable(kInt, arrow::int64()), Nullable(kDouble, arrow::float64()),
       Nullable(kBool, arrow::boolean()), Nullable(kBytes, arrow::binary()),
       Nullable(kSer, arrow::binary())});
}

std::shared_ptr<arrow::Schema> AttrsSchema(std::shared_ptr<arrow::DataType> parent_type) {
  return arrow::schema(
      {Required(kParentId, std::move(parent_type)), Required(kKey, arrow::utf8()),
       Required(kType, arrow::uint8()), Nullable(kStr, arrow::utf8()),
       Nullable(kInt, arrow::int64()), Nullable(kDouble, arrow::float64()),
       Nullable(kBool, arrow::boolean()), Nullable(kBytes, arrow::binary()),
       Nullable(kSer, arrow::binary())});
}

std::shared_ptr<arrow::Schema> ExemplarsSchema() {
  return arrow::schema(
      {Nullable(kId, arrow::uint32()), Required(kParentId, arrow::uint32()),
       Nullable(kTimeUnixNano, TimestampType()), Nullable(kIntValue, arrow::int64()),
       Nullable(kDoubleValue, arrow::float64()), Nullable(kSpanId, SpanIdType()),
       Nullable(kTraceId, TraceIdType())});
}

std::shared_ptr<arrow::DataType> BucketsType() {
  return arrow::struct_({Nullable(kOffset, arrow::int32()),
                         Nullable(kBucketCounts, arrow::list(arrow::uint64()))});
}

std::shared_ptr<arrow::Schema> MakeSchema(PT type) {
  switch (type) {
    case PT::kLogs:
      return arrow::schema(
          {Nullable(kId, arrow::uint16()), Nullable(kResource, ResourceType()),
           Nullable(kScope, ScopeType()), Nullable(kSchemaUrl, arrow::utf8()),
           Nullable(kTimeUnixNano, TimestampType()),
           Nullable(kObservedTimeUnixNano, TimestampType()),
           Nullable(kTraceId, TraceIdType()), Nullable(kSpanId, SpanIdType()),
           Nullable(kSeverityNumber, arrow::int32()),
           Nullable(kSeverityText, arrow::utf8()), Nullable(kBody, AnyValueStructType()),
           Nullable(kDroppedAttributesCount, arrow::uint32()),
           Nullable(kEventName, arrow::utf8()), Nullable(kFlags, arrow::uint32())});
    case PT::kSpans:
      return arrow::schema(
          {Nullable(kId, arrow::uint16()), Nullable(kResource, ResourceType()),
           Nullable(kScope, ScopeType()), Nullable(kSchemaUrl, arrow::utf8()),
           Nullable(kStartTimeUnixNano, TimestampType()),
           Nullable(kDurationTimeUnixNano, DurationType()),
           Nullable(kTraceId, TraceIdType()), Nullable(kSpanId, SpanIdType()),
           Nullable(kTraceState, arrow::utf8()), Nullable(kParentSpanId, SpanIdType()),
           Nullable(kName, arrow::utf8()), Nullable(kKind, arrow::int32()),
           Nullable(kDroppedAttributesCount, arrow::uint32()),
           Nullable(kDroppedEventsCount, arrow::uint32()),
           Nullable(kDroppedLinksCount, arrow::uint32()),
           Nullable(kStatus, arrow::struct_({Nullable(kStatusCode, arrow::int32()),
                                             Nullable(kStatusMessage, arrow::utf8())})),
           Nullable(kFlags, arrow::uint32())});
    case PT::kSpanEvents:
      return arrow::schema(
          {Nullable(kId, arrow::uint32()), Required(kParentId, arrow::uint16()),
           Nullable(kTimeUnixNano, TimestampType()), Nullable(kName, arrow::utf8()),
           Nullable(kDroppedAttributesCount, arrow::uint32())});
    case PT::kSpanLinks:
      return arrow::schema(
          {Nullable(kId, arrow::uint32()), Required(kParentId, arrow::uint16()),
           Nullable(kTraceId, TraceIdType()), Nullable(kSpanId, SpanIdType()),
           Nullable(kTraceState, arrow::utf8()),
           Nullable(kDroppedAttributesCount, arrow::uint32()),
           Nullable(kFlags, arrow::uint32())});
    case PT::kUnivariateMetrics:
      return arrow::schema(
          {Required(kId, arrow::uint16()), Nullable(kResource, ResourceType()),
           Nullable(kScope, ScopeType()), Nullable(kSchemaUrl, arrow::utf8()),
           Required(kMetricType, arrow::uint8()), Nullable(kName, arrow::utf8()),
           Nullable(kDescription, arrow::utf8()), Nullable(kUnit, arrow::utf8()),
           Nullable(kAggregationTemporality, arrow::int32()),
           Nullable(kIsMonotonic, arrow::boolean())});
    case PT::kNumberDataPoints:
      return arrow::schema(
          {Nullable(kId, arrow::uint32()), Required(kParentId, arrow::uint16()),
           Nullable(kStartTimeUnixNano, TimestampType()),
           Nullable(kTimeUnixNano, TimestampType()), Nullable(kIntValue, arrow::int64()),
           Nullable(kDoubleValue, arrow::float64()), Nullable(kFlags, arrow::uint32())});
    case PT::kSummaryDataPoints:
      return arrow::schema(
          {Nullable(kId, arrow::uint32()), Required(kParentId, arrow::uint16()),
           Nullable(kStartTimeUnixNano, TimestampType()),
           Nullable(kTimeUnixNano, TimestampType()), Nullable(kCount, arrow::uint64()),
           Nullable(kSum, arrow::float64()),
           Nullable(kQuantile,
                    arrow::list(arrow::struct_({Nullable(kQuantile, arrow::float64()),
                                                Nullable(kValue, arrow::float64())}))),
           Nullable(kFlags, arrow::uint32())});
    case PT::kHistogramDataPoints:
      return arrow::schema(
          {Nullable(kId, arrow::uint32()), Required(kParentId, arrow::uint16()),
           Nullable(kStartTimeUnixNano, TimestampType()),
           Nullable(kTimeUnixNano, TimestampType()), Nullable(kCount, arrow::uint64()),
           Nullable(kSum, arrow::float64()),
           Nullable(kBucketCounts, arrow::list(arrow::uint64())),
           Nullable(kExplicitBounds, arrow::list(arrow::float64())),
           Nullable(kFlags, arrow::uint32()), Nullable(kMin, arrow::float64()),
           Nullable(kMax, arrow::float64())});
    case PT::kExpHistogramDataPoints:
      return arrow::schema(
          {Nullable(kId, arrow::uint32()), Required(kParentId, arrow::uint16()),
           Nullable(kStartTimeUnixNano, TimestampType()),
           Nullable(kTimeUnixNano, TimestampType()), Nullable(kCount, arrow::uint64()),
           Nullable(kSum, arrow::float64()), Nullable(kScale, arrow::int32()),
           Nullable(kZeroCount, arrow::uint64()), Nullable(kPositive, BucketsType()),
           Nullable(kNegative, BucketsType()), Nullable(kFlags, arrow::uint32()),
           Nullable(kMin, arrow::float64()), Nullable(kMax, arrow::float64()),
           Nullable(kZeroThreshold, arrow::float64())});
    case PT::kNumberDpExemplars:
    case PT::kHistogramDpExemplars:
    case PT::kExpHistogramDpExemplars:
      return ExemplarsSchema();
    case PT::kResourceAttrs:
    case PT::kScopeAttrs:
    case PT::kLogAttrs:
    case PT::kSpanAttrs:
    case PT::kMetricAttrs:
      return AttrsSchema(arrow::uint16());
    case PT::kSpanEventAttrs:
    case PT::kSpanLinkAttrs:
    case PT::kNumberDpAttrs:
    case PT::kSummaryDpAttrs:
    case PT::kHistogramDpAttrs:
    case PT::kExpHistogramDpAttrs:
    case PT::kNumberDpExemplarAttrs:
    case PT::kHistogramDpExemplarAttrs:
    case PT::kExpHistogramDpExemplarAttrs:
      return AttrsSchema(arrow::uint32());
    default:
      return arrow::schema(arrow::FieldVector{});
  }
}

}  // namespace

const std::shared_ptr<arrow::DataType>& TimestampType() {
  static const auto type = arrow::timestamp(arrow::TimeUnit::NANO);
  return type;
}
const std::shared_ptr<arrow::DataType>& DurationType() {
  static const auto type = arrow::duration(arrow::TimeUnit::NANO);
  return type;
}
const std::shared_ptr<arrow::DataType>& TraceIdType() {
  static const auto type = arrow::fixed_size_binary(16);
  return type;
}
const std::shared_ptr<arrow::DataType>& SpanIdType() {
  static const auto type = arrow::fixed_size_binary(8);
  return type;
}
const std::shared_ptr<arrow::DataType>& ResourceType() {
  static const auto type = MakeResourceType();
  return type;
}
const std::shared_ptr<arrow::DataType>& ScopeType() {
  static const auto type = MakeScopeType();
  return type;
}
const std::shared_ptr<arrow::DataType>& AnyValueStructType() {
  static const auto type = MakeAnyValueType();
  return type;
}

const std::shared_ptr<arrow::Schema>& CanonicalSchema(PayloadType type) {
  static const auto schemas = [] {
    std::array<std::shared_ptr<arrow::Schema>, kPayloadTypeSlots> all;
    for (int i = 0; i < kPayloadTypeSlots; ++i) all[i] = MakeSchema(static_cast<PT>(i));
    return all;
  }();
  const int index = static_cast<int>(type);
  return schemas[index >= 0 && index < kPayloadTypeSlots ? index : 0];
}

std::shared_ptr<arrow::DataType> IdType(PayloadType type) {
  auto field = CanonicalSchema(type)->GetFieldByName(kId);
  return field ? field->type() : nullptr;
}

std::shared_ptr<arrow::DataType> ParentIdType(PayloadType type) {
  auto field = CanonicalSchema(type)->GetFieldByName(kParentId);
  return field ? field->type() : nullptr;
}

}  // namespace otap_parquet::schema
