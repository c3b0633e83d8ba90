// SPDX-License-Identifier: Apache-2.0
#pragma once

#include <memory>
#include <thread>

#include <arrow/result.h>

#include "otap_parquet/engine/node.h"
#include "otap_parquet/engine/registry.h"
#include "otap_parquet/nodes/receivers/otap/arrow_server.h"
#include "otap_parquet/nodes/receivers/otap/config.h"
#include "otap_parquet/nodes/receivers/otlp/ingest.h"

/// \file
/// `receiver:otap`: OTel Arrow streams (and OTLP Export) feeding the pipeline (see
/// README.md). Shares receiver:otlp's Ingest (admission, Ack/Nack waiting, counters).

namespace otap_parquet::nodes {

class OtapReceiver : public engine::Receiver {
 public:
  static constexpr std::chrono::milliseconds kTick{100};

  static arrow::Result<std::unique_ptr<engine::Node>> Make(
      const engine::NodeSettings& settings, const YAML::Node& config);
  ~OtapReceiver() override;

  arrow::Status Start(engine::EffectHandler& effect) override;
  arrow::Status OnTimer(engine::Clock::time_point now,
                        engine::EffectHandler& effect) override;
  void Drain(engine::EffectHandler& effect) override;
  bool drained() const override;
  void OnAck(uint64_t calldata, engine::AckContext rest,
             engine::EffectHandler& effect) override;
  void OnNack(uint64_t calldata, const engine::NackInfo& nack, engine::AckContext rest,
              engine::EffectHandler& effect) override;
  arrow::Future<> Shutdown(engine::Clock::time_point deadline,
                           engine::EffectHandler& effect) override;

  int port() const { return server_ ? server_->port() : 0; }

 private:
  OtapReceiver(OtapReceiverConfig config, engine::NodeSettings settings)
      : config_(std::move(config)), settings_(std::move(settings)) {}

  void Publish(engine::EffectHandler& effect) const;

  OtapReceiverConfig config_;
  engine::NodeSettings settings_;
  std::unique_ptr<otlp_receiver::Ingest> ingest_;  // before the server: it uses it
  std::unique_ptr<otap_receiver::ArrowServer> server_;
  std::thread stopper_;
};

extern const engine::NodeFactory kOtapReceiverFactory;

}  // namespace otap_parquet::nodes
