// SPDX-License-Identifier: Apache-2.0
#include "otap_parquet/schema/normalize.h"

#include <algorithm>
#include <string>
#include <utility>
#include <vector>

#include <arrow/api.h>
#include <arrow/buffer_builder.h>
#include <arrow/json/from_string.h>
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include "otap_parquet/schema/otap_schema.h"
#include "otap_parquet/testing/gtest_util.h"

namespace otap_parquet::schema {
namespace {

using ::testing::HasSubstr;

std::shared_ptr<arrow::Array> Json(const std::shared_ptr<arrow::DataType>& type,
                                   std::string_view json) {
  return arrow::json::ArrayFromJSONString(type, json).ValueOrDie();
}

std::shared_ptr<arrow::Array> Dict(const std::shared_ptr<arrow::DataType>& index_type,
                                   const std::shared_ptr<arrow::DataType>& value_type,
                                   std::string_view indices, std::string_view values) {
  return arrow::json::DictArrayFromJSONString(arrow::dictionary(index_type, value_type),
                                              indices, values)
      .ValueOrDie();
}

std::shared_ptr<const arrow::KeyValueMetadata> Encoding(const std::string& value) {
  return arrow::key_value_metadata({"encoding"}, {value});
}

// A struct array with the given children and row validity.
std::shared_ptr<arrow::Array> Struct(const arrow::FieldVector& fields,
                                     const arrow::ArrayVector& children,
                                     const std::vector<bool>& valid) {
  arrow::TypedBufferBuilder<bool> bits;
  if (!bits.Reserve(static_cast<int64_t>(valid.size())).ok()) return nullptr;
  for (bool v : valid) bits.UnsafeAppend(v);
  const int64_t nulls =
      static_cast<int64_t>(std::count(valid.begin(), valid.end(), false));
  auto bitmap = bits.Finish().ValueOrDie();
  return arrow::StructArray::Make(children, fields, nulls ? bitmap : nullptr, nulls)
      .ValueOrDie();
}

std::shared_ptr<arrow::RecordBatch> Batch(
    std::vector<std::pair<std::shared_ptr<arrow::Field>, std::shared_ptr<arrow::Array>>>
        columns,
    std::shared_ptr<const arrow::KeyValueMetadata> metadata = nullptr) {
  arrow::FieldVector fields;
  arrow::ArrayVector arrays;
  for (auto& [field, array] : columns) {
    fields.push_back(field->WithType(array->type()));
    arrays.push_back(array);
  }
  const int64_t rows = arrays.empty() ? 0 : arrays[0]->length();
  return arrow::RecordBatch::Make(arrow::schema(fields, std::move(metadata)), rows,
                                  arrays);
}

std::shared_ptr<arrow::Field> F(
    const std::string& name,
    std::shared_ptr<const arrow::KeyValueMetadata> md = nullptr) {
  return arrow::field(name, arrow::null(), true, std::move(md));
}

std::shared_ptr<arrow::Array> Child(const arrow::Array& struct_array,
                                    const std::string& name) {
  return static_cast<const arrow::StructArray&>(struct_array).GetFieldByName(name);
}

void ExpectColumn(const arrow::RecordBatch& batch, const std::string& name,
                  const std::shared_ptr<arrow::DataType>& type, std::string_view json) {
  auto column = batch.GetColumnByName(name);
  ASSERT_NE(column, nullptr) << name;
  auto expected = Json(type, json);
  EXPECT_TRUE(column->Equals(*expected))
      << name << ": " << column->ToString() << " != " << expected->ToString();
}

// Scenario: a batch that already has the canonical schema, and one whose columns are
// canonical but reordered next to a dictionary column.
// Guarantees: the canonical batch is returned as is; canonical columns of the other
// are passed through without copying.
TEST(NormalizeTest, CanonicalColumnsPassThrough) {
  const auto& canonical = CanonicalSchema(PayloadType::kLogAttrs);
  arrow::ArrayVector columns;
  for (const auto& field : canonical->fields()) {
    columns.push_back(arrow::MakeArrayOfNull(field->type(), 2).ValueOrDie());
  }
  auto batch = arrow::RecordBatch::Make(canonical, 2, columns);
  ASSERT_OK_AND_ASSIGN(auto same, NormalizeToCanonical(PayloadType::kLogAttrs, batch));
  EXPECT_EQ(same.get(), batch.get());

  auto parent_id = Json(arrow::uint16(), "[1, 2]");
  auto str = Json(arrow::utf8(), R"(["a", null])");
  auto reordered =
      Batch({{F("str"), str},
             {F("key"), Dict(arrow::int32(), arrow::utf8(), "[0, 0]", R"(["k"])")},
             {F("parent_id"), parent_id}});
  ASSERT_OK_AND_ASSIGN(auto out, NormalizeToCanonical(PayloadType::kLogAttrs, reordered));
  EXPECT_TRUE(out->schema()->Equals(*canonical));
  EXPECT_EQ(out->GetColumnByName("str").get(), str.get());
  EXPECT_EQ(out->GetColumnByName("parent_id").get(), parent_id.get());
  ExpectColumn(*out, "key", arrow::utf8(), R"(["k", "k"])");
  ExpectColumn(*out, "type", arrow::uint8(), "[null, null]");
}

// Scenario: a logs batch in upstream's on-disk form: columns out of order, UInt32
// ids, dictionaries with Int32/UInt16/UInt8 keys inside and outside structs, a null
// body struct, a millisecond UTC timestamp, an Int64 timestamp, a missing scope, an
// extra column, id field metadata and `_part_id` schema metadata.
// Guarantees: the result has the canonical schema and the same values; struct
// validity, id field metadata (top-level and resource.id) and schema metadata are
// kept; missing columns are null; the extra column is gone; a sliced input gives the
// slice of the result.
TEST(NormalizeTest, LogsFromOnDiskForm) {
  auto body =
      Struct({arrow::field("type", arrow::uint8()),
              arrow::field("str", arrow::dictionary(arrow::uint16(), arrow::utf8())),
              arrow::field("int", arrow::dictionary(arrow::uint8(), arrow::int64()))},
             {Json(arrow::uint8(), "[1, 0, 2]"),
              Dict(arrow::uint16(), arrow::utf8(), "[0, null, null]", R"(["hello"])"),
              Dict(arrow::uint8(), arrow::int64(), "[null, null, 0]", "[42]")},
             {true, false, true});
  auto resource = Struct(
      {arrow::field("schema_url", arrow::dictionary(arrow::uint8(), arrow::utf8())),
       arrow::field("id", arrow::uint16(), true, Encoding("plain"))},
      {Dict(arrow::uint8(), arrow::utf8(), "[0, 0, 0]", R"(["https://s"])"),
       Json(arrow::uint16(), "[0, 0, 1]")},
      {true, true, true});
  auto batch =
      Batch({{F("body"), body},
             {F("severity_text"),
              Dict(arrow::int32(), arrow::utf8(), "[1, 0, 1]", R"(["INFO", "WARN"])")},
             {F("id", Encoding("plain")), Json(arrow::uint32(), "[0, null, 2]")},
             {F("resource"), resource},
             {F("time_unix_nano"),
              Json(arrow::timestamp(arrow::TimeUnit::MILLI, "UTC"), "[1, 2, null]")},
             {F("observed_time_unix_nano"), Json(arrow::int64(), "[10, 20, 30]")},
             {F("extra"), Json(arrow::int32(), "[1, 2, 3]")}},
            arrow::key_value_metadata({"_part_id"}, {"0b4c"}));

  ASSERT_OK_AND_ASSIGN(auto out, NormalizeToCanonical(PayloadType::kLogs, batch));
  ASSERT_OK(out->ValidateFull());
  const auto& canonical = CanonicalSchema(PayloadType::kLogs);
  EXPECT_TRUE(out->schema()->Equals(*canonical)) << out->schema()->ToString();
  ASSERT_NE(out->schema()->metadata(), nullptr);
  EXPECT_EQ(out->schema()->metadata()->Get("_part_id").ValueOrDie(), "0b4c");
  EXPECT_EQ(out->schema()->GetFieldByName("id")->metadata()->Get("encoding").ValueOrDie(),
            "plain");
  const auto& resource_type = static_cast<const arrow::StructType&>(
      *out->schema()->GetFieldByName("resource")->type());
  ASSERT_NE(resource_type.GetFieldByName("id")->metadata(), nullptr);
  EXPECT_EQ(resource_type.GetFieldByName("id")->metadata()->Get("encoding").ValueOrDie(),
            "plain");

  ExpectColumn(*out, "id", arrow::uint16(), "[0, null, 2]");
  ExpectColumn(*out, "severity_text", arrow::utf8(), R"(["WARN", "INFO", "WARN"])");
  ExpectColumn(*out, "time_unix_nano", TimestampType(), "[1000000, 2000000, null]");
  ExpectColumn(*out, "observed_time_unix_nano", TimestampType(), "[10, 20, 30]");
  ExpectColumn(*out, "trace_id", TraceIdType(), "[null, null, null]");
  ExpectColumn(*out, "body", AnyValueStructType(),
               R"([{"type": 1, "str": "hello"}, null, {"type": 2, "int": 42}])");
  ExpectColumn(*out, "resource", ResourceType(),
               R"([{"id": 0, "schema_url": "https://s"}, {"id": 0, "schema_url":
               "https://s"}, {"id": 1, "schema_url": "https://s"}])");
  EXPECT_EQ(out->GetColumnByName("scope")->null_count(), 3);
  EXPECT_EQ(out->GetColumnByName("extra"), nullptr);

