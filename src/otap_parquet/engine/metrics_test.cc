// SPDX-License-Identifier: Apache-2.0
#include "otap_parquet/engine/metrics.h"

#include <map>
#include <regex>
#include <set>
#include <sstream>
#include <string>

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
  constexpr MetricDef kRows = Counter("parquet_rows_written", "{row}", "rows", "table");
  constexpr MetricDef kPending = Gauge("parquet_pending_batches", "{batch}", "pending");
  m->Set(kRows, 5, "logs");
  m->Set(kRows, 7, "logs");
  m->Set(kPending, 2, "ignored: no label");
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

// Checks the text exposition format 0.0.4 as a scraper reads it: every family has
// one HELP and one TYPE line before its samples, its samples are contiguous and
// named after it, counters end in _total, values are integers, label values are
// quoted. Returns the families' types by name.
std::map<std::string, std::string> ParseExposition(const std::string& text) {
  std::map<std::string, std::string> types;
  std::set<std::string> closed;
  std::string current;
  std::istringstream in(text);
  std::string line;
  const std::regex help_re(R"(# HELP ([a-zA-Z_:][a-zA-Z0-9_:]*) .+)");
  const std::regex type_re(R"(# TYPE ([a-zA-Z_:][a-zA-Z0-9_:]*) (counter|gauge))");
  const std::regex sample_re(
      R"(([a-zA-Z_:][a-zA-Z0-9_:]*)\{([a-zA-Z_][a-zA-Z0-9_]*="(?:[^"\\]|\\.)*")(,[a-zA-Z_][a-zA-Z0-9_]*="(?:[^"\\]|\\.)*")*\} -?[0-9]+)");
  std::smatch m;
  while (std::getline(in, line)) {
    if (std::regex_match(line, m, help_re)) {
      EXPECT_EQ(types.count(m[1]), 0u) << "family repeated: " << line;
      if (!current.empty()) closed.insert(current);
      current = m[1];
    } else if (std::regex_match(line, m, type_re)) {
      EXPECT_EQ(m[1], current) << "TYPE without HELP: " << line;
      types[m[1]] = m[2];
      if (m[2] == "counter") {
        EXPECT_THAT(std::string(m[1]), ::testing::EndsWith("_total")) << line;
      }
    } else if (std::regex_match(line, m, sample_re)) {
      EXPECT_EQ(m[1], current) << "sample outside its family: " << line;
      EXPECT_EQ(closed.count(m[1]), 0u) << line;
    } else {
      ADD_FAILURE() << "not exposition format 0.0.4: \"" << line << "\"";
    }
  }
  return types;
}

// Scenario: two nodes on two cores with every engine counter set, node-specific
// counters and gauges (one name used as both by different nodes), and label values
// and help text that need escaping.
// Guarantees: the whole text parses as exposition 0.0.4 (one HELP/TYPE per family,
// contiguous samples, counters end in _total); engine counters are counters and the
// queue gauges are gauges; every sample carries group, pipeline, node, urn, core.
TEST(MetricsTest, ExpositionFormatIsValid) {
  MetricsRegistry registry;
  auto a = registry.AddNode({"g", "p", "gen", "urn:otel:receiver:traffic_generator", 0});
  auto b = registry.AddNode({"g", "p\"q", "out\\x", "urn:otel:exporter:noop", 1});
  a->sent_items = 10;
  a->acked = 3;
  b->received_items = 10;
  b->queue_depth = 4;
  b->queue_depth_max = 9;
  a->Set(Counter("files", "{file}", "files\nread \\ total"), 2);
  b->Set(Gauge("files", "{file}", "open files"), 1);
  b->Set(Counter("rows", "{row}", "rows", "table"), 5, "lo\"gs");
  const std::string text = registry.RenderPrometheus();
  const auto types = ParseExposition(text);
  for (const char* counter :
       {"otap_node_received_batches_total", "otap_node_received_items_total",
        "otap_node_sent_batches_total", "otap_node_sent_items_total",
        "otap_node_acked_total", "otap_node_nacked_retryable_total",
        "otap_node_nacked_permanent_total", "otap_node_send_blocked_total",
        "otap_node_refused_total", "otap_node_dropped_total", "otap_node_errors_total",
        "otap_node_files_total", "otap_node_rows_total"}) {
    EXPECT_EQ(types.count(counter) ? types.at(counter) : "", "counter") << counter;
  }
  for (const char* gauge : {"otap_node_queue_depth", "otap_node_queue_capacity",
                            "otap_node_queue_depth_max", "otap_node_files"}) {
    EXPECT_EQ(types.count(gauge) ? types.at(gauge) : "", "gauge") << gauge;
  }
  EXPECT_THAT(text, HasSubstr("otap_node_sent_items_total{group=\"g\",pipeline=\"p\","
                              "node=\"gen\",urn=\"urn:otel:receiver:traffic_generator\","
                              "core=\"0\"} 10\n"));
  EXPECT_THAT(text, HasSubstr("otap_node_queue_depth_max{group=\"g\",pipeline=\"p\\\"q\","
                              "node=\"out\\\\x\",urn=\"urn:otel:exporter:noop\","
                              "core=\"1\"} 9\n"));
  EXPECT_THAT(text, HasSubstr("# HELP otap_node_files_total files\\nread \\\\ total\n"));
  EXPECT_THAT(text, HasSubstr(",table=\"lo\\\"gs\"} 5\n"));
}

