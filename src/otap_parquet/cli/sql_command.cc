// SPDX-License-Identifier: Apache-2.0
#include "otap_parquet/cli/sql_command.h"

#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <filesystem>
#include <initializer_list>
#include <iostream>
#include <utility>

#include <fmt/format.h>

#include "otap_parquet/dataset/inspect.h"
#include "otap_parquet/storage/storage.h"

namespace otap_parquet::cli {

using arrow::Status;

namespace {

// Replaces every `${name}` of `text` in one pass: a value is never scanned again
// (a dataset path may hold `${where}`).
std::string Fill(std::string_view text,
                 std::initializer_list<std::pair<std::string_view, std::string>> values) {
  std::string out;
  size_t from = 0;
  for (size_t at = text.find("${"); at != std::string_view::npos;
       at = text.find("${", from)) {
    out += text.substr(from, at - from);
    const size_t end = text.find('}', at);
    const std::string_view name = end == std::string_view::npos
                                      ? std::string_view()
                                      : text.substr(at + 2, end - at - 2);
    const auto* value = std::find_if(values.begin(), values.end(),
                                     [&](const auto& v) { return v.first == name; });
    if (value == values.end()) {
      out += "${";
      from = at + 2;
      continue;
    }
    out += value->second;
    from = end + 1;
  }
  out += text.substr(from);
  return out;
}

std::string Quote(std::string_view text) {
  std::string out = "'";
  for (char c : text) {
    out += c;
    if (c == '\'') out += '\'';
  }
  return out + "'";
}

// DuckDB expands every path it reads as a glob: a `[`, `*` or `?` of a directory or
// file name must match itself (`lake[1]` would otherwise read `lake1`).
std::string GlobLiteral(std::string_view path) {
  std::string out;
  for (char c : path) {
    if (c == '[' || c == '*' || c == '?') {
      out += '[';
      out += c;
      out += ']';
    } else {
      out += c;
    }
  }
  return out;
}

// Text for a `--` comment line: a line break (a path may hold one) must not end the
// comment and make the rest of the text SQL.
std::string CommentText(std::string_view text) {
  std::string out;
  for (char c : text) {
    if (c == '\n') {
      out += "\\n";
    } else if (c == '\r') {
      out += "\\r";
    } else {
      out += c;
    }
  }
  return out;
}

// Optional top-level columns the views select, with their DuckDB type: read as NULL
// when no file has them (upstream drops the `flags` columns, is_monotonic and
// zero_threshold, Q2; older files may lack event_name).
struct OptionalColumn {
  std::string_view table, column, type;
};
constexpr OptionalColumn kOptionalColumns[] = {
    {"logs", "event_name", "VARCHAR"},
    {"logs", "flags", "UINTEGER"},
    {"spans", "flags", "UINTEGER"},
    {"spans", "trace_state", "VARCHAR"},
    {"spans", "parent_span_id", "BLOB"},
    {"spans", "kind", "INTEGER"},
    {"span_links", "flags", "UINTEGER"},
    {"span_links", "trace_state", "VARCHAR"},
    {"univariate_metrics", "is_monotonic", "BOOLEAN"},
    {"univariate_metrics", "aggregation_temporality", "INTEGER"},
    {"exp_histogram_data_points", "zero_threshold", "DOUBLE"},
};

constexpr std::string_view kRootTables[] = {"logs", "spans", "univariate_metrics"};

bool IsRoot(std::string_view table) {
  for (auto root : kRootTables) {
    if (root == table) return true;
  }
  return false;
}

// An attribute value as text: strings as they are, numbers and booleans as DuckDB
// prints them (TRY_CAST reads them back exactly), bytes and CBOR maps/arrays base64.
std::string ValueText(std::string_view prefix) {
  return Fill(
      "CASE ${p}type WHEN 1 THEN ${p}str WHEN 2 THEN CAST(${p}\"int\" AS VARCHAR) "
      "WHEN 3 THEN CAST(${p}\"double\" AS VARCHAR) WHEN 4 THEN CAST(${p}bool AS "
      "VARCHAR) WHEN 7 THEN to_base64(${p}bytes) WHEN 5 THEN to_base64(${p}ser) WHEN "
      "6 THEN to_base64(${p}ser) END",
      {{"p", std::string(prefix)}});
}

class ViewWriter {
 public:
  explicit ViewWriter(const SqlDatasetShape& shape) : shape_(shape) {}

