// SPDX-License-Identifier: Apache-2.0
#include "otap_parquet/dataset/id_space.h"

#include <algorithm>
#include <exception>
#include <memory>

#include <fmt/format.h>
#include <parquet/file_reader.h>
#include <parquet/metadata.h>
#include <parquet/schema.h>
#include <parquet/statistics.h>
#include <parquet/types.h>

#include "otap_parquet/dataset/parquet_errors.h"
#include "otap_parquet/storage/storage.h"
namespace otap_parquet::dataset {

namespace {

// Bit width of an integer leaf's logical type; 0 when it has none.
int IntWidth(const parquet::SchemaDescriptor& schema, int leaf) {
  const auto& logical = schema.Column(leaf)->logical_type();
  if (logical == nullptr || !logical->is_int()) return 0;
  return static_cast<const parquet::IntLogicalType&>(*logical).bit_width();
}

bool IsUInt32(const parquet::SchemaDescriptor& schema, int leaf) {
  return IntWidth(schema, leaf) == 32;
}

}  // namespace

std::optional<std::pair<uint32_t, uint32_t>> RootKeyRange(
    const parquet::FileMetaData& md) {
  const auto& schema = *md.schema();
  std::vector<int> leaves;
  if (int leaf = schema.ColumnIndex("id"); leaf >= 0) leaves.push_back(leaf);
  for (const char* name : {"resource.id", "scope.id"}) {
    const int leaf = schema.ColumnIndex(name);
    if (leaf >= 0 && IsUInt32(schema, leaf)) leaves.push_back(leaf);
  }
  bool any = false;
  uint32_t lo = UINT32_MAX, hi = 0;
  for (int g = 0; g < md.num_row_groups(); ++g) {
    auto rg = md.RowGroup(g);
    for (int leaf : leaves) {
      auto stats = rg->ColumnChunk(leaf)->statistics();
      if (stats && stats->HasMinMax() && stats->physical_type() == parquet::Type::INT32) {
        // Unsigned ids are stored as INT32 bit patterns (unsigned sort order).
        const auto& typed = static_cast<const parquet::Int32Statistics&>(*stats);
        lo = std::min(lo, static_cast<uint32_t>(typed.min()));
        hi = std::max(hi, static_cast<uint32_t>(typed.max()));
        any = true;
      } else if (stats && stats->HasNullCount() &&
                 stats->null_count() >= rg->num_rows()) {
        continue;  // all null: no keys here
      } else {
        return std::nullopt;
      }
    }
  }
  if (!any) return std::nullopt;
  return std::make_pair(lo, hi);
}

std::string_view WriterKindName(WriterKind kind) {
  switch (kind) {
    case WriterKind::kOurs:
      return "ours";
    case WriterKind::kUpstream:
      return "upstream";
    case WriterKind::kUnknown:
      break;
  }
  return "unknown";
}

WriterKind RootIdWriter(const parquet::FileMetaData& metadata) {
  const auto& schema = *metadata.schema();
  WriterKind kind = WriterKind::kUnknown;
  for (const char* name : {"resource.id", "scope.id"}) {
    const int leaf = schema.ColumnIndex(name);
    if (leaf < 0) continue;
    const int width = IntWidth(schema, leaf);
    if (width == 32) return WriterKind::kOurs;
    if (width > 0 && width < 32) kind = WriterKind::kUpstream;
  }
  return kind;
}

std::string IdCollision::ToString() const {
  return fmt::format("{} (ids {}..{}) and {} (ids {}..{})", first_path, first_min,
                     first_max, second_path, second_min, second_max);
}

std::optional<IdCollision> FindIdCollision(const std::vector<RootFooter>& root_files) {
  std::vector<RootIdRange> ranges;
  for (const auto& file : root_files) {
    if (file.metadata == nullptr) continue;
    std::optional<std::pair<uint32_t, uint32_t>> range;
    try {
      range = RootKeyRange(*file.metadata);
    } catch (const std::exception&) {
      // Statistics Arrow refuses give no range: the file cannot be shown to collide,
      // and the reader reports its chunks when it reads them.
      continue;
    }
    if (range) ranges.push_back({file.path, range->first, range->second});
  }
  return FindIdCollision(std::move(ranges));
}

std::optional<IdCollision> FindIdCollision(std::vector<RootIdRange> ranges) {
  std::sort(ranges.begin(), ranges.end(), [](const RootIdRange& a, const RootIdRange& b) {
    return a.min < b.min || (a.min == b.min && a.max < b.max);
  });
  // Sweep: the file reaching furthest so far overlaps any later file starting at or
  // below its maximum.
  const RootIdRange* widest = nullptr;
  for (const auto& range : ranges) {
    if (widest != nullptr && range.min <= widest->max) {
      return IdCollision{*widest->path, widest->min, widest->max,
                         *range.path,   range.min,   range.max};
    }
    if (widest == nullptr || range.max > widest->max) widest = &range;
  }
  return std::nullopt;
}

std::optional<IdCollision> FindIdCollision(arrow::fs::FileSystem& fs,
                                           const PartitionPlan& partition,
                                           const std::vector<Signal>& signals) {
  for (Signal signal : signals) {
    if (std::find(partition.signals.begin(), partition.signals.end(), signal) ==
        partition.signals.end()) {
      continue;
    }
    std::vector<std::shared_ptr<parquet::FileMetaData>> footers;
    std::vector<RootFooter> refs;
    for (const auto& file : partition.FilesOf(RootPayloadType(signal))) {
      auto footer = CatchParquet(
          file.path, [&]() -> arrow::Result<std::shared_ptr<parquet::FileMetaData>> {
            ARROW_ASSIGN_OR_RAISE(auto input, OpenListedFile(fs, file.path, file.size));
            return parquet::ParquetFileReader::Open(input)->metadata();
          });
      // An unreadable footer is the reader's to report (file.drop); without it the
      // file has no ids to collide.
      if (!footer.ok()) continue;
      footers.push_back(*std::move(footer));
      refs.push_back({&file.path, footers.back().get()});
    }
    if (auto collision = FindIdCollision(refs)) return collision;
  }
  return std::nullopt;
}

}  // namespace otap_parquet::dataset
