// SPDX-License-Identifier: Apache-2.0
#include "otap_parquet/dataset/sharding.h"

#include "otap_parquet/dataset/compaction.h"

#include <algorithm>
#include <charconv>
#include <cstdint>
#include <set>
#include <string_view>
#include <utility>

#include <arrow/status.h>
#include <fmt/format.h>

namespace otap_parquet::dataset {

namespace {

uint64_t Fnv1a(const std::string& text) {
  uint64_t h = 1469598103934665603ull;
  for (unsigned char c : text) {
    h ^= c;
    h *= 1099511628211ull;
  }
  return h;
}

bool ParseInt(std::string_view text, int* out) {
  const char* end = text.data() + text.size();
  auto [ptr, ec] = std::from_chars(text.data(), end, *out);
  return ec == std::errc() && ptr == end;
}

}  // namespace

arrow::Result<Shard> Shard::Parse(std::string_view text) {
  const size_t slash = text.find('/');
  Shard shard;
  if (slash == std::string_view::npos || !ParseInt(text.substr(0, slash), &shard.index) ||
      !ParseInt(text.substr(slash + 1), &shard.count)) {
    return arrow::Status::Invalid("shard \"", text, "\": expected K/N, e.g. 0/3");
  }
  if (shard.count < 1 || shard.index < 0 || shard.index >= shard.count) {
    return arrow::Status::Invalid(
        "shard \"", text, "\": needs N >= 1 and 0 <= K < N (shards count from 0)");
  }
  return shard;
}

std::string Shard::ToString() const { return fmt::format("{}/{}", index, count); }

bool PartitionAssigned(const std::string& partition, const Shard& shard, int core,
                       int num_cores) {
  // A compacted partition goes where the partition it supersedes went.
  const uint64_t h = Fnv1a(ShardKeyOf(partition));
  const auto count = static_cast<uint64_t>(shard.count < 1 ? 1 : shard.count);
  if (h % count != static_cast<uint64_t>(shard.index)) return false;
  if (num_cores <= 1) return true;
  return (h / count) % static_cast<uint64_t>(num_cores) == static_cast<uint64_t>(core);
}

CoreAssignment::CoreAssignment(int num_cores)
    : counts_(static_cast<size_t>(std::max(1, num_cores)), 0) {}

void CoreAssignment::AssignNewLocked(const std::vector<std::string>& keys, int lister) {
  std::set<std::string_view> fresh;
  for (const std::string& key : keys) {
    if (!owners_.contains(key)) fresh.insert(key);
  }
  const bool to_lister = lister >= 0 && lister < num_cores();
  for (std::string_view key : fresh) {
    // Least loaded, lowest index on a tie: round-robin while counts are level.
    const auto owner = to_lister ? counts_.begin() + lister
                                 : std::min_element(counts_.begin(), counts_.end());
    owners_.emplace(key, static_cast<int>(owner - counts_.begin()));
    ++*owner;
  }
}

arrow::Status CoreAssignment::FillOnce(const Lister& list,
                                       const std::vector<std::string>& known) {
  std::lock_guard<std::mutex> lock(mutex_);
  if (filled_) return arrow::Status::OK();
  ARROW_ASSIGN_OR_RAISE(const std::vector<std::string> listed, list());
  for (const auto* partitions : {&listed, &known}) {
    std::vector<std::string> keys;
    keys.reserve(partitions->size());
    for (const std::string& partition : *partitions)
      keys.push_back(ShardKeyOf(partition));
    AssignNewLocked(keys);
  }
  filled_ = true;
  return arrow::Status::OK();
}

std::vector<int> CoreAssignment::Assign(const std::vector<std::string>& partitions,
                                        int lister) {
  std::vector<std::string> keys;
  keys.reserve(partitions.size());
  for (const std::string& partition : partitions) keys.push_back(ShardKeyOf(partition));
  std::lock_guard<std::mutex> lock(mutex_);
  AssignNewLocked(keys, lister);
  std::vector<int> owners;
  owners.reserve(keys.size());
  for (const std::string& key : keys) owners.push_back(owners_.find(key)->second);
  return owners;
}

std::optional<int> CoreAssignment::OwnerOf(std::string_view partition) const {
  const std::string key = ShardKeyOf(partition);
  std::lock_guard<std::mutex> lock(mutex_);
  auto it = owners_.find(key);
  if (it == owners_.end()) return std::nullopt;
  return it->second;
}

std::vector<int64_t> CoreAssignment::counts() const {
  std::lock_guard<std::mutex> lock(mutex_);
  return counts_;
}

bool CoreAssignment::filled() const {
  std::lock_guard<std::mutex> lock(mutex_);
  return filled_;
}

}  // namespace otap_parquet::dataset
