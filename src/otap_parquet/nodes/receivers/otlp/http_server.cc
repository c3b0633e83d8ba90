// SPDX-License-Identifier: Apache-2.0
#include "otap_parquet/nodes/receivers/otlp/http_server.h"

#include <netinet/in.h>
#include <netinet/tcp.h>
#include <sys/socket.h>

#include <algorithm>
#include <atomic>
#include <condition_variable>
#include <limits>
#include <mutex>
#include <optional>
#include <thread>
#include <type_traits>
#include <unordered_map>
#include <utility>

#include <brotli/decode.h>
#include <fmt/format.h>
#include <boost/asio/dispatch.hpp>
#include <boost/asio/executor_work_guard.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/read.hpp>
#include <boost/asio/ssl.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/strand.hpp>
#include <boost/asio/thread_pool.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>
#include <boost/beast/ssl.hpp>

#include "otap_parquet/nodes/receivers/otlp/listen_claim.h"
#include "otap_parquet/nodes/receivers/otlp/request_arena.h"
#include "otap_parquet/otlp/convert.h"
#include "otap_parquet/otlp/otlp_json.h"
#include "otap_parquet/util/inflate.h"
#include "otap_parquet/util/strings.h"
#include "otap_parquet/util/zstd.h"

namespace otap_parquet::nodes::otlp_receiver {

namespace asio = boost::asio;
namespace beast = boost::beast;
namespace http = boost::beast::http;
using tcp = boost::asio::ip::tcp;

namespace {

constexpr const char* kProtobuf = "application/x-protobuf";
constexpr const char* kJson = "application/json";

// Seconds a client should wait before retrying a 429/503.
constexpr int kRetryAfterSeconds = 1;
constexpr size_t kHeaderLimit = 64 * 1024;
// After an early answer (413, 401, ...) the unread body is drained for at most this
// long before the socket is closed, so the client reads the answer instead of a
// reset.
constexpr std::chrono::seconds kLingerTime{2};
constexpr size_t kLingerBytes = 64 << 20;

struct HttpAnswer {
  int status;
  int rpc_code;  ///< google.rpc.Code for the Status body
};

HttpAnswer AnswerOf(Outcome outcome) {
  switch (outcome) {
    case Outcome::kOk:
      return {200, 0};
    case Outcome::kInvalid:
      return {400, 3};
    case Outcome::kTooLarge:
      return {413, 8};
    case Outcome::kUnsupported:
      return {415, 12};
    case Outcome::kUnauthenticated:
      return {401, 16};
    case Outcome::kExhausted:
      return {429, 8};
    case Outcome::kUnavailable:
      return {503, 14};
    case Outcome::kTimeout:
      return {503, 4};
    case Outcome::kNotFound:
      return {404, 5};
    // As upstream's memory pressure: the server's state, not the client's rate, so a
    // load balancer may send the retry to another replica.
    case Outcome::kMemoryLimit:
      return {503, 8};
  }
  return {500, 13};
}

void AppendVarint(std::string* out, uint64_t v) {
  while (v >= 0x80) {
    out->push_back(static_cast<char>((v & 0x7f) | 0x80));
    v >>= 7;
  }
  out->push_back(static_cast<char>(v));
}

void AppendBytesField(std::string* out, int field, std::string_view bytes) {
  out->push_back(static_cast<char>(field << 3 | 2));
  AppendVarint(out, bytes.size());
  out->append(bytes);
}

// "application/json; charset=utf-8" → "application/json".
std::string MediaType(std::string_view content_type) {
  std::string_view media = content_type.substr(0, content_type.find(';'));
  while (!media.empty() && media.back() == ' ') media.remove_suffix(1);
  while (!media.empty() && media.front() == ' ') media.remove_prefix(1);
  return util::AsciiLower(media);
}

std::optional<Signal> SignalOfPath(std::string_view path) {
  if (path == "/v1/logs") return Signal::kLogs;
  if (path == "/v1/traces") return Signal::kTraces;
  if (path == "/v1/metrics") return Signal::kMetrics;
  return std::nullopt;
}

// Input left after the end of a compressed body's data: an error, or the client's
// data would be cut silently (the part before it parses as a complete request).
arrow::Status TrailingBytes(size_t n) {
  return arrow::Status::Invalid(n, " bytes after the end of the compressed data");
}

arrow::Result<std::string> BrotliDecode(std::string_view in, size_t limit) {
  std::unique_ptr<BrotliDecoderState, void (*)(BrotliDecoderState*)> state(
      BrotliDecoderCreateInstance(nullptr, nullptr, nullptr),
      &BrotliDecoderDestroyInstance);
  if (!state) return arrow::Status::OutOfMemory("brotli decoder");
  size_t avail_in = in.size();
  auto next_in = reinterpret_cast<const uint8_t*>(in.data());
  std::string out;
  uint8_t chunk[64 * 1024];
  for (;;) {
    size_t avail_out = sizeof(chunk);
    uint8_t* next_out = chunk;
    const BrotliDecoderResult r = BrotliDecoderDecompressStream(
        state.get(), &avail_in, &next_in, &avail_out, &next_out, nullptr);
    const size_t n = sizeof(chunk) - avail_out;
    if (out.size() + n > limit) return arrow::Status::CapacityError("over the limit");
    out.append(reinterpret_cast<const char*>(chunk), n);
    if (r == BROTLI_DECODER_RESULT_SUCCESS) {
      if (avail_in > 0) return TrailingBytes(avail_in);
      return out;
    }
    if (r == BROTLI_DECODER_RESULT_NEEDS_MORE_OUTPUT) continue;
    return arrow::Status::Invalid(
        r == BROTLI_DECODER_RESULT_NEEDS_MORE_INPUT ? "truncated data" : "corrupt data");
  }
}

arrow::Result<std::string> Decode(const std::string& encoding, std::string_view body,
                                  size_t limit) {
  if (encoding == "zstd") return util::ZstdDecompress(body, limit);
  if (encoding == "br") return BrotliDecode(body, limit);
  // gzip (every member) or zlib-wrapped deflate: zlib tells them apart.
  return util::Inflate(body, limit, util::DeflateFormat::kAuto);
}

// `text` with every byte that is not part of a well-formed UTF-8 sequence replaced
// by U+FFFD: Status.message is a proto3 string, and clients (Go, Python's upb)
// refuse to decode a Status whose message is not UTF-8; messages echo a client's
// path and headers, which may hold any byte.
std::string ValidUtf8(std::string_view text) {
  std::string out;
  out.reserve(text.size());
  size_t i = 0;
  while (i < text.size()) {
    const auto c = static_cast<unsigned char>(text[i]);
    size_t n = 0;
    uint32_t cp = 0;
    if (c < 0x80) {
      out.push_back(static_cast<char>(c));
      ++i;
      continue;
    } else if (c >= 0xC2 && c <= 0xDF) {
      n = 1;
      cp = c & 0x1F;
    } else if (c >= 0xE0 && c <= 0xEF) {
      n = 2;
      cp = c & 0x0F;
    } else if (c >= 0xF0 && c <= 0xF4) {
      n = 3;
      cp = c & 0x07;
    }
    bool ok = n > 0 && i + n < text.size();
    for (size_t k = 1; ok && k <= n; ++k) {
      const auto d = static_cast<unsigned char>(text[i + k]);
      if ((d & 0xC0) != 0x80) ok = false;
      cp = (cp << 6) | (d & 0x3F);
    }
    // Overlong, surrogate or beyond U+10FFFF.
    if (ok && ((n == 2 && cp < 0x800) || (n == 3 && cp < 0x10000) || cp > 0x10FFFF ||
               (cp >= 0xD800 && cp <= 0xDFFF))) {
      ok = false;
    }
    if (ok) {
      out.append(text.substr(i, n + 1));
      i += n + 1;
    } else {
      out.append("\xEF\xBF\xBD");
      ++i;
    }
  }
  return out;
}

}  // namespace

std::string EncodeRpcStatus(int code, const std::string& message,
                            int retry_delay_seconds) {
  std::string out;
  if (code != 0) {
    out.push_back(0x08);
    AppendVarint(&out, static_cast<uint64_t>(code));
  }
  if (!message.empty()) AppendBytesField(&out, 2, message);
  if (retry_delay_seconds > 0) {
    // details: Any{type_url, value: RetryInfo{retry_delay: Duration{seconds}}}
    std::string duration;
    duration.push_back(0x08);
    AppendVarint(&duration, static_cast<uint64_t>(retry_delay_seconds));
    std::string retry_info;
    AppendBytesField(&retry_info, 1, duration);
    std::string any;
    AppendBytesField(&any, 1, "type.googleapis.com/google.rpc.RetryInfo");
    AppendBytesField(&any, 2, retry_info);
    AppendBytesField(&out, 3, any);
  }
  return out;
}

std::string RpcStatusJson(int code, const std::string& message, int retry_delay_seconds) {
  std::string escaped;
  for (unsigned char c : message) {
    switch (c) {
      case '"':
        escaped += "\\\"";
        break;
      case '\\':
        escaped += "\\\\";
        break;
      case '\n':
        escaped += "\\n";
        break;
      default:
        if (c < 0x20) {
          escaped += fmt::format("\\u{:04x}", c);
        } else {
          escaped.push_back(static_cast<char>(c));
        }
    }
  }
  if (retry_delay_seconds <= 0) {
    return fmt::format(R"({{"code":{},"message":"{}"}})", code, escaped);
  }
  // proto3 JSON: an Any names its type in "@type", a Duration is "<seconds>s".
  return fmt::format(
      R"({{"code":{},"message":"{}","details":[{{"@type":)"
      R"("type.googleapis.com/google.rpc.RetryInfo","retryDelay":"{}s"}}]}})",
      code, escaped, retry_delay_seconds);
}

/// A connection, seen by the server: closed on shutdown or to make room.
class SessionBase {
 public:
  virtual ~SessionBase() = default;
  /// \brief Closes the connection unless a request is being answered (`reason` is
  /// counted unless the last request was answered). Thread-safe.
  virtual void Close(HttpDrop reason) = 0;
  /// \brief Waiting for a request's first byte since (steady clock ns), or -1.
  std::atomic<int64_t> idle_since{-1};
  /// \brief Its last request is answered: the connection only drains what the
  /// client still sends before it closes (Linger). The first to go for room.
  std::atomic<bool> finished{false};
};

class HttpServer::Impl {
 public:
  Impl(const OtlpHttpConfig& config, std::string token, Ingest* ingest, HttpLimits limits)
      : config_(config),
        token_(std::move(token)),
        ingest_(ingest),
        limits_(limits),
        workers_(static_cast<size_t>(std::max(1, limits.worker_threads))) {
    options_.wait_for_result = config.wait_for_result;
    options_.timeout = config.timeout;
    options_.max_concurrent_requests = config.max_concurrent_requests;
  }

