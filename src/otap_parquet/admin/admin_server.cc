// SPDX-License-Identifier: Apache-2.0
#include "otap_parquet/admin/admin_server.h"

#include <sys/socket.h>

#include <cerrno>
#include <condition_variable>
#include <cstring>
#include <deque>
#include <functional>
#include <memory>
#include <mutex>
#include <thread>
#include <utility>

#include <fmt/format.h>
#include <httplib.h>
#include <spdlog/spdlog.h>

#include "otap_parquet/config/units.h"

namespace otap_parquet::admin {

namespace {

// httplib serves a connection on one thread from its first byte to its close, and
// waits up to its read timeout (5 s) for each read: with a fixed pool of two, two
// idle or slowly dripping connections (a stuck scraper, a port scan) held every
// thread and liveness probes timed out. Each connection gets a thread of its own
// instead, up to this many at once (more wait for one to end). Requests are few and
// short: the threads sleep in poll() and exit with their connection.
constexpr int kMaxConnectionThreads = 32;

/// \brief httplib task queue: one thread per connection, at most `max` at once.
class ConnectionThreads : public httplib::TaskQueue {
 public:
  explicit ConnectionThreads(int max) : state_(std::make_shared<State>()), max_(max) {}
  ~ConnectionThreads() override { shutdown(); }

  void enqueue(std::function<void()> fn) override {
    std::lock_guard<std::mutex> lock(state_->mutex);
    if (state_->running >= max_) {
      state_->pending.push_back(std::move(fn));
      return;
    }
    ++state_->running;
    // Detached: the thread owns the state it touches last; shutdown() waits for it.
    std::thread([state = state_, fn = std::move(fn)]() mutable {
      for (;;) {
        fn();
        std::unique_lock<std::mutex> lock(state->mutex);
        if (state->pending.empty()) {
          --state->running;
          state->idle.notify_all();
          return;
        }
        fn = std::move(state->pending.front());
        state->pending.pop_front();
      }
    }).detach();
  }

  // httplib calls it once its accept loop ended: every connection is served to its
  // end (as its ThreadPool does).
  void shutdown() override {
    std::unique_lock<std::mutex> lock(state_->mutex);
    state_->idle.wait(lock, [&] { return state_->running == 0; });
  }

