// SPDX-License-Identifier: Apache-2.0
#pragma once

#include <string>

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

}  // namespace otap_parquet::nodes
