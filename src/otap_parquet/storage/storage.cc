// SPDX-License-Identifier: Apache-2.0
#include "otap_parquet/storage/storage.h"

#include <algorithm>
#include <cmath>
#include <cstdlib>
#include <filesystem>
#include <mutex>
#include <random>
#include <set>
#include <utility>

#include <arrow/buffer.h>
#include <arrow/filesystem/azurefs.h>
#include <arrow/filesystem/gcsfs.h>
#include <arrow/filesystem/localfs.h>
#include <arrow/filesystem/s3fs.h>
#include <arrow/io/file.h>
#include <fmt/format.h>
#include <spdlog/spdlog.h>
#include <yaml-cpp/yaml.h>

#include "otap_parquet/config/config_reader.h"
#include "otap_parquet/config/strict_yaml.h"
#include "otap_parquet/util/fsync.h"

namespace otap_parquet::dataset {

using arrow::Status;

namespace {

bool StartsWith(std::string_view s, std::string_view prefix) {
  return s.substr(0, prefix.size()) == prefix;
}

std::string StripTrailingSlashes(std::string path) {
  while (path.size() > 1 && path.back() == '/') path.pop_back();
  return path;
}

/// Object-store retries by RetryConfig::Policy(), bounded by a retry count and a
/// budget of delays; counts its decisions to retry.
class BackoffRetryStrategy final : public arrow::fs::S3RetryStrategy {
 public:
  BackoffRetryStrategy(const RetryConfig& config, std::shared_ptr<StorageStats> stats,
                       util::EventLog log)
      : max_retries_(config.max_retries),
        backoff_(config.Policy()),
        stats_(std::move(stats)),
        log_(std::move(log)) {}

  bool ShouldRetry(const AWSErrorDetail& error, int64_t attempted_retries) override {
    if (!error.should_retry || attempted_retries >= max_retries_) return false;
    // The budget counts the largest delays the retries so far could have taken.
    const auto& policy = backoff_.policy();
    if (policy.MaxDelaySum(attempted_retries + 1) > policy.max_elapsed) return false;
    if (stats_) stats_->retries.fetch_add(1, std::memory_order_relaxed);
    log_.Warn("storage.retry", "attempt={} error={} message={}", attempted_retries + 1,
              error.exception_name, error.message);
    return true;
  }

  int64_t CalculateDelayBeforeNextRetry(const AWSErrorDetail&,
                                        int64_t attempted_retries) override {
    // Called from the SDK's threads; the random source is not thread-safe.
    std::lock_guard<std::mutex> lock(mutex_);
    return std::chrono::duration_cast<std::chrono::milliseconds>(
               backoff_.Delay(attempted_retries + 1))
        .count();
  }

