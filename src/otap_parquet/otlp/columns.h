// SPDX-License-Identifier: Apache-2.0
#pragma once

/// \file
/// Column builders and readers shared by the OTLP ⇄ OTAP converters: AnyValue
/// columns (attribute tables and logs.body), attribute tables, and the resource /
/// scope columns of root tables. Internal to otlp/.

#include <algorithm>
#include <array>
#include <cstdint>
#include <memory>
#include <string>
#include <type_traits>
#include <unordered_map>
#include <vector>

#include <arrow/api.h>

#include "otap_parquet/otlp/otlp_types.h"
#include "otap_parquet/pdata/ids.h"
#include "otap_parquet/pdata/otap_batch.h"
#include "otap_parquet/schema/otap_schema.h"

namespace otap_parquet::otlp::internal {

// Appending without a Status on the common path (a non-inlined ~Status per value
// showed in profiles): check for room, grow (doubling) only when there is none,
// then UnsafeAppend.

/// Whether `builder` takes one more value without growing.
template <typename Builder>
bool HasRoom(const Builder& builder) {
  return builder.length() < builder.capacity();
}
/// Whether a binary/string `builder` takes one more value of `bytes` bytes.
template <typename Builder>
bool HasRoomFor(const Builder& builder, size_t bytes) {
  return HasRoom(builder) && builder.value_data_length() + static_cast<int64_t>(bytes) <=
                                 builder.value_data_capacity();
}
template <typename Builder>
arrow::Status MakeRoom(Builder* builder) {
  return builder->Reserve(std::max<int64_t>(1024, builder->length()));
}
template <typename Builder>
arrow::Status MakeRoomFor(Builder* builder, size_t bytes) {
  ARROW_RETURN_NOT_OK(MakeRoom(builder));
  return builder->ReserveData(
      std::max<int64_t>(static_cast<int64_t>(bytes), builder->value_data_length()));
}

/// Builds the seven AnyValue columns (type, str, int, double, bool, bytes, ser).
class AnyValueBuilder {
 public:
  /// Appends a value; an AnyValue with nothing set is type Empty.
  arrow::Status Append(const pb::common::AnyValue& value);
  /// Appends an Empty value (type 0, every value column null).
  arrow::Status AppendEmpty();
  /// Appends one scalar value.
  arrow::Status AppendStr(std::string_view value);
  arrow::Status AppendInt(int64_t value);
  arrow::Status AppendDouble(double value);
  arrow::Status AppendBool(bool value);
  arrow::Status AppendBytes(std::string_view value);
  arrow::Status Reserve(int64_t rows);
  /// Room for `rows` rows and `str_bytes` bytes of string values.
  arrow::Status Reserve(int64_t rows, int64_t str_bytes);
  int64_t str_bytes() const { return str_.value_data_length(); }
  /// The seven columns; the builder is empty afterwards, also on failure.
  arrow::Result<arrow::ArrayVector> Finish();
  /// Drops every row appended so far.
  void Reset();
  int64_t length() const { return type_.length(); }

 private:
  // A row puts a value in one value column (str, int, double, bool, bytes, ser)
  // or none. Value columns hold only their values while appending (no null per
  // row of another type: with mixed types that was a tenth of the decode); Finish
  // spreads each to one row per type row, nulls where the type is another.
  static constexpr int kValueColumns = 6;
  // Value column per AnyValue type: index into (str, int, double, bool, bytes, ser).
  enum Column { kStrCol = 0, kIntCol, kDoubleCol, kBoolCol, kBytesCol, kSerCol };
  /// Appends a row of `type` with `value` in value column (`builder`).
  template <typename Builder, typename Value>
  arrow::Status AppendRow(schema::AnyValueType type, Builder* builder, Value value);
  arrow::Status AppendType(schema::AnyValueType type);
  /// Value column `column` finished and spread over the rows of `types`.
  arrow::Result<std::shared_ptr<arrow::Array>> FinishSpread(
      int column, const arrow::UInt8Array& types);
  arrow::ArrayBuilder* ValueColumn(int column);
  arrow::UInt8Builder type_;
  arrow::StringBuilder str_;
  arrow::Int64Builder int_;
  arrow::DoubleBuilder double_;
  arrow::BooleanBuilder bool_;
  arrow::BinaryBuilder bytes_;
  arrow::BinaryBuilder ser_;
  std::string scratch_;
};

/// Builds one attribute table (parent_id, key, AnyValue columns).
class AttributesBuilder {
 public:
  explicit AttributesBuilder(PayloadType type) : type_(type) {}
  arrow::Status Append(uint32_t parent_id, const pb::common::KeyValue& attribute);
  arrow::Status AppendAll(
      uint32_t parent_id,
      const google::protobuf::RepeatedPtrField<pb::common::KeyValue>& attrs);
  /// Starts a row: its parent and key; then append exactly one value to values().
  arrow::Status AppendKey(uint32_t parent_id, std::string_view key);
  AnyValueBuilder* values() { return &value_; }
  /// Sets the finished table into `batch` (nothing when no rows were appended);
  /// the builder is empty afterwards, also on failure.
  arrow::Status FinishInto(OtapBatch* batch);
  int64_t length() const { return key_.length(); }

