// SPDX-License-Identifier: Apache-2.0
#include "otap_parquet/nodes/processors/debug/debug_processor.h"

#include <fstream>
#include <memory>
#include <set>
#include <sstream>
#include <string>
#include <vector>

#include <gmock/gmock.h>
#include <nlohmann/json.hpp>

#include "otap_parquet/engine/testing/fake_effect.h"
#include "otap_parquet/engine/testing/test_pipeline.h"
#include "otap_parquet/otlp/convert.h"
#include "otap_parquet/testing/gtest_util.h"
#include "otap_parquet/testing/temp_dir.h"

namespace otap_parquet::nodes {
namespace {

using ::testing::HasSubstr;
using ::testing::Not;
using ::testing::StartsWith;

// A processor's side of the pipeline: keeps what the node sends on.
class RecordingEffect : public fakes::FakeEffect {
 public:
  using FakeEffect::FakeEffect;
  arrow::Status Send(engine::PData msg, std::string_view) override {
    sent.push_back(std::move(msg));
    return arrow::Status::OK();
  }
  bool CanSend(std::string_view) const override { return true; }
  std::vector<engine::PData> sent;
};

std::vector<std::string> Lines(const std::string& path) {
  std::ifstream in(path);
  std::vector<std::string> lines;
  for (std::string line; std::getline(in, line);) lines.push_back(line);
  return lines;
}

class DebugProcessorTest : public ::testing::Test {
 protected:
  // Runs processor:debug with `config` (plus `output: <file>`) over `batches`;
  // returns the lines it wrote, Shutdown's totals line included.
  arrow::Result<std::vector<std::string>> Run(const std::string& config,
                                              std::vector<OtapBatch> batches) {
    const std::string output = dir_.path() + "/debug.txt";
    engine::NodeSettings settings;
    settings.node_id = "dbg";
    settings.group = "g";
    settings.pipeline = "p";
    settings.config_path = "nodes.dbg.config";
    YAML::Node yaml = YAML::Load(config);
    yaml["output"] = output;
    ARROW_ASSIGN_OR_RAISE(auto node, kDebugProcessorFactory.create(settings, yaml));
    auto& processor = dynamic_cast<engine::Processor&>(*node);
    ARROW_RETURN_NOT_OK(processor.Start(effect_));
    for (auto& batch : batches) {
      ARROW_RETURN_NOT_OK(processor.Process(engine::PData(std::move(batch)), effect_));
    }
    ARROW_RETURN_NOT_OK(processor.Shutdown(engine::Clock::now(), effect_).status());
    return Lines(output);
  }

