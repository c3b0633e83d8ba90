// SPDX-License-Identifier: Apache-2.0
#pragma once

/// \file
/// Retention and partition management (`otap-parquet partitions`, docs/operations.md
/// "Retention"): list the id spaces (partition directories) of a dataset with their
/// event-time range and size, and delete whole ones by event time or by path.
///
/// A partition is deleted file by file: the files its listing judged expired, of
/// every table's directory of that id space, root tables first, then the other tables
/// parents before children. Our reader only knows a partition by its root files
/// (discovery.h) and, when polling, holds child files until their parent is visible; as
/// no child goes before the roots, a reader either does not see the partition or fails to
/// open its roots (the other order would let it join roots with half their children).
/// Children left by an interrupted deletion are never replayed; `repair --apply` removes
/// them (orphans). Never a whole prefix: a file a writer publishes into the partition
/// between the listing and the deletion stays (RetentionDecision::files_kept), and so
/// does its directory; only directories found empty afterwards are removed (local
/// disk; object stores keep their directory markers).
///
/// A committed compaction's partition is deleted after the files it superseded that
/// compaction has not deleted yet (same records: readers would read them again).
///
/// A partition that a given replay checkpoint has not finished (some root file of
/// one of its signals not in the unit's files_done) is not deleted unless forced.

#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include <arrow/filesystem/filesystem.h>
#include <arrow/result.h>
#include <arrow/status.h>

#include "otap_parquet/dataset/inspect.h"
#include "otap_parquet/dataset/replay_checkpoint.h"
#include "otap_parquet/dataset/sharding.h"
#include "otap_parquet/storage/storage.h"
#include "otap_parquet/util/test_hook.h"

namespace otap_parquet::dataset {

/// \brief One partition of ListPartitions.
struct PartitionInfo {
  /// Footer statistics of its files (path, part_id, signals, files, rows, bytes,
  /// event time).
  PartitionInspection stats;
  /// [start, end) in Unix ns from its `date=YYYY-MM-DD` / `hour=HH` directories
  /// (the writer places each record by its own time); nullopt without them.
  std::optional<std::pair<int64_t, int64_t>> directory_time;

  /// \brief The end (exclusive) before which every record of the partition lies, from
  /// the directories and the footers (the later of both when both are known);
  /// nullopt when neither tells it (no event-time directory, and a file without
  /// time statistics or unreadable).
  std::optional<int64_t> EventTimeEnd() const;
};

/// \brief All partitions of a dataset.
struct PartitionListing {
  std::string uri;                        ///< printable dataset URI
  std::vector<PartitionInfo> partitions;  ///< path order
  /// Files directly in a table directory (one id space without a directory: never
  /// deleted by partition).
  bool unpartitioned = false;
  int64_t footers_read = 0;
  /// Files whose footer could not be read (their partitions' time is then unknown
  /// unless their directories tell it).
  int64_t bad_files = 0;
};

/// \brief Parses the `date=YYYY-MM-DD` and `hour=HH` segments of a partition path
/// into [start, end) Unix ns; nullopt when it has no (valid) date segment.
std::optional<std::pair<int64_t, int64_t>> DirectoryTimeRange(const std::string& path);

/// \brief Lists the partitions of the dataset at `base` (Inspect, footers only,
/// `parallelism` at a time). IOError naming the path when listing fails.
arrow::Result<PartitionListing> ListPartitions(
    const std::shared_ptr<arrow::fs::FileSystem>& fs, const std::string& base,
    int parallelism = 8);

/// \brief A replay checkpoint that guards partitions from deletion.
struct RetentionCheckpoint {
  std::string name;  ///< printable location, for messages
  ReplayCheckpoint checkpoint;
  /// The shard whose checkpoint it is (`.shard-K-of-N` file name suffix): only that
  /// shard's partitions are its concern.
  std::optional<Shard> shard;

