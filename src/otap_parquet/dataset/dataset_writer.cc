// SPDX-License-Identifier: Apache-2.0
#include "otap_parquet/dataset/dataset_writer.h"

#include <fcntl.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <condition_variable>
#include <cstdlib>
#include <cstring>
#include <deque>
#include <filesystem>
#include <mutex>
#include <utility>

#include <arrow/buffer.h>
#include <arrow/io/interfaces.h>
#include <arrow/record_batch.h>
#include <arrow/util/byte_size.h>
#include <arrow/util/key_value_metadata.h>
#include <fmt/format.h>
#include <parquet/arrow/writer.h>
#include <parquet/exception.h>
#include <parquet/metadata.h>
#include <parquet/properties.h>
#include <spdlog/spdlog.h>

#include "otap_parquet/dataset/attribute_order.h"
#include "otap_parquet/dataset/dictionary_columns.h"
#include "otap_parquet/dataset/parquet_errors.h"
#include "otap_parquet/dataset/repair.h"
#include "otap_parquet/dataset/row_group_buffer.h"
#include "otap_parquet/util/fsync.h"
#include "otap_parquet/util/memory.h"
#include "otap_parquet/util/serial_worker.h"

namespace otap_parquet::dataset {

using arrow::Status;
using Clock = std::chrono::system_clock;

namespace {

/// Forwards to an output stream and counts the bytes that reached it. After Abort()
/// it refuses writes, so that a Parquet writer destroyed later cannot append a
/// footer to a discarded file.
class CountingOutputStream final : public arrow::io::OutputStream {
 public:
  explicit CountingOutputStream(std::shared_ptr<arrow::io::OutputStream> inner)
      : inner_(std::move(inner)) {}

  Status Close() override {
    if (aborted_) return Status::OK();
    return inner_->Close();
  }
  Status Abort() override {
    if (aborted_) return Status::OK();
    aborted_ = true;
    return inner_->Abort();
  }
  bool closed() const override { return aborted_ || inner_->closed(); }
  arrow::Result<int64_t> Tell() const override { return bytes_; }

  using arrow::io::OutputStream::Write;
  Status Write(const void* data, int64_t nbytes) override {
    if (aborted_) return Status::IOError("write to a discarded file");
    ARROW_RETURN_NOT_OK(Note(inner_->Write(data, nbytes)));
    bytes_ += nbytes;
    return Status::OK();
  }
  Status Write(const std::shared_ptr<arrow::Buffer>& data) override {
    if (aborted_) return Status::IOError("write to a discarded file");
    ARROW_RETURN_NOT_OK(Note(inner_->Write(data)));
    bytes_ += data->size();
    return Status::OK();
  }
  Status Flush() override {
    if (aborted_) return Status::OK();
    return inner_->Flush();
  }

  int64_t bytes() const { return bytes_; }
  /// A write to storage failed: the file's error is the storage's, not the rows'.
  bool failed() const { return failed_; }

 private:
  Status Note(Status st) {
    if (!st.ok()) failed_ = true;
    return st;
  }

