// SPDX-License-Identifier: Apache-2.0
#include "otap_parquet/nodes/processors/batch/batch_processor.h"

#include <algorithm>
#include <memory>
#include <optional>
#include <thread>
#include <vector>

#include <arrow/builder.h>

#include "otap_parquet/engine/testing/fake_effect.h"
#include "otap_parquet/engine/testing/test_pipeline.h"
#include "otap_parquet/testing/gtest_util.h"

namespace otap_parquet::nodes {
namespace {

using fakes::TestPipelineYaml;
using std::chrono::milliseconds;

// The pipeline side of a processor:batch without a pipeline: every Send is recorded
// with the calldata the processor subscribed it with, and the test settles each
// output itself (OnAck/OnNack), in the order it chooses.
class RecordingEffect : public fakes::FakeEffect {
 public:
  struct Output {
    engine::PData msg;
    std::optional<uint64_t> calldata;
  };
  arrow::Status Send(engine::PData msg, std::string_view) override {
    outputs.push_back({std::move(msg), subscribed_});
    subscribed_.reset();
    return arrow::Status::OK();
  }
  bool CanSend(std::string_view) const override { return true; }
  void Subscribe(engine::PData&, uint64_t calldata) override { subscribed_ = calldata; }

  std::vector<Output> outputs;

