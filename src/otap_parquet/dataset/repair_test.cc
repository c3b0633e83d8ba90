// SPDX-License-Identifier: Apache-2.0
#include "otap_parquet/dataset/repair.h"

#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <filesystem>
#include <fstream>
#include <string>
#include <vector>

#include <arrow/filesystem/localfs.h>
#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <spdlog/sinks/null_sink.h>
#include <spdlog/spdlog.h>

#include "otap_parquet/dataset/compaction.h"
#include "otap_parquet/dataset/dataset_reader.h"
#include "otap_parquet/dataset/dataset_writer.h"
#include "otap_parquet/dataset/discovery.h"
#include "otap_parquet/generator/otlp_generator.h"
#include "otap_parquet/otlp/convert.h"
#include "otap_parquet/testing/gtest_util.h"
#include "otap_parquet/testing/object_store_like_fs.h"
#include "otap_parquet/testing/temp_dir.h"

namespace otap_parquet::dataset {
namespace {

namespace stdfs = std::filesystem;
using Clock = std::chrono::system_clock;
using PT = PayloadType;

// A fresh directory per test, removed afterwards.
class ScopedTempDir : public otap_parquet::testing::TempDir {
 public:
  ScopedTempDir() : otap_parquet::testing::TempDir("otap_repair_test") {}
};

std::shared_ptr<arrow::fs::FileSystem> LocalFs() {
  return std::make_shared<arrow::fs::LocalFileSystem>();
}

void Touch(const std::string& path, Clock::duration age = {}) {
  stdfs::create_directories(stdfs::path(path).parent_path());
  std::ofstream(path) << "x";
  if (age.count() > 0) {
    stdfs::last_write_time(path, stdfs::file_time_type::clock::now() - age);
  }
}

void Backdate(const std::string& dir, Clock::duration age) {
  for (const auto& entry : stdfs::recursive_directory_iterator(dir)) {
    if (entry.is_regular_file()) {
      stdfs::last_write_time(entry.path(), stdfs::file_time_type::clock::now() - age);
    }
  }
}

// Files of `table` under `base`, sorted.
std::vector<std::string> FilesOf(const std::string& base, std::string_view table) {
  std::vector<std::string> out;
  const auto dir = stdfs::path(base) / std::string(table);
  if (!stdfs::exists(dir)) return out;
  for (const auto& entry : stdfs::recursive_directory_iterator(dir)) {
    if (entry.is_regular_file()) out.push_back(entry.path().string());
  }
  std::sort(out.begin(), out.end());
  return out;
}

WriterOptions TestWriterOptions() {
  WriterOptions options;
  options.flush_when_older_than = std::chrono::milliseconds(0);
  return options;
}

// `_part_id` partitioning, with `date=/hour=` levels when `hourly`.
PartitioningOptions Partitioning(bool hourly) {
  PartitioningOptions partitioning;
  if (hourly) partitioning.event_time = TimeGranularity::kHour;
  return partitioning;
}

// Writes `flushes` flushes of `requests_per_flush` generated requests of `signal`
// with one writer (one `_part_id`), each flush a second after the previous one so
// that file names sort by flush.
void WriteDataset(const std::string& base, Signal signal, int flushes,
                  bool hourly = false) {
  DatasetWriterSettings settings;
  settings.filesystem = LocalFs();
  settings.base_path = base;
  settings.fsync = false;
  Clock::time_point now = Clock::now();
  settings.clock = [&now] { return now; };
  settings.logger = std::make_shared<spdlog::logger>(
      "test", std::make_shared<spdlog::sinks::null_sink_mt>());
  auto writer = DatasetWriter::Make(TestWriterOptions(), Partitioning(hourly), settings);
  ASSERT_OK(writer.status());
  generator::GeneratorOptions gen;
  gen.items_per_scope = 5;
  generator::OtlpGenerator generator(gen);
  for (int f = 0; f < flushes; ++f) {
    ASSERT_OK_AND_ASSIGN(auto batches, otlp::ToOtap(generator.Next(signal)));
    for (const auto& batch : batches) (void)(*writer)->Write(batch);
    ASSERT_OK((*writer)->Flush());
    now += std::chrono::seconds(1);
  }
  ASSERT_OK((*writer)->Close());
}

int64_t ReplayRoots(const std::string& base, int64_t* orphan_rows) {
  ReaderOptions options;
  auto reader = DatasetReader::Make(LocalFs(), base, options);
  EXPECT_TRUE(reader.ok()) << reader.status().ToString();
  int64_t roots = 0;
  while (true) {
    auto batch = (*reader)->Next();
    EXPECT_TRUE(batch.ok()) << batch.status().ToString();
    if (!batch.ok() || !*batch) break;
    roots += (*batch)->num_root_rows();
  }
  *orphan_rows = (*reader)->stats().orphan_rows;
  return roots;
}

// ---------------------------------------------------------------------------------
// Discovery never reads one file twice

// Scenario: a directory symlink loop inside a partition, a symlink to a sibling
// partition, a file symlink to a file that is listed anyway, a dangling symlink.
// Guarantees: each file is listed once (before: the loop listed its files once per
// level until ELOOP, 41 times); every skipped path is counted.
TEST(DiscoveryTest, DoesNotFollowDirectorySymlinks) {
  ScopedTempDir dir;
  const std::string logs = dir.path() + "/logs";
  Touch(logs + "/_part_id=a/part-1.parquet");
  Touch(logs + "/_part_id=b/part-2.parquet");
  stdfs::create_directory_symlink("..", logs + "/_part_id=a/loop");
  stdfs::create_directory_symlink(logs + "/_part_id=b", logs + "/_part_id=c");
  stdfs::create_symlink(logs + "/_part_id=b/part-2.parquet",
                        logs + "/_part_id=a/part-3.parquet");
  stdfs::create_symlink(logs + "/nowhere", logs + "/_part_id=a/part-4.parquet");

  ASSERT_OK_AND_ASSIGN(auto tree, ListTree(LocalFs(), logs));
  std::vector<std::string> names;
  for (const auto& info : tree.files) names.push_back(info.path());
  EXPECT_THAT(names, ::testing::ElementsAre(logs + "/_part_id=a/part-1.parquet",
                                            logs + "/_part_id=b/part-2.parquet"));
  // loop, _part_id=c, part-3 (same file as part-2), the dangling part-4 (which
  // Arrow's listing leaves out by itself: found by a second look).
  EXPECT_EQ(tree.skipped_entries, 4);

  DiscoveryOptions options;
  options.signals = {Signal::kLogs};
  ASSERT_OK_AND_ASSIGN(auto plan, Discover(LocalFs(), dir.path(), options));
  ASSERT_EQ(plan.partitions.size(), 2u);
  EXPECT_EQ(plan.partitions[0].path, "_part_id=a");
  EXPECT_EQ(plan.partitions[1].path, "_part_id=b");
  EXPECT_EQ(plan.partitions[0].FilesOf(PT::kLogs).size(), 1u);
  EXPECT_EQ(plan.skipped_entries, 4);
}

// Scenario: a table path that is a regular file next to a good table.
// Guarantees: discovery skips and counts it instead of failing the whole listing.
TEST(DiscoveryTest, TablePathThatIsAFileIsSkipped) {
  ScopedTempDir dir;
  Touch(dir.path() + "/logs/_part_id=a/part-1.parquet");
  Touch(dir.path() + "/log_attrs");
  DiscoveryOptions options;
  options.signals = {Signal::kLogs};
  ASSERT_OK_AND_ASSIGN(auto plan, Discover(LocalFs(), dir.path(), options));
  ASSERT_EQ(plan.partitions.size(), 1u);
  EXPECT_EQ(plan.skipped_entries, 1);
}

// ---------------------------------------------------------------------------------
// Temporary files

TEST(RepairTest, TempFileNames) {
  EXPECT_TRUE(IsWriterTempFileName(".part-1795000000000-abc.parquet.tmp"));
  EXPECT_FALSE(IsWriterTempFileName("part-1795000000000-abc.parquet"));
  EXPECT_FALSE(IsWriterTempFileName(".part-.parquet.tmp"));
  EXPECT_FALSE(IsWriterTempFileName(".part-1-a.parquet"));
}

// Scenario: an old temp file of a dead writer, an old temp file another process
// still holds locked (a live writer whose file stays open for hours), a young one.
// Guarantees: only the dead writer's old file is removed.
TEST(RepairTest, CleanStaleTempFilesKeepsLiveAndYoungFiles) {
  ScopedTempDir dir;
  const std::string dead = dir.path() + "/logs/_part_id=a/.part-1-dead.parquet.tmp";
  const std::string live = dir.path() + "/logs/_part_id=a/.part-2-live.parquet.tmp";
  const std::string young = dir.path() + "/log_attrs/_part_id=a/.part-3-new.parquet.tmp";
  const std::string data = dir.path() + "/logs/_part_id=a/part-4-x.parquet";
  Touch(dead, std::chrono::hours(2));
  Touch(live, std::chrono::hours(2));
  Touch(young);
  Touch(data, std::chrono::hours(2));
  ASSERT_OK_AND_ASSIGN(auto lock, TempFileLock::Acquire(live));
  EXPECT_TRUE(TempFileLock::IsHeld(live));
  EXPECT_FALSE(TempFileLock::IsHeld(dead));

  ASSERT_OK_AND_ASSIGN(
      auto dry, CleanStaleTempFiles(LocalFs(), dir.path(), std::chrono::hours(1), false));
  EXPECT_THAT(dry.stale, ::testing::ElementsAre(dead));
  EXPECT_EQ(dry.removed, 0);
  EXPECT_TRUE(stdfs::exists(dead));

  ASSERT_OK_AND_ASSIGN(auto applied, CleanStaleTempFiles(LocalFs(), dir.path(),
                                                         std::chrono::hours(1), true));
  EXPECT_EQ(applied.removed, 1);
  EXPECT_EQ(applied.in_use, 2);
  EXPECT_FALSE(stdfs::exists(dead));
  EXPECT_TRUE(stdfs::exists(live));
  EXPECT_TRUE(stdfs::exists(young));
  EXPECT_TRUE(stdfs::exists(data));
}

// Scenario: every core's writer cleans the same dataset at start; another one
// removes each stale file between this cleanup's listing and its delete.
// Guarantees: a file already gone is no error (no spurious temp_cleanup_errors,
// the rest is still cleaned) and is not counted as removed by this cleanup.
TEST(RepairTest, CleanStaleTempFilesToleratesAConcurrentCleanup) {
  class RacingFs final : public arrow::fs::LocalFileSystem {
   public:
    arrow::Status DeleteFile(const std::string& path) override {
      if (path.find("raced") != std::string::npos) stdfs::remove(path);
      return LocalFileSystem::DeleteFile(path);
    }
  };
  ScopedTempDir dir;
  const std::string raced = dir.path() + "/logs/_part_id=a/.part-1-raced.parquet.tmp";
  const std::string dead = dir.path() + "/logs/_part_id=a/.part-2-dead.parquet.tmp";
  Touch(raced, std::chrono::hours(2));
  Touch(dead, std::chrono::hours(2));
  ASSERT_OK_AND_ASSIGN(auto applied,
                       CleanStaleTempFiles(std::make_shared<RacingFs>(), dir.path(),
                                           std::chrono::hours(1), true));
  EXPECT_EQ(applied.removed, 1);
  EXPECT_THAT(applied.stale, ::testing::ElementsAre(dead));
  EXPECT_FALSE(stdfs::exists(raced));
  EXPECT_FALSE(stdfs::exists(dead));
}

// Scenario: a crashed writer left an old temp file; a new writer starts on the same
// dataset and writes.
// Guarantees: the writer removes it at Make() (counted), and its own open file is
// locked while it exists.
TEST(RepairTest, WriterRemovesStaleTempFilesAtStart) {
  ScopedTempDir dir;
  const std::string stale = dir.path() + "/logs/_part_id=old/.part-1-x.parquet.tmp";
  Touch(stale, std::chrono::hours(2));
  DatasetWriterSettings settings;
  settings.filesystem = LocalFs();
  settings.base_path = dir.path();
  settings.fsync = false;
  settings.logger = std::make_shared<spdlog::logger>(
      "test", std::make_shared<spdlog::sinks::null_sink_mt>());
  ASSERT_OK_AND_ASSIGN(auto writer, DatasetWriter::Make(TestWriterOptions(),
                                                        Partitioning(false), settings));
  EXPECT_FALSE(stdfs::exists(stale));
  EXPECT_EQ(writer->metrics().stale_temp_files_removed, 1);

  generator::OtlpGenerator generator({});
  ASSERT_OK_AND_ASSIGN(auto batches, otlp::ToOtap(generator.Next(Signal::kLogs)));
  (void)writer->Write(batches[0]);
  int temps = 0;
  for (const auto& path : FilesOf(dir.path(), "logs")) {
    if (!IsWriterTempFileName(stdfs::path(path).filename().string())) continue;
    ++temps;
    EXPECT_TRUE(TempFileLock::IsHeld(path)) << path;
  }
  EXPECT_EQ(temps, 1);
  ASSERT_OK(writer->Close());
}

// ---------------------------------------------------------------------------------
// Orphan child files

// Scenario: three flushes into one partition; the kill hit the third flush after its
// children were renamed, before the root (its logs file is deleted); plus a stale
// temp file. Event-time partitioning with `_part_id` innermost checks that any level
// order works.
// Guarantees: the dry run lists the third flush's child files and the temp file and
// removes nothing; --apply removes exactly them; a second run finds nothing; the
// replay then has no orphan rows and the first two flushes' records.
TEST(RepairTest, FindsAndRemovesOrphanChildFiles) {
  ScopedTempDir dir;
  WriteDataset(dir.path(), Signal::kLogs, 3, /*hourly=*/true);
  auto logs = FilesOf(dir.path(), "logs");
  ASSERT_EQ(logs.size(), 3u);
  const auto log_attrs = FilesOf(dir.path(), "log_attrs");
  ASSERT_EQ(log_attrs.size(), 3u);
  int64_t orphans_before = 0;
  const int64_t all_roots = ReplayRoots(dir.path(), &orphans_before);
  stdfs::remove(logs.back());
  const std::string temp =
      stdfs::path(logs.front()).parent_path().string() + "/.part-9-x.parquet.tmp";
  Touch(temp);
  Backdate(dir.path(), std::chrono::hours(2));

  RepairOptions options;
  ASSERT_OK_AND_ASSIGN(auto dry, Repair(LocalFs(), dir.path(), options));
  std::vector<std::string> found;
  for (const auto& f : dry.findings) {
    EXPECT_FALSE(f.removed);
    if (f.kind == RepairFinding::Kind::kOrphanChild) {
      found.push_back(f.uri);
      EXPECT_GT(f.rows, 0);
    }
  }
  // The third flush's child files (log_attrs, resource_attrs, ...), not the others.
  const auto orphans = static_cast<int64_t>(found.size());
  EXPECT_GE(orphans, 2);
  EXPECT_THAT(found, ::testing::Contains(::testing::HasSubstr(
                         stdfs::path(log_attrs.back()).filename().string())));
  EXPECT_EQ(dry.removable, orphans + 1);
  EXPECT_EQ(dry.removed, 0);
  EXPECT_EQ(dry.attention, 0);
  EXPECT_EQ(FilesOf(dir.path(), "log_attrs").size(), 3u);

  options.apply = true;
  ASSERT_OK_AND_ASSIGN(auto applied, Repair(LocalFs(), dir.path(), options));
  EXPECT_EQ(applied.removed, orphans + 1);
  EXPECT_EQ(FilesOf(dir.path(), "log_attrs").size(), 2u);
  EXPECT_FALSE(stdfs::exists(temp));
  EXPECT_TRUE(stdfs::exists(log_attrs[0]));
  EXPECT_TRUE(stdfs::exists(log_attrs[1]));

  ASSERT_OK_AND_ASSIGN(auto again, Repair(LocalFs(), dir.path(), options));
  EXPECT_TRUE(again.findings.empty());
  EXPECT_EQ(again.removed, 0);

  int64_t orphans_after = -1;
  const int64_t roots = ReplayRoots(dir.path(), &orphans_after);
  EXPECT_EQ(orphans_before, 0);
  EXPECT_EQ(orphans_after, 0);
  EXPECT_GT(roots, 0);
  EXPECT_LT(roots, all_roots);
}

// Scenario: `compact` killed between writing a manifest's temporary file and its
// rename (local disk: manifests are written to `.<name>.json.tmp-<pid>`, then
// renamed) left the temporary file in `_compactions/`; an old one, a young one (a
// compact writing it now), and a real manifest.
// Guarantees: repair reports the old one as a stale temporary file and --apply
// removes it; the young one and the manifest are kept. Failed on the old code:
// repair never looked in `_compactions/`, so the leftover stayed forever.
TEST(RepairTest, RemovesStaleManifestTempFiles) {
  ScopedTempDir dir;
  WriteDataset(dir.path(), Signal::kLogs, 1);
  Backdate(dir.path(), std::chrono::hours(2));
  const std::string compactions = dir.path() + "/_compactions/";
  const std::string stale = compactions + ".a.c0123456789abcdef.json.tmp-4242";
  const std::string young = compactions + ".b.c0123456789abcdef.json.tmp-4343";
  const std::string manifest = compactions + "a.c0123456789abcdef.json";
  Touch(stale, std::chrono::hours(2));
  Touch(young);
  Touch(manifest, std::chrono::hours(2));

  RepairOptions options;
  ASSERT_OK_AND_ASSIGN(auto dry, Repair(LocalFs(), dir.path(), options));
  ASSERT_EQ(dry.findings.size(), 1u);
  EXPECT_EQ(dry.findings[0].kind, RepairFinding::Kind::kStaleTemp);
  EXPECT_THAT(dry.findings[0].uri, ::testing::HasSubstr(".json.tmp-4242"));
  EXPECT_EQ(dry.removable, 1);
  EXPECT_EQ(dry.within_grace, 1);
  EXPECT_TRUE(stdfs::exists(stale));

  options.apply = true;
  ASSERT_OK_AND_ASSIGN(auto applied, Repair(LocalFs(), dir.path(), options));
  EXPECT_EQ(applied.removed, 1);
  EXPECT_FALSE(stdfs::exists(stale));
  EXPECT_TRUE(stdfs::exists(young));
  EXPECT_TRUE(stdfs::exists(manifest));
}

// Scenario: a partition whose only root file is gone, files younger than the grace
// period, traces (children of children: span_event_attrs under span_events).
// Guarantees: young orphans are reported as kept and not removed even with apply;
// once old, every child table including grandchildren is removed.
TEST(RepairTest, GracePeriodAndGrandchildren) {
  ScopedTempDir dir;
  WriteDataset(dir.path(), Signal::kTraces, 1);
  const auto spans = FilesOf(dir.path(), "spans");
  ASSERT_EQ(spans.size(), 1u);
  stdfs::remove(spans[0]);
  ASSERT_FALSE(FilesOf(dir.path(), "span_event_attrs").empty());

  RepairOptions options;
  options.apply = true;
  ASSERT_OK_AND_ASSIGN(auto young, Repair(LocalFs(), dir.path(), options));
  EXPECT_EQ(young.removed, 0);
  EXPECT_GT(young.within_grace, 0);
  EXPECT_FALSE(FilesOf(dir.path(), "span_event_attrs").empty());

  Backdate(dir.path(), std::chrono::hours(2));
  ASSERT_OK_AND_ASSIGN(auto old, Repair(LocalFs(), dir.path(), options));
  EXPECT_GT(old.removed, 0);
  for (PT type : PayloadTypesOf(Signal::kTraces)) {
    EXPECT_TRUE(FilesOf(dir.path(), TableName(type)).empty()) << TableName(type);
  }
}

// Scenario: the root file of a partition is unreadable (truncated).
// Guarantees: the partition is reported as unchecked and none of its children is
// removed (they would all look orphaned).
TEST(RepairTest, UnreadableParentLeavesPartitionUnchecked) {
  ScopedTempDir dir;
  WriteDataset(dir.path(), Signal::kLogs, 1);
  const auto logs = FilesOf(dir.path(), "logs");
  ASSERT_EQ(logs.size(), 1u);
  stdfs::resize_file(logs[0], 10);
  Backdate(dir.path(), std::chrono::hours(2));
  RepairOptions options;
  options.apply = true;
  ASSERT_OK_AND_ASSIGN(auto report, Repair(LocalFs(), dir.path(), options));
  EXPECT_EQ(report.removed, 0);
  EXPECT_EQ(report.attention, 1);
  ASSERT_EQ(report.findings.size(), 1u);
  EXPECT_EQ(report.findings[0].kind, RepairFinding::Kind::kUnchecked);
  EXPECT_EQ(FilesOf(dir.path(), "log_attrs").size(), 1u);
}

// Scenario: the marker of a compact killed while undoing a compaction, older than
// the grace period, while another compact holds the dataset's lock; then, the lock
// released, the same marker younger than the grace period.
// Guarantees: `repair --apply` keeps it both times; only the first finding says a
// compact is running (compact_running, which the CLI prints), both are within the
// grace period.
TEST(RepairTest, AbandonMarkerKeptWhileACompactRunsSaysSo) {
  ScopedTempDir dir;
  WriteDataset(dir.path(), Signal::kLogs, 1);
  const std::string marker = (stdfs::path(dir.path()) / std::string(kCompactionsDir) /
                              "0123456789abcdef.abandoning-00000000000000ab")
                                 .string();
  Touch(marker, std::chrono::hours(2));
  RepairOptions options;
  options.apply = true;
  options.grace_period = std::chrono::milliseconds(0);
  {
    ASSERT_OK_AND_ASSIGN(auto lock, CompactLock::TryAcquire(dir.path()));
    ASSERT_TRUE(lock.has_value());
    ASSERT_OK_AND_ASSIGN(auto report, Repair(LocalFs(), dir.path(), options));
    ASSERT_EQ(report.findings.size(), 1u);
    const auto& finding = report.findings[0];
    EXPECT_EQ(finding.kind, RepairFinding::Kind::kAbandonMarker);
    EXPECT_TRUE(finding.compact_running);
    EXPECT_TRUE(finding.within_grace);
    EXPECT_FALSE(finding.removed);
    EXPECT_TRUE(stdfs::exists(marker));
  }
  Touch(marker);
  options.grace_period = std::chrono::hours(1);
  ASSERT_OK_AND_ASSIGN(auto report, Repair(LocalFs(), dir.path(), options));
  ASSERT_EQ(report.findings.size(), 1u);
  EXPECT_EQ(report.findings[0].kind, RepairFinding::Kind::kAbandonMarker);
  EXPECT_FALSE(report.findings[0].compact_running);
  EXPECT_TRUE(report.findings[0].within_grace);
  EXPECT_TRUE(stdfs::exists(marker));
}

// Scenario: a copy of a partition's root file under another name (two writers'
// files numbering one id space), backdated.
// Guarantees: the copy is reported as duplicate-ids (its every id), needs attention
// and is never removed, even with apply; the original is no finding.
TEST(RepairTest, DuplicateRootIdsAreReportedNotRemoved) {
  ScopedTempDir dir;
  WriteDataset(dir.path(), Signal::kLogs, 1);
  const auto logs = FilesOf(dir.path(), "logs");
  ASSERT_EQ(logs.size(), 1u);
  const std::string copy = stdfs::path(logs[0]).parent_path() / "part-zz-copy.parquet";
  stdfs::copy_file(logs[0], copy);
  Backdate(dir.path(), std::chrono::hours(2));
  RepairOptions options;
  options.apply = true;
  ASSERT_OK_AND_ASSIGN(auto report, Repair(LocalFs(), dir.path(), options));
  EXPECT_EQ(report.removed, 0);
  EXPECT_EQ(report.attention, 1);
  ASSERT_EQ(report.findings.size(), 1u);
  const auto& finding = report.findings[0];
  EXPECT_EQ(finding.kind, RepairFinding::Kind::kDuplicateIds);
  EXPECT_THAT(finding.uri, ::testing::EndsWith("part-zz-copy.parquet"));
  EXPECT_GT(finding.duplicate_ids, 0);
  EXPECT_EQ(RepairKindName(finding.kind), "duplicate-ids");
  EXPECT_TRUE(stdfs::exists(copy));
}

// Scenario: a partition whose only root table is multivariate_metrics (here a
// logs root file moved there: the same id, resource.id, scope.id columns), with the
// resource (and scope) attributes that belong to it; backdated.
// Guarantees: the attributes join the multivariate root (roots are read before any
// child, whatever their table) and are kept, not removed as orphans.
TEST(RepairTest, AttributesOfAMultivariateRootAreNotOrphans) {
  ScopedTempDir dir;
  WriteDataset(dir.path(), Signal::kLogs, 1);
  const auto logs = FilesOf(dir.path(), "logs");
  ASSERT_EQ(logs.size(), 1u);
  const std::string partition =
      stdfs::relative(stdfs::path(logs[0]).parent_path(), dir.path() + "/logs");
  const auto root =
      stdfs::path(dir.path()) / "multivariate_metrics" / partition / "part-m.parquet";
  stdfs::create_directories(root.parent_path());
  stdfs::rename(logs[0], root);
  for (const auto& file : FilesOf(dir.path(), "log_attrs")) stdfs::remove(file);
  ASSERT_EQ(FilesOf(dir.path(), "resource_attrs").size(), 1u);
  const size_t scope_attrs = FilesOf(dir.path(), "scope_attrs").size();
  Backdate(dir.path(), std::chrono::hours(2));

  RepairOptions options;
  options.apply = true;
  ASSERT_OK_AND_ASSIGN(auto report, Repair(LocalFs(), dir.path(), options));
  for (const auto& f : report.findings) ADD_FAILURE() << f.uri << " " << f.detail;
  EXPECT_EQ(report.removed, 0);
  EXPECT_EQ(FilesOf(dir.path(), "resource_attrs").size(), 1u);
  EXPECT_EQ(FilesOf(dir.path(), "scope_attrs").size(), scope_attrs);
}

// A local file system on which another process (retention, compaction, a second
// repair) deletes every file just before this one does.
class RacingDeleteFs : public arrow::fs::LocalFileSystem {
 public:
  arrow::Status DeleteFile(const std::string& path) override {
    ARROW_RETURN_NOT_OK(LocalFileSystem::DeleteFile(path));  // the other process
    ++raced;
    return LocalFileSystem::DeleteFile(path);
  }
  int raced = 0;
};

// Scenario: `repair --apply` finds an old orphan child file and a stale temporary
// file, and another process deletes both between repair's listing and its removal.
// Guarantees: the removals count as done (the files are gone), the repair succeeds
// and reports nothing left; before, the NotFound failed the whole repair.
TEST(RepairTest, FileDeletedConcurrentlyCountsAsRemoved) {
  ScopedTempDir dir;
  WriteDataset(dir.path(), Signal::kLogs, 2);
  auto logs = FilesOf(dir.path(), "logs");
  ASSERT_EQ(logs.size(), 2u);
  stdfs::remove(logs.back());
  Touch(stdfs::path(logs.front()).parent_path().string() + "/.part-9-x.parquet.tmp");
  Backdate(dir.path(), std::chrono::hours(2));

  auto fs = std::make_shared<RacingDeleteFs>();
  RepairOptions options;
  options.apply = true;
  ASSERT_OK_AND_ASSIGN(auto report, Repair(fs, dir.path(), options));
  EXPECT_GE(fs->raced, 2);
  EXPECT_EQ(report.removed, fs->raced);
  EXPECT_EQ(report.removable, report.removed);
  for (const auto& f : report.findings) EXPECT_TRUE(f.removed) << f.uri;
  EXPECT_EQ(FilesOf(dir.path(), "log_attrs").size(), 1u);
}

// Scenario: a flush's child files are published and its root file is not yet, and
// every file looks older than the grace period (on an object store a file without
// our writer's finish time, upstream's, is aged by Last-Modified: the start of its
// upload). The root file is published while repair reads the partition.
// Guarantees: with --apply the children are kept (their root appeared after the
// listing) and the dataset has no orphan rows. They used to be removed.
TEST(RepairTest, ChildrenWhoseRootIsPublishedDuringRepairAreKept) {
  ScopedTempDir dir;
  WriteDataset(dir.path(), Signal::kLogs, 2);
  const auto logs = FilesOf(dir.path(), "logs");
  ASSERT_EQ(logs.size(), 2u);
  const std::string held = dir.path() + "/held.parquet";
  stdfs::rename(logs.back(), held);
  Backdate(dir.path(), std::chrono::hours(2));
  RepairOptions options;
  options.apply = true;
  bool published = false;
  options.progress_done = [&](int64_t, int64_t) {
    if (published) return;
    published = true;
    stdfs::rename(held, logs.back());
  };
  ASSERT_OK_AND_ASSIGN(auto report, Repair(LocalFs(), dir.path(), options));
  EXPECT_TRUE(published);
  EXPECT_EQ(report.removed, 0);
  EXPECT_EQ(FilesOf(dir.path(), "log_attrs").size(), 2u);
  int64_t orphan_rows = -1;
  EXPECT_GT(ReplayRoots(dir.path(), &orphan_rows), 0);
  EXPECT_EQ(orphan_rows, 0);
}

// Scenario: a flush's child files are complete but its root file is not there yet
// (a live writer still completing its upload), and every file's modification time
// is two hours back: an object store's Last-Modified of a multipart upload is the
// time the upload *started*, long before the writer finished the file.
// Guarantees: with the default grace period (1 h) nothing is removed: the age
// counts from the time the writer finished the file (footer), not from the
// modification time; once that is older than the grace period too (a crashed
// flush's leftovers), they are removed.
TEST(RepairTest, OrphanAgeCountsFromWhenTheWriterFinishedTheFile) {
  ScopedTempDir dir;
  WriteDataset(dir.path(), Signal::kLogs, 2);
  auto logs = FilesOf(dir.path(), "logs");
  ASSERT_EQ(logs.size(), 2u);
  stdfs::remove(logs.back());
  Backdate(dir.path(), std::chrono::hours(2));

  auto fs = std::make_shared<otap_parquet::testing::ObjectStoreLikeFs>();
  RepairOptions options;
  options.apply = true;
  ASSERT_OK_AND_ASSIGN(auto live, Repair(fs, dir.path(), options));
  EXPECT_EQ(live.removed, 0);
  EXPECT_GT(live.within_grace, 0);
  EXPECT_EQ(FilesOf(dir.path(), "log_attrs").size(), 2u);

  const auto later = Clock::now() + std::chrono::hours(2);
  options.clock = [later] { return later; };
  ASSERT_OK_AND_ASSIGN(auto crashed, Repair(fs, dir.path(), options));
  EXPECT_GT(crashed.removed, 0);
  EXPECT_EQ(FilesOf(dir.path(), "log_attrs").size(), 1u);
}

}  // namespace
}  // namespace otap_parquet::dataset
