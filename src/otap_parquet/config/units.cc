// SPDX-License-Identifier: Apache-2.0
#include "otap_parquet/config/units.h"
#include "otap_parquet/util/strings.h"

#include <cctype>
#include <cmath>
#include <limits>
#include <string>

#include <fmt/format.h>

namespace otap_parquet::config {

namespace {

std::string_view Trim(std::string_view s) {
  while (!s.empty() && std::isspace(static_cast<unsigned char>(s.front()))) {
    s.remove_prefix(1);
  }
  while (!s.empty() && std::isspace(static_cast<unsigned char>(s.back()))) {
    s.remove_suffix(1);
  }
  return s;
}

}  // namespace

arrow::Result<std::chrono::nanoseconds> ParseDuration(std::string_view text) {
  const std::string_view s = Trim(text);
  auto invalid = [&] {
    return arrow::Status::Invalid(
        "invalid duration \"", text,
        "\"; expected e.g. 500ms, 10s, 2min, 1h (units ns, us, ms, s, m/min, h, d)");
  };
  if (s.empty()) return invalid();
  if (s == "0") return std::chrono::nanoseconds(0);
  size_t i = 0;
  long double total_ns = 0;
  while (i < s.size()) {
    while (i < s.size() && s[i] == ' ') ++i;
    size_t start = i;
    while (i < s.size() && std::isdigit(static_cast<unsigned char>(s[i]))) ++i;
    if (i == start) return invalid();
    // Digit by digit: std::stold throws on a number past long double's range, and
    // a value of thousands of digits must be "too large", not an abort.
    long double value = 0;
    for (size_t k = start; k < i; ++k) value = value * 10 + (s[k] - '0');
    start = i;
    while (i < s.size() && std::isalpha(static_cast<unsigned char>(s[i]))) ++i;
    const std::string unit = util::AsciiLower(s.substr(start, i - start));
    long double scale;
    if (unit == "ns" || unit == "nsec") {
      scale = 1;
    } else if (unit == "us" || unit == "usec") {
      scale = 1e3;
    } else if (unit == "ms" || unit == "msec") {
      scale = 1e6;
    } else if (unit == "s" || unit == "sec" || unit == "secs" || unit == "second" ||
               unit == "seconds") {
      scale = 1e9;
    } else if (unit == "m" || unit == "min" || unit == "mins" || unit == "minute" ||
               unit == "minutes") {
      scale = 60e9;
    } else if (unit == "h" || unit == "hr" || unit == "hrs" || unit == "hour" ||
               unit == "hours") {
      scale = 3600e9;
    } else if (unit == "d" || unit == "day" || unit == "days") {
      scale = 86400e9;
    } else {
      return invalid();
    }
    total_ns += value * scale;
    if (total_ns > static_cast<long double>(std::numeric_limits<int64_t>::max())) {
      return arrow::Status::Invalid("duration \"", text, "\" is too large");
    }
  }
  return std::chrono::nanoseconds(static_cast<int64_t>(total_ns));
}

arrow::Result<int64_t> ParseBytes(std::string_view text) {
  const std::string_view s = Trim(text);
  auto invalid = [&] {
    return arrow::Status::Invalid("invalid byte size \"", text,
                                  "\"; expected an integer or e.g. 4MiB, 4MB, 512KiB");
  };
  // digits[.digits]: one decimal point at most ("1.2.3MB" is not 1.2 MB).
  size_t i = 0;
  long double value = 0;
  size_t digits = 0;
  while (i < s.size() && std::isdigit(static_cast<unsigned char>(s[i]))) {
    value = value * 10 + (s[i++] - '0');
    ++digits;
  }
  if (i < s.size() && s[i] == '.') {
    ++i;
    long double scale = 0.1L;
    while (i < s.size() && std::isdigit(static_cast<unsigned char>(s[i]))) {
      value += (s[i++] - '0') * scale;
      scale /= 10;
      ++digits;
    }
  }
  if (digits == 0 || (i < s.size() && s[i] == '.')) return invalid();
  std::string_view unit = Trim(s.substr(i));
  long double scale = 1;
  if (!unit.empty() && unit != "b" && unit != "B") {
    const std::string u = util::AsciiLower(unit);
    if (u == "kb" || u == "k") {
      scale = 1e3;
    } else if (u == "mb" || u == "m") {
      scale = 1e6;
    } else if (u == "gb" || u == "g") {
      scale = 1e9;
    } else if (u == "tb" || u == "t") {
      scale = 1e12;
    } else if (u == "kib" || u == "ki") {
      scale = 1024.0L;
    } else if (u == "mib" || u == "mi") {
      scale = 1024.0L * 1024;
    } else if (u == "gib" || u == "gi") {
      scale = 1024.0L * 1024 * 1024;
    } else if (u == "tib" || u == "ti") {
      scale = 1024.0L * 1024 * 1024 * 1024;
    } else {
      return invalid();
    }
  }
  const long double bytes = value * scale;
  if (bytes > static_cast<long double>(std::numeric_limits<int64_t>::max())) {
    return arrow::Status::Invalid("byte size \"", text, "\" is too large");
  }
  // A fraction of a byte means a typo, not a size to round.
  const bool in_bytes = unit.empty() || unit == "b" || unit == "B";
  if (in_bytes && value != std::floor(value)) return invalid();
  return static_cast<int64_t>(std::llround(bytes));
}

std::string FormatDuration(std::chrono::nanoseconds d) {
  const int64_t ns = d.count();
  if (ns % 1'000'000'000 == 0) return fmt::format("{}s", ns / 1'000'000'000);
  if (ns % 1'000'000 == 0) return fmt::format("{}ms", ns / 1'000'000);
  if (ns % 1'000 == 0) return fmt::format("{}us", ns / 1'000);
  return fmt::format("{}ns", ns);
}

arrow::Result<HostPort> ParseHostPort(std::string_view text) {
  const size_t colon = text.rfind(':');
  if (colon == std::string_view::npos || colon == 0) {
    return arrow::Status::Invalid("\"", text,
                                  "\" is not HOST:PORT (e.g. 127.0.0.1:8080)");
  }
  HostPort out;
  std::string_view host = text.substr(0, colon);
  if (host.size() >= 2 && host.front() == '[' && host.back() == ']') {
    host = host.substr(1, host.size() - 2);
  }
  out.host = std::string(host);
  const std::string_view port = text.substr(colon + 1);
  if (port.empty() || port.size() > 5 ||
      port.find_first_not_of("0123456789") != std::string_view::npos ||
      std::stoi(std::string(port)) > 65535) {
    return arrow::Status::Invalid("\"", text, "\": port must be 0..65535");
  }
  out.port = std::stoi(std::string(port));
  return out;
}

}  // namespace otap_parquet::config
