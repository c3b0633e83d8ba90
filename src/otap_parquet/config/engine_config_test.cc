// SPDX-License-Identifier: Apache-2.0
#include "otap_parquet/config/engine_config.h"

#include <algorithm>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <set>
#include <sstream>
#include <string>
#include <vector>

#include "otap_parquet/engine/registry.h"
#include "otap_parquet/nodes/builtin_nodes.h"
#include "otap_parquet/testing/gtest_util.h"

namespace otap_parquet::config {
namespace {

using ::testing::HasSubstr;
using ::testing::Not;

std::filesystem::path SourceRoot() {
  // .../src/otap_parquet/config/engine_config_test.cc → repository root
  return std::filesystem::path(__FILE__)
      .parent_path()
      .parent_path()
      .parent_path()
      .parent_path();
}

std::string ReadFile(const std::filesystem::path& path) {
  std::ifstream in(path);
  std::stringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

// All errors (structure + node configs) of a config text, as one string.
std::string Errors(const std::string& yaml) {
  auto result = engine::ParseAndValidate(yaml, "test.yaml", nodes::BuiltinRegistry());
  return result.ok() ? std::string() : result.status().message();
}

constexpr const char* kV1 = R"(version: otel_dataflow/v1
policies:
  channel_capacity:
    pdata: 7
groups:
  default:
    pipelines:
      main:
        nodes:
          gen:
            type: receiver:traffic_generator
            config:
              traffic_config: {log_weight: 1, max_batch_size: 10}
          batch:
            type: urn:otel:processor:batch
          dbg:
            type: processor:debug
            config: {verbosity: basic}
          out:
            type: exporter:noop
        connections:
          - from: gen
            to: batch
          - from: batch
            to: dbg
          - from: dbg
            to: [out]
)";

// Scenario: engine.http_admin with the admin server's deadlines (also under the
// legacy settings.http_admin), then with invalid ones.
// Guarantees: both are read as durations; unset stays unset (the server's
// defaults); a value under 1ms or not a duration is an error naming its key.
TEST(ConfigEngineTest, ReadsHttpAdminDeadlines) {
  const std::string v1 = kV1;
  ASSERT_OK_AND_ASSIGN(
      auto plain, engine::ParseAndValidate(v1, "test.yaml", nodes::BuiltinRegistry()));
  EXPECT_FALSE(plain.http_admin_read_header_timeout);
  EXPECT_FALSE(plain.http_admin_write_timeout);
  const std::string admin =
      "engine:\n  http_admin:\n    bind_address: 127.0.0.1:0\n"
      "    read_header_timeout: 500ms\n    write_timeout: 1m\n";
  ASSERT_OK_AND_ASSIGN(auto set, engine::ParseAndValidate(admin + v1, "test.yaml",
                                                          nodes::BuiltinRegistry()));
  EXPECT_EQ(set.http_admin_read_header_timeout, std::chrono::milliseconds(500));
  EXPECT_EQ(set.http_admin_write_timeout, std::chrono::minutes(1));
  std::string legacy = ReadFile(std::filesystem::path(__FILE__).parent_path() /
                                "testdata" / "good_legacy.yaml");
  ASSERT_EQ(legacy.rfind("settings:\n", 0), 0u);
  legacy.insert(10, "  http_admin: {read_header_timeout: 2s}\n");
  ASSERT_OK_AND_ASSIGN(
      auto old, engine::ParseAndValidate(legacy, "test.yaml", nodes::BuiltinRegistry()));
  EXPECT_EQ(old.http_admin_read_header_timeout, std::chrono::seconds(2));
  const std::string errors = Errors(
      "engine:\n  http_admin: {read_header_timeout: 0s, write_timeout: soon}\n" + v1);
  EXPECT_THAT(errors, HasSubstr("engine.http_admin.read_header_timeout"));
  EXPECT_THAT(errors, HasSubstr("engine.http_admin.write_timeout"));
}

// Scenario: a complete otel_dataflow/v1 document.
// Guarantees: nodes, types, edges and the channel capacity policy land in the
// graph model; node order is topological.
TEST(ConfigEngineTest, ParsesDataflowV1) {
  ASSERT_OK_AND_ASSIGN(
      auto config, engine::ParseAndValidate(kV1, "v1.yaml", nodes::BuiltinRegistry()));
  EXPECT_EQ(config.format, ConfigFormat::kDataflowV1);
  ASSERT_EQ(config.pipelines.size(), 1u);
  const PipelineSpec& p = config.pipelines[0];
  EXPECT_EQ(p.group, "default");
  EXPECT_EQ(p.name, "main");
  EXPECT_EQ(p.capacity.pdata, 7);
  ASSERT_EQ(p.nodes.size(), 4u);
  EXPECT_EQ(p.FindNode("gen")->urn->canonical(), "urn:otel:receiver:traffic_generator");
  EXPECT_EQ(p.FindNode("batch")->urn->kind, NodeKind::kProcessor);
  ASSERT_EQ(p.edges.size(), 3u);
  EXPECT_EQ(p.edges[2].from, "dbg");
  EXPECT_EQ(p.edges[2].port, "default");
  EXPECT_EQ(p.edges[2].to, std::vector<std::string>{"out"});
  EXPECT_EQ(TopologicalOrder(p),
            (std::vector<std::string>{"gen", "batch", "dbg", "out"}));
}

// Scenario: the original design's legacy pipeline file (architecture.md), which
// names receiver:parquet with an old URN spelling.
// Guarantees: it parses into the same model: old URNs normalized, out_ports become
// edges, settings become capacities. (Full validation of this file needs the
// parquet receiver, now registered.)
TEST(ConfigEngineTest, ParsesLegacyParquetReceiverDemo) {
  ConfigErrors errors;
  const auto config =
      ParseEngineConfig(ReadFile(SourceRoot() / "configs/parquet-receiver-demo.yaml"),
                        "parquet-receiver-demo.yaml", &errors);
  ASSERT_TRUE(errors.empty()) << errors.ToStatus().ToString();
  EXPECT_EQ(config.format, ConfigFormat::kLegacy);
  ASSERT_EQ(config.pipelines.size(), 1u);
  const PipelineSpec& p = config.pipelines[0];
  EXPECT_EQ(p.capacity.pdata, 100);
  EXPECT_EQ(p.FindNode("parquet_receiver")->urn->short_name(), "receiver:parquet");
  EXPECT_EQ(p.FindNode("debug_processor")->urn->short_name(), "processor:debug");
  EXPECT_EQ(p.FindNode("noop_exporter")->urn->short_name(), "exporter:noop");
  ASSERT_EQ(p.edges.size(), 2u);
  EXPECT_EQ(p.edges[0].from, "parquet_receiver");
  EXPECT_EQ(p.edges[0].port, "out_port");
  EXPECT_EQ(p.edges[0].to, std::vector<std::string>{"debug_processor"});
  // With the built-in registry (receiver:parquet registered) it fully validates.
  EXPECT_EQ(Errors(ReadFile(SourceRoot() / "configs/parquet-receiver-demo.yaml")), "");
}

// Scenario: every node type spelling upstream has used.
// Guarantees: all normalize to urn:<ns>:<kind>:<id>; garbage is Invalid.
TEST(ConfigEngineTest, NormalizesNodeUrns) {
  const std::pair<const char*, const char*> cases[] = {
      {"receiver:traffic_generator", "urn:otel:receiver:traffic_generator"},
      {"urn:otel:receiver:otlp", "urn:otel:receiver:otlp"},
      {"urn:otel:otlp:receiver", "urn:otel:receiver:otlp"},
      {"perf:exporter", "urn:otel:exporter:perf"},
      {"urn:otel:otap:parquet:receiver", "urn:otel:receiver:parquet"},
      {"urn:otel:debug:processor", "urn:otel:processor:debug"},
      {"urn:otel:noop:exporter", "urn:otel:exporter:noop"},
      {"urn:otel:otap:fake_data_generator:receiver",
       "urn:otel:receiver:traffic_generator"},
      {"URN:OTEL:Exporter:noop", "urn:otel:exporter:noop"},
      {"urn:microsoft:exporter:geneva", "urn:microsoft:exporter:geneva"},
  };
  for (const auto& [text, canonical] : cases) {
    ASSERT_OK_AND_ASSIGN(auto urn, ParseNodeUrn(text));
    EXPECT_EQ(urn.canonical(), canonical) << text;
  }
  for (const char* bad : {"noop", "urn:otel:noop", "urn:otel:thing:noop",
                          "exporter:No-op", "a:b:c", "foo:noop"}) {
    EXPECT_FALSE(ParseNodeUrn(bad).ok()) << bad;
  }
}

// Scenario: a node config value out of range.
// Guarantees: the message has the full YAML path, the line and the bad value.
TEST(ConfigEngineTest, ReportsValueErrorWithPathAndLine) {
  const std::string yaml = R"(version: otel_dataflow/v1
groups:
  default:
    pipelines:
      main:
        nodes:
          gen:
            type: receiver:traffic_generator
            config:
              traffic_config: {log_weight: 1}
          batch:
            type: processor:batch
            config:
              otap:
                max_size: 0
                sizer: items
          out:
            type: exporter:noop
        connections:
          - {from: gen, to: batch}
          - {from: batch, to: out}
)";
  EXPECT_THAT(Errors(yaml),
              HasSubstr("groups.default.pipelines.main.nodes.batch.config.otap.max_size "
                        "(line 15): must be > 0, got 0"));
}

// Scenario: typos in framework keys and node config keys, an unknown node type, a
// dangling connection and a bad duration, all in one file.
// Guarantees: every error is reported at once, each with path, line and a
// did-you-mean suggestion where one is plausible.
TEST(ConfigEngineTest, ReportsEveryErrorAtOnce) {
  const std::string yaml = R"(version: otel_dataflow/v1
groups:
  default:
    pipelines:
      main:
        nodes:
          gen:
            type: receiver:traffic_generator
            descripton: generator
            config: {traffic_config: {log_weight: 1}}
          batch:
            type: processor:batch
            config:
              max_batch_duraton: 1s
              otap: {min_size: 10, sizer: items}
          slow:
            type: processor:batch
            config:
              max_batch_duration: 10 fortnights
          out:
            type: exporter:nop
        connections:
          - {from: gen, to: batch}
          - {from: batch, to: slow}
          - {from: slow, to: [out, outt]}
)";
  const std::string errors = Errors(yaml);
  EXPECT_THAT(errors, HasSubstr("invalid configuration (5 errors)"));
  EXPECT_THAT(errors,
              HasSubstr("groups.default.pipelines.main.nodes.gen.descripton (line 9): "
                        "unknown key; did you mean \"description\"?"));
  EXPECT_THAT(errors, HasSubstr("nodes.batch.config.max_batch_duraton (line 14): unknown "
                                "key; did you mean \"max_batch_duration\"?"));
  EXPECT_THAT(errors, HasSubstr("nodes.slow.config.max_batch_duration (line 19): invalid "
                                "duration \"10 fortnights\""));
  EXPECT_THAT(errors,
              HasSubstr("nodes.out (line 20): unknown node type \"exporter:nop\" "
                        "(urn:otel:exporter:nop); did you mean \"exporter:noop\"?"));
  EXPECT_THAT(errors, HasSubstr("connections[2].to (line 25): unknown node \"outt\"; did "
                                "you mean \"out\"?"));
}

