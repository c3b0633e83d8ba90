// SPDX-License-Identifier: Apache-2.0
#include "otap_parquet/dataset/repair.h"

#include <fcntl.h>
#include <sys/file.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <charconv>
#include <cstring>
#include <deque>
#include <future>
#include <map>
#include <optional>
#include <set>
#include <unordered_set>
#include <utility>

#include <arrow/array.h>
#include <arrow/chunked_array.h>
#include <arrow/io/interfaces.h>
#include <arrow/memory_pool.h>
#include <arrow/type.h>
#include <arrow/util/key_value_metadata.h>
#include <arrow/visit_type_inline.h>
#include <fmt/format.h>
#include <parquet/arrow/reader.h>
#include <parquet/exception.h>
#include <spdlog/spdlog.h>

#include "otap_parquet/dataset/compaction.h"
#include "otap_parquet/dataset/discovery.h"
#include "otap_parquet/dataset/parquet_errors.h"
#include "otap_parquet/dataset/replay_checkpoint.h"
#include "otap_parquet/storage/storage.h"

namespace otap_parquet::dataset {

using arrow::Status;
using Clock = std::chrono::system_clock;

namespace {

constexpr std::string_view kTempPrefix = ".part-";
constexpr std::string_view kTempSuffix = ".parquet.tmp";
constexpr std::string_view kParquetSuffix = ".parquet";
// Files whose ids are read at once (Repair).
constexpr size_t kReadAhead = 8;

// Path of `path` relative to `dir` (which it is under), without the file name.
std::string RelativeDir(const std::string& dir, const std::string& path) {
  std::string_view rel(path);
  std::string prefix = dir;
  if (!prefix.empty() && prefix.back() != '/') prefix += '/';
  if (rel.substr(0, prefix.size()) == prefix) rel.remove_prefix(prefix.size());
  const size_t slash = rel.rfind('/');
  return slash == std::string_view::npos ? "" : std::string(rel.substr(0, slash));
}

// Every table of every signal, all roots first (multivariate_metrics too: its
// `resource.id` / `scope.id` are parents of the resource and scope attributes),
// then each parent before its children.
std::vector<PayloadType> AllTables() {
  std::vector<PayloadType> tables;
  for (Signal signal : {Signal::kLogs, Signal::kTraces, Signal::kMetrics}) {
    for (PayloadType type : PayloadTypesOf(signal)) {
      if (std::find(tables.begin(), tables.end(), type) == tables.end()) {
        tables.push_back(type);
      }
    }
  }
  std::stable_partition(tables.begin(), tables.end(),
                        [](PayloadType type) { return IsRoot(type); });
  return tables;
}

bool OlderThan(const arrow::fs::FileInfo& info, std::chrono::milliseconds age,
               Clock::time_point now) {
  if (info.mtime() == arrow::fs::kNoTime) return age.count() == 0;
  const auto mtime = std::chrono::time_point_cast<Clock::duration>(info.mtime());
  return now - mtime >= age;
}

Status Remove(const std::shared_ptr<arrow::fs::FileSystem>& fs, const std::string& path) {
  Status st = fs->DeleteFile(path);
  if (!st.ok()) {
    return Status::IOError("removing ", DisplayUri(*fs, path), ": ", st.message());
  }
  return Status::OK();
}

// Remove, where a file already gone counts as removed: retention, a compaction or
// another repair may have deleted it since the listing (gone is what we wanted).
Status RemoveUnlessGone(const std::shared_ptr<arrow::fs::FileSystem>& fs,
                        const std::string& path) {
  Status st = Remove(fs, path);
  if (st.ok()) return st;
  auto info = fs->GetFileInfo(path);
  if (info.ok() && info->type() == arrow::fs::FileType::NotFound) return Status::OK();
  return st;
}

// Counts a removable leftover and, with apply, removes it.
Status RemoveFinding(const std::shared_ptr<arrow::fs::FileSystem>& fs,
                     const std::string& path, const RepairOptions& options,
                     RepairFinding& finding, RepairReport& report) {
  ++report.removable;
  if (!options.apply) return Status::OK();
  ARROW_RETURN_NOT_OK(RemoveUnlessGone(fs, path));
  finding.removed = true;
  ++report.removed;
  return Status::OK();
}

// Integer values of an id column (any integer type; nulls as nullopt).
struct IdColumn {
  std::vector<uint64_t> values;  ///< non-null values
  int64_t nulls = 0;
  /// UInt16: upstream's `resource.id` / `scope.id`, which are not offset per batch
  /// while the attributes' `parent_id` are (quirk Q1): not comparable by value.
  bool uint16 = false;
};

Status AppendIds(const arrow::Array& array, IdColumn* out) {
  auto append = [&](auto const& typed) {
    out->values.reserve(out->values.size() + static_cast<size_t>(typed.length()));
    for (int64_t i = 0; i < typed.length(); ++i) {
      if (typed.IsNull(i)) {
        ++out->nulls;
      } else {
        out->values.push_back(static_cast<uint64_t>(typed.Value(i)));
      }
    }
  };
  switch (array.type_id()) {
    case arrow::Type::UINT8:
      append(static_cast<const arrow::UInt8Array&>(array));
      break;
    case arrow::Type::UINT16:
      out->uint16 = true;
      append(static_cast<const arrow::UInt16Array&>(array));
      break;
    case arrow::Type::UINT32:
      append(static_cast<const arrow::UInt32Array&>(array));
      break;
    case arrow::Type::UINT64:
      append(static_cast<const arrow::UInt64Array&>(array));
      break;
    case arrow::Type::INT32:
      append(static_cast<const arrow::Int32Array&>(array));
      break;
    case arrow::Type::INT64:
      append(static_cast<const arrow::Int64Array&>(array));
      break;
    case arrow::Type::DICTIONARY: {
      const auto& dict = static_cast<const arrow::DictionaryArray&>(array);
      const auto& values = *dict.dictionary();
      IdColumn decoded;
      ARROW_RETURN_NOT_OK(AppendIds(values, &decoded));
      if (decoded.nulls > 0) return Status::TypeError("id dictionary with nulls");
      for (int64_t i = 0; i < dict.length(); ++i) {
        if (dict.IsNull(i)) {
          ++out->nulls;
        } else {
          const auto index = static_cast<size_t>(dict.GetValueIndex(i));
          if (index >= decoded.values.size()) {
            return Status::Invalid("id dictionary index out of range");
          }
          out->values.push_back(decoded.values[index]);
        }
      }
      break;
    }
    default:
      return Status::TypeError("id column of type ", array.type()->ToString());
  }
  return Status::OK();
}

// The key columns of one table file.
struct FileKeys {
  int64_t rows = 0;
  /// When our writer finished the file (kFinishedMetadataKey), if it says.
  std::optional<Clock::time_point> finished;
  std::optional<IdColumn> id, parent_id, resource_id, scope_id;
};

arrow::Result<std::optional<IdColumn>> ReadKey(parquet::arrow::FileReader* reader,
                                               const arrow::Schema& schema,
                                               std::string_view name,
                                               std::string_view struct_field = {}) {
  const int index = schema.GetFieldIndex(std::string(name));
  if (index < 0) return std::nullopt;
  std::shared_ptr<arrow::ChunkedArray> column;
  ARROW_RETURN_NOT_OK(reader->ReadColumn(index, &column));
  IdColumn out;
  for (const auto& chunk : column->chunks()) {
    std::shared_ptr<arrow::Array> array = chunk;
    if (!struct_field.empty()) {
      if (array->type_id() != arrow::Type::STRUCT) {
        return Status::TypeError("column ", name, " is not a struct");
      }
      const auto& structs = static_cast<const arrow::StructArray&>(*array);
      auto child = structs.GetFieldByName(std::string(struct_field));
      if (child == nullptr) return std::nullopt;
      // A null struct has no id, whatever its child holds.
      ARROW_ASSIGN_OR_RAISE(
          array, structs.GetFlattenedField(
                     structs.struct_type()->GetFieldIndex(std::string(struct_field))));
    }
    ARROW_RETURN_NOT_OK(AppendIds(*array, &out));
  }
  return out;
}

arrow::Result<FileKeys> ReadKeys(const std::shared_ptr<arrow::fs::FileSystem>& fs,
                                 const arrow::fs::FileInfo& info, PayloadType type) {
  const std::string& path = info.path();
  return CatchParquet(path, [&]() -> arrow::Result<FileKeys> {
    ARROW_ASSIGN_OR_RAISE(auto input, OpenListedFile(*fs, path, info.size()));
    ARROW_ASSIGN_OR_RAISE(auto reader,
                          parquet::arrow::OpenFile(input, arrow::default_memory_pool()));
    std::shared_ptr<arrow::Schema> schema;
    ARROW_RETURN_NOT_OK(reader->GetSchema(&schema));
    FileKeys keys;
    const auto& metadata = *reader->parquet_reader()->metadata();
    keys.rows = metadata.num_rows();
    if (const auto& kv = metadata.key_value_metadata()) {
      auto finished = kv->Get(kFinishedMetadataKey);
      int64_t ms = 0;
      if (finished.ok() &&
          std::from_chars(finished->data(), finished->data() + finished->size(), ms).ec ==
              std::errc()) {
        keys.finished = Clock::time_point(std::chrono::milliseconds(ms));
      }
    }
    ARROW_ASSIGN_OR_RAISE(keys.id, ReadKey(reader.get(), *schema, "id"));
    if (IsRoot(type)) {
      ARROW_ASSIGN_OR_RAISE(keys.resource_id,
                            ReadKey(reader.get(), *schema, "resource", "id"));
      ARROW_ASSIGN_OR_RAISE(keys.scope_id, ReadKey(reader.get(), *schema, "scope", "id"));
      if (!keys.id) return Status::Invalid("root table file without an id column");
    } else {
      ARROW_ASSIGN_OR_RAISE(keys.parent_id, ReadKey(reader.get(), *schema, "parent_id"));
      if (!keys.parent_id) return Status::Invalid("child table file without parent_id");
    }
    return keys;
  });
}

struct TableFile {
  arrow::fs::FileInfo info;
  PayloadType type = PayloadType::kUnknown;
};

// Tables whose ids a child of `type` refers to: its parent table, or for resource
// and scope attributes every root table.
std::vector<PayloadType> ParentTables(PayloadType type) {
  if (type == PayloadType::kResourceAttrs || type == PayloadType::kScopeAttrs) {
    return {PayloadType::kLogs, PayloadType::kSpans, PayloadType::kUnivariateMetrics,
            PayloadType::kMultivariateMetrics};
  }
  for (Signal signal : {Signal::kLogs, Signal::kTraces, Signal::kMetrics}) {
    if (auto parent = ParentOf(type, signal)) return {*parent};
  }
  return {};
}

}  // namespace

bool IsWriterTempFileName(std::string_view name) {
  return name.size() > kTempPrefix.size() + kTempSuffix.size() &&
         name.substr(0, kTempPrefix.size()) == kTempPrefix &&
         std::string_view(name).ends_with(kTempSuffix);
}

TempFileLock::~TempFileLock() {
  if (fd_ >= 0) ::close(fd_);
}

TempFileLock::TempFileLock(TempFileLock&& other) noexcept
    : fd_(std::exchange(other.fd_, -1)) {}

TempFileLock& TempFileLock::operator=(TempFileLock&& other) noexcept {
  if (this != &other) {
    if (fd_ >= 0) ::close(fd_);
    fd_ = std::exchange(other.fd_, -1);
  }
  return *this;
}

arrow::Result<TempFileLock> TempFileLock::Acquire(const std::string& path) {
  const int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) {
    return Status::IOError("opening ", path, " to lock it: ", std::strerror(errno));
  }
  if (::flock(fd, LOCK_SH | LOCK_NB) != 0) {
    const int error = errno;
    ::close(fd);
    return Status::IOError("locking ", path, ": ", std::strerror(error));
  }
  return TempFileLock(fd);
}

