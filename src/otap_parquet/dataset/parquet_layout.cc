// SPDX-License-Identifier: Apache-2.0
#include "otap_parquet/dataset/parquet_layout.h"

#include <algorithm>
#include <cstdio>
#include <limits>
#include <optional>
#include <random>
#include <unordered_map>
#include <utility>

#include <arrow/api.h>
#include <arrow/compute/api_vector.h>
#include <arrow/compute/initialize.h>
#include <arrow/util/bit_run_reader.h>
#include <arrow/util/bit_util.h>
#include <arrow/util/bitmap_ops.h>
#include <arrow/util/key_value_metadata.h>
#include <fmt/format.h>

#include "otap_parquet/dataset/partition_values.h"
#include "otap_parquet/dataset/reader_columns.h"
#include "otap_parquet/pdata/id_visit.h"
#include "otap_parquet/pdata/ids.h"
#include "otap_parquet/schema/otap_schema.h"
#include "otap_parquet/util/compute.h"

namespace otap_parquet::dataset {

namespace {

using arrow::Status;
using arrow::Type;
using PT = PayloadType;

using util::EnsureComputeInitialized;

bool IsIdName(const std::string& name) {
  return name == schema::kId || name == schema::kParentId;
}

bool IsStructWithId(PT type, const std::string& name) {
  return IsRoot(type) && (name == schema::kResource || name == schema::kScope);
}

// ---------------------------------------------------------------------------------
// Disk schemas

// How a disk column is made from the canonical batch.
struct DiskLayout {
  std::shared_ptr<arrow::Schema> schema;
  // Per disk column: the canonical column index, or -1 for an all-null column.
  std::vector<int> source;
};

std::shared_ptr<arrow::Field> DiskIdField(const std::string& name) {
  return arrow::field(name, arrow::uint32(), /*nullable=*/true);
}

DiskLayout MakeDiskLayout(PT type) {
  DiskLayout layout;
  const auto& canonical = schema::CanonicalSchema(type);
  arrow::FieldVector fields;
  for (int i = 0; i < canonical->num_fields(); ++i) {
    const auto& field = canonical->field(i);
    if (type == PT::kUnivariateMetrics && field->name() == schema::kIsMonotonic) {
      // Template column (Q3) right after aggregation_temporality, before our extra.
      fields.push_back(
          arrow::field(schema::kDroppedAttributesCount, arrow::uint32(), true));
      layout.source.push_back(-1);
    }
    if (IsIdName(field->name())) {
      fields.push_back(DiskIdField(field->name()));
    } else if (IsStructWithId(type, field->name())) {
      arrow::FieldVector children = field->type()->fields();
      for (auto& child : children) {
        if (child->name() == schema::kId) child = DiskIdField(schema::kId);
      }
      fields.push_back(
          arrow::field(field->name(), arrow::struct_(children), field->nullable()));
    } else {
      fields.push_back(field->WithMetadata(nullptr));
    }
    layout.source.push_back(i);
  }
  layout.schema = arrow::schema(std::move(fields));
  return layout;
}

const DiskLayout& DiskLayoutOf(PT type) {
  static const auto layouts = [] {
    std::array<DiskLayout, kPayloadTypeSlots> all;
    for (int i = 0; i < kPayloadTypeSlots; ++i)
      all[i] = MakeDiskLayout(static_cast<PT>(i));
    return all;
  }();
  const int index = static_cast<int>(type);
  return layouts[index >= 0 && index < kPayloadTypeSlots ? index : 0];
}

// ---------------------------------------------------------------------------------
// Id columns

// Fixed-size blocks let GCC vectorize at -O2 (its "very cheap" cost model does not
// vectorize loops of unknown trip count).
constexpr int64_t kBlock = 64;

template <typename C>
C MaxOf(const C* __restrict values, int64_t n) {
  C max = 0;
  int64_t i = 0;
  for (; i + kBlock <= n; i += kBlock) {
    C block_max = 0;
    for (int64_t j = 0; j < kBlock; ++j) block_max = std::max(block_max, values[i + j]);
    max = std::max(max, block_max);
  }
  for (; i < n; ++i) max = std::max(max, values[i]);
  return max;
}

// The largest non-null id, 0 if none.
template <typename C>
uint32_t MaxIdTyped(const arrow::ArrayData& data) {
  const C* values = data.GetValues<C>(1);
  if (data.GetNullCount() == 0) return MaxOf(values, data.length);
  C max = 0;
  arrow::internal::VisitSetBitRunsVoid(data.buffers[0]->data(), data.offset, data.length,
                                       [&](int64_t position, int64_t length) {
                                         max = std::max(max,
                                                        MaxOf(values + position, length));
                                       });
  return static_cast<uint32_t>(max);
}

arrow::Result<uint32_t> MaxId(const arrow::ArrayData& data) {
  switch (data.type->id()) {
    case Type::UINT16:
      return MaxIdTyped<uint16_t>(data);
    case Type::UINT32:
      return MaxIdTyped<uint32_t>(data);
    default:
      return Status::TypeError("id column has type ", data.type->ToString());
  }
}

// The validity bitmap of `data` realigned to offset 0 (null when there are no nulls).
arrow::Result<std::shared_ptr<arrow::Buffer>> ValidityOf(const arrow::ArrayData& data) {
  if (data.GetNullCount() == 0 || !data.buffers[0]) return nullptr;
  if (data.offset % 8 == 0) {
    return arrow::SliceBuffer(data.buffers[0], data.offset / 8,
                              arrow::bit_util::BytesForBits(data.length));
  }
  return arrow::internal::CopyBitmap(arrow::default_memory_pool(),
                                     data.buffers[0]->data(), data.offset, data.length);
}

template <typename C>
void AddOffset(const arrow::ArrayData& data, uint32_t offset, uint32_t* __restrict out) {
  const C* __restrict values = data.GetValues<C>(1);
  const int64_t n = data.length;
  // Null slots hold arbitrary values; unsigned wrap-around there is harmless.
  int64_t i = 0;
  for (; i + kBlock <= n; i += kBlock) {
    for (int64_t j = 0; j < kBlock; ++j) {
      out[i + j] = static_cast<uint32_t>(values[i + j]) + offset;
    }
  }
  for (; i < n; ++i) out[i] = static_cast<uint32_t>(values[i]) + offset;
}

// A UInt32 id column with `offset` added to every value; nulls stay null. A UInt32
// input with offset 0 is shared, not copied.
arrow::Result<std::shared_ptr<arrow::ArrayData>> WidenWithOffset(
    const std::shared_ptr<arrow::ArrayData>& data, uint32_t offset) {
  const Type::type id = data->type->id();
  if (id != Type::UINT16 && id != Type::UINT32) {
    return Status::TypeError("id column has type ", data->type->ToString());
  }
  if (id == Type::UINT32 && offset == 0) return data;
  const int64_t n = data->length;
  ARROW_ASSIGN_OR_RAISE(
      std::shared_ptr<arrow::Buffer> values,
      arrow::AllocateBuffer(n * static_cast<int64_t>(sizeof(uint32_t))));
  auto* out = reinterpret_cast<uint32_t*>(values->mutable_data());
  if (id == Type::UINT16) {
    AddOffset<uint16_t>(*data, offset, out);
  } else {
    AddOffset<uint32_t>(*data, offset, out);
  }
  ARROW_ASSIGN_OR_RAISE(auto validity, ValidityOf(*data));
  const int64_t null_count = validity ? data->GetNullCount() : 0;
  return arrow::ArrayData::Make(arrow::uint32(), n,
                                {std::move(validity), std::move(values)}, null_count);
}

// `resource` / `scope` with the child `id` widened and offset.
arrow::Result<std::shared_ptr<arrow::ArrayData>> RewriteStructIds(
    const std::shared_ptr<arrow::ArrayData>& data,
    const std::shared_ptr<arrow::DataType>& disk_type, uint32_t offset) {
  if (data->type->id() != Type::STRUCT) {
    return Status::TypeError("expected a struct, got ", data->type->ToString());
  }
  const auto& struct_type = static_cast<const arrow::StructType&>(*data->type);
  arrow::ArrayDataVector children;
  children.reserve(data->child_data.size());
  for (size_t i = 0; i < data->child_data.size(); ++i) {
    auto child = data->child_data[i]->Slice(data->offset, data->length);
    if (struct_type.field(static_cast<int>(i))->name() == schema::kId) {
      ARROW_ASSIGN_OR_RAISE(child, WidenWithOffset(child, offset));
    }
    children.push_back(std::move(child));
  }
  ARROW_ASSIGN_OR_RAISE(auto validity, ValidityOf(*data));
  const int64_t null_count = validity ? data->GetNullCount() : 0;
  return arrow::ArrayData::Make(disk_type, data->length, {std::move(validity)},
                                std::move(children), null_count);
}

// The id of a root's `resource` / `scope` struct, or null when absent.
std::shared_ptr<arrow::ArrayData> StructIdColumn(const arrow::RecordBatch& batch,
                                                 const char* struct_name) {
  const auto column = batch.GetColumnByName(struct_name);
  if (!column || column->type_id() != Type::STRUCT) return nullptr;
  const auto& struct_type = static_cast<const arrow::StructType&>(*column->type());
  const int index = struct_type.GetFieldIndex(schema::kId);
  if (index < 0) return nullptr;
  return column->data()->child_data[static_cast<size_t>(index)]->Slice(column->offset(),
                                                                       column->length());
}

// The largest id of a table (own `id`, and for roots `resource.id` / `scope.id`).
arrow::Result<uint32_t> MaxIdOfTable(PT type, const arrow::RecordBatch& batch) {
  uint32_t max_id = 0;
  if (const auto column = batch.GetColumnByName(schema::kId)) {
    ARROW_ASSIGN_OR_RAISE(max_id, MaxId(*column->data()));
  }
  if (IsRoot(type)) {
    for (const char* name : {schema::kResource, schema::kScope}) {
      if (const auto ids = StructIdColumn(batch, name)) {
        ARROW_ASSIGN_OR_RAISE(const uint32_t struct_max, MaxId(*ids));
        max_id = std::max(max_id, struct_max);
      }
    }
  }
  return max_id;
}

arrow::Result<std::shared_ptr<arrow::RecordBatch>> ToDisk(
    PT type, const arrow::RecordBatch& batch, uint32_t offset,
    std::shared_ptr<arrow::Schema> disk_schema) {
  const DiskLayout& layout = DiskLayoutOf(type);
  const int64_t n = batch.num_rows();
  arrow::ArrayDataVector columns;
  columns.reserve(layout.source.size());
  for (size_t i = 0; i < layout.source.size(); ++i) {
    const auto& disk_field = disk_schema->field(static_cast<int>(i));
    if (layout.source[i] < 0) {
      ARROW_ASSIGN_OR_RAISE(auto nulls, arrow::MakeArrayOfNull(disk_field->type(), n));
      columns.push_back(nulls->data());
      continue;
    }
    const auto& column = batch.column_data(layout.source[i]);
    const std::string& name = disk_field->name();
    std::shared_ptr<arrow::ArrayData> out;
    if (IsIdName(name)) {
      ARROW_ASSIGN_OR_RAISE(out, WidenWithOffset(column, offset));
    } else if (IsStructWithId(type, name)) {
      ARROW_ASSIGN_OR_RAISE(out, RewriteStructIds(column, disk_field->type(), offset));
    } else if (column->type->Equals(*disk_field->type(), /*check_metadata=*/true)) {
      out = column;
    } else {
      // Same layout (the schema was checked), only field metadata differs.
      out = column->Copy();
      out->type = disk_field->type();
    }
    columns.push_back(std::move(out));
  }
  return arrow::RecordBatch::Make(std::move(disk_schema), n, std::move(columns));
}

// ---------------------------------------------------------------------------------
// Event-time partitioning

constexpr uint64_t kNanosPerHour = 3'600'000'000'000ULL;
constexpr uint64_t kNanosPerDay = 24 * kNanosPerHour;

// Hive path of a bucket (hours or days since the epoch, UTC).
std::string PartitionPath(uint64_t bucket, TimeGranularity granularity) {
  const uint64_t days = granularity == TimeGranularity::kHour ? bucket / 24 : bucket;
  // civil_from_days (H. Hinnant), for days >= 0.
  const uint64_t z = days + 719468;
  const uint64_t era = z / 146097;
  const uint64_t doe = z - era * 146097;
  const uint64_t yoe = (doe - doe / 1460 + doe / 36524 - doe / 146096) / 365;
  const uint64_t doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
  const uint64_t mp = (5 * doy + 2) / 153;
  const uint64_t day = doy - (153 * mp + 2) / 5 + 1;
  const uint64_t month = mp < 10 ? mp + 3 : mp - 9;
  const uint64_t year = yoe + era * 400 + (month <= 2 ? 1 : 0);
  char buffer[96];
  if (granularity == TimeGranularity::kHour) {
    std::snprintf(buffer, sizeof(buffer), "date=%04llu-%02llu-%02llu/hour=%02llu",
                  static_cast<unsigned long long>(year),
                  static_cast<unsigned long long>(month),
                  static_cast<unsigned long long>(day),
                  static_cast<unsigned long long>(bucket % 24));
  } else {
    std::snprintf(buffer, sizeof(buffer), "date=%04llu-%02llu-%02llu",
                  static_cast<unsigned long long>(year),
                  static_cast<unsigned long long>(month),
                  static_cast<unsigned long long>(day));
  }
  return buffer;
}

// A timestamp column's value as OTLP's unsigned nanoseconds; 0 for null or absent.
class TimeReader {
 public:
  explicit TimeReader(const std::shared_ptr<arrow::Array>& column) {
    if (column && column->type_id() == Type::TIMESTAMP) {
      data_ = column->data().get();
      values_ = data_->GetValues<int64_t>(1);
      validity_ = data_->GetNullCount() > 0 ? data_->buffers[0]->data() : nullptr;
    }
  }
  uint64_t operator()(int64_t row) const {
    if (!values_) return 0;
    if (validity_ && !arrow::bit_util::GetBit(validity_, data_->offset + row)) return 0;
    return static_cast<uint64_t>(values_[row]);
  }

