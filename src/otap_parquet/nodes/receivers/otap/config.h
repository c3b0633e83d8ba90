// SPDX-License-Identifier: Apache-2.0
#pragma once

#include <chrono>
#include <cstdint>
#include <optional>
#include <string>

#include "otap_parquet/config/config_reader.h"
#include "otap_parquet/nodes/receivers/otlp/server_config.h"

/// \file
/// Configuration of `receiver:otap`: upstream's key names (the Rust engine's
/// `receiver:otap` first, Go otelarrowreceiver's `admission` / `arrow` limits after;
/// shared/docs/otap-protocol.md §8) plus `auth.bearer_token` and `otlp`.

namespace otap_parquet::nodes {

struct OtapReceiverConfig {
  ListenAddress listening_addr;
  /// Batches in the pipeline at once, all streams (Ingest's admission).
  int64_t max_concurrent_requests = 1000;
  /// Batches of one stream awaiting their status: beyond it the stream is not read
  /// (HTTP/2 flow control holds the sender back).
  int64_t max_concurrent_requests_per_stream = 16;
  /// Streams open at once; a new one beyond it is refused UNAVAILABLE.
  int64_t max_concurrent_streams = 256;
  /// Status after the pipeline's Ack/Nack (true) or once the batch is in the
  /// pipeline (false, upstream Rust's default).
  bool wait_for_result = true;
  /// Longest wait for channel space and (wait_for_result) for the outcome.
  std::chrono::nanoseconds timeout = std::chrono::seconds(30);
  /// Largest message, after our zstd decompression too.
  int64_t max_decoding_message_size = 4 << 20;
  /// `admission.request_limit_mib`: bytes of batches (decompressed messages) in
  /// flight in the whole receiver; beyond it no stream is read.
  int64_t request_limit_bytes = int64_t{128} << 20;
  /// `arrow.memory_limit_mib`: memory of one stream's Arrow decoding (dictionaries,
  /// decompressed IPC bodies, batches still in the pipeline). A stream stops being
  /// read at half of it; a batch that would exceed it is answered UNAVAILABLE and
  /// the stream ends.
  int64_t stream_memory_limit = int64_t{128} << 20;
  /// `keepalive`: connection age limits (0 = none) and the shortest client ping
  /// interval tolerated (Rust exporters ping every 30 s).
  std::chrono::milliseconds max_connection_age{0};
  std::chrono::milliseconds max_connection_age_grace{0};
  std::chrono::milliseconds min_ping_interval{10'000};
  std::optional<OtlpTlsConfig> tls;
  /// `auth.bearer_token` (ServerAuthConfig): streams must carry `authorization: Bearer
  /// <token>` in their metadata; a batch whose HPACK headers carry another one is
  /// refused.
  std::string bearer_token;
  /// `otlp`: also serve OTLP's three Export services on the port (default true:
  /// Go exporters fall back to them).
  bool otlp = true;

  static OtapReceiverConfig Read(config::ConfigReader& reader);
};

}  // namespace otap_parquet::nodes
