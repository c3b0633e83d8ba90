// SPDX-License-Identifier: Apache-2.0
#include "otap_parquet/storage/storage.h"

#include <algorithm>
#include <cmath>
#include <cstdlib>
#include <filesystem>
#include <mutex>
#include <random>
#include <utility>

#include <arrow/filesystem/localfs.h>
#include <arrow/filesystem/s3fs.h>
#include <fmt/format.h>
#include <spdlog/spdlog.h>

namespace otap_parquet::dataset {

using arrow::Status;

namespace {

std::string Join(std::string_view path, std::string_view key) {
  if (path.empty()) return std::string(key);
  return fmt::format("{}.{}", path, key);
}

bool StartsWith(std::string_view s, std::string_view prefix) {
  return s.substr(0, prefix.size()) == prefix;
}

std::string StripTrailingSlashes(std::string path) {
  while (path.size() > 1 && path.back() == '/') path.pop_back();
  return path;
}

/// Capped exponential backoff with jitter, bounded by a retry count and a total
/// delay budget; counts its decisions to retry.
class BackoffRetryStrategy final : public arrow::fs::S3RetryStrategy {
 public:
  BackoffRetryStrategy(RetryConfig config, std::shared_ptr<StorageStats> stats)
      : config_(config), stats_(std::move(stats)) {}

  bool ShouldRetry(const AWSErrorDetail& error, int64_t attempted_retries) override {
    if (!error.should_retry || attempted_retries >= config_.max_retries) return false;
    // The budget counts the largest delays the retries so far could have taken.
    double budget_ms = 0;
    for (int64_t i = 0; i <= attempted_retries; ++i) budget_ms += UpperDelayMs(i);
    if (budget_ms > static_cast<double>(config_.retry_timeout.count())) return false;
    if (stats_) stats_->retries.fetch_add(1, std::memory_order_relaxed);
    spdlog::warn("exporter.parquet.storage.retry attempt={} error={} message={}",
                 attempted_retries + 1, error.exception_name, error.message);
    return true;
  }

  int64_t CalculateDelayBeforeNextRetry(const AWSErrorDetail&,
                                        int64_t attempted_retries) override {
    const double upper = UpperDelayMs(attempted_retries);
    // Equal jitter: half fixed, half random, so retries of many writers spread out.
    thread_local std::mt19937_64 engine{std::random_device{}()};
    std::uniform_real_distribution<double> jitter(0.0, upper / 2);
    return static_cast<int64_t>(upper / 2 + jitter(engine));
  }

 private:
  double UpperDelayMs(int64_t attempt) const {
    const double delay = static_cast<double>(config_.init_backoff.count()) *
                         std::pow(config_.backoff_base, static_cast<double>(attempt));
    return std::min(delay, static_cast<double>(config_.max_backoff.count()));
  }

