// SPDX-License-Identifier: Apache-2.0
#pragma once

#include <algorithm>
#include <atomic>
#include <chrono>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <vector>

#include <arrow/result.h>
#include <spdlog/logger.h>

#include "otap_parquet/config/engine_config.h"
#include "otap_parquet/engine/metrics.h"
#include "otap_parquet/engine/pipeline.h"
#include "otap_parquet/engine/registry.h"

/// \file
/// The engine: every pipeline of a configuration, each instantiated once per core,
/// one thread per instance.

namespace otap_parquet::engine {

struct EngineOptions {
  /// Instances per pipeline from the command line (--num-cores): unset = the
  /// config's top-level core_allocation, else 1; 0 = all hardware threads. A group
  /// or pipeline core_allocation wins over it, as upstream.
  std::optional<int> num_cores;
  /// Drain deadline when a pipeline ends on its own (every receiver finished).
  std::chrono::milliseconds drain_timeout{60'000};
  std::shared_ptr<spdlog::logger> logger;  ///< default: spdlog's default logger

  static EngineOptions Defaults() { return {}; }
};

class Engine {
 public:
  /// \brief Builds every pipeline instance (creates all nodes). `config` must have
  /// been validated (LoadEngineConfig / ParseAndValidate).
  static arrow::Result<std::unique_ptr<Engine>> Make(const config::EngineConfig& config,
                                                     const Registry& registry,
                                                     EngineOptions options);

  /// \brief Runs every instance on its own thread and returns when all have ended
  /// (each ends after a shutdown request or when its receivers have finished).
  /// Fails with the first node start failure (the other instances are shut down).
  arrow::Status Run();

  /// \brief Graceful shutdown of every instance with `deadline`. Thread-safe; may be
  /// called before or during Run().
  void RequestShutdown(Clock::time_point deadline);

  /// \brief Whether every instance has started all its nodes and none is draining
  /// or stopped (the admin server's readyz). Thread-safe.
  bool ready() const;
  /// \brief "starting" (some instance not running yet), "running", "draining"
  /// (shutdown requested or an instance is draining), "stopped". Thread-safe.
  std::string state() const;
  /// \brief Whether RequestShutdown was called. Thread-safe.
  bool shutdown_requested() const { return shutdown_requested_.load(); }

  MetricsRegistry& metrics() { return metrics_; }
  size_t num_instances() const { return instances_.size(); }
  /// \brief Cores in use: the most instances any pipeline has.
  int num_cores() const {
    int n = 0;
    for (const auto& instance : instances_) n = std::max(n, instance->core() + 1);
    return n;
  }
  const std::vector<std::unique_ptr<PipelineInstance>>& instances() const {
    return instances_;
  }
  /// \brief Whether any instance hit its shutdown deadline (data was dropped).
  bool deadline_exceeded() const;
  /// \brief What nodes gave up delivering, summed over instances per (pipeline
  /// node, how); `node` is "<pipeline>/<node>". Thread-safe.
  std::vector<UndeliveredData> undelivered() const;

 private:
  Engine() = default;

  EngineOptions options_;
  std::shared_ptr<spdlog::logger> logger_;
  MetricsRegistry metrics_;
  std::vector<std::unique_ptr<PipelineInstance>> instances_;
  size_t num_pipelines_ = 0;
  std::atomic<bool> shutdown_requested_{false};
};

/// \brief Resolves instances of a pipeline: its own/group core_allocation, else the
/// command line, else the top-level core_allocation, else 1; 0 means all hardware
/// threads.
int ResolveInstances(const config::PipelineSpec& pipeline,
                     const config::EngineConfig& config, std::optional<int> cli_cores);

}  // namespace otap_parquet::engine
