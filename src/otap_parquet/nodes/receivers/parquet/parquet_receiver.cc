// SPDX-License-Identifier: Apache-2.0
#include "otap_parquet/nodes/receivers/parquet/parquet_receiver.h"

#include <algorithm>
#include <map>
#include <mutex>
#include <utility>

#include <spdlog/logger.h>

#include "otap_parquet/dataset/storage.h"

namespace otap_parquet::nodes {

using engine::Clock;

namespace {

void Set(engine::NodeMetrics& m, const char* name, const char* help, int64_t amount,
         bool counter = true) {
  m.SetExtra({.name = name,
              .label = "",
              .value = "",
              .counter = counter,
              .help = help,
              .amount = amount});
}

void Add(dataset::ReaderStats& total, const dataset::ReaderStats& s) {
  total.partitions += s.partitions;
  total.files_read += s.files_read;
  total.corrupt_files += s.corrupt_files;
  total.row_groups_read += s.row_groups_read;
  total.row_groups_skipped += s.row_groups_skipped;
  total.row_groups_without_stats += s.row_groups_without_stats;
  total.bytes_read += s.bytes_read;
  for (size_t i = 0; i < total.rows_per_table.size() && i < s.rows_per_table.size();
       ++i) {
    total.rows_per_table[i] += s.rows_per_table[i];
  }
  total.orphan_rows += s.orphan_rows;
  total.unreferenced_attr_rows += s.unreferenced_attr_rows;
  total.filtered_rows += s.filtered_rows;
  total.unresolved_resource_rows += s.unresolved_resource_rows;
  total.upstream_batch_splits += s.upstream_batch_splits;
  total.peak_buffered_rows = std::max(total.peak_buffered_rows, s.peak_buffered_rows);
  total.batches_emitted += s.batches_emitted;
  total.roots_emitted += s.roots_emitted;
  total.resume_skipped_files += s.resume_skipped_files;
  total.id_collisions += s.id_collisions;
}

uint64_t Fnv1a(const std::string& text) {
  uint64_t h = 1469598103934665603ull;
  for (unsigned char c : text) {
    h ^= c;
    h *= 1099511628211ull;
  }
  return h;
}

}  // namespace

bool PartitionOfCore(const std::string& partition, int core, int num_cores) {
  if (num_cores <= 1) return true;
  return static_cast<int>(Fnv1a(partition) % static_cast<uint64_t>(num_cores)) == core;
}

// ----------------------------------------------------------------------------------
// SharedCheckpoint: one checkpoint file per process, shared by the pipeline
// instances (each owns the units of its partitions), written under a lock.

class SharedCheckpoint {
 public:
  static arrow::Result<std::shared_ptr<SharedCheckpoint>> Open(
      std::shared_ptr<arrow::fs::FileSystem> fs, const std::string& path,
      const std::string& dataset) {
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
      shared->state_ = std::move(*loaded);
      shared->existed_ = true;
    }
    shared->state_.dataset = dataset;
    registry[key] = shared;
    return shared;
  }

