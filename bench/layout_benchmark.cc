// SPDX-License-Identifier: Apache-2.0
#include <benchmark/benchmark.h>

#include "otap_parquet/dataset/parquet_layout.h"
#include "otap_parquet/generator/otlp_generator.h"
#include "otap_parquet/otlp/convert.h"

namespace otap_parquet::dataset {
namespace {

// 10,000 realistic log records (10 attributes each) as one canonical OtapBatch;
// record k is moved by (k % hours) hours.
OtapBatch RealisticLogs(int hours = 1) {
  generator::GeneratorOptions options;
  options.resources_per_request = 2;
  options.scopes_per_resource = 2;
  options.items_per_scope = 2'500;
  generator::OtlpGenerator gen(options);
  otlp::LogsRequest request = gen.NextLogs();
  uint64_t k = 0;
  for (auto& rl : *request.mutable_resource_logs()) {
    for (auto& sl : *rl.mutable_scope_logs()) {
      for (auto& log : *sl.mutable_log_records()) {
        log.set_time_unix_nano(log.time_unix_nano() +
                               (k++ % static_cast<uint64_t>(hours)) *
                                   3'600'000'000'000ULL);
      }
    }
  }
  auto batches = otlp::LogsToOtap(request).ValueOrDie();
  return batches.at(0);
}

// The writer's per-batch hot path: ids widened and offset, disk schema applied.
void BM_PartitionIdGeneratorApply(benchmark::State& state) {
  const OtapBatch batch = RealisticLogs();
  PartitionIdGenerator ids([] { return std::string("bench-part"); });
  int64_t rows = 0;
  for (auto _ : state) {
    auto disk = ids.Apply(batch).ValueOrDie();
    rows += disk.num_rows();
    benchmark::DoNotOptimize(disk);
  }
  state.SetItemsProcessed(state.iterations() * batch.num_root_rows());
  state.counters["table_rows_per_batch"] =
      static_cast<double>(rows) / static_cast<double>(state.iterations());
}
BENCHMARK(BM_PartitionIdGeneratorApply);

// Splitting the same logs, interleaved over range(0) hours, into hourly parts
// (1: the no-copy path).
void BM_SplitByEventTime(benchmark::State& state) {
  const OtapBatch batch = RealisticLogs(static_cast<int>(state.range(0)));
  for (auto _ : state) {
    auto parts = SplitByEventTime(batch, TimeGranularity::kHour).ValueOrDie();
    benchmark::DoNotOptimize(parts);
  }
  state.SetItemsProcessed(state.iterations() * batch.num_root_rows());
}
BENCHMARK(BM_SplitByEventTime)->Arg(1)->Arg(3)->Arg(24);

}  // namespace
}  // namespace otap_parquet::dataset