  ASSERT_OK_AND_ASSIGN(auto sliced,
                       NormalizeToCanonical(PayloadType::kLogs, batch->Slice(1, 2)));
  ASSERT_OK(sliced->ValidateFull());
  EXPECT_TRUE(sliced->Equals(*out->Slice(1, 2)));
}

// Scenario: a UInt32 root id above 65535.
// Guarantees: Invalid naming the table and column.
TEST(NormalizeTest, RootIdOutOfRangeIsInvalid) {
  auto batch = Batch({{F("id"), Json(arrow::uint32(), "[1, 70000]")}});
  EXPECT_RAISES_WITH_MESSAGE_THAT(Invalid, HasSubstr("logs.id: cannot convert uint32"),
                                  NormalizeToCanonical(PayloadType::kLogs, batch));
}

// Scenario: a dictionary column with an index beyond its dictionary (data no decoder
// range-checked), and a valid one decoded with and without Take's bounds check.
// Guarantees: Invalid naming the column by default; a caller that checked the indices
// (dictionary_indices_checked) gets the same decoded values.
TEST(NormalizeTest, DictionaryIndicesAreCheckedUnlessTheCallerDid) {
  auto type = arrow::dictionary(arrow::uint8(), arrow::utf8());
  auto wild = std::make_shared<arrow::DictionaryArray>(
      type, Json(arrow::uint8(), "[0, 5]"), Json(arrow::utf8(), R"(["a", "b"])"));
  EXPECT_RAISES_WITH_MESSAGE_THAT(
      Invalid, HasSubstr("logs.severity_text: cannot decode"),
      NormalizeToCanonical(PayloadType::kLogs, Batch({{F("severity_text"), wild}})));
  auto batch = Batch({{F("severity_text"), Dict(arrow::uint8(), arrow::utf8(),
                                                "[1, null, 0]", R"(["a", "b"])")}});
  NormalizeOptions checked;
  checked.dictionary_indices_checked = true;
  for (const auto& options : {NormalizeOptions::Defaults(), checked}) {
    ASSERT_OK_AND_ASSIGN(auto out,
                         NormalizeToCanonical(PayloadType::kLogs, batch, options));
    ExpectColumn(*out, "severity_text", arrow::utf8(), R"(["b", null, "a"])");
  }
}

// Scenario: an AnyValue `int` child holding strings.
// Guarantees: TypeError naming table and column path; strings are never parsed.
TEST(NormalizeTest, UnconvertibleTypeNamesColumnPath) {
  auto body =
      Struct({arrow::field("type", arrow::uint8()), arrow::field("int", arrow::utf8())},
             {Json(arrow::uint8(), "[2]"), Json(arrow::utf8(), R"(["1"])")}, {true});
  auto batch = Batch({{F("body"), body}});
  EXPECT_RAISES_WITH_MESSAGE_THAT(
      TypeError, HasSubstr("logs.body.int: cannot convert utf8 to int64"),
      NormalizeToCanonical(PayloadType::kLogs, batch));
  auto bad_fsb =
      Batch({{F("trace_id"), Json(arrow::fixed_size_binary(8), R"(["12345678"])")}});
  EXPECT_RAISES_WITH_MESSAGE_THAT(TypeError, HasSubstr("logs.trace_id"),
                                  NormalizeToCanonical(PayloadType::kLogs, bad_fsb));
}

// Scenario: spans with a dictionary of Duration (as upstream's Rust encoder writes
// it), microsecond start times, Binary trace ids, dictionary span ids and kinds, and
// a status struct with a dictionary code; then durations as plain Int64.
// Guarantees: everything converts to the canonical types with the same values.
TEST(NormalizeTest, SpansTimesAndBinaryIds) {
  auto status =
      Struct({arrow::field("code", arrow::dictionary(arrow::uint8(), arrow::int32()))},
             {Dict(arrow::uint8(), arrow::int32(), "[0, 0]", "[2]")}, {true, false});
  auto batch =
      Batch({{F("id"), Json(arrow::uint16(), "[0, 1]")},
             {F("start_time_unix_nano"),
              Json(arrow::timestamp(arrow::TimeUnit::MICRO), "[5, 6]")},
             {F("duration_time_unix_nano"),
              Dict(arrow::uint16(), arrow::duration(arrow::TimeUnit::NANO), "[1, 0]",
                   "[7, 9]")},
             {F("trace_id"), Json(arrow::binary(), R"(["0123456789abcdef", null])")},
             {F("span_id"), Dict(arrow::uint8(), arrow::fixed_size_binary(8), "[0, 0]",
                                 R"(["01234567"])")},
             {F("kind"), Dict(arrow::uint16(), arrow::int32(), "[0, 0]", "[2]")},
             {F("status"), status}});
  ASSERT_OK_AND_ASSIGN(auto out, NormalizeToCanonical(PayloadType::kSpans, batch));
  ASSERT_OK(out->ValidateFull());
  EXPECT_TRUE(out->schema()->Equals(*CanonicalSchema(PayloadType::kSpans)));
  ExpectColumn(*out, "start_time_unix_nano", TimestampType(), "[5000, 6000]");
  ExpectColumn(*out, "duration_time_unix_nano", DurationType(), "[9, 7]");
  ExpectColumn(*out, "trace_id", TraceIdType(), R"(["0123456789abcdef", null])");
  ExpectColumn(*out, "span_id", SpanIdType(), R"(["01234567", "01234567"])");
  ExpectColumn(*out, "kind", arrow::int32(), "[2, 2]");
  EXPECT_EQ(out->GetColumnByName("status")->null_count(), 1);
  EXPECT_EQ(Child(*out->GetColumnByName("status"), "code")
                ->GetScalar(0)
                .ValueOrDie()
                ->ToString(),
            "2");

  auto int_durations =
      Batch({{F("duration_time_unix_nano"), Json(arrow::int64(), "[3]")}});
  ASSERT_OK_AND_ASSIGN(out, NormalizeToCanonical(PayloadType::kSpans, int_durations));
  ExpectColumn(*out, "duration_time_unix_nano", DurationType(), "[3]");
}

// Scenario: an exemplar batch with upstream's Int64 zero `double_value` (quirk Q4) and
// a dictionary `parent_id`; then one with a Float32 `double_value`.
// Guarantees: the Int64 column becomes all-null Float64, the dictionary is decoded;
// Float32 values convert.
TEST(NormalizeTest, ExemplarInt64DoubleValueIsAbsent) {
  auto batch = Batch(
      {{F("parent_id"), Dict(arrow::uint8(), arrow::uint32(), "[0, 1]", "[70000, 3]")},
       {F("int_value"), Json(arrow::int64(), "[4, 5]")},
       {F("double_value"), Json(arrow::int64(), "[0, 0]")}});
  ASSERT_OK_AND_ASSIGN(auto out,
                       NormalizeToCanonical(PayloadType::kHistogramDpExemplars, batch));
  EXPECT_TRUE(
      out->schema()->Equals(*CanonicalSchema(PayloadType::kHistogramDpExemplars)));
  ExpectColumn(*out, "parent_id", arrow::uint32(), "[70000, 3]");
  ExpectColumn(*out, "double_value", arrow::float64(), "[null, null]");

  auto floats = Batch({{F("double_value"), Json(arrow::float32(), "[1.5, null]")}});
  ASSERT_OK_AND_ASSIGN(out,
                       NormalizeToCanonical(PayloadType::kNumberDpExemplars, floats));
  ExpectColumn(*out, "double_value", arrow::float64(), "[1.5, null]");
}

// Scenario: summary data points whose `quantile` list (Parquet-style item name
// "element") holds structs with the children reversed, a Float32 child and a missing
// one; then a LargeList form.
// Guarantees: list validity and offsets are kept and the items take the canonical
// struct type.
TEST(NormalizeTest, SummaryQuantileListOfStruct) {
  auto item_type = arrow::struct_({arrow::field("value", arrow::float32()),
                                   arrow::field("quantile", arrow::float64())});
  auto list_type = arrow::list(arrow::field("element", item_type));
  auto quantiles = Json(list_type,
                        R"([[{"value": 1.5, "quantile": 0.5}], null,
                            [{"value": 2, "quantile": 0.9}, {"value": 3, "quantile": 1}]])");
  auto batch = Batch(
      {{F("quantile"), quantiles}, {F("count"), Json(arrow::int64(), "[1, 2, 3]")}});
  ASSERT_OK_AND_ASSIGN(auto out,
                       NormalizeToCanonical(PayloadType::kSummaryDataPoints, batch));
  ASSERT_OK(out->ValidateFull());
  const auto& canonical = CanonicalSchema(PayloadType::kSummaryDataPoints);
  EXPECT_TRUE(out->schema()->Equals(*canonical));
  const auto& quantile_type = canonical->GetFieldByName("quantile")->type();
  ExpectColumn(*out, "quantile", quantile_type,
               R"([[{"quantile": 0.5, "value": 1.5}], null,
                   [{"quantile": 0.9, "value": 2}, {"quantile": 1, "value": 3}]])");
  ExpectColumn(*out, "count", arrow::uint64(), "[1, 2, 3]");

  auto large =
      Json(arrow::large_list(arrow::struct_({arrow::field("value", arrow::float64())})),
           R"([[{"value": 4}]])");
  ASSERT_OK_AND_ASSIGN(out, NormalizeToCanonical(PayloadType::kSummaryDataPoints,
                                                 Batch({{F("quantile"), large}})));
  ExpectColumn(*out, "quantile", quantile_type, R"([[{"quantile": null, "value": 4}]])");

  auto negative = Batch({{F("count"), Json(arrow::int64(), "[-1]")}});
  EXPECT_RAISES_WITH_MESSAGE_THAT(
      Invalid, HasSubstr("summary_data_points.count"),
      NormalizeToCanonical(PayloadType::kSummaryDataPoints, negative));
}

