// SPDX-License-Identifier: Apache-2.0
#include "otap_parquet/nodes/receivers/parquet/parquet_receiver.h"

#include <algorithm>
#include <functional>
#include <map>
#include <mutex>
#include <utility>

#include <fmt/format.h>
#include <fmt/ranges.h>
#include <spdlog/logger.h>

#include "otap_parquet/dataset/compaction.h"
#include "otap_parquet/dataset/partition_values.h"
#include "otap_parquet/dataset/read_errors.h"
#include "otap_parquet/dataset/sharding.h"
#include "otap_parquet/nodes/receivers/parquet/metrics.h"
#include "otap_parquet/storage/storage.h"

namespace otap_parquet::nodes {

using engine::Clock;

// ----------------------------------------------------------------------------------
// SharedCheckpoint: one checkpoint file per process, shared by the pipeline
// instances (each owns the units of its partitions), written under a lock.

class SharedCheckpoint {
 public:
  static arrow::Result<std::shared_ptr<SharedCheckpoint>> Open(
      std::shared_ptr<arrow::fs::FileSystem> fs, const std::string& path,
      const std::string& dataset, const std::string& time_range,
      const std::function<void(dataset::ReplayCheckpoint*)>& prune) {
    static std::mutex registry_mutex;
    static std::map<std::string, std::weak_ptr<SharedCheckpoint>> registry;
    dataset::CheckpointStore store(fs, path);
    const std::string key = store.display();
    std::lock_guard<std::mutex> lock(registry_mutex);
    if (auto existing = registry[key].lock()) {
      if (existing->state_.dataset != dataset) {
        return arrow::Status::Invalid("checkpoint ", key, " is used for two datasets (",
                                      existing->state_.dataset, ", ", dataset, ")");
      }
      return existing;
    }
    ARROW_ASSIGN_OR_RAISE(auto loaded, store.Load());
    auto shared = std::shared_ptr<SharedCheckpoint>(new SharedCheckpoint(store));
    if (loaded) {
      if (!loaded->dataset.empty() && loaded->dataset != dataset) {
        return arrow::Status::Invalid("checkpoint ", key, " belongs to dataset ",
                                      loaded->dataset, ", not ", dataset,
                                      "; remove it or use another checkpoint path");
      }
      // Its files count as done although rows outside its range were filtered: in
      // another range they would be skipped (or replayed twice), silently.
      if (!loaded->time_range.empty() && loaded->time_range != time_range &&
          !loaded->units.empty()) {
        return arrow::Status::Invalid(
            "checkpoint ", key, " was written with time_range ", loaded->time_range,
            ", not ", time_range,
            " (its progress holds only for that range); use the same time_range, or "
            "another checkpoint path");
      }
      shared->state_ = std::move(*loaded);
      shared->existed_ = true;
      // Once per process, before any instance takes its units.
      prune(&shared->state_);
    }
    shared->state_.dataset = dataset;
    shared->state_.time_range = time_range;
    registry[key] = shared;
    return shared;
  }

  /// Units of the loaded checkpoint whose partition is `mine`.
  std::map<dataset::ReplayUnit, dataset::UnitProgress> UnitsOf(
      const std::function<bool(const std::string&)>& mine) const {
    std::lock_guard<std::mutex> lock(mutex_);
    std::map<dataset::ReplayUnit, dataset::UnitProgress> units;
    for (const auto& [unit, progress] : state_.units) {
      if (mine(unit.partition)) units[unit] = progress;
    }
    return units;
  }

  /// Partitions the checkpoint names.
  std::vector<std::string> Partitions() const {
    std::lock_guard<std::mutex> lock(mutex_);
    std::vector<std::string> partitions;
    for (const auto& [unit, progress] : state_.units) {
      partitions.push_back(unit.partition);
    }
    return partitions;
  }

  /// Replaces the units of one instance and writes the whole checkpoint.
  arrow::Status Write(const std::map<dataset::ReplayUnit, dataset::UnitProgress>& units) {
    std::lock_guard<std::mutex> lock(mutex_);
    for (const auto& [unit, progress] : units) state_.units[unit] = progress;
    return store_.Save(state_);
  }

  bool existed() const { return existed_; }
  std::string display() const { return store_.display(); }

 private:
  explicit SharedCheckpoint(dataset::CheckpointStore store) : store_(std::move(store)) {}

