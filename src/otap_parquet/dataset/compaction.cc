// SPDX-License-Identifier: Apache-2.0
#include "otap_parquet/dataset/compaction.h"

#include <fcntl.h>
#include <sys/file.h>
#include <sys/resource.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <cerrno>
#include <charconv>
#include <cstring>
#include <filesystem>
#include <limits>
#include <random>
#include <set>
#include <utility>

#include <arrow/array/util.h>
#include <arrow/filesystem/filesystem.h>
#include <arrow/io/interfaces.h>
#include <arrow/io/memory.h>
#include <arrow/record_batch.h>
#include <arrow/table.h>
#include <arrow/util/byte_size.h>
#include <arrow/util/key_value_metadata.h>
#include <fmt/format.h>
#include <parquet/arrow/reader.h>
#include <parquet/arrow/schema.h>
#include <parquet/file_reader.h>
#include <parquet/metadata.h>
#include <parquet/statistics.h>
#include <spdlog/spdlog.h>
#include <yaml-cpp/yaml.h>

#include "otap_parquet/dataset/dataset_writer.h"
#include "otap_parquet/dataset/id_space.h"
#include "otap_parquet/dataset/parquet_layout.h"
#include "otap_parquet/dataset/read_errors.h"
#include "otap_parquet/dataset/repair.h"
#include "otap_parquet/dataset/replay_checkpoint.h"
#include "otap_parquet/storage/small_file_cache.h"
#include "otap_parquet/storage/storage.h"
#include "otap_parquet/util/memory.h"

