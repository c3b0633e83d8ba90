// SPDX-License-Identifier: Apache-2.0
#include "otap_parquet/nodes/receivers/otlp/grpc_server.h"

#include <algorithm>
#include <atomic>
#include <fstream>
#include <sstream>
#include <utility>

#include <grpcpp/security/server_credentials.h>
#include <grpcpp/server_builder.h>
#include <grpcpp/support/byte_buffer.h>

#include "otap_parquet/nodes/receivers/otlp/http_server.h"
#include "otap_parquet/nodes/receivers/otlp/request_arena.h"
#include "otap_parquet/otap_wire/bar_decoder.h"
#include "otap_parquet/util/inflate.h"

namespace grpc::internal {

/// The access to a ByteBuffer's C buffer that byte_buffer.h grants this class
/// (declared there, defined nowhere in gRPC's libraries): the one place that tells
/// whether a received message was compressed, and how.
class GrpcByteBufferPeer {
 public:
  explicit GrpcByteBufferPeer(ByteBuffer* buffer) : buffer_(buffer) {}
  grpc_byte_buffer* c_buffer() { return buffer_->c_buffer(); }

 private:
  ByteBuffer* buffer_;
};

}  // namespace grpc::internal

namespace otap_parquet::nodes::otlp_receiver {

namespace {

constexpr std::string_view kLogsMethod =
    "/opentelemetry.proto.collector.logs.v1.LogsService/Export";
constexpr std::string_view kTracesMethod =
    "/opentelemetry.proto.collector.trace.v1.TraceService/Export";
constexpr std::string_view kMetricsMethod =
    "/opentelemetry.proto.collector.metrics.v1.MetricsService/Export";

// Back-off suggested to clients refused for load (google.rpc.RetryInfo).
constexpr int kRetryDelaySeconds = 1;

grpc::StatusCode CodeOf(Outcome outcome) {
  switch (outcome) {
    case Outcome::kOk:
      return grpc::StatusCode::OK;
    case Outcome::kInvalid:
      return grpc::StatusCode::INVALID_ARGUMENT;
    case Outcome::kTooLarge:
    case Outcome::kExhausted:
    case Outcome::kMemoryLimit:
      return grpc::StatusCode::RESOURCE_EXHAUSTED;
    case Outcome::kUnsupported:
    case Outcome::kNotFound:
      return grpc::StatusCode::UNIMPLEMENTED;
    case Outcome::kUnauthenticated:
      return grpc::StatusCode::UNAUTHENTICATED;
    case Outcome::kUnavailable:
      return grpc::StatusCode::UNAVAILABLE;
    case Outcome::kTimeout:
      return grpc::StatusCode::DEADLINE_EXCEEDED;
  }
  return grpc::StatusCode::INTERNAL;
}

arrow::Result<std::string> ReadFile(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) return arrow::Status::IOError("cannot read ", path);
  std::ostringstream text;
  text << in.rdbuf();
  return text.str();
}

// A request message of at most `max_size` bytes once decompressed (CapacityError
// as soon as it would exceed them).
arrow::Result<std::string> Decompress(grpc_compression_algorithm compression,
                                      std::string_view body, int64_t max_size) {
  if (compression == GRPC_COMPRESS_NONE) return otap_wire::DecompressZstd(body, max_size);
  if (compression != GRPC_COMPRESS_GZIP && compression != GRPC_COMPRESS_DEFLATE) {
    return arrow::Status::Invalid("compression algorithm ", static_cast<int>(compression),
                                  " is not supported");
  }
  const bool gzip = compression == GRPC_COMPRESS_GZIP;
  auto r = util::Inflate(body, static_cast<size_t>(max_size),
                         gzip ? util::DeflateFormat::kGzip : util::DeflateFormat::kZlib);
  if (r.status().IsCapacityError()) {
    // Worded as the zstd decoder words it.
    return arrow::Status::CapacityError(
        gzip ? "gzip" : "deflate",
        "-compressed message decompresses to more than the maximum message size (",
        max_size, " bytes)");
  }
  return r;
}

/// One Export call. Deletes itself when gRPC is done with it.
class ExportReactor : public grpc::ServerGenericBidiReactor {
 public:
  ExportReactor(const ExportEndpoint* server, grpc::GenericCallbackServerContext* context)
      : server_(server) {
    const std::string& method = context->method();
    if (method == kLogsMethod) {
      signal_ = Signal::kLogs;
    } else if (method == kTracesMethod) {
      signal_ = Signal::kTraces;
    } else if (method == kMetricsMethod) {
      signal_ = Signal::kMetrics;
    } else {
      server_->ingest->CountRejected(Protocol::kGrpc, Outcome::kNotFound);
      Answer({Outcome::kNotFound, "unknown method " + method});
      return;
    }
    if (!server_->bearer_token.empty()) {
      const auto& metadata = context->client_metadata();
      auto it = metadata.find("authorization");
      if (it == metadata.end() ||
          !BearerTokenMatches(std::string_view(it->second.data(), it->second.size()),
                              server_->bearer_token)) {
        server_->ingest->CountRejected(Protocol::kGrpc, Outcome::kUnauthenticated);
        Answer({Outcome::kUnauthenticated,
                "missing or invalid \"authorization: Bearer <token>\" metadata"});
        return;
      }
    }
    StartRead(&request_);
  }

