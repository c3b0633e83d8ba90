// SPDX-License-Identifier: Apache-2.0
#include "otap_parquet/dataset/compaction.h"

#include <filesystem>
#include <fstream>
#include <functional>
#include <string>
#include <tuple>
#include <vector>

#include <arrow/array/builder_binary.h>
#include <arrow/filesystem/localfs.h>
#include <arrow/io/file.h>
#include <arrow/io/interfaces.h>
#include <arrow/table.h>
#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <parquet/arrow/reader.h>
#include <parquet/arrow/writer.h>
#include <parquet/file_reader.h>

#include "otap_parquet/dataset/dataset_reader_test_util.h"
#include "otap_parquet/dataset/read_errors.h"
#include "otap_parquet/dataset/replanning_reader.h"
#include "otap_parquet/dataset/replay_checkpoint.h"
#include "otap_parquet/dataset/sharding.h"
#include "otap_parquet/otlp/equivalence.h"
#include "otap_parquet/storage/forwarding_file_system.h"
#include "otap_parquet/testing/gtest_util.h"
#include "otap_parquet/testing/object_store_like_fs.h"
#include "otap_parquet/testing/temp_dir.h"

namespace otap_parquet::dataset {
namespace {

namespace stdfs = std::filesystem;

const std::string kOld = "_part_id=00000000-0000-4000-8000-000000000001";
const std::string kNew =
    "_part_id=00000000-0000-4000-8000-000000000001.c00000000000000ab";

std::shared_ptr<arrow::fs::FileSystem> LocalFs() {
  return std::make_shared<arrow::fs::LocalFileSystem>();
}

// Discovery only lists names: the files need no Parquet content here.
void Touch(const std::string& base, const std::string& table, const std::string& part,
           const std::string& name) {
  const stdfs::path dir = stdfs::path(base) / table / part;
  stdfs::create_directories(dir);
  std::ofstream(dir / name) << "x";
}

// Old partition: logs a, b, c (10, 20, 30 roots) and their attributes; the new one
// holds the same 60 roots in two files (25, 35).
CompactionManifest Manifest(CompactionManifest::State state) {
  CompactionManifest m;
  m.state = state;
  m.partition = kNew;
  m.supersedes = kOld;
  m.created_unix_nano = 1;
  m.committed_unix_nano = state == CompactionManifest::State::kCommitted ? 2 : 0;
  m.old_files["logs"] = {
      {"part-1-a.parquet", 10}, {"part-2-b.parquet", 20}, {"part-3-c.parquet", 30}};
  m.old_files["log_attrs"] = {{"part-1-a.parquet", 40}};
  m.new_files["logs"] = {{"part-5-x.parquet", 25}, {"part-6-y.parquet", 35}};
  m.new_files["log_attrs"] = {{"part-5-x.parquet", 40}};
  return m;
}

void WriteLake(const std::string& base, bool new_complete = true) {
  for (const char* name : {"part-1-a.parquet", "part-2-b.parquet", "part-3-c.parquet"}) {
    Touch(base, "logs", kOld, name);
  }
  Touch(base, "log_attrs", kOld, "part-1-a.parquet");
  Touch(base, "logs", kNew, "part-5-x.parquet");
  if (new_complete) Touch(base, "logs", kNew, "part-6-y.parquet");
  Touch(base, "log_attrs", kNew, "part-5-x.parquet");
}

void Store(const std::string& base, const CompactionManifest& m) {
  stdfs::create_directories(stdfs::path(base) / kCompactionsDir);
  ASSERT_OK(WriteSmallFileAtomically(
      LocalFs(), base + "/_compactions/" + kNew.substr(9) + ".json", m.Serialize()));
}

std::vector<std::string> Paths(const DatasetPlan& plan) {
  std::vector<std::string> out;
  for (const auto& p : plan.partitions) out.push_back(p.path);
  return out;
}

TEST(CompactionManifestTest, RoundTripsAndRefusesGarbage) {
  const auto m = Manifest(CompactionManifest::State::kCommitted);
  ASSERT_OK_AND_ASSIGN(auto parsed, CompactionManifest::Parse(m.Serialize(), "m.json"));
  EXPECT_EQ(parsed, m);
  const std::string text = m.Serialize();
  EXPECT_FALSE(CompactionManifest::Parse(text.substr(0, text.size() / 2), "m").ok());
  EXPECT_FALSE(CompactionManifest::Parse("{\"format\": \"other\"}", "m").ok());
}

TEST(CompactionShardTest, CompactedPartitionGoesToTheShardOfItsOrigin) {
  EXPECT_EQ(CompactedPartId("abc", "01"), "abc.c01");
  EXPECT_EQ(CompactedPartId("abc.c01", "02"), "abc.c02");
  EXPECT_EQ(ShardKeyOf("date=2026-11-01/hour=03/" + kNew),
            "date=2026-11-01/hour=03/" + kOld);
  EXPECT_EQ(ShardKeyOf(kOld), kOld);
  for (int count = 2; count < 9; ++count) {
    for (int index = 0; index < count; ++index) {
      EXPECT_EQ(PartitionAssigned(kNew, {index, count}, 0, 1),
                PartitionAssigned(kOld, {index, count}, 0, 1));
    }
  }
}

// Local disk with a hook called before a directory is listed and before a file is
// opened for reading: a test runs another party's step at exactly that point.
class HookFs : public arrow::fs::LocalFileSystem {
 public:
  using LocalFileSystem::GetFileInfo;
  std::function<void(const std::string& dir)> before_list;
  std::function<void(const std::string& path)> before_open;

