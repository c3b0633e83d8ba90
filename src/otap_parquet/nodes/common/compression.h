// SPDX-License-Identifier: Apache-2.0
#pragma once

#include <optional>
#include <string_view>
#include <vector>

#include "otap_parquet/config/config_reader.h"

/// \file
/// The compression methods OTLP and OTAP nodes name in config (an exporter's
/// `compression`, a receiver's `request_compression`), read by one table of names.

namespace otap_parquet::nodes {

/// \brief A compression method: `none`, `gzip`, `zstd` or `deflate`. Each node
/// refuses the ones its transport cannot use.
enum class OtlpCompression { kNone, kGzip, kZstd, kDeflate };

/// \brief "none", "gzip", "zstd", "deflate".
std::string_view OtlpCompressionName(OtlpCompression compression);

/// \brief `key`: one method; nullopt when absent or not a method (error recorded).
std::optional<OtlpCompression> ReadOtlpCompression(config::ConfigReader& reader,
                                                   std::string_view key);

/// \brief `key`: a list of methods (one name is a one-element list); nullopt when
/// absent or when an item is not a method (an error at each bad item).
std::optional<std::vector<OtlpCompression>> ReadOtlpCompressionList(
    config::ConfigReader& reader, std::string_view key);

}  // namespace otap_parquet::nodes
