// SPDX-License-Identifier: Apache-2.0
#include "otap_parquet/engine/metrics.h"

#include <algorithm>
#include <chrono>
#include <utility>

#include <fmt/chrono.h>
#include <fmt/format.h>

namespace otap_parquet::engine {

namespace {

std::string Escape(const std::string& value) {
  std::string out;
  for (char c : value) {
    if (c == '\\' || c == '"') {
      out.push_back('\\');
      out.push_back(c);
    } else if (c == '\n') {
      out += "\\n";
    } else {
      out.push_back(c);
    }
  }
  return out;
}

// HELP text escapes only backslash and newline (exposition format 0.0.4).
std::string EscapeHelp(const std::string& help) {
  std::string out;
  for (char c : help) {
    if (c == '\\') {
      out += "\\\\";
    } else if (c == '\n') {
      out += "\\n";
    } else {
      out.push_back(c);
    }
  }
  return out;
}

struct Field {
  const char* name;
  const char* help;
  bool counter;
  std::atomic<int64_t> NodeMetrics::*member;
};

const Field kFields[] = {
    {"received_batches", "pdata messages consumed by the node", true,
     &NodeMetrics::received_batches},
    {"received_items", "items (log records, spans, data points) consumed", true,
     &NodeMetrics::received_items},
    {"sent_batches", "pdata messages produced by the node", true,
     &NodeMetrics::sent_batches},
    {"sent_items", "items produced by the node", true, &NodeMetrics::sent_items},
    {"acked",
     "messages Acked (receivers, processors: sent data; exporters: exported data)", true,
     &NodeMetrics::acked},
    {"nacked_retryable", "messages Nacked with a retryable reason", true,
     &NodeMetrics::nacked_retryable},
    {"nacked_permanent", "messages Nacked with a permanent reason", true,
     &NodeMetrics::nacked_permanent},
    {"send_blocked", "sends that found a full channel (backpressure)", true,
     &NodeMetrics::send_blocked},
    {"refused", "requests refused with RESOURCE_EXHAUSTED", true, &NodeMetrics::refused},
    {"dropped", "messages dropped (shutdown deadline, failures)", true,
     &NodeMetrics::dropped},
    {"errors", "node failures", true, &NodeMetrics::errors},
    {"queue_depth", "messages waiting in the node's input channel", false,
     &NodeMetrics::queue_depth},
    {"queue_capacity", "capacity of the node's input channel", false,
     &NodeMetrics::queue_capacity},
    {"queue_depth_max", "highest number of messages seen in the node's input channel",
     false, &NodeMetrics::queue_depth_max},
};

// JSON string escaping (RFC 8259): quotes, backslash and control characters.
std::string JsonEscape(const std::string& value) {
  std::string out;
  for (char c : value) {
    if (c == '"' || c == '\\') {
      out.push_back('\\');
      out.push_back(c);
    } else if (c == '\n') {
      out += "\\n";
    } else if (static_cast<unsigned char>(c) < 0x20) {
      out += fmt::format("\\u{:04x}", static_cast<int>(c));
    } else {
      out.push_back(c);
    }
  }
  return out;
}

}  // namespace

void NodeMetrics::Set(const MetricDef& def, int64_t amount,
                      std::string_view label_value) {
  SetExtra({.name = std::string(def.prefix) + std::string(def.name),
            .label = std::string(def.label),
            .value = def.label.empty() ? std::string() : std::string(label_value),
            .counter = def.kind == MetricKind::kCounter,
            .help = std::string(def.help),
            .amount = amount,
            .unit = std::string(def.unit)});
}

void NodeMetrics::SetExtra(ExtraMetric metric) {
  std::lock_guard<std::mutex> lock(extras_mutex_);
  for (auto& existing : extras_) {
    if (existing.name == metric.name && existing.label == metric.label &&
        existing.value == metric.value) {
      existing.amount = metric.amount;
      return;
    }
  }
  extras_.push_back(std::move(metric));
}

std::vector<ExtraMetric> NodeMetrics::extras() const {
  std::lock_guard<std::mutex> lock(extras_mutex_);
  return extras_;
}

int64_t NodeMetrics::extra(const std::string& name,
                           const std::string& label_value) const {
  std::lock_guard<std::mutex> lock(extras_mutex_);
  for (const auto& existing : extras_) {
    if (existing.name == name && existing.value == label_value) return existing.amount;
  }
  return 0;
}

std::shared_ptr<NodeMetrics> MetricsRegistry::AddNode(NodeLabels labels) {
  auto metrics = std::make_shared<NodeMetrics>();
  std::lock_guard<std::mutex> lock(mutex_);
  nodes_.emplace_back(std::move(labels), metrics);
  return metrics;
}

std::string MetricsRegistry::RenderPrometheus() const {
  std::lock_guard<std::mutex> lock(mutex_);
  std::string out;
  for (const auto& field : kFields) {
    const std::string name =
        fmt::format("otap_node_{}{}", field.name, field.counter ? "_total" : "");
    out += fmt::format("# HELP {} {}\n# TYPE {} {}\n", name, EscapeHelp(field.help), name,
                       field.counter ? "counter" : "gauge");
    for (const auto& [labels, metrics] : nodes_) {
      out += fmt::format(
          "{}{{group=\"{}\",pipeline=\"{}\",node=\"{}\",urn=\"{}\",core=\"{}\"}} {}\n",
          name, Escape(labels.group), Escape(labels.pipeline), Escape(labels.node),
          Escape(labels.urn), labels.core, ((*metrics).*(field.member)).load());
    }
  }
  // Node-specific metrics, one family per (name, kind), in first appearance order:
  // every sample of a family follows its one HELP/TYPE header.
  std::vector<std::pair<std::string, bool>> families;
  std::vector<std::pair<const NodeLabels*, std::vector<ExtraMetric>>> extras;
  for (const auto& [labels, metrics] : nodes_) {
    extras.emplace_back(&labels, metrics->extras());
    for (const auto& m : extras.back().second) {
      const std::pair<std::string, bool> family{m.name, m.counter};
      if (std::find(families.begin(), families.end(), family) == families.end()) {
        families.push_back(family);
      }
    }
  }
  for (const auto& [extra_name, counter] : families) {
    const std::string name =
        fmt::format("otap_node_{}{}", extra_name, counter ? "_total" : "");
    bool header = false;
    for (const auto& [labels, metrics] : extras) {
      for (const auto& m : metrics) {
        if (m.name != extra_name || m.counter != counter) continue;
        if (!header) {
          out += fmt::format("# HELP {} {}\n# TYPE {} {}\n", name, EscapeHelp(m.help),
                             name, counter ? "counter" : "gauge");
          header = true;
        }
        out += fmt::format(
            "{}{{group=\"{}\",pipeline=\"{}\",node=\"{}\",urn=\"{}\",core=\"{}\"{}}} "
            "{}\n",
            name, Escape(labels->group), Escape(labels->pipeline), Escape(labels->node),
            Escape(labels->urn), labels->core,
            m.label.empty() ? std::string()
                            : fmt::format(",{}=\"{}\"", m.label, Escape(m.value)),
            m.amount);
      }
    }
  }
  return out;
}

std::string MetricsRegistry::RenderJson(bool pretty, bool keep_all_zeroes) const {
  const char* nl = pretty ? "\n" : "";
  const char* sp = pretty ? " " : "";
  auto indent = [pretty](int n) { return pretty ? std::string(n, ' ') : std::string(); };
  const auto now = std::chrono::system_clock::now();
  const auto millis =
      std::chrono::duration_cast<std::chrono::milliseconds>(now.time_since_epoch())
          .count() %
      1000;
  std::string out = fmt::format(
      "{{{}{}\"timestamp\":{}\"{:%Y-%m-%dT%H:%M:%S}.{:03}Z\",{}{}\"metric_sets\":{}[", nl,
      indent(2), sp, fmt::gmtime(std::chrono::system_clock::to_time_t(now)), millis, nl,
      indent(2), sp);
  std::lock_guard<std::mutex> lock(mutex_);
  bool first_set = true;
  for (const auto& [labels, metrics] : nodes_) {
    std::vector<std::string> entries;
    auto add = [&](const std::string& name, bool counter, const std::string& unit,
                   int64_t value, const std::string& label,
                   const std::string& label_value) {
      if (value == 0 && !keep_all_zeroes) return;
      entries.push_back(fmt::format(
          "{}{{\"name\":{}\"{}\",{}\"instrument\":{}\"{}\",{}{}\"value\":{}{}{}}}",
          indent(8), sp, JsonEscape(name), sp, sp, counter ? "counter" : "gauge", sp,
          unit.empty() ? std::string()
                       : fmt::format("\"unit\":{}\"{}\",{}", sp, JsonEscape(unit), sp),
          sp, value,
          label.empty() ? std::string()
                        : fmt::format(",{}\"attributes\":{}{{\"{}\":{}\"{}\"}}", sp, sp,
                                      JsonEscape(label), sp, JsonEscape(label_value))));
    };
    for (const auto& field : kFields) {
      add(field.name, field.counter, "", ((*metrics).*(field.member)).load(), "", "");
    }
    for (const auto& m : metrics->extras()) {
      add(m.name, m.counter, m.unit, m.amount, m.label, m.value);
    }
    std::string list;
    for (size_t i = 0; i < entries.size(); ++i) {
      list += (i == 0 ? std::string(nl) : fmt::format(",{}", nl)) + entries[i];
    }
    if (!entries.empty()) list += nl + indent(6);
    out += fmt::format(
        "{}{}{}{{{}{}\"name\":{}\"node\",{}{}\"attributes\":{}{{\"group\":{}\"{}\",{}"
        "\"pipeline\":{}\"{}\",{}\"node\":{}\"{}\",{}\"urn\":{}\"{}\",{}\"core\":{}{}}},"
        "{}{}\"metrics\":{}[{}]{}{}}}",
        first_set ? "" : ",", nl, indent(4), nl, indent(6), sp, nl, indent(6), sp, sp,
        JsonEscape(labels.group), sp, sp, JsonEscape(labels.pipeline), sp, sp,
        JsonEscape(labels.node), sp, sp, JsonEscape(labels.urn), sp, sp, labels.core, nl,
        indent(6), sp, list, nl, indent(4));
    first_set = false;
  }
  out += fmt::format("{}{}]{}}}\n", nodes_.empty() ? "" : nl,
                     nodes_.empty() ? "" : indent(2), nl);
  return out;
}

size_t MetricsRegistry::num_nodes() const {
  std::lock_guard<std::mutex> lock(mutex_);
  return nodes_.size();
}

int64_t MetricsRegistry::Sum(const std::string& node,
                             std::atomic<int64_t> NodeMetrics::*field) const {
  std::lock_guard<std::mutex> lock(mutex_);
  int64_t total = 0;
  for (const auto& [labels, metrics] : nodes_) {
    if (node.empty() || labels.node == node) total += ((*metrics).*field).load();
  }
  return total;
}

}  // namespace otap_parquet::engine
