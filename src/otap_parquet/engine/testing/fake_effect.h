// SPDX-License-Identifier: Apache-2.0
#pragma once

/// \file
/// The pipeline side of one node instance, without a pipeline, and a recorder of
/// Ack/Nack outcomes: for unit tests of nodes. Include from `*_test.cc` only.

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <mutex>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include <spdlog/spdlog.h>

#include "otap_parquet/engine/node.h"
#include "otap_parquet/engine/pdata.h"

namespace otap_parquet::fakes {

/// \brief EffectHandler of an exporter outside a pipeline: no outputs, timers and
/// wakes recorded, metrics kept.
class FakeEffect : public engine::EffectHandler {
 public:
  explicit FakeEffect(std::string id = "node", int core = 0)
      : id_(std::move(id)), core_(core) {}

  const std::string& node_id() const override { return id_; }
  int core() const override { return core_; }
  spdlog::logger& logger() override { return *spdlog::default_logger(); }
  engine::NodeMetrics& metrics() override { return metrics_; }
  arrow::Status Send(engine::PData, std::string_view) override {
    return arrow::Status::Invalid("exporters have no outputs");
  }
  bool CanSend(std::string_view) const override { return false; }
  arrow::Status SendFromAnyThread(engine::PData&, engine::Clock::time_point,
                                  std::string_view) override {
    return arrow::Status::Invalid("exporters have no outputs");
  }
  void Subscribe(engine::PData&, uint64_t) override {}
  void StartPeriodicTimer(engine::Clock::duration period) override { timer = period; }
  void CancelTimer() override { timer.reset(); }
  void ReportFinished() override {}
  void Wake() override { ++wakes; }

  std::optional<engine::Clock::duration> timer;
  std::atomic<int> wakes{0};  ///< Wake() may come from the node's own threads

 private:
  std::string id_;
  int core_;
  engine::NodeMetrics metrics_;
};

/// \brief A pipeline entry that holds the first message inside SendFromAnyThread (for
/// a receiver: its request inside Ingest::Submit) until Resume(), and acknowledges
/// nothing: the keys of the messages sent are kept for the test to settle.
class PausingEffect : public FakeEffect {
 public:
  arrow::Status SendFromAnyThread(engine::PData&, engine::Clock::time_point,
                                  std::string_view) override {
    std::unique_lock<std::mutex> lock(mutex_);
    const bool first = ++sends_ == 1;
    changed_.notify_all();
    if (first) changed_.wait(lock, [&] { return resumed_; });
    return arrow::Status::OK();
  }
  void Subscribe(engine::PData&, uint64_t key) override {
    std::lock_guard<std::mutex> lock(mutex_);
    keys_.push_back(key);
  }

  /// \brief Whether `n` messages were sent (or are being sent) within `bound`.
  bool WaitForSends(int n, std::chrono::milliseconds bound) {
    std::unique_lock<std::mutex> lock(mutex_);
    return changed_.wait_for(lock, bound, [&] { return sends_ >= n; });
  }
  void Resume() {
    std::lock_guard<std::mutex> lock(mutex_);
    resumed_ = true;
    changed_.notify_all();
  }
  uint64_t key(size_t i) {
    std::lock_guard<std::mutex> lock(mutex_);
    return i < keys_.size() ? keys_[i] : 0;
  }

 private:
  std::mutex mutex_;
  std::condition_variable changed_;
  int sends_ = 0;
  bool resumed_ = false;
  std::vector<uint64_t> keys_;
};

/// \brief Records the outcome of every message by its calldata. Thread-safe.
struct Outcomes : engine::CompletionSink {
  void Deliver(const engine::AckFrame& frame, const engine::NackInfo* nack,
               engine::AckContext) override {
    std::lock_guard<std::mutex> lock(mutex);
    if (nack) {
      nacked.push_back(frame.calldata);
      nacks.push_back(*nack);
    } else {
      acked.push_back(frame.calldata);
    }
  }
  size_t acked_count() {
    std::lock_guard<std::mutex> lock(mutex);
    return acked.size();
  }
  size_t nacked_count() {
    std::lock_guard<std::mutex> lock(mutex);
    return nacked.size();
  }
  size_t settled() {
    std::lock_guard<std::mutex> lock(mutex);
    return acked.size() + nacked.size();
  }

  std::mutex mutex;
  std::vector<uint64_t> acked;
  std::vector<uint64_t> nacked;
  std::vector<engine::NackInfo> nacks;
};

}  // namespace otap_parquet::fakes
