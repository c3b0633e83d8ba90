// SPDX-License-Identifier: Apache-2.0
#pragma once

#include "otap_parquet/engine/metrics.h"

/// \file
/// The metrics of `processor:batch`, declared once (rendered `otap_node_<name>_total`).

namespace otap_parquet::nodes {

struct BatchProcessorMetrics {
  static constexpr engine::MetricDef flushes = engine::Counter(
      "batch_flushes", "{flush}", "flushes of the batch processor by trigger", "reason");
  static constexpr engine::MetricDef inputs_flushed = engine::Counter(
      "batch_inputs_flushed", "{message}", "input messages taken by flushes");
  static constexpr engine::MetricDef split_flushes =
      engine::Counter("batch_split_flushes", "{flush}",
                      "flushes that produced more than one batch (max_size)");
};

}  // namespace otap_parquet::nodes
