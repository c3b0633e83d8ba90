// SPDX-License-Identifier: Apache-2.0
#pragma once

#include <memory>

#include <arrow/result.h>

#include "otap_parquet/engine/node.h"
#include "otap_parquet/engine/registry.h"
#include "otap_parquet/nodes/receivers/otlp/config.h"
#include "otap_parquet/nodes/receivers/otlp/grpc_server.h"
#include "otap_parquet/nodes/receivers/otlp/http_server.h"
#include "otap_parquet/nodes/receivers/otlp/ingest_receiver.h"

/// \file
/// `receiver:otlp`: OTLP/gRPC and OTLP/HTTP servers feeding the pipeline (see
/// README.md). The servers run on threads of their own and use only the
/// thread-safe EffectHandler calls; outcomes arrive on the pipeline thread.

namespace otap_parquet::nodes {

class OtlpReceiver : public otlp_receiver::IngestReceiver {
 public:
  static arrow::Result<std::unique_ptr<engine::Node>> Make(
      const engine::NodeSettings& settings, const YAML::Node& config);
  ~OtlpReceiver() override;

  arrow::Status Start(engine::EffectHandler& effect) override;

  int grpc_port() const { return grpc_ ? grpc_->port() : 0; }
  int http_port() const { return http_ ? http_->port() : 0; }

 private:
  OtlpReceiver(OtlpReceiverConfig config, engine::NodeSettings settings)
      : IngestReceiver("receiver.otlp"),
        config_(std::move(config)),
        settings_(std::move(settings)) {}

  void Publish(engine::EffectHandler& effect) const override;
  void StopServers(std::chrono::system_clock::time_point deadline) override;

  OtlpReceiverConfig config_;
  engine::NodeSettings settings_;
  std::unique_ptr<otlp_receiver::GrpcServer> grpc_;
  std::unique_ptr<otlp_receiver::HttpServer> http_;
};

extern const engine::NodeFactory kOtlpReceiverFactory;

}  // namespace otap_parquet::nodes
