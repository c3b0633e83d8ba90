// SPDX-License-Identifier: Apache-2.0
#include "otap_parquet/nodes/common/batch_text.h"

#include <fmt/format.h>

#include "otap_parquet/otlp/convert.h"
#include "otap_parquet/otlp/otlp_json.h"

namespace otap_parquet::nodes {

const char* ItemNoun(Signal signal) {
  switch (signal) {
    case Signal::kLogs:
      return "log records";
    case Signal::kTraces:
      return "spans";
    case Signal::kMetrics:
      return "data points";
  }
  return "items";
}

std::string SummarizeBatch(const OtapBatch& batch) {
  std::string tables;
  for (PayloadType type : batch.payload_types()) {
    const auto& rb = batch.Get(type);
    tables += fmt::format("{}{}={}", tables.empty() ? "" : " ", TableName(type),
                          rb ? rb->num_rows() : 0);
  }
  return fmt::format("{} {} in {} root rows; tables: {}", batch.num_items(),
                     ItemNoun(batch.signal()), batch.num_root_rows(), tables);
}

arrow::Result<std::string> BatchToOtlpJson(const OtapBatch& batch) {
  ARROW_ASSIGN_OR_RAISE(auto request, otlp::FromOtap(batch));
  return otlp::ToOtlpJson(request);
}

}  // namespace otap_parquet::nodes
