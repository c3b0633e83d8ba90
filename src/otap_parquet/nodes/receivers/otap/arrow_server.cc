// SPDX-License-Identifier: Apache-2.0
#include "otap_parquet/nodes/receivers/otap/arrow_server.h"

#include <deque>
#include <map>
#include <optional>
#include <utility>
#include <vector>

#include <grpcpp/server_builder.h>
#include <grpcpp/support/byte_buffer.h>

#include "opentelemetry/proto/experimental/arrow/v1/arrow_service.pb.h"
#include "otap_parquet/otap_wire/bar_decoder.h"
#include "otap_parquet/util/strings.h"

namespace otap_parquet::nodes::otap_receiver {

using otlp_receiver::InFlightBytes;
using otlp_receiver::IngestResult;
using otlp_receiver::Outcome;
using otlp_receiver::Protocol;

namespace {

constexpr std::string_view kArrowLogs =
    "/opentelemetry.proto.experimental.arrow.v1.ArrowLogsService/ArrowLogs";
constexpr std::string_view kArrowTraces =
    "/opentelemetry.proto.experimental.arrow.v1.ArrowTracesService/ArrowTraces";
constexpr std::string_view kArrowMetrics =
    "/opentelemetry.proto.experimental.arrow.v1.ArrowMetricsService/ArrowMetrics";

// How often paused streams are retried without a wake-up (memory is freed when the
// pipeline drops a batch, which nothing signals).
constexpr std::chrono::milliseconds kResumeInterval{50};

std::optional<Signal> ArrowSignal(const std::string& method) {
  if (method == kArrowLogs) return Signal::kLogs;
  if (method == kArrowTraces) return Signal::kTraces;
  if (method == kArrowMetrics) return Signal::kMetrics;
  return std::nullopt;
}

// Only OK, UNAVAILABLE (retry) and INVALID_ARGUMENT (drop): any other code makes Go
// exporters tear the stream down, RESOURCE_EXHAUSTED is permanent for them.
StatusCode CodeOf(Outcome outcome) {
  switch (outcome) {
    case Outcome::kOk:
      return StatusCode::kOk;
    case Outcome::kInvalid:
    case Outcome::kTooLarge:
    case Outcome::kUnsupported:
    case Outcome::kUnauthenticated:
      return StatusCode::kInvalidArgument;
    case Outcome::kExhausted:
    case Outcome::kMemoryLimit:
    case Outcome::kUnavailable:
    case Outcome::kTimeout:
    case Outcome::kNotFound:
      return StatusCode::kUnavailable;
  }
  return StatusCode::kUnavailable;
}

/// Answers a call with a fixed status (refused streams, unserved methods).
class RefuseReactor : public grpc::ServerGenericBidiReactor {
 public:
  explicit RefuseReactor(grpc::Status status) { Finish(std::move(status)); }
  void OnDone() override { delete this; }
};

}  // namespace

/// One OTel Arrow stream. Deletes itself when gRPC is done with it and no other
/// thread holds a reference.
class ArrowStream : public grpc::ServerGenericBidiReactor {
 public:
  ArrowStream(ArrowServer* server, Signal signal, const otap_wire::DecodeLimits& limits)
      : server_(server), signal_(signal), decoder_(signal, limits) {}

  /// Second phase of construction (may finish the call at once).
  void Begin(grpc::GenericCallbackServerContext* context) {
    StreamCounters& c = server_->mutable_counters();
    const std::string& token = server_->config().bearer_token;
    if (!token.empty()) {
      const auto& metadata = context->client_metadata();
      auto it = metadata.find("authorization");
      if (it == metadata.end() ||
          !otlp_receiver::BearerTokenMatches(
              std::string_view(it->second.data(), it->second.size()), token)) {
        c.streams_refused++;
        finished_ = true;
        Finish(grpc::Status(
            grpc::StatusCode::UNAUTHENTICATED,
            "missing or invalid \"authorization: Bearer <token>\" metadata"));
        return;
      }
    }
    if (!server_->Register(this)) {
      c.streams_refused++;
      finished_ = true;
      Finish(grpc::Status(grpc::StatusCode::UNAVAILABLE,
                          "too many OTel Arrow streams (max_concurrent_streams=" +
                              std::to_string(server_->config().max_concurrent_streams) +
                              ")"));
      return;
    }
    registered_ = true;
    c.streams_started++;
    c.streams_open++;
    TryRead();
  }

  void Ref() { refs_++; }
  void Unref() {
    if (--refs_ == 0) delete this;
  }

