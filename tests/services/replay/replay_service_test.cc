// ReplayService over real gRPC (127.0.0.1:0) with a real redis-server behind it.
#include "services/replay/replay_service.h"

#include <cmath>
#include <random>
#include <thread>

#include "common/grpc/client_context.h"
#include "common/grpc/server_host.h"
#include "common/metrics/metrics.h"
#include "gtest/gtest.h"
#include "services/replay/sequence_batch.h"
#include "services/replay/testing/synthetic_episode.h"
#include "tests/services/replay/replay_test_util.h"

namespace ivg::replay {
namespace {

class ReplayServiceTest : public ::testing::Test {
 protected:
  void SetUp() override {
    redis_ = testing::StartRedis(dir_.path() + "/redis");
    ASSERT_NE(redis_, nullptr);
    auto pool = RedisConnectionPool::Create(redis_->connection_options(), 2);
    ASSERT_TRUE(pool.ok());
    pool_ = *std::move(pool);
    auto admin = RedisConnection::Create(redis_->connection_options());
    ASSERT_TRUE(admin.ok());
    admin_ = *std::move(admin);
    ReplayServiceOptions options;
    options.table.sequence_length = 8;
    options.table.max_size = 1000;
    options.table.rate_limiter.min_size_to_sample = 1;
    options.table.episode_spec.num_rewards = 1;
    options.max_request_bytes = 8 << 20;
    options.max_blocking = max_blocking_;
    options.max_response_bytes = max_response_bytes_;
    auto service = ReplayServiceImpl::Create(options, pool_.get(), &registry_);
    ASSERT_TRUE(service.ok()) << service.status();
    service_ = *std::move(service);
    GrpcServerOptions server_options;
    server_options.max_message_bytes = 64 << 20;
    server_options.on_stop.push_back([this] { service_->Close(); });
    auto host = GrpcServerHost::Create(server_options, {service_.get()});
    ASSERT_TRUE(host.ok()) << host.status();
    host_ = *std::move(host);
    stub_ = ReplayService::NewStub(MakeChannel(host_->address(), 64 << 20));
  }

  void TearDown() override {
    if (host_) host_->Stop(absl::Seconds(1));
  }

  grpc::Status Insert(const Episode& episode, InsertEpisodeResponse* response,
                      const std::string& table = "") {
    InsertEpisodeRequest request;
    request.set_table(table);
    *request.mutable_episode() = episode;
    auto context = MakeClientContext(absl::Seconds(10));
    return stub_->InsertEpisode(context.get(), request, response);
  }

  static Episode MakeEpisode(int64_t id, int steps = 16) {
    testing::SyntheticEpisodeOptions o;
    o.episode_id = id;
    o.num_steps = steps;
    return testing::MakeSyntheticEpisode(o);
  }