  arrow::Status Listen();
  void Run() {
    Accept();
    io_thread_ = std::thread([this] { ioc_.run(); });
  }
  void Shutdown(std::chrono::milliseconds wait);

  void Register(const std::shared_ptr<SessionBase>& session) {
    std::lock_guard<std::mutex> lock(mutex_);
    sessions_.emplace(session.get(), session);
    ingest_->CountHttpConnection(+1);
  }
  /// \brief Called when the socket closes and again by the destructor: a closed
  /// connection no longer counts toward max_connections, even while handlers still
  /// hold its session.
  void Unregister(SessionBase* session) {
    {
      std::lock_guard<std::mutex> lock(mutex_);
      if (sessions_.erase(session) == 0) return;
    }
    ingest_->CountHttpConnection(-1);
    cv_.notify_all();
  }

  /// \brief A concurrency slot for one request; released when destroyed.
  class Slot {
   public:
    explicit Slot(std::atomic<int64_t>* n) : n_(n) {}
    Slot(const Slot&) = delete;
    Slot& operator=(const Slot&) = delete;
    ~Slot() { n_->fetch_sub(1); }

   private:
    std::atomic<int64_t>* n_;
  };
  /// \brief `n` bytes reserved; nullopt when the budget is spent.
  std::optional<InFlightBytes> TakeBytes(int64_t n) {
    return InFlightBytes::Take(ingest_, Protocol::kHttp, n, request_limit_bytes_);
  }