  /// Starts the next read unless one is outstanding, the stream is ending, or a
  /// limit holds it back (retried by the server's resume thread).
  void TryRead() {
    {
      std::lock_guard<std::mutex> lock(mutex_);
      if (reading_ || read_closed_ || broken_ || finished_) return;
      const OtapReceiverConfig& config = server_->config();
      // Memory is waited for only while batches are in flight: their outcomes
      // bring it back. The rest (the stream's dictionaries) stays for the stream's
      // life, and waiting for it held the stream forever; the pool's limit bounds it
      // (a batch that hits it is answered UNAVAILABLE and the stream ends).
      const auto in_flight = static_cast<int64_t>(pending_.size());
      const bool hold =
          in_flight >= config.max_concurrent_requests_per_stream ||
          (in_flight > 0 && decoder_.memory_used() >= config.stream_memory_limit / 2) ||
          server_->in_flight_bytes() >= config.request_limit_bytes;
      if (hold) {
        if (!paused_) server_->mutable_counters().read_pauses++;
        paused_ = true;
        return;
      }
      paused_ = false;
      reading_ = true;
    }
    StartRead(&read_buffer_);
  }

  void OnReadDone(bool ok) override {
    if (!ok) {
      // The client half-closed (or went away): finish what is in flight, then end.
      {
        std::lock_guard<std::mutex> lock(mutex_);
        reading_ = false;
        read_closed_ = true;
      }
      MaybeFinish();
      return;
    }
    grpc::Slice slice;
    const bool whole = read_buffer_.TrySingleSlice(&slice).ok() ||
                       read_buffer_.DumpToSingleSlice(&slice).ok();
    const grpc_compression_algorithm algorithm =
        otlp_receiver::ReceivedCompression(&read_buffer_);
    read_buffer_.Clear();
    StreamCounters& c = server_->mutable_counters();
    std::string_view bytes(reinterpret_cast<const char*>(slice.begin()), slice.size());
    auto compression = otap_wire::GrpcCompression::kNone;
    if (algorithm == GRPC_COMPRESS_GZIP) {
      compression = otap_wire::GrpcCompression::kGzip;
      c.gzip_messages++;
    } else if (algorithm == GRPC_COMPRESS_DEFLATE) {
      compression = otap_wire::GrpcCompression::kDeflate;
      c.deflate_messages++;
    } else if (otap_wire::IsZstdFrame(bytes)) {
      c.zstd_messages++;
    }
    const int64_t resets_before = decoder_.stats().schema_resets;
    otap_wire::DecodedBar bar =
        whole ? decoder_.Decode(bytes, compression) : otap_wire::DecodedBar{};
    if (!whole) bar.status = arrow::Status::Invalid("cannot read the message");
    c.schema_resets += decoder_.stats().schema_resets - resets_before;
    c.message_bytes += bar.message_bytes;
    {
      std::lock_guard<std::mutex> lock(mutex_);
      reading_ = false;
    }
    if (!bar.batch_id) {
      // Not a BatchArrowRecords: no batch_id to answer, so the stream ends.
      c.decode_errors++;
      Break(grpc::StatusCode::INVALID_ARGUMENT, bar.status.message());
      MaybeFinish();
      return;
    }
    const int64_t id = *bar.batch_id;
    c.batches[static_cast<int>(signal_)]++;
    bool reused = false;
    {
      std::lock_guard<std::mutex> lock(mutex_);
      reused = pending_.count(id) > 0;
    }
    if (reused) {
      // Any status now (OK for an empty batch, an error for a bad one) would answer
      // the batch in flight before its outcome, and its own a second time: end the
      // stream; the sender retries what is unanswered on a new one.
      Break(grpc::StatusCode::INVALID_ARGUMENT,
            "batch_id " + std::to_string(id) + " reused in flight");
      MaybeFinish();
      return;
    }
    if (!bar.status.ok()) {
      c.decode_errors++;
      // The reason as the status says it: a memory limit to retry, a batch too
      // large for any stream, or bad data.
      Outcome reason = Outcome::kInvalid;
      if (bar.retryable) {
        reason = Outcome::kExhausted;
      } else if (bar.status.IsOutOfMemory() || bar.status.IsCapacityError()) {
        reason = Outcome::kTooLarge;
      }
      server_->ingest()->CountRejected(Protocol::kArrow, reason);
      Enqueue(id, bar.retryable ? StatusCode::kUnavailable : StatusCode::kInvalidArgument,
              bar.status.message());
      if (!bar.stream_usable) {
        // Our decoder state no longer matches the sender's: it must open a new
        // stream (and retries its other unanswered batches there).
        Break(grpc::StatusCode::UNAVAILABLE, "OTel Arrow stream state lost after batch " +
                                                 std::to_string(id) +
                                                 "; open a new stream");
      }
      AfterBatch();
      return;
    }
    const std::string& token = server_->config().bearer_token;
    if (!token.empty()) {
      for (const auto& [name, value] : bar.headers) {
        // Any case: HPACK carries names as the sender wrote them (Go's receiver
        // lower-cases them), and "Authorization" must not skip the check.
        if (util::AsciiLower(name) == "authorization" &&
            !otlp_receiver::BearerTokenMatches(value, token)) {
          server_->ingest()->CountRejected(Protocol::kArrow, Outcome::kUnauthenticated);
          Enqueue(id, StatusCode::kInvalidArgument,
                  "invalid \"authorization\" header in the batch headers");
          AfterBatch();
          return;
        }
      }
    }
    if (!bar.batch) {
      Enqueue(id, StatusCode::kOk, "");  // no root rows: nothing to do
      AfterBatch();
      return;
    }
    {
      // Not in flight (checked above; reads are sequential and only they add).
      // Past the limit if need be: TryRead waited for room before this read.
      std::lock_guard<std::mutex> lock(mutex_);
      pending_.emplace(
          id, PendingBatch{0, InFlightBytes::Hold(server_->ingest(), Protocol::kArrow,
                                                  bar.message_bytes)});
    }
    Ref();
    auto batch = std::make_shared<OtapBatch>(std::move(*bar.batch));
    const uint64_t key = server_->ingest()->Submit(
        Protocol::kArrow, signal_, bar.message_bytes,
        [batch]() -> arrow::Result<std::vector<OtapBatch>> {
          return std::vector<OtapBatch>{*batch};
        },
        server_->options(),
        [this, id](IngestResult result) { OnResult(id, std::move(result)); });
    bool cancelled = false;
    {
      std::lock_guard<std::mutex> lock(mutex_);
      auto it = pending_.find(id);
      if (it != pending_.end()) it->second.key = key;
      cancelled = cancelled_;
    }
    // A cancel during Submit found no key: answer the batch here (Cancel answers
    // once, whichever of the two gets it), or it holds its bytes until its outcome.
    if (cancelled) CancelBatch(key);
    TryRead();
    Unref();
  }

