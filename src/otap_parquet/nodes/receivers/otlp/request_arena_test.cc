// SPDX-License-Identifier: Apache-2.0
#include "otap_parquet/nodes/receivers/otlp/request_arena.h"

#include <gtest/gtest.h>

#include "otap_parquet/generator/otlp_generator.h"
#include "otap_parquet/otlp/convert.h"
#include "otap_parquet/otlp/protobuf_log_internal.h"

namespace otap_parquet::nodes::otlp_receiver {
namespace {

int64_t Items(const std::vector<OtapBatch>& batches) {
  int64_t n = 0;
  for (const auto& b : batches) n += b.num_items();
  return n;
}

TEST(DecodeRequestTest, EverySignalConverts) {
  generator::OtlpGenerator gen(generator::GeneratorOptions{});
  for (Signal signal : {Signal::kLogs, Signal::kTraces, Signal::kMetrics}) {
    const otlp::OtlpRequest request = gen.Next(signal);
    const std::string bytes =
        std::visit([](const auto& r) { return r.SerializeAsString(); }, request);
    RequestArena arena;
    Convert convert = DecodeRequest(signal, bytes, &arena);
    ASSERT_TRUE(convert) << SignalName(signal);
    auto batches = convert();
    ASSERT_TRUE(batches.ok()) << batches.status().ToString();
    EXPECT_EQ(Items(*batches), Items(otlp::ToOtap(request).ValueOrDie()))
        << SignalName(signal);
    EXPECT_GT(Items(*batches), 0);
  }
}

TEST(DecodeRequestTest, InvalidLogsGetTheMessagePathsError) {
  otlp::LogsRequest request;
  request.add_resource_logs()->add_scope_logs()->add_log_records()->set_trace_id("12345");
  RequestArena arena;
  Convert convert = DecodeRequest(Signal::kLogs, request.SerializeAsString(), &arena);
  ASSERT_TRUE(convert);  // parses; the conversion refuses it
  auto batches = convert();
  ASSERT_FALSE(batches.ok());
  EXPECT_EQ(batches.status().message(),
            "resourceLogs[0].scopeLogs[0].logRecords[0].traceId: 5 bytes, expected 16 "
            "or none");
}

TEST(DecodeRequestTest, InvalidTracesGetTheMessagePathsError) {
  otlp::TracesRequest request;
  auto* span = request.add_resource_spans()->add_scope_spans()->add_spans();
  span->set_trace_id(std::string(16, 't'));
  span->add_links()->set_span_id("123");
  RequestArena arena;
  Convert convert = DecodeRequest(Signal::kTraces, request.SerializeAsString(), &arena);
  ASSERT_TRUE(convert);  // parses; the conversion refuses it
  auto batches = convert();
  ASSERT_FALSE(batches.ok());
  EXPECT_EQ(
      batches.status().message(),
      "resourceSpans[0].scopeSpans[0].spans[0].links[0].spanId: 3 bytes, expected 8 "
      "or none");
}

TEST(DecodeRequestTest, MalformedBytesGiveNoConversion) {
  otlp::internal::ProtobufLogCapture quiet;
  for (Signal signal : {Signal::kLogs, Signal::kTraces, Signal::kMetrics}) {
    RequestArena arena;
    EXPECT_FALSE(DecodeRequest(signal, std::string("\x0a\x05\x12", 3), &arena))
        << SignalName(signal);
  }
}

TEST(DecodeRequestTest, ArenasNestOnOneThread) {
  // The thread's block is lent to one arena at a time; a second one allocates.
  const std::string traces = generator::OtlpGenerator(generator::GeneratorOptions{})
                                 .NextTraces()
                                 .SerializeAsString();
  RequestArena outer;
  Convert first = DecodeRequest(Signal::kTraces, traces, &outer);
  {
    RequestArena inner;
    Convert second = DecodeRequest(Signal::kTraces, traces, &inner);
    ASSERT_TRUE(second);
    EXPECT_TRUE(second().ok());
  }
  ASSERT_TRUE(first);
  EXPECT_TRUE(first().ok());
}

}  // namespace
}  // namespace otap_parquet::nodes::otlp_receiver
