// SPDX-License-Identifier: Apache-2.0
#include "otap_parquet/config/time_bound.h"

#include <ctime>
#include <exception>
#include <string>

#include <arrow/status.h>

namespace otap_parquet::config {

arrow::Result<int64_t> ParseTimeBound(const std::string& text) {
  if (!text.empty() && text.find_first_not_of("0123456789") == std::string::npos) {
    try {
      return static_cast<int64_t>(std::stoll(text));
    } catch (const std::exception&) {
      return arrow::Status::Invalid("time '", text, "' does not fit in 64 bits");
    }
  }
  std::tm tm{};
  const char* rest = strptime(text.c_str(), "%Y-%m-%dT%H:%M:%S", &tm);
  if (rest == nullptr) {
    return arrow::Status::Invalid("time '", text,
                                  "': expected Unix nanoseconds or RFC 3339 UTC like "
                                  "2026-11-23T10:00:00Z");
  }
  int64_t nanos = 0;
  if (*rest == '.') {
    ++rest;
    int digits = 0;
    while (*rest >= '0' && *rest <= '9') {
      if (digits < 9) nanos = nanos * 10 + (*rest - '0');
      ++digits;
      ++rest;
    }
    for (; digits < 9; ++digits) nanos *= 10;
  }
  if (std::string(rest) != "Z" && std::string(rest) != "+00:00") {
    return arrow::Status::Invalid("time '", text, "': only UTC (Z) is accepted");
  }
  return static_cast<int64_t>(timegm(&tm)) * 1'000'000'000 + nanos;
}

}  // namespace otap_parquet::config
