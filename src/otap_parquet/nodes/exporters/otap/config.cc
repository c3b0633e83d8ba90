// SPDX-License-Identifier: Apache-2.0
#include "otap_parquet/nodes/exporters/otap/config.h"

namespace otap_parquet::nodes {

OtapExporterConfig OtapExporterConfig::Read(config::ConfigReader& reader) {
  OtapExporterConfig c;
  const bool has_max_in_flight = reader.Has("max_in_flight");
  c.grpc = OtlpGrpcExporterConfig::Read(reader);
  // Many batches in flight per stream, answered out of order (upstream's
  // stream_queue_capacity is 64).
  if (!has_max_in_flight) c.grpc.client.max_in_flight = 64;
  if (c.grpc.client.timeout) c.batch_timeout = *c.grpc.client.timeout;
  if (auto v = reader.Int("streams_per_signal", 1, 64)) c.num_streams = *v;
  if (auto v = reader.Bool("send_metric_attrs")) c.send_metric_attrs = *v;
  if (auto v = reader.Bytes("max_message_size", 64 << 10)) c.max_message_size = *v;
  if (auto v = reader.Int("max_stream_failures", 1, 1000)) c.max_stream_failures = *v;
  reader.Ignore("stream_queue_capacity");  // Rust's channel size; max_in_flight here
  {
    auto arrow = reader.Child("arrow");
    arrow.AllowNull({"payload_compression"});  // upstream: null = the default (zstd)
    if (auto v = arrow.Int("num_streams", 1, 64)) c.num_streams = *v;
    if (auto v = arrow.Duration("max_stream_lifetime")) c.max_stream_lifetime = *v;
    if (auto v = arrow.Bool("disable_downgrade")) c.disable_downgrade = *v;
    if (auto v =
            arrow.Enum<bool>("payload_compression", {{"zstd", true}, {"none", false}})) {
      c.payload_zstd = *v;
    }
    // Negative = zstd's fast levels (they go on to -131072, hardly compressing).
    if (auto v = arrow.Int("payload_compression_level", -100, 22)) {
      c.payload_zstd_level = static_cast<int>(*v);
    }
    if (auto v = arrow.Enum<IdDialect>(
            "id_dialect", {{"rust", IdDialect::kRust}, {"go", IdDialect::kGo}})) {
      c.id_dialect = *v;
    }
    arrow.Finish();
  }
  return c;
}

}  // namespace otap_parquet::nodes