// Scenario: graph mistakes: a cycle, a node without inputs or outputs, an
// exporter as a source, a receiver as a destination.
// Guarantees: each is named with its node.
TEST(ConfigEngineTest, ReportsGraphErrors) {
  const std::string cycle = R"(version: otel_dataflow/v1
groups:
  g:
    pipelines:
      p:
        nodes:
          gen: {type: receiver:traffic_generator, config: {traffic_config: {log_weight: 1}}}
          a: {type: processor:debug}
          b: {type: processor:debug}
          out: {type: exporter:noop}
        connections:
          - {from: gen, to: a}
          - {from: a, to: b}
          - {from: b, to: [a, out]}
)";
  EXPECT_THAT(Errors(cycle),
              HasSubstr("groups.g.pipelines.p.connections: the connections "
                        "form a cycle through a, b"));
  const std::string unconnected = R"(version: otel_dataflow/v1
groups:
  g:
    pipelines:
      p:
        nodes:
          gen: {type: receiver:traffic_generator, config: {traffic_config: {log_weight: 1}}}
          idle: {type: processor:debug}
          out: {type: exporter:noop}
          lost: {type: exporter:noop}
        connections:
          - {from: gen, to: out}
          - {from: out, to: gen}
)";
  const std::string errors = Errors(unconnected);
  EXPECT_THAT(errors, HasSubstr("nodes.idle (line 8): processor has no input"));
  EXPECT_THAT(errors, HasSubstr("nodes.idle (line 8): processor has no output"));
  EXPECT_THAT(errors, HasSubstr("nodes.lost (line 10): exporter has no input"));
  EXPECT_THAT(errors, HasSubstr("connections[1].from (line 13): exporter \"out\" cannot "
                                "be a source"));
  EXPECT_THAT(errors, HasSubstr("connections[1].to (line 13): receiver \"gen\" cannot be "
                                "a destination"));
}

