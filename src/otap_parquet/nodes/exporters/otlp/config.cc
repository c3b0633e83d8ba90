// SPDX-License-Identifier: Apache-2.0
#include "otap_parquet/nodes/exporters/otlp/config.h"

#include <algorithm>
#include <cctype>
#include <charconv>
#include <fstream>
#include <sstream>
#include <string_view>

#include <fmt/format.h>

#include "otap_parquet/util/pem.h"
#include "otap_parquet/util/strings.h"

namespace otap_parquet::nodes {

namespace {

// Reads a whole (PEM) file; false if it cannot be read.
bool ReadFile(const std::string& path, std::string* out) {
  std::ifstream in(path, std::ios::binary);
  if (!in) return false;
  std::ostringstream s;
  s << in.rdbuf();
  *out = s.str();
  return in.good() || in.eof();
}

// `compression` (alias `compression_method`): one method or null; gRPC sends gzip,
// HTTP gzip or zstd.
OtlpCompression ReadCompression(config::ConfigReader& reader, bool grpc) {
  reader.AllowNull({"compression", "compression_method"});  // null = none
  const bool has_main = reader.Has("compression");
  const bool has_alias = reader.Has("compression_method");
  if (has_main && has_alias) {
    reader.Error("compression_method", "give either compression or compression_method");
    return OtlpCompression::kNone;
  }
  const std::string_view key = has_alias ? "compression_method" : "compression";
  auto v = ReadOtlpCompression(reader, key);
  if (!v) return OtlpCompression::kNone;
  if (*v == OtlpCompression::kDeflate || (grpc && *v == OtlpCompression::kZstd)) {
    reader.Error(key, fmt::format("{} is not supported by this exporter; use {}",
                                  OtlpCompressionName(*v),
                                  grpc ? "gzip or none" : "gzip, zstd or none"));
    return OtlpCompression::kNone;
  }
  return *v;
}

// `headers`: a map name → value. `reserved` names (and for gRPC, `grpc-*` and
// `*-bin`) are rejected because the transport sets them.
std::vector<std::pair<std::string, std::string>> ReadHeaders(
    config::ConfigReader& reader, std::initializer_list<std::string_view> reserved,
    bool grpc) {
  std::vector<std::pair<std::string, std::string>> headers;
  YAML::Node node = reader.Raw("headers");
  if (!node.IsDefined() || node.IsNull()) return headers;
  if (!node.IsMap()) {
    reader.Error("headers", "must be a mapping of header name to value");
    return headers;
  }
  for (const auto& entry : node) {
    const std::string name = util::AsciiLower(entry.first.Scalar());
    const std::string key = "headers." + entry.first.Scalar();
    if (!entry.second.IsScalar()) {
      reader.Error("headers", fmt::format("{}: value must be a string", name));
      continue;
    }
    const bool bad_chars =
        name.empty() || std::any_of(name.begin(), name.end(), [](unsigned char c) {
          return c <= 0x20 || c >= 0x7f || c == ':';
        });
    const std::string value = entry.second.Scalar();
    const bool bad_value = std::any_of(value.begin(), value.end(), [](unsigned char c) {
      return c >= 0x7f || (c < 0x20 && c != '\t');
    });
    if (bad_chars || bad_value) {
      reader.Error("headers",
                   fmt::format("{}: header names and values must be printable ASCII",
                               entry.first.Scalar()));
      continue;
    }
    const bool is_reserved =
        std::find(reserved.begin(), reserved.end(), name) != reserved.end() ||
        (grpc && (name.starts_with("grpc-") || name.ends_with("-bin")));
    if (is_reserved) {
      reader.Error("headers", fmt::format("{}: reserved header, set by the exporter",
                                          entry.first.Scalar()));
      continue;
    }
    headers.emplace_back(name, value);
  }
  return headers;
}

std::optional<OtlpEndpoint> ReadEndpoint(config::ConfigReader& reader,
                                         std::string_view key) {
  auto text = reader.String(key);
  if (!text) return std::nullopt;
  std::string error;
  auto endpoint = OtlpEndpoint::Parse(*text, &error);
  if (!endpoint) reader.Error(key, fmt::format("\"{}\": {}", *text, error));
  return endpoint;
}

// Keys shared by GrpcClientSettings and HttpClientSettings.
void ReadClientSettings(config::ConfigReader& reader, OtlpClientConfig* c,
                        std::initializer_list<std::string_view> reserved_headers,
                        bool grpc) {
  c->compression = ReadCompression(reader, grpc);
  reader.AllowNull({"timeout", "user_agent"});  // Options upstream: none
  if (auto v = reader.Duration("timeout", std::chrono::nanoseconds(1))) c->timeout = *v;
  if (auto v = reader.Duration("connect_timeout", std::chrono::nanoseconds(1))) {
    c->connect_timeout = *v;
  }
  c->headers = ReadHeaders(reader, reserved_headers, grpc);
  if (reader.Has("tls")) {
    auto tls_reader = reader.Child("tls");
    c->tls = OtlpClientTlsConfig::Read(tls_reader);
    tls_reader.Finish();
  }
  if (auto v = reader.String("user_agent")) c->user_agent = *v;
  // Transport tuning of upstream's tonic/hyper stacks: accepted, not applied.
  for (auto key : {"concurrency_limit", "tcp_nodelay", "tcp_keepalive",
                   "tcp_keepalive_interval", "tcp_keepalive_retries"}) {
    reader.Ignore(key);
  }
}

}  // namespace

OtlpClientTlsConfig OtlpClientTlsConfig::Read(config::ConfigReader& reader) {
  OtlpClientTlsConfig c;
  // Every key is an Option upstream (null = unset).
  reader.AllowNull({"ca_file", "ca_pem", "cert_file", "cert_pem", "key_file", "key_pem",
                    "server_name_override", "include_system_ca_certs_pool", "insecure",
                    "insecure_skip_verify"});
  reader.Ignore("reload_interval");  // certificate reloading: files are read at start
  // Each of ca / cert / key as a file or inline PEM, never both.
  auto read_pem = [&](std::string_view what, std::string* path, std::string* pem) {
    const std::string file_key = fmt::format("{}_file", what);
    const std::string pem_key = fmt::format("{}_pem", what);
    auto file = reader.String(file_key);
    auto inline_pem = reader.String(pem_key);
    if (file && inline_pem) {
      reader.Error(pem_key, fmt::format("give either {} or {}", file_key, pem_key));
      return;
    }
    if (inline_pem) *pem = *inline_pem;
    if (file) {
      *path = *file;
      if (!ReadFile(*file, pem)) {
        reader.Error(file_key, fmt::format("cannot read \"{}\"", *file));
      }
    }
  };
  read_pem("ca", &c.ca_file, &c.ca_pem);
  read_pem("cert", &c.cert_file, &c.cert_pem);
  read_pem("key", &c.key_file, &c.key_pem);
  if (c.cert_pem.empty() != c.key_pem.empty()) {
    reader.Error(c.cert_pem.empty() ? "key_file" : "cert_file",
                 "a client certificate needs both cert_file (or cert_pem) and key_file "
                 "(or key_pem)");
  }
  if (auto v = reader.String("server_name_override")) c.server_name_override = *v;
  if (auto v = reader.Bool("include_system_ca_certs_pool")) {
    c.include_system_ca_certs_pool = *v;
  }
  if (auto v = reader.Bool("insecure")) c.insecure = *v;
  if (auto v = reader.Bool("insecure_skip_verify"); v && *v) {
    reader.Error("insecure_skip_verify",
                 "not supported: give the server's CA with ca_file instead");
  }
  return c;
}

std::string OtlpEndpoint::authority() const {
  const bool ipv6 = host.find(':') != std::string::npos;
  return ipv6 ? fmt::format("[{}]:{}", host, port) : fmt::format("{}:{}", host, port);
}

std::string OtlpEndpoint::origin() const {
  return fmt::format("{}://{}", https ? "https" : "http", authority());
}

std::optional<OtlpEndpoint> OtlpEndpoint::Parse(std::string_view text,
                                                std::string* error) {
  OtlpEndpoint e;
  std::string_view rest = text;
  if (const auto pos = rest.find("://"); pos != std::string_view::npos) {
    const std::string scheme = util::AsciiLower(std::string(rest.substr(0, pos)));
    if (scheme != "http" && scheme != "https") {
      *error = "scheme must be http or https";
      return std::nullopt;
    }
    e.https = scheme == "https";
    rest.remove_prefix(pos + 3);
  }
  const auto slash = rest.find('/');
  std::string_view authority = rest.substr(0, slash);
  if (slash != std::string_view::npos) {
    std::string_view path = rest.substr(slash);
    while (!path.empty() && path.back() == '/') path.remove_suffix(1);
    e.path = std::string(path);
  }
  std::string_view port_text;
  if (authority.starts_with('[')) {
    const auto close = authority.find(']');
    if (close == std::string_view::npos) {
      *error = "unclosed '[' in IPv6 address";
      return std::nullopt;
    }
    e.host = std::string(authority.substr(1, close - 1));
    authority.remove_prefix(close + 1);
    if (authority.starts_with(':')) port_text = authority.substr(1);
  } else {
    const auto colon = authority.rfind(':');
    e.host = std::string(authority.substr(0, colon));
    if (colon != std::string_view::npos) port_text = authority.substr(colon + 1);
  }
  if (e.host.empty()) {
    *error = "missing host (expected http[s]://host:port)";
    return std::nullopt;
  }
  if (port_text.empty()) {
    e.port = e.https ? 443 : 80;
  } else {
    int port = 0;
    auto [ptr, ec] =
        std::from_chars(port_text.data(), port_text.data() + port_text.size(), port);
    if (ec != std::errc() || ptr != port_text.data() + port_text.size() || port < 1 ||
        port > 65535) {
      *error = fmt::format("bad port \"{}\"", port_text);
      return std::nullopt;
    }
    e.port = port;
  }
  return e;
}

OtlpGrpcExporterConfig OtlpGrpcExporterConfig::Read(config::ConfigReader& reader) {
  OtlpGrpcExporterConfig c;
  const bool has_upstream = reader.Has("grpc_endpoint");
  const bool has_alias = reader.Has("endpoint");
  if (has_upstream && has_alias) {
    reader.Error("endpoint", "give either grpc_endpoint or endpoint");
  } else if (!has_upstream && !has_alias) {
    reader.Error("", "missing required key grpc_endpoint (e.g. http://127.0.0.1:4317)");
  } else if (auto e = ReadEndpoint(reader, has_upstream ? "grpc_endpoint" : "endpoint")) {
    c.endpoint = std::move(*e);
  }
  ReadClientSettings(reader, &c.client, {"content-type", "te", "user-agent"},
                     /*grpc=*/true);
  if (auto v = reader.Int("max_in_flight", 1, 1 << 20)) c.client.max_in_flight = *v;
  if (auto v = reader.Int("num_connections", 1, 256)) c.num_connections = *v;
  {
    auto retry = reader.Child("retry_on_failure");
    c.client.retry = OtlpRetryConfig::Read(retry);
    retry.Finish();
  }
  for (auto key :
       {"initial_stream_window_size", "initial_connection_window_size",
        "http2_adaptive_window", "http2_keepalive_interval", "http2_keepalive_timeout",
        "keep_alive_while_idle", "buffer_size", "startup_check", "proxy"}) {
    reader.Ignore(key);
  }
  return c;
}

std::string OtlpHttpExporterConfig::PathOf(int signal) const {
  static constexpr const char* kPaths[] = {"/v1/logs", "/v1/traces", "/v1/metrics"};
  if (signal_endpoints[signal]) {
    const std::string& p = signal_endpoints[signal]->path;
    return p.empty() ? "/" : p;
  }
  return endpoint.path + kPaths[signal];
}

OtlpHttpExporterConfig OtlpHttpExporterConfig::Read(config::ConfigReader& reader) {
  OtlpHttpExporterConfig c;
  bool any_endpoint = false;
  if (reader.Has("endpoint")) {
    any_endpoint = true;
    if (auto e = ReadEndpoint(reader, "endpoint")) c.endpoint = std::move(*e);
  }
  // Signal order of otap_parquet::Signal: logs, traces, metrics.
  const char* kSignalKeys[] = {"logs_endpoint", "traces_endpoint", "metrics_endpoint"};
  bool all_signals = true;
  for (int s = 0; s < 3; ++s) {
    if (reader.Has(kSignalKeys[s])) {
      c.signal_endpoints[s] = ReadEndpoint(reader, kSignalKeys[s]);
    } else {
      all_signals = false;
    }
  }
  if (!any_endpoint && !all_signals) {
    reader.Error("", "missing required key endpoint (e.g. http://127.0.0.1:4318)");
  }
  if (!any_endpoint) {
    for (auto& e : c.signal_endpoints) {
      if (e) c.endpoint = *e;
    }
  }
  if (auto v = reader.Int("client_pool_size", 1, 256)) c.client_pool_size = *v;
  if (auto v = reader.Int("max_in_flight", 1, 1 << 20)) c.client.max_in_flight = *v;
  if (auto v = reader.Bytes("max_response_body_length", 1)) {
    c.max_response_body_length = *v;
  }
  c.encoding = reader.Enum(
      "encoding", {{"proto", Encoding::kProto}, {"json", Encoding::kJson}}, c.encoding);
  {
    auto http = reader.Child("http");
    ReadClientSettings(http, &c.client,
                       {"content-type", "content-encoding", "content-length", "host",
                        "accept", "accept-encoding"},
                       /*grpc=*/false);
    // cpp-httplib takes OpenSSL objects: check the PEM text parses now.
    if (c.client.tls) {
      const auto& tls = *c.client.tls;
      if (!tls.ca_pem.empty() && !util::PemCertificateStore(tls.ca_pem, "ca").ok()) {
        http.Error(tls.ca_file.empty() ? "tls.ca_pem" : "tls.ca_file",
                   "no PEM certificate");
      }
      if (!tls.cert_pem.empty() && !util::PemCertificate(tls.cert_pem, "cert").ok()) {
        http.Error(tls.cert_file.empty() ? "tls.cert_pem" : "tls.cert_file",
                   "no PEM certificate");
      }
      if (!tls.key_pem.empty() && !util::PemPrivateKey(tls.key_pem, "key").ok()) {
        http.Error(tls.key_file.empty() ? "tls.key_pem" : "tls.key_file",
                   "no unencrypted PEM private key");
      }
    }
    http.Finish();
  }
  {
    auto retry = reader.Child("retry_on_failure");
    c.client.retry = OtlpRetryConfig::Read(retry);
    retry.Finish();
  }
  return c;
}

}  // namespace otap_parquet::nodes
