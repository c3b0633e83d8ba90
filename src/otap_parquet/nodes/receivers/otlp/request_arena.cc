// SPDX-License-Identifier: Apache-2.0
#include "otap_parquet/nodes/receivers/otlp/request_arena.h"

#include <memory>

#include "otap_parquet/otlp/convert.h"

namespace otap_parquet::nodes::otlp_receiver {

namespace {

struct ThreadBlock {
  std::unique_ptr<char[]> bytes;
  bool in_use = false;
};
thread_local ThreadBlock thread_block;

}  // namespace

google::protobuf::Arena* RequestArena::get() {
  if (arena_) return &*arena_;
  google::protobuf::ArenaOptions options;
  options.start_block_size = 64 << 10;
  options.max_block_size = 1 << 20;
  // A second arena alive on the same thread (not expected) allocates its own.
  if (!thread_block.in_use) {
    if (!thread_block.bytes)
      thread_block.bytes = std::make_unique<char[]>(kInitialBlockSize);
    thread_block.in_use = true;
    borrowed_ = true;
    options.initial_block = thread_block.bytes.get();
    options.initial_block_size = kInitialBlockSize;
  }
  arena_.emplace(options);
  return &*arena_;
}

RequestArena::~RequestArena() {
  if (!arena_) return;
  // Run destructors and free the extra blocks before the block is lent again.
  arena_->Reset();
  arena_.reset();
  if (borrowed_) thread_block.in_use = false;
}

namespace {

template <typename Message, auto kToOtap>
Convert Parse(std::string_view bytes, RequestArena* arena) {
  Message* message = arena->Create<Message>();
  if (!message->ParseFromArray(bytes.data(), static_cast<int>(bytes.size()))) return {};
  return [message] { return kToOtap(*message, otlp::ToOtapOptions{}); };
}

/// Straight from the wire; when that fails, through messages (for the precise error).
template <typename Message, auto kWireToOtap, auto kToOtap>
Convert WireOrParse(std::string_view bytes, RequestArena* arena) {
  auto batches = kWireToOtap(bytes, otlp::ToOtapOptions{});
  if (!batches.ok()) return Parse<Message, kToOtap>(bytes, arena);
  auto decoded = std::make_shared<std::vector<OtapBatch>>(std::move(*batches));
  return [decoded]() -> arrow::Result<std::vector<OtapBatch>> {
    return std::move(*decoded);
  };
}

}  // namespace

Convert DecodeRequest(Signal signal, std::string_view bytes, RequestArena* arena) {
  switch (signal) {
    case Signal::kLogs:
      return WireOrParse<otlp::LogsRequest, &otlp::LogsWireToOtap, &otlp::LogsToOtap>(
          bytes, arena);
    case Signal::kTraces:
      return WireOrParse<otlp::TracesRequest, &otlp::TracesWireToOtap,
                         &otlp::TracesToOtap>(bytes, arena);
    case Signal::kMetrics:
      return Parse<otlp::MetricsRequest, &otlp::MetricsToOtap>(bytes, arena);
  }
  return {};
}

}  // namespace otap_parquet::nodes::otlp_receiver
