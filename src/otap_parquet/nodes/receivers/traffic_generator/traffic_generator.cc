// SPDX-License-Identifier: Apache-2.0
#include "otap_parquet/nodes/receivers/traffic_generator/traffic_generator.h"

#include <algorithm>
#include <chrono>
#include <utility>

#include <fmt/format.h>
#include <spdlog/logger.h>

#include "otap_parquet/otlp/convert.h"

namespace otap_parquet::nodes {

using engine::Clock;

namespace {
constexpr size_t kPregeneratedBatches = 16;
}  // namespace

TrafficGeneratorConfig TrafficGeneratorConfig::Read(config::ConfigReader& reader) {
  TrafficGeneratorConfig c;
  config::ConfigReader traffic = reader.Child("traffic_config");
  if (!reader.Has("traffic_config")) {
    reader.Error("", "missing required key \"traffic_config\"");
  }
  c.production_mode =
      traffic.Enum("production_mode",
                   {{"smooth", ProductionMode::kSmooth}, {"open", ProductionMode::kOpen}},
                   c.production_mode);
  const YAML::Node rate = traffic.Raw("signals_per_second");
  if (rate.IsDefined() && rate.IsNull()) {
    c.signals_per_second.reset();
  } else if (auto v = traffic.Double("signals_per_second")) {
    if (*v <= 0) {
      traffic.Error("signals_per_second", "must be > 0 (null = uncapped)");
    } else {
      c.signals_per_second = *v;
    }
  }
  traffic.AllowNull({"max_signal_count"});  // null = unlimited
  if (auto v = traffic.Int("max_signal_count", 0)) c.max_signal_count = *v;
  if (auto v = traffic.Int("max_batch_size", 1, 65535)) c.max_batch_size = *v;
  if (auto v = traffic.Int("log_weight", 0)) c.log_weight = *v;
  if (auto v = traffic.Int("metric_weight", 0)) c.metric_weight = *v;
  if (auto v = traffic.Int("trace_weight", 0)) c.trace_weight = *v;
  if (c.log_weight + c.metric_weight + c.trace_weight == 0) {
    traffic.Error("",
                  "at least one of log_weight, metric_weight, trace_weight must be > 0");
  }
  // Shape knobs of upstream's synthetic source; our generator has its own shapes.
  for (auto key : {"log_body_size_bytes", "num_log_attributes", "use_trace_context",
                   "num_metric_attributes", "num_data_points_per_metric"}) {
    traffic.Ignore(key);
  }
  traffic.Finish();
  reader.Accept("data_source", {"semantic_conventions", "synthetic"});
  reader.Ignore("registry_path");
  c.generation_strategy =
      reader.Enum("generation_strategy",
                  {{"fresh", GenerationStrategy::kFresh},
                   {"pre_generated", GenerationStrategy::kPreGenerated}},
                  c.generation_strategy);
  reader.Bool("enable_ack_nack");  // Acks are always tracked (counters)
  reader.Ignore("resource_attributes");
  reader.Ignore("transport_headers");
  if (auto v = reader.Int("seed", 0)) c.seed = static_cast<uint64_t>(*v);
  reader.AllowNull({"max_batches"});  // null = unlimited
  if (auto v = reader.Int("max_batches", 0)) c.max_batches = *v;
  return c;
}

TrafficSource::TrafficSource(const TrafficGeneratorConfig& config, int core)
    : config_(config) {
  weights_ = {config.log_weight, config.trace_weight, config.metric_weight};
  for (int s = 0; s < 3; ++s) {
    generator::GeneratorOptions options;
    options.seed = config.seed + static_cast<uint64_t>(core) * 1000003ULL + s;
    options.mode = generator::Mode::kRealistic;
    options.resources_per_request = 1;
    options.scopes_per_resource = 1;
    options.items_per_scope = static_cast<int>(config.max_batch_size);
    options.points_per_metric = 1;  // metrics: one data point each, items = metrics
    generators_[s] = std::make_unique<generator::OtlpGenerator>(options);
  }
}

Signal TrafficSource::PickSignal() {
  // Smooth weighted round robin: deterministic and exact over any window.
  int64_t total = 0;
  int best = -1;
  for (int s = 0; s < 3; ++s) {
    if (weights_[s] == 0) continue;
    credit_[s] += weights_[s];
    total += weights_[s];
    if (best < 0 || credit_[s] > credit_[best]) best = s;
  }
  credit_[best] -= total;
  return static_cast<Signal>(best);
}

arrow::Result<std::optional<OtapBatch>> TrafficSource::Next() {
  if (config_.max_batches && batches_ >= *config_.max_batches) return std::nullopt;
  int64_t n = config_.max_batch_size;
  if (config_.max_signal_count) {
    n = std::min(n, *config_.max_signal_count - items_);
    if (n <= 0) return std::nullopt;
  }
  const Signal signal = PickSignal();
  const int s = static_cast<int>(signal);
  OtapBatch batch(signal);
  auto& pool = pregenerated_[s];
  const bool pregen = config_.generation_strategy ==
                      TrafficGeneratorConfig::GenerationStrategy::kPreGenerated;
  if (pregen && pool.size() >= kPregeneratedBatches && n == config_.max_batch_size) {
    batch = pool[cycle_[s]++ % pool.size()];
  } else {
    otlp::OtlpRequest request = generators_[s]->Next(signal);
    if (n < config_.max_batch_size) {
      auto parts = generator::SplitRequest(request, static_cast<int>(n));
      if (!parts.empty()) request = std::move(parts.front());
    }
    ARROW_ASSIGN_OR_RAISE(auto batches, otlp::ToOtap(request));
    if (batches.empty()) return arrow::Status::Invalid("generator produced no data");
    // max_batch_size <= 65535 root rows, so one batch.
    batch = std::move(batches.front());
    if (pregen && n == config_.max_batch_size) pool.push_back(batch);
  }
  items_ += batch.num_items();
  batches_++;
  return batch;
}

arrow::Result<std::unique_ptr<engine::Node>> TrafficGenerator::Make(
    const engine::NodeSettings& settings, const YAML::Node& config) {
  ARROW_ASSIGN_OR_RAISE(
      auto c, config::ParseTyped<TrafficGeneratorConfig>(config, settings.config_path));
  return std::unique_ptr<engine::Node>(new TrafficGenerator(c, settings.core));
}

arrow::Status TrafficGenerator::Start(engine::EffectHandler& effect) {
  window_start_ = Clock::now();
  effect.logger().info(
      "receiver.traffic_generator.start node={} core={} rate={} batch_size={}",
      effect.node_id(), effect.core(),
      config_.signals_per_second ? fmt::format("{}", *config_.signals_per_second)
                                 : "uncapped",
      config_.max_batch_size);
  return arrow::Status::OK();
}

Clock::time_point TrafficGenerator::Poll(Clock::time_point now,
                                         engine::EffectHandler& effect) {
  if (config_.signals_per_second &&
      config_.production_mode == TrafficGeneratorConfig::ProductionMode::kOpen) {
    if (now - window_start_ >= std::chrono::seconds(1)) {
      window_start_ = now;
      window_items_ = 0;
    }
    if (window_items_ >= static_cast<int64_t>(*config_.signals_per_second)) {
      return window_start_ + std::chrono::seconds(1);
    }
  }
  auto next = source_.Next();
  if (!next.ok()) {
    effect.metrics().errors++;
    effect.logger().error("receiver.traffic_generator.fail node={} error={}",
                          effect.node_id(), next.status().ToString());
    effect.ReportFinished();
    return Clock::time_point::max();
  }
  if (!next->has_value()) {
    effect.logger().info("receiver.traffic_generator.complete node={} core={} items={}",
                         effect.node_id(), effect.core(), source_.items_produced());
    effect.ReportFinished();
    return Clock::time_point::max();
  }
  engine::PData msg(std::move(**next));
  const int64_t items = msg.num_items();
  window_items_ += items;
  effect.Subscribe(msg, static_cast<uint64_t>(source_.batches_produced()));
  auto st = effect.Send(std::move(msg));
  if (!st.ok()) effect.metrics().errors++;
  if (!config_.signals_per_second) return now;  // uncapped: as fast as accepted
  if (config_.production_mode == TrafficGeneratorConfig::ProductionMode::kOpen)
    return now;
  const auto interval =
      std::chrono::duration_cast<Clock::duration>(std::chrono::duration<double>(
          static_cast<double>(items) / *config_.signals_per_second));
  return now + interval;
}

void TrafficGenerator::Drain(engine::EffectHandler& effect) {
  effect.logger().info("receiver.traffic_generator.drain node={} core={} items={}",
                       effect.node_id(), effect.core(), source_.items_produced());
}

void TrafficGenerator::OnAck(uint64_t, engine::AckContext, engine::EffectHandler&) {}

void TrafficGenerator::OnNack(uint64_t, const engine::NackInfo& nack, engine::AckContext,
                              engine::EffectHandler& effect) {
  if (nack_logs_++ < 5) {
    effect.logger().warn("receiver.traffic_generator.nack node={} permanent={} reason={}",
                         effect.node_id(), nack.permanent, nack.reason);
  }
}

const engine::NodeFactory kTrafficGeneratorFactory{
    .urn = "urn:otel:receiver:traffic_generator",
    .kind = engine::NodeKind::kReceiver,
    .description = "deterministic synthetic logs, traces and metrics",
    .validate_config = &config::ValidateTyped<TrafficGeneratorConfig>,
    .create = &TrafficGenerator::Make};

}  // namespace otap_parquet::nodes
