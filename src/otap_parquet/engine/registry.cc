// SPDX-License-Identifier: Apache-2.0
#include "otap_parquet/engine/registry.h"

#include <arpa/inet.h>
#include <netdb.h>
#include <sys/socket.h>

#include <cctype>
#include <memory>
#include <optional>
#include <set>
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

// Where a listener binds: any address (a wildcard host) or the numeric addresses
// its host names. Compared as text, `localhost` and `127.0.0.1` did not overlap.
struct BoundHosts {
  bool any = false;
  std::set<std::string> addresses;
};

// The numeric form of an IP literal (so `::0001` equals `::1`), or nullopt.
std::optional<std::string> NumericHost(const std::string& host) {
  char text[INET6_ADDRSTRLEN] = {};
  in_addr v4{};
  if (::inet_pton(AF_INET, host.c_str(), &v4) == 1) {
    return std::string(::inet_ntop(AF_INET, &v4, text, sizeof(text)));
  }
  in6_addr v6{};
  if (::inet_pton(AF_INET6, host.c_str(), &v6) == 1) {
    return std::string(::inet_ntop(AF_INET6, &v6, text, sizeof(text)));
  }
  return std::nullopt;
}

bool IsLocalhost(std::string host) {
  for (char& c : host) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  if (!host.empty() && host.back() == '.') host.pop_back();
  // RFC 6761: `localhost` and names below it are the loopback addresses.
  return host == "localhost" ||
         (host.size() > 10 && host.compare(host.size() - 10, 10, ".localhost") == 0);
}

BoundHosts ResolveHost(const std::string& host) {
  BoundHosts out;
  if (host.empty()) {
    out.any = true;
    return out;
  }
  if (auto numeric = NumericHost(host)) {
    out.any = *numeric == "0.0.0.0" || *numeric == "::";
    out.addresses.insert(*numeric);
    return out;
  }
  if (IsLocalhost(host)) {
    out.addresses = {"127.0.0.1", "::1"};
    return out;
  }
  // Another name: what the servers' bind resolves it to; as written if it does not
  // resolve (the bind will then fail and say so).
  addrinfo hints{};
  hints.ai_family = AF_UNSPEC;
  hints.ai_socktype = SOCK_STREAM;
  addrinfo* found = nullptr;
  if (::getaddrinfo(host.c_str(), nullptr, &hints, &found) == 0) {
    std::unique_ptr<addrinfo, decltype(&::freeaddrinfo)> owned(found, &::freeaddrinfo);
    for (const addrinfo* a = found; a != nullptr; a = a->ai_next) {
      char text[NI_MAXHOST] = {};
      if (::getnameinfo(a->ai_addr, a->ai_addrlen, text, sizeof(text), nullptr, 0,
                        NI_NUMERICHOST) == 0) {
        out.addresses.insert(text);
      }
    }
  }
  if (out.addresses.empty()) out.addresses.insert(host);
  return out;
}

// One listening address of the config (a receiver's `listening_addr`, the admin
// server's bind address).
struct ListenUse {
  std::string path;
  int line = 0;
  config::HostPort address;
  BoundHosts hosts;
};

std::string AddressText(const config::HostPort& address) {
  return address.host.find(':') != std::string::npos
             ? fmt::format("[{}]:{}", address.host, address.port)
             : fmt::format("{}:{}", address.host, address.port);
}

// Same port (not 0, any free port), and a shared address or a wildcard on either
// side (every server listens on TCP).
bool Overlap(const ListenUse& a, const ListenUse& b) {
  if (a.address.port == 0 || a.address.port != b.address.port) return false;
  if (a.hosts.any || b.hosts.any) return true;
  for (const auto& host : a.hosts.addresses) {
    if (b.hosts.addresses.count(host)) return true;
  }
  return false;
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
        out->push_back({key_path, config::LineOf(it->first.Mark()), *address,
                        ResolveHost(address->host)});
      }
    } else {
      CollectListenAddresses(it->second, key_path, out);
    }
  }
}

// Every receiver's listening addresses, of nodes whose config is otherwise valid.
std::vector<ListenUse> ReceiverAddresses(const config::EngineConfig& config,
                                         const Registry& registry) {
  std::vector<ListenUse> uses;
  for (const auto& pipeline : config.pipelines) {
    for (const auto& node : pipeline.nodes) {
      if (!node.urn || node.urn->kind != NodeKind::kReceiver) continue;
      if (!registry.Find(node.urn->canonical())) continue;
      CollectListenAddresses(node.config, node.config_path(), &uses);
    }
  }
  return uses;
}

}  // namespace

void ValidateAdminBind(const config::EngineConfig& config, const Registry& registry,
                       const std::string& bind, const std::string& what,
                       config::ConfigErrors* errors) {
  if (bind == "none") return;
  auto address = config::ParseHostPort(bind);
  if (!address.ok()) return;  // reported where it is read
  const ListenUse admin{what, 0, *address, ResolveHost(address->host)};
  for (const auto& use : ReceiverAddresses(config, registry)) {
    if (!Overlap(admin, use)) continue;
    errors->Add(what, 0,
                fmt::format("the admin server's {} is also the listening address of {} "
                            "(line {})",
                            AddressText(admin.address), use.path, use.line));
    return;
  }
}

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
          if (!Overlap(use, other)) continue;
          errors->Add(use.path, use.line,
                      fmt::format("{} is also the listening address of {} (line {})",
                                  AddressText(use.address), other.path, other.line));
          break;
        }
        listening.push_back(std::move(use));
      }
    }
  }
  if (config.http_admin_bind) {
    ValidateAdminBind(config, registry, *config.http_admin_bind,
                      config.format == config::ConfigFormat::kLegacy
                          ? "settings.http_admin.bind_address"
                          : "engine.http_admin.bind_address",
                      errors);
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
