// SPDX-License-Identifier: Apache-2.0
#include "otap_parquet/dataset/dataset_reader.h"
#include "otap_parquet/util/compute.h"
#include "otap_parquet/util/memory.h"

#include <algorithm>
#include <array>
#include <cstdlib>
#include <deque>
#include <exception>
#include <limits>
#include <thread>
#include <unordered_map>
#include <unordered_set>
#include <utility>

#include <arrow/api.h>
#include <arrow/array/concatenate.h>
#include <arrow/compute/api_scalar.h>
#include <arrow/compute/api_vector.h>
#include <arrow/compute/cast.h>
#include <arrow/compute/initialize.h>
#include <arrow/io/interfaces.h>
#include <parquet/arrow/reader.h>
#include <parquet/arrow/schema.h>
#include <parquet/exception.h>
#include <parquet/file_reader.h>
#include <parquet/metadata.h>
#include <parquet/statistics.h>
#include <spdlog/spdlog.h>

#include "otap_parquet/dataset/column_recovery.h"
#include "otap_parquet/dataset/file_checks.h"
#include "otap_parquet/dataset/id_space.h"
#include "otap_parquet/dataset/read_errors.h"
#include "otap_parquet/dataset/storage.h"
#include "otap_parquet/pdata/ids.h"
#include "otap_parquet/schema/normalize.h"
#include "otap_parquet/schema/otap_schema.h"

namespace otap_parquet::dataset {

namespace {

using arrow::Status;
using PT = PayloadType;

/// "No key": a null id, an id that can never match, or "no more rows".
constexpr uint32_t kNoKey = std::numeric_limits<uint32_t>::max();
/// Keys of unresolved upstream resources/scopes: above every real key we join on, and
/// never put into a join key set (see MapUpstreamKeys).
constexpr uint32_t kUnresolvedKeyBase = 0xFFFE0000u;

using util::EnsureComputeInitialized;

// --------------------------------------------------------------------------------
// Arrow helpers

arrow::Result<std::shared_ptr<arrow::RecordBatch>> TakeRows(
    const std::shared_ptr<arrow::RecordBatch>& batch, const std::vector<int32_t>& rows,
    arrow::MemoryPool* pool) {
  // Sorted files give runs of consecutive rows: a zero-copy slice.
  if (!rows.empty() &&
      static_cast<int64_t>(rows.back()) - rows.front() + 1 ==
          static_cast<int64_t>(rows.size()) &&
      std::is_sorted(rows.begin(), rows.end())) {
    return batch->Slice(rows.front(), static_cast<int64_t>(rows.size()));
  }
  arrow::Int32Builder builder(pool);
  ARROW_RETURN_NOT_OK(builder.AppendValues(rows));
  ARROW_ASSIGN_OR_RAISE(auto indices, builder.Finish());
  arrow::compute::ExecContext context(pool);
  ARROW_ASSIGN_OR_RAISE(
      auto datum, arrow::compute::Take(
                      batch, indices, arrow::compute::TakeOptions::Defaults(), &context));
  return datum.record_batch();
}

arrow::Result<std::shared_ptr<arrow::RecordBatch>> ConcatBatches(
    const std::vector<std::shared_ptr<arrow::RecordBatch>>& batches,
    arrow::MemoryPool* pool) {
  if (batches.size() == 1) return batches[0];
  const auto& schema = batches[0]->schema();
  std::vector<std::shared_ptr<arrow::Array>> columns;
  int64_t rows = 0;
  for (const auto& b : batches) rows += b->num_rows();
  for (int c = 0; c < schema->num_fields(); ++c) {
    arrow::ArrayVector parts;
    for (const auto& b : batches) parts.push_back(b->column(c));
    ARROW_ASSIGN_OR_RAISE(auto column, arrow::Concatenate(parts, pool));
    columns.push_back(std::move(column));
  }
  return arrow::RecordBatch::Make(schema, rows, std::move(columns));
}

// Values of a UInt32 (wide id) column, kNoKey for nulls; all kNoKey when absent.
std::vector<uint32_t> KeysOf(const arrow::RecordBatch& batch, const char* name) {
  std::vector<uint32_t> keys(static_cast<size_t>(batch.num_rows()), kNoKey);
  auto column = batch.GetColumnByName(name);
  if (!column || column->type_id() != arrow::Type::UINT32) return keys;
  const auto& ids = static_cast<const arrow::UInt32Array&>(*column);
  for (int64_t i = 0; i < ids.length(); ++i) {
    if (ids.IsValid(i)) keys[static_cast<size_t>(i)] = ids.Value(i);
  }
  return keys;
}

// Removes child `name` of struct column `struct_name` from a raw batch and returns its
// values cast to UInt32 (kNoKey for null children or null structs), plus whether the
// raw type was UInt32 (our offset form) rather than upstream's un-offset UInt16.
struct StructIdColumn {
  std::vector<uint32_t> keys;
  bool present = false;
  bool wide = false;
};

arrow::Result<StructIdColumn> ExtractStructId(std::shared_ptr<arrow::RecordBatch>* batch,
                                              const char* struct_name) {
  StructIdColumn result;
  const int64_t n = (*batch)->num_rows();
  result.keys.assign(static_cast<size_t>(n), kNoKey);
  const int index = (*batch)->schema()->GetFieldIndex(struct_name);
  if (index < 0) return result;
  const auto column = (*batch)->column(index);
  if (column->type_id() != arrow::Type::STRUCT) return result;
  const auto& data = column->data();
  const auto& struct_type = static_cast<const arrow::StructType&>(*column->type());
  const int child = struct_type.GetFieldIndex(schema::kId);
  if (child < 0) return result;
  const auto& struct_array = static_cast<const arrow::StructArray&>(*column);
  auto child_array = struct_array.field(child);  // sliced to the struct's offset
  std::shared_ptr<arrow::DataType> raw_type = child_array->type();
  if (raw_type->id() == arrow::Type::DICTIONARY) {
    raw_type = static_cast<const arrow::DictionaryType&>(*raw_type).value_type();
  }
  result.present = true;
  result.wide = raw_type->id() == arrow::Type::UINT32 ||
                raw_type->id() == arrow::Type::INT64 ||
                raw_type->id() == arrow::Type::UINT64;
  ARROW_ASSIGN_OR_RAISE(auto cast_datum,
                        arrow::compute::Cast(child_array, arrow::uint32()));
  const auto cast_array = cast_datum.make_array();
  const auto& ids = static_cast<const arrow::UInt32Array&>(*cast_array);
  for (int64_t i = 0; i < n; ++i) {
    if (struct_array.IsValid(i) && ids.IsValid(i)) {
      result.keys[static_cast<size_t>(i)] = ids.Value(i);
    }
  }
  // Drop the child (ArrayData level, so that offsets stay as they are); normalization
  // then inserts a null canonical `id` that the output step replaces.
  auto new_data = data->Copy();
  std::vector<std::shared_ptr<arrow::Field>> fields = struct_type.fields();
  fields.erase(fields.begin() + child);
  new_data->type = arrow::struct_(fields);
  new_data->child_data.erase(new_data->child_data.begin() + child);
  auto new_column = arrow::MakeArray(new_data);
  auto field = (*batch)->schema()->field(index)->WithType(new_data->type);
  ARROW_ASSIGN_OR_RAISE(*batch, (*batch)->SetColumn(index, field, new_column));
  return result;
}

// Replaces struct child `id` of column `struct_name` (offset 0) by `ids` (UInt32).
arrow::Result<std::shared_ptr<arrow::RecordBatch>> ReplaceStructId(
    std::shared_ptr<arrow::RecordBatch> batch, const char* struct_name,
    const std::vector<uint32_t>& keys) {
  const int index = batch->schema()->GetFieldIndex(struct_name);
  if (index < 0) return batch;
  auto column = batch->column(index);
  if (column->offset() != 0) {
    ARROW_ASSIGN_OR_RAISE(column, arrow::Concatenate({column}));
  }
  const auto& struct_type = static_cast<const arrow::StructType&>(*column->type());
  const int child = struct_type.GetFieldIndex(schema::kId);
  if (child < 0) return batch;
  arrow::UInt32Builder builder;
  ARROW_RETURN_NOT_OK(builder.Reserve(static_cast<int64_t>(keys.size())));
  for (uint32_t key : keys) {
    if (key == kNoKey) {
      builder.UnsafeAppendNull();
    } else {
      builder.UnsafeAppend(key);
    }
  }
  ARROW_ASSIGN_OR_RAISE(auto ids, builder.Finish());
  auto new_data = column->data()->Copy();
  std::vector<std::shared_ptr<arrow::Field>> fields = struct_type.fields();
  fields[static_cast<size_t>(child)] =
      fields[static_cast<size_t>(child)]->WithType(arrow::uint32());
  new_data->type = arrow::struct_(fields);
  new_data->child_data[static_cast<size_t>(child)] = ids->data();
  auto field = batch->schema()->field(index)->WithType(new_data->type);
  return batch->SetColumn(index, field, arrow::MakeArray(new_data));
}

// --------------------------------------------------------------------------------
// Footer statistics

// Minimum of a key column in a row group as UInt32: kNoKey when the column is absent
// or all null; 0 (and *missing = true) when statistics are missing.
uint32_t MinKey(const parquet::RowGroupMetaData& rg, int leaf, bool* missing) {
  if (leaf < 0) return kNoKey;
  auto chunk = rg.ColumnChunk(leaf);
  std::shared_ptr<parquet::Statistics> stats;
  try {
    stats = chunk->statistics();
  } catch (const std::exception&) {
    stats = nullptr;
  }
  if (stats && stats->HasMinMax()) {
    switch (stats->physical_type()) {
      case parquet::Type::INT32: {
        const int32_t v = static_cast<const parquet::Int32Statistics&>(*stats).min();
        // UInt8/16/32 ids are stored as INT32 (bit pattern of the unsigned value).
        return static_cast<uint32_t>(v);
      }
      case parquet::Type::INT64: {
        const int64_t v = static_cast<const parquet::Int64Statistics&>(*stats).min();
        if (v < 0) return 0;
        return v >= static_cast<int64_t>(kNoKey) ? kNoKey - 1 : static_cast<uint32_t>(v);
      }
      default:
        break;
    }
  }
  if (stats && stats->HasNullCount() && stats->null_count() >= rg.num_rows())
    return kNoKey;
  *missing = true;
  return 0;
}

// Maximum of a small unsigned id column (upstream's raw resource.id / scope.id) in a
// row group; 0 when the column is absent or all null, 0xFFFF when unknown.
uint32_t MaxRawId(const parquet::RowGroupMetaData& rg, int leaf) {
  if (leaf < 0) return 0;
  try {
    auto stats = rg.ColumnChunk(leaf)->statistics();
    if (stats && stats->HasMinMax() && stats->physical_type() == parquet::Type::INT32) {
      return std::min<uint32_t>(
          static_cast<uint32_t>(
              static_cast<const parquet::Int32Statistics&>(*stats).max()),
          0xFFFF);
    }
    if (stats && stats->HasNullCount() && stats->null_count() >= rg.num_rows()) return 0;
  } catch (const std::exception&) {
  }
  return 0xFFFF;
}

std::optional<std::pair<int64_t, int64_t>> TimeStats(const parquet::RowGroupMetaData& rg,
                                                     int leaf) {
  if (leaf < 0) return std::nullopt;
  try {
    auto stats = rg.ColumnChunk(leaf)->statistics();
    if (stats && stats->HasMinMax() && stats->physical_type() == parquet::Type::INT64) {
      const auto& typed = static_cast<const parquet::Int64Statistics&>(*stats);
      return std::make_pair(typed.min(), typed.max());
    }
  } catch (const std::exception&) {
  }
  return std::nullopt;
}

// --------------------------------------------------------------------------------
// Buffered rows of a table

struct Piece {
  std::shared_ptr<arrow::RecordBatch> batch;  // normalized (wide ids)
  std::vector<uint32_t> key;                  // parent_id (children) / id (roots)
  std::vector<uint32_t> id;                   // own id (tables with children)
  std::vector<int32_t> live;                  // rows still buffered (children)
  std::vector<uint8_t> used;                  // resource/scope attrs: matched once
  std::vector<uint8_t> out_of_time;           // data points outside time_range
  // Minimum key / id over `live` (valid after the first classification pass).
  uint32_t min_live_key = kNoKey, min_live_id = kNoKey;
  bool summary_valid = false;
  // Roots only.
  std::vector<uint32_t> res_key, scope_key;  // resolved join keys
  std::vector<uint32_t> suffix_id_min, suffix_res_min, suffix_scope_min;
  int file = -1;
  int64_t first_row_in_file = 0;
};

struct FileEntry {
  std::string path;
  std::shared_ptr<parquet::FileMetaData> metadata;
  bool bad = false;
  int64_t rows_before = 0;
  // Leaves read by ReadLengthPrefixedFixed (Q14) and leaves read as nulls (why).
  std::vector<int> prefixed_leaves;
  std::vector<int> unreadable_leaves;
  std::string unreadable_reason;
};

bool Contains(const std::vector<int>& leaves, int leaf) {
  return std::find(leaves.begin(), leaves.end(), leaf) != leaves.end();
}

// Leaves whose chunk metadata Arrow refuses in some row group, with the first reason.
std::vector<int> BrokenLeaves(const parquet::FileMetaData& md, std::string* reason) {
  std::vector<int> broken;
  for (int c = 0; c < md.num_columns(); ++c) {
    for (int g = 0; g < md.num_row_groups(); ++g) {
      try {
        md.RowGroup(g)->ColumnChunk(c);
      } catch (const std::exception& e) {
        if (broken.empty()) *reason = e.what();
        broken.push_back(c);
        break;
      }
    }
  }
  return broken;
}

struct GroupEntry {
  int file = 0;
  int rg = 0;
  int64_t rows = 0;
  int64_t first_row_in_file = 0;
  uint32_t pull_min = 0, id_min = 0, res_min = 0, scope_min = 0;
  uint32_t raw_max = 0;  // largest resource.id / scope.id (upstream Q1 policy)
  std::optional<std::pair<int64_t, int64_t>> time;
};

void CollectLeaves(const parquet::arrow::SchemaField& field, std::vector<int>* leaves) {
  if (field.is_leaf()) {
    leaves->push_back(field.column_index);
    return;
  }
  for (const auto& child : field.children) CollectLeaves(child, leaves);
}

// Event time column of a table for time_range (nullptr: not filtered): the roots of
// logs and traces, the data points of metrics.
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

bool IsDataPoints(PT type) {
  return type == PT::kNumberDataPoints || type == PT::kSummaryDataPoints ||
         type == PT::kHistogramDataPoints || type == PT::kExpHistogramDataPoints;
}

}  // namespace

// ----------------------------------------------------------------------------------
// Per-table cursor over (file, row group)

namespace {

class TableCursor {
 public:
  TableCursor(std::shared_ptr<arrow::fs::FileSystem> fs, PT type, bool has_children,
              const ReaderOptions& options, ReaderStats* stats)
      : fs_(std::move(fs)),
        type_(type),
        root_(IsRoot(type)),
        has_children_(has_children),
        options_(options),
        stats_(stats),
        local_(IsLocalFileSystem(*fs_)) {}

