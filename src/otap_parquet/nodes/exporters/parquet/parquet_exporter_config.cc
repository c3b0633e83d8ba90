// SPDX-License-Identifier: Apache-2.0
#include "otap_parquet/nodes/exporters/parquet/parquet_exporter_config.h"

#include <algorithm>
#include <initializer_list>
#include <string>
#include <vector>

#include <fmt/format.h>
#include <spdlog/spdlog.h>
#include <yaml-cpp/yaml.h>

#include "otap_parquet/config/units.h"

namespace otap_parquet::dataset {

using arrow::Status;

namespace {

size_t EditDistance(std::string_view a, std::string_view b) {
  std::vector<size_t> row(b.size() + 1);
  for (size_t j = 0; j <= b.size(); ++j) row[j] = j;
  for (size_t i = 1; i <= a.size(); ++i) {
    size_t diag = row[0];
    row[0] = i;
    for (size_t j = 1; j <= b.size(); ++j) {
      const size_t up = row[j];
      row[j] = std::min({row[j] + 1, row[j - 1] + 1, diag + (a[i - 1] != b[j - 1])});
      diag = up;
    }
  }
  return row[b.size()];
}

std::string Join(std::string_view path, std::string_view key) {
  if (path.empty()) return std::string(key);
  return fmt::format("{}.{}", path, key);
}

/// Walks a YAML tree, collecting every error with its key path.
class Walker {
 public:
  std::vector<std::string> errors;

  void Error(std::string_view path, std::string_view message) {
    errors.push_back(fmt::format("{}: {}", path.empty() ? "(root)" : path, message));
  }

  /// Reports keys of `node` not in `allowed`, with the nearest allowed name.
  void CheckKeys(const YAML::Node& node, std::string_view path,
                 std::initializer_list<std::string_view> allowed) {
    for (const auto& entry : node) {
      const std::string key = entry.first.Scalar();
      if (std::find(allowed.begin(), allowed.end(), key) != allowed.end()) continue;
      std::string_view best;
      size_t best_distance = SIZE_MAX;
      for (std::string_view candidate : allowed) {
        const size_t d = EditDistance(key, candidate);
        if (d < best_distance) {
          best_distance = d;
          best = candidate;
        }
      }
      if (!best.empty() && best_distance <= std::max<size_t>(2, key.size() / 3)) {
        Error(Join(path, key), fmt::format("unknown key; did you mean \"{}\"?", best));
      } else {
        Error(Join(path, key),
              fmt::format("unknown key; expected one of: {}", fmt::join(allowed, ", ")));
      }
    }
  }

  bool IsMap(const YAML::Node& node, std::string_view path) {
    if (node.IsMap()) return true;
    Error(path, "expected a mapping");
    return false;
  }

  template <typename T>
  void Scalar(const YAML::Node& parent, std::string_view path, const char* key, T* out,
              std::string_view expected) {
    const YAML::Node node = parent[key];
    if (!node) return;
    const std::string where = Join(path, key);
    if (!node.IsScalar()) {
      Error(where, fmt::format("expected {}", expected));
      return;
    }
    try {
      *out = node.as<T>();
    } catch (const YAML::Exception&) {
      Error(where, fmt::format("expected {}, got '{}'", expected, node.Scalar()));
    }
  }

  void Duration(const YAML::Node& parent, std::string_view path, const char* key,
                std::chrono::milliseconds* out) {
    const YAML::Node node = parent[key];
    if (!node) return;
    const std::string where = Join(path, key);
    if (!node.IsScalar()) {
      Error(where, "expected a duration such as \"10s\"");
      return;
    }
    auto parsed = config::ParseDuration(node.Scalar());
    if (!parsed.ok()) {
      Error(where, parsed.status().message());
      return;
    }
    *out = std::chrono::duration_cast<std::chrono::milliseconds>(*parsed);
  }

  void Bytes(const YAML::Node& parent, std::string_view path, const char* key,
             int64_t* out) {
    const YAML::Node node = parent[key];
    if (!node) return;
    const std::string where = Join(path, key);
    if (!node.IsScalar()) {
      Error(where, "expected a byte size such as 134217728 or \"128MiB\"");
      return;
    }
    auto parsed = config::ParseBytes(node.Scalar());
    if (!parsed.ok()) {
      Error(where, parsed.status().message());
      return;
    }
    *out = *parsed;
  }