// Scenario: univariate_metrics from the exporter template (extra
// `dropped_attributes_count`, no `is_monotonic`) and exponential histogram buckets
// whose `bucket_counts` are UInt32 and `offset` Int64.
// Guarantees: the extra column is dropped, the missing one is null, nested children
// convert.
TEST(NormalizeTest, MetricsExtraColumnsAndNestedBuckets) {
  auto metrics =
      Batch({{F("id"), Json(arrow::uint32(), "[0]")},
             {F("metric_type"), Json(arrow::uint8(), "[1]")},
             {F("dropped_attributes_count"), Json(arrow::uint32(), "[null]")}});
  ASSERT_OK_AND_ASSIGN(auto out,
                       NormalizeToCanonical(PayloadType::kUnivariateMetrics, metrics));
  EXPECT_TRUE(out->schema()->Equals(*CanonicalSchema(PayloadType::kUnivariateMetrics)));
  EXPECT_EQ(out->schema()->GetFieldIndex("dropped_attributes_count"), -1);
  ExpectColumn(*out, "is_monotonic", arrow::boolean(), "[null]");

  auto buckets_type =
      arrow::struct_({arrow::field("offset", arrow::int64()),
                      arrow::field("bucket_counts", arrow::list(arrow::uint32()))});
  auto positive =
      Json(buckets_type, R"([{"offset": -2, "bucket_counts": [1, 2]}, null])");
  ASSERT_OK_AND_ASSIGN(out, NormalizeToCanonical(PayloadType::kExpHistogramDataPoints,
                                                 Batch({{F("positive"), positive}})));
  ASSERT_OK(out->ValidateFull());
  EXPECT_TRUE(
      out->schema()->Equals(*CanonicalSchema(PayloadType::kExpHistogramDataPoints)));
  const auto& canonical_buckets = CanonicalSchema(PayloadType::kExpHistogramDataPoints)
                                      ->GetFieldByName("positive")
                                      ->type();
  ExpectColumn(*out, "positive", canonical_buckets,
               R"([{"offset": -2, "bucket_counts": [1, 2]}, null])");
  ExpectColumn(*out, "negative", canonical_buckets, "[null, null]");
}