 private:
  /// Sizes the builders for as many rows and bytes as this thread's previous
  /// table of this type had: requests of a stream are alike, and growing by
  /// doubling from empty copied every column several times (in profiles).
  arrow::Status Presize();
  /// FinishInto's work; FinishInto empties the builder when it fails.
  arrow::Status FinishTable(OtapBatch* batch);
  /// Room for a key of `bytes` bytes (out of line: the rare path of AppendKey).
  arrow::Status GrowKeys(size_t bytes);

  PayloadType type_;
  std::vector<uint32_t> parent_ids_;
  arrow::StringBuilder key_;
  AnyValueBuilder value_;
};

// The append paths, inline: they run for every attribute, and out of line each
// level returned a Status to destroy.

inline arrow::Status AnyValueBuilder::AppendType(schema::AnyValueType type) {
  if (ARROW_PREDICT_FALSE(!HasRoom(type_))) ARROW_RETURN_NOT_OK(MakeRoom(&type_));
  type_.UnsafeAppend(static_cast<uint8_t>(type));
  return arrow::Status::OK();
}

template <typename Builder, typename Value>
arrow::Status AnyValueBuilder::AppendRow(schema::AnyValueType type, Builder* builder,
                                         Value value) {
  if constexpr (std::is_base_of_v<arrow::BinaryBuilder, Builder>) {
    if (ARROW_PREDICT_FALSE(!HasRoomFor(*builder, value.size()))) {
      ARROW_RETURN_NOT_OK(MakeRoomFor(builder, value.size()));
    }
  } else {
    if (ARROW_PREDICT_FALSE(!HasRoom(*builder))) ARROW_RETURN_NOT_OK(MakeRoom(builder));
  }
  builder->UnsafeAppend(value);
  return AppendType(type);
}

inline arrow::Status AnyValueBuilder::AppendEmpty() {
  return AppendType(schema::AnyValueType::kEmpty);
}
inline arrow::Status AnyValueBuilder::AppendStr(std::string_view value) {
  return AppendRow(schema::AnyValueType::kStr, &str_, value);
}
inline arrow::Status AnyValueBuilder::AppendInt(int64_t value) {
  return AppendRow(schema::AnyValueType::kInt, &int_, value);
}
inline arrow::Status AnyValueBuilder::AppendDouble(double value) {
  return AppendRow(schema::AnyValueType::kDouble, &double_, value);
}
inline arrow::Status AnyValueBuilder::AppendBool(bool value) {
  return AppendRow(schema::AnyValueType::kBool, &bool_, value);
}
inline arrow::Status AnyValueBuilder::AppendBytes(std::string_view value) {
  return AppendRow(schema::AnyValueType::kBytes, &bytes_, value);
}

inline arrow::Status AttributesBuilder::AppendKey(uint32_t parent_id,
                                                  std::string_view key) {
  if (ARROW_PREDICT_FALSE(!HasRoomFor(key_, key.size()))) {
    ARROW_RETURN_NOT_OK(GrowKeys(key.size()));
  }
  parent_ids_.push_back(parent_id);
  key_.UnsafeAppend(key);
  return arrow::Status::OK();
}

/// Reads AnyValues out of the seven AnyValue columns of a canonical struct or table.
class AnyValueReader {
 public:
  /// `columns` in canonical order: type, str, int, double, bool, bytes, ser.
  explicit AnyValueReader(const arrow::ArrayVector& columns);
  /// Fills `out` from row `row`; `context` names the table for error messages.
  arrow::Status Read(int64_t row, pb::common::AnyValue* out,
                     std::string_view context) const;

