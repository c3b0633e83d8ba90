// SPDX-License-Identifier: Apache-2.0
#include "otap_parquet/nodes/receivers/otap/otap_receiver.h"

#include <algorithm>
#include <string>
#include <utility>

#include <spdlog/logger.h>

namespace otap_parquet::nodes {

using engine::Clock;
using otlp_receiver::Outcome;
using otlp_receiver::Protocol;

namespace {

void Set(engine::NodeMetrics& m, const std::string& name, const char* label,
         std::string_view value, const char* help, int64_t amount, bool counter = true) {
  m.SetExtra({.name = name,
              .label = label,
              .value = std::string(value),
              .counter = counter,
              .help = help,
              .amount = amount});
}

constexpr std::chrono::seconds kMaxStopWait{60};

}  // namespace

arrow::Result<std::unique_ptr<engine::Node>> OtapReceiver::Make(
    const engine::NodeSettings& settings, const YAML::Node& config) {
  ARROW_ASSIGN_OR_RAISE(
      auto c, config::ParseTyped<OtapReceiverConfig>(config, settings.config_path));
  return std::unique_ptr<engine::Node>(new OtapReceiver(std::move(c), settings));
}

OtapReceiver::~OtapReceiver() {
  if (ingest_) {
    ingest_->StopAdmitting();
    ingest_->ResolveAll({Outcome::kUnavailable,
                         "receiver stopped before the pipeline outcome was known"});
  }
  if (stopper_.joinable()) stopper_.join();
  if (server_) server_->Shutdown(std::chrono::system_clock::now());
  server_.reset();
}

arrow::Status OtapReceiver::Start(engine::EffectHandler& effect) {
  ingest_ = std::make_unique<otlp_receiver::Ingest>(&effect);
  auto server = otap_receiver::ArrowServer::Start(config_, ingest_.get());
  if (!server.ok()) {
    return server.status().WithMessage("receiver:otap ", effect.node_id(), ": ",
                                       server.status().message());
  }
  server_ = std::move(*server);
  effect.logger().info(
      "receiver.otap.start node={} core={} address={}:{}{} otlp={} wait_for_result={} "
      "max_concurrent_requests={} per_stream={} auth={}",
      effect.node_id(), effect.core(), config_.listening_addr.host, server_->port(),
      config_.tls ? " (tls)" : "", config_.otlp, config_.wait_for_result,
      config_.max_concurrent_requests, config_.max_concurrent_requests_per_stream,
      config_.bearer_token.empty() ? "none" : "bearer");
  effect.StartPeriodicTimer(kTick);
  Publish(effect);
  return arrow::Status::OK();
}

arrow::Status OtapReceiver::OnTimer(Clock::time_point now,
                                    engine::EffectHandler& effect) {
  ingest_->ExpireWaiters(now);
  Publish(effect);
  return arrow::Status::OK();
}

void OtapReceiver::Drain(engine::EffectHandler& effect) {
  if (!ingest_) return;
  ingest_->StopAdmitting();
  effect.logger().info("receiver.otap.drain node={} core={} waiting={}", effect.node_id(),
                       effect.core(), ingest_->waiting());
  Publish(effect);
}

bool OtapReceiver::drained() const {
  return !ingest_ || (!ingest_->admitting() && ingest_->idle());
}

void OtapReceiver::OnAck(uint64_t calldata, engine::AckContext,
                         engine::EffectHandler& effect) {
  ingest_->OnOutcome(calldata, nullptr);
  if (!ingest_->admitting()) Publish(effect);
}

void OtapReceiver::OnNack(uint64_t calldata, const engine::NackInfo& nack,
                          engine::AckContext, engine::EffectHandler& effect) {
  ingest_->OnOutcome(calldata, &nack);
  if (!ingest_->admitting()) Publish(effect);
}

arrow::Future<> OtapReceiver::Shutdown(Clock::time_point deadline,
                                       engine::EffectHandler& effect) {
  if (!ingest_) return arrow::Future<>::MakeFinished();
  ingest_->StopAdmitting();
  Publish(effect);
  const auto now = Clock::now();
  const auto wait = deadline > now
                        ? std::min<Clock::duration>(deadline - now, kMaxStopWait)
                        : Clock::duration::zero();
  const auto system_deadline =
      std::chrono::system_clock::now() +
      std::chrono::duration_cast<std::chrono::microseconds>(wait);
  effect.logger().info("receiver.otap.shutdown node={} core={} waiting={}",
                       effect.node_id(), effect.core(), ingest_->waiting());
  // Off the pipeline thread: streams waiting for outcomes are answered as the
  // downstream nodes settle while the server stops.
  if (!stopper_.joinable() && server_) {
    stopper_ =
        std::thread([this, system_deadline] { server_->Shutdown(system_deadline); });
  }
  return arrow::Future<>::MakeFinished();
}

void OtapReceiver::Publish(engine::EffectHandler& effect) const {
  if (!ingest_ || !server_) return;
  engine::NodeMetrics& m = effect.metrics();
  const otlp_receiver::IngestCounters& c = ingest_->counters();
  for (Protocol protocol : {Protocol::kArrow, Protocol::kGrpc}) {
    if (protocol == Protocol::kGrpc && !config_.otlp) continue;
    const int p = static_cast<int>(protocol);
    const std::string prefix =
        protocol == Protocol::kArrow ? "otap_arrow_" : "otap_otlp_grpc_";
    for (Signal signal : {Signal::kLogs, Signal::kTraces, Signal::kMetrics}) {
      const int s = static_cast<int>(signal);
      const std::string_view name = SignalName(signal);
      Set(m, prefix + "requests_started", "signal", name,
          "batches (Arrow) or export requests (OTLP) sent into the pipeline",
          c.started[p][s].load());
      Set(m, prefix + "requests_completed", "signal", name,
          "batches or requests answered with success", c.completed[p][s].load());
      Set(m, prefix + "items_received", "signal", name,
          "log records, spans or metric points admitted", c.items[p][s].load());
    }
    for (int o = 1; o < otlp_receiver::kNumOutcomes; ++o) {
      Set(m, prefix + "requests_rejected", "reason", OutcomeName(static_cast<Outcome>(o)),
          "batches or requests answered with an error", c.rejected[p][o].load());
    }
  }
  const otap_receiver::StreamCounters& a = server_->counters();
  for (Signal signal : {Signal::kLogs, Signal::kTraces, Signal::kMetrics}) {
    Set(m, "otap_arrow_batches", "signal", SignalName(signal),
        "BatchArrowRecords messages received",
        a.batches[static_cast<int>(signal)].load());
  }
  Set(m, "otap_arrow_streams_open", "", "", "OTel Arrow streams open",
      a.streams_open.load(), /*counter=*/false);
  Set(m, "otap_arrow_streams", "outcome", "started", "OTel Arrow streams",
      a.streams_started.load());
  Set(m, "otap_arrow_streams", "outcome", "refused",
      "OTel Arrow streams refused (auth, limit, method)", a.streams_refused.load());
  Set(m, "otap_arrow_streams", "outcome", "broken",
      "OTel Arrow streams ended after a decode error", a.streams_broken.load());
  Set(m, "otap_arrow_message_bytes", "", "",
      "message bytes received (after zstd decompression)", a.message_bytes.load());
  Set(m, "otap_arrow_zstd_messages", "", "", "messages that arrived zstd-compressed",
      a.zstd_messages.load());
  Set(m, "otap_arrow_decode_errors", "", "", "batches that could not be decoded",
      a.decode_errors.load());
  Set(m, "otap_arrow_schema_resets", "", "", "new schema_id for a payload type",
      a.schema_resets.load());
  Set(m, "otap_arrow_statuses", "code", "ok", "BatchStatus sent", a.statuses_ok.load());
  Set(m, "otap_arrow_statuses", "code", "invalid_argument", "BatchStatus sent",
      a.statuses_invalid.load());
  Set(m, "otap_arrow_statuses", "code", "unavailable", "BatchStatus sent",
      a.statuses_unavailable.load());
  Set(m, "otap_arrow_in_flight_bytes", "", "", "message bytes of batches awaiting status",
      a.in_flight_bytes.load(), /*counter=*/false);
  Set(m, "otap_arrow_read_pauses", "", "", "times a stream stopped reading at a limit",
      a.read_pauses.load());
  Set(m, "otap_acknowledgements", "outcome", "success", "wait_for_result outcomes: Ack",
      c.acks_success.load());
  Set(m, "otap_acknowledgements", "outcome", "failure",
      "wait_for_result outcomes: retryable Nack", c.acks_failure.load());
  Set(m, "otap_acknowledgements", "outcome", "refused",
      "wait_for_result outcomes: permanent Nack", c.acks_refused.load());
  Set(m, "otap_acknowledgements", "outcome", "timeout",
      "wait_for_result outcomes: none within timeout", c.acks_timeout.load());
}

const engine::NodeFactory kOtapReceiverFactory{
    .urn = "urn:otel:receiver:otap",
    .kind = engine::NodeKind::kReceiver,
    .description = "OTel Arrow (OTAP) streams and OTLP/gRPC on one port",
    .validate_config = &config::ValidateTyped<OtapReceiverConfig>,
    .create = &OtapReceiver::Make};

}  // namespace otap_parquet::nodes
