// SPDX-License-Identifier: Apache-2.0
#pragma once

/// \file
/// What is in a dataset (`otap-parquet inspect`, docs/cli.md): per signal and table
/// the id spaces, files, row groups, rows, bytes, codecs, event-time range, writer
/// and schema variants, from the files' footers only; optionally (`check`) a
/// verification of every id space that reads the id columns (repair.h).

#include <chrono>
#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include <arrow/filesystem/filesystem.h>
#include <arrow/result.h>
#include <arrow/status.h>

#include "otap_parquet/dataset/id_space.h"
#include "otap_parquet/schema/payload_type.h"

namespace otap_parquet::dataset {

struct CompactionManifest;

/// \brief Options of Inspect.
struct InspectOptions {
  /// Signals whose tables are inspected (resource/scope attributes with any of them).
  std::vector<Signal> signals = {Signal::kLogs, Signal::kTraces, Signal::kMetrics};
  /// Also verify every id space (reads id columns): root ids unique, every child row's
  /// parent present, no stale temporary files (Repair's dry run).
  bool check = false;
  /// check: leftovers younger than this may belong to a flush still publishing and
  /// are counted (in_flight), not reported.
  std::chrono::milliseconds grace_period{std::chrono::hours(1)};
  /// Current time for the grace period; default system_clock::now.
  std::function<std::chrono::system_clock::time_point()> clock;
  /// check: progress of the verification (RepairOptions::progress_total/_done).
  std::function<void(int64_t, int64_t)> progress_total, progress_done;
  /// Footers read at once (object stores: one request or two each).
  int parallelism = 8;
  /// Also sum up every id space (InspectReport::partitions; `otap-parquet
  /// partitions`, retention.h).
  bool per_partition = false;

  static InspectOptions Defaults() { return {}; }
  arrow::Status Validate() const;
};

/// \brief [min, max] of event times in Unix nanoseconds, from footer statistics.
struct TimeSpan {
  int64_t min = INT64_MAX;
  int64_t max = INT64_MIN;
  /// False when some row group has no time statistics, or (logs) has a log without
  /// time_unix_nano whose observed time then counts: the bounds cover what the
  /// statistics show, not necessarily every record.
  bool exact = true;
  /// Whether `max` bounds every record's time (retention relies on it): false when
  /// some row group has no time statistics, true for logs placed by their observed
  /// time when that has statistics.
  bool max_exact = true;

  bool known() const { return min <= max; }
  void Add(int64_t lo, int64_t hi);
  void Merge(const TimeSpan& other);
};

/// \brief How a set of files' schemas differ from the table's schema as our writer
/// writes it (parquet_layout.h DiskSchema). Column names are dotted paths.
struct SchemaVariant {
  std::vector<std::string> missing;     ///< columns of DiskSchema the files lack
  std::vector<std::string> extra;       ///< columns DiskSchema lacks
  std::vector<std::string> dictionary;  ///< stored as Arrow dictionaries (ARROW:schema)
  /// Other types than DiskSchema's (dictionaries compared by value type):
  /// "column:type".
  std::vector<std::string> retyped;
  int64_t files = 0;

