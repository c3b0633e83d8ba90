// SPDX-License-Identifier: Apache-2.0
#pragma once

#include <cstdint>
#include <memory>
#include <optional>
#include <ostream>
#include <string>
#include <vector>

#include <arrow/result.h>
#include <arrow/status.h>

#include "otap_parquet/cli/commands.h"
#include "otap_parquet/dataset/dataset_writer.h"
#include "otap_parquet/dataset/writer_options.h"
#include "otap_parquet/storage/storage.h"

/// \file
/// CLI commands that write Parquet datasets: `convert` to a dataset, `bench write`.

namespace otap_parquet::cli {

/// \brief Dataset flags shared by `convert` (dataset output) and `bench write`.
struct DatasetFlags {
  /// --compression: zstd, snappy, lz4, gzip, brotli, none; empty = the writer's
  /// default (zstd) or --writer-options' codec.
  std::string compression;
  /// --writer-options: a YAML mapping, the exporter's `writer_options` block
  /// (e.g. "{attribute_order: as_received, column_encodings: {}}"); the other
  /// flags override its keys.
  std::string writer_options;
  /// --rows-per-file: target_rows_per_file; 0 = the writer's default.
  int64_t rows_per_file = 0;
  /// --partition-by (repeatable): part_id, hour, day, or none. Empty = part_id
  /// (upstream's usual config: without it `_part_id` is only in root metadata).
  std::vector<std::string> partition_by;
  /// --bloom-filter (repeatable): bloom_filter_columns, e.g. trace_id.
  std::vector<std::string> bloom_filter_columns;
  /// --s3-endpoint, --s3-region, --allow-http (s3:// outputs; credentials come
  /// from the AWS environment variables).
  std::string s3_endpoint;
  std::string s3_region;
  bool allow_http = false;
  /// --retry-timeout (object stores: how long one request is retried, e.g. 30s;
  /// empty = the `retry` default) and --max-retries (-1 = the default).
  std::string retry_timeout;
  int64_t max_retries = -1;
  /// --no-fsync: skip fsync of local files (benchmarks only).
  bool no_fsync = false;

  /// \brief Writer options and partitioning the flags select (Invalid naming the
  /// flag for a bad value).
  arrow::Result<std::pair<dataset::WriterOptions, dataset::PartitioningOptions>>
  ToOptions() const;
  dataset::S3Config ToS3Config() const;
  /// \brief The backend settings and retry the flags select (for FileSystemFromUri).
  arrow::Result<dataset::StorageConfig> ToStorageSettings() const;
};

/// \brief Whether `output` names an OTLP file (.jsonl/.json/.ndjson/.pb/...), as
/// opposed to a dataset (directory path, file:// or s3:// URI).
bool IsOtlpFileOutput(const std::string& output);

/// \brief `convert INPUT... DATASET`: OTLP files through OTAP into a Parquet
/// dataset. Writing into an existing dataset adds files; nothing is overwritten.
arrow::Status RunConvertToDataset(const ConvertOptions& options,
                                  const DatasetFlags& flags, std::ostream& report);

struct BenchWriteOptions {
  std::vector<std::string> inputs;
  std::optional<Signal> signal;
  DatasetFlags flags;
  /// Dataset directory; empty = a fresh temporary directory, removed afterwards.
  std::string dir;
  /// Write the inputs this many times (more data for a steadier number).
  int repeat = 1;
  int64_t max_batch_rows = 8192;
};

/// \brief `bench write INPUT...`: reads the inputs into memory as OtapBatches, then
/// times only the dataset writer (Write of every batch, then Close). Prints
/// records/s, MB/s of Arrow data and bytes per record on disk.
arrow::Status RunBenchWrite(const BenchWriteOptions& options, std::ostream& report);

/// \brief The file system of an existing dataset (`uri`: directory, file:// or
/// s3://) and its base path: IOError when there is no dataset there (a mistyped
/// local path would otherwise read as an empty dataset, and MakeFileSystem would
/// create it). Used by inspect, repair and partitions.
arrow::Result<std::shared_ptr<arrow::fs::FileSystem>> OpenDataset(
    const std::string& uri, const DatasetFlags& flags, std::string* base);

}  // namespace otap_parquet::cli
