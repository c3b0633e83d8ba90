// SPDX-License-Identifier: Apache-2.0
#include "otap_parquet/config/strict_yaml.h"

#include <map>
#include <set>
#include <utility>
#include <vector>

#include <fmt/format.h>

#include "otap_parquet/config/units.h"

namespace otap_parquet::config {

void ReportDuplicateKeys(const YAML::Node& node, const std::string& path,
                         ConfigErrors* errors) {
  // Iterative (no recursion on deep documents); a collection reached again through
  // an alias has the same start mark and is walked once (no alias blow-up).
  std::set<int> visited;
  std::vector<std::pair<YAML::Node, std::string>> pending;
  pending.emplace_back(node, path);
  while (!pending.empty()) {
    auto [current, at] = std::move(pending.back());
    pending.pop_back();
    if (!current.IsMap() && !current.IsSequence()) continue;
    if (current.Mark().pos >= 0 && !visited.insert(current.Mark().pos).second) continue;
    std::vector<std::pair<YAML::Node, std::string>> children;
    if (current.IsSequence()) {
      for (size_t i = 0; i < current.size(); ++i) {
        const YAML::Node& sequence = current;
        children.emplace_back(sequence[i], fmt::format("{}[{}]", at, i));
      }
    } else {
      std::map<std::string, int> first_line;
      for (auto it = current.begin(); it != current.end(); ++it) {
        if (!it->first.IsScalar()) continue;
        const std::string key_path = JoinPath(at, it->first.Scalar());
        const int line = LineOf(it->first.Mark());
        auto [seen, inserted] = first_line.emplace(it->first.Scalar(), line);
        if (!inserted) {
          errors->Add(key_path, line,
                      fmt::format("duplicate key (first at line {})", seen->second));
        }
        children.emplace_back(it->second, key_path);
      }
    }
    // Reversed onto the stack: errors come out in document order.
    for (auto it = children.rbegin(); it != children.rend(); ++it) {
      pending.push_back(std::move(*it));
    }
  }
}

std::optional<std::chrono::milliseconds> ReadMillis(ConfigReader& reader,
                                                    std::string_view key) {
  auto value = reader.Duration(key);
  if (!value) return std::nullopt;
  if (value->count() > 0 && *value < std::chrono::milliseconds(1)) {
    reader.Error(key,
                 fmt::format("must be 0 or at least 1ms (whole milliseconds), got \"{}\"",
                             FormatDuration(*value)));
    return std::nullopt;
  }
  return std::chrono::duration_cast<std::chrono::milliseconds>(*value);
}

}  // namespace otap_parquet::config
