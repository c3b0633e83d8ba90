// SPDX-License-Identifier: Apache-2.0
#pragma once

/// \file
/// Compaction of a partition's small files (`otap-parquet compact`,
/// docs/operations.md "Compacting small files").
///
/// A partition (one id space) is read by the DatasetReader and written again by the
/// DatasetWriter into a *new* partition next to it, `_part_id=<old>.c<hex>`, whose
/// manifest `<base>/_compactions/<new part id>.json` names the files it supersedes.
/// The manifest is the switch readers honour (Discover applies it):
///
/// - `pending` (written before the first new file): the new partition is invisible;
/// - `committed` (written after the last new file, atomically: rename or one PUT):
///   the superseded files are invisible and the new partition visible, provided a
///   listing holds every new file the manifest names (else, e.g. a listing taken
///   before the commit, the old files stay and the new partition is hidden);
/// - none: a partition named like a compaction (IsCompactedPartId) is invisible.
///
/// Discover lists the tables first and the manifests last, so whatever a commit or
/// an abandon does in between, a listing shows one side whole: no manifest yet, or
/// a manifest deleted after the listing (abandon: new files first, then the
/// manifest) → the new partition is hidden by its name and the old files are read;
/// pending → the same; committed but a new file not listed (the listing was earlier)
/// → the same; committed and every new file listed → the new partition only. Old
/// files are deleted only after a commit, so a listing that holds a part of them
/// meets a committed manifest.
///
/// The superseded files are deleted only once the commit is older than the grace
/// period (a later `compact` run), root tables first, and never while a run undoing
/// the compaction as a crashed one (pending older than the grace period when it
/// looked) is at work: that run writes `_compactions/<part id>.abandoning-<hex>`
/// before it reads the manifest again, and gives up if it is committed by then.
///
/// A reader whose plan still names a deleted file gets VanishedFileError
/// (read_errors.h), never a silent skip: receiver:parquet lists again and resumes. A
/// replay checkpoint (or a receiver's progress) in the old partition maps onto the
/// new one (ResumeCompacted): the new partition holds the old roots in the same
/// order, and the manifest keeps both files' root row counts.

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
#include <arrow/util/io_util.h>

#include "otap_parquet/dataset/dataset_reader.h"
#include "otap_parquet/dataset/discovery.h"
#include "otap_parquet/dataset/writer_options.h"
#include "otap_parquet/util/test_hook.h"

namespace otap_parquet::dataset {

struct UnitProgress;
struct ReplayCheckpoint;

/// \brief Directory of the manifests under the dataset base.
inline constexpr std::string_view kCompactionsDir = "_compactions";

/// \brief One file in a manifest: name (relative to its table's partition
/// directory) and rows (from its footer).
struct ManifestFile {
  std::string name;
  int64_t rows = 0;
  bool operator==(const ManifestFile&) const = default;
};

/// \brief What one compaction did (see the file comment).
struct CompactionManifest {
  static constexpr std::string_view kFormat = "otap-parquet-compaction";
  static constexpr int kVersion = 1;
  enum class State : uint8_t { kPending, kCommitted };

  State state = State::kPending;
  /// New partition path (relative to a table directory).
  std::string partition;
  /// Partition whose files it supersedes.
  std::string supersedes;
  int64_t created_unix_nano = 0;
  int64_t committed_unix_nano = 0;
  /// The superseded files were deleted (after the grace period).
  bool old_files_removed = false;
  /// Files per table name, in name order (the reader's order).
  std::map<std::string, std::vector<ManifestFile>> old_files;
  std::map<std::string, std::vector<ManifestFile>> new_files;

