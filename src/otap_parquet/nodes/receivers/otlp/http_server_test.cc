// SPDX-License-Identifier: Apache-2.0
#include "otap_parquet/nodes/receivers/otlp/http_server.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <unistd.h>

#include <chrono>
#include <string>
#include <thread>

#include <gmock/gmock.h>

#include "otap_parquet/testing/gtest_util.h"

namespace otap_parquet::nodes::otlp_receiver {
namespace {

using ::testing::StartsWith;

// A blocking client socket with a 10 s receive timeout (a bound, not a measurement).
class Client {
 public:
  explicit Client(int port) {
    fd_ = ::socket(AF_INET, SOCK_STREAM, 0);
    timeval tv{10, 0};
    ::setsockopt(fd_, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
    sockaddr_in addr{};
    addr.sin_family = AF_INET;
    addr.sin_port = htons(static_cast<uint16_t>(port));
    addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    connected_ = ::connect(fd_, reinterpret_cast<sockaddr*>(&addr), sizeof(addr)) == 0;
  }
  ~Client() { ::close(fd_); }
  bool connected() const { return connected_; }
  void Send(const std::string& data) {
    ASSERT_EQ(::send(fd_, data.data(), data.size(), MSG_NOSIGNAL),
              static_cast<ssize_t>(data.size()));
  }
  /// \brief Whether the server has closed the connection (without waiting).
  bool ClosedNow() {
    char c;
    const ssize_t n = ::recv(fd_, &c, 1, MSG_DONTWAIT | MSG_PEEK);
    return n == 0 || (n < 0 && errno != EAGAIN && errno != EWOULDBLOCK);
  }
  /// \brief What arrives until the server closes (or 10 s pass: then "timeout").
  std::string ReadToClose() {
    std::string out;
    char buf[4096];
    for (;;) {
      const ssize_t n = ::recv(fd_, buf, sizeof(buf), 0);
      if (n == 0) return out;
      if (n < 0) return errno == EAGAIN || errno == EWOULDBLOCK ? "timeout" : out;
      out.append(buf, static_cast<size_t>(n));
    }
  }

 private:
  int fd_ = -1;
  bool connected_ = false;
};

class HttpServerTest : public ::testing::Test {
 protected:
  void Start(HttpLimits limits) {
    OtlpHttpConfig config;
    config.listening_addr = {"127.0.0.1", 0};
    config.max_concurrent_requests = 4;
    config.limits = limits;
    ASSERT_OK_AND_ASSIGN(server_, HttpServer::Start(config, "", &ingest_));
  }
  void WaitForConnections(int64_t n) {
    for (int i = 0; i < 10000 && ingest_.counters().http_connections.load() != n; ++i) {
      std::this_thread::sleep_for(std::chrono::milliseconds(1));
    }
    ASSERT_EQ(ingest_.counters().http_connections.load(), n);
  }
  int64_t drops(HttpDrop reason) const {
    return ingest_.counters().http_drops[static_cast<int>(reason)].load();
  }

