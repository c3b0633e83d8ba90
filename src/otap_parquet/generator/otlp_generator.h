// SPDX-License-Identifier: Apache-2.0
#pragma once

#include <cstdint>
#include <random>
#include <span>
#include <vector>

#include <arrow/result.h>
#include <arrow/status.h>

#include "otap_parquet/otlp/otlp_types.h"
#include "otap_parquet/schema/payload_type.h"

/// \file
/// Deterministic synthetic OTLP telemetry for demos, benchmarks and randomized
/// fidelity tests, plus helpers that reorder and rebatch requests without
/// changing their telemetry.

namespace otap_parquet::generator {

/// \brief What kind of telemetry OtlpGenerator produces.
enum class Mode : uint8_t {
  /// Semantic-convention-like telemetry (HTTP server logs and spans, runtime and
  /// HTTP metrics): 10 attributes and ~390 bytes (serialized) per log record.
  kRealistic,
  /// Every field of every OTLP message, with boundary values (INT64_MIN/MAX,
  /// NaN, +-inf, -0.0, denormals, empty and non-ASCII strings, nested and empty
  /// kvlists/arrays, absent vs empty messages, empty containers, ...). Ids are
  /// always 16 / 8 bytes or empty, strings always valid UTF-8, enums within the
  /// OTLP definition; NaN is always the canonical quiet NaN.
  kEdgeCases,
};

/// \brief Options for OtlpGenerator.
struct GeneratorOptions {
  /// Seed of the std::mt19937_64 engine; the same seed and options give the same
  /// requests, byte for byte, on any platform.
  uint64_t seed = 1;
  Mode mode = Mode::kRealistic;
  /// ResourceX entries per request.
  int resources_per_request = 2;
  /// ScopeX entries per ResourceX.
  int scopes_per_resource = 2;
  /// Log records, spans or metrics per ScopeX. In kEdgeCases mode this is the
  /// average; counts vary between 0 and 2x.
  int items_per_scope = 10;
  /// Data points per metric in kRealistic mode (kEdgeCases varies 0..4).
  int points_per_metric = 4;
  /// kEdgeCases only: sometimes emit ResourceX / ScopeX entries holding no
  /// items (they carry no telemetry, but a converter must cope with them).
  bool empty_containers = true;
  /// Timestamp of the first item (Unix nanoseconds); time advances ~1 ms per
  /// item in kRealistic mode.
  uint64_t start_time_unix_nano = 1'700'000'000'000'000'000ULL;

  static GeneratorOptions Defaults() { return {}; }
  /// \brief Invalid when a count is negative or above 1'000'000.
  arrow::Status Validate() const;
};

/// \brief Deterministic generator of OTLP export requests.
///
/// Not thread-safe; use one generator per thread. Each Next* call continues the
/// same random stream, so the sequence of calls determines the output.
class OtlpGenerator {
 public:
  /// \brief Counts out of range (see GeneratorOptions::Validate) are clamped to
  /// [0, 1'000'000].
  explicit OtlpGenerator(GeneratorOptions options);

  otlp::LogsRequest NextLogs();
  otlp::TracesRequest NextTraces();
  otlp::MetricsRequest NextMetrics();
  otlp::OtlpRequest Next(Signal signal);

  const GeneratorOptions& options() const { return options_; }

 private:
  GeneratorOptions options_;
  std::mt19937_64 engine_;
  uint64_t now_unix_nano_;
  uint64_t sequence_ = 0;  ///< items generated so far
};

/// \brief Shuffles, deterministically from `seed`, every list whose order
/// carries no meaning: ResourceX, ScopeX, log records, spans, metrics, data
/// points, attributes (also Metric.metadata, exemplar filtered attributes and
/// kvlist values, recursively), span events, span links and exemplars. Array
/// values, buckets, bounds and quantiles keep their order.
void ShuffleOrder(otlp::OtlpRequest& request, uint64_t seed);

/// \brief Splits a request into requests of at most `max_items` items each
/// (log records, spans, or metric data points; a metric without points counts
/// as one item), repeating the resource, scope and metric headers as needed.
/// `max_items` < 1 is treated as 1. An empty request gives no requests.
std::vector<otlp::OtlpRequest> SplitRequest(const otlp::OtlpRequest& request,
                                            int max_items);

/// \brief Concatenates the ResourceX lists of `requests` into one request.
/// Invalid when `requests` is empty or mixes signals.
arrow::Result<otlp::OtlpRequest> MergeRequests(
    std::span<const otlp::OtlpRequest> requests);

}  // namespace otap_parquet::generator
