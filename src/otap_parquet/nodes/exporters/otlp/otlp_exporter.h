// SPDX-License-Identifier: Apache-2.0
#pragma once

#include <atomic>
#include <cstdint>
#include <functional>
#include <memory>
#include <mutex>
#include <optional>
#include <string>

#include "otap_parquet/engine/node.h"
#include "otap_parquet/engine/registry.h"
#include "otap_parquet/nodes/common/retry.h"
#include "otap_parquet/nodes/exporters/otlp/config.h"
#include "otap_parquet/nodes/exporters/otlp/metrics.h"
#include "otap_parquet/otlp/otlp_types.h"
#include "otap_parquet/pdata/otap_batch.h"

/// \file
/// The part of `exporter:otlp_grpc` and `exporter:otlp_http` that does not depend
/// on the wire: OTAP → OTLP conversion, the bound on requests in flight
/// (backpressure), retries with backoff on a scheduler thread, Ack/Nack, metrics and
/// the shutdown drain. A transport performs single attempts on its own threads.

namespace otap_parquet::nodes {

/// \brief One export request and the context it completes; shared by its attempts.
struct OtlpExportJob {
  uint64_t id = 0;
  Signal signal = Signal::kLogs;
  int64_t items = 0;
  otlp::OtlpRequest request;
  /// The batch as received, when the exporter keeps OTAP (Options::convert_to_otlp
  /// false); `request` is then filled only by a transport that needs OTLP.
  std::optional<OtapBatch> batch;
  /// Transport state: streams that ended while this job was in flight on them.
  int stream_failures = 0;
  /// The transport's encoding of `request`, made once by its first attempt.
  std::string body;
  engine::Clock::time_point first_attempt;
  int attempts = 0;

  /// Completed exactly once, by whoever takes it (an attempt or the shutdown).
  std::mutex mutex;
  std::optional<engine::AckContext> context;
  std::string last_error;  ///< guarded by `mutex`, for Nack reasons

  std::string LastError() {
    std::lock_guard<std::mutex> lock(mutex);
    return last_error;
  }
};

/// \brief Performs single export attempts. Thread-safe.
class OtlpTransport {
 public:
  using Done = std::function<void(AttemptResult)>;
  virtual ~OtlpTransport() = default;

  /// \brief Starts one attempt; `done` runs exactly once, on any thread (possibly
  /// inside Send: callers hold no locks).
  virtual void Send(const std::shared_ptr<OtlpExportJob>& job, Done done) = 0;
  /// \brief Aborts the attempts in progress (their `done` still runs).
  virtual void CancelAll() = 0;
  /// \brief Cancels and waits until every `done` has run; no Send after it.
  virtual void Stop() = 0;
  /// \brief Sets the transport's own metrics (called with the node's).
  virtual void PublishMetrics(engine::NodeMetrics& /*metrics*/) {}
};

using TransportFactory =
    std::function<arrow::Result<std::unique_ptr<OtlpTransport>>(spdlog::logger&)>;

/// \brief The exporter node. Concrete nodes pass their transport and names.
class OtlpExporter : public engine::Exporter {
 public:
  struct Options {
    std::string kind;           ///< "exporter:otlp_grpc", for messages
    std::string metric_prefix;  ///< "otlp_grpc": log event names (otlp_grpc.retry)
    /// The node's declared metrics (kOtlpGrpcExporterMetrics...).
    const OtlpExporterMetrics* metrics = &kOtlpGrpcExporterMetrics;
    std::string target;  ///< endpoint, for messages
    OtlpClientConfig client;
    TransportFactory make_transport;
    /// False: batches go to the transport as they are (OtlpExportJob::batch), for
    /// exporter:otap; empty means no root rows.
    bool convert_to_otlp = true;
  };

  explicit OtlpExporter(Options options);
  ~OtlpExporter() override;

  /// \brief Creates the transport (channels, worker threads) and the retry thread.
  arrow::Status Start(engine::EffectHandler& effect) override;
  /// \brief Converts the batch to an OTLP request and sends it; the context is
  /// Acked when the peer answers success, Nacked permanently on a permanent error
  /// or bad data, and Nacked retryable once retries are exhausted.
  arrow::Status Export(engine::PData msg, engine::EffectHandler& effect) override;
  /// \brief False while max_in_flight requests (sending or waiting for a retry)
  /// are pending.
  bool AcceptsPdata() const override;
  /// \brief Completes when every pending request is settled; at `deadline` what is
  /// left is cancelled and Nacked (retryable).
  arrow::Future<> Shutdown(engine::Clock::time_point deadline,
                           engine::EffectHandler& effect) override;

  int64_t in_flight() const;

  class State;  ///< shared with the transport's and the scheduler's threads

 private:
  Options options_;
  std::shared_ptr<State> state_;
  uint64_t next_job_id_ = 0;
};

}  // namespace otap_parquet::nodes
