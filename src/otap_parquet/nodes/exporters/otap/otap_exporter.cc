// SPDX-License-Identifier: Apache-2.0
#include "otap_parquet/nodes/exporters/otap/otap_exporter.h"

#include <algorithm>
#include <atomic>
#include <chrono>
#include <condition_variable>
#include <deque>
#include <map>
#include <mutex>
#include <optional>
#include <set>
#include <thread>
#include <utility>
#include <vector>

#include <fmt/format.h>
#include <grpcpp/generic/generic_stub.h>
#include <grpcpp/grpcpp.h>
#include <spdlog/spdlog.h>

#include "opentelemetry/proto/experimental/arrow/v1/arrow_service.pb.h"
#include "otap_parquet/nodes/exporters/otap/metrics.h"
#include "otap_parquet/nodes/exporters/otlp/grpc_exporter.h"
#include "otap_parquet/otap_wire/bar_encoder.h"
#include "otap_parquet/otlp/convert.h"
#include "otap_parquet/util/on_destroy.h"

namespace otap_parquet::nodes {

namespace {

namespace pb = opentelemetry::proto::experimental::arrow::v1;
using Clock = std::chrono::steady_clock;
using JobPtr = std::shared_ptr<OtlpExportJob>;

const std::string& MethodOf(Signal signal) {
  static const std::string kMethods[] = {
      "/opentelemetry.proto.experimental.arrow.v1.ArrowLogsService/ArrowLogs",
      "/opentelemetry.proto.experimental.arrow.v1.ArrowTracesService/ArrowTraces",
      "/opentelemetry.proto.experimental.arrow.v1.ArrowMetricsService/ArrowMetrics"};
  return kMethods[static_cast<int>(signal)];
}

// One export attempt of a job: its parts (one message each) may go out on one
// stream; the attempt ends at the first failure or when every part is answered OK.
struct Attempt {
  JobPtr job;
  OtlpTransport::Done done;
  std::atomic<int> remaining{0};  // messages queued and not yet answered OK
  int64_t bytes = 0;
  std::atomic<bool> finished{false};

  // Returns the callback to run (outside every lock) if this ends the attempt.
  OtlpTransport::Done Complete(std::optional<AttemptResult>* result,
                               const AttemptResult& part) {
    if (part.outcome == AttemptOutcome::kSuccess && --remaining > 0) return nullptr;
    if (finished.exchange(true)) return nullptr;
    *result = part;
    (*result)->bytes_sent = bytes;
    return std::move(done);
  }
};
using AttemptPtr = std::shared_ptr<Attempt>;

// Completions collected under a lock, run after it is released.
struct Completions {
  std::vector<std::pair<OtlpTransport::Done, AttemptResult>> items;
  void Add(const AttemptPtr& attempt, const AttemptResult& part) {
    std::optional<AttemptResult> result;
    if (auto done = attempt->Complete(&result, part)) {
      items.emplace_back(std::move(done), std::move(*result));
    }
  }
  void Run() {
    for (auto& [done, result] : items) done(std::move(result));
    items.clear();
  }
};

struct Counters {
  std::atomic<int64_t> streams_opened{0}, streams_open{0}, streams_rolled_over{0};
  std::atomic<int64_t> streams_unimplemented{0}, streams_failed{0};
  std::atomic<int64_t> messages_sent{0}, messages_unanswered{0}, message_bytes{0},
      unknown_statuses{0};
  std::atomic<int64_t> batches_downgraded{0}, split_batches{0}, schemas{0};
  std::atomic<int64_t> dictionary_resets{0}, metric_attrs_dropped{0}, native_columns{0};
  std::atomic<int64_t> batch_timeouts{0};
  std::mutex mutex;
  std::map<std::string, int64_t> statuses;  // by code name, guarded by mutex
  std::map<std::string, int64_t> stream_ends;
};

class OtapTransport;

// One bidirectional stream of one signal. Holds itself (self_) from Start to OnDone.
class ArrowStream : public grpc::ClientBidiReactor<grpc::ByteBuffer, grpc::ByteBuffer> {
 public:
  ArrowStream(OtapTransport* transport, Signal signal, int slot);

