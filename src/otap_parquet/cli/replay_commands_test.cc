// SPDX-License-Identifier: Apache-2.0
#include "otap_parquet/cli/replay_commands.h"

#include <chrono>
#include <memory>
#include <sstream>

#include <arrow/filesystem/localfs.h>
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include "otap_parquet/dataset/compaction.h"
#include "otap_parquet/dataset/dataset_reader_test_util.h"
#include "otap_parquet/otlp/equivalence.h"
#include "otap_parquet/otlp/otlp_file.h"
#include "otap_parquet/testing/gtest_util.h"
#include "otap_parquet/testing/temp_dir.h"

namespace otap_parquet::cli {
namespace {

// Scenario: `convert DATASET out.jsonl` (batches of 3 roots) over two id spaces of
// small files of every signal; after its first batch a compaction commits both
// partitions and, grace 0, deletes the files the conversion has listed (the hook
// runs it at that exact point: no timing).
// Guarantees: the output holds every record once (the conversion lists again and
// resumes after what it wrote, in the compacted partitions); nothing is counted as
// skipped; the report says it listed again. Before, the vanished files were skipped
// as unreadable and their records missing from the output.
TEST(ConvertFromDatasetTest, ACompactionUnderTheConversionLosesNothing) {
  otap_parquet::testing::TempDir dir("convert_compaction");
  const std::string lake = dir.path() + "/lake";
  generator::GeneratorOptions gen;
  gen.items_per_scope = 4;
  dataset::testing::TestWriteOptions write;
  write.default_rotate_rows = 9;
  ASSERT_OK_AND_ASSIGN(auto expected,
                       dataset::testing::WriteGeneratedDataset(
                           lake, {Signal::kLogs, Signal::kTraces, Signal::kMetrics}, 12,
                           gen, write, /*requests_per_partition=*/6));
  ReplayOptions options;
  options.dataset = lake;
  options.output = dir.path() + "/out.jsonl";
  options.batch_size = 3;
  int batches = 0;
  arrow::Status compacted = arrow::Status::Invalid("not run");
  options.after_batch = [&] {
    if (++batches != 1) return;
    dataset::CompactOptions compact;
    compact.older_than = std::chrono::milliseconds(0);
    compact.grace = std::chrono::milliseconds(0);
    compact.fsync = false;
    auto report =
        dataset::Compact(std::make_shared<arrow::fs::LocalFileSystem>(), lake, compact);
    compacted = report.ok() && report->compacted == 2
                    ? arrow::Status::OK()
                    : arrow::Status::Invalid("compaction did not compact both");
  };
  std::ostringstream report;
  ReplaySkips skips;
  ASSERT_OK(RunConvertFromDataset(options, report, &skips));
  ASSERT_OK(compacted);
  EXPECT_FALSE(skips.any()) << report.str();
  EXPECT_THAT(report.str(), ::testing::HasSubstr("listed again"));
  ASSERT_OK_AND_ASSIGN(auto actual, otlp::ReadOtlpFile(options.output));
  ASSERT_OK(otlp::CheckEquivalent(expected, actual));
}

}  // namespace
}  // namespace otap_parquet::cli
