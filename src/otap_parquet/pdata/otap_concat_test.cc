// SPDX-License-Identifier: Apache-2.0
#include "otap_parquet/pdata/otap_concat.h"

#include <random>
#include <vector>

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include "otap_parquet/generator/otlp_generator.h"
#include "otap_parquet/otlp/convert.h"
#include "otap_parquet/otlp/equivalence.h"
#include "otap_parquet/testing/gtest_util.h"

namespace otap_parquet {
namespace {

using generator::GeneratorOptions;
using generator::Mode;
using generator::OtlpGenerator;

struct Inputs {
  std::vector<otlp::OtlpRequest> requests;
  std::vector<OtapBatch> batches;
};

// `count` requests of `signal` from one generator, each converted to OTAP.
Inputs Generate(Signal signal, Mode mode, int count, uint64_t seed,
                int items_per_scope = 10) {
  GeneratorOptions options;
  options.seed = seed;
  options.mode = mode;
  options.items_per_scope = items_per_scope;
  options.resources_per_request = 1 + static_cast<int>(seed % 3);
  OtlpGenerator gen(options);
  Inputs in;
  for (int i = 0; i < count; ++i) {
    in.requests.push_back(gen.Next(signal));
    auto batches = otlp::ToOtap(in.requests.back()).ValueOrDie();
    for (auto& b : batches) in.batches.push_back(std::move(b));
  }
  return in;
}

// Checks every output (valid, canonical, within the limits) and that together they
// hold exactly the inputs' telemetry.
void CheckOutputs(const Inputs& in, const std::vector<OtapBatch>& outputs,
                  const ConcatOptions& options) {
  std::vector<otlp::OtlpRequest> actual;
  for (const auto& out : outputs) {
    ASSERT_OK(out.Validate());
    EXPECT_LE(out.num_root_rows(), options.max_root_rows);
    EXPECT_GT(out.num_root_rows(), 0);
    if (options.max_items && out.signal() != Signal::kMetrics) {
      EXPECT_LE(out.num_items(), *options.max_items);
    }
    ASSERT_OK_AND_ASSIGN(auto request, otlp::FromOtap(out));
    actual.push_back(std::move(request));
  }
  ASSERT_OK(otlp::CheckEquivalent(in.requests, actual));
}

class ConcatRandomTest : public ::testing::TestWithParam<Signal> {};

// Scenario: for 20 seeds, 1-6 edge-case requests (every OTLP field, boundary values,
// empty containers, absent vs empty messages) of one signal, converted to OTAP and
// concatenated with no limit, and again with a random max_items.
// Guarantees: one output without limits; every output is a valid canonical batch
// within its limits; the outputs hold exactly the inputs' telemetry (resource and
// scope relations, attributes, events, links, data points, exemplars).
TEST_P(ConcatRandomTest, EquivalentToInputs) {
  const Signal signal = GetParam();
  for (uint64_t seed = 1; seed <= 20; ++seed) {
    SCOPED_TRACE(testing::Message() << SignalName(signal) << " seed " << seed);
    std::mt19937_64 rng(seed);
    const int count = 1 + static_cast<int>(rng() % 6);
    const Inputs in = Generate(signal, Mode::kEdgeCases, count, seed);
    ConcatOptions unlimited;
    ASSERT_OK_AND_ASSIGN(auto merged, ConcatOtapBatches(in.batches, unlimited));
    ASSERT_LE(merged.size(), 1u);
    CheckOutputs(in, merged, unlimited);
    ConcatOptions limited;
    limited.max_items = 1 + static_cast<int64_t>(rng() % 40);
    ASSERT_OK_AND_ASSIGN(auto split, ConcatOtapBatches(in.batches, limited));
    CheckOutputs(in, split, limited);
  }
}

INSTANTIATE_TEST_SUITE_P(AllSignals, ConcatRandomTest,
                         ::testing::Values(Signal::kLogs, Signal::kTraces,
                                           Signal::kMetrics),
                         [](const auto& info) {
                           return std::string(SignalName(info.param));
                         });

// Scenario: three realistic log requests of 1 resource x 2 scopes x 11 000 records
// (66 000 roots, beyond the 65 535 root ids of one batch).
// Guarantees: two valid outputs, the first with exactly 65 535 roots, holding every
// record once with its attributes (exact equivalence at small limits is checked by
// the tests around; here the real limit, with counts only, to stay quick).
TEST(ConcatTest, SplitsAtTheRootIdLimit) {
  const Inputs in = Generate(Signal::kLogs, Mode::kRealistic, 3, 3, 11000);
  ASSERT_EQ(in.batches.size(), 3u);
  ASSERT_OK_AND_ASSIGN(auto outputs, ConcatOtapBatches(in.batches));
  ASSERT_EQ(outputs.size(), 2u);
  EXPECT_EQ(outputs[0].num_root_rows(), 65535);
  EXPECT_EQ(outputs[1].num_root_rows(), 66000 - 65535);
  int64_t attrs_in = 0, attrs_out = 0;
  for (const auto& b : in.batches) attrs_in += b.Get(PayloadType::kLogAttrs)->num_rows();
  for (const auto& out : outputs) {
    ASSERT_OK(out.Validate());
    attrs_out += out.Get(PayloadType::kLogAttrs)->num_rows();
    // The one resource is repeated in both outputs.
    EXPECT_GT(out.Get(PayloadType::kResourceAttrs)->num_rows(), 0);
  }
  EXPECT_EQ(attrs_out, attrs_in);
}

// Scenario: spans split into runs of 7 (max_root_rows) and metrics into runs of
// at most 9 data points.
// Guarantees: every output except the last is full; spans keep their events, links
// and attributes, metrics their data points and exemplars (exact equivalence).
TEST(ConcatTest, SplitsByRootRowsAndItems) {
  const Inputs spans = Generate(Signal::kTraces, Mode::kRealistic, 2, 9, 5);
  ConcatOptions by_rows;
  by_rows.max_root_rows = 7;
  ASSERT_OK_AND_ASSIGN(auto outputs, ConcatOtapBatches(spans.batches, by_rows));
  int64_t total = 0;
  for (const auto& b : spans.batches) total += b.num_root_rows();
  ASSERT_EQ(static_cast<int64_t>(outputs.size()), (total + 6) / 7);
  for (size_t i = 0; i + 1 < outputs.size(); ++i)
    EXPECT_EQ(outputs[i].num_root_rows(), 7);
  CheckOutputs(spans, outputs, by_rows);

  const Inputs metrics = Generate(Signal::kMetrics, Mode::kRealistic, 2, 4, 5);
  ConcatOptions by_items;
  by_items.max_items = 9;  // 4 points per metric: 2 metrics (8 points) per output
  ASSERT_OK_AND_ASSIGN(outputs, ConcatOtapBatches(metrics.batches, by_items));
  for (const auto& out : outputs) EXPECT_LE(out.num_items(), 9);
  EXPECT_EQ(outputs.front().num_items(), 8);
  CheckOutputs(metrics, outputs, by_items);
}

// Scenario: a logs batch with a traces batch; only empty batches; none.
// Guarantees: Invalid naming both signals; no outputs for the others.
TEST(ConcatTest, MixedSignalsAndEmptyInputs) {
  const Inputs logs = Generate(Signal::kLogs, Mode::kRealistic, 1, 1);
  const Inputs traces = Generate(Signal::kTraces, Mode::kRealistic, 1, 1);
  std::vector<OtapBatch> mixed{logs.batches[0], traces.batches[0]};
  auto st = ConcatOtapBatches(mixed).status();
  EXPECT_TRUE(st.IsInvalid());
  EXPECT_THAT(st.message(), ::testing::HasSubstr("logs and traces"));
  std::vector<OtapBatch> empty{OtapBatch(Signal::kLogs), OtapBatch(Signal::kLogs)};
  ASSERT_OK_AND_ASSIGN(auto outputs, ConcatOtapBatches(empty));
  EXPECT_TRUE(outputs.empty());
  ASSERT_OK_AND_ASSIGN(outputs, ConcatOtapBatches({}));
  EXPECT_TRUE(outputs.empty());
  ConcatOptions bad;
  bad.max_root_rows = 65536;
  EXPECT_TRUE(ConcatOtapBatches(logs.batches, bad).status().IsInvalid());
}

}  // namespace
}  // namespace otap_parquet
