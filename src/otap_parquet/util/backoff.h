// SPDX-License-Identifier: Apache-2.0
#pragma once

#include <chrono>
#include <cstdint>
#include <optional>
#include <random>

/// \file
/// The one backoff policy of the engine. Every retry setting (the OTLP exporters'
/// `retry_on_failure`, the parquet exporter's object-store `retry`, the parquet
/// receiver's `retry` and its storage reopen, the reader's I/O attempts) maps onto a
/// BackoffPolicy; only how each reads its YAML keys differs.

namespace otap_parquet::util {

/// \brief Exponential backoff with jitter (the Collector's algorithm): retry n
/// (1-based) waits initial_interval·multiplier^(n-1), capped at max_interval, drawn
/// from [d·(1−jitter), d·(1+jitter)].
struct BackoffPolicy {
  std::chrono::nanoseconds initial_interval{std::chrono::seconds(1)};
  std::chrono::nanoseconds max_interval{std::chrono::seconds(30)};
  double multiplier = 2.0;
  /// Randomization factor in [0, 1]; 0 = the same delays every time.
  double jitter = 0.0;
  /// No retry starts later than this after the first attempt; 0 = no limit. Callers
  /// measure it (clock time, or MaxDelaySum for a budget of the delays alone).
  std::chrono::nanoseconds max_elapsed{0};

  /// \brief The delay of retry `retry` (1-based) before jitter.
  std::chrono::nanoseconds BaseDelay(int64_t retry) const;
  /// \brief The largest delays retries 1..`retries` can take, summed.
  std::chrono::nanoseconds MaxDelaySum(int64_t retries) const;
  /// \brief Whether `elapsed` is past max_elapsed (never when it is 0).
  bool Expired(std::chrono::nanoseconds elapsed) const {
    return max_elapsed.count() > 0 && elapsed > max_elapsed;
  }
};

/// \brief A BackoffPolicy with its random source.
class Backoff {
 public:
  explicit Backoff(BackoffPolicy policy, uint64_t seed = std::random_device{}());

  /// \brief Delay before retry number `retry` (1-based), at least the peer's hint.
  std::chrono::nanoseconds Delay(int64_t retry,
                                 std::optional<std::chrono::nanoseconds> hint = {});

  const BackoffPolicy& policy() const { return policy_; }

 private:
  BackoffPolicy policy_;
  std::mt19937_64 random_;
};

}  // namespace otap_parquet::util