  void OnReadDone(bool ok) override {
    if (!ok) {
      // gRPC refused the message itself (too large, unknown encoding: the call
      // already carries that status) or the client sent none. Not counted: we
      // cannot tell which.
      Answer({Outcome::kInvalid, "no request message received"});
      return;
    }
    const int64_t bytes = static_cast<int64_t>(request_.Length());
    // Reserved before anything is decoded, held until the answer: with
    // wait_for_result the converted request stays in the pipeline until then.
    const int64_t limit = server_->request_limit_bytes;
    if (limit > 0) {
      bytes_ = InFlightBytes::Take(server_->ingest, server_->budget, bytes, limit);
      if (!bytes_) {
        request_.Clear();
        RefuseForMemory();
        return;
      }
    }
    // The decoders read contiguous bytes: one slice, or the slices copied into one.
    grpc::Slice slice;
    const bool whole =
        request_.TrySingleSlice(&slice).ok() || request_.DumpToSingleSlice(&slice).ok();
    const grpc_compression_algorithm compression = ReceivedCompression(&request_);
    request_.Clear();
    RequestArena arena;  // holds a parsed request until Submit has converted it
    Convert convert;
    std::string_view body(reinterpret_cast<const char*>(slice.begin()), slice.size());
    std::string inflated;
    // Decompressed here, not by gRPC (which would inflate a whole message before
    // checking its size): gzip and deflate as gRPC flagged the message, zstd by its
    // magic (gRPC C++ passes it through unflagged; an Export request never starts
    // with it: its first tag is 0x0a).
    const char* encoding = nullptr;
    if (compression == GRPC_COMPRESS_GZIP) {
      encoding = "gzip";
    } else if (compression == GRPC_COMPRESS_DEFLATE) {
      encoding = "deflate";
    } else if (compression != GRPC_COMPRESS_NONE) {
      encoding = "unknown";
    } else if (server_->zstd && otap_wire::IsZstdFrame(body)) {
      encoding = "zstd";
    }
    if (whole && encoding != nullptr) {
      auto r = Decompress(compression, body, server_->max_message_size);
      if (!r.ok()) {
        const Outcome outcome =
            r.status().IsCapacityError() ? Outcome::kTooLarge : Outcome::kInvalid;
        server_->ingest->CountRejected(Protocol::kGrpc, outcome);
        Answer({outcome, std::string(encoding) + " request: " + r.status().message()});
        return;
      }
      inflated = std::move(*r);
      body = inflated;
      if (bytes_ && !bytes_->TryGrowTo(static_cast<int64_t>(inflated.size()), limit)) {
        RefuseForMemory();
        return;
      }
    }
    if (whole) convert = DecodeRequest(signal_, body, &arena);
    if (!convert) {
      server_->ingest->CountRejected(Protocol::kGrpc, Outcome::kInvalid);
      Answer({Outcome::kInvalid,
              "malformed protobuf: cannot parse the " + std::string(SignalName(signal_)) +
                  " export request (" + std::to_string(bytes) + " bytes)"});
      return;
    }
    // The reply may finish the call (and OnDone run) before Submit returns: hold a
    // reference until key_ is stored.
    refs_++;
    const uint64_t key = server_->ingest->Submit(
        Protocol::kGrpc, signal_, bytes, convert, server_->options,
        [this](IngestResult result) { Answer(result); });
    key_.store(key);
    // A cancel during Submit found no key: answer the waiter here (Cancel answers
    // once, whichever of the two gets it).
    if (cancelled_.load()) CancelWaiter(key);
    Unref();
  }

