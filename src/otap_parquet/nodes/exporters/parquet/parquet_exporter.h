// SPDX-License-Identifier: Apache-2.0
#pragma once

#include <cstdint>
#include <memory>
#include <string>

#include "otap_parquet/dataset/dataset_writer.h"
#include "otap_parquet/engine/node.h"
#include "otap_parquet/engine/registry.h"
#include "otap_parquet/nodes/exporters/parquet/config.h"

/// \file
/// `exporter:parquet`: writes every batch into a partitioned Parquet dataset (one
/// dataset::DatasetWriter per pipeline instance) and Acks a batch once its rows are
/// in published files.

namespace otap_parquet::nodes {

class ParquetExporter : public engine::Exporter {
 public:
  ~ParquetExporter() override;

  static arrow::Result<std::unique_ptr<engine::Node>> Make(
      const engine::NodeSettings& settings, const YAML::Node& config);

  /// \brief Opens the storage (a local base directory is created) and the writer;
  /// starts the age-rule timer (the writer's tick_interval).
  arrow::Status Start(engine::EffectHandler& effect) override;
  /// \brief Writes the batch; its context is Acked when the batch is durable, or
  /// Nacked (permanent for Invalid data, retryable otherwise) when it failed. When
  /// max_pending_batches batches are then pending, publishes every open file
  /// (flush reason "pending").
  arrow::Status Export(engine::PData msg, engine::EffectHandler& effect) override;
  /// \brief False while max_pending_batches batches wait for a flush (only while a
  /// flush of them failed to settle them: reaching the bound flushes at once).
  bool AcceptsPdata() const override;
  /// \brief Applies the age rule (DatasetWriter::Tick).
  arrow::Status OnTimer(engine::Clock::time_point now,
                        engine::EffectHandler& effect) override;
  /// \brief Publishes every open file until `deadline` (DatasetWriter::Close); every
  /// pending context is Acked or Nacked before the returned future completes.
  arrow::Future<> Shutdown(engine::Clock::time_point deadline,
                           engine::EffectHandler& effect) override;

  /// \brief Batches written whose context is not completed yet.
  int64_t pending_batches() const { return *pending_; }

 private:
  ParquetExporter(ParquetExporterNodeConfig config, engine::NodeSettings settings);

  void UpdateMetrics(engine::EffectHandler& effect) const;

  ParquetExporterNodeConfig config_;
  engine::NodeSettings settings_;
  std::shared_ptr<dataset::StorageStats> storage_stats_;
  std::unique_ptr<dataset::DatasetWriter> writer_;
  /// Shared with the completion callbacks (they may outlive a call on this node).
  std::shared_ptr<int64_t> pending_ = std::make_shared<int64_t>(0);
};

extern const engine::NodeFactory kParquetExporterFactory;

}  // namespace otap_parquet::nodes
