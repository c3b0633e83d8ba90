// SPDX-License-Identifier: Apache-2.0
#pragma once

#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <unordered_map>
#include <vector>

#include <arrow/filesystem/filesystem.h>
#include <arrow/result.h>
#include <fmt/format.h>

#include "otap_parquet/dataset/dataset_reader.h"
#include "otap_parquet/dataset/replanning_reader.h"
#include "otap_parquet/dataset/replay_checkpoint.h"
#include "otap_parquet/dataset/sharding.h"
#include "otap_parquet/dataset/tail_planner.h"
#include "otap_parquet/engine/node.h"
#include "otap_parquet/engine/registry.h"
#include "otap_parquet/nodes/receivers/parquet/config.h"
#include "otap_parquet/nodes/receivers/parquet/dead_letter.h"
#include "otap_parquet/nodes/receivers/parquet/pacing.h"
#include "otap_parquet/nodes/receivers/parquet/watcher.h"
#include "otap_parquet/util/backoff.h"

/// \file
/// `receiver:parquet`: replays a Parquet dataset (dataset::DatasetReader) as OTAP
/// batches (see README.md).

namespace otap_parquet::nodes {

class SharedCheckpoint;

class ParquetReceiver : public engine::Receiver {
 public:
  /// How long a one-shot receiver waits, once the dataset is exhausted, for the
  /// outcome of its in-flight batches before it reports finished anyway (the
  /// pipeline's drain then settles them, e.g. an exporter:parquet closes its files).
  static constexpr std::chrono::seconds kSettleTimeout{5};

  static arrow::Result<std::unique_ptr<engine::Node>> Make(
      const engine::NodeSettings& settings, const YAML::Node& config);

  arrow::Status Start(engine::EffectHandler& effect) override;
  engine::Clock::time_point Poll(engine::Clock::time_point now,
                                 engine::EffectHandler& effect) override;
  void Drain(engine::EffectHandler& effect) override;
  void OnAck(uint64_t calldata, engine::AckContext rest,
             engine::EffectHandler& effect) override;
  void OnNack(uint64_t calldata, const engine::NackInfo& nack, engine::AckContext rest,
              engine::EffectHandler& effect) override;
  arrow::Future<> Shutdown(engine::Clock::time_point deadline,
                           engine::EffectHandler& effect) override;

  ~ParquetReceiver() override;

  int64_t in_flight() const { return in_flight_; }
  int64_t acked() const { return acked_; }
  int64_t nacked() const { return nacked_; }
  int64_t retried() const { return retried_; }
  int64_t abandoned() const { return abandoned_; }
  int64_t dead_lettered() const { return dead_lettered_; }
  /// \brief Totals over every reader opened so far (polling opens one per poll).
  dataset::ReaderStats stats() const;
  const dataset::ReplayProgress& progress() const { return progress_; }

 private:
  ParquetReceiver(ParquetReceiverConfig config, engine::NodeSettings settings)
      : config_(std::move(config)),
        settings_(std::move(settings)),
        pacing_(config_.speed),
        retry_backoff_(config_.retry.Policy()),
        replanner_(dataset::ReplanPolicy{}, DatasetLog(),
                   fmt::format("node={}", settings_.node_id)) {}

  using Clock = engine::Clock;

  util::EventLog DatasetLog() const;

  /// A batch read but not sent yet (pacing holds it until it is due).
  struct Ready {
    OtapBatch batch;
    dataset::ReplayUnit unit;
    int partition_index = 0;
    std::string next_file;
    int64_t next_row = 0;
    Clock::time_point due{};
  };

  /// A batch sent and not settled yet; the batch itself is kept (its buffers are
  /// shared, not copied) while `retry` may send it again or `dead_letter` write it.
  struct Sent {
    std::optional<OtapBatch> batch;
    int64_t items = 0;
    int64_t retries = 0;
    /// Where the batch came from (partition and signal), for the logs of a refusal.
    std::string source;
  };

  /// How often a watching receiver between passes looks for new files (a
  /// non-blocking read of its inotify queue).
  static constexpr std::chrono::milliseconds kWatchCheck{250};

