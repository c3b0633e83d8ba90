// SPDX-License-Identifier: Apache-2.0
#include "otap_parquet/dataset/discovery.h"

#include <sys/stat.h>

#include <algorithm>
#include <chrono>
#include <filesystem>
#include <mutex>
#include <optional>
#include <set>
#include <string_view>
#include <unordered_set>
#include <utility>

#include <spdlog/spdlog.h>

#include "otap_parquet/dataset/compaction.h"
#include "otap_parquet/storage/storage.h"

namespace otap_parquet::dataset {

namespace {

using arrow::Status;

constexpr std::string_view kParquetSuffix = ".parquet";
constexpr std::string_view kPartIdPrefix = "_part_id=";

// `_part_id` value from a relative partition path, or "".
std::string PartIdOf(std::string_view path) {
  size_t start = 0;
  while (start <= path.size()) {
    size_t end = path.find('/', start);
    if (end == std::string_view::npos) end = path.size();
    const auto segment = path.substr(start, end - start);
    if (segment.substr(0, kPartIdPrefix.size()) == kPartIdPrefix) {
      return std::string(segment.substr(kPartIdPrefix.size()));
    }
    start = end + 1;
  }
  return "";
}

struct TableListing {
  // relative directory → files (name order)
  std::map<std::string, std::vector<PlannedFile>> by_dir;
};

void WarnSkipped(const arrow::fs::FileSystem& fs, const std::string& path,
                 std::string_view reason);

TableListing ListTable(const std::shared_ptr<arrow::fs::FileSystem>& fs,
                       const std::string& table_dir, const TreeListing& tree,
                       const DiscoveryOptions& options,
                       std::chrono::system_clock::time_point now, DatasetPlan* plan) {
  plan->skipped_entries += tree.skipped_entries;
  TableListing listing;
  std::string prefix = table_dir;
  if (!prefix.empty() && prefix.back() != '/') prefix += '/';
  for (const auto& info : tree.files) {
    const std::string& path = info.path();
    if (!std::string_view(path).ends_with(kParquetSuffix)) {
      const size_t slash = path.rfind('/');
      const std::string_view name =
          std::string_view(path).substr(slash == std::string::npos ? 0 : slash + 1);
      if (name.find('=') != std::string_view::npos) {
        // Named like a partition directory (`_part_id=…`, `date=…`) but a file: data
        // that was meant to be there is not, say so.
        WarnSkipped(*fs, path, "a file where a partition directory is expected");
        ++plan->skipped_entries;
      } else {
        ++plan->ignored_files;  // temporary and staging files
      }
      continue;
    }
    if (options.min_file_age.count() > 0 && info.mtime() != arrow::fs::kNoTime) {
      const auto age =
          now -
          std::chrono::time_point_cast<std::chrono::system_clock::duration>(info.mtime());
      if (age < options.min_file_age) {
        ++plan->young_files;
        continue;
      }
    }
    std::string_view rel(path);
    if (rel.substr(0, prefix.size()) == prefix) rel.remove_prefix(prefix.size());
    const size_t slash = rel.rfind('/');
    const std::string dir =
        slash == std::string_view::npos ? "" : std::string(rel.substr(0, slash));
    listing.by_dir[dir].push_back(PlannedFile{path, info.size()});
  }
  for (auto& [dir, files] : listing.by_dir) {
    std::sort(files.begin(), files.end(),
              [](const PlannedFile& a, const PlannedFile& b) { return a.path < b.path; });
  }
  return listing;
}

arrow::Result<std::vector<arrow::fs::FileInfo>> ListDir(
    const std::shared_ptr<arrow::fs::FileSystem>& fs, const std::string& dir,
    bool recursive) {
  arrow::fs::FileSelector selector;
  selector.base_dir = dir;
  selector.recursive = recursive;
  selector.allow_not_found = true;  // a directory may vanish while we list
  auto infos = fs->GetFileInfo(selector);
  if (!infos.ok()) {
    return Status::IOError("listing ", DisplayUri(*fs, dir), ": ",
                           infos.status().message());
  }
  return std::move(infos).ValueUnsafe();
}

// Once per path and process: a polling receiver lists the dataset again and again
// (the count in DatasetPlan::skipped_entries still covers every listing).
void WarnSkipped(const arrow::fs::FileSystem& fs, const std::string& path,
                 std::string_view reason) {
  static std::mutex mutex;
  static std::unordered_set<std::string> warned;
  constexpr size_t kMaxRemembered = 10'000;
  std::string uri = DisplayUri(fs, path);
  {
    std::lock_guard<std::mutex> lock(mutex);
    if (warned.contains(uri)) return;
    if (warned.size() < kMaxRemembered) warned.insert(uri);
  }
  spdlog::warn("dataset.discovery.skip uri={} reason=\"{}\"", uri, reason);
}

}  // namespace

arrow::Result<TreeListing> ListTree(const std::shared_ptr<arrow::fs::FileSystem>& fs,
                                    const std::string& dir) {
  TreeListing out;
  if (!IsLocalFileSystem(*fs)) {
    // Object stores: no links, and one recursive listing is one request per 1000
    // keys. No stat of `dir` first: on S3 it costs up to three requests (HEAD of the
    // key, of the key and a slash, a listing), per table and listing round.
    ARROW_ASSIGN_OR_RAISE(auto infos, ListDir(fs, dir, /*recursive=*/true));
    for (auto& info : infos) {
      if (info.IsFile()) {
        out.files.push_back(std::move(info));
      } else if (!info.IsDirectory() && info.type() != arrow::fs::FileType::NotFound) {
        WarnSkipped(*fs, info.path(), "neither a file nor a directory");
        ++out.skipped_entries;
      }
    }
    std::sort(out.files.begin(), out.files.end(),
              [](const auto& a, const auto& b) { return a.path() < b.path(); });
    return out;
  }
  auto top = fs->GetFileInfo(dir);
  if (!top.ok()) {
    return Status::IOError("listing ", DisplayUri(*fs, dir), ": ",
                           top.status().message());
  }
  if (top->type() == arrow::fs::FileType::NotFound) return out;
  if (top->type() != arrow::fs::FileType::Directory) {
    WarnSkipped(*fs, dir, "not a directory");
    ++out.skipped_entries;
    return out;
  }
  {
    // Local disk: walk one directory at a time, lstat() each entry (Arrow stat()s,
    // following links), never descend into a directory symlink, and keep one path per
    // (device, inode) so that neither a link nor a hard link reads a file twice.
    std::set<std::pair<dev_t, ino_t>> seen;
    std::vector<arrow::fs::FileInfo> links;  // symlinks to files, after real files
    std::vector<std::string> pending{dir};
    auto keep = [&](arrow::fs::FileInfo info, const struct stat& st) {
      if (!seen.insert({st.st_dev, st.st_ino}).second) {
        WarnSkipped(*fs, info.path(), "same file as another path already listed");
        ++out.skipped_entries;
        return;
      }
      out.files.push_back(std::move(info));
    };
    while (!pending.empty()) {
      const std::string current = std::move(pending.back());
      pending.pop_back();
      ARROW_ASSIGN_OR_RAISE(auto infos, ListDir(fs, current, /*recursive=*/false));
      std::sort(infos.begin(), infos.end(),
                [](const auto& a, const auto& b) { return a.path() < b.path(); });
      // Reverse push keeps the walk in path order (a stack).
      std::vector<std::string> subdirs;
      for (auto& info : infos) {
        struct stat st {};
        if (lstat(info.path().c_str(), &st) != 0) continue;  // vanished meanwhile
        const bool link = S_ISLNK(st.st_mode);
        if (info.IsDirectory()) {
          if (link) {
            WarnSkipped(*fs, info.path(), "directory symlink, not followed");
            ++out.skipped_entries;
          } else {
            subdirs.push_back(info.path());
          }
        } else if (info.IsFile()) {
          if (link) {
            links.push_back(std::move(info));
          } else {
            keep(std::move(info), st);
          }
        } else if (info.type() != arrow::fs::FileType::NotFound) {
          WarnSkipped(*fs, info.path(), "neither a file nor a directory");
          ++out.skipped_entries;
        }
      }
      // Arrow's listing leaves out symlinks whose target is missing: find them here.
      std::error_code ec;
      for (std::filesystem::directory_iterator entry(current, ec), end;
           !ec && entry != end; entry.increment(ec)) {
        if (entry->is_symlink(ec) && !std::filesystem::exists(entry->path(), ec)) {
          WarnSkipped(*fs, entry->path().string(), "dangling symlink");
          ++out.skipped_entries;
        }
      }
      for (auto it = subdirs.rbegin(); it != subdirs.rend(); ++it) pending.push_back(*it);
    }
    for (auto& info : links) {
      struct stat st {};
      if (stat(info.path().c_str(), &st) != 0) continue;
      keep(std::move(info), st);
    }
  }
  std::sort(out.files.begin(), out.files.end(),
            [](const auto& a, const auto& b) { return a.path() < b.path(); });
  return out;
}

arrow::Result<std::vector<std::pair<PayloadType, TreeListing>>> ListTables(
    const std::shared_ptr<arrow::fs::FileSystem>& fs, const std::string& base,
    const std::vector<PayloadType>& tables, const std::string& partition) {
  // GCS lists a directory's children with a recursive listing (ListChildren): that
  // of the whole dataset would cost more than a listing per table.
  const bool prune = !IsLocalFileSystem(*fs) && fs->type_name() != "gcs";
  std::optional<std::set<std::string>> present;
  std::vector<std::pair<PayloadType, TreeListing>> out;
  for (PayloadType type : tables) {
    const std::string table(TableName(type));
    if (prune && !IsRoot(type) && !present) {
      // After the root tables: a writer publishes children before their roots, so a
      // child table a listed root file needs has its directory by now.
      ARROW_ASSIGN_OR_RAISE(auto children, ListChildren(*fs, base));
      present.emplace();
      for (const auto& child : children) {
        if (child.IsDirectory()) present->insert(child.base_name());
      }
    }
    if (present && !IsRoot(type) && !present->contains(table)) {
      out.emplace_back(type, TreeListing{});
      continue;
    }
    std::string dir = JoinStoragePath(base, table);
    if (!partition.empty()) dir = JoinStoragePath(dir, partition);
    ARROW_ASSIGN_OR_RAISE(auto tree, ListTree(fs, dir));
    out.emplace_back(type, std::move(tree));
  }
  return out;
}

Status DiscoveryOptions::Validate() const {
  if (signals.empty()) return Status::Invalid("discovery: no signals requested");
  if (min_file_age.count() < 0) {
    return Status::Invalid("discovery: min_file_age must be >= 0, got ",
                           min_file_age.count(), " ms");
  }
  return Status::OK();
}

const std::vector<PlannedFile>& PartitionPlan::FilesOf(PayloadType type) const {
  static const std::vector<PlannedFile> kEmpty;
  auto it = files.find(type);
  return it == files.end() ? kEmpty : it->second;
}

arrow::Result<DatasetPlan> Discover(const std::shared_ptr<arrow::fs::FileSystem>& fs,
                                    const std::string& base,
                                    const DiscoveryOptions& options) {
  ARROW_RETURN_NOT_OK(options.Validate());
  DatasetPlan plan;
  // Tables of the requested signals (resource/scope attrs are shared: list once).
  std::vector<PayloadType> tables;
  for (Signal signal : options.signals) {
    for (PayloadType type : PayloadTypesOf(signal)) {
      if (std::find(tables.begin(), tables.end(), type) == tables.end()) {
        tables.push_back(type);
      }
    }
  }
  // Root tables are listed first, all against one time: a writer publishes children
  // before roots, so every listed root file's children are listed too (listing a
  // child table first could miss children published just before their roots).
  std::stable_partition(tables.begin(), tables.end(),
                        [](PayloadType type) { return IsRoot(type); });
  const auto now = std::chrono::system_clock::now();
  std::map<PayloadType, TableListing> listings;
  ARROW_ASSIGN_OR_RAISE(auto trees, ListTables(fs, base, tables));
  for (const auto& [type, tree] : trees) {
    listings[type] =
        ListTable(fs, JoinStoragePath(base, TableName(type)), tree, options, now, &plan);
  }
  // Partitions: directories with root files.
  std::map<std::string, PartitionPlan> partitions;
  for (Signal signal : options.signals) {
    const PayloadType root = RootPayloadType(signal);
    for (const auto& [dir, files] : listings[root].by_dir) {
      auto& partition = partitions[dir];
      partition.path = dir;
      partition.part_id = PartIdOf(dir);
      if (std::find(partition.signals.begin(), partition.signals.end(), signal) ==
          partition.signals.end()) {
        partition.signals.push_back(signal);
      }
    }
  }
  for (auto& [type, listing] : listings) {
    for (auto& [dir, files] : listing.by_dir) {
      if (dir.empty()) plan.unpartitioned = true;
      auto it = partitions.find(dir);
      if (it == partitions.end()) {
        plan.unmatched_files += static_cast<int64_t>(files.size());
        continue;
      }
      it->second.files[type] = std::move(files);
    }
  }
  if (plan.unpartitioned) {
    options.log.Warn("discovery.unpartitioned",
                     "base={} (one id space for all files; exact only with one exporter "
                     "instance and no id rollover, Q13)",
                     base);
  }
  for (auto& [dir, partition] : partitions)
    plan.partitions.push_back(std::move(partition));
  // After the tables: a manifest read now describes at least the files listed (a
  // compaction committed meanwhile is applied only if every new file was listed).
  ARROW_RETURN_NOT_OK(ApplyCompactions(fs, base, tables, &plan));
  return plan;
}

}  // namespace otap_parquet::dataset
