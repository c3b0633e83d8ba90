// SPDX-License-Identifier: Apache-2.0
#pragma once

#include <cstdint>
#include <functional>
#include <optional>
#include <ostream>
#include <string>
#include <vector>

#include <arrow/result.h>
#include <arrow/status.h>

#include "otap_parquet/cli/dataset_commands.h"
#include "otap_parquet/dataset/sharding.h"
#include "otap_parquet/schema/payload_type.h"

/// \file
/// `convert DATASET OUTPUT` and `bench replay DATASET`: reading Parquet datasets back
/// through the dataset reader (the same code as the `receiver:parquet` node).

namespace otap_parquet::cli {

struct ReplayOptions {
  std::string dataset;          ///< directory, file:// or s3:// URI
  std::string output;           ///< an OTLP file (.jsonl/.json/.pb)
  std::vector<Signal> signals;  ///< empty = all
  std::optional<int64_t> start_unix_nano;
  std::optional<int64_t> end_unix_nano;
  int64_t batch_size = 65535;
  DatasetFlags flags;    ///< S3 endpoint/region settings
  dataset::Shard shard;  ///< only this shard's partitions (default: all)
  /// --partition: only partitions whose path has every `key=value` level of one of
  /// these selectors (PartitionSelector); empty = all.
  std::vector<std::string> partitions;
  /// --progress: auto, always or never (cli/progress.h).
  std::string progress = "never";
  /// Test hook: called after each batch written (a test changes the dataset there).
  std::function<void()> after_batch;
};

/// \brief Whether a CLI input names a dataset rather than an OTLP file.
bool IsDatasetInput(const std::string& input);

/// \brief Input a replay skipped (each also logged as a warning with its path).
struct ReplaySkips {
  int64_t files = 0;    ///< unreadable or incompatible files (ReaderStats)
  int64_t columns = 0;  ///< columns that could not be read, replayed as nulls
  int64_t entries = 0;  ///< paths discovery did not read (DatasetPlan::skipped_entries)
  int64_t batches = 0;  ///< OTAP batches that did not convert to OTLP as a whole
  int64_t records = 0;  ///< log records, spans or data points that did not convert
  /// Partitions not replayed: two writers numbered ids in one id space
  /// (ReaderStats::id_collisions).
  int64_t partitions = 0;

  bool any() const {
    return files > 0 || columns > 0 || entries > 0 || records > 0 || partitions > 0;
  }
};

/// \brief Dataset → OTLP file: the exact inverse of `convert INPUT... DATASET`.
/// Bad input (an unreadable file, a path that is not a table directory, a record that
/// does not convert, e.g. an unknown AnyValue type: found by converting a failing
/// batch root by root) is skipped, reported and counted in `*skips`; the rest is
/// replayed. A file deleted after the listing (e.g. superseded by a compaction) is
/// not skipped: the dataset is listed again and the replay resumes after what was
/// written (in the compacted partition). Errors: the dataset cannot be listed, the
/// output cannot be written.
arrow::Status RunConvertFromDataset(const ReplayOptions& options, std::ostream& report,
                                    ReplaySkips* skips = nullptr);

/// \brief Replays a dataset into OtapBatches and discards them; prints records/s
/// and the process's peak RSS.
arrow::Status RunBenchReplay(const ReplayOptions& options, std::ostream& report);

}  // namespace otap_parquet::cli
