// SPDX-License-Identifier: Apache-2.0
#include "otap_parquet/admin/admin_server.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <chrono>
#include <condition_variable>
#include <cstring>
#include <deque>
#include <functional>
#include <memory>
#include <mutex>
#include <optional>
#include <thread>
#include <utility>

#include <fmt/format.h>
#include <httplib.h>
#include <spdlog/spdlog.h>

#include "otap_parquet/config/units.h"

namespace otap_parquet::admin {

namespace {

using Clock = std::chrono::steady_clock;

// When the connection the current thread serves was accepted (set by
// ConnectionThreads before it calls httplib): a connection that waited for a thread
// has had that long already, so a queue of slow clients drains fast.
thread_local Clock::time_point accepted_at;

/// \brief A connection's socket as httplib reads and writes it, with deadlines for
/// the whole request and the whole answer rather than for each read.
///
/// A connection's whole request (line and headers: no route takes a body) must
/// arrive within AdminServerOptions::read_header_timeout of its accept, and its answer
/// must be written within write_timeout. httplib's own timeouts apply to each read: a
/// client sending a byte every second held its thread for hours, and 32 such clients
/// starved /metrics and the health probes. Probes and scrapers send their request at
/// once.
class DeadlineStream final : public httplib::Stream {
 public:
  DeadlineStream(socket_t sock, Clock::time_point read_deadline,
                 std::chrono::milliseconds write_timeout)
      : sock_(sock), read_deadline_(read_deadline), write_timeout_(write_timeout) {}

  bool is_readable() const override {
    return read_pos_ < read_end_ || Wait(POLLIN, read_deadline_);
  }
  bool is_writable() const override { return Wait(POLLOUT, WriteDeadline()); }

  // What arrived is read before the deadline is looked at: a connection that waited
  // for a thread past its deadline is still served if its whole request came
  // meanwhile (a probe behind a burst of slow clients); only waiting is refused.
  ssize_t read(char* ptr, size_t size) override {
    while (read_pos_ == read_end_) {
      const ssize_t n = ::recv(sock_, buffer_, sizeof(buffer_), MSG_DONTWAIT);
      if (n >= 0) {
        if (n == 0) return 0;
        read_pos_ = 0;
        read_end_ = static_cast<size_t>(n);
        break;
      }
      if (errno == EINTR) continue;
      if (errno != EAGAIN && errno != EWOULDBLOCK) return -1;
      if (!Wait(POLLIN, read_deadline_)) return -1;
    }
    const size_t n = std::min(size, read_end_ - read_pos_);
    std::memcpy(ptr, buffer_ + read_pos_, n);
    read_pos_ += n;
    return static_cast<ssize_t>(n);
  }

  // All of it or -1: httplib writes headers with one call and no retry.
  ssize_t write(const char* ptr, size_t size) override {
    const Clock::time_point deadline = WriteDeadline();
    size_t done = 0;
    while (done < size) {
      const ssize_t n =
          ::send(sock_, ptr + done, size - done, MSG_DONTWAIT | MSG_NOSIGNAL);
      if (n >= 0) {
        done += static_cast<size_t>(n);
        continue;
      }
      if (errno == EINTR) continue;
      if (errno != EAGAIN && errno != EWOULDBLOCK) return -1;
      if (!Wait(POLLOUT, deadline)) return -1;
    }
    return static_cast<ssize_t>(size);
  }

  void get_remote_ip_and_port(std::string& ip, int& port) const override {
    sockaddr_storage addr{};
    socklen_t len = sizeof(addr);
    if (::getpeername(sock_, reinterpret_cast<sockaddr*>(&addr), &len) == 0) {
      Format(addr, ip, port);
    }
  }
  void get_local_ip_and_port(std::string& ip, int& port) const override {
    sockaddr_storage addr{};
    socklen_t len = sizeof(addr);
    if (::getsockname(sock_, reinterpret_cast<sockaddr*>(&addr), &len) == 0) {
      Format(addr, ip, port);
    }
  }
  socket_t socket() const override { return sock_; }

 private:
  // The first write starts the answer's time.
  Clock::time_point WriteDeadline() const {
    if (!write_deadline_) write_deadline_ = Clock::now() + write_timeout_;
    return *write_deadline_;
  }

  bool Wait(short events, Clock::time_point deadline) const {
    for (;;) {
      const auto left =
          std::chrono::ceil<std::chrono::milliseconds>(deadline - Clock::now());
      if (left.count() <= 0) return false;
      pollfd fd{sock_, events, 0};
      const int r = ::poll(&fd, 1, static_cast<int>(left.count()));
      if (r > 0) return true;
      if (r < 0 && errno == EINTR) continue;
      if (r < 0) return false;
    }
  }

