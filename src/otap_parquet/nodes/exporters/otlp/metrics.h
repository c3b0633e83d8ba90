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

inline constexpr OtlpExporterMetrics kOtlpGrpcExporterMetrics{
    .requests_sent = engine::Counter("otlp_grpc_requests_sent", "{request}",
                                     "export attempts started (retries included)"),
    .requests_succeeded =
        engine::Counter("otlp_grpc_requests_succeeded", "{request}",
                        "export attempts the peer answered with success"),
    .requests_failed =
        engine::Counter("otlp_grpc_requests_failed", "{request}",
                        "failed export attempts, by gRPC code / HTTP status", "reason"),
    .retries = engine::Counter("otlp_grpc_retries", "{retry}",
                               "export attempts scheduled for a retry"),
    .items_exported = engine::Counter(
        "otlp_grpc_items_exported", "{item}",
        "items (log records, spans, data points) the peer accepted", "signal"),
    .items_rejected = engine::Counter("otlp_grpc_items_rejected", "{item}",
                                      "items the peer rejected in a partial success"),
    .bytes_sent = engine::Counter("otlp_grpc_bytes_sent", "By",
                                  "request bytes sent (encoded, before compression)"),
    .batches_acked = engine::Counter("otlp_grpc_batches_acked", "{batch}",
                                     "batches exported and Acked"),
    .batches_nacked = engine::Counter("otlp_grpc_batches_nacked", "{batch}",
                                      "batches Nacked, by outcome", "outcome"),
    .in_flight = engine::Gauge("otlp_grpc_in_flight", "{request}",
                               "requests sending or waiting for a retry"),
};

inline constexpr OtlpExporterMetrics kOtlpHttpExporterMetrics{
    .requests_sent = engine::Counter("otlp_http_requests_sent", "{request}",
                                     "export attempts started (retries included)"),
    .requests_succeeded =
        engine::Counter("otlp_http_requests_succeeded", "{request}",
                        "export attempts the peer answered with success"),
    .requests_failed =
        engine::Counter("otlp_http_requests_failed", "{request}",
                        "failed export attempts, by gRPC code / HTTP status", "reason"),
    .retries = engine::Counter("otlp_http_retries", "{retry}",
                               "export attempts scheduled for a retry"),
    .items_exported = engine::Counter(
        "otlp_http_items_exported", "{item}",
        "items (log records, spans, data points) the peer accepted", "signal"),
    .items_rejected = engine::Counter("otlp_http_items_rejected", "{item}",
                                      "items the peer rejected in a partial success"),
    .bytes_sent = engine::Counter("otlp_http_bytes_sent", "By",
                                  "request bytes sent (encoded, before compression)"),
    .batches_acked = engine::Counter("otlp_http_batches_acked", "{batch}",
                                     "batches exported and Acked"),
    .batches_nacked = engine::Counter("otlp_http_batches_nacked", "{batch}",
                                      "batches Nacked, by outcome", "outcome"),
    .in_flight = engine::Gauge("otlp_http_in_flight", "{request}",
                               "requests sending or waiting for a retry"),
};

}  // namespace otap_parquet::nodes