  /// \brief Takes a slot unless max_concurrent_requests are being answered.
  bool TakeSlot(std::optional<Slot>* slot) {
    const int64_t max = options_.max_concurrent_requests;
    int64_t n = active_requests_.load();
    do {
      if (max > 0 && n >= max) return false;
    } while (!active_requests_.compare_exchange_weak(n, n + 1));
    slot->emplace(&active_requests_);
    return true;
  }

  std::shared_ptr<ListenClaim> claim_;  // first: released after the acceptor closed
  const OtlpHttpConfig config_;
  const std::string token_;
  Ingest* const ingest_;
  const HttpLimits limits_;
  IngestOptions options_;
  std::optional<asio::ssl::context> ssl_;
  std::atomic<bool> stopping_{false};
  int port_ = 0;
  std::atomic<int64_t> active_requests_{0};
  const int64_t request_limit_bytes_ = config_.RequestLimitBytes();

 private:
  // Sessions still owned by queued handlers die with ioc_: what their destructors
  // touch is declared before it, so destroyed after it.
  std::mutex mutex_;
  std::condition_variable cv_;
  std::unordered_map<SessionBase*, std::weak_ptr<SessionBase>> sessions_;

 public:
  // Declared before the worker pool: workers post into it until joined.
  asio::io_context ioc_{1};
  asio::executor_work_guard<asio::io_context::executor_type> work_{ioc_.get_executor()};
  asio::thread_pool workers_;

 private:
  void Accept();
  bool MakeRoom();
  void ApplySocketOptions(tcp::socket& socket);
  template <bool kTls>
  void StartSession(tcp::socket socket);

  tcp::acceptor acceptor_{ioc_};
  asio::steady_timer accept_retry_{ioc_};
  std::thread io_thread_;
  std::once_flag shutdown_once_;
};

namespace {

int64_t SteadyNow() {
  return std::chrono::duration_cast<std::chrono::nanoseconds>(
             std::chrono::steady_clock::now().time_since_epoch())
      .count();
}

/// One connection: reads requests one after another (HTTP/1.1 keep-alive), all on
/// its strand; only decoding and submitting run on a worker thread.
template <bool kTls>
class Session : public SessionBase, public std::enable_shared_from_this<Session<kTls>> {
 public:
  using Stream =
      std::conditional_t<kTls, beast::ssl_stream<beast::tcp_stream>, beast::tcp_stream>;

  Session(HttpServer::Impl* server, tcp::socket socket)
      : server_(server),
        stream_(MakeStream(server, std::move(socket))),
        deadline_(stream_.get_executor()) {}
  ~Session() override { server_->Unregister(this); }

  void Start() {
    asio::dispatch(stream_.get_executor(), [self = this->shared_from_this()] {
      if constexpr (kTls) {
        self->Arm(self->server_->limits_.header_timeout, HttpDrop::kHeaderTimeout);
        self->stream_.async_handshake(asio::ssl::stream_base::server,
                                      [self](beast::error_code ec) {
                                        self->Disarm();
                                        if (ec) return self->DoClose();
                                        self->WaitForRequest();
                                      });
      } else {
        self->WaitForRequest();
      }
    });
  }

  void Close(HttpDrop reason) override {
    asio::post(stream_.get_executor(), [self = this->shared_from_this(), reason] {
      if (self->answering_) return;
      // An answered connection that is only draining is not dropped unanswered.
      if (self->finished.load()) return self->DoClose();
      self->Drop(reason);
    });
  }

 private:
  static Stream MakeStream(HttpServer::Impl* server, tcp::socket socket) {
    if constexpr (kTls) {
      return Stream(std::move(socket), *server->ssl_);
    } else {
      return Stream(std::move(socket));
    }
  }

  beast::tcp_stream& Lowest() { return beast::get_lowest_layer(stream_); }

  // Counts why the connection ends, then closes it: a client that sees the close
  // also sees the count (the metrics it reads next hold it). One reason per
  // connection: whichever of timeout, room or shutdown comes first.
  void Drop(HttpDrop reason) {
    if (closed_) return;
    server_->ingest_->CountHttpDrop(reason);
    DoClose();
  }