  std::string Write() {
    Header();
    for (const auto& table : shape_.tables) RawView(table);
    for (std::string_view t :
         {"resource_attrs", "scope_attrs", "log_attrs", "span_attrs", "span_event_attrs",
          "span_link_attrs", "metric_attrs", "number_dp_attrs", "histogram_dp_attrs",
          "exp_histogram_dp_attrs", "summary_dp_attrs"}) {
      AttrsView(std::string(t));
    }
    for (auto root : kRootTables) {
      if (Has(root)) RootsView(std::string(root));
    }
    if (Has("logs")) LogsView();
    if (Has("spans")) SpansView();
    if (Has("univariate_metrics")) MetricsViews();
    return sql_;
  }

 private:
  bool Has(std::string_view table) const {
    return shape_.tables.count(std::string(table)) > 0;
  }

  std::string Glob(const std::string& table) const {
    if (auto files = shape_.explicit_files.find(table);
        files != shape_.explicit_files.end()) {
      std::string list = "[";
      for (const auto& file : files->second) {
        list += (list.size() > 1 ? ", " : "") + Quote(GlobLiteral(file));
      }
      return list + "]";
    }
    return Quote(GlobLiteral(shape_.base) + "/" + table +
                 (shape_.unpartitioned ? "/*.parquet" : "/**/*.parquet"));
  }

  void Header() {
    sql_ += fmt::format(
        "-- otap-parquet sql: DuckDB views over {} (docs/queries.md).\n"
        "-- Generated from the dataset's footers: run `otap-parquet sql` again after "
        "tables or\n-- files of upstream's writer appear.\n",
        CommentText(shape_.base));
    for (const auto& file : shape_.bad_files) {
      // Our reader skips such a file; DuckDB's read_parquet fails the whole query.
      sql_ += fmt::format(
          "-- WARNING: unreadable file, left out (its table's view lists the other "
          "files: rerun `otap-parquet sql` after adding files): {}\n",
          CommentText(file));
    }
    if (shape_.base.rfind("s3://", 0) == 0) {
      std::string options = "TYPE s3, PROVIDER credential_chain";
      if (!shape_.s3_region.empty()) options += ", REGION " + Quote(shape_.s3_region);
      if (!shape_.s3_endpoint.empty()) {
        std::string endpoint = shape_.s3_endpoint;
        for (std::string_view scheme : {"http://", "https://"}) {
          if (endpoint.rfind(scheme, 0) == 0) endpoint = endpoint.substr(scheme.size());
        }
        options += ", ENDPOINT " + Quote(endpoint) + ", URL_STYLE 'path'";
      }
      if (shape_.allow_http) options += ", USE_SSL false";
      sql_ += fmt::format(
          "INSTALL httpfs;\nLOAD httpfs;\n"
          "-- Credentials from the AWS environment variables or profile (DuckDB's aws "
          "extension).\nCREATE OR REPLACE SECRET otap_parquet_s3 ({});\n",
          options);
    }
    sql_ +=
        "CREATE OR REPLACE MACRO attr_int(m, k) AS TRY_CAST(m[k] AS BIGINT);\n"
        "CREATE OR REPLACE MACRO attr_double(m, k) AS TRY_CAST(m[k] AS DOUBLE);\n"
        "CREATE OR REPLACE MACRO attr_bool(m, k) AS TRY_CAST(m[k] AS BOOLEAN);\n";
    if (!shape_.unpartitioned) CompactionViews();
  }

