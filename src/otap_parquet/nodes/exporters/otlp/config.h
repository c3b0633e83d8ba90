// SPDX-License-Identifier: Apache-2.0
#pragma once

#include <chrono>
#include <cstdint>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "otap_parquet/config/config_reader.h"
#include "otap_parquet/nodes/common/compression.h"
#include "otap_parquet/nodes/common/retry.h"
#include "otap_parquet/util/backoff.h"

/// \file
/// Configuration of `exporter:otlp_grpc` and `exporter:otlp_http`: upstream's keys
/// (GrpcClientSettings / HttpClientSettings, see upstream-engine-config.md §3.8,
/// §3.9) plus the Collector's `retry_on_failure` block, which upstream leaves to
/// `processor:retry`.

namespace otap_parquet::nodes {

/// \brief TlsClientConfig. PEM contents are loaded (from `*_file`) at config time,
/// so a missing file is a configuration error.
struct OtlpClientTlsConfig {
  std::string ca_file, cert_file, key_file;  ///< as configured (HTTP uses paths)
  std::string ca_pem, cert_pem, key_pem;     ///< contents
  std::string server_name_override;
  bool include_system_ca_certs_pool = true;
  /// Plaintext even for an https:// endpoint (upstream's `insecure`).
  bool insecure = false;

  static OtlpClientTlsConfig Read(config::ConfigReader& reader);
};

/// \brief A parsed endpoint: `http://host:port[/path]` or `https://...`; a missing
/// scheme means http.
struct OtlpEndpoint {
  bool https = false;
  std::string host;
  int port = 0;
  std::string path;  ///< "" or "/prefix" (no trailing '/')

  /// \brief `host:port` (bracketed for IPv6).
  std::string authority() const;
  /// \brief `scheme://host:port`.
  std::string origin() const;
  static std::optional<OtlpEndpoint> Parse(std::string_view text, std::string* error);
};

/// \brief What both exporters share.
struct OtlpClientConfig {
  /// `compression`: none, gzip or (HTTP only) zstd; deflate is refused.
  OtlpCompression compression = OtlpCompression::kNone;
  std::optional<std::chrono::nanoseconds> timeout;
  std::chrono::nanoseconds connect_timeout = std::chrono::seconds(3);
  std::vector<std::pair<std::string, std::string>> headers;
  std::optional<OtlpClientTlsConfig> tls;
  std::string user_agent;
  /// Concurrent export requests (including those waiting for a retry); more
  /// pauses the node's intake.
  int64_t max_in_flight = 5;
  OtlpRetryConfig retry;

  /// Whether requests to `endpoint` go over TLS: https:// and not `tls.insecure`.
  bool UsesTls(const OtlpEndpoint& endpoint) const {
    return endpoint.https && !(tls && tls->insecure);
  }
};

/// \brief `exporter:otlp_grpc`.
struct OtlpGrpcExporterConfig {
  OtlpEndpoint endpoint;
  OtlpClientConfig client;
  int64_t num_connections = 1;

  static OtlpGrpcExporterConfig Read(config::ConfigReader& reader);
};

/// \brief `exporter:otlp_http`.
struct OtlpHttpExporterConfig {
  OtlpEndpoint endpoint;
  /// Full per-signal URLs (logs, traces, metrics: Signal order); unset = endpoint
  /// plus `/v1/<signal>`.
  std::optional<OtlpEndpoint> signal_endpoints[3];
  OtlpClientConfig client;
  int64_t client_pool_size = 4;  ///< worker threads, each with its own connections
  enum class Encoding { kProto, kJson };
  Encoding encoding = Encoding::kProto;  ///< "proto" or "json"
  int64_t max_response_body_length = 10 << 20;

  /// \brief URL path of a signal's requests.
  const OtlpEndpoint& EndpointOf(int signal) const {
    return signal_endpoints[signal] ? *signal_endpoints[signal] : endpoint;
  }
  std::string PathOf(int signal) const;

  static OtlpHttpExporterConfig Read(config::ConfigReader& reader);
};

}  // namespace otap_parquet::nodes
