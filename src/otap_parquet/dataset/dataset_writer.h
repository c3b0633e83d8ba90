// SPDX-License-Identifier: Apache-2.0
#pragma once

#include <array>
#include <chrono>
#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <set>
#include <string>
#include <vector>

#include <arrow/filesystem/filesystem.h>
#include <arrow/memory_pool.h>
#include <arrow/result.h>
#include <arrow/status.h>
#include <arrow/util/future.h>

#include "otap_parquet/dataset/parquet_layout.h"
#include "otap_parquet/dataset/writer_options.h"
#include "otap_parquet/pdata/otap_batch.h"
#include "otap_parquet/storage/storage.h"
#include "otap_parquet/util/event_log.h"

namespace spdlog {
class logger;
}

namespace otap_parquet::util {
class SerialWorker;
}

/// \file
/// The dataset writer: OtapBatches into a partitioned Parquet dataset laid out as
/// upstream's parquet exporter lays it out
/// (`<base>/<table>/[date=…/[hour=…/]]_part_id=<uuid>/part-<unix-ms>-<uuid4>.parquet`).

namespace otap_parquet::dataset {

/// \brief Directory levels under each table: a resource attribute's level
/// `<key>=<escaped value>` (SplitByResourceAttribute, e.g. per service or tenant) and
/// the event-time levels `date=YYYY-MM-DD[/hour=HH]` (SplitByEventTime) if
/// configured, in that order, then always
/// `_part_id=<uuid>` as the innermost level. Every writer instance starts its own
/// `_part_id` (a fresh UUID v4, and a new one when its ids would overflow UInt32),
/// so no configuration makes two writers, or one writer before and after a restart,
/// number ids in the same id space. Upstream's `schema_metadata: ["_part_id"]` is
/// this level; there is no unpartitioned layout for our writer.
struct PartitioningOptions {
  /// Resource attribute whose value names the outermost level; empty = none.
  std::string resource_attribute;
  std::optional<TimeGranularity> event_time;
};

/// \brief Which partitions of a batch are published, for a caller that writes the
/// batch again after a failure (Write()): a batch spread over several partitions
/// can fail in one and be published in the others, and writing it again whole
/// would duplicate the rows already published.
struct WriteProgress {
  /// Partitions (PartitionKey without `_part_id`: "" or `[<attr>=…/]date=…[/hour=…]`)
  /// whose rows of the batch are published. Filled on the writer's thread.
  std::set<std::string> published;
  /// Optional: called on the writer's thread right after a partition is added to
  /// `published` while the batch is not complete (other partitions still hold its
  /// rows, or one failed), so that a caller can make the progress durable (the WAL's
  /// `.parts` marks): a restart then does not write that partition again.
  std::function<void(const std::string& partition)> on_published;
  /// Optional: called on the writer's thread when a publish of the batch's rows in
  /// `partition` is about to start (before any of its files is visible), with the
  /// file whose appearance completes it (the last one renamed or uploaded; relative
  /// to the dataset's base path), so that a caller can note it durably (the WAL's
  /// intent marks): after a kill between the publish and on_published, that file's
  /// existence says the partition is published. Only for publishes whose files
  /// appear whole (kRename; kDirect on S3 or GCS). Without it, the intents are
  /// added to `publishing` (partition, commit file).
  std::function<void(const std::string& partition, const std::string& commit_file)>
      on_publishing;
  std::vector<std::pair<std::string, std::string>> publishing;
};

/// \brief Why a partition's files were published.
enum class FlushReason {
  kRows,        ///< a table file reached target_rows_per_file
  kBytes,       ///< a table file reached target_bytes_per_file
  kAge,         ///< the partition's oldest file passed flush_when_older_than
  kExplicit,    ///< Flush()
  kShutdown,    ///< Close()
  kRollover,    ///< a new `_part_id` started: the old one's files get no more rows
  kPartitions,  ///< opening one more partition would pass max_open_partitions
  kPending,     ///< the caller's bound on unacknowledged batches was reached
  kWalFull,     ///< the caller's write-ahead log is full (publishing frees it)
};
constexpr int kFlushReasons = 9;

/// \brief "rows", "bytes", "age", "explicit", "shutdown", "rollover", "partitions",
/// "pending", "wal_full".
std::string_view FlushReasonName(FlushReason reason);

/// \brief Counters of one writer since it was made (upstream's
/// `otap.exporter.parquet` set plus acknowledgements).
struct WriterMetrics {
  int64_t files_created = 0;
  /// Files published (closed and visible).
  int64_t files_closed = 0;
  /// Files thrown away after an error (temporary file removed / upload aborted).
  int64_t files_discarded = 0;
  /// Rows in published files, per table (PayloadType value as index).
  std::array<int64_t, kPayloadTypeSlots> rows_written{};
  /// Bytes of published files.
  int64_t bytes_written = 0;
  /// Partition flushes by FlushReason (index: static_cast<int>(reason)).
  std::array<int64_t, kFlushReasons> flushes{};
  /// Failed writes or flushes (each failing the batches it held).
  int64_t write_errors = 0;
  /// Object-store request retries (from the storage layer).
  int64_t retries = 0;
  /// Temporary files of crashed writers removed at start (CleanStaleTempFiles).
  int64_t stale_temp_files_removed = 0;
  /// Failures of that cleanup (the writer starts anyway).
  int64_t temp_cleanup_errors = 0;
  /// Batches whose future completed OK / with an error.
  int64_t batches_acked = 0;
  int64_t batches_failed = 0;
  /// String columns of batches handed to Parquet as Arrow dictionary arrays (whose
  /// values Parquet does not hash again), and those handed over dense (a value new
  /// in the row group, or a high-cardinality column); DictionaryColumns.
  int64_t dictionary_arrays = 0;
  int64_t dense_dictionary_columns = 0;
  /// Dictionary columns of published files that fell back to plain encoding in
  /// most of their row groups; the table's next files write them plain (no
  /// dictionary work) but one in kDictionaryProbeFiles, which tries again.
  int64_t dictionary_fallbacks = 0;
  /// Files' dictionary columns handed to Parquet dense from their first row,
  /// without learning a dictionary, because the table's previous file found more
  /// than DictionaryColumns takes (ColumnDictionary::kMaxEntries / kMaxBytes); one
  /// file in kDictionaryProbeFiles learns them again.
  int64_t dictionary_columns_dense = 0;

