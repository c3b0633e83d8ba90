// SPDX-License-Identifier: Apache-2.0
#pragma once

#include <cstdint>
#include <optional>
#include <ostream>
#include <string>
#include <vector>

#include <arrow/status.h>

#include "otap_parquet/schema/payload_type.h"

/// \file
/// The CLI's commands as functions, so that tests can call them without a process.

namespace otap_parquet::cli {

struct ConvertOptions {
  std::vector<std::string> inputs;
  std::string output;
  /// Signal of protobuf inputs whose name does not tell it.
  std::optional<Signal> signal;
  /// Most root rows per OtapBatch in the conversion.
  int64_t max_batch_rows = 65535;
  /// Also check that the output holds the same telemetry as the input.
  bool verify = false;
  /// --progress: auto, always or never (cli/progress.h).
  std::string progress = "auto";
};

/// \brief `otap-parquet convert INPUT... OUTPUT`: OTLP files to an OTLP file, every
/// request going through OtapBatch (OTLP → OTAP → OTLP). Writes a summary to `report`.
arrow::Status RunConvert(const ConvertOptions& options, std::ostream& report);

struct GenerateOptions {
  std::string output;
  /// Signals to generate; empty = all three.
  std::vector<Signal> signals;
  int64_t requests = 10;
  int items_per_scope = 100;
  uint64_t seed = 1;
  bool edge_cases = false;
};

/// \brief `otap-parquet generate OUTPUT`: deterministic synthetic OTLP telemetry.
arrow::Status RunGenerate(const GenerateOptions& options, std::ostream& report);

/// \brief `otap-parquet compare EXPECTED ACTUAL`: OK when the two OTLP files hold the
/// same telemetry (regardless of batching and order), else Invalid with the items
/// that differ. `ignore_upstream_losses`: first clear on both sides what upstream's
/// Parquet exporter loses (otlp::DropUpstreamParquetLosses).
arrow::Status RunCompare(const std::string& expected, const std::string& actual,
                         std::optional<Signal> signal, std::ostream& report,
                         bool ignore_upstream_losses = false);

struct DemoOptions {
  /// Working directory for the demo's files.
  std::string dir = "out/demo";
  uint64_t seed = 1;
};

/// \brief `otap-parquet demo`: the main job on a built-in default. Generates logs,
/// traces and metrics, writes them through OTAP into a Parquet dataset, replays the
/// dataset into OTLP JSON, and verifies that nothing was lost.
arrow::Status RunDemo(const DemoOptions& options, std::ostream& report);

}  // namespace otap_parquet::cli
