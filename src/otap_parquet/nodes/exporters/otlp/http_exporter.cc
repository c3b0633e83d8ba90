// SPDX-License-Identifier: Apache-2.0
#include "otap_parquet/nodes/exporters/otlp/http_exporter.h"

#include <arpa/inet.h>
#include <netdb.h>
#include <netinet/in.h>

#include <condition_variable>
#include <deque>
#include <map>
#include <memory>
#include <mutex>
#include <thread>
#include <utility>
#include <vector>

#include <fmt/format.h>
#include <google/protobuf/util/json_util.h>
#include <httplib.h>
#include <openssl/x509.h>

#include "otap_parquet/otlp/otlp_json.h"
#include "otap_parquet/util/inflate.h"
#include "otap_parquet/util/pem.h"
#include "otap_parquet/util/zstd.h"

namespace otap_parquet::nodes {

namespace {

/// Every address `host` resolves to, as text (a numeric host as it is).
arrow::Result<std::vector<std::string>> NumericAddresses(const std::string& host) {
  addrinfo hints{};
  hints.ai_family = AF_UNSPEC;
  hints.ai_socktype = SOCK_STREAM;
  addrinfo* found = nullptr;
  if (const int rc = getaddrinfo(host.c_str(), nullptr, &hints, &found); rc != 0) {
    return arrow::Status::IOError("cannot resolve ", host, ": ", gai_strerror(rc));
  }
  std::unique_ptr<addrinfo, decltype(&freeaddrinfo)> owner(found, &freeaddrinfo);
  std::vector<std::string> addresses;
  for (const addrinfo* a = found; a != nullptr; a = a->ai_next) {
    char text[INET6_ADDRSTRLEN] = {};
    const void* address = nullptr;
    if (a->ai_family == AF_INET6) {
      address = &reinterpret_cast<const sockaddr_in6*>(a->ai_addr)->sin6_addr;
    } else if (a->ai_family == AF_INET) {
      address = &reinterpret_cast<const sockaddr_in*>(a->ai_addr)->sin_addr;
    } else {
      continue;
    }
    if (inet_ntop(a->ai_family, address, text, sizeof(text))) {
      addresses.emplace_back(text);
    }
  }
  if (addresses.empty()) {
    return arrow::Status::IOError("no IPv4 or IPv6 address for ", host);
  }
  return addresses;
}

namespace logs_v1 = ::opentelemetry::proto::collector::logs::v1;
namespace trace_v1 = ::opentelemetry::proto::collector::trace::v1;
namespace metrics_v1 = ::opentelemetry::proto::collector::metrics::v1;

// An Export*ServiceResponse from a protobuf or an OTLP/JSON body.
bool ParseResponse(const std::string& body, bool json, google::protobuf::Message* r) {
  if (!json) return r->ParseFromString(body);
  google::protobuf::util::JsonParseOptions options;
  options.ignore_unknown_fields = true;
  return google::protobuf::util::JsonStringToMessage(body, r, options).ok();
}

// partial_success of an Export*ServiceResponse body.
void ReadPartialSuccess(Signal signal, const std::string& body, bool json,
                        AttemptResult* result) {
  switch (signal) {
    case Signal::kLogs: {
      logs_v1::ExportLogsServiceResponse r;
      if (!ParseResponse(body, json, &r)) return;
      result->rejected_items = r.partial_success().rejected_log_records();
      result->partial_success_message = r.partial_success().error_message();
      break;
    }
    case Signal::kTraces: {
      trace_v1::ExportTraceServiceResponse r;
      if (!ParseResponse(body, json, &r)) return;
      result->rejected_items = r.partial_success().rejected_spans();
      result->partial_success_message = r.partial_success().error_message();
      break;
    }
    case Signal::kMetrics: {
      metrics_v1::ExportMetricsServiceResponse r;
      if (!ParseResponse(body, json, &r)) return;
      result->rejected_items = r.partial_success().rejected_data_points();
      result->partial_success_message = r.partial_success().error_message();
      break;
    }
  }
}

std::string Printable(std::string_view text, size_t limit = 200) {
  std::string out;
  for (char c : text.substr(0, limit)) {
    out.push_back(static_cast<unsigned char>(c) >= 0x20 && c != 0x7f ? c : ' ');
  }
  if (text.size() > limit) out += "...";
  return out;
}

class HttpTransport : public OtlpTransport {
 public:
  explicit HttpTransport(OtlpHttpExporterConfig config) : config_(std::move(config)) {
    const int64_t threads =
        std::min(config_.client_pool_size, config_.client.max_in_flight);
    for (int64_t i = 0; i < threads; ++i) {
      auto worker = std::make_unique<Worker>();
      Worker* w = worker.get();
      workers_.push_back(std::move(worker));
      w->thread = std::thread([this, w] { RunWorker(*w); });
    }
  }