  int64_t rows_written_total() const;
  int64_t flushes_for(FlushReason reason) const {
    return flushes[static_cast<int>(reason)];
  }
};

/// \brief One file in kDictionaryProbeFiles of a table tries dictionary encoding
/// again on the columns that fell back to plain before (data changes).
inline constexpr int kDictionaryProbeFiles = 8;

struct OpenFile;  ///< implementation detail of DatasetWriter

/// \brief How a finished file becomes visible.
enum class PublishMode {
  /// kRename for LocalFileSystem, else kDirect.
  kAuto,
  /// Write `<dir>/.part-….parquet.tmp`, fsync it, Move() it to its final name, fsync
  /// the directory. Needs native local paths (for fsync).
  kRename,
  /// Write to the final name; the object appears when the output stream's Close()
  /// completes the upload (object stores).
  kDirect,
};

/// \brief The writer's default memory pool: util::DataMemoryPool() (jemalloc unless
/// `ARROW_DEFAULT_MEMORY_POOL` chooses another).
arrow::MemoryPool* WriterMemoryPool();

/// \brief What code (not YAML) gives a writer.
struct DatasetWriterSettings {
  /// Where the dataset lives (MakeFileSystem); required.
  std::shared_ptr<arrow::fs::FileSystem> filesystem;
  /// Dataset base inside `filesystem`, without trailing slash (may be empty).
  std::string base_path;
  PublishMode publish = PublishMode::kAuto;
  /// kRename only: fsync files and directories (off only in tests / benchmarks).
  bool fsync = true;
  /// Source of time for file names and the age rule; default system_clock::now.
  std::function<std::chrono::system_clock::time_point()> clock;
  /// Source of UUIDs for `_part_id`s and file names; default RandomUuid.
  std::function<std::string()> new_uuid;
  /// Logger of lifecycle events; default spdlog's default logger.
  std::shared_ptr<spdlog::logger> logger;
  /// Prefix of the event names (util::EventLog): the parquet exporter passes its own
  /// ("exporter.parquet"), so events read `exporter.parquet.file.flush …`.
  std::string event_scope = "dataset.writer";
  /// Pool of the Parquet encoders' buffers; null = WriterMemoryPool().
  arrow::MemoryPool* pool = nullptr;
  /// Optional storage counters (retries), as MakeFileSystem filled them.
  std::shared_ptr<StorageStats> storage_stats;
  /// kRename only: at Make(), temporary files (`.part-*.parquet.tmp`) of crashed
  /// writers under every table older than this and not locked by a live writer are
  /// removed (CleanStaleTempFiles, docs/operations.md). 0 = no cleanup.
  std::chrono::milliseconds stale_temp_age{std::chrono::hours(1)};
  /// Finishes (last row group, footer, fsync) and publishes (rename, directory
  /// fsync) the files of partitions cut by a rule (rows, bytes, age, partitions,
  /// rollover) on this worker instead of inside Write()/Tick(), so the caller's
  /// thread only appends rows meanwhile. Must outlive the writer. Null = inside the
  /// call.
  util::SerialWorker* publisher = nullptr;
  /// Test only: runs on the publishing thread before each file is finished; an
  /// error fails the flush as a storage error would.
  std::function<arrow::Status(const std::string& uri)> before_publish_for_testing;
  /// Test only: runs on the publishing thread before each file is renamed into
  /// place (kRename).
  std::function<void(const std::string& uri)> before_rename_for_testing;
  /// Test only: runs instead of each fsync (kRename, `fsync`) of the native `path`, a
  /// directory or a file; empty = real fsyncs.
  std::function<arrow::Status(const std::string& path, bool directory)> fsync_for_testing;
};

/// \brief Writes OtapBatches of any signal into one Parquet dataset.
///
/// Each batch gets partition-unique ids (PartitionIdGenerator, one per writer, so
/// signals sharing resource_attrs / scope_attrs never collide), is split by event
/// time if configured, and its tables are appended to the open file of each
/// (table, partition); a file holds the rows of many consecutive batches. Files of
/// a partition are published together, children before parents (leaf tables first,
/// root tables last), so a parent row is never visible before its children.
///
/// Acknowledgement: the future of Write() completes OK only once every row of the
/// batch is in a published file, or with the error (naming table, partition and
/// URI) when a write or flush of one of its partitions fails. A failed partition's
/// open files are discarded and every batch with unpublished rows in them fails;
/// the writer goes on and later batches can succeed. A batch spread over several
/// partitions (event-time split) may have rows published in one partition although
/// another failed: redelivery after a failure is at-least-once, unless the caller
/// passes the batch's WriteProgress again (only the rest is written).
///
/// Threading: not thread-safe; call from one thread (or serialize). Futures complete
/// on that thread, running their callbacks inline. Without a `publisher` all I/O,
/// including flushes, runs synchronously inside Write(), Flush(), Tick() and Close()
/// (writes to object stores block on the network). With one, a partition cut by a
/// rule is detached (its next rows go to new files) and finished and published on
/// the publisher's thread, children before parents as always; its batches' futures
/// complete in the first Poll(), Write(), Tick(), Flush() or Close() after that.
/// Flush() and Close() first wait for every background publish, so once they
/// return everything written before is settled.
class DatasetWriter {
 public:
  ~DatasetWriter();
  DatasetWriter(const DatasetWriter&) = delete;
  DatasetWriter& operator=(const DatasetWriter&) = delete;

