// SPDX-License-Identifier: Apache-2.0
// libFuzzer target: OTel Arrow stream messages → OTAP batches, as receiver:otap
// decodes them. The first byte picks the signal; the rest is a sequence of messages
// ([u16 little-endian length][bytes]) fed in order to one StreamDecoder, so IPC and
// HPACK state carry across them like on a real stream.
//
// Every batch produced must validate; an error must never crash, leak past the
// stream's memory limit, or be missing its status.

#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <string_view>

#include <google/protobuf/stubs/logging.h>

#include "otap_parquet/otap_wire/bar_decoder.h"

namespace {

using otap_parquet::Signal;
namespace wire = otap_parquet::otap_wire;

[[noreturn]] void Fail(const char* what, const std::string& detail) {
  std::fprintf(stderr, "otap_bar_fuzz: %s: %s\n", what, detail.c_str());
  std::abort();
}

}  // namespace

extern "C" int LLVMFuzzerInitialize(int*, char***) {
  // Protobuf logs every string field with invalid UTF-8 it parses or serializes
  // (schema_id); the decoder captures what it parses, this keeps the rest out of the
  // log so that a failure stands out.
  google::protobuf::SetLogHandler(nullptr);
  return 0;
}

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  if (size < 1) return 0;
  const Signal signal = static_cast<Signal>(data[0] % 3);
  wire::DecodeLimits limits;
  limits.max_message_size = 1 << 20;
  limits.memory_limit = 64 << 20;
  wire::StreamDecoder decoder(signal, limits);
  size_t pos = 1;
  while (pos + 2 <= size) {
    const size_t len = data[pos] | (static_cast<size_t>(data[pos + 1]) << 8);
    pos += 2;
    const size_t take = len < size - pos ? len : size - pos;
    std::string_view message(reinterpret_cast<const char*>(data + pos), take);
    pos += take;
    wire::DecodedBar bar = decoder.Decode(message);
    if (bar.status.ok() && !bar.batch_id) Fail("no batch_id", "status OK");
    if (bar.batch) {
      if (!bar.status.ok()) Fail("batch with an error", bar.status.ToString());
      if (bar.batch->signal() != signal) Fail("signal", "batch of another signal");
      if (arrow::Status st = bar.batch->Validate(); !st.ok()) {
        Fail("invalid batch", st.ToString());
      }
    }
    if (decoder.memory_used() > limits.memory_limit) {
      Fail("memory", std::to_string(decoder.memory_used()));
    }
    if (!bar.stream_usable) break;  // the receiver ends such a stream
  }
  return 0;
}
