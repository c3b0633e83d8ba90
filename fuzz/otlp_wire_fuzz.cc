// SPDX-License-Identifier: Apache-2.0
// libFuzzer target: OTLP protobuf request bytes → OTAP batches, as receiver:otlp
// decodes them. The first byte picks the signal; the rest is the request.
//
// Logs and traces: the wire decoder (LogsWireToOtap / TracesWireToOtap) must agree
// with the message path (ParseFromString + LogsToOtap), as its contract says: where
// one succeeds the other succeeds with equal batches. Metrics have only the message
// path. Every batch produced must validate and convert back to OTLP.

#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <string_view>
#include <vector>

#include <arrow/compare.h>
#include <arrow/record_batch.h>
#include <arrow/type.h>

#include <google/protobuf/stubs/logging.h>

#include "otap_parquet/otlp/convert.h"

namespace {

using otap_parquet::OtapBatch;
using otap_parquet::PayloadType;
namespace otlp = otap_parquet::otlp;

const arrow::EqualOptions kNansEqual = arrow::EqualOptions::Defaults().nans_equal(true);

[[noreturn]] void Fail(const char* what, const std::string& detail) {
  std::fprintf(stderr, "otlp_wire_fuzz: %s: %s\n", what, detail.c_str());
  std::abort();
}

void CheckBatches(const std::vector<OtapBatch>& batches) {
  for (const OtapBatch& batch : batches) {
    if (arrow::Status st = batch.Validate(); !st.ok()) {
      Fail("decoded batch does not validate", st.ToString());
    }
    if (auto back = otlp::FromOtap(batch); !back.ok()) {
      Fail("decoded batch does not convert back", back.status().ToString());
    }
  }
}

void CheckSame(const std::vector<OtapBatch>& wire,
               const std::vector<OtapBatch>& message) {
  if (wire.size() != message.size()) Fail("wire and message paths differ", "batch count");
  for (size_t i = 0; i < wire.size(); ++i) {
    for (PayloadType type : message[i].payload_types()) {
      const auto& a = wire[i].Get(type);
      const auto& b = message[i].Get(type);
      // NaN payloads are data too: both paths must carry them alike.
      if (a == nullptr || !a->Equals(*b, /*check_metadata=*/false, kNansEqual)) {
        Fail("wire and message paths differ",
             std::string(otap_parquet::TableName(type)) + "\nwire:\n" +
                 (a ? a->ToString() : "(none)") + "\nmessage:\n" + b->ToString());
      }
    }
    if (wire[i].payload_types() != message[i].payload_types()) {
      Fail("wire and message paths differ", "payload types");
    }
  }
}

template <typename Request, auto kWire, auto kMessage>
void Differential(std::string_view bytes) {
  otlp::ToOtapOptions options;
  options.max_root_rows = 7;  // small, so that splitting is reached too
  auto wire = kWire(bytes, options);
  Request request;
  const bool parsed =
      request.ParseFromArray(bytes.data(), static_cast<int>(bytes.size()));
  if (!parsed) {
    if (wire.ok()) Fail("wire decoder accepted what protobuf refuses", "");
    return;
  }
  auto message = kMessage(request, options);
  if (wire.ok() != message.ok()) {
    Fail("wire and message paths disagree on success",
         wire.ok() ? message.status().ToString() : wire.status().ToString());
  }
  if (!wire.ok()) return;
  CheckSame(*wire, *message);
  CheckBatches(*message);
}

}  // namespace

extern "C" int LLVMFuzzerInitialize(int*, char***) {
  // Protobuf logs every string field with invalid UTF-8 it parses.
  google::protobuf::SetLogHandler(nullptr);
  return 0;
}

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  if (size < 1 || size > (1 << 20)) return 0;
  std::string_view bytes(reinterpret_cast<const char*>(data) + 1, size - 1);
  switch (data[0] % 3) {
    case 0:
      Differential<otlp::LogsRequest, &otlp::LogsWireToOtap, &otlp::LogsToOtap>(bytes);
      break;
    case 1:
      Differential<otlp::TracesRequest, &otlp::TracesWireToOtap, &otlp::TracesToOtap>(
          bytes);
      break;
    default: {
      otlp::MetricsRequest request;
      if (!request.ParseFromArray(bytes.data(), static_cast<int>(bytes.size()))) break;
      otlp::ToOtapOptions options;
      options.max_root_rows = 7;
      auto batches = otlp::MetricsToOtap(request, options);
      if (batches.ok()) CheckBatches(*batches);
      break;
    }
  }
  return 0;
}
