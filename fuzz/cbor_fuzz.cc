// SPDX-License-Identifier: Apache-2.0
// libFuzzer target: the CBOR AnyValue decoder (`ser` columns of attribute tables
// and bodies, written by us and by upstream). Whatever it decodes must encode and
// decode back to the same value (Decode(Encode(v)) == v, NaN payloads aside).

#include <cmath>
#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <string>
#include <string_view>

#include <google/protobuf/util/message_differencer.h>

#include "otap_parquet/cbor/any_value_cbor.h"
#include "otap_parquet/otlp/otlp_types.h"

namespace cbor = otap_parquet::cbor;
namespace pb = otap_parquet::otlp::pb;

namespace {

bool HasNan(const pb::common::AnyValue& v) {
  switch (v.value_case()) {
    case pb::common::AnyValue::kDoubleValue:
      return std::isnan(v.double_value());
    case pb::common::AnyValue::kArrayValue:
      for (const auto& e : v.array_value().values()) {
        if (HasNan(e)) return true;
      }
      return false;
    case pb::common::AnyValue::kKvlistValue:
      for (const auto& kv : v.kvlist_value().values()) {
        if (HasNan(kv.value())) return true;
      }
      return false;
    default:
      return false;
  }
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  std::string_view bytes(reinterpret_cast<const char*>(data), size);
  pb::common::AnyValue value;
  if (!cbor::DecodeAnyValue(bytes, &value).ok()) return 0;
  std::string encoded;
  if (arrow::Status st = cbor::EncodeAnyValue(value, &encoded); !st.ok()) {
    std::fprintf(stderr, "cbor_fuzz: decoded value does not encode: %s\n",
                 st.ToString().c_str());
    std::abort();
  }
  pb::common::AnyValue again;
  if (arrow::Status st = cbor::DecodeAnyValue(encoded, &again); !st.ok()) {
    std::fprintf(stderr, "cbor_fuzz: own encoding does not decode: %s\n",
                 st.ToString().c_str());
    std::abort();
  }
  if (!HasNan(value) &&
      !google::protobuf::util::MessageDifferencer::Equals(value, again)) {
    std::fprintf(stderr, "cbor_fuzz: round trip differs:\n%s\n%s\n",
                 value.DebugString().c_str(), again.DebugString().c_str());
    std::abort();
  }
  return 0;
}
