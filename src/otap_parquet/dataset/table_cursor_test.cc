// SPDX-License-Identifier: Apache-2.0
#include "otap_parquet/dataset/table_cursor.h"

#include <algorithm>
#include <fstream>
#include <memory>
#include <random>
#include <string>
#include <vector>

#include <arrow/filesystem/localfs.h>
#include <gtest/gtest.h>
#include <parquet/file_reader.h>

#include "otap_parquet/dataset/dataset_reader_test_util.h"
#include "otap_parquet/dataset/discovery.h"
#include "otap_parquet/testing/gtest_util.h"
#include "otap_parquet/testing/temp_dir.h"

namespace otap_parquet::dataset::internal {
namespace {

using PT = PayloadType;

// Realistic logs of 4 requests in one partition: files rotating every 7 logs / 13
// attribute rows, row groups of 4 rows, rows shuffled within each input batch.
class TableCursorTest : public ::testing::Test {
 protected:
  void SetUp() override {
    testing::TestWriteOptions write;
    write.rotate_rows = {{PT::kLogs, 7}, {PT::kLogAttrs, 13}};
    write.row_group_rows = 4;
    generator::GeneratorOptions gen;
    gen.seed = 3;
    gen.items_per_scope = 5;
    ASSERT_OK(testing::WriteGeneratedDataset(dir_.path(), {Signal::kLogs}, 4, gen, write)
                  .status());
    ASSERT_OK_AND_ASSIGN(auto plan, Discover(fs_, dir_.path(), {}));
    ASSERT_EQ(plan.partitions.size(), 1u);
    partition_ = plan.partitions[0];
  }

  // Rows in the footers of `files`.
  static int64_t RowsIn(const std::vector<PlannedFile>& files) {
    int64_t rows = 0;
    for (const auto& file : files) {
      rows += parquet::ParquetFileReader::OpenFile(file.path)->metadata()->num_rows();
    }
    return rows;
  }

