// SPDX-License-Identifier: Apache-2.0
#pragma once

#include <ostream>
#include <string>

#include <arrow/result.h>

#include "otap_parquet/cli/dataset_commands.h"

/// \file
/// `otap-parquet repair DATASET`: lists (and with --apply removes) crash leftovers of
/// dataset writers (dataset/repair.h, docs/operations.md).

namespace otap_parquet::cli {

struct RepairCommandOptions {
  std::string dataset;
  /// --grace-period: a duration ("1h", "30m", "0s").
  std::string grace_period = "1h";
  bool apply = false;
  /// --progress: auto, always or never (cli/progress.h).
  std::string progress = "auto";
  /// --s3-endpoint, --s3-region, --allow-http.
  DatasetFlags flags;
};

/// Exit codes of `repair` (docs/operations.md).
constexpr int kRepairClean = 0;     ///< nothing left to remove
constexpr int kRepairError = 1;     ///< listing, reading or removing failed
constexpr int kRepairFindings = 3;  ///< removable leftovers found (dry run), or
                                    ///< findings that need a person

/// \brief Runs the repair, prints every finding (with its path) and a summary to
/// `out`; returns the exit code (kRepairClean or kRepairFindings), or the error.
arrow::Result<int> RunRepair(const RepairCommandOptions& options, std::ostream& out);

}  // namespace otap_parquet::cli
