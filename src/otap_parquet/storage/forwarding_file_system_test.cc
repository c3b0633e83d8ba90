// SPDX-License-Identifier: Apache-2.0
#include "otap_parquet/storage/forwarding_file_system.h"

#include <fstream>
#include <string>
#include <vector>

#include <arrow/buffer.h>
#include <arrow/filesystem/localfs.h>
#include <arrow/io/interfaces.h>
#include <arrow/util/future.h>

#include "otap_parquet/testing/gtest_util.h"
#include "otap_parquet/testing/temp_dir.h"

namespace otap_parquet::dataset {
namespace {

using ::testing::ElementsAre;

// Records the deletions it is asked for; everything else is the local disk's.
class DeleteRecordingFs : public ForwardingFileSystem {
 public:
  DeleteRecordingFs()
      : ForwardingFileSystem(std::make_shared<arrow::fs::LocalFileSystem>()) {}
  arrow::Status DeleteFile(const std::string& path) override {
    deleted.push_back(path);
    return ForwardingFileSystem::DeleteFile(path);
  }
  std::vector<std::string> deleted;
};

// Scenario: a wrapper of the local disk that overrides DeleteFile only; files read
// by path, by FileInfo and asynchronously; two files deleted in one DeleteFiles.
// Guarantees: the wrapper is the disk ("local", equal to it, its files and infos);
// a bulk deletion reaches the override once per file (a kill point or a recorded
// event on DeleteFile sees every deletion).
TEST(ForwardingFileSystemTest, ForwardsReadsAndRoutesBulkDeletesThroughTheOverride) {
  otap_parquet::testing::TempDir dir("otap_forwarding_fs_test");
  const std::string a = dir.path() + "/a", b = dir.path() + "/b";
  std::ofstream(a) << "alpha";
  std::ofstream(b) << "beta";
  auto fs = std::make_shared<DeleteRecordingFs>();

  EXPECT_EQ(fs->type_name(), "local");
  EXPECT_TRUE(fs->Equals(*fs));
  EXPECT_TRUE(fs->Equals(*fs->base()));
  ASSERT_OK_AND_ASSIGN(auto info, fs->GetFileInfo(a));
  EXPECT_EQ(info.size(), 5);
  ASSERT_OK_AND_ASSIGN(auto infos, fs->GetFileInfo(std::vector<std::string>{a, b}));
  ASSERT_EQ(infos.size(), 2u);
  EXPECT_EQ(infos[1].size(), 4);
  ASSERT_OK_AND_ASSIGN(auto file, fs->OpenInputFile(info));
  ASSERT_OK_AND_ASSIGN(auto bytes, file->ReadAt(0, 5));
  EXPECT_EQ(bytes->ToString(), "alpha");
  ASSERT_OK_AND_ASSIGN(auto stream, fs->OpenInputStreamAsync(b).result());
  ASSERT_OK_AND_ASSIGN(bytes, stream->Read(4));
  EXPECT_EQ(bytes->ToString(), "beta");
  ASSERT_OK(stream->Close());
  ASSERT_OK(file->Close());

  ASSERT_OK(fs->DeleteFiles({a, b}));
  EXPECT_THAT(fs->deleted, ElementsAre(a, b));
  ASSERT_OK_AND_ASSIGN(info, fs->GetFileInfo(a));
  EXPECT_EQ(info.type(), arrow::fs::FileType::NotFound);
}

}  // namespace
}  // namespace otap_parquet::dataset