  // The deadline of the operation started next. Our timer, not beast's
  // expires_after: beast closes the socket in its timer handler and reports the
  // timeout to the operation's handler later, so a client could see the close (and
  // the engine stop) before the timeout is counted. `reason` is counted on expiry
  // (none: closed uncounted).
  void Arm(std::chrono::milliseconds timeout, std::optional<HttpDrop> reason) {
    deadline_.expires_after(timeout);
    deadline_.async_wait(
        [self = this->shared_from_this(), tick = ++tick_, reason](beast::error_code ec) {
          // Cancelled, or expired while its operation completed (handler already queued).
          if (ec || tick != self->tick_) return;
          if (reason) return self->Drop(*reason);
          self->DoClose();
        });
  }
  // The operation completed in time.
  void Disarm() {
    ++tick_;
    deadline_.cancel();
  }

  void DoClose() {
    if (closed_) return;
    closed_ = true;
    deadline_.cancel();
    beast::error_code ec;
    Lowest().socket().shutdown(tcp::socket::shutdown_both, ec);
    Lowest().close();
    server_->Unregister(this);
  }

  // Idle until the next request's first byte: no deadline but the idle timeout.
  void WaitForRequest() {
    if (server_->stopping_.load()) return DoClose();
    if (buffer_.size() > 0) return ReadHeader();
    idle_since.store(SteadyNow());
    Arm(server_->limits_.idle_timeout, HttpDrop::kIdle);
    stream_.async_read_some(buffer_.prepare(4096), [self = this->shared_from_this()](
                                                       beast::error_code ec, size_t n) {
      self->idle_since.store(-1);
      self->Disarm();
      if (ec) return self->DoClose();
      self->buffer_.commit(n);
      self->ReadHeader();
    });
  }

  void ReadHeader() {
    head_ = false;
    parser_.emplace();
    parser_->header_limit(kHeaderLimit);
    // The announced size is checked in OnHeader (to answer 413, not a parse error).
    // Not boost::none: Boost 1.74 compares the length with the empty optional.
    parser_->body_limit(std::numeric_limits<uint64_t>::max());
    Arm(server_->limits_.header_timeout, HttpDrop::kHeaderTimeout);
    http::async_read_header(stream_, buffer_, *parser_,
                            [self = this->shared_from_this()](
                                beast::error_code ec, size_t) { self->OnHeader(ec); });
  }

  void OnHeader(beast::error_code ec) {
    Disarm();
    if (closed_ || ec == http::error::end_of_stream ||
        ec == http::error::partial_message || ec == asio::error::eof ||
        ec == asio::error::operation_aborted || ec == asio::error::connection_reset) {
      return DoClose();
    }
    answering_ = true;
    if (ec) {
      server_->ingest_->CountRejected(Protocol::kHttp, Outcome::kInvalid);
      const int status = ec == http::error::header_limit ? 431 : 400;
      return Write(status, false, "malformed HTTP request: " + ec.message(), 3,
                   /*keep_alive=*/false);
    }
    const auto& req = parser_->get();
    version_ = req.version();
    head_ = req.method() == http::verb::head;
    const std::string_view target(req.target().data(), req.target().size());
    path_ = std::string(target.substr(0, target.find('?')));
    const std::string_view content_type = Header(http::field::content_type);
    const std::string media = MediaType(content_type);
    json_ = media == kJson;
    const auto signal = SignalOfPath(path_);
    // Unknown path or method: counted like gRPC's unknown method; the Status is
    // protobuf for a protobuf request (OTLP: errors in the request's encoding),
    // else JSON (readable for curl and browsers).
    const bool status_json = media != kProtobuf;
    if (!signal) {
      server_->ingest_->CountRejected(Protocol::kHttp, Outcome::kNotFound);
      return Write(404, status_json,
                   "no such path " + path_ +
                       "; OTLP/HTTP serves POST /v1/logs, /v1/traces, /v1/metrics",
                   5, KeepAliveWithoutBody());
    }
    signal_ = *signal;
    if (req.method() != http::verb::post) {
      server_->ingest_->CountRejected(Protocol::kHttp, Outcome::kNotFound);
      return Write(405, status_json,
                   std::string(req.method_string()) + " is not allowed; use POST", 12,
                   KeepAliveWithoutBody());
    }
    if (!server_->token_.empty() &&
        !BearerTokenMatches(Header(http::field::authorization), server_->token_)) {
      return Reject(Outcome::kUnauthenticated,
                    "missing or invalid \"Authorization: Bearer <token>\" header");
    }
    if (media != kProtobuf && !json_) {
      return Reject(Outcome::kUnsupported,
                    fmt::format("unsupported Content-Type \"{}\"; use {} or {}",
                                content_type, kProtobuf, kJson));
    }
    encoding_ = util::AsciiLower(Header(http::field::content_encoding));
    if (encoding_ == "identity") encoding_.clear();
    if (!encoding_.empty()) {
      const bool known = encoding_ == "gzip" || encoding_ == "deflate" ||
                         encoding_ == "br" || encoding_ == "zstd";
      if (!known || !server_->config_.accept_compressed_requests) {
        return Reject(Outcome::kUnsupported,
                      fmt::format("unsupported Content-Encoding \"{}\"{}", encoding_,
                                  server_->config_.accept_compressed_requests
                                      ? "; use zstd, gzip, deflate, br or identity"
                                      : " (accept_compressed_requests is false)"));
      }
    }
    const auto announced = parser_->content_length();
    const auto limit = static_cast<uint64_t>(server_->config_.max_request_body_size);
    if (announced && *announced > limit) {
      return Reject(Outcome::kTooLarge,
                    fmt::format("request body of {} bytes exceeds max_request_body_size "
                                "({} bytes)",
                                *announced, limit));
    }
    if (!server_->TakeSlot(&slot_)) {
      return Reject(Outcome::kExhausted,
                    "too many concurrent requests (max_concurrent_requests=" +
                        std::to_string(server_->options_.max_concurrent_requests) + ")");
    }
    // Reserved from the headers, whole: a body admitted is read to its end without
    // waiting for room (bodies waiting for each other's room could all stall), and
    // one refused costs nothing but its headers. A chunked body may be as large as
    // the limit.
    const int64_t reserve = parser_->chunked()
                                ? server_->config_.max_request_body_size
                                : static_cast<int64_t>(announced.value_or(0));
    if (reserve > 0) {
      bytes_ = server_->TakeBytes(reserve);
      if (!bytes_) {
        slot_.reset();
        return Reject(Outcome::kMemoryLimit,
                      fmt::format("requests in flight hold the receiver's memory limit "
                                  "(admission.request_limit_mib={}); retry later",
                                  server_->request_limit_bytes_ >> 20));
      }
    }
    if (util::AsciiLower(Header(http::field::expect)) == "100-continue") {
      continue_.emplace(http::status::continue_, version_);
      Arm(server_->limits_.body_timeout, std::nullopt);
      http::async_write(stream_, *continue_,
                        [self = this->shared_from_this()](beast::error_code ec, size_t) {
                          self->Disarm();
                          if (ec) return self->DoClose();
                          self->ReadBody();
                        });
      return;
    }
    ReadBody();
  }

