// SPDX-License-Identifier: Apache-2.0
#include "otap_parquet/nodes/exporters/noop/noop_exporter.h"

#include <memory>

#include "otap_parquet/engine/testing/fake_effect.h"
#include "otap_parquet/engine/testing/test_pipeline.h"
#include "otap_parquet/testing/gtest_util.h"

namespace otap_parquet::nodes {
namespace {

// Scenario: three batches of each signal reach exporter:noop.
// Guarantees: each is Acked (never Nacked) as soon as it is exported, and nothing
// else happens to it.
TEST(NoopExporterTest, AcksEveryBatch) {
  ASSERT_OK_AND_ASSIGN(auto node, kNoopExporterFactory.create({}, YAML::Node()));
  auto* exporter = dynamic_cast<engine::Exporter*>(node.get());
  ASSERT_NE(exporter, nullptr);
  fakes::FakeEffect effect("noop");
  auto outcomes = std::make_shared<fakes::Outcomes>();
  for (uint64_t i = 0; i < 3; ++i) {
    engine::PData msg(testing::LogsBatch(4, i));
    msg.context.Subscribe(outcomes, {0, i});
    ASSERT_OK(exporter->Export(std::move(msg), effect));
    EXPECT_EQ(outcomes->acked_count(), i + 1);
  }
  EXPECT_EQ(outcomes->acked, (std::vector<uint64_t>{0, 1, 2}));
  EXPECT_TRUE(outcomes->nacked.empty());
}

// Scenario: exporter:noop is given a config.
// Guarantees: the config is refused (the node has no settings), an empty one is not.
TEST(NoopExporterTest, HasNoConfig) {
  config::ConfigErrors errors;
  kNoopExporterFactory.validate_config(YAML::Load("{}"), "nodes.out.config", &errors);
  EXPECT_TRUE(errors.empty());
  kNoopExporterFactory.validate_config(YAML::Load("{verbosity: basic}"),
                                       "nodes.out.config", &errors);
  EXPECT_EQ(errors.size(), 1u);
}

}  // namespace
}  // namespace otap_parquet::nodes
