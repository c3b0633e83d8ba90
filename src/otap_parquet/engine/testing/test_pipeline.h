// SPDX-License-Identifier: Apache-2.0
#pragma once

/// \file
/// A test source, a test sink and a forwarding processor whose behaviour and
/// observations live in one TestState the test owns and hands to them (through the
/// factories' closures), plus a fixture that builds `src -> mid -> sink` pipelines
/// from a registry: for tests of the engine and of processors. Include from
/// `*_test.cc` only.

#include <algorithm>
#include <atomic>
#include <chrono>
#include <cstdint>
#include <memory>
#include <mutex>
#include <string>
#include <thread>
#include <utility>
#include <vector>

#include <arrow/util/logging.h>
#include <gtest/gtest.h>

#include "otap_parquet/engine/pipeline.h"
#include "otap_parquet/engine/registry.h"
#include "otap_parquet/generator/test_batches.h"
#include "otap_parquet/otlp/convert.h"
#include "otap_parquet/testing/gtest_util.h"

namespace otap_parquet::fakes {

/// \brief What the test nodes do and what they saw. Owned by the test.
struct TestState {
  std::mutex mutex;
  int64_t source_batches = 50;  ///< -1 = produce until drained
  int items_per_batch = 10;
  std::vector<uint64_t> acked;
  std::vector<uint64_t> nacked;
  std::vector<std::string> nack_reasons;
  std::atomic<int64_t> produced{0};
  std::atomic<int64_t> exported_batches{0};
  std::atomic<int64_t> exported_items{0};
  std::atomic<int64_t> max_exported_items{0};  ///< largest batch seen
  std::atomic<bool> gate_open{true};
  bool nack_all = false;
  int64_t nack_export = -1;  ///< Nack only the export with this index (0-based)
  bool async_ack = false;
  std::vector<std::thread> ack_threads;
  /// The source's handle, set by the pipeline thread (Start), read by tests.
  std::atomic<engine::EffectHandler*> source_effect{nullptr};
  bool external = false;        ///< source produces only via SendFromAnyThread
  bool report_finished = true;  ///< source reports finished after its batches
  /// Sink: each export closes the gate, and only the sink's timer opens it again.
  bool gate_opens_on_timer = false;
  /// Sink: keeps every context, and its Shutdown waits for them, until the node is
  /// destroyed; its destructor then Acks them from a thread of its own and wakes
  /// the pipeline (as an exporter whose requests were still in flight at the
  /// shutdown deadline and settle when it stops).
  bool settle_on_destruction = false;
};

/// \brief Sends state->source_batches log batches and subscribes to each one's
/// outcome (calldata = sequence number).
class TestSource : public engine::Receiver {
 public:
  explicit TestSource(TestState* state) : state_(state) {}
  arrow::Status Start(engine::EffectHandler& effect) override {
    state_->source_effect = &effect;
    template_ = testing::LogsBatch(state_->items_per_batch, 7);
    return arrow::Status::OK();
  }
  engine::Clock::time_point Poll(engine::Clock::time_point now,
                                 engine::EffectHandler& effect) override {
    if (state_->external) return engine::Clock::time_point::max();
    if (state_->source_batches >= 0 &&
        static_cast<int64_t>(next_) >= state_->source_batches) {
      if (state_->report_finished) effect.ReportFinished();
      return engine::Clock::time_point::max();
    }
    engine::PData msg(template_);
    effect.Subscribe(msg, next_++);
    state_->produced++;
    ARROW_CHECK_OK(effect.Send(std::move(msg)));
    return now;
  }
  void OnAck(uint64_t calldata, engine::AckContext, engine::EffectHandler&) override {
    std::lock_guard<std::mutex> lock(state_->mutex);
    state_->acked.push_back(calldata);
  }
  void OnNack(uint64_t calldata, const engine::NackInfo& nack, engine::AckContext,
              engine::EffectHandler&) override {
    std::lock_guard<std::mutex> lock(state_->mutex);
    state_->nacked.push_back(calldata);
    state_->nack_reasons.push_back(nack.reason);
  }

 private:
  TestState* state_;
  OtapBatch template_{Signal::kLogs};
  uint64_t next_ = 0;
};

/// \brief Acks (optionally from another thread), Nacks everything or one export,
/// or refuses input while the gate is closed.
class TestSink : public engine::Exporter {
 public:
  explicit TestSink(TestState* state) : state_(state) {}
  ~TestSink() override {
    if (held_.empty()) return;
    std::thread([this] {
      for (auto& ctx : held_) ctx.Ack();
      effect_->metrics().acked.load();  // the handle is still valid here
      effect_->Wake();
    }).join();
    settled_.MarkFinished();
  }
  bool AcceptsPdata() const override { return state_->gate_open.load(); }
  arrow::Future<> Shutdown(engine::Clock::time_point, engine::EffectHandler&) override {
    if (held_.empty()) return arrow::Future<>::MakeFinished();
    return settled_;
  }
  arrow::Status Start(engine::EffectHandler& effect) override {
    effect_ = &effect;
    if (state_->gate_opens_on_timer) {
      effect.StartPeriodicTimer(std::chrono::milliseconds(5));
    }
    return arrow::Status::OK();
  }
  arrow::Status OnTimer(engine::Clock::time_point, engine::EffectHandler&) override {
    state_->gate_open = true;
    return arrow::Status::OK();
  }
  arrow::Status Export(engine::PData msg, engine::EffectHandler&) override {
    if (state_->gate_opens_on_timer) state_->gate_open = false;
    state_->exported_batches++;
    state_->exported_items += msg.num_items();
    int64_t seen = state_->max_exported_items.load();
    while (msg.num_items() > seen &&
           !state_->max_exported_items.compare_exchange_weak(seen, msg.num_items())) {
    }
    if (state_->settle_on_destruction) {
      held_.push_back(std::move(msg.context));
    } else if (state_->nack_all ||
               state_->exported_batches.load() - 1 == state_->nack_export) {
      msg.context.Nack({"disk full", false});
    } else if (state_->async_ack) {
      // Completion from an I/O thread, as an arrow::Future callback would.
      std::lock_guard<std::mutex> lock(state_->mutex);
      state_->ack_threads.emplace_back([ctx = std::move(msg.context)]() mutable {
        std::this_thread::sleep_for(std::chrono::milliseconds(1));
        ctx.Ack();
      });
    } else {
      msg.context.Ack();
    }
    return arrow::Status::OK();
  }

