// SPDX-License-Identifier: Apache-2.0
#pragma once

#include <chrono>
#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include <arrow/result.h>
#include <yaml-cpp/yaml.h>

#include "otap_parquet/config/config_reader.h"
#include "otap_parquet/config/urn.h"

/// \file
/// The engine configuration: upstream's `version: otel_dataflow/v1` document and the
/// older single-pipeline shape (`settings` + `nodes` with `kind`, `plugin_urn`,
/// `out_ports`), both normalized into one graph model. Node-local `config` stays
/// YAML here; node factories validate it (engine::ValidateEngineConfig).

namespace otap_parquet::config {

/// \brief Capacities of a pipeline's channels (policies.channel_capacity).
struct ChannelCapacity {
  int64_t pdata = 128;               ///< every data channel, in messages
  int64_t control_node = 256;        ///< per-node control inbox
  int64_t control_pipeline = 256;    ///< runtime control (timers, drain, shutdown)
  int64_t control_completion = 512;  ///< Ack/Nack completion channel
};

/// \brief One node of a pipeline.
struct NodeSpec {
  std::string id;
  std::string type;            ///< as written (`type` or legacy `plugin_urn`)
  std::optional<NodeUrn> urn;  ///< unset when `type` did not parse (error recorded)
  YAML::Node config;           ///< null when absent
  std::string description;
  /// Declared output ports (`outputs`); empty = undeclared (any port allowed).
  std::vector<std::string> outputs;
  std::string default_output;  ///< "" = "default"
  std::string path;            ///< YAML path of the node, for messages
  int line = 0;

  std::string config_path() const { return path + ".config"; }
};

/// \brief How a message picks among several destinations of one edge.
enum class Dispatch : uint8_t {
  /// Each message goes to exactly one destination (round robin; upstream's default).
  kOneOf,
  /// Each message goes to every destination (only with one destination).
  kBroadcast,
};

/// \brief One source port wired to one or more destination nodes.
struct EdgeSpec {
  std::string from;              ///< source node id
  std::string port = "default";  ///< source output port
  std::vector<std::string> to;   ///< destination node ids
  Dispatch dispatch = Dispatch::kOneOf;
  std::string path;
  int line = 0;
};

/// \brief One pipeline of one group, in either input format.
struct PipelineSpec {
  std::string group;
  std::string name;
  std::string path;  ///< `groups.<g>.pipelines.<p>`, or "" for a legacy file
  std::vector<NodeSpec> nodes;
  std::vector<EdgeSpec> edges;
  ChannelCapacity capacity;
  /// Instances (cores) set by a group or pipeline `resources.core_allocation`;
  /// 0 = all cores. Wins over the command line, as upstream.
  std::optional<int> core_count;

  const NodeSpec* FindNode(const std::string& id) const;
};

enum class ConfigFormat : uint8_t { kDataflowV1, kLegacy };

/// \brief A whole engine configuration.
struct EngineConfig {
  ConfigFormat format = ConfigFormat::kDataflowV1;
  std::string source;
  std::vector<PipelineSpec> pipelines;
  /// Top-level `policies.resources.core_allocation` (0 = all cores); the command
  /// line's --num-cores overrides it.
  std::optional<int> core_count;
  /// `engine.http_admin.bind_address` (legacy: `settings.http_admin.bind_address`);
  /// unset = the default; the command line's --http-admin-bind overrides it.
  std::optional<std::string> http_admin_bind;
  /// `http_admin.read_header_timeout`: a connection's request (line and headers)
  /// must be complete this long after its accept; unset = the server's default.
  std::optional<std::chrono::milliseconds> http_admin_read_header_timeout;
  /// `http_admin.write_timeout`: an answer must be written within this; unset = the
  /// server's default.
  std::optional<std::chrono::milliseconds> http_admin_write_timeout;
};

/// \brief Replaces `${env:VAR}` (unset: error) and `${env:VAR:-default}`; `$$`
/// becomes `$`; other `${...}` stay. Errors carry the line.
std::string SubstituteEnv(const std::string& text, const std::string& source,
                          ConfigErrors* errors);

/// \brief Reads configuration text from a source: a path, `file:<path>`,
/// `env:<VAR>` (the whole text from a variable) or `yaml:<inline>`.
arrow::Result<std::string> ReadConfigSource(const std::string& source);

/// \brief Parses (after env substitution) and structurally validates a config:
/// shape, unknown keys, node types, connections, ports, cycles, nodes missing
/// inputs or outputs. Records every error in `errors` and returns what it could
/// parse. Node `config` payloads are not looked at.
EngineConfig ParseEngineConfig(const std::string& text, const std::string& source,
                               ConfigErrors* errors);

/// \brief Graph checks on a parsed pipeline (also run by ParseEngineConfig):
/// dangling references, exporters used as sources, receivers used as
/// destinations, undeclared ports, broadcast to several nodes, cycles, receivers
/// without outputs, processors without inputs or outputs, exporters without inputs.
void ValidatePipelineGraph(const PipelineSpec& pipeline, ConfigErrors* errors);

/// \brief Node ids of a pipeline in topological order (sources first). Requires
/// an acyclic graph; nodes on a cycle are omitted.
std::vector<std::string> TopologicalOrder(const PipelineSpec& pipeline);

}  // namespace otap_parquet::config
