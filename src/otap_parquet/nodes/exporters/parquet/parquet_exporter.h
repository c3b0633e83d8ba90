// SPDX-License-Identifier: Apache-2.0
#pragma once

#include <atomic>
#include <chrono>
#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "otap_parquet/dataset/dataset_writer.h"
#include "otap_parquet/engine/node.h"
#include "otap_parquet/engine/registry.h"
#include "otap_parquet/nodes/exporters/parquet/config.h"
#include "otap_parquet/util/serial_worker.h"
#include "otap_parquet/wal/wal.h"

/// \file
/// `exporter:parquet`: writes every batch into a partitioned Parquet dataset (one
/// dataset::DatasetWriter per pipeline instance) and Acks a batch once its rows are
/// in published files, or, with `wal.enabled`, once it is durable in the node's
/// write-ahead log (wal::Wal, one per pipeline instance); the log keeps it until its
/// rows are in published files, re-writes it after a failed flush, and replays it
/// after a crash. Files cut by a size/age rule are finished and published on the
/// node's publisher thread (util::SerialWorker), so the pipeline thread goes on
/// appending (and logging) batches meanwhile; their outcomes are applied on the
/// pipeline thread (next Export or timer tick).

namespace otap_parquet::nodes {

class ParquetExporter : public engine::Exporter {
 public:
  ~ParquetExporter() override;

  static arrow::Result<std::unique_ptr<engine::Node>> Make(
      const engine::NodeSettings& settings, const YAML::Node& config);

  /// \brief Opens the storage (a local base directory is created) and the writer;
  /// starts the age-rule timer (the writer's tick_interval). With the WAL: locks
  /// and recovers this instance's log (core 0 also adopts the logs of cores that
  /// no longer exist) and writes every unfinished record into the writer before
  /// any new data is taken.
  arrow::Status Start(engine::EffectHandler& effect) override;
  /// \brief Writes the batch; its context is Acked when the batch is durable, or
  /// Nacked (permanent for Invalid data, retryable otherwise) when it failed.
  /// Without the WAL, durable = its rows are in published files, and when
  /// max_pending_batches batches are then pending, every open file is published
  /// (flush reason "pending"). With the WAL, durable = appended and fdatasynced
  /// (group commit, Acked from the WAL's sync thread); a full WAL is first freed by
  /// publishing every open file (reason "wal_full"), then refused (retryable).
  arrow::Status Export(engine::PData msg, engine::EffectHandler& effect) override;
  /// \brief False while max_pending_batches batches wait for a flush (only while a
  /// flush of them failed to settle them: reaching the bound flushes at once).
  bool AcceptsPdata() const override;
  /// \brief Applies the outcomes of finished background publishes and the age rule
  /// (DatasetWriter::Tick); re-writes WAL records whose write or flush failed
  /// (backoff 1 s doubling to 30 s). Runs every 50 ms while a publish is in
  /// flight, else at the writer's tick interval.
  arrow::Status OnTimer(engine::Clock::time_point now,
                        engine::EffectHandler& effect) override;
  /// \brief Waits for the background publishes, then publishes every open file
  /// until `deadline` (DatasetWriter::Close); every pending context is Acked or
  /// Nacked before the returned future completes.
  arrow::Future<> Shutdown(engine::Clock::time_point deadline,
                           engine::EffectHandler& effect) override;

  /// \brief Batches written whose context is not completed yet.
  int64_t pending_batches() const { return *pending_; }

  /// \brief Test only: runs instead of every WAL fdatasync of nodes whose Start() comes
  /// later (wal::WalOptions::fail_sync_for_testing); empty = real syncs.
  static void SetWalSyncHookForTesting(std::function<arrow::Status()> hook);
  /// \brief Test only: runs on the publisher thread before each file of nodes whose
  /// Start() comes later is finished (DatasetWriterSettings::
  /// before_publish_for_testing); empty = none.
  static void SetPublishHookForTesting(
      std::function<arrow::Status(const std::string& uri)> hook);
  /// \brief Test only: runs before each WAL done or published-partition mark of
  /// nodes whose Start() comes later (wal::WalOptions::before_mark_for_testing);
  /// false drops the mark; empty = none.
  static void SetWalMarkHookForTesting(std::function<bool(std::string_view kind)> hook);
  /// \brief Test only: runs on the publisher thread before each file of nodes whose
  /// Start() comes later is renamed into place (DatasetWriterSettings::
  /// before_rename_for_testing); empty = none.
  static void SetRenameHookForTesting(std::function<void(const std::string& uri)> hook);

