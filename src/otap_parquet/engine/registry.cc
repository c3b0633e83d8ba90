// SPDX-License-Identifier: Apache-2.0
#include "otap_parquet/engine/registry.h"

#include <utility>

#include <fmt/format.h>

namespace otap_parquet::engine {

void NoConfig(const YAML::Node& config, const std::string& path,
              config::ConfigErrors* errors) {
  if (!config.IsDefined() || config.IsNull()) return;
  if (config.IsMap() && config.size() == 0) return;
  if (config.IsMap()) {
    for (auto it = config.begin(); it != config.end(); ++it) {
      errors->Add(config::JoinPath(path, it->first.Scalar()), it->first.Mark(),
                  "unknown key; this node takes no configuration");
    }
    return;
  }
  errors->Add(path, config.Mark(), "this node takes no configuration (null or {})");
}

arrow::Status Registry::Register(NodeFactory factory) {
  ARROW_ASSIGN_OR_RAISE(auto urn, config::ParseNodeUrn(factory.urn));
  if (urn.canonical() != factory.urn) {
    return arrow::Status::Invalid("factory URN ", factory.urn, " is not canonical (",
                                  urn.canonical(), ")");
  }
  if (urn.kind != factory.kind) {
    return arrow::Status::Invalid("factory ", factory.urn, " has kind ",
                                  config::NodeKindName(factory.kind));
  }
  if (!factory.validate_config || !factory.create) {
    return arrow::Status::Invalid("factory ", factory.urn, " lacks a function");
  }
  auto [it, inserted] = factories_.emplace(factory.urn, std::move(factory));
  if (!inserted) return arrow::Status::Invalid("duplicate factory ", it->first);
  return arrow::Status::OK();
}

const NodeFactory* Registry::Find(std::string_view urn) const {
  auto it = factories_.find(urn);
  return it == factories_.end() ? nullptr : &it->second;
}

std::vector<std::string> Registry::urns() const {
  std::vector<std::string> out;
  for (const auto& [urn, factory] : factories_) out.push_back(urn);
  return out;
}

void ValidateNodes(const config::EngineConfig& config, const Registry& registry,
                   config::ConfigErrors* errors) {
  std::vector<std::string> short_names;
  for (const auto& urn : registry.urns()) {
    short_names.push_back(config::ParseNodeUrn(urn)->short_name());
  }
  for (const auto& pipeline : config.pipelines) {
    for (const auto& node : pipeline.nodes) {
      if (!node.urn) continue;
      const NodeFactory* factory = registry.Find(node.urn->canonical());
      if (!factory) {
        std::string message = fmt::format("unknown node type \"{}\" ({})", node.type,
                                          node.urn->canonical());
        if (auto near = config::NearestName(node.urn->short_name(), short_names)) {
          message += fmt::format("; did you mean \"{}\"?", *near);
        } else {
          message += fmt::format("; known types: {}", fmt::join(short_names, ", "));
        }
        errors->Add(node.path, node.line, std::move(message));
        continue;
      }
      factory->validate_config(node.config, node.config_path(), errors);
    }
  }
}

arrow::Result<config::EngineConfig> ParseAndValidate(const std::string& text,
                                                     const std::string& source,
                                                     const Registry& registry) {
  config::ConfigErrors errors;
  config::EngineConfig parsed = config::ParseEngineConfig(text, source, &errors);
  ValidateNodes(parsed, registry, &errors);
  const arrow::Status st = errors.ToStatus();
  // The errors name YAML paths; the file is named once, first.
  if (!st.ok()) return st.WithMessage(source, ": ", st.message());
  return parsed;
}

arrow::Result<config::EngineConfig> LoadEngineConfig(const std::string& source,
                                                     const Registry& registry) {
  ARROW_ASSIGN_OR_RAISE(auto text, config::ReadConfigSource(source));
  return ParseAndValidate(text, source, registry);
}

}  // namespace otap_parquet::engine