  arrow::Result<std::vector<arrow::fs::FileInfo>> GetFileInfo(
      const arrow::fs::FileSelector& select) override {
    if (before_list) before_list(select.base_dir);
    return LocalFileSystem::GetFileInfo(select);
  }
  arrow::Result<std::shared_ptr<arrow::io::InputStream>> OpenInputStream(
      const std::string& path) override {
    if (before_open) before_open(path);
    return LocalFileSystem::OpenInputStream(path);
  }
  arrow::Result<std::shared_ptr<arrow::io::RandomAccessFile>> OpenInputFile(
      const std::string& path) override {
    if (before_open) before_open(path);
    return LocalFileSystem::OpenInputFile(path);
  }
};

TEST(CompactionDiscoveryTest, ACompactionWithoutManifestIsHidden) {
  // A partition named like a compaction (`.c` + 16 hex) is shown only while a
  // committed manifest names it; other `_part_id`s are not affected.
  otap_parquet::testing::TempDir dir("compaction_none");
  WriteLake(dir.path());
  Touch(dir.path(), "logs", "_part_id=other.cat", "part-1-a.parquet");
  ASSERT_OK_AND_ASSIGN(auto plan, Discover(LocalFs(), dir.path()));
  EXPECT_EQ(Paths(plan), (std::vector<std::string>{kOld, "_part_id=other.cat"}));
  EXPECT_EQ(plan.hidden_partitions, 1);
  EXPECT_TRUE(IsCompactedPartId(kNew.substr(9)));
  EXPECT_FALSE(IsCompactedPartId(kOld.substr(9)));
  EXPECT_FALSE(IsCompactedPartId("other.cat"));
  EXPECT_FALSE(IsCompactedPartId("x.c00000000000000AB"));
}

TEST(CompactionDiscoveryTest, AbandonBetweenListingAndManifestsHidesThePartition) {
  // Interleaving: Discover lists the tables (the pending compaction's files are
  // there), then `compact` abandons it (new files deleted, then the manifest), then
  // Discover reads the manifests (none). The listing's new files must not show up
  // as a partition of their own next to the old one (every record twice).
  otap_parquet::testing::TempDir dir("compaction_abandon");
  WriteLake(dir.path());
  Store(dir.path(), Manifest(CompactionManifest::State::kPending));
  auto fs = std::make_shared<HookFs>();
  fs->before_list = [&](const std::string& listed) {
    if (!listed.ends_with(std::string(kCompactionsDir))) return;
    stdfs::remove_all(stdfs::path(dir.path()) / "logs" / kNew);
    stdfs::remove_all(stdfs::path(dir.path()) / "log_attrs" / kNew);
    stdfs::remove(stdfs::path(dir.path()) / kCompactionsDir / (kNew.substr(9) + ".json"));
  };
  ASSERT_OK_AND_ASSIGN(auto plan, Discover(fs, dir.path()));
  EXPECT_EQ(Paths(plan), std::vector<std::string>{kOld});
  EXPECT_EQ(plan.partitions[0].FilesOf(PayloadType::kLogs).size(), 3u);
}

TEST(CompactionDiscoveryTest, ManifestDeletedBetweenItsListingAndItsReadIsAbsent) {
  // Interleaving: the manifests are listed, then the abandon deletes one before it
  // is read: Discover does not fail, and the partition is hidden.
  otap_parquet::testing::TempDir dir("compaction_manifest_gone");
  WriteLake(dir.path());
  Store(dir.path(), Manifest(CompactionManifest::State::kPending));
  auto fs = std::make_shared<HookFs>();
  fs->before_open = [](const std::string& path) {
    if (path.ends_with(".json")) stdfs::remove(path);
  };
  ASSERT_OK_AND_ASSIGN(auto plan, Discover(fs, dir.path()));
  EXPECT_EQ(Paths(plan), std::vector<std::string>{kOld});
}

// A committed compaction of kOld into kNew, and the marker of a run killed while
// undoing it.
std::string CommittedLakeWithAbandonMarker(const std::string& base) {
  WriteLake(base);
  Store(base, Manifest(CompactionManifest::State::kCommitted));
  const std::string marker =
      base + "/_compactions/" + kNew.substr(9) + ".abandoning-00000000000000ab";
  std::ofstream(marker) << kNew << "\n";
  return marker;
}

int64_t OldLogFiles(const std::string& base) {
  return std::distance(stdfs::directory_iterator(stdfs::path(base) / "logs" / kOld),
                       stdfs::directory_iterator());
}

TEST(AbandonMarkerTest, StaleMarkerRemovedAndSupersededFilesDeletedAsCompactWould) {
  // A committed compaction whose superseded files a dead run's marker kept:
  // removing the marker lets compact's own cleanup delete them (grace passed).
  otap_parquet::testing::TempDir dir("abandon_marker_stale");
  const std::string marker = CommittedLakeWithAbandonMarker(dir.path());
  CompactOptions options;
  options.grace = std::chrono::milliseconds(0);
  ASSERT_OK_AND_ASSIGN(auto markers,
                       CleanStaleAbandonMarkers(LocalFs(), dir.path(), options));
  ASSERT_EQ(markers.size(), 1u);
  EXPECT_TRUE(markers[0].stale && markers[0].removed);
  ASSERT_TRUE(markers[0].cleanup.has_value());
  EXPECT_EQ(markers[0].cleanup->kind, CompactionCleanup::Kind::kRemovedSuperseded);
  EXPECT_EQ(markers[0].cleanup->files, 4);
  EXPECT_FALSE(stdfs::exists(marker));
  EXPECT_FALSE(stdfs::exists(stdfs::path(dir.path()) / "logs" / kOld));
  EXPECT_TRUE(
      stdfs::exists(stdfs::path(dir.path()) / "logs" / kNew / "part-5-x.parquet"));
}

TEST(AbandonMarkerTest, YoungMarkerAndDryRunKeepEverything) {
  otap_parquet::testing::TempDir dir("abandon_marker_young");
  const std::string marker = CommittedLakeWithAbandonMarker(dir.path());
  CompactOptions options;  // grace 1h: the marker was just written
  ASSERT_OK_AND_ASSIGN(auto young,
                       CleanStaleAbandonMarkers(LocalFs(), dir.path(), options));
  ASSERT_EQ(young.size(), 1u);
  EXPECT_FALSE(young[0].stale || young[0].removed);
  options.grace = std::chrono::milliseconds(0);
  options.dry_run = true;
  ASSERT_OK_AND_ASSIGN(auto dry,
                       CleanStaleAbandonMarkers(LocalFs(), dir.path(), options));
  ASSERT_EQ(dry.size(), 1u);
  EXPECT_TRUE(dry[0].stale);
  EXPECT_FALSE(dry[0].removed);
  EXPECT_TRUE(stdfs::exists(marker));
  EXPECT_EQ(OldLogFiles(dir.path()), 3);
}

TEST(AbandonMarkerTest, KeptWhileACompactHoldsTheLock) {
  // Local disk: a compact that is running holds .compact.lock; its own undo may be
  // under way, so nothing is touched.
  otap_parquet::testing::TempDir dir("abandon_marker_locked");
  const std::string marker = CommittedLakeWithAbandonMarker(dir.path());
  ASSERT_OK_AND_ASSIGN(auto lock, CompactLock::TryAcquire(dir.path()));
  ASSERT_TRUE(lock.has_value());
  CompactOptions options;
  options.grace = std::chrono::milliseconds(0);
  ASSERT_OK_AND_ASSIGN(auto markers,
                       CleanStaleAbandonMarkers(LocalFs(), dir.path(), options));
  ASSERT_EQ(markers.size(), 1u);
  EXPECT_TRUE(markers[0].compact_running);
  EXPECT_FALSE(markers[0].removed);
  EXPECT_TRUE(stdfs::exists(marker));
  EXPECT_EQ(OldLogFiles(dir.path()), 3);
}

TEST(CompactionDiscoveryTest, PendingHidesTheNewPartition) {
  otap_parquet::testing::TempDir dir("compaction_pending");
  WriteLake(dir.path());
  Store(dir.path(), Manifest(CompactionManifest::State::kPending));
  ASSERT_OK_AND_ASSIGN(auto plan, Discover(LocalFs(), dir.path()));
  EXPECT_EQ(Paths(plan), std::vector<std::string>{kOld});
  EXPECT_EQ(plan.hidden_partitions, 1);
  EXPECT_EQ(plan.partitions[0].FilesOf(PayloadType::kLogs).size(), 3u);
}

TEST(CompactionDiscoveryTest, CommittedReplacesTheSupersededFiles) {
  otap_parquet::testing::TempDir dir("compaction_committed");
  WriteLake(dir.path());
  Store(dir.path(), Manifest(CompactionManifest::State::kCommitted));
  ASSERT_OK_AND_ASSIGN(auto plan, Discover(LocalFs(), dir.path()));
  ASSERT_EQ(Paths(plan), std::vector<std::string>{kNew});
  ASSERT_NE(plan.partitions[0].compaction, nullptr);
  EXPECT_EQ(plan.partitions[0].compaction->supersedes, kOld);
  EXPECT_EQ(plan.superseded_files, 4);
}

TEST(CompactionDiscoveryTest, CommittedButNotFullyListedKeepsTheOldFiles) {
  // A listing taken before the commit (here: a new file missing) must not mix the
  // old partition's absence with an incomplete new one.
  otap_parquet::testing::TempDir dir("compaction_incomplete");
  WriteLake(dir.path(), /*new_complete=*/false);
  Store(dir.path(), Manifest(CompactionManifest::State::kCommitted));
  ASSERT_OK_AND_ASSIGN(auto plan, Discover(LocalFs(), dir.path()));
  EXPECT_EQ(Paths(plan), std::vector<std::string>{kOld});
  EXPECT_EQ(plan.partitions[0].FilesOf(PayloadType::kLogs).size(), 3u);
}

TEST(CompactionDiscoveryTest, FilesAddedAfterTheCompactionStayVisible) {
  otap_parquet::testing::TempDir dir("compaction_added");
  WriteLake(dir.path());
  Touch(dir.path(), "logs", kOld, "part-9-late.parquet");
  Store(dir.path(), Manifest(CompactionManifest::State::kCommitted));
  ASSERT_OK_AND_ASSIGN(auto plan, Discover(LocalFs(), dir.path()));
  ASSERT_EQ(Paths(plan), (std::vector<std::string>{kOld, kNew}));
  ASSERT_EQ(plan.partitions[0].FilesOf(PayloadType::kLogs).size(), 1u);
  EXPECT_TRUE(plan.partitions[0].FilesOf(PayloadType::kLogs)[0].path.ends_with(
      "part-9-late.parquet"));
}

class ResumeCompactedTest : public ::testing::Test {
 protected:
  void SetUp() override {
    WriteLake(dir_.path());
    manifest_ = Manifest(CompactionManifest::State::kCommitted);
    Store(dir_.path(), manifest_);
    ASSERT_OK_AND_ASSIGN(plan_, Discover(LocalFs(), dir_.path()));
    ASSERT_EQ(plan_.partitions.size(), 1u);
  }
  ResumePoint Resume(const UnitProgress* old) {
    return ResumeCompacted(manifest_, old, plan_.partitions[0], Signal::kLogs);
  }
  std::string NewFile(int i) {
    return plan_.partitions[0].FilesOf(PayloadType::kLogs)[i].path;
  }
  otap_parquet::testing::TempDir dir_{"compaction_resume"};
  CompactionManifest manifest_;
  DatasetPlan plan_;
};

TEST_F(ResumeCompactedTest, NotStartedReadsEverything) {
  auto resume = Resume(nullptr);
  EXPECT_FALSE(resume.skip);
  EXPECT_TRUE(resume.done_files.empty());
  UnitProgress none;
  resume = Resume(&none);
  EXPECT_FALSE(resume.skip);
  EXPECT_TRUE(resume.file.empty());
}

TEST_F(ResumeCompactedTest, FinishedSkipsTheNewPartition) {
  UnitProgress done;
  done.files_done = {"part-1-a.parquet", "part-2-b.parquet", "part-3-c.parquet"};
  EXPECT_TRUE(Resume(&done).skip);
}

TEST_F(ResumeCompactedTest, MiddleMapsToTheSameRoot) {
  // 10 + 20 roots done, 12 of the third file: root 42 of 60 = row 17 of the second
  // new file (25 + 35).
  UnitProgress middle;
  middle.files_done = {"part-1-a.parquet", "part-2-b.parquet"};
  middle.file = "part-3-c.parquet";
  middle.row = 12;
  auto resume = Resume(&middle);
  EXPECT_FALSE(resume.skip);
  EXPECT_EQ(resume.done_files, std::vector<std::string>{NewFile(0)});
  EXPECT_EQ(resume.file, NewFile(1));
  EXPECT_EQ(resume.row, 17);
  // Exactly at a file boundary: the first new file done, nothing of the second.
  middle.files_done = {"part-1-a.parquet"};
  middle.file = "part-2-b.parquet";
  middle.row = 15;
  resume = Resume(&middle);
  EXPECT_EQ(resume.done_files, std::vector<std::string>{NewFile(0)});
  EXPECT_TRUE(resume.file.empty());
}

TEST_F(ResumeCompactedTest, ProgressFollowsThroughReplayProgress) {
  std::map<ReplayUnit, UnitProgress> units;
  units[{Signal::kLogs, kOld}].files_done = {"part-1-a.parquet"};
  ReplayProgress progress(units);
  auto resume = progress.ResumeFor(plan_.partitions[0], Signal::kLogs);
  EXPECT_TRUE(resume.done_files.empty());
  EXPECT_EQ(resume.file, NewFile(0));
  EXPECT_EQ(resume.row, 10);
}

arrow::Result<std::vector<otlp::OtlpRequest>> ReadAll(const std::string& base) {
  ARROW_ASSIGN_OR_RAISE(auto reader, DatasetReader::Make(LocalFs(), base));
  std::vector<otlp::OtlpRequest> out;
  while (true) {
    ARROW_ASSIGN_OR_RAISE(auto batch, reader->Next());
    if (!batch) break;
    ARROW_RETURN_NOT_OK(batch->Validate());
    ARROW_ASSIGN_OR_RAISE(auto request, otlp::FromOtap(*batch));
    out.push_back(std::move(request));
  }
  return out;
}

// Compact() end to end on three id spaces of all signals in small files, by the copy
// of our files (files read whole or streamed) and by the reader's merge: the replay
// equals the generated input, one compacted partition per old one, the superseded
// files deleted (grace 0).
class CompactTest : public ::testing::TestWithParam<std::tuple<bool, int64_t>> {};

TEST_P(CompactTest, EveryRecordOfThreePartitionsKept) {
  otap_parquet::testing::TempDir dir("compaction_e2e");
  generator::GeneratorOptions gen;
  gen.items_per_scope = 4;
  testing::TestWriteOptions write;
  write.default_rotate_rows = 9;
  ASSERT_OK_AND_ASSIGN(auto expected,
                       testing::WriteGeneratedDataset(
                           dir.path(), {Signal::kLogs, Signal::kTraces, Signal::kMetrics},
                           9, gen, write, /*requests_per_partition=*/3));
  CompactOptions options;
  options.older_than = std::chrono::milliseconds(0);
  options.grace = std::chrono::milliseconds(0);
  options.fsync = false;
  options.copy_own_files = std::get<0>(GetParam());
  options.read_whole_file_bytes = std::get<1>(GetParam());
  options.writer.target_bytes_per_file = 1 << 20;
  ASSERT_OK_AND_ASSIGN(auto report, Compact(LocalFs(), dir.path(), options));
  EXPECT_EQ(report.compacted, 3);
  EXPECT_EQ(report.problems, 0);
  for (const auto& result : report.results) {
    EXPECT_EQ(result.copied, options.copy_own_files) << result.partition;
    // Attribute columns of other value types are all null in many row groups: made
    // as nulls, not read.
    if (result.copied) {
      EXPECT_GT(result.null_chunks, 0) << result.partition;
    }
  }
  ASSERT_OK_AND_ASSIGN(auto plan, Discover(LocalFs(), dir.path()));
  ASSERT_EQ(plan.partitions.size(), 3u);
  for (const auto& p : plan.partitions) {
    ASSERT_NE(p.compaction, nullptr) << p.path;
    EXPECT_EQ(p.FilesOf(PayloadType::kLogs).size(), 1u);
  }
  EXPECT_EQ(plan.superseded_files, 0);  // deleted, not merely hidden
  ASSERT_OK_AND_ASSIGN(auto actual, ReadAll(dir.path()));
  ASSERT_OK(otlp::CheckEquivalent(expected, actual));
  // Nothing more to do.
  ASSERT_OK_AND_ASSIGN(report, Compact(LocalFs(), dir.path(), options));
  EXPECT_EQ(report.compacted, 0);
}

INSTANTIATE_TEST_SUITE_P(CopyAndMerge, CompactTest,
                         ::testing::Combine(::testing::Bool(),
                                            ::testing::Values(0, 8 << 20)));

std::vector<std::string> ParquetFilesUnder(const std::string& dir) {
  std::vector<std::string> out;
  for (const auto& entry : stdfs::recursive_directory_iterator(dir)) {
    if (entry.path().extension() == ".parquet") out.push_back(entry.path().string());
  }
  std::sort(out.begin(), out.end());
  return out;
}

// The copy gathers the small row groups of many files of a table into batches of
// write_batch_size rows (1,024 at 16 KiB pages), cut there and where the table
// changes: every record kept, each table's rows in one file.
TEST(CompactCopyTest, RowGroupsGatheredAcrossFilesKeepEveryRecord) {
  otap_parquet::testing::TempDir dir("compaction_gather");
  generator::GeneratorOptions gen;
  gen.items_per_scope = 40;
  testing::TestWriteOptions write;
  write.default_rotate_rows = 300;
  write.row_group_rows = 70;
  ASSERT_OK_AND_ASSIGN(auto expected, testing::WriteGeneratedDataset(
                                          dir.path(), {Signal::kLogs}, 6, gen, write));
  CompactOptions options;
  options.older_than = std::chrono::milliseconds(0);
  options.grace = std::chrono::milliseconds(0);
  options.fsync = false;
  options.writer.data_page_size = 16 << 10;
  ASSERT_EQ(WriteBatchSize(options.writer), 1024);
  ASSERT_OK_AND_ASSIGN(auto report, Compact(LocalFs(), dir.path(), options));
  ASSERT_EQ(report.compacted, 1);
  ASSERT_TRUE(report.results[0].copied);
  const std::string attrs = dir.path() + "/log_attrs";
  const auto files = ParquetFilesUnder(attrs);
  ASSERT_EQ(files.size(), 1u);
  auto metadata = parquet::ParquetFileReader::OpenFile(files[0])->metadata();
  EXPECT_GT(metadata->num_rows(), 3 * 1024);  // several batches, one cut mid-file
  ASSERT_OK_AND_ASSIGN(auto actual, ReadAll(dir.path()));
  ASSERT_OK(otlp::CheckEquivalent(expected, actual));
}

// Object-store-like local files (small files written through OpenOutputStream, not
// renamed on disk) recording the paths written and deleted.
class ChangeRecordingFs final : public ForwardingFileSystem {
 public:
  ChangeRecordingFs()
      : ForwardingFileSystem(
            std::make_shared<otap_parquet::testing::ObjectStoreLikeFs>()) {}
  using ForwardingFileSystem::OpenOutputStream;

