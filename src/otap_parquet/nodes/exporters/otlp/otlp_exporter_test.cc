// SPDX-License-Identifier: Apache-2.0
#include "otap_parquet/nodes/exporters/otlp/otlp_exporter.h"

#include <chrono>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include <httplib.h>
#include <spdlog/spdlog.h>

#include "otap_parquet/engine/registry.h"
#include "otap_parquet/engine/testing/fake_effect.h"
#include "otap_parquet/generator/otlp_generator.h"
#include "otap_parquet/generator/test_batches.h"
#include "otap_parquet/nodes/builtin_nodes.h"
#include "otap_parquet/nodes/exporters/otlp/grpc_exporter.h"
#include "otap_parquet/nodes/exporters/otlp/http_exporter.h"
#include "otap_parquet/otlp/convert.h"
#include "otap_parquet/testing/gtest_util.h"

namespace otap_parquet::nodes {
namespace {

using ::testing::HasSubstr;
using ::testing::Not;
using namespace std::chrono_literals;

std::string Errors(const engine::NodeFactory& factory, const std::string& yaml) {
  config::ConfigErrors errors;
  factory.validate_config(YAML::Load(yaml), "nodes.x.config", &errors);
  return errors.empty() ? "" : errors.ToStatus().ToString();
}

// Scenario: typical mistakes in an exporter:otlp_grpc config.
// Guarantees: each is reported at once with its YAML path and line; a valid config
// (upstream's keys, our retry_on_failure) passes.
TEST(OtlpExporterConfig, GrpcErrorsCarryTheirPath) {
  const std::string text = Errors(kOtlpGrpcExporterFactory,
                                  "grpc_endpoint: ftp://collector:4317\n"
                                  "timeout: 10 parsecs\n"
                                  "compresion: gzip\n"
                                  "tls: {ca_file: /nonexistent/ca.pem}\n"
                                  "headers: {te: trailers, x-tenant: a}\n"
                                  "max_in_flight: 0\n"
                                  "retry_on_failure: {initial_interval: 1s, "
                                  "max_interval: 10ms, multiplyer: 2}\n");
  EXPECT_THAT(text, HasSubstr("nodes.x.config.grpc_endpoint (line 1): "
                              "\"ftp://collector:4317\": scheme must be http or https"));
  EXPECT_THAT(text, HasSubstr("nodes.x.config.timeout (line 2)"));
  EXPECT_THAT(text, HasSubstr("nodes.x.config.compresion (line 3): unknown key; did you "
                              "mean \"compression\"?"));
  EXPECT_THAT(text, HasSubstr("nodes.x.config.tls.ca_file (line 4): cannot read "
                              "\"/nonexistent/ca.pem\""));
  EXPECT_THAT(text, HasSubstr("te: reserved header"));
  EXPECT_THAT(text, Not(HasSubstr("x-tenant")));
  EXPECT_THAT(text, HasSubstr("nodes.x.config.max_in_flight (line 6)"));
  EXPECT_THAT(text, HasSubstr("nodes.x.config.retry_on_failure.max_interval"));
  EXPECT_THAT(text, HasSubstr("nodes.x.config.retry_on_failure.multiplyer"));

  EXPECT_THAT(Errors(kOtlpGrpcExporterFactory, "{}"),
              HasSubstr("missing required key grpc_endpoint"));
  EXPECT_THAT(Errors(kOtlpGrpcExporterFactory, "grpc_endpoint: http://h:99999"),
              HasSubstr("bad port \"99999\""));
  EXPECT_THAT(Errors(kOtlpGrpcExporterFactory, "grpc_endpoint: h:1\ncompression: zstd"),
              HasSubstr("zstd is not supported"));
  EXPECT_THAT(Errors(kOtlpGrpcExporterFactory,
                     "grpc_endpoint: https://h:1\ntls: {insecure_skip_verify: true}"),
              HasSubstr("insecure_skip_verify"));
  EXPECT_EQ(Errors(kOtlpGrpcExporterFactory,
                   "grpc_endpoint: 127.0.0.1:4317\n"
                   "compression_method: gzip\n"
                   "max_in_flight: 256\n"
                   "num_connections: 2\n"
                   "timeout: 5s\n"
                   "tcp_keepalive: 45s\n"
                   "http2_keepalive_interval: 30s\n"
                   "headers: {x-tenant: acme}\n"
                   "retry_on_failure: {enabled: true, initial_interval: 10ms, "
                   "max_interval: 1s, max_elapsed_time: 0s, multiplier: 2}\n"),
            "");
}

// Scenario: exporter:otlp_http configs, good and bad.
// Guarantees: errors name the key under `http` and the top level; the request
// paths follow the endpoint (base + /v1/<signal>) or the per-signal URLs.
TEST(OtlpExporterConfig, Http) {
  const std::string text = Errors(kOtlpHttpExporterFactory,
                                  "endpoint: http://h:4318\n"
                                  "encoding: xml\n"
                                  "http:\n"
                                  "  timeout: -1s\n"
                                  "  headers: {Content-Type: text/plain}\n"
                                  "  tls: {cert_file: /nonexistent/c.pem}\n");
  EXPECT_THAT(text, HasSubstr("nodes.x.config.encoding (line 2)"));
  EXPECT_THAT(text, HasSubstr("nodes.x.config.http.timeout (line 4)"));
  EXPECT_THAT(text, HasSubstr("Content-Type: reserved header"));
  EXPECT_THAT(text, HasSubstr("nodes.x.config.http.tls.cert_file (line 6): cannot read"));
  EXPECT_THAT(Errors(kOtlpHttpExporterFactory, "client_pool_size: 2"),
              HasSubstr("missing required key endpoint"));

  auto parsed = config::ParseTyped<OtlpHttpExporterConfig>(
      YAML::Load("endpoint: https://collector:4318/otlp/\n"
                 "metrics_endpoint: http://m:9090/api/v1/otlp/v1/metrics\n"
                 "client_pool_size: 2\n"
                 "http: {compression: gzip, timeout: 2s}\n"),
      "x");
  ASSERT_OK(parsed.status());
  EXPECT_EQ(parsed->PathOf(static_cast<int>(Signal::kLogs)), "/otlp/v1/logs");
  EXPECT_EQ(parsed->PathOf(static_cast<int>(Signal::kMetrics)),
            "/api/v1/otlp/v1/metrics");
  EXPECT_EQ(parsed->EndpointOf(static_cast<int>(Signal::kMetrics)).authority(), "m:9090");
  EXPECT_TRUE(parsed->endpoint.https);
  EXPECT_EQ(parsed->endpoint.port, 4318);
  EXPECT_EQ(parsed->client.compression, OtlpCompression::kGzip);

  auto zstd = config::ParseTyped<OtlpHttpExporterConfig>(
      YAML::Load("endpoint: http://h:4318\nhttp: {compression: zstd}\n"), "x");
  ASSERT_OK(zstd.status());
  EXPECT_EQ(zstd->client.compression, OtlpCompression::kZstd);
  EXPECT_THAT(
      Errors(kOtlpHttpExporterFactory,
             "endpoint: http://h:4318\nhttp: {compression: deflate}"),
      HasSubstr("deflate is not supported by this exporter; use gzip, zstd or none"));
}

// Scenario: answers of OTLP peers.
// Guarantees: the Collector's / upstream's retryable set, Retry-After in both
// forms, and RetryInfo from a google.rpc.Status built by hand.
TEST(OtlpRetry, ClassificationAndHints) {
  for (int code : {1, 2, 4, 8, 10, 11, 14, 15}) {
    EXPECT_EQ(ClassifyGrpcCode(code), AttemptOutcome::kRetryable) << code;
  }
  for (int code : {3, 5, 7, 9, 12, 13, 16}) {
    EXPECT_EQ(ClassifyGrpcCode(code), AttemptOutcome::kPermanent) << code;
  }
  EXPECT_EQ(GrpcCodeName(14), "UNAVAILABLE");
  for (int status : {429, 502, 503, 504}) {
    EXPECT_EQ(ClassifyHttpStatus(status), AttemptOutcome::kRetryable) << status;
  }
  for (int status : {400, 401, 403, 404, 413, 500}) {
    EXPECT_EQ(ClassifyHttpStatus(status), AttemptOutcome::kPermanent) << status;
  }
  EXPECT_EQ(ClassifyHttpStatus(200), AttemptOutcome::kSuccess);

  EXPECT_EQ(ParseRetryAfter(" 7 "), std::chrono::nanoseconds(7s));
  EXPECT_EQ(ParseRetryAfter("Sun, 06 Nov 1994 08:49:37 GMT"),
            std::chrono::nanoseconds(0));
  EXPECT_FALSE(ParseRetryAfter("soon").has_value());

  // google.rpc.Status{code: 14, details: [Any{RetryInfo{retry_delay: 2.5s}}]}.
  const std::string duration = std::string("\x08\x02\x10", 3) + "\x80\xca\xb5\xee\x01";
  const std::string retry_info =
      "\x0a" + std::string(1, char(duration.size())) + duration;
  const std::string type_url = "type.googleapis.com/google.rpc.RetryInfo";
  const std::string any = "\x0a" + std::string(1, char(type_url.size())) + type_url +
                          "\x12" + std::string(1, char(retry_info.size())) + retry_info;
  const std::string status =
      std::string("\x08\x0e", 2) + "\x1a" + std::string(1, char(any.size())) + any;
  EXPECT_EQ(RetryDelayFromStatusDetails(status), std::chrono::nanoseconds(2500ms));
  EXPECT_FALSE(RetryDelayFromStatusDetails(std::string("\x08\x0e", 2)).has_value());
  const std::string rpc_status = std::string("\x08\x03\x12\x03", 4) + "bad";
  EXPECT_EQ(MessageFromRpcStatus(rpc_status), "bad");
}

// Scenario: peers whose retry hints do not fit in nanoseconds: Retry-After
// delay-seconds of 10^10 and past int64, a date in the year 9999, RetryInfo
// durations of 2^62 s and 2^62 ns.
// Guarantees: each is a positive delay of at most a year, so `now + hint` cannot
// overflow (a wrapped, negative hint used to retry at once, in a loop).
TEST(OtlpRetry, HugeHintsAreCapped) {
  const auto year = std::chrono::nanoseconds(std::chrono::hours(24 * 365));
  // RetryInfo{retry_delay: Duration{seconds, nanos}} in a google.rpc.Status.
  auto status_with = [](uint64_t seconds, uint64_t nanos) {
    auto varint = [](uint64_t v) {
      std::string out;
      for (; v >= 0x80; v >>= 7) out.push_back(static_cast<char>((v & 0x7f) | 0x80));
      out.push_back(static_cast<char>(v));
      return out;
    };
    auto field = [](char tag, const std::string& bytes) {
      return std::string(1, tag) + std::string(1, char(bytes.size())) + bytes;
    };
    const std::string duration = "\x08" + varint(seconds) + "\x10" + varint(nanos);
    const std::string any = field('\x0a', "type.googleapis.com/google.rpc.RetryInfo") +
                            field('\x12', field('\x0a', duration));
    return std::string("\x08\x08", 2) + field('\x1a', any);
  };
  std::vector<std::optional<std::chrono::nanoseconds>> hints = {
      ParseRetryAfter("10000000000"),
      ParseRetryAfter("99999999999999999999"),
      ParseRetryAfter("Fri, 31 Dec 9999 23:59:59 GMT"),
      RetryDelayFromStatusDetails(status_with(uint64_t{1} << 62, 0)),
      RetryDelayFromStatusDetails(status_with(9223372036, 999999999)),
      RetryDelayFromStatusDetails(status_with(0, uint64_t{1} << 62))};
  for (size_t i = 0; i < hints.size(); ++i) {
    ASSERT_TRUE(hints[i].has_value()) << i;
    EXPECT_EQ(*hints[i], year) << i;
  }
  EXPECT_EQ(RetryDelayFromStatusDetails(status_with(3, 5)),
            std::chrono::nanoseconds(3s) + std::chrono::nanoseconds(5));
}

// Scenario: the backoff of retries 1..10 with initial 100ms, ×2, max 1s, ±50%.
// Guarantees: each delay stays in its jitter window, capped at max_interval·1.5,
// and never below the peer's hint.
TEST(OtlpRetry, BackoffGrowsWithJitterAndHonorsHints) {
  OtlpRetryConfig config;
  config.initial_interval = 100ms;
  config.max_interval = 1s;
  config.multiplier = 2;
  config.randomization_factor = 0.5;
  util::Backoff backoff(config.Policy(), 42);
  for (int retry = 1; retry <= 10; ++retry) {
    const double base = std::min(1e9, 1e8 * std::pow(2.0, retry - 1));
    const auto d = backoff.Delay(retry, std::nullopt);
    EXPECT_GE(d.count(), base * 0.5 - 1) << retry;
    EXPECT_LE(d.count(), base * 1.5 + 1) << retry;
  }
  EXPECT_GE(backoff.Delay(1, std::chrono::nanoseconds(3s)), std::chrono::nanoseconds(3s));
}

// Guarantees: retry_on_failure maps key for key onto the engine's backoff policy.
TEST(OtlpRetry, ConfigMapsOntoTheBackoffPolicy) {
  OtlpRetryConfig config;
  const util::BackoffPolicy policy = config.Policy();
  EXPECT_EQ(policy.initial_interval, config.initial_interval);
  EXPECT_EQ(policy.max_interval, config.max_interval);
  EXPECT_EQ(policy.multiplier, config.multiplier);
  EXPECT_EQ(policy.jitter, config.randomization_factor);
  EXPECT_EQ(policy.max_elapsed, config.max_elapsed_time);
}

using fakes::FakeEffect;
using fakes::Outcomes;

engine::PData MakeLogs(int items, uint64_t id, const std::shared_ptr<Outcomes>& sink) {
  engine::PData msg(testing::LogsBatch(items, id));
  msg.context.Subscribe(sink, {.node_index = 0, .calldata = id});
  return msg;
}

bool WaitFor(const std::function<bool()>& done) {
  for (int i = 0; i < 2000 && !done(); ++i) std::this_thread::sleep_for(5ms);
  return done();
}

std::unique_ptr<engine::Node> Create(const engine::NodeFactory& factory,
                                     const std::string& yaml) {
  engine::NodeSettings settings;
  settings.node_id = "otlp";
  settings.config_path = "nodes.otlp.config";
  return factory.create(settings, YAML::Load(yaml)).ValueOrDie();
}

// Scenario: exporter:otlp_grpc with nothing listening at its endpoint, retries of
// 5ms for at most 50ms, max_in_flight 2; three batches.
// Guarantees: intake pauses at 2 in flight; every batch is Nacked retryable with
// UNAVAILABLE and "retries exhausted" in the reason after more than one attempt;
// the slot frees (AcceptsPdata again, Wake called); metrics count the failures.
TEST(OtlpGrpcExporter, PeerDownNacksAfterRetries) {
  // Declared before the node: its in-flight RPCs use them until it is destroyed.
  FakeEffect effect{"otlp"};
  auto sink = std::make_shared<Outcomes>();
  auto node = Create(kOtlpGrpcExporterFactory,
                     "grpc_endpoint: http://127.0.0.1:1\n"
                     "max_in_flight: 2\n"
                     "retry_on_failure: {initial_interval: 5ms, max_interval: 5ms, "
                     "max_elapsed_time: 50ms}\n");
  auto* exporter = static_cast<OtlpExporter*>(node.get());
  ASSERT_OK(exporter->Start(effect));
  ASSERT_OK(exporter->Export(MakeLogs(3, 1, sink), effect));
  ASSERT_OK(exporter->Export(MakeLogs(3, 2, sink), effect));
  EXPECT_FALSE(exporter->AcceptsPdata());
  ASSERT_TRUE(WaitFor([&] { return exporter->AcceptsPdata(); }));
  ASSERT_OK(exporter->Export(MakeLogs(3, 3, sink), effect));
  ASSERT_TRUE(WaitFor([&] { return sink->settled() == 3; }));
  EXPECT_GE(effect.wakes.load(), 1);
  ASSERT_EQ(sink->nacks.size(), 3u);
  for (const auto& nack : sink->nacks) {
    EXPECT_FALSE(nack.permanent);
    EXPECT_THAT(nack.reason, HasSubstr("UNAVAILABLE"));
    EXPECT_THAT(nack.reason, HasSubstr("retries exhausted"));
  }
  auto& m = effect.metrics();
  EXPECT_GT(m.extra("otlp_grpc_retries"), 0);
  EXPECT_GT(m.extra("otlp_grpc_requests_failed", "UNAVAILABLE"), 3);
  EXPECT_EQ(m.extra("otlp_grpc_batches_nacked", "retryable"), 3);
  EXPECT_EQ(m.extra("otlp_grpc_in_flight"), 0);
  auto shutdown = exporter->Shutdown(engine::Clock::now() + 5s, effect);
  EXPECT_TRUE(shutdown.is_finished());
}

// Scenario: an HTTP peer (cpp-httplib's server) answers 400 with a google.rpc.Status
// body to the first request, then 503 with Retry-After: 0 once, then 200.
// Guarantees: the first batch is Nacked permanently at once (one attempt, the
// peer's message in the reason); the second is retried and Acked; the peer saw
// protobuf POSTs on /v1/logs with the configured header; a shutdown with nothing
// pending completes at once.
TEST(OtlpHttpExporter, PermanentErrorThenRetryThenSuccess) {
  httplib::Server server;
  std::mutex mutex;
  std::vector<std::string> tenants;
  int requests = 0;
  server.Post("/v1/logs", [&](const httplib::Request& req, httplib::Response& res) {
    std::lock_guard<std::mutex> lock(mutex);
    tenants.push_back(req.get_header_value("x-tenant") + " " +
                      req.get_header_value("Content-Type"));
    ++requests;
    if (requests == 1) {
      res.status = 400;
      res.set_content(std::string("\x08\x03\x12\x08"
                                  "bad data",
                                  12),
                      "application/x-protobuf");
    } else if (requests == 2) {
      res.status = 503;
      res.set_header("Retry-After", "0");
    } else {
      res.set_content("", "application/x-protobuf");
    }
  });
  const int port = server.bind_to_any_port("127.0.0.1");
  std::thread serving([&] { server.listen_after_bind(); });
  ASSERT_TRUE(WaitFor([&] { return server.is_running(); }));

  // Declared before the node: its in-flight RPCs use them until it is destroyed.
  FakeEffect effect{"otlp"};
  auto sink = std::make_shared<Outcomes>();
  auto node =
      Create(kOtlpHttpExporterFactory,
             "endpoint: http://127.0.0.1:" + std::to_string(port) +
                 "\nmax_in_flight: 1\nclient_pool_size: 1\n"
                 "http: {headers: {x-tenant: acme}, timeout: 5s}\n"
                 "retry_on_failure: {initial_interval: 1ms, max_interval: 1ms}\n");
  auto* exporter = static_cast<OtlpExporter*>(node.get());
  ASSERT_OK(exporter->Start(effect));
  ASSERT_OK(exporter->Export(MakeLogs(2, 1, sink), effect));
  ASSERT_TRUE(WaitFor([&] { return sink->settled() == 1; }));
  ASSERT_EQ(sink->nacks.size(), 1u);
  EXPECT_TRUE(sink->nacks[0].permanent);
  EXPECT_THAT(sink->nacks[0].reason, HasSubstr("http_400: bad data"));
  ASSERT_OK(exporter->Export(MakeLogs(2, 2, sink), effect));
  ASSERT_TRUE(WaitFor([&] { return sink->settled() == 2; }));
  EXPECT_EQ(sink->acked, std::vector<uint64_t>{2});
  EXPECT_TRUE(exporter->Shutdown(engine::Clock::now() + 5s, effect).is_finished());
  auto& m = effect.metrics();
  EXPECT_EQ(m.extra("otlp_http_requests_sent"), 3);
  EXPECT_EQ(m.extra("otlp_http_requests_failed", "http_400"), 1);
  EXPECT_EQ(m.extra("otlp_http_requests_failed", "http_503"), 1);
  EXPECT_EQ(m.extra("otlp_http_retries"), 1);
  EXPECT_EQ(m.extra("otlp_http_items_exported", "logs"), 2);
  EXPECT_EQ(m.extra("otlp_http_batches_nacked", "permanent"), 1);
  node.reset();  // closes the kept-alive connection, so the server stops at once
  server.stop();
  serving.join();
  ASSERT_EQ(tenants.size(), 3u);
  EXPECT_EQ(tenants[0], "acme application/x-protobuf");
}

// Scenario: a metrics batch whose only metric has no data points (found by
// tests/test_roundtrip_random.py: a replay in batches of few metrics lost them),
// exported over HTTP.
// Guarantees: the metric is sent (it is telemetry though it counts no item) and the
// batch Acked; it used to be Acked without being sent.
TEST(OtlpHttpExporter, MetricWithoutDataPointsIsSent) {
  httplib::Server server;
  std::mutex mutex;
  std::vector<std::string> bodies;
  server.Post("/v1/metrics", [&](const httplib::Request& req, httplib::Response& res) {
    std::lock_guard<std::mutex> lock(mutex);
    bodies.push_back(req.body);
    res.set_content("", "application/x-protobuf");
  });
  const int port = server.bind_to_any_port("127.0.0.1");
  std::thread serving([&] { server.listen_after_bind(); });
  ASSERT_TRUE(WaitFor([&] { return server.is_running(); }));

  otlp::MetricsRequest request;
  auto* metric = request.add_resource_metrics()->add_scope_metrics()->add_metrics();
  metric->set_name("queue.depth");
  metric->mutable_sum()->set_is_monotonic(true);
  auto batches = otlp::MetricsToOtap(request);
  ASSERT_OK(batches.status());
  ASSERT_EQ(batches->size(), 1u);
  engine::PData msg(std::move((*batches)[0]));
  ASSERT_EQ(msg.num_items(), 0);
  FakeEffect effect{"otlp"};
  auto sink = std::make_shared<Outcomes>();
  msg.context.Subscribe(sink, {.node_index = 0, .calldata = 1});
  auto node = Create(
      kOtlpHttpExporterFactory,
      "endpoint: http://127.0.0.1:" + std::to_string(port) + "\nclient_pool_size: 1\n");
  auto* exporter = static_cast<OtlpExporter*>(node.get());
  ASSERT_OK(exporter->Start(effect));
  ASSERT_OK(exporter->Export(std::move(msg), effect));
  ASSERT_TRUE(WaitFor([&] { return sink->settled() == 1; }));
  EXPECT_EQ(sink->acked, std::vector<uint64_t>{1});
  node.reset();
  server.stop();
  serving.join();
  ASSERT_EQ(bodies.size(), 1u);
  otlp::MetricsRequest got;
  ASSERT_TRUE(got.ParseFromString(bodies[0]));
  ASSERT_EQ(got.resource_metrics_size(), 1);
  ASSERT_EQ(got.resource_metrics(0).scope_metrics(0).metrics_size(), 1);
  const auto& back = got.resource_metrics(0).scope_metrics(0).metrics(0);
  EXPECT_EQ(back.name(), "queue.depth");
  EXPECT_TRUE(back.has_sum());
  EXPECT_TRUE(back.sum().is_monotonic());
}

// Scenario: exporter:otlp_http with `encoding: json`; the peer answers 200 with an
// OTLP/JSON body whose partialSuccess rejects one of the two log records; to a
// second batch it answers a negative rejected count.
// Guarantees: both batches are Acked (a partial success is not retried or Nacked)
// and the rejection is counted: items_rejected 1, items_exported 1 + 2 (the JSON
// answer used to be ignored, counting both records as exported; a negative count
// must not add exported items).
TEST(OtlpHttpExporter, JsonPartialSuccessIsCounted) {
  httplib::Server server;
  std::mutex mutex;
  std::string content_type;
  int requests = 0;
  server.Post("/v1/logs", [&](const httplib::Request& req, httplib::Response& res) {
    std::lock_guard<std::mutex> lock(mutex);
    content_type = req.get_header_value("Content-Type");
    res.set_content(
        ++requests == 1
            ? R"({"partialSuccess":{"rejectedLogRecords":"1","errorMessage":"dropped"}})"
            : R"({"partialSuccess":{"rejectedLogRecords":"-5"}})",
        "application/json");
  });
  const int port = server.bind_to_any_port("127.0.0.1");
  std::thread serving([&] { server.listen_after_bind(); });
  ASSERT_TRUE(WaitFor([&] { return server.is_running(); }));

  FakeEffect effect{"otlp"};
  auto sink = std::make_shared<Outcomes>();
  auto node = Create(kOtlpHttpExporterFactory,
                     "endpoint: http://127.0.0.1:" + std::to_string(port) +
                         "\nencoding: json\nclient_pool_size: 1\n");
  auto* exporter = static_cast<OtlpExporter*>(node.get());
  ASSERT_OK(exporter->Start(effect));
  ASSERT_OK(exporter->Export(MakeLogs(2, 1, sink), effect));
  ASSERT_TRUE(WaitFor([&] { return sink->settled() == 1; }));
  EXPECT_EQ(sink->acked, std::vector<uint64_t>{1});
  auto& m = effect.metrics();
  EXPECT_EQ(m.extra("otlp_http_items_rejected"), 1);
  EXPECT_EQ(m.extra("otlp_http_items_exported", "logs"), 1);
  ASSERT_OK(exporter->Export(MakeLogs(2, 2, sink), effect));
  ASSERT_TRUE(WaitFor([&] { return sink->settled() == 2; }));
  EXPECT_EQ(sink->acked, (std::vector<uint64_t>{1, 2}));
  EXPECT_EQ(m.extra("otlp_http_items_rejected"), 1);
  EXPECT_EQ(m.extra("otlp_http_items_exported", "logs"), 3);
  EXPECT_EQ(m.extra("otlp_http_requests_sent"), 2);
  node.reset();
  server.stop();
  serving.join();
  EXPECT_EQ(content_type, "application/json");
}

// Scenario: exporter:otlp_http with max_response_body_length 1KiB; the peer answers
// 200 (then 400) with a 32 MiB body, written in 64 KiB pieces as long as the
// exporter reads them.
// Guarantees: the exporter stops reading past the limit and drops the connection
// (the peer's writes fail before the end: the body used to be read whole, into
// memory); the 200 still Acks the batch and the 400 still Nacks its batch
// permanently, with the start of the body as its message.
TEST(OtlpHttpExporter, ResponseBodyIsReadUpToTheLimit) {
  constexpr size_t kBody = 32u << 20;
  constexpr size_t kPiece = 64u << 10;
  httplib::Server server;
  std::mutex mutex;
  std::vector<size_t> written;  // bytes of each answer the peer could write
  int requests = 0;
  server.Post("/v1/logs", [&](const httplib::Request&, httplib::Response& res) {
    size_t index;
    {
      std::lock_guard<std::mutex> lock(mutex);
      index = written.size();
      written.push_back(0);
      res.status = ++requests == 1 ? 200 : 400;
    }
    res.set_content_provider(
        kBody, "text/plain",
        [&, index](size_t offset, size_t length, httplib::DataSink& sink) {
          const std::string piece(std::min(length, kPiece), 'x');
          if (!sink.write(piece.data(), piece.size())) return false;
          std::lock_guard<std::mutex> lock(mutex);
          written[index] = offset + piece.size();
          return true;
        });
  });
  const int port = server.bind_to_any_port("127.0.0.1");
  std::thread serving([&] { server.listen_after_bind(); });
  ASSERT_TRUE(WaitFor([&] { return server.is_running(); }));

  FakeEffect effect{"otlp"};
  auto sink = std::make_shared<Outcomes>();
  auto node = Create(kOtlpHttpExporterFactory,
                     "endpoint: http://127.0.0.1:" + std::to_string(port) +
                         "\nmax_response_body_length: 1KiB\nclient_pool_size: 1\n"
                         "max_in_flight: 1\n");
  auto* exporter = static_cast<OtlpExporter*>(node.get());
  ASSERT_OK(exporter->Start(effect));
  ASSERT_OK(exporter->Export(MakeLogs(2, 1, sink), effect));
  ASSERT_TRUE(WaitFor([&] { return sink->settled() == 1; }));
  EXPECT_EQ(sink->acked, std::vector<uint64_t>{1});
  ASSERT_OK(exporter->Export(MakeLogs(2, 2, sink), effect));
  ASSERT_TRUE(WaitFor([&] { return sink->settled() == 2; }));
  ASSERT_EQ(sink->nacks.size(), 1u);
  EXPECT_TRUE(sink->nacks[0].permanent);
  EXPECT_THAT(sink->nacks[0].reason, HasSubstr("http_400: xxxx"));
  EXPECT_EQ(effect.metrics().extra("otlp_http_requests_sent"), 2);
  node.reset();
  server.stop();  // waits for the handlers: their writes failed or ended
  serving.join();
  ASSERT_EQ(written.size(), 2u);
  EXPECT_LT(written[0], kBody);
  EXPECT_LT(written[1], kBody);
}

// Scenario: a batch waits for a retry 10 minutes away when the shutdown begins
// with a 1-minute deadline: the retry is past it.
// Guarantees: the shutdown does not wait: the batch is Nacked retryable at once,
// with the last error in the reason, and the shutdown future completes.
TEST(OtlpGrpcExporter, ShutdownNacksRetriesPastTheDeadline) {
  // Declared before the node: its in-flight RPCs use them until it is destroyed.
  FakeEffect effect{"otlp"};
  auto sink = std::make_shared<Outcomes>();
  auto node = Create(kOtlpGrpcExporterFactory,
                     "grpc_endpoint: http://127.0.0.1:1\n"
                     "retry_on_failure: {initial_interval: 10m, max_interval: 10m, "
                     "randomization_factor: 0, max_elapsed_time: 0s}\n");
  auto* exporter = static_cast<OtlpExporter*>(node.get());
  ASSERT_OK(exporter->Start(effect));
  ASSERT_OK(exporter->Export(MakeLogs(1, 1, sink), effect));
  ASSERT_TRUE(WaitFor([&] { return effect.metrics().extra("otlp_grpc_retries") == 1; }));
  auto shutdown = exporter->Shutdown(engine::Clock::now() + 1min, effect);
  ASSERT_TRUE(WaitFor([&] { return shutdown.is_finished(); }));
  ASSERT_EQ(sink->nacks.size(), 1u);
  EXPECT_FALSE(sink->nacks[0].permanent);
  EXPECT_THAT(sink->nacks[0].reason, HasSubstr("past the deadline"));
  EXPECT_THAT(sink->nacks[0].reason, HasSubstr("UNAVAILABLE"));  // the last error
}

}  // namespace
}  // namespace otap_parquet::nodes
