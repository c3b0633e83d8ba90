// SPDX-License-Identifier: Apache-2.0
#include "otap_parquet/storage/storage.h"

#include <unistd.h>

#include <algorithm>
#include <filesystem>
#include <string>
#include <vector>

#include <arrow/filesystem/mockfs.h>

#include "otap_parquet/testing/gtest_util.h"
#include "otap_parquet/util/fsync.h"

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

// Scenario: file storage whose base directory and its parent do not exist yet
// (a first start); then the sync fails.
// Guarantees: the parent of every directory created is synced, innermost first
// (else a power loss can take the new dataset directory, and the acknowledged
// files published in it, away); a failed sync fails the call, naming the
// directory. Fails before the fix: nothing synced, the call succeeded.
TEST(StorageTest, FileStorageSyncsTheDirectoriesItCreates) {
  const fs::path root = TempDir("sync");
  fs::remove_all(root);
  fs::create_directories(root);
  std::vector<std::string> synced;
  bool fail = false;
  util::SetFsyncHookForTesting([&](const std::string& path, bool directory) {
    if (fail) return arrow::Status::IOError("injected EIO");
    if (directory) synced.push_back(path);
    return arrow::Status::OK();
  });
  StorageConfig config;
  config.base_uri = (root / "lake" / "dataset").string();
  std::string base_path;
  auto made = MakeFileSystem(config, &base_path);
  fail = true;
  config.base_uri = (root / "other").string();
  auto failed = MakeFileSystem(config, &base_path);
  util::SetFsyncHookForTesting(nullptr);
  ASSERT_OK(made.status());
  EXPECT_EQ(synced, (std::vector<std::string>{(root / "lake").string(), root.string()}));
  EXPECT_RAISES_WITH_MESSAGE_THAT(IOError, HasSubstr("injected EIO"), failed.status());
  EXPECT_THAT(failed.status().message(), HasSubstr((root / "other").string()));
  fs::remove_all(root);
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
  for (const char* uri :
       {"abfs://c@acct.dfs.core.windows.net/x", "abfss://c/x", "az://c/x", "azure://c/x",
        "https://acct.blob.core.windows.net/c/x",
        "https://acct.dfs.core.windows.net/c"}) {
    ASSERT_OK_AND_ASSIGN(config, StorageConfigFromUri(uri));
    EXPECT_EQ(config.kind, StorageKind::kAzure) << uri;
  }
  ASSERT_RAISES(Invalid, StorageConfigFromUri("ftp://host/x").status());
  // https elsewhere is no dataset URI.
  ASSERT_RAISES(Invalid, StorageConfigFromUri("https://example.com/c/x").status());
}

// Scenario: the Azure URI forms users paste.
// Guarantees: account (where the URI has one), container and path; no container or
// a query string is Invalid naming the URI.
TEST(StorageTest, ParseAzureUri) {
  struct Case {
    std::string uri, account, container, path;
  };
  for (const Case& c : std::vector<Case>{
           {"abfs://logs@acct.dfs.core.windows.net/lake/a", "acct", "logs", "lake/a"},
           {"abfss://logs@acct.dfs.core.windows.net/lake/", "acct", "logs", "lake"},
           {"abfs://logs@acct.blob.core.windows.net", "acct", "logs", ""},
           {"abfs://acct.blob.core.windows.net/logs/lake", "acct", "logs", "lake"},
           {"abfs://logs/lake", "", "logs", "lake"},
           {"az://logs/lake/x", "", "logs", "lake/x"},
           {"azure://logs", "", "logs", ""},
           {"https://acct.blob.core.windows.net/logs/lake", "acct", "logs", "lake"},
           {"https://acct.dfs.core.windows.net/logs/a/b/", "acct", "logs", "a/b"},
       }) {
    ASSERT_OK_AND_ASSIGN(auto location, ParseAzureUri(c.uri));
    EXPECT_EQ(location.account, c.account) << c.uri;
    EXPECT_EQ(location.container, c.container) << c.uri;
    EXPECT_EQ(location.path, c.path) << c.uri;
  }
  EXPECT_RAISES_WITH_MESSAGE_THAT(Invalid, HasSubstr("az://"),
                                  ParseAzureUri("az://").status());
  EXPECT_RAISES_WITH_MESSAGE_THAT(Invalid, HasSubstr("query"),
                                  ParseAzureUri("az://c/x?sv=2022&sig=abc").status());
  ASSERT_RAISES(Invalid, ParseAzureUri("https://acct.example.com/c/x").status());
}

