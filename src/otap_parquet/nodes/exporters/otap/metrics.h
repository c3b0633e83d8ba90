// SPDX-License-Identifier: Apache-2.0
#pragma once

#include "otap_parquet/engine/metrics.h"
#include "otap_parquet/nodes/exporters/otlp/metrics.h"

/// \file
/// The metrics of `exporter:otap`, declared once: exporter:otlp_grpc's set with the
/// prefix `otap_` (the shared export loop sets them) plus the streams' own
/// (docs/otap.md).

namespace otap_parquet::nodes {

inline constexpr OtlpExporterMetrics kOtapExporterMetrics =
    OtlpExporterMetricsFor("otap_");

/// The OTel Arrow streams of exporter:otap.
struct OtapStreamMetrics {
  static constexpr engine::MetricDef streams_opened =
      engine::Counter("otap_streams_opened", "{stream}", "Arrow streams opened");
  static constexpr engine::MetricDef streams_open =
      engine::Gauge("otap_streams_open", "{stream}", "Arrow streams open");
  static constexpr engine::MetricDef streams_rolled_over = engine::Counter(
      "otap_streams_rolled_over", "{stream}", "streams replaced at max_stream_lifetime");
  static constexpr engine::MetricDef streams_unimplemented =
      engine::Counter("otap_streams_unimplemented", "{stream}",
                      "streams the peer answered UNIMPLEMENTED");
  static constexpr engine::MetricDef streams_failed = engine::Counter(
      "otap_streams_failed", "{stream}", "streams that ended with batches unanswered");
  static constexpr engine::MetricDef messages_sent = engine::Counter(
      "otap_messages_sent", "{message}", "BatchArrowRecords messages written");
  static constexpr engine::MetricDef messages_unanswered =
      engine::Counter("otap_messages_unanswered", "{message}",
                      "messages whose stream ended before their BatchStatus (their "
                      "batches are retried or failed)");
  static constexpr engine::MetricDef message_bytes = engine::Counter(
      "otap_message_bytes", "By", "bytes of the BatchArrowRecords messages written");
  static constexpr engine::MetricDef unknown_statuses = engine::Counter(
      "otap_unknown_statuses", "{status}", "BatchStatus answers for no batch in flight");
  static constexpr engine::MetricDef batches_downgraded =
      engine::Counter("otap_batches_downgraded", "{batch}",
                      "batches sent as OTLP Export after a downgrade");
  static constexpr engine::MetricDef split_batches = engine::Counter(
      "otap_split_batches", "{batch}", "batches split for max_message_size");
  static constexpr engine::MetricDef schemas =
      engine::Counter("otap_schemas", "{schema}", "IPC streams started (schema_ids)");
  static constexpr engine::MetricDef dictionary_resets = engine::Counter(
      "otap_dictionary_resets", "{dictionary}", "replacement dictionaries sent");
  static constexpr engine::MetricDef native_columns =
      engine::Counter("otap_native_columns", "{column}",
                      "attribute columns sent native after their dictionary was "
                      "replaced twice");
  static constexpr engine::MetricDef metric_attrs_dropped =
      engine::Counter("otap_metric_attrs_dropped", "{row}",
                      "METRIC_ATTRS rows not sent (send_metric_attrs)");
  static constexpr engine::MetricDef batch_timeouts =
      engine::Counter("otap_batch_timeouts", "{stream}",
                      "streams cancelled because a batch got no status within timeout");
  static constexpr engine::MetricDef downgraded =
      engine::Gauge("otap_downgraded", "1",
                    "1 when the signal is sent as OTLP (peer without OTAP)", "signal");
  static constexpr engine::MetricDef statuses = engine::Counter(
      "otap_statuses", "{status}", "BatchStatus answers, by code", "code");
  static constexpr engine::MetricDef stream_ends = engine::Counter(
      "otap_stream_ends", "{stream}", "streams ended, by gRPC status", "code");
};

}  // namespace otap_parquet::nodes
