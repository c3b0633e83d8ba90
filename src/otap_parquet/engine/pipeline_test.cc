// SPDX-License-Identifier: Apache-2.0
#include "otap_parquet/engine/pipeline.h"

#include <atomic>
#include <mutex>
#include <thread>

#include <arrow/util/logging.h>

#include "otap_parquet/engine/engine.h"
#include "otap_parquet/generator/otlp_generator.h"
#include "otap_parquet/nodes/builtin_nodes.h"
#include "otap_parquet/otlp/convert.h"
#include "otap_parquet/testing/batches.h"
#include "otap_parquet/testing/gtest_util.h"

namespace otap_parquet::engine {
namespace {

using std::chrono::milliseconds;
using ::testing::HasSubstr;

// Shared by the test nodes below; reset by the fixture.
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
  EffectHandler* source_effect = nullptr;
  bool external = false;        ///< source produces only via SendFromAnyThread
  bool report_finished = true;  ///< source reports finished after its batches
  /// Sink: each export closes the gate, and only the sink's timer opens it again.
  bool gate_opens_on_timer = false;
};

TestState* g_state = nullptr;

// A receiver that sends g_state->source_batches log batches and subscribes to
// each one's outcome (calldata = sequence number).
class TestSource : public Receiver {
 public:
  static arrow::Result<std::unique_ptr<Node>> Make(const NodeSettings&,
                                                   const YAML::Node&) {
    return std::make_unique<TestSource>();
  }
  arrow::Status Start(EffectHandler& effect) override {
    g_state->source_effect = &effect;
    template_ = testing::LogsBatch(g_state->items_per_batch, 7);
    return arrow::Status::OK();
  }
  Clock::time_point Poll(Clock::time_point now, EffectHandler& effect) override {
    if (g_state->external) return Clock::time_point::max();
    if (g_state->source_batches >= 0 &&
        static_cast<int64_t>(next_) >= g_state->source_batches) {
      if (g_state->report_finished) effect.ReportFinished();
      return Clock::time_point::max();
    }
    PData msg(template_);
    effect.Subscribe(msg, next_++);
    g_state->produced++;
    ARROW_CHECK_OK(effect.Send(std::move(msg)));
    return now;
  }
  void OnAck(uint64_t calldata, AckContext, EffectHandler&) override {
    std::lock_guard<std::mutex> lock(g_state->mutex);
    g_state->acked.push_back(calldata);
  }
  void OnNack(uint64_t calldata, const NackInfo& nack, AckContext,
              EffectHandler&) override {
    std::lock_guard<std::mutex> lock(g_state->mutex);
    g_state->nacked.push_back(calldata);
    g_state->nack_reasons.push_back(nack.reason);
  }

