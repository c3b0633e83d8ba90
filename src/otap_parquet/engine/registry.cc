// SPDX-License-Identifier: Apache-2.0
#include "otap_parquet/engine/registry.h"

#include <utility>

#include <fmt/format.h>

#include "otap_parquet/config/units.h"

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

namespace {

// One `listening_addr` of a receiver's config.
struct ListenUse {
  std::string path;
  int line = 0;
  config::HostPort address;
};

std::string AddressText(const config::HostPort& address) {
  return address.host.find(':') != std::string::npos
             ? fmt::format("[{}]:{}", address.host, address.port)
             : fmt::format("{}:{}", address.host, address.port);
}

bool AnyHost(const std::string& host) {
  return host.empty() || host == "0.0.0.0" || host == "::";
}

// Same port (not 0, any free port), and the same host or a wildcard on either side.
bool Overlap(const config::HostPort& a, const config::HostPort& b) {
  return a.port != 0 && a.port == b.port &&
         (a.host == b.host || AnyHost(a.host) || AnyHost(b.host));
}

// Every `listening_addr` key in a receiver's config (receiver:otlp has one per
// protocol, receiver:otap one; upstream names every server address so).
void CollectListenAddresses(const YAML::Node& node, const std::string& path,
                            std::vector<ListenUse>* out) {
  if (!node.IsMap()) return;
  for (auto it = node.begin(); it != node.end(); ++it) {
    if (!it->first.IsScalar()) continue;
    const std::string key_path = config::JoinPath(path, it->first.Scalar());
    if (it->first.Scalar() == "listening_addr" && it->second.IsScalar()) {
      if (auto address = config::ParseHostPort(it->second.Scalar()); address.ok()) {
        out->push_back({key_path, config::LineOf(it->first.Mark()), *address});
      }
    } else {
      CollectListenAddresses(it->second, key_path, out);
    }
  }
}

}  // namespace

void ValidateNodes(const config::EngineConfig& config, const Registry& registry,
                   config::ConfigErrors* errors) {
  // Two nodes on one address would each bind it (SO_REUSEPORT, meant for the
  // instances of one node) and the kernel would split the connections between
  // them, whatever protocol each speaks.
  std::vector<ListenUse> listening;
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
      const size_t errors_before = errors->size();
      factory->validate_config(node.config, node.config_path(), errors);
      if (factory->kind != NodeKind::kReceiver || errors->size() != errors_before) {
        continue;
      }
      std::vector<ListenUse> uses;
      CollectListenAddresses(node.config, node.config_path(), &uses);
      for (auto& use : uses) {
        for (const auto& other : listening) {
          if (!Overlap(use.address, other.address)) continue;
          errors->Add(use.path, use.line,
                      fmt::format("{} is also the listening address of {} (line {})",
                                  AddressText(use.address), other.path, other.line));
          break;
        }
        listening.push_back(std::move(use));
      }
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
