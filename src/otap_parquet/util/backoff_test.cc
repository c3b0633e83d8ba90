// SPDX-License-Identifier: Apache-2.0
#include "otap_parquet/util/backoff.h"

#include <chrono>

#include <gtest/gtest.h>

namespace otap_parquet::util {
namespace {

using namespace std::chrono_literals;  // NOLINT(build/namespaces)

// Scenario: 100ms doubling up to 1s, no jitter.
// Guarantees: retry n waits 100ms·2^(n-1) capped at 1s; the sum of the largest
// delays adds them up; a hint above the delay wins.
TEST(BackoffTest, DoublesUpToTheCapAndHonorsHints) {
  const BackoffPolicy policy{.initial_interval = 100ms, .max_interval = 1s};
  Backoff backoff(policy, 1);
  EXPECT_EQ(backoff.Delay(1), std::chrono::nanoseconds(100ms));
  EXPECT_EQ(backoff.Delay(2), std::chrono::nanoseconds(200ms));
  EXPECT_EQ(backoff.Delay(4), std::chrono::nanoseconds(800ms));
  EXPECT_EQ(backoff.Delay(5), std::chrono::nanoseconds(1s));
  EXPECT_EQ(backoff.Delay(60), std::chrono::nanoseconds(1s));
  EXPECT_EQ(policy.MaxDelaySum(3), std::chrono::nanoseconds(700ms));
  EXPECT_EQ(backoff.Delay(1, std::chrono::nanoseconds(3s)), std::chrono::nanoseconds(3s));
}

// Scenario: ±50% jitter over many draws; max_elapsed of 0 and of 5s.
// Guarantees: every delay stays in [d/2, 3d/2]; 0 never expires, 5s only past 5s.
TEST(BackoffTest, JitterStaysInItsWindowAndMaxElapsedBounds) {
  Backoff backoff({.initial_interval = 1s, .max_interval = 4s, .jitter = 0.5}, 42);
  for (int retry = 1; retry <= 6; ++retry) {
    const auto base = backoff.policy().BaseDelay(retry);
    for (int draw = 0; draw < 100; ++draw) {
      const auto d = backoff.Delay(retry);
      EXPECT_GE(d, base / 2 - 1ns);
      EXPECT_LE(d, base * 3 / 2 + 1ns);
    }
  }
  EXPECT_FALSE(BackoffPolicy{}.Expired(std::chrono::hours(1000)));
  const BackoffPolicy bounded{.max_elapsed = 5s};
  EXPECT_FALSE(bounded.Expired(5s));
  EXPECT_TRUE(bounded.Expired(6s));
}

}  // namespace
}  // namespace otap_parquet::util
