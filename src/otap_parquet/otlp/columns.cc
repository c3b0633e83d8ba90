// SPDX-License-Identifier: Apache-2.0
#include "otap_parquet/otlp/columns.h"

#include <cstring>
#include <type_traits>

#include <arrow/util/bitmap_generate.h>

#include "otap_parquet/cbor/any_value_cbor.h"
#include "otap_parquet/schema/otap_schema.h"

namespace otap_parquet::otlp::internal {

using arrow::Status;
using schema::AnyValueType;

// ---------------------------------------------------------------- AnyValueBuilder

Status AnyValueBuilder::Reserve(int64_t rows) {
  ARROW_RETURN_NOT_OK(type_.Reserve(rows));
  ARROW_RETURN_NOT_OK(str_.Reserve(rows));
  ARROW_RETURN_NOT_OK(int_.Reserve(rows));
  ARROW_RETURN_NOT_OK(double_.Reserve(rows));
  ARROW_RETURN_NOT_OK(bool_.Reserve(rows));
  ARROW_RETURN_NOT_OK(bytes_.Reserve(rows));
  return ser_.Reserve(rows);
}

Status AnyValueBuilder::Reserve(int64_t rows, int64_t str_bytes) {
  ARROW_RETURN_NOT_OK(Reserve(rows));
  return str_.ReserveData(str_bytes);
}

arrow::ArrayBuilder* AnyValueBuilder::ValueColumn(int column) {
  switch (column) {
    case kStrCol:
      return &str_;
    case kIntCol:
      return &int_;
    case kDoubleCol:
      return &double_;
    case kBoolCol:
      return &bool_;
    case kBytesCol:
      return &bytes_;
    default:
      return &ser_;
  }
}

namespace {

/// The AnyValue types whose rows hold their value in value column `column` (one
/// type, or two for the ser column: map and slice).
struct ColumnTypes {
  uint8_t a, b;
  bool Holds(uint8_t type) const { return (type == a) | (type == b); }
};
ColumnTypes TypesOf(int column) {
  constexpr auto code = [](AnyValueType t) { return static_cast<uint8_t>(t); };
  switch (column) {
    case 0:
      return {code(AnyValueType::kStr), code(AnyValueType::kStr)};
    case 1:
      return {code(AnyValueType::kInt), code(AnyValueType::kInt)};
    case 2:
      return {code(AnyValueType::kDouble), code(AnyValueType::kDouble)};
    case 3:
      return {code(AnyValueType::kBool), code(AnyValueType::kBool)};
    case 4:
      return {code(AnyValueType::kBytes), code(AnyValueType::kBytes)};
    default:
      return {code(AnyValueType::kMap), code(AnyValueType::kSlice)};
  }
}

/// The validity of the rows that hold a value of `column`, by type.
arrow::Result<std::shared_ptr<arrow::Buffer>> SpreadValidity(const uint8_t* types,
                                                             int64_t rows,
                                                             ColumnTypes column) {
  ARROW_ASSIGN_OR_RAISE(auto validity, arrow::AllocateEmptyBitmap(rows));
  arrow::internal::GenerateBitsUnrolled(
      validity->mutable_data(), 0, rows,
      [&, row = int64_t{0}]() mutable { return column.Holds(types[row++]); });
  return validity;
}

/// A column of `rows` nulls of `type` (fixed width or binary), its buffers slices
/// of one zeroed buffer kept by the thread: most tables leave several value
/// columns unused, and zeroing them for every table showed in profiles.
arrow::Result<std::shared_ptr<arrow::Array>> NullColumn(
    const std::shared_ptr<arrow::DataType>& type, int64_t rows) {
  thread_local std::shared_ptr<arrow::Buffer> zeros;
  constexpr int64_t kKeptBytes = 16 << 20;  // larger ones are not kept
  const int64_t bytes = (rows + 1) * 8;     // the widest buffer: 8-byte values
  if (bytes > kKeptBytes) return arrow::MakeArrayOfNull(type, rows);
  if (zeros == nullptr || zeros->size() < bytes) {
    const int64_t size = std::max<int64_t>(
        bytes, std::min<int64_t>(kKeptBytes, zeros ? 2 * zeros->size() : 64 << 10));
    ARROW_ASSIGN_OR_RAISE(auto made, arrow::AllocateBuffer(size));
    std::memset(made->mutable_data(), 0, static_cast<size_t>(size));
    zeros = std::move(made);
  }
  const auto bitmap = arrow::SliceBuffer(zeros, 0, arrow::bit_util::BytesForBits(rows));
  std::vector<std::shared_ptr<arrow::Buffer>> buffers;
  switch (type->id()) {
    case arrow::Type::STRING:
    case arrow::Type::BINARY:
      buffers = {bitmap, arrow::SliceBuffer(zeros, 0, (rows + 1) * 4),
                 arrow::SliceBuffer(zeros, 0, 0)};
      break;
    case arrow::Type::BOOL:
      buffers = {bitmap, bitmap};
      break;
    case arrow::Type::INT64:
    case arrow::Type::DOUBLE:
      buffers = {bitmap, arrow::SliceBuffer(zeros, 0, rows * 8)};
      break;
    default:
      return arrow::MakeArrayOfNull(type, rows);
  }
  return arrow::MakeArray(arrow::ArrayData::Make(type, rows, std::move(buffers), rows));
}

}  // namespace

arrow::Result<std::shared_ptr<arrow::Array>> AnyValueBuilder::FinishSpread(
    int column, const arrow::UInt8Array& types) {
  arrow::ArrayBuilder* builder = ValueColumn(column);
  const int64_t rows = types.length();
  const int64_t values = builder->length();
  std::shared_ptr<arrow::ArrayData> dense;
  ARROW_RETURN_NOT_OK(builder->FinishInternal(&dense));
  if (values == rows) return arrow::MakeArray(dense);  // every row holds one
  if (values == 0) return NullColumn(dense->type, rows);
  const uint8_t* type = types.raw_values();
  const ColumnTypes holds = TypesOf(column);
  ARROW_ASSIGN_OR_RAISE(auto validity, SpreadValidity(type, rows, holds));
  std::shared_ptr<arrow::Buffer> data;
  switch (dense->type->id()) {
    case arrow::Type::STRING:
    case arrow::Type::BINARY: {
      // Rows without a value take no bytes: the value bytes stay as they are and
      // each row's end offset is the end of the last value at or before it.
      ARROW_ASSIGN_OR_RAISE(auto offsets,
                            arrow::AllocateBuffer((rows + 1) * sizeof(int32_t)));
      const int32_t* from = dense->GetValues<int32_t>(1);
      auto* to = reinterpret_cast<int32_t*>(offsets->mutable_data());
      int64_t next = 0;
      to[0] = from[0];
      for (int64_t row = 0; row < rows; ++row) {
        next += holds.Holds(type[row]);
        to[row + 1] = from[next];
      }
      return arrow::MakeArray(arrow::ArrayData::Make(
          dense->type, rows, {std::move(validity), std::move(offsets), dense->buffers[2]},
          rows - values));
    }
    case arrow::Type::BOOL: {
      ARROW_ASSIGN_OR_RAISE(data, arrow::AllocateEmptyBitmap(rows));
      const uint8_t* from = dense->buffers[1]->data();
      uint8_t* bits = data->mutable_data();
      int64_t next = 0;
      for (int64_t row = 0; row < rows; ++row) {
        if (!holds.Holds(type[row])) continue;
        if (arrow::bit_util::GetBit(from, dense->offset + next)) {
          arrow::bit_util::SetBit(bits, row);
        }
        ++next;
      }
      break;
    }
    default: {  // int64, double: 8-byte values, 0 under a null
      static_assert(sizeof(int64_t) == sizeof(double));
      ARROW_ASSIGN_OR_RAISE(data, arrow::AllocateBuffer(rows * sizeof(int64_t)));
      const int64_t* from = dense->GetValues<int64_t>(1);
      auto* to = reinterpret_cast<int64_t*>(data->mutable_data());
      int64_t next = 0;
      for (int64_t row = 0; row < rows; ++row) {
        to[row] = holds.Holds(type[row]) ? from[next++] : 0;
      }
      break;
    }
  }
  return arrow::MakeArray(arrow::ArrayData::Make(
      dense->type, rows, {std::move(validity), std::move(data)}, rows - values));
}

Status AnyValueBuilder::Append(const pb::common::AnyValue& value) {
  using V = pb::common::AnyValue;
  switch (value.value_case()) {
    case V::kStringValue:
      return AppendStr(value.string_value());
    case V::kIntValue:
      return AppendInt(value.int_value());
    case V::kDoubleValue:
      return AppendDouble(value.double_value());
    case V::kBoolValue:
      return AppendBool(value.bool_value());
    case V::kBytesValue:
      return AppendBytes(value.bytes_value());
    case V::kKvlistValue:
    case V::kArrayValue: {
      const bool is_map = value.value_case() == V::kKvlistValue;
      scratch_.clear();
      ARROW_RETURN_NOT_OK(cbor::EncodeAnyValue(value, &scratch_));
      return AppendRow(is_map ? AnyValueType::kMap : AnyValueType::kSlice, &ser_,
                       std::string_view(scratch_));
    }
    case V::kStringValueStrindex:
      // An index into a profiles string table: meaningless outside profiles.
      return Status::Invalid("string_value_strindex is only meaningful in OTLP profiles");
    case V::VALUE_NOT_SET:
      break;
  }
  return AppendEmpty();
}

arrow::Result<arrow::ArrayVector> AnyValueBuilder::Finish() {
  arrow::ArrayVector out(1 + kValueColumns);
  Status st = type_.Finish(&out[0]);
  for (int column = 0; st.ok() && column < kValueColumns; ++column) {
    auto spread = FinishSpread(column, static_cast<const arrow::UInt8Array&>(*out[0]));
    st = spread.status();
    if (st.ok()) out[1 + column] = std::move(*spread);
  }
  if (!st.ok()) {
    Reset();  // the next table starts empty, not with columns left unfinished
    return st;
  }
  return out;
}

void AnyValueBuilder::Reset() {
  type_.Reset();
  for (int column = 0; column < kValueColumns; ++column) ValueColumn(column)->Reset();
}

// -------------------------------------------------------------- AttributesBuilder

Status AttributesBuilder::Append(uint32_t parent_id,
                                 const pb::common::KeyValue& attribute) {
  ARROW_RETURN_NOT_OK(AppendKey(parent_id, attribute.key()));
  return attribute.has_value() ? value_.Append(attribute.value()) : value_.AppendEmpty();
}

namespace {

/// The size of the last attribute table of each type built on this thread.
struct AttributesSize {
  int64_t rows = 0;
  int64_t key_bytes = 0;
  int64_t str_bytes = 0;
};
thread_local std::array<AttributesSize, kPayloadTypeSlots> last_attributes_size;

}  // namespace

Status AttributesBuilder::Presize() {
  // Bounded, so one huge request does not make every later table reserve as much.
  constexpr int64_t kMaxRows = 1 << 20, kMaxBytes = 64 << 20;
  const AttributesSize& last = last_attributes_size[static_cast<int>(type_)];
  const int64_t rows = std::min(last.rows, kMaxRows);
  parent_ids_.reserve(static_cast<size_t>(rows));
  ARROW_RETURN_NOT_OK(key_.Reserve(rows));
  ARROW_RETURN_NOT_OK(key_.ReserveData(std::min(last.key_bytes, kMaxBytes)));
  return value_.Reserve(rows, std::min(last.str_bytes, kMaxBytes));
}

Status AttributesBuilder::GrowKeys(size_t bytes) {
  if (key_.length() == 0) ARROW_RETURN_NOT_OK(Presize());
  if (!HasRoomFor(key_, bytes)) ARROW_RETURN_NOT_OK(MakeRoomFor(&key_, bytes));
  return Status::OK();
}

Status AttributesBuilder::AppendAll(
    uint32_t parent_id,
    const google::protobuf::RepeatedPtrField<pb::common::KeyValue>& attrs) {
  for (const auto& attribute : attrs) ARROW_RETURN_NOT_OK(Append(parent_id, attribute));
  return Status::OK();
}

Status AttributesBuilder::FinishInto(OtapBatch* batch) {
  Status st = FinishTable(batch);
  if (!st.ok()) {
    // The next table starts empty: no ids, keys or values of this one left over.
    parent_ids_.clear();
    key_.Reset();
    value_.Reset();
  }
  return st;
}

Status AttributesBuilder::FinishTable(OtapBatch* batch) {
  const int64_t rows = length();
  if (rows == 0) return Status::OK();
  last_attributes_size[static_cast<int>(type_)] = {rows, key_.value_data_length(),
                                                   value_.str_bytes()};
  arrow::ArrayVector columns;
  columns.reserve(9);
  if (IsAttributes16(type_)) {
    arrow::UInt16Builder parent;
    ARROW_RETURN_NOT_OK(parent.Reserve(rows));
    for (uint32_t id : parent_ids_) parent.UnsafeAppend(static_cast<uint16_t>(id));
    ARROW_ASSIGN_OR_RAISE(auto array, FinishArray(&parent));
    columns.push_back(std::move(array));
  } else {
    arrow::UInt32Builder parent;
    ARROW_RETURN_NOT_OK(parent.AppendValues(parent_ids_));
    ARROW_ASSIGN_OR_RAISE(auto array, FinishArray(&parent));
    columns.push_back(std::move(array));
  }
  ARROW_ASSIGN_OR_RAISE(auto key, FinishArray(&key_));
  columns.push_back(std::move(key));
  ARROW_ASSIGN_OR_RAISE(auto values, value_.Finish());
  for (auto& value : values) columns.push_back(std::move(value));
  parent_ids_.clear();
  batch->Set(type_, MakeBatch(type_, rows, std::move(columns)));
  return Status::OK();
}

// ----------------------------------------------------------------- AnyValueReader

AnyValueReader::AnyValueReader(const arrow::ArrayVector& columns)
    : type_(static_cast<const arrow::UInt8Array*>(columns[0].get())),
      str_(static_cast<const arrow::StringArray*>(columns[1].get())),
      int_(static_cast<const arrow::Int64Array*>(columns[2].get())),
      double_(static_cast<const arrow::DoubleArray*>(columns[3].get())),
      bool_(static_cast<const arrow::BooleanArray*>(columns[4].get())),
      bytes_(static_cast<const arrow::BinaryArray*>(columns[5].get())),
      ser_(static_cast<const arrow::BinaryArray*>(columns[6].get())) {}

Status AnyValueReader::Read(int64_t row, pb::common::AnyValue* out,
                            std::string_view context) const {
  if (type_->IsNull(row)) return Status::OK();
  switch (static_cast<AnyValueType>(type_->Value(row))) {
    case AnyValueType::kEmpty:
      return Status::OK();
    case AnyValueType::kStr:
      out->set_string_value(std::string(StringValue(*str_, row)));
      return Status::OK();
    case AnyValueType::kInt:
      out->set_int_value(ValueOr(*int_, row, 0));
      return Status::OK();
    case AnyValueType::kDouble:
      out->set_double_value(ValueOr(*double_, row, 0.0));
      return Status::OK();
    case AnyValueType::kBool:
      // A missing bool is false (upstream writes an empty AnyValue, quirk Q10).
      out->set_bool_value(ValueOr(*bool_, row, false));
      return Status::OK();
    case AnyValueType::kBytes:
      out->set_bytes_value(bytes_->IsValid(row) ? std::string(bytes_->GetView(row))
                                                : std::string());
      return Status::OK();
    case AnyValueType::kMap:
    case AnyValueType::kSlice: {
      if (ser_->IsNull(row)) return Status::OK();
      auto st = cbor::DecodeAnyValue(ser_->GetView(row), out);
      if (!st.ok()) return st.WithMessage(context, " row ", row, ": ", st.message());
      return Status::OK();
    }
  }
  return Status::Invalid(context, " row ", row, ": unknown AnyValue type ",
                         static_cast<int>(type_->Value(row)));
}

// --------------------------------------------------------------- AttributesReader

arrow::Result<AttributesReader> AttributesReader::Make(
    const std::shared_ptr<arrow::RecordBatch>& batch, PayloadType type) {
  AttributesReader reader;
  reader.type_ = type;
  if (!batch || batch->num_rows() == 0) return reader;
  reader.batch_ = batch;
  ARROW_ASSIGN_OR_RAISE(auto index,
                        ChildIndex::Make(*batch->GetColumnByName(schema::kParentId)));
  reader.index_ = std::make_shared<ChildIndex>(std::move(index));
  reader.key_ = &Column<arrow::StringArray>(*batch, schema::kKey);
  arrow::ArrayVector values;
  for (const char* name : {schema::kType, schema::kStr, schema::kInt, schema::kDouble,
                           schema::kBool, schema::kBytes, schema::kSer}) {
    values.push_back(batch->GetColumnByName(name));
  }
  reader.value_ = std::make_unique<AnyValueReader>(values);
  return reader;
}

Status AttributesReader::AppendTo(
    uint32_t parent_id,
    google::protobuf::RepeatedPtrField<pb::common::KeyValue>* out) const {
  if (!index_) return Status::OK();
  for (int32_t row : index_->Children(parent_id)) {
    auto* attribute = out->Add();
    attribute->set_key(std::string(StringValue(*key_, row)));
    ARROW_RETURN_NOT_OK(value_->Read(row, attribute->mutable_value(), TableName(type_)));
  }
  return Status::OK();
}

// ----------------------------------------------------------- ResourceScopeBuilder

void ResourceScopeBuilder::BeginResource(const pb::resource::Resource* resource,
                                         const std::string* schema_url) {
  resource_ = resource;
  resource_schema_url_ = schema_url;
  resource_id_ = -1;
  run_open_ = false;
}

void ResourceScopeBuilder::BeginScope(const pb::common::InstrumentationScope* scope,
                                      const std::string* schema_url) {
  scope_ = scope;
  scope_schema_url_ = schema_url;
  scope_id_ = -1;
  run_open_ = false;
}

Status ResourceScopeBuilder::AppendRow() {
  if (ARROW_PREDICT_TRUE(run_open_)) {
    ++runs_.back().rows;
    return Status::OK();
  }
  if (resource_id_ < 0) {
    resource_id_ = next_resource_id_++;
    if (resource_)
      ARROW_RETURN_NOT_OK(
          resource_attrs_.AppendAll(resource_id_, resource_->attributes()));
  }
  if (scope_id_ < 0) {
    scope_id_ = next_scope_id_++;
    if (scope_)
      ARROW_RETURN_NOT_OK(scope_attrs_.AppendAll(scope_id_, scope_->attributes()));
  }
  Run run;
  run.resource_id = static_cast<uint16_t>(resource_id_);
  run.scope_id = static_cast<uint16_t>(scope_id_);
  run.resource_dropped = resource_ ? resource_->dropped_attributes_count() : 0;
  run.scope_dropped = scope_ ? scope_->dropped_attributes_count() : 0;
  if (resource_schema_url_) run.resource_schema_url = *resource_schema_url_;
  if (scope_) {
    run.scope_name = scope_->name();
    run.scope_version = scope_->version();
  }
  if (scope_schema_url_) run.schema_url = *scope_schema_url_;
  run.rows = 1;
  runs_.push_back(std::move(run));
  run_open_ = true;
  return Status::OK();
}

namespace {

/// Appends `rows` copies of `value` (room reserved by the caller).
template <typename Builder, typename Value>
void UnsafeAppendRepeated(Builder* builder, const Value& value, int64_t rows) {
  for (int64_t i = 0; i < rows; ++i) builder->UnsafeAppend(value);
}

}  // namespace

Status ResourceScopeBuilder::Finish(OtapBatch* batch,
                                    std::shared_ptr<arrow::Array>* resource,
                                    std::shared_ptr<arrow::Array>* scope,
                                    std::shared_ptr<arrow::Array>* schema_url) {
  int64_t rows = 0, resource_url_bytes = 0, name_bytes = 0, version_bytes = 0,
          url_bytes = 0;
  for (const Run& run : runs_) {
    rows += run.rows;
    resource_url_bytes += run.rows * static_cast<int64_t>(run.resource_schema_url.size());
    name_bytes += run.rows * static_cast<int64_t>(run.scope_name.size());
    version_bytes += run.rows * static_cast<int64_t>(run.scope_version.size());
    url_bytes += run.rows * static_cast<int64_t>(run.schema_url.size());
  }
  for (arrow::ArrayBuilder* b : std::initializer_list<arrow::ArrayBuilder*>{
           &resource_id_col_, &resource_schema_url_col_, &resource_dropped_col_,
           &scope_id_col_, &scope_name_col_, &scope_version_col_, &scope_dropped_col_,
           &schema_url_col_}) {
    ARROW_RETURN_NOT_OK(b->Reserve(rows));
  }
  ARROW_RETURN_NOT_OK(resource_schema_url_col_.ReserveData(resource_url_bytes));
  ARROW_RETURN_NOT_OK(scope_name_col_.ReserveData(name_bytes));
  ARROW_RETURN_NOT_OK(scope_version_col_.ReserveData(version_bytes));
  ARROW_RETURN_NOT_OK(schema_url_col_.ReserveData(url_bytes));
  for (const Run& run : runs_) {
    UnsafeAppendRepeated(&resource_id_col_, run.resource_id, run.rows);
    UnsafeAppendRepeated(&resource_schema_url_col_, run.resource_schema_url, run.rows);
    UnsafeAppendRepeated(&resource_dropped_col_, run.resource_dropped, run.rows);
    UnsafeAppendRepeated(&scope_id_col_, run.scope_id, run.rows);
    UnsafeAppendRepeated(&scope_name_col_, run.scope_name, run.rows);
    UnsafeAppendRepeated(&scope_version_col_, run.scope_version, run.rows);
    UnsafeAppendRepeated(&scope_dropped_col_, run.scope_dropped, run.rows);
    UnsafeAppendRepeated(&schema_url_col_, run.schema_url, run.rows);
  }
  runs_.clear();
  run_open_ = false;
  ARROW_ASSIGN_OR_RAISE(auto rid, FinishArray(&resource_id_col_));
  ARROW_ASSIGN_OR_RAISE(auto rurl, FinishArray(&resource_schema_url_col_));
  ARROW_ASSIGN_OR_RAISE(auto rdropped, FinishArray(&resource_dropped_col_));
  ARROW_ASSIGN_OR_RAISE(*resource,
                        MakeStruct(schema::ResourceType(), {rid, rurl, rdropped}));
  ARROW_ASSIGN_OR_RAISE(auto sid, FinishArray(&scope_id_col_));
  ARROW_ASSIGN_OR_RAISE(auto sname, FinishArray(&scope_name_col_));
  ARROW_ASSIGN_OR_RAISE(auto sversion, FinishArray(&scope_version_col_));
  ARROW_ASSIGN_OR_RAISE(auto sdropped, FinishArray(&scope_dropped_col_));
  ARROW_ASSIGN_OR_RAISE(
      *scope, MakeStruct(schema::ScopeType(), {sid, sname, sversion, sdropped}));
  ARROW_ASSIGN_OR_RAISE(*schema_url, FinishArray(&schema_url_col_));
  ARROW_RETURN_NOT_OK(resource_attrs_.FinishInto(batch));
  ARROW_RETURN_NOT_OK(scope_attrs_.FinishInto(batch));
  // The next batch numbers its resources and scopes afresh.
  resource_id_ = scope_id_ = -1;
  next_resource_id_ = next_scope_id_ = 0;
  return Status::OK();
}

// ------------------------------------------------------------ ResourceScopeReader

arrow::Result<ResourceScopeReader> ResourceScopeReader::Make(const OtapBatch& batch) {
  ARROW_ASSIGN_OR_RAISE(auto resource_attrs,
                        AttributesReader::Make(batch.Get(PayloadType::kResourceAttrs),
                                               PayloadType::kResourceAttrs));
  ARROW_ASSIGN_OR_RAISE(auto scope_attrs,
                        AttributesReader::Make(batch.Get(PayloadType::kScopeAttrs),
                                               PayloadType::kScopeAttrs));
  ResourceScopeReader reader(std::move(resource_attrs), std::move(scope_attrs));
  const auto& root = *batch.root();
  reader.resource = std::static_pointer_cast<arrow::StructArray>(
      root.GetColumnByName(schema::kResource));
  reader.scope =
      std::static_pointer_cast<arrow::StructArray>(root.GetColumnByName(schema::kScope));
  reader.schema_url = std::static_pointer_cast<arrow::StringArray>(
      root.GetColumnByName(schema::kSchemaUrl));
  return reader;
}

int64_t ResourceScopeReader::ResourceKey(int64_t row) const {
  if (resource->IsNull(row)) return -1;
  const auto& id = Child<arrow::UInt16Array>(*resource, schema::kId);
  return id.IsValid(row) ? id.Value(row) : -1;
}

int64_t ResourceScopeReader::ScopeKey(int64_t row) const {
  if (scope->IsNull(row)) return -1;
  const auto& id = Child<arrow::UInt16Array>(*scope, schema::kId);
  return id.IsValid(row) ? id.Value(row) : -1;
}

Status ResourceScopeReader::ReadResource(int64_t row, pb::resource::Resource* out,
                                         std::string* schema_url) const {
  if (resource->IsNull(row)) return Status::OK();
  *schema_url =
      StringValue(Child<arrow::StringArray>(*resource, schema::kSchemaUrl), row);
  out->set_dropped_attributes_count(ValueOr(
      Child<arrow::UInt32Array>(*resource, schema::kDroppedAttributesCount), row, 0));
  const int64_t key = ResourceKey(row);
  if (key >= 0) {
    ARROW_RETURN_NOT_OK(
        resource_attrs.AppendTo(static_cast<uint32_t>(key), out->mutable_attributes()));
  }
  return Status::OK();
}

Status ResourceScopeReader::ReadScope(int64_t row, pb::common::InstrumentationScope* out,
                                      std::string* schema_url) const {
  *schema_url = StringValue(*this->schema_url, row);
  if (scope->IsNull(row)) return Status::OK();
  out->set_name(
      std::string(StringValue(Child<arrow::StringArray>(*scope, schema::kName), row)));
  out->set_version(
      std::string(StringValue(Child<arrow::StringArray>(*scope, schema::kVersion), row)));
  out->set_dropped_attributes_count(ValueOr(
      Child<arrow::UInt32Array>(*scope, schema::kDroppedAttributesCount), row, 0));
  const int64_t key = ScopeKey(row);
  if (key >= 0) {
    ARROW_RETURN_NOT_OK(
        scope_attrs.AppendTo(static_cast<uint32_t>(key), out->mutable_attributes()));
  }
  return Status::OK();
}

// ------------------------------------------------------------------------ helpers

Status AppendId(arrow::FixedSizeBinaryBuilder* builder, std::string_view id, int width,
                std::string_view field) {
  if (!id.empty() && static_cast<int>(id.size()) != width) {
    return Status::Invalid(field, ": ", id.size(), " bytes, expected ", width,
                           " or none");
  }
  // Room for many rows at once: Append's Reserve(1) per row, out of line, was a
  // tenth of the wire decode of a log record.
  if (ARROW_PREDICT_FALSE(!HasRoom(*builder))) ARROW_RETURN_NOT_OK(MakeRoom(builder));
  if (id.empty()) {
    builder->UnsafeAppendNull();
  } else {
    builder->UnsafeAppend(reinterpret_cast<const uint8_t*>(id.data()));
  }
  return Status::OK();
}

std::string IdValue(const arrow::FixedSizeBinaryArray& array, int64_t row) {
  if (array.IsNull(row)) return {};
  return std::string(array.GetView(row));
}

std::shared_ptr<arrow::RecordBatch> MakeBatch(PayloadType type, int64_t rows,
                                              arrow::ArrayVector columns) {
  return arrow::RecordBatch::Make(schema::CanonicalSchema(type), rows,
                                  std::move(columns));
}

arrow::Result<std::shared_ptr<arrow::Array>> MakeStruct(
    const std::shared_ptr<arrow::DataType>& type, arrow::ArrayVector children,
    std::shared_ptr<arrow::Buffer> validity, int64_t null_count) {
  const int64_t length = children.empty() ? 0 : children[0]->length();
  return std::make_shared<arrow::StructArray>(type, length, std::move(children),
                                              std::move(validity), null_count);
}

Status CheckEnum(int value, int max, std::string_view field) {
  if (value < 0 || value > max) {
    return Status::Invalid(field, ": unknown enum value ", value, " (valid: 0..", max,
                           ")");
  }
  return Status::OK();
}

}  // namespace otap_parquet::otlp::internal
