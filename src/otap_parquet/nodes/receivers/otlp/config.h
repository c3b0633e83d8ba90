// SPDX-License-Identifier: Apache-2.0
#pragma once

#include <chrono>
#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "otap_parquet/config/config_reader.h"
#include "otap_parquet/nodes/common/compression.h"
#include "otap_parquet/nodes/receivers/otlp/server_config.h"

/// \file
/// Configuration of `receiver:otlp`: upstream's `protocols.{grpc,http}` keys
/// (RDF GrpcServerSettings / HttpServerSettings) plus `auth.bearer_token`.
/// The gRPC transport tuning keys upstream has (keepalive, window sizes, ...) are
/// accepted and ignored; the HTTP server applies `tcp_nodelay` and `tcp_keepalive*`.

namespace otap_parquet::nodes {

/// \brief `protocols.grpc`.
struct OtlpGrpcConfig {
  ListenAddress listening_addr;
  int64_t max_decoding_message_size = 4 << 20;  ///< bytes
  /// `request_compression`: accepted grpc-encodings besides identity (`none` is
  /// always accepted and not kept). gRPC C++ decodes gzip and deflate; it passes
  /// zstd through, and the receiver decompresses it.
  std::vector<OtlpCompression> request_compression = {
      OtlpCompression::kZstd, OtlpCompression::kGzip, OtlpCompression::kDeflate};
  /// `response_compression`: none, gzip or deflate.
  OtlpCompression response_compression = OtlpCompression::kNone;

  bool Accepts(OtlpCompression method) const;
  int64_t max_concurrent_requests = 0;  ///< 0 = the pdata channel capacity
  bool wait_for_result = false;
  /// Server-side limit on waiting for channel space and for the outcome.
  std::optional<std::chrono::nanoseconds> timeout;
  std::optional<OtlpTlsConfig> tls;
  /// `admission.request_limit_mib` (receiver:otap's name): bytes of messages
  /// (decompressed) from their arrival to their answer, in this server (one per
  /// pipeline instance). A message that does not fit is refused RESOURCE_EXHAUSTED
  /// with a RetryInfo. 0 = RequestLimitBytes()'s default.
  int64_t request_limit_bytes = 0;

  /// \brief The effective limit: the key, else receiver:otap's default (128 MiB),
  /// raised to two max_decoding_message_size messages.
  int64_t RequestLimitBytes() const;

  static OtlpGrpcConfig Read(config::ConfigReader& reader);
};

/// \brief Connection limits of the OTLP/HTTP server (the Collector's confighttp
/// names: `idle_timeout`, `read_header_timeout`, `read_timeout`; plus
/// `max_connections`).
struct OtlpHttpLimits {
  /// An open connection with no request in progress is closed after this.
  std::chrono::milliseconds idle_timeout{60'000};
  /// Time from a request's first byte (or a TLS handshake's start) to the end of its
  /// headers: slow-drip clients are dropped after it.
  std::chrono::milliseconds header_timeout{10'000};
  /// Time to receive a body, and to write a response.
  std::chrono::milliseconds body_timeout{30'000};
  /// Open connections; at the limit, an answered connection draining before its
  /// close, else the longest-idle one, is closed for a new one; else the new one.
  int max_connections = 4096;
  /// Threads decoding requests and sending them into the pipeline (not a key).
  int worker_threads = 2;
  /// `tcp_nodelay`: TCP_NODELAY on every accepted connection.
  bool tcp_nodelay = true;
  /// `tcp_keepalive`: idle time before TCP keepalive probes (SO_KEEPALIVE +
  /// TCP_KEEPIDLE); none = off. `tcp_keepalive_interval` (TCP_KEEPINTVL) and
  /// `tcp_keepalive_retries` (TCP_KEEPCNT) need it; the kernel's defaults otherwise.
  std::optional<std::chrono::seconds> tcp_keepalive;
  std::optional<std::chrono::seconds> tcp_keepalive_interval;
  std::optional<int> tcp_keepalive_retries;
};

/// \brief `protocols.http`.
struct OtlpHttpConfig {
  ListenAddress listening_addr;
  int64_t max_request_body_size = 4 << 20;  ///< bytes, on the wire and decompressed
  int64_t max_concurrent_requests = 0;      ///< 0 = the pdata channel capacity
  bool wait_for_result = false;
  std::chrono::nanoseconds timeout = std::chrono::seconds(30);
  bool accept_compressed_requests = true;
  std::optional<OtlpTlsConfig> tls;
  OtlpHttpLimits limits;
  /// `admission.request_limit_mib` (receiver:otap's name): bytes held by request
  /// bodies being read (their announced size, max_request_body_size for a chunked
  /// one) and by requests not answered yet, in this server (one per pipeline
  /// instance). A request that does not fit is refused from its headers (503 +
  /// Retry-After). 0 = RequestLimitBytes()'s default.
  int64_t request_limit_bytes = 0;

  /// \brief The effective limit: the key, else receiver:otap's default (128 MiB),
  /// raised to two max_request_body_size requests.
  int64_t RequestLimitBytes() const;

  static OtlpHttpConfig Read(config::ConfigReader& reader);
};

struct OtlpReceiverConfig {
  std::optional<OtlpGrpcConfig> grpc;
  std::optional<OtlpHttpConfig> http;
  /// `auth.bearer_token` (ServerAuthConfig): when set, requests must carry
  /// `authorization: Bearer <token>` (gRPC metadata or HTTP header).
  std::string bearer_token;

  static OtlpReceiverConfig Read(config::ConfigReader& reader);
};

}  // namespace otap_parquet::nodes
