// SPDX-License-Identifier: Apache-2.0
#include "otap_parquet/nodes/receivers/otap/arrow_server.h"

#include <chrono>
#include <condition_variable>
#include <functional>
#include <future>
#include <mutex>
#include <set>
#include <string>
#include <thread>
#include <utility>
#include <vector>

#include <grpcpp/create_channel.h>
#include <grpcpp/generic/generic_stub.h>
#include <grpcpp/security/credentials.h>
#include <grpcpp/support/client_callback.h>
#include <gtest/gtest.h>

#include "opentelemetry/proto/experimental/arrow/v1/arrow_service.pb.h"
#include "otap_parquet/engine/testing/fake_effect.h"
#include "otap_parquet/generator/test_batches.h"
#include "otap_parquet/otap_wire/bar_encoder.h"
#include "otap_parquet/testing/gtest_util.h"

namespace otap_parquet::nodes::otap_receiver {
namespace {

using otlp_receiver::Ingest;
using otlp_receiver::IngestResult;
using otlp_receiver::Outcome;
using BatchStatus = opentelemetry::proto::experimental::arrow::v1::BatchStatus;

constexpr char kArrowLogs[] =
    "/opentelemetry.proto.experimental.arrow.v1.ArrowLogsService/ArrowLogs";
// A bound on waits for events that do happen, not a measurement.
constexpr std::chrono::seconds kBound{10};

// Points of ArrowServer::set_test_hook, awaited by the test.
class HookPoints {
 public:
  void Reach(std::string_view point) {
    std::lock_guard<std::mutex> lock(mutex_);
    reached_.emplace(point);
    changed_.notify_all();
  }
  bool WaitFor(const std::string& point) {
    std::unique_lock<std::mutex> lock(mutex_);
    return changed_.wait_for(lock, kBound, [&] { return reached_.count(point) > 0; });
  }

 private:
  std::mutex mutex_;
  std::condition_variable changed_;
  std::set<std::string, std::less<>> reached_;
};

// A client stream that sends one message and reads nothing.
class OneMessageStream
    : public grpc::ClientBidiReactor<grpc::ByteBuffer, grpc::ByteBuffer> {
 public:
  void OnDone(const grpc::Status& status) override { done_.set_value(status); }
  std::future<grpc::Status> done() { return done_.get_future(); }

 private:
  std::promise<grpc::Status> done_;
};

// Scenario: wait_for_result; a stream's batch is paused inside Submit (being sent
// into the pipeline), the client cancels the stream meanwhile and the server's
// OnCancel has run, then the send completes; nothing in the pipeline settles the
// batch.
// Guarantees: the batch is still answered and gives its bytes back at once (the
// gauge is 0, no waiter is left), so the stream ends. (Before, OnCancel found no key
// while Submit ran and the batch held its bytes of admission.request_limit_mib until
// its outcome, timeout or Stop.)
TEST(ArrowServerTest, CancelDuringSubmitGivesBytesBack) {
  fakes::PausingEffect effect;
  Ingest ingest(&effect);
  OtapReceiverConfig config;
  config.listening_addr = *ListenAddress::Parse("127.0.0.1:0");
  config.wait_for_result = true;
  config.timeout = std::chrono::minutes(5);
  HookPoints points;
  ASSERT_OK_AND_ASSIGN(auto server, ArrowServer::Start(config, &ingest));
  server->set_test_hook([&](std::string_view point) { points.Reach(point); });

  otap_wire::StreamEncoder encoder(Signal::kLogs, otap_wire::EncodeOptions{});
  ASSERT_OK_AND_ASSIGN(const std::string message,
                       encoder.Encode(testing::LogsBatch(3, 1), /*batch_id=*/0));
  grpc::Slice slice(message);
  grpc::ByteBuffer request(&slice, 1);
  auto channel = grpc::CreateChannel("127.0.0.1:" + std::to_string(server->port()),
                                     grpc::InsecureChannelCredentials());
  grpc::GenericStub stub(channel);
  grpc::ClientContext context;
  OneMessageStream stream;
  auto done = stream.done();
  stub.PrepareBidiStreamingCall(&context, kArrowLogs, grpc::StubOptions(), &stream);
  stream.StartWrite(&request);
  stream.StartCall();

  ASSERT_TRUE(effect.WaitForSends(1, kBound));
  EXPECT_GT(server->in_flight_bytes(), 0);
  context.TryCancel();
  ASSERT_TRUE(points.WaitFor("cancelled"));
  effect.Resume();
  EXPECT_EQ(done.get().error_code(), grpc::StatusCode::CANCELLED);
  // The stream ends only when no batch is in flight; with the fix the submitting
  // thread answers the batch before it reads again, that is before gRPC is done.
  EXPECT_TRUE(points.WaitFor("done"));
  EXPECT_EQ(server->in_flight_bytes(), 0);
  EXPECT_EQ(ingest.waiting(), 0);

  // As the receiver stops: batches still waiting are answered, then the server stops.
  ingest.ResolveAll(IngestResult{Outcome::kUnavailable, "test over"});
  server->Shutdown(std::chrono::system_clock::now());
}

// A client stream that sends its messages, then half-closes, and reads every
// BatchStatus until the server ends the stream.
class SendAllStream : public grpc::ClientBidiReactor<grpc::ByteBuffer, grpc::ByteBuffer> {
 public:
  struct Result {
    grpc::Status status;
    std::vector<std::pair<int64_t, int>> statuses;  ///< (batch_id, status_code)
  };