  // Compaction manifests (docs/operations.md), read when a query runs: the raw
  // views leave out the files a committed compaction superseded and the partitions
  // of compactions that are not committed (pending, abandoned), as our readers do.
  // read_text, unlike read_json, reads no file rather than failing when there is
  // no manifest yet, so compactions after the views were made are honoured too.
  // As for our readers (ApplyCompactions), a committed compaction is in force only
  // while every new file it names is there: one that lost some (undone as abandoned
  // just before its commit landed, deleted by hand) hides nothing, its superseded
  // files still hold the rows. glob() lists the compactions' partitions when the
  // query runs (on object stores: the dataset's objects, one request per 1000).
  void CompactionViews() {
    sql_ += Fill(
        R"(CREATE OR REPLACE VIEW otap_compactions AS
SELECT j->>'state' AS state, j->>'part_id' AS part_id, j->>'supersedes' AS supersedes,
  j->>'partition' AS partition,
  from_json(j->'old_files', '[{"table": "VARCHAR", "name": "VARCHAR"}]') AS old_files,
  from_json(j->'new_files', '[{"table": "VARCHAR", "name": "VARCHAR"}]') AS new_files
FROM (SELECT CAST(content AS JSON) AS j FROM read_text(${manifests}));
CREATE OR REPLACE VIEW otap_committed_part_ids AS
SELECT part_id FROM otap_compactions WHERE state = 'committed'
EXCEPT
SELECT part_id FROM (
  SELECT part_id, ${base} || '/' || f."table" || '/' || partition || '/' || f.name AS file
  FROM (SELECT part_id, partition, unnest(new_files) AS f FROM otap_compactions
        WHERE state = 'committed'))
WHERE file NOT IN (SELECT file FROM glob(${new_files}));
CREATE OR REPLACE VIEW otap_superseded_files AS
SELECT ${base} || '/' || f."table" || '/' || supersedes || '/' || f.name AS filename
FROM (SELECT supersedes, unnest(old_files) AS f FROM otap_compactions
      WHERE part_id IN (SELECT part_id FROM otap_committed_part_ids));
)",
        {{"manifests", Quote(GlobLiteral(shape_.base) + "/_compactions/*.json")},
         // compact only compacts partitions with `_part_id` innermost.
         {"new_files", Quote(GlobLiteral(shape_.base) + "/*/**/_part_id=*.c*/*.parquet")},
         {"base", Quote(shape_.base)}});
  }

  void RawView(const std::string& table) {
    std::vector<std::string> replaced, added;
    auto malformed = shape_.malformed_id_files.find(table);
    const bool need_file = malformed != shape_.malformed_id_files.end() ||
                           (IsRoot(table) && shape_.upstream_roots.count(table) > 0);
    auto absent = shape_.absent_columns.find(table);
    auto is_absent = [&](std::string_view column) {
      return absent != shape_.absent_columns.end() &&
             absent->second.count(std::string(column)) > 0;
    };
    if (malformed != shape_.malformed_id_files.end()) {
      std::string names;
      for (const auto& name : malformed->second) {
        names += (names.empty() ? "" : ", ") + Quote(name);
      }
      // DuckDB reads these columns of upstream's malformed chunks shifted (Q14).
      for (std::string_view column : {"trace_id", "span_id"}) {
        if (is_absent(column)) continue;
        replaced.push_back(fmt::format(
            "CASE WHEN parse_filename(filename) IN ({}) THEN NULL ELSE {} END AS {}",
            names, column, column));
      }
    }
    for (const auto& optional : kOptionalColumns) {
      if (optional.table == table && is_absent(optional.column)) {
        added.push_back(fmt::format("NULL::{} AS {}", optional.type, optional.column));
      }
    }
    if (shape_.unpartitioned) added.push_back("'' AS _part_id");
    // Compactions need each row's file (the views of upstream roots keep it).
    const bool compactions = !shape_.unpartitioned;
    std::string select = "*";
    if (compactions && !need_file) select += " EXCLUDE (filename)";
    if (!replaced.empty()) {
      select += " REPLACE (";
      for (size_t i = 0; i < replaced.size(); ++i) {
        select += (i ? ", " : "") + replaced[i];
      }
      select += ")";
    }
    for (const auto& column : added) select += ", " + column;
    std::string file;
    if (need_file) {
      file = ", filename = true, file_row_number = true";
    } else if (compactions) {
      file = ", filename = true";
    }
    // DuckDB's hive partitioning takes every key=value segment of a path, also those
    // above the dataset (under `/data/id=7/lake` every `id` would read 7): then
    // `_part_id` is read from the path below the base, and no other level is a column.
    const bool hive = compactions && shape_.base.find('=') == std::string::npos;
    std::string source = Fill(
        "read_parquet(${glob}, hive_partitioning = ${hive}, union_by_name = "
        "true${file})",
        {{"glob", Glob(table)}, {"hive", hive ? "true" : "false"}, {"file", file}});
    if (compactions && !hive) {
      size_t base_chars = 0;  // DuckDB's substr counts characters
      for (char c : shape_.base) base_chars += (c & 0xc0) != 0x80;
      source = fmt::format(
          "(SELECT *, regexp_extract(substr(filename, {}), '/_part_id=([^/]*)/', 1) AS "
          "_part_id FROM {})",
          base_chars + 2, source);
    }
    sql_ += Fill(
        "CREATE OR REPLACE VIEW otap_raw_${t} AS SELECT ${select} FROM "
        "${source}${where};\n",
        {{"t", table},
         {"select", select},
         {"source", source},
         {"where", compactions ? "\nWHERE filename NOT IN (SELECT filename FROM "
                                 "otap_superseded_files)\n  AND (NOT regexp_matches("
                                 "_part_id, '\\.c[0-9a-f]{16}$') OR _part_id IN "
                                 "(SELECT part_id FROM otap_committed_part_ids))"
                               : ""}});
  }

