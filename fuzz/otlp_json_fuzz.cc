// SPDX-License-Identifier: Apache-2.0
// libFuzzer target: OTLP/JSON text (what `convert` and receiver:otlp's JSON path
// read) → request → OTAP. A parsed request must encode back to JSON that parses to
// an equal message (ToOtlpJson's contract), and convert to OTAP without crashing.

#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <string_view>
#include <type_traits>
#include <variant>

#include <google/protobuf/stubs/logging.h>
#include <google/protobuf/util/message_differencer.h>

#include "otap_parquet/otlp/convert.h"
#include "otap_parquet/otlp/otlp_json.h"

namespace otlp = otap_parquet::otlp;

extern "C" int LLVMFuzzerInitialize(int*, char***) {
  // Protobuf logs every string field with invalid UTF-8 it parses.
  google::protobuf::SetLogHandler(nullptr);
  return 0;
}

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  if (size > (1 << 20)) return 0;
  std::string_view text(reinterpret_cast<const char*>(data), size);
  auto request = otlp::ParseOtlpJson(text, otap_parquet::Signal::kLogs);
  if (!request.ok()) return 0;
  auto json = otlp::ToOtlpJson(*request);
  if (json.ok()) {
    auto again = otlp::ParseOtlpJson(*json, otap_parquet::Signal::kLogs);
    if (!again.ok()) {
      std::fprintf(stderr, "otlp_json_fuzz: own output does not parse: %s\n%s\n",
                   again.status().ToString().c_str(), json->c_str());
      std::abort();
    }
    std::visit(
        [&](const auto& a) {
          using T = std::decay_t<decltype(a)>;
          const auto* b = std::get_if<T>(&*again);
          if (b == nullptr ||
              !google::protobuf::util::MessageDifferencer::Equals(a, *b)) {
            std::fprintf(stderr, "otlp_json_fuzz: round trip differs:\n%s\n",
                         json->c_str());
            std::abort();
          }
        },
        *request);
  }
  otlp::ToOtapOptions options;
  options.max_root_rows = 7;
  auto batches = otlp::ToOtap(*request, options);
  if (batches.ok()) {
    for (const auto& batch : *batches) (void)otlp::FromOtap(batch);
  }
  return 0;
}