  arrow::Result<std::shared_ptr<arrow::io::OutputStream>> OpenOutputStream(
      const std::string& path,
      const std::shared_ptr<const arrow::KeyValueMetadata>& metadata) override {
    changed.push_back("write " + path);
    return ForwardingFileSystem::OpenOutputStream(path, metadata);
  }
  arrow::Status DeleteFile(const std::string& path) override {
    changed.push_back("delete " + path);
    return ForwardingFileSystem::DeleteFile(path);
  }

  std::vector<std::string> changed;
};

// Scenario: a file is published into the partition while it is compacted, so the
// run undoes its own pending compaction before its commit. Guarantees: the undo
// deletes the new partition and manifest and claims nothing (no abandon marker
// written or deleted: only this run could commit that manifest); the old files
// are read as before.
TEST(CompactUndoTest, OwnFailedCompactionIsUndoneWithoutAnAbandonMarker) {
  otap_parquet::testing::TempDir dir("compaction_own_undo");
  generator::GeneratorOptions gen;
  gen.items_per_scope = 4;
  ASSERT_OK_AND_ASSIGN(auto expected,
                       testing::WriteGeneratedDataset(dir.path(), {Signal::kLogs}, 4, gen,
                                                      testing::TestWriteOptions{}));
  const auto old_files = ParquetFilesUnder(dir.path() + "/logs");
  ASSERT_FALSE(old_files.empty());
  CompactOptions options;
  options.older_than = std::chrono::milliseconds(0);
  options.grace = std::chrono::milliseconds(0);
  options.fsync = false;
  options.crash_hook = [&](std::string_view point) {
    if (point != "written") return;
    // A writer adding to the partition.
    stdfs::copy_file(old_files[0],
                     stdfs::path(old_files[0]).replace_filename("part-late.parquet"));
  };
  // An object store has no directories to create; local files need this one.
  const stdfs::path compactions = stdfs::path(dir.path()) / kCompactionsDir;
  stdfs::create_directories(compactions);
  auto fs = std::make_shared<ChangeRecordingFs>();
  ASSERT_OK_AND_ASSIGN(auto report, Compact(fs, dir.path(), options));
  ASSERT_EQ(report.compacted, 0);
  ASSERT_EQ(report.results.size(), 1u);
  EXPECT_THAT(report.results[0].detail,
              ::testing::HasSubstr("the partition changed while compacting"));
  EXPECT_TRUE(std::any_of(fs->changed.begin(), fs->changed.end(), [](const auto& c) {
    return c.starts_with("delete ") && c.ends_with(".json");
  })) << "the pending manifest is deleted";
  for (const auto& change : fs->changed) {
    EXPECT_EQ(change.find(".abandoning-"), std::string::npos) << change;
  }
  EXPECT_TRUE(stdfs::is_empty(compactions));
  ASSERT_OK_AND_ASSIGN(auto plan, Discover(LocalFs(), dir.path()));
  ASSERT_EQ(plan.partitions.size(), 1u);
  EXPECT_EQ(plan.partitions[0].compaction, nullptr);
}

// Without statistics no column chunk is known to be all null: every one is read.
TEST(CompactCopyTest, WithoutStatisticsEveryColumnIsRead) {
  otap_parquet::testing::TempDir dir("compaction_no_stats");
  generator::GeneratorOptions gen;
  gen.items_per_scope = 4;
  testing::TestWriteOptions write;
  write.default_rotate_rows = 9;
  write.statistics = false;
  ASSERT_OK_AND_ASSIGN(
      auto expected,
      testing::WriteGeneratedDataset(
          dir.path(), {Signal::kLogs, Signal::kTraces, Signal::kMetrics}, 6, gen, write));
  CompactOptions options;
  options.older_than = std::chrono::milliseconds(0);
  options.grace = std::chrono::milliseconds(0);
  options.fsync = false;
  ASSERT_OK_AND_ASSIGN(auto report, Compact(LocalFs(), dir.path(), options));
  ASSERT_EQ(report.compacted, 1);
  EXPECT_TRUE(report.results[0].copied);
  EXPECT_EQ(report.results[0].null_chunks, 0);
  ASSERT_OK_AND_ASSIGN(auto actual, ReadAll(dir.path()));
  ASSERT_OK(otlp::CheckEquivalent(expected, actual));
}

// Rewrites `path` with column `name` stored as large_utf8: the same Parquet schema,
// another ARROW:schema (so another Arrow schema when read). The field keeps its
// nullability (the Parquet repetition).
void RewriteAsLargeString(const std::string& path, const std::string& name) {
  std::shared_ptr<arrow::Table> table;
  {
    ASSERT_OK_AND_ASSIGN(auto input, arrow::io::ReadableFile::Open(path));
    ASSERT_OK_AND_ASSIGN(auto reader,
                         parquet::arrow::OpenFile(input, arrow::default_memory_pool()));
    ASSERT_OK_AND_ASSIGN(table, reader->ReadTable());
  }
  const int index = table->schema()->GetFieldIndex(name);
  ASSERT_GE(index, 0);
  ASSERT_OK_AND_ASSIGN(auto dense, table->column(index)->chunk(0)->View(arrow::utf8()));
  const auto& strings = static_cast<const arrow::StringArray&>(*dense);
  arrow::LargeStringBuilder builder;
  for (int64_t i = 0; i < strings.length(); ++i) {
    if (strings.IsNull(i)) {
      ASSERT_OK(builder.AppendNull());
    } else {
      ASSERT_OK(builder.Append(strings.GetView(i)));
    }
  }
  ASSERT_OK_AND_ASSIGN(auto large, builder.Finish());
  ASSERT_EQ(table->column(index)->num_chunks(), 1);
  ASSERT_OK_AND_ASSIGN(
      table, table->SetColumn(
                 index, table->schema()->field(index)->WithType(arrow::large_utf8()),
                 std::make_shared<arrow::ChunkedArray>(large)));
  ASSERT_OK_AND_ASSIGN(auto sink, arrow::io::FileOutputStream::Open(path));
  ASSERT_OK(parquet::arrow::WriteTable(
      *table, arrow::default_memory_pool(), sink, 1 << 20,
      parquet::default_writer_properties(),
      parquet::ArrowWriterProperties::Builder().store_schema()->build()));
  ASSERT_OK(sink->Close());
}

// PlanCopy converts the schema of a footer only when its Parquet schema or its
// ARROW:schema differs from one already checked: a file whose Parquet schema equals
// its neighbours' but whose ARROW:schema reads another type is not copied (the
// reader's merge takes the partition), and no record is lost.
TEST(CompactCopyTest, FileWithAnotherArrowSchemaIsNotCopied) {
  otap_parquet::testing::TempDir dir("compaction_arrow_schema");
  generator::GeneratorOptions gen;
  gen.items_per_scope = 4;
  testing::TestWriteOptions write;
  write.default_rotate_rows = 9;
  ASSERT_OK_AND_ASSIGN(auto expected, testing::WriteGeneratedDataset(
                                          dir.path(), {Signal::kLogs}, 3, gen, write));
  const auto files = ParquetFilesUnder(dir.path() + "/log_attrs");
  ASSERT_GE(files.size(), 3u);
  RewriteAsLargeString(files[1], "key");
  CompactOptions options;
  options.older_than = std::chrono::milliseconds(0);
  options.grace = std::chrono::milliseconds(0);
  options.fsync = false;
  ASSERT_OK_AND_ASSIGN(auto report, Compact(LocalFs(), dir.path(), options));
  ASSERT_EQ(report.results.size(), 1u);
  EXPECT_FALSE(report.results[0].copied) << report.results[0].detail;
  ASSERT_OK_AND_ASSIGN(auto actual, ReadAll(dir.path()));
  ASSERT_OK(otlp::CheckEquivalent(expected, actual));
}

// Every interleaving of one reader with one compaction, forced by hooks (no timing):
// the compactor stopped at each of its steps ("pending": manifest written;
// "writing": first new file published; "written": all published; "committed";
// "removing": first superseded file deleted, grace 0) while a reader
// (a) lists and reads the dataset there: every record once;
// (b) listed the dataset before the compaction started and reads it there and after
//     the compaction finished: every record once, or VanishedFileError when a
//     superseded file it planned was deleted — never a silent loss; listing again
//     and resuming where it stood (ReplayProgress, as receiver:parquet does) then
//     yields every record once.
class CompactionInterleavingTest : public ::testing::TestWithParam<std::string> {
 protected:
  void SetUp() override {
    generator::GeneratorOptions gen;
    gen.items_per_scope = 4;
    testing::TestWriteOptions write;
    write.default_rotate_rows = 9;
    ASSERT_OK_AND_ASSIGN(
        expected_, testing::WriteGeneratedDataset(
                       dir_.path(), {Signal::kLogs, Signal::kTraces, Signal::kMetrics},
                       12, gen, write, /*requests_per_partition=*/6));
    options_.older_than = std::chrono::milliseconds(0);
    options_.grace = std::chrono::milliseconds(0);
    options_.fsync = false;
    // Files cut within a partition: "writing" comes before "written".
    options_.writer.target_bytes_per_file = 12 << 10;
  }