  void Storage(const YAML::Node& node, std::string_view path, StorageConfig* out) {
    if (!node) {
      Error(path, "required (one of file, s3, gcs, azure)");
      return;
    }
    if (!IsMap(node, path)) return;
    CheckKeys(node, path, {"file", "s3", "gcs", "azure"});
    int backends = 0;
    for (const char* kind : {"file", "s3", "gcs", "azure"}) {
      if (node[kind]) ++backends;
    }
    if (backends != 1) {
      Error(path, fmt::format("exactly one of file, s3, gcs, azure must be set, got {}",
                              backends));
      if (backends == 0) return;
    }
    if (const YAML::Node file = node["file"]) {
      out->kind = StorageKind::kFile;
      const std::string where = Join(path, "file");
      if (IsMap(file, where)) {
        CheckKeys(file, where, {"base_uri"});
        Scalar(file, where, "base_uri", &out->base_uri, "a path");
      }
    } else if (const YAML::Node s3 = node["s3"]) {
      out->kind = StorageKind::kS3;
      const std::string where = Join(path, "s3");
      if (IsMap(s3, where)) {
        CheckKeys(s3, where,
                  {"base_uri", "region", "endpoint", "allow_http",
                   "virtual_hosted_style_request", "auth"});
        Scalar(s3, where, "base_uri", &out->base_uri, "s3://bucket/prefix");
        Scalar(s3, where, "region", &out->s3.region, "a region name");
        Scalar(s3, where, "endpoint", &out->s3.endpoint, "an endpoint URL");
        Scalar(s3, where, "allow_http", &out->s3.allow_http, "true or false");
        Scalar(s3, where, "virtual_hosted_style_request",
               &out->s3.virtual_hosted_style_request, "true or false");
        S3Auth(s3["auth"], Join(where, "auth"), &out->s3);
      }
    } else {
      const bool gcs = static_cast<bool>(node["gcs"]);
      out->kind = gcs ? StorageKind::kGcs : StorageKind::kAzure;
      const std::string where = Join(path, gcs ? "gcs" : "azure");
      const YAML::Node backend = node[gcs ? "gcs" : "azure"];
      if (IsMap(backend, where)) {
        CheckKeys(backend, where, {"base_uri"});
        Scalar(backend, where, "base_uri", &out->base_uri, "a URI");
      }
    }
  }

  void S3Auth(const YAML::Node& node, std::string_view path, S3Config* out) {
    if (!node) return;
    std::string type;
    if (node.IsScalar()) {
      type = node.Scalar();
    } else if (node.IsMap()) {
      CheckKeys(node, path,
                {"type", "access_key_id", "secret_access_key", "session_token"});
      Scalar(node, path, "type", &type, "default or static_credentials");
      Scalar(node, path, "access_key_id", &out->access_key_id, "a string");
      Scalar(node, path, "secret_access_key", &out->secret_access_key, "a string");
      Scalar(node, path, "session_token", &out->session_token, "a string");
    } else {
      Error(path, "expected default or {type: static_credentials, ...}");
      return;
    }
    if (type == "default") {
      out->auth = S3AuthKind::kDefault;
    } else if (type == "static_credentials") {
      out->auth = S3AuthKind::kStaticCredentials;
    } else {
      Error(Join(path, "type"),
            fmt::format("unsupported auth type '{}'; expected default or "
                        "static_credentials",
                        type));
    }
  }

