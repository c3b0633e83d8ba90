// SPDX-License-Identifier: Apache-2.0
#include "otap_parquet/dataset/inspect.h"

#include <algorithm>
#include <atomic>
#include <cctype>
#include <exception>
#include <set>
#include <thread>
#include <utility>

#include <arrow/type.h>
#include <arrow/util/compression.h>
#include <fmt/format.h>
#include <parquet/arrow/schema.h>
#include <parquet/metadata.h>
#include <parquet/properties.h>
#include <parquet/schema.h>
#include <parquet/statistics.h>

#include "otap_parquet/dataset/discovery.h"
#include "otap_parquet/dataset/file_checks.h"
#include "otap_parquet/dataset/parquet_errors.h"
#include "otap_parquet/dataset/parquet_layout.h"
#include "otap_parquet/dataset/read_errors.h"
#include "otap_parquet/dataset/repair.h"
#include "otap_parquet/schema/otap_schema.h"
#include "otap_parquet/storage/storage.h"
#include "otap_parquet/util/strings.h"

namespace otap_parquet::dataset {

namespace {

using arrow::Status;
using PT = PayloadType;
using Kind = InspectProblem::Kind;

bool IsShared(PT type) { return type == PT::kResourceAttrs || type == PT::kScopeAttrs; }

// Event-time column of a table ("" when none): the reader's for roots and data
// points (ReaderOptions::time_range), the record's own time for the rest.
std::string_view TimeColumnOf(PT type) {
  switch (type) {
    case PT::kSpans:
      return schema::kStartTimeUnixNano;
    case PT::kLogs:
    case PT::kSpanEvents:
    case PT::kNumberDataPoints:
    case PT::kSummaryDataPoints:
    case PT::kHistogramDataPoints:
    case PT::kExpHistogramDataPoints:
    case PT::kNumberDpExemplars:
    case PT::kHistogramDpExemplars:
    case PT::kExpHistogramDpExemplars:
      return schema::kTimeUnixNano;
    default:
      return {};
  }
}

// Whether a table's times are its signal's event times (what replay filters by).
bool IsEventTimeTable(PT type) {
  return type == PT::kLogs || type == PT::kSpans || type == PT::kNumberDataPoints ||
         type == PT::kSummaryDataPoints || type == PT::kHistogramDataPoints ||
         type == PT::kExpHistogramDataPoints;
}

// [min, max] of an INT64 leaf in a row group; nullopt when unknown, {1, 0} (empty)
// when all null.
std::optional<std::pair<int64_t, int64_t>> Int64Range(const parquet::RowGroupMetaData& rg,
                                                      int leaf) {
  auto stats = rg.ColumnChunk(leaf)->statistics();
  if (stats && stats->HasMinMax() && stats->physical_type() == parquet::Type::INT64) {
    const auto& typed = static_cast<const parquet::Int64Statistics&>(*stats);
    return std::make_pair(typed.min(), typed.max());
  }
  if (stats && stats->HasNullCount() && stats->null_count() >= rg.num_rows()) {
    return std::make_pair<int64_t, int64_t>(1, 0);
  }
  return std::nullopt;
}

// Whether a column chunk may hold nulls (no null count: it may).
bool MayHoldNulls(const parquet::RowGroupMetaData& rg, int leaf) {
  auto stats = rg.ColumnChunk(leaf)->statistics();
  return !stats || !stats->HasNullCount() || stats->null_count() > 0;
}

// The drift of `actual` from `expected` (both field lists of one struct level).
void Compare(const arrow::FieldVector& expected, const arrow::FieldVector& actual,
             const std::string& prefix, SchemaVariant* out);

void CompareType(const arrow::DataType& expected, const arrow::DataType& raw,
                 const std::string& path, SchemaVariant* out) {
  const arrow::DataType* actual = &raw;
  if (actual->id() == arrow::Type::DICTIONARY) {
    out->dictionary.push_back(path);
    actual = static_cast<const arrow::DictionaryType&>(raw).value_type().get();
  }
  const auto is_list = [](const arrow::DataType& type) {
    return type.id() == arrow::Type::LIST || type.id() == arrow::Type::LARGE_LIST;
  };
  if (expected.id() == arrow::Type::STRUCT && actual->id() == arrow::Type::STRUCT) {
    Compare(expected.fields(), actual->fields(), path + ".", out);
  } else if (is_list(expected) && is_list(*actual)) {
    // Element names and nullability differ between writers (parquet-rs: `item`, not
    // null) without changing what the values are.
    CompareType(*expected.field(0)->type(), *actual->field(0)->type(), path + "[]", out);
  } else if (!expected.Equals(*actual)) {
    out->retyped.push_back(path + ":" + actual->ToString());
  }
}

void Compare(const arrow::FieldVector& expected, const arrow::FieldVector& actual,
             const std::string& prefix, SchemaVariant* out) {
  auto find = [](const arrow::FieldVector& fields, const std::string& name) {
    for (const auto& field : fields) {
      if (field->name() == name) return field.get();
    }
    return static_cast<arrow::Field*>(nullptr);
  };
  for (const auto& field : expected) {
    const arrow::Field* found = find(actual, field->name());
    if (found == nullptr) {
      out->missing.push_back(prefix + field->name());
    } else {
      CompareType(*field->type(), *found->type(), prefix + field->name(), out);
    }
  }
  for (const auto& field : actual) {
    if (find(expected, field->name()) == nullptr)
      out->extra.push_back(prefix + field->name());
  }
}

SchemaVariant VariantOf(PT type, const parquet::FileMetaData& md) {
  SchemaVariant variant;
  std::shared_ptr<arrow::Schema> schema;
  Status st = parquet::arrow::FromParquetSchema(
      md.schema(), parquet::default_arrow_reader_properties(), md.key_value_metadata(),
      &schema);
  if (!st.ok()) {
    variant.retyped.push_back("(schema unreadable: " + st.message() + ")");
    return variant;
  }
  Compare(DiskSchema(type)->fields(), schema->fields(), "", &variant);
  return variant;
}

// One file, reduced to what the report needs.
struct FileSummary {
  Status error;  // corrupt (footer) or incompatible (required columns)
  Kind error_kind = Kind::kCorrupt;
  int64_t bytes = 0;
  int64_t rows = 0;
  int64_t row_groups = 0;
  int64_t uncompressed = 0;
  std::map<std::string, int64_t> codecs;
  std::string created_by;
  WriterKind writer = WriterKind::kUnknown;
  TimeSpan time;
  std::optional<SchemaVariant> variant;
  std::vector<std::string> recovered;   // Q14 columns
  std::vector<std::string> unreadable;  // columns read as nulls
  std::string unreadable_reason;
  // Roots: the key range for the id collision check of their partition (footers are
  // not kept: thousands of them would hold hundreds of MB).
  bool root_read = false;
  std::optional<std::pair<uint32_t, uint32_t>> key_range;
};

struct FileTask {
  size_t partition = 0;
  PT type = PT::kUnknown;
  const PlannedFile* file = nullptr;
};

void AddTimes(PT type, const parquet::FileMetaData& md, TimeSpan* out) {
  const std::string_view column = TimeColumnOf(type);
  if (column.empty()) return;
  const auto& schema = *md.schema();
  const int time_leaf = schema.ColumnIndex(std::string(column));
  const int observed_leaf =
      type == PT::kLogs ? schema.ColumnIndex(schema::kObservedTimeUnixNano) : -1;
  if (time_leaf < 0) {
    if (md.num_rows() > 0) out->exact = out->max_exact = false;
    return;
  }
  for (int g = 0; g < md.num_row_groups(); ++g) {
    auto rg = md.RowGroup(g);
    if (rg->num_rows() == 0) continue;
    auto time = Int64Range(*rg, time_leaf);
    if (!time) {
      out->exact = out->max_exact = false;
      continue;
    }
    const bool all_null = time->first > time->second;
    // Logs without time_unix_nano (0 or null: min/max leave nulls out) are placed by
    // their observed time.
    const bool untimed = type == PT::kLogs &&
                         (all_null || time->first <= 0 || MayHoldNulls(*rg, time_leaf));
    if (!untimed) {
      if (!all_null) out->Add(time->first, time->second);
      continue;
    }
    if (!all_null && time->first > 0) {
      out->Add(time->first, time->second);
      out->exact = false;
    } else if (!all_null && time->second > 0) {
      // The least non-zero time_unix_nano of the group is not in the statistics.
      out->Add(time->second, time->second);
      out->exact = false;
    }
    auto observed = observed_leaf >= 0 ? Int64Range(*rg, observed_leaf) : std::nullopt;
    if (observed && observed->first <= observed->second) {
      out->Add(observed->first, observed->second);
      if (!all_null && time->second > 0) out->exact = false;
    } else {
      out->exact = out->max_exact = false;
    }
  }
}

FileSummary Summarize(arrow::fs::FileSystem& fs, const FileTask& task) {
  FileSummary out;
  out.bytes = std::max<int64_t>(task.file->size, 0);
  auto opened = OpenListedFile(fs, task.file->path, task.file->size);
  if (!opened.ok()) {
    out.error = opened.status();
    out.error_kind = Kind::kReadError;
    return out;
  }
  // A failed read of the file's bytes is the storage's fault, not the file's.
  auto failures = std::make_shared<IoFailureLog>();
  auto input = std::make_shared<TrackedInputFile>(*opened, failures);
  if (task.file->size < 0) {
    auto size = input->GetSize();
    if (size.ok()) out.bytes = *size;
  }
  auto footer = ReadCheckedFooter(task.file->path, input);
  if (!footer.ok()) {
    out.error = footer.status();
    if (!failures->first().ok()) out.error_kind = Kind::kReadError;
    return out;
  }
  const parquet::FileMetaData& md = *footer->metadata;
  const Status read = CatchParquet(
      task.file->path,
      [&]() -> Status {
        const auto& schema = *md.schema();
        out.created_by = md.created_by();
        out.variant = VariantOf(task.type, md);
        for (int leaf : footer->prefixed_leaves) {
          out.recovered.push_back(schema.Column(leaf)->path()->ToDotString());
        }
        for (int leaf : footer->unreadable_leaves) {
          out.unreadable.push_back(schema.Column(leaf)->path()->ToDotString());
        }
        out.unreadable_reason = footer->unreadable_reason;
        Status required = CheckRequiredColumns(task.type, md, footer->unreadable_leaves);
        if (!required.ok()) {
          out.error = required;
          out.error_kind = Kind::kIncompatible;
          return Status::OK();
        }
        out.rows = md.num_rows();
        out.row_groups = md.num_row_groups();
        for (int g = 0; g < md.num_row_groups(); ++g) {
          auto rg = md.RowGroup(g);
          for (int c = 0; c < md.num_columns(); ++c) {
            if (std::find(footer->unreadable_leaves.begin(),
                          footer->unreadable_leaves.end(),
                          c) != footer->unreadable_leaves.end()) {
              continue;
            }
            auto chunk = rg->ColumnChunk(c);
            ++out.codecs[util::AsciiLower(
                arrow::util::Codec::GetCodecAsString(chunk->compression()))];
            out.uncompressed += chunk->total_uncompressed_size();
          }
        }
        AddTimes(task.type, md, &out.time);
        if (IsRoot(task.type)) {
          out.writer = RootIdWriter(md);
          out.root_read = true;
          out.key_range = RootKeyRange(md);
        }
        return Status::OK();
      },
      arrow::StatusCode::Invalid);
  if (!read.ok()) {
    out.error = read;
    out.error_kind = Kind::kCorrupt;
  }
  return out;
}

void AddVariant(const SchemaVariant& variant, std::vector<SchemaVariant>* variants) {
  for (auto& known : *variants) {
    if (known.SameAs(variant)) {
      ++known.files;
      return;
    }
  }
  variants->push_back(variant);
  variants->back().files = 1;
}

}  // namespace

Status InspectOptions::Validate() const {
  if (signals.empty()) return Status::Invalid("inspect: no signals requested");
  if (grace_period.count() < 0) {
    return Status::Invalid("inspect: grace period must be >= 0, got ",
                           grace_period.count(), " ms");
  }
  if (parallelism < 1) {
    return Status::Invalid("inspect: parallelism must be >= 1, got ", parallelism);
  }
  return Status::OK();
}

void TimeSpan::Add(int64_t lo, int64_t hi) {
  min = std::min(min, lo);
  max = std::max(max, hi);
}

void TimeSpan::Merge(const TimeSpan& other) {
  if (other.known()) Add(other.min, other.max);
  exact = exact && other.exact;
  max_exact = max_exact && other.max_exact;
}

bool SchemaVariant::SameAs(const SchemaVariant& other) const {
  return missing == other.missing && extra == other.extra &&
         dictionary == other.dictionary && retyped == other.retyped;
}

std::string SchemaVariant::ToString() const {
  if (canonical()) return "canonical";
  std::vector<std::string> parts;
  for (auto [label, list] :
       {std::pair{"missing", &missing}, std::pair{"extra", &extra},
        std::pair{"dictionary", &dictionary}, std::pair{"retyped", &retyped}}) {
    if (!list->empty())
      parts.push_back(fmt::format("{} {}", label, fmt::join(*list, ", ")));
  }
  return fmt::format("{}", fmt::join(parts, "; "));
}

std::string_view InspectProblemName(Kind kind) {
  switch (kind) {
    case Kind::kCorrupt:
      return "corrupt";
    case Kind::kReadError:
      return "read-error";
    case Kind::kIncompatible:
      return "incompatible";
    case Kind::kUnreadableColumn:
      return "unreadable-column";
    case Kind::kRecoveredColumn:
      return "recovered-column";
    case Kind::kIdCollision:
      return "id-collision";
    case Kind::kStaleTemp:
      return "stale-temp";
    case Kind::kOrphanChild:
      return "orphan-child";
    case Kind::kPartialChild:
      return "partial-child";
    case Kind::kUnchecked:
      return "unchecked";
    case Kind::kDuplicateIds:
      return "duplicate-ids";
  }
  return "?";
}

int64_t InspectReport::files() const {
  int64_t n = 0;
  for (const auto& s : signals) n += s.files;
  for (const auto& t : shared) n += t.files;
  return n;
}

int64_t InspectReport::bytes() const {
  int64_t n = 0;
  for (const auto& s : signals) n += s.bytes;
  for (const auto& t : shared) n += t.bytes;
  return n;
}

int64_t InspectReport::records() const {
  int64_t n = 0;
  for (const auto& s : signals) n += s.records;
  return n;
}

int64_t InspectReport::Count(Kind kind) const {
  return std::count_if(problems.begin(), problems.end(),
                       [kind](const InspectProblem& p) { return p.kind == kind; });
}

bool InspectReport::has_problems() const {
  return std::any_of(problems.begin(), problems.end(),
                     [](const InspectProblem& p) { return p.is_problem(); });
}

arrow::Result<InspectReport> Inspect(const std::shared_ptr<arrow::fs::FileSystem>& fs,
                                     const std::string& base,
                                     const InspectOptions& options) {
  ARROW_RETURN_NOT_OK(options.Validate());
  InspectReport report;
  report.uri = DisplayUri(*fs, base);
  DiscoveryOptions discovery;
  discovery.signals = options.signals;
  ARROW_ASSIGN_OR_RAISE(const DatasetPlan plan, Discover(fs, base, discovery));
  report.id_spaces = static_cast<int64_t>(plan.partitions.size());
  report.unpartitioned = plan.unpartitioned;
  report.ignored_files = plan.ignored_files;
  report.unmatched_files = plan.unmatched_files;
  report.skipped_entries = plan.skipped_entries;

  // Every file of every partition, tables in signal order.
  std::vector<PT> tables;
  for (Signal signal : options.signals) {
    for (PT type : PayloadTypesOf(signal)) {
      if (std::find(tables.begin(), tables.end(), type) == tables.end()) {
        tables.push_back(type);
      }
    }
  }
  std::vector<FileTask> tasks;
  for (size_t p = 0; p < plan.partitions.size(); ++p) {
    for (PT type : tables) {
      for (const auto& file : plan.partitions[p].FilesOf(type)) {
        tasks.push_back({p, type, &file});
      }
    }
  }
  // Footers are independent reads: on object stores the latency, not the bytes,
  // is the cost.
  std::vector<FileSummary> summaries(tasks.size());
  {
    std::atomic<size_t> next{0};
    auto work = [&] {
      for (size_t i = next++; i < tasks.size(); i = next++) {
        summaries[i] = Summarize(*fs, tasks[i]);
      }
    };
    const size_t threads =
        std::min<size_t>(static_cast<size_t>(options.parallelism), tasks.size());
    std::vector<std::thread> workers;
    for (size_t t = 1; t < threads; ++t) workers.emplace_back(work);
    work();
    for (auto& worker : workers) worker.join();
  }

  // Writer of each partition's root files (the marker), for its other tables.
  std::vector<std::set<WriterKind>> root_writers(plan.partitions.size());
  for (size_t i = 0; i < tasks.size(); ++i) {
    if (summaries[i].root_read && summaries[i].error.ok()) {
      root_writers[tasks[i].partition].insert(summaries[i].writer);
    }
  }

  if (options.per_partition) {
    report.partitions.resize(plan.partitions.size());
    for (size_t p = 0; p < plan.partitions.size(); ++p) {
      report.partitions[p].path = plan.partitions[p].path;
      report.partitions[p].part_id = plan.partitions[p].part_id;
      report.partitions[p].signals = plan.partitions[p].signals;
      report.partitions[p].compaction = plan.partitions[p].compaction;
      for (Signal signal : plan.partitions[p].signals) {
        auto& names = report.partitions[p].root_files[signal];
        for (const auto& file : plan.partitions[p].FilesOf(RootPayloadType(signal))) {
          names.push_back(file.path.substr(file.path.find_last_of('/') + 1));
        }
      }
      for (const auto& [type, files] : plan.partitions[p].files) {
        for (const auto& file : files) {
          report.partitions[p].file_paths.push_back(file.path);
        }
      }
    }
    for (size_t i = 0; i < tasks.size(); ++i) {
      PartitionInspection& partition = report.partitions[tasks[i].partition];
      const FileSummary& file = summaries[i];
      ++partition.files;
      partition.bytes += file.bytes;
      if (!file.error.ok()) {
        ++partition.bad_files;
        if (IsEventTimeTable(tasks[i].type)) {
          partition.event_time.exact = partition.event_time.max_exact = false;
        }
        continue;
      }
      partition.rows += file.rows;
      if (IsRoot(tasks[i].type)) partition.records += file.rows;
      if (IsEventTimeTable(tasks[i].type)) partition.event_time.Merge(file.time);
    }
  }

  std::map<PT, TableInspection> by_table;
  std::map<PT, std::set<size_t>> table_partitions;
  for (size_t i = 0; i < tasks.size(); ++i) {
    const FileTask& task = tasks[i];
    FileSummary& file = summaries[i];
    const PlannedFile& planned = *task.file;
    TableInspection& table = by_table[task.type];
    table.type = task.type;
    table.time_column = std::string(TimeColumnOf(task.type));
    table_partitions[task.type].insert(task.partition);
    ++table.files;
    table.bytes += file.bytes;
    const std::string uri = DisplayUri(*fs, planned.path);
    const std::string& partition = plan.partitions[task.partition].path;
    auto problem = [&](Kind kind, std::string detail) {
      report.problems.push_back(InspectProblem{
          kind, uri, std::string(TableName(task.type)), partition, std::move(detail)});
    };
    if (file.variant) AddVariant(*file.variant, &table.variants);
    if (!file.created_by.empty()) ++table.created_by[file.created_by];
    for (const auto& column : file.recovered) {
      problem(Kind::kRecoveredColumn,
              fmt::format("column {}: upstream's length-prefixed ids (Q14); our reader "
                          "recovers them, other readers may not",
                          column));
    }
    if (!file.error.ok()) {
      if (file.error_kind == Kind::kIncompatible) ++report.footers_read;
      ++table.bad_files;
      problem(file.error_kind, file.error.message());
      continue;
    }
    ++report.footers_read;
    for (const auto& column : file.unreadable) {
      problem(Kind::kUnreadableColumn, fmt::format("column {}: {} (replays as nulls)",
                                                   column, file.unreadable_reason));
    }
    table.rows += file.rows;
    table.row_groups += file.row_groups;
    table.uncompressed_bytes += file.uncompressed;
    for (const auto& [codec, chunks] : file.codecs) table.codecs[codec] += chunks;
    table.time.Merge(file.time);
    WriterKind writer = file.writer;
    if (!IsRoot(task.type)) {
      const auto& roots = root_writers[task.partition];
      writer = roots.size() == 1 ? *roots.begin() : WriterKind::kUnknown;
    }
    ++table.writers[std::string(WriterKindName(writer))];
  }

  // Id ranges of the root files of each partition and signal (footers only).
  std::map<std::pair<size_t, PT>, std::vector<size_t>> root_files;
  for (size_t i = 0; i < tasks.size(); ++i) {
    if (summaries[i].key_range)
      root_files[{tasks[i].partition, tasks[i].type}].push_back(i);
  }
  for (const auto& [key, members] : root_files) {
    const auto [p, root] = key;
    if (members.size() < 2) continue;
    std::vector<std::string> uris;
    uris.reserve(members.size());
    std::vector<RootIdRange> ranges;
    for (size_t i : members) {
      uris.push_back(DisplayUri(*fs, tasks[i].file->path));
      ranges.push_back(
          {&uris.back(), summaries[i].key_range->first, summaries[i].key_range->second});
    }
    if (auto collision = FindIdCollision(std::move(ranges))) {
      report.problems.push_back(InspectProblem{
          Kind::kIdCollision, collision->second_path, std::string(TableName(root)),
          plan.partitions[p].path,
          "two writers numbered ids in one id space: " + collision->ToString()});
    }
  }
  summaries.clear();

  for (auto& [type, table] : by_table) {
    table.id_spaces = static_cast<int64_t>(table_partitions[type].size());
  }
  for (Signal signal : options.signals) {
    SignalInspection inspection;
    inspection.signal = signal;
    for (const auto& partition : plan.partitions) {
      if (std::find(partition.signals.begin(), partition.signals.end(), signal) !=
          partition.signals.end()) {
        ++inspection.id_spaces;
      }
    }
    for (PT type : PayloadTypesOf(signal)) {
      auto it = by_table.find(type);
      if (IsShared(type) || it == by_table.end()) continue;
      const TableInspection& table = it->second;
      if (IsRoot(type)) inspection.records = table.rows;
      if (IsEventTimeTable(type)) inspection.event_time.Merge(table.time);
      inspection.files += table.files;
      inspection.bytes += table.bytes;
      inspection.tables.push_back(table);
    }
    if (!inspection.tables.empty()) report.signals.push_back(std::move(inspection));
  }
  for (PT type : {PT::kResourceAttrs, PT::kScopeAttrs}) {
    auto it = by_table.find(type);
    if (it != by_table.end()) report.shared.push_back(it->second);
  }

  if (options.check) {
    RepairOptions repair;
    repair.grace_period = options.grace_period;
    repair.clock = options.clock;
    repair.progress_total = options.progress_total;
    repair.progress_done = options.progress_done;
    ARROW_ASSIGN_OR_RAISE(auto checked, Repair(fs, base, repair));
    report.checked = true;
    report.partitions_checked = checked.partitions_checked;
    report.files_checked = checked.files_checked;
    report.in_flight = checked.within_grace;
    for (const auto& finding : checked.findings) {
      if (finding.within_grace) continue;
      InspectProblem problem;
      problem.uri = finding.uri;
      problem.table = finding.table;
      problem.partition = finding.partition;
      switch (finding.kind) {
        case RepairFinding::Kind::kStaleTemp:
          problem.kind = Kind::kStaleTemp;
          problem.detail = "temporary file of a writer that did not finish";
          break;
        case RepairFinding::Kind::kAbandonMarker:
          problem.kind = Kind::kStaleTemp;
          problem.detail =
              "abandon marker of a compact killed while undoing a compaction (keeps "
              "superseded files)";
          break;
        case RepairFinding::Kind::kOrphanChild:
          problem.kind = Kind::kOrphanChild;
          problem.detail =
              fmt::format("none of its {} rows has its parent", finding.rows);
          break;
        case RepairFinding::Kind::kPartialChild:
          problem.kind = Kind::kPartialChild;
          problem.detail = fmt::format("{} of its {} rows have no parent",
                                       finding.orphan_rows, finding.rows);
          break;
        case RepairFinding::Kind::kUnchecked:
          problem.kind = Kind::kUnchecked;
          problem.detail = "partition not checked: " + finding.detail;
          break;
        case RepairFinding::Kind::kDuplicateIds:
          problem.kind = Kind::kDuplicateIds;
          problem.detail = fmt::format(
              "{} of its ids are also ids of an earlier root file or row of this id "
              "space",
              finding.duplicate_ids);
          break;
      }
      report.problems.push_back(std::move(problem));
    }
  }
  return report;
}

}  // namespace otap_parquet::dataset
