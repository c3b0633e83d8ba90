// SPDX-License-Identifier: Apache-2.0
#include "otap_parquet/pdata/otap_batch.h"

#include <algorithm>
#include <optional>
#include <vector>

#include <arrow/api.h>

#include "otap_parquet/pdata/id_visit.h"
#include "otap_parquet/schema/otap_schema.h"

namespace otap_parquet {

namespace {

const std::shared_ptr<arrow::RecordBatch> kNoBatch;

int Slot(PayloadType type) {
  const int index = static_cast<int>(type);
  return index >= 0 && index < kPayloadTypeSlots ? index : 0;
}

// The non-null values of a parent's id column (UInt16/UInt32), as a membership test:
// a bitmap over [min, max] (ids are near-dense), else a sorted vector. A hash set
// here was ~5% of receiver:otap's CPU.
class IdSet {
 public:
  static arrow::Result<IdSet> Make(const arrow::Array& array) {
    IdSet set;
    ARROW_RETURN_NOT_OK(
        VisitIds(array, [&](int64_t, uint32_t id) { set.sorted_.push_back(id); }));
    if (set.sorted_.empty()) return set;
    const auto [min, max] = std::minmax_element(set.sorted_.begin(), set.sorted_.end());
    set.min_ = *min;
    const uint64_t range = uint64_t{*max} - *min + 1;
    if (range <= 64 * set.sorted_.size() + 4096) {
      set.bits_.assign(static_cast<size_t>(range), false);
      for (uint32_t id : set.sorted_) set.bits_[id - set.min_] = true;
      set.sorted_.clear();
    } else {
      std::sort(set.sorted_.begin(), set.sorted_.end());
    }
    return set;
  }

  bool Contains(uint32_t id) const {
    if (!bits_.empty()) return id >= min_ && id - min_ < bits_.size() && bits_[id - min_];
    return std::binary_search(sorted_.begin(), sorted_.end(), id);
  }

 private:
  uint32_t min_ = 0;
  std::vector<bool> bits_;
  std::vector<uint32_t> sorted_;
};

arrow::Status CheckIdType(const arrow::Array& array) {
  if (array.type_id() == arrow::Type::UINT16 || array.type_id() == arrow::Type::UINT32) {
    return arrow::Status::OK();
  }
  return arrow::Status::TypeError("id column has type ", array.type()->ToString());
}

}  // namespace

const std::shared_ptr<arrow::RecordBatch>& OtapBatch::Get(PayloadType type) const {
  const int slot = Slot(type);
  return slot == 0 ? kNoBatch : batches_[slot];
}

void OtapBatch::Set(PayloadType type, std::shared_ptr<arrow::RecordBatch> batch) {
  const int slot = Slot(type);
  if (slot != 0) batches_[slot] = std::move(batch);
}

int64_t OtapBatch::num_root_rows() const {
  const auto& batch = root();
  return batch ? batch->num_rows() : 0;
}

std::vector<PayloadType> OtapBatch::payload_types() const {
  std::vector<PayloadType> types;
  for (PayloadType type : PayloadTypesOf(signal_)) {
    if (Get(type)) types.push_back(type);
  }
  return types;
}

int64_t OtapBatch::num_items() const {
  if (signal_ != Signal::kMetrics) return num_root_rows();
  int64_t points = 0;
  for (PayloadType type :
       {PayloadType::kNumberDataPoints, PayloadType::kSummaryDataPoints,
        PayloadType::kHistogramDataPoints, PayloadType::kExpHistogramDataPoints}) {
    if (const auto& batch = Get(type)) points += batch->num_rows();
  }
  return points;
}

arrow::Status OtapBatch::Validate(bool full_arrow) const {
  for (PayloadType type : payload_types()) {
    const auto& batch = Get(type);
    const auto& expected = schema::CanonicalSchema(type);
    if (!batch->schema()->Equals(*expected, /*check_metadata=*/false)) {
      return arrow::Status::Invalid(TableName(type), ": schema ",
                                    batch->schema()->ToString(), " is not the canonical ",
                                    expected->ToString());
    }
    auto st = full_arrow ? batch->ValidateFull() : batch->Validate();
    if (!st.ok()) return st.WithMessage(TableName(type), ": ", st.message());
  }
  // Every child row must reference an existing parent row.
  for (PayloadType type : payload_types()) {
    auto parent = ParentOf(type, signal_);
    if (!parent || type == PayloadType::kResourceAttrs ||
        type == PayloadType::kScopeAttrs) {
      continue;
    }
    const auto& parent_batch = Get(*parent);
    if (!parent_batch) {
      return arrow::Status::Invalid(TableName(type), " has rows but its parent table ",
                                    TableName(*parent), " is absent");
    }
    const auto& id_column = *parent_batch->GetColumnByName(schema::kId);
    const auto& ref_column = *Get(type)->GetColumnByName(schema::kParentId);
    ARROW_RETURN_NOT_OK(CheckIdType(id_column));
    ARROW_RETURN_NOT_OK(CheckIdType(ref_column));
    ARROW_ASSIGN_OR_RAISE(auto parent_ids, IdSet::Make(id_column));
    std::optional<uint32_t> missing;
    ARROW_RETURN_NOT_OK(VisitIds(ref_column, [&](int64_t, uint32_t ref) {
      if (!missing && !parent_ids.Contains(ref)) missing = ref;
    }));
    if (missing) {
      return arrow::Status::Invalid(TableName(type), ": parent_id ", *missing,
                                    " has no row in ", TableName(*parent));
    }
  }
  return arrow::Status::OK();
}

}  // namespace otap_parquet
