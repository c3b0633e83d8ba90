// SPDX-License-Identifier: Apache-2.0
#include "otap_parquet/nodes/exporters/otlp/grpc_exporter.h"

#include <atomic>
#include <condition_variable>
#include <mutex>
#include <set>
#include <utility>
#include <vector>

#include <fmt/format.h>
#include <grpcpp/grpcpp.h>
#include <grpcpp/security/credentials.h>

#include "opentelemetry/proto/collector/logs/v1/logs_service.grpc.pb.h"
#include "opentelemetry/proto/collector/metrics/v1/metrics_service.grpc.pb.h"
#include "opentelemetry/proto/collector/trace/v1/trace_service.grpc.pb.h"
#include "otap_parquet/util/on_destroy.h"

namespace otap_parquet::nodes {

namespace {

namespace logs_v1 = ::opentelemetry::proto::collector::logs::v1;
namespace trace_v1 = ::opentelemetry::proto::collector::trace::v1;
namespace metrics_v1 = ::opentelemetry::proto::collector::metrics::v1;

// One RPC: its context and response live until the callback ran. `gone` is first,
// so it runs after the context released its reference to the call.
struct GrpcCall {
  util::OnDestroy gone;
  grpc::ClientContext context;
  logs_v1::ExportLogsServiceResponse logs;
  trace_v1::ExportTraceServiceResponse traces;
  metrics_v1::ExportMetricsServiceResponse metrics;
};

class GrpcTransport : public OtlpTransport {
 public:
  GrpcTransport(OtlpGrpcExporterConfig config,
                std::vector<std::shared_ptr<grpc::Channel>> channels)
      : config_(std::move(config)) {
    for (auto& channel : channels) {
      logs_.push_back(logs_v1::LogsService::NewStub(channel));
      traces_.push_back(trace_v1::TraceService::NewStub(channel));
      metrics_.push_back(metrics_v1::MetricsService::NewStub(channel));
    }
  }

  ~GrpcTransport() override { Stop(); }

  void Send(const std::shared_ptr<OtlpExportJob>& job, Done done) override {
    auto call = std::make_shared<GrpcCall>();
    {
      std::unique_lock<std::mutex> lock(mutex_);
      if (stopped_) {
        lock.unlock();
        done(AttemptResult::Failure(AttemptOutcome::kRetryable, "CANCELLED",
                                    "exporter stopped"));
        return;
      }
      live_.insert(&call->context);
    }
    // gRPC destroys the callback, and with it the last reference to the call, after
    // the callback returned: Stop() waits for that, not for the callback.
    call->gone.Set([this, context = &call->context] {
      std::lock_guard<std::mutex> lock(mutex_);
      live_.erase(context);
      if (live_.empty()) idle_.notify_all();
    });
    ConfigureContext(call->context);
    const size_t channel = next_channel_++ % logs_.size();
    const int64_t bytes = static_cast<int64_t>(std::visit(
        [](const auto& request) { return request.ByteSizeLong(); }, job->request));
    auto on_status = [this, call, job, done = std::move(done),
                      bytes](grpc::Status status) mutable {
      AttemptResult result = ToResult(status, *call, job->signal);
      result.bytes_sent = bytes;
      done(std::move(result));
      // Drop our reference to the exporter's state here, not later on whatever
      // thread gRPC destroys this callback.
      done = nullptr;
    };
    switch (job->signal) {
      case Signal::kLogs:
        logs_[channel]->async()->Export(&call->context,
                                        &std::get<otlp::LogsRequest>(job->request),
                                        &call->logs, std::move(on_status));
        break;
      case Signal::kTraces:
        traces_[channel]->async()->Export(&call->context,
                                          &std::get<otlp::TracesRequest>(job->request),
                                          &call->traces, std::move(on_status));
        break;
      case Signal::kMetrics:
        metrics_[channel]->async()->Export(&call->context,
                                           &std::get<otlp::MetricsRequest>(job->request),
                                           &call->metrics, std::move(on_status));
        break;
    }
  }

  void CancelAll() override {
    std::lock_guard<std::mutex> lock(mutex_);
    for (auto* context : live_) context->TryCancel();
  }

  void Stop() override {
    std::unique_lock<std::mutex> lock(mutex_);
    stopped_ = true;
    for (auto* context : live_) context->TryCancel();
    idle_.wait(lock, [&] { return live_.empty(); });
  }

 private:
  void ConfigureContext(grpc::ClientContext& context) const {
    if (config_.client.timeout) {
      context.set_deadline(std::chrono::system_clock::now() + *config_.client.timeout);
    }
    if (config_.client.compression == OtlpCompression::kGzip) {
      context.set_compression_algorithm(GRPC_COMPRESS_GZIP);
    }
    for (const auto& [name, value] : config_.client.headers) {
      context.AddMetadata(name, value);
    }
  }

  static AttemptResult ToResult(const grpc::Status& status, const GrpcCall& call,
                                Signal signal) {
    AttemptResult result;
    if (status.ok()) {
      switch (signal) {
        case Signal::kLogs:
          result.rejected_items = call.logs.partial_success().rejected_log_records();
          result.partial_success_message = call.logs.partial_success().error_message();
          break;
        case Signal::kTraces:
          result.rejected_items = call.traces.partial_success().rejected_spans();
          result.partial_success_message = call.traces.partial_success().error_message();
          break;
        case Signal::kMetrics:
          result.rejected_items = call.metrics.partial_success().rejected_data_points();
          result.partial_success_message = call.metrics.partial_success().error_message();
          break;
      }
      return result;
    }
    const int code = static_cast<int>(status.error_code());
    result.outcome = ClassifyGrpcCode(code);
    result.reason = GrpcCodeName(code);
    result.message = status.error_message();
    if (!status.error_details().empty()) {
      result.retry_after = RetryDelayFromStatusDetails(status.error_details());
    }
    return result;
  }

