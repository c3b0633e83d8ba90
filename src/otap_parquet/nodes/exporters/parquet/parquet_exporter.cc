// SPDX-License-Identifier: Apache-2.0
#include "otap_parquet/nodes/exporters/parquet/parquet_exporter.h"

#include <algorithm>
#include <chrono>
#include <filesystem>
#include <map>
#include <mutex>
#include <utility>

#include <spdlog/spdlog.h>

#include "otap_parquet/nodes/exporters/parquet/metrics.h"

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

std::function<arrow::Status()>& WalSyncHook() {
  static std::function<arrow::Status()> hook;
  return hook;
}

std::function<arrow::Status(const std::string&)>& PublishHook() {
  static std::function<arrow::Status(const std::string&)> hook;
  return hook;
}

std::function<void(const std::string&)>& RenameHook() {
  static std::function<void(const std::string&)> hook;
  return hook;
}

std::function<bool(std::string_view)>& WalMarkHook() {
  static std::function<bool(std::string_view)> hook;
  return hook;
}

constexpr std::chrono::milliseconds kRefeedMaxBackoff{30000};
constexpr std::chrono::milliseconds kWalTimer{1000};
// How soon a finished background publish is settled when no batch comes (without
// the WAL its batches' Acks wait for it).
constexpr std::chrono::milliseconds kSettlePoll{50};
// Partitions queued or being published at once; one more blocks the pipeline
// thread (storage slower than intake: backpressure, bounded memory).
constexpr size_t kPublishQueue = 2;

}  // namespace

/// The context of an appended batch, completed once: by the WAL's sync thread
/// (Ack, or a retryable Nack when the sync failed) or by the exporter thread when
/// the writer refused the batch as invalid before that.
struct ParquetExporter::WalEntry {
  enum class State { kWaiting, kAcked, kNacked };
  std::mutex mu;
  engine::AckContext ctx;
  State state = State::kWaiting;

  State Complete(const arrow::Status& st, bool permanent) {
    std::lock_guard<std::mutex> lock(mu);
    if (state != State::kWaiting) return state;
    if (st.ok()) {
      ctx.Ack();
      state = State::kAcked;
    } else {
      ctx.Nack({st.ToString(), permanent});
      state = State::kNacked;
    }
    return state;
  }
  State Get() {
    std::lock_guard<std::mutex> lock(mu);
    return state;
  }
};

ParquetExporter::ParquetExporter(ParquetExporterNodeConfig config,
                                 engine::NodeSettings settings)
    : config_(std::move(config)), settings_(std::move(settings)) {}

void ParquetExporter::SetWalSyncHookForTesting(std::function<arrow::Status()> hook) {
  WalSyncHook() = std::move(hook);
}

void ParquetExporter::SetPublishHookForTesting(
    std::function<arrow::Status(const std::string& uri)> hook) {
  PublishHook() = std::move(hook);
}

void ParquetExporter::SetRenameHookForTesting(
    std::function<void(const std::string& uri)> hook) {
  RenameHook() = std::move(hook);
}

void ParquetExporter::SetWalMarkHookForTesting(
    std::function<bool(std::string_view kind)> hook) {
  WalMarkHook() = std::move(hook);
}

