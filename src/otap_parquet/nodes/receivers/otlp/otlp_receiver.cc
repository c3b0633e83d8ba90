// SPDX-License-Identifier: Apache-2.0
#include "otap_parquet/nodes/receivers/otlp/otlp_receiver.h"

#include <string>
#include <utility>

#include <spdlog/logger.h>

#include "otap_parquet/nodes/receivers/otlp/metrics.h"

namespace otap_parquet::nodes {

using engine::Clock;
using otlp_receiver::Outcome;
using otlp_receiver::Protocol;

arrow::Result<std::unique_ptr<engine::Node>> OtlpReceiver::Make(
    const engine::NodeSettings& settings, const YAML::Node& config) {
  ARROW_ASSIGN_OR_RAISE(
      auto c, config::ParseTyped<OtlpReceiverConfig>(config, settings.config_path));
  // Upstream's rule: 0 = as many as the downstream channel holds, and no more
  // than that either (more would only wait for channel space).
  auto effective = [&](int64_t limit) {
    const int64_t capacity = std::max<int64_t>(1, settings.pdata_channel_capacity);
    return limit == 0 ? capacity : std::min(limit, capacity);
  };
  if (c.grpc)
    c.grpc->max_concurrent_requests = effective(c.grpc->max_concurrent_requests);
  if (c.http)
    c.http->max_concurrent_requests = effective(c.http->max_concurrent_requests);
  return std::unique_ptr<engine::Node>(new OtlpReceiver(std::move(c), settings));
}

OtlpReceiver::~OtlpReceiver() {
  Stop();
  grpc_.reset();
  http_.reset();
}

arrow::Status OtlpReceiver::Start(engine::EffectHandler& effect) {
  ingest_ = std::make_unique<otlp_receiver::Ingest>(&effect);
  auto fail = [&](const arrow::Status& st) {
    return st.WithMessage("receiver:otlp ", effect.node_id(), ": ", st.message());
  };
  if (config_.grpc) {
    auto server = otlp_receiver::GrpcServer::Start(*config_.grpc, config_.bearer_token,
                                                   ingest_.get());
    if (!server.ok()) return fail(server.status());
    grpc_ = std::move(*server);
  }
  if (config_.http) {
    auto server = otlp_receiver::HttpServer::Start(*config_.http, config_.bearer_token,
                                                   ingest_.get());
    if (!server.ok()) {
      if (grpc_) grpc_->Shutdown(std::chrono::system_clock::now());
      return fail(server.status());
    }
    http_ = std::move(*server);
  }
  effect.logger().info(
      "receiver.otlp.start node={} core={} grpc={} http={} wait_for_result={}/{} "
      "max_concurrent_requests={}/{} request_limit_mib={}/{} auth={}",
      effect.node_id(), effect.core(),
      grpc_ ? fmt::format("{}:{}{}", config_.grpc->listening_addr.host, grpc_->port(),
                          config_.grpc->tls ? " (tls)" : "")
            : "off",
      http_ ? fmt::format("{}:{}{}", config_.http->listening_addr.host, http_->port(),
                          config_.http->tls ? " (tls)" : "")
            : "off",
      config_.grpc && config_.grpc->wait_for_result,
      config_.http && config_.http->wait_for_result,
      config_.grpc ? config_.grpc->max_concurrent_requests : 0,
      config_.http ? config_.http->max_concurrent_requests : 0,
      config_.grpc ? config_.grpc->RequestLimitBytes() >> 20 : 0,
      config_.http ? config_.http->RequestLimitBytes() >> 20 : 0,
      config_.bearer_token.empty() ? "none" : "bearer");
  effect.StartPeriodicTimer(kTick);
  Publish(effect);
  return arrow::Status::OK();
}

void OtlpReceiver::StopServers(std::chrono::system_clock::time_point deadline) {
  if (grpc_) grpc_->Shutdown(deadline);
  if (http_) {
    // Answers already decided (e.g. by ResolveAll) still get written.
    constexpr std::chrono::milliseconds kMinWait{2000};
    const auto left = std::chrono::duration_cast<std::chrono::milliseconds>(
        deadline - std::chrono::system_clock::now());
    http_->Shutdown(std::max(left, kMinWait));
  }
}

void OtlpReceiver::Publish(engine::EffectHandler& effect) const {
  if (!ingest_) return;
  engine::NodeMetrics& m = effect.metrics();
  const otlp_receiver::IngestCounters& c = ingest_->counters();
  using M = OtlpReceiverMetrics;
  for (Protocol protocol : {Protocol::kGrpc, Protocol::kHttp}) {
    if ((protocol == Protocol::kGrpc && !config_.grpc) ||
        (protocol == Protocol::kHttp && !config_.http)) {
      continue;
    }
    const int p = static_cast<int>(protocol);
    const M::Protocol& pm = protocol == Protocol::kGrpc ? M::grpc : M::http;
    for (Signal signal : {Signal::kLogs, Signal::kTraces, Signal::kMetrics}) {
      const int s = static_cast<int>(signal);
      const std::string_view name = SignalName(signal);
      m.Set(pm.requests_started, c.started[p][s].load(), name);
      m.Set(pm.requests_completed, c.completed[p][s].load(), name);
      m.Set(pm.request_bytes, c.bytes[p][s].load(), name);
      m.Set(pm.items_received, c.items[p][s].load(), name);
    }
    for (int o = 1; o < otlp_receiver::kNumOutcomes; ++o) {
      m.Set(pm.requests_rejected, c.rejected[p][o].load(),
            OutcomeName(static_cast<Outcome>(o)));
    }
    m.Set(pm.in_flight_bytes, c.in_flight_bytes[p].load());
  }
  if (config_.http) {
    m.Set(M::http_connections, c.http_connections.load());
    for (int d = 0; d < otlp_receiver::kNumHttpDrops; ++d) {
      m.Set(M::http_connections_closed, c.http_drops[d].load(),
            otlp_receiver::HttpDropName(static_cast<otlp_receiver::HttpDrop>(d)));
    }
  }
  m.Set(M::acknowledgements, c.acks_success.load(), "success");
  m.Set(M::acknowledgements, c.acks_failure.load(), "failure");
  m.Set(M::acknowledgements, c.acks_refused.load(), "refused");
  m.Set(M::acknowledgements, c.acks_timeout.load(), "timeout");
  m.Set(M::requests_waiting, ingest_->waiting());
}

const engine::NodeFactory kOtlpReceiverFactory{
    .urn = "urn:otel:receiver:otlp",
    .kind = engine::NodeKind::kReceiver,
    .description = "OTLP/gRPC and OTLP/HTTP (protobuf and JSON) server",
    .validate_config = &config::ValidateTyped<OtlpReceiverConfig>,
    .create = &OtlpReceiver::Make};

}  // namespace otap_parquet::nodes
