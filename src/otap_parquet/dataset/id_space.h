// SPDX-License-Identifier: Apache-2.0
#pragma once

/// \file
/// Detection of two writers numbering ids in one id space (a partition directory).
///
/// Every writer's id generator gives each input batch an id interval above the
/// previous one, and a file holds consecutive batches, so within one id space the
/// root files' key ranges of a signal are disjoint. Two writers in one directory both
/// start at 0: their files' ranges overlap, and a join would attach one writer's
/// attributes to the other's records. (Signals are checked one by one: our writer
/// and, by its design notes, upstream's share one generator across signals, but
/// nothing guarantees that of every writer, and a false alarm would hide data.)
/// Our writers never do that (a fresh `_part_id` per writer instance); old datasets
/// (unpartitioned, written by restarts) and foreign writers can.

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include <arrow/filesystem/filesystem.h>
#include <parquet/metadata.h>

#include "otap_parquet/dataset/discovery.h"

namespace otap_parquet::dataset {

/// \brief Which writer's id convention a file shows.
enum class WriterKind : uint8_t {
  kUnknown,   ///< no marker (a child table, or a root file without resource/scope ids)
  kOurs,      ///< UInt32 `resource.id` / `scope.id`: offset like every id
  kUpstream,  ///< narrower (UInt16) ones: upstream's un-offset ids (Q1)
};

/// \brief "unknown", "ours", "upstream".
std::string_view WriterKindName(WriterKind kind);

/// \brief The writer of a root table file from its footer, by the marker the reader
/// and FindIdCollision go by: our writer widens `resource.id` / `scope.id` to UInt32
/// and offsets them, upstream's keeps them UInt16 (quirk Q1). kUnknown when neither
/// column is there.
WriterKind RootIdWriter(const parquet::FileMetaData& metadata);

/// \brief Two root files of one id space whose key ranges overlap.
struct IdCollision {
  std::string first_path;
  uint32_t first_min = 0, first_max = 0;
  std::string second_path;
  uint32_t second_min = 0, second_max = 0;

  /// \brief "<path> (ids a..b) and <path> (ids c..d)".
  std::string ToString() const;
};

/// \brief A root file's path and footer.
struct RootFooter {
  const std::string* path = nullptr;
  const parquet::FileMetaData* metadata = nullptr;
};

/// \brief The key range of a root file from its footer: [min, max] over its `id`
/// column and, in our files (UInt32), `resource.id` / `scope.id` (upstream's UInt16
/// ones restart per batch, Q1, and are left out). nullopt when the file has no keys
/// or a row group lacks their statistics. May throw on a corrupt footer.
std::optional<std::pair<uint32_t, uint32_t>> RootKeyRange(
    const parquet::FileMetaData& metadata);

/// \brief A root file's key range (RootKeyRange), for files whose footers are not
/// kept.
struct RootIdRange {
  const std::string* path = nullptr;
  uint32_t min = 0;
  uint32_t max = 0;
};

/// \brief The first overlapping pair of `ranges` (one signal of one id space),
/// compared sorted by minimum, not by file name; nullopt when they are disjoint.
std::optional<IdCollision> FindIdCollision(std::vector<RootIdRange> ranges);

/// \brief Checks the root files of one signal of one id space from their footers:
/// the range of a file is [min, max] over its `id` column and, in our files (UInt32),
/// `resource.id` / `scope.id` (upstream's UInt16 ones restart per batch, Q1, and are
/// left out). Files without keys or with a row group lacking statistics are not
/// checked. Ranges are compared sorted by minimum, not by file name (names of one
/// millisecond sort by their random suffix).
/// \return the first overlapping pair, or nullopt.
std::optional<IdCollision> FindIdCollision(const std::vector<RootFooter>& root_files);

/// \brief Checks the root files of each of `signals` in `partition` from their
/// footers only: the range of a file is [min, max] over its `id` column and, in our files
/// (UInt32), `resource.id` / `scope.id` (upstream's UInt16 ones restart per batch, Q1,
/// and are left out). Files without keys, with a row group lacking statistics, or whose
/// footer cannot be read are not checked (the reader reports unreadable files).
/// Ranges are compared sorted by minimum, not by file name (names of one
/// millisecond sort by their random suffix).
/// \return the first overlapping pair, or nullopt.
std::optional<IdCollision> FindIdCollision(arrow::fs::FileSystem& fs,
                                           const PartitionPlan& partition,
                                           const std::vector<Signal>& signals);

}  // namespace otap_parquet::dataset
