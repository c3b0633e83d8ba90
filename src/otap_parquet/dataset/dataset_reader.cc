// SPDX-License-Identifier: Apache-2.0
#include "otap_parquet/dataset/dataset_reader.h"

#include <algorithm>
#include <utility>

#include <spdlog/spdlog.h>

#include "otap_parquet/dataset/retention.h"
#include "otap_parquet/dataset/signal_merge.h"
#include "otap_parquet/util/compute.h"
#include "otap_parquet/util/memory.h"

namespace otap_parquet::dataset {

using arrow::Status;
using internal::SignalMerge;

Status ReaderOptions::Validate() const {
  if (signals.empty()) return Status::Invalid("reader: no signals requested");
  if (batch_size < 1 || batch_size > 65535) {
    return Status::Invalid("reader: batch_size must be in 1..65535, got ", batch_size);
  }
  if (io_attempts < 1) {
    return Status::Invalid("reader: io_attempts must be >= 1, got ", io_attempts);
  }
  if (io_retry_backoff.count() < 0) {
    return Status::Invalid("reader: io_retry_backoff must be >= 0");
  }
  if (min_file_age.count() < 0) {
    return Status::Invalid("reader: min_file_age must be >= 0, got ",
                           min_file_age.count(), " ms");
  }
  if (time_range && time_range->start_unix_nano >= time_range->end_unix_nano) {
    return Status::Invalid("reader: empty time_range [", time_range->start_unix_nano,
                           ", ", time_range->end_unix_nano, ")");
  }
  return Status::OK();
}

DatasetReader::DatasetReader(std::shared_ptr<arrow::fs::FileSystem> fs, std::string base,
                             ReaderOptions options, DatasetPlan plan)
    : fs_(std::move(fs)),
      base_(std::move(base)),
      options_(std::move(options)),
      plan_(std::move(plan)) {}

DatasetReader::~DatasetReader() = default;

void ReaderStats::Add(const ReaderStats& s) {
  partitions += s.partitions;
  files_read += s.files_read;
  corrupt_files += s.corrupt_files;
  incompatible_files += s.incompatible_files;
  unreadable_columns += s.unreadable_columns;
  recovered_columns += s.recovered_columns;
  io_retries += s.io_retries;
  row_groups_read += s.row_groups_read;
  row_groups_skipped += s.row_groups_skipped;
  row_groups_without_stats += s.row_groups_without_stats;
  bytes_read += s.bytes_read;
  for (size_t i = 0; i < rows_per_table.size() && i < s.rows_per_table.size(); ++i) {
    rows_per_table[i] += s.rows_per_table[i];
  }
  orphan_rows += s.orphan_rows;
  unreferenced_attr_rows += s.unreferenced_attr_rows;
  filtered_rows += s.filtered_rows;
  unresolved_resource_rows += s.unresolved_resource_rows;
  upstream_batch_splits += s.upstream_batch_splits;
  peak_buffered_rows = std::max(peak_buffered_rows, s.peak_buffered_rows);
  batches_emitted += s.batches_emitted;
  roots_emitted += s.roots_emitted;
  resume_skipped_files += s.resume_skipped_files;
  resume_skipped_row_groups += s.resume_skipped_row_groups;
  id_collisions += s.id_collisions;
}

arrow::Result<std::unique_ptr<DatasetReader>> DatasetReader::Make(
    std::shared_ptr<arrow::fs::FileSystem> fs, std::string base, ReaderOptions options) {
  ARROW_RETURN_NOT_OK(options.Validate());
  ARROW_RETURN_NOT_OK(util::EnsureComputeInitialized());
  if (options.pool == nullptr) options.pool = util::DataMemoryPool();
  DiscoveryOptions discovery;
  discovery.signals = options.signals;
  discovery.min_file_age = options.min_file_age;
  discovery.log = options.log;
  ARROW_ASSIGN_OR_RAISE(auto plan, Discover(fs, base, discovery));
  if (options.partition_filter) {
    auto& partitions = plan.partitions;
    partitions.erase(std::remove_if(partitions.begin(), partitions.end(),
                                    [&](const PartitionPlan& partition) {
                                      return !options.partition_filter(partition);
                                    }),
                     partitions.end());
  }
  if (options.time_range) {
    // Event-time directories (date=…/hour=…) bound their logs' and spans' times, so
    // a partition outside the range is not even opened. Not for metrics: a metric
    // lies in the directory of its earliest point, its later points may be in range.
    const bool metrics = std::find(options.signals.begin(), options.signals.end(),
                                   Signal::kMetrics) != options.signals.end();
    const TimeRange range = *options.time_range;
    auto& partitions = plan.partitions;
    partitions.erase(
        std::remove_if(partitions.begin(), partitions.end(),
                       [&](const PartitionPlan& partition) {
                         if (metrics &&
                             std::find(partition.signals.begin(), partition.signals.end(),
                                       Signal::kMetrics) != partition.signals.end()) {
                           return false;
                         }
                         const auto dir = DirectoryTimeRange(partition.path);
                         return dir && (dir->second <= range.start_unix_nano ||
                                        dir->first >= range.end_unix_nano);
                       }),
        partitions.end());
  }
  if (options.plan_hook) ARROW_RETURN_NOT_OK(options.plan_hook(&plan));
  return std::unique_ptr<DatasetReader>(new DatasetReader(
      std::move(fs), std::move(base), std::move(options), std::move(plan)));
}

arrow::Result<std::optional<OtapBatch>> DatasetReader::Next() {
  while (true) {
    if (merge_) {
      ARROW_ASSIGN_OR_RAISE(auto batch, merge_->Next());
      if (batch) return batch;
      merge_.reset();
      ++signal_index_;
    }
    ARROW_ASSIGN_OR_RAISE(const bool opened, OpenNextMerge());
    if (!opened) return std::nullopt;
  }
}

// Partitions in plan order, signals in options order: the next (partition, signal)
// with root files that is to be replayed. False at the end of the plan.
arrow::Result<bool> DatasetReader::OpenNextMerge() {
  const size_t partitions = plan_.partitions.size();
  while (true) {
    if (partition_index_ >= 0 && static_cast<size_t>(partition_index_) < partitions) {
      const auto& partition = plan_.partitions[static_cast<size_t>(partition_index_)];
      for (; signal_index_ < options_.signals.size(); ++signal_index_) {
        const Signal signal = options_.signals[signal_index_];
        if (std::find(partition.signals.begin(), partition.signals.end(), signal) ==
            partition.signals.end()) {
          continue;
        }
        ARROW_ASSIGN_OR_RAISE(merge_, OpenMerge(partition, signal));
        if (merge_) return true;
      }
    }
    ++partition_index_;
    signal_index_ = 0;
    if (static_cast<size_t>(partition_index_) >= partitions) {
      partition_index_ = static_cast<int>(partitions);
      return false;
    }
    ++stats_.partitions;
    options_.log.Debug("partition.start", "path={}",
                       plan_.partitions[static_cast<size_t>(partition_index_)].path);
  }
}

// The opened merge of (partition, signal); nullptr when it is not replayed (a resume
// point marks it replayed, or its root files' ids collide).
arrow::Result<std::unique_ptr<SignalMerge>> DatasetReader::OpenMerge(
    const PartitionPlan& partition, Signal signal) {
  ResumePoint resume;
  if (options_.resume) resume = options_.resume(partition, signal);
  if (resume.skip) {
    stats_.resume_skipped_files +=
        static_cast<int64_t>(partition.FilesOf(RootPayloadType(signal)).size());
    return nullptr;
  }
  auto merge =
      std::make_unique<SignalMerge>(fs_, signal, options_, &stats_, std::move(resume));
  ARROW_RETURN_NOT_OK(merge->Open(partition));
  if (auto collision = merge->RootIdCollision()) {
    // Never attach another writer's rows: the signal's records of this id space are
    // not replayed at all.
    ++stats_.id_collisions;
    collisions_.emplace_back(partition_index_, signal);
    options_.log.Error(
        "partition.id_collision",
        "partition={} signal={} files=\"{}\" (two writers numbered ids in one id space; "
        "not replayed)",
        partition.path.empty() ? "(unpartitioned)" : partition.path, SignalName(signal),
        collision->ToString());
    return nullptr;
  }
  return merge;
}

ReaderPosition DatasetReader::position() const {
  ReaderPosition pos;
  pos.partition_index = partition_index_;
  if (partition_index_ >= 0 &&
      static_cast<size_t>(partition_index_) < plan_.partitions.size()) {
    pos.partition_path = plan_.partitions[static_cast<size_t>(partition_index_)].path;
  }
  if (merge_) merge_->FillPosition(&pos);
  return pos;
}

}  // namespace otap_parquet::dataset