  bool polling() const { return config_.polling_interval.count() > 0; }
  /// Starts watching a local dataset (polling, `watch` auto or inotify).
  arrow::Status StartWatch(engine::EffectHandler& effect);
  /// Whether files appeared since the last call; on a watch failure falls back to
  /// polling (logged).
  bool WatchChanged(engine::EffectHandler& effect);
  /// Poll's work besides retries: pacing, reading, the end of the dataset.
  Clock::time_point PollReader(Clock::time_point now, engine::EffectHandler& effect);
  /// Subscribes to and sends `batch` under `token` (a first send or a retry).
  void Emit(uint64_t token, engine::PData msg, engine::EffectHandler& effect);
  /// Gives up on the batch of `token`: the checkpoint stays before it. `how` is
  /// reported as undelivered (EffectHandler::ReportUndelivered).
  void Abandon(uint64_t token, const char* how, engine::EffectHandler& effect);
  /// The batch of `token` was refused for good: dead-lettered (the checkpoint moves
  /// past it) when `dead_letter` is set and the write succeeds, else abandoned.
  void GiveUp(uint64_t token, engine::EffectHandler& effect);
  /// Opens the checkpoint (shared by the instances of this process).
  arrow::Status OpenCheckpoint(engine::EffectHandler& effect);
  /// Loads the checkpoint's units of the partitions this instance owns.
  void LoadCheckpoint(engine::EffectHandler& effect);
  /// `--num-cores` > 1: joins the core assignment of this node's instances, the
  /// first of them filling it from one listing of the dataset and the checkpoint.
  arrow::Status OpenAssignment(engine::EffectHandler& effect);
  /// Drops the partitions of `plan` other instances own (assigning new ones).
  void KeepOwnPartitions(dataset::DatasetPlan* plan);
  /// Whether `partition` is this receiver's before the core assignment: in the
  /// `partitions` selection and in its shard (listing, checkpoint, assignment).
  bool InScope(const std::string& partition) const;
  /// Reader options with the shard's and `partitions`' filters (not the cores').
  arrow::Result<dataset::ReaderOptions> ListingOptions() const;
  /// Opens a reader over the dataset as it is now; false (logged) on failure.
  arrow::Status OpenReader(engine::EffectHandler& effect);
  /// \brief A storage failure (retryable): reopen after a backoff, or, one-shot,
  /// give up once failures lasted `storage_retry.max_elapsed_time`.
  Clock::time_point StorageFailure(Clock::time_point now, const arrow::Status& status,
                                   engine::EffectHandler& effect);
  /// \brief A listed file vanished (deleted since discovery, e.g. superseded by a
  /// compaction whose grace period ended; replanner_ decided): ends the pass; the
  /// next lists the dataset again after `wait` (zero but when it keeps happening
  /// without progress), resuming after what was emitted (a compacted partition
  /// continues at the same record).
  Clock::time_point Replan(Clock::time_point now, std::chrono::nanoseconds wait,
                           engine::EffectHandler& effect);
  /// \brief Ends the pass after a failure; one-shot, reports the rest undelivered.
  Clock::time_point ReadFailed(Clock::time_point now, const arrow::Status& status,
                               const std::string& why, engine::EffectHandler& effect);
  /// Folds the current reader's stats into the totals and drops it.
  void CloseReader();
  /// Marks the units before `upto` (index into units_) replayed to their end.
  void UnitsDoneUpTo(size_t upto);
  void Send(Ready ready, engine::EffectHandler& effect);
  /// Writes the checkpoint when it moved and `force` or the interval has passed.
  void MaybeWriteCheckpoint(engine::EffectHandler& effect, bool force);
  void Finish(engine::EffectHandler& effect);
  void MaybeFinish(engine::EffectHandler& effect);
  void UpdateMetrics(engine::EffectHandler& effect);