 private:
  ParquetExporter(ParquetExporterNodeConfig config, engine::NodeSettings settings);

  struct WalRef {
    size_t log = 0;  ///< index in wals_
    wal::RecordId id;
    /// The record's partitions already published: a re-write skips them (a batch
    /// spread over several partitions can fail in only one).
    std::shared_ptr<dataset::WriteProgress> progress =
        std::make_shared<dataset::WriteProgress>();
  };
  struct WalEntry;
  /// A record waiting for its re-write, with its sender's context while that is
  /// not settled (a Nacked one is not written again: the sender resends it).
  struct Rewrite {
    WalRef ref;
    std::shared_ptr<WalEntry> entry;
  };

  /// Also keeps ActivePartIds up to date (a rollover starts a new `_part_id`).
  void UpdateMetrics(engine::EffectHandler& effect);
  arrow::Status StartWal(const std::string& base_path,
                         const std::shared_ptr<arrow::fs::FileSystem>& fs,
                         engine::EffectHandler& effect);
  /// Notes in the record's log each publish of its rows before it starts
  /// (wal::Wal::MarkPublishing) and each partition the writer publishes while the
  /// record is not complete (wal::Wal::MarkPublished), so a restart skips it.
  void TrackProgress(const WalRef& ref);
  /// Writes a WAL record's batch; its future marks it done or schedules a re-write.
  void WriteRecord(WalRef ref, const OtapBatch& batch, std::shared_ptr<WalEntry> entry);
  void OnRecordWritten(WalRef ref, const arrow::Status& st,
                       const std::shared_ptr<WalEntry>& entry);
  arrow::Status ExportWithWal(engine::PData msg, engine::EffectHandler& effect);
  void Refeed(engine::EffectHandler& effect);
  /// Polls fast while a background publish is in flight (its batches wait for
  /// OnTimer or Export to be settled), at tick_ otherwise.
  void UpdateTimer(engine::EffectHandler& effect);

  ParquetExporterNodeConfig config_;
  engine::NodeSettings settings_;
  std::shared_ptr<dataset::StorageStats> storage_stats_;
  /// Finishes and publishes the writer's files (declared before writer_: outlives it).
  std::unique_ptr<util::SerialWorker> publisher_;
  std::unique_ptr<dataset::DatasetWriter> writer_;
  /// The timer's period when nothing is being published; current: the running one.
  std::optional<std::chrono::milliseconds> tick_;
  std::optional<std::chrono::milliseconds> current_tick_;
  /// Shared with the completion callbacks (they may outlive a call on this node).
  std::shared_ptr<int64_t> pending_ = std::make_shared<int64_t>(0);

  /// wals_[0]: this instance's log; core 0 also holds adopted ones (no appends).
  std::vector<std::unique_ptr<wal::Wal>> wals_;
  /// Appends waiting for their sync (decremented on the sync thread).
  std::shared_ptr<std::atomic<int64_t>> unsynced_ =
      std::make_shared<std::atomic<int64_t>>(0);
  /// Records whose write or flush failed, re-written from the log by OnTimer.
  std::vector<Rewrite> refeed_;
  std::chrono::steady_clock::time_point next_refeed_{};
  std::chrono::milliseconds refeed_backoff_{1000};
  engine::EffectHandler* effect_ = nullptr;
  bool closing_ = false;
  int64_t wal_replayed_ = 0;
  int64_t wal_refeeds_ = 0;
  int64_t wal_write_failures_ = 0;
  int64_t wal_invalid_ = 0;
  int64_t wal_read_errors_ = 0;
  /// The `_part_id` this instance registered in ActivePartIds.
  std::string active_part_id_;
  /// Core 0 only, with `retention:`.
  std::unique_ptr<RetentionWorker> retention_;
};

extern const engine::NodeFactory kParquetExporterFactory;

}  // namespace otap_parquet::nodes
