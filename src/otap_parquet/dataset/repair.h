// SPDX-License-Identifier: Apache-2.0
#pragma once

/// \file
/// Crash leftovers of dataset writers (docs/operations.md): temporary files of a
/// writer killed while writing, and child table files published by a flush whose
/// parent file never appeared (a kill between the renames of one flush). Repair lists
/// them and, when asked, removes them.

#include <chrono>
#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include <arrow/filesystem/filesystem.h>
#include <arrow/result.h>
#include <arrow/status.h>

#include "otap_parquet/schema/payload_type.h"

namespace otap_parquet::dataset {

/// \brief Footer key-value metadata key under which the dataset writer stores the
/// wall-clock time (Unix milliseconds) at which it finished a file, just before
/// publishing it. On object stores Repair measures an orphan's age from it when it
/// is later than the file's modification time: the Last-Modified of a multipart
/// upload is the upload's *start*, so a file a live writer completes after a long
/// upload would look older than it is.
inline constexpr char kFinishedMetadataKey[] = "otap_parquet.finished_unix_ms";

/// \brief Whether `name` (no directory) is a writer's temporary file name,
/// `.part-<ms>-<uuid>.parquet.tmp` (DatasetWriter, PublishMode::kRename).
bool IsWriterTempFileName(std::string_view name);

/// \brief A shared flock(2) a live writer holds on its temporary file (local disk),
/// so that a cleanup never removes the file of a writer that is still running, however
/// long the file stays open. Move-only; released (closed) on destruction or when the
/// process dies.
class TempFileLock {
 public:
  TempFileLock() = default;
  ~TempFileLock();
  TempFileLock(TempFileLock&& other) noexcept;
  TempFileLock& operator=(TempFileLock&& other) noexcept;
  TempFileLock(const TempFileLock&) = delete;
  TempFileLock& operator=(const TempFileLock&) = delete;

  /// \brief Locks `path` (a native local path) shared; IOError naming it on failure.
  static arrow::Result<TempFileLock> Acquire(const std::string& path);

  /// \brief Whether some process (this one included) holds a lock on `path`; false
  /// when it does not exist.
  static bool IsHeld(const std::string& path);

 private:
  explicit TempFileLock(int fd) : fd_(fd) {}
  int fd_ = -1;
};

/// \brief What a temporary file cleanup did.
struct TempCleanupResult {
  /// Stale temporary files found (older than the age, not locked by a live writer);
  /// with `apply`, those removed by this cleanup (not by a concurrent one).
  std::vector<std::string> stale;
  /// Of those, removed.
  int64_t removed = 0;
  /// Temporary files left alone: younger than the age or locked by a live writer.
  int64_t in_use = 0;
};

/// \brief Finds the temporary files of crashed writers under `<base>/<table>/` for
/// every table and removes them when `apply`.
///
/// A temporary file is stale when its modification time is older than `min_age` and,
/// on local disk, no process holds a TempFileLock on it (a live writer always does):
/// another writer writing into the same dataset keeps its files. Object stores have
/// no locks (and our writer writes no temporary objects there): age only.
///
/// \return the result; IOError naming the path when listing or a removal fails.
arrow::Result<TempCleanupResult> CleanStaleTempFiles(
    const std::shared_ptr<arrow::fs::FileSystem>& fs, const std::string& base,
    std::chrono::milliseconds min_age, bool apply,
    std::chrono::system_clock::time_point now = std::chrono::system_clock::now());

/// \brief Options of Repair.
struct RepairOptions {
  /// Only leftovers whose modification time is older than this are removed; younger
  /// ones may belong to a flush that is still publishing (children first, parent
  /// last) and are only counted.
  std::chrono::milliseconds grace_period{std::chrono::hours(1)};
  /// Remove what was found (default: dry run, list only).
  bool apply = false;
  /// Current time for the grace period; default system_clock::now.
  std::function<std::chrono::system_clock::time_point()> clock;
  /// Progress (the CLI's --progress), when set: `progress_total(files, bytes)` once
  /// the files to read are listed, `progress_done(files, bytes)` after each one.
  std::function<void(int64_t, int64_t)> progress_total, progress_done;
  /// When set, only partitions (relative paths as in RepairFinding::partition) it
  /// accepts are checked; the others are not read (compaction checks its own).
  std::function<bool(const std::string&)> partition_filter;

