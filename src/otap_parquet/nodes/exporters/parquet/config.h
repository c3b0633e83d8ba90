// SPDX-License-Identifier: Apache-2.0
#pragma once

#include <cstdint>

#include "otap_parquet/config/config_reader.h"
#include "otap_parquet/dataset/parquet_exporter_config.h"

/// \file
/// Configuration of `exporter:parquet`: upstream's keys, parsed by
/// dataset::ParseParquetExporterConfig, plus the node's own `max_pending_batches`.

namespace otap_parquet::nodes {

struct ParquetExporterNodeConfig {
  /// `storage`, `partitioning_strategies`, `writer_options`, `retry`.
  dataset::ParquetExporterConfig dataset;
  /// Batches written but not yet durable (acks waiting for a flush) above which the
  /// node stops taking input (backpressure). Ours, not upstream's.
  int64_t max_pending_batches = 64;

  /// \brief Reads `max_pending_batches`, hands the rest to
  /// ParseParquetExporterConfig and records its errors in `reader`'s error list with
  /// their YAML paths and lines.
  static ParquetExporterNodeConfig Read(config::ConfigReader& reader);
};

}  // namespace otap_parquet::nodes