  /// \brief Binds the call (no reaction can run yet: safe under the transport's
  /// lock, and batches may be queued before Begin).
  void Prepare(grpc::GenericStub& stub, std::shared_ptr<ArrowStream> self);
  /// \brief Starts the call; never under a lock (gRPC may run reactions inline).
  void Begin() { StartCall(); }
  /// \brief Encodes and queues the attempt's parts; false (nothing queued) when the
  /// stream no longer takes batches.
  bool Enqueue(const AttemptPtr& attempt, const OtapBatch& batch,
               Completions* completions);
  /// \brief No new batches; half-closes once the queued ones are written and
  /// answered.
  void BeginClose();

 private:
  struct Actions;
  bool EnqueueLocked(const AttemptPtr& attempt, const OtapBatch& batch,
                     Completions* completions, Actions* actions);

 public:
  void Cancel() { context_.TryCancel(); }
  bool Usable() {
    std::lock_guard<std::mutex> lock(mutex_);
    return !closing_ && !broken_ && !timed_out_;
  }
  /// \brief Whether the oldest unanswered batch was queued `timeout` or more before
  /// `now`; if so the stream takes no more batches and must be cancelled (once: later
  /// calls return nullopt). Returns that batch's id.
  std::optional<int64_t> TimedOut(Clock::time_point now,
                                  std::chrono::nanoseconds timeout);
  Clock::time_point opened() const { return opened_; }
  Signal signal() const { return signal_; }
  int slot() const { return slot_; }

  void OnWriteDone(bool ok) override;
  void OnWritesDoneDone(bool) override {}
  void OnReadDone(bool ok) override;
  void OnDone(const grpc::Status& status) override;

 private:
  // gRPC operations decided under mutex_ and started after it is released (gRPC
  // may run a reaction inline, which takes mutex_ again).
  struct Actions {
    grpc::ByteBuffer* write = nullptr;
    bool writes_done = false;
    bool remove_hold = false;
  };
  void Apply(const Actions& actions) {
    if (actions.write) StartWrite(actions.write);
    if (actions.writes_done) StartWritesDone();
    if (actions.remove_hold) RemoveHold();
  }
  void MaybeFinishWritesLocked(Actions* actions);
  void ReleaseHoldLocked(Actions* actions) {
    if (!hold_released_) {
      hold_released_ = true;
      actions->remove_hold = true;
    }
  }

  // First member, so it runs last: the transport hears "gone" only once the context
  // (which holds the last reference to the call) and the buffers are destroyed.
  util::OnDestroy gone_;
  OtapTransport* transport_;
  const Signal signal_;
  const int slot_;
  const Clock::time_point opened_ = Clock::now();
  grpc::ClientContext context_;
  otap_wire::StreamEncoder encoder_;
  grpc::ByteBuffer response_;

  std::mutex mutex_;
  std::deque<grpc::ByteBuffer> writes_;
  std::deque<int64_t> write_ids_;  // batch_id of each of writes_
  bool writing_ = false;
  bool closing_ = false;
  bool writes_done_ = false;
  bool broken_ = false;
  bool hold_released_ = false;
  bool got_status_ = false;
  // A batch got no status within the timeout: cancelled by the transport.
  bool timed_out_ = false;
  int64_t timed_out_batch_ = -1;
  int64_t next_batch_id_ = 0;
  struct Outstanding {
    AttemptPtr attempt;
    Clock::time_point queued;
    // Its write completed: the peer may have it. A stream that ends with it
    // unanswered is then held against the batch (a strike).
    bool written = false;
  };
  // By batch_id: ids grow in queueing order, so the first is the oldest.
  std::map<int64_t, Outstanding> outstanding_;
  std::shared_ptr<ArrowStream> self_;
  otap_wire::EncoderStats published_stats_;
};

class OtapTransport : public OtlpTransport {
 public:
  OtapTransport(OtapExporterConfig config,
                std::vector<std::shared_ptr<grpc::Channel>> channels,
                std::unique_ptr<OtlpTransport> otlp, spdlog::logger& logger)
      : config_(std::move(config)), otlp_(std::move(otlp)), logger_(&logger) {
    for (auto& channel : channels)
      stubs_.push_back(std::make_unique<grpc::GenericStub>(channel));
    for (auto& slots : streams_) slots.resize(static_cast<size_t>(config_.num_streams));
    watchdog_ = std::thread([this] { WatchDeadlines(); });
  }

