// SPDX-License-Identifier: Apache-2.0
#include "otap_parquet/dataset/reader_columns.h"

#include <algorithm>
#include <cstring>
#include <limits>
#include <utility>

#include <arrow/api.h>
#include <arrow/array/concatenate.h>
#include <arrow/compute/api_vector.h>
#include <arrow/compute/cast.h>
#include <arrow/util/bit_util.h>
#include <arrow/util/bitmap_ops.h>

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

namespace {

bool CopyableType(const arrow::DataType& type) {
  const auto id = type.id();
  if (id == arrow::Type::BINARY || id == arrow::Type::STRING) return true;
  // Bytes per value (booleans are bits: copied as bitmaps).
  return arrow::is_fixed_width(id) && id != arrow::Type::NA &&
         id != arrow::Type::DICTIONARY && id != arrow::Type::EXTENSION &&
         (id == arrow::Type::BOOL || type.bit_width() % 8 == 0);
}

// Grows `buffer` (nullptr: allocates it) to hold `bytes`, by 1.5x at least.
arrow::Status EnsureCapacity(std::shared_ptr<arrow::ResizableBuffer>* buffer,
                             int64_t bytes, arrow::MemoryPool* pool) {
  if (!*buffer) {
    ARROW_ASSIGN_OR_RAISE(*buffer, arrow::AllocateResizableBuffer(0, pool));
  }
  if ((*buffer)->capacity() >= bytes) return arrow::Status::OK();
  return (*buffer)->Reserve(
      std::max(bytes, (*buffer)->capacity() + (*buffer)->capacity() / 2));
}

}  // namespace

// One output column being copied into: validity bits (allocated at the first null),
// values (fixed width: the values; binary: int32 offsets) and binary data.
struct PartCollector::Column {
  std::shared_ptr<arrow::DataType> type;
  bool binary = false;
  int bit_width = 0;
  std::shared_ptr<arrow::ResizableBuffer> validity, values, data;
  int64_t null_count = 0;
  int64_t data_bytes = 0;
};

PartCollector::PartCollector(arrow::MemoryPool* pool, std::vector<int64_t>* hint,
                             double scale)
    : pool_(pool), hint_(hint), scale_(scale) {}

PartCollector::~PartCollector() = default;

bool PartCollector::Copyable(const arrow::Schema& schema) {
  for (const auto& field : schema.fields()) {
    if (!CopyableType(*field->type())) return false;
  }
  return true;
}

arrow::Status PartCollector::Add(std::shared_ptr<arrow::RecordBatch> part) {
  if (part->num_rows() == 0) return arrow::Status::OK();
  if (!schema_) schema_ = part->schema();
  if (copying_) return Copy(*part);
  parts_.push_back(std::move(part));
  if (parts_.size() < 2 || !Copyable(*schema_)) return arrow::Status::OK();
  ARROW_RETURN_NOT_OK(StartCopying());
  for (const auto& held : parts_) ARROW_RETURN_NOT_OK(Copy(*held));
  parts_.clear();
  return arrow::Status::OK();
}

// Allocates the output at the size of the table's previous output (hint_: rows, then
// data bytes per binary column), so that it rarely grows by reallocation.
arrow::Status PartCollector::StartCopying() {
  copying_ = true;
  const int n = schema_->num_fields();
  const bool hinted = hint_ && hint_->size() == static_cast<size_t>(n) + 1;
  auto scaled = [this](int64_t size) {
    return static_cast<int64_t>(static_cast<double>(size) * scale_);
  };
  const int64_t rows = hinted ? scaled((*hint_)[0]) : 0;
  columns_.resize(static_cast<size_t>(n));
  for (int c = 0; c < n; ++c) {
    Column& col = columns_[static_cast<size_t>(c)];
    col.type = schema_->field(c)->type();
    col.binary =
        col.type->id() == arrow::Type::BINARY || col.type->id() == arrow::Type::STRING;
    col.bit_width = col.binary ? 32 : col.type->bit_width();
    const int64_t slots = col.binary ? rows + 1 : rows;
    ARROW_RETURN_NOT_OK(EnsureCapacity(
        &col.values, arrow::bit_util::BytesForBits(slots * col.bit_width), pool_));
    if (col.binary) {
      ARROW_RETURN_NOT_OK(EnsureCapacity(
          &col.data, hinted ? scaled((*hint_)[static_cast<size_t>(c) + 1]) : 0, pool_));
      ARROW_RETURN_NOT_OK(EnsureCapacity(&col.values, sizeof(int32_t), pool_));
      reinterpret_cast<int32_t*>(col.values->mutable_data())[0] = 0;
    }
  }
  return arrow::Status::OK();
}