  otap_parquet::testing::TempDir dir_{"otap_table_cursor_test"};
  std::shared_ptr<arrow::fs::FileSystem> fs_ =
      std::make_shared<arrow::fs::LocalFileSystem>();
  PartitionPlan partition_;
  ReaderOptions options_;
  ReaderStats stats_;
};

// Scenario: a root table (logs) and a child table (log_attrs), several files each.
// Guarantees: every row is read once, file by file; before each read, next_pull_min()
// bounds every key still unread (so the merge never misses a parent or child by
// stopping early) and never decreases; the position ends empty.
TEST_F(TableCursorTest, ReadsEveryRowAndBoundsTheUnreadKeys) {
  for (PT type : {PT::kLogs, PT::kLogAttrs}) {
    SCOPED_TRACE(TableName(type));
    const auto& files = partition_.FilesOf(type);
    ASSERT_GT(files.size(), 1u);
    TableCursor cursor(fs_, type, /*has_children=*/type == PT::kLogs, options_, &stats_);
    ASSERT_OK(cursor.Open(files));
    EXPECT_EQ(cursor.files().size(), files.size());
    EXPECT_EQ(cursor.RemainingRows(), RowsIn(files));
    EXPECT_EQ(cursor.Position().file, files[0].path);
    int64_t rows = 0;
    uint32_t last_min = 0;
    while (!cursor.done()) {
      const uint32_t min = cursor.next_pull_min();
      EXPECT_GE(min, last_min);
      last_min = min;
      ASSERT_OK_AND_ASSIGN(auto piece, cursor.ReadNext());
      ASSERT_NE(piece, nullptr);
      for (uint32_t key : piece->key) EXPECT_GE(key, min);
      EXPECT_EQ(static_cast<int64_t>(piece->key.size()), piece->batch->num_rows());
      rows += piece->batch->num_rows();
    }
    EXPECT_EQ(rows, RowsIn(files));
    EXPECT_EQ(stats_.rows_per_table[static_cast<size_t>(type)], rows);
    EXPECT_EQ(cursor.next_pull_min(), kNoKey);
    EXPECT_EQ(cursor.RemainingRows(), 0);
    EXPECT_EQ(cursor.Position().file, "");
  }
  EXPECT_EQ(stats_.row_groups_without_stats, 0);
}

// Scenario: the root table read with slices of at most 3 rows asked every other read
// (the merge asks for a chunk's rest), row groups of 4 rows.
// Guarantees: a slice never exceeds what was asked; the rows come in the same order
// as with whole slices, none twice or lost.
TEST_F(TableCursorTest, ReadNextHonoursTheRowsAsked) {
  const auto& files = partition_.FilesOf(PT::kLogs);
  auto keys_read = [&](bool alternate) {
    ReaderStats stats;
    TableCursor cursor(fs_, PT::kLogs, /*has_children=*/true, options_, &stats);
    EXPECT_OK(cursor.Open(files));
    std::vector<uint32_t> keys;
    bool small = false;
    while (!cursor.done()) {
      small = alternate && !small;
      auto piece = cursor.ReadNext(small ? 3 : 0);
      EXPECT_OK(piece.status());
      if (!piece.ok() || !*piece) continue;
      if (small) {
        EXPECT_LE((*piece)->batch->num_rows(), 3);
      }
      keys.insert(keys.end(), (*piece)->key.begin(), (*piece)->key.end());
    }
    return keys;
  };
  const auto whole = keys_read(false);
  EXPECT_EQ(static_cast<int64_t>(whole.size()), RowsIn(files));
  EXPECT_EQ(keys_read(true), whole);
}

// Scenario: a garbage `.parquet` file among a table's files.
// Guarantees: it is counted as corrupt and skipped at Open; the others read fully.
TEST_F(TableCursorTest, UnreadableFileIsSkippedAndCounted) {
  auto files = partition_.FilesOf(PT::kLogs);
  const int64_t good_rows = RowsIn(files);
  const std::string garbage = dir_.path() + "/garbage.parquet";
  std::ofstream(garbage) << "not a parquet file";
  files.insert(files.begin() + 1, PlannedFile{garbage, 18});
  TableCursor cursor(fs_, PT::kLogs, /*has_children=*/true, options_, &stats_);
  ASSERT_OK(cursor.Open(files));
  EXPECT_EQ(stats_.corrupt_files, 1);
  EXPECT_EQ(cursor.files().size(), files.size() - 1);
  int64_t rows = 0;
  while (!cursor.done()) {
    ASSERT_OK_AND_ASSIGN(auto piece, cursor.ReadNext());
    if (piece) rows += piece->batch->num_rows();
  }
  EXPECT_EQ(rows, good_rows);
}

// Scenario: a time range before every log.
// Guarantees: every row group is skipped by its statistics without being read, and
// its rows are counted as filtered.
TEST_F(TableCursorTest, TimeRangeSkipsRowGroupsByStatistics) {
  options_.time_range = TimeRange{0, 1};
  const auto& files = partition_.FilesOf(PT::kLogs);
  TableCursor cursor(fs_, PT::kLogs, /*has_children=*/true, options_, &stats_);
  ASSERT_OK(cursor.Open(files));
  while (!cursor.done()) {
    ASSERT_OK_AND_ASSIGN(auto piece, cursor.ReadNext());
    EXPECT_EQ(piece, nullptr);
  }
  EXPECT_GT(stats_.row_groups_skipped, 0);
  EXPECT_EQ(stats_.row_groups_read, 0);
  EXPECT_EQ(stats_.filtered_rows, RowsIn(files));
}

// The fixpoint KeepSkipsBelowFloor replaced (O(groups²) when every pass un-skips one
// group): recompute the floor from the groups read, un-skip every group reaching it,
// until nothing changes.
std::vector<bool> FixpointSkips(const std::vector<GroupEntry>& groups, uint32_t floor,
                                std::vector<bool> skip) {
  const std::vector<bool> candidate = skip;
  for (bool changed = true; changed;) {
    changed = false;
    uint32_t f = floor;
    for (size_t i = 0; i < groups.size(); ++i) {
      if (candidate[i] && !skip[i]) f = std::min(f, groups[i].id_min);
    }
    for (size_t i = 0; i < groups.size(); ++i) {
      if (skip[i] && groups[i].id_max >= f) {
        skip[i] = false;
        changed = true;
      }
    }
  }
  return skip;
}

// Scenario: thousands of row groups whose id ranges interleave (random, seeded: some
// read, most candidates to skip, some without id statistics), and a chain where
// each group un-skipped lets the next reach the floor, listed in the worst order.
// Guarantees: the sorted one-pass KeepSkipsBelowFloor leaves exactly the groups the
// fixpoint left skipped.
TEST(KeepSkipsBelowFloorTest, SameResultAsTheFixpoint) {
  for (uint32_t seed : {1u, 2u, 3u, 4u}) {
    SCOPED_TRACE(seed);
    std::mt19937 rng(seed);
    std::vector<GroupEntry> groups(3000);
    std::vector<bool> skip(groups.size());
    uint32_t floor = kNoKey;
    for (size_t i = 0; i < groups.size(); ++i) {
      // Replayed groups mostly below the ones still read, overlapping near the
      // resume point; each group's ids a block of 20 (in random list order), some
      // reaching into the blocks above, a few without statistics.
      skip[i] = rng() % 10 != 0;
      groups[i].id_min = skip[i] ? 20 * static_cast<uint32_t>(rng() % 3000)
                                 : 50'000 + static_cast<uint32_t>(rng() % 50'000);
      const uint32_t span = rng() % 8 == 0 ? 20 + rng() % 60 : rng() % 15;
      groups[i].id_max = rng() % 1000 == 0 ? kNoKey : groups[i].id_min + span;
      if (!skip[i] && seed != 4) floor = std::min(floor, groups[i].id_min);
    }
    std::vector<bool> fast = skip;
    KeepSkipsBelowFloor(groups, floor, &fast);
    const std::vector<bool> slow = FixpointSkips(groups, floor, skip);
    EXPECT_EQ(fast, slow);
    EXPECT_GT(std::count(fast.begin(), fast.end(), true), 0);
    EXPECT_LT(std::count(fast.begin(), fast.end(), true),
              std::count(skip.begin(), skip.end(), true));
  }
  // The chain: group k holds ids [F - 10 (k + 1), F - 10 k], listed k descending.
  constexpr uint32_t kFloor = 100'000;
  std::vector<GroupEntry> chain(2000);
  for (size_t j = 0; j < chain.size(); ++j) {
    const auto k = static_cast<uint32_t>(chain.size() - 1 - j);
    chain[j].id_min = kFloor - 10 * (k + 1);
    chain[j].id_max = kFloor - 10 * k;
  }
  GroupEntry below;  // entirely below the last floor: stays skipped
  below.id_min = 0;
  below.id_max = kFloor - 10 * static_cast<uint32_t>(chain.size()) - 1;
  chain.push_back(below);
  std::vector<bool> skip(chain.size(), true);
  KeepSkipsBelowFloor(chain, kFloor, &skip);
  std::vector<bool> expected(chain.size(), false);
  expected.back() = true;
  EXPECT_EQ(skip, expected);
  EXPECT_EQ(FixpointSkips(chain, kFloor, std::vector<bool>(chain.size(), true)),
            expected);
}

}  // namespace
}  // namespace otap_parquet::dataset::internal
