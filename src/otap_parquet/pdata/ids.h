// SPDX-License-Identifier: Apache-2.0
#pragma once

#include <cstdint>
#include <span>
#include <unordered_map>
#include <vector>

#include <arrow/memory_pool.h>
#include <arrow/result.h>
#include <arrow/type_fwd.h>

#include "otap_parquet/pdata/otap_batch.h"

/// \file
/// Id columns of OTAP batches: transport encodings (shared/docs/otap-parquet-format.md
/// §9), child lookup by parent id, and dense renumbering (§8.3).

namespace otap_parquet {

/// Field metadata key of an id column's transport encoding (upstream
/// `consts.rs::metadata::COLUMN_ENCODING`) and its values.
inline constexpr char kEncodingMetadataKey[] = "encoding";
inline constexpr char kEncodingPlain[] = "plain";
inline constexpr char kEncodingDelta[] = "delta";
inline constexpr char kEncodingQuasiDelta[] = "quasidelta";

/// \brief Removes the OTAP transport encodings from every id column (§9.1).
///
/// Columns and their encodings, per payload type:
/// - roots: `id`, `resource.id`, `scope.id`: delta (prefix sum, nulls skipped);
/// - data points: `id` and `parent_id`: delta;
/// - span events / span links / exemplars: `id` delta; `parent_id` quasi-delta on
///   `name` / `trace_id` / (`int_value`, `double_value`): a row's value is a delta from
///   the previous row's decoded value when every equality column equals the previous
///   row's, else absolute; with `encoding` metadata (Rust) the values stored under
///   the rows are compared whatever their validity, as Rust does (a null holding 0
///   equals a valid 0), without it (Go) two nulls are equal and a null differs from
///   any value;
/// - attribute tables: `parent_id` attribute quasi-delta: a delta when `type`, `key`
///   and the value column of that type equal the previous row's, never for types
///   Empty/Map/Slice nor for null values; else absolute.
///
/// Floating point equality columns compare by value (NaN != NaN, -0.0 == 0.0) when
/// the id field has no `encoding` metadata, as Go's producer compares them, and
/// bitwise (NaN == NaN, -0.0 != 0.0; arrow-rs's total order) when it has.
///
/// A column is left as is only if its field metadata says `encoding=plain`; without
/// that metadata it is decoded (Go producers never write it); `delta` and
/// `quasidelta` are decoded with the scheme above; any other value is Invalid.
/// Decoded fields get `encoding=plain`. Arithmetic wraps modulo the id width, as in
/// upstream's Go and (release-built) Rust decoders. Null ids stay null and leave the
/// running value unchanged. Rows are never reordered.
///
/// Only for batches received over OTAP transport, normalized to canonical types
/// (schema::NormalizeToCanonical) with field metadata kept. Do NOT call it on
/// batches read from upstream's Parquet files: their top-level ids are plain but carry
/// no metadata (§9.2).
///
/// The decoded id columns (and bitmaps copied for them) are allocated from `pool`: a
/// receiver passes its stream's, so they count against the stream's memory limit.
///
/// \return the decoded batch; Invalid for an unknown encoding or attribute type,
/// TypeError for a non-canonical id type, both naming table and column.
arrow::Result<OtapBatch> DecodeTransportIds(
    const OtapBatch& batch, arrow::MemoryPool* pool = arrow::default_memory_pool());

/// \brief Whose quasi-delta rules EncodeTransportIds follows.
enum class IdDialect {
  /// Rust's: floats compared bitwise, a null attribute value never a delta; the
  /// fields say `encoding=delta` / `encoding=quasidelta`.
  kRust,
  /// Go's producer's (otel-arrow/go): floats by value (NaN != NaN, -0.0 == 0.0), a
  /// null attribute value equal to the type's zero value; no `encoding` metadata
  /// (receivers then assume Go's rules, as DecodeTransportIds does).
  kGo,
};

/// \brief The inverse of DecodeTransportIds: applies the encodings listed there to
/// every id column, whatever its metadata (the input's ids must be plain, as an
/// OtapBatch's are), with `dialect`'s equality and metadata. With kRust the
/// quasi-delta equality columns are returned with zeros stored under nulls and
/// strings without nulls (a null event name becomes empty), so that a peer comparing
/// stored values (or dictionary keys) sees what the encoder compared.
///
/// Rows are never reordered; where ids decrease in row order the deltas wrap modulo
/// the id width, which upstream's decoders undo. For peers (Go) that always decode.
arrow::Result<OtapBatch> EncodeTransportIds(const OtapBatch& batch,
                                            IdDialect dialect = IdDialect::kRust);

/// \brief Child rows per parent id, from a child table's `parent_id` column.
///
/// CSR layout: rows of each parent are contiguous, in original row order. A vector
/// covers the id range [min, max] when it is small relative to the row count (plain
/// or offset ids), else a hash map assigns slots. Null parent ids are skipped.
/// Immutable after Make; safe to share between threads.
class ChildIndex {
 public:
  /// \brief Builds the index from a UInt8/UInt16/UInt32 array (TypeError otherwise;
  /// CapacityError beyond INT32_MAX rows).
  static arrow::Result<ChildIndex> Make(const arrow::Array& parent_ids);

  /// \brief Row indices (ascending) of the children of `parent_id`; empty if none.
  std::span<const int32_t> Children(uint32_t parent_id) const;

  /// \brief Rows indexed (those with a non-null parent id).
  int64_t num_indexed_rows() const { return static_cast<int64_t>(rows_.size()); }
  /// \brief Whether the vector (not the hash map) layout is used.
  bool dense() const { return dense_; }

 private:
  ChildIndex() = default;

  bool dense_ = true;
  uint32_t min_id_ = 0;
  std::unordered_map<uint32_t, uint32_t> slot_of_;  // sparse layout: id → slot
  std::vector<int32_t> offsets_;                    // slot → first row in rows_
  std::vector<int32_t> rows_;
};

/// \brief Statistics of RemapIdsDense.
struct RemapStats {
  /// Child rows dropped because their parent does not exist (a null parent id, an id
  /// with no parent row, an absent parent table, or a dropped parent row).
  int64_t orphan_rows = 0;
};

/// \brief Renumbers ids densely per table (§8.3).
///
/// Every table's `id` becomes 0..n-1 in order of first appearance (row order when ids
/// are unique; duplicates keep sharing one id); null ids stay null. Every child's
/// `parent_id` (child → ParentOf(type, signal)) is rewritten through its parent's
/// map. Root `resource.id` / `scope.id` are renumbered the same way and
/// `resource_attrs` / `scope_attrs` map through them. Child rows whose parent is
/// missing are dropped (in cascade: their own children go too) and counted; a child
/// table whose parent table is absent is removed.
///
/// Input ids may be UInt16 or UInt32 whatever the canonical width
/// (schema::NormalizeOptions::wide_ids); output columns have the canonical types,
/// and field metadata is kept. Rows are never reordered.
///
/// \return the remapped batch; CapacityError when a table has more distinct ids than
/// its canonical id type holds (65536 root rows), TypeError for other id types.
arrow::Result<OtapBatch> RemapIdsDense(const OtapBatch& batch,
                                       RemapStats* stats = nullptr);

/// \brief `column` with its type's zero value in place of every null: strings and
/// bytes become "" (no nulls left); fixed-width values get zero bytes under each null,
/// the validity kept when `keep_validity` (else none: every row valid). Booleans and
/// nested types are returned as they are.
arrow::Result<std::shared_ptr<arrow::Array>> ZeroUnderNulls(
    std::shared_ptr<arrow::Array> column, bool keep_validity);

}  // namespace otap_parquet
