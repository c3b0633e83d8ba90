// SPDX-License-Identifier: Apache-2.0
#pragma once

#include <atomic>
#include <chrono>
#include <cstdint>
#include <memory>
#include <mutex>
#include <string>
#include <vector>

#include <arrow/result.h>
#include <spdlog/logger.h>

#include "otap_parquet/config/engine_config.h"
#include "otap_parquet/engine/metrics.h"
#include "otap_parquet/engine/node.h"
#include "otap_parquet/engine/registry.h"

/// \file
/// One instance of one pipeline: its nodes, channels and single-threaded event loop.

namespace otap_parquet::engine {

struct NodeRuntime;
struct OutPort;
class CompletionQueue;

/// \brief Lifecycle of a pipeline instance, as the admin server reports it.
enum class PipelineState : uint8_t {
  kCreated,   ///< built, Run() not called yet
  kStarting,  ///< nodes are being started
  kRunning,   ///< every node started; data flows
  kDraining,  ///< graceful shutdown in progress
  kStopped,   ///< Run() returned (or a node failed to start)
};

/// \brief "created", "starting", "running", "draining", "stopped".
const char* PipelineStateName(PipelineState state);

/// \brief Data a node reported it gave up delivering (EffectHandler::ReportUndelivered).
struct UndeliveredData {
  std::string node;
  std::string how;
  int64_t batches = 0;
  int64_t items = 0;
};

/// \brief Developer settings of a pipeline instance.
struct PipelineSettings {
  int core = 0;       ///< instance index
  int num_cores = 1;  ///< instances of this pipeline
  /// Drain deadline used when the pipeline ends on its own (every receiver finished).
  std::chrono::milliseconds drain_timeout{60'000};
  std::shared_ptr<spdlog::logger> logger;  ///< default: spdlog's default logger
  MetricsRegistry* metrics = nullptr;      ///< default: a private registry
};

/// \brief One pipeline instance. Run() is its thread's event loop:
///
///  - nodes are visited sinks first, so space frees up before producers run;
///  - a processor or exporter gets input only while its outbox is empty and it
///    accepts pdata, a receiver is polled only while its outbox is empty: a full
///    bounded channel therefore stops its producers, transitively, up to the
///    receivers (network receivers block or answer RESOURCE_EXHAUSTED);
///  - Ack/Nack completions arrive on a thread-safe queue and are dispatched to the
///    subscribed node; timers fire OnTimer;
///  - shutdown: receivers Drain() first; then, in topological order, each node is
///    shut down once its upstream nodes are done and its input is empty (so the
///    batch processor flushes after the last input, exporters close after the last
///    batch); at the deadline everything left is dropped and Nacked.
class PipelineInstance {
 public:
  ~PipelineInstance();

  /// \brief Creates the nodes (factories) and channels. The config must have passed
  /// ValidateNodes.
  static arrow::Result<std::unique_ptr<PipelineInstance>> Make(
      const config::PipelineSpec& spec, const Registry& registry,
      PipelineSettings settings);

  /// \brief Starts the nodes and runs the loop on the calling thread until the
  /// pipeline has shut down. Fails only when a node fails to start.
  arrow::Status Run();

  /// \brief Begins a graceful shutdown; what is still in flight at `deadline` is
  /// dropped (Nacked). Thread-safe; may be called before Run(). The earliest
  /// deadline wins.
  void RequestShutdown(Clock::time_point deadline);

  /// \brief The node with this id, for tests; null if none.
  Node* FindNode(const std::string& id) const;
  std::shared_ptr<NodeMetrics> metrics_of(const std::string& id) const;
  /// \brief Whether the last Run() hit its shutdown deadline.
  bool deadline_exceeded() const { return deadline_exceeded_; }
  /// \brief What nodes reported undelivered, per (node, how). Thread-safe.
  std::vector<UndeliveredData> undelivered() const;
  const std::string& name() const { return name_; }
  /// \brief Current lifecycle state. Thread-safe.
  PipelineState state() const { return state_.load(); }
  int core() const { return settings_.core; }
  size_t num_nodes() const { return nodes_.size(); }

 private:
  class Effect;
  friend class Effect;
  PipelineInstance() = default;

  bool DispatchCompletions();
  bool RunTimers(Clock::time_point now);
  PushResult PushToPort(NodeRuntime& from, const OutPort& port, int dest, PData& msg);
  bool FlushOutbox(NodeRuntime& node);
  bool FeedNode(NodeRuntime& node);
  bool PollReceivers(Clock::time_point now);
  void BeginDrain(Clock::time_point deadline);
  bool AdvanceShutdown(Clock::time_point now);
  void ForceStop();
  Clock::time_point NextWake(Clock::time_point now) const;
  void LogNodeError(NodeRuntime& node, const char* what, const arrow::Status& st);

  std::string name_;
  PipelineSettings settings_;
  std::unique_ptr<MetricsRegistry> own_metrics_;
  std::shared_ptr<spdlog::logger> logger_;
  std::shared_ptr<Wakeup> wakeup_;
  std::shared_ptr<CompletionQueue> completions_;
  std::vector<std::unique_ptr<NodeRuntime>> nodes_;  // topological order
  int receivers_ = 0;

  mutable std::mutex undelivered_mutex_;
  std::vector<UndeliveredData> undelivered_;

  std::mutex shutdown_mutex_;
  bool shutdown_requested_ = false;
  Clock::time_point requested_deadline_ = Clock::time_point::max();

  bool draining_ = false;
  Clock::time_point deadline_ = Clock::time_point::max();
  bool deadline_exceeded_ = false;
  std::atomic<PipelineState> state_{PipelineState::kCreated};
};

}  // namespace otap_parquet::engine
