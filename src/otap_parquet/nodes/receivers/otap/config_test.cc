// SPDX-License-Identifier: Apache-2.0
#include "otap_parquet/nodes/receivers/otap/config.h"

#include <string>

#include <gmock/gmock.h>

#include "otap_parquet/testing/gtest_util.h"

namespace otap_parquet::nodes {
namespace {

using ::testing::HasSubstr;

arrow::Result<OtapReceiverConfig> Parse(const std::string& yaml) {
  return config::ParseTyped<OtapReceiverConfig>(YAML::Load(yaml), "nodes.otap.config");
}

std::string ErrorOf(const std::string& yaml) {
  auto result = Parse(yaml);
  return result.ok() ? std::string() : result.status().message();
}

// Scenario: the address, message size, inline-PEM tls and auth, which receiver:otap
// reads with receiver:otlp's server readers.
// Guarantees: each is read into the config; absent tls and auth stay unset.
TEST(OtapReceiverConfigTest, ReadsServerSettings) {
  ASSERT_OK_AND_ASSIGN(auto c, Parse(R"(
listening_addr: "[::1]:4317"
max_decoding_message_size: 8MiB
tls: {cert_pem: C, key_pem: K, client_ca_pem: A, handshake_timeout: 10s}
auth: {bearer_token: s3cret}
)"));
  EXPECT_EQ(c.listening_addr.ToString(), "[::1]:4317");
  EXPECT_EQ(c.max_decoding_message_size, 8 << 20);
  ASSERT_TRUE(c.tls);
  EXPECT_EQ(c.tls->cert_pem, "C");
  EXPECT_TRUE(c.tls->mtls());
  EXPECT_EQ(c.bearer_token, "s3cret");

  ASSERT_OK_AND_ASSIGN(auto defaults, Parse("listening_addr: 127.0.0.1:4317"));
  EXPECT_FALSE(defaults.tls);
  EXPECT_TRUE(defaults.bearer_token.empty());
  EXPECT_EQ(defaults.max_decoding_message_size, 4 << 20);
}

// Scenario: tls with a missing file, both a file and inline PEM, no key, and an
// unknown key.
// Guarantees: every error is at the receiver's own `tls` path with its line, worded
// as receiver:otlp words it.
TEST(OtapReceiverConfigTest, TlsErrorsCarryTheReceiverPath) {
  const std::string error = ErrorOf(R"(
listening_addr: 127.0.0.1:4317
tls:
  cert_file: /nonexistent/server.crt
  cert_pem: x
  client_ca_file: /nonexistent/ca.crt
  key_fle: k
)");
  EXPECT_THAT(error, HasSubstr("nodes.otap.config.tls.cert_file (line 4): file "
                               "\"/nonexistent/server.crt\" does not exist"));
  EXPECT_THAT(error, HasSubstr("nodes.otap.config.tls.cert_pem (line 5): give either "
                               "cert_file or cert_pem"));
  EXPECT_THAT(error, HasSubstr("nodes.otap.config.tls.client_ca_file (line 6)"));
  EXPECT_THAT(error, HasSubstr("nodes.otap.config.tls (line 4): missing required key "
                               "\"key_file\" (or \"key_pem\")"));
  EXPECT_THAT(error, HasSubstr("nodes.otap.config.tls.key_fle (line 7): unknown key; did "
                               "you mean \"key_file\"?"));
}

// Scenario: a bad auth block, a bad address and an oversized message limit.
// Guarantees: each is an error at the receiver's path, worded as receiver:otlp
// words it.
TEST(OtapReceiverConfigTest, AuthAndAddressErrorsCarryTheReceiverPath) {
  EXPECT_THAT(
      ErrorOf("listening_addr: 127.0.0.1:4317\nauth: {bearer_token: \"\"}"),
      HasSubstr("nodes.otap.config.auth.bearer_token (line 2): must not be empty"));
  EXPECT_THAT(ErrorOf("listening_addr: 127.0.0.1:4317\nauth: {token: x}"),
              HasSubstr("nodes.otap.config.auth (line 2): missing required key "
                        "\"bearer_token\""));
  EXPECT_THAT(ErrorOf("listening_addr: localhost"),
              HasSubstr("nodes.otap.config.listening_addr (line 1): expected "
                        "\"host:port\""));
  EXPECT_THAT(ErrorOf("{}"), HasSubstr("nodes.otap.config (line 1): missing required key "
                                       "\"listening_addr\""));
  EXPECT_THAT(ErrorOf("listening_addr: 127.0.0.1:4317\nmax_decoding_message_size: 3GiB"),
              HasSubstr("nodes.otap.config.max_decoding_message_size (line 2): must be "
                        "at most 2GiB - 1"));
}

// Scenario: admission.request_limit_mib below max_decoding_message_size, with and
// without OTLP served; a large message size without the key.
// Guarantees: with OTLP it is an error (such an Export request would be refused on
// every retry); the default limit holds two requests of the largest size.
TEST(OtapReceiverConfigTest, RequestLimitHoldsOneOtlpRequest) {
  const std::string small =
      "listening_addr: 127.0.0.1:4317\nmax_decoding_message_size: 8MiB\n"
      "admission: {request_limit_mib: 4}\n";
  EXPECT_THAT(ErrorOf(small), HasSubstr("request_limit_mib must hold at least one OTLP "
                                        "request of max_decoding_message_size"));
  ASSERT_OK_AND_ASSIGN(auto arrow_only, Parse(small + "otlp: false"));
  EXPECT_EQ(arrow_only.request_limit_bytes, 4 << 20);
  ASSERT_OK_AND_ASSIGN(
      auto large,
      Parse("listening_addr: 127.0.0.1:4317\nmax_decoding_message_size: 100MiB"));
  EXPECT_EQ(large.request_limit_bytes, 200 << 20);
}

}  // namespace
}  // namespace otap_parquet::nodes
