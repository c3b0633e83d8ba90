// SPDX-License-Identifier: Apache-2.0
#pragma once

#include <array>
#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include <arrow/result.h>

#include "otap_parquet/config/config_reader.h"
#include "otap_parquet/engine/node.h"
#include "otap_parquet/engine/registry.h"
#include "otap_parquet/generator/otlp_generator.h"

/// \file
/// `receiver:traffic_generator`: deterministic synthetic telemetry (see README.md).

namespace otap_parquet::nodes {

/// \brief User config, upstream's keys plus `seed` and `max_batches`.
struct TrafficGeneratorConfig {
  /// `smooth` spreads batches evenly over each second; `open` sends each second's
  /// quota as fast as the pipeline takes it.
  enum class ProductionMode { kSmooth, kOpen };
  ProductionMode production_mode = ProductionMode::kSmooth;
  /// Items per second per instance; nullopt (`null` in YAML) = uncapped.
  std::optional<double> signals_per_second = 30;
  /// Stop after this many items per instance; nullopt = unlimited.
  std::optional<int64_t> max_signal_count;
  /// Stop after this many batches per instance; nullopt = unlimited.
  std::optional<int64_t> max_batches;
  /// Items (log records, spans, metric data points) per batch, 1..65535.
  int64_t max_batch_size = 1000;
  int64_t log_weight = 0;
  int64_t metric_weight = 0;
  int64_t trace_weight = 0;
  /// `pre_generated` builds 16 batches per signal once and cycles through them.
  enum class GenerationStrategy { kFresh, kPreGenerated };
  GenerationStrategy generation_strategy = GenerationStrategy::kFresh;
  /// Seed of instance 0; instance i uses seed + i.
  uint64_t seed = 1;

  static TrafficGeneratorConfig Read(config::ConfigReader& reader);
};

/// \brief The deterministic batch sequence of a generator instance (no engine).
class TrafficSource {
 public:
  TrafficSource(const TrafficGeneratorConfig& config, int core);

  /// \brief The next batch, or nullopt once max_signal_count / max_batches is
  /// reached. The same config and core give the same sequence.
  arrow::Result<std::optional<OtapBatch>> Next();

  int64_t items_produced() const { return items_; }
  int64_t batches_produced() const { return batches_; }

 private:
  Signal PickSignal();

  TrafficGeneratorConfig config_;
  std::array<std::unique_ptr<generator::OtlpGenerator>, 3> generators_;
  std::array<int64_t, 3> weights_{};
  std::array<int64_t, 3> credit_{};
  std::array<std::vector<OtapBatch>, 3> pregenerated_;
  std::array<size_t, 3> cycle_{};
  int64_t items_ = 0;
  int64_t batches_ = 0;
};

class TrafficGenerator : public engine::Receiver {
 public:
  static arrow::Result<std::unique_ptr<engine::Node>> Make(
      const engine::NodeSettings& settings, const YAML::Node& config);

  arrow::Status Start(engine::EffectHandler& effect) override;
  engine::Clock::time_point Poll(engine::Clock::time_point now,
                                 engine::EffectHandler& effect) override;
  void Drain(engine::EffectHandler& effect) override;
  void OnAck(uint64_t calldata, engine::AckContext rest,
             engine::EffectHandler& effect) override;
  void OnNack(uint64_t calldata, const engine::NackInfo& nack, engine::AckContext rest,
              engine::EffectHandler& effect) override;

  const TrafficSource& source() const { return source_; }

 private:
  TrafficGenerator(TrafficGeneratorConfig config, int core)
      : config_(config), source_(config, core) {}

  TrafficGeneratorConfig config_;
  TrafficSource source_;
  engine::Clock::time_point window_start_{};
  int64_t window_items_ = 0;
  int64_t nack_logs_ = 0;
};

extern const engine::NodeFactory kTrafficGeneratorFactory;

}  // namespace otap_parquet::nodes
