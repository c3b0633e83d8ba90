// SPDX-License-Identifier: Apache-2.0
#include "otap_parquet/cli/repair_command.h"

#include <chrono>

#include <fmt/format.h>

#include "otap_parquet/cli/progress.h"
#include "otap_parquet/config/units.h"
#include "otap_parquet/dataset/repair.h"
#include "otap_parquet/storage/storage.h"

namespace otap_parquet::cli {

using arrow::Status;

arrow::Result<int> RunRepair(const RepairCommandOptions& options, std::ostream& out) {
  auto grace = config::ParseDuration(options.grace_period);
  if (!grace.ok()) {
    return grace.status().WithMessage("--grace-period: ", grace.status().message());
  }
  ARROW_ASSIGN_OR_RAISE(auto progress_mode, ParseProgressMode(options.progress));
  std::string base;
  ARROW_ASSIGN_OR_RAISE(auto fs, OpenDataset(options.dataset, options.flags, &base));
  ProgressReporter progress(progress_mode, "repair", "files");
  dataset::RepairOptions repair;
  repair.progress_total = progress.TotalCallback();
  repair.progress_done = progress.AddCallback();
  repair.grace_period = std::chrono::duration_cast<std::chrono::milliseconds>(*grace);
  repair.apply = options.apply;
  auto report = dataset::Repair(fs, base, repair);
  progress.Finish();
  if (!report.ok()) {
    return report.status().WithMessage(options.dataset, ": ", report.status().message());
  }
  int64_t temps = 0, orphans = 0, orphan_rows = 0;
  for (const auto& f : report->findings) {
    using Kind = dataset::RepairFinding::Kind;
    std::string action;
    if (f.removed) {
      action = "removed";
    } else if (f.compact_running) {
      action = "kept (a compact is running)";
    } else if (f.within_grace) {
      action = "kept (younger than the grace period)";
    } else if (f.kind == Kind::kStaleTemp || f.kind == Kind::kOrphanChild ||
               f.kind == Kind::kAbandonMarker) {
      action = "would remove";
    } else {
      action = "kept (check it)";
    }
    // Young files are counted as kept (within_grace) only, as young temporary files
    // are: maybe a flush still publishing, not leftovers yet.
    if (f.kind == Kind::kStaleTemp && !f.within_grace) ++temps;
    if (f.kind == Kind::kOrphanChild && !f.within_grace) {
      ++orphans;
      orphan_rows += f.rows;
    }
    out << fmt::format("{:<13} {}", dataset::RepairKindName(f.kind), f.uri);
    if (!f.partition.empty()) out << fmt::format(" partition={}", f.partition);
    if (f.kind == Kind::kOrphanChild || f.kind == Kind::kPartialChild) {
      out << fmt::format(" rows={}", f.rows);
    }
    if (f.kind == Kind::kPartialChild) {
      out << fmt::format(" orphan_rows={}", f.orphan_rows);
    }
    if (f.kind == Kind::kDuplicateIds) {
      out << fmt::format(" rows={} duplicate_ids={}", f.rows, f.duplicate_ids);
    }
    if (!f.detail.empty()) out << fmt::format(" detail=\"{}\"", f.detail);
    out << fmt::format(": {}\n", action);
  }
  // Only when there are some: the summary's beginning stays what scripts match.
  std::string markers;
  if (report->stale_abandon_markers > 0) {
    markers = fmt::format(", {} stale abandon markers", report->stale_abandon_markers);
    if (options.apply) {
      markers += fmt::format(" (their compactions finished: {} files removed)",
                             report->compaction_files_removed);
    }
  }
  out << fmt::format(
      "repair {}{}: {} partitions, {} files checked; {} stale temporary files, {} orphan "
      "child files ({} rows){}; {} removable, {} removed; {} younger than the grace "
      "period {} kept; {} need attention\n",
      dataset::DisplayUri(*fs, base), options.apply ? "" : " (dry run)",
      report->partitions_checked, report->files_checked, temps, orphans, orphan_rows,
      markers, report->removable, report->removed, report->within_grace,
      options.grace_period, report->attention);
  if (!options.apply && report->removable > 0) {
    out << "dry run: nothing removed; run again with --apply to remove them\n";
  }
  const bool left = report->removable > report->removed;
  return left || report->attention > 0 ? kRepairFindings : kRepairClean;
}

}  // namespace otap_parquet::cli
