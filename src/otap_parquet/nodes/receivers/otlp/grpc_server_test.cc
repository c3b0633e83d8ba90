// SPDX-License-Identifier: Apache-2.0
#include "otap_parquet/nodes/receivers/otlp/grpc_server.h"

#include <chrono>
#include <condition_variable>
#include <future>
#include <mutex>
#include <string>
#include <vector>

#include <grpcpp/create_channel.h>
#include <grpcpp/generic/generic_stub.h>
#include <grpcpp/security/credentials.h>
#include <gtest/gtest.h>

#include "opentelemetry/proto/collector/logs/v1/logs_service.pb.h"
#include "otap_parquet/engine/testing/fake_effect.h"

namespace otap_parquet::nodes::otlp_receiver {
namespace {

constexpr char kLogsExport[] =
    "/opentelemetry.proto.collector.logs.v1.LogsService/Export";
// A bound on waits for events that do happen, not a measurement.
constexpr std::chrono::seconds kBound{10};

// Export calls served as GrpcServer and receiver:otap serve them (NewExportReactor).
class ExportService : public grpc::CallbackGenericService {
 public:
  explicit ExportService(const ExportEndpoint* endpoint) : endpoint_(endpoint) {}
  grpc::ServerGenericBidiReactor* CreateReactor(
      grpc::GenericCallbackServerContext* context) override {
    return NewExportReactor(endpoint_, context);
  }

 private:
  const ExportEndpoint* endpoint_;
};

grpc::ByteBuffer LogsRequest() {
  opentelemetry::proto::collector::logs::v1::ExportLogsServiceRequest request;
  auto* record = request.add_resource_logs()->add_scope_logs()->add_log_records();
  record->set_time_unix_nano(1'700'000'000'000'000'000);
  record->mutable_body()->set_string_value("held");
  grpc::Slice slice(request.SerializeAsString());
  return grpc::ByteBuffer(&slice, 1);
}

// Scenario: wait_for_result and a byte budget of exactly one request; a call is
// paused inside Submit (its message being sent into the pipeline), the client
// cancels it meanwhile and the server's OnCancel has run, then the send completes;
// nothing in the pipeline settles the message.
// Guarantees: the cancelled call still gives its bytes back at once (the gauge is 0,
// no waiter is left), so a second call is admitted, not refused for memory, and
// completes when its message is acknowledged. (Before, OnCancel found no key while
// Submit ran and the call held its bytes until its outcome, timeout or Stop.)
TEST(GrpcExportTest, CancelDuringSubmitGivesBytesBack) {
  fakes::PausingEffect effect;
  Ingest ingest(&effect);
  const grpc::ByteBuffer request = LogsRequest();
  std::mutex mutex;
  std::condition_variable cancelled_cv;
  bool cancelled = false;
  ExportEndpoint endpoint;
  endpoint.ingest = &ingest;
  endpoint.options.wait_for_result = true;
  endpoint.options.timeout = std::chrono::minutes(5);
  endpoint.request_limit_bytes = static_cast<int64_t>(request.Length());
  endpoint.test_hook = [&](std::string_view point) {
    if (point != "cancelled") return;
    std::lock_guard<std::mutex> lock(mutex);
    cancelled = true;
    cancelled_cv.notify_all();
  };
  ExportService service(&endpoint);
  int port = 0;
  grpc::ServerBuilder builder;
  builder.AddListeningPort("127.0.0.1:0", grpc::InsecureServerCredentials(), &port);
  builder.RegisterCallbackGenericService(&service);
  std::unique_ptr<grpc::Server> server = builder.BuildAndStart();
  ASSERT_TRUE(server && port != 0);

  auto channel = grpc::CreateChannel("127.0.0.1:" + std::to_string(port),
                                     grpc::InsecureChannelCredentials());
  grpc::GenericStub stub(channel);
  auto call = [&](grpc::ClientContext* context, grpc::ByteBuffer* response) {
    auto done = std::make_shared<std::promise<grpc::Status>>();
    stub.UnaryCall(context, kLogsExport, grpc::StubOptions(), &request, response,
                   [done](grpc::Status status) { done->set_value(std::move(status)); });
    return done->get_future();
  };
  const auto in_flight = [&] {
    return ingest.counters().in_flight_bytes[static_cast<int>(Protocol::kGrpc)].load();
  };

  grpc::ClientContext first_context;
  grpc::ByteBuffer first_response;
  auto first = call(&first_context, &first_response);
  ASSERT_TRUE(effect.WaitForSends(1, kBound));
  EXPECT_EQ(in_flight(), endpoint.request_limit_bytes);
  first_context.TryCancel();
  {
    std::unique_lock<std::mutex> lock(mutex);
    ASSERT_TRUE(cancelled_cv.wait_for(lock, kBound, [&] { return cancelled; }));
  }
  effect.Resume();
  EXPECT_EQ(first.get().error_code(), grpc::StatusCode::CANCELLED);
  // Bounded: the fix gives the bytes back on the submitting thread right after the
  // send; without it they stay held.
  const auto until = std::chrono::steady_clock::now() + kBound;
  while (in_flight() != 0 && std::chrono::steady_clock::now() < until) {
    std::this_thread::sleep_for(std::chrono::milliseconds(1));
  }
  EXPECT_EQ(in_flight(), 0);
  EXPECT_EQ(ingest.waiting(), 0);

  grpc::ClientContext second_context;
  grpc::ByteBuffer second_response;
  auto second = call(&second_context, &second_response);
  if (effect.WaitForSends(2, kBound)) ingest.OnOutcome(effect.key(1), nullptr);
  const grpc::Status status = second.get();
  EXPECT_TRUE(status.ok()) << status.error_message();
  EXPECT_EQ(ingest.counters()
                .rejected[static_cast<int>(Protocol::kGrpc)]
                         [static_cast<int>(Outcome::kMemoryLimit)]
                .load(),
            0);
  EXPECT_EQ(in_flight(), 0);

  // As the receiver stops: calls still waiting are answered, then the server stops.
  ingest.ResolveAll({Outcome::kUnavailable, "test over"});
  server->Shutdown(std::chrono::system_clock::now());
  server->Wait();
}

}  // namespace
}  // namespace otap_parquet::nodes::otlp_receiver
