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

}  // namespace
}  // namespace ivg