ParquetExporter::~ParquetExporter() {
  retention_.reset();
  if (!active_part_id_.empty()) ActivePartIds::Replace(active_part_id_, "");
  // The writer's callbacks use the logs: settle them first (it waits for its
  // background publishes; records whose rows are not published stay in the logs,
  // for the next start).
  closing_ = true;
  writer_.reset();
  publisher_.reset();
  for (auto& log : wals_) log->Close();
}

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
      dataset::MakeFileSystem(config_.dataset.storage, &ws.base_path, storage_stats_,
                              util::EventLog(settings_.logger, "exporter.parquet"));
  if (!fs.ok()) {
    return fs.status().WithMessage("exporter:parquet ", effect.node_id(), ": ",
                                   fs.status().message());
  }
  ws.filesystem = std::move(*fs);
  ws.storage_stats = storage_stats_;
  ws.logger = settings_.logger;
  ws.event_scope = "exporter.parquet";
  publisher_ = std::make_unique<util::SerialWorker>("pq-publish", kPublishQueue);
  ws.publisher = publisher_.get();
  ws.before_publish_for_testing = PublishHook();
  ws.before_rename_for_testing = RenameHook();
  const std::string base_path = ws.base_path;
  auto retention_fs = ws.filesystem;
  ARROW_ASSIGN_OR_RAISE(
      writer_, dataset::DatasetWriter::Make(config_.dataset.writer_options,
                                            config_.dataset.partitioning, std::move(ws)));
  effect_ = &effect;
  auto tick = writer_->tick_interval();
  if (config_.wal.enabled) {
    auto st = StartWal(base_path, retention_fs, effect);
    if (!st.ok()) {
      return st.WithMessage("exporter:parquet ", effect.node_id(),
                            " wal: ", st.message());
    }
    // Re-writes after failed flushes need a timer even without an age rule.
    tick = tick ? std::min(*tick, kWalTimer) : kWalTimer;
  }
  tick_ = tick;
  UpdateTimer(effect);
  effect.logger().info(
      "exporter.parquet.start node={} core={} base_uri={} max_pending_batches={} wal={}",
      effect.node_id(), effect.core(), config_.dataset.storage.base_uri,
      config_.max_pending_batches, wals_.empty() ? "off" : wals_[0]->dir());
  UpdateMetrics(effect);
  if (config_.retention && effect.core() == 0) {
    // One pass per process (core 0), beside the pipeline thread; after the
    // writer registered its `_part_id` (UpdateMetrics), which is never deleted.
    retention_ = std::make_unique<RetentionWorker>(*config_.retention, retention_fs,
                                                   base_path, config_.dataset.storage,
                                                   effect.node_id(), settings_.logger);
  }
  return arrow::Status::OK();
}

arrow::Status ParquetExporter::StartWal(const std::string& base_path,
                                        const std::shared_ptr<arrow::fs::FileSystem>& fs,
                                        engine::EffectHandler& effect) {
  std::string root = config_.wal.path;
  if (root.empty()) root = base_path + "/_wal";  // config: file datasets only
  const std::string node_dir = root + "/" + effect.node_id();
  wal::WalOptions options;
  options.dir = node_dir + "/core-" + std::to_string(effect.core());
  options.segment_size = config_.wal.segment_size;
  options.max_size = config_.wal.max_size;
  options.fail_sync_for_testing = WalSyncHook();
  options.before_mark_for_testing = WalMarkHook();
  std::vector<std::string> dirs = {options.dir};
  if (effect.core() == 0) {
    // Logs of instances that no longer exist (a restart with fewer cores).
    std::error_code ec;
    for (const auto& entry : std::filesystem::directory_iterator(node_dir, ec)) {
      const std::string name = entry.path().filename().string();
      if (!entry.is_directory() || !name.starts_with("core-")) continue;
      const std::string n = name.substr(5);
      if (n.empty() || !std::all_of(n.begin(), n.end(), ::isdigit)) continue;
      if (std::stoll(n) >= settings_.num_cores) dirs.push_back(entry.path().string());
    }
  }
  for (const auto& dir : dirs) {
    auto opts = options;
    opts.dir = dir;
    ARROW_ASSIGN_OR_RAISE(auto log, wal::Wal::Open(std::move(opts), settings_.logger));
    const auto m = log->metrics();
    effect.logger().info(
        "exporter.parquet.wal_open node={} core={} dir={} segments={} bytes={} "
        "unfinished_records={} torn_tails={} corrupt_regions={} salvaged_records={} "
        "adopted={}",
        effect.node_id(), effect.core(), dir, m.segments, m.bytes, m.recovered_records,
        m.torn_tails, m.corrupt_regions, m.salvaged_records, dir != options.dir);
    wals_.push_back(std::move(log));
  }
  // Everything acknowledged before the crash goes to the writer before new data,
  // but for the partitions of a record already published before it (its `.parts`
  // marks, or an intent whose commit file exists: a kill came between the publish
  // and its marks): writing those again would duplicate them.
  int64_t skipped = 0;
  int64_t by_intent = 0;
  std::map<std::string, bool> exists;  // commit file -> found (one lookup each)
  auto published = [&](const std::string& commit_file) {
    auto [it, added] = exists.try_emplace(commit_file, false);
    if (!added) return it->second;
    const std::string path =
        base_path.empty() ? commit_file : base_path + "/" + commit_file;
    auto info = fs->GetFileInfo(path);
    if (!info.ok()) {
      // Unknown: written again (a duplicate at worst, never a loss).
      effect.logger().warn(
          "exporter.parquet.wal_intent_check_failed node={} core={} file={} error=\"{}\" "
          "(its partition is written again)",
          effect.node_id(), effect.core(), path, info.status().ToString());
    }
    it->second = info.ok() && info->type() == arrow::fs::FileType::File;
    return it->second;
  };
  for (size_t i = 0; i < wals_.size(); ++i) {
    ARROW_RETURN_NOT_OK(wals_[i]->Replay([&](wal::RecordId id, OtapBatch batch) {
      ++wal_replayed_;
      WalRef ref{i, id};
      for (auto& partition : wals_[i]->PublishedPartitions(id)) {
        ref.progress->published.insert(std::move(partition));
        ++skipped;
      }
      for (const auto& intent : wals_[i]->PublishIntents(id)) {
        // Missing: never published, or removed since (compaction, retention): written
        // again, a duplicate at worst.
        if (ref.progress->published.contains(intent.partition) ||
            !published(intent.commit_file)) {
          continue;
        }
        ref.progress->published.insert(intent.partition);
        // Noted as published: the file may be compacted away before the record is done.
        wals_[i]->MarkPublished(id, intent.partition);
        ++skipped;
        ++by_intent;
      }
      TrackProgress(ref);
      WriteRecord(ref, batch, nullptr);
      return arrow::Status::OK();
    }));
  }
  if (wal_replayed_ > 0) {
    effect.logger().info(
        "exporter.parquet.wal_replayed node={} core={} records={} "
        "skipped_published_partitions={} (of which by intent: {})",
        effect.node_id(), effect.core(), wal_replayed_, skipped, by_intent);
  }
  return arrow::Status::OK();
}

