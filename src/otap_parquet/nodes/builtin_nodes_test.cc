// SPDX-License-Identifier: Apache-2.0
#include "otap_parquet/nodes/builtin_nodes.h"

#include <spdlog/spdlog.h>

#include "otap_parquet/engine/engine.h"
#include "otap_parquet/testing/gtest_util.h"

namespace otap_parquet::nodes {
namespace {

using ::testing::HasSubstr;

// The smallest valid config of each built-in node.
const char* MinimalConfig(const std::string& urn) {
  if (urn == "urn:otel:receiver:traffic_generator") {
    return "traffic_config: {log_weight: 1}";
  }
  if (urn == "urn:otel:receiver:parquet") {
    // Creating the node opens nothing (the dataset is opened in Start).
    return "base_uri: /nonexistent/otap-parquet-conformance";
  }
  if (urn == "urn:otel:exporter:file") {
    // Creating the node opens nothing (files open on first use).
    return "path: /nonexistent/otap-parquet-conformance/{signal}.jsonl";
  }
  if (urn == "urn:otel:receiver:otlp") {
    // Creating the node binds nothing (the servers start in Start).
    return "protocols: {grpc: {listening_addr: 127.0.0.1:4317}}";
  }
  if (urn == "urn:otel:receiver:otap") {
    // Creating the node binds nothing (the server starts in Start).
    return "listening_addr: 127.0.0.1:4317";
  }
  if (urn == "urn:otel:exporter:parquet") {
    // Creating the node opens nothing (storage is opened in Start).
    return "storage: {file: {base_uri: /nonexistent/otap-parquet-conformance}}";
  }
  // Creating the OTLP exporters connects nothing (the transport starts in Start).
  if (urn == "urn:otel:exporter:otlp_grpc") return "grpc_endpoint: http://127.0.0.1:4317";
  if (urn == "urn:otel:exporter:otap") return "grpc_endpoint: http://127.0.0.1:4317";
  if (urn == "urn:otel:exporter:otlp_http") return "endpoint: http://127.0.0.1:4318";
  return "";
}

// Scenario: the factory conformance suite over every built-in node.
// Guarantees: the registry has them all; the minimal config validates and
// creates a node of the factory's kind; two fresh instances are independent.
TEST(NodeFactoryTest, EveryBuiltinFactoryConforms) {
  const engine::Registry& registry = BuiltinRegistry();
  const auto urns = registry.urns();
  EXPECT_EQ(urns, (std::vector<std::string>{
                      "urn:otel:exporter:console", "urn:otel:exporter:file",
                      "urn:otel:exporter:noop", "urn:otel:exporter:otap",
                      "urn:otel:exporter:otlp_grpc", "urn:otel:exporter:otlp_http",
                      "urn:otel:exporter:parquet", "urn:otel:processor:batch",
                      "urn:otel:processor:debug", "urn:otel:receiver:otap",
                      "urn:otel:receiver:otlp", "urn:otel:receiver:parquet",
                      "urn:otel:receiver:traffic_generator"}));
  for (const auto& urn : urns) {
    SCOPED_TRACE(urn);
    const engine::NodeFactory* factory = registry.Find(urn);
    ASSERT_NE(factory, nullptr);
    const YAML::Node config = YAML::Load(MinimalConfig(urn));
    config::ConfigErrors errors;
    factory->validate_config(config, "n.config", &errors);
    EXPECT_TRUE(errors.empty()) << errors.ToStatus().ToString();
    engine::NodeSettings settings;
    settings.node_id = "n";
    settings.urn = config::ParseNodeUrn(urn).ValueOrDie();
    settings.config_path = "n.config";
    settings.logger = spdlog::default_logger();
    ASSERT_OK_AND_ASSIGN(auto first, factory->create(settings, config));
    ASSERT_OK_AND_ASSIGN(auto second, factory->create(settings, config));
    EXPECT_EQ(first->kind(), factory->kind);
    EXPECT_NE(first.get(), second.get());
  }
}

// Scenario: registering a factory whose URN is not canonical, of the wrong kind,
// or twice.
// Guarantees: each is refused with Invalid.
TEST(NodeFactoryTest, RegistryRejectsBadFactories) {
  engine::Registry registry;
  ASSERT_OK(RegisterBuiltinNodes(registry));
  engine::NodeFactory dup = *registry.Find("urn:otel:exporter:noop");
  ASSERT_RAISES(Invalid, registry.Register(dup));
  dup.urn = "exporter:other";
  ASSERT_RAISES(Invalid, registry.Register(dup));
  dup.urn = "urn:otel:receiver:other";
  ASSERT_RAISES(Invalid, registry.Register(dup));
}

// Scenario: the engine runs a pipeline of built-in nodes (traffic generator ->
// batch -> noop) with 2 instances.
// Guarantees: two share-nothing instances each produce their max_batches, all of
// it is Acked, and the Prometheus text has both cores.
TEST(EngineTest, RunsOneInstancePerCore) {
  const std::string yaml = R"(version: otel_dataflow/v1
groups:
  default:
    pipelines:
      main:
        nodes:
          gen:
            type: receiver:traffic_generator
            config:
              traffic_config: {signals_per_second: null, max_batch_size: 20, log_weight: 1, trace_weight: 1}
              max_batches: 25
          batch: {type: processor:batch, config: {otap: {min_size: 100, sizer: items}}}
          out: {type: exporter:noop}
        connections:
          - {from: gen, to: batch}
          - {from: batch, to: out}
)";
  ASSERT_OK_AND_ASSIGN(auto config,
                       engine::ParseAndValidate(yaml, "engine.yaml", BuiltinRegistry()));
  engine::EngineOptions options;
  options.num_cores = 2;
  ASSERT_OK_AND_ASSIGN(auto engine,
                       engine::Engine::Make(config, BuiltinRegistry(), options));
  ASSERT_EQ(engine->num_instances(), 2u);
  ASSERT_OK(engine->Run());
  EXPECT_EQ(engine->metrics().Sum("gen", &engine::NodeMetrics::sent_batches), 50);
  EXPECT_EQ(engine->metrics().Sum("gen", &engine::NodeMetrics::acked), 50);
  EXPECT_EQ(engine->metrics().Sum("gen", &engine::NodeMetrics::sent_items), 1000);
  EXPECT_EQ(engine->metrics().Sum("out", &engine::NodeMetrics::received_items), 1000);
  const std::string text = engine->metrics().RenderPrometheus();
  EXPECT_THAT(text, HasSubstr("otap_node_acked_total{group=\"default\",pipeline=\"main\","
                              "node=\"gen\",urn=\"urn:otel:receiver:traffic_generator\","
                              "core=\"1\"} 25"));
  EXPECT_THAT(text, HasSubstr("# TYPE otap_node_queue_depth gauge"));
}

}  // namespace
}  // namespace otap_parquet::nodes
