// SPDX-License-Identifier: Apache-2.0
#include "otap_parquet/config/engine_config.h"

#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <map>
#include <set>
#include <sstream>
#include <utility>

#include <fmt/format.h>

#include "otap_parquet/config/strict_yaml.h"
#include "otap_parquet/config/units.h"

namespace otap_parquet::config {

namespace {

constexpr std::string_view kVersionV1 = "otel_dataflow/v1";

// What a `policies` block sets; unset families are inherited from the wider scope.
struct PolicySet {
  std::optional<ChannelCapacity> capacity;
  std::optional<int> core_count;
};

int LineAt(const std::string& text, size_t pos) {
  int line = 1;
  for (size_t i = 0; i < pos && i < text.size(); ++i) {
    if (text[i] == '\n') ++line;
  }
  return line;
}

// Offset of the first byte that does not begin a well-formed UTF-8 sequence, or
// npos. yaml-cpp passes such bytes through into ids and paths.
size_t FirstInvalidUtf8(std::string_view s) {
  size_t i = 0;
  while (i < s.size()) {
    const auto c = static_cast<unsigned char>(s[i]);
    const size_t n = c < 0x80                 ? 1
                     : c >= 0xC2 && c <= 0xDF ? 2
                     : c >= 0xE0 && c <= 0xEF ? 3
                     : c >= 0xF0 && c <= 0xF4 ? 4
                                              : 0;
    if (n == 0 || i + n > s.size()) return i;
    for (size_t k = 1; k < n; ++k) {
      if ((static_cast<unsigned char>(s[i + k]) & 0xC0) != 0x80) return i;
    }
    i += n;
  }
  return std::string_view::npos;
}

std::optional<int> ReadCoreAllocation(ConfigReader reader) {
  enum class Allocation { kAllCores, kCoreCount, kCoreSet };
  auto type = reader.Enum<Allocation>("type", {{"all_cores", Allocation::kAllCores},
                                               {"core_count", Allocation::kCoreCount},
                                               {"core_set", Allocation::kCoreSet}});
  if (!type) {
    if (!reader.Has("type")) reader.Error("", "missing required key \"type\"");
    reader.Ignore("count");
    reader.Ignore("set");
    reader.Finish();
    return std::nullopt;
  }
  std::optional<int> count;
  if (*type == Allocation::kAllCores) {
    count = 0;
  } else if (*type == Allocation::kCoreCount) {
    if (!reader.Has("count")) reader.Error("", "core_count needs \"count\"");
    if (auto n = reader.Int("count", 0, 4096)) count = static_cast<int>(*n);
  } else {
    YAML::Node set = reader.Raw("set");
    int total = 0;
    if (!set.IsSequence() || set.size() == 0) {
      reader.Error("set", "core_set needs a non-empty list of {start, end}");
    } else {
      // Core ids as core_count's bound (4096 instances): a wider range overflowed
      // the count or started one thread per id. Ranges must not overlap (upstream).
      std::vector<std::pair<int64_t, int64_t>> ranges;
      for (size_t i = 0; i < set.size(); ++i) {
        ConfigReader range(set[i], JoinPath(reader.path(), fmt::format("set[{}]", i)),
                           reader.errors());
        auto start = range.Int("start", 0, 4095);
        auto end = range.Int("end", 0, 4095);
        if (!range.Has("start") || !range.Has("end")) {
          range.Error("", "needs integer start and end");
        }
        if (start && end && *end < *start) range.Error("end", "must be >= start");
        if (start && end && *end >= *start) {
          for (const auto& [s, e] : ranges) {
            if (*start <= e && s <= *end) {
              range.Error("", fmt::format("overlaps the range {}..{}", s, e));
              break;
            }
          }
          ranges.emplace_back(*start, *end);
          total += static_cast<int>(*end - *start + 1);
        }
        range.Finish();
      }
      if (total > 0) count = total;
    }
  }
  reader.Finish();
  return count;
}

ChannelCapacity ReadChannelCapacity(ConfigReader reader) {
  ChannelCapacity capacity;
  if (auto v = reader.Int("pdata", 1)) capacity.pdata = *v;
  ConfigReader control = reader.Child("control");
  if (auto v = control.Int("node", 1)) capacity.control_node = *v;
  if (auto v = control.Int("pipeline", 1)) capacity.control_pipeline = *v;
  if (auto v = control.Int("completion", 1)) capacity.control_completion = *v;
  control.Finish();
  reader.Finish();
  return capacity;
}

PolicySet ReadPolicies(ConfigReader reader) {
  PolicySet set;
  if (reader.Has("channel_capacity")) {
    set.capacity = ReadChannelCapacity(reader.Child("channel_capacity"));
  }
  if (reader.Has("resources")) {
    ConfigReader resources = reader.Child("resources");
    if (resources.Has("core_allocation")) {
      set.core_count = ReadCoreAllocation(resources.Child("core_allocation"));
    }
    // Accepted for compatibility; otap-parquet does not enforce them yet.
    resources.Ignore("memory_limiter");
    resources.Ignore("rate_limiters");
    resources.Finish();
  }
  // Accepted for compatibility, not applied (see docs/engine.md).
  for (auto key : {"telemetry", "runtime_recovery", "health", "transport_headers"}) {
    reader.Ignore(key);
  }
  reader.Finish();
  return set;
}

// Parses `node` or `node["port"]` / `node['port']`.
bool ParseSelector(const std::string& text, std::string* node, std::string* port,
                   std::string* why) {
  const size_t open = text.find('[');
  if (open == std::string::npos) {
    if (text.find(']') != std::string::npos) {
      *why = "stray ']'";
      return false;
    }
    *node = text;
    *port = "default";
    return !text.empty() || (*why = "empty node id", false);
  }
  if (text.back() != ']' || text.size() < open + 4) {
    *why = "expected node[\"port\"]";
    return false;
  }
  const std::string inner = text.substr(open + 1, text.size() - open - 2);
  const char q = inner.front();
  if ((q != '"' && q != '\'') || inner.back() != q || inner.size() < 3) {
    *why = "the port must be quoted and non-empty: node[\"port\"]";
    return false;
  }
  *node = text.substr(0, open);
  *port = inner.substr(1, inner.size() - 2);
  if (node->empty()) {
    *why = "empty node id";
    return false;
  }
  return true;
}

std::vector<std::pair<YAML::Node, std::string>> ScalarOrList(const YAML::Node& n) {
  std::vector<std::pair<YAML::Node, std::string>> out;
  if (n.IsScalar()) {
    out.emplace_back(n, n.Scalar());
  } else if (n.IsSequence()) {
    for (const auto& item : n) {
      out.emplace_back(item, item.IsScalar() ? item.Scalar() : std::string());
    }
  }
  return out;
}

void ReadConnections(const YAML::Node& list, const std::string& path,
                     PipelineSpec* pipeline, ConfigErrors* errors) {
  if (!list.IsDefined() || list.IsNull()) return;
  if (!list.IsSequence()) {
    errors->Add(path, list.Mark(), "expected a list of {from, to} connections");
    return;
  }
  for (size_t i = 0; i < list.size(); ++i) {
    const std::string cpath = fmt::format("{}[{}]", path, i);
    ConfigReader reader(list[i], cpath, errors);
    YAML::Node from = reader.Raw("from");
    YAML::Node to = reader.Raw("to");
    Dispatch dispatch = Dispatch::kOneOf;
    if (reader.Has("policies")) {
      ConfigReader policies = reader.Child("policies");
      policies.AllowNull({"dispatch"});  // an Option upstream: null = one_of
      dispatch = policies.Enum(
          "dispatch", {{"one_of", Dispatch::kOneOf}, {"broadcast", Dispatch::kBroadcast}},
          dispatch);
      policies.Finish();
    }
    reader.Ignore("description");
    reader.Finish();
    const int line = LineOf(list[i].Mark());
    auto sources = ScalarOrList(from);
    auto targets = ScalarOrList(to);
    if (sources.empty()) {
      errors->Add(JoinPath(cpath, "from"), line, "must name at least one source node");
    }
    if (targets.empty()) {
      errors->Add(JoinPath(cpath, "to"), line, "must name at least one destination node");
    }
    std::vector<std::string> to_ids;
    for (const auto& [node, text] : targets) {
      if (text.empty() || text.find('[') != std::string::npos) {
        errors->Add(
            JoinPath(cpath, "to"), node.Mark(),
            fmt::format("invalid destination \"{}\": a node id without a port", text));
        continue;
      }
      to_ids.push_back(text);
    }
    for (const auto& [node, text] : sources) {
      EdgeSpec edge;
      std::string why;
      if (!ParseSelector(text, &edge.from, &edge.port, &why)) {
        errors->Add(JoinPath(cpath, "from"), node.Mark(),
                    fmt::format("invalid source \"{}\": {}", text, why));
        continue;
      }
      edge.to = to_ids;
      edge.dispatch = dispatch;
      edge.path = cpath;
      edge.line = line;
      if (!edge.to.empty()) pipeline->edges.push_back(std::move(edge));
    }
  }
}

void ReadNodeType(const std::string& type, const YAML::Mark& mark,
                  const std::string& path, NodeSpec* node, ConfigErrors* errors) {
  node->type = type;
  auto urn = ParseNodeUrn(type);
  if (!urn.ok()) {
    errors->Add(path, mark, urn.status().message());
  } else {
    node->urn = *urn;
  }
}

// A v1 node: {type, description, config, outputs, default_output}.
NodeSpec ReadV1Node(const std::string& id, const YAML::Node& yaml,
                    const std::string& path, ConfigErrors* errors) {
  NodeSpec node;
  node.id = id;
  node.path = path;
  node.line = LineOf(yaml.Mark());
  ConfigReader reader(yaml, path, errors);
  if (auto type = reader.String("type")) {
    ReadNodeType(*type, reader.Raw("type").Mark(), JoinPath(path, "type"), &node, errors);
  } else if (!reader.Has("type")) {
    if (reader.Has("kind") || reader.Has("plugin_urn")) {
      reader.Error("",
                   "missing required key \"type\" (kind/plugin_urn belong to the "
                   "legacy format, which has no \"version\" key)");
    } else {
      reader.Error("", "missing required key \"type\"");
    }
  }
  node.config = reader.Raw("config");
  reader.AllowNull({"description", "default_output"});  // Options upstream
  node.description = reader.String("description").value_or("");
  node.outputs = reader.StringList("outputs").value_or(std::vector<std::string>{});
  node.default_output = reader.String("default_output").value_or("");
  for (auto it = node.outputs.begin(); it != node.outputs.end(); ++it) {
    if (std::find(node.outputs.begin(), it, *it) != it) {
      reader.Error("outputs", fmt::format("output port \"{}\" is declared twice", *it));
    }
  }
  // Otherwise every Send to the default port fails at run time.
  if (!node.default_output.empty() && !node.outputs.empty() &&
      std::find(node.outputs.begin(), node.outputs.end(), node.default_output) ==
          node.outputs.end()) {
    reader.Error("default_output",
                 fmt::format("\"{}\" is not one of the node's outputs ({})",
                             node.default_output, fmt::join(node.outputs, ", ")));
  }
  for (auto key : {"capabilities", "rate_limiters", "entity", "header_capture",
                   "header_propagation", "policies"}) {
    if (reader.Has(key)) reader.Error(key, "not supported by otap-parquet yet");
  }
  reader.Finish();
  return node;
}

// A legacy node: {kind, plugin_urn, description, config, out_ports, default_out_port}.
NodeSpec ReadLegacyNode(const std::string& id, const YAML::Node& yaml,
                        const std::string& path, PipelineSpec* pipeline,
                        ConfigErrors* errors) {
  NodeSpec node;
  node.id = id;
  node.path = path;
  node.line = LineOf(yaml.Mark());
  ConfigReader reader(yaml, path, errors);
  auto kind = reader.Enum<NodeKind>("kind", {{"receiver", NodeKind::kReceiver},
                                             {"processor", NodeKind::kProcessor},
                                             {"exporter", NodeKind::kExporter}});
  if (auto urn = reader.String("plugin_urn")) {
    ReadNodeType(*urn, reader.Raw("plugin_urn").Mark(), JoinPath(path, "plugin_urn"),
                 &node, errors);
  } else if (auto type = reader.String("type")) {
    ReadNodeType(*type, reader.Raw("type").Mark(), JoinPath(path, "type"), &node, errors);
  } else if (!reader.Has("plugin_urn") && !reader.Has("type")) {
    reader.Error("", "missing required key \"plugin_urn\"");
  }
  if (kind && node.urn && *kind != node.urn->kind) {
    reader.Error("kind", fmt::format("\"{}\" does not match the plugin's kind \"{}\"",
                                     NodeKindName(*kind), NodeKindName(node.urn->kind)));
  }
  node.config = reader.Raw("config");
  node.description = reader.String("description").value_or("");
  node.default_output = reader.String("default_out_port").value_or("");
  ConfigReader ports = reader.Child("out_ports");
  if (ports.node().IsMap()) {
    for (auto it = ports.node().begin(); it != ports.node().end(); ++it) {
      const std::string port = it->first.Scalar();
      ConfigReader port_reader = ports.Child(port);
      EdgeSpec edge;
      edge.from = id;
      edge.port = port;
      edge.path = port_reader.path();
      edge.line = LineOf(it->first.Mark());
      edge.to =
          port_reader.StringList("destinations").value_or(std::vector<std::string>{});
      if (edge.to.empty())
        port_reader.Error("destinations", "must name at least one node");
      // Every strategy but broadcast sends each message to one destination.
      edge.dispatch = port_reader.Enum("dispatch_strategy",
                                       {{"round_robin", Dispatch::kOneOf},
                                        {"random", Dispatch::kOneOf},
                                        {"least_loaded", Dispatch::kOneOf},
                                        {"broadcast", Dispatch::kBroadcast}},
                                       edge.dispatch);
      port_reader.Finish();
      node.outputs.push_back(port);
      if (!edge.to.empty()) pipeline->edges.push_back(std::move(edge));
    }
  }
  ports.Finish();
  reader.Finish();
  return node;
}

void ReadNodes(ConfigReader& parent, bool legacy, PipelineSpec* pipeline) {
  const YAML::Node nodes = parent.Raw("nodes");
  const std::string path = JoinPath(parent.path(), "nodes");
  if (!nodes.IsDefined() || nodes.IsNull()) {
    parent.Error("", "missing required key \"nodes\"");
    return;
  }
  if (!nodes.IsMap()) {
    parent.Error("nodes", "expected a mapping of node id to node");
    return;
  }
  std::set<std::string> seen;
  for (auto it = nodes.begin(); it != nodes.end(); ++it) {
    const std::string id = it->first.Scalar();
    const std::string npath = JoinPath(path, id);
    // Reported as a duplicate key by ReportDuplicateKeys; read once.
    if (!seen.insert(id).second) continue;
    if (id.find('[') != std::string::npos || id.find(']') != std::string::npos) {
      parent.errors()->Add(npath, it->first.Mark(), "node ids must not contain [ or ]");
    }
    if (legacy) {
      pipeline->nodes.push_back(
          ReadLegacyNode(id, it->second, npath, pipeline, parent.errors()));
    } else {
      pipeline->nodes.push_back(ReadV1Node(id, it->second, npath, parent.errors()));
    }
    pipeline->nodes.back().line = LineOf(it->first.Mark());
  }
}

void Resolve(PipelineSpec* pipeline, const PolicySet& top, const PolicySet& group,
             const PolicySet& own) {
  pipeline->capacity = own.capacity     ? *own.capacity
                       : group.capacity ? *group.capacity
                       : top.capacity   ? *top.capacity
                                        : ChannelCapacity{};
  if (own.core_count) {
    pipeline->core_count = own.core_count;
  } else if (group.core_count) {
    pipeline->core_count = group.core_count;
  }
  (void)top;
}

// `http_admin` (engine.* in v1, settings.* in the legacy format): upstream's
// `bind_address`, plus the admin server's deadlines under confighttp's names.
void ReadHttpAdmin(ConfigReader admin, EngineConfig* config) {
  config->http_admin_bind = admin.String("bind_address");
  if (config->http_admin_bind && *config->http_admin_bind != "none") {
    auto hp = ParseHostPort(*config->http_admin_bind);
    if (!hp.ok()) admin.Error("bind_address", hp.status().message());
  }
  using std::chrono::duration_cast;
  using std::chrono::milliseconds;
  if (auto v = admin.Duration("read_header_timeout", milliseconds(1))) {
    config->http_admin_read_header_timeout = duration_cast<milliseconds>(*v);
  }
  if (auto v = admin.Duration("write_timeout", milliseconds(1))) {
    config->http_admin_write_timeout = duration_cast<milliseconds>(*v);
  }
  admin.Finish();
}

void ParseV1(const YAML::Node& root, EngineConfig* config, ConfigErrors* errors) {
  ConfigReader reader(root, "", errors);
  reader.AllowNull({"version"});  // reported below, naming the expected value
  const auto version = reader.String("version");
  if (version && *version != kVersionV1) {
    reader.Error("version",
                 fmt::format("must be \"{}\", got \"{}\"", kVersionV1, *version));
  } else if (!version && !reader.Has("version") && reader.Raw("version").IsNull()) {
    // `version:` with no value is present (it chose this format) but not v1.
    reader.Error("version", fmt::format("must be \"{}\", got null", kVersionV1));
  }
  PolicySet top;
  if (reader.Has("policies")) top = ReadPolicies(reader.Child("policies"));
  config->core_count = top.core_count;
  if (reader.Has("topics")) reader.Error("topics", "topics are not supported yet");
  // engine: admin server, telemetry, observability pipeline. Accepted for
  // compatibility; otap-parquet configures logging and metrics from the command line.
  if (reader.Has("engine")) {
    ConfigReader engine = reader.Child("engine");
    if (engine.Has("http_admin")) ReadHttpAdmin(engine.Child("http_admin"), config);
    for (auto key : {"telemetry", "observed_state", "topics", "controller",
                     "observability", "custom"}) {
      engine.Ignore(key);
    }
    engine.Finish();
  }
  ConfigReader groups = reader.Child("groups");
  if (groups.node().IsMap()) {
    std::set<std::string> seen_groups;  // a repeat is a duplicate key (reported)
    for (auto git = groups.node().begin(); git != groups.node().end(); ++git) {
      const std::string group_id = git->first.Scalar();
      if (!seen_groups.insert(group_id).second) continue;
      ConfigReader group = groups.Child(group_id);
      if (group_id == "system") {
        groups.Error(group_id, "the group id \"system\" is reserved");
      }
      PolicySet group_policies;
      if (group.Has("policies")) group_policies = ReadPolicies(group.Child("policies"));
      if (group.Has("topics")) group.Error("topics", "topics are not supported yet");
      ConfigReader pipelines = group.Child("pipelines");
      if (pipelines.node().IsMap()) {
        std::set<std::string> seen_pipelines;
        for (auto pit = pipelines.node().begin(); pit != pipelines.node().end(); ++pit) {
          if (!seen_pipelines.insert(pit->first.Scalar()).second) continue;
          PipelineSpec pipeline;
          pipeline.group = group_id;
          pipeline.name = pit->first.Scalar();
          ConfigReader p = pipelines.Child(pipeline.name);
          pipeline.path = p.path();
          p.Accept("type", {"otap", "otlp"});
          PolicySet own;
          if (p.Has("policies")) own = ReadPolicies(p.Child("policies"));
          if (p.Has("extensions")) {
            const YAML::Node ext = p.Raw("extensions");
            if (!ext.IsMap() || ext.size() > 0) {
              p.Error("extensions", "extensions are not supported yet");
            }
          }
          ReadNodes(p, /*legacy=*/false, &pipeline);
          ReadConnections(p.Raw("connections"), JoinPath(p.path(), "connections"),
                          &pipeline, errors);
          p.Finish();
          Resolve(&pipeline, top, group_policies, own);
          config->pipelines.push_back(std::move(pipeline));
        }
      }
      pipelines.Finish();
      group.Finish();
    }
  }
  groups.Finish();
  reader.Finish();
  if (config->pipelines.empty() && errors->empty()) {
    errors->Add("groups", root.Mark(), "no pipelines configured");
  }
}

void ParseLegacy(const YAML::Node& root, EngineConfig* config, ConfigErrors* errors) {
  ConfigReader reader(root, "", errors);
  PipelineSpec pipeline;
  pipeline.group = "default";
  pipeline.name = "main";
  reader.Accept("type", {"otap", "otlp"});
  reader.Ignore("description");
  if (reader.Has("settings")) {
    ConfigReader settings = reader.Child("settings");
    if (auto v = settings.Int("default_pdata_channel_size", 1))
      pipeline.capacity.pdata = *v;
    if (auto v = settings.Int("default_node_ctrl_msg_channel_size", 1)) {
      pipeline.capacity.control_node = *v;
    }
    if (auto v = settings.Int("default_pipeline_ctrl_msg_channel_size", 1)) {
      pipeline.capacity.control_pipeline = *v;
    }
    settings.Ignore("health_policy");
    settings.Ignore("telemetry");
    settings.Ignore("observed_state");
    if (settings.Has("http_admin")) ReadHttpAdmin(settings.Child("http_admin"), config);
    settings.Finish();
  }
  if (reader.Has("quota")) {
    ConfigReader quota = reader.Child("quota");
    if (quota.Has("core_allocation")) {
      config->core_count = ReadCoreAllocation(quota.Child("core_allocation"));
    }
    quota.Finish();
  }
  ReadNodes(reader, /*legacy=*/true, &pipeline);
  ReadConnections(reader.Raw("connections"), "connections", &pipeline, errors);
  for (auto key : {"internal", "internal_connections", "service"}) reader.Ignore(key);
  reader.Finish();
  config->pipelines.push_back(std::move(pipeline));
}

}  // namespace

const NodeSpec* PipelineSpec::FindNode(const std::string& id) const {
  for (const auto& node : nodes) {
    if (node.id == id) return &node;
  }
  return nullptr;
}

std::string SubstituteEnv(const std::string& text, const std::string& source,
                          ConfigErrors* errors) {
  std::string out;
  out.reserve(text.size());
  size_t i = 0;
  while (i < text.size()) {
    if (text[i] != '$') {
      out.push_back(text[i++]);
      continue;
    }
    if (i + 1 < text.size() && text[i + 1] == '$') {
      out.push_back('$');
      i += 2;
      continue;
    }
    if (text.compare(i, 6, "${env:") != 0) {
      out.push_back(text[i++]);
      continue;
    }
    const size_t close = text.find('}', i);
    if (close == std::string::npos) {
      errors->Add(source, LineAt(text, i), "unterminated ${env:...} reference");
      out.append(text, i, std::string::npos);
      break;
    }
    const std::string body = text.substr(i + 6, close - i - 6);
    const size_t dflt = body.find(":-");
    const std::string name = body.substr(0, dflt);
    if (name.empty()) {
      errors->Add(source, LineAt(text, i), "empty variable name in ${env:}");
    } else if (const char* value = std::getenv(name.c_str())) {
      out += value;
    } else if (dflt != std::string::npos) {
      out += body.substr(dflt + 2);
    } else {
      errors->Add(
          source, LineAt(text, i),
          fmt::format("environment variable {} is not set (use ${{env:{}:-default}} "
                      "for a default)",
                      name, name));
    }
    i = close + 1;
  }
  return out;
}

arrow::Result<std::string> ReadConfigSource(const std::string& source) {
  if (source.rfind("env:", 0) == 0) {
    const std::string var = source.substr(4);
    const char* value = std::getenv(var.c_str());
    if (!value) {
      return arrow::Status::Invalid("configuration source ", source, ": variable ", var,
                                    " is not set");
    }
    return std::string(value);
  }
  if (source.rfind("yaml:", 0) == 0) return source.substr(5);
  std::string path = source;
  if (path.rfind("file:", 0) == 0) path = path.substr(5);
  // A directory opens as a stream that reads nothing: it would be "not a mapping".
  std::error_code error;
  if (std::filesystem::is_directory(path, error)) {
    return arrow::Status::IOError("cannot read configuration file ", path,
                                  ": it is a directory");
  }
  std::ifstream in(path, std::ios::binary);
  if (!in) return arrow::Status::IOError("cannot read configuration file ", path);
  std::ostringstream text;
  text << in.rdbuf();
  if (in.bad()) return arrow::Status::IOError("cannot read configuration file ", path);
  return text.str();
}

EngineConfig ParseEngineConfig(const std::string& text, const std::string& source,
                               ConfigErrors* errors) {
  EngineConfig config;
  config.source = source;
  const std::string substituted = SubstituteEnv(text, source, errors);
  // A UTF-16/32 file (with its byte order mark) is left to yaml-cpp, which reads it.
  const bool utf16_or_32 = substituted.rfind("\xFF\xFE", 0) == 0 ||
                           substituted.rfind("\xFE\xFF", 0) == 0 ||
                           substituted.rfind(std::string("\0\0\xFE\xFF", 4), 0) == 0;
  if (const size_t bad = FirstInvalidUtf8(substituted);
      bad != std::string_view::npos && !utf16_or_32) {
    errors->Add(source, LineAt(substituted, bad),
                fmt::format("not UTF-8 (byte 0x{:02X} at offset {})",
                            static_cast<unsigned char>(substituted[bad]), bad));
    return config;
  }
  auto root = LoadYaml(substituted, source);
  if (!root.ok()) {
    errors->Add("", 0, root.status().message());
    return config;
  }
  if (!root->IsMap()) {
    errors->Add(source, root->Mark(), "the configuration must be a YAML mapping");
    return config;
  }
  ReportDuplicateKeys(*root, "", errors);
  const YAML::Node& r = *root;
  if (r["version"]) {
    config.format = ConfigFormat::kDataflowV1;
    ParseV1(r, &config, errors);
  } else if (r["nodes"] || r["settings"]) {
    config.format = ConfigFormat::kLegacy;
    ParseLegacy(r, &config, errors);
  } else if (r["pipeline_groups"]) {
    errors->Add("pipeline_groups", r.Mark(),
                "the old engine file format is not supported; use \"version: "
                "otel_dataflow/v1\" with \"groups\"");
  } else {
    errors->Add("version", r.Mark(),
                "missing required key \"version\" (expected \"otel_dataflow/v1\", or a "
                "legacy pipeline with \"settings\" and \"nodes\")");
  }
  for (const auto& pipeline : config.pipelines) ValidatePipelineGraph(pipeline, errors);
  return config;
}

void ValidatePipelineGraph(const PipelineSpec& pipeline, ConfigErrors* errors) {
  std::map<std::string, int> in_degree, out_degree;
  for (const auto& node : pipeline.nodes) in_degree[node.id] = out_degree[node.id] = 0;
  bool edge_errors = false;
  auto kind_of = [&](const std::string& id) -> std::optional<NodeKind> {
    const NodeSpec* n = pipeline.FindNode(id);
    return n && n->urn ? std::optional<NodeKind>(n->urn->kind) : std::nullopt;
  };
  std::vector<std::string> node_ids;
  for (const auto& node : pipeline.nodes) node_ids.push_back(node.id);
  auto unknown = [&](const std::string& id) {
    std::string message = fmt::format("unknown node \"{}\"", id);
    if (auto near = NearestName(id, node_ids)) {
      message += fmt::format("; did you mean \"{}\"?", *near);
    }
    return message;
  };
  std::set<std::pair<std::string, std::string>> wired_ports;
  for (const auto& edge : pipeline.edges) {
    const NodeSpec* from = pipeline.FindNode(edge.from);
    if (!from) {
      errors->Add(JoinPath(edge.path, "from"), edge.line, unknown(edge.from));
      edge_errors = true;
    } else {
      if (kind_of(edge.from) == NodeKind::kExporter) {
        errors->Add(JoinPath(edge.path, "from"), edge.line,
                    fmt::format("exporter \"{}\" cannot be a source", edge.from));
        edge_errors = true;
      }
      if (!from->outputs.empty() && edge.port != "default" &&
          std::find(from->outputs.begin(), from->outputs.end(), edge.port) ==
              from->outputs.end()) {
        errors->Add(JoinPath(edge.path, "from"), edge.line,
                    fmt::format("node \"{}\" has no output port \"{}\" (outputs: {})",
                                edge.from, edge.port, fmt::join(from->outputs, ", ")));
      }
      if (!wired_ports.insert({edge.from, edge.port}).second) {
        errors->Add(JoinPath(edge.path, "from"), edge.line,
                    fmt::format("output port \"{}\" of \"{}\" is wired twice; list all "
                                "destinations in one connection",
                                edge.port, edge.from));
      }
      out_degree[edge.from]++;
    }
    if (edge.dispatch == Dispatch::kBroadcast && edge.to.size() > 1) {
      errors->Add(edge.path, edge.line,
                  "broadcast to more than one destination is not supported; use one_of "
                  "(a processor:fanout will duplicate data)");
    }
    for (const auto& to : edge.to) {
      if (!pipeline.FindNode(to)) {
        errors->Add(JoinPath(edge.path, "to"), edge.line, unknown(to));
        edge_errors = true;
        continue;
      }
      if (kind_of(to) == NodeKind::kReceiver) {
        errors->Add(JoinPath(edge.path, "to"), edge.line,
                    fmt::format("receiver \"{}\" cannot be a destination", to));
        edge_errors = true;
      }
      if (to == edge.from) {
        errors->Add(edge.path, edge.line,
                    fmt::format("node \"{}\" is wired to itself", to));
        edge_errors = true;
      }
      in_degree[to]++;
    }
  }
  for (const auto& node : pipeline.nodes) {
    if (!node.urn) continue;
    const int in = in_degree[node.id], out = out_degree[node.id];
    switch (node.urn->kind) {
      case NodeKind::kReceiver:
        if (out == 0) {
          errors->Add(node.path, node.line, "receiver has no outgoing connection");
        }
        break;
      case NodeKind::kProcessor:
        if (in == 0) errors->Add(node.path, node.line, "processor has no input");
        if (out == 0) errors->Add(node.path, node.line, "processor has no output");
        break;
      case NodeKind::kExporter:
        if (in == 0) errors->Add(node.path, node.line, "exporter has no input");
        break;
    }
  }
  if (pipeline.nodes.empty()) {
    errors->Add(pipeline.path.empty() ? "nodes" : pipeline.path, 0,
                "pipeline has no nodes");
  }
  if (edge_errors) return;
  const auto order = TopologicalOrder(pipeline);
  if (order.size() < pipeline.nodes.size()) {
    std::set<std::string> sorted(order.begin(), order.end());
    // Not sorted = on a cycle or downstream of one; name only the nodes that feed
    // back into the unsorted set (on a cycle or between cycles).
    std::set<std::string> left;
    for (const auto& node : pipeline.nodes) {
      if (!sorted.count(node.id)) left.insert(node.id);
    }
    for (bool pruned = true; pruned;) {
      pruned = false;
      for (auto it = left.begin(); it != left.end();) {
        bool feeds_back = false;
        for (const auto& edge : pipeline.edges) {
          if (edge.from != *it) continue;
          for (const auto& to : edge.to) feeds_back |= left.count(to) > 0;
        }
        if (feeds_back) {
          ++it;
        } else {
          it = left.erase(it);
          pruned = true;
        }
      }
    }
    std::vector<std::string> cyclic;
    for (const auto& node : pipeline.nodes) {
      if (left.count(node.id)) cyclic.push_back(node.id);
    }
    errors->Add(
        pipeline.path.empty() ? "connections" : JoinPath(pipeline.path, "connections"), 0,
        fmt::format("the connections form a cycle through {}", fmt::join(cyclic, ", ")));
  }
}

std::vector<std::string> TopologicalOrder(const PipelineSpec& pipeline) {
  std::map<std::string, int> in_degree;
  std::map<std::string, std::vector<std::string>> next;
  for (const auto& node : pipeline.nodes) in_degree[node.id] = 0;
  for (const auto& edge : pipeline.edges) {
    for (const auto& to : edge.to) {
      if (!in_degree.count(to) || !in_degree.count(edge.from)) continue;
      in_degree[to]++;
      next[edge.from].push_back(to);
    }
  }
  std::vector<std::string> order;
  std::vector<std::string> ready;
  // Declaration order among ready nodes, for stable results.
  for (const auto& node : pipeline.nodes) {
    if (in_degree[node.id] == 0) ready.push_back(node.id);
  }
  for (size_t i = 0; i < ready.size(); ++i) {
    order.push_back(ready[i]);
    for (const auto& to : next[ready[i]]) {
      if (--in_degree[to] == 0) ready.push_back(to);
    }
  }
  return order;
}

}  // namespace otap_parquet::config