  void Partitioning(const YAML::Node& node, std::string_view path,
                    PartitioningOptions* out) {
    if (!node) return;
    if (!node.IsSequence()) {
      Error(path, "expected a list of strategies");
      return;
    }
    // `_part_id` is always the innermost level (see PartitioningOptions); upstream's
    // form is accepted and an empty list means `_part_id` only.
    bool part_id_given = false;
    for (size_t i = 0; i < node.size(); ++i) {
      const std::string where = fmt::format("{}[{}]", path, i);
      const YAML::Node item = node[i];
      if (!IsMap(item, where)) continue;
      CheckKeys(item, where, {"schema_metadata", "event_time"});
      if (item.size() != 1) {
        Error(where, "each strategy has exactly one key (schema_metadata or event_time)");
      }
      if (const YAML::Node keys = item["schema_metadata"]) {
        const std::string kw = Join(where, "schema_metadata");
        if (!keys.IsSequence()) {
          Error(kw, "expected a list of schema metadata keys, e.g. [\"_part_id\"]");
        } else {
          for (size_t k = 0; k < keys.size(); ++k) {
            const std::string key = keys[k].IsScalar() ? keys[k].Scalar() : "";
            if (key != "_part_id") {
              Error(fmt::format("{}[{}]", kw, k),
                    fmt::format("unsupported key '{}'; only \"_part_id\" is written to "
                                "the schema metadata",
                                key));
            } else if (part_id_given) {
              Error(fmt::format("{}[{}]", kw, k), "\"_part_id\" given twice");
            } else {
              part_id_given = true;
            }
          }
        }
      }
      if (const YAML::Node granularity = item["event_time"]) {
        const std::string kw = Join(where, "event_time");
        const std::string value = granularity.IsScalar() ? granularity.Scalar() : "";
        if (out->event_time) {
          Error(kw, "event_time given twice");
        } else if (value == "hour") {
          out->event_time = TimeGranularity::kHour;
        } else if (value == "day") {
          out->event_time = TimeGranularity::kDay;
        } else {
          Error(kw, fmt::format("expected hour or day, got '{}'", value));
        }
      }
    }
  }

  void Writer(const YAML::Node& node, std::string_view path, WriterOptions* out) {
    if (!node) return;
    if (!IsMap(node, path)) return;
    CheckKeys(node, path,
              {"target_rows_per_file", "target_bytes_per_file", "flush_when_older_than",
               "compression", "compression_level", "row_group_size", "data_page_size",
               "max_rows_per_page", "dictionary", "dictionary_columns", "statistics",
               "string_statistics", "bloom_filter_columns", "bloom_filter_fpp",
               "max_open_partitions"});
    Scalar(node, path, "target_rows_per_file", &out->target_rows_per_file, "a row count");
    Bytes(node, path, "target_bytes_per_file", &out->target_bytes_per_file);
    Duration(node, path, "flush_when_older_than", &out->flush_when_older_than);
    if (const YAML::Node compression = node["compression"]) {
      auto parsed =
          CompressionFromName(compression.IsScalar() ? compression.Scalar() : "");
      if (parsed.ok()) {
        out->compression = *parsed;
      } else {
        Error(Join(path, "compression"), parsed.status().message());
      }
    }
    if (node["compression_level"]) {
      int level = 0;
      const size_t before = errors.size();
      Scalar(node, path, "compression_level", &level, "an integer");
      if (errors.size() == before) out->compression_level = level;
    }
    Scalar(node, path, "row_group_size", &out->row_group_size, "a row count");
    Bytes(node, path, "data_page_size", &out->data_page_size);
    Scalar(node, path, "max_rows_per_page", &out->max_rows_per_page, "a row count");
    Scalar(node, path, "dictionary", &out->dictionary, "true or false");
    Scalar(node, path, "statistics", &out->statistics, "true or false");
    Scalar(node, path, "string_statistics", &out->string_statistics, "true or false");
    Scalar(node, path, "max_open_partitions", &out->max_open_partitions,
           "a partition count");
    Columns(node, path, "dictionary_columns", &out->dictionary_columns);
    Scalar(node, path, "bloom_filter_fpp", &out->bloom_filter_fpp, "a probability");
    Columns(node, path, "bloom_filter_columns", &out->bloom_filter_columns);
  }

  /// A list of column names; replaces `*out` when present.
  void Columns(const YAML::Node& parent, std::string_view path, const char* key,
               std::vector<std::string>* out) {
    const YAML::Node columns = parent[key];
    if (!columns) return;
    const std::string where = Join(path, key);
    if (!columns.IsSequence()) {
      Error(where, "expected a list of column names");
      return;
    }
    out->clear();
    for (size_t i = 0; i < columns.size(); ++i) {
      if (!columns[i].IsScalar()) {
        Error(fmt::format("{}[{}]", where, i), "expected a column name");
      } else {
        out->push_back(columns[i].Scalar());
      }
    }
  }

