// SPDX-License-Identifier: Apache-2.0
#include "otap_parquet/pdata/otap_batch.h"

#include <string>

#include <arrow/api.h>
#include <arrow/json/from_string.h>
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

namespace {

// A canonical table of `type` with `rows` rows: `ids` (JSON) in column `id_column`,
// every other column null.
std::shared_ptr<arrow::RecordBatch> IdTable(PayloadType type, const char* id_column,
                                            int64_t rows, const std::string& ids) {
  arrow::ArrayVector arrays;
  for (const auto& field : schema::CanonicalSchema(type)->fields()) {
    arrays.push_back(
        field->name() == id_column
            ? arrow::json::ArrayFromJSONString(field->type(), ids).ValueOrDie()
            : arrow::MakeArrayOfNull(field->type(), rows).ValueOrDie());
  }
  return arrow::RecordBatch::Make(schema::CanonicalSchema(type), rows, arrays);
}

OtapBatch LogsWithAttrs(const std::string& log_ids, const std::string& parent_ids,
                        int64_t logs, int64_t attrs) {
  OtapBatch batch(Signal::kLogs);
  batch.Set(PayloadType::kLogs, IdTable(PayloadType::kLogs, "id", logs, log_ids));
  batch.Set(PayloadType::kLogAttrs,
            IdTable(PayloadType::kLogAttrs, "parent_id", attrs, parent_ids));
  return batch;
}

}  // namespace

// Scenario: log_attrs rows naming log ids, with near-dense log ids and with ids far
// apart (0 and 60000), each with one reference to a missing log, and with null ids.
// Guarantees: Validate accepts references to existing rows and refuses the first
// missing one, naming it, whatever the id layout.
TEST(OtapBatchTest, ValidateFindsMissingParents) {
  EXPECT_TRUE(LogsWithAttrs("[0, 1, 2]", "[2, 0, 0, 1]", 3, 4).Validate().ok());
  EXPECT_TRUE(LogsWithAttrs("[0, 60000]", "[60000, 0]", 2, 2).Validate().ok());
  EXPECT_TRUE(LogsWithAttrs("[null, 7]", "[7, null]", 2, 2).Validate().ok());
  for (const auto& [ids, refs] :
       {std::pair<std::string, std::string>{"[0, 1, 2]", "[2, 5, 0]"},
        {"[0, 60000]", "[60000, 5, 0]"},
        {"[null, 7]", "[7, 5, 7]"}}) {
    auto st = LogsWithAttrs(ids, refs, 2 + (ids == "[0, 1, 2]"), 3).Validate();
    EXPECT_TRUE(st.IsInvalid()) << ids << " " << st.ToString();
    EXPECT_NE(st.message().find("parent_id 5 has no row in logs"), std::string::npos)
        << st.ToString();
  }
}

}  // namespace otap_parquet
