// SPDX-License-Identifier: Apache-2.0
#include "otap_parquet/admin/admin_server.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <chrono>
#include <condition_variable>
#include <memory>
#include <mutex>
#include <optional>
#include <thread>
#include <vector>

#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <httplib.h>

#include "otap_parquet/engine/engine.h"
#include "otap_parquet/nodes/builtin_nodes.h"
#include "otap_parquet/testing/gtest_util.h"

namespace otap_parquet::admin {
namespace {

using ::testing::HasSubstr;

constexpr char kYaml[] = R"(version: otel_dataflow/v1
groups:
  default:
    pipelines:
      main:
        nodes:
          gen:
            type: receiver:traffic_generator
            config:
              traffic_config: {signals_per_second: 2000, max_batch_size: 10, log_weight: 1}
          out: {type: exporter:noop}
        connections:
          - {from: gen, to: out}
)";

// An engine of kYaml (not running) and admin options on a free loopback port.
class AdminServerTest : public ::testing::Test {
 protected:
  void MakeEngine(std::optional<int> num_cores = std::nullopt) {
    ASSERT_OK_AND_ASSIGN(auto config, engine::ParseAndValidate(kYaml, "admin.yaml",
                                                               nodes::BuiltinRegistry()));
    engine::EngineOptions options;
    options.num_cores = num_cores;
    ASSERT_OK_AND_ASSIGN(eng_,
                         engine::Engine::Make(config, nodes::BuiltinRegistry(), options));
    options_.bind_address = "127.0.0.1:0";
  }

