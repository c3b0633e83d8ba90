// SPDX-License-Identifier: Apache-2.0
#pragma once

#include <cstdint>
#include <string_view>
#include <vector>

#include <arrow/result.h>
#include <arrow/status.h>

#include "otap_parquet/otlp/otlp_types.h"
#include "otap_parquet/pdata/otap_batch.h"

/// \file
/// Lossless conversion between OTLP export requests and OtapBatches.

namespace otap_parquet::otlp {

struct ToOtapOptions {
  /// Most root rows (log records, spans, metrics) per OtapBatch; a request with
  /// more is split. Root ids are UInt16, so at most 65535.
  int64_t max_root_rows = 65535;

  arrow::Status Validate() const {
    if (max_root_rows < 1 || max_root_rows > 65535) {
      return arrow::Status::Invalid("max_root_rows must be in 1..65535, got ",
                                    max_root_rows);
    }
    return arrow::Status::OK();
  }
};

/// \brief Converts one OTLP request into one or more OtapBatches (more only when
/// it holds more than `max_root_rows` roots). An empty request gives none.
///
/// Fails with Invalid, naming the field, on data OTAP cannot hold losslessly or
/// that is malformed: trace/span ids of the wrong length, enum values outside the
/// OTLP definition.
arrow::Result<std::vector<OtapBatch>> ToOtap(const OtlpRequest& request,
                                             const ToOtapOptions& options = {});
arrow::Result<std::vector<OtapBatch>> LogsToOtap(const LogsRequest& request,
                                                 const ToOtapOptions& options = {});
/// \brief LogsToOtap of a serialized ExportLogsServiceRequest, decoded straight
/// from its wire bytes without building protobuf messages (faster). For every input
/// it either gives exactly what parsing the bytes and LogsToOtap give, or fails
/// where they would fail (with a less precise message: callers wanting the precise
/// one fall back to the message path).
arrow::Result<std::vector<OtapBatch>> LogsWireToOtap(std::string_view bytes,
                                                     const ToOtapOptions& options = {});
arrow::Result<std::vector<OtapBatch>> TracesToOtap(const TracesRequest& request,
                                                   const ToOtapOptions& options = {});
/// \brief TracesToOtap of a serialized ExportTraceServiceRequest, straight from its
/// wire bytes; same contract as LogsWireToOtap.
arrow::Result<std::vector<OtapBatch>> TracesWireToOtap(std::string_view bytes,
                                                       const ToOtapOptions& options = {});
arrow::Result<std::vector<OtapBatch>> MetricsToOtap(const MetricsRequest& request,
                                                    const ToOtapOptions& options = {});

/// \brief Converts an OtapBatch (canonical schemas, plain ids) back to one OTLP
/// request. Root rows sharing `resource.id` (then `scope.id`) are grouped into one
/// ResourceX (ScopeX), in order of first appearance; child rows keep their order.
/// Child rows whose parent does not exist are ignored.
arrow::Result<OtlpRequest> FromOtap(const OtapBatch& batch);
arrow::Result<LogsRequest> OtapToLogs(const OtapBatch& batch);
arrow::Result<TracesRequest> OtapToTraces(const OtapBatch& batch);
arrow::Result<MetricsRequest> OtapToMetrics(const OtapBatch& batch);

}  // namespace otap_parquet::otlp