 private:
  const arrow::ArrayData* data_ = nullptr;
  const int64_t* values_ = nullptr;
  const uint8_t* validity_ = nullptr;
};

// Reads a UInt16/UInt32 id column row by row (nullopt-like: returns false for null).
class IdReader {
 public:
  explicit IdReader(const std::shared_ptr<arrow::ArrayData>& data) : data_(data) {
    if (!data_) return;
    wide_ = data_->type->id() == Type::UINT32;
    if (data_->type->id() == Type::UINT16 || wide_) values_ = data_->buffers[1]->data();
    validity_ = data_->GetNullCount() > 0 ? data_->buffers[0]->data() : nullptr;
  }
  bool ok() const { return values_ != nullptr; }
  bool Get(int64_t row, uint32_t* id) const {
    if (!values_) return false;
    if (validity_ && !arrow::bit_util::GetBit(validity_, data_->offset + row))
      return false;
    const int64_t at = data_->offset + row;
    *id = wide_ ? reinterpret_cast<const uint32_t*>(values_)[at]
                : reinterpret_cast<const uint16_t*>(values_)[at];
    return true;
  }

 private:
  std::shared_ptr<arrow::ArrayData> data_;
  const uint8_t* values_ = nullptr;
  const uint8_t* validity_ = nullptr;
  bool wide_ = false;
};

// id → value, a vector over [min, max] when that is small, else a hash map.
template <typename V>
class IdTable {
 public:
  IdTable(uint32_t min_id, uint32_t max_id, int64_t count, V absent) : absent_(absent) {
    dense_ = count > 0 && static_cast<int64_t>(max_id - min_id) < 4 * count + 1024;
    if (dense_) {
      min_id_ = min_id;
      dense_values_.assign(static_cast<size_t>(max_id - min_id) + 1, absent);
    } else {
      sparse_values_.reserve(static_cast<size_t>(count));
    }
  }
  V& Slot(uint32_t id) {
    if (dense_) return dense_values_[id - min_id_];
    return sparse_values_.try_emplace(id, absent_).first->second;
  }
  const V* Find(uint32_t id) const {
    if (dense_) {
      if (id < min_id_ || id - min_id_ >= dense_values_.size()) return nullptr;
      return &dense_values_[id - min_id_];
    }
    auto it = sparse_values_.find(id);
    return it == sparse_values_.end() ? nullptr : &it->second;
  }