  void OnCancel() override {
    // The client went away (or its deadline passed), or the server shuts down:
    // a call must still be finished. Flag first: OnReadDone checks it after
    // storing key_.
    cancelled_.store(true);
    CancelWaiter(key_.load());
    server_->test_hook("cancelled");
  }

  void OnDone() override { Unref(); }

 private:
  void Unref() {
    if (--refs_ == 0) delete this;
  }

  void CancelWaiter(uint64_t key) {
    server_->ingest->Cancel(key, {Outcome::kUnavailable, "call cancelled"});
  }

  void RefuseForMemory() {
    server_->ingest->CountRejected(Protocol::kGrpc, Outcome::kMemoryLimit);
    Answer({Outcome::kMemoryLimit,
            "requests in flight hold the receiver's memory limit "
            "(admission.request_limit_mib=" +
                std::to_string(server_->request_limit_bytes >> 20) + "); retry later"});
  }

  void Answer(const IngestResult& result) {
    if (answered_.exchange(true)) return;
    bytes_.reset();
    if (result.ok()) {
      // An empty Export*ServiceResponse (no partial_success) is zero bytes.
      grpc::Slice empty;
      response_ = grpc::ByteBuffer(&empty, 1);
      StartWriteAndFinish(&response_, grpc::WriteOptions(), grpc::Status::OK);
    } else if (result.outcome == Outcome::kExhausted ||
               result.outcome == Outcome::kMemoryLimit ||
               result.outcome == Outcome::kUnavailable) {
      // OTLP: RESOURCE_EXHAUSTED is retried only with a RetryInfo detail (the OTLP
      // specification, Go's otlpexporter); it also tells UNAVAILABLE's retries how
      // long to back off.
      const grpc::StatusCode code = CodeOf(result.outcome);
      Finish(grpc::Status(
          code, result.message,
          EncodeRpcStatus(static_cast<int>(code), result.message, kRetryDelaySeconds)));
    } else {
      Finish(grpc::Status(CodeOf(result.outcome), result.message));
    }
  }

  const ExportEndpoint* server_;
  Signal signal_ = Signal::kLogs;
  grpc::ByteBuffer request_;
  grpc::ByteBuffer response_;
  std::atomic<bool> answered_{false};
  /// This call's share of request_limit_bytes; given back by Answer.
  std::optional<InFlightBytes> bytes_;
  std::atomic<uint64_t> key_{0};
  std::atomic<bool> cancelled_{false};
  std::atomic<int> refs_{1};  ///< gRPC's (until OnDone) + OnReadDone's
};

}  // namespace

grpc_compression_algorithm ReceivedCompression(grpc::ByteBuffer* message) {
  grpc_byte_buffer* buffer = grpc::internal::GrpcByteBufferPeer(message).c_buffer();
  // gRPC sets it to the call's grpc-encoding for a message whose compressed flag is
  // set, and leaves it NONE otherwise (a client may send some messages of a
  // compressed call uncompressed).
  if (buffer == nullptr || buffer->type != GRPC_BB_RAW) return GRPC_COMPRESS_NONE;
  return buffer->data.raw.compression;
}

void DisableMessageDecompression(grpc::ServerBuilder* builder) {
  builder->AddChannelArgument(GRPC_ARG_ENABLE_PER_MESSAGE_DECOMPRESSION, 0);
}

grpc::ServerGenericBidiReactor* NewExportReactor(
    const ExportEndpoint* endpoint, grpc::GenericCallbackServerContext* context) {
  return new ExportReactor(endpoint, context);
}

