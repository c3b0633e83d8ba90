// SPDX-License-Identifier: Apache-2.0
#pragma once

#include <memory>

#include <arrow/memory_pool.h>
#include <arrow/record_batch.h>
#include <arrow/result.h>

#include "otap_parquet/schema/payload_type.h"

/// \file
/// Conversion of any spec-allowed (OTAP wire) or on-disk (upstream Parquet exporter)
/// form of a payload type's record batch into its canonical schema
/// (shared/docs/otap-parquet-format.md §7).

namespace otap_parquet::schema {

/// \brief Options of NormalizeToCanonical.
struct NormalizeOptions {
  /// Convert the `id` and `parent_id` columns, and `resource.id` / `scope.id`, to
  /// UInt32 instead of their canonical width. For on-disk data whose ids are offset
  /// by the exporter's id rewrite (§8; our files offset resource and scope ids too)
  /// and can exceed UInt16 until RemapIdsDense (pdata/ids.h) renumbers them; the
  /// result differs from the canonical schema in those columns only. Default off.
  bool wide_ids = false;
  /// Pool of every buffer made here (nulls for missing columns, conversions): a
  /// decoder passes its stream's limited pool, since a batch can claim any number of
  /// rows and still be tiny on the wire (no columns, or Null-type ones).
  arrow::MemoryPool* pool = arrow::default_memory_pool();
  /// Every dictionary column's indices are known to lie within its dictionary (the
  /// caller checked them, as the OTAP decoder does): decoded without checking again.
  /// Out-of-range indices are undefined behaviour then. Default off: checked.
  bool dictionary_indices_checked = false;

  static NormalizeOptions Defaults() { return {}; }
};

/// \brief Converts a record batch of payload type `type` to CanonicalSchema(type).
///
/// Columns are located by name (never by position), recursively inside struct columns
/// (`resource`, `scope`, `body`, `status`, `positive`, `negative`) and list-of-struct
/// items (`quantile`). Per column:
/// - already of the canonical type: passed through without copying (a batch whose
///   schema is canonical is returned as is);
/// - dictionary encoded (any key width): decoded to the value type, then converted;
/// - integers of another width or signedness: converted with range checks; a value
///   that does not fit (a UInt32 root id > 65535) gives Invalid;
/// - Int64 or Timestamp (any unit and time zone) → Timestamp(ns); Int64 or
///   Duration (any unit) → Duration(ns); other integers via Int64;
/// - Float16/32 → Float64; LargeUtf8/Utf8View/Binary → Utf8; any binary or string
///   form → Binary; Binary of the right width → FixedSizeBinary; LargeList → List;
/// - the Null type → all nulls of the canonical type;
/// - exemplar `double_value` that is not floating point (upstream quirk Q4: an
///   inserted Int64 zero column) → absent (all-null Float64);
/// - missing (top-level or struct child) → all nulls of the canonical type, also for
///   fields the canonical schema marks non-nullable (callers that need values there
///   must check);
/// - columns and struct children that the canonical schema lacks (such as upstream's
///   `univariate_metrics.dropped_attributes_count`) are dropped.
///
/// Struct-level validity and schema metadata are kept. Field metadata is kept on
/// `id` / `parent_id` fields, top-level and inside structs (`resource.id`,
/// `scope.id`), so that DecodeTransportIds can still read their `encoding`; it is
/// dropped on other fields that had to be converted.
///
/// \return the canonical batch; TypeError when a column's type cannot be converted
/// and Invalid when a value cannot, both naming table and column path, e.g.
/// "logs.body.int: cannot convert utf8 to int64"; Invalid for duplicate column names.
arrow::Result<std::shared_ptr<arrow::RecordBatch>> NormalizeToCanonical(
    PayloadType type, const std::shared_ptr<arrow::RecordBatch>& batch,
    const NormalizeOptions& options = NormalizeOptions::Defaults());

}  // namespace otap_parquet::schema
