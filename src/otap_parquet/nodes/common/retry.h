// SPDX-License-Identifier: Apache-2.0
#pragma once

#include <chrono>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

#include "otap_parquet/config/config_reader.h"
#include "otap_parquet/util/backoff.h"

/// \file
/// What both OTLP exporters decide the same way: which answers are retried, how
/// long to wait before the next attempt, and the peer's retry hints.

namespace otap_parquet::nodes {

/// \brief `retry_on_failure`, the Collector's exporterhelper names and defaults.
struct OtlpRetryConfig {
  bool enabled = true;
  std::chrono::nanoseconds initial_interval = std::chrono::seconds(5);
  std::chrono::nanoseconds max_interval = std::chrono::seconds(30);
  /// Give up (Nack retryable) when the next attempt would start later than this
  /// after the first one; 0 = retry until shutdown.
  std::chrono::nanoseconds max_elapsed_time = std::chrono::seconds(300);
  double multiplier = 1.5;
  /// Each delay is drawn from [d·(1−f), d·(1+f)].
  double randomization_factor = 0.5;

  static OtlpRetryConfig Read(config::ConfigReader& reader);
  util::BackoffPolicy Policy() const {
    return {.initial_interval = initial_interval,
            .max_interval = max_interval,
            .multiplier = multiplier,
            .jitter = randomization_factor,
            .max_elapsed = max_elapsed_time};
  }
};

/// \brief How one export attempt ended.
enum class AttemptOutcome {
  kSuccess,
  kRetryable,  ///< try again after a backoff (peer overloaded or unreachable)
  kPermanent,  ///< the data will never be accepted: Nack permanent at once
};

/// \brief The result of one attempt, as a transport reports it.
struct AttemptResult {
  AttemptOutcome outcome = AttemptOutcome::kSuccess;
  /// Metric label of a failure: the gRPC code name ("UNAVAILABLE"), `http_<status>`,
  /// or `transport` (no answer: connection refused, timeout, TLS).
  std::string reason;
  std::string message;
  /// The peer's hint: gRPC RetryInfo.retry_delay or HTTP Retry-After.
  std::optional<std::chrono::nanoseconds> retry_after;
  /// partial_success.rejected_{log_records,spans,data_points} of a success.
  int64_t rejected_items = 0;
  std::string partial_success_message;
  /// Request bytes of the attempt (encoded, before transport compression).
  int64_t bytes_sent = 0;

  static AttemptResult Failure(AttemptOutcome outcome, std::string reason,
                               std::string message) {
    AttemptResult r;
    r.outcome = outcome;
    r.reason = std::move(reason);
    r.message = std::move(message);
    return r;
  }
};

/// \brief gRPC codes retried (upstream's list: CANCELLED, UNKNOWN,
/// RESOURCE_EXHAUSTED, DEADLINE_EXCEEDED, ABORTED, OUT_OF_RANGE, UNAVAILABLE,
/// DATA_LOSS); every other failure code is permanent.
AttemptOutcome ClassifyGrpcCode(int code);
/// \brief The gRPC code's name ("UNAVAILABLE"), or "code_<n>".
std::string GrpcCodeName(int code);
/// \brief HTTP: 2xx success; 429, 502, 503, 504 retryable; any other permanent
/// (the Collector's rule).
AttemptOutcome ClassifyHttpStatus(int status);

/// \brief `Retry-After` as delay-seconds or an HTTP-date (RFC 9110), relative to now.
/// Peer hints (here and from RetryInfo) are capped at a year.
std::optional<std::chrono::nanoseconds> ParseRetryAfter(std::string_view value);

/// \brief google.rpc.RetryInfo.retry_delay from the serialized google.rpc.Status a
/// gRPC error carries in `grpc-status-details-bin` (grpc::Status::error_details()).
std::optional<std::chrono::nanoseconds> RetryDelayFromStatusDetails(
    const std::string& details);

/// \brief google.rpc.Status.message of a serialized google.rpc.Status (the body
/// of an OTLP/HTTP error answer), or nullopt if it is not one.
std::optional<std::string> MessageFromRpcStatus(const std::string& status);

}  // namespace otap_parquet::nodes
