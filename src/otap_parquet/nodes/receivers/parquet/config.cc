// SPDX-License-Identifier: Apache-2.0
#include "otap_parquet/nodes/receivers/parquet/config.h"

#include <algorithm>
#include <string>
#include <string_view>
#include <utility>

#include <fmt/format.h>

#include "otap_parquet/config/strict_yaml.h"
#include "otap_parquet/config/time_bound.h"
#include "otap_parquet/dataset/partition_values.h"

namespace otap_parquet::nodes {

namespace {

std::optional<int64_t> ReadTimeBound(config::ConfigReader& reader, std::string_view key) {
  auto text = reader.String(key);
  if (!text) return std::nullopt;
  auto bound = config::ParseTimeBound(*text);
  if (!bound.ok()) {
    reader.Error(key, fmt::format("expected RFC 3339 UTC time or Unix nanoseconds, got "
                                  "\"{}\"",
                                  *text));
    return std::nullopt;
  }
  return *bound;
}

}  // namespace

ParquetReceiverConfig::Checkpoint ParquetReceiverConfig::Checkpoint::Read(
    config::ConfigReader& reader) {
  Checkpoint c;
  if (auto v = reader.String("path")) c.path = *v;
  if (auto v = reader.String("object")) c.object = *v;
  if (c.path.empty() == c.object.empty()) {
    reader.Error("",
                 "give exactly one of \"path\" (a file or URI) and \"object\" (a "
                 "name next to the dataset)");
  }
  if (!c.object.empty() &&
      (c.object.front() == '/' || c.object.find("..") != std::string::npos ||
       c.object.find("://") != std::string::npos)) {
    reader.Error("object",
                 "must be a relative name inside the dataset (no '/' first, no "
                 "'..', no scheme)");
  }
  if (auto v = config::ReadMillis(reader, "interval")) c.interval = *v;
  if (auto v = reader.Int("max_batches", 1, 1'000'000)) c.max_batches = *v;
  return c;
}

ParquetReceiverConfig::Retry ParquetReceiverConfig::Retry::Read(
    config::ConfigReader& reader) {
  Retry c;
  if (auto v = reader.Int("max_retries", 0, 1000)) c.max_retries = *v;
  if (auto v = reader.Duration("init_backoff", std::chrono::milliseconds(1))) {
    c.init_backoff = std::chrono::duration_cast<std::chrono::milliseconds>(*v);
  }
  if (auto v = reader.Duration("max_backoff", std::chrono::milliseconds(1))) {
    c.max_backoff = std::chrono::duration_cast<std::chrono::milliseconds>(*v);
  }
  if (c.max_backoff < c.init_backoff) {
    reader.Error("max_backoff", "must not be shorter than init_backoff");
  }
  return c;
}

ParquetReceiverConfig::ProcessingOptions ParquetReceiverConfig::ProcessingOptions::Read(
    config::ConfigReader& reader) {
  ProcessingOptions c;
  if (auto v = reader.Int("batch_size", 1, 65535)) c.batch_size = *v;
  if (auto v = config::ReadMillis(reader, "min_file_age")) c.min_file_age = *v;
  if (auto v = reader.Bool("validate_relations")) c.validate_relations = *v;
  if (auto v = config::ReadMillis(reader, "orphan_grace_period"))
    c.orphan_grace_period = *v;
  if (c.orphan_grace_period < c.min_file_age) {
    // A root file younger than min_file_age is not listed yet: its children must
    // wait at least as long.
    reader.Error("orphan_grace_period", "must not be shorter than min_file_age");
  }
  return c;
}

ParquetReceiverConfig::TimeRangeConfig ParquetReceiverConfig::TimeRangeConfig::Read(
    config::ConfigReader& reader) {
  TimeRangeConfig c;
  if (auto v = ReadTimeBound(reader, "start")) c.start_unix_nano = *v;
  if (auto v = ReadTimeBound(reader, "end")) c.end_unix_nano = *v;
  if (c.start_unix_nano >= c.end_unix_nano) {
    reader.Error("", fmt::format("start must be before end (start {} ns, end {} ns)",
                                 c.start_unix_nano, c.end_unix_nano));
  }
  return c;
}

ParquetReceiverConfig::ShardConfig ParquetReceiverConfig::ShardConfig::Read(
    config::ConfigReader& reader) {
  ShardConfig c;
  auto count = reader.Int("count", 1, 1 << 16);
  auto index = reader.Int("index", 0, 1 << 16);
  if (!reader.Has("count")) reader.Error("", "missing required key \"count\"");
  if (!reader.Has("index")) reader.Error("", "missing required key \"index\"");
  if (count && index) {
    if (*index >= *count) {
      reader.Error("index", fmt::format("must be less than count (shards count from 0), "
                                        "got index {} of count {}",
                                        *index, *count));
    } else {
      c.index = static_cast<int>(*index);
      c.count = static_cast<int>(*count);
    }
  }
  return c;
}

ParquetReceiverConfig ParquetReceiverConfig::Read(config::ConfigReader& reader) {
  ParquetReceiverConfig c;
  const bool has_uri = reader.Has("base_uri");
  const bool has_storage = reader.Has("storage");
  if (has_uri && has_storage) {
    reader.Error("storage", "give either base_uri or storage, not both");
  } else if (!has_uri && !has_storage) {
    reader.Error("", "missing required key \"base_uri\" (or \"storage\")");
  }
  if (auto uri = reader.String("base_uri")) {
    if (uri->empty()) {
      reader.Error("base_uri", "must not be empty");
    } else if (auto storage = dataset::StorageConfigFromUri(*uri); storage.ok()) {
      c.storage = std::move(*storage);
    } else {
      reader.Error("base_uri", storage.status().message());
    }
  }
  if (has_storage) {
    reader.Ignore("storage");
    if (!has_uri) {
      // The shape of exporter:parquet's `storage` block, read by the same code.
      config::ConfigReader storage = reader.Child("storage");
      c.storage = dataset::StorageConfig::Read(storage);
      storage.Finish();
    }
  }
  if (auto names = reader.StringList("signal_types")) {
    c.signals.clear();
    for (const auto& name : *names) {
      auto signal = SignalFromName(name);
      if (!signal) {
        reader.Error("signal_types",
                     fmt::format("unknown signal \"{}\" (logs, traces, metrics)", name));
      } else if (std::find(c.signals.begin(), c.signals.end(), *signal) ==
                 c.signals.end()) {
        c.signals.push_back(*signal);
      }
    }
    if (names->empty()) reader.Error("signal_types", "must name at least one signal");
  }
  if (auto v = reader.Duration("polling_interval")) c.polling_interval = *v;
  if (auto v = reader.Enum<Watch>("watch", {{"auto", Watch::kAuto},
                                            {"inotify", Watch::kInotify},
                                            {"poll", Watch::kPoll}})) {
    c.watch = *v;
    if (c.watch == Watch::kInotify && c.storage.kind != dataset::StorageKind::kFile) {
      reader.Error("watch",
                   "inotify watches local datasets only; use auto (polls object "
                   "stores) or poll");
    }
  }
  if (reader.Has("processing_options")) {
    config::ConfigReader options = reader.Child("processing_options");
    c.processing = ProcessingOptions::Read(options);
    options.Finish();
  }
  if (reader.Has("time_range")) {
    config::ConfigReader range = reader.Child("time_range");
    c.time_range = TimeRangeConfig::Read(range);
    range.Finish();
  }
  if (reader.Has("checkpoint")) {
    config::ConfigReader checkpoint = reader.Child("checkpoint");
    c.checkpoint = Checkpoint::Read(checkpoint);
    checkpoint.Finish();
  }
  if (reader.Has("retry")) {
    config::ConfigReader retry = reader.Child("retry");
    c.retry = Retry::Read(retry);
    retry.Finish();
  }
  if (reader.Has("shard")) {
    config::ConfigReader shard = reader.Child("shard");
    c.shard = ShardConfig::Read(shard);
    shard.Finish();
  }
  if (auto selectors = reader.StringList("partitions")) {
    for (const auto& text : *selectors) {
      if (auto selector = dataset::PartitionSelector::Parse(text); !selector.ok()) {
        reader.Error("partitions", selector.status().message());
      }
    }
    c.partitions = std::move(*selectors);
  }
  if (reader.Has("storage_retry")) {
    config::ConfigReader storage_retry = reader.Child("storage_retry");
    if (auto v = storage_retry.Duration("max_elapsed_time")) {
      c.storage_max_elapsed_time =
          std::chrono::duration_cast<std::chrono::milliseconds>(*v);
    }
    storage_retry.Finish();
  }
  if (reader.Has("dead_letter")) {
    config::ConfigReader dl = reader.Child("dead_letter");
    if (auto v = dl.String("path")) c.dead_letter_path = *v;
    if (c.dead_letter_path.empty()) {
      dl.Error("path", "required: a local file that given-up batches are appended to");
    } else if (c.dead_letter_path.find("://") != std::string::npos &&
               c.dead_letter_path.rfind("file://", 0) != 0) {
      dl.Error("path", "must be a local file (lines are appended and fsynced)");
    } else if (c.dead_letter_path.rfind("file://", 0) == 0) {
      c.dead_letter_path = c.dead_letter_path.substr(7);
    }
    dl.Finish();
  }
  if (reader.Has("pacing")) {
    config::ConfigReader pacing = reader.Child("pacing");
    c.pacing = pacing.Enum(
        "mode", {{"fast", Pacing::kFast}, {"original", Pacing::kOriginal}}, c.pacing);
    if (auto v = pacing.Double("speed")) {
      if (!(*v > 0.0) || *v > 1e9) {
        pacing.Error("speed", fmt::format("must be > 0 (a factor), got {}", *v));
      } else {
        c.speed = *v;
      }
    }
    pacing.Finish();
  }
  return c;
}

dataset::ReaderOptions ParquetReceiverConfig::ToReaderOptions() const {
  dataset::ReaderOptions o;
  o.signals = signals;
  o.batch_size = processing.batch_size;
  o.min_file_age = processing.min_file_age;
  if (time_range) o.time_range = time_range->ToTimeRange();
  return o;
}

}  // namespace otap_parquet::nodes
