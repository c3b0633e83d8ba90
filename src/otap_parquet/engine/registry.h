// SPDX-License-Identifier: Apache-2.0
#pragma once

#include <functional>
#include <map>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include <arrow/result.h>
#include <spdlog/logger.h>
#include <yaml-cpp/yaml.h>

#include "otap_parquet/config/config_reader.h"
#include "otap_parquet/config/engine_config.h"
#include "otap_parquet/engine/node.h"

/// \file
/// Node factories and the registry the engine builds pipelines from.

namespace otap_parquet::engine {

/// \brief What a factory gets to create one node instance (developer settings, as
/// opposed to the user's YAML config).
struct NodeSettings {
  std::string node_id;
  config::NodeUrn urn;
  std::string group;
  std::string pipeline;
  int core = 0;             ///< pipeline instance index
  int num_cores = 1;        ///< instances of this pipeline
  std::string config_path;  ///< YAML path of the node's config, for messages
  std::shared_ptr<spdlog::logger> logger;
  /// Capacity of the pipeline's data channels (`policies.channel_capacity.pdata`),
  /// what a receiver's downstream channel holds.
  int64_t pdata_channel_capacity = 128;
};

/// \brief Records every error of a node's YAML `config` (path = `<node>.config`).
using ValidateConfigFn = void (*)(const YAML::Node& config, const std::string& path,
                                  config::ConfigErrors* errors);
/// \brief Creates a node from a config that passed validate_config. A function, or a
/// closure over what the caller hands its nodes (tests pass their state this way).
using CreateNodeFn = std::function<arrow::Result<std::unique_ptr<Node>>(
    const NodeSettings& settings, const YAML::Node& config)>;

/// \brief A node type. Plain data, listed in RegisterBuiltinNodes:
/// \code
/// const NodeFactory kNoopExporterFactory{
///     .urn = "urn:otel:exporter:noop",
///     .kind = NodeKind::kExporter,
///     .description = "acks everything",
///     .validate_config = &NoConfig,
///     .create = &NoopExporter::Make};
/// \endcode
struct NodeFactory {
  std::string urn;  ///< canonical `urn:<ns>:<kind>:<id>`
  NodeKind kind = NodeKind::kReceiver;
  std::string description;
  ValidateConfigFn validate_config = nullptr;
  CreateNodeFn create = nullptr;
};

/// \brief validate_config for nodes without configuration: accepts only null, `{}`
/// or an omitted key.
void NoConfig(const YAML::Node& config, const std::string& path,
              config::ConfigErrors* errors);

/// \brief Factories by canonical URN. Not thread-safe for writes; fill it before
/// building an engine.
class Registry {
 public:
  /// \brief Invalid on a malformed URN, a kind that does not match the URN, a
  /// missing function, or a duplicate.
  arrow::Status Register(NodeFactory factory);
  /// \brief The factory of a canonical URN, or null.
  const NodeFactory* Find(std::string_view urn) const;
  /// \brief Every registered URN, sorted.
  std::vector<std::string> urns() const;

 private:
  std::map<std::string, NodeFactory, std::less<>> factories_;
};

/// \brief Checks what needs the registry: every node type is known (with a
/// suggestion otherwise) and every node's `config` passes its factory's
/// validate_config. Records all errors.
void ValidateNodes(const config::EngineConfig& config, const Registry& registry,
                   config::ConfigErrors* errors);

/// \brief Records an error at `what` when the admin server's `bind` (HOST:PORT or
/// "none") is also the listening address of a receiver: same port, and a shared
/// address (host names resolved, `localhost` as the loopback addresses) or a
/// wildcard host on either side. ValidateNodes checks the config's own.
void ValidateAdminBind(const config::EngineConfig& config, const Registry& registry,
                       const std::string& bind, const std::string& what,
                       config::ConfigErrors* errors);

/// \brief Reads, parses and fully validates a configuration source (see
/// config::ReadConfigSource): Invalid listing every error otherwise.
arrow::Result<config::EngineConfig> LoadEngineConfig(const std::string& source,
                                                     const Registry& registry);
/// \brief As LoadEngineConfig, from text.
arrow::Result<config::EngineConfig> ParseAndValidate(const std::string& text,
                                                     const std::string& source,
                                                     const Registry& registry);

}  // namespace otap_parquet::engine
