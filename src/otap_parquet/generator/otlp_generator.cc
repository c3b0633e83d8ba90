// SPDX-License-Identifier: Apache-2.0
#include "otap_parquet/generator/otlp_generator.h"

#include <algorithm>
#include <cmath>
#include <cstring>
#include <deque>
#include <limits>
#include <string>
#include <string_view>
#include <type_traits>
#include <utility>
#include <variant>

namespace otap_parquet::generator {

namespace {

namespace common = otlp::pb::common;
namespace resource = otlp::pb::resource;
namespace logs = otlp::pb::logs;
namespace trace = otlp::pb::trace;
namespace metrics = otlp::pb::metrics;
using Attributes = google::protobuf::RepeatedPtrField<common::KeyValue>;
using otlp::LogsRequest;
using otlp::MetricsRequest;
using otlp::TracesRequest;

constexpr int kMaxCount = 1'000'000;

int Clamp(int value) { return std::clamp(value, 0, kMaxCount); }

// Maps engine output to values without std::*_distribution, whose algorithms are
// implementation-defined: the same seed must give the same bytes everywhere.
class Rng {
 public:
  explicit Rng(std::mt19937_64& engine) : engine_(engine) {}

  uint64_t Bits() { return engine_(); }
  /// Uniform in [0, n) for n > 0 (Lemire's multiply-shift; bias < n / 2^64).
  uint64_t Below(uint64_t n) {
    return static_cast<uint64_t>((static_cast<unsigned __int128>(engine_()) * n) >> 64);
  }
  /// Uniform in [lo, hi].
  int64_t Between(int64_t lo, int64_t hi) {
    return lo + static_cast<int64_t>(Below(static_cast<uint64_t>(hi - lo) + 1));
  }
  /// Uniform in [0, 1) with 53 random bits.
  double Unit() { return static_cast<double>(engine_() >> 11) * 0x1.0p-53; }
  bool Chance(double p) { return Unit() < p; }
  template <typename T, size_t N>
  const T& Pick(const T (&values)[N]) {
    return values[Below(N)];
  }
  /// `n` random bytes, little-endian from each 64-bit draw.
  std::string Bytes(size_t n) {
    std::string out(n, '\0');
    for (size_t i = 0; i < n; i += 8) {
      uint64_t v = engine_();
      for (size_t k = 0; k < 8 && i + k < n; ++k) {
        out[i + k] = static_cast<char>(v >> (8 * k));
      }
    }
    return out;
  }
  /// `n` characters from [a-z0-9].
  std::string Alnum(size_t n) {
    static constexpr char kChars[] = "abcdefghijklmnopqrstuvwxyz0123456789";
    std::string out(n, 'a');
    for (auto& c : out) c = kChars[Below(36)];
    return out;
  }

