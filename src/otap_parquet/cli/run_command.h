// SPDX-License-Identifier: Apache-2.0
#pragma once

#include <optional>
#include <ostream>
#include <string>

/// \file
/// `otap-parquet run`: the pipeline engine.

namespace otap_parquet::cli {

/// Exit codes of `run`.
constexpr int kRunExitOk = 0;
constexpr int kRunExitFailure = 1;  ///< a node failed to start, or the engine failed
constexpr int kRunExitConfig = 2;   ///< the configuration is invalid or unreadable
/// The run ended, but a node gave up delivering some data (e.g. receiver:parquet
/// batches refused for good: given up or dead-lettered); a summary line says how much.
constexpr int kRunExitUndelivered = 3;

struct RunOptions {
  /// Configuration source: a path, file:<path>, env:<VAR> or yaml:<inline>.
  std::string config;
  /// Instances per pipeline; unset = the config's core_allocation, else 1; 0 = all.
  std::optional<int> num_cores;
  /// Validate (including every node's config) and exit.
  bool validate_and_exit = false;
  /// trace, debug, info, warn, error, critical, off.
  std::string log_level = "info";
  /// Shut down gracefully after this long (a duration such as "10s"); "" = never.
  std::string duration;
  /// Drain deadline for shutdowns (signals, --duration, receivers finished).
  std::string shutdown_timeout = "60s";
  /// Write the node metrics (Prometheus text) to this file at exit; "" = don't.
  std::string metrics_file;
  /// Admin HTTP server address (HOST:PORT, port 0 = any free port; "none" = no
  /// server); wins over `engine.http_admin.bind_address`. Unset and absent from the
  /// config: the default (kAdminBindEnv, else 127.0.0.1:8080), whose bind failure
  /// is only logged. An explicit address that cannot bind fails the run (exit 1).
  std::optional<std::string> http_admin_bind;
};

/// Environment variable that replaces the default admin address (e.g. tests set
/// `127.0.0.1:0` so that concurrent runs never compete for port 8080).
inline constexpr char kAdminBindEnv[] = "OTAP_PARQUET_HTTP_ADMIN_BIND";

/// \brief Runs the engine until SIGINT/SIGTERM (graceful drain with the shutdown
/// deadline; a second signal exits at once with 1), --duration, or until every
/// pipeline instance has ended on its own. Configuration errors are all printed to
/// `err`. Returns the process exit code.
int RunCommand(const RunOptions& options, std::ostream& out, std::ostream& err);

}  // namespace otap_parquet::cli
