// SPDX-License-Identifier: Apache-2.0
#pragma once

#include <array>
#include <chrono>
#include <cstdint>
#include <optional>
#include <string>
#include <unordered_map>
#include <vector>

#include <arrow/result.h>

#include "otap_parquet/config/config_reader.h"
#include "otap_parquet/engine/node.h"
#include "otap_parquet/engine/registry.h"

/// \file
/// `processor:batch`: merges small batches and splits large ones, per signal, with
/// Ack/Nack tracking from output batches back to input messages.

namespace otap_parquet::nodes {

/// \brief Size limits of one payload format (upstream's FormatConfig).
struct BatchFormatConfig {
  std::optional<int64_t> min_size;  ///< flush once this many are pending
  std::optional<int64_t> max_size;  ///< never emit more than this; splits
  std::string sizer;                ///< `items` (otap) or `bytes` (otlp)
};

struct BatchProcessorConfig {
  /// OTAP batches, sized in items (log records, spans, metric data points).
  BatchFormatConfig otap{8192, std::nullopt, "items"};
  /// OTLP bytes; parsed for compatibility, otap-parquet pipelines carry OTAP only.
  BatchFormatConfig otlp{262144, std::nullopt, "bytes"};
  /// Flush a signal's pending data this long after its first item; 0 = no timer.
  std::chrono::nanoseconds max_batch_duration = std::chrono::milliseconds(200);
  /// Most input messages pending or waiting for their outcome; at the limit intake
  /// pauses (backpressure), and pending inputs are flushed if they alone fill it.
  int64_t inbound_request_limit = 1024;
  /// Most output batches waiting for their outcome: at the limit intake pauses
  /// (backpressure); a flush may exceed it by its own outputs.
  int64_t outbound_request_limit = 512;
  /// `preserve` (default), `otap` or `otlp`; batches are OTAP here in every case.
  enum class Format { kPreserve, kOtap, kOtlp };
  Format format = Format::kPreserve;

  static BatchProcessorConfig Read(config::ConfigReader& reader);
};

/// \brief Merges and splits per signal. An input message is Acked only when every
/// output batch built from the flush that took it is Acked, and Nacked once all
/// have settled and one was Nacked: retryable if any output was Nacked retryable
/// (with the first such reason), else permanently (with the first reason). A
/// flush of a single input that needs no split forwards the message as-is; others
/// are merged and split natively in OTAP (ConcatOtapBatches).
class BatchProcessor : public engine::Processor {
 public:
  static arrow::Result<std::unique_ptr<engine::Node>> Make(
      const engine::NodeSettings& settings, const YAML::Node& config);
  /// \brief For tests and embedding: a processor from a typed config.
  static arrow::Result<std::unique_ptr<BatchProcessor>> Create(
      BatchProcessorConfig config);

  arrow::Status Start(engine::EffectHandler& effect) override;
  arrow::Status Process(engine::PData msg, engine::EffectHandler& effect) override;
  bool AcceptsPdata() const override;
  arrow::Status OnTimer(engine::Clock::time_point now,
                        engine::EffectHandler& effect) override;
  void OnAck(uint64_t calldata, engine::AckContext rest,
             engine::EffectHandler& effect) override;
  void OnNack(uint64_t calldata, const engine::NackInfo& nack, engine::AckContext rest,
              engine::EffectHandler& effect) override;
  arrow::Future<> Shutdown(engine::Clock::time_point deadline,
                           engine::EffectHandler& effect) override;

  int64_t pending_items(Signal signal) const {
    return pending_[static_cast<int>(signal)].items;
  }
  size_t inbound_in_flight() const { return inbound_.size(); }
  size_t outbound_in_flight() const { return outbound_.size(); }

 private:
  explicit BatchProcessor(BatchProcessorConfig config) : config_(std::move(config)) {}

  struct Pending {
    std::vector<engine::PData> inputs;
    int64_t items = 0;
    engine::Clock::time_point first_arrival{};
  };
  struct Inbound {
    engine::AckContext context;
    int64_t outstanding = 0;
    std::optional<engine::NackInfo> failure;
  };

  enum class FlushReason : uint8_t { kBySize, kByTimer, kByShutdown, kByLimit };

  arrow::Status Flush(Signal signal, engine::EffectHandler& effect, FlushReason reason);
  /// Merges, splits and sends `inputs` (their `items` in total), tracking outcomes.
  /// When a merge of several fails, each input goes on by itself instead.
  arrow::Status Emit(Signal signal, std::vector<engine::PData> inputs, int64_t items,
                     engine::EffectHandler& effect, FlushReason reason);
  void CountFlush(FlushReason reason, int64_t inputs, int64_t outputs,
                  engine::EffectHandler& effect);
  void Settle(uint64_t outbound_id, const engine::NackInfo* nack);

  BatchProcessorConfig config_;
  std::array<Pending, 3> pending_;
  std::unordered_map<uint64_t, Inbound> inbound_;
  std::unordered_map<uint64_t, std::vector<uint64_t>> outbound_;
  uint64_t next_id_ = 1;
  int64_t pending_messages_ = 0;
  std::array<int64_t, 4> flushes_{};
  int64_t merged_inputs_ = 0;
  int64_t splits_ = 0;
};

extern const engine::NodeFactory kBatchProcessorFactory;

}  // namespace otap_parquet::nodes