 private:
  TestState* state_;
  engine::EffectHandler* effect_ = nullptr;
  std::vector<engine::AckContext> held_;
  arrow::Future<> settled_ = arrow::Future<>::Make();
};

/// \brief Forwards every message unchanged.
class ForwardProcessor : public engine::Processor {
 public:
  arrow::Status Process(engine::PData msg, engine::EffectHandler& effect) override {
    return effect.Send(std::move(msg));
  }
};

/// \brief Registers `urn:test:receiver:source`, `urn:test:exporter:sink` (both on
/// `state`) and `urn:test:processor:forward`.
inline arrow::Status RegisterTestNodes(engine::Registry& registry, TestState* state) {
  using NodePtr = arrow::Result<std::unique_ptr<engine::Node>>;
  ARROW_RETURN_NOT_OK(registry.Register(
      {.urn = "urn:test:receiver:source",
       .kind = engine::NodeKind::kReceiver,
       .description = "test source",
       .validate_config = &engine::NoConfig,
       .create = [state](const engine::NodeSettings&, const YAML::Node&) -> NodePtr {
         return std::make_unique<TestSource>(state);
       }}));
  ARROW_RETURN_NOT_OK(registry.Register(
      {.urn = "urn:test:exporter:sink",
       .kind = engine::NodeKind::kExporter,
       .description = "test sink",
       .validate_config = &engine::NoConfig,
       .create = [state](const engine::NodeSettings&, const YAML::Node&) -> NodePtr {
         return std::make_unique<TestSink>(state);
       }}));
  return registry.Register(
      {.urn = "urn:test:processor:forward",
       .kind = engine::NodeKind::kProcessor,
       .description = "forwards everything",
       .validate_config = &engine::NoConfig,
       .create = [](const engine::NodeSettings&, const YAML::Node&) -> NodePtr {
         return std::make_unique<ForwardProcessor>();
       }});
}

/// \brief `src -> mid -> sink` with `mid` the given node YAML and channels of
/// `capacity`.
inline std::string TestPipelineYaml(const std::string& middle, int capacity) {
  return "version: otel_dataflow/v1\n"
         "policies: {channel_capacity: {pdata: " +
         std::to_string(capacity) +
         "}}\n"
         "groups:\n  g:\n    pipelines:\n      p:\n        nodes:\n"
         "          src: {type: 'urn:test:receiver:source'}\n"
         "          mid: " +
         middle +
         "\n"
         "          sink: {type: 'urn:test:exporter:sink'}\n"
         "        connections:\n"
         "          - {from: src, to: mid}\n"
         "          - {from: mid, to: sink}\n";
}

/// \brief A fresh TestState and a registry of the test nodes per test; a test adds
/// the node under test to `registry_` (e.g. in its SetUp) before Build.
class TestPipelineFixture : public ::testing::Test {
 protected:
  void SetUp() override { ASSERT_OK(RegisterTestNodes(registry_, state_.get())); }
  void TearDown() override { JoinAckThreads(); }

  void JoinAckThreads() {
    std::vector<std::thread> threads;
    {
      std::lock_guard<std::mutex> lock(state_->mutex);
      threads.swap(state_->ack_threads);
    }
    for (auto& t : threads) t.join();
  }

  /// `logger`: null = spdlog's default logger.
  arrow::Result<std::unique_ptr<engine::PipelineInstance>> Build(
      const std::string& yaml, std::shared_ptr<spdlog::logger> logger = nullptr) {
    ARROW_ASSIGN_OR_RAISE(auto config,
                          engine::ParseAndValidate(yaml, "test.yaml", registry_));
    engine::PipelineSettings settings;
    settings.drain_timeout = std::chrono::milliseconds(10'000);
    settings.logger = std::move(logger);
    return engine::PipelineInstance::Make(config.pipelines[0], registry_, settings);
  }

  /// Runs the pipeline on its own thread; fails the test (after forcing a
  /// shutdown) if it does not end within 20 s.
  void RunToEnd(engine::PipelineInstance& p) {
    std::atomic<bool> done{false};
    arrow::Status st;
    std::thread t([&] {
      st = p.Run();
      done = true;
    });
    const auto limit = engine::Clock::now() + std::chrono::seconds(20);
    while (!done && engine::Clock::now() < limit) {
      std::this_thread::sleep_for(std::chrono::milliseconds(5));
    }
    if (!done) {
      ADD_FAILURE() << "pipeline did not end";
      p.RequestShutdown(engine::Clock::now());
    }
    t.join();
    EXPECT_OK(st);
    JoinAckThreads();
  }

  std::unique_ptr<TestState> state_ = std::make_unique<TestState>();
  engine::Registry registry_;
};

}  // namespace otap_parquet::fakes
