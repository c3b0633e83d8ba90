// SPDX-License-Identifier: Apache-2.0
#include "otap_parquet/nodes/receivers/otlp/otlp_receiver.h"

#include <filesystem>
#include <fstream>

#include <gmock/gmock.h>

#include "otap_parquet/testing/gtest_util.h"

namespace otap_parquet::nodes {
namespace {

using ::testing::AllOf;
using ::testing::ElementsAre;
using ::testing::HasSubstr;
using ::testing::IsEmpty;

arrow::Result<OtlpReceiverConfig> Parse(const std::string& yaml) {
  return config::ParseTyped<OtlpReceiverConfig>(YAML::Load(yaml), "nodes.otlp.config");
}

std::string ErrorOf(const std::string& yaml) {
  auto result = Parse(yaml);
  return result.ok() ? std::string() : result.status().message();
}

// Scenario: both protocols with every upstream key we apply, plus auth.
// Guarantees: each value is read; tuning keys upstream has are accepted.
TEST(OtlpReceiverConfigTest, ReadsUpstreamKeys) {
  ASSERT_OK_AND_ASSIGN(auto c, Parse(R"(
protocols:
  grpc:
    listening_addr: "0.0.0.0:4317"
    max_decoding_message_size: 512MiB
    request_compression: [gzip]
    response_compression: gzip
    max_concurrent_requests: 100
    wait_for_result: true
    timeout: 5s
    tcp_nodelay: true
    http2_keepalive_interval: 30s
  http:
    listening_addr: "[::1]:4318"
    max_request_body_size: 1MiB
    wait_for_result: true
    timeout: 2s
    accept_compressed_requests: false
    idle_timeout: 90s
    read_header_timeout: 2s
    read_timeout: 1m
    max_connections: 256
    tcp_keepalive: 45s
auth:
  bearer_token: s3cret
)"));
  ASSERT_TRUE(c.grpc && c.http);
  EXPECT_EQ(c.grpc->listening_addr.ToString(), "0.0.0.0:4317");
  EXPECT_EQ(c.grpc->max_decoding_message_size, 512LL << 20);
  EXPECT_THAT(c.grpc->request_compression, ElementsAre(OtlpCompression::kGzip));
  EXPECT_EQ(c.grpc->response_compression, OtlpCompression::kGzip);
  EXPECT_EQ(c.grpc->max_concurrent_requests, 100);
  EXPECT_TRUE(c.grpc->wait_for_result);
  EXPECT_EQ(*c.grpc->timeout, std::chrono::seconds(5));
  EXPECT_EQ(c.http->listening_addr.host, "::1");
  EXPECT_EQ(c.http->listening_addr.port, 4318);
  EXPECT_EQ(c.http->listening_addr.ToString(), "[::1]:4318");
  EXPECT_EQ(c.http->max_request_body_size, 1 << 20);
  EXPECT_TRUE(c.http->wait_for_result);
  EXPECT_EQ(c.http->timeout, std::chrono::seconds(2));
  EXPECT_FALSE(c.http->accept_compressed_requests);
  EXPECT_EQ(c.http->limits.idle_timeout, std::chrono::seconds(90));
  EXPECT_EQ(c.http->limits.header_timeout, std::chrono::seconds(2));
  EXPECT_EQ(c.http->limits.body_timeout, std::chrono::minutes(1));
  EXPECT_EQ(c.http->limits.max_connections, 256);
  EXPECT_EQ(c.bearer_token, "s3cret");
}

// Scenario: only a gRPC address.
// Guarantees: upstream's defaults (4MiB, no wait, no TLS, no HTTP, no auth).
TEST(OtlpReceiverConfigTest, Defaults) {
  ASSERT_OK_AND_ASSIGN(auto c,
                       Parse("protocols: {grpc: {listening_addr: 127.0.0.1:4317}}"));
  ASSERT_TRUE(c.grpc);
  EXPECT_FALSE(c.http);
  EXPECT_EQ(c.grpc->max_decoding_message_size, 4 << 20);
  EXPECT_FALSE(c.grpc->wait_for_result);
  EXPECT_FALSE(c.grpc->timeout);
  EXPECT_FALSE(c.grpc->tls);
  EXPECT_THAT(c.grpc->request_compression,
              ElementsAre(OtlpCompression::kZstd, OtlpCompression::kGzip,
                          OtlpCompression::kDeflate));
  EXPECT_EQ(c.grpc->response_compression, OtlpCompression::kNone);
  EXPECT_TRUE(c.bearer_token.empty());
  ASSERT_OK_AND_ASSIGN(auto h,
                       Parse("protocols: {http: {listening_addr: 127.0.0.1:4318}}"));
  EXPECT_EQ(h.http->timeout, std::chrono::seconds(30));
  EXPECT_EQ(h.http->max_request_body_size, 4 << 20);
  EXPECT_TRUE(h.http->accept_compressed_requests);
  EXPECT_EQ(h.http->limits.idle_timeout, std::chrono::seconds(60));
  EXPECT_EQ(h.http->limits.header_timeout, std::chrono::seconds(10));
  EXPECT_EQ(h.http->limits.body_timeout, std::chrono::seconds(30));
  EXPECT_EQ(h.http->limits.max_connections, 4096);
}

// Scenario: HTTP connection limits out of range.
// Guarantees: each is an error naming its key.
TEST(OtlpReceiverConfigTest, HttpLimitsAreValidated) {
  EXPECT_THAT(ErrorOf("protocols: {http: {listening_addr: 127.0.0.1:4318, "
                      "max_connections: 0}}"),
              HasSubstr("max_connections"));
  EXPECT_THAT(ErrorOf("protocols: {http: {listening_addr: 127.0.0.1:4318, "
                      "read_header_timeout: 0s}}"),
              HasSubstr("read_header_timeout"));
  EXPECT_THAT(ErrorOf("protocols: {http: {listening_addr: 127.0.0.1:4318, "
                      "idle_timeout: soon}}"),
              HasSubstr("idle_timeout"));
}

// Scenario: protocols.grpc and protocols.http with and without
// admission.request_limit_mib, and with large messages or a limit smaller than one.
// Guarantees: the default is 128 MiB, raised to two messages of the protocol's size
// limit (max_decoding_message_size, max_request_body_size); the key (receiver:otap's
// name) sets it; one that cannot hold a message is an error naming the size key.
TEST(OtlpReceiverConfigTest, RequestLimit) {
  for (const std::string protocol : {"grpc", "http"}) {
    SCOPED_TRACE(protocol);
    const std::string size_key =
        protocol == "grpc" ? "max_decoding_message_size" : "max_request_body_size";
    auto parse = [&](const std::string& keys) -> arrow::Result<int64_t> {
      ARROW_ASSIGN_OR_RAISE(
          auto c, Parse("protocols: {" + protocol + ": {listening_addr: 127.0.0.1:1" +
                        keys + "}}"));
      return protocol == "grpc" ? c.grpc->RequestLimitBytes()
                                : c.http->RequestLimitBytes();
    };
    ASSERT_OK_AND_ASSIGN(int64_t fallback, parse(""));
    EXPECT_EQ(fallback, int64_t{128} << 20);
    ASSERT_OK_AND_ASSIGN(int64_t raised, parse(", " + size_key + ": 512MiB"));
    EXPECT_EQ(raised, int64_t{1} << 30);
    ASSERT_OK_AND_ASSIGN(
        int64_t set, parse(", admission: {request_limit_mib: 16, waiting_limit_mib: 1}"));
    EXPECT_EQ(set, int64_t{16} << 20);
    EXPECT_RAISES_WITH_MESSAGE_THAT(
        Invalid, AllOf(HasSubstr("admission.request_limit_mib"), HasSubstr(size_key)),
        parse(", " + size_key + ": 32MiB, admission: {request_limit_mib: 16}"));
    EXPECT_RAISES_WITH_MESSAGE_THAT(Invalid, HasSubstr("request_limit"),
                                    parse(", admission: {request_limit: 16}"));
  }
}

// Scenario: no protocols, an empty protocols block, a missing address.
// Guarantees: each is an error naming the path and what is missing.
TEST(OtlpReceiverConfigTest, MissingProtocolsAndAddress) {
  EXPECT_THAT(ErrorOf("{}"), HasSubstr("nodes.otlp.config (line 1): missing required key "
                                       "\"protocols\""));
  EXPECT_THAT(ErrorOf("protocols: {}"),
              HasSubstr("nodes.otlp.config.protocols (line 1): configure at least one "
                        "protocol"));
  EXPECT_THAT(ErrorOf("protocols: {grpc: {wait_for_result: true}}"),
              HasSubstr("nodes.otlp.config.protocols.grpc (line 1): missing required key "
                        "\"listening_addr\""));
}

// Scenario: malformed listening addresses.
// Guarantees: each is refused at listening_addr with the expected shape.
TEST(OtlpReceiverConfigTest, BadAddress) {
  for (const char* addr : {"4317", "localhost", "localhost:", ":4317", "host:70000",
                           "host:43a7", "::1:4317", "[::1:4317"}) {
    SCOPED_TRACE(addr);
    EXPECT_THAT(
        ErrorOf(std::string("protocols: {http: {listening_addr: \"") + addr + "\"}}"),
        HasSubstr("nodes.otlp.config.protocols.http.listening_addr (line 1): expected "
                  "\"host:port\""));
  }
}

// Scenario: unknown keys at every level, wrong types and values.
// Guarantees: every error is reported (not only the first), with suggestions.
TEST(OtlpReceiverConfigTest, UnknownKeysAndBadValues) {
  const std::string error = ErrorOf(R"(
protocols:
  grpc:
    listening_addr: 127.0.0.1:4317
    wait_for_reslt: true
    max_decoding_message_size: lots
    request_compression: [brotli]
  http:
    listening_addr: 127.0.0.1:4318
    timeout: soon
  htp: {}
auth: {token: x}
)");
  EXPECT_THAT(error, HasSubstr("protocols.grpc.wait_for_reslt (line 5): unknown key; did "
                               "you mean \"wait_for_result\"?"));
  EXPECT_THAT(error, HasSubstr("protocols.grpc.max_decoding_message_size (line 6)"));
  EXPECT_THAT(error, HasSubstr("protocols.grpc.request_compression[0] (line 7): must be "
                               "one of none, gzip, zstd, deflate, got \"brotli\""));
  EXPECT_THAT(error, HasSubstr("protocols.http.timeout (line 10)"));
  EXPECT_THAT(error, HasSubstr("protocols.htp (line 11): unknown key"));
  EXPECT_THAT(error, HasSubstr("auth.token (line 12): unknown key"));
  EXPECT_THAT(error, HasSubstr("missing required key \"bearer_token\""));
}

// Scenario: request_compression as a list, as one name, with `none`, empty, and
// with names that are not methods; response_compression zstd.
// Guarantees: the names read as OtlpCompression values in order (`none` is always
// accepted, not kept); each bad name is an error at its item naming the value and
// the allowed names; zstd responses are refused at their key.
TEST(OtlpReceiverConfigTest, RequestCompressionIsAnEnumList) {
  auto grpc = [](const std::string& extra) {
    return "protocols:\n  grpc:\n    listening_addr: 127.0.0.1:4317\n    " + extra;
  };
  ASSERT_OK_AND_ASSIGN(auto list,
                       Parse(grpc("request_compression: [deflate, none, zstd]")));
  EXPECT_THAT(list.grpc->request_compression,
              ElementsAre(OtlpCompression::kDeflate, OtlpCompression::kZstd));
  EXPECT_TRUE(list.grpc->Accepts(OtlpCompression::kZstd));
  EXPECT_FALSE(list.grpc->Accepts(OtlpCompression::kGzip));
  ASSERT_OK_AND_ASSIGN(auto one, Parse(grpc("request_compression: gzip")));
  EXPECT_THAT(one.grpc->request_compression, ElementsAre(OtlpCompression::kGzip));
  ASSERT_OK_AND_ASSIGN(auto none, Parse(grpc("request_compression: [none]")));
  EXPECT_THAT(none.grpc->request_compression, IsEmpty());
  ASSERT_OK_AND_ASSIGN(auto empty, Parse(grpc("request_compression: []")));
  EXPECT_THAT(empty.grpc->request_compression, IsEmpty());

  const std::string error = ErrorOf(grpc("request_compression: [gzip, brotli, gzp]"));
  EXPECT_THAT(error, HasSubstr("nodes.otlp.config.protocols.grpc.request_compression[1] "
                               "(line 4): must be one of none, gzip, zstd, deflate, got "
                               "\"brotli\""));
  EXPECT_THAT(error, HasSubstr("nodes.otlp.config.protocols.grpc.request_compression[2] "
                               "(line 4): must be one of none, gzip, zstd, deflate, got "
                               "\"gzp\"; did you mean \"gzip\"?"));
  EXPECT_THAT(ErrorOf(grpc("request_compression: lz4")),
              HasSubstr("nodes.otlp.config.protocols.grpc.request_compression (line 4): "
                        "must be one of none, gzip, zstd, deflate, got \"lz4\""));
  EXPECT_THAT(ErrorOf(grpc("request_compression: {gzip: true}")),
              HasSubstr("request_compression (line 4): expected a list of strings"));
  EXPECT_THAT(ErrorOf(grpc("response_compression: zstd")),
              HasSubstr("nodes.otlp.config.protocols.grpc.response_compression (line 4): "
                        "zstd is not supported; use none, gzip or deflate"));
}

// Scenario: a bad auth block at the top level of receiver:otlp.
// Guarantees: the shared ServerAuthConfig reports it at the receiver's `auth` path.
TEST(OtlpReceiverConfigTest, AuthErrorsCarryTheReceiverPath) {
  const std::string base = "protocols: {grpc: {listening_addr: 127.0.0.1:4317}}\n";
  EXPECT_THAT(
      ErrorOf(base + "auth: {bearer_token: \"\"}"),
      HasSubstr("nodes.otlp.config.auth.bearer_token (line 2): must not be empty"));
  EXPECT_THAT(ErrorOf(base + "auth: {}"),
              HasSubstr("nodes.otlp.config.auth (line 2): missing required key "
                        "\"bearer_token\""));
}

// Scenario: tls with missing files, without a key, with the *_pem variants.
// Guarantees: errors name the tls key and the file; existing files pass.
TEST(OtlpReceiverConfigTest, TlsFiles) {
  const std::string error = ErrorOf(R"(
protocols:
  grpc:
    listening_addr: 127.0.0.1:4317
    tls: {cert_file: /nonexistent/server.crt, key_file: /nonexistent/server.key,
          client_ca_file: /nonexistent/ca.crt}
  http:
    listening_addr: 127.0.0.1:4318
    tls: {cert_pem: "x", cert_file: /nonexistent/server.crt}
)");
  EXPECT_THAT(error, HasSubstr("protocols.grpc.tls.cert_file (line 5): file "
                               "\"/nonexistent/server.crt\" does not exist"));
  EXPECT_THAT(error, HasSubstr("protocols.grpc.tls.key_file"));
  EXPECT_THAT(error, HasSubstr("protocols.grpc.tls.client_ca_file"));
  EXPECT_THAT(error, HasSubstr("protocols.http.tls.cert_pem (line 9): give either "
                               "cert_file or cert_pem"));
  EXPECT_THAT(error, HasSubstr("protocols.http.tls (line 9): missing required key "
                               "\"key_file\" (or \"key_pem\")"));

  const auto dir = std::filesystem::temp_directory_path() / "otlp_receiver_tls_test";
  std::filesystem::create_directories(dir);
  std::ofstream(dir / "cert.pem") << "cert";
  std::ofstream(dir / "key.pem") << "key";
  ASSERT_OK_AND_ASSIGN(
      auto c,
      Parse("protocols: {http: {listening_addr: 127.0.0.1:4318, tls: {cert_file: " +
            (dir / "cert.pem").string() + ", key_file: " + (dir / "key.pem").string() +
            ", handshake_timeout: 10s}}}"));
  ASSERT_TRUE(c.http->tls);
  EXPECT_FALSE(c.http->tls->mtls());
  std::filesystem::remove_all(dir);

  // Inline PEM text instead of every file.
  ASSERT_OK_AND_ASSIGN(auto inline_pem,
                       Parse("protocols: {http: {listening_addr: 127.0.0.1:4318, tls: "
                             "{cert_pem: C, key_pem: K, client_ca_pem: A}}}"));
  ASSERT_TRUE(inline_pem.http->tls);
  EXPECT_EQ(inline_pem.http->tls->cert_pem, "C");
  EXPECT_EQ(inline_pem.http->tls->key_pem, "K");
  EXPECT_TRUE(inline_pem.http->tls->mtls());
}

// Scenario: the factory validates through the registry path used by
// --validate-and-exit.
// Guarantees: a bad config is reported at `<path>.<key>`; a good one has none.
TEST(OtlpReceiverConfigTest, FactoryValidation) {
  config::ConfigErrors errors;
  kOtlpReceiverFactory.validate_config(YAML::Load("protocols: {grpc: {listen: x}}"),
                                       "groups.g.pipelines.p.nodes.in.config", &errors);
  EXPECT_THAT(errors.ToStatus().message(),
              HasSubstr("groups.g.pipelines.p.nodes.in.config.protocols.grpc.listen"));
  config::ConfigErrors none;
  kOtlpReceiverFactory.validate_config(
      YAML::Load("protocols: {grpc: {listening_addr: \"0.0.0.0:4317\"}}"), "n.config",
      &none);
  EXPECT_TRUE(none.empty()) << none.ToStatus().ToString();
}

// Scenario: authorization header values.
// Guarantees: only "Bearer <token>" (scheme case-insensitive) matches.
TEST(OtlpReceiverAuthTest, BearerToken) {
  using otlp_receiver::BearerTokenMatches;
  EXPECT_TRUE(BearerTokenMatches("Bearer abc", "abc"));
  EXPECT_TRUE(BearerTokenMatches("bearer abc", "abc"));
  EXPECT_FALSE(BearerTokenMatches("Bearer abd", "abc"));
  EXPECT_FALSE(BearerTokenMatches("Bearer abcd", "abc"));
  EXPECT_FALSE(BearerTokenMatches("Basic abc", "abc"));
  EXPECT_FALSE(BearerTokenMatches("", "abc"));
}

// Scenario: google.rpc.Status bodies of HTTP errors.
// Guarantees: protobuf fields 1 (code) and 2 (message); JSON escapes quotes.
TEST(OtlpReceiverHttpTest, RpcStatusBodies) {
  EXPECT_EQ(otlp_receiver::EncodeRpcStatus(3, "bad"), std::string("\x08\x03\x12\x03"
                                                                  "bad"));
  EXPECT_EQ(otlp_receiver::RpcStatusJson(14, "say \"hi\"\n"),
            R"({"code":14,"message":"say \"hi\"\n"})");
}

// Scenario: the status of a refusal for load, with a retry delay (what gRPC sends
// as grpc-status-details-bin).
// Guarantees: field 3 holds one Any of google.rpc.RetryInfo{retry_delay{seconds}}.
TEST(OtlpReceiverHttpTest, RpcStatusWithRetryInfo) {
  const std::string type = "type.googleapis.com/google.rpc.RetryInfo";
  const std::string retry_info("\x0a\x02\x08\x02", 4);  // retry_delay {seconds: 2}
  const std::string any = std::string("\x0a") + static_cast<char>(type.size()) + type +
                          "\x12" + static_cast<char>(retry_info.size()) + retry_info;
  EXPECT_EQ(otlp_receiver::EncodeRpcStatus(8, "m", 2),
            std::string("\x08\x08\x12\x01m\x1a") + static_cast<char>(any.size()) + any);
  EXPECT_EQ(otlp_receiver::RpcStatusJson(8, "m", 2),
            R"({"code":8,"message":"m","details":[{"@type":)"
            R"("type.googleapis.com/google.rpc.RetryInfo","retryDelay":"2s"}]})");
}

}  // namespace
}  // namespace otap_parquet::nodes
