// SPDX-License-Identifier: Apache-2.0
#include "otap_parquet/nodes/exporters/otap/otap_exporter.h"

#include <chrono>
#include <functional>
#include <memory>
#include <string>
#include <thread>

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include "otap_parquet/config/config_reader.h"
#include "otap_parquet/engine/testing/fake_effect.h"
#include "otap_parquet/generator/test_batches.h"
#include "otap_parquet/nodes/exporters/otlp/otlp_exporter.h"
#include "otap_parquet/testing/gtest_util.h"

namespace otap_parquet::nodes {
namespace {

using ::testing::HasSubstr;

std::string Errors(const std::string& yaml) {
  config::ConfigErrors errors;
  kOtapExporterFactory.validate_config(YAML::Load(yaml), "nodes.x.config", &errors);
  return errors.empty() ? "" : errors.ToStatus().ToString();
}

OtapExporterConfig Parse(const std::string& yaml) {
  config::ConfigErrors errors;
  config::ConfigReader reader(YAML::Load(yaml), "x", &errors);
  auto config = OtapExporterConfig::Read(reader);
  reader.Finish();
  EXPECT_TRUE(errors.empty()) << errors.ToStatus().ToString();
  return config;
}

// Scenario: exporter:otap configs: upstream's Rust keys, Go's `arrow` block, the
// shared exporter:otlp_grpc keys, and mistakes.
// Guarantees: valid ones pass with the documented defaults (one stream, 30 s
// lifetime, IPC zstd, no gRPC compression, 64 in flight); gRPC zstd (which gRPC C++
// cannot send) and unknown keys are refused with their path.
TEST(OtapExporterConfig, KeysDefaultsAndErrors) {
  const auto defaults = Parse("grpc_endpoint: http://127.0.0.1:4317");
  EXPECT_EQ(defaults.num_streams, 1);
  EXPECT_EQ(defaults.max_stream_lifetime, std::chrono::seconds(30));
  EXPECT_TRUE(defaults.payload_zstd);
  EXPECT_FALSE(defaults.payload_zstd_level.has_value());
  EXPECT_TRUE(defaults.send_metric_attrs);
  EXPECT_FALSE(defaults.disable_downgrade);
  EXPECT_EQ(defaults.grpc.client.compression, OtlpCompression::kNone);
  EXPECT_EQ(defaults.grpc.client.max_in_flight, 64);
  EXPECT_EQ(defaults.max_message_size, 4 << 20);
  EXPECT_EQ(defaults.batch_timeout, std::chrono::seconds(60));
  EXPECT_FALSE(defaults.grpc.client.timeout.has_value());

  const auto c = Parse(
      "grpc_endpoint: http://127.0.0.1:4317\n"
      "compression_method: gzip\n"
      "stream_queue_capacity: 64\n"
      "streams_per_signal: 2\n"
      "send_metric_attrs: false\n"
      "max_message_size: 1MiB\n"
      "timeout: 2s\n"
      "headers: {x-tenant: a}\n"
      "arrow: {payload_compression: none, max_stream_lifetime: 0s, "
      "disable_downgrade: true, id_dialect: go, payload_compression_level: -3}\n");
  EXPECT_EQ(c.num_streams, 2);
  EXPECT_EQ(c.grpc.client.compression, OtlpCompression::kGzip);
  EXPECT_FALSE(c.payload_zstd);
  EXPECT_EQ(c.payload_zstd_level, -3);
  EXPECT_FALSE(c.send_metric_attrs);
  EXPECT_TRUE(c.disable_downgrade);
  EXPECT_EQ(c.id_dialect, IdDialect::kGo);
  EXPECT_EQ(defaults.id_dialect, IdDialect::kRust);
  EXPECT_EQ(c.max_stream_lifetime.count(), 0);
  EXPECT_EQ(c.max_message_size, 1 << 20);
  EXPECT_EQ(c.batch_timeout, std::chrono::seconds(2));
  ASSERT_EQ(c.grpc.client.headers.size(), 1u);

  EXPECT_THAT(Errors("grpc_endpoint: h:1\ncompression: zstd"),
              HasSubstr("zstd is not supported"));
  EXPECT_THAT(Errors("grpc_endpoint: h:1\narrow: {payload_compression: lz4}"),
              HasSubstr("nodes.x.config.arrow.payload_compression"));
  EXPECT_THAT(Errors("grpc_endpoint: h:1\narrow: {payload_compression_level: 23}"),
              HasSubstr("nodes.x.config.arrow.payload_compression_level"));
  EXPECT_THAT(Errors("grpc_endpoint: h:1\narrow: {id_dialect: java}"),
              HasSubstr("nodes.x.config.arrow.id_dialect"));
  EXPECT_THAT(Errors("grpc_endpoint: h:1\narrow: {num_streamz: 2}"),
              HasSubstr("nodes.x.config.arrow.num_streamz"));
  EXPECT_THAT(Errors("{}"), HasSubstr("missing required key grpc_endpoint"));
}

// Scenario: exporter:otap with nothing listening at its endpoint (a peer that is
// down), retries every 5 ms for at most 1 s, max_stream_failures 2.
// Guarantees: the batch is retried until max_elapsed_time and then Nacked
// retryable ("retries exhausted"): streams that failed before the batch was written
// are no strike against it (it used to be Nacked permanently after 2 attempts, as
// if the batch had killed the streams).
TEST(OtapExporter, PeerDownIsRetryableNotAStreamKiller) {
  fakes::FakeEffect effect{"otap"};
  auto sink = std::make_shared<fakes::Outcomes>();
  engine::NodeSettings settings;
  settings.node_id = "otap";
  settings.config_path = "nodes.otap.config";
  auto node =
      kOtapExporterFactory
          .create(settings, YAML::Load("grpc_endpoint: http://127.0.0.1:1\n"
                                       "max_stream_failures: 2\n"
                                       "retry_on_failure: {initial_interval: 5ms, "
                                       "max_interval: 5ms, max_elapsed_time: 1s}\n"))
          .ValueOrDie();
  auto* exporter = static_cast<OtlpExporter*>(node.get());
  ASSERT_OK(exporter->Start(effect));
  engine::PData msg(testing::LogsBatch(3, 1));
  msg.context.Subscribe(sink, {.node_index = 0, .calldata = 1});
  ASSERT_OK(exporter->Export(std::move(msg), effect));
  for (int i = 0; i < 2000 && sink->settled() == 0; ++i) {
    std::this_thread::sleep_for(std::chrono::milliseconds(5));
  }
  ASSERT_EQ(sink->settled(), 1u);
  ASSERT_EQ(sink->nacks.size(), 1u);
  EXPECT_FALSE(sink->nacks[0].permanent) << sink->nacks[0].reason;
  EXPECT_THAT(sink->nacks[0].reason, HasSubstr("retries exhausted"));
  EXPECT_GT(effect.metrics().extra("otap_requests_sent"), 2);
}

}  // namespace
}  // namespace otap_parquet::nodes
