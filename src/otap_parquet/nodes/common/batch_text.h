// SPDX-License-Identifier: Apache-2.0
#pragma once

#include <string>
#include <vector>

#include <arrow/result.h>

#include "otap_parquet/pdata/otap_batch.h"

/// \file
/// Batches as text, for the nodes that print them (processor:debug,
/// exporter:console, exporter:file).

namespace otap_parquet::nodes {

/// \brief What the items of a signal are called: "log records", "spans", "data
/// points".
const char* ItemNoun(Signal signal);
/// \brief One-line summary of a batch: signal, items, rows per table.
std::string SummarizeBatch(const OtapBatch& batch);
/// \brief The batch as one line of OTLP/JSON.
arrow::Result<std::string> BatchToOtlpJson(const OtapBatch& batch);

/// \brief What ItemsToOtlpJson keeps of each item.
enum class ItemFields {
  /// Logs: body and attributes; spans: name, trace and span ids, attributes;
  /// metrics: name and data points (attributes and values, no timestamps or
  /// exemplars). What upstream's debug processor prints per item at `normal`.
  kSummary,
  /// Every field.
  kAll,
};

/// \brief Each item of the batch (log record, span or metric) as one line of
/// OTLP/JSON of that message alone, without its resource and scope; in OTLP order
/// (by resource, then scope, as BatchToOtlpJson lists them).
arrow::Result<std::vector<std::string>> ItemsToOtlpJson(const OtapBatch& batch,
                                                        ItemFields fields);

}  // namespace otap_parquet::nodes
