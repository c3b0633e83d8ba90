// SPDX-License-Identifier: Apache-2.0
#include "otap_parquet/nodes/receivers/otlp/listen_claim.h"

#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <gtest/gtest.h>

#include "otap_parquet/testing/gtest_util.h"

namespace otap_parquet::nodes::otlp_receiver {
namespace {

// A listening socket on 127.0.0.1 with SO_REUSEPORT, as another engine holds it.
struct ForeignListener {
  int fd = -1;
  int port = 0;
  ForeignListener() {
    fd = ::socket(AF_INET, SOCK_STREAM, 0);
    int yes = 1;
    ::setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &yes, sizeof(yes));
    ::setsockopt(fd, SOL_SOCKET, SO_REUSEPORT, &yes, sizeof(yes));
    sockaddr_in addr{};
    addr.sin_family = AF_INET;
    addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    EXPECT_EQ(::bind(fd, reinterpret_cast<sockaddr*>(&addr), sizeof(addr)), 0);
    EXPECT_EQ(::listen(fd, 4), 0);
    socklen_t len = sizeof(addr);
    ::getsockname(fd, reinterpret_cast<sockaddr*>(&addr), &len);
    port = ntohs(addr.sin_port);
  }
  ~ForeignListener() { ::close(fd); }
};

TEST(ListenClaimTest, AnAddressHeldByAnotherSocketIsRefused) {
  ForeignListener other;
  auto claim = ListenClaim::Acquire(ListenAddress{"127.0.0.1", other.port}, "OTLP/gRPC");
  ASSERT_FALSE(claim.ok());
  EXPECT_TRUE(claim.status().IsIOError());
  EXPECT_NE(claim.status().message().find("in use by another process"),
            std::string::npos);
  EXPECT_NE(claim.status().message().find(std::to_string(other.port)), std::string::npos);
}

TEST(ListenClaimTest, ServersOfThisProcessShareTheClaim) {
  int port = 0;
  {
    ForeignListener probe;  // a free port: taken, then given back
    port = probe.port;
  }
  const ListenAddress address{"127.0.0.1", port};
  ASSERT_OK_AND_ASSIGN(auto first, ListenClaim::Acquire(address, "OTLP/gRPC"));
  ASSERT_NE(first, nullptr);
  // The first instance's server now listens (SO_REUSEPORT): the second instance of
  // this process shares the claim instead of checking again.
  int fd = ::socket(AF_INET, SOCK_STREAM, 0);
  int yes = 1;
  ::setsockopt(fd, SOL_SOCKET, SO_REUSEPORT, &yes, sizeof(yes));
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  addr.sin_port = htons(static_cast<uint16_t>(port));
  ASSERT_EQ(::bind(fd, reinterpret_cast<sockaddr*>(&addr), sizeof(addr)), 0);
  ASSERT_EQ(::listen(fd, 4), 0);
  ASSERT_OK_AND_ASSIGN(auto second, ListenClaim::Acquire(address, "OTLP/gRPC"));
  EXPECT_EQ(first, second);
  ::close(fd);
  first.reset();
  second.reset();
  // Released: the next claim checks again (and the port is free again).
  ASSERT_OK_AND_ASSIGN(auto third, ListenClaim::Acquire(address, "OTLP/gRPC"));
  EXPECT_NE(third, nullptr);
}

TEST(ListenClaimTest, AnyFreePortNeedsNoClaim) {
  ASSERT_OK_AND_ASSIGN(auto claim,
                       ListenClaim::Acquire(ListenAddress{"127.0.0.1", 0}, "OTLP/HTTP"));
  EXPECT_EQ(claim, nullptr);
}

}  // namespace
}  // namespace otap_parquet::nodes::otlp_receiver