// Scenario: ${env:VAR} and ${env:VAR:-default} in the text, and an unset variable.
// Guarantees: values are substituted before parsing; an unset variable without a
// default is an error naming it and its line; $$ is a literal $.
TEST(ConfigEngineTest, SubstitutesEnvironment) {
  ::setenv("OTAP_TEST_BATCH", "7", 1);
  ::unsetenv("OTAP_TEST_UNSET");
  ConfigErrors errors;
  EXPECT_EQ(SubstituteEnv("a: ${env:OTAP_TEST_BATCH}\nb: ${env:OTAP_TEST_UNSET:-5}\n"
                          "c: $${x}\nd: ${other}",
                          "s", &errors),
            "a: 7\nb: 5\nc: ${x}\nd: ${other}");
  EXPECT_TRUE(errors.empty());
  SubstituteEnv("a: 1\nb: ${env:OTAP_TEST_UNSET}\n", "s.yaml", &errors);
  ASSERT_EQ(errors.size(), 1u);
  EXPECT_EQ(errors.errors()[0].ToString(),
            "s.yaml (line 2): environment variable OTAP_TEST_UNSET is not set (use "
            "${env:OTAP_TEST_UNSET:-default} for a default)");
}

// Scenario: YAML that does not parse, and a file without a version.
// Guarantees: one clear error with the line, no exception escapes.
TEST(ConfigEngineTest, ReportsSyntaxErrors) {
  EXPECT_THAT(Errors("version: otel_dataflow/v1\ngroups: [\n"), HasSubstr("line 3"));
  EXPECT_THAT(Errors("groups: {}\n"), HasSubstr("missing required key \"version\""));
  EXPECT_THAT(Errors("version: otel_dataflow/v2\ngroups: {}\n"),
              HasSubstr("version (line 1): must be \"otel_dataflow/v1\""));
}

