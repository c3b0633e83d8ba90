// SPDX-License-Identifier: Apache-2.0
#include "otap_parquet/util/serial_worker.h"

#include <pthread.h>

#include <algorithm>
#include <utility>

namespace otap_parquet::util {

SerialWorker::SerialWorker(std::string name, size_t capacity)
    : capacity_(std::max<size_t>(capacity, 1)) {
  thread_ = std::thread([this, name = std::move(name)] {
    // Named for top/perf; Linux keeps 15 characters.
    pthread_setname_np(pthread_self(), name.substr(0, 15).c_str());
    Run();
  });
}

SerialWorker::~SerialWorker() {
  {
    std::lock_guard<std::mutex> lock(mu_);
    stop_ = true;
  }
  cv_.notify_all();
  thread_.join();
}

void SerialWorker::Submit(std::function<void()> job) {
  std::unique_lock<std::mutex> lock(mu_);
  cv_.wait(lock, [this] { return jobs_.size() + running_ < capacity_; });
  jobs_.push_back(std::move(job));
  cv_.notify_all();
}

void SerialWorker::Run() {
  std::unique_lock<std::mutex> lock(mu_);
  for (;;) {
    cv_.wait(lock, [this] { return stop_ || !jobs_.empty(); });
    if (jobs_.empty()) return;  // stopped and drained
    auto job = std::move(jobs_.front());
    jobs_.pop_front();
    ++running_;
    lock.unlock();
    job();
    job = nullptr;  // its captures go before the slot is given back
    lock.lock();
    --running_;
    cv_.notify_all();
  }
}

}  // namespace otap_parquet::util