  /// \brief Validates the options and makes a writer; no file is created yet.
  static arrow::Result<std::unique_ptr<DatasetWriter>> Make(
      WriterOptions options, PartitioningOptions partitioning,
      DatasetWriterSettings settings);

  /// \brief Appends a batch (canonical schemas, plain ids) and applies the flush
  /// rules (rows, bytes, age). Returns a future that completes when the batch is
  /// durable (see class comment). An empty batch completes at once; after Close()
  /// the future fails with Invalid. With `progress`, the partitions it lists as
  /// published are skipped and those published now are added to it, so that
  /// writing a failed batch again with the same progress writes each row once.
  arrow::Future<> Write(const OtapBatch& batch,
                        std::shared_ptr<WriteProgress> progress = nullptr);

  /// \brief Appends rows already in disk form: DiskSchema columns (roots with the
  /// writer's `_part_id` metadata), UInt32 ids unique in the writer's `_part_id` and
  /// kept as they are, into the partition at `time_path` ("" or the event-time
  /// levels `date=…[/hour=…]`), with Write()'s flush rules and acknowledgement. For
  /// copying a whole id space (compaction), each table's rows in their order.
  arrow::Future<> WriteDisk(DiskBatch disk, const std::string& time_path);

  /// \brief Publishes every open file now, counted under `reason`. Returns the first
  /// error (all errors also reach the futures of the batches concerned); partitions
  /// flush independently.
  arrow::Status Flush(FlushReason reason = FlushReason::kExplicit);

