// SPDX-License-Identifier: Apache-2.0
#include "otap_parquet/nodes/receivers/parquet/watcher.h"

#include <filesystem>
#include <fstream>

#include <gtest/gtest.h>

namespace otap_parquet::nodes {
namespace {

namespace fs = std::filesystem;

class DatasetWatcherTest : public ::testing::Test {
 protected:
  void SetUp() override {
    root_ = fs::temp_directory_path() /
            ("watcher-test-" +
             std::to_string(::testing::UnitTest::GetInstance()->random_seed()) + "-" +
             ::testing::UnitTest::GetInstance()->current_test_info()->name());
    fs::remove_all(root_);
    fs::create_directories(root_ / "logs");
  }
  void TearDown() override { fs::remove_all(root_); }

  static void Touch(const fs::path& path) { std::ofstream(path) << "x"; }

  fs::path root_;
};

TEST_F(DatasetWatcherTest, PublishedFilesInNewDirectoriesWake) {
  auto watcher = DatasetWatcher::Open(root_.string());
  ASSERT_TRUE(watcher.ok()) << watcher.status();
  auto& w = **watcher;
  EXPECT_EQ(w.directories(), 2);
  ASSERT_EQ(w.Changed().ValueOrDie(), false);

  // A new partition directory: a change by itself (files may predate its watch)...
  const fs::path part = root_ / "logs" / "date=2026-12-06" / "_part_id=a";
  fs::create_directories(part);
  EXPECT_TRUE(w.Changed().ValueOrDie());
  EXPECT_EQ(w.directories(), 4);
  // ...and it is watched: a temporary file renamed into place wakes, the temporary
  // file itself does not.
  Touch(part / ".part-1.parquet.tmp");
  EXPECT_FALSE(w.Changed().ValueOrDie());
  fs::rename(part / ".part-1.parquet.tmp", part / "part-1.parquet");
  EXPECT_TRUE(w.Changed().ValueOrDie());
  EXPECT_FALSE(w.Changed().ValueOrDie());
}

TEST_F(DatasetWatcherTest, OtherNamesDoNotWake) {
  auto watcher = DatasetWatcher::Open(root_.string());
  ASSERT_TRUE(watcher.ok()) << watcher.status();
  Touch(root_ / "checkpoint.json");  // e.g. a checkpoint object next to the dataset
  Touch(root_ / "logs" / "notes.txt");
  EXPECT_FALSE((*watcher)->Changed().ValueOrDie());
  Touch(root_ / "logs" / "part-2.parquet");  // written in place and closed
  EXPECT_TRUE((*watcher)->Changed().ValueOrDie());
}

TEST_F(DatasetWatcherTest, MissingRootIsAnError) {
  auto watcher = DatasetWatcher::Open((root_ / "nope").string());
  ASSERT_FALSE(watcher.ok());
  EXPECT_NE(watcher.status().message().find("nope"), std::string::npos);
}

}  // namespace
}  // namespace otap_parquet::nodes
