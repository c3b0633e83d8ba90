// SPDX-License-Identifier: Apache-2.0
#pragma once

#include <string_view>

#include <arrow/result.h>

#include "otap_parquet/dataset/dataset_writer.h"
#include "otap_parquet/dataset/writer_options.h"
#include "otap_parquet/storage/storage.h"

namespace YAML {
class Node;
}

/// \file
/// The parquet exporter's YAML config, with upstream's keys
/// (shared/docs/otap-parquet-format.md §3):
///
/// ```yaml
/// storage:
///   file: {base_uri: /var/lib/otap/dataset}
///   # s3: {base_uri: s3://bucket/prefix, region: eu-west-1, endpoint: ..., allow_http:
///   #      false, virtual_hosted_style_request: false,
///   #      auth: {type: static_credentials, access_key_id: ..., secret_access_key: ...,
///   #             session_token: ...}}   # or auth: default / {type: default}
///   # gcs: {base_uri: gs://bucket/prefix}
///   # azure: {base_uri: abfss://container@account.dfs.core.windows.net/prefix}
/// partitioning_strategies:        # `_part_id=<uuid>` is always the innermost level
///   - schema_metadata: ["_part_id"] # upstream's form of it (accepted, optional)
///   - event_time: hour            # or day (ours): date=…/hour=…/_part_id=…
/// writer_options:
///   target_rows_per_file: 1000000
///   target_bytes_per_file: 128MiB   # integer bytes or with unit B, KB, MB, GB, KiB...
///   flush_when_older_than: 10s
///   compression: zstd
///   compression_level: 3
///   row_group_size: 1048576
///   data_page_size: 1MiB
///   dictionary: true
///   dictionary_columns: [key, str, name]   # default: DefaultDictionaryColumns(); [*]
///   max_open_partitions: 64                # 0 = no bound
///   statistics: true
///   bloom_filter_columns: [trace_id]
/// retry: {max_retries: 10, init_backoff: 100ms, max_backoff: 15s, backoff_base: 2.0,
///         retry_timeout: 3m}
/// ```
///
/// Keys left out keep the defaults of WriterOptions / RetryConfig (upstream instead
/// disables the row rule when `writer_options` is present without
/// `target_rows_per_file`).

namespace otap_parquet::dataset {

struct ParquetExporterConfig {
  StorageConfig storage;  ///< `storage`, with `retry` in storage.retry
  PartitioningOptions partitioning;
  WriterOptions writer_options;

  /// \brief Every semantic error, each with its key path.
  arrow::Status Validate() const;
};

/// \brief Parses and validates the exporter's config node. Walks the whole tree and
/// reports every error in one Invalid status:
///
/// ```text
/// invalid configuration (2 errors):
///   writer_options.row_group_size: must be > 0, got 0
///   storge: unknown key; did you mean "storage"?
/// ```
///
/// \param path prefix of key paths in messages (e.g. "nodes.pq_out.config")
arrow::Result<ParquetExporterConfig> ParseParquetExporterConfig(
    const YAML::Node& node, std::string_view path = "");

/// \brief One error of a failed ParseParquetExporterConfig: its key path (empty
/// when the message names none) and message.
struct ConfigError {
  std::string path;
  std::string message;
};

/// \brief Splits ParseParquetExporterConfig's "invalid configuration (N errors):\n
/// <path>: <message>..." (or a single-line message) back into single errors, for
/// callers that report errors in their own form (the engine's config nodes).
std::vector<ConfigError> SplitConfigErrors(const std::string& message);

}  // namespace otap_parquet::dataset