// Scenario: a config with a byte that is not UTF-8 in a pipeline id.
// Guarantees: an error naming the file, the line and the byte (yaml-cpp passed the
// byte through into the pipeline's id and messages).
TEST(ConfigEngineTest, RefusesNonUtf8) {
  EXPECT_THAT(Errors("version: otel_dataflow/v1\ngroups:\n  d\xff\xfe: {}\n"),
              HasSubstr("test.yaml (line 3): not UTF-8 (byte 0xFF at offset 37)"));
  // UTF-8 in values and ids is fine.
  EXPECT_THAT(Errors("version: otel_dataflow/v1\ngroups:\n  d\xc3\xa9: {}\n"),
              Not(HasSubstr("UTF-8")));
}

// Scenario: documents that are not a mapping (a list, a scalar, nothing), and one
// nested 100 000 levels deep.
// Guarantees: each is one clear error (no crash, no stack overflow).
TEST(ConfigEngineTest, RefusesOtherDocumentShapes) {
  EXPECT_THAT(Errors("[1, 2]\n"), HasSubstr("the configuration must be a YAML mapping"));
  EXPECT_THAT(Errors("hello\n"), HasSubstr("the configuration must be a YAML mapping"));
  EXPECT_THAT(Errors(""), HasSubstr("the configuration must be a YAML mapping"));
  EXPECT_THAT(Errors("a: " + std::string(100000, '[') + std::string(100000, ']')),
              HasSubstr("YAML syntax error"));
}