  ~HttpTransport() override { Stop(); }

  void Send(const std::shared_ptr<OtlpExportJob>& job, Done done) override {
    std::unique_lock<std::mutex> lock(mutex_);
    if (stopped_) {
      lock.unlock();
      done(Cancelled());
      return;
    }
    queue_.push_back({job, std::move(done)});
    work_.notify_one();
  }

  void CancelAll() override {
    std::deque<Work> cancelled;
    {
      std::lock_guard<std::mutex> lock(mutex_);
      cancelled.swap(queue_);
    }
    for (auto& worker : workers_) {
      std::lock_guard<std::mutex> lock(worker->mutex);
      for (auto& [origin, client] : worker->clients) {
        if (client) client->stop();
      }
    }
    for (auto& work : cancelled) work.done(Cancelled());
  }

  void Stop() override {
    {
      std::lock_guard<std::mutex> lock(mutex_);
      if (stopped_) return;
      stopped_ = true;
    }
    work_.notify_all();
    CancelAll();
    for (auto& worker : workers_) {
      if (worker->thread.joinable()) worker->thread.join();
    }
  }

 private:
  struct Work {
    std::shared_ptr<OtlpExportJob> job;
    Done done;
  };
  struct Worker {
    std::thread thread;
    std::mutex mutex;  // guards `clients` against CancelAll
    std::map<std::string, std::unique_ptr<httplib::ClientImpl>> clients;
    // With server_name_override, the next of the endpoint's addresses to use
    // (the client is rebuilt at that address after a transport failure). Only
    // the worker's own thread uses it.
    std::map<std::string, size_t> address_turn;
  };

  static AttemptResult Cancelled() {
    return AttemptResult::Failure(AttemptOutcome::kRetryable, "transport",
                                  "cancelled (exporter stopping)");
  }

  void RunWorker(Worker& worker) {
    for (;;) {
      Work work;
      {
        std::unique_lock<std::mutex> lock(mutex_);
        work_.wait(lock, [&] { return stopped_ || !queue_.empty(); });
        if (queue_.empty()) return;  // stopped
        work = std::move(queue_.front());
        queue_.pop_front();
      }
      AttemptResult result = Attempt(worker, *work.job);
      work.done(std::move(result));
    }
  }

  std::string OriginOf(const OtlpEndpoint& endpoint) const {
    return fmt::format("{}://{}", config_.client.UsesTls(endpoint) ? "https" : "http",
                       endpoint.authority());
  }

  bool OverridesName(const OtlpEndpoint& endpoint) const {
    const auto& tls = config_.client.tls;
    return tls && !tls->server_name_override.empty() && config_.client.UsesTls(endpoint);
  }

  // A client is kept only once fully built: a failed build leaves nothing behind
  // for the next attempt or for CancelAll.
  arrow::Result<httplib::ClientImpl*> ClientFor(Worker& worker,
                                                const OtlpEndpoint& endpoint) {
    const std::string origin = OriginOf(endpoint);
    {
      std::lock_guard<std::mutex> lock(worker.mutex);
      if (auto it = worker.clients.find(origin); it != worker.clients.end()) {
        return it->second.get();
      }
    }
    std::unique_ptr<httplib::ClientImpl> made;
    if (config_.client.UsesTls(endpoint)) {
      ARROW_ASSIGN_OR_RAISE(made, MakeTlsClient(endpoint, worker.address_turn[origin]));
    } else {
      made = std::make_unique<httplib::ClientImpl>(endpoint.host, endpoint.port);
    }
    made->set_keep_alive(true);
    made->set_connection_timeout(config_.client.connect_timeout);
    const auto timeout = config_.client.timeout.value_or(std::chrono::seconds(30));
    made->set_read_timeout(timeout);
    made->set_write_timeout(timeout);
    std::lock_guard<std::mutex> lock(worker.mutex);
    auto& client = worker.clients[origin];
    client = std::move(made);
    return client.get();
  }

  // After a transport failure with server_name_override the client is dropped:
  // the next attempt resolves the endpoint again and takes its next address.
  void ForgetClient(Worker& worker, const OtlpEndpoint& endpoint) {
    if (!OverridesName(endpoint)) return;  // cpp-httplib resolves per connection
    const std::string origin = OriginOf(endpoint);
    ++worker.address_turn[origin];
    std::lock_guard<std::mutex> lock(worker.mutex);
    worker.clients.erase(origin);
  }

