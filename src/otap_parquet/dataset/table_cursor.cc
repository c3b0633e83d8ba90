// SPDX-License-Identifier: Apache-2.0
#include "otap_parquet/dataset/table_cursor.h"

#include <algorithm>
#include <thread>
#include <utility>

#include <arrow/api.h>
#include <arrow/compute/cast.h>
#include <parquet/arrow/schema.h>
#include <parquet/file_reader.h>
#include <parquet/statistics.h>

#include "otap_parquet/dataset/column_recovery.h"
#include "otap_parquet/dataset/file_checks.h"
#include "otap_parquet/dataset/parquet_errors.h"
#include "otap_parquet/dataset/reader_columns.h"
#include "otap_parquet/dataset/row_group_stats.h"
#include "otap_parquet/schema/normalize.h"
#include "otap_parquet/schema/otap_schema.h"
#include "otap_parquet/storage/storage.h"

namespace otap_parquet::dataset::internal {

namespace {

using arrow::Status;
using PT = PayloadType;

bool Contains(const std::vector<int>& leaves, int leaf) {
  return std::find(leaves.begin(), leaves.end(), leaf) != leaves.end();
}

void CollectLeaves(const parquet::arrow::SchemaField& field, std::vector<int>* leaves) {
  if (field.is_leaf()) {
    leaves->push_back(field.column_index);
    return;
  }
  for (const auto& child : field.children) CollectLeaves(child, leaves);
}

bool IsDataPoints(PT type) {
  return type == PT::kNumberDataPoints || type == PT::kSummaryDataPoints ||
         type == PT::kHistogramDataPoints || type == PT::kExpHistogramDataPoints;
}

}  // namespace

const char* TimeColumnOf(PT type) {
  switch (type) {
    case PT::kLogs:
    case PT::kNumberDataPoints:
    case PT::kSummaryDataPoints:
    case PT::kHistogramDataPoints:
    case PT::kExpHistogramDataPoints:
      return schema::kTimeUnixNano;
    case PT::kSpans:
      return schema::kStartTimeUnixNano;
    default:
      return nullptr;
  }
}

TableCursor::TableCursor(std::shared_ptr<arrow::fs::FileSystem> fs, PT type,
                         bool has_children, const ReaderOptions& options,
                         ReaderStats* stats)
    : fs_(std::move(fs)),
      type_(type),
      root_(IsRoot(type)),
      has_children_(has_children),
      options_(options),
      stats_(stats),
      local_(IsLocalFileSystem(*fs_)) {}
// Reads the footers of `files`; unreadable or incompatible ones are logged, counted
// and skipped. Fails only for a storage failure that outlasted the retries.
Status TableCursor::Open(const std::vector<PlannedFile>& files) {
  for (const auto& planned : files) {
    FileEntry entry;
    entry.path = planned.path;
    entry.size = planned.size;
    Status st;
    for (int attempt = 0;; ++attempt) {
      io_log_->Reset();
      st = ReadFooter(&entry);
      if (!st.ok() && Vanished(entry.path)) return VanishedFileError(entry.path);
      if (st.ok() || !IsStorageFailure(entry.path)) break;
      ARROW_RETURN_NOT_OK(RetryOrFail(entry.path, attempt));
    }
    if (st.ok()) st = CheckRowGroups(entry.path, *entry.metadata);
    if (!st.ok()) {
      ReportBadFile(entry.path, st);
      continue;
    }
    st = CheckRequiredColumns(type_, *entry.metadata, entry.unreadable_leaves);
    if (!st.ok()) {
      ++stats_->incompatible_files;
      options_.log.Warn("file.incompatible", "table={} uri={} reason=\"{}\"",
                        TableName(type_), entry.path, st.message());
      continue;
    }
    const auto& file_schema = *entry.metadata->schema();
    for (int leaf : entry.unreadable_leaves) {
      ++stats_->unreadable_columns;
      options_.log.Warn(
          "column.unreadable", "table={} uri={} column={} reason=\"{}\" (read as nulls)",
          TableName(type_), entry.path, file_schema.Column(leaf)->path()->ToDotString(),
          entry.unreadable_reason);
    }
    stats_->recovered_columns += static_cast<int64_t>(entry.prefixed_leaves.size());
    // Row group metadata is decoded lazily and may throw.
    st = CatchParquet(planned.path, [&] {
      AddGroups(std::move(entry));
      return Status::OK();
    });
    if (!st.ok()) ReportBadFile(planned.path, st);
  }
  ComputeSuffixes();
  return Status::OK();
}

// Appends the file and its row groups' footer statistics.
void TableCursor::AddGroups(FileEntry entry) {
  std::vector<GroupEntry> groups;
  const int f = static_cast<int>(files_.size());
  const auto& md = *entry.metadata;
  const auto& schema = *md.schema();
  // Unreadable leaves read as nulls: no keys.
  auto leaf_of = [&](const std::string& name) {
    const int leaf = schema.ColumnIndex(name);
    return Contains(entry.unreadable_leaves, leaf) ? -1 : leaf;
  };
  const int pull_leaf = leaf_of(root_ ? "id" : "parent_id");
  const int id_leaf = leaf_of("id");
  const int res_leaf = leaf_of("resource.id");
  const int scope_leaf = leaf_of("scope.id");
  const char* time_column = TimeColumnOf(type_);
  const int time_leaf = time_column ? leaf_of(time_column) : -1;
  int64_t row = 0;
  for (int g = 0; g < md.num_row_groups(); ++g) {
    auto rg = md.RowGroup(g);
    GroupEntry group;
    group.file = f;
    group.rg = g;
    group.rows = rg->num_rows();
    group.first_row_in_file = row;
    row += group.rows;
    bool missing = false;
    group.pull_min = MinKey(*rg, pull_leaf, &missing);
    if (!root_) group.pull_max = MaxKey(*rg, pull_leaf);
    if (has_children_ || root_) {
      group.id_min = MinKey(*rg, id_leaf, &missing);
      group.id_max = MaxKey(*rg, id_leaf);
    }
    if (root_) {
      bool ignored = false;
      group.res_min = MinKey(*rg, res_leaf, &ignored);
      group.scope_min = MinKey(*rg, scope_leaf, &ignored);
      group.raw_max = std::max(MaxRawId(*rg, res_leaf), MaxRawId(*rg, scope_leaf));
    }
    group.time = TimeStats(*rg, time_leaf);
    if (group.time && type_ == PT::kLogs) {
      // A log with a null time counts by its observed time, which min/max (nulls
      // left out) do not bound: such a group is never skipped by time.
      auto time_stats = ChunkStatistics(*rg, time_leaf);
      if (!time_stats || !time_stats->HasNullCount() || time_stats->null_count() > 0) {
        group.time.reset();
      }
    }
    if (missing) ++stats_->row_groups_without_stats;
    groups.push_back(group);
  }
  ++stats_->files_read;
  files_.push_back(std::move(entry));
  groups_.insert(groups_.end(), groups.begin(), groups.end());
}

void TableCursor::ComputeSuffixes() {
  const size_t n = groups_.size();
  suffix_pull_.assign(n + 1, kNoKey);
  suffix_id_.assign(n + 1, kNoKey);
  suffix_res_.assign(n + 1, kNoKey);
  suffix_scope_.assign(n + 1, kNoKey);
  suffix_raw_max_.assign(n + 1, 0);
  for (size_t i = n; i-- > 0;) {
    if (groups_[i].consumed) {
      suffix_pull_[i] = suffix_pull_[i + 1];
      suffix_id_[i] = suffix_id_[i + 1];
      suffix_res_[i] = suffix_res_[i + 1];
      suffix_scope_[i] = suffix_scope_[i + 1];
      suffix_raw_max_[i] = suffix_raw_max_[i + 1];
      continue;
    }
    suffix_pull_[i] = std::min(suffix_pull_[i + 1], groups_[i].pull_min);
    suffix_id_[i] = std::min(suffix_id_[i + 1], groups_[i].id_min);
    suffix_res_[i] = std::min(suffix_res_[i + 1], groups_[i].res_min);
    suffix_scope_[i] = std::min(suffix_scope_[i + 1], groups_[i].scope_min);
    suffix_raw_max_[i] = std::max(suffix_raw_max_[i + 1], groups_[i].raw_max);
  }
}

void KeepSkipsBelowFloor(const std::vector<GroupEntry>& groups, uint32_t floor,
                         std::vector<bool>* skip) {
  std::vector<size_t> skipped;
  for (size_t i = 0; i < groups.size(); ++i) {
    if ((*skip)[i]) skipped.push_back(i);
  }
  // The floor only falls: once the largest id_max left is below it, every other is.
  std::sort(skipped.begin(), skipped.end(),
            [&](size_t a, size_t b) { return groups[a].id_max > groups[b].id_max; });
  for (size_t i : skipped) {
    if (groups[i].id_max < floor) break;
    (*skip)[i] = false;
    floor = std::min(floor, groups[i].id_min);
  }
}

int64_t TableCursor::SkipConsumed(
    const std::function<bool(const FileEntry&, const GroupEntry&)>& consumed) {
  std::vector<bool> skip(groups_.size(), false);
  for (size_t i = next_; i < groups_.size(); ++i) {
    const GroupEntry& group = groups_[i];
    const FileEntry& file = files_[static_cast<size_t>(group.file)];
    skip[i] = !group.consumed && !file.bad && consumed(file, group);
  }
  // Ids need not follow row order, so a consumed group may hold ids at or above the
  // floor of the groups still read: such a group is read (the merge drops its rows
  // as replayed) and lowers the floor.
  if (has_children_ || root_) {
    uint32_t floor = kNoKey;
    for (size_t i = next_; i < groups_.size(); ++i) {
      const GroupEntry& group = groups_[i];
      if (!skip[i] && !group.consumed && !files_[static_cast<size_t>(group.file)].bad) {
        floor = std::min(floor, group.id_min);
      }
    }
    KeepSkipsBelowFloor(groups_, floor, &skip);
  }
  int64_t skipped = 0;
  for (size_t i = next_; i < groups_.size(); ++i) {
    if (!skip[i]) continue;
    groups_[i].consumed = true;
    ++skipped;
    ++stats_->resume_skipped_row_groups;
    stats_->filtered_rows += groups_[i].rows;
  }
  if (skipped > 0) ComputeSuffixes();
  return skipped;
}

// Rows of row groups not read yet.
int64_t TableCursor::RemainingRows() const {
  int64_t rows = 0;
  for (size_t i = next_; i < groups_.size(); ++i) {
    if (!files_[static_cast<size_t>(groups_[i].file)].bad && !groups_[i].consumed) {
      rows += groups_[i].rows;
    }
  }
  if (slices_) rows -= slice_row_;
  return rows;
}

ReaderPosition::TableCursorPosition TableCursor::Position() const {
  ReaderPosition::TableCursorPosition pos;
  pos.type = type_;
  if (!done()) {
    pos.file = files_[static_cast<size_t>(groups_[next_].file)].path;
    pos.row_group = groups_[next_].rg;
    // Within a group read in slices: the first row not read yet.
    pos.first_row = groups_[next_].first_row_in_file + (slices_ ? slice_row_ : 0);
  }
  return pos;
}

// Whether time_range skips the whole group (statistics; counted as filtered).
bool TableCursor::SkippedByTime(const GroupEntry& group) {
  if (!options_.time_range || !group.time) return false;
  const auto& range = *options_.time_range;
  const auto [tmin, tmax] = *group.time;
  // Logs with time 0 use observed time: only skip when no time is 0. A negative
  // minimum is a time at or after 2^63 ns (TimeRange::Contains): read the group.
  const bool zero_possible = type_ == PT::kLogs && tmin <= 0;
  if (zero_possible || tmin < 0 ||
      (tmax >= range.start_unix_nano &&
       (range.end_unix_nano == INT64_MAX || tmin < range.end_unix_nano))) {
    return false;
  }
  ++stats_->row_groups_skipped;
  stats_->filtered_rows += group.rows;
  return true;
}

// Reads the next slice (at most slice_rows() rows) of the current row group into a
// Piece; nullptr when the group was skipped (time filter, bad file). Never fails
// for bad data.
arrow::Result<std::shared_ptr<Piece>> TableCursor::ReadNext(int64_t max_rows) {
  next_slice_rows_ = max_rows > 0 ? std::min(max_rows, slice_rows()) : slice_rows();
  const size_t index = next_;
  const GroupEntry& group = groups_[index];
  FileEntry& file = files_[static_cast<size_t>(group.file)];
  if (!slices_ && (file.bad || group.consumed || SkippedByTime(group))) {
    ++next_;
    return nullptr;
  }
  for (int attempt = 0;; ++attempt) {
    io_log_->Reset();
    auto result = slices_ ? ReadSlice(group) : StartGroup(file, group);
    if (result.ok()) return result;
    if (Vanished(file.path)) return VanishedFileError(file.path);
    const bool storage = IsStorageFailure(file.path);
    // Drop the reader; a retry reopens the group at its first row not emitted.
    skip_rows_ = slice_row_;
    slices_.reset();  // before its FileReader
    recovered_.clear();
    reader_.reset();
    reader_file_ = -1;
    if (storage) {
      ARROW_RETURN_NOT_OK(RetryOrFail(file.path, attempt));
      continue;
    }
    // Bad data: when only optional columns fail to decode, read them as nulls and
    // keep the file's other columns.
    auto isolated = IsolateBadColumns(&file, group);
    if (!isolated.ok()) {  // the storage failed meanwhile
      ARROW_RETURN_NOT_OK(RetryOrFail(file.path, attempt));
      continue;
    }
    if (*isolated) {
      --attempt;  // not a storage retry; each pass adds an unreadable column
      continue;
    }
    skip_rows_ = 0;
    ReportBadFile(file.path, result.status().WithMessage("row group ", group.rg, ": ",
                                                         result.status().message()));
    file.bad = true;
    if (next_ == index) EndGroup();
    return nullptr;
  }
}

// Opens `file` so that failures of the storage are told from bad data. With its
// listed size: on an object store a file deleted since is seen at the first read.
arrow::Result<std::shared_ptr<arrow::io::RandomAccessFile>> TableCursor::OpenInput(
    const FileEntry& file) {
  auto input = OpenListedFile(*fs_, file.path, file.size);
  if (!input.ok()) {
    io_log_->Record(input.status());
    return input.status();
  }
  return std::make_shared<TrackedInputFile>(*std::move(input), io_log_);
}

// Whether the last read failed because the file no longer exists (a storage call
// failed and the file is gone): not bad data, and no retry will find it.
bool TableCursor::Vanished(const std::string& path) {
  if (io_log_->first().ok()) return false;
  auto info = fs_->GetFileInfo(path);
  return info.ok() && info->type() == arrow::fs::FileType::NotFound;
}

// Whether the last read failed because the storage did (io_log_), not the data. A
// file that vanished since discovery is not retried.
bool TableCursor::IsStorageFailure(const std::string& path) {
  if (io_log_->first().ok()) return false;
  auto info = fs_->GetFileInfo(path);
  return !info.ok() || info->type() != arrow::fs::FileType::NotFound;
}

// After a storage failure: waits before the next attempt, or gives up with a
// retryable error.
Status TableCursor::RetryOrFail(const std::string& path, int attempt) {
  const Status cause = io_log_->first();
  if (attempt + 1 >= options_.io_attempts) {
    options_.log.Warn("file.unavailable", "table={} uri={} attempts={} reason=\"{}\"",
                      TableName(type_), path, attempt + 1, cause.message());
    return RetryableReadError(path, cause);
  }
  ++stats_->io_retries;
  options_.log.Info("file.retry", "table={} uri={} attempt={} reason=\"{}\"",
                    TableName(type_), path, attempt + 1, cause.message());
  std::this_thread::sleep_for(options_.IoBackoff().BaseDelay(attempt + 1));
  return Status::OK();
}

// After a decoding error in `group`: reads each column of the group alone. When
// some fail and none of them is required (file_checks.h), they become unreadable
// (nulls, logged, counted) and true is returned: read the group again. Fails only
// for a storage failure.
arrow::Result<bool> TableCursor::IsolateBadColumns(FileEntry* file,
                                                   const GroupEntry& group) {
  std::vector<std::pair<int, std::string>> bad;
  io_log_->Reset();
  const Status isolated = CatchParquet(file->path, [&]() -> Status {
    ARROW_ASSIGN_OR_RAISE(auto input, OpenInput(*file));
    auto pq = parquet::ParquetFileReader::Open(
        input, parquet::ReaderProperties(options_.pool), file->metadata);
    parquet::ArrowReaderProperties properties(/*use_threads=*/false);
    properties.set_batch_size(slice_rows());
    std::unique_ptr<parquet::arrow::FileReader> reader;
    ARROW_ASSIGN_OR_RAISE(reader, parquet::arrow::FileReader::Make(
                                      options_.pool, std::move(pq), properties));
    const auto& canonical = *schema::CanonicalSchema(type_);
    for (const auto& field : reader->manifest().schema_fields) {
      if (canonical.GetFieldIndex(field.field->name()) < 0) continue;
      std::vector<int> leaves;
      CollectLeaves(field, &leaves);
      for (int leaf : leaves) {
        if (Contains(file->prefixed_leaves, leaf) ||
            Contains(file->unreadable_leaves, leaf)) {
          continue;
        }
        const Status st = CatchParquet(file->path, [&]() -> Status {
          ARROW_ASSIGN_OR_RAISE(auto column,
                                reader->GetRecordBatchReader({group.rg}, {leaf}));
          std::shared_ptr<arrow::RecordBatch> batch;
          do {
            ARROW_RETURN_NOT_OK(column->ReadNext(&batch));
          } while (batch);
          return Status::OK();
        });
        if (!io_log_->first().ok()) return io_log_->first();
        if (!st.ok()) bad.emplace_back(leaf, st.message());
      }
    }
    return Status::OK();
  });
  if (!io_log_->first().ok()) return io_log_->first();
  // Not a storage failure: the file cannot be read column by column either, so the
  // group stays bad and the caller reports it with its decoding error.
  if (!isolated.ok()) return false;
  if (bad.empty()) return false;
  std::vector<int> unreadable = file->unreadable_leaves;
  for (const auto& [leaf, reason] : bad) unreadable.push_back(leaf);
  if (!CheckRequiredColumns(type_, *file->metadata, unreadable).ok()) return false;
  const auto& file_schema = *file->metadata->schema();
  for (const auto& [leaf, reason] : bad) {
    ++stats_->unreadable_columns;
    options_.log.Warn("column.unreadable",
                      "table={} uri={} column={} row_group={} reason=\"{}\"",
                      TableName(type_), file->path,
                      file_schema.Column(leaf)->path()->ToDotString(), group.rg, reason);
  }
  file->unreadable_leaves = std::move(unreadable);
  return true;
}

// A negative row count in a footer becomes a batch of negative length (found by
// fuzz/parquet_table_fuzz: it ended the process); such a file is bad like any other.
// Column chunk metadata that throws is handled per column (BrokenLeaves).
Status TableCursor::CheckRowGroups(const std::string& path,
                                   const parquet::FileMetaData& md) {
  return CatchParquet(
      path,
      [&]() -> Status {
        for (int g = 0; g < md.num_row_groups(); ++g) {
          const int64_t rows = md.RowGroup(g)->num_rows();
          if (rows < 0) {
            return Status::Invalid(path, ": corrupt footer: row group ", g, " has ", rows,
                                   " rows");
          }
        }
        return Status::OK();
      },
      arrow::StatusCode::Invalid);
}

Status TableCursor::ReadFooter(FileEntry* entry) {
  return CatchParquet(entry->path, [&]() -> Status {
    ARROW_ASSIGN_OR_RAISE(auto input, OpenInput(*entry));
    auto reader = parquet::ParquetFileReader::Open(input);
    entry->metadata = reader->metadata();
    std::string& reason = entry->unreadable_reason;
    auto broken = BrokenLeaves(*entry->metadata, &reason);
    if (broken.empty()) return Status::OK();
    // Upstream's length-prefixed ids (Q14) have metadata Arrow refuses.
    auto repaired = RepairFooter(input.get());
    if (repaired.ok()) {
      entry->metadata = repaired->metadata;
      const auto& schema = *entry->metadata->schema();
      reason.clear();
      for (int leaf : repaired->length_prefixed_leaves) {
        // Only top-level columns are recovered; others read as nulls.
        if (schema.Column(leaf)->path()->ToDotVector().size() == 1) {
          entry->prefixed_leaves.push_back(leaf);
        } else {
          entry->unreadable_leaves.push_back(leaf);
          reason = "length-prefixed values (Q14) in a nested column";
        }
      }
      for (int leaf : BrokenLeaves(*entry->metadata, &reason)) {
        if (!Contains(entry->unreadable_leaves, leaf))
          entry->unreadable_leaves.push_back(leaf);
      }
    } else if (!io_log_->first().ok()) {
      return repaired.status();
    } else {
      entry->unreadable_leaves = std::move(broken);
    }
    return Status::OK();
  });
}

void TableCursor::ReportBadFile(const std::string& path, const Status& st) {
  ++stats_->corrupt_files;
  options_.log.Warn("file.drop", "table={} uri={} reason=\"{}\"", TableName(type_), path,
                    st.message());
}

// Rows per slice: root slices are a multiple of the batch size (so that chunks
// rarely straddle slices and need no copy); child slices 64 Ki rows (larger ones
// measured no faster, with more memory).
int64_t TableCursor::slice_rows() const {
  if (root_)
    return options_.batch_size * std::max<int64_t>(1, 65536 / options_.batch_size);
  return 65536;
}

void TableCursor::EndGroup() {
  slices_.reset();
  recovered_.clear();
  slice_pull_suffix_.clear();
  slice_row_ = 0;
  ++next_;
}

// Opens the group for slice reads (the file's reader, only the canonical schema's
// columns) and, for children, reads the pull key column first for its suffix minima.
// Then returns the first slice.
arrow::Result<std::shared_ptr<Piece>> TableCursor::StartGroup(const FileEntry& file,
                                                              const GroupEntry& group) {
  ARROW_RETURN_NOT_OK(CatchParquet(file.path, [&]() -> Status {
    if (reader_file_ != group.file) {
      ARROW_RETURN_NOT_OK(OpenFileReader(file, group.file));
    }
    ARROW_RETURN_NOT_OK(ReadRecoveredColumns(file, group));
    ARROW_RETURN_NOT_OK(ReadPullKeySuffix(group));
    ARROW_ASSIGN_OR_RAISE(slices_, reader_->GetRecordBatchReader({group.rg}, leaves_));
    ARROW_RETURN_NOT_OK(SkipEmittedSlices());
    if (skip_rows_ == 0) CountGroupRead(file, group);
    return Status::OK();
  }));
  slice_row_ = skip_rows_;
  skip_rows_ = 0;
  return ReadSlice(group);
}

// The file's Arrow reader, reading only the columns the canonical schema has
// (upstream's univariate_metrics.dropped_attributes_count and unknown extras are not
// read).
Status TableCursor::OpenFileReader(const FileEntry& file, int file_index) {
  reader_.reset();
  ARROW_ASSIGN_OR_RAISE(auto input, OpenInput(file));
  // Local files: each column chunk streamed through a 256 KiB buffer (1 MiB buffers:
  // ~6 MiB more peak RSS, no faster; pre-buffering held a whole row group's
  // compressed chunks, ~30 MiB more, no faster).
  // Object stores: pre-buffered, i.e. coalesced ranged reads, few requests.
  parquet::ReaderProperties file_properties(options_.pool);
  if (local_) {
    file_properties.enable_buffered_stream();
    file_properties.set_buffer_size(kStreamBufferBytes);
  }
  auto pq = parquet::ParquetFileReader::Open(input, file_properties, file.metadata);
  // One core per reader. Strings are decoded to plain utf8 directly: the canonical
  // schema has no dictionaries, and reading dictionaries then decoding them measured
  // slower (3.0 vs 2.4-2.7 CPU-s for 1 M logs).
  parquet::ArrowReaderProperties properties(/*use_threads=*/false);
  properties.set_pre_buffer(!local_);
  properties.set_batch_size(slice_rows());
  ARROW_ASSIGN_OR_RAISE(reader_, parquet::arrow::FileReader::Make(
                                     options_.pool, std::move(pq), properties));
  reader_file_ = file_index;
  leaves_.clear();
  recovered_leaves_.clear();
  pull_leaf_ = -1;
  const auto& canonical = *schema::CanonicalSchema(type_);
  const auto& fields = reader_->manifest().schema_fields;
  for (size_t i = 0; i < fields.size(); ++i) {
    const std::string& name = fields[i].field->name();
    if (canonical.GetFieldIndex(name) >= 0) {
      std::vector<int> leaves;
      CollectLeaves(fields[i], &leaves);
      for (int leaf : leaves) {
        if (Contains(file.prefixed_leaves, leaf)) {
          recovered_leaves_.emplace_back(name, leaf);
        } else if (!Contains(file.unreadable_leaves, leaf)) {
          leaves_.push_back(leaf);
        }
      }
    }
    if (!root_ && name == schema::kParentId && fields[i].is_leaf() &&
        Contains(leaves_, fields[i].column_index)) {
      pull_leaf_ = fields[i].column_index;
    }
  }
  return Status::OK();
}

// Q14 columns of this group, whole (a few bytes per row); one that cannot be
// recovered is left out (read as nulls), logged and counted.
Status TableCursor::ReadRecoveredColumns(const FileEntry& file, const GroupEntry& group) {
  recovered_.clear();
  for (const auto& [name, leaf] : recovered_leaves_) {
    auto column = ReadLengthPrefixedFixed(
        reader_->parquet_reader()->RowGroup(group.rg).get(), leaf, options_.pool);
    if (!column.ok()) {
      if (!io_log_->first().ok()) return column.status();
      ++stats_->unreadable_columns;
      options_.log.Warn("column.unreadable", "table={} uri={} column={} reason=\"{}\"",
                        TableName(type_), file.path, name, column.status().message());
      continue;
    }
    recovered_.emplace_back(arrow::field(name, (*column)->type()), *column);
  }
  return Status::OK();
}

// Children of a group larger than a slice: the minimum parent_id from each slice on
// (slice_pull_suffix_), so that next_pull_min() is exact at slice boundaries. The
// column is read alone, slice by slice: one slice of keys in memory, not the group's.
Status TableCursor::ReadPullKeySuffix(const GroupEntry& group) {
  slice_pull_suffix_.clear();
  if (pull_leaf_ < 0 || group.rows <= slice_rows()) return Status::OK();
  const int64_t per_slice = slice_rows();
  std::vector<uint32_t> slice_min(static_cast<size_t>((group.rows - 1) / per_slice + 1),
                                  kNoKey);
  reader_->set_batch_size(per_slice);
  ARROW_ASSIGN_OR_RAISE(auto keys,
                        reader_->GetRecordBatchReader({group.rg}, {pull_leaf_}));
  int64_t row = 0;
  while (true) {
    std::shared_ptr<arrow::RecordBatch> batch;
    ARROW_RETURN_NOT_OK(keys->ReadNext(&batch));
    if (!batch) break;
    std::shared_ptr<arrow::Array> column = batch->column(0);
    if (column->type_id() != arrow::Type::UINT32) {
      ARROW_ASSIGN_OR_RAISE(auto wide, arrow::compute::Cast(column, arrow::uint32()));
      column = wide.make_array();
    }
    const auto& ids = static_cast<const arrow::UInt32Array&>(*column);
    const uint32_t* values = ids.raw_values();
    const int64_t n = ids.length();
    // Batches are whole slices (the reader's batch size is slice_rows()), but a
    // batch may start anywhere: each row goes to its own slice.
    for (int64_t begin = 0; begin < n;) {
      const auto slice = static_cast<size_t>((row + begin) / per_slice);
      const int64_t end =
          std::min(n, (static_cast<int64_t>(slice) + 1) * per_slice - row);
      uint32_t min = kNoKey;
      if (ids.null_count() == 0) {
        for (int64_t i = begin; i < end; ++i) min = std::min(min, values[i]);
      } else {
        // Null parent ids never match: they need no pull.
        for (int64_t i = begin; i < end; ++i) {
          if (ids.IsValid(i)) min = std::min(min, values[i]);
        }
      }
      if (slice < slice_min.size()) slice_min[slice] = std::min(slice_min[slice], min);
      begin = end;
    }
    row += n;
  }
  slice_pull_suffix_.assign(slice_min.size() + 1, kNoKey);
  for (size_t i = slice_min.size(); i-- > 0;) {
    slice_pull_suffix_[i] = std::min(slice_pull_suffix_[i + 1], slice_min[i]);
  }
  return Status::OK();
}

// After a storage failure: skips the rows of the group already emitted (whole slices).
Status TableCursor::SkipEmittedSlices() {
  int64_t skipped = 0;
  while (skipped < skip_rows_) {
    std::shared_ptr<arrow::RecordBatch> discard;
    reader_->set_batch_size(std::min(slice_rows(), skip_rows_ - skipped));
    ARROW_RETURN_NOT_OK(slices_->ReadNext(&discard));
    if (!discard) return Status::IOError("row group ended while resuming");
    skipped += discard->num_rows();
  }
  if (skipped != skip_rows_) return Status::IOError("slice boundary moved");
  return Status::OK();
}

void TableCursor::CountGroupRead(const FileEntry& file, const GroupEntry& group) {
  auto rg = file.metadata->RowGroup(group.rg);
  for (int c : leaves_) stats_->bytes_read += rg->ColumnChunk(c)->total_compressed_size();
  for (const auto& recovered : recovered_leaves_) {
    stats_->bytes_read += rg->ColumnChunk(recovered.second)->total_compressed_size();
  }
  ++stats_->row_groups_read;
}

arrow::Result<std::shared_ptr<Piece>> TableCursor::ReadSlice(const GroupEntry& group) {
  std::shared_ptr<arrow::RecordBatch> raw;
  // The slice reader takes the reader's batch size at every slice.
  reader_->set_batch_size(next_slice_rows_);
  ARROW_RETURN_NOT_OK(CatchParquet(files_[static_cast<size_t>(group.file)].path,
                                   [&] { return slices_->ReadNext(&raw); }));
  if (!raw) {
    EndGroup();
    return nullptr;
  }
  const int64_t first_row = slice_row_;
  for (const auto& [field, column] : recovered_) {
    if (first_row + raw->num_rows() > column->length())
      return Status::Invalid(field->name(), ": recovered column too short");
    ARROW_ASSIGN_OR_RAISE(raw, raw->AddColumn(raw->num_columns(), field,
                                              column->Slice(first_row, raw->num_rows())));
  }
  slice_row_ += raw->num_rows();
  const bool ends_group = slice_row_ >= group.rows;
  if (ends_group) EndGroup();
  stats_->rows_per_table[static_cast<size_t>(type_)] += raw->num_rows();
  ARROW_ASSIGN_OR_RAISE(auto piece, MakePiece(std::move(raw), group, first_row));
  piece->group_rows = group.rows;
  piece->ends_group = ends_group;
  return piece;
}

// Normalizes a raw slice to the canonical schema (wide ids) and extracts its join
// keys (roots: resource / scope ids too, before normalization drops them).
arrow::Result<std::shared_ptr<Piece>> TableCursor::MakePiece(
    std::shared_ptr<arrow::RecordBatch> raw, const GroupEntry& group, int64_t first_row) {
  auto piece = std::make_shared<Piece>();
  piece->file = group.file;
  piece->first_row_in_file = group.first_row_in_file + first_row;
  StructIdColumn res, scope;
  if (root_) {
    ARROW_ASSIGN_OR_RAISE(res, ExtractStructId(&raw, schema::kResource));
    ARROW_ASSIGN_OR_RAISE(scope, ExtractStructId(&raw, schema::kScope));
  }
  schema::NormalizeOptions normalize;
  normalize.wide_ids = true;
  ARROW_ASSIGN_OR_RAISE(piece->batch,
                        schema::NormalizeToCanonical(type_, raw, normalize));
  piece->batch = piece->batch->ReplaceSchemaMetadata(nullptr);
  const size_t n = static_cast<size_t>(piece->batch->num_rows());
  piece->key = KeysOf(*piece->batch, root_ ? schema::kId : schema::kParentId);
  if (has_children_ && !root_) piece->id = KeysOf(*piece->batch, schema::kId);
  if (options_.time_range && IsDataPoints(type_)) {
    piece->out_of_time.assign(n, 0);
    auto times = piece->batch->GetColumnByName(schema::kTimeUnixNano);
    const auto& range = *options_.time_range;
    for (size_t i = 0; i < n; ++i) {
      const int64_t row = static_cast<int64_t>(i);
      const int64_t t =
          !times || times->IsNull(row)
              ? 0
              : static_cast<const arrow::TimestampArray&>(*times).Value(row);
      piece->out_of_time[i] = !range.Contains(t);
    }
  }
  if (root_) {
    piece->res_key = std::move(res.keys);
    piece->scope_key = std::move(scope.keys);
    upstream_ids_ = (res.present && !res.wide) || (scope.present && !scope.wide);
  } else {
    piece->live.resize(n);
    for (size_t i = 0; i < n; ++i) piece->live[i] = static_cast<int32_t>(i);
    piece->used.assign(n, 0);
  }
  return piece;
}

}  // namespace otap_parquet::dataset::internal
