// SPDX-License-Identifier: Apache-2.0
#pragma once

#include <memory>

#include <arrow/result.h>

#include "otap_parquet/engine/node.h"
#include "otap_parquet/engine/registry.h"
#include "otap_parquet/nodes/receivers/otap/arrow_server.h"
#include "otap_parquet/nodes/receivers/otap/config.h"
#include "otap_parquet/nodes/receivers/otlp/ingest_receiver.h"

/// \file
/// `receiver:otap`: OTel Arrow streams (and OTLP Export) feeding the pipeline (see
/// README.md). Shares receiver:otlp's Ingest (admission, Ack/Nack waiting, counters).

namespace otap_parquet::nodes {

class OtapReceiver : public otlp_receiver::IngestReceiver {
 public:
  static arrow::Result<std::unique_ptr<engine::Node>> Make(
      const engine::NodeSettings& settings, const YAML::Node& config);
  ~OtapReceiver() override;

  arrow::Status Start(engine::EffectHandler& effect) override;

  int port() const { return server_ ? server_->port() : 0; }

 private:
  OtapReceiver(OtapReceiverConfig config, engine::NodeSettings settings)
      : IngestReceiver("receiver.otap"),
        config_(std::move(config)),
        settings_(std::move(settings)) {}

  void Publish(engine::EffectHandler& effect) const override;
  void StopServers(std::chrono::system_clock::time_point deadline) override;

  OtapReceiverConfig config_;
  engine::NodeSettings settings_;
  std::unique_ptr<otap_receiver::ArrowServer> server_;
};

extern const engine::NodeFactory kOtapReceiverFactory;

}  // namespace otap_parquet::nodes
