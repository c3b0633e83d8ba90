// SPDX-License-Identifier: Apache-2.0
#include "otap_parquet/engine/metrics.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

namespace otap_parquet::engine {
namespace {

using ::testing::HasSubstr;

// Scenario: a node sets node-specific metrics (with and without an extra label,
// counter and gauge) and updates one.
// Guarantees: they render once per name with HELP/TYPE, with the node's labels plus
// the extra label, the latest amount; extra() reads them back.
TEST(MetricsTest, NodeSpecificMetricsRender) {
  MetricsRegistry registry;
  auto m = registry.AddNode({"g", "p", "pq", "urn:otel:exporter:parquet", 1});
  m->SetExtra({.name = "parquet_rows_written",
               .label = "table",
               .value = "logs",
               .help = "rows",
               .amount = 5});
  m->SetExtra({.name = "parquet_rows_written",
               .label = "table",
               .value = "logs",
               .help = "rows",
               .amount = 7});
  m->SetExtra({.name = "parquet_pending_batches",
               .label = "",
               .value = "",
               .counter = false,
               .help = "pending",
               .amount = 2});
  const std::string text = registry.RenderPrometheus();
  EXPECT_THAT(text, HasSubstr("# TYPE otap_node_parquet_rows_written_total counter\n"
                              "otap_node_parquet_rows_written_total{group=\"g\","
                              "pipeline=\"p\",node=\"pq\",urn=\"urn:otel:exporter:"
                              "parquet\",core=\"1\",table=\"logs\"} 7\n"));
  EXPECT_THAT(text, HasSubstr("# TYPE otap_node_parquet_pending_batches gauge\n"));
  EXPECT_THAT(text, HasSubstr("core=\"1\"} 2\n"));
  EXPECT_EQ(m->extra("parquet_rows_written", "logs"), 7);
  EXPECT_EQ(m->extra("parquet_pending_batches"), 2);
  EXPECT_EQ(m->extra("missing"), 0);
}

}  // namespace
}  // namespace otap_parquet::engine
