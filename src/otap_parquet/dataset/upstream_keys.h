// SPDX-License-Identifier: Apache-2.0
#pragma once

/// \file
/// Internal to the replay reader: join keys of upstream resources and scopes (quirk
/// Q1). Upstream files keep `resource.id` / `scope.id` un-offset while the attribute
/// tables' `parent_id` carries each batch's unknown offset C; the mapper recovers C
/// from the root id stream. The algorithm and its known misses: docs/datasets.md,
/// "Upstream resource and scope attributes".

#include <cstdint>
#include <unordered_set>
#include <vector>

#include "otap_parquet/dataset/dataset_reader.h"
#include "otap_parquet/dataset/table_piece.h"

namespace otap_parquet::dataset::internal {

/// \brief Turns upstream raw resource / scope ids into join keys (C + raw id), piece
/// after piece of one root stream. Keeps the state of the run in progress between
/// pieces. Not thread-safe.
class UpstreamKeyMapper {
 public:
  /// \param root_type logs, spans or univariate metrics (logs' ids may skip rows)
  /// \param policy kDrop: resources and scopes stay separate but join nothing
  /// \param stats counts upstream_batch_splits and unresolved_resource_rows
  UpstreamKeyMapper(PayloadType root_type, UpstreamResourcePolicy policy,
                    ReaderStats* stats)
      : root_type_(root_type), policy_(policy), stats_(stats) {}

  /// \brief Maps the raw ids of the next piece of roots in place.
  /// \param ids the roots' own ids (kNoKey = null), in stream order
  /// \param res_keys, scope_keys raw resource.id / scope.id in, join keys out;
  ///   unresolved ones become distinct keys ≥ kUnresolvedKeyBase
  /// \param later_raw_max largest raw resource/scope id in the row groups not read yet
  /// \param attr_parent_ids resource/scope attribute parent ids in the piece's id range
  void Map(const std::vector<uint32_t>& ids, std::vector<uint32_t>* res_keys,
           std::vector<uint32_t>* scope_keys, uint32_t later_raw_max,
           const std::unordered_set<uint32_t>& attr_parent_ids);

  /// \brief Offset of the run that continues into the next piece (kNoKey: none); later
  /// keys are at least this or a later root id.
  uint32_t carried_offset() const { return carry_run_ ? carry_offset_ : kNoKey; }

 private:
  /// Runs of one piece: rows where the batch must have changed start a new run.
  struct Runs {
    std::vector<int32_t> run_of;    ///< run index per row
    std::vector<uint32_t> max_raw;  ///< largest raw resource/scope id per run
    int32_t last = -1;              ///< index of the last run (-1: no rows)
    bool first_carried = false;     ///< run 0 continues the previous piece's run
  };
  Runs FindRuns(const std::vector<uint32_t>& ids, const std::vector<uint32_t>& res_keys,
                const std::vector<uint32_t>& scope_keys, uint32_t later_raw_max);
  std::vector<uint32_t> FindOffsets(const std::vector<uint32_t>& ids, const Runs& runs,
                                    const std::unordered_set<uint32_t>& attr_parent_ids);
  void ApplyOffsets(const Runs& runs, const std::vector<uint32_t>& offset_of,
                    std::vector<uint32_t>* res_keys, std::vector<uint32_t>* scope_keys);

  PayloadType root_type_;
  UpstreamResourcePolicy policy_;
  ReaderStats* stats_;
  // Across pieces: the last non-null raw resource id and root id, and the run that
  // may continue into the next piece.
  uint32_t prev_res_ = kNoKey;
  uint32_t prev_id_ = kNoKey;
  bool carry_run_ = false;
  uint32_t carry_offset_ = kNoKey;
  uint32_t carry_max_raw_ = 0;
  uint32_t unresolved_seq_ = 0;  // runs seen: keeps unresolved keys distinct
};

}  // namespace otap_parquet::dataset::internal