// Scenario: `--config` naming a directory, or a file that does not exist.
// Guarantees: an IOError saying so (a directory read as empty text and was
// reported as "the configuration must be a YAML mapping").
TEST(ConfigEngineTest, ConfigSourceThatIsADirectory) {
  const auto dir = std::filesystem::temp_directory_path();
  EXPECT_RAISES_WITH_MESSAGE_THAT(IOError, HasSubstr("it is a directory"),
                                  ReadConfigSource(dir.string()));
  EXPECT_RAISES_WITH_MESSAGE_THAT(IOError, HasSubstr("it is a directory"),
                                  ReadConfigSource("file:" + dir.string()));
  ASSERT_RAISES(IOError, ReadConfigSource((dir / "no-such-config.yaml").string()));
}

// Scenario: ConfigReader typed getters on bad values.
// Guarantees: bytes and enums report the value and the allowed set.
TEST(ConfigEngineTest, ReaderReportsBadBytesAndEnums) {
  ConfigErrors errors;
  ConfigReader reader(YAML::Load("size: 4 parsecs\nmode: smoth\nok: 4MiB\n"), "x",
                      &errors);
  EXPECT_FALSE(reader.Bytes("size").has_value());
  enum class Mode { kSmooth, kOpen };
  EXPECT_FALSE(
      reader.Enum<Mode>("mode", {{"smooth", Mode::kSmooth}, {"open", Mode::kOpen}})
          .has_value());
  EXPECT_EQ(reader.Bytes("ok"), 4 * 1024 * 1024);
  reader.Finish();
  ASSERT_EQ(errors.size(), 2u);
  EXPECT_THAT(errors.errors()[0].ToString(),
              HasSubstr("x.size (line 1): invalid byte size"));
  EXPECT_EQ(errors.errors()[1].ToString(),
            "x.mode (line 2): must be one of smooth, open, got \"smoth\"; did you mean "
            "\"smooth\"?");
}

// Scenario: a cycle a -> b -> a with an exporter downstream of it.
// Guarantees: the error names the nodes on the cycle, not the exporter that is
// merely unsortable because it hangs off the cycle.
TEST(EngineConfigTest, CycleNamesOnlyTheNodesOnIt) {
  const std::string yaml = R"(version: otel_dataflow/v1
groups:
  default:
    pipelines:
      main:
        nodes:
          gen: {type: receiver:traffic_generator, config: {traffic_config: {log_weight: 1}}}
          a: {type: processor:debug}
          b: {type: processor:debug}
          out: {type: exporter:noop}
        connections:
          - {from: gen, to: a}
          - {from: a, to: b}
          - {from: b, to: [a, out]}
)";
  const std::string errors = Errors(yaml);
  EXPECT_THAT(errors, HasSubstr("the connections form a cycle through a, b"));
  EXPECT_THAT(errors, Not(HasSubstr("a, b, out")));
}

// Table-driven: every file in config/testdata. good_*.yaml must validate with the
// built-in nodes; every other file must fail, and each `# expect: <text>` line in it
// names a substring of the error message.
class ConfigTestdataTest : public ::testing::TestWithParam<std::string> {};