  // Reads the footers of `files`; unreadable or incompatible ones are logged, counted
  // and skipped. Fails only for a storage failure that outlasted the retries.
  Status Open(const std::vector<PlannedFile>& files) {
    for (const auto& planned : files) {
      FileEntry entry;
      entry.path = planned.path;
      Status st;
      for (int attempt = 0;; ++attempt) {
        io_log_->Reset();
        st = ReadFooter(&entry);
        if (st.ok() || !IsStorageFailure(entry.path)) break;
        ARROW_RETURN_NOT_OK(RetryOrFail(entry.path, attempt));
      }
      if (st.ok()) st = CheckRowGroups(*entry.metadata);
      if (!st.ok()) {
        ReportBadFile(entry.path, st);
        continue;
      }
      st = CheckRequiredColumns(type_, *entry.metadata, entry.unreadable_leaves);
      if (!st.ok()) {
        ++stats_->incompatible_files;
        spdlog::warn("receiver.parquet.file.incompatible table={} uri={} reason=\"{}\"",
                     TableName(type_), entry.path, st.message());
        continue;
      }
      const auto& file_schema = *entry.metadata->schema();
      for (int leaf : entry.unreadable_leaves) {
        ++stats_->unreadable_columns;
        spdlog::warn(
            "receiver.parquet.column.unreadable table={} uri={} column={} "
            "reason=\"{}\" (read as nulls)",
            TableName(type_), entry.path, file_schema.Column(leaf)->path()->ToDotString(),
            entry.unreadable_reason);
      }
      stats_->recovered_columns += static_cast<int64_t>(entry.prefixed_leaves.size());
      try {
        AddGroups(std::move(entry));
      } catch (const std::exception& e) {
        ReportBadFile(planned.path, Status::IOError(e.what()));
      }
    }
    ComputeSuffixes();
    return Status::OK();
  }