  std::string Serialize() const;
  /// \brief Invalid naming `where` for anything but Serialize()'s output.
  static arrow::Result<CompactionManifest> Parse(std::string_view text,
                                                 const std::string& where);
  bool operator==(const CompactionManifest&) const = default;
};

/// \brief The `_part_id` of a compaction of partition `part_id`: `<uuid>.c<16 hex>`
/// (a compacted id's own suffix is replaced, so the uuid stays the origin).
std::string CompactedPartId(std::string_view part_id, std::string_view suffix_hex);

/// \brief Whether `part_id` is one CompactedPartId makes (`.c` and 16 lowercase hex
/// digits at its end). Readers show such a partition only while a committed
/// manifest names it (ApplyCompactions).
bool IsCompactedPartId(std::string_view part_id);

/// \brief `partition` with a compaction suffix of its `_part_id` removed: the key
/// shards hash (PartitionAssigned), so a compacted partition and the one it
/// supersedes, and their checkpoint units, belong to the same shard and core.
std::string ShardKeyOf(std::string_view partition);

/// \brief Applies the manifests under `<base>/_compactions/` to a plan listed from
/// `tables` (see the file comment). Called by Discover.
/// \return IOError when listing or reading a manifest fails, Invalid for a manifest
/// that cannot be parsed (both naming it).
arrow::Status ApplyCompactions(const std::shared_ptr<arrow::fs::FileSystem>& fs,
                               const std::string& base,
                               const std::vector<PayloadType>& tables, DatasetPlan* plan);

/// \brief Resume point in a compacted partition (`partition.compaction` set) for a
/// replay whose progress in the superseded partition is `old` (null: none): nothing
/// when it had not started, skip when it had finished every superseded root file,
/// else the same root position in the new files.
ResumePoint ResumeCompacted(const CompactionManifest& manifest, const UnitProgress* old,
                            const PartitionPlan& partition, Signal signal);

/// \brief Drops from `checkpoint` what names root files gone from the dataset under
/// `base` (a partition deleted by retention, files removed after a compaction), so
/// that it does not grow with every file a long-lived lake ever had: a `files_done`
/// or `partial` name whose file is not listed and that no compaction manifest names
/// among its superseded files (ResumeCompacted reads those), and a unit left with no
/// progress at all. A listed file is never dropped, so it is never replayed again.
/// The tables are listed before the manifests (a file deleted after the listing was
/// superseded by a manifest read after it, as in Discover).
/// \return how many names and units were dropped; IOError when a listing or a
/// manifest cannot be read (then `checkpoint` is unchanged).
arrow::Result<int64_t> PruneCheckpoint(const std::shared_ptr<arrow::fs::FileSystem>& fs,
                                       const std::string& base,
                                       ReplayCheckpoint* checkpoint);

/// \brief Options of Compact.
struct CompactOptions {
  /// Writer options of the new files (codec, row groups, bloom filters, dictionary
  /// columns); target_bytes_per_file is the target size.
  WriterOptions writer;
  /// Only partitions whose every file is older than this (a writer may still be
  /// adding to younger ones).
  std::chrono::milliseconds older_than{std::chrono::hours(1)};
  /// Superseded files are deleted once their compaction committed this long ago;
  /// pending compactions this old are abandoned (their new files deleted).
  std::chrono::milliseconds grace{std::chrono::hours(1)};
  /// Partition paths to compact (empty = every partition with small files).
  std::vector<std::string> partitions;
  /// Plan only: change nothing.
  bool dry_run = false;
  /// fsync local files.
  bool fsync = true;
  /// Copy the rows of files in our writer's current schema as they are (false:
  /// every partition goes through the reader's merge, as files of other writers do;
  /// tests).
  bool copy_own_files = true;
  /// Files to copy up to this size are read whole, in one request, and decoded from
  /// memory; larger ones are streamed (0: every file streamed; tests).
  int64_t read_whole_file_bytes = 8 << 20;
  /// Object stores: files up to read_whole_file_bytes are read whole, once, and
  /// kept up to this many bytes for the run's later reads of them (the orphan and
  /// id collision checks, the footers, the copy each open every file: without it
  /// each open is billed requests again). 0: not kept.
  int64_t cache_bytes = 64 << 20;
  /// Progress (the CLI's --progress), when set: `progress_total(files, bytes)` once
  /// the partitions to compact are chosen (their old files), `progress_done(files,
  /// bytes)` as they are read (per file copied; a merged or refused partition at its
  /// end).
  std::function<void(int64_t, int64_t)> progress_total, progress_done;
  /// Test hook: called at named points, where a test may kill the process:
  /// "pending" (manifest written), "writing" (first new file published), "written"
  /// (every new file published), "committed", "removing" (first superseded file
  /// deleted); undoing another run's pending compaction: "abandoning" (decided),
  /// "abandon-claimed" (marker written, manifest still not committed).
  util::TestHook crash_hook;
  /// Source of time; default system_clock::now.
  std::function<std::chrono::system_clock::time_point()> clock;
};

/// \brief What Compact found or did for one partition.
struct CompactionResult {
  enum class Action : uint8_t {
    kCompacted,  ///< new partition committed (or would be, dry run)
    kSkipped,    ///< nothing to gain, too young, not selected
    kProblem,    ///< refused: would not keep every record (see detail)
  };
  Action action = Action::kSkipped;
  std::string partition;
  std::string new_partition;
  int64_t old_files = 0;
  int64_t old_bytes = 0;
  int64_t new_files = 0;
  int64_t new_bytes = 0;
  int64_t rows = 0;  ///< rows of every table read
  /// Rows copied table by table (our writer's files), not merged by the reader.
  bool copied = false;
  /// Column chunks of copied files not read: every value null by their statistics.
  int64_t null_chunks = 0;
  std::string detail;
};

/// \brief Cleanup of earlier compactions.
struct CompactionCleanup {
  std::string partition;  ///< the manifest's new partition
  enum class Kind : uint8_t {
    kRemovedSuperseded,  ///< superseded files deleted
    kWaiting,            ///< committed, superseded files kept for the grace period
    kAbandoned,          ///< a pending compaction (crashed) undone
    kPendingKept,        ///< pending, younger than the grace period (may be running)
    kIncomplete,         ///< committed, but new files are missing while superseded
                         ///< ones exist: those are kept (a person looks)
    kAbandoning,         ///< committed, superseded files kept: a run that took it
                         ///< for a crashed one before its commit is undoing it (or
                         ///< crashed doing so: its marker stays in _compactions/)
  };
  Kind kind = Kind::kWaiting;
  int64_t files = 0;
};

struct CompactReport {
  std::vector<CompactionResult> results;
  std::vector<CompactionCleanup> cleanups;
  int64_t compacted = 0;
  int64_t problems = 0;
  int64_t rows = 0;        ///< rows read and written by the compactions
  double cpu_seconds = 0;  ///< process CPU time of the compactions alone
};

/// \brief The lock file (dataset root, local disk) a compact run holds an exclusive
/// flock(2) on: two runs at once could undo each other's pending compaction.
inline constexpr char kCompactLockName[] = ".compact.lock";

/// \brief An exclusive flock(2) on `<base>/.compact.lock` (local disk), held until
/// destroyed or the process dies. Move-only.
class CompactLock {
 public:
  /// \brief Takes the lock of the dataset at the native path `base`; nullopt when
  /// another process holds it. A missing dataset directory gives an empty lock
  /// (nothing to protect). IOError naming the file on failure.
  static arrow::Result<std::optional<CompactLock>> TryAcquire(const std::string& base);

