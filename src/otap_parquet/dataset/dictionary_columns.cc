// SPDX-License-Identifier: Apache-2.0
#include "otap_parquet/dataset/dictionary_columns.h"

#include <algorithm>
#include <cstdint>
#include <cstring>
#include <utility>

#include <arrow/array.h>
#include <arrow/array/builder_binary.h>
#include <arrow/buffer.h>
#include <arrow/record_batch.h>
#include <arrow/type.h>
#include <arrow/util/bit_util.h>
#include <arrow/util/bitmap_ops.h>

namespace otap_parquet::dataset {

using arrow::Status;

namespace {

bool IsEncodable(const arrow::DataType& type) {
  return type.id() == arrow::Type::STRING || type.id() == arrow::Type::BINARY;
}

// a == b for strings of `size` bytes, without a call for the short strings that
// keys are, up to 32 bytes ("http.response.status_code"; overlapping word loads
// never read past either string).
inline bool SameBytes(const char* a, const char* b, size_t size) {
  auto load64 = [](const char* p) {
    uint64_t v;
    std::memcpy(&v, p, sizeof(v));
    return v;
  };
  if (size >= 8) {
    if (size > 16) {
      if (size > 32) return std::memcmp(a, b, size) == 0;
      return load64(a) == load64(b) && load64(a + 8) == load64(b + 8) &&
             load64(a + size - 16) == load64(b + size - 16) &&
             load64(a + size - 8) == load64(b + size - 8);
    }
    return load64(a) == load64(b) && load64(a + size - 8) == load64(b + size - 8);
  }
  if (size >= 4) {
    uint32_t x, y, u, v;
    std::memcpy(&x, a, 4);
    std::memcpy(&y, b, 4);
    std::memcpy(&u, a + size - 4, 4);
    std::memcpy(&v, b + size - 4, 4);
    return x == y && u == v;
  }
  for (size_t i = 0; i < size; ++i) {
    if (a[i] != b[i]) return false;
  }
  return true;
}

// The validity bitmap of `data` starting at bit 0 (shared when it already does).
arrow::Result<std::shared_ptr<arrow::Buffer>> ValidityAtZero(const arrow::ArrayData& data,
                                                             arrow::MemoryPool* pool) {
  const auto& bitmap = data.buffers[0];
  if (bitmap == nullptr || data.offset == 0) return bitmap;
  return arrow::internal::CopyBitmap(pool, bitmap->data(), data.offset, data.length);
}

}  // namespace

int32_t ColumnDictionary::IndexOf(std::string_view value) {
  if (auto found = index_.find(value); found != index_.end()) return found->second;
  if (size() >= kMaxEntries || bytes_ + static_cast<int64_t>(value.size()) > kMaxBytes) {
    gave_up_ = true;
    index_.clear();
    views_.clear();
    storage_.clear();
    successor_.assign(1, -1);
    frozen_.reset();
    return -1;
  }
  const auto index = static_cast<int32_t>(views_.size());
  views_.emplace_back(storage_.emplace_back(value));
  index_.emplace(views_.back(), index);
  successor_.push_back(-1);
  bytes_ += static_cast<int64_t>(value.size());
  return index;
}

Status ColumnDictionary::Freeze(const std::shared_ptr<arrow::DataType>& type,
                                arrow::MemoryPool* pool) {
  // Nothing learned since the last row group: its dictionary serves again.
  if (frozen_ != nullptr && frozen_->length() == size()) return Status::OK();
  arrow::BinaryBuilder builder(type, pool);
  ARROW_RETURN_NOT_OK(builder.Reserve(size()));
  ARROW_RETURN_NOT_OK(builder.ReserveData(bytes_));
  for (std::string_view value : views_) builder.UnsafeAppend(value);
  return builder.Finish(&frozen_);
}

arrow::Result<std::shared_ptr<arrow::Array>> ColumnDictionary::Encode(
    const std::shared_ptr<arrow::Array>& values, int64_t first_row,
    arrow::MemoryPool* pool) {
  const int64_t length = values->length();
  if (gave_up_ || length == 0 || !IsEncodable(*values->type())) return values;
  const int64_t first_group = first_row / row_group_size_;
  const int64_t last_group = (first_row + length - 1) / row_group_size_;
  // Parquet's column writer of `first_group` has not seen this column yet: it takes
  // any dictionary, which then holds for the rest of the row group.
  const bool fresh = first_group != group_;
  if (!fresh && mode_ == Mode::kDenseFirst) {
    group_ = last_group;  // a tail in the next row group comes first there, dense too
    return values;
  }

  const auto& binary = static_cast<const arrow::BinaryArray&>(*values);
  ARROW_ASSIGN_OR_RAISE(auto indices,
                        arrow::AllocateBuffer(length * sizeof(int32_t), pool));
  auto* out = reinterpret_cast<int32_t*>(indices->mutable_data());
  // Locals, not members, in the loop: `out` could alias them for the compiler.
  const int32_t* offsets = binary.raw_value_offsets();
  const char* bytes = reinterpret_cast<const char*>(binary.raw_data());
  const uint8_t* valid = values->null_count() > 0 ? binary.null_bitmap_data() : nullptr;
  const int64_t bit_offset = binary.offset();
  int32_t* successor = successor_.data();
  const std::string_view* views = views_.data();
  int32_t previous = -1;
  int32_t max_index = -1;
  for (int64_t i = 0; i < length; ++i) {
    if (valid != nullptr && !arrow::bit_util::GetBit(valid, bit_offset + i)) {
      out[i] = 0;
      continue;
    }
    const char* value = bytes + offsets[i];
    const auto size = static_cast<size_t>(offsets[i + 1] - offsets[i]);
    int32_t index = successor[previous + 1];
    if (index < 0 || views[index].size() != size ||
        !SameBytes(views[index].data(), value, size)) {
      index = IndexOf(std::string_view(value, size));
      if (index < 0) return values;   // gave up: dense for the rest of the file
      successor = successor_.data();  // IndexOf may have grown both
      views = views_.data();
      successor[previous + 1] = index;
    }
    max_index = std::max(max_index, index);
    out[i] = index;
    previous = index;
  }
  // Values at or past the frozen dictionary's length are not in it.
  const bool covered = fresh || max_index < frozen_->length();

  if (fresh) {
    ARROW_RETURN_NOT_OK(Freeze(values->type(), pool));
    mode_ = Mode::kDictionary;
  } else if (!covered) {
    // Dense, with its new values learned for the next row group. A tail of the
    // batch in the next row group comes first there: that one stays dense.
    if (last_group != first_group) mode_ = Mode::kDenseFirst;
    group_ = last_group;
    return values;
  }
  group_ = last_group;
  ARROW_ASSIGN_OR_RAISE(auto validity, ValidityAtZero(*values->data(), pool));
  auto data = arrow::ArrayData::Make(arrow::dictionary(arrow::int32(), values->type()),
                                     length, {std::move(validity), std::move(indices)},
                                     values->data()->null_count.load(), /*offset=*/0);
  data->dictionary = frozen_->data();
  return arrow::MakeArray(std::move(data));
}

DictionaryColumns::DictionaryColumns(const arrow::Schema& schema,
                                     const std::vector<std::string>& columns,
                                     int64_t row_group_size) {
  for (const auto& path : columns) {
    const size_t dot = path.find('.');
    const int field = schema.GetFieldIndex(path.substr(0, dot));
    if (field < 0) continue;
    const auto& type = *schema.field(field)->type();
    Slot slot;
    slot.path = path;
    slot.field = field;
    if (dot == std::string::npos) {
      if (!IsEncodable(type)) continue;
    } else {
      if (type.id() != arrow::Type::STRUCT) continue;
      const auto& struct_type = static_cast<const arrow::StructType&>(type);
      slot.child = struct_type.GetFieldIndex(path.substr(dot + 1));
      if (slot.child < 0 || !IsEncodable(*struct_type.field(slot.child)->type()))
        continue;
    }
    slot.dictionary = std::make_unique<ColumnDictionary>(row_group_size);
    slots_.push_back(std::move(slot));
  }
}

std::vector<std::string> DictionaryColumns::paths() const {
  std::vector<std::string> out;
  for (const auto& slot : slots_) out.push_back(slot.path);
  return out;
}

std::vector<std::string> DictionaryColumns::gave_up_paths() const {
  std::vector<std::string> out;
  for (const auto& slot : slots_) {
    if (slot.dictionary->gave_up()) out.push_back(slot.path);
  }
  return out;
}

arrow::Result<std::shared_ptr<arrow::RecordBatch>> DictionaryColumns::Encode(
    const std::shared_ptr<arrow::RecordBatch>& batch, int64_t first_row,
    arrow::MemoryPool* pool) {
  if (slots_.empty() || batch->num_rows() == 0) return batch;
  arrow::ArrayVector columns = batch->columns();
  arrow::FieldVector fields = batch->schema()->fields();
  bool changed = false;
  for (auto& slot : slots_) {
    if (slot.child < 0) {
      const auto& column = columns[slot.field];
      ARROW_ASSIGN_OR_RAISE(auto encoded,
                            slot.dictionary->Encode(column, first_row, pool));
      if (encoded == column) {
        ++dense_batches_;
        continue;
      }
      ++dictionary_batches_;
      fields[slot.field] = fields[slot.field]->WithType(encoded->type());
      columns[slot.field] = std::move(encoded);
      changed = true;
      continue;
    }
    // A struct child: the struct's rows are the child's [offset, offset + length).
    const auto& parent = *columns[slot.field]->data();
    auto child = arrow::MakeArray(
        parent.child_data[slot.child]->Slice(parent.offset, parent.length));
    ARROW_ASSIGN_OR_RAISE(auto encoded, slot.dictionary->Encode(child, first_row, pool));
    if (encoded == child) {
      ++dense_batches_;
      continue;
    }
    ++dictionary_batches_;
    // The struct again at offset 0, its children sliced to its rows (no copies but
    // the validity bitmap of an offset struct).
    ARROW_ASSIGN_OR_RAISE(auto validity, ValidityAtZero(parent, pool));
    arrow::ArrayDataVector children;
    arrow::FieldVector child_fields = parent.type->fields();
    for (size_t i = 0; i < parent.child_data.size(); ++i) {
      if (static_cast<int>(i) == slot.child) {
        children.push_back(encoded->data());
        child_fields[i] = child_fields[i]->WithType(encoded->type());
      } else {
        children.push_back(parent.child_data[i]->Slice(parent.offset, parent.length));
      }
    }
    auto type = arrow::struct_(std::move(child_fields));
    fields[slot.field] = fields[slot.field]->WithType(type);
    columns[slot.field] = arrow::MakeArray(
        arrow::ArrayData::Make(std::move(type), parent.length, {std::move(validity)},
                               std::move(children), parent.null_count.load(), 0));
    changed = true;
  }
  if (!changed) return batch;
  return arrow::RecordBatch::Make(
      arrow::schema(std::move(fields), batch->schema()->metadata()), batch->num_rows(),
      std::move(columns));
}

}  // namespace otap_parquet::dataset
