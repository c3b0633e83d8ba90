// SPDX-License-Identifier: Apache-2.0
#pragma once

#include <memory>
#include <mutex>
#include <string>
#include <thread>

#include <arrow/result.h>

#include "otap_parquet/nodes/receivers/otlp/config.h"
#include "otap_parquet/nodes/receivers/otlp/ingest.h"

namespace httplib {
class Server;
}

/// \file
/// OTLP/HTTP server of `receiver:otlp` (cpp-httplib): `POST /v1/{logs,traces,metrics}`
/// with `application/x-protobuf` or `application/json` (OTLP/JSON) bodies,
/// optionally gzip/deflate-encoded; the response is an Export*ServiceResponse, or
/// a google.rpc.Status, in the request's content type.

namespace otap_parquet::nodes::otlp_receiver {

class HttpServer {
 public:
  /// \brief Binds (SO_REUSEADDR + SO_REUSEPORT, so every pipeline instance binds
  /// the same address) and starts serving on a thread of its own.
  static arrow::Result<std::unique_ptr<HttpServer>> Start(const OtlpHttpConfig& config,
                                                          std::string bearer_token,
                                                          Ingest* ingest);
  ~HttpServer();

  /// \brief Closes the listening socket and waits for running requests. Blocking;
  /// idempotent.
  void Shutdown();

  int port() const { return port_; }

 private:
  HttpServer() = default;
  void Route();

  OtlpHttpConfig config_;
  std::string bearer_token_;
  Ingest* ingest_ = nullptr;
  IngestOptions options_;
  std::unique_ptr<httplib::Server> server_;
  std::thread thread_;
  int port_ = 0;
  std::once_flag shutdown_once_;
};

/// \brief A google.rpc.Status message (code, message) as protobuf bytes.
std::string EncodeRpcStatus(int code, const std::string& message);
/// \brief ... and as JSON.
std::string RpcStatusJson(int code, const std::string& message);

}  // namespace otap_parquet::nodes::otlp_receiver
