// SPDX-License-Identifier: Apache-2.0
#pragma once

/// \file
/// The replay reader: rebuilds complete OtapBatches from a star-schema Parquet dataset
/// written by our exporter or by upstream otel-arrow's `exporter:parquet`
/// (shared/docs/otap-parquet-format.md §4–§8, §14.1), in bounded memory whatever the
/// partition size. Per (partition, signal) a streaming merge (signal_merge.h) walks
/// each table's row groups in order (table_cursor.h) and joins children to parents
/// chunk by chunk (key_set.h), joining upstream resource/scope attributes through
/// inferred offsets (upstream_keys.h). Id collisions, bad files and storage failures
/// are skipped or retried and counted (ReaderStats). How and why it works, and what
/// it cannot recover: docs/datasets.md, "How the reader merges".
///
/// Not thread-safe.

#include <algorithm>
#include <chrono>
#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include <arrow/filesystem/filesystem.h>
#include <arrow/memory_pool.h>
#include <arrow/result.h>
#include <arrow/status.h>

#include "otap_parquet/dataset/discovery.h"
#include "otap_parquet/pdata/otap_batch.h"
#include "otap_parquet/util/backoff.h"
#include "otap_parquet/util/event_log.h"

namespace otap_parquet::dataset {

namespace internal {
class SignalMerge;
}  // namespace internal

/// \brief Event-time window [start, end) in Unix nanoseconds; an end of INT64_MAX
/// (the default) is open.
struct TimeRange {
  int64_t start_unix_nano = 0;
  int64_t end_unix_nano = INT64_MAX;

  /// Whether a stored event time is inside. OTLP times are uint64 kept in int64
  /// Timestamp columns, so they compare unsigned: a time at or after 2^63 ns (year
  /// 2262, stored negative) is after every start and inside an open end.
  bool Contains(int64_t stored_time) const {
    const auto t = static_cast<uint64_t>(stored_time);
    return t >= static_cast<uint64_t>(start_unix_nano) &&
           (end_unix_nano == INT64_MAX || t < static_cast<uint64_t>(end_unix_nano));
  }
};

/// \brief How resource/scope attributes of upstream files (un-offset UInt16
/// `resource.id`, Q1) are joined (docs/datasets.md).
enum class UpstreamResourcePolicy : uint8_t {
  kInferOffset,  ///< recover each batch's offset from the root id stream
  kDrop,         ///< emit upstream resources and scopes without attributes
};

/// \brief Where to resume one (partition, signal) of a dataset, e.g. from a checkpoint
/// (see replay_checkpoint.h). Children follow their roots: the children of skipped
/// roots are dropped (counted as filtered_rows), never emitted.
struct ResumePoint {
  /// Every root file of the (partition, signal) was replayed: not opened at all.
  bool skip = false;
  /// Root files (full paths, as in PartitionPlan) already replayed: not read.
  std::vector<std::string> done_files;
  /// Root file in progress (full path; empty = none): its first `row` rows were
  /// replayed and are not emitted again.
  std::string file;
  int64_t row = 0;
};

/// \brief Options of DatasetReader.
struct ReaderOptions {
  /// Signals to replay, in this order within each partition.
  std::vector<Signal> signals = {Signal::kLogs, Signal::kTraces, Signal::kMetrics};
  /// Most root rows per output OtapBatch, 1..65535.
  int64_t batch_size = 65535;
  /// Skip files modified more recently than this (0 = read all).
  std::chrono::milliseconds min_file_age{0};
  /// Keep only roots whose event time is in the range (logs: time_unix_nano, or
  /// observed_time_unix_nano when that is 0; spans: start_time_unix_nano); metrics:
  /// only data points whose time_unix_nano is in it, and only metrics with such a
  /// point. Row groups (of roots; of metrics' data points) whose time statistics lie
  /// outside are not read. With a filter, dropped children of filtered roots and
  /// true orphans are both counted as filtered_rows.
  std::optional<TimeRange> time_range;
  UpstreamResourcePolicy upstream_resource_policy = UpstreamResourcePolicy::kInferOffset;
  /// Storage failures (a file's bytes could not be fetched, as opposed to bad data):
  /// attempts per read, the first retry after io_retry_backoff (doubling), before
  /// Next() fails with a retryable error (IsRetryableReadError in read_errors.h).
  int io_attempts = 3;
  std::chrono::milliseconds io_retry_backoff{200};
  /// Where skipped files and columns, retries and id collisions are reported; a node
  /// passes its logger and event scope ("receiver.parquet").
  util::EventLog log;
  /// Partitions to read (e.g. one share of several pipeline instances); unset = all.
  /// Applied to the plan right after discovery.
  std::function<bool(const PartitionPlan&)> partition_filter;
  /// Called once with the plan after discovery and partition_filter, before any
  /// read; may remove files (e.g. TailPlanner holds back child files). Unset = none.
  std::function<arrow::Status(DatasetPlan*)> plan_hook;
  /// Called before each (partition, signal) is opened; unset = read everything.
  std::function<ResumePoint(const PartitionPlan&, Signal)> resume;
  /// Pool of the decoded columns, slices and output batches; null =
  /// util::DataMemoryPool() (jemalloc keeps freed pages for reuse, so slices do not fault
  /// in fresh zeroed pages).
  arrow::MemoryPool* pool = nullptr;

