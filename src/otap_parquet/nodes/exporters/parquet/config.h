// SPDX-License-Identifier: Apache-2.0
#pragma once

#include <cstdint>
#include <optional>
#include <string>

#include "otap_parquet/config/config_reader.h"
#include "otap_parquet/nodes/exporters/parquet/parquet_exporter_config.h"
#include "otap_parquet/nodes/exporters/parquet/retention_worker.h"

/// \file
/// Configuration of `exporter:parquet`: upstream's keys, read by
/// dataset::ParquetExporterConfig::Read, plus the node's own `max_pending_batches`,
/// `wal` and `retention`.

namespace otap_parquet::nodes {

/// \brief `wal:` of exporter:parquet (ours): the write-ahead log that makes an
/// acknowledgement mean "durable on local disk" without waiting for a Parquet flush.
struct ParquetWalConfig {
  bool enabled = false;
  /// Directory holding `<node id>/core-<n>/` logs. Default for a `file` dataset:
  /// `<base>/_wal` (readers list table directories only); required for object
  /// stores (the log is local).
  std::string path;
  /// Bytes of unpublished segments at which new batches are refused (retryable).
  int64_t max_size = 1LL << 30;
  /// A segment is sealed (and deleted once published) at this size.
  int64_t segment_size = 64LL << 20;

  /// \brief Reads the `wal` block; `path` is checked against the storage by the
  /// exporter's Read.
  static ParquetWalConfig Read(config::ConfigReader& reader);
};

struct ParquetExporterNodeConfig {
  /// `storage`, `partitioning_strategies`, `writer_options`, `retry`.
  dataset::ParquetExporterConfig dataset;
  /// Batches written but not yet durable (acks waiting for a flush) above which the
  /// node stops taking input (backpressure). Ours, not upstream's.
  int64_t max_pending_batches = 64;
  ParquetWalConfig wal;
  /// `retention:` (ours): delete partitions older than `max_age` as it runs.
  std::optional<ParquetRetentionConfig> retention;

  /// \brief Reads `max_pending_batches`, `wal` and `retention`, and upstream's keys
  /// with dataset::ParquetExporterConfig::Read; errors carry YAML paths and lines.
  static ParquetExporterNodeConfig Read(config::ConfigReader& reader);
};

}  // namespace otap_parquet::nodes
