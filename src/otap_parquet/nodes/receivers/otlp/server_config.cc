// SPDX-License-Identifier: Apache-2.0
#include "otap_parquet/nodes/receivers/otlp/server_config.h"

#include <filesystem>
#include <fstream>
#include <string_view>
#include <system_error>

#include <fmt/format.h>

namespace otap_parquet::nodes {

namespace {

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

ListenAddress ReadListenAddress(config::ConfigReader& reader) {
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

std::optional<int64_t> ReadMaxDecodingMessageSize(config::ConfigReader& reader) {
  reader.AllowNull({"max_decoding_message_size"});  // an Option upstream: the default
  auto v = reader.Bytes("max_decoding_message_size", 1);
  if (v && *v > INT32_MAX) {
    reader.Error("max_decoding_message_size",
                 fmt::format("must be at most 2GiB - 1, got {}", *v));
    return std::nullopt;
  }
  return v;
}

OtlpTlsConfig OtlpTlsConfig::Read(config::ConfigReader& reader) {
  OtlpTlsConfig c;
  for (auto key : kTlsIgnoredKeys) reader.Ignore(key);
  reader.AllowNull({"cert_file", "cert_pem", "key_file", "key_pem", "client_ca_file",
                    "client_ca_pem"});  // Options upstream
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

ServerAuthConfig ServerAuthConfig::Read(config::ConfigReader& reader) {
  ServerAuthConfig c;
  if (auto v = reader.String("bearer_token")) {
    if (v->empty()) reader.Error("bearer_token", "must not be empty");
    c.bearer_token = *v;
  } else if (!reader.Has("bearer_token")) {
    reader.Error("", "missing required key \"bearer_token\"");
  }
  return c;
}

}  // namespace otap_parquet::nodes