bool TempFileLock::IsHeld(const std::string& path) {
  const int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) return false;
  // flock locks belong to open file descriptions: this probe conflicts with a lock
  // of any other descriptor, in this process too.
  const bool held = ::flock(fd, LOCK_EX | LOCK_NB) != 0 && errno == EWOULDBLOCK;
  ::close(fd);
  return held;
}

arrow::Result<TempCleanupResult> CleanStaleTempFiles(
    const std::shared_ptr<arrow::fs::FileSystem>& fs, const std::string& base,
    std::chrono::milliseconds min_age, bool apply, Clock::time_point now) {
  TempCleanupResult result;
  const bool local = IsLocalFileSystem(*fs);
  for (PayloadType type : AllTables()) {
    ARROW_ASSIGN_OR_RAISE(auto tree,
                          ListTree(fs, JoinStoragePath(base, TableName(type))));
    for (const auto& info : tree.files) {
      if (!IsWriterTempFileName(BaseName(info.path()))) continue;
      if (!OlderThan(info, min_age, now) ||
          (local && TempFileLock::IsHeld(info.path()))) {
        ++result.in_use;
        continue;
      }
      if (!apply) {
        result.stale.push_back(info.path());
        continue;
      }
      Status removed = Remove(fs, info.path());
      if (!removed.ok()) {
        // Every core's writer cleans at start: another one may have removed it
        // since the listing. Gone is what we wanted; anything else is an error.
        auto now_info = fs->GetFileInfo(info.path());
        if (now_info.ok() && now_info->type() == arrow::fs::FileType::NotFound) continue;
        return removed;
      }
      result.stale.push_back(info.path());
      ++result.removed;
    }
  }
  return result;
}

