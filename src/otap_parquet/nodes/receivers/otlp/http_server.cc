// SPDX-License-Identifier: Apache-2.0
#include "otap_parquet/nodes/receivers/otlp/http_server.h"

#include <sys/socket.h>

#include <chrono>
#include <fstream>
#include <future>
#include <sstream>
#include <utility>

#include <fmt/format.h>
#include <httplib.h>

#include "otap_parquet/nodes/receivers/otlp/request_arena.h"
#include "otap_parquet/otlp/convert.h"
#include "otap_parquet/otlp/otlp_json.h"
#include "otap_parquet/util/pem.h"
#include "otap_parquet/util/zstd.h"

namespace otap_parquet::nodes::otlp_receiver {

namespace {

constexpr const char* kProtobuf = "application/x-protobuf";
constexpr const char* kJson = "application/json";

// Seconds a client should wait before retrying a 429/503.
constexpr const char* kRetryAfterSeconds = "1";

struct HttpAnswer {
  int status;
  int rpc_code;  ///< google.rpc.Code for the Status body
};

HttpAnswer AnswerOf(Outcome outcome) {
  switch (outcome) {
    case Outcome::kOk:
      return {200, 0};
    case Outcome::kInvalid:
      return {400, 3};
    case Outcome::kTooLarge:
      return {413, 8};
    case Outcome::kUnsupported:
      return {415, 12};
    case Outcome::kUnauthenticated:
      return {401, 16};
    case Outcome::kExhausted:
      return {429, 8};
    case Outcome::kUnavailable:
      return {503, 14};
    case Outcome::kTimeout:
      return {503, 4};
    case Outcome::kNotFound:
      return {404, 5};
  }
  return {500, 13};
}

void AppendVarint(std::string* out, uint64_t v) {
  while (v >= 0x80) {
    out->push_back(static_cast<char>((v & 0x7f) | 0x80));
    v >>= 7;
  }
  out->push_back(static_cast<char>(v));
}

std::string Lower(std::string s) {
  for (auto& c : s) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  return s;
}

// "application/json; charset=utf-8" → "application/json".
std::string MediaType(const std::string& content_type) {
  std::string media = content_type.substr(0, content_type.find(';'));
  while (!media.empty() && media.back() == ' ') media.pop_back();
  while (!media.empty() && media.front() == ' ') media.erase(media.begin());
  return Lower(media);
}

std::optional<Signal> SignalOfPath(const std::string& path) {
  if (path == "/v1/logs") return Signal::kLogs;
  if (path == "/v1/traces") return Signal::kTraces;
  if (path == "/v1/metrics") return Signal::kMetrics;
  return std::nullopt;
}

std::string EmptyResponse(bool json) { return json ? "{}" : ""; }

void Respond(httplib::Response& res, bool json, const IngestResult& result) {
  const HttpAnswer answer = AnswerOf(result.outcome);
  res.status = answer.status;
  if (result.ok()) {
    res.set_content(EmptyResponse(json), json ? kJson : kProtobuf);
    return;
  }
  if (answer.status == 429 || answer.status == 503) {
    res.set_header("Retry-After", kRetryAfterSeconds);
  }
  if (answer.status == 401) res.set_header("WWW-Authenticate", "Bearer");
  if (json) {
    res.set_content(RpcStatusJson(answer.rpc_code, result.message), kJson);
  } else {
    res.set_content(EncodeRpcStatus(answer.rpc_code, result.message), kProtobuf);
  }
}

}  // namespace

std::string EncodeRpcStatus(int code, const std::string& message) {
  std::string out;
  if (code != 0) {
    out.push_back(0x08);
    AppendVarint(&out, static_cast<uint64_t>(code));
  }
  if (!message.empty()) {
    out.push_back(0x12);
    AppendVarint(&out, message.size());
    out += message;
  }
  return out;
}

std::string RpcStatusJson(int code, const std::string& message) {
  std::string escaped;
  for (unsigned char c : message) {
    switch (c) {
      case '"':
        escaped += "\\\"";
        break;
      case '\\':
        escaped += "\\\\";
        break;
      case '\n':
        escaped += "\\n";
        break;
      default:
        if (c < 0x20) {
          escaped += fmt::format("\\u{:04x}", c);
        } else {
          escaped.push_back(static_cast<char>(c));
        }
    }
  }
  return fmt::format(R"({{"code":{},"message":"{}"}})", code, escaped);
}

namespace {

arrow::Result<std::string> PemText(const std::string& pem, const std::string& file) {
  if (!pem.empty()) return pem;
  std::ifstream in(file, std::ios::binary);
  std::ostringstream text;
  text << in.rdbuf();
  if (!in) return arrow::Status::IOError("cannot read ", file);
  return text.str();
}

// A server whose certificate, key or client CA is given inline (`*_pem`):
// cpp-httplib takes those as OpenSSL objects, not text.
arrow::Result<std::unique_ptr<httplib::SSLServer>> MakeInlinePemServer(
    const OtlpTlsConfig& tls) {
  ARROW_ASSIGN_OR_RAISE(auto cert_text, PemText(tls.cert_pem, tls.cert_file));
  ARROW_ASSIGN_OR_RAISE(auto key_text, PemText(tls.key_pem, tls.key_file));
  ARROW_ASSIGN_OR_RAISE(auto cert, util::PemCertificate(cert_text, "tls.cert"));
  ARROW_ASSIGN_OR_RAISE(auto key, util::PemPrivateKey(key_text, "tls.key"));
  util::X509StorePtr client_ca;
  if (tls.mtls()) {
    ARROW_ASSIGN_OR_RAISE(auto ca_text, PemText(tls.client_ca_pem, tls.client_ca_file));
    ARROW_ASSIGN_OR_RAISE(client_ca, util::PemCertificateStore(ca_text, "tls.client_ca"));
  }
  // The server takes the store; certificate and key are reference counted.
  auto ssl =
      std::make_unique<httplib::SSLServer>(cert.get(), key.get(), client_ca.release());
  if (!ssl->is_valid()) {
    return arrow::Status::IOError("cannot use the inline TLS certificate / key");
  }
  return ssl;
}

}  // namespace

arrow::Result<std::unique_ptr<HttpServer>> HttpServer::Start(const OtlpHttpConfig& config,
                                                             std::string bearer_token,
                                                             Ingest* ingest) {
  std::unique_ptr<HttpServer> server(new HttpServer());
  server->config_ = config;
  server->bearer_token_ = std::move(bearer_token);
  server->ingest_ = ingest;
  server->options_.wait_for_result = config.wait_for_result;
  server->options_.timeout = config.timeout;
  server->options_.max_concurrent_requests = config.max_concurrent_requests;
  const bool inline_pem =
      config.tls && (!config.tls->cert_pem.empty() || !config.tls->key_pem.empty() ||
                     !config.tls->client_ca_pem.empty());
  if (inline_pem) {
    ARROW_ASSIGN_OR_RAISE(auto ssl, MakeInlinePemServer(*config.tls));
    server->server_ = std::move(ssl);
  } else if (config.tls) {
    auto ssl = std::make_unique<httplib::SSLServer>(
        config.tls->cert_file.c_str(), config.tls->key_file.c_str(),
        config.tls->mtls() ? config.tls->client_ca_file.c_str() : nullptr);
    if (!ssl->is_valid()) {
      return arrow::Status::IOError(
          "cannot load the TLS certificate ", config.tls->cert_file, " / key ",
          config.tls->key_file, config.tls->mtls() ? " / client CA " : "",
          config.tls->client_ca_file);
    }
    server->server_ = std::move(ssl);
  } else {
    server->server_ = std::make_unique<httplib::Server>();
  }
  httplib::Server& http = *server->server_;
  http.set_socket_options([](socket_t sock) {
    int yes = 1;
    ::setsockopt(sock, SOL_SOCKET, SO_REUSEADDR, &yes, sizeof(yes));
    ::setsockopt(sock, SOL_SOCKET, SO_REUSEPORT, &yes, sizeof(yes));
  });
  http.set_payload_max_length(static_cast<size_t>(config.max_request_body_size));
  // Idle keep-alive connections hold a worker until this passes, also at shutdown.
  http.set_keep_alive_timeout(2);
  server->Route();
  const std::string& host = config.listening_addr.host;
  if (config.listening_addr.port == 0) {
    server->port_ = http.bind_to_any_port(host);
  } else if (http.bind_to_port(host, config.listening_addr.port)) {
    server->port_ = config.listening_addr.port;
  } else {
    server->port_ = -1;
  }
  if (server->port_ <= 0) {
    return arrow::Status::IOError("cannot listen for OTLP/HTTP on ",
                                  config.listening_addr.ToString(),
                                  " (address in use or not local?)");
  }
  server->thread_ = std::thread([&http] { http.listen_after_bind(); });
  // stop() is a no-op until the loop runs: wait for it, so Shutdown always stops it.
  for (int i = 0; i < 5000 && !http.is_running(); ++i) {
    std::this_thread::sleep_for(std::chrono::milliseconds(1));
  }
  return server;
}

void HttpServer::Route() {
  httplib::Server& http = *server_;
  auto handler = [this](const httplib::Request& req, httplib::Response& res,
                        const httplib::ContentReader& content_reader) {
    const Signal signal = *SignalOfPath(req.path);
    const std::string media = MediaType(req.get_header_value("Content-Type"));
    const bool json = media == kJson;
    auto reject = [&](Outcome outcome, std::string message) {
      ingest_->CountRejected(Protocol::kHttp, outcome);
      Respond(res, json, {outcome, std::move(message)});
    };
    // Read the body first (bounded), so the connection stays usable.
    std::string body;
    const size_t limit = static_cast<size_t>(config_.max_request_body_size);
    bool too_large = false;
    const bool read = content_reader([&](const char* data, size_t length) {
      if (body.size() + length > limit) {
        too_large = true;
        return false;
      }
      body.append(data, length);
      return true;
    });
    if (!read) {
      if (too_large || res.status == 413) {
        reject(
            Outcome::kTooLarge,
            fmt::format("request body exceeds max_request_body_size ({} bytes)", limit));
      } else {
        reject(Outcome::kInvalid, "cannot read or decompress the request body");
      }
      return;
    }
    if (!bearer_token_.empty() &&
        !BearerTokenMatches(req.get_header_value("Authorization"), bearer_token_)) {
      reject(Outcome::kUnauthenticated,
             "missing or invalid \"Authorization: Bearer <token>\" header");
      return;
    }
    if (media != kProtobuf && !json) {
      reject(Outcome::kUnsupported,
             fmt::format("unsupported Content-Type \"{}\"; use {} or {}",
                         req.get_header_value("Content-Type"), kProtobuf, kJson));
      return;
    }
    const std::string encoding = Lower(req.get_header_value("Content-Encoding"));
    if (!encoding.empty() && encoding != "identity") {
      // httplib has already decoded gzip, deflate and br; zstd is ours.
      const bool known = encoding == "gzip" || encoding == "deflate" ||
                         encoding == "br" || encoding == "zstd";
      if (!known || !config_.accept_compressed_requests) {
        reject(Outcome::kUnsupported,
               fmt::format("unsupported Content-Encoding \"{}\"{}", encoding,
                           config_.accept_compressed_requests
                               ? "; use zstd, gzip, deflate or identity"
                               : " (accept_compressed_requests is false)"));
        return;
      }
      if (encoding == "zstd") {
        // The limit applies to the decompressed size too, as for gzip.
        auto plain = util::ZstdDecompress(body, limit);
        if (!plain.ok()) {
          if (plain.status().IsCapacityError()) {
            reject(Outcome::kTooLarge,
                   fmt::format("decompressed request body exceeds max_request_body_size "
                               "({} bytes)",
                               limit));
          } else {
            reject(Outcome::kInvalid, "cannot decompress the zstd request body: " +
                                          plain.status().message());
          }
          return;
        }
        body = std::move(*plain);
      }
    }
    otlp::OtlpRequest request;
    RequestArena arena;  // holds a parsed protobuf request until Submit has converted it
    Convert convert;
    if (json) {
      auto parsed = otlp::ParseOtlpJson(body, signal);
      if (!parsed.ok()) {
        reject(Outcome::kInvalid, "malformed OTLP/JSON: " + parsed.status().message());
        return;
      }
      if (otlp::SignalOf(*parsed) != signal) {
        reject(Outcome::kInvalid,
               fmt::format("OTLP/JSON body holds {} but the path is {}",
                           SignalName(otlp::SignalOf(*parsed)), req.path));
        return;
      }
      request = std::move(*parsed);
      convert = [&request] { return otlp::ToOtap(request); };
    } else {
      convert = DecodeRequest(signal, body, &arena);
      if (!convert) {
        reject(Outcome::kInvalid,
               fmt::format("malformed protobuf: cannot parse the {} export request "
                           "({} bytes)",
                           SignalName(signal), body.size()));
        return;
      }
    }
    const auto deadline = std::chrono::steady_clock::now() + options_.timeout;
    auto promise = std::make_shared<std::promise<IngestResult>>();
    std::future<IngestResult> future = promise->get_future();
    const uint64_t key = ingest_->Submit(
        Protocol::kHttp, signal, static_cast<int64_t>(body.size()), convert, options_,
        [promise](IngestResult result) { promise->set_value(std::move(result)); });
    if (future.wait_until(deadline) != std::future_status::ready) {
      ingest_->Cancel(
          key, {Outcome::kTimeout, "no pipeline outcome within the receiver's timeout"});
    }
    Respond(res, json, future.get());
  };
  auto wrong_method = [](const httplib::Request& req, httplib::Response& res) {
    res.status = 405;
    res.set_header("Allow", "POST");
    res.set_content(RpcStatusJson(12, req.method + " is not allowed; use POST"), kJson);
  };
  for (const char* path : {"/v1/logs", "/v1/traces", "/v1/metrics"}) {
    http.Post(path, handler);
    http.Get(path, wrong_method);
    http.Put(path, wrong_method);
    http.Delete(path, wrong_method);
    http.Patch(path, wrong_method);
    http.Options(path, wrong_method);
  }
  http.set_error_handler([](const httplib::Request& req, httplib::Response& res) {
    if (res.status == 404 && res.body.empty()) {
      res.set_content(
          RpcStatusJson(5, "no such path " + req.path +
                               "; OTLP/HTTP serves POST /v1/logs, /v1/traces, "
                               "/v1/metrics"),
          kJson);
    }
  });
}

void HttpServer::Shutdown() {
  std::call_once(shutdown_once_, [&] {
    if (server_) server_->stop();
    if (thread_.joinable()) thread_.join();
  });
}

HttpServer::~HttpServer() { Shutdown(); }

}  // namespace otap_parquet::nodes::otlp_receiver
