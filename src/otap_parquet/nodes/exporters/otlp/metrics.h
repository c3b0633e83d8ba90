// SPDX-License-Identifier: Apache-2.0
#pragma once

#include "otap_parquet/engine/metrics.h"

/// \file
/// The metrics of `exporter:otlp_grpc` and `exporter:otlp_http`, declared once
/// (rendered `otap_node_<name>[_total]`; docs/operations.md).

namespace otap_parquet::nodes {

struct OtlpExporterMetrics {
  engine::MetricDef requests_sent;
  engine::MetricDef requests_succeeded;
  engine::MetricDef requests_failed;
  engine::MetricDef retries;
  engine::MetricDef items_exported;
  engine::MetricDef items_rejected;
  engine::MetricDef bytes_sent;
  engine::MetricDef batches_acked;
  engine::MetricDef batches_nacked;
  engine::MetricDef in_flight;
};

/// \brief The set of an exporter built on OtlpExporter, its names starting with
/// `prefix` ("otlp_grpc_", "otlp_http_", "otap_").
constexpr OtlpExporterMetrics OtlpExporterMetricsFor(std::string_view prefix) {
  auto p = [prefix](engine::MetricDef def) { return engine::WithPrefix(def, prefix); };
  return {
      .requests_sent = p(engine::Counter("requests_sent", "{request}",
                                         "export attempts started (retries included)")),
      .requests_succeeded =
          p(engine::Counter("requests_succeeded", "{request}",
                            "export attempts the peer answered with success")),
      .requests_failed = p(engine::Counter(
          "requests_failed", "{request}",
          "failed export attempts, by gRPC code / HTTP status", "reason")),
      .retries = p(
          engine::Counter("retries", "{retry}", "export attempts scheduled for a retry")),
      .items_exported = p(engine::Counter(
          "items_exported", "{item}",
          "items (log records, spans, data points) the peer accepted", "signal")),
      .items_rejected = p(engine::Counter(
          "items_rejected", "{item}", "items the peer rejected in a partial success")),
      .bytes_sent = p(engine::Counter(
          "bytes_sent", "By", "request bytes sent (encoded, before compression)")),
      .batches_acked =
          p(engine::Counter("batches_acked", "{batch}", "batches exported and Acked")),
      .batches_nacked = p(engine::Counter("batches_nacked", "{batch}",
                                          "batches Nacked, by outcome", "outcome")),
      .in_flight = p(engine::Gauge("in_flight", "{request}",
                                   "requests sending or waiting for a retry")),
  };
}

inline constexpr OtlpExporterMetrics kOtlpGrpcExporterMetrics =
    OtlpExporterMetricsFor("otlp_grpc_");
inline constexpr OtlpExporterMetrics kOtlpHttpExporterMetrics =
    OtlpExporterMetricsFor("otlp_http_");

}  // namespace otap_parquet::nodes