 private:
  OtapBatch template_{Signal::kLogs};
  uint64_t next_ = 0;
};

// An exporter that acks (optionally from another thread), nacks everything, or
// refuses input while the gate is closed.
class TestSink : public Exporter {
 public:
  static arrow::Result<std::unique_ptr<Node>> Make(const NodeSettings&,
                                                   const YAML::Node&) {
    return std::make_unique<TestSink>();
  }
  bool AcceptsPdata() const override { return g_state->gate_open.load(); }
  arrow::Status Start(EffectHandler& effect) override {
    if (g_state->gate_opens_on_timer) effect.StartPeriodicTimer(milliseconds(5));
    return arrow::Status::OK();
  }
  arrow::Status OnTimer(Clock::time_point, EffectHandler&) override {
    g_state->gate_open = true;
    return arrow::Status::OK();
  }
  arrow::Status Export(PData msg, EffectHandler&) override {
    if (g_state->gate_opens_on_timer) g_state->gate_open = false;
    g_state->exported_batches++;
    g_state->exported_items += msg.num_items();
    int64_t seen = g_state->max_exported_items.load();
    while (msg.num_items() > seen &&
           !g_state->max_exported_items.compare_exchange_weak(seen, msg.num_items())) {
    }
    if (g_state->nack_all ||
        g_state->exported_batches.load() - 1 == g_state->nack_export) {
      msg.context.Nack({"disk full", false});
    } else if (g_state->async_ack) {
      // Completion from an I/O thread, as an arrow::Future callback would.
      std::lock_guard<std::mutex> lock(g_state->mutex);
      g_state->ack_threads.emplace_back([ctx = std::move(msg.context)]() mutable {
        std::this_thread::sleep_for(milliseconds(1));
        ctx.Ack();
      });
    } else {
      msg.context.Ack();
    }
    return arrow::Status::OK();
  }
};

const Registry& TestRegistry() {
  static const Registry registry = [] {
    Registry r;
    ARROW_CHECK_OK(nodes::RegisterBuiltinNodes(r));
    ARROW_CHECK_OK(r.Register({.urn = "urn:test:receiver:source",
                               .kind = NodeKind::kReceiver,
                               .description = "test source",
                               .validate_config = &NoConfig,
                               .create = &TestSource::Make}));
    ARROW_CHECK_OK(r.Register({.urn = "urn:test:exporter:sink",
                               .kind = NodeKind::kExporter,
                               .description = "test sink",
                               .validate_config = &NoConfig,
                               .create = &TestSink::Make}));
    return r;
  }();
  return registry;
}

std::string Pipeline(const std::string& middle, int capacity) {
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

class PipelineTest : public ::testing::Test {
 protected:
  void SetUp() override {
    state_ = std::make_unique<TestState>();
    g_state = state_.get();
  }
  void TearDown() override {
    JoinAckThreads();
    g_state = nullptr;
  }
  void JoinAckThreads() {
    std::vector<std::thread> threads;
    {
      std::lock_guard<std::mutex> lock(state_->mutex);
      threads.swap(state_->ack_threads);
    }
    for (auto& t : threads) t.join();
  }

  arrow::Result<std::unique_ptr<PipelineInstance>> Build(const std::string& yaml) {
    ARROW_ASSIGN_OR_RAISE(auto config,
                          ParseAndValidate(yaml, "test.yaml", TestRegistry()));
    PipelineSettings settings;
    settings.drain_timeout = std::chrono::milliseconds(10'000);
    return PipelineInstance::Make(config.pipelines[0], TestRegistry(), settings);
  }

  // Runs the pipeline on its own thread; fails the test (after forcing a
  // shutdown) if it does not end within 20 s.
  void RunToEnd(PipelineInstance& p) {
    std::atomic<bool> done{false};
    arrow::Status st;
    std::thread t([&] {
      st = p.Run();
      done = true;
    });
    const auto limit = Clock::now() + std::chrono::seconds(20);
    while (!done && Clock::now() < limit) std::this_thread::sleep_for(milliseconds(5));
    if (!done) {
      ADD_FAILURE() << "pipeline did not end";
      p.RequestShutdown(Clock::now());
    }
    t.join();
    EXPECT_OK(st);
    JoinAckThreads();
  }

  std::unique_ptr<TestState> state_;
};

// Scenario: 50 batches of 10 log records go through processor:batch, which merges
// them to >= 100 items and splits above 150, into an exporter that Acks.
// Guarantees: each input is Acked exactly once at the receiver after the merged
// outputs are Acked; all items arrive; the pipeline ends by itself.
TEST_F(PipelineTest, AcksFlowThroughBatchProcessorToReceiver) {
  ASSERT_OK_AND_ASSIGN(
      auto p, Build(Pipeline("{type: processor:batch, config: {otap: {min_size: 100, "
                             "max_size: 150, sizer: items}}}",
                             4)));
  RunToEnd(*p);
  EXPECT_EQ(state_->exported_items.load(), 500);
  EXPECT_LT(state_->exported_batches.load(), 50);     // merged
  EXPECT_LE(state_->max_exported_items.load(), 150);  // split at max_size
  EXPECT_TRUE(state_->nacked.empty());
  auto acked = state_->acked;
  std::sort(acked.begin(), acked.end());
  ASSERT_EQ(acked.size(), 50u);
  for (uint64_t i = 0; i < 50; ++i) EXPECT_EQ(acked[i], i);
  auto* batch = p->metrics_of("mid").get();
  EXPECT_EQ(batch->received_items.load(), 500);
  EXPECT_GT(batch->acked.load(), 0);
}

// Scenario: the batch processor holds fewer items than min_size and the source
// goes quiet (without finishing).
// Guarantees: max_batch_duration flushes them on a timer tick, before any
// shutdown, and the inputs are Acked.
TEST_F(PipelineTest, BatchProcessorFlushesOnTimer) {
  state_->source_batches = 5;
  state_->report_finished = false;
  ASSERT_OK_AND_ASSIGN(
      auto p, Build(Pipeline("{type: processor:batch, config: {otap: {min_size: 1000, "
                             "sizer: items}, max_batch_duration: 50ms}}",
                             4)));
  std::thread t([&] { ASSERT_OK(p->Run()); });
  const auto limit = Clock::now() + std::chrono::seconds(5);
  while (state_->exported_batches.load() == 0 && Clock::now() < limit) {
    std::this_thread::sleep_for(milliseconds(5));
  }
  EXPECT_EQ(state_->exported_batches.load(), 1);
  EXPECT_EQ(state_->exported_items.load(), 50);
  p->RequestShutdown(Clock::now() + std::chrono::seconds(10));
  t.join();
  EXPECT_EQ(state_->acked.size(), 5u);
}

// Scenario: the exporter Nacks every merged batch ("disk full").
// Guarantees: every input of every merged batch is Nacked at the receiver, with
// the exporter's reason; none is Acked.
TEST_F(PipelineTest, NacksFlowThroughBatchProcessorToReceiver) {
  state_->nack_all = true;
  ASSERT_OK_AND_ASSIGN(
      auto p, Build(Pipeline("{type: processor:batch, config: {otap: {min_size: 100, "
                             "sizer: items}}}",
                             4)));
  RunToEnd(*p);
  EXPECT_TRUE(state_->acked.empty());
  ASSERT_EQ(state_->nacked.size(), 50u);
  for (const auto& reason : state_->nack_reasons) EXPECT_EQ(reason, "disk full");
  EXPECT_EQ(p->metrics_of("src")->nacked_retryable.load(), 50);
}

// Scenario: processor:batch (min = max = 25 items) flushes every 3 inputs of 10
// items and splits each merge into 25 + 5 items; the exporter Nacks only the second
// output (the 5 of the first flush).
// Guarantees: exactly the 3 inputs of the first flush are Nacked, with the
// exporter's reason; the other 47 are Acked; the exporter's own metrics count its
// one Nack and its Acks; the processor counts its splitting flushes.
TEST_F(PipelineTest, BatchProcessorNackOfOneSplitOutputNacksItsInputsOnly) {
  state_->nack_export = 1;
  ASSERT_OK_AND_ASSIGN(
      auto p, Build(Pipeline("{type: processor:batch, config: {otap: {min_size: 25, "
                             "max_size: 25, sizer: items}}}",
                             64)));
  RunToEnd(*p);
  EXPECT_EQ(state_->exported_items.load(), 500);
  EXPECT_EQ(state_->max_exported_items.load(), 25);
  auto nacked = state_->nacked;
  std::sort(nacked.begin(), nacked.end());
  EXPECT_EQ(nacked, (std::vector<uint64_t>{0, 1, 2}));
  for (const auto& reason : state_->nack_reasons) EXPECT_EQ(reason, "disk full");
  EXPECT_EQ(state_->acked.size(), 47u);
  auto sink = p->metrics_of("sink");
  EXPECT_EQ(sink->nacked_retryable.load(), 1);
  EXPECT_EQ(sink->acked.load(), state_->exported_batches.load() - 1);
  EXPECT_EQ(p->metrics_of("mid")->extra("batch_split_flushes"), 16);
}

// Scenario: the exporter completes each message later, from another thread.
// Guarantees: the completions reach the receiver through the pass-through debug
// processor; the pipeline waits for none of them (they are dispatched as they
// come) and ends when the source finishes.
TEST_F(PipelineTest, AsyncAcksFromAnotherThreadReachTheReceiver) {
  state_->async_ack = true;
  state_->source_batches = 20;
  ASSERT_OK_AND_ASSIGN(auto p, Build(Pipeline("{type: processor:debug, config: "
                                              "{verbosity: basic, output: /dev/null}}",
                                              2)));
  RunToEnd(*p);
  // Acks completed after the pipeline ended are dropped silently; the ones that
  // arrived in time are all Acks.
  EXPECT_TRUE(state_->nacked.empty());
  EXPECT_EQ(state_->exported_batches.load(), 20);
}

// Scenario: the exporter stops accepting data while an unbounded source keeps
// producing, with channels of capacity 2.
// Guarantees: the source stops after filling the channels and outboxes (bounded
// memory); once the exporter accepts again everything flows and is Acked.
TEST_F(PipelineTest, BackpressureStopsTheSource) {
  state_->gate_open = false;
  state_->source_batches = -1;
  ASSERT_OK_AND_ASSIGN(auto p, Build(Pipeline("{type: processor:debug, config: "
                                              "{verbosity: basic, output: /dev/null}}",
                                              2)));
  std::thread t([&] { ASSERT_OK(p->Run()); });
  std::this_thread::sleep_for(milliseconds(300));
  const int64_t blocked_at = state_->produced.load();
  // 2 (sink input) + 1 (debug outbox) + 2 (debug input) + 1 (source outbox).
  EXPECT_LE(blocked_at, 6);
  EXPECT_GE(blocked_at, 4);
  std::this_thread::sleep_for(milliseconds(100));
  EXPECT_EQ(state_->produced.load(), blocked_at);
  EXPECT_GT(p->metrics_of("src")->send_blocked.load(), 0);
  state_->gate_open = true;
  std::this_thread::sleep_for(milliseconds(300));
  p->RequestShutdown(Clock::now() + std::chrono::seconds(10));
  t.join();
  EXPECT_GT(state_->produced.load(), blocked_at);
  EXPECT_EQ(static_cast<int64_t>(state_->acked.size()), state_->produced.load());
  EXPECT_TRUE(state_->nacked.empty());
  EXPECT_FALSE(p->deadline_exceeded());
}

// Scenario: shutdown is requested while data is in flight and the batch
// processor holds items that only a shutdown flush will release.
// Guarantees: receivers stop, the batch processor flushes, the exporter gets
// every produced item, every message is Acked before Run returns, nothing dropped.
TEST_F(PipelineTest, ShutdownDrainsInFlightData) {
  state_->source_batches = 250;
  state_->report_finished = false;  // runs until shutdown
  ASSERT_OK_AND_ASSIGN(
      auto p, Build(Pipeline("{type: processor:batch, config: {otap: {min_size: 1000000, "
                             "sizer: items}, max_batch_duration: 1h}}",
                             4)));
  std::thread t([&] { ASSERT_OK(p->Run()); });
  std::this_thread::sleep_for(milliseconds(100));
  p->RequestShutdown(Clock::now() + std::chrono::seconds(10));
  t.join();
  const int64_t produced = state_->produced.load();
  ASSERT_EQ(produced, 250);
  EXPECT_EQ(state_->exported_batches.load(), 1);  // one flush, at shutdown
  EXPECT_EQ(state_->exported_items.load(), produced * state_->items_per_batch);
  EXPECT_EQ(static_cast<int64_t>(state_->acked.size()), produced);
  EXPECT_TRUE(state_->nacked.empty());
  EXPECT_FALSE(p->deadline_exceeded());
  EXPECT_EQ(p->metrics_of("mid")->dropped.load(), 0);
}

// Scenario: an exporter that stops intake after each batch until its own timer
// fires (as one waiting for a timed flush), a source producing until shutdown, so
// the exporter's input is queued when the drain starts.
// Guarantees: the drain keeps the exporter's timer running: every produced batch
// is exported and Acked, nothing is dropped, the deadline is not needed.
TEST_F(PipelineTest, DrainKeepsExporterTimersUntilItsInputIsDrained) {
  state_->gate_opens_on_timer = true;
  state_->source_batches = -1;
  state_->report_finished = false;
  ASSERT_OK_AND_ASSIGN(auto p, Build(Pipeline("{type: processor:debug, config: "
                                              "{verbosity: basic, output: /dev/null}}",
                                              4)));
  std::thread t([&] { ASSERT_OK(p->Run()); });
  while (state_->exported_batches.load() < 3)
    std::this_thread::sleep_for(milliseconds(5));
  p->RequestShutdown(Clock::now() + std::chrono::seconds(30));
  t.join();
  EXPECT_FALSE(p->deadline_exceeded());
  EXPECT_EQ(state_->exported_batches.load(), state_->produced.load());
  EXPECT_EQ(static_cast<int64_t>(state_->acked.size()), state_->produced.load());
  EXPECT_TRUE(state_->nacked.empty());
  EXPECT_EQ(p->metrics_of("sink")->dropped.load(), 0);
}

// Scenario: the exporter never accepts data and shutdown has a short deadline.
// Guarantees: at the deadline the pipeline stops anyway; the data still queued is
// dropped, counted, and Nacked back to the receiver (nothing is silently lost).
TEST_F(PipelineTest, DeadlineDropsAndNacksWhatIsLeft) {
  state_->gate_open = false;
  state_->source_batches = -1;
  ASSERT_OK_AND_ASSIGN(auto p, Build(Pipeline("{type: processor:debug, config: "
                                              "{verbosity: basic, output: /dev/null}}",
                                              2)));
  std::thread t([&] { ASSERT_OK(p->Run()); });
  std::this_thread::sleep_for(milliseconds(100));
  p->RequestShutdown(Clock::now() + milliseconds(100));
  t.join();
  EXPECT_TRUE(p->deadline_exceeded());
  EXPECT_TRUE(state_->acked.empty());
  EXPECT_EQ(static_cast<int64_t>(state_->nacked.size()), state_->produced.load());
  EXPECT_GT(p->metrics_of("sink")->dropped.load(), 0);
}

// Scenario: a network-style receiver pushes from its own thread into a pipeline
// whose exporter does not accept data.
// Guarantees: with a non-blocking deadline the push fails with CapacityError
// "RESOURCE_EXHAUSTED" once the channel is full, leaving the message with the
// caller; the refusal is counted.
TEST_F(PipelineTest, ExternalSendReturnsResourceExhaustedWhenFull) {
  state_->gate_open = false;
  state_->external = true;
  const std::string yaml =
      "version: otel_dataflow/v1\n"
      "policies: {channel_capacity: {pdata: 2}}\n"
      "groups:\n  g:\n    pipelines:\n      p:\n        nodes:\n"
      "          src: {type: 'urn:test:receiver:source'}\n"
      "          sink: {type: 'urn:test:exporter:sink'}\n"
      "        connections:\n          - {from: src, to: sink}\n";
  ASSERT_OK_AND_ASSIGN(auto p, Build(yaml));
  std::thread t([&] { ASSERT_OK(p->Run()); });
  while (state_->source_effect == nullptr) std::this_thread::sleep_for(milliseconds(1));
  EffectHandler& effect = *state_->source_effect;
  PData msg(testing::LogsBatch(3, 1));
  ASSERT_OK(effect.SendFromAnyThread(msg, Clock::now()));
  msg = PData(testing::LogsBatch(3, 2));
  ASSERT_OK(effect.SendFromAnyThread(msg, Clock::now()));
  msg = PData(testing::LogsBatch(3, 3));
  EXPECT_RAISES_WITH_MESSAGE_THAT(CapacityError, HasSubstr("RESOURCE_EXHAUSTED"),
                                  effect.SendFromAnyThread(msg, Clock::now()));
  EXPECT_EQ(msg.num_items(), 3);  // still ours
  EXPECT_EQ(p->metrics_of("src")->refused.load(), 1);
  state_->gate_open = true;
  p->RequestShutdown(Clock::now() + std::chrono::seconds(10));
  t.join();
  EXPECT_EQ(state_->exported_items.load(), 6);
}

// Scenario: the engine runs the traffic-generator pipeline with 2 instances.
// Guarantees: two share-nothing instances each produce their max_batches, all of
// it is Acked, and the Prometheus text has both cores.
TEST(EngineTest, RunsOneInstancePerCore) {
  const std::string yaml = R"(version: otel_dataflow/v1
groups:
  default:
    pipelines:
      main:
        nodes:
          gen:
            type: receiver:traffic_generator
            config:
              traffic_config: {signals_per_second: null, max_batch_size: 20, log_weight: 1, trace_weight: 1}
              max_batches: 25
          batch: {type: processor:batch, config: {otap: {min_size: 100, sizer: items}}}
          out: {type: exporter:noop}
        connections:
          - {from: gen, to: batch}
          - {from: batch, to: out}
)";
  ASSERT_OK_AND_ASSIGN(auto config,
                       ParseAndValidate(yaml, "engine.yaml", nodes::BuiltinRegistry()));
  EngineOptions options;
  options.num_cores = 2;
  ASSERT_OK_AND_ASSIGN(auto engine,
                       Engine::Make(config, nodes::BuiltinRegistry(), options));
  ASSERT_EQ(engine->num_instances(), 2u);
  ASSERT_OK(engine->Run());
  EXPECT_EQ(engine->metrics().Sum("gen", &NodeMetrics::sent_batches), 50);
  EXPECT_EQ(engine->metrics().Sum("gen", &NodeMetrics::acked), 50);
  EXPECT_EQ(engine->metrics().Sum("gen", &NodeMetrics::sent_items), 1000);
  EXPECT_EQ(engine->metrics().Sum("out", &NodeMetrics::received_items), 1000);
  const std::string text = engine->metrics().RenderPrometheus();
  EXPECT_THAT(text, HasSubstr("otap_node_acked_total{group=\"default\",pipeline=\"main\","
                              "node=\"gen\",urn=\"urn:otel:receiver:traffic_generator\","
                              "core=\"1\"} 25"));
  EXPECT_THAT(text, HasSubstr("# TYPE otap_node_queue_depth gauge"));
}

}  // namespace
}  // namespace otap_parquet::engine
