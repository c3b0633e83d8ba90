// SPDX-License-Identifier: Apache-2.0
#pragma once

#include <cstdint>
#include <utility>

#include <arrow/array/data.h>
#include <arrow/status.h>
#include <arrow/type.h>
#include <arrow/util/bit_util.h>

/// \file
/// Visiting the values of an OTAP id column (`id`, `parent_id`, struct ids): UInt8,
/// UInt16 or UInt32, nulls skipped.

namespace otap_parquet {

namespace id_visit_internal {

template <typename C, typename Fn>
void VisitTypedIds(const arrow::ArrayData& data, Fn& fn) {
  const C* values = data.GetValues<C>(1);
  const int64_t n = data.length;
  if (data.GetNullCount() == 0) {
    for (int64_t i = 0; i < n; ++i) fn(i, static_cast<uint32_t>(values[i]));
  } else {
    const uint8_t* validity = data.buffers[0]->data();
    for (int64_t i = 0; i < n; ++i) {
      if (arrow::bit_util::GetBit(validity, data.offset + i)) {
        fn(i, static_cast<uint32_t>(values[i]));
      }
    }
  }
}

}  // namespace id_visit_internal

/// \brief Calls fn(row, id) for every non-null value of an unsigned id column;
/// TypeError for any other type.
template <typename Fn>
arrow::Status VisitIds(const arrow::ArrayData& data, Fn&& fn) {
  switch (data.type->id()) {
    case arrow::Type::UINT8:
      id_visit_internal::VisitTypedIds<uint8_t>(data, fn);
      return arrow::Status::OK();
    case arrow::Type::UINT16:
      id_visit_internal::VisitTypedIds<uint16_t>(data, fn);
      return arrow::Status::OK();
    case arrow::Type::UINT32:
      id_visit_internal::VisitTypedIds<uint32_t>(data, fn);
      return arrow::Status::OK();
    default:
      return arrow::Status::TypeError("id column has type ", data.type->ToString(),
                                      "; expected uint8, uint16 or uint32");
  }
}

template <typename Fn>
arrow::Status VisitIds(const arrow::Array& array, Fn&& fn) {
  return VisitIds(*array.data(), std::forward<Fn>(fn));
}

}  // namespace otap_parquet
