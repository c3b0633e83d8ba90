// SPDX-License-Identifier: Apache-2.0
#pragma once

/// \file
/// Internal to the replay reader: the cursor over one table's files (row groups in
/// order, each read in slices), with the footer statistics that tell the merge how
/// far to read (docs/datasets.md, "How the reader merges").

#include <algorithm>
#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include <arrow/filesystem/filesystem.h>
#include <arrow/io/interfaces.h>
#include <arrow/record_batch.h>
#include <arrow/result.h>
#include <arrow/status.h>
#include <parquet/arrow/reader.h>
#include <parquet/metadata.h>

#include "otap_parquet/dataset/dataset_reader.h"
#include "otap_parquet/dataset/read_errors.h"
#include "otap_parquet/dataset/table_piece.h"

namespace otap_parquet::dataset::internal {

/// \brief Event time column of a table for ReaderOptions::time_range (nullptr: not
/// filtered): the roots of logs and traces, the data points of metrics.
const char* TimeColumnOf(PayloadType type);

/// \brief One file of a table, as its footer describes it.
struct FileEntry {
  std::string path;
  int64_t size = -1;  ///< bytes as listed (-1 unknown): opened without a HEAD request
  std::shared_ptr<parquet::FileMetaData> metadata;
  bool bad = false;  ///< skipped from now on (corrupt, incompatible)
  /// Leaves read by ReadLengthPrefixedFixed (Q14) and leaves read as nulls (why).
  std::vector<int> prefixed_leaves;
  std::vector<int> unreadable_leaves;
  std::string unreadable_reason;
};

/// \brief One row group of a table, with the footer statistics the merge needs.
struct GroupEntry {
  int file = 0;  ///< into TableCursor::files()
  int rg = 0;
  int64_t rows = 0;
  int64_t first_row_in_file = 0;
  /// Minimum pull key (parent_id; roots: id), id, resource / scope key.
  uint32_t pull_min = 0, id_min = 0, res_min = 0, scope_min = 0;
  uint32_t raw_max = 0;  ///< largest resource.id / scope.id (upstream Q1 policy)
  /// Largest pull key (kNoKey: unknown); children only.
  uint32_t pull_max = kNoKey;
  /// Largest id (kNoKey: unknown); roots and tables with children only.
  uint32_t id_max = kNoKey;
  /// Resume: holds only rows replayed before (SkipConsumed); not read.
  bool consumed = false;
  std::optional<std::pair<int64_t, int64_t>> time;  ///< event time (min, max)
};

/// \brief Resume (TableCursor::SkipConsumed): a group to skip (`skip`) whose ids
/// reach `floor` (the smallest id of the groups still read) is read after all and
/// lowers the floor to its own smallest id, until no skipped group reaches it. Largest
/// id_max first, O(groups log groups).
void KeepSkipsBelowFloor(const std::vector<GroupEntry>& groups, uint32_t floor,
                         std::vector<bool>* skip);

/// \brief Walks one table of one (partition, signal): its files in name order, their
/// row groups in order, each row group in slices of slice_rows() rows. Knows from the
/// footers the minimum keys of everything not read yet (next_*_min()), so that the
/// merge reads only what the current chunk may need. Bad files are logged, counted
/// and skipped; storage failures are retried (ReaderOptions::io_attempts), then
/// returned as retryable errors. Not thread-safe.
class TableCursor {
 public:
  /// \param has_children the table's `id` is a parent key (read its statistics)
  /// \param options, stats must outlive the cursor
  TableCursor(std::shared_ptr<arrow::fs::FileSystem> fs, PayloadType type,
              bool has_children, const ReaderOptions& options, ReaderStats* stats);

  /// \brief Reads the footers of `files`; unreadable or incompatible ones are logged,
  /// counted and skipped. Fails only for a storage failure that outlasted the retries.
  arrow::Status Open(const std::vector<PlannedFile>& files);

  PayloadType type() const { return type_; }

  /// \brief Resume: the row groups `consumed` says hold only rows replayed before
  /// are not read (counted as resume_skipped_row_groups, their rows as filtered);
  /// next_*_min() then bound the other groups only. A table whose ids are parent keys
  /// skips such a group only when all its ids lie below next_id_min() (of the groups
  /// still read): every id at or above that floor is then read, so the merge can
  /// tell a child of a replayed row (below) from an orphan. After Open(), before any
  /// read.
  /// \return the groups skipped
  int64_t SkipConsumed(
      const std::function<bool(const FileEntry&, const GroupEntry&)>& consumed);

  /// \brief Whether every row group was read (or skipped).
  bool done() const { return next_ >= groups_.size(); }

