// SPDX-License-Identifier: Apache-2.0
#include "otap_parquet/nodes/receivers/otap/arrow_server.h"

#include <chrono>
#include <condition_variable>
#include <functional>
#include <future>
#include <mutex>
#include <set>
#include <string>

#include <grpcpp/create_channel.h>
#include <grpcpp/generic/generic_stub.h>
#include <grpcpp/security/credentials.h>
#include <grpcpp/support/client_callback.h>
#include <gtest/gtest.h>

#include "otap_parquet/engine/testing/fake_effect.h"
#include "otap_parquet/generator/test_batches.h"
#include "otap_parquet/otap_wire/bar_encoder.h"
#include "otap_parquet/testing/gtest_util.h"

namespace otap_parquet::nodes::otap_receiver {
namespace {

using otlp_receiver::Ingest;
using otlp_receiver::IngestResult;
using otlp_receiver::Outcome;

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

}  // namespace
}  // namespace otap_parquet::nodes::otap_receiver
