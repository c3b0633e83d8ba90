// SPDX-License-Identifier: Apache-2.0
#pragma once

#include <cstdint>
#include <optional>
#include <string>

#include "otap_parquet/config/config_reader.h"

/// \file
/// The server settings `receiver:otlp` (per protocol) and `receiver:otap` read the
/// same way, with the same keys and messages: the listening address, the message
/// size limit, `tls` and `auth`.

namespace otap_parquet::nodes {

/// \brief A `host:port` listening address (`[v6]:port` for IPv6).
struct ListenAddress {
  std::string host;  ///< without brackets
  int port = 0;

  /// \brief `host:port` (brackets around IPv6 hosts), as gRPC wants it.
  std::string ToString() const;
  static std::optional<ListenAddress> Parse(const std::string& text);
};

/// \brief The required key `listening_addr` of `reader`'s block.
ListenAddress ReadListenAddress(config::ConfigReader& reader);

/// \brief `max_decoding_message_size`: bytes, at most 2GiB - 1 (gRPC's limit is
/// an int); nullopt when absent or invalid.
std::optional<int64_t> ReadMaxDecodingMessageSize(config::ConfigReader& reader);

/// \brief `tls`: server certificate and key, optionally a client CA (mTLS). Files
/// must exist and be readable at config time.
struct OtlpTlsConfig {
  std::string cert_file;
  std::string key_file;
  std::string client_ca_file;  ///< empty = no client certificates asked for
  /// Inline PEM text (`cert_pem`, `key_pem`, `client_ca_pem`): each instead of its
  /// `*_file`, never both.
  std::string cert_pem, key_pem, client_ca_pem;

  bool mtls() const { return !client_ca_file.empty() || !client_ca_pem.empty(); }
  static OtlpTlsConfig Read(config::ConfigReader& reader);
};

/// \brief `auth`: requests must carry `authorization: Bearer <token>` (gRPC
/// metadata or HTTP header).
struct ServerAuthConfig {
  std::string bearer_token;  ///< `bearer_token`: required, not empty

  static ServerAuthConfig Read(config::ConfigReader& reader);
};

}  // namespace otap_parquet::nodes
