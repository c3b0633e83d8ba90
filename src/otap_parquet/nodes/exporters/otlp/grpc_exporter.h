// SPDX-License-Identifier: Apache-2.0
#pragma once

#include <memory>
#include <vector>

#include "otap_parquet/engine/registry.h"
#include "otap_parquet/nodes/exporters/otlp/config.h"
#include "otap_parquet/nodes/exporters/otlp/otlp_exporter.h"

/// \file
/// `exporter:otlp_grpc`: unary OTLP `Export` RPCs with gRPC's callback API, up to
/// `max_in_flight` at once over `num_connections` channels.

namespace grpc {
class Channel;
}  // namespace grpc

namespace otap_parquet::nodes {

/// \brief The channels of a validated config (`num_connections`, TLS, reconnect
/// backoff), shared with exporter:otap, which falls back to OTLP on the same ones.
std::vector<std::shared_ptr<grpc::Channel>> MakeOtlpGrpcChannels(
    const OtlpGrpcExporterConfig& config, spdlog::logger& logger);

/// \brief The gRPC transport over existing channels.
std::unique_ptr<OtlpTransport> MakeOtlpGrpcTransport(
    const OtlpGrpcExporterConfig& config,
    std::vector<std::shared_ptr<grpc::Channel>> channels);

/// \brief The gRPC transport of a validated config (channels are lazy: nothing
/// connects before the first request).
arrow::Result<std::unique_ptr<OtlpTransport>> MakeOtlpGrpcTransport(
    const OtlpGrpcExporterConfig& config, spdlog::logger& logger);

extern const engine::NodeFactory kOtlpGrpcExporterFactory;

}  // namespace otap_parquet::nodes
