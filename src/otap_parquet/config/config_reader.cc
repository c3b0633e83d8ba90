// SPDX-License-Identifier: Apache-2.0
#include "otap_parquet/config/config_reader.h"

#include <algorithm>
#include <cmath>
#include <utility>

#include <fmt/format.h>

#include "otap_parquet/config/units.h"

namespace otap_parquet::config {

namespace {

size_t EditDistance(std::string_view a, std::string_view b) {
  std::vector<size_t> prev(b.size() + 1), cur(b.size() + 1);
  for (size_t j = 0; j <= b.size(); ++j) prev[j] = j;
  for (size_t i = 1; i <= a.size(); ++i) {
    cur[0] = i;
    for (size_t j = 1; j <= b.size(); ++j) {
      const size_t sub = prev[j - 1] + (a[i - 1] == b[j - 1] ? 0 : 1);
      cur[j] = std::min({prev[j] + 1, cur[j - 1] + 1, sub});
    }
    std::swap(prev, cur);
  }
  return prev[b.size()];
}

bool IsNullish(const YAML::Node& node) { return !node.IsDefined() || node.IsNull(); }

}  // namespace

std::string ConfigError::ToString() const {
  if (line > 0) return fmt::format("{} (line {}): {}", path, line, message);
  if (path.empty()) return message;
  return fmt::format("{}: {}", path, message);
}

void ConfigErrors::Add(std::string path, const YAML::Mark& mark, std::string message) {
  Add(std::move(path), LineOf(mark), std::move(message));
}

void ConfigErrors::Add(std::string path, int line, std::string message) {
  errors_.push_back({std::move(path), line, std::move(message)});
}

void ConfigErrors::Append(const ConfigErrors& other) {
  errors_.insert(errors_.end(), other.errors_.begin(), other.errors_.end());
}

arrow::Status ConfigErrors::ToStatus() const {
  if (errors_.empty()) return arrow::Status::OK();
  std::string message = fmt::format("invalid configuration ({} error{}):", errors_.size(),
                                    errors_.size() == 1 ? "" : "s");
  for (const auto& error : errors_) message += "\n  " + error.ToString();
  return arrow::Status::Invalid(message);
}

std::string ConfigErrors::Join(std::string_view separator) const {
  std::string out;
  for (const auto& error : errors_) {
    if (!out.empty()) out += separator;
    out += error.ToString();
  }
  return out;
}

int LineOf(const YAML::Mark& mark) { return mark.line >= 0 ? mark.line + 1 : 0; }

std::string JoinPath(std::string_view base, std::string_view key) {
  if (base.empty()) return std::string(key);
  return fmt::format("{}.{}", base, key);
}

std::optional<std::string> NearestName(std::string_view name,
                                       const std::vector<std::string>& candidates) {
  std::optional<std::string> best;
  size_t best_distance = std::max<size_t>(2, name.size() / 3) + 1;
  for (const auto& candidate : candidates) {
    const size_t d = EditDistance(name, candidate);
    if (d < best_distance) {
      best_distance = d;
      best = candidate;
    }
  }
  return best;
}

std::string Describe(const YAML::Node& node) {
  if (!node.IsDefined() || node.IsNull()) return "null";
  if (node.IsScalar()) return node.Scalar();
  if (node.IsSequence()) return "<list>";
  return "<map>";
}

ConfigReader::ConfigReader(YAML::Node node, std::string path, ConfigErrors* errors)
    : node_(std::move(node)), path_(std::move(path)), errors_(errors) {
  if (!IsNullish(node_) && !node_.IsMap()) {
    errors_->Add(path_, node_.Mark(),
                 fmt::format("expected a mapping, got {}", Describe(node_)));
    node_.reset(YAML::Node());  // rebinds; operator= would write into the tree
  }
}

YAML::Mark ConfigReader::MarkOf(std::string_view key) const {
  if (!node_.IsMap()) return YAML::Mark::null_mark();
  // The key itself first (keys may hold dots), then `key` as a path: `a.b[2].c`.
  for (auto it = node_.begin(); it != node_.end(); ++it) {
    if (it->first.IsScalar() && it->first.Scalar() == key) return it->first.Mark();
  }
  YAML::Node current;
  current.reset(node_);  // rebinds; operator= would write into the tree
  YAML::Mark mark = node_.Mark();
  size_t pos = 0;
  while (pos < key.size()) {
    size_t end = key.find_first_of(".[", pos);
    if (end == std::string_view::npos) end = key.size();
    if (end > pos) {
      if (!current.IsMap()) return mark;
      const std::string_view part = key.substr(pos, end - pos);
      bool found = false;
      for (auto it = current.begin(); it != current.end(); ++it) {
        if (it->first.IsScalar() && it->first.Scalar() == part) {
          mark = it->first.Mark();
          current.reset(it->second);
          found = true;
          break;
        }
      }
      if (!found) return mark;
    }
    pos = end;
    if (pos < key.size() && key[pos] == '[') {
      const size_t close = key.find(']', pos);
      if (close == std::string_view::npos || !current.IsSequence()) return mark;
      size_t index = 0;
      for (size_t i = pos + 1; i < close; ++i) {
        if (key[i] < '0' || key[i] > '9') return mark;
        index = index * 10 + static_cast<size_t>(key[i] - '0');
      }
      if (index >= current.size()) return mark;
      const YAML::Node& sequence = current;
      current.reset(sequence[index]);
      mark = current.Mark();
      pos = close + 1;
    }
    if (pos < key.size() && key[pos] == '.') ++pos;
  }
  return mark;
}

YAML::Node ConfigReader::Get(std::string_view key) {
  known_.insert(std::string(key));
  if (!node_.IsMap()) return YAML::Node(YAML::NodeType::Undefined);
  const YAML::Node& self = node_;
  YAML::Node value = self[std::string(key)];
  // A missing key gives an *invalid* node on which most calls throw; hand out a
  // valid undefined node instead.
  if (!value.IsDefined()) return YAML::Node(YAML::NodeType::Undefined);
  return value;
}

YAML::Node ConfigReader::GetValue(std::string_view key) {
  YAML::Node n = Get(key);
  if (n.IsDefined() && n.IsNull()) {
    // Upstream's serde refuses null for a non-Option field; a silent fallback to
    // the default hid a value the user meant to set.
    if (!nullable_.count(std::string(key))) {
      Error(key, "must not be null (omit the key to use the default)");
    }
    return YAML::Node(YAML::NodeType::Undefined);
  }
  return n;
}

bool ConfigReader::Has(std::string_view key) { return !IsNullish(Get(key)); }

bool ConfigReader::IsNull(std::string_view key) {
  const YAML::Node n = Get(key);
  return n.IsDefined() && n.IsNull();
}

YAML::Node ConfigReader::Raw(std::string_view key) { return Get(key); }

void ConfigReader::Error(std::string_view key, std::string message) {
  if (key.empty()) {
    errors_->Add(path_, node_.IsDefined() ? node_.Mark() : YAML::Mark::null_mark(),
                 std::move(message));
  } else {
    errors_->Add(JoinPath(path_, key), MarkOf(key), std::move(message));
  }
}

std::optional<std::string> ConfigReader::String(std::string_view key) {
  const YAML::Node n = GetValue(key);
  if (IsNullish(n)) return std::nullopt;
  if (!n.IsScalar()) {
    Error(key, fmt::format("expected a string, got {}", Describe(n)));
    return std::nullopt;
  }
  return n.Scalar();
}

std::optional<bool> ConfigReader::Bool(std::string_view key) {
  const YAML::Node n = GetValue(key);
  if (IsNullish(n)) return std::nullopt;
  if (n.IsScalar()) {
    const std::string& s = n.Scalar();
    if (s == "true" || s == "True" || s == "TRUE") return true;
    if (s == "false" || s == "False" || s == "FALSE") return false;
  }
  Error(key, fmt::format("expected true or false, got {}", Describe(n)));
  return std::nullopt;
}

std::optional<int64_t> ConfigReader::Int(std::string_view key, int64_t min, int64_t max) {
  const YAML::Node n = GetValue(key);
  if (IsNullish(n)) return std::nullopt;
  int64_t value = 0;
  bool ok = false;
  if (n.IsScalar()) {
    const std::string& s = n.Scalar();
    std::string digits = s;
    digits.erase(std::remove(digits.begin(), digits.end(), '_'), digits.end());
    try {
      size_t used = 0;
      value = std::stoll(digits, &used, 10);
      ok = used == digits.size() && !digits.empty();
    } catch (const std::exception&) {
      ok = false;
    }
  }
  if (!ok) {
    Error(key, fmt::format("expected an integer, got {}", Describe(n)));
    return std::nullopt;
  }
  if (value < min) {
    Error(key, min == 1 ? fmt::format("must be > 0, got {}", value)
                        : fmt::format("must be >= {}, got {}", min, value));
    return std::nullopt;
  }
  if (value > max) {
    Error(key, fmt::format("must be <= {}, got {}", max, value));
    return std::nullopt;
  }
  return value;
}

std::optional<double> ConfigReader::Double(std::string_view key) {
  const YAML::Node n = GetValue(key);
  if (IsNullish(n)) return std::nullopt;
  // Decimal only: strtod also reads "nan", "inf" and hex, and a NaN passes every
  // range check written as `v < min`.
  const std::string s = n.IsScalar() ? n.Scalar() : std::string();
  if (!s.empty() && s.find_first_not_of("0123456789+-.eE") == std::string::npos) {
    try {
      size_t used = 0;
      const double value = std::stod(s, &used);
      if (used == s.size() && std::isfinite(value)) return value;
    } catch (const std::exception&) {
    }
  }
  Error(key, fmt::format("expected a number, got {}", Describe(n)));
  return std::nullopt;
}

std::optional<size_t> ConfigReader::NameIndex(
    std::string_view key, const std::string& value,
    const std::vector<std::string_view>& names) {
  for (size_t i = 0; i < names.size(); ++i) {
    if (names[i] == value) return i;
  }
  std::string message =
      fmt::format("must be one of {}, got \"{}\"", fmt::join(names, ", "), value);
  if (auto near =
          NearestName(value, std::vector<std::string>(names.begin(), names.end()))) {
    message += fmt::format("; did you mean \"{}\"?", *near);
  }
  Error(key, std::move(message));
  return std::nullopt;
}

std::optional<size_t> ConfigReader::EnumIndex(
    std::string_view key, const std::vector<std::string_view>& names) {
  auto value = String(key);
  if (!value) return std::nullopt;
  return NameIndex(key, *value, names);
}

std::optional<std::vector<size_t>> ConfigReader::EnumListIndices(
    std::string_view key, const std::vector<std::string_view>& names) {
  auto values = StringList(key);
  if (!values) return std::nullopt;
  // Each bad item at its own path (and line); a lone name at the key.
  const bool is_list = Get(key).IsSequence();
  std::vector<size_t> indices;
  bool ok = true;
  for (size_t i = 0; i < values->size(); ++i) {
    const std::string item_key =
        is_list ? fmt::format("{}[{}]", key, i) : std::string(key);
    if (auto index = NameIndex(item_key, (*values)[i], names)) {
      indices.push_back(*index);
    } else {
      ok = false;
    }
  }
  if (!ok) return std::nullopt;
  return indices;
}

std::optional<std::chrono::nanoseconds> ConfigReader::Duration(
    std::string_view key, std::chrono::nanoseconds min) {
  auto text = String(key);
  if (!text) return std::nullopt;
  auto parsed = ParseDuration(*text);
  if (!parsed.ok()) {
    Error(key, parsed.status().message());
    return std::nullopt;
  }
  if (*parsed < min) {
    Error(key, min.count() == 0 || min.count() == 1
                   ? fmt::format("must be > 0, got \"{}\"", *text)
                   : fmt::format("must be at least {}, got \"{}\"", FormatDuration(min),
                                 *text));
    return std::nullopt;
  }
  return *parsed;
}

std::optional<int64_t> ConfigReader::Bytes(std::string_view key, int64_t min) {
  auto text = String(key);
  if (!text) return std::nullopt;
  auto parsed = ParseBytes(*text);
  if (!parsed.ok()) {
    Error(key, parsed.status().message());
    return std::nullopt;
  }
  if (*parsed < min) {
    Error(key, min == 1 ? fmt::format("must be > 0, got {}", *text)
                        : fmt::format("must be >= {} bytes, got {}", min, *text));
    return std::nullopt;
  }
  return *parsed;
}

std::optional<std::vector<std::string>> ConfigReader::StringList(std::string_view key) {
  const YAML::Node n = GetValue(key);
  if (IsNullish(n)) return std::nullopt;
  std::vector<std::string> out;
  if (n.IsScalar()) {
    out.push_back(n.Scalar());
    return out;
  }
  if (n.IsSequence()) {
    for (const auto& item : n) {
      if (!item.IsScalar()) {
        Error(key, fmt::format("expected a list of strings, found {}", Describe(item)));
        return std::nullopt;
      }
      out.push_back(item.Scalar());
    }
    return out;
  }
  Error(key, "expected a list of strings, got a mapping");
  return std::nullopt;
}

ConfigReader ConfigReader::Child(std::string_view key) {
  return ConfigReader(Get(key), JoinPath(path_, key), errors_);
}

std::vector<ConfigReader> ConfigReader::Items(std::string_view key) {
  std::vector<ConfigReader> items;
  const YAML::Node n = Get(key);
  if (IsNullish(n)) return items;
  if (!n.IsSequence()) {
    Error(key, fmt::format("expected a list, got {}", Describe(n)));
    return items;
  }
  const std::string path = JoinPath(path_, key);
  for (size_t i = 0; i < n.size(); ++i) {
    items.emplace_back(n[i], fmt::format("{}[{}]", path, i), errors_);
  }
  return items;
}

void ConfigReader::Finish() {
  if (finished_) return;
  finished_ = true;
  if (!node_.IsMap()) return;
  std::vector<std::string> known(known_.begin(), known_.end());
  for (auto it = node_.begin(); it != node_.end(); ++it) {
    const std::string key = it->first.IsScalar() ? it->first.Scalar() : "<complex key>";
    if (known_.count(key)) continue;
    std::string message = "unknown key";
    if (auto near = NearestName(key, known)) {
      message += fmt::format("; did you mean \"{}\"?", *near);
    } else if (!known.empty()) {
      message += fmt::format("; expected one of {}", fmt::join(known, ", "));
    }
    errors_->Add(JoinPath(path_, key), it->first.Mark(), std::move(message));
  }
}

arrow::Result<YAML::Node> LoadYaml(const std::string& text, const std::string& source) {
  try {
    return YAML::Load(text);
  } catch (const YAML::Exception& e) {
    return arrow::Status::Invalid("invalid configuration: ", source, " (line ",
                                  LineOf(e.mark), "): YAML syntax error: ", e.msg);
  } catch (const std::exception& e) {
    return arrow::Status::Invalid("invalid configuration: ", source, ": ", e.what());
  }
}

}  // namespace otap_parquet::config
