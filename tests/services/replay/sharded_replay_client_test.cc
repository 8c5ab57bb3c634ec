// ShardedReplayClient against two in-process shards (each: its own redis-server, table and
// gRPC server on a fixed loopback port so a "restarted" shard comes back at its address).
#include "services/replay/client/sharded_replay_client.h"

#include <cstring>

#include "common/grpc/server_host.h"
#include "gtest/gtest.h"
#include "services/replay/replay_service.h"
#include "services/replay/testing/synthetic_episode.h"
#include "tests/services/replay/replay_test_util.h"

namespace ivg::replay {
namespace {

struct Shard {
  int index = 0;
  int port = 0;
  std::unique_ptr<RedisProcess> redis;
  std::unique_ptr<RedisConnectionPool> pool;
  std::unique_ptr<ReplayServiceImpl> service;
  std::unique_ptr<GrpcServerHost> host;
};

class ShardedReplayClientTest : public ::testing::Test {
 protected:
  void SetUp() override {
    for (int i = 0; i < 2; ++i) {
      shards_[i].index = i;
      shards_[i].redis = testing::StartRedis(absl::StrCat(dir_.path(), "/redis", i));
      ASSERT_NE(shards_[i].redis, nullptr);
      auto pool = RedisConnectionPool::Create(shards_[i].redis->connection_options(), 2);
      ASSERT_TRUE(pool.ok());
      shards_[i].pool = *std::move(pool);
      auto port = PickFreeLoopbackPort();
      ASSERT_TRUE(port.ok());
      shards_[i].port = *port;
      StartServing(&shards_[i]);
    }
    ShardedReplayClientOptions options;
    for (const Shard& s : shards_) options.addresses.push_back(absl::StrCat("127.0.0.1:", s.port));
    options.rpc_deadline = absl::Seconds(5);
    options.sample_deadline = absl::Seconds(10);
    options.size_refresh = absl::ZeroDuration();
    options.dead_shard_retry = absl::Milliseconds(100);
    options.registry = &registry_;
    auto client = ShardedReplayClient::Create(options);
    ASSERT_TRUE(client.ok());
    client_ = *std::move(client);
  }

  void TearDown() override {
    for (Shard& s : shards_) StopServing(&s);
  }

  void StartServing(Shard* shard) {
    ReplayServiceOptions options;
    options.shard = shard->index;
    options.table.sequence_length = 8;
    options.table.rate_limiter.min_size_to_sample = 1;
    options.table.episode_spec.num_rewards = 4;  // InsertFromActor: task id = actor id.
    auto service = ReplayServiceImpl::Create(options, shard->pool.get(), &registry_);
    ASSERT_TRUE(service.ok()) << service.status();
    shard->service = *std::move(service);
    GrpcServerOptions server_options;
    server_options.address = absl::StrCat("127.0.0.1:", shard->port);
    server_options.max_message_bytes = 64 << 20;
    ReplayServiceImpl* service_ptr = shard->service.get();
    server_options.on_stop.push_back([service_ptr] { service_ptr->Close(); });
    auto host = GrpcServerHost::Create(server_options, {shard->service.get()});
    ASSERT_TRUE(host.ok()) << host.status();
    shard->host = *std::move(host);
  }

  void StopServing(Shard* shard) {
    if (shard->host) shard->host->Stop(absl::Milliseconds(100));
    shard->host.reset();
    shard->service.reset();
  }

  void InsertFromActor(int actor, int episodes, int steps) {
    for (int e = 0; e < episodes; ++e) {
      testing::SyntheticEpisodeOptions o;
      o.actor_id = actor;
      o.episode_id = e;
      o.num_steps = steps;
      o.task_id = actor;  // Marks which shard a sampled sequence came from.
      o.num_rewards = 4;  // A task id must name one of the episode's rewards.
      auto r = client_->InsertEpisode(testing::MakeSyntheticEpisode(o));
      ASSERT_TRUE(r.ok()) << r.status();
    }
  }