  // One row per (partition, parent): its attributes as MAP(VARCHAR, VARCHAR) in
  // stored order; of a repeated key the first value (MAP refuses duplicates; the
  // check costs less than sorting or a second aggregation).
  void AttrsView(const std::string& table) {
    if (!Has(table)) {
      sql_ += Fill(
          "CREATE OR REPLACE VIEW otap_attrs_${t} AS SELECT NULL::VARCHAR AS _part_id, "
          "NULL::UINTEGER AS parent_id, NULL::MAP(VARCHAR, VARCHAR) AS attributes WHERE "
          "false;\n",
          {{"t", table}});
      return;
    }
    sql_ += Fill(
        "CREATE OR REPLACE VIEW otap_attrs_${t} AS\n"
        "SELECT _part_id, parent_id, CASE WHEN len(list_distinct(k)) = len(k) THEN "
        "map(k, "
        "v)\n  ELSE map_from_entries(list_filter(list_zip(k, v), lambda e, i: "
        "list_position(k, e[1]) = i)) END AS attributes\n"
        "FROM (SELECT _part_id, parent_id, list(key) AS k, list(${value}) AS v\n"
        "  FROM otap_raw_${t} GROUP BY _part_id, parent_id);\n",
        {{"t", table}, {"value", ValueText("")}});
  }

