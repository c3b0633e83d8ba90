// SPDX-License-Identifier: Apache-2.0
#pragma once

/// \file
/// Durable replay progress of a Parquet dataset (receiver:parquet's `checkpoint`).
///
/// Progress is kept per *unit*: one signal of one partition (PartitionPlan::path).
/// A unit's roots are replayed in root-file order, children following their roots
/// (DatasetReader), so a unit's progress is a set of root files replayed to the end
/// plus, for the file in progress, how many of its root rows were replayed.
///
/// ReplayProgress records every emitted batch in order and moves the acknowledged
/// state only over the contiguous prefix of Acked batches; the acknowledged state is
/// what CheckpointStore writes. The emitted state tells later polling passes what not
/// to read again. After a restart the reader resumes from the acknowledged state
/// (ResumePoint): only batches that were in flight are replayed again.
///
/// File format (JSON, one object):
/// \code
/// {"format": "otap-parquet-replay-checkpoint", "version": 1,
///  "dataset": "file:///data/lake", "written_unix_nano": 1795450000000000000,
///  "time_range": "all",
///  "units": [{"signal": "logs", "partition": "_part_id=3f0c…",
///             "files_done": ["part-1795…-a.parquet"],
///             "file": "part-1795…-b.parquet", "row": 4000}]}
/// \endcode
/// File names are relative to the unit's root table partition directory. A unit
/// may also hold `"partial": {"part-…-c.parquet": 700}` (UnitProgress::partial).

#include <chrono>
#include <cstdint>
#include <deque>
#include <map>
#include <memory>
#include <optional>
#include <set>
#include <string>
#include <string_view>
#include <tuple>
#include <utility>
#include <vector>

#include <arrow/filesystem/filesystem.h>
#include <arrow/result.h>
#include <arrow/status.h>

#include "otap_parquet/dataset/dataset_reader.h"
#include "otap_parquet/dataset/discovery.h"

namespace otap_parquet::dataset {

/// \brief One signal of one partition.
struct ReplayUnit {
  Signal signal = Signal::kLogs;
  std::string partition;  ///< PartitionPlan::path

  bool operator<(const ReplayUnit& o) const {
    return std::tie(signal, partition) < std::tie(o.signal, o.partition);
  }
  bool operator==(const ReplayUnit& o) const {
    return signal == o.signal && partition == o.partition;
  }
};

/// \brief Progress of one unit.
struct UnitProgress {
  /// Root file names replayed to their end.
  std::set<std::string> files_done;
  /// Root file in progress and how many of its rows were replayed ("" = none).
  std::string file;
  int64_t row = 0;
  /// Root files left in progress when they left the plan (superseded by a
  /// compaction) and how many of their rows were replayed: the unit's later files
  /// replace `file`/`row`, ResumeCompacted still needs the count. Dropped once
  /// the compacted unit that replaced the file has acknowledged progress.
  std::map<std::string, int64_t> partial;

  bool operator==(const UnitProgress& o) const {
    return files_done == o.files_done && file == o.file && row == o.row &&
           partial == o.partial;
  }
};

/// \brief The content of a checkpoint.
struct ReplayCheckpoint {
  static constexpr std::string_view kFormat = "otap-parquet-replay-checkpoint";
  static constexpr int kVersion = 1;

  /// Display URI of the dataset it belongs to (checked when loading).
  std::string dataset;
  /// The `time_range` its progress was made with (TimeRangeKey; checked when
  /// loading): a root file counts as done although rows outside the range were
  /// filtered, so the progress holds only for that range. Empty: not recorded
  /// (checkpoints of older versions).
  std::string time_range;
  std::map<ReplayUnit, UnitProgress> units;

  std::string Serialize(int64_t written_unix_nano) const;
  /// \brief Parses Serialize()'s output; Invalid naming `where` and the problem for
  /// anything else (never a partial result).
  static arrow::Result<ReplayCheckpoint> Parse(std::string_view text,
                                               const std::string& where);
};

/// \brief ReplayCheckpoint::time_range of a reader's range: "all" without one,
/// else "[start, end)" in Unix ns.
std::string TimeRangeKey(const std::optional<TimeRange>& range);

/// \brief The reader's resume point of `partition`/`signal` from `progress`.
ResumePoint ResumeFrom(const UnitProgress* progress, const PartitionPlan& partition,
                       Signal signal);

/// \brief Reads and writes one checkpoint file or object.
///
/// Local disk: written to a temporary file next to it, fsynced, renamed over it, and
/// its directory fsynced. Other file systems (s3, gcs, azure): one object written
/// whole (a single PUT for small objects), so readers see the old or the new one.
class CheckpointStore {
 public:
  CheckpointStore(std::shared_ptr<arrow::fs::FileSystem> fs, std::string path)
      : fs_(std::move(fs)), path_(std::move(path)) {}

