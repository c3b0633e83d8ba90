// SPDX-License-Identifier: Apache-2.0
#pragma once

/// \file
/// Internal to the replay reader (docs/datasets.md, "How the reader merges"): the
/// join keys and the rows of one table that the merge holds in memory.

#include <cstdint>
#include <limits>
#include <memory>
#include <vector>

#include <arrow/record_batch.h>

namespace otap_parquet::dataset::internal {

/// "No key": a null id, an id that can never match, or "no more rows".
constexpr uint32_t kNoKey = std::numeric_limits<uint32_t>::max();
/// Keys of unresolved upstream resources/scopes: above every upstream key we join on,
/// and never put into a join key set (see UpstreamKeyMapper). Only in pieces whose
/// keys the mapper resolved (Piece::upstream_keys): in our files ids up to
/// 0xFFFFFFFE are ordinary ids (a writer's id space ends there).
constexpr uint32_t kUnresolvedKeyBase = 0xFFFE0000u;

/// \brief One slice of a table's rows (at most one row group), decoded and normalized,
/// with its join keys extracted (kNoKey for nulls).
struct Piece {
  std::shared_ptr<arrow::RecordBatch> batch;  ///< normalized (wide ids)
  std::vector<uint32_t> key;                  ///< parent_id (children) / id (roots)
  std::vector<uint32_t> id;                   ///< own id (children with children)
  std::vector<int32_t> live;                  ///< rows still buffered (children)
  std::vector<uint8_t> used;                  ///< resource/scope attrs: matched once
  std::vector<uint8_t> out_of_time;           ///< data points outside time_range
  /// Minimum key / id over `live` (valid once summary_valid).
  uint32_t min_live_key = kNoKey, min_live_id = kNoKey;
  bool summary_valid = false;
  // Roots only.
  std::vector<uint32_t> res_key, scope_key;  ///< resolved resource / scope join keys
  /// res_key / scope_key come from UpstreamKeyMapper: keys ≥ kUnresolvedKeyBase are
  /// unresolved there (never joined); otherwise they are plain ids.
  bool upstream_keys = false;
  /// Minimum of key / res_key / scope_key from each row on (size rows + 1).
  std::vector<uint32_t> suffix_id_min, suffix_res_min, suffix_scope_min;
  int file = -1;  ///< index into the cursor's files()
  int64_t first_row_in_file = 0;
  int64_t group_rows = 0;   ///< rows of the row group the slice belongs to
  bool ends_group = false;  ///< the group's last slice
};

}  // namespace otap_parquet::dataset::internal
