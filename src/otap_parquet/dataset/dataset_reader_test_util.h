// SPDX-License-Identifier: Apache-2.0
#pragma once

/// \file
/// Test and benchmark helpers of DatasetReader: writes star-schema datasets the way
/// an exporter does (many input batches per file, each table rotating at its own row
/// count, small row groups, rows shuffled within each input batch). Header-only; for
/// `*_test.cc` and `*_benchmark.cc` files only.

#include <cstdint>
#include <cstdio>
#include <map>
#include <memory>
#include <numeric>
#include <random>
#include <string>
#include <utility>
#include <vector>

#include <arrow/api.h>
#include <arrow/compute/api_vector.h>
#include <arrow/filesystem/localfs.h>
#include <arrow/io/file.h>
#include <parquet/arrow/writer.h>
#include <parquet/properties.h>

#include "otap_parquet/dataset/parquet_layout.h"
#include "otap_parquet/generator/otlp_generator.h"
#include "otap_parquet/otlp/convert.h"

namespace otap_parquet::dataset::testing {

/// \brief How TestDatasetWriter lays out files.
struct TestWriteOptions {
  /// Rotate a table's file once it holds at least this many rows (checked after each
  /// appended input batch, as upstream does); per table, else default_rotate_rows.
  std::map<PayloadType, int64_t> rotate_rows;
  int64_t default_rotate_rows = 11;
  int64_t row_group_rows = 4;
  /// Shuffle each input batch's rows of each table (non-monotone ids in segments).
  bool shuffle = true;
  uint64_t seed = 7;
  parquet::Compression::type codec = parquet::Compression::SNAPPY;
  /// Write column statistics (readers then know every row group's id range).
  bool statistics = true;
};

/// \brief Appends per-table record batches to rotating Parquet files under
/// `<base>/<table>/<partition>/part-<seq>.parquet`. A batch whose schema differs
/// from the open file's starts a new file.
class TestDatasetWriter {
 public:
  TestDatasetWriter(std::string base, TestWriteOptions options)
      : base_(std::move(base)), options_(std::move(options)), rng_(options_.seed) {}
  ~TestDatasetWriter() { (void)Close(); }

  arrow::Status Append(const std::string& partition, PayloadType type,
                       std::shared_ptr<arrow::RecordBatch> batch) {
    if (batch->num_rows() == 0) return arrow::Status::OK();
    if (options_.shuffle && batch->num_rows() > 1) {
      std::vector<int32_t> order(static_cast<size_t>(batch->num_rows()));
      std::iota(order.begin(), order.end(), 0);
      std::shuffle(order.begin(), order.end(), rng_);
      arrow::Int32Builder builder;
      ARROW_RETURN_NOT_OK(builder.AppendValues(order));
      ARROW_ASSIGN_OR_RAISE(auto indices, builder.Finish());
      ARROW_ASSIGN_OR_RAISE(auto datum, arrow::compute::Take(batch, indices));
      batch = datum.record_batch();
    }
    const auto key = std::make_pair(partition, type);
    auto it = open_.find(key);
    if (it != open_.end() && !it->second.schema->Equals(*batch->schema())) {
      ARROW_RETURN_NOT_OK(CloseFile(&it->second));
      open_.erase(it);
      it = open_.end();
    }
    if (it == open_.end()) {
      OpenFile file;
      file.schema = batch->schema();
      std::string dir = base_ + "/" + std::string(TableName(type));
      if (!partition.empty()) dir += "/" + partition;
      ARROW_RETURN_NOT_OK(local_.CreateDir(dir));
      char name[64];
      std::snprintf(name, sizeof(name), "/part-%010d-test.parquet", ++sequence_);
      file.path = dir + name;
      ARROW_ASSIGN_OR_RAISE(file.out, arrow::io::FileOutputStream::Open(file.path));
      parquet::WriterProperties::Builder builder;
      builder.compression(options_.codec)->max_row_group_length(options_.row_group_rows);
      if (!options_.statistics) builder.disable_statistics();
      auto props = builder.build();
      auto arrow_props =
          parquet::ArrowWriterProperties::Builder().store_schema()->build();
      ARROW_ASSIGN_OR_RAISE(
          file.writer,
          parquet::arrow::FileWriter::Open(*batch->schema(), arrow::default_memory_pool(),
                                           file.out, props, arrow_props));
      it = open_.emplace(key, std::move(file)).first;
      files_.push_back(it->second.path);
    }
    ARROW_RETURN_NOT_OK(it->second.writer->WriteRecordBatch(*batch));
    it->second.rows += batch->num_rows();
    auto limit = options_.rotate_rows.find(type);
    const int64_t rotate = limit == options_.rotate_rows.end()
                               ? options_.default_rotate_rows
                               : limit->second;
    if (rotate > 0 && it->second.rows >= rotate) {
      ARROW_RETURN_NOT_OK(CloseFile(&it->second));
      open_.erase(it);
    }
    return arrow::Status::OK();
  }

