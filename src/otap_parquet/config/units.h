// SPDX-License-Identifier: Apache-2.0
#pragma once

#include <chrono>
#include <cstdint>
#include <string>
#include <string_view>

#include <arrow/result.h>

/// \file
/// Duration and byte-size values as upstream's configuration writes them.

namespace otap_parquet::config {

/// \brief Parses a humantime-style duration: one or more `<integer><unit>` terms
/// (`500ms`, `10s`, `2min`, `5m`, `1h`, `1h30m`), units ns, us, ms, s/sec, m/min,
/// h/hr, d. A bare `0` is zero. Invalid names the value and the accepted units.
arrow::Result<std::chrono::nanoseconds> ParseDuration(std::string_view text);

/// \brief Parses a byte size: a non-negative integer, or an integer/decimal with a
/// unit, decimal (`B`, `KB`, `MB`, `GB`, `TB`, also `k`, `m`, `g`) or binary (`KiB`,
/// `MiB`, `GiB`, `TiB`); units are case-insensitive except that `b` alone means
/// bytes. `4MiB` = 4·2^20, `4MB` = 4·10^6.
arrow::Result<int64_t> ParseBytes(std::string_view text);

/// \brief Renders a duration for messages and logs ("1.5s", "200ms").
std::string FormatDuration(std::chrono::nanoseconds d);

/// \brief A listening address `HOST:PORT` (`[V6]:PORT` for IPv6), port 0..65535
/// (0 = any free port). Invalid with the reason otherwise.
struct HostPort {
  std::string host;
  int port = 0;
};
arrow::Result<HostPort> ParseHostPort(std::string_view text);

}  // namespace otap_parquet::config
