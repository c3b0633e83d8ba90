// SPDX-License-Identifier: Apache-2.0
#pragma once

#include <cstdint>
#include <string>
#include <utility>
#include <variant>
#include <vector>

#include "otap_parquet/generator/otlp_generator.h"
#include "otap_parquet/otlp/convert.h"
#include "otap_parquet/pdata/otap_batch.h"

/// \file
/// Generated OTAP batches for tests (deterministic for a seed).

namespace otap_parquet::testing {

/// \brief Generator options of requests with one resource, one scope and `items`
/// items (log records, spans, metrics).
inline generator::GeneratorOptions OneScopeOptions(int items, uint64_t seed) {
  generator::GeneratorOptions options;
  options.seed = seed;
  options.resources_per_request = 1;
  options.scopes_per_resource = 1;
  options.items_per_scope = items;
  return options;
}

/// \brief The OtapBatches of `requests` generated requests of `signal`, in order
/// (a request gives more than one only above 65535 roots).
inline std::vector<OtapBatch> GeneratedBatches(
    Signal signal, int requests, const generator::GeneratorOptions& options) {
  generator::OtlpGenerator generator(options);
  std::vector<OtapBatch> out;
  for (int i = 0; i < requests; ++i) {
    for (auto& batch : otlp::ToOtap(generator.Next(signal)).ValueOrDie()) {
      out.push_back(std::move(batch));
    }
  }
  return out;
}

/// \brief `count` generated requests of `signal`, serialized.
inline std::vector<std::string> GeneratedRequestBytes(Signal signal, generator::Mode mode,
                                                      int count, uint64_t seed) {
  generator::GeneratorOptions options;
  options.mode = mode;
  options.seed = seed;
  generator::OtlpGenerator generator(options);
  std::vector<std::string> out;
  for (int i = 0; i < count; ++i) {
    out.push_back(
        std::visit([](const auto& request) { return request.SerializeAsString(); },
                   generator.Next(signal)));
  }
  return out;
}

/// \brief One logs batch: `items` log records of one resource and one scope.
inline OtapBatch LogsBatch(int items, uint64_t seed) {
  return std::move(
      GeneratedBatches(Signal::kLogs, 1, OneScopeOptions(items, seed)).front());
}

/// \brief One logs batch of a generated request whose log records alternate between
/// hour 00 and hour 01 of 2025-11-25 (event-time partitioning puts it in two
/// partitions).
inline OtapBatch LogsOverTwoHours(const generator::GeneratorOptions& options) {
  generator::OtlpGenerator generator(options);
  otlp::LogsRequest request = generator.NextLogs();
  uint64_t i = 0;
  for (auto& rl : *request.mutable_resource_logs()) {
    for (auto& sl : *rl.mutable_scope_logs()) {
      for (auto& record : *sl.mutable_log_records()) {
        record.set_time_unix_nano((490'008ULL + (i++ % 2)) * 3'600'000'000'000ULL);
      }
    }
  }
  auto batches = otlp::ToOtap(otlp::OtlpRequest(std::move(request))).ValueOrDie();
  return std::move(batches.front());
}

}  // namespace otap_parquet::testing
