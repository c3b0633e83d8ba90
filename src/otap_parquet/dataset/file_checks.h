// SPDX-License-Identifier: Apache-2.0
#pragma once

/// \file
/// Which columns a table's Parquet file must have to be replayed (a file without
/// them is skipped as incompatible rather than decoded into empty records).
///
/// Both writers (ours and upstream's template, shared/docs/otap-parquet-format.md §7)
/// write every column of a table, all-null ones included, but a file from elsewhere
/// may omit optional ones; those read as nulls. Required are the columns without
/// which rows cannot be joined or carry no record at all: `parent_id` of every child
/// table, `key` and `type` of attributes, the root `id`, and per root the fields
/// that make a record (logs: `time_unix_nano`, `observed_time_unix_nano`, `body`;
/// spans: `trace_id`, `span_id`, `start_time_unix_nano`; metrics: `metric_type`).

#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include <arrow/io/interfaces.h>
#include <arrow/result.h>
#include <arrow/status.h>
#include <parquet/metadata.h>

#include "otap_parquet/schema/payload_type.h"

namespace otap_parquet::dataset {

/// \brief OK when `metadata` has every required column of table `type` (see the file
/// comment) with a convertible type and none of them among `unreadable_leaves`;
/// otherwise Invalid naming the column, e.g. "required column key is missing".
arrow::Status CheckRequiredColumns(PayloadType type,
                                   const parquet::FileMetaData& metadata,
                                   const std::vector<int>& unreadable_leaves);

/// \brief A file's footer as far as it can be read, and which leaf columns cannot be
/// read the usual way.
struct CheckedFooter {
  std::shared_ptr<parquet::FileMetaData> metadata;
  /// Top-level leaves written with upstream's length prefixes (Q14): their footer was
  /// repaired (column_recovery.h) and they are readable with ReadLengthPrefixedFixed.
  std::vector<int> prefixed_leaves;
  /// Leaves whose chunk metadata Arrow refuses (or nested Q14 leaves): read as nulls.
  std::vector<int> unreadable_leaves;
  /// Why the first unreadable leaf is unreadable.
  std::string unreadable_reason;
};

/// \brief Reads the footer of `input`: a footer Arrow cannot parse, or one with a
/// negative row count, is an error (the file is corrupt); column chunk metadata
/// Arrow refuses is repaired where it is upstream's Q14 form (RepairFooter) and
/// otherwise names its leaves unreadable. Never throws.
/// \return the footer; Invalid or IOError (from the file or the footer) otherwise.
/// Errors name `path`.
arrow::Result<CheckedFooter> ReadCheckedFooter(
    std::string_view path, const std::shared_ptr<arrow::io::RandomAccessFile>& input);

}  // namespace otap_parquet::dataset
