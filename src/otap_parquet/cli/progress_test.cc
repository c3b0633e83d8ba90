// SPDX-License-Identifier: Apache-2.0
#include "otap_parquet/cli/progress.h"

#include <sstream>

#include <gtest/gtest.h>

namespace otap_parquet::cli {
namespace {

TEST(ProgressTest, LineShowsCountsRateAndEta) {
  EXPECT_EQ(ProgressReporter::Line("check", "files", 10, 40, 10 << 20, 40 << 20, 2.0),
            "check: 10/40 files, 10.0 MiB/40.0 MiB, 5.0 MiB/s, ETA 6.0s");
  // No totals: no ETA; no bytes: a rate of items.
  EXPECT_EQ(ProgressReporter::Line("convert", "records", 500, 0, 0, 0, 2.0),
            "convert: 500 records, 250 records/s");
  EXPECT_EQ(ProgressReporter::Line("check", "files", 40, 40, 4096, 4096, 65.0),
            "check: 40/40 files, 4.0 KiB/4.0 KiB, 63 B/s, done in 1m05s");
}

TEST(ProgressTest, DrawsOnlyWhenEnabled) {
  std::ostringstream out;
  {
    ProgressReporter never(ProgressMode::kNever, "x", "files", &out, 1);
    never.Add(1, 1);
    ProgressReporter auto_pipe(ProgressMode::kAuto, "x", "files", &out, 0);
    auto_pipe.Add(1, 1);
    EXPECT_FALSE(auto_pipe.enabled());
  }
  EXPECT_EQ(out.str(), "");
  {
    ProgressReporter auto_tty(ProgressMode::kAuto, "x", "files", &out, 1);
    auto_tty.SetTotal(2, 0);
    auto_tty.Add(2, 0);
  }  // the destructor draws the last state and ends the line
  const std::string text = out.str();
  EXPECT_EQ(text.front(), '\r');
  EXPECT_EQ(text.back(), '\n');
  EXPECT_NE(text.find("x: 2/2 files"), std::string::npos) << text;
}

TEST(ProgressTest, ParsesModes) {
  EXPECT_EQ(*ParseProgressMode("auto"), ProgressMode::kAuto);
  EXPECT_EQ(*ParseProgressMode("always"), ProgressMode::kAlways);
  EXPECT_EQ(*ParseProgressMode("never"), ProgressMode::kNever);
  EXPECT_FALSE(ParseProgressMode("yes").ok());
}

}  // namespace
}  // namespace otap_parquet::cli
