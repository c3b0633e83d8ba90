// SPDX-License-Identifier: Apache-2.0
#include "otap_parquet/cli/replay_commands.h"

#include <sys/resource.h>

#include <chrono>
#include <cmath>
#include <ctime>
#include <filesystem>
#include <functional>

#include <fmt/format.h>
#include <spdlog/spdlog.h>

#include "otap_parquet/cli/progress.h"
#include "otap_parquet/dataset/dataset_reader.h"
#include "otap_parquet/dataset/partition_values.h"
#include "otap_parquet/dataset/read_errors.h"
#include "otap_parquet/dataset/replanning_reader.h"
#include "otap_parquet/dataset/replay_checkpoint.h"
#include "otap_parquet/dataset/sharding.h"
#include "otap_parquet/otlp/convert.h"
#include "otap_parquet/otlp/otlp_file.h"
#include "otap_parquet/storage/storage.h"

namespace otap_parquet::cli {

using arrow::Status;

namespace {

arrow::Result<std::unique_ptr<dataset::DatasetReader>> OpenReader(
    const ReplayOptions& options,
    const std::function<void(dataset::ReaderOptions*)>& customize = {}) {
  std::string base;
  ARROW_ASSIGN_OR_RAISE(auto settings, options.flags.ToStorageSettings());
  ARROW_ASSIGN_OR_RAISE(auto fs,
                        dataset::FileSystemFromUri(options.dataset, settings, &base));
  dataset::ReaderOptions reader_options;
  if (!options.signals.empty()) reader_options.signals = options.signals;
  reader_options.batch_size = options.batch_size;
  if (options.start_unix_nano || options.end_unix_nano) {
    dataset::TimeRange range;
    if (options.start_unix_nano) range.start_unix_nano = *options.start_unix_nano;
    if (options.end_unix_nano) range.end_unix_nano = *options.end_unix_nano;
    reader_options.time_range = range;
  }
  ARROW_ASSIGN_OR_RAISE(auto selected, dataset::MakePartitionsFilter(options.partitions));
  if (options.shard.count > 1 || !options.partitions.empty()) {
    reader_options.partition_filter = [shard = options.shard,
                                       selected](const dataset::PartitionPlan& p) {
      return selected(p.path) &&
             (shard.count <= 1 || dataset::PartitionAssigned(p.path, shard, 0, 1));
    };
  }
  if (customize) customize(&reader_options);
  ARROW_RETURN_NOT_OK(reader_options.Validate());
  auto reader = dataset::DatasetReader::Make(std::move(fs), base, reader_options);
  if (!reader.ok()) {
    return reader.status().WithMessage(options.dataset, ": ", reader.status().message());
  }
  return reader;
}

void PrintStats(const dataset::ReaderStats& stats, std::ostream& report) {
  report << fmt::format(
      "  files {} read, {} corrupt skipped, {} incompatible skipped; row groups {} read, "
      "{} skipped by time\n",
      stats.files_read, stats.corrupt_files, stats.incompatible_files,
      stats.row_groups_read, stats.row_groups_skipped);
  if (stats.unreadable_columns > 0 || stats.recovered_columns > 0 ||
      stats.io_retries > 0) {
    report << fmt::format(
        "  columns {} unreadable (read as nulls), {} recovered (upstream Q14); "
        "storage retries {}\n",
        stats.unreadable_columns, stats.recovered_columns, stats.io_retries);
  }
  report << fmt::format("  OTAP {} batches, {} roots; orphan rows {}\n",
                        stats.batches_emitted, stats.roots_emitted, stats.orphan_rows);
  if (stats.id_collisions > 0) {
    report << fmt::format(
        "  id collisions: {} partition signal(s) not replayed (two writers in one id "
        "space; see the error log for the files)\n",
        stats.id_collisions);
  }
  for (int i = 0; i < kPayloadTypeSlots; ++i) {
    if (stats.rows_per_table[i] == 0) continue;
    report << fmt::format("    {:<32} {:>10} rows\n",
                          TableName(static_cast<PayloadType>(i)),
                          stats.rows_per_table[i]);
  }
}

// Converts the `roots` roots of a batch that did not convert as a whole one by one,
// with a second reader of one root per batch over the batch's (partition, signal)
// only, resumed where the batch started (`start`; nullptr = at the beginning of the
// partition's roots): only the records that do not convert are skipped (each
// reported; as the OTLP exporter rejects such data in a pipeline).
template <typename Write>
Status ConvertRootByRoot(const ReplayOptions& options, const dataset::ReaderPosition& at,
                         const dataset::ReaderPosition* start, int64_t roots,
                         Write&& write, ReplaySkips* skips) {
  ReplayOptions one = options;
  one.batch_size = 1;
  one.signals = {at.signal};
  ARROW_ASSIGN_OR_RAISE(
      auto single, OpenReader(one, [&](dataset::ReaderOptions* ro) {
        const std::string partition = at.partition_path;
        ro->partition_filter = [partition](const dataset::PartitionPlan& p) {
          return p.path == partition;
        };
        if (start == nullptr) return;
        const dataset::ReaderPosition from = *start;
        ro->resume = [from](const dataset::PartitionPlan& p, Signal signal) {
          dataset::ResumePoint point;
          for (const auto& file : p.FilesOf(RootPayloadType(signal))) {
            if (file.path == from.root_file) break;
            point.done_files.push_back(file.path);
          }
          point.file = from.root_file;
          point.row = from.root_row_in_file;
          return point;
        };
      }));
  for (int64_t done = 0; done < roots;) {
    ARROW_ASSIGN_OR_RAISE(auto root, single->Next());
    if (!root) {
      return Status::Invalid("re-reading partition ", at.partition_path, " found ", done,
                             " of ", roots, " roots");
    }
    done += root->num_root_rows();
    auto converted = otlp::FromOtap(*root);
    if (converted.ok()) {
      ARROW_RETURN_NOT_OK(write(*root, *converted));
      continue;
    }
    // The reader stands after this root: at the next row of its file, unless the
    // root was the last of its file.
    const auto position = single->position();
    const std::string where = position.root_row_in_file > 0
                                  ? fmt::format("root_file={} row={}", position.root_file,
                                                position.root_row_in_file - 1)
                                  : std::string("(last row of a root file)");
    spdlog::warn("convert.record.skip partition={} {} records={} reason=\"{}\"",
                 position.partition_path, where, root->num_items(),
                 converted.status().message());
    skips->records += root->num_items();
  }
  return Status::OK();
}

}  // namespace

bool IsDatasetInput(const std::string& input) { return !IsOtlpFileOutput(input); }

Status RunConvertFromDataset(const ReplayOptions& options, std::ostream& report,
                             ReplaySkips* skips) {
  ReplaySkips own;
  if (skips == nullptr) skips = &own;
  if (IsDatasetInput(options.output)) {
    return Status::NotImplemented(
        "dataset to dataset: convert to an OTLP file first, or use a pipeline");
  }
  ARROW_ASSIGN_OR_RAISE(auto format, otlp::FormatFromPath(options.output));
  ARROW_ASSIGN_OR_RAISE(auto progress_mode, ParseProgressMode(options.progress));
  // Any INPUT without an OTLP file extension is a dataset: a mistyped file name or
  // a missing directory must not replay as an empty dataset (exit 0, empty OUTPUT).
  ARROW_ASSIGN_OR_RAISE(auto storage, dataset::StorageConfigFromUri(options.dataset));
  if (storage.kind == dataset::StorageKind::kFile) {
    const std::string path = options.dataset.rfind("file://", 0) == 0
                                 ? options.dataset.substr(7)
                                 : options.dataset;
    std::error_code error;
    if (!std::filesystem::is_directory(path, error)) {
      return Status::IOError(
          "no dataset directory at ", options.dataset,
          " (an OTLP input file is named .jsonl, .json, .ndjson, .pb, .binpb or .otlp)");
    }
  }
  // A pass whose plan went stale (a listed file vanished, e.g. superseded by a
  // compaction whose grace period ended) lists the dataset again and resumes after
  // what was written, in the compacted partition when the file was superseded (as
  // receiver:parquet does). More than a few in a row without progress means files
  // are deleted faster than they are listed: then give up.
  dataset::ReplanPolicy replan_policy;
  replan_policy.max_consecutive = 10;
  ARROW_ASSIGN_OR_RAISE(
      auto reader,
      dataset::ReplanningReader::Make(
          [&options](
              std::function<dataset::ResumePoint(const dataset::PartitionPlan&, Signal)>
                  resume) {
            return OpenReader(options, [&resume](dataset::ReaderOptions* ro) {
              ro->resume = std::move(resume);
            });
          },
          dataset::Replanner(replan_policy, util::EventLog(nullptr, "convert"),
                             fmt::format("dataset={}", options.dataset))));
  ProgressReporter progress(progress_mode, "convert", "records");
  const auto start = std::chrono::steady_clock::now();
  std::unique_ptr<otlp::OtlpFileWriter> writer;
  ARROW_ASSIGN_OR_RAISE(writer, otlp::OtlpFileWriter::Open(options.output, format));
  std::array<int64_t, 3> items{};
  auto write = [&](const OtapBatch& batch, const otlp::OtlpRequest& request) {
    items[static_cast<size_t>(batch.signal())] += batch.num_items();
    progress.Add(batch.num_items(), 0);
    auto st = writer->Write(request);
    if (!st.ok()) return st.WithMessage(options.output, ": ", st.message());
    return Status::OK();
  };
  // Where the reader stood before the current batch (resume point of a re-read),
  // within the listing (`listing`: replans so far) the batch came from.
  dataset::ReaderPosition before;
  bool have_before = false;
  int64_t listing = 0;
  while (true) {
    auto next = reader->Next();
    if (reader->replans() != listing) {
      listing = reader->replans();
      have_before = false;
    }
    if (!next.ok() && dataset::IsRetryableReadError(next.status())) {
      return next.status().WithMessage(
          next.status().message(),
          "; the output is incomplete: run the conversion again once the storage "
          "answers");
    }
    ARROW_ASSIGN_OR_RAISE(auto batch, std::move(next));
    if (!batch) break;
    const dataset::ReaderPosition after = reader->reader().position();
    auto request = otlp::FromOtap(*batch);
    if (request.ok()) {
      ARROW_RETURN_NOT_OK(write(*batch, *request));
    } else {
      ++skips->batches;
      const bool same_unit = have_before &&
                             before.partition_index == after.partition_index &&
                             before.signal == after.signal && !before.root_file.empty();
      ARROW_RETURN_NOT_OK(ConvertRootByRoot(options, after, same_unit ? &before : nullptr,
                                            batch->num_root_rows(), write, skips));
    }
    before = after;
    have_before = true;
    if (options.after_batch) options.after_batch();
  }
  ARROW_RETURN_NOT_OK(writer->Close());
  progress.Finish();
  const double seconds =
      std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  report << fmt::format(
      "converted dataset {} to {} in {:.3f}s: {} log records, {} spans, "
      "{} data points\n",
      options.dataset, options.output, seconds, items[0], items[1], items[2]);
  const dataset::ReaderStats stats = reader->stats();
  PrintStats(stats, report);
  if (const int64_t replans = reader->replans(); replans > 0) {
    report << fmt::format(
        "  listed again {} time(s): files vanished after the listing (e.g. superseded "
        "by a compaction); replay resumed after what was written\n",
        replans);
  }
  skips->files = stats.corrupt_files + stats.incompatible_files;
  skips->columns = stats.unreadable_columns;
  skips->entries = reader->reader().plan().skipped_entries;
  skips->partitions = stats.id_collisions;
  if (skips->any()) {
    report << fmt::format(
        "  skipped input: {} files, {} columns read as nulls, {} paths, {} records that "
        "do not convert (in {} batches), {} partition signals with colliding ids; see "
        "the warnings above (exit code 3)\n",
        skips->files, skips->columns, skips->entries, skips->records, skips->batches,
        skips->partitions);
  }
  return Status::OK();
}

// CPU seconds (user + system) of this process so far.
double CpuSeconds() {
  rusage usage{};
  getrusage(RUSAGE_SELF, &usage);
  auto seconds = [](const timeval& tv) { return tv.tv_sec + tv.tv_usec / 1e6; };
  return seconds(usage.ru_utime) + seconds(usage.ru_stime);
}

Status RunBenchReplay(const ReplayOptions& options, std::ostream& report) {
  ARROW_ASSIGN_OR_RAISE(auto reader, OpenReader(options));
  const double cpu_start = CpuSeconds();
  const auto start = std::chrono::steady_clock::now();
  int64_t roots = 0;
  while (true) {
    ARROW_ASSIGN_OR_RAISE(auto batch, reader->Next());
    if (!batch) break;
    roots += batch->num_root_rows();
  }
  const double seconds =
      std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  const double cpu = CpuSeconds() - cpu_start;
  rusage usage{};
  getrusage(RUSAGE_SELF, &usage);
  // Wall-clock rate, and the rate per CPU second (one thread: the per-core rate, which
  // holds on a busy machine).
  report << fmt::format(
      "replayed {} root records in {:.3f}s: {:.0f} records/s; CPU {:.3f}s: {:.0f} "
      "records/CPU-s; peak RSS {:.1f} MiB\n",
      roots, seconds, seconds > 0 ? roots / seconds : 0.0, cpu,
      cpu > 0 ? roots / cpu : 0.0, usage.ru_maxrss / 1024.0);
  PrintStats(reader->stats(), report);
  return Status::OK();
}

}  // namespace otap_parquet::cli