 private:
  std::optional<uint64_t> subscribed_;
};

// A logs input of `items` records whose outcome `outcomes` records as `id`.
engine::PData Input(const std::shared_ptr<fakes::Outcomes>& outcomes, uint64_t id,
                    int items = 10) {
  engine::PData msg(testing::LogsBatch(items, id + 1));
  msg.context.Subscribe(outcomes, engine::AckFrame{0, id});
  return msg;
}

// An input no merge can take: its records' severity_number holds text.
engine::PData PoisonInput(const std::shared_ptr<fakes::Outcomes>& outcomes, uint64_t id) {
  engine::PData msg = Input(outcomes, id);
  auto root = msg.batch.root();
  const int column = root->schema()->GetFieldIndex("severity_number");
  EXPECT_GE(column, 0);
  arrow::StringBuilder text;
  for (int64_t i = 0; i < root->num_rows(); ++i) EXPECT_TRUE(text.Append("loud").ok());
  auto values = text.Finish().ValueOrDie();
  msg.batch.Set(
      RootPayloadType(Signal::kLogs),
      root->SetColumn(column, arrow::field("severity_number", arrow::utf8()), values)
          .ValueOrDie());
  return msg;
}

BatchProcessorConfig SplitConfig(int64_t min_size, int64_t max_size) {
  BatchProcessorConfig config;
  config.otap = {min_size, max_size, "items"};
  config.max_batch_duration = std::chrono::hours(1);
  return config;
}

// processor:batch between the test source and sink (engine/testing/test_pipeline.h).
class BatchProcessorPipelineTest : public fakes::TestPipelineFixture {
 protected:
  void SetUp() override {
    fakes::TestPipelineFixture::SetUp();
    ASSERT_OK(registry_.Register(kBatchProcessorFactory));
  }
};

// Scenario: 50 batches of 10 log records go through processor:batch, which merges
// them to >= 100 items and splits above 150, into an exporter that Acks.
// Guarantees: each input is Acked exactly once at the receiver after the merged
// outputs are Acked; all items arrive; the pipeline ends by itself.
TEST_F(BatchProcessorPipelineTest, AcksFlowThroughBatchProcessorToReceiver) {
  ASSERT_OK_AND_ASSIGN(
      auto p,
      Build(TestPipelineYaml("{type: processor:batch, config: {otap: {min_size: 100, "
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
// Guarantees: max_batch_duration flushes them on timer ticks, before any
// shutdown, and the inputs are Acked. (Usually in one flush; a pipeline thread
// stalled for 50 ms between two source batches on a busy machine splits it, so the
// flushes are not counted: the test once expected exactly one.)
TEST_F(BatchProcessorPipelineTest, BatchProcessorFlushesOnTimer) {
  state_->source_batches = 5;
  state_->report_finished = false;
  ASSERT_OK_AND_ASSIGN(
      auto p,
      Build(TestPipelineYaml("{type: processor:batch, config: {otap: {min_size: 1000, "
                             "sizer: items}, max_batch_duration: 50ms}}",
                             4)));
  std::thread t([&] { ASSERT_OK(p->Run()); });
  const auto limit = engine::Clock::now() + std::chrono::seconds(30);
  while (state_->exported_items.load() < 50 && engine::Clock::now() < limit) {
    std::this_thread::sleep_for(milliseconds(5));
  }
  EXPECT_GE(state_->exported_batches.load(), 1);
  EXPECT_EQ(state_->exported_items.load(), 50);
  p->RequestShutdown(engine::Clock::now() + std::chrono::seconds(10));
  t.join();
  EXPECT_EQ(state_->acked.size(), 5u);
}

// Scenario: the exporter Nacks every merged batch ("disk full").
// Guarantees: every input of every merged batch is Nacked at the receiver, with
// the exporter's reason; none is Acked.
TEST_F(BatchProcessorPipelineTest, NacksFlowThroughBatchProcessorToReceiver) {
  state_->nack_all = true;
  ASSERT_OK_AND_ASSIGN(
      auto p,
      Build(TestPipelineYaml("{type: processor:batch, config: {otap: {min_size: 100, "
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
TEST_F(BatchProcessorPipelineTest, BatchProcessorNackOfOneSplitOutputNacksItsInputsOnly) {
  state_->nack_export = 1;
  ASSERT_OK_AND_ASSIGN(
      auto p,
      Build(TestPipelineYaml("{type: processor:batch, config: {otap: {min_size: 25, "
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

// Scenario: shutdown is requested while data is in flight and the batch
// processor holds items that only a shutdown flush will release.
// Guarantees: receivers stop, the batch processor flushes, the exporter gets
// every produced item, every message is Acked before Run returns, nothing dropped.
TEST_F(BatchProcessorPipelineTest, ShutdownDrainsInFlightData) {
  state_->source_batches = 250;
  state_->report_finished = false;  // runs until shutdown
  ASSERT_OK_AND_ASSIGN(
      auto p,
      Build(TestPipelineYaml("{type: processor:batch, config: {otap: {min_size: 1000000, "
                             "sizer: items}, max_batch_duration: 1h}}",
                             4)));
  std::thread t([&] { ASSERT_OK(p->Run()); });
  // Shutdown once the source has produced everything: a fixed 100 ms sleep left a
  // busy (or ASan) run short of 250 when the receivers were stopped.
  const auto limit = engine::Clock::now() + std::chrono::seconds(30);
  while (state_->produced.load() < 250 && engine::Clock::now() < limit) {
    std::this_thread::sleep_for(milliseconds(5));
  }
  p->RequestShutdown(engine::Clock::now() + std::chrono::seconds(10));
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

// Scenario: processor:batch with inbound_request_limit 4 holds inputs for a
// min_size it never reaches (no timer); the source sends 10 batches.
// Guarantees: the limit pauses intake (backpressure) and flushes the pending
// inputs that fill it, instead of Nacking the inputs beyond it: all 10 are
// exported and Acked, none refused.
TEST_F(BatchProcessorPipelineTest, InboundLimitPausesIntakeInsteadOfNacking) {
  state_->source_batches = 10;
  ASSERT_OK_AND_ASSIGN(
      auto p,
      Build(TestPipelineYaml("{type: processor:batch, config: {otap: {min_size: 1000, "
                             "sizer: items}, max_batch_duration: 1h, "
                             "inbound_request_limit: 4}}",
                             4)));
  RunToEnd(*p);
  EXPECT_TRUE(state_->nacked.empty());
  EXPECT_EQ(state_->acked.size(), 10u);
  EXPECT_EQ(state_->exported_items.load(), 100);
  auto mid = p->metrics_of("mid");
  EXPECT_EQ(mid->refused.load(), 0);
  EXPECT_EQ(mid->extra("batch_flushes", "limit"), 2);     // 4 + 4
  EXPECT_EQ(mid->extra("batch_flushes", "shutdown"), 1);  // the last 2
}

// Scenario: processor:batch (min = max = 25 items) merges the source's 3 inputs of
// 10 items into 25 + 5 items, with outbound_request_limit 1.
// Guarantees: the flush goes out although its 2 outputs exceed the limit (it was
// refused, and so on every retry of the source: never delivered); the 3 inputs are
// Acked; the flush is counted as one, split, and nothing as refused.
TEST_F(BatchProcessorPipelineTest, FlushOfMoreOutputsThanTheOutboundLimitIsDelivered) {
  state_->source_batches = 3;
  ASSERT_OK_AND_ASSIGN(
      auto p,
      Build(TestPipelineYaml("{type: processor:batch, config: {otap: {min_size: 25, "
                             "max_size: 25, sizer: items}, outbound_request_limit: 1}}",
                             4)));
  RunToEnd(*p);
  EXPECT_TRUE(state_->nacked.empty());
  EXPECT_EQ(state_->acked.size(), 3u);
  EXPECT_EQ(state_->exported_batches.load(), 2);
  EXPECT_EQ(state_->exported_items.load(), 30);
  auto mid = p->metrics_of("mid");
  EXPECT_EQ(mid->refused.load(), 0);
  EXPECT_EQ(mid->extra("batch_flushes", "size"), 1);
  EXPECT_EQ(mid->extra("batch_inputs_flushed"), 3);
  EXPECT_EQ(mid->extra("batch_split_flushes"), 1);
}

// Scenario: processor:batch merges every 2 inputs (min_size 20) into one output,
// with outbound_request_limit 2, in front of an exporter that accepts nothing yet;
// the source sends 6 inputs, then the exporter opens.
// Guarantees: after 2 outputs in flight the processor stops taking input (its
// channel holds the last 2 inputs: backpressure) instead of Nacking the inputs of a
// third flush; once the exporter takes data all 6 inputs are Acked, none refused.
TEST_F(BatchProcessorPipelineTest, OutboundLimitIsBackpressureNotNacks) {
  state_->source_batches = 6;
  state_->gate_open = false;
  ASSERT_OK_AND_ASSIGN(
      auto p,
      Build(TestPipelineYaml("{type: processor:batch, config: {otap: {min_size: 20, "
                             "sizer: items}, max_batch_duration: 1h, "
                             "outbound_request_limit: 2}}",
                             4)));
  std::thread t([&] { ASSERT_OK(p->Run()); });
  auto mid = p->metrics_of("mid");
  // Either the processor took all 6 inputs (and, before the fix, refused the third
  // flush) or it paused with 2 in its channel; the exporter has taken nothing.
  const auto limit = engine::Clock::now() + std::chrono::seconds(20);
  while (!(mid->received_batches.load() == 6 ||
           (mid->received_batches.load() == 4 && mid->queue_depth.load() == 2)) &&
         engine::Clock::now() < limit) {
    std::this_thread::sleep_for(milliseconds(1));
  }
  EXPECT_EQ(mid->received_batches.load(), 4);
  EXPECT_EQ(mid->refused.load(), 0);
  state_->gate_open = true;
  t.join();  // the source has finished: the pipeline drains and ends by itself
  EXPECT_TRUE(state_->nacked.empty());
  EXPECT_EQ(state_->acked.size(), 6u);
  EXPECT_EQ(state_->exported_items.load(), 60);
  EXPECT_EQ(mid->refused.load(), 0);
  EXPECT_FALSE(p->deadline_exceeded());
}

// Scenario: the exporter never accepts data; processor:batch holds pending inputs
// (min_size out of reach, no timer) behind a merged flush stuck in its outbox, the
// source produces until it is blocked; shutdown with a short deadline.
// Guarantees: at the deadline every input the source produced is answered exactly
// once, with a retryable Nack: the pending ones (flushed by the forced shutdown),
// the merged ones in the processor's outbox and the ones queued in its channel.
TEST_F(BatchProcessorPipelineTest, DeadlineAnswersEveryInputOfTheProcessorOnce) {
  state_->gate_open = false;
  state_->source_batches = -1;
  ASSERT_OK_AND_ASSIGN(
      auto p,
      Build(TestPipelineYaml("{type: processor:batch, config: {otap: {min_size: 100000, "
                             "sizer: items}, max_batch_duration: 1h, "
                             "inbound_request_limit: 8}}",
                             2)));
  std::thread t([&] { ASSERT_OK(p->Run()); });
  while (p->metrics_of("src")->send_blocked.load() == 0) {
    std::this_thread::sleep_for(milliseconds(1));
  }
  p->RequestShutdown(engine::Clock::now() + milliseconds(100));
  t.join();
  EXPECT_TRUE(p->deadline_exceeded());
  EXPECT_TRUE(state_->acked.empty());
  auto nacked = state_->nacked;
  std::sort(nacked.begin(), nacked.end());
  ASSERT_EQ(static_cast<int64_t>(nacked.size()), state_->produced.load());
  for (size_t i = 0; i < nacked.size(); ++i) EXPECT_EQ(nacked[i], i);
  EXPECT_EQ(p->metrics_of("src")->nacked_retryable.load(), state_->produced.load());
  auto batch = dynamic_cast<BatchProcessor*>(p->FindNode("mid"));
  ASSERT_NE(batch, nullptr);
  EXPECT_EQ(batch->inbound_in_flight(), 0u);
  EXPECT_EQ(batch->outbound_in_flight(), 0u);
}

// Scenario: processor:batch declares two output ports and no default_output, so
// its sends on the default port fail; its merge of 3 inputs splits into 2 outputs.
// Guarantees: every input is still Nacked (permanently, with the port error) exactly
// once: a failed send of the first output does not leave the second unsent and the
// inputs waiting forever.
TEST_F(BatchProcessorPipelineTest, FailedSendStillSettlesEveryInput) {
  state_->source_batches = 3;
  const std::string yaml =
      "version: otel_dataflow/v1\n"
      "groups:\n  g:\n    pipelines:\n      p:\n        nodes:\n"
      "          src: {type: 'urn:test:receiver:source'}\n"
      "          mid: {type: processor:batch, outputs: [a, b], config: {otap: "
      "{min_size: 25, max_size: 25, sizer: items}}}\n"
      "          sink: {type: 'urn:test:exporter:sink'}\n"
      "        connections:\n"
      "          - {from: src, to: mid}\n"
      "          - {from: 'mid[\"a\"]', to: sink}\n"
      "          - {from: 'mid[\"b\"]', to: sink}\n";
  ASSERT_OK_AND_ASSIGN(auto p, Build(yaml));
  RunToEnd(*p);
  EXPECT_EQ(state_->exported_batches.load(), 0);
  EXPECT_TRUE(state_->acked.empty());
  auto nacked = state_->nacked;
  std::sort(nacked.begin(), nacked.end());
  EXPECT_EQ(nacked, (std::vector<uint64_t>{0, 1, 2}));
  for (const auto& reason : state_->nack_reasons) {
    EXPECT_THAT(reason, ::testing::HasSubstr("no connected output port"));
  }
}

// Scenario: 3 inputs of 10 records merge into 25 + 5 (min = max = 25); the
// exporter refuses the first output for good and the second for now (either order).
// Guarantees: each input is Nacked once, retryable: a permanent Nack would make
// the source give up the part that only failed for now (a retry re-sends the
// refused part too, which is refused again, and only then does the input fail for
// good).
TEST(BatchProcessorTest, RetryableNackOfOnePartKeepsTheInputsRetryable) {
  for (const bool permanent_first : {true, false}) {
    SCOPED_TRACE(permanent_first ? "permanent first" : "retryable first");
    ASSERT_OK_AND_ASSIGN(auto batch, BatchProcessor::Create(SplitConfig(25, 25)));
    RecordingEffect effect;
    auto outcomes = std::make_shared<fakes::Outcomes>();
    for (uint64_t id = 0; id < 3; ++id)
      ASSERT_OK(batch->Process(Input(outcomes, id), effect));
    ASSERT_EQ(effect.outputs.size(), 2u);
    const engine::NackInfo bad{"bad data", true}, full{"disk full", false};
    batch->OnNack(*effect.outputs[0].calldata, permanent_first ? bad : full, {}, effect);
    EXPECT_EQ(outcomes->settled(), 0u);
    batch->OnNack(*effect.outputs[1].calldata, permanent_first ? full : bad, {}, effect);
    auto nacked = outcomes->nacked;
    std::sort(nacked.begin(), nacked.end());
    EXPECT_EQ(nacked, (std::vector<uint64_t>{0, 1, 2}));
    for (const auto& nack : outcomes->nacks) {
      EXPECT_FALSE(nack.permanent);
      EXPECT_EQ(nack.reason, "disk full");
    }
    EXPECT_EQ(batch->inbound_in_flight(), 0u);
    EXPECT_EQ(batch->outbound_in_flight(), 0u);
  }
}

// Scenario: outbound_request_limit 1; 3 inputs of 10 records merge into 25 + 5
// (min = max = 25), more outputs than the limit, with nothing else in flight.
// Guarantees: the flush goes out (a limit the flush alone exceeds used to refuse it
// on every retry of the source: never delivered), and intake pauses
// (AcceptsPdata) until its outputs are settled; the inputs are Acked once both
// outputs are, and nothing is counted as refused.
TEST(BatchProcessorTest, OutboundLimitPausesIntakeInsteadOfRefusingFlushes) {
  BatchProcessorConfig config = SplitConfig(25, 25);
  config.outbound_request_limit = 1;
  ASSERT_OK_AND_ASSIGN(auto batch, BatchProcessor::Create(config));
  RecordingEffect effect;
  auto outcomes = std::make_shared<fakes::Outcomes>();
  for (uint64_t id = 0; id < 3; ++id) {
    ASSERT_TRUE(batch->AcceptsPdata());
    ASSERT_OK(batch->Process(Input(outcomes, id), effect));
  }
  ASSERT_EQ(effect.outputs.size(), 2u);
  EXPECT_EQ(outcomes->settled(), 0u);
  EXPECT_FALSE(batch->AcceptsPdata());  // 2 outputs in flight, limit 1
  batch->OnAck(*effect.outputs[0].calldata, {}, effect);
  EXPECT_FALSE(batch->AcceptsPdata());
  EXPECT_EQ(outcomes->settled(), 0u);
  batch->OnAck(*effect.outputs[1].calldata, {}, effect);
  EXPECT_TRUE(batch->AcceptsPdata());
  auto acked = outcomes->acked;
  std::sort(acked.begin(), acked.end());
  EXPECT_EQ(acked, (std::vector<uint64_t>{0, 1, 2}));
  EXPECT_EQ(effect.metrics().refused.load(), 0);
}

// Scenario: 3 inputs of 10 records, the second one unmergeable (a column of the
// wrong type), reach min_size 30 together; the exporter refuses the bad one for good
// and Acks the others.
// Guarantees: the failed merge does not refuse the good inputs with it (it used to
// Nack all three permanently): each input then goes on by itself (unchanged, as it
// needs no split), so the good ones are Acked and only the bad one is Nacked,
// permanently, once; the merge error is reported.
TEST(BatchProcessorTest, FailedMergeRefusesOnlyTheInputThatCannotBeMerged) {
  ASSERT_OK_AND_ASSIGN(auto batch, BatchProcessor::Create(SplitConfig(30, 30)));
  RecordingEffect effect;
  auto outcomes = std::make_shared<fakes::Outcomes>();
  ASSERT_OK(batch->Process(Input(outcomes, 0), effect));
  ASSERT_OK(batch->Process(PoisonInput(outcomes, 1), effect));
  EXPECT_FALSE(batch->Process(Input(outcomes, 2), effect).ok());
  EXPECT_EQ(outcomes->settled(), 0u);
  int64_t good_items = 0;
  for (auto& out : effect.outputs) {
    const bool bad =
        out.msg.batch.root()->GetColumnByName("severity_number")->type_id() ==
        arrow::Type::STRING;
    if (!bad) good_items += out.msg.num_items();
    const engine::NackInfo refused{"bad data", true};
    if (out.calldata) {
      bad ? batch->OnNack(*out.calldata, refused, {}, effect)
          : batch->OnAck(*out.calldata, {}, effect);
    }
    bad ? out.msg.context.Nack(refused) : out.msg.context.Ack();
  }
  EXPECT_EQ(good_items, 20);
  auto acked = outcomes->acked;
  std::sort(acked.begin(), acked.end());
  EXPECT_EQ(acked, (std::vector<uint64_t>{0, 2}));
  ASSERT_EQ(outcomes->nacked, (std::vector<uint64_t>{1}));
  EXPECT_TRUE(outcomes->nacks[0].permanent);
  EXPECT_EQ(batch->inbound_in_flight(), 0u);
}

}  // namespace
}  // namespace otap_parquet::nodes
