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

namespace otap_parquet::config {
class ConfigReader;
}
#include "otap_parquet/util/backoff.h"
#include "otap_parquet/util/event_log.h"

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
  /// \brief Reads upstream's `retry` block (the keys above) and checks it.
  static RetryConfig Read(config::ConfigReader& reader);
  /// \brief Records every invalid field at its key of `reader` (the `retry` block).
  void Check(config::ConfigReader& reader) const;
  /// \brief Check() of settings built in code: Invalid naming every invalid key.
  arrow::Status Validate() const;
  /// \brief Retry n waits in [u/2, u], u = init_backoff·backoff_base^(n-1) capped at
  /// max_backoff (equal jitter, so that many writers' retries spread out): the
  /// policy's base is 3u/4 with jitter 1/3. max_elapsed is retry_timeout, a budget
  /// of the largest delays (MaxDelaySum), not of clock time.
  util::BackoffPolicy Policy() const {
    return {.initial_interval = std::chrono::nanoseconds(init_backoff) * 3 / 4,
            .max_interval = std::chrono::nanoseconds(max_backoff) * 3 / 4,
            .multiplier = backoff_base,
            .jitter = 1.0 / 3,
            .max_elapsed = retry_timeout};
  }
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

enum class GcsAuthKind { kDefault, kAnonymous, kServiceAccount, kAccessToken };

/// \brief `storage.gcs`. Unset keys fall back to the environment variables named.
struct GcsConfig {
  /// Endpoint override, "http(s)://host:port" (an emulator such as fake-gcs-server);
  /// else STORAGE_EMULATOR_HOST (then with anonymous auth unless `auth` says
  /// otherwise, as Google's client libraries do).
  std::string endpoint;
  /// Project of created buckets; else GOOGLE_CLOUD_PROJECT.
  std::string project_id;
  /// `auth.type`: default = Application Default Credentials
  /// (GOOGLE_APPLICATION_CREDENTIALS, gcloud, metadata server); service_account =
  /// the JSON key file `credentials_file`; access_token = `access_token`.
  GcsAuthKind auth = GcsAuthKind::kDefault;
  std::string credentials_file;
  std::string access_token;
};

enum class AzureAuthKind { kDefault, kAccountKey, kSasToken, kAnonymous };

/// \brief `storage.azure`. Unset keys fall back to the environment variables named.
struct AzureConfig {
  /// Storage account; else the URI's (abfs://c@ACCOUNT.dfs..., https://ACCOUNT.blob...),
  /// else AZURE_STORAGE_ACCOUNT_NAME (or AZURE_STORAGE_ACCOUNT).
  std::string account_name;
  /// Blob endpoint override, "http(s)://host:port" (Azurite); the account then
  /// follows the host in request paths. Else AZURE_STORAGE_ENDPOINT;
  /// AZURE_STORAGE_USE_EMULATOR=true means Azurite's http://127.0.0.1:10000 with its
  /// well-known account and key.
  std::string endpoint;
  /// `auth.type`: default = `account_key` if set (or AZURE_STORAGE_ACCOUNT_KEY /
  /// AZURE_STORAGE_KEY), else `sas_token` (or AZURE_STORAGE_SAS_TOKEN), else Azure's
  /// DefaultAzureCredential (AZURE_TENANT_ID/AZURE_CLIENT_ID/AZURE_CLIENT_SECRET,
  /// workload and managed identity, the az CLI).
  AzureAuthKind auth = AzureAuthKind::kDefault;
  std::string account_key;
  std::string sas_token;
};

/// \brief Where an Azure URI points: account (may be empty), container, path.
struct AzureLocation {
  std::string account;
  std::string container;
  std::string path;
};

/// \brief Parses the Azure URI forms users paste:
/// abfs[s]://container@account.dfs.core.windows.net/path,
/// abfs[s]://account.blob.core.windows.net/container/path, abfs[s]://container/path,
/// az://container/path (also azure://), and
/// https://account.(blob|dfs).core.windows.net/container/path.
arrow::Result<AzureLocation> ParseAzureUri(std::string_view uri);

/// \brief Whether `uri` is one of the forms ParseAzureUri accepts (by scheme and host).
bool IsAzureUri(std::string_view uri);

