// SPDX-License-Identifier: Apache-2.0
#include "otap_parquet/dataset/partition_values.h"

#include <set>
#include <string>

#include "otap_parquet/testing/gtest_util.h"

namespace otap_parquet::dataset {
namespace {

// Whether `segment` is one safe path segment: not empty, not "." or "..", and only
// bytes that need no quoting anywhere (no '/', NUL, control or non-ASCII byte).
bool SafeSegment(const std::string& segment) {
  if (segment.empty() || segment == "." || segment == "..") return false;
  for (unsigned char c : segment) {
    if (c < 0x21 || c > 0x7E || c == '/' || c == '\\') return false;
  }
  return true;
}

// Scenario: values that would leave the level or the dataset unescaped: "..", "/",
// a path, NUL, control bytes, '%', '=', valid and invalid UTF-8, the default
// level's own name, the empty value.
// Guarantees: each escapes to one safe segment, distinct values to distinct
// segments, and unescaping gives the value back.
TEST(PartitionValuesTest, EscapingKeepsEveryValueInItsLevel) {
  const std::vector<std::string> values = {"..",
                                           ".",
                                           "/",
                                           "../../etc/passwd",
                                           std::string("a\0b", 3),
                                           "a\nb",
                                           "100%",
                                           "k=v",
                                           "caf\xC3\xA9",
                                           "\xFF\xFE",
                                           "\xC3",
                                           kDefaultPartitionValue,
                                           "",
                                           "plain-name_1.2"};
  std::set<std::string> seen;
  for (const auto& value : values) {
    const std::string escaped = EscapePartitionValue(value);
    SCOPED_TRACE(escaped);
    EXPECT_TRUE(SafeSegment("k=" + escaped));
    EXPECT_TRUE(seen.insert(escaped).second);
    EXPECT_EQ(UnescapePartitionValue(escaped), value);
  }
  EXPECT_EQ(EscapePartitionValue("../../etc/passwd"), "..%2F..%2Fetc%2Fpasswd");
  EXPECT_EQ(EscapePartitionValue(std::string("a\0b", 3)), "a%00b");
  EXPECT_EQ(EscapePartitionValue("\xFF"), "%FF");
  EXPECT_EQ(EscapePartitionValue("plain-name_1.2"), "plain-name_1.2");
  EXPECT_NE(PartitionSegment("k", std::string(kDefaultPartitionValue)),
            PartitionSegment("k", std::nullopt));
  EXPECT_EQ(PartitionSegment("service.name", std::nullopt),
            "service.name=__HIVE_DEFAULT_PARTITION__");
  EXPECT_EQ(PartitionSegment("a/b", std::string("x")), "a%2Fb=x");
}

// Scenario: values far longer than a file name may be (10 000 bytes), two of them
// sharing their first 5 000 bytes, one full of bytes that escape to three.
// Guarantees: bounded segments (<= kMaxEscapedPartitionValue), distinct for
// distinct values, the same for the same value, never cut inside a %XX escape.
TEST(PartitionValuesTest, LongValuesAreCutAndHashed) {
  const std::string a = std::string(5000, 'x') + std::string(5000, 'a');
  const std::string b = std::string(5000, 'x') + std::string(5000, 'b');
  const std::string slashes(10000, '/');
  for (const auto& value : {a, b, slashes}) {
    const std::string escaped = EscapePartitionValue(value);
    EXPECT_LE(escaped.size(), kMaxEscapedPartitionValue);
    EXPECT_TRUE(SafeSegment(escaped));
    EXPECT_EQ(escaped, EscapePartitionValue(value));
    const std::string head = escaped.substr(0, escaped.find('~'));
    EXPECT_EQ(head.size() % 3, slashes == value ? 0u : head.size() % 3);
  }
  EXPECT_NE(EscapePartitionValue(a), EscapePartitionValue(b));
  EXPECT_EQ(EscapePartitionValue(std::string(128, 'z')), std::string(128, 'z'));
  EXPECT_NE(EscapePartitionValue(std::string(129, 'z')).find('~'), std::string::npos);
  EXPECT_EQ(EscapePartitionValue("~"), "%7E");
}

// Scenario: `partitions` selectors with raw values.
// Guarantees: a selector matches a whole level of a path only; `key` alone selects
// the default level; a filter keeps what any selector matches; `=x` is Invalid.
TEST(PartitionValuesTest, SelectorsMatchWholeLevels) {
  ASSERT_OK_AND_ASSIGN(auto checkout, PartitionSelector::Parse("service.name=checkout"));
  EXPECT_TRUE(checkout.Matches("service.name=checkout/date=2026-11-01/_part_id=1"));
  EXPECT_FALSE(checkout.Matches("service.name=checkout2/_part_id=1"));
  EXPECT_FALSE(checkout.Matches("x/service.name=checkou"));
  ASSERT_OK_AND_ASSIGN(auto path, PartitionSelector::Parse("service.name=a/b"));
  EXPECT_TRUE(path.Matches("service.name=a%2Fb/_part_id=1"));
  ASSERT_OK_AND_ASSIGN(auto missing, PartitionSelector::Parse("service.name"));
  EXPECT_TRUE(missing.Matches("service.name=__HIVE_DEFAULT_PARTITION__/_part_id=1"));
  ASSERT_RAISES(Invalid, PartitionSelector::Parse("=x").status());
  ASSERT_OK_AND_ASSIGN(auto filter,
                       MakePartitionsFilter({"tenant.id=acme", "date=2026-11-01"}));
  EXPECT_TRUE(filter("tenant.id=acme/_part_id=1"));
  EXPECT_TRUE(filter("tenant.id=zeta/date=2026-11-01/_part_id=1"));
  EXPECT_FALSE(filter("tenant.id=zeta/date=2026-11-02/_part_id=1"));
  ASSERT_OK_AND_ASSIGN(auto all, MakePartitionsFilter({}));
  EXPECT_TRUE(all("anything"));
  // A partition selected by its _part_id stays selected once compacted (the
  // compaction replaces it: excluding it would drop its records from the replay).
  ASSERT_OK_AND_ASSIGN(auto part, MakePartitionsFilter({"_part_id=3f0c"}));
  EXPECT_TRUE(part("date=2026-11-01/_part_id=3f0c"));
  EXPECT_TRUE(part("date=2026-11-01/_part_id=3f0c.c0123456789abcdef"));
  EXPECT_FALSE(part("date=2026-11-01/_part_id=3f0d.c0123456789abcdef"));
  const auto levels = PartitionLevels(
      "service.name=a%2Fb/tenant.id=__HIVE_DEFAULT_PARTITION__/date=2026-11-01/"
      "_part_id=1");
  ASSERT_EQ(levels.size(), 2u);
  EXPECT_EQ(levels[0].first, "service.name");
  EXPECT_EQ(levels[0].second, std::optional<std::string>("a/b"));
  EXPECT_EQ(levels[1].first, "tenant.id");
  EXPECT_EQ(levels[1].second, std::nullopt);
}

}  // namespace
}  // namespace otap_parquet::dataset
