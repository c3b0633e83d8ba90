// SPDX-License-Identifier: Apache-2.0
// processor:batch's merge: native OTAP concatenation (ConcatOtapBatches) against the
// OTAP → OTLP → merge → OTAP round trip it replaced, on the same inputs in the same
// run. Inputs: 64 batches of 128 items (a traffic generator's or an OTLP client's
// small requests), merged into one batch of 8192 items (the default otap.min_size).

#include <benchmark/benchmark.h>

#include "otap_parquet/generator/otlp_generator.h"
#include "otap_parquet/otlp/convert.h"
#include "otap_parquet/pdata/otap_concat.h"

namespace otap_parquet {
namespace {

constexpr int kInputs = 64;
constexpr int kItemsPerInput = 128;

std::vector<OtapBatch> MakeInputs(Signal signal) {
  generator::GeneratorOptions options;
  options.resources_per_request = 1;
  options.scopes_per_resource = 2;
  // Metrics: 4 data points per metric → 128 points per input.
  options.items_per_scope =
      signal == Signal::kMetrics ? kItemsPerInput / 8 : kItemsPerInput / 2;
  options.empty_containers = false;
  generator::OtlpGenerator gen(options);
  std::vector<OtapBatch> inputs;
  for (int i = 0; i < kInputs; ++i) {
    for (auto& b : otlp::ToOtap(gen.Next(signal)).ValueOrDie()) {
      inputs.push_back(std::move(b));
    }
  }
  return inputs;
}

int64_t Items(const std::vector<OtapBatch>& batches) {
  int64_t n = 0;
  for (const auto& b : batches) n += b.num_items();
  return n;
}

void BM_MergeNative(benchmark::State& state, Signal signal) {
  const auto inputs = MakeInputs(signal);
  for (auto _ : state) {
    auto merged = ConcatOtapBatches(inputs).ValueOrDie();
    benchmark::DoNotOptimize(merged);
  }
  state.SetItemsProcessed(state.iterations() * Items(inputs));
}

// Baseline: what processor:batch did before (lossless, ids renumbered).
void BM_MergeOtlpRoundTrip(benchmark::State& state, Signal signal) {
  const auto inputs = MakeInputs(signal);
  for (auto _ : state) {
    std::vector<otlp::OtlpRequest> requests;
    requests.reserve(inputs.size());
    for (const auto& input : inputs)
      requests.push_back(otlp::FromOtap(input).ValueOrDie());
    auto merged = generator::MergeRequests(requests).ValueOrDie();
    auto batches = otlp::ToOtap(merged).ValueOrDie();
    benchmark::DoNotOptimize(batches);
  }
  state.SetItemsProcessed(state.iterations() * Items(inputs));
}

BENCHMARK_CAPTURE(BM_MergeNative, logs, Signal::kLogs)->Unit(benchmark::kMillisecond);
BENCHMARK_CAPTURE(BM_MergeOtlpRoundTrip, logs, Signal::kLogs)
    ->Unit(benchmark::kMillisecond);
BENCHMARK_CAPTURE(BM_MergeNative, traces, Signal::kTraces)->Unit(benchmark::kMillisecond);
BENCHMARK_CAPTURE(BM_MergeOtlpRoundTrip, traces, Signal::kTraces)
    ->Unit(benchmark::kMillisecond);
BENCHMARK_CAPTURE(BM_MergeNative, metrics, Signal::kMetrics)
    ->Unit(benchmark::kMillisecond);
BENCHMARK_CAPTURE(BM_MergeOtlpRoundTrip, metrics, Signal::kMetrics)
    ->Unit(benchmark::kMillisecond);

}  // namespace
}  // namespace otap_parquet
