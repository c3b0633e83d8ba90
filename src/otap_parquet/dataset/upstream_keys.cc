// SPDX-License-Identifier: Apache-2.0
#include "otap_parquet/dataset/upstream_keys.h"

#include <algorithm>

namespace otap_parquet::dataset::internal {

void UpstreamKeyMapper::Map(const std::vector<uint32_t>& ids,
                            std::vector<uint32_t>* res_keys,
                            std::vector<uint32_t>* scope_keys, uint32_t later_raw_max,
                            const std::unordered_set<uint32_t>& attr_parent_ids) {
  const Runs runs = FindRuns(ids, *res_keys, *scope_keys, later_raw_max);
  const std::vector<uint32_t> offset_of = FindOffsets(ids, runs, attr_parent_ids);
  ApplyOffsets(runs, offset_of, res_keys, scope_keys);
}

// A run continues from the previous piece unless a boundary shows: `resource.id`
// decreases, or a root id is not the previous one + 1 (logs: not above it).
UpstreamKeyMapper::Runs UpstreamKeyMapper::FindRuns(
    const std::vector<uint32_t>& ids, const std::vector<uint32_t>& res_keys,
    const std::vector<uint32_t>& scope_keys, uint32_t later_raw_max) {
  const size_t n = ids.size();
  Runs runs;
  runs.run_of.resize(n);
  for (size_t i = 0; i < n; ++i) {
    const uint32_t raw_res = res_keys[i];
    const uint32_t id = ids[i];
    bool boundary = false;
    if (raw_res != kNoKey && prev_res_ != kNoKey && raw_res < prev_res_) {
      boundary = true;
    }
    // Span and metric ids are consecutive within a batch; log ids may skip logs
    // without attributes, so for logs only a decrease is a boundary.
    if (id != kNoKey && prev_id_ != kNoKey &&
        (root_type_ == PayloadType::kLogs ? id <= prev_id_ : id != prev_id_ + 1)) {
      boundary = true;
    }
    if (runs.last < 0) {
      runs.last = 0;
      runs.first_carried = !boundary && carry_run_;
    } else if (boundary) {
      ++runs.last;
    }
    runs.run_of[i] = runs.last;
    if (raw_res != kNoKey) prev_res_ = raw_res;
    if (id != kNoKey) prev_id_ = id;
  }
  // Rows of the last run may continue in later row groups: their resource/scope ids
  // are bounded by the footer statistics of every row group not read yet.
  runs.max_raw.assign(static_cast<size_t>(runs.last + 1), 0);
  if (runs.last >= 0) runs.max_raw[static_cast<size_t>(runs.last)] = later_raw_max;
  if (runs.first_carried) runs.max_raw[0] = std::max(runs.max_raw[0], carry_max_raw_);
  for (size_t i = 0; i < n; ++i) {
    uint32_t& m = runs.max_raw[static_cast<size_t>(runs.run_of[i])];
    if (res_keys[i] != kNoKey) m = std::max(m, res_keys[i]);
    if (scope_keys[i] != kNoKey) m = std::max(m, scope_keys[i]);
  }
  return runs;
}

// A run's offset is its first root id. A later root id that is also a resource/scope
// attribute parent id, further above the offset than any resource or scope id of the
// run, can only be the offset of a new batch (whose first resource or scope has
// attributes): split there. This catches batches the signs of FindRuns miss, such as
// consecutive single-resource batches.
std::vector<uint32_t> UpstreamKeyMapper::FindOffsets(
    const std::vector<uint32_t>& ids, const Runs& runs,
    const std::unordered_set<uint32_t>& attr_parent_ids) {
  const size_t n = ids.size();
  std::vector<uint32_t> offset_of(n, kNoKey);
  std::vector<size_t> waiting;  // rows of the current run before its first id
  uint32_t offset = runs.first_carried ? carry_offset_ : kNoKey;
  int32_t current = 0;
  auto flush = [&] {
    for (size_t w : waiting) offset_of[w] = offset;
    waiting.clear();
  };
  for (size_t i = 0; i < n; ++i) {
    if (runs.run_of[i] != current) {
      flush();
      current = runs.run_of[i];
      offset = kNoKey;
    }
    const uint32_t id = ids[i];
    if (id != kNoKey) {
      if (offset == kNoKey) {
        offset = id;
        flush();
      } else if (id > offset &&
                 id - offset > runs.max_raw[static_cast<size_t>(current)] &&
                 attr_parent_ids.count(id) > 0) {
        offset = id;
        ++stats_->upstream_batch_splits;
      }
    }
    if (offset == kNoKey) {
      waiting.push_back(i);
    } else {
      offset_of[i] = offset;
    }
  }
  flush();
  carry_run_ = runs.last >= 0;
  carry_offset_ = offset;
  carry_max_raw_ = runs.last >= 0 ? runs.max_raw[static_cast<size_t>(current)] : 0;
  return offset_of;
}

// Key = offset + raw id; a row without an offset (or kDrop) gets an unresolved key.
void UpstreamKeyMapper::ApplyOffsets(const Runs& runs,
                                     const std::vector<uint32_t>& offset_of,
                                     std::vector<uint32_t>* res_keys,
                                     std::vector<uint32_t>* scope_keys) {
  // kDrop still separates resources by run (never merges two resources) but joins no
  // attributes.
  const bool drop = policy_ == UpstreamResourcePolicy::kDrop;
  for (size_t i = 0; i < offset_of.size(); ++i) {
    const uint32_t offset = offset_of[i];
    for (auto* keys : {res_keys, scope_keys}) {
      uint32_t& key = (*keys)[i];
      if (key == kNoKey) continue;
      if (drop || offset == kNoKey ||
          static_cast<uint64_t>(offset) + key >= kUnresolvedKeyBase) {
        // Distinct per run (mod 2^16), so that unresolved resources of different
        // batches in one chunk are not merged into one.
        const uint32_t run = unresolved_seq_ + static_cast<uint32_t>(runs.run_of[i]);
        key = kUnresolvedKeyBase + ((run * 64 + std::min<uint32_t>(key, 63)) & 0xFFFF);
        if (!drop && keys == res_keys) ++stats_->unresolved_resource_rows;
      } else {
        key += offset;
      }
    }
  }
  unresolved_seq_ += static_cast<uint32_t>(runs.last + 1);
}

}  // namespace otap_parquet::dataset::internal