  // Appends the file and its row groups' footer statistics.
  void AddGroups(FileEntry entry) {
    {
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
        if (has_children_ || root_) group.id_min = MinKey(*rg, id_leaf, &missing);
        if (root_) {
          bool ignored = false;
          group.res_min = MinKey(*rg, res_leaf, &ignored);
          group.scope_min = MinKey(*rg, scope_leaf, &ignored);
          group.raw_max = std::max(MaxRawId(*rg, res_leaf), MaxRawId(*rg, scope_leaf));
        }
        group.time = TimeStats(*rg, time_leaf);
        if (missing) ++stats_->row_groups_without_stats;
        groups.push_back(group);
      }
      ++stats_->files_read;
      files_.push_back(std::move(entry));
      groups_.insert(groups_.end(), groups.begin(), groups.end());
    }
  }

  void ComputeSuffixes() {
    const size_t n = groups_.size();
    suffix_pull_.assign(n + 1, kNoKey);
    suffix_id_.assign(n + 1, kNoKey);
    suffix_res_.assign(n + 1, kNoKey);
    suffix_scope_.assign(n + 1, kNoKey);
    suffix_raw_max_.assign(n + 1, 0);
    for (size_t i = n; i-- > 0;) {
      suffix_pull_[i] = std::min(suffix_pull_[i + 1], groups_[i].pull_min);
      suffix_id_[i] = std::min(suffix_id_[i + 1], groups_[i].id_min);
      suffix_res_[i] = std::min(suffix_res_[i + 1], groups_[i].res_min);
      suffix_scope_[i] = std::min(suffix_scope_[i + 1], groups_[i].scope_min);
      suffix_raw_max_[i] = std::max(suffix_raw_max_[i + 1], groups_[i].raw_max);
    }
  }

  bool done() const { return next_ >= groups_.size(); }
  // While a row group is read slice by slice, next_ stays on it: the statistics of the
  // whole group bound its unread rest. Children know the exact minimum of the rest
  // of their pull key (read first), so they pull no slice before it is needed.
  uint32_t next_pull_min() const {
    if (!slices_ || slice_pull_suffix_.empty()) return suffix_pull_[next_];
    return std::min(slice_pull_suffix_[static_cast<size_t>(slice_row_)],
                    suffix_pull_[next_ + 1]);
  }
  uint32_t next_id_min() const { return suffix_id_[next_]; }
  uint32_t next_res_min() const { return suffix_res_[next_]; }
  uint32_t next_scope_min() const { return suffix_scope_[next_]; }
  /// Largest raw resource.id / scope.id in the row groups not read yet.
  uint32_t next_raw_max() const { return suffix_raw_max_[next_]; }

  // Rows of row groups not read yet.
  int64_t RemainingRows() const {
    int64_t rows = 0;
    for (size_t i = next_; i < groups_.size(); ++i) {
      if (!files_[static_cast<size_t>(groups_[i].file)].bad) rows += groups_[i].rows;
    }
    if (slices_) rows -= slice_row_;
    return rows;
  }

  ReaderPosition::TableCursorPosition Position() const {
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

  // Reads the next slice (at most slice_rows() rows) of the current row group into a
  // Piece; nullptr when the group was skipped (time filter, bad file). Never fails
  // for bad data.
  arrow::Result<std::shared_ptr<Piece>> ReadNext() {
    const size_t index = next_;
    const GroupEntry& group = groups_[index];
    FileEntry& file = files_[static_cast<size_t>(group.file)];
    if (!slices_) {
      if (file.bad) {
        ++next_;
        return nullptr;
      }
      if (options_.time_range && group.time) {
        const auto& range = *options_.time_range;
        const auto [tmin, tmax] = *group.time;
        // Logs with time 0 use observed time: only skip when no time is 0.
        const bool zero_possible = type_ == PT::kLogs && tmin <= 0;
        if (!zero_possible &&
            (tmax < range.start_unix_nano || tmin >= range.end_unix_nano)) {
          ++stats_->row_groups_skipped;
          stats_->filtered_rows += group.rows;
          ++next_;
          return nullptr;
        }
      }
    }
    for (int attempt = 0;; ++attempt) {
      io_log_->Reset();
      auto result = slices_ ? ReadSlice(group) : StartGroup(file, group);
      if (result.ok()) return result;
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

 private:
  // Opens `path` so that failures of the storage are told from bad data.
  arrow::Result<std::shared_ptr<arrow::io::RandomAccessFile>> OpenInput(
      const std::string& path) {
    auto input = fs_->OpenInputFile(path);
    if (!input.ok()) {
      io_log_->Record(input.status());
      return input.status();
    }
    return std::make_shared<TrackedInputFile>(*std::move(input), io_log_);
  }

  // Whether the last read failed because the storage did (io_log_), not the data. A
  // file that vanished since discovery is not retried.
  bool IsStorageFailure(const std::string& path) {
    if (io_log_->first().ok()) return false;
    auto info = fs_->GetFileInfo(path);
    return !info.ok() || info->type() != arrow::fs::FileType::NotFound;
  }

  // After a storage failure: waits before the next attempt, or gives up with a
  // retryable error.
  Status RetryOrFail(const std::string& path, int attempt) {
    const Status cause = io_log_->first();
    if (attempt + 1 >= options_.io_attempts) {
      spdlog::warn(
          "receiver.parquet.file.unavailable table={} uri={} attempts={} "
          "reason=\"{}\"",
          TableName(type_), path, attempt + 1, cause.message());
      return RetryableReadError(path, cause);
    }
    ++stats_->io_retries;
    spdlog::info("receiver.parquet.file.retry table={} uri={} attempt={} reason=\"{}\"",
                 TableName(type_), path, attempt + 1, cause.message());
    std::this_thread::sleep_for(options_.io_retry_backoff * (int64_t{1} << attempt));
    return Status::OK();
  }

  // After a decoding error in `group`: reads each column of the group alone. When
  // some fail and none of them is required (file_checks.h), they become unreadable
  // (nulls, logged, counted) and true is returned: read the group again. Fails only
  // for a storage failure.
  arrow::Result<bool> IsolateBadColumns(FileEntry* file, const GroupEntry& group) {
    std::vector<std::pair<int, std::string>> bad;
    io_log_->Reset();
    try {
      ARROW_ASSIGN_OR_RAISE(auto input, OpenInput(file->path));
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
          Status st;
          try {
            auto column = reader->GetRecordBatchReader({group.rg}, {leaf});
            st = column.status();
            std::shared_ptr<arrow::RecordBatch> batch;
            while (st.ok()) {
              st = (*column)->ReadNext(&batch);
              if (!batch) break;
            }
          } catch (const std::exception& e) {
            st = Status::IOError(e.what());
          }
          if (!io_log_->first().ok()) return io_log_->first();
          if (!st.ok()) bad.emplace_back(leaf, st.message());
        }
      }
    } catch (const parquet::ParquetStatusException& e) {
      return e.status();
    } catch (const std::exception&) {
      if (!io_log_->first().ok()) return io_log_->first();
      return false;
    }
    if (bad.empty()) return false;
    std::vector<int> unreadable = file->unreadable_leaves;
    for (const auto& [leaf, reason] : bad) unreadable.push_back(leaf);
    if (!CheckRequiredColumns(type_, *file->metadata, unreadable).ok()) return false;
    const auto& file_schema = *file->metadata->schema();
    for (const auto& [leaf, reason] : bad) {
      ++stats_->unreadable_columns;
      spdlog::warn(
          "receiver.parquet.column.unreadable table={} uri={} column={} row_group={} "
          "reason=\"{}\"",
          TableName(type_), file->path, file_schema.Column(leaf)->path()->ToDotString(),
          group.rg, reason);
    }
    file->unreadable_leaves = std::move(unreadable);
    return true;
  }

  // A negative row count in a footer becomes a batch of negative length (found by
  // fuzz/parquet_table_fuzz: it ended the process); such a file is bad like any other.
  // Column chunk metadata that throws is handled per column (BrokenLeaves).
  static Status CheckRowGroups(const parquet::FileMetaData& md) {
    try {
      for (int g = 0; g < md.num_row_groups(); ++g) {
        const int64_t rows = md.RowGroup(g)->num_rows();
        if (rows < 0) {
          return Status::Invalid("corrupt footer: row group ", g, " has ", rows, " rows");
        }
      }
      return Status::OK();
    } catch (const std::exception& e) {
      return Status::Invalid("corrupt footer: ", e.what());
    }
  }

  Status ReadFooter(FileEntry* entry) {
    try {
      ARROW_ASSIGN_OR_RAISE(auto input, OpenInput(entry->path));
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
    } catch (const parquet::ParquetStatusException& e) {
      return e.status();
    } catch (const std::exception& e) {
      return Status::IOError(e.what());
    }
  }

  void ReportBadFile(const std::string& path, const Status& st) {
    ++stats_->corrupt_files;
    spdlog::warn("receiver.parquet.file.drop table={} uri={} reason=\"{}\"",
                 TableName(type_), path, st.message());
  }

  // Rows per slice: root slices are a multiple of the batch size (so that chunks
  // rarely straddle slices and need no copy); child slices 64 Ki rows (larger ones
  // measured no faster, with more memory).
  int64_t slice_rows() const {
    if (root_)
      return options_.batch_size * std::max<int64_t>(1, 65536 / options_.batch_size);
    return 65536;
  }

  void EndGroup() {
    slices_.reset();
    recovered_.clear();
    slice_pull_suffix_.clear();
    slice_row_ = 0;
    ++next_;
  }

  // Opens the group for slice reads (the file's reader, only the canonical schema's
  // columns) and, for children, reads the pull key column first for its suffix
  // minima. Then returns the first slice.
  arrow::Result<std::shared_ptr<Piece>> StartGroup(const FileEntry& file,
                                                   const GroupEntry& group) {
    try {
      if (reader_file_ != group.file) {
        reader_.reset();
        ARROW_ASSIGN_OR_RAISE(auto input, OpenInput(file.path));
        // Local files: each column chunk streamed through a 1 MiB buffer (pre-buffering
        // held a whole row group's compressed chunks, ~30 MiB more peak RSS, no
        // faster). Object stores: pre-buffered, i.e. coalesced ranged reads, few
        // requests.
        parquet::ReaderProperties file_properties(options_.pool);
        if (local_) {
          file_properties.enable_buffered_stream();
          file_properties.set_buffer_size(kStreamBufferBytes);
        }
        auto pq = parquet::ParquetFileReader::Open(input, file_properties, file.metadata);
        // One core per reader. Strings are decoded to plain utf8 directly: the
        // canonical schema has no dictionaries, and reading dictionaries then decoding
        // them measured slower (3.0 vs 2.4-2.7 CPU-s for 1 M logs).
        parquet::ArrowReaderProperties properties(/*use_threads=*/false);
        properties.set_pre_buffer(!local_);
        properties.set_batch_size(slice_rows());
        ARROW_ASSIGN_OR_RAISE(reader_, parquet::arrow::FileReader::Make(
                                           options_.pool, std::move(pq), properties));
        reader_file_ = group.file;
        // Only the columns the canonical schema has (upstream's
        // univariate_metrics.dropped_attributes_count and unknown extras are not
        // read).
        leaves_.clear();
        recovered_leaves_.clear();
        pull_field_ = -1;
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
          if (!root_ && name == schema::kParentId && fields[i].is_leaf()) {
            pull_field_ = static_cast<int>(i);
          }
        }
      }
      // Q14 columns of this group, whole (a few bytes per row).
      recovered_.clear();
      for (const auto& [name, leaf] : recovered_leaves_) {
        auto column = ReadLengthPrefixedFixed(
            reader_->parquet_reader()->RowGroup(group.rg).get(), leaf, options_.pool);
        if (!column.ok()) {
          if (!io_log_->first().ok()) return column.status();
          ++stats_->unreadable_columns;
          spdlog::warn(
              "receiver.parquet.column.unreadable table={} uri={} column={} "
              "reason=\"{}\"",
              TableName(type_), file.path, name, column.status().message());
          continue;
        }
        recovered_.emplace_back(arrow::field(name, (*column)->type()), *column);
      }
      slice_pull_suffix_.clear();
      if (pull_field_ >= 0 && group.rows > slice_rows()) {
        std::shared_ptr<arrow::ChunkedArray> keys;
        ARROW_RETURN_NOT_OK(
            reader_->RowGroup(group.rg)->Column(pull_field_)->Read(&keys));
        slice_pull_suffix_.assign(static_cast<size_t>(keys->length()) + 1, kNoKey);
        int64_t row = 0;
        std::vector<uint32_t> values(static_cast<size_t>(keys->length()), kNoKey);
        for (const auto& chunk : keys->chunks()) {
          ARROW_ASSIGN_OR_RAISE(auto wide, arrow::compute::Cast(chunk, arrow::uint32()));
          const auto array = wide.make_array();
          const auto& ids = static_cast<const arrow::UInt32Array&>(*array);
          for (int64_t i = 0; i < ids.length(); ++i, ++row) {
            // Null parent ids never match: they need no pull.
            if (ids.IsValid(i)) values[static_cast<size_t>(row)] = ids.Value(i);
          }
        }
        for (size_t i = values.size(); i-- > 0;) {
          slice_pull_suffix_[i] = std::min(slice_pull_suffix_[i + 1], values[i]);
        }
      }
      ARROW_ASSIGN_OR_RAISE(slices_, reader_->GetRecordBatchReader({group.rg}, leaves_));
      // After a storage failure: skip the rows already emitted (whole slices).
      int64_t skipped = 0;
      while (skipped < skip_rows_) {
        std::shared_ptr<arrow::RecordBatch> discard;
        ARROW_RETURN_NOT_OK(slices_->ReadNext(&discard));
        if (!discard) return Status::IOError("row group ended while resuming");
        skipped += discard->num_rows();
      }
      if (skipped != skip_rows_) return Status::IOError("slice boundary moved");
      if (skip_rows_ == 0) {
        auto rg = file.metadata->RowGroup(group.rg);
        for (int c : leaves_)
          stats_->bytes_read += rg->ColumnChunk(c)->total_compressed_size();
        for (const auto& recovered : recovered_leaves_)
          stats_->bytes_read +=
              rg->ColumnChunk(recovered.second)->total_compressed_size();
        ++stats_->row_groups_read;
      }
    } catch (const parquet::ParquetStatusException& e) {
      return e.status();
    } catch (const std::exception& e) {
      return Status::IOError(e.what());
    }
    slice_row_ = skip_rows_;
    skip_rows_ = 0;
    return ReadSlice(group);
  }

