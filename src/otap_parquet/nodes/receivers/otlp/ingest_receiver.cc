// SPDX-License-Identifier: Apache-2.0
#include "otap_parquet/nodes/receivers/otlp/ingest_receiver.h"

#include <algorithm>

#include <spdlog/logger.h>

namespace otap_parquet::nodes::otlp_receiver {

using engine::Clock;

namespace {

// Most a graceful stop waits for running calls (the engine's deadline is usually
// far shorter).
constexpr std::chrono::seconds kMaxStopWait{60};

}  // namespace

arrow::Status IngestReceiver::OnTimer(Clock::time_point now,
                                      engine::EffectHandler& effect) {
  ingest_->ExpireWaiters(now);
  Publish(effect);
  return arrow::Status::OK();
}

void IngestReceiver::Drain(engine::EffectHandler& effect) {
  if (!ingest_) return;
  ingest_->StopAdmitting();
  effect.logger().info("{}.drain node={} core={} waiting={}", event_prefix_,
                       effect.node_id(), effect.core(), ingest_->waiting());
  Publish(effect);
}

bool IngestReceiver::drained() const {
  return !ingest_ || (!ingest_->admitting() && ingest_->idle());
}

void IngestReceiver::OnAck(uint64_t calldata, engine::AckContext,
                           engine::EffectHandler& effect) {
  ingest_->OnOutcome(calldata, nullptr);
  // Timers are off while draining: outcomes then keep the metrics current.
  if (!ingest_->admitting()) Publish(effect);
}

void IngestReceiver::OnNack(uint64_t calldata, const engine::NackInfo& nack,
                            engine::AckContext, engine::EffectHandler& effect) {
  ingest_->OnOutcome(calldata, &nack);
  if (!ingest_->admitting()) Publish(effect);
}

arrow::Future<> IngestReceiver::Shutdown(Clock::time_point deadline,
                                         engine::EffectHandler& effect) {
  if (!ingest_) return arrow::Future<>::MakeFinished();
  ingest_->StopAdmitting();
  Publish(effect);
  const auto now = Clock::now();
  const auto wait = deadline > now
                        ? std::min<Clock::duration>(deadline - now, kMaxStopWait)
                        : Clock::duration::zero();
  const auto system_deadline =
      std::chrono::system_clock::now() +
      std::chrono::duration_cast<std::chrono::microseconds>(wait);
  effect.logger().info("{}.shutdown node={} core={} waiting={}", event_prefix_,
                       effect.node_id(), effect.core(), ingest_->waiting());
  if (!stopper_.joinable()) {
    stopper_ = std::thread([this, system_deadline] { StopServers(system_deadline); });
  }
  return arrow::Future<>::MakeFinished();
}

void IngestReceiver::Stop() {
  if (ingest_) {
    ingest_->StopAdmitting();
    ingest_->ResolveAll({Outcome::kUnavailable,
                         "receiver stopped before the pipeline outcome was known"});
  }
  if (stopper_.joinable()) {
    stopper_.join();
  } else {
    StopServers(std::chrono::system_clock::now());
  }
}

}  // namespace otap_parquet::nodes::otlp_receiver
