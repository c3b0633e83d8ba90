// SPDX-License-Identifier: Apache-2.0
#pragma once

#include "otap_parquet/engine/metrics.h"

/// \file
/// The metrics of `receiver:otlp`, declared once (rendered `otap_node_<name>[_total]`;
/// docs/operations.md).

namespace otap_parquet::nodes {

struct OtlpReceiverMetrics {
  /// Per protocol: `otlp_grpc_` and `otlp_http_`.
  struct Protocol {
    engine::MetricDef requests_started;
    engine::MetricDef requests_completed;
    engine::MetricDef request_bytes;
    engine::MetricDef items_received;
    engine::MetricDef requests_rejected;
    engine::MetricDef in_flight_bytes;  ///< gauge
  };
  static constexpr Protocol grpc = {
      engine::Counter("otlp_grpc_requests_started", "{request}",
                      "export requests received", "signal"),
      engine::Counter("otlp_grpc_requests_completed", "{request}",
                      "export requests answered with success", "signal"),
      engine::Counter("otlp_grpc_request_bytes", "By",
                      "request payload bytes (as received, before decompression for "
                      "gRPC)",
                      "signal"),
      engine::Counter("otlp_grpc_items_received", "{item}",
                      "log records, spans or metric points admitted", "signal"),
      engine::Counter("otlp_grpc_requests_rejected", "{request}",
                      "export requests answered with an error", "reason"),
      engine::Gauge("otlp_grpc_in_flight_bytes", "By",
                    "bytes held by OTLP/gRPC messages (decompressed) from their "
                    "arrival to their answer (admission.request_limit_mib)")};
  static constexpr Protocol http = {
      engine::Counter("otlp_http_requests_started", "{request}",
                      "export requests received", "signal"),
      engine::Counter("otlp_http_requests_completed", "{request}",
                      "export requests answered with success", "signal"),
      engine::Counter("otlp_http_request_bytes", "By",
                      "request payload bytes (as received, before decompression for "
                      "gRPC)",
                      "signal"),
      engine::Counter("otlp_http_items_received", "{item}",
                      "log records, spans or metric points admitted", "signal"),
      engine::Counter("otlp_http_requests_rejected", "{request}",
                      "export requests answered with an error", "reason"),
      engine::Gauge("otlp_http_in_flight_bytes", "By",
                    "bytes reserved by OTLP/HTTP requests from their headers to their "
                    "answer (admission.request_limit_mib)")};

  static constexpr engine::MetricDef http_connections = engine::Gauge(
      "otlp_http_connections", "{connection}", "open OTLP/HTTP connections");
  static constexpr engine::MetricDef http_connections_closed =
      engine::Counter("otlp_http_connections_closed", "{connection}",
                      "OTLP/HTTP connections closed without an answer", "reason");
  static constexpr engine::MetricDef acknowledgements = engine::Counter(
      "otlp_acknowledgements", "{request}",
      "wait_for_result outcomes: success (Ack), failure (retryable Nack), refused "
      "(permanent Nack), timeout (none within timeout)",
      "outcome");
  static constexpr engine::MetricDef requests_waiting = engine::Gauge(
      "otlp_requests_waiting", "{request}", "requests waiting for their outcome");
};

}  // namespace otap_parquet::nodes