  void ReadBody() {
    const auto announced = parser_->content_length();
    if (announced && *announced > 0 && !parser_->chunked()) {
      return ReadSizedBody(static_cast<size_t>(*announced));
    }
    // Bounds chunked bodies.
    parser_->body_limit(static_cast<uint64_t>(server_->config_.max_request_body_size));
    Arm(server_->limits_.body_timeout, HttpDrop::kBodyTimeout);
    http::async_read(stream_, buffer_, *parser_,
                     [self = this->shared_from_this()](beast::error_code ec, size_t) {
                       self->OnBody(ec, std::move(self->parser_->get().body()));
                     });
  }

  // A body of announced size (checked against max_request_body_size in OnHeader) is
  // read straight into its string: the parser would read it 64 KiB at a time through
  // buffer_ and copy it; here each read takes what the socket holds. Only bytes of this
  // body are read, so a pipelined next request stays in the socket for WaitForRequest.
  // The string grows with what arrived (doubling), never to the announced size up
  // front: a client announcing max_request_body_size and sending a byte must not hold
  // that much memory until the read_timeout (64 such connections held 1 GiB).
  void ReadSizedBody(size_t size) {
    const size_t buffered = std::min(buffer_.size(), size);
    body_.assign(static_cast<const char*>(buffer_.data().data()), buffered);
    buffer_.consume(buffered);
    body_size_ = size;
    body_received_ = buffered;
    if (buffered == size) return OnBody({}, std::move(body_));
    Arm(server_->limits_.body_timeout, HttpDrop::kBodyTimeout);
    ReadMoreBody();
  }

  void ReadMoreBody() {
    constexpr size_t kMinStep = 64 * 1024;
    const size_t want =
        std::min(body_size_, std::max(body_received_ + kMinStep, body_received_ * 2));
    body_.resize(want);
    stream_.async_read_some(
        asio::buffer(body_.data() + body_received_, want - body_received_),
        [self = this->shared_from_this()](beast::error_code ec, size_t n) {
          self->body_received_ += n;
          if (!ec && self->body_received_ < self->body_size_) {
            return self->ReadMoreBody();
          }
          self->body_.resize(self->body_received_);
          self->OnBody(ec, std::move(self->body_));
        });
  }

  void OnBody(beast::error_code ec, std::string body) {
    Disarm();
    if (closed_) return DoClose();
    if (ec == http::error::body_limit) {
      return Reject(Outcome::kTooLarge,
                    fmt::format("request body exceeds max_request_body_size ({} bytes)",
                                server_->config_.max_request_body_size));
    }
    if (ec == http::error::partial_message || ec == http::error::end_of_stream ||
        ec == asio::error::eof) {
      return Reject(Outcome::kInvalid,
                    "the request body ended before its announced size");
    }
    if (ec) {
      if (ec == asio::error::operation_aborted || ec == asio::error::connection_reset) {
        return DoClose();
      }
      return Reject(Outcome::kInvalid, "cannot read the request body: " + ec.message());
    }
    keep_alive_ = parser_->get().keep_alive();
    received_ = std::chrono::steady_clock::now();
    // Off the I/O thread: decoding and a send waiting for channel space take time.
    asio::post(server_->workers_,
               [self = this->shared_from_this(), body = std::move(body)]() mutable {
                 self->Process(std::move(body));
               });
  }