  explicit SendAllStream(std::vector<std::string> messages)
      : messages_(std::move(messages)) {}
  void Start(grpc::GenericStub* stub, grpc::ClientContext* context) {
    stub->PrepareBidiStreamingCall(context, kArrowLogs, grpc::StubOptions(), this);
    StartRead(&read_);
    WriteNext();
    StartCall();
  }
  std::future<Result> done() { return done_.get_future(); }

  void OnWriteDone(bool ok) override {
    if (ok) WriteNext();
  }
  void OnReadDone(bool ok) override {
    if (!ok) return;
    grpc::Slice slice;
    BatchStatus status;
    if (read_.DumpToSingleSlice(&slice).ok() &&
        status.ParseFromArray(slice.begin(), static_cast<int>(slice.size()))) {
      result_.statuses.emplace_back(status.batch_id(), status.status_code());
    }
    StartRead(&read_);
  }
  void OnDone(const grpc::Status& status) override {
    result_.status = status;
    done_.set_value(std::move(result_));
  }

 private:
  void WriteNext() {
    if (next_ == messages_.size()) return StartWritesDone();
    grpc::Slice slice(messages_[next_++]);
    write_ = grpc::ByteBuffer(&slice, 1);
    StartWrite(&write_);
  }

  std::vector<std::string> messages_;
  size_t next_ = 0;
  grpc::ByteBuffer write_;
  grpc::ByteBuffer read_;
  Result result_;
  std::promise<Result> done_;
};

// receiver:otap's Arrow server (wait_for_result) on a pipeline entry that holds
// nothing and settles nothing: the test settles each batch through `ingest`.
class ArrowServerOutcomeTest : public ::testing::Test {
 protected:
  void SetUp() override {
    effect_.Resume();  // no pause inside Submit
    OtapReceiverConfig config;
    config.listening_addr = *ListenAddress::Parse("127.0.0.1:0");
    config.wait_for_result = true;
    config.timeout = std::chrono::minutes(5);
    ASSERT_OK_AND_ASSIGN(server_, ArrowServer::Start(config, &ingest_));
    server_->set_test_hook([&](std::string_view point) { points_.Reach(point); });
    channel_ = grpc::CreateChannel("127.0.0.1:" + std::to_string(server_->port()),
                                   grpc::InsecureChannelCredentials());
  }
  void TearDown() override {
    ingest_.ResolveAll(IngestResult{Outcome::kUnavailable, "test over"});
    if (server_) server_->Shutdown(std::chrono::system_clock::now());
  }

  // A small logs batch as the next message of `encoder`'s stream.
  static std::string Batch(otap_wire::StreamEncoder& encoder, int64_t batch_id) {
    auto message = encoder.Encode(testing::LogsBatch(3, 1), batch_id);
    EXPECT_TRUE(message.ok()) << message.status().ToString();
    return message.ok() ? *message : std::string();
  }