Status RepairOptions::Validate() const {
  if (grace_period.count() < 0) {
    return Status::Invalid("repair: grace period must be >= 0, got ",
                           grace_period.count(), " ms");
  }
  return Status::OK();
}

std::string_view RepairKindName(RepairFinding::Kind kind) {
  switch (kind) {
    case RepairFinding::Kind::kStaleTemp:
      return "stale-temp";
    case RepairFinding::Kind::kOrphanChild:
      return "orphan-child";
    case RepairFinding::Kind::kPartialChild:
      return "partial-child";
    case RepairFinding::Kind::kUnchecked:
      return "unchecked";
    case RepairFinding::Kind::kDuplicateIds:
      return "duplicate-ids";
    case RepairFinding::Kind::kAbandonMarker:
      return "abandon-marker";
  }
  return "?";
}

namespace {

// What finishing the compaction of a removed abandon marker did, for its finding.
std::string DescribeFinish(const std::optional<CompactionCleanup>& cleanup) {
  using Kind = CompactionCleanup::Kind;
  if (!cleanup) return "its undo had ended (no manifest left)";
  switch (cleanup->kind) {
    case Kind::kRemovedSuperseded:
      return fmt::format("compaction committed: {} superseded files removed",
                         cleanup->files);
    case Kind::kWaiting:
      return fmt::format(
          "compaction committed: {} superseded files kept for the grace period "
          "(compact removes them)",
          cleanup->files);
    case Kind::kAbandoned:
      return fmt::format("compaction pending: undone, {} new files removed",
                         cleanup->files);
    case Kind::kPendingKept:
      return "compaction pending, younger than the grace period: kept";
    case Kind::kIncomplete:
      return fmt::format(
          "compaction committed but new files are missing: the {} superseded files "
          "are kept (inspect --check)",
          cleanup->files);
    case Kind::kAbandoning:
      return "another run is undoing the compaction: superseded files kept";
  }
  return "";
}

// Stale abandon markers (CleanStaleAbandonMarkers), with the grace period as
// compact's --grace.
Status RepairAbandonMarkers(const std::shared_ptr<arrow::fs::FileSystem>& fs,
                            const std::string& base, const RepairOptions& options,
                            Clock::time_point now, RepairReport& report) {
  CompactOptions compact;
  compact.grace = options.grace_period;
  compact.dry_run = !options.apply;
  compact.clock = [now] { return now; };
  ARROW_ASSIGN_OR_RAISE(auto markers, CleanStaleAbandonMarkers(fs, base, compact));
  for (auto& marker : markers) {
    RepairFinding finding;
    finding.kind = RepairFinding::Kind::kAbandonMarker;
    finding.uri = DisplayUri(*fs, marker.path);
    finding.table = std::string(kCompactionsDir);
    if (!marker.stale || marker.compact_running) {
      finding.within_grace = true;
      if (marker.compact_running) {
        finding.compact_running = true;
        finding.detail =
            fmt::format("a compact is running (it holds {})", kCompactLockName);
      }
      ++report.within_grace;
      report.findings.push_back(std::move(finding));
      continue;
    }
    ++report.stale_abandon_markers;
    ++report.removable;
    if (marker.removed) {
      finding.removed = true;
      ++report.removed;
      finding.detail = DescribeFinish(marker.cleanup);
      if (marker.cleanup) {
        finding.partition = marker.cleanup->partition;
        using Kind = CompactionCleanup::Kind;
        if (marker.cleanup->kind == Kind::kRemovedSuperseded ||
            marker.cleanup->kind == Kind::kAbandoned) {
          report.compaction_files_removed += marker.cleanup->files;
        }
        if (marker.cleanup->kind == Kind::kIncomplete) ++report.attention;
      }
    } else {
      finding.detail = "then its compaction is finished as compact would";
    }
    report.findings.push_back(std::move(finding));
  }
  return Status::OK();
}

}  // namespace

