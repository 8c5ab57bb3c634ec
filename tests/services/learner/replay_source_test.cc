// The learner sampling a real replay shard (its own redis-server, table and gRPC server on
// loopback) through ReplaySequenceSource, then training one step on what came back.
#include "services/learner/replay_sequence_source.h"

#include <memory>
#include <string>
#include <vector>

#include <ATen/ATen.h>
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include "absl/strings/str_cat.h"
#include "common/grpc/server_host.h"
#include "model/config/model_config.h"
#include "model/core/learner_core.h"
#include "services/learner/batch_conversion.h"
#include "services/replay/replay_service.h"
#include "tests/services/learner/test_config.h"
#include "tests/services/replay/replay_test_util.h"

namespace ivg::learner {
namespace {

using ::ivg::model::CoreOptionsFromConfig;
using ::ivg::model::LearnerCore;

TEST(ReplaySequenceSource, SamplesSequencesFromAReplayShardThatTheCoreTrainsOn) {
  ExperimentConfig config = testing::TinyExperimentConfig();
  config.mutable_model()->set_proprio_size(17);
  config.mutable_model()->set_action_size(5);
  const int l = config.learner().burn_in() + config.learner().model_rollout();

  replay::testing::TempDir dir;
  auto redis = replay::testing::StartRedis(dir.path() + "/redis");
  ASSERT_NE(redis, nullptr);
  auto pool = replay::RedisConnectionPool::Create(redis->connection_options(), 2);
  ASSERT_TRUE(pool.ok()) << pool.status();
  auto port = replay::PickFreeLoopbackPort();
  ASSERT_TRUE(port.ok());
  metrics::MetricRegistry registry;
  replay::ReplayServiceOptions service_options;
  service_options.table.sequence_length = l;
  service_options.table.rate_limiter.min_size_to_sample = 1;
  service_options.table.episode_spec.num_rewards = 1;
  auto service = replay::ReplayServiceImpl::Create(service_options, pool->get(), &registry);
  ASSERT_TRUE(service.ok()) << service.status();
  GrpcServerOptions server_options;
  server_options.address = absl::StrCat("127.0.0.1:", *port);
  server_options.max_message_bytes = 64 << 20;
  replay::ReplayServiceImpl* service_ptr = service->get();
  server_options.on_stop.push_back([service_ptr] { service_ptr->Close(); });
  auto host = GrpcServerHost::Create(server_options, {service->get()});
  ASSERT_TRUE(host.ok()) << host.status();

  replay::ShardedReplayClientOptions client_options;
  client_options.addresses = {absl::StrCat("127.0.0.1:", *port)};
  client_options.registry = &registry;
  client_options.sample_deadline = absl::Seconds(10);
  auto client = replay::ShardedReplayClient::Create(client_options);
  ASSERT_TRUE(client.ok()) << client.status();
  for (Episode& e : MakeSyntheticEpisodes(/*num_episodes=*/3, /*steps=*/10, /*image_size=*/64,
                                          /*proprio_size=*/17, /*action_size=*/5,
                                          /*num_tasks=*/1, /*seed=*/4)) {
    ASSERT_TRUE((*client)->InsertEpisode(e).ok());
  }

  ReplaySequenceSource source(std::move(*client), /*table=*/"", l);
  auto sampled = source.Sample(4);
  ASSERT_TRUE(sampled.ok()) << sampled.status();
  EXPECT_EQ(sampled->batch_size(), 4);
  auto batch = BatchFromProto(*sampled, model::ProprioBounds{});
  ASSERT_TRUE(batch.ok()) << batch.status();
  auto options = CoreOptionsFromConfig(config);
  ASSERT_TRUE(options.ok()) << options.status();
  auto core = LearnerCore::Create(*options);
  ASSERT_TRUE(core.ok()) << core.error();
  auto stats = core.value()->Step(*batch);
  ASSERT_TRUE(stats.ok()) << stats.error();
  EXPECT_TRUE(stats.value().applied);
  (*host)->Stop(absl::Milliseconds(100));
}

}  // namespace
}  // namespace ivg::learner
