// SPDX-License-Identifier: Apache-2.0
#include "otap_parquet/cli/compact_command.h"

#include <chrono>
#include <cstdlib>
#include <iostream>
#include <memory>
#include <optional>

#include <fmt/format.h>

#include "otap_parquet/cli/progress.h"
#include "otap_parquet/cli/stop_at_hook.h"
#include "otap_parquet/config/units.h"
#include "otap_parquet/dataset/compaction.h"
#include "otap_parquet/storage/storage.h"

namespace otap_parquet::cli {

using arrow::Status;

namespace {

arrow::Result<std::chrono::milliseconds> Duration(const std::string& text,
                                                  std::string_view flag) {
  auto d = config::ParseDuration(text);
  if (!d.ok()) return d.status().WithMessage(flag, ": ", d.status().message());
  return std::chrono::duration_cast<std::chrono::milliseconds>(*d);
}

std::string_view CleanupName(dataset::CompactionCleanup::Kind kind) {
  using Kind = dataset::CompactionCleanup::Kind;
  switch (kind) {
    case Kind::kRemovedSuperseded:
      return "removed";
    case Kind::kWaiting:
      return "waiting";
    case Kind::kAbandoned:
      return "abandoned";
    case Kind::kPendingKept:
      return "pending";
    case Kind::kIncomplete:
      return "incomplete";
    case Kind::kAbandoning:
      return "abandoning";
  }
  return "";
}

}  // namespace

arrow::Result<int> RunCompact(const CompactCommandOptions& options, std::ostream& out) {
  dataset::CompactOptions compact;
  ARROW_ASSIGN_OR_RAISE(compact.older_than, Duration(options.older_than, "--older-than"));
  ARROW_ASSIGN_OR_RAISE(compact.grace, Duration(options.grace, "--grace"));
  auto target = config::ParseBytes(options.target_size);
  if (!target.ok() || *target <= 0) {
    return Status::Invalid("--target-size: expected a size such as 128MiB, got '",
                           options.target_size, "'");
  }
  ARROW_ASSIGN_OR_RAISE(auto selected, options.flags.ToOptions());
  compact.writer = selected.first;
  compact.writer.target_bytes_per_file = *target;
  if (options.row_group_size > 0) compact.writer.row_group_size = options.row_group_size;
  if (options.compression_level != 0) {
    compact.writer.compression_level = options.compression_level;
  }
  compact.writer.bloom_filter_columns = options.bloom_filter_columns;
  if (!options.dictionary_columns.empty()) {
    compact.writer.dictionary_columns = options.dictionary_columns;
  }
  auto valid = compact.writer.Validate();
  if (!valid.ok()) return valid;
  compact.partitions = options.partitions;
  compact.dry_run = options.dry_run;
  compact.fsync = !options.flags.no_fsync;
  // Tests: SIGSTOP at a named step (a run paused there while another runs; the test
  // sends SIGCONT, or SIGKILL for a crash there).
  compact.crash_hook = StopAtHook("OTAP_PARQUET_COMPACT_STOP_AT");
  // Tests: the reader's merge path for every partition (files of other writers).
  if (std::getenv("OTAP_PARQUET_COMPACT_MERGE")) compact.copy_own_files = false;
  ARROW_ASSIGN_OR_RAISE(auto progress_mode, ParseProgressMode(options.progress));
  std::string base;
  ARROW_ASSIGN_OR_RAISE(auto fs, OpenDataset(options.dataset, options.flags, &base));
  // Local disk: one run per dataset at a time (object stores: see operations.md).
  std::optional<dataset::CompactLock> lock;
  if (!options.dry_run && dataset::IsLocalFileSystem(*fs)) {
    ARROW_ASSIGN_OR_RAISE(lock, dataset::CompactLock::TryAcquire(base));
    if (!lock) {
      std::cerr << fmt::format(
          "compact {}: another compact is running on this dataset (it holds {}/{}); "
          "nothing done\n",
          options.dataset, base, dataset::kCompactLockName);
      return kCompactBusy;
    }
  }
  ProgressReporter progress(options.dry_run ? ProgressMode::kNever : progress_mode,
                            "compact", "files");
  compact.progress_total = progress.TotalCallback();
  compact.progress_done = progress.AddCallback();
  auto report = dataset::Compact(fs, base, compact);
  progress.Finish();
  if (!report.ok()) {
    return report.status().WithMessage(options.dataset, ": ", report.status().message());
  }
  for (const auto& r : report->results) {
    using Action = dataset::CompactionResult::Action;
    const std::string uri = dataset::DisplayUri(*fs, base);
    switch (r.action) {
      case Action::kCompacted:
        if (options.dry_run) {
          out << fmt::format("compact   {} files={} bytes={}: would compact\n",
                             r.partition, r.old_files, r.old_bytes);
        } else {
          out << fmt::format(
              "compacted {} files={} bytes={} rows={} -> {} files={} bytes={}\n",
              r.partition, r.old_files, r.old_bytes, r.rows, r.new_partition, r.new_files,
              r.new_bytes);
        }
        break;
      case Action::kSkipped:
        out << fmt::format("skipped   {} files={}: {}\n", r.partition, r.old_files,
                           r.detail);
        break;
      case Action::kProblem:
        out << fmt::format("refused   {} files={}: {}\n", r.partition, r.old_files,
                           r.detail);
        break;
    }
  }
  int64_t removed = 0, waiting = 0;
  // A dry run's work includes superseded files to remove and compactions to undo.
  bool cleanup_due = false;
  // A committed compaction with new files missing: its superseded files are kept.
  bool incomplete = false;
  for (const auto& c : report->cleanups) {
    using Kind = dataset::CompactionCleanup::Kind;
    if (c.kind == Kind::kIncomplete) incomplete = true;
    if (c.kind == Kind::kRemovedSuperseded || c.kind == Kind::kAbandoned) {
      cleanup_due = true;
    }
    if (c.kind == Kind::kRemovedSuperseded) removed += c.files;
    if (c.kind == Kind::kWaiting) waiting += c.files;
    out << fmt::format("{:<9} {} files={}{}\n", CleanupName(c.kind), c.partition, c.files,
                       c.kind == Kind::kIncomplete
                           ? ": committed but new files are missing; the superseded "
                             "files are kept (inspect --check)"
                       : c.kind == Kind::kAbandoning
                           ? ": committed while another run was undoing it; the "
                             "superseded files are kept until that run ends"
                       : options.dry_run && (c.kind == Kind::kRemovedSuperseded ||
                                             c.kind == Kind::kAbandoned)
                           ? " (dry run: would)"
                           : "");
  }
  out << fmt::format(
      "compact {}{}: {} partitions {}, {} refused; {} rows in {:.3f} CPU-s; {} "
      "superseded files {}, {} kept for the grace period {}\n",
      dataset::DisplayUri(*fs, base), options.dry_run ? " (dry run)" : "",
      report->compacted, options.dry_run ? "to compact" : "compacted", report->problems,
      report->rows, report->cpu_seconds, removed,
      options.dry_run ? "to remove" : "removed", waiting, options.grace);
  if (report->problems > 0 || incomplete) return kCompactProblems;
  if (options.dry_run && (report->compacted > 0 || cleanup_due)) return kCompactProblems;
  return kCompactOk;
}

}  // namespace otap_parquet::cli
