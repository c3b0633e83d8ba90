// SPDX-License-Identifier: Apache-2.0
#include "otap_parquet/dataset/dictionary_columns.h"

#include <filesystem>
#include <optional>
#include <string>
#include <vector>

#include <arrow/api.h>
#include <arrow/io/file.h>
#include <parquet/arrow/reader.h>
#include <parquet/arrow/writer.h>
#include <parquet/file_reader.h>
#include <parquet/metadata.h>
#include <parquet/properties.h>

#include "otap_parquet/dataset/row_group_buffer.h"
#include "otap_parquet/testing/gtest_util.h"

namespace otap_parquet::dataset {
namespace {

using Values = std::vector<std::optional<std::string>>;

std::shared_ptr<arrow::Array> Strings(const Values& values) {
  arrow::StringBuilder builder;
  for (const auto& value : values) {
    if (value) {
      EXPECT_OK(builder.Append(*value));
    } else {
      EXPECT_OK(builder.AppendNull());
    }
  }
  return builder.Finish().ValueOrDie();
}

// The values of a string or dictionary-of-string array, nulls as nullopt.
Values Decode(const arrow::Array& array) {
  Values out;
  if (array.type_id() == arrow::Type::DICTIONARY) {
    const auto& dict = static_cast<const arrow::DictionaryArray&>(array);
    const auto& strings = static_cast<const arrow::StringArray&>(*dict.dictionary());
    for (int64_t i = 0; i < array.length(); ++i) {
      if (array.IsNull(i)) {
        out.emplace_back();
      } else {
        out.emplace_back(std::string(strings.GetView(dict.GetValueIndex(i))));
      }
    }
    return out;
  }
  const auto& strings = static_cast<const arrow::StringArray&>(array);
  for (int64_t i = 0; i < array.length(); ++i) {
    if (array.IsNull(i)) {
      out.emplace_back();
    } else {
      out.emplace_back(std::string(strings.GetView(i)));
    }
  }
  return out;
}

std::shared_ptr<arrow::Array> DictionaryOf(const arrow::Array& array) {
  return static_cast<const arrow::DictionaryArray&>(array).dictionary();
}

// The dictionary's ArrayData: the object Parquet compares by identity first.
const arrow::ArrayData* DictionaryData(const arrow::Array& array) {
  return array.data()->dictionary.get();
}

// Scenario: batches of one row group whose values were all seen in its first batch.
// Guarantees: each comes back as a DictionaryArray with the same values, all over
// one dictionary object (what Parquet's direct path requires within a row group).
TEST(ColumnDictionaryTest, StableValuesShareOneDictionaryPerRowGroup) {
  ColumnDictionary column(/*row_group_size=*/10);
  const Values first = {"a", "b", "a", "c"};
  const Values second = {"c", "b", "a", "a"};
  ASSERT_OK_AND_ASSIGN(auto one, column.Encode(Strings(first), 0, nullptr));
  ASSERT_OK_AND_ASSIGN(auto two, column.Encode(Strings(second), 4, nullptr));
  ASSERT_EQ(one->type_id(), arrow::Type::DICTIONARY);
  ASSERT_EQ(two->type_id(), arrow::Type::DICTIONARY);
  EXPECT_EQ(Decode(*one), first);
  EXPECT_EQ(Decode(*two), second);
  EXPECT_EQ(DictionaryData(*one), DictionaryData(*two));
  EXPECT_EQ(DictionaryOf(*one)->length(), 3);
}

// Scenario: values of every length up to 40 bytes that differ from the predicted
// value (the one that followed the previous value last time) in one byte only.
// Guarantees: the prediction is checked on every byte (short values are compared
// as overlapping words), so each value maps to its own index.
TEST(ColumnDictionaryTest, PredictionComparesEveryByte) {
  for (size_t size = 1; size <= 40; ++size) {
    for (size_t at = 0; at < size; ++at) {
      const std::string a(size, 'k');
      std::string b = a;
      b[at] = 'x';
      // After the first a came b; after the third a, b is predicted but a follows.
      const Values values = {a, b, a, a, b};
      ColumnDictionary column(/*row_group_size=*/100);
      ASSERT_OK_AND_ASSIGN(auto encoded, column.Encode(Strings(values), 0, nullptr));
      ASSERT_EQ(encoded->type_id(), arrow::Type::DICTIONARY);
      EXPECT_EQ(Decode(*encoded), values) << "size " << size << ", byte " << at;
      EXPECT_EQ(column.size(), 2) << "size " << size << ", byte " << at;
    }
  }
}

// Scenario: a value first seen in a later batch of a row group.
// Guarantees: that batch is returned dense (the row group's dictionary is fixed);
// the next row group's dictionary holds the new value and its batches are
// dictionaries again.
TEST(ColumnDictionaryTest, NewValueMidRowGroupIsDenseAndJoinsTheNextGroup) {
  ColumnDictionary column(/*row_group_size=*/4);
  ASSERT_OK_AND_ASSIGN(auto one, column.Encode(Strings({"a", "b"}), 0, nullptr));
  auto input = Strings({"a", "new"});
  ASSERT_OK_AND_ASSIGN(auto two, column.Encode(input, 2, nullptr));
  EXPECT_EQ(two, input);
  ASSERT_OK_AND_ASSIGN(auto three, column.Encode(Strings({"new", "b"}), 4, nullptr));
  ASSERT_EQ(three->type_id(), arrow::Type::DICTIONARY);
  EXPECT_EQ(Decode(*three), (Values{"new", "b"}));
  EXPECT_EQ(Decode(*DictionaryOf(*three)), (Values{"a", "b", "new"}));
  EXPECT_NE(DictionaryData(*one), DictionaryData(*three));
}

// Scenario: a dense batch (new value) reaching into the next row group.
// Guarantees: the rest of that row group stays dense (Parquet refuses a dictionary
// after dense values), the row group after it is dictionary encoded again.
TEST(ColumnDictionaryTest, DenseTailMakesTheNextGroupDense) {
  ColumnDictionary column(/*row_group_size=*/4);
  ASSERT_OK_AND_ASSIGN(auto one, column.Encode(Strings({"a", "b"}), 0, nullptr));
  ASSERT_EQ(one->type_id(), arrow::Type::DICTIONARY);
  auto straddling = Strings({"a", "z", "b", "a"});  // rows 2..5
  ASSERT_OK_AND_ASSIGN(auto two, column.Encode(straddling, 2, nullptr));
  EXPECT_EQ(two, straddling);
  auto rest = Strings({"a", "b"});  // rows 6..7, group 1 began dense
  ASSERT_OK_AND_ASSIGN(auto three, column.Encode(rest, 6, nullptr));
  EXPECT_EQ(three, rest);
  ASSERT_OK_AND_ASSIGN(auto four, column.Encode(Strings({"z", "a"}), 8, nullptr));
  ASSERT_EQ(four->type_id(), arrow::Type::DICTIONARY);
  EXPECT_EQ(Decode(*four), (Values{"z", "a"}));
}

// Scenario: a sliced input with nulls.
// Guarantees: the DictionaryArray has the same length, values and nulls.
TEST(ColumnDictionaryTest, NullsAndOffsetsArePreserved) {
  ColumnDictionary column(/*row_group_size=*/100);
  const Values all = {"x", std::nullopt, "a",          "b", std::nullopt,
                      "a", "c",          std::nullopt, "b"};
  auto sliced = Strings(all)->Slice(3, 5);
  ASSERT_OK_AND_ASSIGN(auto encoded, column.Encode(sliced, 0, nullptr));
  ASSERT_EQ(encoded->type_id(), arrow::Type::DICTIONARY);
  ASSERT_OK(encoded->ValidateFull());
  EXPECT_EQ(Decode(*encoded), Decode(*sliced));
  EXPECT_EQ(encoded->null_count(), 2);
}

// Scenario: more distinct values than kMaxEntries.
// Guarantees: the column gives up and is returned dense from then on.
TEST(ColumnDictionaryTest, HighCardinalityGivesUp) {
  ColumnDictionary column(/*row_group_size=*/1 << 20);
  Values many;
  for (int i = 0; i <= ColumnDictionary::kMaxEntries; ++i) {
    many.emplace_back("value-" + std::to_string(i));
  }
  auto input = Strings(many);
  ASSERT_OK_AND_ASSIGN(auto encoded, column.Encode(input, 0, nullptr));
  EXPECT_EQ(encoded, input);
  EXPECT_TRUE(column.gave_up());
  auto small = Strings({"a"});
  ASSERT_OK_AND_ASSIGN(auto later, column.Encode(small, input->length(), nullptr));
  EXPECT_EQ(later, small);
}

std::shared_ptr<arrow::Schema> TestSchema() {
  return arrow::schema(
      {arrow::field("id", arrow::uint32()), arrow::field("key", arrow::utf8(), false),
       arrow::field("scope", arrow::struct_({arrow::field("name", arrow::utf8()),
                                             arrow::field("count", arrow::int32())}))});
}

// Rows `keys` (and scope names `names`) as a batch of TestSchema().
std::shared_ptr<arrow::RecordBatch> TestBatch(const Values& keys, const Values& names) {
  arrow::UInt32Builder ids;
  arrow::Int32Builder counts;
  for (size_t i = 0; i < keys.size(); ++i) {
    EXPECT_OK(ids.Append(static_cast<uint32_t>(i)));
    EXPECT_OK(counts.Append(static_cast<int32_t>(i)));
  }
  auto scope_type = TestSchema()->field(2)->type();
  auto scope = std::make_shared<arrow::StructArray>(
      scope_type, static_cast<int64_t>(keys.size()),
      arrow::ArrayVector{Strings(names), counts.Finish().ValueOrDie()});
  return arrow::RecordBatch::Make(TestSchema(), static_cast<int64_t>(keys.size()),
                                  {ids.Finish().ValueOrDie(), Strings(keys), scope});
}

// Scenario: a batch sliced out of a larger one (struct offset), top-level and struct
// child columns chosen, plus paths that are not string columns.
// Guarantees: the chosen columns become dictionaries with the same values, the
// others are untouched, and the batch validates.
TEST(DictionaryColumnsTest, TopLevelAndStructChildColumns) {
  DictionaryColumns columns(*TestSchema(),
                            {"key", "scope.name", "id", "scope.count", "x"},
                            /*row_group_size=*/100);
  EXPECT_EQ(columns.paths(), (std::vector<std::string>{"key", "scope.name"}));
  auto batch =
      TestBatch({"k1", "k2", "k1", "k2", "k3"}, {"s", std::nullopt, "s", "t", "t"})
          ->Slice(1, 4);
  ASSERT_OK_AND_ASSIGN(auto encoded, columns.Encode(batch, 0, nullptr));
  ASSERT_OK(encoded->ValidateFull());
  EXPECT_EQ(encoded->column(0), batch->column(0));
  ASSERT_EQ(encoded->column(1)->type_id(), arrow::Type::DICTIONARY);
  EXPECT_EQ(Decode(*encoded->column(1)), Decode(*batch->column(1)));
  const auto& scope = static_cast<const arrow::StructArray&>(*encoded->column(2));
  const auto& original = static_cast<const arrow::StructArray&>(*batch->column(2));
  ASSERT_EQ(scope.field(0)->type_id(), arrow::Type::DICTIONARY);
  EXPECT_EQ(Decode(*scope.field(0)), Decode(*original.GetFieldByName("name")));
  EXPECT_TRUE(scope.field(1)->Equals(*original.GetFieldByName("count")));
  EXPECT_EQ(columns.dictionary_batches(), 2);
}

// Scenario: batches written through parquet::arrow::FileWriter (row groups of 4
// rows, dictionary encoding on), as buffered row groups (WriteRecordBatch) or
// column by column (RowGroupBuffer, as the dataset writer writes them): stable
// values, a new value mid row group, a dense batch reaching into the next row group,
// row groups that start in the middle of a batch, nulls.
// Guarantees: Parquet accepts every batch (no "PutDictionary on an empty
// DictEncoder" refusal), the file reads back with the dense schema (`key` utf8 in
// ARROW:schema) and exactly the values written, and every column chunk of `key` is
// dictionary encoded without falling back to plain.
class DictionaryColumnsWriteTest : public ::testing::TestWithParam<bool> {};

TEST_P(DictionaryColumnsWriteTest, ParquetReadsBackWhatWasWritten) {
  const bool column_by_column = GetParam();
  const auto path = std::filesystem::temp_directory_path() /
                    ("otap-dictionary-columns-" + std::to_string(::getpid()) + "-" +
                     std::to_string(column_by_column) + ".parquet");
  const std::vector<std::pair<Values, Values>> batches = {
      {{"a", "b", "a"}, {"s", "s", std::nullopt}},
      {{"b", "c", "a"}, {"s", "t", "t"}},  // "c" and "t" new mid row group, dense
      {{"a", "b"}, {"t", "s"}},
      {{"d", "a", "b", "c", "a"}, {"u", "s", "s", "t", std::nullopt}},
      {{"a"}, {"s"}},
      {{"d", "d", "a", "b", "c", "a", "b"}, {"u", "u", "s", "s", "t", "s", "t"}},
  };
  const int64_t row_group_size = 4;
  auto properties = parquet::WriterProperties::Builder()
                        .max_row_group_length(row_group_size)
                        ->disable_dictionary()
                        ->enable_dictionary("key")
                        ->enable_dictionary("scope.name")
                        ->disable_statistics("key")
                        ->disable_statistics("scope.name")
                        ->build();
  auto arrow_properties =
      parquet::ArrowWriterProperties::Builder().store_schema()->build();
  Values keys, names;
  {
    ASSERT_OK_AND_ASSIGN(auto sink, arrow::io::FileOutputStream::Open(path.string()));
    ASSERT_OK_AND_ASSIGN(auto writer, parquet::arrow::FileWriter::Open(
                                          *TestSchema(), arrow::default_memory_pool(),
                                          sink, properties, arrow_properties));
    DictionaryColumns columns(*TestSchema(), {"key", "scope.name"}, row_group_size);
    RowGroupBuffer row_group;
    int64_t rows = 0;
    for (const auto& [key, name] : batches) {
      ASSERT_OK_AND_ASSIGN(auto encoded,
                           columns.Encode(TestBatch(key, name), rows, nullptr));
      if (column_by_column) {
        ASSERT_OK(row_group.Append(encoded, row_group_size, *writer));
      } else {
        ASSERT_OK(writer->WriteRecordBatch(*encoded));
      }
      rows += encoded->num_rows();
      keys.insert(keys.end(), key.begin(), key.end());
      names.insert(names.end(), name.begin(), name.end());
    }
    EXPECT_GT(columns.dictionary_batches(), 0);
    EXPECT_GT(columns.dense_batches(), 0);
    ASSERT_OK(row_group.Write(*writer));
    ASSERT_OK(writer->Close());
    ASSERT_OK(sink->Close());
  }
  ASSERT_OK_AND_ASSIGN(auto input, arrow::io::ReadableFile::Open(path.string()));
  ASSERT_OK_AND_ASSIGN(auto reader,
                       parquet::arrow::OpenFile(input, arrow::default_memory_pool()));
  ASSERT_OK_AND_ASSIGN(auto table, reader->ReadTable());
  EXPECT_TRUE(table->schema()->Equals(*TestSchema(), /*check_metadata=*/false))
      << table->schema()->ToString();
  ASSERT_OK_AND_ASSIGN(auto combined, table->CombineChunksToBatch());
  EXPECT_EQ(Decode(*combined->column(1)), keys);
  const auto& scope = static_cast<const arrow::StructArray&>(*combined->column(2));
  EXPECT_EQ(Decode(*scope.field(0)), names);
  auto metadata = reader->parquet_reader()->metadata();
  EXPECT_EQ(metadata->num_row_groups(), 6);  // 21 rows in groups of 4
  for (int g = 0; g < metadata->num_row_groups(); ++g) {
    auto chunk = metadata->RowGroup(g)->ColumnChunk(1);
    EXPECT_TRUE(chunk->has_dictionary_page()) << "row group " << g;
    for (const auto& stats : chunk->encoding_stats()) {
      if (stats.page_type == parquet::PageType::DATA_PAGE) {
        EXPECT_EQ(stats.encoding, parquet::Encoding::RLE_DICTIONARY) << "row group " << g;
      }
    }
  }
  std::filesystem::remove(path);
}

INSTANTIATE_TEST_SUITE_P(WritePaths, DictionaryColumnsWriteTest, ::testing::Bool(),
                         [](const auto& info) {
                           return info.param ? "ColumnByColumn" : "BufferedRowGroup";
                         });

}  // namespace
}  // namespace otap_parquet::dataset