  fakes::PausingEffect effect_;
  Ingest ingest_{&effect_};
  HookPoints points_;
  std::unique_ptr<ArrowServer> server_;
  std::shared_ptr<grpc::Channel> channel_;
};

struct OutcomeCase {
  const char* name;
  // Settles the batch of `key`.
  void (*settle)(Ingest& ingest, uint64_t key);
  int status_code;  ///< BatchStatus code the client gets
};

// Scenario: a stream sends one batch and half-closes; the batch waits for its
// outcome, which is (per case) an Ack, a retryable Nack, a permanent Nack or the
// timeout.
// Guarantees: the batch is answered with the matching BatchStatus, then the stream
// ends OK; the batch's bytes are held until then and given back exactly once (the
// gauge is 0, not negative), and no waiter is left.
TEST_F(ArrowServerOutcomeTest, EveryOutcomeOfAHalfClosedStreamGivesBytesBack) {
  const OutcomeCase cases[] = {
      {"ack", [](Ingest& ingest, uint64_t key) { ingest.OnOutcome(key, nullptr); },
       static_cast<int>(StatusCode::kOk)},
      {"retryable nack",
       [](Ingest& ingest, uint64_t key) {
         const engine::NackInfo nack{"exporter down", /*permanent=*/false};
         ingest.OnOutcome(key, &nack);
       },
       static_cast<int>(StatusCode::kUnavailable)},
      {"permanent nack",
       [](Ingest& ingest, uint64_t key) {
         const engine::NackInfo nack{"bad data", /*permanent=*/true};
         ingest.OnOutcome(key, &nack);
       },
       static_cast<int>(StatusCode::kInvalidArgument)},
      {"timeout",
       [](Ingest& ingest, uint64_t) {
         ingest.ExpireWaiters(engine::Clock::now() + std::chrono::hours(1));
       },
       static_cast<int>(StatusCode::kUnavailable)},
  };
  int sends = 0;
  for (const OutcomeCase& c : cases) {
    SCOPED_TRACE(c.name);
    otap_wire::StreamEncoder encoder(Signal::kLogs, otap_wire::EncodeOptions{});
    grpc::GenericStub stub(channel_);
    grpc::ClientContext context;
    SendAllStream stream({Batch(encoder, 7)});
    auto done = stream.done();
    stream.Start(&stub, &context);

    ASSERT_TRUE(effect_.WaitForSends(++sends, kBound));
    EXPECT_GT(server_->in_flight_bytes(), 0);
    c.settle(ingest_, effect_.key(sends - 1));
    ASSERT_EQ(done.wait_for(kBound), std::future_status::ready);
    const SendAllStream::Result result = done.get();
    EXPECT_TRUE(result.status.ok()) << result.status.error_message();
    EXPECT_EQ(result.statuses,
              (std::vector<std::pair<int64_t, int>>{{7, c.status_code}}));
    EXPECT_EQ(server_->in_flight_bytes(), 0);
    EXPECT_EQ(ingest_.waiting(), 0);
  }
}

// Scenario: a stream sends a batch, then bytes that are no BatchArrowRecords
// (nothing to answer: the stream is broken) while the batch waits for its outcome;
// then the batch is acknowledged.
// Guarantees: the broken stream still answers the batch in flight (OK), then ends
// with INVALID_ARGUMENT; the batch's bytes are given back exactly once.
TEST_F(ArrowServerOutcomeTest, DecodeErrorWithABatchInFlightGivesBytesBack) {
  otap_wire::StreamEncoder encoder(Signal::kLogs, otap_wire::EncodeOptions{});
  grpc::GenericStub stub(channel_);
  grpc::ClientContext context;
  // 0xff: field 31 of wire type 7, which does not exist.
  SendAllStream stream({Batch(encoder, 1), std::string("\xff\xff\xff", 3)});
  auto done = stream.done();
  stream.Start(&stub, &context);

  ASSERT_TRUE(effect_.WaitForSends(1, kBound));
  EXPECT_GT(server_->in_flight_bytes(), 0);
  // Bounded wait for the broken stream (counted when the bad message is decoded).
  const auto until = std::chrono::steady_clock::now() + kBound;
  while (server_->counters().streams_broken.load() == 0 &&
         std::chrono::steady_clock::now() < until) {
    std::this_thread::sleep_for(std::chrono::milliseconds(1));
  }
  ASSERT_EQ(server_->counters().decode_errors.load(), 1);
  EXPECT_GT(server_->in_flight_bytes(), 0);  // the batch still waits
  ingest_.OnOutcome(effect_.key(0), nullptr);
  ASSERT_EQ(done.wait_for(kBound), std::future_status::ready);
  const SendAllStream::Result result = done.get();
  EXPECT_EQ(result.status.error_code(), grpc::StatusCode::INVALID_ARGUMENT);
  EXPECT_EQ(
      result.statuses,
      (std::vector<std::pair<int64_t, int>>{{1, static_cast<int>(StatusCode::kOk)}}));
  EXPECT_TRUE(points_.WaitFor("done"));
  EXPECT_EQ(server_->in_flight_bytes(), 0);
  EXPECT_EQ(ingest_.waiting(), 0);
}

}  // namespace
}  // namespace otap_parquet::nodes::otap_receiver
