// SPDX-License-Identifier: Apache-2.0
#include "otap_parquet/cli/commands.h"

#include <array>
#include <chrono>
#include <filesystem>
#include <map>

#include <fmt/format.h>
#include <spdlog/sinks/stdout_color_sinks.h>
#include <spdlog/spdlog.h>

#include "otap_parquet/cli/dataset_commands.h"
#include "otap_parquet/cli/replay_commands.h"
#include "otap_parquet/engine/engine.h"
#include "otap_parquet/engine/registry.h"
#include "otap_parquet/generator/otlp_generator.h"
#include "otap_parquet/nodes/builtin_nodes.h"
#include "otap_parquet/otlp/convert.h"
#include "otap_parquet/otlp/equivalence.h"
#include "otap_parquet/otlp/otlp_file.h"

namespace otap_parquet::cli {

using arrow::Status;

namespace {

/// Counts what went through a conversion, per signal.
struct Tally {
  std::array<int64_t, 3> requests{};
  std::array<int64_t, 3> items{};
  int64_t otap_batches = 0;
  std::map<PayloadType, int64_t> rows;

  void Print(std::ostream& out) const {
    for (Signal signal : {Signal::kLogs, Signal::kTraces, Signal::kMetrics}) {
      const auto i = static_cast<size_t>(signal);
      if (requests[i] == 0) continue;
      out << fmt::format("  {:<8} {:>8} requests {:>10} {}\n", SignalName(signal),
                         requests[i], items[i],
                         signal == Signal::kMetrics ? "data points"
                         : signal == Signal::kLogs  ? "log records"
                                                    : "spans");
    }
    out << fmt::format("  OTAP     {:>8} batches\n", otap_batches);
    for (const auto& [type, count] : rows) {
      out << fmt::format("    {:<32} {:>10} rows\n", TableName(type), count);
    }
  }
};

/// OTLP → OTAP → OTLP for one request, tallying the OTAP side.
arrow::Result<std::vector<otlp::OtlpRequest>> ThroughOtap(
    const otlp::OtlpRequest& request, int64_t max_batch_rows, Tally* tally) {
  otlp::ToOtapOptions options;
  options.max_root_rows = max_batch_rows;
  ARROW_ASSIGN_OR_RAISE(auto batches, otlp::ToOtap(request, options));
  std::vector<otlp::OtlpRequest> out;
  out.reserve(batches.size());
  const auto signal = static_cast<size_t>(otlp::SignalOf(request));
  tally->requests[signal] += 1;
  for (const auto& batch : batches) {
    tally->otap_batches += 1;
    tally->items[signal] += batch.num_items();
    for (PayloadType type : batch.payload_types()) {
      tally->rows[type] += batch.Get(type)->num_rows();
    }
    ARROW_ASSIGN_OR_RAISE(auto back, otlp::FromOtap(batch));
    out.push_back(std::move(back));
  }
  return out;
}

}  // namespace

Status RunConvert(const ConvertOptions& options, std::ostream& report) {
  if (options.inputs.empty()) return Status::Invalid("convert: no input file");
  ARROW_ASSIGN_OR_RAISE(auto format, otlp::FormatFromPath(options.output));
  ARROW_ASSIGN_OR_RAISE(auto writer, otlp::OtlpFileWriter::Open(options.output, format));
  const auto start = std::chrono::steady_clock::now();
  Tally tally;
  std::vector<otlp::OtlpRequest> inputs, outputs;  // kept only with --verify
  for (const auto& path : options.inputs) {
    ARROW_ASSIGN_OR_RAISE(auto reader, otlp::OtlpFileReader::Open(path, options.signal));
    int64_t index = 0;
    while (true) {
      ARROW_ASSIGN_OR_RAISE(auto request, reader->Next());
      if (!request) break;
      auto converted = ThroughOtap(*request, options.max_batch_rows, &tally);
      if (!converted.ok()) {
        return converted.status().WithMessage(path, ": request ", index, ": ",
                                              converted.status().message());
      }
      for (const auto& out : *converted) {
        auto st = writer->Write(out);
        if (!st.ok()) return st.WithMessage(options.output, ": ", st.message());
      }
      if (options.verify) {
        inputs.push_back(std::move(*request));
        for (auto& out : *converted) outputs.push_back(std::move(out));
      }
      ++index;
    }
  }
  ARROW_RETURN_NOT_OK(writer->Close());
  const double seconds =
      std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  report << "converted " << options.inputs.size() << " file(s) to " << options.output
         << fmt::format(" through OTAP in {:.3f}s\n", seconds);
  tally.Print(report);
  if (options.verify) {
    auto st = otlp::CheckEquivalent(inputs, outputs);
    if (!st.ok())
      return st.WithMessage("verify: output differs from input: ", st.message());
    report << "verify: output holds the same telemetry as the input\n";
  }
  return Status::OK();
}

Status RunGenerate(const GenerateOptions& options, std::ostream& report) {
  if (options.requests < 0) return Status::Invalid("--requests must be >= 0");
  generator::GeneratorOptions gen;
  gen.seed = options.seed;
  gen.mode =
      options.edge_cases ? generator::Mode::kEdgeCases : generator::Mode::kRealistic;
  gen.items_per_scope = options.items_per_scope;
  ARROW_RETURN_NOT_OK(gen.Validate());
  std::vector<Signal> signals = options.signals;
  if (signals.empty()) signals = {Signal::kLogs, Signal::kTraces, Signal::kMetrics};
  ARROW_ASSIGN_OR_RAISE(auto format, otlp::FormatFromPath(options.output));
  if (format == otlp::OtlpFileFormat::kProtobuf && signals.size() > 1) {
    return Status::Invalid(
        "a protobuf OTLP file holds one signal: choose one with --signal");
  }
  ARROW_ASSIGN_OR_RAISE(auto writer, otlp::OtlpFileWriter::Open(options.output, format));
  generator::OtlpGenerator generator(gen);
  for (int64_t i = 0; i < options.requests; ++i) {
    for (Signal signal : signals)
      ARROW_RETURN_NOT_OK(writer->Write(generator.Next(signal)));
  }
  ARROW_RETURN_NOT_OK(writer->Close());
  report << "generated " << options.requests * static_cast<int64_t>(signals.size())
         << " request(s) into " << options.output << "\n";
  return Status::OK();
}

Status RunCompare(const std::string& expected, const std::string& actual,
                  std::optional<Signal> signal, std::ostream& report,
                  bool ignore_upstream_losses) {
  ARROW_ASSIGN_OR_RAISE(auto a, otlp::ReadOtlpFile(expected, signal));
  ARROW_ASSIGN_OR_RAISE(auto b, otlp::ReadOtlpFile(actual, signal));
  if (ignore_upstream_losses) {
    otlp::DropUpstreamParquetLosses(a);
    otlp::DropUpstreamParquetLosses(b);
  }
  auto st = otlp::CheckEquivalent(a, b);
  if (!st.ok())
    return st.WithMessage(expected, " and ", actual, " differ: ", st.message());
  report << expected << " and " << actual << " hold the same telemetry\n";
  return Status::OK();
}

namespace {

// Runs one engine configuration on one core to its end (every receiver finished);
// the caller reads the returned engine's metrics.
arrow::Result<std::unique_ptr<engine::Engine>> RunPipelines(const std::string& yaml,
                                                            const std::string& name) {
  const engine::Registry& registry = nodes::BuiltinRegistry();
  ARROW_ASSIGN_OR_RAISE(auto config, engine::ParseAndValidate(yaml, name, registry));
  engine::EngineOptions options;
  options.num_cores = 1;
  auto logger = spdlog::get("demo");
  if (!logger) logger = spdlog::stderr_color_mt("demo");
  logger->set_level(spdlog::level::warn);
  options.logger = logger;
  ARROW_ASSIGN_OR_RAISE(auto engine, engine::Engine::Make(config, registry, options));
  ARROW_RETURN_NOT_OK(engine->Run());
  if (engine->deadline_exceeded()) {
    return Status::IOError(name, ": the pipeline hit its shutdown deadline");
  }
  return engine;
}

// Part two of the demo: the same job as pipelines — traffic generator → Parquet
// dataset, then the dataset → OTLP/JSON files — reconciled by item counts.
Status RunPipelineDemo(const DemoOptions& options, std::ostream& report) {
  const std::string lake = options.dir + "/pipeline-lake";
  std::error_code ec;
  std::filesystem::remove_all(lake, ec);
  if (ec) return Status::IOError("cannot remove ", lake, ": ", ec.message());
  const std::string write_yaml = fmt::format(R"(version: otel_dataflow/v1
groups:
  demo:
    pipelines:
      write:
        nodes:
          generator:
            type: receiver:traffic_generator
            config:
              traffic_config: {{signals_per_second: null, max_batch_size: 500,
                                log_weight: 60, trace_weight: 30, metric_weight: 10}}
              seed: {}
              max_batches: 40
          parquet:
            type: exporter:parquet
            config:
              storage: {{file: {{base_uri: '{}'}}}}
              partitioning_strategies: [{{schema_metadata: [_part_id]}}]
              writer_options: {{target_rows_per_file: 5000}}
        connections:
          - {{from: generator, to: parquet}}
)",
                                             options.seed, lake);
  ARROW_ASSIGN_OR_RAISE(auto writer, RunPipelines(write_yaml, "demo write pipeline"));
  const auto& wm = writer->metrics();
  const int64_t generated = wm.Sum("generator", &engine::NodeMetrics::sent_items);
  const int64_t written_acked = wm.Sum("generator", &engine::NodeMetrics::acked);
  const int64_t written_nacked =
      wm.Sum("generator", &engine::NodeMetrics::nacked_retryable) +
      wm.Sum("generator", &engine::NodeMetrics::nacked_permanent);
  report << "\npipeline: receiver:traffic_generator → exporter:parquet " << lake << ": "
         << generated << " items generated, " << written_acked
         << " batches acknowledged durable, " << written_nacked << " nacked\n";