  std::shared_ptr<arrow::io::OutputStream> inner_;
  int64_t bytes_ = 0;
  bool aborted_ = false;
  bool failed_ = false;
};

/// Depth of a table below its signal's root (root 0, log_attrs 1, ...).
int Depth(PayloadType type) {
  for (Signal signal : {Signal::kLogs, Signal::kTraces, Signal::kMetrics}) {
    for (PayloadType candidate : PayloadTypesOf(signal)) {
      if (candidate != type) continue;
      int depth = 0;
      PayloadType current = type;
      while (auto parent = ParentOf(current, signal)) {
        ++depth;
        current = *parent;
        if (depth > 8) break;  // defensive: the table graph is a shallow tree
      }
      return depth;
    }
  }
  return 0;
}

std::string JoinPath(std::initializer_list<std::string_view> parts) {
  std::string out;
  for (std::string_view part : parts) {
    if (part.empty()) continue;
    if (!out.empty() && out.back() != '/') out += '/';
    out += part;
  }
  return out;
}

std::string_view Dirname(std::string_view path) {
  const size_t slash = path.rfind('/');
  return slash == std::string_view::npos ? std::string_view() : path.substr(0, slash);
}

std::string PartitionLabel(const std::string& key) {
  return key.empty() ? std::string("(unpartitioned)") : key;
}

// The message of `st` with its detail (e.g. "[errno 28] No space left on device"),
// which message() leaves out and our callers' messages must not lose.
std::string WithDetail(const Status& st) {
  if (st.detail() == nullptr) return st.message();
  return fmt::format("{} ({})", st.message(), st.detail()->ToString());
}

// `error` as it reaches a batch whose own rows did not cause it: a failed flush or a
// partition discarded for another batch's write. Never Invalid, which callers take
// as "this batch's data is bad, give up" (a permanent Nack; the parquet exporter
// drops an acknowledged WAL record): a store can report an I/O failure as Invalid
// (Arrow's GCS file system maps kInvalidArgument and kOutOfRange to it), and
// another batch's bad data says nothing about this one.
Status NotItsData(const Status& error) {
  if (!error.IsInvalid()) return error;
  return Status(arrow::StatusCode::IOError, error.message(), error.detail());
}

}  // namespace

struct DatasetWriter::PendingAck {
  arrow::Future<> future = arrow::Future<>::Make();
  /// Partitions still holding unpublished rows of the batch (+1 while Write runs).
  int remaining = 0;
  bool done = false;
  /// The caller's record of the batch's published partitions (may be null). With
  /// one, a failure waits for the batch's other partitions (`error`), so that the
  /// caller's next try knows all that was published.
  std::shared_ptr<WriteProgress> progress;
  Status error;
};

/// One open Parquet file of a (table, partition).
struct OpenFile {
  PayloadType type = PayloadType::kUnknown;
  std::string final_path;
  std::string write_path;     ///< temporary name (kRename) or final_path (kDirect)
  std::string uri;            ///< display form of final_path
  std::string relative_path;  ///< final_path below the dataset's base path
  std::shared_ptr<CountingOutputStream> sink;
  std::unique_ptr<parquet::arrow::FileWriter> writer;
  /// Dictionary columns written plain in this file (fell back in an earlier one).
  std::vector<std::string> plain_columns;
  /// Dictionary columns handed over dense from the first row (DictionaryColumns
  /// gave up on them in an earlier file).
  std::vector<std::string> dense_columns;
  /// The other dictionary columns that are strings, handed over as dictionaries.
  std::unique_ptr<DictionaryColumns> dictionaries;
  int64_t rows = 0;
  /// Rows of the current row group not yet handed to Parquet (see WriteRowGroupRows).
  RowGroupBuffer row_group;
  int64_t arrow_bytes = 0;            ///< in-memory bytes of all batches written
  int64_t unflushed_arrow_bytes = 0;  ///< since the sink last grew (buffered group)
  int64_t last_sink_bytes = 0;
  bool finished = false;   ///< footer written and sink closed
  bool published = false;  ///< visible under final_path
  /// kRename: held while the temporary file exists, so that the stale temp cleanup
  /// of another writer never removes it.
  TempFileLock lock;
};

class DatasetWriter::Partition {
 public:
  std::string key;
  /// The key without `_part_id` (WriteProgress::published).
  std::string time_path;
  Clock::time_point created;
  uint64_t sequence = 0;
  /// Open files by table; at most one per table.
  std::map<PayloadType, std::unique_ptr<OpenFile>> files;
  std::vector<std::shared_ptr<PendingAck>> acks;
};

std::string_view FlushReasonName(FlushReason reason) {
  switch (reason) {
    case FlushReason::kRows:
      return "rows";
    case FlushReason::kBytes:
      return "bytes";
    case FlushReason::kAge:
      return "age";
    case FlushReason::kExplicit:
      return "explicit";
    case FlushReason::kShutdown:
      return "shutdown";
    case FlushReason::kRollover:
      return "rollover";
    case FlushReason::kPartitions:
      return "partitions";
    case FlushReason::kPending:
      return "pending";
    case FlushReason::kWalFull:
      return "wal_full";
  }
  return "?";
}

int64_t WriterMetrics::rows_written_total() const {
  int64_t total = 0;
  for (int64_t rows : rows_written) total += rows;
  return total;
}

DatasetWriter::DatasetWriter(WriterOptions options, PartitioningOptions partitioning,
                             DatasetWriterSettings settings)
    : options_(std::move(options)),
      partitioning_(partitioning),
      settings_(std::move(settings)),
      log_(settings_.logger, settings_.event_scope),
      ids_(settings_.new_uuid) {
  arrow_properties_ = MakeArrowWriterProperties();
  rename_ = settings_.publish == PublishMode::kRename ||
            (settings_.publish == PublishMode::kAuto &&
             IsLocalFileSystem(*settings_.filesystem));
  // Object stores have no directories to create (and would charge a request each).
  const std::string type = settings_.filesystem->type_name();
  create_dirs_ = type != "s3" && type != "gcs" && type != "abfs";
  // S3 and GCS make an object visible when its upload completes; Azure's output
  // stream commits the blocks written so far at each Flush().
  atomic_files_ = rename_ || type == "s3" || type == "gcs";
}

DatasetWriter::~DatasetWriter() {
  (void)SettleBackground(/*wait=*/true);  // its jobs use this writer
  std::vector<std::string> keys;
  for (const auto& [key, partition] : partitions_) keys.push_back(key);
  for (const auto& key : keys) {
    DiscardPartition(key, Status::Cancelled("dataset writer destroyed before partition '",
                                            PartitionLabel(key), "' was flushed"));
  }
  DrainCompletions();
}

arrow::MemoryPool* WriterMemoryPool() { return util::DataMemoryPool(); }

arrow::Result<std::unique_ptr<DatasetWriter>> DatasetWriter::Make(
    WriterOptions options, PartitioningOptions partitioning,
    DatasetWriterSettings settings) {
  ARROW_RETURN_NOT_OK(options.Validate());
  if (settings.filesystem == nullptr) {
    return Status::Invalid("DatasetWriterSettings.filesystem is required");
  }
  if (!settings.clock) settings.clock = [] { return Clock::now(); };
  if (!settings.new_uuid) settings.new_uuid = RandomUuid;
  if (!settings.logger) settings.logger = spdlog::default_logger();
  if (settings.pool == nullptr) settings.pool = WriterMemoryPool();
  while (settings.base_path.size() > 1 && settings.base_path.back() == '/') {
    settings.base_path.pop_back();
  }
  std::unique_ptr<DatasetWriter> writer(
      new DatasetWriter(std::move(options), partitioning, std::move(settings)));
  writer->CleanStaleTempFilesAtStart();
  return writer;
}

void DatasetWriter::CleanStaleTempFilesAtStart() {
  // Only kRename writes temporary files; object stores never get any from us.
  if (!rename_ || settings_.stale_temp_age.count() <= 0) return;
  auto cleaned = CleanStaleTempFiles(settings_.filesystem, settings_.base_path,
                                     settings_.stale_temp_age, /*apply=*/true,
                                     Clock::now());  // mtimes are real time
  if (!cleaned.ok()) {  // best effort: `otap-parquet repair` does it later
    ++metrics_.temp_cleanup_errors;
    log_.Warn("temp_cleanup.error", "base={} error=\"{}\"",
              DisplayUri(*settings_.filesystem, settings_.base_path),
              cleaned.status().message());
    return;
  }
  metrics_.stale_temp_files_removed += cleaned->removed;
  for (const auto& path : cleaned->stale) {
    log_.Warn("temp_cleanup.removed", "uri={}", DisplayUri(*settings_.filesystem, path));
  }
}

std::string DatasetWriter::PartitionKey(const std::string& part_id,
                                        const std::string& time_path) const {
  // `_part_id` innermost: each writer's id space is a directory of its own whatever
  // the other levels, and time levels stay outermost for pruning and retention.
  std::string key;
  if (!time_path.empty()) key = time_path + '/';
  key += "_part_id=" + part_id;
  return key;
}

arrow::Result<std::shared_ptr<parquet::WriterProperties>> DatasetWriter::PropertiesFor(
    PayloadType type, const arrow::Schema& schema,
    const std::vector<std::string>& plain_columns) {
  if (!plain_columns.empty()) {
    return MakeWriterProperties(options_, schema, settings_.pool, plain_columns);
  }
  auto& slot = properties_[static_cast<int>(type)];
  if (slot == nullptr) {
    ARROW_ASSIGN_OR_RAISE(slot, MakeWriterProperties(options_, schema, settings_.pool));
  }
  return slot;
}

std::vector<std::string> DatasetWriter::NextPlainColumns(PayloadType type) {
  DictionaryHistory& history = dictionary_history_[static_cast<int>(type)];
  if (history.plain.empty()) return {};
  if (++history.files_since_probe >= kDictionaryProbeFiles) {
    history.files_since_probe = 0;
    return {};
  }
  return history.plain;
}

std::vector<std::string> DatasetWriter::NextDenseColumns(PayloadType type) {
  DictionaryHistory& history = dictionary_history_[static_cast<int>(type)];
  if (history.dense.empty()) return {};
  if (++history.files_since_dense_probe >= kDictionaryProbeFiles) {
    history.files_since_dense_probe = 0;
    return {};
  }
  return history.dense;
}

void DatasetWriter::NoteDictionaryFallbacks(const OpenFile& file) {
  {
    // Learning a high-cardinality column's first values is wasted work in every
    // file (it gives up, Parquet hashes them anyway): the next files skip it.
    DictionaryHistory& history = dictionary_history_[static_cast<int>(file.type)];
    history.dense = file.dense_columns;
    if (file.dictionaries != nullptr) {
      for (auto& path : file.dictionaries->gave_up_paths()) {
        history.dense.push_back(std::move(path));
      }
    }
    if (history.dense.empty()) history.files_since_dense_probe = 0;
  }
  if (!options_.dictionary) return;
  const auto metadata = file.writer->metadata();
  if (metadata == nullptr || metadata->num_row_groups() == 0) return;
  // A column falls back when its dictionary outgrows the dictionary page limit:
  // Parquet writes the dictionary page, then PLAIN data pages for the rest of the
  // row group. Hashing its values was then mostly wasted.
  std::map<std::string, int> fell_back;
  for (int g = 0; g < metadata->num_row_groups(); ++g) {
    const auto group = metadata->RowGroup(g);
    for (int c = 0; c < group->num_columns(); ++c) {
      const auto chunk = group->ColumnChunk(c);
      if (!chunk->has_dictionary_page()) continue;
      for (const auto& stats : chunk->encoding_stats()) {
        if ((stats.page_type == parquet::PageType::DATA_PAGE ||
             stats.page_type == parquet::PageType::DATA_PAGE_V2) &&
            stats.encoding == parquet::Encoding::PLAIN && stats.count > 0) {
          ++fell_back[chunk->path_in_schema()->ToDotString()];
          break;
        }
      }
    }
  }
  DictionaryHistory& history = dictionary_history_[static_cast<int>(file.type)];
  history.plain = file.plain_columns;
  for (const auto& [column, groups] : fell_back) {
    if (2 * groups < metadata->num_row_groups()) continue;  // in a minority of groups
    ++metrics_.dictionary_fallbacks;
    history.plain.push_back(column);
    log_.Debug("dictionary.fallback",
               "table={} column={} row_groups={}/{} "
               "uri={}",
               TableName(file.type), column, groups, metadata->num_row_groups(),
               file.uri);
  }
  if (history.plain.empty()) history.files_since_probe = 0;
}

void DatasetWriter::Complete(const std::shared_ptr<PendingAck>& ack, Status status) {
  if (ack->done) return;
  ack->done = true;
  --pending_;
  if (status.ok()) {
    ++metrics_.batches_acked;
  } else {
    ++metrics_.batches_failed;
  }
  completions_.emplace_back(ack, std::move(status));
}

void DatasetWriter::Fail(const std::shared_ptr<PendingAck>& ack, Status status) {
  // Bad rows of its own are never written again: no reason to wait.
  if (!ack->progress || status.IsInvalid()) {
    Complete(ack, std::move(status));
    return;
  }
  if (ack->error.ok()) ack->error = std::move(status);
  if (--ack->remaining == 0) Complete(ack, ack->error);
}

void DatasetWriter::DrainCompletions() {
  while (!completions_.empty()) {
    auto batch = std::move(completions_);
    completions_.clear();
    for (auto& [ack, status] : batch) ack->future.MarkFinished(std::move(status));
  }
}

arrow::Future<> DatasetWriter::Write(const OtapBatch& batch,
                                     std::shared_ptr<WriteProgress> progress) {
  if (closed_) {
    return arrow::Future<>::MakeFinished(Status::Invalid("dataset writer is closed"));
  }
  Poll();  // before any change: completion callbacks may re-enter the writer
  if (batch.empty()) return arrow::Future<>::MakeFinished(Status::OK());
  // Everything that can fail on the input happens before any file is touched, so a
  // bad batch leaves no rows behind.
  // Levels outermost first: the resource attribute's, then event time's.
  std::vector<std::pair<std::string, OtapBatch>> parts;
  if (!partitioning_.resource_attribute.empty()) {
    auto split = SplitByResourceAttribute(batch, partitioning_.resource_attribute);
    if (!split.ok()) {
      return arrow::Future<>::MakeFinished(split.status().WithMessage(
          "splitting batch by resource attribute ", partitioning_.resource_attribute,
          ": ", split.status().message()));
    }
    parts = std::move(*split);
  } else {
    parts.emplace_back(std::string(), batch);
  }
  if (partitioning_.event_time) {
    std::vector<std::pair<std::string, OtapBatch>> timed;
    for (auto& [level, part] : parts) {
      auto split = SplitByEventTime(part, *partitioning_.event_time);
      if (!split.ok()) {
        return arrow::Future<>::MakeFinished(split.status().WithMessage(
            "splitting batch by event time: ", split.status().message()));
      }
      for (auto& [time_path, timed_part] : *split) {
        timed.emplace_back(level.empty() ? time_path : level + "/" + time_path,
                           std::move(timed_part));
      }
    }
    parts = std::move(timed);
  }
  std::vector<std::pair<std::string, DiskBatch>> disks;
  disks.reserve(parts.size());
  for (auto& [time_path, part] : parts) {
    // Published by an earlier try of this batch: writing it again would duplicate.
    if (progress && progress->published.contains(time_path)) continue;
    auto disk = ids_.Apply(part);
    if (!disk.ok()) {
      return arrow::Future<>::MakeFinished(disk.status().WithMessage(
          "preparing ", SignalName(batch.signal()), " batch: ", disk.status().message()));
    }
    disks.emplace_back(time_path, std::move(*disk));
  }
  if (disks.empty()) return arrow::Future<>::MakeFinished(Status::OK());
  return WriteDisks(std::move(disks), std::move(progress));
}

arrow::Future<> DatasetWriter::WriteDisk(DiskBatch disk, const std::string& time_path) {
  if (closed_) {
    return arrow::Future<>::MakeFinished(Status::Invalid("dataset writer is closed"));
  }
  if (disk.num_rows() == 0) return arrow::Future<>::MakeFinished(Status::OK());
  disk.part_id = ids_.part_id();
  std::vector<std::pair<std::string, DiskBatch>> disks;
  disks.emplace_back(time_path, std::move(disk));
  return WriteDisks(std::move(disks));
}

arrow::Future<> DatasetWriter::WriteDisks(
    std::vector<std::pair<std::string, DiskBatch>> disks,
    std::shared_ptr<WriteProgress> progress) {
  auto ack = std::make_shared<PendingAck>();
  ack->progress = std::move(progress);
  ++pending_;
  ack->remaining = 1;  // held by this call until all parts are written
  std::vector<std::string> touched;
  for (auto& [time_path, disk] : disks) {
    if (!last_part_id_.empty() && disk.part_id != last_part_id_) {
      // Ids overflowed into a new `_part_id` (a new directory): the old one's files
      // get no more rows, publish them now.
      (void)FlushAll(FlushReason::kRollover, /*background=*/true);
    }
    last_part_id_ = disk.part_id;
    const std::string key = PartitionKey(disk.part_id, time_path);
    if (options_.max_open_partitions > 0 && !partitions_.contains(key)) {
      // Bound memory: publish the partitions opened first (errors reach their
      // batches; either way the partition is gone afterwards).
      while (static_cast<int64_t>(partitions_.size()) >= options_.max_open_partitions) {
        auto oldest = std::min_element(partitions_.begin(), partitions_.end(),
                                       [](const auto& a, const auto& b) {
                                         return a.second->sequence < b.second->sequence;
                                       });
        (void)FlushPartition(oldest->first, FlushReason::kPartitions,
                             /*background=*/true);
      }
    }
    Partition* partition = nullptr;
    auto& slot = partitions_[key];
    if (slot == nullptr) {
      slot = std::make_unique<Partition>();
      slot->key = key;
      slot->time_path = time_path;
      slot->created = settings_.clock();
      slot->sequence = next_partition_sequence_++;
    }
    partition = slot.get();
    partition->acks.push_back(ack);
    ++ack->remaining;
    Status st = WriteDiskBatch(key, disk, &partition);
    if (!st.ok()) {
      ++metrics_.write_errors;
      // This batch gets its own error; the others held by the partition (their
      // rows were fine) a retryable one.
      partition->acks.pop_back();  // settled here, not by DiscardPartition
      Fail(ack, st);
      DiscardPartition(key, NotItsData(st));
      continue;
    }
    touched.push_back(key);
  }
  Status rules = ApplyRules(settings_.clock(), touched);
  (void)rules;  // errors reach the futures of the batches concerned
  if (--ack->remaining == 0) Complete(ack, ack->error);
  auto future = ack->future;
  DrainCompletions();
  return future;
}

Status DatasetWriter::WriteDiskBatch(const std::string& key, const DiskBatch& disk,
                                     Partition** out) {
  Partition* partition = *out;
  for (const auto& [type, record_batch] : disk.tables) {
    if (record_batch == nullptr || record_batch->num_rows() == 0) continue;
    const std::string table(TableName(type));
    auto found = partition->files.find(type);
    if (found == partition->files.end()) {
      auto opened = std::make_unique<OpenFile>();
      opened->type = type;
      const std::string dir = JoinPath({settings_.base_path, table, key});
      const auto now = settings_.clock();
      const int64_t ms =
          std::chrono::duration_cast<std::chrono::milliseconds>(now.time_since_epoch())
              .count();
      const std::string name =
          fmt::format("part-{}-{}.parquet", ms, settings_.new_uuid());
      opened->final_path = JoinPath({dir, name});
      opened->relative_path = JoinPath({table, key, name});
      opened->write_path =
          rename_ ? JoinPath({dir, "." + name + ".tmp"}) : opened->final_path;
      opened->uri = DisplayUri(*settings_.filesystem, opened->final_path);
      // Storage errors (never the rows' fault, whatever their code).
      auto context = [&](const Status& st) {
        return NotItsData(st.WithMessage("opening ", table, " file ", opened->uri,
                                         " (partition '", PartitionLabel(key),
                                         "'): ", WithDetail(st)));
      };
      if (create_dirs_ && !created_dirs_.contains(dir)) {
        // A new directory's entry is durable only once its parent is synced: without
        // that, a power loss can take an acknowledged file away with its directory.
        std::vector<std::string> new_dirs;
        if (rename_ && settings_.fsync) {
          std::error_code ec;
          for (std::string_view d = dir; !d.empty(); d = Dirname(d)) {
            if (std::filesystem::exists(std::string(d), ec)) break;
            new_dirs.emplace_back(d);
          }
        }
        Status st = settings_.filesystem->CreateDir(dir, /*recursive=*/true);
        if (!st.ok()) return context(st);
        for (const auto& d : new_dirs) {
          const std::string_view parent = Dirname(d);
          dirs_to_sync_.insert(parent.empty() ? std::string("/") : std::string(parent));
        }
        // Kept until synced: a failed sync is tried again by the next new file.
        for (auto it = dirs_to_sync_.begin(); it != dirs_to_sync_.end();) {
          st = SyncPath(*it, /*directory=*/true);
          if (!st.ok()) return context(st);
          it = dirs_to_sync_.erase(it);
        }
        created_dirs_.insert(dir);
      }
      auto stream = settings_.filesystem->OpenOutputStream(opened->write_path);
      if (!stream.ok()) {
        created_dirs_.erase(dir);  // it may have been removed behind our back
        return context(stream.status());
      }
      opened->sink = std::make_shared<CountingOutputStream>(std::move(*stream));
      if (rename_) {
        auto lock = TempFileLock::Acquire(opened->write_path);
        if (lock.ok()) {
          opened->lock = std::move(*lock);
        } else {  // e.g. no flock on this mount: only the cleanup's age rule protects it
          log_.Warn("file.lock", "{}", lock.status().message());
        }
      }
      opened->plain_columns = NextPlainColumns(type);
      auto properties =
          PropertiesFor(type, *record_batch->schema(), opened->plain_columns);
      if (!properties.ok()) {
        (void)opened->sink->Abort();
        if (rename_) (void)settings_.filesystem->DeleteFile(opened->write_path);
        return context(properties.status());
      }
      auto writer =
          parquet::arrow::FileWriter::Open(*record_batch->schema(), settings_.pool,
                                           opened->sink, *properties, arrow_properties_);
      if (!writer.ok()) {
        (void)opened->sink->Abort();
        if (rename_) (void)settings_.filesystem->DeleteFile(opened->write_path);
        return context(writer.status());
      }
      opened->writer = std::move(*writer);
      opened->dense_columns = NextDenseColumns(type);
      std::vector<std::string> dictionary_columns;
      for (auto& column : DictionaryColumnsOf(options_, *record_batch->schema())) {
        const auto& plain = opened->plain_columns;
        const auto& dense = opened->dense_columns;
        if (std::find(plain.begin(), plain.end(), column) != plain.end()) continue;
        if (std::find(dense.begin(), dense.end(), column) != dense.end()) {
          ++metrics_.dictionary_columns_dense;
          continue;
        }
        dictionary_columns.push_back(std::move(column));
      }
      opened->dictionaries = std::make_unique<DictionaryColumns>(
          *record_batch->schema(), dictionary_columns, options_.row_group_size);
      ++metrics_.files_created;
      log_.Debug("file.start", "table={} partition={} uri={}", table, PartitionLabel(key),
                 opened->uri);
      found = partition->files.emplace(type, std::move(opened)).first;
    }
    OpenFile* file = found->second.get();
    // No path in the exception's status: the message below names the file.
    // A copy: clang (before 16) refuses to capture a structured binding.
    std::shared_ptr<arrow::RecordBatch> rows_to_write = record_batch;
    if (IsAttributes(type)) {
      // Within this batch only: each table's ids stay block-monotone (the reader's
      // one assumption), whatever the order inside the batch.
      auto ordered =
          OrderAttributeRows(record_batch, options_.attribute_order, settings_.pool);
      if (!ordered.ok()) {
        return ordered.status().WithMessage("ordering ", table, " rows for ", file->uri,
                                            ": ", ordered.status().message());
      }
      rows_to_write = std::move(*ordered);
    }
    Status st = CatchParquet("", [&] {
      DictionaryColumns& dictionaries = *file->dictionaries;
      const int64_t direct = dictionaries.dictionary_batches();
      const int64_t dense = dictionaries.dense_batches();
      auto encoded = dictionaries.Encode(rows_to_write, file->rows, settings_.pool);
      metrics_.dictionary_arrays += dictionaries.dictionary_batches() - direct;
      metrics_.dense_dictionary_columns += dictionaries.dense_batches() - dense;
      if (!encoded.ok()) return encoded.status();
      return file->row_group.Append(*encoded, options_.row_group_size, *file->writer);
    });
    if (!st.ok()) {
      if (file->sink->failed()) st = NotItsData(st);
      return st.WithMessage("writing ", record_batch->num_rows(), " ", table, " rows to ",
                            file->uri, " (partition '", PartitionLabel(key),
                            "'): ", WithDetail(st));
    }
    file->rows += record_batch->num_rows();
    const int64_t bytes = arrow::util::TotalBufferSize(*record_batch);
    file->arrow_bytes += bytes;
    if (file->sink->bytes() != file->last_sink_bytes) {
      // A row group went to storage; what is buffered now is about this batch.
      file->last_sink_bytes = file->sink->bytes();
      file->unflushed_arrow_bytes = 0;
    } else {
      file->unflushed_arrow_bytes += bytes;
    }
  }
  return Status::OK();
}

Status DatasetWriter::ApplyRules(Clock::time_point now,
                                 const std::vector<std::string>& touched) {
  Status first;
  auto note = [&](Status st) {
    if (first.ok() && !st.ok()) first = std::move(st);
  };
  for (const auto& key : touched) {
    auto it = partitions_.find(key);
    if (it == partitions_.end()) continue;
    std::optional<FlushReason> reason;
    for (const auto& [type, file] : it->second->files) {
      if (options_.target_rows_per_file > 0 &&
          file->rows >= options_.target_rows_per_file) {
        reason = FlushReason::kRows;
        break;
      }
      if (options_.target_bytes_per_file > 0) {
        double ratio = compression_ratio_[static_cast<int>(type)];
        if (ratio <= 0) ratio = 1.0;  // no file of this table yet: assume no compression
        const double estimate = static_cast<double>(file->sink->bytes()) +
                                static_cast<double>(file->unflushed_arrow_bytes) * ratio;
        if (estimate >= static_cast<double>(options_.target_bytes_per_file)) {
          reason = FlushReason::kBytes;
          break;
        }
      }
    }
    if (reason) note(FlushPartition(key, *reason, /*background=*/true));
  }
  if (options_.flush_when_older_than.count() > 0) {
    std::vector<std::string> aged;
    for (const auto& [key, partition] : partitions_) {
      if (now - partition->created > options_.flush_when_older_than) aged.push_back(key);
    }
    for (const auto& key : aged) {
      note(FlushPartition(key, FlushReason::kAge, /*background=*/true));
    }
  }
  return first;
}

/// A partition detached for publishing, with what its flush found out.
struct DatasetWriter::Publication {
  std::string key;
  FlushReason reason = FlushReason::kExplicit;
  std::unique_ptr<Partition> partition;
  /// Children first: deepest tables, then their parents, roots last.
  std::vector<OpenFile*> order;
  Status status;
  bool done = false;  ///< guarded by Background::mu once handed to the publisher
};

struct DatasetWriter::Background {
  std::mutex mu;
  std::condition_variable cv;
  /// In submission order; settled from the front once done.
  std::deque<std::shared_ptr<Publication>> in_flight;
};

Status DatasetWriter::FlushPartition(const std::string& key, FlushReason reason,
                                     bool background) {
  auto it = partitions_.find(key);
  if (it == partitions_.end()) return Status::OK();
  ++metrics_.flushes[static_cast<int>(reason)];
  auto pub = std::make_shared<Publication>();
  pub->key = key;
  pub->reason = reason;
  pub->partition = std::move(it->second);
  // Detached: the partition's next rows go to new files while these are finished.
  partitions_.erase(it);
  for (auto& [type, file] : pub->partition->files) pub->order.push_back(file.get());
  std::stable_sort(pub->order.begin(), pub->order.end(),
                   [](const OpenFile* a, const OpenFile* b) {
                     return Depth(a->type) > Depth(b->type);
                   });
  if (atomic_files_ && !pub->order.empty()) {
    // Before any file is visible: a kill after the last one appears (it completes
    // the publish) and before Settle's marks leaves this to tell it was published.
    const std::string& commit = pub->order.back()->relative_path;
    for (const auto& ack : pub->partition->acks) {
      WriteProgress* progress = ack->progress.get();
      if (progress == nullptr) continue;
      if (progress->on_publishing) {
        progress->on_publishing(pub->partition->time_path, commit);
      } else {
        progress->publishing.emplace_back(pub->partition->time_path, commit);
      }
    }
  }
  if (background && settings_.publisher != nullptr) {
    if (background_ == nullptr) background_ = std::make_shared<Background>();
    {
      std::lock_guard<std::mutex> lock(background_->mu);
      background_->in_flight.push_back(pub);
    }
    // Blocks while the publisher's queue is full (storage slower than intake).
    settings_.publisher->Submit([this, pub, bg = background_] {
      // `this` outlives the job: the writer waits for every publication it made.
      Status st = PublishFiles(*pub);
      std::lock_guard<std::mutex> lock(bg->mu);
      pub->status = std::move(st);
      pub->done = true;
      bg->cv.notify_all();
    });
    return Status::OK();
  }
  pub->status = PublishFiles(*pub);
  pub->done = true;
  return Settle(*pub);
}

Status DatasetWriter::SyncPath(const std::string& path, bool directory) const {
  if (settings_.fsync_for_testing) return settings_.fsync_for_testing(path, directory);
  return util::FsyncPath(path, directory);
}

Status DatasetWriter::PublishFiles(Publication& pub) const {
  const std::string& key = pub.key;
  auto fail = [&](OpenFile* file, const Status& st) {
    Status error =
        st.WithMessage("flushing ", TableName(file->type), " file ", file->uri,
                       " (partition '", PartitionLabel(key), "'): ", WithDetail(st));
    log_.Error("file.fail", "table={} partition={} uri={} error={}",
               TableName(file->type), PartitionLabel(key), file->uri, WithDetail(st));
    DiscardFiles(*pub.partition);
    return error;
  };
  // Phase 1: write footers and close. In kDirect mode closing publishes, so this
  // runs in children-first order too.
  for (OpenFile* file : pub.order) {
    Status st;
    if (settings_.before_publish_for_testing) {
      st = settings_.before_publish_for_testing(file->uri);
      if (!st.ok()) return fail(file, st);
    }
    // fail() names the file.
    st = CatchParquet("", [&] {
      ARROW_RETURN_NOT_OK(file->row_group.Write(*file->writer));
      // Real time (as mtimes are): repair's grace period counts from it.
      const auto finished = std::chrono::duration_cast<std::chrono::milliseconds>(
                                Clock::now().time_since_epoch())
                                .count();
      ARROW_RETURN_NOT_OK(file->writer->AddKeyValueMetadata(
          arrow::key_value_metadata({kFinishedMetadataKey}, {std::to_string(finished)})));
      return file->writer->Close();
    });
    if (st.ok() && !file->sink->closed()) st = file->sink->Close();
    if (!st.ok()) return fail(file, st);
    file->finished = true;
    if (!rename_) file->published = true;
    if (rename_ && settings_.fsync) {
      st = SyncPath(file->write_path, /*directory=*/false);
      if (!st.ok()) return fail(file, st);
    }
  }
  // Phase 2 (kRename): rename into place, children first, each directory synced
  // before any parent file can appear.
  if (rename_) {
    for (OpenFile* file : pub.order) {
      if (settings_.before_rename_for_testing) {
        settings_.before_rename_for_testing(file->uri);
      }
      Status st = settings_.filesystem->Move(file->write_path, file->final_path);
      if (!st.ok()) return fail(file, st);
      file->published = true;
      if (settings_.fsync) {
        st = SyncPath(std::string(Dirname(file->final_path)), /*directory=*/true);
        if (!st.ok()) return fail(file, st);
      }
    }
  }
  return Status::OK();
}

Status DatasetWriter::Settle(Publication& pub) {
  Partition& partition = *pub.partition;
  auto acks = std::move(partition.acks);
  if (!pub.status.ok()) {
    ++metrics_.write_errors;
    metrics_.files_discarded += static_cast<int64_t>(partition.files.size());
    // Publishing is I/O: whatever the store's status code, no batch's data is bad.
    for (const auto& ack : acks) Fail(ack, NotItsData(pub.status));
    return pub.status;
  }
  for (OpenFile* file : pub.order) {
    const int idx = static_cast<int>(file->type);
    NoteDictionaryFallbacks(*file);
    ++metrics_.files_closed;
    metrics_.rows_written[idx] += file->rows;
    metrics_.bytes_written += file->sink->bytes();
    if (file->arrow_bytes > 0) {
      const double ratio = static_cast<double>(file->sink->bytes()) /
                           static_cast<double>(file->arrow_bytes);
      double& learned = compression_ratio_[idx];
      learned = learned <= 0 ? ratio : 0.5 * learned + 0.5 * ratio;
    }
    log_.Info("file.flush", "table={} rows={} bytes={} reason={} uri={}",
              TableName(file->type), file->rows, file->sink->bytes(),
              FlushReasonName(pub.reason), file->uri);
  }
  for (const auto& ack : acks) {
    if (ack->progress) {
      ack->progress->published.insert(partition.time_path);
      // Not complete with this partition: the caller may have to write the rest
      // again, maybe after a restart.
      if (ack->progress->on_published && (ack->remaining > 1 || !ack->error.ok())) {
        ack->progress->on_published(partition.time_path);
      }
    }
    if (--ack->remaining == 0) Complete(ack, ack->error);
  }
  return Status::OK();
}

Status DatasetWriter::SettleBackground(bool wait) {
  Status first;
  if (background_ == nullptr) return first;
  for (;;) {
    std::shared_ptr<Publication> pub;
    {
      std::unique_lock<std::mutex> lock(background_->mu);
      auto& queue = background_->in_flight;
      if (wait) {
        background_->cv.wait(lock, [&] { return queue.empty() || queue.front()->done; });
      }
      if (queue.empty() || !queue.front()->done) return first;
      pub = std::move(queue.front());
      queue.pop_front();
    }
    Status st = Settle(*pub);
    if (first.ok() && !st.ok()) first = std::move(st);
  }
}

void DatasetWriter::DiscardFiles(Partition& partition) const {
  for (auto& [type, file] : partition.files) {
    if (file->published) {
      // Roll back this flush's visible files: their batches are failed and will be
      // redelivered. Children only, as parents are published last.
      (void)settings_.filesystem->DeleteFile(file->final_path);
    } else {
      if (!file->finished) (void)file->sink->Abort();
      // Best effort, also in kDirect mode: an upload whose completion failed may
      // have landed, and not every file system's Abort() removes what was written.
      (void)settings_.filesystem->DeleteFile(file->write_path);
    }
    file->writer.reset();  // after Abort(): a late footer write cannot land anywhere
    log_.Warn("file.drop", "table={} partition={} uri={}", TableName(type),
              PartitionLabel(partition.key), file->uri);
  }
}

void DatasetWriter::DiscardPartition(const std::string& key, const Status& error) {
  auto it = partitions_.find(key);
  if (it == partitions_.end()) return;
  std::unique_ptr<Partition> partition = std::move(it->second);
  partitions_.erase(it);
  DiscardFiles(*partition);
  metrics_.files_discarded += static_cast<int64_t>(partition->files.size());
  for (const auto& ack : partition->acks) Fail(ack, error);
}

Status DatasetWriter::FlushAll(FlushReason reason, bool background) {
  std::vector<std::string> keys;
  for (const auto& [key, partition] : partitions_) keys.push_back(key);
  Status first;
  for (const auto& key : keys) {
    Status st = FlushPartition(key, reason, background);
    if (first.ok() && !st.ok()) first = std::move(st);
  }
  return first;
}

Status DatasetWriter::Flush(FlushReason reason) {
  Status st = SettleBackground(/*wait=*/true);
  Status flushed = FlushAll(reason, /*background=*/false);
  if (st.ok()) st = std::move(flushed);
  DrainCompletions();
  return st;
}

Status DatasetWriter::Tick(Clock::time_point now) {
  Status st = SettleBackground(/*wait=*/false);
  Status rules = ApplyRules(now, {});
  if (st.ok()) st = std::move(rules);
  DrainCompletions();
  return st;
}

void DatasetWriter::Poll() {
  (void)SettleBackground(/*wait=*/false);  // errors reach the batches concerned
  DrainCompletions();
}

int64_t DatasetWriter::publishing() const {
  if (background_ == nullptr) return 0;
  std::lock_guard<std::mutex> lock(background_->mu);
  return static_cast<int64_t>(background_->in_flight.size());
}

Status DatasetWriter::Close(Clock::time_point deadline) {
  if (closed_) return Status::OK();
  closed_ = true;
  // Publications already handed over cannot be called back: they finish first.
  Status first = SettleBackground(/*wait=*/true);
  std::vector<std::string> keys;
  for (const auto& [key, partition] : partitions_) keys.push_back(key);
  for (const auto& key : keys) {
    Status st;
    if (settings_.clock() > deadline) {
      st = Status::Cancelled(
          "shutdown deadline passed before partition '", PartitionLabel(key), "' of ",
          DisplayUri(*settings_.filesystem, settings_.base_path), " was flushed");
      DiscardPartition(key, st);
    } else {
      st = FlushPartition(key, FlushReason::kShutdown, /*background=*/false);
    }
    if (first.ok() && !st.ok()) first = std::move(st);
  }
  DrainCompletions();
  return first;
}

WriterMetrics DatasetWriter::metrics() const {
  WriterMetrics out = metrics_;
  if (settings_.storage_stats) out.retries = settings_.storage_stats->retries.load();
  return out;
}

int64_t DatasetWriter::open_files() const {
  int64_t n = 0;
  for (const auto& [key, partition] : partitions_) {
    n += static_cast<int64_t>(partition->files.size());
  }
  return n;
}

int64_t DatasetWriter::pending_batches() const { return pending_; }

std::optional<std::chrono::milliseconds> DatasetWriter::tick_interval() const {
  if (options_.flush_when_older_than.count() <= 0) return std::nullopt;
  return std::max(std::chrono::milliseconds(1000), options_.flush_when_older_than / 60);
}

}  // namespace otap_parquet::dataset