  static RepairOptions Defaults() { return {}; }
  arrow::Status Validate() const;
};

/// \brief One leftover found by Repair.
struct RepairFinding {
  enum class Kind {
    kStaleTemp,     ///< a crashed writer's temporary file
    kOrphanChild,   ///< a child table file none of whose rows has its parent
    kPartialChild,  ///< some rows of a child file have no parent (kept, reported)
    kUnchecked,     ///< a partition not checked: one of its files is unreadable
    /// A root file with ids that an earlier root file of its table in the same id
    /// space (or an earlier row of its own) has: two writers numbered one id space,
    /// joins are ambiguous (kept, reported).
    kDuplicateIds,
    /// A marker `_compactions/<part id>.abandoning-<16 hex>` of a compact killed
    /// while undoing a compaction; while it exists a compaction that committed
    /// meanwhile keeps its superseded files (compaction.h).
    kAbandonMarker,
  };
  Kind kind = Kind::kStaleTemp;
  std::string uri;  ///< printable path of the file
  /// Table directory name ("" for kUnchecked of a whole partition).
  std::string table;
  /// Partition path relative to the table directory ("" when unpartitioned).
  std::string partition;
  int64_t rows = 0;           ///< rows of the file (orphans: all of them unjoinable)
  int64_t orphan_rows = 0;    ///< kPartialChild: rows without parent
  int64_t duplicate_ids = 0;  ///< kDuplicateIds: ids seen before in the id space
  bool within_grace = false;  ///< younger than the grace period: kept
  /// kAbandonMarker: kept (within_grace is set too) because a running compact holds
  /// the dataset's lock and may be undoing that compaction itself.
  bool compact_running = false;
  bool removed = false;
  std::string detail;  ///< why (kUnchecked: the read error)
};

/// \brief "stale-temp", "orphan-child", "partial-child", "unchecked",
/// "duplicate-ids", "abandon-marker".
std::string_view RepairKindName(RepairFinding::Kind kind);

/// \brief Everything Repair saw.
struct RepairReport {
  std::vector<RepairFinding> findings;
  int64_t partitions_checked = 0;
  int64_t files_checked = 0;
  /// Files removed (with apply).
  int64_t removed = 0;
  /// Files that apply would remove (older than the grace period), or did remove.
  int64_t removable = 0;
  /// Leftovers kept because younger than the grace period, or temporary files of a
  /// live writer.
  int64_t within_grace = 0;
  /// Findings that need a person: partially orphaned files, unchecked partitions,
  /// root files with duplicate ids, a compaction left `incomplete`.
  int64_t attention = 0;
  /// Abandon markers older than the grace period (removable or removed).
  int64_t stale_abandon_markers = 0;
  /// Files deleted when finishing the compactions of removed abandon markers
  /// (superseded files, or a pending compaction's new files).
  int64_t compaction_files_removed = 0;
};

/// \brief Finds crash leftovers in the dataset at `base` (any hive level order
/// under each table: partitions are compared by their whole relative path) and
/// removes the removable ones with `options.apply`.
///
/// Orphan rule, per partition directory and with the actual ids (not statistics):
/// tables are checked parents first; a child file is an orphan when none of its rows'
/// `parent_id` is an id of a non-orphan file of its parent table in the same
/// partition (resource/scope attributes: `resource.id` / `scope.id` of any root
/// table there; not checked when a root file has upstream's UInt16 `resource.id`,
/// which is not offset like the attributes' `parent_id`, quirk Q1). A child file
/// with only some rows orphaned is reported and kept. A
/// partition with an unreadable file of any table is not checked (a parent that
/// cannot be read would make its children look orphaned).
///
/// Unless `options.partition_filter` is set, abandon markers in `_compactions/`
/// older than the grace period are removed and their compactions finished as
/// `compact` would (CleanStaleAbandonMarkers, with the grace period as `--grace`).
///
/// \return the report; IOError naming the path when listing or removing fails.
arrow::Result<RepairReport> Repair(const std::shared_ptr<arrow::fs::FileSystem>& fs,
                                   const std::string& base,
                                   const RepairOptions& options = {});

}  // namespace otap_parquet::dataset
