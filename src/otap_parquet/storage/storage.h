// SPDX-License-Identifier: Apache-2.0
#pragma once

#include <atomic>
#include <chrono>
#include <cstdint>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include <arrow/filesystem/filesystem.h>
#include <arrow/result.h>
#include <arrow/status.h>

/// \file
/// Where a dataset lives: Arrow file systems (local, S3, GCS, Azure) from the
/// exporter's `storage` config or from a URI.

namespace otap_parquet::dataset {

/// \brief Retries of object-store requests (upstream's `retry` block, object_store
/// defaults). Ignored, with a warning, for file storage.
struct RetryConfig {
  /// Most retries of one request (0 = none).
  int64_t max_retries = 10;
  /// Delay before the first retry.
  std::chrono::milliseconds init_backoff{100};
  /// Upper bound of any delay.
  std::chrono::milliseconds max_backoff{15'000};
  /// Each delay is the previous one times this (> 1.0), with full jitter.
  double backoff_base = 2.0;
  /// No retry starts once the delays of a request would sum past this.
  std::chrono::milliseconds retry_timeout{180'000};

  static RetryConfig Defaults() { return {}; }
  void CheckInto(std::string_view path, std::vector<std::string>* errors) const;
  arrow::Status Validate() const;
};

enum class StorageKind { kFile, kS3, kGcs, kAzure };

/// \brief "file", "s3", "gcs", "azure".
std::string_view StorageKindName(StorageKind kind);

enum class S3AuthKind { kDefault, kStaticCredentials };

/// \brief `storage.s3` (upstream's keys).
struct S3Config {
  /// AWS region; empty = the SDK's choice (AWS_REGION, profile, ...).
  std::string region;
  /// Endpoint override, "host:port" or "http(s)://host:port" (MinIO, LocalStack).
  std::string endpoint;
  /// Allow plain http to the endpoint (the scheme becomes http).
  bool allow_http = false;
  /// Virtual-hosted-style requests (bucket in the host name).
  bool virtual_hosted_style_request = false;
  /// `auth.type`: default = the AWS default chain (env vars AWS_ACCESS_KEY_ID,
  /// AWS_SECRET_ACCESS_KEY, AWS_SESSION_TOKEN, profiles, instance metadata).
  S3AuthKind auth = S3AuthKind::kDefault;
  std::string access_key_id;
  std::string secret_access_key;
  std::string session_token;
};

/// \brief The exporter's `storage` block: exactly one backend.
struct StorageConfig {
  StorageKind kind = StorageKind::kFile;
  /// file: a directory path or file:// URI; s3: s3://bucket/prefix; gcs:
  /// gs://bucket/prefix; azure: abfs[s]://container@account.dfs.core.windows.net/prefix
  /// (any URI Arrow's AzureFileSystem accepts).
  std::string base_uri;
  S3Config s3;
  RetryConfig retry;

  void CheckInto(std::string_view path, std::vector<std::string>* errors) const;
  arrow::Status Validate() const;
};

/// \brief Counters of the storage layer, shared with the file system it made.
struct StorageStats {
  /// Object-store request retries (S3 retry strategy decisions to retry).
  std::atomic<int64_t> retries{0};
};

/// \brief Makes the file system of `config` and the path of the dataset's base
/// inside it (`*base_path`; no trailing slash).
///
/// file: LocalFileSystem; the base directory is created if missing. s3: an
/// S3FileSystem from S3Options (region, endpoint, scheme, auth, retry strategy from
/// `config.retry`); S3 is initialized once per process (arrow::fs::EnsureS3Initialized);
/// call FinalizeStorage() before the process exits. gcs / azure: Arrow's file
/// systems from the URI.
/// Errors name the URI.
///
/// \param stats optional; receives the retry count of object stores
arrow::Result<std::shared_ptr<arrow::fs::FileSystem>> MakeFileSystem(
    const StorageConfig& config, std::string* base_path,
    std::shared_ptr<StorageStats> stats = nullptr);

/// \brief A StorageConfig for a CLI argument: s3:// → S3 (default auth: AWS env
/// vars), gs:// → GCS, abfs(s):// → Azure, file:// URI or a plain path → file.
arrow::Result<StorageConfig> StorageConfigFromUri(const std::string& uri_or_path);

/// \brief MakeFileSystem(StorageConfigFromUri(uri)), with `s3` settings (region,
/// endpoint, allow_http) applied when the URI is s3://.
arrow::Result<std::shared_ptr<arrow::fs::FileSystem>> FileSystemFromUri(
    const std::string& uri_or_path, const S3Config& s3, std::string* base_path);

/// \brief Shuts down the AWS SDK if MakeFileSystem started it. Call once, after
/// every S3 file system (and writer using one) is destroyed, before main() returns
/// (static destruction is too late). Later S3 use fails.
arrow::Status FinalizeStorage();

/// \brief Whether paths of `fs` are native local paths (LocalFileSystem), where the
/// writer publishes by rename and fsync.
bool IsLocalFileSystem(const arrow::fs::FileSystem& fs);

/// \brief A printable URI for `path` in `fs` (file:///..., s3://..., gs://...,
/// abfs://...), not percent-encoded, for logs and error messages; `path` itself for
/// other file systems.
std::string DisplayUri(const arrow::fs::FileSystem& fs, const std::string& path);

/// \brief `base` + "/" + `name` as an Arrow filesystem path (no doubled slash; an
/// empty base gives `name`).
std::string JoinStoragePath(const std::string& base, std::string_view name);

}  // namespace otap_parquet::dataset
