// SPDX-License-Identifier: Apache-2.0
#include "otap_parquet/nodes/exporters/parquet/config.h"

#include <string>
#include <string_view>
#include <utility>

namespace otap_parquet::nodes {

namespace {

constexpr std::string_view kMaxPending = "max_pending_batches";
constexpr std::string_view kWal = "wal";
constexpr std::string_view kRetention = "retention";

}  // namespace

ParquetWalConfig ParquetWalConfig::Read(config::ConfigReader& reader) {
  ParquetWalConfig c;
  if (auto v = reader.Bool("enabled")) c.enabled = *v;
  if (auto v = reader.String("path")) c.path = *v;
  if (auto v = reader.Bytes("max_size", 1)) c.max_size = *v;
  if (auto v = reader.Bytes("segment_size", 1)) c.segment_size = *v;
  if (c.segment_size > c.max_size) {
    reader.Error("segment_size", "must be <= max_size (" + std::to_string(c.max_size) +
                                     " bytes), got " + std::to_string(c.segment_size));
  }
  return c;
}

ParquetRetentionConfig ParquetRetentionConfig::Read(config::ConfigReader& reader) {
  using std::chrono::duration_cast;
  using std::chrono::milliseconds;
  ParquetRetentionConfig c;
  if (auto v = reader.Duration("max_age", std::chrono::seconds(1))) {
    c.max_age = duration_cast<milliseconds>(*v);
  } else if (!reader.Has("max_age")) {
    reader.Error("", "missing required key \"max_age\" (e.g. 720h)");
  }
  if (auto v = reader.Duration("interval", std::chrono::seconds(1))) {
    c.interval = duration_cast<milliseconds>(*v);
  }
  if (auto v = reader.StringList("checkpoints")) c.checkpoints = *v;
  return c;
}

ParquetExporterNodeConfig ParquetExporterNodeConfig::Read(config::ConfigReader& reader) {
  ParquetExporterNodeConfig c;
  if (auto v = reader.Int(kMaxPending, 1)) c.max_pending_batches = *v;
  const bool has_wal = reader.Has(kWal);
  {
    config::ConfigReader wal = reader.Child(kWal);
    c.wal = ParquetWalConfig::Read(wal);
    wal.Finish();
  }
  if (reader.Has(kRetention)) {
    config::ConfigReader retention = reader.Child(kRetention);
    c.retention = ParquetRetentionConfig::Read(retention);
    retention.Finish();
  }
  // Upstream's keys share the block with ours; ParseTyped Finishes it.
  c.dataset = dataset::ParquetExporterConfig::Read(reader);
  if (has_wal && c.wal.enabled && c.wal.path.empty() &&
      c.dataset.storage.kind != dataset::StorageKind::kFile) {
    reader.Error("wal.path",
                 "required with an object-store dataset (the write-ahead log is local)");
  }
  return c;
}

}  // namespace otap_parquet::nodes
