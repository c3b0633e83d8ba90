// SPDX-License-Identifier: Apache-2.0
#pragma once

#include <memory>

#include "otap_parquet/engine/node.h"
#include "otap_parquet/engine/registry.h"

/// \file
/// `exporter:noop`: Acks every message and drops it. Takes no configuration.

namespace otap_parquet::nodes {

class NoopExporter : public engine::Exporter {
 public:
  static arrow::Result<std::unique_ptr<engine::Node>> Make(
      const engine::NodeSettings& settings, const YAML::Node& config);

  arrow::Status Export(engine::PData msg, engine::EffectHandler& effect) override;
};

extern const engine::NodeFactory kNoopExporterFactory;

}  // namespace otap_parquet::nodes