arrow::Result<std::shared_ptr<grpc::ServerCredentials>> MakeServerCredentials(
    const std::optional<OtlpTlsConfig>& tls) {
  if (!tls) return grpc::InsecureServerCredentials();
  grpc::SslServerCredentialsOptions ssl(
      tls->mtls() ? GRPC_SSL_REQUEST_AND_REQUIRE_CLIENT_CERTIFICATE_AND_VERIFY
                  : GRPC_SSL_DONT_REQUEST_CLIENT_CERTIFICATE);
  grpc::SslServerCredentialsOptions::PemKeyCertPair pair;
  pair.private_key = tls->key_pem;
  pair.cert_chain = tls->cert_pem;
  if (pair.private_key.empty()) {
    ARROW_ASSIGN_OR_RAISE(pair.private_key, ReadFile(tls->key_file));
  }
  if (pair.cert_chain.empty()) {
    ARROW_ASSIGN_OR_RAISE(pair.cert_chain, ReadFile(tls->cert_file));
  }
  ssl.pem_key_cert_pairs.push_back(std::move(pair));
  if (tls->mtls()) {
    ssl.pem_root_certs = tls->client_ca_pem;
    if (ssl.pem_root_certs.empty()) {
      ARROW_ASSIGN_OR_RAISE(ssl.pem_root_certs, ReadFile(tls->client_ca_file));
    }
  }
  return grpc::SslServerCredentials(ssl);
}

class GrpcServer::Service : public grpc::CallbackGenericService {
 public:
  explicit Service(GrpcServer* server) : server_(server) {}
  grpc::ServerGenericBidiReactor* CreateReactor(
      grpc::GenericCallbackServerContext* context) override {
    return NewExportReactor(&server_->endpoint(), context);
  }

 private:
  GrpcServer* server_;
};

arrow::Result<std::unique_ptr<GrpcServer>> GrpcServer::Start(const OtlpGrpcConfig& config,
                                                             std::string bearer_token,
                                                             Ingest* ingest) {
  std::unique_ptr<GrpcServer> server(new GrpcServer());
  ExportEndpoint& endpoint = server->endpoint_;
  endpoint.ingest = ingest;
  endpoint.bearer_token = std::move(bearer_token);
  endpoint.options.wait_for_result = config.wait_for_result;
  if (config.timeout) endpoint.options.timeout = *config.timeout;
  endpoint.options.max_concurrent_requests = config.max_concurrent_requests;
  endpoint.zstd = config.Accepts(OtlpCompression::kZstd);
  endpoint.max_message_size = config.max_decoding_message_size;
  endpoint.request_limit_bytes = config.RequestLimitBytes();
  server->service_ = std::make_unique<Service>(server.get());
  ARROW_ASSIGN_OR_RAISE(auto credentials, MakeServerCredentials(config.tls));

  ARROW_ASSIGN_OR_RAISE(server->claim_,
                        ListenClaim::Acquire(config.listening_addr, "OTLP/gRPC"));
  grpc::ServerBuilder builder;
  const std::string address = config.listening_addr.ToString();
  builder.AddListeningPort(address, credentials, &server->port_);
  builder.RegisterCallbackGenericService(server->service_.get());
  builder.SetMaxReceiveMessageSize(static_cast<int>(config.max_decoding_message_size));
  // SO_REUSEPORT (gRPC's default on Linux): one server per pipeline instance.
  builder.AddChannelArgument(GRPC_ARG_ALLOW_REUSEPORT, 1);
  // gzip/deflate methods not listed are still refused by gRPC (UNIMPLEMENTED).
  DisableMessageDecompression(&builder);
  builder.SetCompressionAlgorithmSupportStatus(GRPC_COMPRESS_GZIP,
                                               config.Accepts(OtlpCompression::kGzip));
  builder.SetCompressionAlgorithmSupportStatus(GRPC_COMPRESS_DEFLATE,
                                               config.Accepts(OtlpCompression::kDeflate));
  if (config.response_compression == OtlpCompression::kGzip) {
    builder.SetDefaultCompressionAlgorithm(GRPC_COMPRESS_GZIP);
  } else if (config.response_compression == OtlpCompression::kDeflate) {
    builder.SetDefaultCompressionAlgorithm(GRPC_COMPRESS_DEFLATE);
  }
  server->server_ = builder.BuildAndStart();
  if (!server->server_ || server->port_ == 0) {
    return arrow::Status::IOError("cannot listen for OTLP/gRPC on ", address,
                                  " (address in use or not local?)");
  }
  return server;
}

void GrpcServer::Shutdown(std::chrono::system_clock::time_point deadline) {
  std::call_once(shutdown_once_, [&] {
    if (server_) {
      server_->Shutdown(deadline);
      server_->Wait();
    }
  });
}

GrpcServer::~GrpcServer() { Shutdown(std::chrono::system_clock::now()); }

}  // namespace otap_parquet::nodes::otlp_receiver
