// SPDX-License-Identifier: Apache-2.0
#pragma once

#include <cstddef>
#include <optional>
#include <string_view>

#include <google/protobuf/arena.h>

#include "otap_parquet/nodes/receivers/otlp/ingest.h"

/// \file
/// A protobuf arena for decoding one OTLP request. Message trees built without an
/// arena cost one malloc/free per message and string; on an arena they are carved
/// out of a few large blocks, and the first block is reused by the next request on
/// the same thread.

namespace otap_parquet::nodes::otlp_receiver {

class RequestArena {
 public:
  /// First block, kept per thread: a 1000-log request with 10 attributes per log
  /// needs about 1–2 MiB of messages.
  static constexpr size_t kInitialBlockSize = 1 << 20;

  RequestArena() = default;
  ~RequestArena();
  RequestArena(const RequestArena&) = delete;
  RequestArena& operator=(const RequestArena&) = delete;

  /// The arena, set up on first use (requests decoded without messages need none).
  google::protobuf::Arena* get();

  template <typename Message>
  Message* Create() {
    return google::protobuf::Arena::CreateMessage<Message>(get());
  }

 private:
  bool borrowed_ = false;  ///< whether the arena uses the thread's block
  std::optional<google::protobuf::Arena> arena_;
};

/// \brief Decodes a serialized OTLP/protobuf export request of `signal`. Returns
/// its conversion to OTAP (valid while `bytes` and `arena` live), or an empty
/// Convert when the bytes are not a valid request.
///
/// Logs and traces are decoded straight from the bytes (otlp::LogsWireToOtap,
/// TracesWireToOtap); when that fails, and for metrics, the request is parsed into
/// messages on `arena` and converted from them (which also gives the precise error).
Convert DecodeRequest(Signal signal, std::string_view bytes, RequestArena* arena);

}  // namespace otap_parquet::nodes::otlp_receiver
