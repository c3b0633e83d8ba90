// SPDX-License-Identifier: Apache-2.0
// exporter:parquet's write-ahead log: Wal::Append of one OTLP request's batch (1000
// log records, as bench/otlp_receiver_bench.py sends), without fdatasync (the CPU
// cost of framing, CRC and write(); the sync runs on the log's own thread), each
// record marked done at once so that the segments are deleted as they fill.

#include <benchmark/benchmark.h>

#include "otap_parquet/generator/test_batches.h"
#include "otap_parquet/testing/temp_dir.h"
#include "otap_parquet/wal/wal.h"

namespace otap_parquet {
namespace {

OtapBatch RequestBatch(Signal signal) {
  auto options = testing::OneScopeOptions(1000, 42);
  if (signal == Signal::kMetrics) options.items_per_scope = 250;  // 4 points each
  return std::move(testing::GeneratedBatches(signal, 1, options).front());
}

int64_t PayloadBytes(const OtapBatch& batch) {
  return wal::EncodeBatch(batch).ValueOrDie()->size();
}

void BM_WalAppend(benchmark::State& state, Signal signal) {
  const OtapBatch batch = RequestBatch(signal);
  testing::TempDir dir("otap_wal_bench");
  wal::WalOptions options;
  options.dir = dir.path();
  options.fsync = false;
  auto log = wal::Wal::Open(options, nullptr).ValueOrDie();
  for (auto _ : state) {
    auto id = log->Append(batch, nullptr).ValueOrDie();
    log->MarkDone(id);
  }
  log->Close();
  state.SetItemsProcessed(state.iterations() * batch.num_items());
  state.SetBytesProcessed(state.iterations() * PayloadBytes(batch));
}

void BM_WalEncode(benchmark::State& state, Signal signal) {
  const OtapBatch batch = RequestBatch(signal);
  for (auto _ : state) {
    auto payload = wal::EncodeBatch(batch).ValueOrDie();
    benchmark::DoNotOptimize(payload);
  }
  state.SetItemsProcessed(state.iterations() * batch.num_items());
  state.SetBytesProcessed(state.iterations() * PayloadBytes(batch));
}

BENCHMARK_CAPTURE(BM_WalAppend, logs, Signal::kLogs)->Unit(benchmark::kMicrosecond);
BENCHMARK_CAPTURE(BM_WalAppend, traces, Signal::kTraces)->Unit(benchmark::kMicrosecond);
BENCHMARK_CAPTURE(BM_WalAppend, metrics, Signal::kMetrics)->Unit(benchmark::kMicrosecond);
BENCHMARK_CAPTURE(BM_WalEncode, logs, Signal::kLogs)->Unit(benchmark::kMicrosecond);

}  // namespace
}  // namespace otap_parquet