  ~OtapTransport() override { Stop(); }

  void Send(const JobPtr& job, Done done) override {
    const int s = static_cast<int>(job->signal);
    if (downgraded_[s].load()) {
      SendOtlp(job, std::move(done));
      return;
    }
    auto attempt = std::make_shared<Attempt>();
    attempt->job = job;
    attempt->done = std::move(done);
    Completions completions;
    for (int tries = 0;; ++tries) {
      std::shared_ptr<ArrowStream> stream = StreamFor(job->signal);
      if (!stream) {
        completions.Add(attempt, AttemptResult::Failure(AttemptOutcome::kRetryable,
                                                        "CANCELLED", "exporter stopped"));
        break;
      }
      if (stream->Enqueue(attempt, *job->batch, &completions)) break;
      if (tries > 4) {
        completions.Add(attempt,
                        AttemptResult::Failure(AttemptOutcome::kRetryable, "stream_ended",
                                               "no usable stream"));
        break;
      }
    }
    completions.Run();
  }

  void CancelAll() override {
    for (auto& stream : LiveStreams()) stream->Cancel();
    otlp_->CancelAll();
  }

  void Stop() override {
    {
      std::lock_guard<std::mutex> lock(mutex_);
      stopped_ = true;
    }
    watchdog_cv_.notify_all();
    if (watchdog_.joinable()) watchdog_.join();
    for (auto& stream : LiveStreams()) stream->Cancel();
    {
      std::unique_lock<std::mutex> lock(mutex_);
      idle_.wait(lock, [&] { return live_.empty(); });
    }
    otlp_->Stop();
  }

  void PublishMetrics(engine::NodeMetrics& m) override {
    using M = OtapStreamMetrics;
    auto& c = counters_;
    m.Set(M::streams_opened, c.streams_opened);
    m.Set(M::streams_open, c.streams_open);
    m.Set(M::streams_rolled_over, c.streams_rolled_over);
    m.Set(M::streams_unimplemented, c.streams_unimplemented);
    m.Set(M::streams_failed, c.streams_failed);
    m.Set(M::messages_sent, c.messages_sent);
    m.Set(M::messages_unanswered, c.messages_unanswered);
    m.Set(M::message_bytes, c.message_bytes);
    m.Set(M::unknown_statuses, c.unknown_statuses);
    m.Set(M::batches_downgraded, c.batches_downgraded);
    m.Set(M::split_batches, c.split_batches);
    m.Set(M::schemas, c.schemas);
    m.Set(M::dictionary_resets, c.dictionary_resets);
    m.Set(M::native_columns, c.native_columns);
    m.Set(M::metric_attrs_dropped, c.metric_attrs_dropped);
    m.Set(M::batch_timeouts, c.batch_timeouts);
    for (int s = 0; s < 3; ++s) {
      m.Set(M::downgraded, downgraded_[s].load() ? 1 : 0,
            SignalName(static_cast<Signal>(s)));
    }
    std::lock_guard<std::mutex> lock(c.mutex);
    for (const auto& [code, n] : c.statuses) m.Set(M::statuses, n, code);
    for (const auto& [code, n] : c.stream_ends) m.Set(M::stream_ends, n, code);
  }

  // For the streams.
  const OtapExporterConfig& config() const { return config_; }
  Counters& counters() { return counters_; }
  spdlog::logger& logger() { return *logger_; }

  void OnStreamDone(ArrowStream* stream, bool unimplemented) {
    const int s = static_cast<int>(stream->signal());
    {
      std::lock_guard<std::mutex> lock(mutex_);
      auto& slot = streams_[s][static_cast<size_t>(stream->slot())];
      if (slot.get() == stream) slot.reset();
      std::erase_if(draining_, [&](const auto& d) { return d.get() == stream; });
      if (unimplemented) {
        counters_.streams_unimplemented++;
        if (++unimplemented_[s] >= config_.num_streams && !config_.disable_downgrade &&
            !downgraded_[s].exchange(true)) {
          logger_->warn(
              "otap.downgrade signal={} target={}: every Arrow stream was answered "
              "UNIMPLEMENTED; sending OTLP Export requests on the same channel",
              SignalName(stream->signal()), config_.grpc.endpoint.origin());
        }
      }
    }
  }