  // The root table with the join keys of its resource and scope attributes. Upstream
  // files keep resource.id / scope.id un-offset (Q1): the key is the batch's offset C
  // plus the raw id, C recovered from the root id stream as the replay reader does
  // (docs/datasets.md, "Upstream resource and scope attributes").
  void RootsView(const std::string& table) {
    if (shape_.upstream_roots.count(table) == 0) {
      sql_ += Fill(
          "CREATE OR REPLACE VIEW otap_roots_${t} AS SELECT *, resource.id AS "
          "otap_resource_key, scope.id AS otap_scope_key FROM otap_raw_${t};\n",
          {{"t", table}});
      return;
    }
    // Log ids skip logs without attributes; span and metric ids are consecutive.
    const std::string boundary =
        table == "logs" ? "id <= otap_prev_id" : "id <> otap_prev_id + 1";
    sql_ += Fill(
        R"(-- Runs: rows of one upstream file where no batch boundary shows (resource.id
-- decreases, or a root id breaks the sequence).
CREATE OR REPLACE VIEW otap_runs_${t} AS
WITH w AS (SELECT * EXCLUDE (filename, file_row_number), filename AS otap_file,
    file_row_number AS otap_row,
    filename IN (SELECT file_name FROM parquet_schema(${glob}) WHERE name = 'id' AND converted_type = 'UINT_16') AS otap_upstream,
    lag(resource.id) OVER (PARTITION BY filename ORDER BY file_row_number) AS otap_prev_res,
    last_value(id IGNORE NULLS) OVER (PARTITION BY filename ORDER BY file_row_number
      ROWS BETWEEN UNBOUNDED PRECEDING AND 1 PRECEDING) AS otap_prev_id
  FROM otap_raw_${t})
SELECT *, sum(CASE WHEN otap_prev_res IS NULL OR resource.id < otap_prev_res
    OR (id IS NOT NULL AND otap_prev_id IS NOT NULL AND ${boundary}) THEN 1 ELSE 0 END)
  OVER (PARTITION BY otap_file ORDER BY otap_row ROWS UNBOUNDED PRECEDING) AS otap_run
FROM w;
CREATE OR REPLACE VIEW otap_runmax_${t} AS
SELECT otap_file, otap_run, max(greatest(coalesce(resource.id, 0), coalesce(scope.id, 0))) AS otap_max,
  arg_min(id, otap_row) FILTER (WHERE id IS NOT NULL) AS otap_first
FROM otap_runs_${t} WHERE otap_upstream GROUP BY otap_file, otap_run;
-- Batch offsets: a run's first id, then every later root id that is a resource or
-- scope attribute parent further above the current offset than any raw id of the run.
CREATE OR REPLACE VIEW otap_offsets_${t} AS
WITH n AS (SELECT b.otap_file, b.otap_run, list(b.id ORDER BY b.id) AS ids FROM otap_runs_${t} b
  SEMI JOIN (SELECT _part_id, parent_id FROM otap_attrs_resource_attrs
             UNION SELECT _part_id, parent_id FROM otap_attrs_scope_attrs) p
    ON p._part_id = b._part_id AND p.parent_id = b.id
  WHERE b.otap_upstream GROUP BY b.otap_file, b.otap_run)
SELECT m.otap_file, m.otap_run, unnest(list_reduce(coalesce(n.ids, []),
    lambda acc, x: CASE WHEN x > acc[-1] + m.otap_max THEN list_append(acc, x) ELSE acc END,
    [m.otap_first])) AS otap_offset
FROM otap_runmax_${t} m LEFT JOIN n USING (otap_file, otap_run) WHERE m.otap_first IS NOT NULL;
CREATE OR REPLACE VIEW otap_roots_${t} AS
WITH c AS (SELECT b.*, coalesce(o.otap_offset, m.otap_first) AS otap_batch_offset
  FROM otap_runs_${t} b LEFT JOIN otap_runmax_${t} m USING (otap_file, otap_run)
  ASOF LEFT JOIN otap_offsets_${t} o ON o.otap_file = b.otap_file AND o.otap_run = b.otap_run
    AND coalesce(b.id, b.otap_prev_id) >= o.otap_offset)
SELECT * EXCLUDE (otap_file, otap_row, otap_upstream, otap_prev_res, otap_prev_id, otap_run,
    otap_batch_offset),
  CASE WHEN otap_upstream THEN otap_batch_offset + resource.id ELSE resource.id END AS otap_resource_key,
  CASE WHEN otap_upstream THEN otap_batch_offset + scope.id ELSE scope.id END AS otap_scope_key
FROM c;
)",
        {{"t", table}, {"glob", Glob(table)}, {"boundary", boundary}});
  }

  static std::string ResourceScopeColumns() {
    return "r.resource.schema_url AS resource_schema_url, ra.attributes AS "
           "resource_attributes,\n  ra.attributes['service.name'] AS service_name, "
           "r.scope.name AS scope_name, r.scope.version AS scope_version,\n  "
           "sa.attributes AS scope_attributes";
  }
  static std::string ResourceScopeJoins() {
    return "LEFT JOIN otap_attrs_resource_attrs ra ON ra._part_id = r._part_id AND "
           "ra.parent_id = r.otap_resource_key\n"
           "LEFT JOIN otap_attrs_scope_attrs sa ON sa._part_id = r._part_id AND "
           "sa.parent_id = r.otap_scope_key\n";
  }

  void LogsView() {
    sql_ += Fill(
        R"(CREATE OR REPLACE VIEW logs AS
SELECT coalesce(nullif(r.time_unix_nano, TIMESTAMP_NS '1970-01-01'), r.observed_time_unix_nano) AS time,
  r.time_unix_nano, r.observed_time_unix_nano, r.severity_number, r.severity_text,
  ${body} AS body, r.body.type AS body_type, r.trace_id, r.span_id, r.flags, r.event_name,
  a.attributes, r.dropped_attributes_count, ${rs}, r._part_id, r.id
FROM otap_roots_logs r
LEFT JOIN otap_attrs_log_attrs a ON a._part_id = r._part_id AND a.parent_id = r.id
${joins};
)",
        {{"body", ValueText("r.body.")},
         {"rs", ResourceScopeColumns()},
         {"joins", ResourceScopeJoins()}});
  }

  void SpansView() {
    if (Has("span_events")) {
      sql_ += R"(CREATE OR REPLACE VIEW otap_span_events AS
SELECT e._part_id, e.parent_id, list({'time': e.time_unix_nano, 'name': e.name,
    'attributes': a.attributes, 'dropped_attributes_count': e.dropped_attributes_count}
  ORDER BY e.time_unix_nano, e.id) AS events
FROM otap_raw_span_events e
LEFT JOIN otap_attrs_span_event_attrs a ON a._part_id = e._part_id AND a.parent_id = e.id
GROUP BY e._part_id, e.parent_id;
)";
    } else {
      sql_ +=
          "CREATE OR REPLACE VIEW otap_span_events AS SELECT NULL::VARCHAR AS _part_id, "
          "NULL::UINTEGER AS parent_id, NULL::STRUCT(\"time\" TIMESTAMP_NS, \"name\" "
          "VARCHAR, attributes MAP(VARCHAR, VARCHAR), dropped_attributes_count "
          "UINTEGER)[] AS events WHERE false;\n";
    }
    if (Has("span_links")) {
      sql_ += R"(CREATE OR REPLACE VIEW otap_span_links AS
SELECT l._part_id, l.parent_id, list({'trace_id': l.trace_id, 'span_id': l.span_id,
    'trace_state': l.trace_state, 'flags': l.flags, 'attributes': a.attributes,
    'dropped_attributes_count': l.dropped_attributes_count} ORDER BY l.id) AS links
FROM otap_raw_span_links l
LEFT JOIN otap_attrs_span_link_attrs a ON a._part_id = l._part_id AND a.parent_id = l.id
GROUP BY l._part_id, l.parent_id;
)";
    } else {
      sql_ +=
          "CREATE OR REPLACE VIEW otap_span_links AS SELECT NULL::VARCHAR AS _part_id, "
          "NULL::UINTEGER AS parent_id, NULL::STRUCT(trace_id BLOB, span_id BLOB, "
          "trace_state VARCHAR, flags UINTEGER, attributes MAP(VARCHAR, VARCHAR), "
          "dropped_attributes_count UINTEGER)[] AS links WHERE false;\n";
    }
    sql_ += Fill(
        R"(CREATE OR REPLACE VIEW spans AS
SELECT r.start_time_unix_nano AS time, r.start_time_unix_nano AS start_time,
  make_timestamp_ns(epoch_ns(r.start_time_unix_nano) + r.duration_time_unix_nano) AS end_time,
  r.duration_time_unix_nano AS duration_ns, r.duration_time_unix_nano / 1e6 AS duration_ms,
  r.trace_id, r.span_id, r.parent_span_id, r.trace_state, r.flags, r.name, r.kind,
  r.status.code AS status_code, r.status.status_message AS status_message,
  a.attributes, coalesce(e.events, []) AS events, coalesce(l.links, []) AS links,
  r.dropped_attributes_count, r.dropped_events_count, r.dropped_links_count,
  ${rs}, r._part_id, r.id
FROM otap_roots_spans r
LEFT JOIN otap_attrs_span_attrs a ON a._part_id = r._part_id AND a.parent_id = r.id
LEFT JOIN otap_span_events e ON e._part_id = r._part_id AND e.parent_id = r.id
LEFT JOIN otap_span_links l ON l._part_id = r._part_id AND l.parent_id = r.id
${joins};
)",
        {{"rs", ResourceScopeColumns()}, {"joins", ResourceScopeJoins()}});
  }

  void MetricsViews() {
    sql_ += Fill(
        R"(CREATE OR REPLACE VIEW otap_metric_roots AS
SELECT r._part_id, r.id, r.name AS metric_name, r.description AS metric_description,
  r.unit AS metric_unit,
  CASE r.metric_type WHEN 1 THEN 'gauge' WHEN 2 THEN 'sum' WHEN 3 THEN 'histogram'
    WHEN 4 THEN 'exponential_histogram' WHEN 5 THEN 'summary' END AS metric_type,
  r.aggregation_temporality, r.is_monotonic, ma.attributes AS metric_metadata, ${rs}
FROM otap_roots_univariate_metrics r
LEFT JOIN otap_attrs_metric_attrs ma ON ma._part_id = r._part_id AND ma.parent_id = r.id
${joins};
)",
        {{"rs", ResourceScopeColumns()}, {"joins", ResourceScopeJoins()}});
    struct PointTable {
      std::string_view view, table, attrs, columns;
    };
    constexpr PointTable kPoints[] = {
        {"number_points", "number_data_points", "number_dp_attrs",
         "coalesce(p.double_value, CAST(p.int_value AS DOUBLE)) AS value, p.int_value, "
         "p.double_value, p.flags"},
        {"histogram_points", "histogram_data_points", "histogram_dp_attrs",
         "p.count, p.sum, p.min, p.max, p.bucket_counts, p.explicit_bounds, p.flags"},
        {"exp_histogram_points", "exp_histogram_data_points", "exp_histogram_dp_attrs",
         "p.count, p.sum, p.min, p.max, p.scale, p.zero_count, p.zero_threshold, "
         "p.positive, p.negative, p.flags"},
        {"summary_points", "summary_data_points", "summary_dp_attrs",
         "p.count, p.sum, p.quantile AS quantiles, p.flags"},
    };
    std::vector<std::string> present;
    for (const auto& points : kPoints) {
      if (!Has(points.table)) continue;
      present.emplace_back(points.view);
      sql_ += Fill(
          R"(CREATE OR REPLACE VIEW ${view} AS
SELECT p.time_unix_nano AS time, p.start_time_unix_nano AS start_time, m.metric_name,
  m.metric_type, m.metric_unit, m.metric_description, m.aggregation_temporality,
  m.is_monotonic, pa.attributes, ${columns}, m.metric_metadata, m.resource_schema_url,
  m.resource_attributes, m.service_name, m.scope_name, m.scope_version, m.scope_attributes,
  p._part_id, p.id, p.parent_id AS metric_id
FROM otap_raw_${table} p
JOIN otap_metric_roots m ON m._part_id = p._part_id AND m.id = p.parent_id
LEFT JOIN otap_attrs_${attrs} pa ON pa._part_id = p._part_id AND pa.parent_id = p.id;
)",
          {{"view", std::string(points.view)},
           {"table", std::string(points.table)},
           {"attrs", std::string(points.attrs)},
           {"columns", std::string(points.columns)}});
    }
    if (present.empty()) return;
    // Every data point with the columns the point types share (value: gauges and
    // sums; count, sum, min, max: histograms and summaries).
    sql_ += "CREATE OR REPLACE VIEW metrics AS\n";
    for (size_t i = 0; i < present.size(); ++i) {
      if (i) sql_ += "UNION ALL BY NAME\n";
      const bool number = present[i] == "number_points";
      const bool summary = present[i] == "summary_points";
      sql_ += fmt::format(
          "SELECT time, start_time, metric_name, metric_type, metric_unit, "
          "aggregation_temporality, is_monotonic, attributes, {}, {}, {}, "
          "resource_attributes, service_name, scope_name, scope_version, "
          "scope_attributes, _part_id, id, metric_id FROM {}\n",
          number ? "value" : "NULL::DOUBLE AS value",
          number ? "NULL::UBIGINT AS count, NULL::DOUBLE AS sum" : "count, sum",
          number || summary ? "NULL::DOUBLE AS min, NULL::DOUBLE AS max" : "min, max",
          present[i]);
    }
    sql_ += ";\n";
  }

  const SqlDatasetShape& shape_;
  std::string sql_;
};