  // Task ids of a batch (= the actor, = the shard here).
  static std::vector<int32_t> TaskIds(const SequenceBatch& batch) {
    std::vector<int32_t> ids(batch.batch_size());
    std::memcpy(ids.data(), batch.task_ids().data().data(), ids.size() * sizeof(int32_t));
    return ids;
  }

  testing::TempDir dir_;
  metrics::MetricRegistry registry_;
  Shard shards_[2];
  std::unique_ptr<ShardedReplayClient> client_;
};

TEST_F(ShardedReplayClientTest, InsertsByActorAndSamplesInProportionToShardSizes) {
  InsertFromActor(/*actor=*/0, /*episodes=*/1, /*steps=*/32);  // 4 items on shard 0
  InsertFromActor(/*actor=*/3, /*episodes=*/3, /*steps=*/32);  // 12 items on shard 1
  EXPECT_EQ(client_->ShardInfo(0)->tables(0).num_items(), 4);
  EXPECT_EQ(client_->ShardInfo(1)->tables(0).num_items(), 12);
  int from_shard1 = 0, total = 0;
  for (int i = 0; i < 60; ++i) {
    auto batch = client_->Sample(16);
    ASSERT_TRUE(batch.ok()) << batch.status();
    ASSERT_EQ(batch->batch_size(), 16);
    ASSERT_EQ(batch->images().shape(0), 16);
    for (int32_t task : TaskIds(*batch)) {
      from_shard1 += task == 3 ? 1 : 0;
      ++total;
    }
  }
  EXPECT_NEAR(from_shard1 / static_cast<double>(total), 0.75, 0.06);
}

TEST_F(ShardedReplayClientTest, SkipsADeadShardAndPicksItUpWhenItReturns) {
  InsertFromActor(0, 1, 32);
  InsertFromActor(1, 1, 32);
  StopServing(&shards_[1]);

  for (int i = 0; i < 5; ++i) {
    auto batch = client_->Sample(8);
    ASSERT_TRUE(batch.ok()) << batch.status();
    for (int32_t task : TaskIds(*batch)) EXPECT_EQ(task, 0);
  }
  EXPECT_EQ(client_->LiveShards(), (std::vector<bool>{true, false}));
  EXPECT_NE(registry_.Serialize().find("ivg_replay_client_shard_unavailable_total{shard=\"1\"} 1"),
            std::string::npos)
      << registry_.Serialize();
  // Inserts for the dead shard fail (the actor keeps them and retries).
  testing::SyntheticEpisodeOptions o;
  o.actor_id = 1;
  o.num_steps = 16;
  EXPECT_TRUE(absl::IsUnavailable(client_->InsertEpisode(testing::MakeSyntheticEpisode(o)).status()));

  StartServing(&shards_[1]);  // Rebuilds its table from its Redis.
  bool saw_shard1 = false;
  const absl::Time deadline = absl::Now() + absl::Seconds(20);
  while (!saw_shard1 && absl::Now() < deadline) {
    auto batch = client_->Sample(8);
    ASSERT_TRUE(batch.ok()) << batch.status();
    for (int32_t task : TaskIds(*batch)) saw_shard1 |= task == 1;
    absl::SleepFor(absl::Milliseconds(20));
  }
  EXPECT_TRUE(saw_shard1) << "the returned shard was never sampled again";
  EXPECT_EQ(client_->LiveShards(), (std::vector<bool>{true, true}));
}

TEST_F(ShardedReplayClientTest, AllShardsDeadIsUnavailableWithinTheDeadline) {
  StopServing(&shards_[0]);
  StopServing(&shards_[1]);
  const absl::Time start = absl::Now();
  auto batch = client_->Sample(4);
  EXPECT_TRUE(absl::IsUnavailable(batch.status())) << batch.status();
  EXPECT_LT(absl::Now() - start, absl::Seconds(10));
}

}  // namespace
}  // namespace ivg::replay
