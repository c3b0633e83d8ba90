// SPDX-License-Identifier: Apache-2.0
#include "otap_parquet/pdata/otap_concat.h"

#include <algorithm>
#include <array>
#include <limits>
#include <utility>

#include <arrow/api.h>
#include <arrow/compute/api_vector.h>

#include "otap_parquet/pdata/id_visit.h"
#include "otap_parquet/pdata/ids.h"
#include "otap_parquet/schema/normalize.h"
#include "otap_parquet/schema/otap_schema.h"
#include "otap_parquet/util/compute.h"

namespace otap_parquet {

namespace {

using arrow::Status;
using PT = PayloadType;

constexpr int32_t kNoChunk = -1;

// Id spaces: one per payload type, plus the roots' resource and scope ids.
constexpr size_t kResourceSlot = 0;  // PayloadType 0 (kUnknown) is never a table
constexpr size_t kScopeSlot = kPayloadTypeSlots;
constexpr size_t kIdSpaces = kPayloadTypeSlots + 1;

size_t Slot(PT type) { return static_cast<size_t>(type); }

// The id space a child's parent_id refers to.
size_t ParentSlot(PT type, Signal signal) {
  if (type == PT::kResourceAttrs) return kResourceSlot;
  if (type == PT::kScopeAttrs) return kScopeSlot;
  return Slot(*ParentOf(type, signal));
}

// One past the largest id (0 when all are null).
arrow::Result<uint64_t> IdRange(const arrow::Array& ids) {
  uint64_t range = 0;
  ARROW_RETURN_NOT_OK(VisitIds(
      ids, [&](int64_t, uint32_t id) { range = std::max<uint64_t>(range, id + 1ULL); }));
  return range;
}

// `ids` + `offset`, same length, validity and array offset.
arrow::Result<std::shared_ptr<arrow::ArrayData>> OffsetIds(const arrow::ArrayData& ids,
                                                           uint32_t offset) {
  const int64_t slots = ids.offset + ids.length;
  ARROW_ASSIGN_OR_RAISE(
      auto buffer, arrow::AllocateBuffer(slots * static_cast<int64_t>(sizeof(uint32_t))));
  auto* out = reinterpret_cast<uint32_t*>(buffer->mutable_data());
  const uint32_t* in = ids.GetValues<uint32_t>(1, 0);
  // Null slots get garbage + offset, which is harmless: they stay null.
  for (int64_t i = ids.offset; i < slots; ++i) out[i] = in[i] + offset;
  return arrow::ArrayData::Make(
      arrow::uint32(), ids.length,
      {ids.buffers[0], std::shared_ptr<arrow::Buffer>(std::move(buffer))}, ids.null_count,
      ids.offset);
}

// A root's `resource` / `scope` struct column (or null) and its `id` child index.
struct StructId {
  int column = -1;
  int child = -1;
};

StructId FindStructId(const arrow::RecordBatch& batch, const char* name) {
  StructId s;
  s.column = batch.schema()->GetFieldIndex(name);
  if (s.column < 0) return s;
  const auto& type = batch.column(s.column)->type();
  if (type->id() != arrow::Type::STRUCT) return {};
  s.child = static_cast<const arrow::StructType&>(*type).GetFieldIndex(schema::kId);
  if (s.child < 0) return {};
  return s;
}

// The struct's `id` child, sliced to the struct's rows.
std::shared_ptr<arrow::Array> StructIds(const arrow::RecordBatch& batch, StructId s) {
  return static_cast<const arrow::StructArray&>(*batch.column(s.column)).field(s.child);
}

// An input normalized to wide (UInt32) ids, with its id ranges per id space.
struct WideInput {
  std::array<std::shared_ptr<arrow::RecordBatch>, kPayloadTypeSlots> tables;
  std::array<uint64_t, kIdSpaces> range{};
};

Status CheckWide(const std::shared_ptr<arrow::Array>& ids, PT type, const char* column) {
  if (ids && ids->type_id() != arrow::Type::UINT32) {
    return Status::TypeError(TableName(type), ".", column, ": expected uint32 ids, got ",
                             ids->type()->ToString());
  }
  return Status::OK();
}

arrow::Result<WideInput> Widen(const OtapBatch& batch) {
  WideInput w;
  schema::NormalizeOptions options;
  options.wide_ids = true;
  for (PT type : batch.payload_types()) {
    ARROW_ASSIGN_OR_RAISE(auto table,
                          schema::NormalizeToCanonical(type, batch.Get(type), options));
    ARROW_RETURN_NOT_OK(
        CheckWide(table->GetColumnByName(schema::kParentId), type, schema::kParentId));
    if (auto id = table->GetColumnByName(schema::kId)) {
      ARROW_RETURN_NOT_OK(CheckWide(id, type, schema::kId));
      ARROW_ASSIGN_OR_RAISE(w.range[Slot(type)], IdRange(*id));
    }
    if (IsRoot(type)) {
      for (auto [name, slot] : {std::pair{schema::kResource, kResourceSlot},
                                std::pair{schema::kScope, kScopeSlot}}) {
        const StructId s = FindStructId(*table, name);
        if (s.column < 0) continue;
        auto ids = StructIds(*table, s);
        ARROW_RETURN_NOT_OK(CheckWide(ids, type, name));
        ARROW_ASSIGN_OR_RAISE(w.range[slot], IdRange(*ids));
      }
    }
    w.tables[Slot(type)] = std::move(table);
  }
  return w;
}

// Adds `offset` to a top-level UInt32 column.
arrow::Result<std::shared_ptr<arrow::RecordBatch>> OffsetColumn(
    std::shared_ptr<arrow::RecordBatch> table, const char* name, uint32_t offset) {
  const int index = table->schema()->GetFieldIndex(name);
  if (index < 0 || offset == 0) return table;
  ARROW_ASSIGN_OR_RAISE(auto data, OffsetIds(*table->column_data(index), offset));
  return table->SetColumn(index, table->schema()->field(index), arrow::MakeArray(data));
}

// Adds `offset` to the `id` child of a root's struct column.
arrow::Result<std::shared_ptr<arrow::RecordBatch>> OffsetStructId(
    std::shared_ptr<arrow::RecordBatch> table, const char* name, uint32_t offset) {
  const StructId s = FindStructId(*table, name);
  if (s.column < 0 || offset == 0) return table;
  auto data = std::make_shared<arrow::ArrayData>(*table->column_data(s.column));
  ARROW_ASSIGN_OR_RAISE(data->child_data[s.child],
                        OffsetIds(*data->child_data[s.child], offset));
  return table->SetColumn(s.column, table->schema()->field(s.column),
                          arrow::MakeArray(data));
}

// Rows of one output chunk, per payload type.
using ChunkRows = std::array<std::vector<int32_t>, kPayloadTypeSlots>;

// Items per root row: 1, or for metrics the data points of the metric.
arrow::Result<std::vector<int64_t>> ItemsPerRoot(const OtapBatch& merged,
                                                 const arrow::Array& root_ids,
                                                 uint64_t root_range) {
  const int64_t n = root_ids.length();
  std::vector<int64_t> items(static_cast<size_t>(n), 1);
  if (merged.signal() != Signal::kMetrics) return items;
  std::vector<int64_t> points(root_range, 0);
  for (PT type : {PT::kNumberDataPoints, PT::kSummaryDataPoints, PT::kHistogramDataPoints,
                  PT::kExpHistogramDataPoints}) {
    const auto& table = merged.Get(type);
    if (!table) continue;
    auto parent = table->GetColumnByName(schema::kParentId);
    if (!parent) continue;
    ARROW_RETURN_NOT_OK(VisitIds(*parent, [&](int64_t, uint32_t id) {
      if (id < root_range) points[id]++;
    }));
  }
  std::fill(items.begin(), items.end(), 0);
  ARROW_RETURN_NOT_OK(
      VisitIds(root_ids, [&](int64_t row, uint32_t id) { items[row] = points[id]; }));
  return items;
}

// Column by column, so that field metadata (an id column's `encoding`, present
// on some inputs only) never makes two canonical schemas differ.
arrow::Result<std::shared_ptr<arrow::RecordBatch>> ConcatenateTables(
    const arrow::RecordBatchVector& tables) {
  const auto& schema = tables.front()->schema();
  int64_t rows = 0;
  for (const auto& t : tables) rows += t->num_rows();
  arrow::ArrayVector columns;
  for (int c = 0; c < schema->num_fields(); ++c) {
    arrow::ArrayVector parts;
    for (const auto& t : tables) parts.push_back(t->column(c));
    ARROW_ASSIGN_OR_RAISE(auto column, arrow::Concatenate(parts));
    columns.push_back(std::move(column));
  }
  return arrow::RecordBatch::Make(schema, rows, std::move(columns));
}

}  // namespace

Status ConcatOptions::Validate() const {
  if (max_root_rows < 1 || max_root_rows > 65535) {
    return Status::Invalid("max_root_rows must be in 1..65535, got ", max_root_rows);
  }
  if (max_items && *max_items < 1) {
    return Status::Invalid("max_items must be >= 1, got ", *max_items);
  }
  return Status::OK();
}

arrow::Result<std::vector<OtapBatch>> ConcatOtapBatches(std::span<const OtapBatch> inputs,
                                                        const ConcatOptions& options) {
  ARROW_RETURN_NOT_OK(options.Validate());
  ARROW_RETURN_NOT_OK(util::EnsureComputeInitialized());
  std::vector<OtapBatch> outputs;
  std::vector<const OtapBatch*> nonempty;
  for (const auto& input : inputs) {
    if (input.signal() != inputs.front().signal()) {
      return Status::Invalid("cannot concatenate ", SignalName(inputs.front().signal()),
                             " and ", SignalName(input.signal()), " batches");
    }
    if (!input.empty()) nonempty.push_back(&input);
  }
  if (nonempty.empty()) return outputs;
  const Signal signal = nonempty.front()->signal();
  const PT root_type = RootPayloadType(signal);

  // 1. Normalize, offset every id space by the ranges of the inputs before.
  std::array<arrow::RecordBatchVector, kPayloadTypeSlots> parts;
  std::array<uint64_t, kIdSpaces> offset{};
  for (const OtapBatch* input : nonempty) {
    ARROW_ASSIGN_OR_RAISE(WideInput w, Widen(*input));
    for (size_t slot = 0; slot < kIdSpaces; ++slot) {
      if (offset[slot] + w.range[slot] > std::numeric_limits<uint32_t>::max()) {
        return Status::CapacityError("concatenated ids exceed UInt32 (",
                                     slot == kScopeSlot ? "scope" : "table ", slot, ")");
      }
    }
    for (PT type : input->payload_types()) {
      auto table = w.tables[Slot(type)];
      ARROW_ASSIGN_OR_RAISE(table,
                            OffsetColumn(std::move(table), schema::kId,
                                         static_cast<uint32_t>(offset[Slot(type)])));
      if (IsRoot(type)) {
        ARROW_ASSIGN_OR_RAISE(
            table, OffsetStructId(std::move(table), schema::kResource,
                                  static_cast<uint32_t>(offset[kResourceSlot])));
        ARROW_ASSIGN_OR_RAISE(table,
                              OffsetStructId(std::move(table), schema::kScope,
                                             static_cast<uint32_t>(offset[kScopeSlot])));
      } else {
        ARROW_ASSIGN_OR_RAISE(
            table, OffsetColumn(std::move(table), schema::kParentId,
                                static_cast<uint32_t>(offset[ParentSlot(type, signal)])));
      }
      parts[Slot(type)].push_back(std::move(table));
    }
    for (size_t slot = 0; slot < kIdSpaces; ++slot) offset[slot] += w.range[slot];
  }

  // 2. Concatenate per payload type.
  OtapBatch merged(signal);
  for (PT type : PayloadTypesOf(signal)) {
    auto& tables = parts[Slot(type)];
    if (tables.empty()) continue;
    if (tables.size() == 1) {
      merged.Set(type, tables.front());
    } else {
      ARROW_ASSIGN_OR_RAISE(auto table, ConcatenateTables(tables));
      merged.Set(type, std::move(table));
    }
  }
  const auto& root = merged.root();
  const int64_t root_rows = root->num_rows();
  const bool one_chunk = root_rows <= options.max_root_rows &&
                         (!options.max_items || merged.num_items() <= *options.max_items);
  if (one_chunk) {
    // Dense ids of the canonical widths.
    ARROW_ASSIGN_OR_RAISE(auto out, RemapIdsDense(merged));
    outputs.push_back(std::move(out));
    return outputs;
  }

  // 3. Split: consecutive runs of root rows, each with everything below them.
  auto root_ids = root->GetColumnByName(schema::kId);
  const uint64_t root_range = offset[Slot(root_type)];
  ARROW_ASSIGN_OR_RAISE(const std::vector<int64_t> items,
                        ItemsPerRoot(merged, *root_ids, root_range));
  std::vector<int64_t> chunk_start;  // first root row of each chunk
  {
    int64_t rows = 0, chunk_items = 0;
    for (int64_t r = 0; r < root_rows; ++r) {
      const int64_t row_items = items[static_cast<size_t>(r)];
      if (r == 0 || rows == options.max_root_rows ||
          (options.max_items && rows > 0 &&
           chunk_items + row_items > *options.max_items)) {
        chunk_start.push_back(r);
        rows = 0;
        chunk_items = 0;
      }
      rows++;
      chunk_items += row_items;
    }
    chunk_start.push_back(root_rows);
  }
  const size_t num_chunks = chunk_start.size() - 1;

  // Chunk of every id, per id space; rows of every chunk, per payload type.
  std::array<std::vector<int32_t>, kIdSpaces> chunk_of_id;
  std::vector<ChunkRows> chunk_rows(num_chunks);
  chunk_of_id[Slot(root_type)].assign(root_range, kNoChunk);
  for (size_t c = 0; c < num_chunks; ++c) {
    for (int64_t r = chunk_start[c]; r < chunk_start[c + 1]; ++r) {
      const auto& ids = static_cast<const arrow::UInt32Array&>(*root_ids);
      if (ids.IsValid(r))
        chunk_of_id[Slot(root_type)][ids.Value(r)] = static_cast<int32_t>(c);
    }
  }
  for (PT type : merged.payload_types()) {
    if (IsRoot(type)) continue;
    const auto& table = merged.Get(type);
    auto parent_ids = table->GetColumnByName(schema::kParentId);
    if (type == PT::kResourceAttrs || type == PT::kScopeAttrs) {
      // Shared by roots of several chunks: repeated in each chunk that refers to it.
      const StructId s = FindStructId(
          *root, type == PT::kResourceAttrs ? schema::kResource : schema::kScope);
      if (s.column < 0 || !parent_ids) continue;
      ARROW_ASSIGN_OR_RAISE(ChildIndex index, ChildIndex::Make(*parent_ids));
      auto ref = StructIds(*root, s);
      const auto& refs = static_cast<const arrow::UInt32Array&>(*ref);
      for (size_t c = 0; c < num_chunks; ++c) {
        std::vector<uint32_t> seen;
        auto& rows = chunk_rows[c][Slot(type)];
        for (int64_t r = chunk_start[c]; r < chunk_start[c + 1]; ++r) {
          if (!refs.IsValid(r)) continue;
          const uint32_t id = refs.Value(r);
          if (std::find(seen.begin(), seen.end(), id) != seen.end()) continue;
          seen.push_back(id);
          for (int32_t row : index.Children(id)) rows.push_back(row);
        }
        std::sort(rows.begin(), rows.end());
      }
      continue;
    }
    const auto& parent_chunk = chunk_of_id[ParentSlot(type, signal)];
    std::vector<int32_t> row_chunk(static_cast<size_t>(table->num_rows()), kNoChunk);
    if (parent_ids) {
      ARROW_RETURN_NOT_OK(VisitIds(*parent_ids, [&](int64_t row, uint32_t id) {
        if (id < parent_chunk.size()) row_chunk[row] = parent_chunk[id];
      }));
    }
    for (int64_t row = 0; row < table->num_rows(); ++row) {
      const int32_t c = row_chunk[row];
      if (c != kNoChunk) chunk_rows[c][Slot(type)].push_back(static_cast<int32_t>(row));
    }
    if (auto ids = table->GetColumnByName(schema::kId)) {
      auto& own = chunk_of_id[Slot(type)];
      own.assign(offset[Slot(type)], kNoChunk);
      ARROW_RETURN_NOT_OK(VisitIds(*ids, [&](int64_t row, uint32_t id) {
        if (id < own.size()) own[id] = row_chunk[row];
      }));
    }
  }

  // 4. Materialize each chunk: roots sliced, children taken, ids made dense.
  for (size_t c = 0; c < num_chunks; ++c) {
    OtapBatch chunk(signal);
    chunk.Set(root_type,
              root->Slice(chunk_start[c], chunk_start[c + 1] - chunk_start[c]));
    for (PT type : merged.payload_types()) {
      if (IsRoot(type)) continue;
      const auto& rows = chunk_rows[c][Slot(type)];
      if (rows.empty()) continue;
      arrow::Int32Builder builder;
      ARROW_RETURN_NOT_OK(builder.AppendValues(rows));
      ARROW_ASSIGN_OR_RAISE(auto indices, builder.Finish());
      ARROW_ASSIGN_OR_RAISE(auto taken, arrow::compute::Take(merged.Get(type), indices));
      chunk.Set(type, taken.record_batch());
    }
    ARROW_ASSIGN_OR_RAISE(auto out, RemapIdsDense(chunk));
    outputs.push_back(std::move(out));
  }
  return outputs;
}

}  // namespace otap_parquet
