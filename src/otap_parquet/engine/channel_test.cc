// SPDX-License-Identifier: Apache-2.0
#include "otap_parquet/engine/channel.h"

#include <atomic>
#include <thread>

#include "otap_parquet/testing/gtest_util.h"

namespace otap_parquet::engine {
namespace {

using std::chrono::milliseconds;

// Scenario: a producer fills a bounded channel without a consumer.
// Guarantees: TryPush refuses the item beyond capacity and leaves it with the
// caller; a timed Push gives CapacityError (RESOURCE_EXHAUSTED) at its deadline.
TEST(ChannelTest, FullChannelRefusesWithoutBlocking) {
  BoundedChannel<int> channel(2, nullptr);
  int a = 1, b = 2, c = 3;
  EXPECT_EQ(channel.TryPush(a), PushResult::kOk);
  EXPECT_EQ(channel.TryPush(b), PushResult::kOk);
  EXPECT_EQ(channel.TryPush(c), PushResult::kFull);
  EXPECT_EQ(c, 3);
  EXPECT_TRUE(channel.full());
  const auto start = Clock::now();
  ASSERT_RAISES(CapacityError, channel.Push(c, start + milliseconds(20)));
  EXPECT_GE(Clock::now() - start, milliseconds(20));
  EXPECT_EQ(channel.TryPop(), 1);
  EXPECT_EQ(channel.TryPop(), 2);
  EXPECT_EQ(channel.TryPop(), std::nullopt);
}

// Scenario: a producer thread pushes 1000 items into a channel of capacity 4
// while the consumer pops slowly.
// Guarantees: the producer blocks (the depth never exceeds the capacity), and
// every item arrives once, in order.
TEST(ChannelTest, BlockingPushWaitsForSpace) {
  auto wakeup = std::make_shared<Wakeup>();
  BoundedChannel<int> channel(4, wakeup);
  std::thread producer([&] {
    for (int i = 0; i < 1000; ++i) {
      int item = i;
      ASSERT_OK(channel.Push(item));
    }
  });
  int expected = 0;
  int64_t max_depth = 0;
  while (expected < 1000) {
    max_depth = std::max(max_depth, channel.size());
    if (auto item = channel.TryPop()) {
      EXPECT_EQ(*item, expected++);
    } else {
      wakeup->WaitUntil(wakeup->generation(), Clock::now() + milliseconds(1));
    }
  }
  producer.join();
  EXPECT_LE(max_depth, 4);
}

// Scenario: a producer is blocked on a full channel when the channel closes.
// Guarantees: it is woken with Cancelled; queued items stay poppable.
TEST(ChannelTest, CloseWakesBlockedProducers) {
  BoundedChannel<int> channel(1, nullptr);
  int first = 1;
  ASSERT_OK(channel.Push(first));
  std::atomic<bool> woke{false};
  arrow::Status result;
  std::thread producer([&] {
    int item = 2;
    result = channel.Push(item);
    woke = true;
  });
  std::this_thread::sleep_for(milliseconds(20));
  EXPECT_FALSE(woke.load());
  channel.Close();
  producer.join();
  EXPECT_TRUE(result.IsCancelled()) << result.ToString();
  int late = 3;
  EXPECT_EQ(channel.TryPush(late), PushResult::kClosed);
  EXPECT_EQ(channel.TryPop(), 1);
}

}  // namespace
}  // namespace otap_parquet::engine
