// SPDX-License-Identifier: Apache-2.0
#pragma once

#include <string>

#include <yaml-cpp/yaml.h>

#include "otap_parquet/config/config_reader.h"

/// \file
/// Checks that yaml-cpp and plain getters leave out: a key written twice.

namespace otap_parquet::config {

/// \brief Records an error for every key a mapping anywhere in `node` holds twice,
/// at its path below `path`, naming the first one's line: yaml-cpp keeps both
/// entries and every lookup silently takes the first. An aliased mapping is
/// checked once; deep documents do not recurse.
void ReportDuplicateKeys(const YAML::Node& node, const std::string& path,
                         ConfigErrors* errors);

}  // namespace otap_parquet::config
