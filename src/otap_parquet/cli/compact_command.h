// SPDX-License-Identifier: Apache-2.0
#pragma once

#include <ostream>
#include <string>
#include <vector>

#include <arrow/result.h>

#include "otap_parquet/cli/dataset_commands.h"

/// \file
/// `otap-parquet compact DATASET`: merges the small files of each partition into
/// files of the target size (dataset/compaction.h, docs/operations.md).

namespace otap_parquet::cli {

struct CompactCommandOptions {
  std::string dataset;
  bool dry_run = false;
  /// --older-than: only partitions whose every file is older ("1h", "0s").
  std::string older_than = "1h";
  /// --grace: superseded files are deleted this long after the commit.
  std::string grace = "1h";
  /// --partition (repeatable): partition paths as `partitions` lists them.
  std::vector<std::string> partitions;
  /// --target-size: bytes per new file ("128MiB").
  std::string target_size = "128MiB";
  /// --row-group-size (rows; 0 = the writer's default), --compression-level,
  /// --bloom-filter-column and --dictionary-column (repeatable; dictionary: empty =
  /// the writer's default list).
  int64_t row_group_size = 0;
  int compression_level = 0;
  std::vector<std::string> bloom_filter_columns;
  std::vector<std::string> dictionary_columns;
  /// --progress: auto, always, never (cli/progress.h): old files read.
  std::string progress = "auto";
  /// --compression, --no-fsync, --s3-endpoint, --s3-region, --allow-http.
  DatasetFlags flags;
};

/// Exit codes of `compact` (docs/operations.md).
constexpr int kCompactOk = 0;
constexpr int kCompactError = 1;
constexpr int kCompactProblems = 3;  ///< a partition was refused (see its line), or
                                     ///< a dry run found work
constexpr int kCompactBusy = 3;      ///< another compact holds the dataset's lock
                                     ///< (local disk): nothing done

/// \brief Runs the compaction, prints one line per partition and cleanup and a
/// summary; returns the exit code, or the error. The environment variable
/// `OTAP_PARQUET_COMPACT_STOP_AT` (tests) stops the process with SIGSTOP at the named
/// point (CompactOptions::crash_hook): a test runs another compact meanwhile, then
/// sends SIGCONT, or SIGKILL for a crash there.
arrow::Result<int> RunCompact(const CompactCommandOptions& options, std::ostream& out);

}  // namespace otap_parquet::cli
