// SPDX-License-Identifier: Apache-2.0
#include "otap_parquet/nodes/exporters/parquet/retention_worker.h"

#include <map>
#include <utility>

#include "otap_parquet/dataset/retention.h"

namespace otap_parquet::nodes {

namespace {

std::mutex& RegistryMutex() {
  static std::mutex mu;
  return mu;
}

std::map<std::string, int>& Registry() {
  static std::map<std::string, int> part_ids;
  return part_ids;
}

}  // namespace

void ActivePartIds::Replace(const std::string& old_part_id, const std::string& part_id) {
  std::lock_guard<std::mutex> lock(RegistryMutex());
  auto& registry = Registry();
  if (!old_part_id.empty()) {
    if (auto it = registry.find(old_part_id); it != registry.end() && --it->second <= 0) {
      registry.erase(it);
    }
  }
  if (!part_id.empty()) ++registry[part_id];
}

std::vector<std::string> ActivePartIds::Snapshot() {
  std::lock_guard<std::mutex> lock(RegistryMutex());
  std::vector<std::string> out;
  for (const auto& [part_id, count] : Registry()) out.push_back(part_id);
  return out;
}

RetentionWorker::RetentionWorker(ParquetRetentionConfig config,
                                 std::shared_ptr<arrow::fs::FileSystem> fs,
                                 std::string base, dataset::StorageConfig storage,
                                 std::string node_id,
                                 std::shared_ptr<spdlog::logger> logger)
    : config_(std::move(config)),
      fs_(std::move(fs)),
      base_(std::move(base)),
      storage_(std::move(storage)),
      node_id_(std::move(node_id)),
      logger_(std::move(logger)),
      thread_([this] { Run(); }) {}

RetentionWorker::~RetentionWorker() { Stop(); }

void RetentionWorker::Stop() {
  {
    std::lock_guard<std::mutex> lock(mu_);
    stop_ = true;
  }
  cv_.notify_all();
  if (thread_.joinable()) thread_.join();
}

void RetentionWorker::Run() {
  std::unique_lock<std::mutex> lock(mu_);
  while (!stop_) {
    lock.unlock();
    Pass();
    lock.lock();
    cv_.wait_for(lock, config_.interval, [this] { return stop_; });
  }
}

void RetentionWorker::Pass() {
  ++counters_.passes;
  dataset::RetentionOptions options;
  const auto now = std::chrono::system_clock::now() - config_.max_age;
  options.before_unix_nano =
      std::chrono::duration_cast<std::chrono::nanoseconds>(now.time_since_epoch())
          .count();
  options.apply = true;
  options.exclude_part_ids = ActivePartIds::Snapshot();
  for (const auto& uri : config_.checkpoints) {
    auto checkpoint = dataset::RetentionCheckpoint::Load(uri, storage_);
    if (!checkpoint.ok()) {
      // Without the guard nothing may be deleted: skip the pass.
      ++counters_.errors;
      logger_->error(
          "exporter.parquet.retention_skipped node={} checkpoint={} error={} (no "
          "partition deleted while a listed checkpoint cannot be read)",
          node_id_, uri, checkpoint.status().ToString());
      return;
    }
    options.checkpoints.push_back(std::move(*checkpoint));
  }
  auto report = dataset::DeletePartitions(fs_, base_, options);
  if (!report.ok()) {
    ++counters_.errors;
    logger_->error("exporter.parquet.retention_failed node={} error={}", node_id_,
                   report.status().ToString());
    return;
  }
  counters_.deleted_partitions += report->deleted_partitions();
  counters_.deleted_files += report->deleted_files();
  counters_.deleted_bytes += report->deleted_bytes();
  counters_.kept_files += report->kept_files();
  counters_.blocked_partitions = report->blocked();
  for (const auto& decision : report->selected) {
    if (decision.error.ok()) continue;
    // The other partitions went on; this one is due again next pass.
    ++counters_.errors;
    logger_->error("exporter.parquet.retention_failed node={} partition={} error={}",
                   node_id_, decision.partition.stats.path, decision.error.ToString());
  }
  for (const auto& decision : report->selected) {
    // Published into an expired partition after the pass listed it: kept (a writer's
    // late record); the next pass judges it by its own footer.
    for (const auto& file : decision.files_kept) {
      logger_->warn("exporter.parquet.retention_kept_file node={} partition={} file={}",
                    node_id_, decision.partition.stats.path, file);
    }
  }
  if (report->deleted_partitions() > 0) {
    logger_->info(
        "exporter.parquet.retention node={} deleted_partitions={} deleted_files={} "
        "deleted_bytes={} kept={}",
        node_id_, report->deleted_partitions(), report->deleted_files(),
        report->deleted_bytes(), report->kept);
  }
  for (const auto& decision : report->selected) {
    if (decision.deleted || decision.unfinished_by.empty()) continue;
    // Once per partition and process: a replay may take days.
    if (!warned_blocked_.insert(decision.partition.stats.path).second) continue;
    logger_->warn(
        "exporter.parquet.retention_blocked node={} partition={} checkpoint={} (expired, "
        "kept until the replay finishes it)",
        node_id_, decision.partition.stats.path, decision.unfinished_by.front());
  }
}

}  // namespace otap_parquet::nodes
