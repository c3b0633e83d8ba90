// SPDX-License-Identifier: Apache-2.0
#include "otap_parquet/nodes/receivers/otap/otap_receiver.h"

#include <algorithm>
#include <string>
#include <utility>

#include <spdlog/logger.h>

#include "otap_parquet/nodes/receivers/otap/metrics.h"

namespace otap_parquet::nodes {

using engine::Clock;
using otlp_receiver::Outcome;
using otlp_receiver::Protocol;

arrow::Result<std::unique_ptr<engine::Node>> OtapReceiver::Make(
    const engine::NodeSettings& settings, const YAML::Node& config) {
  ARROW_ASSIGN_OR_RAISE(
      auto c, config::ParseTyped<OtapReceiverConfig>(config, settings.config_path));
  return std::unique_ptr<engine::Node>(new OtapReceiver(std::move(c), settings));
}

OtapReceiver::~OtapReceiver() {
  Stop();
  server_.reset();
}

void OtapReceiver::StopServers(std::chrono::system_clock::time_point deadline) {
  if (server_) server_->Shutdown(deadline);
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

void OtapReceiver::Publish(engine::EffectHandler& effect) const {
  if (!ingest_ || !server_) return;
  engine::NodeMetrics& m = effect.metrics();
  const otlp_receiver::IngestCounters& c = ingest_->counters();
  using M = OtapReceiverMetrics;
  for (Protocol protocol : {Protocol::kArrow, Protocol::kGrpc}) {
    if (protocol == Protocol::kGrpc && !config_.otlp) continue;
    const int p = static_cast<int>(protocol);
    const M::Protocol& pm = protocol == Protocol::kArrow ? M::arrow : M::otlp_grpc;
    for (Signal signal : {Signal::kLogs, Signal::kTraces, Signal::kMetrics}) {
      const int s = static_cast<int>(signal);
      const std::string_view name = SignalName(signal);
      m.Set(pm.requests_started, c.started[p][s].load(), name);
      m.Set(pm.requests_completed, c.completed[p][s].load(), name);
      m.Set(pm.items_received, c.items[p][s].load(), name);
    }
    for (int o = 1; o < otlp_receiver::kNumOutcomes; ++o) {
      m.Set(pm.requests_rejected, c.rejected[p][o].load(),
            OutcomeName(static_cast<Outcome>(o)));
    }
  }
  const otap_receiver::StreamCounters& a = server_->counters();
  for (Signal signal : {Signal::kLogs, Signal::kTraces, Signal::kMetrics}) {
    m.Set(M::arrow_batches, a.batches[static_cast<int>(signal)].load(),
          SignalName(signal));
  }
  m.Set(M::arrow_streams_open, a.streams_open.load());
  m.Set(M::arrow_streams, a.streams_started.load(), "started");
  m.Set(M::arrow_streams, a.streams_refused.load(), "refused");
  m.Set(M::arrow_streams, a.streams_broken.load(), "broken");
  m.Set(M::arrow_message_bytes, a.message_bytes.load());
  m.Set(M::arrow_zstd_messages, a.zstd_messages.load());
  m.Set(M::arrow_compressed_messages, a.gzip_messages.load(), "gzip");
  m.Set(M::arrow_compressed_messages, a.deflate_messages.load(), "deflate");
  m.Set(M::arrow_decode_errors, a.decode_errors.load());
  m.Set(M::arrow_schema_resets, a.schema_resets.load());
  m.Set(M::arrow_statuses, a.statuses_ok.load(), "ok");
  m.Set(M::arrow_statuses, a.statuses_invalid.load(), "invalid_argument");
  m.Set(M::arrow_statuses, a.statuses_unavailable.load(), "unavailable");
  m.Set(M::arrow_in_flight_bytes, server_->in_flight_bytes());
  m.Set(M::arrow_read_pauses, a.read_pauses.load());
  m.Set(M::acknowledgements, c.acks_success.load(), "success");
  m.Set(M::acknowledgements, c.acks_failure.load(), "failure");
  m.Set(M::acknowledgements, c.acks_refused.load(), "refused");
  m.Set(M::acknowledgements, c.acks_timeout.load(), "timeout");
}

const engine::NodeFactory kOtapReceiverFactory{
    .urn = "urn:otel:receiver:otap",
    .kind = engine::NodeKind::kReceiver,
    .description = "OTel Arrow (OTAP) streams and OTLP/gRPC on one port",
    .validate_config = &config::ValidateTyped<OtapReceiverConfig>,
    .create = &OtapReceiver::Make};

}  // namespace otap_parquet::nodes
