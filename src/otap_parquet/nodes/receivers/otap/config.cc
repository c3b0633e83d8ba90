// SPDX-License-Identifier: Apache-2.0
#include "otap_parquet/nodes/receivers/otap/config.h"

#include <algorithm>
#include <string_view>

#include <fmt/format.h>

namespace otap_parquet::nodes {

namespace {

// Accepted for upstream compatibility, not applied: statuses are written by the
// stream itself, and every gRPC compression (identity, gzip, deflate, zstd,
// zstdarrow1..10) is always accepted.
constexpr std::string_view kIgnoredKeys[] = {"response_stream_channel_size",
                                             "compression_method",
                                             "tcp_nodelay",
                                             "tcp_keepalive",
                                             "tcp_keepalive_interval",
                                             "tcp_keepalive_retries",
                                             "transport_concurrency_limit",
                                             "load_shed",
                                             "initial_stream_window_size",
                                             "initial_connection_window_size",
                                             "http2_adaptive_window",
                                             "max_frame_size",
                                             "http2_keepalive_interval",
                                             "http2_keepalive_timeout"};

int64_t Mib(int64_t v) { return v << 20; }

}  // namespace

OtapReceiverConfig OtapReceiverConfig::Read(config::ConfigReader& reader) {
  OtapReceiverConfig c;
  for (auto key : kIgnoredKeys) reader.Ignore(key);
  c.listening_addr = ReadListenAddress(reader);
  if (auto v = reader.Int("max_concurrent_requests", 1)) c.max_concurrent_requests = *v;
  if (auto v = reader.Int("max_concurrent_requests_per_stream", 1)) {
    c.max_concurrent_requests_per_stream = *v;
  }
  if (auto v = reader.Int("max_concurrent_streams", 1)) c.max_concurrent_streams = *v;
  if (auto v = reader.Bool("wait_for_result")) c.wait_for_result = *v;
  reader.AllowNull({"timeout"});  // an Option upstream: none
  if (auto v = reader.Duration("timeout", std::chrono::milliseconds(1))) c.timeout = *v;
  if (auto v = ReadMaxDecodingMessageSize(reader)) c.max_decoding_message_size = *v;
  bool request_limit_set = false;
  if (reader.Has("admission")) {
    config::ConfigReader admission = reader.Child("admission");
    admission.Ignore("waiting_limit_mib");  // we hold senders back, nothing waits
    if (auto v = admission.Int("request_limit_mib", 1, 1 << 20)) {
      c.request_limit_bytes = Mib(*v);
      request_limit_set = true;
    }
    admission.Finish();
  }
  // As receiver:otlp's: the default holds at least two requests of the largest size.
  if (!request_limit_set) {
    c.request_limit_bytes =
        std::max(c.request_limit_bytes, 2 * c.max_decoding_message_size);
  }
  if (reader.Has("arrow")) {
    config::ConfigReader arrow = reader.Child("arrow");
    if (auto v = arrow.Int("memory_limit_mib", 1, 1 << 20))
      c.stream_memory_limit = Mib(*v);
    arrow.Ignore("zstd");  // our zstd decoder is bounded by max_decoding_message_size
    arrow.Finish();
  }
  if (reader.Has("keepalive")) {
    config::ConfigReader keepalive = reader.Child("keepalive");
    using std::chrono::duration_cast;
    using std::chrono::milliseconds;
    if (auto v = keepalive.Duration("max_connection_age", milliseconds(1))) {
      c.max_connection_age = duration_cast<milliseconds>(*v);
    }
    if (auto v = keepalive.Duration("max_connection_age_grace", milliseconds(1))) {
      c.max_connection_age_grace = duration_cast<milliseconds>(*v);
    }
    if (auto v = keepalive.Duration("min_ping_interval", milliseconds(1))) {
      c.min_ping_interval = duration_cast<milliseconds>(*v);
    }
    keepalive.Finish();
  }
  c.tls = reader.Block<OtlpTlsConfig>("tls");
  if (auto auth = reader.Block<ServerAuthConfig>("auth"))
    c.bearer_token = auth->bearer_token;
  if (auto v = reader.Bool("otlp")) c.otlp = *v;
  // An OTLP Export message over the budget would be refused on every retry (an
  // Arrow batch is read whenever the budget is not full).
  if (c.otlp && request_limit_set &&
      c.request_limit_bytes < c.max_decoding_message_size) {
    reader.Error("admission",
                 "request_limit_mib must hold at least one OTLP request of "
                 "max_decoding_message_size (or set otlp: false)");
  }
  return c;
}

}  // namespace otap_parquet::nodes
