// SPDX-License-Identifier: Apache-2.0
#pragma once

/// \file
/// The differential check of the OTLP wire decoders (`*_wire_test.cc`): the batches
/// of the wire path against those of the message path. Include from tests only.

#include <string>
#include <vector>

#include <arrow/api.h>
#include <gtest/gtest.h>

#include "otap_parquet/pdata/otap_batch.h"
#include "otap_parquet/schema/payload_type.h"

namespace otap_parquet::testing {

/// \brief Expects `actual` (wire path) to equal `expected` (message path) batch by
/// batch and column by column, or both to have failed. Returns whether both
/// succeeded.
inline bool ExpectSameBatches(const arrow::Result<std::vector<OtapBatch>>& expected,
                              const arrow::Result<std::vector<OtapBatch>>& actual,
                              Signal signal, const std::string& what) {
  EXPECT_EQ(expected.ok(), actual.ok())
      << what << ": message path " << expected.status().ToString() << ", wire path "
      << actual.status().ToString();
  if (!expected.ok() || !actual.ok()) return false;
  EXPECT_EQ(expected->size(), actual->size()) << what;
  if (expected->size() != actual->size()) return false;
  for (size_t i = 0; i < expected->size(); ++i) {
    EXPECT_TRUE((*actual)[i].Validate().ok()) << what;
    for (PayloadType type : PayloadTypesOf(signal)) {
      const auto& want = (*expected)[i].Get(type);
      const auto& got = (*actual)[i].Get(type);
      EXPECT_EQ(want == nullptr, got == nullptr) << what << " batch " << i;
      if (!want || !got) continue;
      EXPECT_TRUE(want->schema()->Equals(*got->schema())) << what;
      EXPECT_EQ(want->num_rows(), got->num_rows()) << what;
      // NaN values are generated; they compare equal here.
      const auto nans = arrow::EqualOptions::Defaults().nans_equal(true);
      std::string diff;
      for (int c = 0; c < want->num_columns() && c < got->num_columns(); ++c) {
        if (!want->column(c)->Equals(*got->column(c), nans)) {
          diff += want->schema()->field(c)->name() + ": " +
                  want->column(c)->Diff(*got->column(c)) + "\n";
        }
      }
      EXPECT_TRUE(diff.empty())
          << what << " batch " << i << " " << TableName(type) << "\n"
          << diff;
    }
  }
  return true;
}

}  // namespace otap_parquet::testing