  /// \brief Applies the age rule at `now` (the engine's timer tick).
  arrow::Status Tick(std::chrono::system_clock::time_point now);

  /// \brief Completes the futures of background publishes that have finished
  /// (never waits).
  void Poll();
  /// \brief Partitions handed to the publisher whose futures Poll() has not
  /// completed yet.
  int64_t publishing() const;

  /// \brief Graceful shutdown: publishes every partition while `deadline` has not
  /// passed (checked between partitions); the rest are discarded and their batches
  /// fail with Cancelled. Later Write() calls fail. A second call is a no-op.
  arrow::Status Close(std::chrono::system_clock::time_point deadline =
                          std::chrono::system_clock::time_point::max());

  /// \brief Counters since Make().
  WriterMetrics metrics() const;
  /// \brief Files currently open (written, not yet published).
  int64_t open_files() const;
  /// \brief Batches written whose future has not completed.
  int64_t pending_batches() const;
  /// \brief How often Tick() should be called: flush_when_older_than / 60, at least
  /// 1 s (upstream's timer period); nullopt without an age rule.
  std::optional<std::chrono::milliseconds> tick_interval() const;

  /// \brief The `_part_id` the next batch goes to (unless its ids overflow).
  const std::string& part_id() const { return ids_.part_id(); }
  /// \brief Test only: the next batch's ids start at `offset` in the current
  /// `_part_id` (to reach the UInt32 rollover).
  void set_id_offset_for_testing(uint32_t offset) { ids_.set_offset_for_testing(offset); }

  const WriterOptions& options() const { return options_; }
  const PartitioningOptions& partitioning() const { return partitioning_; }

  class Partition;     ///< implementation detail
  struct PendingAck;   ///< implementation detail
  struct Publication;  ///< implementation detail
  struct Background;   ///< implementation detail

 private:
  DatasetWriter(WriterOptions options, PartitioningOptions partitioning,
                DatasetWriterSettings settings);

