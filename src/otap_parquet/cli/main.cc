// SPDX-License-Identifier: Apache-2.0
// otap-parquet command line.

#include <iostream>

#include <CLI/CLI.hpp>

#include "otap_parquet/cli/commands.h"
#include "otap_parquet/cli/run_cli.h"
#include "otap_parquet/version.h"

namespace {

using otap_parquet::Signal;

constexpr int kExitFailure = 1;
constexpr int kExitUsage = 2;

// Parses a signal name for CLI options.
Signal ParseSignal(const std::string& name) {
  auto signal = otap_parquet::SignalFromName(name);
  if (!signal) throw CLI::ValidationError("--signal", "expected logs, traces or metrics");
  return *signal;
}

int Report(const arrow::Status& status) {
  if (status.ok()) return 0;
  std::cerr << "error: " << status.message() << "\n";
  return kExitFailure;
}

}  // namespace

int main(int argc, char** argv) {
  CLI::App app{
      "otap-parquet: OpenTelemetry telemetry between the wire and Parquet, both ways"};
  app.set_version_flag("--version", std::string("otap-parquet ") + OTAP_PARQUET_VERSION +
                                        " (Arrow from " + OTAP_PARQUET_ARROW_SOURCE +
                                        ")");
  app.require_subcommand(1);

  otap_parquet::cli::ConvertOptions convert;
  std::string convert_signal;
  auto* convert_cmd = app.add_subcommand("convert",
                                         "Convert OTLP files (.jsonl/.json JSON lines, "
                                         ".pb length-delimited protobuf) through "
                                         "OTAP into OUTPUT");
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

  otap_parquet::cli::DemoOptions demo;
  auto* demo_cmd = app.add_subcommand(
      "demo",
      "Run the main job on built-in synthetic telemetry and verify nothing is lost");
  demo_cmd->add_option("--dir", demo.dir, "working directory")->capture_default_str();
  demo_cmd->add_option("--seed", demo.seed, "random seed");

  // run: the pipeline engine (cli/run_command.h).
  otap_parquet::cli::RunOptions run;
  auto* run_cmd = otap_parquet::cli::AddRunSubcommand(app, run);

  try {
    app.parse(argc, argv);
    if (!convert_signal.empty()) convert.signal = ParseSignal(convert_signal);
    for (const auto& name : generate_signals)
      generate.signals.push_back(ParseSignal(name));
  } catch (const CLI::ParseError& e) {
    const int code = app.exit(e);
    return code == 0 ? 0 : kExitUsage;
  }

  if (*convert_cmd) {
    convert.output = convert.inputs.back();
    convert.inputs.pop_back();
    return Report(otap_parquet::cli::RunConvert(convert, std::cerr));
  }
  if (*generate_cmd) return Report(otap_parquet::cli::RunGenerate(generate, std::cerr));
  if (*demo_cmd) return Report(otap_parquet::cli::RunDemo(demo, std::cout));
  if (*run_cmd) return otap_parquet::cli::RunCommand(run, std::cout, std::cerr);
  return kExitUsage;
}
