// SPDX-License-Identifier: Apache-2.0
#pragma once

#include <array>
#include <atomic>
#include <chrono>
#include <cstdint>
#include <functional>
#include <map>
#include <mutex>
#include <optional>
#include <string>
#include <string_view>
#include <utility>

#include "otap_parquet/engine/node.h"
#include "otap_parquet/otlp/otlp_types.h"
#include "otap_parquet/pdata/otap_batch.h"

/// \file
/// The protocol-independent part of `receiver:otlp`: admission, conversion to
/// OTAP pdata, sending into the pipeline, waiting for the outcome, counters.
/// Used by the gRPC and HTTP servers from their own threads.

namespace otap_parquet::nodes::otlp_receiver {

/// \brief How a request was answered (mapped to a gRPC code or HTTP status by
/// each protocol).
enum class Outcome : int {
  kOk = 0,
  kInvalid,          ///< malformed request, or permanent Nack
  kTooLarge,         ///< body/message over the configured limit
  kUnsupported,      ///< content type or encoding (HTTP 415)
  kUnauthenticated,  ///< bearer token missing or wrong
  kExhausted,        ///< pipeline channel full / concurrency limit
  kUnavailable,      ///< shutting down, or retryable Nack
  kTimeout,          ///< no outcome within `timeout`
  kNotFound,         ///< unknown path or method
  kMemoryLimit,      ///< in-flight request bytes over admission.request_limit_mib
};
inline constexpr int kNumOutcomes = 10;
std::string_view OutcomeName(Outcome outcome);

struct IngestResult {
  Outcome outcome = Outcome::kOk;
  std::string message;
  bool ok() const { return outcome == Outcome::kOk; }
};

/// `kArrow`: the OTel Arrow streams of receiver:otap (one request = one batch).
enum class Protocol : int { kGrpc = 0, kHttp = 1, kArrow = 2 };
inline constexpr int kNumProtocols = 3;

/// \brief Why the HTTP server closed a connection without answering a request.
enum class HttpDrop : int {
  kIdle = 0,         ///< no request within the idle timeout
  kHeaderTimeout,    ///< headers (or TLS handshake) not complete within the timeout
  kBodyTimeout,      ///< body not received (or answer not taken) within the timeout
  kConnectionLimit,  ///< too many open connections
  kShutdown,         ///< the server stopped
};
inline constexpr int kNumHttpDrops = 5;
std::string_view HttpDropName(HttpDrop reason);
std::string_view ProtocolName(Protocol protocol);

/// \brief Called exactly once per admitted request, from any thread.
using Reply = std::function<void(IngestResult)>;

/// \brief Converts the request being submitted to OTAP (called at most once, on the
/// submitting thread, after admission).
using Convert = std::function<arrow::Result<std::vector<OtapBatch>>()>;

/// \brief Per-protocol settings of the ingest path.
struct IngestOptions {
  bool wait_for_result = false;
  /// Longest wait for channel space (and, with wait_for_result, for the outcome).
  std::chrono::nanoseconds timeout = std::chrono::seconds(5);
  int64_t max_concurrent_requests = 0;  ///< 0 = unlimited
};

/// \brief Counters, updated from any thread, published by the node.
struct IngestCounters {
  static constexpr int kSignals = 3;
  std::array<std::array<std::atomic<int64_t>, kSignals>, kNumProtocols> started{};
  std::array<std::array<std::atomic<int64_t>, kSignals>, kNumProtocols> completed{};
  std::array<std::array<std::atomic<int64_t>, kSignals>, kNumProtocols> bytes{};
  std::array<std::array<std::atomic<int64_t>, kSignals>, kNumProtocols> items{};
  std::array<std::array<std::atomic<int64_t>, kNumOutcomes>, kNumProtocols> rejected{};
  /// Outcomes delivered with wait_for_result: success (Ack), failure (retryable
  /// Nack), refused (permanent Nack), timeout.
  std::atomic<int64_t> acks_success{0};
  std::atomic<int64_t> acks_failure{0};
  std::atomic<int64_t> acks_refused{0};
  std::atomic<int64_t> acks_timeout{0};
  /// HTTP connections open, and closed without an answer by reason.
  std::atomic<int64_t> http_connections{0};
  std::array<std::atomic<int64_t>, kNumHttpDrops> http_drops{};
  /// Bytes a protocol's server holds for admitted requests, from their arrival to
  /// their answer (admission.request_limit_mib). kArrow: all of receiver:otap's,
  /// batches of its Arrow streams and messages of its OTLP Export calls.
  std::array<std::atomic<int64_t>, kNumProtocols> in_flight_bytes{};
};

/// \brief Shared by both protocol servers of one node instance. Thread-safe.
class Ingest {
 public:
  explicit Ingest(engine::EffectHandler* effect) : effect_(effect) {}

  /// \brief Converts and sends one decoded request; `reply` is called once, now
  /// or (with wait_for_result) when the outcome arrives. Returns a key for
  /// Cancel (0 when already answered).
  uint64_t Submit(Protocol protocol, Signal signal, int64_t wire_bytes,
                  const Convert& convert, const IngestOptions& options, Reply reply);
  /// \brief Submit of a decoded request.
  uint64_t Submit(Protocol protocol, const otlp::OtlpRequest& request, int64_t wire_bytes,
                  const IngestOptions& options, Reply reply);

  /// \brief Forgets a waiting request (client gone); answers it with `result` if
  /// it was still waiting. Returns whether it was.
  bool Cancel(uint64_t key, IngestResult result);