  const std::string replay_yaml = fmt::format(R"(version: otel_dataflow/v1
groups:
  demo:
    pipelines:
      replay:
        nodes:
          parquet:
            type: receiver:parquet
            config:
              base_uri: '{0}'
              signal_types: [logs, traces, metrics]
              processing_options: {{batch_size: 1000, validate_relations: true}}
          file:
            type: exporter:file
            config:
              path: '{1}/pipeline-replay-{{signal}}.jsonl'
              open_mode: truncate
        connections:
          - {{from: parquet, to: file}}
)",
                                              lake, options.dir);
  ARROW_ASSIGN_OR_RAISE(auto replayer, RunPipelines(replay_yaml, "demo replay pipeline"));
  const auto& rm = replayer->metrics();
  const int64_t replayed = rm.Sum("file", &engine::NodeMetrics::received_items);
  const int64_t orphans = rm.Sum("parquet", &engine::NodeMetrics::errors);
  report << "pipeline: receiver:parquet " << lake << " → exporter:file " << options.dir
         << "/pipeline-replay-{logs,traces,metrics}.jsonl: " << replayed
         << " items replayed\n";
  if (written_nacked != 0 || replayed != generated || orphans != 0) {
    return Status::Invalid("demo pipelines lost data: generated ", generated,
                           " items, replayed ", replayed, " (", written_nacked,
                           " batches nacked, ", orphans, " receiver errors)");
  }
  return Status::OK();
}

}  // namespace

