// SPDX-License-Identifier: Apache-2.0
#pragma once

#include <chrono>
#include <memory>
#include <string>

#include <arrow/result.h>

#include "otap_parquet/nodes/receivers/otlp/config.h"
#include "otap_parquet/nodes/receivers/otlp/ingest.h"

/// \file
/// OTLP/HTTP server of `receiver:otlp` (Boost.Beast on Boost.Asio): `POST
/// /v1/{logs,traces,metrics}` with `application/x-protobuf` or `application/json`
/// (OTLP/JSON) bodies, optionally gzip/deflate/br/zstd-encoded; the response is an
/// Export*ServiceResponse, or a google.rpc.Status, in the request's content type.
///
/// One I/O thread serves every connection asynchronously: an idle keep-alive
/// connection, or one waiting for its pipeline outcome (`wait_for_result`), holds no
/// thread. Headers must arrive within a deadline, and everything that can be decided
/// from them (path, method, token, content type and encoding, announced size,
/// concurrency) is answered before the body is read. Decoding and sending into the
/// pipeline run on a small pool of worker threads.

namespace otap_parquet::nodes::otlp_receiver {

using HttpLimits = OtlpHttpLimits;

class HttpServer {
 public:
  /// \brief Binds (SO_REUSEADDR + SO_REUSEPORT, so every pipeline instance binds
  /// the same address) and starts serving on a thread of its own.
  static arrow::Result<std::unique_ptr<HttpServer>> Start(const OtlpHttpConfig& config,
                                                          std::string bearer_token,
                                                          Ingest* ingest);
  ~HttpServer();

  /// \brief Stops accepting, closes connections that have no request in progress and
  /// waits (at most `wait`) for the others to be answered. Blocking; idempotent.
  void Shutdown(std::chrono::milliseconds wait = std::chrono::seconds(60));

  int port() const;

  class Impl;

 private:
  explicit HttpServer(std::unique_ptr<Impl> impl);
  std::unique_ptr<Impl> impl_;
};

/// \brief A google.rpc.Status message (code, message) as protobuf bytes; with
/// `retry_delay_seconds` > 0 it carries a google.rpc.RetryInfo detail.
std::string EncodeRpcStatus(int code, const std::string& message,
                            int retry_delay_seconds = 0);
/// \brief ... and as proto3 JSON (the RetryInfo as `"retryDelay":"<n>s"`).
std::string RpcStatusJson(int code, const std::string& message,
                          int retry_delay_seconds = 0);

}  // namespace otap_parquet::nodes::otlp_receiver
