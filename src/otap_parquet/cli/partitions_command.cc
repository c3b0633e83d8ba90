// SPDX-License-Identifier: Apache-2.0
#include "otap_parquet/cli/partitions_command.h"

#include <csignal>
#include <cstdlib>
#include <sstream>

#include <unistd.h>

#include <fmt/format.h>
#include <nlohmann/json.hpp>

#include "otap_parquet/cli/inspect_command.h"
#include "otap_parquet/cli/replay_commands.h"
#include "otap_parquet/config/time_bound.h"
#include "otap_parquet/dataset/partition_values.h"
#include "otap_parquet/storage/storage.h"

namespace otap_parquet::cli {

namespace {

using arrow::Status;
using dataset::PartitionInfo;
using nlohmann::ordered_json;

// A failed deletion (1) outranks partitions kept for a checkpoint (3).
int ExitCode(const dataset::RetentionReport& report) {
  if (report.failed() > 0) return kPartitionsError;
  return report.blocked() > 0 ? kPartitionsBlocked : kPartitionsOk;
}

ordered_json TimeJson(const dataset::TimeSpan& span) {
  if (!span.known()) return nullptr;
  return ordered_json{{"min", FormatTime(span.min, true)},
                      {"max", FormatTime(span.max, true)},
                      {"min_unix_nano", span.min},
                      {"max_unix_nano", span.max},
                      {"exact", span.exact}};
}

ordered_json PartitionJson(const PartitionInfo& p) {
  std::vector<std::string> signals;
  for (Signal s : p.stats.signals) signals.emplace_back(SignalName(s));
  ordered_json directory = nullptr;
  if (p.directory_time) {
    directory = {{"start", FormatTime(p.directory_time->first, false)},
                 {"end", FormatTime(p.directory_time->second, false)},
                 {"start_unix_nano", p.directory_time->first},
                 {"end_unix_nano", p.directory_time->second}};
  }
  const auto end = p.EventTimeEnd();
  ordered_json levels = ordered_json::object();
  for (const auto& [key, value] : dataset::PartitionLevels(p.stats.path)) {
    levels[key] = value ? ordered_json(*value) : ordered_json(nullptr);
  }
  return ordered_json{
      {"partition", p.stats.path},
      {"levels", std::move(levels)},
      {"part_id", p.stats.part_id},
      {"signals", signals},
      {"files", p.stats.files},
      {"bad_files", p.stats.bad_files},
      {"rows", p.stats.rows},
      {"records", p.stats.records},
      {"bytes", p.stats.bytes},
      {"event_time", TimeJson(p.stats.event_time)},
      {"directory_time", std::move(directory)},
      {"event_time_end_unix_nano", end ? ordered_json(*end) : ordered_json(nullptr)}};
}

std::string SignalsText(const PartitionInfo& p) {
  std::vector<std::string_view> names;
  for (Signal s : p.stats.signals) names.push_back(SignalName(s));
  return names.empty() ? "-" : fmt::format("{}", fmt::join(names, ","));
}

std::string TimeText(const PartitionInfo& p) {
  const auto& t = p.stats.event_time;
  if (!t.known()) return "-";
  return fmt::format("{} .. {}{}", FormatTime(t.min, false), FormatTime(t.max, false),
                     t.exact ? "" : " ~");
}

// Aligned columns; numbers right-aligned, the last column unpadded.
std::string Table(const std::vector<std::vector<std::string>>& rows,
                  const std::vector<bool>& numeric) {
  std::vector<size_t> widths(rows[0].size(), 0);
  for (const auto& row : rows) {
    for (size_t c = 0; c < row.size(); ++c)
      widths[c] = std::max(widths[c], row[c].size());
  }
  std::string out;
  for (const auto& row : rows) {
    for (size_t c = 0; c < row.size(); ++c) {
      if (c > 0) out += "  ";
      if (numeric[c]) {
        out += fmt::format("{:>{}}", row[c], widths[c]);
      } else {
        out += c + 1 == row.size() ? row[c] : fmt::format("{:<{}}", row[c], widths[c]);
      }
    }
    out += "\n";
  }
  return out;
}

}  // namespace

std::string PartitionListingJson(const dataset::PartitionListing& listing) {
  ordered_json partitions = ordered_json::array();
  int64_t files = 0, bytes = 0, records = 0;
  for (const auto& p : listing.partitions) {
    partitions.push_back(PartitionJson(p));
    files += p.stats.files;
    bytes += p.stats.bytes;
    records += p.stats.records;
  }
  ordered_json doc{{"format", "otap-parquet-partitions/1"},
                   {"dataset", listing.uri},
                   {"unpartitioned", listing.unpartitioned},
                   {"partitions_count", listing.partitions.size()},
                   {"files", files},
                   {"bytes", bytes},
                   {"records", records},
                   {"bad_files", listing.bad_files},
                   {"footers_read", listing.footers_read},
                   {"partitions", std::move(partitions)}};
  // File and partition names need not be UTF-8: U+FFFD, where dump() would throw.
  return doc.dump(2, ' ', false, ordered_json::error_handler_t::replace) + "\n";
}

std::string PartitionListingText(const dataset::PartitionListing& listing) {
  std::ostringstream out;
  int64_t files = 0, bytes = 0, records = 0;
  std::vector<std::vector<std::string>> rows;
  rows.push_back(
      {"PARTITION", "SIGNALS", "FILES", "RECORDS", "ROWS", "BYTES", "EVENT TIME (UTC)"});
  for (const auto& p : listing.partitions) {
    files += p.stats.files;
    bytes += p.stats.bytes;
    records += p.stats.records;
    std::string file_count = std::to_string(p.stats.files);
    if (p.stats.bad_files > 0) file_count += fmt::format(" ({} bad)", p.stats.bad_files);
    rows.push_back({p.stats.path.empty() ? "(unpartitioned)" : p.stats.path,
                    SignalsText(p), file_count, std::to_string(p.stats.records),
                    std::to_string(p.stats.rows), HumanBytes(p.stats.bytes),
                    TimeText(p)});
  }
  out << fmt::format("dataset {}: {} partition{}, {} files, {}, {} records\n",
                     listing.uri, listing.partitions.size(),
                     listing.partitions.size() == 1 ? "" : "s", files, HumanBytes(bytes),
                     records);
  if (rows.size() > 1) {
    out << Table(rows, {false, false, true, true, true, true, false});
  }
  return out.str();
}

std::string RetentionReportJson(const dataset::RetentionReport& report) {
  ordered_json selected = ordered_json::array();
  for (const auto& d : report.selected) {
    ordered_json entry = PartitionJson(d.partition);
    std::string action;
    if (d.deleted) {
      action = "deleted";
    } else if (!d.error.ok()) {
      action = "failed";
    } else if (!d.unfinished_by.empty() && !report.forced) {
      action = "kept-unfinished";
    } else {
      action = "would-delete";
    }
    entry["action"] = action;
    entry["unfinished_by"] = d.unfinished_by;
    entry["files_deleted"] = d.files_deleted;
    entry["files_kept"] = d.files_kept;
    if (!d.error.ok()) entry["error"] = d.error.message();
    selected.push_back(std::move(entry));
  }
  ordered_json doc{{"format", "otap-parquet-retention/1"},
                   {"dataset", report.uri},
                   {"applied", report.applied},
                   {"forced", report.forced},
                   {"selected", std::move(selected)},
                   {"kept", report.kept},
                   {"undetermined", report.undetermined},
                   {"unmatched", report.unmatched},
                   {"deleted_partitions", report.deleted_partitions()},
                   {"deleted_files", report.deleted_files()},
                   {"deleted_bytes", report.deleted_bytes()},
                   {"kept_files", report.kept_files()},
                   {"blocked", report.blocked()},
                   {"failed", report.failed()},
                   {"exit_code", ExitCode(report)}};
  // File and partition names need not be UTF-8: U+FFFD, where dump() would throw.
  return doc.dump(2, ' ', false, ordered_json::error_handler_t::replace) + "\n";
}

std::string RetentionReportText(const dataset::RetentionReport& report) {
  std::ostringstream out;
  int64_t to_delete = 0, bytes = 0, records = 0;
  for (const auto& d : report.selected) {
    std::string action;
    if (d.deleted) {
      action = fmt::format("deleted ({} files)", d.files_deleted);
      if (!d.files_kept.empty()) {
        action +=
            fmt::format("; kept {} file{} not in the listing (published since?): {}",
                        d.files_kept.size(), d.files_kept.size() == 1 ? "" : "s",
                        fmt::join(d.files_kept, ", "));
      }
    } else if (!d.error.ok()) {
      action = fmt::format("FAILED (partly deleted, run again): {}", d.error.message());
    } else if (!d.unfinished_by.empty() && !report.forced) {
      action =
          fmt::format("kept: replay not finished ({})", fmt::join(d.unfinished_by, ", "));
    } else {
      action = "would delete";
    }
    if ((d.unfinished_by.empty() || report.forced) && d.error.ok()) {
      ++to_delete;
      bytes += d.partition.stats.bytes;
      records += d.partition.stats.records;
    }
    out << fmt::format("{} records={} files={} bytes={} event_time={}: {}\n",
                       d.partition.stats.path, d.partition.stats.records,
                       d.partition.stats.files, d.partition.stats.bytes,
                       TimeText(d.partition), action);
  }
  for (const auto& path : report.undetermined) {
    out << fmt::format(
        "{}: kept: event time unknown (no date=/hour= directory and a "
        "file without time statistics); use --partition\n",
        path);
  }
  for (const auto& selector : report.unmatched) {
    out << fmt::format("--partition {}: matches no partition\n", selector);
  }
  out << fmt::format(
      "partitions delete {}{}: {} partition{} {} ({} records, {}), {} blocked by a "
      "replay checkpoint, {} kept\n",
      report.uri, report.applied ? "" : " (dry run)", to_delete,
      to_delete == 1 ? "" : "s", report.applied ? "deleted" : "to delete", records,
      HumanBytes(bytes), report.blocked(), report.kept);
  if (!report.applied && to_delete > 0) {
    out << "dry run: nothing deleted; run again with --apply to delete them\n";
  }
  if (report.kept_files() > 0) {
    out << fmt::format(
        "{} file{} found in deleted partitions after the listing kept (see above): "
        "only listed files are deleted\n",
        report.kept_files(), report.kept_files() == 1 ? "" : "s");
  }
  if (report.failed() > 0) {
    out << fmt::format("{} partition{} could not be deleted (see above); run again\n",
                       report.failed(), report.failed() == 1 ? "" : "s");
  }
  if (report.blocked() > 0) {
    out << "partitions a replay checkpoint has not finished are kept; --force deletes "
           "them too\n";
  }
  return out.str();
}

arrow::Result<int> RunPartitions(const PartitionsCommandOptions& options,
                                 std::ostream& out) {
  std::string base;
  ARROW_ASSIGN_OR_RAISE(auto fs, OpenDataset(options.dataset, options.flags, &base));
  auto listing = dataset::ListPartitions(fs, base);
  if (!listing.ok()) {
    return listing.status().WithMessage(options.dataset, ": ",
                                        listing.status().message());
  }
  out << (options.json ? PartitionListingJson(*listing) : PartitionListingText(*listing));
  return kPartitionsOk;
}

arrow::Result<int> RunPartitionsDelete(const PartitionsDeleteOptions& options,
                                       std::ostream& out, std::ostream& err) {
  // The command line alone is checked first: its errors are usage errors (2).
  auto usage = [&](const Status& status) {
    err << "error: " << status.message() << "\n";
    return kPartitionsUsage;
  };
  dataset::RetentionOptions retention;
  if (!options.before.empty()) {
    std::string text = options.before;
    // A plain date (`--before 2026-11-01`) is its midnight UTC.
    if (text.size() == 10 && text[4] == '-' && text[7] == '-') text += "T00:00:00Z";
    auto before = config::ParseTimeBound(text);
    if (!before.ok()) {
      return usage(before.status().WithMessage("--before: ", before.status().message()));
    }
    retention.before_unix_nano = *before;
  }
  retention.partitions = options.partitions;
  retention.apply = options.apply;
  retention.force = options.force;
  // Tests: SIGSTOP at a named step, its first time only (the test publishes a file,
  // then sends SIGCONT).
  if (const char* stop_at = std::getenv("OTAP_PARQUET_PARTITIONS_DELETE_STOP_AT")) {
    retention.test_hook = [point = std::string(stop_at)](std::string_view at) mutable {
      if (at != point) return;
      point.clear();
      ::kill(::getpid(), SIGSTOP);
    };
  }
  if (auto st = retention.Validate(); !st.ok()) return usage(st);
  std::string base;
  ARROW_ASSIGN_OR_RAISE(auto fs, OpenDataset(options.dataset, options.flags, &base));
  ARROW_ASSIGN_OR_RAISE(const auto settings, options.flags.ToStorageSettings());
  for (const auto& uri : options.checkpoints) {
    auto checkpoint = dataset::RetentionCheckpoint::Load(uri, settings);
    if (!checkpoint.ok()) {
      return checkpoint.status().WithMessage("--checkpoint: ",
                                             checkpoint.status().message());
    }
    retention.checkpoints.push_back(std::move(*checkpoint));
  }
  auto report = dataset::DeletePartitions(fs, base, retention);
  if (!report.ok()) {
    return report.status().WithMessage(options.dataset, ": ", report.status().message());
  }
  out << (options.json ? RetentionReportJson(*report) : RetentionReportText(*report));
  return ExitCode(*report);
}

}  // namespace otap_parquet::cli