// Whether a root table's directory of `partition` holds a Parquet file that the
// listing (`listed`) did not.
arrow::Result<bool> RootPublishedSinceListing(
    const std::shared_ptr<arrow::fs::FileSystem>& fs, const std::string& base,
    const std::string& partition, const std::vector<TableFile>& listed) {
  std::set<std::string> known;
  for (const auto& file : listed) {
    if (IsRoot(file.type)) known.insert(file.info.path());
  }
  for (PayloadType type : AllTables()) {
    if (!IsRoot(type)) continue;
    const std::string dir =
        JoinStoragePath(JoinStoragePath(base, TableName(type)), partition);
    ARROW_ASSIGN_OR_RAISE(auto tree, ListTree(fs, dir));
    for (const auto& info : tree.files) {
      const std::string name(BaseName(info.path()));
      if (info.path().find('/', dir.size() + 1) != std::string::npos) continue;
      if (!name.ends_with(kParquetSuffix) || name.front() == '.') continue;
      if (!known.contains(info.path())) return true;
    }
  }
  return false;
}

arrow::Result<RepairReport> Repair(const std::shared_ptr<arrow::fs::FileSystem>& fs,
                                   const std::string& base,
                                   const RepairOptions& options) {
  ARROW_RETURN_NOT_OK(options.Validate());
  const Clock::time_point now = options.clock ? options.clock() : Clock::now();
  const bool local = IsLocalFileSystem(*fs);
  RepairReport report;
  // First: finishing their compactions deletes files, which the listing below must
  // not name any more.
  if (!options.partition_filter) {
    ARROW_RETURN_NOT_OK(RepairAbandonMarkers(fs, base, options, now, report));
  }

  // partition path → table files (any directory order: the whole relative path is
  // the partition, the same under every table).
  std::map<std::string, std::vector<TableFile>> partitions;
  ARROW_ASSIGN_OR_RAISE(auto trees, ListTables(fs, base, AllTables()));
  for (auto& [type, tree] : trees) {
    const std::string table_dir = JoinStoragePath(base, TableName(type));
    for (auto& info : tree.files) {
      const std::string name(BaseName(info.path()));
      const std::string partition = RelativeDir(table_dir, info.path());
      if (options.partition_filter && !options.partition_filter(partition)) continue;
      if (IsWriterTempFileName(name)) {
        RepairFinding finding;
        finding.kind = RepairFinding::Kind::kStaleTemp;
        finding.uri = DisplayUri(*fs, info.path());
        finding.table = std::string(TableName(type));
        finding.partition = partition;
        // A live writer's file (locked, or young) is no finding at all.
        if (!OlderThan(info, options.grace_period, now) ||
            (local && TempFileLock::IsHeld(info.path()))) {
          ++report.within_grace;
          continue;
        }
        ARROW_RETURN_NOT_OK(RemoveFinding(fs, info.path(), options, finding, report));
        report.findings.push_back(std::move(finding));
        continue;
      }
      if (!std::string_view(name).ends_with(kParquetSuffix) || name.front() == '.')
        continue;
      partitions[partition].push_back(TableFile{std::move(info), type});
    }
  }

  // A compact killed between writing a manifest's temporary file and its rename
  // (local disk) leaves the temporary file in `_compactions/`. Not when checking
  // chosen partitions (compact's own orphan check).
  if (!options.partition_filter) {
    const std::string dir = JoinStoragePath(base, kCompactionsDir);
    ARROW_ASSIGN_OR_RAISE(auto children, ListChildren(*fs, dir));
    for (const auto& info : children) {
      if (!info.IsFile() || !IsSmallFileTempName(BaseName(info.path()))) continue;
      if (!OlderThan(info, options.grace_period, now)) {  // a compact writing it now
        ++report.within_grace;
        continue;
      }
      RepairFinding finding;
      finding.kind = RepairFinding::Kind::kStaleTemp;
      finding.uri = DisplayUri(*fs, info.path());
      finding.table = std::string(kCompactionsDir);
      ARROW_RETURN_NOT_OK(RemoveFinding(fs, info.path(), options, finding, report));
      report.findings.push_back(std::move(finding));
    }
  }

  // Tables whose ids some child refers to (only their ids are kept).
  std::set<PayloadType> parent_tables;
  for (PayloadType type : AllTables()) {
    for (PayloadType parent : ParentTables(type)) parent_tables.insert(parent);
  }
  if (options.progress_total) {
    int64_t files = 0, bytes = 0;
    for (const auto& [partition, table_files] : partitions) {
      for (const auto& f : table_files) {
        ++files;
        bytes += std::max<int64_t>(f.info.size(), 0);
      }
    }
    options.progress_total(files, bytes);
  }
  for (auto& [partition, files] : partitions) {
    ++report.partitions_checked;
    // One file at a time, parents first; nothing is removed until every file of the
    // partition was read: an unreadable file leaves the partition unchecked (an
    // unreadable parent would make its children look orphaned).
    std::map<PayloadType, std::unordered_set<uint64_t>> ids;
    std::unordered_set<uint64_t> resource_ids, scope_ids;
    // Upstream roots (Q1): their resource/scope attributes cannot be checked by id.
    bool upstream_roots = false;
    std::optional<RepairFinding> unchecked;
    std::vector<RepairFinding> found;
    std::vector<std::string> to_remove;
    auto add_ids = [](const std::optional<IdColumn>& column,
                      std::unordered_set<uint64_t>* out) {
      if (column) out->insert(column->values.begin(), column->values.end());
    };
    // Parents first; the next files' ids are read ahead in parallel (on an object
    // store each read waits for several requests), a bounded number at a time.
    std::vector<const TableFile*> order;
    for (PayloadType type : AllTables()) {
      for (const TableFile& table_file : files) {
        if (table_file.type == type) order.push_back(&table_file);
      }
    }
    std::deque<std::future<arrow::Result<FileKeys>>> reads;
    size_t next_read = 0;
    for (const TableFile* next : order) {
      while (next_read < order.size() && reads.size() < kReadAhead) {
        const TableFile* ahead = order[next_read++];
        reads.push_back(std::async(std::launch::async, [&fs, ahead] {
          return ReadKeys(fs, ahead->info, ahead->type);
        }));
      }
      auto read = reads.front().get();
      reads.pop_front();
      const TableFile& table_file = *next;
      const PayloadType type = table_file.type;
      ++report.files_checked;
      if (options.progress_done) {
        options.progress_done(1, std::max<int64_t>(table_file.info.size(), 0));
      }
      const std::string& path = table_file.info.path();
      if (!read.ok()) {
        unchecked = RepairFinding{};
        unchecked->kind = RepairFinding::Kind::kUnchecked;
        unchecked->uri = DisplayUri(*fs, path);
        unchecked->table = std::string(TableName(type));
        unchecked->partition = partition;
        unchecked->detail = read.status().message();
        break;
      }
      const FileKeys& file = *read;
      const bool keep_ids = parent_tables.contains(type);
      if (IsRoot(type)) {
        int64_t duplicates = 0;
        if (file.id) {
          auto& seen = ids[type];
          for (uint64_t id : file.id->values) {
            if (!seen.insert(id).second) ++duplicates;
          }
        }
        if (duplicates > 0) {
          RepairFinding finding;
          finding.kind = RepairFinding::Kind::kDuplicateIds;
          finding.uri = DisplayUri(*fs, path);
          finding.table = std::string(TableName(type));
          finding.partition = partition;
          finding.rows = file.rows;
          finding.duplicate_ids = duplicates;
          finding.detail = "ids already used in this id space; kept";
          found.push_back(std::move(finding));
        }
        add_ids(file.resource_id, &resource_ids);
        add_ids(file.scope_id, &scope_ids);
        for (const auto* column : {&file.resource_id, &file.scope_id}) {
          if (*column && (*column)->uint16) upstream_roots = true;
        }
        continue;
      }
      const bool shared_attrs =
          type == PayloadType::kResourceAttrs || type == PayloadType::kScopeAttrs;
      if (shared_attrs && upstream_roots) continue;
      std::vector<const std::unordered_set<uint64_t>*> parent_ids;
      if (type == PayloadType::kResourceAttrs) {
        parent_ids = {&resource_ids};
      } else if (type == PayloadType::kScopeAttrs) {
        parent_ids = {&scope_ids};
      } else {
        for (PayloadType parent : ParentTables(type)) parent_ids.push_back(&ids[parent]);
      }
      int64_t matched = 0;
      for (uint64_t value : file.parent_id->values) {
        for (const auto* set : parent_ids) {
          if (set->contains(value)) {
            ++matched;
            break;
          }
        }
      }
      const auto total =
          static_cast<int64_t>(file.parent_id->values.size()) + file.parent_id->nulls;
      if (matched == total) {
        if (keep_ids) add_ids(file.id, &ids[type]);
        continue;
      }
      RepairFinding finding;
      finding.uri = DisplayUri(*fs, path);
      finding.table = std::string(TableName(type));
      finding.partition = partition;
      finding.rows = file.rows;
      finding.orphan_rows = total - matched;
      if (matched > 0) {
        // Some rows join: never removed; its joinable rows' children stay valid.
        finding.kind = RepairFinding::Kind::kPartialChild;
        finding.detail = "some rows have no parent; kept";
        if (keep_ids) add_ids(file.id, &ids[type]);
        found.push_back(std::move(finding));
        continue;
      }
      finding.kind = RepairFinding::Kind::kOrphanChild;
      // On an object store the modification time of a multipart upload is its
      // start: the writer's finish time, when later, tells a file a live writer
      // just completed (its root follows) from a crashed flush's leftover. (On
      // local disk the modification time is the last write, before the rename.)
      const bool young =
          !OlderThan(table_file.info, options.grace_period, now) ||
          (!local && file.finished && now - *file.finished < options.grace_period);
      if (young) {
        // Maybe a flush still publishing (children first): kept, not an orphan yet.
        finding.within_grace = true;
        if (keep_ids) add_ids(file.id, &ids[type]);  // its children wait with it
      } else {
        to_remove.push_back(path);
      }
      found.push_back(std::move(finding));
    }
    if (unchecked) {
      ++report.attention;
      report.findings.push_back(std::move(*unchecked));
      continue;
    }
    // A root file published since the listing means a flush was still publishing
    // (children first, root last): its children only looked orphaned. On an object
    // store a child without our writer's finish time (upstream's, older versions')
    // is aged by Last-Modified, the start of its upload, so the age check above
    // cannot tell. Look again just before removing.
    if (options.apply && !to_remove.empty()) {
      ARROW_ASSIGN_OR_RAISE(const bool new_root,
                            RootPublishedSinceListing(fs, base, partition, files));
      if (new_root) {
        to_remove.clear();
        for (auto& finding : found) {
          if (finding.kind != RepairFinding::Kind::kOrphanChild) continue;
          finding.within_grace = true;
          finding.detail = "a root file was published meanwhile (a flush in progress)";
        }
      }
    }
    size_t next_removal = 0;
    for (auto& finding : found) {
      if (finding.kind == RepairFinding::Kind::kPartialChild ||
          finding.kind == RepairFinding::Kind::kDuplicateIds) {
        ++report.attention;
      } else if (finding.within_grace) {
        ++report.within_grace;
      } else {
        ARROW_RETURN_NOT_OK(
            RemoveFinding(fs, to_remove[next_removal], options, finding, report));
        ++next_removal;
      }
      report.findings.push_back(std::move(finding));
    }
  }
  if (report.removed > 0) {
    spdlog::info("dataset.repair.removed base={} files={}", DisplayUri(*fs, base),
                 report.removed);
  }
  return report;
}

}  // namespace otap_parquet::dataset