 private:
  std::mt19937_64& engine_;
};

void AddStr(Attributes* attrs, const char* key, std::string value) {
  auto* kv = attrs->Add();
  kv->set_key(key);
  kv->mutable_value()->set_string_value(std::move(value));
}
void AddInt(Attributes* attrs, const char* key, int64_t value) {
  auto* kv = attrs->Add();
  kv->set_key(key);
  kv->mutable_value()->set_int_value(value);
}
void AddBool(Attributes* attrs, const char* key, bool value) {
  auto* kv = attrs->Add();
  kv->set_key(key);
  kv->mutable_value()->set_bool_value(value);
}

constexpr const char* kSchemaUrl = "https://opentelemetry.io/schemas/1.26.0";

// ===========================================================================
// Realistic mode.

struct Service {
  const char* name;
  const char* version;
  const char* language;
};
constexpr Service kServices[] = {
    {"checkout", "1.4.2", "go"},           {"cart", "2.0.1", "dotnet"},
    {"frontend", "3.1.0", "nodejs"},       {"payment", "0.9.7", "java"},
    {"shipping", "1.2.3", "rust"},         {"ad", "5.0.0", "java"},
    {"recommendation", "1.8.0", "python"}, {"currency", "0.3.1", "cpp"}};

struct Route {
  const char* method;
  const char* route;
  const char* path;  ///< prefix; "{id}" routes get a number appended
  bool has_id;
};
constexpr Route kRoutes[] = {
    {"GET", "/api/v1/users/{id}", "/api/v1/users/", true},
    {"POST", "/api/v1/orders", "/api/v1/orders", false},
    {"GET", "/api/v1/products", "/api/v1/products", false},
    {"GET", "/healthz", "/healthz", false},
    {"PUT", "/api/v1/cart/{id}", "/api/v1/cart/", true},
    {"DELETE", "/api/v1/sessions/{id}", "/api/v1/sessions/", true},
    {"GET", "/api/v1/products/{id}/reviews", "/api/v1/products/", true}};

constexpr const char* kUserAgents[] = {"Mozilla/5.0 (X11; Linux x86_64)",
                                       "Mozilla/5.0 (iPhone; iOS 17_5)",
                                       "curl/8.5.0",
                                       "okhttp/4.12.0",
                                       "Go-http-client/2.0",
                                       "python-requests/2.32.3"};

constexpr const char* kScopeNames[] = {
    "io.opentelemetry.tomcat-10.0",
    "io.opentelemetry.netty-4.1",
    "go.opentelemetry.io/contrib/instrumentation/net/http/otelhttp",
    "opentelemetry.instrumentation.flask",
    "com.example.checkout.handlers",
    "io.opentelemetry.jdbc"};

constexpr const char* kRegions[] = {"us-east-1", "eu-west-1", "ap-southeast-2"};

int64_t PickStatus(Rng& rng) {
  static constexpr int64_t kCodes[] = {200, 200, 200, 200, 200, 200, 200, 200, 200, 200,
                                       200, 201, 204, 301, 400, 404, 404, 500, 503};
  return rng.Pick(kCodes);
}

struct Severity {
  int number;
  const char* text;
};

Severity PickSeverity(Rng& rng) {
  uint64_t r = rng.Below(100);
  if (r < 10) return {5, "DEBUG"};
  if (r < 80) return {9, "INFO"};
  if (r < 92) return {13, "WARN"};
  if (r < 99) return {17, "ERROR"};
  return {21, "FATAL"};
}

// ===========================================================================
// Edge-case values.

const std::string& EdgeString(Rng& rng) {
  static const std::string kStrings[] = {
      "",
      "a",
      "hello world",
      "h\xC3\xA9llo w\xC3\xB6rld",               // héllo wörld
      "\xE6\x97\xA5\xE6\x9C\xAC\xE8\xAA\x9E",    // 日本語
      "emoji \xF0\x9F\x9A\x80\xF0\x9F\x94\xA5",  // 🚀🔥
      "\xD7\xA9\xD7\x9C\xD7\x95\xD7\x9D",        // שלום (RTL)
      "tab\tnewline\nquote\"backslash\\",
      std::string("nul\0byte", 8),
      "\xEF\xBB\xBF"
      "bom",               // U+FEFF prefix
      "\xF4\x8F\xBF\xBF",  // U+10FFFF
      std::string(1000, 'x'),
      " leading and trailing spaces ",
      "0",
  };
  return rng.Pick(kStrings);
}

int64_t EdgeInt(Rng& rng) {
  static constexpr int64_t kInts[] = {0,
                                      1,
                                      -1,
                                      std::numeric_limits<int64_t>::min(),
                                      std::numeric_limits<int64_t>::max(),
                                      std::numeric_limits<int32_t>::min() - 1LL,
                                      std::numeric_limits<int32_t>::max() + 1LL,
                                      255,
                                      -65536};
  if (rng.Chance(0.3)) return static_cast<int64_t>(rng.Bits());
  return rng.Pick(kInts);
}

double EdgeDouble(Rng& rng) {
  static const double kDoubles[] = {0.0,
                                    -0.0,
                                    1.0,
                                    -1.5,
                                    0.1,
                                    std::numeric_limits<double>::quiet_NaN(),
                                    std::numeric_limits<double>::infinity(),
                                    -std::numeric_limits<double>::infinity(),
                                    std::numeric_limits<double>::denorm_min(),
                                    -std::numeric_limits<double>::denorm_min(),
                                    std::numeric_limits<double>::min(),
                                    std::numeric_limits<double>::max(),
                                    -std::numeric_limits<double>::max(),
                                    1e-300,
                                    9007199254740993.0};
  if (rng.Chance(0.3)) {
    // Random bits, but never a non-canonical NaN (payloads do not survive every
    // encoding, e.g. CBOR half floats).
    uint64_t bits = rng.Bits();
    double value;
    static_assert(sizeof(value) == sizeof(bits));
    std::memcpy(&value, &bits, sizeof(value));
    return std::isnan(value) ? std::numeric_limits<double>::quiet_NaN() : value;
  }
  return rng.Pick(kDoubles);
}

std::string EdgeBytes(Rng& rng) {
  switch (rng.Below(5)) {
    case 0:
      return "";
    case 1:
      return std::string(1, '\0');
    case 2:
      return std::string(4, '\xff');
    default:
      return rng.Bytes(1 + rng.Below(40));
  }
}

uint32_t EdgeU32(Rng& rng) {
  switch (rng.Below(8)) {
    case 0:
    case 1:
    case 2:
      return 0;
    case 3:
      return 1;
    case 4:
      return std::numeric_limits<uint32_t>::max();
    default:
      return static_cast<uint32_t>(rng.Below(1000));
  }
}

uint64_t EdgeTime(Rng& rng, uint64_t now) {
  switch (rng.Below(8)) {
    case 0:
      return 0;
    case 1:
      return std::numeric_limits<uint64_t>::max();
    case 2:
      return 1;
    default:
      return now + rng.Below(1'000'000'000);
  }
}

uint32_t EdgeFlags(Rng& rng) {
  switch (rng.Below(5)) {
    case 0:
      return 0;
    case 1:
      return 1;
    case 2:
      return 0x100 | 1;
    case 3:
      return std::numeric_limits<uint32_t>::max();
    default:
      return static_cast<uint32_t>(rng.Bits());
  }
}

std::string EdgeId(Rng& rng, size_t size, double present = 0.7) {
  return rng.Chance(present) ? rng.Bytes(size) : std::string();
}

constexpr int kMaxDepth = 4;

void EdgeAttributes(Rng& rng, Attributes* attrs, int depth = 0);

void EdgeAnyValue(Rng& rng, common::AnyValue* value, int depth) {
  // Containers get rarer with depth; at kMaxDepth they are always empty.
  uint64_t kind = rng.Below(depth < 2 ? 9 : 10);
  switch (kind) {
    case 0:
      break;  // empty AnyValue
    case 1:
      value->set_string_value(EdgeString(rng));
      break;
    case 2:
      value->set_int_value(EdgeInt(rng));
      break;
    case 3:
      value->set_double_value(EdgeDouble(rng));
      break;
    case 4:
      value->set_bool_value(rng.Chance(0.5));
      break;
    case 5:
      value->set_bytes_value(EdgeBytes(rng));
      break;
    case 6: {
      auto* array = value->mutable_array_value();
      int n = depth >= kMaxDepth ? 0 : static_cast<int>(rng.Below(5));
      for (int i = 0; i < n; ++i) EdgeAnyValue(rng, array->add_values(), depth + 1);
      break;
    }
    case 7: {
      auto* kvlist = value->mutable_kvlist_value();
      if (depth < kMaxDepth) EdgeAttributes(rng, kvlist->mutable_values(), depth + 1);
      break;
    }
    default:
      value->set_string_value(EdgeString(rng));
      break;
  }
}

void EdgeAttributes(Rng& rng, Attributes* attrs, int depth) {
  static constexpr int kCounts[] = {0, 0, 1, 2, 3, 4, 6, 9};
  static constexpr const char* kKeys[] = {"key",
                                          "service.name",
                                          "http.status_code",
                                          "k\xC3\xA9y",
                                          "\xE3\x82\xAD\xE3\x83\xBC",
                                          "a.b.c.d.e.f",
                                          "x"};
  int n = rng.Pick(kCounts);
  for (int i = 0; i < n; ++i) {
    auto* kv = attrs->Add();
    // Keys are unique within a list; the first may be empty.
    if (i == 0 && rng.Chance(0.1)) {
      kv->set_key("");
    } else {
      kv->set_key(std::string(rng.Pick(kKeys)) + "." + std::to_string(i));
    }
    if (rng.Chance(0.05)) continue;  // KeyValue without value
    EdgeAnyValue(rng, kv->mutable_value(), depth);
  }
}

// Sorted explicit bounds (finite, may be negative).
void EdgeBounds(Rng& rng, int n, google::protobuf::RepeatedField<double>* bounds) {
  double b = -1000.0 + static_cast<double>(rng.Below(1000));
  for (int i = 0; i < n; ++i) {
    bounds->Add(b);
    b += 0.5 + static_cast<double>(rng.Below(200));
  }
}

void EdgeBuckets(Rng& rng, metrics::ExponentialHistogramDataPoint::Buckets* buckets,
                 uint64_t* count) {
  buckets->set_offset(static_cast<int32_t>(rng.Between(-60, 60)));
  int n = static_cast<int>(rng.Below(9));
  for (int i = 0; i < n; ++i) {
    uint64_t c = rng.Chance(0.2) ? 0 : rng.Below(1000);
    buckets->add_bucket_counts(c);
    *count += c;
  }
}

template <typename Dp>
void EdgeExemplars(Rng& rng, uint64_t now, Dp* dp) {
  int n = rng.Chance(0.5) ? 0 : static_cast<int>(rng.Below(4));
  for (int i = 0; i < n; ++i) {
    auto* ex = dp->add_exemplars();
    EdgeAttributes(rng, ex->mutable_filtered_attributes());
    ex->set_time_unix_nano(EdgeTime(rng, now));
    switch (rng.Below(3)) {
      case 0:
        ex->set_as_int(EdgeInt(rng));
        break;
      case 1:
        ex->set_as_double(EdgeDouble(rng));
        break;
      default:
        break;  // no value
    }
    ex->set_trace_id(EdgeId(rng, 16));
    ex->set_span_id(EdgeId(rng, 8));
  }
}

template <typename Dp>
void EdgeDpCommon(Rng& rng, uint64_t now, Dp* dp) {
  EdgeAttributes(rng, dp->mutable_attributes());
  dp->set_start_time_unix_nano(EdgeTime(rng, now));
  dp->set_time_unix_nano(EdgeTime(rng, now));
  dp->set_flags(rng.Chance(0.6) ? 0 : (rng.Chance(0.7) ? 1 : EdgeFlags(rng)));
}

// ===========================================================================

class Builder {
 public:
  Builder(const GeneratorOptions& options, std::mt19937_64& engine, uint64_t& now,
          uint64_t& sequence)
      : options_(options), rng_(engine), now_(now), sequence_(sequence) {}

  bool edge() const { return options_.mode == Mode::kEdgeCases; }

  // How many ScopeX / items a container gets.
  int ScopeCount() {
    if (edge() && options_.empty_containers && rng_.Chance(0.04)) return 0;
    return options_.scopes_per_resource;
  }
  int ItemCount() {
    if (!edge()) return options_.items_per_scope;
    if (options_.empty_containers && rng_.Chance(0.05)) return 0;
    int n = options_.items_per_scope;
    return n == 0 ? 0
                  : 1 + static_cast<int>(rng_.Below(2 * static_cast<uint64_t>(n) - 1));
  }

  void Tick() {
    now_ += 500'000 + rng_.Below(1'000'000);
    ++sequence_;
  }

  // ---- resources and scopes ------------------------------------------------

  template <typename ResourceX>
  void FillResource(ResourceX* rx) {
    if (!edge()) {
      RealisticResource(rx->mutable_resource());
      rx->set_schema_url(kSchemaUrl);
      return;
    }
    if (!rng_.Chance(0.1)) {  // else: absent Resource
      auto* r = rx->mutable_resource();
      EdgeAttributes(rng_, r->mutable_attributes());
      r->set_dropped_attributes_count(EdgeU32(rng_));
    }
    if (rng_.Chance(0.5))
      rx->set_schema_url(rng_.Chance(0.8) ? kSchemaUrl : EdgeString(rng_));
  }

  template <typename ScopeX>
  void FillScope(ScopeX* sx) {
    if (!edge()) {
      auto* s = sx->mutable_scope();
      s->set_name(rng_.Pick(kScopeNames));
      s->set_version("1." + std::to_string(rng_.Below(30)) + ".0");
      sx->set_schema_url(kSchemaUrl);
      return;
    }
    if (!rng_.Chance(0.1)) {  // else: absent scope
      auto* s = sx->mutable_scope();
      if (rng_.Chance(0.8)) s->set_name(EdgeString(rng_));
      if (rng_.Chance(0.6)) s->set_version(EdgeString(rng_));
      EdgeAttributes(rng_, s->mutable_attributes());
      s->set_dropped_attributes_count(EdgeU32(rng_));
    }
    if (rng_.Chance(0.5))
      sx->set_schema_url(rng_.Chance(0.8) ? kSchemaUrl : EdgeString(rng_));
  }

  void RealisticResource(resource::Resource* r) {
    const Service& svc = rng_.Pick(kServices);
    auto* attrs = r->mutable_attributes();
    attrs->Reserve(11);
    AddStr(attrs, "service.name", svc.name);
    AddStr(attrs, "service.version", svc.version);
    AddStr(
        attrs, "service.instance.id",
        rng_.Alnum(8) + "-" + rng_.Alnum(4) + "-" + rng_.Alnum(4) + "-" + rng_.Alnum(12));
    AddStr(attrs, "service.namespace", "shop");
    std::string node = "ip-10-0-" + std::to_string(rng_.Below(256)) + "-" +
                       std::to_string(rng_.Below(256)) + ".ec2.internal";
    AddStr(attrs, "host.name", node);
    AddStr(attrs, "k8s.namespace.name", "shop-prod");
    AddStr(attrs, "k8s.pod.name",
           std::string(svc.name) + "-" + rng_.Alnum(10) + "-" + rng_.Alnum(5));
    AddStr(attrs, "k8s.node.name", node);
    AddStr(attrs, "cloud.region", rng_.Pick(kRegions));
    AddStr(attrs, "deployment.environment.name", "production");
    AddStr(attrs, "telemetry.sdk.language", svc.language);
  }

  // ---- logs ------------------------------------------------------------

  void RealisticLog(logs::LogRecord* log) {
    const Route& route = rng_.Pick(kRoutes);
    int64_t status = PickStatus(rng_);
    Severity sev = status >= 500   ? Severity{17, "ERROR"}
                   : status >= 400 ? Severity{13, "WARN"}
                                   : PickSeverity(rng_);
    uint64_t duration_us = 200 + rng_.Below(rng_.Chance(0.9) ? 50'000 : 3'000'000);
    std::string path = route.path;
    if (route.has_id) path += std::to_string(1 + rng_.Below(100'000));

    log->set_time_unix_nano(now_);
    log->set_observed_time_unix_nano(now_ + rng_.Below(5'000'000));
    log->set_severity_number(static_cast<logs::SeverityNumber>(sev.number));
    log->set_severity_text(sev.text);
    std::string body = route.method;
    body += ' ';
    body += path;
    body += " -> ";
    body += std::to_string(status);
    body += " in ";
    body += std::to_string(duration_us / 1000);
    body += '.';
    body += std::to_string(duration_us % 1000 / 100);
    body += " ms";
    log->mutable_body()->set_string_value(std::move(body));
    auto* attrs = log->mutable_attributes();
    attrs->Reserve(10);
    AddStr(attrs, "http.request.method", route.method);
    AddStr(attrs, "http.route", route.route);
    AddInt(attrs, "http.response.status_code", status);
    AddStr(attrs, "url.path", std::move(path));
    AddStr(attrs, "url.scheme", "https");
    AddStr(attrs, "user_agent.original", rng_.Pick(kUserAgents));
    AddStr(attrs, "client.address",
           "10.1." + std::to_string(rng_.Below(256)) + "." +
               std::to_string(rng_.Below(256)));
    AddInt(attrs, "server.port", 8080);
    AddInt(attrs, "thread.id", static_cast<int64_t>(1 + rng_.Below(64)));
    AddInt(attrs, "code.lineno", static_cast<int64_t>(40 + rng_.Below(400)));
    if (rng_.Chance(0.9)) {
      log->set_trace_id(rng_.Bytes(16));
      log->set_span_id(rng_.Bytes(8));
      log->set_flags(1);
    }
  }

  void EdgeLog(logs::LogRecord* log) {
    log->set_time_unix_nano(EdgeTime(rng_, now_));
    log->set_observed_time_unix_nano(EdgeTime(rng_, now_));
    log->set_severity_number(static_cast<logs::SeverityNumber>(rng_.Below(25)));
    if (rng_.Chance(0.6)) log->set_severity_text(EdgeString(rng_));
    if (!rng_.Chance(0.15)) EdgeAnyValue(rng_, log->mutable_body(), 0);
    EdgeAttributes(rng_, log->mutable_attributes());
    log->set_dropped_attributes_count(EdgeU32(rng_));
    log->set_flags(EdgeFlags(rng_));
    log->set_trace_id(EdgeId(rng_, 16));
    log->set_span_id(EdgeId(rng_, 8));
    if (rng_.Chance(0.3)) log->set_event_name(EdgeString(rng_));
  }

  LogsRequest Logs() {
    LogsRequest request;
    for (int r = 0; r < options_.resources_per_request; ++r) {
      auto* rl = request.add_resource_logs();
      FillResource(rl);
      int scopes = ScopeCount();
      for (int s = 0; s < scopes; ++s) {
        auto* sl = rl->add_scope_logs();
        FillScope(sl);
        int n = ItemCount();
        sl->mutable_log_records()->Reserve(n);
        for (int i = 0; i < n; ++i) {
          if (edge()) {
            EdgeLog(sl->add_log_records());
          } else {
            RealisticLog(sl->add_log_records());
          }
          Tick();
        }
      }
    }
    return request;
  }

  // ---- traces ----------------------------------------------------------

  void RealisticSpan(trace::Span* span) {
    const Route& route = rng_.Pick(kRoutes);
    int64_t status = PickStatus(rng_);
    span->set_trace_id(rng_.Bytes(16));
    span->set_span_id(rng_.Bytes(8));
    if (rng_.Chance(0.7)) span->set_parent_span_id(rng_.Bytes(8));
    if (rng_.Chance(0.1))
      span->set_trace_state("congo=t61rcWkgMzE,rojo=00f067aa0ba902b7");
    span->set_flags(1);
    span->set_name(std::string(route.method) + " " + route.route);
    uint64_t k = rng_.Below(100);
    span->set_kind(k < 60   ? trace::Span::SPAN_KIND_SERVER
                   : k < 85 ? trace::Span::SPAN_KIND_CLIENT
                   : k < 95 ? trace::Span::SPAN_KIND_INTERNAL
                   : k < 98 ? trace::Span::SPAN_KIND_PRODUCER
                            : trace::Span::SPAN_KIND_CONSUMER);
    uint64_t duration =
        100'000 + rng_.Below(rng_.Chance(0.9) ? 50'000'000 : 2'000'000'000);
    span->set_start_time_unix_nano(now_);
    span->set_end_time_unix_nano(now_ + duration);
    auto* attrs = span->mutable_attributes();
    attrs->Reserve(9);
    std::string path = route.path;
    if (route.has_id) path += std::to_string(1 + rng_.Below(100'000));
    AddStr(attrs, "http.request.method", route.method);
    AddStr(attrs, "http.route", route.route);
    AddInt(attrs, "http.response.status_code", status);
    AddStr(attrs, "url.path", std::move(path));
    AddStr(attrs, "url.scheme", "https");
    AddStr(attrs, "server.address", "shop.example.com");
    AddInt(attrs, "server.port", 443);
    AddStr(attrs, "user_agent.original", rng_.Pick(kUserAgents));
    AddStr(attrs, "network.protocol.version", rng_.Chance(0.7) ? "1.1" : "2");
    if (status >= 500 || rng_.Chance(0.05)) {
      auto* event = span->add_events();
      event->set_name("exception");
      event->set_time_unix_nano(now_ + duration / 2);
      auto* ea = event->mutable_attributes();
      AddStr(ea, "exception.type", "java.net.SocketTimeoutException");
      AddStr(ea, "exception.message", "Read timed out after 3000 ms");
      AddStr(ea, "exception.stacktrace",
             "java.net.SocketTimeoutException: Read timed out\n\tat "
             "java.base/sun.nio.ch.NioSocketImpl.timedRead(NioSocketImpl.java:288)");
      AddBool(ea, "exception.escaped", false);
    }
    if (rng_.Chance(0.05)) {
      auto* link = span->add_links();
      link->set_trace_id(rng_.Bytes(16));
      link->set_span_id(rng_.Bytes(8));
      link->set_flags(1);
      AddStr(link->mutable_attributes(), "link.kind", "follows_from");
    }
    if (status >= 500) {
      span->mutable_status()->set_code(trace::Status::STATUS_CODE_ERROR);
      span->mutable_status()->set_message("HTTP " + std::to_string(status));
    } else if (rng_.Chance(0.2)) {
      span->mutable_status()->set_code(trace::Status::STATUS_CODE_OK);
    }
  }

  void EdgeSpan(trace::Span* span) {
    span->set_trace_id(rng_.Bytes(16));
    span->set_span_id(rng_.Bytes(8));
    if (rng_.Chance(0.4))
      span->set_trace_state(rng_.Chance(0.5) ? "rojo=00f067aa0ba902b7"
                                             : EdgeString(rng_));
    span->set_parent_span_id(EdgeId(rng_, 8, 0.5));
    span->set_flags(EdgeFlags(rng_));
    span->set_name(EdgeString(rng_));
    span->set_kind(static_cast<trace::Span::SpanKind>(rng_.Below(6)));
    uint64_t start = EdgeTime(rng_, now_);
    span->set_start_time_unix_nano(start);
    switch (rng_.Below(4)) {
      case 0:
        span->set_end_time_unix_nano(start > 0 ? start - 1 - rng_.Below(start) : 0);
        break;  // end < start
      case 1:
        span->set_end_time_unix_nano(0);
        break;
      default:
        span->set_end_time_unix_nano(EdgeTime(rng_, now_));
        break;
    }
    EdgeAttributes(rng_, span->mutable_attributes());
    span->set_dropped_attributes_count(EdgeU32(rng_));
    int events = static_cast<int>(rng_.Below(4));
    for (int i = 0; i < events; ++i) {
      auto* event = span->add_events();
      event->set_time_unix_nano(EdgeTime(rng_, now_));
      if (rng_.Chance(0.8)) event->set_name(EdgeString(rng_));
      EdgeAttributes(rng_, event->mutable_attributes());
      event->set_dropped_attributes_count(EdgeU32(rng_));
    }
    span->set_dropped_events_count(EdgeU32(rng_));
    int links = static_cast<int>(rng_.Below(4));
    for (int i = 0; i < links; ++i) {
      auto* link = span->add_links();
      link->set_trace_id(rng_.Bytes(16));
      link->set_span_id(rng_.Bytes(8));
      if (rng_.Chance(0.5))
        link->set_trace_state(rng_.Chance(0.5) ? "congo=t61rcWkgMzE" : EdgeString(rng_));
      EdgeAttributes(rng_, link->mutable_attributes());
      link->set_dropped_attributes_count(EdgeU32(rng_));
      link->set_flags(EdgeFlags(rng_));
    }
    span->set_dropped_links_count(EdgeU32(rng_));
    switch (rng_.Below(6)) {
      case 0:
        break;  // absent status
      case 1:
        span->mutable_status();  // present, UNSET, no message
        break;
      case 2:
        span->mutable_status()->set_message(EdgeString(rng_));  // UNSET with message
        break;
      case 3:
        span->mutable_status()->set_code(trace::Status::STATUS_CODE_OK);
        break;
      default:
        span->mutable_status()->set_code(trace::Status::STATUS_CODE_ERROR);
        if (rng_.Chance(0.7)) span->mutable_status()->set_message(EdgeString(rng_));
        break;
    }
  }

  TracesRequest Traces() {
    TracesRequest request;
    for (int r = 0; r < options_.resources_per_request; ++r) {
      auto* rs = request.add_resource_spans();
      FillResource(rs);
      int scopes = ScopeCount();
      for (int s = 0; s < scopes; ++s) {
        auto* ss = rs->add_scope_spans();
        FillScope(ss);
        int n = ItemCount();
        ss->mutable_spans()->Reserve(n);
        for (int i = 0; i < n; ++i) {
          if (edge()) {
            EdgeSpan(ss->add_spans());
          } else {
            RealisticSpan(ss->add_spans());
          }
          Tick();
        }
      }
    }
    return request;
  }

  // ---- metrics ---------------------------------------------------------

  void RealisticDpAttrs(Attributes* attrs, int point) {
    const Route& route = kRoutes[static_cast<size_t>(point) % std::size(kRoutes)];
    AddStr(attrs, "http.request.method", route.method);
    AddStr(attrs, "http.route", route.route);
    AddInt(attrs, "http.response.status_code", PickStatus(rng_));
  }

  void MaybeExemplar(google::protobuf::RepeatedPtrField<metrics::Exemplar>* exemplars,
                     double value) {
    if (!rng_.Chance(0.2)) return;
    auto* ex = exemplars->Add();
    ex->set_time_unix_nano(now_ - rng_.Below(1'000'000'000));
    ex->set_as_double(value);
    ex->set_trace_id(rng_.Bytes(16));
    ex->set_span_id(rng_.Bytes(8));
    AddStr(ex->mutable_filtered_attributes(), "client.address",
           "10.1." + std::to_string(rng_.Below(256)) + "." +
               std::to_string(rng_.Below(256)));
  }

  void RealisticMetric(metrics::Metric* metric, int index) {
    struct Info {
      const char* name;
      const char* description;
      const char* unit;
    };
    static constexpr Info kGauges[] = {
        {"system.cpu.utilization", "Fraction of CPU time in use", "1"},
        {"process.memory.usage", "Resident memory of the process", "By"},
        {"jvm.thread.count", "Number of live threads", "{thread}"}};
    static constexpr Info kSums[] = {
        {"http.server.request.count", "Requests served", "{request}"},
        {"http.server.active_requests", "Requests in flight", "{request}"},
        {"system.network.io", "Bytes transmitted", "By"}};
    static constexpr Info kHistograms[] = {
        {"http.server.request.duration", "Duration of HTTP server requests", "s"},
        {"http.client.request.duration", "Duration of HTTP client requests", "s"},
        {"db.client.operation.duration", "Duration of database operations", "s"}};
    static constexpr Info kExpHistograms[] = {
        {"rpc.server.duration", "Duration of inbound RPCs", "ms"},
        {"rpc.client.duration", "Duration of outbound RPCs", "ms"}};
    static constexpr Info kSummaries[] = {
        {"jvm.gc.pause", "GC pause durations", "ms"},
        {"http.server.response.size", "Response body sizes", "By"}};
    static constexpr double kBounds[] = {0.005, 0.01, 0.025, 0.05, 0.075, 0.1, 0.25,
                                         0.5,   0.75, 1.0,   2.5,  5.0,   7.5, 10.0};

    int kind = index % 5;
    int round = index / 5;
    auto name_of = [&](const auto& infos) -> const Info& {
      const Info& info = infos[static_cast<size_t>(round) % std::size(infos)];
      metric->set_name(info.name);
      if (static_cast<size_t>(round) >= std::size(infos)) {
        metric->set_name(std::string(info.name) + "." + std::to_string(round));
      }
      metric->set_description(info.description);
      metric->set_unit(info.unit);
      return info;
    };
    const uint64_t start = options_.start_time_unix_nano;
    const int points = options_.points_per_metric;
    switch (kind) {
      case 0: {
        name_of(kGauges);
        auto* g = metric->mutable_gauge();
        for (int p = 0; p < points; ++p) {
          auto* dp = g->add_data_points();
          AddStr(dp->mutable_attributes(), "cpu", "cpu" + std::to_string(p));
          AddStr(dp->mutable_attributes(), "state", p % 2 ? "system" : "user");
          dp->set_time_unix_nano(now_);
          if (round % 3 == 2) {
            dp->set_as_int(static_cast<int64_t>(rng_.Below(500)));
          } else {
            dp->set_as_double(rng_.Unit());
          }
        }
        break;
      }
      case 1: {
        name_of(kSums);
        auto* s = metric->mutable_sum();
        bool monotonic = round % 3 != 1;
        s->set_is_monotonic(monotonic);
        s->set_aggregation_temporality(rng_.Chance(0.8)
                                           ? metrics::AGGREGATION_TEMPORALITY_CUMULATIVE
                                           : metrics::AGGREGATION_TEMPORALITY_DELTA);
        for (int p = 0; p < points; ++p) {
          auto* dp = s->add_data_points();
          RealisticDpAttrs(dp->mutable_attributes(), p);
          dp->set_start_time_unix_nano(start);
          dp->set_time_unix_nano(now_);
          int64_t v = static_cast<int64_t>(rng_.Below(monotonic ? 1'000'000 : 200));
          dp->set_as_int(v);
          MaybeExemplar(dp->mutable_exemplars(), static_cast<double>(v));
        }
        break;
      }
      case 2: {
        name_of(kHistograms);
        auto* h = metric->mutable_histogram();
        h->set_aggregation_temporality(metrics::AGGREGATION_TEMPORALITY_CUMULATIVE);
        for (int p = 0; p < points; ++p) {
          auto* dp = h->add_data_points();
          RealisticDpAttrs(dp->mutable_attributes(), p);
          dp->set_start_time_unix_nano(start);
          dp->set_time_unix_nano(now_);
          uint64_t count = 0;
          double sum = 0;
          for (size_t b = 0; b <= std::size(kBounds); ++b) {
            uint64_t c = rng_.Below(b < 6 ? 400 : 40);
            dp->add_bucket_counts(c);
            count += c;
            double mid = b < std::size(kBounds) ? kBounds[b] * 0.8 : 12.0;
            sum += static_cast<double>(c) * mid;
          }
          for (double bound : kBounds) dp->add_explicit_bounds(bound);
          dp->set_count(count);
          dp->set_sum(sum);
          dp->set_min(0.001 + rng_.Unit() * 0.004);
          dp->set_max(1.0 + rng_.Unit() * 12.0);
          MaybeExemplar(dp->mutable_exemplars(), rng_.Unit());
        }
        break;
      }
      case 3: {
        name_of(kExpHistograms);
        auto* h = metric->mutable_exponential_histogram();
        h->set_aggregation_temporality(metrics::AGGREGATION_TEMPORALITY_DELTA);
        for (int p = 0; p < points; ++p) {
          auto* dp = h->add_data_points();
          RealisticDpAttrs(dp->mutable_attributes(), p);
          dp->set_start_time_unix_nano(now_ - 60'000'000'000ULL);
          dp->set_time_unix_nano(now_);
          dp->set_scale(3);
          uint64_t count = rng_.Below(5);
          dp->set_zero_count(count);
          auto* pos = dp->mutable_positive();
          pos->set_offset(static_cast<int32_t>(rng_.Between(-4, 12)));
          for (int b = 0; b < 24; ++b) {
            uint64_t c = rng_.Below(100);
            pos->add_bucket_counts(c);
            count += c;
          }
          dp->set_count(count);
          dp->set_sum(static_cast<double>(count) * (5.0 + rng_.Unit() * 20.0));
          dp->set_min(0.5 + rng_.Unit());
          dp->set_max(100.0 + rng_.Unit() * 900.0);
        }
        break;
      }
      default: {
        name_of(kSummaries);
        auto* s = metric->mutable_summary();
        for (int p = 0; p < points; ++p) {
          auto* dp = s->add_data_points();
          AddStr(dp->mutable_attributes(), "jvm.gc.name",
                 p % 2 ? "G1 Old Generation" : "G1 Young Generation");
          dp->set_start_time_unix_nano(start);
          dp->set_time_unix_nano(now_);
          uint64_t count = 1 + rng_.Below(1000);
          dp->set_count(count);
          double v = 1.0 + rng_.Unit() * 5.0;
          dp->set_sum(static_cast<double>(count) * v * 2.0);
          for (double q : {0.0, 0.5, 0.9, 0.99, 1.0}) {
            auto* qv = dp->add_quantile_values();
            qv->set_quantile(q);
            qv->set_value(v);
            v *= 1.5 + rng_.Unit();
          }
        }
        break;
      }
    }
  }

  void EdgeMetric(metrics::Metric* metric) {
    if (rng_.Chance(0.9)) metric->set_name(EdgeString(rng_));
    if (rng_.Chance(0.5)) metric->set_description(EdgeString(rng_));
    if (rng_.Chance(0.5)) metric->set_unit(EdgeString(rng_));
    if (rng_.Chance(0.3)) EdgeAttributes(rng_, metric->mutable_metadata());
    uint64_t kind = rng_.Below(12);
    // 0: no data at all; 1: a data type with no points; then the five types.
    int points = kind == 1 ? 0 : 1 + static_cast<int>(rng_.Below(4));
    if (kind == 1) kind = 2 + rng_.Below(10);
    auto temporality = [&] {
      return static_cast<metrics::AggregationTemporality>(rng_.Below(3));
    };
    switch (kind) {
      case 0:
        break;
      case 2:
      case 3: {
        auto* g = metric->mutable_gauge();
        for (int p = 0; p < points; ++p) EdgeNumberDp(g->add_data_points());
        break;
      }
      case 4:
      case 5: {
        auto* s = metric->mutable_sum();
        s->set_aggregation_temporality(temporality());
        s->set_is_monotonic(rng_.Chance(0.5));
        for (int p = 0; p < points; ++p) EdgeNumberDp(s->add_data_points());
        break;
      }
      case 6:
      case 7: {
        auto* h = metric->mutable_histogram();
        h->set_aggregation_temporality(temporality());
        for (int p = 0; p < points; ++p) EdgeHistogramDp(h->add_data_points());
        break;
      }
      case 8:
      case 9: {
        auto* h = metric->mutable_exponential_histogram();
        h->set_aggregation_temporality(temporality());
        for (int p = 0; p < points; ++p) EdgeExpHistogramDp(h->add_data_points());
        break;
      }
      default: {
        auto* s = metric->mutable_summary();
        for (int p = 0; p < points; ++p) EdgeSummaryDp(s->add_data_points());
        break;
      }
    }
  }

  void EdgeNumberDp(metrics::NumberDataPoint* dp) {
    EdgeDpCommon(rng_, now_, dp);
    switch (rng_.Below(5)) {
      case 0:
      case 1:
        dp->set_as_int(EdgeInt(rng_));
        break;
      case 2:
      case 3:
        dp->set_as_double(EdgeDouble(rng_));
        break;
      default:
        break;  // neither
    }
    EdgeExemplars(rng_, now_, dp);
  }

  void EdgeHistogramDp(metrics::HistogramDataPoint* dp) {
    EdgeDpCommon(rng_, now_, dp);
    int buckets = static_cast<int>(rng_.Below(7));
    uint64_t count = 0;
    for (int b = 0; b < buckets; ++b) {
      uint64_t c = rng_.Chance(0.2) ? 0 : rng_.Below(500);
      dp->add_bucket_counts(c);
      count += c;
    }
    EdgeBounds(rng_, buckets > 0 ? buckets - 1 : 0, dp->mutable_explicit_bounds());
    dp->set_count(rng_.Chance(0.9) ? count : rng_.Bits());
    if (rng_.Chance(0.6)) dp->set_sum(EdgeDouble(rng_));
    if (rng_.Chance(0.5)) dp->set_min(EdgeDouble(rng_));
    if (rng_.Chance(0.5)) dp->set_max(EdgeDouble(rng_));
    EdgeExemplars(rng_, now_, dp);
  }

  void EdgeExpHistogramDp(metrics::ExponentialHistogramDataPoint* dp) {
    EdgeDpCommon(rng_, now_, dp);
    dp->set_scale(static_cast<int32_t>(rng_.Between(-10, 20)));
    uint64_t count = rng_.Chance(0.5) ? 0 : rng_.Below(100);
    dp->set_zero_count(count);
    if (rng_.Chance(0.5))
      dp->set_zero_threshold(rng_.Chance(0.5) ? 1e-9 : EdgeDouble(rng_));
    if (rng_.Chance(0.8)) EdgeBuckets(rng_, dp->mutable_positive(), &count);
    if (rng_.Chance(0.6)) EdgeBuckets(rng_, dp->mutable_negative(), &count);
    dp->set_count(count);
    if (rng_.Chance(0.6)) dp->set_sum(EdgeDouble(rng_));
    if (rng_.Chance(0.5)) dp->set_min(EdgeDouble(rng_));
    if (rng_.Chance(0.5)) dp->set_max(EdgeDouble(rng_));
    EdgeExemplars(rng_, now_, dp);
  }

  void EdgeSummaryDp(metrics::SummaryDataPoint* dp) {
    EdgeDpCommon(rng_, now_, dp);
    dp->set_count(rng_.Chance(0.8) ? rng_.Below(10'000) : rng_.Bits());
    dp->set_sum(EdgeDouble(rng_));
    int n = static_cast<int>(rng_.Below(6));
    static constexpr double kQuantiles[] = {0.0, 0.25, 0.5, 0.9, 0.99, 1.0};
    for (int q = 0; q < n; ++q) {
      auto* qv = dp->add_quantile_values();
      qv->set_quantile(kQuantiles[q]);
      qv->set_value(rng_.Chance(0.8) ? static_cast<double>(rng_.Below(1000)) / 8.0
                                     : EdgeDouble(rng_));
    }
  }

  MetricsRequest Metrics() {
    MetricsRequest request;
    for (int r = 0; r < options_.resources_per_request; ++r) {
      auto* rm = request.add_resource_metrics();
      FillResource(rm);
      int scopes = ScopeCount();
      for (int s = 0; s < scopes; ++s) {
        auto* sm = rm->add_scope_metrics();
        FillScope(sm);
        int n = ItemCount();
        for (int i = 0; i < n; ++i) {
          if (edge()) {
            EdgeMetric(sm->add_metrics());
          } else {
            RealisticMetric(sm->add_metrics(), i);
          }
          Tick();
        }
      }
    }
    return request;
  }

 private:
  const GeneratorOptions& options_;
  Rng rng_;
  uint64_t& now_;
  uint64_t& sequence_;
};

// ===========================================================================
// Shuffling.

class Shuffler {
 public:
  explicit Shuffler(uint64_t seed) : engine_(seed), rng_(engine_) {}

  template <typename T>
  void Shuffle(google::protobuf::RepeatedPtrField<T>* elements) {
    // Fisher-Yates with our own index mapping (std::shuffle is not portable).
    for (int i = elements->size() - 1; i > 0; --i) {
      int j = static_cast<int>(rng_.Below(static_cast<uint64_t>(i) + 1));
      if (i != j) elements->SwapElements(i, j);
    }
  }

  void Value(common::AnyValue* value) {
    if (value->has_kvlist_value()) {
      Attrs(value->mutable_kvlist_value()->mutable_values());
    } else if (value->has_array_value()) {
      for (auto& v : *value->mutable_array_value()->mutable_values()) Value(&v);
    }
  }
  void Attrs(Attributes* attrs) {
    for (auto& kv : *attrs) {
      if (kv.has_value()) Value(kv.mutable_value());
    }
    Shuffle(attrs);
  }
  void Resource(resource::Resource* r) { Attrs(r->mutable_attributes()); }
  void Scope(common::InstrumentationScope* s) { Attrs(s->mutable_attributes()); }

  template <typename Dp>
  void Points(google::protobuf::RepeatedPtrField<Dp>* points) {
    for (auto& dp : *points) {
      Attrs(dp.mutable_attributes());
      if constexpr (!std::is_same_v<Dp, metrics::SummaryDataPoint>) {
        for (auto& ex : *dp.mutable_exemplars()) Attrs(ex.mutable_filtered_attributes());
        Shuffle(dp.mutable_exemplars());
      }
    }
    Shuffle(points);
  }

  void Request(LogsRequest* request) {
    for (auto& rl : *request->mutable_resource_logs()) {
      Resource(rl.mutable_resource());
      for (auto& sl : *rl.mutable_scope_logs()) {
        Scope(sl.mutable_scope());
        for (auto& log : *sl.mutable_log_records()) {
          Attrs(log.mutable_attributes());
          if (log.has_body()) Value(log.mutable_body());
        }
        Shuffle(sl.mutable_log_records());
      }
      Shuffle(rl.mutable_scope_logs());
    }
    Shuffle(request->mutable_resource_logs());
  }

  void Request(TracesRequest* request) {
    for (auto& rs : *request->mutable_resource_spans()) {
      Resource(rs.mutable_resource());
      for (auto& ss : *rs.mutable_scope_spans()) {
        Scope(ss.mutable_scope());
        for (auto& span : *ss.mutable_spans()) {
          Attrs(span.mutable_attributes());
          for (auto& e : *span.mutable_events()) Attrs(e.mutable_attributes());
          Shuffle(span.mutable_events());
          for (auto& l : *span.mutable_links()) Attrs(l.mutable_attributes());
          Shuffle(span.mutable_links());
        }
        Shuffle(ss.mutable_spans());
      }
      Shuffle(rs.mutable_scope_spans());
    }
    Shuffle(request->mutable_resource_spans());
  }

  void Request(MetricsRequest* request) {
    for (auto& rm : *request->mutable_resource_metrics()) {
      Resource(rm.mutable_resource());
      for (auto& sm : *rm.mutable_scope_metrics()) {
        Scope(sm.mutable_scope());
        for (auto& m : *sm.mutable_metrics()) {
          Attrs(m.mutable_metadata());
          if (m.has_gauge()) Points(m.mutable_gauge()->mutable_data_points());
          if (m.has_sum()) Points(m.mutable_sum()->mutable_data_points());
          if (m.has_histogram()) Points(m.mutable_histogram()->mutable_data_points());
          if (m.has_exponential_histogram()) {
            Points(m.mutable_exponential_histogram()->mutable_data_points());
          }
          if (m.has_summary()) Points(m.mutable_summary()->mutable_data_points());
        }
        Shuffle(sm.mutable_metrics());
      }
      Shuffle(rm.mutable_scope_metrics());
    }
    Shuffle(request->mutable_resource_metrics());
  }

 private:
  std::mt19937_64 engine_;
  Rng rng_;
};

// ===========================================================================
// Splitting.

// Emits requests of at most `max_items` items. `Open` returns the ScopeX of the
// current output request for the given input resource/scope, creating the
// output request, ResourceX and ScopeX copies (without children) as needed.
template <typename Request, typename ResourceX, typename ScopeX>
class Splitter {
 public:
  explicit Splitter(int max_items) : max_items_(std::max(max_items, 1)) {}

  ScopeX* Open(const ResourceX& rx, const ScopeX& sx,
               google::protobuf::RepeatedPtrField<ResourceX>* (*resources)(Request*),
               google::protobuf::RepeatedPtrField<ScopeX>* (*scopes)(ResourceX*)) {
    if (out_.empty() || items_ >= max_items_) {
      out_.emplace_back();
      items_ = 0;
      resource_ = nullptr;
      scope_ = nullptr;
    }
    if (resource_ == nullptr || source_resource_ != &rx) {
      resource_ = resources(&out_.back())->Add();
      *resource_->mutable_resource() = rx.resource();
      if (!rx.has_resource()) resource_->clear_resource();
      resource_->set_schema_url(rx.schema_url());
      source_resource_ = &rx;
      scope_ = nullptr;
    }
    if (scope_ == nullptr || source_scope_ != &sx) {
      scope_ = scopes(resource_)->Add();
      *scope_->mutable_scope() = sx.scope();
      if (!sx.has_scope()) scope_->clear_scope();
      scope_->set_schema_url(sx.schema_url());
      source_scope_ = &sx;
    }
    ++items_;
    return scope_;
  }

  std::vector<otlp::OtlpRequest> Finish() {
    std::vector<otlp::OtlpRequest> result;
    result.reserve(out_.size());
    for (auto& r : out_) result.emplace_back(std::move(r));
    return result;
  }

 private:
  int max_items_;
  int items_ = 0;
  std::deque<Request> out_;
  ResourceX* resource_ = nullptr;
  ScopeX* scope_ = nullptr;
  const ResourceX* source_resource_ = nullptr;
  const ScopeX* source_scope_ = nullptr;
};

std::vector<otlp::OtlpRequest> SplitLogs(const LogsRequest& request, int max_items) {
  Splitter<LogsRequest, logs::ResourceLogs, logs::ScopeLogs> splitter(max_items);
  for (const auto& rl : request.resource_logs()) {
    for (const auto& sl : rl.scope_logs()) {
      for (const auto& log : sl.log_records()) {
        *splitter
             .Open(
                 rl, sl, [](LogsRequest* r) { return r->mutable_resource_logs(); },
                 [](logs::ResourceLogs* r) { return r->mutable_scope_logs(); })
             ->add_log_records() = log;
      }
    }
  }
  return splitter.Finish();
}

std::vector<otlp::OtlpRequest> SplitTraces(const TracesRequest& request, int max_items) {
  Splitter<TracesRequest, trace::ResourceSpans, trace::ScopeSpans> splitter(max_items);
  for (const auto& rs : request.resource_spans()) {
    for (const auto& ss : rs.scope_spans()) {
      for (const auto& span : ss.spans()) {
        *splitter
             .Open(
                 rs, ss, [](TracesRequest* r) { return r->mutable_resource_spans(); },
                 [](trace::ResourceSpans* r) { return r->mutable_scope_spans(); })
             ->add_spans() = span;
      }
    }
  }
  return splitter.Finish();
}

// A copy of `metric` without data points.
metrics::Metric MetricHeader(const metrics::Metric& metric) {
  metrics::Metric header = metric;
  if (header.has_gauge()) header.mutable_gauge()->clear_data_points();
  if (header.has_sum()) header.mutable_sum()->clear_data_points();
  if (header.has_histogram()) header.mutable_histogram()->clear_data_points();
  if (header.has_exponential_histogram()) {
    header.mutable_exponential_histogram()->clear_data_points();
  }
  if (header.has_summary()) header.mutable_summary()->clear_data_points();
  return header;
}

std::vector<otlp::OtlpRequest> SplitMetrics(const MetricsRequest& request,
                                            int max_items) {
  Splitter<MetricsRequest, metrics::ResourceMetrics, metrics::ScopeMetrics> splitter(
      max_items);
  for (const auto& rm : request.resource_metrics()) {
    for (const auto& sm : rm.scope_metrics()) {
      for (const auto& metric : sm.metrics()) {
        metrics::Metric header = MetricHeader(metric);
        metrics::ScopeMetrics* last_scope = nullptr;
        metrics::Metric* out = nullptr;
        // One data point (or the bare header) at a time; consecutive points in
        // the same output scope share one Metric.
        auto open = [&]() -> metrics::Metric* {
          auto* scope = splitter.Open(
              rm, sm, [](MetricsRequest* r) { return r->mutable_resource_metrics(); },
              [](metrics::ResourceMetrics* r) { return r->mutable_scope_metrics(); });
          if (scope != last_scope) {
            out = scope->add_metrics();
            *out = header;
            last_scope = scope;
          }
          return out;
        };
        int points = 0;
        if (metric.has_gauge()) {
          for (const auto& dp : metric.gauge().data_points()) {
            *open()->mutable_gauge()->add_data_points() = dp;
            ++points;
          }
        } else if (metric.has_sum()) {
          for (const auto& dp : metric.sum().data_points()) {
            *open()->mutable_sum()->add_data_points() = dp;
            ++points;
          }
        } else if (metric.has_histogram()) {
          for (const auto& dp : metric.histogram().data_points()) {
            *open()->mutable_histogram()->add_data_points() = dp;
            ++points;
          }
        } else if (metric.has_exponential_histogram()) {
          for (const auto& dp : metric.exponential_histogram().data_points()) {
            *open()->mutable_exponential_histogram()->add_data_points() = dp;
            ++points;
          }
        } else if (metric.has_summary()) {
          for (const auto& dp : metric.summary().data_points()) {
            *open()->mutable_summary()->add_data_points() = dp;
            ++points;
          }
        }
        if (points == 0) open();
      }
    }
  }
  return splitter.Finish();
}

}  // namespace

arrow::Status GeneratorOptions::Validate() const {
  auto check = [](const char* name, int value) -> arrow::Status {
    if (value < 0 || value > kMaxCount) {
      return arrow::Status::Invalid("generator option ", name, " must be in [0, ",
                                    kMaxCount, "], got ", value);
    }
    return arrow::Status::OK();
  };
  ARROW_RETURN_NOT_OK(check("resources_per_request", resources_per_request));
  ARROW_RETURN_NOT_OK(check("scopes_per_resource", scopes_per_resource));
  ARROW_RETURN_NOT_OK(check("items_per_scope", items_per_scope));
  ARROW_RETURN_NOT_OK(check("points_per_metric", points_per_metric));
  return arrow::Status::OK();
}

OtlpGenerator::OtlpGenerator(GeneratorOptions options)
    : options_(options),
      engine_(options.seed),
      now_unix_nano_(options.start_time_unix_nano) {
  options_.resources_per_request = Clamp(options_.resources_per_request);
  options_.scopes_per_resource = Clamp(options_.scopes_per_resource);
  options_.items_per_scope = Clamp(options_.items_per_scope);
  options_.points_per_metric = Clamp(options_.points_per_metric);
}

otlp::LogsRequest OtlpGenerator::NextLogs() {
  return Builder(options_, engine_, now_unix_nano_, sequence_).Logs();
}

otlp::TracesRequest OtlpGenerator::NextTraces() {
  return Builder(options_, engine_, now_unix_nano_, sequence_).Traces();
}

otlp::MetricsRequest OtlpGenerator::NextMetrics() {
  return Builder(options_, engine_, now_unix_nano_, sequence_).Metrics();
}

otlp::OtlpRequest OtlpGenerator::Next(Signal signal) {
  switch (signal) {
    case Signal::kLogs:
      return NextLogs();
    case Signal::kTraces:
      return NextTraces();
    case Signal::kMetrics:
      return NextMetrics();
  }
  return NextLogs();
}

void ShuffleOrder(otlp::OtlpRequest& request, uint64_t seed) {
  Shuffler shuffler(seed);
  std::visit([&](auto& r) { shuffler.Request(&r); }, request);
}

std::vector<otlp::OtlpRequest> SplitRequest(const otlp::OtlpRequest& request,
                                            int max_items) {
  switch (otlp::SignalOf(request)) {
    case Signal::kLogs:
      return SplitLogs(std::get<LogsRequest>(request), max_items);
    case Signal::kTraces:
      return SplitTraces(std::get<TracesRequest>(request), max_items);
    case Signal::kMetrics:
      return SplitMetrics(std::get<MetricsRequest>(request), max_items);
  }
  return {};
}

arrow::Result<otlp::OtlpRequest> MergeRequests(
    std::span<const otlp::OtlpRequest> requests) {
  if (requests.empty()) return arrow::Status::Invalid("MergeRequests: no requests");
  otlp::OtlpRequest merged = requests.front();
  for (size_t i = 1; i < requests.size(); ++i) {
    if (requests[i].index() != merged.index()) {
      return arrow::Status::Invalid("MergeRequests: request ", i, " is ",
                                    SignalName(otlp::SignalOf(requests[i])),
                                    ", expected ", SignalName(otlp::SignalOf(merged)));
    }
    std::visit(
        [&](auto& into) {
          using R = std::decay_t<decltype(into)>;
          into.MergeFrom(std::get<R>(requests[i]));
        },
        merged);
  }
  return merged;
}

}  // namespace otap_parquet::generator
