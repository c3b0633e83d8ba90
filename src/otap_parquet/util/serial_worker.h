// SPDX-License-Identifier: Apache-2.0
#pragma once

#include <condition_variable>
#include <cstddef>
#include <deque>
#include <functional>
#include <mutex>
#include <string>
#include <thread>

namespace otap_parquet::util {

/// \brief One background thread that runs submitted jobs in submission order.
///
/// The queue is bounded: Submit() blocks while `capacity` jobs are queued or
/// running, so a producer faster than the jobs is slowed down instead of piling up
/// memory. The destructor runs every job already submitted, then joins.
class SerialWorker {
 public:
  /// \brief Starts the thread, named `name` (at most 15 characters are kept).
  SerialWorker(std::string name, size_t capacity);
  ~SerialWorker();
  SerialWorker(const SerialWorker&) = delete;
  SerialWorker& operator=(const SerialWorker&) = delete;

  /// \brief Queues `job` (it must not throw); blocks while the queue is full.
  void Submit(std::function<void()> job);

 private:
  void Run();

  const size_t capacity_;
  std::mutex mu_;
  std::condition_variable cv_;
  std::deque<std::function<void()>> jobs_;
  size_t running_ = 0;
  bool stop_ = false;
  std::thread thread_;
};

}  // namespace otap_parquet::util