  arrow::Result<std::shared_ptr<Piece>> ReadSlice(const GroupEntry& group) {
    std::shared_ptr<arrow::RecordBatch> raw;
    try {
      ARROW_RETURN_NOT_OK(slices_->ReadNext(&raw));
    } catch (const parquet::ParquetStatusException& e) {
      return e.status();
    } catch (const std::exception& e) {
      return Status::IOError(e.what());
    }
    if (!raw) {
      EndGroup();
      return nullptr;
    }
    const int64_t first_row = slice_row_;
    for (const auto& [field, column] : recovered_) {
      if (first_row + raw->num_rows() > column->length())
        return Status::Invalid(field->name(), ": recovered column too short");
      ARROW_ASSIGN_OR_RAISE(raw,
                            raw->AddColumn(raw->num_columns(), field,
                                           column->Slice(first_row, raw->num_rows())));
    }
    slice_row_ += raw->num_rows();
    if (slice_row_ >= group.rows) EndGroup();
    stats_->rows_per_table[static_cast<size_t>(type_)] += raw->num_rows();
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
        piece->out_of_time[i] = t < range.start_unix_nano || t >= range.end_unix_nano;
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

 public:
  // Whether the last root piece read had upstream (un-offset UInt16) resource ids.
  bool upstream_ids() const { return upstream_ids_; }
  const std::vector<FileEntry>& files() const { return files_; }

 private:
  std::shared_ptr<arrow::fs::FileSystem> fs_;
  PT type_;
  bool root_;
  bool has_children_;
  const ReaderOptions& options_;
  ReaderStats* stats_;
  static constexpr int64_t kStreamBufferBytes = 1 << 20;
  bool local_;  // local files: buffered streams instead of pre-buffering
  std::vector<FileEntry> files_;
  std::vector<GroupEntry> groups_;
  std::vector<uint32_t> suffix_pull_, suffix_id_, suffix_res_, suffix_scope_;
  std::vector<uint32_t> suffix_raw_max_;
  size_t next_ = 0;
  std::unique_ptr<parquet::arrow::FileReader> reader_;
  int reader_file_ = -1;
  std::vector<int> leaves_;  // of reader_file_
  int pull_field_ = -1;      // parent_id field of reader_file_ (children)
  // The row group being read (groups_[next_]) slice by slice.
  std::shared_ptr<arrow::RecordBatchReader> slices_;
  int64_t slice_row_ = 0;                    // rows of it read so far
  std::vector<uint32_t> slice_pull_suffix_;  // minimum pull key from each row on
  bool upstream_ids_ = false;
  // Q14 columns (name, leaf) of reader_file_ and their arrays for the current group.
  std::vector<std::pair<std::string, int>> recovered_leaves_;
  std::vector<std::pair<std::shared_ptr<arrow::Field>, std::shared_ptr<arrow::Array>>>
      recovered_;
  // Storage failures of the files this cursor opens; rows of the current group to
  // skip when it is reopened after one.
  std::shared_ptr<IoFailureLog> io_log_ = std::make_shared<IoFailureLog>();
  int64_t skip_rows_ = 0;
};

// Join keys of one table in the current chunk: id → whether the row is emitted (false:
// dropped by the time filter, so its children are dropped too). Ids of a chunk are
// usually a dense range: Seal() then builds a direct-indexed table, else a hash map.
class KeySet {
 public:
  bool empty() const { return entries_.empty(); }
  uint32_t hi() const { return hi_; }
  void Add(uint32_t key, bool keep) {
    if (key == kNoKey) return;
    entries_.emplace_back(key, keep);
    lo_ = std::min(lo_, key);
    hi_ = std::max(hi_, key);
  }
  void Seal() {
    if (entries_.empty()) return;
    const uint64_t span = static_cast<uint64_t>(hi_) - lo_ + 1;
    dense_ = span <= 4 * entries_.size() + 1024;
    if (dense_) {
      table_.assign(static_cast<size_t>(span), -1);
      for (const auto& [key, keep] : entries_) {
        int8_t& slot = table_[key - lo_];
        slot = static_cast<int8_t>(std::max<int>(slot, keep ? 1 : 0));
      }
    } else {
      map_.reserve(entries_.size());
      for (const auto& [key, keep] : entries_) {
        auto [it, inserted] = map_.emplace(key, keep);
        if (!inserted) it->second = it->second || keep;
      }
    }
  }
  /// -1: not in the set; 0: a filtered parent; 1: an emitted parent. Needs Seal().
  int Lookup(uint32_t key) const {
    if (entries_.empty() || key < lo_ || key > hi_) return -1;
    if (dense_) return table_[key - lo_];
    auto it = map_.find(key);
    return it == map_.end() ? -1 : (it->second ? 1 : 0);
  }

