// SPDX-License-Identifier: Apache-2.0
#include "otap_parquet/util/inflate.h"

#include <gtest/gtest.h>

#include "otap_parquet/testing/gtest_util.h"

namespace otap_parquet::util {
namespace {

std::string Sample(size_t n) {
  std::string s;
  for (size_t i = 0; s.size() < n; ++i)
    s += "log record " + std::to_string(i % 97) + "; ";
  s.resize(n);
  return s;
}

constexpr DeflateFormat kFormats[] = {DeflateFormat::kGzip, DeflateFormat::kZlib};

// Scenario: bodies of 0 B to 3 MiB deflated as gzip and zlib, inflated with the
// exact format, with kAuto, and with a limit of exactly their size.
// Guarantees: the same bytes back.
TEST(Inflate, RoundTripsGzipAndZlibBodies) {
  for (DeflateFormat format : kFormats) {
    for (size_t n : {size_t{0}, size_t{1}, size_t{1000}, size_t{3} << 20}) {
      const std::string plain = Sample(n);
      ASSERT_OK_AND_ASSIGN(auto compressed, Deflate(plain, format));
      for (DeflateFormat as : {format, DeflateFormat::kAuto}) {
        auto back = Inflate(compressed, plain.size(), as);
        ASSERT_TRUE(back.ok()) << back.status();
        EXPECT_EQ(*back, plain) << n;
      }
    }
  }
}

// Scenario: 64 MiB of zeros (~64 KiB deflated) against a 4 MiB limit; a body one
// byte larger than its limit.
// Guarantees: CapacityError, found after inflating about the limit (the bomb is not
// expanded in full: this returns without allocating 64 MiB).
TEST(Inflate, RefusesBodiesLargerThanTheLimitWithoutExpandingThem) {
  const std::string zeros(64 << 20, '\0');
  for (DeflateFormat format : kFormats) {
    ASSERT_OK_AND_ASSIGN(auto bomb, Deflate(zeros, format));
    ASSERT_LT(bomb.size(), 128u << 10);
    auto r = Inflate(bomb, 4 << 20, format);
    EXPECT_TRUE(r.status().IsCapacityError()) << r.status();

    const std::string plain = Sample(100'000);
    ASSERT_OK_AND_ASSIGN(auto compressed, Deflate(plain, format));
    r = Inflate(compressed, plain.size() - 1, format);
    EXPECT_TRUE(r.status().IsCapacityError()) << r.status();
  }
}

// Scenario: a zlib body inflated as gzip and the reverse; a truncated body; a body
// with bytes after its end; two gzip members.
// Guarantees: Invalid for the first three; the members are one body.
TEST(Inflate, WrongFormatTruncatedAndTrailingBytesAreInvalid) {
  const std::string plain = Sample(5000);
  ASSERT_OK_AND_ASSIGN(auto gzip, Deflate(plain, DeflateFormat::kGzip));
  ASSERT_OK_AND_ASSIGN(auto zlib, Deflate(plain, DeflateFormat::kZlib));
  EXPECT_TRUE(Inflate(zlib, 1 << 20, DeflateFormat::kGzip).status().IsInvalid());
  EXPECT_TRUE(Inflate(gzip, 1 << 20, DeflateFormat::kZlib).status().IsInvalid());
  for (DeflateFormat format : kFormats) {
    const std::string& body = format == DeflateFormat::kGzip ? gzip : zlib;
    auto r = Inflate(body.substr(0, body.size() - 3), 1 << 20, format);
    EXPECT_TRUE(r.status().IsInvalid()) << r.status();
    r = Inflate(body + "xyz", 1 << 20, format);
    EXPECT_TRUE(r.status().IsInvalid()) << r.status();
  }
  auto two = Inflate(gzip + gzip, 1 << 20, DeflateFormat::kGzip);
  ASSERT_TRUE(two.ok()) << two.status();
  EXPECT_EQ(*two, plain + plain);
}

// Scenario: the first 11 bytes of a 64 MiB bomb, of a short body, of garbage.
// Guarantees: those bytes (fewer for the short body, none for garbage).
TEST(Inflate, PrefixInflatesOnlyWhatIsAskedFor) {
  std::string head = "\x08\x2a";
  const std::string big = head + std::string(64 << 20, '\0');
  for (DeflateFormat format : kFormats) {
    ASSERT_OK_AND_ASSIGN(auto bomb, Deflate(big, format));
    EXPECT_EQ(InflatePrefix(bomb, 11, format), big.substr(0, 11));
    ASSERT_OK_AND_ASSIGN(auto small, Deflate(head, format));
    EXPECT_EQ(InflatePrefix(small, 11, format), head);
    EXPECT_EQ(InflatePrefix("not deflate at all", 11, format), "");
  }
}

}  // namespace
}  // namespace otap_parquet::util
