// SPDX-License-Identifier: Apache-2.0
#include "otap_parquet/schema/normalize.h"

#include <string>
#include <utility>
#include <vector>

#include <arrow/api.h>
#include <arrow/compute/api_vector.h>
#include <arrow/compute/cast.h>
#include <arrow/compute/initialize.h>

#include "otap_parquet/schema/otap_schema.h"
#include "otap_parquet/util/compute.h"

namespace otap_parquet::schema {

namespace {

using arrow::Status;
using arrow::Type;

using util::EnsureComputeInitialized;

bool IsIdField(const std::string& name) { return name == kId || name == kParentId; }

bool IsExemplars(PayloadType type) {
  return type == PayloadType::kNumberDpExemplars ||
         type == PayloadType::kHistogramDpExemplars ||
         type == PayloadType::kExpHistogramDpExemplars;
}

bool IsStringLike(Type::type id) {
  return id == Type::STRING || id == Type::LARGE_STRING || id == Type::STRING_VIEW;
}

bool IsVarBinary(Type::type id) {
  return id == Type::BINARY || id == Type::LARGE_BINARY || id == Type::BINARY_VIEW;
}

// Arrow's type names, except utf8 for string (the name used in OTAP docs).
std::string TypeName(const arrow::DataType& type) {
  if (type.id() == Type::STRING) return "utf8";
  if (type.id() == Type::LARGE_STRING) return "large_utf8";
  return type.ToString();
}

Status CannotConvert(const std::string& path, const arrow::DataType& from,
                     const arrow::DataType& to) {
  return Status::TypeError(path, ": cannot convert ", TypeName(from), " to ",
                           TypeName(to));
}

// The output field: canonical name and nullability, the converted array's type (equal
// to the canonical type up to field metadata and list item names), and the source's
// field metadata for ids.
std::shared_ptr<arrow::Field> OutputField(const arrow::Field& canonical,
                                          std::shared_ptr<arrow::DataType> type,
                                          const std::shared_ptr<arrow::Field>& source) {
  std::shared_ptr<const arrow::KeyValueMetadata> metadata;
  if (source && IsIdField(canonical.name())) metadata = source->metadata();
  return arrow::field(canonical.name(), std::move(type), canonical.nullable(),
                      std::move(metadata));
}

// Same buffers, another type of the same physical layout (Int64 → Timestamp).
std::shared_ptr<arrow::Array> Reinterpret(const std::shared_ptr<arrow::Array>& array,
                                          std::shared_ptr<arrow::DataType> type) {
  auto data = array->data()->Copy();
  data->type = std::move(type);
  return arrow::MakeArray(std::move(data));
}

arrow::Result<std::shared_ptr<arrow::Array>> CastTo(
    const std::shared_ptr<arrow::Array>& array,
    const std::shared_ptr<arrow::DataType>& type, const std::string& path,
    arrow::MemoryPool* pool) {
  ARROW_RETURN_NOT_OK(EnsureComputeInitialized());
  arrow::compute::ExecContext context(pool);
  auto result =
      arrow::compute::Cast(*array, type, arrow::compute::CastOptions::Safe(), &context);
  if (!result.ok()) {
    return Status::Invalid(path, ": cannot convert ", TypeName(*array->type()), " to ",
                           TypeName(*type), ": ", result.status().message());
  }
  return result.MoveValueUnsafe();
}

arrow::Result<std::shared_ptr<arrow::Array>> Conform(
    std::shared_ptr<arrow::Array> array, const std::shared_ptr<arrow::DataType>& target,
    const std::string& path, const NormalizeOptions& options);

// Converts a non-nested column. The accepted source types are listed explicitly:
// arrow::compute::Cast alone would also parse strings into numbers and the like.
arrow::Result<std::shared_ptr<arrow::Array>> ConvertLeaf(
    const std::shared_ptr<arrow::Array>& array,
    const std::shared_ptr<arrow::DataType>& target, const std::string& path,
    arrow::MemoryPool* pool) {
  const Type::type from = array->type_id();
  const Type::type to = target->id();
  if (from == Type::NA) return arrow::MakeArrayOfNull(target, array->length(), pool);
  if (arrow::is_integer(to)) {
    if (arrow::is_integer(from)) return CastTo(array, target, path, pool);
  } else if (to == Type::DOUBLE) {
    if (arrow::is_floating(from)) return CastTo(array, target, path, pool);
  } else if (to == Type::STRING) {
    if (IsStringLike(from) || IsVarBinary(from)) return CastTo(array, target, path, pool);
  } else if (to == Type::BINARY) {
    if (IsStringLike(from) || IsVarBinary(from) || from == Type::FIXED_SIZE_BINARY) {
      return CastTo(array, target, path, pool);
    }
  } else if (to == Type::FIXED_SIZE_BINARY) {
    // Another FixedSizeBinary width is never right; variable binary must have it.
    if (IsVarBinary(from)) return CastTo(array, target, path, pool);
  } else if (to == Type::TIMESTAMP || to == Type::DURATION) {
    const arrow::TimeUnit::type target_unit =
        to == Type::TIMESTAMP ? static_cast<const arrow::TimestampType&>(*target).unit()
                              : static_cast<const arrow::DurationType&>(*target).unit();
    if (from == Type::INT64) return Reinterpret(array, target);
    if (arrow::is_integer(from)) {
      ARROW_ASSIGN_OR_RAISE(auto as_int64, CastTo(array, arrow::int64(), path, pool));
      return Reinterpret(as_int64, target);
    }
    if (from == to) {
      const auto unit =
          from == Type::TIMESTAMP
              ? static_cast<const arrow::TimestampType&>(*array->type()).unit()
              : static_cast<const arrow::DurationType&>(*array->type()).unit();
      // Same unit, other time zone: timestamps are UTC either way.
      if (unit == target_unit) return Reinterpret(array, target);
      return CastTo(array, target, path, pool);
    }
  }
  return CannotConvert(path, *array->type(), *target);
}

arrow::Result<std::shared_ptr<arrow::Array>> ConformStruct(
    const std::shared_ptr<arrow::Array>& array,
    const std::shared_ptr<arrow::DataType>& target, const std::string& path,
    const NormalizeOptions& options) {
  arrow::MemoryPool* pool = options.pool;
  if (array->type_id() != Type::STRUCT) {
    return CannotConvert(path, *array->type(), *target);
  }
  const auto& source = static_cast<const arrow::StructArray&>(*array);
  const auto& source_type = *source.struct_type();
  const auto& target_type = static_cast<const arrow::StructType&>(*target);
  // Children are converted unsliced up to the struct's end, so the struct keeps its
  // offset and validity bitmap untouched.
  const int64_t child_length = source.offset() + source.length();
  arrow::FieldVector fields;
  arrow::ArrayDataVector children;
  for (const auto& canonical : target_type.fields()) {
    const std::string child_path = path + "." + canonical->name();
    const auto indices = source_type.GetAllFieldIndices(canonical->name());
    if (indices.size() > 1) return Status::Invalid(child_path, ": duplicate field");
    std::shared_ptr<arrow::Array> child;
    std::shared_ptr<arrow::Field> source_field;
    if (indices.empty()) {
      ARROW_ASSIGN_OR_RAISE(
          child, arrow::MakeArrayOfNull(canonical->type(), child_length, pool));
    } else {
      source_field = source_type.field(indices[0]);
      auto raw = arrow::MakeArray(source.data()->child_data[indices[0]]);
      if (raw->length() != child_length) raw = raw->Slice(0, child_length);
      ARROW_ASSIGN_OR_RAISE(
          child, Conform(std::move(raw), canonical->type(), child_path, options));
    }
    fields.push_back(OutputField(*canonical, child->type(), source_field));
    children.push_back(child->data());
  }
  auto data = arrow::ArrayData::Make(arrow::struct_(std::move(fields)), source.length(),
                                     {source.data()->buffers[0]}, std::move(children),
                                     source.data()->null_count.load(), source.offset());
  return arrow::MakeArray(std::move(data));
}

arrow::Result<std::shared_ptr<arrow::Array>> ConformList(
    std::shared_ptr<arrow::Array> array, const std::shared_ptr<arrow::DataType>& target,
    const std::string& path, const NormalizeOptions& options) {
  arrow::MemoryPool* pool = options.pool;
  const Type::type from = array->type_id();
  if (from == Type::LARGE_LIST || from == Type::LIST_VIEW ||
      from == Type::LARGE_LIST_VIEW || from == Type::FIXED_SIZE_LIST) {
    const auto& value_field = *array->type()->field(0);
    ARROW_ASSIGN_OR_RAISE(array,
                          CastTo(array, arrow::list(value_field.type()), path, pool));
  } else if (from != Type::LIST) {
    return CannotConvert(path, *array->type(), *target);
  }
  const auto& source = static_cast<const arrow::ListArray&>(*array);
  const auto& canonical_item =
      *static_cast<const arrow::ListType&>(*target).value_field();
  ARROW_ASSIGN_OR_RAISE(
      auto values, Conform(source.values(), canonical_item.type(), path + "[]", options));
  auto item =
      arrow::field(canonical_item.name(), values->type(), canonical_item.nullable());
  auto data = arrow::ArrayData::Make(
      arrow::list(std::move(item)), source.length(),
      {source.data()->buffers[0], source.data()->buffers[1]}, {values->data()},
      source.data()->null_count.load(), source.offset());
  return arrow::MakeArray(std::move(data));
}

arrow::Result<std::shared_ptr<arrow::Array>> Conform(
    std::shared_ptr<arrow::Array> array, const std::shared_ptr<arrow::DataType>& target,
    const std::string& path, const NormalizeOptions& options) {
  arrow::MemoryPool* pool = options.pool;
  if (array->type()->Equals(*target)) return array;
  if (array->type_id() == Type::DICTIONARY) {
    ARROW_RETURN_NOT_OK(EnsureComputeInitialized());
    const auto& dict = static_cast<const arrow::DictionaryArray&>(*array);
    arrow::compute::ExecContext context(pool);
    // Take's own bounds check is a pass over the indices (~1% of receiver:otap's
    // CPU) that a caller which range-checked them already made.
    const auto take = options.dictionary_indices_checked
                          ? arrow::compute::TakeOptions::NoBoundsCheck()
                          : arrow::compute::TakeOptions::BoundsCheck();
    auto dense =
        arrow::compute::Take(*dict.dictionary(), *dict.indices(), take, &context);
    if (!dense.ok()) {
      return Status::Invalid(path, ": cannot decode ", array->type()->ToString(), ": ",
                             dense.status().message());
    }
    array = dense.MoveValueUnsafe();
    if (array->type()->Equals(*target)) return array;
  }
  switch (target->id()) {
    case Type::STRUCT:
      return ConformStruct(array, target, path, options);
    case Type::LIST:
      return ConformList(std::move(array), target, path, options);
    default:
      return ConvertLeaf(array, target, path, pool);
  }
}

// The struct type with its `id` child widened to UInt32.
std::shared_ptr<arrow::DataType> WithWideId(const arrow::DataType& type) {
  arrow::FieldVector children = type.fields();
  for (auto& child : children) {
    if (child->name() == kId) child = child->WithType(arrow::uint32());
  }
  return arrow::struct_(std::move(children));
}

}  // namespace

arrow::Result<std::shared_ptr<arrow::RecordBatch>> NormalizeToCanonical(
    PayloadType type, const std::shared_ptr<arrow::RecordBatch>& batch,
    const NormalizeOptions& options) {
  const auto& canonical = CanonicalSchema(type);
  if (canonical->num_fields() == 0) {
    return Status::NotImplemented("no canonical schema for payload type ",
                                  static_cast<int>(type), " (", TableName(type), ")");
  }
  const auto& source_schema = *batch->schema();
  if (!options.wide_ids && source_schema.Equals(*canonical, /*check_metadata=*/false)) {
    return batch;
  }
  const std::string table(TableName(type));
  arrow::FieldVector fields;
  arrow::ArrayVector columns;
  fields.reserve(canonical->num_fields());
  columns.reserve(canonical->num_fields());
  for (const auto& field : canonical->fields()) {
    const std::string path = table + "." + field->name();
    const auto indices = source_schema.GetAllFieldIndices(field->name());
    if (indices.size() > 1) return Status::Invalid(path, ": duplicate column");
    auto target_type = field->type();
    if (options.wide_ids && IsIdField(field->name())) target_type = arrow::uint32();
    if (options.wide_ids && (field->name() == kResource || field->name() == kScope)) {
      target_type = WithWideId(*target_type);  // on disk, resource.id/scope.id are UInt32
    }
    std::shared_ptr<arrow::Array> column;
    std::shared_ptr<arrow::Field> source_field;
    if (!indices.empty()) {
      source_field = source_schema.field(indices[0]);
      column = batch->column(indices[0]);
      if (IsExemplars(type) && field->name() == kDoubleValue) {
        // Upstream quirk Q4: the exporter template inserts an Int64 zero column.
        const auto& value_type =
            column->type_id() == Type::DICTIONARY
                ? static_cast<const arrow::DictionaryType&>(*column->type()).value_type()
                : column->type();
        if (!arrow::is_floating(value_type->id())) column.reset();
      }
    }
    if (column) {
      ARROW_ASSIGN_OR_RAISE(column,
                            Conform(std::move(column), target_type, path, options));
    } else {
      ARROW_ASSIGN_OR_RAISE(
          column, arrow::MakeArrayOfNull(target_type, batch->num_rows(), options.pool));
    }
    fields.push_back(OutputField(*field, column->type(), source_field));
    columns.push_back(std::move(column));
  }
  auto schema = arrow::schema(std::move(fields), source_schema.metadata());
  return arrow::RecordBatch::Make(std::move(schema), batch->num_rows(),
                                  std::move(columns));
}

}  // namespace otap_parquet::schema