  ParquetReceiverConfig config_;
  engine::NodeSettings settings_;
  /// `partitions` as a filter on partition paths (all when empty).
  std::function<bool(const std::string&)> selected_;
  std::shared_ptr<arrow::fs::FileSystem> fs_;
  std::string base_;
  std::unique_ptr<dataset::DatasetReader> reader_;
  /// Polling: holds back child files whose parents are not visible yet.
  std::unique_ptr<dataset::TailPlanner> tail_;
  /// DatasetPlan::skipped_entries of the last discovery (a gauge).
  int64_t skipped_paths_ = 0;
  dataset::ReaderStats closed_stats_;
  /// Emitted and acknowledged progress; the resume points of every reader.
  dataset::ReplayProgress progress_;
  std::shared_ptr<SharedCheckpoint> checkpoint_;
  /// `--num-cores` > 1: which instance owns which partition (shared, see sharding.h).
  std::shared_ptr<dataset::CoreAssignment> assignment_;
  /// Partitions this instance owns (gauge; one core: those of the last pass).
  int64_t assigned_partitions_ = 0;
  bool checkpoint_dirty_ = false;
  Clock::time_point last_checkpoint_write_{};
  bool checkpoint_written_ = false;
  int64_t checkpoint_writes_ = 0;
  int64_t checkpoint_errors_ = 0;
  /// (partition index, signal) of the current reader's plan, in replay order, and
  /// how many of them are known to be finished.
  std::vector<std::pair<int, Signal>> units_;
  size_t units_done_ = 0;
  PacingSchedule pacing_;
  dataset::ReplayUnit paced_unit_{Signal::kLogs, "\n"};  ///< stream of the last batch
  std::optional<Ready> ready_;
  Clock::time_point next_poll_{};
  Clock::time_point settle_deadline_{};
  bool idle_ = false;       ///< no partition can belong to this instance
  bool exhausted_ = false;  ///< one-shot: the reader returned its end
  bool finished_ = false;
  bool draining_ = false;
  bool shut_down_ = false;
  int64_t in_flight_ = 0;
  int64_t acked_ = 0;
  int64_t nacked_ = 0;
  int64_t records_emitted_ = 0;
  int64_t batches_emitted_ = 0;
  int64_t polls_ = 0;
  /// `watch`: inotify on the dataset directory tree (null: polling only).
  std::unique_ptr<DatasetWatcher> watcher_;
  int64_t watch_wakeups_ = 0;
  /// The current pass was started by the watcher (files younger than min_file_age
  /// it skipped get a pass of their own once old enough).
  bool woken_pass_ = false;
  // Storage failures that outlasted the reader's retries: the reader is reopened
  // after a backoff (doubling per consecutive failure) and resumes.
  int64_t read_retries_ = 0;
  int consecutive_read_failures_ = 0;
  /// When the current run of consecutive storage failures began.
  engine::Clock::time_point first_read_failure_{};
  int64_t logged_orphans_ = 0;
  int64_t nack_logs_ = 0;
  int64_t retried_ = 0;
  int64_t abandoned_ = 0;
  int64_t abandoned_items_ = 0;
  std::shared_ptr<DeadLetterFile> dead_letter_;
  int64_t dead_lettered_ = 0;
  int64_t dead_lettered_items_ = 0;
  int64_t dead_letter_errors_ = 0;
  /// ReplayProgress::covered_batches() at the last checkpoint write.
  int64_t covered_at_write_ = 0;
  /// token → batch (the batch only while a retry or the dead letter may need it).
  std::unordered_map<uint64_t, Sent> sent_;
  util::Backoff retry_backoff_;
  /// Passes ended by a vanished file: listed again at once, backing off while it
  /// keeps happening without progress.
  dataset::Replanner replanner_;
  // Reopening the dataset after a storage failure: 1s doubling up to 30s.
  util::Backoff storage_backoff_{
      util::BackoffPolicy{.initial_interval = std::chrono::seconds(1),
                          .max_interval = std::chrono::seconds(30)}};
  /// Retries waiting for their time: due → token.
  std::multimap<Clock::time_point, uint64_t> retry_due_;
};

extern const engine::NodeFactory kParquetReceiverFactory;

}  // namespace otap_parquet::nodes
