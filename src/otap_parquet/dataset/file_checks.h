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

#include <vector>

#include <arrow/status.h>
#include <parquet/metadata.h>

#include "otap_parquet/pdata/payload_type.h"

namespace otap_parquet::dataset {

/// \brief OK when `metadata` has every required column of table `type` (see the file
/// comment) with a convertible type and none of them among `unreadable_leaves`;
/// otherwise Invalid naming the column, e.g. "required column key is missing".
arrow::Status CheckRequiredColumns(PayloadType type,
                                   const parquet::FileMetaData& metadata,
                                   const std::vector<int>& unreadable_leaves);

}  // namespace otap_parquet::dataset
