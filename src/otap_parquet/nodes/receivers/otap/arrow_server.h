// SPDX-License-Identifier: Apache-2.0
#pragma once

#include <array>
#include <atomic>
#include <chrono>
#include <condition_variable>
#include <functional>
#include <memory>
#include <mutex>
#include <set>
#include <string>
#include <string_view>
#include <thread>
#include <utility>

#include <arrow/result.h>
#include <grpcpp/server.h>

#include "otap_parquet/nodes/receivers/otap/config.h"
#include "otap_parquet/nodes/receivers/otlp/grpc_server.h"
#include "otap_parquet/nodes/receivers/otlp/ingest.h"
#include "otap_parquet/nodes/receivers/otlp/listen_claim.h"
#include "otap_parquet/util/test_hook.h"

/// \file
/// gRPC server of `receiver:otap`: the three OTel Arrow bidirectional streams and
/// (optionally) OTLP's three Export methods, all as callback generic methods so
/// that messages arrive as raw bytes (gRPC C++ cannot decode zstd; we do).

namespace otap_parquet::nodes::otap_receiver {

/// \brief BatchStatus codes we send (the only ones Go exporters treat as intended).
enum class StatusCode : int { kOk = 0, kInvalidArgument = 3, kUnavailable = 14 };

/// \brief Counters of the Arrow streams, updated from any thread.
struct StreamCounters {
  std::atomic<int64_t> streams_open{0};
  std::atomic<int64_t> streams_started{0};
  std::atomic<int64_t> streams_refused{0};        ///< auth, unknown method, too many
  std::atomic<int64_t> streams_broken{0};         ///< ended after a decode error
  std::array<std::atomic<int64_t>, 3> batches{};  ///< by signal
  std::atomic<int64_t> message_bytes{0};          ///< after decompression
  std::atomic<int64_t> zstd_messages{0};
  std::atomic<int64_t> gzip_messages{0};
  std::atomic<int64_t> deflate_messages{0};
  std::atomic<int64_t> decode_errors{0};
  std::atomic<int64_t> schema_resets{0};
  std::atomic<int64_t> statuses_ok{0};
  std::atomic<int64_t> statuses_invalid{0};
  std::atomic<int64_t> statuses_unavailable{0};
  std::atomic<int64_t> read_pauses{0};
};

class ArrowStream;

class ArrowServer {
 public:
  static arrow::Result<std::unique_ptr<ArrowServer>> Start(
      const OtapReceiverConfig& config, otlp_receiver::Ingest* ingest);
  ~ArrowServer();

  /// \brief Stops accepting calls; waits for running calls until `deadline`, then
  /// cancels them. Blocking; idempotent.
  void Shutdown(std::chrono::system_clock::time_point deadline);

  int port() const { return port_; }
  const StreamCounters& counters() const { return counters_; }
  /// \brief Bytes held against admission.request_limit_mib: batches awaiting their
  /// status and OTLP Export messages from their arrival to their answer.
  int64_t in_flight_bytes() const {
    return ingest_->counters()
        .in_flight_bytes[static_cast<int>(otlp_receiver::Protocol::kArrow)]
        .load();
  }

  // Used by the streams.
  const OtapReceiverConfig& config() const { return config_; }
  otlp_receiver::Ingest* ingest() const { return ingest_; }
  const otlp_receiver::IngestOptions& options() const { return options_; }
  StreamCounters& mutable_counters() { return counters_; }
  /// \brief Registers a stream; false when max_concurrent_streams are open.
  bool Register(ArrowStream* stream);
  void Unregister(ArrowStream* stream);
  /// \brief Asks the resume thread to retry reading paused streams.
  void WakeResumer();

  /// \brief For tests, set before the first call: called at named points of an Arrow
  /// stream ("cancelled": OnCancel is done; "done": gRPC is done with the stream).
  void set_test_hook(util::TestHook hook) { test_hook_ = std::move(hook); }
  const util::TestHook& test_hook() const { return test_hook_; }

 private:
  class Service;

  explicit ArrowServer(OtapReceiverConfig config);
  void ResumeLoop();

  std::shared_ptr<otlp_receiver::ListenClaim> claim_;  // first: released last
  OtapReceiverConfig config_;
  otlp_receiver::Ingest* ingest_ = nullptr;
  otlp_receiver::IngestOptions options_;
  otlp_receiver::ExportEndpoint export_endpoint_;
  StreamCounters counters_;
  std::unique_ptr<Service> service_;
  std::unique_ptr<grpc::Server> server_;
  int port_ = 0;
  std::once_flag shutdown_once_;
  util::TestHook test_hook_;

  // Streams open; the resume thread retries reads of paused ones (never the
  // pipeline thread: a read may block in Submit waiting for channel space).
  std::mutex streams_mutex_;
  std::condition_variable resume_cv_;
  std::set<ArrowStream*> streams_;
  bool wake_ = false;
  bool stopping_ = false;
  std::thread resumer_;
};

}  // namespace otap_parquet::nodes::otap_receiver
