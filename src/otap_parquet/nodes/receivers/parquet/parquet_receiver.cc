// SPDX-License-Identifier: Apache-2.0
#include "otap_parquet/nodes/receivers/parquet/parquet_receiver.h"

#include <utility>

#include <spdlog/logger.h>

namespace otap_parquet::nodes {

using engine::Clock;

namespace {

// Batches read per Poll at most while skipping already replayed partitions.
constexpr int kMaxSkipsPerPoll = 64;

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
}

}  // namespace

arrow::Result<std::unique_ptr<engine::Node>> ParquetReceiver::Make(
    const engine::NodeSettings& settings, const YAML::Node& config) {
  ARROW_ASSIGN_OR_RAISE(
      auto c, config::ParseTyped<ParquetReceiverConfig>(config, settings.config_path));
  ARROW_RETURN_NOT_OK(c.ToReaderOptions().Validate());
  return std::unique_ptr<engine::Node>(new ParquetReceiver(std::move(c), settings));
}

dataset::ReaderStats ParquetReceiver::stats() const {
  dataset::ReaderStats total = closed_stats_;
  if (reader_) Add(total, reader_->stats());
  return total;
}

arrow::Status ParquetReceiver::Start(engine::EffectHandler& effect) {
  if (effect.core() != 0) {
    // TODO: split partitions by instance index; for now instance 0 reads all.
    idle_ = true;
    effect.logger().info("receiver.parquet.idle node={} core={} (only core 0 reads)",
                         effect.node_id(), effect.core());
    return arrow::Status::OK();
  }
  auto fs = dataset::MakeFileSystem(config_.storage, &base_);
  if (!fs.ok()) {
    return fs.status().WithMessage("receiver:parquet ", effect.node_id(), ": ",
                                   fs.status().message());
  }
  fs_ = std::move(*fs);
  effect.logger().info(
      "receiver.parquet.start node={} base={} batch_size={} polling_interval_ms={}",
      effect.node_id(), dataset::DisplayUri(*fs_, base_), config_.batch_size,
      std::chrono::duration_cast<std::chrono::milliseconds>(config_.polling_interval)
          .count());
  if (!polling() && !OpenReader(effect)) {
    return arrow::Status::IOError("receiver:parquet ", effect.node_id(),
                                  ": cannot open dataset ",
                                  dataset::DisplayUri(*fs_, base_));
  }
  UpdateMetrics(effect);
  return arrow::Status::OK();
}

bool ParquetReceiver::OpenReader(engine::EffectHandler& effect) {
  auto reader = dataset::DatasetReader::Make(fs_, base_, config_.ToReaderOptions());
  polls_++;
  if (!reader.ok()) {
    effect.metrics().errors++;
    effect.logger().error("receiver.parquet.open_failed node={} base={} error={}",
                          effect.node_id(), dataset::DisplayUri(*fs_, base_),
                          reader.status().ToString());
    return false;
  }
  reader_ = std::move(*reader);
  return true;
}

void ParquetReceiver::CloseReader() {
  if (!reader_) return;
  Add(closed_stats_, reader_->stats());
  if (polling()) {
    for (const auto& partition : reader_->plan().partitions) {
      done_partitions_.insert(partition.path);
    }
  }
  reader_.reset();
}

void ParquetReceiver::Finish(engine::EffectHandler& effect) {
  if (finished_) return;
  finished_ = true;
  CloseReader();
  UpdateMetrics(effect);
  const dataset::ReaderStats s = stats();
  effect.logger().info(
      "receiver.parquet.complete node={} core={} batches={} records={} acked={} "
      "nacked={} in_flight={} files={} corrupt_files={} orphan_rows={}",
      effect.node_id(), effect.core(), batches_emitted_, records_emitted_, acked_,
      nacked_, in_flight_, s.files_read, s.corrupt_files, s.orphan_rows);
  effect.ReportFinished();
}

void ParquetReceiver::MaybeFinish(engine::EffectHandler& effect) {
  if (exhausted_ && in_flight_ == 0) Finish(effect);
}

