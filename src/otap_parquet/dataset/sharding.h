// SPDX-License-Identifier: Apache-2.0
#pragma once

#include <string>
#include <string_view>

#include <arrow/result.h>

/// \file
/// Which replayer takes which partition (id space): N shards, each on its own
/// machine, and within a shard the pipeline instances (cores). The split is a
/// stable hash of the partition's path, so it does not depend on discovery order or
/// time, every partition has exactly one (shard, core), and a checkpoint written by
/// one shard names only its own partitions.

namespace otap_parquet::dataset {

/// \brief Shard `index` of `count` (0 <= index < count).
struct Shard {
  int index = 0;
  int count = 1;

  /// \brief "K/N", e.g. "0/3".
  static arrow::Result<Shard> Parse(std::string_view text);
  std::string ToString() const;
  bool operator==(const Shard&) const = default;
};

/// \brief Whether `partition` (its path relative to the dataset's table directory)
/// is replayed by instance `core` of `num_cores` of `shard`. The shard takes the
/// hash modulo `count`; the core the quotient modulo `num_cores`, so that the
/// partitions of one shard spread over all its cores (with one shard this is the
/// hash modulo `num_cores`, as before shards existed: checkpoints stay valid).
bool PartitionAssigned(const std::string& partition, const Shard& shard, int core,
                       int num_cores);

}  // namespace otap_parquet::dataset