// Scenario: one testdata file.
// Guarantees: good files validate; bad ones fail with the expected messages.
TEST_P(ConfigTestdataTest, ValidatesAsExpected) {
  const auto path =
      std::filesystem::path(__FILE__).parent_path() / "testdata" / GetParam();
  const std::string text = ReadFile(path);
  auto result = engine::ParseAndValidate(text, GetParam(), nodes::BuiltinRegistry());
  if (GetParam().rfind("good_", 0) == 0) {
    EXPECT_TRUE(result.ok()) << result.status().ToString();
    return;
  }
  ASSERT_FALSE(result.ok()) << GetParam() << " validated";
  std::istringstream lines(text);
  std::string line;
  int expectations = 0;
  while (std::getline(lines, line)) {
    const std::string tag = "# expect: ";
    if (line.rfind(tag, 0) != 0) continue;
    ++expectations;
    EXPECT_THAT(result.status().message(), HasSubstr(line.substr(tag.size())));
  }
  EXPECT_GT(expectations, 0) << GetParam() << " has no # expect: line";
}

std::vector<std::string> TestdataFiles() {
  std::vector<std::string> files;
  const auto dir = std::filesystem::path(__FILE__).parent_path() / "testdata";
  for (const auto& entry : std::filesystem::directory_iterator(dir)) {
    if (entry.path().extension() == ".yaml") files.push_back(entry.path().filename());
  }
  std::sort(files.begin(), files.end());
  return files;
}

INSTANTIATE_TEST_SUITE_P(Files, ConfigTestdataTest, ::testing::ValuesIn(TestdataFiles()),
                         [](const auto& info) {
                           std::string name = info.param.substr(0, info.param.size() - 5);
                           for (auto& c : name) {
                             if (!std::isalnum(static_cast<unsigned char>(c))) c = '_';
                           }
                           return name;
                         });

// Scenario: the shipped example configs (every configs/*.yaml).
// Guarantees: each validates with the built-in nodes.
TEST(ConfigEngineTest, ShippedConfigsValidate) {
  const std::set<std::string> kPending = {};
  std::vector<std::string> names;
  for (const auto& entry :
       std::filesystem::directory_iterator(SourceRoot() / "configs")) {
    const auto name = entry.path().filename().string();
    if (entry.path().extension() == ".yaml" && !kPending.count(name)) {
      names.push_back(name);
    }
  }
  std::sort(names.begin(), names.end());
  EXPECT_GE(names.size(), 3u);
  EXPECT_TRUE(std::find(names.begin(), names.end(), "traffic-parquet.yaml") !=
              names.end());
  for (const auto& name : names) {
    auto result = engine::LoadEngineConfig((SourceRoot() / "configs" / name).string(),
                                           nodes::BuiltinRegistry());
    EXPECT_TRUE(result.ok()) << name << ": " << result.status().ToString();
  }
}

// A v1 document of one pipeline with `nodes` and `connections` (flow-style lines).
std::string OnePipeline(const std::vector<std::string>& nodes,
                        const std::vector<std::string>& connections) {
  std::string text =
      "version: otel_dataflow/v1\ngroups:\n  g:\n    pipelines:\n      p:\n"
      "        nodes:\n";
  for (const auto& node : nodes) text += "          " + node + "\n";
  text += "        connections:\n";
  for (const auto& edge : connections) text += "          - " + edge + "\n";
  return text;
}

