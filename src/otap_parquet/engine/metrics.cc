// SPDX-License-Identifier: Apache-2.0
#include "otap_parquet/engine/metrics.h"

#include <utility>

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
    {"acked", "Acks delivered to the node", true, &NodeMetrics::acked},
    {"nacked_retryable", "retryable Nacks delivered to the node", true,
     &NodeMetrics::nacked_retryable},
    {"nacked_permanent", "permanent Nacks delivered to the node", true,
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
};

}  // namespace

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
    out += fmt::format("# HELP {} {}\n# TYPE {} {}\n", name, field.help, name,
                       field.counter ? "counter" : "gauge");
    for (const auto& [labels, metrics] : nodes_) {
      out += fmt::format(
          "{}{{group=\"{}\",pipeline=\"{}\",node=\"{}\",urn=\"{}\",core=\"{}\"}} {}\n",
          name, Escape(labels.group), Escape(labels.pipeline), Escape(labels.node),
          Escape(labels.urn), labels.core, ((*metrics).*(field.member)).load());
    }
  }
  return out;
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