  // Reads from `reader` until its end or an error; keeps what it emitted in
  // `progress` (positions as receiver:parquet records them) and `out`.
  static arrow::Status Drain(DatasetReader& reader, ReplayProgress& progress,
                             std::vector<otlp::OtlpRequest>* out) {
    while (true) {
      ARROW_ASSIGN_OR_RAISE(auto batch, reader.Next());
      if (!batch) break;
      const ReaderPosition pos = reader.position();
      const auto& partition = reader.plan().partitions[pos.partition_index];
      progress.Emitted({pos.signal, pos.partition_path},
                       partition.FilesOf(RootPayloadType(pos.signal)), pos.root_file,
                       pos.root_row_in_file, batch->num_items());
      ARROW_ASSIGN_OR_RAISE(auto request, otlp::FromOtap(*batch));
      out->push_back(std::move(request));
    }
    for (const auto& partition : reader.plan().partitions) {
      for (Signal signal : partition.signals) {
        progress.UnitDone({signal, partition.path},
                          partition.FilesOf(RootPayloadType(signal)));
      }
    }
    return arrow::Status::OK();
  }

  arrow::Result<std::unique_ptr<DatasetReader>> Open(ReplayProgress* progress,
                                                     int64_t batch_size = 65535) {
    ReaderOptions read;
    read.batch_size = batch_size;
    read.resume = [progress](const PartitionPlan& p, Signal signal) {
      return progress->ResumeFor(p, signal);
    };
    return DatasetReader::Make(LocalFs(), dir_.path(), read);
  }

