// SPDX-License-Identifier: Apache-2.0
#pragma once

/// \file
/// Internal to the replay reader: the streaming merge of one signal of one partition,
/// which rebuilds complete OtapBatches from the signal's tables (docs/datasets.md,
/// "How the reader merges").

#include <array>
#include <cstdint>
#include <memory>
#include <optional>
#include <unordered_set>
#include <vector>

#include <arrow/filesystem/filesystem.h>
#include <arrow/record_batch.h>
#include <arrow/result.h>
#include <arrow/status.h>

#include "otap_parquet/dataset/dataset_reader.h"
#include "otap_parquet/dataset/id_space.h"
#include "otap_parquet/dataset/key_set.h"
#include "otap_parquet/dataset/reader_columns.h"
#include "otap_parquet/dataset/table_piece.h"
#include "otap_parquet/dataset/upstream_keys.h"
#include "otap_parquet/pdata/otap_batch.h"

namespace otap_parquet::dataset::internal {

/// \brief Merges the tables of one (partition, signal) into OtapBatches of at most
/// ReaderOptions::batch_size roots: Open(), then Next() until nullopt. Each chunk
/// takes its roots in stream order, then, parents before children, pulls and
/// classifies each child table's rows (emit, keep for a later chunk, or drop as
/// orphan / filtered). Not thread-safe.
class SignalMerge {
 public:
  /// \param options, stats must outlive the merge
  /// \param resume rows and files already replayed (not emitted again)
  SignalMerge(std::shared_ptr<arrow::fs::FileSystem> fs, Signal signal,
              const ReaderOptions& options, ReaderStats* stats, ResumePoint resume = {});
  ~SignalMerge();

  /// \brief Reads the footers of every table's files; fails only for a storage
  /// failure that outlasted the retries.
  arrow::Status Open(const PartitionPlan& partition);

  /// \brief The next chunk; nullopt when the signal's roots are exhausted (what is
  /// left of the children is then counted as orphans, filtered or unreferenced).
  arrow::Result<std::optional<OtapBatch>> Next();

  /// \brief Overlapping id ranges among the root files opened (their footers, no I/O).
  std::optional<IdCollision> RootIdCollision() const;

  /// \brief Fills the signal's part of the reader's position.
  void FillPosition(ReaderPosition* pos) const;

 private:
  struct TableState;
  struct Chunk;
  /// The parent keys a child table joins on in the current chunk, and the smallest
  /// parent key any later chunk can still hold.
  struct ParentKeys {
    const KeySet* set;
    uint32_t floor;
  };

  void SkipConsumedGroups();
  // Roots.
  // `wanted` > 0: at most that many rows (a chunk's rest).
  arrow::Result<bool> LoadRootPiece(int64_t wanted = 0);
  arrow::Status PullAttrsFor(const Piece& piece);
  void ComputeRootSuffixMins(Piece* piece);
  void ComputeEventTimes(const Piece& piece);
  bool RootKept(int64_t row) const;
  // One chunk, step by step (NextChunk).
  arrow::Result<std::optional<OtapBatch>> NextChunk();
  arrow::Status SelectRoots(Chunk* chunk);
  bool AdmitRoot(const Piece& piece, size_t row, bool keep, Chunk* chunk);
  void SealRootSets(Chunk* chunk);
  void ComputeRootFloors(Chunk* chunk);
  void KeepRootsWithPoints(Chunk* chunk);
  ParentKeys ParentKeysOf(PayloadType type, const Chunk& chunk) const;
  arrow::Status MergeChildTable(PayloadType type, Chunk* chunk);
  arrow::Status PullThrough(TableState* state, uint32_t hi);
  arrow::Result<uint32_t> ClassifyPiece(TableState* state, const ParentKeys& parent,
                                        Piece* piece, Chunk* chunk, PartCollector* out);
  arrow::Result<OtapBatch> EmitChunk(Chunk* chunk);
  // Bookkeeping.
  // Counts a dropped row; true when counted as filtered (its parent was filtered or
  // replayed before a resume), false for orphans and unreferenced attributes.
  bool CountDropped(const TableState& state, const Piece& piece, size_t row);
  // The resume floor of the parent table of `state`'s table (0: none).
  uint32_t ResumeFloorOfParent(const TableState& state) const;
  arrow::Status Compact(TableState* state);
  void Finish();

  Signal signal_;
  const ReaderOptions& options_;
  ReaderStats* stats_;
  PayloadType root_type_;
  std::vector<PayloadType> types_;  // merge order: parents before children
  std::array<std::unique_ptr<TableState>, kPayloadTypeSlots> tables_;
  std::shared_ptr<Piece> root_piece_;
  int64_t root_pos_ = 0;
  bool roots_done_ = false;
  std::vector<int64_t> event_times_;
  bool filter_points_ = false;  // metrics with a time_range
  UpstreamKeyMapper upstream_;
  // Resource/scope attribute parent ids within the current upstream root piece's id
  // range (PullAttrsFor).
  std::unordered_set<uint32_t> attr_ids_;
  // Resume (ResumePoint): rows of the in-progress root file before resume_row_end_
  // are not emitted; a dropped child whose parent_id lies below its parent table's
  // resume floor (the smallest id of that table still read when the merge opened)
  // belongs to a replayed parent: filtered, not an orphan.
  ResumePoint resume_;
  int resume_file_index_ = -1;
  int64_t resume_row_end_ = 0;
  std::array<uint32_t, kPayloadTypeSlots> resume_floors_{};
};

}  // namespace otap_parquet::dataset::internal
