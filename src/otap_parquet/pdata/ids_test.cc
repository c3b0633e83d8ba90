// SPDX-License-Identifier: Apache-2.0
#include "otap_parquet/pdata/ids.h"

#include <string>
#include <utility>
#include <vector>

#include <arrow/api.h>
#include <arrow/json/from_string.h>
#include <arrow/util/bitmap_builders.h>
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include "otap_parquet/schema/normalize.h"
#include "otap_parquet/schema/otap_schema.h"
#include "otap_parquet/testing/gtest_util.h"

namespace otap_parquet {
namespace {

using ::testing::ElementsAre;
using ::testing::ElementsAreArray;
using ::testing::HasSubstr;
using PT = PayloadType;

using Columns = std::vector<std::pair<std::string, std::shared_ptr<arrow::Array>>>;

std::shared_ptr<arrow::Array> Json(const std::shared_ptr<arrow::DataType>& type,
                                   std::string_view json) {
  return arrow::json::ArrayFromJSONString(type, json).ValueOrDie();
}

// A table with the canonical schema of `type`: the given columns (their types), all
// others null.
std::shared_ptr<arrow::RecordBatch> Table(PT type, int64_t rows, const Columns& columns) {
  arrow::FieldVector fields;
  arrow::ArrayVector arrays;
  for (const auto& field : schema::CanonicalSchema(type)->fields()) {
    std::shared_ptr<arrow::Array> array;
    for (const auto& [name, given] : columns) {
      if (name == field->name()) array = given;
    }
    if (!array) array = arrow::MakeArrayOfNull(field->type(), rows).ValueOrDie();
    fields.push_back(field->WithType(array->type()));
    arrays.push_back(std::move(array));
  }
  return arrow::RecordBatch::Make(arrow::schema(fields), rows, arrays);
}

std::shared_ptr<const arrow::KeyValueMetadata> Encoding(const std::string& value) {
  return arrow::key_value_metadata({kEncodingMetadataKey}, {value});
}

// Sets `encoding` metadata on a top-level field.
std::shared_ptr<arrow::RecordBatch> MarkEncoding(
    const std::shared_ptr<arrow::RecordBatch>& batch, const std::string& name,
    const std::string& value) {
  const int i = batch->schema()->GetFieldIndex(name);
  auto field = batch->schema()->field(i)->WithMetadata(Encoding(value));
  return batch->SetColumn(i, field, batch->column(i)).ValueOrDie();
}

// Sets `encoding` metadata on the `id` child of a struct column.
std::shared_ptr<arrow::RecordBatch> MarkStructIdEncoding(
    const std::shared_ptr<arrow::RecordBatch>& batch, const std::string& name,
    const std::string& value) {
  const int i = batch->schema()->GetFieldIndex(name);
  auto fields = batch->schema()->field(i)->type()->fields();
  for (auto& child : fields) {
    if (child->name() == "id") child = child->WithMetadata(Encoding(value));
  }
  auto data = batch->column(i)->data()->Copy();
  data->type = arrow::struct_(fields);
  auto field = batch->schema()->field(i)->WithType(data->type);
  return batch->SetColumn(i, field, arrow::MakeArray(data)).ValueOrDie();
}

std::string EncodingOf(const arrow::Field& field) {
  if (!field.metadata()) return "";
  return field.metadata()->Get(kEncodingMetadataKey).ValueOr("");
}

void ExpectIds(const arrow::Array& actual, const std::shared_ptr<arrow::DataType>& type,
               std::string_view json) {
  auto expected = Json(type, json);
  EXPECT_TRUE(actual.Equals(*expected)) << actual.ToString() << "\n != expected\n"
                                        << expected->ToString();
}

std::shared_ptr<arrow::Array> StructChild(const arrow::RecordBatch& batch,
                                          const std::string& name) {
  return static_cast<const arrow::StructArray&>(*batch.GetColumnByName(name))
      .GetFieldByName("id");
}

std::vector<int32_t> ToVector(std::span<const int32_t> span) {
  return {span.begin(), span.end()};
}

// Scenario: a logs table whose `id` (with nulls), `resource.id` and `scope.id` carry
// no encoding metadata (as from a Go producer), and a log_attrs table marked plain.
// Guarantees: the three root columns are delta decoded (prefix sum skipping nulls)
// and marked plain; the plain table is passed through untouched.
TEST(DecodeTransportIdsTest, DeltaDecodesRootIds) {
  auto resource = Json(schema::ResourceType(),
                       R"([{"id": 0}, {"id": 0}, {"id": 1}, {"id": 0}, {"id": 1}])");
  auto scope = Json(schema::ScopeType(),
                    R"([{"id": 3}, null, {"id": null}, {"id": 1}, {"id": 1}])");
  OtapBatch batch(Signal::kLogs);
  batch.Set(PT::kLogs, Table(PT::kLogs, 5,
                             {{"id", Json(arrow::uint16(), "[1, 1, null, 2, 0]")},
                              {"resource", resource},
                              {"scope", scope}}));
  auto attrs = MarkEncoding(Table(PT::kLogAttrs, 2,
                                  {{"parent_id", Json(arrow::uint16(), "[4, 1]")},
                                   {"key", Json(arrow::utf8(), R"(["k", "k"])")},
                                   {"type", Json(arrow::uint8(), "[1, 1]")},
                                   {"str", Json(arrow::utf8(), R"(["v", "v"])")}}),
                            "parent_id", "plain");
  batch.Set(PT::kLogAttrs, attrs);

  ASSERT_OK_AND_ASSIGN(auto decoded, DecodeTransportIds(batch));
  ASSERT_OK(decoded.Validate());
  const auto& logs = *decoded.Get(PT::kLogs);
  ExpectIds(*logs.GetColumnByName("id"), arrow::uint16(), "[1, 2, null, 4, 4]");
  ExpectIds(*StructChild(logs, "resource"), arrow::uint16(), "[0, 0, 1, 1, 2]");
  // Decoding follows the child's own validity: under the null scope row the child
  // holds a valid 0 (as Arrow's JSON reader fills it), the null child is skipped.
  ExpectIds(*StructChild(logs, "scope"), arrow::uint16(), "[3, 3, null, 4, 5]");
  EXPECT_EQ(logs.GetColumnByName("scope")->null_count(), 1);
  EXPECT_EQ(EncodingOf(*logs.schema()->GetFieldByName("id")), "plain");
  const auto& resource_type = static_cast<const arrow::StructType&>(
      *logs.schema()->GetFieldByName("resource")->type());
  EXPECT_EQ(EncodingOf(*resource_type.GetFieldByName("id")), "plain");
  EXPECT_EQ(decoded.Get(PT::kLogAttrs).get(), attrs.get());

  // Decoding again changes nothing: every column is now marked plain.
  ASSERT_OK_AND_ASSIGN(auto again, DecodeTransportIds(decoded));
  EXPECT_TRUE(again.Get(PT::kLogs)->Equals(logs));
  EXPECT_EQ(again.Get(PT::kLogs)->column(0).get(), logs.column(0).get());
}

// Scenario: explicit `delta` / `quasidelta` metadata, and an unknown value.
// Guarantees: the known values are decoded like missing metadata; the unknown one
// is Invalid naming table and column.
TEST(DecodeTransportIdsTest, EncodingMetadataValues) {
  OtapBatch batch(Signal::kMetrics);
  batch.Set(
      PT::kUnivariateMetrics,
      MarkStructIdEncoding(
          MarkEncoding(Table(PT::kUnivariateMetrics, 3,
                             {{"id", Json(arrow::uint16(), "[0, 1, 1]")},
                              {"scope", Json(schema::ScopeType(),
                                             R"([{"id": 2}, {"id": 0}, {"id": 1}])")}}),
                       "id", "delta"),
          "scope", "plain"));
  batch.Set(PT::kNumberDataPoints,
            MarkEncoding(Table(PT::kNumberDataPoints, 3,
                               {{"id", Json(arrow::uint32(), "[5, 1, 1]")},
                                {"parent_id", Json(arrow::uint16(), "[0, 1, 1]")}}),
                         "parent_id", "quasidelta"));
  ASSERT_OK_AND_ASSIGN(auto decoded, DecodeTransportIds(batch));
  const auto& metrics = *decoded.Get(PT::kUnivariateMetrics);
  ExpectIds(*metrics.GetColumnByName("id"), arrow::uint16(), "[0, 1, 2]");
  ExpectIds(*StructChild(metrics, "scope"), arrow::uint16(), "[2, 0, 1]");
  const auto& points = *decoded.Get(PT::kNumberDataPoints);
  ExpectIds(*points.GetColumnByName("id"), arrow::uint32(), "[5, 6, 7]");
  ExpectIds(*points.GetColumnByName("parent_id"), arrow::uint16(), "[0, 1, 2]");

  batch.Set(PT::kNumberDataPoints,
            MarkEncoding(batch.Get(PT::kNumberDataPoints), "parent_id", "rle"));
  EXPECT_RAISES_WITH_MESSAGE_THAT(Invalid, HasSubstr("number_data_points.parent_id"),
                                  DecodeTransportIds(batch));
}

// The attribute quasi-delta example: rows of (type, key, value, encoded parent id,
// expected decoded parent id).
struct AttrRow {
  schema::AnyValueType type;
  const char* key;
  const char* value;  // JSON literal for the type's value column, "null" for none
  uint32_t encoded;
  uint32_t decoded;
};

std::shared_ptr<arrow::RecordBatch> AttrsTable(PT type, const std::vector<AttrRow>& rows,
                                               bool decoded) {
  using schema::AnyValueType;
  std::string types = "[", keys = "[", parent_ids = "[";
  std::vector<std::string> values(8, "[");
  for (size_t i = 0; i < rows.size(); ++i) {
    const auto& row = rows[i];
    const std::string sep = i ? ", " : "";
    types += sep + std::to_string(static_cast<int>(row.type));
    keys += sep + "\"" + row.key + "\"";
    parent_ids += sep + std::to_string(decoded ? row.decoded : row.encoded);
    for (int t = 0; t < 8; ++t) {
      const bool active = t == static_cast<int>(row.type);
      values[t] += sep + (active ? row.value : "null");
    }
  }
  for (auto* s : {&types, &keys, &parent_ids}) *s += "]";
  for (auto& s : values) s += "]";
  return Table(type, static_cast<int64_t>(rows.size()),
               {{"parent_id", Json(schema::ParentIdType(type), parent_ids)},
                {"type", Json(arrow::uint8(), types)},
                {"key", Json(arrow::utf8(), keys)},
                {"str", Json(arrow::utf8(), values[1])},
                {"int", Json(arrow::int64(), values[2])},
                {"double", Json(arrow::float64(), values[3])},
                {"bool", Json(arrow::boolean(), values[4])},
                {"bytes", Json(arrow::binary(), values[7])},
                {"ser", Json(arrow::binary(), values[5])}});
}

const std::vector<AttrRow>& AttrExample() {
  using T = schema::AnyValueType;
  static const std::vector<AttrRow> rows = {
      {T::kStr, "a1", "\"a\"", 0, 0},    // first row: absolute
      {T::kStr, "a1", "\"a\"", 1, 1},    // same key and value: delta
      {T::kStr, "a1", "\"a\"", 1, 2},    //
      {T::kStr, "a1", "\"a\"", 2, 4},    //
      {T::kStr, "a1", "\"b\"", 0, 0},    // value changes: absolute
      {T::kStr, "a2", "\"b\"", 0, 0},    // key changes: absolute
      {T::kSlice, "a3", "\"x\"", 3, 3},  // Slice (its `ser` is set): never delta
      {T::kSlice, "a3", "\"x\"", 3, 3},  //
      {T::kMap, "a3", "\"x\"", 1, 1},    // Map: never delta
      {T::kMap, "a3", "\"x\"", 1, 1},    //
      {T::kEmpty, "a3", "null", 2, 2},   // Empty: never delta
      {T::kEmpty, "a3", "null", 2, 2},   //
      {T::kStr, "a4", "null", 0, 0},     // null value
      {T::kStr, "a4", "null", 5, 5},     // null values never delta
      {T::kInt, "a5", "7", 3, 3},        //
      {T::kInt, "a5", "7", 1, 4},        // equal Int: delta
      {T::kDouble, "a5", "7.0", 1, 1},   // type changes: absolute
      {T::kDouble, "a5", "7.0", 2, 3},   // equal Double: delta
      {T::kDouble, "a5", "7.5", 2, 2},   //
      {T::kBool, "a6", "true", 2, 2},    //
      {T::kBool, "a6", "true", 2, 4},    // equal Bool: delta
      {T::kBool, "a6", "false", 1, 1},   //
      {T::kBytes, "a7", "\"x\"", 5, 5},  //
      {T::kBytes, "a7", "\"x\"", 1, 6},  // equal Bytes: delta
  };
  return rows;
}

// Scenario: the attribute quasi-delta rules on a UInt16 (log_attrs) and a UInt32
// (span_event_attrs) parent id column, mirroring upstream's documented example,
// with `quasidelta` metadata (a Rust producer).
// Guarantees: delta only where type, key and the non-null value equal the previous
// row's, never for Empty/Map/Slice; otherwise absolute.
TEST(DecodeTransportIdsTest, AttributeQuasiDelta) {
  for (PT type : {PT::kLogAttrs, PT::kSpanEventAttrs}) {
    const Signal signal = type == PT::kLogAttrs ? Signal::kLogs : Signal::kTraces;
    OtapBatch batch(signal);
    batch.Set(type, MarkEncoding(AttrsTable(type, AttrExample(), /*decoded=*/false),
                                 "parent_id", "quasidelta"));
    ASSERT_OK_AND_ASSIGN(auto decoded, DecodeTransportIds(batch));
    auto expected = AttrsTable(type, AttrExample(), /*decoded=*/true);
    const auto& actual = *decoded.Get(type)->GetColumnByName("parent_id");
    EXPECT_TRUE(actual.Equals(*expected->GetColumnByName("parent_id")))
        << TableName(type) << ": " << actual.ToString();
    EXPECT_EQ(EncodingOf(*decoded.Get(type)->schema()->field(0)), "plain");
  }
}

// Rows as Go's producer writes them: an empty bytes value is null (its builder
// appends nil as null), an empty string is not.
const std::vector<AttrRow>& GoNullExample() {
  using T = schema::AnyValueType;
  static const std::vector<AttrRow> rows = {
      {T::kBytes, "k", "null", 3, 3},   // empty bytes, first of its run: absolute
      {T::kBytes, "k", "null", 1, 4},   // Go: empty == empty, delta
      {T::kBytes, "k", "\"\"", 2, 6},   // a valid empty value equals a null one
      {T::kBytes, "k", "\"x\"", 1, 1},  // value changes: absolute
      {T::kStr, "s", "null", 2, 2},     // type changes: absolute
      {T::kStr, "s", "\"\"", 1, 3},     // null reads as "": delta
      {T::kInt, "s", "null", 4, 4},     //
      {T::kInt, "s", "0", 1, 5},        // null reads as 0: delta
      {T::kEmpty, "e", "null", 2, 2},   // Empty never chains, not even in Go
      {T::kEmpty, "e", "null", 2, 2},   //
  };
  return rows;
}

// Scenario: attribute rows with null values, once without `encoding` metadata
// (Go's producer, which writes empty bytes as null; its consumer reads a null as
// the zero value), once with `quasidelta` (Rust: null values never delta).
// Guarantees: each is decoded with its producer's rule (Go: the run of empty bytes
// values chains, as in otel-arrow/go's AttrsParentIDDecoder); the edge-case logs
// from the Go sender held 71 records with an empty bytes attribute moved to another
// record before this.
TEST(DecodeTransportIdsTest, AttributeNullValuesFollowTheProducer) {
  OtapBatch go(Signal::kLogs);
  go.Set(PT::kLogAttrs, AttrsTable(PT::kLogAttrs, GoNullExample(), /*decoded=*/false));
  ASSERT_OK_AND_ASSIGN(auto decoded, DecodeTransportIds(go));
  ExpectIds(*decoded.Get(PT::kLogAttrs)->GetColumnByName("parent_id"), arrow::uint16(),
            "[3, 4, 6, 1, 2, 3, 4, 5, 2, 2]");

  OtapBatch rust(Signal::kLogs);
  rust.Set(PT::kLogAttrs,
           MarkEncoding(AttrsTable(PT::kLogAttrs, GoNullExample(), /*decoded=*/false),
                        "parent_id", "quasidelta"));
  ASSERT_OK_AND_ASSIGN(decoded, DecodeTransportIds(rust));
  ExpectIds(*decoded.Get(PT::kLogAttrs)->GetColumnByName("parent_id"), arrow::uint16(),
            "[3, 1, 2, 1, 2, 1, 4, 1, 2, 2]");
}

// Scenario: Go's producer leaves a value column out when no row has a value in it
// (here `bytes`: every bytes value is empty).
// Guarantees: the rows chain as if the column were all null (Go reads nil).
TEST(DecodeTransportIdsTest, AbsentValueColumnChainsForGo) {
  using T = schema::AnyValueType;
  const std::vector<AttrRow> rows = {{T::kBytes, "k", "null", 2, 2},
                                     {T::kBytes, "k", "null", 1, 3}};
  auto table = AttrsTable(PT::kLogAttrs, rows, /*decoded=*/false);
  table = table->RemoveColumn(table->schema()->GetFieldIndex("bytes")).ValueOrDie();
  OtapBatch go(Signal::kLogs);
  go.Set(PT::kLogAttrs, table);
  ASSERT_OK_AND_ASSIGN(auto decoded, DecodeTransportIds(go));
  ExpectIds(*decoded.Get(PT::kLogAttrs)->GetColumnByName("parent_id"), arrow::uint16(),
            "[2, 3]");
}

// Scenario: log attributes whose double values repeat NaN and alternate 0.0 / -0.0
// under one key on consecutive records, and empty bytes values as nulls, encoded in
// each dialect; a Go receiver ignores `encoding` metadata and decodes with Go's rules
// (as DecodeTransportIds does without metadata).
// Guarantees: encoded as Go, the ids carry no metadata and decode back exactly with
// Go's rules; encoded as Rust they decode back exactly with the metadata, but Go's
// rules put rows on other parents (the gap IdDialect::kGo closes).
TEST(EncodeTransportIdsTest, GoDialectDecodesExactlyWithGoRules) {
  using T = schema::AnyValueType;
  const std::vector<AttrRow> rows = {
      {T::kDouble, "k", "NaN", 0, 0}, {T::kDouble, "k", "NaN", 0, 1},
      {T::kDouble, "k", "NaN", 0, 2}, {T::kDouble, "z", "-0.0", 0, 3},
      {T::kDouble, "z", "0.0", 0, 4}, {T::kDouble, "z", "-0.0", 0, 5},
      {T::kBytes, "b", "null", 0, 6}, {T::kBytes, "b", "null", 0, 7},
      {T::kBytes, "b", "\"\"", 0, 8},
  };
  OtapBatch plain(Signal::kLogs);
  plain.Set(PT::kLogAttrs, AttrsTable(PT::kLogAttrs, rows, /*decoded=*/true));
  const auto& expected = *plain.Get(PT::kLogAttrs)->GetColumnByName("parent_id");
  auto strip = [](OtapBatch batch) {
    auto table = batch.Get(PT::kLogAttrs);
    const int i = table->schema()->GetFieldIndex("parent_id");
    batch.Set(
        PT::kLogAttrs,
        table->SetColumn(i, table->schema()->field(i)->RemoveMetadata(), table->column(i))
            .ValueOrDie());
    return batch;
  };

  ASSERT_OK_AND_ASSIGN(auto go, EncodeTransportIds(plain, IdDialect::kGo));
  EXPECT_EQ(go.Get(PT::kLogAttrs)->schema()->GetFieldByName("parent_id")->metadata(),
            nullptr);
  ASSERT_OK_AND_ASSIGN(auto go_back, DecodeTransportIds(go));
  EXPECT_TRUE(go_back.Get(PT::kLogAttrs)->GetColumnByName("parent_id")->Equals(expected))
      << go_back.Get(PT::kLogAttrs)->GetColumnByName("parent_id")->ToString();

  ASSERT_OK_AND_ASSIGN(auto rust, EncodeTransportIds(plain));
  ASSERT_OK_AND_ASSIGN(auto rust_back, DecodeTransportIds(rust));
  EXPECT_TRUE(
      rust_back.Get(PT::kLogAttrs)->GetColumnByName("parent_id")->Equals(expected));
  ASSERT_OK_AND_ASSIGN(auto rust_read_as_go, DecodeTransportIds(strip(rust)));
  EXPECT_FALSE(
      rust_read_as_go.Get(PT::kLogAttrs)->GetColumnByName("parent_id")->Equals(expected));
}

// Scenario: the attribute example behind a copy of itself, sliced off: every column
// of the decoded table has a non-zero array offset (as after RecordBatch::Slice).
// Guarantees: the same parent ids as the unsliced example (offsets of validity
// bitmaps, string offsets and values are honoured).
TEST(DecodeTransportIdsTest, AttributeQuasiDeltaOnSlicedColumns) {
  std::vector<AttrRow> doubled = AttrExample();
  doubled.insert(doubled.end(), AttrExample().begin(), AttrExample().end());
  const auto rows = static_cast<int64_t>(AttrExample().size());
  OtapBatch batch(Signal::kLogs);
  batch.Set(PT::kLogAttrs,
            AttrsTable(PT::kLogAttrs, doubled, /*decoded=*/false)->Slice(rows, rows));
  ASSERT_OK_AND_ASSIGN(auto decoded, DecodeTransportIds(batch));
  auto expected = AttrsTable(PT::kLogAttrs, AttrExample(), /*decoded=*/true);
  const auto& actual = *decoded.Get(PT::kLogAttrs)->GetColumnByName("parent_id");
  EXPECT_TRUE(actual.Equals(*expected->GetColumnByName("parent_id")))
      << actual.ToString();
}

// Scenario: an attribute type code outside 0..7.
// Guarantees: Invalid naming the table (upstream rejects it too).
TEST(DecodeTransportIdsTest, UnknownAttributeTypeIsInvalid) {
  OtapBatch batch(Signal::kLogs);
  batch.Set(PT::kLogAttrs, Table(PT::kLogAttrs, 1,
                                 {{"parent_id", Json(arrow::uint16(), "[0]")},
                                  {"type", Json(arrow::uint8(), "[9]")},
                                  {"key", Json(arrow::utf8(), R"(["k"])")}}));
  EXPECT_RAISES_WITH_MESSAGE_THAT(Invalid,
                                  HasSubstr("log_attrs.type: unknown attribute type 9"),
                                  DecodeTransportIds(batch));
}

// Scenario: span events (quasi-delta on `name`, nulls included), span links
// (quasi-delta on `trace_id`) and their delta-encoded ids.
// Guarantees: parent ids are deltas exactly where the equality column equals the
// previous row's (two nulls are equal), absolute elsewhere.
TEST(DecodeTransportIdsTest, SpanEventsAndLinksQuasiDelta) {
  OtapBatch batch(Signal::kTraces);
  batch.Set(
      PT::kSpanEvents,
      Table(PT::kSpanEvents, 7,
            {{"id", Json(arrow::uint32(), "[0, 1, 1, 1, null, 1, 1]")},
             {"parent_id", Json(arrow::uint16(), "[1, 1, 3, 2, 1, 4, 1]")},
             {"name", Json(arrow::utf8(), R"(["a", "a", "b", null, null, "b", "b"])")}}));
  batch.Set(PT::kSpanLinks,
            Table(PT::kSpanLinks, 4,
                  {{"id", Json(arrow::uint32(), "[2, 2, 2, 2]")},
                   {"parent_id", Json(arrow::uint16(), "[7, 1, 0, 2]")},
                   {"trace_id", Json(schema::TraceIdType(),
                                     R"(["aaaaaaaaaaaaaaaa", "aaaaaaaaaaaaaaaa",
                                         "bbbbbbbbbbbbbbbb", "bbbbbbbbbbbbbbbb"])")}}));
  ASSERT_OK_AND_ASSIGN(auto decoded, DecodeTransportIds(batch));
  const auto& events = *decoded.Get(PT::kSpanEvents);
  ExpectIds(*events.GetColumnByName("id"), arrow::uint32(), "[0, 1, 2, 3, null, 4, 5]");
  ExpectIds(*events.GetColumnByName("parent_id"), arrow::uint16(),
            "[1, 2, 3, 2, 3, 4, 5]");
  const auto& links = *decoded.Get(PT::kSpanLinks);
  ExpectIds(*links.GetColumnByName("id"), arrow::uint32(), "[2, 4, 6, 8]");
  ExpectIds(*links.GetColumnByName("parent_id"), arrow::uint16(), "[7, 8, 0, 2]");
}

// Scenario: exemplars, quasi-delta on (`int_value`, `double_value`), upstream's
// documented example, next to delta-encoded data point parent ids.
// Guarantees: delta where both value columns equal the previous row's (nulls equal).
TEST(DecodeTransportIdsTest, ExemplarsQuasiDelta) {
  OtapBatch batch(Signal::kMetrics);
  batch.Set(PT::kNumberDpExemplars,
            Table(PT::kNumberDpExemplars, 8,
                  {{"parent_id", Json(arrow::uint32(), "[0, 1, 1, 1, 1, 1, 1, 1]")},
                   {"int_value",
                    Json(arrow::int64(), "[1, 1, 2, null, null, null, null, null]")},
                   {"double_value",
                    Json(arrow::float64(), "[null, null, null, 1, 1, 2, null, null]")}}));
  batch.Set(PT::kHistogramDataPoints,
            Table(PT::kHistogramDataPoints, 3,
                  {{"id", Json(arrow::uint32(), "[0, 1, 1]")},
                   {"parent_id", Json(arrow::uint16(), "[3, 0, 2]")}}));
  ASSERT_OK_AND_ASSIGN(auto decoded, DecodeTransportIds(batch));
  ExpectIds(*decoded.Get(PT::kNumberDpExemplars)->GetColumnByName("parent_id"),
            arrow::uint32(), "[0, 1, 1, 1, 2, 1, 1, 2]");
  ExpectIds(*decoded.Get(PT::kHistogramDataPoints)->GetColumnByName("parent_id"),
            arrow::uint16(), "[3, 3, 5]");
}

// Scenario: exemplars whose double_value repeats NaN and flips between -0.0 and 0.0,
// once without `encoding` metadata (Go's producer: compares values, NaN != NaN,
// -0.0 == 0.0) and once with `quasidelta` (Rust: bitwise, NaN == NaN, -0.0 != 0.0).
// Guarantees: each is decoded with its producer's equality.
TEST(DecodeTransportIdsTest, FloatEqualityFollowsTheProducer) {
  auto exemplars = [] {
    OtapBatch batch(Signal::kMetrics);
    batch.Set(PT::kNumberDpExemplars,
              Table(PT::kNumberDpExemplars, 4,
                    {{"parent_id", Json(arrow::uint32(), "[4, 1, 7, 1]")},
                     {"double_value", Json(arrow::float64(), "[NaN, NaN, -0.0, 0.0]")}}));
    return batch;
  };
  ASSERT_OK_AND_ASSIGN(auto go, DecodeTransportIds(exemplars()));
  ExpectIds(*go.Get(PT::kNumberDpExemplars)->GetColumnByName("parent_id"),
            arrow::uint32(), "[4, 1, 7, 8]");
  OtapBatch rust = exemplars();
  rust.Set(PT::kNumberDpExemplars,
           MarkEncoding(rust.Get(PT::kNumberDpExemplars), "parent_id", "quasidelta"));
  ASSERT_OK_AND_ASSIGN(auto decoded, DecodeTransportIds(rust));
  ExpectIds(*decoded.Get(PT::kNumberDpExemplars)->GetColumnByName("parent_id"),
            arrow::uint32(), "[4, 5, 7, 1]");
}

// A primitive array with `stored[i]` under row i, valid or not (Arrow C++ kernels such
// as Take may leave anything under a null; arrow-rs builders leave 0).
template <typename ArrowType>
std::shared_ptr<arrow::Array> Stored(
    const std::vector<typename ArrowType::c_type>& stored,
    const std::vector<uint8_t>& valid) {
  auto validity = arrow::internal::BytesToBits(valid).ValueOrDie();
  int64_t nulls = 0;
  for (uint8_t v : valid) nulls += v ? 0 : 1;
  return arrow::MakeArray(arrow::ArrayData::Make(
      arrow::TypeTraits<ArrowType>::type_singleton(), static_cast<int64_t>(stored.size()),
      {std::move(validity), arrow::Buffer::FromVector(stored)}, nulls));
}

// Exemplar parent ids as Rust's decoder reads `table` (otap-dataflow pdata
// `otap/transform.rs:533-575`): a delta where the values stored under int_value and
// double_value both equal the previous row's, valid or not (an absent column equal).
std::vector<uint32_t> RustExemplarParents(const arrow::RecordBatch& table) {
  auto stored_equal = [&](const char* name, int64_t i) {
    const auto column = table.GetColumnByName(name);
    if (!column) return true;
    const auto* values = column->data()->GetValues<uint64_t>(1);
    return values[i] == values[i - 1];
  };
  const auto& encoded =
      static_cast<const arrow::UInt32Array&>(*table.GetColumnByName("parent_id"));
  std::vector<uint32_t> parents;
  for (int64_t i = 0; i < table.num_rows(); ++i) {
    const bool delta =
        i > 0 && stored_equal("int_value", i) && stored_equal("double_value", i);
    parents.push_back(delta ? parents.back() + encoded.Value(i) : encoded.Value(i));
  }
  return parents;
}

// Scenario: exemplars from a Rust producer (`quasidelta` metadata, 0 stored under
// nulls): a row without a value, then int 0, then double +0.0, then 1.5.
// Guarantees: decoded as Rust decodes them: the stored values are compared whatever
// the validity, so a null chains with a valid 0 / +0.0 (before: read as absolute ids,
// the exemplars landed on other data points; df_engine -> us).
TEST(DecodeTransportIdsTest, RustExemplarNullsCompareTheStoredZero) {
  OtapBatch batch(Signal::kMetrics);
  batch.Set(
      PT::kNumberDpExemplars,
      MarkEncoding(
          Table(PT::kNumberDpExemplars, 4,
                {{"parent_id", Json(arrow::uint32(), "[1, 1, 1, 1]")},
                 {"int_value", Stored<arrow::Int64Type>({0, 0, 0, 0}, {0, 1, 0, 0})},
                 {"double_value",
                  Stored<arrow::DoubleType>({0, 0, 0, 1.5}, {0, 0, 1, 1})}}),
          "parent_id", "quasidelta"));
  ASSERT_OK_AND_ASSIGN(auto decoded, DecodeTransportIds(batch));
  ExpectIds(*decoded.Get(PT::kNumberDpExemplars)->GetColumnByName("parent_id"),
            arrow::uint32(), "[1, 2, 3, 1]");
}

// Scenario: exemplars encoded with the Rust dialect: rows without a value next to int
// 0 and double +0.0, with garbage stored under some nulls.
// Guarantees: Rust's decoder (comparing stored values) and ours both read back the
// original parent ids (before: a valid 0 next to a null was encoded as an absolute id
// that Rust read as a delta; us -> df_engine: 24 exemplars on other data points).
TEST(EncodeTransportIdsTest, ExemplarsDecodeAsRustDecodesThem) {
  OtapBatch batch(Signal::kMetrics);
  batch.Set(PT::kNumberDpExemplars,
            Table(PT::kNumberDpExemplars, 6,
                  {{"id", Json(arrow::uint32(), "[0, 1, 2, 3, 4, 5]")},
                   {"parent_id", Json(arrow::uint32(), "[3, 5, 6, 7, 2, 9]")},
                   {"int_value",
                    Stored<arrow::Int64Type>({77, 0, 0, 5, 0, 0}, {0, 1, 0, 0, 0, 1})},
                   {"double_value", Stored<arrow::DoubleType>({2.5, 0, 0, 0, 0, 0},
                                                              {0, 0, 0, 1, 1, 0})}}));
  ASSERT_OK_AND_ASSIGN(auto encoded, EncodeTransportIds(batch, IdDialect::kRust));
  EXPECT_THAT(RustExemplarParents(*encoded.Get(PT::kNumberDpExemplars)),
              ElementsAre(3, 5, 6, 7, 2, 9));
  ASSERT_OK_AND_ASSIGN(auto decoded, DecodeTransportIds(encoded));
  ExpectIds(*decoded.Get(PT::kNumberDpExemplars)->GetColumnByName("parent_id"),
            arrow::uint32(), "[3, 5, 6, 7, 2, 9]");
}

// Scenario: a traces batch with unsorted ids, nulls and repeated attribute values,
// encoded then decoded.
// Guarantees: decode(encode(x)) == x but for the null event name, sent empty (as
// Rust's producer sends it); the encoded fields say delta / quasidelta; decreasing
// ids wrap and still decode.
TEST(EncodeTransportIdsTest, RoundTrip) {
  OtapBatch batch(Signal::kTraces);
  batch.Set(PT::kSpans,
            Table(PT::kSpans, 4,
                  {{"id", Json(arrow::uint16(), "[3, 1, null, 2]")},
                   {"resource", Json(schema::ResourceType(),
                                     R"([{"id": 1}, {"id": 0}, {"id": 1}, null])")}}));
  batch.Set(PT::kSpanEvents,
            Table(PT::kSpanEvents, 4,
                  {{"id", Json(arrow::uint32(), "[9, 4, 5, 6]")},
                   {"parent_id", Json(arrow::uint16(), "[3, 1, 1, 2]")},
                   {"name", Json(arrow::utf8(), R"(["e", "e", "e", null])")}}));
  batch.Set(PT::kSpanAttrs, AttrsTable(PT::kSpanAttrs, AttrExample(), /*decoded=*/true));
  batch.Set(PT::kSpanEventAttrs,
            AttrsTable(PT::kSpanEventAttrs, AttrExample(), /*decoded=*/true));
  ASSERT_OK_AND_ASSIGN(auto encoded, EncodeTransportIds(batch));
  const auto& spans = *encoded.Get(PT::kSpans);
  ExpectIds(*spans.GetColumnByName("id"), arrow::uint16(), "[3, 65534, null, 1]");
  EXPECT_EQ(EncodingOf(*spans.schema()->GetFieldByName("id")), "delta");
  EXPECT_EQ(
      EncodingOf(*encoded.Get(PT::kSpanEvents)->schema()->GetFieldByName("parent_id")),
      "quasidelta");
  auto expected_attrs = AttrsTable(PT::kSpanAttrs, AttrExample(), /*decoded=*/false);
  EXPECT_TRUE(encoded.Get(PT::kSpanAttrs)
                  ->GetColumnByName("parent_id")
                  ->Equals(*expected_attrs->GetColumnByName("parent_id")));

  ASSERT_OK_AND_ASSIGN(auto decoded, DecodeTransportIds(encoded));
  const auto& events = batch.Get(PT::kSpanEvents);
  const int name = events->schema()->GetFieldIndex("name");
  batch.Set(PT::kSpanEvents,
            events
                ->SetColumn(name, events->schema()->field(name),
                            Json(arrow::utf8(), R"(["e", "e", "e", ""])"))
                .ValueOrDie());
  for (PT type : batch.payload_types()) {
    EXPECT_TRUE(decoded.Get(type)->Equals(*batch.Get(type))) << TableName(type);
  }
}

// Scenario: dense parent ids (with a null), sparse ones (far apart), and offset ones
// (a contiguous range starting at 1,000,000).
// Guarantees: Children lists each parent's rows in row order, empty for unknown ids;
// the layout is a vector for dense and offset ids, a hash map for sparse ones.
TEST(ChildIndexTest, DenseSparseAndOffsetIds) {
  ASSERT_OK_AND_ASSIGN(auto dense,
                       ChildIndex::Make(*Json(arrow::uint16(), "[2, 0, 2, null, 1, 2]")));
  EXPECT_TRUE(dense.dense());
  EXPECT_EQ(dense.num_indexed_rows(), 5);
  EXPECT_THAT(ToVector(dense.Children(2)), ElementsAre(0, 2, 5));
  EXPECT_THAT(ToVector(dense.Children(0)), ElementsAre(1));
  EXPECT_THAT(ToVector(dense.Children(1)), ElementsAre(4));
  EXPECT_TRUE(dense.Children(3).empty());
  EXPECT_TRUE(dense.Children(70000).empty());

  ASSERT_OK_AND_ASSIGN(
      auto sparse,
      ChildIndex::Make(*Json(arrow::uint32(), "[4000000000, 7, 4000000000, 123456789]")));
  EXPECT_FALSE(sparse.dense());
  EXPECT_THAT(ToVector(sparse.Children(4000000000u)), ElementsAre(0, 2));
  EXPECT_THAT(ToVector(sparse.Children(7)), ElementsAre(1));
  EXPECT_THAT(ToVector(sparse.Children(123456789)), ElementsAre(3));
  EXPECT_TRUE(sparse.Children(8).empty());

  arrow::UInt32Builder builder;
  std::vector<int32_t> rows_of_parent_5;
  for (int32_t row = 0; row < 10000; ++row) {
    ASSERT_OK(builder.Append(1000000 + static_cast<uint32_t>(row % 100)));
    if (row % 100 == 5) rows_of_parent_5.push_back(row);
  }
  ASSERT_OK_AND_ASSIGN(auto offset_ids, builder.Finish());
  ASSERT_OK_AND_ASSIGN(auto offset, ChildIndex::Make(*offset_ids));
  EXPECT_TRUE(offset.dense());
  EXPECT_THAT(ToVector(offset.Children(1000005)), ElementsAreArray(rows_of_parent_5));
  EXPECT_TRUE(offset.Children(5).empty());
  EXPECT_TRUE(offset.Children(1000100).empty());

  ASSERT_OK_AND_ASSIGN(auto empty, ChildIndex::Make(*Json(arrow::uint32(), "[null]")));
  EXPECT_TRUE(empty.Children(0).empty());
  ASSERT_RAISES(TypeError, ChildIndex::Make(*Json(arrow::int64(), "[1]")));
}

// Scenario: a metrics batch with sparse ids (data point ids offset by 1,000,000),
// orphans at several levels (a data point of a missing metric whose exemplar and
// attribute then lose their parent too, an exemplar of a missing data point, a
// resource attribute of a missing resource) and resource/scope attributes.
// Guarantees: ids become dense by first appearance, parent ids follow them, orphans
// are dropped (in cascade) and counted, and the result validates.
TEST(RemapIdsDenseTest, SparseIdsAndOrphans) {
  OtapBatch batch(Signal::kMetrics);
  batch.Set(
      PT::kUnivariateMetrics,
      Table(PT::kUnivariateMetrics, 2,
            {{"id", Json(arrow::uint16(), "[10, 20]")},
             {"resource", Json(schema::ResourceType(), R"([{"id": 3}, {"id": 3}])")},
             {"scope", Json(schema::ScopeType(), R"([{"id": 8}, {"id": 7}])")}}));
  batch.Set(PT::kMetricAttrs, Table(PT::kMetricAttrs, 2,
                                    {{"parent_id", Json(arrow::uint16(), "[20, 10]")}}));
  batch.Set(PT::kNumberDataPoints,
            Table(PT::kNumberDataPoints, 4,
                  {{"id", Json(arrow::uint32(), "[1000000, 1000001, 1000002, 1000003]")},
                   {"parent_id", Json(arrow::uint16(), "[20, 10, 10, 99]")},
                   {"int_value", Json(arrow::int64(), "[0, 1, 2, 3]")}}));
  batch.Set(
      PT::kNumberDpAttrs,
      Table(PT::kNumberDpAttrs, 4,
            {{"parent_id", Json(arrow::uint32(), "[1000001, 1000001, 1000003, 1000000]")},
             {"key", Json(arrow::utf8(), R"(["a", "b", "c", "d"])")}}));
  batch.Set(
      PT::kNumberDpExemplars,
      Table(PT::kNumberDpExemplars, 4,
            {{"id", Json(arrow::uint32(), "[500, 501, 502, 503]")},
             {"parent_id", Json(arrow::uint32(), "[1000003, 1000000, 1000002, 5]")}}));
  batch.Set(PT::kNumberDpExemplarAttrs,
            Table(PT::kNumberDpExemplarAttrs, 2,
                  {{"parent_id", Json(arrow::uint32(), "[502, 500]")}}));
  batch.Set(PT::kResourceAttrs, Table(PT::kResourceAttrs, 2,
                                      {{"parent_id", Json(arrow::uint16(), "[3, 4]")}}));
  batch.Set(PT::kScopeAttrs,
            Table(PT::kScopeAttrs, 2, {{"parent_id", Json(arrow::uint16(), "[8, 7]")}}));

  RemapStats stats;
  ASSERT_OK_AND_ASSIGN(auto remapped, RemapIdsDense(batch, &stats));
  ASSERT_OK(remapped.Validate());
  // Orphans: data point 3; exemplars 0 (its data point was dropped) and 3; dp attr 2;
  // exemplar attr 1 (its exemplar was dropped); resource attr 1.
  EXPECT_EQ(stats.orphan_rows, 6);
  const auto& metrics = *remapped.Get(PT::kUnivariateMetrics);
  ExpectIds(*metrics.GetColumnByName("id"), arrow::uint16(), "[0, 1]");
  ExpectIds(*StructChild(metrics, "resource"), arrow::uint16(), "[0, 0]");
  ExpectIds(*StructChild(metrics, "scope"), arrow::uint16(), "[0, 1]");
  ExpectIds(*remapped.Get(PT::kMetricAttrs)->GetColumnByName("parent_id"),
            arrow::uint16(), "[1, 0]");
  const auto& points = *remapped.Get(PT::kNumberDataPoints);
  ExpectIds(*points.GetColumnByName("id"), arrow::uint32(), "[0, 1, 2]");
  ExpectIds(*points.GetColumnByName("parent_id"), arrow::uint16(), "[1, 0, 0]");
  ExpectIds(*points.GetColumnByName("int_value"), arrow::int64(), "[0, 1, 2]");
  const auto& dp_attrs = *remapped.Get(PT::kNumberDpAttrs);
  ExpectIds(*dp_attrs.GetColumnByName("parent_id"), arrow::uint32(), "[1, 1, 0]");
  ExpectIds(*dp_attrs.GetColumnByName("key"), arrow::utf8(), R"(["a", "b", "d"])");
  const auto& exemplars = *remapped.Get(PT::kNumberDpExemplars);
  ExpectIds(*exemplars.GetColumnByName("id"), arrow::uint32(), "[0, 1]");
  ExpectIds(*exemplars.GetColumnByName("parent_id"), arrow::uint32(), "[0, 2]");
  ExpectIds(*remapped.Get(PT::kNumberDpExemplarAttrs)->GetColumnByName("parent_id"),
            arrow::uint32(), "[1]");
  ExpectIds(*remapped.Get(PT::kResourceAttrs)->GetColumnByName("parent_id"),
            arrow::uint16(), "[0]");
  ExpectIds(*remapped.Get(PT::kScopeAttrs)->GetColumnByName("parent_id"), arrow::uint16(),
            "[0, 1]");
}

// Scenario: logs read from disk with offset UInt32 ids (normalized with wide_ids),
// null ids, duplicate ids, and a span-less child table; then 65,537 distinct root ids.
// Guarantees: the result has canonical UInt16 ids and validates; nulls stay null,
// duplicates share one new id; a child table without its parent table is removed
// and counted; too many root ids is a CapacityError.
TEST(RemapIdsDenseTest, WideRootIdsAndCapacity) {
  schema::NormalizeOptions wide;
  wide.wide_ids = true;
  OtapBatch batch(Signal::kLogs);
  ASSERT_OK_AND_ASSIGN(
      auto logs,
      schema::NormalizeToCanonical(
          PT::kLogs,
          Table(PT::kLogs, 4,
                {{"id", Json(arrow::uint32(), "[5000007, null, 5000003, 5000007]")}}),
          wide));
  batch.Set(PT::kLogs, logs);
  batch.Set(PT::kLogAttrs,
            Table(PT::kLogAttrs, 2,
                  {{"parent_id", Json(arrow::uint32(), "[5000003, 5000007]")}}));
  RemapStats stats;
  ASSERT_OK_AND_ASSIGN(auto remapped, RemapIdsDense(batch, &stats));
  ASSERT_OK(remapped.Validate());
  EXPECT_EQ(stats.orphan_rows, 0);
  ExpectIds(*remapped.Get(PT::kLogs)->GetColumnByName("id"), arrow::uint16(),
            "[0, null, 1, 0]");
  ExpectIds(*remapped.Get(PT::kLogAttrs)->GetColumnByName("parent_id"), arrow::uint16(),
            "[1, 0]");

  // Sliced wide parent ids (the replay's chunks), every parent present, then one
  // orphan: the same new ids either way.
  auto attrs = Table(PT::kLogAttrs, 4,
                     {{"parent_id", Json(arrow::uint32(), "[1, 5000007, 5000003, 2]")}});
  batch.Set(PT::kLogAttrs, attrs->Slice(1, 2));
  ASSERT_OK_AND_ASSIGN(remapped, RemapIdsDense(batch, &stats));
  EXPECT_EQ(stats.orphan_rows, 0);
  ExpectIds(*remapped.Get(PT::kLogAttrs)->GetColumnByName("parent_id"), arrow::uint16(),
            "[0, 1]");
  batch.Set(PT::kLogAttrs, attrs->Slice(1, 3));
  ASSERT_OK_AND_ASSIGN(remapped, RemapIdsDense(batch, &stats));
  EXPECT_EQ(stats.orphan_rows, 1);
  ExpectIds(*remapped.Get(PT::kLogAttrs)->GetColumnByName("parent_id"), arrow::uint16(),
            "[0, 1]");

  OtapBatch orphan_table(Signal::kTraces);
  orphan_table.Set(
      PT::kSpanEvents,
      Table(PT::kSpanEvents, 3, {{"parent_id", Json(arrow::uint16(), "[0, 1, 2]")}}));
  ASSERT_OK_AND_ASSIGN(auto without, RemapIdsDense(orphan_table, &stats));
  EXPECT_EQ(stats.orphan_rows, 3);
  EXPECT_EQ(without.Get(PT::kSpanEvents), nullptr);

  arrow::UInt32Builder ids;
  for (uint32_t i = 0; i < 65537; ++i) ASSERT_OK(ids.Append(7 * i));
  ASSERT_OK_AND_ASSIGN(auto many_ids, ids.Finish());
  OtapBatch too_many(Signal::kLogs);
  too_many.Set(PT::kLogs, Table(PT::kLogs, 65537, {{"id", many_ids}}));
  EXPECT_RAISES_WITH_MESSAGE_THAT(CapacityError, HasSubstr("logs.id"),
                                  RemapIdsDense(too_many));
}

}  // namespace
}  // namespace otap_parquet
