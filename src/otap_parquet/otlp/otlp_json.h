// SPDX-License-Identifier: Apache-2.0
#pragma once

#include <optional>
#include <string>
#include <string_view>

#include <arrow/result.h>
#include <google/protobuf/message.h>

#include "otap_parquet/otlp/otlp_types.h"
#include "otap_parquet/schema/payload_type.h"

/// \file
/// OTLP/JSON: the JSON Protobuf encoding of OTLP export requests
/// (https://opentelemetry.io/docs/specs/otlp/#json-protobuf-encoding), as the
/// OpenTelemetry Collector's file exporter writes it.

namespace otap_parquet::otlp {

/// \brief Parses one Export{Logs,Trace,Metrics}ServiceRequest from OTLP/JSON.
///
/// The signal comes from the top-level key (`resourceLogs`, `resourceSpans`,
/// `resourceMetrics`, or their snake_case forms). An object with none of them
/// (such as `{}`) is parsed as `default_signal`, or fails if that is nullopt.
///
/// Accepted as the OTLP spec requires: lowerCamelCase and snake_case keys;
/// trace/span ids (`traceId`, `spanId`, `parentSpanId`) as hex, upper or lower
/// case, empty allowed; other bytes fields as base64; 64-bit integers as strings
/// or numbers; enums as integers or value names; unknown fields ignored.
///
/// Fails with Invalid, naming the JSON path of the field where there is one (e.g.
/// "resourceSpans[0].scopeSpans[1].spans[3].traceId: invalid hex ..."), on
/// malformed JSON, invalid UTF-8, invalid hex, ids that are not 16 (trace) or 8
/// (span) bytes, unknown enum names and integers out of range. Integer enum values
/// outside the OTLP definition are kept (converters check them).
arrow::Result<OtlpRequest> ParseOtlpJson(
    std::string_view json, std::optional<Signal> default_signal = std::nullopt);

/// \brief Encodes a request as one line of compact OTLP/JSON (no trailing newline):
/// lowerCamelCase keys, enums as integers, trace/span ids as lower-case hex, 64-bit
/// integers as strings, default values omitted. ParseOtlpJson gives back an equal
/// message.
///
/// Fails with Invalid if a string field holds invalid UTF-8.
arrow::Result<std::string> ToOtlpJson(const OtlpRequest& request);

/// \brief ToOtlpJson of any OTLP message, e.g. one LogRecord or Span on its own;
/// `what` names it in errors ("log record").
arrow::Result<std::string> MessageToOtlpJson(const google::protobuf::Message& message,
                                             std::string_view what);

}  // namespace otap_parquet::otlp