 private:
  std::vector<std::pair<uint32_t, bool>> entries_;
  uint32_t lo_ = kNoKey, hi_ = 0;
  bool dense_ = true;
  std::vector<int8_t> table_;
  std::unordered_map<uint32_t, bool> map_;
};

}  // namespace

// ----------------------------------------------------------------------------------
// One signal of one partition

class DatasetReader::SignalMerge {
 public:
  SignalMerge(std::shared_ptr<arrow::fs::FileSystem> fs, Signal signal,
              [[maybe_unused]] const PartitionPlan& partition,
              const ReaderOptions& options, ReaderStats* stats, ResumePoint resume = {})
      : signal_(signal), options_(options), stats_(stats), resume_(std::move(resume)) {
    root_type_ = RootPayloadType(signal);
    // Other roots (multivariate_metrics, whose OTAP schema is empty) are not read.
    for (PT type : PayloadTypesOf(signal)) {
      if (type == root_type_ || !IsRoot(type)) types_.push_back(type);
    }
    // Metrics filtered by time: a metric is kept when one of its data points is, so
    // the data point tables (and theirs) are merged before the metric's own children.
    filter_points_ = signal == Signal::kMetrics && options_.time_range.has_value();
    if (filter_points_) {
      std::stable_partition(types_.begin(), types_.end(), [this](PT type) {
        return type == root_type_ ||
               (type != PT::kMetricAttrs && type != PT::kResourceAttrs &&
                type != PT::kScopeAttrs);
      });
    }
    for (PT type : types_) {
      bool has_children = false;
      for (PT other : types_) {
        if (other == PT::kResourceAttrs || other == PT::kScopeAttrs) continue;
        if (ParentOf(other, signal) == type) has_children = true;
      }
      auto& state = tables_[static_cast<size_t>(type)];
      state = std::make_unique<TableState>();
      state->cursor =
          std::make_unique<TableCursor>(fs, type, has_children, options_, stats_);
      state->retain = type == PT::kResourceAttrs || type == PT::kScopeAttrs;
    }
  }

  // Reads the footers of every table's files; fails only for a storage failure.
  Status Open(const PartitionPlan& partition) {
    for (PT type : types_) {
      auto& state = tables_[static_cast<size_t>(type)];
      if (type == root_type_ && !resume_.done_files.empty()) {
        // Resume: root files already replayed are not read; their children fall
        // below resume_floor_ and are dropped as filtered.
        std::vector<PlannedFile> files;
        for (const auto& file : partition.FilesOf(type)) {
          if (std::find(resume_.done_files.begin(), resume_.done_files.end(),
                        file.path) == resume_.done_files.end()) {
            files.push_back(file);
          } else {
            ++stats_->resume_skipped_files;
          }
        }
        ARROW_RETURN_NOT_OK(state->cursor->Open(files));
      } else {
        ARROW_RETURN_NOT_OK(state->cursor->Open(partition.FilesOf(type)));
      }
    }
    if (!resume_.done_files.empty() || !resume_.file.empty()) {
      resume_floor_ = tables_[static_cast<size_t>(root_type_)]->cursor->next_id_min();
    }
    return Status::OK();
  }

  // The next chunk; nullopt when the signal's roots are exhausted (orphans counted).
  arrow::Result<std::optional<OtapBatch>> Next() {
    while (true) {
      ARROW_ASSIGN_OR_RAISE(auto chunk, NextChunk());
      if (chunk) return chunk;
      if (roots_done_) {
        Finish();
        return std::nullopt;
      }
    }
  }

  // Overlapping id ranges among the root files opened (their footers, no I/O).
  std::optional<IdCollision> RootIdCollision() const {
    std::vector<RootFooter> footers;
    for (const auto& file : tables_[static_cast<size_t>(root_type_)]->cursor->files()) {
      if (!file.bad && file.metadata)
        footers.push_back({&file.path, file.metadata.get()});
    }
    return FindIdCollision(footers);
  }

  void FillPosition(ReaderPosition* pos) const {
    pos->signal = signal_;
    const auto& root_cursor = *tables_[static_cast<size_t>(root_type_)]->cursor;
    if (root_piece_ && root_pos_ < root_piece_->batch->num_rows()) {
      pos->root_file = root_cursor.files()[static_cast<size_t>(root_piece_->file)].path;
      pos->root_row_in_file = root_piece_->first_row_in_file + root_pos_;
    } else {
      const auto next = root_cursor.Position();
      pos->root_file = next.file;
      pos->root_row_in_file = next.first_row;
    }
    for (PT type : types_)
      pos->tables.push_back(tables_[static_cast<size_t>(type)]->cursor->Position());
  }

 private:
  struct TableState {
    std::unique_ptr<TableCursor> cursor;
    std::deque<std::shared_ptr<Piece>> pending;
    bool retain = false;
    int64_t live_rows = 0;
  };

  // Loads the next root piece (skipping skipped groups); false when exhausted.
  arrow::Result<bool> LoadRootPiece() {
    auto& cursor = *tables_[static_cast<size_t>(root_type_)]->cursor;
    while (!cursor.done()) {
      ARROW_ASSIGN_OR_RAISE(auto piece, cursor.ReadNext());
      if (!piece || piece->batch->num_rows() == 0) continue;
      if (cursor.upstream_ids()) {
        if (options_.upstream_resource_policy == UpstreamResourcePolicy::kInferOffset) {
          ARROW_RETURN_NOT_OK(PullAttrsFor(*piece));
        }
        MapUpstreamKeys(piece.get());
      }
      ComputeRootSuffixMins(piece.get());
      ComputeEventTimes(*piece);
      if (!resume_.file.empty() && resume_file_index_ < 0 &&
          cursor.files()[static_cast<size_t>(piece->file)].path == resume_.file) {
        resume_file_index_ = piece->file;
        resume_row_end_ = resume_.row;
      }
      root_piece_ = std::move(piece);
      root_pos_ = 0;
      return true;
    }
    return false;
  }

  // Buffers the resource/scope attribute rows whose parent ids fall in the root
  // piece's id range (they are needed for this piece's chunks anyway) and collects
  // those parent ids into attr_ids_.
  Status PullAttrsFor(const Piece& piece) {
    attr_ids_.clear();
    uint32_t lo = kNoKey, hi = 0;
    for (uint32_t id : piece.key) {
      if (id == kNoKey) continue;
      lo = std::min(lo, id);
      hi = std::max(hi, id);
    }
    if (lo == kNoKey) return Status::OK();
    for (PT type : {PT::kResourceAttrs, PT::kScopeAttrs}) {
      if (!tables_[static_cast<size_t>(type)]) continue;
      auto& state = *tables_[static_cast<size_t>(type)];
      while (!state.cursor->done() && state.cursor->next_pull_min() <= hi) {
        ARROW_ASSIGN_OR_RAISE(auto attrs, state.cursor->ReadNext());
        if (!attrs || attrs->batch->num_rows() == 0) continue;
        state.live_rows += static_cast<int64_t>(attrs->live.size());
        state.pending.push_back(std::move(attrs));
      }
      for (const auto& attrs : state.pending) {
        for (int32_t row : attrs->live) {
          const uint32_t key = attrs->key[static_cast<size_t>(row)];
          if (key >= lo && key <= hi) attr_ids_.insert(key);
        }
      }
    }
    return Status::OK();
  }

