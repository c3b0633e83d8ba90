// SPDX-License-Identifier: Apache-2.0
#pragma once

#include <functional>
#include <utility>

namespace otap_parquet::util {

/// \brief Runs a callback when destroyed. Declared as the first member of a class,
/// it runs after every other member is gone: e.g. a gRPC call object whose
/// `ClientContext` drops the last reference to the call only when destroyed tells
/// its owner "fully gone" from here, so the owner's Stop() cannot return (and the
/// process cannot start exiting) while gRPC still tears the call down.
class OnDestroy {
 public:
  OnDestroy() = default;
  explicit OnDestroy(std::function<void()> callback) : callback_(std::move(callback)) {}
  OnDestroy(const OnDestroy&) = delete;
  OnDestroy& operator=(const OnDestroy&) = delete;
  ~OnDestroy() {
    if (callback_) callback_();
  }
  void Set(std::function<void()> callback) { callback_ = std::move(callback); }

 private:
  std::function<void()> callback_;
};

}  // namespace otap_parquet::util
