// SPDX-License-Identifier: Apache-2.0
#pragma once

#include <cstddef>
#include <string>
#include <string_view>

#include <arrow/result.h>

namespace otap_parquet::util {

/// \brief Decompresses a zstd body (one or more frames) of at most `max_size`
/// bytes once decompressed. Too large → CapacityError; not zstd, corrupt or
/// truncated → Invalid with zstd's reason.
arrow::Result<std::string> ZstdDecompress(std::string_view compressed, size_t max_size);

/// \brief One zstd frame of `plain` at `level` (zstd's default level is 3).
arrow::Result<std::string> ZstdCompress(std::string_view plain, int level = 3);

}  // namespace otap_parquet::util