  otap_parquet::testing::TempDir dir_{"compaction_interleaving"};
  std::vector<otlp::OtlpRequest> expected_;
  CompactOptions options_;
};

TEST_P(CompactionInterleavingTest, ReaderListingAtThisStepReadsEachRecordOnce) {
  bool reached = false;
  arrow::Status checked = arrow::Status::Invalid("not reached");
  options_.crash_hook = [&](std::string_view point) {
    if (point != GetParam()) return;
    reached = true;
    ReplayProgress progress;
    std::vector<otlp::OtlpRequest> actual;
    checked = [&]() -> arrow::Status {
      ARROW_ASSIGN_OR_RAISE(auto reader, Open(&progress));
      ARROW_RETURN_NOT_OK(Drain(*reader, progress, &actual));
      return otlp::CheckEquivalent(expected_, actual);
    }();
  };
  ASSERT_OK_AND_ASSIGN(auto report, Compact(LocalFs(), dir_.path(), options_));
  ASSERT_EQ(report.compacted, 2) << report.results[0].detail;
  ASSERT_TRUE(reached);
  ASSERT_OK(checked);
}

TEST_P(CompactionInterleavingTest, ReaderListedBeforeReadsOnceOrRelistsAndResumes) {
  // Read part of the dataset first (small batches), then the compaction runs to
  // its end with the reader's plan naming the old files; read on.
  ReplayProgress progress;
  std::vector<otlp::OtlpRequest> actual;
  ASSERT_OK_AND_ASSIGN(auto reader, Open(&progress, /*batch_size=*/3));
  for (int i = 0; i < 4; ++i) {
    ASSERT_OK_AND_ASSIGN(auto batch, reader->Next());
    ASSERT_TRUE(batch.has_value());
    const ReaderPosition pos = reader->position();
    const auto& partition = reader->plan().partitions[pos.partition_index];
    progress.Emitted({pos.signal, pos.partition_path},
                     partition.FilesOf(RootPayloadType(pos.signal)), pos.root_file,
                     pos.root_row_in_file, batch->num_items());
    ASSERT_OK_AND_ASSIGN(auto request, otlp::FromOtap(*batch));
    actual.push_back(std::move(request));
  }
  bool reached = false;
  arrow::Status read_at_step;
  options_.crash_hook = [&](std::string_view point) {
    if (point != GetParam()) return;
    reached = true;
    read_at_step = Drain(*reader, progress, &actual);
  };
  ASSERT_OK_AND_ASSIGN(auto report, Compact(LocalFs(), dir_.path(), options_));
  ASSERT_TRUE(reached);
  int relists = 0;
  arrow::Status st = read_at_step;
  if (st.ok()) st = Drain(*reader, progress, &actual);  // nothing left: the end
  while (!st.ok()) {
    ASSERT_TRUE(IsVanishedFileError(st)) << st.ToString();
    ASSERT_LT(++relists, 10);
    ASSERT_OK_AND_ASSIGN(reader, Open(&progress, 3));
    st = Drain(*reader, progress, &actual);
  }
  // A later pass finds nothing new.
  ASSERT_OK_AND_ASSIGN(reader, Open(&progress, 3));
  ASSERT_OK(Drain(*reader, progress, &actual));
  ASSERT_OK(otlp::CheckEquivalent(expected_, actual));
}

TEST_F(CompactionInterleavingTest, SupersededFilesDeletedUnderAReaderAreNotSkipped) {
  // The reader listed the old files and read a part; the compaction commits and
  // (grace 0) deletes them; the reader reads on. Before: the vanished files were
  // skipped as unreadable and their records lost for good (its progress passed
  // them, so the compacted partition was skipped as already replayed).
  ReplayProgress progress;
  std::vector<otlp::OtlpRequest> actual;
  ASSERT_OK_AND_ASSIGN(auto reader, Open(&progress, /*batch_size=*/3));
  ASSERT_OK_AND_ASSIGN(auto first, reader->Next());
  ASSERT_TRUE(first.has_value());
  ASSERT_OK_AND_ASSIGN(auto request, otlp::FromOtap(*first));
  actual.push_back(std::move(request));
  const ReaderPosition pos = reader->position();
  progress.Emitted({pos.signal, pos.partition_path},
                   reader->plan().partitions[0].FilesOf(RootPayloadType(pos.signal)),
                   pos.root_file, pos.root_row_in_file, first->num_items());
  ASSERT_OK_AND_ASSIGN(auto report, Compact(LocalFs(), dir_.path(), options_));
  ASSERT_EQ(report.compacted, 2);
  auto st = Drain(*reader, progress, &actual);
  ASSERT_TRUE(IsVanishedFileError(st)) << st.ToString();
  EXPECT_EQ(reader->stats().corrupt_files, 0);
  ASSERT_OK_AND_ASSIGN(reader, Open(&progress, 3));
  ASSERT_OK(Drain(*reader, progress, &actual));
  ASSERT_OK(otlp::CheckEquivalent(expected_, actual));
}

// The same with ReplanningReader (what receiver:parquet's Replanner and `convert
// DATASET` share): the vanished file is listed again and read on inside Next(),
// every record once.
TEST_F(CompactionInterleavingTest, ReplanningReaderListsAgainAndResumes) {
  std::vector<otlp::OtlpRequest> actual;
  ASSERT_OK_AND_ASSIGN(
      auto reader,
      ReplanningReader::Make(
          [this](std::function<ResumePoint(const PartitionPlan&, Signal)> resume) {
            ReaderOptions read;
            read.batch_size = 3;
            read.resume = std::move(resume);
            return DatasetReader::Make(LocalFs(), dir_.path(), read);
          },
          Replanner(ReplanPolicy{}, util::EventLog::Null(), "")));
  ASSERT_OK_AND_ASSIGN(auto first, reader->Next());
  ASSERT_TRUE(first.has_value());
  ASSERT_OK_AND_ASSIGN(auto request, otlp::FromOtap(*first));
  actual.push_back(std::move(request));
  ASSERT_OK_AND_ASSIGN(auto report, Compact(LocalFs(), dir_.path(), options_));
  ASSERT_EQ(report.compacted, 2);
  while (true) {
    ASSERT_OK_AND_ASSIGN(auto batch, reader->Next());
    if (!batch) break;
    ASSERT_OK_AND_ASSIGN(auto r, otlp::FromOtap(*batch));
    actual.push_back(std::move(r));
  }
  EXPECT_EQ(reader->replans(), 1);
  EXPECT_EQ(reader->stats().corrupt_files, 0);
  EXPECT_GT(reader->stats().files_read, reader->reader().stats().files_read);
  ASSERT_OK(otlp::CheckEquivalent(expected_, actual));
}

INSTANTIATE_TEST_SUITE_P(Steps, CompactionInterleavingTest,
                         ::testing::Values("pending", "writing", "written", "committed",
                                           "removing"));

}  // namespace
}  // namespace otap_parquet::dataset
