// SPDX-License-Identifier: Apache-2.0
#include "otap_parquet/nodes/exporters/noop/noop_exporter.h"

namespace otap_parquet::nodes {

arrow::Result<std::unique_ptr<engine::Node>> NoopExporter::Make(
    const engine::NodeSettings&, const YAML::Node&) {
  return std::make_unique<NoopExporter>();
}

arrow::Status NoopExporter::Export(engine::PData msg, engine::EffectHandler&) {
  msg.context.Ack();
  return arrow::Status::OK();
}

const engine::NodeFactory kNoopExporterFactory{.urn = "urn:otel:exporter:noop",
                                               .kind = engine::NodeKind::kExporter,
                                               .description = "acks and drops everything",
                                               .validate_config = &engine::NoConfig,
                                               .create = &NoopExporter::Make};

}  // namespace otap_parquet::nodes
