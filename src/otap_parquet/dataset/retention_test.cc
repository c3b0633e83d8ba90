// SPDX-License-Identifier: Apache-2.0
#include "otap_parquet/dataset/retention.h"

#include <filesystem>
#include <fstream>
#include <functional>
#include <string>
#include <utility>
#include <vector>

#include <arrow/filesystem/localfs.h>
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include "otap_parquet/dataset/dataset_reader_test_util.h"
#include "otap_parquet/testing/gtest_util.h"
#include "otap_parquet/testing/temp_dir.h"

namespace otap_parquet::dataset {
namespace {

namespace stdfs = std::filesystem;

constexpr int64_t kSecond = 1'000'000'000;
const std::string kFirst = "_part_id=00000000-0000-4000-8000-000000000001";

std::shared_ptr<arrow::fs::FileSystem> LocalFs() {
  return std::make_shared<arrow::fs::LocalFileSystem>();
}

// Three id spaces of all signals, small files.
void WriteLake(const std::string& base, bool statistics = true) {
  ASSERT_OK(testing::WriteSmallLake(base, statistics));
}

// Directories under `base` (recursively) whose path contains `needle`.
std::vector<std::string> DirsContaining(const std::string& base,
                                        const std::string& needle) {
  std::vector<std::string> out;
  for (const auto& entry : stdfs::recursive_directory_iterator(base)) {
    if (entry.is_directory() && entry.path().string().find(needle) != std::string::npos)
      out.push_back(entry.path().string());
  }
  return out;
}

int64_t ParquetFiles(const std::string& base) {
  int64_t n = 0;
  for (const auto& entry : stdfs::recursive_directory_iterator(base)) {
    if (entry.is_regular_file() && entry.path().extension() == ".parquet") ++n;
  }
  return n;
}

// The local file system, calling `before_delete` once, just before the first
// deletion: a writer publishing between the listing and the delete, deterministically.
class PublishBeforeDeleteFs : public arrow::fs::LocalFileSystem {
 public:
  std::function<void()> before_delete;

  arrow::Status DeleteFile(const std::string& path) override {
    Publish();
    return arrow::fs::LocalFileSystem::DeleteFile(path);
  }
  arrow::Status DeleteDir(const std::string& path) override {
    Publish();
    return arrow::fs::LocalFileSystem::DeleteDir(path);
  }
  arrow::Status DeleteDirContents(const std::string& path, bool missing_dir_ok) override {
    Publish();
    return arrow::fs::LocalFileSystem::DeleteDirContents(path, missing_dir_ok);
  }

