// SPDX-License-Identifier: Apache-2.0
#include "otap_parquet/dataset/replanning_reader.h"

#include <gtest/gtest.h>

#include "otap_parquet/dataset/read_errors.h"

namespace otap_parquet::dataset {
namespace {

using std::chrono::nanoseconds;
using std::chrono::seconds;

// Scenario: vanished files, in a row and after progress; other errors.
// Guarantees: three replans at once, then the backoff (1s, 2s, ...); progress makes
// the next one immediate again; other errors are the caller's; max_consecutive
// stops replanning; every replan is counted.
TEST(ReplannerTest, AtOnceThenBackingOffUntilProgress) {
  Replanner replanner(ReplanPolicy{}, util::EventLog::Null(), "node=x");
  const arrow::Status vanished = VanishedFileError("/lake/logs/a.parquet");
  EXPECT_FALSE(replanner.OnReadError(arrow::Status::IOError("disk")).has_value());
  EXPECT_EQ(replanner.OnReadError(vanished), nanoseconds(0));
  EXPECT_EQ(replanner.OnReadError(vanished), nanoseconds(0));
  EXPECT_EQ(replanner.OnReadError(vanished), nanoseconds(0));
  EXPECT_EQ(replanner.OnReadError(vanished), nanoseconds(seconds(1)));
  EXPECT_EQ(replanner.OnReadError(vanished), nanoseconds(seconds(2)));
  replanner.Progressed();
  EXPECT_EQ(replanner.OnReadError(vanished), nanoseconds(0));
  EXPECT_EQ(replanner.replans(), 6);

  ReplanPolicy limited;
  limited.max_consecutive = 2;
  Replanner bounded(limited, util::EventLog::Null(), "");
  EXPECT_TRUE(bounded.OnReadError(vanished).has_value());
  EXPECT_TRUE(bounded.OnReadError(vanished).has_value());
  EXPECT_FALSE(bounded.OnReadError(vanished).has_value());
  EXPECT_EQ(bounded.replans(), 2);
  bounded.Progressed();
  EXPECT_TRUE(bounded.OnReadError(vanished).has_value());
}

}  // namespace
}  // namespace otap_parquet::dataset
