// SPDX-License-Identifier: Apache-2.0
// otap-parquet command line.

#include <cstdlib>
#include <initializer_list>
#include <iostream>

#include <spdlog/cfg/env.h>
#include <spdlog/sinks/stdout_color_sinks.h>
#include <spdlog/spdlog.h>
#include <CLI/CLI.hpp>

#include "otap_parquet/cli/commands.h"
#include "otap_parquet/cli/compact_command.h"
#include "otap_parquet/cli/dataset_commands.h"
#include "otap_parquet/cli/inspect_command.h"
#include "otap_parquet/cli/partitions_command.h"
#include "otap_parquet/cli/progress.h"
#include "otap_parquet/cli/repair_command.h"
#include "otap_parquet/cli/replay_commands.h"
#include "otap_parquet/cli/run_cli.h"
#include "otap_parquet/cli/sql_command.h"
#include "otap_parquet/config/time_bound.h"
#include "otap_parquet/config/units.h"
#include "otap_parquet/dataset/sharding.h"
#include "otap_parquet/util/memory.h"
#include "otap_parquet/version.h"

namespace {

using otap_parquet::Signal;

constexpr int kExitFailure = 1;
constexpr int kExitUsage = 2;
// Completed, but some input was skipped (reported on stderr; docs/cli.md).
constexpr int kExitSkippedInput = 3;

// Parses a signal name for CLI options.
Signal ParseSignal(const std::string& name) {
  auto signal = otap_parquet::SignalFromName(name);
  if (!signal) throw CLI::ValidationError("--signal", "expected logs, traces or metrics");
  return *signal;
}

// A CLI11 check from one of our parsers: a value it refuses is a usage error (exit
// 2, naming the option) found before the command starts, not a failure (exit 1)
// after it may have begun work.
template <typename Parse>
CLI::Validator Parses(std::string what, Parse parse) {
  return CLI::Validator(
      [parse](std::string& value) -> std::string {
        auto parsed = parse(value);
        if (parsed.ok()) return std::string();
        // CLI11 puts the option's name first; some parsers name it too.
        std::string message = parsed.status().message();
        if (message.rfind("--", 0) == 0 && message.find(": ") != std::string::npos) {
          message = message.substr(message.find(": ") + 2);
        }
        return message;
      },
      std::move(what));
}

CLI::Validator IsDuration() {
  return Parses("DURATION", [](const std::string& s) {
    return otap_parquet::config::ParseDuration(s);
  });
}

CLI::Validator IsProgressMode() {
  return Parses("auto|always|never", [](const std::string& s) {
    return otap_parquet::cli::ParseProgressMode(s);
  });
}

CLI::Validator IsTimeBound() {
  return Parses("TIME", [](const std::string& s) {
    return otap_parquet::config::ParseTimeBound(s);
  });
}

// Adds the object-store retry flags (the exporter's `retry` block).
void AddRetryFlags(CLI::App* cmd, otap_parquet::cli::DatasetFlags* flags) {
  cmd->add_option("--retry-timeout", flags->retry_timeout,
                  "object stores: how long one request is retried (e.g. 30s; default "
                  "3m)")
      ->check(IsDuration());
  cmd->add_option("--max-retries", flags->max_retries,
                  "object stores: most retries of one request (default 10; 0 = none)")
      ->check(CLI::NonNegativeNumber);
}

// Adds the flags of the storage a dataset is read from or written to: S3 and the
// retries of object-store requests.
void AddStorageFlags(CLI::App* cmd, otap_parquet::cli::DatasetFlags* flags) {
  cmd->add_option("--s3-endpoint", flags->s3_endpoint,
                  "S3 endpoint override (host:port or http(s)://host:port)");
  cmd->add_option("--s3-region", flags->s3_region, "S3 region");
  cmd->add_flag("--allow-http", flags->allow_http, "allow plain http to the S3 endpoint");
  AddRetryFlags(cmd, flags);
}

// Adds the dataset-writing flags shared by `convert` and `bench write`.
void AddDatasetFlags(CLI::App* cmd, otap_parquet::cli::DatasetFlags* flags) {
  cmd->add_option("--compression", flags->compression,
                  "Parquet codec: zstd (default), snappy, lz4, gzip, brotli, none");
  cmd->add_option("--rows-per-file", flags->rows_per_file,
                  "publish a partition once a table file holds N rows")
      ->check(CLI::NonNegativeNumber);
  cmd->add_option("--partition-by", flags->partition_by,
                  "directory levels: resource:<key> (a resource attribute, e.g. "
                  "resource:service.name; outermost), hour or day (event time), part_id "
                  "or none (no more levels); _part_id=<uuid> is always the innermost "
                  "level");
  cmd->add_option("--writer-options", flags->writer_options,
                  "YAML mapping of exporter:parquet writer_options (e.g. "
                  "'{attribute_order: as_received}'); the other flags override it");
  cmd->add_option("--bloom-filter", flags->bloom_filter_columns,
                  "write a bloom filter on this column (e.g. trace_id); repeatable");
  AddStorageFlags(cmd, flags);
  cmd->add_flag("--no-fsync", flags->no_fsync,
                "do not fsync local files (faster, unsafe)");
}

int Report(const arrow::Status& status) {
  if (status.ok()) return 0;
  std::cerr << "error: " << status.message() << "\n";
  return kExitFailure;
}

}  // namespace