  // The client certificate, key and CA come from files or inline PEM; the config
  // holds the PEM text of both (cpp-httplib takes OpenSSL objects).
  // `turn`: which of the endpoint's addresses to connect to, with server_name_override.
  arrow::Result<std::unique_ptr<httplib::SSLClient>> MakeTlsClient(
      const OtlpEndpoint& endpoint, size_t turn) const {
    const auto& tls = config_.client.tls;
    // server_name_override: the client works with that name (SNI, certificate
    // check, Host header, as gRPC's target name override does) and connects to
    // the endpoint's address, which cpp-httplib takes as a numeric one: one of
    // them per client, in turn across transport failures.
    const bool override_name = OverridesName(endpoint);
    const std::string& host = override_name ? tls->server_name_override : endpoint.host;
    std::unique_ptr<httplib::SSLClient> client;
    if (tls && !tls->cert_pem.empty()) {
      ARROW_ASSIGN_OR_RAISE(auto cert, util::PemCertificate(tls->cert_pem, "tls.cert"));
      ARROW_ASSIGN_OR_RAISE(auto key, util::PemPrivateKey(tls->key_pem, "tls.key"));
      // Certificate and key are reference counted by the client's SSL_CTX.
      client = std::make_unique<httplib::SSLClient>(host, endpoint.port, cert.get(),
                                                    key.get());
    } else {
      client = std::make_unique<httplib::SSLClient>(host, endpoint.port);
    }
    if (!client->is_valid()) {
      return arrow::Status::Invalid("cannot use the TLS client certificate / key");
    }
    if (override_name) {
      ARROW_ASSIGN_OR_RAISE(auto addresses, NumericAddresses(endpoint.host));
      client->set_hostname_addr_map({{host, addresses[turn % addresses.size()]}});
    }
    // Without a CA path cpp-httplib calls SSL_CTX_set_default_verify_paths, whose
    // OSSL_STORE lookup crashes with Debian's OpenSSL 3.0 in this process; name the
    // system bundle (a plain file load) instead.
    if (tls && !tls->ca_file.empty()) {
      client->set_ca_cert_path(tls->ca_file);
    } else if (tls && !tls->ca_pem.empty()) {
      ARROW_ASSIGN_OR_RAISE(auto store, util::PemCertificateStore(tls->ca_pem, "tls.ca"));
      client->set_ca_cert_store(store.release());  // the client takes the store
      // The system bundle is added to that store; /dev/null as a hashed-certificate
      // directory adds nothing (and keeps the default paths unused).
      if (tls->include_system_ca_certs_pool) {
        client->set_ca_cert_path(X509_get_default_cert_file());
      } else {
        client->set_ca_cert_path("", "/dev/null");
      }
    } else {
      client->set_ca_cert_path(X509_get_default_cert_file());
    }
    client->enable_server_certificate_verification(true);
    return client;
  }

  arrow::Status Encode(OtlpExportJob& job) const {
    if (!job.body.empty()) return arrow::Status::OK();
    if (config_.encoding == OtlpHttpExporterConfig::Encoding::kJson) {
      ARROW_ASSIGN_OR_RAISE(job.body, otlp::ToOtlpJson(job.request));
      return arrow::Status::OK();
    }
    const bool ok = std::visit(
        [&](const auto& request) { return request.SerializeToString(&job.body); },
        job.request);
    if (!ok) return arrow::Status::Invalid("cannot serialize the OTLP request");
    return arrow::Status::OK();
  }

