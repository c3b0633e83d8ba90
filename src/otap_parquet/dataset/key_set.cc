// SPDX-License-Identifier: Apache-2.0
#include "otap_parquet/dataset/key_set.h"

namespace otap_parquet::dataset::internal {

void KeySet::Seal() {
  if (entries_.empty()) return;
  const uint64_t span = static_cast<uint64_t>(hi_) - lo_ + 1;
  dense_ = span <= 4 * entries_.size() + 1024;
  if (dense_) {
    table_.assign(static_cast<size_t>(span), ParentMatch::kAbsent);
    for (const auto& [key, emitted] : entries_) {
      ParentMatch& slot = table_[key - lo_];
      if (emitted) {
        slot = ParentMatch::kEmitted;
      } else if (slot == ParentMatch::kAbsent) {
        slot = ParentMatch::kFiltered;
      }
    }
  } else {
    map_.reserve(entries_.size());
    for (const auto& [key, emitted] : entries_) {
      auto [it, inserted] = map_.emplace(key, emitted);
      if (!inserted) it->second = it->second || emitted;
    }
  }
}

}  // namespace otap_parquet::dataset::internal