int main(int argc, char** argv) {
  // Before any thread or Arrow allocation: jemalloc for every Arrow buffer unless
  // ARROW_DEFAULT_MEMORY_POOL says otherwise, with our jemalloc options (may execute
  // the process again; docs/engine.md, "Memory").
  const auto memory_policy = otap_parquet::util::ApplyProcessMemoryPolicy(argv);
  CLI::App app{
      "otap-parquet: OpenTelemetry telemetry between the wire and Parquet, both ways"};
  app.set_version_flag("--version", std::string("otap-parquet ") + OTAP_PARQUET_VERSION +
                                        " (Arrow from " + OTAP_PARQUET_ARROW_SOURCE +
                                        ")");
  app.require_subcommand(1);

  // Lifecycle logs go to stderr; SPDLOG_LEVEL=info (or debug) shows them.
  spdlog::set_default_logger(spdlog::stderr_color_mt("otap-parquet"));
  spdlog::set_level(spdlog::level::warn);
  spdlog::cfg::load_env_levels();
  spdlog::debug("memory: {}", memory_policy.ToString());

  otap_parquet::cli::ConvertOptions convert;
  otap_parquet::cli::DatasetFlags convert_dataset;
  std::string convert_signal;
  auto* convert_cmd = app.add_subcommand(
      "convert",
      "Convert OTLP files (.jsonl/.json JSON lines, .pb length-delimited protobuf) "
      "through OTAP into OUTPUT: an OTLP file, or a Parquet dataset (a directory, "
      "file:// or s3:// URI; new files are added, nothing is overwritten)");
  convert_cmd->add_option("files", convert.inputs, "INPUT... OUTPUT")
      ->required()
      ->expected(2, -1);
  convert_cmd->add_option("--signal", convert_signal,
                          "signal of protobuf inputs whose file name does not tell it");
  convert_cmd
      ->add_option("--max-batch-rows", convert.max_batch_rows,
                   "most root rows per OTAP batch (1..65535)")
      ->check(CLI::Range(1, 65535));
  convert_cmd->add_flag("--verify", convert.verify,
                        "check that OUTPUT holds the same telemetry as the inputs");
  convert_cmd
      ->add_option("--progress", convert.progress,
                   "progress line on stderr: auto (when stderr is a terminal), always, "
                   "never")
      ->check(IsProgressMode())
      ->capture_default_str();
  AddDatasetFlags(convert_cmd, &convert_dataset);
  std::string convert_start, convert_end;
  std::vector<std::string> convert_partitions;
  convert_cmd
      ->add_option("--start", convert_start,
                   "dataset input: only records at or after this time (Unix ns or "
                   "RFC 3339 UTC)")
      ->check(IsTimeBound());
  convert_cmd
      ->add_option("--end", convert_end, "dataset input: only records before this time")
      ->check(IsTimeBound());
  convert_cmd->add_option(
      "--partition", convert_partitions,
      "dataset input: only partitions with this level, key=value with the value as "
      "in the data (e.g. service.name=checkout, date=2026-11-01); repeatable (any)");
  std::string convert_shard;
  convert_cmd
      ->add_option("--shard", convert_shard,
                   "dataset input: only the partitions of shard K of N (K/N, "
                   "from 0), as receiver:parquet's shard")
      ->check(Parses("K/N", [](const std::string& s) {
        return otap_parquet::dataset::Shard::Parse(s);
      }));

  otap_parquet::cli::BenchWriteOptions bench_write;
  std::string bench_signal;
  auto* bench_cmd = app.add_subcommand("bench", "Benchmarks");
  bench_cmd->require_subcommand(1);
  auto* bench_write_cmd = bench_cmd->add_subcommand(
      "write",
      "Read INPUT... into memory as OTAP batches, then time only the dataset writer");
  bench_write_cmd->add_option("inputs", bench_write.inputs, "INPUT...")->required();
  bench_write_cmd->add_option("--signal", bench_signal, "signal of protobuf inputs");
  bench_write_cmd->add_option("--dir", bench_write.dir,
                              "dataset directory (default: a temporary one, removed)");
  bench_write_cmd->add_option("--repeat", bench_write.repeat, "write the inputs N times")
      ->check(CLI::PositiveNumber);
  bench_write_cmd
      ->add_option("--max-batch-rows", bench_write.max_batch_rows,
                   "most root rows per OTAP batch (1..65535)")
      ->check(CLI::Range(1, 65535));
  AddDatasetFlags(bench_write_cmd, &bench_write.flags);
  otap_parquet::cli::ReplayOptions bench_replay;
  // 16 Ki roots: the children of a batch mostly come from one reader slice, so the
  // replay is faster and its memory flat (BENCHMARKS.md, issue #4).
  bench_replay.batch_size = 16384;
  std::vector<std::string> bench_replay_signals;
  auto* bench_replay_cmd = bench_cmd->add_subcommand(
      "replay", "Replay DATASET into OTAP batches and discard them; records/s, peak RSS");
  bench_replay_cmd->add_option("dataset", bench_replay.dataset, "DATASET")->required();
  bench_replay_cmd->add_option("--signal", bench_replay_signals, "signals (default all)");
  bench_replay_cmd
      ->add_option("--batch-size", bench_replay.batch_size, "most roots per batch")
      ->check(CLI::Range(1, 65535))
      ->capture_default_str();
  // Only the storage's flags: a replay writes nothing (the writer's flags were
  // accepted and ignored).
  AddStorageFlags(bench_replay_cmd, &bench_replay.flags);

  otap_parquet::cli::GenerateOptions generate;
  std::vector<std::string> generate_signals;
  auto* generate_cmd = app.add_subcommand(
      "generate", "Write deterministic synthetic OTLP telemetry to OUTPUT");
  generate_cmd->add_option("output", generate.output, "OUTPUT file (.jsonl or .pb)")
      ->required();
  generate_cmd->add_option("--signal", generate_signals,
                           "logs, traces, metrics (default all)");
  generate_cmd->add_option("--requests", generate.requests, "requests per signal")
      ->check(CLI::NonNegativeNumber);
  generate_cmd->add_option("--items", generate.items_per_scope, "items per scope")
      ->check(CLI::PositiveNumber);
  generate_cmd->add_option("--seed", generate.seed, "random seed");
  generate_cmd->add_flag(
      "--edge-cases", generate.edge_cases,
      "cover every OTLP field and edge value instead of realistic data");

  std::string compare_expected, compare_actual, compare_signal;
  Signal compare_parsed_signal = Signal::kLogs;
  auto* compare_cmd = app.add_subcommand(
      "compare", "Exit 0 if two OTLP files hold the same telemetry (any batching/order)");
  compare_cmd->add_option("expected", compare_expected, "EXPECTED file")->required();
  compare_cmd->add_option("actual", compare_actual, "ACTUAL file")->required();
  compare_cmd->add_option("--signal", compare_signal, "signal of protobuf files");
  bool compare_ignore_upstream_losses = false;
  compare_cmd->add_flag(
      "--ignore-upstream-losses", compare_ignore_upstream_losses,
      "ignore what upstream's Parquet exporter drops (span and link flags, "
      "is_monotonic, zero_threshold, missing span end times)");

  otap_parquet::cli::DemoOptions demo;
  auto* demo_cmd = app.add_subcommand(
      "demo",
      "Run the main job on built-in synthetic telemetry and verify nothing is lost");
  demo_cmd->add_option("--dir", demo.dir, "working directory")->capture_default_str();
  demo_cmd->add_option("--seed", demo.seed, "random seed");

  otap_parquet::cli::RepairCommandOptions repair;
  auto* repair_cmd = app.add_subcommand(
      "repair",
      "List (with --apply remove) crash leftovers in DATASET: stale temporary files, "
      "child table files whose parent file never appeared, abandon markers of killed "
      "compact runs (docs/operations.md)");
  repair_cmd
      ->add_option("dataset", repair.dataset, "DATASET (directory, file:// or s3://)")
      ->required();
  repair_cmd->add_flag("--apply", repair.apply,
                       "remove what was found (default: dry run)");
  repair_cmd
      ->add_option("--progress", repair.progress,
                   "progress line on stderr: auto (when stderr is a terminal), always, "
                   "never")
      ->check(IsProgressMode())
      ->capture_default_str();
  repair_cmd
      ->add_option("--grace-period", repair.grace_period,
                   "only leftovers older than this are removed (e.g. 30m, 1h, 0s)")
      ->check(IsDuration())
      ->capture_default_str();
  repair_cmd->add_option("--s3-endpoint", repair.flags.s3_endpoint,
                         "S3 endpoint override (host:port or http(s)://host:port)");
  repair_cmd->add_option("--s3-region", repair.flags.s3_region, "S3 region");
  repair_cmd->add_flag("--allow-http", repair.flags.allow_http,
                       "allow plain http to the S3 endpoint");
  AddRetryFlags(repair_cmd, &repair.flags);

  otap_parquet::cli::CompactCommandOptions compact;
  auto* compact_cmd = app.add_subcommand(
      "compact",
      "Merge the small files of each partition of DATASET into files of the target "
      "size, as a new partition that supersedes the old one; readers never see a "
      "record twice or miss one (docs/operations.md)");
  compact_cmd
      ->add_option("dataset", compact.dataset, "DATASET (directory, file:// or s3://)")
      ->required();
  compact_cmd->add_flag("--dry-run", compact.dry_run,
                        "show what would be compacted and removed; change nothing");
  compact_cmd
      ->add_option("--older-than", compact.older_than,
                   "only partitions whose every file is older than this (e.g. 1h, 0s)")
      ->check(IsDuration())
      ->capture_default_str();
  compact_cmd->add_option("--partition", compact.partitions,
                          "partition path as `partitions` lists it; repeatable (default: "
                          "every partition with small files)");
  compact_cmd
      ->add_option("--target-size", compact.target_size, "bytes per new file (128MiB)")
      ->check(Parses("SIZE",
                     [](const std::string& s) -> arrow::Result<int64_t> {
                       ARROW_ASSIGN_OR_RAISE(auto bytes,
                                             otap_parquet::config::ParseBytes(s));
                       if (bytes <= 0)
                         return arrow::Status::Invalid("must be > 0, got '", s, "'");
                       return bytes;
                     }))
      ->capture_default_str();
  compact_cmd
      ->add_option("--grace", compact.grace,
                   "superseded files are deleted this long after their compaction "
                   "committed (by a later run; 0s = at once)")
      ->check(IsDuration())
      ->capture_default_str();
  compact_cmd->add_option(
      "--compression", compact.flags.compression,
      "Parquet codec: zstd (default), snappy, lz4, gzip, brotli, none");
  compact_cmd->add_option("--compression-level", compact.compression_level,
                          "codec level (0 = the codec's default)");
  compact_cmd
      ->add_option("--row-group-size", compact.row_group_size,
                   "rows per row group (0 = the writer's default, 1048576)")
      ->check(CLI::NonNegativeNumber);
  compact_cmd->add_option("--bloom-filter-column", compact.bloom_filter_columns,
                          "column with a bloom filter (e.g. trace_id); repeatable");
  compact_cmd->add_option("--dictionary-column", compact.dictionary_columns,
                          "dictionary-encoded column (\"*\" = all); repeatable; default: "
                          "the writer's list");
  compact_cmd->add_flag("--no-fsync", compact.flags.no_fsync,
                        "do not fsync local files (faster, unsafe)");
  compact_cmd->add_option("--s3-endpoint", compact.flags.s3_endpoint,
                          "S3 endpoint override (host:port or http(s)://host:port)");
  compact_cmd->add_option("--s3-region", compact.flags.s3_region, "S3 region");
  compact_cmd->add_flag("--allow-http", compact.flags.allow_http,
                        "allow plain http to the S3 endpoint");
  AddRetryFlags(compact_cmd, &compact.flags);
  compact_cmd
      ->add_option("--progress", compact.progress,
                   "progress line on stderr (old files read): auto (when stderr is a "
                   "terminal), always, never")
      ->check(IsProgressMode())
      ->capture_default_str();

  otap_parquet::cli::InspectCommandOptions inspect;
  auto* inspect_cmd = app.add_subcommand(
      "inspect",
      "Show what is in DATASET per signal and table (id spaces, files, rows, bytes, "
      "codecs, event time, writer, schema variants) from the footers; --check also "
      "verifies every id space (docs/cli.md)");
  inspect_cmd
      ->add_option("dataset", inspect.dataset, "DATASET (directory, file:// or s3://)")
      ->required();
  inspect_cmd->add_flag("--check", inspect.check,
                        "verify every id space: root ids unique, every child row's "
                        "parent present, no stale temporary files (reads the ids)");
  inspect_cmd->add_flag("--json", inspect.json, "print one JSON document (docs/cli.md)");
  inspect_cmd
      ->add_option("--progress", inspect.progress,
                   "--check: progress line on stderr: auto (when stderr is a terminal), "
                   "always, never")
      ->check(IsProgressMode())
      ->capture_default_str();
  inspect_cmd
      ->add_option("--grace-period", inspect.grace_period,
                   "--check: leftovers younger than this may be a flush in progress")
      ->check(IsDuration())
      ->capture_default_str();
  inspect_cmd->add_option("--s3-endpoint", inspect.flags.s3_endpoint,
                          "S3 endpoint override (host:port or http(s)://host:port)");
  inspect_cmd->add_option("--s3-region", inspect.flags.s3_region, "S3 region");
  inspect_cmd->add_flag("--allow-http", inspect.flags.allow_http,
                        "allow plain http to the S3 endpoint");
  AddRetryFlags(inspect_cmd, &inspect.flags);

  otap_parquet::cli::PartitionsCommandOptions partitions;
  auto* partitions_cmd = app.add_subcommand(
      "partitions",
      "List the partitions (id spaces) of DATASET with their event-time range, files, "
      "records and bytes; `partitions delete` deletes whole ones (docs/cli.md)");
  partitions_cmd->add_option("dataset", partitions.dataset,
                             "DATASET (directory, file:// or s3://)");
  partitions_cmd->add_flag("--json", partitions.json,
                           "print one JSON document (docs/cli.md)");
  partitions_cmd->add_option("--s3-endpoint", partitions.flags.s3_endpoint,
                             "S3 endpoint override (host:port or http(s)://host:port)");
  partitions_cmd->add_option("--s3-region", partitions.flags.s3_region, "S3 region");
  partitions_cmd->add_flag("--allow-http", partitions.flags.allow_http,
                           "allow plain http to the S3 endpoint");
  AddRetryFlags(partitions_cmd, &partitions.flags);
  otap_parquet::cli::PartitionsDeleteOptions partitions_delete;
  auto* partitions_delete_cmd = partitions_cmd->add_subcommand(
      "delete",
      "Delete whole partitions of DATASET whose records are all before --before, or "
      "those named by --partition (dry run unless --apply; exit 3 when a replay "
      "checkpoint has not finished some of them)");
  partitions_delete_cmd
      ->add_option("dataset", partitions_delete.dataset,
                   "DATASET (directory, file:// or s3://)")
      ->required();
  partitions_delete_cmd->add_option(
      "--before", partitions_delete.before,
      "partitions whose every record's event time is before this (RFC 3339 UTC, a "
      "date YYYY-MM-DD, or Unix ns)");
  partitions_delete_cmd->add_option(
      "--partition", partitions_delete.partitions,
      "partition path relative to a table directory, leading segments of one "
      "(date=2026-11-01) or a _part_id=<uuid> segment; repeatable");
  partitions_delete_cmd->add_option(
      "--checkpoint", partitions_delete.checkpoints,
      "replay checkpoint (file or URI) whose unfinished partitions are kept; "
      "repeatable");
  partitions_delete_cmd->add_flag("--apply", partitions_delete.apply,
                                  "delete (default: dry run)");
  partitions_delete_cmd->add_flag(
      "--force", partitions_delete.force,
      "also delete partitions a --checkpoint has not finished");
  partitions_delete_cmd->add_flag("--json", partitions_delete.json,
                                  "print one JSON document (docs/cli.md)");
  partitions_delete_cmd->add_option(
      "--s3-endpoint", partitions_delete.flags.s3_endpoint,
      "S3 endpoint override (host:port or http(s)://host:port)");
  partitions_delete_cmd->add_option("--s3-region", partitions_delete.flags.s3_region,
                                    "S3 region");
  partitions_delete_cmd->add_flag("--allow-http", partitions_delete.flags.allow_http,
                                  "allow plain http to the S3 endpoint");
  AddRetryFlags(partitions_delete_cmd, &partitions_delete.flags);

  otap_parquet::cli::SqlCommandOptions sql;
  auto* sql_cmd = app.add_subcommand(
      "sql",
      "Print DuckDB views of DATASET: logs, spans, metrics and per point type, with "
      "attributes as MAP columns and events/links as lists (docs/queries.md); --run "
      "starts DuckDB's CLI with them");
  sql_cmd->add_option("dataset", sql.dataset, "DATASET (directory, file:// or s3://)")
      ->required();
  sql_cmd->add_flag("--run", sql.run, "start DuckDB's CLI (duckdb) with the views");
  sql_cmd->add_option("--query,-c", sql.query,
                      "run this SQL after the views and exit (implies --run)");
  sql_cmd->add_option("--duckdb", sql.duckdb, "DuckDB CLI to run")->capture_default_str();
  sql_cmd->add_option("--s3-endpoint", sql.flags.s3_endpoint,
                      "S3 endpoint override (host:port or http(s)://host:port)");
  sql_cmd->add_option("--s3-region", sql.flags.s3_region, "S3 region");
  sql_cmd->add_flag("--allow-http", sql.flags.allow_http,
                    "allow plain http to the S3 endpoint");

  // run: the pipeline engine (cli/run_command.h).
  otap_parquet::cli::RunOptions run;
  auto* run_cmd = otap_parquet::cli::AddRunSubcommand(app, run);

  try {
    app.parse(argc, argv);
    if (!convert_signal.empty()) convert.signal = ParseSignal(convert_signal);
    if (!bench_signal.empty()) bench_write.signal = ParseSignal(bench_signal);
    if (!compare_signal.empty()) compare_parsed_signal = ParseSignal(compare_signal);
    for (const auto& name : generate_signals)
      generate.signals.push_back(ParseSignal(name));
    for (const auto& name : bench_replay_signals) {
      bench_replay.signals.push_back(ParseSignal(name));
    }
  } catch (const CLI::ParseError& e) {
    const int code = app.exit(e);
    return code == 0 ? 0 : kExitUsage;
  }

  // The dataset flags (--compression, --partition-by, --writer-options, ...) are
  // checked together before any work: a value they refuse is a usage error.
  auto bad_dataset_flags = [](const char* command,
                              const otap_parquet::cli::DatasetFlags& flags) {
    arrow::Status st = flags.ToOptions().status();
    if (st.ok()) st = flags.ToStorageSettings().status();
    if (st.ok()) return false;
    std::cerr << command << ": " << st.message() << "\n";
    return true;
  };
  if ((*convert_cmd && bad_dataset_flags("convert", convert_dataset)) ||
      (*bench_write_cmd && bad_dataset_flags("bench write", bench_write.flags)) ||
      (*bench_replay_cmd && bad_dataset_flags("bench replay", bench_replay.flags)) ||
      (*compact_cmd && bad_dataset_flags("compact", compact.flags))) {
    return kExitUsage;
  }

  // S3 (if used) must shut down before static destruction.
  struct FinalizeAtReturn {
    ~FinalizeAtReturn() { (void)otap_parquet::dataset::FinalizeStorage(); }
  } finalize_storage;
  if (*convert_cmd) {
    convert.output = convert.inputs.back();
    convert.inputs.pop_back();
    const bool dataset_input = convert.inputs.size() == 1 &&
                               otap_parquet::cli::IsDatasetInput(convert.inputs[0]);
    const bool dataset_output =
        !dataset_input && !otap_parquet::cli::IsOtlpFileOutput(convert.output);
    // An option this conversion would not apply is a usage error, not ignored: a
    // filter or a check the user asked for would silently not happen.
    auto refuse = [&](std::initializer_list<const char*> names, bool applies,
                      const char* needs) {
      for (const char* name : names) {
        if (!applies && convert_cmd->count(name) > 0) {
          std::cerr << "convert: " << name << " " << needs << "\n";
          return true;
        }
      }
      return false;
    };
    if (refuse({"--start", "--end", "--partition", "--shard"}, dataset_input,
               "applies only when INPUT is a dataset") ||
        refuse({"--verify"}, !dataset_input && !dataset_output,
               "needs OTLP file inputs and an OTLP file OUTPUT") ||
        refuse({"--compression", "--rows-per-file", "--partition-by", "--writer-options",
                "--bloom-filter", "--no-fsync"},
               dataset_output, "applies only when OUTPUT is a dataset")) {
      return kExitUsage;
    }
    if (dataset_input) {
      otap_parquet::cli::ReplayOptions replay;
      replay.dataset = convert.inputs[0];
      replay.output = convert.output;
      if (convert.signal) replay.signals = {*convert.signal};
      replay.flags = convert_dataset;
      replay.partitions = convert_partitions;
      replay.batch_size = convert.max_batch_rows;
      replay.progress = convert.progress;
      for (auto [text, bound] : {std::pair{&convert_start, &replay.start_unix_nano},
                                 std::pair{&convert_end, &replay.end_unix_nano}}) {
        if (text->empty()) continue;
        auto parsed = otap_parquet::config::ParseTimeBound(*text);
        if (!parsed.ok()) return Report(parsed.status());
        *bound = *parsed;
      }
      if (!convert_shard.empty()) {
        auto shard = otap_parquet::dataset::Shard::Parse(convert_shard);
        if (!shard.ok()) return Report(shard.status());
        replay.shard = *shard;
      }
      otap_parquet::cli::ReplaySkips skips;
      const int code =
          Report(otap_parquet::cli::RunConvertFromDataset(replay, std::cerr, &skips));
      return code == 0 && skips.any() ? kExitSkippedInput : code;
    }
    if (dataset_output) {
      return Report(
          otap_parquet::cli::RunConvertToDataset(convert, convert_dataset, std::cerr));
    }
    return Report(otap_parquet::cli::RunConvert(convert, std::cerr));
  }
  if (*generate_cmd) return Report(otap_parquet::cli::RunGenerate(generate, std::cerr));
  if (*bench_replay_cmd) {
    return Report(otap_parquet::cli::RunBenchReplay(bench_replay, std::cout));
  }
  if (*bench_write_cmd) {
    return Report(otap_parquet::cli::RunBenchWrite(bench_write, std::cout));
  }
  if (*compare_cmd) {
    std::optional<Signal> signal;
    if (!compare_signal.empty()) signal = compare_parsed_signal;
    return Report(otap_parquet::cli::RunCompare(compare_expected, compare_actual, signal,
                                                std::cout,
                                                compare_ignore_upstream_losses));
  }
  if (*demo_cmd) return Report(otap_parquet::cli::RunDemo(demo, std::cout));
  if (*repair_cmd) {
    auto code = otap_parquet::cli::RunRepair(repair, std::cout);
    return code.ok() ? *code : Report(code.status());
  }
  if (*compact_cmd) {
    auto code = otap_parquet::cli::RunCompact(compact, std::cout);
    return code.ok() ? *code : Report(code.status());
  }
  if (*inspect_cmd) {
    auto code = otap_parquet::cli::RunInspect(inspect, std::cout);
    return code.ok() ? *code : Report(code.status());
  }
  if (*partitions_delete_cmd) {
    auto code =
        otap_parquet::cli::RunPartitionsDelete(partitions_delete, std::cout, std::cerr);
    return code.ok() ? *code : Report(code.status());
  }
  if (*partitions_cmd) {
    if (partitions.dataset.empty()) {
      std::cerr << "partitions: DATASET is required\n";
      return kExitUsage;
    }
    auto code = otap_parquet::cli::RunPartitions(partitions, std::cout);
    return code.ok() ? *code : Report(code.status());
  }
  if (*sql_cmd) {
    auto code = otap_parquet::cli::RunSql(sql, std::cout);
    return code.ok() ? *code : Report(code.status());
  }
  if (*run_cmd) return otap_parquet::cli::RunCommand(run, std::cout, std::cerr);
  return kExitUsage;
}
