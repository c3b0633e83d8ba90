// SPDX-License-Identifier: Apache-2.0
#include "otap_parquet/pdata/ids.h"

#include <algorithm>
#include <array>
#include <cstring>
#include <limits>
#include <optional>
#include <string>
#include <utility>

#include <arrow/api.h>
#include <arrow/compute/api_scalar.h>
#include <arrow/compute/api_vector.h>
#include <arrow/compute/exec.h>
#include <arrow/compute/initialize.h>
#include <arrow/util/bitmap_ops.h>

#include "otap_parquet/pdata/id_visit.h"
#include "otap_parquet/schema/otap_schema.h"
#include "otap_parquet/util/compute.h"

namespace otap_parquet {

namespace {

using arrow::Status;
using arrow::Type;
using PT = PayloadType;

using util::EnsureComputeInitialized;

// ---------------------------------------------------------------------------------
// Shared helpers

std::string ColumnPath(PT type, const char* parent_struct, const char* column) {
  std::string path(TableName(type));
  if (parent_struct) path.append(".").append(parent_struct);
  return path.append(".").append(column);
}

// The validity bitmap of `array` realigned to offset 0 (null when there are no nulls).
arrow::Result<std::shared_ptr<arrow::Buffer>> ValidityOf(
    const arrow::Array& array, arrow::MemoryPool* pool = arrow::default_memory_pool()) {
  if (array.null_count() == 0) return nullptr;
  const auto& data = *array.data();
  if (data.offset == 0) return data.buffers[0];
  return arrow::internal::CopyBitmap(pool, data.buffers[0]->data(), data.offset,
                                     data.length);
}

// Replaces child `index` of a struct array (children are sliced to the struct's rows).
arrow::Result<std::shared_ptr<arrow::Array>> ReplaceStructChild(
    const arrow::StructArray& array, int index, std::shared_ptr<arrow::Field> field,
    std::shared_ptr<arrow::Array> child,
    arrow::MemoryPool* pool = arrow::default_memory_pool()) {
  arrow::ArrayVector children;
  for (int j = 0; j < array.num_fields(); ++j) {
    children.push_back(j == index ? child : array.field(j));
  }
  auto fields = array.struct_type()->fields();
  fields[index] = std::move(field);
  ARROW_ASSIGN_OR_RAISE(auto validity, ValidityOf(array, pool));
  const int64_t null_count = validity ? array.null_count() : 0;
  ARROW_ASSIGN_OR_RAISE(
      auto result,
      arrow::StructArray::Make(children, fields, std::move(validity), null_count));
  return result;
}

std::shared_ptr<arrow::Field> WithEncoding(const std::shared_ptr<arrow::Field>& field,
                                           const char* encoding) {
  auto metadata = field->metadata() ? field->metadata()->Copy()
                                    : std::make_shared<arrow::KeyValueMetadata>();
  // Set overwrites or appends; its Status is always OK.
  (void)metadata->Set(kEncodingMetadataKey, encoding);
  return field->WithMetadata(std::move(metadata));
}

// The field without `encoding` metadata (Go's producer writes none).
std::shared_ptr<arrow::Field> WithoutEncoding(
    const std::shared_ptr<arrow::Field>& field) {
  if (!field->metadata() || field->metadata()->FindKey(kEncodingMetadataKey) < 0) {
    return field;
  }
  auto metadata = field->metadata()->Copy();
  (void)metadata->Delete(kEncodingMetadataKey);
  return metadata->size() ? field->WithMetadata(std::move(metadata))
                          : field->RemoveMetadata();
}

// ---------------------------------------------------------------------------------
// Transport encodings

enum class Scheme : uint8_t {
  kDelta,       // prefix sum
  kColumns,     // quasi-delta on equality columns
  kAttributes,  // attribute quasi-delta
};

struct IdColumnSpec {
  const char* parent_struct;  // nullptr: a top-level column
  const char* column;
  Scheme scheme;
  std::vector<const char*> equality_columns;  // for kColumns
};

bool IsRootTable(PT type) {
  return type == PT::kLogs || type == PT::kSpans || type == PT::kUnivariateMetrics;
}

bool IsDataPoints(PT type) {
  return type == PT::kNumberDataPoints || type == PT::kSummaryDataPoints ||
         type == PT::kHistogramDataPoints || type == PT::kExpHistogramDataPoints;
}

bool IsExemplars(PT type) {
  return type == PT::kNumberDpExemplars || type == PT::kHistogramDpExemplars ||
         type == PT::kExpHistogramDpExemplars;
}

// §9.1, `transport_optimize.rs::remove_transport_optimized_encodings`.
std::vector<IdColumnSpec> IdColumnsOf(PT type) {
  using namespace schema;  // column names
  if (IsRootTable(type)) {
    return {{nullptr, kId, Scheme::kDelta, {}},
            {kResource, kId, Scheme::kDelta, {}},
            {kScope, kId, Scheme::kDelta, {}}};
  }
  if (IsAttributes(type)) return {{nullptr, kParentId, Scheme::kAttributes, {}}};
  if (IsDataPoints(type)) {
    return {{nullptr, kId, Scheme::kDelta, {}}, {nullptr, kParentId, Scheme::kDelta, {}}};
  }
  if (type == PT::kSpanEvents) {
    return {{nullptr, kId, Scheme::kDelta, {}},
            {nullptr, kParentId, Scheme::kColumns, {kName}}};
  }
  if (type == PT::kSpanLinks) {
    return {{nullptr, kId, Scheme::kDelta, {}},
            {nullptr, kParentId, Scheme::kColumns, {kTraceId}}};
  }
  if (IsExemplars(type)) {
    return {{nullptr, kId, Scheme::kDelta, {}},
            {nullptr, kParentId, Scheme::kColumns, {kIntValue, kDoubleValue}}};
  }
  return {};
}

// How floating point values are compared for quasi-delta: bitwise, as arrow-rs's
// total order does (Rust producers, which write `encoding` metadata), or by value
// (NaN != NaN, -0.0 == +0.0), as Go's producer compares (it writes no metadata).
enum class FloatEquality { kBitwise, kValue };

FloatEquality FloatsOf(IdDialect dialect) {
  return dialect == IdDialect::kGo ? FloatEquality::kValue : FloatEquality::kBitwise;
}

// Compares a row of a column with the row before it, straight on the Arrow buffers
// (Array::IsValid / GetView per row were ~10% of receiver:otap's CPU).
class PreviousRowEquality {
 public:
  static arrow::Result<PreviousRowEquality> Make(const arrow::Array& array,
                                                 FloatEquality floats) {
    PreviousRowEquality eq;
    const arrow::ArrayData& data = *array.data();
    eq.offset_ = data.offset;
    if (data.GetNullCount() != 0 && data.buffers[0]) {
      eq.validity_ = data.buffers[0]->data();
    }
    const Type::type id = array.type_id();
    if (id == Type::NA) {
      eq.kind_ = Kind::kNull;
      eq.all_null_ = true;
    } else if (id == Type::BOOL) {
      eq.kind_ = Kind::kBool;
      eq.values_ = data.buffers[1]->data();
    } else if (id == Type::STRING || id == Type::BINARY) {
      eq.kind_ = Kind::kBinary;
      eq.offsets32_ = data.GetValues<int32_t>(1, 0);  // offset_ added per row
      eq.values_ = data.buffers[2] ? data.buffers[2]->data() : nullptr;
    } else if (id == Type::LARGE_STRING || id == Type::LARGE_BINARY) {
      eq.kind_ = Kind::kLargeBinary;
      eq.offsets64_ = data.GetValues<int64_t>(1, 0);
      eq.values_ = data.buffers[2] ? data.buffers[2]->data() : nullptr;
    } else if (id == Type::DOUBLE && floats == FloatEquality::kValue) {
      eq.kind_ = Kind::kDouble;
      eq.values_ = data.GetValues<uint8_t>(1, data.offset * 8);
    } else if (id == Type::FLOAT && floats == FloatEquality::kValue) {
      eq.kind_ = Kind::kFloat;
      eq.values_ = data.GetValues<uint8_t>(1, data.offset * 4);
    } else if (id == Type::FIXED_SIZE_BINARY || arrow::is_primitive(id)) {
      eq.kind_ = Kind::kFixed;
      eq.width_ = static_cast<size_t>(
          static_cast<const arrow::FixedWidthType&>(*array.type()).bit_width() / 8);
      eq.values_ = data.GetValues<uint8_t>(1, data.offset * eq.width_);
    } else {
      return Status::TypeError("cannot compare values of type ",
                               array.type()->ToString());
    }
    return eq;
  }

