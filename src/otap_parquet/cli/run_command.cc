// SPDX-License-Identifier: Apache-2.0
#include "otap_parquet/cli/run_command.h"

#include <pthread.h>
#include <signal.h>
#include <unistd.h>

#include <atomic>
#include <chrono>
#include <cstdlib>
#include <ctime>
#include <filesystem>
#include <fstream>
#include <thread>

#include <spdlog/sinks/stdout_color_sinks.h>
#include <spdlog/spdlog.h>

#include "otap_parquet/admin/admin_server.h"
#include "otap_parquet/config/config_reader.h"
#include "otap_parquet/config/units.h"
#include "otap_parquet/engine/engine.h"
#include "otap_parquet/engine/registry.h"
#include "otap_parquet/nodes/builtin_nodes.h"

namespace otap_parquet::cli {

namespace {

using engine::Clock;

std::shared_ptr<spdlog::logger> MakeLogger(const std::string& level) {
  auto logger = spdlog::get("otap");
  if (!logger) logger = spdlog::stderr_color_mt("otap");
  logger->set_level(spdlog::level::from_str(level));
  logger->set_pattern("%Y-%m-%dT%H:%M:%S.%eZ %^%l%$ %v", spdlog::pattern_time_type::utc);
  spdlog::set_default_logger(logger);
  return logger;
}

// Blocks SIGINT/SIGTERM in the calling thread (and the threads it starts) for its
// lifetime, so that only the watcher thread takes them, with sigtimedwait.
class SignalMask {
 public:
  SignalMask() {
    sigemptyset(&set_);
    sigaddset(&set_, SIGINT);
    sigaddset(&set_, SIGTERM);
    pthread_sigmask(SIG_BLOCK, &set_, &old_);
  }
  ~SignalMask() { pthread_sigmask(SIG_SETMASK, &old_, nullptr); }
  const sigset_t& set() const { return set_; }

