// SPDX-License-Identifier: Apache-2.0
#include "otap_parquet/config/units.h"

#include <string>

#include "otap_parquet/testing/gtest_util.h"

namespace otap_parquet::config {
namespace {

using std::chrono::milliseconds;
using std::chrono::nanoseconds;
using std::chrono::seconds;

// Scenario: durations in the humantime spellings upstream configs use.
// Guarantees: each parses to the exact nanosecond count; bad ones are Invalid
// with the value and the accepted units named.
TEST(ConfigUnitsTest, ParsesDurations) {
  ASSERT_OK_AND_ASSIGN(auto d, ParseDuration("500ms"));
  EXPECT_EQ(d, milliseconds(500));
  ASSERT_OK_AND_ASSIGN(d, ParseDuration("10s"));
  EXPECT_EQ(d, seconds(10));
  ASSERT_OK_AND_ASSIGN(d, ParseDuration("2min"));
  EXPECT_EQ(d, seconds(120));
  ASSERT_OK_AND_ASSIGN(d, ParseDuration("5m"));
  EXPECT_EQ(d, seconds(300));
  ASSERT_OK_AND_ASSIGN(d, ParseDuration("1h"));
  EXPECT_EQ(d, seconds(3600));
  ASSERT_OK_AND_ASSIGN(d, ParseDuration("1h 30m"));
  EXPECT_EQ(d, seconds(5400));
  ASSERT_OK_AND_ASSIGN(d, ParseDuration("0"));
  EXPECT_EQ(d, nanoseconds(0));
  EXPECT_RAISES_WITH_MESSAGE_THAT(Invalid, ::testing::HasSubstr("\"10\""),
                                  ParseDuration("10"));
  EXPECT_RAISES_WITH_MESSAGE_THAT(Invalid, ::testing::HasSubstr("units"),
                                  ParseDuration("10 parsecs"));
  ASSERT_RAISES(Invalid, ParseDuration(""));
}

// Scenario: durations whose number has thousands of digits, or is negative or
// fractional.
// Guarantees: each is Invalid (a number too long for a long double once threw
// std::out_of_range out of the parser and aborted `run --validate-and-exit`).
TEST(ConfigUnitsTest, RejectsHugeAndSignedDurations) {
  EXPECT_RAISES_WITH_MESSAGE_THAT(Invalid, ::testing::HasSubstr("too large"),
                                  ParseDuration(std::string(5000, '9') + "s"));
  EXPECT_RAISES_WITH_MESSAGE_THAT(Invalid, ::testing::HasSubstr("too large"),
                                  ParseDuration("9223372036854775808ns"));
  ASSERT_RAISES(Invalid, ParseDuration("-1s"));
  ASSERT_RAISES(Invalid, ParseDuration("1.5s"));
  ASSERT_RAISES(Invalid, ParseDuration("1e30s"));
}

// Scenario: byte sizes with a malformed number ("1.2.3MB", "1..5KiB", ".") or a
// fraction of a byte.
// Guarantees: Invalid, never the prefix that happens to parse ("1.2.3MB" once read
// as 1.2 MB) nor a rounded byte.
TEST(ConfigUnitsTest, RejectsMalformedByteNumbers) {
  ASSERT_RAISES(Invalid, ParseBytes("1.2.3MB"));
  ASSERT_RAISES(Invalid, ParseBytes("1..5KiB"));
  ASSERT_RAISES(Invalid, ParseBytes("."));
  ASSERT_RAISES(Invalid, ParseBytes("0.5B"));
  ASSERT_RAISES(Invalid, ParseBytes(std::string(5000, '9')));
  ASSERT_OK_AND_ASSIGN(auto b, ParseBytes("0.5KiB"));
  EXPECT_EQ(b, 512);
}

// Scenario: byte sizes as integers and with decimal or binary units.
// Guarantees: MiB is 2^20, MB is 10^6, and garbage is Invalid.
TEST(ConfigUnitsTest, ParsesBytes) {
  ASSERT_OK_AND_ASSIGN(auto b, ParseBytes("4MiB"));
  EXPECT_EQ(b, 4 * 1024 * 1024);
  ASSERT_OK_AND_ASSIGN(b, ParseBytes("4MB"));
  EXPECT_EQ(b, 4'000'000);
  ASSERT_OK_AND_ASSIGN(b, ParseBytes("16KiB"));
  EXPECT_EQ(b, 16 * 1024);
  ASSERT_OK_AND_ASSIGN(b, ParseBytes("1234"));
  EXPECT_EQ(b, 1234);
  ASSERT_OK_AND_ASSIGN(b, ParseBytes("1.5 KB"));
  EXPECT_EQ(b, 1500);
  EXPECT_RAISES_WITH_MESSAGE_THAT(Invalid, ::testing::HasSubstr("4 lightyears"),
                                  ParseBytes("4 lightyears"));
  ASSERT_RAISES(Invalid, ParseBytes("MiB"));
  ASSERT_RAISES(Invalid, ParseBytes("1.5"));
}

}  // namespace
}  // namespace otap_parquet::config
