// SPDX-License-Identifier: Apache-2.0
#include "otap_parquet/util/zstd.h"

#include <gtest/gtest.h>

namespace otap_parquet::util {
namespace {

std::string Sample(size_t n) {
  std::string s;
  for (size_t i = 0; s.size() < n; ++i)
    s += "log record " + std::to_string(i % 97) + "; ";
  s.resize(n);
  return s;
}

TEST(Zstd, RoundTripsSmallEmptyAndLargeBodies) {
  for (size_t n : {size_t{0}, size_t{1}, size_t{1000}, size_t{3} << 20}) {
    const std::string plain = Sample(n);
    auto compressed = ZstdCompress(plain);
    ASSERT_TRUE(compressed.ok()) << compressed.status();
    auto back = ZstdDecompress(*compressed, plain.size());
    ASSERT_TRUE(back.ok()) << back.status();
    EXPECT_EQ(*back, plain) << n;
  }
}

TEST(Zstd, ConcatenatedFramesAreOneBody) {
  auto a = ZstdCompress("first ");
  auto b = ZstdCompress("second");
  ASSERT_TRUE(a.ok() && b.ok());
  auto back = ZstdDecompress(*a + *b, 100);
  ASSERT_TRUE(back.ok()) << back.status();
  EXPECT_EQ(*back, "first second");
}

TEST(Zstd, RefusesBodiesLargerThanTheLimitWithoutExpandingThem) {
  const std::string plain(10 << 20, 'x');  // 10 MiB of one byte: a tiny frame
  auto compressed = ZstdCompress(plain);
  ASSERT_TRUE(compressed.ok());
  ASSERT_LT(compressed->size(), size_t{4096});
  auto back = ZstdDecompress(*compressed, 1 << 20);
  ASSERT_FALSE(back.ok());
  EXPECT_TRUE(back.status().IsCapacityError()) << back.status();
  EXPECT_TRUE(ZstdDecompress(*compressed, plain.size()).ok());
}

TEST(Zstd, CorruptAndTruncatedInputIsInvalid) {
  auto compressed = ZstdCompress(Sample(5000));
  ASSERT_TRUE(compressed.ok());
  auto truncated = ZstdDecompress(compressed->substr(0, compressed->size() / 2), 1 << 20);
  ASSERT_FALSE(truncated.ok());
  EXPECT_TRUE(truncated.status().IsInvalid()) << truncated.status();
  auto garbage = ZstdDecompress("definitely not zstd", 1 << 20);
  ASSERT_FALSE(garbage.ok());
  EXPECT_TRUE(garbage.status().IsInvalid()) << garbage.status();
  std::string flipped = *compressed;
  flipped[flipped.size() / 2] ^= 0x5a;
  flipped[flipped.size() / 3] ^= 0xa5;
  auto corrupt = ZstdDecompress(flipped, 1 << 20);
  // Either detected (checksum/format) or decoded to something else — never a crash.
  if (corrupt.ok()) {
    EXPECT_NE(*corrupt, Sample(5000));
  }
}

}  // namespace
}  // namespace otap_parquet::util
