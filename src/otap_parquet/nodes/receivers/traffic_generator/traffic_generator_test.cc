// SPDX-License-Identifier: Apache-2.0
#include "otap_parquet/nodes/receivers/traffic_generator/traffic_generator.h"

#include "otap_parquet/nodes/common/batch_text.h"
#include "otap_parquet/testing/gtest_util.h"

namespace otap_parquet::nodes {
namespace {

TrafficGeneratorConfig Config(const std::string& yaml) {
  return config::ParseTyped<TrafficGeneratorConfig>(YAML::Load(yaml), "gen.config")
      .ValueOrDie();
}

std::vector<std::string> Drain(TrafficSource& source, int limit = 1000) {
  std::vector<std::string> out;
  for (int i = 0; i < limit; ++i) {
    auto next = source.Next();
    EXPECT_OK(next.status());
    if (!next.ok() || !next->has_value()) break;
    out.push_back(BatchToOtlpJson(**next).ValueOrDie());
  }
  return out;
}

// Scenario: two generators with the same config and instance index, and one with
// another seed.
// Guarantees: the same config gives the same batches, byte for byte; a different
// seed gives different data.
TEST(NodeTrafficGeneratorTest, IsDeterministic) {
  const auto config = Config(
      "traffic_config: {max_batch_size: 25, log_weight: 2, trace_weight: 1, "
      "metric_weight: 1}\nmax_batches: 12\nseed: 5\n");
  TrafficSource a(config, 0), b(config, 0), other_core(config, 1);
  const auto batches = Drain(a);
  ASSERT_EQ(batches.size(), 12u);
  EXPECT_EQ(batches, Drain(b));
  EXPECT_NE(batches, Drain(other_core));
}

// Scenario: weights 3:1:0 and a max_signal_count that is not a multiple of the
// batch size.
// Guarantees: signals follow the weights exactly (smooth weighted round robin);
// the last batch is cut so that exactly max_signal_count items are produced.
TEST(NodeTrafficGeneratorTest, HonoursWeightsAndCount) {
  const auto config = Config(
      "traffic_config: {max_batch_size: 10, log_weight: 3, trace_weight: 1, "
      "max_signal_count: 395}\n");
  TrafficSource source(config, 0);
  int counts[3] = {0, 0, 0};
  int64_t items = 0;
  while (true) {
    ASSERT_OK_AND_ASSIGN(auto next, source.Next());
    if (!next) break;
    counts[static_cast<int>(next->signal())]++;
    items += next->num_items();
    ASSERT_OK(next->Validate());
  }
  EXPECT_EQ(items, 395);
  EXPECT_EQ(counts[0], 30);  // logs
  EXPECT_EQ(counts[1], 10);  // traces
  EXPECT_EQ(counts[2], 0);   // metrics
  EXPECT_EQ(source.items_produced(), 395);
}

// Scenario: pre_generated strategy.
// Guarantees: after 16 batches per signal it cycles (batch 17 equals batch 1).
TEST(NodeTrafficGeneratorTest, PreGeneratedCycles) {
  const auto config = Config(
      "traffic_config: {max_batch_size: 5, log_weight: 1}\ngeneration_strategy: "
      "pre_generated\nmax_batches: 17\n");
  TrafficSource source(config, 0);
  const auto batches = Drain(source);
  ASSERT_EQ(batches.size(), 17u);
  EXPECT_EQ(batches[16], batches[0]);
  EXPECT_NE(batches[1], batches[0]);
}

// Scenario: signals_per_second given as null, as a number, and omitted.
// Guarantees: null means uncapped, omitted means upstream's default of 30.
TEST(NodeTrafficGeneratorTest, RateNullMeansUncapped) {
  EXPECT_FALSE(Config("traffic_config: {log_weight: 1, signals_per_second: null}\n")
                   .signals_per_second.has_value());
  EXPECT_EQ(Config("traffic_config: {log_weight: 1, signals_per_second: 500}\n")
                .signals_per_second,
            500.0);
  EXPECT_EQ(Config("traffic_config: {log_weight: 1}\n").signals_per_second, 30.0);
}

}  // namespace
}  // namespace otap_parquet::nodes