  AttemptResult Attempt(Worker& worker, OtlpExportJob& job) {
    AttemptResult result;
    if (auto st = Encode(job); !st.ok()) {
      return AttemptResult::Failure(AttemptOutcome::kPermanent, "encoding",
                                    st.ToString());
    }
    result.bytes_sent = static_cast<int64_t>(job.body.size());
    const int signal = static_cast<int>(job.signal);
    auto maybe_client = ClientFor(worker, config_.EndpointOf(signal));
    if (!maybe_client.ok()) {
      // Name resolution may succeed later; certificates and keys will not.
      if (maybe_client.status().IsIOError()) {
        return AttemptResult::Failure(AttemptOutcome::kRetryable, "transport",
                                      maybe_client.status().message());
      }
      return AttemptResult::Failure(AttemptOutcome::kPermanent, "tls",
                                    maybe_client.status().ToString());
    }
    httplib::ClientImpl* client = *maybe_client;
    httplib::Headers headers;
    for (const auto& [name, value] : config_.client.headers) headers.emplace(name, value);
    if (!config_.client.user_agent.empty()) {
      headers.emplace("User-Agent", config_.client.user_agent);
    }
    const char* content_type = config_.encoding == OtlpHttpExporterConfig::Encoding::kJson
                                   ? "application/json"
                                   : "application/x-protobuf";
    httplib::Request request;
    if (config_.client.compression != OtlpCompression::kNone) {
      const bool zstd = config_.client.compression == OtlpCompression::kZstd;
      // ClientImpl::send (unlike Post) does not compress: gzip made here.
      auto compressed = zstd ? util::ZstdCompress(job.body)
                             : util::Deflate(job.body, util::DeflateFormat::kGzip);
      if (!compressed.ok()) {
        return AttemptResult::Failure(AttemptOutcome::kPermanent, "encoding",
                                      compressed.status().ToString());
      }
      request.body = std::move(*compressed);
      headers.emplace("Content-Encoding", zstd ? "zstd" : "gzip");
    }
    if (config_.client.compression == OtlpCompression::kNone) request.body = job.body;
    request.method = "POST";
    request.path = config_.PathOf(signal);
    request.headers = std::move(headers);
    request.set_header("Content-Type", content_type);
    // The answer's body is read up to max_response_body_length: past it the read
    // stops (and the connection is closed) so a peer cannot make us hold more.
    const size_t max_body = static_cast<size_t>(config_.max_response_body_length);
    std::string response_body;
    bool truncated = false;
    request.content_receiver = [&](const char* data, size_t size, uint64_t, uint64_t) {
      const size_t room = max_body - response_body.size();
      response_body.append(data, std::min(size, room));
      truncated = size > room;
      return !truncated;
    };
    httplib::Response response;
    httplib::Error error = httplib::Error::Success;
    const bool sent = client->send(request, response, error);
    if (!sent && !(truncated && error == httplib::Error::Canceled)) {
      result.outcome = AttemptOutcome::kRetryable;
      result.reason = "transport";
      result.message = httplib::to_string(error);
      ForgetClient(worker, config_.EndpointOf(signal));
      if (config_.EndpointOf(signal).https && error == httplib::Error::Connection) {
        result.message += " (connect or TLS handshake failed)";
      }
      return result;
    }
    // A cut body still has its status: a success stays one (its partial_success,
    // beyond the limit, is not read), a failure keeps its class.
    const int status = response.status;
    result.outcome = ClassifyHttpStatus(status);
    const std::string response_type = response.get_header_value("Content-Type");
    const bool protobuf = response_type.find("protobuf") != std::string::npos;
    // An OTLP/JSON answer (to a JSON request) carries partialSuccess too.
    const bool json = response_type.find("json") != std::string::npos;
    if (result.outcome == AttemptOutcome::kSuccess) {
      if ((protobuf || json) && !response_body.empty() && !truncated) {
        ReadPartialSuccess(job.signal, response_body, json, &result);
      }
      return result;
    }
    result.reason = fmt::format("http_{}", status);
    std::optional<std::string> message;
    if (protobuf && !truncated) message = MessageFromRpcStatus(response_body);
    result.message = Printable(message ? *message : response_body);
    if (response.has_header("Retry-After")) {
      result.retry_after = ParseRetryAfter(response.get_header_value("Retry-After"));
    }
    return result;
  }

  const OtlpHttpExporterConfig config_;
  std::mutex mutex_;
  std::condition_variable work_;
  std::deque<Work> queue_;
  bool stopped_ = false;
  std::vector<std::unique_ptr<Worker>> workers_;
};

arrow::Result<std::unique_ptr<engine::Node>> MakeOtlpHttpExporter(
    const engine::NodeSettings& settings, const YAML::Node& yaml) {
  ARROW_ASSIGN_OR_RAISE(auto config, config::ParseTyped<OtlpHttpExporterConfig>(
                                         yaml, settings.config_path));
  OtlpExporter::Options options;
  options.kind = "exporter:otlp_http";
  options.metric_prefix = "otlp_http";
  options.metrics = &kOtlpHttpExporterMetrics;
  options.target = config.endpoint.origin() + config.endpoint.path;
  options.client = config.client;
  options.make_transport = [config](spdlog::logger& logger) {
    return MakeOtlpHttpTransport(config, logger);
  };
  return std::unique_ptr<engine::Node>(new OtlpExporter(std::move(options)));
}

}  // namespace

arrow::Result<std::unique_ptr<OtlpTransport>> MakeOtlpHttpTransport(
    const OtlpHttpExporterConfig& config, spdlog::logger& logger) {
  const auto& tls = config.client.tls;
  if (tls && !tls->server_name_override.empty()) {
    bool any_tls = false;
    for (int signal = 0; signal < 3; ++signal) {
      any_tls |= config.client.UsesTls(config.EndpointOf(signal));
    }
    if (!any_tls) {
      logger.warn(
          "tls.server_name_override \"{}\" is unused: no endpoint is https:// with TLS",
          tls->server_name_override);
    }
  }
  return std::unique_ptr<OtlpTransport>(new HttpTransport(config));
}

const engine::NodeFactory kOtlpHttpExporterFactory{
    .urn = "urn:otel:exporter:otlp_http",
    .kind = engine::NodeKind::kExporter,
    .description =
        "sends OTLP/HTTP export requests (protobuf or JSON; retries, TLS, gzip or zstd)",
    .validate_config = &config::ValidateTyped<OtlpHttpExporterConfig>,
    .create = &MakeOtlpHttpExporter};

}  // namespace otap_parquet::nodes
