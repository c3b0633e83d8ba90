// SPDX-License-Identifier: Apache-2.0
#include "otap_parquet/dataset/sharding.h"

#include <map>
#include <string>
#include <utility>

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include "otap_parquet/testing/gtest_util.h"

namespace otap_parquet::dataset {
namespace {

using ::testing::HasSubstr;

std::string PartitionPath(int i) {
  return "date=2026-12-0" + std::to_string(i % 7) + "/_part_id=00000000-0000-4000-8000-" +
         std::to_string(i);
}

// Scenario: 600 partition paths split over shards × cores for several layouts,
// including one shard (the split of the cores alone, before shards existed).
// Guarantees: every partition has exactly one (shard, core); every (shard, core)
// gets a share (no core of a shard is starved by the shard's own hash); with one
// shard the split is the old one (hash modulo cores).
TEST(ShardingTest, EveryPartitionHasExactlyOneShardAndCore) {
  for (auto [shards, cores] : {std::pair{1, 1}, std::pair{1, 2}, std::pair{2, 2},
                               std::pair{3, 2}, std::pair{4, 4}, std::pair{5, 1}}) {
    std::map<std::pair<int, int>, int> share;
    for (int i = 0; i < 600; ++i) {
      const std::string path = PartitionPath(i);
      int owners = 0;
      for (int s = 0; s < shards; ++s) {
        for (int c = 0; c < cores; ++c) {
          if (PartitionAssigned(path, Shard{s, shards}, c, cores)) {
            ++owners;
            ++share[{s, c}];
          }
        }
      }
      EXPECT_EQ(owners, 1) << path << " shards=" << shards << " cores=" << cores;
    }
    for (int s = 0; s < shards; ++s) {
      for (int c = 0; c < cores; ++c) {
        // Even would be 600 / (shards * cores); a starved slot would be 0.
        const int slot_share = share[{s, c}];
        EXPECT_GT(slot_share, 600 / (shards * cores) / 3)
            << "shard " << s << " core " << c << " of " << shards << "x" << cores;
      }
    }
  }
}

// Scenario: K/N texts, valid and not.
// Guarantees: valid ones parse and print back; each invalid one is an error that
// says what is expected.
TEST(ShardingTest, ParsesKOverN) {
  ASSERT_OK_AND_ASSIGN(auto shard, Shard::Parse("2/3"));
  EXPECT_EQ(shard, (Shard{2, 3}));
  EXPECT_EQ(shard.ToString(), "2/3");
  for (const char* bad : {"3/3", "-1/2", "1/0", "1", "a/b", "1/2/3", "", "1 /2"}) {
    auto parsed = Shard::Parse(bad);
    ASSERT_FALSE(parsed.ok()) << bad;
    EXPECT_THAT(parsed.status().message(), HasSubstr("shard")) << bad;
  }
}

}  // namespace
}  // namespace otap_parquet::dataset
