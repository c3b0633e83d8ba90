// SPDX-License-Identifier: Apache-2.0
#pragma once

#include <chrono>
#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "otap_parquet/config/config_reader.h"
#include "otap_parquet/dataset/dataset_reader.h"
#include "otap_parquet/dataset/sharding.h"
#include "otap_parquet/storage/storage.h"
#include "otap_parquet/util/backoff.h"

/// \file
/// Configuration of `receiver:parquet`: the original design's keys (`base_uri`,
/// `signal_types`, `polling_interval`, `processing_options`) plus `storage` (the
/// shape of exporter:parquet's, instead of `base_uri`), `time_range`, `checkpoint` and
/// `pacing`.

namespace otap_parquet::nodes {

struct ParquetReceiverConfig {
  /// From `base_uri` (path or URI) or from the `storage` block.
  dataset::StorageConfig storage;
  /// `signal_types`: logs, traces, metrics (replayed in this order per partition).
  std::vector<Signal> signals = {Signal::kLogs, Signal::kTraces, Signal::kMetrics};
  /// 0 = one-shot: finish once the dataset is exhausted and every batch settled.
  std::chrono::nanoseconds polling_interval{0};
  /// `watch` (polling only): how a following receiver learns of new files.
  enum class Watch {
    kAuto,     ///< inotify on a local dataset, else polling
    kInotify,  ///< inotify (local datasets only), woken as files appear
    kPoll,     ///< only every polling_interval
  };
  Watch watch = Watch::kAuto;
  /// `processing_options`: how files are read and batches cut.
  struct ProcessingOptions {
    /// `batch_size`: most root rows per emitted batch, 1..65535.
    int64_t batch_size = 1000;
    /// `min_file_age`: skip files modified more recently.
    std::chrono::milliseconds min_file_age{0};
    /// `validate_relations`: log orphan rows (always counted).
    bool validate_relations = false;
    /// `orphan_grace_period` (polling only): a child file whose parents are not
    /// visible yet is held back until they are, or until it is this old; only then
    /// are its unjoinable rows orphans (writers publish children first).
    std::chrono::milliseconds orphan_grace_period{30000};

    static ProcessingOptions Read(config::ConfigReader& reader);
  };
  ProcessingOptions processing;
  /// `shard: {index, count}`: this engine replays only the partitions of shard
  /// `index` of `count` (dataset::PartitionAssigned), so that `count` engines on
  /// `count` machines together replay the dataset exactly once.
  struct ShardConfig {
    int index = 0;
    int count = 1;

    /// Both keys required; 0 <= index < count.
    static ShardConfig Read(config::ConfigReader& reader);
    dataset::Shard ToShard() const { return {index, count}; }
  };
  ShardConfig shard;
  /// `partitions`: only partitions whose path has every `key=value` level of one of
  /// these selectors (dataset::PartitionSelector, e.g. "service.name=checkout");
  /// empty = all.
  std::vector<std::string> partitions;
  /// `time_range`: only records whose event time is in [start, end).
  struct TimeRangeConfig {
    /// `start`, `end`: RFC 3339 UTC or integer Unix nanoseconds; either may be
    /// omitted (open side); start must be before end.
    int64_t start_unix_nano = 0;
    int64_t end_unix_nano = INT64_MAX;

    static TimeRangeConfig Read(config::ConfigReader& reader);
    dataset::TimeRange ToTimeRange() const { return {start_unix_nano, end_unix_nano}; }
  };
  std::optional<TimeRangeConfig> time_range;

  /// `checkpoint`: durable replay progress (absent = none: a restart replays all).
  struct Checkpoint {
    /// `path`: a local file or a URI (file://, s3://, ...; s3 settings from storage).
    std::string path;
    /// `object`: a name relative to the dataset's base, on the dataset's storage.
    std::string object;
    /// `interval`: least time between two writes while progress moves (0 = after
    /// every Ack that moves it). The last state is always written at the end.
    std::chrono::milliseconds interval{1000};
    /// `max_batches`: also written once this many more batches are acknowledged,
    /// so a crash replays at most this many acknowledged batches again (plus those
    /// in flight).
    int64_t max_batches = 16;

    static Checkpoint Read(config::ConfigReader& reader);
  };
  std::optional<Checkpoint> checkpoint;

  /// `retry`: a batch Nacked as retryable (exporter down, pipeline full) is sent
  /// again, up to `max_retries` times, after `init_backoff` doubling up to
  /// `max_backoff` (defaults: 8 retries over about two minutes); then (or on a
  /// permanent Nack) it is given up: dead-lettered, or else the checkpoint stays
  /// before it for the rest of the run.
  struct Retry {
    int64_t max_retries = 8;
    std::chrono::milliseconds init_backoff{1000};
    std::chrono::milliseconds max_backoff{30000};

    static Retry Read(config::ConfigReader& reader);
    util::BackoffPolicy Policy() const {
      return {.initial_interval = init_backoff, .max_interval = max_backoff};
    }
  };
  Retry retry;

  /// `storage_retry.max_elapsed_time`: in one-shot mode, how long storage failures
  /// (after the reader's own attempts) may last before the pass gives up: the rest
  /// of the dataset is reported undelivered (the run exits 3) and a checkpoint stays
  /// before it. 0 = retry forever. Polling receivers always retry: they serve.
  std::chrono::milliseconds storage_max_elapsed_time{std::chrono::minutes(5)};

  /// `dead_letter.path`: a local file that batches given up are appended to as
  /// OTLP/JSON lines (then the checkpoint moves past them). Empty (default): a given
  /// up batch holds the checkpoint back and is replayed after a restart.
  std::string dead_letter_path;

  /// `pacing`: `mode: fast` (default, as fast as downstream takes it) or `original`
  /// (the original event-time gaps between batches, divided by `speed`).
  enum class Pacing { kFast, kOriginal };
  Pacing pacing = Pacing::kFast;
  double speed = 1.0;

  static ParquetReceiverConfig Read(config::ConfigReader& reader);

  dataset::ReaderOptions ToReaderOptions() const;
};

}  // namespace otap_parquet::nodes
