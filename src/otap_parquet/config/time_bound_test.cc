// SPDX-License-Identifier: Apache-2.0
#include "otap_parquet/config/time_bound.h"

#include <gtest/gtest.h>

#include "otap_parquet/testing/gtest_util.h"

namespace otap_parquet::config {
namespace {

TEST(TimeBoundTest, ParsesUnixNanosAndRfc3339Utc) {
  constexpr int64_t kSeconds = 1'795'428'000;  // 2026-11-23T10:00:00Z
  ASSERT_OK_AND_ASSIGN(auto nanos, ParseTimeBound("1000"));
  EXPECT_EQ(nanos, 1'000);
  ASSERT_OK_AND_ASSIGN(auto utc, ParseTimeBound("2026-11-23T10:00:00Z"));
  EXPECT_EQ(utc, kSeconds * 1'000'000'000);
  ASSERT_OK_AND_ASSIGN(auto fraction, ParseTimeBound("2026-11-23T10:00:00.5+00:00"));
  EXPECT_EQ(fraction, kSeconds * 1'000'000'000 + 500'000'000);
}

TEST(TimeBoundTest, RejectsOtherZonesAndGarbage) {
  EXPECT_FALSE(ParseTimeBound("2026-11-23T10:00:00+01:00").ok());
  EXPECT_FALSE(ParseTimeBound("yesterday").ok());
  EXPECT_FALSE(ParseTimeBound("99999999999999999999").ok());
}

}  // namespace
}  // namespace otap_parquet::config
