// SPDX-License-Identifier: Apache-2.0
#include "otap_parquet/dataset/signal_merge.h"

#include <algorithm>
#include <deque>
#include <utility>

#include <arrow/api.h>

#include "otap_parquet/dataset/reader_columns.h"
#include "otap_parquet/dataset/table_cursor.h"
#include "otap_parquet/pdata/ids.h"
#include "otap_parquet/schema/otap_schema.h"

namespace otap_parquet::dataset::internal {

namespace {

using arrow::Status;
using PT = PayloadType;

size_t Slot(PT type) { return static_cast<size_t>(type); }

// Metrics filtered by time: tables that join on the metrics themselves or on their
// resources and scopes, merged once every data point of the chunk is classified.
bool JoinsFilteredMetrics(PT type) {
  return type == PT::kMetricAttrs || type == PT::kResourceAttrs ||
         type == PT::kScopeAttrs;
}

// Minimum of `keys` from each row on (size + 1); unresolved upstream keys (only
// where `unresolved` says keys may be) never join.
void SuffixMin(const std::vector<uint32_t>& keys, bool unresolved,
               std::vector<uint32_t>* out) {
  out->assign(keys.size() + 1, kNoKey);
  for (size_t i = keys.size(); i-- > 0;) {
    uint32_t k = keys[i];
    if (unresolved && k >= kUnresolvedKeyBase) k = kNoKey;
    (*out)[i] = std::min((*out)[i + 1], k);
  }
}

// Smallest root slice read to end a chunk begun in the previous slice.
constexpr int64_t kMinAligningSlice = 1024;

// A chunk ends with a root row group of at least a batch (EndsChunk): its roots are
// then one slice, emitted without a copy, and the next chunk begins where the next
// group's slices do. Concatenating the rest from the next group instead copied a
// whole batch of roots once per group and held both slices and the copy (~25 MiB
// more at 65,535 roots). Groups smaller than a batch are still joined (or batches
// would be no larger than the groups).
bool EndsChunk(const Piece& piece, int64_t kept, int64_t batch_size) {
  return kept > 0 && piece.ends_group && piece.group_rows >= batch_size;
}

// A key above every parent key of this chunk and not below the parent table's floor
// (a later chunk may still hold its parent): the row waits for a later chunk.
bool AboveParents(uint32_t key, const KeySet& set, uint32_t floor) {
  return key >= floor && (set.empty() || key > set.hi());
}

}  // namespace

struct SignalMerge::TableState {
  std::unique_ptr<TableCursor> cursor;
  std::deque<std::shared_ptr<Piece>> pending;  // pieces with rows still buffered
  bool retain = false;  // resource/scope attributes: matched rows stay buffered
  int64_t live_rows = 0;
  std::vector<int64_t> out_sizes;  // of the last chunk's rows (PartCollector hint)
  int64_t out_roots = 0;           // roots of the chunk out_sizes is from
};

// One output chunk while it is assembled.
struct SignalMerge::Chunk {
  explicit Chunk(Signal signal) : out(signal) { floor.fill(kNoKey); }
  // Root pieces and the rows of each that the chunk emits.
  std::vector<std::pair<std::shared_ptr<Piece>, std::vector<int32_t>>> roots;
  int64_t kept = 0;  // roots emitted
  // Parent keys per table in this chunk, and the smallest key any later chunk can
  // still hold (the table's floor); resource / scope keys of the kept roots.
  std::array<KeySet, kPayloadTypeSlots> sets;
  std::array<uint32_t, kPayloadTypeSlots> floor;
  KeySet res_set, scope_set;
  uint32_t res_floor = kNoKey, scope_floor = kNoKey;
  // Metrics with a time_range: the metrics with a data point in the range, and
  // whether the roots were filtered by them (KeepRootsWithPoints).
  std::unordered_set<uint32_t> roots_with_points;
  bool roots_final = true;
  // Rows held for later chunks: the rest of the current root slice plus every
  // buffered child row.
  int64_t buffered = 0;
  OtapBatch out;
};

SignalMerge::SignalMerge(std::shared_ptr<arrow::fs::FileSystem> fs, Signal signal,
                         const ReaderOptions& options, ReaderStats* stats,
                         ResumePoint resume)
    : signal_(signal),
      options_(options),
      stats_(stats),
      root_type_(RootPayloadType(signal)),
      upstream_(root_type_, options.upstream_resource_policy, stats),
      resume_(std::move(resume)) {
  // Other roots (multivariate_metrics, whose OTAP schema is empty) are not read.
  for (PT type : PayloadTypesOf(signal)) {
    if (type == root_type_ || !IsRoot(type)) types_.push_back(type);
  }
  // Metrics filtered by time: a metric is kept when one of its data points is, so
  // the data point tables (and theirs) are merged before the metric's own children.
  filter_points_ = signal == Signal::kMetrics && options_.time_range.has_value();
  if (filter_points_) {
    std::stable_partition(types_.begin(), types_.end(), [this](PT type) {
      return type == root_type_ || !JoinsFilteredMetrics(type);
    });
  }
  for (PT type : types_) {
    bool has_children = false;
    for (PT other : types_) {
      if (other == PT::kResourceAttrs || other == PT::kScopeAttrs) continue;
      if (ParentOf(other, signal) == type) has_children = true;
    }
    auto& state = tables_[Slot(type)];
    state = std::make_unique<TableState>();
    state->cursor =
        std::make_unique<TableCursor>(fs, type, has_children, options_, stats_);
    state->retain = type == PT::kResourceAttrs || type == PT::kScopeAttrs;
  }
}

SignalMerge::~SignalMerge() = default;

Status SignalMerge::Open(const PartitionPlan& partition) {
  for (PT type : types_) {
    auto& state = tables_[Slot(type)];
    if (type == root_type_ && !resume_.done_files.empty()) {
      // Resume: root files already replayed are not read; their children fall
      // below the resume floors and are dropped as filtered.
      std::vector<PlannedFile> files;
      for (const auto& file : partition.FilesOf(type)) {
        if (std::find(resume_.done_files.begin(), resume_.done_files.end(), file.path) ==
            resume_.done_files.end()) {
          files.push_back(file);
        } else {
          ++stats_->resume_skipped_files;
        }
      }
      ARROW_RETURN_NOT_OK(state->cursor->Open(files));
    } else {
      ARROW_RETURN_NOT_OK(state->cursor->Open(partition.FilesOf(type)));
    }
  }
  if (!resume_.done_files.empty() || !resume_.file.empty()) SkipConsumedGroups();
  return Status::OK();
}

// Resume: the row groups that hold only replayed rows are not read. Roots: the groups
// of the file in progress that end before the resume row (done files are not even
// opened). Then, parents before children, a child table's groups whose largest
// parent_id is below the parent table's floor (the smallest id of its groups still
// read): their parents were all replayed (or are in skipped groups themselves), so
// every row would be dropped anyway. Resource/scope attributes are shared by every
// root and never skipped. Missing statistics skip nothing.
void SignalMerge::SkipConsumedGroups() {
  auto& roots = *tables_[Slot(root_type_)]->cursor;
  if (!resume_.file.empty() && resume_.row > 0) {
    roots.SkipConsumed([this](const FileEntry& file, const GroupEntry& group) {
      return file.path == resume_.file &&
             group.first_row_in_file + group.rows <= resume_.row;
    });
  }
  resume_floors_[Slot(root_type_)] = roots.next_id_min();
  std::array<std::optional<uint32_t>, kPayloadTypeSlots> floor;
  floor[Slot(root_type_)] = resume_floors_[Slot(root_type_)];
  for (PT type : types_) {
    if (type == root_type_ || tables_[Slot(type)]->retain) continue;
    const auto parent = ParentOf(type, signal_);
    if (!parent || !floor[Slot(*parent)]) continue;
    const uint32_t parent_floor = *floor[Slot(*parent)];
    auto& cursor = *tables_[Slot(type)]->cursor;
    cursor.SkipConsumed([parent_floor](const FileEntry&, const GroupEntry& group) {
      return group.pull_max < parent_floor;
    });
    floor[Slot(type)] = cursor.next_id_min();
    resume_floors_[Slot(type)] = *floor[Slot(type)];
  }
}

arrow::Result<std::optional<OtapBatch>> SignalMerge::Next() {
  while (true) {
    ARROW_ASSIGN_OR_RAISE(auto chunk, NextChunk());
    if (chunk) return chunk;
    if (roots_done_) {
      Finish();
      return std::nullopt;
    }
  }
}

std::optional<IdCollision> SignalMerge::RootIdCollision() const {
  std::vector<RootFooter> footers;
  for (const auto& file : tables_[Slot(root_type_)]->cursor->files()) {
    if (!file.bad && file.metadata) footers.push_back({&file.path, file.metadata.get()});
  }
  return FindIdCollision(footers);
}

void SignalMerge::FillPosition(ReaderPosition* pos) const {
  pos->signal = signal_;
  const auto& root_cursor = *tables_[Slot(root_type_)]->cursor;
  if (root_piece_ && root_pos_ < root_piece_->batch->num_rows()) {
    pos->root_file = root_cursor.files()[static_cast<size_t>(root_piece_->file)].path;
    pos->root_row_in_file = root_piece_->first_row_in_file + root_pos_;
  } else {
    const auto next = root_cursor.Position();
    pos->root_file = next.file;
    pos->root_row_in_file = next.first_row;
  }
  for (PT type : types_) pos->tables.push_back(tables_[Slot(type)]->cursor->Position());
}

// ----------------------------------------------------------------------------------
// Roots

// Loads the next root piece (skipping skipped groups); false when exhausted.
arrow::Result<bool> SignalMerge::LoadRootPiece(int64_t wanted) {
  auto& cursor = *tables_[Slot(root_type_)]->cursor;
  while (!cursor.done()) {
    ARROW_ASSIGN_OR_RAISE(auto piece, cursor.ReadNext(wanted));
    if (!piece || piece->batch->num_rows() == 0) continue;
    if (cursor.upstream_ids()) {
      if (options_.upstream_resource_policy == UpstreamResourcePolicy::kInferOffset) {
        ARROW_RETURN_NOT_OK(PullAttrsFor(*piece));
      }
      upstream_.Map(piece->key, &piece->res_key, &piece->scope_key, cursor.next_raw_max(),
                    attr_ids_);
      piece->upstream_keys = true;
    }
    ComputeRootSuffixMins(piece.get());
    ComputeEventTimes(*piece);
    if (!resume_.file.empty() && resume_file_index_ < 0 &&
        cursor.files()[static_cast<size_t>(piece->file)].path == resume_.file) {
      resume_file_index_ = piece->file;
      resume_row_end_ = resume_.row;
    }
    root_piece_ = std::move(piece);
    root_pos_ = 0;
    return true;
  }
  return false;
}

// Buffers the resource/scope attribute rows whose parent ids fall in the root piece's
// id range (they are needed for this piece's chunks anyway) and collects those parent
// ids into attr_ids_.
Status SignalMerge::PullAttrsFor(const Piece& piece) {
  attr_ids_.clear();
  uint32_t lo = kNoKey, hi = 0;
  for (uint32_t id : piece.key) {
    if (id == kNoKey) continue;
    lo = std::min(lo, id);
    hi = std::max(hi, id);
  }
  if (lo == kNoKey) return Status::OK();
  for (PT type : {PT::kResourceAttrs, PT::kScopeAttrs}) {
    if (!tables_[Slot(type)]) continue;
    auto& state = *tables_[Slot(type)];
    ARROW_RETURN_NOT_OK(PullThrough(&state, hi));
    for (const auto& attrs : state.pending) {
      for (int32_t row : attrs->live) {
        const uint32_t key = attrs->key[static_cast<size_t>(row)];
        if (key >= lo && key <= hi) attr_ids_.insert(key);
      }
    }
  }
  return Status::OK();
}

void SignalMerge::ComputeRootSuffixMins(Piece* piece) {
  // Root ids are never unresolved keys, whatever their value.
  SuffixMin(piece->key, /*unresolved=*/false, &piece->suffix_id_min);
  SuffixMin(piece->res_key, piece->upstream_keys, &piece->suffix_res_min);
  SuffixMin(piece->scope_key, piece->upstream_keys, &piece->suffix_scope_min);
}

void SignalMerge::ComputeEventTimes(const Piece& piece) {
  event_times_.clear();
  const char* column = TimeColumnOf(root_type_);
  if (!options_.time_range || !column) return;
  auto times = piece.batch->GetColumnByName(column);
  auto observed = root_type_ == PT::kLogs
                      ? piece.batch->GetColumnByName(schema::kObservedTimeUnixNano)
                      : nullptr;
  event_times_.assign(static_cast<size_t>(piece.batch->num_rows()), 0);
  auto value = [](const std::shared_ptr<arrow::Array>& a, int64_t i) -> int64_t {
    if (!a || a->IsNull(i)) return 0;
    return static_cast<const arrow::TimestampArray&>(*a).Value(i);
  };
  for (int64_t i = 0; i < piece.batch->num_rows(); ++i) {
    int64_t t = value(times, i);
    if (t == 0 && observed) t = value(observed, i);
    event_times_[static_cast<size_t>(i)] = t;
  }
}

bool SignalMerge::RootKept(int64_t row) const {
  if (resume_row_end_ > 0 && root_piece_->first_row_in_file + row < resume_row_end_ &&
      root_piece_->file == resume_file_index_) {
    return false;  // replayed before the resume point
  }
  if (event_times_.empty()) return true;
  return options_.time_range->Contains(event_times_[static_cast<size_t>(row)]);
}

// ----------------------------------------------------------------------------------
// One chunk

arrow::Result<std::optional<OtapBatch>> SignalMerge::NextChunk() {
  Chunk chunk(signal_);
  ARROW_RETURN_NOT_OK(SelectRoots(&chunk));
  ComputeRootFloors(&chunk);
  chunk.roots_final = !filter_points_;
  for (PT type : types_) {  // parents before children
    if (type == root_type_) continue;
    if (!chunk.roots_final && JoinsFilteredMetrics(type)) KeepRootsWithPoints(&chunk);
    ARROW_RETURN_NOT_OK(MergeChildTable(type, &chunk));
  }
  stats_->peak_buffered_rows = std::max(stats_->peak_buffered_rows, chunk.buffered);
  if (chunk.kept == 0) return std::nullopt;
  ARROW_ASSIGN_OR_RAISE(auto batch, EmitChunk(&chunk));
  return batch;
}

// Takes up to batch_size kept roots in stream order (loading root pieces as needed).
Status SignalMerge::SelectRoots(Chunk* chunk) {
  while (chunk->kept < options_.batch_size) {
    if (!root_piece_ || root_pos_ >= root_piece_->batch->num_rows()) {
      // A chunk begun in the previous slice (a group smaller than a batch, or
      // filtered roots) takes only its rest from the next one, so that the following
      // chunks begin where slices do: their roots are then one slice's rows, not a
      // concatenation. Not for a small rest (filtered roots would make many small
      // slices).
      const int64_t rest = options_.batch_size - chunk->kept;
      const int64_t wanted = chunk->kept > 0 && rest >= kMinAligningSlice ? rest : 0;
      // The spent slice (~25 MiB at 65,535 roots) is freed before the next one is
      // decoded, unless this chunk still emits rows of it (chunk->roots holds it).
      root_piece_.reset();
      ARROW_ASSIGN_OR_RAISE(bool loaded, LoadRootPiece(wanted));
      if (!loaded) {
        root_piece_.reset();
        roots_done_ = true;
        break;
      }
    }
    if (chunk->roots.empty() || chunk->roots.back().first != root_piece_) {
      chunk->roots.emplace_back(root_piece_, std::vector<int32_t>{});
    }
    auto& rows = chunk->roots.back().second;
    const int64_t end = root_piece_->batch->num_rows();
    for (; root_pos_ < end && chunk->kept < options_.batch_size; ++root_pos_) {
      const size_t row = static_cast<size_t>(root_pos_);
      if (AdmitRoot(*root_piece_, row, RootKept(root_pos_), chunk)) {
        rows.push_back(static_cast<int32_t>(row));
      }
    }
    if (root_pos_ >= end && EndsChunk(*root_piece_, chunk->kept, options_.batch_size)) {
      break;
    }
  }
  SealRootSets(chunk);
  return Status::OK();
}

// The one place a root enters the chunk's key sets: its id as a parent (kept or
// filtered, so that a filtered root's children are dropped with it); a kept root's
// resource and scope keys as the attribute tables' parents. Returns `keep`.
bool SignalMerge::AdmitRoot(const Piece& piece, size_t row, bool keep, Chunk* chunk) {
  chunk->sets[Slot(root_type_)].Add(piece.key[row], keep);
  if (!keep) {
    ++stats_->filtered_rows;
    return false;
  }
  ++chunk->kept;
  // Unresolved upstream keys join nothing; in our files every key is an id.
  const auto joins = [&piece](uint32_t key) {
    return !piece.upstream_keys || key < kUnresolvedKeyBase;
  };
  if (joins(piece.res_key[row])) chunk->res_set.Add(piece.res_key[row], true);
  if (joins(piece.scope_key[row])) chunk->scope_set.Add(piece.scope_key[row], true);
  return true;
}

void SignalMerge::SealRootSets(Chunk* chunk) {
  chunk->sets[Slot(root_type_)].Seal();
  chunk->res_set.Seal();
  chunk->scope_set.Seal();
}

// Floors of the roots, resources and scopes: the smallest key any later chunk can
// still hold (the rest of the current root piece, then the unread row groups).
void SignalMerge::ComputeRootFloors(Chunk* chunk) {
  const auto& cursor = *tables_[Slot(root_type_)]->cursor;
  const bool upstream = cursor.upstream_ids();
  // Upstream statistics of resource.id / scope.id are un-offset (Q1): useless here.
  chunk->res_floor = upstream ? kNoKey : cursor.next_res_min();
  chunk->scope_floor = upstream ? kNoKey : cursor.next_scope_min();
  uint32_t floor = cursor.next_id_min();
  if (root_piece_) {
    const size_t p = static_cast<size_t>(root_pos_);
    floor = std::min(floor, root_piece_->suffix_id_min[p]);
    chunk->res_floor = std::min(chunk->res_floor, root_piece_->suffix_res_min[p]);
    chunk->scope_floor = std::min(chunk->scope_floor, root_piece_->suffix_scope_min[p]);
  }
  if (upstream) {
    // Later upstream keys are C + raw id with C ≥ the carried run's offset (rows
    // continuing that run) or C = a later root id (new runs).
    const uint32_t later = std::min(upstream_.carried_offset(), cursor.next_id_min());
    chunk->res_floor = std::min(chunk->res_floor, later);
    chunk->scope_floor = std::min(chunk->scope_floor, later);
  }
  chunk->floor[Slot(root_type_)] = floor;
  chunk->buffered = root_piece_ ? root_piece_->batch->num_rows() - root_pos_ : 0;
}

// Metrics with a time_range, once every data point of the chunk is classified: keeps
// only the metrics with a point in the range (the root sets are rebuilt from them).
void SignalMerge::KeepRootsWithPoints(Chunk* chunk) {
  chunk->roots_final = true;
  chunk->sets[Slot(root_type_)] = KeySet();
  chunk->res_set = KeySet();
  chunk->scope_set = KeySet();
  chunk->kept = 0;
  for (auto& [piece, rows] : chunk->roots) {
    std::vector<int32_t> still;
    for (int32_t row : rows) {
      const size_t r = static_cast<size_t>(row);
      const uint32_t key = piece->key[r];
      const bool keep = key != kNoKey && chunk->roots_with_points.count(key) > 0;
      if (AdmitRoot(*piece, r, keep, chunk)) still.push_back(row);
    }
    rows = std::move(still);
  }
  SealRootSets(chunk);
}

SignalMerge::ParentKeys SignalMerge::ParentKeysOf(PT type, const Chunk& chunk) const {
  if (type == PT::kResourceAttrs) return {&chunk.res_set, chunk.res_floor};
  if (type == PT::kScopeAttrs) return {&chunk.scope_set, chunk.scope_floor};
  const PT parent = *ParentOf(type, signal_);
  return {&chunk.sets[Slot(parent)], chunk.floor[Slot(parent)]};
}

// Classifies the rows buffered by earlier chunks, then pulls the slices that may
// hold children of this chunk's parents one at a time, classifying each as it comes;
// the emitted rows go to the chunk. A slice whose rows are all emitted or dropped is
// freed before the next is read (its emitted rows copied out by the PartCollector),
// so a chunk holds its own rows once, however many slices they come from.
Status SignalMerge::MergeChildTable(PT type, Chunk* chunk) {
  auto& state = *tables_[Slot(type)];
  const ParentKeys parent = ParentKeysOf(type, *chunk);
  // Chunks of fewer roots (a root row group's end) are followed by full ones: the
  // hint is scaled by roots, with a little room for the rows per root to vary.
  const double scale =
      state.out_roots > 0 && chunk->kept > 0
          ? 1.03 * static_cast<double>(chunk->kept) / static_cast<double>(state.out_roots)
          : 1.0;
  PartCollector out(options_.pool, &state.out_sizes, scale);
  uint32_t waiting_min = kNoKey;
  for (auto& piece : state.pending) {
    ARROW_ASSIGN_OR_RAISE(const uint32_t waiting,
                          ClassifyPiece(&state, parent, piece.get(), chunk, &out));
    waiting_min = std::min(waiting_min, waiting);
  }
  auto& cursor = *state.cursor;
  while (!parent.set->empty() && !cursor.done() &&
         cursor.next_pull_min() <= parent.set->hi()) {
    ARROW_ASSIGN_OR_RAISE(auto piece, cursor.ReadNext());
    if (!piece || piece->batch->num_rows() == 0) continue;
    state.live_rows += static_cast<int64_t>(piece->live.size());
    ARROW_ASSIGN_OR_RAISE(const uint32_t waiting,
                          ClassifyPiece(&state, parent, piece.get(), chunk, &out));
    waiting_min = std::min(waiting_min, waiting);
    if (!piece->live.empty()) state.pending.push_back(std::move(piece));
  }
  chunk->floor[Slot(type)] = std::min(cursor.next_id_min(), waiting_min);
  chunk->sets[Slot(type)].Seal();
  ARROW_RETURN_NOT_OK(Compact(&state));
  chunk->buffered += state.live_rows;
  ARROW_ASSIGN_OR_RAISE(auto batch, out.Finish());
  if (out.copied()) state.out_roots = chunk->kept;
  if (batch && chunk->kept > 0) chunk->out.Set(type, std::move(batch));
  return Status::OK();
}

// Reads row groups while the unread rows may hold a key ≤ hi.
Status SignalMerge::PullThrough(TableState* state, uint32_t hi) {
  while (!state->cursor->done() && state->cursor->next_pull_min() <= hi) {
    ARROW_ASSIGN_OR_RAISE(auto piece, state->cursor->ReadNext());
    if (!piece || piece->batch->num_rows() == 0) continue;
    state->live_rows += static_cast<int64_t>(piece->live.size());
    state->pending.push_back(std::move(piece));
  }
  return Status::OK();
}

// Classifies the buffered rows of `piece`: parent emitted → emitted (into `parts`;
// resource/scope attributes also stay buffered, later chunks may need them again);
// parent filtered → dropped; parent below the parent table's floor → dropped and
// counted (CountDropped), never attached elsewhere; otherwise → waits for a later
// chunk. Returns the smallest own id of the waiting rows (kNoKey: none), for the
// table's floor.
arrow::Result<uint32_t> SignalMerge::ClassifyPiece(TableState* state,
                                                   const ParentKeys& parent, Piece* piece,
                                                   Chunk* chunk, PartCollector* out) {
  if (piece->summary_valid &&
      AboveParents(piece->min_live_key, *parent.set, parent.floor)) {
    return piece->min_live_id;  // every row of the piece waits
  }
  KeySet& own_set = chunk->sets[Slot(state->cursor->type())];
  const bool has_ids = !piece->id.empty();
  uint32_t waiting_min = kNoKey;
  std::vector<int32_t> out_rows, still;
  for (int32_t row : piece->live) {
    const size_t r = static_cast<size_t>(row);
    const uint32_t key = piece->key[r];
    if (key != kNoKey && AboveParents(key, *parent.set, parent.floor)) {
      // Fast path for rows waiting for a later chunk (no lookup).
      still.push_back(row);
      if (has_ids) waiting_min = std::min(waiting_min, piece->id[r]);
      continue;
    }
    ParentMatch match = key == kNoKey ? ParentMatch::kAbsent : parent.set->Lookup(key);
    if (match == ParentMatch::kEmitted && !piece->out_of_time.empty()) {
      if (piece->out_of_time[r]) {
        match = ParentMatch::kFiltered;
      } else {
        chunk->roots_with_points.insert(key);
      }
    }
    if (match != ParentMatch::kAbsent) {
      const bool emitted = match == ParentMatch::kEmitted;
      if (emitted) {
        out_rows.push_back(row);
      } else if (!state->retain) {
        ++stats_->filtered_rows;
      }
      if (has_ids) own_set.Add(piece->id[r], emitted);
      if (state->retain) {
        piece->used[r] = 1;
        still.push_back(row);
      }
      continue;
    }
    if (key == kNoKey || key < parent.floor) {
      // A dropped child of a replayed parent takes its own children with it.
      if (CountDropped(*state, *piece, r) && has_ids) own_set.Add(piece->id[r], false);
      continue;
    }
    still.push_back(row);
    if (has_ids) waiting_min = std::min(waiting_min, piece->id[r]);
  }
  if (!out_rows.empty()) {
    ARROW_ASSIGN_OR_RAISE(auto part, TakeRows(piece->batch, out_rows, options_.pool));
    ARROW_RETURN_NOT_OK(out->Add(std::move(part)));
  }
  state->live_rows -= static_cast<int64_t>(piece->live.size() - still.size());
  piece->live = std::move(still);
  piece->min_live_key = kNoKey;
  piece->min_live_id = kNoKey;
  for (int32_t row : piece->live) {
    const size_t r = static_cast<size_t>(row);
    piece->min_live_key = std::min(piece->min_live_key, piece->key[r]);
    if (has_ids) piece->min_live_id = std::min(piece->min_live_id, piece->id[r]);
  }
  piece->summary_valid = true;
  return waiting_min;
}

// The root batch with resolved resource/scope keys, then ids renumbered densely.
arrow::Result<OtapBatch> SignalMerge::EmitChunk(Chunk* chunk) {
  std::vector<std::shared_ptr<arrow::RecordBatch>> parts;
  std::vector<uint32_t> res_keys, scope_keys;
  for (const auto& [piece, rows] : chunk->roots) {
    if (rows.empty()) continue;
    ARROW_ASSIGN_OR_RAISE(auto part, TakeRows(piece->batch, rows, options_.pool));
    parts.push_back(std::move(part));
    for (int32_t row : rows) {
      res_keys.push_back(piece->res_key[static_cast<size_t>(row)]);
      scope_keys.push_back(piece->scope_key[static_cast<size_t>(row)]);
    }
  }
  ARROW_ASSIGN_OR_RAISE(auto root, ConcatBatches(parts, options_.pool));
  ARROW_ASSIGN_OR_RAISE(root,
                        ReplaceStructId(std::move(root), schema::kResource, res_keys));
  ARROW_ASSIGN_OR_RAISE(root,
                        ReplaceStructId(std::move(root), schema::kScope, scope_keys));
  chunk->out.Set(root_type_, std::move(root));
  RemapStats remap_stats;
  ARROW_ASSIGN_OR_RAISE(auto dense, RemapIdsDense(chunk->out, &remap_stats));
  stats_->orphan_rows += remap_stats.orphan_rows;
  ++stats_->batches_emitted;
  stats_->roots_emitted += chunk->kept;
  return dense;
}

// ----------------------------------------------------------------------------------
// Bookkeeping

bool SignalMerge::CountDropped(const TableState& state, const Piece& piece, size_t row) {
  if (state.retain) {
    if (!piece.used[row]) ++stats_->unreferenced_attr_rows;
    return false;
  }
  if (options_.time_range || piece.key[row] < ResumeFloorOfParent(state)) {
    ++stats_->filtered_rows;
    return true;
  }
  ++stats_->orphan_rows;
  return false;
}

uint32_t SignalMerge::ResumeFloorOfParent(const TableState& state) const {
  const auto parent = ParentOf(state.cursor->type(), signal_);
  return parent ? resume_floors_[Slot(*parent)] : 0;
}

// Frees pieces without live rows and rewrites mostly-dead ones.
Status SignalMerge::Compact(TableState* state) {
  while (!state->pending.empty() && state->pending.front()->live.empty()) {
    state->pending.pop_front();
  }
  for (auto& piece : state->pending) {
    const size_t n = static_cast<size_t>(piece->batch->num_rows());
    if (piece->live.empty() || n < 1024 || piece->live.size() * 2 > n) continue;
    auto fresh = std::make_shared<Piece>();
    ARROW_ASSIGN_OR_RAISE(fresh->batch,
                          TakeRows(piece->batch, piece->live, options_.pool));
    for (size_t i = 0; i < piece->live.size(); ++i) {
      const size_t r = static_cast<size_t>(piece->live[i]);
      fresh->key.push_back(piece->key[r]);
      if (!piece->id.empty()) fresh->id.push_back(piece->id[r]);
      fresh->used.push_back(piece->used[r]);
      if (!piece->out_of_time.empty())
        fresh->out_of_time.push_back(piece->out_of_time[r]);
      fresh->live.push_back(static_cast<int32_t>(i));
    }
    piece = std::move(fresh);
  }
  state->pending.erase(
      std::remove_if(state->pending.begin(), state->pending.end(),
                     [](const std::shared_ptr<Piece>& p) { return p->live.empty(); }),
      state->pending.end());
  return Status::OK();
}

// End of the signal in this partition: whatever is still buffered or unread never
// found a parent.
void SignalMerge::Finish() {
  for (PT type : types_) {
    if (type == root_type_) continue;
    auto& state = *tables_[static_cast<size_t>(type)];
    for (const auto& piece : state.pending) {
      for (int32_t row : piece->live)
        CountDropped(state, *piece, static_cast<size_t>(row));
    }
    state.pending.clear();
    state.live_rows = 0;
    const int64_t unread = state.cursor->RemainingRows();
    if (state.retain) {
      stats_->unreferenced_attr_rows += unread;
    } else if (options_.time_range) {
      stats_->filtered_rows += unread;
    } else {
      stats_->orphan_rows += unread;
    }
  }
}

}  // namespace otap_parquet::dataset::internal