  /// \brief Loads `uri` (a local path or URI; the backend settings of `storage` as
  /// for the dataset): Invalid naming it when missing or unreadable.
  static arrow::Result<RetentionCheckpoint> Load(const std::string& uri,
                                                 const StorageConfig& storage);
  /// \brief Whether the checkpoint's reader has replayed every root file of
  /// `partition` (every signal).
  bool Finished(const PartitionInfo& partition) const;
  /// \brief Whether `partition`, a compaction, superseded only root files of
  /// `signal` that the checkpoint has done (the reader then skips it).
  bool SupersededFinished(const PartitionInfo& partition, Signal signal) const;
};

/// \brief What DeletePartitions deletes and how.
struct RetentionOptions {
  /// Partitions whose every record's event time is before this (Unix ns).
  std::optional<int64_t> before_unix_nano;
  /// Partition paths (relative to a table directory) or leading parts of one made of
  /// whole segments (`date=2026-11-01`), or a `_part_id=<uuid>` segment anywhere in
  /// the path. With before_unix_nano both must hold.
  std::vector<std::string> partitions;
  /// Replay checkpoints whose unfinished partitions are not deleted.
  std::vector<RetentionCheckpoint> checkpoints;
  /// Delete (default: dry run).
  bool apply = false;
  /// Delete partitions the checkpoints have not finished too.
  bool force = false;
  /// `_part_id` values never deleted: a running writer's own id spaces (it may still
  /// publish a late record into an old event-time directory of its `_part_id`).
  std::vector<std::string> exclude_part_ids;
  /// Footers read at once.
  int parallelism = 8;
  /// Tests: called with "listed" after the listing, before the first deletion
  /// (apply only), and with "directories" before each removal of a partition's
  /// emptied directories: a writer publishing in between.
  util::TestHook test_hook;

  arrow::Status Validate() const;
};

/// \brief One selected partition and what happened to it.
struct RetentionDecision {
  PartitionInfo partition;
  /// Checkpoints (names) that have not finished it: kept unless forced.
  std::vector<std::string> unfinished_by;
  bool deleted = false;
  /// Files removed (with apply): only those the listing judged expired.
  int64_t files_deleted = 0;
  /// Files found in its directories after its listed files were deleted (with
  /// apply): published after the listing (a writer's late record), or not data files
  /// (temporary ones, `repair` removes them). Kept, with their directories.
  std::vector<std::string> files_kept;
  /// Why its deletion failed (with apply; it may be partly deleted, roots first:
  /// run again). The other partitions are deleted all the same.
  arrow::Status error;
};

/// \brief Everything DeletePartitions decided.
struct RetentionReport {
  std::string uri;
  bool applied = false;
  bool forced = false;
  /// Selected partitions, path order: deleted (or, dry run, to be deleted) unless
  /// unfinished_by a checkpoint without force.
  std::vector<RetentionDecision> selected;
  /// Partitions not selected because their event-time end is unknown (before only).
  std::vector<std::string> undetermined;
  /// Partitions kept because their records reach the bound or later.
  int64_t kept = 0;
  /// --partition selectors that matched no partition.
  std::vector<std::string> unmatched;

  int64_t deleted_partitions() const;
  int64_t deleted_files() const;
  int64_t deleted_bytes() const;
  /// Files kept in deleted partitions (RetentionDecision::files_kept).
  int64_t kept_files() const;
  /// Selected partitions kept for an unfinished checkpoint (exit code 3).
  int64_t blocked() const;
  /// Partitions whose deletion failed (RetentionDecision::error; exit code 1).
  int64_t failed() const;
};

/// \brief Whether partition `path` matches selector `selector` (RetentionOptions).
bool PartitionMatches(const std::string& path, const std::string& selector);

/// \brief Deletes (with options.apply) the partitions options select, see the file
/// comment for the order and the checkpoints. Only listed files are deleted; empty
/// directories left are removed up to the table directories on local disk (object
/// stores keep their directory markers).
/// \return the report; Invalid when a checkpoint belongs to another dataset; IOError
/// naming the path when listing fails. A partition whose deletion fails keeps its
/// error in the report (RetentionReport::failed) and the others are deleted all the
/// same, so what was deleted is always reported and counted.
arrow::Result<RetentionReport> DeletePartitions(
    const std::shared_ptr<arrow::fs::FileSystem>& fs, const std::string& base,
    const RetentionOptions& options);

}  // namespace otap_parquet::dataset