/// \brief The exporter's `storage` block: exactly one backend.
struct StorageConfig {
  StorageKind kind = StorageKind::kFile;
  /// file: a directory path or file:// URI; s3: s3://bucket/prefix; gcs:
  /// gs://bucket/prefix; azure: any form of ParseAzureUri.
  std::string base_uri;
  S3Config s3;
  GcsConfig gcs;
  AzureConfig azure;
  /// Upstream's `retry` block, a sibling of `storage` (read by the exporter).
  RetryConfig retry;

  /// \brief Reads the `storage` block (exactly one of file, s3, gcs, azure) and
  /// checks it; `retry` stays at its defaults.
  static StorageConfig Read(config::ConfigReader& reader);
  /// \brief Records every invalid field of the backend at its key below `reader`
  /// (the `storage` block: "s3.base_uri"); not `retry`.
  void Check(config::ConfigReader& reader) const;
  /// \brief Check() and retry.Check() of settings built in code.
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
/// call FinalizeStorage() before the process exits. gcs: GcsFileSystem (endpoint,
/// auth, project; `retry.retry_timeout` bounds the client's retries, 0 retries
/// when max_retries is 0). azure: AzureFileSystem (account, endpoint, auth; the
/// Azure SDK's own retry policy). Errors name the URI.
///
/// \param stats optional; receives the retry count of object stores
arrow::Result<std::shared_ptr<arrow::fs::FileSystem>> MakeFileSystem(
    const StorageConfig& config, std::string* base_path,
    std::shared_ptr<StorageStats> stats = nullptr, util::EventLog log = {});

/// \brief A StorageConfig for a CLI argument: s3:// → S3 (default auth: AWS env
/// vars), gs:// → GCS, the Azure forms of ParseAzureUri → Azure, file:// URI or a
/// plain path → file. Endpoints and credentials of GCS and Azure come from the
/// environment variables of GcsConfig and AzureConfig.
arrow::Result<StorageConfig> StorageConfigFromUri(const std::string& uri_or_path);

/// \brief MakeFileSystem(StorageConfigFromUri(uri)), with `s3` settings (region,
/// endpoint, allow_http) applied when the URI is s3://.
arrow::Result<std::shared_ptr<arrow::fs::FileSystem>> FileSystemFromUri(
    const std::string& uri_or_path, const S3Config& s3, std::string* base_path);

/// \brief MakeFileSystem(StorageConfigFromUri(uri)) with the backend settings
/// (`s3`, `gcs`, `azure`: each used by its own kind only) and `retry` of `settings`.
arrow::Result<std::shared_ptr<arrow::fs::FileSystem>> FileSystemFromUri(
    const std::string& uri_or_path, const StorageConfig& settings,
    std::string* base_path);

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

/// \brief The entries directly under `dir` (files and directories); none when `dir`
/// does not exist. Arrow's GCS file system lists a directory in a non-recursive
/// listing only where a marker object names it, and the writer creates none: there
/// the children come from a recursive listing.
arrow::Result<std::vector<arrow::fs::FileInfo>> ListChildren(arrow::fs::FileSystem& fs,
                                                             const std::string& dir);
/// \brief ListChildren with the way of listing chosen (tests).
arrow::Result<std::vector<arrow::fs::FileInfo>> ListChildren(arrow::fs::FileSystem& fs,
                                                             const std::string& dir,
                                                             bool from_recursive_listing);

/// \brief Deletes `dir` and everything under it; a missing `dir` is not an error
/// (on GCS a directory without a marker object is only its objects). Never on a
/// directory of a live dataset: it deletes whatever is there when it runs, files a
/// writer published after the caller's listing too (retention deletes listed files).
arrow::Status DeleteTree(arrow::fs::FileSystem& fs, const std::string& dir);

/// \brief Opens `path` for reading; with its size from a listing (`size` >= 0) as a
/// FileInfo, which spares object stores the HEAD request Arrow makes to learn the
/// size of a file opened by path (S3, GCS, Azure bill per request). `size` < 0:
/// opened by path.
arrow::Result<std::shared_ptr<arrow::io::RandomAccessFile>> OpenListedFile(
    arrow::fs::FileSystem& fs, const std::string& path, int64_t size);

/// \brief `base` + "/" + `name` as an Arrow filesystem path (no doubled slash; an
/// empty base gives `name`).
std::string JoinStoragePath(const std::string& base, std::string_view name);

}  // namespace otap_parquet::dataset