  otap_parquet::testing::TempDir dir_{"otap_debug_processor"};
  RecordingEffect effect_{"dbg"};
};

// Scenario: verbosity basic over two log batches.
// Guarantees: one count line per batch with a running total, then the totals at
// shutdown; both batches are forwarded unchanged, in order.
TEST_F(DebugProcessorTest, BasicCountsAndForwardsUnchanged) {
  ASSERT_OK_AND_ASSIGN(auto lines, Run("{verbosity: basic}", {testing::LogsBatch(3, 1),
                                                              testing::LogsBatch(4, 2)}));
  ASSERT_EQ(lines.size(), 3u);
  EXPECT_EQ(lines[0], "debug node=dbg core=0 logs batch #1: 3 log records (total 3)");
  EXPECT_EQ(lines[1], "debug node=dbg core=0 logs batch #2: 4 log records (total 7)");
  EXPECT_THAT(lines[2], HasSubstr("totals: logs=2 batches/7 items"));
  ASSERT_EQ(effect_.sent.size(), 2u);
  EXPECT_EQ(effect_.sent[0].num_items(), 3);
  EXPECT_EQ(effect_.sent[1].num_items(), 4);
}

// Scenario: verbosity detailed.
// Guarantees: the summary line with rows per table, then the batch as OTLP/JSON.
TEST_F(DebugProcessorTest, DetailedAddsTheBatchAsOtlpJson) {
  ASSERT_OK_AND_ASSIGN(auto lines,
                       Run("{verbosity: detailed}", {testing::LogsBatch(2, 3)}));
  ASSERT_EQ(lines.size(), 3u);
  EXPECT_THAT(lines[0], HasSubstr("logs batch #1: 2 log records in 2 root rows"));
  EXPECT_THAT(lines[1], StartsWith("{\"resourceLogs\":"));
  EXPECT_EQ(effect_.sent.size(), 1u);
}

// Scenario: only metrics are to be printed and log batches pass.
// Guarantees: nothing is printed for them but they are forwarded and counted.
TEST_F(DebugProcessorTest, UnselectedSignalsPassSilently) {
  ASSERT_OK_AND_ASSIGN(auto lines,
                       Run("{signals: [metrics]}", {testing::LogsBatch(5, 4)}));
  ASSERT_EQ(lines.size(), 1u);
  EXPECT_THAT(lines[0], HasSubstr("totals: logs=1 batches/5 items"));
  EXPECT_EQ(effect_.sent.size(), 1u);
}

// Scenario: an unknown signal name and an unknown verbosity.
// Guarantees: configuration errors naming each key.
TEST_F(DebugProcessorTest, RefusesUnknownSignalsAndVerbosity) {
  config::ConfigErrors errors;
  kDebugProcessorFactory.validate_config(
      YAML::Load("{signals: [events], verbosity: all}"), "nodes.dbg.config", &errors);
  ASSERT_EQ(errors.size(), 2u);
  const std::string message = errors.ToStatus().message();
  EXPECT_THAT(message, HasSubstr("unknown signal \"events\""));
  EXPECT_THAT(message, HasSubstr("verbosity"));
}

// One OtapBatch of `request` (small enough for one).
arrow::Result<OtapBatch> BatchOf(otlp::OtlpRequest request) {
  ARROW_ASSIGN_OR_RAISE(auto batches, otlp::ToOtap(request));
  return std::move(batches.front());
}

void SetString(otlp::pb::common::KeyValue* kv, const std::string& key,
               const std::string& value) {
  kv->set_key(key);
  kv->mutable_value()->set_string_value(value);
}

// Two log records in two resources: the first with a time, severity, body and an
// attribute; the second with a body only.
arrow::Result<OtapBatch> TwoLogRecords() {
  otlp::LogsRequest request;
  auto* first = request.add_resource_logs()->add_scope_logs()->add_log_records();
  first->set_time_unix_nano(5);
  first->set_severity_text("INFO");
  first->mutable_body()->set_string_value("hello");
  SetString(first->add_attributes(), "k", "v");
  auto* second = request.add_resource_logs()->add_scope_logs()->add_log_records();
  second->mutable_body()->set_string_value("again");
  return BatchOf(std::move(request));
}

// The JSON after "<prefix> <noun> #<i>: " of an item line.
nlohmann::json ItemJson(const std::string& line) {
  return nlohmann::json::parse(line.substr(line.find(": {") + 2));
}

std::set<std::string> Keys(const nlohmann::json& object) {
  std::set<std::string> keys;
  for (auto it = object.begin(); it != object.end(); ++it) keys.insert(it.key());
  return keys;
}

// Scenario: mode signal, verbosity normal, over a logs batch of two records in two
// resources.
// Guarantees: after the batch's summary line, one line per log record numbered from
// 0 across resources, holding only its body and attributes (upstream's normal
// report per item); the batch is forwarded unchanged. The mode was refused unless
// verbosity was basic.
TEST_F(DebugProcessorTest, SignalModeNormalPrintsBodyAndAttributesPerRecord) {
  ASSERT_OK_AND_ASSIGN(auto batch, TwoLogRecords());
  ASSERT_OK_AND_ASSIGN(auto lines, Run("{mode: signal}", {std::move(batch)}));
  ASSERT_EQ(lines.size(), 4u);
  EXPECT_THAT(lines[0], HasSubstr("logs batch #1: 2 log records in 2 root rows"));
  EXPECT_EQ(lines[1],
            "debug node=dbg core=0 logs batch #1: log record #0: "
            "{\"body\":{\"stringValue\":\"hello\"},\"attributes\":[{\"key\":\"k\","
            "\"value\":{\"stringValue\":\"v\"}}]}");
  EXPECT_EQ(lines[2],
            "debug node=dbg core=0 logs batch #1: log record #1: "
            "{\"body\":{\"stringValue\":\"again\"}}");
  EXPECT_THAT(lines[3], HasSubstr("totals: logs=1 batches/2 items"));
  ASSERT_EQ(effect_.sent.size(), 1u);
  EXPECT_EQ(effect_.sent[0].num_items(), 2);
}

// Scenario: mode signal, verbosity detailed, over the same batch.
// Guarantees: one line per log record with every field set (time, severity, body,
// attributes) instead of the batch's OTLP/JSON; no resource or scope is printed.
TEST_F(DebugProcessorTest, SignalModeDetailedPrintsEveryFieldPerRecord) {
  ASSERT_OK_AND_ASSIGN(auto batch, TwoLogRecords());
  ASSERT_OK_AND_ASSIGN(auto lines,
                       Run("{mode: signal, verbosity: detailed}", {std::move(batch)}));
  ASSERT_EQ(lines.size(), 4u);
  EXPECT_THAT(lines[1], HasSubstr("logs batch #1: log record #0: {"));
  EXPECT_EQ(
      Keys(ItemJson(lines[1])),
      (std::set<std::string>{"timeUnixNano", "severityText", "body", "attributes"}));
  EXPECT_EQ(ItemJson(lines[1])["severityText"], "INFO");
  EXPECT_THAT(lines[2], HasSubstr("log record #1: {"));
  EXPECT_EQ(Keys(ItemJson(lines[2])), (std::set<std::string>{"body"}));
  for (const auto& line : lines) EXPECT_THAT(line, Not(HasSubstr("resourceLogs")));
}

// Scenario: mode signal, verbosity normal, over a span and over a gauge metric with
// timestamps, kind, unit and an exemplar.
// Guarantees: a span keeps its name, trace and span ids (hex) and attributes; a
// metric its name and data points with attributes and value, without timestamps or
// exemplars (upstream's normal report per span and per metric).
TEST_F(DebugProcessorTest, SignalModeNormalSpanAndMetricFields) {
  otlp::TracesRequest traces;
  auto* span = traces.add_resource_spans()->add_scope_spans()->add_spans();
  span->set_trace_id(std::string(16, '\x01'));
  span->set_span_id(std::string(8, '\x02'));
  span->set_name("GET /");
  span->set_kind(otlp::pb::trace::Span::SPAN_KIND_SERVER);
  span->set_start_time_unix_nano(1);
  span->set_end_time_unix_nano(2);
  SetString(span->add_attributes(), "http.method", "GET");
  otlp::MetricsRequest metrics;
  auto* metric = metrics.add_resource_metrics()->add_scope_metrics()->add_metrics();
  metric->set_name("cpu");
  metric->set_unit("1");
  auto* point = metric->mutable_gauge()->add_data_points();
  point->set_time_unix_nano(7);
  point->set_as_double(1.5);
  SetString(point->add_attributes(), "core", "0");
  point->add_exemplars()->set_as_int(3);

  ASSERT_OK_AND_ASSIGN(auto traces_batch, BatchOf(std::move(traces)));
  ASSERT_OK_AND_ASSIGN(auto metrics_batch, BatchOf(std::move(metrics)));
  ASSERT_OK_AND_ASSIGN(auto lines, Run("{mode: signal}", {std::move(traces_batch),
                                                          std::move(metrics_batch)}));
  ASSERT_EQ(lines.size(), 5u);
  EXPECT_EQ(lines[1],
            "debug node=dbg core=0 traces batch #1: span #0: {\"traceId\":\""
            "01010101010101010101010101010101\",\"spanId\":\"0202020202020202\",\"name\":"
            "\"GET /\",\"attributes\":[{"
            "\"key\":\"http.method\",\"value\":{\"stringValue\":\"GET\"}}]}");
  EXPECT_EQ(lines[3],
            "debug node=dbg core=0 metrics batch #1: metric #0: {\"name\":\"cpu\","
            "\"gauge\":{\"dataPoints\":[{\"asDouble\":1.5,\"attributes\":[{\"key\":"
            "\"core\",\"value\":{\"stringValue\":\"0\"}}]}]}}");
}

// Scenario: mode signal with verbosity basic.
// Guarantees: counts only, exactly as mode batch (upstream prints counts in both).
TEST_F(DebugProcessorTest, SignalModeBasicPrintsCountsOnly) {
  ASSERT_OK_AND_ASSIGN(auto batch, TwoLogRecords());
  ASSERT_OK_AND_ASSIGN(auto lines,
                       Run("{mode: signal, verbosity: basic}", {std::move(batch)}));
  ASSERT_EQ(lines.size(), 2u);
  EXPECT_EQ(lines[0], "debug node=dbg core=0 logs batch #1: 2 log records (total 2)");
}

}  // namespace
}  // namespace otap_parquet::nodes