std::string FileName(const std::string& uri) {
  const size_t slash = uri.find_last_of('/');
  return slash == std::string::npos ? uri : uri.substr(slash + 1);
}

arrow::Result<SqlDatasetShape> ShapeOf(const SqlCommandOptions& options) {
  std::string base;
  ARROW_ASSIGN_OR_RAISE(auto fs, OpenDataset(options.dataset, options.flags, &base));
  auto report = dataset::Inspect(fs, base, dataset::InspectOptions::Defaults());
  if (!report.ok()) {
    return report.status().WithMessage(options.dataset, ": ", report.status().message());
  }
  SqlDatasetShape shape;
  ARROW_ASSIGN_OR_RAISE(auto storage, dataset::StorageConfigFromUri(options.dataset));
  if (storage.kind == dataset::StorageKind::kFile) {
    std::string path = options.dataset.rfind("file://", 0) == 0
                           ? options.dataset.substr(7)
                           : options.dataset;
    shape.base = std::filesystem::absolute(path).lexically_normal().string();
  } else if (storage.kind == dataset::StorageKind::kS3) {
    shape.base = options.dataset;
    shape.s3_endpoint = options.flags.s3_endpoint;
    shape.s3_region = options.flags.s3_region;
    shape.allow_http = options.flags.allow_http;
  } else {
    return Status::NotImplemented(
        "sql: DuckDB views are generated for local and s3:// datasets only, not ",
        options.dataset);
  }
  while (shape.base.size() > 1 && shape.base.back() == '/') shape.base.pop_back();
  shape.unpartitioned = report->unpartitioned;
  std::map<std::string, std::set<std::string>> bad_by_table;
  auto add_table = [&](const dataset::TableInspection& t) {
    const std::string name(TableName(t.type));
    shape.tables.insert(name);
    auto upstream = t.writers.find("upstream");
    if (IsRoot(name) && upstream != t.writers.end() && upstream->second > 0) {
      shape.upstream_roots.insert(name);
    }
    // Absent from every file: missing in every schema variant.
    std::set<std::string> absent;
    for (size_t i = 0; i < t.variants.size(); ++i) {
      std::set<std::string> missing(t.variants[i].missing.begin(),
                                    t.variants[i].missing.end());
      if (i == 0) {
        absent = std::move(missing);
      } else {
        std::set<std::string> both;
        for (const auto& column : absent) {
          if (missing.count(column)) both.insert(column);
        }
        absent = std::move(both);
      }
    }
    if (!absent.empty()) shape.absent_columns[name] = std::move(absent);
  };
  for (const auto& s : report->signals) {
    for (const auto& t : s.tables) add_table(t);
  }
  for (const auto& t : report->shared) add_table(t);
  for (const auto& p : report->problems) {
    using Kind = dataset::InspectProblem::Kind;
    if (p.kind == Kind::kCorrupt || p.kind == Kind::kReadError) {
      shape.bad_files.push_back(p.uri);
      bad_by_table[p.table].insert(FileName(p.uri));
    }
    if (p.kind != Kind::kRecoveredColumn) continue;
    auto& files = shape.malformed_id_files[p.table];
    const std::string name = FileName(p.uri);
    if (files.empty() || files.back() != name) files.push_back(name);
  }
  for (const auto& [table, bad] : bad_by_table) {
    const std::string dir = dataset::JoinStoragePath(base, table);
    arrow::fs::FileSelector selector;
    selector.base_dir = dir;
    selector.recursive = true;
    ARROW_ASSIGN_OR_RAISE(auto infos, fs->GetFileInfo(selector));
    auto& files = shape.explicit_files[table];
    for (const auto& info : infos) {
      const std::string name = info.base_name();
      if (!info.IsFile() || name.front() == '.' || !name.ends_with(".parquet") ||
          bad.count(name) > 0) {
        continue;
      }
      files.push_back(shape.base + "/" + table + info.path().substr(dir.size()));
    }
    std::sort(files.begin(), files.end());
  }
  return shape;
}

}  // namespace

std::string DuckDbViews(const SqlDatasetShape& shape) {
  return ViewWriter(shape).Write();
}

arrow::Result<int> RunSql(const SqlCommandOptions& options, std::ostream& out) {
  ARROW_ASSIGN_OR_RAISE(auto shape, ShapeOf(options));
  const std::string sql = DuckDbViews(shape);
  if (!options.run && options.query.empty()) {
    out << sql;
    return 0;
  }
  std::vector<std::string> args = {options.duckdb, "-cmd", sql};
  if (!options.query.empty()) {
    args.push_back("-c");
    args.push_back(options.query);
  }
  std::vector<char*> argv;
  for (auto& arg : args) argv.push_back(arg.data());
  argv.push_back(nullptr);
  out.flush();
  std::cerr.flush();
  execvp(argv[0], argv.data());
  return Status::IOError(
      "sql: cannot run DuckDB's CLI '", options.duckdb,
      "' (install it or print the views without --run): ", std::strerror(errno));
}

}  // namespace otap_parquet::cli
