// SPDX-License-Identifier: Apache-2.0
#pragma once

/// \file
/// Internal to the replay reader: Arrow column helpers of the merge (join keys out of
/// id columns, resource/scope ids out of and back into their structs, row selection).

#include <cstdint>
#include <memory>
#include <vector>

#include <arrow/memory_pool.h>
#include <arrow/record_batch.h>
#include <arrow/result.h>

namespace otap_parquet::dataset::internal {

/// \brief `rows` of `batch` (ascending or not): a zero-copy slice when they are one
/// run of consecutive rows (sorted files), else an Arrow Take.
arrow::Result<std::shared_ptr<arrow::RecordBatch>> TakeRows(
    const std::shared_ptr<arrow::RecordBatch>& batch, const std::vector<int32_t>& rows,
    arrow::MemoryPool* pool);

/// \brief Concatenates batches of one schema (one batch: returned as is).
arrow::Result<std::shared_ptr<arrow::RecordBatch>> ConcatBatches(
    const std::vector<std::shared_ptr<arrow::RecordBatch>>& batches,
    arrow::MemoryPool* pool);

/// \brief Gathers the parts (row slices) of one table that one output chunk emits
/// into one batch. A single part is returned as it is (zero copy). From the second
/// part on, each part is copied into the output as it is added, so that the caller
/// can free the slice it came from before reading the next one: the chunk's rows are
/// then held once (the output) plus the slices being read, not twice (every source
/// slice, then their concatenation). Columns of fixed width and (large) binary ones
/// are copied by buffer; a schema with other columns (lists, structs) keeps every
/// part and concatenates them at the end.
class PartCollector {
 public:
  /// \param hint sizes of the previous output of the same table (capacity to
  /// reserve, so that the output rarely grows by reallocation); updated by Finish()
  /// when the parts were copied (copied())
  /// \param scale the expected output relative to the hint (the replay: this chunk's
  /// roots over the previous one's, so that a full chunk after a short one does not
  /// grow its columns by reallocation, holding old and new buffers at once)
  PartCollector(arrow::MemoryPool* pool, std::vector<int64_t>* hint, double scale = 1.0);
  ~PartCollector();

  arrow::Status Add(std::shared_ptr<arrow::RecordBatch> part);
  /// \brief The gathered rows; nullptr when no part was added.
  arrow::Result<std::shared_ptr<arrow::RecordBatch>> Finish();

  /// \brief Whether every column of `schema` is copied by buffer.
  static bool Copyable(const arrow::Schema& schema);

  /// \brief Whether the parts were copied (Finish() then updated the hint).
  bool copied() const { return copying_; }

 private:
  struct Column;
  arrow::Status StartCopying();
  arrow::Status Copy(const arrow::RecordBatch& part);

  arrow::MemoryPool* pool_;
  std::vector<int64_t>* hint_;
  double scale_;
  std::vector<std::shared_ptr<arrow::RecordBatch>> parts_;  // not copied (yet)
  std::shared_ptr<arrow::Schema> schema_;
  std::vector<Column> columns_;
  bool copying_ = false;
  int64_t rows_ = 0;
};

/// \brief Values of UInt32 (wide id) column `name`, kNoKey for nulls; all kNoKey when
/// the column is absent or not UInt32.
std::vector<uint32_t> KeysOf(const arrow::RecordBatch& batch, const char* name);

/// \brief The `id` child of a resource / scope struct column, as join keys.
struct StructIdColumn {
  std::vector<uint32_t> keys;  ///< kNoKey for null children or null structs
  bool present = false;        ///< the struct has an `id` child
  /// UInt32 (our offset form) rather than upstream's un-offset UInt16 (Q1).
  bool wide = false;
};

/// \brief Removes child `id` of struct column `struct_name` from a raw (not yet
/// normalized) batch and returns its values cast to UInt32.
arrow::Result<StructIdColumn> ExtractStructId(std::shared_ptr<arrow::RecordBatch>* batch,
                                              const char* struct_name);

/// \brief Replaces struct child `id` of column `struct_name` by `keys` (UInt32, kNoKey
/// = null). The batch is returned as is when it has no such column or child.
arrow::Result<std::shared_ptr<arrow::RecordBatch>> ReplaceStructId(
    std::shared_ptr<arrow::RecordBatch> batch, const char* struct_name,
    const std::vector<uint32_t>& keys);

}  // namespace otap_parquet::dataset::internal