  // Called by the stream's last member to go: nothing of it is left to gRPC.
  void OnStreamDestroyed(ArrowStream* stream) {
    std::lock_guard<std::mutex> lock(mutex_);
    live_.erase(stream);
    counters_.streams_open--;
    if (live_.empty()) idle_.notify_all();
  }

 private:
  // The stream of the signal's next slot: opened when missing, replaced first when
  // past max_stream_lifetime (then the old one is half-closed). Null once stopped.
  std::shared_ptr<ArrowStream> StreamFor(Signal signal) {
    const int s = static_cast<int>(signal);
    std::shared_ptr<ArrowStream> old;
    std::shared_ptr<ArrowStream> stream;
    std::shared_ptr<ArrowStream> begin;
    {
      std::lock_guard<std::mutex> lock(mutex_);
      if (stopped_) return nullptr;
      const size_t index = next_slot_[s]++ % streams_[s].size();
      auto& slot = streams_[s][index];
      const bool expired = slot && config_.max_stream_lifetime.count() > 0 &&
                           Clock::now() - slot->opened() >= config_.max_stream_lifetime;
      if (slot && (expired || !slot->Usable())) {
        if (expired) counters_.streams_rolled_over++;
        old = std::move(slot);
        // Still answering (or failing) its batches: watched and cancelled like
        // the streams in the slots until it ends.
        draining_.push_back(old);
      }
      if (!slot) {
        auto fresh = std::make_shared<ArrowStream>(this, signal, static_cast<int>(index));
        live_.insert(fresh.get());
        counters_.streams_opened++;
        counters_.streams_open++;
        slot = fresh;
        fresh->Prepare(*stubs_[next_stub_++ % stubs_.size()], fresh);
        begin = fresh;
      }
      stream = slot;
    }
    // Replacement first, then the old stream half-closes.
    if (begin) begin->Begin();
    if (old) old->BeginClose();
    return stream;
  }

  // Cancels every stream whose oldest unanswered batch is older than batch_timeout
  // (a peer that never answers would otherwise hold the batch, and the exporter's
  // in-flight slot, forever); its batches then fail retryable with a strike each.
  void WatchDeadlines() {
    const auto timeout = config_.batch_timeout;
    const auto interval = std::clamp<std::chrono::nanoseconds>(
        timeout / 4, std::chrono::milliseconds(10), std::chrono::seconds(1));
    std::unique_lock<std::mutex> lock(mutex_);
    while (!stopped_) {
      watchdog_cv_.wait_for(lock, interval, [&] { return stopped_; });
      if (stopped_) break;
      lock.unlock();
      const auto now = Clock::now();
      for (auto& stream : LiveStreams()) {
        auto batch_id = stream->TimedOut(now, timeout);
        if (!batch_id) continue;
        counters_.batch_timeouts++;
        logger_->warn(
            "otap.batch_timeout signal={} target={} batch_id={} timeout_ms={}: no "
            "BatchStatus in time; cancelling the stream, its batches will be retried",
            SignalName(stream->signal()), config_.grpc.endpoint.origin(), *batch_id,
            std::chrono::duration_cast<std::chrono::milliseconds>(timeout).count());
        stream->Cancel();
      }
      lock.lock();
    }
  }

  void SendOtlp(const JobPtr& job, Done done) {
    counters_.batches_downgraded++;
    if (!job->batch) {
      done(AttemptResult::Failure(AttemptOutcome::kPermanent, "convert", "no batch"));
      return;
    }
    // The first OTLP attempt converts (the default request is an empty one).
    if (std::visit([](const auto& r) { return r.ByteSizeLong(); }, job->request) == 0) {
      auto request = otlp::FromOtap(*job->batch);
      if (!request.ok()) {
        done(AttemptResult::Failure(
            AttemptOutcome::kPermanent, "convert",
            "cannot convert the batch to OTLP: " + request.status().ToString()));
        return;
      }
      job->request = std::move(*request);
      job->body.clear();
    }
    otlp_->Send(job, std::move(done));
  }