 private:
  const int64_t max_retries_;
  std::mutex mutex_;
  util::Backoff backoff_;
  std::shared_ptr<StorageStats> stats_;
  util::EventLog log_;
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
    const std::shared_ptr<StorageStats>& stats, const util::EventLog& log) {
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
  options.retry_strategy =
      std::make_shared<BackoffRetryStrategy>(config.retry, stats, log);
  ARROW_ASSIGN_OR_RAISE(auto fs, arrow::fs::S3FileSystem::Make(options));
  *base_path = std::move(path);
  return fs;
}

std::string Env(const char* name) {
  const char* value = std::getenv(name);
  return value ? std::string(value) : std::string();
}

// Azurite's well-known development account (public, documented by Microsoft).
constexpr std::string_view kAzuriteAccount = "devstoreaccount1";
constexpr std::string_view kAzuriteKey =
    "Eby8vdM02xNOcqFlqUwJPLlmEtlCDXJ1OUzFT50uSRZ6IFsuFq2UVErCz4I6tq/K1SZFPTOtr/"
    "KBHBeksoGMGw==";

// Splits "http(s)://host[:port][/]" into scheme and authority; a bare "host:port"
// is https.
Status SplitEndpoint(std::string_view key, const std::string& endpoint,
                     std::string* scheme, std::string* authority) {
  std::string rest = endpoint;
  *scheme = "https";
  if (StartsWith(rest, "http://")) {
    *scheme = "http";
    rest = rest.substr(7);
  } else if (StartsWith(rest, "https://")) {
    rest = rest.substr(8);
  } else if (rest.find("://") != std::string::npos) {
    return Status::Invalid(key, ": expected http(s)://host:port, got '", endpoint, "'");
  }
  rest = StripTrailingSlashes(rest);
  if (rest.empty() || rest.find('/') != std::string::npos) {
    return Status::Invalid(key, ": expected http(s)://host:port, got '", endpoint, "'");
  }
  *authority = std::move(rest);
  return Status::OK();
}

std::string_view AfterScheme(std::string_view uri) {
  const size_t pos = uri.find("://");
  return pos == std::string_view::npos ? uri : uri.substr(pos + 3);
}

arrow::Result<std::shared_ptr<arrow::fs::FileSystem>> MakeGcs(const StorageConfig& config,
                                                              std::string* base_path) {
  const std::string& uri = config.base_uri;
  std::string path = StripTrailingSlashes(std::string(AfterScheme(uri)));
  if (path.empty() || path.front() == '/') {
    return Status::Invalid("storage.gcs.base_uri: no bucket in '", uri, "'");
  }
  const GcsConfig& gcs = config.gcs;
  std::string endpoint = gcs.endpoint;
  bool emulator = false;
  if (endpoint.empty()) {
    endpoint = Env("STORAGE_EMULATOR_HOST");
    emulator = !endpoint.empty();
  }
  arrow::fs::GcsOptions options;
  switch (gcs.auth) {
    case GcsAuthKind::kDefault:
      // Google's client libraries talk to an emulator named by the environment
      // without credentials.
      options = emulator ? arrow::fs::GcsOptions::Anonymous()
                         : arrow::fs::GcsOptions::Defaults();
      break;
    case GcsAuthKind::kAnonymous:
      options = arrow::fs::GcsOptions::Anonymous();
      break;
    case GcsAuthKind::kServiceAccount: {
      auto file = arrow::io::ReadableFile::Open(gcs.credentials_file);
      if (!file.ok()) {
        return Status::IOError("storage.gcs.auth.credentials_file: cannot read '",
                               gcs.credentials_file, "': ", file.status().message());
      }
      ARROW_ASSIGN_OR_RAISE(auto size, (*file)->GetSize());
      ARROW_ASSIGN_OR_RAISE(auto buffer, (*file)->Read(size));
      options = arrow::fs::GcsOptions::FromServiceAccountCredentials(buffer->ToString());
      break;
    }
    case GcsAuthKind::kAccessToken:
      // Refreshing is the caller's business (the token is used until it fails).
      options = arrow::fs::GcsOptions::FromAccessToken(
          gcs.access_token,
          std::chrono::time_point_cast<arrow::fs::TimePoint::duration>(
              std::chrono::system_clock::now() + std::chrono::hours(24)));
      break;
  }
  if (!endpoint.empty()) {
    // STORAGE_EMULATOR_HOST is often a bare host:port of a plain-http emulator.
    if (emulator && endpoint.find("://") == std::string::npos) {
      endpoint = "http://" + endpoint;
    }
    std::string scheme, authority;
    ARROW_RETURN_NOT_OK(
        SplitEndpoint("storage.gcs.endpoint", endpoint, &scheme, &authority));
    options.endpoint_override = authority;
    options.scheme = scheme;
  }
  std::string project =
      gcs.project_id.empty() ? Env("GOOGLE_CLOUD_PROJECT") : gcs.project_id;
  if (!project.empty()) options.project_id = project;
  // The client retries with its own backoff for as long as this allows.
  options.retry_limit_seconds =
      config.retry.max_retries == 0
          ? 0.0
          : std::chrono::duration<double>(config.retry.retry_timeout).count();
  ARROW_ASSIGN_OR_RAISE(auto fs, arrow::fs::GcsFileSystem::Make(options));
  *base_path = std::move(path);
  return fs;
}

arrow::Result<std::shared_ptr<arrow::fs::FileSystem>> MakeAzure(
    const StorageConfig& config, std::string* base_path) {
  ARROW_ASSIGN_OR_RAISE(AzureLocation location, ParseAzureUri(config.base_uri));
  const AzureConfig& azure = config.azure;
  std::string endpoint =
      azure.endpoint.empty() ? Env("AZURE_STORAGE_ENDPOINT") : azure.endpoint;
  std::string account_key = azure.account_key;
  const std::string use_emulator = Env("AZURE_STORAGE_USE_EMULATOR");
  const bool emulator = use_emulator == "true" || use_emulator == "1";
  std::string account = azure.account_name;
  if (account.empty()) account = location.account;
  if (account.empty()) account = Env("AZURE_STORAGE_ACCOUNT_NAME");
  if (account.empty()) account = Env("AZURE_STORAGE_ACCOUNT");
  if (emulator) {
    if (endpoint.empty()) endpoint = "http://127.0.0.1:10000";
    if (account.empty()) account = kAzuriteAccount;
    if (account_key.empty() && account == kAzuriteAccount) account_key = kAzuriteKey;
  }
  if (account.empty()) {
    return Status::Invalid(
        "no Azure storage account: name it in the URI "
        "(abfs://container@ACCOUNT.dfs.core.windows.net/...), in storage.azure."
        "account_name or in AZURE_STORAGE_ACCOUNT_NAME");
  }
  arrow::fs::AzureOptions options;
  options.account_name = account;
  if (!endpoint.empty()) {
    std::string scheme, authority;
    ARROW_RETURN_NOT_OK(
        SplitEndpoint("storage.azure.endpoint", endpoint, &scheme, &authority));
    // A fully qualified authority puts the account in the request path (Azurite).
    options.blob_storage_authority = authority;
    options.dfs_storage_authority = authority;
    options.blob_storage_scheme = scheme;
    options.dfs_storage_scheme = scheme;
  }
  switch (azure.auth) {
    case AzureAuthKind::kDefault: {
      if (account_key.empty()) account_key = Env("AZURE_STORAGE_ACCOUNT_KEY");
      if (account_key.empty()) account_key = Env("AZURE_STORAGE_KEY");
      std::string sas =
          azure.sas_token.empty() ? Env("AZURE_STORAGE_SAS_TOKEN") : azure.sas_token;
      if (!account_key.empty()) {
        ARROW_RETURN_NOT_OK(options.ConfigureAccountKeyCredential(account_key));
      } else if (!sas.empty()) {
        ARROW_RETURN_NOT_OK(options.ConfigureSASCredential(sas));
      } else {
        ARROW_RETURN_NOT_OK(options.ConfigureDefaultCredential());
      }
      break;
    }
    case AzureAuthKind::kAccountKey:
      ARROW_RETURN_NOT_OK(options.ConfigureAccountKeyCredential(azure.account_key));
      break;
    case AzureAuthKind::kSasToken:
      ARROW_RETURN_NOT_OK(options.ConfigureSASCredential(azure.sas_token));
      break;
    case AzureAuthKind::kAnonymous:
      ARROW_RETURN_NOT_OK(options.ConfigureAnonymousCredential());
      break;
  }
  ARROW_ASSIGN_OR_RAISE(auto fs, arrow::fs::AzureFileSystem::Make(options));
  *base_path = StripTrailingSlashes(JoinStoragePath(location.container, location.path));
  return fs;
}

}  // namespace

bool IsAzureUri(std::string_view uri) {
  for (std::string_view scheme : {"abfs://", "abfss://", "az://", "azure://"}) {
    if (StartsWith(uri, scheme)) return true;
  }
  if (!StartsWith(uri, "https://")) return false;
  std::string_view host = AfterScheme(uri);
  host = host.substr(0, host.find('/'));
  for (std::string_view suffix : {".blob.core.windows.net", ".dfs.core.windows.net"}) {
    if (host.size() > suffix.size() && host.ends_with(suffix)) return true;
  }
  return false;
}

arrow::Result<AzureLocation> ParseAzureUri(std::string_view uri) {
  if (!IsAzureUri(uri)) {
    return Status::Invalid("'", uri,
                           "' is not an Azure URI: expected abfs[s]://container@account."
                           "dfs.core.windows.net/path, az://container/path or "
                           "https://account.blob.core.windows.net/container/path");
  }
  const bool https = StartsWith(uri, "https://");
  std::string_view rest = AfterScheme(uri);
  const size_t query = rest.find('?');
  if (query != std::string_view::npos) {
    return Status::Invalid("'", uri,
                           "': query parameters are not supported; give credentials "
                           "in storage.azure or the environment");
  }
  const size_t slash = rest.find('/');
  std::string_view authority = rest.substr(0, slash);
  std::string_view path =
      slash == std::string_view::npos ? std::string_view() : rest.substr(slash + 1);
  AzureLocation out;
  auto account_of = [](std::string_view host) {
    return std::string(host.substr(0, host.find('.')));
  };
  const bool azure_host = authority.find(".core.windows.net") != std::string_view::npos;
  if (https || (azure_host && authority.find('@') == std::string_view::npos)) {
    // https://account.blob.../container/path, abfs://account.blob.../container/path
    out.account = account_of(authority);
    const size_t end = path.find('/');
    out.container = std::string(path.substr(0, end));
    path = end == std::string_view::npos ? std::string_view() : path.substr(end + 1);
  } else if (const size_t at = authority.find('@'); at != std::string_view::npos) {
    // abfs://container@account.dfs.core.windows.net/path
    out.container = std::string(authority.substr(0, at));
    out.account = account_of(authority.substr(at + 1));
  } else {
    // az://container/path, abfs://container/path
    out.container = std::string(authority);
  }
  if (out.container.empty()) return Status::Invalid("'", uri, "': no container");
  out.path = StripTrailingSlashes(std::string(path));
  if (out.path == "/") out.path.clear();
  return out;
}

RetryConfig RetryConfig::Read(config::ConfigReader& reader) {
  RetryConfig c;
  if (auto v = reader.Int("max_retries")) c.max_retries = *v;
  if (auto v = config::ReadMillis(reader, "init_backoff")) c.init_backoff = *v;
  if (auto v = config::ReadMillis(reader, "max_backoff")) c.max_backoff = *v;
  if (auto v = reader.Double("backoff_base")) c.backoff_base = *v;
  if (auto v = config::ReadMillis(reader, "retry_timeout")) c.retry_timeout = *v;
  c.Check(reader);
  return c;
}

void RetryConfig::Check(config::ConfigReader& reader) const {
  if (max_retries < 0) {
    reader.Error("max_retries", fmt::format("must be >= 0, got {}", max_retries));
  }
  if (init_backoff.count() < 0) reader.Error("init_backoff", "must be >= 0");
  if (max_backoff < init_backoff) {
    reader.Error("max_backoff", fmt::format("must be >= init_backoff ({}ms), got {}ms",
                                            init_backoff.count(), max_backoff.count()));
  }
  if (!(backoff_base > 1.0)) {
    reader.Error("backoff_base", fmt::format("must be > 1.0, got {}", backoff_base));
  }
  if (retry_timeout.count() < 0) reader.Error("retry_timeout", "must be >= 0");
}

Status RetryConfig::Validate() const {
  config::ConfigErrors errors;
  config::ConfigReader reader(YAML::Node(), "retry", &errors);
  Check(reader);
  if (errors.empty()) return Status::OK();
  return Status::Invalid(errors.Join("; "));
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

StorageConfig StorageConfig::Read(config::ConfigReader& reader) {
  StorageConfig c;
  static constexpr std::string_view kBackends[] = {"file", "s3", "gcs", "azure"};
  const size_t errors_before = reader.errors()->size();
  int backends = 0;
  for (std::string_view kind : kBackends) backends += reader.Has(kind) ? 1 : 0;
  if (backends != 1) {
    reader.Error(
        "",
        fmt::format("exactly one of file, s3, gcs, azure must be set, got {}", backends));
    if (backends == 0) return c;
  }
  if (reader.Has("file")) {
    c.kind = StorageKind::kFile;
    config::ConfigReader file = reader.Child("file");
    if (auto v = file.String("base_uri")) c.base_uri = *v;
    file.Finish();
  } else if (reader.Has("s3")) {
    c.kind = StorageKind::kS3;
    config::ConfigReader s3 = reader.Child("s3");
    // Options upstream (null = unset).
    s3.AllowNull({"region", "endpoint", "allow_http", "virtual_hosted_style_request"});
    if (auto v = s3.String("base_uri")) c.base_uri = *v;
    if (auto v = s3.String("region")) c.s3.region = *v;
    if (auto v = s3.String("endpoint")) c.s3.endpoint = *v;
    if (auto v = s3.Bool("allow_http")) c.s3.allow_http = *v;
    if (auto v = s3.Bool("virtual_hosted_style_request")) {
      c.s3.virtual_hosted_style_request = *v;
    }
    // `auth: default` or `auth: {type: static_credentials, access_key_id: ...}`.
    static const config::EnumNames<S3AuthKind> kAuthNames = {
        {"default", S3AuthKind::kDefault},
        {"static_credentials", S3AuthKind::kStaticCredentials}};
    if (s3.Has("auth") && s3.Raw("auth").IsScalar()) {
      c.s3.auth = s3.Enum("auth", kAuthNames, c.s3.auth);
    } else if (s3.Has("auth")) {
      config::ConfigReader auth = s3.Child("auth");
      c.s3.auth = auth.Enum("type", kAuthNames, c.s3.auth);
      if (!auth.Has("type")) {
        auth.Error("", "missing required key \"type\" (default or static_credentials)");
      }
      if (auto v = auth.String("access_key_id")) c.s3.access_key_id = *v;
      if (auto v = auth.String("secret_access_key")) c.s3.secret_access_key = *v;
      auth.AllowNull({"session_token"});  // an Option upstream
      if (auto v = auth.String("session_token")) c.s3.session_token = *v;
      auth.Finish();
    }
    s3.Finish();
  } else if (reader.Has("gcs")) {
    c.kind = StorageKind::kGcs;
    config::ConfigReader gcs = reader.Child("gcs");
    if (auto v = gcs.String("base_uri")) c.base_uri = *v;
    if (auto v = gcs.String("endpoint")) c.gcs.endpoint = *v;
    if (auto v = gcs.String("project_id")) c.gcs.project_id = *v;
    static const config::EnumNames<GcsAuthKind> kAuthNames = {
        {"default", GcsAuthKind::kDefault},
        {"anonymous", GcsAuthKind::kAnonymous},
        {"service_account", GcsAuthKind::kServiceAccount},
        {"access_token", GcsAuthKind::kAccessToken}};
    if (gcs.Has("auth") && gcs.Raw("auth").IsScalar()) {
      c.gcs.auth = gcs.Enum("auth", kAuthNames, c.gcs.auth);
    } else if (gcs.Has("auth")) {
      config::ConfigReader auth = gcs.Child("auth");
      c.gcs.auth = auth.Enum("type", kAuthNames, c.gcs.auth);
      if (auto v = auth.String("credentials_file")) c.gcs.credentials_file = *v;
      if (auto v = auth.String("access_token")) c.gcs.access_token = *v;
      auth.Finish();
    }
    gcs.Finish();
  } else {
    c.kind = StorageKind::kAzure;
    config::ConfigReader azure = reader.Child("azure");
    if (auto v = azure.String("base_uri")) c.base_uri = *v;
    if (auto v = azure.String("account_name")) c.azure.account_name = *v;
    if (auto v = azure.String("endpoint")) c.azure.endpoint = *v;
    static const config::EnumNames<AzureAuthKind> kAuthNames = {
        {"default", AzureAuthKind::kDefault},
        {"account_key", AzureAuthKind::kAccountKey},
        {"sas_token", AzureAuthKind::kSasToken},
        {"anonymous", AzureAuthKind::kAnonymous}};
    if (azure.Has("auth") && azure.Raw("auth").IsScalar()) {
      c.azure.auth = azure.Enum("auth", kAuthNames, c.azure.auth);
    } else if (azure.Has("auth")) {
      config::ConfigReader auth = azure.Child("auth");
      c.azure.auth = auth.Enum("type", kAuthNames, c.azure.auth);
      if (auto v = auth.String("account_key")) c.azure.account_key = *v;
      if (auto v = auth.String("sas_token")) c.azure.sas_token = *v;
      auth.Finish();
    }
    azure.Finish();
  }
  // A block whose shape was wrong has been reported already; "base_uri: required"
  // on top would only repeat it.
  if (!c.base_uri.empty() || reader.errors()->size() == errors_before) c.Check(reader);
  return c;
}

void StorageConfig::Check(config::ConfigReader& reader) const {
  const std::string key = fmt::format("{}.base_uri", StorageKindName(kind));
  if (base_uri.empty()) {
    reader.Error(key, "required");
    return;
  }
  switch (kind) {
    case StorageKind::kFile:
      if (StartsWith(base_uri, "s3://") || StartsWith(base_uri, "gs://")) {
        reader.Error(key, fmt::format("'{}' is not a local path", base_uri));
      }
      break;
    case StorageKind::kS3:
      if (!StartsWith(base_uri, "s3://") || base_uri.size() <= 5) {
        reader.Error(key, fmt::format("expected s3://bucket/prefix, got '{}'", base_uri));
      }
      if (s3.auth == S3AuthKind::kStaticCredentials &&
          (s3.access_key_id.empty() || s3.secret_access_key.empty())) {
        reader.Error("s3.auth",
                     "static_credentials need access_key_id and secret_access_key");
      }
      break;
    case StorageKind::kGcs:
      if (!StartsWith(base_uri, "gs://") && !StartsWith(base_uri, "gcs://")) {
        reader.Error(key, fmt::format("expected gs://bucket/prefix, got '{}'", base_uri));
      }
      if (gcs.auth == GcsAuthKind::kServiceAccount && gcs.credentials_file.empty()) {
        reader.Error("gcs.auth", "service_account needs auth.credentials_file");
      }
      if (gcs.auth == GcsAuthKind::kAccessToken && gcs.access_token.empty()) {
        reader.Error("gcs.auth", "access_token needs auth.access_token");
      }
      break;
    case StorageKind::kAzure:
      if (auto location = ParseAzureUri(base_uri); !location.ok()) {
        reader.Error(key, location.status().message());
      }
      if (azure.auth == AzureAuthKind::kAccountKey && azure.account_key.empty()) {
        reader.Error("azure.auth", "account_key needs auth.account_key");
      }
      if (azure.auth == AzureAuthKind::kSasToken && azure.sas_token.empty()) {
        reader.Error("azure.auth", "sas_token needs auth.sas_token");
      }
      break;
  }
}

Status StorageConfig::Validate() const {
  config::ConfigErrors errors;
  config::ConfigReader storage(YAML::Node(), "storage", &errors);
  Check(storage);
  config::ConfigReader retry_reader(YAML::Node(), "retry", &errors);
  retry.Check(retry_reader);
  if (errors.empty()) return Status::OK();
  return Status::Invalid(errors.Join("; "));
}

arrow::Result<std::shared_ptr<arrow::fs::FileSystem>> MakeFileSystem(
    const StorageConfig& config, std::string* base_path,
    std::shared_ptr<StorageStats> stats, util::EventLog log) {
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
      // The directories created here (innermost first): each one's entry is durable
      // only once its parent is synced, else a power loss can take the dataset's
      // acknowledged files away with the directory (the writer syncs the parents of
      // the directories it creates below the base the same way).
      std::vector<std::string> created;
      {
        std::error_code ec;
        for (std::filesystem::path d(path);
             !d.empty() && d != d.parent_path() && !std::filesystem::exists(d, ec);
             d = d.parent_path()) {
          created.push_back(d.string());
        }
      }
      auto st = local->CreateDir(path, /*recursive=*/true);
      if (!st.ok()) {
        return st.WithMessage("storage.file.base_uri: cannot create '", path,
                              "': ", st.message());
      }
      for (const auto& dir : created) {
        st = util::FsyncPath(std::filesystem::path(dir).parent_path().string(),
                             /*directory=*/true);
        if (!st.ok()) {
          return st.WithMessage("storage.file.base_uri: created '", dir,
                                "' but cannot make it durable: ", st.message());
        }
      }
      *base_path = std::move(path);
      return local;
    }
    case StorageKind::kS3: {
      auto fs = MakeS3(config, base_path, stats, log);
      if (!fs.ok()) {
        return fs.status().WithMessage(config.base_uri, ": ", fs.status().message());
      }
      return fs;
    }
    case StorageKind::kGcs:
    case StorageKind::kAzure: {
      auto fs = config.kind == StorageKind::kGcs ? MakeGcs(config, base_path)
                                                 : MakeAzure(config, base_path);
      if (!fs.ok()) {
        return fs.status().WithMessage(config.base_uri, ": ", fs.status().message());
      }
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
  } else if (IsAzureUri(uri_or_path)) {
    config.kind = StorageKind::kAzure;
  } else if (StartsWith(uri_or_path, "file://") ||
             uri_or_path.find("://") == std::string::npos) {
    config.kind = StorageKind::kFile;
  } else {
    return Status::Invalid(
        "unsupported dataset URI '", uri_or_path,
        "': expected a path, file://, s3://, gs://, abfs[s]://, az:// or "
        "https://ACCOUNT.blob.core.windows.net/");
  }
  return config;
}

arrow::Result<std::shared_ptr<arrow::fs::FileSystem>> FileSystemFromUri(
    const std::string& uri_or_path, const S3Config& s3, std::string* base_path) {
  ARROW_ASSIGN_OR_RAISE(auto config, StorageConfigFromUri(uri_or_path));
  if (config.kind == StorageKind::kS3) config.s3 = s3;
  return MakeFileSystem(config, base_path);
}

arrow::Result<std::shared_ptr<arrow::fs::FileSystem>> FileSystemFromUri(
    const std::string& uri_or_path, const StorageConfig& settings,
    std::string* base_path) {
  ARROW_ASSIGN_OR_RAISE(auto config, StorageConfigFromUri(uri_or_path));
  config.s3 = settings.s3;
  config.gcs = settings.gcs;
  config.azure = settings.azure;
  config.retry = settings.retry;
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

arrow::Result<std::vector<arrow::fs::FileInfo>> ListChildren(arrow::fs::FileSystem& fs,
                                                             const std::string& dir) {
  return ListChildren(fs, dir, /*from_recursive_listing=*/fs.type_name() == "gcs");
}

arrow::Result<std::vector<arrow::fs::FileInfo>> ListChildren(
    arrow::fs::FileSystem& fs, const std::string& dir, bool from_recursive_listing) {
  arrow::fs::FileSelector selector;
  selector.base_dir = dir;
  selector.allow_not_found = true;
  selector.recursive = from_recursive_listing;
  auto listed = fs.GetFileInfo(selector);
  if (!listed.ok()) {
    return listed.status().WithMessage("cannot list ", DisplayUri(fs, dir), ": ",
                                       listed.status().message());
  }
  if (!from_recursive_listing) return listed;
  const std::string prefix = StripTrailingSlashes(dir) + "/";
  std::vector<arrow::fs::FileInfo> out;
  std::set<std::string> dirs;
  for (auto& info : *listed) {
    std::string_view rel(info.path());
    if (!StartsWith(rel, prefix)) continue;
    rel.remove_prefix(prefix.size());
    const size_t slash = rel.find('/');
    if (slash == std::string_view::npos && !info.IsDirectory()) {
      out.push_back(std::move(info));
    } else if (std::string child = prefix + std::string(rel.substr(0, slash));
               dirs.insert(child).second) {
      out.emplace_back(std::move(child), arrow::fs::FileType::Directory);
    }
  }
  return out;
}

arrow::Status DeleteTree(arrow::fs::FileSystem& fs, const std::string& dir) {
  if (fs.type_name() == "gcs") {
    ARROW_RETURN_NOT_OK(fs.DeleteDirContents(dir, /*missing_dir_ok=*/true));
    // The marker object, if the directory has one (then it still exists).
    ARROW_ASSIGN_OR_RAISE(auto info, fs.GetFileInfo(dir));
    if (info.type() != arrow::fs::FileType::Directory) return Status::OK();
  }
  auto st = fs.DeleteDir(dir);
  if (st.ok()) return st;
  auto info = fs.GetFileInfo(dir);
  if (info.ok() && info->type() == arrow::fs::FileType::NotFound) return Status::OK();
  return st;
}

arrow::Result<std::shared_ptr<arrow::io::RandomAccessFile>> OpenListedFile(
    arrow::fs::FileSystem& fs, const std::string& path, int64_t size) {
  if (size < 0) return fs.OpenInputFile(path);
  arrow::fs::FileInfo info(path, arrow::fs::FileType::File);
  info.set_size(size);
  return fs.OpenInputFile(info);
}

std::string JoinStoragePath(const std::string& base, std::string_view name) {
  if (base.empty()) return std::string(name);
  if (base.back() == '/') return base + std::string(name);
  return base + "/" + std::string(name);
}

}  // namespace otap_parquet::dataset