  // Worker thread: reads only what the strand no longer touches until Answer.
  void Process(std::string body) {
    Ingest* ingest = server_->ingest_;
    auto self = this->shared_from_this();
    auto reply = [self](IngestResult result) {
      asio::post(self->stream_.get_executor(),
                 [self, result = std::move(result)] { self->Answer(result); });
    };
    auto reject = [&](Outcome outcome, std::string message) {
      ingest->CountRejected(Protocol::kHttp, outcome);
      reply({outcome, std::move(message)});
    };
    const auto limit = static_cast<size_t>(server_->config_.max_request_body_size);
    if (!encoding_.empty()) {
      auto plain = Decode(encoding_, body, limit);
      if (!plain.ok()) {
        if (plain.status().IsCapacityError()) {
          return reject(Outcome::kTooLarge,
                        fmt::format("decompressed request body exceeds "
                                    "max_request_body_size ({} bytes)",
                                    limit));
        }
        return reject(Outcome::kInvalid,
                      fmt::format("cannot decompress the {} request body: {}", encoding_,
                                  plain.status().message()));
      }
      body = std::move(*plain);
      if (bytes_) bytes_->GrowTo(static_cast<int64_t>(body.size()));
    }
    otlp::OtlpRequest request;
    RequestArena arena;  // holds a parsed protobuf request until Submit has converted it
    Convert convert;
    if (json_) {
      auto parsed = otlp::ParseOtlpJson(body, signal_);
      if (!parsed.ok()) {
        return reject(Outcome::kInvalid,
                      "malformed OTLP/JSON: " + parsed.status().message());
      }
      if (otlp::SignalOf(*parsed) != signal_) {
        return reject(Outcome::kInvalid,
                      fmt::format("OTLP/JSON body holds {} but the path is {}",
                                  SignalName(otlp::SignalOf(*parsed)), path_));
      }
      request = std::move(*parsed);
      convert = [&request] { return otlp::ToOtap(request); };
    } else {
      convert = DecodeRequest(signal_, body, &arena);
      if (!convert) {
        return reject(Outcome::kInvalid,
                      fmt::format("malformed protobuf: cannot parse the {} export "
                                  "request ({} bytes)",
                                  SignalName(signal_), body.size()));
      }
    }
    // `timeout` counts from the body's arrival: time queued for a worker (behind
    // sends waiting for channel space) is part of it.
    IngestOptions options = server_->options_;
    const auto queued = std::chrono::steady_clock::now() - received_;
    options.timeout = std::max<std::chrono::nanoseconds>(options.timeout - queued,
                                                         std::chrono::nanoseconds(0));
    // With wait_for_result the reply comes from the pipeline thread (outcome) or its
    // timer (timeout); no thread waits for it.
    ingest->Submit(Protocol::kHttp, signal_, static_cast<int64_t>(body.size()), convert,
                   options, std::move(reply));
  }

  void Answer(const IngestResult& result) {
    const HttpAnswer answer = AnswerOf(result.outcome);
    Write(answer.status, json_, result.ok() ? std::string() : result.message,
          answer.rpc_code, keep_alive_ && !server_->stopping_.load());
  }

  // Answered from the headers alone: the body (if any) is not read.
  void Reject(Outcome outcome, std::string message) {
    server_->ingest_->CountRejected(Protocol::kHttp, outcome);
    const HttpAnswer answer = AnswerOf(outcome);
    Write(answer.status, json_, std::move(message), answer.rpc_code,
          KeepAliveWithoutBody());
  }

  bool KeepAliveWithoutBody() const {
    const auto& p = *parser_;
    const bool body_left =
        !p.is_done() && (p.chunked() || p.content_length().value_or(0) > 0);
    return !body_left && p.get().keep_alive() && !server_->stopping_.load();
  }

  std::string_view Header(http::field field) const {
    const auto& req = parser_->get();
    auto it = req.find(field);
    if (it == req.end()) return {};
    return std::string_view(it->value().data(), it->value().size());
  }

  void Write(int status, bool json, std::string message, int rpc_code, bool keep_alive) {
    answering_ = true;
    res_ = {};
    res_.version(version_);
    res_.result(static_cast<unsigned>(status));
    if (status == 200) {
      res_.set(http::field::content_type, json ? kJson : kProtobuf);
      res_.body() = json ? "{}" : "";
    } else {
      // Refusals for load say when to retry twice: Retry-After for HTTP clients, and
      // a google.rpc.RetryInfo in the Status for those that read it as gRPC's.
      int retry_delay = 0;
      if (status == 429 || status == 503) {
        retry_delay = kRetryAfterSeconds;
        res_.set(http::field::retry_after, std::to_string(retry_delay));
      }
      if (status == 401) res_.set(http::field::www_authenticate, "Bearer");
      if (status == 405) res_.set(http::field::allow, "POST");
      res_.set(http::field::content_type, json ? kJson : kProtobuf);
      message = ValidUtf8(message);
      res_.body() = json ? RpcStatusJson(rpc_code, message, retry_delay)
                         : EncodeRpcStatus(rpc_code, message, retry_delay);
    }
    res_.keep_alive(keep_alive);
    res_.prepare_payload();
    // A HEAD answer announces its Content-Length but has no content (RFC 9110
    // 9.3.2): a body would be read as the next answer on a kept-alive connection.
    if (head_) res_.body().clear();
    Arm(server_->limits_.body_timeout, std::nullopt);
    http::async_write(
        stream_, res_,
        [self = this->shared_from_this(), keep_alive](beast::error_code ec, size_t) {
          self->Disarm();
          self->slot_.reset();
          self->bytes_.reset();
          self->answering_ = false;
          if (ec) return self->DoClose();
          if (!keep_alive) return self->Linger();
          self->parser_.reset();
          self->WaitForRequest();
        });
  }