// Scenario: GCS and Azure configs with endpoints on 127.0.0.1:1 (no request is
// made), and configs missing what their auth type needs.
// Guarantees: the file systems and base paths ("bucket/prefix", "container/path");
// Invalid naming the key otherwise.
TEST(StorageTest, GcsAndAzureFileSystemsFromConfig) {
  std::string base_path;
  StorageConfig gcs;
  gcs.kind = StorageKind::kGcs;
  gcs.base_uri = "gs://bucket/prefix/";
  gcs.gcs.endpoint = "http://127.0.0.1:1";
  gcs.gcs.auth = GcsAuthKind::kAnonymous;
  ASSERT_OK_AND_ASSIGN(auto filesystem, MakeFileSystem(gcs, &base_path));
  EXPECT_EQ(filesystem->type_name(), "gcs");
  EXPECT_EQ(base_path, "bucket/prefix");
  EXPECT_EQ(DisplayUri(*filesystem, base_path), "gs://bucket/prefix");

  StorageConfig azure;
  azure.kind = StorageKind::kAzure;
  azure.base_uri = "https://acct.blob.core.windows.net/logs/lake/";
  azure.azure.endpoint = "http://127.0.0.1:1";
  azure.azure.auth = AzureAuthKind::kAccountKey;
  azure.azure.account_key = "a2V5";
  ASSERT_OK_AND_ASSIGN(filesystem, MakeFileSystem(azure, &base_path));
  EXPECT_EQ(filesystem->type_name(), "abfs");
  EXPECT_EQ(base_path, "logs/lake");

  azure.azure.account_key.clear();
  EXPECT_RAISES_WITH_MESSAGE_THAT(Invalid, HasSubstr("storage.azure.auth"),
                                  MakeFileSystem(azure, &base_path).status());
  azure.azure.auth = AzureAuthKind::kAnonymous;
  azure.azure.endpoint = "ftp://127.0.0.1:1";
  EXPECT_RAISES_WITH_MESSAGE_THAT(Invalid, HasSubstr("storage.azure.endpoint"),
                                  MakeFileSystem(azure, &base_path).status());
  gcs.gcs.auth = GcsAuthKind::kServiceAccount;
  EXPECT_RAISES_WITH_MESSAGE_THAT(Invalid, HasSubstr("storage.gcs.auth"),
                                  MakeFileSystem(gcs, &base_path).status());
}

// Scenario: the directory tree a/{x/1, x/y/2, z/3, f} as objects only, in a mock
// file system (Arrow's in-memory one).
// Guarantees: ListChildren gives the direct children (x, z, f), from a directory
// listing and from a recursive one (how it lists on GCS); a missing
// directory has none; DeleteTree removes a tree and accepts a missing one.
TEST(StorageTest, ListChildrenAndDeleteTree) {
  auto mock =
      std::make_shared<arrow::fs::internal::MockFileSystem>(arrow::fs::TimePoint{});
  for (const char* path : {"a/x/1", "a/x/y/2", "a/z/3", "a/f"}) {
    ASSERT_OK(mock->CreateFile(path, "data", /*recursive=*/true));
  }
  for (bool recursive : {false, true}) {
    ASSERT_OK_AND_ASSIGN(auto children, ListChildren(*mock, "a", recursive));
    std::vector<std::string> names;
    for (const auto& info : children) {
      EXPECT_EQ(info.path(), "a/" + info.base_name());
      names.push_back(info.base_name() + (info.IsDirectory() ? "/" : ""));
    }
    std::sort(names.begin(), names.end());
    EXPECT_EQ(names, (std::vector<std::string>{"f", "x/", "z/"})) << recursive;
    ASSERT_OK_AND_ASSIGN(children, ListChildren(*mock, "missing", recursive));
    EXPECT_TRUE(children.empty());
  }
  ASSERT_OK(DeleteTree(*mock, "a/x"));
  ASSERT_OK_AND_ASSIGN(auto info, mock->GetFileInfo("a/x/y/2"));
  EXPECT_EQ(info.type(), arrow::fs::FileType::NotFound);
  ASSERT_OK(DeleteTree(*mock, "a/x"));
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

// Scenario: object-store retries (100ms ×2 up to 1s) on the engine's backoff policy.
// Guarantees: retry n waits in [u/2, u], u = 100ms·2^(n-1) capped at 1s (equal
// jitter, as before the policy was shared); the retry_timeout budget sums the u.
TEST(StorageTest, RetryConfigMapsOntoTheBackoffPolicy) {
  using std::chrono::milliseconds;
  using std::chrono::nanoseconds;
  RetryConfig retry;
  retry.init_backoff = milliseconds(100);
  retry.max_backoff = milliseconds(1000);
  retry.backoff_base = 2;
  util::Backoff backoff(retry.Policy(), 7);
  for (int n = 1; n <= 6; ++n) {
    const nanoseconds upper =
        std::min<nanoseconds>(milliseconds(100 << (n - 1)), milliseconds(1000));
    for (int draw = 0; draw < 100; ++draw) {
      const nanoseconds d = backoff.Delay(n);
      EXPECT_GE(d.count(), upper.count() / 2 - 1) << n;
      EXPECT_LE(d.count(), upper.count() + 1) << n;
    }
  }
  EXPECT_NEAR(static_cast<double>(retry.Policy().MaxDelaySum(3).count()), 700e6, 1e3);
  EXPECT_EQ(retry.Policy().max_elapsed, nanoseconds(retry.retry_timeout));
}

}  // namespace
}  // namespace otap_parquet::dataset
