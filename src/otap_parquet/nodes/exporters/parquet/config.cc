// SPDX-License-Identifier: Apache-2.0
#include "otap_parquet/nodes/exporters/parquet/config.h"

#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace otap_parquet::nodes {

namespace {

constexpr std::string_view kMaxPending = "max_pending_batches";
constexpr std::string_view kWal = "wal";
constexpr std::string_view kRetention = "retention";

// The YAML node at a dotted error path below `root` ("writer_options.x",
// "partitioning_strategies[0].event_time"), or the deepest ancestor that exists.
YAML::Mark MarkOf(const YAML::Node& root, std::string_view relative) {
  YAML::Node current = root;
  YAML::Mark mark = root.Mark();
  auto descend = [&](const YAML::Node& next) {
    if (!next.IsDefined()) return false;
    current.reset(next);  // rebind; operator= would write through
    mark = next.Mark();
    return true;
  };
  size_t pos = 0;
  while (pos < relative.size() && current.IsDefined()) {
    size_t end = relative.find_first_of(".[", pos);
    if (end == std::string_view::npos) end = relative.size();
    if (end > pos) {
      const std::string key(relative.substr(pos, end - pos));
      if (!current.IsMap() || !descend(current[key])) break;
    }
    pos = end;
    while (pos < relative.size() && relative[pos] == '[') {
      const size_t close = relative.find(']', pos);
      if (close == std::string_view::npos) return mark;
      const std::string index(relative.substr(pos + 1, close - pos - 1));
      if (!current.IsSequence()) return mark;
      const size_t i = std::stoul(index);
      if (i >= current.size() || !descend(current[i])) return mark;
      pos = close + 1;
    }
    if (pos < relative.size() && relative[pos] == '.') ++pos;
  }
  return mark;
}

// Records ParseParquetExporterConfig's errors, each at the YAML line of its key.
void RecordErrors(const arrow::Status& status, const YAML::Node& root,
                  const std::string& base, config::ConfigErrors* errors) {
  for (auto& error : dataset::SplitConfigErrors(status.message())) {
    if (error.path.empty()) {
      errors->Add(base, root.Mark(), std::move(error.message));
      continue;
    }
    std::string_view relative = error.path;
    if (!base.empty() && relative.starts_with(base)) {
      relative.remove_prefix(base.size());
      if (!relative.empty() && relative.front() == '.') relative.remove_prefix(1);
    }
    const auto mark = MarkOf(root, relative);
    errors->Add(std::move(error.path), mark, std::move(error.message));
  }
}

}  // namespace

ParquetExporterNodeConfig ParquetExporterNodeConfig::Read(config::ConfigReader& reader) {
  ParquetExporterNodeConfig c;
  if (auto v = reader.Int(kMaxPending, 1)) c.max_pending_batches = *v;
  const bool has_wal = reader.Has(kWal);
  {
    config::ConfigReader wal = reader.Child(kWal);
    if (auto v = wal.Bool("enabled")) c.wal.enabled = *v;
    if (auto v = wal.String("path")) c.wal.path = *v;
    if (auto v = wal.Bytes("max_size", 1)) c.wal.max_size = *v;
    if (auto v = wal.Bytes("segment_size", 1)) c.wal.segment_size = *v;
    if (c.wal.segment_size > c.wal.max_size) {
      wal.Error("segment_size", "must be <= max_size (" + std::to_string(c.wal.max_size) +
                                    " bytes), got " + std::to_string(c.wal.segment_size));
    }
    wal.Finish();
  }
  if (reader.Has(kRetention)) {
    config::ConfigReader retention = reader.Child(kRetention);
    ParquetRetentionConfig r;
    using std::chrono::duration_cast;
    using std::chrono::milliseconds;
    if (auto v = retention.Duration("max_age", std::chrono::seconds(1))) {
      r.max_age = duration_cast<milliseconds>(*v);
    } else if (!retention.Has("max_age")) {
      retention.Error("", "missing required key \"max_age\" (e.g. 720h)");
    }
    if (auto v = retention.Duration("interval", std::chrono::seconds(1))) {
      r.interval = duration_cast<milliseconds>(*v);
    }
    if (auto v = retention.StringList("checkpoints")) r.checkpoints = *v;
    retention.Finish();
    c.retention = std::move(r);
  }
  // Note: YAML::Node's operator= writes through to the referenced node, so the
  // copy without our key is a fresh clone, never assigned over reader.node().
  const YAML::Node& original = reader.node();
  YAML::Node rest = original.IsMap() ? YAML::Clone(original) : YAML::Node();
  if (original.IsMap()) {
    // ParseParquetExporterConfig checks the other keys itself (with suggestions).
    rest.remove(std::string(kMaxPending));
    rest.remove(std::string(kWal));
    rest.remove(std::string(kRetention));
    for (const auto& entry : original) reader.Ignore(entry.first.Scalar());
  } else if (original.IsDefined() && !original.IsNull()) {
    // Not a mapping: ConfigReader already recorded it.
    return c;
  }
  auto parsed = dataset::ParseParquetExporterConfig(rest, reader.path());
  if (parsed.ok()) {
    c.dataset = std::move(*parsed);
    if (has_wal && c.wal.enabled && c.wal.path.empty() &&
        c.dataset.storage.kind != dataset::StorageKind::kFile) {
      reader.Child(kWal).Error(
          "path", "required with an object-store dataset (the write-ahead log is local)");
    }
  } else {
    RecordErrors(parsed.status(), reader.node(), reader.path(), reader.errors());
  }
  return c;
}

}  // namespace otap_parquet::nodes
