// SPDX-License-Identifier: Apache-2.0
#pragma once

/// \file
/// Discovery of a star-schema Parquet dataset (ours or upstream otel-arrow's
/// `exporter:parquet`, shared/docs/otap-parquet-format.md §4, §14.1): which
/// partitions exist and which files each table has in each of them.

#include <chrono>
#include <cstdint>
#include <map>
#include <memory>
#include <string>
#include <utility>
#include <vector>

#include <arrow/filesystem/filesystem.h>
#include <arrow/result.h>
#include <arrow/status.h>

#include "otap_parquet/schema/payload_type.h"
#include "otap_parquet/util/event_log.h"

namespace otap_parquet::dataset {

struct CompactionManifest;

/// \brief Options of Discover.
struct DiscoveryOptions {
  /// Signals whose tables are listed (their root tables define the partitions).
  std::vector<Signal> signals = {Signal::kLogs, Signal::kTraces, Signal::kMetrics};
  /// Files modified more recently than this are skipped (not yet listed): a margin
  /// for writers that make children visible after parents (Q8). 0 = list all.
  std::chrono::milliseconds min_file_age{0};
  /// Where an unpartitioned dataset is reported (ReaderOptions::log).
  util::EventLog log;

  static DiscoveryOptions Defaults() { return {}; }
  arrow::Status Validate() const;
};

/// \brief One Parquet file of a table.
struct PlannedFile {
  std::string path;   ///< full path in the file system
  int64_t size = -1;  ///< bytes, -1 if unknown
  bool operator==(const PlannedFile&) const = default;
};

/// \brief One id space: a hive partition directory (`_part_id=<uuid>` plus any
/// further `k=v` levels) and its files per table.
struct PartitionPlan {
  /// Partition path relative to a table directory, e.g.
  /// `_part_id=3f0c.../date=2026-11-23`; empty for an unpartitioned layout.
  std::string path;
  /// Value of the `_part_id=` segment, empty if none.
  std::string part_id;
  /// Signals whose root table has files in this partition, in DiscoveryOptions order.
  std::vector<Signal> signals;
  /// Files per table (only tables that have files here), `*.parquet` only, in name
  /// order (the writer's names start with a millisecond timestamp).
  std::map<PayloadType, std::vector<PlannedFile>> files;
  /// Set when this partition is a committed compaction (compaction.h): which
  /// partition's files it supersedes, and the root rows per file of both (a replay
  /// checkpoint of the superseded partition resumes here, ResumeCompacted).
  std::shared_ptr<const CompactionManifest> compaction;

  /// \brief Files of `type`, empty if none.
  const std::vector<PlannedFile>& FilesOf(PayloadType type) const;
};

/// \brief The partitions of a dataset, in path order.
struct DatasetPlan {
  std::vector<PartitionPlan> partitions;
  /// Whether any table has Parquet files directly in its table directory (the
  /// unpartitioned layout: one id space, joinable only with one exporter instance
  /// and no id rollover, Q13).
  bool unpartitioned = false;
  /// Files ignored: names not ending in `.parquet` (staging `*.parquet#<n>`, temp).
  int64_t ignored_files = 0;
  /// `.parquet` files skipped because younger than min_file_age.
  int64_t young_files = 0;
  /// Child table files in a partition directory that no root table has (their rows
  /// can never be joined; not read).
  int64_t unmatched_files = 0;
  /// Entries not read, each logged with its path: directory symlinks under a table
  /// (never followed, so a loop or a link to a sibling partition cannot list a file
  /// twice), second paths of an already listed file, table paths that are not
  /// directories, entries that are neither file nor directory.
  int64_t skipped_entries = 0;
  /// Partitions hidden because their compaction is pending, committed but not every
  /// new file was listed yet (the superseded files are read instead), or without a
  /// manifest (named like a compaction: abandoned).
  int64_t hidden_partitions = 0;
  /// Files hidden because a committed compaction holds their rows (compaction.h).
  int64_t superseded_files = 0;
};

/// \brief What ListTree found.
struct TreeListing {
  /// Regular files (and symlinks to files), each underlying file once.
  std::vector<arrow::fs::FileInfo> files;
  /// Entries not listed (see DatasetPlan::skipped_entries), each logged as a warning.
  int64_t skipped_entries = 0;
};

/// \brief Every file under `dir`, recursively, never the same file twice.
///
/// On local disk directory symlinks are not followed (Arrow's recursive listing
/// follows them, so a loop lists its files once per level until ELOOP); a symlink to
/// a file is listed unless its target is already listed. A missing `dir` has no
/// files; on local disk `dir` being a file is a skipped entry. Object stores have no
/// links: Arrow's recursive listing of the prefix `dir/` alone (one request per 1000
/// keys; no stat of `dir`, which costs S3 up to three requests), where an object
/// named `dir` itself is not seen.
///
/// \return IOError naming the path when listing fails.
arrow::Result<TreeListing> ListTree(const std::shared_ptr<arrow::fs::FileSystem>& fs,
                                    const std::string& dir);

/// \brief ListTree of `<base>/<table>/<partition>` (`<base>/<table>` when `partition`
/// is empty) for each of `tables`, in their order, which must put root tables first.
/// On object stores other than GCS a child table is listed only when `<base>` has its
/// directory, per one listing of `<base>` made after the root tables were listed (a
/// writer publishes children before their roots, so a listed root file's child table
/// is seen): a table the dataset does not have costs no request of its own.
/// \return IOError naming the path when a listing fails.
arrow::Result<std::vector<std::pair<PayloadType, TreeListing>>> ListTables(
    const std::shared_ptr<arrow::fs::FileSystem>& fs, const std::string& base,
    const std::vector<PayloadType>& tables, const std::string& partition = "");

/// \brief Lists `<base>/<table>/...` for every table of the requested signals.
///
/// Partitions are the directories holding `*.parquet` files under the signals' root
/// tables; a child table's files of a partition are those under
/// `<base>/<child table>/<same partition path>/` (directly in it, not deeper). A
/// missing base or table directory simply has no files. Compactions
/// (`<base>/_compactions/`) are applied last (ApplyCompactions): pending ones, and
/// partitions named like a compaction without a manifest, are invisible; committed
/// ones replace the files they supersede.
///
/// \return the plan; IOError (naming the path) when listing fails.
arrow::Result<DatasetPlan> Discover(const std::shared_ptr<arrow::fs::FileSystem>& fs,
                                    const std::string& base,
                                    const DiscoveryOptions& options = {});

}  // namespace otap_parquet::dataset
