// SPDX-License-Identifier: Apache-2.0
#pragma once

#include <cstdint>
#include <memory>
#include <set>
#include <string>

#include <arrow/filesystem/filesystem.h>
#include <arrow/result.h>

#include "otap_parquet/dataset/dataset_reader.h"
#include "otap_parquet/engine/node.h"
#include "otap_parquet/engine/registry.h"
#include "otap_parquet/nodes/receivers/parquet/config.h"

/// \file
/// `receiver:parquet`: replays a Parquet dataset (dataset::DatasetReader) as OTAP
/// batches (see README.md).

namespace otap_parquet::nodes {

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

  int64_t in_flight() const { return in_flight_; }
  int64_t acked() const { return acked_; }
  int64_t nacked() const { return nacked_; }
  /// \brief Totals over every reader opened so far (polling opens one per poll).
  dataset::ReaderStats stats() const;

 private:
  ParquetReceiver(ParquetReceiverConfig config, engine::NodeSettings settings)
      : config_(std::move(config)), settings_(std::move(settings)) {}

  bool polling() const { return config_.polling_interval.count() > 0; }
  /// Opens a reader over the dataset as it is now; false (logged) on failure.
  bool OpenReader(engine::EffectHandler& effect);
  /// Folds the current reader's stats into the totals and drops it.
  void CloseReader();
  void Finish(engine::EffectHandler& effect);
  void MaybeFinish(engine::EffectHandler& effect);
  void UpdateMetrics(engine::EffectHandler& effect);

  ParquetReceiverConfig config_;
  engine::NodeSettings settings_;
  std::shared_ptr<arrow::fs::FileSystem> fs_;
  std::string base_;
  std::unique_ptr<dataset::DatasetReader> reader_;
  dataset::ReaderStats closed_stats_;
  /// Polling: partitions read to the end by an earlier reader (skipped).
  std::set<std::string> done_partitions_;
  engine::Clock::time_point next_poll_{};
  engine::Clock::time_point settle_deadline_{};
  bool idle_ = false;       ///< not instance 0: reads nothing
  bool exhausted_ = false;  ///< one-shot: the reader returned its end
  bool finished_ = false;
  bool draining_ = false;
  int64_t in_flight_ = 0;
  int64_t acked_ = 0;
  int64_t nacked_ = 0;
  int64_t records_emitted_ = 0;
  int64_t batches_emitted_ = 0;
  int64_t batches_skipped_ = 0;
  int64_t polls_ = 0;
  int64_t logged_orphans_ = 0;
  int64_t nack_logs_ = 0;
};

extern const engine::NodeFactory kParquetReceiverFactory;

}  // namespace otap_parquet::nodes
