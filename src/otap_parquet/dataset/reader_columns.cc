// SPDX-License-Identifier: Apache-2.0
#include "otap_parquet/dataset/reader_columns.h"

#include <algorithm>
#include <utility>

#include <arrow/api.h>
#include <arrow/array/concatenate.h>
#include <arrow/compute/api_vector.h>
#include <arrow/compute/cast.h>

#include "otap_parquet/dataset/table_piece.h"
#include "otap_parquet/schema/otap_schema.h"
#include "otap_parquet/util/compute.h"

namespace otap_parquet::dataset::internal {

// Shortest average run of rows that TakeRows copies run by run rather than row by row.
constexpr size_t kMinRunRows = 64;

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
  // Rows in long runs (attribute rows ordered by key within a written batch, cut by
  // a chunk boundary): slices of the runs, concatenated, copy whole buffers instead
  // of gathering row by row.
  std::vector<std::pair<int32_t, int32_t>> runs;  // (first row, rows)
  const size_t max_runs = rows.size() / kMinRunRows;
  bool long_runs = max_runs > 1;
  for (size_t i = 0; i < rows.size() && long_runs; ++i) {
    if (!runs.empty() && runs.back().first + runs.back().second == rows[i]) {
      ++runs.back().second;
    } else if (runs.size() < max_runs) {
      runs.emplace_back(rows[i], 1);
    } else {
      long_runs = false;
    }
  }
  if (long_runs) {
    std::vector<std::shared_ptr<arrow::RecordBatch>> slices;
    slices.reserve(runs.size());
    for (const auto& [first, count] : runs) slices.push_back(batch->Slice(first, count));
    return ConcatBatches(slices, pool);
  }
  ARROW_RETURN_NOT_OK(util::EnsureComputeInitialized());
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

}  // namespace otap_parquet::dataset::internal