 private:
  void Publish() {
    if (auto hook = std::exchange(before_delete, nullptr)) hook();
  }
};

// A checkpoint that finished every root file of `partition` except, when
// `unfinished` is set, the last of that signal.
RetentionCheckpoint CheckpointOf(const std::string& uri, const PartitionInfo& partition,
                                 std::optional<Signal> unfinished = std::nullopt) {
  RetentionCheckpoint ck;
  ck.name = "ck";
  ck.checkpoint.dataset = uri;
  for (const auto& [signal, files] : partition.stats.root_files) {
    UnitProgress& progress =
        ck.checkpoint.units[ReplayUnit{signal, partition.stats.path}];
    for (size_t i = 0; i < files.size(); ++i) {
      if (unfinished == signal && i + 1 == files.size()) {
        progress.file = files[i];
        progress.row = 1;
        continue;
      }
      progress.files_done.insert(files[i]);
    }
  }
  return ck;
}

// Scenario: partition paths with and without event-time directories, and malformed
// ones.
// Guarantees: date= gives the UTC day, date=/hour= the hour, as [start, end) in ns;
// no date or a malformed value gives none.
TEST(RetentionTest, DirectoryTimeRange) {
  const int64_t day = 1'793'404'800 * kSecond;  // 2026-10-31T00:00:00Z
  auto r = DirectoryTimeRange("date=2026-10-31/_part_id=x");
  ASSERT_TRUE(r.has_value());
  EXPECT_EQ(r->first, day);
  EXPECT_EQ(r->second, day + 86'400 * kSecond);
  r = DirectoryTimeRange("date=2026-10-31/hour=23/_part_id=x");
  ASSERT_TRUE(r.has_value());
  EXPECT_EQ(r->first, day + 23 * 3'600 * kSecond);
  EXPECT_EQ(r->second, day + 24 * 3'600 * kSecond);
  r = DirectoryTimeRange("_part_id=x/date=2026-10-31/hour=05");  // upstream order
  ASSERT_TRUE(r.has_value());
  EXPECT_EQ(r->first, day + 5 * 3'600 * kSecond);
  EXPECT_FALSE(DirectoryTimeRange("_part_id=x").has_value());
  EXPECT_FALSE(DirectoryTimeRange("date=2026-1-31/_part_id=x").has_value());
  EXPECT_FALSE(DirectoryTimeRange("date=2026-10-31/hour=24").has_value());
  EXPECT_FALSE(DirectoryTimeRange("date=2026-13-01").has_value());
}

// Scenario: --partition selectors against partition paths.
// Guarantees: whole paths and leading whole segments match; a partial segment does
// not; a `_part_id=` segment matches at any level.
TEST(RetentionTest, PartitionMatches) {
  const std::string path = "date=2026-10-31/hour=23/_part_id=abc";
  EXPECT_TRUE(PartitionMatches(path, path));
  EXPECT_TRUE(PartitionMatches(path, "date=2026-10-31"));
  EXPECT_TRUE(PartitionMatches(path, "date=2026-10-31/hour=23/"));
  EXPECT_TRUE(PartitionMatches(path, "_part_id=abc"));
  EXPECT_FALSE(PartitionMatches(path, "date=2026-10-3"));
  EXPECT_FALSE(PartitionMatches(path, "hour=23"));
  EXPECT_FALSE(PartitionMatches(path, "_part_id=ab"));
  EXPECT_FALSE(PartitionMatches(path, path + "/x"));
  // A compaction of the id space holds its records: selected by the old names too.
  const std::string compacted = "date=2026-10-31/hour=23/_part_id=abc.c0123456789abcdef";
  EXPECT_TRUE(PartitionMatches(compacted, "_part_id=abc"));
  EXPECT_TRUE(PartitionMatches(compacted, path));
  EXPECT_TRUE(PartitionMatches(compacted, compacted));
  EXPECT_TRUE(PartitionMatches(compacted, "_part_id=abc.c0123456789abcdef"));
  EXPECT_FALSE(PartitionMatches(compacted, "_part_id=ab"));
  EXPECT_FALSE(PartitionMatches(path, "_part_id=abc.c0123456789abcdef"));
}

// Scenario: three id spaces of all signals, listed.
// Guarantees: one entry per id space with its signals and root file names; files,
// records and bytes sum to Inspect's totals; event times known with an exact max,
// so each partition's end is its last event time + 1 ns.
TEST(RetentionTest, ListPartitionsSumsToInspect) {
  otap_parquet::testing::TempDir dir("otap_retention_test");
  WriteLake(dir.path());
  ASSERT_OK_AND_ASSIGN(auto listing, ListPartitions(LocalFs(), dir.path()));
  ASSERT_OK_AND_ASSIGN(auto report, Inspect(LocalFs(), dir.path()));
  ASSERT_EQ(listing.partitions.size(), 3u);
  EXPECT_EQ(listing.partitions[0].stats.path, kFirst);
  int64_t files = 0, records = 0, bytes = 0;
  for (const auto& p : listing.partitions) {
    files += p.stats.files;
    records += p.stats.records;
    bytes += p.stats.bytes;
    EXPECT_EQ(p.stats.signals.size(), 3u);
    EXPECT_EQ(p.stats.root_files.size(), 3u);
    EXPECT_FALSE(p.directory_time.has_value());
    ASSERT_TRUE(p.stats.event_time.known());
    EXPECT_TRUE(p.stats.event_time.max_exact);
    EXPECT_EQ(p.EventTimeEnd(), p.stats.event_time.max + 1);
  }
  EXPECT_EQ(files, report.files());
  EXPECT_EQ(records, report.records());
  EXPECT_EQ(bytes, report.bytes());
}

// Scenario: one id space deleted by its _part_id, first as a dry run.
// Guarantees: the dry run deletes nothing; --apply removes every table's directory
// of that id space (none left anywhere) and only its files; the others stay listed.
TEST(RetentionTest, DeleteByPartitionRemovesEveryTable) {
  otap_parquet::testing::TempDir dir("otap_retention_test");
  WriteLake(dir.path());
  const int64_t before = ParquetFiles(dir.path());
  ASSERT_OK_AND_ASSIGN(auto listing, ListPartitions(LocalFs(), dir.path()));
  RetentionOptions options;
  options.partitions = {kFirst};
  ASSERT_OK_AND_ASSIGN(auto dry, DeletePartitions(LocalFs(), dir.path(), options));
  ASSERT_EQ(dry.selected.size(), 1u);
  EXPECT_EQ(dry.deleted_partitions(), 0);
  EXPECT_EQ(ParquetFiles(dir.path()), before);

  options.apply = true;
  ASSERT_OK_AND_ASSIGN(auto applied, DeletePartitions(LocalFs(), dir.path(), options));
  EXPECT_EQ(applied.deleted_partitions(), 1);
  EXPECT_EQ(applied.deleted_files(), listing.partitions[0].stats.files);
  EXPECT_EQ(ParquetFiles(dir.path()), before - listing.partitions[0].stats.files);
  EXPECT_THAT(DirsContaining(dir.path(), kFirst), ::testing::IsEmpty());
  ASSERT_OK_AND_ASSIGN(auto after, ListPartitions(LocalFs(), dir.path()));
  ASSERT_EQ(after.partitions.size(), 2u);
  EXPECT_EQ(after.partitions[0].stats.path, listing.partitions[1].stats.path);
}

// Scenario: the first id space expired and listed; a writer publishes another logs
// file into its directory after the listing, before the first deletion.
// Guarantees: only the listed files are deleted; the published file stays (with its
// directory) and is reported in files_kept; the other tables' directories are gone.
// The old code deleted the whole directory, the new file with it.
TEST(RetentionTest, FilePublishedAfterListingIsKept) {
  otap_parquet::testing::TempDir dir("otap_retention_test");
  WriteLake(dir.path());
  const std::string logs_dir = dir.path() + "/logs/" + kFirst;
  std::string existing;
  for (const auto& entry : stdfs::directory_iterator(logs_dir)) {
    existing = entry.path().string();
  }
  ASSERT_FALSE(existing.empty());
  const std::string late = logs_dir + "/9999999999999-late.parquet";
  auto fs = std::make_shared<PublishBeforeDeleteFs>();
  fs->before_delete = [&] { stdfs::copy_file(existing, late); };
  RetentionOptions options;
  options.partitions = {kFirst};
  options.apply = true;
  ASSERT_OK_AND_ASSIGN(auto report, DeletePartitions(fs, dir.path(), options));
  ASSERT_EQ(report.selected.size(), 1u);
  ASSERT_OK(report.selected[0].error);
  EXPECT_TRUE(stdfs::exists(late));
  EXPECT_THAT(report.selected[0].files_kept, ::testing::ElementsAre(late));
  EXPECT_EQ(report.kept_files(), 1);
  EXPECT_EQ(report.deleted_files(), report.selected[0].partition.stats.files);
  EXPECT_THAT(DirsContaining(dir.path(), kFirst), ::testing::ElementsAre(logs_dir));
}

// Scenario: --before later than every record, with a checkpoint that finished the
// first id space but not the logs of the second; then forced.
// Guarantees: the unfinished id space is kept and named (blocked = 1), the others
// deleted; with force it is deleted too.
TEST(RetentionTest, UnfinishedCheckpointBlocksUnlessForced) {
  otap_parquet::testing::TempDir dir("otap_retention_test");
  WriteLake(dir.path());
  ASSERT_OK_AND_ASSIGN(auto listing, ListPartitions(LocalFs(), dir.path()));
  RetentionCheckpoint ck = CheckpointOf(listing.uri, listing.partitions[0]);
  RetentionCheckpoint partial =
      CheckpointOf(listing.uri, listing.partitions[1], Signal::kLogs);
  RetentionCheckpoint other = CheckpointOf(listing.uri, listing.partitions[2]);
  for (auto* c : {&partial, &other}) ck.checkpoint.units.merge(c->checkpoint.units);
  EXPECT_TRUE(ck.Finished(listing.partitions[0]));
  EXPECT_FALSE(ck.Finished(listing.partitions[1]));

  RetentionOptions options;
  options.before_unix_nano = INT64_MAX;
  options.checkpoints = {ck};
  options.apply = true;
  ASSERT_OK_AND_ASSIGN(auto report, DeletePartitions(LocalFs(), dir.path(), options));
  EXPECT_EQ(report.blocked(), 1);
  EXPECT_EQ(report.deleted_partitions(), 2);
  ASSERT_EQ(report.selected.size(), 3u);
  EXPECT_THAT(report.selected[1].unfinished_by, ::testing::ElementsAre("ck"));
  ASSERT_OK_AND_ASSIGN(auto left, ListPartitions(LocalFs(), dir.path()));
  ASSERT_EQ(left.partitions.size(), 1u);
  EXPECT_EQ(left.partitions[0].stats.path, listing.partitions[1].stats.path);

  options.force = true;
  ASSERT_OK_AND_ASSIGN(auto forced, DeletePartitions(LocalFs(), dir.path(), options));
  EXPECT_EQ(forced.deleted_partitions(), 1);
  EXPECT_EQ(ParquetFiles(dir.path()), 0);
}

// Scenario: a shard's checkpoint (receiver:parquet's `.shard-K-of-N` file) names only
// its own partitions.
// Guarantees: partitions of other shards are not its concern (finished for it).
TEST(RetentionTest, ShardCheckpointOnlyGuardsItsPartitions) {
  otap_parquet::testing::TempDir dir("otap_retention_test");
  WriteLake(dir.path());
  ASSERT_OK_AND_ASSIGN(auto listing, ListPartitions(LocalFs(), dir.path()));
  RetentionCheckpoint ck;
  ck.checkpoint.dataset = listing.uri;
  ck.shard = Shard{0, 2};
  for (const auto& p : listing.partitions) {
    EXPECT_EQ(ck.Finished(p), !PartitionAssigned(p.stats.path, *ck.shard, 0, 1))
        << p.stats.path;
  }
}

// Scenario: a checkpoint of another dataset.
// Guarantees: Invalid naming both; nothing deleted.
TEST(RetentionTest, CheckpointOfAnotherDatasetIsAnError) {
  otap_parquet::testing::TempDir dir("otap_retention_test");
  WriteLake(dir.path());
  const int64_t before = ParquetFiles(dir.path());
  RetentionOptions options;
  options.before_unix_nano = INT64_MAX;
  options.apply = true;
  options.checkpoints.emplace_back();
  options.checkpoints[0].name = "ck";
  options.checkpoints[0].checkpoint.dataset = "file:///elsewhere";
  auto report = DeletePartitions(LocalFs(), dir.path(), options);
  ASSERT_FALSE(report.ok());
  EXPECT_THAT(report.status().message(), ::testing::HasSubstr("file:///elsewhere"));
  EXPECT_EQ(ParquetFiles(dir.path()), before);
}

// Scenario: --before later than every record, the first id space excluded (a
// running writer's own _part_id).
// Guarantees: it is kept, the other two deleted.
TEST(RetentionTest, ExcludedPartIdIsKept) {
  otap_parquet::testing::TempDir dir("otap_retention_test");
  WriteLake(dir.path());
  RetentionOptions options;
  options.before_unix_nano = INT64_MAX;
  options.apply = true;
  options.exclude_part_ids = {kFirst.substr(std::string("_part_id=").size())};
  ASSERT_OK_AND_ASSIGN(auto report, DeletePartitions(LocalFs(), dir.path(), options));
  EXPECT_EQ(report.deleted_partitions(), 2);
  ASSERT_OK_AND_ASSIGN(auto left, ListPartitions(LocalFs(), dir.path()));
  ASSERT_EQ(left.partitions.size(), 1u);
  EXPECT_EQ(left.partitions[0].stats.path, kFirst);
}

// Scenario: files written without column statistics, no event-time directories.
// Guarantees: no partition's end is known, so --before selects none (each listed
// as undetermined) and nothing is deleted.
TEST(RetentionTest, UnknownEventTimeIsNeverExpired) {
  otap_parquet::testing::TempDir dir("otap_retention_test");
  WriteLake(dir.path(), /*statistics=*/false);
  const int64_t before = ParquetFiles(dir.path());
  RetentionOptions options;
  options.before_unix_nano = INT64_MAX;
  options.apply = true;
  ASSERT_OK_AND_ASSIGN(auto report, DeletePartitions(LocalFs(), dir.path(), options));
  EXPECT_TRUE(report.selected.empty());
  EXPECT_EQ(report.undetermined.size(), 3u);
  EXPECT_EQ(ParquetFiles(dir.path()), before);
}

// Scenario: --before equal to a partition's last event time, then one past it.
// Guarantees: a partition with a record at the bound is kept; one past it expires.
TEST(RetentionTest, BeforeIsExclusive) {
  otap_parquet::testing::TempDir dir("otap_retention_test");
  WriteLake(dir.path());
  ASSERT_OK_AND_ASSIGN(auto listing, ListPartitions(LocalFs(), dir.path()));
  const int64_t last = listing.partitions[0].stats.event_time.max;
  RetentionOptions options;
  options.partitions = {kFirst};
  options.before_unix_nano = last;
  ASSERT_OK_AND_ASSIGN(auto at, DeletePartitions(LocalFs(), dir.path(), options));
  EXPECT_TRUE(at.selected.empty());
  options.before_unix_nano = last + 1;
  ASSERT_OK_AND_ASSIGN(auto past, DeletePartitions(LocalFs(), dir.path(), options));
  EXPECT_EQ(past.selected.size(), 1u);
}

// Scenario: --before later than every record, with the first id space's log_attrs
// directory replaced by a plain file, so its deletion fails after its roots went.
// Guarantees: the failure is in the report, naming the path; the other two id spaces
// are still deleted and counted (not lost with the error).
TEST(RetentionTest, FailedPartitionIsReportedAndOthersDeleted) {
  otap_parquet::testing::TempDir dir("otap_retention_test");
  WriteLake(dir.path());
  const std::string blocker = dir.path() + "/log_attrs/" + kFirst;
  ASSERT_TRUE(stdfs::is_directory(blocker));
  stdfs::remove_all(blocker);
  { std::ofstream(blocker) << "not a directory"; }
  ASSERT_OK_AND_ASSIGN(auto listing, ListPartitions(LocalFs(), dir.path()));
  ASSERT_EQ(listing.partitions.size(), 3u);
  ASSERT_EQ(listing.partitions[0].stats.path, kFirst);
  RetentionOptions options;
  options.before_unix_nano = INT64_MAX;
  options.apply = true;
  ASSERT_OK_AND_ASSIGN(auto report, DeletePartitions(LocalFs(), dir.path(), options));
  ASSERT_EQ(report.selected.size(), 3u);
  EXPECT_EQ(report.failed(), 1);
  EXPECT_FALSE(report.selected[0].deleted);
  EXPECT_THAT(report.selected[0].error.message(), ::testing::HasSubstr(blocker));
  EXPECT_EQ(report.deleted_partitions(), 2);
  EXPECT_TRUE(report.selected[1].deleted && report.selected[2].deleted);
  for (size_t i = 1; i < 3; ++i) {
    EXPECT_THAT(DirsContaining(dir.path(), listing.partitions[i].stats.path),
                ::testing::IsEmpty());
  }
}

}  // namespace
}  // namespace otap_parquet::dataset