Clock::time_point ParquetReceiver::Poll(Clock::time_point now,
                                        engine::EffectHandler& effect) {
  if (finished_) return Clock::time_point::max();
  if (idle_) {
    Finish(effect);
    return Clock::time_point::max();
  }
  if (exhausted_) {
    // Waiting for the outcome of in-flight batches (OnAck/OnNack finish earlier).
    if (now >= settle_deadline_) {
      effect.logger().warn(
          "receiver.parquet.settle_timeout node={} in_flight={} (left to the drain)",
          effect.node_id(), in_flight_);
      Finish(effect);
      return Clock::time_point::max();
    }
    return settle_deadline_;
  }
  if (!reader_) {
    // Polling mode between passes.
    if (now < next_poll_) return next_poll_;
    if (!OpenReader(effect)) {
      next_poll_ = now + config_.polling_interval;
      return next_poll_;
    }
  }
  for (int skips = 0; skips <= kMaxSkipsPerPoll; ++skips) {
    auto next = reader_->Next();
    if (!next.ok()) {
      effect.metrics().errors++;
      effect.logger().error("receiver.parquet.fail node={} error={}", effect.node_id(),
                            next.status().ToString());
      if (!polling()) {
        exhausted_ = true;
        settle_deadline_ = now + kSettleTimeout;
        MaybeFinish(effect);
        return finished_ ? Clock::time_point::max() : settle_deadline_;
      }
      reader_.reset();
      next_poll_ = now + config_.polling_interval;
      return next_poll_;
    }
    if (!next->has_value()) {
      // End of this pass.
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
    if (polling() && done_partitions_.count(reader_->position().partition_path)) {
      batches_skipped_++;  // replayed by an earlier pass
      continue;
    }
    engine::PData msg(std::move(**next));
    records_emitted_ += msg.num_items();
    batches_emitted_++;
    effect.Subscribe(msg, static_cast<uint64_t>(batches_emitted_));
    in_flight_++;
    auto st = effect.Send(std::move(msg));
    if (!st.ok()) effect.metrics().errors++;  // Nacked by the engine: in_flight settles
    UpdateMetrics(effect);
    return now;
  }
  UpdateMetrics(effect);
  return now;
}

void ParquetReceiver::Drain(engine::EffectHandler& effect) {
  draining_ = true;
  effect.logger().info("receiver.parquet.drain node={} core={} batches={} in_flight={}",
                       effect.node_id(), effect.core(), batches_emitted_, in_flight_);
}

void ParquetReceiver::OnAck(uint64_t, engine::AckContext, engine::EffectHandler& effect) {
  in_flight_--;
  acked_++;
  UpdateMetrics(effect);
  MaybeFinish(effect);
}

void ParquetReceiver::OnNack(uint64_t, const engine::NackInfo& nack, engine::AckContext,
                             engine::EffectHandler& effect) {
  in_flight_--;
  nacked_++;
  if (nack_logs_++ < 5) {
    effect.logger().warn("receiver.parquet.nack node={} permanent={} reason={}",
                         effect.node_id(), nack.permanent, nack.reason);
  }
  UpdateMetrics(effect);
  MaybeFinish(effect);
}

arrow::Future<> ParquetReceiver::Shutdown(Clock::time_point,
                                          engine::EffectHandler& effect) {
  if (!idle_) {
    CloseReader();
    UpdateMetrics(effect);
    if (in_flight_ > 0) {
      // Downstream nodes settle them during their own shutdown (bounded by the
      // engine's deadline); unsettled ones are Nacked by the engine.
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
  Set(m, "parquet_filtered_rows", "rows dropped by time_range", s.filtered_rows);
  Set(m, "parquet_bytes_read", "compressed column chunk bytes read", s.bytes_read);
  Set(m, "parquet_records_emitted", "log records, spans or metric points emitted",
      records_emitted_);
  Set(m, "parquet_batches_emitted", "batches emitted", batches_emitted_);
  Set(m, "parquet_batches_skipped", "batches of already replayed partitions skipped",
      batches_skipped_);
  Set(m, "parquet_batches_acked", "emitted batches Acked", acked_);
  Set(m, "parquet_batches_nacked", "emitted batches Nacked", nacked_);
  Set(m, "parquet_batches_in_flight", "emitted batches not yet settled", in_flight_,
      /*counter=*/false);
  Set(m, "parquet_passes", "dataset discoveries (readers opened)", polls_);
}

const engine::NodeFactory kParquetReceiverFactory{
    .urn = "urn:otel:receiver:parquet",
    .kind = engine::NodeKind::kReceiver,
    .description = "replays a Parquet dataset as OTAP batches",
    .validate_config = &config::ValidateTyped<ParquetReceiverConfig>,
    .create = &ParquetReceiver::Make};

}  // namespace otap_parquet::nodes
