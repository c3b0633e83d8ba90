// SPDX-License-Identifier: Apache-2.0
#pragma once

#include <arrow/status.h>

#include "otap_parquet/engine/registry.h"

namespace otap_parquet::nodes {

/// \brief Registers every node type built into otap-parquet. The one list of
/// nodes: add a factory here when adding a node.
arrow::Status RegisterBuiltinNodes(engine::Registry& registry);

/// \brief A registry with the built-in nodes (built once, then read-only).
const engine::Registry& BuiltinRegistry();

}  // namespace otap_parquet::nodes
