// SPDX-License-Identifier: Apache-2.0
#include "otap_parquet/dataset/key_set.h"

#include <gtest/gtest.h>

namespace otap_parquet::dataset::internal {
namespace {

// Scenario: a chunk's parent ids form a dense range, some filtered by time.
// Guarantees: the direct-indexed table answers emitted / filtered / absent, and keys
// outside [lo, hi] are absent.
TEST(KeySetTest, DenseRangeAnswersEveryKey) {
  KeySet set;
  for (uint32_t key = 10; key <= 20; ++key) set.Add(key, key % 2 == 0);
  set.Seal();
  EXPECT_TRUE(set.dense());
  EXPECT_EQ(set.hi(), 20u);
  EXPECT_EQ(set.Lookup(10), ParentMatch::kEmitted);
  EXPECT_EQ(set.Lookup(11), ParentMatch::kFiltered);
  EXPECT_EQ(set.Lookup(9), ParentMatch::kAbsent);
  EXPECT_EQ(set.Lookup(21), ParentMatch::kAbsent);
  EXPECT_EQ(set.Lookup(kNoKey), ParentMatch::kAbsent);
}

// Scenario: ids far apart (a gap much larger than the key count).
// Guarantees: a hash map is used and answers like the dense table would.
TEST(KeySetTest, SparseKeysUseAHashMap) {
  KeySet set;
  set.Add(1, true);
  set.Add(5'000'000, false);
  set.Seal();
  EXPECT_FALSE(set.dense());
  EXPECT_EQ(set.Lookup(1), ParentMatch::kEmitted);
  EXPECT_EQ(set.Lookup(5'000'000), ParentMatch::kFiltered);
  EXPECT_EQ(set.Lookup(2), ParentMatch::kAbsent);
}

// Scenario: one key added as filtered and as emitted (two rows with one parent key),
// in either order, in a dense and a sparse set.
// Guarantees: emitted wins, so that a child of an emitted parent is never dropped.
TEST(KeySetTest, EmittedWinsOverFiltered) {
  for (uint32_t far : {7u, 9'000'000u}) {
    KeySet set;
    set.Add(3, false);
    set.Add(3, true);
    set.Add(4, true);
    set.Add(4, false);
    set.Add(far, false);
    set.Seal();
    EXPECT_EQ(set.Lookup(3), ParentMatch::kEmitted) << far;
    EXPECT_EQ(set.Lookup(4), ParentMatch::kEmitted) << far;
    EXPECT_EQ(set.Lookup(far), ParentMatch::kFiltered) << far;
  }
}

// Scenario: only null ids are added; nothing is added.
// Guarantees: the set is empty and every lookup is absent.
TEST(KeySetTest, NullKeysAreNotAdded) {
  KeySet set;
  set.Add(kNoKey, true);
  EXPECT_TRUE(set.empty());
  set.Seal();
  EXPECT_EQ(set.Lookup(0), ParentMatch::kAbsent);
  KeySet none;
  none.Seal();
  EXPECT_TRUE(none.empty());
  EXPECT_EQ(none.Lookup(0), ParentMatch::kAbsent);
}

}  // namespace
}  // namespace otap_parquet::dataset::internal
