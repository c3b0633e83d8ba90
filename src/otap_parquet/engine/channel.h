// SPDX-License-Identifier: Apache-2.0
#pragma once

#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <deque>
#include <memory>
#include <mutex>
#include <optional>
#include <utility>

#include <arrow/status.h>

/// \file
/// Bounded multi-producer channels. A pipeline instance's thread only ever uses the
/// non-blocking calls; threads outside the pipeline (network receivers, I/O
/// callbacks) may block on a full channel, which is how backpressure reaches them.

namespace otap_parquet::engine {

using Clock = std::chrono::steady_clock;

/// \brief Wakes a pipeline instance's event loop. Thread-safe.
class Wakeup {
 public:
  /// \brief Marks that something happened; wakes a waiter.
  void Notify() {
    {
      std::lock_guard<std::mutex> lock(mutex_);
      ++generation_;
    }
    cv_.notify_all();
  }
  /// \brief Current generation; pass it to WaitUntil to not miss a Notify().
  uint64_t generation() const {
    std::lock_guard<std::mutex> lock(mutex_);
    return generation_;
  }
  /// \brief Waits until Notify() was called after `seen` or `deadline` passes.
  void WaitUntil(uint64_t seen, Clock::time_point deadline) {
    std::unique_lock<std::mutex> lock(mutex_);
    cv_.wait_until(lock, deadline, [&] { return generation_ != seen; });
  }

 private:
  mutable std::mutex mutex_;
  std::condition_variable cv_;
  uint64_t generation_ = 0;
};

/// \brief Outcome of a non-blocking push.
enum class PushResult : uint8_t { kOk, kFull, kClosed };

/// \brief A bounded FIFO. Thread-safe. Pushes notify the consumer's Wakeup (if
/// any); pops wake blocked producers.
template <typename T>
class BoundedChannel {
 public:
  /// \param capacity most queued items (>= 1)
  /// \param consumer notified on every push and on Close(); may be null
  BoundedChannel(int64_t capacity, std::shared_ptr<Wakeup> consumer)
      : capacity_(capacity < 1 ? 1 : capacity), consumer_(std::move(consumer)) {}

  /// \brief Pushes unless full or closed. On failure `item` is left untouched.
  PushResult TryPush(T& item) {
    {
      std::lock_guard<std::mutex> lock(mutex_);
      if (closed_) return PushResult::kClosed;
      if (static_cast<int64_t>(items_.size()) >= capacity_) return PushResult::kFull;
      items_.push_back(std::move(item));
    }
    if (consumer_) consumer_->Notify();
    return PushResult::kOk;
  }

  /// \brief Blocks while full, until `deadline`. CapacityError on timeout
  /// (item untouched), Cancelled when closed.
  arrow::Status Push(T& item, Clock::time_point deadline = Clock::time_point::max()) {
    {
      std::unique_lock<std::mutex> lock(mutex_);
      const bool ready = space_cv_.wait_until(lock, deadline, [&] {
        return closed_ || static_cast<int64_t>(items_.size()) < capacity_;
      });
      if (closed_) return arrow::Status::Cancelled("channel closed");
      if (!ready) return arrow::Status::CapacityError("channel full");
      items_.push_back(std::move(item));
    }
    if (consumer_) consumer_->Notify();
    return arrow::Status::OK();
  }

  /// \brief Pops the oldest item, if any.
  std::optional<T> TryPop() {
    std::optional<T> out;
    {
      std::lock_guard<std::mutex> lock(mutex_);
      if (items_.empty()) return std::nullopt;
      out.emplace(std::move(items_.front()));
      items_.pop_front();
    }
    space_cv_.notify_one();
    return out;
  }

  /// \brief Refuses further pushes and wakes blocked producers; queued items stay
  /// poppable.
  void Close() {
    {
      std::lock_guard<std::mutex> lock(mutex_);
      closed_ = true;
    }
    space_cv_.notify_all();
    if (consumer_) consumer_->Notify();
  }

  /// \brief Removes every queued item (destroying them) and returns how many.
  int64_t Clear() {
    std::deque<T> dropped;
    {
      std::lock_guard<std::mutex> lock(mutex_);
      dropped.swap(items_);
    }
    space_cv_.notify_all();
    return static_cast<int64_t>(dropped.size());
  }

  int64_t size() const {
    std::lock_guard<std::mutex> lock(mutex_);
    return static_cast<int64_t>(items_.size());
  }
  bool full() const { return size() >= capacity_; }
  bool closed() const {
    std::lock_guard<std::mutex> lock(mutex_);
    return closed_;
  }
  int64_t capacity() const { return capacity_; }

 private:
  const int64_t capacity_;
  std::shared_ptr<Wakeup> consumer_;
  mutable std::mutex mutex_;
  std::condition_variable space_cv_;
  std::deque<T> items_;
  bool closed_ = false;
};

}  // namespace otap_parquet::engine