  void Retry(const YAML::Node& node, std::string_view path, RetryConfig* out) {
    if (!node) return;
    if (!IsMap(node, path)) return;
    CheckKeys(
        node, path,
        {"max_retries", "init_backoff", "max_backoff", "backoff_base", "retry_timeout"});
    Scalar(node, path, "max_retries", &out->max_retries, "a count");
    Duration(node, path, "init_backoff", &out->init_backoff);
    Duration(node, path, "max_backoff", &out->max_backoff);
    Scalar(node, path, "backoff_base", &out->backoff_base, "a number");
    Duration(node, path, "retry_timeout", &out->retry_timeout);
  }
};

Status ErrorsToStatus(const std::vector<std::string>& errors) {
  if (errors.empty()) return Status::OK();
  std::string message = fmt::format("invalid configuration ({} error{}):", errors.size(),
                                    errors.size() == 1 ? "" : "s");
  for (const auto& error : errors) message += "\n  " + error;
  return Status::Invalid(message);
}

}  // namespace

Status ParquetExporterConfig::Validate() const {
  std::vector<std::string> errors;
  storage.CheckInto("storage", &errors);
  writer_options.CheckInto("writer_options", &errors);
  return ErrorsToStatus(errors);
}

arrow::Result<ParquetExporterConfig> ParseParquetExporterConfig(const YAML::Node& node,
                                                                std::string_view path) {
  ParquetExporterConfig config;
  Walker walker;
  try {
    if (!node || node.IsNull()) {
      walker.Error(Join(path, "storage"), "required (one of file, s3, gcs, azure)");
    } else if (walker.IsMap(node, path)) {
      walker.CheckKeys(node, path,
                       {"storage", "partitioning_strategies", "writer_options", "retry"});
      walker.Storage(node["storage"], Join(path, "storage"), &config.storage);
      walker.Partitioning(node["partitioning_strategies"],
                          Join(path, "partitioning_strategies"), &config.partitioning);
      walker.Writer(node["writer_options"], Join(path, "writer_options"),
                    &config.writer_options);
      walker.Retry(node["retry"], Join(path, "retry"), &config.storage.retry);
      if (node["retry"] && config.storage.kind == StorageKind::kFile && node["storage"] &&
          node["storage"]["file"]) {
        spdlog::warn("exporter.parquet.config retry ignored for file storage path={}",
                     Join(path, "retry"));
      }
    }
  } catch (const YAML::Exception& e) {
    walker.Error(path, fmt::format("malformed YAML: {}", e.what()));
  }
  // Semantic checks of whatever parsed (ranges, combinations); storage only if its
  // shape was right, so a missing block is reported once.
  const bool storage_parsed =
      !config.storage.base_uri.empty() ||
      std::none_of(walker.errors.begin(), walker.errors.end(), [&](const std::string& e) {
        return e.starts_with(Join(path, "storage"));
      });
  if (storage_parsed) config.storage.CheckInto(Join(path, "storage"), &walker.errors);
  config.writer_options.CheckInto(Join(path, "writer_options"), &walker.errors);
  ARROW_RETURN_NOT_OK(ErrorsToStatus(walker.errors));
  return config;
}

std::vector<ConfigError> SplitConfigErrors(const std::string& message) {
  std::vector<ConfigError> out;
  size_t pos = message.find('\n');
  if (pos == std::string::npos) {
    out.push_back({"", message});
    return out;
  }
  while (pos != std::string::npos) {
    const size_t start = pos + 1;
    pos = message.find('\n', start);
    std::string line =
        message.substr(start, pos == std::string::npos ? std::string::npos : pos - start);
    while (!line.empty() && line.front() == ' ') line.erase(0, 1);
    if (line.empty()) continue;
    const size_t colon = line.find(": ");
    if (colon == std::string::npos) {
      out.push_back({"", std::move(line)});
    } else {
      out.push_back({line.substr(0, colon), line.substr(colon + 2)});
    }
  }
  return out;
}

}  // namespace otap_parquet::dataset