  RetryConfig config_;
  std::shared_ptr<StorageStats> stats_;
};

Status InitializeS3Once() {
  static std::once_flag once;
  static Status status;
  std::call_once(once, [] {
    // No atexit hook: Arrow creates function-local statics after initialization
    // that an atexit handler registered here would outlive (it then waits forever
    // on a destroyed mutex). Applications call FinalizeStorage() before exiting.
    status = arrow::fs::EnsureS3Initialized();
  });
  return status;
}

arrow::Result<std::shared_ptr<arrow::fs::FileSystem>> MakeS3(
    const StorageConfig& config, std::string* base_path,
    const std::shared_ptr<StorageStats>& stats) {
  const std::string& uri = config.base_uri;
  if (!StartsWith(uri, "s3://")) {
    return Status::Invalid("storage.s3.base_uri: expected s3://bucket/prefix, got '", uri,
                           "'");
  }
  std::string path = StripTrailingSlashes(uri.substr(5));
  if (path.empty() || path.front() == '/') {
    return Status::Invalid("storage.s3.base_uri: no bucket in '", uri, "'");
  }
  ARROW_RETURN_NOT_OK(InitializeS3Once());
  const S3Config& s3 = config.s3;
  arrow::fs::S3Options options;
  if (s3.auth == S3AuthKind::kStaticCredentials) {
    options = arrow::fs::S3Options::FromAccessKey(s3.access_key_id, s3.secret_access_key,
                                                  s3.session_token);
  } else {
    options = arrow::fs::S3Options::Defaults();
  }
  if (!s3.region.empty()) options.region = s3.region;
  std::string endpoint = s3.endpoint;
  if (StartsWith(endpoint, "http://")) {
    if (!s3.allow_http) {
      return Status::Invalid("storage.s3.endpoint: '", endpoint,
                             "' is plain http; set allow_http: true");
    }
    endpoint = endpoint.substr(7);
    options.scheme = "http";
  } else if (StartsWith(endpoint, "https://")) {
    endpoint = endpoint.substr(8);
  } else if (s3.allow_http && !endpoint.empty()) {
    options.scheme = "http";
  }
  options.endpoint_override = StripTrailingSlashes(endpoint);
  options.force_virtual_addressing = s3.virtual_hosted_style_request;
  options.retry_strategy = std::make_shared<BackoffRetryStrategy>(config.retry, stats);
  ARROW_ASSIGN_OR_RAISE(auto fs, arrow::fs::S3FileSystem::Make(options));
  *base_path = std::move(path);
  return fs;
}

}  // namespace

void RetryConfig::CheckInto(std::string_view path,
                            std::vector<std::string>* errors) const {
  auto fail = [&](std::string_view key, std::string message) {
    errors->push_back(fmt::format("{}: {}", Join(path, key), message));
  };
  if (max_retries < 0)
    fail("max_retries", fmt::format("must be >= 0, got {}", max_retries));
  if (init_backoff.count() < 0) fail("init_backoff", "must be >= 0");
  if (max_backoff < init_backoff) {
    fail("max_backoff", fmt::format("must be >= init_backoff ({}ms), got {}ms",
                                    init_backoff.count(), max_backoff.count()));
  }
  if (!(backoff_base > 1.0)) {
    fail("backoff_base", fmt::format("must be > 1.0, got {}", backoff_base));
  }
  if (retry_timeout.count() < 0) fail("retry_timeout", "must be >= 0");
}

Status RetryConfig::Validate() const {
  std::vector<std::string> errors;
  CheckInto("retry", &errors);
  if (errors.empty()) return Status::OK();
  return Status::Invalid(fmt::format("{}", fmt::join(errors, "; ")));
}

std::string_view StorageKindName(StorageKind kind) {
  switch (kind) {
    case StorageKind::kFile:
      return "file";
    case StorageKind::kS3:
      return "s3";
    case StorageKind::kGcs:
      return "gcs";
    case StorageKind::kAzure:
      return "azure";
  }
  return "?";
}

void StorageConfig::CheckInto(std::string_view path,
                              std::vector<std::string>* errors) const {
  const std::string base = Join(Join(path, StorageKindName(kind)), "base_uri");
  if (base_uri.empty()) {
    errors->push_back(fmt::format("{}: required", base));
    return;
  }
  switch (kind) {
    case StorageKind::kFile:
      if (StartsWith(base_uri, "s3://") || StartsWith(base_uri, "gs://")) {
        errors->push_back(fmt::format("{}: '{}' is not a local path", base, base_uri));
      }
      break;
    case StorageKind::kS3:
      if (!StartsWith(base_uri, "s3://") || base_uri.size() <= 5) {
        errors->push_back(
            fmt::format("{}: expected s3://bucket/prefix, got '{}'", base, base_uri));
      }
      if (s3.auth == S3AuthKind::kStaticCredentials &&
          (s3.access_key_id.empty() || s3.secret_access_key.empty())) {
        errors->push_back(
            fmt::format("{}: static_credentials need access_key_id and secret_access_key",
                        Join(path, "s3.auth")));
      }
      break;
    case StorageKind::kGcs:
      if (!StartsWith(base_uri, "gs://") && !StartsWith(base_uri, "gcs://")) {
        errors->push_back(
            fmt::format("{}: expected gs://bucket/prefix, got '{}'", base, base_uri));
      }
      break;
    case StorageKind::kAzure:
      if (!StartsWith(base_uri, "abfs://") && !StartsWith(base_uri, "abfss://")) {
        errors->push_back(fmt::format(
            "{}: expected abfs[s]://container@account.dfs.core.windows.net/prefix, "
            "got '{}'",
            base, base_uri));
      }
      break;
  }
  retry.CheckInto("retry", errors);
}

Status StorageConfig::Validate() const {
  std::vector<std::string> errors;
  CheckInto("storage", &errors);
  if (errors.empty()) return Status::OK();
  return Status::Invalid(fmt::format("{}", fmt::join(errors, "; ")));
}

arrow::Result<std::shared_ptr<arrow::fs::FileSystem>> MakeFileSystem(
    const StorageConfig& config, std::string* base_path,
    std::shared_ptr<StorageStats> stats) {
  ARROW_RETURN_NOT_OK(config.Validate());
  switch (config.kind) {
    case StorageKind::kFile: {
      std::string path = config.base_uri;
      if (StartsWith(path, "file://")) {
        ARROW_ASSIGN_OR_RAISE(auto fs, arrow::fs::FileSystemFromUri(path, &path));
      }
      auto local = std::make_shared<arrow::fs::LocalFileSystem>();
      ARROW_ASSIGN_OR_RAISE(path, local->NormalizePath(path));
      if (path.empty() || path.front() != '/') {
        // Relative paths are resolved against the working directory, once.
        std::error_code ec;
        path = std::filesystem::absolute(path, ec).lexically_normal().string();
        if (ec) return Status::IOError("storage.file.base_uri: ", ec.message());
      }
      path = StripTrailingSlashes(path);
      auto st = local->CreateDir(path, /*recursive=*/true);
      if (!st.ok()) {
        return st.WithMessage("storage.file.base_uri: cannot create '", path,
                              "': ", st.message());
      }
      *base_path = std::move(path);
      return local;
    }
    case StorageKind::kS3: {
      auto fs = MakeS3(config, base_path, stats);
      if (!fs.ok()) {
        return fs.status().WithMessage(config.base_uri, ": ", fs.status().message());
      }
      return fs;
    }
    case StorageKind::kGcs:
    case StorageKind::kAzure: {
      std::string path;
      auto fs = arrow::fs::FileSystemFromUri(config.base_uri, &path);
      if (!fs.ok()) {
        return fs.status().WithMessage(config.base_uri, ": ", fs.status().message());
      }
      *base_path = StripTrailingSlashes(path);
      return fs;
    }
  }
  return Status::Invalid("unknown storage kind");
}

arrow::Result<StorageConfig> StorageConfigFromUri(const std::string& uri_or_path) {
  StorageConfig config;
  config.base_uri = uri_or_path;
  if (StartsWith(uri_or_path, "s3://")) {
    config.kind = StorageKind::kS3;
  } else if (StartsWith(uri_or_path, "gs://") || StartsWith(uri_or_path, "gcs://")) {
    config.kind = StorageKind::kGcs;
  } else if (StartsWith(uri_or_path, "abfs://") || StartsWith(uri_or_path, "abfss://")) {
    config.kind = StorageKind::kAzure;
  } else if (StartsWith(uri_or_path, "file://") ||
             uri_or_path.find("://") == std::string::npos) {
    config.kind = StorageKind::kFile;
  } else {
    return Status::Invalid("unsupported dataset URI '", uri_or_path,
                           "': expected a path, file://, s3://, gs:// or abfs[s]://");
  }
  return config;
}

arrow::Result<std::shared_ptr<arrow::fs::FileSystem>> FileSystemFromUri(
    const std::string& uri_or_path, const S3Config& s3, std::string* base_path) {
  ARROW_ASSIGN_OR_RAISE(auto config, StorageConfigFromUri(uri_or_path));
  if (config.kind == StorageKind::kS3) config.s3 = s3;
  return MakeFileSystem(config, base_path);
}

arrow::Status FinalizeStorage() {
  if (!arrow::fs::IsS3Initialized()) return Status::OK();
  return arrow::fs::EnsureS3Finalized();
}

bool IsLocalFileSystem(const arrow::fs::FileSystem& fs) {
  return fs.type_name() == "local";
}

std::string DisplayUri(const arrow::fs::FileSystem& fs, const std::string& path) {
  // Not fs.MakeUri(): it percent-encodes '=' of hive directories, which makes logs
  // and errors hard to match against listings.
  const std::string type = fs.type_name();
  if (type == "local") return "file://" + path;
  if (type == "s3" || type == "gcs" || type == "abfs") {
    return (type == "gcs" ? std::string("gs") : type) + "://" + path;
  }
  return path;
}

std::string JoinStoragePath(const std::string& base, std::string_view name) {
  if (base.empty()) return std::string(name);
  if (base.back() == '/') return base + std::string(name);
  return base + "/" + std::string(name);
}

}  // namespace otap_parquet::dataset
