// SPDX-License-Identifier: Apache-2.0
#pragma once

#include <chrono>
#include <functional>
#include <memory>
#include <string>
#include <thread>

#include <arrow/result.h>
#include <spdlog/logger.h>

#include "otap_parquet/engine/engine.h"

namespace httplib {
class Server;
}

/// \file
/// The admin HTTP server of `otap-parquet run` (upstream `df_engine`'s
/// `crates/admin`, the routes otap-parquet implements): Prometheus metrics,
/// liveness, readiness, status and a graceful shutdown.

namespace otap_parquet::admin {

/// Upstream's default bind address (`engine.http_admin.bind_address`).
inline constexpr char kDefaultBindAddress[] = "127.0.0.1:8080";

/// Connections served at once, each on a thread of its own; more wait for one to
/// end (docs/engine.md "Admin server").
inline constexpr int kMaxConnectionThreads = 32;

struct AdminServerOptions {
  std::string bind_address = kDefaultBindAddress;  ///< HOST:PORT; port 0 = any free
  /// Called (on a server thread) by `POST /api/v1/groups/shutdown` with the
  /// requested drain deadline; null = the route answers 501.
  std::function<void(std::chrono::seconds timeout)> request_shutdown;
  std::shared_ptr<spdlog::logger> logger;  ///< default: spdlog's default logger
  /// A connection's request (line and headers: no route takes a body) must be
  /// complete this long after its accept (`http_admin.read_header_timeout`).
  std::chrono::milliseconds read_header_timeout{3'000};
  /// An answer must be written within this of its first byte
  /// (`http_admin.write_timeout`).
  std::chrono::milliseconds write_timeout{30'000};

  static AdminServerOptions Defaults() { return {}; }
};

/// \brief Serves, on its own threads:
///
/// | Route | Answer |
/// | --- | --- |
/// | `GET /api/v1/metrics`, `/metrics` | every node's metrics, Prometheus text 0.0.4; |
/// | | `?format=json` / `json_compact` (+ `keep_all_zeroes`): upstream's JSON |
/// | `GET /api/v1/livez` | 200 `ok` while the process runs |
/// | `GET /api/v1/readyz` | 200 once every pipeline instance runs, else 503 |
/// | `GET /api/v1/status` | JSON: state, ready, cores, pipelines |
/// | `POST /api/v1/groups/shutdown?timeout_secs=N` | graceful shutdown, 202 |
///
/// The engine must outlive the server.
class AdminServer {
 public:
  ~AdminServer();

  /// \brief Binds `options.bind_address` and starts serving. IOError naming the
  /// address when it cannot bind (in use, not a local address), Invalid for a
  /// malformed address.
  static arrow::Result<std::unique_ptr<AdminServer>> Start(engine::Engine* engine,
                                                           AdminServerOptions options);
  /// \brief Start with `max_connection_threads` (at least 1) instead of
  /// kMaxConnectionThreads: tests fill every thread with a few connections.
  static arrow::Result<std::unique_ptr<AdminServer>> StartForTesting(
      engine::Engine* engine, AdminServerOptions options, int max_connection_threads);

  /// \brief Stops serving and joins the threads. Idempotent.
  void Stop();

  /// \brief The bound port (the chosen one when the address asked for port 0).
  int port() const { return port_; }
  /// \brief `host:port` actually bound.
  const std::string& address() const { return address_; }

 private:
  AdminServer() = default;
  static arrow::Result<std::unique_ptr<AdminServer>> Start(engine::Engine* engine,
                                                           AdminServerOptions options,
                                                           int max_connection_threads);
  void Routes();

  engine::Engine* engine_ = nullptr;
  AdminServerOptions options_;
  std::unique_ptr<httplib::Server> server_;
  std::thread thread_;
  int port_ = 0;
  std::string address_;
};

/// \brief The JSON document of `GET /api/v1/status`.
std::string RenderStatusJson(const engine::Engine& engine);

}  // namespace otap_parquet::admin
