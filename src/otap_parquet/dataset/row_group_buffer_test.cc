// SPDX-License-Identifier: Apache-2.0
#include "otap_parquet/dataset/row_group_buffer.h"

#include <memory>
#include <vector>

#include <arrow/api.h>
#include <arrow/io/memory.h>
#include <parquet/arrow/reader.h>
#include <parquet/arrow/writer.h>
#include <parquet/metadata.h>
#include <parquet/properties.h>

#include "otap_parquet/testing/gtest_util.h"

namespace otap_parquet::dataset {
namespace {

std::shared_ptr<arrow::Schema> TestSchema() {
  return arrow::schema({arrow::field("id", arrow::uint32(), /*nullable=*/false),
                        arrow::field("name", arrow::utf8())});
}

// Rows [first, first + n): id = row number, name = "n<row>" (every third null).
std::shared_ptr<arrow::RecordBatch> Rows(uint32_t first, uint32_t n) {
  arrow::UInt32Builder ids;
  arrow::StringBuilder names;
  for (uint32_t i = first; i < first + n; ++i) {
    EXPECT_OK(ids.Append(i));
    EXPECT_OK(i % 3 == 0 ? names.AppendNull() : names.Append("n" + std::to_string(i)));
  }
  return arrow::RecordBatch::Make(
      TestSchema(), n, {ids.Finish().ValueOrDie(), names.Finish().ValueOrDie()});
}

// Scenario: batches of 3, 7, 1 and 9 rows (one 20-row batch sliced at offset 0 of a
// larger one) appended with row groups of 8 rows, then Write() at the end.
// Guarantees: Parquet receives whole row groups of exactly 8 rows (batches split
// where a group ends) and a last group of the remainder; the rows read back in order
// and unchanged; nothing is held after Write().
TEST(RowGroupBufferTest, CutsRowGroupsAcrossBatches) {
  ASSERT_OK_AND_ASSIGN(auto sink, arrow::io::BufferOutputStream::Create());
  auto properties = parquet::WriterProperties::Builder().build();
  ASSERT_OK_AND_ASSIGN(
      auto writer, parquet::arrow::FileWriter::Open(
                       *TestSchema(), arrow::default_memory_pool(), sink, properties));
  RowGroupBuffer buffer;
  uint32_t first = 0;
  for (uint32_t n : {3u, 7u, 1u, 9u}) {
    ASSERT_OK(buffer.Append(Rows(first, n), /*row_group_size=*/8, *writer));
    first += n;
  }
  EXPECT_EQ(buffer.rows(), 4);  // 20 rows: groups of 8 and 8 written, 4 held
  ASSERT_OK(buffer.Write(*writer));
  EXPECT_EQ(buffer.rows(), 0);
  ASSERT_OK(buffer.Write(*writer));  // nothing held: no empty row group
  ASSERT_OK(writer->Close());
  ASSERT_OK_AND_ASSIGN(auto bytes, sink->Finish());

  auto input = std::make_shared<arrow::io::BufferReader>(bytes);
  ASSERT_OK_AND_ASSIGN(auto reader,
                       parquet::arrow::OpenFile(input, arrow::default_memory_pool()));
  auto metadata = reader->parquet_reader()->metadata();
  ASSERT_EQ(metadata->num_row_groups(), 3);
  EXPECT_EQ(metadata->RowGroup(0)->num_rows(), 8);
  EXPECT_EQ(metadata->RowGroup(1)->num_rows(), 8);
  EXPECT_EQ(metadata->RowGroup(2)->num_rows(), 4);
  ASSERT_OK_AND_ASSIGN(auto table, reader->ReadTable());
  ASSERT_OK_AND_ASSIGN(auto combined, table->CombineChunksToBatch());
  EXPECT_TRUE(combined->Equals(*Rows(0, 20))) << combined->ToString();
}

TEST(RowGroupBufferTest, RejectsNonPositiveRowGroupSize) {
  ASSERT_OK_AND_ASSIGN(auto sink, arrow::io::BufferOutputStream::Create());
  ASSERT_OK_AND_ASSIGN(auto writer, parquet::arrow::FileWriter::Open(
                                        *TestSchema(), arrow::default_memory_pool(), sink,
                                        parquet::WriterProperties::Builder().build()));
  RowGroupBuffer buffer;
  EXPECT_FALSE(buffer.Append(Rows(0, 2), 0, *writer).ok());
}

}  // namespace
}  // namespace otap_parquet::dataset
