// SPDX-License-Identifier: Apache-2.0
#pragma once

#include <atomic>
#include <cstdint>
#include <memory>
#include <mutex>
#include <string>
#include <string_view>
#include <tuple>
#include <vector>

/// \file
/// Per-node counters of the engine, renderable as Prometheus text.

namespace otap_parquet::engine {

enum class MetricKind : uint8_t { kCounter, kGauge };

/// \brief The declaration of one node-specific metric, as the fields of upstream's
/// `#[metric_set]` structs: each node declares its metrics once, in a struct of
/// MetricDefs in its folder's `metrics.h`, and sets them with NodeMetrics::Set.
/// Rendered as `otap_node_<name>[_total]{<labels>[,<label>="<value>"]}`.
struct MetricDef {
  std::string_view name;  ///< e.g. "parquet_rows_written"
  MetricKind kind = MetricKind::kCounter;
  std::string_view unit;   ///< UCUM, as upstream: "By", "ms", "{file}", "{row}"
  std::string_view help;   ///< one line: what is counted
  std::string_view label;  ///< name of its one extra label ("table"); empty = none
  /// Prepended to `name`: one declared set shared by nodes that differ only in
  /// their names' prefix ("otlp_grpc_", "otlp_http_", "otap_"; WithPrefix()).
  std::string_view prefix;
};

/// \brief `def` rendered as `<prefix><name>`.
constexpr MetricDef WithPrefix(MetricDef def, std::string_view prefix) {
  def.prefix = prefix;
  return def;
}

/// \brief A monotonic counter (rendered `_total`).
constexpr MetricDef Counter(std::string_view name, std::string_view unit,
                            std::string_view help, std::string_view label = {}) {
  return {name, MetricKind::kCounter, unit, help, label, {}};
}
/// \brief A value that goes up and down.
constexpr MetricDef Gauge(std::string_view name, std::string_view unit,
                          std::string_view help, std::string_view label = {}) {
  return {name, MetricKind::kGauge, unit, help, label, {}};
}

/// \brief The current value of one node-specific metric (and label value).
struct ExtraMetric {
  std::string name;   ///< e.g. "parquet_rows_written"
  std::string label;  ///< optional extra label name (e.g. "table"); empty = none
  std::string value;  ///< its value (e.g. "logs")
  bool counter = true;
  std::string help;
  int64_t amount = 0;
  std::string unit;
};

/// \brief Counters of one node of one pipeline instance. Updated by the pipeline
/// thread (and, for acks completed elsewhere, any thread); read by anyone.
struct NodeMetrics {
  std::atomic<int64_t> received_batches{0};  ///< pdata messages consumed
  std::atomic<int64_t> received_items{0};
  std::atomic<int64_t> sent_batches{0};  ///< pdata messages produced
  std::atomic<int64_t> sent_items{0};
  /// Outcomes of the node's data: for receivers and processors the Acks/Nacks of
  /// messages they subscribed to; for exporters the Acks/Nacks they gave.
  std::atomic<int64_t> acked{0};
  std::atomic<int64_t> nacked_retryable{0};
  std::atomic<int64_t> nacked_permanent{0};
  std::atomic<int64_t> send_blocked{0};     ///< sends that found the channel full
  std::atomic<int64_t> refused{0};          ///< RESOURCE_EXHAUSTED answers
  std::atomic<int64_t> dropped{0};          ///< messages dropped (e.g. at deadline)
  std::atomic<int64_t> errors{0};           ///< node method failures
  std::atomic<int64_t> queue_depth{0};      ///< input channel depth (gauge)
  std::atomic<int64_t> queue_capacity{0};   ///< input channel capacity (gauge)
  std::atomic<int64_t> queue_depth_max{0};  ///< highest input depth seen (gauge)

  /// \brief Sets (creates) the declared metric `def` (with `label_value` for its
  /// label, if it has one) to `amount`. Thread-safe.
  void Set(const MetricDef& def, int64_t amount, std::string_view label_value = {});
  /// \brief Snapshot of the node-specific metrics, in insertion order.
  std::vector<ExtraMetric> extras() const;
  /// \brief The amount of one node-specific metric (0 if absent).
  int64_t extra(const std::string& name, const std::string& label_value = "") const;

 private:
  void SetExtra(ExtraMetric metric);

  mutable std::mutex extras_mutex_;
  std::vector<ExtraMetric> extras_;
};

/// \brief Identity of a node instance, rendered as labels.
struct NodeLabels {
  std::string group;
  std::string pipeline;
  std::string node;
  std::string urn;
  int core = 0;
};

/// Content type of RenderPrometheus()'s output.
inline constexpr char kPrometheusContentType[] =
    "text/plain; version=0.0.4; charset=utf-8";

/// \brief All node metrics of an engine. Thread-safe.
class MetricsRegistry {
 public:
  /// \brief Registers a node instance; the returned counters live as long as the
  /// registry or the caller, whichever is longer.
  std::shared_ptr<NodeMetrics> AddNode(NodeLabels labels);

  /// \brief Prometheus text exposition (0.0.4, content type
  /// kPrometheusContentType): `otap_node_<counter>_total` and gauges, labelled
  /// group, pipeline, node, urn, core; one HELP/TYPE header per family and every
  /// sample of a family together.
  std::string RenderPrometheus() const;

  /// \brief JSON in the shape of upstream's `GET /api/v1/metrics?format=json`:
  /// `{"timestamp": RFC 3339, "metric_sets": [{"name": "node", "attributes":
  /// {group, pipeline, node, urn, core}, "metrics": [{"name", "instrument",
  /// "value"[, "attributes"]}]}]}`, one metric set per node instance. Zero values
  /// are left out unless `keep_all_zeroes`; `pretty` indents (format=json) or not
  /// (format=json_compact).
  std::string RenderJson(bool pretty, bool keep_all_zeroes) const;

  size_t num_nodes() const;

  /// \brief Sum of one counter over nodes whose id is `node` (all if empty).
  int64_t Sum(const std::string& node, std::atomic<int64_t> NodeMetrics::*field) const;

 private:
  mutable std::mutex mutex_;
  std::vector<std::pair<NodeLabels, std::shared_ptr<NodeMetrics>>> nodes_;
};

}  // namespace otap_parquet::engine
