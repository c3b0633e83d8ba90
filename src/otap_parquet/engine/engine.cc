// SPDX-License-Identifier: Apache-2.0
#include "otap_parquet/engine/engine.h"

#include <algorithm>
#include <thread>
#include <utility>

#include <spdlog/spdlog.h>

namespace otap_parquet::engine {

int ResolveInstances(const config::PipelineSpec& pipeline,
                     const config::EngineConfig& config, std::optional<int> cli_cores) {
  std::optional<int> cores = pipeline.core_count;
  if (!cores) cores = cli_cores;
  if (!cores) cores = config.core_count;
  int n = cores.value_or(1);
  if (n <= 0) n = static_cast<int>(std::max(1u, std::thread::hardware_concurrency()));
  return n;
}

arrow::Result<std::unique_ptr<Engine>> Engine::Make(const config::EngineConfig& config,
                                                    const Registry& registry,
                                                    EngineOptions options) {
  std::unique_ptr<Engine> engine(new Engine());
  if (!options.logger) options.logger = spdlog::default_logger();
  engine->options_ = options;
  engine->logger_ = options.logger;
  engine->num_pipelines_ = config.pipelines.size();
  for (const auto& pipeline : config.pipelines) {
    const int n = ResolveInstances(pipeline, config, options.num_cores);
    for (int core = 0; core < n; ++core) {
      PipelineSettings settings;
      settings.core = core;
      settings.num_cores = n;
      settings.drain_timeout = options.drain_timeout;
      settings.logger = options.logger;
      settings.metrics = &engine->metrics_;
      ARROW_ASSIGN_OR_RAISE(auto instance,
                            PipelineInstance::Make(pipeline, registry, settings));
      engine->instances_.push_back(std::move(instance));
    }
  }
  return engine;
}

arrow::Status Engine::Run() {
  logger_->info("engine.start pipelines={} instances={}", num_pipelines_,
                instances_.size());
  std::vector<arrow::Status> results(instances_.size());
  std::vector<std::thread> threads;
  threads.reserve(instances_.size());
  for (size_t i = 0; i < instances_.size(); ++i) {
    threads.emplace_back([this, i, &results] {
      results[i] = instances_[i]->Run();
      if (!results[i].ok()) {
        // A failed start ends the whole engine, as a config error would.
        RequestShutdown(Clock::now() + options_.drain_timeout);
      }
    });
  }
  for (auto& t : threads) t.join();
  for (const auto& st : results) ARROW_RETURN_NOT_OK(st);
  logger_->info("engine.complete instances={}", instances_.size());
  return arrow::Status::OK();
}

void Engine::RequestShutdown(Clock::time_point deadline) {
  shutdown_requested_ = true;
  for (auto& instance : instances_) instance->RequestShutdown(deadline);
}

bool Engine::ready() const {
  if (shutdown_requested_.load()) return false;
  for (const auto& instance : instances_) {
    if (instance->state() != PipelineState::kRunning) return false;
  }
  return !instances_.empty();
}

std::string Engine::state() const {
  bool all_stopped = true;
  bool any_draining = shutdown_requested_.load();
  bool all_running = true;
  for (const auto& instance : instances_) {
    const PipelineState s = instance->state();
    all_stopped &= s == PipelineState::kStopped;
    any_draining |= s == PipelineState::kDraining;
    all_running &= s == PipelineState::kRunning;
  }
  if (all_stopped && !instances_.empty()) return "stopped";
  if (any_draining) return "draining";
  if (all_running) return "running";
  return "starting";
}

std::vector<UndeliveredData> Engine::undelivered() const {
  std::vector<UndeliveredData> total;
  for (const auto& instance : instances_) {
    for (auto& u : instance->undelivered()) {
      u.node = instance->name() + "/" + u.node;
      auto it = std::find_if(total.begin(), total.end(), [&](const UndeliveredData& t) {
        return t.node == u.node && t.how == u.how;
      });
      if (it == total.end()) {
        total.push_back(std::move(u));
      } else {
        it->batches += u.batches;
        it->items += u.items;
      }
    }
  }
  return total;
}

bool Engine::deadline_exceeded() const {
  for (const auto& instance : instances_) {
    if (instance->deadline_exceeded()) return true;
  }
  return false;
}

}  // namespace otap_parquet::engine
