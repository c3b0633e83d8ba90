// SPDX-License-Identifier: Apache-2.0
#include "otap_parquet/dataset/sharding.h"

#include <algorithm>
#include <atomic>
#include <map>
#include <set>
#include <string>
#include <thread>
#include <utility>
#include <vector>

#include <fmt/format.h>
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

// ----------------------------------------------------------------------------------
// CoreAssignment

std::string Part(int i) {
  return fmt::format("_part_id=00000000-0000-4000-8000-{:012d}", i);
}

std::vector<std::string> Parts(int from, int to) {
  std::vector<std::string> parts;
  for (int i = from; i < to; ++i) parts.push_back(Part(i));
  return parts;
}

CoreAssignment::Lister ListingOf(std::vector<std::string> partitions,
                                 int* calls = nullptr) {
  return [partitions = std::move(partitions),
          calls]() -> arrow::Result<std::vector<std::string>> {
    if (calls) ++*calls;
    return partitions;
  };
}

int64_t Spread(const std::vector<int64_t>& counts) {
  const auto [low, high] = std::minmax_element(counts.begin(), counts.end());
  return *high - *low;
}

// Scenario: 0..20 partitions on 1..5 cores, filled from one listing given in sorted
// and in reversed order.
// Guarantees: per-core counts differ by at most one (a hash splits 4 partitions on
// 2 cores 3 : 1 or 4 : 0 in 10 of 16 cases); the owners do not depend on the
// listing's order; the sorted keys are dealt round-robin.
TEST(CoreAssignmentTest, FillIsBalancedDeterministicRoundRobin) {
  for (int cores = 1; cores <= 5; ++cores) {
    for (int n = 0; n <= 20; ++n) {
      const std::vector<std::string> parts = Parts(0, n);
      std::vector<std::string> reversed(parts.rbegin(), parts.rend());
      CoreAssignment sorted(cores), backwards(cores);
      ASSERT_OK(sorted.FillOnce(ListingOf(parts), {}));
      ASSERT_OK(backwards.FillOnce(ListingOf(reversed), {}));
      EXPECT_LE(Spread(sorted.counts()), 1) << n << " on " << cores;
      for (int i = 0; i < n; ++i) {
        EXPECT_EQ(sorted.OwnerOf(Part(i)), i % cores) << i;
        EXPECT_EQ(backwards.OwnerOf(Part(i)), sorted.OwnerOf(Part(i))) << i;
      }
    }
  }
}

// Scenario: 4 partitions on 2 cores, the README's example of an uneven hash split.
// Guarantees: 2 : 2.
TEST(CoreAssignmentTest, FourPartitionsOnTwoCoresSplitTwoTwo) {
  CoreAssignment assignment(2);
  ASSERT_OK(assignment.FillOnce(ListingOf(Parts(0, 4)), {}));
  EXPECT_EQ(assignment.counts(), (std::vector<int64_t>{2, 2}));
}

// Scenario: 3 partitions on 2 cores at start (2 : 1); partitions appear later one
// at a time, then three in one listing (unsorted), mixed with known ones.
// Guarantees: each new one goes to the core with the fewest (lowest index on a
// tie), a batch in key order; known ones keep their owners; counts stay within one.
TEST(CoreAssignmentTest, LaterPartitionsGoToTheLeastLoaded) {
  CoreAssignment assignment(2);
  ASSERT_OK(assignment.FillOnce(ListingOf(Parts(0, 3)), {}));
  EXPECT_EQ(assignment.counts(), (std::vector<int64_t>{2, 1}));
  EXPECT_EQ(assignment.Assign({Part(10)}), std::vector<int>{1});
  EXPECT_EQ(assignment.Assign({Part(11)}), std::vector<int>{0});
  EXPECT_EQ(assignment.Assign({Part(22), Part(1), Part(20), Part(21)}),
            (std::vector<int>{1, 1, 1, 0}));  // 20, 21, 22 dealt 1, 0, 1
  EXPECT_EQ(assignment.counts(), (std::vector<int64_t>{4, 4}));
  EXPECT_EQ(assignment.OwnerOf(Part(99)), std::nullopt);
  EXPECT_EQ(assignment.counts(), (std::vector<int64_t>{4, 4}));  // OwnerOf assigns none
}

// Scenario: a one-shot replay: partitions published after the start listing, seen
// first by instance 2's own listing, then listed by instance 0 too.
// Guarantees: they go to the instance that listed them first (the others may have
// listed already and will not again), in every later listing too.
TEST(CoreAssignmentTest, OneShotLaterPartitionsGoToTheirFirstLister) {
  CoreAssignment assignment(3);
  ASSERT_OK(assignment.FillOnce(ListingOf(Parts(0, 3)), {}));
  EXPECT_EQ(assignment.Assign({Part(0), Part(7), Part(8)}, /*lister=*/2),
            (std::vector<int>{0, 2, 2}));
  EXPECT_EQ(assignment.Assign({Part(7), Part(8), Part(9)}, /*lister=*/0),
            (std::vector<int>{2, 2, 0}));
  EXPECT_EQ(assignment.counts(), (std::vector<int64_t>{2, 1, 3}));
}

