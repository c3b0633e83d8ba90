// SPDX-License-Identifier: Apache-2.0
#pragma once

#include <chrono>
#include <memory>
#include <mutex>
#include <string>

#include <arrow/result.h>
#include <grpcpp/generic/async_generic_service.h>
#include <grpcpp/server.h>

#include "otap_parquet/nodes/receivers/otlp/config.h"
#include "otap_parquet/nodes/receivers/otlp/ingest.h"

/// \file
/// OTLP/gRPC server of `receiver:otlp`: the three collector services'
/// `Export` methods on a callback generic service, so requests are decoded by us
/// (malformed → INVALID_ARGUMENT) and a request waiting for its outcome holds no
/// thread.

namespace otap_parquet::nodes::otlp_receiver {

class GrpcServer {
 public:
  /// \brief Binds and starts serving (SO_REUSEPORT is gRPC's default, so every
  /// pipeline instance binds the same address).
  static arrow::Result<std::unique_ptr<GrpcServer>> Start(const OtlpGrpcConfig& config,
                                                          std::string bearer_token,
                                                          Ingest* ingest);
  ~GrpcServer();

  /// \brief Stops accepting calls; waits for running calls until `deadline`, then
  /// cancels them. Blocking; idempotent.
  void Shutdown(std::chrono::system_clock::time_point deadline);

  int port() const { return port_; }

  // Used by the per-call reactor.
  Ingest* ingest() const { return ingest_; }
  const IngestOptions& options() const { return options_; }
  const std::string& bearer_token() const { return bearer_token_; }

 private:
  class Service;

  GrpcServer() = default;

  Ingest* ingest_ = nullptr;
  IngestOptions options_;
  std::string bearer_token_;
  std::unique_ptr<Service> service_;
  std::unique_ptr<grpc::Server> server_;
  int port_ = 0;
  std::once_flag shutdown_once_;
};

}  // namespace otap_parquet::nodes::otlp_receiver
