// SPDX-License-Identifier: Apache-2.0
#include "otap_parquet/dataset/tail_planner.h"

#include <filesystem>
#include <string>
#include <vector>

#include <unistd.h>

#include <arrow/filesystem/localfs.h>
#include <arrow/io/file.h>
#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <parquet/arrow/reader.h>
#include <parquet/file_reader.h>

#include "otap_parquet/dataset/dataset_reader_test_util.h"
#include "otap_parquet/testing/gtest_util.h"
#include "otap_parquet/testing/object_store_like_fs.h"
#include "otap_parquet/testing/temp_dir.h"

namespace otap_parquet::dataset {
namespace {

namespace stdfs = std::filesystem;
using PT = PayloadType;

// A fresh directory per test, removed afterwards.
class TempDir : public otap_parquet::testing::TempDir {
 public:
  TempDir() : otap_parquet::testing::TempDir("otap_tail_planner_test") {}
};

// Max (or min) of a UInt32-or-narrower column over a file (-1 for none).
int64_t BoundOfColumn(const std::string& path, const char* name, bool want_max) {
  auto input = arrow::io::ReadableFile::Open(path).ValueOrDie();
  auto arrow_reader =
      parquet::arrow::OpenFile(input, arrow::default_memory_pool()).ValueOrDie();
  auto table = arrow_reader->ReadTable().ValueOrDie();
  int64_t max = -1;
  auto column = table->GetColumnByName(name);
  if (!column) return max;
  for (const auto& chunk : column->chunks()) {
    for (int64_t i = 0; i < chunk->length(); ++i) {
      if (!chunk->IsValid(i)) continue;
      auto scalar = chunk->GetScalar(i).ValueOrDie();
      auto wide = scalar->CastTo(arrow::int64()).ValueOrDie();
      const int64_t v = static_cast<const arrow::Int64Scalar&>(*wide).value;
      max = max < 0 ? v : (want_max ? std::max(max, v) : std::min(max, v));
    }
  }
  return max;
}
int64_t MaxOfColumn(const std::string& path, const char* name) {
  return BoundOfColumn(path, name, true);
}
int64_t MinOfColumn(const std::string& path, const char* name) {
  return BoundOfColumn(path, name, false);
}

// One logs partition of 12 requests, its roots rotated every 10 rows and its log
// attributes every 7, so that several files of each hold ascending ids.
arrow::Status WriteRotatedLogs(const std::string& path) {
  testing::TestWriteOptions write;
  write.rotate_rows = {{PT::kLogs, 10}, {PT::kLogAttrs, 7}};
  write.default_rotate_rows = 1000;
  generator::GeneratorOptions gen;
  gen.seed = 5;
  gen.items_per_scope = 4;
  return testing::WriteGeneratedDataset(path, {Signal::kLogs}, 12, gen, write,
                                        /*requests_per_partition=*/1000,
                                        /*max_root_rows=*/6)
      .status();
}

// Scenario: a logs dataset (files rotated per table) discovered whole, then with its
// newest root file missing (not published yet), with a long and a zero grace period.
// Guarantees: whole: nothing held. Root missing: exactly the log_attrs files whose
// parent ids are all above the remaining roots' max id are held, as a suffix (one
// that straddles it is read: its visible parents need it now); resource
// and scope attributes are never held. Grace 0: nothing held, the files are released
// once (counted once over two passes), and with the unit skipped their rows above
// the roots are counted as orphans.
TEST(TailPlannerTest, HoldsChildrenAboveTheVisibleParents) {
  TempDir dir;
  ASSERT_OK(WriteRotatedLogs(dir.path()));
  auto fs = std::make_shared<arrow::fs::LocalFileSystem>();
  ASSERT_OK_AND_ASSIGN(auto whole, Discover(fs, dir.path()));
  ASSERT_EQ(whole.partitions.size(), 1u);
  ASSERT_GE(whole.partitions[0].FilesOf(PT::kLogs).size(), 3u);
  ASSERT_GE(whole.partitions[0].FilesOf(PT::kLogAttrs).size(), 3u);

  TailPlanner all(fs, std::chrono::hours(1));
  DatasetPlan plan = whole;
  ASSERT_OK(all.Apply(&plan, {}));
  EXPECT_EQ(all.stats().held_files, 0);
  EXPECT_EQ(plan.partitions[0].FilesOf(PT::kLogAttrs).size(),
            whole.partitions[0].FilesOf(PT::kLogAttrs).size());

  // The newest root file is not visible yet.
  DatasetPlan partial = whole;
  partial.partitions[0].files[PT::kLogs].pop_back();
  int64_t max_root = -1;
  for (const auto& f : partial.partitions[0].FilesOf(PT::kLogs)) {
    max_root = std::max(max_root, MaxOfColumn(f.path, "id"));
  }
  size_t expected_kept = 0;
  for (const auto& f : whole.partitions[0].FilesOf(PT::kLogAttrs)) {
    if (MinOfColumn(f.path, "parent_id") > max_root) break;
    ++expected_kept;
  }
  const size_t attr_files = whole.partitions[0].FilesOf(PT::kLogAttrs).size();
  ASSERT_LT(expected_kept, attr_files);
  {
    TailPlanner planner(fs, std::chrono::hours(1));
    DatasetPlan plan = partial;
    ASSERT_OK(planner.Apply(&plan, {}));
    const auto& kept = plan.partitions[0].FilesOf(PT::kLogAttrs);
    EXPECT_EQ(kept.size(), expected_kept);
    EXPECT_EQ(planner.stats().held_files,
              static_cast<int64_t>(attr_files - expected_kept));
    EXPECT_GT(planner.stats().held_rows, 0);
    EXPECT_EQ(plan.partitions[0].FilesOf(PT::kResourceAttrs).size(),
              whole.partitions[0].FilesOf(PT::kResourceAttrs).size());
    EXPECT_EQ(planner.stats().released_files, 0);
  }
  {
    TailPlanner planner(fs, std::chrono::milliseconds(0));
    for (int pass = 0; pass < 2; ++pass) {
      DatasetPlan plan = partial;
      ASSERT_OK(planner.Apply(&plan, [](const PartitionPlan&, Signal) { return true; }));
      EXPECT_EQ(plan.partitions[0].FilesOf(PT::kLogAttrs).size(), attr_files);
      EXPECT_EQ(planner.stats().held_files, 0);
    }
    EXPECT_EQ(planner.stats().released_files,
              static_cast<int64_t>(attr_files - expected_kept));
    EXPECT_GT(planner.stats().orphan_rows, 0);
  }
}

// Scenario: a polling replay on an object store lists a flush's child files while
// their root file is not published yet, and every file's Last-Modified is two hours
// back: for a multipart upload that is when the upload *started* (a writer that kept
// the file open long), not when the file appeared.
// Guarantees: the children are held for the grace period (1 h) counted from when
// the planner first listed them, not released at once to be read as orphans (their
// attributes lost to the replay). They used to be released at first sight.
TEST(TailPlannerTest, ObjectStoreChildrenAreHeldFromWhenFirstListed) {
  TempDir dir;
  ASSERT_OK(WriteRotatedLogs(dir.path()));
  const auto old = std::filesystem::file_time_type::clock::now() - std::chrono::hours(2);
  for (const auto& entry : stdfs::recursive_directory_iterator(dir.path())) {
    if (entry.is_regular_file()) stdfs::last_write_time(entry.path(), old);
  }
  auto fs = std::make_shared<otap_parquet::testing::ObjectStoreLikeFs>();
  ASSERT_OK_AND_ASSIGN(auto whole, Discover(fs, dir.path()));
  ASSERT_EQ(whole.partitions.size(), 1u);
  DatasetPlan partial = whole;
  partial.partitions[0].files[PT::kLogs].pop_back();
  TailPlanner planner(fs, std::chrono::hours(1));
  for (int pass = 0; pass < 2; ++pass) {
    DatasetPlan plan = partial;
    ASSERT_OK(planner.Apply(&plan, {}));
    EXPECT_GT(planner.stats().held_files, 0) << "pass " << pass;
    EXPECT_EQ(planner.stats().released_files, 0) << "pass " << pass;
    EXPECT_LT(plan.partitions[0].FilesOf(PT::kLogAttrs).size(),
              whole.partitions[0].FilesOf(PT::kLogAttrs).size());
  }
}

}  // namespace
}  // namespace otap_parquet::dataset
