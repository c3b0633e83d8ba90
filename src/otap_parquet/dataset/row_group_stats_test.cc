// SPDX-License-Identifier: Apache-2.0
#include "otap_parquet/dataset/row_group_stats.h"

#include <memory>
#include <optional>
#include <vector>

#include <arrow/api.h>
#include <arrow/io/memory.h>
#include <gtest/gtest.h>
#include <parquet/arrow/writer.h>
#include <parquet/file_reader.h>
#include <parquet/properties.h>

#include "otap_parquet/dataset/table_piece.h"
#include "otap_parquet/testing/gtest_util.h"

namespace otap_parquet::dataset::internal {
namespace {

template <typename Builder, typename T>
std::shared_ptr<arrow::Array> Column(const std::vector<std::optional<T>>& values) {
  Builder builder;
  for (const auto& v : values) {
    if (v) {
      EXPECT_TRUE(builder.Append(*v).ok());
    } else {
      EXPECT_TRUE(builder.AppendNull().ok());
    }
  }
  return builder.Finish().ValueOrDie();
}

// Columns: id (UInt32), raw (UInt16, upstream resource.id), nulls (all null UInt32),
// time (Int64); row groups of 2 rows: {5, 3}, {9, 7}.
std::shared_ptr<parquet::FileMetaData> WriteFooter(bool statistics) {
  auto id = Column<arrow::UInt32Builder, uint32_t>({5, 3, 9, 7});
  auto raw = Column<arrow::UInt16Builder, uint16_t>({0, 2, 1, std::nullopt});
  auto nulls = Column<arrow::UInt32Builder, uint32_t>(
      {std::nullopt, std::nullopt, std::nullopt, std::nullopt});
  auto time = Column<arrow::Int64Builder, int64_t>({100, 50, 300, 200});
  auto schema = arrow::schema(
      {arrow::field("id", arrow::uint32()), arrow::field("raw", arrow::uint16()),
       arrow::field("nulls", arrow::uint32()), arrow::field("time", arrow::int64())});
  auto table = arrow::Table::Make(schema, {id, raw, nulls, time});
  auto sink = arrow::io::BufferOutputStream::Create().ValueOrDie();
  parquet::WriterProperties::Builder props;
  props.max_row_group_length(2);
  if (!statistics) props.disable_statistics();
  EXPECT_TRUE(parquet::arrow::WriteTable(*table, arrow::default_memory_pool(), sink, 2,
                                         props.build())
                  .ok());
  auto buffer = sink->Finish().ValueOrDie();
  return parquet::ReadMetaData(std::make_shared<arrow::io::BufferReader>(buffer));
}

// Scenario: a file with statistics, two row groups.
// Guarantees: per row group the key minimum, the raw id maximum and the time range;
// an all-null column has no key (kNoKey); an absent column (-1) neither.
TEST(RowGroupStatsTest, ReadsMinimaMaximaAndTimeRanges) {
  auto md = WriteFooter(/*statistics=*/true);
  ASSERT_EQ(md->num_row_groups(), 2);
  bool missing = false;
  EXPECT_EQ(MinKey(*md->RowGroup(0), 0, &missing), 3u);
  EXPECT_EQ(MinKey(*md->RowGroup(1), 0, &missing), 7u);
  EXPECT_EQ(MinKey(*md->RowGroup(0), 2, &missing), kNoKey);
  EXPECT_EQ(MinKey(*md->RowGroup(0), -1, &missing), kNoKey);
  EXPECT_FALSE(missing);
  EXPECT_EQ(MaxRawId(*md->RowGroup(0), 1), 2u);
  EXPECT_EQ(MaxRawId(*md->RowGroup(1), 1), 1u);
  EXPECT_EQ(MaxRawId(*md->RowGroup(0), 2), 0u);   // all null
  EXPECT_EQ(MaxRawId(*md->RowGroup(0), -1), 0u);  // absent
  EXPECT_EQ(TimeStats(*md->RowGroup(0), 3), std::make_pair(int64_t{50}, int64_t{100}));
  EXPECT_EQ(TimeStats(*md->RowGroup(1), 3), std::make_pair(int64_t{200}, int64_t{300}));
  EXPECT_EQ(TimeStats(*md->RowGroup(0), -1), std::nullopt);
  std::string reason;
  EXPECT_TRUE(BrokenLeaves(*md, &reason).empty());
  EXPECT_TRUE(reason.empty());
}

// Scenario: a file written without statistics.
// Guarantees: safe assumptions, never a failure: key minimum 0 (flagged missing),
// raw maximum 0xFFFF, no time range.
TEST(RowGroupStatsTest, MissingStatisticsGiveSafeBounds) {
  auto md = WriteFooter(/*statistics=*/false);
  bool missing = false;
  EXPECT_EQ(MinKey(*md->RowGroup(1), 0, &missing), 0u);
  EXPECT_TRUE(missing);
  EXPECT_EQ(MaxRawId(*md->RowGroup(0), 1), 0xFFFFu);
  EXPECT_EQ(TimeStats(*md->RowGroup(0), 3), std::nullopt);
}

}  // namespace
}  // namespace otap_parquet::dataset::internal
