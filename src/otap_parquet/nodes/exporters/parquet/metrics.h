// SPDX-License-Identifier: Apache-2.0
#pragma once

#include "otap_parquet/engine/metrics.h"

/// \file
/// The metrics of `exporter:parquet`, declared once (rendered `otap_node_<name>[_total]`;
/// docs/operations.md).

namespace otap_parquet::nodes {

struct ParquetExporterMetrics {
  static constexpr engine::MetricDef files_created =
      engine::Counter("parquet_files_created", "{file}", "Parquet files opened");
  static constexpr engine::MetricDef files_closed =
      engine::Counter("parquet_files_closed", "{file}", "Parquet files published");
  static constexpr engine::MetricDef files_discarded = engine::Counter(
      "parquet_files_discarded", "{file}", "Parquet files discarded after an error");
  static constexpr engine::MetricDef stale_temp_files_removed =
      engine::Counter("parquet_stale_temp_files_removed", "{file}",
                      "temporary files of crashed writers removed at start");
  static constexpr engine::MetricDef temp_cleanup_errors = engine::Counter(
      "parquet_temp_cleanup_errors", "{error}", "failed stale temporary file cleanups");
  static constexpr engine::MetricDef rows_written = engine::Counter(
      "parquet_rows_written", "{row}", "rows in published files, per table", "table");
  static constexpr engine::MetricDef bytes_written =
      engine::Counter("parquet_bytes_written", "By", "bytes of published files");
  static constexpr engine::MetricDef flushes = engine::Counter(
      "parquet_flushes", "{flush}", "partition flushes, per reason", "reason");
  static constexpr engine::MetricDef write_errors =
      engine::Counter("parquet_write_errors", "{error}", "failed writes or flushes");
  static constexpr engine::MetricDef retries =
      engine::Counter("parquet_retries", "{retry}", "object-store request retries");
  static constexpr engine::MetricDef batches_acked = engine::Counter(
      "parquet_batches_acked", "{batch}", "batches durably written (Acked)");
  static constexpr engine::MetricDef batches_failed = engine::Counter(
      "parquet_batches_failed", "{batch}", "batches that failed (Nacked)");
  static constexpr engine::MetricDef pending_batches =
      engine::Gauge("parquet_pending_batches", "{batch}", "batches waiting for a flush");
  static constexpr engine::MetricDef publishing_partitions =
      engine::Gauge("parquet_publishing_partitions", "{partition}",
                    "partitions being finished and published on the publisher thread");
  static constexpr engine::MetricDef retention_passes = engine::Counter(
      "parquet_retention_passes", "{pass}", "retention passes over the dataset");
  static constexpr engine::MetricDef retention_deleted_partitions =
      engine::Counter("parquet_retention_deleted_partitions", "{partition}",
                      "expired partitions deleted");
  static constexpr engine::MetricDef retention_deleted_files = engine::Counter(
      "parquet_retention_deleted_files", "{file}", "files of expired partitions deleted");
  static constexpr engine::MetricDef retention_kept_files = engine::Counter(
      "parquet_retention_kept_files", "{file}",
      "files published into expired partitions after their listing, kept");
  static constexpr engine::MetricDef retention_deleted_bytes = engine::Counter(
      "parquet_retention_deleted_bytes", "By", "bytes of expired partitions deleted");
  static constexpr engine::MetricDef retention_blocked_partitions = engine::Gauge(
      "parquet_retention_blocked_partitions", "{partition}",
      "expired partitions kept for an unfinished replay checkpoint (last pass)");
  static constexpr engine::MetricDef retention_errors =
      engine::Counter("parquet_retention_errors", "{error}", "failed retention passes");
  static constexpr engine::MetricDef wal_appends = engine::Counter(
      "wal_appends", "{append}", "batches appended to the write-ahead log");
  static constexpr engine::MetricDef wal_append_bytes =
      engine::Counter("wal_append_bytes", "By", "bytes appended to the write-ahead log");
  static constexpr engine::MetricDef wal_fsyncs =
      engine::Counter("wal_fsyncs", "{fsync}", "fdatasync calls (one per group commit)");
  static constexpr engine::MetricDef wal_fsync_errors = engine::Counter(
      "wal_fsync_errors", "{error}", "failed fdatasyncs (their batches Nacked)");
  static constexpr engine::MetricDef wal_append_errors =
      engine::Counter("wal_append_errors", "{error}", "failed appends (batch Nacked)");
  static constexpr engine::MetricDef wal_refused_full = engine::Counter(
      "wal_refused_full", "{batch}", "batches refused because the log was full");
  static constexpr engine::MetricDef wal_segments_deleted = engine::Counter(
      "wal_segments_deleted", "{segment}", "segments deleted once published");
  static constexpr engine::MetricDef wal_torn_tails = engine::Counter(
      "wal_torn_tails", "{segment}", "segments truncated at start (torn last append)");
  static constexpr engine::MetricDef wal_torn_bytes =
      engine::Counter("wal_torn_bytes", "By", "bytes cut from torn tails at start");
  static constexpr engine::MetricDef wal_corrupt_regions = engine::Counter(
      "wal_corrupt_regions", "{region}",
      "corrupt regions followed by valid records found at start (their records lost)");
  static constexpr engine::MetricDef wal_corrupt_bytes =
      engine::Counter("wal_corrupt_bytes", "By", "bytes of those corrupt regions");
  static constexpr engine::MetricDef wal_salvaged_records = engine::Counter(
      "wal_salvaged_records", "{record}",
      "records after a corrupt region copied to a new segment and replayed");
  static constexpr engine::MetricDef wal_done_mark_errors = engine::Counter(
      "wal_done_mark_errors", "{error}", "failed writes of published marks");
  static constexpr engine::MetricDef wal_replayed_records = engine::Counter(
      "wal_replayed_records", "{record}", "unfinished records written again at start");
  static constexpr engine::MetricDef wal_replay_errors =
      engine::Counter("wal_replay_errors", "{error}",
                      "records that could not be decoded at start (kept)");
  static constexpr engine::MetricDef wal_rewrite_failures = engine::Counter(
      "wal_rewrite_failures", "{batch}",
      "writes or flushes of logged batches that failed (written again later)");
  static constexpr engine::MetricDef wal_rewrites = engine::Counter(
      "wal_rewrites", "{write}", "logged batches written again after a failure");
  static constexpr engine::MetricDef wal_invalid_dropped =
      engine::Counter("wal_invalid_dropped", "{batch}",
                      "acknowledged batches the writer refused as invalid");
  static constexpr engine::MetricDef wal_read_errors = engine::Counter(
      "wal_read_errors", "{error}", "logged batches that could not be read back");
  static constexpr engine::MetricDef wal_bytes = engine::Gauge(
      "wal_bytes", "By", "bytes of write-ahead log segments not yet deleted");
  static constexpr engine::MetricDef wal_segments = engine::Gauge(
      "wal_segments", "{segment}", "write-ahead log segments not yet deleted");
  static constexpr engine::MetricDef wal_unpublished_records = engine::Gauge(
      "wal_unpublished_records", "{record}", "logged batches not yet in published files");
  static constexpr engine::MetricDef wal_oldest_unpublished_age_ms =
      engine::Gauge("wal_oldest_unpublished_age_ms", "ms",
                    "age of the oldest segment holding unpublished batches");
  static constexpr engine::MetricDef wal_unsynced_appends = engine::Gauge(
      "wal_unsynced_appends", "{append}", "appends waiting for their fdatasync");
};

}  // namespace otap_parquet::nodes
