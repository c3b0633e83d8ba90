// SPDX-License-Identifier: Apache-2.0
#pragma once

#include <array>
#include <memory>
#include <vector>

#include <arrow/record_batch.h>
#include <arrow/status.h>

#include "otap_parquet/schema/payload_type.h"

namespace otap_parquet {

/// \brief One signal's telemetry in OTAP form: a record batch per payload type,
/// joined by `id` → `parent_id`.
///
/// Ids are plain (never transport encoded) and unique within the batch; every
/// record batch has the canonical schema of its payload type
/// (schema::CanonicalSchema). Copying an OtapBatch shares the Arrow data.
class OtapBatch {
 public:
  explicit OtapBatch(Signal signal) : signal_(signal) {}

  Signal signal() const { return signal_; }

  /// \brief The record batch of a payload type, or null if the batch has none.
  const std::shared_ptr<arrow::RecordBatch>& Get(PayloadType type) const;
  /// \brief Sets (or, with null, removes) a payload type's record batch.
  void Set(PayloadType type, std::shared_ptr<arrow::RecordBatch> batch);

  /// \brief The root table (logs, spans or univariate_metrics), possibly null.
  const std::shared_ptr<arrow::RecordBatch>& root() const {
    return Get(RootPayloadType(signal_));
  }
  /// \brief Rows of the root table: log records, spans or metrics.
  int64_t num_root_rows() const;
  /// \brief Payload types present, in PayloadTypesOf(signal) order.
  std::vector<PayloadType> payload_types() const;
  /// \brief Items as OTLP counts them: log records, spans, or metric data points.
  int64_t num_items() const;
  bool empty() const { return num_root_rows() == 0; }

  /// \brief Checks that every table has its canonical schema, valid Arrow data,
  /// and that no child row names a parent that does not exist. `full_arrow=false`
  /// checks the Arrow data only structurally (RecordBatch::Validate), for callers
  /// that validated it in full already (receiver:otap validates every decoded IPC
  /// batch: twice cost ~20% of its CPU in UTF-8 checks).
  arrow::Status Validate(bool full_arrow = true) const;

 private:
  Signal signal_;
  std::array<std::shared_ptr<arrow::RecordBatch>, kPayloadTypeSlots> batches_;
};

}  // namespace otap_parquet
