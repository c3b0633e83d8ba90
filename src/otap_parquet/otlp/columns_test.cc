// SPDX-License-Identifier: Apache-2.0
#include "otap_parquet/otlp/columns.h"

#include <arrow/api.h>
#include <gtest/gtest.h>

#include "otap_parquet/schema/otap_schema.h"

namespace otap_parquet::otlp::internal {
namespace {

using schema::AnyValueType;

template <typename T>
T ValueOrDie(arrow::Result<T> result) {
  EXPECT_TRUE(result.ok()) << result.status().ToString();
  return std::move(result).ValueOrDie();
}

// Columns in canonical order: type, str, int, double, bool, bytes, ser.
enum { kType, kStr, kInt, kDouble, kBool, kBytes, kSer };

TEST(AnyValueBuilder, ValueColumnsSpreadOverTheRowsOfTheirType) {
  // Every type, mixed, with runs and an empty string: each value column has one
  // row per AnyValue, its value on rows of its type and null on all others.
  AnyValueBuilder builder;
  pb::common::AnyValue map;
  auto* kv = map.mutable_kvlist_value()->add_values();
  kv->set_key("k");
  kv->mutable_value()->set_int_value(1);
  ASSERT_TRUE(builder.AppendStr("alpha").ok());
  ASSERT_TRUE(builder.AppendInt(-5).ok());
  ASSERT_TRUE(builder.AppendEmpty().ok());
  ASSERT_TRUE(builder.AppendDouble(1.5).ok());
  ASSERT_TRUE(builder.AppendBool(true).ok());
  ASSERT_TRUE(builder.AppendBool(false).ok());
  ASSERT_TRUE(builder.AppendBytes(std::string("\0\1", 2)).ok());
  ASSERT_TRUE(builder.AppendStr("").ok());
  ASSERT_TRUE(builder.Append(map).ok());
  ASSERT_TRUE(builder.AppendStr("bc").ok());
  ASSERT_TRUE(builder.AppendInt(7).ok());
  auto columns = ValueOrDie(builder.Finish());
  ASSERT_EQ(columns.size(), 7u);
  for (const auto& column : columns) {
    ASSERT_EQ(column->length(), 11);
    ASSERT_TRUE(column->ValidateFull().ok()) << column->ToString();
  }
  const auto& type = static_cast<const arrow::UInt8Array&>(*columns[kType]);
  const std::vector<AnyValueType> types = {
      AnyValueType::kStr,    AnyValueType::kInt,  AnyValueType::kEmpty,
      AnyValueType::kDouble, AnyValueType::kBool, AnyValueType::kBool,
      AnyValueType::kBytes,  AnyValueType::kStr,  AnyValueType::kMap,
      AnyValueType::kStr,    AnyValueType::kInt};
  for (int64_t row = 0; row < 11; ++row) {
    EXPECT_EQ(type.Value(row), static_cast<uint8_t>(types[row])) << row;
  }

  const auto& str = static_cast<const arrow::StringArray&>(*columns[kStr]);
  EXPECT_EQ(str.null_count(), 8);
  EXPECT_EQ(str.GetView(0), "alpha");
  EXPECT_TRUE(str.IsValid(7));
  EXPECT_EQ(str.GetView(7), "");
  EXPECT_EQ(str.GetView(9), "bc");
  for (int64_t row : {1, 2, 3, 4, 5, 6, 8, 10}) EXPECT_TRUE(str.IsNull(row)) << row;

  const auto& ints = static_cast<const arrow::Int64Array&>(*columns[kInt]);
  EXPECT_EQ(ints.null_count(), 9);
  EXPECT_EQ(ints.Value(1), -5);
  EXPECT_EQ(ints.Value(10), 7);
  EXPECT_TRUE(ints.IsNull(0));
  EXPECT_TRUE(ints.IsNull(9));

  const auto& doubles = static_cast<const arrow::DoubleArray&>(*columns[kDouble]);
  EXPECT_EQ(doubles.null_count(), 10);
  EXPECT_EQ(doubles.Value(3), 1.5);

  const auto& bools = static_cast<const arrow::BooleanArray&>(*columns[kBool]);
  EXPECT_EQ(bools.null_count(), 9);
  EXPECT_TRUE(bools.Value(4));
  EXPECT_FALSE(bools.Value(5));
  EXPECT_TRUE(bools.IsNull(6));

  const auto& bytes = static_cast<const arrow::BinaryArray&>(*columns[kBytes]);
  EXPECT_EQ(bytes.null_count(), 10);
  EXPECT_EQ(bytes.GetView(6), std::string_view("\0\1", 2));

  const auto& ser = static_cast<const arrow::BinaryArray&>(*columns[kSer]);
  EXPECT_EQ(ser.null_count(), 10);
  EXPECT_TRUE(ser.IsValid(8));
  EXPECT_GT(ser.GetView(8).size(), 0u);
}

TEST(AnyValueBuilder, ColumnOfEveryRowOrOfNone) {
  // Only ints: the int column is dense (no nulls), every other value column is
  // all null, at the table's length; a second use of the builder starts empty.
  AnyValueBuilder builder;
  for (int64_t i = 0; i < 3000; ++i) ASSERT_TRUE(builder.AppendInt(i).ok());
  auto columns = ValueOrDie(builder.Finish());
  for (const auto& column : columns) {
    ASSERT_EQ(column->length(), 3000);
    ASSERT_TRUE(column->ValidateFull().ok());
  }
  EXPECT_EQ(columns[kInt]->null_count(), 0);
  EXPECT_EQ(static_cast<const arrow::Int64Array&>(*columns[kInt]).Value(2999), 2999);
  for (int column : {kStr, kDouble, kBool, kBytes, kSer}) {
    EXPECT_EQ(columns[column]->null_count(), 3000) << column;
  }

  ASSERT_TRUE(builder.AppendStr("x").ok());
  ASSERT_TRUE(builder.AppendEmpty().ok());
  columns = ValueOrDie(builder.Finish());
  for (const auto& column : columns) ASSERT_EQ(column->length(), 2);
  EXPECT_EQ(static_cast<const arrow::StringArray&>(*columns[kStr]).GetView(0), "x");
  EXPECT_TRUE(columns[kStr]->IsNull(1));
  EXPECT_EQ(columns[kInt]->null_count(), 2);
}

}  // namespace
}  // namespace otap_parquet::otlp::internal
