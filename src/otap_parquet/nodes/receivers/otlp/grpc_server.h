// SPDX-License-Identifier: Apache-2.0
#pragma once

#include <chrono>
#include <functional>
#include <memory>
#include <mutex>
#include <string>
#include <string_view>

#include <optional>

#include <arrow/result.h>
#include <grpcpp/generic/async_generic_service.h>
#include <grpcpp/security/server_credentials.h>
#include <grpcpp/server.h>
#include <grpcpp/server_builder.h>
#include <grpcpp/support/byte_buffer.h>

#include "otap_parquet/nodes/receivers/otlp/config.h"
#include "otap_parquet/nodes/receivers/otlp/ingest.h"
#include "otap_parquet/nodes/receivers/otlp/listen_claim.h"
#include "otap_parquet/util/test_hook.h"

/// \file
/// OTLP/gRPC server of `receiver:otlp`: the three collector services'
/// `Export` methods on a callback generic service, so requests are decoded by us
/// (malformed → INVALID_ARGUMENT) and a request waiting for its outcome holds no
/// thread.

namespace otap_parquet::nodes::otlp_receiver {

/// \brief What an OTLP `Export` call needs; shared with receiver:otap, which
/// serves the same methods on its port.
struct ExportEndpoint {
  Ingest* ingest = nullptr;
  IngestOptions options;
  std::string bearer_token;  ///< empty = no auth
  /// Decompress zstd messages ourselves (gRPC C++ passes them through undecoded),
  /// bounded by max_message_size, as gzip and deflate ones always are (gRPC refuses
  /// the calls of those not accepted).
  bool zstd = false;
  int64_t max_message_size = 4 << 20;
  /// Bytes of messages (decompressed) between their arrival and their answer, all
  /// calls of the endpoint plus whatever else holds `budget`'s; 0 = no limit.
  int64_t request_limit_bytes = 0;
  /// Whose in-flight bytes (IngestCounters::in_flight_bytes) the calls hold:
  /// receiver:otap's Export calls hold its Arrow streams' (one budget per receiver).
  Protocol budget = Protocol::kGrpc;
  /// For tests: called at named points of a call ("cancelled": OnCancel is done).
  util::TestHook test_hook;
};

/// \brief A reactor answering one OTLP `Export` call (any other method: UNIMPLEMENTED).
/// Deletes itself when gRPC is done with it; `endpoint` must outlive it.
grpc::ServerGenericBidiReactor* NewExportReactor(
    const ExportEndpoint* endpoint, grpc::GenericCallbackServerContext* context);

/// \brief How gRPC says a received message is compressed: GRPC_COMPRESS_GZIP or
/// _DEFLATE (the call's `grpc-encoding`, for a message whose compressed flag is set;
/// with DisableMessageDecompression it arrives as sent), else NONE. gRPC strips
/// `grpc-encoding` from the metadata a server sees, and does not know zstd (such
/// messages arrive unflagged).
grpc_compression_algorithm ReceivedCompression(grpc::ByteBuffer* message);

/// \brief Makes a server hand over gzip/deflate messages as sent: gRPC would
/// inflate a whole message before checking max_decoding_message_size (a 1 MiB
/// message can inflate to 1 GiB), so the receivers inflate them with a bound.
/// Responses are still compressed as configured.
void DisableMessageDecompression(grpc::ServerBuilder* builder);

/// \brief Server credentials: TLS (mTLS with a client CA) or insecure.
arrow::Result<std::shared_ptr<grpc::ServerCredentials>> MakeServerCredentials(
    const std::optional<OtlpTlsConfig>& tls);

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

  const ExportEndpoint& endpoint() const { return endpoint_; }

 private:
  class Service;

  GrpcServer() = default;

  std::shared_ptr<ListenClaim> claim_;  // first: released after the server closed
  ExportEndpoint endpoint_;
  std::unique_ptr<Service> service_;
  std::unique_ptr<grpc::Server> server_;
  int port_ = 0;
  std::once_flag shutdown_once_;
};

}  // namespace otap_parquet::nodes::otlp_receiver
