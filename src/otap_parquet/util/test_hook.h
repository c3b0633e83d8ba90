// SPDX-License-Identifier: Apache-2.0
#pragma once

#include <concepts>
#include <functional>
#include <string_view>
#include <type_traits>
#include <utility>

namespace otap_parquet::util {

/// \brief A test seam of production code: called at named points ("cancelled",
/// "listed", "committed", ...) where a test waits, acts, or stops or kills the
/// process. Empty by default; then calling it only tests an empty std::function.
/// Each field or setter that holds one documents its points. Call it from any
/// thread; the callable must be safe for the threads that reach its points.
class TestHook {
 public:
  TestHook() = default;
  /// Implicit, so a test assigns a lambda: `options.test_hook = [&](auto point) {...}`.
  template <typename F>
  requires(!std::same_as<std::remove_cvref_t<F>, TestHook> &&
           std::is_invocable_v<F&, std::string_view>)
      TestHook(F&& callable)  // NOLINT(google-explicit-constructor)
      : callable_(std::forward<F>(callable)) {}

  /// \brief Whether a test set it.
  explicit operator bool() const { return static_cast<bool>(callable_); }

  /// \brief Tells the test that `point` is reached; nothing when unset.
  void operator()(std::string_view point) const {
    if (callable_) callable_(point);
  }

 private:
  std::function<void(std::string_view)> callable_;
};

}  // namespace otap_parquet::util