  /// Units of the loaded checkpoint that belong to instance `core` of `num_cores`.
  std::map<dataset::ReplayUnit, dataset::UnitProgress> UnitsOf(int core,
                                                               int num_cores) const {
    std::lock_guard<std::mutex> lock(mutex_);
    std::map<dataset::ReplayUnit, dataset::UnitProgress> units;
    for (const auto& [unit, progress] : state_.units) {
      if (PartitionOfCore(unit.partition, core, num_cores)) units[unit] = progress;
    }
    return units;
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

arrow::Result<std::unique_ptr<engine::Node>> ParquetReceiver::Make(
    const engine::NodeSettings& settings, const YAML::Node& config) {
  ARROW_ASSIGN_OR_RAISE(
      auto c, config::ParseTyped<ParquetReceiverConfig>(config, settings.config_path));
  ARROW_RETURN_NOT_OK(c.ToReaderOptions().Validate());
  return std::unique_ptr<engine::Node>(new ParquetReceiver(std::move(c), settings));
}

ParquetReceiver::~ParquetReceiver() {
  // Last resort (e.g. a forced stop): persist what was acknowledged.
  if (checkpoint_ && checkpoint_dirty_) (void)checkpoint_->Write(progress_.acked());
}

dataset::ReaderStats ParquetReceiver::stats() const {
  dataset::ReaderStats total = closed_stats_;
  if (reader_) Add(total, reader_->stats());
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
    ARROW_ASSIGN_OR_RAISE(fs, dataset::FileSystemFromUri(dir.empty() ? "/" : dir,
                                                         config_.storage.s3, &path));
    path += "/" + name;
  }
  ARROW_ASSIGN_OR_RAISE(
      checkpoint_, SharedCheckpoint::Open(fs, path, dataset::DisplayUri(*fs_, base_)));
  progress_ = dataset::ReplayProgress(
      checkpoint_->UnitsOf(settings_.core, std::max(1, settings_.num_cores)));
  effect.logger().info(
      "receiver.parquet.checkpoint node={} core={} uri={} resumed={} "
      "units={}",
      effect.node_id(), effect.core(), checkpoint_->display(), checkpoint_->existed(),
      progress_.acked().size());
  return arrow::Status::OK();
}

arrow::Status ParquetReceiver::Start(engine::EffectHandler& effect) {
  auto fs = dataset::MakeFileSystem(config_.storage, &base_);
  if (!fs.ok()) {
    return fs.status().WithMessage("receiver:parquet ", effect.node_id(), ": ",
                                   fs.status().message());
  }
  fs_ = std::move(*fs);
  if (config_.checkpoint) {
    auto st = OpenCheckpoint(effect);
    if (!st.ok()) {
      return st.WithMessage("receiver:parquet ", effect.node_id(), ": ", st.message());
    }
  }
  effect.logger().info(
      "receiver.parquet.start node={} core={}/{} base={} batch_size={} "
      "polling_interval_ms={} pacing={}",
      effect.node_id(), effect.core(), settings_.num_cores,
      dataset::DisplayUri(*fs_, base_), config_.batch_size,
      std::chrono::duration_cast<std::chrono::milliseconds>(config_.polling_interval)
          .count(),
      config_.pace_original ? "original" : "fast");
  if (!polling() && !OpenReader(effect)) {
    return arrow::Status::IOError("receiver:parquet ", effect.node_id(),
                                  ": cannot open dataset ",
                                  dataset::DisplayUri(*fs_, base_));
  }
  UpdateMetrics(effect);
  return arrow::Status::OK();
}

bool ParquetReceiver::OpenReader(engine::EffectHandler& effect) {
  dataset::ReaderOptions options = config_.ToReaderOptions();
  const int core = settings_.core;
  const int num_cores = std::max(1, settings_.num_cores);
  if (num_cores > 1) {
    options.partition_filter = [core, num_cores](const dataset::PartitionPlan& p) {
      return PartitionOfCore(p.path, core, num_cores);
    };
  }
  options.resume = [this](const dataset::PartitionPlan& p, Signal signal) {
    return progress_.ResumeFor(p, signal);
  };
  auto reader = dataset::DatasetReader::Make(fs_, base_, std::move(options));
  polls_++;
  if (!reader.ok()) {
    effect.metrics().errors++;
    effect.logger().error("receiver.parquet.open_failed node={} base={} error={}",
                          effect.node_id(), dataset::DisplayUri(*fs_, base_),
                          reader.status().ToString());
    return false;
  }
  reader_ = std::move(*reader);
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
  return true;
}

void ParquetReceiver::CloseReader() {
  if (!reader_) return;
  Add(closed_stats_, reader_->stats());
  reader_.reset();
  units_.clear();
  units_done_ = 0;
}

void ParquetReceiver::UnitsDoneUpTo(size_t upto) {
  const auto& partitions = reader_->plan().partitions;
  for (; units_done_ < upto && units_done_ < units_.size(); ++units_done_) {
    const auto& [p, signal] = units_[units_done_];
    const auto& partition = partitions[static_cast<size_t>(p)];
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
      "nacked={} in_flight={} files={} corrupt_files={} orphan_rows={} "
      "resume_skipped_files={} id_collisions={}",
      effect.node_id(), effect.core(), batches_emitted_, records_emitted_, acked_,
      nacked_, in_flight_, s.files_read, s.corrupt_files, s.orphan_rows,
      s.resume_skipped_files, s.id_collisions);
  effect.ReportFinished();
}

void ParquetReceiver::MaybeFinish(engine::EffectHandler& effect) {
  if (exhausted_ && in_flight_ == 0 && retry_due_.empty()) Finish(effect);
}

void ParquetReceiver::MaybeWriteCheckpoint(engine::EffectHandler& effect, bool force) {
  if (!checkpoint_ || !checkpoint_dirty_) return;
  const Clock::time_point now = Clock::now();
  if (!force && checkpoint_written_ &&
      now - last_checkpoint_write_ < config_.checkpoint->interval) {
    return;
  }
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
  if (config_.retry.max_retries > 0) sent_.emplace(token, Sent{msg.batch, 0});
  Emit(token, std::move(msg), effect);
}

void ParquetReceiver::Emit(uint64_t token, engine::PData msg,
                           engine::EffectHandler& effect) {
  effect.Subscribe(msg, token);
  in_flight_++;
  auto st = effect.Send(std::move(msg));
  if (!st.ok()) effect.metrics().errors++;  // Nacked by the engine: in_flight settles
}

void ParquetReceiver::Abandon(uint64_t token) {
  sent_.erase(token);
  progress_.Nacked(token);
  abandoned_++;
}

Clock::time_point ParquetReceiver::Poll(Clock::time_point now,
                                        engine::EffectHandler& effect) {
  if (!finished_ && !retry_due_.empty() && retry_due_.begin()->first <= now) {
    const uint64_t token = retry_due_.begin()->second;
    retry_due_.erase(retry_due_.begin());
    if (auto it = sent_.find(token); it != sent_.end()) {
      retried_++;
      // The batch's buffers are shared with the kept copy, not copied.
      Emit(token, engine::PData(OtapBatch(it->second.batch)), effect);
      if (exhausted_) settle_deadline_ = std::max(settle_deadline_, now + kSettleTimeout);
      UpdateMetrics(effect);
    }
    return now;
  }
  Clock::time_point next = PollReader(now, effect);
  if (!finished_ && !retry_due_.empty()) next = std::min(next, retry_due_.begin()->first);
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
    // Polling mode between passes.
    if (now < next_poll_) return next_poll_;
    if (!OpenReader(effect)) {
      next_poll_ = now + config_.polling_interval;
      return next_poll_;
    }
  }
  auto next = reader_->Next();
  if (!next.ok()) {
    effect.metrics().errors++;
    effect.logger().error("receiver.parquet.fail node={} error={}", effect.node_id(),
                          next.status().ToString());
    // Nothing of this pass after the failure counts as replayed.
    CloseReader();
    if (!polling()) {
      exhausted_ = true;
      settle_deadline_ = now + kSettleTimeout;
      MaybeFinish(effect);
      return finished_ ? Clock::time_point::max() : settle_deadline_;
    }
    next_poll_ = now + config_.polling_interval;
    return next_poll_;
  }
  if (!next->has_value()) {
    // End of this pass: every unit of the plan is replayed.
    UnitsDoneUpTo(units_.size());
    CloseReader();
    UpdateMetrics(effect);
    if (polling()) {
      next_poll_ = now + config_.polling_interval;
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
  if (config_.pace_original) {
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
  for (const auto& [due, token] : retry_due_) Abandon(token);
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
          "receiver.parquet.retry node={} retry={}/{} in_ms={} reason={}",
          effect.node_id(), attempt, config_.retry.max_retries, backoff.count(),
          nack.reason);
    }
  } else {
    const int64_t retries = it != sent_.end() ? it->second.retries : 0;
    Abandon(calldata);
    if (nack_logs_++ < 5) {
      effect.logger().warn(
          "receiver.parquet.nack node={} permanent={} retries={} reason={} (the "
          "checkpoint stays before this batch for the rest of the run)",
          effect.node_id(), nack.permanent, retries, nack.reason);
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
  if (config_.validate_relations && s.orphan_rows > logged_orphans_) {
    effect.logger().warn("receiver.parquet.orphans node={} orphan_rows={} (+{})",
                         effect.node_id(), s.orphan_rows,
                         s.orphan_rows - logged_orphans_);
    logged_orphans_ = s.orphan_rows;
  }
  engine::NodeMetrics& m = effect.metrics();
  Set(m, "parquet_files_read", "Parquet files whose footer was read", s.files_read);
  Set(m, "parquet_corrupt_files", "Parquet files skipped as unreadable or incompatible",
      s.corrupt_files);
  Set(m, "parquet_row_groups_read", "row groups read", s.row_groups_read);
  Set(m, "parquet_row_groups_skipped", "row groups skipped by time_range",
      s.row_groups_skipped);
  Set(m, "parquet_orphan_rows", "child rows whose parent never appears", s.orphan_rows);
  Set(m, "parquet_id_collisions",
      "partitions not replayed: two writers numbered ids in one id space",
      s.id_collisions);
  Set(m, "parquet_filtered_rows", "rows dropped by time_range", s.filtered_rows);
  Set(m, "parquet_bytes_read", "compressed column chunk bytes read", s.bytes_read);
  Set(m, "parquet_records_emitted", "log records, spans or metric points emitted",
      records_emitted_);
  Set(m, "parquet_batches_emitted", "batches emitted", batches_emitted_);
  Set(m, "parquet_batches_acked", "emitted batches Acked", acked_);
  Set(m, "parquet_batches_nacked", "Nacks received for emitted batches", nacked_);
  Set(m, "parquet_batches_retried", "Nacked batches sent again (retry)", retried_);
  Set(m, "parquet_batches_abandoned",
      "batches given up (permanent Nack, retries exhausted, or shutdown): the "
      "checkpoint stays before them",
      abandoned_);
  Set(m, "parquet_batches_in_flight", "emitted batches not yet settled", in_flight_,
      /*counter=*/false);
  Set(m, "parquet_passes", "dataset discoveries (readers opened)", polls_);
  Set(m, "parquet_resume_skipped_files", "root files not read: replayed before",
      s.resume_skipped_files);
  Set(m, "parquet_checkpoint_lag_batches",
      "emitted batches not acknowledged yet (replayed again after a crash)",
      progress_.lag_batches(), /*counter=*/false);
  Set(m, "parquet_checkpoint_lag_items", "records of those batches",
      progress_.lag_items(), /*counter=*/false);
  Set(m, "parquet_checkpoint_writes", "checkpoint writes", checkpoint_writes_);
  Set(m, "parquet_checkpoint_write_errors", "failed checkpoint writes",
      checkpoint_errors_);
  if (checkpoint_written_) {
    Set(m, "parquet_checkpoint_age_ms", "time since the last checkpoint write",
        std::chrono::duration_cast<std::chrono::milliseconds>(Clock::now() -
                                                              last_checkpoint_write_)
            .count(),
        /*counter=*/false);
  }
}

const engine::NodeFactory kParquetReceiverFactory{
    .urn = "urn:otel:receiver:parquet",
    .kind = engine::NodeKind::kReceiver,
    .description = "replays a Parquet dataset as OTAP batches",
    .validate_config = &config::ValidateTyped<ParquetReceiverConfig>,
    .create = &ParquetReceiver::Make};

}  // namespace otap_parquet::nodes
