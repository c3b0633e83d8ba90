// SPDX-License-Identifier: Apache-2.0
#pragma once

#include <memory>
#include <string>

#include <arrow/result.h>

#include "otap_parquet/nodes/receivers/otlp/server_config.h"

namespace otap_parquet::nodes::otlp_receiver {

/// \brief This process's claim on a listening address that its own servers share.
///
/// Every pipeline instance binds the receiver's port with SO_REUSEPORT (the kernel
/// spreads connections over them). SO_REUSEPORT alone would also let a second
/// engine (or any process of the same user) bind the same port and silently take
/// part of the traffic. So the first server of this process to listen on an
/// address checks, with a bind without SO_REUSEPORT, that no other socket holds
/// it; the other servers of the process share that claim while one of them holds
/// it. Port 0 (any free port) needs no claim.
class ListenClaim {
 public:
  /// \brief The claim on `address`: the live one of this process, or a new one
  /// after the check. IOError "in use" when another socket holds the address.
  static arrow::Result<std::shared_ptr<ListenClaim>> Acquire(const ListenAddress& address,
                                                             const std::string& protocol);

  ~ListenClaim();
  ListenClaim(const ListenClaim&) = delete;
  ListenClaim& operator=(const ListenClaim&) = delete;

 private:
  explicit ListenClaim(std::string key) : key_(std::move(key)) {}
  const std::string key_;
};

}  // namespace otap_parquet::nodes::otlp_receiver