  testing::TempDir dir_;
  metrics::MetricRegistry registry_;
  std::unique_ptr<RedisProcess> redis_;
  std::unique_ptr<RedisConnectionPool> pool_;
  std::unique_ptr<RedisConnection> admin_;
  std::unique_ptr<ReplayServiceImpl> service_;
  std::unique_ptr<GrpcServerHost> host_;
  // Server-side cap on rate-limiter waits (ReplayServiceOptions::max_blocking).
  absl::Duration max_blocking_ = absl::Minutes(2);
  int64_t max_response_bytes_ = 256 << 20;
  std::unique_ptr<ReplayService::Stub> stub_;
};

TEST_F(ReplayServiceTest, SampleReturnsSequenceBatchTensorsMatchingTheEpisode) {
  const Episode episode = MakeEpisode(3, 8);  // One item: the sample is known exactly.
  InsertEpisodeResponse inserted;
  ASSERT_TRUE(Insert(episode, &inserted).ok());
  EXPECT_EQ(inserted.items_created(), 1);
  for (bool compressed : {false, true}) {
    SampleRequest request;
    request.set_batch_size(3);
    request.set_compressed(compressed);
    SampleResponse response;
    auto context = MakeClientContext(absl::Seconds(10));
    ASSERT_TRUE(stub_->Sample(context.get(), request, &response).ok());
    absl::StatusOr<SequenceBatch> batch =
        compressed ? DecodeCompressedSequences(response.compressed()) : response.batch();
    ASSERT_TRUE(batch.ok()) << batch.status();
    ASSERT_EQ(batch->batch_size(), 3);
    EXPECT_EQ(batch->sequence_length(), 8);
    EXPECT_EQ(std::vector<int64_t>(batch->images().shape().begin(), batch->images().shape().end()),
              (std::vector<int64_t>{3, 8, 6, 64, 64}));
    EXPECT_EQ(batch->proprio().shape(2), 17);
    EXPECT_EQ(batch->actions().shape(2), 5);
    EXPECT_EQ(batch->rewards().shape(2), 1);
    const size_t image_bytes = 6 * 64 * 64;
    for (int b = 0; b < 3; ++b) {
      for (int t = 0; t < 8; ++t) {
        ASSERT_EQ(batch->images().data().substr((b * 8 + t) * image_bytes, image_bytes),
                  episode.steps(t).image());
        float action0 = 0;
        std::memcpy(&action0, batch->actions().data().data() + ((b * 8 + t) * 5) * 4, 4);
        EXPECT_EQ(action0, episode.steps(t).action(0));
      }
    }
  }
}

TEST_F(ReplayServiceTest, MalformedEpisodesAreRejectedAndNothingIsStored) {
  InsertEpisodeResponse response;
  ASSERT_TRUE(Insert(MakeEpisode(1), &response).ok());
  const int64_t keys = testing::RedisKeyCount(admin_.get());

  struct Case {
    const char* name;
    std::function<void(Episode*)> corrupt;
    grpc::StatusCode code;
  };
  const std::vector<Case> cases = {
      {"wrong image size", [](Episode* e) { e->mutable_steps(4)->mutable_image()->resize(100); },
       grpc::StatusCode::INVALID_ARGUMENT},
      {"NaN reward", [](Episode* e) { e->mutable_steps(2)->set_rewards(0, NAN); },
       grpc::StatusCode::INVALID_ARGUMENT},
      {"Inf proprio", [](Episode* e) { e->mutable_steps(9)->set_proprio(3, -INFINITY); },
       grpc::StatusCode::INVALID_ARGUMENT},
      {"wrong action size", [](Episode* e) { e->mutable_steps(0)->mutable_action()->RemoveLast(); },
       grpc::StatusCode::INVALID_ARGUMENT},
      {"too few steps", [](Episode* e) { e->mutable_steps()->DeleteSubrange(0, 10); },
       grpc::StatusCode::INVALID_ARGUMENT},
      {"oversized", [](Episode* e) { *e = MakeEpisode(5, 400); },
       grpc::StatusCode::RESOURCE_EXHAUSTED},
  };
  for (const Case& c : cases) {
    Episode episode = MakeEpisode(2);
    c.corrupt(&episode);
    grpc::Status status = Insert(episode, &response);
    EXPECT_EQ(status.error_code(), c.code) << c.name << ": " << status.error_message();
    EXPECT_FALSE(status.error_message().empty()) << c.name;
  }
  grpc::Status unknown = Insert(MakeEpisode(3), &response, "no-such-table");
  EXPECT_EQ(unknown.error_code(), grpc::StatusCode::NOT_FOUND);
  EXPECT_NE(unknown.error_message().find("no-such-table"), std::string::npos);

  SampleRequest bad_sample;
  bad_sample.set_batch_size(0);
  SampleResponse sample_response;
  auto context = MakeClientContext(absl::Seconds(5));
  EXPECT_EQ(stub_->Sample(context.get(), bad_sample, &sample_response).error_code(),
            grpc::StatusCode::INVALID_ARGUMENT);

  EXPECT_EQ(testing::RedisKeyCount(admin_.get()), keys);
  // Still serving.
  EXPECT_TRUE(Insert(MakeEpisode(4), &response).ok());
}

// Property: whatever malformed message arrives, the server neither crashes nor writes
// anything; valid messages in between are still stored.
TEST_F(ReplayServiceTest, FuzzedMalformedInsertsNeverCrashOrPartiallyWrite) {
  std::mt19937 rng(12345);
  const Episode base = MakeEpisode(1, 24);
  InsertEpisodeResponse response;
  int rejected = 0;
  for (int round = 0; round < 120; ++round) {
    Episode e = base;
    e.set_episode_id(round);
    const int mutations = 1 + rng() % 3;
    for (int m = 0; m < mutations; ++m) {
      Step* step = e.mutable_steps(rng() % e.steps_size());
      switch (rng() % 9) {
        case 0: step->mutable_image()->resize(rng() % 30000); break;
        case 1: step->add_proprio(1.0f); break;
        case 2: if (step->action_size() > 0) step->mutable_action()->RemoveLast(); break;
        case 3: step->set_rewards(0, std::nanf("")); break;
        case 4: step->set_behaviour_log_prob(INFINITY); break;
        case 5: e.set_image_width(rng() % 128); break;
        case 6: e.mutable_steps()->DeleteSubrange(0, e.steps_size() - rng() % 8); break;
        case 7: step->add_rewards(0.5f); break;
        case 8: step->set_proprio(rng() % step->proprio_size(), -INFINITY); break;
      }
      if (e.steps_size() == 0) break;
    }
    const int64_t before = testing::RedisKeyCount(admin_.get());
    grpc::Status status = Insert(e, &response);
    const int64_t after = testing::RedisKeyCount(admin_.get());
    if (status.ok()) {
      EXPECT_GT(after, before);  // Some mutation sequences happen to stay valid.
    } else {
      ++rejected;
      EXPECT_EQ(status.error_code(), grpc::StatusCode::INVALID_ARGUMENT) << status.error_message();
      EXPECT_EQ(after, before) << "a rejected insert wrote " << after - before << " keys";
    }
  }
  EXPECT_GT(rejected, 100);
  ASSERT_TRUE(Insert(MakeEpisode(999, 24), &response).ok());
  EXPECT_EQ(response.items_created(), 3);
}

TEST_F(ReplayServiceTest, StreamAcknowledgesEachEpisodeAndStopsAtTheFirstBadOne) {
  auto context = MakeClientContext(absl::Seconds(10));
  auto stream = stub_->InsertEpisodeStream(context.get());
  InsertEpisodeRequest request;
  InsertEpisodeResponse response;
  for (int i = 0; i < 3; ++i) {
    *request.mutable_episode() = MakeEpisode(i);
    ASSERT_TRUE(stream->Write(request));
    ASSERT_TRUE(stream->Read(&response));
    EXPECT_EQ(response.items_created(), 2);
  }
  *request.mutable_episode() = MakeEpisode(9, 3);
  stream->Write(request);
  stream->WritesDone();
  EXPECT_FALSE(stream->Read(&response));
  grpc::Status status = stream->Finish();
  EXPECT_EQ(status.error_code(), grpc::StatusCode::INVALID_ARGUMENT);
  EXPECT_EQ(service_->table()->size(), 6);
}

TEST_F(ReplayServiceTest, ServerInfoReportsSizesAndMetricsAreExported) {
  InsertEpisodeResponse response;
  ASSERT_TRUE(Insert(MakeEpisode(1, 32), &response).ok());
  ServerInfoResponse info;
  auto context = MakeClientContext(absl::Seconds(5));
  ASSERT_TRUE(stub_->ServerInfo(context.get(), ServerInfoRequest(), &info).ok());
  ASSERT_EQ(info.tables_size(), 1);
  EXPECT_EQ(info.tables(0).num_items(), 4);
  EXPECT_EQ(info.tables(0).num_steps(), 32);
  EXPECT_GT(info.tables(0).stored_bytes(), 0);
  EXPECT_GT(info.redis_used_memory_bytes(), info.tables(0).stored_bytes());
  const std::string text = registry_.Serialize();
  EXPECT_NE(text.find("ivg_replay_items{shard=\"0\",table=\"sequences\"} 4"), std::string::npos)
      << text;
  EXPECT_NE(text.find("ivg_replay_bytes_per_stored_step"), std::string::npos);
  EXPECT_NE(text.find("ivg_replay_inserted_steps_total"), std::string::npos);
}

TEST_F(ReplayServiceTest, BlockedSampleEndsWithDeadlineOrCancelledOnShutdown) {
  SampleRequest request;
  request.set_batch_size(1);
  SampleResponse response;
  auto short_context = MakeClientContext(absl::Milliseconds(100));
  EXPECT_EQ(stub_->Sample(short_context.get(), request, &response).error_code(),
            grpc::StatusCode::DEADLINE_EXCEEDED);
  grpc::Status status;
  std::thread sampler([&] {
    auto context = MakeClientContext(absl::Seconds(30));
    status = stub_->Sample(context.get(), request, &response);
  });
  while (service_->table()->Info().rate_limiter().waiting_samplers() == 0) {
    absl::SleepFor(absl::Milliseconds(2));
  }
  host_->Stop(absl::Seconds(5));
  sampler.join();
  EXPECT_TRUE(status.error_code() == grpc::StatusCode::CANCELLED ||
              status.error_code() == grpc::StatusCode::UNAVAILABLE)
      << status.error_code() << " " << status.error_message();
}

TEST_F(ReplayServiceTest, ADecodedSampleAboveTheResponseLimitIsRefusedBeforeSampling) {
  InsertEpisodeResponse inserted;
  ASSERT_TRUE(Insert(MakeEpisode(1, 20), &inserted).ok());
  SampleRequest request;
  request.set_batch_size(4096);  // ~800 MB of 64x64 image pairs, above the 256 MB default.
  SampleResponse response;
  auto context = MakeClientContext(absl::Seconds(10));
  const grpc::Status status = stub_->Sample(context.get(), request, &response);
  EXPECT_EQ(status.error_code(), grpc::StatusCode::RESOURCE_EXHAUSTED);
  EXPECT_NE(status.error_message().find("above the response limit"), std::string::npos)
      << status.error_message();
  // Nothing was sampled or allocated; the server answers a normal request.
  request.set_batch_size(2);
  auto again = MakeClientContext(absl::Seconds(10));
  EXPECT_TRUE(stub_->Sample(again.get(), request, &response).ok());
}

class ReplayServiceSmallResponseTest : public ReplayServiceTest {
 protected:
  ReplayServiceSmallResponseTest() { max_response_bytes_ = 64 << 10; }
};

// Compressed sequences' size is known only once read: a response above the limit is refused
// naming its size and the limit (gRPC's own send limit would fail it without either), and
// the server goes on serving.
TEST_F(ReplayServiceSmallResponseTest, ACompressedSampleAboveTheResponseLimitIsRefusedNamingIt) {
  testing::SyntheticEpisodeOptions o;
  o.num_steps = 20;
  o.noise_amplitude = 40;  // Pixel noise: each compressed sequence is far above 8 KB.
  InsertEpisodeResponse inserted;
  ASSERT_TRUE(Insert(testing::MakeSyntheticEpisode(o), &inserted).ok());
  SampleRequest request;
  request.set_batch_size(8);
  request.set_compressed(true);
  SampleResponse response;
  auto context = MakeClientContext(absl::Seconds(10));
  const grpc::Status status = stub_->Sample(context.get(), request, &response);
  EXPECT_EQ(status.error_code(), grpc::StatusCode::RESOURCE_EXHAUSTED) << status.error_message();
  EXPECT_NE(status.error_message().find("8 sequences (compressed)"), std::string::npos)
      << status.error_message();
  EXPECT_NE(status.error_message().find("above the response limit 65536"), std::string::npos)
      << status.error_message();
  ServerInfoResponse info;
  auto again = MakeClientContext(absl::Seconds(10));
  EXPECT_TRUE(stub_->ServerInfo(again.get(), ServerInfoRequest(), &info).ok());
}

class ReplayServiceShortBlockingTest : public ReplayServiceTest {
 protected:
  ReplayServiceShortBlockingTest() { max_blocking_ = absl::Milliseconds(300); }
};

TEST_F(ReplayServiceShortBlockingTest, ACallWithALongDeadlineWaitsAtMostMaxBlocking) {
  // An empty table: the sampler waits in the rate limiter. The client allows 60 s; the
  // server gives up after max_blocking with the rate limiter's own error.
  SampleRequest request;
  request.set_batch_size(1);
  SampleResponse response;
  auto context = MakeClientContext(absl::Seconds(60));
  const grpc::Status status = stub_->Sample(context.get(), request, &response);
  EXPECT_EQ(status.error_code(), grpc::StatusCode::DEADLINE_EXCEEDED);
  EXPECT_NE(status.error_message().find("the rate limiter did not allow"), std::string::npos)
      << status.error_message();
}

}  // namespace
}  // namespace ivg::replay
