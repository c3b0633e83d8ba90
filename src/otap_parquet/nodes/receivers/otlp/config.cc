// SPDX-License-Identifier: Apache-2.0
#include "otap_parquet/nodes/receivers/otlp/config.h"

#include <filesystem>
#include <fstream>
#include <string_view>
#include <system_error>

#include <fmt/format.h>

namespace otap_parquet::nodes {

namespace {

// Upstream transport tuning keys: accepted, not applied (gRPC and httplib
// defaults are used).
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
constexpr std::string_view kHttpTuningKeys[] = {
    "tcp_nodelay", "tcp_keepalive", "tcp_keepalive_interval", "tcp_keepalive_retries"};
constexpr std::string_view kTlsIgnoredKeys[] = {"include_system_ca_certs_pool",
                                                "watch_client_ca", "handshake_timeout",
                                                "reload_interval"};

// A readable regular file, else an error at `key`.
void CheckFile(config::ConfigReader& reader, std::string_view key,
               const std::string& path) {
  std::error_code ec;
  if (!std::filesystem::is_regular_file(path, ec)) {
    reader.Error(key, fmt::format("file \"{}\" does not exist or is not a file", path));
    return;
  }
  std::ifstream in(path);
  if (!in) reader.Error(key, fmt::format("file \"{}\" is not readable", path));
}

ListenAddress ReadAddress(config::ConfigReader& reader) {
  auto text = reader.String("listening_addr");
  if (!text) {
    if (!reader.Has("listening_addr")) {
      reader.Error("", "missing required key \"listening_addr\" (e.g. \"0.0.0.0:4317\")");
    }
    return {};
  }
  auto address = ListenAddress::Parse(*text);
  if (!address) {
    reader.Error("listening_addr",
                 fmt::format("expected \"host:port\" (IPv6: \"[::1]:port\") with a port "
                             "in 0..65535, got \"{}\"",
                             *text));
    return {};
  }
  return *address;
}

std::optional<OtlpTlsConfig> ReadTls(config::ConfigReader& reader) {
  if (!reader.Has("tls")) return std::nullopt;
  config::ConfigReader tls = reader.Child("tls");
  OtlpTlsConfig c = OtlpTlsConfig::Read(tls);
  tls.Finish();
  return c;
}

}  // namespace

std::string ListenAddress::ToString() const {
  if (host.find(':') != std::string::npos) return fmt::format("[{}]:{}", host, port);
  return fmt::format("{}:{}", host, port);
}

std::optional<ListenAddress> ListenAddress::Parse(const std::string& text) {
  const size_t colon = text.rfind(':');
  if (colon == std::string::npos || colon == 0 || colon + 1 >= text.size()) {
    return std::nullopt;
  }
  ListenAddress a;
  a.host = text.substr(0, colon);
  if (a.host.front() == '[') {
    if (a.host.size() < 3 || a.host.back() != ']') return std::nullopt;
    a.host = a.host.substr(1, a.host.size() - 2);
  } else if (a.host.find(':') != std::string::npos) {
    return std::nullopt;  // bare IPv6 needs brackets
  }
  for (char ch : a.host) {
    if (ch == ' ' || ch == '/' || ch == '[' || ch == ']') return std::nullopt;
  }
  const std::string port = text.substr(colon + 1);
  if (port.size() > 5) return std::nullopt;
  for (char ch : port) {
    if (ch < '0' || ch > '9') return std::nullopt;
  }
  a.port = std::stoi(port);
  if (a.port > 65535) return std::nullopt;
  return a;
}

OtlpTlsConfig OtlpTlsConfig::Read(config::ConfigReader& reader) {
  OtlpTlsConfig c;
  for (auto key : kTlsIgnoredKeys) reader.Ignore(key);
  // Each of cert, key and client CA from a file or inline PEM text, not both.
  auto read = [&](std::string_view what, std::string* file, std::string* pem) {
    const std::string file_key = fmt::format("{}_file", what);
    const std::string pem_key = fmt::format("{}_pem", what);
    if (auto v = reader.String(file_key)) *file = *v;
    if (auto v = reader.String(pem_key)) *pem = *v;
    if (!file->empty() && !pem->empty()) {
      reader.Error(pem_key, fmt::format("give either {} or {}", file_key, pem_key));
    }
  };
  read("cert", &c.cert_file, &c.cert_pem);
  read("key", &c.key_file, &c.key_pem);
  read("client_ca", &c.client_ca_file, &c.client_ca_pem);
  if (c.cert_file.empty() && c.cert_pem.empty()) {
    reader.Error("", "missing required key \"cert_file\" (or \"cert_pem\")");
  }
  if (c.key_file.empty() && c.key_pem.empty()) {
    reader.Error("", "missing required key \"key_file\" (or \"key_pem\")");
  }
  if (!c.cert_file.empty()) CheckFile(reader, "cert_file", c.cert_file);
  if (!c.key_file.empty()) CheckFile(reader, "key_file", c.key_file);
  if (!c.client_ca_file.empty()) CheckFile(reader, "client_ca_file", c.client_ca_file);
  return c;
}

OtlpGrpcConfig OtlpGrpcConfig::Read(config::ConfigReader& reader) {
  OtlpGrpcConfig c;
  for (auto key : kGrpcTuningKeys) reader.Ignore(key);
  c.listening_addr = ReadAddress(reader);
  if (auto v = reader.Bytes("max_decoding_message_size", 1)) {
    if (*v > INT32_MAX) {
      reader.Error("max_decoding_message_size",
                   fmt::format("must be at most 2GiB - 1, got {}", *v));
    } else {
      c.max_decoding_message_size = *v;
    }
  }
  if (auto v = reader.StringList("request_compression")) {
    c.request_compression.clear();
    for (const auto& method : *v) {
      if (method == "none") continue;
      if (method != "gzip" && method != "deflate" && method != "zstd") {
        reader.Error("request_compression",
                     fmt::format("unknown compression \"{}\" (zstd, gzip, deflate, none)",
                                 method));
      }
      c.request_compression.push_back(method);
    }
  }
  using Compression = ResponseCompression;
  c.response_compression = reader.Enum("response_compression",
                                       {{"none", Compression::kNone},
                                        {"gzip", Compression::kGzip},
                                        {"deflate", Compression::kDeflate}},
                                       c.response_compression);
  if (auto v = reader.Int("max_concurrent_requests", 0)) c.max_concurrent_requests = *v;
  if (auto v = reader.Bool("wait_for_result")) c.wait_for_result = *v;
  if (auto v = reader.Duration("timeout", std::chrono::milliseconds(1))) c.timeout = *v;
  c.tls = ReadTls(reader);
  return c;
}

OtlpHttpConfig OtlpHttpConfig::Read(config::ConfigReader& reader) {
  OtlpHttpConfig c;
  for (auto key : kHttpTuningKeys) reader.Ignore(key);
  c.listening_addr = ReadAddress(reader);
  if (auto v = reader.Bytes("max_request_body_size", 1)) c.max_request_body_size = *v;
  if (auto v = reader.Int("max_concurrent_requests", 0)) c.max_concurrent_requests = *v;
  if (auto v = reader.Bool("wait_for_result")) c.wait_for_result = *v;
  if (auto v = reader.Duration("timeout", std::chrono::milliseconds(1))) c.timeout = *v;
  if (auto v = reader.Bool("accept_compressed_requests")) {
    c.accept_compressed_requests = *v;
  }
  c.tls = ReadTls(reader);
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
  if (reader.Has("auth")) {
    config::ConfigReader auth = reader.Child("auth");
    if (auto v = auth.String("bearer_token")) {
      if (v->empty()) auth.Error("bearer_token", "must not be empty");
      c.bearer_token = *v;
    } else if (!auth.Has("bearer_token")) {
      auth.Error("", "missing required key \"bearer_token\"");
    }
    auth.Finish();
  }
  if (c.grpc && c.http && c.grpc->listening_addr.port != 0 &&
      c.grpc->listening_addr.port == c.http->listening_addr.port &&
      c.grpc->listening_addr.host == c.http->listening_addr.host) {
    reader.Error("protocols", "grpc and http must listen on different addresses");
  }
  return c;
}

}  // namespace otap_parquet::nodes
