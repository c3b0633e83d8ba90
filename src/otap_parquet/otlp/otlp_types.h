// SPDX-License-Identifier: Apache-2.0
#pragma once

#include <variant>
#include <vector>

#include "opentelemetry/proto/collector/logs/v1/logs_service.pb.h"
#include "opentelemetry/proto/collector/metrics/v1/metrics_service.pb.h"
#include "opentelemetry/proto/collector/trace/v1/trace_service.pb.h"
#include "otap_parquet/schema/payload_type.h"

namespace otap_parquet::otlp {

namespace pb {
namespace common = ::opentelemetry::proto::common::v1;
namespace resource = ::opentelemetry::proto::resource::v1;
namespace logs = ::opentelemetry::proto::logs::v1;
namespace trace = ::opentelemetry::proto::trace::v1;
namespace metrics = ::opentelemetry::proto::metrics::v1;
}  // namespace pb

using LogsRequest = ::opentelemetry::proto::collector::logs::v1::ExportLogsServiceRequest;
using TracesRequest =
    ::opentelemetry::proto::collector::trace::v1::ExportTraceServiceRequest;
using MetricsRequest =
    ::opentelemetry::proto::collector::metrics::v1::ExportMetricsServiceRequest;

/// \brief One OTLP export request of any signal.
using OtlpRequest = std::variant<LogsRequest, TracesRequest, MetricsRequest>;

inline Signal SignalOf(const OtlpRequest& request) {
  return static_cast<Signal>(request.index());
}

}  // namespace otap_parquet::otlp
