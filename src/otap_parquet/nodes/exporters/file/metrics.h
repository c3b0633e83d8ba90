// SPDX-License-Identifier: Apache-2.0
#pragma once

#include "otap_parquet/engine/metrics.h"

/// \file
/// The metrics of `exporter:file`, declared once (rendered `otap_node_<name>_total`).

namespace otap_parquet::nodes {

struct FileExporterMetrics {
  static constexpr engine::MetricDef bytes_written =
      engine::Counter("file_bytes_written", "By", "bytes of OTLP/JSON lines written");
  static constexpr engine::MetricDef lines_written =
      engine::Counter("file_lines_written", "{line}", "batches written as lines");
  static constexpr engine::MetricDef write_errors =
      engine::Counter("file_write_errors", "{error}", "failed writes");
};

}  // namespace otap_parquet::nodes