  /// Appends every table of an on-disk batch under `_part_id=<part_id>`.
  arrow::Status Append(const DiskBatch& disk) {
    for (const auto& [type, batch] : disk.tables) {
      ARROW_RETURN_NOT_OK(Append("_part_id=" + disk.part_id, type, batch));
    }
    return arrow::Status::OK();
  }

  arrow::Status Close() {
    for (auto& [key, file] : open_) ARROW_RETURN_NOT_OK(CloseFile(&file));
    open_.clear();
    return arrow::Status::OK();
  }

  /// Paths of every file written, in creation order.
  const std::vector<std::string>& files() const { return files_; }

 private:
  struct OpenFile {
    std::string path;
    std::shared_ptr<arrow::Schema> schema;
    std::shared_ptr<arrow::io::FileOutputStream> out;
    std::unique_ptr<parquet::arrow::FileWriter> writer;
    int64_t rows = 0;
  };

  static arrow::Status CloseFile(OpenFile* file) {
    if (!file->writer) return arrow::Status::OK();
    ARROW_RETURN_NOT_OK(file->writer->Close());
    file->writer.reset();
    return file->out->Close();
  }

  std::string base_;
  TestWriteOptions options_;
  std::mt19937_64 rng_;
  arrow::fs::LocalFileSystem local_;
  std::map<std::pair<std::string, PayloadType>, OpenFile> open_;
  std::vector<std::string> files_;
  int sequence_ = 0;
};

/// \brief Generates `requests` OTLP requests (signals in turn), converts them to OTAP
/// (≤ max_root_rows roots per batch), applies our on-disk layout with one id
/// generator (a new `_part_id` every `requests_per_partition` requests) and writes
/// them. Returns the requests (the expected replay). `first_offset`: the id offset of
/// the first `_part_id` (ids near the top of UInt32, as a long-running writer's).
inline arrow::Result<std::vector<otlp::OtlpRequest>> WriteGeneratedDataset(
    const std::string& base, const std::vector<Signal>& signals, int requests,
    const generator::GeneratorOptions& gen_options, const TestWriteOptions& write_options,
    int requests_per_partition = 1'000'000, int64_t max_root_rows = 65535,
    uint32_t first_offset = 0) {
  generator::OtlpGenerator gen(gen_options);
  int uuid = 0;
  PartitionIdGenerator ids([&uuid] {
    char buf[64];
    std::snprintf(buf, sizeof(buf), "00000000-0000-4000-8000-%012d", ++uuid);
    return std::string(buf);
  });
  ids.set_offset_for_testing(first_offset);
  TestDatasetWriter writer(base, write_options);
  std::vector<otlp::OtlpRequest> expected;
  otlp::ToOtapOptions to_otap;
  to_otap.max_root_rows = max_root_rows;
  for (int i = 0; i < requests; ++i) {
    if (i > 0 && i % requests_per_partition == 0) ids.Reset();
    auto request = gen.Next(signals[static_cast<size_t>(i) % signals.size()]);
    ARROW_ASSIGN_OR_RAISE(auto batches, otlp::ToOtap(request, to_otap));
    for (const auto& batch : batches) {
      ARROW_ASSIGN_OR_RAISE(auto disk, ids.Apply(batch));
      ARROW_RETURN_NOT_OK(writer.Append(disk));
    }
    expected.push_back(std::move(request));
  }
  ARROW_RETURN_NOT_OK(writer.Close());
  return expected;
}

/// \brief A small lake: 9 requests (all three signals) in three id spaces, every
/// table rotating into files of 40 rows; `statistics` false writes none.
inline arrow::Status WriteSmallLake(const std::string& base, bool statistics = true) {
  generator::GeneratorOptions gen;
  gen.items_per_scope = 4;
  TestWriteOptions write;
  write.statistics = statistics;
  write.default_rotate_rows = 40;
  return WriteGeneratedDataset(base, {Signal::kLogs, Signal::kTraces, Signal::kMetrics},
                               9, gen, write, /*requests_per_partition=*/3)
      .status();
}

}  // namespace otap_parquet::dataset::testing