  std::unique_ptr<engine::Engine> eng_;
  AdminServerOptions options_;
};

int Get(httplib::Client& client, const char* path, std::string* body = nullptr) {
  auto res = client.Get(path);
  if (!res) return -1;
  if (body) *body = res->body;
  return res->status;
}

// Scenario: a running engine (traffic generator → noop, two cores) with the admin
// server on a free port; readyz before, during and after the run; a scrape; a
// shutdown through POST /api/v1/groups/shutdown.
// Guarantees: livez is 200 throughout; readyz is 503 before Run and after the
// shutdown request, 200 while every instance runs; metrics are Prometheus text
// with the node labels; status lists both instances; the POST ends the run.
TEST_F(AdminServerTest, ServesEngineLifecycle) {
  ASSERT_NO_FATAL_FAILURE(MakeEngine(/*num_cores=*/2));
  engine::Engine* e = eng_.get();
  options_.request_shutdown = [e](std::chrono::seconds timeout) {
    e->RequestShutdown(engine::Clock::now() + timeout);
  };
  ASSERT_OK_AND_ASSIGN(auto server, AdminServer::Start(e, options_));
  ASSERT_GT(server->port(), 0);
  httplib::Client client("127.0.0.1", server->port());

  EXPECT_EQ(Get(client, "/api/v1/livez"), 200);
  EXPECT_EQ(Get(client, "/api/v1/readyz"), 503);

  arrow::Status run_status;
  std::thread runner([&] { run_status = eng_->Run(); });
  int ready = 0;
  for (int i = 0; i < 1000 && ready != 200; ++i) {
    ready = Get(client, "/api/v1/readyz");
    if (ready != 200) std::this_thread::sleep_for(std::chrono::milliseconds(10));
  }
  EXPECT_EQ(ready, 200);
  // Wait until some data has been acknowledged, so the counters are non-zero.
  for (int i = 0;
       i < 1000 && eng_->metrics().Sum("out", &engine::NodeMetrics::acked) == 0; ++i) {
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
  }
  std::string body;
  EXPECT_EQ(Get(client, "/api/v1/metrics", &body), 200);
  EXPECT_THAT(body, HasSubstr("# TYPE otap_node_sent_items_total counter\n"));
  EXPECT_THAT(body, HasSubstr("otap_node_acked_total{group=\"default\",pipeline=\"main\","
                              "node=\"out\",urn=\"urn:otel:exporter:noop\",core=\"1\"}"));
  EXPECT_EQ(Get(client, "/metrics", &body), 200);
  EXPECT_THAT(body, HasSubstr("# TYPE otap_node_queue_depth gauge\n"));
  EXPECT_EQ(Get(client, "/api/v1/status", &body), 200);
  EXPECT_THAT(body, HasSubstr("\"state\":\"running\",\"ready\":true,\"cores\":2"));
  EXPECT_THAT(body, HasSubstr("{\"group\":\"default\",\"pipeline\":\"main\",\"core\":1,"
                              "\"state\":\"running\",\"nodes\":2}"));
  EXPECT_EQ(Get(client, "/api/v1/nothing"), 404);

  auto res = client.Post("/api/v1/groups/shutdown?timeout_secs=10");
  ASSERT_TRUE(res);
  EXPECT_EQ(res->status, 202);
  EXPECT_EQ(Get(client, "/api/v1/readyz"), 503);
  runner.join();
  ASSERT_OK(run_status);
  EXPECT_EQ(Get(client, "/api/v1/readyz", &body), 503);
  EXPECT_EQ(body, "not ready: stopped\n");
  EXPECT_EQ(Get(client, "/api/v1/livez"), 200);
  EXPECT_GT(eng_->metrics().Sum("out", &engine::NodeMetrics::acked), 0);
  EXPECT_EQ(eng_->metrics().Sum("out", &engine::NodeMetrics::acked),
            eng_->metrics().Sum("out", &engine::NodeMetrics::received_batches));
  server->Stop();
}

// Scenario: a second server asks for the port the first one holds; a malformed
// address; no connection thread.
// Guarantees: IOError naming the address (no silent port sharing); Invalid.
TEST_F(AdminServerTest, BusyPortAndBadAddress) {
  ASSERT_NO_FATAL_FAILURE(MakeEngine());
  ASSERT_OK_AND_ASSIGN(auto first, AdminServer::Start(eng_.get(), options_));
  options_.bind_address = "127.0.0.1:" + std::to_string(first->port());
  auto second = AdminServer::Start(eng_.get(), options_);
  ASSERT_TRUE(second.status().IsIOError()) << second.status();
  EXPECT_THAT(second.status().message(), HasSubstr(options_.bind_address));
  options_.bind_address = "localhost";
  EXPECT_TRUE(AdminServer::Start(eng_.get(), options_).status().IsInvalid());
  options_.bind_address = "127.0.0.1:70000";
  EXPECT_TRUE(AdminServer::Start(eng_.get(), options_).status().IsInvalid());
  options_.bind_address = "127.0.0.1:0";
  EXPECT_TRUE(AdminServer::StartForTesting(eng_.get(), options_, 0).status().IsInvalid());
}

// Connects to 127.0.0.1:`port` and sends `request`; the socket, or -1.
int Send(int port, const std::string& request) {
  const int fd = ::socket(AF_INET, SOCK_STREAM, 0);
  if (fd < 0) return -1;
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_port = htons(static_cast<uint16_t>(port));
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  if (::connect(fd, reinterpret_cast<sockaddr*>(&addr), sizeof(addr)) != 0 ||
      ::send(fd, request.data(), request.size(), MSG_NOSIGNAL) !=
          static_cast<ssize_t>(request.size())) {
    ::close(fd);
    return -1;
  }
  return fd;
}

// Reads from `fd` until the server closes it (everything it answered); closes it.
std::string ReadToEnd(int fd) {
  std::string answer;
  if (fd < 0) return answer;
  char buffer[4096];
  ssize_t n;
  while ((n = ::recv(fd, buffer, sizeof(buffer), 0)) > 0) answer.append(buffer, n);
  ::close(fd);
  return answer;
}

// Sends `request` on a new connection to 127.0.0.1:`port` and reads until the server
// closes it (everything it answered).
std::string Exchange(int port, const std::string& request) {
  return ReadToEnd(Send(port, request));
}

// Scenario: `read_header_timeout` 10 ms and two connection threads, both held by
// shutdown requests whose handler blocks until released; a probe connects, sends
// its whole livez request and waits in the queue well past its deadline (1 s);
// then the handlers are released.
// Guarantees: the probe is answered 200: the deadline counts from the accept (a
// queue of slow clients drains fast), but a request that arrived while its
// connection waited for a thread is served whatever the wait; only waiting for
// more bytes past the deadline is refused. (A probe queued behind slow clients
// does not fail however busy the machine.)
TEST_F(AdminServerTest, ServesQueuedCompleteRequestPastItsDeadline) {
  ASSERT_NO_FATAL_FAILURE(MakeEngine());
  std::mutex mutex;
  std::condition_variable cv;
  int held = 0;
  bool released = false;
  AdminServerOptions& options = options_;
  options.read_header_timeout = std::chrono::milliseconds(10);
  options.request_shutdown = [&](std::chrono::seconds) {
    std::unique_lock<std::mutex> lock(mutex);
    ++held;
    cv.notify_all();
    cv.wait(lock, [&] { return released; });
  };
  ASSERT_OK_AND_ASSIGN(auto server,
                       AdminServer::StartForTesting(eng_.get(), options,
                                                    /*max_connection_threads=*/2));
  auto released_now = [&] {
    std::lock_guard<std::mutex> lock(mutex);
    return released;
  };
  std::vector<std::thread> holders;
  for (int i = 0; i < 2; ++i) {
    holders.emplace_back([&] {
      // Sent again if the server dropped it (not sent within 10 ms of its accept).
      while (!released_now() && ReadToEnd(Send(server->port(),
                                               "POST /api/v1/groups/shutdown HTTP/1.1\r\n"
                                               "Host: x\r\nContent-Length: 0\r\n\r\n"))
                                    .empty()) {
      }
    });
  }
  {
    std::unique_lock<std::mutex> lock(mutex);
    cv.wait(lock, [&] { return held == 2; });
  }
  const int probe = Send(server->port(), "GET /api/v1/livez HTTP/1.1\r\nHost: x\r\n\r\n");
  ASSERT_GE(probe, 0);
  std::this_thread::sleep_for(std::chrono::seconds(1));  // past its deadline, queued
  {
    std::lock_guard<std::mutex> lock(mutex);
    released = true;
  }
  cv.notify_all();
  EXPECT_THAT(ReadToEnd(probe), ::testing::StartsWith("HTTP/1.1 200 "));
  for (auto& t : holders) t.join();
  server->Stop();
}

// Scenario: requests with a body the admin routes never read: a POST announcing a
// terabyte it does not send, a chunked one; a scrape's connection after its answer.
// Guarantees: 413 at once, before any body byte is read (the server never buffers a
// request body: no memory for a client to fill, no worker waiting for bytes); every
// answer closes its connection, so an idle scraper cannot hold one of the two
// workers and delay a probe.
TEST_F(AdminServerTest, RefusesBodiesAndClosesConnections) {
  ASSERT_NO_FATAL_FAILURE(MakeEngine());
  bool shutdown_requested = false;
  options_.request_shutdown = [&](std::chrono::seconds) { shutdown_requested = true; };
  ASSERT_OK_AND_ASSIGN(auto server, AdminServer::Start(eng_.get(), options_));

  std::string answer = Exchange(server->port(),
                                "POST /api/v1/groups/shutdown HTTP/1.1\r\nHost: x\r\n"
                                "Content-Length: 1099511627776\r\n\r\n");
  EXPECT_THAT(answer, ::testing::StartsWith("HTTP/1.1 413 "));
  answer = Exchange(server->port(),
                    "POST /api/v1/groups/shutdown HTTP/1.1\r\nHost: x\r\n"
                    "Transfer-Encoding: chunked\r\n\r\n");
  EXPECT_THAT(answer, ::testing::StartsWith("HTTP/1.1 413 "));
  EXPECT_FALSE(shutdown_requested);

  // The server closes the connection after the answer (Exchange reads to the end).
  answer = Exchange(server->port(), "GET /api/v1/livez HTTP/1.1\r\nHost: x\r\n\r\n");
  EXPECT_THAT(answer, ::testing::StartsWith("HTTP/1.1 200 "));
  EXPECT_THAT(answer, HasSubstr("Connection: close\r\n"));
  EXPECT_THAT(answer, ::testing::EndsWith("\r\n\r\nok\n"));
  server->Stop();
}

}  // namespace
}  // namespace otap_parquet::admin