  static ReaderOptions Defaults() { return {}; }
  /// \brief The storage retries' policy: io_retry_backoff, doubling.
  util::BackoffPolicy IoBackoff() const {
    return {.initial_interval = io_retry_backoff, .max_interval = std::chrono::hours(1)};
  }
  arrow::Status Validate() const;
};

/// \brief Counters of a DatasetReader (cumulative).
struct ReaderStats {
  int64_t partitions = 0;     ///< partitions opened
  int64_t files_read = 0;     ///< files whose footer was read successfully
  int64_t corrupt_files = 0;  ///< files skipped as unreadable (corrupt, not Parquet)
  /// Files skipped because a required column (file_checks.h) is missing, of an
  /// unconvertible type or unreadable.
  int64_t incompatible_files = 0;
  /// Optional columns read as nulls because Arrow cannot read them (per file and
  /// column; the file's other columns replay).
  int64_t unreadable_columns = 0;
  /// Columns recovered from upstream's length-prefixed fixed-size ids (Q14; per file
  /// and column).
  int64_t recovered_columns = 0;
  /// Reads retried after a storage failure (ReaderOptions::io_attempts).
  int64_t io_retries = 0;
  int64_t row_groups_read = 0;
  int64_t row_groups_skipped = 0;        ///< not read: time statistics outside time_range
  int64_t row_groups_without_stats = 0;  ///< key statistics missing: treated as min 0
  int64_t bytes_read = 0;                ///< compressed column chunk bytes read
  /// Rows read per payload type (index = PayloadType value).
  std::vector<int64_t> rows_per_table = std::vector<int64_t>(kPayloadTypeSlots, 0);
  /// Child rows whose parent never appears (never attached to another parent).
  int64_t orphan_rows = 0;
  /// Resource / scope attribute rows no root of the replayed signals referenced (the
  /// tables are shared by all signals of an exporter).
  int64_t unreferenced_attr_rows = 0;
  /// Rows dropped by time_range (roots, their children, and with a filter orphans).
  int64_t filtered_rows = 0;
  /// Upstream root rows whose resource/scope attributes could not be joined (Q1).
  int64_t unresolved_resource_rows = 0;
  /// Upstream batch boundaries found through attribute parent ids (Q1 policy).
  int64_t upstream_batch_splits = 0;
  /// Largest number of rows held over from one output chunk to the next (buffered
  /// child rows + the unread rest of the current root row group): the merge's memory
  /// bound beyond the chunk itself (about one segment + one slice per table).
  int64_t peak_buffered_rows = 0;
  int64_t batches_emitted = 0;
  int64_t roots_emitted = 0;
  /// Root files not read because ReaderOptions::resume marked them replayed.
  int64_t resume_skipped_files = 0;
  /// Row groups not read on resume because they hold only replayed rows: of the root
  /// file in progress, before the resume row; of child tables, those whose parent
  /// ids all lie below what is still to be read (statistics; rows counted as
  /// filtered_rows, as when they were read and dropped).
  int64_t resume_skipped_row_groups = 0;
  /// (Partition, signal)s not replayed because two of their root files' ids overlap
  /// (two writers numbered ids in one id space; FindIdCollision). Counted, with an
  /// error log naming both files, each time the reader reaches one.
  int64_t id_collisions = 0;

