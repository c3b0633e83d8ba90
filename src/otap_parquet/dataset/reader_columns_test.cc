// SPDX-License-Identifier: Apache-2.0
#include "otap_parquet/dataset/reader_columns.h"

#include <optional>
#include <string>
#include <vector>

#include <arrow/api.h>
#include <arrow/util/bit_util.h>
#include <gtest/gtest.h>

#include "otap_parquet/dataset/table_piece.h"
#include "otap_parquet/testing/gtest_util.h"

namespace otap_parquet::dataset::internal {
namespace {

std::shared_ptr<arrow::Array> UInt32s(
    const std::vector<std::optional<uint32_t>>& values) {
  arrow::UInt32Builder builder;
  for (const auto& v : values) {
    if (v) {
      EXPECT_TRUE(builder.Append(*v).ok());
    } else {
      EXPECT_TRUE(builder.AppendNull().ok());
    }
  }
  return builder.Finish().ValueOrDie();
}

std::shared_ptr<arrow::RecordBatch> IdBatch(
    const std::vector<std::optional<uint32_t>>& ids) {
  auto array = UInt32s(ids);
  return arrow::RecordBatch::Make(arrow::schema({arrow::field("id", arrow::uint32())}),
                                  array->length(), {array});
}

// A batch with a `resource` struct {id: id_type, dropped_attributes_count: uint32}
// whose second row is a null struct.
std::shared_ptr<arrow::RecordBatch> ResourceBatch(
    const std::shared_ptr<arrow::DataType>& id_type) {
  auto ids = arrow::MakeArrayFromScalar(*arrow::MakeScalar(id_type, 7).ValueOrDie(), 3)
                 .ValueOrDie();
  auto dropped = UInt32s({0, 0, 0});
  auto validity = arrow::AllocateBitmap(3).ValueOrDie();
  arrow::bit_util::SetBit(validity->mutable_data(), 0);
  arrow::bit_util::ClearBit(validity->mutable_data(), 1);
  arrow::bit_util::SetBit(validity->mutable_data(), 2);
  auto resource =
      arrow::StructArray::Make({ids, dropped},
                               std::vector<std::string>{"id", "dropped_attributes_count"},
                               validity)
          .ValueOrDie();
  return arrow::RecordBatch::Make(
      arrow::schema({arrow::field("resource", resource->type())}), 3, {resource});
}

// Scenario: rows of one run (sorted files) and scattered rows.
// Guarantees: a run is a zero-copy slice of the same buffers; scattered rows are
// taken in the given order.
TEST(ReaderColumnsTest, TakeRowsSlicesRunsAndTakesTheRest) {
  auto batch = IdBatch({10, 11, 12, 13, 14});
  ASSERT_OK_AND_ASSIGN(auto run,
                       TakeRows(batch, {1, 2, 3}, arrow::default_memory_pool()));
  EXPECT_EQ(run->num_rows(), 3);
  EXPECT_EQ(run->column(0)->data()->buffers[1], batch->column(0)->data()->buffers[1]);
  EXPECT_EQ(KeysOf(*run, "id"), (std::vector<uint32_t>{11, 12, 13}));
  ASSERT_OK_AND_ASSIGN(auto scattered,
                       TakeRows(batch, {4, 0, 2}, arrow::default_memory_pool()));
  EXPECT_EQ(KeysOf(*scattered, "id"), (std::vector<uint32_t>{14, 10, 12}));
}

// Scenario: rows in a few long runs out of order (a chunk boundary inside a batch of
// attribute rows ordered by key), with a null id, and runs too short to copy by run.
// Guarantees: the rows come in the given order, nulls kept, either way.
TEST(ReaderColumnsTest, TakeRowsCopiesLongRunsInOrder) {
  std::vector<std::optional<uint32_t>> ids;
  for (uint32_t i = 0; i < 400; ++i) ids.push_back(i);
  ids[150] = std::nullopt;
  auto batch = IdBatch(ids);
  std::vector<int32_t> rows;
  for (int32_t i = 300; i < 400; ++i) rows.push_back(i);
  for (int32_t i = 100; i < 200; ++i) rows.push_back(i);
  for (int32_t i = 0; i < 100; ++i) rows.push_back(i);
  std::vector<uint32_t> expected;
  for (int32_t row : rows) expected.push_back(row == 150 ? kNoKey : uint32_t(row));
  ASSERT_OK_AND_ASSIGN(auto runs, TakeRows(batch, rows, arrow::default_memory_pool()));
  ASSERT_OK(runs->ValidateFull());
  EXPECT_EQ(KeysOf(*runs, "id"), expected);
  std::vector<int32_t> short_runs;
  std::vector<uint32_t> short_expected;
  for (int32_t i = 0; i < 200; i += 2) {
    short_runs.push_back(399 - i);
    short_expected.push_back(399 - static_cast<uint32_t>(i));
  }
  ASSERT_OK_AND_ASSIGN(auto taken,
                       TakeRows(batch, short_runs, arrow::default_memory_pool()));
  EXPECT_EQ(KeysOf(*taken, "id"), short_expected);
}

// Scenario: two batches of one schema; one batch alone.
// Guarantees: rows in order; a single batch is returned as is.
TEST(ReaderColumnsTest, ConcatBatchesKeepsOrder) {
  auto a = IdBatch({1, 2});
  auto b = IdBatch({3});
  ASSERT_OK_AND_ASSIGN(auto both, ConcatBatches({a, b}, arrow::default_memory_pool()));
  EXPECT_EQ(KeysOf(*both, "id"), (std::vector<uint32_t>{1, 2, 3}));
  ASSERT_OK_AND_ASSIGN(auto one, ConcatBatches({a}, arrow::default_memory_pool()));
  EXPECT_EQ(one, a);
}

// A flat batch of every column kind PartCollector copies by buffer: UInt32 with nulls,
// utf8 with nulls and empty strings, boolean, fixed-size binary, timestamp.
std::shared_ptr<arrow::RecordBatch> FlatBatch(int64_t rows, int64_t first) {
  arrow::UInt32Builder ids;
  arrow::StringBuilder strs;
  arrow::BooleanBuilder bools;
  arrow::FixedSizeBinaryBuilder fixed(arrow::fixed_size_binary(3));
  arrow::TimestampBuilder times(arrow::timestamp(arrow::TimeUnit::NANO),
                                arrow::default_memory_pool());
  for (int64_t i = first; i < first + rows; ++i) {
    EXPECT_TRUE(
        (i % 5 == 0 ? ids.AppendNull() : ids.Append(static_cast<uint32_t>(i))).ok());
    EXPECT_TRUE(
        (i % 7 == 0 ? strs.AppendNull() : strs.Append(std::string(i % 4, 'a' + i % 26)))
            .ok());
    EXPECT_TRUE((i % 3 == 0 ? bools.AppendNull() : bools.Append(i % 2 == 0)).ok());
    const char bytes[3] = {static_cast<char>(i), static_cast<char>(i >> 8), 'x'};
    EXPECT_TRUE(fixed.Append(bytes).ok());
    EXPECT_TRUE(times.Append(i * 1000).ok());
  }
  auto schema = arrow::schema(
      {arrow::field("id", arrow::uint32()), arrow::field("str", arrow::utf8()),
       arrow::field("bool", arrow::boolean()),
       arrow::field("fixed", arrow::fixed_size_binary(3)),
       arrow::field("time", arrow::timestamp(arrow::TimeUnit::NANO))});
  return arrow::RecordBatch::Make(
      schema, rows,
      {ids.Finish().ValueOrDie(), strs.Finish().ValueOrDie(), bools.Finish().ValueOrDie(),
       fixed.Finish().ValueOrDie(), times.Finish().ValueOrDie()});
}

// Scenario: one part; then slices at odd offsets (bitmaps not byte aligned) of two
// batches, added one by one, with a size hint too small and then the one Finish left.
// Guarantees: a single part is returned as is; several are copied into one valid batch
// equal to their concatenation; the hint is updated to the output's sizes.
TEST(ReaderColumnsTest, PartCollectorCopiesPartsAsTheyCome) {
  auto* pool = arrow::default_memory_pool();
  auto a = FlatBatch(100, 0);
  auto b = FlatBatch(50, 100);
  std::vector<int64_t> hint;
  {
    PartCollector one(pool, &hint);
    ASSERT_OK(one.Add(a->Slice(3, 10)));
    ASSERT_OK_AND_ASSIGN(auto out, one.Finish());
    EXPECT_EQ(out->column(0)->offset(), 3);  // zero copy
    EXPECT_TRUE(hint.empty());
  }
  EXPECT_TRUE(PartCollector::Copyable(*a->schema()));
  for (int pass = 0; pass < 2; ++pass) {
    const std::vector<std::shared_ptr<arrow::RecordBatch>> parts = {
        a->Slice(3, 17), b->Slice(1, 0), b->Slice(5, 29), a->Slice(61, 39),
        b->Slice(0, 1)};
    PartCollector collector(pool, &hint);
    for (const auto& part : parts) ASSERT_OK(collector.Add(part));
    ASSERT_OK_AND_ASSIGN(auto out, collector.Finish());
    ASSERT_OK(out->ValidateFull());
    ASSERT_OK_AND_ASSIGN(auto expected, ConcatBatches(parts, pool));
    EXPECT_TRUE(out->Equals(*expected)) << out->ToString() << expected->ToString();
    ASSERT_EQ(hint.size(), 6u);
    EXPECT_EQ(hint[0], 86);
  }
}

// Scenario: a hint from a 1,000-row output, then 40,000 rows collected in 1,000-row
// parts (the replay: a full chunk after a short one at a root row group's end), with
// the hint scaled by 40 (and 3% room, as the merge does) and unscaled.
// Guarantees: scaled, the output is allocated once at its size and never grows by
// reallocation (which holds old and new buffers at once); unscaled, it grows. Bytes
// and allocation counts, not timing.
TEST(ReaderColumnsTest, PartCollectorScalesItsHint) {
  // The columns without nulls: their buffers are all reserved from the hint (validity
  // bitmaps are allocated at the first null and grow with the rows).
  ASSERT_OK_AND_ASSIGN(auto big, FlatBatch(40000, 0)->SelectColumns({3, 4}));
  auto collect = [&](double scale, arrow::ProxyMemoryPool* pool)
      -> arrow::Result<std::shared_ptr<arrow::RecordBatch>> {
    std::vector<int64_t> hint;
    PartCollector small(arrow::default_memory_pool(), &hint);
    ARROW_RETURN_NOT_OK(small.Add(big->Slice(0, 500)));
    ARROW_RETURN_NOT_OK(small.Add(big->Slice(500, 500)));
    ARROW_RETURN_NOT_OK(small.Finish().status());
    PartCollector collector(pool, &hint, scale);
    for (int64_t first = 0; first < 40000; first += 1000) {
      ARROW_RETURN_NOT_OK(collector.Add(big->Slice(first, 1000)));
    }
    return collector.Finish();
  };
  arrow::ProxyMemoryPool scaled_pool(arrow::default_memory_pool());
  ASSERT_OK_AND_ASSIGN(auto scaled, collect(1.03 * 40, &scaled_pool));
  ASSERT_OK(scaled->ValidateFull());
  EXPECT_TRUE(scaled->Equals(*big));
  arrow::ProxyMemoryPool plain_pool(arrow::default_memory_pool());
  ASSERT_OK_AND_ASSIGN(auto plain, collect(1.0, &plain_pool));
  EXPECT_TRUE(plain->Equals(*big));
  // Per column an empty buffer and its reserve; none to grow.
  EXPECT_LE(scaled_pool.num_allocations(), 2 * big->num_columns());
  EXPECT_GT(plain_pool.num_allocations(), scaled_pool.num_allocations());
  EXPECT_LT(scaled_pool.max_memory(), plain_pool.max_memory());
  RecordProperty("allocations_scaled", std::to_string(scaled_pool.num_allocations()));
  RecordProperty("allocations_plain", std::to_string(plain_pool.num_allocations()));
}

// Scenario: a schema with a list column.
// Guarantees: not copied by buffer; the parts are concatenated at the end.
TEST(ReaderColumnsTest, PartCollectorConcatenatesNestedSchemas) {
  arrow::ListBuilder lists(arrow::default_memory_pool(),
                           std::make_shared<arrow::UInt64Builder>());
  auto* values = static_cast<arrow::UInt64Builder*>(lists.value_builder());
  for (int i = 0; i < 4; ++i) {
    ASSERT_OK(lists.Append());
    ASSERT_OK(values->Append(static_cast<uint64_t>(i)));
  }
  ASSERT_OK_AND_ASSIGN(auto list, lists.Finish());
  auto batch = arrow::RecordBatch::Make(
      arrow::schema({arrow::field("counts", list->type())}), 4, {list});
  EXPECT_FALSE(PartCollector::Copyable(*batch->schema()));
  PartCollector collector(arrow::default_memory_pool(), nullptr);
  ASSERT_OK(collector.Add(batch->Slice(0, 1)));
  ASSERT_OK(collector.Add(batch->Slice(2, 2)));
  ASSERT_OK_AND_ASSIGN(auto out, collector.Finish());
  ASSERT_OK(out->ValidateFull());
  EXPECT_EQ(out->num_rows(), 3);
}

// Scenario: a UInt32 column with a null, a missing column, a column of another type.
// Guarantees: nulls, absent and mistyped columns give kNoKey.
TEST(ReaderColumnsTest, KeysOfMapsNullsAndAbsentColumnsToNoKey) {
  auto batch = IdBatch({4, std::nullopt, 6});
  EXPECT_EQ(KeysOf(*batch, "id"), (std::vector<uint32_t>{4, kNoKey, 6}));
  EXPECT_EQ(KeysOf(*batch, "parent_id"), (std::vector<uint32_t>(3, kNoKey)));
  auto narrow = arrow::RecordBatch::Make(
      arrow::schema({arrow::field("id", arrow::uint16())}), 1,
      {arrow::MakeArrayFromScalar(arrow::UInt16Scalar(1), 1).ValueOrDie()});
  EXPECT_EQ(KeysOf(*narrow, "id"), (std::vector<uint32_t>{kNoKey}));
}

// Scenario: upstream's UInt16 resource.id and our UInt32 one, with a null struct.
// Guarantees: the values come out as keys (kNoKey under the null struct), `wide`
// tells the two forms apart, and the `id` child is removed from the batch.
TEST(ReaderColumnsTest, ExtractStructIdTellsUpstreamFromOurs) {
  for (const auto& type : {arrow::uint16(), arrow::uint32()}) {
    auto batch = ResourceBatch(type);
    ASSERT_OK_AND_ASSIGN(auto column, ExtractStructId(&batch, "resource"));
    EXPECT_TRUE(column.present);
    EXPECT_EQ(column.wide, type->id() == arrow::Type::UINT32);
    EXPECT_EQ(column.keys, (std::vector<uint32_t>{7, kNoKey, 7}));
    const auto& struct_type =
        static_cast<const arrow::StructType&>(*batch->column(0)->type());
    EXPECT_EQ(struct_type.GetFieldIndex("id"), -1);
    EXPECT_EQ(struct_type.num_fields(), 1);
  }
  auto no_struct = IdBatch({1});
  ASSERT_OK_AND_ASSIGN(auto absent, ExtractStructId(&no_struct, "resource"));
  EXPECT_FALSE(absent.present);
  EXPECT_EQ(absent.keys, (std::vector<uint32_t>{kNoKey}));
}

// Scenario: join keys written back into a struct's UInt16 `id` child.
// Guarantees: the child becomes UInt32 holding the keys, kNoKey as null.
TEST(ReaderColumnsTest, ReplaceStructIdWritesWideKeys) {
  auto batch = ResourceBatch(arrow::uint16());
  ASSERT_OK_AND_ASSIGN(auto replaced,
                       ReplaceStructId(batch, "resource", {100, kNoKey, 70000}));
  const auto& resource = static_cast<const arrow::StructArray&>(*replaced->column(0));
  auto ids = resource.GetFieldByName("id");
  ASSERT_NE(ids, nullptr);
  ASSERT_EQ(ids->type_id(), arrow::Type::UINT32);
  const auto& values = static_cast<const arrow::UInt32Array&>(*ids);
  EXPECT_EQ(values.Value(0), 100u);
  EXPECT_TRUE(values.IsNull(1));
  EXPECT_EQ(values.Value(2), 70000u);
  ASSERT_OK(replaced->ValidateFull());
}

// Scenario: keys written into slices of the struct column (a chunk's roots taken
// from the middle of a root slice): with a null struct in the slice, and without.
// Guarantees: the keys land on the slice's rows; the other children keep their values
// (without nulls: shared with the source, not copied).
TEST(ReaderColumnsTest, ReplaceStructIdOnSlices) {
  auto batch = ResourceBatch(arrow::uint16());
  for (int64_t first : {1, 2}) {
    SCOPED_TRACE(first);
    auto slice = batch->Slice(first, 3 - first);
    std::vector<uint32_t> keys(static_cast<size_t>(slice->num_rows()), 5);
    ASSERT_OK_AND_ASSIGN(auto replaced, ReplaceStructId(slice, "resource", keys));
    ASSERT_OK(replaced->ValidateFull());
    const auto& resource = static_cast<const arrow::StructArray&>(*replaced->column(0));
    EXPECT_EQ(resource.null_count(), first == 1 ? 1 : 0);
    const auto& ids =
        static_cast<const arrow::UInt32Array&>(*resource.GetFieldByName("id"));
    EXPECT_EQ(ids.length(), slice->num_rows());
    EXPECT_EQ(ids.Value(ids.length() - 1), 5u);
    auto dropped = resource.GetFieldByName("dropped_attributes_count");
    EXPECT_EQ(dropped->length(), slice->num_rows());
    if (first == 2) {
      const auto& source = static_cast<const arrow::StructArray&>(*batch->column(0));
      EXPECT_EQ(dropped->data()->buffers[1], source.field(1)->data()->buffers[1]);
    }
  }
}

}  // namespace
}  // namespace otap_parquet::dataset::internal