  // Q1 policy (see the header): resource/scope key = run offset C + raw id.
  void MapUpstreamKeys(Piece* piece) {
    const size_t n = piece->key.size();
    // kDrop still separates resources by run (never merges two resources) but joins
    // no attributes.
    const bool drop = options_.upstream_resource_policy == UpstreamResourcePolicy::kDrop;
    // Pass 1: base runs. A run continues from the previous piece unless a boundary
    // shows; per run the largest raw resource / scope id.
    std::vector<int32_t> base_of(n);
    int32_t base = -1;
    bool first_carried = false;
    for (size_t i = 0; i < n; ++i) {
      const uint32_t raw_res = piece->res_key[i];
      const uint32_t id = piece->key[i];
      bool boundary = false;
      if (raw_res != kNoKey && prev_res_ != kNoKey && raw_res < prev_res_) {
        boundary = true;
      }
      // Span and metric ids are consecutive within a batch; log ids may skip logs
      // without attributes, so for logs only a decrease is a boundary.
      if (id != kNoKey && prev_id_ != kNoKey &&
          (root_type_ == PT::kLogs ? id <= prev_id_ : id != prev_id_ + 1)) {
        boundary = true;
      }
      if (base < 0) {
        base = 0;
        first_carried = !boundary && carry_run_;
      } else if (boundary) {
        ++base;
      }
      base_of[i] = base;
      if (raw_res != kNoKey) prev_res_ = raw_res;
      if (id != kNoKey) prev_id_ = id;
    }
    // Rows of the last run may continue in later row groups: their resource/scope ids
    // are bounded by the footer statistics of every row group not read yet.
    const uint32_t later_max =
        tables_[static_cast<size_t>(root_type_)]->cursor->next_raw_max();
    std::vector<uint32_t> max_raw(static_cast<size_t>(base + 1), 0);
    if (base >= 0) max_raw[static_cast<size_t>(base)] = later_max;
    if (first_carried) max_raw[0] = std::max(max_raw[0], carry_max_raw_);
    for (size_t i = 0; i < n; ++i) {
      uint32_t& m = max_raw[static_cast<size_t>(base_of[i])];
      if (piece->res_key[i] != kNoKey) m = std::max(m, piece->res_key[i]);
      if (piece->scope_key[i] != kNoKey) m = std::max(m, piece->scope_key[i]);
    }
    // Pass 2: offsets. A run's offset is its first root id. A later root id that is
    // also a resource/scope attribute parent id, further above the offset than any
    // resource or scope id of the run, can only be the offset of a new batch (whose
    // first resource or scope has attributes): split there. This catches batches
    // the two signs above miss, such as consecutive single-resource batches.
    std::vector<uint32_t> offset_of(n, kNoKey);
    std::vector<size_t> waiting;  // rows of the current run before its first id
    uint32_t offset = first_carried ? carry_offset_ : kNoKey;
    int32_t current = 0;
    auto flush = [&] {
      for (size_t w : waiting) offset_of[w] = offset;
      waiting.clear();
    };
    for (size_t i = 0; i < n; ++i) {
      if (base_of[i] != current) {
        flush();
        current = base_of[i];
        offset = kNoKey;
      }
      const uint32_t id = piece->key[i];
      if (id != kNoKey) {
        if (offset == kNoKey) {
          offset = id;
          flush();
        } else if (id > offset && id - offset > max_raw[static_cast<size_t>(current)] &&
                   attr_ids_.count(id) > 0) {
          offset = id;
          ++stats_->upstream_batch_splits;
        }
      }
      if (offset == kNoKey) {
        waiting.push_back(i);
      } else {
        offset_of[i] = offset;
      }
    }
    flush();
    carry_run_ = base >= 0;
    carry_offset_ = offset;
    carry_max_raw_ = base >= 0 ? max_raw[static_cast<size_t>(current)] : 0;
    // Pass 2: keys.
    for (size_t i = 0; i < n; ++i) {
      const uint32_t offset = offset_of[i];
      for (auto* keys : {&piece->res_key, &piece->scope_key}) {
        uint32_t& key = (*keys)[i];
        if (key == kNoKey) continue;
        if (drop || offset == kNoKey ||
            static_cast<uint64_t>(offset) + key >= kUnresolvedKeyBase) {
          // Distinct per run (mod 2^16), so that unresolved resources of different
          // batches in one chunk are not merged into one.
          const uint32_t run = unresolved_seq_ + static_cast<uint32_t>(base_of[i]);
          key = kUnresolvedKeyBase + ((run * 64 + std::min<uint32_t>(key, 63)) & 0xFFFF);
          if (!drop && keys == &piece->res_key) ++stats_->unresolved_resource_rows;
        } else {
          key += offset;
        }
      }
    }
    unresolved_seq_ += static_cast<uint32_t>(base + 1);
  }

  static void SuffixMin(const std::vector<uint32_t>& keys, std::vector<uint32_t>* out) {
    out->assign(keys.size() + 1, kNoKey);
    for (size_t i = keys.size(); i-- > 0;) {
      uint32_t k = keys[i];
      if (k >= kUnresolvedKeyBase) k = kNoKey;
      (*out)[i] = std::min((*out)[i + 1], k);
    }
  }

  void ComputeRootSuffixMins(Piece* piece) {
    SuffixMin(piece->key, &piece->suffix_id_min);
    SuffixMin(piece->res_key, &piece->suffix_res_min);
    SuffixMin(piece->scope_key, &piece->suffix_scope_min);
  }

  void ComputeEventTimes(const Piece& piece) {
    event_times_.clear();
    const char* column = TimeColumnOf(root_type_);
    if (!options_.time_range || !column) return;
    auto times = piece.batch->GetColumnByName(column);
    auto observed = root_type_ == PT::kLogs
                        ? piece.batch->GetColumnByName(schema::kObservedTimeUnixNano)
                        : nullptr;
    event_times_.assign(static_cast<size_t>(piece.batch->num_rows()), 0);
    auto value = [](const std::shared_ptr<arrow::Array>& a, int64_t i) -> int64_t {
      if (!a || a->IsNull(i)) return 0;
      return static_cast<const arrow::TimestampArray&>(*a).Value(i);
    };
    for (int64_t i = 0; i < piece.batch->num_rows(); ++i) {
      int64_t t = value(times, i);
      if (t == 0 && observed) t = value(observed, i);
      event_times_[static_cast<size_t>(i)] = t;
    }
  }

  bool RootKept(int64_t row) const {
    if (resume_row_end_ > 0 && root_piece_->first_row_in_file + row < resume_row_end_ &&
        root_piece_->file == resume_file_index_) {
      return false;  // replayed before the resume point
    }
    if (event_times_.empty()) return true;
    const int64_t t = event_times_[static_cast<size_t>(row)];
    return t >= options_.time_range->start_unix_nano &&
           t < options_.time_range->end_unix_nano;
  }