  mutable std::mutex mutex_;
  dataset::CheckpointStore store_;
  dataset::ReplayCheckpoint state_;
  bool existed_ = false;
};

// The core assignment shared by the instances of one receiver node of this process
// (same pipeline, node, dataset and shard), as the checkpoint is.
std::shared_ptr<dataset::CoreAssignment> SharedCoreAssignment(const std::string& key,
                                                              int num_cores) {
  static std::mutex registry_mutex;
  static std::map<std::string, std::weak_ptr<dataset::CoreAssignment>> registry;
  std::lock_guard<std::mutex> lock(registry_mutex);
  auto& slot = registry[fmt::format("{}\n{}", num_cores, key)];
  if (auto existing = slot.lock()) return existing;
  auto created = std::make_shared<dataset::CoreAssignment>(num_cores);
  slot = created;
  return created;
}

arrow::Result<std::unique_ptr<engine::Node>> ParquetReceiver::Make(
    const engine::NodeSettings& settings, const YAML::Node& config) {
  ARROW_ASSIGN_OR_RAISE(
      auto c, config::ParseTyped<ParquetReceiverConfig>(config, settings.config_path));
  ARROW_RETURN_NOT_OK(c.ToReaderOptions().Validate());
  ARROW_ASSIGN_OR_RAISE(auto selected, dataset::MakePartitionsFilter(c.partitions));
  auto node =
      std::unique_ptr<ParquetReceiver>(new ParquetReceiver(std::move(c), settings));
  node->selected_ = std::move(selected);
  return node;
}

bool ParquetReceiver::InScope(const std::string& partition) const {
  return selected_(partition) &&
         dataset::PartitionAssigned(partition, config_.shard.ToShard(), 0, 1);
}

ParquetReceiver::~ParquetReceiver() {
  // Last resort (e.g. a forced stop): persist what was acknowledged.
  if (checkpoint_ && checkpoint_dirty_) (void)checkpoint_->Write(progress_.acked());
}

dataset::ReaderStats ParquetReceiver::stats() const {
  dataset::ReaderStats total = closed_stats_;
  if (reader_) total.Add(reader_->stats());
  if (tail_) total.orphan_rows += tail_->stats().orphan_rows;
  return total;
}

arrow::Status ParquetReceiver::OpenCheckpoint(engine::EffectHandler& effect) {
  const auto& ck = *config_.checkpoint;
  std::shared_ptr<arrow::fs::FileSystem> fs;
  std::string path;
  if (!ck.object.empty()) {
    fs = fs_;
    path = base_ + "/" + ck.object;
  } else {
    // The file system of the checkpoint's directory (created if missing).
    const size_t slash = ck.path.find_last_of('/');
    const std::string dir = slash == std::string::npos ? "." : ck.path.substr(0, slash);
    const std::string name =
        slash == std::string::npos ? ck.path : ck.path.substr(slash + 1);
    if (name.empty()) {
      return arrow::Status::Invalid("checkpoint.path ", ck.path, " names a directory");
    }
    ARROW_ASSIGN_OR_RAISE(
        fs, dataset::FileSystemFromUri(dir.empty() ? "/" : dir, config_.storage, &path));
    path += "/" + name;
  }
  if (config_.shard.count > 1) {
    // Shards may share the checkpoint's location (`object` on the dataset's
    // storage): each keeps its own file, as each has its own partitions.
    path += fmt::format(".shard-{}-of-{}", config_.shard.index, config_.shard.count);
  }
  // Names of files gone from the dataset (retention, compaction) are dropped, or the
  // checkpoint would grow with every file the lake ever had. Not pruned when the
  // dataset cannot be listed: the checkpoint then stays as it was.
  auto prune = [&](dataset::ReplayCheckpoint* checkpoint) {
    auto dropped = dataset::PruneCheckpoint(fs_, base_, checkpoint);
    if (!dropped.ok()) {
      effect.logger().warn("receiver.parquet.checkpoint.prune_failed node={} error={}",
                           effect.node_id(), dropped.status().ToString());
    } else if (*dropped > 0) {
      effect.logger().info("receiver.parquet.checkpoint.pruned node={} dropped={}",
                           effect.node_id(), *dropped);
    }
  };
  ARROW_ASSIGN_OR_RAISE(
      checkpoint_,
      SharedCheckpoint::Open(fs, path, dataset::DisplayUri(*fs_, base_),
                             dataset::TimeRangeKey(config_.ToReaderOptions().time_range),
                             prune));
  return arrow::Status::OK();
}

void ParquetReceiver::LoadCheckpoint(engine::EffectHandler& effect) {
  // The units of the partitions this instance owns now (owners may differ from the
  // run that wrote them: the file holds every instance's units).
  const int core = settings_.core;
  progress_ =
      dataset::ReplayProgress(checkpoint_->UnitsOf([&](const std::string& partition) {
        if (!InScope(partition)) return false;
        return !assignment_ || assignment_->OwnerOf(partition) == core;
      }));
  effect.logger().info(
      "receiver.parquet.checkpoint node={} core={} uri={} resumed={} "
      "units={}",
      effect.node_id(), effect.core(), checkpoint_->display(), checkpoint_->existed(),
      progress_.acked().size());
}

arrow::Result<dataset::ReaderOptions> ParquetReceiver::ListingOptions() const {
  dataset::ReaderOptions options = config_.ToReaderOptions();
  options.log = DatasetLog();
  if (config_.shard.count > 1 || !config_.partitions.empty()) {
    options.partition_filter = [this](const dataset::PartitionPlan& p) {
      return InScope(p.path);
    };
  }
  return options;
}

arrow::Status ParquetReceiver::OpenAssignment(engine::EffectHandler& effect) {
  const int num_cores = settings_.num_cores;
  const dataset::Shard shard = config_.shard.ToShard();
  const std::string display = dataset::DisplayUri(*fs_, base_);
  assignment_ = SharedCoreAssignment(
      fmt::format("{}\n{}\n{}\n{}\n{}", settings_.group, settings_.pipeline,
                  settings_.node_id, display, shard.ToString()),
      num_cores);
  // The checkpoint's partitions get owners at start too, so that each of its units
  // is loaded by exactly one instance.
  std::vector<std::string> known;
  if (checkpoint_) {
    for (std::string& partition : checkpoint_->Partitions()) {
      if (InScope(partition)) known.push_back(std::move(partition));
    }
  }
  bool listed_here = false;
  auto list = [&]() -> arrow::Result<std::vector<std::string>> {
    listed_here = true;
    ARROW_ASSIGN_OR_RAISE(auto options, ListingOptions());
    auto reader = dataset::DatasetReader::Make(fs_, base_, std::move(options));
    if (!reader.ok()) {
      if (!polling()) return reader.status();
      // Following: storage may come back; partitions are assigned as passes see
      // them (each to the core with the fewest), only not in one sorted deal.
      effect.metrics().errors++;
      effect.logger().warn(
          "receiver.parquet.assignment.list_failed node={} base={} error=\"{}\"",
          effect.node_id(), display, reader.status().ToString());
      return std::vector<std::string>{};
    }
    std::vector<std::string> paths;
    for (const auto& partition : (*reader)->plan().partitions) {
      paths.push_back(partition.path);
    }
    return paths;
  };
  ARROW_RETURN_NOT_OK(assignment_->FillOnce(list, known));
  const std::vector<int64_t> counts = assignment_->counts();
  effect.logger().info(
      "receiver.parquet.assignment node={} core={}/{} partitions={} per_core=[{}]{}",
      effect.node_id(), effect.core(), num_cores, counts[settings_.core],
      fmt::join(counts, ","), listed_here ? " (listed by this instance)" : "");
  return arrow::Status::OK();
}

void ParquetReceiver::KeepOwnPartitions(dataset::DatasetPlan* plan) {
  auto& partitions = plan->partitions;
  std::vector<std::string> paths;
  paths.reserve(partitions.size());
  for (const auto& partition : partitions) paths.push_back(partition.path);
  // Following, every instance lists again and a new partition goes to the one with
  // the fewest; one-shot, the others may have listed already: the lister keeps it.
  const std::vector<int> owners =
      assignment_->Assign(paths, polling() ? -1 : settings_.core);
  size_t kept = 0;
  for (size_t i = 0; i < partitions.size(); ++i) {
    if (owners[i] != settings_.core) continue;
    if (kept != i) partitions[kept] = std::move(partitions[i]);
    ++kept;
  }
  partitions.resize(kept);
}

arrow::Status ParquetReceiver::Start(engine::EffectHandler& effect) {
  auto fs = dataset::MakeFileSystem(config_.storage, &base_, nullptr, DatasetLog());
  if (!fs.ok()) {
    return fs.status().WithMessage("receiver:parquet ", effect.node_id(), ": ",
                                   fs.status().message());
  }
  fs_ = std::move(*fs);
  if (polling()) {
    tail_ = std::make_unique<dataset::TailPlanner>(
        fs_, config_.processing.orphan_grace_period, DatasetLog());
    ARROW_RETURN_NOT_OK(StartWatch(effect));
  }
  if (config_.checkpoint) {
    auto st = OpenCheckpoint(effect);
    if (!st.ok()) {
      return st.WithMessage("receiver:parquet ", effect.node_id(), ": ", st.message());
    }
  }
  if (settings_.num_cores > 1) {
    auto st = OpenAssignment(effect);
    if (!st.ok()) {
      return st.WithMessage("receiver:parquet ", effect.node_id(),
                            ": cannot list dataset ", dataset::DisplayUri(*fs_, base_),
                            ": ", st.message());
    }
  }
  if (checkpoint_) LoadCheckpoint(effect);
  if (!config_.dead_letter_path.empty()) {
    auto file = DeadLetterFile::Open(config_.dead_letter_path);
    if (!file.ok()) {
      return file.status().WithMessage("receiver:parquet ", effect.node_id(), ": ",
                                       file.status().message());
    }
    dead_letter_ = std::move(*file);
  }
  effect.logger().info(
      "receiver.parquet.start node={} core={}/{} base={} batch_size={} "
      "polling_interval_ms={} pacing={}",
      effect.node_id(), effect.core(), settings_.num_cores,
      dataset::DisplayUri(*fs_, base_), config_.processing.batch_size,
      std::chrono::duration_cast<std::chrono::milliseconds>(config_.polling_interval)
          .count(),
      config_.pacing == ParquetReceiverConfig::Pacing::kOriginal ? "original" : "fast");
  if (!polling() && !OpenReader(effect).ok()) {
    return arrow::Status::IOError("receiver:parquet ", effect.node_id(),
                                  ": cannot open dataset ",
                                  dataset::DisplayUri(*fs_, base_));
  }
  UpdateMetrics(effect);
  return arrow::Status::OK();
}

// Dataset events under this node's logger, named receiver.parquet.*.
util::EventLog ParquetReceiver::DatasetLog() const {
  return util::EventLog(settings_.logger, "receiver.parquet");
}

arrow::Status ParquetReceiver::StartWatch(engine::EffectHandler& effect) {
  using Watch = ParquetReceiverConfig::Watch;
  const bool local = config_.storage.kind == dataset::StorageKind::kFile;
  if (config_.watch == Watch::kPoll || !local) {
    effect.logger().info("receiver.parquet.watch node={} mode=poll reason={}",
                         effect.node_id(),
                         config_.watch == Watch::kPoll ? "configured" : "not local");
    return arrow::Status::OK();
  }
  auto watcher = DatasetWatcher::Open(base_);
  if (!watcher.ok()) {
    if (config_.watch == Watch::kInotify) {
      return watcher.status().WithMessage(
          "receiver:parquet ", effect.node_id(),
          ": watch: inotify: ", watcher.status().message());
    }
    effect.logger().warn("receiver.parquet.watch node={} mode=poll error=\"{}\"",
                         effect.node_id(), watcher.status().message());
    return arrow::Status::OK();
  }
  watcher_ = std::move(*watcher);
  effect.logger().info("receiver.parquet.watch node={} mode=inotify directories={}",
                       effect.node_id(), watcher_->directories());
  return arrow::Status::OK();
}

bool ParquetReceiver::WatchChanged(engine::EffectHandler& effect) {
  if (!watcher_) return false;
  auto changed = watcher_->Changed();
  if (!changed.ok()) {
    effect.metrics().errors++;
    effect.logger().warn(
        "receiver.parquet.watch node={} mode=poll error=\"{}\" (falling back to "
        "polling every polling_interval)",
        effect.node_id(), changed.status().message());
    watcher_.reset();
    return false;
  }
  return *changed;
}

arrow::Status ParquetReceiver::OpenReader(engine::EffectHandler& effect) {
  ARROW_ASSIGN_OR_RAISE(dataset::ReaderOptions options, ListingOptions());
  options.resume = [this](const dataset::PartitionPlan& p, Signal signal) {
    return progress_.ResumeFor(p, signal);
  };
  options.plan_hook = [this](dataset::DatasetPlan* plan) {
    // After every other filter, so that only partitions replayed count for balance.
    if (assignment_) KeepOwnPartitions(plan);
    assigned_partitions_ = assignment_ ? assignment_->counts()[settings_.core]
                                       : static_cast<int64_t>(plan->partitions.size());
    if (!tail_) return arrow::Status::OK();
    return tail_->Apply(plan, [this](const dataset::PartitionPlan& p, Signal signal) {
      return progress_.ResumeFor(p, signal).skip;
    });
  };
  auto reader = dataset::DatasetReader::Make(fs_, base_, std::move(options));
  polls_++;
  if (!reader.ok()) {
    effect.metrics().errors++;
    effect.logger().error("receiver.parquet.open_failed node={} base={} error={}",
                          effect.node_id(), dataset::DisplayUri(*fs_, base_),
                          reader.status().ToString());
    return reader.status();
  }
  reader_ = std::move(*reader);
  skipped_paths_ = reader_->plan().skipped_entries;
  units_.clear();
  units_done_ = 0;
  const auto& partitions = reader_->plan().partitions;
  for (size_t p = 0; p < partitions.size(); ++p) {
    for (Signal signal : config_.signals) {
      const auto& present = partitions[p].signals;
      if (std::find(present.begin(), present.end(), signal) != present.end()) {
        units_.emplace_back(static_cast<int>(p), signal);
      }
    }
  }
  return arrow::Status::OK();
}

void ParquetReceiver::CloseReader() {
  if (!reader_) return;
  closed_stats_.Add(reader_->stats());
  reader_.reset();
  units_.clear();
  units_done_ = 0;
}

void ParquetReceiver::UnitsDoneUpTo(size_t upto) {
  const auto& partitions = reader_->plan().partitions;
  for (; units_done_ < upto && units_done_ < units_.size(); ++units_done_) {
    const auto& [p, signal] = units_[units_done_];
    const auto& partition = partitions[static_cast<size_t>(p)];
    // Never replayed (ids collide): a rerun must report it again, not skip it.
    if (reader_->IdCollision(p, signal)) continue;
    progress_.UnitDone({signal, partition.path},
                       partition.FilesOf(RootPayloadType(signal)));
    checkpoint_dirty_ = true;
  }
}

void ParquetReceiver::Finish(engine::EffectHandler& effect) {
  if (finished_) return;
  finished_ = true;
  CloseReader();
  MaybeWriteCheckpoint(effect, /*force=*/true);
  UpdateMetrics(effect);
  const dataset::ReaderStats s = stats();
  effect.logger().info(
      "receiver.parquet.complete node={} core={} batches={} records={} acked={} "
      "nacked={} abandoned={} abandoned_records={} dead_lettered={} "
      "dead_lettered_records={} in_flight={} files={} corrupt_files={} "
      "orphan_rows={} resume_skipped_files={} id_collisions={}",
      effect.node_id(), effect.core(), batches_emitted_, records_emitted_, acked_,
      nacked_, abandoned_, abandoned_items_, dead_lettered_, dead_lettered_items_,
      in_flight_, s.files_read, s.corrupt_files, s.orphan_rows, s.resume_skipped_files,
      s.id_collisions);
  if (s.id_collisions > 0) {
    // Their records were never emitted: the run must not end as a success.
    effect.ReportUndelivered(
        fmt::format("not replayed: {} partition signal(s) whose id space two writers "
                    "shared (receiver.parquet.partition.id_collision names the files)",
                    s.id_collisions),
        0, 0);
  }
  effect.ReportFinished();
}

void ParquetReceiver::MaybeFinish(engine::EffectHandler& effect) {
  if (exhausted_ && in_flight_ == 0 && retry_due_.empty()) Finish(effect);
}

void ParquetReceiver::MaybeWriteCheckpoint(engine::EffectHandler& effect, bool force) {
  if (!checkpoint_ || !checkpoint_dirty_) return;
  const Clock::time_point now = Clock::now();
  // Written after `interval`, or once `max_batches` more batches are covered: a
  // crash then replays at most that many acknowledged batches again.
  const bool enough_batches =
      progress_.covered_batches() - covered_at_write_ >= config_.checkpoint->max_batches;
  if (!force && !enough_batches && checkpoint_written_ &&
      now - last_checkpoint_write_ < config_.checkpoint->interval) {
    return;
  }
  const int64_t covered = progress_.covered_batches();
  auto st = checkpoint_->Write(progress_.acked());
  last_checkpoint_write_ = now;
  if (!st.ok()) {
    // Progress stays in memory; the next write retries. Replays more after a crash.
    checkpoint_errors_++;
    effect.metrics().errors++;
    if (checkpoint_errors_ <= 5) {
      effect.logger().error("receiver.parquet.checkpoint.fail node={} error={}",
                            effect.node_id(), st.ToString());
    }
    return;
  }
  checkpoint_written_ = true;
  checkpoint_dirty_ = false;
  checkpoint_writes_++;
  covered_at_write_ = covered;
}

void ParquetReceiver::Send(Ready ready, engine::EffectHandler& effect) {
  const auto& partition =
      reader_->plan().partitions[static_cast<size_t>(ready.partition_index)];
  engine::PData msg(std::move(ready.batch));
  const int64_t items = msg.num_items();
  const uint64_t token =
      progress_.Emitted(ready.unit, partition.FilesOf(RootPayloadType(ready.unit.signal)),
                        ready.next_file, ready.next_row, items);
  records_emitted_ += items;
  batches_emitted_++;
  Sent sent{.batch = std::nullopt,
            .items = items,
            .retries = 0,
            .source = fmt::format("partition={} signal={}", partition.path,
                                  SignalName(ready.unit.signal))};
  if (config_.retry.max_retries > 0 || dead_letter_) sent.batch = msg.batch;
  sent_.emplace(token, std::move(sent));
  Emit(token, std::move(msg), effect);
}

void ParquetReceiver::Emit(uint64_t token, engine::PData msg,
                           engine::EffectHandler& effect) {
  effect.Subscribe(msg, token);
  in_flight_++;
  auto st = effect.Send(std::move(msg));
  if (!st.ok()) effect.metrics().errors++;  // Nacked by the engine: in_flight settles
}

void ParquetReceiver::Abandon(uint64_t token, const char* how,
                              engine::EffectHandler& effect) {
  int64_t items = 0;
  if (auto it = sent_.find(token); it != sent_.end()) {
    items = it->second.items;
    sent_.erase(it);
  }
  progress_.Nacked(token);
  abandoned_++;
  abandoned_items_ += items;
  effect.ReportUndelivered(how, 1, items);
}

void ParquetReceiver::GiveUp(uint64_t token, engine::EffectHandler& effect) {
  auto it = sent_.find(token);
  if (!dead_letter_ || it == sent_.end() || !it->second.batch) {
    Abandon(token,
            "refused downstream and given up (no dead_letter: the checkpoint stays "
            "before them, replayed after a restart)",
            effect);
    return;
  }
  auto st = dead_letter_->Append(*it->second.batch);
  if (!st.ok()) {
    // Not written: the checkpoint must not move past it.
    dead_letter_errors_++;
    effect.metrics().errors++;
    if (dead_letter_errors_ <= 5) {
      effect.logger().error("receiver.parquet.dead_letter.fail node={} error={}",
                            effect.node_id(), st.ToString());
    }
    Abandon(token,
            "refused downstream, dead letter write failed (the checkpoint stays before "
            "them)",
            effect);
    return;
  }
  const int64_t items = it->second.items;
  sent_.erase(it);
  dead_lettered_++;
  dead_lettered_items_ += items;
  effect.ReportUndelivered("refused downstream and dead-lettered", 1, items);
  if (progress_.Acked(token)) {
    checkpoint_dirty_ = true;
    MaybeWriteCheckpoint(effect, /*force=*/finished_ || shut_down_);
  }
}

Clock::time_point ParquetReceiver::StorageFailure(Clock::time_point now,
                                                  const arrow::Status& status,
                                                  engine::EffectHandler& effect) {
  if (consecutive_read_failures_ == 0) first_read_failure_ = now;
  if (!polling() && config_.storage_max_elapsed_time.count() > 0 &&
      now - first_read_failure_ >= config_.storage_max_elapsed_time) {
    const auto elapsed =
        std::chrono::duration_cast<std::chrono::seconds>(now - first_read_failure_);
    return ReadFailed(now, status,
                      fmt::format("storage unavailable for {}s over {} reopen(s) "
                                  "(storage_retry.max_elapsed_time)",
                                  elapsed.count(), consecutive_read_failures_),
                      effect);
  }
  // Storage failure, not bad data: read the file again later, from what this
  // process emitted (ResumeFor), not from scratch.
  ++read_retries_;
  const auto backoff = std::chrono::duration_cast<Clock::duration>(
      storage_backoff_.Delay(consecutive_read_failures_ + 1));
  ++consecutive_read_failures_;
  effect.logger().warn(
      "receiver.parquet.read_retry node={} retry_in_ms={} error={}", effect.node_id(),
      std::chrono::duration_cast<std::chrono::milliseconds>(backoff).count(),
      status.message());
  CloseReader();
  UpdateMetrics(effect);
  next_poll_ = now + backoff;
  return next_poll_;
}

Clock::time_point ParquetReceiver::Replan(Clock::time_point now,
                                          std::chrono::nanoseconds wait,
                                          engine::EffectHandler& effect) {
  // The plan is stale, the emitted progress is not: the next pass resumes from it
  // (ResumeFor), in the compacted partition when the file was superseded.
  CloseReader();
  UpdateMetrics(effect);
  next_poll_ = now + std::chrono::duration_cast<Clock::duration>(wait);
  return next_poll_;
}

Clock::time_point ParquetReceiver::ReadFailed(Clock::time_point now,
                                              const arrow::Status& status,
                                              const std::string& why,
                                              engine::EffectHandler& effect) {
  effect.metrics().errors++;
  effect.logger().error("receiver.parquet.fail node={} reason=\"{}\" error={}",
                        effect.node_id(), why, status.ToString());
  // Nothing of this pass after the failure counts as replayed.
  CloseReader();
  if (polling()) {
    next_poll_ = now + config_.polling_interval;
    return next_poll_;
  }
  // A one-shot run ends here: what was not read is reported (the run exits 3), and
  // a checkpoint stays before it, so running again resumes there.
  effect.ReportUndelivered(
      fmt::format("not replayed: the rest of the dataset, {}: {}", why, status.message()),
      0, 0);
  exhausted_ = true;
  settle_deadline_ = now + kSettleTimeout;
  MaybeFinish(effect);
  return finished_ ? Clock::time_point::max() : settle_deadline_;
}

Clock::time_point ParquetReceiver::Poll(Clock::time_point now,
                                        engine::EffectHandler& effect) {
  if (!finished_ && !retry_due_.empty() && retry_due_.begin()->first <= now) {
    const uint64_t token = retry_due_.begin()->second;
    retry_due_.erase(retry_due_.begin());
    if (auto it = sent_.find(token); it != sent_.end() && it->second.batch) {
      retried_++;
      // The batch's buffers are shared with the kept copy, not copied.
      Emit(token, engine::PData(OtapBatch(*it->second.batch)), effect);
      if (exhausted_) settle_deadline_ = std::max(settle_deadline_, now + kSettleTimeout);
      UpdateMetrics(effect);
    }
    return now;
  }
  Clock::time_point next = PollReader(now, effect);
  if (!finished_ && !retry_due_.empty()) next = std::min(next, retry_due_.begin()->first);
  // Between passes a watching receiver looks at its inotify queue now and then.
  if (watcher_ && !finished_ && !reader_ && !ready_)
    next = std::min(next, now + kWatchCheck);
  return next;
}

Clock::time_point ParquetReceiver::PollReader(Clock::time_point now,
                                              engine::EffectHandler& effect) {
  if (finished_) return Clock::time_point::max();
  if (idle_) {
    Finish(effect);
    return Clock::time_point::max();
  }
  MaybeWriteCheckpoint(effect, /*force=*/false);
  if (exhausted_) {
    // Waiting for the outcome of in-flight batches (OnAck/OnNack finish earlier).
    // A pending retry comes first: Poll wakes for it and then extends the deadline.
    if (!retry_due_.empty()) return Clock::time_point::max();
    if (now >= settle_deadline_) {
      effect.logger().warn(
          "receiver.parquet.settle_timeout node={} in_flight={} (left to the drain)",
          effect.node_id(), in_flight_);
      Finish(effect);
      return Clock::time_point::max();
    }
    return settle_deadline_;
  }
  if (ready_) {
    // Pacing: a batch waits for its time.
    if (now < ready_->due) return ready_->due;
    Ready ready = std::move(*ready_);
    ready_.reset();
    Send(std::move(ready), effect);
    UpdateMetrics(effect);
    return now;
  }
  if (!reader_) {
    // Polling mode between passes, or a one-shot pass reopening after a storage
    // failure. A watcher's queue is read (emptied) before every pass: what appears
    // later wakes the next one.
    bool due = now >= next_poll_;
    const bool changed = WatchChanged(effect);
    if (!due && changed) {
      ++watch_wakeups_;
      due = true;
    }
    if (!due) return next_poll_;
    woken_pass_ = changed && now < next_poll_;
    if (auto st = OpenReader(effect); !st.ok()) {
      if (polling()) {
        next_poll_ = now + config_.polling_interval;
        return next_poll_;
      }
      // Reopening lists the dataset again: the outage goes on.
      return StorageFailure(now, st, effect);
    }
  }
  auto next = reader_->Next();
  if (!next.ok()) {
    if (const auto wait = replanner_.OnReadError(next.status())) {
      return Replan(now, *wait, effect);
    }
  }
  if (!next.ok() && dataset::IsRetryableReadError(next.status())) {
    return StorageFailure(now, next.status(), effect);
  }
  if (!next.ok()) return ReadFailed(now, next.status(), "read failed", effect);
  consecutive_read_failures_ = 0;
  replanner_.Progressed();  // a batch, or the end of the pass
  if (!next->has_value()) {
    // End of this pass: every unit of the plan is replayed.
    UnitsDoneUpTo(units_.size());
    CloseReader();
    UpdateMetrics(effect);
    if (polling()) {
      next_poll_ = now + config_.polling_interval;
      if (woken_pass_ && config_.processing.min_file_age.count() > 0) {
        // Files this pass found too young wake no one again: look once they are old.
        next_poll_ = std::min(next_poll_, now + config_.processing.min_file_age);
      }
      return next_poll_;
    }
    exhausted_ = true;
    settle_deadline_ = now + kSettleTimeout;
    MaybeFinish(effect);
    return finished_ ? Clock::time_point::max() : settle_deadline_;
  }
  const dataset::ReaderPosition pos = reader_->position();
  Ready ready{.batch = std::move(**next),
              .unit = {pos.signal, pos.partition_path},
              .partition_index = pos.partition_index,
              .next_file = pos.root_file,
              .next_row = pos.root_row_in_file,
              .due = now};
  // Units before this batch's are finished.
  for (size_t u = units_done_; u < units_.size(); ++u) {
    if (units_[u].first == pos.partition_index && units_[u].second == pos.signal) {
      UnitsDoneUpTo(u);
      break;
    }
  }
  if (config_.pacing == ParquetReceiverConfig::Pacing::kOriginal) {
    if (!(ready.unit == paced_unit_)) {
      pacing_.Restart();
      paced_unit_ = ready.unit;
    }
    ready.due = pacing_.DueAt(BatchEventTime(ready.batch), now);
    if (ready.due > now) {
      ready_ = std::move(ready);
      return ready_->due;
    }
  }
  Send(std::move(ready), effect);
  UpdateMetrics(effect);
  return now;
}

void ParquetReceiver::Drain(engine::EffectHandler& effect) {
  draining_ = true;
  ready_.reset();  // not sent: not emitted, replayed after a restart
  // Retries not sent yet: the checkpoint stays before them (replayed after a restart).
  for (const auto& [due, token] : retry_due_) {
    Abandon(token, "waiting for a retry at shutdown (replayed after a restart)", effect);
  }
  retry_due_.clear();
  effect.logger().info("receiver.parquet.drain node={} core={} batches={} in_flight={}",
                       effect.node_id(), effect.core(), batches_emitted_, in_flight_);
}

void ParquetReceiver::OnAck(uint64_t calldata, engine::AckContext,
                            engine::EffectHandler& effect) {
  in_flight_--;
  acked_++;
  sent_.erase(calldata);
  if (progress_.Acked(calldata)) {
    checkpoint_dirty_ = true;
    // Once the receiver is done, every Ack that moves progress is written at once.
    MaybeWriteCheckpoint(effect, /*force=*/finished_ || shut_down_);
  }
  UpdateMetrics(effect);
  MaybeFinish(effect);
}

void ParquetReceiver::OnNack(uint64_t calldata, const engine::NackInfo& nack,
                             engine::AckContext, engine::EffectHandler& effect) {
  in_flight_--;
  nacked_++;
  auto it = sent_.find(calldata);
  if (it != sent_.end() && !nack.permanent && !draining_ && !shut_down_ && !finished_ &&
      it->second.retries < config_.retry.max_retries) {
    const int64_t attempt = ++it->second.retries;
    const auto backoff = std::chrono::duration_cast<std::chrono::milliseconds>(
        retry_backoff_.Delay(static_cast<int>(attempt), std::nullopt));
    retry_due_.emplace(Clock::now() + backoff, calldata);
    effect.RequestPoll();
    if (nack_logs_++ < 5) {
      effect.logger().warn(
          "receiver.parquet.retry node={} {} retry={}/{} in_ms={} reason={}",
          effect.node_id(), it->second.source, attempt, config_.retry.max_retries,
          backoff.count(), nack.reason);
    }
  } else {
    const int64_t retries = it != sent_.end() ? it->second.retries : 0;
    const std::string source = it != sent_.end() ? it->second.source : std::string();
    // Refused for good (permanent, or retries exhausted while running), or left
    // unsettled by a shutdown (replayed after a restart, never dead-lettered).
    const bool refused = nack.permanent || !(draining_ || shut_down_ || finished_);
    if (nack_logs_++ < 5) {
      effect.logger().warn(
          "receiver.parquet.nack node={} {} permanent={} retries={} reason={} ({})",
          effect.node_id(), source, nack.permanent, retries, nack.reason,
          !refused       ? "unsettled at shutdown: the checkpoint stays before it"
          : dead_letter_ ? "given up: dead-lettered"
                         : "given up: the checkpoint stays before it");
    }
    if (refused) {
      GiveUp(calldata, effect);
    } else {
      Abandon(calldata, "unsettled at shutdown (replayed after a restart)", effect);
    }
  }
  UpdateMetrics(effect);
  MaybeFinish(effect);
}

arrow::Future<> ParquetReceiver::Shutdown(Clock::time_point,
                                          engine::EffectHandler& effect) {
  shut_down_ = true;
  if (!idle_) {
    CloseReader();
    MaybeWriteCheckpoint(effect, /*force=*/true);
    UpdateMetrics(effect);
    if (in_flight_ > 0) {
      // Downstream nodes settle them during their own shutdown (bounded by the
      // engine's deadline); unsettled ones are Nacked by the engine. Acks that
      // arrive later still move and write the checkpoint.
      effect.logger().info("receiver.parquet.shutdown node={} in_flight={}",
                           effect.node_id(), in_flight_);
    }
  }
  return arrow::Future<>::MakeFinished();
}

void ParquetReceiver::UpdateMetrics(engine::EffectHandler& effect) {
  const dataset::ReaderStats s = stats();
  if (config_.processing.validate_relations && s.orphan_rows > logged_orphans_) {
    effect.logger().warn("receiver.parquet.orphans node={} orphan_rows={} (+{})",
                         effect.node_id(), s.orphan_rows,
                         s.orphan_rows - logged_orphans_);
    logged_orphans_ = s.orphan_rows;
  }
  using M = ParquetReceiverMetrics;
  engine::NodeMetrics& m = effect.metrics();
  m.Set(M::files_read, s.files_read);
  m.Set(M::corrupt_files, s.corrupt_files);
  m.Set(M::incompatible_files, s.incompatible_files);
  m.Set(M::unreadable_columns, s.unreadable_columns);
  m.Set(M::recovered_columns, s.recovered_columns);
  m.Set(M::io_retries, s.io_retries);
  m.Set(M::read_retries, read_retries_);
  m.Set(M::replans, replanner_.replans());
  m.Set(M::row_groups_read, s.row_groups_read);
  m.Set(M::row_groups_skipped, s.row_groups_skipped);
  m.Set(M::orphan_rows, s.orphan_rows);
  m.Set(M::id_collisions, s.id_collisions);
  if (tail_) {
    const dataset::TailPlannerStats& t = tail_->stats();
    m.Set(M::tail_held_files, t.held_files);
    m.Set(M::tail_held_rows, t.held_rows);
    m.Set(M::tail_released_files, t.released_files);
  }
  m.Set(M::filtered_rows, s.filtered_rows);
  m.Set(M::bytes_read, s.bytes_read);
  m.Set(M::records_emitted, records_emitted_);
  m.Set(M::batches_emitted, batches_emitted_);
  m.Set(M::batches_acked, acked_);
  m.Set(M::batches_nacked, nacked_);
  m.Set(M::batches_retried, retried_);
  m.Set(M::batches_abandoned, abandoned_);
  m.Set(M::records_abandoned, abandoned_items_);
  m.Set(M::batches_dead_lettered, dead_lettered_);
  m.Set(M::records_dead_lettered, dead_lettered_items_);
  m.Set(M::dead_letter_errors, dead_letter_errors_);
  m.Set(M::batches_in_flight, in_flight_);
  m.Set(M::passes, polls_);
  m.Set(M::assigned_partitions, assigned_partitions_);
  m.Set(M::watch_wakeups, watch_wakeups_);
  m.Set(M::skipped_paths, skipped_paths_);
  m.Set(M::resume_skipped_files, s.resume_skipped_files);
  m.Set(M::resume_skipped_row_groups, s.resume_skipped_row_groups);
  m.Set(M::checkpoint_lag_batches, progress_.lag_batches());
  m.Set(M::checkpoint_lag_items, progress_.lag_items());
  m.Set(M::checkpoint_writes, checkpoint_writes_);
  m.Set(M::checkpoint_write_errors, checkpoint_errors_);
  if (checkpoint_written_) {
    m.Set(M::checkpoint_age_ms, std::chrono::duration_cast<std::chrono::milliseconds>(
                                    Clock::now() - last_checkpoint_write_)
                                    .count());
  }
}

const engine::NodeFactory kParquetReceiverFactory{
    .urn = "urn:otel:receiver:parquet",
    .kind = engine::NodeKind::kReceiver,
    .description = "replays a Parquet dataset as OTAP batches",
    .validate_config = &config::ValidateTyped<ParquetReceiverConfig>,
    .create = &ParquetReceiver::Make};

}  // namespace otap_parquet::nodes
