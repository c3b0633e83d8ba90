// SPDX-License-Identifier: Apache-2.0
// DatasetReader replay throughput over a ~1M-log dataset (our on-disk layout, realistic
// logs with 10 attributes each, tables rotating at different row counts, 64k-row row
// groups, zstd), with a bare Arrow scan of every table's files of the same dataset as
// the baseline in the same run. OTAP_READER_BENCH_LOGS overrides the log count.

#include <cstdlib>
#include <filesystem>
#include <string>

#include <unistd.h>

#include <arrow/filesystem/localfs.h>
#include <arrow/io/file.h>
#include <benchmark/benchmark.h>
#include <parquet/arrow/reader.h>

#include "otap_parquet/dataset/dataset_reader.h"
#include "otap_parquet/dataset/dataset_reader_test_util.h"

namespace otap_parquet::dataset {
namespace {

namespace stdfs = std::filesystem;

int64_t LogCount() {
  const char* env = std::getenv("OTAP_READER_BENCH_LOGS");
  return env ? std::atoll(env) : 1'000'000;
}

// The dataset, written once per process and removed at exit.
struct BenchDataset {
  std::string base;
  int64_t logs = 0;
  int64_t bytes = 0;

  BenchDataset() {
    base = (stdfs::temp_directory_path() /
            ("otap_reader_bench_" + std::to_string(::getpid())))
               .string();
    stdfs::remove_all(base);
    generator::GeneratorOptions gen;
    gen.items_per_scope = 1000;  // 4000 logs per request
    gen.empty_containers = false;
    testing::TestWriteOptions write;
    write.rotate_rows = {{PayloadType::kLogs, 200'000},
                         {PayloadType::kLogAttrs, 1'300'000}};
    write.default_rotate_rows = 50'000;
    write.row_group_rows = 65'536;
    write.shuffle = false;
    write.codec = parquet::Compression::ZSTD;
    const int requests = static_cast<int>((LogCount() + 3999) / 4000);
    auto expected =
        testing::WriteGeneratedDataset(base, {Signal::kLogs}, requests, gen, write)
            .ValueOrDie();
    logs = static_cast<int64_t>(requests) * 4000;
    for (const auto& entry : stdfs::recursive_directory_iterator(base)) {
      if (entry.is_regular_file()) bytes += static_cast<int64_t>(entry.file_size());
    }
  }
  ~BenchDataset() { stdfs::remove_all(base); }
};

const BenchDataset& Dataset() {
  static BenchDataset dataset;
  return dataset;
}

void BM_ReaderReplay(benchmark::State& state) {
  const auto& dataset = Dataset();
  auto fs = std::make_shared<arrow::fs::LocalFileSystem>();
  ReaderOptions options;
  options.batch_size = state.range(0);
  int64_t roots = 0, peak = 0;
  for (auto _ : state) {
    auto reader = DatasetReader::Make(fs, dataset.base, options).ValueOrDie();
    roots = 0;
    while (true) {
      auto batch = reader->Next().ValueOrDie();
      if (!batch) break;
      roots += batch->num_root_rows();
      benchmark::DoNotOptimize(batch);
    }
    peak = reader->stats().peak_buffered_rows;
  }
  if (roots != dataset.logs) state.SkipWithError("replayed log count differs");
  state.SetItemsProcessed(state.iterations() * roots);
  state.SetBytesProcessed(state.iterations() * dataset.bytes);
  state.counters["peak_buffered_rows"] = static_cast<double>(peak);
}
BENCHMARK(BM_ReaderReplay)
    ->Arg(65535)
    ->Arg(8192)
    ->Arg(1000)
    ->Iterations(3)
    ->Unit(benchmark::kMillisecond);

// Baseline: decode every row group of every Parquet file of the dataset with Arrow,
// nothing else (no normalization, no join). Items = logs, as above.
void BM_ArrowScanBaseline(benchmark::State& state) {
  const auto& dataset = Dataset();
  for (auto _ : state) {
    int64_t rows = 0;
    for (const auto& entry : stdfs::recursive_directory_iterator(dataset.base)) {
      if (!entry.is_regular_file() || entry.path().extension() != ".parquet") continue;
      auto input = arrow::io::ReadableFile::Open(entry.path().string()).ValueOrDie();
      auto reader =
          parquet::arrow::OpenFile(input, arrow::default_memory_pool()).ValueOrDie();
      for (int g = 0; g < reader->num_row_groups(); ++g) {
        auto table = reader->ReadRowGroup(g).ValueOrDie();
        rows += table->num_rows();
        benchmark::DoNotOptimize(table);
      }
    }
    benchmark::DoNotOptimize(rows);
  }
  state.SetItemsProcessed(state.iterations() * dataset.logs);
  state.SetBytesProcessed(state.iterations() * dataset.bytes);
}
BENCHMARK(BM_ArrowScanBaseline)->Iterations(3)->Unit(benchmark::kMillisecond);

}  // namespace
}  // namespace otap_parquet::dataset