  void OnWriteDone(bool ok) override {
    StatusCode written = StatusCode::kOk;
    {
      std::lock_guard<std::mutex> lock(mutex_);
      writing_ = false;
      written = writing_code_;
      if (!ok) {
        write_failed_ = true;  // the client is gone: statuses cannot be delivered
        writes_.clear();
      }
    }
    // Counted once written: statuses of a stream the client cancelled are never
    // delivered.
    if (ok) {
      StreamCounters& c = server_->mutable_counters();
      if (written == StatusCode::kOk) {
        c.statuses_ok++;
      } else if (written == StatusCode::kInvalidArgument) {
        c.statuses_invalid++;
      } else {
        c.statuses_unavailable++;
      }
    }
    Flush();
    MaybeFinish();
  }

  void OnCancel() override {
    std::vector<uint64_t> keys;
    {
      // Flag first: OnReadDone checks it when it stores a key Submit returned.
      std::lock_guard<std::mutex> lock(mutex_);
      cancelled_ = true;
      for (const auto& [id, batch] : pending_) {
        if (batch.key != 0) keys.push_back(batch.key);
      }
    }
    for (uint64_t key : keys) CancelBatch(key);
    server_->test_hook()("cancelled");
  }

  void OnDone() override {
    if (registered_) {
      server_->mutable_counters().streams_open--;
      server_->Unregister(this);
    }
    server_->test_hook()("done");
    Unref();
  }

 private:
  struct PendingBatch {
    uint64_t key = 0;  ///< Ingest key for Cancel (0: Submit has not returned yet)
    /// Its share of admission.request_limit_mib, from its submission to its answer;
    /// given back when the entry is erased (OnResult) or the stream is destroyed.
    InFlightBytes bytes;
  };

  void CancelBatch(uint64_t key) {
    server_->ingest()->Cancel(key, {Outcome::kUnavailable, "stream cancelled"});
  }

  void AfterBatch() {
    Flush();
    TryRead();
    MaybeFinish();
  }

  // Called once per submitted batch (Ingest's Reply): Ack, Nack, timeout, cancel,
  // refusal or the receiver's stop.
  void OnResult(int64_t id, IngestResult result) {
    Ref();
    {
      std::lock_guard<std::mutex> lock(mutex_);
      pending_.erase(id);  // gives its bytes back
    }
    Enqueue(id, CodeOf(result.outcome), result.message);
    Flush();
    // Never read from here: this may be the pipeline thread, and a read can block
    // in Submit waiting for the pipeline's channel.
    server_->WakeResumer();
    MaybeFinish();
    Unref();
  }