 private:
  struct State {
    std::mutex mutex;
    std::condition_variable idle;
    int running = 0;
    std::deque<std::function<void()>> pending;
  };
  std::shared_ptr<State> state_;
  const int max_;
};

std::string JsonEscape(const std::string& s) {
  std::string out;
  for (char c : s) {
    switch (c) {
      case '"':
        out += "\\\"";
        break;
      case '\\':
        out += "\\\\";
        break;
      case '\n':
        out += "\\n";
        break;
      default:
        if (static_cast<unsigned char>(c) < 0x20) {
          out += fmt::format("\\u{:04x}", static_cast<int>(c));
        } else {
          out.push_back(c);
        }
    }
  }
  return out;
}

}  // namespace

std::string RenderStatusJson(const engine::Engine& engine) {
  std::string pipelines;
  for (const auto& instance : engine.instances()) {
    if (!pipelines.empty()) pipelines += ",";
    const std::string& name = instance->name();
    const size_t slash = name.find('/');
    pipelines += fmt::format(
        "{{\"group\":\"{}\",\"pipeline\":\"{}\",\"core\":{},\"state\":\"{}\","
        "\"nodes\":{}}}",
        JsonEscape(name.substr(0, slash)),
        JsonEscape(slash == std::string::npos ? name : name.substr(slash + 1)),
        instance->core(), engine::PipelineStateName(instance->state()),
        instance->num_nodes());
  }
  return fmt::format(
      "{{\"state\":\"{}\",\"ready\":{},\"cores\":{},\"instances\":{},"
      "\"pipelines\":[{}]}}\n",
      engine.state(), engine.ready() ? "true" : "false", engine.num_cores(),
      engine.num_instances(), pipelines);
}

AdminServer::~AdminServer() { Stop(); }

arrow::Result<std::unique_ptr<AdminServer>> AdminServer::Start(
    engine::Engine* engine, AdminServerOptions options) {
  ARROW_ASSIGN_OR_RAISE(auto hp, config::ParseHostPort(options.bind_address));
  std::unique_ptr<AdminServer> s(new AdminServer());
  s->engine_ = engine;
  if (!options.logger) options.logger = spdlog::default_logger();
  s->options_ = std::move(options);
  s->server_ = std::make_unique<httplib::Server>();
  // SO_REUSEADDR only: httplib's default SO_REUSEPORT would let a second engine
  // share the port silently (and split the scrapes between the two).
  s->server_->set_socket_options([](socket_t sock) {
    int yes = 1;
    setsockopt(sock, SOL_SOCKET, SO_REUSEADDR, &yes, sizeof(yes));
  });
  // httplib owns (and deletes) the queue it gets from this factory.
  s->server_->new_task_queue = [] {
    return new ConnectionThreads(kMaxConnectionThreads);
  };
  // One request per connection: a kept-alive idle connection would hold its thread
  // until its keep-alive timeout (5 s).
  s->server_->set_keep_alive_max_count(1);
  // No route reads a body, and httplib would buffer one of any size (also chunked)
  // before routing: refuse it before a byte of it is read.
  s->server_->set_pre_routing_handler(
      [](const httplib::Request& req, httplib::Response& res) {
        const std::string length = req.get_header_value("Content-Length");
        if (req.has_header("Transfer-Encoding") ||
            (!length.empty() && length.find_first_not_of('0') != std::string::npos)) {
          res.status = 413;
          res.set_header("Connection", "close");
          res.set_content("the admin API takes no request body\n", "text/plain");
          return httplib::Server::HandlerResponse::Handled;
        }
        return httplib::Server::HandlerResponse::Unhandled;
      });
  s->Routes();
  int port = hp.port;
  errno = 0;
  if (port == 0) {
    port = s->server_->bind_to_any_port(hp.host);
    if (port < 0) port = 0;
  } else if (!s->server_->bind_to_port(hp.host, port)) {
    port = 0;
  }
  if (port == 0) {
    const int err = errno;  // of the failed bind()/listen(), if nothing reset it
    return arrow::Status::IOError(
        "admin server cannot bind ", s->options_.bind_address, ": ",
        err != 0 ? std::strerror(err) : "address in use or not local");
  }
  s->port_ = port;
  s->address_ = hp.host.find(':') != std::string::npos
                    ? fmt::format("[{}]:{}", hp.host, port)
                    : fmt::format("{}:{}", hp.host, port);
  s->thread_ = std::thread([server = s->server_.get()] { server->listen_after_bind(); });
  // httplib's stop() is a no-op until the accept loop runs: wait for it, so that a
  // Stop() right after Start() cannot leave the thread listening forever.
  for (int i = 0; i < 5000 && !s->server_->is_running(); ++i) {
    std::this_thread::sleep_for(std::chrono::milliseconds(1));
  }
  s->options_.logger->info("admin.endpoint.start address={}", s->address_);
  return s;
}

void AdminServer::Stop() {
  if (server_) server_->stop();
  if (thread_.joinable()) thread_.join();
}

void AdminServer::Routes() {
  // Upstream's query: format=prometheus (default) | json | json_compact;
  // keep_all_zeroes for the JSON formats; reset=false only (counters here are
  // cumulative, a reset would corrupt the Prometheus series).
  auto metrics = [this](const httplib::Request& req, httplib::Response& res) {
    auto bool_param = [&](const char* name, bool* value) {
      if (!req.has_param(name)) return true;
      const std::string v = req.get_param_value(name);
      if (v == "true" || v == "1") {
        *value = true;
      } else if (v == "false" || v == "0") {
        *value = false;
      } else {
        res.status = 400;
        res.set_content(fmt::format("{} must be true or false, got \"{}\"\n", name, v),
                        "text/plain");
        return false;
      }
      return true;
    };
    bool keep_all_zeroes = false;
    bool reset = false;
    if (!bool_param("keep_all_zeroes", &keep_all_zeroes) ||
        !bool_param("reset", &reset)) {
      return;
    }
    if (reset) {
      res.status = 400;
      res.set_content("reset=true is not supported: counters are cumulative\n",
                      "text/plain");
      return;
    }
    const std::string format =
        req.has_param("format") ? req.get_param_value("format") : "prometheus";
    if (format == "prometheus") {
      res.set_content(engine_->metrics().RenderPrometheus(),
                      engine::kPrometheusContentType);
    } else if (format == "json" || format == "json_compact") {
      res.set_content(engine_->metrics().RenderJson(format == "json", keep_all_zeroes),
                      "application/json");
    } else {
      res.status = 400;
      res.set_content(
          fmt::format("unsupported format \"{}\" (prometheus, json, json_compact)\n",
                      format),
          "text/plain");
    }
  };
  server_->Get("/api/v1/metrics", metrics);
  server_->Get("/api/v1/telemetry/metrics", metrics);
  // Not served upstream; kept because older scripts scrape it.
  server_->Get("/metrics", metrics);
  server_->Get("/api/v1/livez", [](const httplib::Request&, httplib::Response& res) {
    res.set_content("ok\n", "text/plain");
  });
  server_->Get("/api/v1/readyz", [this](const httplib::Request&, httplib::Response& res) {
    if (engine_->ready()) {
      res.set_content("ok\n", "text/plain");
    } else {
      res.status = 503;
      res.set_content(fmt::format("not ready: {}\n", engine_->state()), "text/plain");
    }
  });
  auto status = [this](const httplib::Request&, httplib::Response& res) {
    res.set_content(RenderStatusJson(*engine_), "application/json");
  };
  server_->Get("/api/v1/status", status);
  server_->Get("/api/v1/groups/status", status);
  server_->Post("/api/v1/groups/shutdown", [this](const httplib::Request& req,
                                                  httplib::Response& res) {
    if (!options_.request_shutdown) {
      res.status = 501;
      res.set_content("shutdown is not available\n", "text/plain");
      return;
    }
    int64_t timeout = 60;  // upstream's default timeout_secs
    if (req.has_param("timeout_secs")) {
      const std::string v = req.get_param_value("timeout_secs");
      if (v.empty() || v.size() > 9 ||
          v.find_first_not_of("0123456789") != std::string::npos) {
        res.status = 400;
        res.set_content("timeout_secs must be a non-negative integer\n", "text/plain");
        return;
      }
      timeout = std::stoll(v);
    }
    options_.logger->info("engine.shutdown.start reason=admin deadline={}s", timeout);
    options_.request_shutdown(std::chrono::seconds(timeout));
    res.status = 202;
    res.set_content("{\"status\":\"shutting down\"}\n", "application/json");
  });
}

}  // namespace otap_parquet::admin
