// SPDX-License-Identifier: Apache-2.0
#include "otap_parquet/nodes/exporters/parquet/parquet_exporter.h"

#include <chrono>
#include <utility>

#include <spdlog/spdlog.h>

namespace otap_parquet::nodes {

namespace {

using std::chrono::system_clock;

// The writer works with wall-clock deadlines; the engine with steady ones.
system_clock::time_point ToSystem(engine::Clock::time_point deadline) {
  const auto now = engine::Clock::now();
  if (deadline >= now + std::chrono::hours(24 * 365)) {
    return system_clock::time_point::max();
  }
  return system_clock::now() +
         std::chrono::duration_cast<system_clock::duration>(deadline - now);
}

void Set(engine::NodeMetrics& m, const char* name, const char* help, int64_t amount,
         const char* label = "", std::string value = "", bool counter = true) {
  m.SetExtra({.name = name,
              .label = label,
              .value = std::move(value),
              .counter = counter,
              .help = help,
              .amount = amount});
}

}  // namespace

ParquetExporter::ParquetExporter(ParquetExporterNodeConfig config,
                                 engine::NodeSettings settings)
    : config_(std::move(config)), settings_(std::move(settings)) {}

ParquetExporter::~ParquetExporter() = default;

arrow::Result<std::unique_ptr<engine::Node>> ParquetExporter::Make(
    const engine::NodeSettings& settings, const YAML::Node& config) {
  ARROW_ASSIGN_OR_RAISE(auto c, config::ParseTyped<ParquetExporterNodeConfig>(
                                    config, settings.config_path));
  return std::unique_ptr<engine::Node>(new ParquetExporter(std::move(c), settings));
}

arrow::Status ParquetExporter::Start(engine::EffectHandler& effect) {
  storage_stats_ = std::make_shared<dataset::StorageStats>();
  dataset::DatasetWriterSettings ws;
  auto fs =
      dataset::MakeFileSystem(config_.dataset.storage, &ws.base_path, storage_stats_);
  if (!fs.ok()) {
    return fs.status().WithMessage("exporter:parquet ", effect.node_id(), ": ",
                                   fs.status().message());
  }
  ws.filesystem = std::move(*fs);
  ws.storage_stats = storage_stats_;
  ws.logger = settings_.logger;
  ARROW_ASSIGN_OR_RAISE(
      writer_, dataset::DatasetWriter::Make(config_.dataset.writer_options,
                                            config_.dataset.partitioning, std::move(ws)));
  if (auto tick = writer_->tick_interval()) effect.StartPeriodicTimer(*tick);
  effect.logger().info(
      "exporter.parquet.start node={} core={} base_uri={} max_pending_batches={}",
      effect.node_id(), effect.core(), config_.dataset.storage.base_uri,
      config_.max_pending_batches);
  UpdateMetrics(effect);
  return arrow::Status::OK();
}

arrow::Status ParquetExporter::Export(engine::PData msg, engine::EffectHandler& effect) {
  if (!writer_) {
    msg.context.Nack({"exporter:parquet not started", false});
    return arrow::Status::OK();
  }
  ++*pending_;
  // The writer completes futures synchronously inside its calls (on this thread):
  // now when the batch failed or its rows were flushed at once, else in a later
  // Write/Tick/Close.
  writer_->Write(msg.batch).AddCallback(
      [pending = pending_,
       ctx = std::move(msg.context)](const arrow::Status& st) mutable {
        --*pending;
        if (st.ok()) {
          ctx.Ack();
        } else {
          ctx.Nack({st.ToString(), st.IsInvalid()});
        }
      });
  if (*pending_ >= config_.max_pending_batches) {
    // Never wait for a timer (or for rows that may not come) with intake stopped:
    // the bound publishes what is pending now, and intake goes on.
    auto st = writer_->Flush(dataset::FlushReason::kPending);
    if (!st.ok()) {
      // The batches concerned were Nacked; the writer goes on.
      effect.metrics().errors++;
      effect.logger().warn("exporter.parquet.flush_failed node={} core={} error={}",
                           effect.node_id(), effect.core(), st.ToString());
    }
  }
  UpdateMetrics(effect);
  return arrow::Status::OK();
}

bool ParquetExporter::AcceptsPdata() const {
  return *pending_ < config_.max_pending_batches;
}

arrow::Status ParquetExporter::OnTimer(engine::Clock::time_point,
                                       engine::EffectHandler& effect) {
  if (!writer_) return arrow::Status::OK();
  const bool was_full = !AcceptsPdata();
  // Failures reach the futures of the batches concerned (Nacks); log and go on.
  auto st = writer_->Tick(system_clock::now());
  if (!st.ok()) {
    effect.metrics().errors++;
    effect.logger().warn("exporter.parquet.tick_failed node={} core={} error={}",
                         effect.node_id(), effect.core(), st.ToString());
  }
  UpdateMetrics(effect);
  if (was_full && AcceptsPdata()) effect.Wake();
  return arrow::Status::OK();
}

arrow::Future<> ParquetExporter::Shutdown(engine::Clock::time_point deadline,
                                          engine::EffectHandler& effect) {
  if (!writer_) return arrow::Future<>::MakeFinished();
  effect.CancelTimer();
  const int64_t pending = *pending_;
  auto st = writer_->Close(ToSystem(deadline));
  UpdateMetrics(effect);
  const auto m = writer_->metrics();
  // Destroying the writer settles any context it still held (AckContext Nacks
  // itself), so nothing is left pending once the future completes.
  writer_.reset();
  effect.logger().info(
      "exporter.parquet.shutdown node={} core={} pending_at_shutdown={} "
      "files_closed={} rows_written={} batches_acked={} batches_failed={} status={}",
      effect.node_id(), effect.core(), pending, m.files_closed, m.rows_written_total(),
      m.batches_acked, m.batches_failed, st.ToString());
  if (!st.ok()) {
    return arrow::Future<>::MakeFinished(
        st.WithMessage("exporter:parquet ", effect.node_id(), " close: ", st.message()));
  }
  return arrow::Future<>::MakeFinished();
}

void ParquetExporter::UpdateMetrics(engine::EffectHandler& effect) const {
  if (!writer_) return;
  const dataset::WriterMetrics w = writer_->metrics();
  engine::NodeMetrics& m = effect.metrics();
  Set(m, "parquet_files_created", "Parquet files opened", w.files_created);
  Set(m, "parquet_files_closed", "Parquet files published", w.files_closed);
  Set(m, "parquet_files_discarded", "Parquet files discarded after an error",
      w.files_discarded);
  Set(m, "parquet_stale_temp_files_removed",
      "temporary files of crashed writers removed at start", w.stale_temp_files_removed);
  Set(m, "parquet_temp_cleanup_errors", "failed stale temporary file cleanups",
      w.temp_cleanup_errors);
  for (int i = 0; i < kPayloadTypeSlots; ++i) {
    if (w.rows_written[i] == 0) continue;
    Set(m, "parquet_rows_written", "rows in published files, per table",
        w.rows_written[i], "table", std::string(TableName(static_cast<PayloadType>(i))));
  }
  Set(m, "parquet_bytes_written", "bytes of published files", w.bytes_written);
  for (int r = 0; r < dataset::kFlushReasons; ++r) {
    Set(m, "parquet_flushes", "partition flushes, per reason", w.flushes[r], "reason",
        std::string(dataset::FlushReasonName(static_cast<dataset::FlushReason>(r))));
  }
  Set(m, "parquet_write_errors", "failed writes or flushes", w.write_errors);
  Set(m, "parquet_retries", "object-store request retries", w.retries);
  Set(m, "parquet_batches_acked", "batches durably written (Acked)", w.batches_acked);
  Set(m, "parquet_batches_failed", "batches that failed (Nacked)", w.batches_failed);
  Set(m, "parquet_pending_batches", "batches waiting for a flush", *pending_, "", "",
      /*counter=*/false);
}

const engine::NodeFactory kParquetExporterFactory{
    .urn = "urn:otel:exporter:parquet",
    .kind = engine::NodeKind::kExporter,
    .description = "writes OTAP batches to a partitioned Parquet dataset",
    .validate_config = &config::ValidateTyped<ParquetExporterNodeConfig>,
    .create = &ParquetExporter::Make};

}  // namespace otap_parquet::nodes
