// SPDX-License-Identifier: Apache-2.0
#include "otap_parquet/storage/storage.h"

#include <unistd.h>

#include <filesystem>

#include "otap_parquet/testing/gtest_util.h"

namespace otap_parquet::dataset {
namespace {

using testing::HasSubstr;
namespace fs = std::filesystem;

/// Shuts the AWS SDK down after all tests, while statics are still alive.
class StorageEnvironment : public ::testing::Environment {
 public:
  void TearDown() override { ASSERT_OK(FinalizeStorage()); }
};
[[maybe_unused]] ::testing::Environment* const kStorageEnvironment =
    ::testing::AddGlobalTestEnvironment(new StorageEnvironment);

fs::path TempDir(const std::string& name) {
  return fs::temp_directory_path() /
         ("otap-storage-test-" + std::to_string(::getpid()) + "-" + name);
}

// Scenario: file storage whose base directory does not exist yet, given as a path
// and as a file:// URI.
// Guarantees: a LocalFileSystem, the absolute base path, and the directory created.
TEST(StorageTest, FileStorageCreatesBaseDirectory) {
  const fs::path base = TempDir("file") / "nested" / "dataset";
  fs::remove_all(base.parent_path().parent_path());
  for (const std::string& uri : {base.string(), "file://" + base.string()}) {
    StorageConfig config;
    config.base_uri = uri + "/";
    std::string base_path;
    ASSERT_OK_AND_ASSIGN(auto filesystem, MakeFileSystem(config, &base_path));
    EXPECT_TRUE(IsLocalFileSystem(*filesystem));
    EXPECT_EQ(base_path, base.string());
    EXPECT_TRUE(fs::is_directory(base));
    EXPECT_EQ(DisplayUri(*filesystem, base_path + "/logs/x.parquet"),
              "file://" + base.string() + "/logs/x.parquet");
  }
  fs::remove_all(base.parent_path().parent_path());
}

// Scenario: file storage where a regular file blocks the base directory.
// Guarantees: IOError naming the config key and the path.
TEST(StorageTest, FileStorageReportsUncreatableBase) {
  const fs::path blocker = TempDir("blocker");
  fs::remove_all(blocker);
  {
    std::FILE* f = std::fopen(blocker.c_str(), "w");
    std::fclose(f);
  }
  StorageConfig config;
  config.base_uri = (blocker / "dataset").string();
  std::string base_path;
  auto result = MakeFileSystem(config, &base_path);
  ASSERT_FALSE(result.ok());
  EXPECT_THAT(result.status().message(),
              AllOf(HasSubstr("storage.file.base_uri"), HasSubstr(blocker.string())));
  fs::remove(blocker);
}

// Scenario: URIs as the CLI receives them.
// Guarantees: the backend follows the scheme; unknown schemes are Invalid.
TEST(StorageTest, StorageConfigFromUri) {
  ASSERT_OK_AND_ASSIGN(auto config, StorageConfigFromUri("s3://bucket/prefix"));
  EXPECT_EQ(config.kind, StorageKind::kS3);
  ASSERT_OK_AND_ASSIGN(config, StorageConfigFromUri("/data/out"));
  EXPECT_EQ(config.kind, StorageKind::kFile);
  ASSERT_OK_AND_ASSIGN(config, StorageConfigFromUri("file:///data/out"));
  EXPECT_EQ(config.kind, StorageKind::kFile);
  ASSERT_OK_AND_ASSIGN(config, StorageConfigFromUri("gs://bucket/x"));
  EXPECT_EQ(config.kind, StorageKind::kGcs);
  ASSERT_RAISES(Invalid, StorageConfigFromUri("ftp://host/x").status());
}

// Scenario: S3 storage configs with a missing bucket, an http endpoint without
// allow_http, and static credentials without a secret.
// Guarantees: Invalid naming the key, before any network access.
TEST(StorageTest, S3ConfigErrorsNameTheKey) {
  std::string base_path;
  StorageConfig config;
  config.kind = StorageKind::kS3;
  config.base_uri = "s3://";
  EXPECT_RAISES_WITH_MESSAGE_THAT(Invalid, HasSubstr("storage.s3.base_uri"),
                                  MakeFileSystem(config, &base_path).status());
  config.base_uri = "s3://bucket/prefix";
  config.s3.endpoint = "http://localhost:9000";
  EXPECT_RAISES_WITH_MESSAGE_THAT(Invalid, HasSubstr("allow_http"),
                                  MakeFileSystem(config, &base_path).status());
  config.s3.endpoint.clear();
  config.s3.auth = S3AuthKind::kStaticCredentials;
  config.s3.access_key_id = "AK";
  EXPECT_RAISES_WITH_MESSAGE_THAT(Invalid, HasSubstr("storage.s3.auth"),
                                  MakeFileSystem(config, &base_path).status());
}

// Scenario: an S3 config pointing at a local endpoint (no request is made).
// Guarantees: an S3 file system and the base path "bucket/prefix".
TEST(StorageTest, S3FileSystemFromConfig) {
  StorageConfig config;
  config.kind = StorageKind::kS3;
  config.base_uri = "s3://bucket/prefix/";
  config.s3.endpoint = "127.0.0.1:1";
  config.s3.allow_http = true;
  config.s3.region = "us-east-1";
  std::string base_path;
  auto stats = std::make_shared<StorageStats>();
  ASSERT_OK_AND_ASSIGN(auto filesystem, MakeFileSystem(config, &base_path, stats));
  EXPECT_EQ(filesystem->type_name(), "s3");
  EXPECT_EQ(base_path, "bucket/prefix");
  EXPECT_FALSE(IsLocalFileSystem(*filesystem));
}

// Scenario: retry settings out of range.
// Guarantees: each is named.
TEST(StorageTest, RetryConfigValidation) {
  RetryConfig retry;
  ASSERT_OK(retry.Validate());
  retry.backoff_base = 0.5;
  retry.max_backoff = std::chrono::milliseconds(1);
  EXPECT_RAISES_WITH_MESSAGE_THAT(
      Invalid, AllOf(HasSubstr("retry.backoff_base"), HasSubstr("retry.max_backoff")),
      retry.Validate());
}

}  // namespace
}  // namespace otap_parquet::dataset