 private:
  sigset_t set_;
  sigset_t old_;
};

}  // namespace

int RunCommand(const RunOptions& options, std::ostream& out, std::ostream& err) {
  auto logger = MakeLogger(options.log_level);
  const engine::Registry& registry = nodes::BuiltinRegistry();

  std::chrono::nanoseconds shutdown_timeout{};
  std::optional<std::chrono::nanoseconds> duration;
  {
    auto t = config::ParseDuration(options.shutdown_timeout);
    if (!t.ok()) {
      err << "error: --shutdown-timeout: " << t.status().message() << "\n";
      return kRunExitConfig;
    }
    shutdown_timeout = *t;
    if (!options.duration.empty()) {
      auto d = config::ParseDuration(options.duration);
      if (!d.ok()) {
        err << "error: --duration: " << d.status().message() << "\n";
        return kRunExitConfig;
      }
      duration = *d;
    }
  }

  if (options.http_admin_bind && *options.http_admin_bind != "none") {
    auto hp = config::ParseHostPort(*options.http_admin_bind);
    if (!hp.ok()) {
      err << "error: --http-admin-bind: " << hp.status().message() << "\n";
      return kRunExitConfig;
    }
  }

  // Found at exit it failed the run after all its work: check the folder now.
  if (!options.metrics_file.empty()) {
    const auto parent = std::filesystem::absolute(options.metrics_file).parent_path();
    std::error_code error;
    if (!std::filesystem::is_directory(parent, error)) {
      err << "error: --metrics-file " << options.metrics_file << ": folder "
          << parent.string() << " does not exist\n";
      return kRunExitConfig;
    }
  }

  auto config = engine::LoadEngineConfig(options.config, registry);
  if (!config.ok()) {
    err << "error: " << config.status().message() << "\n";
    return kRunExitConfig;
  }
  if (options.http_admin_bind) {
    // The flag replaces the config's bind address: check it as that one is.
    config::ConfigErrors errors;
    engine::ValidateAdminBind(*config, registry, *options.http_admin_bind,
                              "--http-admin-bind", &errors);
    if (!errors.empty()) {
      err << "error: " << options.config << ": " << errors.ToStatus().message() << "\n";
      return kRunExitConfig;
    }
  }
  if (options.validate_and_exit) {
    out << "Configuration '" << options.config << "' is valid.\n";
    return kRunExitOk;
  }

  engine::EngineOptions engine_options;
  engine_options.num_cores = options.num_cores;
  engine_options.drain_timeout =
      std::chrono::duration_cast<std::chrono::milliseconds>(shutdown_timeout);
  engine_options.logger = logger;

  SignalMask mask;  // before any engine thread exists
  auto engine = engine::Engine::Make(*config, registry, engine_options);
  if (!engine.ok()) {
    err << "error: " << engine.status().message() << "\n";
    return kRunExitFailure;
  }

  // Admin server: an explicit address (flag or config) must bind; the default
  // only logs a failure, as upstream's endpoint.bind_failed, and the run goes on.
  std::unique_ptr<admin::AdminServer> admin_server;
  {
    std::optional<std::string> bind = options.http_admin_bind;
    if (!bind) bind = config->http_admin_bind;
    const bool explicit_bind = bind.has_value();
    if (!bind) {
      const char* env = std::getenv(kAdminBindEnv);
      bind = env && *env ? std::string(env) : std::string(admin::kDefaultBindAddress);
    }
    if (*bind != "none") {
      admin::AdminServerOptions admin_options;
      admin_options.bind_address = *bind;
      admin_options.logger = logger;
      if (config->http_admin_read_header_timeout) {
        admin_options.read_header_timeout = *config->http_admin_read_header_timeout;
      }
      if (config->http_admin_write_timeout) {
        admin_options.write_timeout = *config->http_admin_write_timeout;
      }
      engine::Engine* e = engine->get();
      admin_options.request_shutdown = [e](std::chrono::seconds timeout) {
        e->RequestShutdown(Clock::now() + timeout);
      };
      auto started = admin::AdminServer::Start(e, std::move(admin_options));
      if (started.ok()) {
        admin_server = std::move(*started);
      } else if (explicit_bind) {
        err << "error: --http-admin-bind / engine.http_admin.bind_address: "
            << started.status().message() << "\n";
        return kRunExitFailure;
      } else {
        logger->warn(
            "admin.endpoint.bind_failed address={} error=\"{}\" (pipelines run without "
            "the admin server; set --http-admin-bind)",
            *bind, started.status().message());
      }
    }
  }

  std::atomic<bool> done{false};
  std::thread watcher([&] {
    const auto start = Clock::now();
    int signals = 0;
    bool timed_out = false;
    while (!done.load()) {
      timespec wait{0, 100'000'000};
      const int sig = sigtimedwait(&mask.set(), nullptr, &wait);
      if (sig == SIGINT || sig == SIGTERM) {
        if (++signals > 1) {
          logger->error("engine.shutdown.abort signal={}", sig);
          std::_Exit(kRunExitFailure);
        }
        logger->info("engine.shutdown.start signal={} deadline={}", sig,
                     config::FormatDuration(shutdown_timeout));
        (*engine)->RequestShutdown(Clock::now() + shutdown_timeout);
      }
      if (duration && !timed_out && Clock::now() - start >= *duration) {
        timed_out = true;
        logger->info("engine.shutdown.start reason=duration deadline={}",
                     config::FormatDuration(shutdown_timeout));
        (*engine)->RequestShutdown(Clock::now() + shutdown_timeout);
      }
    }
  });

  const arrow::Status st = (*engine)->Run();
  done = true;
  watcher.join();
  if (admin_server) admin_server->Stop();

  // A file is written whole or not at all (a temporary renamed into place; not so
  // a device or pipe such as /dev/stdout), and a failure fails the run: a job that
  // reads the metrics must not get none with exit 0.
  bool metrics_written = true;
  if (!options.metrics_file.empty()) {
    std::error_code error;
    const auto kind = std::filesystem::status(options.metrics_file, error).type();
    const bool direct = kind != std::filesystem::file_type::not_found &&
                        kind != std::filesystem::file_type::regular;
    const std::string tmp =
        direct ? options.metrics_file
               : options.metrics_file + ".tmp." + std::to_string(::getpid());
    std::ofstream metrics(tmp);
    metrics << (*engine)->metrics().RenderPrometheus();
    metrics.close();  // flushes: a full disk shows here
    error.clear();
    if (metrics && !direct) std::filesystem::rename(tmp, options.metrics_file, error);
    if (!metrics || error) {
      if (!direct) std::filesystem::remove(tmp, error);
      err << "error: cannot write --metrics-file " << options.metrics_file << "\n";
      metrics_written = false;
    }
  }
  if (!st.ok()) {
    err << "Pipeline failed to run: " << st.message() << "\n";
    return kRunExitFailure;
  }
  if ((*engine)->deadline_exceeded()) {
    logger->warn("engine.shutdown.deadline_exceeded: in-flight data was dropped");
  }
  const auto undelivered = (*engine)->undelivered();
  if (!undelivered.empty()) {
    // One summary line per (node, how): the run did not deliver everything.
    for (const auto& u : undelivered) {
      logger->error("engine.undelivered node={} how=\"{}\" batches={} records={}", u.node,
                    u.how, u.batches, u.items);
      err << "undelivered: " << u.node << ": " << u.batches << " batches (" << u.items
          << " records) " << u.how << "\n";
    }
    out << "Pipeline run finished with undelivered data\n";
    return kRunExitUndelivered;
  }
  if (!metrics_written) return kRunExitFailure;
  out << "Pipeline run successfully\n";
  return kRunExitOk;
}

}  // namespace otap_parquet::cli
