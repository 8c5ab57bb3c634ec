#include "common/config/derived_values.h"

#include "gmock/gmock.h"
#include "gtest/gtest.h"

namespace ivg {
namespace {

using ::testing::ElementsAre;

TEST(DerivedValues, SingleTaskRunHasOneTaskAtIndexZero) {
  ExperimentConfig config;
  config.mutable_env()->set_task(LIFT_RED);
  EXPECT_EQ(NumTasks(config), 1);
  EXPECT_THAT(Tasks(config), ElementsAre(LIFT_RED));
  EXPECT_EQ(TaskAt(config, 0), LIFT_RED);
}

TEST(DerivedValues, MultitaskListOverridesTheSingleTaskInOrder) {
  ExperimentConfig config;
  config.mutable_env()->set_task(LIFT_RED);
  config.mutable_env()->add_multitask_tasks(REACH_BLUE);
  config.mutable_env()->add_multitask_tasks(STACK_BLUE);
  EXPECT_EQ(NumTasks(config), 2);
  EXPECT_THAT(Tasks(config), ElementsAre(REACH_BLUE, STACK_BLUE));
  EXPECT_EQ(TaskAt(config, 1), STACK_BLUE);
}

TEST(DerivedValues, SequenceLengthIsBurnInPlusModelRollout) {
  ExperimentConfig config;
  config.mutable_learner()->set_burn_in(3);
  config.mutable_learner()->set_model_rollout(5);
  EXPECT_EQ(SequenceLength(config), 8);
}

TEST(DerivedValues, ReplayRatioIsSampledStepsPerInsertedStep) {
  ExperimentConfig config;
  config.mutable_learner()->set_burn_in(3);
  config.mutable_learner()->set_model_rollout(5);
  config.mutable_replay()->set_replay_ratio(4);
  // Non-overlapping items (stride = L = 8): one sampled item per inserted item is one sampled
  // step per inserted step.
  EXPECT_EQ(ItemStride(config), 8);
  EXPECT_DOUBLE_EQ(SamplesPerInsert(config), 4);
  // Every window an item (stride 1): each step starts an item of 8 steps, so a ratio of 4
  // sampled steps per inserted step is half a sampled item per inserted item.
  config.mutable_replay()->set_item_stride(1);
  EXPECT_DOUBLE_EQ(SamplesPerInsert(config), 0.5);
}

TEST(DerivedValues, SamplesPerInsertIsUsedAsIsWithoutAReplayRatio) {
  ExperimentConfig config;
  EXPECT_DOUBLE_EQ(SamplesPerInsert(config), 0);
  config.mutable_replay()->set_samples_per_insert(2.5);
  EXPECT_DOUBLE_EQ(SamplesPerInsert(config), 2.5);
}

TEST(DerivedValues, ExplorationScaleIsOneForEveryActorByDefault) {
  ExperimentConfig config;
  config.mutable_actor()->set_num_actors(8);
  for (int id = 0; id < 8; ++id) EXPECT_DOUBLE_EQ(ActorExplorationScale(config, id), 1.0);
}

TEST(DerivedValues, ExplorationScaleSpreadsGeometricallyFromOneToTheMinimum) {
  ExperimentConfig config;
  config.mutable_actor()->set_num_actors(5);
  config.mutable_actor()->set_min_exploration_scale(0.0625);
  EXPECT_DOUBLE_EQ(ActorExplorationScale(config, 0), 1.0);
  EXPECT_DOUBLE_EQ(ActorExplorationScale(config, 1), 0.5);
  EXPECT_DOUBLE_EQ(ActorExplorationScale(config, 2), 0.25);
  EXPECT_DOUBLE_EQ(ActorExplorationScale(config, 4), 0.0625);
  // An actor started beyond the configured count stays at the minimum.
  EXPECT_DOUBLE_EQ(ActorExplorationScale(config, 9), 0.0625);
  config.mutable_actor()->set_num_actors(1);
  EXPECT_DOUBLE_EQ(ActorExplorationScale(config, 0), 1.0);
}

}  // namespace
}  // namespace ivg