void ParquetExporter::TrackProgress(const WalRef& ref) {
  wal::Wal* log = wals_[ref.log].get();
  ref.progress->on_published = [log, id = ref.id](const std::string& partition) {
    log->MarkPublished(id, partition);
  };
  ref.progress->on_publishing = [log, id = ref.id](const std::string& partition,
                                                   const std::string& commit_file) {
    log->MarkPublishing(id, partition, commit_file);
  };
}

void ParquetExporter::WriteRecord(WalRef ref, const OtapBatch& batch,
                                  std::shared_ptr<WalEntry> entry) {
  writer_->Write(batch, ref.progress)
      .AddCallback([this, ref, entry = std::move(entry)](const arrow::Status& st) {
        OnRecordWritten(ref, st, entry);
      });
}

void ParquetExporter::OnRecordWritten(WalRef ref, const arrow::Status& st,
                                      const std::shared_ptr<WalEntry>& entry) {
  // Runs on the exporter thread (inside Write/Flush/Tick/Close).
  wal::Wal& log = *wals_[ref.log];
  if (st.ok()) {
    log.MarkDone(ref.id);
    refeed_backoff_ = std::chrono::milliseconds(1000);
    return;
  }
  if (st.IsInvalid()) {
    // Bad data never gets better: Nack it permanently when not acked yet.
    const bool acked =
        !entry || entry->Complete(st, /*permanent=*/true) == WalEntry::State::kAcked;
    log.MarkDone(ref.id);
    if (acked) {
      ++wal_invalid_;
      settings_.logger->error(
          "exporter.parquet.wal_record_invalid dir={} record={}:{} error=\"{}\" (an "
          "acknowledged batch the writer refuses as invalid: given up)",
          log.dir(), ref.id.segment, ref.id.index, st.ToString());
      if (effect_) effect_->ReportUndelivered("given up (invalid)", 1, 0);
    }
    return;
  }
  if (entry && entry->Get() == WalEntry::State::kNacked) {
    // Its sender was told to retry; writing it again would duplicate it.
    log.MarkDone(ref.id);
    return;
  }
  ++wal_write_failures_;
  if (closing_) return;  // stays in the log: replayed at the next start
  settings_.logger->warn(
      "exporter.parquet.wal_rewrite_scheduled dir={} record={}:{} in={}ms error=\"{}\" "
      "(the batch stays in the write-ahead log and is written again)",
      log.dir(), ref.id.segment, ref.id.index, refeed_backoff_.count(), st.ToString());
  if (refeed_.empty()) next_refeed_ = std::chrono::steady_clock::now() + refeed_backoff_;
  refeed_.push_back({ref, entry});
}