namespace otap_parquet::dataset {

namespace {

using arrow::Status;

constexpr std::string_view kPartIdPrefix = "_part_id=";
constexpr std::string_view kSuffixMarker = ".c";

int64_t UnixNanos(std::chrono::system_clock::time_point t) {
  return std::chrono::duration_cast<std::chrono::nanoseconds>(t.time_since_epoch())
      .count();
}

std::string_view StateName(CompactionManifest::State state) {
  return state == CompactionManifest::State::kCommitted ? "committed" : "pending";
}

// Every table of every signal, root tables first (a partition's files are published
// and deleted in that order: a reader never finds a root whose children are gone).
std::vector<PayloadType> AllTablesRootsFirst() {
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

// Files as a flat list of {table, name, rows}: DuckDB's read_json unnests it
// (docs/operations.md shows the query that hides superseded files).
void EmitFiles(YAML::Emitter& out,
               const std::map<std::string, std::vector<ManifestFile>>& files) {
  out << YAML::Flow << YAML::BeginSeq;
  for (const auto& [table, list] : files) {
    for (const auto& file : list) {
      out << YAML::Flow << YAML::BeginMap << YAML::Key << "table" << YAML::Value << table
          << YAML::Key << "name" << YAML::Value << file.name << YAML::Key << "rows"
          << YAML::Value << file.rows << YAML::EndMap;
    }
  }
  out << YAML::EndSeq;
}

bool ParseFiles(const YAML::Node& node,
                std::map<std::string, std::vector<ManifestFile>>* files) {
  if (!node) return true;
  if (!node.IsSequence()) return false;
  for (const auto& file : node) {
    if (!file.IsMap() || !file["table"] || !file["name"] || !file["rows"]) return false;
    (*files)[file["table"].as<std::string>()].push_back(
        {file["name"].as<std::string>(), file["rows"].as<int64_t>()});
  }
  return true;
}

std::string ManifestPath(const std::string& base, const CompactionManifest& manifest) {
  std::string part_id;
  const size_t at = manifest.partition.rfind(kPartIdPrefix);
  if (at != std::string::npos) {
    part_id = manifest.partition.substr(at + kPartIdPrefix.size());
    part_id = part_id.substr(0, part_id.find('/'));
  }
  return JoinStoragePath(JoinStoragePath(base, kCompactionsDir), part_id + ".json");
}

std::string PartIdOfPath(std::string_view path) {
  const size_t at = path.rfind(kPartIdPrefix);
  if (at == std::string_view::npos) return "";
  auto value = path.substr(at + kPartIdPrefix.size());
  return std::string(value.substr(0, value.find('/')));
}

struct StoredManifest {
  std::string path;
  CompactionManifest manifest;
};

arrow::Result<std::string> ReadWhole(const std::shared_ptr<arrow::fs::FileSystem>& fs,
                                     const std::string& path) {
  auto input = fs->OpenInputStream(path);
  if (!input.ok()) {
    return Status::IOError("reading ", DisplayUri(*fs, path), ": ",
                           input.status().message());
  }
  std::string text;
  while (true) {
    auto chunk = (*input)->Read(1 << 16);
    if (!chunk.ok()) {
      return Status::IOError("reading ", DisplayUri(*fs, path), ": ",
                             chunk.status().message());
    }
    if ((*chunk)->size() == 0) break;
    text.append(reinterpret_cast<const char*>((*chunk)->data()),
                static_cast<size_t>((*chunk)->size()));
  }
  return text;
}

// What `<base>/_compactions/` holds (nothing when it does not exist).
arrow::Result<arrow::fs::FileInfoVector> ListCompactionsDir(
    const std::shared_ptr<arrow::fs::FileSystem>& fs, const std::string& base) {
  arrow::fs::FileSelector selector;
  selector.base_dir = JoinStoragePath(base, kCompactionsDir);
  selector.allow_not_found = true;
  auto infos = fs->GetFileInfo(selector);
  if (!infos.ok()) {
    return Status::IOError("listing ", DisplayUri(*fs, selector.base_dir), ": ",
                           infos.status().message());
  }
  return infos;
}

arrow::Result<std::vector<StoredManifest>> ReadManifests(
    const std::shared_ptr<arrow::fs::FileSystem>& fs, const std::string& base) {
  ARROW_ASSIGN_OR_RAISE(const auto infos, ListCompactionsDir(fs, base));
  std::vector<StoredManifest> out;
  for (const auto& info : infos) {
    if (!info.IsFile() || !std::string_view(info.path()).ends_with(".json")) continue;
    auto text = ReadWhole(fs, info.path());
    if (!text.ok()) {
      // Deleted since the listing (an abandoned compaction): as if not listed; its
      // partition is hidden by its name (ApplyCompactions).
      auto now = fs->GetFileInfo(info.path());
      if (now.ok() && now->type() == arrow::fs::FileType::NotFound) continue;
      return text.status();
    }
    ARROW_ASSIGN_OR_RAISE(auto manifest,
                          CompactionManifest::Parse(*text, DisplayUri(*fs, info.path())));
    out.push_back({info.path(), std::move(manifest)});
  }
  std::sort(out.begin(), out.end(),
            [](const auto& a, const auto& b) { return a.path < b.path; });
  return out;
}

Status WriteManifest(const std::shared_ptr<arrow::fs::FileSystem>& fs,
                     const std::string& path, const CompactionManifest& manifest) {
  return WriteSmallFileAtomically(fs, path, manifest.Serialize());
}

// The footer of a file (`size`: bytes as listed, -1 unknown). IOError when the
// storage failed to deliver its bytes (run again), Invalid when the file itself is
// not readable Parquet (corrupt, truncated: the partition is refused, not the whole
// run).
arrow::Result<std::shared_ptr<parquet::FileMetaData>> FooterOf(
    const std::shared_ptr<arrow::fs::FileSystem>& fs, const std::string& path,
    int64_t size) {
  auto input = OpenListedFile(*fs, path, size);
  if (!input.ok()) {
    return Status::IOError("opening ", DisplayUri(*fs, path), ": ",
                           input.status().message());
  }
  auto failures = std::make_shared<IoFailureLog>();
  try {
    auto reader = parquet::ParquetFileReader::Open(
        std::make_shared<TrackedInputFile>(*input, failures));
    return reader->metadata();
  } catch (const std::exception& e) {
    if (!failures->first().ok()) {
      return Status::IOError("reading the footer of ", DisplayUri(*fs, path), ": ",
                             e.what());
    }
    return Status::Invalid("cannot read the footer of ", DisplayUri(*fs, path), ": ",
                           e.what());
  }
}

arrow::Result<int64_t> FooterRows(const std::shared_ptr<arrow::fs::FileSystem>& fs,
                                  const std::string& path, int64_t size) {
  ARROW_ASSIGN_OR_RAISE(auto metadata, FooterOf(fs, path, size));
  return metadata->num_rows();
}

// When our writer finished the file (footer key, real time), if it says.
std::optional<std::chrono::system_clock::time_point> FinishedAt(
    const parquet::FileMetaData& metadata) {
  const auto& kv = metadata.key_value_metadata();
  if (kv == nullptr) return std::nullopt;
  auto value = kv->Get(kFinishedMetadataKey);
  int64_t ms = 0;
  if (!value.ok() ||
      std::from_chars(value->data(), value->data() + value->size(), ms).ec !=
          std::errc()) {
    return std::nullopt;
  }
  return std::chrono::system_clock::time_point(std::chrono::milliseconds(ms));
}

// Deletes a file that may already be gone (a run interrupted before). Whether it
// is gone is asked only when the delete fails: a HEAD request before every delete
// would cost one more request per file on object stores.
Status DeleteIfPresent(const std::shared_ptr<arrow::fs::FileSystem>& fs,
                       const std::string& path, int64_t* deleted) {
  auto st = fs->DeleteFile(path);
  if (st.ok()) {
    ++*deleted;
    return Status::OK();
  }
  auto info = fs->GetFileInfo(path);
  if (info.ok() && info->type() == arrow::fs::FileType::NotFound) return Status::OK();
  return Status::IOError("deleting ", DisplayUri(*fs, path), ": ", st.message());
}

// Removes empty directories from `dir` up to (not including) `stop`; local disk only
// (object stores have no directories to leave behind).
void RemoveEmptyDirs(const arrow::fs::FileSystem& fs, std::string dir,
                     const std::string& stop) {
  if (!IsLocalFileSystem(fs)) return;
  namespace stdfs = std::filesystem;
  while (dir.size() > stop.size() && dir.starts_with(stop)) {
    std::error_code ec;
    if (!stdfs::is_directory(dir, ec) || !stdfs::is_empty(dir, ec)) return;
    if (!stdfs::remove(dir, ec) || ec) return;  // a writer may have just used it
    dir = stdfs::path(dir).parent_path().string();
  }
}

// The manifest at `path` as it is now; nullopt when there is none.
arrow::Result<std::optional<CompactionManifest>> ReadManifestAt(
    const std::shared_ptr<arrow::fs::FileSystem>& fs, const std::string& path) {
  auto text = ReadWhole(fs, path);
  if (!text.ok()) {
    auto now = fs->GetFileInfo(path);
    if (now.ok() && now->type() == arrow::fs::FileType::NotFound) return std::nullopt;
    return text.status();
  }
  ARROW_ASSIGN_OR_RAISE(auto manifest,
                        CompactionManifest::Parse(*text, DisplayUri(*fs, path)));
  return manifest;
}

// `<base>/_compactions/<part id>.abandoning-`: the name of every marker of a run
// undoing the compaction of `manifest_path` begins so (Abandon).
std::string AbandonMarkerPrefix(std::string_view manifest_path) {
  if (manifest_path.ends_with(".json")) manifest_path.remove_suffix(5);
  return std::string(manifest_path) + ".abandoning-";
}

// Whether some run is undoing the compaction of `manifest_path` (or crashed doing
// so): a marker of it is listed.
arrow::Result<bool> AbandonUnderWay(const std::shared_ptr<arrow::fs::FileSystem>& fs,
                                    const std::string& base,
                                    const std::string& manifest_path) {
  const std::string prefix = AbandonMarkerPrefix(manifest_path);
  ARROW_ASSIGN_OR_RAISE(const auto infos, ListCompactionsDir(fs, base));
  return std::any_of(infos.begin(), infos.end(), [&](const arrow::fs::FileInfo& info) {
    return info.IsFile() && info.path().starts_with(prefix);
  });
}

std::string RandomHex16() {
  static std::atomic<uint64_t> counter{0};
  std::random_device device;
  const uint64_t value =
      (static_cast<uint64_t>(device()) << 32 ^ device()) + counter.fetch_add(1);
  return fmt::format("{:016x}", value);
}

// Whose pending compaction Abandon undoes: this run's own (it failed before its
// commit) or another run's (taken for a crashed one; it may still commit).
enum class CompactionOf : uint8_t { kThisRun, kAnotherRun };

// Deletes every file of a pending (abandoned or failed) compaction: whatever lies in
// a `_part_id=<new>` directory of any table (the writer may have put records into
// another event-time directory than expected), root tables first, then the manifest.
//
// The run that compacts may still be alive (slower than --grace) and commit
// meanwhile, and then delete the files it superseded: deleting its new files too
// would lose both copies of the rows. Object stores have no conditional write, so
// the undo and the deletion of superseded files each announce themselves before
// they look at the other (strongly consistent reads and listings: S3, GCS, Azure,
// local disk): this run writes its own marker, then reads the manifest again and
// gives up if it is committed; RemoveSuperseded runs only while no marker is listed,
// and reads the manifest and lists the new files after that. So when both go on,
// the deletion found a marker, or the marker was gone again after the undo ended
// (new files deleted, manifest gone): it keeps the superseded files. Each run
// deletes only its own marker: a marker another run deleted could belong to a run
// still deleting. false (nothing deleted) when the compaction committed meanwhile.
// A run undoing its own compaction (kThisRun, before its commit) claims nothing:
// only it could commit that manifest, so no deletion of superseded files can race.
// `hook` (tests): "abandoning" once decided, "abandon-claimed" with the marker
// written and the manifest still not committed.
arrow::Result<bool> Abandon(const std::shared_ptr<arrow::fs::FileSystem>& fs,
                            const std::string& base, const std::string& manifest_path,
                            const CompactionManifest& manifest, CompactionOf whose,
                            int64_t* deleted, const util::TestHook& hook = {}) {
  std::optional<std::string> marker;
  int64_t markers = 0;
  if (whose == CompactionOf::kAnotherRun) {
    hook("abandoning");
    marker = AbandonMarkerPrefix(manifest_path) + RandomHex16();
    ARROW_RETURN_NOT_OK(WriteSmallFileAtomically(fs, *marker, manifest.partition + "\n"));
    ARROW_ASSIGN_OR_RAISE(const auto now, ReadManifestAt(fs, manifest_path));
    if (now && now->state == CompactionManifest::State::kCommitted) {
      ARROW_RETURN_NOT_OK(DeleteIfPresent(fs, *marker, &markers));
      return false;
    }
    hook("abandon-claimed");
  }
  const std::string part_dir =
      "/" + std::string(kPartIdPrefix) + PartIdOfPath(manifest.partition) + "/";
  for (PayloadType type : AllTablesRootsFirst()) {
    const std::string table_dir = JoinStoragePath(base, TableName(type));
    ARROW_ASSIGN_OR_RAISE(auto tree, ListTree(fs, table_dir));
    std::set<std::string> dirs;
    for (const auto& info : tree.files) {
      if (info.path().find(part_dir) == std::string::npos) continue;
      ARROW_RETURN_NOT_OK(DeleteIfPresent(fs, info.path(), deleted));
      dirs.insert(std::filesystem::path(info.path()).parent_path().string());
    }
    for (const auto& dir : dirs) RemoveEmptyDirs(*fs, dir, table_dir);
  }
  int64_t manifests = 0;
  ARROW_RETURN_NOT_OK(DeleteIfPresent(fs, manifest_path, &manifests));
  if (marker) ARROW_RETURN_NOT_OK(DeleteIfPresent(fs, *marker, &markers));
  return true;
}

// Another manifest than `own_path` superseding a file `manifest` supersedes, if
// any: two compactions of the same files would both commit and show every row
// twice. Object stores have no lock; this check after writing our pending manifest
// is the claim: with a store that lists what was written before (S3, GCS, Azure and
// local disk do), of two runs that each write their manifest and then list, the
// later lister sees the earlier one's, so at most one goes on (maybe neither).
std::optional<std::string> RivalOf(const std::vector<StoredManifest>& manifests,
                                   const std::string& own_path,
                                   const CompactionManifest& manifest) {
  for (const auto& [path, other] : manifests) {
    if (path == own_path || other.supersedes != manifest.supersedes) continue;
    for (const auto& [table, files] : other.old_files) {
      auto mine = manifest.old_files.find(table);
      if (mine == manifest.old_files.end()) continue;
      for (const auto& file : files) {
        if (std::any_of(mine->second.begin(), mine->second.end(),
                        [&](const ManifestFile& f) { return f.name == file.name; })) {
          return path;
        }
      }
    }
  }
  return std::nullopt;
}

int64_t OldFileCount(const CompactionManifest& manifest) {
  int64_t files = 0;
  for (const auto& [table, list] : manifest.old_files) {
    files += static_cast<int64_t>(list.size());
  }
  return files;
}

double CpuSeconds() {
  struct rusage usage {};
  getrusage(RUSAGE_SELF, &usage);
  return static_cast<double>(usage.ru_utime.tv_sec + usage.ru_stime.tv_sec) +
         static_cast<double>(usage.ru_utime.tv_usec + usage.ru_stime.tv_usec) / 1e6;
}

// Event-time levels of a partition path our writer can reproduce: `_part_id=X`,
// `date=D/_part_id=X`, `date=D/hour=H/_part_id=X`. nullopt for other layouts.
std::optional<PartitioningOptions> PartitioningOf(const std::string& path) {
  std::vector<std::string> segments;
  size_t start = 0;
  while (start <= path.size()) {
    size_t end = path.find('/', start);
    if (end == std::string::npos) end = path.size();
    segments.push_back(path.substr(start, end - start));
    start = end + 1;
  }
  if (segments.empty() || !segments.back().starts_with(kPartIdPrefix)) return {};
  PartitioningOptions partitioning;
  if (segments.size() == 1) return partitioning;
  if (segments.size() == 2 && segments[0].starts_with("date=")) {
    partitioning.event_time = TimeGranularity::kDay;
    return partitioning;
  }
  if (segments.size() == 3 && segments[0].starts_with("date=") &&
      segments[1].starts_with("hour=")) {
    partitioning.event_time = TimeGranularity::kHour;
    return partitioning;
  }
  return {};
}

bool HasSmallFiles(const PartitionPlan& partition, int64_t target) {
  for (const auto& [type, files] : partition.files) {
    int small = 0;
    for (const auto& file : files) {
      if (file.size < 0 || file.size < target) ++small;
    }
    if (small >= 2) return true;
  }
  return false;
}

// A file whose rows can be copied as they are (its footer, read once).
struct CopySource {
  PayloadType type = PayloadType::kUnknown;
  std::string path;
  std::shared_ptr<parquet::FileMetaData> metadata;
  int64_t size = -1;  ///< bytes (listing; -1 unknown)
};

arrow::Result<std::unique_ptr<parquet::arrow::FileReader>> OpenParquet(
    const std::shared_ptr<arrow::fs::FileSystem>& fs, const std::string& path,
    std::shared_ptr<parquet::FileMetaData> metadata, int64_t size,
    int64_t read_whole_file_bytes) {
  auto input = OpenListedFile(*fs, path, size);
  if (!input.ok()) {
    return Status::IOError("opening ", DisplayUri(*fs, path), ": ",
                           input.status().message());
  }
  arrow::MemoryPool* pool = util::DataMemoryPool();
  const bool local = IsLocalFileSystem(*fs);
  const bool whole = size > 0 && size <= read_whole_file_bytes;
  if (whole) {
    // A small file (a writer flushing often leaves many): one read instead of a
    // footer read plus one per column chunk, and no 1 MiB stream buffer per column
    // chunk (allocated and faulted in for a few kilobytes each).
    auto bytes = (*input)->ReadAt(0, size);
    if (!bytes.ok()) {
      return Status::IOError("reading ", DisplayUri(*fs, path), ": ",
                             bytes.status().message());
    }
    if ((*bytes)->size() != size) {
      return Status::IOError("reading ", DisplayUri(*fs, path), ": ", (*bytes)->size(),
                             " bytes instead of ", size, " (changed since listed)");
    }
    *input = std::make_shared<arrow::io::BufferReader>(std::move(*bytes));
  }
  // Otherwise as the replay reader opens files: its memory pool (jemalloc), a
  // buffered stream locally, coalesced ranged reads on object stores.
  parquet::ReaderProperties file_properties(pool);
  if (local && !whole) {
    file_properties.enable_buffered_stream();
    file_properties.set_buffer_size(1 << 20);
  }
  std::unique_ptr<parquet::ParquetFileReader> pq;
  try {
    pq = parquet::ParquetFileReader::Open(*input, file_properties, std::move(metadata));
  } catch (const std::exception& e) {
    return Status::IOError("opening ", DisplayUri(*fs, path), ": ", e.what());
  }
  parquet::ArrowReaderProperties properties(/*use_threads=*/false);
  properties.set_pre_buffer(!local && !whole);
  std::unique_ptr<parquet::arrow::FileReader> reader;
  ARROW_ASSIGN_OR_RAISE(
      reader, parquet::arrow::FileReader::Make(pool, std::move(pq), properties));
  return reader;
}

// Reads row group `group` of `reader` (whose Arrow schema is `schema`) as one batch.
// A top-level optional leaf column whose statistics count as many nulls as the row
// group has rows is not read but made as nulls (`*skipped` counts them): for small
// row groups reading a column chunk costs mostly a fixed amount (page reader,
// decompressor, decoder), whatever it holds.
arrow::Result<std::shared_ptr<arrow::RecordBatch>> ReadRowGroupBatch(
    parquet::arrow::FileReader& reader, const parquet::FileMetaData& metadata, int group,
    const std::shared_ptr<arrow::Schema>& schema, int64_t* skipped) {
  const parquet::SchemaDescriptor& descr = *metadata.schema();
  const auto row_group = metadata.RowGroup(group);
  const int64_t rows = row_group->num_rows();
  std::vector<bool> all_null(static_cast<size_t>(schema->num_fields()), false);
  std::vector<int> leaves;
  int nulls = 0;
  for (int c = 0; c < descr.num_columns(); ++c) {
    const int field = descr.group_node()->FieldIndex(*descr.GetColumnRoot(c));
    const parquet::ColumnDescriptor* column = descr.Column(c);
    bool skip = false;
    if (rows > 0 && field >= 0 && field < schema->num_fields() &&
        column->max_repetition_level() == 0 && column->max_definition_level() == 1 &&
        descr.GetColumnRoot(c) == column->schema_node().get()) {
      const auto chunk = row_group->ColumnChunk(c);
      if (chunk->is_stats_set()) {
        const auto stats = chunk->encoded_statistics();
        skip = stats != nullptr && stats->has_null_count && stats->null_count == rows &&
               chunk->num_values() == rows;
      }
    }
    if (skip) {
      all_null[static_cast<size_t>(field)] = true;
      ++nulls;
    } else {
      leaves.push_back(c);
    }
  }
  if (nulls == 0 || leaves.empty()) {
    ARROW_ASSIGN_OR_RAISE(auto table, reader.ReadRowGroup(group));
    return table->CombineChunksToBatch(util::DataMemoryPool());
  }
  ARROW_ASSIGN_OR_RAISE(auto table, reader.ReadRowGroup(group, leaves));
  ARROW_ASSIGN_OR_RAISE(auto read, table->CombineChunksToBatch(util::DataMemoryPool()));
  std::vector<std::shared_ptr<arrow::Array>> columns;
  int next = 0;
  for (int f = 0; f < schema->num_fields(); ++f) {
    if (all_null[static_cast<size_t>(f)]) {
      ARROW_ASSIGN_OR_RAISE(
          auto column,
          arrow::MakeArrayOfNull(schema->field(f)->type(), rows, util::DataMemoryPool()));
      columns.push_back(std::move(column));
      continue;
    }
    if (next >= read->num_columns() ||
        read->schema()->field(next)->name() != schema->field(f)->name()) {
      return Status::Invalid("column ", schema->field(f)->name(), " of row group ", group,
                             " not read");
    }
    columns.push_back(read->column(next++));
  }
  *skipped += nulls;
  return arrow::RecordBatch::Make(schema, rows, std::move(columns));
}

// The footer of `path` (`size` as listed), or nullptr when it cannot be read.
std::shared_ptr<parquet::FileMetaData> ReadFooter(
    const std::shared_ptr<arrow::fs::FileSystem>& fs, const std::string& path,
    int64_t size) {
  auto input = OpenListedFile(*fs, path, size);
  if (!input.ok()) return nullptr;
  try {
    return parquet::ParquetFileReader::Open(*input)->metadata();
  } catch (const std::exception&) {
    return nullptr;
  }
}

std::string ArrowSchemaOf(const parquet::FileMetaData& metadata) {
  const auto& kv = metadata.key_value_metadata();
  if (kv == nullptr) return "";
  return kv->Get("ARROW:schema").ValueOr("");
}

// The files of `partition` for a copy of their rows as they are, or nullopt when some
// file's schema is not our writer's current one (an older version's, upstream's
// UInt16 resource ids, columns missing or added) or it cannot be opened: those go
// through the reader, which converts (or reports and refuses) them. Files are closed
// again: a partition may have more files than a process may keep open.
arrow::Result<std::optional<std::vector<CopySource>>> PlanCopy(
    const std::shared_ptr<arrow::fs::FileSystem>& fs, const PartitionPlan& partition) {
  std::vector<CopySource> out;
  for (const auto& [type, files] : partition.files) {
    // The Arrow schema a file reads as is a function of its Parquet schema and its
    // stored ARROW:schema alone: a footer equal in both to one already converted
    // and checked needs no conversion of its own (most files of a partition).
    std::shared_ptr<parquet::FileMetaData> checked;
    std::string checked_arrow_schema;
    for (const auto& file : files) {
      auto metadata = ReadFooter(fs, file.path, file.size);
      if (metadata == nullptr) return std::nullopt;
      std::string arrow_schema = ArrowSchemaOf(*metadata);
      if (checked == nullptr || arrow_schema != checked_arrow_schema ||
          !metadata->schema()->Equals(*checked->schema())) {
        // What FileReader::GetSchema does, with OpenParquet's properties.
        std::shared_ptr<arrow::Schema> schema;
        if (!parquet::arrow::FromParquetSchema(
                 metadata->schema(),
                 parquet::ArrowReaderProperties(/*use_threads=*/false),
                 metadata->key_value_metadata(), &schema)
                 .ok() ||
            !schema->Equals(*DiskSchema(type), /*check_metadata=*/false)) {
          return std::nullopt;
        }
        checked = metadata;
        checked_arrow_schema = std::move(arrow_schema);
      }
      out.push_back({type, file.path, std::move(metadata), file.size});
    }
  }
  return out;
}

class Compactor {
 public:
  Compactor(std::shared_ptr<arrow::fs::FileSystem> fs, std::string base,
            const CompactOptions& options)
      : fs_(std::move(fs)), base_(std::move(base)), options_(options) {}

  arrow::Result<CompactReport> Run() {
    ARROW_RETURN_NOT_OK(Finish());
    DiscoveryOptions all;
    ARROW_ASSIGN_OR_RAISE(const DatasetPlan plan, Discover(fs_, base_, all));
    DiscoveryOptions old = all;
    old.min_file_age = options_.older_than;
    ARROW_ASSIGN_OR_RAISE(const DatasetPlan old_plan, Discover(fs_, base_, old));
    std::map<std::string, const PartitionPlan*> settled;
    for (const auto& partition : old_plan.partitions) {
      settled[partition.path] = &partition;
    }
    const int64_t target = options_.writer.target_bytes_per_file;
    // Decided first, compacted after: the progress total is known before the work.
    std::vector<std::pair<size_t, const PartitionPlan*>> work;
    for (const auto& partition : plan.partitions) {
      const bool chosen =
          options_.partitions.empty() ||
          std::find(options_.partitions.begin(), options_.partitions.end(),
                    partition.path) != options_.partitions.end();
      if (!chosen) continue;
      CompactionResult result;
      result.partition = partition.path;
      for (const auto& [type, files] : partition.files) {
        for (const auto& file : files) {
          ++result.old_files;
          result.old_bytes += std::max<int64_t>(file.size, 0);
        }
      }
      auto it = settled.find(partition.path);
      if (partition.compaction) {
        result.detail = "already compacted";
      } else if (!HasSmallFiles(partition, target)) {
        result.detail = "no table has two files below the target size";
      } else if (it == settled.end() || it->second->files != partition.files) {
        result.detail = "has files younger than --older-than";
      } else if (!PartitioningOf(partition.path)) {
        result.detail = "layout not written by our writer (no _part_id innermost)";
      } else if (options_.dry_run) {
        result.action = CompactionResult::Action::kCompacted;
        result.detail = "would compact";
      } else {
        work.emplace_back(report_.results.size(), &partition);
      }
      report_.results.push_back(std::move(result));
    }
    ARROW_RETURN_NOT_OK(FindOrphans(work));
    if (options_.progress_total) {
      int64_t files = 0, bytes = 0;
      for (const auto& [index, partition] : work) {
        files += report_.results[index].old_files;
        bytes += report_.results[index].old_bytes;
      }
      options_.progress_total(files, bytes);
    }
    for (const auto& [index, partition] : work) {
      ARROW_RETURN_NOT_OK(CompactOne(*partition, &report_.results[index]));
    }
    for (const auto& result : report_.results) {
      if (result.action == CompactionResult::Action::kCompacted) ++report_.compacted;
      if (result.action == CompactionResult::Action::kProblem) ++report_.problems;
    }
    for (const auto& wanted : options_.partitions) {
      const bool found = std::any_of(plan.partitions.begin(), plan.partitions.end(),
                                     [&](const auto& p) { return p.path == wanted; });
      if (!found) {
        CompactionResult result;
        result.partition = wanted;
        result.detail = "no such partition (paths as `partitions` lists them)";
        report_.results.push_back(std::move(result));
      }
    }
    ARROW_RETURN_NOT_OK(Finish());
    return std::move(report_);
  }

  /// Finish() for the manifests at `manifest_paths` only, compacting nothing.
  arrow::Result<std::vector<CompactionCleanup>> FinishOnly(
      std::set<std::string> manifest_paths) {
    only_ = std::move(manifest_paths);
    ARROW_RETURN_NOT_OK(Finish());
    return std::move(report_.cleanups);
  }

 private:
  std::chrono::system_clock::time_point Now() const {
    return options_.clock ? options_.clock() : std::chrono::system_clock::now();
  }
  void Hook(std::string_view point) const { options_.crash_hook(point); }

  // Child rows whose parent row is missing (a crashed flush's leftovers, which
  // `repair --apply` removes) would be copied into new files next to good rows,
  // where repair can no longer remove them: such partitions are refused until
  // repair ran (nothing is lost; the merge would refuse them anyway). One check
  // (the ids of every file) for all the partitions to compact; CompactOne refuses.
  Status FindOrphans(const std::vector<std::pair<size_t, const PartitionPlan*>>& work) {
    if (work.empty()) return Status::OK();
    std::set<std::string> paths;
    for (const auto& [index, partition] : work) paths.insert(partition->path);
    RepairOptions check;
    check.grace_period = std::chrono::milliseconds(0);
    check.partition_filter = [&paths](const std::string& p) { return paths.contains(p); };
    ARROW_ASSIGN_OR_RAISE(auto checked, Repair(fs_, base_, check));
    struct Orphans {
      int64_t rows = 0, files = 0, partial = 0;
    };
    std::map<std::string, Orphans> orphans;
    for (const auto& finding : checked.findings) {
      const bool whole = finding.kind == RepairFinding::Kind::kOrphanChild;
      if (!whole && finding.kind != RepairFinding::Kind::kPartialChild) continue;
      auto& o = orphans[finding.partition];
      o.rows += whole ? finding.rows : finding.orphan_rows;
      ++o.files;
      if (!whole) ++o.partial;
    }
    for (const auto& [partition, o] : orphans) {
      orphans_[partition] = fmt::format(
          "orphan_rows={} in {} child files whose parent rows are missing (crash "
          "leftovers: `repair --apply` removes them{})",
          o.rows, o.files,
          o.partial > 0 ? "; partly orphaned files need inspect --check" : "");
    }
    return Status::OK();
  }

  // Deletes superseded files whose commit passed the grace period and abandons
  // pending compactions older than it. Every manifest is seen once per run.
  Status Finish() {
    ARROW_ASSIGN_OR_RAISE(auto manifests, ReadManifests(fs_, base_));
    const int64_t now = UnixNanos(Now());
    const int64_t grace =
        std::chrono::duration_cast<std::chrono::nanoseconds>(options_.grace).count();
    for (auto& [path, manifest] : manifests) {
      if (finished_.contains(path) || (only_ && !only_->contains(path))) continue;
      CompactionCleanup cleanup;
      cleanup.partition = manifest.partition;
      if (manifest.state == CompactionManifest::State::kPending) {
        if (now - manifest.created_unix_nano < grace) {
          cleanup.kind = CompactionCleanup::Kind::kPendingKept;
        } else {
          cleanup.kind = CompactionCleanup::Kind::kAbandoned;
          if (!options_.dry_run) {
            ARROW_ASSIGN_OR_RAISE(
                const bool abandoned,
                Abandon(fs_, base_, path, manifest, CompactionOf::kAnotherRun,
                        &cleanup.files, options_.crash_hook));
            // Its run was alive, just slow, and committed meanwhile.
            if (!abandoned) {
              cleanup.kind = CompactionCleanup::Kind::kWaiting;
              cleanup.files = OldFileCount(manifest);
            }
          }
        }
      } else if (manifest.old_files_removed) {
        continue;
      } else if (now - manifest.committed_unix_nano < grace) {
        cleanup.kind = CompactionCleanup::Kind::kWaiting;
        cleanup.files = OldFileCount(manifest);
      } else {
        // A run undoing this compaction (it took it for a crashed one before the
        // commit) may be deleting its new files: keep the superseded ones (Abandon).
        ARROW_ASSIGN_OR_RAISE(const bool abandoning, AbandonUnderWay(fs_, base_, path));
        if (abandoning) {
          cleanup.kind = CompactionCleanup::Kind::kAbandoning;
          cleanup.files = OldFileCount(manifest);
          finished_.insert(path);
          report_.cleanups.push_back(std::move(cleanup));
          continue;
        }
        // Read after the markers were listed: an undo that ended since this run
        // listed the manifests deleted it.
        ARROW_ASSIGN_OR_RAISE(auto current, ReadManifestAt(fs_, path));
        if (!current || current->state != CompactionManifest::State::kCommitted ||
            current->old_files_removed) {
          continue;
        }
        manifest = std::move(*current);
        cleanup.kind = CompactionCleanup::Kind::kRemovedSuperseded;
        // A committed manifest whose new files are not all there (deleted by a run
        // that undid it as abandoned just before it committed, or by hand) hides
        // nothing from readers: the superseded files still hold its rows.
        ARROW_ASSIGN_OR_RAISE(const bool kept, SupersededStillNeeded(manifest));
        if (kept) {
          cleanup.kind = CompactionCleanup::Kind::kIncomplete;
          cleanup.files = OldFileCount(manifest);
          spdlog::warn(
              "dataset.compact.incomplete manifest={} new files missing: the {} files "
              "it supersedes are kept",
              DisplayUri(*fs_, path), cleanup.files);
        } else if (options_.dry_run) {
          cleanup.files = OldFileCount(manifest);
        } else {
          ARROW_RETURN_NOT_OK(RemoveSuperseded(path, &manifest, &cleanup.files));
        }
      }
      finished_.insert(path);
      report_.cleanups.push_back(std::move(cleanup));
    }
    return Status::OK();
  }

  // "<table>/<name>" of every file directly in `partition`'s directory of a table.
  arrow::Result<std::set<std::string>> DirectoryFiles(const std::string& partition) {
    std::set<std::string> out;
    ARROW_ASSIGN_OR_RAISE(auto trees,
                          ListTables(fs_, base_, AllTablesRootsFirst(), partition));
    for (const auto& [type, tree] : trees) {
      const std::string table(TableName(type));
      const std::string dir = JoinStoragePath(JoinStoragePath(base_, table), partition);
      for (const auto& info : tree.files) {
        if (info.path().find('/', dir.size() + 1) != std::string::npos) continue;
        out.insert(table + "/" + BaseName(info.path()));
      }
    }
    return out;
  }

  // Whether some new file `manifest` names is not listed while some file it
  // supersedes still is: deleting those would lose their rows. (Both gone:
  // retention deleted the compacted partition, the old files first.)
  arrow::Result<bool> SupersededStillNeeded(const CompactionManifest& manifest) {
    auto names_under =
        [&](const std::string& table,
            const std::string& partition) -> arrow::Result<std::set<std::string>> {
      const std::string dir = JoinStoragePath(JoinStoragePath(base_, table), partition);
      ARROW_ASSIGN_OR_RAISE(auto tree, ListTree(fs_, dir));
      std::set<std::string> names;
      for (const auto& info : tree.files) names.insert(BaseName(info.path()));
      return names;
    };
    bool complete = true;
    for (const auto& [table, files] : manifest.new_files) {
      ARROW_ASSIGN_OR_RAISE(auto listed, names_under(table, manifest.partition));
      for (const auto& file : files) complete = complete && listed.contains(file.name);
      if (!complete) break;
    }
    if (complete) return false;
    for (const auto& [table, files] : manifest.old_files) {
      ARROW_ASSIGN_OR_RAISE(auto listed, names_under(table, manifest.supersedes));
      for (const auto& file : files) {
        if (listed.contains(file.name)) return true;
      }
    }
    return false;
  }

  Status RemoveSuperseded(const std::string& path, CompactionManifest* manifest,
                          int64_t* deleted) {
    bool hooked = false;
    for (PayloadType type : AllTablesRootsFirst()) {
      const std::string table(TableName(type));
      auto it = manifest->old_files.find(table);
      if (it == manifest->old_files.end()) continue;
      const std::string table_dir = JoinStoragePath(base_, table);
      const std::string dir = JoinStoragePath(table_dir, manifest->supersedes);
      for (const auto& file : it->second) {
        ARROW_RETURN_NOT_OK(
            DeleteIfPresent(fs_, JoinStoragePath(dir, file.name), deleted));
        if (!hooked) {
          hooked = true;
          Hook("removing");
        }
      }
      RemoveEmptyDirs(*fs_, dir, table_dir);
    }
    manifest->old_files_removed = true;
    return WriteManifest(fs_, path, *manifest);
  }

  // Reports files read to options_.progress_done; the rest of the partition when
  // it goes out of scope (compacted, refused or failed: the work is over).
  class PartitionProgress {
   public:
    PartitionProgress(const CompactOptions& options, const CompactionResult& result)
        : options_(options), files_(result.old_files), bytes_(result.old_bytes) {}
    ~PartitionProgress() { Done(files_, bytes_); }
    void Done(int64_t files, int64_t bytes) {
      files = std::min(files, files_);
      bytes = std::min(bytes, bytes_);
      files_ -= files;
      bytes_ -= bytes;
      if (options_.progress_done && (files > 0 || bytes > 0)) {
        options_.progress_done(files, bytes);
      }
    }

   private:
    const CompactOptions& options_;
    int64_t files_, bytes_;
  };

  Status CompactOne(const PartitionPlan& planned, CompactionResult* result) {
    PartitionProgress progress(options_, *result);
    const double cpu_start = CpuSeconds();
    auto fail = [&](std::string detail) {
      result->action = CompactionResult::Action::kProblem;
      result->detail = std::move(detail);
      return Status::OK();
    };
    // What the partition's directories hold now: a file that appears in them before
    // the commit was published meanwhile (see the check before the commit).
    ARROW_ASSIGN_OR_RAISE(const auto files_at_start, DirectoryFiles(planned.path));
    ReaderOptions read;
    read.batch_size = 65535;
    read.min_file_age = options_.older_than;
    read.partition_filter = [path = planned.path](const PartitionPlan& p) {
      return p.path == path;
    };
    ARROW_ASSIGN_OR_RAISE(auto reader, DatasetReader::Make(fs_, base_, read));
    if (reader->plan().partitions.size() != 1 ||
        reader->plan().partitions[0].files != planned.files) {
      return fail("the partition changed while compacting (a writer is adding to it)");
    }
    const PartitionPlan& source = reader->plan().partitions[0];
    // Root files whose ids overlap (two writers in one id space): the reader's merge
    // refuses them below, but the copy would gather them into one file, where the
    // collision no longer shows and a replay joins the rows of both writers.
    if (auto collision = FindIdCollision(*fs_, source, source.signals)) {
      return fail("id collision: " + collision->ToString() +
                  " (two writers numbered ids in one id space; inspect --check)");
    }
    const auto partitioning = PartitioningOf(source.path);
    const std::string new_part_id = CompactedPartId(source.part_id, RandomHex16());
    const size_t at = source.path.rfind(kPartIdPrefix);
    CompactionManifest manifest;
    manifest.partition =
        source.path.substr(0, at) + std::string(kPartIdPrefix) + new_part_id;
    manifest.supersedes = source.path;
    manifest.created_unix_nano = UnixNanos(Now());
    std::optional<std::vector<CopySource>> copy;
    if (options_.copy_own_files) {
      ARROW_ASSIGN_OR_RAISE(copy, PlanCopy(fs_, source));
    }
    // The footers of the files to copy are those PlanCopy read.
    std::map<std::string, std::shared_ptr<parquet::FileMetaData>> footers;
    if (copy) {
      for (const auto& file : *copy) footers[file.path] = file.metadata;
    }
    for (const auto& [type, files] : source.files) {
      auto& list = manifest.old_files[std::string(TableName(type))];
      for (const auto& file : files) {
        auto known = footers.find(file.path);
        std::shared_ptr<parquet::FileMetaData> footer;
        if (known != footers.end()) {
          footer = known->second;
        } else {
          auto read = FooterOf(fs_, file.path, file.size);
          // A corrupt file: this partition is refused, the others still compacted.
          if (read.status().IsInvalid()) {
            return fail(read.status().message() + " (inspect, repair)");
          }
          ARROW_ASSIGN_OR_RAISE(footer, std::move(read));
        }
        // The listing's mtime is, on object stores, when the writer started the
        // file's upload (opened it), so a file kept open longer than --older-than
        // looks old the moment it is published, while the root file of its flush
        // (published last) may not be there yet: its children would be superseded
        // and its records replayed without them. The time the writer finished it
        // says how young it is.
        if (auto finished = FinishedAt(*footer);
            finished && Now() - *finished < options_.older_than) {
          result->action = CompactionResult::Action::kSkipped;
          result->detail = fmt::format(
              "has files finished less than --older-than ago ({} says so in its "
              "footer; a writer may still be adding to it)",
              DisplayUri(*fs_, file.path));
          return Status::OK();
        }
        list.push_back({BaseName(file.path), footer->num_rows()});
      }
    }
    // After the age checks: a flush still publishing looks orphaned, and is skipped.
    if (auto it = orphans_.find(source.path); it != orphans_.end()) {
      spdlog::warn("dataset.compact.refused partition={} {}", source.path, it->second);
      return fail(it->second);
    }
    result->new_partition = manifest.partition;
    const std::string manifest_path = ManifestPath(base_, manifest);
    ARROW_RETURN_NOT_OK(WriteManifest(fs_, manifest_path, manifest));
    Hook("pending");

    // A failure from here on undoes the new partition (it is invisible while the
    // manifest is pending, and a crash leaves that for the next run to undo).
    auto undo = [&](std::string detail) -> Status {
      int64_t deleted = 0;
      ARROW_RETURN_NOT_OK(
          Abandon(fs_, base_, manifest_path, manifest, CompactionOf::kThisRun, &deleted)
              .status());
      return fail(std::move(detail));
    };
    auto rival_detail = [&](const std::string& rival) {
      return fmt::format(
          "another compaction of these files is running or was committed ({}; a "
          "crashed one is undone once older than --grace): nothing done here",
          DisplayUri(*fs_, rival));
    };
    {
      ARROW_ASSIGN_OR_RAISE(auto manifests, ReadManifests(fs_, base_));
      if (auto rival = RivalOf(manifests, manifest_path, manifest)) {
        ARROW_RETURN_NOT_OK(undo(rival_detail(*rival)));
        return Status::OK();
      }
    }
    DatasetWriterSettings settings;
    settings.filesystem = fs_;
    settings.base_path = base_;
    settings.fsync = options_.fsync;
    settings.stale_temp_age = std::chrono::milliseconds(0);
    settings.new_uuid = [first = true, new_part_id]() mutable {
      if (!first) return RandomUuid();
      first = false;
      return new_part_id;
    };
    // File names carry milliseconds: strictly increasing ones keep name order (the
    // reader's order) equal to write order even for files opened within one ms.
    settings.clock = [last = std::chrono::system_clock::time_point()]() mutable {
      last = std::max(std::chrono::time_point_cast<std::chrono::milliseconds>(
                          std::chrono::system_clock::now()),
                      std::chrono::time_point_cast<std::chrono::milliseconds>(
                          last + std::chrono::milliseconds(1)));
      return last;
    };
    WriterOptions writer_options = options_.writer;
    // Files are cut by size alone (and by the end of the partition), never by age.
    writer_options.target_rows_per_file = std::numeric_limits<int32_t>::max();
    writer_options.flush_when_older_than = std::chrono::hours(24 * 365);
    ARROW_ASSIGN_OR_RAISE(auto writer,
                          DatasetWriter::Make(writer_options, *partitioning, settings));
    std::vector<arrow::Future<>> acks;
    bool hooked = false;
    if (copy) {
      result->copied = true;
      // Our own files: each table's rows copied in order with their ids, which are
      // already unique in the id space (one old partition makes one new one), so no
      // join work. The reader's merge below is for files of other writers.
      std::string time_path = source.path.substr(0, at);
      if (!time_path.empty()) time_path.pop_back();
      const auto root_metadata =
          arrow::key_value_metadata({std::string("_part_id")}, {new_part_id});
      // Small row groups are gathered into batches of up to WriteBatchSize rows
      // before the writer sees them: each batch costs the writer (and each of its
      // columns Parquet) a fixed amount, whatever its size. The writer cuts files
      // between batches only: a batch holds at most a quarter of the target file
      // size in Arrow bytes (more than that compressed, far from binding at
      // the usual targets).
      const int64_t batch_rows = WriteBatchSize(options_.writer);
      const int64_t batch_bytes =
          options_.writer.target_bytes_per_file > 0
              ? std::max<int64_t>(options_.writer.target_bytes_per_file / 4, 1)
              : std::numeric_limits<int64_t>::max();
      std::vector<std::shared_ptr<arrow::RecordBatch>> pending;
      int64_t pending_rows = 0;
      int64_t pending_bytes = 0;
      PayloadType pending_type = PayloadType::kUnknown;
      auto flush = [&]() -> Status {
        if (pending.empty()) return Status::OK();
        auto schema = DiskSchema(pending_type);
        if (IsRoot(pending_type)) schema = schema->WithMetadata(root_metadata);
        std::shared_ptr<arrow::RecordBatch> rows;
        if (pending.size() == 1) {
          rows = std::move(pending.front());
        } else {
          ARROW_ASSIGN_OR_RAISE(auto table, arrow::Table::FromRecordBatches(pending));
          ARROW_ASSIGN_OR_RAISE(rows,
                                table->CombineChunksToBatch(util::DataMemoryPool()));
        }
        pending.clear();
        pending_rows = 0;
        pending_bytes = 0;
        ARROW_ASSIGN_OR_RAISE(rows, rows->ReplaceSchema(schema));
        DiskBatch disk;
        disk.signal = Signal::kLogs;  // not used for disk-form rows
        disk.tables.emplace_back(pending_type, std::move(rows));
        acks.push_back(writer->WriteDisk(std::move(disk), time_path));
        if (!hooked && writer->metrics().files_closed > 0) {
          hooked = true;
          Hook("writing");
        }
        return Status::OK();
      };
      for (size_t i = 0; i < copy->size(); ++i) {
        const CopySource& file = (*copy)[i];
        if (file.type != pending_type) {
          if (Status st = flush(); !st.ok()) {
            ARROW_RETURN_NOT_OK(undo("writing failed: " + st.ToString()));
            return Status::OK();
          }
          pending_type = file.type;
        }
        auto reader = OpenParquet(fs_, file.path, file.metadata, file.size,
                                  options_.read_whole_file_bytes);
        if (!reader.ok()) {
          ARROW_RETURN_NOT_OK(undo("reading failed: " + reader.status().ToString()));
          return Status::OK();
        }
        for (int group = 0; group < (*reader)->num_row_groups(); ++group) {
          auto batch = ReadRowGroupBatch(**reader, *file.metadata, group,
                                         DiskSchema(file.type), &result->null_chunks);
          if (!batch.ok()) {
            ARROW_RETURN_NOT_OK(undo(fmt::format("reading row group {} of {} failed: {}",
                                                 group, DisplayUri(*fs_, file.path),
                                                 batch.status().ToString())));
            return Status::OK();
          }
          pending_rows += (*batch)->num_rows();
          pending_bytes += arrow::util::TotalBufferSize(**batch);
          pending.push_back(std::move(*batch));
          if (pending_rows >= batch_rows || pending_bytes >= batch_bytes) {
            if (Status st = flush(); !st.ok()) {
              ARROW_RETURN_NOT_OK(undo("writing failed: " + st.ToString()));
              return Status::OK();
            }
          }
        }
        if (i + 1 == copy->size()) {
          if (Status st = flush(); !st.ok()) {
            ARROW_RETURN_NOT_OK(undo("writing failed: " + st.ToString()));
            return Status::OK();
          }
        }
        progress.Done(1, std::max<int64_t>(file.size, 0));
      }
    }
    while (!copy) {
      auto next = reader->Next();
      if (!next.ok()) {
        ARROW_RETURN_NOT_OK(undo("reading failed: " + next.status().ToString()));
        return Status::OK();
      }
      if (!next->has_value()) break;
      acks.push_back(writer->Write(**next));
      if (!hooked && writer->metrics().files_closed > 0) {
        hooked = true;
        Hook("writing");
      }
    }
    auto closed = writer->Close();
    for (auto& ack : acks) {
      if (closed.ok()) closed = ack.status();
    }
    if (!closed.ok()) {
      ARROW_RETURN_NOT_OK(undo("writing failed: " + closed.ToString()));
      return Status::OK();
    }
    const ReaderStats& stats = reader->stats();
    if (stats.corrupt_files || stats.incompatible_files || stats.unreadable_columns ||
        stats.id_collisions || stats.orphan_rows || stats.unresolved_resource_rows) {
      ARROW_RETURN_NOT_OK(undo(fmt::format(
          "would not keep every row: corrupt_files={} incompatible_files={} "
          "unreadable_columns={} id_collisions={} orphan_rows={} "
          "unresolved_resource_rows={} (inspect --check, repair)",
          stats.corrupt_files, stats.incompatible_files, stats.unreadable_columns,
          stats.id_collisions, stats.orphan_rows, stats.unresolved_resource_rows)));
      return Status::OK();
    }
    // The new files, as a reader will list them, and their rows.
    int64_t listed_rows = 0;
    ARROW_ASSIGN_OR_RAISE(auto new_trees, ListTables(fs_, base_, AllTablesRootsFirst(),
                                                     manifest.partition));
    for (const auto& [type, tree] : new_trees) {
      const std::string dir =
          JoinStoragePath(JoinStoragePath(base_, TableName(type)), manifest.partition);
      for (const auto& info : tree.files) {
        if (!std::string_view(info.path()).ends_with(".parquet")) continue;
        if (info.path().find('/', dir.size() + 1) != std::string::npos) continue;
        ARROW_ASSIGN_OR_RAISE(const int64_t rows,
                              FooterRows(fs_, info.path(), info.size()));
        manifest.new_files[std::string(TableName(type))].push_back(
            {BaseName(info.path()), rows});
        listed_rows += rows;
        ++result->new_files;
        result->new_bytes += info.size();
      }
    }
    // Every table keeps its rows. Resource / scope attributes are shared by the
    // signals: each signal's batches carry those of their resources (so rows may
    // repeat), and rows no root references are not records (the reader's
    // unreferenced_attr_rows); only a shrinking count would mean a loss.
    auto total = [](const std::vector<ManifestFile>& files) {
      int64_t rows = 0;
      for (const auto& file : files) rows += file.rows;
      return rows;
    };
    std::set<std::string> tables;
    for (const auto& [table, files] : manifest.old_files) tables.insert(table);
    for (const auto& [table, files] : manifest.new_files) tables.insert(table);
    for (const auto& table : tables) {
      const int64_t before = total(manifest.old_files[table]);
      const int64_t after = total(manifest.new_files[table]);
      result->rows += before;
      const bool shared = table == TableName(PayloadType::kResourceAttrs) ||
                          table == TableName(PayloadType::kScopeAttrs);
      if (shared ? after < before : after != before) {
        ARROW_RETURN_NOT_OK(undo(fmt::format("table {} would have {} rows instead of {}",
                                             table, after, before)));
        return Status::OK();
      }
    }
    if (listed_rows != writer->metrics().rows_written_total()) {
      ARROW_RETURN_NOT_OK(undo(fmt::format(
          "the writer wrote {} rows, {} of them into {} (records outside its event "
          "time directory)",
          writer->metrics().rows_written_total(), listed_rows, manifest.partition)));
      return Status::OK();
    }
    Hook("written");
    // Before the commit: our pending manifest must still be there. Another run
    // whose --grace is shorter than this run took it for a crashed one and undid
    // it (deleted our new files, then the manifest): committing now would name
    // deleted files and let the superseded files be deleted, losing their rows.
    // While it is there, no rival can have claimed these files (RivalOf).
    {
      ARROW_ASSIGN_OR_RAISE(auto manifests, ReadManifests(fs_, base_));
      const bool ours =
          std::any_of(manifests.begin(), manifests.end(), [&](const auto& m) {
            return m.path == manifest_path &&
                   m.manifest.state == CompactionManifest::State::kPending &&
                   m.manifest.created_unix_nano == manifest.created_unix_nano;
          });
      if (!ours) {
        ARROW_RETURN_NOT_OK(undo(
            "this compaction was undone by another compact while it ran (its --grace "
            "is shorter than this run took): nothing changed; run again"));
        return Status::OK();
      }
      if (auto rival = RivalOf(manifests, manifest_path, manifest)) {
        ARROW_RETURN_NOT_OK(undo(rival_detail(*rival)));
        return Status::OK();
      }
    }
    // A file published into the old partition while we compacted means a writer is
    // still adding to it, though every file looked older than --older-than: on
    // object stores a file without our writer's finish time (upstream's, older
    // versions') is aged by its Last-Modified, the *start* of a multipart upload.
    // Its children may still come after our commit and lose their parent rows to
    // the new ids: refuse now (a later run tries again).
    {
      ARROW_ASSIGN_OR_RAISE(const auto files_now, DirectoryFiles(source.path));
      for (const auto& name : files_now) {
        if (!files_at_start.contains(name)) {
          ARROW_RETURN_NOT_OK(undo(fmt::format(
              "the partition changed while compacting ({} was published into it: a "
              "writer is adding to it)",
              name)));
          return Status::OK();
        }
      }
    }
    manifest.state = CompactionManifest::State::kCommitted;
    manifest.committed_unix_nano = UnixNanos(Now());
    ARROW_RETURN_NOT_OK(WriteManifest(fs_, manifest_path, manifest));
    finished_.erase(manifest_path);
    Hook("committed");
    result->action = CompactionResult::Action::kCompacted;
    report_.rows += result->rows;
    report_.cpu_seconds += CpuSeconds() - cpu_start;
    return Status::OK();
  }

  std::shared_ptr<arrow::fs::FileSystem> fs_;
  std::string base_;
  const CompactOptions& options_;
  CompactReport report_;
  // Partitions to compact with orphan child rows: the refusal detail (FindOrphans).
  std::map<std::string, std::string> orphans_;
  /// Manifests Finish() has handled in this run.
  std::set<std::string> finished_;
  /// FinishOnly: the manifests Finish() looks at (all when unset).
  std::optional<std::set<std::string>> only_;
};

// `<part id>.abandoning-<16 hex>` (Abandon's marker; not its temporary file, which
// starts with a dot).
bool IsAbandonMarkerName(std::string_view name) {
  constexpr std::string_view kInfix = ".abandoning-";
  const size_t at = name.rfind(kInfix);
  if (at == std::string_view::npos || at == 0 || name.front() == '.') return false;
  const auto hex = name.substr(at + kInfix.size());
  return hex.size() == 16 && std::all_of(hex.begin(), hex.end(), [](char c) {
           return (c >= '0' && c <= '9') || (c >= 'a' && c <= 'f');
         });
}

}  // namespace

arrow::Result<std::optional<CompactLock>> CompactLock::TryAcquire(
    const std::string& base) {
  const std::string path = base + "/" + kCompactLockName;
  const int fd = ::open(path.c_str(), O_RDWR | O_CREAT | O_CLOEXEC, 0644);
  if (fd < 0) {
    if (errno == ENOENT) return std::make_optional(CompactLock());
    return Status::IOError("opening ", path, " to lock it: ", std::strerror(errno));
  }
  if (::flock(fd, LOCK_EX | LOCK_NB) != 0) {
    const int error = errno;
    ::close(fd);
    if (error == EWOULDBLOCK) return std::nullopt;
    return Status::IOError("locking ", path, ": ", std::strerror(error));
  }
  return std::make_optional(CompactLock(fd));
}

// A marker older than the grace period belongs to a dead run: an undo writes its
// marker, reads the manifest and deletes the new files, then the marker, in seconds;
// compact already takes a pending manifest that old for a crashed run, with the same
// grace. Races with a live compact:
// - local disk: this holds the compact lock, so no compact runs meanwhile;
// - object stores (no lock): deleting a stale marker is the one step Abandon forbids
//   for a live run's marker, which the age rules out. A live run undoing the same
//   compaction writes a marker of its own, which this does not touch and which
//   RemoveSuperseded lists again. The compaction is then finished by Compact's own
//   Finish(), which repeats the protocol: for a committed one it lists the markers,
//   reads the manifest again and checks that every new file is listed (a dead undo
//   that had deleted some of them leaves it `incomplete`, the superseded files
//   kept); a pending one is undone under a marker of this run.
arrow::Result<std::vector<AbandonMarkerCleanup>> CleanStaleAbandonMarkers(
    const std::shared_ptr<arrow::fs::FileSystem>& fs, const std::string& base,
    const CompactOptions& options) {
  if (options.grace.count() < 0) return Status::Invalid("compact: --grace must be >= 0");
  std::optional<CompactLock> lock;
  bool compact_running = false;
  if (!options.dry_run && IsLocalFileSystem(*fs)) {
    ARROW_ASSIGN_OR_RAISE(lock, CompactLock::TryAcquire(base));
    compact_running = !lock.has_value();
  }
  const auto now = options.clock ? options.clock() : std::chrono::system_clock::now();
  ARROW_ASSIGN_OR_RAISE(const auto infos, ListCompactionsDir(fs, base));
  std::vector<AbandonMarkerCleanup> out;
  std::set<std::string> manifests;
  for (const auto& info : infos) {
    const std::string name(BaseName(info.path()));
    if (!info.IsFile() || !IsAbandonMarkerName(name)) continue;
    AbandonMarkerCleanup marker;
    marker.path = info.path();
    marker.manifest_path =
        info.path().substr(0, info.path().rfind(".abandoning-")) + ".json";
    const auto mtime =
        std::chrono::time_point_cast<std::chrono::system_clock::duration>(info.mtime());
    marker.stale = info.mtime() == arrow::fs::kNoTime ? options.grace.count() == 0
                                                      : now - mtime >= options.grace;
    marker.compact_running = compact_running;
    if (marker.stale && !compact_running && !options.dry_run) {
      int64_t deleted = 0;
      ARROW_RETURN_NOT_OK(DeleteIfPresent(fs, marker.path, &deleted));
      marker.removed = true;
      manifests.insert(marker.manifest_path);
    }
    out.push_back(std::move(marker));
  }
  if (manifests.empty()) return out;
  Compactor compactor(fs, base, options);
  ARROW_ASSIGN_OR_RAISE(auto cleanups, compactor.FinishOnly(manifests));
  for (const auto& cleanup : cleanups) {
    const std::string manifest_path =
        JoinStoragePath(JoinStoragePath(base, kCompactionsDir),
                        PartIdOfPath(cleanup.partition) + ".json");
    for (auto& marker : out) {
      if (marker.removed && marker.manifest_path == manifest_path) {
        marker.cleanup = cleanup;
      }
    }
  }
  return out;
}

// --------------------------------------------------------------------------------
// CompactionManifest

std::string CompactionManifest::Serialize() const {
  YAML::Emitter out;
  out.SetStringFormat(YAML::DoubleQuoted);
  out << YAML::Flow << YAML::BeginMap;
  out << YAML::Key << "format" << YAML::Value << std::string(kFormat);
  out << YAML::Key << "version" << YAML::Value << kVersion;
  out << YAML::Key << "state" << YAML::Value << std::string(StateName(state));
  out << YAML::Key << "partition" << YAML::Value << partition;
  out << YAML::Key << "part_id" << YAML::Value << PartIdOfPath(partition);
  out << YAML::Key << "supersedes" << YAML::Value << supersedes;
  out << YAML::Key << "created_unix_nano" << YAML::Value << created_unix_nano;
  out << YAML::Key << "committed_unix_nano" << YAML::Value << committed_unix_nano;
  out << YAML::Key << "old_files_removed" << YAML::Value << old_files_removed;
  out << YAML::Key << "old_files" << YAML::Value;
  EmitFiles(out, old_files);
  out << YAML::Key << "new_files" << YAML::Value;
  EmitFiles(out, new_files);
  out << YAML::EndMap;
  // No end marker (unlike checkpoints): plain JSON for DuckDB, and a cut-off flow
  // map does not parse anyway (the write is atomic besides).
  return std::string(out.c_str()) + "\n";
}

arrow::Result<CompactionManifest> CompactionManifest::Parse(std::string_view text,
                                                            const std::string& where) {
  auto invalid = [&](const std::string& what) {
    return Status::Invalid("compaction manifest ", where, " is not valid (", what, ")");
  };
  CompactionManifest manifest;
  try {
    const YAML::Node root = YAML::Load(std::string(text));
    if (!root.IsMap()) return invalid("not a map");
    if (!root["format"] || root["format"].as<std::string>() != kFormat) {
      return invalid("format is not \"" + std::string(kFormat) + "\"");
    }
    if (!root["version"] || root["version"].as<int>() != kVersion) {
      return invalid("unsupported version");
    }
    const std::string state = root["state"] ? root["state"].as<std::string>() : "";
    if (state == "pending") {
      manifest.state = State::kPending;
    } else if (state == "committed") {
      manifest.state = State::kCommitted;
    } else {
      return invalid("state is neither pending nor committed");
    }
    if (!root["partition"] || !root["supersedes"]) {
      return invalid("partition or supersedes missing");
    }
    manifest.partition = root["partition"].as<std::string>();
    manifest.supersedes = root["supersedes"].as<std::string>();
    if (manifest.partition.empty() || manifest.partition == manifest.supersedes) {
      return invalid("bad partition");
    }
    if (root["created_unix_nano"]) {
      manifest.created_unix_nano = root["created_unix_nano"].as<int64_t>();
    }
    if (root["committed_unix_nano"]) {
      manifest.committed_unix_nano = root["committed_unix_nano"].as<int64_t>();
    }
    if (root["old_files_removed"]) {
      manifest.old_files_removed = root["old_files_removed"].as<bool>();
    }
    if (!ParseFiles(root["old_files"], &manifest.old_files) ||
        !ParseFiles(root["new_files"], &manifest.new_files)) {
      return invalid("bad file list");
    }
  } catch (const YAML::Exception& e) {
    return invalid(e.what());
  }
  return manifest;
}

std::string CompactedPartId(std::string_view part_id, std::string_view suffix_hex) {
  const size_t at = part_id.find(kSuffixMarker);
  return fmt::format("{}{}{}", part_id.substr(0, at), kSuffixMarker, suffix_hex);
}

bool IsCompactedPartId(std::string_view part_id) {
  const size_t at = part_id.rfind(kSuffixMarker);
  if (at == std::string_view::npos || at == 0) return false;
  const auto hex = part_id.substr(at + kSuffixMarker.size());
  return hex.size() == 16 && std::all_of(hex.begin(), hex.end(), [](char c) {
           return (c >= '0' && c <= '9') || (c >= 'a' && c <= 'f');
         });
}

std::string ShardKeyOf(std::string_view partition) {
  const size_t at = partition.rfind(kPartIdPrefix);
  if (at == std::string_view::npos) return std::string(partition);
  const size_t value = at + kPartIdPrefix.size();
  size_t end = partition.find('/', value);
  if (end == std::string_view::npos) end = partition.size();
  const size_t marker = partition.substr(value, end - value).find(kSuffixMarker);
  if (marker == std::string_view::npos) return std::string(partition);
  return std::string(partition.substr(0, value + marker)) +
         std::string(partition.substr(end));
}

// --------------------------------------------------------------------------------
// Readers

Status ApplyCompactions(const std::shared_ptr<arrow::fs::FileSystem>& fs,
                        const std::string& base, const std::vector<PayloadType>& tables,
                        DatasetPlan* plan) {
  ARROW_ASSIGN_OR_RAISE(auto manifests, ReadManifests(fs, base));
  std::map<std::string, size_t> index;
  for (size_t i = 0; i < plan->partitions.size(); ++i) {
    index[plan->partitions[i].path] = i;
  }
  std::set<std::string> hidden_part_ids;
  // Compactions in force: their partitions are visible.
  std::set<std::string> applied_part_ids;
  // Superseded file paths, per partition path.
  std::map<std::string, std::set<std::string>> superseded;
  for (auto& stored : manifests) {
    auto manifest =
        std::make_shared<const CompactionManifest>(std::move(stored.manifest));
    bool complete = manifest->state == CompactionManifest::State::kCommitted;
    auto it = index.find(manifest->partition);
    if (complete && it == index.end()) complete = false;
    for (PayloadType type : tables) {
      if (!complete) break;
      auto files = manifest->new_files.find(std::string(TableName(type)));
      if (files == manifest->new_files.end()) continue;
      std::set<std::string> listed;
      for (const auto& file : plan->partitions[it->second].FilesOf(type)) {
        listed.insert(BaseName(file.path));
      }
      for (const auto& file : files->second) {
        if (!listed.contains(file.name)) {
          complete = false;
          break;
        }
      }
    }
    if (!complete) {
      hidden_part_ids.insert(PartIdOfPath(manifest->partition));
      continue;
    }
    plan->partitions[it->second].compaction = manifest;
    applied_part_ids.insert(PartIdOfPath(manifest->partition));
    auto& names = superseded[manifest->supersedes];
    for (const auto& [table, files] : manifest->old_files) {
      for (const auto& file : files) names.insert(table + "/" + file.name);
    }
  }
  std::vector<PartitionPlan> kept;
  for (auto& partition : plan->partitions) {
    // A compaction's partition without a manifest in force is hidden too: its
    // manifest was deleted after this listing (an abandoned compaction: new files
    // first, then the manifest), so the listing may hold a part of its files.
    if (!partition.part_id.empty() && (hidden_part_ids.contains(partition.part_id) ||
                                       (IsCompactedPartId(partition.part_id) &&
                                        !applied_part_ids.contains(partition.part_id)))) {
      ++plan->hidden_partitions;
      continue;
    }
    auto names = superseded.find(partition.path);
    if (names != superseded.end()) {
      for (auto& [type, files] : partition.files) {
        const std::string table(TableName(type));
        const auto before = files.size();
        std::erase_if(files, [&](const PlannedFile& file) {
          return names->second.contains(table + "/" + BaseName(file.path));
        });
        plan->superseded_files += static_cast<int64_t>(before - files.size());
      }
      std::erase_if(partition.files,
                    [](const auto& entry) { return entry.second.empty(); });
      std::erase_if(partition.signals, [&](Signal signal) {
        return partition.FilesOf(RootPayloadType(signal)).empty();
      });
      if (partition.signals.empty()) {
        for (const auto& [type, files] : partition.files) {
          plan->unmatched_files += static_cast<int64_t>(files.size());
        }
        continue;
      }
    }
    kept.push_back(std::move(partition));
  }
  plan->partitions = std::move(kept);
  return Status::OK();
}

ResumePoint ResumeCompacted(const CompactionManifest& manifest, const UnitProgress* old,
                            const PartitionPlan& partition, Signal signal) {
  ResumePoint resume;
  if (!old) return resume;
  const std::string root(TableName(RootPayloadType(signal)));
  auto old_files = manifest.old_files.find(root);
  if (old_files == manifest.old_files.end()) return resume;
  // Roots of the superseded files the replay consumed (files in order, the one in
  // progress up to its row).
  int64_t consumed = 0;
  bool all = true;
  for (const auto& file : old_files->second) {
    if (old->files_done.contains(file.name)) {
      consumed += file.rows;
    } else {
      all = false;
      if (file.name == old->file) {
        consumed += std::min(old->row, file.rows);
      } else if (auto p = old->partial.find(file.name); p != old->partial.end()) {
        consumed += std::min(p->second, file.rows);
      }
    }
  }
  if (consumed == 0 && !all) return resume;
  std::map<std::string, int64_t> rows;
  if (auto it = manifest.new_files.find(root); it != manifest.new_files.end()) {
    for (const auto& file : it->second) rows[file.name] = file.rows;
  }
  const auto& files = partition.FilesOf(RootPayloadType(signal));
  resume.skip = true;
  for (const auto& file : files) {
    const int64_t n = rows[BaseName(file.path)];
    if (!all && consumed < n) {
      resume.skip = false;
      if (consumed > 0) {
        resume.file = file.path;
        resume.row = consumed;
      }
      break;
    }
    consumed -= n;
    resume.done_files.push_back(file.path);
  }
  return resume;
}

arrow::Result<int64_t> PruneCheckpoint(const std::shared_ptr<arrow::fs::FileSystem>& fs,
                                       const std::string& base,
                                       ReplayCheckpoint* checkpoint) {
  // "<table>/<partition>/<name>" of every root file listed, then of every
  // superseded file a manifest names.
  auto key = [](std::string_view table, const std::string& partition,
                const std::string& name) {
    return partition.empty() ? fmt::format("{}/{}", table, name)
                             : fmt::format("{}/{}/{}", table, partition, name);
  };
  std::set<Signal> signals;
  for (const auto& [unit, progress] : checkpoint->units) signals.insert(unit.signal);
  std::set<std::string> present;
  for (Signal signal : signals) {
    const std::string_view table = TableName(RootPayloadType(signal));
    const std::string dir = JoinStoragePath(base, std::string(table));
    ARROW_ASSIGN_OR_RAISE(auto listing, ListTree(fs, dir));
    for (const auto& info : listing.files) {
      const std::string& path = info.path();
      if (path.size() > dir.size() && path.compare(0, dir.size(), dir) == 0) {
        present.insert(fmt::format("{}/{}", table, path.substr(dir.size() + 1)));
      }
    }
  }
  ARROW_ASSIGN_OR_RAISE(auto manifests, ReadManifests(fs, base));
  for (const auto& stored : manifests) {
    for (const auto& [table, files] : stored.manifest.old_files) {
      for (const auto& file : files) {
        present.insert(key(table, stored.manifest.supersedes, file.name));
      }
    }
  }
  int64_t dropped = 0;
  for (auto it = checkpoint->units.begin(); it != checkpoint->units.end();) {
    const std::string_view table = TableName(RootPayloadType(it->first.signal));
    const std::string& partition = it->first.partition;
    UnitProgress& progress = it->second;
    auto gone = [&](const std::string& name) {
      return !present.contains(key(table, partition, name));
    };
    dropped += static_cast<int64_t>(std::erase_if(progress.files_done, gone));
    dropped += static_cast<int64_t>(std::erase_if(
        progress.partial, [&](const auto& entry) { return gone(entry.first); }));
    if (progress.files_done.empty() && progress.partial.empty() &&
        (progress.file.empty() || gone(progress.file))) {
      it = checkpoint->units.erase(it);
      ++dropped;
    } else {
      ++it;
    }
  }
  return dropped;
}

arrow::Result<CompactReport> Compact(const std::shared_ptr<arrow::fs::FileSystem>& fs,
                                     const std::string& base,
                                     const CompactOptions& options) {
  if (options.older_than.count() < 0 || options.grace.count() < 0) {
    return Status::Invalid("compact: --older-than and --grace must be >= 0");
  }
  ARROW_RETURN_NOT_OK(options.writer.Validate());
  std::shared_ptr<arrow::fs::FileSystem> store = fs;
  if (!IsLocalFileSystem(*fs) && options.read_whole_file_bytes > 0 &&
      options.cache_bytes > 0) {
    store = std::make_shared<SmallFileCache>(fs, options.read_whole_file_bytes,
                                             options.cache_bytes);
  }
  Compactor compactor(store, base, options);
  return compactor.Run();
}

}  // namespace otap_parquet::dataset
