// SPDX-License-Identifier: Apache-2.0
#pragma once

#include <chrono>
#include <cstdint>
#include <initializer_list>
#include <optional>
#include <set>
#include <string>
#include <string_view>
#include <type_traits>
#include <utility>
#include <vector>

#include <arrow/result.h>
#include <arrow/status.h>
#include <yaml-cpp/yaml.h>

/// \file
/// Typed, strict reading of YAML configuration with every error collected, each
/// naming its YAML path and line ("nodes.pq.config.storge (line 12): unknown key;
/// did you mean \"storage\"?").

namespace otap_parquet::config {

/// \brief One configuration error.
struct ConfigError {
  std::string path;  ///< dotted YAML path, e.g. groups.default.pipelines.main.nodes.x
  int line = 0;      ///< 1-based line in the (substituted) text; 0 = unknown
  std::string message;

  /// \brief `path (line N): message` (without the line part when unknown).
  std::string ToString() const;
};

/// \brief Collects configuration errors. Not thread-safe.
class ConfigErrors {
 public:
  void Add(std::string path, const YAML::Mark& mark, std::string message);
  void Add(std::string path, int line, std::string message);
  /// \brief Appends every error of `other`.
  void Append(const ConfigErrors& other);

  bool empty() const { return errors_.empty(); }
  size_t size() const { return errors_.size(); }
  const std::vector<ConfigError>& errors() const { return errors_; }

  /// \brief OK when empty, else Invalid with
  /// "invalid configuration (N errors):\n  <error>\n  <error>...".
  arrow::Status ToStatus() const;
  /// \brief Every error's ToString(), joined by `separator` (for the one-line
  /// Validate() of settings built in code rather than read from YAML).
  std::string Join(std::string_view separator) const;

 private:
  std::vector<ConfigError> errors_;
};

/// \brief 1-based line of a YAML mark, 0 when unknown.
int LineOf(const YAML::Mark& mark);

/// \brief `base.key` (or `key` when base is empty).
std::string JoinPath(std::string_view base, std::string_view key);

/// \brief The candidate closest to `name` by edit distance, if close enough to be a
/// plausible typo (distance ≤ max(2, |name|/3)).
std::optional<std::string> NearestName(std::string_view name,
                                       const std::vector<std::string>& candidates);

/// \brief Names of an enum's values in config, in the order they are listed in
/// error messages: `{{"fast", Pacing::kFast}, {"original", Pacing::kOriginal}}`.
template <typename E>
using EnumNames = std::initializer_list<std::pair<std::string_view, E>>;

/// \brief Reads one YAML mapping strictly: every getter names a key it knows,
/// Finish() reports the keys nobody asked for, with a did-you-mean suggestion.
///
/// Getters return the value when the key is present and valid, nullopt when it is
/// absent or invalid (then an error is recorded). An explicit null (`key:` or
/// `key: ~`) is an error naming the key, as upstream's serde refuses null for a
/// non-Option field, unless the key was declared with AllowNull() (an Option
/// upstream): then it reads as nullopt. A null or missing node reads as an empty
/// mapping (a node's `config:` left empty); any other non-mapping node is an error.
///
/// Every settings struct reads itself with one shape,
/// `static T Read(ConfigReader& reader)`: it reads its keys from `reader` (its own
/// block), checks the values and their combinations, records each error at its key
/// with reader.Error(), and returns what it read (meaningful only when no error was
/// recorded). The caller owns the block and calls Finish() on it (ParseTyped does
/// for a node's top level), so a struct can share a block with its parent's keys.
class ConfigReader {
 public:
  ConfigReader(YAML::Node node, std::string path, ConfigErrors* errors);

  const std::string& path() const { return path_; }
  const YAML::Node& node() const { return node_; }
  ConfigErrors* errors() const { return errors_; }
  /// \brief Whether the key is present and not null (also marks it known).
  bool Has(std::string_view key);
  /// \brief The raw node of a key (marks it known); undefined if absent.
  YAML::Node Raw(std::string_view key);
  /// \brief Accepts a key without reading it (accepted for compatibility, unused).
  void Ignore(std::string_view key) { known_.insert(std::string(key)); }
  /// \brief Declares keys whose null value means "unset" (an Option upstream):
  /// getters read null as nullopt instead of reporting it. Call before reading them.
  void AllowNull(std::initializer_list<std::string_view> keys) {
    for (auto key : keys) nullable_.insert(std::string(key));
  }
  /// \brief Whether the key is present with an explicit null value.
  bool IsNull(std::string_view key);