  static void Format(const sockaddr_storage& addr, std::string& ip, int& port) {
    char text[INET6_ADDRSTRLEN] = {};
    if (addr.ss_family == AF_INET) {
      const auto& a = reinterpret_cast<const sockaddr_in&>(addr);
      ::inet_ntop(AF_INET, &a.sin_addr, text, sizeof(text));
      port = ntohs(a.sin_port);
    } else if (addr.ss_family == AF_INET6) {
      const auto& a = reinterpret_cast<const sockaddr_in6&>(addr);
      ::inet_ntop(AF_INET6, &a.sin6_addr, text, sizeof(text));
      port = ntohs(a.sin6_port);
    }
    ip = text;
  }

  socket_t sock_;
  Clock::time_point read_deadline_;
  std::chrono::milliseconds write_timeout_;
  mutable std::optional<Clock::time_point> write_deadline_;
  char buffer_[4096];
  size_t read_pos_ = 0;
  size_t read_end_ = 0;
};

/// \brief httplib's server serving each connection through a DeadlineStream (one
/// request per connection, as set_keep_alive_max_count(1) asks of httplib's own).
class DeadlineServer : public httplib::Server {
 public:
  DeadlineServer(std::chrono::milliseconds read_header_timeout,
                 std::chrono::milliseconds write_timeout)
      : read_header_timeout_(read_header_timeout), write_timeout_(write_timeout) {}

 private:
  // Overrides httplib's (private virtual) per-connection loop; process_request is
  // what that loop calls for each request.
  bool process_and_close_socket(socket_t sock) override {
    DeadlineStream stream(sock, accepted_at + read_header_timeout_, write_timeout_);
    bool closed = false;
    // Not once the server stops (httplib's loop checks the same).
    const bool ok = svr_sock_ != INVALID_SOCKET &&
                    process_request(stream, /*close_connection=*/true, closed, nullptr);
    ::shutdown(sock, SHUT_RDWR);
    ::close(sock);
    return ok;
  }

  const std::chrono::milliseconds read_header_timeout_;
  const std::chrono::milliseconds write_timeout_;
};

/// \brief httplib task queue: one thread per connection, at most `max` at once.
///
/// httplib serves a connection on one thread from its first byte to its close: with
/// a fixed pool of two, two idle or slowly dripping connections (a stuck scraper, a
/// port scan) held every thread and liveness probes timed out. Each connection gets
/// a thread of its own instead, up to kMaxConnectionThreads at once (more wait for one to
/// end), and holds it at most read_header_timeout + write_timeout. Requests are few and
/// short: the threads sleep in poll() and exit with their connection.
class ConnectionThreads : public httplib::TaskQueue {
 public:
  explicit ConnectionThreads(int max) : state_(std::make_shared<State>()), max_(max) {}
  ~ConnectionThreads() override { shutdown(); }

  void enqueue(std::function<void()> fn) override {
    // httplib enqueues a connection right after accepting it.
    fn = [fn = std::move(fn), accepted = Clock::now()] {
      accepted_at = accepted;
      fn();
    };
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
  return Start(engine, std::move(options), kMaxConnectionThreads);
}

arrow::Result<std::unique_ptr<AdminServer>> AdminServer::StartForTesting(
    engine::Engine* engine, AdminServerOptions options, int max_connection_threads) {
  return Start(engine, std::move(options), max_connection_threads);
}

arrow::Result<std::unique_ptr<AdminServer>> AdminServer::Start(
    engine::Engine* engine, AdminServerOptions options, int max_connection_threads) {
  ARROW_ASSIGN_OR_RAISE(auto hp, config::ParseHostPort(options.bind_address));
  if (options.read_header_timeout.count() <= 0 || options.write_timeout.count() <= 0) {
    return arrow::Status::Invalid(
        "admin server: read_header_timeout and write_timeout must be positive");
  }
  if (max_connection_threads < 1) {
    return arrow::Status::Invalid("admin server: max_connection_threads must be >= 1");
  }
  std::unique_ptr<AdminServer> s(new AdminServer());
  s->engine_ = engine;
  if (!options.logger) options.logger = spdlog::default_logger();
  s->options_ = std::move(options);
  s->server_ = std::make_unique<DeadlineServer>(s->options_.read_header_timeout,
                                                s->options_.write_timeout);
  // SO_REUSEADDR only: httplib's default SO_REUSEPORT would let a second engine
  // share the port silently (and split the scrapes between the two).
  s->server_->set_socket_options([](socket_t sock) {
    int yes = 1;
    setsockopt(sock, SOL_SOCKET, SO_REUSEADDR, &yes, sizeof(yes));
  });
  // httplib owns (and deletes) the queue it gets from this factory.
  s->server_->new_task_queue = [max = max_connection_threads] {
    return new ConnectionThreads(max);
  };
  // One request per connection (DeadlineServer serves one anyway): a kept-alive
  // idle connection would hold its thread.
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
  // The deadlines applied, so an operator (and the tests) see the config took.
  s->options_.logger->info(
      "admin.endpoint.start address={} read_header_timeout={}ms write_timeout={}ms",
      s->address_, s->options_.read_header_timeout.count(),
      s->options_.write_timeout.count());
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
