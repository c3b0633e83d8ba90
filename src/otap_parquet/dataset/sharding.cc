// SPDX-License-Identifier: Apache-2.0
#include "otap_parquet/dataset/sharding.h"

#include "otap_parquet/dataset/compaction.h"

#include <charconv>
#include <cstdint>

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

}  // namespace otap_parquet::dataset
