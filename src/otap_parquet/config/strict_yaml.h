// SPDX-License-Identifier: Apache-2.0
#pragma once

#include <chrono>
#include <optional>
#include <string>
#include <string_view>

#include <yaml-cpp/yaml.h>

#include "otap_parquet/config/config_reader.h"

/// \file
/// Checks that yaml-cpp and plain getters leave out: a key written twice, and
/// durations kept in milliseconds that would truncate to zero.

namespace otap_parquet::config {

/// \brief Records an error for every key a mapping anywhere in `node` holds twice,
/// at its path below `path`, naming the first one's line: yaml-cpp keeps both
/// entries and every lookup silently takes the first. An aliased mapping is
/// checked once; deep documents do not recurse.
void ReportDuplicateKeys(const YAML::Node& node, const std::string& path,
                         ConfigErrors* errors);

/// \brief reader.Duration(key) for a setting kept in whole milliseconds: a non-zero
/// value under 1ms is an error (truncated it became 0, which often means "off" or
/// "every time"); others are truncated to the millisecond.
std::optional<std::chrono::milliseconds> ReadMillis(ConfigReader& reader,
                                                    std::string_view key);

}  // namespace otap_parquet::config
