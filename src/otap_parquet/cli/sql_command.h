// SPDX-License-Identifier: Apache-2.0
#pragma once

#include <map>
#include <ostream>
#include <set>
#include <string>
#include <vector>

#include <arrow/result.h>

#include "otap_parquet/cli/dataset_commands.h"

/// \file
/// `otap-parquet sql DATASET`: DuckDB views that present the star schema as one row
/// per log record, span and data point, with attributes as MAP columns
/// (docs/queries.md).

namespace otap_parquet::cli {

struct SqlCommandOptions {
  std::string dataset;
  /// --run: start DuckDB's CLI (`duckdb`) with the views instead of printing them.
  bool run = false;
  /// --query: run this statement after the views (implies --run) and exit.
  std::string query;
  /// --duckdb: the DuckDB CLI to run.
  std::string duckdb = "duckdb";
  /// --s3-endpoint, --s3-region, --allow-http (also written into the S3 secret).
  DatasetFlags flags;
};

/// \brief What the views need to know about a dataset, from its footers.
struct SqlDatasetShape {
  /// Where DuckDB reads it: an absolute local path or an s3:// URI, no trailing '/'.
  std::string base;
  /// Table directories with files.
  std::set<std::string> tables;
  /// Files directly under the table directories (upstream without `_part_id`).
  bool unpartitioned = false;
  /// Root tables with files of upstream's writer (un-offset resource/scope ids, Q1).
  std::set<std::string> upstream_roots;
  /// Per table: columns no file has (the views read them as NULL).
  std::map<std::string, std::set<std::string>> absent_columns;
  /// Per table: names of files whose id columns DuckDB reads shifted (Q14).
  std::map<std::string, std::vector<std::string>> malformed_id_files;
  /// Files `inspect` found corrupt or unreadable: DuckDB's scans fail on them.
  std::vector<std::string> bad_files;
  /// Tables with such files: their other files, as DuckDB paths, read instead of
  /// the table's glob (a snapshot: files added later are not seen).
  std::map<std::string, std::vector<std::string>> explicit_files;
  /// S3 settings for the secret (empty when not s3://).
  std::string s3_endpoint;
  std::string s3_region;
  bool allow_http = false;
};

/// \brief The SQL script: settings, helper views (`otap_*`), macros and the views
/// `logs`, `spans`, `metrics` and per point type (docs/queries.md).
std::string DuckDbViews(const SqlDatasetShape& shape);

/// \brief Reads the footers of `options.dataset` and prints the views to `out`, or
/// (--run / --query) runs DuckDB's CLI with them; returns the exit code.
arrow::Result<int> RunSql(const SqlCommandOptions& options, std::ostream& out);

}  // namespace otap_parquet::cli
