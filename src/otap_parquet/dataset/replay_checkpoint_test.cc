// SPDX-License-Identifier: Apache-2.0
#include "otap_parquet/dataset/replay_checkpoint.h"

#include <algorithm>
#include <filesystem>
#include <fstream>
#include <functional>
#include <string>
#include <vector>

#include <unistd.h>

#include <arrow/filesystem/localfs.h>
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include "otap_parquet/dataset/compaction.h"
#include "otap_parquet/dataset/dataset_reader_test_util.h"
#include "otap_parquet/otlp/equivalence.h"
#include "otap_parquet/testing/gtest_util.h"
#include "otap_parquet/testing/temp_dir.h"

namespace otap_parquet::dataset {
namespace {

namespace stdfs = std::filesystem;
using PT = PayloadType;
using ::testing::HasSubstr;

// A fresh directory per test, removed afterwards.
class TempDir : public otap_parquet::testing::TempDir {
 public:
  TempDir() : otap_parquet::testing::TempDir("otap_checkpoint_test") {}
};

std::shared_ptr<arrow::fs::FileSystem> LocalFs() {
  return std::make_shared<arrow::fs::LocalFileSystem>();
}

ReplayCheckpoint SampleCheckpoint() {
  ReplayCheckpoint checkpoint;
  checkpoint.dataset = "file:///data/lake";
  checkpoint.units[{Signal::kLogs, "_part_id=a"}] = {
      {"part-1.parquet", "part-2.parquet"}, "part-3.parquet", 40, {}};
  checkpoint.units[{Signal::kTraces, "_part_id=b/date=2026-11-23"}] = {
      {"part-9.parquet"}, "", 0, {}};
  return checkpoint;
}

// Scenario: no checkpoint yet, then one saved and loaded again.
// Guarantees: a missing file is "none" (not an error); the loaded content equals the
// saved one; the temporary file is gone after the atomic rename.
TEST(CheckpointStoreTest, SaveLoadRoundTrip) {
  TempDir dir;
  CheckpointStore store(LocalFs(), dir.path() + "/sub/replay.json");
  ASSERT_OK_AND_ASSIGN(auto none, store.Load());
  EXPECT_FALSE(none.has_value());
  const ReplayCheckpoint saved = SampleCheckpoint();
  ASSERT_OK(store.Save(saved));
  ASSERT_OK(store.Save(saved));  // replaces
  ASSERT_OK_AND_ASSIGN(auto loaded, store.Load());
  ASSERT_TRUE(loaded.has_value());
  EXPECT_EQ(loaded->dataset, saved.dataset);
  EXPECT_EQ(loaded->units, saved.units);
  std::vector<std::string> names;
  for (const auto& entry : stdfs::directory_iterator(dir.path() + "/sub")) {
    names.push_back(entry.path().filename().string());
  }
  EXPECT_THAT(names, ::testing::ElementsAre("replay.json"));
}

// Scenario: a checkpoint with the time_range its progress was made with, and one
// of an older version without it.
// Guarantees: the range survives a round trip ("all" without one); absent, it
// reads as not recorded (empty), which the receiver takes as it is.
TEST(CheckpointStoreTest, TimeRangeRoundTrip) {
  EXPECT_EQ(TimeRangeKey(std::nullopt), "all");
  ReplayCheckpoint saved = SampleCheckpoint();
  saved.time_range = TimeRangeKey(TimeRange{10, 20});
  EXPECT_EQ(saved.time_range, "[10, 20)");
  ASSERT_OK_AND_ASSIGN(auto loaded, ReplayCheckpoint::Parse(saved.Serialize(1), "test"));
  EXPECT_EQ(loaded.time_range, "[10, 20)");
  EXPECT_EQ(loaded.units, saved.units);
  ASSERT_OK_AND_ASSIGN(auto old,
                       ReplayCheckpoint::Parse(SampleCheckpoint().Serialize(1), "test"));
  EXPECT_EQ(old.time_range, "");
}

// Scenario: a truncated checkpoint, garbage, another format, a directory.
// Guarantees: Load fails naming the file and the problem (no silent restart).
TEST(CheckpointStoreTest, CorruptCheckpointIsAnError) {
  TempDir dir;
  const std::string path = dir.path() + "/replay.json";
  const std::string good = SampleCheckpoint().Serialize(1);
  auto write = [&](const std::string& text) {
    std::ofstream(path, std::ios::trunc) << text;
  };
  CheckpointStore store(LocalFs(), path);
  for (const std::string& bad :
       {good.substr(0, good.size() / 2), good.substr(0, good.size() - 3),
        std::string("\x01\x02garbage{{"), std::string(""),
        std::string("{\"format\": \"other\", \"version\": 1, \"units\": []}\n# end\n"),
        std::string("{\"format\": \"otap-parquet-replay-checkpoint\", \"version\": 7, "
                    "\"units\": []}\n# end\n"),
        std::string("{\"format\": \"otap-parquet-replay-checkpoint\", \"version\": 1, "
                    "\"units\": [{\"signal\": \"events\", \"partition\": \"p\"}]}\n"
                    "# end\n")}) {
    write(bad);
    auto loaded = store.Load();
    ASSERT_FALSE(loaded.ok()) << bad;
    EXPECT_THAT(loaded.status().message(), HasSubstr(path));
    EXPECT_THAT(loaded.status().message(), HasSubstr("not a valid replay checkpoint"));
  }
  stdfs::remove(path);
  stdfs::create_directories(path);
  EXPECT_FALSE(store.Load().ok());
}

// Scenario: three batches of one unit emitted, acknowledged out of order; a Nack.
// Guarantees: the acknowledged state moves only over the contiguous acked prefix;
// files before the batch's end position count as done; a Nack holds it back; a
// unit's end marks all its root files done once everything before it is acked.
TEST(ReplayProgressTest, AckedPrefixOnly) {
  const ReplayUnit unit{Signal::kLogs, "_part_id=a"};
  const std::vector<PlannedFile> files = {{"/d/logs/_part_id=a/f1.parquet", 1},
                                          {"/d/logs/_part_id=a/f2.parquet", 1},
                                          {"/d/logs/_part_id=a/f3.parquet", 1}};
  ReplayProgress progress;
  const uint64_t b1 = progress.Emitted(unit, files, files[0].path, 5, 5);
  const uint64_t b2 = progress.Emitted(unit, files, files[1].path, 3, 5);
  const uint64_t b3 = progress.Emitted(unit, files, files[2].path, 2, 5);
  progress.UnitDone(unit, files);
  EXPECT_EQ(progress.lag_batches(), 3);
  EXPECT_EQ(progress.lag_items(), 15);
  // Emitted state: everything.
  EXPECT_EQ(progress.emitted().at(unit).files_done.size(), 3u);
  EXPECT_FALSE(progress.Acked(b3));
  EXPECT_FALSE(progress.Acked(b2));
  EXPECT_TRUE(progress.acked().empty() || progress.acked().at(unit).row == 0);
  EXPECT_EQ(progress.covered_batches(), 0);
  EXPECT_TRUE(progress.Acked(b1));           // 1, 2, 3 and the unit's end
  EXPECT_EQ(progress.covered_batches(), 3);  // batches only, not the unit's end
  const UnitProgress& acked = progress.acked().at(unit);
  EXPECT_EQ(acked.files_done.size(), 3u);
  EXPECT_EQ(acked.file, "");
  EXPECT_EQ(progress.lag_batches(), 0);

  ReplayProgress nacked;
  const uint64_t c1 = nacked.Emitted(unit, files, files[0].path, 5, 5);
  const uint64_t c2 = nacked.Emitted(unit, files, files[1].path, 3, 5);
  const uint64_t c3 = nacked.Emitted(unit, files, files[1].path, 8, 5);
  EXPECT_TRUE(nacked.Acked(c1));
  EXPECT_EQ(nacked.acked().at(unit).file, "f1.parquet");
  EXPECT_EQ(nacked.acked().at(unit).row, 5);
  nacked.Nacked(c2);
  EXPECT_FALSE(nacked.Acked(c3));
  EXPECT_EQ(nacked.acked().at(unit).row, 5);
  EXPECT_EQ(nacked.lag_batches(), 2);
  EXPECT_EQ(nacked.nacked(), 1);
}

// Scenario: ResumeFrom over a unit's root files.
// Guarantees: done files become ResumePoint::done_files (full paths), the file in
// progress its start row; all done → skip.
TEST(ReplayProgressTest, ResumePointFromProgress) {
  PartitionPlan partition;
  partition.path = "_part_id=a";
  partition.files[PT::kLogs] = {{"/d/logs/_part_id=a/f1.parquet", 1},
                                {"/d/logs/_part_id=a/f2.parquet", 1},
                                {"/d/logs/_part_id=a/f3.parquet", 1}};
  EXPECT_FALSE(ResumeFrom(nullptr, partition, Signal::kLogs).skip);
  UnitProgress progress{{"f1.parquet"}, "f2.parquet", 7, {}};
  ResumePoint resume = ResumeFrom(&progress, partition, Signal::kLogs);
  EXPECT_FALSE(resume.skip);
  EXPECT_THAT(resume.done_files, ::testing::ElementsAre("/d/logs/_part_id=a/f1.parquet"));
  EXPECT_EQ(resume.file, "/d/logs/_part_id=a/f2.parquet");
  EXPECT_EQ(resume.row, 7);
  progress.files_done = {"f1.parquet", "f2.parquet", "f3.parquet"};
  EXPECT_TRUE(ResumeFrom(&progress, partition, Signal::kLogs).skip);
  // A file added later to the partition is read.
  partition.files[PT::kLogs].push_back({"/d/logs/_part_id=a/f4.parquet", 1});
  resume = ResumeFrom(&progress, partition, Signal::kLogs);
  EXPECT_FALSE(resume.skip);
  EXPECT_EQ(resume.done_files.size(), 3u);
}

// Scenario: a partition is compacted while its replay stands in the middle of a
// root file (f1 done, 5 of f2's 10 roots replayed), and a writer adds f3 to the old
// partition after the compaction started (not superseded: it stays visible). The
// next pass replays the old partition's f3 first (path order), then the compacted
// partition; also after a restart from the acknowledged state.
// Guarantees: the compacted partition resumes after the 15 roots replayed from the
// superseded files, not after 10 (which would replay 5 roots twice).
TEST(ReplayProgressTest, CompactedPartitionResumesAfterFilesAddedToTheOldOne) {
  const std::string old_path = "_part_id=a";
  const std::string new_path = "_part_id=a.c0123456789abcdef";
  const ReplayUnit old_unit{Signal::kLogs, old_path};
  const std::vector<PlannedFile> before = {{"/d/logs/_part_id=a/f1.parquet", 1},
                                           {"/d/logs/_part_id=a/f2.parquet", 1}};
  ReplayProgress progress;
  ASSERT_TRUE(progress.Acked(progress.Emitted(old_unit, before, before[1].path, 5, 15)));

  auto manifest = std::make_shared<CompactionManifest>();
  manifest->state = CompactionManifest::State::kCommitted;
  manifest->partition = new_path;
  manifest->supersedes = old_path;
  const std::string logs(TableName(PT::kLogs));
  manifest->old_files[logs] = {{"f1.parquet", 10}, {"f2.parquet", 10}};
  manifest->new_files[logs] = {{"n1.parquet", 20}};
  PartitionPlan old_plan;
  old_plan.path = old_path;
  old_plan.files[PT::kLogs] = {{"/d/logs/_part_id=a/f3.parquet", 1}};
  PartitionPlan new_plan;
  new_plan.path = new_path;
  new_plan.files[PT::kLogs] = {{"/d/logs/" + new_path + "/n1.parquet", 1}};
  new_plan.compaction = manifest;

  ResumePoint resume = progress.ResumeFor(old_plan, Signal::kLogs);
  EXPECT_FALSE(resume.skip);
  EXPECT_EQ(resume.file, "");
  const auto& f3 = old_plan.FilesOf(PT::kLogs);
  ASSERT_TRUE(progress.Acked(progress.Emitted(old_unit, f3, f3[0].path, 4, 4)));
  progress.UnitDone(old_unit, f3);

  for (const bool restart : {false, true}) {
    SCOPED_TRACE(restart ? "after a restart" : "same process");
    ReplayCheckpoint checkpoint;
    checkpoint.units = progress.acked();
    ASSERT_OK_AND_ASSIGN(auto reloaded,
                         ReplayCheckpoint::Parse(checkpoint.Serialize(1), "test"));
    ReplayProgress restarted(reloaded.units);
    resume = (restart ? restarted : progress).ResumeFor(new_plan, Signal::kLogs);
    EXPECT_FALSE(resume.skip);
    EXPECT_TRUE(resume.done_files.empty());
    EXPECT_EQ(resume.file, new_plan.FilesOf(PT::kLogs)[0].path);
    EXPECT_EQ(resume.row, 15);
  }
}

// Scenario: as above (f2 left the plan at row 5 of 10, the old partition goes on
// with f3), then the compacted partition is replayed, first pending, then Acked;
// polling passes go on for a long time.
// Guarantees: the partial count of f2 stays in the acknowledged state until the
// compacted partition's own progress is acknowledged (a restart before that still
// resumes at root 15), then it is dropped from both states: `partial` does not grow
// with every compaction of a long-running replay.
TEST(ReplayProgressTest, PartialCountIsDroppedOnceTheCompactedPartitionIsAcked) {
  const std::string old_path = "_part_id=a";
  const std::string new_path = "_part_id=a.c0123456789abcdef";
  const ReplayUnit old_unit{Signal::kLogs, old_path};
  const ReplayUnit new_unit{Signal::kLogs, new_path};
  const std::vector<PlannedFile> before = {{"/d/logs/_part_id=a/f1.parquet", 1},
                                           {"/d/logs/_part_id=a/f2.parquet", 1}};
  ReplayProgress progress;
  ASSERT_TRUE(progress.Acked(progress.Emitted(old_unit, before, before[1].path, 5, 15)));

  auto manifest = std::make_shared<CompactionManifest>();
  manifest->state = CompactionManifest::State::kCommitted;
  manifest->partition = new_path;
  manifest->supersedes = old_path;
  const std::string logs(TableName(PT::kLogs));
  manifest->old_files[logs] = {{"f1.parquet", 10}, {"f2.parquet", 10}};
  manifest->new_files[logs] = {{"n1.parquet", 20}};
  PartitionPlan old_plan;
  old_plan.path = old_path;
  old_plan.files[PT::kLogs] = {{"/d/logs/_part_id=a/f3.parquet", 1}};
  PartitionPlan new_plan;
  new_plan.path = new_path;
  new_plan.files[PT::kLogs] = {{"/d/logs/" + new_path + "/n1.parquet", 1}};
  new_plan.compaction = manifest;

  const auto& f3 = old_plan.FilesOf(PT::kLogs);
  (void)progress.ResumeFor(old_plan, Signal::kLogs);
  ASSERT_TRUE(progress.Acked(progress.Emitted(old_unit, f3, f3[0].path, 4, 4)));
  progress.UnitDone(old_unit, f3);
  ASSERT_EQ(progress.acked().at(old_unit).partial.size(), 1u);

  const auto& n1 = new_plan.FilesOf(PT::kLogs);
  ResumePoint resume = progress.ResumeFor(new_plan, Signal::kLogs);
  ASSERT_EQ(resume.row, 15);
  const uint64_t token = progress.Emitted(new_unit, n1, n1[0].path, 18, 3);
  EXPECT_TRUE(progress.emitted().at(old_unit).partial.empty());
  // Not acknowledged yet: a restart now must still resume after root 15.
  ASSERT_EQ(progress.acked().at(old_unit).partial.size(), 1u);
  ReplayProgress restarted(progress.acked());
  EXPECT_EQ(restarted.ResumeFor(new_plan, Signal::kLogs).row, 15);

  ASSERT_TRUE(progress.Acked(token));
  EXPECT_TRUE(progress.acked().at(old_unit).partial.empty());
  EXPECT_EQ(progress.acked().at(new_unit).row, 18);
  // Later passes change nothing.
  progress.UnitDone(old_unit, f3);
  ASSERT_TRUE(progress.Acked(progress.Emitted(new_unit, n1, "", 0, 2)));
  EXPECT_TRUE(progress.acked().at(old_unit).partial.empty());
  EXPECT_TRUE(progress.emitted().at(old_unit).partial.empty());
  ReplayCheckpoint checkpoint;
  checkpoint.units = progress.acked();
  EXPECT_THAT(checkpoint.Serialize(1), ::testing::Not(::testing::HasSubstr("partial")));
}

struct Emitted {
  otlp::OtlpRequest request;
  uint64_t token = 0;
};

// Reads the whole dataset like receiver:parquet does (units finished in order),
// with `resume` from `acked` (nullptr = from the start).
arrow::Result<std::vector<Emitted>> ReplayWithProgress(
    const std::string& base, int64_t batch_size, ReplayProgress* progress,
    const std::function<bool(const PartitionPlan&)>& filter = nullptr,
    ReaderOptions options = {}) {
  options.batch_size = batch_size;
  options.partition_filter = filter;
  options.resume = [progress](const PartitionPlan& p, Signal s) {
    return progress->ResumeFor(p, s);
  };
  ARROW_ASSIGN_OR_RAISE(auto reader, DatasetReader::Make(LocalFs(), base, options));
  std::vector<Emitted> out;
  std::vector<std::pair<int, Signal>> units;
  for (size_t p = 0; p < reader->plan().partitions.size(); ++p) {
    for (Signal s : options.signals) {
      const auto& present = reader->plan().partitions[p].signals;
      if (std::find(present.begin(), present.end(), s) != present.end())
        units.emplace_back(static_cast<int>(p), s);
    }
  }
  size_t done = 0;
  auto finish_upto = [&](size_t upto) {
    for (; done < upto; ++done) {
      const auto& partition = reader->plan().partitions[units[done].first];
      progress->UnitDone({units[done].second, partition.path},
                         partition.FilesOf(RootPayloadType(units[done].second)));
    }
  };
  while (true) {
    ARROW_ASSIGN_OR_RAISE(auto batch, reader->Next());
    if (!batch) break;
    ARROW_RETURN_NOT_OK(batch->Validate());
    const auto pos = reader->position();
    for (size_t u = done; u < units.size(); ++u) {
      if (units[u].first == pos.partition_index && units[u].second == pos.signal) {
        finish_upto(u);
        break;
      }
    }
    const auto& partition =
        reader->plan().partitions[static_cast<size_t>(pos.partition_index)];
    Emitted e;
    e.token = progress->Emitted({pos.signal, pos.partition_path},
                                partition.FilesOf(RootPayloadType(pos.signal)),
                                pos.root_file, pos.root_row_in_file, batch->num_items());
    ARROW_ASSIGN_OR_RAISE(e.request, otlp::FromOtap(*batch));
    out.push_back(std::move(e));
  }
  finish_upto(units.size());
  return out;
}

// Scenario: a dataset with three partitions, every table rotating at its own row
// count (children in other files than their roots), rows shuffled, read in batches
// of 4; the first K batches are acknowledged (K from 0 to all), the rest are lost
// (a crash); a new reader resumes from the acknowledged state (a restart).
// Guarantees: acked batches + resumed batches = the dataset exactly (no loss, no
// duplicate); replayed-before root files are not read again; a third reader over the
// final state replays nothing.
TEST(ReplayResumeTest, ResumeReplaysExactlyTheUnacknowledgedRest) {
  TempDir dir;
  testing::TestWriteOptions write;
  write.rotate_rows = {{PT::kLogs, 9},       {PT::kLogAttrs, 23}, {PT::kResourceAttrs, 4},
                       {PT::kScopeAttrs, 6}, {PT::kSpans, 11},    {PT::kSpanEvents, 7}};
  write.default_rotate_rows = 13;
  write.row_group_rows = 3;
  generator::GeneratorOptions gen;
  gen.seed = 11;
  gen.mode = generator::Mode::kEdgeCases;
  gen.items_per_scope = 3;
  ASSERT_OK_AND_ASSIGN(auto expected, testing::WriteGeneratedDataset(
                                          dir.path(), {Signal::kLogs, Signal::kTraces},
                                          12, gen, write, /*requests_per_partition=*/4,
                                          /*max_root_rows=*/5));
  ReplayProgress first_pass;
  ASSERT_OK_AND_ASSIGN(auto all, ReplayWithProgress(dir.path(), 4, &first_pass));
  ASSERT_GT(all.size(), 10u);
  std::vector<size_t> cuts = {
      0, 1, 2, all.size() / 3, all.size() / 2, all.size() - 1, all.size()};
  for (size_t k : cuts) {
    SCOPED_TRACE("acked batches: " + std::to_string(k));
    ReplayProgress crashed;
    ASSERT_OK_AND_ASSIGN(auto before, ReplayWithProgress(dir.path(), 4, &crashed));
    std::vector<otlp::OtlpRequest> delivered;
    for (size_t i = 0; i < k; ++i) {
      crashed.Acked(before[i].token);
      delivered.push_back(before[i].request);
    }
    // Through the file format, as after a restart.
    ReplayCheckpoint checkpoint;
    checkpoint.units = crashed.acked();
    ASSERT_OK_AND_ASSIGN(auto reloaded,
                         ReplayCheckpoint::Parse(checkpoint.Serialize(1), "test"));
    ReplayProgress restarted(reloaded.units);
    ASSERT_OK_AND_ASSIGN(auto rest, ReplayWithProgress(dir.path(), 4, &restarted));
    EXPECT_EQ(rest.size(), all.size() - k);
    for (auto& e : rest) {
      restarted.Acked(e.token);
      delivered.push_back(std::move(e.request));
    }
    ASSERT_OK(otlp::CheckEquivalent(expected, delivered));
    ReplayProgress third(restarted.acked());
    ASSERT_OK_AND_ASSIGN(auto nothing, ReplayWithProgress(dir.path(), 4, &third));
    EXPECT_TRUE(nothing.empty());
  }
}

// Scenario: the same dataset split over 3 instances by partition.
// Guarantees: every partition goes to exactly one instance; together they replay
// the dataset exactly once.
TEST(ReplayResumeTest, PartitionFilterSplitsExactlyOnce) {
  TempDir dir;
  generator::GeneratorOptions gen;
  gen.seed = 5;
  ASSERT_OK_AND_ASSIGN(auto expected,
                       testing::WriteGeneratedDataset(dir.path(), {Signal::kLogs}, 9, gen,
                                                      testing::TestWriteOptions{},
                                                      /*requests_per_partition=*/1));
  std::vector<otlp::OtlpRequest> delivered;
  for (int core = 0; core < 3; ++core) {
    ReplayProgress progress;
    ASSERT_OK_AND_ASSIGN(
        auto part,
        ReplayWithProgress(dir.path(), 50, &progress, [core](const PartitionPlan& p) {
          return std::hash<std::string>{}(p.path) % 3 == static_cast<size_t>(core);
        }));
    for (auto& e : part) delivered.push_back(std::move(e.request));
  }
  ASSERT_OK(otlp::CheckEquivalent(expected, delivered));
}

// Scenario: logs, traces and metrics (exemplars, events, links, every attribute
// table) in three partitions, children rotating in other files than their roots,
// read in batches of 3, with and without a time_range cutting through the middle;
// a crash after every possible number K of acknowledged batches, then a restart.
// Guarantees: the acknowledged batches plus the resumed ones are exactly the
// uninterrupted replay (same records, each with its own children), whatever K.
TEST(ReplayResumeTest, EveryCrashPointResumesExactlyOnceWithTimeRange) {
  TempDir dir;
  testing::TestWriteOptions write;
  write.rotate_rows = {{PT::kLogs, 7}, {PT::kSpans, 10}, {PT::kUnivariateMetrics, 5}};
  write.default_rotate_rows = 17;
  write.row_group_rows = 3;
  generator::GeneratorOptions gen;
  gen.seed = 3;
  gen.items_per_scope = 3;
  const std::vector<Signal> signals = {Signal::kLogs, Signal::kTraces, Signal::kMetrics};
  ASSERT_OK_AND_ASSIGN(auto expected,
                       testing::WriteGeneratedDataset(dir.path(), signals, 6, gen, write,
                                                      /*requests_per_partition=*/2,
                                                      /*max_root_rows=*/5));
  size_t unranged_batches = 0;
  for (bool ranged : {false, true}) {
    SCOPED_TRACE(ranged ? "time_range" : "no time_range");
    ReaderOptions options;
    options.signals = signals;
    if (ranged) {
      const int64_t t0 = static_cast<int64_t>(gen.start_time_unix_nano);
      options.time_range = TimeRange{t0 + 20'000'000, t0 + 60'000'000};
    }
    ReplayProgress first_pass;
    ASSERT_OK_AND_ASSIGN(
        auto all, ReplayWithProgress(dir.path(), 3, &first_pass, nullptr, options));
    ASSERT_GT(all.size(), 10u);
    if (ranged) {
      EXPECT_LT(all.size(), unranged_batches);  // the range cuts
    }
    unranged_batches = all.size();
    std::vector<otlp::OtlpRequest> whole;
    for (auto& e : all) whole.push_back(e.request);
    if (!ranged) ASSERT_OK(otlp::CheckEquivalent(expected, whole));
    for (size_t k = 0; k <= all.size(); ++k) {
      SCOPED_TRACE("acked batches: " + std::to_string(k));
      ReplayProgress crashed;
      ASSERT_OK_AND_ASSIGN(auto before,
                           ReplayWithProgress(dir.path(), 3, &crashed, nullptr, options));
      std::vector<otlp::OtlpRequest> delivered;
      for (size_t i = 0; i < k; ++i) {
        crashed.Acked(before[i].token);
        delivered.push_back(before[i].request);
      }
      ReplayCheckpoint checkpoint;
      checkpoint.units = crashed.acked();
      ASSERT_OK_AND_ASSIGN(auto reloaded,
                           ReplayCheckpoint::Parse(checkpoint.Serialize(1), "test"));
      ReplayProgress restarted(reloaded.units);
      ASSERT_OK_AND_ASSIGN(
          auto rest, ReplayWithProgress(dir.path(), 3, &restarted, nullptr, options));
      for (auto& e : rest) delivered.push_back(std::move(e.request));
      ASSERT_OK(otlp::CheckEquivalent(whole, delivered));
    }
  }
}

}  // namespace
}  // namespace otap_parquet::dataset