  arrow::Result<std::optional<OtapBatch>> NextChunk() {
    auto& root_state = *tables_[static_cast<size_t>(root_type_)];
    // 1. Roots.
    std::vector<std::pair<std::shared_ptr<Piece>, std::vector<int32_t>>> root_rows;
    std::array<KeySet, kPayloadTypeSlots> sets;
    KeySet res_set, scope_set;
    int64_t kept = 0;
    while (kept < options_.batch_size) {
      if (!root_piece_ || root_pos_ >= root_piece_->batch->num_rows()) {
        ARROW_ASSIGN_OR_RAISE(bool loaded, LoadRootPiece());
        if (!loaded) {
          root_piece_.reset();
          roots_done_ = true;
          break;
        }
      }
      if (root_rows.empty() || root_rows.back().first != root_piece_) {
        root_rows.emplace_back(root_piece_, std::vector<int32_t>{});
      }
      auto& rows = root_rows.back().second;
      const int64_t end = root_piece_->batch->num_rows();
      for (; root_pos_ < end && kept < options_.batch_size; ++root_pos_) {
        const size_t i = static_cast<size_t>(root_pos_);
        const bool keep = RootKept(root_pos_);
        sets[static_cast<size_t>(root_type_)].Add(root_piece_->key[i], keep);
        if (!keep) {
          ++stats_->filtered_rows;
          continue;
        }
        rows.push_back(static_cast<int32_t>(i));
        ++kept;
        if (root_piece_->res_key[i] < kUnresolvedKeyBase)
          res_set.Add(root_piece_->res_key[i], true);
        if (root_piece_->scope_key[i] < kUnresolvedKeyBase) {
          scope_set.Add(root_piece_->scope_key[i], true);
        }
      }
    }
    sets[static_cast<size_t>(root_type_)].Seal();
    res_set.Seal();
    scope_set.Seal();
    // Floors: the smallest key any later chunk can still hold.
    std::array<uint32_t, kPayloadTypeSlots> floor;
    floor.fill(kNoKey);
    const bool upstream = root_state.cursor->upstream_ids();
    // Upstream statistics of resource.id / scope.id are un-offset (Q1): useless here.
    uint32_t res_floor = upstream ? kNoKey : root_state.cursor->next_res_min();
    uint32_t scope_floor = upstream ? kNoKey : root_state.cursor->next_scope_min();
    {
      uint32_t f = root_state.cursor->next_id_min();
      if (root_piece_) {
        const size_t p = static_cast<size_t>(root_pos_);
        f = std::min(f, root_piece_->suffix_id_min[p]);
        res_floor = std::min(res_floor, root_piece_->suffix_res_min[p]);
        scope_floor = std::min(scope_floor, root_piece_->suffix_scope_min[p]);
      }
      if (upstream) {
        // Later upstream keys are C + raw id with C ≥ the carried run's offset (rows
        // continuing that run) or C = a later root id (new runs).
        const uint32_t c = carry_run_ ? carry_offset_ : kNoKey;
        const uint32_t later = std::min(c, root_state.cursor->next_id_min());
        res_floor = std::min(res_floor, later);
        scope_floor = std::min(scope_floor, later);
      }
      floor[static_cast<size_t>(root_type_)] = f;
    }
    // Rows held for later chunks: the rest of the current root row group plus every
    // buffered child row.
    int64_t buffered = root_piece_ ? root_piece_->batch->num_rows() - root_pos_ : 0;

    // 2. Children, parents first.
    OtapBatch out(signal_);
    std::unordered_set<uint32_t> roots_with_points;
    bool roots_final = !filter_points_;
    for (PT type : types_) {
      if (type == root_type_) continue;
      if (!roots_final && (type == PT::kMetricAttrs || type == PT::kResourceAttrs ||
                           type == PT::kScopeAttrs)) {
        // Every data point of this chunk's metrics is classified: drop the metrics
        // none of whose points is in the time range.
        roots_final = true;
        KeySet root_set;
        res_set = KeySet();
        scope_set = KeySet();
        kept = 0;
        for (auto& [piece, rows] : root_rows) {
          std::vector<int32_t> still;
          for (int32_t row : rows) {
            const size_t i = static_cast<size_t>(row);
            const uint32_t key = piece->key[i];
            const bool keep = key != kNoKey && roots_with_points.count(key) > 0;
            root_set.Add(key, keep);
            if (!keep) {
              ++stats_->filtered_rows;
              continue;
            }
            still.push_back(row);
            ++kept;
            if (piece->res_key[i] < kUnresolvedKeyBase)
              res_set.Add(piece->res_key[i], true);
            if (piece->scope_key[i] < kUnresolvedKeyBase)
              scope_set.Add(piece->scope_key[i], true);
          }
          rows = std::move(still);
        }
        root_set.Seal();
        res_set.Seal();
        scope_set.Seal();
        sets[static_cast<size_t>(root_type_)] = std::move(root_set);
      }
      auto& state = *tables_[static_cast<size_t>(type)];
      const KeySet* parent_set;
      uint32_t parent_floor;
      if (type == PT::kResourceAttrs) {
        parent_set = &res_set;
        parent_floor = res_floor;
      } else if (type == PT::kScopeAttrs) {
        parent_set = &scope_set;
        parent_floor = scope_floor;
      } else {
        const PT parent = *ParentOf(type, signal_);
        parent_set = &sets[static_cast<size_t>(parent)];
        parent_floor = floor[static_cast<size_t>(parent)];
      }
      // Pull row groups that may hold children of this chunk's parents.
      if (!parent_set->empty()) {
        while (!state.cursor->done() &&
               state.cursor->next_pull_min() <= parent_set->hi()) {
          ARROW_ASSIGN_OR_RAISE(auto piece, state.cursor->ReadNext());
          if (!piece || piece->batch->num_rows() == 0) continue;
          state.live_rows += static_cast<int64_t>(piece->live.size());
          state.pending.push_back(std::move(piece));
        }
      }
      // Classify buffered rows.
      KeySet& own_set = sets[static_cast<size_t>(type)];
      std::vector<std::shared_ptr<arrow::RecordBatch>> parts;
      uint32_t own_floor = state.cursor->next_id_min();
      for (auto& piece : state.pending) {
        if (piece->summary_valid && piece->min_live_key >= parent_floor &&
            (parent_set->empty() || piece->min_live_key > parent_set->hi())) {
          // Every row of the piece waits for a later chunk.
          own_floor = std::min(own_floor, piece->min_live_id);
          continue;
        }
        std::vector<int32_t> out_rows, still;
        for (int32_t row : piece->live) {
          const size_t r = static_cast<size_t>(row);
          const uint32_t key = piece->key[r];
          if (key != kNoKey && key >= parent_floor &&
              (parent_set->empty() || key > parent_set->hi())) {
            // Fast path for rows waiting for a later chunk (no hash lookup).
            still.push_back(row);
            if (!piece->id.empty()) own_floor = std::min(own_floor, piece->id[r]);
            continue;
          }
          int match = key == kNoKey ? -1 : parent_set->Lookup(key);
          if (match == 1 && !piece->out_of_time.empty()) {
            if (piece->out_of_time[r]) {
              match = 0;
            } else {
              roots_with_points.insert(key);
            }
          }
          if (match >= 0) {
            if (match == 1) {
              out_rows.push_back(row);
            } else if (!state.retain) {
              ++stats_->filtered_rows;
            }
            if (!piece->id.empty()) own_set.Add(piece->id[r], match == 1);
            if (state.retain) {
              piece->used[r] = 1;
              still.push_back(row);
            }
            continue;
          }
          if (key == kNoKey || key < parent_floor) {
            CountDropped(state, *piece, r);
            continue;
          }
          still.push_back(row);
          if (!piece->id.empty()) own_floor = std::min(own_floor, piece->id[r]);
        }
        if (!out_rows.empty()) {
          ARROW_ASSIGN_OR_RAISE(auto part,
                                TakeRows(piece->batch, out_rows, options_.pool));
          parts.push_back(std::move(part));
        }
        state.live_rows -= static_cast<int64_t>(piece->live.size() - still.size());
        piece->live = std::move(still);
        piece->min_live_key = kNoKey;
        piece->min_live_id = kNoKey;
        for (int32_t row : piece->live) {
          const size_t r = static_cast<size_t>(row);
          piece->min_live_key = std::min(piece->min_live_key, piece->key[r]);
          if (!piece->id.empty())
            piece->min_live_id = std::min(piece->min_live_id, piece->id[r]);
        }
        piece->summary_valid = true;
      }
      floor[static_cast<size_t>(type)] = own_floor;
      own_set.Seal();
      ARROW_RETURN_NOT_OK(Compact(&state));
      buffered += state.live_rows;
      if (!parts.empty() && kept > 0) {
        ARROW_ASSIGN_OR_RAISE(auto batch, ConcatBatches(parts, options_.pool));
        out.Set(type, std::move(batch));
      }
    }
    stats_->peak_buffered_rows = std::max(stats_->peak_buffered_rows, buffered);
    if (kept == 0) return std::nullopt;

    // 3. Root batch with resolved resource/scope keys.
    std::vector<std::shared_ptr<arrow::RecordBatch>> parts;
    std::vector<uint32_t> res_keys, scope_keys;
    for (const auto& [piece, rows] : root_rows) {
      if (rows.empty()) continue;
      ARROW_ASSIGN_OR_RAISE(auto part, TakeRows(piece->batch, rows, options_.pool));
      parts.push_back(std::move(part));
      for (int32_t row : rows) {
        res_keys.push_back(piece->res_key[static_cast<size_t>(row)]);
        scope_keys.push_back(piece->scope_key[static_cast<size_t>(row)]);
      }
    }
    ARROW_ASSIGN_OR_RAISE(auto root, ConcatBatches(parts, options_.pool));
    ARROW_ASSIGN_OR_RAISE(root,
                          ReplaceStructId(std::move(root), schema::kResource, res_keys));
    ARROW_ASSIGN_OR_RAISE(root,
                          ReplaceStructId(std::move(root), schema::kScope, scope_keys));
    out.Set(root_type_, std::move(root));
    RemapStats remap_stats;
    ARROW_ASSIGN_OR_RAISE(auto dense, RemapIdsDense(out, &remap_stats));
    stats_->orphan_rows += remap_stats.orphan_rows;
    ++stats_->batches_emitted;
    stats_->roots_emitted += kept;
    return dense;
  }

  void CountDropped(const TableState& state, const Piece& piece, size_t row) {
    if (state.retain) {
      if (!piece.used[row]) ++stats_->unreferenced_attr_rows;
    } else if (options_.time_range || piece.key[row] < resume_floor_) {
      ++stats_->filtered_rows;
    } else {
      ++stats_->orphan_rows;
    }
  }

