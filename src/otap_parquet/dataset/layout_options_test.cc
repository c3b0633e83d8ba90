// SPDX-License-Identifier: Apache-2.0
// The file layout options (issue #18, item 4): column encodings, attribute order and
// page indexes, from config to the written files and back through the reader.
#include <filesystem>
#include <set>
#include <string>
#include <vector>

#include <arrow/api.h>
#include <arrow/filesystem/localfs.h>
#include <arrow/io/file.h>
#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <parquet/arrow/reader.h>
#include <parquet/file_reader.h>
#include <parquet/metadata.h>
#include <parquet/properties.h>
#include <yaml-cpp/yaml.h>

#include "otap_parquet/config/config_reader.h"
#include "otap_parquet/dataset/attribute_order.h"
#include "otap_parquet/dataset/dataset_reader.h"
#include "otap_parquet/dataset/dataset_writer.h"
#include "otap_parquet/dataset/parquet_layout.h"
#include "otap_parquet/dataset/writer_options.h"
#include "otap_parquet/generator/otlp_generator.h"
#include "otap_parquet/otlp/convert.h"
#include "otap_parquet/otlp/equivalence.h"
#include "otap_parquet/testing/gtest_util.h"
#include "otap_parquet/testing/temp_dir.h"

namespace otap_parquet::dataset {
namespace {

namespace fs = std::filesystem;
using ::testing::ElementsAre;
using ::testing::HasSubstr;

std::vector<std::string> Messages(const config::ConfigErrors& errors) {
  std::vector<std::string> out;
  for (const auto& error : errors.errors()) out.push_back(error.ToString());
  return out;
}

// Scenario: writer_options with the layout keys, valid and invalid.
// Guarantees: column_encodings replaces the defaults as a whole (case-insensitive
// names), attribute_order and page_index are read; an unknown encoding and a
// non-mapping are errors at their keys.
TEST(LayoutOptionsTest, ReadFromConfig) {
  const WriterOptions defaults;
  EXPECT_EQ(defaults.attribute_order, AttributeOrder::kAsReceived);
  EXPECT_EQ(defaults.column_encodings, DefaultColumnEncodings());
  EXPECT_TRUE(defaults.page_index);

  config::ConfigErrors errors;
  config::ConfigReader reader(
      YAML::Load(
          "column_encodings: {parent_id: DELTA_BINARY_PACKED, double: "
          "byte_stream_split}\nattribute_order: parent_id_key\npage_index: false\n"),
      "w", &errors);
  const auto w = WriterOptions::Read(reader);
  reader.Finish();
  EXPECT_TRUE(errors.empty()) << errors.Join("; ");
  ASSERT_EQ(w.column_encodings.size(), 2u);
  EXPECT_EQ(w.column_encodings[0].first, "parent_id");
  EXPECT_EQ(w.column_encodings[0].second, ColumnEncoding::kDeltaBinaryPacked);
  EXPECT_EQ(w.column_encodings[1].second, ColumnEncoding::kByteStreamSplit);
  EXPECT_EQ(w.attribute_order, AttributeOrder::kParentIdKey);
  EXPECT_FALSE(w.page_index);

  config::ConfigErrors bad;
  config::ConfigReader bad_reader(
      YAML::Load("column_encodings: {id: rle_dictionary}\nattribute_order: by_key\n"),
      "w", &bad);
  (void)WriterOptions::Read(bad_reader);
  bad_reader.Finish();
  const auto messages = Messages(bad);
  ASSERT_EQ(messages.size(), 2u);
  EXPECT_THAT(messages[0], HasSubstr("w.column_encodings.id"));
  EXPECT_THAT(messages[0], HasSubstr("unknown encoding 'rle_dictionary'"));
  EXPECT_THAT(messages[1], HasSubstr("w.attribute_order"));

  config::ConfigErrors list;
  config::ConfigReader list_reader(YAML::Load("column_encodings: [id]\n"), "w", &list);
  (void)WriterOptions::Read(list_reader);
  EXPECT_THAT(Messages(list), ElementsAre(HasSubstr("must be a mapping")));
}

// Scenario: WriterProperties for the logs and log_attrs schemas with encodings on
// fitting and non-fitting columns and page indexes on.
// Guarantees: each listed column whose type the encoding fits gets it; others
// (trace_id is binary, not an integer; absent columns) stay unset (plain); page
// indexes follow the option.
TEST(LayoutOptionsTest, PropertiesCarryEncodingsWhereTheyFit) {
  WriterOptions options;
  options.column_encodings = {{"parent_id", ColumnEncoding::kDeltaBinaryPacked},
                              {"time_unix_nano", ColumnEncoding::kDeltaBinaryPacked},
                              {"trace_id", ColumnEncoding::kDeltaBinaryPacked},
                              {"double", ColumnEncoding::kByteStreamSplit},
                              {"body.str", ColumnEncoding::kDeltaLengthByteArray},
                              {"no_such", ColumnEncoding::kPlain}};
  ASSERT_OK_AND_ASSIGN(auto logs,
                       MakeWriterProperties(options, *DiskSchema(PayloadType::kLogs)));
  auto path = [](const std::string& dot) {
    return parquet::schema::ColumnPath::FromDotString(dot);
  };
  EXPECT_EQ(logs->encoding(path("time_unix_nano")),
            parquet::Encoding::DELTA_BINARY_PACKED);
  EXPECT_EQ(logs->encoding(path("body.str")), parquet::Encoding::DELTA_LENGTH_BYTE_ARRAY);
  // Not set: Parquet's default (plain).
  EXPECT_EQ(logs->encoding(path("trace_id")), parquet::Encoding::UNKNOWN);
  EXPECT_EQ(logs->encoding(path("id")), parquet::Encoding::UNKNOWN);
  EXPECT_TRUE(logs->page_index_enabled());
  ASSERT_OK_AND_ASSIGN(
      auto attrs, MakeWriterProperties(options, *DiskSchema(PayloadType::kLogAttrs)));
  EXPECT_EQ(attrs->encoding(path("parent_id")), parquet::Encoding::DELTA_BINARY_PACKED);
  EXPECT_EQ(attrs->encoding(path("double")), parquet::Encoding::BYTE_STREAM_SPLIT);

  options.column_encodings.clear();
  options.page_index = false;
  ASSERT_OK_AND_ASSIGN(
      auto plain, MakeWriterProperties(options, *DiskSchema(PayloadType::kLogAttrs)));
  EXPECT_EQ(plain->encoding(path("parent_id")), parquet::Encoding::UNKNOWN);
  EXPECT_FALSE(plain->page_index_enabled());
}

// Scenario: the default 1 MiB pages, 4 KiB pages, and a row limit per page.
// Guarantees: Arrow's column writers take 64 Ki values per batch with 1 MiB pages
// (not Arrow's 1,024: the per-batch work was ~2% of the write), never fewer than
// 1,024, and no more than a page's row limit or a sixteenth of its bytes.
TEST(LayoutOptionsTest, WriteBatchFollowsPageSize) {
  WriterOptions options;
  ASSERT_OK_AND_ASSIGN(
      auto props, MakeWriterProperties(options, *DiskSchema(PayloadType::kLogAttrs)));
  EXPECT_EQ(props->write_batch_size(), 64 * 1024);
  options.max_rows_per_page = 20000;
  EXPECT_EQ(WriteBatchSize(options), 20000);
  options.max_rows_per_page = 100;
  EXPECT_EQ(WriteBatchSize(options), 1024);
  options.max_rows_per_page = 0;
  options.data_page_size = 64 * 1024;
  EXPECT_EQ(WriteBatchSize(options), 4096);
  options.data_page_size = 4096;
  ASSERT_OK_AND_ASSIGN(
      props, MakeWriterProperties(options, *DiskSchema(PayloadType::kLogAttrs)));
  EXPECT_EQ(props->write_batch_size(), 1024);
}

std::shared_ptr<arrow::RecordBatch> Attrs(
    const std::vector<std::optional<uint32_t>>& ids,
    const std::vector<std::optional<std::string>>& keys) {
  arrow::UInt32Builder id_builder;
  arrow::StringBuilder key_builder;
  arrow::Int64Builder row_builder;  // original row, to follow the rows
  for (size_t i = 0; i < ids.size(); ++i) {
    EXPECT_OK(ids[i] ? id_builder.Append(*ids[i]) : id_builder.AppendNull());
    EXPECT_OK(keys[i] ? key_builder.Append(*keys[i]) : key_builder.AppendNull());
    EXPECT_OK(row_builder.Append(static_cast<int64_t>(i)));
  }
  auto schema = arrow::schema({arrow::field("parent_id", arrow::uint32()),
                               arrow::field("key", arrow::utf8()),
                               arrow::field("row", arrow::int64())});
  return arrow::RecordBatch::Make(
      schema, static_cast<int64_t>(ids.size()),
      {id_builder.Finish().ValueOrDie(), key_builder.Finish().ValueOrDie(),
       row_builder.Finish().ValueOrDie()});
}

std::vector<int64_t> RowsOf(const arrow::RecordBatch& batch) {
  const auto& rows = static_cast<const arrow::Int64Array&>(*batch.GetColumnByName("row"));
  return {rows.raw_values(), rows.raw_values() + rows.length()};
}

// Scenario: attribute rows (parents out of order, repeated keys, a null parent and a
// null key) ordered both ways.
// Guarantees: (key, parent_id) and (parent_id, key) orders, nulls first, ties in
// input order; every column moves with its row; already ordered input and
// as_received return the batch itself.
TEST(LayoutOptionsTest, OrderAttributeRows) {
  auto batch = Attrs({2, 1, 1, 2, std::nullopt, 1, 0},
                     {"b", "b", "a", "a", "a", std::nullopt, "b"});
  ASSERT_OK_AND_ASSIGN(auto by_key,
                       OrderAttributeRows(batch, AttributeOrder::kKeyParentId));
  // null key (row 5), then "a": null parent (4), 1 (2), 2 (3); "b": 0 (6), 1 (1), 2 (0).
  EXPECT_THAT(RowsOf(*by_key), ElementsAre(5, 4, 2, 3, 6, 1, 0));
  ASSERT_OK_AND_ASSIGN(auto by_parent,
                       OrderAttributeRows(batch, AttributeOrder::kParentIdKey));
  // null parent (4); 0: b (6); 1: null key (5), a (2), b (1); 2: a (3), b (0).
  EXPECT_THAT(RowsOf(*by_parent), ElementsAre(4, 6, 5, 2, 1, 3, 0));
  const auto& keys = static_cast<const arrow::StringArray&>(*by_parent->column(1));
  EXPECT_EQ(keys.GetView(3), "a");
  ASSERT_OK_AND_ASSIGN(auto again,
                       OrderAttributeRows(by_key, AttributeOrder::kKeyParentId));
  EXPECT_EQ(again.get(), by_key.get());
  ASSERT_OK_AND_ASSIGN(auto same, OrderAttributeRows(batch, AttributeOrder::kAsReceived));
  EXPECT_EQ(same.get(), batch.get());
}

arrow::Result<std::vector<otlp::OtlpRequest>> ReadAll(const std::string& base,
                                                      int64_t batch_size) {
  ReaderOptions options;
  options.batch_size = batch_size;
  ARROW_ASSIGN_OR_RAISE(
      auto reader,
      DatasetReader::Make(std::make_shared<arrow::fs::LocalFileSystem>(), base, options));
  std::vector<otlp::OtlpRequest> actual;
  while (true) {
    ARROW_ASSIGN_OR_RAISE(auto batch, reader->Next());
    if (!batch) break;
    ARROW_RETURN_NOT_OK(batch->Validate());
    ARROW_ASSIGN_OR_RAISE(auto request, otlp::FromOtap(*batch));
    actual.push_back(std::move(request));
  }
  if (reader->stats().orphan_rows != 0) return arrow::Status::Invalid("orphan rows");
  return actual;
}

std::vector<std::string> ParquetFiles(const std::string& base, const std::string& table) {
  std::vector<std::string> out;
  for (const auto& entry : fs::recursive_directory_iterator(fs::path(base) / table)) {
    if (entry.path().extension() == ".parquet") out.push_back(entry.path().string());
  }
  std::sort(out.begin(), out.end());
  return out;
}

// Scenario: realistic logs and spans (10 attributes per record, several value
// types) and edge-case logs, traces and metrics (every value type, nulls, empty
// keys) written by the DatasetWriter with attributes by key within each batch and
// the default delta ids and times, small row groups and rotating files so
// that row groups and files cut batches; replayed with chunk sizes that cut the
// batches' attribute blocks (7 roots) and that span several (1000).
// Guarantees: the replay is equivalent to the input, with no orphan rows; the
// files really are in the new layout (the first log_attrs rows share one key, the
// id columns are delta encoded).
TEST(LayoutOptionsTest, KeyOrderedAttributesReplayExactly) {
  testing::TempDir dir("otap_layout_test");
  WriterOptions options;
  options.attribute_order = AttributeOrder::kKeyParentId;
  options.row_group_size = 700;
  options.target_rows_per_file = 1500;
  options.flush_when_older_than = std::chrono::milliseconds(0);
  DatasetWriterSettings settings;
  settings.filesystem = std::make_shared<arrow::fs::LocalFileSystem>();
  settings.base_path = dir.path();
  ASSERT_OK_AND_ASSIGN(auto writer,
                       DatasetWriter::Make(options, PartitioningOptions{}, settings));
  std::vector<otlp::OtlpRequest> expected;
  std::vector<arrow::Future<>> acks;
  generator::GeneratorOptions realistic;
  realistic.seed = 11;
  realistic.items_per_scope = 40;
  generator::GeneratorOptions edge = realistic;
  edge.mode = generator::Mode::kEdgeCases;
  edge.items_per_scope = 6;
  generator::OtlpGenerator realistic_gen(realistic), edge_gen(edge);
  for (int i = 0; i < 12; ++i) {
    const Signal signal = i % 3 == 0   ? Signal::kLogs
                          : i % 3 == 1 ? Signal::kTraces
                                       : Signal::kMetrics;
    auto request = signal == Signal::kMetrics || i % 2 == 1 ? edge_gen.Next(signal)
                                                            : realistic_gen.Next(signal);
    ASSERT_OK_AND_ASSIGN(auto batches, otlp::ToOtap(request));
    for (const auto& batch : batches) acks.push_back(writer->Write(batch));
    expected.push_back(std::move(request));
  }
  ASSERT_OK(writer->Close());
  for (auto& ack : acks) ASSERT_OK(ack.status());

  const auto attr_files = ParquetFiles(dir.path(), "log_attrs");
  ASSERT_FALSE(attr_files.empty());
  ASSERT_OK_AND_ASSIGN(
      auto arrow_reader,
      parquet::arrow::OpenFile(arrow::io::ReadableFile::Open(attr_files[0]).ValueOrDie(),
                               arrow::default_memory_pool()));
  ASSERT_OK_AND_ASSIGN(auto table, arrow_reader->ReadTable({1}));  // key
  auto keys = std::static_pointer_cast<arrow::StringArray>(table->column(0)->chunk(0));
  ASSERT_GE(keys->length(), 3);
  EXPECT_EQ(keys->GetView(0), keys->GetView(1));
  EXPECT_EQ(keys->GetView(1), keys->GetView(2));
  const auto metadata = arrow_reader->parquet_reader()->metadata();
  const auto row_group = metadata->RowGroup(0);
  const auto chunk = row_group->ColumnChunk(0);  // parent_id
  const std::vector<parquet::Encoding::type> encodings = chunk->encodings();
  EXPECT_NE(std::find(encodings.begin(), encodings.end(),
                      parquet::Encoding::DELTA_BINARY_PACKED),
            encodings.end());

  for (int64_t batch_size : {7, 1000}) {
    SCOPED_TRACE(batch_size);
    ASSERT_OK_AND_ASSIGN(auto actual, ReadAll(dir.path(), batch_size));
    ASSERT_OK(otlp::CheckEquivalent(expected, actual));
  }
}

// Scenario: logs written with page_index on (the default, as Arrow's) and off.
// Guarantees: with it every column chunk has an offset index; without it none.
TEST(LayoutOptionsTest, PageIndexWhenConfigured) {
  for (bool page_index : {false, true}) {
    testing::TempDir dir("otap_layout_test");
    WriterOptions options;
    options.page_index = page_index;
    DatasetWriterSettings settings;
    settings.filesystem = std::make_shared<arrow::fs::LocalFileSystem>();
    settings.base_path = dir.path();
    ASSERT_OK_AND_ASSIGN(auto writer,
                         DatasetWriter::Make(options, PartitioningOptions{}, settings));
    generator::OtlpGenerator gen(generator::GeneratorOptions{});
    ASSERT_OK_AND_ASSIGN(auto batches, otlp::ToOtap(gen.Next(Signal::kLogs)));
    std::vector<arrow::Future<>> acks;
    for (const auto& batch : batches) acks.push_back(writer->Write(batch));
    ASSERT_OK(writer->Close());
    for (auto& ack : acks) ASSERT_OK(ack.status());
    for (const auto& path : ParquetFiles(dir.path(), "logs")) {
      auto reader = parquet::ParquetFileReader::OpenFile(path);
      auto row_group = reader->metadata()->RowGroup(0);
      for (int c = 0; c < row_group->num_columns(); ++c) {
        auto chunk = row_group->ColumnChunk(c);
        EXPECT_EQ(chunk->GetOffsetIndexLocation().has_value(), page_index) << c;
      }
    }
  }
}

}  // namespace
}  // namespace otap_parquet::dataset
