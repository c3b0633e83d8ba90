// SPDX-License-Identifier: Apache-2.0
#include "otap_parquet/util/hex.h"

#include <string>

#include <gmock/gmock.h>
#include <gtest/gtest.h>

namespace otap_parquet::util {
namespace {

using ::testing::HasSubstr;

// Scenario: encode every byte value, then decode the result.
// Guarantees: encoding is lower-case, two digits per byte, and decodes losslessly.
TEST(HexTest, RoundTripsEveryByte) {
  std::string bytes;
  for (int i = 0; i < 256; ++i) bytes.push_back(static_cast<char>(i));
  std::string hex = HexEncode(bytes);
  ASSERT_EQ(hex.size(), 512u);
  EXPECT_EQ(hex.substr(0, 6), "000102");
  EXPECT_EQ(hex.substr(508), "feff");
  EXPECT_EQ(hex.find_first_of("ABCDEF"), std::string::npos);
  auto decoded = HexDecode(hex);
  ASSERT_TRUE(decoded.ok()) << decoded.status().ToString();
  EXPECT_EQ(*decoded, bytes);
}

// Scenario: upper-case and mixed-case digits, and the empty string.
// Guarantees: case is accepted on input; empty decodes to empty.
TEST(HexTest, DecodesUpperCaseAndEmpty) {
  auto decoded = HexDecode("5B8eFf");
  ASSERT_TRUE(decoded.ok()) << decoded.status().ToString();
  EXPECT_EQ(*decoded, std::string("\x5b\x8e\xff"));
  auto empty = HexDecode("");
  ASSERT_TRUE(empty.ok());
  EXPECT_EQ(*empty, "");
  EXPECT_EQ(HexEncode(""), "");
}

// Scenario: non-hex characters (letters, whitespace, 0x prefix, control bytes).
// Guarantees: Invalid naming the character (non-printables as \xNN) and position.
TEST(HexTest, RejectsBadCharacterWithPosition) {
  auto st = HexDecode("abzz").status();
  ASSERT_TRUE(st.IsInvalid());
  EXPECT_THAT(st.message(), HasSubstr("'z' at position 2"));

  st = HexDecode("0x12").status();
  EXPECT_THAT(st.message(), HasSubstr("'x' at position 1"));

  st = HexDecode("ab c").status();
  EXPECT_THAT(st.message(), HasSubstr("' ' at position 2"));

  st = HexDecode(std::string("a\xff", 2)).status();
  EXPECT_THAT(st.message(), HasSubstr("'\\xff' at position 1"));
}

// Scenario: an odd number of otherwise valid digits.
// Guarantees: Invalid naming the digit count.
TEST(HexTest, RejectsOddLength) {
  auto st = HexDecode("abc").status();
  ASSERT_TRUE(st.IsInvalid());
  EXPECT_THAT(st.message(), HasSubstr("odd number of hex digits (3)"));
}

}  // namespace
}  // namespace otap_parquet::util
