// SPDX-License-Identifier: Apache-2.0
#include "otap_parquet/util/backoff.h"

#include <algorithm>
#include <cmath>

namespace otap_parquet::util {

std::chrono::nanoseconds BackoffPolicy::BaseDelay(int64_t retry) const {
  const double initial = static_cast<double>(initial_interval.count());
  const double max = static_cast<double>(max_interval.count());
  const double exponent = static_cast<double>(std::max<int64_t>(0, retry - 1));
  return std::chrono::nanoseconds(
      static_cast<int64_t>(std::min(max, initial * std::pow(multiplier, exponent))));
}

std::chrono::nanoseconds BackoffPolicy::MaxDelaySum(int64_t retries) const {
  double sum = 0;
  for (int64_t n = 1; n <= retries; ++n) {
    sum += static_cast<double>(BaseDelay(n).count()) * (1 + jitter);
  }
  return std::chrono::nanoseconds(static_cast<int64_t>(sum));
}

Backoff::Backoff(BackoffPolicy policy, uint64_t seed) : policy_(policy), random_(seed) {}

std::chrono::nanoseconds Backoff::Delay(int64_t retry,
                                        std::optional<std::chrono::nanoseconds> hint) {
  const double base = static_cast<double>(policy_.BaseDelay(retry).count());
  const double f = policy_.jitter;
  std::chrono::nanoseconds delay(static_cast<int64_t>(base));
  if (f > 0) {
    std::uniform_real_distribution<double> draw(base * (1 - f), base * (1 + f));
    delay = std::chrono::nanoseconds(static_cast<int64_t>(draw(random_)));
  }
  if (hint && *hint > delay) delay = *hint;
  return delay;
}

}  // namespace otap_parquet::util
