// SPDX-License-Identifier: Apache-2.0
#pragma once

#include <ostream>
#include <string>
#include <vector>

#include <arrow/result.h>

#include "otap_parquet/cli/dataset_commands.h"
#include "otap_parquet/dataset/retention.h"

/// \file
/// `otap-parquet partitions DATASET` (list) and `otap-parquet partitions delete`
/// (dataset/retention.h), documented in docs/cli.md.

namespace otap_parquet::cli {

struct PartitionsCommandOptions {
  std::string dataset;
  bool json = false;
  /// --s3-endpoint, --s3-region, --allow-http.
  DatasetFlags flags;
};

struct PartitionsDeleteOptions {
  std::string dataset;
  /// --before: Unix ns or RFC 3339 UTC ("" = none).
  std::string before;
  /// --partition (repeatable).
  std::vector<std::string> partitions;
  /// --checkpoint (repeatable): replay checkpoint files or URIs.
  std::vector<std::string> checkpoints;
  bool apply = false;
  bool force = false;
  bool json = false;
  DatasetFlags flags;
};

constexpr int kPartitionsOk = 0;
constexpr int kPartitionsError = 1;
/// A usage error, as for every command: neither --before nor --partition, a
/// --before that is not a time, a --partition that is not a partition path.
constexpr int kPartitionsUsage = 2;
/// Partitions kept because a checkpoint has not finished them (each named).
constexpr int kPartitionsBlocked = 3;

/// \brief The JSON document of `partitions --json`, "format":
/// "otap-parquet-partitions/1".
std::string PartitionListingJson(const dataset::PartitionListing& listing);
std::string PartitionListingText(const dataset::PartitionListing& listing);

/// \brief `partitions delete --json`, "format": "otap-parquet-retention/1".
std::string RetentionReportJson(const dataset::RetentionReport& report);
std::string RetentionReportText(const dataset::RetentionReport& report);

arrow::Result<int> RunPartitions(const PartitionsCommandOptions& options,
                                 std::ostream& out);
/// \brief Usage errors are printed on `err` (exit kPartitionsUsage); other errors
/// are returned.
arrow::Result<int> RunPartitionsDelete(const PartitionsDeleteOptions& options,
                                       std::ostream& out, std::ostream& err);

}  // namespace otap_parquet::cli
