// SPDX-License-Identifier: Apache-2.0
#include "otap_parquet/dataset/tail_planner.h"

#include <algorithm>
#include <limits>
#include <vector>

#include <arrow/api.h>
#include <arrow/compute/cast.h>
#include <parquet/arrow/reader.h>
#include <parquet/file_reader.h>
#include <parquet/metadata.h>
#include <parquet/statistics.h>

#include "otap_parquet/dataset/parquet_errors.h"
#include "otap_parquet/dataset/row_group_stats.h"
#include "otap_parquet/schema/payload_type.h"
#include "otap_parquet/storage/storage.h"

namespace otap_parquet::dataset {

namespace {

constexpr int64_t kUnknown = std::numeric_limits<int64_t>::max();

// Min and max of a key column over a file's row groups; false when a row group with
// values has no statistics, the column is missing or all null.
bool KeyRange(const parquet::FileMetaData& md, const char* column, uint32_t* min_out,
              uint32_t* max_out) {
  const int leaf = md.schema()->ColumnIndex(column);
  if (leaf < 0) return false;
  int64_t min = INT64_MAX;
  int64_t max = -1;
  for (int g = 0; g < md.num_row_groups(); ++g) {
    auto rg = md.RowGroup(g);
    auto stats = internal::ChunkStatistics(*rg, leaf);
    if (stats && stats->HasMinMax()) {
      int64_t lo = 0;
      int64_t hi = 0;
      if (stats->physical_type() == parquet::Type::INT32) {
        // UInt16/32 ids are stored as INT32 (the unsigned value's bit pattern).
        const auto& typed = static_cast<const parquet::Int32Statistics&>(*stats);
        lo = static_cast<uint32_t>(typed.min());
        hi = static_cast<uint32_t>(typed.max());
      } else if (stats->physical_type() == parquet::Type::INT64) {
        const auto& typed = static_cast<const parquet::Int64Statistics&>(*stats);
        lo = std::clamp<int64_t>(typed.min(), 0, UINT32_MAX);
        hi = std::clamp<int64_t>(typed.max(), 0, UINT32_MAX);
      } else {
        return false;
      }
      min = std::min(min, lo);
      max = std::max(max, hi);
      continue;
    }
    if (stats && stats->HasNullCount() && stats->null_count() >= rg->num_rows()) continue;
    return false;
  }
  if (max < 0) return false;
  *min_out = static_cast<uint32_t>(min);
  *max_out = static_cast<uint32_t>(max);
  return true;
}

}  // namespace

const TailPlanner::FileKeys& TailPlanner::KeysOf(const PlannedFile& file) {
  auto it = keys_.find(file.path);
  if (it != keys_.end()) return it->second;
  FileKeys keys;
  const arrow::Status read = CatchParquet(file.path, [&]() -> arrow::Status {
    ARROW_ASSIGN_OR_RAISE(auto input, OpenListedFile(*fs_, file.path, file.size));
    auto md = parquet::ParquetFileReader::Open(input)->metadata();
    keys.rows = md->num_rows();
    uint32_t min_id = 0;
    keys.has_max_id = KeyRange(*md, "id", &min_id, &keys.max_id);
    keys.has_parent = KeyRange(*md, "parent_id", &keys.min_parent, &keys.max_parent);
    return arrow::Status::OK();
  });
  // Not an error here: an unreadable file stays in the plan and the reader, which
  // reads it next, reports and counts it.
  keys.readable = read.ok();
  return keys_.emplace(file.path, keys).first->second;
}

bool TailPlanner::PastGrace(const std::string& path,
                            std::chrono::system_clock::time_point now) {
  auto [it, fresh] = first_seen_.emplace(path, now);
  auto info = fs_->GetFileInfo(path);
  if (info.ok() && info->mtime() != arrow::fs::kNoTime) {
    auto since =
        std::chrono::time_point_cast<std::chrono::system_clock::duration>(info->mtime());
    // On an object store the Last-Modified of a multipart upload is when the upload
    // started: a file a writer kept open long looks old the moment it appears.
    // Count from when this planner first listed it, if later.
    if (!IsLocalFileSystem(*fs_)) since = std::max(since, it->second);
    return now - since >= grace_;
  }
  return !fresh && now - it->second >= grace_;
}

arrow::Result<int64_t> TailPlanner::CountAbove(const std::string& path,
                                               int64_t max_parent_id) {
  return CatchParquet(path, [&]() -> arrow::Result<int64_t> {
    ARROW_ASSIGN_OR_RAISE(auto input, fs_->OpenInputFile(path));
    ARROW_ASSIGN_OR_RAISE(auto reader,
                          parquet::arrow::OpenFile(input, arrow::default_memory_pool()));
    std::shared_ptr<arrow::Schema> schema;
    ARROW_RETURN_NOT_OK(reader->GetSchema(&schema));
    const int index = schema->GetFieldIndex("parent_id");
    if (index < 0) return 0;
    std::shared_ptr<arrow::ChunkedArray> column;
    ARROW_RETURN_NOT_OK(reader->ReadColumn(index, &column));
    ARROW_ASSIGN_OR_RAISE(auto wide,
                          arrow::compute::Cast(arrow::Datum(column), arrow::int64()));
    int64_t above = 0;
    for (const auto& chunk : wide.chunked_array()->chunks()) {
      const auto& values = static_cast<const arrow::Int64Array&>(*chunk);
      for (int64_t i = 0; i < values.length(); ++i) {
        if (values.IsValid(i) && values.Value(i) > max_parent_id) ++above;
      }
    }
    return above;
  });
}

arrow::Status TailPlanner::Apply(DatasetPlan* plan, const UnitSkipped& unit_skipped) {
  const auto now = std::chrono::system_clock::now();
  stats_.held_files = 0;
  stats_.held_rows = 0;
  std::set<std::string> listed;
  for (auto& partition : plan->partitions) {
    for (const auto& [type, files] : partition.files) {
      for (const auto& f : files) listed.insert(f.path);
    }
    for (Signal signal : partition.signals) {
      const bool skipped = unit_skipped && unit_skipped(partition, signal);
      // Max id over the kept files of each table of the signal (-1: none).
      std::map<PayloadType, int64_t> max_id;
      // PayloadTypesOf: each parent before its children (top-down).
      for (PayloadType type : PayloadTypesOf(signal)) {
        if (type == PayloadType::kResourceAttrs || type == PayloadType::kScopeAttrs) {
          continue;
        }
        if (IsRoot(type) && type != RootPayloadType(signal)) continue;
        auto it = partition.files.find(type);
        if (it == partition.files.end()) continue;
        std::vector<PlannedFile>& files = it->second;
        const auto parent = ParentOf(type, signal);
        if (parent) {
          const auto p = max_id.find(*parent);
          const int64_t parent_max = p == max_id.end() ? -1 : p->second;
          std::vector<PlannedFile> kept;
          bool holding = false;
          for (const auto& file : files) {
            const FileKeys& keys = KeysOf(file);
            // Held only while every row's parent is missing: a file that also has
            // children of visible parents (tables rotated independently) is read
            // now, or those parents would go out without them.
            const bool covered = !keys.readable || !keys.has_parent ||
                                 static_cast<int64_t>(keys.min_parent) <= parent_max;
            if (!holding && covered) {
              kept.push_back(file);
              continue;
            }
            if (!holding && PastGrace(file.path, now)) {
              // Waited long enough: read it; rows without parents are orphans.
              kept.push_back(file);
              if (settled_.insert(file.path).second) {
                ++stats_.released_files;
                if (skipped) {
                  auto above = CountAbove(file.path, parent_max);
                  if (above.ok()) {
                    stats_.orphan_rows += *above;
                  } else {
                    // The reader reports the file when it reads it; here only the
                    // orphan count is unknown.
                    log_.Warn("tail.orphans_unknown", "file={} reason=\"{}\"", file.path,
                              above.status().message());
                  }
                }
                log_.Warn("tail.released",
                          "file={} max_parent_id={} parent_max_id={} (parents missing "
                          "after the grace period)",
                          file.path, keys.max_parent, parent_max);
              }
              continue;
            }
            // Held; later files of the table wait too (each table stays a prefix).
            holding = true;
            ++stats_.held_files;
            stats_.held_rows += keys.rows;
          }
          files = std::move(kept);
        }
        int64_t max = -1;
        for (const auto& file : files) {
          const FileKeys& keys = KeysOf(file);
          if (!keys.readable) continue;
          if (!keys.has_max_id) {
            max = kUnknown;  // no statistics: cannot hold anything back
            break;
          }
          max = std::max<int64_t>(max, keys.max_id);
        }
        max_id[type] = max;
      }
    }
  }
  // Forget files that are gone (files are immutable while listed).
  for (auto it = keys_.begin(); it != keys_.end();) {
    it = listed.count(it->first) ? std::next(it) : keys_.erase(it);
  }
  for (auto it = first_seen_.begin(); it != first_seen_.end();) {
    it = listed.count(it->first) ? std::next(it) : first_seen_.erase(it);
  }
  return arrow::Status::OK();
}

}  // namespace otap_parquet::dataset
