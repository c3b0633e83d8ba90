// SPDX-License-Identifier: Apache-2.0
#include "otap_parquet/dataset/dataset_reader.h"

#include <algorithm>
#include <chrono>
#include <filesystem>
#include <fstream>
#include <functional>
#include <random>
#include <string>

#include <unistd.h>
#include <vector>

#include <arrow/api.h>
#include <arrow/compute/api.h>
#include <arrow/compute/initialize.h>
#include <arrow/filesystem/localfs.h>
#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <parquet/file_reader.h>

#include "otap_parquet/dataset/dataset_reader_test_util.h"
#include "otap_parquet/dataset/dataset_writer.h"
#include "otap_parquet/dataset/discovery.h"
#include "otap_parquet/dataset/id_space.h"
#include "otap_parquet/dataset/replay_checkpoint.h"
#include "otap_parquet/otlp/equivalence.h"
#include "otap_parquet/schema/otap_schema.h"
#include "otap_parquet/testing/gtest_util.h"
#include "otap_parquet/testing/temp_dir.h"

namespace otap_parquet::dataset {
namespace {

namespace stdfs = std::filesystem;
using PT = PayloadType;
using testing::TestDatasetWriter;
using testing::TestWriteOptions;
using testing::WriteGeneratedDataset;

// A fresh directory per test, removed afterwards.
class ScopedTempDir : public otap_parquet::testing::TempDir {
 public:
  ScopedTempDir() : otap_parquet::testing::TempDir("otap_reader_test") {}
};

std::shared_ptr<arrow::fs::FileSystem> LocalFs() {
  return std::make_shared<arrow::fs::LocalFileSystem>();
}

// Reads the whole dataset, validating every batch, and converts it back to OTLP.
arrow::Result<std::vector<otlp::OtlpRequest>> ReadAll(const std::string& base,
                                                      const ReaderOptions& options,
                                                      ReaderStats* stats = nullptr,
                                                      int64_t* max_roots = nullptr) {
  ARROW_ASSIGN_OR_RAISE(auto reader, DatasetReader::Make(LocalFs(), base, options));
  std::vector<otlp::OtlpRequest> actual;
  while (true) {
    ARROW_ASSIGN_OR_RAISE(auto batch, reader->Next());
    if (!batch) break;
    ARROW_RETURN_NOT_OK(batch->Validate());
    if (max_roots) *max_roots = std::max(*max_roots, batch->num_root_rows());
    ARROW_ASSIGN_OR_RAISE(auto request, otlp::FromOtap(*batch));
    actual.push_back(std::move(request));
  }
  if (stats) *stats = reader->stats();
  return actual;
}

TestWriteOptions RotatingWriteOptions() {
  TestWriteOptions options;
  // Every table rotates at its own row count, so one input batch's child rows land in
  // other files than its roots.
  options.rotate_rows = {{PT::kLogs, 7},
                         {PT::kLogAttrs, 13},
                         {PT::kResourceAttrs, 3},
                         {PT::kScopeAttrs, 5},
                         {PT::kSpans, 9},
                         {PT::kSpanAttrs, 17},
                         {PT::kSpanEvents, 6},
                         {PT::kSpanEventAttrs, 19},
                         {PT::kSpanLinks, 4},
                         {PT::kUnivariateMetrics, 5},
                         {PT::kNumberDataPoints, 8}};
  options.default_rotate_rows = 10;
  options.row_group_rows = 4;
  return options;
}

generator::GeneratorOptions EdgeCases(uint64_t seed) {
  generator::GeneratorOptions options;
  options.seed = seed;
  options.mode = generator::Mode::kEdgeCases;
  options.items_per_scope = 4;
  return options;
}

// ---------------------------------------------------------------------------------
// Discovery

// Scenario: a dataset with two partitions, a staging file, a temp file and an
// unpartitioned file next to partition directories.
// Guarantees: partitions in path order; only *.parquet files, in name order;
// other names are counted as ignored; root-less child directories are unmatched.
TEST(DiscoveryTest, ListsPartitionsAndParquetFilesOnly) {
  ScopedTempDir dir;
  auto touch = [&](const std::string& rel) {
    stdfs::create_directories(stdfs::path(dir.path() + "/" + rel).parent_path());
    std::ofstream(dir.path() + "/" + rel) << "x";
  };
  touch("logs/_part_id=b/part-2.parquet");
  touch("logs/_part_id=b/part-1.parquet");
  touch("logs/_part_id=a/date=2026-01-01/part-1.parquet");
  touch("logs/_part_id=a/date=2026-01-01/part-3.parquet#12");
  touch("log_attrs/_part_id=b/part-9.parquet");
  touch("log_attrs/_part_id=b/tmp.txt");
  touch("log_attrs/_part_id=zzz/part-1.parquet");
  DiscoveryOptions options;
  options.signals = {Signal::kLogs};
  ASSERT_OK_AND_ASSIGN(auto plan, Discover(LocalFs(), dir.path(), options));
  ASSERT_EQ(plan.partitions.size(), 2u);
  EXPECT_EQ(plan.partitions[0].path, "_part_id=a/date=2026-01-01");
  EXPECT_EQ(plan.partitions[0].part_id, "a");
  EXPECT_EQ(plan.partitions[1].path, "_part_id=b");
  const auto& logs = plan.partitions[1].FilesOf(PT::kLogs);
  ASSERT_EQ(logs.size(), 2u);
  EXPECT_THAT(logs[0].path, ::testing::EndsWith("part-1.parquet"));
  EXPECT_THAT(logs[1].path, ::testing::EndsWith("part-2.parquet"));
  EXPECT_EQ(plan.partitions[1].FilesOf(PT::kLogAttrs).size(), 1u);
  EXPECT_EQ(plan.ignored_files, 2);
  EXPECT_EQ(plan.unmatched_files, 1);
  EXPECT_FALSE(plan.unpartitioned);
}

// Scenario: our current layout (`_part_id` innermost, under event-time levels) next
// to the old one (`_part_id` outermost).
// Guarantees: each directory holding root files is one partition, its part_id taken
// from the `_part_id=` segment wherever it is; child files pair by the same path.
TEST(DiscoveryTest, PartIdAtAnyLevel) {
  ScopedTempDir dir;
  auto touch = [&](const std::string& rel) {
    stdfs::create_directories(stdfs::path(dir.path() + "/" + rel).parent_path());
    std::ofstream(dir.path() + "/" + rel) << "x";
  };
  touch("logs/date=2026-01-01/hour=05/_part_id=new/part-1.parquet");
  touch("log_attrs/date=2026-01-01/hour=05/_part_id=new/part-1.parquet");
  touch("logs/_part_id=old/date=2026-01-01/hour=05/part-1.parquet");
  DiscoveryOptions options;
  options.signals = {Signal::kLogs};
  ASSERT_OK_AND_ASSIGN(auto plan, Discover(LocalFs(), dir.path(), options));
  ASSERT_EQ(plan.partitions.size(), 2u);
  EXPECT_EQ(plan.partitions[0].path, "_part_id=old/date=2026-01-01/hour=05");
  EXPECT_EQ(plan.partitions[0].part_id, "old");
  EXPECT_EQ(plan.partitions[1].path, "date=2026-01-01/hour=05/_part_id=new");
  EXPECT_EQ(plan.partitions[1].part_id, "new");
  EXPECT_EQ(plan.partitions[1].FilesOf(PT::kLogAttrs).size(), 1u);
  EXPECT_FALSE(plan.unpartitioned);
}

// Scenario: files directly in the table directories; one very young file.
// Guarantees: one partition with an empty path, flagged unpartitioned; files younger
// than min_file_age are skipped and counted.
TEST(DiscoveryTest, UnpartitionedLayoutAndMinFileAge) {
  ScopedTempDir dir;
  stdfs::create_directories(dir.path() + "/spans");
  std::ofstream(dir.path() + "/spans/part-1.parquet") << "x";
  std::ofstream(dir.path() + "/spans/part-2.parquet") << "x";
  stdfs::last_write_time(dir.path() + "/spans/part-1.parquet",
                         stdfs::file_time_type::clock::now() - std::chrono::hours(1));
  DiscoveryOptions options;
  options.signals = {Signal::kTraces};
  options.min_file_age = std::chrono::minutes(5);
  ASSERT_OK_AND_ASSIGN(auto plan, Discover(LocalFs(), dir.path(), options));
  ASSERT_EQ(plan.partitions.size(), 1u);
  EXPECT_EQ(plan.partitions[0].path, "");
  EXPECT_TRUE(plan.unpartitioned);
  EXPECT_EQ(plan.partitions[0].FilesOf(PT::kSpans).size(), 1u);
  EXPECT_EQ(plan.young_files, 1);
}

// ---------------------------------------------------------------------------------
// Round trips

class DatasetReaderRoundTripTest : public ::testing::TestWithParam<int64_t> {};

// Scenario: logs, traces and metrics (edge cases) interleaved in one exporter's id
// space, three partitions, every table rotating at a different row count, row groups
// of 4 rows, rows shuffled within each input batch; read with batch_size 5/64/65535.
// Guarantees: the replay is equivalent to the input in every field; batches are
// Validate()-clean with ≤ batch_size roots; nothing is orphaned.
TEST_P(DatasetReaderRoundTripTest, AllSignalsRotatedShuffledPartitions) {
  ScopedTempDir dir;
  ASSERT_OK_AND_ASSIGN(auto expected,
                       WriteGeneratedDataset(
                           dir.path(), {Signal::kLogs, Signal::kTraces, Signal::kMetrics},
                           /*requests=*/36, EdgeCases(11), RotatingWriteOptions(),
                           /*requests_per_partition=*/12, /*max_root_rows=*/9));
  ReaderOptions options;
  options.batch_size = GetParam();
  ReaderStats stats;
  int64_t max_roots = 0;
  ASSERT_OK_AND_ASSIGN(auto actual, ReadAll(dir.path(), options, &stats, &max_roots));
  ASSERT_OK(otlp::CheckEquivalent(expected, actual));
  EXPECT_LE(max_roots, GetParam());
  EXPECT_EQ(stats.orphan_rows, 0);
  EXPECT_EQ(stats.corrupt_files, 0);
  EXPECT_EQ(stats.partitions, 3);
  EXPECT_GT(stats.row_groups_read, 100);
  EXPECT_EQ(stats.row_groups_without_stats, 0);
}

INSTANTIATE_TEST_SUITE_P(BatchSizes, DatasetReaderRoundTripTest,
                         ::testing::Values(5, 64, 65535));

// Scenario: many small input batches (≤ 3 roots) per file: every table holds dozens
// of batches per file and rotates at a count unrelated to the others (logs 40,
// log_attrs 97, resource_attrs 3, spans 31, span_events 23, ...), row groups of 5,
// rows shuffled within each batch, two partitions.
// Guarantees: equivalent replay for batch sizes 5 and 64; no orphans.
TEST(DatasetReaderTest, ManyBatchesPerFileReplay) {
  ScopedTempDir dir;
  TestWriteOptions write;
  write.rotate_rows = {{PT::kLogs, 40},
                       {PT::kLogAttrs, 97},
                       {PT::kResourceAttrs, 3},
                       {PT::kScopeAttrs, 29},
                       {PT::kSpans, 31},
                       {PT::kSpanEvents, 23},
                       {PT::kSpanEventAttrs, 71},
                       {PT::kUnivariateMetrics, 37},
                       {PT::kNumberDataPoints, 53}};
  write.default_rotate_rows = 61;
  write.row_group_rows = 5;
  ASSERT_OK_AND_ASSIGN(auto expected,
                       WriteGeneratedDataset(
                           dir.path(), {Signal::kLogs, Signal::kTraces, Signal::kMetrics},
                           30, EdgeCases(29), write, /*requests_per_partition=*/15,
                           /*max_root_rows=*/3));
  for (int64_t batch_size : {5, 64}) {
    ReaderOptions options;
    options.batch_size = batch_size;
    ReaderStats stats;
    ASSERT_OK_AND_ASSIGN(auto actual, ReadAll(dir.path(), options, &stats));
    ASSERT_OK(otlp::CheckEquivalent(expected, actual));
    EXPECT_EQ(stats.orphan_rows, 0);
    EXPECT_EQ(stats.partitions, 2);
  }
}

// Scenario: one writer's id space near the top of UInt32 (a long-running exporter's
// ids before it rolls over to a new `_part_id`): ids, parent ids, resource.id and
// scope.id from just below 0xFFFE0000 to above it, all three signals.
// Guarantees: every record replays with exactly its own attributes, resource and
// scope attributes included (ids that high are ordinary ids in our files, not
// unresolved upstream keys); nothing is orphaned.
TEST(DatasetReaderTest, IdsNearTheTopOfUInt32ReplayExactly) {
  ScopedTempDir dir;
  ASSERT_OK_AND_ASSIGN(auto expected,
                       WriteGeneratedDataset(
                           dir.path(), {Signal::kLogs, Signal::kTraces, Signal::kMetrics},
                           /*requests=*/24, EdgeCases(13), RotatingWriteOptions(),
                           /*requests_per_partition=*/1'000'000, /*max_root_rows=*/9,
                           /*first_offset=*/0xFFFE0000u - 300));
  for (int64_t batch_size : {5, 65535}) {
    ReaderOptions options;
    options.batch_size = batch_size;
    ReaderStats stats;
    ASSERT_OK_AND_ASSIGN(auto actual, ReadAll(dir.path(), options, &stats));
    ASSERT_OK(otlp::CheckEquivalent(expected, actual));
    EXPECT_EQ(stats.orphan_rows, 0);
    EXPECT_EQ(stats.partitions, 1);
  }
}

// Scenario: all three signals (edge cases) in two id spaces, every table rotating at
// its own row count, shuffled rows, row groups of 4; a replay stopped after every
// possible batch k (progress kept as receiver:parquet keeps it: ReplayProgress, each
// batch acknowledged, units before the current one done), then resumed from that
// progress by a new reader; batch sizes 1 and 7.
// Guarantees: for every k, the k batches plus the resumed replay are the input
// exactly: no record lost or delivered twice, each with its own children.
class DatasetReaderResumeEverywhereTest : public ::testing::TestWithParam<int64_t> {};

TEST_P(DatasetReaderResumeEverywhereTest, EveryStopPointResumesExactly) {
  ScopedTempDir dir;
  ASSERT_OK_AND_ASSIGN(auto expected,
                       WriteGeneratedDataset(
                           dir.path(), {Signal::kLogs, Signal::kTraces, Signal::kMetrics},
                           /*requests=*/6, EdgeCases(23), RotatingWriteOptions(),
                           /*requests_per_partition=*/3, /*max_root_rows=*/5));
  const int64_t batch_size = GetParam();
  for (int stop = 0;; ++stop) {
    SCOPED_TRACE("stop after batch " + std::to_string(stop));
    ReplayProgress progress;
    ReaderOptions options;
    options.batch_size = batch_size;
    ASSERT_OK_AND_ASSIGN(auto head, DatasetReader::Make(LocalFs(), dir.path(), options));
    std::vector<otlp::OtlpRequest> actual;
    bool exhausted = false;
    for (int i = 0; i < stop; ++i) {
      ASSERT_OK_AND_ASSIGN(auto batch, head->Next());
      if (!batch) {
        exhausted = true;
        break;
      }
      const ReaderPosition pos = head->position();
      const auto& partitions = head->plan().partitions;
      // Units before this batch's (plan order) are done, as the receiver marks them.
      for (const auto& partition : partitions) {
        bool reached = false;
        for (Signal signal : options.signals) {
          if (partition.path == pos.partition_path && signal == pos.signal) {
            reached = true;
            break;
          }
          if (std::find(partition.signals.begin(), partition.signals.end(), signal) ==
              partition.signals.end()) {
            continue;
          }
          progress.UnitDone({signal, partition.path},
                            partition.FilesOf(RootPayloadType(signal)));
        }
        if (reached) break;
      }
      const auto& partition = partitions[pos.partition_index];
      const uint64_t token =
          progress.Emitted({pos.signal, pos.partition_path},
                           partition.FilesOf(RootPayloadType(pos.signal)), pos.root_file,
                           pos.root_row_in_file, batch->num_items());
      progress.Acked(token);
      ASSERT_OK_AND_ASSIGN(auto request, otlp::FromOtap(*batch));
      actual.push_back(std::move(request));
    }
    if (exhausted) break;
    ReplayProgress resumed(progress.acked());
    ReaderOptions tail_options;
    tail_options.batch_size = batch_size;
    tail_options.resume = [&resumed](const PartitionPlan& p, Signal signal) {
      return resumed.ResumeFor(p, signal);
    };
    ReaderStats stats;
    ASSERT_OK_AND_ASSIGN(auto tail, ReadAll(dir.path(), tail_options, &stats));
    for (auto& request : tail) actual.push_back(std::move(request));
    ASSERT_OK(otlp::CheckEquivalent(expected, actual));
    EXPECT_EQ(stats.orphan_rows, 0);
  }
}

INSTANTIATE_TEST_SUITE_P(BatchSizes, DatasetReaderResumeEverywhereTest,
                         ::testing::Values(1, 7));

// Scenario: the same dataset read one signal at a time.
// Guarantees: the shared resource/scope attribute tables serve each signal; rows of
// the other signals are counted as unreferenced, never as orphans.
TEST(DatasetReaderTest, SignalsReadSeparatelyShareResourceAttrs) {
  ScopedTempDir dir;
  ASSERT_OK_AND_ASSIGN(auto expected,
                       WriteGeneratedDataset(dir.path(), {Signal::kLogs, Signal::kTraces},
                                             10, EdgeCases(3), RotatingWriteOptions()));
  for (Signal signal : {Signal::kLogs, Signal::kTraces}) {
    ReaderOptions options;
    options.signals = {signal};
    options.batch_size = 16;
    ReaderStats stats;
    ASSERT_OK_AND_ASSIGN(auto actual, ReadAll(dir.path(), options, &stats));
    std::vector<otlp::OtlpRequest> expected_signal;
    for (const auto& r : expected) {
      if (otlp::SignalOf(r) == signal) expected_signal.push_back(r);
    }
    ASSERT_OK(otlp::CheckEquivalent(expected_signal, actual));
    EXPECT_EQ(stats.orphan_rows, 0);
  }
}

// Scenario: the log_attrs table directory is missing.
// Guarantees: logs replay without attributes, nothing fails, no orphans.
TEST(DatasetReaderTest, MissingChildTableGivesNoChildren) {
  ScopedTempDir dir;
  generator::GeneratorOptions gen;
  gen.seed = 5;
  ASSERT_OK_AND_ASSIGN(
      auto expected,
      WriteGeneratedDataset(dir.path(), {Signal::kLogs}, 6, gen, RotatingWriteOptions()));
  stdfs::remove_all(dir.path() + "/log_attrs");
  ReaderOptions options;
  options.batch_size = 10;
  ReaderStats stats;
  ASSERT_OK_AND_ASSIGN(auto actual, ReadAll(dir.path(), options, &stats));
  int64_t logs = 0, attrs = 0;
  for (const auto& request : actual) {
    for (const auto& rl : std::get<otlp::LogsRequest>(request).resource_logs()) {
      for (const auto& sl : rl.scope_logs()) {
        for (const auto& log : sl.log_records()) {
          ++logs;
          attrs += log.attributes_size();
        }
      }
    }
  }
  EXPECT_EQ(logs, 6 * 2 * 2 * 10);
  EXPECT_EQ(attrs, 0);
  EXPECT_EQ(stats.orphan_rows, 0);
}

// Scenario: an extra log_attrs file whose parent ids match no log (below, between
// and above the real ids).
// Guarantees: those rows are counted as orphans and never attached; the rest replays.
TEST(DatasetReaderTest, OrphanChildRowsAreCountedNotAttached) {
  ScopedTempDir dir;
  generator::GeneratorOptions gen;
  gen.seed = 9;
  ASSERT_OK_AND_ASSIGN(
      auto expected,
      WriteGeneratedDataset(dir.path(), {Signal::kLogs}, 4, gen, RotatingWriteOptions()));
  // Realistic logs: 40 per request, ids 0..39 + offsets 0, 40, 80, 120: all used.
  // Parent ids 1000.. are above every log id; they are orphans at the end.
  const auto& schema = DiskSchema(PT::kLogAttrs);
  std::vector<std::shared_ptr<arrow::Array>> columns;
  arrow::UInt32Builder parents;
  ASSERT_OK(parents.AppendValues({1000, 1001, 5000}));
  ASSERT_OK_AND_ASSIGN(auto parent_array, parents.Finish());
  for (const auto& field : schema->fields()) {
    if (field->name() == "parent_id") {
      columns.push_back(parent_array);
    } else if (field->name() == "key") {
      ASSERT_OK_AND_ASSIGN(auto key,
                           arrow::MakeArrayFromScalar(arrow::StringScalar("orphan"), 3));
      columns.push_back(key);
    } else if (field->name() == "type") {
      ASSERT_OK_AND_ASSIGN(auto type,
                           arrow::MakeArrayFromScalar(arrow::UInt8Scalar(1), 3));
      columns.push_back(type);
    } else if (field->name() == "str") {
      ASSERT_OK_AND_ASSIGN(auto str,
                           arrow::MakeArrayFromScalar(arrow::StringScalar("x"), 3));
      columns.push_back(str);
    } else {
      ASSERT_OK_AND_ASSIGN(auto nulls, arrow::MakeArrayOfNull(field->type(), 3));
      columns.push_back(nulls);
    }
  }
  auto orphans = arrow::RecordBatch::Make(schema, 3, columns);
  ASSERT_OK_AND_ASSIGN(auto plan, Discover(LocalFs(), dir.path(), {}));
  ASSERT_EQ(plan.partitions.size(), 1u);
  {
    TestWriteOptions write;
    write.shuffle = false;
    TestDatasetWriter writer(dir.path() + "/extra", write);
    ASSERT_OK(writer.Append(plan.partitions[0].path, PT::kLogAttrs, orphans));
    ASSERT_OK(writer.Close());
    stdfs::rename(writer.files()[0], dir.path() + "/log_attrs/" +
                                         plan.partitions[0].path +
                                         "/part-9999999999-zorphans.parquet");
  }
  ReaderOptions options;
  options.batch_size = 7;
  ReaderStats stats;
  ASSERT_OK_AND_ASSIGN(auto actual, ReadAll(dir.path(), options, &stats));
  ASSERT_OK(otlp::CheckEquivalent(expected, actual));
  EXPECT_EQ(stats.orphan_rows, 3);
}

// Scenario: a truncated log_attrs file, a garbage `.parquet` file among the logs and a
// leftover staging file.
// Guarantees: both bad files are logged, counted and skipped, the staging file is
// ignored, every log still replays (those whose attributes were in the truncated
// file without them) and nothing crashes.
TEST(DatasetReaderTest, TruncatedAndGarbageFilesAreSkipped) {
  ScopedTempDir dir;
  generator::GeneratorOptions gen;
  gen.seed = 21;
  ASSERT_OK_AND_ASSIGN(
      auto expected,
      WriteGeneratedDataset(dir.path(), {Signal::kLogs}, 6, gen, RotatingWriteOptions()));
  ASSERT_OK_AND_ASSIGN(auto plan, Discover(LocalFs(), dir.path(), {}));
  const auto& partition = plan.partitions[0];
  const auto& attr_files = partition.FilesOf(PT::kLogAttrs);
  ASSERT_GT(attr_files.size(), 3u);
  const std::string truncated = attr_files[2].path;
  stdfs::resize_file(truncated, stdfs::file_size(truncated) / 2);
  const std::string logs_dir = dir.path() + "/logs/" + partition.path;
  std::ofstream(logs_dir + "/part-0000000005-garbage.parquet") << "this is not parquet";
  std::ofstream(logs_dir + "/part-0000000006-x.parquet#3") << "staging";
  ReaderOptions options;
  options.batch_size = 25;
  ReaderStats stats;
  ASSERT_OK_AND_ASSIGN(auto actual, ReadAll(dir.path(), options, &stats));
  EXPECT_EQ(stats.corrupt_files, 2);
  EXPECT_EQ(otlp::CanonicalItems(actual, Signal::kLogs).size(), 6u * 40u);
  EXPECT_FALSE(otlp::CheckEquivalent(expected, actual).ok());
}

// Scenario: files whose footer parses but holds corrupt values, found by
// fuzz/parquet_table_fuzz (src/otap_parquet/dataset/testdata/): a spans file with a
// size-statistics histogram of the wrong length (Arrow throws when the column chunk
// metadata is decoded) and a logs file whose row group has -11 rows (read as a batch
// of negative length), added to a valid logs and traces dataset.
// Guarantees: both files are logged, counted and skipped (each used to end the
// process); everything else replays.
TEST(DatasetReaderTest, CorruptFooterValuesFileIsSkipped) {
  ScopedTempDir dir;
  generator::GeneratorOptions gen;
  gen.seed = 17;
  ASSERT_OK_AND_ASSIGN(auto expected,
                       WriteGeneratedDataset(dir.path(), {Signal::kLogs, Signal::kTraces},
                                             3, gen, RotatingWriteOptions()));
  ASSERT_OK_AND_ASSIGN(auto plan, Discover(LocalFs(), dir.path(), {}));
  const auto testdata = stdfs::path(__FILE__).parent_path() / "testdata";
  const std::string partition = plan.partitions[0].path;
  stdfs::copy_file(testdata / "size_statistics_mismatch.parquet",
                   dir.path() + "/spans/" + partition + "/part-9999999999-bad.parquet");
  stdfs::copy_file(testdata / "negative_row_count.parquet",
                   dir.path() + "/logs/" + partition + "/part-9999999999-bad.parquet");
  ReaderOptions options;
  options.batch_size = 9;
  ReaderStats stats;
  ASSERT_OK_AND_ASSIGN(auto actual, ReadAll(dir.path(), options, &stats));
  ASSERT_OK(otlp::CheckEquivalent(expected, actual));
  // The negative count is a corrupt footer; the histogram breaks the spans file's
  // required columns, so that file is incompatible (file_checks.h).
  EXPECT_EQ(stats.corrupt_files, 1);
  EXPECT_EQ(stats.incompatible_files, 1);
}

// Scenario: files written without column statistics.
// Guarantees: the merge stays correct (missing minimums count as 0: it reads ahead)
// and the row groups without statistics are counted.
TEST(DatasetReaderTest, MissingStatisticsReadAheadButStayCorrect) {
  ScopedTempDir dir;
  TestWriteOptions write = RotatingWriteOptions();
  write.statistics = false;
  ASSERT_OK_AND_ASSIGN(
      auto expected,
      WriteGeneratedDataset(dir.path(), {Signal::kLogs, Signal::kTraces}, 8, EdgeCases(8),
                            write, /*requests_per_partition=*/4));
  ReaderOptions options;
  options.batch_size = 6;
  ReaderStats stats;
  ASSERT_OK_AND_ASSIGN(auto actual, ReadAll(dir.path(), options, &stats));
  ASSERT_OK(otlp::CheckEquivalent(expected, actual));
  EXPECT_GT(stats.row_groups_without_stats, 0);
  EXPECT_EQ(stats.orphan_rows, 0);
}

// Scenario: a readable Parquet file in the logs directory whose columns cannot be
// converted (time_unix_nano as strings).
// Guarantees: the file is logged, counted and skipped; every other file replays.
TEST(DatasetReaderTest, SchemaIncompatibleFileIsSkipped) {
  ScopedTempDir dir;
  generator::GeneratorOptions gen;
  gen.seed = 13;
  ASSERT_OK_AND_ASSIGN(
      auto expected,
      WriteGeneratedDataset(dir.path(), {Signal::kLogs}, 3, gen, RotatingWriteOptions()));
  ASSERT_OK_AND_ASSIGN(auto plan, Discover(LocalFs(), dir.path(), {}));
  arrow::UInt32Builder ids;
  ASSERT_OK(ids.AppendValues({100000, 100001}));
  ASSERT_OK_AND_ASSIGN(auto id_array, ids.Finish());
  arrow::StringBuilder times;
  ASSERT_OK(times.AppendValues({"yesterday", "today"}));
  ASSERT_OK_AND_ASSIGN(auto time_array, times.Finish());
  auto bad = arrow::RecordBatch::Make(
      arrow::schema({arrow::field("id", arrow::uint32()),
                     arrow::field("time_unix_nano", arrow::utf8())}),
      2, {id_array, time_array});
  {
    TestDatasetWriter writer(dir.path() + "/extra", TestWriteOptions{});
    ASSERT_OK(writer.Append(plan.partitions[0].path, PT::kLogs, bad));
    ASSERT_OK(writer.Close());
    stdfs::rename(writer.files()[0], dir.path() + "/logs/" + plan.partitions[0].path +
                                         "/part-9999999999-incompatible.parquet");
  }
  ReaderOptions options;
  options.batch_size = 9;
  ReaderStats stats;
  ASSERT_OK_AND_ASSIGN(auto actual, ReadAll(dir.path(), options, &stats));
  ASSERT_OK(otlp::CheckEquivalent(expected, actual));
  // Skipped from its footer: no `body`, and time_unix_nano of the wrong type.
  EXPECT_EQ(stats.incompatible_files, 1);
  EXPECT_EQ(stats.corrupt_files, 0);
}

// Scenario: 200k realistic logs (~2M attribute rows) written with rotation and
// 2,000-row row groups, read with batch_size 1000.
// Guarantees: rows held between chunks (ReaderStats::peak_buffered_rows) stay within
// a few thousand: memory follows the batch and row-group size, not the dataset.
TEST(DatasetReaderTest, MemoryBoundedByBatchNotDataset) {
  ScopedTempDir dir;
  generator::GeneratorOptions gen;
  gen.items_per_scope = 125;  // 500 logs per request
  TestWriteOptions write;
  write.rotate_rows = {{PT::kLogs, 30'000}, {PT::kLogAttrs, 70'000}};
  write.default_rotate_rows = 5'000;
  write.row_group_rows = 2'000;
  ASSERT_OK_AND_ASSIGN(
      auto expected, WriteGeneratedDataset(dir.path(), {Signal::kLogs}, 400, gen, write));
  ReaderOptions options;
  options.batch_size = 1000;
  ASSERT_OK_AND_ASSIGN(auto reader, DatasetReader::Make(LocalFs(), dir.path(), options));
  int64_t roots = 0;
  while (true) {
    ASSERT_OK_AND_ASSIGN(auto batch, reader->Next());
    if (!batch) break;
    roots += batch->num_root_rows();
  }
  EXPECT_EQ(roots, 200'000);
  EXPECT_EQ(reader->stats().orphan_rows, 0);
  EXPECT_LE(reader->stats().peak_buffered_rows, 6'000);
  RecordProperty("peak_buffered_rows",
                 std::to_string(reader->stats().peak_buffered_rows));
  EXPECT_GT(reader->stats().rows_per_table[static_cast<size_t>(PT::kLogAttrs)],
            1'000'000);
}

// Scenario: 40,000 realistic logs (~400k attribute rows) in one root file and one
// child file, each a single row group, so that the reader reads both in several
// slices (root slices of batch_size rows, child slices of 64 Ki rows). A first reader
// emits the first 36,000 roots; a second one resumes at root row 36,000, in the middle
// of the root group's second slice.
// Guarantees: the two parts together are the dataset exactly (every log with all its
// attributes, none twice); the resumed reader drops the replayed roots' children as
// filtered, never as orphans.
TEST(DatasetReaderTest, MultiSliceRowGroupsAndMidSliceResume) {
  ScopedTempDir dir;
  generator::GeneratorOptions gen;
  gen.items_per_scope = 125;  // 500 logs per request
  TestWriteOptions write;
  write.default_rotate_rows = 10'000'000;
  write.row_group_rows = 1 << 20;
  ASSERT_OK_AND_ASSIGN(
      auto expected, WriteGeneratedDataset(dir.path(), {Signal::kLogs}, 80, gen, write));

  constexpr int64_t kResumeRow = 36'000;
  ReaderOptions head_options;
  head_options.batch_size = 1000;
  ASSERT_OK_AND_ASSIGN(auto head,
                       DatasetReader::Make(LocalFs(), dir.path(), head_options));
  std::vector<otlp::OtlpRequest> actual;
  int64_t roots = 0;
  while (roots < kResumeRow) {
    ASSERT_OK_AND_ASSIGN(auto batch, head->Next());
    ASSERT_TRUE(batch.has_value());
    roots += batch->num_root_rows();
    ASSERT_OK_AND_ASSIGN(auto request, otlp::FromOtap(*batch));
    actual.push_back(std::move(request));
  }
  ASSERT_EQ(roots, kResumeRow);
  const auto position = head->position();
  ASSERT_EQ(position.root_row_in_file, kResumeRow);
  const auto& root_files = head->plan().partitions.at(0).FilesOf(PT::kLogs);
  ASSERT_EQ(root_files.size(), 1u);
  EXPECT_EQ(position.root_file, root_files[0].path);

  ReaderOptions tail_options;
  tail_options.batch_size = 33'000;  // root slices of 33,000 rows: 36,000 is mid-slice
  tail_options.resume = [&](const PartitionPlan&, Signal) {
    ResumePoint resume;
    resume.file = position.root_file;
    resume.row = position.root_row_in_file;
    return resume;
  };
  ReaderStats stats;
  int64_t max_roots = 0;
  ASSERT_OK_AND_ASSIGN(auto tail, ReadAll(dir.path(), tail_options, &stats, &max_roots));
  for (auto& request : tail) actual.push_back(std::move(request));
  ASSERT_OK(otlp::CheckEquivalent(expected, actual));
  EXPECT_EQ(stats.roots_emitted, 40'000 - kResumeRow);
  EXPECT_EQ(stats.orphan_rows, 0);
  EXPECT_GT(stats.filtered_rows, 0);  // replayed roots and their attributes
  // Both tables were read in several slices of their single row groups.
  EXPECT_EQ(stats.row_groups_read, 3);  // logs, log_attrs, resource_attrs
  EXPECT_GT(stats.rows_per_table[static_cast<size_t>(PT::kLogAttrs)], 65'536 * 2);
}

// Scenario: traces (children and grandchildren: span events and their attributes)
// in one partition, many small row groups in rotating files; a first reader emits
// about half the spans, a second resumes there (ReplayProgress, as receiver:parquet
// after a restart).
// Guarantees: the resumed reader does not read the row groups that hold only
// replayed rows: root groups before the resume row, child groups whose parent ids
// all lie below the roots still to read, grandchild groups below those (before: it
// read and dropped them, about a third more groups here); every group is either read
// or skipped; the two parts are the dataset exactly.
TEST(DatasetReaderTest, ResumeSkipsConsumedChildRowGroups) {
  ScopedTempDir dir;
  generator::GeneratorOptions gen;
  gen.items_per_scope = 8;
  TestWriteOptions write;
  write.default_rotate_rows = 300;
  write.row_group_rows = 24;
  ASSERT_OK_AND_ASSIGN(auto expected, WriteGeneratedDataset(dir.path(), {Signal::kTraces},
                                                            24, gen, write));
  ReaderOptions options;
  options.signals = {Signal::kTraces};
  options.batch_size = 40;
  ReaderStats full;
  ASSERT_OK(ReadAll(dir.path(), options, &full).status());
  ASSERT_GT(full.roots_emitted, 400);

  ReplayProgress progress;
  ASSERT_OK_AND_ASSIGN(auto head, DatasetReader::Make(LocalFs(), dir.path(), options));
  std::vector<otlp::OtlpRequest> actual;
  int64_t roots = 0;
  while (roots < full.roots_emitted / 2) {
    ASSERT_OK_AND_ASSIGN(auto batch, head->Next());
    ASSERT_TRUE(batch.has_value());
    roots += batch->num_root_rows();
    const ReaderPosition pos = head->position();
    progress.Emitted({pos.signal, pos.partition_path},
                     head->plan().partitions.at(0).FilesOf(PT::kSpans), pos.root_file,
                     pos.root_row_in_file, batch->num_items());
    ASSERT_OK_AND_ASSIGN(auto request, otlp::FromOtap(*batch));
    actual.push_back(std::move(request));
  }
  ASSERT_GT(head->position().root_row_in_file, 0);  // inside a root file

  ReaderOptions tail_options = options;
  tail_options.resume = [&](const PartitionPlan& p, Signal signal) {
    return progress.ResumeFor(p, signal);
  };
  ReaderStats tail;
  ASSERT_OK_AND_ASSIGN(auto rest, ReadAll(dir.path(), tail_options, &tail));
  for (auto& request : rest) actual.push_back(std::move(request));
  ASSERT_OK(otlp::CheckEquivalent(expected, actual));
  EXPECT_EQ(tail.roots_emitted, full.roots_emitted - roots);
  EXPECT_EQ(full.orphan_rows, 0);
  EXPECT_EQ(tail.orphan_rows, 0);

  // Groups of the root files replayed whole (not opened at all).
  int64_t done_file_groups = 0;
  ASSERT_OK_AND_ASSIGN(auto plan, Discover(LocalFs(), dir.path(), {}));
  const ResumePoint resume = progress.ResumeFor(plan.partitions.at(0), Signal::kTraces);
  for (const auto& path : resume.done_files) {
    ASSERT_OK_AND_ASSIGN(auto input, LocalFs()->OpenInputFile(path));
    done_file_groups += parquet::ReadMetaData(input)->num_row_groups();
  }
  RecordProperty("row_groups_full", std::to_string(full.row_groups_read));
  RecordProperty("row_groups_resumed", std::to_string(tail.row_groups_read));
  RecordProperty("row_groups_resume_skipped",
                 std::to_string(tail.resume_skipped_row_groups));
  EXPECT_GT(tail.resume_skipped_row_groups, 0);
  EXPECT_EQ(tail.row_groups_read + tail.resume_skipped_row_groups + done_file_groups,
            full.row_groups_read);
  // Before: every group of the files still to read was read again (well over 2/3 of
  // all here); now about the half still to replay, plus the shared resource/scope
  // attributes and the groups straddling the resume point.
  EXPECT_LT(tail.row_groups_read * 100, full.row_groups_read * 65)
      << tail.row_groups_read << " of " << full.row_groups_read;
}

// Scenario: a rotated logs dataset read with ReaderOptions::pool set to a proxy of
// the default pool.
// Guarantees: the decoded columns and output batches come from the given pool (its
// allocation counter moves), and the replay is exact.
TEST(DatasetReaderTest, AllocatesFromTheGivenPool) {
  ScopedTempDir dir;
  ASSERT_OK_AND_ASSIGN(auto expected,
                       WriteGeneratedDataset(dir.path(), {Signal::kLogs}, 6, EdgeCases(5),
                                             RotatingWriteOptions()));
  arrow::ProxyMemoryPool pool(arrow::default_memory_pool());
  ReaderOptions options;
  options.pool = &pool;
  ASSERT_OK_AND_ASSIGN(auto actual, ReadAll(dir.path(), options));
  ASSERT_OK(otlp::CheckEquivalent(expected, actual));
  EXPECT_GT(pool.total_bytes_allocated(), 0);
  EXPECT_GT(pool.num_allocations(), 0);
}

// Scenario: reading with a time range that covers about half of the logs.
// Guarantees: only roots inside the range are emitted, with all their attributes;
// row groups entirely outside are skipped via statistics.
TEST(DatasetReaderTest, TimeRangeFiltersRootsAndSkipsRowGroups) {
  ScopedTempDir dir;
  generator::GeneratorOptions gen;
  gen.seed = 4;
  TestWriteOptions write = RotatingWriteOptions();
  write.shuffle = false;
  ASSERT_OK_AND_ASSIGN(auto expected,
                       WriteGeneratedDataset(dir.path(), {Signal::kLogs}, 8, gen, write));
  // Realistic time advances ~1 ms per item from the start time: keep the later half.
  ReaderOptions options;
  options.batch_size = 50;
  options.time_range = TimeRange{
      static_cast<int64_t>(gen.start_time_unix_nano) + 160 * 1'000'000LL, INT64_MAX};
  ReaderStats stats;
  ASSERT_OK_AND_ASSIGN(auto actual, ReadAll(dir.path(), options, &stats));
  const auto items = otlp::CanonicalItems(actual, Signal::kLogs);
  EXPECT_GT(items.size(), 100u);
  EXPECT_LT(items.size(), 220u);
  EXPECT_GT(stats.row_groups_skipped, 0);
  // Every emitted log is an input log, attributes included.
  const auto all = otlp::CanonicalItems(expected, Signal::kLogs);
  for (const auto& item : items) {
    EXPECT_TRUE(std::binary_search(all.begin(), all.end(), item));
  }
}

// The event time of the one log (its time, else its observed time) or span (its
// start) of a logs / traces CanonicalItems string.
int64_t RootTime(const std::string& item, Signal signal) {
  if (signal == Signal::kLogs) {
    opentelemetry::proto::logs::v1::ResourceLogs rl;
    EXPECT_TRUE(rl.ParseFromString(item));
    if (rl.scope_logs_size() == 0 || rl.scope_logs(0).log_records_size() == 0) return 0;
    const auto& log = rl.scope_logs(0).log_records(0);
    return static_cast<int64_t>(
        log.time_unix_nano() != 0 ? log.time_unix_nano() : log.observed_time_unix_nano());
  }
  opentelemetry::proto::trace::v1::ResourceSpans rs;
  EXPECT_TRUE(rs.ParseFromString(item));
  if (rs.scope_spans_size() == 0 || rs.scope_spans(0).spans_size() == 0) return 0;
  return static_cast<int64_t>(rs.scope_spans(0).spans(0).start_time_unix_nano());
}

// Scenario: edge-case logs and traces (shuffled rows, every table rotating at its
// own count, so children lie in other files than their roots), read with a
// time_range whose bounds are the exact times of two records.
// Guarantees: exactly the records with start <= time < end are emitted, each with
// all its own children (attributes, events, links) and resource/scope; none outside.
TEST(DatasetReaderTest, TimeRangeKeepsExactlyTheRecordsInside) {
  for (Signal signal : {Signal::kLogs, Signal::kTraces}) {
    SCOPED_TRACE(std::string(SignalName(signal)));
    ScopedTempDir dir;
    ASSERT_OK_AND_ASSIGN(auto expected,
                         WriteGeneratedDataset(dir.path(), {signal}, 12, EdgeCases(5),
                                               RotatingWriteOptions(),
                                               /*requests_per_partition=*/4,
                                               /*max_root_rows=*/7));
    const auto all = otlp::CanonicalItems(expected, signal);
    std::vector<int64_t> times;
    for (const auto& item : all) times.push_back(RootTime(item, signal));
    std::sort(times.begin(), times.end());
    times.erase(std::unique(times.begin(), times.end()), times.end());
    ASSERT_GT(times.size(), 10u);
    const TimeRange range{times[times.size() / 3], times[2 * times.size() / 3]};
    std::vector<std::string> want;
    for (const auto& item : all) {
      const int64_t t = RootTime(item, signal);
      if (t >= range.start_unix_nano && t < range.end_unix_nano) want.push_back(item);
    }
    ReaderOptions options;
    options.signals = {signal};
    options.batch_size = 5;
    options.time_range = range;
    ASSERT_OK_AND_ASSIGN(auto actual, ReadAll(dir.path(), options));
    const auto got = otlp::CanonicalItems(actual, signal);
    EXPECT_EQ(got.size(), want.size());
    EXPECT_TRUE(got == want);
  }
}

// The time of the one data point of a metrics CanonicalItems string.
uint64_t PointTime(const std::string& item) {
  opentelemetry::proto::metrics::v1::ResourceMetrics rm;
  EXPECT_TRUE(rm.ParseFromString(item));
  if (rm.scope_metrics_size() == 0 || rm.scope_metrics(0).metrics_size() == 0) return 0;
  const auto& metric = rm.scope_metrics(0).metrics(0);
  if (metric.gauge().data_points_size() > 0)
    return metric.gauge().data_points(0).time_unix_nano();
  if (metric.sum().data_points_size() > 0)
    return metric.sum().data_points(0).time_unix_nano();
  if (metric.histogram().data_points_size() > 0)
    return metric.histogram().data_points(0).time_unix_nano();
  if (metric.exponential_histogram().data_points_size() > 0)
    return metric.exponential_histogram().data_points(0).time_unix_nano();
  if (metric.summary().data_points_size() > 0)
    return metric.summary().data_points(0).time_unix_nano();
  return 0;  // a metric without data points
}

// Scenario: metrics read with a time range that keeps the later half of the data
// points. Guarantees: exactly the data points inside the range are emitted (with
// their metric, attributes and exemplars); metrics without such points are dropped;
// data point row groups entirely outside are skipped via statistics, so fewer row
// groups are read than without the filter.
TEST(DatasetReaderTest, MetricsTimeRangeFiltersDataPointsAndSkipsRowGroups) {
  ScopedTempDir dir;
  generator::GeneratorOptions gen;
  gen.seed = 5;
  TestWriteOptions write = RotatingWriteOptions();
  write.shuffle = false;
  ASSERT_OK_AND_ASSIGN(auto expected, WriteGeneratedDataset(
                                          dir.path(), {Signal::kMetrics}, 8, gen, write));
  const auto all = otlp::CanonicalItems(expected, Signal::kMetrics);
  std::vector<uint64_t> times;
  for (const auto& item : all) times.push_back(PointTime(item));
  std::sort(times.begin(), times.end());
  ASSERT_GT(times.size(), 100u);
  const auto start = static_cast<int64_t>(times[times.size() / 2]);
  std::vector<std::string> inside;
  for (const auto& item : all) {
    if (static_cast<int64_t>(PointTime(item)) >= start) inside.push_back(item);
  }

  ReaderOptions options;
  options.signals = {Signal::kMetrics};
  options.batch_size = 7;
  ReaderStats full;
  ASSERT_OK_AND_ASSIGN(auto unfiltered, ReadAll(dir.path(), options, &full));
  EXPECT_EQ(otlp::CanonicalItems(unfiltered, Signal::kMetrics), all);
  EXPECT_EQ(full.row_groups_skipped, 0);

  options.time_range = TimeRange{start, INT64_MAX};
  ReaderStats stats;
  ASSERT_OK_AND_ASSIGN(auto actual, ReadAll(dir.path(), options, &stats));
  EXPECT_EQ(otlp::CanonicalItems(actual, Signal::kMetrics), inside);
  EXPECT_EQ(stats.orphan_rows, 0);
  EXPECT_GT(stats.row_groups_skipped, 0);
  EXPECT_LT(stats.row_groups_read, full.row_groups_read);
  RecordProperty("row_groups_read", std::to_string(stats.row_groups_read) + " of " +
                                        std::to_string(full.row_groups_read));

  // An end bound too: the first half only, nothing of the second.
  options.time_range = TimeRange{0, start};
  ASSERT_OK_AND_ASSIGN(auto before, ReadAll(dir.path(), options, &stats));
  const auto before_items = otlp::CanonicalItems(before, Signal::kMetrics);
  EXPECT_EQ(before_items.size() + inside.size(), all.size());
  for (const auto& item : before_items)
    EXPECT_LT(PointTime(item), times[times.size() / 2]);
  EXPECT_GT(stats.row_groups_skipped, 0);
}

// Scenario: logs and metrics whose times are 1000, INT64_MAX, 2^63 and UINT64_MAX ns
// (OTLP times are uint64; the last two are stored negative in int64 Timestamp
// columns), partitioned by hour, read with an open end and with a bounded one (found
// by tests/test_roundtrip_random.py: `convert --start` dropped them all but 1000).
// Guarantees: an open end keeps all four, a bounded one only 1000; the partitions
// of days past 2262-04-11 (beyond int64 nanoseconds) are read, not pruned.
TEST(DatasetReaderTest, TimesAtAndPast2To63AreAfterEveryStart) {
  constexpr uint64_t kTimes[] = {1000, INT64_MAX, uint64_t{1} << 63, UINT64_MAX};
  otlp::LogsRequest logs;
  auto* records = logs.add_resource_logs()->add_scope_logs();
  otlp::MetricsRequest metrics;
  auto* gauge =
      metrics.add_resource_metrics()->add_scope_metrics()->add_metrics()->mutable_gauge();
  for (uint64_t t : kTimes) {
    records->add_log_records()->set_time_unix_nano(t);
    auto* point = gauge->add_data_points();
    point->set_time_unix_nano(t);
    point->set_as_int(static_cast<int64_t>(t % 1000));
  }
  for (Signal signal : {Signal::kLogs, Signal::kMetrics}) {
    SCOPED_TRACE(std::string(SignalName(signal)));
    ScopedTempDir dir;
    const otlp::OtlpRequest request =
        signal == Signal::kLogs ? otlp::OtlpRequest(logs) : otlp::OtlpRequest(metrics);
    ASSERT_OK_AND_ASSIGN(auto batches, otlp::ToOtap(request));
    DatasetWriterSettings settings;
    settings.filesystem = LocalFs();
    settings.base_path = dir.path();
    settings.fsync = false;
    PartitioningOptions partitioning;
    partitioning.event_time = TimeGranularity::kHour;
    ASSERT_OK_AND_ASSIGN(auto writer,
                         DatasetWriter::Make(WriterOptions{}, partitioning, settings));
    std::vector<arrow::Future<>> acks;
    for (const auto& batch : batches) acks.push_back(writer->Write(batch));
    ASSERT_OK(writer->Close());
    for (auto& ack : acks) ASSERT_OK(ack.status());

    ReaderOptions read;
    read.signals = {signal};
    read.time_range = TimeRange{500, INT64_MAX};
    ASSERT_OK_AND_ASSIGN(auto open_end, ReadAll(dir.path(), read));
    EXPECT_EQ(otlp::CanonicalItems(open_end, signal).size(), 4u);
    read.time_range = TimeRange{500, 2000};
    ASSERT_OK_AND_ASSIGN(auto bounded, ReadAll(dir.path(), read));
    EXPECT_EQ(otlp::CanonicalItems(bounded, signal).size(), 1u);
  }
}

// ---------------------------------------------------------------------------------
// Upstream-style files (Q1 and friends)

// Converts a canonical batch to upstream's on-disk form with offset `offset`:
// id / parent_id UInt32 + offset; resource.id / scope.id UInt16 NOT offset; string
// columns dictionary encoded; spans duration as Int64; exemplar double_value as
// upstream's inserted Int64 zeros when the batch has no double values; a logs batch
// without ids gets upstream's inserted all-null UInt16 id.
arrow::Result<std::vector<std::pair<PT, std::shared_ptr<arrow::RecordBatch>>>> ToUpstream(
    const OtapBatch& batch, uint32_t offset, uint32_t* max_id) {
  std::vector<std::pair<PT, std::shared_ptr<arrow::RecordBatch>>> out;
  *max_id = 0;
  for (PT type : batch.payload_types()) {
    auto rb = batch.Get(type);
    auto id = rb->GetColumnByName("id");
    if (!id) continue;
    ARROW_ASSIGN_OR_RAISE(auto wide, arrow::compute::Cast(id, arrow::uint32()));
    const auto wide_array = wide.make_array();
    const auto& ids = static_cast<const arrow::UInt32Array&>(*wide_array);
    for (int64_t r = 0; r < ids.length(); ++r) {
      if (ids.IsValid(r)) *max_id = std::max(*max_id, ids.Value(r));
    }
  }
  for (PT type : batch.payload_types()) {
    auto rb = batch.Get(type);
    std::vector<std::shared_ptr<arrow::Field>> fields;
    std::vector<std::shared_ptr<arrow::Array>> columns;
    for (int c = 0; c < rb->num_columns(); ++c) {
      auto field = rb->schema()->field(c);
      auto column = rb->column(c);
      const std::string& name = field->name();
      if (name == "id" || name == "parent_id") {
        if (type == PT::kLogs && name == "id" &&
            column->null_count() == column->length()) {
          ARROW_ASSIGN_OR_RAISE(column,
                                arrow::MakeArrayOfNull(arrow::uint16(), rb->num_rows()));
        } else {
          ARROW_ASSIGN_OR_RAISE(auto wide, arrow::compute::Cast(column, arrow::uint32()));
          const auto wide_array = wide.make_array();
          const auto& ids = static_cast<const arrow::UInt32Array&>(*wide_array);
          arrow::UInt32Builder shifted;
          for (int64_t r = 0; r < ids.length(); ++r) {
            if (ids.IsValid(r)) {
              ARROW_RETURN_NOT_OK(shifted.Append(ids.Value(r) + offset));
            } else {
              ARROW_RETURN_NOT_OK(shifted.AppendNull());
            }
          }
          ARROW_ASSIGN_OR_RAISE(column, shifted.Finish());
        }
      } else if (name == schema::kDurationTimeUnixNano) {
        ARROW_ASSIGN_OR_RAISE(auto as_int, arrow::compute::Cast(column, arrow::int64()));
        column = as_int.make_array();
      } else if (name == schema::kDoubleValue && IsRoot(type) == false &&
                 (type == PT::kNumberDpExemplars || type == PT::kHistogramDpExemplars ||
                  type == PT::kExpHistogramDpExemplars) &&
                 column->null_count() == column->length()) {
        ARROW_ASSIGN_OR_RAISE(
            column, arrow::MakeArrayFromScalar(arrow::Int64Scalar(0), rb->num_rows()));
      } else if (column->type_id() == arrow::Type::STRING) {
        ARROW_ASSIGN_OR_RAISE(auto encoded, arrow::compute::DictionaryEncode(column));
        column = encoded.make_array();
      }
      fields.push_back(arrow::field(name, column->type()));
      columns.push_back(column);
    }
    auto metadata =
        IsRoot(type) ? arrow::key_value_metadata({"_part_id"}, {"p"}) : nullptr;
    out.emplace_back(type, arrow::RecordBatch::Make(arrow::schema(fields, metadata),
                                                    rb->num_rows(), columns));
  }
  return out;
}

// Writes `requests` generated requests (signals in turn) in upstream's on-disk form
// (ToUpstream) into one partition; `edit` may change request i before conversion.
arrow::Result<std::vector<otlp::OtlpRequest>> WriteUpstreamDataset(
    const std::string& base, const generator::GeneratorOptions& gen_options,
    const std::vector<Signal>& signals, int requests,
    const std::function<void(int, otlp::OtlpRequest&)>& edit = {}) {
  ARROW_RETURN_NOT_OK(arrow::compute::Initialize());
  generator::OtlpGenerator gen(gen_options);
  TestWriteOptions write = RotatingWriteOptions();
  write.shuffle = false;  // upstream keeps the encoder's row order
  write.codec = parquet::Compression::UNCOMPRESSED;
  TestDatasetWriter writer(base, write);
  std::vector<otlp::OtlpRequest> expected;
  uint32_t offset = 0;
  for (int i = 0; i < requests; ++i) {
    auto request = gen.Next(signals[static_cast<size_t>(i) % signals.size()]);
    if (edit) edit(i, request);
    ARROW_ASSIGN_OR_RAISE(auto batches, otlp::ToOtap(request));
    for (const auto& batch : batches) {
      uint32_t max_id = 0;
      ARROW_ASSIGN_OR_RAISE(auto tables, ToUpstream(batch, offset, &max_id));
      for (const auto& [type, rb] : tables) {
        ARROW_RETURN_NOT_OK(
            writer.Append("_part_id=00000000-0000-4000-8000-000000000001", type, rb));
      }
      offset += max_id + 1;
    }
    expected.push_back(std::move(request));
  }
  ARROW_RETURN_NOT_OK(writer.Close());
  return expected;
}

// Scenario: an upstream-style dataset (UInt16 un-offset resource.id / scope.id,
// dictionary columns, Int64 duration, Int64 exemplar double_value, UInt16 all-null
// inserted log ids, no compression), realistic logs and traces and metrics with two
// resources per request, rotated and in several row groups, not shuffled (upstream
// keeps the encoder's row order).
// Guarantees: with UpstreamResourcePolicy::kInferOffset the replay is equivalent to
// the input, resource and scope attributes included; with kDrop every root replays
// and no resource attribute is attached.
TEST(DatasetReaderTest, UpstreamStyleDatasetReplaysPerQ1Policy) {
  ScopedTempDir dir;
  generator::GeneratorOptions gen_options;
  gen_options.seed = 17;
  gen_options.items_per_scope = 3;
  gen_options.points_per_metric = 2;
  ASSERT_OK_AND_ASSIGN(
      auto expected,
      WriteUpstreamDataset(
          dir.path(), gen_options, {Signal::kLogs, Signal::kTraces, Signal::kMetrics}, 24,
          [](int i, otlp::OtlpRequest& request) {
            if (i != 6) return;
            // A logs request without any attributes: upstream inserts an all-null id,
            // and the Q1 policy cannot place its resources (counted as unresolved).
            for (auto& rl :
                 *std::get<otlp::LogsRequest>(request).mutable_resource_logs()) {
              rl.mutable_resource()->clear_attributes();
              for (auto& sl : *rl.mutable_scope_logs()) {
                sl.mutable_scope()->clear_attributes();
                for (auto& log : *sl.mutable_log_records()) log.clear_attributes();
              }
            }
          }));

  ReaderOptions options;
  options.batch_size = 10;
  ReaderStats stats;
  ASSERT_OK_AND_ASSIGN(auto actual, ReadAll(dir.path(), options, &stats));
  ASSERT_OK(otlp::CheckEquivalent(expected, actual));
  EXPECT_EQ(stats.orphan_rows, 0);
  EXPECT_EQ(stats.unresolved_resource_rows, 2 * 2 * 3);

  options.upstream_resource_policy = UpstreamResourcePolicy::kDrop;
  ASSERT_OK_AND_ASSIGN(actual, ReadAll(dir.path(), options, &stats));
  // The same telemetry without resource and scope attributes; resources and scopes
  // stay apart (never merged across batches or within one).
  for (auto& request : expected) {
    auto clear = [](auto& resource_entries, auto scopes_of) {
      for (auto& rx : resource_entries) {
        rx.mutable_resource()->clear_attributes();
        for (auto& sx : *scopes_of(rx)) sx.mutable_scope()->clear_attributes();
      }
    };
    if (auto* logs = std::get_if<otlp::LogsRequest>(&request)) {
      clear(*logs->mutable_resource_logs(),
            [](auto& r) { return r.mutable_scope_logs(); });
    } else if (auto* traces = std::get_if<otlp::TracesRequest>(&request)) {
      clear(*traces->mutable_resource_spans(),
            [](auto& r) { return r.mutable_scope_spans(); });
    } else {
      clear(*std::get<otlp::MetricsRequest>(request).mutable_resource_metrics(),
            [](auto& r) { return r.mutable_scope_metrics(); });
    }
  }
  ASSERT_OK(otlp::CheckEquivalent(expected, actual));
  EXPECT_EQ(stats.unresolved_resource_rows, 0);
}

// Scenario: upstream-style logs where every input batch has a single resource and
// scope (ids contiguous across batches, resource.id always 0: no visible boundary in
// the root stream).
// Guarantees: the Q1 policy still finds each batch's offset through the resource
// attribute parent ids, so every log gets its own batch's resource attributes.
TEST(DatasetReaderTest, UpstreamSingleResourceBatchesKeepTheirResources) {
  ScopedTempDir dir;
  generator::GeneratorOptions gen_options;
  gen_options.seed = 23;
  gen_options.resources_per_request = 1;
  gen_options.scopes_per_resource = 1;
  gen_options.items_per_scope = 6;
  ASSERT_OK_AND_ASSIGN(
      auto expected, WriteUpstreamDataset(dir.path(), gen_options, {Signal::kLogs}, 12));
  ReaderOptions options;
  options.batch_size = 8;
  ReaderStats stats;
  ASSERT_OK_AND_ASSIGN(auto actual, ReadAll(dir.path(), options, &stats));
  ASSERT_OK(otlp::CheckEquivalent(expected, actual));
  EXPECT_EQ(stats.upstream_batch_splits, 11);
  EXPECT_EQ(stats.unresolved_resource_rows, 0);
}

// Scenario: upstream-style traces and metrics from the edge-case generator (absent
// and empty resources and scopes, empty containers, boundary values).
// Guarantees: spans and metrics always carry ids from 0 in row order, so the Q1
// policy replays them exactly, resource and scope attributes included.
TEST(DatasetReaderTest, UpstreamEdgeCaseTracesAndMetricsReplayExactly) {
  ScopedTempDir dir;
  ASSERT_OK_AND_ASSIGN(auto expected,
                       WriteUpstreamDataset(dir.path(), EdgeCases(31),
                                            {Signal::kTraces, Signal::kMetrics}, 20));
  for (int64_t batch_size : {3, 100}) {
    ReaderOptions options;
    options.batch_size = batch_size;
    ReaderStats stats;
    ASSERT_OK_AND_ASSIGN(auto actual, ReadAll(dir.path(), options, &stats));
    ASSERT_OK(otlp::CheckEquivalent(expected, actual));
    EXPECT_EQ(stats.orphan_rows, 0);
  }
}

// Scenario: a two-partition logs dataset read chunk by chunk.
// Guarantees: position() names the current partition, signal and the root file / row
// of the next root, and every table's read frontier; partitions come in path order.
TEST(DatasetReaderTest, PositionTracksPartitionAndRootRow) {
  ScopedTempDir dir;
  generator::GeneratorOptions gen;
  ASSERT_OK_AND_ASSIGN(auto expected,
                       WriteGeneratedDataset(dir.path(), {Signal::kLogs}, 4, gen,
                                             RotatingWriteOptions(), 2));
  ReaderOptions options;
  options.batch_size = 10;
  ASSERT_OK_AND_ASSIGN(auto reader, DatasetReader::Make(LocalFs(), dir.path(), options));
  EXPECT_EQ(reader->position().partition_index, -1);
  ASSERT_OK_AND_ASSIGN(auto batch, reader->Next());
  ASSERT_TRUE(batch.has_value());
  auto pos = reader->position();
  EXPECT_EQ(pos.partition_index, 0);
  EXPECT_EQ(pos.partition_path, reader->plan().partitions[0].path);
  EXPECT_EQ(pos.signal, Signal::kLogs);
  EXPECT_THAT(pos.root_file, ::testing::HasSubstr("/logs/" + pos.partition_path + "/"));
  // The first file holds the whole first input batch (40 logs; rotation is checked
  // after each batch): the 11th root is its row 10.
  EXPECT_EQ(pos.root_row_in_file, 10);
  EXPECT_EQ(pos.tables.size(), PayloadTypesOf(Signal::kLogs).size());
  std::vector<std::string> partitions;
  while (batch) {
    const auto p = reader->position().partition_path;
    if (partitions.empty() || partitions.back() != p) partitions.push_back(p);
    ASSERT_OK_AND_ASSIGN(batch, reader->Next());
  }
  EXPECT_EQ(partitions.size(), 2u);
  EXPECT_TRUE(std::is_sorted(partitions.begin(), partitions.end()));
}

// Scenario: invalid options.
// Guarantees: Make fails with Invalid.
TEST(DatasetReaderTest, InvalidOptionsAreRejected) {
  ReaderOptions options;
  options.batch_size = 65536;
  ASSERT_RAISES(Invalid, DatasetReader::Make(LocalFs(), "/nonexistent", options));
  options.batch_size = 0;
  ASSERT_RAISES(Invalid, DatasetReader::Make(LocalFs(), "/nonexistent", options));
}

// One logs request of the generator, its OTLP form and its OTAP batches.
std::pair<otlp::OtlpRequest, std::vector<OtapBatch>> LogsRequest(uint64_t seed) {
  generator::GeneratorOptions gen;
  gen.seed = seed;
  gen.items_per_scope = 6;
  generator::OtlpGenerator generator(gen);
  otlp::OtlpRequest request(generator.NextLogs());
  auto batches = otlp::ToOtap(request).ValueOrDie();
  return {std::move(request), std::move(batches)};
}

// Writes `batches` with a DatasetWriter into `base` (one writer instance: a run of
// the exporter or of `convert`), with `part_id` forced when not empty.
void WriteWithWriter(const std::string& base, const std::vector<OtapBatch>& batches,
                     const std::string& part_id, int64_t rows_per_file = 0) {
  DatasetWriterSettings settings;
  settings.filesystem = LocalFs();
  settings.base_path = base;
  settings.fsync = false;
  if (!part_id.empty()) {
    // The first UUID is the writer's `_part_id`; file names stay unique.
    settings.new_uuid = [part_id, first = true]() mutable {
      if (!first) return RandomUuid();
      first = false;
      return part_id;
    };
  }
  WriterOptions options;
  if (rows_per_file > 0) options.target_rows_per_file = rows_per_file;
  auto writer = DatasetWriter::Make(options, {}, settings).ValueOrDie();
  std::vector<arrow::Future<>> acks;
  for (const auto& batch : batches) acks.push_back(writer->Write(batch));
  ASSERT_OK(writer->Close());
  for (auto& ack : acks) ASSERT_OK(ack.status());
}

// Scenario: two writers numbering ids from 0 in one id space, as after a restart of
// a writer without a fresh `_part_id` (forced to the same `_part_id`) or an old /
// upstream unpartitioned dataset (files moved directly under `<table>/`); next to it
// a partition of a third writer with many files per table.
// Guarantees: the shared id space is not replayed (no record gets another writer's
// attributes or resource), counted once in id_collisions, and FindIdCollision names
// both files; the clean partition replays exactly and is not reported.
TEST(DatasetReaderTest, TwoWritersInOneIdSpaceAreReportedNotJoined) {
  const std::string shared = "00000000-0000-4000-8000-000000000001";
  for (bool unpartitioned : {false, true}) {
    ScopedTempDir dir;
    WriteWithWriter(dir.path(), LogsRequest(1).second, shared);
    WriteWithWriter(dir.path(), LogsRequest(2).second, shared);
    if (unpartitioned) {
      for (const auto& table : stdfs::directory_iterator(dir.path())) {
        const auto part = table.path() / ("_part_id=" + shared);
        for (const auto& file : stdfs::directory_iterator(part)) {
          stdfs::rename(file.path(), table.path() / file.path().filename());
        }
        stdfs::remove(part);
      }
    }
    auto [clean_request, clean_batches] = LogsRequest(3);
    std::vector<OtapBatch> many;
    for (int i = 0; i < 5; ++i) {
      for (const auto& batch : clean_batches) many.push_back(batch);
    }
    WriteWithWriter(dir.path(), many, "", /*rows_per_file=*/20);
    std::vector<otlp::OtlpRequest> expected(5, clean_request);

    ASSERT_OK_AND_ASSIGN(auto plan, Discover(LocalFs(), dir.path(), {}));
    ASSERT_EQ(plan.partitions.size(), 2u);
    int collisions = 0;
    for (const auto& partition : plan.partitions) {
      auto collision = FindIdCollision(*LocalFs(), partition, {Signal::kLogs});
      if (partition.part_id.empty() || partition.part_id == shared) {
        ASSERT_TRUE(collision.has_value()) << partition.path;
        EXPECT_NE(collision->first_path, collision->second_path);
        EXPECT_THAT(collision->ToString(), ::testing::HasSubstr("/logs/"));
        ++collisions;
      } else {
        EXPECT_GT(partition.FilesOf(PT::kLogs).size(), 1u);
        EXPECT_FALSE(collision.has_value()) << collision->ToString();
      }
    }
    EXPECT_EQ(collisions, 1);

    ReaderOptions options;
    ReaderStats stats;
    ASSERT_OK_AND_ASSIGN(auto actual, ReadAll(dir.path(), options, &stats));
    ASSERT_OK(otlp::CheckEquivalent(expected, actual));
    EXPECT_EQ(stats.id_collisions, 1);
    EXPECT_EQ(stats.orphan_rows, 0);
  }
}

// Scenario: a base directory that does not exist.
// Guarantees: an empty replay, no error.
TEST(DatasetReaderTest, EmptyDatasetGivesNothing) {
  ASSERT_OK_AND_ASSIGN(
      auto reader, DatasetReader::Make(LocalFs(), "/nonexistent/otap", ReaderOptions{}));
  ASSERT_OK_AND_ASSIGN(auto batch, reader->Next());
  EXPECT_FALSE(batch.has_value());
}

}  // namespace
}  // namespace otap_parquet::dataset