  bool IsValid(int64_t i) const {
    return !all_null_ && (!validity_ || arrow::bit_util::GetBit(validity_, offset_ + i));
  }

  /// Row i (>= 1) equals row i-1: both null, or both valid with equal values.
  bool EqualsPrevious(int64_t i) const {
    const bool valid = IsValid(i);
    if (valid != IsValid(i - 1)) return false;
    return !valid || ValuesEqual(i);
  }

  /// Row i (>= 1) equals row i-1 by the values stored under the rows, valid or not.
  bool RawEqualsPrevious(int64_t i) const { return ValuesEqual(i); }

  /// EqualsPrevious with a null read as the zero value of the type ("", empty
  /// bytes, 0, false), as Go's consumer reads it (`arrowutils.*FromRecord`).
  bool EqualsPreviousNullAsZero(int64_t i) const {
    const bool valid = IsValid(i), previous_valid = IsValid(i - 1);
    if (valid && previous_valid) return ValuesEqual(i);
    if (!valid && !previous_valid) return true;
    return IsZero(valid ? i : i - 1);
  }

 private:
  enum class Kind : uint8_t {
    kNull,
    kBool,
    kBinary,
    kLargeBinary,
    kDouble,
    kFloat,
    kFixed
  };

  bool IsZero(int64_t i) const {
    switch (kind_) {
      case Kind::kNull:
        return true;
      case Kind::kBool:
        return !arrow::bit_util::GetBit(values_, offset_ + i);
      case Kind::kBinary:
        return offsets32_[offset_ + i] == offsets32_[offset_ + i + 1];
      case Kind::kLargeBinary:
        return offsets64_[offset_ + i] == offsets64_[offset_ + i + 1];
      case Kind::kDouble:
        return reinterpret_cast<const double*>(values_)[i] == 0;
      case Kind::kFloat:
        return reinterpret_cast<const float*>(values_)[i] == 0;
      case Kind::kFixed:
        for (size_t b = 0; b < width_; ++b) {
          if (values_[static_cast<size_t>(i) * width_ + b] != 0) return false;
        }
        return true;
    }
    return false;
  }

  template <typename O>
  bool BinaryEqual(const O* offsets, int64_t i) const {
    const O a = offsets[i - 1], b = offsets[i], c = offsets[i + 1];
    return b - a == c - b && (b == a || std::memcmp(values_ + a, values_ + b,
                                                    static_cast<size_t>(b - a)) == 0);
  }

  bool ValuesEqual(int64_t i) const {
    switch (kind_) {
      case Kind::kNull:
        return true;
      case Kind::kBool:
        return arrow::bit_util::GetBit(values_, offset_ + i) ==
               arrow::bit_util::GetBit(values_, offset_ + i - 1);
      case Kind::kBinary:
        return BinaryEqual(offsets32_ + offset_, i);
      case Kind::kLargeBinary:
        return BinaryEqual(offsets64_ + offset_, i);
      case Kind::kDouble: {
        const auto* v = reinterpret_cast<const double*>(values_);
        return v[i] == v[i - 1];
      }
      case Kind::kFloat: {
        const auto* v = reinterpret_cast<const float*>(values_);
        return v[i] == v[i - 1];
      }
      case Kind::kFixed:
        return std::memcmp(values_ + i * width_, values_ + (i - 1) * width_, width_) == 0;
    }
    return false;
  }

