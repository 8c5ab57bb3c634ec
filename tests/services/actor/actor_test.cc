// The actor with real peers on loopback (loopback_peers.h).
#include "services/actor/actor.h"

#include <memory>
#include <string>

#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "tests/services/actor/loopback_peers.h"

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

}  // namespace
}  // namespace ivg::actor
