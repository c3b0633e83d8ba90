// SPDX-License-Identifier: Apache-2.0
#pragma once

#include <cstdint>
#include <functional>
#include <map>
#include <mutex>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include <arrow/result.h>
#include <arrow/status.h>

/// \file
/// Which replayer takes which partition (id space): N shards, each on its own
/// machine, and within a shard the pipeline instances (cores) of one engine.
///
/// Shards share no memory: they split by a stable hash of the partition's path,
/// which does not depend on discovery order or time, so every partition has exactly
/// one shard and a checkpoint written by one shard names only its own partitions.
/// The cores of an engine share one CoreAssignment instead, which balances the
/// partitions of their shard (a hash splits 4 partitions over 2 cores 3 : 1 or
/// 4 : 0 in 10 of 16 cases).

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
/// is replayed by instance `core` of `num_cores` of `shard`, by hash alone: the
/// shard takes the hash modulo `count`; the core the quotient modulo `num_cores`.
/// Engines use it for the shard (`core` 0 of 1) and CoreAssignment for the cores.
bool PartitionAssigned(const std::string& partition, const Shard& shard, int core,
                       int num_cores);

/// \brief Owner (core) of every partition one engine's instances of a receiver
/// replay; shared by those instances, thread-safe.
///
/// Owners are per ShardKeyOf, so a compacted partition (and its checkpoint units)
/// goes to the core of the partition it supersedes. Filled once, at start, from one
/// listing: its keys in sorted order, then the keys only a checkpoint names, are
/// dealt round-robin (core counts differ by at most one). A key first seen later
/// (a partition published while following) goes to the core with the fewest keys
/// (the lowest index on a tie), under the same lock; in a one-shot replay to the
/// core that listed it (Assign's `lister`). An owner never changes: an
/// instance keeps the emitted, unacknowledged progress of its partitions in memory,
/// and a second owner would replay a partition again from its last checkpoint write.
/// Across restarts owners may differ; each instance loads the checkpoint units of the
/// partitions it owns then.
class CoreAssignment {
 public:
  explicit CoreAssignment(int num_cores);

  using Lister = std::function<arrow::Result<std::vector<std::string>>()>;

  /// \brief Fills the assignment on the first successful call: `list` (the
  /// partitions listed now) runs under the lock, so the other instances wait for its
  /// result instead of listing at their own time; `known` (the partitions a
  /// checkpoint names) follow. Later calls return at once. An error of `list` is
  /// returned and leaves it unfilled.
  arrow::Status FillOnce(const Lister& list, const std::vector<std::string>& known);

  /// \brief The owner of each of `partitions` (same order). Keys not assigned yet
  /// are given out first, in key order, each to the core with the fewest, or to
  /// `lister` when it is a core (a one-shot replay: the instance that lists a
  /// partition first replays it, as it will not list again).
  std::vector<int> Assign(const std::vector<std::string>& partitions, int lister = -1);

  /// \brief The owner of `partition` if its key is assigned; assigns nothing.
  std::optional<int> OwnerOf(std::string_view partition) const;

  /// \brief Keys (partitions, a compacted one counting with the one it supersedes)
  /// per core.
  std::vector<int64_t> counts() const;
  int num_cores() const { return static_cast<int>(counts_.size()); }
  bool filled() const;

 private:
  /// Gives the keys of `keys` not assigned yet out, in key order, to `lister` if
  /// it is a core; under mutex_.
  void AssignNewLocked(const std::vector<std::string>& keys, int lister = -1);

  mutable std::mutex mutex_;
  bool filled_ = false;
  std::map<std::string, int, std::less<>> owners_;  ///< shard key -> core
  std::vector<int64_t> counts_;
};

}  // namespace otap_parquet::dataset
