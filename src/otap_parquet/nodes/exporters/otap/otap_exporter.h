// SPDX-License-Identifier: Apache-2.0
#pragma once

#include <memory>

#include "otap_parquet/engine/registry.h"
#include "otap_parquet/nodes/exporters/otap/config.h"
#include "otap_parquet/nodes/exporters/otlp/otlp_exporter.h"

/// \file
/// `exporter:otap`: OTel Arrow streams (`ArrowLogs` / `ArrowTraces` /
/// `ArrowMetrics`) to an OTAP receiver. The node is exporter:otlp_grpc's
/// (OtlpExporter: in-flight bound, retries with backoff, Ack/Nack, shutdown drain)
/// with OTAP batches kept as they are and a transport that sends them on
/// bidirectional streams, correlating `BatchStatus` answers by `batch_id`.

namespace otap_parquet::nodes {

/// \brief The OTAP transport of a validated config (channels are lazy).
arrow::Result<std::unique_ptr<OtlpTransport>> MakeOtapTransport(
    const OtapExporterConfig& config, spdlog::logger& logger);

extern const engine::NodeFactory kOtapExporterFactory;

}  // namespace otap_parquet::nodes