// Scenario: keys that upstream declares as Options (serde reads `key:` and `key: ~`
// as None) set to null, one row per kind of value, in the nodes we share with
// upstream and in the pipeline; then null for keys that are not Options.
// Guarantees: the Options validate (null = unset: the default applies); each was
// refused with "must not be null". The others are still refused, naming the key.
TEST(ConfigEngineTest, NullMeansUnsetForUpstreamOptions) {
  const std::string gen =
      "gen: {type: receiver:traffic_generator, config: {traffic_config: {log_weight: "
      "1}}}";
  const std::string noop = "out: {type: exporter:noop}";
  auto receiver = [&](const std::string& config) {
    return OnePipeline({"x: {type: receiver:otlp, config: " + config + "}", noop},
                       {"{from: x, to: out}"});
  };
  auto exporter = [&](const std::string& type, const std::string& config) {
    return OnePipeline({gen, "x: {type: " + type + ", config: " + config + "}"},
                       {"{from: gen, to: x}"});
  };
  const std::string grpc_client = "grpc_endpoint: http://127.0.0.1:4317";
  struct Case {
    const char* key_class;
    std::string document;
  };
  const Case options[] = {
      {"durations",
       receiver("{protocols: {grpc: {listening_addr: 127.0.0.1:0, timeout: ~}, http: "
                "{listening_addr: 127.0.0.1:1, timeout: ~, tcp_keepalive: ~}}}")},
      {"byte sizes",
       receiver("{protocols: {grpc: {listening_addr: 127.0.0.1:0, "
                "max_decoding_message_size: ~}, http: {listening_addr: 127.0.0.1:1, "
                "max_request_body_size: ~}}}")},
      {"compression methods",
       receiver("{protocols: {grpc: {listening_addr: 127.0.0.1:0, request_compression: "
                "~, response_compression: ~}}}")},
      {"integers", receiver("{protocols: {http: {listening_addr: 127.0.0.1:0, "
                            "tcp_keepalive_retries: ~}}}")},
      {"server TLS files and PEM text",
       receiver("{protocols: {grpc: {listening_addr: 127.0.0.1:0, tls: {cert_pem: c, "
                "key_pem: k, cert_file: ~, key_file: ~, client_ca_file: ~, "
                "client_ca_pem: ~}}}}")},
      {"client strings, durations and compression",
       exporter("exporter:otlp_grpc",
                "{" + grpc_client + ", timeout: ~, user_agent: ~, compression: ~}")},
      {"client TLS strings and bools",
       exporter(
           "exporter:otlp_http",
           "{endpoint: http://127.0.0.1:4318, client_pool_size: 1, http: {tls: "
           "{ca_file: ~, ca_pem: ~, cert_file: ~, cert_pem: ~, key_file: ~, key_pem: "
           "~, server_name_override: ~, include_system_ca_certs_pool: ~, insecure: "
           "~, insecure_skip_verify: ~}, timeout: ~, user_agent: ~}}")},
      {"enums with a default",
       exporter("exporter:otap",
                "{" + grpc_client + ", arrow: {payload_compression: ~}}")},
      {"object store strings and bools",
       exporter("exporter:parquet",
                "{storage: {s3: {base_uri: s3://b/p, region: ~, endpoint: ~, allow_http: "
                "~, virtual_hosted_style_request: ~, auth: {type: static_credentials, "
                "access_key_id: a, secret_access_key: s, session_token: ~}}}}")},
      {"pipeline policies",
       OnePipeline({gen, noop}, {"{from: gen, to: out, policies: {dispatch: ~}}"})},
  };
  for (const auto& c : options) {
    EXPECT_EQ(Errors(c.document), "") << c.key_class << ":\n" << c.document;
  }
  const Case refused[] = {
      {"max_in_flight",
       exporter("exporter:otlp_grpc", "{" + grpc_client + ", max_in_flight: ~}")},
      {"wait_for_result",
       receiver(
           "{protocols: {grpc: {listening_addr: 127.0.0.1:0, wait_for_result: ~}}}")},
      {"base_uri", exporter("exporter:parquet", "{storage: {file: {base_uri: ~}}}")},
  };
  for (const auto& c : refused) {
    EXPECT_THAT(Errors(c.document),
                ::testing::AllOf(HasSubstr("." + std::string(c.key_class) + " (line "),
                                 HasSubstr("must not be null")))
        << c.document;
  }
}

}  // namespace
}  // namespace otap_parquet::config