  void Break(grpc::StatusCode code, const std::string& message) {
    std::lock_guard<std::mutex> lock(mutex_);
    if (broken_) return;
    broken_ = true;
    end_status_ = grpc::Status(code, message);
    server_->mutable_counters().streams_broken++;
  }

  void Enqueue(int64_t id, StatusCode code, const std::string& message) {
    opentelemetry::proto::experimental::arrow::v1::BatchStatus status;
    status.set_batch_id(id);
    status.set_status_code(
        static_cast<opentelemetry::proto::experimental::arrow::v1::StatusCode>(code));
    if (!message.empty()) status.set_status_message(message);
    std::lock_guard<std::mutex> lock(mutex_);
    if (write_failed_ || finished_) return;
    writes_.emplace_back(code, status.SerializeAsString());
  }

  void Flush() {
    std::string next;
    {
      std::lock_guard<std::mutex> lock(mutex_);
      if (writing_ || writes_.empty() || finished_) return;
      writing_ = true;
      writing_code_ = writes_.front().first;
      next = std::move(writes_.front().second);
      writes_.pop_front();
    }
    grpc::Slice slice(next);
    write_buffer_ = grpc::ByteBuffer(&slice, 1);
    StartWrite(&write_buffer_);
  }

  void MaybeFinish() {
    grpc::Status status;
    {
      std::lock_guard<std::mutex> lock(mutex_);
      if (finished_ || !(read_closed_ || broken_)) return;
      if (reading_ || writing_ || !pending_.empty() || !writes_.empty()) return;
      finished_ = true;
      status = broken_ ? end_status_ : grpc::Status::OK;
    }
    Finish(status);
  }

  ArrowServer* server_;
  Signal signal_;
  otap_wire::StreamDecoder decoder_;  ///< used by the one outstanding read only
  grpc::ByteBuffer read_buffer_;
  grpc::ByteBuffer write_buffer_;
  bool registered_ = false;
  std::atomic<int> refs_{1};  ///< gRPC's, until OnDone

  std::mutex mutex_;
  bool reading_ = false;
  bool read_closed_ = false;
  bool broken_ = false;
  bool paused_ = false;
  bool writing_ = false;
  bool write_failed_ = false;
  bool finished_ = false;
  bool cancelled_ = false;  ///< OnCancel ran: batches still in Submit are cancelled after
  grpc::Status end_status_;
  /// Batches submitted and not answered yet, by batch_id.
  std::map<int64_t, PendingBatch> pending_;
  std::deque<std::pair<StatusCode, std::string>> writes_;  ///< serialized BatchStatus
  StatusCode writing_code_ = StatusCode::kOk;              ///< of the write outstanding
};

class ArrowServer::Service : public grpc::CallbackGenericService {
 public:
  explicit Service(ArrowServer* server) : server_(server) {}
  grpc::ServerGenericBidiReactor* CreateReactor(
      grpc::GenericCallbackServerContext* context) override {
    if (auto signal = ArrowSignal(context->method())) {
      otap_wire::DecodeLimits limits;
      limits.max_message_size = server_->config_.max_decoding_message_size;
      limits.memory_limit = server_->config_.stream_memory_limit;
      auto* stream = new ArrowStream(server_, *signal, limits);
      stream->Begin(context);
      return stream;
    }
    if (server_->config_.otlp) {
      return otlp_receiver::NewExportReactor(&server_->export_endpoint_, context);
    }
    server_->counters_.streams_refused++;
    return new RefuseReactor(grpc::Status(grpc::StatusCode::UNIMPLEMENTED,
                                          "unknown method " + context->method()));
  }

