#include "common/grpc/server_host.h"

#include <atomic>
#include <string>
#include <thread>
#include <vector>

#include "absl/synchronization/notification.h"
#include "absl/time/clock.h"
#include "common/grpc/client_context.h"
#include "gtest/gtest.h"
#include "proto/health.grpc.pb.h"
#include "proto/replay.grpc.pb.h"

namespace ivg {
namespace {

// gRPC needs at least one synchronous service to serve; this one answers ServerInfo with a
// fixed shard number so tests can see their calls reach it.
class ShardSevenInfoService final : public ReplayService::Service {
 public:
  grpc::Status ServerInfo(grpc::ServerContext*, const ServerInfoRequest*,
                          ServerInfoResponse* response) override {
    response->set_shard(7);
    return grpc::Status::OK;
  }
};

// Answers InsertEpisode with the number of steps it received, so a test can tell a request
// that reached the handler from one refused by the server's limits.
class CountingInsertService final : public ReplayService::Service {
 public:
  grpc::Status InsertEpisode(grpc::ServerContext*, const InsertEpisodeRequest* request,
                             InsertEpisodeResponse* response) override {
    response->set_steps_stored(request->episode().steps_size());
    return grpc::Status::OK;
  }
};

// Holds every ServerInfo call until released: calls in flight for as long as a test wants.
class HoldingInfoService final : public ReplayService::Service {
 public:
  grpc::Status ServerInfo(grpc::ServerContext*, const ServerInfoRequest*,
                          ServerInfoResponse*) override {
    ++in_handler;
    release.WaitForNotificationWithTimeout(absl::Seconds(30));
    return grpc::Status::OK;
  }
  std::atomic<int> in_handler{0};
  absl::Notification release;
};

InsertEpisodeRequest RequestOfBytes(size_t image_bytes) {
  InsertEpisodeRequest request;
  request.mutable_episode()->add_steps()->set_image(std::string(image_bytes, 'x'));
  return request;
}

using grpc::health::v1::Health;
using grpc::health::v1::HealthCheckRequest;
using grpc::health::v1::HealthCheckResponse;

TEST(GrpcServerHost, BindsAnEphemeralPortAndReportsServing) {
  ShardSevenInfoService service;
  auto host = GrpcServerHost::Create({}, {&service});
  ASSERT_TRUE(host.ok()) << host.status();
  ASSERT_GT((*host)->port(), 0);
  auto channel = MakeChannel((*host)->address(), 4 << 20);
  auto stub = Health::NewStub(channel);
  HealthCheckResponse response;
  auto context = MakeClientContext(absl::Seconds(5));
  ASSERT_TRUE(stub->Check(context.get(), HealthCheckRequest(), &response).ok());
  EXPECT_EQ(response.status(), HealthCheckResponse::SERVING);

  ServerInfoResponse info;
  auto info_context = MakeClientContext(absl::Seconds(5));
  ASSERT_TRUE(ReplayService::NewStub(channel)
                  ->ServerInfo(info_context.get(), ServerInfoRequest(), &info)
                  .ok());
  EXPECT_EQ(info.shard(), 7);
}

TEST(GrpcServerHost, StopsWithinItsDeadlineWhileACallIsInFlight) {
  std::atomic<bool> hook_ran{false};
  GrpcServerOptions options;
  options.on_stop.push_back([&hook_ran] { hook_ran = true; });
  ShardSevenInfoService service;
  auto host = GrpcServerHost::Create(options, {&service});
  ASSERT_TRUE(host.ok()) << host.status();

  // A health Watch is a server stream that stays open: a call in flight for as long as
  // the server lives.
  auto stub = Health::NewStub(MakeChannel((*host)->address(), 4 << 20));
  auto context = MakeClientContext(absl::Seconds(60));
  auto stream = stub->Watch(context.get(), HealthCheckRequest());
  HealthCheckResponse first;
  ASSERT_TRUE(stream->Read(&first));
  EXPECT_EQ(first.status(), HealthCheckResponse::SERVING);

  absl::Notification stream_ended;
  std::vector<HealthCheckResponse::ServingStatus> seen;
  std::thread reader([&] {
    HealthCheckResponse update;
    while (stream->Read(&update)) seen.push_back(update.status());
    stream->Finish();
    stream_ended.Notify();
  });

  const absl::Time start = absl::Now();
  (*host)->Stop(absl::Milliseconds(300));
  const absl::Duration took = absl::Now() - start;
  EXPECT_TRUE(hook_ran);
  // Generous bound: the behaviour under test is that Stop returns once the deadline has
  // cancelled the open call, instead of waiting for the 60 s client deadline.
  EXPECT_LT(took, absl::Seconds(20));
  EXPECT_TRUE(stream_ended.WaitForNotificationWithTimeout(absl::Seconds(20)));
  reader.join();
  // The server announced NOT_SERVING to the watcher before it went away.
  ASSERT_FALSE(seen.empty());
  EXPECT_EQ(seen.back(), HealthCheckResponse::NOT_SERVING);
}

TEST(GrpcServerHost, StopIsIdempotent) {
  ShardSevenInfoService service;
  auto host = GrpcServerHost::Create({}, {&service});
  ASSERT_TRUE(host.ok());
  (*host)->Stop(absl::ZeroDuration());
  (*host)->Stop(absl::ZeroDuration());
  (*host)->Wait();
}

TEST(GrpcServerHost, PortInUseIsAClearError) {
  ShardSevenInfoService service, other_service;
  auto first = GrpcServerHost::Create({}, {&service});
  ASSERT_TRUE(first.ok());
  GrpcServerOptions options;
  options.address = (*first)->address();
  auto second = GrpcServerHost::Create(options, {&other_service});
  ASSERT_FALSE(second.ok());
  EXPECT_EQ(second.status().code(), absl::StatusCode::kUnavailable);
}

TEST(GrpcServerHost, ARequestAboveTheReceiveLimitIsRefusedAndTheServerKeepsServing) {
  CountingInsertService service;
  GrpcServerOptions options;
  options.max_message_bytes = 32 << 20;
  options.max_receive_bytes = 2 << 20;
  auto host = GrpcServerHost::Create(options, {&service});
  ASSERT_TRUE(host.ok()) << host.status();
  auto stub = ReplayService::NewStub(MakeChannel((*host)->address(), 32 << 20));
  InsertEpisodeResponse response;
  auto big = MakeClientContext(absl::Seconds(10));
  const grpc::Status refused = stub->InsertEpisode(big.get(), RequestOfBytes(3 << 20), &response);
  EXPECT_EQ(refused.error_code(), grpc::StatusCode::RESOURCE_EXHAUSTED)
      << refused.error_message();
  auto small = MakeClientContext(absl::Seconds(10));
  ASSERT_TRUE(stub->InsertEpisode(small.get(), RequestOfBytes(1 << 20), &response).ok());
  EXPECT_EQ(response.steps_stored(), 1);
}

TEST(GrpcServerHost, CallsBeyondTheThreadQuotaAreRefusedNotQueuedForever) {
  HoldingInfoService service;
  GrpcServerOptions options;
  options.max_threads = 6;
  auto host = GrpcServerHost::Create(options, {&service});
  ASSERT_TRUE(host.ok()) << host.status();
  auto channel = MakeChannel((*host)->address(), 4 << 20);
  constexpr int kCalls = 24;
  std::atomic<int> exhausted{0}, finished{0};
  std::vector<std::thread> callers;
  for (int i = 0; i < kCalls; ++i) {
    callers.emplace_back([&] {
      auto stub = ReplayService::NewStub(channel);
      ServerInfoResponse info;
      auto context = MakeClientContext(absl::Seconds(30));
      const grpc::Status status = stub->ServerInfo(context.get(), ServerInfoRequest(), &info);
      if (status.error_code() == grpc::StatusCode::RESOURCE_EXHAUSTED) ++exhausted;
      ++finished;
    });
  }
  // Every call is either held in the handler or refused; none waits unanswered.
  const absl::Time give_up = absl::Now() + absl::Seconds(20);
  while (service.in_handler + exhausted < kCalls && absl::Now() < give_up) {
    absl::SleepFor(absl::Milliseconds(10));
  }
  EXPECT_GT(exhausted.load(), 0);
  EXPECT_LT(service.in_handler.load(), kCalls);
  service.release.Notify();
  for (std::thread& caller : callers) caller.join();
  EXPECT_EQ(finished.load(), kCalls);
  // With the threads free again, the next call is served.
  ServerInfoResponse info;
  auto context = MakeClientContext(absl::Seconds(10));
  EXPECT_TRUE(ReplayService::NewStub(channel)
                  ->ServerInfo(context.get(), ServerInfoRequest(), &info)
                  .ok());
}

}  // namespace
}  // namespace ivg