  // Frees pieces without live rows and rewrites mostly-dead ones.
  Status Compact(TableState* state) {
    while (!state->pending.empty() && state->pending.front()->live.empty()) {
      state->pending.pop_front();
    }
    for (auto& piece : state->pending) {
      const size_t n = static_cast<size_t>(piece->batch->num_rows());
      if (piece->live.empty() || n < 1024 || piece->live.size() * 2 > n) continue;
      auto fresh = std::make_shared<Piece>();
      ARROW_ASSIGN_OR_RAISE(fresh->batch,
                            TakeRows(piece->batch, piece->live, options_.pool));
      for (size_t i = 0; i < piece->live.size(); ++i) {
        const size_t r = static_cast<size_t>(piece->live[i]);
        fresh->key.push_back(piece->key[r]);
        if (!piece->id.empty()) fresh->id.push_back(piece->id[r]);
        fresh->used.push_back(piece->used[r]);
        if (!piece->out_of_time.empty())
          fresh->out_of_time.push_back(piece->out_of_time[r]);
        fresh->live.push_back(static_cast<int32_t>(i));
      }
      piece = std::move(fresh);
    }
    state->pending.erase(
        std::remove_if(state->pending.begin(), state->pending.end(),
                       [](const std::shared_ptr<Piece>& p) { return p->live.empty(); }),
        state->pending.end());
    return Status::OK();
  }

  // End of the signal in this partition: whatever is still buffered or unread never
  // found a parent.
  void Finish() {
    for (PT type : types_) {
      if (type == root_type_) continue;
      auto& state = *tables_[static_cast<size_t>(type)];
      for (const auto& piece : state.pending) {
        for (int32_t row : piece->live)
          CountDropped(state, *piece, static_cast<size_t>(row));
      }
      state.pending.clear();
      state.live_rows = 0;
      const int64_t unread = state.cursor->RemainingRows();
      if (state.retain) {
        stats_->unreferenced_attr_rows += unread;
      } else if (options_.time_range) {
        stats_->filtered_rows += unread;
      } else {
        stats_->orphan_rows += unread;
      }
    }
  }

  Signal signal_;
  const ReaderOptions& options_;
  ReaderStats* stats_;
  PT root_type_;
  std::vector<PT> types_;
  std::array<std::unique_ptr<TableState>, kPayloadTypeSlots> tables_;
  std::shared_ptr<Piece> root_piece_;
  int64_t root_pos_ = 0;
  bool roots_done_ = false;
  std::vector<int64_t> event_times_;
  bool filter_points_ = false;  // metrics with a time_range
  // Upstream run state (MapUpstreamKeys).
  uint32_t prev_res_ = kNoKey;
  uint32_t prev_id_ = kNoKey;
  bool carry_run_ = false;
  uint32_t carry_offset_ = kNoKey;
  uint32_t carry_max_raw_ = 0;
  uint32_t unresolved_seq_ = 0;
  // Resource/scope attribute parent ids within the current upstream root piece's id
  // range (PullAttrsFor).
  std::unordered_set<uint32_t> attr_ids_;
  // Resume (ResumePoint): rows of the in-progress root file before resume_row_end_
  // are not emitted; dropped children with a key below resume_floor_ (the smallest
  // root id still to be read when the merge opened) belong to replayed roots.
  ResumePoint resume_;
  int resume_file_index_ = -1;
  int64_t resume_row_end_ = 0;
  uint32_t resume_floor_ = 0;
};

// ----------------------------------------------------------------------------------
// DatasetReader

Status ReaderOptions::Validate() const {
  if (signals.empty()) return Status::Invalid("reader: no signals requested");
  if (batch_size < 1 || batch_size > 65535) {
    return Status::Invalid("reader: batch_size must be in 1..65535, got ", batch_size);
  }
  if (io_attempts < 1) {
    return Status::Invalid("reader: io_attempts must be >= 1, got ", io_attempts);
  }
  if (io_retry_backoff.count() < 0) {
    return Status::Invalid("reader: io_retry_backoff must be >= 0");
  }
  if (min_file_age.count() < 0) {
    return Status::Invalid("reader: min_file_age must be >= 0, got ",
                           min_file_age.count(), " ms");
  }
  if (time_range && time_range->start_unix_nano >= time_range->end_unix_nano) {
    return Status::Invalid("reader: empty time_range [", time_range->start_unix_nano,
                           ", ", time_range->end_unix_nano, ")");
  }
  return Status::OK();
}

DatasetReader::DatasetReader(std::shared_ptr<arrow::fs::FileSystem> fs, std::string base,
                             ReaderOptions options, DatasetPlan plan)
    : fs_(std::move(fs)),
      base_(std::move(base)),
      options_(std::move(options)),
      plan_(std::move(plan)) {}

DatasetReader::~DatasetReader() = default;

arrow::Result<std::unique_ptr<DatasetReader>> DatasetReader::Make(
    std::shared_ptr<arrow::fs::FileSystem> fs, std::string base, ReaderOptions options) {
  ARROW_RETURN_NOT_OK(options.Validate());
  ARROW_RETURN_NOT_OK(EnsureComputeInitialized());
  if (options.pool == nullptr) options.pool = util::DataMemoryPool();
  DiscoveryOptions discovery;
  discovery.signals = options.signals;
  discovery.min_file_age = options.min_file_age;
  ARROW_ASSIGN_OR_RAISE(auto plan, Discover(fs, base, discovery));
  if (options.partition_filter) {
    auto& partitions = plan.partitions;
    partitions.erase(std::remove_if(partitions.begin(), partitions.end(),
                                    [&](const PartitionPlan& partition) {
                                      return !options.partition_filter(partition);
                                    }),
                     partitions.end());
  }
  if (options.plan_hook) ARROW_RETURN_NOT_OK(options.plan_hook(&plan));
  return std::unique_ptr<DatasetReader>(new DatasetReader(
      std::move(fs), std::move(base), std::move(options), std::move(plan)));
}

arrow::Result<std::optional<OtapBatch>> DatasetReader::Next() {
  while (true) {
    if (merge_) {
      ARROW_ASSIGN_OR_RAISE(auto batch, merge_->Next());
      if (batch) return batch;
      merge_.reset();
      ++signal_index_;
    }
    // Next (partition, signal) with root files.
    if (partition_index_ >= 0 &&
        static_cast<size_t>(partition_index_) < plan_.partitions.size()) {
      const auto& partition = plan_.partitions[static_cast<size_t>(partition_index_)];
      while (signal_index_ < options_.signals.size()) {
        const Signal signal = options_.signals[signal_index_];
        if (std::find(partition.signals.begin(), partition.signals.end(), signal) !=
            partition.signals.end()) {
          break;
        }
        ++signal_index_;
      }
      if (signal_index_ < options_.signals.size()) {
        ResumePoint resume;
        if (options_.resume) {
          resume = options_.resume(partition, options_.signals[signal_index_]);
        }
        if (resume.skip) {
          stats_.resume_skipped_files += static_cast<int64_t>(
              partition.FilesOf(RootPayloadType(options_.signals[signal_index_])).size());
          ++signal_index_;
          continue;
        }
        auto merge =
            std::make_unique<SignalMerge>(fs_, options_.signals[signal_index_], partition,
                                          options_, &stats_, std::move(resume));
        ARROW_RETURN_NOT_OK(merge->Open(partition));
        if (auto collision = merge->RootIdCollision()) {
          // Never attach another writer's rows: the signal's records of this id
          // space are not replayed at all.
          ++stats_.id_collisions;
          spdlog::error(
              "receiver.parquet.partition.id_collision partition={} signal={} "
              "files=\"{}\" (two writers numbered ids in one id space; not replayed)",
              partition.path.empty() ? "(unpartitioned)" : partition.path,
              SignalName(options_.signals[signal_index_]), collision->ToString());
          ++signal_index_;
          continue;
        }
        merge_ = std::move(merge);
        continue;
      }
    }
    ++partition_index_;
    signal_index_ = 0;
    if (static_cast<size_t>(partition_index_) >= plan_.partitions.size()) {
      partition_index_ = static_cast<int>(plan_.partitions.size());
      return std::nullopt;
    }
    ++stats_.partitions;
    spdlog::debug("receiver.parquet.partition.start path={}",
                  plan_.partitions[static_cast<size_t>(partition_index_)].path);
  }
}

ReaderPosition DatasetReader::position() const {
  ReaderPosition pos;
  pos.partition_index = partition_index_;
  if (partition_index_ >= 0 &&
      static_cast<size_t>(partition_index_) < plan_.partitions.size()) {
    pos.partition_path = plan_.partitions[static_cast<size_t>(partition_index_)].path;
  }
  if (merge_) merge_->FillPosition(&pos);
  return pos;
}

}  // namespace otap_parquet::dataset