 private:
  ArrowServer* server_;
};

ArrowServer::ArrowServer(OtapReceiverConfig config) : config_(std::move(config)) {}

bool ArrowServer::Register(ArrowStream* stream) {
  std::lock_guard<std::mutex> lock(streams_mutex_);
  if (static_cast<int64_t>(streams_.size()) >= config_.max_concurrent_streams) {
    return false;
  }
  streams_.insert(stream);
  return true;
}

void ArrowServer::Unregister(ArrowStream* stream) {
  std::lock_guard<std::mutex> lock(streams_mutex_);
  streams_.erase(stream);
}

void ArrowServer::WakeResumer() {
  {
    std::lock_guard<std::mutex> lock(streams_mutex_);
    wake_ = true;
  }
  resume_cv_.notify_one();
}

void ArrowServer::ResumeLoop() {
  std::unique_lock<std::mutex> lock(streams_mutex_);
  while (!stopping_) {
    resume_cv_.wait_for(lock, kResumeInterval, [&] { return wake_ || stopping_; });
    wake_ = false;
    if (stopping_) break;
    // A reference each: a stream is deleted only after Unregister (same mutex).
    std::vector<ArrowStream*> streams(streams_.begin(), streams_.end());
    for (ArrowStream* s : streams) s->Ref();
    lock.unlock();
    for (ArrowStream* s : streams) {
      s->TryRead();
      s->Unref();
    }
    lock.lock();
  }
}

arrow::Result<std::unique_ptr<ArrowServer>> ArrowServer::Start(
    const OtapReceiverConfig& config, otlp_receiver::Ingest* ingest) {
  std::unique_ptr<ArrowServer> server(new ArrowServer(config));
  server->ingest_ = ingest;
  server->options_.wait_for_result = config.wait_for_result;
  server->options_.timeout = config.timeout;
  server->options_.max_concurrent_requests = config.max_concurrent_requests;
  auto& endpoint = server->export_endpoint_;
  endpoint.ingest = ingest;
  endpoint.options = server->options_;
  endpoint.bearer_token = config.bearer_token;
  endpoint.zstd = true;
  endpoint.max_message_size = config.max_decoding_message_size;
  // One budget with the Arrow streams: memory is bounded for the whole receiver.
  endpoint.request_limit_bytes = config.request_limit_bytes;
  endpoint.budget = Protocol::kArrow;
  server->service_ = std::make_unique<Service>(server.get());
  ARROW_ASSIGN_OR_RAISE(auto credentials,
                        otlp_receiver::MakeServerCredentials(config.tls));

  ARROW_ASSIGN_OR_RAISE(server->claim_, otlp_receiver::ListenClaim::Acquire(
                                            config.listening_addr, "OTel Arrow"));
  grpc::ServerBuilder builder;
  const std::string address = config.listening_addr.ToString();
  builder.AddListeningPort(address, credentials, &server->port_);
  builder.RegisterCallbackGenericService(server->service_.get());
  builder.SetMaxReceiveMessageSize(static_cast<int>(config.max_decoding_message_size));
  builder.AddChannelArgument(GRPC_ARG_ALLOW_REUSEPORT, 1);
  // gzip/deflate inflated by the decoder, bounded by max_decoding_message_size.
  otlp_receiver::DisableMessageDecompression(&builder);
  // Clients that ping idle streams (Rust exporters: every 30 s) must not be sent
  // GOAWAY too_many_pings.
  builder.AddChannelArgument(GRPC_ARG_HTTP2_MIN_RECV_PING_INTERVAL_WITHOUT_DATA_MS,
                             static_cast<int>(config.min_ping_interval.count()));
  builder.AddChannelArgument(GRPC_ARG_HTTP2_MAX_PING_STRIKES, 0);
  builder.AddChannelArgument(GRPC_ARG_KEEPALIVE_PERMIT_WITHOUT_CALLS, 1);
  if (config.max_connection_age.count() > 0) {
    builder.AddChannelArgument(GRPC_ARG_MAX_CONNECTION_AGE_MS,
                               static_cast<int>(config.max_connection_age.count()));
  }
  if (config.max_connection_age_grace.count() > 0) {
    builder.AddChannelArgument(GRPC_ARG_MAX_CONNECTION_AGE_GRACE_MS,
                               static_cast<int>(config.max_connection_age_grace.count()));
  }
  server->server_ = builder.BuildAndStart();
  if (!server->server_ || server->port_ == 0) {
    return arrow::Status::IOError("cannot listen for OTel Arrow on ", address,
                                  " (address in use or not local?)");
  }
  server->resumer_ = std::thread([s = server.get()] { s->ResumeLoop(); });
  return server;
}

void ArrowServer::Shutdown(std::chrono::system_clock::time_point deadline) {
  std::call_once(shutdown_once_, [&] {
    if (server_) {
      server_->Shutdown(deadline);
      server_->Wait();
    }
    {
      std::lock_guard<std::mutex> lock(streams_mutex_);
      stopping_ = true;
    }
    resume_cv_.notify_one();
    if (resumer_.joinable()) resumer_.join();
  });
}

ArrowServer::~ArrowServer() { Shutdown(std::chrono::system_clock::now()); }

}  // namespace otap_parquet::nodes::otap_receiver