  /// \brief Adds `other`'s counts (peak_buffered_rows: the larger), e.g. of the
  /// readers of successive passes.
  void Add(const ReaderStats& other);
};

/// \brief Where the reader stands after the last emitted chunk: with the plan, enough
/// to resume (ResumePoint; ReplayProgress in replay_checkpoint.h keeps the state).
struct ReaderPosition {
  struct TableCursorPosition {
    PayloadType type = PayloadType::kUnknown;
    /// File of the next row group to read ("" when the table is exhausted).
    std::string file;
    int row_group = 0;
    /// Row (within the file) where that row group starts.
    int64_t first_row = 0;
  };
  int partition_index = -1;  ///< into plan().partitions, -1 before the first
  std::string partition_path;
  Signal signal = Signal::kLogs;
  /// Root table: file and row (within the file) of the next root to emit; every
  /// root file of the partition before it (PartitionPlan order) has been consumed.
  /// Empty once the roots of (partition, signal) are exhausted.
  std::string root_file;
  int64_t root_row_in_file = 0;
  /// Read frontier of every table (children keep buffered rows behind it).
  std::vector<TableCursorPosition> tables;
};

/// \brief Replays a Parquet dataset as OtapBatches (see the file comment).
class DatasetReader {
 public:
  ~DatasetReader();

  /// \brief Discovers `base` on `fs` and prepares reading; no data is read yet.
  /// \return Invalid for bad options, IOError when listing fails.
  static arrow::Result<std::unique_ptr<DatasetReader>> Make(
      std::shared_ptr<arrow::fs::FileSystem> fs, std::string base,
      ReaderOptions options = ReaderOptions::Defaults());

  /// \brief The next OtapBatch (≤ batch_size roots, canonical schemas, dense ids),
  /// partitions in path order, signals in ReaderOptions order; nullopt at the end.
  /// Bad files never fail the call; an error is returned for storage failures that
  /// outlasted the retries (IsRetryableReadError: discard the reader, resume later)
  /// and for internal failures (e.g. out of memory).
  arrow::Result<std::optional<OtapBatch>> Next();

  const ReaderStats& stats() const { return stats_; }
  const DatasetPlan& plan() const { return plan_; }
  /// \brief Position after the last emitted batch.
  ReaderPosition position() const;
  /// \brief Whether the signal of the plan's partition `partition_index` was left
  /// out because its root files' ids collide: not replayed, so a checkpoint must
  /// not mark it done.
  bool IdCollision(int partition_index, Signal signal) const {
    return std::find(collisions_.begin(), collisions_.end(),
                     std::pair{partition_index, signal}) != collisions_.end();
  }

 private:
  DatasetReader(std::shared_ptr<arrow::fs::FileSystem> fs, std::string base,
                ReaderOptions options, DatasetPlan plan);
  arrow::Result<bool> OpenNextMerge();
  arrow::Result<std::unique_ptr<internal::SignalMerge>> OpenMerge(
      const PartitionPlan& partition, Signal signal);

  std::shared_ptr<arrow::fs::FileSystem> fs_;
  std::string base_;
  ReaderOptions options_;
  DatasetPlan plan_;
  ReaderStats stats_;
  int partition_index_ = -1;
  size_t signal_index_ = 0;
  std::unique_ptr<internal::SignalMerge> merge_;
  std::vector<std::pair<int, Signal>> collisions_;
};

}  // namespace otap_parquet::dataset
