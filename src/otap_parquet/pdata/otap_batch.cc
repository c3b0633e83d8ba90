// SPDX-License-Identifier: Apache-2.0
#include "otap_parquet/pdata/otap_batch.h"

#include <unordered_set>

#include <arrow/api.h>

#include "otap_parquet/schema/otap_schema.h"

namespace otap_parquet {

namespace {

const std::shared_ptr<arrow::RecordBatch> kNoBatch;

int Slot(PayloadType type) {
  const int index = static_cast<int>(type);
  return index >= 0 && index < kPayloadTypeSlots ? index : 0;
}

// Collects the non-null values of an integer id column (UInt16/UInt32).
arrow::Result<std::unordered_set<uint32_t>> CollectIds(const arrow::Array& array) {
  std::unordered_set<uint32_t> ids;
  ids.reserve(static_cast<size_t>(array.length()));
  if (array.type_id() == arrow::Type::UINT16) {
    const auto& typed = static_cast<const arrow::UInt16Array&>(array);
    for (int64_t i = 0; i < typed.length(); ++i) {
      if (typed.IsValid(i)) ids.insert(typed.Value(i));
    }
  } else if (array.type_id() == arrow::Type::UINT32) {
    const auto& typed = static_cast<const arrow::UInt32Array&>(array);
    for (int64_t i = 0; i < typed.length(); ++i) {
      if (typed.IsValid(i)) ids.insert(typed.Value(i));
    }
  } else {
    return arrow::Status::TypeError("id column has type ", array.type()->ToString());
  }
  return ids;
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
    ARROW_ASSIGN_OR_RAISE(auto parent_ids,
                          CollectIds(*parent_batch->GetColumnByName(schema::kId)));
    ARROW_ASSIGN_OR_RAISE(auto child_refs,
                          CollectIds(*Get(type)->GetColumnByName(schema::kParentId)));
    for (uint32_t ref : child_refs) {
      if (!parent_ids.count(ref)) {
        return arrow::Status::Invalid(TableName(type), ": parent_id ", ref,
                                      " has no row in ", TableName(*parent));
      }
    }
  }
  return arrow::Status::OK();
}

}  // namespace otap_parquet