  Kind kind_ = Kind::kNull;
  bool all_null_ = false;  // the Null type has no validity bitmap
  int64_t offset_ = 0;
  const uint8_t* validity_ = nullptr;
  const uint8_t* values_ = nullptr;
  const int32_t* offsets32_ = nullptr;
  const int64_t* offsets64_ = nullptr;
  size_t width_ = 0;
};

// eq[i] = 1 when row i equals row i-1: both null, or both valid with equal values;
// with `raw`, when the values stored under the rows are equal, valid or not.
// eq[0] = 0.
arrow::Result<std::vector<uint8_t>> EqualsPrevious(
    const arrow::Array& array, FloatEquality floats = FloatEquality::kBitwise,
    bool raw = false) {
  const int64_t n = array.length();
  std::vector<uint8_t> eq(static_cast<size_t>(n), 0);
  ARROW_ASSIGN_OR_RAISE(auto rows, PreviousRowEquality::Make(array, floats));
  for (int64_t i = 1; i < n; ++i) {
    eq[static_cast<size_t>(i)] = raw ? rows.RawEqualsPrevious(i) : rows.EqualsPrevious(i);
  }
  return eq;
}

// Rows whose parent_id is a delta under the attribute quasi-delta rules.
arrow::Result<std::vector<uint8_t>> AttributeDeltaRows(const arrow::RecordBatch& batch,
                                                       const std::string& table,
                                                       IdDialect dialect) {
  using schema::AnyValueType;
  const FloatEquality floats = FloatsOf(dialect);
  const int64_t n = batch.num_rows();
  const auto type_column = batch.GetColumnByName(schema::kType);
  const auto key_column = batch.GetColumnByName(schema::kKey);
  if (!type_column || !key_column) {
    return Status::KeyError(table, ": attribute table lacks its type or key column");
  }
  if (type_column->type_id() != Type::UINT8) {
    return Status::TypeError(table, ".type: expected uint8, got ",
                             type_column->type()->ToString());
  }
  ARROW_ASSIGN_OR_RAISE(auto types_eq,
                        PreviousRowEquality::Make(*type_column, FloatEquality::kBitwise));
  const uint8_t* types = type_column->data()->GetValues<uint8_t>(1);
  ARROW_ASSIGN_OR_RAISE(auto key_eq,
                        PreviousRowEquality::Make(*key_column, FloatEquality::kBitwise));
  // Value column per AnyValue type (absent: never delta encoded), compared only on
  // the rows of that type.
  std::array<std::optional<PreviousRowEquality>, 8> value_eq;
  const std::pair<AnyValueType, const char*> kValueColumns[] = {
      {AnyValueType::kStr, schema::kStr},
      {AnyValueType::kInt, schema::kInt},
      {AnyValueType::kDouble, schema::kDouble},
      {AnyValueType::kBool, schema::kBool},
      {AnyValueType::kBytes, schema::kBytes}};
  for (const auto& [value_type, name] : kValueColumns) {
    auto column = batch.GetColumnByName(name);
    if (!column) continue;
    ARROW_ASSIGN_OR_RAISE(value_eq[static_cast<size_t>(value_type)],
                          PreviousRowEquality::Make(*column, floats));
  }
  // Go's producer writes an empty key or bytes value as null, or leaves the column
  // out when all are, and its consumer reads a null or absent value as the zero
  // value (otel-arrow/go common/otlp/attributes.go `AttrsParentIDDecoder.Decode`,
  // `carrow.Equal`): two empty bytes values chain. Rust never delta-encodes a row
  // with a null value.
  const bool go = dialect == IdDialect::kGo;
  std::vector<uint8_t> delta(static_cast<size_t>(n), 0);
  for (int64_t i = 0; i < n; ++i) {
    if (!types_eq.IsValid(i)) continue;
    const uint8_t type = types[i];
    if (type > static_cast<uint8_t>(AnyValueType::kBytes)) {
      return Status::Invalid(table, ".type: unknown attribute type ",
                             static_cast<int>(type), " at row ", i);
    }
    if (i == 0 || !types_eq.IsValid(i - 1) || types[i - 1] != type) continue;
    if (go) {
      const auto value_type = static_cast<AnyValueType>(type);
      if (value_type == AnyValueType::kEmpty || value_type == AnyValueType::kMap ||
          value_type == AnyValueType::kSlice || !key_eq.EqualsPreviousNullAsZero(i)) {
        continue;
      }
    } else if (!key_eq.IsValid(i) || !key_eq.EqualsPrevious(i)) {
      continue;
    }
    const auto& values = value_eq[type];  // absent for Empty, Map and Slice
    if (go) {
      delta[static_cast<size_t>(i)] = !values || values->EqualsPreviousNullAsZero(i);
      continue;
    }
    if (!values || !values->IsValid(i)) continue;
    delta[static_cast<size_t>(i)] = values->EqualsPrevious(i);
  }
  return delta;
}

// Rows whose parent_id is a delta under quasi-delta on `columns` (a missing column
// counts as all null, so as equal, like upstream's).
//
// Rust compares the rows with arrow-rs's `eq` kernel and reads the result with
// `BooleanArray::value`, which ignores validity (otap-dataflow pdata
// `otap/transform.rs:567-573` decoding, `transport_optimize.rs:1234-1241` encoding):
// the values stored under nulls take part. arrow-rs builders store 0 there, so to
// Rust a null exemplar value equals a valid 0 or +0.0 (and a null int_value next to
// a valid double_value compares the two stored 0s). The Rust dialect compares the
// same way (EncodeTransportIds first zeroes what lies under nulls, see
// RustEqualityColumn).
arrow::Result<std::vector<uint8_t>> ColumnsDeltaRows(
    const arrow::RecordBatch& batch, const std::vector<const char*>& columns,
    IdDialect dialect) {
  const FloatEquality floats = FloatsOf(dialect);
  const bool raw = dialect == IdDialect::kRust;
  std::vector<uint8_t> delta(static_cast<size_t>(batch.num_rows()), 1);
  if (!delta.empty()) delta[0] = 0;
  for (const char* name : columns) {
    auto column = batch.GetColumnByName(name);
    if (!column) continue;
    ARROW_ASSIGN_OR_RAISE(auto eq, EqualsPrevious(*column, floats, raw));
    for (size_t i = 0; i < delta.size(); ++i) delta[i] &= eq[i];
  }
  return delta;
}

// An equality column as the Rust dialect sends it, so that Rust's comparison of the
// stored values (ColumnsDeltaRows) sees what ours saw: zeros under null fixed-width
// values (Arrow C++ kernels such as Take may leave anything there), and strings
// without nulls, as Rust's producer writes span event names (`encode/mod.rs:168`
// `unwrap_or_default`): the wire dictionary-encodes them and a null's key is 0, which
// Rust would compare with the string of key 0. OTLP reads a null and an empty name
// alike.
arrow::Result<std::shared_ptr<arrow::Array>> RustEqualityColumn(
    std::shared_ptr<arrow::Array> column) {
  return ZeroUnderNulls(std::move(column), /*keep_validity=*/true);
}

template <typename ArrowType, bool kEncode>
arrow::Result<std::shared_ptr<arrow::Array>> TransformTyped(
    const arrow::Array& ids, const std::vector<uint8_t>& delta_rows,
    arrow::MemoryPool* pool) {
  using C = typename ArrowType::c_type;
  const auto& typed = static_cast<const arrow::NumericArray<ArrowType>&>(ids);
  const int64_t n = typed.length();
  ARROW_ASSIGN_OR_RAISE(std::shared_ptr<arrow::Buffer> values,
                        arrow::AllocateBuffer(n * static_cast<int64_t>(sizeof(C)), pool));
  C* out = reinterpret_cast<C*>(values->mutable_data());
  C running = 0;  // the last non-null plain value
  const uint8_t* bits = typed.null_count() != 0 ? typed.null_bitmap_data() : nullptr;
  for (int64_t i = 0; i < n; ++i) {
    if (bits && !arrow::bit_util::GetBit(bits, typed.offset() + i)) {
      out[i] = 0;
      continue;
    }
    const C value = typed.Value(i);
    if constexpr (kEncode) {
      out[i] = delta_rows[i] ? static_cast<C>(value - running) : value;
      running = value;
    } else {
      running = delta_rows[i] ? static_cast<C>(running + value) : value;
      out[i] = running;
    }
  }
  ARROW_ASSIGN_OR_RAISE(auto validity, ValidityOf(ids, pool));
  const int64_t null_count = validity ? ids.null_count() : 0;
  return std::make_shared<arrow::NumericArray<ArrowType>>(
      n, std::move(values), std::move(validity), null_count);
}

arrow::Result<std::shared_ptr<arrow::Array>> TransformIds(
    const arrow::Array& ids, const std::vector<uint8_t>& delta_rows, bool encode,
    const std::string& path, arrow::MemoryPool* pool) {
  switch (ids.type_id()) {
    case Type::UINT16:
      return encode ? TransformTyped<arrow::UInt16Type, true>(ids, delta_rows, pool)
                    : TransformTyped<arrow::UInt16Type, false>(ids, delta_rows, pool);
    case Type::UINT32:
      return encode ? TransformTyped<arrow::UInt32Type, true>(ids, delta_rows, pool)
                    : TransformTyped<arrow::UInt32Type, false>(ids, delta_rows, pool);
    default:
      return Status::TypeError(path, ": id column has type ", ids.type()->ToString(),
                               "; expected uint16 or uint32 (normalize first)");
  }
}

// Whether the field's metadata marks it plain (missing metadata: encoded).
arrow::Result<bool> IsPlain(const arrow::Field& field, const std::string& path) {
  const auto& metadata = field.metadata();
  if (!metadata) return false;
  const int index = metadata->FindKey(kEncodingMetadataKey);
  if (index < 0) return false;
  const std::string& value = metadata->value(index);
  if (value == kEncodingPlain) return true;
  if (value == kEncodingDelta || value == kEncodingQuasiDelta) return false;
  return Status::Invalid(path, ": unknown id encoding '", value, "'");
}

// Whether the field carries `encoding` metadata (Rust producers write it, Go's never).
bool HasEncodingMetadata(const arrow::Field& field) {
  return field.metadata() && field.metadata()->FindKey(kEncodingMetadataKey) >= 0;
}

arrow::Result<std::vector<uint8_t>> DeltaRows(const arrow::RecordBatch& batch, PT type,
                                              const IdColumnSpec& spec,
                                              IdDialect dialect) {
  switch (spec.scheme) {
    case Scheme::kDelta:
      return std::vector<uint8_t>(static_cast<size_t>(batch.num_rows()), 1);
    case Scheme::kColumns:
      return ColumnsDeltaRows(batch, spec.equality_columns, dialect);
    case Scheme::kAttributes:
      return AttributeDeltaRows(batch, std::string(TableName(type)), dialect);
  }
  return Status::UnknownError("unreachable id scheme");
}

// The id field as TransformTable leaves it: decoded ids say `plain`; encoded ones
// their encoding, or nothing for Go (whose producer writes no metadata).
std::shared_ptr<arrow::Field> FieldAfter(const std::shared_ptr<arrow::Field>& field,
                                         bool encode, IdDialect dialect,
                                         const char* encoding) {
  if (!encode) return WithEncoding(field, kEncodingPlain);
  return dialect == IdDialect::kGo ? WithoutEncoding(field)
                                   : WithEncoding(field, encoding);
}

// Encoding uses `dialect`'s rules; decoding the producer's, told by the field's
// `encoding` metadata (none: Go).
arrow::Result<std::shared_ptr<arrow::RecordBatch>> TransformTable(
    PT type, std::shared_ptr<arrow::RecordBatch> batch, bool encode, IdDialect dialect,
    arrow::MemoryPool* pool) {
  for (const auto& spec : IdColumnsOf(type)) {
    const std::string path = ColumnPath(type, spec.parent_struct, spec.column);
    const char* encoding =
        spec.scheme == Scheme::kDelta ? kEncodingDelta : kEncodingQuasiDelta;
    const char* top_name = spec.parent_struct ? spec.parent_struct : spec.column;
    const int index = batch->schema()->GetFieldIndex(top_name);
    if (index < 0) continue;
    // A copy: equality columns may be replaced below (a new schema).
    const std::shared_ptr<arrow::Field> top_field = batch->schema()->field(index);
    if (!spec.parent_struct) {
      if (!encode) {
        ARROW_ASSIGN_OR_RAISE(const bool plain, IsPlain(*top_field, path));
        if (plain) continue;
      }
      if (encode && dialect == IdDialect::kRust && spec.scheme == Scheme::kColumns) {
        for (const char* name : spec.equality_columns) {
          const int c = batch->schema()->GetFieldIndex(name);
          if (c < 0) continue;
          ARROW_ASSIGN_OR_RAISE(auto column, RustEqualityColumn(batch->column(c)));
          if (column == batch->column(c)) continue;
          ARROW_ASSIGN_OR_RAISE(
              batch, batch->SetColumn(c, batch->schema()->field(c), std::move(column)));
        }
      }
      const IdDialect rules = encode                            ? dialect
                              : HasEncodingMetadata(*top_field) ? IdDialect::kRust
                                                                : IdDialect::kGo;
      ARROW_ASSIGN_OR_RAISE(auto delta_rows, DeltaRows(*batch, type, spec, rules));
      ARROW_ASSIGN_OR_RAISE(auto column, TransformIds(*batch->column(index), delta_rows,
                                                      encode, path, pool));
      ARROW_ASSIGN_OR_RAISE(
          batch, batch->SetColumn(index, FieldAfter(top_field, encode, dialect, encoding),
                                  column));
      continue;
    }
    const auto& column = batch->column(index);
    if (column->type_id() != Type::STRUCT) {
      return Status::TypeError(TableName(type), ".", top_name,
                               ": expected a struct, got ", column->type()->ToString());
    }
    const auto& struct_array = static_cast<const arrow::StructArray&>(*column);
    const int child_index = struct_array.struct_type()->GetFieldIndex(spec.column);
    if (child_index < 0) continue;
    const auto& child_field = struct_array.struct_type()->field(child_index);
    if (!encode) {
      ARROW_ASSIGN_OR_RAISE(const bool plain, IsPlain(*child_field, path));
      if (plain) continue;
    }
    // Struct children (resource.id, scope.id) are plain deltas: no float equality.
    ARROW_ASSIGN_OR_RAISE(auto delta_rows,
                          DeltaRows(*batch, type, spec, IdDialect::kRust));
    ARROW_ASSIGN_OR_RAISE(auto child, TransformIds(*struct_array.field(child_index),
                                                   delta_rows, encode, path, pool));
    ARROW_ASSIGN_OR_RAISE(
        auto new_struct,
        ReplaceStructChild(struct_array, child_index,
                           FieldAfter(child_field, encode, dialect, encoding),
                           std::move(child), pool));
    ARROW_ASSIGN_OR_RAISE(
        batch,
        batch->SetColumn(index, top_field->WithType(new_struct->type()), new_struct));
  }
  return batch;
}

arrow::Result<OtapBatch> TransformBatch(const OtapBatch& batch, bool encode,
                                        IdDialect dialect, arrow::MemoryPool* pool) {
  OtapBatch result(batch.signal());
  for (PT type : batch.payload_types()) {
    ARROW_ASSIGN_OR_RAISE(auto table,
                          TransformTable(type, batch.Get(type), encode, dialect, pool));
    result.Set(type, std::move(table));
  }
  return result;
}

// ---------------------------------------------------------------------------------
// Dense remapping

// Whether a vector over [min, max] beats a hash map for `count` ids.
bool UseDenseRange(uint32_t min_id, uint32_t max_id, int64_t count) {
  return static_cast<int64_t>(max_id - min_id) < 4 * count + 1024;
}

// Old id → new id, assigned in order of first appearance.
class IdMap {
 public:
  static constexpr uint32_t kAbsent = std::numeric_limits<uint32_t>::max();

