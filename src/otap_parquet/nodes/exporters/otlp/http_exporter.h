// SPDX-License-Identifier: Apache-2.0
#pragma once

#include <memory>

#include "otap_parquet/engine/registry.h"
#include "otap_parquet/nodes/exporters/otlp/config.h"
#include "otap_parquet/nodes/exporters/otlp/otlp_exporter.h"

/// \file
/// `exporter:otlp_http`: OTLP/HTTP `POST <endpoint>/v1/{logs,traces,metrics}`
/// (protobuf, or OTLP/JSON with `encoding: json`) with cpp-httplib's blocking
/// client, run on `client_pool_size` worker threads (never the pipeline thread).

namespace otap_parquet::nodes {

arrow::Result<std::unique_ptr<OtlpTransport>> MakeOtlpHttpTransport(
    const OtlpHttpExporterConfig& config, spdlog::logger& logger);

extern const engine::NodeFactory kOtlpHttpExporterFactory;

}  // namespace otap_parquet::nodes
