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