arrow::Status PartCollector::Copy(const arrow::RecordBatch& part) {
  const int64_t n = part.num_rows();
  const int64_t total = rows_ + n;
  for (int c = 0; c < part.num_columns(); ++c) {
    Column& col = columns_[static_cast<size_t>(c)];
    const arrow::ArrayData& src = *part.column_data(c);
    const int64_t offset = src.offset;
    // Validity: allocated (all valid so far) at the first null.
    const int64_t nulls = src.GetNullCount();
    if (nulls > 0 && !col.validity) {
      ARROW_RETURN_NOT_OK(
          EnsureCapacity(&col.validity, arrow::bit_util::BytesForBits(total), pool_));
      arrow::bit_util::SetBitsTo(col.validity->mutable_data(), 0, rows_, true);
    }
    if (col.validity) {
      ARROW_RETURN_NOT_OK(
          EnsureCapacity(&col.validity, arrow::bit_util::BytesForBits(total), pool_));
      if (nulls > 0) {
        arrow::internal::CopyBitmap(src.buffers[0]->data(), offset, n,
                                    col.validity->mutable_data(), rows_);
      } else {
        arrow::bit_util::SetBitsTo(col.validity->mutable_data(), rows_, n, true);
      }
    }
    col.null_count += nulls;
    if (col.binary) {
      const int32_t* offsets = src.GetValues<int32_t>(1);
      const int32_t first = offsets[0], last = offsets[n];
      const int64_t bytes = last - first;
      if (col.data_bytes + bytes > std::numeric_limits<int32_t>::max()) {
        return arrow::Status::CapacityError("chunk column ", schema_->field(c)->name(),
                                            " exceeds 2 GiB of values");
      }
      ARROW_RETURN_NOT_OK(EnsureCapacity(&col.data, col.data_bytes + bytes, pool_));
      if (bytes > 0) {
        std::memcpy(col.data->mutable_data() + col.data_bytes,
                    src.buffers[2]->data() + first, static_cast<size_t>(bytes));
      }
      ARROW_RETURN_NOT_OK(EnsureCapacity(
          &col.values, static_cast<int64_t>(sizeof(int32_t)) * (total + 1), pool_));
      int32_t* out = reinterpret_cast<int32_t*>(col.values->mutable_data()) + rows_;
      const int32_t shift = static_cast<int32_t>(col.data_bytes) - first;
      for (int64_t i = 1; i <= n; ++i) out[i] = offsets[i] + shift;
      col.data_bytes += bytes;
    } else if (col.bit_width == 1) {
      ARROW_RETURN_NOT_OK(
          EnsureCapacity(&col.values, arrow::bit_util::BytesForBits(total), pool_));
      arrow::internal::CopyBitmap(src.buffers[1]->data(), offset, n,
                                  col.values->mutable_data(), rows_);
    } else {
      const int64_t width = col.bit_width / 8;
      ARROW_RETURN_NOT_OK(EnsureCapacity(&col.values, width * total, pool_));
      std::memcpy(col.values->mutable_data() + width * rows_,
                  src.buffers[1]->data() + width * offset,
                  static_cast<size_t>(width * n));
    }
  }
  rows_ = total;
  return arrow::Status::OK();
}

arrow::Result<std::shared_ptr<arrow::RecordBatch>> PartCollector::Finish() {
  if (!copying_) {
    if (parts_.empty()) return nullptr;
    return ConcatBatches(parts_, pool_);
  }
  std::vector<std::shared_ptr<arrow::ArrayData>> arrays;
  if (hint_) hint_->assign(1, rows_);
  for (Column& col : columns_) {
    const int64_t value_bytes =
        col.binary ? static_cast<int64_t>(sizeof(int32_t)) * (rows_ + 1)
                   : arrow::bit_util::BytesForBits(rows_ * col.bit_width);
    ARROW_RETURN_NOT_OK(col.values->Resize(value_bytes, /*shrink_to_fit=*/false));
    std::shared_ptr<arrow::Buffer> validity;
    if (col.null_count > 0) {
      ARROW_RETURN_NOT_OK(col.validity->Resize(arrow::bit_util::BytesForBits(rows_),
                                               /*shrink_to_fit=*/false));
      validity = std::move(col.validity);
    }
    std::vector<std::shared_ptr<arrow::Buffer>> buffers = {std::move(validity),
                                                           std::move(col.values)};
    if (col.binary) {
      ARROW_RETURN_NOT_OK(col.data->Resize(col.data_bytes, /*shrink_to_fit=*/false));
      buffers.push_back(std::move(col.data));
    }
    if (hint_) hint_->push_back(col.data_bytes);
    arrays.push_back(
        arrow::ArrayData::Make(col.type, rows_, std::move(buffers), col.null_count));
  }
  return arrow::RecordBatch::Make(schema_, rows_, std::move(arrays));
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
    if (column->null_count() == 0) {
      // Children sliced to the struct's rows (zero copy); no validity to shift.
      const auto& sliced = static_cast<const arrow::StructArray&>(*column);
      arrow::ArrayVector children;
      for (int i = 0; i < sliced.num_fields(); ++i) children.push_back(sliced.field(i));
      ARROW_ASSIGN_OR_RAISE(
          column, arrow::StructArray::Make(children, sliced.struct_type()->fields()));
    } else {
      ARROW_ASSIGN_OR_RAISE(column, arrow::Concatenate({column}));
    }
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
