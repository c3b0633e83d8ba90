// SPDX-License-Identifier: Apache-2.0
#pragma once

#include <optional>
#include <string>
#include <string_view>

#include <arrow/result.h>

/// \file
/// Node type names: upstream's `urn:<namespace>:<kind>:<id>` and `<kind>:<id>`,
/// plus the older spellings that legacy configs use.

namespace otap_parquet::config {

/// \brief What a node does in the graph.
enum class NodeKind : uint8_t { kReceiver, kProcessor, kExporter };

/// \brief "receiver", "processor" or "exporter".
std::string_view NodeKindName(NodeKind kind);
std::optional<NodeKind> NodeKindFromName(std::string_view name);

/// \brief A parsed node type.
struct NodeUrn {
  std::string ns = "otel";  ///< namespace, lower case
  NodeKind kind = NodeKind::kReceiver;
  std::string id;  ///< e.g. "traffic_generator"

  /// \brief The canonical form factories are keyed by: `urn:<ns>:<kind>:<id>`.
  std::string canonical() const;
  /// \brief `<kind>:<id>` for the otel namespace, else the canonical form.
  std::string short_name() const;
};

/// \brief Parses a node type. Accepted forms (case-insensitive scheme and kind):
///   - `urn:<ns>:<kind>:<id>` and `<kind>:<id>` (upstream, current);
///   - `urn:<ns>:<id>:<kind>` and `<id>:<kind>` (upstream before 2026-02-25);
///   - `urn:<ns>:<prefix>:<id>:<kind>` (older long ids such as
///     `urn:otel:otap:parquet:receiver`), the prefix is dropped.
/// Legacy ids are renamed (`fake_data_generator` → `traffic_generator`,
/// `attributes_processor` → `attribute`, `signal_type_router` → `type_router`) and
/// the `otap` namespace reads as `otel`. Invalid explains the expected shape.
arrow::Result<NodeUrn> ParseNodeUrn(std::string_view text);

}  // namespace otap_parquet::config
