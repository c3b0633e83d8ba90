// SPDX-License-Identifier: Apache-2.0
#pragma once

#include <chrono>
#include <cstdint>
#include <optional>
#include <vector>

#include "otap_parquet/config/config_reader.h"
#include "otap_parquet/dataset/dataset_reader.h"
#include "otap_parquet/dataset/storage.h"

/// \file
/// Configuration of `receiver:parquet`: the original design's keys (`base_uri`,
/// `signal_types`, `polling_interval`, `processing_options`) plus `storage` (the
/// shape of exporter:parquet's, instead of `base_uri`) and `time_range`.

namespace otap_parquet::nodes {

struct ParquetReceiverConfig {
  /// From `base_uri` (path or URI) or from the `storage` block.
  dataset::StorageConfig storage;
  /// `signal_types`: logs, traces, metrics (replayed in this order per partition).
  std::vector<Signal> signals = {Signal::kLogs, Signal::kTraces, Signal::kMetrics};
  /// 0 = one-shot: finish once the dataset is exhausted and every batch settled.
  std::chrono::nanoseconds polling_interval{0};
  /// `processing_options.batch_size`: most root rows per emitted batch, 1..65535.
  int64_t batch_size = 1000;
  /// `processing_options.min_file_age`: skip files modified more recently.
  std::chrono::milliseconds min_file_age{0};
  /// `processing_options.validate_relations`: log orphan rows (always counted).
  bool validate_relations = false;
  /// `time_range.{start,end}`: RFC 3339 or integer Unix nanoseconds; [start, end).
  std::optional<dataset::TimeRange> time_range;

  static ParquetReceiverConfig Read(config::ConfigReader& reader);

  dataset::ReaderOptions ToReaderOptions() const;
};

}  // namespace otap_parquet::nodes
