// SPDX-License-Identifier: Apache-2.0
#pragma once

#include <chrono>
#include <memory>
#include <string>
#include <thread>

#include <arrow/util/future.h>

#include "otap_parquet/engine/node.h"
#include "otap_parquet/nodes/receivers/otlp/ingest.h"

/// \file
/// The pipeline side that receiver:otlp and receiver:otap share around an Ingest:
/// timer ticks, Ack/Nack routing, drain and a graceful stop of the servers.

namespace otap_parquet::nodes::otlp_receiver {

/// \brief A receiver whose servers hand requests to an Ingest. Subclasses start the
/// Ingest and their servers in Start(), publish their metrics and stop their servers;
/// their destructor calls Stop() first, so the servers stop while they still exist.
class IngestReceiver : public engine::Receiver {
 public:
  /// How often waiters are checked against their timeout and metrics published.
  static constexpr std::chrono::milliseconds kTick{100};

  arrow::Status OnTimer(engine::Clock::time_point now,
                        engine::EffectHandler& effect) override;
  void Drain(engine::EffectHandler& effect) override;
  bool drained() const override;
  void OnAck(uint64_t calldata, engine::AckContext rest,
             engine::EffectHandler& effect) override;
  void OnNack(uint64_t calldata, const engine::NackInfo& nack, engine::AckContext rest,
              engine::EffectHandler& effect) override;
  /// Stops admitting and stops the servers on a thread of their own (calls waiting
  /// for their outcome are answered as the downstream nodes settle on the pipeline
  /// thread meanwhile); the wait is capped at one minute.
  arrow::Future<> Shutdown(engine::Clock::time_point deadline,
                           engine::EffectHandler& effect) override;

 protected:
  /// `event_prefix` names the log events ("receiver.otlp" → `receiver.otlp.drain`).
  explicit IngestReceiver(std::string event_prefix)
      : event_prefix_(std::move(event_prefix)) {}

  /// Sets the node's metrics from the Ingest's and the servers' counters.
  virtual void Publish(engine::EffectHandler& effect) const = 0;
  /// Stops the servers, waiting for running calls until `deadline`.
  virtual void StopServers(std::chrono::system_clock::time_point deadline) = 0;

  /// Answers every call still waiting UNAVAILABLE (the pipeline ended first: the
  /// client retries), then stops the servers now unless Shutdown() already does.
  void Stop();

  std::unique_ptr<Ingest> ingest_;  ///< made by Start(), before the servers

 private:
  std::string event_prefix_;
  std::thread stopper_;
};

}  // namespace otap_parquet::nodes::otlp_receiver
