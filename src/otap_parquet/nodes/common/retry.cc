// SPDX-License-Identifier: Apache-2.0
#include "otap_parquet/nodes/common/retry.h"

#include <algorithm>
#include <charconv>
#include <cmath>
#include <ctime>

#include <fmt/format.h>
#include <google/protobuf/io/coded_stream.h>
#include <google/protobuf/wire_format_lite.h>

namespace otap_parquet::nodes {

namespace {

using google::protobuf::internal::WireFormatLite;
using google::protobuf::io::CodedInputStream;

constexpr const char* kGrpcCodeNames[] = {"OK",
                                          "CANCELLED",
                                          "UNKNOWN",
                                          "INVALID_ARGUMENT",
                                          "DEADLINE_EXCEEDED",
                                          "NOT_FOUND",
                                          "ALREADY_EXISTS",
                                          "PERMISSION_DENIED",
                                          "RESOURCE_EXHAUSTED",
                                          "FAILED_PRECONDITION",
                                          "ABORTED",
                                          "OUT_OF_RANGE",
                                          "UNIMPLEMENTED",
                                          "INTERNAL",
                                          "UNAVAILABLE",
                                          "DATA_LOSS",
                                          "UNAUTHENTICATED"};

// A peer's retry hint is capped here: larger values (Retry-After: 10000000000,
// RetryInfo{seconds: 2^62}) overflowed the nanosecond count, or `now + hint` into
// a due time in the past (retried at once, in a loop). A year is far beyond any
// max_elapsed_time (the exporter then gives up; with 0, it waits for shutdown).
constexpr std::chrono::seconds kMaxRetryHint = std::chrono::hours(24 * 365);

std::chrono::nanoseconds HintOf(int64_t seconds, int64_t nanos) {
  if (seconds >= kMaxRetryHint.count() || nanos >= kMaxRetryHint.count() * 1000000000) {
    return kMaxRetryHint;
  }
  return std::min<std::chrono::nanoseconds>(
      kMaxRetryHint, std::chrono::seconds(seconds) + std::chrono::nanoseconds(nanos));
}

// Visits the length-delimited fields of one message; `fn(field, bytes)`.
template <typename Fn>
bool ForEachBytesField(const std::string& message, Fn&& fn) {
  CodedInputStream in(reinterpret_cast<const uint8_t*>(message.data()),
                      static_cast<int>(message.size()));
  while (uint32_t tag = in.ReadTag()) {
    const int field = WireFormatLite::GetTagFieldNumber(tag);
    if (WireFormatLite::GetTagWireType(tag) ==
        WireFormatLite::WIRETYPE_LENGTH_DELIMITED) {
      std::string bytes;
      uint32_t size = 0;
      if (!in.ReadVarint32(&size) || !in.ReadString(&bytes, static_cast<int>(size))) {
        return false;
      }
      fn(field, bytes);
    } else if (!WireFormatLite::SkipField(&in, tag)) {
      return false;
    }
  }
  return true;
}

// google.protobuf.Duration{seconds = 1, nanos = 2}.
std::optional<std::chrono::nanoseconds> ParseDurationMessage(const std::string& bytes) {
  CodedInputStream in(reinterpret_cast<const uint8_t*>(bytes.data()),
                      static_cast<int>(bytes.size()));
  int64_t seconds = 0, nanos = 0;
  while (uint32_t tag = in.ReadTag()) {
    uint64_t v = 0;
    const int field = WireFormatLite::GetTagFieldNumber(tag);
    if (WireFormatLite::GetTagWireType(tag) == WireFormatLite::WIRETYPE_VARINT &&
        (field == 1 || field == 2)) {
      if (!in.ReadVarint64(&v)) return std::nullopt;
      (field == 1 ? seconds : nanos) = static_cast<int64_t>(v);
    } else if (!WireFormatLite::SkipField(&in, tag)) {
      return std::nullopt;
    }
  }
  if (seconds < 0 || nanos < 0) return std::nullopt;
  return HintOf(seconds, nanos);
}

}  // namespace

AttemptOutcome ClassifyGrpcCode(int code) {
  switch (code) {
    case 0:
      return AttemptOutcome::kSuccess;
    case 1:   // CANCELLED
    case 2:   // UNKNOWN
    case 4:   // DEADLINE_EXCEEDED
    case 8:   // RESOURCE_EXHAUSTED
    case 10:  // ABORTED
    case 11:  // OUT_OF_RANGE
    case 14:  // UNAVAILABLE
    case 15:  // DATA_LOSS
      return AttemptOutcome::kRetryable;
    default:
      return AttemptOutcome::kPermanent;
  }
}

std::string GrpcCodeName(int code) {
  if (code >= 0 && code < static_cast<int>(std::size(kGrpcCodeNames))) {
    return kGrpcCodeNames[code];
  }
  return "code_" + std::to_string(code);
}

AttemptOutcome ClassifyHttpStatus(int status) {
  if (status >= 200 && status < 300) return AttemptOutcome::kSuccess;
  switch (status) {
    case 429:
    case 502:
    case 503:
    case 504:
      return AttemptOutcome::kRetryable;
    default:
      return AttemptOutcome::kPermanent;
  }
}

std::optional<std::chrono::nanoseconds> ParseRetryAfter(std::string_view value) {
  while (!value.empty() && value.front() == ' ') value.remove_prefix(1);
  while (!value.empty() && value.back() == ' ') value.remove_suffix(1);
  if (value.empty()) return std::nullopt;
  int64_t seconds = 0;
  auto [ptr, ec] = std::from_chars(value.data(), value.data() + value.size(), seconds);
  if (ec == std::errc() && ptr == value.data() + value.size()) {
    if (seconds < 0) return std::nullopt;
    return HintOf(seconds, 0);
  }
  if (ec == std::errc::result_out_of_range &&
      std::all_of(value.begin(), value.end(),
                  [](char c) { return c >= '0' && c <= '9'; })) {
    return kMaxRetryHint;  // delay-seconds past int64
  }
  // IMF-fixdate: "Sun, 06 Nov 1994 08:49:37 GMT".
  std::tm tm{};
  const std::string text(value);
  const char* end = strptime(text.c_str(), "%a, %d %b %Y %H:%M:%S GMT", &tm);
  if (end == nullptr || *end != '\0') return std::nullopt;
  // In whole seconds: a far date overflows system_clock's nanoseconds.
  const int64_t when = static_cast<int64_t>(timegm(&tm));
  const int64_t now = static_cast<int64_t>(std::time(nullptr));
  if (when <= now) return std::chrono::nanoseconds(0);
  return HintOf(when - now, 0);
}

std::optional<std::chrono::nanoseconds> RetryDelayFromStatusDetails(
    const std::string& details) {
  // google.rpc.Status{details = 3: repeated Any{type_url = 1, value = 2}};
  // RetryInfo{retry_delay = 1: Duration}.
  std::optional<std::chrono::nanoseconds> delay;
  ForEachBytesField(details, [&](int field, const std::string& any) {
    if (field != 3) return;
    std::string type_url, value;
    ForEachBytesField(any, [&](int f, const std::string& bytes) {
      if (f == 1) type_url = bytes;
      if (f == 2) value = bytes;
    });
    if (!type_url.ends_with("/google.rpc.RetryInfo")) return;
    ForEachBytesField(value, [&](int f, const std::string& bytes) {
      if (f == 1) delay = ParseDurationMessage(bytes);
    });
  });
  return delay;
}

std::optional<std::string> MessageFromRpcStatus(const std::string& status) {
  std::optional<std::string> message;
  const bool ok = ForEachBytesField(status, [&](int field, const std::string& bytes) {
    if (field == 2) message = bytes;
  });
  if (!ok) return std::nullopt;
  return message;
}

OtlpRetryConfig OtlpRetryConfig::Read(config::ConfigReader& reader) {
  OtlpRetryConfig c;
  if (auto v = reader.Bool("enabled")) c.enabled = *v;
  const auto one_ns = std::chrono::nanoseconds(1);
  if (auto v = reader.Duration("initial_interval", one_ns)) c.initial_interval = *v;
  if (auto v = reader.Duration("max_interval", one_ns)) c.max_interval = *v;
  if (auto v = reader.Duration("max_elapsed_time")) c.max_elapsed_time = *v;
  if (auto v = reader.Double("multiplier")) {
    if (*v < 1.0) {
      reader.Error("multiplier", fmt::format("must be >= 1, got {}", *v));
    } else {
      c.multiplier = *v;
    }
  }
  if (auto v = reader.Double("randomization_factor")) {
    if (*v < 0.0 || *v > 1.0) {
      reader.Error("randomization_factor", fmt::format("must be in [0, 1], got {}", *v));
    } else {
      c.randomization_factor = *v;
    }
  }
  if (c.max_interval < c.initial_interval) {
    reader.Error("max_interval", "must be >= initial_interval");
  }
  return c;
}

}  // namespace otap_parquet::nodes