  /// \brief The stored checkpoint; nullopt when there is none yet; an error (naming
  /// the file) when it exists but cannot be read or parsed.
  arrow::Result<std::optional<ReplayCheckpoint>> Load() const;
  /// \brief Writes `checkpoint` atomically (see the class comment).
  arrow::Status Save(const ReplayCheckpoint& checkpoint) const;

  const std::string& path() const { return path_; }
  std::string display() const;

 private:
  std::shared_ptr<arrow::fs::FileSystem> fs_;
  std::string path_;
};

/// \brief Tracks emitted batches in order; the acknowledged state moves over the
/// contiguous prefix of Acked ones (see the file comment). Not thread-safe.
class ReplayProgress {
 public:
  explicit ReplayProgress(std::map<ReplayUnit, UnitProgress> acked = {})
      : acked_(acked), emitted_(std::move(acked)) {}

  /// \brief Resume point of a unit from the emitted state (what this process has
  /// not sent yet; after a restart that is the acknowledged state).
  ResumePoint ResumeFor(const PartitionPlan& partition, Signal signal) const;

  /// \brief A batch of `unit` was emitted; afterwards the unit's roots stand at
  /// `next_file` row `next_row` (full path; "" = exhausted). `root_files` are the
  /// unit's root files in plan order. \return the token for Acked/Nacked.
  uint64_t Emitted(const ReplayUnit& unit, const std::vector<PlannedFile>& root_files,
                   const std::string& next_file, int64_t next_row, int64_t items);
  /// \brief The unit's roots are exhausted (no batch to wait for: moves with the
  /// batches before it).
  void UnitDone(const ReplayUnit& unit, const std::vector<PlannedFile>& root_files);

  /// \brief Outcome of an emitted batch. \return whether the acknowledged state moved.
  bool Acked(uint64_t token);
  /// A Nacked batch stops the acknowledged state before it for the rest of this
  /// process (it and everything after it are replayed after a restart).
  void Nacked(uint64_t token);

  const std::map<ReplayUnit, UnitProgress>& acked() const { return acked_; }
  const std::map<ReplayUnit, UnitProgress>& emitted() const { return emitted_; }
  /// Emitted batches / items the acknowledged state does not cover yet (pending,
  /// Nacked, or Acked behind one of those): what a crash now would replay.
  int64_t lag_batches() const { return lag_batches_; }
  int64_t lag_items() const { return lag_items_; }
  int64_t nacked() const { return nacked_; }
  /// Emitted batches the acknowledged state has moved over so far (a write of the
  /// acknowledged state covers them).
  int64_t covered_batches() const { return covered_batches_; }

 private:
  enum class State : uint8_t { kPending, kAcked, kNacked };
  struct Entry {
    uint64_t token = 0;
    ReplayUnit unit;
    std::vector<std::string> newly_done;
    std::vector<std::pair<std::string, int64_t>> newly_partial;
    std::string file;
    int64_t row = 0;
    int64_t items = 0;
    bool batch = false;  ///< false: UnitDone
    State state = State::kPending;
  };
  void Push(Entry entry, const std::vector<PlannedFile>& root_files,
            const std::string& next_file);
  bool Advance();
  Entry* Find(uint64_t token);
  /// Drops from `state` the `partial` counts no resume needs any more: those of the
  /// files a compacted unit replaced once that unit has progress of its own in
  /// `state` (ResumeFor then never reads them). `unit` is the unit just updated.
  void DropPartials(std::map<ReplayUnit, UnitProgress>& state,
                    const ReplayUnit& unit) const;

  std::map<ReplayUnit, UnitProgress> acked_;
  std::map<ReplayUnit, UnitProgress> emitted_;
  std::deque<Entry> entries_;
  /// Compacted units the plan showed ResumeFor: the unit they supersede and the
  /// names of its root files they replaced (what its `partial` may hold for them).
  struct Superseded {
    ReplayUnit unit;
    std::vector<std::string> files;
  };
  mutable std::map<ReplayUnit, Superseded> superseded_;
  uint64_t next_token_ = 1;
  int64_t lag_batches_ = 0;
  int64_t lag_items_ = 0;
  int64_t nacked_ = 0;
  int64_t covered_batches_ = 0;
};

/// \brief Writes a small file so that readers see the old or the new content: local
/// disk by temporary file, fsync, rename and directory fsync; object stores by one
/// object written whole. Errors name the file.
arrow::Status WriteSmallFileAtomically(const std::shared_ptr<arrow::fs::FileSystem>& fs,
                                       const std::string& path, const std::string& text);

/// \brief Whether `name` is the temporary file of a local WriteSmallFileAtomically
/// (`.<file name>.tmp-<pid>`), which a crash before its rename leaves behind.
bool IsSmallFileTempName(std::string_view name);

/// \brief File name part of a path ("a/b/c.parquet" → "c.parquet").
std::string BaseName(const std::string& path);

}  // namespace otap_parquet::dataset
