// SPDX-License-Identifier: Apache-2.0
#include "otap_parquet/dataset/retention.h"

#include <algorithm>
#include <ctime>
#include <filesystem>
#include <functional>
#include <system_error>

#include <fmt/format.h>

#include "otap_parquet/dataset/compaction.h"
#include "otap_parquet/schema/payload_type.h"

namespace otap_parquet::dataset {

namespace {

using arrow::Status;
using PT = PayloadType;

constexpr int64_t kNanosPerSecond = 1'000'000'000;

std::vector<std::string> Segments(const std::string& path) {
  std::vector<std::string> out;
  size_t start = 0;
  while (start <= path.size()) {
    size_t slash = path.find('/', start);
    if (slash == std::string::npos) slash = path.size();
    if (slash > start) out.push_back(path.substr(start, slash - start));
    start = slash + 1;
  }
  return out;
}

bool AllDigits(std::string_view text) {
  return !text.empty() && std::all_of(text.begin(), text.end(),
                                      [](char c) { return c >= '0' && c <= '9'; });
}

// Tables in deletion order: roots first (a partition without root files is no
// partition for the reader), then the others in payload type order, which puts
// every table before its children (data points before their attributes and
// exemplars, exemplars before theirs, spans' events and links before theirs).
std::vector<PT> DeletionOrder() {
  std::vector<PT> roots = {PT::kLogs, PT::kSpans, PT::kUnivariateMetrics,
                           PT::kMultivariateMetrics};
  std::vector<PT> order = roots;
  for (int v = 1; v < kPayloadTypeSlots; ++v) {
    const auto type = static_cast<PT>(v);
    if (TableName(type).empty() || TableName(type) == "unknown") continue;
    if (std::find(order.begin(), order.end(), type) != order.end()) continue;
    if (!PayloadTypeFromTableName(TableName(type))) continue;
    order.push_back(type);
  }
  return order;
}

using util::TestHook;

// Removes `dir` when it holds nothing, then its parents up to (excluding) `stop`:
// local disk only. On object stores a directory is its marker object (which Arrow's
// DeleteFile recreates for the parent of the file it deletes) and the only way Arrow
// removes one is DeleteDir, which deletes every object under the prefix: a file a
// writer published after our listing would go with it. The markers stay; readers
// ignore them (a partition is its root files).
Status RemoveEmptyParents(arrow::fs::FileSystem& fs, std::string dir,
                          const std::string& stop, const TestHook& hook) {
  hook("directories");
  if (!IsLocalFileSystem(fs)) return Status::OK();
  while (dir.size() > stop.size() && dir.rfind(stop, 0) == 0) {
    // rmdir: fails (and stops) when a writer has put something there meanwhile.
    std::error_code ec;
    if (!std::filesystem::remove(dir, ec) || ec) return Status::OK();
    const size_t slash = dir.find_last_of('/');
    if (slash == std::string::npos) break;
    dir.resize(slash);
  }
  return Status::OK();
}

// The tables with a directory under `base`, in deletion order (one listing, not a
// request per table and partition).
arrow::Result<std::vector<PT>> TablesPresent(arrow::fs::FileSystem& fs,
                                             const std::string& base) {
  ARROW_ASSIGN_OR_RAISE(auto entries, ListChildren(fs, base));
  std::vector<PT> out;
  for (PT type : DeletionOrder()) {
    for (const auto& entry : entries) {
      if (entry.type() == arrow::fs::FileType::Directory &&
          entry.base_name() == TableName(type)) {
        out.push_back(type);
        break;
      }
    }
  }
  return out;
}

// Deletes the files a committed compaction superseded and has not deleted yet: once
// the compacted partition is gone they would be read again (their records replayed
// a second time). Before the compacted partition, which hides them meanwhile.
arrow::Result<int64_t> DeleteSuperseded(arrow::fs::FileSystem& fs,
                                        const std::string& base,
                                        const std::vector<PT>& tables,
                                        const CompactionManifest& manifest,
                                        const TestHook& hook) {
  int64_t removed = 0;
  if (manifest.old_files_removed) return removed;
  for (PT type : tables) {
    auto files = manifest.old_files.find(std::string(TableName(type)));
    if (files == manifest.old_files.end()) continue;
    const std::string table_dir = base + "/" + std::string(TableName(type));
    const std::string dir = table_dir + "/" + manifest.supersedes;
    for (const auto& file : files->second) {
      const std::string path = dir + "/" + file.name;
      // Whether it is gone already is asked only when the delete fails (a HEAD
      // before every delete costs a request per file on object stores).
      auto st = fs.DeleteFile(path);
      if (!st.ok()) {
        auto gone = fs.GetFileInfo(path);
        if (gone.ok() && gone->type() == arrow::fs::FileType::NotFound) continue;
        return st.WithMessage("cannot delete superseded file ", DisplayUri(fs, path),
                              ": ", st.message());
      }
      ++removed;
    }
    ARROW_RETURN_NOT_OK(RemoveEmptyParents(fs, dir, table_dir, hook));
  }
  return removed;
}

// What DeleteOne removed and found.
struct DeleteOutcome {
  int64_t removed = 0;
  std::vector<std::string> kept;
};

// Deletes the listed files of one partition, every table's (see the header for the
// order), and then its directories that are empty. Only the files the listing judged
// expired (`listed`): a file published into the partition after that listing (a
// writer's late record, or one still being written) stays and is returned in `kept`
// with anything else left there (temporary files: `repair`), never a whole prefix.
arrow::Result<DeleteOutcome> DeleteOne(arrow::fs::FileSystem& fs, const std::string& base,
                                       const std::vector<PT>& tables,
                                       const std::string& path,
                                       const std::vector<std::string>& listed,
                                       const CompactionManifest* compaction,
                                       const TestHook& hook) {
  DeleteOutcome out;
  if (compaction) {
    ARROW_ASSIGN_OR_RAISE(out.removed,
                          DeleteSuperseded(fs, base, tables, *compaction, hook));
  }
  for (PT type : tables) {
    const std::string table_dir = base + "/" + std::string(TableName(type));
    const std::string dir = table_dir + "/" + path;
    // Local disk: a file where the partition's directory should be is an error. On
    // object stores a directory is a key prefix, which the listing below reads
    // (allow_not_found); a stat of it would cost S3 up to three requests more.
    if (IsLocalFileSystem(fs)) {
      auto info = fs.GetFileInfo(dir);
      if (!info.ok()) {
        return info.status().WithMessage("cannot stat ", DisplayUri(fs, dir), ": ",
                                         info.status().message());
      }
      if (info->type() == arrow::fs::FileType::NotFound) continue;
      if (info->type() != arrow::fs::FileType::Directory) {
        return Status::IOError("partition ", path, " of table ", TableName(type),
                               " is not a directory: ", DisplayUri(fs, dir));
      }
    }
    const std::string prefix = dir + "/";
    for (const auto& file : listed) {
      if (file.rfind(prefix, 0) != 0) continue;
      auto st = fs.DeleteFile(file);
      if (!st.ok()) {
        // Gone meanwhile (another retention pass, a compaction's cleanup): fine.
        auto gone = fs.GetFileInfo(file);
        if (gone.ok() && gone->type() == arrow::fs::FileType::NotFound) continue;
        return st.WithMessage("cannot delete ", DisplayUri(fs, file), " of partition ",
                              path, ": ", st.message());
      }
      ++out.removed;
    }
    // What is left: files published after the listing (kept, reported) and the
    // directories, removed deepest first when empty (local disk; object stores keep
    // their markers: RemoveEmptyParents).
    arrow::fs::FileSelector selector;
    selector.base_dir = dir;
    selector.recursive = true;
    selector.allow_not_found = true;
    ARROW_ASSIGN_OR_RAISE(auto entries, fs.GetFileInfo(selector));
    std::vector<std::string> subdirs;
    for (const auto& entry : entries) {
      if (entry.type() == arrow::fs::FileType::File) {
        out.kept.push_back(entry.path());
      } else if (entry.type() == arrow::fs::FileType::Directory) {
        subdirs.push_back(entry.path());
      }
    }
    std::sort(subdirs.begin(), subdirs.end(), std::greater<>());  // children first
    for (const auto& sub : subdirs) {
      ARROW_RETURN_NOT_OK(
          RemoveEmptyParents(fs, sub, sub.substr(0, sub.rfind('/')), hook));
    }
    ARROW_RETURN_NOT_OK(RemoveEmptyParents(fs, dir, table_dir, hook));
  }
  return out;
}

}  // namespace

std::optional<std::pair<int64_t, int64_t>> DirectoryTimeRange(const std::string& path) {
  std::optional<std::tm> day;
  int hour = -1;
  for (const auto& segment : Segments(path)) {
    if (segment.rfind("date=", 0) == 0) {
      const std::string value = segment.substr(5);
      if (value.size() != 10 || value[4] != '-' || value[7] != '-' ||
          !AllDigits(value.substr(0, 4)) || !AllDigits(value.substr(5, 2)) ||
          !AllDigits(value.substr(8, 2))) {
        return std::nullopt;
      }
      std::tm tm{};
      tm.tm_year = std::stoi(value.substr(0, 4)) - 1900;
      tm.tm_mon = std::stoi(value.substr(5, 2)) - 1;
      tm.tm_mday = std::stoi(value.substr(8, 2));
      if (tm.tm_mon < 0 || tm.tm_mon > 11 || tm.tm_mday < 1 || tm.tm_mday > 31) {
        return std::nullopt;
      }
      day = tm;
    } else if (segment.rfind("hour=", 0) == 0) {
      const std::string value = segment.substr(5);
      if (value.empty() || value.size() > 2 || !AllDigits(value)) return std::nullopt;
      hour = std::stoi(value);
      if (hour > 23) return std::nullopt;
    }
  }
  if (!day) return std::nullopt;
  std::tm tm = *day;
  const int64_t seconds = static_cast<int64_t>(timegm(&tm));
  // A day at or after 2262-04-11 does not fit int64 nanoseconds: no known range
  // (never pruned by a time range) rather than an overflow.
  if (seconds > INT64_MAX / kNanosPerSecond - 86'400) return std::nullopt;
  const int64_t start = seconds * kNanosPerSecond;
  if (hour < 0) return std::pair{start, start + 86'400 * kNanosPerSecond};
  const int64_t hour_start = start + int64_t{hour} * 3'600 * kNanosPerSecond;
  return std::pair{hour_start, hour_start + 3'600 * kNanosPerSecond};
}

std::optional<int64_t> PartitionInfo::EventTimeEnd() const {
  std::optional<int64_t> end;
  if (directory_time) end = directory_time->second;
  const TimeSpan& t = stats.event_time;
  if (t.max_exact && t.known()) {
    // Both bound every record; the later one if they disagree (a foreign layout).
    end = end ? std::max(*end, t.max + 1) : t.max + 1;
  } else if (!t.max_exact && !directory_time) {
    return std::nullopt;
  }
  // Footers without any event time and no directory: unknown (end stays nullopt).
  return end;
}

arrow::Result<PartitionListing> ListPartitions(
    const std::shared_ptr<arrow::fs::FileSystem>& fs, const std::string& base,
    int parallelism) {
  InspectOptions inspect;
  inspect.per_partition = true;
  inspect.parallelism = parallelism;
  ARROW_ASSIGN_OR_RAISE(auto report, Inspect(fs, base, inspect));
  PartitionListing listing;
  listing.uri = report.uri;
  listing.unpartitioned = report.unpartitioned;
  listing.footers_read = report.footers_read;
  for (auto& stats : report.partitions) {
    PartitionInfo info;
    info.directory_time = DirectoryTimeRange(stats.path);
    listing.bad_files += stats.bad_files;
    info.stats = std::move(stats);
    listing.partitions.push_back(std::move(info));
  }
  return listing;
}

arrow::Result<RetentionCheckpoint> RetentionCheckpoint::Load(
    const std::string& uri, const StorageConfig& storage_settings) {
  // The directory's file system (a file path given to FileSystemFromUri would be
  // taken as a dataset directory).
  const size_t slash = uri.find_last_of('/');
  std::string dir = slash == std::string::npos ? "." : uri.substr(0, slash);
  if (dir.empty()) dir = "/";
  const std::string name = slash == std::string::npos ? uri : uri.substr(slash + 1);
  if (name.empty()) return Status::Invalid("checkpoint ", uri, " names a directory");
  ARROW_ASSIGN_OR_RAISE(auto storage, StorageConfigFromUri(dir));
  if (storage.kind == StorageKind::kFile) {
    std::string local = dir.rfind("file://", 0) == 0 ? dir.substr(7) : dir;
    if (!std::filesystem::is_directory(local)) {
      return Status::Invalid("no checkpoint at ", uri, " (no directory ", dir, ")");
    }
  }
  std::string path;
  ARROW_ASSIGN_OR_RAISE(auto fs, FileSystemFromUri(dir, storage_settings, &path));
  CheckpointStore store(fs, path + "/" + name);
  ARROW_ASSIGN_OR_RAISE(auto loaded, store.Load());
  if (!loaded) return Status::Invalid("no checkpoint at ", store.display());
  RetentionCheckpoint out;
  out.name = store.display();
  out.checkpoint = std::move(*loaded);
  // receiver:parquet names a shard's checkpoint <path>.shard-K-of-N.
  const size_t at = name.rfind(".shard-");
  if (at != std::string::npos) {
    int index = 0, count = 0;
    char tail = 0;
    if (std::sscanf(name.c_str() + at, ".shard-%d-of-%d%c", &index, &count, &tail) == 2 &&
        count > 0 && index >= 0 && index < count) {
      out.shard = Shard{index, count};
    }
  }
  return out;
}

bool RetentionCheckpoint::SupersededFinished(const PartitionInfo& partition,
                                             Signal signal) const {
  const auto& compaction = partition.stats.compaction;
  if (!compaction) return false;
  auto unit = checkpoint.units.find(ReplayUnit{signal, compaction->supersedes});
  if (unit == checkpoint.units.end()) return false;
  auto files =
      compaction->old_files.find(std::string(TableName(RootPayloadType(signal))));
  if (files == compaction->old_files.end() || files->second.empty()) return false;
  return std::all_of(files->second.begin(), files->second.end(), [&](const auto& file) {
    return unit->second.files_done.contains(file.name);
  });
}

bool RetentionCheckpoint::Finished(const PartitionInfo& partition) const {
  const std::string& path = partition.stats.path;
  if (shard && !PartitionAssigned(path, *shard, 0, 1)) return true;
  for (Signal signal : partition.stats.signals) {
    auto unit = checkpoint.units.find(ReplayUnit{signal, path});
    if (unit == checkpoint.units.end()) {
      // A compacted partition without progress of its own: the reader goes by the
      // progress in the partition it supersedes and skips it when every superseded
      // root file is done (ResumeCompacted), so it never gets a unit of its own.
      if (!SupersededFinished(partition, signal)) return false;
      continue;
    }
    auto files = partition.stats.root_files.find(signal);
    if (files == partition.stats.root_files.end()) continue;
    for (const auto& file : files->second) {
      if (!unit->second.files_done.count(file)) return false;
    }
  }
  return true;
}

Status RetentionOptions::Validate() const {
  if (!before_unix_nano && partitions.empty()) {
    return Status::Invalid("partitions delete: give --before or --partition");
  }
  for (const auto& p : partitions) {
    if (p.empty() || p.front() == '/' || p.find("..") != std::string::npos) {
      return Status::Invalid("partitions delete: not a partition path: '", p, "'");
    }
  }
  if (parallelism < 1) {
    return Status::Invalid("partitions delete: parallelism must be >= 1");
  }
  return Status::OK();
}

bool PartitionMatches(const std::string& path, const std::string& selector) {
  const auto want = Segments(selector);
  // A compaction (`_part_id=<uuid>.c<hex>`) holds the records of the id space it
  // superseded: a selector of that one (a failed `convert` names it) selects it too.
  for (const auto& candidate : {path, ShardKeyOf(path)}) {
    const auto have = Segments(candidate);
    if (want.empty() || want.size() > have.size()) continue;
    if (std::equal(want.begin(), want.end(), have.begin())) return true;
    // `_part_id=<uuid>` alone names the id space wherever its level is.
    if (want.size() == 1 && want[0].rfind("_part_id=", 0) == 0 &&
        std::find(have.begin(), have.end(), want[0]) != have.end()) {
      return true;
    }
  }
  return false;
}

int64_t RetentionReport::deleted_partitions() const {
  return std::count_if(selected.begin(), selected.end(),
                       [](const RetentionDecision& d) { return d.deleted; });
}

int64_t RetentionReport::deleted_files() const {
  int64_t n = 0;
  for (const auto& d : selected) n += d.files_deleted;
  return n;
}

int64_t RetentionReport::deleted_bytes() const {
  int64_t n = 0;
  for (const auto& d : selected) {
    if (d.deleted) n += d.partition.stats.bytes;
  }
  return n;
}

int64_t RetentionReport::kept_files() const {
  int64_t n = 0;
  for (const auto& d : selected) n += static_cast<int64_t>(d.files_kept.size());
  return n;
}

int64_t RetentionReport::blocked() const {
  return std::count_if(selected.begin(), selected.end(), [&](const RetentionDecision& d) {
    return !d.unfinished_by.empty() && !forced;
  });
}

int64_t RetentionReport::failed() const {
  return std::count_if(selected.begin(), selected.end(),
                       [](const RetentionDecision& d) { return !d.error.ok(); });
}

arrow::Result<RetentionReport> DeletePartitions(
    const std::shared_ptr<arrow::fs::FileSystem>& fs, const std::string& base,
    const RetentionOptions& options) {
  ARROW_RETURN_NOT_OK(options.Validate());
  ARROW_ASSIGN_OR_RAISE(auto listing, ListPartitions(fs, base, options.parallelism));
  RetentionReport report;
  report.uri = listing.uri;
  report.applied = options.apply;
  report.forced = options.force;
  for (const auto& ck : options.checkpoints) {
    if (!ck.checkpoint.dataset.empty() && ck.checkpoint.dataset != listing.uri) {
      return Status::Invalid("checkpoint ", ck.name, " belongs to dataset ",
                             ck.checkpoint.dataset, ", not ", listing.uri);
    }
  }
  std::vector<bool> matched(options.partitions.size(), false);
  for (auto& partition : listing.partitions) {
    const std::string& path = partition.stats.path;
    bool selected = true;
    if (!options.partitions.empty()) {
      bool any = false;
      for (size_t i = 0; i < options.partitions.size(); ++i) {
        if (PartitionMatches(path, options.partitions[i])) {
          matched[i] = true;
          any = true;
        }
      }
      selected = any;
    }
    if (selected && options.before_unix_nano) {
      const auto end = partition.EventTimeEnd();
      if (!end) {
        report.undetermined.push_back(path);
        selected = false;
      } else if (*end > *options.before_unix_nano) {
        selected = false;
      }
    }
    // The unpartitioned layout's one id space is the whole table: never by partition.
    if (path.empty()) selected = false;
    if (std::find(options.exclude_part_ids.begin(), options.exclude_part_ids.end(),
                  partition.stats.part_id) != options.exclude_part_ids.end()) {
      selected = false;
    }
    if (!selected) {
      ++report.kept;
      continue;
    }
    RetentionDecision decision;
    for (const auto& ck : options.checkpoints) {
      if (!ck.Finished(partition)) decision.unfinished_by.push_back(ck.name);
    }
    decision.partition = std::move(partition);
    report.selected.push_back(std::move(decision));
  }
  for (size_t i = 0; i < options.partitions.size(); ++i) {
    if (!matched[i]) report.unmatched.push_back(options.partitions[i]);
  }
  if (!options.apply) return report;
  options.test_hook("listed");
  ARROW_ASSIGN_OR_RAISE(const auto tables, TablesPresent(*fs, base));
  for (auto& decision : report.selected) {
    if (!decision.unfinished_by.empty() && !options.force) continue;
    auto outcome =
        DeleteOne(*fs, base, tables, decision.partition.stats.path,
                  decision.partition.stats.file_paths,
                  decision.partition.stats.compaction.get(), options.test_hook);
    if (!outcome.ok()) {
      // Earlier partitions stay deleted and later ones are still due: go on.
      decision.error = outcome.status();
      continue;
    }
    decision.files_deleted = outcome->removed;
    decision.files_kept = std::move(outcome->kept);
    decision.deleted = true;
  }
  return report;
}

}  // namespace otap_parquet::dataset