void ParquetExporter::Refeed(engine::EffectHandler& effect) {
  if (refeed_.empty() || std::chrono::steady_clock::now() < next_refeed_) return;
  auto due = std::move(refeed_);
  refeed_.clear();
  refeed_backoff_ = std::min(refeed_backoff_ * 2, kRefeedMaxBackoff);
  next_refeed_ = std::chrono::steady_clock::now() + refeed_backoff_;
  for (const auto& [ref, entry] : due) {
    if (entry && entry->Get() == WalEntry::State::kNacked) {
      // Its WAL sync failed after the write did: the sender was told to retry,
      // so writing it again would duplicate it.
      wals_[ref.log]->MarkDone(ref.id);
      continue;
    }
    auto batch = wals_[ref.log]->Read(ref.id);
    if (!batch.ok()) {
      // Unreadable in its own log: nothing left to retry from.
      ++wal_read_errors_;
      effect.metrics().errors++;
      effect.logger().error(
          "exporter.parquet.wal_read_failed node={} core={} record={}:{} error=\"{}\" "
          "(an acknowledged batch is lost)",
          effect.node_id(), effect.core(), ref.id.segment, ref.id.index,
          batch.status().ToString());
      effect.ReportUndelivered("lost (WAL record unreadable)", 1, 0);
      continue;
    }
    ++wal_refeeds_;
    WriteRecord(ref, *batch, entry);
  }
}

arrow::Status ParquetExporter::ExportWithWal(engine::PData msg,
                                             engine::EffectHandler& effect) {
  wal::Wal& log = *wals_[0];
  if (log.full()) {
    // Publishing what is open frees the segments that only wait for it.
    auto st = writer_->Flush(dataset::FlushReason::kWalFull);
    if (!st.ok()) {
      effect.metrics().errors++;
      effect.logger().warn("exporter.parquet.flush_failed node={} core={} error={}",
                           effect.node_id(), effect.core(), st.ToString());
    }
    for (auto& other : wals_) other->Reclaim();
  }
  if (log.full()) {
    (void)log.Append(msg.batch, nullptr);  // counts the refusal
    msg.context.Nack({"exporter:parquet: write-ahead log " + log.dir() +
                          " is full (max_size " + std::to_string(log.options().max_size) +
                          " bytes of unpublished batches); retry later",
                      false});
    UpdateMetrics(effect);
    return arrow::Status::OK();
  }
  // The writer first: a batch it refuses (bad data) is Nacked, never logged. One
  // it could not write for a storage error (the dataset's disk full or its store
  // down, the batch needing a new file) is logged and Acked like any other and
  // written again from the log: the log takes batches while the storage is down,
  // until max_size.
  auto progress = std::make_shared<dataset::WriteProgress>();
  auto written = writer_->Write(msg.batch, progress);
  if (written.is_finished() && written.status().IsInvalid()) {
    msg.context.Nack({written.status().ToString(), /*permanent=*/true});
    UpdateMetrics(effect);
    return arrow::Status::OK();
  }
  auto entry = std::make_shared<WalEntry>();
  entry->ctx = std::move(msg.context);
  ++*unsynced_;
  auto appended =
      log.Append(msg.batch, [entry, unsynced = unsynced_](const arrow::Status& st) {
        --*unsynced;
        entry->Complete(
            st.ok() ? st : st.WithMessage("write-ahead log sync failed: ", st.message()),
            /*permanent=*/false);
      });
  if (!appended.ok()) {
    --*unsynced_;
    effect.metrics().errors++;
    effect.logger().warn("exporter.parquet.wal_append_failed node={} core={} error={}",
                         effect.node_id(), effect.core(), appended.status().ToString());
    // The batch may still be published by the writer: its sender retries
    // (at-least-once).
    entry->Complete(appended.status(), /*permanent=*/false);
    UpdateMetrics(effect);
    return arrow::Status::OK();
  }
  const WalRef ref{0, *appended, std::move(progress)};
  if (!written.is_finished() || !written.status().ok()) {
    // Publishes started and partitions published while Write ran, before the record
    // had an id (a kill between the Append and these writes: the batch was not Acked
    // yet, so its sender sends it again anyway).
    for (const auto& [partition, commit_file] : ref.progress->publishing) {
      log.MarkPublishing(ref.id, partition, commit_file);
    }
    ref.progress->publishing.clear();
    for (const auto& partition : ref.progress->published) {
      log.MarkPublished(ref.id, partition);
    }
    TrackProgress(ref);
  }
  written.AddCallback(
      [this, ref, entry](const arrow::Status& st) { OnRecordWritten(ref, st, entry); });
  UpdateMetrics(effect);
  return arrow::Status::OK();
}

