// SPDX-License-Identifier: Apache-2.0
#pragma once

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <memory>
#include <mutex>
#include <set>
#include <string>
#include <thread>
#include <vector>

#include <arrow/filesystem/filesystem.h>
#include <spdlog/logger.h>

#include "otap_parquet/storage/storage.h"

/// \file
/// `retention:` of exporter:parquet: a background thread that deletes, every
/// `interval`, the dataset's partitions whose every record is older than `max_age`
/// (dataset::DeletePartitions), never one a listed replay checkpoint has not
/// finished, nor one of a running writer's own `_part_id`s.

namespace otap_parquet::config {
class ConfigReader;
}

namespace otap_parquet::nodes {

/// \brief `retention:` keys.
struct ParquetRetentionConfig {
  std::chrono::milliseconds max_age{0};
  std::chrono::milliseconds interval{std::chrono::minutes(10)};
  /// Replay checkpoints (local paths or URIs) whose unfinished partitions are kept.
  std::vector<std::string> checkpoints;

  /// \brief Reads the `retention` block (`max_age` required, at least 1s).
  static ParquetRetentionConfig Read(config::ConfigReader& reader);
};

/// \brief The `_part_id`s exporter:parquet instances of this process write now
/// (retention never deletes them: a late record may still be published there).
class ActivePartIds {
 public:
  static void Replace(const std::string& old_part_id, const std::string& part_id);
  static std::vector<std::string> Snapshot();
};

class RetentionWorker {
 public:
  struct Counters {
    std::atomic<int64_t> passes{0};
    std::atomic<int64_t> deleted_partitions{0};
    std::atomic<int64_t> deleted_files{0};
    /// Files found in expired partitions after their listing, kept.
    std::atomic<int64_t> kept_files{0};
    std::atomic<int64_t> deleted_bytes{0};
    /// Expired partitions kept because a checkpoint has not finished them (per pass).
    std::atomic<int64_t> blocked_partitions{0};
    std::atomic<int64_t> errors{0};
  };

  /// \brief Starts the thread; the first pass runs at once.
  RetentionWorker(ParquetRetentionConfig config,
                  std::shared_ptr<arrow::fs::FileSystem> fs, std::string base,
                  dataset::StorageConfig storage, std::string node_id,
                  std::shared_ptr<spdlog::logger> logger);
  /// \brief Stop().
  ~RetentionWorker();

  /// \brief Ends the thread: waits for a pass in progress. Idempotent.
  void Stop();

  const Counters& counters() const { return counters_; }

 private:
  void Run();
  void Pass();

  const ParquetRetentionConfig config_;
  const std::shared_ptr<arrow::fs::FileSystem> fs_;
  const std::string base_;
  /// The dataset's storage settings, for checkpoints given as URIs.
  const dataset::StorageConfig storage_;
  const std::string node_id_;
  const std::shared_ptr<spdlog::logger> logger_;
  Counters counters_;
  std::mutex mu_;
  std::condition_variable cv_;
  bool stop_ = false;
  /// Blocked partitions already logged (the worker thread's own).
  std::set<std::string> warned_blocked_;
  std::thread thread_;
};

}  // namespace otap_parquet::nodes
