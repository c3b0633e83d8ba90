// SPDX-License-Identifier: Apache-2.0
#pragma once

#include <array>
#include <memory>
#include <string>

#include <arrow/result.h>

#include "otap_parquet/config/config_reader.h"
#include "otap_parquet/engine/node.h"
#include "otap_parquet/engine/registry.h"
#include "otap_parquet/nodes/common/text_sink.h"

/// \file
/// `processor:debug`: prints what passes through, forwards it unchanged.

namespace otap_parquet::nodes {

struct DebugProcessorConfig {
  /// `basic`: one line of counts per batch; `normal`: plus rows per OTAP table;
  /// `detailed`: plus the batch's content as OTLP JSON.
  enum class Verbosity { kBasic, kNormal, kDetailed };
  Verbosity verbosity = Verbosity::kNormal;
  /// `batch`: detailed prints the whole batch as OTLP/JSON. `signal`: normal and
  /// detailed add one line per log record, span or metric (ItemsToOtlpJson with
  /// ItemFields::kSummary / kAll) instead; basic prints counts in either mode.
  enum class Mode { kBatch, kSignal };
  Mode mode = Mode::kBatch;
  /// Signals printed (others pass silently): logs, metrics, spans (or traces).
  std::array<bool, 3> signals{true, true, true};
  /// Empty = stdout, else a file appended to.
  std::string output;

  static DebugProcessorConfig Read(config::ConfigReader& reader);
};

class DebugProcessor : public engine::Processor {
 public:
  static arrow::Result<std::unique_ptr<engine::Node>> Make(
      const engine::NodeSettings& settings, const YAML::Node& config);

  arrow::Status Start(engine::EffectHandler& effect) override;
  arrow::Status Process(engine::PData msg, engine::EffectHandler& effect) override;
  arrow::Future<> Shutdown(engine::Clock::time_point deadline,
                           engine::EffectHandler& effect) override;

 private:
  DebugProcessor(DebugProcessorConfig config, std::string pipeline)
      : config_(std::move(config)), pipeline_(std::move(pipeline)) {}

  DebugProcessorConfig config_;
  std::string pipeline_;
  std::shared_ptr<TextSink> sink_;
  std::array<int64_t, 3> batches_{};
  std::array<int64_t, 3> items_{};
};

extern const engine::NodeFactory kDebugProcessorFactory;

}  // namespace otap_parquet::nodes
