// SPDX-License-Identifier: Apache-2.0
#include "otap_parquet/dataset/parquet_layout.h"

#include <cstdint>
#include <limits>
#include <optional>
#include <regex>
#include <set>
#include <string>
#include <type_traits>
#include <vector>

#include <arrow/api.h>
#include <arrow/util/key_value_metadata.h>
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include "otap_parquet/generator/otlp_generator.h"
#include "otap_parquet/otlp/convert.h"
#include "otap_parquet/otlp/equivalence.h"
#include "otap_parquet/pdata/ids.h"
#include "otap_parquet/schema/normalize.h"
#include "otap_parquet/schema/otap_schema.h"
#include "otap_parquet/testing/gtest_util.h"

namespace otap_parquet::dataset {
namespace {

using PT = PayloadType;
using testing::ElementsAre;
using testing::ElementsAreArray;

constexpr uint64_t kHourNanos = 3'600'000'000'000ULL;
// 2024-01-02T10:00:00Z.
constexpr uint64_t kBaseNanos = 1'704'189'600ULL * 1'000'000'000ULL;

constexpr Signal kAllSignals[] = {Signal::kLogs, Signal::kTraces, Signal::kMetrics};

// ---------------------------------------------------------------------------------
// Helpers

std::vector<std::string> Names(const arrow::FieldVector& fields) {
  std::vector<std::string> names;
  for (const auto& field : fields) names.push_back(field->name());
  return names;
}

std::vector<std::string> ColumnNames(PT type) {
  return Names(DiskSchema(type)->fields());
}

std::vector<std::string> ChildNames(PT type, const std::string& column) {
  return Names(DiskSchema(type)->GetFieldByName(column)->type()->fields());
}

std::function<std::string()> CountingUuids() {
  return [n = 0]() mutable { return "part-" + std::to_string(++n); };
}

// Values of a UInt16 / UInt32 id array, nullopt for nulls.
std::vector<std::optional<uint32_t>> IdValues(const arrow::Array& array) {
  std::vector<std::optional<uint32_t>> values;
  for (int64_t i = 0; i < array.length(); ++i) {
    if (array.IsNull(i)) {
      values.emplace_back();
    } else if (array.type_id() == arrow::Type::UINT16) {
      values.emplace_back(static_cast<const arrow::UInt16Array&>(array).Value(i));
    } else {
      values.emplace_back(static_cast<const arrow::UInt32Array&>(array).Value(i));
    }
  }
  return values;
}

std::shared_ptr<arrow::Array> StructChild(const arrow::RecordBatch& batch,
                                          const std::string& column,
                                          const std::string& child) {
  const auto& array =
      static_cast<const arrow::StructArray&>(*batch.GetColumnByName(column));
  return array.GetFieldByName(child);
}

// The id arrays of a table that the generator offsets: own id, parent_id, and for
// roots resource.id / scope.id.
std::vector<std::shared_ptr<arrow::Array>> IdArrays(PT type,
                                                    const arrow::RecordBatch& b) {
  std::vector<std::shared_ptr<arrow::Array>> arrays;
  for (const char* name : {schema::kId, schema::kParentId}) {
    if (auto column = b.GetColumnByName(name)) arrays.push_back(column);
  }
  if (IsRoot(type)) {
    arrays.push_back(StructChild(b, schema::kResource, schema::kId));
    arrays.push_back(StructChild(b, schema::kScope, schema::kId));
  }
  return arrays;
}

// Largest id (not parent id) of a canonical batch, resource.id / scope.id included.
uint32_t MaxId(const OtapBatch& batch) {
  uint32_t max_id = 0;
  for (PT type : batch.payload_types()) {
    const auto& table = *batch.Get(type);
    std::vector<std::shared_ptr<arrow::Array>> arrays;
    if (auto id = table.GetColumnByName(schema::kId)) arrays.push_back(id);
    if (IsRoot(type)) {
      arrays.push_back(StructChild(table, schema::kResource, schema::kId));
      arrays.push_back(StructChild(table, schema::kScope, schema::kId));
    }
    for (const auto& array : arrays) {
      for (const auto& value : IdValues(*array)) {
        if (value) max_id = std::max(max_id, *value);
      }
    }
  }
  return max_id;
}

// Realistic logs carry no scope attributes; give every scope one.
otlp::LogsRequest WithScopeAttributes(otlp::LogsRequest request) {
  int n = 0;
  for (auto& rl : *request.mutable_resource_logs()) {
    for (auto& sl : *rl.mutable_scope_logs()) {
      auto* kv = sl.mutable_scope()->add_attributes();
      kv->set_key("scope.index");
      kv->mutable_value()->set_int_value(n++);
    }
  }
  return request;
}

arrow::Result<OtapBatch> OneBatch(const otlp::OtlpRequest& request) {
  ARROW_ASSIGN_OR_RAISE(auto batches, otlp::ToOtap(request));
  if (batches.size() != 1) {
    return arrow::Status::Invalid("expected one batch, got ", batches.size());
  }
  return std::move(batches[0]);
}

generator::GeneratorOptions EdgeCaseOptions(uint64_t seed) {
  generator::GeneratorOptions options;
  options.mode = generator::Mode::kEdgeCases;
  options.seed = seed;
  options.resources_per_request = 3;
  options.scopes_per_resource = 2;
  options.items_per_scope = 6;
  return options;
}

// The on-disk form back to a canonical batch, as the reader will do it.
arrow::Result<OtapBatch> FromDiskForm(const DiskBatch& disk) {
  OtapBatch batch(disk.signal);
  for (const auto& [type, table] : disk.tables) {
    schema::NormalizeOptions options;
    options.wide_ids = true;
    ARROW_ASSIGN_OR_RAISE(auto canonical,
                          schema::NormalizeToCanonical(type, table, options));
    batch.Set(type, std::move(canonical));
  }
  RemapStats stats;
  ARROW_ASSIGN_OR_RAISE(auto dense, RemapIdsDense(batch, &stats));
  if (stats.orphan_rows != 0) {
    return arrow::Status::Invalid(stats.orphan_rows, " orphan rows");
  }
  ARROW_RETURN_NOT_OK(dense.Validate());
  return dense;
}

arrow::Status CheckPartsEquivalent(
    const otlp::OtlpRequest& expected,
    const std::vector<std::pair<std::string, OtapBatch>>& parts) {
  std::vector<otlp::OtlpRequest> actual;
  for (const auto& [path, part] : parts) {
    ARROW_RETURN_NOT_OK(part.Validate());
    ARROW_ASSIGN_OR_RAISE(auto request, otlp::FromOtap(part));
    actual.push_back(std::move(request));
  }
  return otlp::CheckEquivalent(std::span<const otlp::OtlpRequest>(&expected, 1), actual);
}

int64_t TotalRows(const std::vector<std::pair<std::string, OtapBatch>>& parts, PT type) {
  int64_t rows = 0;
  for (const auto& [path, part] : parts) {
    if (const auto& table = part.Get(type)) rows += table->num_rows();
  }
  return rows;
}

int64_t Rows(const OtapBatch& batch, PT type) {
  const auto& table = batch.Get(type);
  return table ? table->num_rows() : 0;
}

// A metrics batch with one gauge and one number data point whose id is `point_id`,
// carrying one attribute.
arrow::Result<OtapBatch> MetricsWithPointId(uint32_t point_id) {
  arrow::UInt16Builder metric_ids;
  arrow::UInt8Builder metric_types;
  arrow::StringBuilder names;
  ARROW_RETURN_NOT_OK(metric_ids.Append(0));
  ARROW_RETURN_NOT_OK(metric_types.Append(1));
  ARROW_RETURN_NOT_OK(names.Append("gauge"));
  ARROW_ASSIGN_OR_RAISE(auto metric_id_array, metric_ids.Finish());
  ARROW_ASSIGN_OR_RAISE(auto metric_type_array, metric_types.Finish());
  ARROW_ASSIGN_OR_RAISE(auto name_array, names.Finish());
  auto metrics = arrow::RecordBatch::Make(
      arrow::schema({arrow::field("id", arrow::uint16(), false),
                     arrow::field("metric_type", arrow::uint8(), false),
                     arrow::field("name", arrow::utf8())}),
      1, {metric_id_array, metric_type_array, name_array});

  arrow::UInt32Builder point_ids;
  arrow::UInt16Builder point_parents;
  arrow::Int64Builder int_values;
  ARROW_RETURN_NOT_OK(point_ids.Append(point_id));
  ARROW_RETURN_NOT_OK(point_parents.Append(0));
  ARROW_RETURN_NOT_OK(int_values.Append(42));
  ARROW_ASSIGN_OR_RAISE(auto point_id_array, point_ids.Finish());
  ARROW_ASSIGN_OR_RAISE(auto point_parent_array, point_parents.Finish());
  ARROW_ASSIGN_OR_RAISE(auto int_value_array, int_values.Finish());
  auto points = arrow::RecordBatch::Make(
      arrow::schema({arrow::field("id", arrow::uint32()),
                     arrow::field("parent_id", arrow::uint16(), false),
                     arrow::field("int_value", arrow::int64())}),
      1, {point_id_array, point_parent_array, int_value_array});

  arrow::UInt32Builder attr_parents;
  arrow::StringBuilder keys;
  arrow::UInt8Builder types;
  arrow::StringBuilder strs;
  ARROW_RETURN_NOT_OK(attr_parents.Append(point_id));
  ARROW_RETURN_NOT_OK(keys.Append("host"));
  ARROW_RETURN_NOT_OK(types.Append(1));
  ARROW_RETURN_NOT_OK(strs.Append("a"));
  ARROW_ASSIGN_OR_RAISE(auto attr_parent_array, attr_parents.Finish());
  ARROW_ASSIGN_OR_RAISE(auto key_array, keys.Finish());
  ARROW_ASSIGN_OR_RAISE(auto type_array, types.Finish());
  ARROW_ASSIGN_OR_RAISE(auto str_array, strs.Finish());
  auto attrs = arrow::RecordBatch::Make(
      arrow::schema({arrow::field("parent_id", arrow::uint32(), false),
                     arrow::field("key", arrow::utf8(), false),
                     arrow::field("type", arrow::uint8(), false),
                     arrow::field("str", arrow::utf8())}),
      1, {attr_parent_array, key_array, type_array, str_array});

  OtapBatch batch(Signal::kMetrics);
  ARROW_ASSIGN_OR_RAISE(auto canonical_metrics,
                        schema::NormalizeToCanonical(PT::kUnivariateMetrics, metrics));
  ARROW_ASSIGN_OR_RAISE(auto canonical_points,
                        schema::NormalizeToCanonical(PT::kNumberDataPoints, points));
  ARROW_ASSIGN_OR_RAISE(auto canonical_attrs,
                        schema::NormalizeToCanonical(PT::kNumberDpAttrs, attrs));
  batch.Set(PT::kUnivariateMetrics, canonical_metrics);
  batch.Set(PT::kNumberDataPoints, canonical_points);
  batch.Set(PT::kNumberDpAttrs, canonical_attrs);
  ARROW_RETURN_NOT_OK(batch.Validate());
  return batch;
}

const arrow::RecordBatch& TableOf(const DiskBatch& disk, PT type) {
  for (const auto& [t, table] : disk.tables) {
    if (t == type) return *table;
  }
  ADD_FAILURE() << "no table " << TableName(type);
  static const auto kEmpty =
      arrow::RecordBatch::Make(arrow::schema({}), 0, arrow::ArrayVector{});
  return *kEmpty;
}

// ---------------------------------------------------------------------------------
// DiskSchema

// Scenario: the logs disk schema.
// Guarantees: columns and struct children are upstream's LOGS template (§7.2), in
// its order, with nothing extra.
TEST(DiskSchemaLayoutTest, LogsColumnOrderMatchesTemplate) {
  EXPECT_THAT(ColumnNames(PT::kLogs),
              ElementsAre("id", "resource", "scope", "schema_url", "time_unix_nano",
                          "observed_time_unix_nano", "trace_id", "span_id",
                          "severity_number", "severity_text", "body",
                          "dropped_attributes_count", "event_name", "flags"));
  EXPECT_THAT(ChildNames(PT::kLogs, "resource"),
              ElementsAre("id", "schema_url", "dropped_attributes_count"));
  EXPECT_THAT(ChildNames(PT::kLogs, "scope"),
              ElementsAre("id", "name", "version", "dropped_attributes_count"));
  EXPECT_THAT(ChildNames(PT::kLogs, "body"),
              ElementsAre("type", "str", "int", "double", "bool", "bytes", "ser"));
}

// Scenario: the span tables' disk schemas.
// Guarantees: §7.3 / §7.4 template order; `flags` (dropped upstream) appended last.
TEST(DiskSchemaLayoutTest, SpansColumnOrderMatchesTemplate) {
  EXPECT_THAT(
      ColumnNames(PT::kSpans),
      ElementsAre("id", "resource", "scope", "schema_url", "start_time_unix_nano",
                  "duration_time_unix_nano", "trace_id", "span_id", "trace_state",
                  "parent_span_id", "name", "kind", "dropped_attributes_count",
                  "dropped_events_count", "dropped_links_count", "status", "flags"));
  EXPECT_THAT(ChildNames(PT::kSpans, "status"), ElementsAre("code", "status_message"));
  EXPECT_THAT(ColumnNames(PT::kSpanEvents),
              ElementsAre("id", "parent_id", "time_unix_nano", "name",
                          "dropped_attributes_count"));
  EXPECT_THAT(ColumnNames(PT::kSpanLinks),
              ElementsAre("id", "parent_id", "trace_id", "span_id", "trace_state",
                          "dropped_attributes_count", "flags"));
}

// Scenario: the univariate_metrics disk schema.
// Guarantees: §7.5 order including the always-null UInt32 `dropped_attributes_count`
// in its template position; `is_monotonic` appended last.
TEST(DiskSchemaLayoutTest, UnivariateMetricsColumnOrderMatchesTemplate) {
  EXPECT_THAT(ColumnNames(PT::kUnivariateMetrics),
              ElementsAre("id", "resource", "scope", "schema_url", "metric_type", "name",
                          "description", "unit", "aggregation_temporality",
                          "dropped_attributes_count", "is_monotonic"));
  const auto& field =
      DiskSchema(PT::kUnivariateMetrics)->GetFieldByName("dropped_attributes_count");
  EXPECT_TRUE(field->type()->Equals(*arrow::uint32()));
  EXPECT_TRUE(field->nullable());
}

// Scenario: the data point and exemplar disk schemas.
// Guarantees: §7.6 / §7.7 order; `zero_threshold` appended last.
TEST(DiskSchemaLayoutTest, DataPointAndExemplarColumnOrderMatchesTemplate) {
  EXPECT_THAT(ColumnNames(PT::kNumberDataPoints),
              ElementsAre("id", "parent_id", "start_time_unix_nano", "time_unix_nano",
                          "int_value", "double_value", "flags"));
  EXPECT_THAT(ColumnNames(PT::kSummaryDataPoints),
              ElementsAre("id", "parent_id", "start_time_unix_nano", "time_unix_nano",
                          "count", "sum", "quantile", "flags"));
  EXPECT_THAT(
      ColumnNames(PT::kHistogramDataPoints),
      ElementsAre("id", "parent_id", "start_time_unix_nano", "time_unix_nano", "count",
                  "sum", "bucket_counts", "explicit_bounds", "flags", "min", "max"));
  EXPECT_THAT(ColumnNames(PT::kExpHistogramDataPoints),
              ElementsAre("id", "parent_id", "start_time_unix_nano", "time_unix_nano",
                          "count", "sum", "scale", "zero_count", "positive", "negative",
                          "flags", "min", "max", "zero_threshold"));
  for (PT type : {PT::kNumberDpExemplars, PT::kHistogramDpExemplars,
                  PT::kExpHistogramDpExemplars}) {
    SCOPED_TRACE(TableName(type));
    EXPECT_THAT(ColumnNames(type),
                ElementsAre("id", "parent_id", "time_unix_nano", "int_value",
                            "double_value", "span_id", "trace_id"));
    EXPECT_TRUE(DiskSchema(type)
                    ->GetFieldByName("double_value")
                    ->type()
                    ->Equals(*arrow::float64()));
  }
}

// Scenario: every attribute table's disk schema.
// Guarantees: §7.8 order, identical for ATTRS_16 and ATTRS_32 (parent_id UInt32).
TEST(DiskSchemaLayoutTest, AttrsColumnOrderMatchesTemplate) {
  std::set<PT> attrs;
  for (Signal signal : kAllSignals) {
    for (PT type : PayloadTypesOf(signal)) {
      if (IsAttributes(type)) attrs.insert(type);
    }
  }
  EXPECT_EQ(attrs.size(), 14u);
  for (PT type : attrs) {
    SCOPED_TRACE(TableName(type));
    EXPECT_THAT(ColumnNames(type), ElementsAre("parent_id", "key", "type", "str", "int",
                                               "double", "bool", "bytes", "ser"));
    EXPECT_TRUE(DiskSchema(type)->Equals(*DiskSchema(PT::kResourceAttrs)));
  }
}

// Scenario: every payload type's disk schema, field by field.
// Guarantees: id / parent_id / resource.id / scope.id are nullable UInt32 without
// metadata; every other field is the canonical one; no schema metadata.
TEST(DiskSchemaLayoutTest, IdsAreNullableUInt32AndValuesCanonical) {
  for (Signal signal : kAllSignals) {
    for (PT type : PayloadTypesOf(signal)) {
      SCOPED_TRACE(TableName(type));
      const auto& disk = *DiskSchema(type);
      const auto& canonical = *schema::CanonicalSchema(type);
      EXPECT_EQ(disk.metadata(), nullptr);
      const int extra = type == PT::kUnivariateMetrics ? 1 : 0;
      EXPECT_EQ(disk.num_fields(), canonical.num_fields() + extra);
      for (const auto& field : disk.fields()) {
        const std::string& name = field->name();
        if (name == "id" || name == "parent_id") {
          EXPECT_TRUE(field->type()->Equals(*arrow::uint32())) << name;
          EXPECT_TRUE(field->nullable()) << name;
          EXPECT_EQ(field->metadata(), nullptr) << name;
        } else if (IsRoot(type) && (name == "resource" || name == "scope")) {
          for (const auto& child : field->type()->fields()) {
            if (child->name() == "id") {
              EXPECT_TRUE(child->type()->Equals(*arrow::uint32()));
              EXPECT_TRUE(child->nullable());
            } else {
              const auto& canonical_struct = static_cast<const arrow::StructType&>(
                  *canonical.GetFieldByName(name)->type());
              EXPECT_TRUE(child->Equals(*canonical_struct.GetFieldByName(child->name())));
            }
          }
        } else if (type == PT::kUnivariateMetrics && name == "dropped_attributes_count") {
          EXPECT_EQ(canonical.GetFieldByName(name), nullptr);
        } else {
          ASSERT_NE(canonical.GetFieldByName(name), nullptr) << name;
          EXPECT_TRUE(field->Equals(*canonical.GetFieldByName(name))) << name;
        }
      }
    }
  }
}

// ---------------------------------------------------------------------------------
// PartitionIdGenerator

// Scenario: RandomUuid called twice.
// Guarantees: lower-case hyphenated UUID v4 (version nibble 4, variant 10xx), new
// each call.
TEST(PartitionIdGeneratorTest, RandomUuidIsVersion4) {
  const std::regex pattern(
      "^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$");
  const std::string a = RandomUuid();
  const std::string b = RandomUuid();
  EXPECT_TRUE(std::regex_match(a, pattern)) << a;
  EXPECT_TRUE(std::regex_match(b, pattern)) << b;
  EXPECT_NE(a, b);
}

// Scenario: realistic and edge-case logs, traces and metrics batches through one
// generator.
// Guarantees (§8.1): each batch's id, parent_id, resource.id and scope.id equal the
// canonical values plus the running offset C_k; C_0 = 0 and C_{k+1} = C_k +
// max_id_k + 1 (contiguous ranges shared by all signals); nulls stay null; one
// `_part_id` throughout.
TEST(PartitionIdGeneratorTest, OffsetsAreContiguousAcrossBatches) {
  PartitionIdGenerator ids(CountingUuids());
  EXPECT_EQ(ids.part_id(), "part-1");
  EXPECT_EQ(ids.offset(), 0u);
  generator::OtlpGenerator realistic({});
  // Edge cases: null log ids, sparse resource / scope ids, ...
  generator::OtlpGenerator edge_cases(EdgeCaseOptions(3));
  uint32_t expected_offset = 0;
  for (int k = 0; k < 12; ++k) {
    const Signal signal = kAllSignals[k % 3];
    SCOPED_TRACE(std::string(SignalName(signal)) + " batch " + std::to_string(k));
    auto& gen = k % 2 == 0 ? realistic : edge_cases;
    ASSERT_OK_AND_ASSIGN(auto batch, OneBatch(gen.Next(signal)));
    ASSERT_EQ(ids.offset(), expected_offset);
    ASSERT_OK_AND_ASSIGN(auto disk, ids.Apply(batch));
    EXPECT_EQ(disk.part_id, "part-1");
    EXPECT_EQ(disk.signal, signal);
    ASSERT_EQ(disk.tables.size(), batch.payload_types().size());
    int64_t rows = 0;
    for (size_t t = 0; t < disk.tables.size(); ++t) {
      const auto& [type, table] = disk.tables[t];
      EXPECT_EQ(type, batch.payload_types()[t]);
      const auto& input = *batch.Get(type);
      rows += input.num_rows();
      const auto before = IdArrays(type, input);
      const auto after = IdArrays(type, *table);
      ASSERT_EQ(before.size(), after.size());
      for (size_t c = 0; c < before.size(); ++c) {
        EXPECT_EQ(after[c]->type_id(), arrow::Type::UINT32);
        auto expected = IdValues(*before[c]);
        for (auto& value : expected) {
          if (value) *value += expected_offset;
        }
        EXPECT_EQ(IdValues(*after[c]), expected) << TableName(type) << " column " << c;
      }
    }
    EXPECT_EQ(disk.num_rows(), rows);
    expected_offset += MaxId(batch) + 1;
    EXPECT_EQ(ids.offset(), expected_offset);
  }
  EXPECT_EQ(ids.part_id(), "part-1");
}

// Scenario: tables that are slices (offset 3, not byte aligned) of edge-case batches,
// with null ids, applied at offset > 0.
// Guarantees: the ids are the sliced values plus the offset, nulls at the same rows,
// and the output is valid Arrow data.
TEST(PartitionIdGeneratorTest, SlicedTablesAreHandled) {
  PartitionIdGenerator ids(CountingUuids());
  ids.set_offset_for_testing(1000);
  for (Signal signal : kAllSignals) {
    SCOPED_TRACE(SignalName(signal));
    generator::OtlpGenerator gen(EdgeCaseOptions(11));
    ASSERT_OK_AND_ASSIGN(auto batch, OneBatch(gen.Next(signal)));
    OtapBatch sliced(signal);
    for (PT type : batch.payload_types()) {
      const auto& table = batch.Get(type);
      if (table->num_rows() > 8) sliced.Set(type, table->Slice(3, table->num_rows() - 5));
    }
    const uint32_t offset = ids.offset();
    ASSERT_OK_AND_ASSIGN(auto disk, ids.Apply(sliced));
    for (const auto& [type, table] : disk.tables) {
      SCOPED_TRACE(TableName(type));
      ASSERT_OK(table->ValidateFull());
      const auto before = IdArrays(type, *sliced.Get(type));
      const auto after = IdArrays(type, *table);
      for (size_t c = 0; c < before.size(); ++c) {
        auto expected = IdValues(*before[c]);
        for (auto& value : expected) {
          if (value) *value += offset;
        }
        EXPECT_EQ(IdValues(*after[c]), expected) << c;
      }
    }
  }
}

// Scenario: the second batch of a partition (offset > 0), with resource and scope
// attributes (upstream quirk Q1).
// Guarantees: every resource_attrs.parent_id equals some root resource.id and every
// scope_attrs.parent_id some scope.id, both offset.
TEST(PartitionIdGeneratorTest, ResourceAndScopeAttrsJoinAfterOffset) {
  PartitionIdGenerator ids(CountingUuids());
  generator::OtlpGenerator gen({});
  ASSERT_OK_AND_ASSIGN(auto first, OneBatch(gen.NextLogs()));
  ASSERT_OK(ids.Apply(first).status());
  const uint32_t offset = ids.offset();
  ASSERT_GT(offset, 0u);
  ASSERT_OK_AND_ASSIGN(auto second, OneBatch(WithScopeAttributes(gen.NextLogs())));
  ASSERT_OK_AND_ASSIGN(auto disk, ids.Apply(second));
  const auto& logs = TableOf(disk, PT::kLogs);
  for (auto [attrs_type, struct_name] :
       {std::pair{PT::kResourceAttrs, "resource"}, std::pair{PT::kScopeAttrs, "scope"}}) {
    SCOPED_TRACE(struct_name);
    std::set<uint32_t> struct_ids;
    for (const auto& id : IdValues(*StructChild(logs, struct_name, "id"))) {
      ASSERT_TRUE(id.has_value());
      EXPECT_GE(*id, offset);
      struct_ids.insert(*id);
    }
    const auto& attrs = TableOf(disk, attrs_type);
    ASSERT_GT(attrs.num_rows(), 0);
    std::set<uint32_t> parents;
    for (const auto& parent : IdValues(*attrs.GetColumnByName("parent_id"))) {
      ASSERT_TRUE(parent.has_value());
      EXPECT_TRUE(struct_ids.count(*parent)) << *parent;
      parents.insert(*parent);
    }
    EXPECT_EQ(parents, struct_ids);
  }
}

// Scenario: batches of all three signals.
// Guarantees: every table has DiskSchema(type) and valid data; roots (only) carry
// schema metadata, exactly `_part_id` = the DiskBatch's part_id.
TEST(PartitionIdGeneratorTest, PartIdMetadataOnRootsOnly) {
  PartitionIdGenerator ids;
  for (Signal signal : kAllSignals) {
    SCOPED_TRACE(SignalName(signal));
    generator::OtlpGenerator gen(EdgeCaseOptions(7));
    ASSERT_OK_AND_ASSIGN(auto batch, OneBatch(gen.Next(signal)));
    ASSERT_OK_AND_ASSIGN(auto disk, ids.Apply(batch));
    EXPECT_EQ(disk.part_id, ids.part_id());
    EXPECT_EQ(disk.part_id.size(), 36u);
    for (const auto& [type, table] : disk.tables) {
      SCOPED_TRACE(TableName(type));
      EXPECT_TRUE(table->schema()->Equals(*DiskSchema(type), /*check_metadata=*/false));
      ASSERT_OK(table->ValidateFull());
      const auto& metadata = table->schema()->metadata();
      if (IsRoot(type)) {
        ASSERT_NE(metadata, nullptr);
        EXPECT_EQ(metadata->size(), 1);
        ASSERT_OK_AND_ASSIGN(auto part_id, metadata->Get("_part_id"));
        EXPECT_EQ(part_id, disk.part_id);
      } else {
        EXPECT_TRUE(metadata == nullptr || metadata->size() == 0);
      }
    }
  }
}

// Scenario: a metrics batch whose data point id is 2^32 - 16, applied twice.
// Guarantees: the first goes to part-1 with ids as is; the second would overflow
// UInt32, so it starts part-2 at offset 0 (ids as is again, `_part_id` = part-2);
// the offset then continues from there.
TEST(PartitionIdGeneratorTest, OverflowStartsNewPartId) {
  constexpr uint32_t kBig = std::numeric_limits<uint32_t>::max() - 15;
  ASSERT_OK_AND_ASSIGN(auto batch, MetricsWithPointId(kBig));
  PartitionIdGenerator ids(CountingUuids());
  ASSERT_OK_AND_ASSIGN(auto first, ids.Apply(batch));
  EXPECT_EQ(first.part_id, "part-1");
  EXPECT_EQ(ids.offset(), kBig + 1);
  ASSERT_OK_AND_ASSIGN(auto second, ids.Apply(batch));
  EXPECT_EQ(second.part_id, "part-2");
  EXPECT_EQ(ids.part_id(), "part-2");
  EXPECT_EQ(ids.offset(), kBig + 1);
  for (const DiskBatch* disk : {&first, &second}) {
    EXPECT_THAT(IdValues(*TableOf(*disk, PT::kNumberDataPoints).GetColumnByName("id")),
                ElementsAre(kBig));
    EXPECT_THAT(
        IdValues(*TableOf(*disk, PT::kNumberDpAttrs).GetColumnByName("parent_id")),
        ElementsAre(kBig));
    EXPECT_THAT(IdValues(*TableOf(*disk, PT::kUnivariateMetrics).GetColumnByName("id")),
                ElementsAre(0u));
    ASSERT_OK_AND_ASSIGN(
        auto part_id,
        TableOf(*disk, PT::kUnivariateMetrics).schema()->metadata()->Get("_part_id"));
    EXPECT_EQ(part_id, disk->part_id);
  }
}

// Scenario: a batch that would exactly fill the id space (largest id + offset =
// 2^32-1), with the offset set through set_offset_for_testing; then one that ends
// just below it.
// Guarantees: no id is ever 0xFFFFFFFF (readers take that value for "no id", so the
// row would lose its children): the first batch starts a new part at offset 0; a
// batch ending at 0xFFFFFFFE stays, and the next one starts a new part.
TEST(PartitionIdGeneratorTest, FullIdSpaceRollsOverBeforeTheLastId) {
  constexpr uint32_t kBig = std::numeric_limits<uint32_t>::max() - 15;
  ASSERT_OK_AND_ASSIGN(auto batch, MetricsWithPointId(kBig));
  PartitionIdGenerator ids(CountingUuids());
  ids.set_offset_for_testing(15);
  ASSERT_OK_AND_ASSIGN(auto disk, ids.Apply(batch));
  EXPECT_EQ(disk.part_id, "part-2");
  EXPECT_THAT(IdValues(*TableOf(disk, PT::kNumberDataPoints).GetColumnByName("id")),
              ElementsAre(kBig));
  EXPECT_THAT(IdValues(*TableOf(disk, PT::kUnivariateMetrics).GetColumnByName("id")),
              ElementsAre(0u));

  PartitionIdGenerator below(CountingUuids());
  below.set_offset_for_testing(14);
  ASSERT_OK_AND_ASSIGN(disk, below.Apply(batch));
  EXPECT_EQ(disk.part_id, "part-1");
  EXPECT_THAT(IdValues(*TableOf(disk, PT::kNumberDataPoints).GetColumnByName("id")),
              ElementsAre(std::numeric_limits<uint32_t>::max() - 1));
  ASSERT_OK_AND_ASSIGN(auto small, MetricsWithPointId(0));
  ASSERT_OK_AND_ASSIGN(disk, below.Apply(small));
  EXPECT_EQ(disk.part_id, "part-2");
  EXPECT_EQ(below.offset(), 1u);
}

// Scenario: Reset after some batches; an empty batch.
// Guarantees: Reset starts a new part at offset 0; an empty batch yields no tables
// and advances the offset by one, as upstream does.
TEST(PartitionIdGeneratorTest, ResetAndEmptyBatch) {
  PartitionIdGenerator ids(CountingUuids());
  ASSERT_OK_AND_ASSIGN(auto disk, ids.Apply(OtapBatch(Signal::kLogs)));
  EXPECT_TRUE(disk.tables.empty());
  EXPECT_EQ(disk.num_rows(), 0);
  EXPECT_EQ(ids.offset(), 1u);
  ids.Reset();
  EXPECT_EQ(ids.part_id(), "part-2");
  EXPECT_EQ(ids.offset(), 0u);
}

// Scenario: a table whose schema is not canonical (a renamed column).
// Guarantees: Apply fails with Invalid naming the table.
TEST(PartitionIdGeneratorTest, NonCanonicalSchemaIsInvalid) {
  ASSERT_OK_AND_ASSIGN(auto batch, MetricsWithPointId(3));
  auto points = batch.Get(PT::kNumberDataPoints);
  ASSERT_OK_AND_ASSIGN(
      auto renamed,
      points->RenameColumns({"id", "parent_id", "start_time_unix_nano", "time_unix_nano",
                             "int_value", "dbl", "flags"}));
  batch.Set(PT::kNumberDataPoints, renamed);
  PartitionIdGenerator ids;
  EXPECT_RAISES_WITH_MESSAGE_THAT(Invalid, testing::HasSubstr("number_data_points"),
                                  ids.Apply(batch).status());
}

// Scenario: edge-case OTLP of every signal, several requests through one generator
// (offsets > 0, shared across signals), each DiskBatch read back as the reader will:
// NormalizeToCanonical(wide_ids) per table, RemapIdsDense, FromOtap.
// Guarantees: no orphan rows, valid batches, and OTLP equivalent to the input: the
// on-disk form is lossless.
TEST(PartitionIdGeneratorTest, DiskFormRoundTripsThroughNormalizeAndRemap) {
  PartitionIdGenerator ids(CountingUuids());
  ids.set_offset_for_testing(100'000);  // beyond UInt16: resource.id must stay wide
  for (uint64_t seed = 1; seed <= 4; ++seed) {
    for (Signal signal : kAllSignals) {
      SCOPED_TRACE(std::string(SignalName(signal)) + " seed " + std::to_string(seed));
      generator::OtlpGenerator gen(EdgeCaseOptions(seed));
      const otlp::OtlpRequest request = gen.Next(signal);
      ASSERT_OK_AND_ASSIGN(auto batches, otlp::ToOtap(request));
      std::vector<otlp::OtlpRequest> actual;
      for (const auto& batch : batches) {
        ASSERT_OK_AND_ASSIGN(auto disk, ids.Apply(batch));
        ASSERT_OK_AND_ASSIGN(auto back, FromDiskForm(disk));
        ASSERT_OK_AND_ASSIGN(auto otlp, otlp::FromOtap(back));
        actual.push_back(std::move(otlp));
      }
      ASSERT_OK(
          otlp::CheckEquivalent(std::span<const otlp::OtlpRequest>(&request, 1), actual));
    }
  }
  EXPECT_GT(ids.offset(), 100'100u);
  EXPECT_EQ(ids.part_id(), "part-1");
}

// ---------------------------------------------------------------------------------
// SplitByEventTime

// Sets log record k's time to base + (k % 3) hours (interleaved); every fifth has
// only an observed time.
void SpreadLogsOverThreeHours(otlp::LogsRequest& request) {
  int k = 0;
  for (auto& rl : *request.mutable_resource_logs()) {
    for (auto& sl : *rl.mutable_scope_logs()) {
      for (auto& log : *sl.mutable_log_records()) {
        const uint64_t t = kBaseNanos + static_cast<uint64_t>(k % 3) * kHourNanos +
                           static_cast<uint64_t>(k) * 1000;
        if (k % 5 == 0) {
          log.set_time_unix_nano(0);
          log.set_observed_time_unix_nano(t);
        } else {
          log.set_time_unix_nano(t);
        }
        ++k;
      }
    }
  }
}

// Scenario: 24 logs over 2 resources x 2 scopes, interleaved over three hours (some
// with only observed_time_unix_nano).
// Guarantees: three parts in path order, each valid, each root in its hour, each
// with the resource and scope attributes of its roots; their union is equivalent to
// the input.
TEST(SplitByEventTimeTest, LogsSpanningThreeHoursGiveThreeValidParts) {
  generator::GeneratorOptions options;
  options.items_per_scope = 6;
  generator::OtlpGenerator gen(options);
  otlp::LogsRequest logs = WithScopeAttributes(gen.NextLogs());
  SpreadLogsOverThreeHours(logs);
  const otlp::OtlpRequest request = logs;
  ASSERT_OK_AND_ASSIGN(auto batch, OneBatch(request));
  ASSERT_EQ(batch.num_root_rows(), 24);
  ASSERT_OK_AND_ASSIGN(auto parts, SplitByEventTime(batch, TimeGranularity::kHour));
  ASSERT_EQ(parts.size(), 3u);
  EXPECT_EQ(parts[0].first, "date=2024-01-02/hour=10");
  EXPECT_EQ(parts[1].first, "date=2024-01-02/hour=11");
  EXPECT_EQ(parts[2].first, "date=2024-01-02/hour=12");
  for (size_t p = 0; p < parts.size(); ++p) {
    const auto& part = parts[p].second;
    SCOPED_TRACE(parts[p].first);
    ASSERT_OK(part.Validate());
    EXPECT_EQ(part.num_root_rows(), 8);
    EXPECT_GT(Rows(part, PT::kLogAttrs), 0);
    EXPECT_GT(Rows(part, PT::kResourceAttrs), 0);
    EXPECT_GT(Rows(part, PT::kScopeAttrs), 0);
    const auto& root = *part.root();
    const auto& time = static_cast<const arrow::TimestampArray&>(
        *root.GetColumnByName("time_unix_nano"));
    const auto& observed = static_cast<const arrow::TimestampArray&>(
        *root.GetColumnByName("observed_time_unix_nano"));
    for (int64_t i = 0; i < root.num_rows(); ++i) {
      const auto t =
          static_cast<uint64_t>(time.Value(i) != 0 ? time.Value(i) : observed.Value(i));
      EXPECT_EQ((t - kBaseNanos) / kHourNanos, p);
    }
  }
  EXPECT_EQ(TotalRows(parts, PT::kLogAttrs), Rows(batch, PT::kLogAttrs));
  // Both resources have logs in every hour: their attributes are in every part.
  EXPECT_EQ(TotalRows(parts, PT::kResourceAttrs), 3 * Rows(batch, PT::kResourceAttrs));
  EXPECT_EQ(TotalRows(parts, PT::kScopeAttrs), 3 * Rows(batch, PT::kScopeAttrs));
  ASSERT_OK(CheckPartsEquivalent(request, parts));
}

// Scenario: a batch whose records all fall in one hour (day).
// Guarantees: one part, the input itself (same Arrow tables, no copy).
TEST(SplitByEventTimeTest, OnePartitionReturnsBatchUnchanged) {
  generator::OtlpGenerator gen({});
  ASSERT_OK_AND_ASSIGN(auto batch, OneBatch(gen.NextLogs()));
  ASSERT_OK_AND_ASSIGN(auto parts, SplitByEventTime(batch, TimeGranularity::kDay));
  ASSERT_EQ(parts.size(), 1u);
  EXPECT_EQ(parts[0].first, "date=2023-11-14");
  for (PT type : batch.payload_types()) {
    EXPECT_EQ(parts[0].second.Get(type), batch.Get(type)) << TableName(type);
  }
  ASSERT_OK_AND_ASSIGN(auto empty,
                       SplitByEventTime(OtapBatch(Signal::kLogs), TimeGranularity::kDay));
  EXPECT_TRUE(empty.empty());
}

// Scenario: records with no time at all.
// Guarantees: they go to the epoch partition.
TEST(SplitByEventTimeTest, TimeZeroGoesToEpoch) {
  generator::OtlpGenerator gen({});
  otlp::LogsRequest logs = gen.NextLogs();
  for (auto& rl : *logs.mutable_resource_logs()) {
    for (auto& sl : *rl.mutable_scope_logs()) {
      for (auto& log : *sl.mutable_log_records()) {
        log.set_time_unix_nano(0);
        log.set_observed_time_unix_nano(0);
      }
    }
  }
  ASSERT_OK_AND_ASSIGN(auto batch, OneBatch(logs));
  ASSERT_OK_AND_ASSIGN(auto hourly, SplitByEventTime(batch, TimeGranularity::kHour));
  ASSERT_EQ(hourly.size(), 1u);
  EXPECT_EQ(hourly[0].first, "date=1970-01-01/hour=00");
  ASSERT_OK_AND_ASSIGN(auto daily, SplitByEventTime(batch, TimeGranularity::kDay));
  ASSERT_EQ(daily.size(), 1u);
  EXPECT_EQ(daily[0].first, "date=1970-01-01");
}

// Scenario: realistic spans (with events, links and their attributes) spread over
// two days.
// Guarantees: two valid parts; every event, link and their attributes kept exactly
// once; the union is equivalent to the input.
TEST(SplitByEventTimeTest, TracesWithEventsAndLinks) {
  generator::GeneratorOptions options;
  options.items_per_scope = 20;
  generator::OtlpGenerator gen(options);
  otlp::TracesRequest traces = gen.NextTraces();
  int k = 0;
  for (auto& rs : *traces.mutable_resource_spans()) {
    for (auto& ss : *rs.mutable_scope_spans()) {
      for (auto& span : *ss.mutable_spans()) {
        const uint64_t start = span.start_time_unix_nano() + (k++ % 2) * 24 * kHourNanos;
        const uint64_t duration = span.end_time_unix_nano() - span.start_time_unix_nano();
        span.set_start_time_unix_nano(start);
        span.set_end_time_unix_nano(start + duration);
      }
    }
  }
  const otlp::OtlpRequest request = traces;
  ASSERT_OK_AND_ASSIGN(auto batch, OneBatch(request));
  for (PT type : {PT::kSpanEvents, PT::kSpanLinks, PT::kSpanEventAttrs, PT::kSpanAttrs}) {
    ASSERT_GT(Rows(batch, type), 0) << TableName(type);
  }
  ASSERT_OK_AND_ASSIGN(auto parts, SplitByEventTime(batch, TimeGranularity::kDay));
  ASSERT_EQ(parts.size(), 2u);
  EXPECT_EQ(parts[0].first, "date=2023-11-14");
  EXPECT_EQ(parts[1].first, "date=2023-11-15");
  for (PT type : {PT::kSpans, PT::kSpanAttrs, PT::kSpanEvents, PT::kSpanLinks,
                  PT::kSpanEventAttrs, PT::kSpanLinkAttrs}) {
    EXPECT_EQ(TotalRows(parts, type), Rows(batch, type)) << TableName(type);
  }
  ASSERT_OK(CheckPartsEquivalent(request, parts));
}

// Scenario: realistic metrics (data points with exemplars) where metric m's points
// are at base + (m % 3) hours; one metric has points in two hours.
// Guarantees: three valid parts; a metric goes to the hour of its earliest point
// with all its points; data points, exemplars and their attributes kept exactly
// once; the union is equivalent to the input.
TEST(SplitByEventTimeTest, MetricsWithExemplars) {
  generator::OtlpGenerator gen({});
  otlp::MetricsRequest metrics = gen.NextMetrics();
  int m = 0;
  auto set_times = [](auto* points, uint64_t t) {
    for (auto& point : *points) {
      point.set_time_unix_nano(t);
      t += kHourNanos;  // later points of the same metric in later hours
    }
  };
  for (auto& rm : *metrics.mutable_resource_metrics()) {
    for (auto& sm : *rm.mutable_scope_metrics()) {
      for (auto& metric : *sm.mutable_metrics()) {
        const uint64_t t = kBaseNanos + static_cast<uint64_t>(m++ % 3) * kHourNanos;
        if (metric.has_gauge())
          set_times(metric.mutable_gauge()->mutable_data_points(), t);
        if (metric.has_sum()) set_times(metric.mutable_sum()->mutable_data_points(), t);
        if (metric.has_histogram()) {
          set_times(metric.mutable_histogram()->mutable_data_points(), t);
        }
        if (metric.has_exponential_histogram()) {
          set_times(metric.mutable_exponential_histogram()->mutable_data_points(), t);
        }
        if (metric.has_summary()) {
          set_times(metric.mutable_summary()->mutable_data_points(), t);
        }
      }
    }
  }
  const otlp::OtlpRequest request = metrics;
  ASSERT_OK_AND_ASSIGN(auto batch, OneBatch(request));
  const PT exemplars[] = {PT::kNumberDpExemplars, PT::kHistogramDpExemplars,
                          PT::kExpHistogramDpExemplars};
  int64_t exemplar_rows = 0;
  for (PT type : exemplars) exemplar_rows += Rows(batch, type);
  ASSERT_GT(exemplar_rows, 0);
  ASSERT_OK_AND_ASSIGN(auto parts, SplitByEventTime(batch, TimeGranularity::kHour));
  ASSERT_EQ(parts.size(), 3u);
  EXPECT_EQ(parts[0].first, "date=2024-01-02/hour=10");
  for (PT type : batch.payload_types()) {
    if (type == PT::kResourceAttrs || type == PT::kScopeAttrs) continue;
    EXPECT_EQ(TotalRows(parts, type), Rows(batch, type)) << TableName(type);
  }
  ASSERT_OK(CheckPartsEquivalent(request, parts));
}

// Scenario: edge-case OTLP (times 0, UINT64_MAX, absent ones, empty containers, ...)
// of every signal, split hourly and daily.
// Guarantees: every part is valid and the union is equivalent to the input.
TEST(SplitByEventTimeTest, EdgeCasesRoundTripForAllSignals) {
  int multi_part_splits = 0;
  for (uint64_t seed = 1; seed <= 4; ++seed) {
    for (Signal signal : kAllSignals) {
      for (auto granularity : {TimeGranularity::kHour, TimeGranularity::kDay}) {
        SCOPED_TRACE(std::string(SignalName(signal)) + " seed " + std::to_string(seed));
        generator::OtlpGenerator gen(EdgeCaseOptions(seed));
        const otlp::OtlpRequest request = gen.Next(signal);
        ASSERT_OK_AND_ASSIGN(auto batch, OneBatch(request));
        ASSERT_OK_AND_ASSIGN(auto parts, SplitByEventTime(batch, granularity));
        ASSERT_FALSE(parts.empty());
        if (parts.size() > 1) ++multi_part_splits;
        for (size_t p = 1; p < parts.size(); ++p) {
          EXPECT_LT(parts[p - 1].first, parts[p].first);
        }
        ASSERT_OK(CheckPartsEquivalent(request, parts));
      }
    }
  }
  EXPECT_GE(multi_part_splits, 12);
}

// ---------------------------------------------------------------------------------
// SplitByResourceAttribute

// Sets `service.name` of resource k to values[k] (nullopt: removes it).
template <typename Request>
void SetServiceNames(Request& request,
                     const std::vector<std::optional<std::string>>& values) {
  auto* resources = [&] {
    if constexpr (std::is_same_v<Request, otlp::LogsRequest>) {
      return request.mutable_resource_logs();
    } else {
      return request.mutable_resource_spans();
    }
  }();
  ASSERT_EQ(resources->size(), static_cast<int>(values.size()));
  for (int k = 0; k < resources->size(); ++k) {
    auto* attrs = (*resources)[k].mutable_resource()->mutable_attributes();
    for (int a = attrs->size() - 1; a >= 0; --a) {
      if ((*attrs)[a].key() == "service.name") attrs->DeleteSubrange(a, 1);
    }
    if (values[static_cast<size_t>(k)]) {
      auto* kv = attrs->Add();
      kv->set_key("service.name");
      kv->mutable_value()->set_string_value(*values[static_cast<size_t>(k)]);
    }
  }
}

// Scenario: logs of two resources, one with service.name "checkout", one without.
// Guarantees: two parts, the default level first; each valid, with only its
// resource's records and every attribute of them; together equivalent to the input.
TEST(SplitByResourceAttributeTest, LogsSplitByServiceNameWithDefault) {
  generator::OtlpGenerator gen({});
  otlp::LogsRequest logs = WithScopeAttributes(gen.NextLogs());
  SetServiceNames(logs, {std::string("checkout"), std::nullopt});
  const otlp::OtlpRequest request = logs;
  ASSERT_OK_AND_ASSIGN(auto batch, OneBatch(request));
  ASSERT_OK_AND_ASSIGN(auto parts, SplitByResourceAttribute(batch, "service.name"));
  ASSERT_EQ(parts.size(), 2u);
  EXPECT_EQ(parts[0].first, "service.name=__HIVE_DEFAULT_PARTITION__");
  EXPECT_EQ(parts[1].first, "service.name=checkout");
  EXPECT_EQ(parts[0].second.num_root_rows() + parts[1].second.num_root_rows(),
            batch.num_root_rows());
  EXPECT_EQ(TotalRows(parts, PT::kLogAttrs), Rows(batch, PT::kLogAttrs));
  EXPECT_EQ(TotalRows(parts, PT::kResourceAttrs), Rows(batch, PT::kResourceAttrs));
  EXPECT_EQ(TotalRows(parts, PT::kScopeAttrs), Rows(batch, PT::kScopeAttrs));
  ASSERT_OK(CheckPartsEquivalent(request, parts));
  // All of one value: the batch itself.
  ASSERT_OK_AND_ASSIGN(parts, SplitByResourceAttribute(batch, "tenant.id"));
  ASSERT_EQ(parts.size(), 1u);
  EXPECT_EQ(parts[0].first, "tenant.id=__HIVE_DEFAULT_PARTITION__");
  EXPECT_EQ(parts[0].second.root(), batch.root());
}

// Scenario: spans (with events, links and their attributes) of two resources whose
// service.name values would leave the directory unescaped ("../../etc", "a/b").
// Guarantees: two parts with escaped levels; every child row follows its span (the
// parts are valid and equivalent to the input: joins exact).
TEST(SplitByResourceAttributeTest, SpanChildrenFollowTheirRoot) {
  generator::OtlpGenerator gen({});
  otlp::TracesRequest traces = gen.NextTraces();
  SetServiceNames(traces, {std::string("../../etc"), std::string("a/b")});
  const otlp::OtlpRequest request = traces;
  ASSERT_OK_AND_ASSIGN(auto batch, OneBatch(request));
  ASSERT_OK_AND_ASSIGN(auto parts, SplitByResourceAttribute(batch, "service.name"));
  ASSERT_EQ(parts.size(), 2u);
  EXPECT_EQ(parts[0].first, "service.name=..%2F..%2Fetc");
  EXPECT_EQ(parts[1].first, "service.name=a%2Fb");
  for (PT type : batch.payload_types()) {
    if (type == PT::kResourceAttrs || type == PT::kScopeAttrs) continue;
    EXPECT_EQ(TotalRows(parts, type), Rows(batch, type)) << TableName(type);
  }
  ASSERT_OK(CheckPartsEquivalent(request, parts));
}

}  // namespace
}  // namespace otap_parquet::dataset
