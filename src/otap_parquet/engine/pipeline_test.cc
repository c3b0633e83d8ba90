// SPDX-License-Identifier: Apache-2.0
#include "otap_parquet/engine/pipeline.h"

#include <atomic>
#include <mutex>
#include <thread>

#include <arrow/util/logging.h>
#include <spdlog/sinks/ostream_sink.h>
#include <sstream>
#include "otap_parquet/engine/engine.h"
#include "otap_parquet/engine/testing/test_pipeline.h"
#include "otap_parquet/generator/otlp_generator.h"
#include "otap_parquet/generator/test_batches.h"
#include "otap_parquet/otlp/convert.h"
#include "otap_parquet/testing/gtest_util.h"

namespace otap_parquet::engine {
namespace {

using fakes::TestPipelineYaml;
using std::chrono::milliseconds;
using ::testing::HasSubstr;

// The test nodes (engine/testing/test_pipeline.h) with a forwarding processor in
// the middle; the node tests (e.g. processor:batch's) use the same fixture.
class PipelineTest : public fakes::TestPipelineFixture {
 protected:
  // A closed sink gate and an endless source: runs `p` until data is queued (a
  // fixed sleep could end with none produced on a busy machine, and then nothing is
  // dropped), then shuts it down with a 100 ms deadline that cuts the drain short.
  void RunUntilTheDeadlineDrops(PipelineInstance& p) {
    std::thread t([&] { ASSERT_OK(p.Run()); });
    while (p.metrics_of("src")->send_blocked.load() == 0) {
      std::this_thread::sleep_for(milliseconds(1));
    }
    p.RequestShutdown(Clock::now() + milliseconds(100));
    t.join();
  }
};

// Scenario: the exporter completes each message later, from another thread.
// Guarantees: the completions reach the receiver through the forwarding processor; the
// pipeline waits for none of them (they are dispatched as they come) and ends when the
// source finishes.
TEST_F(PipelineTest, AsyncAcksFromAnotherThreadReachTheReceiver) {
  state_->async_ack = true;
  state_->source_batches = 20;
  ASSERT_OK_AND_ASSIGN(
      auto p, Build(TestPipelineYaml("{type: 'urn:test:processor:forward'}", 2)));
  RunToEnd(*p);
  // Acks completed after Run() returned are delivered when the pipeline is
  // destroyed; the ones that arrived in time are all Acks.
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
  ASSERT_OK_AND_ASSIGN(
      auto p, Build(TestPipelineYaml("{type: 'urn:test:processor:forward'}", 2)));
  std::thread t([&] { ASSERT_OK(p->Run()); });
  std::this_thread::sleep_for(milliseconds(300));
  const int64_t blocked_at = state_->produced.load();
  // 2 (sink input) + 1 (forward outbox) + 2 (forward input) + 1 (source outbox).
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

// Scenario: an exporter that stops intake after each batch until its own timer
// fires (as one waiting for a timed flush), a source producing until shutdown, so
// the exporter's input is queued when the drain starts.
// Guarantees: the drain keeps the exporter's timer running: every produced batch
// is exported and Acked, nothing is dropped, the deadline is not needed.
TEST_F(PipelineTest, DrainKeepsExporterTimersUntilItsInputIsDrained) {
  state_->gate_opens_on_timer = true;
  state_->source_batches = -1;
  state_->report_finished = false;
  ASSERT_OK_AND_ASSIGN(
      auto p, Build(TestPipelineYaml("{type: 'urn:test:processor:forward'}", 4)));
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
  ASSERT_OK_AND_ASSIGN(
      auto p, Build(TestPipelineYaml("{type: 'urn:test:processor:forward'}", 2)));
  RunUntilTheDeadlineDrops(*p);
  EXPECT_TRUE(p->deadline_exceeded());
  EXPECT_TRUE(state_->acked.empty());
  EXPECT_EQ(static_cast<int64_t>(state_->nacked.size()), state_->produced.load());
  EXPECT_GT(p->metrics_of("sink")->dropped.load(), 0);
}

// Scenario: as above, the exporter never accepts data and the deadline is short.
// Guarantees: what the deadline drops is reported as undelivered (so `otap-parquet
// run` exits 3 with an "undelivered" line instead of "Pipeline run successfully"),
// per node, with the same batch count as the dropped metrics and its items.
TEST_F(PipelineTest, DeadlineDropsAreReportedAsUndelivered) {
  state_->gate_open = false;
  state_->source_batches = -1;
  auto log = std::make_shared<std::ostringstream>();
  auto logger = std::make_shared<spdlog::logger>(
      "deadline", std::make_shared<spdlog::sinks::ostream_sink_mt>(*log));
  ASSERT_OK_AND_ASSIGN(
      auto p, Build(TestPipelineYaml("{type: 'urn:test:processor:forward'}", 2), logger));
  RunUntilTheDeadlineDrops(*p);
  ASSERT_TRUE(p->deadline_exceeded());
  // The sink never drains its input, so it (at least) is named as unfinished.
  logger->flush();
  EXPECT_THAT(log->str(), ::testing::MatchesRegex(
                              "(.|\n)*deadline_exceeded.*unfinished=[a-z,]*sink(.|\n)*"));
  int64_t dropped = 0;
  for (const char* id : {"src", "mid", "sink"}) dropped += p->metrics_of(id)->dropped;
  ASSERT_GT(dropped, 0);
  int64_t batches = 0, items = 0;
  for (const auto& u : p->undelivered()) {
    EXPECT_EQ(u.how, "dropped at the shutdown deadline");
    EXPECT_EQ(u.batches, p->metrics_of(u.node)->dropped.load()) << u.node;
    batches += u.batches;
    items += u.items;
  }
  EXPECT_EQ(batches, dropped);
  EXPECT_EQ(items, dropped * state_->items_per_batch);
  // The metrics written at exit show the emptied channels.
  for (const char* id : {"mid", "sink"}) EXPECT_EQ(p->metrics_of(id)->queue_depth, 0);
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

// Scenario: the exporter still holds the contexts of its 3 batches when the
// shutdown deadline stops the pipeline (requests in flight), and settles them (Ack)
// from its own thread when it is destroyed, using its EffectHandler.
// Guarantees: the late outcomes are not dropped: destroying the pipeline delivers
// them to the receiver (through the forwarding processor), so a client waiting
// there gets the real answer; the nodes' handles outlive the nodes (the old order
// destroyed each node's EffectHandler first: a use-after-free under ASan).
TEST_F(PipelineTest, OutcomesSettledWhileTheNodesAreDestroyedReachTheReceiver) {
  state_->settle_on_destruction = true;
  state_->source_batches = 3;
  state_->report_finished = false;
  ASSERT_OK_AND_ASSIGN(
      auto p, Build(TestPipelineYaml("{type: 'urn:test:processor:forward'}", 4)));
  std::thread t([&] { ASSERT_OK(p->Run()); });
  while (state_->exported_batches.load() < 3) {
    std::this_thread::sleep_for(milliseconds(1));
  }
  p->RequestShutdown(Clock::now() + milliseconds(50));
  t.join();
  EXPECT_TRUE(p->deadline_exceeded());
  EXPECT_TRUE(state_->acked.empty());
  p.reset();
  std::sort(state_->acked.begin(), state_->acked.end());
  EXPECT_EQ(state_->acked, (std::vector<uint64_t>{0, 1, 2}));
  EXPECT_TRUE(state_->nacked.empty());
}

// An exporter that never takes data (a peer that is down, at max_in_flight).
class StuckSink : public Exporter {
 public:
  bool AcceptsPdata() const override { return false; }
  arrow::Status Export(PData msg, EffectHandler&) override {
    msg.context.Nack({"stuck sink took data", true});  // never called
    return arrow::Status::OK();
  }
};

// Scenario: one_of fan-out from the source to two exporters, one of which never
// takes data; channels of capacity 2; the source sends 20 batches.
// Guarantees: the stuck exporter's full channel does not hold up the other: once it
// holds its 2, every other batch goes to the exporter that takes data (18 exported
// and Acked before any shutdown; the whole pipeline used to wait for the stuck one);
// at the shutdown deadline the 2 stuck batches are Nacked: each batch answered once.
TEST_F(PipelineTest, OneOfFanOutPassesAFullDestinationBy) {
  ASSERT_OK(registry_.Register({.urn = "urn:test:exporter:stuck",
                                .kind = NodeKind::kExporter,
                                .description = "never takes data",
                                .validate_config = &NoConfig,
                                .create = [](const NodeSettings&, const YAML::Node&)
                                    -> arrow::Result<std::unique_ptr<Node>> {
                                  return std::make_unique<StuckSink>();
                                }}));
  state_->source_batches = 20;
  state_->report_finished = false;
  const std::string yaml =
      "version: otel_dataflow/v1\n"
      "policies: {channel_capacity: {pdata: 2}}\n"
      "groups:\n  g:\n    pipelines:\n      p:\n        nodes:\n"
      "          src: {type: 'urn:test:receiver:source'}\n"
      "          sink: {type: 'urn:test:exporter:sink'}\n"
      "          stuck: {type: 'urn:test:exporter:stuck'}\n"
      "        connections:\n"
      "          - {from: src, to: [stuck, sink], policies: {dispatch: one_of}}\n";
  ASSERT_OK_AND_ASSIGN(auto p, Build(yaml));
  std::thread t([&] { ASSERT_OK(p->Run()); });
  const auto limit = Clock::now() + std::chrono::seconds(20);
  while (state_->exported_batches.load() < 18 && Clock::now() < limit) {
    std::this_thread::sleep_for(milliseconds(1));
  }
  EXPECT_EQ(state_->exported_batches.load(), 18);
  EXPECT_EQ(state_->produced.load(), 20);
  p->RequestShutdown(Clock::now() + milliseconds(100));
  t.join();
  EXPECT_EQ(state_->exported_batches.load(), 18);
  EXPECT_EQ(state_->acked.size(), 18u);
  EXPECT_EQ(state_->nacked.size(), 2u);
  auto all = state_->acked;
  all.insert(all.end(), state_->nacked.begin(), state_->nacked.end());
  std::sort(all.begin(), all.end());
  ASSERT_EQ(all.size(), 20u);
  for (uint64_t i = 0; i < 20; ++i) EXPECT_EQ(all[i], i);
  EXPECT_EQ(p->metrics_of("stuck")->dropped.load(), 2);
}

// Scenario: a config with an unknown node type and a connection to a missing node.
// Guarantees: the refusal names the file first, then each error with its node's
// YAML path and line.
TEST(ParseAndValidateTest, ErrorsNameTheFileTheNodeAndTheKey) {
  fakes::TestState state;
  Registry registry;
  ASSERT_OK(fakes::RegisterTestNodes(registry, &state));
  const std::string yaml =
      "version: otel_dataflow/v1\n"
      "groups:\n  g:\n    pipelines:\n      p:\n        nodes:\n"
      "          src: {type: 'urn:test:receiver:source'}\n"
      "          sink: {type: 'urn:test:exporter:nope'}\n"
      "        connections:\n          - {from: src, to: [sink, nowhere]}\n";
  auto config = ParseAndValidate(yaml, "configs/bad.yaml", registry);
  ASSERT_FALSE(config.ok());
  const std::string message = config.status().message();
  EXPECT_THAT(message, ::testing::StartsWith("configs/bad.yaml: invalid configuration"));
  EXPECT_THAT(message, HasSubstr("g.pipelines.p.nodes.sink"));
  EXPECT_THAT(message, HasSubstr("unknown node \"nowhere\""));
}

}  // namespace
}  // namespace otap_parquet::engine
