// SPDX-License-Identifier: Apache-2.0
#include "otap_parquet/dataset/partition_values.h"

#include <cstdint>
#include <memory>
#include <utility>

#include <arrow/status.h>
#include <fmt/format.h>

#include "otap_parquet/dataset/compaction.h"

namespace otap_parquet::dataset {

namespace {

bool Plain(unsigned char c) {
  return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
         c == '-' || c == '_' || c == '.';
}

uint64_t Fnv1a(std::string_view bytes) {
  uint64_t hash = 14695981039346656037ULL;
  for (unsigned char c : bytes) {
    hash ^= c;
    hash *= 1099511628211ULL;
  }
  return hash;
}

int HexValue(char c) {
  if (c >= '0' && c <= '9') return c - '0';
  if (c >= 'A' && c <= 'F') return c - 'A' + 10;
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  return -1;
}

}  // namespace

std::string EscapePartitionValue(std::string_view value) {
  static constexpr char kHex[] = "0123456789ABCDEF";
  std::string out;
  out.reserve(value.size());
  for (size_t i = 0; i < value.size(); ++i) {
    const auto c = static_cast<unsigned char>(value[i]);
    // The default level's name as a real value must not land in the default level.
    const bool marker = i == 0 && value == kDefaultPartitionValue;
    if (Plain(c) && !marker) {
      out.push_back(static_cast<char>(c));
    } else {
      out.push_back('%');
      out.push_back(kHex[c >> 4]);
      out.push_back(kHex[c & 0xF]);
    }
  }
  if (out.size() <= kMaxEscapedPartitionValue) return out;
  size_t cut = 100;
  // Not inside a %XX escape.
  if (out[cut - 1] == '%') {
    cut -= 1;
  } else if (out[cut - 2] == '%') {
    cut -= 2;
  }
  out.resize(cut);
  return fmt::format("{}~{:016x}", out, Fnv1a(value));
}

std::string UnescapePartitionValue(std::string_view escaped) {
  std::string out;
  out.reserve(escaped.size());
  for (size_t i = 0; i < escaped.size(); ++i) {
    if (escaped[i] == '%' && i + 2 < escaped.size()) {
      const int hi = HexValue(escaped[i + 1]);
      const int lo = HexValue(escaped[i + 2]);
      if (hi >= 0 && lo >= 0) {
        out.push_back(static_cast<char>(hi * 16 + lo));
        i += 2;
        continue;
      }
    }
    out.push_back(escaped[i]);
  }
  return out;
}

std::string PartitionSegment(std::string_view key,
                             const std::optional<std::string>& value) {
  return EscapePartitionValue(key) + "=" +
         (value ? EscapePartitionValue(*value) : std::string(kDefaultPartitionValue));
}

std::vector<std::pair<std::string, std::optional<std::string>>> PartitionLevels(
    std::string_view partition_path) {
  std::vector<std::pair<std::string, std::optional<std::string>>> out;
  size_t start = 0;
  while (start < partition_path.size()) {
    size_t end = partition_path.find('/', start);
    if (end == std::string_view::npos) end = partition_path.size();
    const std::string_view segment = partition_path.substr(start, end - start);
    start = end + 1;
    const size_t eq = segment.find('=');
    if (eq == std::string_view::npos) continue;
    const std::string_view key = segment.substr(0, eq);
    if (key == "_part_id" || key == "date" || key == "hour") continue;
    const std::string_view value = segment.substr(eq + 1);
    out.emplace_back(UnescapePartitionValue(key),
                     value == kDefaultPartitionValue
                         ? std::nullopt
                         : std::optional<std::string>(UnescapePartitionValue(value)));
  }
  return out;
}

arrow::Result<PartitionSelector> PartitionSelector::Parse(std::string_view text) {
  const size_t eq = text.find('=');
  const std::string_view key = text.substr(0, eq);
  if (key.empty()) {
    return arrow::Status::Invalid("partition selector '", text,
                                  "': expected key=value, e.g. service.name=checkout");
  }
  PartitionSelector selector;
  if (eq == std::string_view::npos) {
    selector.segment_ = PartitionSegment(key, std::nullopt);
  } else {
    selector.segment_ = PartitionSegment(key, std::string(text.substr(eq + 1)));
  }
  return selector;
}

bool PartitionSelector::Matches(std::string_view partition_path) const {
  size_t start = 0;
  while (start <= partition_path.size()) {
    size_t end = partition_path.find('/', start);
    if (end == std::string_view::npos) end = partition_path.size();
    if (partition_path.substr(start, end - start) == segment_) return true;
    start = end + 1;
  }
  return false;
}

arrow::Result<std::function<bool(const std::string&)>> MakePartitionsFilter(
    const std::vector<std::string>& selectors) {
  auto parsed = std::make_shared<std::vector<PartitionSelector>>();
  for (const auto& text : selectors) {
    ARROW_ASSIGN_OR_RAISE(auto selector, PartitionSelector::Parse(text));
    parsed->push_back(std::move(selector));
  }
  return [parsed](const std::string& path) {
    if (parsed->empty()) return true;
    // A compacted partition is selected as the one it supersedes (`_part_id=X`
    // selects `_part_id=X.c…` too), so a compaction never drops it from a replay.
    const std::string origin = ShardKeyOf(path);
    for (const auto& selector : *parsed) {
      if (selector.Matches(path) || selector.Matches(origin)) return true;
    }
    return false;
  };
}

}  // namespace otap_parquet::dataset
