// SPDX-License-Identifier: Apache-2.0
#include "otap_parquet/nodes/exporters/console/console_exporter.h"

#include <algorithm>
#include <memory>
#include <string>

#include <gmock/gmock.h>

#include "otap_parquet/engine/testing/fake_effect.h"
#include "otap_parquet/engine/testing/test_pipeline.h"
#include "otap_parquet/testing/gtest_util.h"

namespace otap_parquet::nodes {
namespace {

using ::testing::HasSubstr;
using ::testing::StartsWith;

// Exports one batch of `items` log records with `config`; returns what went to
// stdout and whether the batch was Acked.
std::string ExportOne(const std::string& config, int items, bool* acked) {
  engine::NodeSettings settings;
  settings.node_id = "console";
  settings.config_path = "nodes.console.config";
  auto node = kConsoleExporterFactory.create(settings, YAML::Load(config)).ValueOrDie();
  auto& exporter = dynamic_cast<engine::Exporter&>(*node);
  fakes::FakeEffect effect("console");
  auto outcomes = std::make_shared<fakes::Outcomes>();
  ARROW_CHECK_OK(exporter.Start(effect));
  engine::PData msg(testing::LogsBatch(items, 1));
  msg.context.Subscribe(outcomes, {0, 9});
  ::testing::internal::CaptureStdout();
  ARROW_CHECK_OK(exporter.Export(std::move(msg), effect));
  std::string out = ::testing::internal::GetCapturedStdout();
  *acked = outcomes->acked == std::vector<uint64_t>{9};
  return out;
}

// Scenario: the default (pretty) format.
// Guarantees: one line per batch naming the node, core, signal and the batch's
// counts; the batch is Acked after printing.
TEST(ConsoleExporterTest, PrettyPrintsOneSummaryLinePerBatch) {
  bool acked = false;
  const std::string out = ExportOne("{}", 6, &acked);
  EXPECT_THAT(out, StartsWith("console core=0 logs: 6 log records in 6 root rows"));
  EXPECT_THAT(out, HasSubstr("logs=6"));
  EXPECT_EQ(std::count(out.begin(), out.end(), '\n'), 1);
  EXPECT_TRUE(acked);
}

// Scenario: format otlp_json.
// Guarantees: the batch is printed as one line of OTLP/JSON with its records; Acked.
TEST(ConsoleExporterTest, OtlpJsonPrintsTheBatchAsOneJsonLine) {
  bool acked = false;
  const std::string out = ExportOne("{format: otlp_json}", 3, &acked);
  EXPECT_THAT(out, StartsWith("{\"resourceLogs\":"));
  EXPECT_EQ(std::count(out.begin(), out.end(), '\n'), 1);
  EXPECT_TRUE(acked);
}

// Scenario: format record_json (upstream's, not implemented here) and an unknown
// format.
// Guarantees: both are configuration errors naming the key.
TEST(ConsoleExporterTest, RefusesFormatsItCannotPrint) {
  for (const char* yaml : {"{format: record_json}", "{format: xml}"}) {
    config::ConfigErrors errors;
    kConsoleExporterFactory.validate_config(YAML::Load(yaml), "nodes.console.config",
                                            &errors);
    ASSERT_EQ(errors.size(), 1u) << yaml;
    EXPECT_THAT(errors.ToStatus().message(), HasSubstr("format")) << yaml;
  }
}

}  // namespace
}  // namespace otap_parquet::nodes