  // Assigns new ids to `ids`; returns the map and the new values per row (0 for nulls).
  static arrow::Result<std::pair<IdMap, std::vector<uint32_t>>> Assign(
      const arrow::Array& ids, uint32_t max_new_id, const std::string& path) {
    IdMap map;
    uint32_t min_id = kAbsent, max_id = 0;
    int64_t count = 0;
    auto st = VisitIds(ids, [&](int64_t, uint32_t id) {
      min_id = std::min(min_id, id);
      max_id = std::max(max_id, id);
      ++count;
    });
    if (!st.ok()) return st.WithMessage(path, ": ", st.message());
    map.dense_ = count > 0 && UseDenseRange(min_id, max_id, count);
    if (map.dense_) {
      map.min_id_ = min_id;
      map.dense_map_.assign(static_cast<size_t>(max_id - min_id) + 1, kAbsent);
    } else {
      map.sparse_map_.reserve(static_cast<size_t>(count));
    }
    std::vector<uint32_t> new_ids(static_cast<size_t>(ids.length()), 0);
    uint32_t next = 0;
    bool overflow = false;
    ARROW_RETURN_NOT_OK(VisitIds(ids, [&](int64_t row, uint32_t id) {
      uint32_t* slot;
      if (map.dense_) {
        slot = &map.dense_map_[id - map.min_id_];
      } else {
        slot = &map.sparse_map_.try_emplace(id, kAbsent).first->second;
      }
      if (*slot == kAbsent) {
        if (next > max_new_id) overflow = true;
        *slot = next++;
      }
      new_ids[static_cast<size_t>(row)] = *slot;
    }));
    if (overflow) {
      return Status::CapacityError(path, ": ", next, " distinct ids exceed the ",
                                   static_cast<uint64_t>(max_new_id) + 1,
                                   " a batch may hold");
    }
    return std::make_pair(std::move(map), std::move(new_ids));
  }

