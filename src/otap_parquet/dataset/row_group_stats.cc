// SPDX-License-Identifier: Apache-2.0
#include "otap_parquet/dataset/row_group_stats.h"

#include <algorithm>
#include <exception>
#include <memory>

#include <parquet/statistics.h>

#include "otap_parquet/dataset/table_piece.h"

namespace otap_parquet::dataset::internal {

std::shared_ptr<parquet::Statistics> ChunkStatistics(const parquet::RowGroupMetaData& rg,
                                                     int leaf) {
  try {
    return rg.ColumnChunk(leaf)->statistics();
  } catch (const std::exception&) {
    return nullptr;  // unknown statistics, as documented in the header
  }
}

uint32_t MinKey(const parquet::RowGroupMetaData& rg, int leaf, bool* missing) {
  if (leaf < 0) return kNoKey;
  auto stats = ChunkStatistics(rg, leaf);
  if (stats && stats->HasMinMax()) {
    switch (stats->physical_type()) {
      case parquet::Type::INT32: {
        const int32_t v = static_cast<const parquet::Int32Statistics&>(*stats).min();
        // UInt8/16/32 ids are stored as INT32 (bit pattern of the unsigned value).
        return static_cast<uint32_t>(v);
      }
      case parquet::Type::INT64: {
        const int64_t v = static_cast<const parquet::Int64Statistics&>(*stats).min();
        if (v < 0) return 0;
        return v >= static_cast<int64_t>(kNoKey) ? kNoKey - 1 : static_cast<uint32_t>(v);
      }
      default:
        break;
    }
  }
  if (stats && stats->HasNullCount() && stats->null_count() >= rg.num_rows())
    return kNoKey;
  *missing = true;
  return 0;
}

uint32_t MaxKey(const parquet::RowGroupMetaData& rg, int leaf) {
  if (leaf < 0) return kNoKey;
  auto stats = ChunkStatistics(rg, leaf);
  if (!stats || !stats->HasMinMax()) return kNoKey;
  switch (stats->physical_type()) {
    case parquet::Type::INT32:
      // UInt8/16/32 ids are stored as INT32 (bit pattern of the unsigned value).
      return static_cast<uint32_t>(
          static_cast<const parquet::Int32Statistics&>(*stats).max());
    case parquet::Type::INT64: {
      const int64_t v = static_cast<const parquet::Int64Statistics&>(*stats).max();
      if (v < 0) return 0;
      return v >= static_cast<int64_t>(kNoKey) ? kNoKey : static_cast<uint32_t>(v);
    }
    default:
      return kNoKey;
  }
}

// Maximum of a small unsigned id column (upstream's raw resource.id / scope.id) in a
// row group; 0 when the column is absent or all null, 0xFFFF when unknown.
uint32_t MaxRawId(const parquet::RowGroupMetaData& rg, int leaf) {
  if (leaf < 0) return 0;
  auto stats = ChunkStatistics(rg, leaf);
  if (stats && stats->HasMinMax() && stats->physical_type() == parquet::Type::INT32) {
    return std::min<uint32_t>(
        static_cast<uint32_t>(static_cast<const parquet::Int32Statistics&>(*stats).max()),
        0xFFFF);
  }
  if (stats && stats->HasNullCount() && stats->null_count() >= rg.num_rows()) return 0;
  return 0xFFFF;
}

std::optional<std::pair<int64_t, int64_t>> TimeStats(const parquet::RowGroupMetaData& rg,
                                                     int leaf) {
  if (leaf < 0) return std::nullopt;
  auto stats = ChunkStatistics(rg, leaf);
  if (stats && stats->HasMinMax() && stats->physical_type() == parquet::Type::INT64) {
    const auto& typed = static_cast<const parquet::Int64Statistics&>(*stats);
    return std::make_pair(typed.min(), typed.max());
  }
  return std::nullopt;
}

// Leaves whose chunk metadata Arrow refuses in some row group, with the first reason.
std::vector<int> BrokenLeaves(const parquet::FileMetaData& md, std::string* reason) {
  std::vector<int> broken;
  for (int c = 0; c < md.num_columns(); ++c) {
    for (int g = 0; g < md.num_row_groups(); ++g) {
      try {
        md.RowGroup(g)->ColumnChunk(c);
      } catch (const std::exception& e) {
        // Not an error of the file: the leaf is read as nulls, and the caller logs
        // it with the file path and this reason.
        if (broken.empty()) *reason = e.what();
        broken.push_back(c);
        break;
      }
    }
  }
  return broken;
}

}  // namespace otap_parquet::dataset::internal
