// SPDX-License-Identifier: Apache-2.0
#pragma once

/// \file
/// Internal to the replay reader: what the merge needs from a Parquet footer (key
/// minima, upstream raw id maxima, time ranges, column chunks Arrow refuses). Missing
/// or unreadable statistics never fail: each function says what it assumes instead.

#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include <parquet/metadata.h>

namespace otap_parquet::dataset::internal {

/// \brief Minimum of key column `leaf` in a row group as UInt32: kNoKey when `leaf`
/// is -1 (absent) or the column is all null; 0, with `*missing` set, when statistics
/// are missing (0 is always safe: the merge reads ahead).
uint32_t MinKey(const parquet::RowGroupMetaData& rg, int leaf, bool* missing);

/// \brief Maximum of an id / parent_id column in a row group; kNoKey when unknown
/// (no statistics, all null, not an integer column): never below a real key.
uint32_t MaxKey(const parquet::RowGroupMetaData& rg, int leaf);

/// \brief Maximum of a small unsigned id column (upstream's raw resource.id /
/// scope.id) in a row group: 0 when absent or all null, 0xFFFF when unknown.
uint32_t MaxRawId(const parquet::RowGroupMetaData& rg, int leaf);

/// \brief (min, max) of an Int64 (timestamp) column in a row group; nullopt when
/// absent or without statistics.
std::optional<std::pair<int64_t, int64_t>> TimeStats(const parquet::RowGroupMetaData& rg,
                                                     int leaf);

/// \brief Statistics of column chunk `leaf` in a row group; null when it has none or
/// Arrow refuses to decode them (they are then unknown, like missing statistics; the
/// chunk itself is checked when read, and BrokenLeaves names chunks it refuses).
std::shared_ptr<parquet::Statistics> ChunkStatistics(const parquet::RowGroupMetaData& rg,
                                                     int leaf);

/// \brief Leaves whose column chunk metadata Arrow refuses in some row group;
/// `*reason` gets the first error when there is one.
std::vector<int> BrokenLeaves(const parquet::FileMetaData& md, std::string* reason);

}  // namespace otap_parquet::dataset::internal
