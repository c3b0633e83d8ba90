// SPDX-License-Identifier: Apache-2.0
#pragma once

#include <cstddef>
#include <functional>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include <arrow/result.h>

/// \file
/// Directory levels named by values of the data (a resource attribute such as
/// `service.name` or `tenant.id`): escaping, so that no value can name a path
/// outside its level, and the `partitions` selectors of the readers.

namespace otap_parquet::dataset {

/// Value level of records without the attribute (Hive's and Spark's name for null).
inline constexpr char kDefaultPartitionValue[] = "__HIVE_DEFAULT_PARTITION__";

/// Longest escaped value kept whole; longer ones are cut and tagged with a hash.
inline constexpr size_t kMaxEscapedPartitionValue = 128;

/// \brief `value` as one path segment: bytes other than ASCII letters, digits, '-',
/// '_' and '.' become %XX (so '/', NUL, '%', '=', control and non-ASCII bytes, valid
/// UTF-8 or not, never reach the file system as such); the default level's name
/// given as a value gets its first byte escaped. Longer than
/// kMaxEscapedPartitionValue: the first 100 escaped bytes, '~' and 16 hex digits of
/// the value's FNV-1a hash (distinct long values stay apart; '~' is otherwise
/// escaped, so no short value looks like a cut one).
std::string EscapePartitionValue(std::string_view value);

/// \brief Decodes %XX (a cut value keeps its `~hash` tail).
std::string UnescapePartitionValue(std::string_view escaped);

/// \brief The level `<escaped key>=<escaped value>`, or the default level when
/// `value` is nullopt.
std::string PartitionSegment(std::string_view key,
                             const std::optional<std::string>& value);

/// \brief The value levels of a partition path (`<key>=<value>` segments other than
/// `_part_id`, `date` and `hour`), unescaped; the default level's value is nullopt.
std::vector<std::pair<std::string, std::optional<std::string>>> PartitionLevels(
    std::string_view partition_path);

/// \brief One selector of a `partitions` filter: `key=value` with the value as in
/// the data (escaped here as the writer escapes it), e.g. `service.name=checkout`,
/// `tenant.id=acme`, `date=2026-11-01`, `_part_id=<uuid>`; `key=` alone selects the
/// empty value and `key` alone (no '=') the default level of records without it.
class PartitionSelector {
 public:
  static arrow::Result<PartitionSelector> Parse(std::string_view text);
  /// \brief Whether a level of `partition_path` (relative to a table directory) is
  /// this selector's.
  bool Matches(std::string_view partition_path) const;
  const std::string& segment() const { return segment_; }

 private:
  std::string segment_;
};

/// \brief A partition-path predicate keeping paths that any selector matches; all
/// paths when `selectors` is empty. Invalid naming a bad selector.
arrow::Result<std::function<bool(const std::string&)>> MakePartitionsFilter(
    const std::vector<std::string>& selectors);

}  // namespace otap_parquet::dataset
