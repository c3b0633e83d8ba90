// SPDX-License-Identifier: Apache-2.0
#pragma once

#include <memory>
#include <string>

#include "otap_parquet/config/config_reader.h"
#include "otap_parquet/engine/node.h"
#include "otap_parquet/engine/registry.h"
#include "otap_parquet/nodes/common/text_sink.h"

/// \file
/// `exporter:console`: prints each batch to stdout, then Acks it.

namespace otap_parquet::nodes {

struct ConsoleExporterConfig {
  /// `pretty`: one summary line per batch; `otlp_json` (otap-parquet): the batch as
  /// one line of OTLP/JSON.
  enum class Format { kPretty, kOtlpJson, kRecordJson };
  Format format = Format::kPretty;

  static ConsoleExporterConfig Read(config::ConfigReader& reader);
};

class ConsoleExporter : public engine::Exporter {
 public:
  static arrow::Result<std::unique_ptr<engine::Node>> Make(
      const engine::NodeSettings& settings, const YAML::Node& config);

  arrow::Status Start(engine::EffectHandler& effect) override;
  /// \brief Prints, then Acks even when printing failed (as upstream).
  arrow::Status Export(engine::PData msg, engine::EffectHandler& effect) override;

 private:
  explicit ConsoleExporter(ConsoleExporterConfig config) : config_(std::move(config)) {}

  ConsoleExporterConfig config_;
  std::shared_ptr<TextSink> sink_;
};

extern const engine::NodeFactory kConsoleExporterFactory;

}  // namespace otap_parquet::nodes
