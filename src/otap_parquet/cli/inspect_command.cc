// SPDX-License-Identifier: Apache-2.0
#include "otap_parquet/cli/inspect_command.h"

#include <ctime>
#include <sstream>
#include <vector>

#include <fmt/format.h>
#include <nlohmann/json.hpp>

#include "otap_parquet/cli/progress.h"
#include "otap_parquet/config/units.h"
#include "otap_parquet/storage/storage.h"

namespace otap_parquet::cli {

namespace {

using arrow::Status;
using dataset::InspectReport;
using dataset::TableInspection;
using dataset::TimeSpan;
using nlohmann::ordered_json;

double PerRow(int64_t bytes, int64_t rows) {
  return rows > 0 ? static_cast<double>(bytes) / static_cast<double>(rows) : 0.0;
}

ordered_json TimeJson(const TimeSpan& span) {
  if (!span.known()) return nullptr;
  return ordered_json{{"min", FormatTime(span.min, true)},
                      {"max", FormatTime(span.max, true)},
                      {"min_unix_nano", span.min},
                      {"max_unix_nano", span.max},
                      {"exact", span.exact}};
}

ordered_json TableJson(const TableInspection& table) {
  ordered_json variants = ordered_json::array();
  for (const auto& v : table.variants) {
    variants.push_back({{"files", v.files},
                        {"canonical", v.canonical()},
                        {"missing", v.missing},
                        {"extra", v.extra},
                        {"dictionary", v.dictionary},
                        {"retyped", v.retyped}});
  }
  return ordered_json{
      {"table", std::string(TableName(table.type))},
      {"id_spaces", table.id_spaces},
      {"files", table.files},
      {"bad_files", table.bad_files},
      {"row_groups", table.row_groups},
      {"rows", table.rows},
      {"bytes", table.bytes},
      {"uncompressed_bytes", table.uncompressed_bytes},
      {"bytes_per_row", PerRow(table.bytes, table.rows)},
      {"codecs", table.codecs},
      {"writers", table.writers},
      {"created_by", table.created_by},
      {"time_column", table.time_column.empty() ? ordered_json(nullptr)
                                                : ordered_json(table.time_column)},
      {"time", TimeJson(table.time)},
      {"schema_variants", std::move(variants)}};
}

std::string Joined(const std::map<std::string, int64_t>& counts) {
  std::vector<std::string> names;
  for (const auto& [name, n] : counts) {
    if (n > 0) names.push_back(name);
  }
  return names.empty() ? "-" : fmt::format("{}", fmt::join(names, ","));
}

std::string TimeText(const TimeSpan& span) {
  if (!span.known()) return "-";
  return fmt::format("{} .. {}{}", FormatTime(span.min, false),
                     FormatTime(span.max, false), span.exact ? "" : " ~");
}

// Columns of the human table.
struct Row {
  std::vector<std::string> cells;
};

}  // namespace

std::string FormatTime(int64_t unix_nano, bool nanos) {
  int64_t seconds = unix_nano / 1'000'000'000;
  int64_t fraction = unix_nano % 1'000'000'000;
  if (fraction < 0) {
    fraction += 1'000'000'000;
    --seconds;
  }
  const auto t = static_cast<std::time_t>(seconds);
  std::tm tm{};
  gmtime_r(&t, &tm);
  std::string out =
      fmt::format("{:04}-{:02}-{:02}T{:02}:{:02}:{:02}", tm.tm_year + 1900, tm.tm_mon + 1,
                  tm.tm_mday, tm.tm_hour, tm.tm_min, tm.tm_sec);
  if (nanos) out += fmt::format(".{:09}", fraction);
  return out + "Z";
}

std::string HumanBytes(int64_t bytes) {
  constexpr const char* kUnits[] = {"B", "KiB", "MiB", "GiB", "TiB"};
  double value = static_cast<double>(bytes);
  int unit = 0;
  while (value >= 1024 && unit < 4) {
    value /= 1024;
    ++unit;
  }
  return unit == 0 ? fmt::format("{} B", bytes)
                   : fmt::format("{:.1f} {}", value, kUnits[unit]);
}

std::string InspectReportJson(const InspectReport& report) {
  ordered_json signals = ordered_json::array();
  for (const auto& s : report.signals) {
    ordered_json tables = ordered_json::array();
    for (const auto& t : s.tables) tables.push_back(TableJson(t));
    signals.push_back({{"signal", std::string(SignalName(s.signal))},
                       {"id_spaces", s.id_spaces},
                       {"records", s.records},
                       {"files", s.files},
                       {"bytes", s.bytes},
                       {"bytes_per_record", PerRow(s.bytes, s.records)},
                       {"event_time", TimeJson(s.event_time)},
                       {"tables", std::move(tables)}});
  }
  ordered_json shared = ordered_json::array();
  for (const auto& t : report.shared) shared.push_back(TableJson(t));
  ordered_json problems = ordered_json::array();
  for (const auto& p : report.problems) {
    problems.push_back({{"kind", std::string(dataset::InspectProblemName(p.kind))},
                        {"problem", p.is_problem()},
                        {"uri", p.uri},
                        {"table", p.table},
                        {"partition", p.partition},
                        {"detail", p.detail}});
  }
  using K = dataset::InspectProblem::Kind;
  ordered_json counts;
  for (K kind : {K::kCorrupt, K::kReadError, K::kIncompatible, K::kUnreadableColumn,
                 K::kRecoveredColumn, K::kIdCollision, K::kStaleTemp, K::kOrphanChild,
                 K::kPartialChild, K::kUnchecked, K::kDuplicateIds}) {
    counts[std::string(dataset::InspectProblemName(kind))] = report.Count(kind);
  }
  ordered_json check = nullptr;
  if (report.checked) {
    check = {{"partitions_checked", report.partitions_checked},
             {"files_checked", report.files_checked},
             {"in_flight", report.in_flight}};
  }
  ordered_json doc{
      {"format", "otap-parquet-inspect/1"},
      {"dataset", report.uri},
      {"id_spaces", report.id_spaces},
      {"unpartitioned", report.unpartitioned},
      {"files", report.files()},
      {"bytes", report.bytes()},
      {"records", report.records()},
      {"footers_read", report.footers_read},
      {"ignored_files", report.ignored_files},
      {"unmatched_files", report.unmatched_files},
      {"skipped_entries", report.skipped_entries},
      {"signals", std::move(signals)},
      {"shared_tables", std::move(shared)},
      {"check", std::move(check)},
      {"problem_counts", std::move(counts)},
      {"problems", std::move(problems)},
      {"exit_code", report.has_problems() ? kInspectProblems : kInspectClean}};
  // File and partition names need not be UTF-8: U+FFFD, where dump() would throw.
  return doc.dump(2, ' ', false, ordered_json::error_handler_t::replace) + "\n";
}

std::string InspectReportText(const InspectReport& report) {
  std::ostringstream out;
  out << fmt::format("dataset {}: {} id space{}{}, {} files, {}, {} records\n",
                     report.uri, report.id_spaces, report.id_spaces == 1 ? "" : "s",
                     report.unpartitioned ? " (unpartitioned)" : "", report.files(),
                     HumanBytes(report.bytes()), report.records());
  std::vector<Row> rows;
  rows.push_back({{"SIGNAL", "TABLE", "ID_SPACES", "FILES", "ROW_GROUPS", "ROWS", "BYTES",
                   "B/ROW", "CODECS", "WRITER", "SCHEMAS", "EVENT TIME (UTC)"}});
  auto add = [&](std::string_view signal, const TableInspection& t) {
    const int64_t variants = static_cast<int64_t>(t.variants.size());
    std::string schemas =
        variants == 1 && t.variants[0].canonical()
            ? "canonical"
            : fmt::format("{} variant{}", variants, variants == 1 ? "" : "s");
    std::string bad = t.bad_files > 0 ? fmt::format(" ({} bad)", t.bad_files) : "";
    rows.push_back({{std::string(signal), std::string(TableName(t.type)),
                     std::to_string(t.id_spaces), std::to_string(t.files) + bad,
                     std::to_string(t.row_groups), std::to_string(t.rows),
                     HumanBytes(t.bytes), fmt::format("{:.1f}", PerRow(t.bytes, t.rows)),
                     Joined(t.codecs), Joined(t.writers), schemas, TimeText(t.time)}});
  };
  for (const auto& s : report.signals) {
    for (const auto& t : s.tables) add(SignalName(s.signal), t);
  }
  for (const auto& t : report.shared) add("shared", t);
  if (rows.size() > 1) {
    std::vector<size_t> widths(rows[0].cells.size(), 0);
    for (const auto& row : rows) {
      for (size_t c = 0; c < row.cells.size(); ++c)
        widths[c] = std::max(widths[c], row.cells[c].size());
    }
    // Numbers right-aligned, text left-aligned; the last column unpadded.
    const std::vector<bool> numeric = {false, false, true,  true,  true,  true,
                                       true,  true,  false, false, false, false};
    for (const auto& row : rows) {
      std::string line;
      for (size_t c = 0; c < row.cells.size(); ++c) {
        if (c > 0) line += "  ";
        const bool last = c + 1 == row.cells.size();
        if (numeric[c]) {
          line += fmt::format("{:>{}}", row.cells[c], widths[c]);
        } else {
          line += last ? row.cells[c] : fmt::format("{:<{}}", row.cells[c], widths[c]);
        }
      }
      out << line << "\n";
    }
  }
  for (const auto& s : report.signals) {
    out << fmt::format(
        "{}: {} records in {} id space{}, {} files, {}, {:.1f} B/record{}\n",
        SignalName(s.signal), s.records, s.id_spaces, s.id_spaces == 1 ? "" : "s",
        s.files, HumanBytes(s.bytes), PerRow(s.bytes, s.records),
        s.event_time.known() ? ", event time " + TimeText(s.event_time) : std::string());
  }
  auto variants = [&](std::string_view signal, const TableInspection& t) {
    if (t.variants.size() == 1 && t.variants[0].canonical()) return;
    for (const auto& v : t.variants) {
      out << fmt::format("schema {} {}: {} file{}: {}\n", signal, TableName(t.type),
                         v.files, v.files == 1 ? "" : "s", v.ToString());
    }
  };
  for (const auto& s : report.signals) {
    for (const auto& t : s.tables) variants(SignalName(s.signal), t);
  }
  for (const auto& t : report.shared) variants("shared", t);
  if (report.unmatched_files > 0) {
    out << fmt::format(
        "{} child table files in directories without root files (not inspected; "
        "--check tells orphans from a flush in progress)\n",
        report.unmatched_files);
  }
  int64_t problems = 0;
  for (const auto& p : report.problems) {
    if (p.is_problem()) ++problems;
    out << fmt::format("{:<17} {}", dataset::InspectProblemName(p.kind), p.uri);
    if (!p.partition.empty()) out << " partition=" << p.partition;
    out << fmt::format(": {}\n", p.detail);
  }
  if (report.checked) {
    out << fmt::format(
        "check: {} partitions, {} files read; {} leftovers younger than the grace period "
        "(maybe a flush in progress)\n",
        report.partitions_checked, report.files_checked, report.in_flight);
  }
  out << fmt::format("{} problem{}{}\n", problems, problems == 1 ? "" : "s",
                     report.checked ? "" : " (footers only; --check reads the ids)");
  return out.str();
}

arrow::Result<int> RunInspect(const InspectCommandOptions& options, std::ostream& out) {
  auto grace = config::ParseDuration(options.grace_period);
  if (!grace.ok()) {
    return grace.status().WithMessage("--grace-period: ", grace.status().message());
  }
  ARROW_ASSIGN_OR_RAISE(auto progress_mode, ParseProgressMode(options.progress));
  std::string base;
  ARROW_ASSIGN_OR_RAISE(auto fs, OpenDataset(options.dataset, options.flags, &base));
  // Footers alone are quick: only the check (reading the ids) reports progress.
  ProgressReporter progress(options.check ? progress_mode : ProgressMode::kNever, "check",
                            "files");
  dataset::InspectOptions inspect;
  inspect.check = options.check;
  inspect.progress_total = progress.TotalCallback();
  inspect.progress_done = progress.AddCallback();
  inspect.grace_period = std::chrono::duration_cast<std::chrono::milliseconds>(*grace);
  auto report = dataset::Inspect(fs, base, inspect);
  progress.Finish();
  if (!report.ok()) {
    return report.status().WithMessage(options.dataset, ": ", report.status().message());
  }
  out << (options.json ? InspectReportJson(*report) : InspectReportText(*report));
  return report->has_problems() ? kInspectProblems : kInspectClean;
}

}  // namespace otap_parquet::cli
