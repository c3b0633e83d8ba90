// SPDX-License-Identifier: Apache-2.0
#pragma once

/// \file
/// Internal to the replay reader: the parent keys of one table in the current output
/// chunk, looked up by each child row.

#include <algorithm>
#include <cstdint>
#include <unordered_map>
#include <utility>
#include <vector>

#include "otap_parquet/dataset/table_piece.h"

namespace otap_parquet::dataset::internal {

/// \brief What a child row's parent key finds in a KeySet.
enum class ParentMatch : int8_t {
  kAbsent = -1,   ///< not a parent of this chunk
  kFiltered = 0,  ///< a parent dropped by the time filter: drop the child too
  kEmitted = 1,   ///< a parent emitted in this chunk: emit the child
};

/// \brief Join keys of one table in the current chunk: key → whether its row is
/// emitted. Add every key, then Seal() once, then Lookup(). The ids of a chunk are
/// usually a dense range: Seal() then builds a direct-indexed table, else a hash map.
class KeySet {
 public:
  bool empty() const { return entries_.empty(); }
  /// Largest key added (0 when empty).
  uint32_t hi() const { return hi_; }
  /// \brief Adds `key` (ignored when kNoKey); a key added both ways counts as emitted.
  void Add(uint32_t key, bool emitted) {
    if (key == kNoKey) return;
    entries_.emplace_back(key, emitted);
    lo_ = std::min(lo_, key);
    hi_ = std::max(hi_, key);
  }
  /// \brief Builds the lookup structure; call once, after the last Add().
  void Seal();
  ParentMatch Lookup(uint32_t key) const {
    if (entries_.empty() || key < lo_ || key > hi_) return ParentMatch::kAbsent;
    if (dense_) return table_[key - lo_];
    auto it = map_.find(key);
    if (it == map_.end()) return ParentMatch::kAbsent;
    return it->second ? ParentMatch::kEmitted : ParentMatch::kFiltered;
  }
  /// Whether Seal() chose the direct-indexed table (for tests).
  bool dense() const { return dense_; }

 private:
  std::vector<std::pair<uint32_t, bool>> entries_;
  uint32_t lo_ = kNoKey, hi_ = 0;
  bool dense_ = true;
  std::vector<ParentMatch> table_;
  std::unordered_map<uint32_t, bool> map_;
};

}  // namespace otap_parquet::dataset::internal