 private:
  const arrow::UInt8Array* type_;
  const arrow::StringArray* str_;
  const arrow::Int64Array* int_;
  const arrow::DoubleArray* double_;
  const arrow::BooleanArray* bool_;
  const arrow::BinaryArray* bytes_;
  const arrow::BinaryArray* ser_;
};

/// Reads the attributes of parents out of one attribute table.
class AttributesReader {
 public:
  /// A reader of an absent table: no attributes for any parent.
  AttributesReader() = default;
  /// A reader over `batch` (may be null: no attributes at all).
  static arrow::Result<AttributesReader> Make(
      const std::shared_ptr<arrow::RecordBatch>& batch, PayloadType type);
  /// Appends the attributes whose parent_id is `parent_id` to `out`.
  arrow::Status AppendTo(
      uint32_t parent_id,
      google::protobuf::RepeatedPtrField<pb::common::KeyValue>* out) const;

 private:
  PayloadType type_ = PayloadType::kUnknown;
  std::shared_ptr<arrow::RecordBatch> batch_;
  std::shared_ptr<ChildIndex> index_;
  const arrow::StringArray* key_ = nullptr;
  std::unique_ptr<AnyValueReader> value_;
};

/// Builds the `resource`, `scope` and `schema_url` columns of a root table, and the
/// resource_attrs / scope_attrs tables. Resources and scopes get ids lazily, when
/// their first root row is appended to the current batch, so a request split over
/// several batches repeats them in each.
class ResourceScopeBuilder {
 public:
  ResourceScopeBuilder() = default;
  /// The next root rows belong to this resource (null: no resource message).
  void BeginResource(const pb::resource::Resource* resource,
                     const std::string* schema_url);
  /// The next root rows belong to this scope (null: no scope message).
  void BeginScope(const pb::common::InstrumentationScope* scope,
                  const std::string* schema_url);
  /// Appends the resource, scope and schema_url of one root row.
  arrow::Status AppendRow();
  /// Finishes the columns; appends resource and scope attribute tables to `batch`.
  arrow::Status Finish(OtapBatch* batch, std::shared_ptr<arrow::Array>* resource,
                       std::shared_ptr<arrow::Array>* scope,
                       std::shared_ptr<arrow::Array>* schema_url);

 private:
  const pb::resource::Resource* resource_ = nullptr;
  const std::string* resource_schema_url_ = nullptr;
  const pb::common::InstrumentationScope* scope_ = nullptr;
  const std::string* scope_schema_url_ = nullptr;
  int32_t resource_id_ = -1;  // id in the current batch, -1 before its first row
  int32_t scope_id_ = -1;
  uint16_t next_resource_id_ = 0;
  uint16_t next_scope_id_ = 0;

  // Consecutive rows of one resource and scope share every value of these
  // columns: they are kept as runs and expanded at Finish (appending them row by
  // row cost as much as the rest of a log record in profiles).
  struct Run {
    uint16_t resource_id = 0;
    uint16_t scope_id = 0;
    uint32_t resource_dropped = 0;
    uint32_t scope_dropped = 0;
    std::string resource_schema_url;
    std::string scope_name;
    std::string scope_version;
    std::string schema_url;
    int64_t rows = 0;
  };
  std::vector<Run> runs_;
  bool run_open_ = false;  ///< whether the next row extends runs_.back()

  arrow::UInt16Builder resource_id_col_;
  arrow::StringBuilder resource_schema_url_col_;
  arrow::UInt32Builder resource_dropped_col_;
  arrow::UInt16Builder scope_id_col_;
  arrow::StringBuilder scope_name_col_;
  arrow::StringBuilder scope_version_col_;
  arrow::UInt32Builder scope_dropped_col_;
  arrow::StringBuilder schema_url_col_;
  AttributesBuilder resource_attrs_{PayloadType::kResourceAttrs};
  AttributesBuilder scope_attrs_{PayloadType::kScopeAttrs};
};

/// Reads the resource and scope of root rows and groups rows into ResourceX/ScopeX.
struct ResourceScopeReader {
  static arrow::Result<ResourceScopeReader> Make(const OtapBatch& batch);

  /// Fills a Resource (with attributes) and its schema url from root row `row`.
  arrow::Status ReadResource(int64_t row, pb::resource::Resource* resource,
                             std::string* schema_url) const;
  /// Fills an InstrumentationScope and the ScopeX schema url from root row `row`.
  arrow::Status ReadScope(int64_t row, pb::common::InstrumentationScope* scope,
                          std::string* schema_url) const;
  /// Grouping keys: resource.id / scope.id, -1 when null.
  int64_t ResourceKey(int64_t row) const;
  int64_t ScopeKey(int64_t row) const;