  bool canonical() const {
    return missing.empty() && extra.empty() && dictionary.empty() && retyped.empty();
  }
  bool SameAs(const SchemaVariant& other) const;
  /// \brief "canonical", or e.g. "missing a, b; extra c; dictionary d; retyped
  /// id:uint16".
  std::string ToString() const;
};

/// \brief One table, summed over the inspected id spaces. Files that cannot be read
/// count in `files`/`bytes` and in `bad_files` only.
struct TableInspection {
  PayloadType type = PayloadType::kUnknown;
  int64_t id_spaces = 0;  ///< partitions with files of this table
  int64_t files = 0;
  int64_t bad_files = 0;  ///< corrupt or incompatible (InspectProblem)
  int64_t row_groups = 0;
  int64_t rows = 0;
  int64_t bytes = 0;               ///< file sizes
  int64_t uncompressed_bytes = 0;  ///< column chunks before compression
  /// Codec name (lower case, e.g. "zstd", "uncompressed") → column chunks.
  std::map<std::string, int64_t> codecs;
  /// Files per writer (WriterKindName): roots by their ids' marker (RootIdWriter),
  /// other tables by the roots of their id space (unknown when those disagree).
  std::map<std::string, int64_t> writers;
  /// Footer `created_by` → files.
  std::map<std::string, int64_t> created_by;
  /// Event-time column (empty when the table has none) and its range.
  std::string time_column;
  TimeSpan time;
  std::vector<SchemaVariant> variants;
};

/// \brief One signal: its own tables (resource and scope attributes are shared by
/// every signal and listed in InspectReport::shared).
struct SignalInspection {
  Signal signal = Signal::kLogs;
  int64_t id_spaces = 0;  ///< partitions with root files of the signal
  int64_t records = 0;    ///< root rows
  int64_t files = 0;      ///< of its own tables
  int64_t bytes = 0;      ///< of its own tables
  /// Event time of its records (logs: logs, traces: spans, metrics: data points).
  TimeSpan event_time;
  std::vector<TableInspection> tables;  ///< PayloadTypesOf order, tables with files
};

/// \brief One id space (a partition directory, DatasetPlan order), with
/// InspectOptions::per_partition: every table's files there.
struct PartitionInspection {
  std::string path;     ///< PartitionPlan::path, e.g. `date=…/hour=…/_part_id=…`
  std::string part_id;  ///< the `_part_id=` value ("" when none)
  std::vector<Signal> signals;  ///< signals with root files here
  /// Root file names (no directory) per signal (replay checkpoints name them).
  std::map<Signal, std::vector<std::string>> root_files;
  /// Every table's files as listed (full paths, `*.parquet` only): retention deletes
  /// these and no file published after the listing.
  std::vector<std::string> file_paths;
  int64_t files = 0;      ///< of every table (resource/scope attributes too)
  int64_t bad_files = 0;  ///< footer unreadable or incompatible
  int64_t bytes = 0;
  int64_t rows = 0;     ///< of every table
  int64_t records = 0;  ///< root rows
  /// Event time of its records (every signal); max_exact is false when a bad file
  /// of an event-time table hides some.
  TimeSpan event_time;
  /// The committed compaction that made it (PartitionPlan::compaction), if any.
  std::shared_ptr<const CompactionManifest> compaction;
};

/// \brief Something wrong (or worth knowing) about one file or partition.
struct InspectProblem {
  enum class Kind {
    kCorrupt,           ///< footer unreadable: not Parquet, truncated, corrupt
    kReadError,         ///< the storage failed to deliver the file's bytes
    kIncompatible,      ///< a required column is missing or unconvertible
    kUnreadableColumn,  ///< an optional column Arrow cannot read (replays as nulls)
    kRecoveredColumn,   ///< upstream's length-prefixed ids (Q14): read by our reader
    kIdCollision,       ///< two root files' id ranges overlap (footer statistics)
    // check only (repair.h):
    kStaleTemp,
    kOrphanChild,
    kPartialChild,
    kUnchecked,
    kDuplicateIds,
  };
  Kind kind = Kind::kCorrupt;
  std::string uri;        ///< printable path of the file
  std::string table;      ///< table directory name ("" when not one table)
  std::string partition;  ///< partition path relative to the table directory
  std::string detail;     ///< the error or what is wrong

  /// Whether it counts as a problem (exit code 3); kRecoveredColumn does not.
  bool is_problem() const { return kind != Kind::kRecoveredColumn; }
};

/// \brief "corrupt", "read-error", "incompatible", "unreadable-column",
/// "recovered-column", "id-collision", "stale-temp", "orphan-child", "partial-child",
/// "unchecked", "duplicate-ids".
std::string_view InspectProblemName(InspectProblem::Kind kind);

/// \brief Everything Inspect found.
struct InspectReport {
  std::string uri;        ///< printable dataset URI
  int64_t id_spaces = 0;  ///< partitions with root files
  bool unpartitioned = false;
  std::vector<SignalInspection> signals;  ///< signals with files, options order
  std::vector<TableInspection> shared;    ///< resource_attrs, scope_attrs with files
  /// Every id space, with InspectOptions::per_partition.
  std::vector<PartitionInspection> partitions;
  std::vector<InspectProblem> problems;  ///< files in path order, then check findings
  /// Footers read (one per file that has one).
  int64_t footers_read = 0;
  /// Discovery counts (discovery.h DatasetPlan): names not ending in .parquet, child
  /// files in a directory without root files (not inspected; `check` judges them),
  /// entries not listed (symlinks and the like).
  int64_t ignored_files = 0;
  int64_t unmatched_files = 0;
  int64_t skipped_entries = 0;
  /// check only.
  bool checked = false;
  int64_t partitions_checked = 0;
  int64_t files_checked = 0;
  /// check: leftovers younger than the grace period (maybe a flush in progress).
  int64_t in_flight = 0;

  int64_t files() const;
  int64_t bytes() const;
  int64_t records() const;
  /// Problems of `kind`.
  int64_t Count(InspectProblem::Kind kind) const;
  /// Whether any problem counts (exit code 3).
  bool has_problems() const;
};

/// \brief Inspects the dataset at `base` (see the file comment). Each file's footer
/// is read once (options.parallelism at a time); a file whose footer cannot be read
/// is a problem, never an error.
/// \return the report; IOError naming the path when listing fails (or, with check, a
/// file cannot be read for a storage failure).
arrow::Result<InspectReport> Inspect(const std::shared_ptr<arrow::fs::FileSystem>& fs,
                                     const std::string& base,
                                     const InspectOptions& options = {});

}  // namespace otap_parquet::dataset