Status RunDemo(const DemoOptions& options, std::ostream& report) {
  std::error_code ec;
  std::filesystem::create_directories(options.dir, ec);
  if (ec) return Status::IOError("cannot create ", options.dir, ": ", ec.message());
  const std::string input = options.dir + "/telemetry.jsonl";
  const std::string lake = options.dir + "/lake";
  const std::string replay = options.dir + "/replay.jsonl";
  // A fresh dataset each run, so that the replay holds exactly this run's input.
  std::filesystem::remove_all(lake, ec);
  if (ec) return Status::IOError("cannot remove ", lake, ": ", ec.message());

  GenerateOptions generate;
  generate.output = input;
  generate.seed = options.seed;
  generate.requests = 5;
  ARROW_RETURN_NOT_OK(RunGenerate(generate, report));

  ConvertOptions to_lake;
  to_lake.inputs = {input};
  to_lake.output = lake;
  DatasetFlags flags;
  flags.rows_per_file = 2000;  // several files per table, rotated mid-stream
  report << "\n";
  ARROW_RETURN_NOT_OK(RunConvertToDataset(to_lake, flags, report));

  ReplayOptions from_lake;
  from_lake.dataset = lake;
  from_lake.output = replay;
  report << "\n";
  ARROW_RETURN_NOT_OK(RunConvertFromDataset(from_lake, report));
  report << "\n";
  ARROW_RETURN_NOT_OK(RunCompare(input, replay, std::nullopt, report));
  ARROW_RETURN_NOT_OK(RunPipelineDemo(options, report));
  report << "\ndemo: " << input << " → OTAP → Parquet dataset " << lake << " → replay → "
         << replay
         << ": same telemetry, nothing lost; the pipelines lost nothing either\n"
         << "query it, e.g.: duckdb -c \"SELECT count(*) FROM read_parquet('" << lake
         << "/logs/*/*.parquet', hive_partitioning=true)\"\n";
  return Status::OK();
}

}  // namespace otap_parquet::cli