  // Ends the connection after an answer: our side first, then whatever the client
  // still sends (an unread body) is read and dropped, so that the client sees the
  // answer rather than a connection reset.
  void Linger() {
    if (closed_) return;
    finished.store(true);
    if constexpr (kTls) {
      Arm(kLingerTime, std::nullopt);
      stream_.async_shutdown(
          [self = this->shared_from_this()](beast::error_code) { self->DoClose(); });
    } else {
      beast::error_code ec;
      Lowest().socket().shutdown(tcp::socket::shutdown_send, ec);
      if (ec) return DoClose();
      Arm(kLingerTime, std::nullopt);  // for the whole drain
      Drain();
    }
  }

  void Drain() {
    buffer_.consume(buffer_.size());
    stream_.async_read_some(
        buffer_.prepare(64 * 1024),
        [self = this->shared_from_this()](beast::error_code ec, size_t n) {
          self->lingered_ += n;
          if (ec || self->lingered_ > kLingerBytes) return self->DoClose();
          self->Drain();
        });
  }

  HttpServer::Impl* server_;
  Stream stream_;
  asio::steady_timer deadline_;  ///< on the strand, like every member below
  uint64_t tick_ = 0;            ///< the current Arm; older expiries are stale
  beast::flat_buffer buffer_;
  std::optional<http::request_parser<http::string_body>> parser_;
  std::string body_;          ///< a sized body while ReadSizedBody reads it
  size_t body_size_ = 0;      ///< its announced size
  size_t body_received_ = 0;  ///< bytes of it in body_
  std::optional<http::response<http::empty_body>> continue_;
  http::response<http::string_body> res_;
  std::optional<HttpServer::Impl::Slot> slot_;
  std::optional<InFlightBytes> bytes_;  ///< touched by Process too
  unsigned version_ = 11;
  std::string path_;
  std::string encoding_;
  Signal signal_ = Signal::kLogs;
  bool json_ = false;
  bool head_ = false;  ///< the request is a HEAD: its answer has no body
  bool keep_alive_ = true;
  bool answering_ = false;  ///< a request is between its headers and its answer
  bool closed_ = false;
  size_t lingered_ = 0;
  std::chrono::steady_clock::time_point received_;
};

}  // namespace

arrow::Status HttpServer::Impl::Listen() {
  const std::string address = config_.listening_addr.ToString();
  auto fail = [&](const beast::error_code& ec) {
    return arrow::Status::IOError("cannot listen for OTLP/HTTP on ", address, ": ",
                                  ec.message(), " (address in use or not local?)");
  };
  ARROW_ASSIGN_OR_RAISE(claim_,
                        ListenClaim::Acquire(config_.listening_addr, "OTLP/HTTP"));
  beast::error_code ec;
  tcp::resolver resolver(ioc_);
  auto endpoints = resolver.resolve(
      config_.listening_addr.host, std::to_string(config_.listening_addr.port),
      tcp::resolver::passive | tcp::resolver::numeric_service, ec);
  if (ec || endpoints.empty()) return fail(ec);
  const tcp::endpoint endpoint = endpoints.begin()->endpoint();
  acceptor_.open(endpoint.protocol(), ec);
  if (ec) return fail(ec);
  acceptor_.set_option(asio::socket_base::reuse_address(true), ec);
  int yes = 1;
  ::setsockopt(acceptor_.native_handle(), SOL_SOCKET, SO_REUSEPORT, &yes, sizeof(yes));
  acceptor_.bind(endpoint, ec);
  if (ec) return fail(ec);
  acceptor_.listen(asio::socket_base::max_listen_connections, ec);
  if (ec) return fail(ec);
  port_ = acceptor_.local_endpoint().port();
  return arrow::Status::OK();
}

void HttpServer::Impl::Accept() {
  acceptor_.async_accept(
      asio::make_strand(ioc_), [this](beast::error_code ec, tcp::socket socket) {
        if (!acceptor_.is_open() || ec == asio::error::operation_aborted) return;
        if (ec) {
          // Out of descriptors, most likely: try again shortly, without spinning.
          accept_retry_.expires_after(std::chrono::milliseconds(100));
          accept_retry_.async_wait([this](beast::error_code e) {
            if (!e && acceptor_.is_open()) Accept();
          });
          return;
        }
        ApplySocketOptions(socket);
        if (!MakeRoom()) {
          ingest_->CountHttpDrop(HttpDrop::kConnectionLimit);
          beast::error_code ignored;
          socket.close(ignored);
        } else if (ssl_) {
          StartSession<true>(std::move(socket));
        } else {
          StartSession<false>(std::move(socket));
        }
        Accept();
      });
}

// `tcp_nodelay` and `tcp_keepalive*`. Best effort: a failure leaves the kernel's
// default on this connection (it still works).
void HttpServer::Impl::ApplySocketOptions(tcp::socket& socket) {
  beast::error_code ignored;
  socket.set_option(tcp::no_delay(limits_.tcp_nodelay), ignored);
  if (!limits_.tcp_keepalive) return;
  socket.set_option(asio::socket_base::keep_alive(true), ignored);
  const int fd = socket.native_handle();
  auto set = [fd](int option, int value) {
    ::setsockopt(fd, IPPROTO_TCP, option, &value, sizeof(value));
  };
  set(TCP_KEEPIDLE, static_cast<int>(limits_.tcp_keepalive->count()));
  if (limits_.tcp_keepalive_interval) {
    set(TCP_KEEPINTVL, static_cast<int>(limits_.tcp_keepalive_interval->count()));
  }
  if (limits_.tcp_keepalive_retries) set(TCP_KEEPCNT, *limits_.tcp_keepalive_retries);
}

template <bool kTls>
void HttpServer::Impl::StartSession(tcp::socket socket) {
  auto session = std::make_shared<Session<kTls>>(this, std::move(socket));
  Register(session);
  session->Start();
}

bool HttpServer::Impl::MakeRoom() {
  std::weak_ptr<SessionBase> victim;
  {
    std::lock_guard<std::mutex> lock(mutex_);
    if (static_cast<int64_t>(sessions_.size()) < limits_.max_connections) return true;
    // An answered connection draining before its close goes first (closing it takes
    // no request away), else the longest-idle one. Not locked here: the last
    // reference, dropped under mutex_, would run a destructor that takes it.
    bool found = false;
    int64_t oldest = -1;
    for (auto& [ptr, weak] : sessions_) {
      if (ptr->finished.load()) {
        victim = weak;
        found = true;
        break;
      }
      const int64_t since = ptr->idle_since.load();
      if (since >= 0 && (oldest < 0 || since < oldest)) {
        victim = weak;
        found = true;
        oldest = since;
      }
    }
    if (!found) return false;
  }
  // Gone meanwhile: its room is free.
  if (auto s = victim.lock()) s->Close(HttpDrop::kConnectionLimit);
  return true;
}

void HttpServer::Impl::Shutdown(std::chrono::milliseconds wait) {
  std::call_once(shutdown_once_, [&] {
    stopping_.store(true);
    asio::post(ioc_, [this] {
      beast::error_code ec;
      acceptor_.close(ec);
      accept_retry_.cancel();
    });
    std::vector<std::shared_ptr<SessionBase>> open;
    {
      std::lock_guard<std::mutex> lock(mutex_);
      for (auto& [ptr, weak] : sessions_) {
        if (auto s = weak.lock()) open.push_back(std::move(s));
      }
    }
    for (auto& s : open) s->Close(HttpDrop::kShutdown);
    open.clear();
    {
      // Requests being answered finish (their sessions then close themselves).
      std::unique_lock<std::mutex> lock(mutex_);
      cv_.wait_for(lock, wait, [&] { return sessions_.empty(); });
    }
    workers_.join();
    work_.reset();
    ioc_.stop();
    if (io_thread_.joinable()) io_thread_.join();
  });
}

arrow::Result<std::unique_ptr<HttpServer>> HttpServer::Start(const OtlpHttpConfig& config,
                                                             std::string bearer_token,
                                                             Ingest* ingest) {
  auto impl =
      std::make_unique<Impl>(config, std::move(bearer_token), ingest, config.limits);
  if (config.tls) {
    const OtlpTlsConfig& tls = *config.tls;
    impl->ssl_.emplace(asio::ssl::context::tls_server);
    asio::ssl::context& ctx = *impl->ssl_;
    boost::system::error_code ec;
    ctx.set_options(asio::ssl::context::default_workarounds |
                        asio::ssl::context::no_sslv2 | asio::ssl::context::no_sslv3 |
                        asio::ssl::context::no_tlsv1 | asio::ssl::context::no_tlsv1_1 |
                        asio::ssl::context::no_compression,
                    ec);
    auto what = [](const std::string& pem, const std::string& file) {
      return pem.empty() ? file : std::string("inline PEM");
    };
    if (!tls.cert_pem.empty()) {
      ctx.use_certificate_chain(asio::buffer(tls.cert_pem), ec);
    } else {
      ctx.use_certificate_chain_file(tls.cert_file, ec);
    }
    if (ec) {
      return arrow::Status::IOError("cannot load the TLS certificate ",
                                    what(tls.cert_pem, tls.cert_file), ": ",
                                    ec.message());
    }
    if (!tls.key_pem.empty()) {
      ctx.use_private_key(asio::buffer(tls.key_pem), asio::ssl::context::pem, ec);
    } else {
      ctx.use_private_key_file(tls.key_file, asio::ssl::context::pem, ec);
    }
    if (ec) {
      return arrow::Status::IOError("cannot load the TLS key ",
                                    what(tls.key_pem, tls.key_file), ": ", ec.message());
    }
    if (tls.mtls()) {
      if (!tls.client_ca_pem.empty()) {
        ctx.add_certificate_authority(asio::buffer(tls.client_ca_pem), ec);
      } else {
        ctx.load_verify_file(tls.client_ca_file, ec);
      }
      if (ec) {
        return arrow::Status::IOError("cannot load the TLS client CA ",
                                      what(tls.client_ca_pem, tls.client_ca_file), ": ",
                                      ec.message());
      }
      ctx.set_verify_mode(asio::ssl::verify_peer | asio::ssl::verify_fail_if_no_peer_cert,
                          ec);
      // Without it a resumed session with a verified peer fails its handshake.
      static constexpr unsigned char kSessionContext[] = "otap-parquet-otlp";
      SSL_CTX_set_session_id_context(ctx.native_handle(), kSessionContext,
                                     sizeof(kSessionContext) - 1);
    }
  }
  ARROW_RETURN_NOT_OK(impl->Listen());
  impl->Run();
  return std::unique_ptr<HttpServer>(new HttpServer(std::move(impl)));
}

HttpServer::HttpServer(std::unique_ptr<Impl> impl) : impl_(std::move(impl)) {}

HttpServer::~HttpServer() { Shutdown(std::chrono::milliseconds(0)); }

void HttpServer::Shutdown(std::chrono::milliseconds wait) { impl_->Shutdown(wait); }

int HttpServer::port() const { return impl_->port_; }

}  // namespace otap_parquet::nodes::otlp_receiver
