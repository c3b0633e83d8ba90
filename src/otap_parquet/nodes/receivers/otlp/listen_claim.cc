// SPDX-License-Identifier: Apache-2.0
#include "otap_parquet/nodes/receivers/otlp/listen_claim.h"

#include <netdb.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <map>
#include <mutex>

#include <arrow/status.h>

namespace otap_parquet::nodes::otlp_receiver {

namespace {

std::mutex& RegistryMutex() {
  static std::mutex mutex;
  return mutex;
}

// Claims alive in this process, by address (weak: the servers own them).
std::map<std::string, std::weak_ptr<ListenClaim>>& Registry() {
  static std::map<std::string, std::weak_ptr<ListenClaim>> registry;
  return registry;
}

// Binds `address` without SO_REUSEPORT (SO_REUSEADDR only, so connections of an
// earlier process in TIME_WAIT do not count): fails with EADDRINUSE when any other
// socket holds it, SO_REUSEPORT or not. Other errors are left to the real bind.
arrow::Status CheckFree(const ListenAddress& address, const std::string& protocol) {
  addrinfo hints{};
  hints.ai_family = AF_UNSPEC;
  hints.ai_socktype = SOCK_STREAM;
  hints.ai_flags = AI_PASSIVE | AI_NUMERICSERV;
  addrinfo* found = nullptr;
  const std::string port = std::to_string(address.port);
  if (::getaddrinfo(address.host.empty() ? nullptr : address.host.c_str(), port.c_str(),
                    &hints, &found) != 0 ||
      found == nullptr) {
    return arrow::Status::OK();
  }
  std::unique_ptr<addrinfo, decltype(&::freeaddrinfo)> owned(found, &::freeaddrinfo);
  const int fd = ::socket(found->ai_family, found->ai_socktype, found->ai_protocol);
  if (fd < 0) return arrow::Status::OK();
  int yes = 1;
  ::setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &yes, sizeof(yes));
  const int rc = ::bind(fd, found->ai_addr, found->ai_addrlen);
  const int error = errno;
  ::close(fd);
  if (rc != 0 && error == EADDRINUSE) {
    return arrow::Status::IOError(
        "cannot listen for ", protocol, " on ", address.ToString(),
        ": address in use by another process (a second engine with the same "
        "listening_addr?)");
  }
  return arrow::Status::OK();
}

}  // namespace

arrow::Result<std::shared_ptr<ListenClaim>> ListenClaim::Acquire(
    const ListenAddress& address, const std::string& protocol) {
  if (address.port == 0) return nullptr;
  const std::string key = address.ToString();
  std::lock_guard<std::mutex> lock(RegistryMutex());
  auto& slot = Registry()[key];
  if (auto live = slot.lock()) return live;
  ARROW_RETURN_NOT_OK(CheckFree(address, protocol));
  std::shared_ptr<ListenClaim> claim(new ListenClaim(key));
  slot = claim;
  return claim;
}

ListenClaim::~ListenClaim() {
  std::lock_guard<std::mutex> lock(RegistryMutex());
  auto it = Registry().find(key_);
  if (it != Registry().end() && it->second.expired()) Registry().erase(it);
}

}  // namespace otap_parquet::nodes::otlp_receiver
