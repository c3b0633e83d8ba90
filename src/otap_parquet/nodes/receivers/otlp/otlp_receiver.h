// SPDX-License-Identifier: Apache-2.0
#pragma once

#include <memory>
#include <thread>

#include <arrow/result.h>

#include "otap_parquet/engine/node.h"
#include "otap_parquet/engine/registry.h"
#include "otap_parquet/nodes/receivers/otlp/config.h"
#include "otap_parquet/nodes/receivers/otlp/grpc_server.h"
#include "otap_parquet/nodes/receivers/otlp/http_server.h"
#include "otap_parquet/nodes/receivers/otlp/ingest.h"

/// \file
/// `receiver:otlp`: OTLP/gRPC and OTLP/HTTP servers feeding the pipeline (see
/// README.md). The servers run on threads of their own and use only the
/// thread-safe EffectHandler calls; outcomes arrive on the pipeline thread.

namespace otap_parquet::nodes {

class OtlpReceiver : public engine::Receiver {
 public:
  /// How often waiters are checked against their timeout and metrics published.
  static constexpr std::chrono::milliseconds kTick{100};

  static arrow::Result<std::unique_ptr<engine::Node>> Make(
      const engine::NodeSettings& settings, const YAML::Node& config);
  ~OtlpReceiver() override;

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

  int grpc_port() const { return grpc_ ? grpc_->port() : 0; }
  int http_port() const { return http_ ? http_->port() : 0; }

 private:
  OtlpReceiver(OtlpReceiverConfig config, engine::NodeSettings settings)
      : config_(std::move(config)), settings_(std::move(settings)) {}

  void Publish(engine::EffectHandler& effect) const;
  void StopServers(std::chrono::system_clock::time_point deadline);

  OtlpReceiverConfig config_;
  engine::NodeSettings settings_;
  // Declared before the servers: they use it until they are destroyed.
  std::unique_ptr<otlp_receiver::Ingest> ingest_;
  std::unique_ptr<otlp_receiver::GrpcServer> grpc_;
  std::unique_ptr<otlp_receiver::HttpServer> http_;
  std::thread stopper_;  ///< stops the servers off the pipeline thread
};

extern const engine::NodeFactory kOtlpReceiverFactory;

}  // namespace otap_parquet::nodes
