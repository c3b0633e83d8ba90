// SPDX-License-Identifier: Apache-2.0
#pragma once

#include <chrono>
#include <cstdint>
#include <optional>

#include "otap_parquet/config/config_reader.h"
#include "otap_parquet/nodes/exporters/otlp/config.h"
#include "otap_parquet/pdata/ids.h"

/// \file
/// Configuration of `exporter:otap`: upstream's key names (the Rust engine's
/// `exporter:otap`, Go otelarrowexporter's `arrow` block; shared/docs/
/// otap-protocol.md §8) over `exporter:otlp_grpc`'s client settings (endpoint, TLS,
/// headers, gzip, timeout, retry_on_failure), which are read by the same code.

namespace otap_parquet::nodes {

struct OtapExporterConfig {
  /// Endpoint, TLS, headers, compression (none / gzip), retry_on_failure,
  /// max_in_flight; also the OTLP `Export` calls after a downgrade.
  OtlpGrpcExporterConfig grpc;
  /// `arrow.num_streams` (alias `streams_per_signal`): streams per signal.
  int64_t num_streams = 1;
  /// `arrow.max_stream_lifetime`: a stream older than this gets no new batches; a
  /// replacement is opened first, then it is half-closed and drained. 0 = unlimited.
  std::chrono::nanoseconds max_stream_lifetime = std::chrono::seconds(30);
  /// `arrow.disable_downgrade`: keep retrying OTAP when the peer answers
  /// UNIMPLEMENTED instead of sending OTLP `Export` requests.
  bool disable_downgrade = false;
  /// `arrow.payload_compression`: zstd (default) or none.
  bool payload_zstd = true;
  /// `arrow.payload_compression_level`: zstd level of the IPC bodies; unset = the
  /// encoder's default (otap_wire::kDefaultPayloadZstdLevel). Ours: upstream's Go
  /// `arrow.zstd.level` is the level of its gRPC-level zstd, which gRPC C++ cannot send.
  std::optional<int> payload_zstd_level;
  /// `send_metric_attrs`: METRIC_ATTRS payloads (off for Go receivers up to v0.148.0).
  bool send_metric_attrs = true;
  /// `arrow.id_dialect`: rust (default) or go: whose quasi-delta rules the transport
  /// ids follow (go for Go receivers: NaN / -0.0 values then land on their records).
  IdDialect id_dialect = IdDialect::kRust;
  /// `max_message_size`: a batch whose encoded message exceeds it is split by root
  /// rows and encoded again (with fresh IPC state).
  int64_t max_message_size = 4 << 20;
  /// `max_stream_failures`: a batch in flight on this many streams that ended
  /// without answering it is Nacked permanently (a batch that kills streams).
  int64_t max_stream_failures = 3;
  /// `timeout`: longest wait for a batch's BatchStatus on a stream, from when it is
  /// queued; past it the stream is cancelled and its unanswered batches fail
  /// retryable (one strike each toward max_stream_failures). Also the deadline of
  /// OTLP Export calls after a downgrade (unset: none there).
  std::chrono::nanoseconds batch_timeout = std::chrono::seconds(60);

  static OtapExporterConfig Read(config::ConfigReader& reader);
};

}  // namespace otap_parquet::nodes
