// SPDX-License-Identifier: Apache-2.0
#include "otap_parquet/nodes/processors/debug/debug_processor.h"

#include <fstream>
#include <memory>
#include <sstream>
#include <string>
#include <vector>

#include <gmock/gmock.h>

#include "otap_parquet/engine/testing/fake_effect.h"
#include "otap_parquet/engine/testing/test_pipeline.h"
#include "otap_parquet/testing/gtest_util.h"
#include "otap_parquet/testing/temp_dir.h"

namespace otap_parquet::nodes {
namespace {

using ::testing::HasSubstr;
using ::testing::StartsWith;

// A processor's side of the pipeline: keeps what the node sends on.
class RecordingEffect : public fakes::FakeEffect {
 public:
  using FakeEffect::FakeEffect;
  arrow::Status Send(engine::PData msg, std::string_view) override {
    sent.push_back(std::move(msg));
    return arrow::Status::OK();
  }
  bool CanSend(std::string_view) const override { return true; }
  std::vector<engine::PData> sent;
};

std::vector<std::string> Lines(const std::string& path) {
  std::ifstream in(path);
  std::vector<std::string> lines;
  for (std::string line; std::getline(in, line);) lines.push_back(line);
  return lines;
}

class DebugProcessorTest : public ::testing::Test {
 protected:
  // Runs processor:debug with `config` (plus `output: <file>`) over `batches`;
  // returns the lines it wrote, Shutdown's totals line included.
  std::vector<std::string> Run(const std::string& config,
                               std::vector<OtapBatch> batches) {
    const std::string output = dir_.path() + "/debug.txt";
    engine::NodeSettings settings;
    settings.node_id = "dbg";
    settings.group = "g";
    settings.pipeline = "p";
    settings.config_path = "nodes.dbg.config";
    YAML::Node yaml = YAML::Load(config);
    yaml["output"] = output;
    auto node = kDebugProcessorFactory.create(settings, yaml).ValueOrDie();
    auto& processor = dynamic_cast<engine::Processor&>(*node);
    ARROW_CHECK_OK(processor.Start(effect_));
    for (auto& batch : batches) {
      ARROW_CHECK_OK(processor.Process(engine::PData(std::move(batch)), effect_));
    }
    processor.Shutdown(engine::Clock::now(), effect_).Wait();
    return Lines(output);
  }

  otap_parquet::testing::TempDir dir_{"otap_debug_processor"};
  RecordingEffect effect_{"dbg"};
};

// Scenario: verbosity basic over two log batches.
// Guarantees: one count line per batch with a running total, then the totals at
// shutdown; both batches are forwarded unchanged, in order.
TEST_F(DebugProcessorTest, BasicCountsAndForwardsUnchanged) {
  auto lines =
      Run("{verbosity: basic}", {testing::LogsBatch(3, 1), testing::LogsBatch(4, 2)});
  ASSERT_EQ(lines.size(), 3u);
  EXPECT_EQ(lines[0], "debug node=dbg core=0 logs batch #1: 3 log records (total 3)");
  EXPECT_EQ(lines[1], "debug node=dbg core=0 logs batch #2: 4 log records (total 7)");
  EXPECT_THAT(lines[2], HasSubstr("totals: logs=2 batches/7 items"));
  ASSERT_EQ(effect_.sent.size(), 2u);
  EXPECT_EQ(effect_.sent[0].num_items(), 3);
  EXPECT_EQ(effect_.sent[1].num_items(), 4);
}

// Scenario: verbosity detailed.
// Guarantees: the summary line with rows per table, then the batch as OTLP/JSON.
TEST_F(DebugProcessorTest, DetailedAddsTheBatchAsOtlpJson) {
  auto lines = Run("{verbosity: detailed}", {testing::LogsBatch(2, 3)});
  ASSERT_EQ(lines.size(), 3u);
  EXPECT_THAT(lines[0], HasSubstr("logs batch #1: 2 log records in 2 root rows"));
  EXPECT_THAT(lines[1], StartsWith("{\"resourceLogs\":"));
  EXPECT_EQ(effect_.sent.size(), 1u);
}

// Scenario: only metrics are to be printed and log batches pass.
// Guarantees: nothing is printed for them but they are forwarded and counted.
TEST_F(DebugProcessorTest, UnselectedSignalsPassSilently) {
  auto lines = Run("{signals: [metrics]}", {testing::LogsBatch(5, 4)});
  ASSERT_EQ(lines.size(), 1u);
  EXPECT_THAT(lines[0], HasSubstr("totals: logs=1 batches/5 items"));
  EXPECT_EQ(effect_.sent.size(), 1u);
}

// Scenario: an unknown signal name and an unknown verbosity.
// Guarantees: configuration errors naming each key.
TEST_F(DebugProcessorTest, RefusesUnknownSignalsAndVerbosity) {
  config::ConfigErrors errors;
  kDebugProcessorFactory.validate_config(
      YAML::Load("{signals: [events], verbosity: all}"), "nodes.dbg.config", &errors);
  ASSERT_EQ(errors.size(), 2u);
  const std::string message = errors.ToStatus().message();
  EXPECT_THAT(message, HasSubstr("unknown signal \"events\""));
  EXPECT_THAT(message, HasSubstr("verbosity"));
}

// Scenario: mode signal at each verbosity, mode batch.
// Guarantees: signal (upstream: one report per log record, span or metric, at
// normal and detailed verbosity) is refused where it would change the output,
// naming the key; it was accepted and printed per batch. With basic (counts, the
// same in both modes upstream) and batch it validates.
TEST_F(DebugProcessorTest, RefusesSignalModeItDoesNotApply) {
  for (const char* text : {"{mode: signal}", "{mode: signal, verbosity: normal}",
                           "{mode: signal, verbosity: detailed}"}) {
    config::ConfigErrors errors;
    kDebugProcessorFactory.validate_config(YAML::Load(text), "nodes.dbg.config", &errors);
    ASSERT_EQ(errors.size(), 1u) << text;
    EXPECT_THAT(errors.ToStatus().message(),
                HasSubstr("nodes.dbg.config.mode (line 1): \"signal\" (one report per "
                          "log record, span or metric) is not supported yet"))
        << text;
  }
  for (const char* text : {"{mode: signal, verbosity: basic}", "{mode: batch}"}) {
    config::ConfigErrors errors;
    kDebugProcessorFactory.validate_config(YAML::Load(text), "nodes.dbg.config", &errors);
    EXPECT_TRUE(errors.empty()) << text << ": " << errors.ToStatus().message();
  }
}

}  // namespace
}  // namespace otap_parquet::nodes
