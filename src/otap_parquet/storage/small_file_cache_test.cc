// SPDX-License-Identifier: Apache-2.0
#include "otap_parquet/storage/small_file_cache.h"

#include <fstream>
#include <string>

#include <arrow/buffer.h>
#include <arrow/filesystem/localfs.h>
#include <arrow/io/interfaces.h>

#include "otap_parquet/storage/storage.h"
#include "otap_parquet/testing/gtest_util.h"
#include "otap_parquet/testing/temp_dir.h"

namespace otap_parquet::dataset {
namespace {

// Counts the opens of files it is asked for (what an object store bills).
class OpenCountingFs : public ForwardingFileSystem {
 public:
  OpenCountingFs()
      : ForwardingFileSystem(std::make_shared<arrow::fs::LocalFileSystem>()) {}
  using ForwardingFileSystem::OpenInputFile;
  arrow::Result<std::shared_ptr<arrow::io::RandomAccessFile>> OpenInputFile(
      const arrow::fs::FileInfo& info) override {
    ++opens;
    return ForwardingFileSystem::OpenInputFile(info);
  }
  int opens = 0;
};

arrow::Result<std::string> ReadListed(arrow::fs::FileSystem& fs, const std::string& path,
                                      int64_t size) {
  ARROW_ASSIGN_OR_RAISE(auto file, OpenListedFile(fs, path, size));
  ARROW_ASSIGN_OR_RAISE(auto bytes, file->ReadAt(0, size));
  return bytes->ToString();
}

std::string Read(arrow::fs::FileSystem& fs, const std::string& path, int64_t size) {
  return ReadListed(fs, path, size).ValueOr("(failed)");
}

// Scenario: three small files opened with their listed sizes, again and again,
// through a cache with room for two of them; one file deleted through it and
// written anew; a file larger than the cache's file limit.
// Guarantees: a file is read from the store once while it stays in the cache (the
// least recently opened is dropped first); a file deleted through it is read anew;
// a file above the limit and a file opened without its size go to the store.
TEST(SmallFileCacheTest, ReadsEachSmallFileOnceWithinItsBudget) {
  otap_parquet::testing::TempDir dir("otap_small_file_cache_test");
  const std::string a = dir.path() + "/a", b = dir.path() + "/b", c = dir.path() + "/c",
                    big = dir.path() + "/big";
  std::ofstream(a) << "alpha";
  std::ofstream(b) << "bravo";
  std::ofstream(c) << "charl";
  std::ofstream(big) << std::string(100, 'x');
  auto store = std::make_shared<OpenCountingFs>();
  SmallFileCache cache(store, /*max_file_bytes=*/50, /*budget_bytes=*/10);

  EXPECT_EQ(Read(cache, a, 5), "alpha");
  EXPECT_EQ(Read(cache, b, 5), "bravo");
  EXPECT_EQ(Read(cache, a, 5), "alpha");
  EXPECT_EQ(Read(cache, b, 5), "bravo");
  EXPECT_EQ(store->opens, 2);
  EXPECT_EQ(cache.hits(), 2);
  // c drops a (opened before b last).
  EXPECT_EQ(Read(cache, c, 5), "charl");
  EXPECT_EQ(Read(cache, b, 5), "bravo");
  EXPECT_EQ(store->opens, 3);
  EXPECT_EQ(Read(cache, a, 5), "alpha");
  EXPECT_EQ(store->opens, 4);

  ASSERT_OK(cache.DeleteFile(a));
  std::ofstream(a) << "ALPHA";
  EXPECT_EQ(Read(cache, a, 5), "ALPHA");
  EXPECT_EQ(store->opens, 5);

  EXPECT_EQ(Read(cache, big, 100), std::string(100, 'x'));
  EXPECT_EQ(Read(cache, big, 100), std::string(100, 'x'));
  EXPECT_EQ(store->opens, 7);
  EXPECT_EQ(Read(cache, b, 5), "bravo");  // still kept
  EXPECT_EQ(store->opens, 7);
  EXPECT_EQ(cache.hits(), 4);
  EXPECT_EQ(cache.files_read(), 5);
  // Without its size: the store's own open.
  ASSERT_OK_AND_ASSIGN(auto by_path, cache.OpenInputFile(c));
  ASSERT_OK_AND_ASSIGN(auto bytes, by_path->ReadAt(0, 5));
  EXPECT_EQ(bytes->ToString(), "charl");
  EXPECT_EQ(cache.hits(), 4);
}

}  // namespace
}  // namespace otap_parquet::dataset
