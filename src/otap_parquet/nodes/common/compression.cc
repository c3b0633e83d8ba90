// SPDX-License-Identifier: Apache-2.0
#include "otap_parquet/nodes/common/compression.h"

namespace otap_parquet::nodes {

namespace {

const config::EnumNames<OtlpCompression> kNames = {
    {"none", OtlpCompression::kNone},
    {"gzip", OtlpCompression::kGzip},
    {"zstd", OtlpCompression::kZstd},
    {"deflate", OtlpCompression::kDeflate}};

}  // namespace

std::string_view OtlpCompressionName(OtlpCompression compression) {
  for (const auto& [name, value] : kNames) {
    if (value == compression) return name;
  }
  return "?";
}

std::optional<OtlpCompression> ReadOtlpCompression(config::ConfigReader& reader,
                                                   std::string_view key) {
  return reader.Enum<OtlpCompression>(key, kNames);
}

std::optional<std::vector<OtlpCompression>> ReadOtlpCompressionList(
    config::ConfigReader& reader, std::string_view key) {
  return reader.EnumList<OtlpCompression>(key, kNames);
}

}  // namespace otap_parquet::nodes