  std::optional<std::string> String(std::string_view key);
  std::optional<bool> Bool(std::string_view key);
  /// \brief An integer in [min, max].
  std::optional<int64_t> Int(std::string_view key, int64_t min = INT64_MIN,
                             int64_t max = INT64_MAX);
  std::optional<double> Double(std::string_view key);
  /// \brief One of `names` (exact match), as its enum value; an error lists the
  /// names and suggests the nearest one. `reader.Enum<Mode>("mode", {{"a", Mode::kA},
  /// {"b", Mode::kB}})`.
  template <typename E>
  std::optional<E> Enum(std::string_view key, EnumNames<std::type_identity_t<E>> names) {
    const auto index = EnumIndex(key, NamesOf(names));
    if (!index) return std::nullopt;
    return (names.begin() + *index)->second;
  }
  /// \brief A list of names of `names` (a single name is a one-element list), as
  /// their enum values in order; nullopt when absent or when any item is not one of
  /// `names` (each bad item is an error at `key[i]`, as Enum() words it).
  template <typename E>
  std::optional<std::vector<E>> EnumList(std::string_view key,
                                         EnumNames<std::type_identity_t<E>> names) {
    const auto indices = EnumListIndices(key, NamesOf(names));
    if (!indices) return std::nullopt;
    std::vector<E> values;
    values.reserve(indices->size());
    for (size_t index : *indices) values.push_back((names.begin() + index)->second);
    return values;
  }
  /// \brief Enum(), with `fallback` when the key is absent or invalid.
  template <typename E>
  E Enum(std::string_view key, EnumNames<std::type_identity_t<E>> names, E fallback) {
    return Enum<E>(key, names).value_or(fallback);
  }
  /// \brief A key that has only accepted values and no effect: checks it is one of
  /// `allowed` (same errors as Enum()).
  void Accept(std::string_view key, std::initializer_list<std::string_view> allowed) {
    (void)EnumIndex(key, std::vector<std::string_view>(allowed));
  }
  /// \brief A duration string (config::ParseDuration); `min` is inclusive.
  std::optional<std::chrono::nanoseconds> Duration(
      std::string_view key, std::chrono::nanoseconds min = std::chrono::nanoseconds(0));
  /// \brief An integer or a byte-size string (config::ParseBytes); `min` inclusive.
  std::optional<int64_t> Bytes(std::string_view key, int64_t min = 0);
  /// \brief A list of strings; a single string is accepted as a one-element list.
  std::optional<std::vector<std::string>> StringList(std::string_view key);
  /// \brief A nested mapping (marks the key known); empty reader if absent.
  ConfigReader Child(std::string_view key);
  /// \brief The optional block `key`, read by `T::Read` and Finished; nullopt when
  /// absent or null.
  template <typename T>
  std::optional<T> Block(std::string_view key) {
    if (!Has(key)) return std::nullopt;
    ConfigReader block = Child(key);
    T value = T::Read(block);
    block.Finish();
    return value;
  }
  /// \brief A list of mappings (marks the key known): one reader per item, with
  /// path `key[i]`; empty if absent; an error if not a list. The caller Finishes
  /// each item.
  std::vector<ConfigReader> Items(std::string_view key);

  /// \brief Records an error at `key` (at the mapping itself when key is empty).
  /// `key` may be a path below this mapping ("s3.base_uri", "columns[2]"): the
  /// error gets the line of the deepest part of it that exists.
  void Error(std::string_view key, std::string message);

  /// \brief Reports unknown keys (once; later calls do nothing).
  void Finish();

 private:
  YAML::Node Get(std::string_view key);
  /// Get(key) for a typed getter: an undefined node when absent or null, with an
  /// error for a null the key does not allow.
  YAML::Node GetValue(std::string_view key);
  YAML::Mark MarkOf(std::string_view key) const;
  template <typename E>
  static std::vector<std::string_view> NamesOf(EnumNames<E> names) {
    std::vector<std::string_view> keys;
    keys.reserve(names.size());
    for (const auto& entry : names) keys.push_back(entry.first);
    return keys;
  }
  /// Index of the value of `key` in `names`; nullopt (with an error) if it is none.
  std::optional<size_t> EnumIndex(std::string_view key,
                                  const std::vector<std::string_view>& names);
  /// EnumIndex() of every item of the list at `key`.
  std::optional<std::vector<size_t>> EnumListIndices(
      std::string_view key, const std::vector<std::string_view>& names);
  /// Index of `value` in `names`; nullopt with an error at `key` if it is none.
  std::optional<size_t> NameIndex(std::string_view key, const std::string& value,
                                  const std::vector<std::string_view>& names);

  YAML::Node node_;
  std::string path_;
  ConfigErrors* errors_;
  std::set<std::string> known_;
  std::set<std::string> nullable_;
  bool finished_ = false;
};

/// \brief Parses a YAML document, converting yaml-cpp exceptions (the one seam)
/// into Invalid naming `source` and the line.
arrow::Result<YAML::Node> LoadYaml(const std::string& text, const std::string& source);

/// \brief Scalar text of a node for messages: the scalar, or "<map>"/"<list>".
std::string Describe(const YAML::Node& node);

/// \brief Parses a node's typed configuration with `T::Read(ConfigReader&)`
/// (`static arrow::Result<T>`-free style: Read records errors, returns the value),
/// then Invalid listing every error, each prefixed with `path`.
template <typename T>
arrow::Result<T> ParseTyped(const YAML::Node& node, const std::string& path) {
  ConfigErrors errors;
  ConfigReader reader(node, path, &errors);
  T value = T::Read(reader);
  reader.Finish();
  if (!errors.empty()) return errors.ToStatus();
  return value;
}

/// \brief Validation function for node factories: reads `T` and keeps only the
/// errors.
template <typename T>
void ValidateTyped(const YAML::Node& node, const std::string& path,
                   ConfigErrors* errors) {
  ConfigReader reader(node, path, errors);
  (void)T::Read(reader);
  reader.Finish();
}

}  // namespace otap_parquet::config