  /// \brief Minimum pull key (children: parent_id; roots: id) of the rows not read
  /// yet. While a row group is read slice by slice, the statistics of the whole group
  /// bound its unread rest; children know the exact minimum of the rest of their
  /// pull key (read first), so they pull no slice before it is needed.
  uint32_t next_pull_min() const {
    if (!slices_ || slice_pull_suffix_.empty()) return suffix_pull_[next_];
    // Slices start at multiples of slice_rows(); the minimum from the slice that
    // holds slice_row_ on bounds the rest (it may include rows read already).
    const auto slice = static_cast<size_t>(slice_row_ / slice_rows());
    return std::min(slice_pull_suffix_[std::min(slice, slice_pull_suffix_.size() - 1)],
                    suffix_pull_[next_ + 1]);
  }
  /// \brief Minimum id / resource key / scope key of the row groups not read yet.
  uint32_t next_id_min() const { return suffix_id_[next_]; }
  uint32_t next_res_min() const { return suffix_res_[next_]; }
  uint32_t next_scope_min() const { return suffix_scope_[next_]; }
  /// \brief Largest raw resource.id / scope.id in the row groups not read yet.
  uint32_t next_raw_max() const { return suffix_raw_max_[next_]; }

  /// \brief Rows of the row groups not read yet (of good files).
  int64_t RemainingRows() const;

  /// \brief The read frontier (ReaderPosition).
  ReaderPosition::TableCursorPosition Position() const;

  /// \brief Reads the next slice (at most slice_rows() rows, or `max_rows` when
  /// positive) of the current row group; nullptr when the group was skipped (time
  /// filter, bad file). Never fails for bad data; fails for a storage failure that
  /// outlasted the retries.
  arrow::Result<std::shared_ptr<Piece>> ReadNext(int64_t max_rows = 0);

  /// \brief Whether the last root piece read had upstream (un-offset UInt16) resource
  /// ids (Q1).
  bool upstream_ids() const { return upstream_ids_; }
  const std::vector<FileEntry>& files() const { return files_; }
  /// \brief Rows per slice: root slices are a multiple of the batch size (so that
  /// chunks rarely straddle slices and need no copy); child slices 64 Ki rows (larger
  /// ones measured no faster, with more memory).
  int64_t slice_rows() const;

 private:
  void AddGroups(FileEntry entry);
  void ComputeSuffixes();
  arrow::Result<std::shared_ptr<arrow::io::RandomAccessFile>> OpenInput(
      const FileEntry& file);
  bool Vanished(const std::string& path);
  bool IsStorageFailure(const std::string& path);
  arrow::Status RetryOrFail(const std::string& path, int attempt);
  arrow::Result<bool> IsolateBadColumns(FileEntry* file, const GroupEntry& group);
  static arrow::Status CheckRowGroups(const std::string& path,
                                      const parquet::FileMetaData& md);
  arrow::Status ReadFooter(FileEntry* entry);
  void ReportBadFile(const std::string& path, const arrow::Status& st);
  bool SkippedByTime(const GroupEntry& group);
  void EndGroup();
  arrow::Result<std::shared_ptr<Piece>> StartGroup(const FileEntry& file,
                                                   const GroupEntry& group);
  arrow::Status OpenFileReader(const FileEntry& file, int file_index);
  arrow::Status ReadRecoveredColumns(const FileEntry& file, const GroupEntry& group);
  arrow::Status ReadPullKeySuffix(const GroupEntry& group);
  arrow::Status SkipEmittedSlices();
  void CountGroupRead(const FileEntry& file, const GroupEntry& group);
  arrow::Result<std::shared_ptr<Piece>> ReadSlice(const GroupEntry& group);
  arrow::Result<std::shared_ptr<Piece>> MakePiece(std::shared_ptr<arrow::RecordBatch> raw,
                                                  const GroupEntry& group,
                                                  int64_t first_row);

  std::shared_ptr<arrow::fs::FileSystem> fs_;
  PayloadType type_;
  bool root_;
  bool has_children_;
  const ReaderOptions& options_;
  ReaderStats* stats_;
  static constexpr int64_t kStreamBufferBytes = 1 << 18;
  bool local_;  // local files: buffered streams instead of pre-buffering
  std::vector<FileEntry> files_;
  std::vector<GroupEntry> groups_;
  // Minima (raw_max: maxima) over groups_[i..]; size groups_ + 1.
  std::vector<uint32_t> suffix_pull_, suffix_id_, suffix_res_, suffix_scope_;
  std::vector<uint32_t> suffix_raw_max_;
  size_t next_ = 0;
  std::unique_ptr<parquet::arrow::FileReader> reader_;
  int reader_file_ = -1;
  std::vector<int> leaves_;  // of reader_file_
  int pull_leaf_ = -1;       // parent_id leaf of reader_file_ (children)
  // The row group being read (groups_[next_]) slice by slice.
  std::shared_ptr<arrow::RecordBatchReader> slices_;
  int64_t slice_row_ = 0;        // rows of it read so far
  int64_t next_slice_rows_ = 0;  // rows of the slice being read (ReadNext)
  // Minimum pull key from each slice of the group on (size slices + 1).
  std::vector<uint32_t> slice_pull_suffix_;
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

}  // namespace otap_parquet::dataset::internal
