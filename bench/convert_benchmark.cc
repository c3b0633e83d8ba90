// SPDX-License-Identifier: Apache-2.0
// OTLP ⇄ OTAP conversion throughput, with the OTLP protobuf parse and serialize of
// the same requests measured in the same run as baselines.

#include <benchmark/benchmark.h>
#include <google/protobuf/arena.h>

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

arrow::Result<std::vector<OtapBatch>> ConvertParsed(const otlp::LogsRequest& r) {
  return otlp::LogsToOtap(r);
}
arrow::Result<std::vector<OtapBatch>> ConvertParsed(const otlp::TracesRequest& r) {
  return otlp::TracesToOtap(r);
}
arrow::Result<std::vector<OtapBatch>> ConvertParsed(const otlp::MetricsRequest& r) {
  return otlp::MetricsToOtap(r);
}

// What the OTLP receiver does per request: serialized bytes → OtapBatches.
enum class Decode { kHeapMessages, kArenaMessages, kWire };

void BM_OtlpBytesToOtap(benchmark::State& state, Signal signal, Decode decode) {
  const auto request = MakeRequest(signal);
  const std::string bytes = Message(request).SerializeAsString();
  const int64_t items = Items(otlp::ToOtap(request).ValueOrDie());
  std::vector<char> block(4 << 20);  // the receiver keeps one per thread
  for (auto _ : state) {
    if (decode == Decode::kWire) {
      benchmark::DoNotOptimize((signal == Signal::kLogs ? otlp::LogsWireToOtap(bytes)
                                                        : otlp::TracesWireToOtap(bytes))
                                   .ValueOrDie());
      continue;
    }
    google::protobuf::ArenaOptions options;
    options.initial_block = block.data();
    options.initial_block_size = block.size();
    google::protobuf::Arena arena(options);
    std::visit(
        [&](const auto& r) {
          using Request = std::decay_t<decltype(r)>;
          Request heap;
          Request* parsed = decode == Decode::kArenaMessages
                                ? google::protobuf::Arena::CreateMessage<Request>(&arena)
                                : &heap;
          if (!parsed->ParseFromString(bytes)) state.SkipWithError("parse failed");
          benchmark::DoNotOptimize(ConvertParsed(*parsed).ValueOrDie());
        },
        request);
  }
  state.SetItemsProcessed(state.iterations() * items);
  state.SetBytesProcessed(state.iterations() * static_cast<int64_t>(bytes.size()));
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
BENCHMARK_CAPTURE(BM_OtlpBytesToOtap, logs_heap_messages, Signal::kLogs,
                  Decode::kHeapMessages)
    ->Unit(benchmark::kMillisecond);
BENCHMARK_CAPTURE(BM_OtlpBytesToOtap, logs_arena_messages, Signal::kLogs,
                  Decode::kArenaMessages)
    ->Unit(benchmark::kMillisecond);
BENCHMARK_CAPTURE(BM_OtlpBytesToOtap, logs_wire, Signal::kLogs, Decode::kWire)
    ->Unit(benchmark::kMillisecond);
BENCHMARK_CAPTURE(BM_OtlpBytesToOtap, traces_heap_messages, Signal::kTraces,
                  Decode::kHeapMessages)
    ->Unit(benchmark::kMillisecond);
BENCHMARK_CAPTURE(BM_OtlpBytesToOtap, traces_arena_messages, Signal::kTraces,
                  Decode::kArenaMessages)
    ->Unit(benchmark::kMillisecond);
BENCHMARK_CAPTURE(BM_OtlpBytesToOtap, traces_wire, Signal::kTraces, Decode::kWire)
    ->Unit(benchmark::kMillisecond);

}  // namespace
}  // namespace otap_parquet
