// SPDX-License-Identifier: Apache-2.0
#include "otap_parquet/dataset/upstream_keys.h"

#include <gtest/gtest.h>

namespace otap_parquet::dataset::internal {
namespace {

using PT = PayloadType;
using Keys = std::vector<uint32_t>;

constexpr uint32_t N = kNoKey;

struct Mapped {
  Keys res, scope;
};

Mapped MapOnce(UpstreamKeyMapper* mapper, const Keys& ids, Keys res, Keys scope,
               const std::unordered_set<uint32_t>& attr_ids = {},
               uint32_t later_raw_max = 0) {
  mapper->Map(ids, &res, &scope, later_raw_max, attr_ids);
  return {res, scope};
}

// Scenario: two upstream span batches in one piece, offsets 0 and 3; the second
// starts with a smaller resource.id (boundary sign: resource.id decreases).
// Guarantees: each run's key is its first root id + the raw id.
TEST(UpstreamKeyMapperTest, ResourceIdDecreaseStartsANewBatch) {
  ReaderStats stats;
  UpstreamKeyMapper mapper(PT::kSpans, UpstreamResourcePolicy::kInferOffset, &stats);
  auto out = MapOnce(&mapper, {0, 1, 2, 3, 4}, {0, 0, 1, 0, 0}, {0, 1, 2, 0, 0});
  EXPECT_EQ(out.res, (Keys{0, 0, 1, 3, 3}));
  EXPECT_EQ(out.scope, (Keys{0, 1, 2, 3, 3}));
  EXPECT_EQ(stats.unresolved_resource_rows, 0);
  EXPECT_EQ(mapper.carried_offset(), 3u);
}

// Scenario: span ids jump (not previous + 1) with the same resource.id.
// Guarantees: the jump is a boundary; logs, whose ids may skip, split only on a
// decrease.
TEST(UpstreamKeyMapperTest, SpanIdJumpIsABoundaryLogIdGapIsNot) {
  ReaderStats stats;
  UpstreamKeyMapper spans(PT::kSpans, UpstreamResourcePolicy::kInferOffset, &stats);
  EXPECT_EQ(MapOnce(&spans, {5, 6, 9}, {0, 0, 0}, {N, N, N}).res, (Keys{5, 5, 9}));
  UpstreamKeyMapper logs(PT::kLogs, UpstreamResourcePolicy::kInferOffset, &stats);
  EXPECT_EQ(MapOnce(&logs, {5, 6, 9}, {0, 0, 0}, {N, N, N}).res, (Keys{5, 5, 5}));
  EXPECT_EQ(MapOnce(&logs, {5, 6, 2}, {0, 0, 0}, {N, N, N}).res, (Keys{5, 5, 2}));
}

// Scenario: consecutive single-resource log batches (offsets 0 and 2) show no sign;
// the second batch's offset is a resource attribute parent id.
// Guarantees: the split is found through the attribute parent ids (counted); without
// them the second batch keeps the first offset (the documented miss).
TEST(UpstreamKeyMapperTest, AttributeParentIdSplitsSingleResourceBatches) {
  ReaderStats stats;
  UpstreamKeyMapper with(PT::kLogs, UpstreamResourcePolicy::kInferOffset, &stats);
  EXPECT_EQ(MapOnce(&with, {0, 1, 2, 3}, {0, 0, 0, 0}, {0, 0, 0, 0}, {0, 2}).res,
            (Keys{0, 0, 2, 2}));
  EXPECT_EQ(stats.upstream_batch_splits, 1);
  UpstreamKeyMapper without(PT::kLogs, UpstreamResourcePolicy::kInferOffset, &stats);
  EXPECT_EQ(MapOnce(&without, {0, 1, 2, 3}, {0, 0, 0, 0}, {0, 0, 0, 0}, {0}).res,
            (Keys{0, 0, 0, 0}));
  // A resource.id as large as the distance (later row groups: raw max 2) rules the
  // split out.
  UpstreamKeyMapper bounded(PT::kLogs, UpstreamResourcePolicy::kInferOffset, &stats);
  EXPECT_EQ(MapOnce(&bounded, {0, 1, 2, 3}, {0, 0, 0, 0}, {0, 0, 0, 0}, {0, 2}, 2).res,
            (Keys{0, 0, 0, 0}));
}

// Scenario: a run continues into the next piece (no boundary at the piece start).
// Guarantees: the next piece's rows use the carried offset.
TEST(UpstreamKeyMapperTest, RunContinuesAcrossPieces) {
  ReaderStats stats;
  UpstreamKeyMapper mapper(PT::kSpans, UpstreamResourcePolicy::kInferOffset, &stats);
  EXPECT_EQ(MapOnce(&mapper, {10, 11}, {0, 0}, {0, 0}).res, (Keys{10, 10}));
  EXPECT_EQ(mapper.carried_offset(), 10u);
  EXPECT_EQ(MapOnce(&mapper, {12, 13}, {1, 1}, {0, 0}).res, (Keys{11, 11}));
}

// Scenario: logs without attributes (null ids) only; and the kDrop policy.
// Guarantees: keys are unresolved (≥ kUnresolvedKeyBase, distinct per run and raw
// id), counted only under kInferOffset; kDrop never joins.
TEST(UpstreamKeyMapperTest, RunsWithoutIdsAndDropPolicyGiveUnresolvedKeys) {
  ReaderStats stats;
  UpstreamKeyMapper mapper(PT::kLogs, UpstreamResourcePolicy::kInferOffset, &stats);
  auto out = MapOnce(&mapper, {N, N}, {0, 1}, {N, 0});
  EXPECT_GE(out.res[0], kUnresolvedKeyBase);
  EXPECT_NE(out.res[0], out.res[1]);
  EXPECT_EQ(out.scope[0], N);
  EXPECT_GE(out.scope[1], kUnresolvedKeyBase);
  EXPECT_EQ(stats.unresolved_resource_rows, 2);

  ReaderStats drop_stats;
  UpstreamKeyMapper drop(PT::kSpans, UpstreamResourcePolicy::kDrop, &drop_stats);
  auto dropped = MapOnce(&drop, {0, 1, 2}, {0, 0, 0}, {0, 0, 0});
  for (uint32_t key : dropped.res) EXPECT_GE(key, kUnresolvedKeyBase);
  EXPECT_EQ(dropped.res[0], dropped.res[2]);  // one resource stays one
  EXPECT_EQ(drop_stats.unresolved_resource_rows, 0);
}

}  // namespace
}  // namespace otap_parquet::dataset::internal
