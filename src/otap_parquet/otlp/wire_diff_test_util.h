// SPDX-License-Identifier: Apache-2.0
#pragma once

/// \file
/// The differential check of the OTLP wire decoders (`*_wire_test.cc`): the batches
/// of the wire path against those of the message path. Include from tests only.

#include <random>
#include <string>
#include <vector>

#include <arrow/api.h>
#include <gtest/gtest.h>

#include "otap_parquet/otlp/convert.h"
#include "otap_parquet/otlp/protobuf_log_internal.h"
#include "otap_parquet/pdata/otap_batch.h"
#include "otap_parquet/schema/payload_type.h"

namespace otap_parquet::testing {

/// \brief Expects `actual` (wire path) to equal `expected` (message path) batch by
/// batch and column by column, or both to have failed. Returns whether both
/// succeeded.
inline bool ExpectSameBatches(const arrow::Result<std::vector<OtapBatch>>& expected,
                              const arrow::Result<std::vector<OtapBatch>>& actual,
                              Signal signal, const std::string& what) {
  EXPECT_EQ(expected.ok(), actual.ok())
      << what << ": message path " << expected.status().ToString() << ", wire path "
      << actual.status().ToString();
  if (!expected.ok() || !actual.ok()) return false;
  EXPECT_EQ(expected->size(), actual->size()) << what;
  if (expected->size() != actual->size()) return false;
  for (size_t i = 0; i < expected->size(); ++i) {
    EXPECT_TRUE((*actual)[i].Validate().ok()) << what;
    for (PayloadType type : PayloadTypesOf(signal)) {
      const auto& want = (*expected)[i].Get(type);
      const auto& got = (*actual)[i].Get(type);
      EXPECT_EQ(want == nullptr, got == nullptr) << what << " batch " << i;
      if (!want || !got) continue;
      EXPECT_TRUE(want->schema()->Equals(*got->schema())) << what;
      EXPECT_EQ(want->num_rows(), got->num_rows()) << what;
      // NaN values are generated; they compare equal here.
      const auto nans = arrow::EqualOptions::Defaults().nans_equal(true);
      std::string diff;
      for (int c = 0; c < want->num_columns() && c < got->num_columns(); ++c) {
        if (!want->column(c)->Equals(*got->column(c), nans)) {
          diff += want->schema()->field(c)->name() + ": " +
                  want->column(c)->Diff(*got->column(c)) + "\n";
        }
      }
      EXPECT_TRUE(diff.empty())
          << what << " batch " << i << " " << TableName(type) << "\n"
          << diff;
    }
  }
  return true;
}

/// \brief Converts serialized `bytes` of a `Request` both ways, the message path
/// (parse, then `to_otap`) and the wire path (`wire_to_otap`); expects the same
/// batches, or both to fail. Returns whether they succeeded.
template <typename Request, typename ToOtap, typename WireToOtap>
bool ExpectWirePathMatches(const std::string& bytes, ToOtap to_otap,
                           WireToOtap wire_to_otap, const otlp::ToOtapOptions& options,
                           Signal signal, const std::string& what) {
  otlp::internal::ProtobufLogCapture quiet;  // the parse's UTF-8 complaints
  Request parsed;
  arrow::Result<std::vector<OtapBatch>> expected =
      parsed.ParseFromString(bytes) ? to_otap(parsed, options)
                                    : arrow::Status::Invalid("unparsable");
  return ExpectSameBatches(expected, wire_to_otap(bytes, options), signal, what);
}

/// \brief Runs `expect_same(bytes, what)` (a wire-vs-message check) on prefixes of
/// `requests` and on 600 copies with random bytes flipped; returns how many prefixes
/// both paths decoded.
template <typename ExpectSame>
int CheckPrefixesAndCorruptions(const std::vector<std::string>& requests,
                                ExpectSame expect_same) {
  int agreed = 0;
  for (const auto& bytes : requests) {
    for (size_t n = 0; n < bytes.size(); n += 1 + bytes.size() / 300) {
      agreed += expect_same(bytes.substr(0, n), "prefix " + std::to_string(n)) ? 1 : 0;
    }
  }
  std::mt19937_64 random(42);
  for (int i = 0; i < 600; ++i) {
    std::string bytes = requests[static_cast<size_t>(i) % requests.size()];
    for (int flips = 0; flips < 1 + i % 4; ++flips) {
      bytes[random() % bytes.size()] = static_cast<char>(random());
    }
    expect_same(bytes, "corruption " + std::to_string(i));
  }
  return agreed;
}

}  // namespace otap_parquet::testing
