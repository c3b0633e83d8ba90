// SPDX-License-Identifier: Apache-2.0
#pragma once

#include <cstdint>
#include <optional>
#include <span>
#include <vector>

#include <arrow/result.h>

#include "otap_parquet/pdata/otap_batch.h"

/// \file
/// Native concatenation of OTAP batches (no OTLP round trip): the batch processor's
/// merge and split.

namespace otap_parquet {

/// \brief Limits of each batch ConcatOtapBatches produces.
struct ConcatOptions {
  /// Root rows (log records, spans, metrics) per output; root ids are UInt16.
  int64_t max_root_rows = 65535;
  /// Items (OtapBatch::num_items: log records, spans, metric data points) per
  /// output; unset = no limit. A root row is never split, so one metric with more
  /// data points than this goes alone into an output that exceeds it.
  std::optional<int64_t> max_items;

  static ConcatOptions Defaults() { return {}; }
  arrow::Status Validate() const;
};

/// \brief Concatenates OTAP batches of one signal into as few batches as `options`
/// allow, in input order.
///
/// Each input is normalized (schema::NormalizeToCanonical with wide ids); the ids of
/// every payload type, and the roots' `resource.id` / `scope.id`, are offset by the
/// id ranges of the inputs before it, and every `parent_id` by its parent's offset,
/// so no two inputs share an id and every parent/child relation stays exact. The
/// tables are then concatenated per payload type. When a limit is hit, root rows
/// are cut into consecutive runs; each output takes its roots' children (and
/// grandchildren, ...) and the resource/scope attributes its roots refer to (those
/// are repeated in every output that needs them). Every output has dense ids
/// (RemapIdsDense) and canonical schemas. Child rows whose parent does not exist
/// are dropped, as RemapIdsDense drops them.
///
/// Empty inputs contribute nothing; no inputs (or only empty ones) give no output.
/// Invalid when the inputs mix signals.
arrow::Result<std::vector<OtapBatch>> ConcatOtapBatches(
    std::span<const OtapBatch> inputs, const ConcatOptions& options = {});

}  // namespace otap_parquet
