// SPDX-License-Identifier: Apache-2.0
#include "otap_parquet/nodes/exporters/console/console_exporter.h"

#include <fmt/format.h>

#include "otap_parquet/nodes/common/batch_text.h"

namespace otap_parquet::nodes {

ConsoleExporterConfig ConsoleExporterConfig::Read(config::ConfigReader& reader) {
  ConsoleExporterConfig c;
  c.format = reader.Enum("format",
                         {{"pretty", Format::kPretty},
                          {"otlp_json", Format::kOtlpJson},
                          {"record_json", Format::kRecordJson}},
                         c.format);
  if (c.format == Format::kRecordJson) {
    reader.Error("format", "record_json is not supported yet; use pretty or otlp_json");
  }
  // Rendering options of upstream's pretty printer; accepted, not applied.
  for (auto key : {"color", "unicode", "pretty", "record_json"}) reader.Ignore(key);
  return c;
}

arrow::Result<std::unique_ptr<engine::Node>> ConsoleExporter::Make(
    const engine::NodeSettings& settings, const YAML::Node& config) {
  ARROW_ASSIGN_OR_RAISE(
      auto c, config::ParseTyped<ConsoleExporterConfig>(config, settings.config_path));
  return std::unique_ptr<engine::Node>(new ConsoleExporter(std::move(c)));
}

arrow::Status ConsoleExporter::Start(engine::EffectHandler&) {
  ARROW_ASSIGN_OR_RAISE(sink_, TextSink::Open(""));
  return arrow::Status::OK();
}

arrow::Status ConsoleExporter::Export(engine::PData msg, engine::EffectHandler& effect) {
  if (config_.format == ConsoleExporterConfig::Format::kOtlpJson) {
    auto json = BatchToOtlpJson(msg.batch);
    if (json.ok()) {
      sink_->WriteLine(*json);
    } else {
      effect.metrics().errors++;
    }
  } else {
    sink_->WriteLine(fmt::format("{} core={} {}: {}", effect.node_id(), effect.core(),
                                 SignalName(msg.signal()), SummarizeBatch(msg.batch)));
  }
  msg.context.Ack();
  return arrow::Status::OK();
}

const engine::NodeFactory kConsoleExporterFactory{
    .urn = "urn:otel:exporter:console",
    .kind = engine::NodeKind::kExporter,
    .description = "prints batches (summary or OTLP/JSON) to stdout",
    .validate_config = &config::ValidateTyped<ConsoleExporterConfig>,
    .create = &ConsoleExporter::Make};

}  // namespace otap_parquet::nodes