 private:
  CompactLock() = default;
  explicit CompactLock(int fd) : fd_(fd) {}
  arrow::internal::FileDescriptor fd_;  ///< closing it releases the lock
};

/// \brief An abandon marker `_compactions/<part id>.abandoning-<16 hex>` left by a
/// run killed while undoing a compaction, and what removing it finished.
struct AbandonMarkerCleanup {
  std::string path;           ///< the marker
  std::string manifest_path;  ///< the manifest of the compaction it was undoing
  /// Older than the grace period: its run is dead (a live undo takes seconds).
  bool stale = false;
  /// On local disk a compact holds the dataset's lock: nothing was touched.
  bool compact_running = false;
  bool removed = false;
  /// What finishing its compaction did once the marker was gone (Compact's own
  /// cleanup: superseded files deleted, a pending compaction undone, or kept);
  /// nullopt when its manifest is gone too (the undo ended but for its marker) or in
  /// a dry run.
  std::optional<CompactionCleanup> cleanup;
};

/// \brief Finds the abandon markers under `<base>/_compactions/` and, unless
/// `options.dry_run`, removes those older than `options.grace` and then finishes
/// their compactions as Compact does before compacting (`options.grace` for them
/// too): a committed one's superseded files, which the marker kept, are deleted once
/// its commit passed the grace period; a pending one is undone. On local disk it
/// holds the compact lock meanwhile (`compact_running` when a compact holds it).
/// \return one entry per marker; IOError when listing, reading or deleting fails.
arrow::Result<std::vector<AbandonMarkerCleanup>> CleanStaleAbandonMarkers(
    const std::shared_ptr<arrow::fs::FileSystem>& fs, const std::string& base,
    const CompactOptions& options);

/// \brief Compacts the partitions of `base` with small files (see the file comment
/// and docs/operations.md). First finishes earlier compactions whose grace period
/// passed, then compacts, then finishes again (so `grace` 0 deletes at once).
/// \return the report; an error when listing, reading or writing fails.
arrow::Result<CompactReport> Compact(const std::shared_ptr<arrow::fs::FileSystem>& fs,
                                     const std::string& base,
                                     const CompactOptions& options);

}  // namespace otap_parquet::dataset
