// SPDX-License-Identifier: Apache-2.0
#include "otap_parquet/pdata/otap_batch.h"

#include <arrow/api.h>
#include <gtest/gtest.h>

#include "otap_parquet/schema/otap_schema.h"

namespace otap_parquet {

// Scenario: every payload type of every signal has a table name that maps back.
// Guarantees: directory names match upstream's lower-case proto enum names.
TEST(PayloadTypeTest, TableNamesRoundTrip) {
  for (Signal signal : {Signal::kLogs, Signal::kTraces, Signal::kMetrics}) {
    for (PayloadType type : PayloadTypesOf(signal)) {
      auto name = TableName(type);
      ASSERT_NE(name, "unknown");
      EXPECT_EQ(PayloadTypeFromTableName(name), type);
    }
  }
  EXPECT_EQ(TableName(PayloadType::kExpHistogramDpExemplarAttrs),
            "exp_histogram_dp_exemplar_attrs");
  EXPECT_FALSE(PayloadTypeFromTableName("logs_attrs").has_value());
}

// Scenario: canonical schemas for each payload type.
// Guarantees: id widths follow the OTAP spec (UInt16 roots, UInt32 elsewhere).
TEST(SchemaTest, IdWidths) {
  EXPECT_TRUE(schema::IdType(PayloadType::kLogs)->Equals(arrow::uint16()));
  EXPECT_TRUE(schema::IdType(PayloadType::kNumberDataPoints)->Equals(arrow::uint32()));
  EXPECT_TRUE(schema::ParentIdType(PayloadType::kLogAttrs)->Equals(arrow::uint16()));
  EXPECT_TRUE(
      schema::ParentIdType(PayloadType::kSpanEventAttrs)->Equals(arrow::uint32()));
  EXPECT_TRUE(
      schema::ParentIdType(PayloadType::kNumberDpExemplars)->Equals(arrow::uint32()));
  EXPECT_EQ(schema::ParentIdType(PayloadType::kLogs), nullptr);
}

}  // namespace otap_parquet
