// SPDX-License-Identifier: Apache-2.0
#pragma once

/// \file
/// Registers `run` on the CLI11 app; included by main.cc only (CLI11 is a
/// dependency of the executable, not of the core library).

#include <CLI/CLI.hpp>

#include "otap_parquet/cli/run_command.h"

namespace otap_parquet::cli {

inline CLI::App* AddRunSubcommand(CLI::App& app, RunOptions& options) {
  auto* cmd = app.add_subcommand(
      "run", "Run pipelines from an engine configuration (otel_dataflow/v1 or legacy)");
  auto* config = cmd->add_option("-c,--config", options.config,
                                 "configuration: FILE, file:FILE, env:VAR or yaml:TEXT");
  auto* pipeline =
      cmd->add_option("-p,--pipeline", options.config, "legacy spelling of --config");
  config->excludes(pipeline);
  cmd->add_option_function<int>(
         "--num-cores", [&options](const int& n) { options.num_cores = n; },
         "pipeline instances (threads) per pipeline; 0 = all cores")
      ->check(CLI::Range(0, 4096));
  cmd->add_flag("--validate-and-exit", options.validate_and_exit,
                "validate the configuration (every node's config too) and exit");
  cmd->add_option("--log-level", options.log_level, "log level")
      ->check(
          CLI::IsMember({"trace", "debug", "info", "warn", "error", "critical", "off"}))
      ->capture_default_str();
  cmd->add_option("--duration", options.duration,
                  "shut down gracefully after this long (e.g. 10s, 2min)");
  cmd->add_option("--shutdown-timeout", options.shutdown_timeout,
                  "drain deadline of a graceful shutdown")
      ->capture_default_str();
  cmd->add_option("--metrics-file", options.metrics_file,
                  "write node metrics (Prometheus text) to FILE at exit");
  cmd->add_option_function<std::string>(
      "--http-admin-bind",
      [&options](const std::string& addr) { options.http_admin_bind = addr; },
      "admin HTTP server address HOST:PORT (default 127.0.0.1:8080; port 0 = any "
      "free port; none = no server)");
  cmd->callback([cmd] {
    if (cmd->get_option("--config")->empty() && cmd->get_option("--pipeline")->empty()) {
      throw CLI::RequiredError("--config");
    }
  });
  return cmd;
}

}  // namespace otap_parquet::cli