  /// \brief Counts a request refused before Submit (bad body, auth, ...).
  void CountRejected(Protocol protocol, Outcome outcome) {
    counters_.rejected[static_cast<int>(protocol)][static_cast<int>(outcome)]++;
  }

  void CountHttpConnection(int delta) { counters_.http_connections += delta; }
  void CountHttpDrop(HttpDrop reason) {
    counters_.http_drops[static_cast<int>(reason)]++;
  }

  /// \brief Outcome of a subscribed message (pipeline thread).
  void OnOutcome(uint64_t key, const engine::NackInfo* nack);
  /// \brief Answers waiters whose deadline has passed.
  void ExpireWaiters(engine::Clock::time_point now);
  /// \brief Answers every waiter with `result` (end of the pipeline).
  void ResolveAll(const IngestResult& result);

  /// \brief Stop admitting: new requests are answered kUnavailable.
  void StopAdmitting() { admitting_.store(false); }
  bool admitting() const { return admitting_.load(); }
  /// \brief Whether no Submit is between admission and the end of its sends.
  bool idle() const { return in_submit_.load() == 0; }

  const IngestCounters& counters() const { return counters_; }
  int64_t waiting() const;

 private:
  // The in-flight byte budget, only through InFlightBytes (each reservation is
  // given back once, by its destructor).
  friend class InFlightBytes;

  /// Reserves `bytes` of `protocol`'s in-flight budget unless that would exceed
  /// `limit`.
  bool TakeBytes(Protocol protocol, int64_t bytes, int64_t limit) {
    std::atomic<int64_t>& held = counters_.in_flight_bytes[static_cast<int>(protocol)];
    int64_t n = held.load();
    do {
      if (n + bytes > limit) return false;
    } while (!held.compare_exchange_weak(n, n + bytes));
    return true;
  }
  /// Grows a reservation past the limit.
  void GrowBytes(Protocol protocol, int64_t bytes) {
    counters_.in_flight_bytes[static_cast<int>(protocol)] += bytes;
  }
  void ReleaseBytes(Protocol protocol, int64_t bytes) {
    counters_.in_flight_bytes[static_cast<int>(protocol)] -= bytes;
  }

  struct Waiter {
    Protocol protocol = Protocol::kGrpc;
    int signal = 0;
    int remaining = 0;  ///< parts not settled yet
    std::optional<engine::NackInfo> nack;
    engine::Clock::time_point deadline;
    Reply reply;
  };

  void Finish(Protocol protocol, int signal, IngestResult result, Reply& reply);

  engine::EffectHandler* effect_;
  std::atomic<bool> admitting_{true};
  std::atomic<int> in_submit_{0};
  std::atomic<int64_t> in_flight_requests_[kNumProtocols] = {0, 0, 0};
  std::atomic<uint64_t> next_key_{1};
  mutable std::mutex mutex_;
  std::map<uint64_t, Waiter> waiters_;
  IngestCounters counters_;
};

/// \brief Bytes of a protocol's in-flight budget (admission.request_limit_mib) one
/// request holds until its answer; given back when destroyed. Move-only: a
/// moved-from reservation holds nothing.
class InFlightBytes {
 public:
  /// \brief `n` bytes reserved; nullopt (nothing reserved) when that would exceed
  /// `limit`: a refusal the caller answers, not an error.
  static std::optional<InFlightBytes> Take(Ingest* ingest, Protocol protocol, int64_t n,
                                           int64_t limit) {
    if (!ingest->TakeBytes(protocol, n, limit)) return std::nullopt;
    return InFlightBytes(ingest, protocol, n);
  }
  /// \brief `n` bytes reserved whatever the limit: for a caller that waits for room
  /// before it reads (receiver:otap's streams pause their reads at the limit).
  static InFlightBytes Hold(Ingest* ingest, Protocol protocol, int64_t n) {
    ingest->GrowBytes(protocol, n);
    return InFlightBytes(ingest, protocol, n);
  }
  InFlightBytes(InFlightBytes&& other) noexcept
      : ingest_(other.ingest_),
        protocol_(other.protocol_),
        n_(std::exchange(other.n_, 0)) {}
  InFlightBytes& operator=(InFlightBytes&& other) noexcept {
    if (this != &other) {
      Release();
      ingest_ = other.ingest_;
      protocol_ = other.protocol_;
      n_ = std::exchange(other.n_, 0);
    }
    return *this;
  }
  InFlightBytes(const InFlightBytes&) = delete;
  InFlightBytes& operator=(const InFlightBytes&) = delete;
  ~InFlightBytes() { Release(); }

  /// \brief At least `n` bytes, past the limit if need be.
  void GrowTo(int64_t n) {
    if (n <= n_) return;
    ingest_->GrowBytes(protocol_, n - n_);
    n_ = n;
  }
  /// \brief At least `n` bytes unless that would exceed `limit` (then unchanged).
  bool TryGrowTo(int64_t n, int64_t limit) {
    if (n <= n_) return true;
    if (!ingest_->TakeBytes(protocol_, n - n_, limit)) return false;
    n_ = n;
    return true;
  }

 private:
  InFlightBytes(Ingest* ingest, Protocol protocol, int64_t n)
      : ingest_(ingest), protocol_(protocol), n_(n) {}
  void Release() {
    if (n_ != 0) ingest_->ReleaseBytes(protocol_, std::exchange(n_, 0));
  }

  Ingest* ingest_;
  Protocol protocol_;
  int64_t n_;
};

/// \brief Whether `header` (an `authorization` value) carries `token`.
bool BearerTokenMatches(std::string_view header, const std::string& token);

}  // namespace otap_parquet::nodes::otlp_receiver
