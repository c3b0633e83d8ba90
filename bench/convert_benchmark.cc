// SPDX-License-Identifier: Apache-2.0
// OTLP ⇄ OTAP conversion throughput, with the OTLP protobuf parse and serialize of
// the same requests measured in the same run as baselines.

#include <benchmark/benchmark.h>

#include "otap_parquet/generator/otlp_generator.h"
#include "otap_parquet/otlp/convert.h"

namespace otap_parquet {
namespace {

constexpr int kItemsPerScope = 2500;  // 2 resources × 2 scopes → 10k items a request

otlp::OtlpRequest MakeRequest(Signal signal) {
  generator::GeneratorOptions options;
  options.items_per_scope =
      signal == Signal::kMetrics ? kItemsPerScope / 4 : kItemsPerScope;
  options.empty_containers = false;
  generator::OtlpGenerator gen(options);
  return gen.Next(signal);
}

int64_t Items(const std::vector<OtapBatch>& batches) {
  int64_t n = 0;
  for (const auto& b : batches) n += b.num_items();
  return n;
}

const google::protobuf::Message& Message(const otlp::OtlpRequest& request) {
  return std::visit([](const auto& r) -> const google::protobuf::Message& { return r; },
                    request);
}

void BM_OtlpToOtap(benchmark::State& state, Signal signal) {
  const auto request = MakeRequest(signal);
  int64_t items = 0;
  for (auto _ : state) {
    auto batches = otlp::ToOtap(request).ValueOrDie();
    items = Items(batches);
    benchmark::DoNotOptimize(batches);
  }
  state.SetItemsProcessed(state.iterations() * items);
  state.SetBytesProcessed(state.iterations() *
                          static_cast<int64_t>(Message(request).ByteSizeLong()));
}

void BM_OtapToOtlp(benchmark::State& state, Signal signal) {
  const auto batches = otlp::ToOtap(MakeRequest(signal)).ValueOrDie();
  for (auto _ : state) {
    for (const auto& batch : batches)
      benchmark::DoNotOptimize(otlp::FromOtap(batch).ValueOrDie());
  }
  state.SetItemsProcessed(state.iterations() * Items(batches));
}

// Baseline: parsing the same request from OTLP protobuf bytes.
void BM_ParseOtlpProtobuf(benchmark::State& state, Signal signal) {
  const auto request = MakeRequest(signal);
  const std::string bytes = Message(request).SerializeAsString();
  const int64_t items = Items(otlp::ToOtap(request).ValueOrDie());
  for (auto _ : state) {
    otlp::OtlpRequest parsed = request;  // same alternative
    std::visit([&](auto& r) { benchmark::DoNotOptimize(r.ParseFromString(bytes)); },
               parsed);
  }
  state.SetItemsProcessed(state.iterations() * items);
}

BENCHMARK_CAPTURE(BM_OtlpToOtap, logs, Signal::kLogs)->Unit(benchmark::kMillisecond);
BENCHMARK_CAPTURE(BM_OtlpToOtap, traces, Signal::kTraces)->Unit(benchmark::kMillisecond);
BENCHMARK_CAPTURE(BM_OtlpToOtap, metrics, Signal::kMetrics)
    ->Unit(benchmark::kMillisecond);
BENCHMARK_CAPTURE(BM_OtapToOtlp, logs, Signal::kLogs)->Unit(benchmark::kMillisecond);
BENCHMARK_CAPTURE(BM_OtapToOtlp, traces, Signal::kTraces)->Unit(benchmark::kMillisecond);
BENCHMARK_CAPTURE(BM_OtapToOtlp, metrics, Signal::kMetrics)
    ->Unit(benchmark::kMillisecond);
BENCHMARK_CAPTURE(BM_ParseOtlpProtobuf, logs, Signal::kLogs)
    ->Unit(benchmark::kMillisecond);
BENCHMARK_CAPTURE(BM_ParseOtlpProtobuf, traces, Signal::kTraces)
    ->Unit(benchmark::kMillisecond);
BENCHMARK_CAPTURE(BM_ParseOtlpProtobuf, metrics, Signal::kMetrics)
    ->Unit(benchmark::kMillisecond);

}  // namespace
}  // namespace otap_parquet
