// SPDX-License-Identifier: Apache-2.0
#include "otap_parquet/config/urn.h"
#include "otap_parquet/util/strings.h"

#include <cctype>
#include <vector>

#include <fmt/format.h>

namespace otap_parquet::config {

namespace {

std::vector<std::string_view> Split(std::string_view s, char sep) {
  std::vector<std::string_view> parts;
  size_t start = 0;
  while (true) {
    const size_t pos = s.find(sep, start);
    parts.push_back(s.substr(start, pos == std::string_view::npos ? pos : pos - start));
    if (pos == std::string_view::npos) break;
    start = pos + 1;
  }
  return parts;
}

bool ValidIdent(std::string_view s) {
  if (s.empty()) return false;
  for (char c : s) {
    const bool ok = (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '.' ||
                    c == '_' || c == '-';
    if (!ok) return false;
  }
  return true;
}

std::string RenameLegacyId(std::string id) {
  if (id == "fake_data_generator") return "traffic_generator";
  if (id == "attributes_processor") return "attribute";
  if (id == "signal_type_router") return "type_router";
  return id;
}

}  // namespace

std::string_view NodeKindName(NodeKind kind) {
  switch (kind) {
    case NodeKind::kReceiver:
      return "receiver";
    case NodeKind::kProcessor:
      return "processor";
    case NodeKind::kExporter:
      return "exporter";
  }
  return "unknown";
}

std::optional<NodeKind> NodeKindFromName(std::string_view name) {
  const std::string lower = util::AsciiLower(name);
  if (lower == "receiver") return NodeKind::kReceiver;
  if (lower == "processor") return NodeKind::kProcessor;
  if (lower == "exporter") return NodeKind::kExporter;
  return std::nullopt;
}

std::string NodeUrn::canonical() const {
  return fmt::format("urn:{}:{}:{}", ns, NodeKindName(kind), id);
}

std::string NodeUrn::short_name() const {
  if (ns == "otel") return fmt::format("{}:{}", NodeKindName(kind), id);
  return canonical();
}

arrow::Result<NodeUrn> ParseNodeUrn(std::string_view text) {
  std::string_view s = text;
  while (!s.empty() && std::isspace(static_cast<unsigned char>(s.front()))) {
    s.remove_prefix(1);
  }
  while (!s.empty() && std::isspace(static_cast<unsigned char>(s.back()))) {
    s.remove_suffix(1);
  }
  auto invalid = [&](std::string_view why) {
    return arrow::Status::Invalid("invalid node type \"", text, "\": ", why,
                                  "; expected urn:<namespace>:<kind>:<id> or <kind>:<id> "
                                  "with kind receiver, processor or exporter");
  };
  const auto parts = Split(s, ':');
  NodeUrn urn;
  std::string_view a, b;
  if (parts.size() == 2) {
    a = parts[0];
    b = parts[1];
  } else if (parts.size() == 4 || parts.size() == 5) {
    if (util::AsciiLower(parts[0]) != "urn") return invalid("must start with \"urn:\"");
    urn.ns = util::AsciiLower(parts[1]);
    if (urn.ns == "otap") urn.ns = "otel";
    if (!ValidIdent(urn.ns)) return invalid("namespace must match [a-z0-9._-]+");
    a = parts[parts.size() - 2];
    b = parts[parts.size() - 1];
    if (parts.size() == 5 && !NodeKindFromName(b)) {
      return invalid("a five-part URN must end with its kind");
    }
  } else {
    return invalid(fmt::format("has {} ':'-separated parts", parts.size()));
  }
  std::string_view id;
  if (auto kind = NodeKindFromName(a)) {
    urn.kind = *kind;
    id = b;
  } else if (auto kind2 = NodeKindFromName(b)) {
    urn.kind = *kind2;
    id = a;
  } else {
    return invalid("no part names the kind");
  }
  if (parts.size() == 2 && urn.ns != "otel") return invalid("shortcut is otel only");
  if (!ValidIdent(id)) return invalid("id must match [a-z0-9._-]+");
  urn.id = RenameLegacyId(std::string(id));
  return urn;
}

}  // namespace otap_parquet::config
