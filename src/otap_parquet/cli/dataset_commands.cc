// SPDX-License-Identifier: Apache-2.0
#include "otap_parquet/cli/dataset_commands.h"

#include <sys/resource.h>

#include <algorithm>
#include <chrono>
#include <filesystem>
#include <map>
#include <utility>

#include <fmt/format.h>

#include "otap_parquet/cli/progress.h"
#include "otap_parquet/config/config_reader.h"
#include "otap_parquet/config/units.h"
#include "otap_parquet/otlp/convert.h"
#include "otap_parquet/otlp/otlp_file.h"
#include "otap_parquet/storage/kill_points.h"

namespace otap_parquet::cli {

using arrow::Status;

namespace {

/// Reads every input file and converts each request to OtapBatches, handing each
/// batch to `sink`. Errors name the file and request index.
template <typename Sink>
Status ForEachBatch(const std::vector<std::string>& inputs, std::optional<Signal> signal,
                    int64_t max_batch_rows, Sink&& sink) {
  otlp::ToOtapOptions to_otap;
  to_otap.max_root_rows = max_batch_rows;
  for (const auto& path : inputs) {
    ARROW_ASSIGN_OR_RAISE(auto reader, otlp::OtlpFileReader::Open(path, signal));
    int64_t index = 0;
    while (true) {
      ARROW_ASSIGN_OR_RAISE(auto request, reader->Next());
      if (!request) break;
      auto batches = otlp::ToOtap(*request, to_otap);
      if (!batches.ok()) {
        return batches.status().WithMessage(path, ": request ", index, ": ",
                                            batches.status().message());
      }
      for (auto& batch : *batches) ARROW_RETURN_NOT_OK(sink(std::move(batch)));
      ++index;
    }
  }
  return Status::OK();
}

/// CPU seconds (user + system, all threads) of this process so far.
double ProcessCpuSeconds() {
  rusage usage{};
  ::getrusage(RUSAGE_SELF, &usage);
  auto seconds = [](const timeval& t) {
    return static_cast<double>(t.tv_sec) + static_cast<double>(t.tv_usec) * 1e-6;
  };
  return seconds(usage.ru_utime) + seconds(usage.ru_stime);
}

void PrintMetrics(const dataset::WriterMetrics& m, std::ostream& report) {
  report << fmt::format("  files {:>8} published, {} discarded, {} bytes\n",
                        m.files_closed, m.files_discarded, m.bytes_written);
  for (int i = 0; i < kPayloadTypeSlots; ++i) {
    if (m.rows_written[i] == 0) continue;
    report << fmt::format("    {:<32} {:>10} rows\n",
                          TableName(static_cast<PayloadType>(i)), m.rows_written[i]);
  }
}

// WriterOptions::column_encodings as "column:encoding,..." ("none" when empty).
std::string EncodingsText(const dataset::WriterOptions& o) {
  if (o.column_encodings.empty()) return "none";
  std::string out;
  for (const auto& [column, encoding] : o.column_encodings) {
    if (!out.empty()) out += ',';
    out += column + ':' + std::string(dataset::ColumnEncodingName(encoding));
  }
  return out;
}

}  // namespace

arrow::Result<std::pair<dataset::WriterOptions, dataset::PartitioningOptions>>
DatasetFlags::ToOptions() const {
  dataset::WriterOptions options;
  if (!writer_options.empty()) {
    // The exporter's `writer_options` block; the flags below override it.
    ARROW_ASSIGN_OR_RAISE(auto node,
                          config::LoadYaml(writer_options, "--writer-options"));
    ARROW_ASSIGN_OR_RAISE(
        options, config::ParseTyped<dataset::WriterOptions>(node, "--writer-options"));
  }
  if (!compression.empty()) {
    auto codec = dataset::CompressionFromName(compression);
    if (!codec.ok())
      return codec.status().WithMessage("--compression: ", codec.status().message());
    options.compression = *codec;
  }
  if (rows_per_file < 0) return Status::Invalid("--rows-per-file must be >= 0");
  if (rows_per_file > 0) options.target_rows_per_file = rows_per_file;
  if (!bloom_filter_columns.empty()) options.bloom_filter_columns = bloom_filter_columns;
  // `_part_id` is always the innermost level (PartitioningOptions): `part_id` and
  // `none` add nothing to it.
  dataset::PartitioningOptions partitioning;
  for (const auto& level : partition_by) {
    if (level == "part_id" || level == "_part_id") {
      continue;
    } else if (level == "hour" || level == "day") {
      const auto granularity = level == "hour" ? dataset::TimeGranularity::kHour
                                               : dataset::TimeGranularity::kDay;
      if (partitioning.event_time && *partitioning.event_time != granularity) {
        return Status::Invalid("--partition-by: choose one of hour and day");
      }
      partitioning.event_time = granularity;
    } else if (level.rfind("resource:", 0) == 0) {
      if (!partitioning.resource_attribute.empty() || level.size() == 9) {
        return Status::Invalid(
            "--partition-by: one resource:<attribute key> level, e.g. "
            "resource:service.name");
      }
      partitioning.resource_attribute = level.substr(9);
    } else if (level != "none") {
      return Status::Invalid("--partition-by: unknown level '", level,
                             "'; expected part_id, hour, day, resource:<key> or none");
    }
  }
  ARROW_RETURN_NOT_OK(options.Validate());
  return std::make_pair(options, partitioning);
}

dataset::S3Config DatasetFlags::ToS3Config() const {
  dataset::S3Config s3;
  s3.endpoint = s3_endpoint;
  s3.region = s3_region;
  s3.allow_http = allow_http;
  return s3;
}

arrow::Result<dataset::StorageConfig> DatasetFlags::ToStorageSettings() const {
  dataset::StorageConfig settings;
  settings.s3 = ToS3Config();
  if (!retry_timeout.empty()) {
    auto timeout = config::ParseDuration(retry_timeout);
    if (!timeout.ok()) {
      return Status::Invalid("--retry-timeout: ", timeout.status().message());
    }
    settings.retry.retry_timeout =
        std::chrono::duration_cast<std::chrono::milliseconds>(*timeout);
  }
  if (max_retries >= 0) settings.retry.max_retries = max_retries;
  return settings;
}

bool IsOtlpFileOutput(const std::string& output) {
  if (output.find("://") != std::string::npos) return false;
  return otlp::FormatFromPath(output).ok();
}

Status RunConvertToDataset(const ConvertOptions& options, const DatasetFlags& flags,
                           std::ostream& report) {
  if (options.inputs.empty()) return Status::Invalid("convert: no input file");
  if (options.verify) {
    return Status::NotImplemented("--verify needs an OTLP output file (.jsonl or .pb)");
  }
  ARROW_ASSIGN_OR_RAISE(auto progress_mode, ParseProgressMode(options.progress));
  ARROW_ASSIGN_OR_RAISE(auto selected, flags.ToOptions());
  auto [writer_options, partitioning] = std::move(selected);
  dataset::DatasetWriterSettings settings;
  ARROW_ASSIGN_OR_RAISE(auto storage, flags.ToStorageSettings());
  ARROW_ASSIGN_OR_RAISE(
      settings.filesystem,
      dataset::FileSystemFromUri(options.output, storage, &settings.base_path));
  // Records written, and input bytes by whole files (the readers keep no offset).
  ProgressReporter progress(progress_mode, "convert", "records");
  std::vector<int64_t> input_sizes;
  int64_t input_bytes = 0;
  for (const auto& input : options.inputs) {
    std::error_code error;
    const auto size = std::filesystem::file_size(input, error);
    input_sizes.push_back(error ? 0 : static_cast<int64_t>(size));
    input_bytes += input_sizes.back();
  }
  progress.SetTotal(0, input_bytes);
  settings.fsync = !flags.no_fsync;
  ARROW_ASSIGN_OR_RAISE(
      auto writer,
      dataset::DatasetWriter::Make(writer_options, partitioning, std::move(settings)));
  const auto start = std::chrono::steady_clock::now();
  std::vector<arrow::Future<>> acks;
  int64_t batches = 0;
  std::map<Signal, int64_t> items;
  // A failure after some files were published (rotated at --rows-per-file) leaves
  // them in the dataset: say where, or a second run writes their records twice.
  const std::string part_id = writer->part_id();
  auto failed = [&](const Status& st) {
    const int64_t published = writer->metrics().files_closed;
    if (published == 0) return st;
    return st.WithMessage(
        st.message(), "; ", published, " file(s) of this run were already published in ",
        options.output, " under _part_id=", part_id,
        ": delete them before converting again (otap-parquet partitions delete ",
        options.output, " --partition _part_id=", part_id, " --apply)");
  };
  for (size_t i = 0; i < options.inputs.size(); ++i) {
    auto st = ForEachBatch({options.inputs[i]}, options.signal, options.max_batch_rows,
                           [&](OtapBatch batch) -> Status {
                             ++batches;
                             items[batch.signal()] += batch.num_items();
                             progress.Add(batch.num_items(), 0);
                             acks.push_back(writer->Write(batch));
                             // Fail fast: a failed batch is final here.
                             if (acks.back().is_finished()) {
                               ARROW_RETURN_NOT_OK(acks.back().status());
                             }
                             return Status::OK();
                           });
    if (!st.ok()) return failed(st);
    progress.Add(0, input_sizes[i]);
  }
  if (auto st = writer->Close(); !st.ok()) return failed(st);
  progress.Finish();
  for (auto& ack : acks) {
    if (!ack.status().ok()) return failed(ack.status());
  }
  const double seconds =
      std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  report << "converted " << options.inputs.size() << " file(s) to dataset "
         << options.output
         << fmt::format(" ({} OTAP batches) in {:.3f}s\n", batches, seconds);
  for (const auto& [signal, count] : items) {
    report << fmt::format("  {:<8} {:>10} {}\n", SignalName(signal), count,
                          signal == Signal::kMetrics ? "data points"
                          : signal == Signal::kLogs  ? "log records"
                                                     : "spans");
  }
  PrintMetrics(writer->metrics(), report);
  return Status::OK();
}

Status RunBenchWrite(const BenchWriteOptions& options, std::ostream& report) {
  if (options.inputs.empty()) return Status::Invalid("bench write: no input file");
  if (options.repeat < 1) return Status::Invalid("--repeat must be >= 1");
  ARROW_ASSIGN_OR_RAISE(auto selected, options.flags.ToOptions());
  auto [writer_options, partitioning] = std::move(selected);

  std::vector<OtapBatch> batches;
  int64_t records = 0;
  ARROW_RETURN_NOT_OK(ForEachBatch(options.inputs, options.signal, options.max_batch_rows,
                                   [&](OtapBatch batch) -> Status {
                                     records += batch.num_items();
                                     batches.push_back(std::move(batch));
                                     return Status::OK();
                                   }));
  if (batches.empty())
    return Status::Invalid("bench write: the inputs hold no telemetry");

  std::string dir = options.dir;
  const bool temporary = dir.empty();
  if (temporary) {
    std::string pattern =
        (std::filesystem::temp_directory_path() / "otap-bench-XXXXXX").string();
    if (::mkdtemp(pattern.data()) == nullptr) {
      return Status::IOError("bench write: cannot create a temporary directory");
    }
    dir = pattern;
  }
  dataset::DatasetWriterSettings settings;
  ARROW_ASSIGN_OR_RAISE(
      settings.filesystem,
      dataset::FileSystemFromUri(dir, options.flags.ToS3Config(), &settings.base_path));
  settings.fsync = !options.flags.no_fsync;
  ARROW_ASSIGN_OR_RAISE(
      auto writer,
      dataset::DatasetWriter::Make(writer_options, partitioning, std::move(settings)));

  std::vector<arrow::Future<>> acks;
  acks.reserve(batches.size() * static_cast<size_t>(options.repeat));
  const auto start = std::chrono::steady_clock::now();
  const double cpu_start = ProcessCpuSeconds();
  for (int r = 0; r < options.repeat; ++r) {
    for (const auto& batch : batches) acks.push_back(writer->Write(batch));
  }
  Status closed = writer->Close();
  const double cpu_seconds = ProcessCpuSeconds() - cpu_start;
  const double seconds =
      std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  ARROW_RETURN_NOT_OK(closed);
  for (auto& ack : acks) ARROW_RETURN_NOT_OK(ack.status());

  const auto metrics = writer->metrics();
  const int64_t total = records * options.repeat;
  report << fmt::format(
      "bench write: {} records ({} OTAP batches) x{} into {} ({}, {}{})\n", records,
      batches.size(), options.repeat, dir,
      dataset::CompressionName(writer->options().compression),
      !partitioning.event_time                                      ? "by _part_id"
      : *partitioning.event_time == dataset::TimeGranularity::kHour ? "by hour, _part_id"
                                                                    : "by day, _part_id",
      options.flags.no_fsync ? ", no fsync" : "");
  report << fmt::format("  time          {:.3f} s\n", seconds);
  report << fmt::format("  throughput    {:.0f} records/s\n",
                        static_cast<double>(total) / seconds);
  // CPU time is what "per core" means, and it holds on a busy machine.
  report << fmt::format("  cpu time      {:.3f} s (user + system, all threads)\n",
                        cpu_seconds);
  report << fmt::format("  per cpu       {:.0f} records/cpu-s\n",
                        static_cast<double>(total) / std::max(cpu_seconds, 1e-9));
  const auto& o = writer->options();
  report << fmt::format(
      "  properties    compression={} level={} row_group_size={} data_page_size={} "
      "max_rows_per_page={} statistics={} string_statistics={} dictionary={} "
      "encodings={} attribute_order={} page_index={} bloom_filters={} "
      "write_batch_size={}\n",
      dataset::CompressionName(o.compression),
      o.compression_level ? std::to_string(*o.compression_level) : "default",
      o.row_group_size, o.data_page_size,
      o.max_rows_per_page > 0 ? o.max_rows_per_page : o.row_group_size,
      o.statistics ? "on" : "off", o.string_statistics ? "on" : "off",
      o.dictionary ? fmt::format("{}", fmt::join(o.dictionary_columns, ","))
                   : std::string("off"),
      EncodingsText(o), dataset::AttributeOrderName(o.attribute_order),
      o.page_index ? "on" : "off",
      o.bloom_filter_columns.empty()
          ? std::string("none")
          : fmt::format("{}", fmt::join(o.bloom_filter_columns, ",")),
      dataset::WriteBatchSize(o));
  report << fmt::format(
      "  on disk       {} bytes in {} files, {:.1f} bytes/record\n",
      metrics.bytes_written, metrics.files_closed,
      static_cast<double>(metrics.bytes_written) / static_cast<double>(total));
  if (temporary) {
    std::error_code ec;
    std::filesystem::remove_all(dir, ec);
  }
  return Status::OK();
}

arrow::Result<std::shared_ptr<arrow::fs::FileSystem>> OpenDataset(
    const std::string& uri, const DatasetFlags& flags, std::string* base) {
  ARROW_ASSIGN_OR_RAISE(auto storage, dataset::StorageConfigFromUri(uri));
  if (storage.kind == dataset::StorageKind::kFile) {
    std::string path = uri.rfind("file://", 0) == 0 ? uri.substr(7) : uri;
    if (!std::filesystem::is_directory(path)) {
      return Status::IOError("no dataset directory at ", uri);
    }
  }
  ARROW_ASSIGN_OR_RAISE(auto settings, flags.ToStorageSettings());
  ARROW_ASSIGN_OR_RAISE(auto fs, dataset::FileSystemFromUri(uri, settings, base));
  ARROW_ASSIGN_OR_RAISE(auto info, fs->GetFileInfo(*base));
  if (info.type() != arrow::fs::FileType::Directory) {
    return Status::IOError("no dataset at ", dataset::DisplayUri(*fs, *base));
  }
  // Tests: crash points at every storage change (storage/kill_points.h).
  return dataset::WithStorageEvents(std::move(fs));
}

}  // namespace otap_parquet::cli