// Scenario: a listing with a partition and its compaction (`<uuid>.c<hex>`, during
// the grace period both are listed), a compaction of another partition appearing
// later, and a compaction of a compaction.
// Guarantees: a compacted partition has the owner of the one it supersedes and does
// not count as one more partition.
TEST(CoreAssignmentTest, CompactedPartitionFollowsTheOneItSupersedes) {
  const std::string a = "date=2026-11-01/_part_id=aaaa";
  const std::string b = "date=2026-11-01/_part_id=bbbb";
  const std::string c = "date=2026-11-02/_part_id=cccc";
  const std::string a2 = a + ".c0000000000000001";
  CoreAssignment assignment(2);
  ASSERT_OK(assignment.FillOnce(ListingOf({a2, c, b, a}), {}));
  EXPECT_EQ(assignment.counts(), (std::vector<int64_t>{2, 1}));
  EXPECT_EQ(assignment.OwnerOf(a2), assignment.OwnerOf(a));
  EXPECT_EQ(assignment.Assign({b + ".c00000000000000ff"}), assignment.Assign({b}));
  EXPECT_EQ(assignment.Assign({a + ".c0000000000000002"}), assignment.Assign({a}));
  EXPECT_EQ(assignment.counts(), (std::vector<int64_t>{2, 1}));
}

// Scenario: a checkpoint names partitions the listing has (one under its compacted
// name) and ones it does not (deleted since, or not visible yet).
// Guarantees: the listed ones are dealt first (balanced among themselves), the
// checkpoint's others get owners at start too, so each of their units is loaded
// by exactly one instance.
TEST(CoreAssignmentTest, CheckpointPartitionsGetOwnersAtStart) {
  CoreAssignment assignment(3);
  const std::string compacted = Part(1) + ".c0000000000000001";
  ASSERT_OK(assignment.FillOnce(ListingOf({Part(5), Part(6), Part(7)}),
                                {compacted, Part(2), Part(6)}));
  EXPECT_EQ(assignment.OwnerOf(Part(5)), 0);
  EXPECT_EQ(assignment.OwnerOf(Part(6)), 1);
  EXPECT_EQ(assignment.OwnerOf(Part(7)), 2);
  EXPECT_EQ(assignment.OwnerOf(Part(1)), 0);
  EXPECT_EQ(assignment.OwnerOf(compacted), 0);
  EXPECT_EQ(assignment.OwnerOf(Part(2)), 1);
  EXPECT_EQ(assignment.counts(), (std::vector<int64_t>{2, 2, 1}));
}

// Scenario: FillOnce called again (another instance starting), with another
// listing; a first listing that fails.
// Guarantees: only the first successful call lists; a failed listing fills nothing
// and returns its error; owners given out never change afterwards.
TEST(CoreAssignmentTest, FilledOnceAndStableDuringARun) {
  CoreAssignment assignment(2);
  auto failing = []() -> arrow::Result<std::vector<std::string>> {
    return arrow::Status::IOError("listing /lake failed");
  };
  EXPECT_RAISES_WITH_MESSAGE_THAT(IOError, HasSubstr("/lake"),
                                  assignment.FillOnce(failing, {}));
  EXPECT_FALSE(assignment.filled());
  int calls = 0;
  ASSERT_OK(assignment.FillOnce(ListingOf(Parts(0, 4), &calls), {}));
  ASSERT_OK(assignment.FillOnce(ListingOf(Parts(100, 110), &calls), {Part(200)}));
  EXPECT_EQ(calls, 1);
  EXPECT_TRUE(assignment.filled());
  EXPECT_EQ(assignment.OwnerOf(Part(100)), std::nullopt);
  std::map<std::string, int> first;
  for (const auto& p : Parts(0, 4)) first[p] = *assignment.OwnerOf(p);
  for (int round = 0; round < 10; ++round) {
    (void)assignment.Assign(Parts(0, 4 + round * 3));
    for (const auto& [p, owner] : first) EXPECT_EQ(assignment.OwnerOf(p), owner) << p;
  }
}

// Scenario: 4 instances start at once (each FillOnce), then each assigns a growing
// listing of 400 partitions in its own order, concurrently.
// Guarantees: the dataset is listed once; every instance sees the same owner for
// every partition (exactly one owner); counts add up and stay within one.
TEST(CoreAssignmentTest, ThreadSafe) {
  constexpr int kCores = 4;
  constexpr int kParts = 400;
  CoreAssignment assignment(kCores);
  std::atomic<int> calls{0};
  std::vector<std::map<std::string, int>> seen(kCores);
  std::vector<std::thread> threads;
  for (int core = 0; core < kCores; ++core) {
    threads.emplace_back([&, core] {
      auto list = [&]() -> arrow::Result<std::vector<std::string>> {
        ++calls;
        return Parts(0, 10);
      };
      ASSERT_OK(assignment.FillOnce(list, {}));
      for (int end = 10; end <= kParts; end += 10) {
        std::vector<std::string> listing = Parts(0, end);
        std::rotate(listing.begin(), listing.begin() + core * end / kCores,
                    listing.end());
        const std::vector<int> owners = assignment.Assign(listing);
        for (size_t i = 0; i < listing.size(); ++i) {
          auto [it, fresh] = seen[core].emplace(listing[i], owners[i]);
          EXPECT_EQ(it->second, owners[i]) << listing[i] << " moved";
        }
      }
    });
  }
  for (auto& t : threads) t.join();
  EXPECT_EQ(calls.load(), 1);
  for (int core = 1; core < kCores; ++core) EXPECT_EQ(seen[core], seen[0]);
  const std::vector<int64_t> counts = assignment.counts();
  int64_t total = 0;
  for (int64_t c : counts) total += c;
  EXPECT_EQ(total, kParts);
  EXPECT_LE(Spread(counts), 1);
}

}  // namespace
}  // namespace otap_parquet::dataset
