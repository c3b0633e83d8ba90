// SPDX-License-Identifier: Apache-2.0
#include "otap_parquet/dataset/file_checks.h"

#include <algorithm>
#include <exception>
#include <string>

#include <arrow/type.h>
#include <arrow/type_traits.h>
#include <parquet/arrow/schema.h>
#include <parquet/exception.h>
#include <parquet/file_reader.h>
#include <parquet/properties.h>

#include "otap_parquet/dataset/column_recovery.h"
#include "otap_parquet/dataset/parquet_errors.h"
#include "otap_parquet/dataset/row_group_stats.h"
#include "otap_parquet/schema/otap_schema.h"

namespace otap_parquet::dataset {

namespace {

using arrow::Status;
using PT = PayloadType;

enum class Kind { kInteger, kString, kStruct, kTime, kFixedId };

struct Required {
  const char* name;
  Kind kind;
};

std::vector<Required> RequiredOf(PT type) {
  if (IsAttributes(type)) {
    return {{schema::kParentId, Kind::kInteger},
            {schema::kKey, Kind::kString},
            {schema::kType, Kind::kInteger}};
  }
  switch (type) {
    case PT::kLogs:
      return {{schema::kId, Kind::kInteger},
              {schema::kTimeUnixNano, Kind::kTime},
              {schema::kObservedTimeUnixNano, Kind::kTime},
              {schema::kBody, Kind::kStruct}};
    case PT::kSpans:
      return {{schema::kId, Kind::kInteger},
              {schema::kTraceId, Kind::kFixedId},
              {schema::kSpanId, Kind::kFixedId},
              {schema::kStartTimeUnixNano, Kind::kTime}};
    case PT::kUnivariateMetrics:
      return {{schema::kId, Kind::kInteger}, {schema::kMetricType, Kind::kInteger}};
    default:
      return {{schema::kParentId, Kind::kInteger}};
  }
}

bool KindMatches(Kind kind, const arrow::DataType& raw) {
  const arrow::DataType* type = &raw;
  if (type->id() == arrow::Type::DICTIONARY) {
    type = static_cast<const arrow::DictionaryType&>(raw).value_type().get();
  }
  switch (kind) {
    case Kind::kInteger:
      return arrow::is_integer(type->id());
    case Kind::kString:
      return arrow::is_base_binary_like(type->id()) ||
             arrow::is_binary_view_like(type->id());
    case Kind::kStruct:
      return type->id() == arrow::Type::STRUCT;
    case Kind::kTime:
      return type->id() == arrow::Type::TIMESTAMP || arrow::is_integer(type->id());
    case Kind::kFixedId:
      return type->id() == arrow::Type::FIXED_SIZE_BINARY ||
             arrow::is_base_binary_like(type->id()) ||
             arrow::is_binary_view_like(type->id());
  }
  return false;
}

bool AnyLeafIn(const parquet::arrow::SchemaField& field, const std::vector<int>& leaves) {
  if (field.is_leaf()) {
    return std::find(leaves.begin(), leaves.end(), field.column_index) != leaves.end();
  }
  for (const auto& child : field.children) {
    if (AnyLeafIn(child, leaves)) return true;
  }
  return false;
}

}  // namespace

arrow::Result<CheckedFooter> ReadCheckedFooter(
    std::string_view path, const std::shared_ptr<arrow::io::RandomAccessFile>& input) {
  return CatchParquet(
      path,
      [&]() -> arrow::Result<CheckedFooter> {
        CheckedFooter out;
        out.metadata = parquet::ParquetFileReader::Open(input)->metadata();
        for (int g = 0; g < out.metadata->num_row_groups(); ++g) {
          // A negative count would become a batch of negative length.
          const int64_t rows = out.metadata->RowGroup(g)->num_rows();
          if (rows < 0) {
            return Status::Invalid(path, ": corrupt footer: row group ", g, " has ", rows,
                                   " rows");
          }
        }
        std::string& reason = out.unreadable_reason;
        auto broken = internal::BrokenLeaves(*out.metadata, &reason);
        if (broken.empty()) return out;
        auto repaired = RepairFooter(input.get());
        if (!repaired.ok()) {
          out.unreadable_leaves = std::move(broken);
          return out;
        }
        out.metadata = repaired->metadata;
        const auto& schema = *out.metadata->schema();
        reason.clear();
        for (int leaf : repaired->length_prefixed_leaves) {
          // Only top-level columns are recovered; others read as nulls.
          if (schema.Column(leaf)->path()->ToDotVector().size() == 1) {
            out.prefixed_leaves.push_back(leaf);
          } else {
            out.unreadable_leaves.push_back(leaf);
            reason = "length-prefixed values (Q14) in a nested column";
          }
        }
        for (int leaf : internal::BrokenLeaves(*out.metadata, &reason)) {
          if (std::find(out.unreadable_leaves.begin(), out.unreadable_leaves.end(),
                        leaf) == out.unreadable_leaves.end()) {
            out.unreadable_leaves.push_back(leaf);
          }
        }
        return out;
      },
      arrow::StatusCode::Invalid);
}

Status CheckRequiredColumns(PT type, const parquet::FileMetaData& metadata,
                            const std::vector<int>& unreadable_leaves) {
  parquet::arrow::SchemaManifest manifest;
  // The callers name the file.
  ARROW_RETURN_NOT_OK(CatchParquet(
      "unreadable schema",
      [&] {
        return parquet::arrow::SchemaManifest::Make(
            metadata.schema(), metadata.key_value_metadata(),
            parquet::default_arrow_reader_properties(), &manifest);
      },
      arrow::StatusCode::Invalid));
  for (const Required& required : RequiredOf(type)) {
    const parquet::arrow::SchemaField* found = nullptr;
    for (const auto& field : manifest.schema_fields) {
      if (field.field->name() == required.name) found = &field;
    }
    if (found == nullptr) {
      return Status::Invalid("required column ", required.name, " is missing");
    }
    if (!KindMatches(required.kind, *found->field->type())) {
      return Status::Invalid("required column ", required.name, " has type ",
                             found->field->type()->ToString());
    }
    if (AnyLeafIn(*found, unreadable_leaves)) {
      return Status::Invalid("required column ", required.name, " is unreadable");
    }
  }
  return Status::OK();
}

}  // namespace otap_parquet::dataset