  std::shared_ptr<arrow::StructArray> resource;
  std::shared_ptr<arrow::StructArray> scope;
  std::shared_ptr<arrow::StringArray> schema_url;
  AttributesReader resource_attrs;
  AttributesReader scope_attrs;

 private:
  ResourceScopeReader(AttributesReader r, AttributesReader s)
      : resource_attrs(std::move(r)), scope_attrs(std::move(s)) {}
};

/// Groups root rows into ResourceX / ScopeX messages of an OTLP request by their
/// `resource.id` and `scope.id`, in order of first appearance.
template <typename Request, typename ResourceX, typename ScopeX>
class RowGrouper {
 public:
  using AddResource = ResourceX* (*)(Request*);
  using AddScope = ScopeX* (*)(ResourceX*);

  RowGrouper(const ResourceScopeReader& reader, Request* request,
             AddResource add_resource, AddScope add_scope)
      : reader_(reader),
        request_(request),
        add_resource_(add_resource),
        add_scope_(add_scope) {}

  /// The ScopeX that root row `row` belongs in, created (with its resource and scope
  /// read from the row) on first use.
  arrow::Result<ScopeX*> ScopeFor(int64_t row) {
    const int64_t resource_key = reader_.ResourceKey(row);
    auto& resource_x = by_resource_[resource_key];
    if (resource_x == nullptr) {
      resource_x = add_resource_(request_);
      ARROW_RETURN_NOT_OK(reader_.ReadResource(row, resource_x->mutable_resource(),
                                               resource_x->mutable_schema_url()));
    }
    // Both keys are -1..65535: 17 bits each once shifted by one.
    auto& scope_x = by_scope_[(resource_key + 1) << 17 | (reader_.ScopeKey(row) + 1)];
    if (scope_x == nullptr) {
      scope_x = add_scope_(resource_x);
      ARROW_RETURN_NOT_OK(reader_.ReadScope(row, scope_x->mutable_scope(),
                                            scope_x->mutable_schema_url()));
    }
    return scope_x;
  }

 private:
  const ResourceScopeReader& reader_;
  Request* request_;
  AddResource add_resource_;
  AddScope add_scope_;
  std::unordered_map<int64_t, ResourceX*> by_resource_;
  std::unordered_map<int64_t, ScopeX*> by_scope_;
};

/// Typed column of a canonical record batch (by name; the schema is canonical).
template <typename ArrayType>
const ArrayType& Column(const arrow::RecordBatch& batch, const char* name) {
  return static_cast<const ArrayType&>(*batch.GetColumnByName(name));
}
template <typename ArrayType>
const ArrayType& Child(const arrow::StructArray& array, const char* name) {
  return static_cast<const ArrayType&>(*array.GetFieldByName(name));
}

/// Appends a trace id (16 bytes) or span id (8 bytes); empty → null; any other
/// length → Invalid naming `field`.
arrow::Status AppendId(arrow::FixedSizeBinaryBuilder* builder, std::string_view id,
                       int width, std::string_view field);
/// Value of a fixed-size-binary id column as bytes ("" when null).
std::string IdValue(const arrow::FixedSizeBinaryArray& array, int64_t row);
/// Value of a string column ("" when null).
inline std::string_view StringValue(const arrow::StringArray& array, int64_t row) {
  return array.IsValid(row) ? array.GetView(row) : std::string_view();
}
template <typename ArrayType>
auto ValueOr(const ArrayType& array, int64_t row, decltype(array.Value(0)) fallback) {
  return array.IsValid(row) ? array.Value(row) : fallback;
}

/// Builds a RecordBatch with the canonical schema of `type` from its columns.
std::shared_ptr<arrow::RecordBatch> MakeBatch(PayloadType type, int64_t rows,
                                              arrow::ArrayVector columns);
/// Builds a canonical struct array from children, with an optional validity bitmap.
arrow::Result<std::shared_ptr<arrow::Array>> MakeStruct(
    const std::shared_ptr<arrow::DataType>& type, arrow::ArrayVector children,
    std::shared_ptr<arrow::Buffer> validity = nullptr, int64_t null_count = 0);

/// Finishes a builder into an array.
template <typename Builder>
arrow::Result<std::shared_ptr<arrow::Array>> FinishArray(Builder* builder) {
  std::shared_ptr<arrow::Array> out;
  ARROW_RETURN_NOT_OK(builder->Finish(&out));
  return out;
}

/// Checks that an OTLP enum value is within its definition.
arrow::Status CheckEnum(int value, int max, std::string_view field);

}  // namespace otap_parquet::otlp::internal
