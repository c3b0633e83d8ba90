// SPDX-License-Identifier: Apache-2.0
#pragma once

#include <string_view>

#include "otap_parquet/config/config_reader.h"
#include "otap_parquet/dataset/dataset_writer.h"
#include "otap_parquet/dataset/writer_options.h"
#include "otap_parquet/storage/storage.h"

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

  /// \brief Reads `storage` (required), `partitioning_strategies`, `writer_options`
  /// and `retry` from the exporter's config block, each part reading and checking
  /// itself; every error is recorded at its key and line:
  ///
  /// ```text
  /// invalid configuration (2 errors):
  ///   nodes.pq.config.writer_options.row_group_size (line 4): must be > 0, got 0
  ///   nodes.pq.config.storge (line 2): unknown key; did you mean "storage"?
  /// ```
  ///
  /// The block may hold other keys (the node's own); the caller Finishes it.
  static ParquetExporterConfig Read(config::ConfigReader& reader);
};

/// \brief Reads upstream's `partitioning_strategies` list at `key` of `reader`.
PartitioningOptions ReadPartitioning(config::ConfigReader& reader, std::string_view key);

}  // namespace otap_parquet::dataset
