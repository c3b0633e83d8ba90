// SPDX-License-Identifier: Apache-2.0
#pragma once

#include "otap_parquet/engine/metrics.h"

/// \file
/// The metrics of `receiver:parquet`, declared once (rendered `otap_node_<name>[_total]`;
/// docs/operations.md).

namespace otap_parquet::nodes {

struct ParquetReceiverMetrics {
  static constexpr engine::MetricDef files_read = engine::Counter(
      "parquet_files_read", "{file}", "Parquet files whose footer was read");
  static constexpr engine::MetricDef corrupt_files = engine::Counter(
      "parquet_corrupt_files", "{file}", "Parquet files skipped as unreadable");
  static constexpr engine::MetricDef incompatible_files = engine::Counter(
      "parquet_incompatible_files", "{file}",
      "Parquet files skipped: a required column missing, mistyped or unreadable");
  static constexpr engine::MetricDef unreadable_columns =
      engine::Counter("parquet_unreadable_columns", "{column}",
                      "optional columns of a file read as nulls");
  static constexpr engine::MetricDef recovered_columns =
      engine::Counter("parquet_recovered_columns", "{column}",
                      "upstream length-prefixed id columns recovered (Q14)");
  static constexpr engine::MetricDef io_retries =
      engine::Counter("parquet_io_retries", "{retry}",
                      "reads retried inside the reader after a storage failure");
  static constexpr engine::MetricDef read_retries = engine::Counter(
      "parquet_read_retries", "{retry}",
      "storage failures that outlasted the reader's retries: reader reopened later");
  static constexpr engine::MetricDef replans = engine::Counter(
      "parquet_replans", "{pass}",
      "passes ended early because a listed file vanished (e.g. superseded by a "
      "compaction and deleted): the dataset is listed again at once and replay resumes");
  static constexpr engine::MetricDef row_groups_read =
      engine::Counter("parquet_row_groups_read", "{row_group}", "row groups read");
  static constexpr engine::MetricDef row_groups_skipped = engine::Counter(
      "parquet_row_groups_skipped", "{row_group}", "row groups skipped by time_range");
  static constexpr engine::MetricDef orphan_rows = engine::Counter(
      "parquet_orphan_rows", "{row}", "child rows whose parent never appears");
  static constexpr engine::MetricDef id_collisions = engine::Counter(
      "parquet_id_collisions", "{signal}",
      "signals of a partition not replayed: two writers numbered ids in one id space");
  static constexpr engine::MetricDef tail_held_files = engine::Gauge(
      "parquet_tail_held_files", "{file}",
      "child files held back: their parents are not visible yet (last pass)");
  static constexpr engine::MetricDef tail_held_rows =
      engine::Gauge("parquet_tail_held_rows", "{row}", "rows of those files");
  static constexpr engine::MetricDef tail_released_files = engine::Counter(
      "parquet_tail_released_files", "{file}",
      "held child files read after orphan_grace_period without their parents");
  static constexpr engine::MetricDef filtered_rows =
      engine::Counter("parquet_filtered_rows", "{row}", "rows dropped by time_range");
  static constexpr engine::MetricDef bytes_read =
      engine::Counter("parquet_bytes_read", "By", "compressed column chunk bytes read");
  static constexpr engine::MetricDef records_emitted =
      engine::Counter("parquet_records_emitted", "{record}",
                      "log records, spans or metric points emitted");
  static constexpr engine::MetricDef batches_emitted =
      engine::Counter("parquet_batches_emitted", "{batch}", "batches emitted");
  static constexpr engine::MetricDef batches_acked =
      engine::Counter("parquet_batches_acked", "{batch}", "emitted batches Acked");
  static constexpr engine::MetricDef batches_nacked = engine::Counter(
      "parquet_batches_nacked", "{batch}", "Nacks received for emitted batches");
  static constexpr engine::MetricDef batches_retried = engine::Counter(
      "parquet_batches_retried", "{batch}", "Nacked batches sent again (retry)");
  static constexpr engine::MetricDef batches_abandoned =
      engine::Counter("parquet_batches_abandoned", "{batch}",
                      "batches given up (permanent Nack, retries exhausted, or "
                      "shutdown): the checkpoint stays before them");
  static constexpr engine::MetricDef records_abandoned = engine::Counter(
      "parquet_records_abandoned", "{record}", "records of the abandoned batches");
  static constexpr engine::MetricDef batches_dead_lettered =
      engine::Counter("parquet_batches_dead_lettered", "{batch}",
                      "batches refused for good and written to the dead letter file");
  static constexpr engine::MetricDef records_dead_lettered =
      engine::Counter("parquet_records_dead_lettered", "{record}",
                      "records of the dead-lettered batches");
  static constexpr engine::MetricDef dead_letter_errors =
      engine::Counter("parquet_dead_letter_errors", "{error}",
                      "failed dead letter writes (batch abandoned)");
  static constexpr engine::MetricDef batches_in_flight = engine::Gauge(
      "parquet_batches_in_flight", "{batch}", "emitted batches not yet settled");
  static constexpr engine::MetricDef passes =
      engine::Counter("parquet_passes", "{pass}", "dataset discoveries (readers opened)");
  static constexpr engine::MetricDef assigned_partitions = engine::Gauge(
      "parquet_assigned_partitions", "{partition}",
      "partitions this instance replays (--num-cores: its share of the core "
      "assignment; one core: those of the last pass)");
  static constexpr engine::MetricDef watch_wakeups =
      engine::Counter("parquet_watch_wakeups", "{pass}",
                      "passes started early because files appeared (watch: inotify)");
  static constexpr engine::MetricDef skipped_paths =
      engine::Gauge("parquet_skipped_paths", "{path}",
                    "paths the last discovery did not read (directory symlinks, second "
                    "paths of a file, table paths that are not directories)");
  static constexpr engine::MetricDef resume_skipped_files = engine::Counter(
      "parquet_resume_skipped_files", "{file}", "root files not read: replayed before");
  static constexpr engine::MetricDef resume_skipped_row_groups = engine::Counter(
      "parquet_resume_skipped_row_groups", "{row_group}",
      "row groups not read on resume: only replayed rows (root file in progress; "
      "children by parent_id statistics)");
  static constexpr engine::MetricDef checkpoint_lag_batches = engine::Gauge(
      "parquet_checkpoint_lag_batches", "{batch}",
      "emitted batches not acknowledged yet (replayed again after a crash)");
  static constexpr engine::MetricDef checkpoint_lag_items =
      engine::Gauge("parquet_checkpoint_lag_items", "{item}", "records of those batches");
  static constexpr engine::MetricDef checkpoint_writes =
      engine::Counter("parquet_checkpoint_writes", "{write}", "checkpoint writes");
  static constexpr engine::MetricDef checkpoint_write_errors = engine::Counter(
      "parquet_checkpoint_write_errors", "{error}", "failed checkpoint writes");
  static constexpr engine::MetricDef checkpoint_age_ms = engine::Gauge(
      "parquet_checkpoint_age_ms", "ms", "time since the last checkpoint write");
};

}  // namespace otap_parquet::nodes