  void CleanStaleTempFilesAtStart();
  arrow::Future<> WriteDisks(std::vector<std::pair<std::string, DiskBatch>> disks,
                             std::shared_ptr<WriteProgress> progress = nullptr);
  arrow::Status WriteDiskBatch(const std::string& key, const DiskBatch& disk,
                               Partition** out);
  /// Detaches the partition and publishes it: on the publisher when `background`
  /// and there is one (the error then reaches its batches later), else now.
  arrow::Status FlushPartition(const std::string& key, FlushReason reason,
                               bool background);
  /// The I/O of a flush; on failure rolls its files back. Touches only `pub` and
  /// immutable settings: runs on the publisher's thread.
  arrow::Status PublishFiles(Publication& pub) const;
  /// fsync of a native path (or settings_.fsync_for_testing); any thread.
  arrow::Status SyncPath(const std::string& path, bool directory) const;
  /// Metrics and batch completions of a finished publication (owner thread).
  arrow::Status Settle(Publication& pub);
  /// Settles finished background publications in order; `wait`: all of them.
  arrow::Status SettleBackground(bool wait);
  /// Removes the files of a partition that will not be published (no metrics).
  void DiscardFiles(Partition& partition) const;
  void DiscardPartition(const std::string& key, const arrow::Status& error);
  void Complete(const std::shared_ptr<PendingAck>& ack, arrow::Status status);
  /// One of the batch's partitions failed: completes it now, or with a
  /// WriteProgress (and not Invalid) once its other partitions are settled.
  void Fail(const std::shared_ptr<PendingAck>& ack, arrow::Status status);
  void DrainCompletions();
  arrow::Status FlushAll(FlushReason reason, bool background);
  arrow::Status ApplyRules(std::chrono::system_clock::time_point now,
                           const std::vector<std::string>& touched);
  std::string PartitionKey(const std::string& part_id,
                           const std::string& time_path) const;
  arrow::Result<std::shared_ptr<parquet::WriterProperties>> PropertiesFor(
      PayloadType type, const arrow::Schema& schema,
      const std::vector<std::string>& plain_columns);
  /// Dictionary columns the next file of `type` writes plain (and counts the file).
  std::vector<std::string> NextPlainColumns(PayloadType type);
  /// Dictionary columns the next file of `type` hands to Parquet dense at once.
  std::vector<std::string> NextDenseColumns(PayloadType type);
  /// Learns from a published file which of its dictionary columns fell back.
  void NoteDictionaryFallbacks(const OpenFile& file);

  WriterOptions options_;
  PartitioningOptions partitioning_;
  DatasetWriterSettings settings_;
  util::EventLog log_;
  bool rename_ = true;
  bool create_dirs_ = true;
  /// A file is visible only once whole (kRename, or an object store's upload): its
  /// existence proves its publish (WriteProgress::on_publishing).
  bool atomic_files_ = true;
  PartitionIdGenerator ids_;
  std::string last_part_id_;
  std::map<std::string, std::unique_ptr<Partition>> partitions_;
  /// Opening order of partitions (max_open_partitions publishes the lowest first).
  uint64_t next_partition_sequence_ = 0;
  /// Properties of files with no plain_columns, per table (built once).
  std::array<std::shared_ptr<parquet::WriterProperties>, kPayloadTypeSlots> properties_;
  /// Per table: dictionary columns that fell back to plain in the last published
  /// file (or were plain in it), and files opened since dictionary encoding was
  /// last tried on them.
  struct DictionaryHistory {
    std::vector<std::string> plain;
    int files_since_probe = 0;
    /// Columns DictionaryColumns gave up on in the table's last file.
    std::vector<std::string> dense;
    int files_since_dense_probe = 0;
  };
  std::array<DictionaryHistory, kPayloadTypeSlots> dictionary_history_;
  std::shared_ptr<parquet::ArrowWriterProperties> arrow_properties_;
  /// Published bytes per in-memory Arrow byte, per table (estimates file sizes).
  std::array<double, kPayloadTypeSlots> compression_ratio_{};
  std::set<std::string> created_dirs_;
  /// kRename with fsync: parents of directories this writer created whose sync
  /// has not succeeded yet (each file opened in a new directory syncs them).
  std::set<std::string> dirs_to_sync_;
  /// Batch completions decided inside a call, run when the writer's state is
  /// consistent again (callbacks may re-enter the writer).
  std::vector<std::pair<std::shared_ptr<PendingAck>, arrow::Status>> completions_;
  int64_t pending_ = 0;
  /// Publications handed to settings_.publisher (shared with its jobs).
  std::shared_ptr<Background> background_;
  WriterMetrics metrics_;
  bool closed_ = false;
};

}  // namespace otap_parquet::dataset
