// SPDX-License-Identifier: Apache-2.0
// The dataset writer alone (input built once, outside the timed loop), and its
// floor: Parquet C++ writing the same on-disk tables in one call each, with the
// same properties and the same memory pool. `perf record` of this binary profiles
// the pure write path.
#include <benchmark/benchmark.h>

#include <filesystem>
#include <map>
#include <string>
#include <vector>

#include <arrow/filesystem/localfs.h>
#include <arrow/io/file.h>
#include <arrow/table.h>
#include <parquet/arrow/writer.h>
#include <parquet/properties.h>

#include "otap_parquet/dataset/dataset_writer.h"
#include "otap_parquet/dataset/parquet_layout.h"
#include "otap_parquet/dataset/writer_options.h"
#include "otap_parquet/generator/otlp_generator.h"
#include "otap_parquet/otlp/convert.h"
#include "otap_parquet/util/memory.h"

namespace otap_parquet::dataset {
namespace {

constexpr int kRequests = 50;  // 50 x 4,000 = 200,000 logs, as `bench write` is run

// What `otap-parquet generate --signal logs --requests 50 --items 1000` writes:
// realistic logs with 10 attributes, 4 scopes of `items_per_scope` logs per
// request (4,000 by default), one OtapBatch each.
const std::vector<OtapBatch>& RealisticLogBatches(int items_per_scope = 1'000) {
  static std::map<int, std::vector<OtapBatch>> cache;
  auto& out = cache[items_per_scope];
  if (!out.empty()) return out;
  // As the CLI's main() does (this binary's main is Google Benchmark's).
  util::ApplyProcessMemoryPolicy();
  generator::GeneratorOptions options;
  options.mode = generator::Mode::kRealistic;
  options.items_per_scope = items_per_scope;
  generator::OtlpGenerator gen(options);
  // The same 200,000 logs whatever the batch size.
  for (int i = 0; i < kRequests * 1'000 / items_per_scope; ++i) {
    for (auto& batch : otlp::LogsToOtap(gen.NextLogs()).ValueOrDie()) {
      out.push_back(std::move(batch));
    }
  }
  return out;
}

int64_t RootRows(const std::vector<OtapBatch>& batches) {
  int64_t rows = 0;
  for (const auto& batch : batches) rows += batch.num_root_rows();
  return rows;
}

std::string ScratchDir(const char* name) {
  auto dir = std::filesystem::temp_directory_path() / name;
  std::filesystem::remove_all(dir);
  std::filesystem::create_directories(dir);
  return dir.string();
}

// The writer as `bench write --no-fsync` runs it: default options, `_part_id`
// partitions, every batch appended, then Close(). The argument: logs per batch
// (per OTLP request), 4,000 as `bench write` runs it.
void BM_DatasetWriterLogs(benchmark::State& state) {
  const auto& batches = RealisticLogBatches(static_cast<int>(state.range(0)) / 4);
  const std::string dir = ScratchDir("otap-writer-benchmark");
  PartitioningOptions partitioning;
  for (auto _ : state) {
    DatasetWriterSettings settings;
    settings.filesystem = std::make_shared<arrow::fs::LocalFileSystem>();
    settings.base_path = dir;
    settings.fsync = false;
    auto writer =
        DatasetWriter::Make(WriterOptions::Defaults(), partitioning, std::move(settings))
            .ValueOrDie();
    std::vector<arrow::Future<>> acks;
    for (const auto& batch : batches) acks.push_back(writer->Write(batch));
    if (!writer->Close().ok()) state.SkipWithError("close failed");
    for (auto& ack : acks) {
      if (!ack.status().ok()) state.SkipWithError("batch failed");
    }
    state.PauseTiming();
    std::filesystem::remove_all(dir);
    std::filesystem::create_directories(dir);
    state.ResumeTiming();
  }
  state.SetItemsProcessed(state.iterations() * RootRows(batches));
  std::filesystem::remove_all(dir);
}
BENCHMARK(BM_DatasetWriterLogs)
    ->Arg(4'000)
    ->Arg(1'000)
    ->Arg(16'000)
    ->Unit(benchmark::kMillisecond)
    ->MeasureProcessCPUTime();

// The floor: each on-disk table of all batches (ids already widened), concatenated,
// written by parquet::arrow::WriteTable with the writer's properties.
void BM_ParquetFloorLogs(benchmark::State& state) {
  const auto& batches = RealisticLogBatches();
  PartitionIdGenerator ids([] { return std::string("bench-part"); });
  std::map<PayloadType, std::vector<std::shared_ptr<arrow::RecordBatch>>> by_table;
  for (const auto& batch : batches) {
    for (auto& [type, table] : ids.Apply(batch).ValueOrDie().tables) {
      by_table[type].push_back(table);
    }
  }
  const WriterOptions options = WriterOptions::Defaults();
  std::vector<std::pair<std::shared_ptr<arrow::Table>,
                        std::shared_ptr<parquet::WriterProperties>>>
      tables;
  for (auto& [type, parts] : by_table) {
    auto table = arrow::Table::FromRecordBatches(parts).ValueOrDie();
    tables.emplace_back(
        table, MakeWriterProperties(options, *table->schema(), util::DataMemoryPool())
                   .ValueOrDie());
  }
  const std::string dir = ScratchDir("otap-writer-floor-benchmark");
  for (auto _ : state) {
    int i = 0;
    for (const auto& [table, properties] : tables) {
      auto sink =
          arrow::io::FileOutputStream::Open(dir + "/t" + std::to_string(i++) + ".parquet")
              .ValueOrDie();
      auto st = parquet::arrow::WriteTable(*table, util::DataMemoryPool(), sink,
                                           options.row_group_size, properties,
                                           MakeArrowWriterProperties());
      if (!st.ok()) state.SkipWithError(st.ToString().c_str());
      (void)sink->Close();
    }
  }
  state.SetItemsProcessed(state.iterations() * RootRows(batches));
  std::filesystem::remove_all(dir);
}
BENCHMARK(BM_ParquetFloorLogs)->Unit(benchmark::kMillisecond)->MeasureProcessCPUTime();

}  // namespace
}  // namespace otap_parquet::dataset