  const OtlpGrpcExporterConfig config_;
  std::vector<std::unique_ptr<logs_v1::LogsService::Stub>> logs_;
  std::vector<std::unique_ptr<trace_v1::TraceService::Stub>> traces_;
  std::vector<std::unique_ptr<metrics_v1::MetricsService::Stub>> metrics_;
  std::atomic<size_t> next_channel_{0};

  std::mutex mutex_;
  std::condition_variable idle_;
  std::set<grpc::ClientContext*> live_;  // not yet destroyed (cancelling a finished
                                         // call is harmless: its context holds it)
  bool stopped_ = false;
};

}  // namespace

std::vector<std::shared_ptr<grpc::Channel>> MakeOtlpGrpcChannels(
    const OtlpGrpcExporterConfig& config, spdlog::logger& logger) {
  std::shared_ptr<grpc::ChannelCredentials> credentials;
  grpc::ChannelArguments args;
  const auto& tls = config.client.tls;
  const bool use_tls = config.client.UsesTls(config.endpoint);
  if (use_tls) {
    grpc::SslCredentialsOptions ssl;
    if (tls) {
      ssl.pem_root_certs = tls->ca_pem;
      ssl.pem_cert_chain = tls->cert_pem;
      ssl.pem_private_key = tls->key_pem;
      if (!tls->server_name_override.empty()) {
        args.SetSslTargetNameOverride(tls->server_name_override);
      }
    }
    credentials = grpc::SslCredentials(ssl);
  } else {
    credentials = grpc::InsecureChannelCredentials();
    if (tls && !tls->server_name_override.empty()) {
      logger.warn("tls.server_name_override \"{}\" is unused: the channel is plaintext",
                  tls->server_name_override);
    }
  }
  args.SetMaxSendMessageSize(-1);
  args.SetMaxReceiveMessageSize(-1);
  // Reconnect soon after the peer comes back: retries are ours, not the channel's.
  args.SetInt(GRPC_ARG_INITIAL_RECONNECT_BACKOFF_MS, 100);
  args.SetInt(GRPC_ARG_MIN_RECONNECT_BACKOFF_MS, 100);
  args.SetInt(GRPC_ARG_MAX_RECONNECT_BACKOFF_MS,
              static_cast<int>(std::min<int64_t>(
                  5000, std::chrono::duration_cast<std::chrono::milliseconds>(
                            config.client.retry.max_interval)
                            .count())));
  args.SetInt(GRPC_ARG_ENABLE_RETRIES, 0);
  if (!config.client.user_agent.empty()) {
    args.SetUserAgentPrefix(config.client.user_agent);
  }
  std::vector<std::shared_ptr<grpc::Channel>> channels;
  for (int64_t i = 0; i < config.num_connections; ++i) {
    grpc::ChannelArguments channel_args = args;
    // Distinct channels get distinct subchannels (TCP connections).
    channel_args.SetInt("grpc.otap_parquet.channel_index", static_cast<int>(i));
    channels.push_back(grpc::CreateCustomChannel(config.endpoint.authority(), credentials,
                                                 channel_args));
  }
  return channels;
}

std::unique_ptr<OtlpTransport> MakeOtlpGrpcTransport(
    const OtlpGrpcExporterConfig& config,
    std::vector<std::shared_ptr<grpc::Channel>> channels) {
  return std::make_unique<GrpcTransport>(config, std::move(channels));
}

arrow::Result<std::unique_ptr<OtlpTransport>> MakeOtlpGrpcTransport(
    const OtlpGrpcExporterConfig& config, spdlog::logger& logger) {
  return MakeOtlpGrpcTransport(config, MakeOtlpGrpcChannels(config, logger));
}

namespace {

arrow::Result<std::unique_ptr<engine::Node>> MakeOtlpGrpcExporter(
    const engine::NodeSettings& settings, const YAML::Node& yaml) {
  ARROW_ASSIGN_OR_RAISE(auto config, config::ParseTyped<OtlpGrpcExporterConfig>(
                                         yaml, settings.config_path));
  OtlpExporter::Options options;
  options.kind = "exporter:otlp_grpc";
  options.metric_prefix = "otlp_grpc";
  options.metrics = &kOtlpGrpcExporterMetrics;
  options.target = config.endpoint.origin();
  options.client = config.client;
  options.make_transport = [config](spdlog::logger& logger) {
    return MakeOtlpGrpcTransport(config, logger);
  };
  return std::unique_ptr<engine::Node>(new OtlpExporter(std::move(options)));
}

}  // namespace

const engine::NodeFactory kOtlpGrpcExporterFactory{
    .urn = "urn:otel:exporter:otlp_grpc",
    .kind = engine::NodeKind::kExporter,
    .description = "sends OTLP export requests over gRPC (retries, TLS, gzip)",
    .validate_config = &config::ValidateTyped<OtlpGrpcExporterConfig>,
    .create = &MakeOtlpGrpcExporter};

}  // namespace otap_parquet::nodes
