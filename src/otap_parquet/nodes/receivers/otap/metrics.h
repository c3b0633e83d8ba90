// SPDX-License-Identifier: Apache-2.0
#pragma once

#include "otap_parquet/engine/metrics.h"

/// \file
/// The metrics of `receiver:otap`, declared once (rendered `otap_node_<name>[_total]`;
/// docs/operations.md).

namespace otap_parquet::nodes {

struct OtapReceiverMetrics {
  /// Per protocol: OTel Arrow streams (`otap_arrow_`) and OTLP/gRPC on the same
  /// port (`otap_otlp_grpc_`).
  struct Protocol {
    engine::MetricDef requests_started;
    engine::MetricDef requests_completed;
    engine::MetricDef items_received;
    engine::MetricDef requests_rejected;
  };
  static constexpr Protocol arrow = {
      engine::Counter("otap_arrow_requests_started", "{batch}",
                      "batches (Arrow) or export requests (OTLP) sent into the pipeline",
                      "signal"),
      engine::Counter("otap_arrow_requests_completed", "{batch}",
                      "batches or requests answered with success", "signal"),
      engine::Counter("otap_arrow_items_received", "{item}",
                      "log records, spans or metric points admitted", "signal"),
      engine::Counter("otap_arrow_requests_rejected", "{batch}",
                      "batches or requests answered with an error", "reason")};
  static constexpr Protocol otlp_grpc = {
      engine::Counter("otap_otlp_grpc_requests_started", "{request}",
                      "batches (Arrow) or export requests (OTLP) sent into the pipeline",
                      "signal"),
      engine::Counter("otap_otlp_grpc_requests_completed", "{request}",
                      "batches or requests answered with success", "signal"),
      engine::Counter("otap_otlp_grpc_items_received", "{item}",
                      "log records, spans or metric points admitted", "signal"),
      engine::Counter("otap_otlp_grpc_requests_rejected", "{request}",
                      "batches or requests answered with an error", "reason")};

  static constexpr engine::MetricDef arrow_batches = engine::Counter(
      "otap_arrow_batches", "{batch}", "BatchArrowRecords messages received", "signal");
  static constexpr engine::MetricDef arrow_streams_open =
      engine::Gauge("otap_arrow_streams_open", "{stream}", "OTel Arrow streams open");
  static constexpr engine::MetricDef arrow_streams = engine::Counter(
      "otap_arrow_streams", "{stream}",
      "OTel Arrow streams: started, refused (auth, limit, method), broken (ended "
      "after a decode error)",
      "outcome");
  static constexpr engine::MetricDef arrow_message_bytes = engine::Counter(
      "otap_arrow_message_bytes", "By", "message bytes received (after decompression)");
  static constexpr engine::MetricDef arrow_zstd_messages = engine::Counter(
      "otap_arrow_zstd_messages", "{message}", "messages that arrived zstd-compressed");
  static constexpr engine::MetricDef arrow_compressed_messages = engine::Counter(
      "otap_arrow_compressed_messages", "{message}",
      "messages that arrived compressed by gRPC's gzip or deflate", "encoding");
  static constexpr engine::MetricDef arrow_decode_errors = engine::Counter(
      "otap_arrow_decode_errors", "{batch}", "batches that could not be decoded");
  static constexpr engine::MetricDef arrow_schema_resets = engine::Counter(
      "otap_arrow_schema_resets", "{reset}", "new schema_id for a payload type");
  static constexpr engine::MetricDef arrow_statuses =
      engine::Counter("otap_arrow_statuses", "{status}", "BatchStatus sent", "code");
  /// The receiver's one budget (admission.request_limit_mib), named before OTLP
  /// Export calls held it too.
  static constexpr engine::MetricDef arrow_in_flight_bytes = engine::Gauge(
      "otap_arrow_in_flight_bytes", "By",
      "message bytes held against admission.request_limit_mib: batches awaiting "
      "status and OTLP Export messages (decompressed) from arrival to answer");
  static constexpr engine::MetricDef arrow_read_pauses = engine::Counter(
      "otap_arrow_read_pauses", "{pause}", "times a stream stopped reading at a limit");
  static constexpr engine::MetricDef acknowledgements = engine::Counter(
      "otap_acknowledgements", "{request}",
      "wait_for_result outcomes: success (Ack), failure (retryable Nack), refused "
      "(permanent Nack), timeout (none within timeout)",
      "outcome");
};

}  // namespace otap_parquet::nodes