 private:
  V absent_;
  bool dense_ = true;
  uint32_t min_id_ = 0;
  std::vector<V> dense_values_;
  std::unordered_map<uint32_t, V> sparse_values_;
};

// Scans an id column for its range and count of non-null values.
struct IdRange {
  uint32_t min = std::numeric_limits<uint32_t>::max();
  uint32_t max = 0;
  int64_t count = 0;
};
arrow::Result<IdRange> RangeOf(const arrow::ArrayData& ids) {
  IdRange range;
  ARROW_RETURN_NOT_OK(VisitIds(ids, [&](int64_t, uint32_t id) {
    range.min = std::min(range.min, id);
    range.max = std::max(range.max, id);
    ++range.count;
  }));
  return range;
}

// Group of each id of a table, from the groups of its rows.
using GroupOfId = IdTable<int32_t>;
arrow::Result<GroupOfId> MakeGroupOfId(const arrow::ArrayData& ids,
                                       const std::vector<int32_t>& row_group) {
  ARROW_ASSIGN_OR_RAISE(const IdRange range, RangeOf(ids));
  GroupOfId groups(range.min, range.max, range.count, -1);
  ARROW_RETURN_NOT_OK(VisitIds(ids, [&](int64_t row, uint32_t id) {
    groups.Slot(id) = row_group[static_cast<size_t>(row)];
  }));
  return groups;
}

// Groups holding a root with each resource.id (or scope.id), ascending, no repeats.
using GroupsOfId = IdTable<std::vector<int32_t>>;
arrow::Result<GroupsOfId> MakeGroupsOfStructId(const arrow::ArrayData& ids,
                                               const std::vector<int32_t>& row_group) {
  ARROW_ASSIGN_OR_RAISE(const IdRange range, RangeOf(ids));
  GroupsOfId groups(range.min, range.max, range.count, {});
  ARROW_RETURN_NOT_OK(VisitIds(ids, [&](int64_t row, uint32_t id) {
    auto& list = groups.Slot(id);
    const int32_t group = row_group[static_cast<size_t>(row)];
    auto it = std::lower_bound(list.begin(), list.end(), group);
    if (it == list.end() || *it != group) list.insert(it, group);
  }));
  return groups;
}

// The event time of each root row (see SplitByEventTime).
arrow::Result<std::vector<uint64_t>> RootTimes(const OtapBatch& batch) {
  const auto& root = *batch.root();
  const int64_t n = root.num_rows();
  std::vector<uint64_t> times(static_cast<size_t>(n), 0);
  switch (batch.signal()) {
    case Signal::kLogs: {
      const TimeReader time(root.GetColumnByName(schema::kTimeUnixNano));
      const TimeReader observed(root.GetColumnByName(schema::kObservedTimeUnixNano));
      for (int64_t i = 0; i < n; ++i) {
        const uint64_t t = time(i);
        times[static_cast<size_t>(i)] = t != 0 ? t : observed(i);
      }
      break;
    }
    case Signal::kTraces: {
      const TimeReader start(root.GetColumnByName(schema::kStartTimeUnixNano));
      for (int64_t i = 0; i < n; ++i) times[static_cast<size_t>(i)] = start(i);
      break;
    }
    case Signal::kMetrics: {
      constexpr uint64_t kNone = std::numeric_limits<uint64_t>::max();
      const auto& ids = root.GetColumnByName(schema::kId);
      if (!ids) return Status::KeyError("univariate_metrics.id: missing");
      ARROW_ASSIGN_OR_RAISE(const IdRange range, RangeOf(*ids->data()));
      IdTable<uint64_t> earliest(range.min, range.max, range.count, kNone);
      uint64_t batch_earliest = kNone;
      for (PT type : {PT::kNumberDataPoints, PT::kSummaryDataPoints,
                      PT::kHistogramDataPoints, PT::kExpHistogramDataPoints}) {
        const auto& points = batch.Get(type);
        if (!points) continue;
        const TimeReader time(points->GetColumnByName(schema::kTimeUnixNano));
        const auto parent_ids = points->GetColumnByName(schema::kParentId);
        if (!parent_ids) continue;
        ARROW_RETURN_NOT_OK(VisitIds(*parent_ids->data(), [&](int64_t row, uint32_t id) {
          const uint64_t t = time(row);
          if (t == 0) return;
          batch_earliest = std::min(batch_earliest, t);
          if (const uint64_t* slot = earliest.Find(id)) {
            earliest.Slot(id) = std::min(*slot, t);
          }
        }));
      }
      const IdReader root_ids(ids->data());
      for (int64_t i = 0; i < n; ++i) {
        uint32_t id;
        uint64_t t = kNone;
        if (root_ids.Get(i, &id)) {
          if (const uint64_t* slot = earliest.Find(id)) t = *slot;
        }
        if (t == kNone) t = batch_earliest == kNone ? 0 : batch_earliest;
        times[static_cast<size_t>(i)] = t;
      }
      break;
    }
  }
  return times;
}

// The string at `row` of a utf8 / large_utf8 / binary column or of a dictionary of
// one; nullopt when null or of another type.
std::optional<std::string_view> StringAt(const arrow::Array& array, int64_t row) {
  if (array.IsNull(row)) return std::nullopt;
  switch (array.type_id()) {
    case Type::STRING:
    case Type::BINARY:
      return static_cast<const arrow::BinaryArray&>(array).GetView(row);
    case Type::LARGE_STRING:
    case Type::LARGE_BINARY:
      return static_cast<const arrow::LargeBinaryArray&>(array).GetView(row);
    case Type::DICTIONARY: {
      const auto& dict = static_cast<const arrow::DictionaryArray&>(array);
      return StringAt(*dict.dictionary(), dict.GetValueIndex(row));
    }
    default:
      return std::nullopt;
  }
}

// The text of an attribute value for a partition level: str as is, int, double and
// bool as text; nullopt for other types.
std::optional<std::string> AttributeText(const arrow::RecordBatch& attrs, int64_t row) {
  const auto type_column = attrs.GetColumnByName(schema::kType);
  if (!type_column || type_column->type_id() != Type::UINT8 || type_column->IsNull(row)) {
    return std::nullopt;
  }
  const auto type = static_cast<schema::AnyValueType>(
      static_cast<const arrow::UInt8Array&>(*type_column).Value(row));
  auto column = [&](const char* name) { return attrs.GetColumnByName(name); };
  switch (type) {
    case schema::AnyValueType::kStr: {
      const auto str = column(schema::kStr);
      if (!str) return std::nullopt;
      auto view = StringAt(*str, row);
      return view ? std::optional<std::string>(std::string(*view)) : std::nullopt;
    }
    case schema::AnyValueType::kInt: {
      const auto v = column(schema::kInt);
      if (!v || v->type_id() != Type::INT64 || v->IsNull(row)) return std::nullopt;
      return std::to_string(static_cast<const arrow::Int64Array&>(*v).Value(row));
    }
    case schema::AnyValueType::kDouble: {
      const auto v = column(schema::kDouble);
      if (!v || v->type_id() != Type::DOUBLE || v->IsNull(row)) return std::nullopt;
      return fmt::format("{}", static_cast<const arrow::DoubleArray&>(*v).Value(row));
    }
    case schema::AnyValueType::kBool: {
      const auto v = column(schema::kBool);
      if (!v || v->type_id() != Type::BOOL || v->IsNull(row)) return std::nullopt;
      return std::string(
          static_cast<const arrow::BooleanArray&>(*v).Value(row) ? "true" : "false");
    }
    default:
      return std::nullopt;
  }
}

}  // namespace

// ---------------------------------------------------------------------------------
// Public API

const std::shared_ptr<arrow::Schema>& DiskSchema(PayloadType type) {
  return DiskLayoutOf(type).schema;
}

int64_t DiskBatch::num_rows() const {
  int64_t rows = 0;
  for (const auto& [type, table] : tables) rows += table->num_rows();
  return rows;
}

std::string RandomUuid() {
  thread_local std::mt19937_64 engine = [] {
    std::random_device device;
    std::seed_seq seed{device(), device(), device(), device(),
                       device(), device(), device(), device()};
    return std::mt19937_64(seed);
  }();
  uint64_t high = engine();
  uint64_t low = engine();
  high = (high & ~0xF000ULL) | 0x4000ULL;            // version 4
  low = (low & ~(0xC0ULL << 56)) | (0x80ULL << 56);  // variant 10xx
  char buffer[40];
  std::snprintf(buffer, sizeof(buffer), "%08x-%04x-%04x-%04x-%012llx",
                static_cast<unsigned>(high >> 32),
                static_cast<unsigned>((high >> 16) & 0xFFFF),
                static_cast<unsigned>(high & 0xFFFF), static_cast<unsigned>(low >> 48),
                static_cast<unsigned long long>(low & 0xFFFFFFFFFFFFULL));
  return buffer;
}

PartitionIdGenerator::PartitionIdGenerator(std::function<std::string()> new_uuid)
    : new_uuid_(std::move(new_uuid)) {
  Reset();
}

void PartitionIdGenerator::Reset() {
  part_id_ = new_uuid_();
  offset_ = 0;
  root_schemas_ = {};
}

arrow::Result<DiskBatch> PartitionIdGenerator::Apply(const OtapBatch& batch) {
  const auto types = batch.payload_types();
  // §8.1 step 1 (plus resource.id / scope.id).
  uint32_t max_id = 0;
  for (PT type : types) {
    const auto& table = *batch.Get(type);
    const auto& canonical = *schema::CanonicalSchema(type);
    if (!table.schema()->Equals(canonical, /*check_metadata=*/false)) {
      return Status::Invalid(TableName(type), ": schema ", table.schema()->ToString(),
                             " is not the canonical ", canonical.ToString());
    }
    auto table_max = MaxIdOfTable(type, table);
    if (!table_max.ok()) {
      return table_max.status().WithMessage(TableName(type), ": ",
                                            table_max.status().message());
    }
    max_id = std::max(max_id, *table_max);
  }
  // Step 2: a batch that would overflow starts a new partition. Unlike §8.1, ids
  // stop at 0xFFFFFFFE: readers (ours included) take 0xFFFFFFFF for "no id", and a
  // row with it would replay without its children.
  if (max_id >= std::numeric_limits<uint32_t>::max() - offset_) Reset();

  DiskBatch out;
  out.signal = batch.signal();
  out.part_id = part_id_;
  out.tables.reserve(types.size());
  for (PT type : types) {
    std::shared_ptr<arrow::Schema> disk_schema = DiskSchema(type);
    if (IsRoot(type)) {
      // Step 4: `_part_id` in the root's schema metadata.
      auto& cached = root_schemas_[static_cast<size_t>(batch.signal())];
      if (!cached) {
        cached = disk_schema->WithMetadata(
            arrow::key_value_metadata({schema::kPartIdMetadataKey}, {part_id_}));
      }
      disk_schema = cached;
    }
    auto table = ToDisk(type, *batch.Get(type), offset_, std::move(disk_schema));
    if (!table.ok()) {
      return table.status().WithMessage(TableName(type), ": ", table.status().message());
    }
    out.tables.emplace_back(type, table.MoveValueUnsafe());
  }
  // Step 5: the next batch starts after this one's ids.
  // (At most 0xFFFFFFFF: the next batch then starts a new part.)
  offset_ += max_id + 1;
  return out;
}

arrow::Result<std::vector<OtapBatch>> SplitByRootGroup(
    const OtapBatch& batch, const std::vector<int32_t>& root_group, int32_t num_groups) {
  const auto& root = batch.root();
  const PT root_type = RootPayloadType(batch.signal());
  const int64_t num_roots = root->num_rows();
  // Rows of each table per group, ascending.
  std::array<std::vector<std::vector<int32_t>>, kPayloadTypeSlots> rows_of;
  std::array<std::optional<GroupOfId>, kPayloadTypeSlots> group_of_id;
  std::optional<GroupsOfId> groups_of_resource, groups_of_scope;
  for (PT type : batch.payload_types()) {
    const auto& table = batch.Get(type);
    const int64_t n = table->num_rows();
    auto& rows = rows_of[static_cast<size_t>(type)];
    rows.assign(static_cast<size_t>(num_groups), {});
    std::vector<int32_t> row_group(static_cast<size_t>(n), -1);
    auto st = [&]() -> Status {
      if (type == root_type) {
        for (int64_t i = 0; i < num_roots; ++i) {
          const int32_t g = root_group[static_cast<size_t>(i)];
          row_group[static_cast<size_t>(i)] = g;
          rows[static_cast<size_t>(g)].push_back(static_cast<int32_t>(i));
        }
        if (auto ids = StructIdColumn(*table, schema::kResource)) {
          ARROW_ASSIGN_OR_RAISE(groups_of_resource,
                                MakeGroupsOfStructId(*ids, row_group));
        }
        if (auto ids = StructIdColumn(*table, schema::kScope)) {
          ARROW_ASSIGN_OR_RAISE(groups_of_scope, MakeGroupsOfStructId(*ids, row_group));
        }
      } else {
        const auto parent_ids = table->GetColumnByName(schema::kParentId);
        if (!parent_ids) return Status::KeyError("parent_id: missing");
        if (type == PT::kResourceAttrs || type == PT::kScopeAttrs) {
          const auto& groups =
              type == PT::kResourceAttrs ? groups_of_resource : groups_of_scope;
          if (!groups) return Status::OK();
          return VisitIds(*parent_ids->data(), [&](int64_t row, uint32_t id) {
            if (const auto* list = groups->Find(id)) {
              for (int32_t g : *list) {
                rows[static_cast<size_t>(g)].push_back(static_cast<int32_t>(row));
              }
            }
          });
        }
        const auto parent = ParentOf(type, batch.signal());
        const auto& parent_groups = group_of_id[static_cast<size_t>(*parent)];
        if (!parent_groups) return Status::OK();  // no parent table: all orphans
        ARROW_RETURN_NOT_OK(VisitIds(*parent_ids->data(), [&](int64_t row, uint32_t id) {
          const int32_t* g = parent_groups->Find(id);
          if (!g || *g < 0) return;
          row_group[static_cast<size_t>(row)] = *g;
          rows[static_cast<size_t>(*g)].push_back(static_cast<int32_t>(row));
        }));
      }
      if (const auto ids = table->GetColumnByName(schema::kId)) {
        ARROW_ASSIGN_OR_RAISE(group_of_id[static_cast<size_t>(type)],
                              MakeGroupOfId(*ids->data(), row_group));
      }
      return Status::OK();
    }();
    if (!st.ok()) return st.WithMessage(TableName(type), ": ", st.message());
  }

  // One sub-batch per group, ids re-densified.
  std::vector<OtapBatch> parts;
  parts.reserve(static_cast<size_t>(num_groups));
  for (int32_t g = 0; g < num_groups; ++g) {
    OtapBatch part(batch.signal());
    for (PT type : batch.payload_types()) {
      auto& rows = rows_of[static_cast<size_t>(type)][static_cast<size_t>(g)];
      if (rows.empty()) continue;
      // Rows are ascending, so a group of consecutive rows is a zero-copy slice.
      auto taken =
          internal::TakeRows(batch.Get(type), rows, arrow::default_memory_pool());
      if (!taken.ok()) {
        return taken.status().WithMessage(TableName(type), ": ",
                                          taken.status().message());
      }
      part.Set(type, taken.MoveValueUnsafe());
    }
    ARROW_ASSIGN_OR_RAISE(auto dense, RemapIdsDense(part));
    parts.push_back(std::move(dense));
  }
  return parts;
}

arrow::Result<std::vector<std::pair<std::string, OtapBatch>>> SplitByEventTime(
    const OtapBatch& batch, TimeGranularity granularity) {
  std::vector<std::pair<std::string, OtapBatch>> parts;
  if (batch.empty()) return parts;
  const int64_t num_roots = batch.root()->num_rows();

  // Partition key of each root row.
  ARROW_ASSIGN_OR_RAISE(auto times, RootTimes(batch));
  const uint64_t unit =
      granularity == TimeGranularity::kHour ? kNanosPerHour : kNanosPerDay;
  std::vector<uint64_t> buckets(times.size());
  for (size_t i = 0; i < times.size(); ++i) buckets[i] = times[i] / unit;
  // Distinct keys, sorted. Batches usually span one or a few hours: insert into a
  // small sorted vector; fall back to sorting when keys are many.
  std::vector<uint64_t> keys;
  uint64_t last_key = 0;
  for (size_t i = 0; i < buckets.size(); ++i) {
    const uint64_t key = buckets[i];
    if (i > 0 && key == last_key) continue;
    last_key = key;
    auto it = std::lower_bound(keys.begin(), keys.end(), key);
    if (it != keys.end() && *it == key) continue;
    if (keys.size() >= 64) {
      keys = buckets;
      std::sort(keys.begin(), keys.end());
      keys.erase(std::unique(keys.begin(), keys.end()), keys.end());
      break;
    }
    keys.insert(it, key);
  }
  if (keys.size() == 1) {
    parts.emplace_back(PartitionPath(keys[0], granularity), batch);
    return parts;
  }
  std::vector<int32_t> root_group(static_cast<size_t>(num_roots));
  for (int64_t i = 0; i < num_roots; ++i) {
    root_group[static_cast<size_t>(i)] = static_cast<int32_t>(
        std::lower_bound(keys.begin(), keys.end(), buckets[static_cast<size_t>(i)]) -
        keys.begin());
  }
  ARROW_ASSIGN_OR_RAISE(
      auto split, SplitByRootGroup(batch, root_group, static_cast<int32_t>(keys.size())));
  parts.reserve(split.size());
  for (size_t g = 0; g < split.size(); ++g) {
    parts.emplace_back(PartitionPath(keys[g], granularity), std::move(split[g]));
  }
  return parts;
}
arrow::Result<std::vector<std::pair<std::string, OtapBatch>>> SplitByResourceAttribute(
    const OtapBatch& batch, const std::string& key) {
  std::vector<std::pair<std::string, OtapBatch>> parts;
  if (batch.empty()) return parts;
  const auto& root = *batch.root();
  const int64_t num_roots = root.num_rows();
  // The attribute's value per resource id (the first row of a key wins, as readers
  // of a map see it).
  std::unordered_map<uint32_t, std::optional<std::string>> value_of;
  if (const auto& attrs = batch.Get(PT::kResourceAttrs)) {
    const auto parent_ids = attrs->GetColumnByName(schema::kParentId);
    const auto keys = attrs->GetColumnByName(schema::kKey);
    if (!parent_ids || !keys) {
      return Status::KeyError("resource_attrs: parent_id or key missing");
    }
    ARROW_RETURN_NOT_OK(VisitIds(*parent_ids->data(), [&](int64_t row, uint32_t id) {
      const auto k = StringAt(*keys, row);
      if (!k || *k != key || value_of.contains(id)) return;
      value_of.emplace(id, AttributeText(*attrs, row));
    }));
  }
  std::vector<std::string> root_level(static_cast<size_t>(num_roots),
                                      PartitionSegment(key, std::nullopt));
  if (const auto ids = StructIdColumn(root, schema::kResource)) {
    ARROW_RETURN_NOT_OK(VisitIds(*ids, [&](int64_t row, uint32_t id) {
      const auto it = value_of.find(id);
      if (it != value_of.end() && it->second) {
        root_level[static_cast<size_t>(row)] = PartitionSegment(key, it->second);
      }
    }));
  }
  std::vector<std::string> levels = root_level;
  std::sort(levels.begin(), levels.end());
  levels.erase(std::unique(levels.begin(), levels.end()), levels.end());
  if (levels.size() == 1) {
    parts.emplace_back(std::move(levels[0]), batch);
    return parts;
  }
  std::vector<int32_t> root_group(static_cast<size_t>(num_roots));
  for (size_t i = 0; i < root_level.size(); ++i) {
    root_group[i] = static_cast<int32_t>(
        std::lower_bound(levels.begin(), levels.end(), root_level[i]) - levels.begin());
  }
  ARROW_ASSIGN_OR_RAISE(
      auto split,
      SplitByRootGroup(batch, root_group, static_cast<int32_t>(levels.size())));
  parts.reserve(split.size());
  for (size_t g = 0; g < split.size(); ++g) {
    parts.emplace_back(std::move(levels[g]), std::move(split[g]));
  }
  return parts;
}

}  // namespace otap_parquet::dataset