  std::vector<std::shared_ptr<ArrowStream>> LiveStreams() {
    std::vector<std::shared_ptr<ArrowStream>> out;
    std::lock_guard<std::mutex> lock(mutex_);
    for (auto& slots : streams_) {
      for (auto& s : slots) {
        if (s) out.push_back(s);
      }
    }
    out.insert(out.end(), draining_.begin(), draining_.end());
    return out;
  }

  const OtapExporterConfig config_;
  std::vector<std::unique_ptr<grpc::GenericStub>> stubs_;
  std::unique_ptr<OtlpTransport> otlp_;
  spdlog::logger* logger_;
  Counters counters_;

  std::mutex mutex_;
  std::condition_variable idle_;
  std::vector<std::shared_ptr<ArrowStream>> streams_[3];  // per signal, per slot
  // Streams taken out of their slot (rolled over or unusable) whose OnDone has not
  // run yet: the watchdog, CancelAll and Stop must still reach them.
  std::vector<std::shared_ptr<ArrowStream>> draining_;
  std::set<ArrowStream*> live_;  // created, not yet destroyed
  size_t next_slot_[3] = {0, 0, 0};
  size_t next_stub_ = 0;
  int64_t unimplemented_[3] = {0, 0, 0};
  std::atomic<bool> downgraded_[3] = {false, false, false};
  bool stopped_ = false;
  std::condition_variable watchdog_cv_;
  std::thread watchdog_;  // last: started once everything above is set up
};

ArrowStream::ArrowStream(OtapTransport* transport, Signal signal, int slot)
    : gone_([transport, this] { transport->OnStreamDestroyed(this); }),
      transport_(transport),
      signal_(signal),
      slot_(slot),
      encoder_(signal,
               otap_wire::EncodeOptions{
                   .payload_zstd = transport->config().payload_zstd,
                   .payload_zstd_level = transport->config().payload_zstd_level.value_or(
                       otap_wire::kDefaultPayloadZstdLevel),
                   .send_metric_attrs = transport->config().send_metric_attrs,
                   .id_dialect = transport->config().id_dialect}) {}

void ArrowStream::Prepare(grpc::GenericStub& stub, std::shared_ptr<ArrowStream> self) {
  const auto& client = transport_->config().grpc.client;
  if (client.compression == OtlpCompression::kGzip)
    context_.set_compression_algorithm(GRPC_COMPRESS_GZIP);
  for (const auto& [name, value] : client.headers) context_.AddMetadata(name, value);
  self_ = std::move(self);
  stub.PrepareBidiStreamingCall(&context_, MethodOf(signal_), {}, this);
  AddHold();  // writes start outside reactions: OnDone waits for ReleaseHold
  StartRead(&response_);
}

bool ArrowStream::Enqueue(const AttemptPtr& attempt, const OtapBatch& batch,
                          Completions* completions) {
  Actions actions;
  const bool queued = EnqueueLocked(attempt, batch, completions, &actions);
  Apply(actions);
  return queued;
}

bool ArrowStream::EnqueueLocked(const AttemptPtr& attempt, const OtapBatch& batch,
                                Completions* completions, Actions* actions) {
  std::lock_guard<std::mutex> lock(mutex_);
  if (closing_ || broken_ || timed_out_) return false;
  auto& counters = transport_->counters();
  const int64_t max_size = transport_->config().max_message_size;
  std::deque<OtapBatch> parts{batch};
  bool split = false;
  if (!transport_->config().payload_zstd &&
      otap_wire::EstimateEncodedSize(batch) > max_size) {
    // Uncompressed, the estimate is the message size: split before encoding
    // rather than encoding twice.
    auto pieces = otap_wire::SplitForMessageSize(batch, max_size * 9 / 10);
    if (pieces.ok() && pieces->size() > 1) {
      split = true;
      parts.assign(std::make_move_iterator(pieces->begin()),
                   std::make_move_iterator(pieces->end()));
    }
  }
  while (!parts.empty()) {
    const OtapBatch part = std::move(parts.front());
    parts.pop_front();
    const int64_t batch_id = next_batch_id_;
    arrow::Status st;
    auto message = encoder_.Encode(part, batch_id);
    if (message.ok() && static_cast<int64_t>(message->size()) > max_size &&
        part.num_root_rows() > 1) {
      // Too large once encoded: forget the IPC state this message would have set up
      // (the next messages start new schema_ids) and send the batch in parts sized
      // by the compression ratio just seen.
      encoder_.Reset();
      const double ratio = static_cast<double>(otap_wire::EstimateEncodedSize(part)) /
                           static_cast<double>(message->size());
      auto pieces = otap_wire::SplitForMessageSize(
          part, static_cast<int64_t>(0.7 * ratio * static_cast<double>(max_size)));
      if (pieces.ok() && pieces->size() > 1) {
        split = true;
        parts.insert(parts.begin(), std::make_move_iterator(pieces->begin()),
                     std::make_move_iterator(pieces->end()));
        continue;
      }
      message = encoder_.Encode(part, batch_id);  // cannot split: send as it is
      if (!pieces.ok()) st = pieces.status();
    }
    if (st.ok()) st = message.status();
    if (!st.ok()) {
      // The IPC state may be ahead of what the peer saw: no more batches here.
      closing_ = true;
      MaybeFinishWritesLocked(actions);
      completions->Add(attempt, AttemptResult::Failure(
                                    AttemptOutcome::kPermanent, "encode",
                                    "cannot encode the batch as OTAP: " + st.ToString()));
      return true;
    }
    ++next_batch_id_;
    ++attempt->remaining;
    attempt->bytes += static_cast<int64_t>(message->size());
    counters.messages_sent++;
    counters.message_bytes += static_cast<int64_t>(message->size());
    outstanding_.emplace(batch_id, Outstanding{attempt, Clock::now()});
    // The slice owns the serialized message: no copy of it.
    auto* owned = new std::string(std::move(*message));
    grpc::Slice slice(
        owned->data(), owned->size(),
        [](void* p) { delete static_cast<std::string*>(p); }, owned);
    writes_.emplace_back(&slice, 1);
    write_ids_.push_back(batch_id);
    if (!writing_) {
      writing_ = true;
      actions->write = &writes_.front();
    }
  }
  if (split) counters.split_batches++;
  const auto& stats = encoder_.stats();
  counters.schemas += stats.schemas - published_stats_.schemas;
  counters.dictionary_resets +=
      stats.dictionary_resets - published_stats_.dictionary_resets;
  counters.native_columns += stats.native_columns - published_stats_.native_columns;
  counters.metric_attrs_dropped +=
      stats.metric_attrs_dropped - published_stats_.metric_attrs_dropped;
  published_stats_ = stats;
  return true;
}

void ArrowStream::BeginClose() {
  Actions actions;
  {
    std::lock_guard<std::mutex> lock(mutex_);
    closing_ = true;
    MaybeFinishWritesLocked(&actions);
  }
  Apply(actions);
}

void ArrowStream::MaybeFinishWritesLocked(Actions* actions) {
  // Half-closes only once every batch is answered: after a half-close the
  // Collector's otelarrowreceiver (v0.148.0, flushSender) waits for its in-flight
  // batches, which wait for room in a status channel of NumCPU entries it no longer
  // drains; with more answers than that pending, none is sent until we time out.
  if (writing_ || writes_done_ || broken_ || !outstanding_.empty()) return;
  writes_done_ = true;
  actions->writes_done = true;
  ReleaseHoldLocked(actions);
}

void ArrowStream::OnWriteDone(bool ok) {
  Actions actions;
  {
    std::lock_guard<std::mutex> lock(mutex_);
    writes_.pop_front();
    const int64_t batch_id = write_ids_.front();
    write_ids_.pop_front();
    if (ok) {
      if (auto it = outstanding_.find(batch_id); it != outstanding_.end()) {
        it->second.written = true;
      }
    }
    if (!ok || broken_) {
      // The call is over; OnDone settles what is outstanding.
      broken_ = true;
      writing_ = false;
      writes_.clear();
      write_ids_.clear();
      ReleaseHoldLocked(&actions);
    } else if (!writes_.empty()) {
      actions.write = &writes_.front();
    } else {
      writing_ = false;
      if (closing_) MaybeFinishWritesLocked(&actions);
    }
  }
  Apply(actions);
}

void ArrowStream::OnReadDone(bool ok) {
  if (!ok) {
    Actions actions;
    {
      std::lock_guard<std::mutex> lock(mutex_);
      broken_ = true;
      if (!writing_) ReleaseHoldLocked(&actions);
    }
    Apply(actions);
    return;
  }
  pb::BatchStatus status;
  Completions completions;
  Actions actions;
  auto& counters = transport_->counters();
  grpc::Slice slice;
  if (!response_.DumpToSingleSlice(&slice).ok() ||
      !status.ParseFromArray(slice.begin(), static_cast<int>(slice.size()))) {
    counters.unknown_statuses++;
  } else {
    const int code = static_cast<int>(status.status_code());
    {
      std::lock_guard<std::mutex> lock(counters.mutex);
      counters.statuses[GrpcCodeName(code)]++;
    }
    AttemptPtr attempt;
    {
      std::lock_guard<std::mutex> lock(mutex_);
      got_status_ = true;
      auto it = outstanding_.find(status.batch_id());
      if (it != outstanding_.end()) {
        attempt = std::move(it->second.attempt);
        outstanding_.erase(it);
      }
      if (closing_) MaybeFinishWritesLocked(&actions);
    }
    if (!attempt) {
      counters.unknown_statuses++;
      transport_->logger().warn("otap.unknown_status signal={} batch_id={} code={}",
                                SignalName(signal_), status.batch_id(),
                                GrpcCodeName(code));
    } else if (code == 0) {
      completions.Add(attempt, AttemptResult{});
    } else {
      completions.Add(attempt,
                      AttemptResult::Failure(ClassifyGrpcCode(code), GrpcCodeName(code),
                                             status.status_message()));
    }
  }
  response_.Clear();
  StartRead(&response_);
  Apply(actions);
  completions.Run();
}

std::optional<int64_t> ArrowStream::TimedOut(Clock::time_point now,
                                             std::chrono::nanoseconds timeout) {
  std::lock_guard<std::mutex> lock(mutex_);
  if (timed_out_ || outstanding_.empty()) return std::nullopt;
  const auto& [batch_id, oldest] = *outstanding_.begin();
  if (now - oldest.queued < timeout) return std::nullopt;
  timed_out_ = true;
  timed_out_batch_ = batch_id;
  return batch_id;
}

void ArrowStream::OnDone(const grpc::Status& status) {
  std::map<int64_t, Outstanding> outstanding;
  bool unimplemented = false;
  bool timed_out = false;
  int64_t timed_out_batch = -1;
  {
    std::lock_guard<std::mutex> lock(mutex_);
    outstanding.swap(outstanding_);
    unimplemented =
        status.error_code() == grpc::StatusCode::UNIMPLEMENTED && !got_status_;
    timed_out = timed_out_;
    timed_out_batch = timed_out_batch_;
  }
  auto& counters = transport_->counters();
  {
    std::lock_guard<std::mutex> lock(counters.mutex);
    counters.stream_ends[GrpcCodeName(static_cast<int>(status.error_code()))]++;
  }
  transport_->OnStreamDone(this, unimplemented);
  Completions completions;
  if (!outstanding.empty()) {
    counters.streams_failed++;
    counters.messages_unanswered += static_cast<int64_t>(outstanding.size());
    transport_->logger().info(
        "otap.stream_ended signal={} code={} message=\"{}\" unanswered={}",
        SignalName(signal_), GrpcCodeName(static_cast<int>(status.error_code())),
        status.error_message(), outstanding.size());
  }
  std::set<OtlpExportJob*> struck;
  const int64_t max_failures = transport_->config().max_stream_failures;
  // A timeout cancels the whole stream; only the batch that got no answer is to
  // blame (its other batches were merely queued behind it on the same stream).
  const OtlpExportJob* hung = nullptr;
  if (timed_out) {
    if (auto it = outstanding.find(timed_out_batch); it != outstanding.end())
      hung = it->second.attempt->job.get();
  }
  const auto timeout_ms = std::chrono::duration_cast<std::chrono::milliseconds>(
                              transport_->config().batch_timeout)
                              .count();
  for (auto& [batch_id, entry] : outstanding) {
    const AttemptPtr& attempt = entry.attempt;
    std::string reason =
        unimplemented
            ? "UNIMPLEMENTED"
            : (status.ok() ? "stream_ended"
                           : GrpcCodeName(static_cast<int>(status.error_code())));
    std::string message =
        fmt::format("the stream ended before batch {} was answered", batch_id);
    // Only a batch the peer may have got can be what ended the stream: one that
    // never left (the peer down or unreachable: the stream failed before its
    // write completed) is retried until max_elapsed_time like any other failure,
    // not Nacked permanently after max_stream_failures connection attempts. A
    // stream refused with a permanent code (UNAUTHENTICATED at open) still
    // strikes, so that it ends in a Nack after max_stream_failures streams.
    bool strike =
        !unimplemented &&
        (entry.written || ClassifyGrpcCode(static_cast<int>(status.error_code())) ==
                              AttemptOutcome::kPermanent);
    if (timed_out && attempt->job.get() == hung) {
      // We cancelled it: the peer's CANCELLED says nothing.
      reason = "DEADLINE_EXCEEDED";
      message += fmt::format(": no BatchStatus for batch {} within the timeout ({} ms)",
                             timed_out_batch, timeout_ms);
    } else if (timed_out) {
      reason = "CANCELLED";
      message += fmt::format(
          ": the stream was cancelled because batch {} got no BatchStatus within the "
          "timeout ({} ms); not counted against this batch",
          timed_out_batch, timeout_ms);
      strike = false;
    } else if (!status.error_message().empty()) {
      message += ": " + status.error_message();
    }
    // A part of a split batch whose attempt already failed on another part's
    // status: the batch is being retried (maybe on another stream, which may be
    // counting its own strike on the job right now); this stream says nothing more.
    if (attempt->finished.load()) strike = false;
    AttemptOutcome outcome = AttemptOutcome::kRetryable;
    if (strike && struck.insert(attempt->job.get()).second &&
        ++attempt->job->stream_failures >= max_failures) {
      // A batch that keeps killing streams (a receiver that drops the stream on
      // data it cannot decode) would otherwise loop forever.
      outcome = AttemptOutcome::kPermanent;
      message += fmt::format(" ({} streams ended with this batch in flight)",
                             attempt->job->stream_failures);
    }
    completions.Add(attempt, AttemptResult::Failure(outcome, reason, message));
  }
  completions.Run();
  auto keep = std::move(self_);  // this may be destroyed when it goes
}

}  // namespace

arrow::Result<std::unique_ptr<OtlpTransport>> MakeOtapTransport(
    const OtapExporterConfig& config, spdlog::logger& logger) {
  auto channels = MakeOtlpGrpcChannels(config.grpc, logger);
  auto otlp = MakeOtlpGrpcTransport(config.grpc, channels);
  return std::unique_ptr<OtlpTransport>(
      new OtapTransport(config, std::move(channels), std::move(otlp), logger));
}

namespace {

arrow::Result<std::unique_ptr<engine::Node>> MakeOtapExporter(
    const engine::NodeSettings& settings, const YAML::Node& yaml) {
  ARROW_ASSIGN_OR_RAISE(
      auto config, config::ParseTyped<OtapExporterConfig>(yaml, settings.config_path));
  OtlpExporter::Options options;
  options.kind = "exporter:otap";
  options.metric_prefix = "otap";
  options.metrics = &kOtapExporterMetrics;
  options.target = config.grpc.endpoint.origin();
  options.client = config.grpc.client;
  options.convert_to_otlp = false;
  options.make_transport = [config](spdlog::logger& logger) {
    return MakeOtapTransport(config, logger);
  };
  return std::unique_ptr<engine::Node>(new OtlpExporter(std::move(options)));
}

}  // namespace

const engine::NodeFactory kOtapExporterFactory{
    .urn = "urn:otel:exporter:otap",
    .kind = engine::NodeKind::kExporter,
    .description =
        "sends OTAP batches as they are on OTel Arrow streams (Ack by "
        "BatchStatus, retries, stream lifetime, OTLP downgrade)",
    .validate_config = &config::ValidateTyped<OtapExporterConfig>,
    .create = &MakeOtapExporter};

}  // namespace otap_parquet::nodes
