// SPDX-License-Identifier: Apache-2.0
#pragma once

#include <cstdint>
#include <ostream>
#include <string>

#include <arrow/result.h>

#include "otap_parquet/cli/dataset_commands.h"
#include "otap_parquet/dataset/inspect.h"

/// \file
/// `otap-parquet inspect DATASET`: what is in a dataset (dataset/inspect.h), as an
/// aligned table or (--json) in the shape documented in docs/cli.md.

namespace otap_parquet::cli {

struct InspectCommandOptions {
  std::string dataset;
  /// --check: verify every id space (reads the id columns).
  bool check = false;
  /// --json: one JSON document instead of the table.
  bool json = false;
  /// --grace-period (with --check): a duration ("1h", "30m", "0s").
  std::string grace_period = "1h";
  /// --progress (with --check): auto, always or never (cli/progress.h).
  std::string progress = "auto";
  /// --s3-endpoint, --s3-region, --allow-http.
  DatasetFlags flags;
};

/// Exit codes of `inspect` (docs/cli.md), those of `repair`.
constexpr int kInspectClean = 0;     ///< no problem found
constexpr int kInspectError = 1;     ///< listing failed, bad arguments
constexpr int kInspectProblems = 3;  ///< problems found (each printed with its path)

/// \brief RFC 3339 UTC ("2026-11-23T10:00:00Z"), with nanoseconds when `nanos`.
std::string FormatTime(int64_t unix_nano, bool nanos);
/// \brief "512 B", "1.5 MiB", ...
std::string HumanBytes(int64_t bytes);

/// \brief The JSON document of `inspect --json` (docs/cli.md), "format":
/// "otap-parquet-inspect/1".
std::string InspectReportJson(const dataset::InspectReport& report);

/// \brief The human form: totals, an aligned table per signal and table, schema
/// variants that are not canonical, then every problem with its path.
std::string InspectReportText(const dataset::InspectReport& report);

/// \brief Runs the inspection and prints it to `out`; returns kInspectClean or
/// kInspectProblems, or the error.
arrow::Result<int> RunInspect(const InspectCommandOptions& options, std::ostream& out);

}  // namespace otap_parquet::cli