arrow::Status ParquetExporter::Export(engine::PData msg, engine::EffectHandler& effect) {
  if (!writer_) {
    msg.context.Nack({"exporter:parquet not started", false});
    return arrow::Status::OK();
  }
  if (!wals_.empty()) {
    ARROW_RETURN_NOT_OK(ExportWithWal(std::move(msg), effect));
    UpdateTimer(effect);
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
  UpdateTimer(effect);
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
  if (!wals_.empty()) Refeed(effect);
  UpdateMetrics(effect);
  UpdateTimer(effect);
  if (was_full && AcceptsPdata()) effect.Wake();
  return arrow::Status::OK();
}

void ParquetExporter::UpdateTimer(engine::EffectHandler& effect) {
  std::optional<std::chrono::milliseconds> want = tick_;
  if (writer_ && writer_->publishing() > 0) {
    want = want ? std::min(*want, kSettlePoll) : kSettlePoll;
  }
  if (want == current_tick_) return;
  current_tick_ = want;
  if (want) {
    effect.StartPeriodicTimer(*want);
  } else {
    effect.CancelTimer();
  }
}

arrow::Future<> ParquetExporter::Shutdown(engine::Clock::time_point deadline,
                                          engine::EffectHandler& effect) {
  if (!writer_) return arrow::Future<>::MakeFinished();
  effect.CancelTimer();
  const int64_t pending = *pending_;
  closing_ = true;
  // Waits for a pass in progress; its counts reach the final metrics below.
  if (retention_) retention_->Stop();
  if (!refeed_.empty()) {
    // Records whose write failed and wait for their backoff: one more try now, so
    // that a graceful stop publishes them if the storage works again (else they
    // stay in the log for the next start: closing_ schedules no other try).
    next_refeed_ = std::chrono::steady_clock::now();
    Refeed(effect);
  }
  // Waits for the background publishes (they cannot be called back), then
  // publishes the rest.
  auto st = writer_->Close(ToSystem(deadline));
  UpdateMetrics(effect);
  const auto m = writer_->metrics();
  // Destroying the writer settles any context it still held (AckContext Nacks
  // itself), so nothing is left pending once the future completes.
  writer_.reset();
  publisher_.reset();
  ActivePartIds::Replace(active_part_id_, "");
  active_part_id_.clear();
  // Waits for the last syncs: their contexts are Acked (or Nacked) before we end.
  int64_t wal_live = 0;
  for (auto& log : wals_) {
    log->Close();
    wal_live += log->metrics().live_records;
  }
  effect.logger().info(
      "exporter.parquet.shutdown node={} core={} pending_at_shutdown={} "
      "files_closed={} rows_written={} batches_acked={} batches_failed={} "
      "wal_unpublished_records={} status={}",
      effect.node_id(), effect.core(), pending, m.files_closed, m.rows_written_total(),
      m.batches_acked, m.batches_failed, wal_live, st.ToString());
  if (!st.ok()) {
    return arrow::Future<>::MakeFinished(
        st.WithMessage("exporter:parquet ", effect.node_id(), " close: ", st.message()));
  }
  return arrow::Future<>::MakeFinished();
}

void ParquetExporter::UpdateMetrics(engine::EffectHandler& effect) {
  if (!writer_) return;
  if (writer_->part_id() != active_part_id_) {
    ActivePartIds::Replace(active_part_id_, writer_->part_id());
    active_part_id_ = writer_->part_id();
  }
  using M = ParquetExporterMetrics;
  const dataset::WriterMetrics w = writer_->metrics();
  engine::NodeMetrics& m = effect.metrics();
  m.Set(M::files_created, w.files_created);
  m.Set(M::files_closed, w.files_closed);
  m.Set(M::files_discarded, w.files_discarded);
  m.Set(M::stale_temp_files_removed, w.stale_temp_files_removed);
  m.Set(M::temp_cleanup_errors, w.temp_cleanup_errors);
  for (int i = 0; i < kPayloadTypeSlots; ++i) {
    if (w.rows_written[i] == 0) continue;
    m.Set(M::rows_written, w.rows_written[i], TableName(static_cast<PayloadType>(i)));
  }
  m.Set(M::bytes_written, w.bytes_written);
  for (int r = 0; r < dataset::kFlushReasons; ++r) {
    m.Set(M::flushes, w.flushes[r],
          dataset::FlushReasonName(static_cast<dataset::FlushReason>(r)));
  }
  m.Set(M::write_errors, w.write_errors);
  m.Set(M::retries, w.retries);
  m.Set(M::batches_acked, w.batches_acked);
  m.Set(M::batches_failed, w.batches_failed);
  m.Set(M::pending_batches, *pending_);
  m.Set(M::publishing_partitions, writer_->publishing());
  if (retention_) {
    const auto& r = retention_->counters();
    m.Set(M::retention_passes, r.passes);
    m.Set(M::retention_deleted_partitions, r.deleted_partitions);
    m.Set(M::retention_deleted_files, r.deleted_files);
    m.Set(M::retention_kept_files, r.kept_files);
    m.Set(M::retention_deleted_bytes, r.deleted_bytes);
    m.Set(M::retention_blocked_partitions, r.blocked_partitions);
    m.Set(M::retention_errors, r.errors);
  }
  if (wals_.empty()) return;
  wal::WalMetrics t;
  for (const auto& log : wals_) {
    const wal::WalMetrics x = log->metrics();
    t.bytes += x.bytes;
    t.segments += x.segments;
    t.live_records += x.live_records;
    t.oldest_live_age_ms = std::max(t.oldest_live_age_ms, x.oldest_live_age_ms);
    t.appends += x.appends;
    t.append_bytes += x.append_bytes;
    t.syncs += x.syncs;
    t.sync_errors += x.sync_errors;
    t.append_errors += x.append_errors;
    t.refused_full += x.refused_full;
    t.segments_deleted += x.segments_deleted;
    t.torn_tails += x.torn_tails;
    t.torn_bytes += x.torn_bytes;
    t.corrupt_regions += x.corrupt_regions;
    t.corrupt_bytes += x.corrupt_bytes;
    t.salvaged_records += x.salvaged_records;
    t.done_mark_errors += x.done_mark_errors;
    t.replay_errors += x.replay_errors;
  }
  m.Set(M::wal_bytes, t.bytes);
  m.Set(M::wal_segments, t.segments);
  m.Set(M::wal_unpublished_records, t.live_records);
  m.Set(M::wal_oldest_unpublished_age_ms, t.oldest_live_age_ms);
  m.Set(M::wal_unsynced_appends, *unsynced_);
  m.Set(M::wal_appends, t.appends);
  m.Set(M::wal_append_bytes, t.append_bytes);
  m.Set(M::wal_fsyncs, t.syncs);
  m.Set(M::wal_fsync_errors, t.sync_errors);
  m.Set(M::wal_append_errors, t.append_errors);
  m.Set(M::wal_refused_full, t.refused_full);
  m.Set(M::wal_segments_deleted, t.segments_deleted);
  m.Set(M::wal_torn_tails, t.torn_tails);
  m.Set(M::wal_torn_bytes, t.torn_bytes);
  m.Set(M::wal_corrupt_regions, t.corrupt_regions);
  m.Set(M::wal_corrupt_bytes, t.corrupt_bytes);
  m.Set(M::wal_salvaged_records, t.salvaged_records);
  m.Set(M::wal_done_mark_errors, t.done_mark_errors);
  m.Set(M::wal_replayed_records, wal_replayed_);
  m.Set(M::wal_replay_errors, t.replay_errors);
  m.Set(M::wal_rewrite_failures, wal_write_failures_);
  m.Set(M::wal_rewrites, wal_refeeds_);
  m.Set(M::wal_invalid_dropped, wal_invalid_);
  m.Set(M::wal_read_errors, wal_read_errors_);
}

const engine::NodeFactory kParquetExporterFactory{
    .urn = "urn:otel:exporter:parquet",
    .kind = engine::NodeKind::kExporter,
    .description = "writes OTAP batches to a partitioned Parquet dataset",
    .validate_config = &config::ValidateTyped<ParquetExporterNodeConfig>,
    .create = &ParquetExporter::Make};

}  // namespace otap_parquet::nodes