  Ingest ingest_{nullptr};  // no request here reaches Submit
  std::unique_ptr<HttpServer> server_;
};

// Scenario: max_connections 2; two idle connections are open, a third connects
// and asks for a wrong method.
// Guarantees: one idle connection is closed to make room (counted), the new one is
// served (405).
TEST_F(HttpServerTest, ConnectionLimitClosesAnIdleConnection) {
  HttpLimits limits;
  limits.max_connections = 2;
  Start(limits);
  Client a(server_->port()), b(server_->port());
  ASSERT_TRUE(a.connected() && b.connected());
  WaitForConnections(2);
  Client c(server_->port());
  ASSERT_TRUE(c.connected());
  c.Send("GET /v1/logs HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n");
  EXPECT_THAT(c.ReadToClose(), StartsWith("HTTP/1.1 405"));
  // The victim was closed before the new connection was served (one I/O thread);
  // the other idle one is still open.
  EXPECT_NE(a.ClosedNow(), b.ClosedNow());
  EXPECT_EQ(drops(HttpDrop::kConnectionLimit), 1);
}

// Scenario: max_connections 1; the only connection is in the middle of its headers
// (not idle) when another connects.
// Guarantees: the new connection is closed unanswered (counted); the first one
// still completes its request.
TEST_F(HttpServerTest, ConnectionLimitWithNoIdleConnectionRefusesTheNewOne) {
  HttpLimits limits;
  limits.max_connections = 1;
  Start(limits);
  Client a(server_->port());
  a.Send("GET /v1/logs HTTP/1.1\r\n");
  WaitForConnections(1);
  Client b(server_->port());
  EXPECT_NE(b.ReadToClose(), "timeout");
  EXPECT_EQ(drops(HttpDrop::kConnectionLimit), 1);
  a.Send("Host: x\r\nConnection: close\r\n\r\n");
  EXPECT_THAT(a.ReadToClose(), StartsWith("HTTP/1.1 405"));
}

// Scenario: a client sends part of its headers and stops; another sends nothing.
// Guarantees: the header deadline closes the first, the idle deadline the second,
// each counted by its reason.
TEST_F(HttpServerTest, HeaderAndIdleDeadlinesCloseSlowConnections) {
  HttpLimits limits;
  limits.header_timeout = std::chrono::milliseconds(100);
  limits.idle_timeout = std::chrono::milliseconds(100);
  Start(limits);
  Client slow(server_->port()), idle(server_->port());
  slow.Send("POST /v1/logs HTTP/1.1\r\nHost:");
  EXPECT_EQ(slow.ReadToClose(), "");
  EXPECT_EQ(idle.ReadToClose(), "");
  WaitForConnections(0);
  EXPECT_EQ(drops(HttpDrop::kHeaderTimeout), 1);
  EXPECT_EQ(drops(HttpDrop::kIdle), 1);
}

// Scenario: as above (and a body that stops after 10 of 100 bytes), but the counts
// are read as soon as each client sees its connection closed, then the server stops.
// Guarantees: a timeout is counted before the client can see the close (the old
// beast deadline closed the socket first and counted later, so an engine stopped
// by that client could publish its metrics without the count); each connection is
// counted once, by the reason that closed it (none again at shutdown).
TEST_F(HttpServerTest, TimeoutsAreCountedBeforeTheClientSeesTheClose) {
  HttpLimits limits;
  limits.header_timeout = std::chrono::milliseconds(100);
  limits.idle_timeout = std::chrono::milliseconds(100);
  limits.body_timeout = std::chrono::milliseconds(100);
  Start(limits);
  {
    Client slow_body(server_->port());
    slow_body.Send(
        "POST /v1/logs HTTP/1.1\r\nHost: x\r\nContent-Type: application/x-protobuf\r\n"
        "Content-Length: 100\r\n\r\n0123456789");
    ASSERT_EQ(slow_body.ReadToClose(), "");
    ASSERT_EQ(drops(HttpDrop::kBodyTimeout), 1);
  }
  for (int i = 0; i < 20; ++i) {
    Client slow(server_->port()), idle(server_->port());
    slow.Send("POST /v1/logs HTTP/1.1\r\nHost:");
    ASSERT_EQ(slow.ReadToClose(), "");
    ASSERT_EQ(drops(HttpDrop::kHeaderTimeout), i + 1);
    ASSERT_EQ(idle.ReadToClose(), "");
    ASSERT_EQ(drops(HttpDrop::kIdle), i + 1);
  }
  server_.reset();
  EXPECT_EQ(drops(HttpDrop::kShutdown), 0);
  EXPECT_EQ(drops(HttpDrop::kHeaderTimeout), 20);
  EXPECT_EQ(drops(HttpDrop::kIdle), 20);
  EXPECT_EQ(drops(HttpDrop::kBodyTimeout), 1);
}

}  // namespace
}  // namespace otap_parquet::nodes::otlp_receiver
