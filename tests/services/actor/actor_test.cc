// The actor with real peers on loopback (loopback_peers.h).
#include "services/actor/actor.h"

#include <atomic>
#include <memory>
#include <string>
#include <thread>

#include "common/config/derived_values.h"
#include "env/env_spec.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "model/core/proprio_scaling.h"
#include "services/learner/batch_conversion.h"
#include "services/learner/replay_sequence_source.h"
#include "tests/testing/loopback_peers.h"

namespace ivg::actor {
namespace {

using ::testing::HasSubstr;

using ActorTest = testing::LoopbackPeersTest;

TEST_F(ActorTest, WaitsForTheFirstPublishWithoutActingOrInserting) {
  metrics::MetricRegistry actor_registry;
  auto actor = Actor::Create(config_, /*actor_id=*/0, &actor_registry);
  ASSERT_TRUE(actor.ok()) << actor.status();
  absl::Status status = (*actor)->RunEpisode();
  EXPECT_EQ(status.code(), absl::StatusCode::kUnavailable) << status;
  EXPECT_THAT(status.message(), HasSubstr("no parameters published yet"));
  EXPECT_EQ((*actor)->episodes_finished(), 0);
  EXPECT_EQ(ReplayTable().total_inserted_items(), 0);
}

TEST_F(ActorTest, InsertsEachWholeEpisodeIntoItsReplayShard) {
  Publish(/*version=*/1);
  metrics::MetricRegistry actor_registry;
  auto actor = Actor::Create(config_, /*actor_id=*/0, &actor_registry);
  ASSERT_TRUE(actor.ok()) << actor.status();
  ASSERT_TRUE((*actor)->RunEpisode().ok());
  ASSERT_TRUE((*actor)->RunEpisode().ok());
  EXPECT_EQ((*actor)->episodes_finished(), 2);
  EXPECT_EQ((*actor)->pending_episodes(), 0);
  const TableInfo table = ReplayTable();
  EXPECT_EQ(table.num_steps(), 2 * config_.env().episode_steps());
  EXPECT_GT(table.num_items(), 0);
}

TEST_F(ActorTest, KeepsEpisodesQueuedWhileTheReplayIsDownAndBoundsTheQueue) {
  Publish(/*version=*/1);
  config_.mutable_actor()->set_max_pending_episodes(2);
  metrics::MetricRegistry actor_registry;
  auto actor = Actor::Create(config_, /*actor_id=*/0, &actor_registry);
  ASSERT_TRUE(actor.ok()) << actor.status();
  replay_host_->Stop(absl::Seconds(1));
  for (int i = 0; i < 3; ++i) ASSERT_TRUE((*actor)->RunEpisode().ok()) << i;
  EXPECT_EQ((*actor)->episodes_finished(), 3);
  // The oldest of the three was dropped (counted), the two newest wait for the shard.
  EXPECT_EQ((*actor)->pending_episodes(), 2);
  EXPECT_EQ(ReplayTable().total_inserted_items(), 0);
}

double ActorCounter(metrics::MetricRegistry& registry, const std::string& name) {
  return registry.AddCounter(name, "", {"actor"}).WithLabels({"0"})->Value();
}

// With a replay ratio the replay holds an actor's insert while the learners are behind; the
// actor must wait without acting, keep the episode and never drop it.
class RateLimitedActorTest : public testing::LoopbackPeersTest {
 protected:
  // smoke episodes (24 steps, L = 8) insert 3 items; at 1 sample per item and a buffer of 2
  // the first episode is admitted and the second waits until 3 items have been sampled.
  void SetUp() override {
    StartPeers({"replay.replay_ratio=1", "replay.min_size_to_sample=1",
                "replay.samples_per_insert_error_buffer=2"});
  }
};

TEST_F(RateLimitedActorTest, BlocksWithoutActingOrDroppingWhileTheLimiterHoldsItsEpisode) {
  config_.mutable_cluster()->set_rpc_deadline_ms(1500);
  config_.mutable_actor()->set_max_episodes(3);
  config_.mutable_actor()->set_max_pending_episodes(1);
  Publish(/*version=*/1);
  metrics::MetricRegistry actor_registry;
  // The actor runs on its own thread, created there: its GL context belongs to that thread.
  absl::Status run_status;
  int64_t episodes_finished = -1, pending_episodes = -1;
  std::atomic<bool> stop{false};
  std::thread runner([&] {
    auto actor = Actor::Create(config_, /*actor_id=*/0, &actor_registry);
    if (!actor.ok()) {
      run_status = actor.status();
      return;
    }
    run_status = (*actor)->Run([&stop] { return stop.load(); });
    episodes_finished = (*actor)->episodes_finished();
    pending_episodes = (*actor)->pending_episodes();
  });

  const int steps = config_.env().episode_steps();
  // Long enough for several held inserts (each answered after ~1.1 s).
  absl::SleepFor(absl::Seconds(5));
  EXPECT_EQ(ReplayTable().total_inserted_items(), 3);
  EXPECT_EQ(ActorCounter(actor_registry, "ivg_actor_env_steps_total"), 2 * steps)
      << "the actor went on acting while its episode was held";
  EXPECT_GT(ActorCounter(actor_registry, "ivg_actor_insert_blocked_seconds_total"), 2.0);

  // The learners catch up: each sample lets one more item in.
  auto sampler = ReplayService::NewStub(MakeChannel(replay_host_->address(), 64 << 20));
  for (int i = 0; i < 9; ++i) {
    SampleRequest request;
    request.set_batch_size(1);
    SampleResponse response;
    auto context = MakeClientContext(absl::Seconds(30));
    grpc::Status sampled = sampler->Sample(context.get(), request, &response);
    if (!sampled.ok()) {
      ADD_FAILURE() << "sample " << i << ": " << sampled.error_message();
      stop = true;
      break;
    }
  }
  runner.join();
  EXPECT_TRUE(run_status.ok()) << run_status;
  EXPECT_EQ(episodes_finished, 3);
  EXPECT_EQ(pending_episodes, 0);
  EXPECT_EQ(ReplayTable().total_inserted_items(), 9);
  EXPECT_EQ(ActorCounter(actor_registry, "ivg_actor_dropped_episodes_total"), 0);
  EXPECT_EQ(ActorCounter(actor_registry, "ivg_actor_insert_failures_total"), 0);
}

// The model core's bounds of one object's features describe the environment's object block.
static_assert(env::kObjectFeatureSize == model::kObjectFeatureDims);

// IVG from state, end to end: the actor renders nothing and records no image, the replay
// stores and serves the episodes without images, and the learner's batch holds the state
// vector (17 proprioception features and 16 per object) that the model trains on.
class StateActorTest : public testing::LoopbackPeersTest {
 protected:
  void SetUp() override {
    // One 24-step smoke episode holds 3 items: sampling may start after it.
    StartPeers({"env.observation=OBSERVATION_STATE", "model.proprio_size=49",
                "replay.min_size_to_sample=1"});
  }
};

TEST_F(StateActorTest, EpisodesWithoutImagesReachTheLearnerAsStateVectors) {
  Publish(/*version=*/1);
  metrics::MetricRegistry actor_registry;
  auto actor = Actor::Create(config_, /*actor_id=*/0, &actor_registry);
  ASSERT_TRUE(actor.ok()) << actor.status();
  ASSERT_TRUE((*actor)->RunEpisode().ok());
  ASSERT_EQ(ReplayTable().num_steps(), config_.env().episode_steps());

  replay::ShardedReplayClientOptions client_options;
  client_options.addresses = {replay_host_->address()};
  client_options.registry = &registry_;
  client_options.sample_deadline = absl::Seconds(10);
  auto client = replay::ShardedReplayClient::Create(client_options);
  ASSERT_TRUE(client.ok()) << client.status();
  const int l = SequenceLength(config_);
  learner::ReplaySequenceSource source(std::move(*client), config_.replay().table(), l);
  auto sampled = source.Sample(/*batch_size=*/4);
  ASSERT_TRUE(sampled.ok()) << sampled.status();
  EXPECT_THAT(sampled->images().shape(), ::testing::ElementsAre(4, l, 6, 0, 0));
  EXPECT_THAT(sampled->proprio().shape(), ::testing::ElementsAre(4, l, 49));

  auto batch = learner::BatchFromProto(*sampled, model::ProprioBoundsFromConfig(config_));
  ASSERT_TRUE(batch.ok()) << batch.status();
  // The state varies along a sequence and the scaled features stay in [-1, 1].
  EXPECT_GT(batch->proprio.std().item<double>(), 0.0);
  EXPECT_LE(batch->proprio.abs().max().item<double>(), 1.0);
  auto options = model::CoreOptionsFromConfig(config_);
  ASSERT_TRUE(options.ok()) << options.status();
  EXPECT_FALSE(options->model.has_images());
  auto core = model::LearnerCore::Create(*options);
  ASSERT_TRUE(core.ok()) << core.error();
  for (const auto& [name, tensor] : core.value()->AllParameters()) {
    EXPECT_EQ(name.find("conv"), std::string::npos) << name << ": no conv tower from state";
  }
  auto stats = core.value()->Step(*batch);
  ASSERT_TRUE(stats.ok()) << stats.error();
  EXPECT_TRUE(stats.value().applied);
  EXPECT_EQ(stats.value().losses.reconstruction_image, 0.0);
  EXPECT_GT(stats.value().losses.reconstruction_proprio, 0.0);
}

}  // namespace
}  // namespace ivg::actor
