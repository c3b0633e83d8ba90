// SPDX-License-Identifier: Apache-2.0
#include "otap_parquet/nodes/receivers/parquet/pacing.h"

#include <algorithm>
#include <cmath>
#include <limits>

#include <arrow/api.h>

#include "otap_parquet/schema/otap_schema.h"

namespace otap_parquet::nodes {

namespace {

// Smallest non-zero value of a timestamp/int64 column (nullopt if none).
std::optional<int64_t> MinTime(const std::shared_ptr<arrow::RecordBatch>& batch,
                               const char* name) {
  if (!batch) return std::nullopt;
  auto column = batch->GetColumnByName(name);
  if (!column) return std::nullopt;
  if (column->type_id() != arrow::Type::TIMESTAMP &&
      column->type_id() != arrow::Type::INT64) {
    return std::nullopt;
  }
  const auto* values = column->data()->GetValues<int64_t>(1);
  std::optional<int64_t> min;
  for (int64_t i = 0; i < column->length(); ++i) {
    if (column->IsNull(i) || values[i] == 0) continue;
    if (!min || values[i] < *min) min = values[i];
  }
  return min;
}

}  // namespace

std::optional<int64_t> BatchEventTime(const OtapBatch& batch) {
  switch (batch.signal()) {
    case Signal::kLogs: {
      auto t = MinTime(batch.root(), schema::kTimeUnixNano);
      return t ? t : MinTime(batch.root(), schema::kObservedTimeUnixNano);
    }
    case Signal::kTraces:
      return MinTime(batch.root(), schema::kStartTimeUnixNano);
    case Signal::kMetrics: {
      std::optional<int64_t> min;
      for (PayloadType type :
           {PayloadType::kNumberDataPoints, PayloadType::kHistogramDataPoints,
            PayloadType::kExpHistogramDataPoints, PayloadType::kSummaryDataPoints}) {
        auto t = MinTime(batch.Get(type), schema::kTimeUnixNano);
        if (t && (!min || *t < *min)) min = t;
      }
      return min;
    }
  }
  return std::nullopt;
}

engine::Clock::time_point PacingSchedule::DueAt(std::optional<int64_t> event_time,
                                                engine::Clock::time_point now) {
  if (!event_time) return anchored_ ? std::max(now, last_due_) : now;
  if (!anchored_) {
    anchored_ = true;
    anchor_time_ = *event_time;
    last_time_ = *event_time;
    anchor_wall_ = now;
  }
  last_time_ = std::max(last_time_, *event_time);
  const double gap_ns = static_cast<double>(last_time_ - anchor_time_) / speed_;
  // Far-future schedules (huge gaps, tiny speeds) saturate instead of overflowing.
  const double limit = static_cast<double>(std::numeric_limits<int64_t>::max() / 4);
  const auto gap =
      std::chrono::nanoseconds(static_cast<int64_t>(std::min(gap_ns, limit)));
  last_due_ = anchor_wall_ + std::chrono::duration_cast<engine::Clock::duration>(gap);
  return last_due_;
}

}  // namespace otap_parquet::nodes