  bool dense() const { return dense_; }
  // Dense maps only.
  uint32_t FindDense(uint32_t id) const {
    const uint32_t slot = id - min_id_;  // wraps for id < min_id_
    return slot < dense_map_.size() ? dense_map_[slot] : kAbsent;
  }

  uint32_t Find(uint32_t id) const {
    if (dense_) {
      if (id < min_id_ || id - min_id_ >= dense_map_.size()) return kAbsent;
      return dense_map_[id - min_id_];
    }
    auto it = sparse_map_.find(id);
    return it == sparse_map_.end() ? kAbsent : it->second;
  }

 private:
  bool dense_ = true;
  uint32_t min_id_ = 0;
  std::vector<uint32_t> dense_map_;
  std::unordered_map<uint32_t, uint32_t> sparse_map_;
};

uint32_t MaxValueOf(const arrow::DataType& type) {
  return type.id() == Type::UINT16 ? std::numeric_limits<uint16_t>::max()
                                   : std::numeric_limits<uint32_t>::max() - 1;
}

template <typename ArrowType>
arrow::Result<std::shared_ptr<arrow::Array>> MakeIdArrayTyped(
    const std::vector<uint32_t>& values, std::shared_ptr<arrow::Buffer> validity,
    int64_t null_count) {
  using C = typename ArrowType::c_type;
  const auto n = static_cast<int64_t>(values.size());
  ARROW_ASSIGN_OR_RAISE(std::shared_ptr<arrow::Buffer> buffer,
                        arrow::AllocateBuffer(n * static_cast<int64_t>(sizeof(C))));
  C* out = reinterpret_cast<C*>(buffer->mutable_data());
  for (int64_t i = 0; i < n; ++i) out[i] = static_cast<C>(values[i]);
  return std::make_shared<arrow::NumericArray<ArrowType>>(
      n, std::move(buffer), std::move(validity), null_count);
}

// An id column of `type` (UInt16 or UInt32); values must fit (callers check).
arrow::Result<std::shared_ptr<arrow::Array>> MakeIdArray(
    const arrow::DataType& type, const std::vector<uint32_t>& values,
    std::shared_ptr<arrow::Buffer> validity, int64_t null_count) {
  if (type.id() == Type::UINT16) {
    return MakeIdArrayTyped<arrow::UInt16Type>(values, std::move(validity), null_count);
  }
  return MakeIdArrayTyped<arrow::UInt32Type>(values, std::move(validity), null_count);
}

// Renumbers an id array densely; returns the map and the new column of `type`.
arrow::Result<std::pair<IdMap, std::shared_ptr<arrow::Array>>> RenumberIds(
    const arrow::Array& ids, const arrow::DataType& type, const std::string& path) {
  ARROW_ASSIGN_OR_RAISE(auto assigned, IdMap::Assign(ids, MaxValueOf(type), path));
  ARROW_ASSIGN_OR_RAISE(auto validity, ValidityOf(ids));
  const int64_t null_count = validity ? ids.null_count() : 0;
  ARROW_ASSIGN_OR_RAISE(
      auto column, MakeIdArray(type, assigned.second, std::move(validity), null_count));
  return std::make_pair(std::move(assigned.first), std::move(column));
}

// The common case of RemapParentIds: UInt32 ids without nulls, a dense map and every
// row with a parent, written straight into the new column (one pass, no copy);
// nullptr when a row has no parent or a new id exceeds the target type (the general
// path then drops or reports them).
template <typename C>
arrow::Result<std::shared_ptr<arrow::Array>> RemapDenseParentIds(
    const arrow::ArrayData& ids, uint32_t max_value, const IdMap& parent_map) {
  const int64_t n = ids.length;
  const uint32_t* in = ids.GetValues<uint32_t>(1);
  ARROW_ASSIGN_OR_RAISE(std::shared_ptr<arrow::Buffer> buffer,
                        arrow::AllocateBuffer(n * static_cast<int64_t>(sizeof(C))));
  C* out = reinterpret_cast<C*>(buffer->mutable_data());
  // kAbsent exceeds every target type, so one maximum checks both.
  uint32_t max_new = 0;
  for (int64_t i = 0; i < n; ++i) {
    const uint32_t new_id = parent_map.FindDense(in[i]);
    max_new = std::max(max_new, new_id);
    out[i] = static_cast<C>(new_id);
  }
  if (max_new > max_value) return nullptr;
  return std::make_shared<arrow::NumericArray<typename arrow::CTypeTraits<C>::ArrowType>>(
      n, std::move(buffer));
}

// Rewrites `parent_id` through `parent_map`, dropping rows without a parent.
arrow::Result<std::shared_ptr<arrow::RecordBatch>> RemapParentIds(
    PT type, std::shared_ptr<arrow::RecordBatch> batch, const IdMap& parent_map,
    int64_t* orphans) {
  const std::string path = ColumnPath(type, nullptr, schema::kParentId);
  const int index = batch->schema()->GetFieldIndex(schema::kParentId);
  if (index < 0) return Status::KeyError(path, ": missing");
  const auto& target_type = *schema::ParentIdType(type);
  const uint32_t max_value = MaxValueOf(target_type);
  const int64_t n = batch->num_rows();
  const auto& ids = *batch->column_data(index);
  if (parent_map.dense() && ids.type->id() == Type::UINT32 && ids.GetNullCount() == 0 &&
      (target_type.id() == Type::UINT16 || target_type.id() == Type::UINT32)) {
    std::shared_ptr<arrow::Array> column;
    if (target_type.id() == Type::UINT16) {
      ARROW_ASSIGN_OR_RAISE(column,
                            RemapDenseParentIds<uint16_t>(ids, max_value, parent_map));
    } else {
      ARROW_ASSIGN_OR_RAISE(column,
                            RemapDenseParentIds<uint32_t>(ids, max_value, parent_map));
    }
    if (column) {
      const auto field = batch->schema()->field(index)->WithType(column->type());
      return batch->SetColumn(index, field, column);
    }
  }
  // Rows kept so far are [0, count) until the first row without a parent; only then
  // is a mask of the kept rows needed.
  std::vector<uint8_t> keep;
  std::vector<uint32_t> new_ids(static_cast<size_t>(n));
  size_t count = 0;
  bool overflow = false;
  auto st = VisitIds(*batch->column(index), [&](int64_t row, uint32_t id) {
    const uint32_t new_id = parent_map.Find(id);
    if (new_id == IdMap::kAbsent) return;
    overflow |= new_id > max_value;
    if (static_cast<size_t>(row) != count && keep.empty()) {
      keep.assign(static_cast<size_t>(n), 0);
      std::fill(keep.begin(), keep.begin() + static_cast<std::ptrdiff_t>(count), 1);
    }
    if (!keep.empty()) keep[static_cast<size_t>(row)] = 1;
    new_ids[count++] = new_id;
  });
  new_ids.resize(count);
  if (keep.empty() && static_cast<int64_t>(count) < n) {
    keep.assign(static_cast<size_t>(n), 0);
    std::fill(keep.begin(), keep.begin() + static_cast<std::ptrdiff_t>(count), 1);
  }
  if (!st.ok()) return st.WithMessage(path, ": ", st.message());
  if (overflow) {
    return Status::CapacityError(path, ": parent ids exceed ", target_type.ToString());
  }
  const auto kept = static_cast<int64_t>(new_ids.size());
  if (kept < n) {
    *orphans += n - kept;
    ARROW_RETURN_NOT_OK(EnsureComputeInitialized());
    arrow::BooleanBuilder mask_builder;
    ARROW_RETURN_NOT_OK(mask_builder.AppendValues(keep.data(), n));
    ARROW_ASSIGN_OR_RAISE(auto mask, mask_builder.Finish());
    ARROW_ASSIGN_OR_RAISE(auto filtered, arrow::compute::Filter(batch, mask));
    batch = filtered.record_batch();
  }
  ARROW_ASSIGN_OR_RAISE(auto column, MakeIdArray(target_type, new_ids, nullptr, 0));
  const auto field = batch->schema()->field(index)->WithType(column->type());
  return batch->SetColumn(index, field, column);
}

// Renumbers the table's own `id`; returns the map for its children.
arrow::Result<std::optional<IdMap>> RenumberOwnIds(
    PT type, std::shared_ptr<arrow::RecordBatch>* batch) {
  const int index = (*batch)->schema()->GetFieldIndex(schema::kId);
  const auto id_type = schema::IdType(type);
  if (index < 0 || !id_type) return std::nullopt;
  ARROW_ASSIGN_OR_RAISE(auto renumbered,
                        RenumberIds(*(*batch)->column(index), *id_type,
                                    ColumnPath(type, nullptr, schema::kId)));
  const auto field =
      (*batch)->schema()->field(index)->WithType(renumbered.second->type());
  ARROW_ASSIGN_OR_RAISE(*batch, (*batch)->SetColumn(index, field, renumbered.second));
  return std::move(renumbered.first);
}

// Renumbers a root's `resource.id` or `scope.id`; nullopt when the struct is absent.
arrow::Result<std::optional<IdMap>> RenumberStructIds(
    PT type, const char* struct_name, std::shared_ptr<arrow::RecordBatch>* batch) {
  const int index = (*batch)->schema()->GetFieldIndex(struct_name);
  if (index < 0) return std::nullopt;
  const auto& column = (*batch)->column(index);
  const std::string path = ColumnPath(type, struct_name, schema::kId);
  if (column->type_id() != Type::STRUCT) {
    return Status::TypeError(path, ": parent column is not a struct");
  }
  const auto& struct_array = static_cast<const arrow::StructArray&>(*column);
  const int child_index = struct_array.struct_type()->GetFieldIndex(schema::kId);
  if (child_index < 0) return std::nullopt;
  ARROW_ASSIGN_OR_RAISE(auto renumbered, RenumberIds(*struct_array.field(child_index),
                                                     *arrow::uint16(), path));
  const auto child_field =
      struct_array.struct_type()->field(child_index)->WithType(arrow::uint16());
  ARROW_ASSIGN_OR_RAISE(auto new_struct,
                        ReplaceStructChild(struct_array, child_index, child_field,
                                           std::move(renumbered.second)));
  const auto field = (*batch)->schema()->field(index)->WithType(new_struct->type());
  ARROW_ASSIGN_OR_RAISE(*batch, (*batch)->SetColumn(index, field, new_struct));
  return std::move(renumbered.first);
}

}  // namespace

arrow::Result<std::shared_ptr<arrow::Array>> ZeroUnderNulls(
    std::shared_ptr<arrow::Array> column, bool keep_validity) {
  if (column->null_count() == 0) return column;
  const Type::type id = column->type_id();
  if (arrow::is_base_binary_like(id)) {
    ARROW_RETURN_NOT_OK(EnsureComputeInitialized());
    ARROW_ASSIGN_OR_RAISE(auto empty, arrow::MakeScalar(column->type(), std::string()));
    ARROW_ASSIGN_OR_RAISE(arrow::Datum filled,
                          arrow::compute::CallFunction("coalesce", {column, empty}));
    return filled.make_array();
  }
  if (id == Type::BOOL || !(id == Type::FIXED_SIZE_BINARY || arrow::is_primitive(id))) {
    return column;
  }
  const auto width = static_cast<int64_t>(
      static_cast<const arrow::FixedWidthType&>(*column->type()).bit_width() / 8);
  const arrow::ArrayData& data = *column->data();
  const int64_t n = column->length();
  ARROW_ASSIGN_OR_RAISE(std::shared_ptr<arrow::Buffer> values,
                        arrow::AllocateBuffer(n * width));
  uint8_t* out = values->mutable_data();
  std::memcpy(out, data.GetValues<uint8_t>(1, data.offset * width),
              static_cast<size_t>(n * width));
  for (int64_t i = 0; i < n; ++i) {
    if (column->IsNull(i)) std::memset(out + i * width, 0, static_cast<size_t>(width));
  }
  if (!keep_validity) {
    return arrow::MakeArray(
        arrow::ArrayData::Make(column->type(), n, {nullptr, std::move(values)}, 0));
  }
  ARROW_ASSIGN_OR_RAISE(auto validity, ValidityOf(*column));
  return arrow::MakeArray(arrow::ArrayData::Make(
      column->type(), n, {std::move(validity), std::move(values)}, column->null_count()));
}

arrow::Result<OtapBatch> DecodeTransportIds(const OtapBatch& batch,
                                            arrow::MemoryPool* pool) {
  // Decoding takes each field's rules from its metadata; the dialect is not used.
  return TransformBatch(batch, /*encode=*/false, IdDialect::kRust, pool);
}

arrow::Result<OtapBatch> EncodeTransportIds(const OtapBatch& batch, IdDialect dialect) {
  return TransformBatch(batch, /*encode=*/true, dialect, arrow::default_memory_pool());
}

// ---------------------------------------------------------------------------------
// ChildIndex

arrow::Result<ChildIndex> ChildIndex::Make(const arrow::Array& parent_ids) {
  if (parent_ids.length() > std::numeric_limits<int32_t>::max()) {
    return Status::CapacityError("ChildIndex: ", parent_ids.length(),
                                 " rows exceed INT32_MAX");
  }
  ChildIndex index;
  uint32_t min_id = IdMap::kAbsent, max_id = 0;
  int64_t count = 0;
  ARROW_RETURN_NOT_OK(VisitIds(parent_ids, [&](int64_t, uint32_t id) {
    min_id = std::min(min_id, id);
    max_id = std::max(max_id, id);
    ++count;
  }));
  if (count == 0) {
    index.offsets_.assign(1, 0);
    return index;
  }
  index.dense_ = UseDenseRange(min_id, max_id, count);
  // Pass 1: slot of each row, and counts per slot (shifted by one for the prefix sum).
  std::vector<uint32_t> row_slot(static_cast<size_t>(parent_ids.length()));
  if (index.dense_) {
    index.min_id_ = min_id;
    index.offsets_.assign(static_cast<size_t>(max_id - min_id) + 2, 0);
    ARROW_RETURN_NOT_OK(VisitIds(parent_ids, [&](int64_t row, uint32_t id) {
      row_slot[static_cast<size_t>(row)] = id - min_id;
      ++index.offsets_[id - min_id + 1];
    }));
  } else {
    index.offsets_.assign(1, 0);
    ARROW_RETURN_NOT_OK(VisitIds(parent_ids, [&](int64_t row, uint32_t id) {
      auto [it, inserted] = index.slot_of_.try_emplace(
          id, static_cast<uint32_t>(index.offsets_.size() - 1));
      if (inserted) index.offsets_.push_back(0);
      row_slot[static_cast<size_t>(row)] = it->second;
      ++index.offsets_[it->second + 1];
    }));
  }
  for (size_t i = 1; i < index.offsets_.size(); ++i) {
    index.offsets_[i] += index.offsets_[i - 1];
  }
  // Pass 2: rows in order, each slot filled from its start.
  index.rows_.resize(static_cast<size_t>(count));
  std::vector<int32_t> cursor(index.offsets_.begin(), index.offsets_.end() - 1);
  ARROW_RETURN_NOT_OK(VisitIds(parent_ids, [&](int64_t row, uint32_t) {
    const uint32_t slot = row_slot[static_cast<size_t>(row)];
    index.rows_[static_cast<size_t>(cursor[slot]++)] = static_cast<int32_t>(row);
  }));
  return index;
}

std::span<const int32_t> ChildIndex::Children(uint32_t parent_id) const {
  size_t slot;
  if (dense_) {
    if (parent_id < min_id_) return {};
    slot = parent_id - min_id_;
    if (slot + 1 >= offsets_.size()) return {};
  } else {
    auto it = slot_of_.find(parent_id);
    if (it == slot_of_.end()) return {};
    slot = it->second;
  }
  const auto begin = static_cast<size_t>(offsets_[slot]);
  const auto end = static_cast<size_t>(offsets_[slot + 1]);
  return std::span<const int32_t>(rows_.data() + begin, end - begin);
}

// ---------------------------------------------------------------------------------
// RemapIdsDense

arrow::Result<OtapBatch> RemapIdsDense(const OtapBatch& batch, RemapStats* stats) {
  OtapBatch result(batch.signal());
  std::array<std::optional<IdMap>, kPayloadTypeSlots> id_maps;
  std::optional<IdMap> resource_map, scope_map;
  int64_t orphans = 0;
  // PayloadTypesOf lists every parent before its children.
  for (PT type : batch.payload_types()) {
    auto table = batch.Get(type);
    const auto parent = ParentOf(type, batch.signal());
    if (parent) {
      const IdMap* parent_map = nullptr;
      if (type == PT::kResourceAttrs) {
        parent_map = resource_map ? &*resource_map : nullptr;
      } else if (type == PT::kScopeAttrs) {
        parent_map = scope_map ? &*scope_map : nullptr;
      } else {
        const auto& map = id_maps[static_cast<size_t>(*parent)];
        parent_map = map ? &*map : nullptr;
      }
      if (!parent_map) {
        // No parent table (or no ids in it): every row is an orphan.
        orphans += table->num_rows();
        continue;
      }
      ARROW_ASSIGN_OR_RAISE(
          table, RemapParentIds(type, std::move(table), *parent_map, &orphans));
    }
    if (IsRoot(type)) {
      ARROW_ASSIGN_OR_RAISE(resource_map,
                            RenumberStructIds(type, schema::kResource, &table));
      ARROW_ASSIGN_OR_RAISE(scope_map, RenumberStructIds(type, schema::kScope, &table));
    }
    ARROW_ASSIGN_OR_RAISE(id_maps[static_cast<size_t>(type)],
                          RenumberOwnIds(type, &table));
    result.Set(type, std::move(table));
  }
  if (stats) stats->orphan_rows = orphans;
  return result;
}

}  // namespace otap_parquet
