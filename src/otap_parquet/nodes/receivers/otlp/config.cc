// SPDX-License-Identifier: Apache-2.0
#include "otap_parquet/nodes/receivers/otlp/config.h"

#include <algorithm>
#include <string_view>

#include <fmt/format.h>

namespace otap_parquet::nodes {

namespace {

// Upstream transport tuning keys of the gRPC server: accepted, not applied (gRPC's
// defaults are used). The HTTP server applies its tcp_* keys.
constexpr std::string_view kGrpcTuningKeys[] = {"max_concurrent_streams",
                                                "transport_concurrency_limit",
                                                "load_shed",
                                                "tcp_nodelay",
                                                "tcp_keepalive",
                                                "tcp_keepalive_interval",
                                                "tcp_keepalive_retries",
                                                "initial_stream_window_size",
                                                "initial_connection_window_size",
                                                "http2_adaptive_window",
                                                "max_frame_size",
                                                "http2_keepalive_interval",
                                                "http2_keepalive_timeout"};

// receiver:otap's default admission.request_limit_mib.
constexpr int64_t kDefaultRequestLimitBytes = int64_t{128} << 20;

// `admission` of a protocol block (receiver:otap's keys): `request_limit_mib`, which
// must hold one request of `max_size` (the `max_key` limit); 0 when absent.
int64_t ReadRequestLimit(config::ConfigReader& reader, int64_t max_size,
                         std::string_view max_key) {
  if (!reader.Has("admission")) return 0;
  int64_t limit = 0;
  config::ConfigReader admission = reader.Child("admission");
  // Nothing waits for admission: a request over the limit is refused.
  admission.Ignore("waiting_limit_mib");
  if (auto v = admission.Int("request_limit_mib", 1, 1 << 20)) {
    limit = *v << 20;
    if (limit < max_size) {
      admission.Error("request_limit_mib",
                      fmt::format("must hold at least one request of {}", max_key));
    }
  }
  admission.Finish();
  return limit;
}

// The configured limit, else the default raised to two requests of `max_size`.
int64_t EffectiveRequestLimit(int64_t configured, int64_t max_size) {
  if (configured > 0) return configured;
  return std::max(kDefaultRequestLimitBytes, 2 * max_size);
}

}  // namespace

bool OtlpGrpcConfig::Accepts(OtlpCompression method) const {
  return std::find(request_compression.begin(), request_compression.end(), method) !=
         request_compression.end();
}

OtlpGrpcConfig OtlpGrpcConfig::Read(config::ConfigReader& reader) {
  OtlpGrpcConfig c;
  for (auto key : kGrpcTuningKeys) reader.Ignore(key);
  c.listening_addr = ReadListenAddress(reader);
  // Options upstream: null = the default (all methods accepted; none sent).
  reader.AllowNull({"request_compression", "response_compression"});
  if (auto v = ReadMaxDecodingMessageSize(reader)) c.max_decoding_message_size = *v;
  if (auto methods = ReadOtlpCompressionList(reader, "request_compression")) {
    c.request_compression.clear();
    for (OtlpCompression method : *methods) {
      if (method != OtlpCompression::kNone) c.request_compression.push_back(method);
    }
  }
  if (auto v = ReadOtlpCompression(reader, "response_compression")) {
    if (*v == OtlpCompression::kZstd) {
      // gRPC C++ cannot compress with zstd.
      reader.Error("response_compression",
                   "zstd is not supported; use none, gzip or deflate");
    } else {
      c.response_compression = *v;
    }
  }
  if (auto v = reader.Int("max_concurrent_requests", 0)) c.max_concurrent_requests = *v;
  if (auto v = reader.Bool("wait_for_result")) c.wait_for_result = *v;
  reader.AllowNull({"timeout"});  // an Option upstream (HTTP: null = the default)
  if (auto v = reader.Duration("timeout", std::chrono::milliseconds(1))) c.timeout = *v;
  c.tls = reader.Block<OtlpTlsConfig>("tls");
  c.request_limit_bytes =
      ReadRequestLimit(reader, c.max_decoding_message_size, "max_decoding_message_size");
  return c;
}

int64_t OtlpGrpcConfig::RequestLimitBytes() const {
  return EffectiveRequestLimit(request_limit_bytes, max_decoding_message_size);
}

int64_t OtlpHttpConfig::RequestLimitBytes() const {
  return EffectiveRequestLimit(request_limit_bytes, max_request_body_size);
}

OtlpHttpConfig OtlpHttpConfig::Read(config::ConfigReader& reader) {
  OtlpHttpConfig c;
  c.listening_addr = ReadListenAddress(reader);
  reader.AllowNull({"max_request_body_size"});  // upstream: null = the default
  if (auto v = reader.Bytes("max_request_body_size", 1)) c.max_request_body_size = *v;
  if (auto v = reader.Int("max_concurrent_requests", 0)) c.max_concurrent_requests = *v;
  if (auto v = reader.Bool("wait_for_result")) c.wait_for_result = *v;
  reader.AllowNull({"timeout"});  // an Option upstream (HTTP: null = the default)
  if (auto v = reader.Duration("timeout", std::chrono::milliseconds(1))) c.timeout = *v;
  if (auto v = reader.Bool("accept_compressed_requests")) {
    c.accept_compressed_requests = *v;
  }
  c.tls = reader.Block<OtlpTlsConfig>("tls");
  c.request_limit_bytes =
      ReadRequestLimit(reader, c.max_request_body_size, "max_request_body_size");
  using std::chrono::duration_cast;
  using std::chrono::milliseconds;
  if (auto v = reader.Duration("idle_timeout", milliseconds(1))) {
    c.limits.idle_timeout = duration_cast<milliseconds>(*v);
  }
  if (auto v = reader.Duration("read_header_timeout", milliseconds(1))) {
    c.limits.header_timeout = duration_cast<milliseconds>(*v);
  }
  if (auto v = reader.Duration("read_timeout", milliseconds(1))) {
    c.limits.body_timeout = duration_cast<milliseconds>(*v);
  }
  if (auto v = reader.Int("max_connections", 1, 1 << 20)) {
    c.limits.max_connections = static_cast<int>(*v);
  }
  using std::chrono::seconds;
  if (auto v = reader.Bool("tcp_nodelay")) c.limits.tcp_nodelay = *v;
  // Linux takes these in whole seconds (TCP_KEEPIDLE, TCP_KEEPINTVL: 1..32767).
  // null = off (retries: the system's count), as upstream's Options.
  reader.AllowNull({"tcp_keepalive", "tcp_keepalive_interval", "tcp_keepalive_retries"});
  auto keepalive_seconds = [&](std::string_view key) -> std::optional<seconds> {
    auto v = reader.Duration(key, seconds(1));
    if (!v) return std::nullopt;
    if (*v > seconds(32767)) {
      reader.Error(key, "must be at most 32767s");
      return std::nullopt;
    }
    return duration_cast<seconds>(*v);
  };
  c.limits.tcp_keepalive = keepalive_seconds("tcp_keepalive");
  c.limits.tcp_keepalive_interval = keepalive_seconds("tcp_keepalive_interval");
  if (auto v = reader.Int("tcp_keepalive_retries", 1, 127)) {
    c.limits.tcp_keepalive_retries = static_cast<int>(*v);
  }
  for (std::string_view key : {"tcp_keepalive_interval", "tcp_keepalive_retries"}) {
    if (reader.Has(key) && !reader.Has("tcp_keepalive")) {
      reader.Error(key, "needs tcp_keepalive (the idle time before the first probe)");
    }
  }
  return c;
}

OtlpReceiverConfig OtlpReceiverConfig::Read(config::ConfigReader& reader) {
  OtlpReceiverConfig c;
  if (!reader.Has("protocols")) {
    reader.Error("",
                 "missing required key \"protocols\" (with \"grpc\" and/or \"http\")");
  } else {
    config::ConfigReader protocols = reader.Child("protocols");
    if (protocols.Has("grpc")) {
      config::ConfigReader grpc = protocols.Child("grpc");
      c.grpc = OtlpGrpcConfig::Read(grpc);
      grpc.Finish();
    }
    if (protocols.Has("http")) {
      config::ConfigReader http = protocols.Child("http");
      c.http = OtlpHttpConfig::Read(http);
      http.Finish();
    }
    if (!c.grpc && !c.http) {
      protocols.Error("", "configure at least one protocol: \"grpc\" or \"http\"");
    }
    protocols.Finish();
  }
  if (auto auth = reader.Block<ServerAuthConfig>("auth"))
    c.bearer_token = auth->bearer_token;
  // grpc and http on one address: refused by the engine's validation with every
  // other listening address of the config (engine::ValidateNodes), by host.
  return c;
}

}  // namespace otap_parquet::nodes