// Scenario: NormalizeOptions::wide_ids on offset root ids above 65535.
// Guarantees: `id` / `parent_id` become UInt32 (field metadata kept) instead of
// failing; so do `resource.id` / `scope.id` (our files offset them too).
TEST(NormalizeTest, WideIdsKeepOffsetIds) {
  auto batch =
      Batch({{F("id", Encoding("plain")), Json(arrow::uint32(), "[1000000, null]")},
             {F("resource"), Json(arrow::struct_({arrow::field("id", arrow::uint32())}),
                                  R"([{"id": 1}, {"id": 2}])")}});
  NormalizeOptions options;
  options.wide_ids = true;
  ASSERT_OK_AND_ASSIGN(auto out,
                       NormalizeToCanonical(PayloadType::kLogs, batch, options));
  ExpectColumn(*out, "id", arrow::uint32(), "[1000000, null]");
  EXPECT_EQ(out->schema()->field(0)->metadata()->Get("encoding").ValueOrDie(), "plain");
  const auto& resource_type = static_cast<const arrow::StructType&>(
      *out->schema()->GetFieldByName("resource")->type());
  EXPECT_TRUE(resource_type.GetFieldByName("id")->type()->Equals(arrow::uint32()));
  EXPECT_EQ(resource_type.num_fields(), ResourceType()->num_fields());

  auto attrs = Batch({{F("parent_id"), Json(arrow::uint32(), "[1000000]")}});
  ASSERT_OK_AND_ASSIGN(out, NormalizeToCanonical(PayloadType::kLogAttrs, attrs, options));
  ExpectColumn(*out, "parent_id", arrow::uint32(), "[1000000]");
}

}  // namespace
}  // namespace otap_parquet::schema