// Scenario: RenderJson of two nodes, one with a labelled extra metric and a quote
// in its node id, compact and indented, with and without zeroes.
// Guarantees: upstream's shape (timestamp, metric_sets with name/attributes/
// metrics); zero values only with keep_all_zeroes; strings are JSON-escaped;
// json_compact has no whitespace; the indented form has the same content.
TEST(MetricsTest, RenderJson) {
  MetricsRegistry registry;
  auto gen = registry.AddNode({"g", "p", "gen\"1", "urn:otel:receiver:x", 0});
  auto out = registry.AddNode({"g", "p", "out", "urn:otel:exporter:y", 1});
  gen->sent_items = 42;
  out->queue_capacity = 8;
  out->Set(Counter("rows", "{row}", "rows", "table"), 3, "logs");

  const std::string compact = registry.RenderJson(/*pretty=*/false, false);
  EXPECT_TRUE(std::regex_search(
      compact, std::regex(R"(^\{"timestamp":"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z",)")))
      << compact;
  EXPECT_THAT(compact,
              HasSubstr(R"("metric_sets":[{"name":"node","attributes":{"group":"g",)"
                        R"("pipeline":"p","node":"gen\"1","urn":"urn:otel:receiver:x",)"
                        R"("core":0},"metrics":[{"name":"sent_items",)"
                        R"("instrument":"counter","value":42}]},)"));
  EXPECT_THAT(
      compact,
      HasSubstr(R"({"name":"queue_capacity","instrument":"gauge",)"
                R"("value":8},{"name":"rows","instrument":"counter",)"
                R"("unit":"{row}","value":3,"attributes":{"table":"logs"}}]}]})"));
  EXPECT_EQ(compact.find(' '), std::string::npos);
  EXPECT_EQ(compact.find("errors"), std::string::npos);

  const std::string with_zeroes = registry.RenderJson(false, /*keep_all_zeroes=*/true);
  EXPECT_THAT(with_zeroes, HasSubstr(R"({"name":"errors","instrument":"counter",)"
                                     R"("value":0})"));

  std::string pretty = registry.RenderJson(/*pretty=*/true, false);
  EXPECT_THAT(pretty, HasSubstr("\n      \"metrics\": [\n"));
  std::string squeezed;
  bool in_string = false;
  for (size_t i = 0; i < pretty.size(); ++i) {
    const char c = pretty[i];
    if (c == '"' && (i == 0 || pretty[i - 1] != '\\')) in_string = !in_string;
    if (in_string || (c != ' ' && c != '\n')) squeezed.push_back(c);
  }
  // Same document apart from whitespace (and the timestamp's milliseconds).
  const auto body = [](const std::string& s) {
    return s.substr(s.find("\"metric_sets\""));
  };
  EXPECT_EQ(body(squeezed), body(compact.substr(0, compact.size() - 1)));
}

}  // namespace
}  // namespace otap_parquet::engine
