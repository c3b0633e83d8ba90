// SPDX-License-Identifier: Apache-2.0
#pragma once

/// \file
/// Live tailing of a dataset that a writer is still publishing (receiver:parquet in
/// polling mode). A writer publishes a flush's files children first, roots last, so
/// a discovery can list child files whose parent file is not visible yet. The reader
/// would count their rows as orphans in that pass. TailPlanner holds such child files
/// back (removes them from the plan, top-down, so grandchildren wait for their held
/// parents) while all their parents are missing — footer statistics: the file's min
/// `parent_id` is above the max `id` over the parent table's files kept in the
/// partition — until that changes or the file is older than a grace period. A file
/// that also has children of visible parents (a writer that rotates tables
/// independently) is read at once, as before: held, its visible
/// parents would go out without those children. Our writer publishes a partition's
/// files together per flush, so its child files never straddle a missing root file.
/// Held files stay on storage (memory is one small footer summary per file); the
/// reader's streaming merge sees each table as a prefix of its files, as before.
///
/// A file released by the grace period whose parents never came is read as usual
/// (its unjoinable rows are orphans); when the reader will not open its (partition,
/// signal) any more (every root file replayed), the planner counts those rows
/// itself (reading the file's `parent_id` column once). Resource and scope attribute
/// files are never held: a writer publishes them before the roots that use them.
///
/// Not thread-safe.

#include <chrono>
#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <set>
#include <string>

#include <arrow/filesystem/filesystem.h>
#include <arrow/result.h>
#include <arrow/status.h>

#include "otap_parquet/dataset/discovery.h"
#include "otap_parquet/util/event_log.h"

namespace otap_parquet::dataset {

struct TailPlannerStats {
  int64_t held_files = 0;  ///< child files held back by the last Apply (gauge)
  int64_t held_rows = 0;   ///< their rows (gauge)
  /// Child files read after the grace period although their parents are missing.
  int64_t released_files = 0;
  /// Rows of released files in units the reader no longer opens whose parent id is
  /// above every parent id (counted here as orphans; the reader counts the others).
  int64_t orphan_rows = 0;
};

class TailPlanner {
 public:
  /// `unit_skipped(partition, signal)`: whether the reader will not open the unit
  /// (e.g. every root file replayed before).
  using UnitSkipped = std::function<bool(const PartitionPlan&, Signal)>;

  TailPlanner(std::shared_ptr<arrow::fs::FileSystem> fs,
              std::chrono::milliseconds grace_period, util::EventLog log = {})
      : fs_(std::move(fs)), grace_(grace_period), log_(std::move(log)) {}

  /// \brief Removes the child files of `plan` whose parents are not visible yet (see
  /// the file comment). Unreadable footers leave the file in the plan (the reader
  /// reports it). Never fails for a bad file.
  arrow::Status Apply(DatasetPlan* plan, const UnitSkipped& unit_skipped);

  const TailPlannerStats& stats() const { return stats_; }

 private:
  /// Footer summary of one file (files are immutable once published).
  struct FileKeys {
    bool readable = false;
    bool has_max_id = false;
    bool has_parent = false;  ///< min_parent and max_parent known
    uint32_t max_id = 0;
    uint32_t min_parent = 0;
    uint32_t max_parent = 0;
    int64_t rows = 0;
  };
  const FileKeys& KeysOf(const PlannedFile& file);
  /// Whether `path` is older than the grace period (mtime; else first seen).
  bool PastGrace(const std::string& path, std::chrono::system_clock::time_point now);
  /// Rows of `path` whose `parent_id` is above `max_parent_id`.
  arrow::Result<int64_t> CountAbove(const std::string& path, int64_t max_parent_id);

  std::shared_ptr<arrow::fs::FileSystem> fs_;
  std::chrono::milliseconds grace_;
  util::EventLog log_;
  std::map<std::string, FileKeys> keys_;
  std::map<std::string, std::chrono::system_clock::time_point> first_seen_;
  /// Released files whose orphans are counted (by the reader or here).
  std::set<std::string> settled_;
  TailPlannerStats stats_;
};

}  // namespace otap_parquet::dataset
