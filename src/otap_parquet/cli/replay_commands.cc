// SPDX-License-Identifier: Apache-2.0
#include "otap_parquet/cli/replay_commands.h"

#include <sys/resource.h>

#include <chrono>
#include <cmath>
#include <ctime>

#include <fmt/format.h>

#include "otap_parquet/dataset/dataset_reader.h"
#include "otap_parquet/otlp/convert.h"
#include "otap_parquet/otlp/otlp_file.h"

namespace otap_parquet::cli {

using arrow::Status;

namespace {

arrow::Result<std::unique_ptr<dataset::DatasetReader>> OpenReader(
    const ReplayOptions& options) {
  std::string base;
  ARROW_ASSIGN_OR_RAISE(auto fs, dataset::FileSystemFromUri(
                                     options.dataset, options.flags.ToS3Config(), &base));
  dataset::ReaderOptions reader_options;
  if (!options.signals.empty()) reader_options.signals = options.signals;
  reader_options.batch_size = options.batch_size;
  if (options.start_unix_nano || options.end_unix_nano) {
    dataset::TimeRange range;
    if (options.start_unix_nano) range.start_unix_nano = *options.start_unix_nano;
    if (options.end_unix_nano) range.end_unix_nano = *options.end_unix_nano;
    reader_options.time_range = range;
  }
  ARROW_RETURN_NOT_OK(reader_options.Validate());
  auto reader = dataset::DatasetReader::Make(std::move(fs), base, reader_options);
  if (!reader.ok()) {
    return reader.status().WithMessage(options.dataset, ": ", reader.status().message());
  }
  return reader;
}

void PrintStats(const dataset::ReaderStats& stats, std::ostream& report) {
  report << fmt::format(
      "  files {} read, {} corrupt skipped; row groups {} read, {} skipped by time\n",
      stats.files_read, stats.corrupt_files, stats.row_groups_read,
      stats.row_groups_skipped);
  report << fmt::format("  OTAP {} batches, {} roots; orphan rows {}\n",
                        stats.batches_emitted, stats.roots_emitted, stats.orphan_rows);
  if (stats.id_collisions > 0) {
    report << fmt::format(
        "  id collisions: {} partition(s) not replayed (two writers in one id space; "
        "see the error log for the files)\n",
        stats.id_collisions);
  }
  for (int i = 0; i < kPayloadTypeSlots; ++i) {
    if (stats.rows_per_table[i] == 0) continue;
    report << fmt::format("    {:<32} {:>10} rows\n",
                          TableName(static_cast<PayloadType>(i)),
                          stats.rows_per_table[i]);
  }
}

}  // namespace

bool IsDatasetInput(const std::string& input) { return !IsOtlpFileOutput(input); }

arrow::Result<int64_t> ParseTimeBound(const std::string& text) {
  if (!text.empty() && text.find_first_not_of("0123456789") == std::string::npos) {
    try {
      return static_cast<int64_t>(std::stoll(text));
    } catch (const std::exception&) {
      return Status::Invalid("time '", text, "' does not fit in 64 bits");
    }
  }
  std::tm tm{};
  const char* rest = strptime(text.c_str(), "%Y-%m-%dT%H:%M:%S", &tm);
  if (rest == nullptr) {
    return Status::Invalid("time '", text,
                           "': expected Unix nanoseconds or RFC 3339 UTC like "
                           "2026-11-23T10:00:00Z");
  }
  int64_t nanos = 0;
  if (*rest == '.') {
    ++rest;
    int digits = 0;
    while (*rest >= '0' && *rest <= '9') {
      if (digits < 9) nanos = nanos * 10 + (*rest - '0');
      ++digits;
      ++rest;
    }
    for (; digits < 9; ++digits) nanos *= 10;
  }
  if (std::string(rest) != "Z" && std::string(rest) != "+00:00") {
    return Status::Invalid("time '", text, "': only UTC (Z) is accepted");
  }
  return static_cast<int64_t>(timegm(&tm)) * 1'000'000'000 + nanos;
}

Status RunConvertFromDataset(const ReplayOptions& options, std::ostream& report) {
  if (IsDatasetInput(options.output)) {
    return Status::NotImplemented(
        "dataset to dataset: convert to an OTLP file first, or use a pipeline");
  }
  ARROW_ASSIGN_OR_RAISE(auto format, otlp::FormatFromPath(options.output));
  ARROW_ASSIGN_OR_RAISE(auto reader, OpenReader(options));
  const auto start = std::chrono::steady_clock::now();
  std::unique_ptr<otlp::OtlpFileWriter> writer;
  ARROW_ASSIGN_OR_RAISE(writer, otlp::OtlpFileWriter::Open(options.output, format));
  std::array<int64_t, 3> items{};
  while (true) {
    ARROW_ASSIGN_OR_RAISE(auto batch, reader->Next());
    if (!batch) break;
    ARROW_ASSIGN_OR_RAISE(auto request, otlp::FromOtap(*batch));
    items[static_cast<size_t>(batch->signal())] += batch->num_items();
    auto st = writer->Write(request);
    if (!st.ok()) return st.WithMessage(options.output, ": ", st.message());
  }
  ARROW_RETURN_NOT_OK(writer->Close());
  const double seconds =
      std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  report << fmt::format(
      "converted dataset {} to {} in {:.3f}s: {} log records, {} spans, "
      "{} data points\n",
      options.dataset, options.output, seconds, items[0], items[1], items[2]);
  PrintStats(reader->stats(), report);
  if (reader->stats().id_collisions > 0) {
    // The rest was replayed, but the output is not the whole dataset: fail.
    return Status::Invalid(options.dataset, ": ", reader->stats().id_collisions,
                           " partition(s) not replayed because two writers numbered "
                           "ids in one id space (files named in the log above)");
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
